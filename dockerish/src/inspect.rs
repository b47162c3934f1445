//! `dockerish inspect`: a container as JSON, with the keys of Docker's
//! (the ones scripts read: `.State.Pid`, `.State.ExitCode`,
//! `.State.OOMKilled`, `.Config.Env`, `.Mounts`, …), and `-f` for one
//! field, in the simple forms of Go's templates that people use:
//! `{{.State.Pid}}`, `{{json .Config.Cmd}}`.

use std::path::Path;

use serde_json::{json, Value};

use crate::error::Result;
use crate::state::{Container, Containers, Status};

/// What Go's zero time looks like, for times that never happened.
const NEVER: &str = "0001-01-01T00:00:00Z";

pub fn inspect(root: &Path, format: Option<&str>, keys: &[String]) -> Result<i32> {
    let containers = Containers::open(root)?;
    let mut found = Vec::new();
    let mut failed = false;
    for key in keys {
        match containers.find(key) {
            Ok(c) => found.push(describe(&c)),
            Err(e) => {
                eprintln!("dockerish: {e}");
                failed = true;
            }
        }
    }
    match format {
        None => println!("{}", serde_json::to_string_pretty(&found).expect("serializable")),
        Some(template) => {
            for value in &found {
                println!("{}", crate::format::render(template, value)?);
            }
        }
    }
    Ok(i32::from(failed))
}

fn time(seconds: Option<u64>) -> String {
    seconds.map_or_else(|| NEVER.to_string(), tool_cli::human::rfc3339)
}

/// The container as Docker's `inspect` shows it.
pub fn describe(c: &Container) -> Value {
    let (config, state) = (&c.config, &c.state);
    let running = state.effective() == Status::Running;
    let cgroup = config.cgroup().to_string();
    let mounts: Vec<Value> = config
        .volumes
        .iter()
        .map(|v| {
            // ROOT/containers/ID: the volumes are ROOT/volumes/NAME/_data.
            let root = c.dir.parent().and_then(Path::parent).unwrap_or(Path::new("/"));
            let volume = crate::volumes::name_of(root, &v.source);
            json!({
                "Type": if volume.is_some() { "volume" } else { "bind" },
                "Name": volume.unwrap_or_default(),
                "Source": v.source,
                "Destination": v.target,
                "Mode": if v.read_only { "ro" } else { "" },
                "RW": !v.read_only,
            })
        })
        .collect();
    json!({
        "Id": config.id,
        "Created": tool_cli::human::rfc3339(config.created),
        "Path": config.command.first(),
        "Args": config.command.get(1..).unwrap_or_default(),
        "State": {
            "Status": c.state_name(),
            "Running": running,
            "Paused": running && state.paused,
            "Restarting": state.restarting(),
            "OOMKilled": state.oom_killed,
            "Dead": false,
            "Pid": c.init_pid().unwrap_or(0),
            "ExitCode": state.shown_exit_code().unwrap_or(0),
            "Error": "",
            "StartedAt": time(state.started_at),
            "FinishedAt": time(state.finished_at),
        },
        "Image": config.image_id,
        "Name": format!("/{}", config.name),
        "RestartCount": state.restart_count,
        "LogPath": crate::logs::path(&c.dir),
        "Mounts": mounts,
        "Config": {
            "Hostname": config.hostname,
            "Env": config.env,
            "Cmd": config.command,
            "Image": config.image,
            "WorkingDir": config.workdir,
            "Tty": config.tty,
            "OpenStdin": config.interactive,
        },
        "HostConfig": {
            "Binds": config.volumes.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            "NetworkMode": config.network.name(),
            "AutoRemove": config.auto_remove,
            "RestartPolicy": {
                "Name": config.restart.name(),
                "MaximumRetryCount": config.restart.max_retries(),
            },
            "LogConfig": log_config(&config.log),
            "ReadonlyRootfs": config.read_only,
            "Init": config.init,
            "CgroupParent": cgroup.rsplit_once('/').map_or("", |(parent, _)| parent),
            "Memory": config.resources.memory.unwrap_or(0),
            "MemorySwap": config.resources.memory_swap.unwrap_or(0),
            "NanoCpus": config.resources.cpus.map_or(0, |c| (c * 1e9) as u64),
            "CpuShares": config.resources.cpu_shares.unwrap_or(0),
            "CpusetCpus": config.resources.cpuset_cpus.clone().unwrap_or_default(),
            "PidsLimit": config.resources.pids_limit,
            "Privileged": config.security.privileged,
            // Docker lists what was added and dropped; this is the set kept.
            "Capabilities": config.security.caps,
            "SecurityOpt": config.security.security_opts(),
            "Devices": config.security.devices.iter().map(|d| serde_json::json!({
                "PathOnHost": d.host,
                "PathInContainer": d.container,
                "CgroupPermissions": d.rule.to_string().rsplit(' ').next().unwrap_or_default(),
            })).collect::<Vec<_>>(),
            // Docker lists the user's rules; this is the whole allow-list
            // the device cgroup has (null: none, privileged).
            "DeviceCgroupRules": config
                .security
                .device_rules(config.resources.devices.as_deref())
                .map(|rules| rules.iter().map(|r| r.to_string()).collect::<Vec<_>>()),
            "Ulimits": config.security.ulimits.iter().filter_map(|u| {
                let u: privs::rlimit::Rlimit = u.parse().ok()?;
                let value = |v: u64| if v == u64::MAX { -1 } else { v as i64 };
                Some(serde_json::json!({ "Name": u.name, "Soft": value(u.soft), "Hard": value(u.hard) }))
            }).collect::<Vec<_>>(),
            "Sysctls": config.security.sysctls.iter().filter_map(|s| s.split_once('='))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "GroupAdd": config.security.group_add,
            "UsernsMode": if config.security.userns.is_some() { "auto" } else { "" },
        },
        "User": config.user.clone().unwrap_or_default(),
        "NetworkSettings": network_settings(c),
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "LowerDir": config.layers.iter().map(|l| l.display().to_string()).collect::<Vec<_>>().join(":"),
                "UpperDir": c.dir.join("upper"),
                "WorkDir": c.dir.join("work"),
                "MergedDir": c.dir.join("merged"),
            },
        },
        "Cgroup": config.cgroup().to_string(),
    })
}

