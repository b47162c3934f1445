//! Create mode: new namespaces with clone(2), then the command inside them.
//!
//! The order of events, and why:
//!
//! 1. The **parent** blocks the signals it will forward (see `wait`), then
//!    joins the namespaces given by path with setns(2). Its child inherits
//!    them; the parent itself only waits, so its being inside costs nothing.
//! 2. A new time namespace is made with unshare(2) in the parent: clone(2)
//!    cannot take `CLONE_NEWTIME` (its value lies in the byte that carries
//!    the child's exit signal), and unshare of a time namespace, like that of
//!    a pid namespace, only moves the caller's future children.
//! 3. clone(2) with every other `CLONE_NEW*` flag starts the child inside the
//!    new namespaces, as PID 1 when there is a new pid namespace. The child
//!    waits on a pipe.
//! 4. The parent writes the uid/gid maps (see `idmap` for why the parent) and
//!    bind-mounts the namespaces to keep, then closes the pipe.
//! 5. The child sets mount propagation, the hostname, mounts /proc, brings
//!    up loopback, takes its terminal, and execs, or forks an init first.
//! 6. The parent reads the close-on-exec error pipe: end-of-file means the
//!    command runs. Only then does it write the pidfile and start waiting,
//!    or, with `--detach`, exit: the command is then adopted by the
//!    nearest subreaper (an OCI runtime's caller waits for it so).

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{clone, unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{getegid, geteuid, setgroups, sethostname, setresgid, setresuid, Gid, Pid, Uid};

use crate::error::{Error, Result, ToolError};
use crate::exec::{
    cloexec_pipe, close_inherited, exec, read_report, report, take_terminal, wait_for_parent,
};
use crate::idmap::{self, IdMap};
use crate::ns::{self, NsKind, NsRequest};
use crate::wait::{wait_exit, Signals};

/// Stack for the cloned child until it execs. It is only reserved address
/// space: pages are touched, and so allocated, as the child uses them.
const CHILD_STACK_BYTES: usize = 8 << 20;

/// How mounts propagate between the new mount namespace and the one it was
/// copied from (mount_namespaces(7)). The copy starts with the same
/// propagation as the original, and on systemd hosts `/` is *shared*: a
/// mount made inside would appear outside too, and unmounting the old root
/// after pivot_root would unmount the host's /proc. So, like unshare(1),
/// the default is to make everything private first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Private,
    Slave,
    Shared,
    Unchanged,
}

impl FromStr for Propagation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "private" => Propagation::Private,
            "slave" => Propagation::Slave,
            "shared" => Propagation::Shared,
            "unchanged" => Propagation::Unchanged,
            _ => {
                return Err(Error::invalid(
                    "propagation",
                    s,
                    "expected private, slave, shared or unchanged",
                ))
            }
        })
    }
}

/// Everything create mode needs to know.
#[derive(Clone, Debug)]
pub struct CreateSpec {
    /// Each kind at most once: a new namespace or one to join.
    pub namespaces: Vec<(NsKind, NsRequest)>,
    pub propagation: Propagation,
    /// Mount a proc filesystem here (for the new pid namespace).
    pub mount_proc: Option<PathBuf>,
    pub hostname: Option<String>,
    /// Map the caller's uid and gid to root in the new user namespace.
    pub map_root_user: bool,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// Keep these namespaces after the command ends, bind-mounted on files.
    pub keep: Vec<(NsKind, PathBuf)>,
    /// Run the command under a minimal init (see `init`).
    pub init: bool,
    /// Start a new session with stdin's terminal as controlling terminal,
    /// like `setsid --ctty`: the shell of `docker run -it` needs it for job
    /// control.
    pub ctty: bool,
    /// Write the host PID of the child (the namespace's PID 1) here.
    pub pidfile: Option<PathBuf>,
    /// Exit once the command runs, leaving it to whoever adopts orphans
    /// (the nearest subreaper, prctl(2) PR_SET_CHILD_SUBREAPER, or PID 1):
    /// an OCI runtime's `create` returns while the container runs on.
    pub detach: bool,
    pub command: Vec<CString>,
}

impl CreateSpec {
    fn request(&self, kind: NsKind) -> Option<&NsRequest> {
        self.namespaces.iter().find(|(k, _)| *k == kind).map(|(_, r)| r)
    }

    fn new_ns(&self, kind: NsKind) -> bool {
        self.request(kind) == Some(&NsRequest::New)
    }

