//! # `rootfs bundle`: the root an OCI bundle describes, and its process
//!
//! The OCI runtime specification (runtime-spec's config.md and
//! config-linux.md) describes a container as a *bundle*: a directory with a
//! `config.json` and, at `root.path`, a root filesystem that is already
//! assembled (no image layers: whoever made the bundle unpacked them). Where
//! `rootfs enter` decides the mounts (Docker's), here config.json does, in
//! its order; the kernel work is the same, in the same order, and for the
//! same reasons as [`crate::enter`]'s steps:
//!
//! 0. **The start report** is connected first (`--start-socket`), while
//!    the runtime's socket can still be reached; a failure of any step
//!    below is written there.
//! 1. **Checks and compiles**: the process's capabilities, rlimits and
//!    seccomp filter (`linux.seccomp`, compiled by libseccomp now, so a
//!    bad profile changes nothing). The five capability sets are applied
//!    as config.json gives them (privs: bounding, inheritable, ambient,
//!    then permitted and effective at the exec). Every inherited
//!    descriptor past stdio and `--preserve-fds` is marked close-on-exec
//!    (the `--mount-fd` trees too: step 3 uses them before the exec).
//! 2. **Propagation of `/`**: *rslave* as runc does (a host unmount still
//!    reaches us; nothing of ours reaches the host), or private if
//!    `linux.rootfsPropagation` says so; a shared one is set on the new
//!    `/` after the pivot, since a shared parent makes pivot_root fail. Then the root is bind-mounted on itself: pivot_root(2)
//!    needs a mount point, and a bundle's root is usually a plain
//!    directory.
//! 3. **`mounts`, in order**, each target resolved inside the root
//!    (`inroot`, so a symlink in the bundle cannot point a mount at the
//!    host), created as a directory, or as a file for a bind mount of one.
//!    Options are mount(8)'s: flags (`ro`, `nosuid`, `rbind` …),
//!    propagation (`rprivate` …), and the rest passed to the filesystem
//!    (`mode=755`, `newinstance`). A bind mount's flags take a second
//!    mount(2) (MS_REMOUNT|MS_BIND). An *idmapped* bind (`idmap`,
//!    `ridmap`, or the mount's own `uidMappings`) is a detached clone of
//!    the source given a mapping and attached instead ([`idmapped_source`];
//!    made by the runtime and inherited when the container has a user
//!    namespace, whose root may not make one). A `cgroup` mount is cgroup2 on a
//!    cgroup v2 host, and on a v1 or hybrid host a tmpfs with each host
//!    hierarchy mounted again inside (seen from the container's cgroup
//!    namespace).
//! 4. **/dev**: the devices every container has (null, zero, full, random,
//!    urandom, tty), those of `linux.devices`, and /dev's links (fd,
//!    stdin, ptmx …). With `process.terminal` and `--console-socket`, the
//!    terminal is made in the container's devpts and its master sent.
//! 5. **pivot_root(".", ".")** and the old root detached, as in `enter`.
//! 6. `root.readonly`, then **`linux.sysctl`**, then **`maskedPaths`** and
//!    **`readonlyPaths`** (after them /proc/sys cannot be written).
//! 7. `process.cwd`, and the program looked up in the process's PATH: a
//!    missing program fails `create`, not `start` (as with runc).
//! 8. **The privileges**, in `privs::Prepared::apply`'s order: rlimits,
//!    no_new_privs, the bounding set, the user (`process.user`'s uid, gid
//!    and additionalGids), the capability sets, the seccomp filter. The
//!    `oomScoreAdj` is written before, while we may still lower it.
//! 9. **The exec fifo** (`--exec-fifo`, runc's create/start split): the
//!    start report is closed (create returns: the container is *created*),
//!    then opening the fifo for writing blocks until `start` opens it for
//!    reading. Only then execve(2): the container is *running*. The fifo
//!    was opened O_PATH before the pivot, and is reopened through
//!    /proc/self/fd, since its host path is gone from our view.

use std::collections::HashSet;
use std::ffi::CString;
use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use console_socket::start::Reporter;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{chdir, pivot_root};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount, Spec as Config};

use crate::error::{Error, Result, ToolError};
use crate::mounts;
use inroot::{fd_path, Kind};

/// What `rootfs bundle` is given.
pub struct Bundle {
    /// The bundle directory; a relative `root.path` or mount source is
    /// relative to it.
    pub dir: PathBuf,
    pub config: Config,
    /// runc's exec fifo: wait for `start` here before execve.
    pub exec_fifo: Option<PathBuf>,
    /// Where to send the terminal's master (`process.terminal`).
    pub console_socket: Option<PathBuf>,
    /// Where to report the start (step 0).
    pub start_socket: Option<PathBuf>,
    /// The runtime's hook fifos, `PREFIX.ready` and `PREFIX.go` (step 3's end).
    pub hooks_sync: Option<PathBuf>,
    /// Descriptors 3..3+N go to the program too (runc's --preserve-fds).
    pub preserve_fds: u32,
    /// Idmapped trees made by the runtime ([`idmapped_source`]), by the
    /// index of their entry in `mounts`.
    pub mount_fds: Vec<(usize, OwnedFd)>,
}

impl Bundle {
    /// Reads `DIR/config.json`.
    pub fn load(dir: &Path) -> Result<Config> {
        Bundle::load_file(&dir.join("config.json"))
    }

    /// Reads a config.json.
    pub fn load_file(file: &Path) -> Result<Config> {
        Config::load(file)
            .map_err(|e| Error::invalid("config.json", file.display().to_string(), e.to_string()))
    }

