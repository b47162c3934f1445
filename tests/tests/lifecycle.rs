//! Detached containers and their lifecycle, end to end as root: `run -d`
//! and its supervisor, `ps`, `logs`, `exec`, `stop`, `kill`, `start`,
//! `restart`, `wait`, `rm`, `rename`, `inspect`, `commit`,
//! `container prune`, and the state surviving a killed CLI, a killed
//! supervisor and a "reboot".

use std::collections::HashSet;
use std::fs;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use dockerish_tests::{alive, kill_after, outcome, processes_naming, until, Sandbox};

/// `dockerish run -d ARGS…`: asserts it printed a full ID, returns it.
fn detach(sb: &Sandbox, args: &[&str]) -> String {
    let mut argv = vec!["run", "-d"];
    argv.extend(args);
    let id = sb.dockerish(&argv).ok().trim().to_string();
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "run -d prints the full ID, got {id:?}"
    );
    id
}

/// `inspect -f TEMPLATE KEY`.
fn field(sb: &Sandbox, key: &str, template: &str) -> String {
    sb.dockerish(["inspect", "-f", template, key]).ok().trim().to_string()
}

/// Waits until the container has logged `ready`: its traps are set.
fn until_ready(sb: &Sandbox, name: &str) {
    until(&format!("{name} is ready"), || sb.dockerish(["logs", name]).stdout.contains("ready"));
}

#[test]
fn run_detached_returns_at_once_and_keeps_both_streams_in_the_log() {
    let sb = Sandbox::new();
    let id = detach(
        &sb,
        &[
            "--name",
            "talker",
            "busybox",
            "sh",
            "-c",
            "echo out1; echo err1 >&2; printf partial; sleep 300",
        ],
    );
    let ps = sb.dockerish(["ps"]).ok();
    let line = ps.lines().find(|l| l.contains("talker")).expect("ps lists it");
    assert!(line.starts_with(&id[..12]) && line.contains("Up "), "{ps}");
    for header in ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"] {
        assert!(ps.contains(header), "{ps}");
    }
    until("the output is logged", || sb.dockerish(["logs", "talker"]).stdout.contains("partial"));
    let logs = sb.dockerish(["logs", "talker"]);
    assert_eq!(logs.stdout, "out1\npartial", "stdout as written, without an added newline");
    assert_eq!(logs.stderr, "err1\n", "stderr kept, on stderr");
    assert_eq!(sb.dockerish(["logs", "--tail", "1", &id[..5]]).stdout, "partial");
    let stamped = sb.dockerish(["logs", "-t", "talker"]).stdout;
    let first = stamped.lines().next().unwrap();
    assert!(
        first.len() > 30
            && first.as_bytes()[10] == b'T'
            && first[..30].ends_with('Z')
            && first.ends_with(" out1"),
        "{first:?}"
    );
    assert_eq!(sb.dockerish(["logs", "--since", "2999-01-01T00:00:00Z", "talker"]).stdout, "");
    assert_eq!(sb.dockerish(["logs", "--since", "1m", "talker"]).stdout, "out1\npartial");
    sb.dockerish(["logs", "--since", "yesterday", "talker"]).fails(1, "--since");
    sb.dockerish(["rm", "-f", "talker"]).ok();
}

#[test]
fn logs_follow_until_the_container_exits_and_missing_ones_are_errors() {
    let sb = Sandbox::new();
    detach(
        &sb,
        &[
            "--name",
            "ticker",
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done; exit 4",
        ],
    );
    let followed = sb.dockerish(["logs", "-f", "ticker"]);
    assert_eq!(
        followed.stdout, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n",
        "-f returns once the container has exited"
    );
    assert_eq!(sb.dockerish(["wait", "ticker"]).ok(), "4\n");
    assert!(sb.dockerish(["ps", "-a"]).ok().contains("Exited (4)"));
    sb.dockerish(["logs", "nosuch"]).fails(1, "No such container: nosuch");
    // A `--` in the command is the command's, not a tool's.
    detach(&sb, &["--name", "dashes", "busybox", "echo", "a", "--", "b"]);
    assert_eq!(sb.dockerish(["wait", "dashes"]).ok(), "0\n");
    assert_eq!(sb.dockerish(["logs", "dashes"]).stdout, "a -- b\n");
    sb.dockerish(["rm", "dashes"]).ok();
    sb.dockerish(["rm", "ticker"]).ok();
}

