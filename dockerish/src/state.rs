//! Containers on disk.
//!
//! ```text
//! ROOT/containers/
//!   .lock               flock(2)ed around every read-modify-write of a container
//!   <id>/config.json    what the container is: name, image, command, options
//!   <id>/state.json     what it is doing: status, PIDs, times, exit code
//!   <id>/pid            the host PID of its init, written by ns-exec
//!   <id>/container.log  its stdout and stderr, when a supervisor runs it (`logs`)
//!   <id>/start.sock     where rootfs reports the start (`container::launch`)
//!   <id>/upper work merged hostname hosts resolv.conf    rootfs's (its --dir)
//! ```
//!
//! Both JSON files are replaced atomically (write a temporary file, fsync,
//! rename(2)), so a reader never sees half of one, even if the writer is
//! killed. Those of a `run --rm` container are not fsync'd (it is removed
//! when it exits, and after a power failure too: see [`durability`]). A recorded PID is trusted only together with the process start
//! time it was recorded with, so a PID reused by another process is never
//! taken for the container.
//!
//! # What a kill -9 can leave, and who finishes it
//!
//! A command may be killed between any two of its system calls. Every
//! directory entry under `containers/` is in one of these states, and
//! every command is total over them:
//!
//! | entry | how it arises | what readers do | who finishes it |
//! |---|---|---|---|
//! | `.new-ID/` | [`Containers::create`] builds the records here, under the lock, then renames the directory to `ID` (the one step that makes a container exist) | skip it | the next command that takes the lock removes it (its creator held the lock, so it is dead) |
//! | `ID/` and `volumes/ID/` | anonymous volumes are made after the rename: a kill between leaves a record that names volumes not yet made | show it | `rm -v` (a missing volume is no error) |
//! | `ID/` with config.json | a container; state.json missing means it never got further than created | show it | — |
//! | `ID/` without config.json, or with an empty record | left by a version before this protocol (its create wrote the files in place); an empty record: a `--rm` container's, after a power failure | show it as Dead, its name "" | `rm -f ID`, `container prune`, `system check --repair` |
//! | `.trash-ID/` | [`Containers::remove`] renames `ID` here (the one step that makes it gone: the name is free) before deleting the tree | skip it | the next removal (outside the lock's short work), `system check --repair` |
//! | `.*.tmp` files | a JSON write killed before its rename | skip them (json-store) | the next write under the lock |
//!
//! The kernel objects a container holds (its cgroup, its network, its
//! processes) are taken down by `teardown`, which is safe to repeat, before
//! the directory is renamed away: a removal killed before the rename is
//! done again by the next `rm -f`, one killed after it left only files.
//! `dockerish system check` lists what is not in a final state;
//! `--repair` finishes it.

use std::fs;
use std::path::{Path, PathBuf};

use json_store::{Durability, Lock};
use serde::{Deserialize, Serialize};

use cgctl::CgroupPath;
use rootfs::Volume;

use crate::error::{Error, Result, ToolError};
use pidref::parent_pid;
use pidref::ProcessRef;

/// What the container is, fixed when it is created. (`Default` is only
/// the placeholder of a dead record.)
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Config {
    pub id: String,
    pub name: String,
    /// The image as the user named it, and the ID it resolved to.
    pub image: String,
    pub image_id: String,
    /// Seconds since the epoch.
    pub created: u64,
    /// The command: entrypoint and arguments, resolved.
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub hostname: String,
    /// Bind mounts, anonymous volumes included, as `SRC:DST[:ro]` on disk.
    #[serde(with = "as_text")]
    pub volumes: Vec<Volume>,
    /// Image layer directories, topmost first.
    pub layers: Vec<PathBuf>,
    pub read_only: bool,
    pub init: bool,
    pub tty: bool,
    pub interactive: bool,
    pub auto_remove: bool,
    pub network: Network,
    /// Further networks (`network connect`), joined after `network` at
    /// each start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_networks: Vec<String>,
    /// `-p`: ports published from the host (a host port 0: any free one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<netctl::PortMapping>,
    /// `--ip`, `--network-alias`, `--add-host` (`HOST:IP`), `--dns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<std::net::IpAddr>,
    /// The container's cgroup (cgctl's PATH: absolute, or relative to the
    /// cgroup of the dockerish that ran it) and its limits. A record made
    /// before containers had cgroups has none: see [`Config::cgroup`].
    #[serde(default, rename = "cgroup", skip_serializing_if = "Option::is_none")]
    pub cgroup_path: Option<CgroupPath>,
    #[serde(default)]
    pub resources: cgctl::Limits,
    /// Directories made for `-v DST` (anonymous volumes); `rm -v` removes them.
    #[serde(default)]
    pub anonymous_volumes: Vec<PathBuf>,
    /// `-u USER[:GROUP]`, resolved in the container's /etc/passwd at each start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Capabilities, seccomp, no_new_privileges, `--privileged`.
    #[serde(default)]
    pub security: crate::security::SecurityConfig,
    /// `--restart`: whether its supervisor runs it again when it exits.
    #[serde(default, skip_serializing_if = "crate::restart::RestartPolicy::is_no")]
    pub restart: crate::restart::RestartPolicy,
    /// `--log-driver`, `--log-opt`: where its output goes, how much is kept.
    #[serde(default, skip_serializing_if = "crate::logs::LogConfig::is_default")]
    pub log: crate::logs::LogConfig,
}

