//! `--userns START:COUNT`: the container's root is not the host's root.
//!
//! The command runs as uid 0 of a user namespace (user_namespaces(7))
//! whose ids 0..COUNT are the host's START..START+COUNT: a process that
//! escapes the container is an unprivileged nobody on the host, and the
//! capabilities it keeps are worth something only over the user namespace
//! itself. Every other namespace of the container (mount, pid, net, uts,
//! ipc, cgroup) stays owned by the host's user namespace, so from inside
//! it can mount nothing, change no address and no hostname.
//!
//! The image's files belong to host root, which the namespace does not
//! map: seen from inside they would be nobody's, and root could not write
//! them. So the layers are shifted first, one of two ways:
//!
//! - **idmapped mounts** (mount_setattr(2) with MOUNT_ATTR_IDMAP, Linux
//!   5.12; overlayfs accepts them as layers from 5.19): each layer is
//!   cloned with open_tree(2), the clone given the namespace's mapping and
//!   attached with move_mount(2) beside the container; the files on disk
//!   are not touched and the layers stay shared with every container. The
//!   filesystem must allow it (ext4, xfs and btrfs do; tmpfs from 6.3).
//! - **a shifted copy** where it does not: each layer copied into the
//!   container's directory with every owner moved up by START (lchown).
//!   Costs a copy of the image per container (made at its first start,
//!   kept for the next).
//!
//! The order: the namespace is made first (a helper child unshares one and
//! we, still root on the host, write its maps: user_namespaces(7) lets
//! only a process of the parent namespace with CAP_SETUID map other ids);
//! every mount is made by us as the host's root; the last step before the
//! privileges are dropped is setns(2) into the namespace, then uid and gid
//! 0 of it. setns into a user namespace needs a single-threaded process
//! whose filesystem information (root, cwd) is not shared: rootfs is one.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, setgroups, setresgid, setresuid, ForkResult, Gid, Uid};

use crate::error::{Error, Result, ToolError};

/// `START:COUNT`: the host ids the namespace's 0..COUNT are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    pub start: u32,
    pub count: u32,
}

impl FromStr for IdRange {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad =
            || Error::invalid("user namespace range", text, "expected START:COUNT, START > 0");
        let (start, count) = text.split_once(':').ok_or_else(bad)?;
        let (start, count): (u32, u32) =
            (start.parse().map_err(|_| bad())?, count.parse().map_err(|_| bad())?);
        if start == 0 || count == 0 || start.checked_add(count).is_none() {
            return Err(bad());
        }
        Ok(IdRange { start, count })
    }
}

impl std::fmt::Display for IdRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.start, self.count)
    }
}

/// A user namespace with `range` mapped, held by a descriptor: a helper
/// child unshares it, we write its maps and open it, the helper exits.
pub fn make(range: IdRange) -> Result<OwnedFd> {
    let map = format!("0 {} {}\n", range.start, range.count);
    make_mapped(&map, &map)
}

/// A user namespace with these maps (uid_map and gid_map text, lines of
/// `INSIDE OUTSIDE COUNT`), made as [`make`] says. Nothing ever runs in it:
/// it only carries a mapping, e.g. for an idmapped mount.
pub fn make_mapped(uid_map: &str, gid_map: &str) -> Result<OwnedFd> {
    let (ready_read, ready_write) =
        nix::unistd::pipe().map_err(|e| Error::sys("make", "a pipe", e))?;
    let (done_read, done_write) =
        nix::unistd::pipe().map_err(|e| Error::sys("make", "a pipe", e))?;
    // SAFETY: rootfs is single-threaded; the child only unshares, writes
    // one byte and waits.
    match unsafe { fork() }.map_err(|e| Error::sys("fork", "the user namespace helper", e))? {
        ForkResult::Child => {
            drop((ready_read, done_write));
            // Our pid as the mounted /proc numbers it: that is the host's
            // /proc still, not our pid namespace's, so fork's answer to the
            // parent would name another process there.
            let pid = fs::read_link("/proc/self").map(|p| p.display().to_string());
            // The pid, or `!ERRNO` for the parent to report.
            let report = match (pid, unshare(CloneFlags::CLONE_NEWUSER)) {
                (Ok(pid), Ok(())) => pid,
                (Err(_), _) => format!("!{}", libc::ENOENT),
                (_, Err(e)) => format!("!{}", e as i32),
            };
            let _ = fs::File::from(ready_write).write_all(report.as_bytes());
            let _ = fs::File::from(done_read).read(&mut [0u8]);
            // SAFETY: _exit is async-signal-safe; nothing of ours to flush.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop((ready_write, done_read));
            let mut report = String::new();
            let _ = fs::File::from(ready_read).read_to_string(&mut report);
            let result = match report.parse::<i32>() {
                Ok(pid) => map_and_open(pid, uid_map, gid_map),
                Err(_) => {
                    let errno = report.trim_start_matches('!').parse().unwrap_or(libc::EIO);
                    Err(Error::sys("unshare", "a user namespace", Errno::from_raw(errno)))
                }
            };
            drop(done_write);
            let _ = waitpid(child, None);
            result
        }
    }
}

