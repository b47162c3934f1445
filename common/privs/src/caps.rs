//! Capabilities (capabilities(7)): which of root's powers a container's
//! processes keep.
//!
//! A process has five sets. **Bounding** limits what it can ever gain (an
//! execve of a setuid-root or file-capability binary included);
//! **permitted** is what it may use, **effective** what it uses now,
//! **inheritable** what survives execve for programs marked to inherit
//! it, and **ambient** what survives execve for any program. The kernel
//! checks the effective set; root in a user namespace is root only over
//! that namespace's objects, but in the host's user namespace (our default)
//! every capability is a power over the host: CAP_SYS_ADMIN mounts, and
//! CAP_DAC_READ_SEARCH opens any inode by handle ("Shocker").
//!
//! [`CapSet::limit_bounding`] and [`CapSet::set_process_sets`] reduce all
//! five, in the only order the kernel allows: the bounding set first
//! (dropping from it needs CAP_SETPCAP, which the caller still has all of),
//! ambient cleared, then permitted, effective and inheritable in one
//! capset(2) (`crate::Prepared::apply` puts the user change between them).
//!
//! The default (see [`DEFAULT`]) is Podman's eleven plus NET_RAW: Docker's
//! fourteen without MKNOD and AUDIT_WRITE. Without MKNOD no device node can
//! be made at all; the device cgroup (cgctl) would refuse to open one
//! anyway, so this is a second wall, not the only one (`--cap-add MKNOD`
//! gives Docker's behaviour: make any node, open only /dev's). NET_RAW stays because ping
//! needs it (busybox's has no fallback to ICMP datagram sockets), as in
//! Docker: `--cap-drop NET_RAW` keeps a container from forging packets on
//! the bridge its neighbours share.

use std::fmt;
use std::str::FromStr;

use tool_cli::error::invalid;
use tool_cli::{Invalid, Sys};

/// Every capability Linux 6.x knows, by number (linux/capability.h).
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The default set: what ordinary programs need (chown files, bind ports
/// below 1024, switch users, chroot, ping), and nothing that reaches past
/// the container (no SYS_ADMIN, DAC_READ_SEARCH, SYS_MODULE, MKNOD, …).
pub const DEFAULT: [&str; 12] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// A set of capabilities, one bit per number.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

/// The number of `name`: with or without `CAP_`, any case.
pub fn number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

impl CapSet {
    /// Every capability this kernel has (0 ..= /proc/sys/kernel/cap_last_cap)
    /// that we may still hold: those in our own bounding set. (Not all of
    /// them everywhere: this project's CI machine has no CAP_SYS_RESOURCE
    /// to give, and asking capset(2) for it fails.)
    pub fn all() -> CapSet {
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(NAMES.len() as u32 - 1);
        let kernel = if last >= 63 { u64::MAX } else { (1u64 << (last + 1)) - 1 };
        let bounding = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("CapBnd:"))?;
                u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
            })
            .unwrap_or(kernel);
        CapSet(kernel & bounding)
    }

    pub fn default_set() -> CapSet {
        CapSet(DEFAULT.iter().map(|n| 1u64 << number(n).expect("a known name")).sum())
    }

    pub fn contains(self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }

    /// Docker's `--cap-add`/`--cap-drop` on top of `self`: drops first,
    /// then adds (so `--cap-drop ALL --cap-add CHOWN` is CHOWN alone).
    pub fn adjust(self, add: &[String], drop: &[String]) -> Result<CapSet, Invalid> {
        let parse = |flag: &'static str, name: &String| {
            name.parse::<CapSet>().map_err(|e| invalid(flag, name, e.why))
        };
        let mut set = self.0;
        for name in drop {
            set &= !parse("--cap-drop", name)?.0;
        }
        for name in add {
            set |= parse("--cap-add", name)?.0;
        }
        let beyond = CapSet(set & !CapSet::all().0);
        if beyond.0 != 0 {
            let why = "not in the bounding set of this process: it has none of it to give";
            return Err(invalid("--cap-add", beyond.to_string(), why));
        }
        Ok(CapSet(set))
    }

    /// The names in the set, `CAP_` prefixed, in number order.
    pub fn names(self) -> Vec<String> {
        (0..NAMES.len() as u32)
            .filter(|&c| self.contains(c))
            .map(|c| format!("CAP_{}", NAMES[c as usize]))
            .collect()
    }

    /// Reduces the bounding set to `self` and clears the ambient set. Run
    /// as root with every capability (the caller has them all: CAP_SETPCAP
    /// is what PR_CAPBSET_DROP needs), before the user changes.
    pub fn limit_bounding(self) -> Result<(), Sys> {
        for cap in 0..64u32 {
            if self.contains(cap) {
                continue;
            }
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if rc != 0 {
                let errno = nix::errno::Errno::last();
                if errno == nix::errno::Errno::EINVAL {
                    break; // past the kernel's last capability
                }
                return Err(Sys::new("drop from the bounding set", cap_name(cap), errno));
            }
        }
        // SAFETY: as above.
        let rc = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0,
                0,
                0,
            )
        };
        if rc != 0 {
            return Err(Sys::new("clear", "the ambient capabilities", nix::errno::Errno::last()));
        }
        Ok(())
    }

    /// Sets permitted and effective to `self`, inheritable to nothing
    /// (capset(2)): see `crate::Prepared::apply`, step 5. Only ever a
    /// reduction: a set can lose capabilities, never gain.
    pub fn set_process_sets(self) -> Result<(), Sys> {
        capset(self, self, CapSet(0))
    }
}