#[test]
fn run_detached_reports_start_failures_itself() {
    let sb = Sandbox::new();
    let missing = sb.dockerish(["run", "-d", "--name", "missing", "busybox", "nosuchcmd"]);
    missing.fails(127, "nosuchcmd");
    assert!(missing.stdout.is_empty(), "no ID for a container that did not start: {missing:?}");
    assert!(sb.dockerish(["ps", "-a"]).ok().contains("Exited (127)"));
    sb.dockerish(["run", "-d", "busybox", "/etc/passwd"]).fails(126, "/etc/passwd");
    sb.dockerish(["run", "-d", "--rm", "busybox", "nosuchcmd"]).fails(127, "nosuchcmd");
    sb.dockerish(["run", "-d", "-v", "/nonexistent-dockerish:/x", "busybox", "true"])
        .fails(125, "/nonexistent-dockerish");
    let ps = sb.dockerish(["ps", "-a", "-q"]).ok();
    assert_eq!(ps.lines().count(), 2, "the --rm one and the refused one leave no record: {ps}");
    sb.dockerish(["container", "prune", "-f"]).ok();
    assert_eq!(sb.dockerish(["ps", "-a", "-q"]).ok(), "");
}

#[test]
fn exec_joins_namespaces_cgroup_and_env_of_the_container() {
    let sb = Sandbox::new();
    detach(&sb, &["--name", "host", "-e", "FROM_RUN=1", "-w", "/srv", "busybox", "sleep", "60"]);
    let out = sb
        .dockerish([
            "exec",
            "-e",
            "FROM_EXEC=2",
            "host",
            "sh",
            "-c",
            "echo $FROM_RUN $FROM_EXEC $(pwd) $(hostname); ps -o pid,comm",
        ])
        .ok();
    let mut lines = out.lines();
    let hostname = field(&sb, "host", "{{.Config.Hostname}}");
    assert_eq!(lines.next().unwrap(), format!("1 2 /srv {hostname}"));
    assert!(
        out.contains("    1 sleep"),
        "the container's pid namespace, its command as PID 1: {out}"
    );
    assert_eq!(
        sb.dockerish([
            "exec",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "host",
            "sh",
            "-c",
            "pwd; id -u; id -g"
        ])
        .ok(),
        "/tmp\n65534\n65534\n"
    );
    assert_eq!(
        sb.dockerish(["exec", "-u", "1000:1001", "host", "sh", "-c", "id -u; id -g"]).ok(),
        "1000\n1001\n"
    );
    sb.dockerish(["exec", "-u", "nosuchuser", "host", "true"])
        .fails(126, "unable to find user nosuchuser: no matching entries in passwd file");
    // Names are the container's own, with the groups its /etc/group lists.
    let add = "echo 'app:x:2001:2001::/:/bin/sh' >> /etc/passwd && \
               echo 'app:x:2001:' >> /etc/group && echo 'extra:x:3003:root,app' >> /etc/group";
    sb.dockerish(["exec", "host", "sh", "-c", add]).ok();
    assert_eq!(sb.dockerish(["exec", "-u", "app", "host", "id", "-G"]).ok(), "2001 3003\n");
    assert_eq!(sb.dockerish(["exec", "-u", "app:extra", "host", "id", "-g"]).ok(), "3003\n");
    assert!(
        !fs::read_to_string("/etc/passwd").unwrap().contains("app:x:2001"),
        "the container's /etc/passwd is not the host's"
    );
    assert_eq!(sb.dockerish(["exec", "host", "sh", "-c", "exit 7"]).code, 7);
    sb.dockerish(["exec", "host", "nosuchcmd"]).fails(127, "nosuchcmd");
    // The cgroup: the exec'd process is counted with the container's.
    let pid = field(&sb, "host", "{{.State.Pid}}");
    let cgroup = |p: &str| fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
    let mut exec = sb.command("dockerish");
    exec.args(["exec", "host", "sleep", "37"]).stdout(Stdio::null()).stderr(Stdio::null());
    let mut exec = exec.spawn().unwrap();
    let mut found = None;
    until("the exec'd sleep runs", || {
        found = processes_naming("sleep 37")
            .into_iter()
            .map(|(p, _)| p)
            .find(|p| fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c == "sleep\n"));
        found.is_some()
    });
    assert_eq!(cgroup(&found.unwrap().to_string()), cgroup(&pid), "same cgroups as the init");
    assert_eq!(
        sb.dockerish(["exec", "-t", "host", "sh", "-c", "tty; [ -t 0 ] && echo terminal"])
            .ok()
            .replace('\r', ""),
        "/dev/pts/0\nterminal\n"
    );
    sb.dockerish(["rm", "-f", "host"]).ok();
    assert_eq!(exec.wait().unwrap().code(), Some(137), "killed with the container");
    detach(&sb, &["--name", "brief", "busybox", "true"]);
    sb.dockerish(["wait", "brief"]).ok();
    sb.dockerish(["exec", "brief", "true"]).fails(1, "is not running");
    sb.dockerish(["rm", "brief"]).ok();
}

