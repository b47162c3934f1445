//! netctl as a CNI plugin (the CNI specification 1.0, SPEC.md in
//! github.com/containernetworking/cni), so that runtimes that drive CNI
//! plugins (podman's CNI backend, containerd, cnitool) can use it.
//!
//! A runtime runs the plugin with `CNI_COMMAND` (ADD, DEL, CHECK,
//! VERSION), `CNI_CONTAINERID`, `CNI_NETNS` (a namespace file) and
//! `CNI_IFNAME` in the environment, and the network's configuration as
//! JSON on stdin:
//!
//! ```json
//! {"cniVersion": "1.0.0", "name": "mynet", "type": "netctl",
//!  "subnet": "10.89.0.0/24", "root": "/var/lib/dockerish",
//!  "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}}
//! ```
//!
//! ADD is `attach` (the network is created on first use from the
//! configuration's `subnet`, `gateway`, `bridge`, `internal`), DEL is
//! `detach` (success when there is nothing to undo, as the spec wants),
//! CHECK verifies the attachment is whole. The answer is JSON on stdout: a
//! result, or an error `{"code", "msg"}` with exit status 1.

use std::io::Read;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::attach::{attach, detach, AttachSpec};
use crate::error::Error;
use crate::netlink::Netlink;
use crate::netns;
use crate::network::{self, NetworkSpec};
use crate::ports::{PortMapping, Proto};
use crate::store::Store;

/// The versions this plugin speaks.
const SUPPORTED: [&str; 4] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Conf {
    cni_version: String,
    name: String,
    #[serde(default)]
    subnet: Option<Ipv4Net>,
    #[serde(default)]
    gateway: Option<Ipv4Addr>,
    #[serde(default)]
    bridge: Option<String>,
    #[serde(default)]
    internal: bool,
    /// The state root (default: $DOCKERISH_ROOT, else /var/lib/dockerish).
    #[serde(default)]
    root: Option<PathBuf>,
    #[serde(default)]
    runtime_config: RuntimeConfig,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeConfig {
    #[serde(default)]
    port_mappings: Vec<CniPort>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CniPort {
    host_port: u16,
    container_port: u16,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default, rename = "hostIP")]
    host_ip: Option<String>,
}

/// CNI's error codes (SPEC.md, "Error").
const INCOMPATIBLE_VERSION: u32 = 1;
const INVALID_ENV: u32 = 4;
const IO_FAILURE: u32 = 5;
const DECODE_FAILURE: u32 = 6;
const INVALID_CONFIG: u32 = 7;

struct Failure {
    code: u32,
    msg: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match e {
            Error::Common(tool_cli::Error::Invalid(_)) | Error::Overlap { .. } => INVALID_CONFIG,
            _ => IO_FAILURE,
        };
        Failure { code, msg: e.to_string() }
    }
}

/// The plugin's whole run: prints the answer, returns the exit status.
pub fn main() -> i32 {
    let command = std::env::var("CNI_COMMAND").unwrap_or_default();
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    match serve(&command, &input) {
        Ok(Some(result)) => {
            println!("{result}");
            0
        }
        Ok(None) => 0,
        Err(f) => {
            let version = serde_json::from_str::<Value>(&input)
                .ok()
                .and_then(|v| v["cniVersion"].as_str().map(String::from));
            let error = json!({ "cniVersion": version.unwrap_or_else(|| "1.0.0".into()), "code": f.code, "msg": f.msg });
            println!("{error}");
            1
        }
    }
}

fn env(name: &str) -> Result<String, Failure> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(Failure { code: INVALID_ENV, msg: format!("{name} is not set") })
}

