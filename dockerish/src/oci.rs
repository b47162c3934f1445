//! # `ocirun`: an OCI runtime with runc's command line, over the same tools
//!
//! Container engines (podman, containerd, CRI-O, and through them
//! Kubernetes) do not make containers themselves: they write an OCI
//! *bundle* (runtime-spec's config.json and a root filesystem) and drive
//! a low-level runtime through runc's command line. The runtime-spec's
//! runtime.md fixes the life of a container: `create` sets up everything
//! but the user's program and leaves the container *created*; `start`
//! runs the program (*running*); when it exits the container is
//! *stopped*; `delete` removes what is left.
//!
//! `ocirun` is that runtime, composed as `dockerish run` is: the cgroup
//! through cgctl's library (made here, joined by the chain's first process
//! between fork and exec), and the chain
//!
//! ```text
//! ns-exec --detach --pid --mount … --pidfile STATE/pid \
//!     -- rootfs bundle BUNDLE --exec-fifo STATE/exec.fifo --start-socket STATE/start.sock
//! ```
//!
//! `ns-exec` makes or joins the namespaces of `linux.namespaces` (and
//! writes the id maps from the parent) and exits as soon as `rootfs` runs
//! (`--detach`), so the container's first process is adopted by whoever
//! called `create` if it is a subreaper (conmon, containerd's shim, and
//! `ocirun run` itself are) — they wait for the PID in `--pid-file`.
//! `rootfs bundle` does config.json's mounts, devices, masked paths and
//! privileges, reports on the start socket, and blocks on the exec fifo
//! (runc's design): `start` opens the fifo's other end, and only then is
//! the program exec'd. The state of each container is a directory under
//! `--root` (default /run/ocirun, mode 0711): `state.json` (written first
//! with pid 0, *creating*, then again once created), `config.json` (the
//! copy create checked, which rootfs, exec and the hooks use), `pid`
//! (ns-exec's pidfile), `start.sock` (rootfs's report), `exec.fifo` while
//! created, `hooks.ready`/`hooks.go` when the bundle has hooks to run
//! before the pivot, and `seccomp.json`, the filter that `exec`'s
//! processes get too.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Spec as Config};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ToolError};

/// The runtime-spec version we implement.
pub const OCI_VERSION: &str = "1.0.2";

/// Where containers' state lives unless `--root` says.
pub const DEFAULT_ROOT: &str = "/run/ocirun";

/// What `state.json` keeps of a container.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub bundle: PathBuf,
    pub pid: i32,
    /// The PID's start time: a recycled PID is not taken for ours.
    pub start_time: u64,
    /// The cgroup made for it (cgctl's path).
    pub cgroup: String,
    pub created: String,
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
    /// While `pid` is 0: the `ocirun create` making it (PID, start time).
    /// A record is written before anything is made, so that what a create
    /// killed midway leaves is still found, and removed, by `delete`.
    #[serde(default)]
    pub creator: (i32, u64),
}

impl Record {
    /// The container's first process, if it still runs (not a process
    /// that took over its PID).
    pub fn process(&self) -> Option<pidref::ProcessRef> {
        alive(self.pid, self.start_time)
    }
}

fn alive(pid: i32, start_time: u64) -> Option<pidref::ProcessRef> {
    let found = (pid > 0).then(|| pidref::ProcessRef::of(pid)).flatten();
    found.filter(|p| p.start_time == start_time && p.alive())
}

/// The runtime-spec's states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `create` is under way (its ocirun still runs).
    Creating,
    Created,
    Running,
    /// Frozen by `pause` (runc's state; the runtime-spec has none for it).
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The state root and the tools.
pub struct Runtime {
    pub root: PathBuf,
    tools: crate::tools::Tools,
}

/// runc's rule for IDs: what is safe as a file name and a cgroup name.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("container ID", id, "use letters, digits and _ + - . only"))
    }
}

