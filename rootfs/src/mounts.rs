//! The mounts that make a root: overlayfs, the kernel filesystems, /dev,
//! bind mounts, and the read-only and masked paths. See mount(2),
//! overlayfs (Documentation/filesystems/overlayfs.rst), proc(5), sysfs(5).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fchmodat, mknodat, FchmodatFlags, Mode, SFlag};
use nix::sys::statvfs::{statvfs, FsFlags};
use nix::unistd::symlinkat;

use crate::error::{Error, Result, ToolError};
use crate::spec::Volume;
use inroot::{fd_path, Kind};

fn mount_err(what: &'static str, target: impl std::fmt::Display) -> impl FnOnce(Errno) -> Error {
    move |e| Error::sys(what, target, e)
}

/// Mounts the overlay of `layers` (topmost first) with the writable
/// `upper` on `merged`.
///
/// overlayfs shows the union of the directories: a file comes from the
/// topmost layer that has it; writes go to `upper` (a file is first copied
/// up whole); a deletion leaves a *whiteout* (a 0/0 character device) in
/// `upper`. `work` is overlayfs's scratch space and must be on the same
/// filesystem as `upper`. The root directory of the merged tree takes its
/// owner and mode from `upper`, so `upper` is given the top layer's.
pub fn overlay(
    layers: &[impl AsRef<Path>],
    upper: &Path,
    work: &Path,
    merged: &Path,
    userns: bool,
    nodev: bool,
) -> Result<()> {
    let top = layers[0].as_ref();
    let meta = std::fs::metadata(top).map_err(Error::io("stat layer", top))?;
    let io = |source| Error::io("set owner and mode of", upper)(source);
    std::fs::set_permissions(upper, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(io)?;
    match std::os::unix::fs::chown(upper, Some(meta.uid()), Some(meta.gid())) {
        // In a user namespace the layer's owner may be unmapped (EINVAL):
        // the root directory then stays ours.
        Err(e) if userns && e.raw_os_error() == Some(libc::EINVAL) => {}
        other => other.map_err(io)?,
    }
    // The options are one page at most (4096 bytes), and a layer's full
    // path takes about 100: an image of more than ~35 layers would not fit.
    // Layers of one store share a directory, so they are named relative to
    // it and the mount is made from there (mount(2) resolves relative
    // lowerdirs from the caller's working directory; Docker's overlay2
    // driver does the same with short links): 65 bytes each, ~60 layers.
    let parent = layers[0].as_ref().parent();
    let shared = parent.filter(|p| layers.iter().all(|l| l.as_ref().parent() == Some(*p)));
    let lower: Vec<_> = match shared {
        Some(_) => layers
            .iter()
            .map(|l| l.as_ref().file_name().unwrap_or_default().to_string_lossy().into_owned())
            .collect(),
        None => layers.iter().map(|l| l.as_ref().display().to_string()).collect(),
    };
    let absolute = |p: &Path| std::path::absolute(p).map_err(Error::io("resolve", p));
    let mut options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        absolute(upper)?.display(),
        absolute(work)?.display()
    );
    // In a user namespace overlayfs may not set trusted.* xattrs; it keeps
    // its whiteout and opaque markers in user.* xattrs instead.
    if userns {
        options.push_str(",userxattr");
    }
    // The options are one page at most: many layers with long paths do not fit.
    if options.len() >= 4096 {
        return Err(Error::invalid(
            "overlay options",
            format!("{} bytes", options.len()),
            "longer than a page (4096): too many layers",
        ));
    }
    let flags = if nodev { MsFlags::MS_NODEV } else { MsFlags::empty() };
    let back = std::env::current_dir().map_err(Error::io("read the working directory", "."))?;
    if let Some(dir) = shared {
        std::env::set_current_dir(dir).map_err(Error::io("change directory to", dir))?;
    }
    let merged = absolute(merged)?;
    let mounted = mount(Some("overlay"), &merged, Some("overlay"), flags, Some(options.as_str()))
        .map_err(mount_err("mount overlay on", merged.display()));
    std::env::set_current_dir(&back).map_err(Error::io("change directory to", &back))?;
    mounted
}

