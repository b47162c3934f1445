//! Docker's resource flags, as `cgctl create/set/exec` and `dockerish run`
//! take them. Each value is checked as it is parsed (a size like `12q`,
//! `--cpus 0`); [`crate::Limits::check`] then checks them against the host.

use crate::devices::default_rules;
use crate::limits::{parse_cpus, parse_list, parse_size, parse_swap, Limits};

#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
pub struct LimitFlags {
    /// Memory limit (bytes, or with a unit: 512k, 100m, 1g)
    #[arg(short = 'm', long, value_name = "SIZE", value_parser = parse_size)]
    pub memory: Option<u64>,
    /// Memory plus swap limit; -1 for unlimited swap (needs --memory)
    #[arg(long, value_name = "SIZE|-1", value_parser = parse_swap, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Memory soft limit: reclaimed down to it first under pressure
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_reservation: Option<u64>,
    /// Number of CPUs (1.5 = one and a half cores' time per period)
    #[arg(long, value_name = "N", value_parser = parse_cpus)]
    pub cpus: Option<f64>,
    /// CPU shares, relative weight (2 to 262144, default 1024)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..=262_144))]
    pub cpu_shares: Option<u64>,
    /// CPUs the processes may run on (0-3, 0,1)
    #[arg(long, value_name = "LIST", value_parser = parse_list)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the processes may allocate from (0-3, 0,1)
    #[arg(long, value_name = "LIST", value_parser = parse_list)]
    pub cpuset_mems: Option<String>,
    /// Maximum number of processes (threads included); 0 or -1 for unlimited
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO weight, relative (10 to 1000)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(10..=1000))]
    pub blkio_weight: Option<u16>,
    /// Allow only the devices a container uses (null, zero, full, random, urandom,
    /// tty, console, ptmx, pts/*; mknod of any): every other open is EPERM
    #[arg(long)]
    pub devices_default: bool,
    /// Allow a device (repeatable), as a devices.allow line: 'c 1:3 rwm', 'b 8:* r',
    /// 'a' for all; without --devices-default, only those given
    #[arg(long = "device-allow", alias = "device-cgroup-rule", value_name = "RULE")]
    pub device_allow: Vec<crate::DeviceRule>,
}

impl From<LimitFlags> for Limits {
    fn from(f: LimitFlags) -> Limits {
        Limits {
            memory: f.memory,
            memory_swap: f.memory_swap,
            memory_reservation: f.memory_reservation,
            cpus: f.cpus,
            cpu_shares: f.cpu_shares,
            cpuset_cpus: f.cpuset_cpus,
            cpuset_mems: f.cpuset_mems,
            pids_limit: f.pids_limit,
            blkio_weight: f.blkio_weight,
            devices: (f.devices_default || !f.device_allow.is_empty()).then(|| {
                let default = if f.devices_default { default_rules() } else { vec![] };
                default.into_iter().chain(f.device_allow).collect()
            }),
        }
    }
}
