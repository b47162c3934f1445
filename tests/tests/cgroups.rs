//! cgctl and `dockerish run`'s resource flags, against the real kernel:
//! limits are proven by what they do to processes (an OOM kill, a failed
//! fork, throttled CPU time, the CPU a process may run on, a frozen
//! counter), not only by the files written.
//!
//! The same tests run on this host's layout (hybrid: v1 controllers) and,
//! from .ci/run, in a VM with pure cgroup v2 (`v2vm`). Every cgroup is made
//! beneath the test process's own cgroup, under the sandbox's name, and the
//! sandbox checks on drop that none is left.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use dockerish_tests::{alive, eventually, outcome, until, Outcome, Sandbox};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `cgctl ARGS…` in the sandbox's environment.
fn cgctl<S: AsRef<std::ffi::OsStr>>(sb: &Sandbox, args: &[S]) -> Outcome {
    let mut cmd = Command::new(dockerish_tests::bin("cgctl"));
    cmd.args(args).env("DOCKERISH_CGROUP_PARENT", sb.cgroup_parent());
    outcome(cmd)
}

/// Whether this host is pure cgroup v2.
fn unified() -> bool {
    json(&dockerish_tests::tool("cgctl", ["info"]).ok())["kind"] == "unified"
}

/// The directory of a created cgroup in the hierarchy with `controller`
/// (v1 name; on v2 the one directory).
fn dir_of(created: &Value, controller: &str) -> PathBuf {
    let members = created["members"].as_array().expect("members");
    let member = members
        .iter()
        .find(|m| {
            m["version"] == "2"
                || m["controllers"].as_array().unwrap().iter().any(|c| c == controller)
        })
        .unwrap_or_else(|| panic!("no hierarchy with {controller}: {created}"));
    PathBuf::from(member["dir"].as_str().unwrap())
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

/// A `dockerish run` left running in the background, killed (with its
/// container) if the test fails before it ends.
struct Background {
    child: Child,
    sb_root: PathBuf,
    name: String,
}

impl Background {
    fn start(sb: &Sandbox, name: &str, args: &[&str]) -> Background {
        let mut cmd = sb.command("dockerish");
        cmd.args(["run", "--rm", "--name", name])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn dockerish run");
        let bg = Background { child, sb_root: sb.root().to_path_buf(), name: name.to_string() };
        until(&format!("container {name} has started"), || bg.init_pid(sb).is_some());
        bg
    }

    /// The container's init, once ns-exec has recorded it.
    fn init_pid(&self, sb: &Sandbox) -> Option<i32> {
        let ps = sb.ps_json(&[]);
        let id = ps.iter().find(|c| c["Names"] == self.name.as_str())?["ID"].as_str()?.to_string();
        fs::read_to_string(sb.root().join("containers").join(id).join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `cgctl stats --pid INIT` of the running container.
    fn stats(&self, sb: &Sandbox) -> Value {
        let pid = self.init_pid(sb).expect("running");
        json(&cgctl(sb, &["stats", "--pid", &pid.to_string()]).ok())
    }

    /// Waits for `dockerish run` to end; its exit status.
    fn wait(mut self) -> i32 {
        let status = self.child.wait().expect("wait dockerish run");
        status.code().unwrap_or(-1)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let mut rm = Command::new(dockerish_tests::bin("dockerish"));
            rm.arg("--root").arg(&self.sb_root).args(["rm", "-f", &self.name]);
            let _ = outcome(rm);
            let _ = self.child.wait();
        }
    }
}

#[test]
fn info_reports_the_layout_and_our_own_cgroup() {
    let info = json(&dockerish_tests::tool("cgctl", ["info"]).ok());
    let fs_type = nix::sys::statfs::statfs("/sys/fs/cgroup").unwrap().filesystem_type();
    let expected: &[&str] = if fs_type == nix::sys::statfs::CGROUP2_SUPER_MAGIC {
        &["unified"]
    } else {
        &["hybrid", "legacy"]
    };
    assert!(expected.iter().any(|k| info["kind"] == *k), "{info}");
    let own = fs::read_to_string("/proc/self/cgroup").unwrap();
    for h in info["hierarchies"].as_array().unwrap().iter().filter(|h| h["used"] == true) {
        let line = if h["version"] == "2" {
            "0::".to_string()
        } else {
            let ids: Vec<&str> =
                h["controllers"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            format!(":{}:", ids.join(","))
        };
        let path = own
            .lines()
            .find_map(|l| l.split_once(&line).map(|(_, p)| p))
            .expect("our line in /proc/self/cgroup");
        assert_eq!(h["own"], path, "{h}");
        assert!(Path::new(h["mount"].as_str().unwrap()).join("cgroup.procs").is_file(), "{h}");
    }
}

#[test]
fn create_writes_each_limit_and_rm_removes_everything() {
    let sb = Sandbox::new();
    let path = format!("{}/limits", sb.cgroup_parent());
    let created = json(
        &cgctl(
            &sb,
            &[
                "create",
                "-m",
                "64m",
                "--memory-swap",
                "96m",
                "--memory-reservation",
                "32m",
                "--cpus",
                "0.5",
                "--cpu-shares",
                "512",
                "--cpuset-cpus",
                "0",
                "--pids-limit",
                "33",
                &path,
            ],
        )
        .ok(),
    );
    let (memory, cpu, pids, cpuset) = (
        dir_of(&created, "memory"),
        dir_of(&created, "cpu"),
        dir_of(&created, "pids"),
        dir_of(&created, "cpuset"),
    );
    // The proportional IO weight lives where the IO scheduler or cost model
    // offers it; a kernel with neither (no BFQ, no io.cost) refuses it.
    let io = dir_of(&created, "blkio");
    let weight = ["io.weight", "io.bfq.weight", "blkio.weight", "blkio.bfq.weight"]
        .into_iter()
        .find(|f| io.join(f).exists());
    let set_weight = cgctl(&sb, &["set", "--blkio-weight", "500", &path]);
    match weight {
        Some(weight) => {
            set_weight.ok();
            let expected = if weight == "io.weight" { "default 4950" } else { "500" };
            assert_eq!(read(&io, weight), expected, "{weight}: Docker's 500 of 10..1000");
        }
        None => set_weight.fails(125, "--blkio-weight \"500\": this kernel offers no IO weight"),
    }
    if unified() {
        assert_eq!(read(&memory, "memory.max"), (64 << 20).to_string());
        assert_eq!(
            read(&memory, "memory.swap.max"),
            (32 << 20).to_string(),
            "v2 limits swap alone: 96m - 64m"
        );
        assert_eq!(read(&memory, "memory.low"), (32 << 20).to_string());
        assert_eq!(read(&cpu, "cpu.max"), "50000 100000");
        assert_eq!(read(&cpu, "cpu.weight"), "20", "shares 512 as a v2 weight");
        let parent = memory.parent().unwrap();
        let delegated = read(parent, "cgroup.subtree_control");
        for c in ["cpu", "memory", "pids", "cpuset"] {
            assert!(
                delegated.split(' ').any(|d| d == c),
                "{c} not enabled in {}: {delegated}",
                parent.display()
            );
        }
    } else {
        assert_eq!(read(&memory, "memory.limit_in_bytes"), (64 << 20).to_string());
        assert_eq!(
            read(&memory, "memory.memsw.limit_in_bytes"),
            (96 << 20).to_string(),
            "v1 limits memory plus swap"
        );
        assert_eq!(read(&memory, "memory.soft_limit_in_bytes"), (32 << 20).to_string());
        assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "50000");
        assert_eq!(read(&cpu, "cpu.cfs_period_us"), "100000");
        assert_eq!(read(&cpu, "cpu.shares"), "512");
        assert!(
            !read(&cpuset, "cpuset.mems").is_empty(),
            "a v1 cpuset gets its parent's memory nodes"
        );
    }
    assert_eq!(read(&pids, "pids.max"), "33");
    assert_eq!(read(&cpuset, "cpuset.cpus"), "0");

    // set changes a limit in place; a process can join.
    cgctl(&sb, &["set", "--pids-limit", "-1", &path]).ok();
    assert_eq!(read(&pids, "pids.max"), "max");
    let joined = cgctl(&sb, &["exec", &path, "--", "cat", "/proc/self/cgroup"]).ok();
    assert!(joined.contains(&format!("/{path}")), "{joined}");
    let stats = json(&cgctl(&sb, &["stats", &path]).ok());
    assert_eq!(stats["memory"]["max"], 64 << 20, "{stats}");
    assert_eq!(stats["pids"]["current"], 0, "{stats}");

    // A child cgroup blocks a plain rm; --recursive takes both.
    cgctl(&sb, &["create", &format!("{path}/child")]).ok();
    cgctl(&sb, &["rm", &path]).fails(125, "has child cgroups (child)");
    cgctl(&sb, &["rm", "--recursive", "--parents", &path]).ok();
    assert!(
        !memory.exists() && !memory.parent().unwrap().exists(),
        "--parents removes the emptied parent"
    );
    cgctl(&sb, &["rm", &path]).fails(2, "no such cgroup");
}

#[test]
fn bad_input_is_refused_before_anything_is_created() {
    let sb = Sandbox::new();
    let path = format!("{}/bad", sb.cgroup_parent());
    let cases: [(&[&str], &str); 8] = [
        (&["-m", "12q"], "invalid size \"12q\""),
        (&["--cpus", "0"], "the range is 0.01 up to the number of CPUs"),
        (&["--cpus", "4096"], "this host has"),
        (&["--cpuset-cpus", "0,4095"], "this host has only"),
        (&["--cpuset-mems", "63"], "this host has only"),
        (&["--memory-swap", "1g"], "set --memory too"),
        (&["-m", "1g", "--memory-swap", "100m"], "must be at least --memory"),
        (&["--cpu-shares", "1"], "--cpu-shares"),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["create"];
        args.extend(flags);
        args.push(&path);
        cgctl(&sb, &args).fails(125, needle);
    }
    for bad in
        [format!("{}/../x", sb.cgroup_parent()), "..".to_string(), "cgroup.procs".to_string()]
    {
        cgctl(&sb, &["create", &bad]).fails(125, "invalid cgroup path");
    }
    // dockerish refuses the same, and Docker's 6 MB floor, with no container left.
    for flags in [
        &["-m", "12q"][..],
        &["-m", "1m"],
        &["--cpus", "0"],
        &["--cpuset-cpus", "4095"],
        &["--cgroup-parent", "../up"],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend(flags);
        args.extend(["busybox", "true"]);
        let out = sb.dockerish(&args);
        assert_eq!(out.code, 125, "{flags:?}: {out:#?}");
        assert!(out.stderr.contains("invalid"), "{flags:?}: {out:#?}");
    }
    assert!(sb.container_dirs().is_empty());
    assert!(dockerish_tests::cgroup_dirs()
        .iter()
        .all(|d| !d.to_string_lossy().contains(&sb.cgroup_parent())));
}

#[test]
fn a_memory_hog_is_oom_killed_and_the_record_says_so() {
    let sb = Sandbox::new();
    // `tail` keeps the line it reads, and /dev/zero has no newline.
    let out = sb.dockerish([
        "run",
        "--name",
        "hog",
        "-m",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "head -c 256m /dev/zero | tail",
    ]);
    assert_eq!(out.code, 137, "{out:#?}");
    let ps = sb.ps_json(&["-a"]);
    assert!(ps[0]["Status"].as_str().unwrap().starts_with("Exited (137)"), "{ps:?}");
    let dir = &sb.container_dirs()[0];
    let state = json(&fs::read_to_string(dir.join("state.json")).unwrap());
    assert_eq!(state["OOMKilled"], true, "{state}");
    sb.dockerish(["rm", "hog"]).ok();

    // Within the limit: no OOM, and the record says that too.
    let fine = sb.dockerish([
        "run",
        "--name",
        "fine",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "head -c 8m /dev/zero | tail",
    ]);
    assert!(
        fine.code == 0 && fine.stderr.is_empty(),
        "the cgroup was removed without a word: {fine:#?}"
    );
    let dir = &sb.container_dirs()[0];
    assert_eq!(json(&fs::read_to_string(dir.join("state.json")).unwrap())["OOMKilled"], false);
    sb.dockerish(["rm", "fine"]).ok();

    // cgctl alone: the counters show the kill.
    let path = format!("{}/hog", sb.cgroup_parent());
    cgctl(&sb, &["create", "-m", "16m", "--memory-swap", "16m", &path]).ok();
    let hog = cgctl(&sb, &["exec", &path, "--", "sh", "-c", "head -c 256m /dev/zero | tail"]);
    assert_ne!(hog.code, 0, "{hog:#?}");
    let stats = json(&cgctl(&sb, &["rm", "--parents", &path]).ok());
    assert!(stats["memory"]["oom_kill"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["memory"]["max"], 16 << 20, "{stats}");
    assert!(stats["memory"]["peak"].as_u64().unwrap() > 12 << 20, "{stats}");
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let sb = Sandbox::new();
    // Fork until the kernel says no; the shell prints how far it got.
    let out = sb.sh_with(
        &["--pids-limit", "20"],
        "n=0; while [ $n -lt 200 ]; do sleep 60 & n=$((n+1)); echo $n; done",
    );
    assert_ne!(out.code, 0, "{out:#?}");
    assert!(out.stderr.contains("can't fork"), "{out:#?}");
    let forked: u32 = out.stdout.lines().last().unwrap_or("0").parse().unwrap();
    // 20 in all: the shell, ns-exec waiting for it, and the sleeps.
    assert!((10..20).contains(&forked), "forked {forked} with --pids-limit 20");
}

#[test]
fn cpus_half_a_core_is_throttled_to_half() {
    let sb = Sandbox::new();
    let spinner = Background::start(
        &sb,
        "spin",
        &["--cpus", "0.5", "busybox", "sh", "-c", "while :; do :; done"],
    );
    let first = spinner.stats(&sb);
    sleep(Duration::from_secs(3));
    let second = spinner.stats(&sb);
    let delta = |k: &str| second["cpu"][k].as_u64().unwrap() - first["cpu"][k].as_u64().unwrap();
    // Measured by the kernel: CPU time used per 100 ms period that had
    // runnable tasks, and the periods in which the quota ran out.
    let (periods, throttled, usage) =
        (delta("nr_periods"), delta("nr_throttled"), delta("usage_usec"));
    assert!(periods >= 10, "{first} {second}");
    assert!(throttled * 10 >= periods * 8, "throttled in {throttled} of {periods} periods");
    let share = usage as f64 / (periods as f64 * 100_000.0);
    assert!(
        (0.35..=0.6).contains(&share),
        "used {share:.2} of a CPU per period (usage {usage} us in {periods} periods)"
    );
    assert!(delta("throttled_usec") > 0);
    let stats = json(&sb.dockerish(["stats", "--no-stream", "--format", "json", "spin"]).ok());
    let percent = stats[0]["cpu_percent"].as_f64().unwrap();
    assert!((25.0..=65.0).contains(&percent), "docker stats CPU % {percent}");
    assert!(stats[0]["pids"].as_u64().unwrap() >= 1, "{stats}");
    sb.dockerish(["rm", "-f", "spin"]).ok();
    assert_eq!(spinner.wait(), 137);
}

#[test]
fn cpuset_pins_the_container_to_the_given_cpu() {
    let sb = Sandbox::new();
    let online = fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let last = online.trim().rsplit([',', '-']).next().unwrap().to_string();
    let out = sb
        .sh_with(&["--cpuset-cpus", &last], "grep Cpus_allowed_list /proc/self/status; nproc")
        .ok();
    assert_eq!(out, format!("Cpus_allowed_list:\t{last}\n1\n"));
}

#[test]
fn pause_stops_progress_and_unpause_resumes_it() {
    let sb = Sandbox::new();
    let out = tempfile::tempdir_in("/tmp").unwrap();
    let volume = format!("{}:/out", out.path().display());
    let counter = out.path().join("n");
    let bg = Background::start(
        &sb,
        "ticker",
        &[
            "-v",
            &volume,
            "busybox",
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n; done",
        ],
    );
    let count = || {
        fs::read_to_string(&counter).ok().and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(0)
    };
    let grows = || {
        let a = count();
        eventually(|| count() > a)
    };
    assert!(grows(), "the counter runs");
    assert_eq!(sb.dockerish(["pause", "ticker"]).ok(), "ticker\n");
    let frozen_at = count();
    sleep(Duration::from_millis(500));
    assert_eq!(count(), frozen_at, "no progress while paused");
    assert!(bg.stats(&sb)["frozen"] == true);
    let ps = sb.dockerish(["ps"]).ok();
    assert!(ps.contains("(Paused)"), "{ps}");
    sb.dockerish(["pause", "ticker"]).fails(1, "is already paused");
    sb.dockerish(["unpause", "ticker"]).ok();
    assert!(grows(), "progress again after unpause");
    sb.dockerish(["unpause", "ticker"]).fails(1, "is not paused");
    // A paused container can be removed by force.
    sb.dockerish(["pause", "ticker"]).ok();
    sb.dockerish(["rm", "-f", "ticker"]).ok();
    assert_eq!(bg.wait(), 137);
    sb.dockerish(["pause", "ticker"]).fails(1, "No such container");
}

#[test]
fn kill_reaches_processes_that_fork_and_hide() {
    let sb = Sandbox::new();
    let path = format!("{}/escape", sb.cgroup_parent());
    cgctl(&sb, &["create", &path]).ok();
    // Daemons that double-fork into new sessions, and a loop that keeps
    // forking: a one-pass kill of a process list would miss some.
    let mut cmd = Command::new(dockerish_tests::bin("cgctl"));
    cmd.args([
        "exec",
        &path,
        "--",
        "sh",
        "-c",
        "setsid sh -c 'sleep 300 & sleep 300' & (while :; do sleep 300 & sleep 0.01; done) & wait",
    ]);
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    until("the forks have started", || {
        json(&cgctl(&sb, &["stats", &path]).ok())["procs"].as_u64().unwrap() >= 6
    });
    cgctl(&sb, &["freeze", &path]).ok();
    assert_eq!(json(&cgctl(&sb, &["stats", &path]).ok())["frozen"], true);
    cgctl(&sb, &["thaw", &path]).ok();
    let killed = json(&cgctl(&sb, &["kill", &path]).ok());
    assert!(killed["signalled"].as_u64().unwrap() >= 6, "{killed}");
    let _ = child.wait();
    // kill returns once no process is listed in the cgroup; the pids
    // controller still counts the dead until their new parent reaps them.
    assert_eq!(json(&cgctl(&sb, &["stats", &path]).ok())["procs"], 0);
    until("no task is charged to the cgroup after kill", || {
        json(&cgctl(&sb, &["stats", &path]).ok())["pids"]["current"] == 0
    });
    // A child frozen on its own (a paused container) is killed too: a thaw
    // of the parent alone would leave its tasks frozen, SIGKILL pending.
    let paused = format!("{path}/paused");
    cgctl(&sb, &["create", &paused]).ok();
    let mut sleeper = Command::new(dockerish_tests::bin("cgctl"))
        .args(["exec", &paused, "--", "sleep", "300"])
        .spawn()
        .unwrap();
    until("sleep has joined", || json(&cgctl(&sb, &["stats", &paused]).ok())["procs"] == 1);
    cgctl(&sb, &["freeze", &paused]).ok();
    let killed = json(&cgctl(&sb, &["kill", "--timeout", "5", &path]).ok());
    assert_eq!(killed["signalled"], 1, "{killed}");
    let status = sleeper.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
    cgctl(&sb, &["rm", &paused]).ok();
    // cgctl will not kill its own cgroup, nor a root one.
    cgctl(&sb, &["kill", "--pid", &std::process::id().to_string()]).fails(125, "refusing to kill");
    cgctl(&sb, &["kill", "/"]).fails(125, "refusing to kill");
    cgctl(&sb, &["rm", "--parents", "--timeout", "1", &path]).ok();
}

#[test]
fn v2_no_internal_processes_rule_is_explained() {
    let sb = Sandbox::new();
    let parent = format!("{}/busy", sb.cgroup_parent());
    cgctl(&sb, &["create", &parent]).ok();
    let mut sleeper = Command::new(dockerish_tests::bin("cgctl"))
        .args(["exec", &parent, "--", "sleep", "300"])
        .spawn()
        .unwrap();
    until("sleep has joined", || json(&cgctl(&sb, &["stats", &parent]).ok())["procs"] != 0);
    let child = format!("{parent}/leaf");
    let out = cgctl(&sb, &["create", &child]);
    if unified() {
        // v2: a cgroup with processes cannot hand controllers down.
        out.fails(125, "it holds processes");
        assert!(dockerish_tests::cgroup_dirs().iter().all(|d| !d.ends_with("busy/leaf")));
    } else {
        // v1 has no such rule.
        out.ok();
        cgctl(&sb, &["rm", &child]).ok();
    }
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    cgctl(&sb, &["rm", "--parents", &parent]).ok();
}

#[test]
fn the_container_runs_in_its_own_cgroup_and_sees_it_as_root() {
    let sb = Sandbox::new();
    let bg = Background::start(&sb, "inside", &["busybox", "sleep", "300"]);
    let init = bg.init_pid(&sb).unwrap();
    let id = sb.ps_json(&[])[0]["ID"].as_str().unwrap().to_string();
    // From the host: the init is in PARENT/ID in every hierarchy cgctl uses.
    let host_view = fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    let ours = format!("/{}/{id}", sb.cgroup_parent());
    // (Not the hierarchies cgctl leaves alone: devices, name=systemd, and
    // the controller-less cgroup2 tree of a hybrid host.)
    let unused = |l: &str| {
        l.contains(":devices:") || l.contains(":name=") || (l.starts_with("0::") && !unified())
    };
    for line in host_view.lines().filter(|l| !unused(l)) {
        assert!(line.ends_with(&ours), "{line} in {host_view}");
    }
    // Inside (a second container), a cgroup namespace rooted at its cgroup.
    let inside = sb.sh("cat /proc/self/cgroup").ok();
    assert!(inside.lines().all(|l| l.ends_with(":/")), "{inside}");
    sb.dockerish(["rm", "-f", "inside"]).ok();
    assert_eq!(bg.wait(), 137);
}

#[test]
fn rm_of_a_container_whose_monitor_was_killed_removes_its_cgroup() {
    let sb = Sandbox::new();
    let mut bg = Background::start(&sb, "orphan", &["busybox", "sleep", "300"]);
    let init = bg.init_pid(&sb).unwrap();
    bg.child.kill().unwrap();
    bg.child.wait().unwrap();
    // The container itself still runs, in its cgroup, and ps says so.
    assert!(Path::new(&format!("/proc/{init}")).exists());
    let ps = sb.dockerish(["ps"]).ok();
    assert!(ps.contains("Up "), "{ps}");
    sb.dockerish(["rm", "orphan"]).fails(1, "container is running");
    // rm -f ends it and removes the cgroup nobody else will.
    sb.dockerish(["rm", "-f", "orphan"]).ok();
    until("the orphaned container has ended", || !alive(init));
}
