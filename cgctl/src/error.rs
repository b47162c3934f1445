//! Typed errors. Each says what was done, to which cgroup or file, with
//! which value, so `main` can print `cgctl: <error>` and exit.

use std::path::Path;

use nix::errno::Errno;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit status when cgctl itself fails (as ns-exec and Docker: 125).
pub const EXIT_TOOL_FAILED: i32 = 125;
/// Exit status when the named cgroup does not exist, so a caller can tell
/// "already gone" from a failure without parsing messages.
pub const EXIT_NO_SUCH_CGROUP: i32 = 2;
/// Exit statuses of `cgctl exec` when the command cannot be run.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, refused before anything changed.
    #[error("invalid {what} {value:?}: {why}")]
    Invalid { what: &'static str, value: String, why: String },
    /// Reading or writing a cgroup file or directory failed.
    #[error("{what} {path}: {errno}", errno = .source.desc())]
    Sys { what: &'static str, path: String, source: Errno },
    /// Writing a value into a control file failed: the kernel refused it.
    #[error("write {value:?} to {path}: {errno}", errno = .source.desc())]
    Write { path: String, value: String, source: Errno },
    #[error("no cgroup filesystem found: {0}")]
    NoCgroupFs(String),
    #[error("no such cgroup: {0}")]
    NoSuchCgroup(String),
    #[error("cgroup {0} already exists")]
    Exists(String),
    /// A limit needs a controller this host (or this cgroup's parent) lacks.
    #[error("{what} needs the {controller} controller, which {where_}")]
    NoController { what: &'static str, controller: &'static str, where_: String },
    /// cgroup v2's "no internal processes" rule: a cgroup that holds
    /// processes cannot hand controllers down to children.
    #[error(
        "cannot enable {controllers} for the children of {cgroup}: it holds processes, and cgroup v2 lets only a cgroup \
         without processes hand controllers down. Use a path beneath a cgroup without processes (an absolute PATH, or \
         dockerish --cgroup-parent), or first move those processes into a leaf (cgctl create LEAF; cgctl add LEAF PID)"
    )]
    InternalProcesses { cgroup: String, controllers: String },
    #[error(
        "cgroup {path} still holds {count} process(es) ({pids}) after {seconds} s: stop them first, or use cgctl kill (or rm --force)"
    )]
    StillPopulated { path: String, count: usize, pids: String, seconds: u64 },
    #[error(
        "cgroup {path} has child cgroups ({children}): remove them first, or use rm --recursive"
    )]
    HasChildren { path: String, children: String },
    #[error("cgroup {path} did not become {state} within {seconds} s")]
    Timeout { path: String, state: &'static str, seconds: u64 },
    #[error("exec {command:?}: {errno}", errno = .source.desc())]
    Exec { command: String, source: Errno },
}

impl Error {
    pub fn invalid(what: &'static str, value: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid { what, value: value.into(), why: why.into() }
    }

    /// Wraps an `std::io::Error` from a file operation on `path`.
    pub fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.display().to_string();
        move |e| Error::Sys {
            what,
            path,
            source: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        }
    }

    /// Whether a file or directory was missing (ENOENT).
    pub fn is_enoent(&self) -> bool {
        matches!(
            self,
            Error::Sys { source: Errno::ENOENT, .. } | Error::Write { source: Errno::ENOENT, .. }
        )
    }

    /// The exit status that reports this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NoSuchCgroup(_) => EXIT_NO_SUCH_CGROUP,
            Error::Exec { source: Errno::ENOENT | Errno::ENOTDIR, .. } => EXIT_NOT_FOUND,
            Error::Exec { .. } => EXIT_CANNOT_EXECUTE,
            _ => EXIT_TOOL_FAILED,
        }
    }
}