#[test]
fn stop_sends_term_then_kill_and_waits_until_gone() {
    let sb = Sandbox::new();
    // A shell as PID 1 with a handler ends on SIGTERM; without one the
    // kernel ignores SIGTERM for a namespace's init and only KILL works.
    detach(
        &sb,
        &[
            "--name",
            "polite",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done",
        ],
    );
    detach(&sb, &["--name", "deaf", "busybox", "sleep", "60"]);
    until_ready(&sb, "polite");
    let pid = field(&sb, "deaf", "{{.State.Pid}}");
    let started = Instant::now();
    sb.dockerish(["stop", "polite"]).ok();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a container that obeys SIGTERM stops at once"
    );
    assert_eq!(field(&sb, "polite", "{{.State.ExitCode}}"), "3");
    let started = Instant::now();
    assert_eq!(sb.dockerish(["stop", "-t", "1", "deaf"]).ok(), "deaf\n");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited the grace period");
    assert!(!alive(pid.parse().unwrap()), "the init is gone when stop returns");
    assert_eq!(
        field(&sb, "deaf", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}"),
        "exited 137 false"
    );
    // Stopping a stopped container changes nothing (Docker's answer too).
    let finished = field(&sb, "deaf", "{{.State.FinishedAt}}");
    assert_eq!(sb.dockerish(["stop", "deaf"]).ok(), "deaf\n");
    assert_eq!(
        field(&sb, "deaf", "{{.State.FinishedAt}} {{.State.ExitCode}}"),
        format!("{finished} 137")
    );
    sb.dockerish(["stop", "nosuch"]).fails(1, "No such container");
    sb.dockerish(["rm", "polite", "deaf"]).ok();
}

#[test]
fn kill_sends_the_signal_to_the_init() {
    let sb = Sandbox::new();
    detach(
        &sb,
        &[
            "--name",
            "target",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.05; done",
        ],
    );
    until_ready(&sb, "target");
    sb.dockerish(["kill", "-s", "USR1", "target"]).ok();
    until("the trap ran", || sb.dockerish(["logs", "target"]).stdout.contains("got USR1"));
    assert_eq!(field(&sb, "target", "{{.State.Running}}"), "true");
    sb.dockerish(["kill", "-s", "NOSUCHSIG", "target"]).fails(1, "signal");
    sb.dockerish(["kill", "target"]).ok();
    assert_eq!(sb.dockerish(["wait", "target"]).ok(), "137\n");
    sb.dockerish(["kill", "target"]).fails(1, "is not running");
    sb.dockerish(["rm", "target"]).ok();
}

