//! Usage statistics of a cgroup, from the same files on v2 and their v1
//! counterparts:
//!
//! | figure                | cgroup v2                   | cgroup v1                             |
//! |-----------------------|-----------------------------|---------------------------------------|
//! | memory now, peak      | memory.current, memory.peak | memory.usage_in_bytes, max_usage_…    |
//! | memory limit          | memory.max                  | memory.limit_in_bytes                 |
//! | OOM events, kills     | memory.events oom, oom_kill | memory.oom_control oom_kill           |
//! | CPU time              | cpu.stat usage/user/system  | cpuacct.usage (ns), cpuacct.stat      |
//! | throttling            | cpu.stat nr_throttled, …    | cpu.stat nr_throttled, throttled_time |
//! | processes             | pids.current, pids.max      | the same                              |

use serde::{Deserialize, Serialize};

use crate::cgroup::Cgroup;
use crate::files::{keyed, read_keyed, read_limit, read_u64};
use crate::layout::Version;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub path: String,
    pub frozen: bool,
    /// Processes in the cgroup (not its descendants).
    pub procs: usize,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub pids: Option<Pids>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub current: u64,
    /// The highest usage seen (v2 needs Linux 5.19 for memory.peak).
    pub peak: Option<u64>,
    /// The limit; `null` for none.
    pub max: Option<u64>,
    /// Times the limit was reached and reclaim failed (v2 only).
    pub oom: Option<u64>,
    /// Processes the OOM killer killed in the cgroup.
    pub oom_kill: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    pub usage_usec: u64,
    pub user_usec: u64,
    pub system_usec: u64,
    /// CFS bandwidth periods that had runnable tasks, and those of them in
    /// which the quota ran out.
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_usec: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pids {
    pub current: u64,
    pub max: Option<u64>,
}

impl Cgroup {
    /// Reads the statistics; a controller the cgroup lacks gives `null`.
    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            path: self.path.clone(),
            frozen: self.frozen(),
            procs: self.pids(false).len(),
            ..Stats::default()
        };
        for m in &self.members {
            let dir = &m.dir;
            let has = |c: &str| m.controllers.iter().any(|x| x == c);
            match m.version {
                Version::V2 => {
                    if dir.join("memory.current").exists() {
                        let events = read_keyed(dir, "memory.events");
                        stats.memory = Some(Memory {
                            current: read_u64(dir, "memory.current"),
                            peak: dir
                                .join("memory.peak")
                                .exists()
                                .then(|| read_u64(dir, "memory.peak")),
                            max: read_limit(dir, "memory.max").ok().flatten(),
                            oom: Some(keyed(&events, "oom")),
                            oom_kill: keyed(&events, "oom_kill"),
                        });
                    }
                    // cpu.stat's usage lines are always there; the
                    // throttling ones only with the cpu controller.
                    let cpu = read_keyed(dir, "cpu.stat");
                    stats.cpu = Some(Cpu {
                        usage_usec: keyed(&cpu, "usage_usec"),
                        user_usec: keyed(&cpu, "user_usec"),
                        system_usec: keyed(&cpu, "system_usec"),
                        nr_periods: keyed(&cpu, "nr_periods"),
                        nr_throttled: keyed(&cpu, "nr_throttled"),
                        throttled_usec: keyed(&cpu, "throttled_usec"),
                    });
                    if dir.join("pids.current").exists() {
                        stats.pids = Some(Pids {
                            current: read_u64(dir, "pids.current"),
                            max: read_limit(dir, "pids.max").ok().flatten(),
                        });
                    }
                }
                Version::V1 => {
                    if has("memory") {
                        stats.memory = Some(Memory {
                            current: read_u64(dir, "memory.usage_in_bytes"),
                            peak: Some(read_u64(dir, "memory.max_usage_in_bytes")),
                            max: read_limit(dir, "memory.limit_in_bytes").ok().flatten(),
                            oom: None,
                            oom_kill: keyed(&read_keyed(dir, "memory.oom_control"), "oom_kill"),
                        });
                    }
                    if has("cpuacct") {
                        // cpuacct.stat counts clock ticks (USER_HZ).
                        let tick_usec = 1_000_000 / clock_ticks();
                        let times = read_keyed(dir, "cpuacct.stat");
                        let cpu = stats.cpu.get_or_insert_with(Cpu::default);
                        cpu.usage_usec = read_u64(dir, "cpuacct.usage") / 1000;
                        cpu.user_usec = keyed(&times, "user") * tick_usec;
                        cpu.system_usec = keyed(&times, "system") * tick_usec;
                    }
                    if has("cpu") {
                        let throttling = read_keyed(dir, "cpu.stat");
                        let cpu = stats.cpu.get_or_insert_with(Cpu::default);
                        cpu.nr_periods = keyed(&throttling, "nr_periods");
                        cpu.nr_throttled = keyed(&throttling, "nr_throttled");
                        cpu.throttled_usec = keyed(&throttling, "throttled_time") / 1000;
                    }
                    if has("pids") {
                        stats.pids = Some(Pids {
                            current: read_u64(dir, "pids.current"),
                            max: read_limit(dir, "pids.max").ok().flatten(),
                        });
                    }
                }
            }
        }
        stats
    }
}

fn clock_ticks() -> u64 {
    match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        n if n > 0 => n as u64,
        _ => 100,
    }
}
