//! `dockerish cp [-a] [-L] SRC DST`: files between a container and the
//! host, either way, or a tar stream (`-`) in or out; running containers
//! and stopped ones alike.
//!
//! # Paths are resolved by the kernel, inside the container
//!
//! A container's files are not the host's to trust: if it holds
//! `/data -> /etc`, a copy to `CONTAINER:/data/x` must land in the
//! container's /etc, never the host's. So the container's side of a copy
//! runs in a forked child *rooted in the container* (Docker's chrootarchive
//! does the same), where every path, symlink and `..` resolves as the
//! container's own processes see it, and the two sides pass a tar stream
//! over a pipe:
//!
//! - a **running** container: its root and mount namespace are opened from
//!   /proc/PID first, then setns(2) into the mount namespace (and its user
//!   namespace, with `--userns`, as its root), fchdir(2) to its root and
//!   chroot("."), as `ns-exec --target` joins it; volumes are seen as the
//!   container sees them.
//! - a **stopped** one: a new mount namespace of the child's own
//!   (unshare(2)), its overlay and volumes mounted there with rootfs's
//!   code, then chroot into it. When the child exits the namespace goes,
//!   and every mount with it: nothing to unmount, nothing to leak.
//!
//! The child holds no descriptor of a host directory once it is in, so no
//! `openat(.., "..")` can climb out. The host side is the user's own, and
//! is written as `cp` would: through the paths given.
//!
//! # Docker's rules
//!
//! `SRC` a file: copied to `DST`, or into `DST` if that is a directory.
//! `SRC` a directory: copied as `DST` if that does not exist, else into it;
//! `SRC/.`: its contents. `-a` keeps owners (else files belong to whoever
//! copies: root); modes and times are always kept. `-L` follows a symlink
//! `SRC`; otherwise a symlink is copied as one.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{chdir, chroot, fchdir, fork, pipe2, ForkResult};

use crate::error::{Error, Result, ToolError};
use crate::state::{Container, Containers};
use tool_cli::human;

/// One side of a copy.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// `-`: a tar stream on stdin or stdout.
    Stream,
    Host(PathBuf),
    /// `CONTAINER:PATH`.
    Container(String, PathBuf),
}

fn parse_end(text: &str) -> End {
    if text == "-" {
        return End::Stream;
    }
    // As Docker's: a colon before any slash names a container (a host path
    // with a colon is written ./a:b).
    match text.split_once(':') {
        Some((name, path)) if !name.is_empty() && !name.contains('/') => {
            End::Container(name.into(), PathBuf::from(path))
        }
        _ => End::Host(PathBuf::from(text)),
    }
}

/// How a copy is made.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// `-a`: keep owners.
    pub archive: bool,
    /// `-L`: follow a symlink SRC.
    pub follow: bool,
}

