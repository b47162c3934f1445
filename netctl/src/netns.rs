//! Persistent network namespaces, as `ip netns` keeps them
//! (ip-netns(8), network_namespaces(7)).
//!
//! A namespace lives while a process is in it or something holds a
//! reference to it. Bind-mounting its nsfs file (`/proc/TID/ns/net`) on an
//! ordinary file is such a reference: the file can then be opened and
//! passed to setns(2) (`ns-exec --net=FILE`) by anyone, before any process
//! runs in it. That is how a container's network exists, wired and
//! addressed, before its first process starts (what CNI runtimes do).
//!
//! The namespace is made by a short-lived thread: unshare(CLONE_NEWNET)
//! moves only the calling thread, which brings its loopback up and
//! bind-mounts its own `/proc/thread-self/ns/net`; the process never
//! leaves the namespace it was in.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::statfs::{statfs, NSFS_MAGIC};

use crate::error::{Error, Result, ToolError};
use crate::netlink::Netlink;

/// Makes a new network namespace kept at `file` (which must not exist),
/// with loopback up.
pub fn add(file: &Path) -> Result<()> {
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .map_err(Error::io("create", file))?;
    let target = file.to_path_buf();
    let made = std::thread::spawn(move || -> Result<()> {
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::sys("unshare", "a network namespace", e))?;
        let mut nl = Netlink::open()?;
        if let Some(lo) = nl.link("lo")? {
            nl.set_up(lo.index, "lo", None)?;
        }
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| Error::sys("bind-mount the network namespace on", target.display(), e))
    })
    .join()
    .expect("the namespace thread does not panic");
    if made.is_err() {
        let _ = fs::remove_file(file);
    }
    made
}

/// Whether `file` keeps a network namespace (is a mounted nsfs file).
pub fn is_live(file: &Path) -> bool {
    statfs(file).is_ok_and(|s| s.filesystem_type() == NSFS_MAGIC)
}

/// Whether any process runs in the namespace at `file`: one whose
/// /proc/PID/ns/net is the same nsfs inode.
pub fn has_processes(file: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(ns) = fs::metadata(file) else { return false };
    fs::read_dir("/proc").into_iter().flatten().flatten().any(|e| {
        e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit())
            && fs::metadata(e.path().join("ns/net"))
                .is_ok_and(|m| m.ino() == ns.ino() && m.dev() == ns.dev())
    })
}

/// Releases the namespace kept at `file` and removes the file; a file
/// already gone, or no longer mounted, is fine. The namespace itself ends
/// once no process is left in it (its interfaces with it).
pub fn remove(file: &Path) -> Result<()> {
    if is_live(file) {
        umount2(file, MntFlags::MNT_DETACH)
            .map_err(|e| Error::sys("unmount", file.display(), e))?;
    }
    match fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", file)(e)),
        _ => Ok(()),
    }
}

/// Opens the namespace at `file`, for setns(2) or a netlink socket in it.
pub fn open(file: &Path) -> Result<OwnedFd> {
    // /proc/PID/ns/net is nsfs too; an ordinary file is refused.
    if !is_live(file) {
        let why = "not a namespace file (netctl netns add, or /proc/PID/ns/net)";
        return Err(Error::invalid("network namespace", file.display().to_string(), why));
    }
    Ok(fs::File::open(file).map_err(Error::io("open", file))?.into())
}

/// The kept namespaces in `dir`: (name, live).
pub fn list(dir: &Path) -> Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            out.push((name, is_live(&entry.path())));
        }
    }
    out.sort();
    Ok(out)
}
