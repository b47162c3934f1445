//! Typed errors: what was done, to what, and why it failed.

use tool_cli::exit;
pub use tool_cli::ToolError;

tool_cli::common_errors!(Error);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, a failed system call, a failed file operation.
    #[error(transparent)]
    Common(#[from] tool_cli::Error),
    #[error("no such image: {0}")]
    NoSuchImage(String),
    #[error("image reference {0:?} is ambiguous: it matches several image IDs")]
    Ambiguous(String),
    /// A tar entry that would land outside the layer, or cannot be stored.
    #[error("refusing tar entry {entry:?}: {why}")]
    UnsafeEntry { entry: String, why: String },
    /// The index could not be read, written or locked.
    #[error(transparent)]
    Store(#[from] json_store::Error),
}

impl ToolError for Error {
    /// 2 when the named image does not exist (so callers can tell it from a
    /// failure without parsing messages), 125 for every failure.
    fn exit_code(&self) -> i32 {
        match self {
            Error::NoSuchImage(_) => exit::EXIT_NO_SUCH,
            _ => exit::EXIT_FAILED,
        }
    }
}