/// capset(2): the calling thread's effective, permitted and inheritable
/// sets. The kernel refuses (EPERM) a permitted set that grows, an
/// effective set outside the permitted one, and an inheritable set beyond
/// permitted and bounding without CAP_SETPCAP.
fn capset(effective: CapSet, permitted: CapSet, inheritable: CapSet) -> Result<(), Sys> {
    let header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let word = |set: CapSet, high: bool| if high { (set.0 >> 32) as u32 } else { set.0 as u32 };
    let data = [false, true].map(|high| CapData {
        effective: word(effective, high),
        permitted: word(permitted, high),
        inheritable: word(inheritable, high),
    });
    // SAFETY: the header and two data words capset(2) v3 reads.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    if rc != 0 {
        let what = format!("capabilities to effective {effective}, permitted {permitted}, inheritable {inheritable}");
        return Err(Sys::new("set", what, nix::errno::Errno::last()));
    }
    Ok(())
}

/// The five sets apart, as an OCI config.json's `process.capabilities`
/// gives them (the tools' `--cap-sets`; `--caps` is one set for all, which
/// is what Docker's flags mean). Unlike `--caps`, the sets are kept by a
/// user other than root too: PR_SET_KEEPCAPS holds the permitted set over
/// the uid change, and capset(2) then sets all three (runc's order).
///
/// What the program gets is execve's rule (capabilities(7), "Transformation
/// of capabilities during execve"): a non-root user's program keeps its
/// ambient set as permitted and effective; root's gets its whole bounding
/// set whatever the others say (runc's behaviour as well).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessCaps {
    pub bounding: CapSet,
    pub effective: CapSet,
    pub permitted: CapSet,
    pub inheritable: CapSet,
    pub ambient: CapSet,
}

const SET_NAMES: [&str; 5] = ["bounding", "effective", "permitted", "inheritable", "ambient"];

impl ProcessCaps {
    fn sets(&self) -> [CapSet; 5] {
        [self.bounding, self.effective, self.permitted, self.inheritable, self.ambient]
    }

    /// After the user change: effective, permitted and inheritable, then
    /// each ambient capability raised (prctl(2) PR_CAP_AMBIENT_RAISE, which
    /// the kernel allows only for one in both permitted and inheritable).
    pub fn set_process_sets(&self) -> Result<(), Sys> {
        capset(self.effective, self.permitted, self.inheritable)?;
        for cap in (0..64u32).filter(|&c| self.ambient.contains(c)) {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                    0,
                    0,
                )
            };
            if rc != 0 {
                let errno = nix::errno::Errno::last();
                return Err(Sys::new("raise in the ambient set", cap_name(cap), errno));
            }
        }
        Ok(())
    }
}

