//! # inroot: paths inside a directory tree, resolved as if it were `/`
//!
//! A container's root, an image layer and a container's writable layer are
//! directory trees on the host whose contents are not trusted. Any path
//! *inside* one must be resolved the way the container would resolve it,
//! never following a symlink out onto the host.
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

use tool_cli::error::invalid;
use tool_cli::Sys;

/// Why a path could not be opened or created in the tree: a failed call,
/// or a path that leads nowhere or to the wrong kind of file.
pub use tool_cli::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An `O_PATH` descriptor of the directory `path`: a handle to resolve
/// paths beneath and to mount on (`/proc/self/fd/N`), that grants no read
/// or write access of its own (open(2), O_PATH).
pub fn open_dir(path: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|source| Sys { what: "open", target: path.display().to_string(), source }.into())
}

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
    let fail = |what: &'static str, e: Errno| -> Error {
        Error::Sys(Sys { what, target: format!("{} in the container", path.display()), source: e })
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
                        return Err(Error::Invalid(invalid(
                            "mount point",
                            path.display().to_string(),
                            format!(
                                "{} is a symlink to a path missing in the container",
                                prefix.display()
                            ),
                        )))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_and_dotdot_resolve_inside_the_tree() {
        let tree = tempdir();
        std::fs::create_dir_all(tree.join("etc")).unwrap();
        std::fs::write(tree.join("etc/passwd"), "inside\n").unwrap();
        symlink("/../../../../etc", tree.join("escape")).unwrap();
        let root = open_dir(&tree).unwrap();
        let passwd = open(&root, Path::new("/escape/passwd")).unwrap();
        let text = std::fs::read_to_string(fd_path(&passwd)).unwrap();
        assert_eq!(
            text, "inside\n",
            "the link was followed inside the tree, not to the host's /etc"
        );
        let made = create(&root, Path::new("/escape/new/deep"), Kind::Dir).unwrap();
        assert!(tree.join("etc/new/deep").is_dir() && !Path::new("/etc/new/deep").exists());
        drop(made);
        std::fs::remove_dir_all(&tree).unwrap();
    }

    #[test]
    fn a_dangling_link_or_a_wrong_kind_is_refused() {
        let tree = tempdir();
        symlink("/nowhere", tree.join("dangling")).unwrap();
        std::fs::write(tree.join("file"), "").unwrap();
        let root = open_dir(&tree).unwrap();
        let err = create(&root, Path::new("/dangling"), Kind::Dir).unwrap_err();
        assert!(err.to_string().contains("a symlink to a path missing"), "{err}");
        assert!(create(&root, Path::new("/file"), Kind::Dir).is_err(), "a file is no directory");
        assert!(create(&root, Path::new("/file"), Kind::File).is_ok());
        std::fs::remove_dir_all(&tree).unwrap();
    }

    fn tempdir() -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("inroot-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