#[test]
fn start_reuses_the_writable_layer_and_restart_runs_it_again() {
    let sb = Sandbox::new();
    let count = "echo x >> /runs; wc -l < /runs; echo to-stderr >&2";
    sb.dockerish(["run", "--name", "again", "busybox", "sh", "-c", count]).ok();
    let attached = sb.dockerish(["start", "-a", "again"]);
    assert_eq!(
        (attached.code, attached.stdout.as_str(), attached.stderr.as_str()),
        (0, "2\n", "to-stderr\n")
    );
    sb.dockerish(["start", "again"]).ok();
    assert_eq!(sb.dockerish(["wait", "again"]).ok(), "0\n");
    assert!(sb.dockerish(["logs", "again"]).stdout.ends_with("3\n"), "start without -a logs");
    sb.dockerish(["rm", "again"]).ok();

    detach(
        &sb,
        &[
            "--name",
            "cycle",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done",
        ],
    );
    until_ready(&sb, "cycle");
    let before = field(&sb, "cycle", "{{.State.Pid}}");
    sb.dockerish(["start", "cycle"]).ok(); // running already: nothing to do
    assert_eq!(field(&sb, "cycle", "{{.State.Pid}}"), before);
    sb.dockerish(["restart", "-t", "5", "cycle"]).ok();
    let after = field(&sb, "cycle", "{{.State.Pid}}");
    assert!(
        after != before && after != "0" && !alive(before.parse().unwrap()),
        "a new init: {before} → {after}"
    );
    assert_eq!(field(&sb, "cycle", "{{.State.Status}}"), "running");
    sb.dockerish(["start", "-a", "nosuch"]).fails(1, "No such container");
    sb.dockerish(["rm", "-f", "cycle"]).ok();
}

#[test]
fn rm_refuses_a_running_container_without_force_and_leaves_nothing_with_it() {
    let sb = Sandbox::new();
    let id = detach(
        &sb,
        &["--name", "busy", "-v", "/data", "busybox", "sh", "-c", "echo kept > /data/f; sleep 60"],
    );
    let volume = mount_source(&sb, "busy");
    sb.dockerish(["rm", "busy"]).fails(1, "container is running");
    assert_eq!(field(&sb, "busy", "{{.State.Status}}"), "running", "a refused rm changes nothing");
    let pid = field(&sb, "busy", "{{.State.Pid}}");
    assert_eq!(sb.dockerish(["rm", "-f", &id[..8]]).ok(), format!("{}\n", &id[..8]));
    assert!(!alive(pid.parse().unwrap()));
    assert!(sb.container_dirs().is_empty());
    assert_eq!(
        fs::read_to_string(format!("{volume}/f")).unwrap(),
        "kept\n",
        "an anonymous volume outlives rm without -v"
    );
    detach(&sb, &["--name", "vol", "-v", "/data", "busybox", "true"]);
    let volume = mount_source(&sb, "vol");
    sb.dockerish(["wait", "vol"]).ok();
    sb.dockerish(["rm", "-v", "vol"]).ok();
    assert!(fs::metadata(&volume).is_err(), "rm -v removes it");
    sb.dockerish(["rm", "nosuch"]).fails(1, "No such container");
    // netctl's child that deletes a released veth may still be finishing.
    until("no process of the root is left", || {
        processes_naming(&sb.root().display().to_string()).is_empty()
    });
}

/// The host directory of the container's first mount.
fn mount_source(sb: &Sandbox, key: &str) -> String {
    let mounts: serde_json::Value =
        serde_json::from_str(&field(sb, key, "{{json .Mounts}}")).unwrap();
    mounts[0]["Source"].as_str().expect("a mount").to_string()
}

#[test]
fn names_and_id_prefixes_work_everywhere_and_ambiguity_is_an_error() {
    let sb = Sandbox::new();
    let id = detach(&sb, &["--name", "first", "busybox", "sleep", "60"]);
    sb.dockerish(["rename", "first", "second"]).ok();
    sb.dockerish(["inspect", "first"]).fails(1, "No such container: first");
    assert_eq!(field(&sb, "second", "{{.Name}}"), "/second");
    assert_eq!(field(&sb, &id[..6], "{{.Id}}"), id);
    detach(&sb, &["--name", "third", "busybox", "true"]);
    sb.dockerish(["rename", "second", "third"]).fails(1, "is already in use");
    sb.dockerish(["rename", "second", "bad/name"]).fails(1, "container name");
    sb.dockerish(["run", "-d", "--name", "third", "busybox", "true"])
        .fails(125, "is already in use");
    // IDs are random: with 17 containers two share a first hex digit.
    let mut ids: Vec<String> =
        sb.dockerish(["ps", "-aq", "--no-trunc"]).ok().lines().map(String::from).collect();
    while !ids.iter().enumerate().any(|(i, a)| ids[..i].iter().any(|b| a[..1] == b[..1])) {
        ids.push(sb.dockerish(["run", "-d", "busybox", "true"]).ok().trim().to_string());
    }
    let shared = ids
        .iter()
        .enumerate()
        .find_map(|(i, a)| ids[..i].iter().any(|b| a[..1] == b[..1]).then(|| a[..1].to_string()))
        .unwrap();
    sb.dockerish(["inspect", &shared]).fails(1, "ambiguous");
    sb.dockerish(["rm", "-f", &shared]).fails(1, "ambiguous");
    sb.remove_all();
}

