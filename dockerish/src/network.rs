//! `network create|ls|rm|inspect|connect|disconnect|prune` and `port`:
//! Docker's network commands over `netctl`, which does the work; this
//! module keeps the containers' records in step.

use std::path::Path;

use serde_json::Value;
use tool_cli::human;

use crate::cli::{Format, NetworkCommand};
use crate::container::attach_argv;
use crate::error::{Error, Result, ToolError};
use crate::state::{Containers, Network, Status, DEFAULT_NETWORK};
use crate::tools::{run_json, run_quiet, Tools};

pub fn network(root: &Path, command: NetworkCommand) -> Result<i32> {
    let tools = Tools::new(root);
    match command {
        NetworkCommand::Create { name, subnet, gateway, internal, driver } => {
            if driver != "bridge" {
                return Err(Error::invalid("--driver", driver, "netctl networks are bridges"));
            }
            let mut args = vec!["create".to_string(), name];
            args.extend(subnet.map(|s| format!("--subnet={s}")));
            args.extend(gateway.map(|g| format!("--gateway={g}")));
            if internal {
                args.push("--internal".into());
            }
            let made: Value = run_json(tools.netctl(&args)?, "netctl")?.unwrap_or_default();
            println!("{}", made["id"].as_str().unwrap_or_default());
            Ok(0)
        }
        NetworkCommand::Ls { format, quiet } => ls(&tools, format, quiet),
        NetworkCommand::Rm { networks } => Ok(crate::lifecycle::each(&networks, |name| {
            if name == DEFAULT_NETWORK || name == "host" || name == "none" {
                return Err(Error::invalid(
                    "network",
                    name,
                    "a pre-defined network cannot be removed",
                ));
            }
            run_quiet(tools.netctl(["rm", name])?, "netctl")
        })),
        NetworkCommand::Inspect { networks } => {
            let mut all = Vec::new();
            for name in &networks {
                let found: Option<Value> = run_json(tools.netctl(["inspect", name])?, "netctl")?;
                all.push(found.ok_or_else(|| Error::NoSuchNetwork(name.clone()))?);
            }
            println!("{}", serde_json::to_string_pretty(&all).expect("JSON"));
            Ok(0)
        }
        NetworkCommand::Connect { network, container, ip, aliases } => {
            connect(root, &tools, &network, &container, ip, &aliases)
        }
        NetworkCommand::Disconnect { network, container } => {
            disconnect(root, &tools, &network, &container)
        }
        NetworkCommand::Prune { force } => prune(root, &tools, force),
    }
}

/// netctl's networks, then Docker's two that are not (host and none).
fn ls(tools: &Tools, format: Format, quiet: bool) -> Result<i32> {
    let found: Vec<Value> =
        run_json(tools.netctl(["ls", "--format", "json"])?, "netctl")?.unwrap_or_default();
    let mut rows: Vec<(String, String, &str)> = found
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap_or_default()[..12].to_string(),
                n["name"].as_str().unwrap_or_default().to_string(),
                "bridge",
            )
        })
        .collect();
    rows.push(("host".into(), "host".into(), "host"));
    rows.push(("none".into(), "none".into(), "null"));
    let values = || {
        rows.iter().map(|(id, name, driver)| {
            serde_json::json!({ "ID": id, "Name": name, "Driver": driver, "Scope": "local" })
        })
    };
    match format {
        Format::Json => values().for_each(|v| println!("{v}")),
        Format::Template { template, table } => {
            let values: Vec<Value> = values().collect();
            crate::format::print_template(&template, table, &values, &[("ID", "NETWORK ID")])?;
        }
        Format::Table if quiet => rows.iter().for_each(|(id, _, _)| println!("{id}")),
        Format::Table => {
            let mut table =
                vec![["NETWORK ID", "NAME", "DRIVER", "SCOPE"].map(String::from).to_vec()];
            table.extend(
                rows.into_iter()
                    .map(|(id, name, driver)| vec![id, name, driver.into(), "local".into()]),
            );
            print!("{}", human::table(&table));
        }
    }
    Ok(0)
}