/// proc at /proc: it shows the pid namespace of the process that mounts
/// it, which is why a container needs its own.
pub fn proc(root: &OwnedFd) -> Result<()> {
    let target = inroot::create(root, Path::new("/proc"), Kind::Dir)?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), fd_path(&target).as_str(), Some("proc"), flags, None::<&str>)
        .map_err(mount_err("mount proc on", "/proc"))
}

/// sysfs at /sys, read-only (but for `--unmask`). sysfs shows the network devices of the
/// mounter's network namespace, and the kernel lets a user namespace mount
/// it only if it owns that network namespace. Without one (rootless with
/// the host's network) we bind the host's /sys instead, as rootless runc.
pub fn sys(root: &OwnedFd, read_only: bool) -> Result<()> {
    let target = inroot::create(root, Path::new("/sys"), Kind::Dir)?;
    let path = fd_path(&target);
    let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if read_only {
        flags |= MsFlags::MS_RDONLY;
    }
    match mount(Some("sysfs"), path.as_str(), Some("sysfs"), flags, None::<&str>) {
        Err(Errno::EPERM) => {
            mount(
                Some("/sys"),
                path.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(mount_err("bind the host's /sys on", "/sys"))?;
            if !read_only {
                return Ok(());
            }
            remount_in(root, Path::new("/sys"), MsFlags::MS_RDONLY)
        }
        other => other.map_err(mount_err("mount sysfs on", "/sys")),
    }
}

/// Character devices a program expects: (name, major, minor).
pub(crate) const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// /dev as Docker makes it: a small tmpfs with the basic devices, a private
/// devpts instance for terminals, /dev/shm, /dev/mqueue and the fd links.
/// The host's /dev is never shared: its disks and consoles stay outside.
pub fn dev(root: &OwnedFd, userns: bool) -> Result<()> {
    let dev = inroot::create(root, Path::new("/dev"), Kind::Dir)?;
    let nosuid = MsFlags::MS_NOSUID;
    mount(
        Some("tmpfs"),
        fd_path(&dev).as_str(),
        Some("tmpfs"),
        nosuid | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .map_err(mount_err("mount tmpfs on", "/dev"))?;
    // The tmpfs now covers the directory we opened: reopen to be inside it.
    let dev = inroot::open(root, Path::new("/dev")).map_err(mount_err("open", "/dev"))?;

    for (name, major, minor) in DEVICES {
        make_device(&dev, name, major, minor)?;
    }

    let sub = |name: &str| inroot::create(root, &Path::new("/dev").join(name), Kind::Dir);
    // A new devpts instance: the container's ptys are its own, numbered
    // from 0. gid=5 (tty) is valid only if group 5 is mapped.
    let pts = sub("pts")?;
    let pts_opts = if userns && !gid_mapped(5) {
        "newinstance,ptmxmode=0666,mode=0620"
    } else {
        "newinstance,ptmxmode=0666,mode=0620,gid=5"
    };
    mount(
        Some("devpts"),
        fd_path(&pts).as_str(),
        Some("devpts"),
        nosuid | MsFlags::MS_NOEXEC,
        Some(pts_opts),
    )
    .map_err(mount_err("mount devpts on", "/dev/pts"))?;
    let shm = sub("shm")?;
    mount(
        Some("shm"),
        fd_path(&shm).as_str(),
        Some("tmpfs"),
        nosuid | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(mount_err("mount tmpfs on", "/dev/shm"))?;
    // mqueue shows the POSIX message queues of the mounter's IPC namespace;
    // a user namespace may mount it only if it owns that IPC namespace.
    // Without one (rootless, no --ipc) the directory stays empty, as with
    // rootless runc: there are no queues of our own to show.
    let mqueue = sub("mqueue")?;
    match mount(
        Some("mqueue"),
        fd_path(&mqueue).as_str(),
        Some("mqueue"),
        nosuid | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    ) {
        Err(Errno::EPERM) if userns => {}
        other => other.map_err(mount_err("mount mqueue on", "/dev/mqueue"))?,
    }

    links(&dev)
}

/// /dev's symbolic links: ptmx to devpts's, fd and the standard streams to
/// /proc/self/fd, core to /proc/kcore. One that exists already is kept.
pub(crate) fn links(dev: &OwnedFd) -> Result<()> {
    let links = [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("core", "/proc/kcore"),
    ];
    for (name, target) in links {
        match symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys("create symlink", format!("/dev/{name}"), e)),
        }
    }
    Ok(())
}

/// A host device given with `--device`, made again at its place in the
/// container's /dev (parent directories created).
pub fn device(root: &OwnedFd, device: &crate::spec::Device) -> Result<()> {
    let (kind, rdev, mode) = device.host_node()?;
    let parent = device.container.parent().expect("a path below /dev has a parent");
    let dir = inroot::create(root, parent, Kind::Dir)?;
    let name = device.container.file_name().expect("a path below /dev has a name");
    // The same name as one of /dev's own (--device /dev/null): the host's wins.
    match nix::unistd::unlinkat(dir.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys("replace", device.container.display(), e)),
    }
    let node = Node { kind, rdev, mode: Mode::from_bits_truncate(mode), host: &device.host };
    make_node(&dir, Path::new(name), &node, &device.container)
}

