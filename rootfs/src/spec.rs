//! What a root is made of, parsed and checked before anything is mounted.

use std::ffi::CString;
use std::fmt;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result, ToolError};

/// Everything `rootfs enter` needs.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Read-only image layers, topmost first (overlayfs's `lowerdir=` order).
    pub layers: Vec<PathBuf>,
    /// The container's directory: `upper/`, `work/` and `merged/` for the
    /// overlay, and the generated `hostname`, `hosts` and `resolv.conf`.
    pub dir: PathBuf,
    /// For /etc/hostname and /etc/hosts; default: the current hostname.
    pub hostname: Option<String>,
    pub extra_hosts: Vec<HostEntry>,
    /// A file to bind as /etc/hosts instead of writing one (kept current
    /// by its owner: netctl, on a network where containers have names).
    pub hosts_file: Option<PathBuf>,
    /// Nameservers for /etc/resolv.conf; default: the host's, minus loopback.
    pub dns: Vec<IpAddr>,
    pub volumes: Vec<Volume>,
    /// The command's whole environment, `KEY=VALUE`.
    pub env: Vec<String>,
    pub workdir: PathBuf,
    pub read_only: bool,
    /// Where to send the master of a terminal made in the container.
    pub console_socket: Option<PathBuf>,
    /// The caller made the mount namespace we run in (`ns-exec --mount`):
    /// do not nest another one (step 1).
    pub no_unshare: bool,
    /// Where to report the start (step 0 of `enter`).
    pub start_socket: Option<PathBuf>,
    /// The user to become, resolved in the container's own /etc/passwd.
    pub user: Option<privs::user::UserSpec>,
    /// Capabilities, no_new_privs and seccomp (step 9 of `enter`).
    pub security: privs::Security,
    /// Leave /proc's masked and read-only paths alone and /sys writable
    /// (`--privileged`).
    pub unmask: bool,
    /// Mount the root and the volumes nodev.
    pub nodev: bool,
    /// Host device nodes made again in the container's /dev.
    pub devices: Vec<Device>,
    /// Kernel parameters of the container's namespaces, set before /proc/sys
    /// becomes read-only.
    pub sysctls: Vec<Sysctl>,
    /// Supplementary groups besides the user's (names from the container's
    /// /etc/group, or numbers).
    pub group_add: Vec<String>,
    /// Run as root of a new user namespace with these host ids.
    pub userns: Option<crate::userns::IdRange>,
    pub command: Vec<CString>,
}

/// The namespace the file `path` (`/proc/PID/ns/KIND`) refers to.
pub fn ns_id(path: &str) -> Option<(u64, u64)> {
    nix::sys::stat::stat(path).map(|s| (s.st_dev, s.st_ino)).ok()
}

/// A host device node given to the container: `HOST[:CTR]`, both in /dev.
/// The node is made again in the container's /dev with the host node's
/// type, numbers and mode (mknod; a bind mount in a user namespace); what
/// may be done with it is the device cgroup's business (cgctl).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub host: PathBuf,
    pub container: PathBuf,
}

impl FromStr for Device {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self> {
        let (host, container) = spec.split_once(':').unwrap_or((spec, spec));
        for (what, path) in [("device", host), ("device destination", container)] {
            let path = Path::new(path);
            check_container_path(what, path)?;
            if !path.starts_with("/dev") || path == Path::new("/dev") {
                return Err(Error::invalid(what, spec, "must be a path below /dev"));
            }
        }
        Ok(Device { host: host.into(), container: container.into() })
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host.display(), self.container.display())
    }
}

/// `KEY=VALUE` for a kernel parameter that belongs to one of the
/// container's namespaces, so that setting it changes nothing outside: the
/// net.* keys (its network namespace), the System V IPC ones and
/// fs.mqueue.* (its IPC namespace). The rest (vm.*, kernel.*, fs.*) are
/// the host's, and refused, as Docker and Podman refuse them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
}

/// The IPC namespace's keys, besides `fs.mqueue.*`.
const IPC_SYSCTLS: [&str; 7] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
];

impl Sysctl {
    /// Whether the key is one of the network namespace's.
    pub fn is_net(&self) -> bool {
        self.key.starts_with("net.")
    }

    /// Its file under /proc/sys.
    pub fn file(&self) -> PathBuf {
        Path::new("/proc/sys").join(self.key.replace('.', "/"))
    }
}

