//! Resource limits, with Docker's flag names and units, and how each one is
//! written on cgroup v2 and v1 (Documentation/admin-guide/cgroup-v2.rst and
//! cgroup-v1/*.rst in the kernel sources).
//!
//! | flag                   | cgroup v2                       | cgroup v1                                |
//! |------------------------|---------------------------------|------------------------------------------|
//! | `--memory`             | `memory.max`                    | `memory.limit_in_bytes`                  |
//! | `--memory-swap` (total)| `memory.swap.max` = total − mem | `memory.memsw.limit_in_bytes` = total    |
//! | `--memory-reservation` | `memory.low`                    | `memory.soft_limit_in_bytes`             |
//! | `--cpus`               | `cpu.max` = "quota period"      | `cpu.cfs_quota_us`, `cpu.cfs_period_us`  |
//! | `--cpu-shares`         | `cpu.weight` (converted)        | `cpu.shares`                             |
//! | `--cpuset-cpus/-mems`  | `cpuset.cpus`, `cpuset.mems`    | the same                                 |
//! | `--pids-limit`         | `pids.max`                      | `pids.max`                               |
//! | `--blkio-weight`       | `io.weight` / `io.bfq.weight`   | `blkio.weight` / `blkio.bfq.weight`      |
//!
//! Every value is checked when it is parsed (a size like `12q`, `--cpus 0`)
//! and against the host in [`Limits::check`] (a CPU the host lacks), before
//! any cgroup is created.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ToolError};
use crate::files::{read_value, write_value};
use crate::layout::{Kind, Layout};

/// The CFS period cgctl uses for `--cpus`, in microseconds (Docker's).
pub const CPU_PERIOD_US: u64 = 100_000;

/// Resource limits. Every field is optional: unset means "not changed".
/// Plain data: [`crate::LimitFlags`] is how a command line gives them, and
/// this is how a record keeps them (dockerish's container config), so the
/// field names below are an on-disk format.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Bytes of memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Bytes of memory plus swap; -1 for unlimited swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    /// Bytes of memory reclaimed down to first under pressure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<u64>,
    /// CPUs' worth of time per period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Relative CPU weight, Docker's scale (2 to 262144).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    /// A cpuset list, normalised (`0-3,5`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset_mems: Option<String>,
    /// Processes (threads included); 0 or -1 for unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// Relative block IO weight, Docker's scale (10 to 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
}

/// Docker's sizes (`100m`), as [`tool_cli::human::parse_size`] reads them.
pub fn parse_size(text: &str) -> Result<u64> {
    Ok(tool_cli::human::parse_size(text)?)
}

/// `--memory-swap`: a size, or -1 for unlimited.
pub(crate) fn parse_swap(text: &str) -> Result<i64> {
    if text.trim() == "-1" {
        return Ok(-1);
    }
    Ok(parse_size(text)? as i64)
}

/// `--cpus`: a positive decimal; the kernel's smallest CFS quota is 1 ms per
/// 100 ms period, hence 0.01. The upper bound (the host's CPUs) is checked
/// in [`Limits::check`].
pub(crate) fn parse_cpus(text: &str) -> Result<f64> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| Error::invalid("--cpus", text, "expected a decimal number like 0.5 or 2"))?;
    if !value.is_finite() || value < 0.01 {
        return Err(Error::invalid("--cpus", text, "the range is 0.01 up to the number of CPUs"));
    }
    Ok(value)
}

/// A cpuset list (`0-3,5`), normalised.
pub(crate) fn parse_list(text: &str) -> Result<String> {
    Ok(format_list(&list_members(text)?))
}

/// The members of a kernel list like `0-3,8,10-11` (cpuset(7), "List format").
pub fn list_members(text: &str) -> Result<BTreeSet<u32>> {
    let bad = || Error::invalid("cpu or node list", text, "expected numbers and ranges like 0-2,4");
    let mut set = BTreeSet::new();
    for part in text.trim().split(',') {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        let (low, high): (u32, u32) =
            (low.trim().parse().map_err(|_| bad())?, high.trim().parse().map_err(|_| bad())?);
        if low > high || high - low > 65_536 {
            return Err(bad());
        }
        set.extend(low..=high);
    }
    Ok(set)
}