impl Runtime {
    pub fn new(root: &Path) -> Runtime {
        Runtime { root: root.to_path_buf(), tools: crate::tools::Tools::new(root) }
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// The record, under the container's lock: commands that change a
    /// container wait for each other (a `delete` for the `create` still
    /// running, and then finds what it left). Released when dropped, or
    /// when the holder dies.
    fn load_locked(&self, id: &str) -> Result<(Record, json_store::Lock)> {
        let lock = self.lock(id)?;
        Ok((self.load(id)?, lock))
    }

    /// Removes a container's directory, its lock held: first moved out of
    /// the ID's way (one waiting on its lock then finds it gone: see
    /// [`Runtime::lock`]; none can make a new lock file in it), then
    /// removed.
    fn remove_dir(&self, id: &str) -> Result<()> {
        let tomb = self.root.join(format!("{STAGING}{}.{id}.gone", std::process::id()));
        fs::rename(self.dir(id), &tomb).map_err(Error::io("move aside", self.dir(id)))?;
        fs::remove_dir_all(&tomb).map_err(Error::io("remove", &tomb))
    }

    /// Removes what creates and deletes killed midway left aside: the
    /// staging directories of processes that are gone.
    fn sweep_staging(&self) {
        let Ok(entries) = fs::read_dir(&self.root) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(STAGING) else { continue };
            let pid = rest.split('.').next().and_then(|p| p.parse::<i32>().ok());
            if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// The container's lock (see [`Runtime::load_locked`]).
    fn lock(&self, id: &str) -> Result<json_store::Lock> {
        check_id(id)?;
        if !self.dir(id).is_dir() {
            return Err(Error::NoSuchOciContainer(id.to_string()));
        }
        let path = self.dir(id).join("lock");
        let lock = json_store::Lock::exclusive(&path).map_err(|e| match self.dir(id).is_dir() {
            true => e.into(),
            false => Error::NoSuchOciContainer(id.to_string()),
        })?;
        // Deleted while we waited (and perhaps made again since): not ours.
        match lock.still_at(&path) {
            true => Ok(lock),
            false => Err(Error::NoSuchOciContainer(id.to_string())),
        }
    }

    /// The container's copy of its config.json, made by `create`.
    fn config(&self, id: &str) -> Result<Config> {
        Ok(rootfs::bundle::Bundle::load_file(&self.dir(id).join("config.json"))?)
    }

    pub fn load(&self, id: &str) -> Result<Record> {
        check_id(id)?;
        let file = self.dir(id).join("state.json");
        match json_store::read_json_as::<Record>(&file, STATE_DURABILITY)? {
            Some(record) => Ok(record),
            None => Err(Error::NoSuchOciContainer(id.to_string())),
        }
    }

    pub fn status(&self, record: &Record) -> Status {
        if record.pid == 0 {
            return match alive(record.creator.0, record.creator.1) {
                Some(_) => Status::Creating,
                None => Status::Stopped,
            };
        }
        if record.process().is_none() {
            return Status::Stopped;
        }
        // A created container may be paused too (as runc's): it shows so.
        if self.cgroup(record).is_ok_and(|c| c.frozen()) {
            return Status::Paused;
        }
        match self.dir(&record.id).join("exec.fifo").exists() {
            true => Status::Created,
            false => Status::Running,
        }
    }

    fn cgroup(&self, record: &Record) -> Result<cgctl::Cgroup> {
        Ok(cgctl::Cgroup::open(&cgctl::Layout::detect()?, &record.cgroup.parse()?)?)
    }

    /// `pause`: every process of the container frozen (cgctl's freeze).
    pub fn pause(&self, id: &str) -> Result<()> {
        let (record, _lock) = self.load_locked(id)?;
        match self.status(&record) {
            Status::Running | Status::Created => {
                Ok(self.cgroup(&record)?.freeze(cgctl::cgroup::DEFAULT_TIMEOUT)?)
            }
            Status::Stopped => Err(Error::OciNotRunning(id.to_string())),
            other => Err(refused(id, "pause", other)),
        }
    }

    /// `resume`: a paused container thawed.
    pub fn resume(&self, id: &str) -> Result<()> {
        let (record, _lock) = self.load_locked(id)?;
        match self.status(&record) {
            Status::Paused => Ok(self.cgroup(&record)?.thaw(cgctl::cgroup::DEFAULT_TIMEOUT)?),
            other => Err(refused(id, "resume", other)),
        }
    }

    /// `update`: new limits for a created, running or paused container, in
    /// `linux.resources`' terms; what `resources` leaves out stays, and so
    /// does the device list (set once, at create).
    pub fn update(&self, id: &str, resources: &LinuxResources) -> Result<()> {
        let (record, _lock) = self.load_locked(id)?;
        if self.status(&record) == Status::Stopped {
            return Err(Error::OciNotRunning(id.to_string()));
        }
        // A lifted memory or CPU limit (-1) would pass as none given: said.
        let memory = resources.memory().as_ref();
        let lifted = [
            ("memory.limit", memory.and_then(|m| m.limit())),
            ("memory.reservation", memory.and_then(|m| m.reservation())),
            ("cpu.quota", resources.cpu().as_ref().and_then(|c| c.quota())),
        ];
        if let Some((name, _)) = lifted.iter().find(|(_, v)| *v == Some(-1)) {
            return Err(Error::invalid(
                "update",
                format!("{name} -1"),
                "lifting a memory or CPU limit is not supported: give a new limit",
            ));
        }
        let limits = cgctl::Limits { devices: None, ..limits(Some(resources))? };
        Ok(self.cgroup(&record)?.set(&limits)?)
    }

    /// The runtime-spec's state JSON.
    pub fn state(&self, id: &str) -> Result<serde_json::Value> {
        let record = self.load(id)?;
        let status = self.status(&record);
        let pid = if status == Status::Stopped { 0 } else { record.pid };
        Ok(serde_json::json!({
            "ociVersion": OCI_VERSION,
            "id": record.id,
            "status": status.name(),
            "pid": pid,
            "bundle": record.bundle,
            "annotations": record.annotations,
            "created": record.created,
        }))
    }

    pub fn list(&self) -> Result<Vec<(Record, Status)>> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io("read", &self.root)(e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Ok(record) = self.load(&name) {
                let status = self.status(&record);
                out.push((record, status));
            }
        }
        out.sort_by(|a, b| a.0.created.cmp(&b.0.created));
        Ok(out)
    }

    /// `create`: everything but the program, which waits at the exec fifo.
    /// A failure undoes every step (the process killed, the cgroup and the
    /// state directory removed).
    pub fn create(&self, id: &str, opts: &CreateOptions) -> Result<Record> {
        check_id(id)?;
        let bundle =
            fs::canonicalize(&opts.bundle).map_err(Error::io("open bundle", &opts.bundle))?;
        // Checked here, used by rootfs, exec and the hooks: one copy, so a
        // config.json changed meanwhile changes nothing.
        let text = fs::read(bundle.join("config.json"))
            .map_err(Error::io("read", bundle.join("config.json")))?;
        let config: Config = serde_json::from_slice(&text).map_err(|e| {
            Error::invalid(
                "config.json",
                bundle.join("config.json").display().to_string(),
                e.to_string(),
            )
        })?;
        check_config(&config, &bundle)?;
        if let Some(process) = config.process() {
            warn_ambient_left_out(process)?;
        }
        let layout = cgctl::Layout::detect()?;
        let cgroup_path = cgroup_path(&config, id)?;
        let limits = limits(config.linux().as_ref().and_then(|l| l.resources().as_ref()))?;

        fs::create_dir_all(&self.root).map_err(Error::io("create", &self.root))?;
        // Only root may list or read the containers' state. The root of a
        // container with a new user namespace, a host uid of its own, must
        // pass through to its fifos and socket (chowned to it in `spawn`):
        // the root is 0711, and so is such a container's directory (as
        // runc's); another container's is 0700.
        let traverse = std::os::unix::fs::PermissionsExt::from_mode(0o711);
        let _ = fs::set_permissions(&self.root, traverse);
        let dir = self.dir(id);
        if dir.exists() {
            return Err(Error::invalid("container ID", id, "a container with this ID exists"));
        }
        // Made aside with its lock held and its record in it, then moved into
        // place (renameat2 RENAME_NOREPLACE): a `delete` finds a container's
        // directory whole or not at all, and two creates of one ID cannot
        // share one. What a create killed before the move leaves is swept.
        self.sweep_staging();
        let staging = self.root.join(format!("{STAGING}{}.{id}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir(&staging).map_err(Error::io("create", &staging))?;
        let undo_staging = |err: Error| {
            let _ = fs::remove_dir_all(&staging);
            err
        };
        let mode = if container_root(&config).is_some() { 0o711 } else { 0o700 };
        let mode = std::os::unix::fs::PermissionsExt::from_mode(mode);
        fs::set_permissions(&staging, mode)
            .map_err(|e| undo_staging(Error::io("chmod", &staging)(e)))?;
        let _lock = json_store::Lock::exclusive(&staging.join("lock"))
            .map_err(|e| undo_staging(e.into()))?;
        // Who is creating it: `state` shows *creating* while we live.
        let me = pidref::ProcessRef::of(std::process::id() as i32)
            .ok_or_else(|| {
                undo_staging(Error::invalid("process", "self", "has no start time in /proc"))
            })?
            .start_time;
        let creating = Record {
            id: id.to_string(),
            bundle: bundle.clone(),
            pid: 0,
            start_time: 0,
            cgroup: cgroup_path.to_string(),
            created: tool_cli::human::rfc3339_nanos(std::time::SystemTime::now()),
            annotations: Default::default(),
            creator: (std::process::id() as i32, me),
        };
        write_private(&staging.join("config.json"), &text).map_err(undo_staging)?;
        json_store::write_json_as(&staging.join("state.json"), &creating, STATE_DURABILITY)
            .map_err(|e| undo_staging(e.into()))?;
        use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
        match renameat2(AT_FDCWD, &staging, AT_FDCWD, &dir, RenameFlags::RENAME_NOREPLACE) {
            Ok(()) => {}
            Err(nix::errno::Errno::EEXIST) => {
                let why = "a container with this ID exists";
                return Err(undo_staging(Error::invalid("container ID", id, why)));
            }
            Err(e) => return Err(undo_staging(Error::sys("move into place", dir.display(), e))),
        }
        let undo_dir = |err: Error| {
            let _ = fs::remove_dir_all(&dir);
            err
        };
        let fifo = dir.join("exec.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622))
            .map_err(|e| undo_dir(Error::sys("make fifo", fifo.display(), e)))?;
        // Writable by the container's user, whoever it is (the umask took
        // that away): it reopens the fifo through its descriptor, as the
        // directory may be closed to it.
        fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))
            .map_err(|e| undo_dir(Error::io("chmod", &fifo)(e)))?;
        let cgroup = cgctl::Cgroup::create(&layout, &cgroup_path, &limits)
            .map_err(|e| undo_dir(e.into()))?;
        let undo = |err: Error| {
            let _ = cgroup.kill(Signal::SIGKILL, cgctl::cgroup::DEFAULT_TIMEOUT);
            let _ = cgroup.remove(cgctl::RemoveOptions {
                force: true,
                parents: true,
                ..Default::default()
            });
            undo_dir(err)
        };
        let record = self.spawn(id, &bundle, &config, &dir, &cgroup, opts).map_err(undo)?;
        if let Some(file) = &opts.pid_file {
            fs::write(file, record.pid.to_string())
                .map_err(|e| undo(Error::io("write", file)(e)))?;
        }
        Ok(record)
    }

    fn spawn(
        &self,
        id: &str,
        bundle: &Path,
        config: &Config,
        dir: &Path,
        cgroup: &cgctl::Cgroup,
        opts: &CreateOptions,
    ) -> Result<Record> {
        let mut argv: Vec<String> = vec!["--detach".into()];
        argv.extend(namespace_flags(config)?);
        let pidfile = dir.join("pid");
        argv.push(format!("--pidfile={}", pidfile.display()));
        let start_socket = dir.join("start.sock");
        argv.extend([
            "--".into(),
            self.tools.path("rootfs")?.display().to_string(),
            "bundle".into(),
        ]);
        argv.push(bundle.display().to_string());
        // By descriptor: root of a new user namespace cannot open it by path
        // (the state directory is the host root's alone). Not close-on-exec,
        // so ns-exec hands it on to rootfs, which closes it.
        let copy = dir.join("config.json");
        let config_fd =
            nix::fcntl::open(&copy, nix::fcntl::OFlag::O_RDONLY, nix::sys::stat::Mode::empty())
                .map_err(|e| Error::sys("open", copy.display(), e))?;
        argv.push(format!("--config-fd={}", std::os::fd::AsRawFd::as_raw_fd(&config_fd)));
        // Idmapped mounts: root of a user namespace cannot make them (see
        // rootfs::bundle::idmapped_source), so we do, and hand them in.
        let mut trees = Vec::new();
        if rootfs::bundle::has_user_namespace(config) {
            for (i, m) in config.mounts().iter().flatten().enumerate() {
                if let Some(tree) = rootfs::bundle::idmapped_source(config, bundle, m)? {
                    // Inherited by ns-exec and rootfs (a copy without
                    // close-on-exec), above the --preserve-fds range, which
                    // reaches the program; rootfs closes it once attached.
                    let above = 3 + opts.preserve_fds as i32;
                    let fd = nix::fcntl::fcntl(&tree, nix::fcntl::FcntlArg::F_DUPFD(above))
                        .map_err(|e| Error::sys("keep open across exec", "an idmapped mount", e))?;
                    // SAFETY: F_DUPFD just made it, and nothing else owns it.
                    let tree = unsafe {
                        <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd)
                    };
                    argv.push(format!("--mount-fd={i}={fd}"));
                    trees.push(tree);
                }
            }
        }
        argv.push(format!("--exec-fifo={}", dir.join("exec.fifo").display()));
        argv.push(format!("--start-socket={}", start_socket.display()));
        if let Some(socket) = &opts.console_socket {
            argv.push(format!("--console-socket={}", socket.display()));
        }
        argv.push(format!("--preserve-fds={}", opts.preserve_fds));
        let hooks = config.hooks().clone().unwrap_or_default();
        let sync = [
            hooks.prestart(),
            hooks.create_runtime(),
            hooks.create_container(),
            hooks.start_container(),
        ]
        .iter()
        .any(|list| list.as_ref().is_some_and(|l| !l.is_empty()));
        let hooks_prefix = dir.join("hooks");
        if sync {
            for ext in ["ready", "go"] {
                let fifo = dir.join(format!("hooks.{ext}"));
                nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .map_err(|e| Error::sys("make fifo", fifo.display(), e))?;
            }
            argv.push(format!("--hooks-sync={}", hooks_prefix.display()));
        }
        let listener = console_socket::Listener::bind(&start_socket)
            .map_err(Error::io("listen on", &start_socket))?;
        if let Some((uid, gid)) = container_root(config) {
            let (uid, gid) =
                (Some(nix::unistd::Uid::from_raw(uid)), Some(nix::unistd::Gid::from_raw(gid)));
            for name in ["exec.fifo", "start.sock", "hooks.ready", "hooks.go"] {
                let file = dir.join(name);
                if file.exists() {
                    nix::unistd::chown(&file, uid, gid)
                        .map_err(|e| Error::sys("chown", file.display(), e))?;
                }
            }
        }
        let mut cmd = Command::new(self.tools.path("ns-exec")?);
        cmd.args(&argv);
        crate::container::join_in_child(cgroup, &mut cmd)?;
        let status = cmd.status().map_err(Error::io("run", "ns-exec"))?;
        drop((config_fd, trees));
        if !status.success() {
            return Err(Error::Tool {
                tool: "ns-exec".into(),
                why: format!("exited with {status}"),
            });
        }
        let pid: i32 = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| Error::Tool {
                tool: "ns-exec".into(),
                why: format!("wrote no PID to {}", pidfile.display()),
            })?;
        let process = pidref::ProcessRef::of(pid).ok_or_else(|| Error::Tool {
            tool: "rootfs".into(),
            why: format!("the container's first process, {pid}, is gone"),
        })?;
        // rootfs connects first thing; its report ends when the program
        // waits at the fifo (created), or says why it failed.
        let deadline = Instant::now() + Duration::from_secs(60);
        let stream = loop {
            if let Some(stream) =
                listener.accept().map_err(Error::io("accept on", &start_socket))?
            {
                break stream;
            }
            if !process.alive() || Instant::now() > deadline {
                return Err(Error::Tool {
                    tool: "rootfs".into(),
                    why: format!("container {id} ended (or took a minute) without a start report"),
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let annotations: std::collections::BTreeMap<String, String> =
            config.annotations().clone().unwrap_or_default().into_iter().collect();
        let state = |status: &str| {
            serde_json::json!({
                "ociVersion": OCI_VERSION, "id": id, "status": status, "pid": pid,
                "bundle": bundle, "annotations": annotations,
            })
            .to_string()
        };
        if sync && hooks_ready(&hooks_prefix, &stream, &process)? {
            let ran = rootfs::bundle::run_hooks(
                "prestart",
                hooks.prestart().as_ref(),
                &state("creating"),
            )
            .and_then(|()| {
                rootfs::bundle::run_hooks(
                    "createRuntime",
                    hooks.create_runtime().as_ref(),
                    &state("creating"),
                )
            });
            let reply = match &ran {
                Ok(()) => state("created"),
                Err(e) => format!("error: {e}"),
            };
            reply_to_rootfs(&hooks_prefix.with_extension("go"), &reply, &process)?;
        }
        // Its end comes when the program waits at the fifo; hooks may take
        // their time before, a hung rootfs not for ever.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
        if let console_socket::start::Outcome::Failed(message) =
            console_socket::start::outcome(stream)
        {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            return Err(Error::Tool {
                tool: "rootfs".into(),
                why: message.trim_start_matches("rootfs: ").to_string(),
            });
        }
        drop(listener);
        let record = Record {
            id: id.to_string(),
            bundle: bundle.to_path_buf(),
            pid,
            start_time: process.start_time,
            cgroup: cgroup.path.clone(),
            created: tool_cli::human::rfc3339_nanos(std::time::SystemTime::now()),
            annotations,
            creator: (0, 0),
        };
        // exec's processes get the container's filter (ns-exec --seccomp reads
        // this format: OCI's is Docker's without its extensions).
        if let Some(seccomp) = config.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
            let text = serde_json::to_string(seccomp).expect("a parsed profile serializes");
            write_private(&dir.join("seccomp.json"), text.as_bytes())?;
        }
        json_store::write_json_as(&dir.join("state.json"), &record, STATE_DURABILITY)?;
        Ok(record)
    }

    /// `start`: opens the fifo's reading end, which lets the program be
    /// exec'd; the fifo goes (the container counts as running).
    pub fn start(&self, id: &str) -> Result<()> {
        let (record, lock) = self.load_locked(id)?;
        match self.status(&record) {
            Status::Created => {}
            other => return Err(refused(id, "start", other)),
        }
        // Non-blocking: a container that died meanwhile must not hang us.
        let fifo = self.dir(id).join("exec.fifo");
        let mut file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .map_err(Error::io("open", &fifo))?;
        let process = record.process();
        let mut byte = [0u8; 1];
        let read = loop {
            match std::io::Read::read(&mut file, &mut byte) {
                Ok(n) if n > 0 => break n,
                Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => {
                    return Err(Error::io("read", &fifo)(e))
                }
                _ if !process.as_ref().is_some_and(|p| p.alive()) => break 0,
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        };
        let _ = fs::remove_file(&fifo);
        if read != 1 {
            return Err(Error::Tool {
                tool: "rootfs".into(),
                why: "the container ended before its program ran".into(),
            });
        }
        // A poststart hook's failure is a warning (runtime-spec).
        let poststart = self.pending_hooks(&record, "poststart", |h| h.poststart().clone());
        drop(lock);
        poststart.run();
        Ok(())
    }

    /// The bundle's hooks of one kind and the state JSON they will get,
    /// read now (under the lock) and run by [`Pending::run`] once the lock
    /// is released: a hook may call ocirun on the container itself.
    fn pending_hooks(
        &self,
        record: &Record,
        kind: &'static str,
        pick: impl Fn(&oci_spec::runtime::Hooks) -> Option<Vec<oci_spec::runtime::Hook>>,
    ) -> Pending {
        let hooks = self.config(&record.id).ok().and_then(|c| c.hooks().as_ref().and_then(&pick));
        let mut state = self.state(&record.id).unwrap_or_default();
        if kind == "poststop" {
            state["status"] = "stopped".into();
        }
        Pending { kind, hooks, state: state.to_string() }
    }

    /// `kill`: the signal to the first process, or with `all` to every
    /// process of the cgroup.
    pub fn kill(&self, id: &str, signal: Signal, all: bool) -> Result<()> {
        let (record, _lock) = self.load_locked(id)?;
        if self.status(&record) == Status::Stopped {
            return Err(Error::OciNotRunning(id.to_string()));
        }
        if all {
            let cgroup = self.cgroup(&record)?;
            for pid in cgroup.pids(true) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
            }
            return Ok(());
        }
        let process = record.process().ok_or_else(|| Error::OciNotRunning(id.to_string()))?;
        match pidref::signal(process, signal) {
            Ok(()) => Ok(()),
            Err(pidref::Error::Gone(_)) => Err(Error::OciNotRunning(id.to_string())),
            Err(pidref::Error::Common(e)) => Err(e.into()),
        }
    }

    /// `delete`: refused while the container runs, unless `force` (then
    /// killed); removes its cgroup and its state.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let lock = self.lock(id)?;
        let record = match self.load(id) {
            Ok(record) => record,
            // A create killed before it wrote its record (it holds the
            // lock until then): a directory and nothing else to remove.
            Err(Error::NoSuchOciContainer(_)) => return self.remove_dir(id),
            Err(e) => return Err(e),
        };
        let status = self.status(&record);
        if status != Status::Stopped && !force && status != Status::Created {
            let why = format!("is {}: stop it first, or delete --force", status.name());
            return Err(Error::invalid("container", id, why));
        }
        // (A paused container too: cgctl's kill thaws what it signals.)
        if let Ok(cgroup) = self.cgroup(&record) {
            cgroup.remove(cgctl::RemoveOptions {
                force: true,
                parents: true,
                recursive: true,
                ..Default::default()
            })?;
        }
        if let Some(process) = record.process() {
            let _ = pidref::signal(process, Signal::SIGKILL);
            pidref::wait_exit(&[process], Some(cgctl::cgroup::DEFAULT_TIMEOUT));
        }
        // A container that never was (its create killed before its process
        // existed) has no poststop hooks to run.
        let poststop = (record.pid != 0)
            .then(|| self.pending_hooks(&record, "poststop", |h| h.poststop().clone()));
        self.remove_dir(id)?;
        drop(lock);
        // After the delete, before it returns (runtime-spec).
        if let Some(poststop) = poststop {
            poststop.run();
        }
        Ok(())
    }

    /// `exec`: a process in the container's namespaces and cgroup
    /// (`ns-exec --target`), described by a process.json or by arguments.
    pub fn exec(&self, id: &str, opts: &ExecOptions) -> Result<i32> {
        let record = self.load(id)?;
        if self.status(&record) != Status::Running {
            return Err(Error::OciNotRunning(id.to_string()));
        }
        let process: oci_spec::runtime::Process = match &opts.process {
            Some(file) => {
                let text = fs::read_to_string(file).map_err(Error::io("read", file))?;
                serde_json::from_str(&text).map_err(|e| {
                    Error::invalid("process", file.display().to_string(), e.to_string())
                })?
            }
            None => {
                let config = self.config(id)?;
                let mut p = config.process().clone().unwrap_or_default();
                p.set_args(Some(opts.args.clone()));
                p.set_terminal(Some(opts.tty));
                if let Some(cwd) = &opts.cwd {
                    p.set_cwd(cwd.clone());
                }
                let mut env = p.env().clone().unwrap_or_default();
                env.extend(opts.env.iter().cloned());
                p.set_env(Some(env));
                p
            }
        };
        let args = process.args().clone().unwrap_or_default();
        if args.is_empty() {
            return Err(Error::invalid("exec", id, "no command given"));
        }
        let mut argv = vec![format!("--target={}", record.pid), "--all".into()];
        argv.push(format!("--wd={}", process.cwd().display()));
        let user = process.user();
        argv.push(format!("--setuid={}", user.uid()));
        argv.push(format!("--setgid={}", user.gid()));
        for gid in user.additional_gids().iter().flatten() {
            argv.push(format!("--group-add={gid}"));
        }
        if process.terminal().unwrap_or(false) {
            let socket = opts.console_socket.as_ref().ok_or_else(|| {
                Error::invalid("exec", "--tty", "needs --console-socket to send the terminal to")
            })?;
            argv.push(format!("--console-socket={}", socket.display()));
        }
        warn_ambient_left_out(&process)?;
        if let Some(sets) = rootfs::bundle::process_caps(&process)? {
            argv.push(format!("--cap-sets={sets}"));
        }
        if process.no_new_privileges().unwrap_or(false) {
            argv.push("--no-new-privileges".into());
        }
        let seccomp = self.dir(id).join("seccomp.json");
        if seccomp.exists() {
            argv.push(format!("--seccomp={}", seccomp.display()));
        }
        argv.extend(rootfs::bundle::ulimits(&process).iter().map(|u| format!("--ulimit={u}")));
        if let Some(file) = &opts.pid_file {
            argv.push(format!("--pidfile={}", file.display()));
        }
        if opts.detach {
            argv.push("--detach".into());
        }
        argv.push("--".into());
        argv.extend(args);
        let mut cmd = Command::new(self.tools.path("ns-exec")?);
        cmd.args(&argv)
            .env_clear()
            .envs(process.env().iter().flatten().filter_map(|e| e.split_once('=')));
        crate::container::join_in_child(&cgctl::Cgroup::of_pid(record.pid)?, &mut cmd)?;
        close_inherited_at_exec(&mut cmd, opts.preserve_fds);
        // The container's personality, inherited by ns-exec and its program.
        if let Some(persona) = rootfs::bundle::personality(&self.config(id)?)? {
            use std::os::unix::process::CommandExt;
            // SAFETY: personality(2) is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || match libc::personality(persona) {
                    -1 => Err(std::io::Error::last_os_error()),
                    _ => Ok(()),
                });
            }
        }
        let status = cmd.status().map_err(Error::io("run", "ns-exec"))?;
        Ok(tool_cli::exit::of_status(status))
    }
}

