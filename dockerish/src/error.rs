//! Typed errors of the front. Each says what was done, to what, and why.

pub use tool_cli::ToolError;
use tool_cli::{Invalid, Io, Sys};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, refused before anything changed.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Sys(#[from] Sys),
    #[error(transparent)]
    Io(#[from] Io),
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("container reference {0:?} is ambiguous: it matches several container IDs")]
    Ambiguous(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    /// A record could not be read, written or locked.
    #[error(transparent)]
    Store(#[from] json_store::Error),
    /// A tool the front runs could not be found or failed.
    #[error("{tool}: {why}")]
    Tool { tool: String, why: String },
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Image(#[from] imgtool::Error),
    #[error(transparent)]
    Cgroup(#[from] cgctl::Error),
}

/// Which exit status reports an error is the command's choice (`run` and
/// `exec` 125, the others 1, as Docker's), not the error's: see `main.rs`.
impl ToolError for Error {}

impl From<rootfs::Error> for Error {
    fn from(e: rootfs::Error) -> Self {
        match e {
            rootfs::Error::Invalid(invalid) => Error::Invalid(invalid),
            other => Error::Refused(other.to_string()),
        }
    }
}
