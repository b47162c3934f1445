//! Extracting a tar into a layer directory without letting it out.
//!
//! A tar is untrusted input. Three tricks try to write outside the target:
//!
//! - an absolute name (`/etc/passwd`);
//! - `..` in a name (`../../etc/passwd`);
//! - a symlink entry (`evil -> /etc`) followed by an entry *through* it
//!   (`evil/passwd`), or a hard link whose target lies outside.
//!
//! The first two are refused by looking at the name. For the third, every
//! entry's parent directory is opened with openat2(2) and
//! `RESOLVE_BENEATH`, which fails (EXDEV) if resolution would leave the
//! layer directory by any route, symlinks included; the entry itself is then
//! created relative to that descriptor, never following a symlink in its last
//! component (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`). Symlinks themselves are
//! stored as they are: `/etc` in a link means the container's `/etc`.
//!
//! Owners, modes (setuid included), extended attributes (file capabilities
//! such as ping's `security.capability`, from PAX `SCHILY.xattr.*` records)
//! and modification times are kept, as the image needs them; directory times
//! are set last, since creating entries in a directory changes its time.
//!
//! ## Whiteouts: a layer that deletes
//!
//! An image layer deletes a file of the layers below it with an empty
//! entry `.wh.NAME` beside it, and hides a whole directory's lower contents
//! with `DIR/.wh..wh..opq` (the OCI image spec, layer.md). overlayfs says
//! the same in its own way (filesystems/overlayfs.rst): a *whiteout* is a
//! character device 0/0 named NAME, an *opaque* directory carries the xattr
//! `trusted.overlay.opaque=y` (`user.overlay.opaque` when mounted with
//! `userxattr` in a user namespace; set too where the filesystem has user
//! xattrs). The conversion happens
//! here, once, so the stored layers stack in overlayfs exactly as the image
//! means. overlayfs's own xattrs in an archive are dropped: a layer must not
//! redirect or hide paths but by whiteouts.
//!
//! ## The rest of the tar
//!
//! The [`Recorder`] keeps what `save` needs to give the tar back byte for
//! byte (see [`crate::tarsplit`]). A tar cut short inside an entry is
//! refused; one that ends at an entry boundary without tar's end-of-archive
//! blocks is taken, as Docker and containerd take it (umoci writes those).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{
    fchmodat, fstatat, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use crate::error::{Error, Result, ToolError};
use crate::tarsplit::Recorder;

/// The prefix of a whiteout entry's name, and the name of the opaque marker.
pub const WHITEOUT: &str = ".wh.";
pub const OPAQUE: &str = ".wh..wh..opq";
/// The xattrs that make a directory opaque to overlayfs (the usual one,
/// and the one of mounts with `userxattr`).
pub const OPAQUE_XATTRS: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];

/// What an extraction wrote.
#[derive(Debug, Default)]
pub struct Unpacked {
    /// Bytes of regular file data.
    pub size: u64,
    pub entries: u64,
}