pub fn cp(root: &Path, src: &str, dst: &str, options: Options) -> Result<i32> {
    let bad = |why: &str| Error::invalid("cp", format!("{src} {dst}"), why.to_string());
    let (from, to) = (parse_end(src), parse_end(dst));
    let containers = Containers::open(root)?;
    // A side that stops early closes its end of the pipe: the other gets
    // EPIPE (an error it reports), not SIGPIPE (a silent death).
    // SAFETY: installing SIG_IGN runs no code of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    match (from, to) {
        (End::Container(key, path), to @ (End::Host(_) | End::Stream)) => {
            let container = containers.find(&key)?;
            let path = in_container(&path, &bad)?;
            let (read, write) = pipe()?;
            let name = container.config.name.clone();
            let child = in_root(&container, read.as_fd(), move || {
                pack(&path, options.follow, File::from(write)).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => {
                        format!("Could not find the file {} in container {name}", path.display())
                    }
                    _ => format!("{}: {e}", path.display()),
                })
            })?;
            let copied = match &to {
                End::Stream => count(File::from(read), io::stdout().lock()),
                End::Host(dst) => {
                    let mut input = Counter { inner: File::from(read), bytes: 0 };
                    // Set-id bits do not land on the host without -a.
                    let done = extract(&mut input, dst, options, !options.archive);
                    done.map(|()| input.bytes).map_err(|e| e.to_string())
                }
                End::Container(..) => unreachable!(),
            };
            let copied = child.finish(copied)?;
            if let End::Host(dst) = to {
                eprintln!("Successfully copied {} to {}", human::size(copied), dst.display());
            }
            Ok(0)
        }
        (from @ (End::Host(_) | End::Stream), End::Container(key, path)) => {
            let container = containers.find(&key)?;
            let dst = in_container(&path, &bad)?;
            if let End::Host(src) = &from {
                // Before the child starts: a missing source changes nothing.
                metadata(src, options.follow)?;
            }
            let (read, write) = pipe()?;
            let stream = matches!(from, End::Stream);
            let child = in_root(&container, write.as_fd(), move || {
                let mut input = File::from(read);
                let done = match stream {
                    true => extract_stream(&mut input, &dst, options),
                    false => extract(&mut input, &dst, options, false),
                };
                done.map_err(|e| e.to_string())
            })?;
            let sent = match &from {
                End::Stream => count(io::stdin().lock(), File::from(write)),
                End::Host(src) => {
                    let mut out = Counter { inner: File::from(write), bytes: 0 };
                    pack(src, options.follow, &mut out)
                        .map(|()| out.bytes)
                        .map_err(|e| e.to_string())
                }
                End::Container(..) => unreachable!(),
            };
            let sent = child.finish(sent)?;
            if !stream {
                eprintln!("Successfully copied {} to {key}:{}", human::size(sent), path.display());
            }
            Ok(0)
        }
        (End::Container(..), End::Container(..)) => {
            Err(bad("copying between containers is not supported"))
        }
        _ => Err(bad("must specify at least one container source (CONTAINER:PATH)")),
    }
}

/// A container path: absolute (a relative one is taken from `/`, as
/// Docker's working directory for cp is the root).
fn in_container(path: &Path, bad: &dyn Fn(&str) -> Error) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(bad("the container path is empty"));
    }
    Ok(Path::new("/").join(path))
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("create", "a pipe", e))
}

fn count(mut from: impl Read, mut to: impl Write) -> std::result::Result<u64, String> {
    let n = io::copy(&mut from, &mut to).map_err(|e| e.to_string())?;
    to.flush().map_err(|e| e.to_string())?;
    Ok(n)
}

/// Counts the bytes that pass.
struct Counter<T> {
    inner: T,
    bytes: u64,
}

impl<T: Read> Read for Counter<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<T: Write> Write for Counter<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The forked child that works inside the container.
struct Child {
    pid: nix::unistd::Pid,
    /// What it says when it fails.
    errors: File,
}

impl Child {
    /// Waits for the child; its failure, or ours (`ours`), is the error.
    fn finish(mut self, ours: std::result::Result<u64, String>) -> Result<u64> {
        let status =
            waitpid(self.pid, None).map_err(|e| Error::sys("wait for", "cp's child", e))?;
        let mut said = String::new();
        let _ = self.errors.read_to_string(&mut said);
        let fail = |why: String| Error::Tool { tool: "cp".into(), why };
        // Whose failure it is: a side that stopped leaves the other only a
        // broken pipe or a cut stream to say.
        let echo = |why: &str| why.contains("Broken pipe") || why.contains("unexpected end");
        match status {
            WaitStatus::Exited(_, 0) => ours.map_err(fail),
            _ if ours.as_ref().is_err_and(|why| !echo(why)) => Err(fail(ours.unwrap_err())),
            _ if !said.is_empty() => Err(fail(said)),
            _ => Err(fail(ours.err().unwrap_or_else(|| format!("its child ended: {status:?}")))),
        }
    }
}

