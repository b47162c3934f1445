//! # ns-exec: run a command in new or existing Linux namespaces
//!
//! A namespace wraps one global resource so that the processes inside see their
//! own copy of it (namespaces(7)):
//!
//! | kind   | isolates                          | `/proc/PID/ns/` | clone flag        |
//! |--------|-----------------------------------|-----------------|-------------------|
//! | user   | uids, gids, capabilities          | `user`          | `CLONE_NEWUSER`   |
//! | mount  | the mount table                   | `mnt`           | `CLONE_NEWNS`     |
//! | pid    | process ids (the first is PID 1)  | `pid`           | `CLONE_NEWPID`    |
//! | net    | interfaces, routes, ports         | `net`           | `CLONE_NEWNET`    |
//! | uts    | hostname and domain name          | `uts`           | `CLONE_NEWUTS`    |
//! | ipc    | System V IPC, POSIX queues        | `ipc`           | `CLONE_NEWIPC`    |
//! | cgroup | the root of the cgroup view       | `cgroup`        | `CLONE_NEWCGROUP` |
//! | time   | CLOCK_MONOTONIC/BOOTTIME offsets  | `time`          | `CLONE_NEWTIME`   |
//!
//! There are three system calls to know:
//!
//! - **clone(2)** with `CLONE_NEW*` flags starts a child *inside* new namespaces.
//!   This is how [`create`] works: one call, and the child is PID 1 of its new
//!   pid namespace (what `unshare --fork` achieves with unshare + fork).
//! - **unshare(2)** moves the *calling* process into new namespaces. For pid
//!   and time namespaces only the caller's future children move, which is why
//!   `unshare(1)` needs `--fork`.
//! - **setns(2)** joins an existing namespace through a file descriptor of
//!   `/proc/PID/ns/KIND` (or of a bind mount of it). This is [`join`], the
//!   `nsenter(1)` half of the tool.
//!
//! A namespace lives while a process is in it or a file keeps it: bind-mounting
//! `/proc/PID/ns/net` on a file (`--keep net=FILE`) is what `ip netns add` does.
//!
//! The tool is one process that stays outside, a *parent*, and the command
//! inside, its *child*. The parent does what the child cannot do for itself
//! (write the uid/gid maps, keep namespaces), learns whether the child's setup
//! and `execve(2)` succeeded through a close-on-exec pipe, then waits for it,
//! forwarding signals, and exits with its status (128+N for a death by signal
//! N, like a shell).

pub mod create;
pub mod error;
mod exec;
pub mod idmap;
mod init;
pub mod join;
pub mod ns;
mod wait;

pub use create::{create, CreateSpec, Propagation};
pub use error::{Error, Result, ToolError};
pub use idmap::IdMap;
pub use join::{join, JoinSpec};
pub use ns::{NsKind, NsRequest};