    /// Reads a config.json from descriptor `fd`, which is ours to close.
    pub fn load_fd(fd: i32) -> Result<Config> {
        use std::os::fd::FromRawFd;
        let what = format!("descriptor {fd}");
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if fd < 3 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(Error::invalid("--config-fd", fd.to_string(), "not an open descriptor"));
        }
        // SAFETY: an inherited descriptor nothing else in this process owns.
        let file = unsafe { fs::File::from_raw_fd(fd) };
        serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| Error::invalid("config.json", what, e.to_string()))
    }

    fn root_path(&self) -> Result<PathBuf> {
        let root = self.config.root().as_ref().ok_or_else(|| {
            Error::invalid("config.json", "root", "has no root.path (the container's root)")
        })?;
        Ok(self.dir.join(root.path()))
    }
}

/// `linux.personality`: the execution domain personality(2) sets, kept
/// across fork and execve. `LINUX32` makes uname(2) report a 32-bit
/// machine (`i686` on x86-64: what `linux32`/`setarch` do for a 32-bit
/// userland's configure scripts); `LINUX` is the default. No flags are
/// defined by the runtime-spec, so any is refused.
pub fn personality(config: &Config) -> Result<Option<libc::c_ulong>> {
    use oci_spec::runtime::LinuxPersonalityDomain;
    let Some(persona) = config.linux().as_ref().and_then(|l| l.personality().as_ref()) else {
        return Ok(None);
    };
    if let Some(flag) = persona.flags().iter().flatten().next() {
        return Err(Error::invalid("linux.personality.flags", flag, "no flags are supported"));
    }
    const PER_LINUX: libc::c_ulong = 0x0000;
    const PER_LINUX32: libc::c_ulong = 0x0008;
    Ok(Some(match persona.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    }))
}

/// personality(2) for this process and what it runs.
fn set_personality(persona: libc::c_ulong) -> Result<()> {
    // SAFETY: personality(2) takes a plain value; -1 is its error.
    let res = unsafe { libc::personality(persona) };
    nix::errno::Errno::result(res)
        .map(drop)
        .map_err(|e| Error::sys("set personality", format!("{persona:#x}"), e))
}

/// The `--mount-fd INDEX=FD` descriptors, ours from now on. Each must be
/// open, above stdio and the `--preserve-fds` range (which reaches the
/// program as it is), and given once.
pub fn inherited_mount_fds(texts: &[String], preserve_fds: u32) -> Result<Vec<(usize, OwnedFd)>> {
    use std::os::fd::FromRawFd;
    let mut seen: Vec<(usize, i32)> = Vec::new();
    for text in texts {
        let bad = |why: &str| Error::invalid("--mount-fd", text, why.to_string());
        let (index, fd) = text.split_once('=').ok_or_else(|| bad("expected INDEX=FD"))?;
        let index: usize = index.parse().map_err(|_| bad("INDEX is not a number"))?;
        let fd: i32 = fd.parse().map_err(|_| bad("FD is not a number"))?;
        if fd < 3 + preserve_fds as i32 {
            return Err(bad("FD is stdio or one of --preserve-fds"));
        }
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(bad("FD is not an open descriptor"));
        }
        if seen.iter().any(|&(i, f)| i == index || f == fd) {
            return Err(bad("INDEX or FD given twice"));
        }
        seen.push((index, fd));
    }
    // SAFETY: inherited descriptors, each once, nothing else here owns.
    Ok(seen.into_iter().map(|(i, fd)| (i, unsafe { OwnedFd::from_raw_fd(fd) })).collect())
}

/// Enters the bundle's root and execs its process. Returns only on failure.
pub fn enter(mut bundle: Bundle) -> Error {
    let mount_fds = std::mem::take(&mut bundle.mount_fds);
    let bundle = &bundle;
    let mut report = match crate::connect_report(bundle.start_socket.as_deref()) {
        Ok(report) => report,
        Err(e) => return e,
    };
    let err = match run(bundle, mount_fds, &mut report) {
        Ok(never) => match never {},
        Err(err) => err,
    };
    if let Some(reporter) = report {
        reporter.failed(&format!("rootfs: {err}"));
    } else {
        eprintln!("rootfs: {err}");
    }
    err
}

enum Never {}