impl Runtime {
    /// The host PIDs in the container's cgroup.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let record = self.load(id)?;
        match self.cgroup(&record) {
            Ok(cgroup) => Ok(cgroup.pids(true)),
            Err(_) => Ok(Vec::new()),
        }
    }
}

/// runc's refusal of a command in the wrong state.
fn refused(id: &str, command: &str, status: Status) -> Error {
    Error::invalid(
        "container",
        id,
        format!("cannot {command} a container that is {}", status.name()),
    )
}

/// `spec`: runc's default config.json (oci-spec's), with busybox's `sh`
/// on a terminal, into `bundle`; an existing one is not overwritten.
pub fn write_default_spec(bundle: &Path) -> Result<()> {
    let file = bundle.join("config.json");
    if file.exists() {
        return Err(Error::invalid("spec", file.display().to_string(), "exists already"));
    }
    let config = Config::default();
    let text = serde_json::to_string_pretty(&config).expect("a spec serializes");
    fs::write(&file, text + "\n").map_err(Error::io("write", &file))
}

/// `features`: what this runtime supports (runtime-spec's features.md).
pub fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": &rootfs::bundle::MOUNT_OPTIONS[..],
        "linux": {
            "mountExtensions": { "idmap": { "enabled": true } },
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"],
            "capabilities": privs::caps::CapSet::all().names().iter().map(|n| format!("CAP_{n}")).collect::<Vec<_>>(),
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false },
            "seccomp": { "enabled": true },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
        },
    })
}

