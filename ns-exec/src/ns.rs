//! Namespace kinds, how a caller asks for one (new or joined), and setns(2).

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::{setns, CloneFlags};
use nix::sys::stat::{stat, Mode};

use crate::error::{Error, Result, ToolError};

/// One kind of namespace, named as in `/proc/PID/ns/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NsKind {
    User,
    Cgroup,
    Ipc,
    Uts,
    Net,
    Pid,
    Mount,
    Time,
}

impl NsKind {
    /// Every kind, in the order nsenter(1) enters them: user first (see
    /// [`enter`] for why it is really entered in the middle), mount late
    /// because it changes how every later path resolves.
    pub const ALL: [NsKind; 8] = [
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Net,
        NsKind::Pid,
        NsKind::Mount,
        NsKind::Time,
    ];

    /// The file name under `/proc/PID/ns/`.
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::User => "user",
            NsKind::Cgroup => "cgroup",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Net => "net",
            NsKind::Pid => "pid",
            NsKind::Mount => "mnt",
            NsKind::Time => "time",
        }
    }

    /// The `CLONE_NEW*` flag for clone(2), unshare(2) and setns(2).
    pub fn clone_flag(self) -> CloneFlags {
        match self {
            NsKind::User => CloneFlags::CLONE_NEWUSER,
            NsKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NsKind::Uts => CloneFlags::CLONE_NEWUTS,
            NsKind::Net => CloneFlags::CLONE_NEWNET,
            NsKind::Pid => CloneFlags::CLONE_NEWPID,
            NsKind::Mount => CloneFlags::CLONE_NEWNS,
            NsKind::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        }
    }

    /// Parses `net`, `mnt` or `mount`, … as used by `--keep KIND=FILE`.
    pub fn parse(name: &str) -> Result<Self> {
        let kind = match name {
            "mount" => NsKind::Mount,
            _ => *NsKind::ALL.iter().find(|k| k.proc_name() == name).ok_or_else(|| {
                Error::invalid(
                    "namespace kind",
                    name,
                    "expected one of user, cgroup, ipc, uts, net, pid, mnt, time",
                )
            })?,
        };
        Ok(kind)
    }
}

impl fmt::Display for NsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proc_name())
    }
}

/// `--keep KIND=FILE`: keep the new namespace of KIND on FILE.
pub fn parse_keep(text: &str) -> Result<(NsKind, PathBuf)> {
    let (kind, file) = text.split_once('=').filter(|(_, f)| !f.is_empty()).ok_or_else(|| {
        Error::invalid("--keep", text, "expected KIND=FILE, e.g. net=/run/netns/x")
    })?;
    Ok((NsKind::parse(kind)?, PathBuf::from(file)))
}

/// What the caller wants for one kind: a new namespace, or to join the one
/// that a file (`/proc/PID/ns/net`, `/run/netns/x`) refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NsRequest {
    New,
    Join(PathBuf),
}

/// Opens a namespace file for setns(2).
pub fn open_ns(path: &Path) -> Result<OwnedFd> {
    open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| Error::sys("open namespace file", path.display(), e))
}

/// The identity of a namespace (its nsfs inode), for "is it the same one?".
pub fn ns_inode(path: &Path) -> Result<u64> {
    stat(path).map(|st| st.st_ino).map_err(|e| Error::sys("stat namespace file", path.display(), e))
}

/// Joins namespaces with setns(2).
///
/// The order matters when the caller is not root on the host. Joining a user
/// namespace changes our credentials: we become whoever we are mapped to in
/// it, with capabilities over what *it* owns and none left over what our old
/// user namespace owns. So, like nsenter(1), we go in two passes: first every
/// namespace except the user one, using the privileges we have now (what root
/// on the host needs); then the user namespace; then again those that failed
/// with EPERM, which an unprivileged caller may join only from inside the
/// target's user namespace.
pub fn enter(namespaces: &[(NsKind, OwnedFd)]) -> Result<()> {
    let mut deferred = Vec::new();
    for (kind, fd) in namespaces.iter().filter(|(k, _)| *k != NsKind::User) {
        match setns(fd.as_fd(), kind.clone_flag()) {
            Ok(()) => {}
            Err(Errno::EPERM) => deferred.push((kind, fd)),
            Err(e) => return Err(Error::sys("setns", format!("{kind} namespace"), e)),
        }
    }
    if let Some((kind, fd)) = namespaces.iter().find(|(k, _)| *k == NsKind::User) {
        setns(fd.as_fd(), kind.clone_flag())
            .map_err(|e| Error::sys("setns", "user namespace", e))?;
    }
    for (kind, fd) in deferred {
        setns(fd.as_fd(), kind.clone_flag())
            .map_err(|e| Error::sys("setns", format!("{kind} namespace"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_names_and_mount_alias() {
        assert_eq!(NsKind::parse("mnt").unwrap(), NsKind::Mount);
        assert_eq!(NsKind::parse("mount").unwrap(), NsKind::Mount);
        assert_eq!(NsKind::parse("net").unwrap(), NsKind::Net);
        assert!(NsKind::parse("network").is_err());
        for kind in NsKind::ALL {
            assert_eq!(NsKind::parse(kind.proc_name()).unwrap(), kind);
        }
    }

    #[test]
    fn every_kind_has_a_distinct_flag() {
        let mut bits: Vec<_> = NsKind::ALL.iter().map(|k| k.clone_flag().bits()).collect();
        bits.sort();
        bits.dedup();
        assert_eq!(bits.len(), NsKind::ALL.len());
    }
}
