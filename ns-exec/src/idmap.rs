//! uid and gid maps of a user namespace (user_namespaces(7)).
//!
//! A new user namespace starts with no mapping: its processes run as the
//! overflow id 65534 and `execve(2)` drops every capability they had. Writing
//! `/proc/PID/uid_map` (once, whole) gives each range of ids inside a range
//! outside: the line `0 1000 1` makes uid 1000 outside appear as root inside.
//!
//! **Who writes it.** The writer must be in the parent user namespace (or be
//! the process itself, mapping only its own id), and the kernel checks its
//! capabilities there: only a privileged writer may map ranges it does not
//! own. So the *parent* writes the maps while the child waits on a pipe, and
//! the child execs only after that, still holding its capabilities.
//!
//! **setgroups.** An unprivileged writer must first write `deny` to
//! `/proc/PID/setgroups`, or the kernel refuses the gid map: otherwise a user
//! could drop a supplementary group that was denying it access to a file.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::str::FromStr;

use crate::error::{Error, Result, ToolError};

/// The kernel accepts at most this many lines in one map.
const MAX_LINES: usize = 340;

/// One line of a map: `count` ids from `inside` (in the namespace) onwards are
/// the ids from `outside` (in the parent namespace) onwards. The order is that
/// of the `/proc/PID/uid_map` columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl FromStr for IdMap {
    type Err = Error;

    /// Parses `INSIDE:OUTSIDE:COUNT`, e.g. `0:100000:65536`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("id map", s, why);
        let parts: Vec<&str> = s.split(':').collect();
        let [inside, outside, count] = parts[..] else {
            return Err(bad("expected INSIDE:OUTSIDE:COUNT"));
        };
        let num = |field: &str, v: &str| {
            v.parse::<u32>()
                .map_err(|_| bad(&format!("{field} {v:?} is not a number from 0 to 4294967295")))
        };
        let map = IdMap {
            inside: num("INSIDE", inside)?,
            outside: num("OUTSIDE", outside)?,
            count: num("COUNT", count)?,
        };
        if map.count == 0 {
            return Err(bad("COUNT must be at least 1"));
        }
        if u64::from(map.inside) + u64::from(map.count) > 1 << 32
            || u64::from(map.outside) + u64::from(map.count) > 1 << 32
        {
            return Err(bad("the range runs past 4294967295"));
        }
        Ok(map)
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.inside, self.outside, self.count)
    }
}

/// Refuses maps the kernel would refuse, with a reason it would not give
/// (it only says EINVAL): overlapping ranges, too many lines.
pub fn validate(what: &'static str, maps: &[IdMap]) -> Result<()> {
    if maps.len() > MAX_LINES {
        return Err(Error::invalid(
            what,
            format!("{} lines", maps.len()),
            format!("the kernel takes at most {MAX_LINES}"),
        ));
    }
    let overlaps = |a: u32, b: u32, n: u32, m: u32| {
        u64::from(a) < u64::from(b) + u64::from(m) && u64::from(b) < u64::from(a) + u64::from(n)
    };
    for (i, a) in maps.iter().enumerate() {
        for b in &maps[i + 1..] {
            if overlaps(a.inside, b.inside, a.count, b.count)
                || overlaps(a.outside, b.outside, a.count, b.count)
            {
                return Err(Error::invalid(what, format!("{a} / {b}"), "ranges overlap"));
            }
        }
    }
    Ok(())
}

/// Writes `maps` to `/proc/PID/{uid_map,gid_map}`, in one write(2) as the
/// kernel requires.
pub fn write_map(pid: i32, file: &'static str, maps: &[IdMap]) -> Result<()> {
    let text: String = maps.iter().map(|m| format!("{m}\n")).collect();
    write_proc(pid, file, &text)
}

/// Writes `deny` to `/proc/PID/setgroups` (see the module docs).
pub fn deny_setgroups(pid: i32) -> Result<()> {
    write_proc(pid, "setgroups", "deny")
}

fn write_proc(pid: i32, file: &'static str, text: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(Error::io("write", format!("{path} ({:?})", text.trim_end())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_inside_outside_count() {
        let m: IdMap = "0:100000:65536".parse().unwrap();
        assert_eq!(m, IdMap { inside: 0, outside: 100000, count: 65536 });
        assert_eq!(m.to_string(), "0 100000 65536");
    }

    #[test]
    fn refuses_malformed_maps() {
        for bad in ["", "0:1", "0:1:2:3", "a:1:1", "0:1:0", "-1:0:1", "4294967295:0:2"] {
            assert!(bad.parse::<IdMap>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn refuses_overlapping_ranges() {
        let a: IdMap = "0:1000:10".parse().unwrap();
        let b: IdMap = "5:5000:10".parse().unwrap();
        let c: IdMap = "100:1005:1".parse().unwrap();
        let d: IdMap = "10:2000:5".parse().unwrap();
        assert!(validate("uid map", &[a, b]).is_err());
        assert!(validate("uid map", &[a, c]).is_err());
        assert!(validate("uid map", &[a, d]).is_ok());
    }
}
