//! Passing signals on to the container while waiting for it, like
//! `docker run`'s sig-proxy.
//!
//! The signals are blocked and read from a signalfd(2), so the wait loop is
//! an ordinary poll(2) loop that can also serve a terminal. The mask is
//! inherited across fork and execve, and std's Command does not reset it:
//! [`Forwarder::unblock_in_child`] must be set on every child, or the
//! container's processes would start deaf to ^C and `kill`.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::process::Child;

use console_socket::Listener;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use tool_cli::signal::FORWARDED;

use crate::error::{Error, Result, ToolError};

pub struct Forwarder {
    fd: SignalFd,
}

/// What a signal read from the signalfd asks of the wait loop.
pub enum Event {
    /// A child changed state: see whether ours has ended.
    Child,
    /// The terminal was resized.
    Resize,
    /// Another signal, already passed on to the child.
    Forwarded,
}

impl Forwarder {
    pub fn new() -> Result<Forwarder> {
        let mut set = SigSet::empty();
        FORWARDED.iter().for_each(|s| set.add(*s));
        set.add(Signal::SIGCHLD);
        set.add(Signal::SIGWINCH);
        set.thread_block().map_err(|e| Error::sys("block", "signals", e))?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| Error::sys("create", "a signalfd", e))?;
        Ok(Forwarder { fd })
    }

    /// Makes `cmd`'s child start with an empty signal mask and the
    /// default action for the signals we forward: a shell starts
    /// `dockerish … &` with SIGINT and SIGQUIT ignored, and an ignored
    /// signal stays ignored across execve(2), into the container.
    pub fn unblock_in_child(cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls are
        // allowed; sigprocmask(2) and signal(2) are, and allocate nothing.
        unsafe {
            cmd.pre_exec(|| {
                for signal in FORWARDED {
                    libc::signal(signal as libc::c_int, libc::SIG_DFL);
                }
                SigSet::empty().thread_set_mask().map_err(std::io::Error::from)
            });
        }
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads the pending signals, forwarding those meant for `child`.
    pub fn handle(&self, child: &Child) -> Vec<Event> {
        let mut events = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else { continue };
            events.push(match signal {
                Signal::SIGCHLD => Event::Child,
                Signal::SIGWINCH => Event::Resize,
                other => {
                    let _ = kill(Pid::from_raw(child.id() as i32), other);
                    Event::Forwarded
                }
            });
        }
        events
    }

    /// Accepts one connection on `listener`, forwarding signals to `child`
    /// meanwhile; `None` if the child exits first.
    pub fn accept(&self, listener: &Listener, child: &mut Child) -> Result<Option<UnixStream>> {
        let path = listener.path();
        loop {
            if let Some(stream) = listener.accept().map_err(Error::io("accept on", path))? {
                return Ok(Some(stream));
            }
            if child.try_wait().map_err(Error::io("wait for", "the container"))?.is_some() {
                return Ok(None);
            }
            let mut fds = [
                PollFd::new(listener.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::sys("poll", path.display(), e)),
            }
            self.handle(child);
        }
    }

    /// Waits for `child`, forwarding signals; returns its exit status as a
    /// shell reports it.
    pub fn wait(&self, child: &mut Child) -> Result<i32> {
        loop {
            if let Some(status) =
                child.try_wait().map_err(Error::io("wait for", "the container"))?
            {
                return Ok(tool_cli::exit::of_status(status));
            }
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(Error::sys("poll", "signals", e)),
            }
            self.handle(child);
        }
    }
}
