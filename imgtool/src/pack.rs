//! Packing a container's writable layer into a layer tar (`commit`), and
//! a stack of layers into the one tree they show (`export`).
//!
//! The inverse of [`crate::unpack`]'s whiteout conversion: in overlayfs's
//! upper directory a deleted file is a character device 0/0 and a
//! directory that replaced a lower one carries `trusted.overlay.opaque=y`
//! (filesystems/overlayfs.rst); in a layer tar they are an empty
//! `.wh.NAME` entry and a `DIR/.wh..wh..opq` entry (the OCI image spec,
//! layer.md). Hard links within the layer stay hard links, xattrs travel as
//! PAX `SCHILY.xattr.*` records (overlayfs's own are left out), and entries
//! are sorted, so the same tree always packs to the same tar.
//!
//! `export` packs what overlayfs would show, without mounting it: for each
//! name, the topmost layer that has it wins; a whiteout hides it and the
//! layers below; a directory merges with the directories of the same name
//! below it, down to the first opaque one or the first non-directory.
//!
//! The tree is walked through directory descriptors opened with
//! `O_NOFOLLOW`, never through paths: a running container can swap a
//! directory for a symlink under us, and must not make us pack host files.

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

use crate::unpack::{OPAQUE, OPAQUE_XATTRS, WHITEOUT};

/// Packs the tree `dir` into `out` as a layer tar.
pub fn pack_layer(dir: &Path, out: impl Write) -> io::Result<()> {
    let mut packer = Packer { tar: tar::Builder::new(out), links: HashMap::new() };
    packer.dir(&open(dir)?, Path::new(""))?;
    packer.tar.finish()
}

/// Packs the union of layer trees `layers` (topmost first, a container's
/// writable layer first of all) into `out`: `docker export`.
pub fn pack_merged(layers: &[impl AsRef<Path>], out: impl Write) -> io::Result<()> {
    let fds = layers.iter().map(|l| open(l.as_ref())).collect::<io::Result<Vec<_>>>()?;
    let mut packer = Packer { tar: tar::Builder::new(out), links: HashMap::new() };
    packer.merged(&fds, Path::new(""))?;
    packer.tar.finish()
}

/// What a writable layer changed, `docker diff`'s letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `C`: there in the image, changed (for a directory: something in it).
    Changed,
    /// `A`: not in the image.
    Added,
    /// `D`: in the image, deleted (a whiteout).
    Deleted,
}

impl Change {
    pub fn letter(self) -> char {
        match self {
            Change::Changed => 'C',
            Change::Added => 'A',
            Change::Deleted => 'D',
        }
    }
}

/// The changes of the writable layer `upper` over image layers `lowers`
/// (topmost first), sorted by path (`/etc`, `/etc/passwd`, …): each
/// whiteout is a deletion, each other entry a change of what a layer
/// below has, or an addition (so is all beneath an opaque directory).
pub fn changes(upper: &Path, lowers: &[impl AsRef<Path>]) -> io::Result<Vec<(Change, PathBuf)>> {
    let lowers: Vec<&Path> = lowers.iter().map(|l| l.as_ref()).collect();
    let mut out = Vec::new();
    walk_changes(&open(upper)?, Path::new("/"), &lowers, false, &mut out)?;
    Ok(out)
}

fn walk_changes(
    fd: &OwnedFd,
    rel: &Path,
    lowers: &[&Path],
    hidden: bool,
    out: &mut Vec<(Change, PathBuf)>,
) -> io::Result<()> {
    for name in names(fd)? {
        let path = rel.join(&name);
        let at = proc_path(fd, Some(&name));
        let meta = fs::symlink_metadata(&at)?;
        if is_whiteout(&meta) {
            out.push((Change::Deleted, path));
            continue;
        }
        let in_image = !hidden && in_layers(lowers, &path);
        out.push((if in_image { Change::Changed } else { Change::Added }, path.clone()));
        if meta.is_dir() {
            let below_hidden = !in_image || is_opaque(&at);
            let dir = openat(fd.as_fd(), name.as_os_str(), dir_flags(), Mode::empty())?;
            walk_changes(&dir, &path, lowers, below_hidden, out)?;
        }
    }
    Ok(())
}

