//! Which cgroup hierarchies this host has, where they are mounted, and where
//! in each of them the calling process lives.
//!
//! A host has one of three layouts (cgroups(7), "Cgroups version 1 and 2"):
//!
//! - **unified**: one cgroup2 hierarchy at /sys/fs/cgroup holding every
//!   controller (modern distributions);
//! - **legacy**: one cgroup v1 hierarchy per controller (or per group of
//!   co-mounted controllers, like `cpu,cpuacct`), each a directory under a
//!   tmpfs at /sys/fs/cgroup;
//! - **hybrid**: legacy, plus a cgroup2 hierarchy (usually at
//!   /sys/fs/cgroup/unified) that holds no controller the v1 ones use. The
//!   controllers do the work in their v1 hierarchies, so cgctl uses those.
//!
//! The kind is told by statfs(2) of /sys/fs/cgroup (CGROUP2_SUPER_MAGIC or
//! TMPFS_MAGIC, as systemd does it); the mount points come from
//! /proc/self/mountinfo (proc(5)) and the process's own cgroups from
//! /proc/self/cgroup, never from assumed paths.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC};
use serde::Serialize;

use crate::error::{Error, Result, ToolError};

/// Where the cgroup filesystems live by convention; only its statfs type is
/// read from this path.
pub const CGROUP_FS: &str = "/sys/fs/cgroup";

/// The v1 controllers cgctl creates cgroups in. Named hierarchies
/// (`name=systemd`) are left alone: a new cgroup there would change
/// nothing we limit.
pub const V1_CONTROLLERS: [&str; 8] =
    ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "blkio", "devices"];

/// The v2 controllers cgctl enables for the cgroups it creates, where the
/// parent offers them.
pub const V2_CONTROLLERS: [&str; 5] = ["cpuset", "cpu", "io", "memory", "pids"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Unified,
    Hybrid,
    Legacy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Version {
    #[serde(rename = "1")]
    V1,
    #[serde(rename = "2")]
    V2,
}

/// One mounted cgroup hierarchy.
#[derive(Clone, Debug, Serialize)]
pub struct Hierarchy {
    pub version: Version,
    /// v1: the controllers bound to this hierarchy. v2: those its root
    /// offers (`cgroup.controllers`).
    pub controllers: Vec<String>,
    /// Where it is mounted.
    pub mount: PathBuf,
    /// The cgroup shown at the mount point: `/` on the host, something
    /// else inside a cgroup namespace or for a bind mount of a sub-tree.
    pub mount_root: String,
    /// The cgroup of the process that asked, in this hierarchy.
    pub own: String,
    /// Whether cgctl puts its cgroups in this hierarchy.
    pub used: bool,
}

impl Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// The directory of `cgroup` (a path from the hierarchy's root).
    pub fn dir_of(&self, cgroup: &str) -> Result<PathBuf> {
        let rest = if self.mount_root == "/" {
            cgroup.strip_prefix('/')
        } else {
            cgroup.strip_prefix(self.mount_root.as_str()).and_then(|r| {
                if r.is_empty() {
                    Some(r)
                } else {
                    r.strip_prefix('/')
                }
            })
        };
        let rest = rest.ok_or_else(|| {
            Error::NoCgroupFs(format!(
                "cgroup {cgroup} is outside the part of the hierarchy mounted at {}",
                self.mount.display()
            ))
        })?;
        Ok(if rest.is_empty() { self.mount.clone() } else { self.mount.join(rest) })
    }
}

/// The host's layout, and where the caller is in it.
#[derive(Clone, Debug, Serialize)]
pub struct Layout {
    pub kind: Kind,
    pub hierarchies: Vec<Hierarchy>,
}

impl Layout {
    /// Reads the layout as seen by this process.
    pub fn detect() -> Result<Layout> {
        Layout::detect_for("self")
    }

    /// The layout, with `own` the cgroups of process `pid` ("self" for us).
    pub fn detect_for(pid: &str) -> Result<Layout> {
        let mountinfo = read("/proc/self/mountinfo")?;
        let cgroups = read(&format!("/proc/{pid}/cgroup"))?;
        let magic = statfs(CGROUP_FS)
            .map_err(|e| Error::NoCgroupFs(format!("statfs {CGROUP_FS}: {}", e.desc())))?
            .filesystem_type();
        let kind = if magic == CGROUP2_SUPER_MAGIC {
            Kind::Unified
        } else if magic == TMPFS_MAGIC {
            let has_v2 = mounts(&mountinfo).iter().any(|m| m.fstype == "cgroup2");
            if has_v2 {
                Kind::Hybrid
            } else {
                Kind::Legacy
            }
        } else {
            return Err(Error::NoCgroupFs(format!(
                "{CGROUP_FS} is neither cgroup2 nor a tmpfs of v1 hierarchies"
            )));
        };
        let hierarchies = hierarchies(kind, &mountinfo, &cgroups)?;
        if !hierarchies.iter().any(|h| h.used) {
            return Err(Error::NoCgroupFs(
                "no mounted hierarchy has a controller cgctl uses".into(),
            ));
        }
        Ok(Layout { kind, hierarchies })
    }