/// What `create` is told besides the ID.
#[derive(Default)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    /// Descriptors 3..3+N the program gets too.
    pub preserve_fds: u32,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
}

#[derive(Default)]
pub struct ExecOptions {
    /// Descriptors 3..3+N the process gets too.
    pub preserve_fds: u32,
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub tty: bool,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
}

/// Waits until rootfs says, on `PREFIX.ready`, that the namespaces and
/// mounts exist (true), or its start report has something to say first, a
/// failure (false), or the process is gone.
fn hooks_ready(
    prefix: &Path,
    report: &std::os::unix::net::UnixStream,
    process: &pidref::ProcessRef,
) -> Result<bool> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let ready = prefix.with_extension("ready");
    let fifo = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&ready)
        .map_err(Error::io("open", &ready))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && process.alive() {
        let mut fds = [
            PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(report.as_fd(), PollFlags::POLLIN),
        ];
        let _ = poll(&mut fds, PollTimeout::from(100u16));
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return Ok(false);
        }
        if fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLIN)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Names the ambient capabilities that will not be raised (see
/// [`rootfs::bundle::ambient_left_out`]): a warning, as the runtime-spec
/// asks, on our stderr rather than the container's.
fn warn_ambient_left_out(process: &oci_spec::runtime::Process) -> Result<()> {
    for name in rootfs::bundle::ambient_left_out(process)? {
        eprintln!(
            "ocirun: warning: ambient {name} not raised: it is not in both the permitted and \
             the inheritable set"
        );
    }
    Ok(())
}

/// The prefix of a directory being made or removed beside the containers'
/// (`~` is in no container ID, so `list` and the commands never take one
/// for a container): `~PID.ID` while made, `~PID.ID.gone` while removed.
const STAGING: &str = "~";

/// A container's record is atomic (written aside, renamed) but not
/// fsync'd: it describes processes, which a power failure ends anyway
/// (runc's state root is a tmpfs, /run/runc, as ours is by default). A record
/// left empty by one reads as no record: `delete` then removes the
/// directory. Saves two fsyncs per `create` on a disk root (0.5 to 3 ms each).
const STATE_DURABILITY: json_store::Durability = json_store::Durability::Volatile;

/// Hooks read by [`Runtime::pending_hooks`], to run later.
struct Pending {
    kind: &'static str,
    hooks: Option<Vec<oci_spec::runtime::Hook>>,
    state: String,
}

impl Pending {
    /// Runs them; a failure is a warning on stderr.
    fn run(self) {
        if self.hooks.is_none() {
            return;
        }
        if let Err(e) = rootfs::bundle::run_hooks(self.kind, self.hooks.as_ref(), &self.state) {
            eprintln!("ocirun: warning: {e}");
        }
    }
}

/// Writes a file of the state directory only root may read (0600): the
/// directory is 0711, and config.json's environment may hold secrets.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io("create", path))?;
    file.write_all(bytes).map_err(Error::io("write", path))
}

