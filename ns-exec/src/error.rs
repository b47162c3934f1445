//! Typed errors. Each one says what was done, to what, and why it failed, so
//! `main` can print `ns-exec: <error>` and exit with [`Error::exit_code`].

use nix::errno::Errno;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit status when ns-exec itself fails (Docker and `env(1)` use 125 too).
pub const EXIT_TOOL_FAILED: i32 = 125;
/// Exit status when the command exists but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit status when the command is not found.
pub const EXIT_NOT_FOUND: i32 = 127;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed: `what` was being done to `target`.
    #[error("{what} {target}: {errno}", errno = .source.desc())]
    Sys { what: &'static str, target: String, source: Errno },
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: String, source: std::io::Error },
    /// Bad input, refused before anything changed.
    #[error("invalid {what} {value:?}: {why}")]
    Invalid { what: &'static str, value: String, why: String },
    /// `execve(2)` of the command failed.
    #[error("exec {command:?}: {errno}", errno = .source.desc())]
    Exec { command: String, source: Errno },
    /// The command's terminal could not be set up (`rootfs::console`).
    #[error("terminal: {0}")]
    Terminal(String),
    /// The child failed before or at exec and told the parent through the
    /// error pipe; `code` is the status it exited with.
    #[error("{message}")]
    Child { code: i32, message: String },
}

impl Error {
    pub fn sys(what: &'static str, target: impl std::fmt::Display, source: Errno) -> Self {
        Error::Sys { what, target: target.to_string(), source }
    }

    pub fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid { what, value: value.into(), why: why.into() }
    }

    /// The exit status that reports this error: 127 when the command does not
    /// exist, 126 when it cannot be executed, 125 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Exec { source, .. } => match source {
                Errno::ENOENT | Errno::ENOTDIR => EXIT_NOT_FOUND,
                _ => EXIT_CANNOT_EXECUTE,
            },
            Error::Child { code, .. } => *code,
            _ => EXIT_TOOL_FAILED,
        }
    }
}
