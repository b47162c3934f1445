//! What a container's processes may do: Docker's `--cap-add`,
//! `--cap-drop`, `--privileged`, `--security-opt`, `--device`, `--ulimit`,
//! `--sysctl` and `--group-add`, turned into the flags of the exec end of
//! the chain (`privs::Security`: `rootfs enter` for the container's own
//! processes, `ns-exec --target` for `exec`) and of `cgctl` (the device
//! allow-list).
//!
//! The defaults: Podman's eleven capabilities and NET_RAW
//! (`privs::caps::DEFAULT`), the default seccomp profile, /proc's masks,
//! /sys read-only, a nodev root, and a device cgroup that lets only /dev's
//! own nodes be opened (`cgctl::devices::DEFAULT_RULES`). `--privileged`
//! undoes all of them. A
//! profile given as a file is kept in the container's record (as Docker
//! does), so later starts and every `exec` use the profile the container
//! was made with, whatever becomes of the file. The tools get the filter
//! compiled, from `ROOT/seccomp/` (`privs::seccomp::cached`): a start
//! loads it without building it again.

use std::path::Path;

use privs::caps::CapSet;
use privs::{SeccompChoice, Security};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ToolError};

/// Where the compiled filters of the state root `root` are kept.
pub fn cache_dir(root: &Path) -> std::path::PathBuf {
    root.join("seccomp")
}

/// The container's record of it (in config.json).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityConfig {
    /// The capabilities kept, `CAP_` names.
    pub caps: Vec<String>,
    pub no_new_privileges: bool,
    pub seccomp: Seccomp,
    pub privileged: bool,
    /// `--device`: host nodes made in the container's /dev, and allowed.
    pub devices: Vec<Device>,
    /// `--ulimit`, as `NAME=SOFT:HARD`.
    pub ulimits: Vec<String>,
    /// `--sysctl`, as `KEY=VALUE`.
    pub sysctls: Vec<String>,
    /// `--group-add`: groups by name or number.
    pub group_add: Vec<String>,
    /// `--userns auto`: the host ids (`START:COUNT`) of the container's
    /// user namespace; none: the host's.
    pub userns: Option<String>,
}

/// Each `--userns auto` container gets this many ids, as Podman's auto
/// mode and Docker's remap do: enough for any image's users.
pub const USERNS_SIZE: u32 = 65536;

/// The ids `--userns auto` hands out when /etc/subuid has no `dockerish`
/// line: 1024 ranges from 10^9, far above the ids of any real user.
pub const USERNS_DEFAULT: (u32, u32) = (1_000_000_000, 1024 * USERNS_SIZE);

/// The ids dockerish may hand out: `dockerish:START:COUNT` of /etc/subuid
/// (subuid(5)), which /etc/subgid must give the same; else
/// [`USERNS_DEFAULT`].
fn subordinate_ids() -> Result<(u32, u32)> {
    let entry = |file: &str| -> Result<Option<(u32, u32)>> {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let Some(line) = text.lines().find(|l| l.starts_with("dockerish:")) else {
            return Ok(None);
        };
        let bad = || {
            Error::invalid(
                "subordinate ids",
                line,
                format!("in {file}: expected dockerish:START:COUNT"),
            )
        };
        let mut f = line.split(':').skip(1).map(|n| n.trim().parse::<u32>());
        match (f.next(), f.next()) {
            (Some(Ok(start)), Some(Ok(count))) if start > 0 && count >= USERNS_SIZE => {
                Ok(Some((start, count)))
            }
            _ => Err(bad()),
        }
    };
    match (entry("/etc/subuid")?, entry("/etc/subgid")?) {
        (None, None) => Ok(USERNS_DEFAULT),
        (Some(u), Some(g)) if u == g => Ok(u),
        (u, g) => Err(Error::invalid(
            "subordinate ids",
            format!("{u:?} {g:?}"),
            "/etc/subuid and /etc/subgid must give dockerish the same START:COUNT",
        )),
    }
}

/// `--userns`: `host` (the default) or `auto`, a range of
/// [`USERNS_SIZE`] ids that no container in `taken` has.
pub fn userns(mode: Option<&str>, taken: &[Option<&str>]) -> Result<Option<String>> {
    match mode {
        None | Some("" | "host") => Ok(None),
        Some("auto") => {
            let (start, count) = subordinate_ids()?;
            let used: Vec<u32> =
                taken.iter().flatten().filter_map(|r| r.split_once(':')?.0.parse().ok()).collect();
            (0..count / USERNS_SIZE)
                .map(|slot| start + slot * USERNS_SIZE)
                .find(|s| !used.contains(s))
                .map(|s| Some(format!("{s}:{USERNS_SIZE}")))
                .ok_or_else(|| {
                    let why = format!(
                        "all {} ranges of {USERNS_SIZE} ids are taken",
                        count / USERNS_SIZE
                    );
                    Error::invalid("--userns", "auto", why)
                })
        }
        Some(other) => Err(Error::invalid("--userns", other, "supported: host, auto")),
    }
}

