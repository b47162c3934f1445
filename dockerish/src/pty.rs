//! `-t`: a pseudo-terminal for the container (pty(7)).
//!
//! openpty(3) gives a pair: the *slave* behaves like a real terminal and
//! becomes the container's stdin, stdout and stderr (ns-exec `--ctty` makes
//! it the controlling terminal of a new session, so the shell has job
//! control and ^C reaches its foreground job); the *master* stays here. We
//! copy our input to the master and the master's output to our stdout, with
//! our own terminal in raw mode so every key (^C included) goes through
//! untouched. The window size follows ours on SIGWINCH. When the last
//! holder of the slave exits, reading the master fails with EIO: the end.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::{Child, Stdio};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::unistd::{isatty, read, write};

use crate::error::{Error, Result};
use crate::signals::{exit_code, Event, Forwarder};

pub struct Terminal {
    master: OwnedFd,
    slave: OwnedFd,
}

impl Terminal {
    /// Opens a pty pair with the size of our terminal, if we have one.
    pub fn open() -> Result<Terminal> {
        let size = window_size(std::io::stdout().as_fd()).or_else(|| window_size(std::io::stdin().as_fd()));
        let pair = openpty(size.as_ref(), None).map_err(|e| Error::sys("open", "a pseudo-terminal", e))?;
        Ok(Terminal { master: pair.master, slave: pair.slave })
    }

    /// The slave, for one of the container's standard descriptors.
    pub fn child_stdio(&self) -> Result<Stdio> {
        Ok(Stdio::from(self.slave.try_clone().map_err(Error::io("duplicate", "the pty slave"))?))
    }

    /// Copies between our stdio and the container's terminal until the
    /// container is gone; returns its exit status. `stdin` is given with -i.
    pub fn relay(self, stdin: Option<OwnedFd>, forwarder: &Forwarder, child: &mut Child) -> Result<i32> {
        let Terminal { master, slave } = self;
        drop(slave); // from now on only the container holds it
        let _raw = match &stdin {
            Some(fd) if isatty(fd.as_fd()).unwrap_or(false) => Some(RawMode::enter(fd)?),
            _ => None,
        };
        let mut stdin = stdin;
        let mut buf = [0u8; 16 * 1024];
        let mut child_gone = false;
        loop {
            let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN), PollFd::new(forwarder.as_fd(), PollFlags::POLLIN)];
            if let Some(fd) = &stdin {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
            // Once the chain has exited, give straggling output a moment,
            // then stop even if something still holds the slave open.
            let timeout = if child_gone { PollTimeout::from(100u16) } else { PollTimeout::NONE };
            match poll(&mut fds, timeout) {
                Ok(0) => break,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::sys("poll", "the terminal", e)),
            }
            let ready = |i: usize| fds.get(i).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
            let (master_ready, signal_ready, stdin_ready) = (ready(0), ready(1), ready(2));
            if signal_ready {
                for event in forwarder.handle(child) {
                    match event {
                        Event::Resize => {
                            if let Some(size) = window_size(std::io::stdout().as_fd()) {
                                set_window_size(master.as_fd(), &size);
                            }
                        }
                        Event::Child => child_gone |= child.try_wait().ok().flatten().is_some(),
                        Event::Forwarded => {}
                    }
                }
            }
            if master_ready {
                match read(master.as_fd(), &mut buf) {
                    Ok(0) | Err(Errno::EIO) => break,
                    Ok(n) => {
                        let mut out = std::io::stdout().lock();
                        out.write_all(&buf[..n]).and_then(|()| out.flush()).map_err(Error::io("write", "stdout"))?;
                    }
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    Err(e) => return Err(Error::sys("read", "the terminal", e)),
                }
            }
            if stdin_ready {
                let fd = stdin.as_ref().expect("polled only when open");
                match read(fd.as_fd(), &mut buf) {
                    Ok(0) | Err(_) => stdin = None,
                    Ok(n) => write_all(master.as_fd(), &buf[..n])?,
                }
            }
        }
        let status = child.wait().map_err(Error::io("wait for", "the container"))?;
        Ok(exit_code(status))
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        match write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            // The container closed its terminal: input has nowhere to go.
            Err(Errno::EIO) => return Ok(()),
            Err(e) => return Err(Error::sys("write", "the terminal", e)),
        }
    }
    Ok(())
}

/// TIOCGWINSZ: the size of the terminal on `fd`, if it is one.
fn window_size(fd: BorrowedFd<'_>) -> Option<libc::winsize> {
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize into `size`.
    let res = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (res == 0 && size.ws_row > 0).then_some(size)
}

/// TIOCSWINSZ on the master: the kernel sends SIGWINCH to the container's
/// foreground process group.
fn set_window_size(fd: BorrowedFd<'_>, size: &libc::winsize) {
    // SAFETY: TIOCSWINSZ reads one winsize.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, size) };
}

/// Our terminal in raw mode (termios(3) cfmakeraw) until dropped: no echo,
/// no line editing, no signals from ^C; the container's terminal does all
/// that.
struct RawMode {
    fd: OwnedFd,
    saved: Termios,
}

impl RawMode {
    fn enter(fd: &OwnedFd) -> Result<RawMode> {
        let fd = fd.try_clone().map_err(Error::io("duplicate", "stdin"))?;
        let saved = tcgetattr(&fd).map_err(|e| Error::sys("read settings of", "the terminal", e))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&fd, SetArg::TCSANOW, &raw).map_err(|e| Error::sys("set raw mode on", "the terminal", e))?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(&self.fd, SetArg::TCSAFLUSH, &self.saved);
    }
}