#[test]
fn ps_filters_and_formats_like_docker() {
    let sb = Sandbox::new();
    detach(&sb, &["--name", "up-one", "busybox", "sleep", "60"]);
    sb.dockerish(["run", "--name", "done-one", "busybox", "sh", "-c", "exit 2"]).fails(2, "");
    sb.dockerish(["run", "--name", "made-one", "busybox", "nosuchcmd"]).fails(127, "");
    let names = |args: &[&str]| -> Vec<String> {
        sb.ps_json(args).iter().map(|r| r["Names"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(&[]), ["up-one"]);
    let mut exited = names(&["-a", "-f", "status=exited"]);
    exited.sort();
    assert_eq!(exited, ["done-one", "made-one"]);
    assert_eq!(names(&["-f", "status=exited", "-f", "name=done"]), ["done-one"]);
    assert_eq!(names(&["-a", "-f", "name=one", "-f", "status=running"]), ["up-one"]);
    let row: serde_json::Value =
        serde_json::from_str(sb.dockerish(["ps", "--format", "json"]).ok().trim()).unwrap();
    for key in
        ["ID", "Image", "Command", "CreatedAt", "RunningFor", "Status", "State", "Ports", "Names"]
    {
        assert!(row.get(key).is_some(), "{key} in {row}");
    }
    assert_eq!(row["State"], "running");
    sb.dockerish(["ps", "-f", "colour=blue"]).fails(1, "filter");
    sb.dockerish(["ps", "-f", "status=sleepy"]).fails(1, "filter");
    sb.dockerish(["pause", "up-one"]).ok();
    assert_eq!(names(&["-f", "status=paused"]), ["up-one"]);
    let prune = sb.dockerish(["container", "prune", "-f"]).ok();
    assert!(
        prune.contains("Deleted Containers:") && prune.contains("Total reclaimed space"),
        "{prune}"
    );
    assert_eq!(names(&["-a"]), ["up-one"], "prune keeps the running one");
    sb.dockerish(["rm", "-f", "up-one"]).ok();
}

#[test]
fn inspect_shows_state_config_mounts_and_network() {
    let sb = Sandbox::new();
    let id = detach(
        &sb,
        &[
            "--name",
            "looked-at",
            "-e",
            "A=1",
            "-v",
            "/tmp:/host-tmp:ro",
            "-m",
            "32m",
            "busybox",
            "sleep",
            "60",
        ],
    );
    let out = sb.dockerish(["inspect", "looked-at"]).ok();
    let all: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = &all[0];
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["State"]["Status"], "running");
    let pid = c["State"]["Pid"].as_i64().unwrap();
    let init_cmd = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        init_cmd.starts_with("sleep\u{0}60"),
        "State.Pid is the host PID of the container's command: {init_cmd:?}"
    );
    assert_eq!(c["State"]["OOMKilled"], false);
    assert!(c["Config"]["Env"].as_array().unwrap().iter().any(|e| e == "A=1"));
    assert_eq!(c["Mounts"][0]["Destination"], "/host-tmp");
    assert_eq!(c["Mounts"][0]["RW"], false);
    assert_eq!(c["HostConfig"]["Memory"], 32 << 20);
    // The default network, Docker's `bridge`: an address of its subnet.
    let ip = c["NetworkSettings"]["IPAddress"].as_str().unwrap();
    assert_eq!(c["NetworkSettings"]["Networks"]["bridge"]["IPAddress"], ip);
    assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "{ip:?}");
    assert_eq!(c["HostConfig"]["NetworkMode"], "bridge");
    sb.dockerish(["rm", "-f", "looked-at"]).ok();
}