/// Docker's LogConfig: the driver and its options as `--log-opt` takes them.
fn log_config(log: &crate::logs::LogConfig) -> Value {
    use crate::logs::LogDriver;
    match log.driver {
        LogDriver::None => json!({ "Type": "none", "Config": {} }),
        LogDriver::JsonFile => json!({
            "Type": "json-file",
            "Config": {
                "max-size": log.max_size.map_or("-1".to_string(), |s| s.to_string()),
                "max-file": log.max_file.to_string(),
            },
        }),
    }
}

/// Docker's NetworkSettings: the first network's address at the top, every
/// network under Networks, published ports as "80/tcp": [{HostIp, HostPort}].
fn network_settings(c: &Container) -> Value {
    let running = c.state.effective() == Status::Running;
    let attached: &[netctl::attach::Attached] = if running { &c.state.networks } else { &[] };
    let mut ports = serde_json::Map::new();
    for p in attached.iter().flat_map(|a| &a.ports) {
        let host = json!({ "HostIp": p.host_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED).to_string(), "HostPort": p.host_port.to_string() });
        let entry =
            ports.entry(format!("{}/{}", p.port, p.proto.name())).or_insert_with(|| json!([]));
        entry.as_array_mut().expect("an array").push(host);
    }
    let names: Vec<&str> = std::iter::once(c.config.network.name())
        .chain(c.config.extra_networks.iter().map(String::as_str))
        .collect();
    let mut networks = serde_json::Map::new();
    for name in names {
        let a = attached.iter().find(|a| a.network == name);
        networks.insert(
            name.to_string(),
            json!({
                "IPAddress": a.map(|a| a.ip.to_string()).unwrap_or_default(),
                "IPPrefixLen": a.map_or(0, |a| a.prefix),
                "Gateway": a.map(|a| a.gateway.to_string()).unwrap_or_default(),
                "MacAddress": a.map(|a| a.mac.clone()).unwrap_or_default(),
                "Aliases": c.config.aliases,
            }),
        );
    }
    let first = attached.first();
    json!({
        "IPAddress": first.map(|a| a.ip.to_string()).unwrap_or_default(),
        "IPPrefixLen": first.map_or(0, |a| a.prefix),
        "Gateway": first.map(|a| a.gateway.to_string()).unwrap_or_default(),
        "MacAddress": first.map(|a| a.mac.clone()).unwrap_or_default(),
        "Ports": ports,
        "Networks": networks,
    })
}
