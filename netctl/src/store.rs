//! Networks and attachments on disk, under the state root:
//!
//! ```text
//! ROOT/networks/.lock                    flock'ed around every change (json-store)
//! ROOT/networks/NAME/network.json        the network: subnet, gateway, bridge, options
//! ROOT/networks/NAME/ipam/10.88.0.5      an allocated address; its content is the owner's ID
//! ROOT/networks/NAME/attachments/ID.json what `attach` did for container ID: the record
//!                                        `detach` undoes, written before the kernel objects
//! ROOT/netns/NAME                        a kept network namespace (bind-mounted nsfs file)
//! ```
//!
//! The records are the truth: the kernel's objects (bridge, veths, the
//! nftables table) are made from them and can be made again from them
//! (`gc`, or the first command after a reboot).

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use json_store::Lock;
use pidref::ProcessRef;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ToolError};
use crate::ports::PortMapping;

/// A network: a bridge with the gateway address, a subnet to hand out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 hex digits, random.
    pub id: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    /// The bridge's name on the host (15 bytes at most).
    pub bridge: String,
    /// No route out: no masquerade, nothing forwarded off the bridge.
    #[serde(default)]
    pub internal: bool,
    /// Containers reach each other by name and alias (every network but
    /// the default one, as Docker's).
    #[serde(default)]
    pub names: bool,
    /// Seconds since the epoch.
    pub created: u64,
}

impl Network {
    /// The prefix a container's address has (the subnet's).
    pub fn prefix(&self) -> u8 {
        self.subnet.prefix_len()
    }
}

/// What `attach` did for one container on one network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The container's ID (the key of everything made for it).
    pub id: String,
    /// Its name and aliases: what other containers on a network with
    /// `names` call it.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    /// `HOST:IP` lines of its /etc/hosts (`--add-host`).
    #[serde(default)]
    pub add_hosts: Vec<String>,
    /// The file bind-mounted as its /etc/hosts, which netctl keeps current.
    #[serde(default)]
    pub hosts_file: Option<PathBuf>,
    pub netns: PathBuf,
    /// Whether attach made the namespace file (`--new-netns`), so detach
    /// removes it.
    #[serde(default)]
    pub made_netns: bool,
    /// The interface inside (eth0) and the veth's host end.
    pub ifname: String,
    pub host_veth: String,
    pub ip: Ipv4Addr,
    pub mac: String,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    /// The process whose life the attachment lasts (dockerish's monitor of
    /// the container): once it is gone, `gc` detaches.
    #[serde(default)]
    pub owner: Option<ProcessRef>,
    /// False until every kernel object exists: a record left so by a kill
    /// is undone by `detach` or `gc`.
    pub complete: bool,
}

use tool_cli::root::DEFAULT as DEFAULT_ROOT;

/// The names that mark a root's objects on the host, so that two state
/// roots (a test's, a benchmark's, yours) share a host without touching
/// each other's: `gc` deletes only links tagged with its own root, and a
/// rebuild replaces only its own table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostNames {
    /// The root, as an absolute path.
    pub root: PathBuf,
    /// The nftables table (family `ip`): `dockerish` for the default root,
    /// `dockerish_` + 8 hex digits of a hash of the root's path otherwise.
    pub table: String,
    /// The alias (IFLA_IFALIAS, `ip link` shows it) of every bridge and
    /// veth host end made for this root: `dockerish:` + the root's path.
    pub link_alias: String,
    /// The default network's bridge, `dockerish0`, for the default root;
    /// another root's is named like any network's (`dkbr…`).
    pub default_bridge: Option<String>,
}

impl HostNames {
    fn of(root: &Path) -> HostNames {
        let root = fs::canonicalize(root)
            .or_else(|_| std::path::absolute(root))
            .unwrap_or_else(|_| root.to_path_buf());
        let text = root.to_string_lossy();
        // The default root, also through a symbolic link to it.
        let default =
            fs::canonicalize(DEFAULT_ROOT).unwrap_or_else(|_| PathBuf::from(DEFAULT_ROOT)) == root;
        // IFALIASZ: an alias has 255 bytes at most.
        let link_alias = match text.len() <= 255 - "dockerish:".len() {
            true => format!("dockerish:{text}"),
            false => format!("dockerish:#{:016x}", fnv1a(text.as_bytes())),
        };
        HostNames {
            table: match default {
                true => "dockerish".into(),
                false => format!("dockerish_{:08x}", fnv1a(text.as_bytes()) >> 32),
            },
            link_alias,
            default_bridge: default.then(|| "dockerish0".into()),
            root,
        }
    }
}

/// FNV-1a, 64 bits: a tiny hash, enough to tell a host's roots and veths
/// apart in a name.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The networks of a state root.
pub struct Store {
    root: PathBuf,
    dir: PathBuf,
    names: HostNames,
}

impl Store {
    pub fn open(root: &Path) -> Result<Store> {
        tool_cli::root::make_private(root).map_err(Error::io("create", root))?;
        let dir = root.join("networks");
        fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        Ok(Store::at(root))
    }