#[test]
fn commit_makes_an_image_of_the_writable_layer() {
    let sb = Sandbox::new();
    sb.dockerish([
        "run",
        "--name",
        "builder",
        "busybox",
        "sh",
        "-c",
        "echo baked > /etc/motd; rm /bin/vi",
    ])
    .ok();
    let id = sb.dockerish(["commit", "-m", "with motd", "builder", "baked:1"]).ok();
    assert!(id.starts_with("sha256:"), "{id}");
    let image = sb.image("baked:1");
    assert_eq!(
        image["layers"].as_array().unwrap().len(),
        sb.image("busybox")["layers"].as_array().unwrap().len() + 1
    );
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "baked:1",
            "sh",
            "-c",
            "cat /etc/motd; [ -e /bin/vi ] || echo vi-gone",
        ])
        .ok();
    assert_eq!(out, "baked\nvi-gone\n", "files added and deleted in the container");
    sb.dockerish(["commit", "nosuch", "x:1"]).fails(1, "No such container");
    sb.dockerish(["rm", "builder"]).ok();
    sb.dockerish(["rmi", "baked:1"]).ok();
}

#[test]
fn init_reaps_zombies_in_a_detached_container() {
    let sb = Sandbox::new();
    // The inner shell's children are orphaned and reparented to PID 1.
    let orphans = "sh -c 'sleep 0.1 & sleep 0.1 & exit 0'; exec sleep 60";
    detach(&sb, &["--name", "reaped", "--init", "busybox", "sh", "-c", orphans]);
    detach(&sb, &["--name", "unreaped", "busybox", "sh", "-c", orphans]);
    let zombies = |name: &str| {
        sb.dockerish([
            "exec",
            name,
            "sh",
            "-c",
            "cat /proc/[0-9]*/status | grep -c '^State:.*Z' || true",
        ])
        .ok()
        .trim()
        .parse::<u32>()
        .unwrap()
    };
    until("the orphans have exited", || zombies("unreaped") == 2);
    sleep(Duration::from_millis(300));
    assert_eq!(zombies("reaped"), 0, "--init reaps them");
    assert_eq!(zombies("unreaped"), 2, "without --init `sleep` as PID 1 does not");
    sb.dockerish(["rm", "-f", "reaped", "unreaped"]).ok();
}

