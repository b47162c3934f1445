//! Docker's daily commands after `run` and `ps`, end to end as root:
//! restart policies kept by the supervisor, log rotation and `logs --tail`
//! from the end, and the commands of issue 16 as they land.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use dockerish_tests::{until, Sandbox};

fn field(sb: &Sandbox, key: &str, template: &str) -> String {
    sb.dockerish(["inspect", "-f", template, key]).ok().trim().to_string()
}

#[test]
fn a_crashing_container_is_restarted_with_back_off_until_on_failure_gives_up() {
    let sb = Sandbox::new();
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "crash",
        "--restart",
        "on-failure:2",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo start; exit 3",
    ])
    .ok();
    until("on-failure:2 has given up", || field(&sb, "crash", "{{.State.Status}}") == "exited");
    assert_eq!(field(&sb, "crash", "{{.RestartCount}}"), "2", "two restarts, then no more");
    assert_eq!(field(&sb, "crash", "{{.State.ExitCode}}"), "3");
    assert_eq!(
        field(&sb, "crash", "{{json .HostConfig.RestartPolicy}}"),
        r#"{"MaximumRetryCount":2,"Name":"on-failure"}"#
    );
    // Each run's line carries the time it was logged: the gaps show the back-off.
    let starts: Vec<u128> = sb
        .dockerish(["logs", "-t", "crash"])
        .ok()
        .lines()
        .map(|l| {
            let (time, text) = l.split_once(' ').expect("a timestamp");
            assert_eq!(text, "start");
            tool_cli::human::parse_rfc3339(time).expect("RFC 3339") / 1_000_000
        })
        .collect();
    assert_eq!(starts.len(), 3, "the first run and two restarts: {starts:?}");
    let (first_gap, second_gap) = (starts[1] - starts[0], starts[2] - starts[1]);
    assert!(first_gap >= 100, "100 ms before the first restart, was {first_gap} ms");
    assert!(second_gap >= 200, "doubled before the second, was {second_gap} ms");
    // A clean exit is not a failure: on-failure does not restart it.
    sb.dockerish(["run", "-d", "--name", "clean", "--restart", "on-failure", "busybox", "true"])
        .ok();
    until("it exited", || field(&sb, "clean", "{{.State.Status}}") == "exited");
    assert_eq!(field(&sb, "clean", "{{.RestartCount}}"), "0");
    sb.remove_all();
}

#[test]
fn stop_ends_the_policy_of_a_restarting_container_and_start_at_boot_brings_it_back() {
    let sb = Sandbox::new();
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "always",
        "--restart",
        "always",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "sleep 0.3; exit 1",
    ])
    .ok();
    until("it has been restarted", || {
        field(&sb, "always", "{{.RestartCount}}").parse::<u32>().unwrap() >= 2
    });
    // Caught between two runs or in one: either way it stays stopped.
    until("ps shows it restarting", || {
        let ps = sb.dockerish(["ps"]).ok();
        ps.lines().any(|l| l.contains("always") && l.contains("Restarting (1) "))
    });
    // (In a run, its sh is PID 1 and ignores SIGTERM: the 1 s grace, then
    // SIGKILL. Were the policy not ended, stop would wait on a monitor
    // that never exits.)
    let stop = Instant::now();
    sb.dockerish(["stop", "-t", "1", "always"]).ok();
    assert!(stop.elapsed() < Duration::from_secs(10), "stopped, not restarted under stop");
    let count = field(&sb, "always", "{{.RestartCount}}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(field(&sb, "always", "{{.State.Status}}"), "exited");
    assert_eq!(field(&sb, "always", "{{.RestartCount}}"), count, "not restarted after stop");
    assert_eq!(field(&sb, "always", "{{.State.Restarting}}"), "false");
    // At boot: `always` comes back, an unless-stopped one stopped by hand does not.
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "unless",
        "--restart",
        "unless-stopped",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    sb.dockerish(["stop", "-t", "0", "unless"]).ok();
    sb.dockerish(["start", "--all-restartable"]).ok();
    // (Its command lasts 0.3 s: it may be between two runs already.)
    let always = field(&sb, "always", "{{.State.Status}}");
    assert!(always == "running" || always == "restarting", "{always}");
    assert_eq!(field(&sb, "unless", "{{.State.Status}}"), "exited");
    // rm -f of a container its policy keeps restarting.
    sb.dockerish(["rm", "-f", "always", "unless"]).ok();
    assert!(sb.dockerish(["ps", "-aq"]).ok().is_empty());
}

