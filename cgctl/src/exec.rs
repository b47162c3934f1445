//! `cgctl exec`: join a cgroup, then execve(2) the command in it, so that
//! the command and everything it starts are in the cgroup from their first
//! instruction (what `cgexec` and `systemd-run --scope` do).
//!
//! Joining is a write of our own PID to `cgroup.procs` in every hierarchy,
//! or on v1 of `0` to `tasks`, which skips a global lock and an RCU grace
//! period ([`Cgroup::add_self`]); the exec keeps the PID, and with it the
//! membership.
//! A cgroup that `exec` created for the command (`--create`) is removed
//! again when the exec fails, after we leave it: nothing stays half set up.

use std::ffi::CString;
use std::time::Duration;

use crate::cgroup::{Cgroup, RemoveOptions};
use crate::error::Error;
use crate::layout::Layout;
use crate::limits::Limits;
use crate::path::CgroupPath;

/// The cgroup `exec` runs a command in.
pub enum ExecTarget {
    /// A new cgroup, made with these limits.
    Create(CgroupPath, Limits),
    /// An existing cgroup.
    Path(CgroupPath),
    /// The cgroups process PID is in (`docker exec` joins the container's).
    Pid(i32),
}

impl ExecTarget {
    /// From `cgctl exec`'s flags: limits only with `--create` (a cgroup that
    /// exists is changed with `cgctl set`, not as a side effect of exec).
    pub fn from_flags(
        create: bool,
        limits: Limits,
        path: Option<CgroupPath>,
        pid: Option<i32>,
    ) -> Result<ExecTarget, Error> {
        match (create, path, pid) {
            (true, Some(path), None) => Ok(ExecTarget::Create(path, limits)),
            (false, _, _) if !limits.is_empty() => {
                let given = limits.to_args().join(" ");
                Err(tool_cli::ToolError::invalid(
                    "limits",
                    given,
                    "give them with --create, or use cgctl set",
                ))
            }
            (false, Some(path), None) => Ok(ExecTarget::Path(path)),
            (false, None, Some(pid)) => Ok(ExecTarget::Pid(pid)),
            _ => Err(tool_cli::ToolError::invalid(
                "cgroup",
                "",
                "give PATH (with or without --create), or --pid PID",
            )),
        }
    }
}

/// Joins `target` and execs `command` (looked up in `$PATH`). Returns only
/// on failure; a cgroup it created is removed again.
pub fn exec(target: &ExecTarget, command: &[CString]) -> Error {
    let (cgroup, created) = match join(target) {
        Ok(joined) => joined,
        Err(e) => return e,
    };
    let name = command.first().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
    let err = match command.first() {
        Some(program) => {
            let Err(errno) = nix::unistd::execvp(program, command);
            Error::Exec { command: name, source: errno }
        }
        None => tool_cli::ToolError::invalid("command", "", "no command given"),
    };
    if created {
        undo(&cgroup);
    }
    err
}

/// Leaves a cgroup this exec created, and removes it.
fn undo(cgroup: &Cgroup) {
    cgroup.leave();
    let _ = cgroup
        .remove(RemoveOptions { timeout: Duration::from_secs(1), ..RemoveOptions::default() });
}

/// The joined cgroup, and whether we made it.
fn join(target: &ExecTarget) -> Result<(Cgroup, bool), Error> {
    let (cgroup, created) = match target {
        ExecTarget::Create(path, limits) => {
            (Cgroup::create(&Layout::detect()?, path, limits)?, true)
        }
        ExecTarget::Path(path) => (Cgroup::open(&Layout::detect()?, path)?, false),
        ExecTarget::Pid(pid) => (Cgroup::of_pid(*pid)?, false),
    };
    match cgroup.add_self() {
        Ok(()) => Ok((cgroup, created)),
        Err(e) => {
            if created {
                undo(&cgroup);
            }
            Err(e)
        }
    }
}
