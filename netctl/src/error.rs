//! Typed errors: what was done, to which network, address or port.

use tool_cli::exit;
pub use tool_cli::ToolError;

tool_cli::common_errors!(Error);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, a failed system call, a failed file operation.
    #[error(transparent)]
    Common(#[from] tool_cli::Error),
    /// A record could not be read, written or locked.
    #[error(transparent)]
    Store(#[from] json_store::Error),
    #[error("no such network: {0}")]
    NoSuchNetwork(String),
    #[error("network {0} already exists")]
    NetworkExists(String),
    #[error("network {name} is in use by {containers}: disconnect them first")]
    NetworkInUse { name: String, containers: String },
    #[error("subnet {subnet} overlaps {with}")]
    Overlap { subnet: String, with: String },
    #[error("no address left in network {network} ({subnet}): every one is allocated")]
    SubnetFull { network: String, subnet: String },
    #[error("address {ip} is already in use in network {network} (by {by})")]
    AddressTaken { ip: String, network: String, by: String },
    #[error("{port} is already published by container {by}")]
    PortPublished { port: String, by: String },
    #[error("{port} is already in use on the host (bind: {why}): a process listens there")]
    PortInUse { port: String, why: String },
    /// The firewall table could not be loaded or changed (nft's or the
    /// kernel's words).
    #[error("firewall table {table}: {why}")]
    Firewall { table: String, why: String },
}

impl Error {
    /// The errno of a failed system call, for callers that tell one from
    /// the rest (EEXIST: made already).
    pub fn errno(&self) -> Option<nix::errno::Errno> {
        match self {
            Error::Common(tool_cli::Error::Sys(s)) => Some(s.source),
            _ => None,
        }
    }
}

impl ToolError for Error {
    /// 2 when the named network does not exist, 125 for everything else.
    fn exit_code(&self) -> i32 {
        match self {
            Error::NoSuchNetwork(_) => exit::EXIT_NO_SUCH,
            _ => exit::EXIT_FAILED,
        }
    }
}
