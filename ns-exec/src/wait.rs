//! Waiting for the command while forwarding signals to it.
//!
//! Instead of signal handlers, the signals we care about are *blocked* before
//! the child is created and then taken one at a time with sigwait(3): no code
//! runs asynchronously, and a signal that arrives at any moment stays pending
//! until we look. The child inherits the blocked mask, so it restores the
//! original one just before it execs.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{
    kill, sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal,
};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Error, Result, ToolError};

/// Signals passed on to the command: a runtime's (tool_cli's list), and
/// SIGWINCH, since the command may share our terminal.
fn forwarded() -> impl Iterator<Item = Signal> {
    tool_cli::signal::FORWARDED.into_iter().chain([Signal::SIGWINCH])
}

/// The forwarded signals and SIGCHLD, blocked, with the mask to restore.
pub(crate) struct Signals {
    waited: SigSet,
    original: SigSet,
}

impl Signals {
    /// Blocks the signals we wait for. SIGCHLD's disposition is also reset:
    /// a caller that ignored it (SIG_IGN survives execve) would make the
    /// kernel reap our children for us, and we could never read a status.
    pub(crate) fn block() -> Result<Self> {
        let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: installing SIG_DFL runs no code of ours.
        unsafe { sigaction(Signal::SIGCHLD, &dfl) }
            .map_err(|e| Error::sys("reset", "SIGCHLD disposition", e))?;
        let mut waited = SigSet::empty();
        forwarded().for_each(|s| waited.add(s));
        waited.add(Signal::SIGCHLD);
        let original = waited
            .thread_swap_mask(SigmaskHow::SIG_BLOCK)
            .map_err(|e| Error::sys("block", "signals", e))?;
        Ok(Signals { waited, original })
    }

    /// In the child, before execve: give the command the caller's mask.
    pub(crate) fn restore(&self) -> Result<()> {
        self.original.thread_set_mask().map_err(|e| Error::sys("restore", "the signal mask", e))
    }

    /// Waits until `main` ends, forwarding signals to it and reaping every
    /// other child that ends meanwhile (an init's adopted orphans). Returns
    /// `main`'s exit status as a shell reports it. `settled` runs once the
    /// first [`SETTLE`] has passed without a signal: a command that ends
    /// sooner never pays for it.
    pub(crate) fn supervise(&self, main: Pid, settled: impl FnOnce()) -> Result<i32> {
        let mut settled = Some(settled);
        let settle_at = std::time::Instant::now() + SETTLE;
        loop {
            let timeout = settled
                .is_some()
                .then(|| settle_at.saturating_duration_since(std::time::Instant::now()));
            let Some(signal) = self.next(timeout)? else {
                if let Some(f) = settled.take() {
                    f();
                }
                continue;
            };
            if signal != Signal::SIGCHLD {
                // ESRCH: it is already gone; its SIGCHLD is on the way.
                let _ = kill(main, signal);
                continue;
            }
            // SIGCHLDs coalesce: one may stand for several children.
            loop {
                match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                    Ok(status) if status.pid() == Some(main) => {
                        if let Some(code) = tool_cli::exit::of_wait(status) {
                            return Ok(code);
                        }
                    }
                    Ok(_) => {}
                    Err(Errno::EINTR) => {}
                    Err(e) => return Err(Error::sys("waitpid", "children", e)),
                }
            }
        }
    }
}

impl Signals {
    /// The next of our signals, taken from the pending set (sigwait(3));
    /// `None` if `timeout` passed first (sigtimedwait(2)).
    fn next(&self, timeout: Option<Duration>) -> Result<Option<Signal>> {
        let Some(timeout) = timeout else {
            return self.waited.wait().map(Some).map_err(|e| Error::sys("wait for", "signals", e));
        };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        loop {
            // SAFETY: a valid set and timespec; no siginfo wanted.
            let n = unsafe { libc::sigtimedwait(self.waited.as_ref(), std::ptr::null_mut(), &ts) };
            match Errno::result(n) {
                Ok(n) => {
                    return Signal::try_from(n)
                        .map(Some)
                        .map_err(|e| Error::sys("wait for", "signals", e))
                }
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::sys("wait for", "signals", e)),
            }
        }
    }
}

/// How long a command runs before [`Signals::supervise`] calls it settled.
const SETTLE: Duration = Duration::from_secs(1);

/// Waits for `pid` to end and returns its exit status (no forwarding).
pub(crate) fn wait_exit(pid: Pid) -> i32 {
    loop {
        match waitpid(pid, None) {
            Ok(status) => {
                if let Some(code) = tool_cli::exit::of_wait(status) {
                    return code;
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return tool_cli::exit::EXIT_FAILED,
        }
    }
}