/// Forks a child that enters the container's root (see the module docs)
/// and runs `work` there. The caller is single-threaded (fork(2) keeps
/// only the calling thread).
fn in_root(
    container: &Container,
    parent_end: BorrowedFd<'_>,
    work: impl FnOnce() -> std::result::Result<(), String>,
) -> Result<Child> {
    if container.init_pid().is_none() && container.state.starting() {
        // Its supervisor is about to mount the same layers: not both.
        let why = "it is starting (or restarting): try again once it runs or has stopped";
        return Err(Error::invalid("cp of container", container.short_id(), why));
    }
    let (err_read, err_write) = pipe()?;
    // Opened before the fork: the host's /proc is needed to find them.
    let running = match container.init_pid() {
        Some(pid) => Some(open_namespaces(pid)?),
        None => None,
    };
    if running.is_none() && container.config.security.userns.is_some() {
        let why = "it runs in a user namespace and is stopped: start it to copy its files";
        return Err(Error::invalid("cp of container", container.short_id(), why));
    }
    let config = container.config.clone();
    let dir = container.dir.clone();
    // SAFETY: dockerish is single-threaded here; the child runs only this
    // code and leaves with _exit(2).
    match unsafe { fork() }.map_err(|e| Error::sys("fork", "cp's child", e))? {
        ForkResult::Parent { child } => Ok(Child { pid: child, errors: File::from(err_read) }),
        ForkResult::Child => {
            drop(err_read);
            // The parent's end of the data pipe: held here too, it would
            // keep the pipe open after the parent is done with it (no EOF,
            // no EPIPE) and the two would wait on each other.
            // SAFETY: the child's own copy of the descriptor; nothing else
            // in the child uses it.
            unsafe { libc::close(parent_end.as_raw_fd()) };
            let entered = match running {
                Some(ns) => ns.enter(),
                None => mount_stopped(&config, &dir),
            };
            let done = entered.and_then(|()| work());
            let code = match done {
                Ok(()) => 0,
                Err(why) => {
                    let _ = File::from(err_write).write_all(why.as_bytes());
                    1
                }
            };
            // SAFETY: ends the forked child without running the parent's
            // exit handlers or flushing its buffers twice.
            unsafe { libc::_exit(code) }
        }
    }
}

/// A running container's root, mount namespace and (with `--userns`) user
/// namespace, opened from the host's /proc.
struct Namespaces {
    root: File,
    mnt: File,
    user: Option<File>,
}

fn open_namespaces(pid: i32) -> Result<Namespaces> {
    let open = |what: &str| {
        let path = format!("/proc/{pid}/{what}");
        File::open(&path).map_err(Error::io("open", &path))
    };
    let user = match (ns_id(pid, "user"), ns_id(std::process::id() as i32, "user")) {
        (Some(theirs), Some(ours)) if theirs != ours => Some(open("ns/user")?),
        _ => None,
    };
    Ok(Namespaces { root: open("root")?, mnt: open("ns/mnt")?, user })
}

fn ns_id(pid: i32, kind: &str) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()
}

impl Namespaces {
    /// setns(2) into the mount namespace, then the user one (the mount
    /// namespace is the host user namespace's: it must be joined while we
    /// still have the host's privilege), then the container's root:
    /// setns leaves us at the namespace's root mount, so fchdir to the
    /// root its init sees and chroot there. Then root of its user
    /// namespace, so what we write is owned as its root's files are.
    fn enter(self) -> std::result::Result<(), String> {
        fn sys(what: &'static str) -> impl Fn(nix::Error) -> String {
            move |e| format!("{what}: {}", e.desc())
        }
        setns(&self.mnt, CloneFlags::CLONE_NEWNS).map_err(sys("join the mount namespace"))?;
        if let Some(user) = &self.user {
            setns(user, CloneFlags::CLONE_NEWUSER).map_err(sys("join the user namespace"))?;
            nix::unistd::setresgid(0.into(), 0.into(), 0.into()).map_err(sys("setresgid 0"))?;
            nix::unistd::setresuid(0.into(), 0.into(), 0.into()).map_err(sys("setresuid 0"))?;
        }
        fchdir(&self.root).map_err(sys("go to the container's root"))?;
        chroot(".").map_err(sys("chroot into the container's root"))?;
        chdir("/").map_err(sys("chdir /"))
    }
}