#[test]
fn bad_restart_and_log_flags_are_refused_before_anything_is_made() {
    let sb = Sandbox::new();
    for (flags, needle) in [
        (&["-d", "--restart", "sometimes"][..], "--restart"),
        (&["-d", "--restart", "on-failure:0"][..], "on-failure:N"),
        (&["-d", "--restart", "always:2"][..], "only on-failure"),
        (&["-d", "--rm", "--restart", "always"][..], "conflicts with --rm"),
        (&["--restart", "always"][..], "needs -d"),
        (&["-d", "--log-driver", "syslog"][..], "--log-driver"),
        (&["-d", "--log-opt", "max-size=lots"][..], "max-size=lots"),
        (&["-d", "--log-opt", "max-file=0"][..], "max-file"),
        (&["-d", "--log-opt", "colour=red"][..], "max-size=SIZE"),
        (&["-d", "--log-driver", "none", "--log-opt", "max-file=2"][..], "no options"),
    ] {
        let mut argv = vec!["run"];
        argv.extend(flags);
        argv.extend(["busybox", "true"]);
        let out = sb.dockerish(&argv);
        assert!(out.code == 125 || out.code == 2, "{argv:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{argv:?}: {}", out.stderr);
    }
    assert!(sb.dockerish(["ps", "-aq"]).ok().is_empty(), "nothing was recorded");
}

#[test]
fn a_log_flood_is_capped_at_max_size_times_max_file_and_tail_reads_from_the_end() {
    let sb = Sandbox::new();
    let id = sb
        .dockerish([
            "run", "-d", "--name", "flood", "--network", "none", "--log-opt", "max-size=256k",
            "--log-opt", "max-file=3", "busybox", "sh", "-c",
            "i=0; while [ $i -lt 40000 ]; do i=$((i+1)); echo line $i; done; sleep 1; echo done >&2; sleep 300",
        ])
        .ok()
        .trim()
        .to_string();
    // (stderr's line a second later: two pipes keep no order between them.)
    until("the flood is over", || {
        sb.dockerish(["logs", "--tail", "1", "flood"]).stderr == "done\n"
    });
    let dir = sb.root().join("containers").join(&id);
    let logs: Vec<u64> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("container.log"))
        .map(|e| e.metadata().unwrap().len())
        .collect();
    assert_eq!(logs.len(), 3, "the current file and two rotated ones: {logs:?}");
    // A file may pass max-size to end the line it is in (16 KiB at most).
    assert!(logs.iter().all(|&n| n <= (256 + 24) << 10), "each about max-size: {logs:?}");
    // 40000 lines of ~50 bytes each is ~2 MB: most of it has rotated away.
    let out = sb.dockerish(["logs", "flood"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.len() < 20000 && lines.len() > 5000, "{} lines kept", lines.len());
    assert_eq!(lines.last(), Some(&"line 40000"));
    let first: u32 = lines[0].strip_prefix("line ").unwrap().parse().unwrap();
    assert_eq!(lines.len() as u32, 40000 - first + 1, "kept lines are whole and in order");
    // --tail reads from the end, across a rotated file when it must.
    // Both streams count: the last line is stderr's.
    let tail = sb.dockerish(["logs", "--tail", "3", "flood"]);
    assert_eq!(
        (tail.stdout.as_str(), tail.stderr.as_str()),
        ("line 39999\nline 40000\n", "done\n")
    );
    let many = sb.dockerish(["logs", "--tail", &(lines.len() - 9).to_string(), "flood"]).stdout;
    assert_eq!(many.lines().count(), lines.len() - 10);
    assert_eq!(many.lines().next(), Some(lines[10]));
    assert_eq!(sb.dockerish(["logs", "--tail", "0", "flood"]).stdout, "");
    assert_eq!(sb.dockerish(["logs", "--until", "1970-01-02T00:00:00Z", "flood"]).stdout, "");
    sb.dockerish(["logs", "--until", "soon", "flood"]).fails(1, "--until");
    assert_eq!(
        field(&sb, "flood", "{{json .HostConfig.LogConfig}}"),
        r#"{"Config":{"max-file":"3","max-size":"262144"},"Type":"json-file"}"#
    );
    sb.dockerish(["rm", "-f", "flood"]).ok();
    // The none driver keeps nothing, and says so.
    sb.dockerish(["run", "-d", "--name", "quiet", "--log-driver", "none", "busybox", "echo", "hi"])
        .ok();
    until("it exited", || field(&sb, "quiet", "{{.State.Status}}") == "exited");
    sb.dockerish(["logs", "quiet"]).fails(1, "does not support reading");
    sb.remove_all();
}