/// Extracts `archive` into the empty directory `dir`, recording it in
/// `recorder`.
pub fn unpack<R: Read>(archive: R, dir: &Path, recorder: &Recorder) -> Result<Unpacked> {
    let root = inroot::open_dir(dir)?;
    let mut archive = tar::Archive::new(recorder.reader(archive));
    let mut done = Unpacked::default();
    let mut dir_times = Vec::new();
    // Names whose contents the record points at (see tarsplit.rs).
    let mut with_contents = std::collections::HashSet::new();
    let entries = archive.entries().map_err(Error::io("read tar", dir))?;
    for entry in entries {
        let mut entry = entry.map_err(Error::io("read tar entry in", "the archive"))?;
        let raw =
            entry.path().map_err(Error::io("read entry name in", "the archive"))?.into_owned();
        let Some(name) = clean_name(&raw)? else { continue };
        let header = entry.header().clone();
        let kind = header.entry_type();
        let shown = raw.display().to_string();
        let unsafe_entry = |why: String| Error::UnsafeEntry { entry: shown.clone(), why };

        if with_contents.contains(&name) {
            let why = "a second entry for a file the archive already gave contents".to_string();
            return Err(unsafe_entry(why));
        }
        let (parent, file) = open_parent(&root, &name).map_err(&unsafe_entry)?;
        let meta = Meta {
            mode: Mode::from_bits_truncate(header.mode().unwrap_or(0o644) & 0o7777),
            uid: header.uid().unwrap_or(0) as u32,
            gid: header.gid().unwrap_or(0) as u32,
            mtime: header.mtime().unwrap_or(0) as i64,
        };
        let fail = |what: &'static str| {
            let target = shown.clone();
            move |e: Errno| Error::sys(what, target, e)
        };
        let xattrs = xattrs(&mut entry).map_err(|e| unsafe_entry(e.to_string()))?;

        if let Some(hidden) = file.to_str().and_then(|f| f.strip_prefix(WHITEOUT)) {
            if file == OPAQUE {
                let [trusted, user] = OPAQUE_XATTRS;
                set_xattr(&parent, None, trusted, b"y").map_err(fail("mark opaque"))?;
                // Only `userxattr` mounts read it, and tmpfs before Linux
                // 6.6 has no user.* xattrs: there the layer does without.
                match set_xattr(&parent, None, user, b"y") {
                    Ok(()) | Err(Errno::EOPNOTSUPP) => {}
                    Err(e) => return Err(fail("mark opaque")(e)),
                }
            } else if !hidden.starts_with(WHITEOUT) && !hidden.is_empty() {
                // (`.wh..wh.*` other than the opaque marker are aufs's
                // bookkeeping, meaningless here.)
                let hidden = OsStr::new(hidden);
                replace(&parent, hidden).map_err(fail("replace with a whiteout"))?;
                mknodat(parent.as_fd(), hidden, SFlag::S_IFCHR, Mode::empty(), 0)
                    .map_err(fail("create the whiteout for"))?;
            }
            done.entries += 1;
            continue;
        }

        if kind.is_dir() {
            match mkdirat(parent.as_fd(), file, Mode::from_bits_truncate(0o700)) {
                Ok(()) => {}
                Err(Errno::EEXIST) if is_dir(&parent, file) => {}
                Err(Errno::EEXIST) => {
                    remove(&parent, file).map_err(fail("replace"))?;
                    mkdirat(parent.as_fd(), file, Mode::from_bits_truncate(0o700))
                        .map_err(fail("create directory"))?;
                }
                Err(e) => return Err(fail("create directory")(e)),
            }
            meta.apply(&parent, file, &xattrs, false)
                .map_err(fail("set owner, mode and time of"))?;
            dir_times.push((name, meta.mtime));
        } else if kind.is_file() || kind.is_contiguous() {
            replace(&parent, file).map_err(fail("replace"))?;
            let flags = OFlag::O_CREAT
                | OFlag::O_EXCL
                | OFlag::O_WRONLY
                | OFlag::O_NOFOLLOW
                | OFlag::O_CLOEXEC;
            let fd = openat(parent.as_fd(), file, flags, Mode::from_bits_truncate(0o600))
                .map_err(fail("create"))?;
            let size = entry.size();
            if size > 0 {
                with_contents.insert(name.clone());
            }
            let written = recorder
                .contents(&name, size, || io::copy(&mut entry, &mut File::from(fd)))
                .and_then(|copied| copied)
                .map_err(Error::io("write", &raw))?;
            if written != size {
                let why = format!("{written} of its {size} bytes: the archive is cut short");
                return Err(unsafe_entry(why));
            }
            done.size += written;
            meta.apply(&parent, file, &xattrs, false)
                .map_err(fail("set owner, mode and time of"))?;
        } else if kind.is_symlink() {
            let target = entry
                .link_name()
                .map_err(Error::io("read link target of", &raw))?
                .ok_or_else(|| unsafe_entry("a symlink without a target".into()))?;
            replace(&parent, file).map_err(fail("replace"))?;
            symlinkat(target.as_ref(), parent.as_fd(), file).map_err(fail("create symlink"))?;
            meta.apply(&parent, file, &xattrs, true).map_err(fail("set owner and time of"))?;
        } else if kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(Error::io("read link target of", &raw))?
                .ok_or_else(|| unsafe_entry("a hard link without a target".into()))?;
            let target_name = clean_name(&target)?
                .ok_or_else(|| unsafe_entry("a hard link to the root".into()))?;
            let (target_parent, target_file) = open_parent(&root, &target_name)
                .map_err(|e| unsafe_entry(format!("link target: {e}")))?;
            replace(&parent, file).map_err(fail("replace"))?;
            linkat(target_parent.as_fd(), target_file, parent.as_fd(), file, AtFlags::empty())
                .map_err(fail("create hard link"))?;
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            let sflag = if kind.is_fifo() {
                SFlag::S_IFIFO
            } else if kind.is_block_special() {
                SFlag::S_IFBLK
            } else {
                SFlag::S_IFCHR
            };
            let major = header.device_major().ok().flatten().unwrap_or(0);
            let minor = header.device_minor().ok().flatten().unwrap_or(0);
            replace(&parent, file).map_err(fail("replace"))?;
            mknodat(parent.as_fd(), file, sflag, meta.mode, libc::makedev(major, minor))
                .map_err(fail("create device"))?;
            meta.apply(&parent, file, &xattrs, false)
                .map_err(fail("set owner, mode and time of"))?;
        } else if kind.is_gnu_sparse() {
            return Err(unsafe_entry("sparse files are not supported".into()));
        } else {
            // PAX and GNU extension headers are consumed by the tar crate;
            // anything else is a type we do not know how to store.
            return Err(unsafe_entry(format!("unsupported entry type {:?}", kind)));
        }
        done.entries += 1;
    }
    for (name, mtime) in dir_times.iter().rev() {
        if let Ok((parent, file)) = open_parent(&root, name) {
            let t = TimeSpec::new(*mtime, 0);
            let _ = utimensat(parent.as_fd(), file, &t, &t, UtimensatFlags::NoFollowSymlink);
        }
    }
    Ok(done)
}

