//! `version`, `info`, `system df`, `system prune`: what this host and this
//! state root hold, as Docker's commands of those names show it. The
//! "server" is the tools themselves (there is no daemon): `version` asks
//! each for its version, `info` says how they set containers up here.

use std::path::Path;

use serde_json::{json, Value};

use crate::cli::Format;
use crate::error::{Error, Result, ToolError};
use crate::state::Containers;
use crate::tools::{run_json, Tools};
use tool_cli::human;

/// The tools `dockerish` runs, whose versions `version` shows.
const COMPONENTS: [&str; 6] =
    ["ns-exec", "cgctl", "rootfs", "netctl", "imgtool", "dockerish-supervisor"];

/// `version [--format json|TEMPLATE]`.
pub fn version(root: &Path, format: &Format) -> Result<i32> {
    let tools = Tools::new(root);
    let version = env!("CARGO_PKG_VERSION");
    let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
    let components: Vec<Value> = COMPONENTS
        .iter()
        .map(|name| {
            // The supervisor takes no flags: it is the front's own build.
            let found = match *name {
                "dockerish-supervisor" => tools.path(name).ok().map(|_| version.to_string()),
                _ => tool_version(&tools, name),
            };
            json!({ "Name": name, "Version": found.unwrap_or_else(|| "not found".into()) })
        })
        .collect();
    let value = json!({
        "Client": { "Version": version, "Os": os, "Arch": arch, "Platform": { "Name": "dockerish" } },
        "Server": { "Version": version, "Os": os, "Arch": arch, "Components": components,
                    "KernelVersion": kernel_release() },
    });
    match format {
        Format::Json => println!("{value}"),
        Format::Template { template, .. } => {
            println!("{}", crate::format::render(template, &value)?)
        }
        Format::Table => {
            println!("Client:\n Version:    {version}\n OS/Arch:    {os}/{arch}\n");
            println!("Server: dockerish tools (no daemon)\n Kernel:     {}", kernel_release());
            for c in &components {
                println!(
                    " {}:\n  Version:   {}",
                    c["Name"].as_str().unwrap_or(""),
                    c["Version"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(0)
}

/// `TOOL --version` ("cgctl 0.1.0") without the name; `None` if it is
/// not there or says nothing.
fn tool_version(tools: &Tools, name: &str) -> Option<String> {
    let out = std::process::Command::new(tools.path(name).ok()?)
        .arg("--version")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.split_whitespace().last()?.to_string()).filter(|_| out.status.success())
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `info [--format json|TEMPLATE]`: Docker's keys, and how the tools
/// set containers up on this host.
pub fn info(root: &Path, format: &Format) -> Result<i32> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?.all()?;
    let count = |state: &str| containers.iter().filter(|c| c.state_name() == state).count();
    let images: Vec<imgtool::ImageInfo> =
        run_json(tools.imgtool(["ls", "--format", "json"])?, "imgtool")?.unwrap_or_default();
    let layout = cgctl::Layout::detect()?;
    let cgroup_version = match layout.kind {
        cgctl::Kind::Unified => "2",
        _ => "1",
    };
    let network: Value = run_json(tools.netctl(["info"])?, "netctl")?.unwrap_or(Value::Null);
    let uname = nix::sys::utsname::uname().map_err(|e| Error::sys("uname", "the kernel", e))?;
    let defaults = crate::security::SecurityConfig::default();
    let value = json!({
        "Containers": containers.len(),
        "ContainersRunning": count("running") + count("restarting"),
        "ContainersPaused": count("paused"),
        "ContainersStopped": containers.len() - count("running") - count("restarting") - count("paused"),
        "Images": images.len(),
        "Driver": "overlay",
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version,
        "CgroupLayout": layout.kind,
        "CgroupControllers": layout.used().flat_map(|h| h.controllers.clone()).collect::<Vec<_>>(),
        "KernelVersion": uname.release().to_string_lossy(),
        "OperatingSystem": os_name(),
        "OSType": "linux",
        "Architecture": uname.machine().to_string_lossy(),
        "NCPU": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "MemTotal": crate::resources::host_memory(),
        "Name": uname.nodename().to_string_lossy(),
        "DockerRootDir": std::path::absolute(root).unwrap_or(root.to_path_buf()),
        "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
        "DefaultCapabilities": defaults.caps,
        "Network": network,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
    });
    match format {
        Format::Json => println!("{value}"),
        Format::Template { template, .. } => {
            println!("{}", crate::format::render(template, &value)?)
        }
        Format::Table => print!("{}", info_text(&value)),
    }
    Ok(0)
}

/// `info` as Docker prints it, in its order.
fn info_text(v: &Value) -> String {
    let s = |key: &str| match &v[key] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let list = |key: &str| {
        v[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    let mut out = String::new();
    out += &format!(
        "Containers: {}\n Running: {}\n Paused: {}\n Stopped: {}\n",
        s("Containers"),
        s("ContainersRunning"),
        s("ContainersPaused"),
        s("ContainersStopped")
    );
    out += &format!(
        "Images: {}\nServer Version: {}\nStorage Driver: {}\nLogging Driver: {}\n",
        s("Images"),
        s("ServerVersion"),
        s("Driver"),
        s("LoggingDriver")
    );
    out += &format!(
        "Cgroup Driver: {}\nCgroup Version: {} ({} layout; controllers: {})\n",
        s("CgroupDriver"),
        s("CgroupVersion"),
        s("CgroupLayout"),
        list("CgroupControllers")
    );
    out += &format!(
        "Network: nftables table {}, links marked {}\n",
        v["Network"]["table"].as_str().unwrap_or("?"),
        v["Network"]["link_alias"].as_str().unwrap_or("?")
    );
    out += &format!(
        "Security Options: {}\nDefault Capabilities: {}\n",
        list("SecurityOptions"),
        list("DefaultCapabilities")
    );
    out += &format!(
        "Kernel Version: {}\nOperating System: {}\nOSType: {}\nArchitecture: {}\n",
        s("KernelVersion"),
        s("OperatingSystem"),
        s("OSType"),
        s("Architecture")
    );
    out += &format!(
        "CPUs: {}\nTotal Memory: {}\nName: {}\nDocker Root Dir: {}\n",
        s("NCPU"),
        human::size(v["MemTotal"].as_u64().unwrap_or(0)),
        s("Name"),
        s("DockerRootDir")
    );
    out
}

/// PRETTY_NAME of os-release(5).
fn os_name() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

/// `system df`: what images, containers and volumes take, and what a
/// prune would give back.
pub fn df(root: &Path, format: &Format) -> Result<i32> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?.all()?;
    let images: Vec<imgtool::ImageInfo> =
        run_json(tools.imgtool(["ls", "--format", "json"])?, "imgtool")?.unwrap_or_default();
    // Layers are shared: each counted once, and reclaimable only if no
    // image a container uses has it.
    let used: std::collections::HashSet<&str> =
        containers.iter().map(|c| c.config.image_id.as_str()).collect();
    let mut layers = std::collections::HashMap::new();
    let mut needed = std::collections::HashSet::new();
    for image in &images {
        for layer in &image.layers {
            layers.insert(layer.digest.clone(), layer.size);
            if used.contains(image.id.as_str()) {
                needed.insert(layer.digest.clone());
            }
        }
    }
    let image_size: u64 = layers.values().sum();
    let image_free: u64 = layers.iter().filter(|(d, _)| !needed.contains(*d)).map(|(_, s)| s).sum();
    let active_images = images.iter().filter(|i| used.contains(i.id.as_str())).count();
    let sizes: Vec<(bool, u64)> = containers
        .iter()
        .map(|c| {
            let up = c.state.effective() == crate::state::Status::Running || c.state.starting();
            (up, crate::lifecycle::dir_size(&c.dir.join("upper")))
        })
        .collect();
    let container_size: u64 = sizes.iter().map(|(_, s)| s).sum();
    let container_free: u64 = sizes.iter().filter(|(up, _)| !up).map(|(_, s)| s).sum();
    let running = sizes.iter().filter(|(up, _)| *up).count();
    let (volumes, active_volumes, volume_size, volume_free) =
        crate::volumes::usage(root, &containers)?;
    let rows = [
        ("Images", images.len(), active_images, image_size, image_free),
        ("Containers", containers.len(), running, container_size, container_free),
        ("Local Volumes", volumes, active_volumes, volume_size, volume_free),
        ("Build Cache", 0, 0, 0, 0),
    ];
    let reclaimable = |size: u64, free: u64| match size {
        0 => human::size(free),
        _ => format!("{} ({}%)", human::size(free), free * 100 / size),
    };
    let values: Vec<Value> = rows
        .iter()
        .map(|&(kind, total, active, size, free)| {
            json!({
                "Type": kind,
                "TotalCount": total.to_string(),
                "Active": active.to_string(),
                "Size": human::size(size),
                "Reclaimable": reclaimable(size, free),
            })
        })
        .collect();
    match format {
        Format::Json => values.iter().for_each(|v| println!("{v}")),
        Format::Template { template, table } => {
            crate::format::print_template(template, *table, &values, &[("TotalCount", "TOTAL")])?
        }
        Format::Table => {
            let mut table =
                vec![["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"].map(String::from).to_vec()];
            table.extend(values.iter().map(|v| {
                ["Type", "TotalCount", "Active", "Size", "Reclaimable"]
                    .map(|k| v[k].as_str().unwrap_or_default().to_string())
                    .to_vec()
            }));
            print!("{}", human::table(&table));
        }
    }
    Ok(0)
}

/// `system prune [-a] [--volumes] [-f]`: stopped containers, unused
/// networks, dangling images (every unused one with `-a`) and, with
/// `--volumes`, unused anonymous volumes: each prune as its own command
/// does it, after one question.
pub fn prune(root: &Path, all: bool, volumes: bool, force: bool) -> Result<i32> {
    let mut items =
        vec!["all stopped containers", "all networks not used by at least one container"];
    if volumes {
        items.push("all anonymous volumes not used by at least one container");
    }
    items.push(match all {
        true => "all images without at least one container associated to them",
        false => "all dangling images",
    });
    let warning = format!(
        "WARNING! This will remove:\n{}\n",
        items.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
    );
    if !crate::lifecycle::confirmed(force, &warning)? {
        return Ok(0);
    }
    crate::lifecycle::prune(root, true)?;
    crate::network::network(root, crate::cli::NetworkCommand::Prune { force: true })?;
    if volumes {
        let (deleted, reclaimed) = crate::volumes::prune(root, false)?;
        crate::lifecycle::print_pruned("Volumes", &deleted, reclaimed);
    }
    crate::images::image(root, crate::cli::ImageCommand::Prune { all, force: true })
}
