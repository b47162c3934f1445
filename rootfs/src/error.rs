//! Typed errors: what was done, to what, and why it failed.

use nix::errno::Errno;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// rootfs itself failed (Docker's and env(1)'s convention).
pub const EXIT_TOOL_FAILED: i32 = 125;
/// The command exists but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed while doing `what` to `target`.
    #[error("{what} {target}: {errno}", errno = .source.desc())]
    Sys { what: &'static str, target: String, source: Errno },
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: String, source: std::io::Error },
    /// Bad input, refused before anything changed.
    #[error("invalid {what} {value:?}: {why}")]
    Invalid { what: &'static str, value: String, why: String },
    /// No file named `command` in any directory of the container's $PATH.
    #[error("exec {command:?}: executable file not found in $PATH")]
    NotInPath { command: String },
    /// execve(2) of the command failed.
    #[error("exec {command:?}: {errno}", errno = .source.desc())]
    Exec { command: String, source: Errno },
}

impl Error {
    pub fn sys(what: &'static str, target: impl std::fmt::Display, source: Errno) -> Self {
        Error::Sys { what, target: target.to_string(), source }
    }

    pub fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid { what, value: value.into(), why: why.into() }
    }

    /// 127 when the command is not found, 126 when it cannot be executed,
    /// 125 for a failure of rootfs itself.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotInPath { .. } => EXIT_NOT_FOUND,
            Error::Exec { source: Errno::ENOENT | Errno::ENOTDIR, .. } => EXIT_NOT_FOUND,
            Error::Exec { .. } => EXIT_CANNOT_EXECUTE,
            _ => EXIT_TOOL_FAILED,
        }
    }
}
