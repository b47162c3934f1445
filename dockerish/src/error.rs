//! Typed errors of the front. Each says what was done, to what, and why.

use nix::errno::Errno;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// dockerish itself failed (Docker's convention for `run`).
pub const EXIT_TOOL_FAILED: i32 = 125;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: String, source: std::io::Error },
    #[error("{what} {target}: {errno}", errno = .source.desc())]
    Sys { what: &'static str, target: String, source: Errno },
    /// Bad input, refused before anything changed.
    #[error("invalid {what} {value:?}: {why}")]
    Invalid { what: &'static str, value: String, why: String },
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("container reference {0:?} is ambiguous: it matches several container IDs")]
    Ambiguous(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("corrupt state file {path}: {why}")]
    Corrupt { path: String, why: String },
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

impl Error {
    pub fn io(
        what: &'static str,
        path: impl AsRef<std::path::Path>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.as_ref().display().to_string();
        move |source| Error::Io { what, path, source }
    }

    pub fn sys(what: &'static str, target: impl std::fmt::Display, source: Errno) -> Self {
        Error::Sys { what, target: target.to_string(), source }
    }

    pub fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid { what, value: value.into(), why: why.into() }
    }
}

impl From<rootfs::Error> for Error {
    fn from(e: rootfs::Error) -> Self {
        match e {
            rootfs::Error::Invalid { what, value, why } => Error::Invalid { what, value, why },
            other => Error::Refused(other.to_string()),
        }
    }
}
