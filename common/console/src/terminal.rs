//! The container's terminal, made inside the container and handed to the
//! runtime (runc's `--console-socket` protocol).
//!
//! Why not a pty opened on the host? Its slave lives in the *host's*
//! devpts instance. The container mounts a devpts of its own, where that
//! slave has no name: ttyname(3) fails, `tty` prints "not a tty", and
//! programs that reopen their terminal by name break. So the pair is opened
//! inside, from the container's own `/dev/pts/ptmx`:
//!
//! 1. open ptmx, unlock it (TIOCSPTLCK) and open the slave from the master
//!    with TIOCGPTPEER (no path lookup to race);
//! 2. send the master over the socket (sendmsg(2), SCM_RIGHTS), then wait
//!    until the runtime closes the connection: it sets the window size
//!    first, so the command starts with the right one;
//! 3. setsid(2), make the slave stdin, stdout and stderr, and make it the
//!    controlling terminal (TIOCSCTTY), so a shell has job control and ^C
//!    reaches its foreground job.
//!
//! [`attach`] is the container's end, [`receive_master`] the runtime's.

use std::io::{IoSlice, IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::stat::Mode;
use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout, setsid};
use tool_cli::Sys;

fn sys(what: &'static str) -> impl FnOnce(Errno) -> Sys {
    move |source| Sys { what, target: "the container's terminal".into(), source }
}

/// Steps 1 to 3, with `ptmx` a path to the container's devpts `ptmx` and
/// `stream` connected to the runtime's console socket.
pub fn attach(ptmx: &str, stream: UnixStream) -> Result<(), Sys> {
    let master = open(ptmx, OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(sys("open"))?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int; TIOCGPTPEER returns a new descriptor.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } != 0 {
        return Err(sys("unlock")(Errno::last()));
    }
    let flags = libc::O_RDWR | libc::O_NOCTTY;
    let raw = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    if raw < 0 {
        return Err(sys("open the slave of")(Errno::last()));
    }
    // SAFETY: the ioctl returned a descriptor that nothing else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(raw) };
    send_master(stream, &master)?;
    drop(master);
    setsid().map_err(sys("start a session for"))?;
    for dup in [dup2_stdin::<&OwnedFd>, dup2_stdout::<&OwnedFd>, dup2_stderr::<&OwnedFd>] {
        dup(&slave).map_err(sys("make stdio"))?;
    }
    make_stdin_controlling()
}

/// Step 2: sends `master`, then waits until the runtime closes.
fn send_master(mut stream: UnixStream, master: &OwnedFd) -> Result<(), Sys> {
    let fds = [master.as_raw_fd()];
    let rights = [ControlMessage::ScmRights(&fds)];
    let socket = stream.as_fd().as_raw_fd();
    sendmsg::<()>(socket, &[IoSlice::new(b"t")], &rights, MsgFlags::empty(), None).map_err(
        |source| Sys { what: "send the terminal to", target: "the console socket".into(), source },
    )?;
    let _ = stream.read(&mut [0u8; 1]);
    Ok(())
}

/// TIOCSCTTY on stdin, which must be a terminal (tty_ioctl(4)). The caller
/// leads a new session already (setsid).
fn make_stdin_controlling() -> Result<(), Sys> {
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal).
    match unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } {
        0 => Ok(()),
        _ => Err(sys("make stdin the controlling terminal (TIOCSCTTY) of")(Errno::last())),
    }
}

/// Without a console socket: setsid(2), then stdin (already a terminal,
/// the user's) becomes the controlling terminal, as `setsid --ctty` does
/// (`ns-exec --ctty`). setsid fails in a process group leader, so call it
/// in a freshly forked child.
pub fn take_stdin_as_controlling() -> Result<(), Sys> {
    setsid().map_err(|source| Sys { what: "start", target: "a new session".into(), source })?;
    make_stdin_controlling()
}

/// The runtime's end: receives the master sent on `stream` (recvmsg(2)
/// with room for one descriptor, made close-on-exec). Closing `stream`
/// afterwards lets the container's command start.
pub fn receive_master(stream: &UnixStream) -> Result<OwnedFd, Sys> {
    let fail = |source| Sys {
        what: "receive the terminal from",
        target: "the console socket".into(),
        source,
    };
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg =
        recvmsg::<()>(stream.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
            .map_err(fail)?;
    for cmsg in msg.cmsgs().map_err(fail)? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(fail(Errno::EBADMSG))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_crosses_the_socket() {
        let (a, b) = UnixStream::pair().unwrap();
        let file = std::fs::File::open("/dev/null").unwrap();
        let sender = std::thread::spawn(move || send_master(a, &OwnedFd::from(file)));
        let received = receive_master(&b).unwrap();
        drop(b); // the sender waits for this
        sender.join().unwrap().unwrap();
        let target = std::fs::read_link(format!("/proc/self/fd/{}", received.as_raw_fd())).unwrap();
        assert_eq!(target, std::path::Path::new("/dev/null"));
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert!(receive_master(&b).is_err(), "no descriptor, no terminal");
    }
}
