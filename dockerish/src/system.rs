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
