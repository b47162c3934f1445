//! One cgroup, in every hierarchy cgctl uses: one directory on a cgroup v2
//! host, one per controller hierarchy on v1 and hybrid hosts, at the same
//! path in each.
//!
//! A cgroup is a directory: mkdir(2) creates it, rmdir(2) removes it (only
//! once no process is left in it), and its files are the interface —
//! `cgroup.procs` to move a process in, the controllers' files to limit and
//! to read usage.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Serialize;

use crate::error::{Error, Result, ToolError};
use crate::files::{read_keyed, read_value, write_error, write_value};
use crate::layout::{Hierarchy, Kind, Layout, Version, V2_CONTROLLERS};
use crate::limits::Limits;
use crate::path::CgroupPath;

/// How often state files are polled while waiting for the kernel.
const POLL: Duration = Duration::from_millis(5);
/// How long one freeze of a kill round may take.
const FREEZE_ROUND: Duration = Duration::from_millis(500);

/// The cgroup's place in one hierarchy.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    pub version: Version,
    pub controllers: Vec<String>,
    /// Its path from the hierarchy's root.
    pub cgroup: String,
    /// The cgroup the path was resolved from (the root, or the caller's
    /// own): cgctl creates and removes only below it.
    #[serde(skip)]
    pub base: String,
    pub dir: PathBuf,
    #[serde(skip)]
    hierarchy: Hierarchy,
}

impl Member {
    /// Cgroup `cgroup` (resolved from `base`) in hierarchy `h`.
    fn new(h: &Hierarchy, cgroup: String, base: String) -> Result<Member> {
        Ok(Member {
            version: h.version,
            controllers: h.controllers.clone(),
            dir: h.dir_of(&cgroup)?,
            cgroup,
            base,
            hierarchy: h.clone(),
        })
    }

    fn has(&self, controller: &str) -> bool {
        self.hierarchy.has(controller)
    }
}

/// A cgroup: its name as given, and its directory in each hierarchy.
#[derive(Clone, Debug, Serialize)]
pub struct Cgroup {
    pub path: String,
    pub layout: Kind,
    pub members: Vec<Member>,
}

/// One line of [`Cgroup::tree`].
#[derive(Clone, Debug, Serialize)]
pub struct TreeEntry {
    pub path: String,
    pub procs: usize,
}

/// How long `kill` and `remove` wait for processes to leave, unless told
/// (`cgctl rm --timeout`, `cgctl kill --timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `remove` does besides rmdir.
#[derive(Clone, Copy, Debug)]
pub struct RemoveOptions {
    /// Remove child cgroups too (refused otherwise).
    pub recursive: bool,
    /// Kill what still runs in it first.
    pub force: bool,
    /// Then remove the parents the removal left empty (`rmdir -p`), up to
    /// the cgroup the path was resolved from.
    pub parents: bool,
    /// How long to wait for the processes to leave.
    pub timeout: Duration,
}

impl Default for RemoveOptions {
    /// A plain rmdir that waits [`DEFAULT_TIMEOUT`] for the cgroup to empty.
    fn default() -> Self {
        RemoveOptions { recursive: false, force: false, parents: false, timeout: DEFAULT_TIMEOUT }
    }
}

impl Cgroup {
    /// `path` in every hierarchy of `layout`; nothing is checked on disk.
    pub fn resolve(layout: &Layout, path: &CgroupPath) -> Result<Cgroup> {
        let members = layout
            .used()
            .map(|h| {
                let (cgroup, base) = path.resolve(h);
                Member::new(h, cgroup, base)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Cgroup { path: path.to_string(), layout: layout.kind, members })
    }

    /// The existing cgroup `path`, in the hierarchies where it exists (a
    /// v1 cgroup half removed by an interrupted rm can still be removed).
    pub fn open(layout: &Layout, path: &CgroupPath) -> Result<Cgroup> {
        let mut cgroup = Cgroup::resolve(layout, path)?;
        cgroup.members.retain(|m| m.dir.is_dir());
        cgroup.must_exist()?;
        Ok(cgroup)
    }

    /// The cgroup process `pid` is in (what /proc/PID/cgroup says).
    pub fn of_pid(pid: i32) -> Result<Cgroup> {
        let layout = Layout::detect_for(&pid.to_string())
            .map_err(|_| Error::NoSuchCgroup(format!("of process {pid} (no such process)")))?;
        let members = layout
            .used()
            .map(|h| Member::new(h, h.own.clone(), h.own.clone()))
            .collect::<Result<Vec<_>>>()?;
        let path = members.first().map(|m| m.cgroup.clone()).unwrap_or_default();
        Ok(Cgroup { path, layout: layout.kind, members })
    }

    fn must_exist(&self) -> Result<()> {
        match !self.members.is_empty() && self.members.iter().all(|m| m.dir.is_dir()) {
            true => Ok(()),
            false => Err(Error::NoSuchCgroup(self.path.clone())),
        }
    }

    /// Refuses to freeze, kill or remove a hierarchy's root, or a cgroup
    /// that holds cgctl itself (`cgctl kill --pid $$` would kill the shell
    /// that asked, and cgctl with it).
    fn must_not_hold_us(&self, what: &'static str) -> Result<()> {
        let me = std::process::id() as i32;
        if self.members.iter().any(|m| m.cgroup == "/") || self.pids(true).contains(&me) {
            return Err(Error::invalid(
                "cgroup",
                self.path.clone(),
                format!("refusing to {what} a root cgroup or one cgctl itself runs in"),
            ));
        }
        Ok(())
    }

    /// The member in the hierarchy that holds `controller` (v1 name).
    fn member(&self, controller: &'static str) -> Result<&Member> {
        self.members.iter().find(|m| m.has(controller)).ok_or(Error::NoController {
            what: "this",
            controller,
            where_: "no hierarchy cgctl uses on this host has".into(),
        })
    }

    fn v2(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.version == Version::V2)
    }