/// The relative path of an entry, or `None` for the root itself (`./`).
/// An absolute name is taken relative to the layer's root, as Docker and
/// containerd take it (umoci writes `/` and `/bin` entries); `..` is refused.
fn clean_name(raw: &Path) -> Result<Option<PathBuf>> {
    let mut clean = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::Prefix(_) => {
                return Err(Error::UnsafeEntry {
                    entry: raw.display().to_string(),
                    why: "a path prefix".into(),
                })
            }
            Component::ParentDir => {
                return Err(Error::UnsafeEntry {
                    entry: raw.display().to_string(),
                    why: "'..' in the path".into(),
                })
            }
        }
    }
    Ok((!clean.as_os_str().is_empty()).then_some(clean))
}

/// Opens the directory that will hold `name`, which must stay beneath
/// `root`. Returns it with the last component of `name`.
fn open_parent<'n>(
    root: &OwnedFd,
    name: &'n Path,
) -> std::result::Result<(OwnedFd, &'n OsStr), String> {
    let file = name.file_name().ok_or("no file name")?;
    let parent = name.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let mut opened = openat2(root.as_fd(), parent, how);
    if matches!(opened, Err(Errno::ENOENT)) {
        // Like tar and Docker, create missing parents (mode 0755). Each one
        // is made beneath a directory opened with RESOLVE_BENEATH, so this
        // cannot escape either.
        let mut prefix = PathBuf::new();
        for part in parent.components() {
            let at = if prefix.as_os_str().is_empty() { Path::new(".") } else { prefix.as_path() };
            let dir = openat2(root.as_fd(), at, how).map_err(|e| e.desc().to_string())?;
            match mkdirat(dir.as_fd(), part.as_os_str(), Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => {
                    return Err(format!("create {}: {}", prefix.join(part).display(), e.desc()))
                }
            }
            prefix.push(part);
        }
        opened = openat2(root.as_fd(), parent, how);
    }
    match opened {
        Ok(fd) => Ok((fd, file)),
        Err(Errno::EXDEV) => {
            Err(format!("{} leads outside the image through a symlink", parent.display()))
        }
        Err(Errno::ENOTDIR) => Err(format!("{} is not a directory", parent.display())),
        Err(e) => Err(format!("open {}: {}", parent.display(), e.desc())),
    }
}