fn run(
    bundle: &Bundle,
    mount_fds: Vec<(usize, OwnedFd)>,
    report: &mut Option<Reporter>,
) -> Result<Never> {
    let config = &bundle.config;
    // No descriptor we were given reaches the program but stdio and the
    // `--preserve-fds` ones after them (runc's rule; a leaked host
    // directory descriptor is a way out of the root, CVE-2024-21626).
    let first = 3 + bundle.preserve_fds;
    // SAFETY: close_range(2) with CLOSE_RANGE_CLOEXEC only sets flags.
    let res =
        unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    nix::errno::Errno::result(res)
        .map_err(|e| Error::sys("mark close-on-exec", format!("descriptors from {first}"), e))?;
    let process = config
        .process()
        .as_ref()
        .ok_or_else(|| Error::invalid("config.json", "process", "has no process to run"))?;
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(Error::invalid("config.json", "process.args", "is empty"));
    }
    let argv = args
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::invalid("config.json", "process.args", "has a NUL byte"))?;
    let env = process.env().clone().unwrap_or_default();
    let env_c = crate::exec::environment(&env);
    let security = prepare_security(config)?;
    let persona = personality(config)?;
    let fifo = match &bundle.exec_fifo {
        Some(path) => Some(
            open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| Error::sys("open", path.display(), e))?,
        ),
        None => None,
    };

    let root_path = bundle.root_path()?;
    let state = build_and_pivot(bundle, &root_path, mount_fds)?;

    let linux = config.linux().as_ref();
    if config.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
        mounts::remount_read_only("/")?;
    }
    if let Some(sysctls) = linux.and_then(|l| l.sysctl().as_ref()) {
        for (key, value) in sysctls {
            // Checked as `--sysctl` is: only keys of the container's own
            // namespaces, never a path of the host's.
            let sysctl: crate::Sysctl = format!("{key}={value}").parse()?;
            std::fs::write(sysctl.file(), value).map_err(Error::io("set sysctl", sysctl.file()))?;
        }
    }
    let none = Vec::new();
    let masked = linux.and_then(|l| l.masked_paths().as_ref()).unwrap_or(&none);
    let read_only = linux.and_then(|l| l.readonly_paths().as_ref()).unwrap_or(&none);
    mounts::mask_paths(masked, read_only)?;

    let cwd = process.cwd();
    chdir(cwd).map_err(|e| Error::sys("change directory to", cwd.display(), e))?;
    let program = crate::exec::find(&argv[0], &env_c)?;
    if let Some(persona) = persona {
        set_personality(persona)?;
    }
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(Error::io("set", "/proc/self/oom_score_adj"))?;
    }
    let user = process.user();
    let ids = privs::user::Ids {
        uid: user.uid(),
        gid: user.gid(),
        groups: user.additional_gids().clone().unwrap_or_default(),
    };
    security.apply(|| -> Result<()> {
        ids.apply()?;
        // Step 9: created. The report closes (create returns), and
        // opening the fifo blocks until start opens its other end.
        if let Some(reporter) = report.take() {
            drop(reporter);
        }
        if let Some(fifo) = &fifo {
            let path = fd_path(fifo);
            let fd = open(path.as_str(), OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| Error::sys("open", "the exec fifo", e))?;
            nix::unistd::write(&fd, b"0").map_err(|e| Error::sys("write", "the exec fifo", e))?;
        }
        // Started: the container's startContainer hooks, then the program.
        let hooks = config.hooks().as_ref();
        run_hooks("startContainer", hooks.and_then(|h| h.start_container().as_ref()), &state)
    })?;
    let Err(errno) = nix::unistd::execve(&program, &argv, &env_c);
    Err(Error::Exec { command: args[0].clone(), source: errno })
}

/// Step 1: the process's capabilities (the five sets, kept by a non-root
/// user too), no_new_privs, rlimits, and the seccomp filter compiled.
fn prepare_security(config: &Config) -> Result<privs::Prepared> {
    let process = config.process().as_ref().expect("checked by the caller");
    let ulimits = ulimits(process)
        .iter()
        .map(|text| text.parse::<privs::rlimit::Rlimit>())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let security = privs::Security {
        caps: None,
        cap_sets: process_caps(process)?,
        no_new_privs: process.no_new_privileges().unwrap_or(false),
        seccomp: None,
        ulimits,
    };
    let prepared = security.prepare()?;
    match config.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(seccomp) => {
            let text = serde_json::to_string(seccomp).expect("a parsed profile serializes");
            Ok(prepared.with_profile(&text, "config.json linux.seccomp")?)
        }
        None => Ok(prepared),
    }
}

/// `process.capabilities` in privs' terms (`--cap-sets`); `None` leaves
/// the capabilities as they are.
pub fn process_caps(
    process: &oci_spec::runtime::Process,
) -> Result<Option<privs::caps::ProcessCaps>> {
    let Some(sets) = process.capabilities().as_ref() else { return Ok(None) };
    let (permitted, inheritable) = (cap_set(sets.permitted())?, cap_set(sets.inheritable())?);
    Ok(Some(privs::caps::ProcessCaps {
        bounding: cap_set(sets.bounding())?,
        effective: cap_set(sets.effective())?,
        permitted,
        inheritable,
        // Only what the kernel lets be raised: see [`ambient_left_out`].
        ambient: privs::caps::CapSet(cap_set(sets.ambient())?.0 & permitted.0 & inheritable.0),
    }))
}

/// One of config.json's capability lists as privs' set.
fn cap_set(list: &Option<oci_spec::runtime::Capabilities>) -> Result<privs::caps::CapSet> {
    let names: Vec<String> = list.iter().flatten().map(|c| c.to_string()).collect();
    Ok(names.join(",").parse()?)
}

/// The ambient capabilities of `process` that cannot be raised, being not
/// in both its permitted and inheritable sets (prctl(2)
/// PR_CAP_AMBIENT_RAISE's rule). `runc spec`'s config asks for three
/// ambient capabilities and no inheritable ones. The runtime-spec says a
/// capability that cannot be granted is a warning, not a failure (runc
/// warns, crun is silent): [`process_caps`] leaves these out and the runtime
/// names them.
pub fn ambient_left_out(process: &oci_spec::runtime::Process) -> Result<Vec<String>> {
    let Some(sets) = process.capabilities().as_ref() else { return Ok(Vec::new()) };
    let raisable = cap_set(sets.permitted())?.0 & cap_set(sets.inheritable())?.0;
    Ok(privs::caps::CapSet(cap_set(sets.ambient())?.0 & !raisable).names())
}

/// `process.rlimits` as privs' `--ulimit` values (`nofile=1024:1024`).
pub fn ulimits(process: &oci_spec::runtime::Process) -> Vec<String> {
    let text = |r: &oci_spec::runtime::PosixRlimit| {
        let name = r.typ().to_string().to_lowercase();
        format!("{}={}:{}", name.trim_start_matches("rlimit_"), r.soft(), r.hard())
    };
    process.rlimits().iter().flatten().map(text).collect()
}