/// A host device given to the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub host: String,
    pub container: String,
    /// The device cgroup rule for it (`c 1:11 rw`): its numbers as they were at `run`.
    pub rule: cgctl::DeviceRule,
}

impl Device {
    /// Docker's `--device HOST[:CTR][:PERMS]` (PERMS of r, w, m; default rwm).
    pub fn parse(text: &str) -> Result<Device> {
        let is_perms = |p: &str| !p.is_empty() && p.chars().all(|c| "rwm".contains(c));
        let parts: Vec<&str> = text.split(':').collect();
        let (host, container, perms) = match parts[..] {
            [h] => (h, h, "rwm"),
            [h, p] if is_perms(p) => (h, h, p),
            [h, c] => (h, c, "rwm"),
            [h, c, p] => (h, c, p),
            _ => return Err(Error::invalid("--device", text, "expected HOST[:CONTAINER][:PERMS]")),
        };
        let spec: rootfs::Device = format!("{host}:{container}").parse()?;
        let (kind, rdev, _) = spec.host_node()?;
        let kind = match kind == nix::sys::stat::SFlag::S_IFBLK {
            true => cgctl::devices::Type::Block,
            false => cgctl::devices::Type::Char,
        };
        let (major, minor) = (libc::major(rdev), libc::minor(rdev));
        let rule = cgctl::DeviceRule::node(kind, major, minor, perms)?;
        Ok(Device { host: host.into(), container: container.into(), rule })
    }
}
/// Which seccomp profile the container has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seccomp {
    Default,
    Unconfined,
    /// A profile of the user's: its text.
    Profile(String),
}

/// A record from before hardening gets today's defaults.
impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            caps: CapSet::default_set().names(),
            no_new_privileges: false,
            seccomp: Seccomp::Default,
            privileged: false,
            devices: vec![],
            ulimits: vec![],
            sysctls: vec![],
            group_add: vec![],
            userns: None,
        }
    }
}

/// The run flags this comes from.
pub struct Flags<'a> {
    pub cap_add: &'a [String],
    pub cap_drop: &'a [String],
    pub privileged: bool,
    pub security_opts: &'a [String],
    pub devices: &'a [String],
    pub ulimits: &'a [String],
    pub sysctls: &'a [String],
    pub group_add: &'a [String],
    /// The container has a network namespace of its own (net.* sysctls).
    pub own_netns: bool,
    /// The range [`userns`] chose.
    pub userns: Option<String>,
}

impl SecurityConfig {
    /// Checks the flags: names, options, a profile that compiles. Writes
    /// nothing (a `--dry-run` runs it too).
    pub fn from_flags(flags: &Flags) -> Result<SecurityConfig> {
        let base = if flags.privileged { CapSet::all() } else { CapSet::default_set() };
        let caps = base.adjust(flags.cap_add, flags.cap_drop)?;
        let mut config = SecurityConfig {
            caps: caps.names(),
            no_new_privileges: false,
            seccomp: if flags.privileged { Seccomp::Unconfined } else { Seccomp::Default },
            privileged: flags.privileged,
            devices: flags.devices.iter().map(|d| Device::parse(d)).collect::<Result<_>>()?,
            ulimits: vec![],
            sysctls: vec![],
            group_add: flags.group_add.to_vec(),
            userns: flags.userns.clone(),
        };
        if config.userns.is_some() && flags.privileged {
            return Err(Error::invalid("--userns", "auto", "cannot be combined with --privileged"));
        }
        for text in flags.ulimits {
            let ulimit: privs::rlimit::Rlimit = text.parse()?;
            ulimit.check()?;
            config.ulimits.push(ulimit.to_string());
        }
        for text in flags.sysctls {
            let sysctl: rootfs::Sysctl = text.parse()?;
            if sysctl.is_net() && !flags.own_netns {
                let why = "net.* keys need a network namespace of the container's own (not --network host)";
                return Err(Error::invalid("--sysctl", text, why));
            }
            config.sysctls.push(sysctl.to_string());
        }
        if let Some(bad) = config.group_add.iter().find(|g| g.is_empty() || g.contains([':', '\n']))
        {
            return Err(Error::invalid("--group-add", bad, "a group name or number"));
        }
        // Docker takes KEY=VALUE and KEY:VALUE; the last of a key wins.
        for opt in flags.security_opts {
            let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
            config.seccomp = match (key, value) {
                ("no-new-privileges", "" | "true") => {
                    config.no_new_privileges = true;
                    continue;
                }
                ("no-new-privileges", "false") => {
                    config.no_new_privileges = false;
                    continue;
                }
                ("seccomp", "unconfined") => Seccomp::Unconfined,
                ("seccomp", "default") => Seccomp::Default,
                ("seccomp", "") => {
                    let why = "seccomp=unconfined|default|PROFILE.json";
                    return Err(Error::invalid("--security-opt", opt, why));
                }
                ("seccomp", file) => {
                    Seccomp::Profile(std::fs::read_to_string(file).map_err(|e| {
                        Error::invalid("seccomp profile", file, format!("cannot read it: {e}"))
                    })?)
                }
                _ => {
                    let why = "supported: no-new-privileges[=true|false], seccomp=unconfined|default|FILE";
                    return Err(Error::invalid("--security-opt", opt, why));
                }
            };
        }
        if let Seccomp::Profile(text) = &config.seccomp {
            let target = privs::seccomp::Target::here(caps);
            privs::seccomp::Profile::parse(text, "--security-opt seccomp=")?.compile(&target)?;
        }
        Ok(config)
    }

