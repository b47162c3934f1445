//! # rootfs: assemble a container's root and pivot_root into it
//!
//! A container's filesystem is an ordinary mount tree, built in a mount
//! namespace of its own (mount_namespaces(7)) so that the host never sees
//! it, then made the process's `/` with pivot_root(2). [`enter`] does it in
//! this order, each step for a reason:
//!
//! 0. **The start report** (`--start-socket`): connect to the runtime's
//!    socket first, while its host path can still be reached. A failure of
//!    any later step is written there; a successful execve(2) closes the
//!    close-on-exec connection, which tells the runtime the command runs
//!    (the `console-socket` crate's `start` module).
//! 1. **A mount namespace of our own.** If we are still in the host's (the
//!    same as PID 1's, or PID 1's cannot be read), unshare(2) one: nothing
//!    below can then touch the host's mount table, whoever runs rootfs.
//!    Under `ns-exec --mount` this is already so, and `--no-unshare` says
//!    so: a nested namespace would leave `ns-exec --init`'s init outside
//!    the root that `docker exec` must enter through it.
//! 2. **Everything private** (`mount --make-rprivate /`). A copied mount
//!    namespace keeps the propagation of the original, and on systemd hosts
//!    `/` is shared: our mounts would appear on the host, and unmounting the
//!    old root in step 6 would unmount the host's /proc (the "broken host
//!    /proc after exit" bug). pivot_root also fails with EINVAL when the new
//!    root's parent mount is shared.
//! 3. **The overlay**: image layers read-only below, the container's
//!    writable `upper/` on top, mounted on `merged/`; with `--nodev` (the
//!    front's default) a device node in an image or a volume cannot be
//!    opened: only /dev's own nodes work. With `--userns` the user
//!    namespace is made first and the layers are shifted to it (idmapped
//!    mounts, or copies: [`userns`]).
//! 4. **Kernel filesystems and devices**, mounted *before* the pivot: a user
//!    namespace may mount proc or sysfs only while a fully visible instance
//!    of it is in its mount namespace, and the host's still is. Targets are
//!    resolved inside the new root so that image symlinks cannot redirect
//!    a mount onto the host (`inroot`). `--device` nodes are made in /dev
//!    here, with their host node's type, numbers and mode.
//! 5. **Volumes and /etc files** (bind mounts), the working directory, then
//!    the read-only remount of the root if asked: after it nothing can be
//!    created in the root any more.
//!    With `--console-socket`, the terminal is made now, in the container's
//!    own devpts, while the socket's host path can still be reached
//!    (`console`).
//! 6. **pivot_root(".", ".")** then `umount2(".", MNT_DETACH)`: the new root
//!    becomes `/`, the old one is stacked on it and detached at once, so no
//!    directory for it is needed (the root may be read-only by now). With
//!    the old root gone, no path leads back to the host's files.
//! 7. **`--sysctl`s**, through the container's own /proc (so into its
//!    namespaces), then the **masked and read-only kernel paths**
//!    (/proc/kcore, /proc/sys, …), unless `--unmask`: after them /proc/sys
//!    cannot be written.
//! 8. chdir to the working directory.
//! 9. With `--userns`, setns(2) into the user namespace as its root: every
//!    mount is made by now, by the host's root. Then the **privileges**
//!    (`privs`): resource limits, no_new_privs, the capability sets, the user
//!    (`--user`, resolved in the container's /etc/passwd now that it is
//!    `/`), the seccomp filter — in the order `privs::Prepared::apply`
//!    explains. The filter was compiled before step 1, so a bad profile
//!    changes nothing.
//! 10. execve(2) the command with exactly the given environment.
//!
//! When the last process of the mount namespace exits, the kernel unmounts
//! the whole tree: a container that crashes leaks no mount.

pub mod bundle;
pub mod console;
pub mod error;
mod etc;
pub mod exec;
pub mod mounts;
pub mod spec;
pub mod userns;

use console_socket::start::Reporter;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::stat;
use nix::unistd::{chdir, gethostname, pivot_root};

pub use error::{Error, Result, ToolError};
pub use etc::MOUNTED as MOUNTED_ETC_FILES;
pub use spec::{Device, HostEntry, Spec, Sysctl, Volume};

/// Builds the root described by `spec`, enters it and execs the command.
/// Returns only on failure.
pub fn enter(spec: &Spec) -> Error {
    // Step 0: the start report, connected before anything changes, while
    // the socket's host path can still be reached.
    let report = match connect_report(spec.start_socket.as_deref()) {
        Ok(report) => report,
        Err(e) => return e,
    };
    let err = match spec.security.prepare().map_err(Error::from).and_then(|security| {
        let userns = build_and_pivot(spec)?;
        if let Some(ns) = userns {
            // The limits first: in the namespace the host's CAP_SYS_RESOURCE is gone.
            security.set_limits()?;
            userns::enter(&ns)?;
        }
        security.apply(|| become_user(spec))
    }) {
        Ok(()) => exec::exec(&spec.command, &exec::environment(&spec.env)),
        Err(err) => err,
    };
    if let Some(reporter) = report {
        reporter.failed(&format!("rootfs: {err}"));
    }
    err
}

/// Step 0, `--start-socket`: the connection a failure is reported on.
pub(crate) fn connect_report(path: Option<&std::path::Path>) -> Result<Option<Reporter>> {
    path.map(|p| Reporter::connect(p).map_err(Error::io("connect to the start socket", p)))
        .transpose()
}