/// Steps 2–5.
fn build_and_pivot(
    bundle: &Bundle,
    root_path: &Path,
    mount_fds: Vec<(usize, OwnedFd)>,
) -> Result<String> {
    let config = &bundle.config;
    let linux = config.linux().as_ref();
    // Private if asked, else slave: a shared "/" would make pivot_root
    // fail (EINVAL) and leak our mounts to the host; a shared propagation
    // asked for is given to the new "/" after the pivot.
    let propagation = match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(name) => match propagation_flag(name) {
            Some(flag) if flag.contains(MsFlags::MS_PRIVATE) => flag,
            Some(_) => MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None => {
                return Err(Error::invalid("linux.rootfsPropagation", name, "not a propagation"))
            }
        },
    };
    mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>)
        .map_err(|e| Error::sys("set propagation of", "/", e))?;
    // pivot_root(2) needs a mount point whose parent is not shared: the
    // root, bound on itself, under "/" made slave or private just now.
    mount(
        Some(root_path),
        root_path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Error::sys("bind the root on itself", root_path.display(), e))?;
    let root = inroot::open_dir(root_path)?;

    let count = config.mounts().as_ref().map_or(0, Vec::len);
    if let Some((at, _)) = mount_fds.iter().find(|(at, _)| *at >= count) {
        return Err(Error::invalid(
            "--mount-fd",
            at.to_string(),
            format!("there are {count} mounts"),
        ));
    }
    let mut mounted = HashSet::new();
    let cgroupns = has_namespace(config, oci_spec::runtime::LinuxNamespaceType::Cgroup);
    for (i, m) in config.mounts().iter().flatten().enumerate() {
        let given = mount_fds.iter().find(|(at, _)| *at == i).map(|(_, fd)| fd);
        let made = match given {
            Some(_) => None,
            None => idmapped_source(config, &bundle.dir, m)?,
        };
        mount_one(&root, &bundle.dir, m, given.or(made.as_ref()), cgroupns)?;
        mounted.insert(m.destination().clone());
    }
    // Attached: the descriptors are no longer needed (nor kept open while
    // the container waits to be started).
    drop(mount_fds);
    if mounted.contains(Path::new("/dev")) {
        let dev =
            inroot::open(&root, Path::new("/dev")).map_err(|e| Error::sys("open", "/dev", e))?;
        for (name, major, minor) in mounts::DEVICES {
            // One the config mounted already (a bind of the host's) is kept.
            if inroot::open(&root, &Path::new("/dev").join(name)).is_err() {
                mounts::make_device(&dev, name, major, minor)?;
            }
        }
        mounts::links(&dev)?;
    }
    for device in linux.and_then(|l| l.devices().as_ref()).into_iter().flatten() {
        make_device(&root, device)?;
    }
    let terminal = config.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    if let (true, Some(socket)) = (terminal, &bundle.console_socket) {
        crate::console::setup(&root, socket)?;
    }
    drop(root);
    let state = match &bundle.hooks_sync {
        Some(prefix) => wait_for_runtime_hooks(prefix)?,
        None => String::new(),
    };
    let hooks = config.hooks().as_ref();
    run_hooks("createContainer", hooks.and_then(|h| h.create_container().as_ref()), &state)?;

    chdir(root_path).map_err(|e| Error::sys("change directory to", root_path.display(), e))?;
    pivot_root(".", ".").map_err(|e| Error::sys("pivot_root to", root_path.display(), e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| Error::sys("detach", "the old root", e))?;
    chdir("/").map_err(|e| Error::sys("change directory to", "/", e))?;
    if let Some(name) = linux.and_then(|l| l.rootfs_propagation().as_deref()) {
        // Now that "/" is the container's, give it the asked propagation.
        if let Some(flag) = propagation_flag(name) {
            mount(None::<&str>, "/", None::<&str>, flag, None::<&str>)
                .map_err(|e| Error::sys("set propagation of", "the new /", e))?;
        }
    }
    Ok(state)
}

/// The end of step 3 with `--hooks-sync`: the namespaces and mounts exist,
/// so the runtime may run its `prestart` and `createRuntime` hooks (in its
/// own namespaces: they are host programs, given our PID). We say so on
/// `PREFIX.ready` and wait on `PREFIX.go`, where the runtime writes the
/// state JSON the container's own hooks get, or `error: WHY`.
fn wait_for_runtime_hooks(prefix: &Path) -> Result<String> {
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", prefix.display()));
    let (ready, go) = (with("ready"), with("go"));
    fs::write(&ready, b"1").map_err(Error::io("write", &ready))?;
    let state = fs::read_to_string(&go).map_err(Error::io("read", &go))?;
    match state.strip_prefix("error: ") {
        Some(why) => Err(Error::invalid("hooks", "prestart/createRuntime", why.to_string())),
        None => Ok(state),
    }
}

