//! Typed errors: what was done, to what, and why it failed.

use nix::errno::Errno;
pub use tool_cli::ToolError;
use tool_cli::{exit, Invalid, Io, Sys};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, refused before anything changed.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A system call failed.
    #[error(transparent)]
    Sys(#[from] Sys),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] Io),
    /// A path in the container could not be resolved or made there.
    #[error(transparent)]
    Path(#[from] inroot::Error),
    /// No file named `command` in any directory of the container's $PATH.
    #[error("exec {command:?}: executable file not found in $PATH")]
    NotInPath { command: String },
    /// execve(2) of the command failed.
    #[error("exec {command:?}: {errno}", errno = .source.desc())]
    Exec { command: String, source: Errno },
}

impl ToolError for Error {
    /// 127 when the command is not found, 126 when it cannot be executed,
    /// 125 for a failure of rootfs itself.
    fn exit_code(&self) -> i32 {
        match self {
            Error::NotInPath { .. } => exit::EXIT_NOT_FOUND,
            Error::Exec { source, .. } => exit::of_exec_errno(*source),
            _ => exit::EXIT_FAILED,
        }
    }
}
