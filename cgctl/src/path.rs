//! The names of cgroups on the command line.
//!
//! A cgroup is named by its path in the hierarchy, the way /proc/PID/cgroup
//! shows it: `/dockerish/c1` counts from the hierarchy's root; a relative
//! `tests/c1` counts from the caller's own cgroup, so a test (or a user's
//! service) can make cgroups beneath itself, inside whatever limits it runs
//! under. On a v1 host the caller may sit at a different place in each
//! hierarchy: a relative path is resolved in each one separately.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result, ToolError};
use crate::layout::Hierarchy;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupPath {
    absolute: bool,
    components: Vec<String>,
}

impl FromStr for CgroupPath {
    type Err = Error;

    /// Refuses `..` and `.` (a path must not climb out of where it points),
    /// empty names, and names the kernel would take for control files.
    fn from_str(text: &str) -> Result<CgroupPath> {
        let bad = |why: &str| Error::invalid("cgroup path", text, why);
        let absolute = text.starts_with('/');
        let components: Vec<String> =
            text.split('/').filter(|c| !c.is_empty()).map(String::from).collect();
        if !absolute && components.is_empty() {
            return Err(bad("empty; give a name relative to your cgroup, or an absolute path like /dockerish/c1"));
        }
        for c in &components {
            if c == ".." || c == "." {
                return Err(bad("'.' and '..' are not allowed: name the cgroup from the root or from your own cgroup"));
            }
            if c.chars().any(|ch| ch.is_control()) {
                return Err(bad("control characters are not allowed"));
            }
            if c.starts_with("cgroup.") || c.len() > 255 {
                return Err(bad(
                    "a cgroup name must not start with 'cgroup.' or be longer than 255 bytes",
                ));
            }
        }
        Ok(CgroupPath { absolute, components })
    }
}

impl fmt::Display for CgroupPath {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let joined = self.components.join("/");
        if self.absolute {
            write!(f, "/{joined}")
        } else {
            f.write_str(&joined)
        }
    }
}

/// Kept as its text (`/dockerish/ID`, or relative `tests/ID`).
impl serde::Serialize for CgroupPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CgroupPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl CgroupPath {
    /// The absolute cgroup path in hierarchy `h`, and the cgroup it is
    /// relative to (the root, or the caller's own cgroup), which cgctl never
    /// creates nor removes.
    pub fn resolve(&self, h: &Hierarchy) -> (String, String) {
        let base = if self.absolute { "/".to_string() } else { h.own.clone() };
        let mut full = base.trim_end_matches('/').to_string();
        for c in &self.components {
            full.push('/');
            full.push_str(c);
        }
        if full.is_empty() {
            full.push('/');
        }
        (full, base)
    }

    /// `self/child`.
    pub fn join(&self, child: &str) -> Result<CgroupPath> {
        format!("{self}/{child}").parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Version;
    use std::path::PathBuf;

    fn hierarchy(own: &str) -> Hierarchy {
        Hierarchy {
            version: Version::V2,
            controllers: vec![],
            mount: PathBuf::from("/sys/fs/cgroup"),
            mount_root: "/".into(),
            own: own.into(),
            used: true,
        }
    }

    #[test]
    fn relative_paths_count_from_the_callers_cgroup() {
        let p: CgroupPath = "t/c1".parse().unwrap();
        assert_eq!(
            p.resolve(&hierarchy("/user.slice/s")),
            ("/user.slice/s/t/c1".to_string(), "/user.slice/s".to_string())
        );
        assert_eq!(p.resolve(&hierarchy("/")).0, "/t/c1");
        let abs: CgroupPath = "/dockerish//c1/".parse().unwrap();
        assert_eq!(abs.to_string(), "/dockerish/c1");
        assert_eq!(abs.resolve(&hierarchy("/x")).0, "/dockerish/c1");
        assert_eq!("/".parse::<CgroupPath>().unwrap().resolve(&hierarchy("/x")).0, "/");
    }

    #[test]
    fn refuses_paths_that_climb_or_collide() {
        for bad in ["", "a/../b", "..", "./a", "cgroup.procs", "a/cgroup.kill", "a\nb"] {
            assert!(bad.parse::<CgroupPath>().is_err(), "{bad:?} accepted");
        }
    }
}
