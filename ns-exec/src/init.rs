//! `--init`: a tiny PID 1 (what tini and `docker run --init` provide).
//!
//! PID 1 of a pid namespace has two duties an ordinary program ignores:
//!
//! - **Reaping.** Orphans are re-parented to PID 1; when they die they stay
//!   zombies until PID 1 calls wait(2). A shell script as PID 1 never does,
//!   and the zombies fill the pid table.
//! - **Signals.** The kernel delivers to PID 1 only the signals it installed
//!   a handler for (SIGKILL and SIGSTOP from an ancestor excepted), so
//!   `docker stop`'s SIGTERM does nothing to a program that relies on the
//!   default action.
//!
//! This init forks the command, forwards signals to it, reaps every child
//! and exits with the command's status; the kernel then kills whatever is
//! left in the namespace. It is also a child subreaper (prctl(2)), so it
//! adopts orphans even when it is not PID 1.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::prctl;
use nix::unistd::{fork, ForkResult};

use crate::error::{Error, Result, ToolError};
use crate::exec::{close_inherited, exec, exit_now, report};
use crate::wait::Signals;

/// Runs `command` under this process as init; returns the command's status.
/// `error_pipe` is the write end that tells the outer parent about an exec
/// failure: the command's copy closes on exec, ours is closed here.
pub(crate) fn run(command: &[CString], signals: &Signals, error_pipe: &OwnedFd) -> Result<i32> {
    prctl::set_child_subreaper(true).map_err(|e| Error::sys("become", "child subreaper", e))?;
    // SAFETY: single-threaded; the child only restores its mask and execs.
    match unsafe { fork() }.map_err(|e| Error::sys("fork", "the command", e))? {
        ForkResult::Child => {
            let err = match signals.restore() {
                Ok(()) => exec(command),
                Err(e) => e,
            };
            report(error_pipe.as_raw_fd(), &err);
            exit_now(err.exit_code())
        }
        ForkResult::Parent { child } => {
            close_inherited(error_pipe);
            // Inside the container: its /proc is not ours to trust.
            signals.supervise(child, || {})
        }
    }
}