    fn caps(&self) -> Result<CapSet> {
        Ok(self.caps.join(",").parse::<CapSet>()?)
    }

    /// The profile's text, if there is a filter.
    fn profile(&self) -> Option<&str> {
        match &self.seccomp {
            Seccomp::Unconfined => None,
            Seccomp::Default => Some(privs::seccomp::DEFAULT_PROFILE),
            Seccomp::Profile(text) => Some(text),
        }
    }

    /// The tool flags (what `rootfs enter` and `ns-exec --target` take): the
    /// filter is the compiled one in `cache` ([`Self::compile_filter`]).
    pub fn tool_flags(&self, cache: &Path) -> Result<Vec<String>> {
        let caps = self.caps()?;
        let seccomp = match self.profile() {
            None => SeccompChoice::Unconfined,
            Some(text) => SeccompChoice::Program(privs::seccomp::cache_path(cache, text, caps)),
        };
        let security = Security {
            caps: Some(caps),
            cap_sets: None,
            no_new_privs: self.no_new_privileges,
            seccomp: Some(seccomp),
            ulimits: self
                .ulimits
                .iter()
                .map(|u| u.parse())
                .collect::<std::result::Result<_, _>>()?,
        };
        Ok(security.to_args())
    }

    /// `rootfs enter`'s flags for the container's own processes beyond
    /// [`Self::tool_flags`]: devices, sysctls, groups.
    pub fn rootfs_flags(&self) -> Vec<String> {
        let mut args = Vec::new();
        for d in &self.devices {
            args.push(format!("--device={}:{}", d.host, d.container));
        }
        args.extend(self.sysctls.iter().map(|s| format!("--sysctl={s}")));
        args.extend(self.group_add.iter().map(|g| format!("--group-add={g}")));
        if let Some(range) = &self.userns {
            args.push(format!("--userns={range}"));
        }
        args
    }

    /// The device cgroup's allow-list: /dev's own nodes, the `--device`
    /// ones and the user's `--device-cgroup-rule`s (`extra`); none at all
    /// (the parent's, all) when privileged.
    pub fn device_rules(
        &self,
        extra: Option<&[cgctl::DeviceRule]>,
    ) -> Option<Vec<cgctl::DeviceRule>> {
        if self.privileged {
            return None;
        }
        let mut rules = cgctl::devices::default_rules();
        for rule in self.devices.iter().map(|d| &d.rule).chain(extra.unwrap_or_default()) {
            if !rules.contains(rule) {
                rules.push(*rule);
            }
        }
        Some(rules)
    }

    /// Makes sure the filter [`Self::tool_flags`] names is in `cache` (a
    /// start or an exec, before the chain runs); built once for all the
    /// containers it fits.
    pub fn compile_filter(&self, cache: &Path) -> Result<()> {
        if let Some(text) = self.profile() {
            privs::seccomp::cached(cache, text, self.caps()?)?;
        }
        Ok(())
    }