/// PR_SET_KEEPCAPS: whether the permitted set survives a change from uid
/// 0 to another (otherwise the kernel clears it).
pub fn keep_caps(keep: bool) -> Result<(), Sys> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, keep as libc::c_ulong, 0, 0, 0) };
    if rc != 0 {
        return Err(Sys::new(
            if keep { "set" } else { "clear" },
            "PR_SET_KEEPCAPS",
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// `bounding=CHOWN,KILL:effective=CHOWN:…`; a set left out is empty.
impl FromStr for ProcessCaps {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<ProcessCaps, Invalid> {
        let mut caps = ProcessCaps::default();
        for part in text.split(':').filter(|p| !p.is_empty()) {
            let (name, list) = part.split_once('=').unwrap_or((part, ""));
            let set = match name {
                "bounding" => &mut caps.bounding,
                "effective" => &mut caps.effective,
                "permitted" => &mut caps.permitted,
                "inheritable" => &mut caps.inheritable,
                "ambient" => &mut caps.ambient,
                _ => {
                    let why = "not a set: bounding, effective, permitted, inheritable or ambient";
                    return Err(invalid("capability set", name, why));
                }
            };
            *set = list.parse()?;
        }
        Ok(caps)
    }
}

impl fmt::Display for ProcessCaps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            SET_NAMES.iter().zip(self.sets()).map(|(name, set)| format!("{name}={set}")).collect();
        f.write_str(&parts.join(":"))
    }
}

fn cap_name(cap: u32) -> String {
    NAMES.get(cap as usize).map_or_else(|| format!("capability {cap}"), |n| format!("CAP_{n}"))
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `CHOWN,KILL,…` (the tools' `--caps` flag), `ALL`, or `` for none.
impl FromStr for CapSet {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<CapSet, Invalid> {
        let mut set = 0u64;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name.eq_ignore_ascii_case("ALL") {
                set |= CapSet::all().0;
                continue;
            }
            match number(name) {
                Some(n) => set |= 1 << n,
                None => {
                    return Err(invalid(
                        "capability",
                        name,
                        "not a capability (see capabilities(7))",
                    ))
                }
            }
        }
        Ok(CapSet(set))
    }
}

/// The names without `CAP_`, comma-separated: what `--caps` takes back.
impl fmt::Display for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = (0..NAMES.len() as u32)
            .filter(|&c| self.contains(c))
            .map(|c| NAMES[c as usize])
            .collect();
        f.write_str(&names.join(","))
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CapSet({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_or_without_cap_in_any_case() {
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("net_raw"), Some(13));
        assert_eq!(number("CAP_NOPE"), None);
    }

    #[test]
    fn the_default_is_podmans_eleven_and_net_raw() {
        let set = CapSet::default_set();
        assert_eq!(set.0.count_ones(), 12);
        assert!(!set.contains(number("SYS_ADMIN").unwrap()));
        assert!(!set.contains(number("DAC_READ_SEARCH").unwrap()));
        assert!(!set.contains(number("MKNOD").unwrap()));
    }

    #[test]
    fn drop_then_add_as_docker() {
        let set = CapSet::default_set();
        let only = set.adjust(&["chown".into()], &["ALL".into()]).unwrap();
        assert_eq!(only.to_string(), "CHOWN");
        let more = set.adjust(&["CAP_NET_RAW".into()], &["KILL".into()]).unwrap();
        assert!(more.contains(13) && !more.contains(5));
        assert!(set.adjust(&["BOGUS".into()], &[]).is_err());
    }

    #[test]
    fn the_five_sets_round_trip_and_a_missing_one_is_empty() {
        let sets: ProcessCaps = "bounding=CHOWN,KILL:ambient=KILL".parse().unwrap();
        assert_eq!(sets.bounding.to_string(), "CHOWN,KILL");
        assert_eq!((sets.effective, sets.ambient.to_string()), (CapSet(0), "KILL".into()));
        assert_eq!(sets.to_string().parse::<ProcessCaps>().unwrap(), sets);
        assert!("bounding=CHOWN:nosuch=KILL".parse::<ProcessCaps>().is_err());
        assert!("effective=NOPE".parse::<ProcessCaps>().is_err());
    }

    #[test]
    fn the_flag_round_trips() {
        let set = CapSet::default_set();
        assert_eq!(set.to_string().parse::<CapSet>().unwrap(), set);
        assert_eq!("".parse::<CapSet>().unwrap(), CapSet(0));
        assert!("CHOWN,NOPE".parse::<CapSet>().is_err());
    }
}