/// Marks every descriptor from 3+`keep` close-on-exec in `cmd`'s child:
/// nothing of ours, or of whoever ran us, reaches the container.
fn close_inherited_at_exec(cmd: &mut Command, keep: u32) {
    use std::os::unix::process::CommandExt;
    let first = 3 + keep;
    // SAFETY: close_range(2) only sets flags; async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let res =
                libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
            match res {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
}

/// Writes `reply` on the fifo rootfs reads (opened without blocking, so
/// that a rootfs that died cannot hang us: ENXIO until it reads).
fn reply_to_rootfs(fifo: &Path, reply: &str, process: &pidref::ProcessRef) -> Result<()> {
    use std::io::Write;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(fifo) {
            Ok(mut file) => {
                // Blocking again for the write itself: rootfs reads it all.
                let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
                // SAFETY: clears O_NONBLOCK on our own descriptor.
                unsafe { libc::fcntl(fd, libc::F_SETFL, 0) };
                return file.write_all(reply.as_bytes()).map_err(Error::io("write", fifo));
            }
            Err(e)
                if e.raw_os_error() == Some(libc::ENXIO)
                    && process.alive()
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => return Err(Error::io("write", fifo)(e)),
        }
    }
}

/// What cannot work, refused before anything is made.
fn check_config(config: &Config, bundle: &Path) -> Result<()> {
    let root = config
        .root()
        .as_ref()
        .ok_or_else(|| Error::invalid("config.json", "root", "has no root.path"))?;
    let path = bundle.join(root.path());
    if !path.is_dir() {
        return Err(Error::invalid("root.path", path.display().to_string(), "is not a directory"));
    }
    let has_mount_ns = config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|n| n.iter().any(|ns| ns.typ() == LinuxNamespaceType::Mount));
    if !has_mount_ns {
        return Err(Error::invalid(
            "linux.namespaces",
            "",
            "needs a mount namespace (the root is built in it)",
        ));
    }
    Ok(())
}