    /// The store of `root` as it is, for reading: nothing is created (a
    /// root without networks has none).
    pub fn at(root: &Path) -> Store {
        Store { root: root.to_path_buf(), dir: root.join("networks"), names: HostNames::of(root) }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How this root's objects are named on the host.
    pub fn host_names(&self) -> &HostNames {
        &self.names
    }

    /// Every change holds this lock: IPAM, ports, hosts files and the
    /// firewall are decided over all networks at once.
    pub fn lock(&self) -> Result<Lock> {
        Ok(Lock::exclusive(&self.dir.join(".lock"))?)
    }

    pub fn network_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn networks(&self) -> Result<Vec<Network>> {
        let mut all = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(all),
            other => other.map_err(Error::io("list", &self.dir))?,
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if let Some(net) = json_store::read_json::<Network>(&entry.path().join("network.json"))?
            {
                all.push(net);
            }
        }
        all.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        Ok(all)
    }

    /// The network named exactly `name`, if there is one.
    pub fn network_named(&self, name: &str) -> Result<Option<Network>> {
        Ok(self.networks()?.into_iter().find(|n| n.name == name))
    }

    /// The network named `name`, or whose ID starts with it.
    pub fn network(&self, key: &str) -> Result<Network> {
        let all = self.networks()?;
        let found = all.iter().find(|n| n.name == key).or_else(|| {
            let matching: Vec<_> =
                all.iter().filter(|n| !key.is_empty() && n.id.starts_with(key)).collect();
            (matching.len() == 1).then(|| matching[0])
        });
        found.cloned().ok_or_else(|| Error::NoSuchNetwork(key.into()))
    }

    pub fn save_network(&self, net: &Network) -> Result<()> {
        let dir = self.network_dir(&net.name);
        for sub in ["ipam", "attachments"] {
            fs::create_dir_all(dir.join(sub)).map_err(Error::io("create", dir.join(sub)))?;
        }
        Ok(json_store::write_json(&dir.join("network.json"), net)?)
    }

    pub fn remove_network(&self, name: &str) -> Result<()> {
        let dir = self.network_dir(name);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", &dir)(e)),
            _ => Ok(()),
        }
    }

    fn attachment_path(&self, net: &str, id: &str) -> PathBuf {
        self.network_dir(net).join("attachments").join(format!("{id}.json"))
    }

    pub fn attachments(&self, net: &str) -> Result<Vec<Attachment>> {
        let dir = self.network_dir(net).join("attachments");
        let mut all = Vec::new();
        for entry in fs::read_dir(&dir).map_err(Error::io("list", &dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") && !json_store::is_temp(&name) {
                if let Some(a) = json_store::read_json::<Attachment>(&entry.path())? {
                    all.push(a);
                }
            }
        }
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    /// Every attachment of every network.
    pub fn all_attachments(&self) -> Result<Vec<(Network, Attachment)>> {
        let mut all = Vec::new();
        for net in self.networks()? {
            for a in self.attachments(&net.name)? {
                all.push((net.clone(), a));
            }
        }
        Ok(all)
    }

    pub fn attachment(&self, net: &str, id: &str) -> Result<Option<Attachment>> {
        Ok(json_store::read_json(&self.attachment_path(net, id))?)
    }

    /// The caller holds the lock: temporary files killed writers left in
    /// the directory go first.
    pub fn save_attachment(&self, net: &str, a: &Attachment) -> Result<()> {
        let path = self.attachment_path(net, &a.id);
        json_store::remove_stale_temps(path.parent().expect("attachments/"))?;
        Ok(json_store::write_json(&path, a)?)
    }

    pub fn remove_attachment(&self, net: &str, id: &str) -> Result<()> {
        let path = self.attachment_path(net, id);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("remove", &path)(e))
            }
            _ => Ok(()),
        }
    }
}

/// Network names, and the names containers have on one: Docker's
/// container-name rule, `[a-zA-Z0-9][a-zA-Z0-9_.-]*` (resolvers take `_` in
/// /etc/hosts names).
pub fn validate_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && name.len() <= 64;
    match ok {
        true => Ok(()),
        false => {
            Err(Error::invalid("network name", name, "use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64"))
        }
    }
}

/// A random 64-hex-digit ID.
pub fn random_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    use std::io::Read;
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(Error::io("read", "/dev/urandom"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_root_names_its_host_objects_apart() {
        let default = HostNames::of(Path::new(DEFAULT_ROOT));
        assert_eq!(default.table, "dockerish");
        assert_eq!(default.link_alias, "dockerish:/var/lib/dockerish");
        assert_eq!(default.default_bridge.as_deref(), Some("dockerish0"));
        let (a, b) = (HostNames::of(Path::new("/tmp/a")), HostNames::of(Path::new("/tmp/b")));
        assert!(a.table.starts_with("dockerish_") && a.table.len() == 18, "{}", a.table);
        assert_ne!(a.table, b.table);
        assert_eq!(a.link_alias, "dockerish:/tmp/a");
        assert_eq!(a.default_bridge, None);
        let long = format!("/{}", "x".repeat(300));
        let alias = HostNames::of(Path::new(&long)).link_alias;
        assert!(alias.len() <= 255 && alias.starts_with("dockerish:#"), "{alias}");
    }

    #[test]
    fn names_follow_dockers_rule() {
        for good in ["mynet", "a", "my_net.2-b"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", ".x", "a b", "a/b", &"n".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
