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
    /// A blob, layer or config whose content is not what its digest says.
    #[error("{what}: digest mismatch: expected {expected}, found {found}")]
    DigestMismatch { what: String, expected: String, found: String },
    /// What went wrong, in which archive (or file) given to load or import.
    #[error("{archive}: {source}")]
    InArchive { archive: String, source: Box<Error> },
    /// The index could not be read, written or locked.
    #[error(transparent)]
    Store(#[from] json_store::Error),
}

impl Error {
    /// Ok if `found` (hex sha256) is `expected`; else the mismatch, for `what`.
    pub fn check_digest(what: impl Into<String>, expected: &str, found: &str) -> Result<(), Error> {
        match expected == found {
            true => Ok(()),
            false => Err(Error::DigestMismatch {
                what: what.into(),
                expected: format!("sha256:{expected}"),
                found: format!("sha256:{found}"),
            }),
        }
    }

    /// Says which archive (or file) this happened in.
    pub fn in_archive(self, archive: &str) -> Error {
        match self {
            Error::InArchive { .. } => self,
            other => Error::InArchive { archive: archive.into(), source: Box::new(other) },
        }
    }
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