#[test]
fn twenty_parallel_detached_runs_get_distinct_names_and_ids() {
    let sb = Sandbox::new();
    let children: Vec<_> = (0..20)
        .map(|_| {
            let mut cmd = sb.command("dockerish");
            cmd.args(["run", "-d", "busybox", "sleep", "60"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let ids: HashSet<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 20);
    let rows = sb.ps_json(&[]);
    let names: HashSet<&str> = rows.iter().map(|r| r["Names"].as_str().unwrap()).collect();
    assert_eq!((rows.len(), names.len()), (20, 20));
    assert!(rows
        .iter()
        .all(|r| ids.contains(r["ID"].as_str().unwrap()) && r["State"] == "running"));
    let mut rm = vec!["rm".to_string(), "-f".to_string()];
    rm.extend(ids);
    sb.dockerish(&rm).ok();
}

/// Every container `ps -a` lists is running exactly when its init lives.
#[track_caller]
fn ps_tells_the_truth(sb: &Sandbox) {
    for id in sb.dockerish(["ps", "-aq"]).ok().lines() {
        let (status, pid) = field(sb, id, "{{.State.Status}} {{.State.Pid}}")
            .split_once(' ')
            .map(|(s, p)| (s.to_string(), p.to_string()))
            .unwrap();
        match status.as_str() {
            "running" => {
                assert!(alive(pid.parse().unwrap()), "{id} shown running, its init {pid} is gone")
            }
            _ => assert_eq!(pid, "0", "{id} shown {status}"),
        }
    }
    let running = sb.dockerish(["ps", "-q"]).ok().lines().count();
    let inits = sb
        .dockerish(["ps", "-aq"])
        .ok()
        .lines()
        .filter(|id| field(sb, id, "{{.State.Running}}") == "true")
        .count();
    assert_eq!(running, inits);
}

#[test]
fn a_killed_cli_leaves_ps_truthful() {
    let sb = Sandbox::new();
    // kill -9 of `run -d` at different moments of the start.
    for delay in [0, 2, 5, 10, 20, 40, 80] {
        let mut cmd = sb.command("dockerish");
        kill_after(cmd.args(["run", "-d", "busybox", "sleep", "60"]), Duration::from_millis(delay));
    }
    // Whatever was started settles (two listings alike); none is half there.
    let mut last = String::new();
    until("no start is in progress", || {
        sleep(Duration::from_millis(100));
        let now = sb
            .dockerish(["ps", "-a", "--format", "json"])
            .ok()
            .lines()
            .map(|l| l.split("\"Status\"").nth(1).unwrap_or("").to_string() + "\n")
            .collect::<String>();
        let now = now.replace("Less than a second", "").replace("1 second", "");
        std::mem::replace(&mut last, now.clone()) == now
    });
    ps_tells_the_truth(&sb);
    // kill -9 of `stop` while it waits out the grace period.
    detach(&sb, &["--name", "stubborn", "busybox", "sleep", "60"]);
    let mut stop = sb.command("dockerish");
    stop.args(["stop", "-t", "30", "stubborn"]).stdout(Stdio::null());
    let mut stop = stop.spawn().unwrap();
    sleep(Duration::from_millis(300));
    stop.kill().unwrap();
    stop.wait().unwrap();
    assert_eq!(field(&sb, "stubborn", "{{.State.Status}}"), "running");
    ps_tells_the_truth(&sb);
    sb.dockerish(["stop", "-t", "0", "stubborn"]).ok();
    assert_eq!(field(&sb, "stubborn", "{{.State.Status}} {{.State.ExitCode}}"), "exited 137");
    ps_tells_the_truth(&sb);
    sb.remove_all();
}

/// The supervisor of container `key`, by its command line.
fn supervisor_of(sb: &Sandbox, id: &str) -> i32 {
    let found =
        processes_naming(&format!("dockerish-supervisor --root {} {id}", sb.root().display()));
    assert_eq!(found.len(), 1, "one supervisor per container: {found:?}");
    found[0].0
}

#[test]
fn a_killed_supervisor_or_a_reboot_leaves_the_container_removable() {
    let sb = Sandbox::new();
    // The supervisor killed: the container runs on, and ps says so.
    let id = detach(&sb, &["--name", "orphan", "busybox", "sleep", "60"]);
    let supervisor = supervisor_of(&sb, &id);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    until("the supervisor is gone", || !alive(supervisor));
    assert_eq!(field(&sb, "orphan", "{{.State.Status}}"), "running");
    sb.dockerish(["stop", "-t", "0", "orphan"]).ok();
    assert_eq!(
        field(&sb, "orphan", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 255",
        "nobody saw the end: Docker's 255"
    );
    sb.dockerish(["rm", "orphan"]).ok();

    // A "reboot": every process gone, runtime files gone.
    let id = detach(&sb, &["--name", "rebooted", "busybox", "sleep", "60"]);
    let supervisor = supervisor_of(&sb, &id);
    let pid = field(&sb, "rebooted", "{{.State.Pid}}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut cgkill = Command::new(dockerish_tests::bin("cgctl"));
    cgkill.args(["kill", "--pid", &pid]);
    assert_eq!(outcome(cgkill).code, 0);
    until("everything is gone", || !alive(pid.parse().unwrap()) && !alive(supervisor));
    let dir = sb.root().join("containers").join(&id);
    let _ = fs::remove_file(dir.join("pid"));
    assert!(sb.dockerish(["ps", "-a"]).ok().contains("Exited (255)"));
    ps_tells_the_truth(&sb);
    sb.dockerish(["start", "rebooted"]).ok();
    assert_eq!(field(&sb, "rebooted", "{{.State.Status}}"), "running", "it can be started again");
    sb.dockerish(["rm", "-f", "rebooted"]).ok();

    // A recorded PID now used by another process is not the container.
    detach(&sb, &["--name", "reused", "busybox", "true"]);
    sb.dockerish(["wait", "reused"]).ok();
    let state_path = sb
        .root()
        .join("containers")
        .join(sb.dockerish(["inspect", "-f", "{{.Id}}", "reused"]).ok().trim())
        .join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state_path).unwrap()).unwrap();
    let me = std::process::id();
    state["status"] = "running".into();
    state["monitor"] = serde_json::json!({ "pid": me, "start_time": 1 });
    state["init"] = serde_json::json!({ "pid": me, "start_time": 1 });
    fs::write(&state_path, state.to_string()).unwrap();
    assert_eq!(
        field(&sb, "reused", "{{.State.Status}} {{.State.Pid}}"),
        "exited 0",
        "our PID, another start time"
    );
    // After a reboot the same PID may start at the same tick: the record's
    // boot ID tells them apart.
    let stat = fs::read_to_string("/proc/self/stat").unwrap();
    let start_time: u64 =
        stat.rsplit(") ").next().unwrap().split(' ').nth(19).unwrap().parse().unwrap();
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().replace('-', "");
    let other_boot = u64::from_str_radix(&boot[..16], 16).unwrap() ^ 1;
    for key in ["monitor", "init"] {
        state[key] = serde_json::json!({ "pid": me, "start_time": start_time, "boot": other_boot });
    }
    fs::write(&state_path, state.to_string()).unwrap();
    assert_eq!(
        field(&sb, "reused", "{{.State.Status}}"),
        "exited",
        "our PID and start time, another boot"
    );
    state["monitor"]["boot"] = (other_boot ^ 1).into();
    fs::write(&state_path, state.to_string()).unwrap();
    assert_eq!(
        field(&sb, "reused", "{{.State.Status}}"),
        "running",
        "the same in this boot: the check can fail"
    );
    state["monitor"] = serde_json::Value::Null;
    state["init"] = serde_json::Value::Null;
    state["status"] = "exited".into();
    fs::write(&state_path, state.to_string()).unwrap();
    sb.dockerish(["rm", "reused"]).ok();
}

#[test]
fn a_hundred_containers_stop_start_kill_and_rm_at_once_and_each_failure_is_named() {
    let sb = Sandbox::on_host();
    let names: Vec<String> = (0..100).map(|i| format!("h{i}")).collect();
    // `dockerish VERB… h0 … h99 [LAST]`, its outcome and how long it took.
    let on_all = |verb: &[&str], last: Option<&str>| {
        let mut c = sb.command("dockerish");
        c.args(verb).args(&names).args(last);
        let started = Instant::now();
        let out = outcome(c);
        (out, started.elapsed())
    };
    let in_order = names.iter().map(|n| format!("{n}\n")).collect::<String>();
    let statuses = |want: &str| {
        for name in &names {
            assert_eq!(field(&sb, name, "{{.State.Status}} {{.State.ExitCode}}"), want, "{name}");
        }
    };
    for name in &names {
        // sleep as PID 1 ignores SIGTERM: each stop waits out its grace period.
        detach(&sb, &["--name", name, "--network", "none", "busybox", "sleep", "60"]);
    }

    let (out, took) = on_all(&["stop", "-t", "1"], Some("nosuch"));
    eprintln!("stop -t 1 of 100: {took:?}");
    assert!(took < Duration::from_secs(5), "100 × stop -t 1 took {took:?}: not concurrent");
    assert_eq!(out.code, 1, "one name was wrong: {out:?}");
    assert!(out.stderr.contains("nosuch") && out.stderr.lines().count() == 1, "{out:?}");
    assert_eq!(out.stdout, in_order, "the names in the order given");
    statuses("exited 137");

    let (out, _) = on_all(&["start"], None);
    assert_eq!((out.code, out.stdout.as_str()), (0, in_order.as_str()), "{out:?}");
    statuses("running 0");
    let (out, _) = on_all(&["kill"], Some("nosuch"));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("nosuch") && out.stderr.lines().count() == 1, "{out:?}");
    assert_eq!(out.stdout, in_order);
    let (out, _) = on_all(&["wait"], None);
    assert_eq!(out.stdout, "137\n".repeat(100), "every end recorded: {out:?}");

    on_all(&["start"], None).0.ok();
    let (out, took) = on_all(&["rm", "-f"], None);
    eprintln!("rm -f of 100 running: {took:?}");
    assert_eq!((out.code, out.stdout.as_str()), (0, in_order.as_str()), "{out:?}");
    assert_eq!(sb.dockerish(["ps", "-aq"]).ok(), "");
}