    /// Like unshare(1): `--mount-proc` implies a new mount namespace.
    pub fn with_implied_namespaces(&self) -> CreateSpec {
        let mut spec = self.clone();
        if spec.mount_proc.is_some() && spec.request(NsKind::Mount).is_none() {
            spec.namespaces.push((NsKind::Mount, NsRequest::New));
        }
        spec
    }

    /// Refuses what cannot work, before anything is created.
    pub fn validate(&self) -> Result<()> {
        if self.command.is_empty() {
            return Err(Error::invalid("command", "", "no command given"));
        }
        for (i, (kind, _)) in self.namespaces.iter().enumerate() {
            if self.namespaces[..i].iter().any(|(k, _)| k == kind) {
                return Err(Error::invalid("namespace", kind.to_string(), "given twice"));
            }
        }
        if let Some(name) = &self.hostname {
            tool_cli::hostname::validate(name)?;
            if self.request(NsKind::Uts).is_none() {
                return Err(Error::invalid(
                    "--hostname",
                    name,
                    "needs a UTS namespace (--uts); without one it would rename the host",
                ));
            }
        }
        if let Some(dir) = &self.mount_proc {
            if !self.new_ns(NsKind::Mount) {
                return Err(Error::invalid(
                    "--mount-proc",
                    dir.display().to_string(),
                    "needs a new mount namespace (--mount)",
                ));
            }
        }
        let maps_given = self.map_root_user || !self.uid_map.is_empty() || !self.gid_map.is_empty();
        if maps_given && !self.new_ns(NsKind::User) {
            return Err(Error::invalid("id map", "", "maps need a new user namespace (--user)"));
        }
        if self.map_root_user && (!self.uid_map.is_empty() || !self.gid_map.is_empty()) {
            return Err(Error::invalid(
                "id map",
                "--map-root-user",
                "give either --map-root-user or --uid-map/--gid-map",
            ));
        }
        idmap::validate("uid map", &self.uid_map)?;
        idmap::validate("gid map", &self.gid_map)?;
        for (kind, file) in &self.keep {
            if !self.new_ns(*kind) {
                return Err(Error::invalid(
                    "--keep",
                    format!("{kind}={}", file.display()),
                    format!("there is no new {kind} namespace to keep (add --{kind})"),
                ));
            }
        }
        Ok(())
    }
}

/// Creates the namespaces, runs the command in them and waits for it.
/// Returns its exit status (128+N when killed by signal N).
pub fn create(spec: &CreateSpec) -> Result<i32> {
    let spec = &spec.with_implied_namespaces();
    spec.validate()?;
    let signals = Signals::block()?;

    let joins = spec
        .namespaces
        .iter()
        .filter_map(|(kind, req)| match req {
            NsRequest::Join(path) => Some(ns::open_ns(path).map(|fd| (*kind, fd))),
            NsRequest::New => None,
        })
        .collect::<Result<Vec<_>>>()?;
    ns::enter(&joins)?;

    if spec.new_ns(NsKind::Time) {
        unshare(NsKind::Time.clone_flag())
            .map_err(|e| Error::sys("unshare", "time namespace", e))?;
    }
    let flags = spec
        .namespaces
        .iter()
        .filter(|(kind, req)| *req == NsRequest::New && *kind != NsKind::Time)
        .fold(CloneFlags::empty(), |acc, (kind, _)| acc | kind.clone_flag());

    let (sync_read, sync_write) = cloexec_pipe()?;
    let (error_read, error_write) = cloexec_pipe()?;
    let mut stack = vec![0u8; CHILD_STACK_BYTES];
    let child_main = Box::new(|| {
        close_inherited(&sync_write);
        close_inherited(&error_read);
        let err = match child(spec, &signals, &sync_read, &error_write) {
            Ok(init_status) => return init_status as isize,
            Err(err) => err,
        };
        report(error_write.as_raw_fd(), &err);
        err.exit_code() as isize
    });
    // SAFETY: this process is single-threaded, and the child either execs or
    // returns from `child_main`, after which clone's wrapper calls _exit.
    let pid = unsafe { clone(child_main, &mut stack, flags, Some(libc::SIGCHLD)) }
        .map_err(|e| Error::sys("clone", format!("a child with {flags:?}"), e))?;
    drop(sync_read);
    drop(error_write);

    let mut kept = Vec::new();
    if let Err(err) = prepare_child(spec, pid, &mut kept) {
        abandon(pid, &kept);
        return Err(err);
    }
    drop(sync_write); // the child goes on
    if let Some(err) = read_report(error_read)? {
        wait_exit(pid);
        unkeep(&kept);
        return Err(err);
    }
    if let Some(path) = &spec.pidfile {
        if let Err(err) = write_pidfile(path, pid) {
            abandon(pid, &kept);
            return Err(err);
        }
    }
    if spec.detach {
        return Ok(0);
    }
    // From here on we only wait (and forward signals): once the command has
    // run a while, let the pages that set it up go, as the supervisor does.
    signals.supervise(pid, pidref::pages::drop_startup_pages)
}

