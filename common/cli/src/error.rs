//! The errors every tool has, with one message format:
//! `what was done to what: why` (DESIGN.md, Conventions).
//!
//! A tool's own error enum wraps these three (`#[error(transparent)]`,
//! `#[from]`) next to the errors only it has, and implements [`ToolError`]
//! to get the constructors and to say which exit status each error means.

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

/// Builds `Invalid`: `invalid(what, value, why)`.
pub fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Invalid {
    Invalid { what, value: value.into(), why: why.into() }
}

/// A tool's error type: it can hold the three shared errors, and says which
/// exit status reports it (125, "the tool failed", unless it says otherwise).
pub trait ToolError: std::error::Error + From<Invalid> + From<Sys> + From<Io> + Sized {
    /// The exit status that reports this error.
    fn exit_code(&self) -> i32 {
        EXIT_FAILED
    }

    /// Bad input: `Error::invalid("size", "12q", "expected a number …")`.
    fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Self {
        invalid(what, value, why).into()
    }

    /// A failed system call: `Error::sys("mount proc on", "/proc", errno)`.
    fn sys(what: &'static str, target: impl Display, source: Errno) -> Self {
        Sys { what, target: target.to_string(), source }.into()
    }

    /// For `map_err`: `fs::read(p).map_err(Error::io("read", p))`.
    fn io(what: &'static str, path: impl AsRef<Path>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.as_ref().display().to_string();
        move |source| Io { what, path, source }.into()
    }
}
