//! Typed errors: what was done, to what, and why it failed.

use nix::errno::Errno;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: String, source: std::io::Error },
    #[error("{what} {target}: {errno}", errno = .source.desc())]
    Sys { what: &'static str, target: String, source: Errno },
    /// Bad input, refused before anything changed.
    #[error("invalid {what} {value:?}: {why}")]
    Invalid { what: &'static str, value: String, why: String },
    #[error("no such image: {0}")]
    NoSuchImage(String),
    #[error("image reference {0:?} is ambiguous: it matches several image IDs")]
    Ambiguous(String),
    /// A tar entry that would land outside the layer, or cannot be stored.
    #[error("refusing tar entry {entry:?}: {why}")]
    UnsafeEntry { entry: String, why: String },
    #[error("corrupt store file {path}: {why}")]
    Corrupt { path: String, why: String },
}

impl Error {
    pub fn io(
        what: &'static str,
        path: impl AsRef<std::path::Path>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.as_ref().display().to_string();
        move |source| Error::Io { what, path, source }
    }

    pub fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid { what, value: value.into(), why: why.into() }
    }
}