/// Runs each hook of `hooks` (runtime-spec's config.md "POSIX-platform
/// Hooks"): `path` with `args` (args[0] is argv[0]) and exactly `env`, the
/// container's state JSON on stdin, killed after `timeout` seconds. A hook
/// that fails, or runs out of time, fails the step it belongs to.
pub fn run_hooks(
    kind: &'static str,
    hooks: Option<&Vec<oci_spec::runtime::Hook>>,
    state: &str,
) -> Result<()> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    for hook in hooks.into_iter().flatten() {
        let path = hook.path();
        let shown = format!("{kind} hook {}", path.display());
        let args = hook.args().clone().unwrap_or_default();
        let mut cmd = std::process::Command::new(path);
        if let Some(arg0) = args.first() {
            cmd.arg0(arg0);
        }
        cmd.args(args.iter().skip(1)).env_clear();
        cmd.envs(hook.env().iter().flatten().filter_map(|e| e.split_once('=')));
        cmd.stdin(std::process::Stdio::piped());
        let mut child = cmd.spawn().map_err(Error::io("run", &shown))?;
        // The state from a thread, so that a hook that never reads it is
        // still timed; one that exits without reading it gives the thread
        // EPIPE, not us a death by SIGPIPE: ignored while hooks run (and
        // put back after, as execve(2) would pass SIG_IGN on).
        // SAFETY: installing SIG_IGN runs no code of ours.
        let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let writer = child.stdin.take().map(|mut stdin| {
            let state = state.to_string();
            std::thread::spawn(move || {
                let _ = stdin.write_all(state.as_bytes());
            })
        });
        let status = wait_for_hook(&mut child, hook, kind, &shown);
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        // SAFETY: puts back the disposition we found.
        unsafe { libc::signal(libc::SIGPIPE, old) };
        let status = status?;
        if !status.success() {
            return Err(Error::invalid(
                kind,
                path.display().to_string(),
                format!("failed: {status}"),
            ));
        }
    }
    Ok(())
}

/// Waits for a hook's process, killed after the hook's `timeout`.
fn wait_for_hook(
    child: &mut std::process::Child,
    hook: &oci_spec::runtime::Hook,
    kind: &'static str,
    shown: &str,
) -> Result<std::process::ExitStatus> {
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| std::time::Instant::now() + std::time::Duration::from_secs(t as u64));
    loop {
        if let Some(status) = child.try_wait().map_err(Error::io("wait for", shown))? {
            return Ok(status);
        }
        if deadline.is_some_and(|d| std::time::Instant::now() > d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::invalid(kind, hook.path().display().to_string(), "timed out"));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn propagation_flag(name: &str) -> Option<MsFlags> {
    let rec = MsFlags::MS_REC;
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        _ => return None,
    })
}

/// The mount options [`Options::parse`] knows as flags or propagation
/// (any other goes to the filesystem as data).
pub const MOUNT_OPTIONS: [&str; 37] = [
    "defaults",
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "noatime",
    "atime",
    "nodiratime",
    "diratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "silent",
    "loud",
    "bind",
    "rbind",
    "idmap",
    "ridmap",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
];

/// A mount's options, split as mount(8) does.
#[derive(Debug, PartialEq)]
pub struct Options {
    pub flags: MsFlags,
    /// Flags an option clears (`rw`, `suid`, `exec` …).
    pub cleared: MsFlags,
    pub propagation: Vec<MsFlags>,
    /// What the filesystem is given (`mode=755,size=65536k`).
    pub data: Vec<String>,
    /// `idmap` (Some(false)) or `ridmap` (Some(true): cloned submounts too).
    pub idmap: Option<bool>,
}

impl Options {
    pub fn parse(options: &[String]) -> Result<Options> {
        let mut out = Options {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
            idmap: None,
        };
        for option in options {
            let (set, flag) = match option.as_str() {
                "defaults" | "tmpcopyup" => continue,
                "ro" => (true, MsFlags::MS_RDONLY),
                "rw" => (false, MsFlags::MS_RDONLY),
                "nosuid" => (true, MsFlags::MS_NOSUID),
                "suid" => (false, MsFlags::MS_NOSUID),
                "nodev" => (true, MsFlags::MS_NODEV),
                "dev" => (false, MsFlags::MS_NODEV),
                "noexec" => (true, MsFlags::MS_NOEXEC),
                "exec" => (false, MsFlags::MS_NOEXEC),
                "sync" => (true, MsFlags::MS_SYNCHRONOUS),
                "async" => (false, MsFlags::MS_SYNCHRONOUS),
                "dirsync" => (true, MsFlags::MS_DIRSYNC),
                "remount" => (true, MsFlags::MS_REMOUNT),
                "mand" => (true, MsFlags::MS_MANDLOCK),
                "nomand" => (false, MsFlags::MS_MANDLOCK),
                "noatime" => (true, MsFlags::MS_NOATIME),
                "atime" => (false, MsFlags::MS_NOATIME),
                "nodiratime" => (true, MsFlags::MS_NODIRATIME),
                "diratime" => (false, MsFlags::MS_NODIRATIME),
                "relatime" => (true, MsFlags::MS_RELATIME),
                "norelatime" => (false, MsFlags::MS_RELATIME),
                "strictatime" => (true, MsFlags::MS_STRICTATIME),
                "nostrictatime" => (false, MsFlags::MS_STRICTATIME),
                "silent" => (true, MsFlags::MS_SILENT),
                "loud" => (false, MsFlags::MS_SILENT),
                "bind" => (true, MsFlags::MS_BIND),
                "rbind" => (true, MsFlags::MS_BIND | MsFlags::MS_REC),
                "idmap" | "ridmap" => {
                    out.idmap = Some(option == "ridmap");
                    continue;
                }
                other => match propagation_flag(other) {
                    Some(flag) => {
                        out.propagation.push(flag);
                        continue;
                    }
                    None => {
                        out.data.push(other.to_string());
                        continue;
                    }
                },
            };
            if set {
                out.flags |= flag;
                out.cleared &= !flag;
            } else {
                out.flags &= !flag;
                out.cleared |= flag;
            }
        }
        Ok(out)
    }
}

