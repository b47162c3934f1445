//! The harness of the end-to-end tests.
//!
//! The kernel is the fixture: every test runs the real binaries as root
//! with real namespaces and mounts, against a state root of its own under
//! /tmp (so tests run in parallel). When a [`Sandbox`] is dropped, pass or
//! fail, it checks that nothing of the test is left on the host: no mount
//! naming its root, no running container, no cgroup, the host's /proc
//! intact; then it removes the root.
//!
//! A sandbox's containers get their cgroups beneath the test process's own
//! cgroup (`DOCKERISH_CGROUP_PARENT` is a relative path named like the
//! sandbox's root), so they stay inside whatever limits the test run has.
//!
//! The binaries are taken from the target directory above the test
//! executable; `cargo test` builds a package's binaries only for that
//! package's own tests, so the README's test command builds them first
//! (`cargo build --workspace && cargo test --workspace`). A binary older
//! than its sources is refused, so a test never runs stale code. A missing
//! prerequisite (not root, a binary not built, no busybox-static) fails the
//! test with the reason: it never skips.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The path of the workspace binary `name`, next to the test executable's
/// `deps/` directory.
pub fn bin(name: &str) -> PathBuf {
    require_root();
    let exe = std::env::current_exe().expect("own executable");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let path = dir.join(name);
    let built = fs::metadata(&path).and_then(|m| m.modified()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: build the tools first: cargo build --workspace && cargo test --workspace",
            path.display()
        )
    });
    // ocirun is a binary of the dockerish crate.
    let crate_dir = if name == "ocirun" { "dockerish" } else { name };
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate_dir);
    // Checked once a test is under way, not again in a failed test's
    // cleanup (a second panic there would abort and hide the first).
    if let Some(newest) = newest_mtime(&sources).filter(|_| !std::thread::panicking()) {
        assert!(
            built >= newest,
            "{} is older than its sources in {}: run cargo build --workspace",
            path.display(),
            sources.display()
        );
    }
    path
}

/// The newest modification time of the files under `dir`.
fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(time);
    }
    newest
}

/// The end-to-end tier runs as root: it makes namespaces, mounts, cgroups.
///
/// For anyone else, `cargo test` runs the unit tier (every crate's own
/// tests, no root needed) and this binary of the end-to-end tier says so
/// once and ends with success before running anything. With
/// `DOCKERISH_E2E=required` (`.ci/run` sets it) not being root fails
/// instead, so CI can never pass without having run the whole tier.
pub fn require_root() {
    if nix::unistd::geteuid().is_root() {
        return;
    }
    let required = std::env::var("DOCKERISH_E2E").is_ok_and(|v| v == "required");
    assert!(!required, "DOCKERISH_E2E=required, but the end-to-end tests need root");
    let binary = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.file_name()?.to_string_lossy().into_owned()));
    let message = format!(
        "\n{}: the end-to-end tier needs root (real namespaces, mounts and cgroups): NOT RUN.\n\
         The unit tier (cargo test --workspace --exclude dockerish-tests) needs no root; \
         run the whole suite as root, as CI does.\n",
        binary.unwrap_or_default()
    );
    // Once, straight to fd 2: the test harness captures eprintln! in tests.
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        use std::io::Write;
        let _ = std::io::stderr().write_all(message.as_bytes());
        std::process::exit(0);
    });
    // Another test thread is exiting the process meanwhile.
    loop {
        std::thread::park();
    }
}

/// Fails unless the machine has what the tests use besides root.
fn require_fixtures() {
    assert!(
        Path::new("/bin/busybox").is_file(),
        "/bin/busybox is missing: apt-get install busybox-static (.ci/run does)"
    );
    for (program, package) in [("/usr/sbin/nft", "nftables"), ("/usr/sbin/ip", "iproute2")] {
        assert!(
            Path::new(program).is_file(),
            "{program} is missing: apt-get install {package} (.ci/run does)"
        );
    }
}

