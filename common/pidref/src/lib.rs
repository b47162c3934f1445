//! # pidref: processes we did not start but must find again, wait for and signal
//! (a container's init, its supervisor), without ever mistaking another
//! process for them.
//!
//! A PID alone is not an identity: once a process is reaped its PID may be
//! handed to a newcomer. So a [`ProcessRef`] records the PID with the
//! process's start time and the boot it ran in, and everything that acts on
//! a process goes through a pidfd (pidfd_open(2)) opened *before* that
//! identity is checked: if the check passes, the pidfd is that very
//! process, and a signal sent through it (pidfd_send_signal(2)) or a wait
//! on it (poll(2) on the pidfd) cannot reach a later one.

pub mod pages;

use std::fs;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill as send, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use tool_cli::ToolError;

/// Why a signal was not sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] tool_cli::Error),
    /// The process has exited (or its PID now names another process).
    #[error("process {0} has exited")]
    Gone(i32),
}

tool_cli::common_errors!(Error);

impl ToolError for Error {}

/// A process we may later need to find again: its PID and the start time
/// (field 22 of /proc/PID/stat, clock ticks since boot) that tell it apart
/// from a later process with the same PID; and the boot it ran in (the
/// first 64 bits of /proc/sys/kernel/random/boot_id), since after a reboot
/// the same PID may well start at the same tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    pub pid: i32,
    pub start_time: u64,
    /// 0: not recorded (taken as this boot).
    #[serde(default)]
    pub boot: u64,
}

impl ProcessRef {
    /// The running process `pid`, if it exists.
    pub fn of(pid: i32) -> Option<ProcessRef> {
        start_time(pid).map(|start_time| ProcessRef { pid, start_time, boot: boot_id() })
    }

    /// Whether this very process still runs (and is not a zombie).
    pub fn alive(&self) -> bool {
        (self.boot == 0 || self.boot == boot_id()) && start_time(self.pid) == Some(self.start_time)
    }
}

/// This boot's ID (random(4): a UUID made at boot), its first 64 bits.
fn boot_id() -> u64 {
    static BOOT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BOOT.get_or_init(|| {
        let text = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let hex: String = text.chars().filter(char::is_ascii_hexdigit).take(16).collect();
        u64::from_str_radix(&hex, 16).unwrap_or(0)
    })
}

/// The fields of /proc/PID/stat from field 3 (state) on (proc(5)).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    Some(stat[stat.rfind(')')? + 2..].split(' ').map(String::from).collect())
}

/// Field 22 of /proc/PID/stat, or `None` if there is no such live process.
fn start_time(pid: i32) -> Option<u64> {
    let fields = stat_fields(pid)?;
    if fields.first().map(String::as_str) == Some("Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Field 4 of /proc/PID/stat: the parent's PID.
pub fn parent_pid(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Waits until every process in `procs` has exited (or `timeout`).
///
/// The pidfd is opened *before* the start time is checked: if the check
/// passes, the pidfd refers to that very process, not to a later one that
/// reused its PID. Where pidfds are not to be had (a kernel before 5.3, a
/// seccomp filter) the process is looked for in /proc every 10 ms instead.
pub fn wait_exit(procs: &[ProcessRef], timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut pidfds: Vec<OwnedFd> = Vec::new();
    let mut polled: Vec<ProcessRef> = Vec::new();
    for p in procs {
        match pidfd_open(p.pid) {
            Ok(fd) if p.alive() => pidfds.push(fd),
            Ok(_) | Err(Errno::ESRCH) => {} // gone already
            Err(_) => polled.push(*p),
        }
    }
    loop {
        polled.retain(|p| p.alive());
        if pidfds.is_empty() && polled.is_empty() {
            return true;
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return false;
        }
        let mut wait = left.unwrap_or(Duration::MAX);
        if !polled.is_empty() {
            wait = wait.min(Duration::from_millis(10));
        }
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        let mut fds: Vec<PollFd> =
            pidfds.iter().map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN)).collect();
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return false,
        }
        // A pidfd is readable once its process has exited.
        let exited: Vec<bool> =
            fds.iter().map(|p| p.revents().is_some_and(|r| !r.is_empty())).collect();
        let mut i = 0;
        pidfds.retain(|_| {
            i += 1;
            !exited[i - 1]
        });
    }
}

/// pidfd_open(2).
fn pidfd_open(pid: i32) -> nix::Result<OwnedFd> {
    // SAFETY: the syscall takes a pid and flags, and returns a new fd.
    let fd = Errno::result(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: a non-negative result is a descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Sends `signal` to `process` through a pidfd (pidfd_send_signal(2)),
/// after checking its start time: the signal cannot reach a process that
/// took over the PID in between.
pub fn signal(process: ProcessRef, signal: Signal) -> Result<()> {
    let gone = || Error::Gone(process.pid);
    let fd = match pidfd_open(process.pid) {
        Ok(fd) => fd,
        Err(Errno::ESRCH) => return Err(gone()),
        // No pidfds here: the plain kill(2), checked just before.
        Err(_) if process.alive() => {
            return send(Pid::from_raw(process.pid), signal)
                .map_err(|e| Error::sys("signal", process.pid, e))
        }
        Err(_) => return Err(gone()),
    };
    if !process.alive() {
        return Err(gone());
    }
    // SAFETY: a pidfd we own, a signal number, no siginfo, no flags.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<u8>(),
            0,
        )
    };
    Errno::result(sent).map(drop).map_err(|e| Error::sys("signal", process.pid, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_tells_a_live_process_from_a_reused_pid() {
        let me = ProcessRef::of(std::process::id() as i32).expect("we run");
        assert!(me.alive());
        let stale = ProcessRef { start_time: me.start_time + 1, ..me };
        assert!(!stale.alive());
        let other_boot = ProcessRef { boot: me.boot ^ 1, ..me };
        assert!(!other_boot.alive(), "the same PID and start time in another boot");
        assert!(ProcessRef::of(i32::MAX).is_none());
    }

    #[test]
    fn wait_exit_sees_a_child_end() {
        let mut child = std::process::Command::new("sleep").arg("0.2").spawn().unwrap();
        let me = ProcessRef::of(child.id() as i32).unwrap();
        assert!(!wait_exit(&[me], Some(Duration::from_millis(10))));
        // A zombie counts as exited: the pidfd is readable before the reap.
        assert!(wait_exit(&[me], Some(Duration::from_secs(5))));
        child.wait().unwrap();
        assert!(wait_exit(&[me], Some(Duration::ZERO)), "a process that is gone needs no waiting");
    }
}
