//! Typed errors. Each one says what was done, to what, and why it failed, so
//! `main` can print `ns-exec: <error>` and exit with its status
//! ([`ToolError::exit_code`]).

use nix::errno::Errno;
use tool_cli::exit;
pub use tool_cli::ToolError;

tool_cli::common_errors!(Error);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, a failed system call, a failed file operation.
    #[error(transparent)]
    Common(#[from] tool_cli::Error),
    /// The pidfile could not be written.
    #[error(transparent)]
    Store(#[from] json_store::Error),
    /// `--userspec` names a user or group the target's files lack: the
    /// command cannot be run as asked (126, as `docker exec -u` reports it).
    #[error(transparent)]
    NoSuchUser(tool_cli::Invalid),
    /// `execve(2)` of the command failed.
    #[error("exec {command:?}: {errno}", errno = .source.desc())]
    Exec { command: String, source: Errno },
    /// The child failed before or at exec and told the parent through the
    /// error pipe; `code` is the status it exited with.
    #[error("{message}")]
    Child { code: i32, message: String },
}

impl ToolError for Error {
    /// 127 when the command does not exist, 126 when it cannot be executed,
    /// the child's own status for its reports, 125 for everything else.
    fn exit_code(&self) -> i32 {
        match self {
            Error::Exec { source, .. } => exit::of_exec_errno(*source),
            Error::Child { code, .. } => *code,
            Error::NoSuchUser(_) => exit::EXIT_CANNOT_EXECUTE,
            _ => exit::EXIT_FAILED,
        }
    }
}