/// `linux.namespaces` as ns-exec's flags: `--pid` for a new one,
/// `--net=PATH` to join one; the id maps and the hostname with them.
fn namespace_flags(config: &Config) -> Result<Vec<String>> {
    let mut flags = Vec::new();
    let linux = config.linux().as_ref();
    for ns in linux.and_then(|l| l.namespaces().as_ref()).into_iter().flatten() {
        let name = match ns.typ() {
            LinuxNamespaceType::Pid => "pid",
            LinuxNamespaceType::Network => "net",
            LinuxNamespaceType::Mount => "mount",
            LinuxNamespaceType::Ipc => "ipc",
            LinuxNamespaceType::Uts => "uts",
            LinuxNamespaceType::User => "user",
            LinuxNamespaceType::Cgroup => "cgroup",
            LinuxNamespaceType::Time => "time",
        };
        // An empty path is no path: a new namespace (as runc reads it).
        match ns.path().as_ref().filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => flags.push(format!("--{name}={}", path.display())),
            None => flags.push(format!("--{name}")),
        }
    }
    for (flag, maps) in [
        ("--uid-map", linux.and_then(|l| l.uid_mappings().as_ref())),
        ("--gid-map", linux.and_then(|l| l.gid_mappings().as_ref())),
    ] {
        for m in maps.into_iter().flatten() {
            flags.push(format!("{flag}={}:{}:{}", m.container_id(), m.host_id(), m.size()));
        }
    }
    if let Some(name) = config.hostname() {
        if !name.is_empty() {
            flags.push(format!("--hostname={name}"));
        }
    }
    // Propagation is rootfs's (linux.rootfsPropagation).
    flags.push("--propagation=unchanged".into());
    Ok(flags)
}