    /// Creates the cgroup (and missing parents) with `limits`. Refuses bad
    /// limits before anything is made; removes what it made if a later step
    /// fails, so nothing is ever half set up.
    pub fn create(layout: &Layout, path: &CgroupPath, limits: &Limits) -> Result<Cgroup> {
        limits.check(layout)?;
        let cgroup = Cgroup::resolve(layout, path)?;
        if cgroup.members.iter().any(|m| m.dir.exists()) {
            return Err(Error::Exists(cgroup.path.clone()));
        }
        // A parent may vanish under us: another cgroup's `rm --parents` took
        // it while it was empty. Then start again; it is made anew.
        for attempt in 1.. {
            let mut made = Vec::new();
            let result = cgroup
                .members
                .iter()
                .try_for_each(|m| make(m, limits, &mut made))
                .and_then(|()| cgroup.set(limits));
            match result {
                Ok(()) => return Ok(cgroup),
                Err(e) => {
                    for dir in made.iter().rev() {
                        let _ = fs::remove_dir(dir);
                    }
                    if attempt == 3 || !e.is_enoent() {
                        return Err(e);
                    }
                }
            }
        }
        unreachable!("the loop returns")
    }

    /// Changes limits of an existing cgroup.
    pub fn set(&self, limits: &Limits) -> Result<()> {
        self.must_exist()?;
        match self.v2() {
            Some(m) => limits.apply_v2(&m.dir),
            None => limits.apply_v1(&|controller| Ok(self.member(controller)?.dir.clone())),
        }
    }

    /// Moves process `pid` (all its threads) into the cgroup. `0` is the
    /// caller. On v2 a process may only join a leaf that has controllers
    /// enabled in its parent, which [`Cgroup::create`] arranged.
    pub fn add(&self, pid: i32) -> Result<()> {
        self.must_exist()?;
        let pid = if pid == 0 { std::process::id() as i32 } else { pid };
        self.members.iter().try_for_each(|m| write_value(&m.dir, "cgroup.procs", pid))
    }

    /// Moves the caller into the cgroup: [`Cgroup::add`]`(0)`, but cheaper
    /// on v1 when the caller has one thread.
    ///
    /// A write to `cgroup.procs` moves a whole thread group, so the kernel
    /// takes the global `cgroup_threadgroup_rwsem` for writing, which waits
    /// for an RCU grace period: 4 to 13 ms here (measured: 8.7 ms median),
    /// more than half of a container's start. Writing `0` to a v1 `tasks`
    /// file moves only the calling thread, and a thread moving itself
    /// cannot exit or exec meanwhile, so the kernel skips that lock
    /// (`cgroup_procs_write_start` in kernel/cgroup/cgroup.c; measured on
    /// 6.18: 0.27 ms; a kernel without that shortcut costs what
    /// `cgroup.procs` does). With one thread that thread is the process,
    /// and an exec keeps the membership. v2 has no such file for domain
    /// cgroups (`cgroup.threads` moves threads only within one domain):
    /// there the way around the lock is clone3(2)'s CLONE_INTO_CGROUP.
    pub fn add_self(&self) -> Result<()> {
        self.must_exist()?;
        if !single_threaded() {
            return self.add(0);
        }
        self.members.iter().try_for_each(|m| write_value(&m.dir, self_join_file(m.version), 0))
    }

