//! `--console-socket`: the container's terminal, made inside the container
//! and handed to whoever waits on a unix socket (runc's protocol; see
//! pty(7), unix(7) SCM_RIGHTS, and runc's `recvtty`).
//!
//! Why not a pty opened on the host? Its slave lives in the *host's* devpts
//! instance. The container mounts a devpts of its own, where that slave
//! has no name: ttyname(3) fails, `tty` prints "not a tty", and programs
//! that reopen their terminal by name break. So the pair is opened here,
//! from the container's own /dev/pts/ptmx, after devpts is mounted:
//!
//! 1. open the container's ptmx, unlock it (TIOCSPTLCK) and open the slave
//!    from the master with TIOCGPTPEER (no path lookup to race);
//! 2. send the master over the socket (sendmsg(2), SCM_RIGHTS); the caller
//!    copies between it and the user's terminal;
//! 3. setsid(2) and make the slave our stdin, stdout, stderr and
//!    controlling terminal (TIOCSCTTY), so the shell has job control.
//!
//! The socket is reached by its host path, so this runs before pivot_root.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::stat::Mode;
use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout, setsid};

use crate::error::{Error, Result, ToolError};
use crate::inroot;

/// A unix socket path must fit in 108 bytes (unix(7)); a longer one is
/// reached through its directory's descriptor: /proc/self/fd/N/NAME.
const SUN_PATH_MAX: usize = 107;

/// Opens the container's terminal, sends its master to `socket` and makes
/// the slave this process's controlling terminal and standard streams.
pub fn setup(root: &OwnedFd, socket: &Path) -> Result<()> {
    let ptmx = inroot::open(root, Path::new("/dev/pts/ptmx"))
        .map_err(|e| Error::sys("find", "the container's terminal", e))?;
    let stream = connect(socket).map_err(Error::io("connect to the console socket", socket))?;
    attach(&inroot::fd_path(&ptmx), stream)
}

/// Steps 1 to 3 with `ptmx` (a path to a devpts instance's ptmx) and a
/// connected console socket. `ns-exec --target --console-socket` uses it
/// too, connected before it enters the container and so can no longer
/// reach the socket's path.
pub fn attach(ptmx: &str, stream: UnixStream) -> Result<()> {
    let fail = |what: &'static str| move |e| Error::sys(what, "the container's terminal", e);
    let master = open(ptmx, OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(fail("open"))?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int; TIOCGPTPEER returns a new descriptor.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } != 0 {
        return Err(fail("unlock")(nix::errno::Errno::last()));
    }
    let raw = unsafe {
        libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY)
    };
    if raw < 0 {
        return Err(fail("open the slave of")(nix::errno::Errno::last()));
    }
    // SAFETY: the ioctl returned a descriptor that nothing else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(raw) };

    send_fd(stream, &master)?;
    drop(master);

    setsid().map_err(fail("start a session for"))?;
    for dup in [dup2_stdin::<&OwnedFd>, dup2_stdout::<&OwnedFd>, dup2_stderr::<&OwnedFd>] {
        dup(&slave).map_err(fail("make stdio"))?;
    }
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal).
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
        return Err(fail("make controlling terminal")(nix::errno::Errno::last()));
    }
    Ok(())
}

/// Sends `fd`, then waits until the receiver closes the connection: it
/// sets the window size first, so the command starts with the right one.
fn send_fd(mut stream: UnixStream, fd: &OwnedFd) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        stream.as_fd().as_raw_fd(),
        &[IoSlice::new(b"t")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| Error::sys("send the terminal to", "the console socket", e))?;
    let _ = std::io::Read::read(&mut stream, &mut [0u8; 1]);
    Ok(())
}

/// Connects to the unix socket at `path`, however long the path.
pub fn connect(path: &Path) -> std::io::Result<UnixStream> {
    via_short_path(path, |p| UnixStream::connect(p))
}

/// Calls `f` (a bind or connect) with `path`, or, when `path` is too long
/// for sun_path, with /proc/self/fd/N/NAME where N is its directory, open
/// for the duration of the call. Both ends of the console socket use it.
pub fn via_short_path<T>(
    path: &Path,
    f: impl FnOnce(&Path) -> std::io::Result<T>,
) -> std::io::Result<T> {
    if path.as_os_str().len() <= SUN_PATH_MAX {
        return f(path);
    }
    let (dir, name) =
        (path.parent().unwrap_or(Path::new("/")), path.file_name().unwrap_or_default());
    let dir = std::fs::File::open(dir)?;
    f(&Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name))
}
