//! `--console-socket`: the container's terminal, made from its own devpts
//! and handed to the runtime (runc's protocol; see the `console-socket`
//! crate for the steps and why they are done inside the container).
//!
//! The socket is reached by its host path, so this runs before pivot_root,
//! after devpts is mounted.

use std::os::fd::OwnedFd;
use std::path::Path;

use crate::error::{Error, Result, ToolError};

/// Opens the container's terminal, sends its master to `socket` and makes
/// the slave this process's controlling terminal and standard streams.
pub fn setup(root: &OwnedFd, socket: &Path) -> Result<()> {
    let ptmx = inroot::open(root, Path::new("/dev/pts/ptmx"))
        .map_err(|e| Error::sys("find", "the container's terminal", e))?;
    let stream = console_socket::connect(socket)
        .map_err(Error::io("connect to the console socket", socket))?;
    Ok(console_socket::terminal::attach(&inroot::fd_path(&ptmx), stream)?)
}