/// Whether the image shows `path`: the topmost layer that has an entry
/// for it (or a whiteout, or a non-directory, on its way) has it. Each
/// component is looked at with lstat(2) and must be a real directory to
/// go on: a symlink in an image is never followed out of its layer.
fn in_layers(lowers: &[&Path], path: &Path) -> bool {
    let parts: Vec<_> = path.strip_prefix("/").unwrap_or(path).components().collect();
    'layers: for layer in lowers {
        let mut at = layer.to_path_buf();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            match fs::symlink_metadata(&at) {
                Err(_) => continue 'layers,
                Ok(meta) if is_whiteout(&meta) => return false,
                Ok(meta) if i + 1 < parts.len() && !meta.is_dir() => return false,
                Ok(_) => {}
            }
        }
        return true;
    }
    false
}

fn open(dir: &Path) -> io::Result<OwnedFd> {
    let root = inroot::open_dir(dir).map_err(io::Error::other)?;
    Ok(openat(root.as_fd(), ".", dir_flags(), Mode::empty())?)
}

fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn names(fd: &OwnedFd) -> io::Result<Vec<OsString>> {
    let mut names: Vec<OsString> = fs::read_dir(proc_path(fd, None))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort();
    Ok(names)
}

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

struct Packer<W: Write> {
    tar: tar::Builder<W>,
    /// (device, inode) → the first path packed, for hard links.
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> Packer<W> {
    /// Packs the entries of directory `fd`, which is `rel` in the layer,
    /// whiteouts and opaque directories as layer tars say them.
    fn dir(&mut self, fd: &OwnedFd, rel: &Path) -> io::Result<()> {
        for name in names(fd)? {
            let path = rel.join(&name);
            let at = proc_path(fd, Some(&name));
            let meta = fs::symlink_metadata(&at)?;
            if is_whiteout(&meta) {
                let mut whiteout = OsString::from(WHITEOUT);
                whiteout.push(&name);
                self.empty_file(&rel.join(whiteout), &meta)?;
                continue;
            }
            self.entry(fd, &name, &path, &meta)?;
            if meta.is_dir() {
                if is_opaque(&at) {
                    self.empty_file(&path.join(OPAQUE), &meta)?;
                }
                self.dir(
                    &openat(fd.as_fd(), name.as_os_str(), dir_flags(), Mode::empty())?,
                    &path,
                )?;
            }
        }
        Ok(())
    }

    /// Packs the union of directories `fds` (topmost first), which are
    /// `rel` in the merged tree.
    fn merged(&mut self, fds: &[OwnedFd], rel: &Path) -> io::Result<()> {
        let mut all = std::collections::BTreeSet::new();
        for fd in fds {
            all.extend(names(fd)?);
        }
        for name in all {
            let mut top: Option<(usize, fs::Metadata)> = None;
            let mut below = Vec::new();
            for (i, fd) in fds.iter().enumerate() {
                let at = proc_path(fd, Some(&name));
                let Ok(meta) = fs::symlink_metadata(&at) else { continue };
                if is_whiteout(&meta) {
                    break;
                }
                let is_dir = meta.is_dir();
                if top.as_ref().is_some_and(|(_, t)| !t.is_dir()) || (top.is_some() && !is_dir) {
                    break;
                }
                if is_dir {
                    below.push(openat(fd.as_fd(), name.as_os_str(), dir_flags(), Mode::empty())?);
                }
                let opaque = is_dir && is_opaque(&at);
                top.get_or_insert((i, meta));
                if opaque {
                    break;
                }
            }
            let Some((i, meta)) = top else { continue };
            let path = rel.join(&name);
            self.entry(&fds[i], &name, &path, &meta)?;
            if meta.is_dir() {
                self.merged(&below, &path)?;
            }
        }
        Ok(())
    }

    /// Packs one entry `name` of directory `fd` as `path` (a directory's
    /// header only).
    fn entry(
        &mut self,
        fd: &OwnedFd,
        name: &OsStr,
        path: &Path,
        meta: &fs::Metadata,
    ) -> io::Result<()> {
        let (at, kind, path) = (proc_path(fd, Some(name)), meta.file_type(), path.to_path_buf());
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        self.xattrs(&at)?;
        if kind.is_dir() {
            header.set_size(0);
            self.tar.append_data(&mut header, &path, io::empty())?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&at)?;
            self.tar.append_link(&mut header, &path, target)?;
        } else if let Some(first) = (meta.nlink() > 1 && kind.is_file())
            .then(|| self.links.get(&(meta.dev(), meta.ino())))
            .flatten()
        {
            let first = first.clone();
            header.set_entry_type(tar::EntryType::Link);
            header.set_size(0);
            self.tar.append_link(&mut header, &path, first)?;
        } else if kind.is_file() {
            let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let file = fs::File::from(openat(fd.as_fd(), name, flags, Mode::empty())?);
            // The header says meta.len() bytes: exactly those, even if a
            // running container changes the file meanwhile.
            let mut copied = CountingReader { inner: io::Read::take(file, meta.len()), count: 0 };
            self.tar.append_data(&mut header, &path, &mut copied)?;
            if copied.count != meta.len() {
                let why = format!("{} shrank while it was packed", path.display());
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, why));
            }
            if meta.nlink() > 1 {
                self.links.insert((meta.dev(), meta.ino()), path);
            }
        } else {
            // Devices, fifos, sockets: the header says it all.
            header.set_size(0);
            self.tar.append_data(&mut header, &path, io::empty())?;
        }
        Ok(())
    }

    fn empty_file(&mut self, path: &Path, like: &fs::Metadata) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(0);
        header.set_mtime(like.mtime().max(0) as u64);
        self.tar.append_data(&mut header, path, io::empty())
    }

    /// Writes a PAX header with the xattrs of `at`, if it has any that
    /// are not overlayfs's.
    fn xattrs(&mut self, at: &Path) -> io::Result<()> {
        let found: Vec<(String, Vec<u8>)> = list_xattrs(at)?
            .into_iter()
            .filter(|n| !n.starts_with("trusted.overlay.") && !n.starts_with("user.overlay."))
            .filter_map(|n| get_xattr(at, &n).map(|v| (format!("SCHILY.xattr.{n}"), v)))
            .collect();
        if !found.is_empty() {
            self.tar
                .append_pax_extensions(found.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
        }
        Ok(())
    }
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: io::Read> io::Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// `/proc/self/fd/N[/NAME]`: a path that reaches NAME in directory `fd`
/// without resolving anything but `fd` itself (the l* calls do not follow
/// NAME if it is a symlink).
fn proc_path(fd: &OwnedFd, name: Option<&OsStr>) -> PathBuf {
    let dir = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    match name {
        Some(name) => dir.join(name),
        None => dir,
    }
}

fn is_opaque(at: &Path) -> bool {
    OPAQUE_XATTRS.iter().any(|attr| get_xattr(at, attr).as_deref() == Some(b"y"))
}

fn list_xattrs(at: &Path) -> io::Result<Vec<String>> {
    let path = CString::new(at.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: a NUL-terminated path and a buffer of the length given.
    let n = unsafe { libc::llistxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        // Filesystems without xattrs have none to list.
        return if e.raw_os_error() == Some(libc::ENOTSUP) { Ok(vec![]) } else { Err(e) };
    }
    buf.truncate(n as usize);
    Ok(buf
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| OsString::from_vec(n.to_vec()).to_string_lossy().into_owned())
        .collect())
}

fn get_xattr(at: &Path, name: &str) -> Option<Vec<u8>> {
    let path = CString::new(at.as_os_str().as_bytes()).ok()?;
    let name = CString::new(name).ok()?;
    let mut buf = vec![0u8; 65536];
    // SAFETY: NUL-terminated strings and a buffer of the length given.
    let n = unsafe {
        libc::lgetxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
    };
    (n >= 0).then(|| {
        buf.truncate(n as usize);
        buf
    })
}