/// Parent side of step 4: what the child waits for.
fn prepare_child(spec: &CreateSpec, pid: Pid, kept: &mut Vec<Kept>) -> Result<()> {
    if spec.new_ns(NsKind::User) {
        let (uid_map, gid_map) = if spec.map_root_user {
            let one = |outside| vec![IdMap { inside: 0, outside, count: 1 }];
            (one(geteuid().as_raw()), one(getegid().as_raw()))
        } else {
            (spec.uid_map.clone(), spec.gid_map.clone())
        };
        if !uid_map.is_empty() {
            idmap::write_map(pid.as_raw(), "uid_map", &uid_map)?;
        }
        if !gid_map.is_empty() {
            if !geteuid().is_root() {
                idmap::deny_setgroups(pid.as_raw())?;
            }
            idmap::write_map(pid.as_raw(), "gid_map", &gid_map)?;
        }
    }
    for (kind, file) in &spec.keep {
        kept.push(keep_namespace(pid, *kind, file)?);
    }
    Ok(())
}

/// A namespace kept by a bind mount, and whether we created the file.
struct Kept {
    file: PathBuf,
    created: bool,
}

/// Bind-mounts `/proc/PID/ns/KIND` on `file` (created if missing), which
/// keeps the namespace alive after every process in it has gone.
fn keep_namespace(pid: Pid, kind: NsKind, file: &Path) -> Result<Kept> {
    let created = match std::fs::OpenOptions::new().write(true).create_new(true).open(file) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(source) => return Err(Error::io("create", file)(source)),
    };
    let source = format!("/proc/{pid}/ns/{}", kind.proc_name());
    if let Err(e) = mount(Some(source.as_str()), file, None::<&str>, MsFlags::MS_BIND, None::<&str>)
    {
        if created {
            let _ = std::fs::remove_file(file);
        }
        return Err(Error::sys("bind-mount", format!("{source} on {}", file.display()), e));
    }
    Ok(Kept { file: file.to_path_buf(), created })
}

fn unkeep(kept: &[Kept]) {
    for k in kept.iter().rev() {
        let _ = umount2(&k.file, MntFlags::MNT_DETACH);
        if k.created {
            let _ = std::fs::remove_file(&k.file);
        }
    }
}

/// Undoes a failed start: the child is killed and reaped, kept namespaces
/// are released.
fn abandon(pid: Pid, kept: &[Kept]) {
    let _ = kill(pid, Signal::SIGKILL);
    wait_exit(pid);
    unkeep(kept);
}

/// Writes the pidfile atomically (json-store: temporary file, rename(2)),
/// so a reader never sees it half written; not fsync'd, as a PID means
/// nothing after a reboot.
fn write_pidfile(path: &Path, pid: Pid) -> Result<()> {
    let volatile = json_store::Durability::Volatile;
    Ok(json_store::write_atomic_as(path, format!("{pid}\n").as_bytes(), volatile)?)
}

/// The child's side, steps 3 and 5. Returns only on failure, or with the
/// command's status when it ran as init.
fn child(
    spec: &CreateSpec,
    signals: &Signals,
    sync: &OwnedFd,
    error_pipe: &OwnedFd,
) -> Result<i32> {
    wait_for_parent(sync.as_raw_fd())?;
    if spec.new_ns(NsKind::User) {
        become_root_if_mapped()?;
    }
    if spec.new_ns(NsKind::Mount) {
        set_propagation(spec.propagation)?;
    }
    if let Some(name) = &spec.hostname {
        sethostname(name).map_err(|e| Error::sys("set hostname to", name, e))?;
    }
    if let Some(dir) = &spec.mount_proc {
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount(Some("proc"), dir, Some("proc"), flags, None::<&str>)
            .map_err(|e| Error::sys("mount proc on", dir.display(), e))?;
    }
    if spec.new_ns(NsKind::Net) {
        loopback_up()?;
    }
    if spec.ctty {
        take_terminal()?;
    }
    if spec.init {
        return crate::init::run(&spec.command, signals, error_pipe);
    }
    signals.restore()?;
    Err(exec(&spec.command))
}