fn map_and_open(pid: i32, uid_map: &str, gid_map: &str) -> Result<OwnedFd> {
    for (file, map) in [("uid_map", uid_map), ("gid_map", gid_map)] {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, map).map_err(Error::io("write", &path))?;
    }
    let path = format!("/proc/{pid}/ns/user");
    let ns = fs::File::open(&path).map_err(Error::io("open", &path))?;
    Ok(OwnedFd::from(ns))
}

/// Layer number `i` as the namespace sees it, a directory in `dir`: an
/// idmapped clone of its mount (`dir/mnt-i`, a mount point that is empty
/// on disk) where the filesystem allows one, else a copy with shifted
/// owners (`dir/copy-i`, made once per container: built beside, renamed
/// into place when whole, so a start killed half-way copies again).
pub fn shift_layer(
    layer: &Path,
    userns: &OwnedFd,
    dir: &Path,
    i: usize,
    range: IdRange,
) -> Result<std::path::PathBuf> {
    let copy = dir.join(format!("copy-{i}"));
    if copy.is_dir() {
        return Ok(copy);
    }
    let target = dir.join(format!("mnt-{i}"));
    fs::create_dir_all(&target).map_err(Error::io("create", &target))?;
    match idmapped(layer, userns, &target) {
        Ok(()) => Ok(target),
        // EINVAL: the filesystem has no idmapped mounts (tmpfs before 6.3);
        // ENOSYS: the kernel has none.
        Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
            let partial = dir.join(format!("copy-{i}.partial"));
            if partial.exists() {
                fs::remove_dir_all(&partial).map_err(Error::io("remove", &partial))?;
            }
            copy_shifted(layer, &partial, range)?;
            fs::rename(&partial, &copy).map_err(Error::io("rename into place", &copy))?;
            Ok(copy)
        }
        Err(e) => Err(Error::sys("make an idmapped mount of", layer.display(), e)),
    }
}

/// open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP) +
/// move_mount: the layer's tree, its ids seen through the namespace's map.
fn idmapped(layer: &Path, userns: &OwnedFd, target: &Path) -> std::result::Result<(), Errno> {
    let tree = idmapped_tree(layer, userns, false, false)?;
    let target = nix::fcntl::open(target, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())?;
    attach(&tree, &target)
}

/// A detached copy of the mount at `source` (open_tree(2) with
/// OPEN_TREE_CLONE; with `submounts`, its submounts too) whose ids are
/// seen through `userns`'s map (mount_setattr(2), MOUNT_ATTR_IDMAP; with
/// `idmap_submounts`, the cloned submounts' too, AT_RECURSIVE): a file
/// whose owner on disk is uid N shows as the host uid N maps to. Needs
/// CAP_SYS_ADMIN in the user namespace of the source's filesystem (the
/// host's, for a disk), so a process inside a new user namespace cannot
/// make one: it is made outside and handed in as a descriptor.
/// EINVAL: the filesystem has no idmapped mounts, or a submount's has not.
pub fn idmapped_tree(
    source: &Path,
    userns: &OwnedFd,
    submounts: bool,
    idmap_submounts: bool,
) -> std::result::Result<OwnedFd, Errno> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let source = c_path(source)?;
    let rec = |on: bool| if on { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    // SAFETY: plain system calls on a valid C string and a live struct.
    unsafe {
        let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | rec(submounts);
        let fd = Errno::result(libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            source.as_ptr(),
            flags,
        ))?;
        let tree = OwnedFd::from_raw_fd(fd as i32);
        let attr = MountAttr {
            attr_set: MOUNT_ATTR_IDMAP,
            attr_clr: 0,
            propagation: 0,
            userns_fd: userns.as_raw_fd() as u64,
        };
        Errno::result(libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | rec(idmap_submounts) as libc::c_int,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        ))?;
        Ok(tree)
    }
}

/// Attaches a detached tree (from [`idmapped_tree`]) on the directory
/// `target` is open on (any descriptor, O_PATH too), in our mount
/// namespace (move_mount(2)). The tree may come from another process: a
/// detached mount belongs to no namespace until attached. (The target is a
/// descriptor, not /proc/self/fd/N: move_mount does not follow a final
/// symlink, a magic link included, without MOVE_MOUNT_T_SYMLINKS.)
pub fn attach(tree: &impl AsRawFd, target: &impl AsRawFd) -> std::result::Result<(), Errno> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: a plain system call on live descriptors and empty C strings.
    let res = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(res).map(drop)
}