/// Whether the container runs in a user namespace, new or joined.
pub fn has_user_namespace(config: &Config) -> bool {
    has_namespace(config, oci_spec::runtime::LinuxNamespaceType::User)
}

/// Whether config.json gives the container a namespace of this type, new
/// or joined.
fn has_namespace(config: &Config, typ: oci_spec::runtime::LinuxNamespaceType) -> bool {
    let namespaces = config.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    namespaces.is_some_and(|n| n.iter().any(|ns| ns.typ() == typ))
}

/// An idmapped mount's tree, if `m` asks for one: options `idmap` or
/// `ridmap` (the submounts `rbind` clones too), or `uidMappings` and `gidMappings` of its own
/// (runtime-spec 1.2). Its mapping is the mount's, else the container's
/// user namespace's; the source's tree is cloned and given it
/// ([`crate::userns::idmapped_tree`], through a user namespace made only to
/// carry the mapping). A file owned by uid N on disk then shows as the uid
/// the mapping gives N, and a file made through the mount is stored with
/// N again. Only the host's root can make one (CAP_SYS_ADMIN over the
/// source's filesystem): with a new user namespace the runtime calls this
/// before the namespaces exist and hands the tree in (`--mount-fd`).
pub fn idmapped_source(config: &Config, bundle: &Path, m: &Mount) -> Result<Option<OwnedFd>> {
    let options = Options::parse(m.options().as_deref().unwrap_or_default())?;
    let dest = m.destination().display().to_string();
    let own = match (m.uid_mappings(), m.gid_mappings()) {
        (None, None) => None,
        (Some(uids), Some(gids)) => Some((uids, gids)),
        _ => {
            return Err(Error::invalid(
                "mount",
                dest,
                "has uidMappings or gidMappings without the other",
            ))
        }
    };
    if own.is_none() && options.idmap.is_none() {
        return Ok(None);
    }
    if !(options.flags.contains(MsFlags::MS_BIND) || m.typ().as_deref() == Some("bind")) {
        return Err(Error::invalid("mount", dest, "is idmapped but not a bind mount"));
    }
    let linux = config.linux().as_ref();
    // The kernel locks a mount's flags (MNT_LOCK_READONLY) only when it
    // copies a mount namespace into a less privileged user namespace; this
    // tree is attached after that, so the container's root could remount
    // it read-write, and write as the ids the mapping gives it (root's, on
    // disk, for the container's root). Refused rather than made a promise
    // the kernel does not keep.
    if has_user_namespace(config) && options.flags.contains(MsFlags::MS_RDONLY) {
        return Err(Error::invalid(
            "mount",
            dest,
            "is read-only and idmapped in a user namespace, whose root could make it \
             read-write again (its flags cannot be locked): not supported",
        ));
    }
    let (uids, gids) = match own {
        Some(maps) => maps,
        None => match linux.map(|l| (l.uid_mappings(), l.gid_mappings())) {
            Some((Some(uids), Some(gids))) => (uids, gids),
            _ => {
                return Err(Error::invalid(
                    "mount",
                    dest,
                    "is idmapped with no mapping: give it uidMappings and gidMappings, or the \
                     container a new user namespace with its mappings",
                ))
            }
        },
    };
    let text = |maps: &Vec<oci_spec::runtime::LinuxIdMapping>| -> String {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect()
    };
    let source = m
        .source()
        .as_ref()
        .map(|s| if s.is_absolute() { s.clone() } else { bundle.join(s) })
        .ok_or_else(|| Error::invalid("bind mount", dest.clone(), "has no source"))?;
    let userns = crate::userns::make_mapped(&text(uids), &text(gids))?;
    // rbind clones the submounts; ridmap maps them too.
    let submounts = options.flags.contains(MsFlags::MS_REC);
    let idmap_submounts = options.idmap.unwrap_or(false);
    crate::userns::idmapped_tree(&source, &userns, submounts, idmap_submounts).map(Some).map_err(
        |e| match e {
            Errno::EINVAL => Error::invalid(
                "idmapped mount",
                source.display().to_string(),
                "its filesystem (or a submount's) has no idmapped mounts",
            ),
            e => Error::sys("make an idmapped mount of", source.display(), e),
        },
    )
}