/// The host uid and gid of root in the container's new user namespace
/// (`None` without one, or for one joined by path).
fn container_root(config: &Config) -> Option<(u32, u32)> {
    let linux = config.linux().as_ref()?;
    let new_user = linux.namespaces().iter().flatten().any(|n| {
        n.typ() == LinuxNamespaceType::User
            && n.path().as_ref().is_none_or(|p| p.as_os_str().is_empty())
    });
    if !new_user {
        return None;
    }
    let host_of_root = |maps: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps?.iter().find(|m| m.container_id() == 0).map(|m| m.host_id())
    };
    Some((
        host_of_root(linux.uid_mappings().as_ref())?,
        host_of_root(linux.gid_mappings().as_ref())?,
    ))
}

/// `linux.cgroupsPath` as cgctl's path; without one, `/dockerish/oci/ID`.
fn cgroup_path(config: &Config, id: &str) -> Result<cgctl::CgroupPath> {
    let given = config.linux().as_ref().and_then(|l| l.cgroups_path().as_ref());
    let text = match given {
        Some(path) => path.display().to_string(),
        None => format!("/dockerish/oci/{id}"),
    };
    if text.contains(':') {
        return Err(Error::invalid(
            "linux.cgroupsPath",
            text,
            "is systemd's slice:prefix:name form; ocirun drives cgroupfs only (no --systemd-cgroup)",
        ));
    }
    Ok(text.parse()?)
}

