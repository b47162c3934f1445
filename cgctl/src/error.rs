//! Typed errors. Each says what was done, to which cgroup or file, with
//! which value, so `main` can print `cgctl: <error>` and exit.

use nix::errno::Errno;
use tool_cli::exit;
pub use tool_cli::ToolError;

tool_cli::common_errors!(Error);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, a failed system call, a failed file operation.
    #[error(transparent)]
    Common(#[from] tool_cli::Error),
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
    /// Whether a file or directory was missing (ENOENT).
    pub fn is_enoent(&self) -> bool {
        match self {
            Error::Common(tool_cli::Error::Io(io)) => io.errno() == Errno::ENOENT,
            Error::Common(tool_cli::Error::Sys(tool_cli::Sys { source, .. }))
            | Error::Write { source, .. } => *source == Errno::ENOENT,
            _ => false,
        }
    }
}

impl ToolError for Error {
    /// 2 for a cgroup that does not exist (so a caller can tell "already
    /// gone" from a failure), 126/127 for `exec`, 125 for the rest.
    fn exit_code(&self) -> i32 {
        match self {
            Error::NoSuchCgroup(_) => exit::EXIT_NO_SUCH,
            Error::Exec { source, .. } => exit::of_exec_errno(*source),
            _ => exit::EXIT_FAILED,
        }
    }
}