fn serve(command: &str, input: &str) -> Result<Option<Value>, Failure> {
    if command == "VERSION" {
        return Ok(Some(json!({ "cniVersion": "1.0.0", "supportedVersions": SUPPORTED })));
    }
    let conf: Conf = serde_json::from_str(input).map_err(|e| Failure {
        code: DECODE_FAILURE,
        msg: format!("the network configuration: {e}"),
    })?;
    if !SUPPORTED.contains(&conf.cni_version.as_str()) {
        let msg = format!(
            "CNI version {} is not supported (only {})",
            conf.cni_version,
            SUPPORTED.join(", ")
        );
        return Err(Failure { code: INCOMPATIBLE_VERSION, msg });
    }
    let root = conf
        .root
        .clone()
        .or_else(|| std::env::var_os("DOCKERISH_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| tool_cli::root::DEFAULT.into());
    let store = Store::open(&root)?;
    let id = env("CNI_CONTAINERID")?;
    match command {
        "ADD" => add(&store, &conf, &id).map(Some),
        "DEL" => match detach(&store, Some(&conf.name), &id) {
            Ok(_) | Err(Error::NoSuchNetwork(_)) => Ok(None),
            Err(e) => Err(e.into()),
        },
        "CHECK" => check(&store, &conf, &id).map(|()| None),
        other => Err(Failure {
            code: INVALID_ENV,
            msg: format!("CNI_COMMAND {other:?} is not ADD, DEL, CHECK or VERSION"),
        }),
    }
}

fn add(store: &Store, conf: &Conf, id: &str) -> Result<Value, Failure> {
    let netns = PathBuf::from(env("CNI_NETNS")?);
    let ifname = env("CNI_IFNAME")?;
    // By exact name: a conf's name that starts another network's ID is not that network.
    if store.network_named(&conf.name)?.is_none() {
        let _lock = store.lock()?;
        if store.network_named(&conf.name)?.is_none() {
            let spec = NetworkSpec {
                name: conf.name.clone(),
                subnet: conf.subnet,
                gateway: conf.gateway,
                bridge: conf.bridge.clone(),
                internal: conf.internal,
                names: false,
            };
            network::create(store, &spec)?;
        }
    }
    let mut ports = Vec::new();
    for p in &conf.runtime_config.port_mappings {
        let proto = match p.protocol.as_deref().unwrap_or("tcp") {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            other => {
                return Err(Failure {
                    code: INVALID_CONFIG,
                    msg: format!("port protocol {other:?}"),
                })
            }
        };
        let host_ip = match p.host_ip.as_deref().filter(|ip| !ip.is_empty()) {
            Some(ip) => Some(
                ip.parse::<Ipv4Addr>()
                    .map_err(|_| Failure { code: INVALID_CONFIG, msg: format!("hostIP {ip:?}") })?,
            )
            .filter(|ip| !ip.is_unspecified()),
            None => None,
        };
        if p.host_port == 0 || p.container_port == 0 {
            return Err(Failure { code: INVALID_CONFIG, msg: "ports are 1 to 65535".into() });
        }
        ports.push(PortMapping { host_ip, host_port: p.host_port, port: p.container_port, proto });
    }
    let spec = AttachSpec {
        network: conf.name.clone(),
        netns: netns.clone(),
        id: id.into(),
        ifname: Some(ifname.clone()),
        ports,
        ..AttachSpec::default()
    };
    let a = attach(store, &spec)?;
    let net = store.network(&conf.name)?;
    let address = format!("{}/{}", a.ip, net.prefix());
    let mut ip = json!({ "address": address, "gateway": net.gateway, "interface": 1 });
    if conf.cni_version.starts_with("0.") {
        ip["version"] = json!("4");
    }
    Ok(json!({
        "cniVersion": conf.cni_version,
        "interfaces": [
            { "name": a.host_veth, "mac": host_mac(&a.host_veth) },
            { "name": a.ifname, "mac": a.mac, "sandbox": netns },
        ],
        "ips": [ip],
        "routes": [{ "dst": "0.0.0.0/0", "gw": net.gateway }],
        "dns": {},
    }))
}

fn host_mac(name: &str) -> String {
    Netlink::open()
        .ok()
        .and_then(|mut nl| nl.link(name).ok().flatten())
        .map(|l| l.mac)
        .unwrap_or_default()
}

fn check(store: &Store, conf: &Conf, id: &str) -> Result<(), Failure> {
    let net = store.network(&conf.name)?;
    let a = store.attachment(&net.name, id)?.ok_or(Failure {
        code: IO_FAILURE,
        msg: format!("container {id} is not attached to {}", net.name),
    })?;
    let veth = Netlink::open()?.link(&a.host_veth)?;
    if !a.complete || veth.is_none() || !netns::is_live(&a.netns) {
        return Err(Failure {
            code: IO_FAILURE,
            msg: format!("the attachment of {id} to {} is not whole", net.name),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_needs_no_configuration() {
        let v = serve("VERSION", "").ok().flatten().unwrap();
        assert_eq!(v["cniVersion"], "1.0.0");
        assert!(v["supportedVersions"].as_array().unwrap().iter().any(|s| s == "0.4.0"));
    }

    #[test]
    fn bad_requests_get_cni_error_codes() {
        let err = |cmd: &str, input: &str| serve(cmd, input).err().map(|f| f.code);
        assert_eq!(err("ADD", "{"), Some(DECODE_FAILURE));
        assert_eq!(
            err("ADD", r#"{"cniVersion": "9.9.9", "name": "n", "type": "netctl"}"#),
            Some(INCOMPATIBLE_VERSION)
        );
    }
}