    /// The files [`Cgroup::add_self`] writes `0` to, opened for writing
    /// (close-on-exec): a process that will fork a child to run in the
    /// cgroup opens them first, and the child, single-threaded by
    /// definition between fork(2) and execve(2), writes `0` to each with
    /// one write(2) apiece, which is async-signal-safe (`cgctl exec` done
    /// in a `pre_exec` hook, without its exec).
    pub fn self_join_files(&self) -> Result<Vec<fs::File>> {
        self.must_exist()?;
        self.members
            .iter()
            .map(|m| {
                let path = m.dir.join(self_join_file(m.version));
                fs::OpenOptions::new().write(true).open(&path).map_err(write_error(&path, "0"))
            })
            .collect()
    }

    /// Moves the caller back to where it came from, in every hierarchy.
    pub fn leave(&self) {
        for m in &self.members {
            if let Ok(dir) = m.hierarchy.dir_of(&m.hierarchy.own) {
                let _ = write_value(&dir, "cgroup.procs", std::process::id());
            }
        }
    }

    /// The processes in the cgroup (and, with `recursive`, in its
    /// descendants), from every hierarchy.
    pub fn pids(&self, recursive: bool) -> Vec<i32> {
        let mut all = BTreeSet::new();
        for m in &self.members {
            for dir in std::iter::once(m.dir.clone()).chain(if recursive {
                descendants(&m.dir)
            } else {
                vec![]
            }) {
                let text = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                all.extend(text.lines().filter_map(|l| l.parse::<i32>().ok()));
            }
        }
        all.into_iter().collect()
    }

    /// This cgroup and every one below it, each with the number of
    /// processes in it (not counting its descendants): `cgctl ls`.
    pub fn tree(&self, layout: &Layout) -> Vec<TreeEntry> {
        let base = self.path.trim_end_matches('/');
        std::iter::once(self.path.clone())
            .chain(self.descendants().into_iter().map(|rel| format!("{base}/{rel}")))
            .map(|path| {
                let procs = path
                    .parse()
                    .and_then(|p| Cgroup::open(layout, &p))
                    .map(|c| c.pids(false).len())
                    .unwrap_or(0);
                TreeEntry { path, procs }
            })
            .collect()
    }

    /// The cgroups below this one, in any hierarchy (paths relative to it).
    pub fn descendants(&self) -> Vec<String> {
        let mut all = BTreeSet::new();
        for m in &self.members {
            all.extend(
                descendants(&m.dir)
                    .iter()
                    .filter_map(|d| Some(d.strip_prefix(&m.dir).ok()?.display().to_string())),
            );
        }
        all.into_iter().collect()
    }

    /// Whether a process is left in the cgroup or below it. v2 keeps this
    /// in `cgroup.events` ("populated 1"); on v1 we look at the lists.
    pub fn populated(&self) -> bool {
        match self.v2() {
            Some(m) => {
                read_keyed(&m.dir, "cgroup.events").iter().any(|(k, v)| k == "populated" && *v == 1)
            }
            None => !self.pids(true).is_empty(),
        }
    }