/// `linux.resources` as cgctl's limits.
pub fn limits(resources: Option<&LinuxResources>) -> Result<cgctl::Limits> {
    let mut limits = cgctl::Limits::default();
    let Some(r) = resources else { return Ok(limits) };
    if let Some(m) = r.memory() {
        limits.memory = m.limit().filter(|l| *l > 0).map(|l| l as u64);
        limits.memory_swap = m.swap().filter(|s| *s != 0);
        limits.memory_reservation = m.reservation().filter(|l| *l > 0).map(|l| l as u64);
    }
    if let Some(cpu) = r.cpu() {
        // cgctl keeps a CPU limit as CPUs' worth (quota per period), so a
        // period alone sets nothing (containerd gives every pod without a
        // CPU limit one, at create and update; the `--cpu-period` flag
        // alone is refused); a quota alone is per the kernel's default
        // period, 100 ms.
        if let Some(quota) = cpu.quota().filter(|q| *q > 0) {
            let period = cpu.period().filter(|p| *p > 0).unwrap_or(100_000);
            limits.cpus = Some(quota as f64 / period as f64);
        }
        limits.cpu_shares = cpu.shares().filter(|s| *s > 0);
        limits.cpuset_cpus = cpu.cpus().clone().filter(|s| !s.is_empty());
        limits.cpuset_mems = cpu.mems().clone().filter(|s| !s.is_empty());
    }
    if let Some(pids) = r.pids() {
        // 0 and -1 are no limit: for `update`, the limit lifted.
        limits.pids_limit = Some(pids.limit());
    }
    if let Some(weight) = r.block_io().as_ref().and_then(|b| b.weight()) {
        limits.blkio_weight = Some(weight);
    }
    limits.devices = Some(device_rules(r.devices().iter().flatten())?);
    Ok(limits)
}

/// `linux.resources.devices` in order, then the devices every container
/// may use (runc's list, as cgctl's defaults: appended last, as runc does,
/// so a config cannot take /dev/null away). cgctl keeps an allow-list: a
/// deny rule takes its access from the allows before it that it covers
/// (a deny of everything empties the list, as engines start theirs); a
/// deny of part of an earlier wildcard allow cannot be said that way, and
/// is refused rather than dropped (dropping it would allow what it denies).
fn device_rules<'a>(
    config: impl Iterator<Item = &'a oci_spec::runtime::LinuxDeviceCgroup>,
) -> Result<Vec<cgctl::devices::DeviceRule>> {
    use cgctl::devices::{DeviceRule, Type};
    let within = |outer: Option<u32>, inner: Option<u32>| outer.is_none() || outer == inner;
    let meet = |a: Option<u32>, b: Option<u32>| a.is_none() || b.is_none() || a == b;
    let covers = |deny: &DeviceRule, rule: &DeviceRule| {
        (deny.kind == Type::All || deny.kind == rule.kind)
            && within(deny.major, rule.major)
            && within(deny.minor, rule.minor)
    };
    let overlaps = |deny: &DeviceRule, rule: &DeviceRule| {
        (deny.kind == Type::All || rule.kind == Type::All || deny.kind == rule.kind)
            && meet(deny.major, rule.major)
            && meet(deny.minor, rule.minor)
            && deny.access & rule.access != 0
    };
    let mut rules: Vec<DeviceRule> = Vec::new();
    for d in config {
        let kind = match d.typ().map(|t| t.as_str().to_string()).as_deref() {
            Some("c") => "c",
            Some("b") => "b",
            _ => "a",
        };
        let num = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_else(|| "*".into());
        let access = d.access().clone().unwrap_or_else(|| "rwm".into());
        let text = format!("{kind} {}:{} {access}", num(d.major()), num(d.minor()));
        let rule: DeviceRule = text.parse()?;
        if d.allow() {
            rules.push(rule);
            continue;
        }
        for allowed in rules.iter_mut().filter(|r| covers(&rule, r)) {
            allowed.access &= !rule.access;
        }
        rules.retain(|r| r.access != 0);
        if rules.iter().any(|r| overlaps(&rule, r)) {
            let why = "denies part of an earlier wildcard allow, which cgroup device lists here cannot express";
            return Err(Error::invalid("linux.resources.devices", text, why));
        }
    }
    for text in cgctl::devices::DEFAULT_RULES {
        rules.push(text.parse()?);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: serde_json::Value) -> Result<Vec<String>> {
        let list: Vec<oci_spec::runtime::LinuxDeviceCgroup> = serde_json::from_value(json).unwrap();
        let all = device_rules(list.iter())?;
        let defaults = cgctl::devices::DEFAULT_RULES.len();
        Ok(all[..all.len() - defaults].iter().map(|r| r.to_string()).collect())
    }

    #[test]
    fn device_rules_apply_in_order_with_the_defaults_last() {
        // An engine's list: deny everything, then allow one.
        let list = serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"},
        ]);
        assert_eq!(rules(list).unwrap(), ["c 10:200 rw"]);
        // A later deny takes access from the allows it covers.
        let list = serde_json::json!([
            {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
            {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"},
            {"allow": false, "type": "c", "major": 10, "access": "w"},
            {"allow": false, "type": "b", "major": 8, "minor": 0, "access": "r"},
        ]);
        assert_eq!(rules(list).unwrap(), ["c 10:200 rm"]);
        // Part of a wildcard: refused, never dropped.
        let list = serde_json::json!([
            {"allow": true, "type": "c", "major": 10, "access": "rw"},
            {"allow": false, "type": "c", "major": 10, "minor": 200, "access": "rw"},
        ]);
        let err = rules(list).unwrap_err().to_string();
        assert!(err.contains("c 10:200 rw") && err.contains("wildcard"), "{err}");
    }
}
