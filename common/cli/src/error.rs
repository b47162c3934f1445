//! The errors every tool has, with one message format:
//! `what was done to what: why`.
//!
//! A tool's own error enum holds these three as one variant,
//! `#[error(transparent)] Common(#[from] tool_cli::Error)`, next to the
//! errors only it has; `tool_cli::common_errors!(Error)` lets `?` take the
//! three directly, and implementing [`ToolError`] gives the constructors
//! and says which exit status each error means.

use std::fmt::Display;
use std::path::Path;

use nix::errno::Errno;

use crate::exit::EXIT_FAILED;

/// Bad input, refused before anything changed: `invalid size "12q": …`.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what} {value:?}: {why}")]
pub struct Invalid {
    /// What kind of value: "size", "hostname", "volume", …
    pub what: &'static str,
    /// The value as it was given.
    pub value: String,
    /// Why it is refused, and if possible what would be accepted.
    pub why: String,
}

/// A system call failed: `what` was being done to `target`.
#[derive(Debug, thiserror::Error)]
#[error("{what} {target}: {errno}", errno = .source.desc())]
pub struct Sys {
    pub what: &'static str,
    pub target: String,
    pub source: Errno,
}

impl Sys {
    pub fn new(what: &'static str, target: impl Display, source: Errno) -> Sys {
        Sys { what, target: target.to_string(), source }
    }
}

/// A file operation failed: `what` was being done to `path`.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct Io {
    pub what: &'static str,
    pub path: String,
    pub source: std::io::Error,
}

impl Io {
    /// The errno behind it, for callers that tell ENOENT from the rest.
    pub fn errno(&self) -> Errno {
        Errno::from_raw(self.source.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// One of the three errors every tool has.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Sys(#[from] Sys),
    #[error(transparent)]
    Io(#[from] Io),
}

/// For a tool's error type `$t` that holds [`Error`]
/// (`From<tool_cli::Error>`): `impl From<Invalid>`, `From<Sys>` and
/// `From<Io>`, so `?` takes them, and `type Result<T, E = $t>`.
#[macro_export]
macro_rules! common_errors {
    ($t:ty) => {
        pub type Result<T, E = $t> = std::result::Result<T, E>;

        impl From<$crate::Invalid> for $t {
            fn from(e: $crate::Invalid) -> Self {
                <$t>::from($crate::error::Error::from(e))
            }
        }
        impl From<$crate::Sys> for $t {
            fn from(e: $crate::Sys) -> Self {
                <$t>::from($crate::error::Error::from(e))
            }
        }
        impl From<$crate::Io> for $t {
            fn from(e: $crate::Io) -> Self {
                <$t>::from($crate::error::Error::from(e))
            }
        }
    };
}

/// Builds `Invalid`: `invalid(what, value, why)`.
pub fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Invalid {
    Invalid { what, value: value.into(), why: why.into() }
}

/// A tool's error type: it can hold the three shared errors, and says which
/// exit status reports it (125, "the tool failed", unless it says otherwise).
pub trait ToolError: std::error::Error + From<Error> + Sized {
    /// The exit status that reports this error.
    fn exit_code(&self) -> i32 {
        EXIT_FAILED
    }

    /// Bad input: `Error::invalid("size", "12q", "expected a number …")`.
    fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Self {
        Error::from(invalid(what, value, why)).into()
    }

    /// A failed system call: `Error::sys("mount proc on", "/proc", errno)`.
    fn sys(what: &'static str, target: impl Display, source: Errno) -> Self {
        Error::from(Sys::new(what, target, source)).into()
    }

    /// For `map_err`: `fs::read(p).map_err(Error::io("read", p))`.
    fn io(what: &'static str, path: impl AsRef<Path>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.as_ref().display().to_string();
        move |source| Error::from(Io { what, path, source }).into()
    }
}