impl FromStr for Sysctl {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| Error::invalid("sysctl", spec, "expected KEY=VALUE"))?;
        let key = key.trim().replace('/', ".");
        let well_formed = !key.is_empty()
            && key.split('.').all(|part| !part.is_empty() && part != "..")
            && !key.contains('\0');
        let namespaced = key.starts_with("net.")
            || key.starts_with("fs.mqueue.")
            || IPC_SYSCTLS.contains(&key.as_str());
        if !well_formed || !namespaced {
            return Err(Error::invalid(
                "sysctl",
                spec,
                "only the container's own namespaces' keys can be set: net.*, fs.mqueue.*, \
                 kernel.msgmax, msgmnb, msgmni, sem, shmall, shmmax, shmmni",
            ));
        }
        Ok(Sysctl { key, value: value.to_string() })
    }
}

impl fmt::Display for Sysctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// A host path bind-mounted into the container: `SRC:DST[:ro|:rw]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    pub source: PathBuf,
    pub target: PathBuf,
    pub read_only: bool,
}

impl FromStr for Volume {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("volume", spec, why);
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, target, read_only) = match parts[..] {
            [s, t] => (s, t, false),
            [s, t, "ro"] => (s, t, true),
            [s, t, "rw"] => (s, t, false),
            [_, _, opt] => return Err(bad(&format!("unknown option {opt:?}: use ro or rw"))),
            _ => return Err(bad("expected SRC:DST or SRC:DST:ro")),
        };
        if !source.starts_with('/') {
            return Err(bad(
                "the source must be an absolute host path (named volumes are not supported)",
            ));
        }
        let target = PathBuf::from(target);
        check_container_path("volume destination", &target)?;
        if target == Path::new("/") {
            return Err(bad("the destination cannot be /"));
        }
        // runc's rule: a bind over the kernel's filesystems would hide
        // them (and their masks) from the container.
        for kernel in ["/proc", "/sys"] {
            if target.starts_with(kernel) {
                return Err(bad(&format!("cannot mount over {kernel} or inside it")));
            }
        }
        if target == Path::new("/dev") {
            return Err(bad("cannot mount over /dev"));
        }
        Ok(Volume { source: PathBuf::from(source), target, read_only })
    }
}

impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source.display(), self.target.display())?;
        if self.read_only {
            f.write_str(":ro")?;
        }
        Ok(())
    }
}

/// An extra line of /etc/hosts: `HOST:IP` (as `docker run --add-host`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostEntry {
    pub host: String,
    pub ip: IpAddr,
}

impl FromStr for HostEntry {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("host entry", spec, why);
        // Split at the first ':' only: an IPv6 address has more.
        let (host, ip) = spec.split_once(':').ok_or_else(|| bad("expected HOST:IP"))?;
        if host.is_empty()
            || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(bad("the host name may hold letters, digits, '-', '.' and '_'"));
        }
        let ip = ip.parse().map_err(|_| bad(&format!("{ip:?} is not an IP address")))?;
        Ok(HostEntry { host: host.to_string(), ip })
    }
}

/// A path inside the container must be absolute and free of `..` (which
/// could climb out of the directory it names).
pub fn check_container_path(what: &'static str, path: &Path) -> Result<()> {
    if !path.is_absolute() {
        return Err(Error::invalid(what, path.display().to_string(), "must be an absolute path"));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(Error::invalid(what, path.display().to_string(), "must not contain '..'"));
    }
    Ok(())
}

/// An environment entry `KEY=VALUE` with a non-empty key.
pub fn check_env(entry: &str) -> Result<()> {
    match entry.split_once('=') {
        Some((key, _)) if !key.is_empty() && !entry.contains('\0') => Ok(()),
        _ => Err(Error::invalid("environment entry", entry, "expected KEY=VALUE")),
    }
}