    fn wait_until(
        &self,
        what: &'static str,
        timeout: Duration,
        done: impl Fn() -> Result<bool>,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if done()? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    path: self.path.clone(),
                    state: what,
                    seconds: timeout.as_secs(),
                });
            }
            sleep(POLL);
        }
    }

    /// Freezes every process in the cgroup and waits until they all are:
    /// v2 `cgroup.freeze` (the kernel reports "frozen 1" in cgroup.events),
    /// v1 the freezer controller's `freezer.state` (FREEZING, then FROZEN;
    /// writing FROZEN again retries the tasks that were busy).
    /// A freeze that does not complete is undone: a cgroup is never left
    /// half frozen.
    pub fn freeze(&self, timeout: Duration) -> Result<()> {
        self.must_exist()?;
        self.must_not_hold_us("freeze")?;
        let done = match self.v2() {
            Some(m) => write_value(&m.dir, "cgroup.freeze", 1)
                .and_then(|()| self.wait_until("frozen", timeout, || Ok(self.frozen()))),
            None => {
                let dir = &self.member("freezer")?.dir;
                self.wait_until("frozen", timeout, || {
                    write_value(dir, "freezer.state", "FROZEN")?;
                    Ok(read_value(dir, "freezer.state")? == "FROZEN")
                })
            }
        };
        if done.is_err() {
            let _ = self.thaw(timeout);
        }
        done
    }

    /// Lets the processes run again.
    pub fn thaw(&self, timeout: Duration) -> Result<()> {
        self.must_exist()?;
        if let Some(m) = self.v2() {
            write_value(&m.dir, "cgroup.freeze", 0)?;
            return self.wait_until("thawed", timeout, || Ok(!self.frozen()));
        }
        let dir = &self.member("freezer")?.dir;
        write_value(dir, "freezer.state", "THAWED")?;
        self.wait_until("thawed", timeout, || Ok(read_value(dir, "freezer.state")? == "THAWED"))
    }

    /// Thaws the cgroup and every cgroup below it. A child frozen on its
    /// own (a paused container beneath an engine's cgroup) stays frozen
    /// when only its parent is thawed, and its tasks never act on the
    /// SIGKILL that [`Cgroup::kill`] sent them.
    fn thaw_tree(&self, timeout: Duration) -> Result<()> {
        self.thaw(timeout)?;
        let (dir, file, value) = match (self.v2(), self.member("freezer")) {
            (Some(m), _) => (&m.dir, "cgroup.freeze", "0"),
            (None, Ok(m)) => (&m.dir, "freezer.state", "THAWED"),
            (None, Err(_)) => return Ok(()),
        };
        // One gone meanwhile is no matter: kill's next round looks again.
        descendants(dir).iter().for_each(|d| drop(write_value(d, file, value)));
        Ok(())
    }

    /// Whether the cgroup is frozen (false where there is no freezer).
    pub fn frozen(&self) -> bool {
        match self.v2() {
            Some(m) => {
                read_keyed(&m.dir, "cgroup.events").iter().any(|(k, v)| k == "frozen" && *v == 1)
            }
            None => self
                .member("freezer")
                .is_ok_and(|m| read_value(&m.dir, "freezer.state").is_ok_and(|s| s == "FROZEN")),
        }
    }

    /// Sends `signal` to every process in the cgroup and below; returns
    /// how many were signalled. SIGKILL also waits until all are gone.
    ///
    /// Reading the list and signalling it is a race: a process may fork
    /// between the two, and its child escapes. v2 has `cgroup.kill` (Linux
    /// 5.14), which the kernel does atomically. Elsewhere the cgroup is
    /// frozen first, so nothing can fork, and the round is repeated until
    /// the cgroup is empty.
    pub fn kill(&self, signal: Signal, timeout: Duration) -> Result<usize> {
        self.must_exist()?;
        self.must_not_hold_us("kill")?;
        let count = self.pids(true).len();
        if !self.populated() {
            return Ok(0);
        }
        if signal != Signal::SIGKILL {
            self.signal_all(signal)?;
            return Ok(count);
        }
        match self.v2().filter(|m| m.dir.join("cgroup.kill").exists()) {
            Some(m) => write_value(&m.dir, "cgroup.kill", 1)?,
            None => {
                let can_freeze = self.v2().is_some() || self.member("freezer").is_ok();
                self.wait_until("empty", timeout, || {
                    if can_freeze {
                        // Short: a round that cannot freeze still signals.
                        let _ = self.freeze(FREEZE_ROUND);
                    }
                    self.signal_all(signal)?;
                    if can_freeze {
                        // Frozen tasks act on SIGKILL once they run again.
                        self.thaw_tree(timeout)?;
                    }
                    Ok(!self.populated())
                })?
            }
        }
        self.wait_until("empty", timeout, || Ok(!self.populated()))?;
        Ok(count)
    }

    fn signal_all(&self, signal: Signal) -> Result<()> {
        for pid in self.pids(true) {
            match kill(Pid::from_raw(pid), signal) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => {
                    return Err(Error::sys("signal process", format!("{pid} in {}", self.path), e))
                }
            }
        }
        Ok(())
    }

    /// Removes the cgroup once it is empty; returns its last statistics
    /// (so a caller learns, say, whether the OOM killer struck).
    pub fn remove(&self, options: RemoveOptions) -> Result<crate::Stats> {
        self.must_exist()?;
        self.must_not_hold_us("remove")?;
        let children = self.descendants();
        if !options.recursive && !children.is_empty() {
            return Err(Error::HasChildren {
                path: self.path.clone(),
                children: children.join(", "),
            });
        }
        if options.force {
            self.kill(Signal::SIGKILL, options.timeout)?;
        }
        if self.wait_until("empty", options.timeout, || Ok(!self.populated())).is_err() {
            let pids = self.pids(true);
            let list: Vec<String> = pids.iter().take(8).map(|p| p.to_string()).collect();
            return Err(Error::StillPopulated {
                path: self.path.clone(),
                count: pids.len(),
                pids: list.join(" "),
                seconds: options.timeout.as_secs(),
            });
        }
        let stats = self.stats();
        for m in &self.members {
            // Deepest first: rmdir needs a cgroup without children.
            for dir in descendants(&m.dir).iter().rev().chain(std::iter::once(&m.dir)) {
                rmdir(dir, options.timeout)?;
            }
            if options.parents {
                let mut cgroup = m.cgroup.as_str();
                while let Some((parent, _)) = cgroup.rsplit_once('/') {
                    if parent.len() <= m.base.trim_end_matches('/').len()
                        || !parent.starts_with(m.base.trim_end_matches('/'))
                    {
                        break;
                    }
                    // Another cgroup may still use the parent: then it stays.
                    if fs::remove_dir(m.hierarchy.dir_of(parent)?).is_err() {
                        break;
                    }
                    cgroup = parent;
                }
            }
        }
        Ok(stats)
    }
}