#[test]
fn completions_load_in_bash_zsh_and_fish_and_complete_names_from_the_state_root() {
    let sb = Sandbox::new();
    sb.dockerish(["run", "-d", "--name", "webby", "busybox", "sleep", "300"]).ok();
    let bin = dockerish_tests::bin("dockerish");
    let dir = bin.parent().unwrap().display().to_string();
    let env_line = format!("PATH={dir}:$PATH DOCKERISH_ROOT={}", sb.root().display());
    let shell = |shell: &str, script: &str| {
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(format!("export {env_line}; {script}"))
            .output()
            .unwrap_or_else(|e| panic!("{shell}: {e}"));
        assert!(out.status.success(), "{shell} {script}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bash = shell("bash", "source <(dockerish completion bash) && complete -p dockerish");
    assert!(bash.contains("-F _dockerish_with_names dockerish"), "{bash}");
    // A subcommand, then a container name and an image name, completed.
    let words = |line: &str, cword: usize| {
        shell(
            "bash",
            &format!(
                "source <(dockerish completion bash); COMP_WORDS=({line}); COMP_CWORD={cword}; \
                 _dockerish_with_names dockerish \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[@]}}\""
            ),
        )
    };
    assert!(words("dockerish sto", 1).split_whitespace().any(|w| w == "stop"));
    assert!(words("dockerish stop we", 2).split_whitespace().any(|w| w == "webby"));
    assert!(words("dockerish run busy", 2).split_whitespace().any(|w| w == "busybox:latest"));
    let fish =
        shell("fish", "dockerish completion fish | source; complete -C 'dockerish logs web'");
    assert!(fish.lines().any(|l| l.starts_with("webby")), "{fish}");
    // Every tool's script parses in each shell.
    for tool in ["dockerish", "ns-exec", "cgctl", "rootfs", "netctl", "imgtool"] {
        let print = match tool {
            "dockerish" => "dockerish completion",
            other => &format!("{other} --completion"),
        };
        shell("bash", &format!("source <({print} bash) && complete -p {tool}"));
        shell("zsh", &format!("{print} zsh > /dev/null && {print} zsh | zsh -n"));
        shell("fish", &format!("{print} fish | fish -n"));
    }
    sb.dockerish(["completion", "tcsh"]).fails(125, "tcsh");
    sb.remove_all();
}

#[test]
fn top_lists_the_containers_processes_and_diff_its_changes() {
    let sb = Sandbox::new();
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "busy",
        "busybox",
        "sh",
        "-c",
        "touch /tmp/new; rm /bin/ls; echo x >> /etc/passwd; mkdir -p /a/b; echo ready; sleep 300; echo end",
    ])
    .ok();
    until("it is ready", || sb.dockerish(["logs", "busy"]).stdout.contains("ready"));
    let top = sb.dockerish(["top", "busy"]).ok();
    let lines: Vec<&str> = top.lines().collect();
    assert!(
        lines[0].starts_with("UID")
            && lines[0].contains(" PID ")
            && lines[0].contains("CONTAINER PID"),
        "{top}"
    );
    assert_eq!(lines.len(), 3, "sh and sleep, not the ns-exec outside: {top}");
    assert!(lines.iter().any(|l| l.ends_with(" sleep 300")), "{top}");
    let sh = lines.iter().find(|l| l.ends_with("echo end")).expect("sh listed");
    let fields: Vec<&str> = sh.split_whitespace().collect();
    let init = field(&sb, "busy", "{{.State.Pid}}");
    assert_eq!(fields[1], init, "the host PID of the container's init: {top}");
    assert_eq!(fields[2], "1", "PID 1 inside: {top}");
    let custom = sb.dockerish(["top", "busy", "-o", "pid,comm"]).ok();
    assert!(custom.lines().skip(1).all(|l| l.contains("sh") || l.contains("sleep")), "{custom}");
    sb.dockerish(["top", "busy", "-o", "comm"]).fails(1, "no PID column");
    sb.dockerish(["top", "nosuch"]).fails(1, "No such container");
    let diff = sb.dockerish(["diff", "busy"]).ok();
    assert_eq!(
        diff, "A /a\nA /a/b\nC /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nC /tmp\nA /tmp/new\n",
        "no /etc/hosts placeholder, a whiteout as D"
    );
    sb.dockerish(["stop", "-t", "0", "busy"]).ok();
    sb.dockerish(["top", "busy"]).fails(1, "is not running");
    assert_eq!(sb.dockerish(["diff", "busy"]).ok(), diff, "a stopped container's too");
    sb.remove_all();
}