fn format_list(set: &BTreeSet<u32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().expect("peeked");
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
    }
    parts.join(",")
}

/// Docker's `--cpu-shares` (2..262144, default 1024) as cgroup v2's
/// `cpu.weight` (1..10000, default 100), the conversion runc and crun use.
pub fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// Docker's `--blkio-weight` (10..1000) as v2's `io.weight` (1..10000).
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    1 + (u64::from(weight.clamp(10, 1000)) - 10) * 9999 / 990
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// Refuses what cannot work on this host or together, before anything
    /// is created.
    pub fn check(&self, layout: &Layout) -> Result<()> {
        if let Some(swap) = self.memory_swap {
            let Some(memory) = self.memory else {
                return Err(Error::invalid(
                    "--memory-swap",
                    swap.to_string(),
                    "set --memory too: the swap limit counts memory plus swap",
                ));
            };
            if swap != -1 && (swap as u64) < memory {
                return Err(Error::invalid(
                    "--memory-swap",
                    swap.to_string(),
                    format!("must be at least --memory ({memory})"),
                ));
            }
        }
        if let (Some(reservation), Some(memory)) = (self.memory_reservation, self.memory) {
            if reservation > memory {
                return Err(Error::invalid(
                    "--memory-reservation",
                    reservation.to_string(),
                    "must not be above --memory",
                ));
            }
        }
        if let Some(cpus) = self.cpus {
            let online = online("/sys/devices/system/cpu/online")?.len();
            if cpus > online as f64 {
                return Err(Error::invalid(
                    "--cpus",
                    cpus.to_string(),
                    format!("this host has {online} CPU(s)"),
                ));
            }
        }
        for (flag, list, file) in [
            ("--cpuset-cpus", &self.cpuset_cpus, "/sys/devices/system/cpu/online"),
            ("--cpuset-mems", &self.cpuset_mems, "/sys/devices/system/node/online"),
        ] {
            let Some(list) = list else { continue };
            let host = online(file)?;
            let missing: BTreeSet<u32> = list_members(list)?.difference(&host).copied().collect();
            if !missing.is_empty() {
                let host = format_list(&host);
                return Err(Error::invalid(
                    flag,
                    list.as_str(),
                    format!("this host has only {host} (see {file})"),
                ));
            }
        }
        for (what, v2, v1) in self.controllers_needed() {
            let controller = if layout.kind == Kind::Unified { v2 } else { v1 };
            if layout.with(controller).is_none() {
                return Err(Error::NoController {
                    what,
                    controller,
                    where_: "no hierarchy cgctl uses on this host has".into(),
                });
            }
        }
        Ok(())
    }

    /// (flag, v2 controller, v1 controller) for each limit that is set.
    fn controllers_needed(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let mut out = Vec::new();
        if self.memory.is_some() || self.memory_swap.is_some() || self.memory_reservation.is_some()
        {
            out.push(("--memory", "memory", "memory"));
        }
        if self.cpus.is_some() || self.cpu_shares.is_some() {
            out.push(("--cpus", "cpu", "cpu"));
        }
        if self.cpuset_cpus.is_some() || self.cpuset_mems.is_some() {
            out.push(("--cpuset-cpus", "cpuset", "cpuset"));
        }
        if self.pids_limit.is_some() {
            out.push(("--pids-limit", "pids", "pids"));
        }
        if self.blkio_weight.is_some() {
            out.push(("--blkio-weight", "io", "blkio"));
        }
        out
    }

    /// The v2 controllers these limits need.
    pub fn v2_controllers(&self) -> Vec<&'static str> {
        self.controllers_needed().iter().map(|(_, v2, _)| *v2).collect()
    }

    /// Writes the limits into the cgroup v2 directory `dir`.
    pub fn apply_v2(&self, dir: &Path) -> Result<()> {
        // cpuset first: a cgroup's other settings do not depend on it, but a
        // task placed later must find CPUs and nodes to run on.
        if let Some(cpus) = &self.cpuset_cpus {
            write_value(dir, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = &self.cpuset_mems {
            write_value(dir, "cpuset.mems", mems)?;
        }
        if let Some(memory) = self.memory {
            write_value(dir, "memory.max", memory)?;
        }
        if let Some(swap) = self.memory_swap {
            // v2 limits swap alone; Docker's flag counts memory plus swap.
            let memory = self.memory.expect("checked: --memory-swap needs --memory");
            match swap {
                -1 => write_value(dir, "memory.swap.max", "max")?,
                total => write_value(dir, "memory.swap.max", total as u64 - memory)?,
            }
        }
        if let Some(low) = self.memory_reservation {
            write_value(dir, "memory.low", low)?;
        }
        if let Some(cpus) = self.cpus {
            write_value(dir, "cpu.max", format!("{} {CPU_PERIOD_US}", quota(cpus)))?;
        }
        if let Some(shares) = self.cpu_shares {
            write_value(dir, "cpu.weight", shares_to_weight(shares))?;
        }
        if let Some(pids) = self.pids_limit {
            write_value(dir, "pids.max", pids_max(pids))?;
        }
        if let Some(weight) = self.blkio_weight {
            // io.weight comes with the io.cost model, io.bfq.weight with the
            // BFQ scheduler; either gives the proportional share.
            if dir.join("io.weight").exists() {
                write_value(dir, "io.weight", format!("default {}", blkio_to_io_weight(weight)))?;
            } else {
                write_value(dir, "io.bfq.weight", weight)?;
            }
        }
        Ok(())
    }

    /// Writes the limits on v1: `dir(controller)` is the cgroup's directory
    /// in the hierarchy that holds the controller.
    pub fn apply_v1(&self, dir: &dyn Fn(&'static str) -> Result<PathBuf>) -> Result<()> {
        if self.cpuset_cpus.is_some() || self.cpuset_mems.is_some() {
            let d = dir("cpuset")?;
            if let Some(cpus) = &self.cpuset_cpus {
                write_value(&d, "cpuset.cpus", cpus)?;
            }
            if let Some(mems) = &self.cpuset_mems {
                write_value(&d, "cpuset.mems", mems)?;
            }
        }
        if self.memory.is_some() || self.memory_reservation.is_some() {
            let d = dir("memory")?;
            if let Some(memory) = self.memory {
                // v1 keeps memsw >= memory at every moment: raising memory
                // above the current memsw limit needs memsw raised first.
                let swap_file = d.join("memory.memsw.limit_in_bytes");
                let swap_first = match (self.memory_swap, swap_file.exists()) {
                    (Some(_), true) => read_value(&d, "memory.memsw.limit_in_bytes")?
                        .parse::<u64>()
                        .is_ok_and(|cur| memory > cur),
                    _ => false,
                };
                if swap_first {
                    self.write_memsw(&d, memory)?;
                }
                write_value(&d, "memory.limit_in_bytes", memory)?;
                if !swap_first && self.memory_swap.is_some() {
                    self.write_memsw(&d, memory)?;
                }
            }
            if let Some(low) = self.memory_reservation {
                write_value(&d, "memory.soft_limit_in_bytes", low)?;
            }
        }
        if self.cpus.is_some() || self.cpu_shares.is_some() {
            let d = dir("cpu")?;
            if let Some(cpus) = self.cpus {
                write_value(&d, "cpu.cfs_period_us", CPU_PERIOD_US)?;
                write_value(&d, "cpu.cfs_quota_us", quota(cpus))?;
            }
            if let Some(shares) = self.cpu_shares {
                write_value(&d, "cpu.shares", shares)?;
            }
        }
        if let Some(pids) = self.pids_limit {
            write_value(&dir("pids")?, "pids.max", pids_max(pids))?;
        }
        if let Some(weight) = self.blkio_weight {
            let d = dir("blkio")?;
            let file =
                if d.join("blkio.weight").exists() { "blkio.weight" } else { "blkio.bfq.weight" };
            write_value(&d, file, weight)?;
        }
        Ok(())
    }

    fn write_memsw(&self, dir: &Path, memory: u64) -> Result<()> {
        match self.memory_swap {
            Some(-1) => write_value(dir, "memory.memsw.limit_in_bytes", -1),
            Some(total) => {
                write_value(dir, "memory.memsw.limit_in_bytes", (total as u64).max(memory))
            }
            None => Ok(()),
        }
    }

    /// The limits as cgctl flags, for a command line that sets them again.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut push = |flag: &str, value: Option<String>| {
            if let Some(v) = value {
                args.push(format!("{flag}={v}"));
            }
        };
        push("--memory", self.memory.map(|v| v.to_string()));
        push("--memory-swap", self.memory_swap.map(|v| v.to_string()));
        push("--memory-reservation", self.memory_reservation.map(|v| v.to_string()));
        push("--cpus", self.cpus.map(|v| v.to_string()));
        push("--cpu-shares", self.cpu_shares.map(|v| v.to_string()));
        push("--cpuset-cpus", self.cpuset_cpus.clone());
        push("--cpuset-mems", self.cpuset_mems.clone());
        push("--pids-limit", self.pids_limit.map(|v| v.to_string()));
        push("--blkio-weight", self.blkio_weight.map(|v| v.to_string()));
        args
    }
}