/// Makes member `m`'s directory and the missing ones above it, recording
/// each in `made`.
fn make(m: &Member, limits: &Limits, made: &mut Vec<PathBuf>) -> Result<()> {
    let base_dir = m.hierarchy.dir_of(&m.base)?;
    let below = m.dir.strip_prefix(&base_dir).expect("a cgroup lies below its base");
    let wanted =
        if m.version == Version::V2 { v2_controllers(m, &base_dir, limits)? } else { vec![] };
    let mut dir = base_dir.clone();
    for component in below.components() {
        if m.version == Version::V2 {
            delegate(&dir, &wanted)?;
        }
        let parent = dir.clone();
        dir.push(component);
        match fs::create_dir(&dir) {
            Ok(()) => made.push(dir.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir != m.dir => continue,
            Err(e) => return Err(Error::io("create cgroup", &dir)(e)),
        }
        if m.has("cpuset") && m.version == Version::V1 {
            // A new v1 cpuset has no CPUs and no memory nodes, and adding a
            // task to it fails with ENOSPC: start from the parent's.
            for file in ["cpuset.cpus", "cpuset.mems"] {
                write_value(&dir, file, read_value(&parent, file)?)?;
            }
        }
    }
    Ok(())
}

/// The v2 controllers to enable for the new cgroup: all of ours the base
/// offers; an error if a limit needs one it does not.
fn v2_controllers(m: &Member, base_dir: &Path, limits: &Limits) -> Result<Vec<&'static str>> {
    let offered = read_value(base_dir, "cgroup.controllers")?;
    let offered: Vec<&str> = offered.split_whitespace().collect();
    if let Some(missing) = limits.v2_controllers().into_iter().find(|c| !offered.contains(c)) {
        return Err(Error::NoController {
            what: "a limit given",
            controller: missing,
            where_: format!("cgroup {} does not offer (its parent does not delegate it)", m.base),
        });
    }
    Ok(V2_CONTROLLERS.into_iter().filter(|c| offered.contains(c)).collect())
}

/// Enables `wanted` in `dir/cgroup.subtree_control`, so that its children
/// get them. cgroup v2 refuses this (EBUSY) for a non-root cgroup that
/// holds processes: "no internal processes".
fn delegate(dir: &Path, wanted: &[&str]) -> Result<()> {
    let enabled = read_value(dir, "cgroup.subtree_control")?;
    let missing: Vec<String> = wanted
        .iter()
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    match write_value(dir, "cgroup.subtree_control", missing.join(" ")) {
        Err(Error::Write { source: Errno::EBUSY, .. }) => Err(Error::InternalProcesses {
            cgroup: dir.display().to_string(),
            controllers: missing.join(" "),
        }),
        other => other,
    }
}

/// Every cgroup below `dir`, parents before children.
fn descendants(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        let mut subdirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        for s in subdirs.into_iter().rev() {
            stack.push(s.clone());
            out.push(s);
        }
    }
    out.sort_by_key(|p| p.components().count());
    out
}

/// rmdir(2) of a cgroup; EBUSY is retried for a while, as the last tasks of
/// a cgroup that just emptied may still be on their way out.
fn rmdir(dir: &Path, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                sleep(POLL)
            }
            Err(e) => return Err(Error::io("remove cgroup", dir)(e)),
        }
    }
}

/// Where a single-threaded process writes `0` to join (see
/// [`Cgroup::add_self`]): v1's `tasks` skips the global lock; v2 has only
/// `cgroup.procs` (where `0` is the writer too).
fn self_join_file(version: Version) -> &'static str {
    match version {
        Version::V1 => "tasks",
        Version::V2 => "cgroup.procs",
    }
}

/// Whether the calling process has one thread (`Threads:` in
/// /proc/self/status, proc(5)).
fn single_threaded() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Threads:").map(|n| n.trim() == "1")))
        .unwrap_or(false)
}
