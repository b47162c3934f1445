//! Exec'ing the command, and telling the parent how that went.
//!
//! The parent must not report success (write the pidfile, return to a
//! supervisor) before it knows the command really started. The trick is a
//! pipe whose write end is close-on-exec (`O_CLOEXEC`): a successful
//! execve(2) closes it, so the parent reads end-of-file; a failure leaves the
//! child running our code, which writes what went wrong and exits.
//!
//! The message is one byte of exit status (125, 126 or 127) and the text.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{execvp, pipe2, write};

use crate::error::{Error, Result, ToolError};

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd)> {
    pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("create", "pipe", e))
}

/// Replaces this process with `argv`, looked up in `$PATH` like a shell
/// does. Returns only if execve(2) failed.
pub(crate) fn exec(argv: &[CString]) -> Error {
    let Err(errno) = execvp(&argv[0], argv);
    Error::Exec { command: argv[0].to_string_lossy().into_owned(), source: errno }
}

/// Child side: sends `err` to the parent. Best effort: if the parent is
/// gone there is nobody to tell.
pub(crate) fn report(fd: RawFd, err: &Error) {
    let mut msg = vec![err.exit_code() as u8];
    msg.extend_from_slice(err.to_string().as_bytes());
    // SAFETY: `fd` is the write end of the error pipe, open in this process.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let _ = write(fd, &msg);
}

/// Parent side: reads the pipe to end-of-file. `None` means the command was
/// exec'd; `Some` is the child's error.
pub(crate) fn read_report(read_end: OwnedFd) -> Result<Option<Error>> {
    let mut msg = Vec::new();
    File::from(read_end).read_to_end(&mut msg).map_err(Error::io("read", "the error pipe"))?;
    Ok(msg.split_first().map(|(code, text)| Error::Child {
        code: i32::from(*code),
        message: String::from_utf8_lossy(text).into_owned(),
    }))
}

/// Child side: blocks until the parent closes its end of `fd` (it has
/// finished the work the child waits for).
pub(crate) fn wait_for_parent(fd: RawFd) -> Result<()> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, &mut byte) {
            Ok(0) => return Ok(()),
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("wait for", "the parent", e)),
        }
    }
}

/// Closes a descriptor inherited from the parent that this process must not
/// hold (holding a pipe's write end would keep the reader from seeing EOF).
pub(crate) fn close_inherited(fd: &OwnedFd) {
    // SAFETY: in a child after clone/fork the OwnedFd is a copy that this
    // process never drops (it execs or exits), so closing the number is ours.
    unsafe { libc::close(fd.as_raw_fd()) };
}

/// Leaves this process at once with `code`, running no destructor or exit
/// handler: after fork(2) those belong to the parent.
pub(crate) fn exit_now(code: i32) -> ! {
    unsafe { libc::_exit(code) }
}

/// `--ctty`: a new session whose controlling terminal is stdin, so a
/// shell can do job control and ^C reaches its foreground job
/// (`console_socket::terminal`, where the runtime's console end lives too).
pub(crate) fn take_terminal() -> Result<()> {
    Ok(console_socket::terminal::take_stdin_as_controlling()?)
}