/// A stopped container's root, mounted in a mount namespace of our own:
/// its overlay (image layers under its writable layer) and its volumes.
fn mount_stopped(config: &crate::state::Config, dir: &Path) -> std::result::Result<(), String> {
    let mounted = || -> rootfs::Result<PathBuf> {
        unshare(CloneFlags::CLONE_NEWNS)
            .map_err(|e| rootfs::Error::sys("unshare", "the mount namespace", e))?;
        // Nothing mounted here may reach the host's namespace.
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| rootfs::Error::sys("make private", "/ (recursively)", e))?;
        let [upper, work, merged] = ["upper", "work", "merged"].map(|d| dir.join(d));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir_all(d).map_err(rootfs::Error::io("create", d))?;
        }
        rootfs::mounts::overlay(&config.layers, &upper, &work, &merged, false, false)?;
        let root = inroot::open_dir(&merged)?;
        for volume in &config.volumes {
            rootfs::mounts::volume(&root, volume, false)?;
        }
        Ok(merged)
    };
    let merged = mounted().map_err(|e| e.to_string())?;
    chroot(&merged).map_err(|e| format!("chroot into {}: {}", merged.display(), e.desc()))?;
    chdir("/").map_err(|e| format!("chdir /: {}", e.desc()))
}

fn metadata(path: &Path, follow: bool) -> Result<std::fs::Metadata> {
    let meta = if follow { std::fs::metadata(path) } else { std::fs::symlink_metadata(path) };
    meta.map_err(Error::io("copy", path))
}

/// Whether `path` names a directory's contents (`DIR/.`).
fn contents_of(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().ends_with(b"/.")
}

/// Packs `src` into a tar on `out`: one top entry named as `src` is
/// (`.` for the contents of `DIR/.`), and what a directory holds beneath.
fn pack(src: &Path, follow: bool, out: impl Write) -> io::Result<()> {
    let meta = if follow { std::fs::metadata(src)? } else { std::fs::symlink_metadata(src)? };
    // Named as given (`-L` of a link keeps the link's name, as Docker's),
    // read where it leads.
    let name = match src.file_name() {
        Some(name) if !contents_of(src) => PathBuf::from(name),
        _ => PathBuf::from("."),
    };
    let src = if follow { std::fs::canonicalize(src)? } else { src.to_path_buf() };
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    if meta.is_dir() {
        tar.append_dir_all(&name, &src)?;
    } else {
        tar.append_path_with_name(&src, &name)?;
    }
    tar.into_inner()?.flush()
}

fn archive<R: Read>(input: R, options: Options) -> tar::Archive<R> {
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(options.archive);
    archive.set_overwrite(true);
    archive
}