impl Config {
    /// The container's cgroup: the recorded one, or for a record from
    /// before cgroups, where the default parent would have put it.
    pub fn cgroup(&self) -> CgroupPath {
        self.cgroup_path.clone().unwrap_or_else(|| {
            DEFAULT_CGROUP_PARENT
                .parse::<CgroupPath>()
                .and_then(|p| p.join(&self.id))
                .expect("an ID is a cgroup name")
        })
    }
}

/// Where containers' cgroups go unless `--cgroup-parent` says otherwise.
pub const DEFAULT_CGROUP_PARENT: &str = "/dockerish";

/// The network a container is on (`--network`): Docker's three kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    /// A network namespace of its own, with only loopback.
    None,
    /// The host's network namespace.
    Host,
    /// A netctl network (`bridge`, the default one, or one made with
    /// `network create`): a namespace of its own, wired to its bridge.
    Named(String),
}

/// A dead record's placeholder.
impl Default for Network {
    fn default() -> Self {
        Network::None
    }
}

/// Docker's name for the default network.
pub const DEFAULT_NETWORK: &str = "bridge";

impl Network {
    pub fn name(&self) -> &str {
        match self {
            Network::None => "none",
            Network::Host => "host",
            Network::Named(name) => name,
        }
    }
}

impl std::str::FromStr for Network {
    type Err = std::convert::Infallible;
    /// netctl checks a network's name when it attaches.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s {
            "none" => Network::None,
            "host" => Network::Host,
            "" | "default" => Network::Named(DEFAULT_NETWORK.into()),
            name => Network::Named(name.into()),
        })
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Kept as its name, as records have always had it ("none", "host").
impl Serialize for Network {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(String::deserialize(d)?.parse().expect("every name parses"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
}

/// What the container is doing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// The process that runs and waits for the container, and records how
    /// it ended: the foreground `dockerish run`, or the container's
    /// `dockerish-supervisor`.
    pub monitor: Option<ProcessRef>,
    /// The container's init (its PID 1), once its command runs.
    #[serde(default)]
    pub init: Option<ProcessRef>,
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
    pub exit_code: Option<i32>,
    /// Frozen by `dockerish pause`.
    #[serde(default)]
    pub paused: bool,
    /// The OOM killer killed a process of the container.
    #[serde(default, rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Where it is on each network, as netctl attached it (while it runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<netctl::attach::Attached>,
    /// How often its restart policy ran it again since it was started.
    #[serde(default)]
    pub restart_count: u32,
    /// It exited and its supervisor waits out the back-off to start it again.
    #[serde(default)]
    pub backing_off: bool,
    /// `stop`, `kill` or `rm -f` ended its restart policy.
    #[serde(default)]
    pub manually_stopped: bool,
}

impl State {
    pub fn created() -> State {
        State {
            status: Status::Created,
            monitor: None,
            init: None,
            started_at: None,
            finished_at: None,
            exit_code: None,
            paused: false,
            oom_killed: false,
            networks: Vec::new(),
            restart_count: 0,
            backing_off: false,
            manually_stopped: false,
        }
    }

    /// The status as it really is, from the processes rather than the
    /// record: a container recorded as running runs while its monitor or
    /// its init does (a foreground `run` killed with -9 leaves the init
    /// running); when both are gone (killed, or the machine rebooted) it
    /// has exited.
    pub fn effective(&self) -> Status {
        let alive = |p: Option<ProcessRef>| p.is_some_and(|p| p.alive());
        match self.status {
            Status::Running if alive(self.monitor) || alive(self.init) => Status::Running,
            Status::Running => Status::Exited,
            status => status,
        }
    }