#[test]
fn cp_copies_both_ways_inside_the_containers_root_running_or_stopped() {
    let sb = Sandbox::new();
    let host = tempfile::tempdir().unwrap();
    let h = |p: &str| host.path().join(p).display().to_string();
    fs::write(host.path().join("f.txt"), "hello\n").unwrap();
    fs::create_dir(host.path().join("d")).unwrap();
    fs::write(host.path().join("d/x"), "x\n").unwrap();
    std::os::unix::fs::symlink("/etc", host.path().join("d/link")).unwrap();
    // The container's /esc points at its /etc: a copy through it must land
    // there, never in the host's /etc.
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "ln -s /etc /esc; echo mine > /etc/marker; chown 1234:55 /etc/marker; \
         cp /bin/busybox /suid; chmod 4755 /suid; echo ready; sleep 300",
    ])
    .ok();
    until("it is ready", || sb.dockerish(["logs", "c1"]).stdout.contains("ready"));
    let cat = |path: &str| sb.dockerish(["exec", "c1", "cat", path]).ok();
    // Host to container: a file into a directory, a directory as a new name.
    let out = sb.dockerish(["cp", &h("f.txt"), "c1:/tmp/"]);
    assert!(out.stderr.contains("Successfully copied"), "{out:?}");
    assert_eq!(cat("/tmp/f.txt"), "hello\n");
    sb.dockerish(["cp", &h("d"), "c1:/tmp/d2"]).ok();
    assert_eq!(cat("/tmp/d2/x"), "x\n");
    let link = sb.dockerish(["exec", "c1", "readlink", "/tmp/d2/link"]).ok();
    assert_eq!(link, "/etc\n", "a symlink is copied as one");
    sb.dockerish(["cp", &h("f.txt"), "c1:/esc/escaped"]).ok();
    assert_eq!(cat("/etc/escaped"), "hello\n", "resolved in the container's root");
    assert!(!Path::new("/etc/escaped").exists(), "the host's /etc untouched");
    // Container to host: a file, a symlink as a symlink, -L through it.
    sb.dockerish(["cp", "c1:/etc/marker", &h("marker")]).ok();
    assert_eq!(fs::read_to_string(host.path().join("marker")).unwrap(), "mine\n");
    let plain = fs::metadata(host.path().join("marker")).unwrap();
    assert_eq!((plain.uid(), plain.gid()), (0, 0), "owners not kept without -a");
    sb.dockerish(["cp", "-a", "c1:/etc/marker", &h("marker-a")]).ok();
    let kept = fs::metadata(host.path().join("marker-a")).unwrap();
    assert_eq!((kept.uid(), kept.gid()), (1234, 55), "-a keeps them");
    sb.dockerish(["cp", "c1:/suid", &h("suid")]).ok();
    let mode = fs::metadata(host.path().join("suid")).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o755, "no setuid file lands on the host without -a");
    sb.dockerish(["cp", "-a", "c1:/suid", &h("suid-a")]).ok();
    assert_eq!(fs::metadata(host.path().join("suid-a")).unwrap().mode() & 0o7777, 0o4755);
    // DIR/. into a new directory: its contents, in it.
    sb.dockerish(["cp", &format!("{}/.", h("d")), "c1:/new"]).ok();
    assert_eq!(cat("/new/x"), "x\n");
    sb.dockerish(["cp", "-L", "c1:/esc/.", &h("etc-contents")]).ok();
    assert!(host.path().join("etc-contents/marker").is_file());
    sb.dockerish(["cp", "c1:/esc", &h("esc")]).ok();
    assert_eq!(fs::read_link(host.path().join("esc")).unwrap(), Path::new("/etc"));
    // Into a directory where that name is a symlink (to the host's /etc!):
    // refused, not gone through.
    let into = format!("{}/", host.path().display());
    sb.dockerish(["cp", "-L", "c1:/esc", &into]).fails(1, "onto a symlink");
    assert!(host.path().join("esc").is_symlink() && !Path::new("/etc/marker").exists());
    sb.dockerish(["cp", "-L", "c1:/esc", &h("escL")]).ok();
    assert_eq!(
        fs::read_to_string(host.path().join("escL/marker")).unwrap(),
        "mine\n",
        "-L follows the link inside the container: its /etc, not the host's"
    );
    // Tar streams: out to stdout, in from stdin.
    // (Into a file, then tar: GNU tar may stop reading at the end-of-archive
    // blocks before cp has written all it sends, and cp then reports the
    // closed pipe; seen once under load.)
    let stream = host.path().join("d2.tar");
    host_sh(&format!("{} cp c1:/tmp/d2 - > {}", sb_dockerish(&sb), stream.display()));
    let tar = host_sh(&format!("tar -tf {}", stream.display()));
    let mut names: Vec<&str> = tar.lines().collect();
    names.sort();
    assert_eq!(names, ["d2/", "d2/link", "d2/x"]);
    // Zero blocks after the archive's end, sent late (GNU tar pads to its
    // record): read to the end, not a closed pipe failing the sender.
    host_sh(&format!(
        "{{ tar -C {} -c f.txt; sleep 0.3; head -c 65536 /dev/zero; }} | {} cp - c1:/tmp/d2",
        host.path().display(),
        sb_dockerish(&sb)
    ));
    assert_eq!(cat("/tmp/d2/f.txt"), "hello\n");
    // A stopped container, both ways; its temporary mounts gone after.
    sb.dockerish(["stop", "-t", "0", "c1"]).ok();
    sb.dockerish(["cp", &h("f.txt"), "c1:/stopped.txt"]).ok();
    sb.dockerish(["cp", "c1:/etc/escaped", &h("from-stopped")]).ok();
    assert_eq!(fs::read_to_string(host.path().join("from-stopped")).unwrap(), "hello\n");
    let containers = sb.root().join("containers").display().to_string();
    let mounts = fs::read_to_string("/proc/1/mountinfo").unwrap();
    assert!(!mounts.contains(&containers), "the copy's overlay mount went with it: {mounts}");
    sb.dockerish(["start", "c1"]).ok();
    assert_eq!(cat("/stopped.txt"), "hello\n");
    // In a user namespace the copy is its root's: owned by 0 inside.
    sb.dockerish(["run", "-d", "--name", "u1", "--userns", "auto", "busybox", "sleep", "300"]).ok();
    sb.dockerish(["cp", &h("f.txt"), "u1:/tmp/"]).ok();
    let owners = sb.dockerish(["exec", "u1", "stat", "-c", "%u:%g", "/tmp/f.txt"]).ok();
    assert_eq!(owners, "0:0\n");
    sb.dockerish(["stop", "-t", "0", "u1"]).ok();
    sb.dockerish(["cp", &h("f.txt"), "u1:/"]).fails(1, "start it to copy");
    // Bad input: Docker's errors, nothing written.
    sb.dockerish(["cp", "c1:/nope", &h("nope")]).fails(1, "Could not find the file /nope");
    sb.dockerish(["cp", "c1:/tmp/d2", &h("f.txt")]).fails(1, "cannot copy a directory to a file");
    sb.dockerish(["cp", "c1:/etc/marker", &h("no/such/dir")]).fails(1, "no such directory");
    sb.dockerish(["cp", &h("nothere"), "c1:/"]).fails(1, "nothere");
    sb.dockerish(["cp", "a", "b"]).fails(1, "at least one container");
    sb.dockerish(["cp", "c1:/a", "c1:/b"]).fails(1, "between containers");
    sb.dockerish(["cp", &h("f.txt"), "nosuch:/"]).fails(1, "No such container");
    assert!(!host.path().join("nope").exists() && !host.path().join("no").exists());
    assert_eq!(fs::read_to_string(host.path().join("f.txt")).unwrap(), "hello\n");
    sb.remove_all();
}

