//! # cgctl: control groups, by hand
//!
//! A control group (cgroups(7)) is a set of processes the kernel limits and
//! accounts for together: memory, CPU time, CPUs, processes, IO. It is a
//! directory in a cgroup filesystem; its files are the whole interface:
//!
//! ```text
//! mkdir /sys/fs/cgroup/demo                         create (cgroup v2)
//! echo 100M > /sys/fs/cgroup/demo/memory.max        limit
//! echo $$ > /sys/fs/cgroup/demo/cgroup.procs        join: this shell and its children
//! cat /sys/fs/cgroup/demo/memory.events             "oom_kill 1" once the limit bit
//! echo 1 > /sys/fs/cgroup/demo/cgroup.freeze        freeze ... and 0 to thaw
//! echo 1 > /sys/fs/cgroup/demo/cgroup.kill          kill all (Linux 5.14)
//! rmdir /sys/fs/cgroup/demo                         remove, once empty
//! ```
//!
//! What makes a tool worth having are the rules around those files, which
//! cgctl follows and its errors explain:
//!
//! - **Layouts** ([`layout`]): v2 has one hierarchy; v1 one per controller,
//!   with the same cgroup made in each; hybrid hosts have both, the
//!   controllers working in v1.
//! - **Delegation** (v2): a child gets a controller only if its parent lists
//!   it in `cgroup.subtree_control`, and only a cgroup without processes may
//!   hand controllers down ("no internal processes"); [`Cgroup::create`]
//!   enables them along the path.
//! - **v1 cpuset**: a new cpuset is empty and refuses tasks (ENOSPC) until
//!   it gets CPUs and memory nodes; cgctl copies the parent's.
//! - **Limits** ([`limits`]) in Docker's units, converted per version.
//! - **Devices** ([`devices`]): an allow-list of device nodes, v1's
//!   `devices` controller or, on v2, a BPF program cgctl builds and attaches.
//! - **Removal**: rmdir fails while a process is left; cgctl waits (or
//!   kills, race-free: `cgroup.kill`, or freeze-signal-thaw on v1).
//!
//! Kernel reference: Documentation/admin-guide/cgroup-v2.rst and
//! Documentation/admin-guide/cgroup-v1/ in the Linux sources.

pub mod cgroup;
pub mod devices;
pub mod error;
pub mod exec;
pub mod files;
pub mod flags;
pub mod layout;
pub mod limits;
pub mod path;
pub mod stats;

pub use cgroup::{Cgroup, RemoveOptions, TreeEntry};
pub use devices::DeviceRule;
pub use error::{Error, Result, ToolError};
pub use exec::{exec, ExecTarget};
pub use flags::LimitFlags;
pub use layout::{Kind, Layout};
pub use limits::Limits;
pub use path::CgroupPath;
pub use stats::Stats;
