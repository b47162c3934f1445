//! Exit statuses, Docker's and util-linux's, and
//! how a child's end becomes a status. (`crate::run` is the `main()` that uses them.)
//!
//! | status | meaning |
//! |---|---|
//! | 0 | done |
//! | 2 | the object named (image, cgroup, network…) does not exist, so a caller can tell "already gone" from a failure without reading messages |
//! | 125 | the tool itself failed (bad input included): Docker's and env(1)'s code |
//! | 126 | the command exists but cannot be executed |
//! | 127 | the command was not found |
//! | 128+N | the command was killed by signal N, as a shell reports it |
//!
//! Otherwise a tool that runs a command exits with the command's status.

use nix::errno::Errno;
use nix::sys::wait::WaitStatus;

/// The named object does not exist.
pub const EXIT_NO_SUCH: i32 = 2;
/// The tool itself failed.
pub const EXIT_FAILED: i32 = 125;
/// The command exists but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// The status for a failed execve(2): 127 when there is no such file (or a
/// directory on the way is not one), 126 for anything else.
pub fn of_exec_errno(errno: Errno) -> i32 {
    match errno {
        Errno::ENOENT | Errno::ENOTDIR => EXIT_NOT_FOUND,
        _ => EXIT_CANNOT_EXECUTE,
    }
}

/// 128+N for a death by signal N.
pub fn of_signal(signal: i32) -> i32 {
    128 + signal
}

/// A child's end as a shell reports it: its exit code, or 128+N.
pub fn of_status(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(of_signal)).unwrap_or(EXIT_FAILED)
}

/// The same for waitpid(2)'s answer; `None` for stops and continues, which
/// are not ends.
pub fn of_wait(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(of_signal(signal as i32)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_and_signals() {
        assert_eq!(of_exec_errno(Errno::ENOENT), 127);
        assert_eq!(of_exec_errno(Errno::EACCES), 126);
        assert_eq!(of_signal(9), 137);
        let killed = std::process::Command::new("sh").args(["-c", "kill -9 $$"]).status().unwrap();
        assert_eq!(of_status(killed), 137);
        let three = std::process::Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
        assert_eq!(of_status(three), 3);
    }
}