/// A shell pipeline on the host; its stdout.
fn host_sh(script: &str) -> String {
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c").arg(format!("set -o pipefail; {script}"));
    dockerish_tests::outcome(cmd).ok()
}

/// The dockerish command line of the sandbox, for a shell pipeline.
fn sb_dockerish(sb: &Sandbox) -> String {
    format!("{} --root {}", dockerish_tests::bin("dockerish").display(), sb.root().display())
}

#[test]
fn update_changes_a_running_containers_cgroup_and_its_record() {
    let sb = Sandbox::new();
    let cg = sb.cgroup_parent();
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "up",
        "--cgroup-parent",
        &cg,
        "-m",
        "64m",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    let pid = field(&sb, "up", "{{.State.Pid}}");
    let stats = || -> serde_json::Value {
        let out = dockerish_tests::tool("cgctl", ["stats", "--pid", &pid]).ok();
        serde_json::from_str(&out).unwrap()
    };
    assert_eq!(stats()["memory"]["max"], 64 << 20);
    sb.dockerish([
        "update",
        "--memory",
        "128m",
        "--pids-limit",
        "20",
        "--restart",
        "on-failure:3",
        "up",
    ])
    .ok();
    assert_eq!(stats()["memory"]["max"], 128 << 20, "at once, in the running cgroup");
    assert_eq!(stats()["pids"]["max"], 20);
    assert_eq!(
        field(&sb, "up", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}"),
        "134217728 20"
    );
    assert_eq!(field(&sb, "up", "{{.HostConfig.RestartPolicy.Name}}"), "on-failure");
    // Swap alone, against the memory limit it has; a memory above it refused.
    sb.dockerish(["update", "--memory-swap", "256m", "up"]).ok();
    sb.dockerish(["update", "--memory", "512m", "up"]).fails(1, "--memory-swap");
    assert_eq!(field(&sb, "up", "{{.HostConfig.MemorySwap}}"), "268435456");
    // Kept for the next start.
    sb.dockerish(["restart", "-t", "0", "up"]).ok();
    let pid = field(&sb, "up", "{{.State.Pid}}");
    let out = dockerish_tests::tool("cgctl", ["stats", "--pid", &pid]).ok();
    assert!(out.contains("134217728"), "{out}");
    // Bad input changes nothing.
    sb.dockerish(["update", "up"]).fails(1, "at least one limit");
    sb.dockerish(["update", "-m", "1m", "up"]).fails(1, "Minimum memory limit");
    sb.dockerish(["update", "--restart", "twice", "up"]).fails(125, "--restart");
    sb.dockerish(["update", "-m", "100m", "nosuch"]).fails(1, "No such container");
    assert_eq!(field(&sb, "up", "{{.HostConfig.Memory}}"), "134217728");
    sb.remove_all();
}