fn is_dir(parent: &OwnedFd, name: &OsStr) -> bool {
    fstatat(parent.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
        .unwrap_or(false)
}

/// Removes `name` if it exists (a later entry replaces an earlier one, as
/// tar does), except a directory, which a non-directory cannot replace.
fn replace(parent: &OwnedFd, name: &OsStr) -> nix::Result<()> {
    if is_dir(parent, name) {
        return Err(Errno::EISDIR);
    }
    match unlinkat(parent.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

fn remove(parent: &OwnedFd, name: &OsStr) -> nix::Result<()> {
    unlinkat(parent.as_fd(), name, UnlinkatFlags::NoRemoveDir)
}

/// The extended attributes a PAX header gives the entry
/// (`SCHILY.xattr.NAME=VALUE`, as GNU tar and Docker write them), less
/// overlayfs's own.
fn xattrs<R: Read>(entry: &mut tar::Entry<R>) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    let Some(extensions) = entry.pax_extensions()? else { return Ok(found) };
    for extension in extensions {
        let extension = extension?;
        let Ok(key) = extension.key() else { continue };
        if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
            if name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") {
                continue;
            }
            found.push((name.to_string(), extension.value_bytes().to_vec()));
        }
    }
    Ok(found)
}

/// Sets xattr `attr` on `name` in `dir` (or on `dir` itself), not
/// following a symlink. There is no fd-relative lsetxattr before Linux
/// 6.13's setxattrat(2), so the path goes through `/proc/self/fd`: the
/// directory is the one opened beneath the layer, the last component is
/// not followed (lsetxattr). `dir` itself is reached through its magic
/// link, which setxattr must follow (lsetxattr would act on the link).
fn set_xattr(dir: &OwnedFd, name: Option<&OsStr>, attr: &str, value: &[u8]) -> nix::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let mut path = inroot::fd_path(dir).into_bytes();
    if let Some(name) = name {
        path.push(b'/');
        path.extend_from_slice(name.as_bytes());
    }
    let path = std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?;
    let attr = std::ffi::CString::new(attr).map_err(|_| Errno::EINVAL)?;
    // SAFETY: both strings are NUL-terminated and outlive the call; the
    // value is a valid buffer of its length.
    let (ptr, len) = (value.as_ptr().cast(), value.len());
    let rc = unsafe {
        match name {
            Some(_) => libc::lsetxattr(path.as_ptr(), attr.as_ptr(), ptr, len, 0),
            None => libc::setxattr(path.as_ptr(), attr.as_ptr(), ptr, len, 0),
        }
    };
    Errno::result(rc).map(drop)
}

/// Owner, mode and time from the tar header.
struct Meta {
    mode: Mode,
    uid: u32,
    gid: u32,
    mtime: i64,
}

impl Meta {
    /// Owner first: chown(2) clears the setuid and setgid bits and the
    /// file capability (`security.capability`), so the mode and the xattrs
    /// must come after it. Symlinks have no mode of their own.
    fn apply(
        &self,
        parent: &OwnedFd,
        name: &OsStr,
        xattrs: &[(String, Vec<u8>)],
        symlink: bool,
    ) -> nix::Result<()> {
        fchownat(
            parent.as_fd(),
            name,
            Some(Uid::from_raw(self.uid)),
            Some(Gid::from_raw(self.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
        if !symlink {
            fchmodat(parent.as_fd(), name, self.mode, FchmodatFlags::NoFollowSymlink)?;
        }
        for (attr, value) in xattrs {
            set_xattr(parent, Some(name), attr, value)?;
        }
        let t = TimeSpec::new(self.mtime, 0);
        utimensat(parent.as_fd(), name, &t, &t, UtimensatFlags::NoFollowSymlink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_escapes_refused() {
        assert_eq!(clean_name(Path::new("./bin/sh")).unwrap(), Some(PathBuf::from("bin/sh")));
        assert_eq!(clean_name(Path::new("./")).unwrap(), None);
        assert_eq!(
            clean_name(Path::new("/etc/passwd")).unwrap(),
            Some(PathBuf::from("etc/passwd"))
        );
        assert!(clean_name(Path::new("a/../../etc")).is_err());
    }
}