    /// Docker's `SecurityOpt` as `inspect` shows it.
    pub fn security_opts(&self) -> Vec<String> {
        let seccomp = match self.seccomp {
            Seccomp::Default => "default",
            Seccomp::Unconfined => "unconfined",
            Seccomp::Profile(_) => "profile",
        };
        let mut opts = vec![format!("seccomp={seccomp}")];
        if self.no_new_privileges {
            opts.push("no-new-privileges".into());
        }
        opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags<'a>(add: &'a [String], drop: &'a [String], opts: &'a [String]) -> Flags<'a> {
        Flags {
            cap_add: add,
            cap_drop: drop,
            privileged: false,
            security_opts: opts,
            devices: &[],
            ulimits: &[],
            sysctls: &[],
            group_add: &[],
            own_netns: true,
            userns: None,
        }
    }

    #[test]
    fn defaults_adjustments_and_privileged() {
        let default = SecurityConfig::from_flags(&flags(&[], &[], &[])).unwrap();
        assert_eq!(default, SecurityConfig::default());
        let add = ["NET_ADMIN".to_string()];
        let drop = ["chown".to_string()];
        let opts = ["no-new-privileges".to_string(), "seccomp=unconfined".to_string()];
        let c = SecurityConfig::from_flags(&flags(&add, &drop, &opts)).unwrap();
        assert!(c.caps.contains(&"CAP_NET_ADMIN".into()) && !c.caps.contains(&"CAP_CHOWN".into()));
        assert!(c.no_new_privileges && c.seccomp == Seccomp::Unconfined);
        // The last seccomp= wins, "default" included.
        let back = ["seccomp=unconfined".to_string(), "seccomp=default".to_string()];
        let d = SecurityConfig::from_flags(&flags(&[], &[], &back)).unwrap();
        assert_eq!(d.seccomp, Seccomp::Default);
        let all = Flags { privileged: true, ..flags(&[], &[], &[]) };
        let p = SecurityConfig::from_flags(&all).unwrap();
        assert!(p.privileged && p.seccomp == Seccomp::Unconfined);
        assert!(p.caps.contains(&"CAP_SYS_ADMIN".into()));
    }

    #[test]
    fn bad_flags_are_refused() {
        let bad = ["CAP_NOPE".to_string()];
        assert!(SecurityConfig::from_flags(&flags(&bad, &[], &[])).is_err());
        for opt in
            ["apparmor=x", "seccomp=", "seccomp=/no/such/profile.json", "no-new-privileges=maybe"]
        {
            let opts = [opt.to_string()];
            assert!(SecurityConfig::from_flags(&flags(&[], &[], &opts)).is_err(), "{opt}");
        }
        let one = |f: fn(&mut Flags<'static>, &'static [String]), text: &str| {
            let list: &'static [String] = Box::leak(vec![text.to_string()].into_boxed_slice());
            let mut fl = flags(&[], &[], &[]);
            f(&mut fl, list);
            SecurityConfig::from_flags(&fl)
        };
        assert!(one(|f, l| f.devices = l, "/etc/passwd").is_err());
        assert!(one(|f, l| f.devices = l, "/dev/null:/dev/n:rwx").is_err());
        assert!(one(|f, l| f.ulimits = l, "nofile=2:1").is_err());
        assert!(one(|f, l| f.sysctls = l, "kernel.core_pattern=|/x").is_err());
        assert!(one(|f, l| f.group_add = l, "a:b").is_err());
        let host = Flags { own_netns: false, ..flags(&[], &[], &[]) };
        let net = ["net.ipv4.ip_forward=1".to_string()];
        assert!(SecurityConfig::from_flags(&Flags { sysctls: &net, ..host }).is_err());
    }

    #[test]
    fn userns_auto_takes_the_first_free_range() {
        assert_eq!(userns(Some("host"), &[]).unwrap(), None);
        assert!(userns(Some("keep-id"), &[]).is_err());
        if std::fs::read_to_string("/etc/subuid").unwrap_or_default().contains("dockerish:") {
            return; // this host gives its own range: the defaults below do not apply
        }
        let first = format!("{}:{USERNS_SIZE}", USERNS_DEFAULT.0);
        assert_eq!(userns(Some("auto"), &[None]).unwrap().as_deref(), Some(first.as_str()));
        let next = format!("{}:{USERNS_SIZE}", USERNS_DEFAULT.0 + USERNS_SIZE);
        assert_eq!(userns(Some("auto"), &[Some(&first), None]).unwrap(), Some(next));
    }

    #[test]
    fn devices_join_the_default_allow_list() {
        let given = ["/dev/kmsg:r".to_string(), "/dev/null:/dev/null2".to_string()];
        let c =
            SecurityConfig::from_flags(&Flags { devices: &given, ..flags(&[], &[], &[]) }).unwrap();
        assert_eq!(c.devices[0].rule.to_string(), "c 1:11 r");
        assert_eq!(c.devices[1].container, "/dev/null2");
        let rules = c.device_rules(None).unwrap();
        assert_eq!(rules.len(), cgctl::devices::DEFAULT_RULES.len() + 1, "null is there already");
        assert!(c.rootfs_flags().contains(&"--device=/dev/kmsg:/dev/kmsg".to_string()));
        let privileged = SecurityConfig { privileged: true, ..c };
        assert_eq!(privileged.device_rules(None), None);
    }
}