/// A device node to make: its type, numbers and mode, and the host's node
/// of the same, for the bind mount of [`make_node`].
pub(crate) struct Node<'a> {
    pub kind: SFlag,
    pub rdev: u64,
    pub mode: Mode,
    pub host: &'a Path,
}

/// mknod(2) of one of /dev's own character devices, mode 0666.
pub(crate) fn make_device(dev: &OwnedFd, name: &str, major: u64, minor: u64) -> Result<()> {
    let host = Path::new("/dev").join(name);
    let rdev = libc::makedev(major as u32, minor as u32);
    let node =
        Node { kind: SFlag::S_IFCHR, rdev, mode: Mode::from_bits_truncate(0o666), host: &host };
    make_node(dev, Path::new(name), &node, &host)
}

/// mknod(2) of `node` as `name` in `dir` (`shown` in errors). A user
/// namespace may not create device nodes (it could then open any disk), so
/// there we bind-mount the host's node onto an empty file instead.
pub(crate) fn make_node(dir: &OwnedFd, name: &Path, node: &Node, shown: &Path) -> Result<()> {
    match mknodat(dir.as_fd(), name, node.kind, node.mode, node.rdev) {
        Ok(()) => {
            // mknod honours the umask; set the mode the device must have.
            fchmodat(dir.as_fd(), name, node.mode, FchmodatFlags::FollowSymlink)
                .map_err(mount_err("set mode of", shown.display()))
        }
        Err(Errno::EPERM) => {
            let target = openat(
                dir.as_fd(),
                name,
                OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                node.mode,
            )
            .map_err(mount_err("create", shown.display()))?;
            mount(
                Some(node.host),
                fd_path(&target).as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(mount_err("bind the host's device on", shown.display()))
        }
        Err(e) => Err(Error::sys("create device", shown.display(), e)),
    }
}

/// Whether `gid` is mapped in our user namespace.
fn gid_mapped(gid: u32) -> bool {
    std::fs::read_to_string("/proc/self/gid_map")
        .map(|map| {
            map.lines().any(|l| {
                let f: Vec<u64> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
                f.len() == 3 && f[0] <= u64::from(gid) && u64::from(gid) < f[0] + f[2]
            })
        })
        .unwrap_or(false)
}

/// A host file or directory bind-mounted into the root, read-only if
/// asked, and with `nodev` device nodes in it cannot be opened.
pub fn volume(root: &OwnedFd, volume: &Volume, nodev: bool) -> Result<()> {
    let kind = if volume.source.is_dir() { Kind::Dir } else { Kind::File };
    let target = inroot::create(root, &volume.target, kind)?;
    let path = fd_path(&target);
    mount(
        Some(&volume.source),
        path.as_str(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(mount_err("bind-mount", volume))?;
    let mut extra = MsFlags::empty();
    if volume.read_only {
        extra |= MsFlags::MS_RDONLY;
    }
    if nodev {
        extra |= MsFlags::MS_NODEV;
    }
    if !extra.is_empty() {
        remount_in(root, &volume.target, extra)?;
    }
    Ok(())
}

/// Adds `extra` to the flags of the mount at `path` in `root`. The
/// descriptor a mount was made on still names the directory *under* the
/// new mount, so the path is looked up again to name the mount itself
/// (else EINVAL).
fn remount_in(root: &OwnedFd, path: &Path, extra: MsFlags) -> Result<()> {
    let mounted = inroot::open(root, path).map_err(|e| Error::sys("open", path.display(), e))?;
    remount_bind(&fd_path(&mounted), extra)
}

/// Makes the mount at `path` read-only.
///
/// A bind mount cannot be made read-only by the first mount(2): MS_RDONLY
/// is ignored with MS_BIND, so it takes a second call with
/// MS_REMOUNT|MS_BIND|MS_RDONLY. That call sets *all* per-mount flags, and
/// in a user namespace the kernel refuses to clear the nosuid/nodev/noexec
/// flags it locked, so we pass along those the mount already has.
pub fn remount_read_only(path: &str) -> Result<()> {
    remount_bind(path, MsFlags::MS_RDONLY)
}

/// Adds `extra` (MS_RDONLY, MS_NODEV) to the flags of the mount at `path`.
pub(crate) fn remount_bind(path: &str, extra: MsFlags) -> Result<()> {
    let current = statvfs(path).map_err(mount_err("statvfs", path))?.flags();
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | extra;
    for (st, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if current.contains(st) {
            flags |= ms;
        }
    }
    let what = match (extra.contains(MsFlags::MS_RDONLY), extra.contains(MsFlags::MS_NODEV)) {
        (true, true) => "remount read-only and nodev",
        (true, false) => "remount read-only",
        _ => "remount nodev",
    };
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>).map_err(mount_err(what, path))
}

/// Paths of /proc and /sys that reveal or control the host, hidden the way
/// Docker's default profile hides them: files under /dev/null, directories
/// under an empty read-only tmpfs.
pub const MASKED: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths of /proc that stay visible but read-only (kernel tunables, the
/// sysrq trigger, IRQ affinity).
pub const READ_ONLY: [&str; 5] =
    ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// Applies [`MASKED`] and [`READ_ONLY`]; run after pivot_root, so the paths
/// are the container's own.
pub fn mask_kernel_paths() -> Result<()> {
    mask_paths(&MASKED, &READ_ONLY)
}

/// Hides each of `masked` (a file under /dev/null, a directory under an
/// empty read-only tmpfs) and makes each of `read_only` a read-only bind
/// mount of itself; paths this kernel does not have are skipped.
pub fn mask_paths(masked: &[impl AsRef<str>], read_only: &[impl AsRef<str>]) -> Result<()> {
    for path in masked.iter().map(AsRef::as_ref) {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(_) => continue, // not on this kernel
        };
        let res = if meta.is_dir() {
            mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::MS_RDONLY, Some("size=0"))
        } else {
            mount(Some("/dev/null"), path, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        };
        res.map_err(mount_err("mask", path))?;
    }
    for path in read_only.iter().map(AsRef::as_ref) {
        if !Path::new(path).exists() {
            continue;
        }
        mount(Some(path), path, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
            .map_err(mount_err("bind", path))?;
        remount_read_only(path)?;
    }
    Ok(())
}