    /// The exit code to show: the recorded one, or 255 for a container
    /// that ended without anyone recording how (Docker's choice too).
    pub fn shown_exit_code(&self) -> Option<i32> {
        match self.effective() {
            Status::Exited => Some(self.exit_code.unwrap_or(UNKNOWN_EXIT)),
            _ => None,
        }
    }

    // With a live monitor and a status other than Running, a container is
    // one of:
    //
    // | moment | starting() | backing_off() | restarting() |
    // |---|---|---|---|
    // | `run`/`start` until its init runs | yes | no | no |
    // | its policy waits out the back-off | yes | yes | yes |
    // | its policy starts it again | yes | no | yes |
    //
    // starting(): nobody else may start or remove it; settled() waits for
    // it, but not through a back-off; restarting(): Docker's "restarting".

    /// Whether its supervisor waits out a back-off to start it again.
    pub fn backing_off(&self) -> bool {
        self.backing_off
            && self.status != Status::Running
            && self.monitor.is_some_and(|m| m.alive())
    }

    /// Docker's "restarting": its restart policy is running it again (it
    /// waits out the back-off, or starts it; a start by hand counts from 0).
    pub fn restarting(&self) -> bool {
        let again = self.backing_off || (self.status == Status::Exited && self.restart_count > 0);
        again && self.status != Status::Running && self.monitor.is_some_and(|m| m.alive())
    }

    /// Whether a process is starting the container: `run` or `start` until
    /// the supervisor takes over, then the supervisor until the command runs
    /// (and, with a restart policy, while it waits to run it again: nobody
    /// else may start it or remove it meanwhile).
    pub fn starting(&self) -> bool {
        self.status != Status::Running && self.monitor.is_some_and(|m| m.alive())
    }
}

/// The exit code of a container whose end nobody saw.
pub const UNKNOWN_EXIT: i32 = 255;

/// A container: its config and state.
#[derive(Clone, Debug)]
pub struct Container {
    pub config: Config,
    pub state: State,
    pub dir: PathBuf,
    /// Its config.json is missing (a record an older version's killed
    /// command left): shown as Dead, with a placeholder config.
    pub dead: bool,
}

/// Entries of `containers/` in passing (see the module docs).
const NEW_PREFIX: &str = ".new-";
const TRASH_PREFIX: &str = ".trash-";

fn is_new(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with(NEW_PREFIX))
}

/// The containers of a state root.
pub struct Containers {
    dir: PathBuf,
}

impl Containers {
    pub fn open(root: &Path) -> Result<Containers> {
        tool_cli::root::make_private(root).map_err(Error::io("create", root))?;
        let dir = root.join("containers");
        fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        Ok(Containers { dir })
    }

    /// The state root the containers are in.
    pub fn root(&self) -> &Path {
        self.dir.parent().expect("ROOT/containers has a parent")
    }

    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Holds the store lock until the returned guard is dropped. Whoever
    /// takes it first removes the `.new-*` directories killed creates left
    /// (their creators held this lock, so they are dead; two small files
    /// each).
    pub fn lock(&self) -> Result<Lock> {
        let lock = self.lock_only()?;
        for dir in self.in_passing().iter().filter(|d| is_new(d)) {
            let _ = fs::remove_dir_all(dir);
        }
        Ok(lock)
    }

    /// The lock, touching nothing (`system check` looks first).
    pub fn lock_only(&self) -> Result<Lock> {
        Ok(Lock::exclusive(&self.dir.join(".lock"))?)
    }