/// Step 3 for one entry of `mounts`; `idmapped`, its tree if it is one.
fn mount_one(
    root: &OwnedFd,
    bundle: &Path,
    m: &Mount,
    idmapped: Option<&OwnedFd>,
    cgroupns: bool,
) -> Result<()> {
    let dest = m.destination();
    if !dest.is_absolute() {
        return Err(Error::invalid(
            "mount destination",
            dest.display().to_string(),
            "not absolute",
        ));
    }
    let options = Options::parse(m.options().as_deref().unwrap_or_default())?;
    let typ = m.typ().as_deref().unwrap_or("");
    let bind = options.flags.contains(MsFlags::MS_BIND) || typ == "bind";
    let source =
        m.source().as_ref().map(|s| if s.is_absolute() { s.clone() } else { bundle.join(s) });
    let shown = format!(
        "{} ({typ}) on {}",
        source.as_deref().unwrap_or(Path::new("none")).display(),
        dest.display()
    );
    if typ == "cgroup" || typ == "cgroup2" {
        return mount_cgroup(root, dest, &options, cgroupns);
    }
    let kind = match &source {
        Some(s) if bind && !s.is_dir() => Kind::File,
        _ => Kind::Dir,
    };
    let target = inroot::create(root, dest, kind)?;
    let target_path = fd_path(&target);
    let data = options.data.join(",");
    let data = (!data.is_empty()).then_some(data.as_str());
    if bind {
        let source = source.ok_or_else(|| {
            Error::invalid("bind mount", dest.display().to_string(), "has no source")
        })?;
        let rec = options.flags & MsFlags::MS_REC;
        match idmapped {
            Some(tree) => crate::userns::attach(tree, &target)
                .map_err(|e| Error::sys("attach the idmapped", &shown, e))?,
            None => mount(
                Some(&source),
                target_path.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | rec,
                None::<&str>,
            )
            .map_err(|e| Error::sys("bind-mount", &shown, e))?,
        }
        let extra = options.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            let mounted =
                inroot::open(root, dest).map_err(|e| Error::sys("open", dest.display(), e))?;
            mounts::remount_bind(&fd_path(&mounted), extra)?;
        }
    } else {
        let fs_source = m.source().as_ref().map(|s| s.to_path_buf()).unwrap_or_else(|| typ.into());
        mount(Some(&fs_source), target_path.as_str(), Some(typ), options.flags, data)
            .map_err(|e| Error::sys("mount", &shown, e))?;
    }
    for flag in &options.propagation {
        let mounted =
            inroot::open(root, dest).map_err(|e| Error::sys("open", dest.display(), e))?;
        mount(None::<&str>, fd_path(&mounted).as_str(), None::<&str>, *flag, None::<&str>)
            .map_err(|e| Error::sys("set propagation of", dest.display(), e))?;
    }
    Ok(())
}

/// A `cgroup` mount: the container's view of its cgroups, through its
/// cgroup namespace. On a cgroup v2 host that is one cgroup2 mount; on a
/// v1 or hybrid host, a tmpfs with each host hierarchy mounted again in it
/// by its own name (`memory`, `cpu,cpuacct`, `unified` …), and the host's
/// links (`cpu` → `cpu,cpuacct`) made again.
fn mount_cgroup(root: &OwnedFd, dest: &Path, options: &Options, own_ns: bool) -> Result<()> {
    let flags = options.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
    let target = inroot::create(root, dest, Kind::Dir)?;
    let hierarchies = host_hierarchies();
    let shown = format!("cgroup on {}", dest.display());
    // Without a cgroup namespace of its own (config.json's say: in a user
    // namespace the host's PID 1's namespaces cannot be looked at to
    // compare) a new cgroup mount would show the host's whole tree, and in
    // a user namespace v1 hierarchies cannot be mounted in the host's
    // cgroup namespace at all: bind only the container's own cgroup instead
    // (runc's way), from the host's hierarchy mounts still in view.
    let bind = |h: &Hierarchy, target: &OwnedFd, what: String| -> Result<()> {
        let source = h.own_dir();
        mount(
            Some(&source),
            fd_path(target).as_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| Error::sys("bind-mount", format!("{} on {what}", source.display()), e))?;
        if flags.contains(MsFlags::MS_RDONLY) {
            let mounted =
                inroot::open(root, Path::new(&what)).map_err(|e| Error::sys("open", &what, e))?;
            mounts::remount_bind(&fd_path(&mounted), MsFlags::MS_RDONLY)?;
        }
        Ok(())
    };
    if let Some(v2) = hierarchies.iter().find(|h| h.name.is_empty()) {
        // One hierarchy mounted at /sys/fs/cgroup itself: cgroup v2.
        if !own_ns {
            return bind(v2, &target, dest.display().to_string());
        }
        return mount(
            Some("cgroup"),
            fd_path(&target).as_str(),
            Some(v2.fstype.as_str()),
            flags,
            None::<&str>,
        )
        .map_err(|e| Error::sys("mount", &shown, e));
    }
    // v1 or hybrid: a tmpfs holding each hierarchy, as the host's does.
    let rw = flags & !MsFlags::MS_RDONLY;
    mount(Some("tmpfs"), fd_path(&target).as_str(), Some("tmpfs"), rw, Some("mode=755"))
        .map_err(|e| Error::sys("mount", format!("tmpfs on {}", dest.display()), e))?;
    for h in &hierarchies {
        let sub = inroot::create(root, &dest.join(&h.name), Kind::Dir)?;
        if !own_ns {
            bind(h, &sub, dest.join(&h.name).display().to_string())?;
            continue;
        }
        let data: Vec<&str> =
            h.super_opts.split(',').filter(|o| *o != "rw" && *o != "ro").collect();
        let data = data.join(",");
        mount(
            Some("cgroup"),
            fd_path(&sub).as_str(),
            Some(h.fstype.as_str()),
            flags,
            Some(data.as_str()),
        )
        .map_err(|e| match (e, h.fstype.as_str()) {
            (Errno::EPERM, "cgroup") => Error::invalid(
                "cgroup mount",
                format!("{}/{}", dest.display(), h.name),
                "a v1 hierarchy is mounted only by root of the user namespace that owns the \
                     cgroup namespace (a new one is the container's; a joined one may not be)",
            ),
            (e, _) => {
                Error::sys("mount", format!("cgroup {data} on {}/{}", dest.display(), h.name), e)
            }
        })?;
    }
    // The host's links (cpu -> cpu,cpuacct), then the tmpfs read-only.
    if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
        let dir = inroot::open(root, dest).map_err(|e| Error::sys("open", dest.display(), e))?;
        for entry in entries.flatten() {
            if let Ok(link) = std::fs::read_link(entry.path()) {
                let _ = nix::unistd::symlinkat(&link, dir.as_fd(), entry.file_name().as_os_str());
            }
        }
        if flags.contains(MsFlags::MS_RDONLY) {
            mounts::remount_bind(&fd_path(&dir), MsFlags::MS_RDONLY).ok();
            mount(
                None::<&str>,
                fd_path(&dir).as_str(),
                None::<&str>,
                MsFlags::MS_REMOUNT | flags,
                Some("mode=755"),
            )
            .map_err(|e| Error::sys("remount read-only", dest.display(), e))?;
        }
    }
    Ok(())
}

