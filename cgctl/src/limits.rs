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
//! | `--device-allow`       | a BPF program ([`crate::devices`]) | `devices.deny`, `devices.allow`       |
//!
//! Every value is checked when it is parsed (a size like `12q`, `--cpus 0`)
//! and against the host in [`Limits::check`] (a CPU the host lacks), before
//! any cgroup is created.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::devices::{self, DeviceRule};
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
    /// The devices that may be opened or made, all others refused; `None`
    /// leaves the parent's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceRule>>,
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
    /// Takes every limit `changes` sets, keeping the others (`docker update`).
    pub fn overlay(&mut self, changes: &Limits) {
        fn take<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        take(&mut self.memory, &changes.memory);
        take(&mut self.memory_swap, &changes.memory_swap);
        take(&mut self.memory_reservation, &changes.memory_reservation);
        take(&mut self.cpus, &changes.cpus);
        take(&mut self.cpu_shares, &changes.cpu_shares);
        take(&mut self.cpuset_cpus, &changes.cpuset_cpus);
        take(&mut self.cpuset_mems, &changes.cpuset_mems);
        take(&mut self.pids_limit, &changes.pids_limit);
        take(&mut self.blkio_weight, &changes.blkio_weight);
        take(&mut self.devices, &changes.devices);
    }

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
        if self.devices.is_some()
            && layout.kind != Kind::Unified
            && layout.with("devices").is_none()
        {
            return Err(Error::NoController {
                what: "--device-allow",
                controller: "devices",
                where_: "no v1 hierarchy of this host has (v2 needs none: a BPF program)".into(),
            });
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

    /// The writes that set these limits on cgroup v2, in order. `io_weight`:
    /// whether the cgroup has `io.weight` (the io.cost model) rather than
    /// only `io.bfq.weight` (the BFQ scheduler's).
    pub fn v2_writes(&self, io_weight: bool) -> Vec<ControlWrite> {
        let mut w = Writes::default();
        // cpuset first: a cgroup's other settings do not depend on it, but a
        // task placed later must find CPUs and nodes to run on.
        w.push_opt("cpuset", "cpuset.cpus", self.cpuset_cpus.as_ref());
        w.push_opt("cpuset", "cpuset.mems", self.cpuset_mems.as_ref());
        w.push_opt("memory", "memory.max", self.memory);
        if let (Some(swap), Some(memory)) = (self.memory_swap, self.memory) {
            // v2 limits swap alone; Docker's flag counts memory plus swap.
            let swap_only =
                if swap == -1 { "max".to_string() } else { (swap as u64 - memory).to_string() };
            w.push("memory", "memory.swap.max", swap_only);
        }
        w.push_opt("memory", "memory.low", self.memory_reservation);
        w.push_opt("cpu", "cpu.max", self.cpus.map(|c| format!("{} {CPU_PERIOD_US}", quota(c))));
        w.push_opt("cpu", "cpu.weight", self.cpu_shares.map(shares_to_weight));
        w.push_opt("pids", "pids.max", self.pids_limit.map(pids_max));
        if let Some(weight) = self.blkio_weight {
            match io_weight {
                true => {
                    w.push("io", "io.weight", format!("default {}", blkio_to_io_weight(weight)))
                }
                false => w.push("io", "io.bfq.weight", weight),
            }
        }
        w.0
    }

    /// The writes that set these limits on cgroup v1, in order.
    /// `memsw_now`: the cgroup's current `memory.memsw.limit_in_bytes`, if
    /// it has swap accounting; `blkio_weight`: whether it has `blkio.weight`
    /// (CFQ) rather than `blkio.bfq.weight`.
    pub fn v1_writes(&self, memsw_now: Option<u64>, blkio_weight: bool) -> Vec<ControlWrite> {
        let mut w = Writes::default();
        w.push_opt("cpuset", "cpuset.cpus", self.cpuset_cpus.as_ref());
        w.push_opt("cpuset", "cpuset.mems", self.cpuset_mems.as_ref());
        if let Some(memory) = self.memory {
            let memsw = self.memory_swap.map(|total| match total {
                -1 => "-1".to_string(),
                total => (total as u64).max(memory).to_string(),
            });
            // v1 keeps memsw >= memory at every moment (the kernel refuses a
            // write that breaks it, EINVAL): raising memory above the current
            // memsw limit needs memsw raised first; otherwise memory first,
            // so that a lower memsw does not fall below the old memory.
            let swap_first = memsw.is_some() && memsw_now.is_some_and(|now| memory > now);
            if swap_first {
                w.push_opt("memory", "memory.memsw.limit_in_bytes", memsw.as_ref());
            }
            w.push("memory", "memory.limit_in_bytes", memory);
            if !swap_first {
                w.push_opt("memory", "memory.memsw.limit_in_bytes", memsw.as_ref());
            }
        }
        w.push_opt("memory", "memory.soft_limit_in_bytes", self.memory_reservation);
        if let Some(cpus) = self.cpus {
            w.push("cpu", "cpu.cfs_period_us", CPU_PERIOD_US);
            w.push("cpu", "cpu.cfs_quota_us", quota(cpus));
        }
        w.push_opt("cpu", "cpu.shares", self.cpu_shares);
        w.push_opt("pids", "pids.max", self.pids_limit.map(pids_max));
        let blkio_file = if blkio_weight { "blkio.weight" } else { "blkio.bfq.weight" };
        w.push_opt("blkio", blkio_file, self.blkio_weight);
        for (file, value) in self.devices.as_deref().map(devices::v1_values).unwrap_or_default() {
            w.push("devices", file, value);
        }
        w.0
    }

    /// A `--blkio-weight` needs a weight file in `dir`: the io.cost model's
    /// or the BFQ scheduler's. A kernel without either (disks on `none` or
    /// `mq-deadline`) has nowhere to put it: refused before anything is
    /// written (Docker discards it with a warning).
    fn check_weight(&self, dir: &Path, files: [&str; 2]) -> Result<()> {
        match self.blkio_weight {
            Some(weight) if !files.iter().any(|f| dir.join(f).exists()) => Err(Error::invalid(
                "--blkio-weight",
                weight.to_string(),
                format!(
                    "this kernel offers no IO weight in {} (no {} or {}: no BFQ scheduler, no io.cost)",
                    dir.display(),
                    files[0],
                    files[1]
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Writes the limits into the cgroup v2 directory `dir`.
    pub fn apply_v2(&self, dir: &Path) -> Result<()> {
        self.check_weight(dir, ["io.weight", "io.bfq.weight"])?;
        for w in self.v2_writes(dir.join("io.weight").exists()) {
            write_value(dir, w.file, w.value)?;
        }
        match &self.devices {
            Some(rules) => devices::attach_v2(dir, rules),
            None => Ok(()),
        }
    }

    /// Writes the limits on v1: `dir(controller)` is the cgroup's directory
    /// in the hierarchy that holds the controller.
    pub fn apply_v1(&self, dir: &dyn Fn(&'static str) -> Result<PathBuf>) -> Result<()> {
        let memsw_now = match (self.memory, self.memory_swap) {
            (Some(_), Some(_)) => {
                let d = dir("memory")?;
                match d.join("memory.memsw.limit_in_bytes").exists() {
                    true => read_value(&d, "memory.memsw.limit_in_bytes")?.parse().ok(),
                    false => None,
                }
            }
            _ => None,
        };
        if self.blkio_weight.is_some() {
            self.check_weight(&dir("blkio")?, ["blkio.weight", "blkio.bfq.weight"])?;
        }
        let blkio_weight =
            self.blkio_weight.is_some() && dir("blkio")?.join("blkio.weight").exists();
        for w in self.v1_writes(memsw_now, blkio_weight) {
            write_value(&dir(w.controller)?, w.file, w.value)?;
        }
        Ok(())
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
        if let Some(rules) = &self.devices {
            let default = devices::default_rules();
            let rest = match rules.starts_with(&default) {
                true => {
                    args.push("--devices-default".into());
                    &rules[default.len()..]
                }
                false => &rules[..],
            };
            args.extend(rest.iter().map(|r| format!("--device-allow={r}")));
        }
        args
    }
}

/// One write of a value into a control file of the cgroup's directory in
/// the hierarchy of `controller` (on v2, the one directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlWrite {
    pub controller: &'static str,
    pub file: &'static str,
    pub value: String,
}

#[derive(Default)]
struct Writes(Vec<ControlWrite>);

impl Writes {
    fn push(
        &mut self,
        controller: &'static str,
        file: &'static str,
        value: impl std::fmt::Display,
    ) {
        self.0.push(ControlWrite { controller, file, value: value.to_string() });
    }

    fn push_opt(
        &mut self,
        controller: &'static str,
        file: &'static str,
        value: Option<impl std::fmt::Display>,
    ) {
        if let Some(v) = value {
            self.push(controller, file, v);
        }
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
        let kmsg: crate::DeviceRule = "c 1:11 r".parse().unwrap();
        for devices in
            [crate::devices::default_rules().into_iter().chain([kmsg]).collect(), vec![kmsg]]
        {
            let limits = Limits { devices: Some(devices), ..Limits::default() };
            let args: Vec<String> =
                std::iter::once("x".to_string()).chain(limits.to_args()).collect();
            assert_eq!(Limits::from(Cli::parse_from(&args).limits), limits, "{args:?}");
        }
    }

    fn read(dir: &Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    fn all() -> Limits {
        Limits {
            memory: Some(64 << 20),
            memory_swap: Some(96 << 20),
            memory_reservation: Some(32 << 20),
            cpus: Some(1.5),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0-1".into()),
            cpuset_mems: Some("0".into()),
            pids_limit: Some(-1),
            blkio_weight: Some(500),
            devices: None,
        }
    }

    #[test]
    fn v2_files_get_docker_values_converted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("io.weight"), "default 100\n").unwrap();
        all().apply_v2(dir.path()).unwrap();
        for (file, value) in [
            ("memory.max", "67108864"),
            ("memory.swap.max", "33554432"),
            ("memory.low", "33554432"),
            ("cpu.max", "150000 100000"),
            ("cpu.weight", "20"),
            ("cpuset.cpus", "0-1"),
            ("cpuset.mems", "0"),
            ("pids.max", "max"),
            ("io.weight", "default 4950"),
        ] {
            assert_eq!(read(dir.path(), file), value, "{file}");
        }
        let weight = Limits { blkio_weight: Some(500), ..Limits::default() };
        let bfq = tempfile::tempdir().unwrap();
        let err = weight.apply_v2(bfq.path()).unwrap_err().to_string();
        assert!(err.contains("no IO weight"), "neither file: refused, {err}");
        std::fs::write(bfq.path().join("io.bfq.weight"), "100").unwrap();
        weight.apply_v2(bfq.path()).unwrap();
        assert_eq!(read(bfq.path(), "io.bfq.weight"), "500", "no io.weight: BFQ's file");
        let unlimited =
            Limits { memory: Some(1 << 20), memory_swap: Some(-1), ..Limits::default() };
        assert!(unlimited
            .v2_writes(false)
            .iter()
            .any(|w| w.file == "memory.swap.max" && w.value == "max"));
        assert!(Limits::default().v2_writes(true).is_empty(), "nothing set, nothing written");
    }

    #[test]
    fn v1_files_land_in_each_controllers_hierarchy() {
        let root = tempfile::tempdir().unwrap();
        for c in ["cpuset", "memory", "cpu", "pids", "blkio"] {
            std::fs::create_dir(root.path().join(c)).unwrap();
        }
        std::fs::write(
            root.path().join("memory/memory.memsw.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        std::fs::write(root.path().join("blkio/blkio.weight"), "100\n").unwrap();
        let dir = |c: &'static str| Ok(root.path().join(c));
        all().apply_v1(&dir).unwrap();
        let at = |c: &str, f: &str| read(&root.path().join(c), f);
        assert_eq!(at("memory", "memory.limit_in_bytes"), "67108864");
        assert_eq!(
            at("memory", "memory.memsw.limit_in_bytes"),
            "100663296",
            "v1 counts memory plus swap"
        );
        assert_eq!(at("memory", "memory.soft_limit_in_bytes"), "33554432");
        assert_eq!(at("cpu", "cpu.cfs_quota_us"), "150000");
        assert_eq!(at("cpu", "cpu.cfs_period_us"), "100000");
        assert_eq!(at("cpu", "cpu.shares"), "512");
        assert_eq!(at("cpuset", "cpuset.cpus"), "0-1");
        assert_eq!(at("pids", "pids.max"), "max");
        assert_eq!(at("blkio", "blkio.weight"), "500");
    }

    #[test]
    fn v1_memsw_is_written_in_the_order_the_kernel_accepts() {
        let files = |writes: Vec<ControlWrite>| -> Vec<&'static str> {
            writes.into_iter().filter(|w| w.file.starts_with("memory.")).map(|w| w.file).collect()
        };
        let limits =
            Limits { memory: Some(200 << 20), memory_swap: Some(300 << 20), ..Limits::default() };
        // Raising memory above the current memsw (100m): memsw first.
        assert_eq!(
            files(limits.v1_writes(Some(100 << 20), false)),
            ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
        );
        // Below the current memsw (unlimited, a new cgroup): memory first.
        assert_eq!(
            files(limits.v1_writes(Some(u64::MAX >> 1), false)),
            ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
        );
        // No swap accounting on this host: memory alone is written.
        let memory_only = Limits { memory: Some(1 << 20), ..Limits::default() };
        assert_eq!(files(memory_only.v1_writes(None, false)), ["memory.limit_in_bytes"]);
        let unlimited =
            Limits { memory: Some(1 << 20), memory_swap: Some(-1), ..Limits::default() };
        let memsw = unlimited
            .v1_writes(None, false)
            .into_iter()
            .find(|w| w.file.contains("memsw"))
            .unwrap();
        assert_eq!(memsw.value, "-1");
    }
}