    /// The hierarchies cgctl creates cgroups in.
    pub fn used(&self) -> impl Iterator<Item = &Hierarchy> {
        self.hierarchies.iter().filter(|h| h.used)
    }

    /// The hierarchy that holds `controller`, if cgctl uses one that does.
    pub fn with(&self, controller: &str) -> Option<&Hierarchy> {
        self.used().find(|h| h.has(controller))
    }
}

fn read(path: &str) -> Result<String> {
    fs::read_to_string(path).map_err(Error::io("read", Path::new(path)))
}

/// A line of /proc/self/mountinfo, the fields we need.
struct Mount {
    root: String,
    point: PathBuf,
    fstype: String,
    super_options: Vec<String>,
}

/// The cgroup and cgroup2 mounts in `mountinfo` (proc(5)): `ID PARENT
/// MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS`.
fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let fstype = *right.first()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            Some(Mount {
                root: unescape(left.get(3)?),
                point: PathBuf::from(unescape(left.get(4)?)),
                fstype: fstype.to_string(),
                super_options: right
                    .get(2)
                    .map(|o| o.split(',').map(String::from).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\OOO` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pairs each line of /proc/PID/cgroup (`ID:CONTROLLERS:PATH`; ID 0 and no
/// controllers for v2) with the mount of its hierarchy.
fn hierarchies(kind: Kind, mountinfo: &str, cgroups: &str) -> Result<Vec<Hierarchy>> {
    let mounts = mounts(mountinfo);
    let mut out = Vec::new();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(list), Some(own)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if list.is_empty() {
            let Some(m) = mounts.iter().find(|m| m.fstype == "cgroup2") else { continue };
            let controllers =
                fs::read_to_string(m.point.join("cgroup.controllers")).unwrap_or_default();
            out.push(Hierarchy {
                version: Version::V2,
                controllers: controllers.split_whitespace().map(String::from).collect(),
                mount: m.point.clone(),
                mount_root: m.root.clone(),
                own: own.to_string(),
                used: kind == Kind::Unified,
            });
            continue;
        }
        let wanted: BTreeSet<&str> = list.split(',').collect();
        let found = mounts.iter().find(|m| {
            m.fstype == "cgroup" && wanted.iter().all(|c| m.super_options.iter().any(|o| o == c))
        });
        let Some(m) = found else { continue };
        let controllers: Vec<String> = wanted.iter().map(|c| c.to_string()).collect();
        let used = controllers.iter().any(|c| V1_CONTROLLERS.contains(&c.as_str()));
        out.push(Hierarchy {
            version: Version::V1,
            controllers,
            mount: m.point.clone(),
            mount_root: m.root.clone(),
            own: own.to_string(),
            used,
        });
    }
    out.sort_by(|a, b| (b.used, &a.mount).cmp(&(a.used, &b.mount)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:40 /x /mnt/my\\040cg rw - cgroup cgroup rw,pids";

    const HYBRID_CGROUP: &str = "\
9:name=systemd:/user.slice
8:pids:/x/y
4:memory:/process_api/abc
1:cpu,cpuacct:/
0::/";

    #[test]
    fn pairs_each_hierarchy_with_its_mount() {
        let h = hierarchies(Kind::Hybrid, HYBRID_MOUNTINFO, HYBRID_CGROUP).unwrap();
        let used: Vec<_> =
            h.iter().filter(|h| h.used).map(|h| h.mount.display().to_string()).collect();
        assert_eq!(used, ["/mnt/my cg", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory"]);
        let cpu = h.iter().find(|h| h.has("cpuacct")).unwrap();
        assert!(cpu.has("cpu") && cpu.version == Version::V1);
        let unified = h.iter().find(|h| h.version == Version::V2).unwrap();
        assert!(
            !unified.used,
            "hybrid: the controllers work in v1, so the cgroup2 tree is not used"
        );
        let systemd = h.iter().find(|h| h.has("name=systemd")).unwrap();
        assert!(!systemd.used);
    }

    #[test]
    fn maps_cgroup_paths_below_the_mount_root() {
        let h = hierarchies(Kind::Hybrid, HYBRID_MOUNTINFO, HYBRID_CGROUP).unwrap();
        let pids = h.iter().find(|h| h.has("pids")).unwrap();
        assert_eq!(pids.dir_of("/x/y/c").unwrap(), Path::new("/mnt/my cg/y/c"));
        assert_eq!(pids.dir_of("/x").unwrap(), Path::new("/mnt/my cg"));
        assert!(pids.dir_of("/xy").is_err() && pids.dir_of("/z").is_err());
        let memory = h.iter().find(|h| h.has("memory")).unwrap();
        assert_eq!(memory.dir_of("/").unwrap(), Path::new("/sys/fs/cgroup/memory"));
        assert_eq!(memory.own, "/process_api/abc");
    }
}