/// Steps 1–8; returns the user namespace to enter (`--userns`).
fn build_and_pivot(spec: &Spec) -> Result<Option<std::os::fd::OwnedFd>> {
    spec.validate()?;
    if !spec.no_unshare {
        own_mount_namespace()?;
    }
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .map_err(|e| Error::sys("make private", "/ (recursively)", e))?;

    let in_userns = in_user_namespace();
    // Before the pivot /proc is still the host's: PID 1 is the host's init.
    let own_netns = spec::ns_id("/proc/self/ns/net") != spec::ns_id("/proc/1/ns/net");
    let [upper, work, merged] = ["upper", "work", "merged"].map(|d| spec.dir.join(d));
    for d in [&upper, &work, &merged] {
        std::fs::create_dir_all(d).map_err(Error::io("create", d))?;
    }
    // --userns: the namespace first, then the layers as it sees them.
    let (new_userns, layers) = match spec.userns {
        Some(_) if in_userns => {
            let why = "needs the host's root: we run in a user namespace already";
            return Err(Error::invalid("--userns", "", why));
        }
        Some(range) => {
            let ns = userns::make(range)?;
            let shifted = spec.dir.join("shifted");
            let mut layers = Vec::new();
            for (i, layer) in spec.layers.iter().enumerate() {
                layers.push(userns::shift_layer(layer, &ns, &shifted, i, range)?);
            }
            (Some(ns), layers)
        }
        None => (None, spec.layers.clone()),
    };
    mounts::overlay(&layers, &upper, &work, &merged, in_userns, spec.nodev)?;
    let root = inroot::open_dir(&merged)?;

    mounts::proc(&root)?;
    mounts::sys(&root, !spec.unmask)?;
    mounts::dev(&root, in_userns)?;
    for device in &spec.devices {
        mounts::device(&root, device)?;
    }

    let hostname = match &spec.hostname {
        Some(name) => name.clone(),
        None => gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    etc::install(&root, &spec.dir, "hostname", &format!("{hostname}\n"))?;
    match &spec.hosts_file {
        Some(file) => etc::bind(&root, file, "hosts")?,
        None => etc::install(&root, &spec.dir, "hosts", &etc::hosts(&spec.extra_hosts))?,
    }
    etc::install(&root, &spec.dir, "resolv.conf", &etc::resolv_conf(&host_resolv, &spec.dns))?;

    for volume in &spec.volumes {
        mounts::volume(&root, volume, spec.nodev)?;
    }
    inroot::create(&root, &spec.workdir, inroot::Kind::Dir)?;
    if spec.read_only {
        mounts::remount_read_only(&inroot::fd_path(&root))?;
    }
    if let Some(socket) = &spec.console_socket {
        console::setup(&root, socket)?;
    }
    drop(root);

    chdir(&merged).map_err(|e| Error::sys("change directory to", merged.display(), e))?;
    pivot_root(".", ".").map_err(|e| Error::sys("pivot_root to", merged.display(), e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| Error::sys("detach", "the old root", e))?;
    chdir("/").map_err(|e| Error::sys("change directory to", "/", e))?;

    if new_userns.is_some() && own_netns {
        // Ports below 1024 need CAP_NET_BIND_SERVICE in the user namespace
        // that owns the network namespace: the host's, which root of ours
        // is not. Docker sets the same for every container; first, so that
        // a --sysctl of the user's for the same key wins.
        let port_start =
            Sysctl { key: "net.ipv4.ip_unprivileged_port_start".into(), value: "0".into() };
        set_sysctls(&[port_start])?;
    }
    set_sysctls(&spec.sysctls)?;
    if !spec.unmask {
        mounts::mask_kernel_paths()?;
    }
    chdir(&spec.workdir)
        .map_err(|e| Error::sys("change directory to", spec.workdir.display(), e))?;
    Ok(new_userns)
}

/// Step 9's user change: `--user` resolved in the container's own files,
/// with the `--group-add` groups (root's, without `--user`).
fn become_user(spec: &Spec) -> Result<()> {
    let root = || privs::user::UserSpec { user: "0".into(), group: None };
    let user = match (&spec.user, spec.group_add.is_empty()) {
        (Some(user), _) => user.clone(),
        (None, false) => root(),
        (None, true) => return Ok(()),
    };
    user.resolve_here_with(&spec.group_add)?.apply()?;
    Ok(())
}

/// Step 7's sysctls: written through the container's own /proc, so each
/// lands in the container's namespaces, before /proc/sys is made
/// read-only ([`Spec::validate`] refused net.* keys without a network
/// namespace of the container's own).
fn set_sysctls(sysctls: &[Sysctl]) -> Result<()> {
    for sysctl in sysctls {
        std::fs::write(sysctl.file(), &sysctl.value)
            .map_err(Error::io("set sysctl", sysctl.file()))?;
    }
    Ok(())
}

/// Step 1: unshare a mount namespace unless we already have one that is not
/// the host's. "The host's" is PID 1's as seen in our /proc; when that
/// cannot be read we unshare anyway, since a nested namespace costs little.
fn own_mount_namespace() -> Result<()> {
    let ns = |p: &str| stat(p).map(|s| (s.st_dev, s.st_ino));
    match (ns("/proc/self/ns/mnt"), ns("/proc/1/ns/mnt")) {
        (Ok(ours), Ok(init)) if ours != init => Ok(()),
        _ => unshare(CloneFlags::CLONE_NEWNS)
            .map_err(|e| Error::sys("unshare", "a mount namespace", e)),
    }
}

/// Whether we run in a user namespace other than the host's, whose uid map
/// is the identity over all ids.
pub(crate) fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
        .unwrap_or(false)
}