/// Adds `network` to the container's record; a running one is attached at
/// once (for its monitor: the attachment lasts as long as it does).
fn connect(
    root: &Path,
    tools: &Tools,
    network: &str,
    key: &str,
    ip: Option<std::net::Ipv4Addr>,
    aliases: &[String],
) -> Result<i32> {
    let containers = Containers::open(root)?;
    let _lock = containers.lock()?;
    let mut c = containers.find(key)?;
    if !matches!(c.config.network, Network::Named(_)) {
        return Err(Error::invalid(
            "container",
            key,
            format!("is on network {}: it has no namespace of its own to wire", c.config.network),
        ));
    }
    if c.config.network.name() == network || c.config.extra_networks.iter().any(|n| n == network) {
        return Err(Error::invalid(
            "network",
            network,
            format!("container {key} is connected to it already"),
        ));
    }
    if ip.is_some() {
        return Err(Error::invalid(
            "--ip",
            ip.map(|i| i.to_string()).unwrap_or_default(),
            "only the first network takes --ip (run --ip)",
        ));
    }
    let found: Option<Value> = run_json(tools.netctl(["inspect", network])?, "netctl")?;
    found.ok_or_else(|| Error::NoSuchNetwork(network.into()))?;
    c.config.extra_networks.push(network.into());
    c.config.aliases.extend(aliases.iter().cloned());
    if c.state.effective() == Status::Running {
        let owner = c.state.monitor.filter(|m| m.alive()).map(|m| m.pid as u32);
        let argv = attach_argv(tools, &c.config, &c.dir, network, false, owner)?;
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        let attached: netctl::attach::Attached =
            run_json(cmd, "netctl")?.ok_or_else(|| Error::NoSuchNetwork(network.into()))?;
        c.state.networks.push(attached);
        c.save_state()?;
    }
    c.save_config()?;
    Ok(0)
}

fn disconnect(root: &Path, tools: &Tools, network: &str, key: &str) -> Result<i32> {
    let containers = Containers::open(root)?;
    let _lock = containers.lock()?;
    let mut c = containers.find(key)?;
    if c.config.network.name() == network {
        // The next one becomes the first (the one its ports are published
        // on at the next start); netctl keeps the namespace for it.
        if c.config.extra_networks.is_empty() {
            let why = "is the container's only network: connect it to another first";
            return Err(Error::invalid("network", network, why));
        }
        let next = c.config.extra_networks.remove(0);
        if !c.config.ports.is_empty() {
            eprintln!(
                "dockerish: the published ports of {key} were on {network}: they are published again on {next} at its next start"
            );
        }
        c.config.network = Network::Named(next);
    } else {
        let Some(at) = c.config.extra_networks.iter().position(|n| n == network) else {
            return Err(Error::invalid(
                "network",
                network,
                format!("container {key} is not connected to it"),
            ));
        };
        c.config.extra_networks.remove(at);
    }
    run_quiet(tools.netctl(["detach", network, "--id", &c.config.id])?, "netctl")?;
    c.state.networks.retain(|a| a.network != network);
    c.save_state()?;
    c.save_config()?;
    Ok(0)
}

/// Removes every network but the default that no container names.
fn prune(root: &Path, tools: &Tools, force: bool) -> Result<i32> {
    let warning =
        "WARNING! This will remove all custom networks not used by at least one container.";
    if !crate::lifecycle::confirmed(force, warning)? {
        return Ok(0);
    }
    let used: Vec<String> = Containers::open(root)?
        .all()?
        .into_iter()
        .flat_map(|c| {
            std::iter::once(c.config.network.name().to_string()).chain(c.config.extra_networks)
        })
        .collect();
    let found: Vec<Value> =
        run_json(tools.netctl(["ls", "--format", "json"])?, "netctl")?.unwrap_or_default();
    let mut removed = Vec::new();
    for name in found.iter().filter_map(|n| n["name"].as_str()) {
        if name != DEFAULT_NETWORK
            && !used.iter().any(|u| u == name)
            && run_quiet(tools.netctl(["rm", name])?, "netctl").is_ok()
        {
            removed.push(name.to_string());
        }
    }
    if !removed.is_empty() {
        println!("Deleted Networks:\n{}", removed.join("\n"));
    }
    Ok(0)
}

/// `port CONTAINER [PORT[/PROTO]]`: `80/tcp -> 0.0.0.0:8080`.
pub fn port(root: &Path, key: &str, private: Option<&str>) -> Result<i32> {
    let c = Containers::open(root)?.find(key)?;
    let mut found = false;
    for p in c
        .state
        .networks
        .iter()
        .flat_map(|n| &n.ports)
        .filter(|_| c.state.effective() == Status::Running)
    {
        let name = format!("{}/{}", p.port, p.proto.name());
        let wanted = private.is_none_or(|w| w == name || w == p.port.to_string());
        if wanted {
            found = true;
            let host =
                format!("{}:{}", p.host_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED), p.host_port);
            match private {
                Some(_) => println!("{host}"),
                None => println!("{name} -> {host}"),
            }
        }
    }
    match (found, private) {
        (false, Some(p)) => {
            Err(Error::invalid("port", p, format!("no public port of container {key} maps to it")))
        }
        _ => Ok(0),
    }
}
