//! `ns-exec` alone: creating, keeping and joining namespaces, user
//! namespaces without privileges, exit statuses.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use dockerish_tests::{bin, outcome, public_copy, tool, Sandbox};

fn ns_link(pid: &str, kind: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap().display().to_string()
}

#[test]
fn each_flag_creates_its_namespace() {
    let _sb = Sandbox::new();
    for kind in ["uts", "ipc", "net", "mnt", "cgroup", "pid"] {
        let flag = match kind {
            "mnt" => "--mount".to_string(),
            other => format!("--{other}"),
        };
        // A new pid namespace is for the children: look at the command's own.
        let inside =
            tool("ns-exec", [flag.as_str(), "--", "readlink", &format!("/proc/self/ns/{kind}")])
                .ok();
        assert_ne!(inside.trim(), ns_link("self", kind), "{kind}: no new namespace");
        // And the others stay the host's.
        let other = if kind == "uts" { "ipc" } else { "uts" };
        let same =
            tool("ns-exec", [flag.as_str(), "--", "readlink", &format!("/proc/self/ns/{other}")])
                .ok();
        assert_eq!(same.trim(), ns_link("self", other), "{flag} changed {other}");
    }
}

#[test]
fn pid_1_with_its_own_proc_hostname_and_loopback() {
    let _sb = Sandbox::new();
    let out = tool(
        "ns-exec",
        [
            "--pid",
            "--mount-proc",
            "--uts",
            "--hostname",
            "nsbox",
            "--net",
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            "echo $$; hostname; ls /proc | grep -c '^[0-9]'; /bin/busybox ip -o link | cut -d: -f2",
        ],
    )
    .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    assert_eq!(lines[1], "nsbox");
    let processes: u32 = lines[2].parse().unwrap();
    assert!(processes <= 3, "the new /proc shows only the namespace's processes, not {processes}");
    assert_eq!(&lines[3..], [" lo"], "a new network namespace has only loopback");
    assert!(out.contains("lo"));
    let up = tool("ns-exec", ["--net", "--", "/bin/busybox", "ip", "link", "show", "lo"]).ok();
    assert!(up.contains(",UP"), "lo is brought up: {up}");
}

#[test]
fn exit_statuses_pass_through() {
    let sb = Sandbox::new();
    assert_eq!(tool("ns-exec", ["--uts", "--", "sh", "-c", "exit 3"]).code, 3);
    assert_eq!(tool("ns-exec", ["--uts", "--", "sh", "-c", "kill -9 $$"]).code, 137);
    let pidfile = sb.root().join("pid");
    let missing = tool(
        "ns-exec",
        [
            "--pid".as_ref(),
            "--pidfile".as_ref(),
            pidfile.as_os_str(),
            "--".as_ref(),
            "/no/such/cmd".as_ref(),
        ],
    );
    missing.fails(127, "/no/such/cmd");
    assert!(!pidfile.exists(), "a pidfile was written for a command that never ran");
    let data = sb.root().join("data");
    fs::write(&data, "not a program").unwrap();
    tool("ns-exec", ["--uts".as_ref(), "--".as_ref(), data.as_os_str()])
        .fails(126, "Permission denied");
    tool("ns-exec", ["--uts", "--", "no-such-command-anywhere"])
        .fails(127, "No such file or directory");
    tool("ns-exec", ["--hostname", "x", "--", "true"]).fails(125, "--uts");
    tool("ns-exec", ["--uid-map", "0:zero:1", "--user", "--", "true"]).fails(125, "uid-map");
}

#[test]
fn a_kept_namespace_can_be_joined_by_path() {
    let sb = Sandbox::new();
    let file = sb.root().join("netns");
    let keep = format!("net={}", file.display());
    tool("ns-exec", ["--net", "--keep", &keep, "--", "true"]).ok();
    let kept = fs::metadata(&file).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap();
    let join = format!("--net={}", file.display());
    let inside = tool("ns-exec", [join.as_str(), "--", "readlink", "/proc/self/ns/net"]).ok();
    assert_eq!(inside.trim(), format!("net:[{kept}]"));
    nix::mount::umount(&file).unwrap();
    fs::remove_file(&file).unwrap();
    // Keeping a namespace that was not created is refused, and nothing is left.
    tool("ns-exec", ["--uts", "--keep", &keep, "--", "true"]).fails(125, "net");
    assert!(!file.exists());
}