    /// The `.new-*` and `.trash-*` directories.
    pub fn in_passing(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(&self.dir) else { return vec![] };
        entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(NEW_PREFIX) || name.starts_with(TRASH_PREFIX)
            })
            .map(|e| e.path())
            .collect()
    }

    /// Every container, oldest first; one without its config.json is
    /// [`Container::dead`]. Entries in passing are skipped.
    pub fn all(&self) -> Result<Vec<Container>> {
        let mut all = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(Error::io("list", &self.dir))?.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            if let Ok(container) = self.load(&name.to_string_lossy()) {
                all.push(container);
            }
        }
        all.sort_by(|a, b| {
            a.config.created.cmp(&b.config.created).then(a.config.id.cmp(&b.config.id))
        });
        Ok(all)
    }

    /// The container named `key`: by exact name, full ID, or unique ID prefix.
    pub fn find(&self, key: &str) -> Result<Container> {
        let all = self.all()?;
        // A dead record's name is "": it is found only by its ID.
        let named = |c: &&Container| !c.config.name.is_empty() && c.config.name == key;
        if let Some(c) = all.iter().find(|c| named(c) || c.config.id == key) {
            return Ok(c.clone());
        }
        let matches: Vec<_> =
            all.iter().filter(|c| !key.is_empty() && c.config.id.starts_with(key)).collect();
        match matches[..] {
            [one] => Ok(one.clone()),
            [] => Err(Error::NoSuchContainer(key.into())),
            _ => Err(Error::Ambiguous(key.into())),
        }
    }

    /// Creates the directory and records of a new container, with
    /// `monitor` (the process about to start it). The caller holds the lock
    /// and has checked the name is free.
    pub fn create(&self, config: &Config, monitor: Option<ProcessRef>) -> Result<Container> {
        let dir = self.dir_of(&config.id);
        let new = self.dir.join(format!("{NEW_PREFIX}{}", config.id));
        fs::create_dir(&new).map_err(Error::io("create", &new))?;
        let state = State { monitor, ..State::created() };
        let durability = durability(config);
        let done = write_json(&new.join("state.json"), &state, durability)
            .and_then(|()| write_json(&new.join("config.json"), config, durability))
            .and_then(|()| crate::crash::point("create:built"))
            // The container exists from this rename on, whole.
            .and_then(|()| fs::rename(&new, &dir).map_err(Error::io("rename into place", &dir)));
        if let Err(e) = done {
            let _ = fs::remove_dir_all(&new);
            return Err(e);
        }
        Ok(Container { config: config.clone(), state, dir, dead: false })
    }

    /// Reads the container `id` afresh, lets `change` modify its state
    /// and saves it, all under the store lock: the read-modify-write that
    /// monitors, `pause` and `start` must not interleave.
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Container) -> Result<()>,
    ) -> Result<Container> {
        let _lock = self.lock()?;
        let mut container = self.load(id)?;
        change(&mut container)?;
        // Under the lock no writer is at work: what a killed one left goes.
        json_store::remove_stale_temps(&container.dir)?;
        container.save_state()?;
        Ok(container)
    }

    /// The container with full ID `id`: a record without state.json is
    /// one that never got past created, one without config.json is dead.
    pub fn load(&self, id: &str) -> Result<Container> {
        let dir = self.dir_of(id);
        if id.starts_with('.') || !dir.is_dir() {
            return Err(Error::NoSuchContainer(id.into()));
        }
        // Either may be empty after a power failure (a `--rm` container's
        // records are not fsync'd): then the container is dead.
        let volatile = Durability::Volatile;
        let state_path = dir.join("state.json");
        let emptied = fs::metadata(&state_path).is_ok_and(|m| m.len() == 0);
        let state = json_store::read_json_as(&state_path, volatile)?.unwrap_or_else(State::created);
        let (config, dead) =
            match json_store::read_json_as::<Config>(&dir.join("config.json"), volatile)? {
                Some(config) => (config, emptied),
                None => {
                    (Config { id: id.into(), image: "<unknown>".into(), ..Config::default() }, true)
                }
            };
        Ok(Container { config, state, dir, dead })
    }

    /// Removes a container's directory, its writable layer and records:
    /// renamed to `.trash-ID` first (from then on the container is gone and
    /// its name free), then deleted; what a kill leaves of the tree, the
    /// next taker of the lock deletes.
    pub fn remove(&self, container: &Container) -> Result<()> {
        let trash = self.dir.join(format!("{TRASH_PREFIX}{}", container.config.id));
        match fs::rename(&container.dir, &trash) {
            // An --rm container whose monitor removed it already.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other.map_err(Error::io("remove", &container.dir))?,
        }
        crate::crash::point("remove:renamed")?;
        // Ours, and any a killed removal left: nothing reads them.
        for dir in self.in_passing().iter().filter(|d| !is_new(d)) {
            let _ = fs::remove_dir_all(dir);
        }
        Ok(())
    }
}

