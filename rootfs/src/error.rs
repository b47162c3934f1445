//! Typed errors: what was done, to what, and why it failed.

use nix::errno::Errno;
use tool_cli::exit;
pub use tool_cli::ToolError;

tool_cli::common_errors!(Error);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, a failed system call, a failed file operation.
    #[error(transparent)]
    Common(#[from] tool_cli::Error),
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