/// A cgroup hierarchy the host mounts below /sys/fs/cgroup.
struct Hierarchy {
    /// Its directory there: `cpu,cpuacct`, `systemd`, `unified`, or "" for
    /// cgroup v2 at /sys/fs/cgroup itself.
    name: String,
    fstype: String,
    super_opts: String,
    /// The cgroup at the mount's root (mountinfo's 4th field; "/" but in a
    /// nested container).
    mount_root: String,
}

impl Hierarchy {
    /// The host directory of our own cgroup in it: /proc/self/cgroup's
    /// path, less the part above the mount's root.
    fn own_dir(&self) -> PathBuf {
        let own = own_cgroup(&self.name);
        let below = match self.mount_root.as_str() {
            "/" => own.as_str(),
            root => own.strip_prefix(root).unwrap_or(&own),
        };
        Path::new("/sys/fs/cgroup").join(&self.name).join(below.trim_start_matches('/'))
    }
}

/// The cgroup hierarchies of /proc/self/mountinfo below /sys/fs/cgroup.
fn host_hierarchies() -> Vec<Hierarchy> {
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    host.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut l = left.split_whitespace();
            let mount_root = l.nth(3)?;
            let point = l.next()?;
            let mut r = right.split_whitespace();
            let fstype = r.next()?;
            let super_opts = r.nth(1)?;
            let name = point.strip_prefix("/sys/fs/cgroup")?;
            (fstype == "cgroup" || fstype == "cgroup2").then(|| Hierarchy {
                name: name.trim_start_matches('/').to_string(),
                fstype: fstype.to_string(),
                super_opts: super_opts.to_string(),
                mount_root: mount_root.to_string(),
            })
        })
        .collect()
}

/// Our cgroup in the hierarchy mounted at /sys/fs/cgroup/`name`
/// (`cpu,cpuacct`, `systemd` for name=systemd, `unified` or "" for v2),
/// from /proc/self/cgroup.
fn own_cgroup(name: &str) -> String {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) =
            (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let matches = match controllers {
            "" => name.is_empty() || name == "unified",
            c => c == name || c.strip_prefix("name=") == Some(name),
        };
        if matches {
            return path.to_string();
        }
    }
    "/".into()
}

/// A node of `linux.devices`, with its type, numbers, mode and owner.
fn make_device(root: &OwnedFd, device: &LinuxDevice) -> Result<()> {
    let path = device.path();
    let shown = path.display().to_string();
    if !path.starts_with("/dev") || path.components().any(|c| c == std::path::Component::ParentDir)
    {
        return Err(Error::invalid("linux.devices", shown, "a device's path must be below /dev"));
    }
    let kind = match device.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::invalid("device", shown, "type a is for cgroup rules only"))
        }
    };
    let parent =
        path.parent().ok_or_else(|| Error::invalid("device", shown.clone(), "has no parent"))?;
    let name =
        path.file_name().ok_or_else(|| Error::invalid("device", shown.clone(), "has no name"))?;
    let dir = inroot::create(root, parent, Kind::Dir)?;
    match nix::unistd::unlinkat(dir.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys("replace", &shown, e)),
    }
    let rdev = libc::makedev(device.major() as u32, device.minor() as u32);
    let mode = Mode::from_bits_truncate(device.file_mode().unwrap_or(0o666));
    // In a user namespace make_node binds the host's node of that path
    // instead of mknod: it must be that very device, not any host file.
    let host_is_it = std::fs::metadata(path).is_ok_and(|m| {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let t = m.file_type();
        (t.is_char_device() || t.is_block_device() || t.is_fifo())
            && (kind == SFlag::S_IFIFO || m.rdev() == rdev)
    });
    let host = if host_is_it { path } else { Path::new("/nonexistent-host-device") };
    let node = mounts::Node { kind, rdev, mode, host };
    mounts::make_node(&dir, Path::new(name), &node, path)?;
    if device.uid().is_some() || device.gid().is_some() {
        nix::unistd::fchownat(
            dir.as_fd(),
            name,
            device.uid().map(nix::unistd::Uid::from_raw),
            device.gid().map(nix::unistd::Gid::from_raw),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| Error::sys("set owner of", &shown, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Options {
        Options::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn options_split_into_flags_propagation_and_data() {
        let o = opts(&["nosuid", "strictatime", "mode=755", "size=65536k", "rprivate"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, ["mode=755", "size=65536k"]);
        assert_eq!(o.propagation, [MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        let o = opts(&["ro", "rw", "rbind"]);
        assert_eq!(o.flags, MsFlags::MS_BIND | MsFlags::MS_REC);
        assert!(o.cleared.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn idmap_and_ridmap_are_options_not_data() {
        assert_eq!(opts(&["bind", "idmap"]).idmap, Some(false));
        assert_eq!(opts(&["rbind", "ridmap"]).idmap, Some(true));
        assert!(opts(&["ridmap"]).data.is_empty());
        assert_eq!(opts(&["bind"]).idmap, None);
    }
}
