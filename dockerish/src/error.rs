//! Typed errors of the front. Each says what was done, to what, and why.

pub use tool_cli::ToolError;

tool_cli::common_errors!(Error);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, a failed system call, a failed file operation.
    #[error(transparent)]
    Common(#[from] tool_cli::Error),
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    /// ocirun's, in runc's words: engines match "does not exist" (containerd's
    /// shim takes it for a container already deleted).
    #[error("container {0} does not exist")]
    NoSuchOciContainer(String),
    /// runc's words again: containerd's shim matches "container not running".
    #[error("container not running: {0}")]
    OciNotRunning(String),
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
    /// Docker's messages, word for word where scripts match on them.
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Cannot kill container: {key}: Container {id} is not running")]
    CannotKill { key: String, id: String },
    #[error("container {0} is already running")]
    AlreadyRunning(String),
    #[error(
        "cannot remove container {0}: container is running: stop the container before removing or force remove"
    )]
    RemoveRunning(String),
    #[error("Container {0} is paused, unpause the container before exec")]
    ExecPaused(String),
    #[error("Container {0} is already paused")]
    AlreadyPaused(String),
    #[error("Container {0} is not paused")]
    NotPaused(String),
    #[error("container {name} did not stop: {what} within {seconds} s")]
    StopTimeout { name: String, what: &'static str, seconds: u64 },
    #[error("failed to start container {name} (exit status {code}): {message}")]
    StartFailed { name: String, code: i32, message: String },
    /// A process to signal has exited.
    #[error(transparent)]
    Process(#[from] pidref::Error),
    #[error("network {0} not found")]
    NoSuchNetwork(String),
    #[error("Unable to find image '{0}' locally")]
    NoSuchImage(String),
    #[error("no command specified: the image has none, give one after the image name")]
    NoCommand,
    #[error(
        "conflict: unable to remove image {image}: container {id} ({name}) uses it; remove the container or use -f"
    )]
    ImageInUse { image: String, id: String, name: String },
    #[error("get {0}: no such volume")]
    NoSuchVolume(String),
    #[error("remove {name}: volume is in use - [{containers}]")]
    VolumeInUse { name: String, containers: String },
    #[error("configured logging driver does not support reading")]
    NoLogs,
    #[error("you cannot start and attach multiple containers at once")]
    AttachMany,
    /// rootfs's library refused a value (a volume spec, a path).
    #[error(transparent)]
    Rootfs(rootfs::Error),
    #[error(transparent)]
    Image(#[from] imgtool::Error),
    #[error(transparent)]
    Cgroup(#[from] cgctl::Error),
    /// netctl's library refused a value (a port, a network, an address).
    #[error(transparent)]
    Network(#[from] netctl::Error),
}

/// Which exit status reports an error is the command's choice, not the
/// error's (`run` 125, every other command 1, as Docker's): see `main.rs`.
impl ToolError for Error {}

impl From<rootfs::Error> for Error {
    fn from(e: rootfs::Error) -> Self {
        match e {
            rootfs::Error::Common(common @ tool_cli::Error::Invalid(_)) => Error::Common(common),
            other => Error::Rootfs(other),
        }
    }
}