/// In a new user namespace the child runs as whatever its uid maps to. If
/// uid 0 is mapped but is not us (root made the namespace with a range like
/// `0:100000:65536`), we switch to it: we still hold every capability in the
/// namespace until execve(2), which would drop them for a non-root uid.
fn become_root_if_mapped() -> Result<()> {
    let mapped = |file: &str| {
        std::fs::read_to_string(file)
            .map(|m| m.lines().any(|l| l.split_whitespace().next() == Some("0")))
            .unwrap_or(false)
    };
    if mapped("/proc/self/gid_map") && getegid().as_raw() != 0 {
        // setgroups(2) is refused once "deny" was written; nothing to drop then.
        let _ = setgroups(&[Gid::from_raw(0)]);
        setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .map_err(|e| Error::sys("setresgid", 0, e))?;
    }
    if mapped("/proc/self/uid_map") && !geteuid().is_root() {
        setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
            .map_err(|e| Error::sys("setresuid", 0, e))?;
    }
    Ok(())
}

fn set_propagation(propagation: Propagation) -> Result<()> {
    let flag = match propagation {
        Propagation::Private => MsFlags::MS_PRIVATE,
        Propagation::Slave => MsFlags::MS_SLAVE,
        Propagation::Shared => MsFlags::MS_SHARED,
        Propagation::Unchanged => return Ok(()),
    };
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | flag, None::<&str>)
        .map_err(|e| Error::sys("set propagation of", format!("/ to {propagation:?}"), e))
}

/// A new network namespace has only `lo`, and it is down. Every container
/// runtime brings it up (`ip link set lo up`); here with the two ioctls of
/// netdevice(7), on any socket of the namespace.
fn loopback_up() -> Result<()> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    let sock = socket(AddressFamily::Inet, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| Error::sys("open", "a socket to configure lo", e))?;
    // SAFETY: ifreq is plain data; the ioctls read and write only it.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    let fd = sock.as_raw_fd();
    let res = unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) };
    nix::errno::Errno::result(res).map_err(|e| Error::sys("read flags of", "lo", e))?;
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    let res = unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) };
    nix::errno::Errno::result(res).map_err(|e| Error::sys("bring up", "lo", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(namespaces: Vec<(NsKind, NsRequest)>) -> CreateSpec {
        CreateSpec {
            namespaces,
            propagation: Propagation::Private,
            mount_proc: None,
            hostname: None,
            map_root_user: false,
            uid_map: vec![],
            gid_map: vec![],
            keep: vec![],
            init: false,
            ctty: false,
            pidfile: None,
            detach: false,
            command: vec![CString::new("true").unwrap()],
        }
    }

    #[test]
    fn hostname_needs_a_uts_namespace() {
        let mut s = spec(vec![(NsKind::Pid, NsRequest::New)]);
        s.hostname = Some("box".into());
        assert!(s.validate().unwrap_err().to_string().contains("--uts"));
        s.namespaces.push((NsKind::Uts, NsRequest::New));
        assert!(s.validate().is_ok());
    }

    #[test]
    fn maps_need_a_new_user_namespace() {
        let mut s = spec(vec![(NsKind::Pid, NsRequest::New)]);
        s.map_root_user = true;
        assert!(s.validate().is_err());
        s.namespaces.push((NsKind::User, NsRequest::New));
        assert!(s.validate().is_ok());
        s.uid_map.push("0:1000:1".parse().unwrap());
        assert!(s.validate().is_err(), "both --map-root-user and --uid-map");
    }

    #[test]
    fn keep_needs_that_namespace_new() {
        let mut s = spec(vec![(NsKind::Uts, NsRequest::New)]);
        s.keep.push((NsKind::Net, "/tmp/x".into()));
        assert!(s.validate().is_err());
    }

    #[test]
    fn refuses_a_kind_given_twice_and_an_empty_command() {
        let s =
            spec(vec![(NsKind::Net, NsRequest::New), (NsKind::Net, NsRequest::Join("/x".into()))]);
        assert!(s.validate().is_err());
        let mut s = spec(vec![]);
        s.command.clear();
        assert!(s.validate().is_err());
    }

    #[test]
    fn propagation_parses() {
        assert_eq!("slave".parse::<Propagation>().unwrap(), Propagation::Slave);
        assert!("rprivate".parse::<Propagation>().is_err());
    }
}