/// The CFS quota for `cpus` CPUs, per [`CPU_PERIOD_US`].
fn quota(cpus: f64) -> u64 {
    (cpus * CPU_PERIOD_US as f64).round() as u64
}

/// `pids.max`: Docker's 0 and -1 both mean no limit.
fn pids_max(limit: i64) -> String {
    if limit <= 0 {
        "max".into()
    } else {
        limit.to_string()
    }
}

/// The members of an `online` list in sysfs; a host without NUMA nodes in
/// sysfs has node 0.
fn online(file: &str) -> Result<BTreeSet<u32>> {
    match fs::read_to_string(file) {
        Ok(text) => list_members(&text),
        Err(_) if file.contains("/node/") => Ok(BTreeSet::from([0])),
        Err(e) => Err(Error::io("read", Path::new(file))(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_takes_minus_one() {
        assert_eq!(parse_swap("-1").unwrap(), -1);
        assert_eq!(parse_swap("1k").unwrap(), 1024);
        assert!(parse_swap("-2").is_err());
    }

    #[test]
    fn cpus_and_lists() {
        assert_eq!(parse_cpus("1.5").unwrap(), 1.5);
        assert!(
            parse_cpus("0").is_err()
                && parse_cpus("-1").is_err()
                && parse_cpus("x").is_err()
                && parse_cpus("NaN").is_err()
        );
        assert_eq!(quota(0.5), 50_000);
        assert_eq!(parse_list("3,0-1, 2").unwrap(), "0-3");
        assert_eq!(parse_list("0,2,4-5").unwrap(), "0,2,4-5");
        assert!(parse_list("1-0").is_err() && parse_list("a").is_err() && parse_list("").is_err());
    }

    #[test]
    fn docker_scales_become_v2_weights() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }

    #[test]
    fn flags_round_trip() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            limits: crate::LimitFlags,
        }
        let limits = Limits {
            memory: Some(1 << 20),
            memory_swap: Some(-1),
            cpus: Some(0.5),
            pids_limit: Some(-1),
            ..Limits::default()
        };
        let args = std::iter::once("x".to_string()).chain(limits.to_args());
        assert_eq!(Limits::from(Cli::parse_from(args).limits), limits);
    }
}