/// How long a test waits for something that normally takes milliseconds
/// before it fails: generous, because the suite also runs in a software
/// emulated VM (v2vm) where everything is tens of times slower.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// A process a test started on the host (a listener, a service), killed
/// and reaped when the test is done with it, pass or fail: a failed
/// assertion must not leave it running past the test.
pub struct HostProcess(std::process::Child);

impl HostProcess {
    pub fn spawn(cmd: &mut Command) -> HostProcess {
        HostProcess(cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}")))
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` (output discarded), kill -9s it after `delay`, and reaps
/// it: a command stopped at a moment of its work, as a crash would.
pub fn kill_after(cmd: &mut Command, delay: std::time::Duration) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait().expect("reap the killed command");
}

/// Waits until `check` holds; fails the test, saying it waited for
/// `what`, after [`PATIENCE`].
#[track_caller]
pub fn until(what: &str, check: impl FnMut() -> bool) {
    assert!(eventually(check), "timed out after {PATIENCE:?} waiting until {what}");
}

/// Whether `check` comes to hold within [`PATIENCE`] (polled every 20 ms).
pub fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !check() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
}

/// Whether process `pid` runs: it exists and is not a zombie (a zombie
/// has ended; only its parent's wait is missing).
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(") ").next().is_some_and(|rest| !rest.starts_with('Z')))
}

/// What a finished command did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Its stdout, after asserting it succeeded.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "command failed: {self:#?}");
        self.stdout
    }

    /// Asserts it failed with `code` and a message containing `needle`.
    #[track_caller]
    pub fn fails(&self, code: i32, needle: &str) {
        assert_eq!(self.code, code, "unexpected status: {self:#?}");
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}: {self:#?}");
    }
}

/// Runs `cmd` to the end, stdin empty, and collects what it did.
pub fn outcome(mut cmd: Command) -> Outcome {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    use std::os::unix::process::ExitStatusExt;
    Outcome {
        code: out.status.code().unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the workspace binary `tool` with `args`.
pub fn tool<I, S>(tool: &str, args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(bin(tool));
    cmd.args(args);
    outcome(cmd)
}

/// A test's own state root, checked for leaks and removed on drop.
pub struct Sandbox {
    root: tempfile::TempDir,
    /// The sandbox's own "host" network namespace: every command it runs
    /// enters it, so its bridges, veths, nftables table and published ports
    /// are its own, and tests cannot disturb each other or the machine.
    /// `None` for a sandbox on the real host's network ([`Sandbox::on_host`]).
    host_net: Option<std::fs::File>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let mut sb = Sandbox::on_host();
        let file = sb.host_net_path();
        tool("netctl", ["netns".as_ref(), "add".as_ref(), file.as_os_str()]).ok();
        sb.host_net = Some(fs::File::open(&file).expect("open the sandbox's network namespace"));
        sb
    }

    /// A sandbox whose commands run in the real host's network namespace:
    /// for the few tests that must prove something there. Only one such
    /// test may publish a given port at a time.
    pub fn on_host() -> Sandbox {
        require_root();
        require_fixtures();
        let root = tempfile::Builder::new()
            .prefix("dockerish-test-")
            .tempdir_in("/tmp")
            .expect("temporary root");
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).expect("chmod root");
        Sandbox { root, host_net: None }
    }

    fn host_net_path(&self) -> PathBuf {
        self.root().join("host.netns")
    }

    /// Makes `cmd` run in the sandbox's network namespace (a no-op on the
    /// real host's): setns(2) in the child, between fork and exec.
    pub fn in_net<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        if let Some(file) = &self.host_net {
            use std::os::fd::AsRawFd;
            use std::os::unix::process::CommandExt;
            let fd = file.as_raw_fd();
            // SAFETY: setns(2) is a system call, safe between fork and exec.
            unsafe {
                cmd.pre_exec(move || match libc::setns(fd, libc::CLONE_NEWNET) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                });
            }
        }
        cmd
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The sandbox's cgroup parent: a relative cgroup path, so beneath the
    /// test process's own cgroup in every hierarchy.
    pub fn cgroup_parent(&self) -> String {
        self.root().file_name().expect("a named root").to_string_lossy().into_owned()
    }

    /// A `Command` for workspace binary `tool` with `--root` set, and the
    /// sandbox's cgroup parent in the environment.
    pub fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(bin(tool));
        cmd.arg("--root").arg(self.root()).env("DOCKERISH_CGROUP_PARENT", self.cgroup_parent());
        self.in_net(&mut cmd);
        cmd
    }

    /// `netctl --root ROOT ARGS…`
    pub fn netctl<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> Outcome {
        self.run("netctl", args)
    }

    /// The sandbox root's nftables table (`netctl info`: each root has its own).
    pub fn nft_table(&self) -> String {
        self.netctl_info()["table"].as_str().expect("a table").to_string()
    }

    /// `netctl info`: the root and the names of its objects on the host.
    pub fn netctl_info(&self) -> serde_json::Value {
        serde_json::from_str(&self.netctl(["info"]).ok()).expect("netctl info is JSON")
    }

    /// A host command (not one of ours), run in the sandbox's network.
    pub fn host<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(
        &self,
        program: &str,
        args: I,
    ) -> Outcome {
        let mut cmd = Command::new(program);
        cmd.args(args);
        self.in_net(&mut cmd);
        outcome(cmd)
    }

    /// `TOOL --root ROOT ARGS…`, run to the end.
    pub fn run<I, S>(&self, tool: &str, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(tool);
        cmd.args(args);
        outcome(cmd)
    }

    /// `dockerish --root ROOT ARGS…`
    pub fn dockerish<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> Outcome {
        self.run("dockerish", args)
    }

    /// `dockerish run --rm busybox sh -c SCRIPT`, its outcome.
    pub fn sh(&self, script: &str) -> Outcome {
        self.sh_with(&[], script)
    }

    /// `dockerish run --rm FLAGS… busybox sh -c SCRIPT`, its outcome.
    pub fn sh_with(&self, flags: &[&str], script: &str) -> Outcome {
        let mut args = vec!["run", "--rm"];
        args.extend(flags);
        args.extend(["busybox", "sh", "-c", script]);
        self.dockerish(args)
    }

    /// `dockerish ps --no-trunc --format json ARGS…`: one object per
    /// container, with Docker's keys (`ID`, `Names`, `State`, `Status`, …).
    pub fn ps_json(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut argv = vec!["ps", "--no-trunc", "--format", "json"];
        argv.extend(args);
        self.dockerish(argv)
            .ok()
            .lines()
            .map(|l| serde_json::from_str(l).expect("ps prints a JSON object per line"))
            .collect()
    }

    /// `imgtool --root ROOT ARGS…`
    pub fn imgtool<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> Outcome {
        self.run("imgtool", args)
    }

    /// `imgtool inspect NAME` as JSON.
    pub fn image(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.imgtool(["inspect", name]).ok()).expect("inspect prints JSON")
    }

    /// The directories of recorded containers.
    pub fn container_dirs(&self) -> Vec<PathBuf> {
        match fs::read_dir(self.root().join("containers")) {
            Ok(entries) => entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect(),
            Err(_) => vec![],
        }
    }

    /// Everything the sandbox leaked onto the host.
    pub fn leaks(&self) -> Vec<String> {
        let mut leaks = Vec::new();
        let root = self.root().display().to_string();
        // The host's mount table, as PID 1 sees it.
        let mounts = fs::read_to_string("/proc/1/mountinfo").unwrap_or_default();
        let host_net = self.host_net_path().display().to_string();
        let ours = |l: &&str| l.contains(&root) && !l.contains(&host_net);
        leaks.extend(mounts.lines().filter(ours).map(|l| format!("mount: {l}")));
        // The host's /proc must still be procfs (the bug the seeds had).
        match nix::sys::statfs::statfs("/proc/self") {
            Ok(fs) if fs.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC => {}
            other => leaks.push(format!("/proc is no longer procfs: {other:?}")),
        }
        // Supervisors and tool chains name the root on their command line
        // (one that has just reported may take a moment to exit).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !processes_naming(&root).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        leaks.extend(
            processes_naming(&root).into_iter().map(|(pid, cmd)| format!("process {pid}: {cmd}")),
        );
        let name = self.cgroup_parent();
        leaks.extend(
            cgroup_dirs()
                .into_iter()
                .filter(|d| d.to_string_lossy().contains(&name))
                .map(|d| format!("cgroup {}", d.display())),
        );
        if self.root().join("containers").is_dir() {
            let running = self.dockerish(["ps", "-q"]);
            leaks.extend(running.stdout.lines().map(|id| format!("running container {id}")));
        }
        leaks.extend(self.network_leaks());
        leaks
    }

    /// `rm -f` of every container (the drop then checks that nothing is left).
    pub fn remove_all(&self) {
        let all = self.dockerish(["ps", "-aq"]).ok();
        let ids: Vec<&str> = all.lines().collect();
        if !ids.is_empty() {
            self.dockerish([&["rm", "-f"][..], &ids].concat()).ok();
        }
    }

    /// Removes every container and network of the sandbox, whatever state
    /// a failed test left them in.
    fn force_cleanup(&self) {
        let all = self.dockerish(["ps", "-aq"]).stdout;
        let ids: Vec<&str> = all.lines().collect();
        if !ids.is_empty() {
            let _ = self.dockerish([&["rm", "-f"][..], &ids].concat());
        }
        let _ = self.netctl(["gc"]);
        let networks = self.netctl(["ls", "--format", "json"]).stdout;
        if let Ok(serde_json::Value::Array(list)) =
            serde_json::from_str::<serde_json::Value>(&networks)
        {
            for net in list {
                let _ = self.netctl(["rm", net["name"].as_str().unwrap_or_default()]);
            }
        }
    }

    /// What of the network is left: records (networks, attachments, IPAM
    /// entries, namespace files) and, in the sandbox's network, links and
    /// the nftables table; on the host's, the links and table of ours.
    fn network_leaks(&self) -> Vec<String> {
        let mut leaks = Vec::new();
        let networks = self.root().join("networks");
        for net in
            fs::read_dir(&networks).into_iter().flatten().flatten().filter(|e| e.path().is_dir())
        {
            leaks.push(format!("network record {}", net.file_name().to_string_lossy()));
            for sub in ["attachments", "ipam"] {
                for f in fs::read_dir(net.path().join(sub)).into_iter().flatten().flatten() {
                    let name = f.file_name().to_string_lossy().into_owned();
                    if name != "last_reserved" {
                        leaks.push(format!("{sub} entry {name}"));
                    }
                }
            }
        }
        for f in fs::read_dir(self.root().join("netns")).into_iter().flatten().flatten() {
            leaks.push(format!("netns file {}", f.path().display()));
        }
        // Which links and table are this root's: `netctl info` says (links
        // carry the root in their alias; the table's name is the root's).
        let info = self.netctl_info();
        let (alias, table) = (info["link_alias"].as_str(), info["table"].as_str());
        let (alias, table) = (alias.expect("a link alias"), table.expect("a table"));
        let links = || {
            let mut left = Vec::new();
            for line in self.host("ip", ["-o", "link"]).stdout.lines() {
                let name = line
                    .split(':')
                    .nth(1)
                    .unwrap_or_default()
                    .trim()
                    .split('@')
                    .next()
                    .unwrap_or_default();
                let words: Vec<&str> = line.split_whitespace().collect();
                let ours = words.windows(2).any(|w| w == ["alias", alias]);
                if (self.host_net.is_some() && name != "lo") || ours {
                    left.push(format!("link {name}"));
                }
            }
            left
        };
        // A released namespace takes its veth pair with it, in a kernel
        // worker, a few milliseconds later.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !links().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        leaks.extend(links());
        let tables = self.host("nft", ["list", "tables"]).stdout;
        if tables.lines().any(|l| l.trim() == format!("table ip {table}")) {
            leaks.push(format!("nftables table ip {table}"));
        }
        leaks
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // The default network lasts, like Docker's docker0: the sandbox's
        // end is its end (refused, and so reported, while still in use).
        if self.root().join("networks/bridge").is_dir() {
            let _ = self.netctl(["rm", "bridge"]);
        }
        let leaks = self.leaks();
        if !leaks.is_empty() {
            // Reported below all the same; taken down so that the host (the
            // real one, for a sandbox on it) stays clean for the next test.
            self.force_cleanup();
        }
        if leaks.iter().any(|l| l.starts_with("cgroup ")) {
            // Reported below all the same; removed so the host stays clean.
            let mut rm = Command::new(bin("cgctl"));
            rm.args(["rm", "--recursive", "--force", &self.cgroup_parent()]);
            let _ = outcome(rm);
        }
        if let Some(file) = self.host_net.take() {
            drop(file);
            // Its namespace ends with the last process in it and this mount.
            let _ =
                tool("netctl", ["netns".as_ref(), "rm".as_ref(), self.host_net_path().as_os_str()]);
        }
        let removed = fs::remove_dir_all(self.root());
        if std::thread::panicking() {
            // The test already failed; report what it left without a
            // double panic (which would abort and hide the first).
            if !leaks.is_empty() {
                eprintln!("leaked by the failed test: {leaks:#?}");
            }
            return;
        }
        assert!(leaks.is_empty(), "the test left these on the host: {leaks:#?}");
        if let Err(e) = removed {
            panic!("cannot remove the test root {}: {e}", self.root().display());
        }
    }
}

/// The live processes whose command line contains `text`, with it.
pub fn processes_naming(text: &str) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if pid != me && alive(pid) && cmd.contains(text) {
            found.push((pid, cmd.trim_end().to_string()));
        }
    }
    found
}

/// Debian's podman with its storage in the sandbox (podman 4.3 and
/// skopeo also write /run/libpod, /run/containers, /var/lib/containers
/// and its shared-memory locks, /dev/shm/libpod_lock: removed after, if
/// they were not there before). One at a time in a test binary: another
/// one's cleanup would remove those while this one uses them.
pub struct Podman {
    args: String,
    made: Vec<&'static str>,
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
    /// Whether podman's default cgroup parent (cgroupfs: /libpod_parent,
    /// where conmon puts itself) is new: then removed after.
    made_libpod_parent: bool,
    sb_root: PathBuf,
}

impl Podman {
    /// With `runtime` (a name on PATH, or a path) as its OCI runtime.
    pub fn new(sb: &Sandbox, runtime: &str) -> Podman {
        let r = sb.root().join("podman");
        let args = format!(
            "--root {r}/root --runroot {r}/run --tmpdir {r}/tmp --cgroup-manager cgroupfs --events-backend file --runtime {runtime}",
            r = r.display()
        );
        static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let one = ONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let made = [
            "/run/libpod",
            "/var/lib/containers",
            "/var/lib/cni",
            "/run/containers",
            "/dev/shm/libpod_lock",
        ]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
        let made_libpod_parent = !libpod_parent_exists();
        Podman { args, made, _one_at_a_time: one, made_libpod_parent, sb_root: r }
    }

    /// `podman COMMAND` (a shell line), which must succeed: its stdout.
    #[track_caller]
    pub fn run(&self, command: &str) -> String {
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("podman {} {command}", self.args)])
            .output()
            .unwrap();
        assert!(out.status.success(), "podman {command}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = std::process::Command::new("sh")
            .args(["-c", &format!("podman {} system reset --force >/dev/null 2>&1", self.args)])
            .status();
        let _ = fs::remove_dir_all(&self.sb_root);
        for path in &self.made {
            let _ = fs::remove_dir_all(path).or_else(|_| fs::remove_file(path));
        }
        if self.made_libpod_parent {
            let mut dirs: Vec<PathBuf> = cgroup_dirs()
                .into_iter()
                .filter(|d| d.to_string_lossy().contains("/libpod_parent"))
                .collect();
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for dir in dirs {
                let _ = fs::remove_dir(dir);
            }
        }
    }
}

fn libpod_parent_exists() -> bool {
    cgroup_dirs().iter().any(|d| d.to_string_lossy().contains("/libpod_parent"))
}

/// Every cgroup directory on the host (each hierarchy under /sys/fs/cgroup).
pub fn cgroup_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
                out.push(entry.path());
            }
        }
    }
    out
}

/// A small static C program of `tests/fixtures/NAME.c`, compiled once (per
/// source change) into the target directory: for what busybox cannot do
/// (a UDP server, a raw system call), run in the busybox image through a
/// read-only volume.
pub fn c_program(name: &str) -> PathBuf {
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(format!("{name}.c"));
    let exe = std::env::current_exe().expect("own executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .join("test-fixtures");
    fs::create_dir_all(&dir).expect("create the fixtures directory");
    let out = dir.join(name);
    let fresh = |o: &Path| {
        let (built, src) = (
            fs::metadata(o).and_then(|m| m.modified()),
            fs::metadata(&source).and_then(|m| m.modified()),
        );
        matches!((built, src), (Ok(b), Ok(s)) if b >= s)
    };
    if !fresh(&out) {
        let tmp = dir.join(format!(".{name}.{}", std::process::id()));
        let mut cc = Command::new("cc");
        cc.args(["-static", "-O2", "-Wall", "-o"]).arg(&tmp).arg(&source);
        outcome(cc).ok();
        fs::rename(&tmp, &out).expect("move the fixture into place");
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    out
}

/// The Debian packages of the scenario image (the seeds' two scenarios).
pub const SCENARIO_PACKAGES: &str = "nginx-light,redis-server,python3-flask,python3-redis";

/// A flat root filesystem tar of Debian bookworm (minbase) with
/// [`SCENARIO_PACKAGES`]: made once by mmdebstrap from Debian's packages
/// (about two minutes), then kept in `$DOCKERISH_TEST_CACHE` (default
/// /var/cache/dockerish-tests), outside the repository, for every later
/// run. Tests running at once wait for one build (flock).
pub fn scenario_tar() -> PathBuf {
    let cache = std::env::var_os("DOCKERISH_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/var/cache/dockerish-tests".into());
    fs::create_dir_all(&cache).expect("create the test cache");
    let lock = fs::File::options()
        .create(true)
        .append(true)
        .open(cache.join(".lock"))
        .expect("open the cache lock");
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .expect("lock the cache");
    let tar = cache.join(format!("bookworm-{}.tar", SCENARIO_PACKAGES.replace(',', "+")));
    if !tar.is_file() {
        // mmdebstrap takes the format from the name too: keep it a .tar.
        let tmp = tar.with_extension("partial.tar");
        let mut build = Command::new("mmdebstrap");
        let include = format!("--include={SCENARIO_PACKAGES}");
        build
            .args(["--quiet", "--format=tar", "--variant=minbase", &include, "bookworm"])
            .arg(&tmp);
        outcome(build).ok();
        fs::rename(&tmp, &tar).expect("move the image tar into place");
    }
    tar
}

/// A world-readable scratch directory outside any state root (which the
/// tools make private, 0700), for what a test hands to an unprivileged
/// user; removed on drop.
pub fn public_scratch() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("dockerish-test-public-")
        .tempdir_in("/tmp")
        .expect("temporary directory");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A copy of a workspace binary in a world-readable directory, for tests
/// that run it as an unprivileged user (the target directory may not be
/// reachable for them).
pub fn public_copy(tool: &str, dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).expect("create the directory");
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    let dest = dir.join(tool);
    fs::copy(bin(tool), &dest).expect("copy binary");
    fs::set_permissions(&dest, fs::Permissions::from_mode(0o755)).expect("chmod");
    dest
}