#[test]
fn events_tell_what_the_tools_did_filtered_and_followed() {
    let sb = Sandbox::new();
    let since = (tool_cli::human::now() - 1).to_string();
    // A follower started first sees what comes after it.
    let mut follow = sb.command("dockerish");
    follow.args([
        "events",
        "--since",
        &since,
        "--filter",
        "event=destroy",
        "--format",
        "{{.Actor.Attributes.name}}",
    ]);
    let mut follower = follow.stdout(std::process::Stdio::piped()).spawn().unwrap();
    sb.dockerish(["run", "-d", "--name", "ev1", "busybox", "sleep", "300"]).ok();
    sb.dockerish(["pause", "ev1"]).ok();
    sb.dockerish(["unpause", "ev1"]).ok();
    sb.dockerish(["exec", "ev1", "true"]).ok();
    sb.dockerish(["rename", "ev1", "ev2"]).ok();
    sb.dockerish(["stop", "-t", "0", "ev2"]).ok();
    sb.dockerish(["rm", "ev2"]).ok();
    sb.dockerish(["tag", "busybox", "evbox"]).ok();
    sb.dockerish(["rmi", "evbox"]).ok();
    sb.dockerish(["network", "create", "evnet"]).ok();
    sb.dockerish(["network", "rm", "evnet"]).ok();
    let until = (tool_cli::human::now() + 1).to_string();
    let window = ["events", "--since", &since, "--until", &until];
    let actions = |extra: &[&str]| -> Vec<String> {
        let mut argv = window.to_vec();
        argv.extend(extra);
        argv.extend(["--format", "{{.Type}} {{.Action}}"]);
        sb.dockerish(&argv).ok().lines().map(String::from).collect()
    };
    let containers = actions(&["--filter", "type=container"]);
    assert_eq!(
        containers,
        [
            "container create",
            "container start",
            "container pause",
            "container unpause",
            "container exec_start: true",
            "container rename",
            "container die",
            "container stop",
            "container destroy"
        ]
    );
    let others = actions(&["--filter", "type=image", "--filter", "type=network"]);
    // (The busybox image is imported on first use: `image import` first.)
    assert!(others.contains(&"network connect".to_string()), "{others:?}");
    assert!(
        others.ends_with(&[
            "image tag".into(),
            "image untag".into(),
            "network create".into(),
            "network destroy".into()
        ]),
        "{others:?}"
    );
    let died =
        sb.dockerish([&window[..], &["--filter", "event=die", "--format", "json"]].concat()).ok();
    let event: serde_json::Value = serde_json::from_str(died.trim()).unwrap();
    assert_eq!(event["Actor"]["Attributes"]["exitCode"], "137");
    assert_eq!(event["Actor"]["Attributes"]["name"], "ev2", "the name it had then");
    assert_eq!(
        actions(&["--filter", "container=ev2", "--filter", "event=rename"]),
        ["container rename"]
    );
    assert_eq!(actions(&["--filter", "event=exec_start"]), ["container exec_start: true"]);
    let table = sb.dockerish([&window[..], &["--filter", "event=create"]].concat()).ok();
    assert!(
        table.contains(" container create ") && table.contains("(image=busybox, name=ev1)"),
        "{table}"
    );
    // The follower saw the destroy, as it happened.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(follower.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ev2\n");
    follower.kill().unwrap();
    follower.wait().unwrap();
    sb.dockerish(["events", "--until", "0", "--filter", "colour=red"]).fails(1, "the filters are");
    sb.dockerish(["events", "--until", "0", "--filter", "type=pod"]).fails(1, "type is one of");
    sb.dockerish(["events", "--since", "soon", "--until", "0"]).fails(1, "--since");
    sb.remove_all();
}

