//! `--ulimit NAME=SOFT[:HARD]`: resource limits of the container's
//! processes (setrlimit(2), getrlimit(2)), with Docker's names and syntax
//! (`nofile=1024:4096`, `core=0`, `-1` or `unlimited` for no limit).
//!
//! Anyone may lower a limit or move the soft one up to the hard one; only
//! CAP_SYS_RESOURCE raises a hard limit. [`Rlimit::check`] refuses a hard
//! limit above the caller's when the caller lacks it, with a message that
//! says both numbers, before anything is made: otherwise the container
//! would fail at its exec with a bare EPERM. (This workplace's hosts cap
//! nofile at 20000 and keep CAP_SYS_RESOURCE out of the bounding set.)
//! The limits are set first of all at the exec end, while CAP_SYS_RESOURCE
//! may still be held, and they are inherited by everything the command
//! starts.

use std::fmt;
use std::str::FromStr;

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
use tool_cli::error::invalid;
use tool_cli::{Invalid, Sys};

/// Docker's names for the resources.
const NAMES: [(&str, Resource); 16] = [
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

/// One limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub name: &'static str,
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
}

fn number(text: &str) -> Option<u64> {
    match text {
        "-1" | "unlimited" => Some(RLIM_INFINITY),
        _ => text.parse().ok(),
    }
}

fn shown(value: u64) -> String {
    if value == RLIM_INFINITY {
        "unlimited".into()
    } else {
        value.to_string()
    }
}

impl FromStr for Rlimit {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        let (name, values) = text
            .split_once('=')
            .ok_or_else(|| invalid("ulimit", text, "expected NAME=SOFT[:HARD]"))?;
        let Some(&(name, resource)) = NAMES.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
            return Err(invalid(
                "ulimit",
                text,
                format!("unknown name; one of {}", names.join(" ")),
            ));
        };
        let (soft, hard) = values.split_once(':').unwrap_or((values, values));
        let (Some(soft), Some(hard)) = (number(soft), number(hard)) else {
            return Err(invalid("ulimit", text, "SOFT and HARD are numbers, or -1 for unlimited"));
        };
        if soft > hard {
            return Err(invalid("ulimit", text, "the soft limit must not be above the hard one"));
        }
        Ok(Rlimit { name, resource, soft, hard })
    }
}

impl fmt::Display for Rlimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = |v: u64| if v == RLIM_INFINITY { "-1".to_string() } else { v.to_string() };
        write!(f, "{}={}:{}", self.name, value(self.soft), value(self.hard))
    }
}

impl Rlimit {
    /// Refuses a hard limit above the caller's unless the caller holds
    /// CAP_SYS_RESOURCE (in its effective set).
    pub fn check(&self) -> Result<(), Invalid> {
        let (_, current) = getrlimit(self.resource)
            .map_err(|e| invalid("ulimit", self.to_string(), format!("getrlimit: {}", e.desc())))?;
        if self.hard > current && !has_sys_resource() {
            return Err(invalid(
                "ulimit",
                self.to_string(),
                format!(
                    "the hard limit {} is above this caller's {} for {}, and raising it needs \
                     CAP_SYS_RESOURCE, which this process does not hold",
                    shown(self.hard),
                    shown(current),
                    self.name
                ),
            ));
        }
        Ok(())
    }

    pub fn apply(&self) -> Result<(), Sys> {
        setrlimit(self.resource, self.soft, self.hard)
            .map_err(|e| Sys::new("set resource limit", self, e))
    }
}

/// Whether CAP_SYS_RESOURCE is in our effective set (/proc/self/status's
/// CapEff, proc(5)).
fn has_sys_resource() -> bool {
    const CAP_SYS_RESOURCE: u32 = 24;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("CapEff:"))?;
            u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
        })
        .is_some_and(|eff| eff & (1 << CAP_SYS_RESOURCE) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_syntax() {
        let r: Rlimit = "nofile=1024:2048".parse().unwrap();
        assert_eq!((r.resource, r.soft, r.hard), (Resource::RLIMIT_NOFILE, 1024, 2048));
        assert_eq!(r.to_string().parse::<Rlimit>().unwrap(), r);
        let core: Rlimit = "core=-1".parse().unwrap();
        assert_eq!((core.soft, core.hard), (RLIM_INFINITY, RLIM_INFINITY));
        assert_eq!(core.to_string(), "core=-1:-1");
        assert_eq!("nproc=10".parse::<Rlimit>().unwrap().hard, 10);
        for bad in ["nofile", "files=1", "nofile=2:1", "nofile=x", "nofile=1:y"] {
            assert!(bad.parse::<Rlimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_hard_limit_above_ours_is_refused_without_cap_sys_resource() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let below: Rlimit = format!("nofile=64:{hard}").parse().unwrap();
        assert!(below.check().is_ok());
        if hard != RLIM_INFINITY && !has_sys_resource() {
            let above: Rlimit = format!("nofile=64:{}", hard + 1).parse().unwrap();
            let err = above.check().unwrap_err().to_string();
            assert!(err.contains(&hard.to_string()) && err.contains("CAP_SYS_RESOURCE"), "{err}");
        }
    }
}
