//! Paths inside the container root, resolved as the container would.
//!
//! Mount targets are paths *in the image*, and the image is not trusted: if
//! it holds `/data -> /etc`, a naive `mount --bind SRC ROOT/data` follows the
//! link on the host and covers the host's `/etc`. So every target is opened
//! with openat2(2) and `RESOLVE_IN_ROOT`, which resolves symlinks and `..` as
//! if the container root were `/`, and the mount is made onto
//! `/proc/self/fd/N`: the kernel follows that magic link to exactly the
//! directory we opened, never re-resolving the path (runc does the same).
//! Missing components are created one at a time with mkdirat(2) in their
//! already-resolved parent.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};

use crate::error::{Error, Result, ToolError};

/// What a mount target must be: a bind mount of a file needs a file to
/// cover, everything else a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// Opens `path` (absolute, in the container) under `root` without letting
/// symlinks or `..` leave it. Returns an `O_PATH` descriptor.
pub fn open(root: &OwnedFd, path: &Path) -> nix::Result<OwnedFd> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() { Path::new(".") } else { rel };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    openat2(root.as_fd(), rel, how)
}

/// Like [`open`], creating what is missing: directories along the way, and
/// the last component as `kind`. Refuses an existing entry of the wrong kind.
pub fn create(root: &OwnedFd, path: &Path, kind: Kind) -> Result<OwnedFd> {
    let fail = |what: &'static str, e: Errno| {
        Error::sys(what, format!("{} in the container", path.display()), e)
    };
    let names: Vec<_> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    let mut parent = open(root, Path::new("/")).map_err(|e| fail("open the root for", e))?;
    let mut prefix = std::path::PathBuf::from("/");
    for (i, name) in names.iter().enumerate() {
        prefix.push(name);
        let last = i + 1 == names.len();
        let fd = match open(root, &prefix) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                // `parent` is a real directory, so creating `name` in it
                // cannot go anywhere else. If `name` is a dangling symlink,
                // mkdirat fails with EEXIST and the reopen fails too.
                let made = if last && kind == Kind::File {
                    let flags = OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC;
                    openat(parent.as_fd(), *name, flags, Mode::from_bits_truncate(0o644)).map(drop)
                } else {
                    mkdirat(parent.as_fd(), *name, Mode::from_bits_truncate(0o755))
                };
                match (made, open(root, &prefix)) {
                    (Ok(()) | Err(Errno::EEXIST), Ok(fd)) => fd,
                    (Err(Errno::EEXIST), Err(Errno::ENOENT)) => {
                        return Err(Error::invalid(
                            "mount point",
                            path.display().to_string(),
                            format!(
                                "{} is a symlink to a path missing in the container",
                                prefix.display()
                            ),
                        ))
                    }
                    (Err(e), _) | (_, Err(e)) => return Err(fail("create", e)),
                }
            }
            Err(e) => return Err(fail("open", e)),
        };
        let is_dir = fstat(fd.as_fd())
            .map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
            .map_err(|e| fail("stat", e))?;
        let want_dir = !last || kind == Kind::Dir;
        if is_dir != want_dir {
            let why = if want_dir { Errno::ENOTDIR } else { Errno::EISDIR };
            return Err(fail("use as a mount point", why));
        }
        parent = fd;
    }
    Ok(parent)
}

/// The path that names `fd` for mount(2): `/proc/self/fd/N`.
pub fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}