impl Spec {
    /// Checks everything that can be checked without changing anything.
    pub fn validate(&self) -> Result<()> {
        if self.command.is_empty() {
            return Err(Error::invalid("command", "", "no command given"));
        }
        if self.layers.is_empty() {
            return Err(Error::invalid("layers", "", "give at least one --lower directory"));
        }
        for layer in self.layers.iter().chain([&self.dir]) {
            let text = layer.to_string_lossy();
            // overlayfs separates options with ',' and lower dirs with ':'.
            if text.contains([',', ':']) {
                return Err(Error::invalid(
                    "directory",
                    text,
                    "overlayfs cannot take a path with ',' or ':'",
                ));
            }
        }
        for layer in &self.layers {
            if !layer.is_dir() {
                return Err(Error::invalid(
                    "layer",
                    layer.display().to_string(),
                    "not a directory",
                ));
            }
        }
        if let Some(file) = &self.hosts_file {
            if !self.extra_hosts.is_empty() {
                return Err(Error::invalid(
                    "--add-host",
                    self.extra_hosts[0].host.clone(),
                    "goes into the --hosts-file, not beside it",
                ));
            }
            std::fs::metadata(file).map_err(Error::io("hosts file", file))?;
        }
        for volume in &self.volumes {
            std::fs::metadata(&volume.source)
                .map_err(Error::io("volume source", &volume.source))?;
        }
        for device in &self.devices {
            device.host_node()?;
        }
        // Before the pivot /proc is still the host's: PID 1 is the host's
        // init. Each key must land in a namespace that is not the host's.
        for sysctl in &self.sysctls {
            let kind = if sysctl.is_net() { "net" } else { "ipc" };
            if ns_id(&format!("/proc/self/ns/{kind}")) == ns_id(&format!("/proc/1/ns/{kind}")) {
                return Err(Error::invalid(
                    "sysctl",
                    sysctl.to_string(),
                    format!("needs a {kind} namespace of the container's own (not the host's)"),
                ));
            }
        }
        check_container_path("working directory", &self.workdir)?;
        self.env.iter().try_for_each(|e| check_env(e))?;
        if let Some(name) = &self.hostname {
            tool_cli::hostname::validate(name)?;
        }
        Ok(())
    }
}

impl Device {
    /// The host node's type (S_IFCHR or S_IFBLK), numbers and permission bits.
    pub fn host_node(&self) -> Result<(nix::sys::stat::SFlag, u64, u32)> {
        use nix::sys::stat::SFlag;
        let st = nix::sys::stat::stat(&self.host)
            .map_err(|e| Error::sys("stat device", self.host.display(), e))?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind != SFlag::S_IFCHR && kind != SFlag::S_IFBLK {
            let path = self.host.display().to_string();
            return Err(Error::invalid("device", path, "not a character or block device"));
        }
        Ok((kind, st.st_rdev, st.st_mode & 0o7777))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_sysctls_parse() {
        let d: Device = "/dev/kmsg".parse().unwrap();
        assert_eq!(d.container, Path::new("/dev/kmsg"));
        let d: Device = "/dev/loop0:/dev/disk/x".parse().unwrap();
        assert_eq!(d.to_string(), "/dev/loop0:/dev/disk/x");
        for bad in ["/etc/passwd", "/dev/null:/tmp/n", "kmsg", "/dev/../etc/x", "/dev/null:/dev"] {
            assert!(bad.parse::<Device>().is_err(), "{bad}");
        }
        let s: Sysctl = "net.ipv4.ip_forward=1".parse().unwrap();
        assert!(s.is_net() && s.file() == Path::new("/proc/sys/net/ipv4/ip_forward"));
        assert_eq!(
            "kernel.shmmax=1".parse::<Sysctl>().unwrap().file().to_str(),
            Some("/proc/sys/kernel/shmmax")
        );
        assert!("fs.mqueue.msg_max=20".parse::<Sysctl>().is_ok());
        assert_eq!("net/core/somaxconn=9".parse::<Sysctl>().unwrap().key, "net.core.somaxconn");
        for bad in
            ["kernel.core_pattern=|/x", "vm.swappiness=1", "net.ipv4", "net..x=1", "fs.file-max=9"]
        {
            assert!(bad.parse::<Sysctl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_volumes() {
        let v: Volume = "/srv/data:/data".parse().unwrap();
        assert_eq!(
            v,
            Volume { source: "/srv/data".into(), target: "/data".into(), read_only: false }
        );
        let v: Volume = "/srv/data:/data:ro".parse().unwrap();
        assert!(v.read_only);
        assert_eq!(v.to_string(), "/srv/data:/data:ro");
        assert!(!"/a:/b:rw".parse::<Volume>().unwrap().read_only);
    }

    #[test]
    fn refuses_bad_volumes() {
        for bad in
            ["", "/a", "data:/data", "/a:b", "/a:/b:rx", "/a:/b:ro:x", "/a:/", "/a:/x/../etc"]
        {
            assert!(bad.parse::<Volume>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn parses_host_entries() {
        let h: HostEntry = "db:10.0.0.3".parse().unwrap();
        assert_eq!(h.host, "db");
        let h: HostEntry = "v6:fd00::1".parse().unwrap();
        assert_eq!(h.ip, "fd00::1".parse::<IpAddr>().unwrap());
        for bad in ["db", "db:", ":1.2.3.4", "db:999.1.1.1", "a b:1.2.3.4"] {
            assert!(bad.parse::<HostEntry>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn checks_env_entries() {
        assert!(check_env("A=1").is_ok());
        assert!(check_env("A=").is_ok());
        assert!(check_env("=1").is_err());
        assert!(check_env("A").is_err());
    }
}