impl Container {
    /// Docker's name for what a container is doing.
    pub fn state_name(&self) -> &'static str {
        if self.dead {
            return "dead";
        }
        if self.state.restarting() {
            return "restarting";
        }
        match self.state.effective() {
            Status::Created => "created",
            Status::Running if self.state.paused => "paused",
            Status::Running => "running",
            Status::Exited => "exited",
        }
    }

    pub fn save_state(&self) -> Result<()> {
        write_json(&self.dir.join("state.json"), &self.state, durability(&self.config))
    }

    /// Rewrites the config (`rename`); the caller holds the lock.
    pub fn save_config(&self) -> Result<()> {
        write_json(&self.dir.join("config.json"), &self.config, durability(&self.config))
    }

    pub fn short_id(&self) -> &str {
        &self.config.id[..12]
    }

    /// The container's init, if the container runs: the recorded one,
    /// believed only while its start time matches. While a monitor is
    /// still starting the container there is no record yet;
    /// the pidfile is then believed only if that process descends from
    /// the monitor (which runs ns-exec, which runs the init): a stale
    /// pidfile must not make us act on a stranger.
    pub fn init(&self) -> Option<ProcessRef> {
        if let Some(init) = self.state.init.filter(|i| i.alive()) {
            return Some(init);
        }
        let monitor = self.state.monitor.filter(|m| m.alive())?;
        let pid: i32 = fs::read_to_string(self.dir.join("pid")).ok()?.trim().parse().ok()?;
        let parent = parent_pid(pid)?;
        (parent == monitor.pid || parent_pid(parent) == Some(monitor.pid))
            .then(|| ProcessRef::of(pid))?
    }

    /// The host PID of [`Container::init`].
    pub fn init_pid(&self) -> Option<i32> {
        self.init().map(|p| p.pid)
    }

    /// The running container's init PID, or Docker's error.
    pub fn running_init(&self) -> Result<i32> {
        self.init_pid().ok_or_else(|| Error::NotRunning(self.short_id().into()))
    }
}

/// Replaces `path` atomically with `value` as JSON.
fn write_json<T: Serialize>(path: &Path, value: &T, durability: Durability) -> Result<()> {
    Ok(json_store::write_json_as(path, value, durability)?)
}

/// The records of a container that `--rm` removes when it exits are not
/// fsync'd: after a power failure it would be removed anyway (an empty
/// record reads as missing: a dead container that `system check --repair`
/// removes). Every other container's are, as Docker's are.
fn durability(config: &Config) -> Durability {
    match config.auto_remove {
        true => Durability::Volatile,
        false => Durability::Synced,
    }
}

/// Values kept as the text their command-line form has (`SRC:DST:ro`),
/// read back with `FromStr`: the on-disk format is the one users type.
mod as_text {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(values: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|v| v.to_string()))
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<Vec<T>, D::Error>
    where
        T: FromStr<Err: Display>,
        D: Deserializer<'de>,
    {
        let texts = Vec::<String>::deserialize(d)?;
        texts.iter().map(|t| t.parse().map_err(D::Error::custom)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record written by the code of November 2026, before the record
    /// had types: users' containers from then must still load.
    #[test]
    fn a_record_of_2026_11_still_loads() {
        let config: Config =
            serde_json::from_str(include_str!("../tests/fixtures/config-2026-11.json")).unwrap();
        assert_eq!(config.name, "pinned");
        assert_eq!(config.network, Network::None);
        assert_eq!(config.volumes[0], "/tmp:/data:ro".parse().unwrap());
        assert!(config.volumes[1].source.ends_with("_data") && !config.volumes[1].read_only);
        assert_eq!(config.cgroup().to_string().split('/').next(), Some("pin-fixture"));
        assert_eq!(config.resources.memory, Some(64 << 20));
        assert_eq!(config.resources.memory_swap, Some(128 << 20));
        assert_eq!(config.resources.cpus, Some(0.5));
        assert_eq!(config.anonymous_volumes.len(), 1);
        let state: State =
            serde_json::from_str(include_str!("../tests/fixtures/state-2026-11.json")).unwrap();
        assert_eq!((state.status, state.exit_code), (Status::Exited, Some(0)));
        // A record from before hardening gets today's defaults.
        assert_eq!(config.security, crate::security::SecurityConfig::default());
        // And what we write now is the same format, plus that.
        let mut written: serde_json::Value = serde_json::to_value(&config).unwrap();
        written.as_object_mut().unwrap().remove("security");
        let original: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/config-2026-11.json")).unwrap();
        assert_eq!(written, original);
        // Older still: no cgroup at all. It loads, and is given the default's.
        let mut old = original.clone();
        old.as_object_mut().unwrap().remove("cgroup");
        let config: Config = serde_json::from_value(old).unwrap();
        assert_eq!(config.cgroup().to_string(), format!("/dockerish/{}", config.id));
    }

    #[test]
    fn a_running_record_without_its_monitor_has_exited() {
        let mut state = State::created();
        state.status = Status::Running;
        state.monitor = Some(ProcessRef { pid: i32::MAX, start_time: 1, boot: 0 });
        assert_eq!(state.effective(), Status::Exited);
        state.monitor = ProcessRef::of(std::process::id() as i32);
        assert_eq!(state.effective(), Status::Running);
    }
}