#[test]
fn join_mode_enters_a_running_process_namespaces() {
    let sb = Sandbox::new();
    let pidfile = sb.root().join("pid");
    let mut target = Command::new(bin("ns-exec"));
    target
        .args(["--pid", "--mount-proc", "--uts", "--hostname", "target", "--ipc", "--pidfile"])
        .arg(&pidfile)
        .args(["--", "sleep", "30"]);
    let mut target = target.stdout(Stdio::null()).spawn().unwrap();
    dockerish_tests::until("the pidfile is written", || pidfile.exists());
    let pid = fs::read_to_string(&pidfile).unwrap().trim().to_string();
    let out = tool(
        "ns-exec",
        [
            "--target",
            &pid,
            "--all",
            "--",
            "sh",
            "-c",
            "hostname; echo $$; readlink /proc/self/ns/pid /proc/self/ns/ipc; ls /proc | grep -c '^[0-9]'",
        ],
    );
    let _ = target.kill();
    let _ = target.wait();
    let out = out.ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "target");
    assert_ne!(lines[1], "1", "the joiner forks into the pid namespace; PID 1 is taken");
    assert_eq!(lines[2], ns_link(&pid, "pid"));
    assert_eq!(lines[3], ns_link(&pid, "ipc"));
    assert!(lines[4].parse::<u32>().unwrap() <= 4, "the target's /proc, not the host's");
    tool("ns-exec", ["--target", "999999999", "--all", "--", "true"]).fails(125, "999999999");
}

#[test]
fn init_forwards_signals_to_the_command_and_its_parent_stays_small() {
    let _sb = Sandbox::new();
    let mut cmd = Command::new(bin("ns-exec"));
    cmd.args([
        "--pid",
        "--init",
        "--",
        "sh",
        "-c",
        "trap 'echo got TERM; exit 5' TERM; echo ready; sleep 20 & wait",
    ]);
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    // Once the command has run a second, ns-exec (which stays as long as
    // its command does) has let its start-up pages go, and still forwards.
    let rss = || {
        let rollup = fs::read_to_string(format!("/proc/{}/smaps_rollup", child.id())).unwrap();
        let kib = rollup.lines().find_map(|l| l.strip_prefix("Rss:")).unwrap();
        kib.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap()
    };
    let starting = rss();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let settled = rss();
    // (A release build: 2.9 MiB, then 0.8; this debug build about 5, then 2.3.)
    assert!(settled * 3 < starting * 2, "ns-exec kept {settled} of {starting} KiB resident");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(5));
    assert_eq!(rest, "got TERM\n");
}

#[test]
fn user_namespaces_work_without_privileges() {
    let _sb = Sandbox::new();
    let public = dockerish_tests::public_scratch();
    let ns_exec = public_copy("ns-exec", public.path());
    let nobody = |args: &[&str]| {
        let mut cmd = Command::new(&ns_exec);
        cmd.args(args).uid(65534).gid(65534); // std drops supplementary groups too
        outcome(cmd)
    };
    assert_eq!(nobody(&["--", "id", "-u"]).ok(), "65534\n", "the test really runs unprivileged");
    assert_eq!(nobody(&["--user", "--map-root-user", "--", "id", "-u"]).ok(), "0\n");
    assert_eq!(
        nobody(&[
            "--user",
            "--uid-map",
            "0:65534:1",
            "--gid-map",
            "0:65534:1",
            "--",
            "sh",
            "-c",
            "cat /proc/self/uid_map; id -g"
        ])
        .ok()
        .split_whitespace()
        .collect::<Vec<_>>(),
        ["0", "65534", "1", "0"]
    );
    let out = nobody(&[
        "--user",
        "--map-root-user",
        "--pid",
        "--mount-proc",
        "--uts",
        "--hostname",
        "mine",
        "--",
        "sh",
        "-c",
        "echo $$; hostname",
    ])
    .ok();
    assert_eq!(out, "1\nmine\n");
    // Without --user, unprivileged namespaces are refused with a clear error.
    nobody(&["--uts", "--", "true"]).fails(125, "Operation not permitted");
}