/// Unpacks a tar made by [`pack`] by Docker's rules for `dst` (see the
/// module docs); `strip_setid`: without the setuid and setgid bits.
fn extract(
    input: &mut impl Read,
    dst: &Path,
    options: Options,
    strip_setid: bool,
) -> io::Result<()> {
    let existing = std::fs::metadata(dst).ok();
    let mut archive = archive(input, options);
    let mut top_is_dir = None;
    let mut contents = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        // `DIR/.` was packed as `.`: then every entry is of its contents.
        let contents =
            *contents.get_or_insert_with(|| path.components().all(|c| c == Component::CurDir));
        let mut parts = path.components().filter(|c| *c != Component::CurDir);
        let top = if contents { None } else { parts.next() };
        let rest: PathBuf = parts.collect();
        let top_dir = *top_is_dir.get_or_insert(entry.header().entry_type().is_dir());
        // Where it goes: the entry's path below `dst`; without its top
        // into a new `dst` (which is the top itself) and for contents.
        let rel = match (&existing, top) {
            (Some(m), Some(top)) if m.is_dir() => join(Path::new(&top), &rest),
            (Some(m), None) if m.is_dir() => rest,
            (Some(_), _) if top_dir => {
                let why = format!("cannot copy a directory to a file: {}", dst.display());
                return Err(io::Error::other(why));
            }
            (Some(_), _) => PathBuf::new(),
            (None, _) => {
                let parent = dst.parent().filter(|p| !p.as_os_str().is_empty());
                let parent = parent.unwrap_or(Path::new("."));
                if !parent.is_dir() {
                    let why = format!("no such directory: {}", parent.display());
                    return Err(io::Error::other(why));
                }
                if !top_dir && dst.as_os_str().as_encoded_bytes().ends_with(b"/") {
                    return Err(io::Error::other(format!("not a directory: {}", dst.display())));
                }
                rest
            }
        };
        unpack(&mut entry, dst, &rel)?;
        if strip_setid && entry.header().entry_type().is_file() {
            use std::os::unix::fs::PermissionsExt;
            let to = join(dst, &rel);
            let mode = std::fs::symlink_metadata(&to)?.permissions().mode();
            if mode & 0o6000 != 0 {
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode & !0o6000))?;
            }
        }
    }
    drain(archive)
}

/// `a/b`; `a` itself for an empty `b` (Path::join would add a slash, and
/// a file's name with a slash is a directory's).
fn join(a: &Path, b: &Path) -> PathBuf {
    match b.as_os_str().is_empty() {
        true => a.to_path_buf(),
        false => a.join(b),
    }
}

/// Unpacks any tar (`cp - CONTAINER:DIR`) into the directory `dst`.
fn extract_stream(input: &mut impl Read, dst: &Path, options: Options) -> io::Result<()> {
    if !std::fs::metadata(dst).is_ok_and(|m| m.is_dir()) {
        return Err(io::Error::other(format!("not a directory: {}", dst.display())));
    }
    let mut archive = archive(input, options);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = entry.path()?.into_owned();
        unpack(&mut entry, dst, &rel)?;
    }
    drain(archive)
}

/// Reads what follows the end-of-archive blocks to the end. The tar reader
/// stops at the first zero block, but a writer may send more (GNU tar pads
/// to its 10 KiB record): closing the pipe on it would fail the sender with
/// EPIPE after a copy that worked.
fn drain(archive: tar::Archive<impl Read>) -> io::Result<()> {
    io::copy(&mut archive.into_inner(), &mut io::sink()).map(drop)
}

/// Writes one entry at `base/rel`, refusing a `rel` that climbs (`..`,
/// `/x`) and a symlink among the directories between (tar's own rule for
/// unpack_in: no entry is written through a link an earlier one made).
fn unpack(entry: &mut tar::Entry<impl Read>, base: &Path, rel: &Path) -> io::Result<()> {
    let refused = |why: &str| io::Error::other(format!("{why}: {}", rel.display()));
    if !rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(refused("refused a tar entry that climbs out"));
    }
    let mut at = base.to_path_buf();
    let parents: Vec<_> = rel.parent().into_iter().flat_map(|p| p.components()).collect();
    for part in parents {
        at.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refused("refused a tar entry beneath a symlink"));
        }
    }
    let to = join(base, rel);
    // An existing directory stays (its contents merge), as with cp -r; a
    // symlink there is not gone through (tar would chmod where it leads).
    let existing = std::fs::symlink_metadata(&to).ok();
    if entry.header().entry_type().is_dir() {
        match existing {
            Some(m) if m.is_dir() => return Ok(()),
            Some(m) if m.file_type().is_symlink() => {
                return Err(refused("refused to copy a directory onto a symlink"))
            }
            _ => {}
        }
    }
    entry.unpack(&to).map(drop)
}