#[test]
fn named_volumes_outlive_containers_and_system_df_and_prune_account_for_everything() {
    let sb = Sandbox::new();
    assert_eq!(sb.dockerish(["volume", "create", "data1"]).ok(), "data1\n");
    sb.dockerish([
        "run",
        "--rm",
        "-v",
        "data1:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ])
    .ok();
    let read = sb.dockerish(["run", "--rm", "-v", "data1:/data:ro", "busybox", "cat", "/data/f"]);
    assert_eq!(read.ok(), "kept\n", "a named volume outlives --rm");
    // Made on first use; anonymous ones listed too, by their IDs.
    sb.dockerish([
        "run", "-d", "--name", "user", "-v", "data2:/d", "-v", "/anon", "busybox", "sleep", "300",
    ])
    .ok();
    let names = sb.dockerish(["volume", "ls", "-q"]).ok();
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"data1") && names.contains(&"data2"));
    let listed = sb.dockerish(["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]).ok();
    assert!(listed.contains("data2 local\n"), "{listed}");
    let inspect: serde_json::Value =
        serde_json::from_str(&sb.dockerish(["volume", "inspect", "data2"]).ok()).unwrap();
    let mountpoint = inspect[0]["Mountpoint"].as_str().unwrap().to_string();
    assert!(mountpoint.ends_with("volumes/data2/_data"), "{mountpoint}");
    let mounts = field(&sb, "user", "{{json .Mounts}}");
    assert!(
        mounts.contains(r#""Name":"data2""#) && mounts.contains(r#""Type":"volume""#),
        "{mounts}"
    );
    sb.dockerish(["volume", "rm", "data2"]).fails(1, "volume is in use - [user]");
    sb.dockerish(["volume", "rm", "nosuch"]).fails(1, "no such volume");
    sb.dockerish(["volume", "create", "bad name"]).fails(1, "volume name");
    sb.dockerish(["run", "--rm", "-v", "bad name:/x", "busybox", "true"]).fails(125, "volume name");
    // df: one image, a running container, three volumes (two in use).
    let df =
        sb.dockerish(["system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}"]).ok();
    assert_eq!(df, "Images=1/1\nContainers=1/1\nLocal Volumes=3/2\nBuild Cache=0/0\n");
    sb.dockerish(["rm", "-f", "user"]).ok();
    sb.dockerish([
        "run",
        "--name",
        "stopped",
        "busybox",
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /f",
    ])
    .ok();
    let table = sb.dockerish(["system", "df"]).ok();
    let containers = table.lines().find(|l| l.starts_with("Containers")).unwrap();
    assert!(
        containers.contains("100kB (100%)"),
        "a stopped container's layer is reclaimable: {table}"
    );
    // Prune: containers, dangling then all images, anonymous volumes; named ones stay.
    let pruned = sb.dockerish(["system", "prune", "-a", "--volumes", "-f"]).ok();
    assert!(
        pruned.contains("Deleted Containers:") && pruned.contains("Deleted Volumes:"),
        "{pruned}"
    );
    assert!(sb.dockerish(["ps", "-aq"]).ok().is_empty());
    assert!(sb.dockerish(["images", "-q"]).ok().is_empty());
    assert_eq!(sb.dockerish(["volume", "ls", "-q"]).ok(), "data1\ndata2\n");
    sb.dockerish(["volume", "prune", "-a", "-f"]).ok();
    assert_eq!(sb.dockerish(["volume", "ls", "-q"]).ok(), "");
    // Without -f nothing goes unless the answer is yes.
    sb.dockerish(["volume", "create", "keep"]).ok();
    let mut cmd = sb.command("dockerish");
    cmd.args(["system", "prune", "--volumes"]);
    let out = dockerish_tests::outcome(cmd);
    assert!(out.stdout.contains("Are you sure"), "{out:?}");
    assert_eq!(sb.dockerish(["volume", "ls", "-q"]).ok(), "keep\n");
    sb.remove_all();
}

#[test]
fn attach_joins_a_detached_containers_output_and_input_and_detaches_with_the_keys() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let sb = Sandbox::new();
    // Output, both streams, and the container's exit status.
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "talk",
        "busybox",
        "sh",
        "-c",
        "until [ -e /go ]; do echo tick; sleep 0.1; done; echo out; echo err >&2; exit 3",
    ])
    .ok();
    // Attached once a tick arrives; then the container is let go on.
    let mut cmd = sb.command("dockerish");
    cmd.args(["attach", "talk"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut client = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(client.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "tick\n");
    sb.dockerish(["exec", "talk", "touch", "/go"]).ok();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut client.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = client.wait().unwrap();
    assert!(rest.ends_with("tick\nout\n") || rest == "out\n", "{rest:?}");
    assert_eq!((status.code(), stderr.as_str()), (Some(3), "err\n"), "both streams, its status");
    sb.dockerish(["attach", "talk"]).fails(1, "start it first");
    // Input with -i, then ^P^Q: the client leaves, the container stays.
    let attach = |name: &str, keys: Option<&str>| {
        let mut cmd = sb.command("dockerish");
        cmd.arg("attach");
        if let Some(keys) = keys {
            cmd.args(["--detach-keys", keys]);
        }
        cmd.arg(name).stdin(Stdio::piped()).stdout(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let wait_for = |child: &mut std::process::Child, text: &str| {
        let mut lines = BufReader::new(child.stdout.as_mut().unwrap());
        let mut line = String::new();
        while !line.contains(text) {
            line.clear();
            assert!(lines.read_line(&mut line).unwrap() > 0, "output ended before {text:?}");
        }
    };
    sb.dockerish([
        "run",
        "-d",
        "-i",
        "--name",
        "echo",
        "busybox",
        "sh",
        "-c",
        "while read l; do echo got $l; done",
    ])
    .ok();
    let mut client = attach("echo", None);
    client.stdin.as_mut().unwrap().write_all(b"hello\n").unwrap();
    wait_for(&mut client, "got hello");
    client.stdin.as_mut().unwrap().write_all(b"\x10\x11").unwrap();
    assert!(client.wait().unwrap().success(), "a detach exits 0");
    assert_eq!(field(&sb, "echo", "{{.State.Status}}"), "running");
    // With -t, through the container's terminal; other keys.
    sb.dockerish(["run", "-d", "-it", "--name", "term", "busybox", "sh"]).ok();
    let mut client = attach("term", Some("ctrl-x,x"));
    client.stdin.as_mut().unwrap().write_all(b"echo hi-$((1+1))\n").unwrap();
    wait_for(&mut client, "hi-2");
    client.stdin.as_mut().unwrap().write_all(b"\x18x").unwrap();
    assert!(client.wait().unwrap().success());
    assert_eq!(field(&sb, "term", "{{.State.Status}}"), "running");
    sb.dockerish(["attach", "--detach-keys", "meta-q", "term"]).fails(1, "--detach-keys");
    sb.dockerish(["attach", "nosuch"]).fails(1, "No such container");
    sb.remove_all();
}

#[test]
fn version_and_info_describe_the_tools_and_this_host() {
    let sb = Sandbox::new();
    let version: serde_json::Value =
        serde_json::from_str(&sb.dockerish(["version", "--format", "json"]).ok()).unwrap();
    let ours = env!("CARGO_PKG_VERSION");
    assert_eq!(version["Client"]["Version"], ours);
    let components = version["Server"]["Components"].as_array().unwrap();
    let names: Vec<&str> = components.iter().map(|c| c["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ns-exec", "cgctl", "rootfs", "netctl", "imgtool", "dockerish-supervisor"]);
    assert!(components.iter().all(|c| c["Version"] == ours), "{components:?}");
    assert_eq!(sb.dockerish(["version", "-f", "{{.Client.Version}}"]).ok(), format!("{ours}\n"));
    assert!(sb.dockerish(["version"]).ok().contains("Server: dockerish tools (no daemon)"));
    sb.dockerish(["run", "-d", "--name", "one", "busybox", "sleep", "300"]).ok();
    sb.dockerish(["run", "--name", "two", "busybox", "true"]).ok();
    let info: serde_json::Value =
        serde_json::from_str(&sb.dockerish(["info", "--format", "json"]).ok()).unwrap();
    assert_eq!(
        (
            &info["Containers"],
            &info["ContainersRunning"],
            &info["ContainersStopped"],
            &info["Images"]
        ),
        (&2.into(), &1.into(), &1.into(), &1.into())
    );
    // This host's cgroups, as cgctl sees them.
    let layout: serde_json::Value =
        serde_json::from_str(&dockerish_tests::tool("cgctl", ["info"]).ok()).unwrap();
    let v2 = layout["kind"] == "unified";
    assert_eq!(info["CgroupVersion"], if v2 { "2" } else { "1" });
    assert_eq!(info["CgroupLayout"], layout["kind"]);
    assert_eq!(info["DockerRootDir"], sb.root().display().to_string());
    let uname = nix::sys::utsname::uname().unwrap();
    assert_eq!(info["KernelVersion"], uname.release().to_string_lossy().as_ref());
    assert!(info["Network"]["table"].as_str().unwrap().starts_with("dockerish_"), "{info}");
    assert!(info["DefaultCapabilities"].as_array().unwrap().iter().any(|c| c == "CAP_CHOWN"));
    let text = sb.dockerish(["system", "info"]).ok();
    for line in
        ["Containers: 2", " Running: 1", "Images: 1", "Storage Driver: overlay", "Cgroup Version: "]
    {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert_eq!(sb.dockerish(["info", "-f", "{{.ContainersRunning}}"]).ok(), "1\n");
    sb.dockerish(["info", "-f", "{{.Nope}}"]).fails(1, "no field \"Nope\"");
    sb.remove_all();
}