fn c_path(p: &Path) -> std::result::Result<std::ffi::CString, Errno> {
    std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)
}

/// Copies the tree at `src` into `dst` (which exists) with each owner
/// moved up by `range.start`: files, directories, symlinks, device nodes
/// (overlay's whiteouts are 0/0 character devices), modes and the xattrs
/// (overlay's opaque markers, file capabilities). Times are not kept:
/// the copy is the container's view, never packed into an image.
fn copy_shifted(src: &Path, dst: &Path, range: IdRange) -> Result<()> {
    let meta = fs::symlink_metadata(src).map_err(Error::io("stat", src))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        if !dst.exists() {
            fs::create_dir(dst).map_err(Error::io("create", dst))?;
        }
        for entry in fs::read_dir(src).map_err(Error::io("read", src))? {
            let entry = entry.map_err(Error::io("read", src))?;
            copy_shifted(&entry.path(), &dst.join(entry.file_name()), range)?;
        }
    } else if kind.is_symlink() {
        let to = fs::read_link(src).map_err(Error::io("read link", src))?;
        std::os::unix::fs::symlink(to, dst).map_err(Error::io("create", dst))?;
    } else if kind.is_file() {
        fs::copy(src, dst).map_err(Error::io("copy to", dst))?;
    } else {
        let mode = nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777);
        let kind = nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT);
        nix::sys::stat::mknod(dst, kind, mode, meta.rdev())
            .map_err(|e| Error::sys("create", dst.display(), e))?;
    }
    let shift = |id: u32| id.checked_add(range.start).filter(|_| id < range.count);
    let (Some(uid), Some(gid)) = (shift(meta.uid()), shift(meta.gid())) else {
        let why = format!(
            "owned by {}:{}, outside the namespace's {} ids",
            meta.uid(),
            meta.gid(),
            range.count
        );
        return Err(Error::invalid("layer file", src.display().to_string(), why));
    };
    std::os::unix::fs::lchown(dst, Some(uid), Some(gid)).map_err(Error::io("set owner of", dst))?;
    if !kind.is_symlink() {
        // After the chown, which clears setuid and setgid bits.
        fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(Error::io("set mode of", dst))?;
        copy_xattrs(src, dst)?;
    }
    Ok(())
}

fn copy_xattrs(src: &Path, dst: &Path) -> Result<()> {
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("no NUL in a path")
    };
    let (s, d) = (c(src), c(dst));
    let mut names = vec![0u8; 64 * 1024];
    // SAFETY: buffers are live and their lengths passed.
    let len = unsafe { libc::llistxattr(s.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if len <= 0 {
        return Ok(());
    }
    for name in names[..len as usize].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = std::ffi::CString::new(name).expect("split at NUL");
        let mut value = vec![0u8; 64 * 1024];
        // SAFETY: as above.
        let n = unsafe {
            libc::lgetxattr(s.as_ptr(), name.as_ptr(), value.as_mut_ptr().cast(), value.len())
        };
        if n < 0 {
            continue;
        }
        // SAFETY: as above.
        let r = unsafe {
            libc::lsetxattr(d.as_ptr(), name.as_ptr(), value.as_ptr().cast(), n as usize, 0)
        };
        Errno::result(r).map_err(|e| Error::sys("copy xattrs to", dst.display(), e))?;
    }
    Ok(())
}

/// The last step as the host's root: into the namespace, as its root.
/// The groups become root's alone (the host's supplementary groups are
/// not mapped there); `--user` may change all of it afterwards.
pub fn enter(userns: &OwnedFd) -> Result<()> {
    setns(userns.as_fd(), CloneFlags::CLONE_NEWUSER)
        .map_err(|e| Error::sys("setns", "the container's user namespace", e))?;
    let (uid, gid) = (Uid::from_raw(0), Gid::from_raw(0));
    setgroups(&[gid]).map_err(|e| Error::sys("set groups to", gid, e))?;
    setresgid(gid, gid, gid).map_err(|e| Error::sys("set group ID to", gid, e))?;
    setresuid(uid, uid, uid).map_err(|e| Error::sys("set user ID to", uid, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(
            "100000:65536".parse::<IdRange>().unwrap(),
            IdRange { start: 100000, count: 65536 }
        );
        for bad in ["", "0:65536", "1:0", "x:1", "4294967295:2", "1"] {
            assert!(bad.parse::<IdRange>().is_err(), "{bad}");
        }
    }
}
