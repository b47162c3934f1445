//! The defaults that keep a container's root from being the host's root:
//! capabilities, the seccomp filter, no_new_privs, nodev, /proc's masks —
//! each escape of the probe tried from inside a default container (and
//! seen to fail), then under `--privileged` (and seen to work, so the test
//! can tell that the defence and not something else stopped it).

use std::fs;

use dockerish_tests::{c_program, Sandbox};

/// `dockerish run --rm --network none [extra] busybox sh -c script`, with
/// the `escape` fixture at /escape and `vol` at /vol.
fn contained(sb: &Sandbox, extra: &[&str], script: &str) -> String {
    let escape = format!("{}:/escape:ro", c_program("escape").display());
    let vol = format!("{}:/vol", sb.root().join("vol").display());
    let mut args = vec!["run", "--rm", "--network", "none", "-v", &escape, "-v", &vol];
    args.extend(extra);
    args.extend(["busybox", "sh", "-c", script]);
    sb.dockerish(args).ok()
}

/// The value of `field` in a /proc/self/status text.
fn status(text: &str, field: &str) -> String {
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:")));
    line.unwrap_or_else(|| panic!("no {field} in {text}")).split_whitespace().nth(1).unwrap().into()
}

/// Podman's eleven (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
/// SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP) and NET_RAW.
const DEFAULT_SET: &str = "00000000800425fb";

fn volume_dir(sb: &Sandbox) {
    let vol = sb.root().join("vol");
    fs::create_dir_all(&vol).unwrap();
    fs::write(vol.join("f"), "a file of the volume\n").unwrap();
}

#[test]
fn a_default_container_keeps_twelve_capabilities_and_a_seccomp_filter_and_so_does_exec() {
    let sb = Sandbox::on_host();
    volume_dir(&sb);
    let text = contained(&sb, &[], "cat /proc/self/status");
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status(&text, set), DEFAULT_SET, "{set}");
    }
    // Nothing for programs with inheritable file capabilities (CVE-2022-24769).
    assert_eq!(status(&text, "CapInh"), "0000000000000000");
    assert_eq!(status(&text, "CapAmb"), "0000000000000000");
    assert_eq!(status(&text, "Seccomp"), "2", "a filter is loaded");
    assert_eq!(status(&text, "NoNewPrivs"), "0");
    // An exec'd process gets the same, never ns-exec's full set.
    sb.dockerish(["run", "-d", "--name", "held", "--network", "none", "busybox", "sleep", "60"])
        .ok();
    let exec = sb.dockerish(["exec", "held", "cat", "/proc/self/status"]).ok();
    assert_eq!(status(&exec, "CapEff"), DEFAULT_SET);
    assert_eq!(status(&exec, "CapBnd"), DEFAULT_SET);
    assert_eq!(status(&exec, "Seccomp"), "2");
    // Another user than root has no capabilities at all, as in Docker.
    let nobody = sb.dockerish(["exec", "-u", "nobody", "held", "cat", "/proc/self/status"]).ok();
    assert_eq!(status(&nobody, "CapEff"), "0000000000000000");
    assert_eq!(status(&nobody, "CapPrm"), "0000000000000000");
    let shown = sb.dockerish(["inspect", "-f", "{{json .HostConfig}}", "held"]).ok();
    let host_config: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(host_config["SecurityOpt"], serde_json::json!(["seccomp=default"]));
    assert_eq!(host_config["Capabilities"].as_array().map(Vec::len), Some(12), "{shown}");
    assert_eq!(host_config["Privileged"], false);
    sb.dockerish(["rm", "-f", "held"]).ok();
    // The flags: drop all, add one; no-new-privileges; run -u.
    let one = contained(&sb, &["--cap-drop", "ALL", "--cap-add", "chown"], "cat /proc/self/status");
    assert_eq!(status(&one, "CapEff"), "0000000000000001");
    let nnp = contained(&sb, &["--security-opt", "no-new-privileges"], "cat /proc/self/status");
    assert_eq!(status(&nnp, "NoNewPrivs"), "1");
    // A setuid-root program run by nobody: root without no_new_privs, nobody with it.
    let setuid =
        "cp /escape /tmp/suid && chmod 4755 /tmp/suid && su nobody -s /bin/sh -c '/tmp/suid euid'";
    assert_eq!(contained(&sb, &[], setuid), "euid 0\n", "setuid works by default");
    let nnp = contained(&sb, &["--security-opt", "no-new-privileges"], setuid);
    assert_eq!(nnp, "euid 65534\n", "no_new_privs: the setuid bit grants nothing");
    assert_eq!(contained(&sb, &["-u", "nobody"], "id -u"), "65534\n");
    let privileged = contained(&sb, &["--privileged"], "cat /proc/self/status");
    assert_eq!(status(&privileged, "Seccomp"), "0");
    assert!(
        u64::from_str_radix(&status(&privileged, "CapEff"), 16).unwrap().count_ones() > 30,
        "{privileged}"
    );
}

#[test]
fn the_probes_escapes_fail_by_default_and_work_only_privileged() {
    let sb = Sandbox::on_host();
    volume_dir(&sb);
    // A device node (/dev/null's 1:3 under another name) in a volume.
    let node = sb.root().join("vol/null-copy");
    nix::sys::stat::mknod(
        &node,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    let script = "/escape shocker /vol/f; /escape keyctl; /escape userns; /escape mknod /tmp/n; \
        /escape open /vol/null-copy; \
        mount -o remount,rw /proc/sys 2>/dev/null && echo remount: ok; \
        (exec 3>>/proc/sys/kernel/core_pattern) 2>/dev/null && echo core_pattern: writable; \
        mount -t tmpfs none /tmp 2>/dev/null && echo tmpfs: ok; \
        mount -t cgroup -o devices none /mnt 2>/dev/null && echo cgroup: ok; \
        head -1 /proc/kallsyms | cut -c1-16; true";
    let default = contained(&sb, &[], script);
    for refused in [
        "open_by_handle_at: EPERM",
        "keyctl: EPERM",
        "unshare(CLONE_NEWUSER): EPERM",
        "mknod: EPERM",
        "open: EACCES", // nodev: the node is there, the kernel will not open it
        "0000000000000000",
    ] {
        assert!(default.contains(refused), "expected {refused:?} in:\n{default}");
    }
    for escaped in ["remount: ok", "core_pattern: writable", "tmpfs: ok", "cgroup: ok"] {
        assert!(!default.contains(escaped), "{escaped:?} in a default container:\n{default}");
    }
    // Each defence, and not something else, stopped it: privileged, it works.
    // (core_pattern is only opened for appending, never written.)
    let privileged = contained(&sb, &["--privileged"], script);
    for escaped in [
        "open_by_handle_at: ok",
        "keyctl: ok",
        "unshare(CLONE_NEWUSER): ok",
        "mknod: ok",
        "core_pattern: writable",
        "tmpfs: ok",
    ] {
        assert!(privileged.contains(escaped), "expected {escaped:?} in:\n{privileged}");
    }
    // Two controls depend on the host as much as on us: a node opens only
    // where the host's own filesystem allows devices (the v2 VM's /tmp is
    // nodev), and kallsyms shows addresses only where the host's root sees
    // them (kptr_restrict). Where the host allows it, privileged must too.
    let vol = nix::sys::statvfs::statvfs(&sb.root().join("vol")).unwrap();
    if !vol.flags().contains(nix::sys::statvfs::FsFlags::ST_NODEV) {
        assert!(privileged.contains("open: ok"), "{privileged}");
    }
    let mut host = [0u8; 16];
    std::io::Read::read_exact(&mut fs::File::open("/proc/kallsyms").unwrap(), &mut host).unwrap();
    if &host != b"0000000000000000" {
        assert!(!privileged.contains("0000000000000000"), "kallsyms addresses: {privileged}");
    }
}

#[test]
fn ordinary_programs_work_profiles_load_and_bad_flags_change_nothing() {
    let sb = Sandbox::on_host();
    volume_dir(&sb);
    let script = "httpd -p 80 && echo bound; touch /tmp/f && chown 33:33 /tmp/f && echo chowned; \
        su nobody -s /bin/sh -c 'id -u'; ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1 && echo pinged; true";
    let out = contained(&sb, &[], script);
    assert!(out.contains("bound") && out.contains("chowned") && out.contains("65534"), "{out}");
    assert!(out.contains("pinged"), "ping has NET_RAW: {out}");
    let raw = contained(&sb, &["--cap-drop", "NET_RAW"], script);
    assert!(!raw.contains("pinged") && raw.contains("bound"), "no raw sockets: {raw}");
    // A Docker-format profile of the user's: it denies what it lists.
    let profile = sb.root().join("no-mkdir.json");
    fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let denied = contained(
        &sb,
        &["--security-opt", &opt],
        "mkdir /tmp/d 2>&1; touch /tmp/t && echo touched",
    );
    assert!(denied.contains("Permission denied") && denied.contains("touched"), "{denied}");
    // Podman's own default profile (Debian's containers-common) loads as is.
    let podman = "seccomp=/usr/share/containers/seccomp.json";
    let out = contained(&sb, &["--security-opt", podman], "grep Seccomp: /proc/self/status");
    assert!(out.contains('2'), "{out}");
    // Refused before anything is made.
    let vol = format!("{}:/proc", sb.root().join("vol").display());
    for (args, needle) in [
        (vec!["--cap-add", "CAP_NOPE"], "not a capability"),
        (vec!["--security-opt", "seccomp=/no/such.json"], "cannot read it"),
        (vec!["--security-opt", "apparmor=x"], "supported: no-new-privileges"),
        (vec!["-v", vol.as_str()], "cannot mount over /proc"),
    ] {
        let mut run = vec!["run", "--rm", "--network", "none"];
        run.extend(args);
        run.extend(["busybox", "true"]);
        sb.dockerish(run).fails(125, needle);
    }
    assert_eq!(sb.dockerish(["ps", "-aq"]).ok(), "", "nothing recorded");
}

#[test]
fn only_the_given_devices_open_on_v1_and_v2_and_limits_sysctls_groups_apply() {
    let sb = Sandbox::on_host();
    volume_dir(&sb);
    // With MKNOD a process may make any node, but the device cgroup lets
    // only /dev's own numbers be opened: the kernel log (1:11) and a loop
    // device (7:0) are refused, a second name for /dev/null (1:3) works.
    let nodes = "mknod /dev/k c 1 11 && echo '<7>dockerish test' > /dev/k && echo kmsg-written; \
        mknod /dev/b b 7 0 && dd if=/dev/b of=/dev/null count=1 2>&1; \
        mknod /dev/n2 c 1 3 && echo x > /dev/n2 && echo n2-written; \
        head -c 4 /dev/urandom | wc -c; echo > /dev/tty 2>&1 | head -1; true";
    let default = contained(&sb, &["--cap-add", "MKNOD"], nodes);
    assert!(!default.contains("kmsg-written") && default.contains("n2-written"), "{default}");
    assert!(default.contains("can't open '/dev/b': Operation not permitted"), "{default}");
    assert!(default.contains("4\n"), "urandom reads: {default}");
    // --privileged: no list at all.
    let privileged = contained(&sb, &["--privileged"], nodes);
    assert!(privileged.contains("kmsg-written"), "{privileged}");
    // --device: the host's node, in /dev, with only the access given.
    let given = contained(
        &sb,
        &["--device", "/dev/kmsg:/dev/log/k:w"],
        "ls -l /dev/log/k; echo '<7>dockerish test' > /dev/log/k && echo written; \
         dd if=/dev/log/k of=/dev/null count=1 2>&1; true",
    );
    assert!(given.contains("1,  11") && given.contains("written"), "{given}");
    assert!(given.contains("Operation not permitted"), "read was not given: {given}");

    // --ulimit: soft and hard, for exec too; above our hard limit with no
    // CAP_SYS_RESOURCE (this machine's case): refused with both numbers.
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "lim",
        "--network",
        "none",
        "--ulimit",
        "nofile=100:200",
        "--ulimit",
        "core=0",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--sysctl",
        "kernel.shmmax=65536",
        "--group-add",
        "tty",
        "--group-add",
        "4242",
        "busybox",
        "sleep",
        "60",
    ])
    .ok();
    let limits = sb.dockerish(["exec", "lim", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"]).ok();
    assert_eq!(limits, "100\n200\n0\n");
    let sysctls = sb
        .dockerish([
            "exec",
            "lim",
            "cat",
            "/proc/sys/net/ipv4/ip_forward",
            "/proc/sys/kernel/shmmax",
        ])
        .ok();
    assert_eq!(sysctls, "1\n65536\n", "set in the container's namespaces");
    assert_ne!(
        fs::read_to_string("/proc/sys/kernel/shmmax").unwrap().trim(),
        "65536",
        "not the host's"
    );
    let groups = sb.dockerish(["exec", "lim", "cat", "/proc/1/status"]).ok();
    assert!(groups.contains("Groups:\t0 5 4242"), "{groups}");
    let exec = sb.dockerish(["exec", "lim", "cat", "/proc/self/status"]).ok();
    assert!(exec.contains("Groups:\t0 5 4242"), "exec gets them too: {exec}");
    let inspect = sb.dockerish(["inspect", "lim"]).ok();
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let host = &v[0]["HostConfig"];
    assert_eq!(host["Ulimits"][0]["Name"], "nofile", "{host}");
    assert_eq!(host["Sysctls"]["kernel.shmmax"], "65536", "{host}");
    assert_eq!(host["GroupAdd"][1], "4242", "{host}");
    sb.dockerish(["rm", "-f", "lim"]).ok();

    let (hard, sys_resource) = (nofile_hard(), holds_sys_resource());
    let above = format!("nofile=64:{}", hard + 1);
    let raised = ["run", "--rm", "--network", "none", "--ulimit", &above, "busybox", "sh", "-c"];
    if sys_resource {
        // The v2 VM's root holds CAP_SYS_RESOURCE: the limit is raised.
        let out = sb.dockerish(raised.iter().copied().chain(["ulimit -Hn"])).ok();
        assert_eq!(out.trim(), (hard + 1).to_string());
    } else {
        // This machine's: refused, before anything is made, with both numbers.
        let err = sb.dockerish(raised.iter().copied().chain(["true"]));
        err.fails(125, "CAP_SYS_RESOURCE");
        assert!(err.stderr.contains(&format!("this caller's {hard}")), "{err:?}");
    }
    for (args, needle) in [
        (vec!["--ulimit", "nofiles=1"], "unknown name"),
        (vec!["--sysctl", "kernel.core_pattern=|/tmp/x"], "only the container's own namespaces"),
        (vec!["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "network namespace"),
        (vec!["--device", "/etc/passwd"], "below /dev"),
        (vec!["--device", "/dev/null:/dev/n:rwx"], "letters r, w and m"),
        (vec!["--group-add", "nosuchgroup"], "unable to find group"),
    ] {
        let mut run = vec!["run", "--rm"];
        if !args.contains(&"--network") {
            run.extend(["--network", "none"]);
        }
        run.extend(args);
        run.extend(["busybox", "true"]);
        sb.dockerish(run).fails(125, needle);
    }
    assert_eq!(sb.dockerish(["ps", "-aq"]).ok(), "", "nothing recorded");
}

/// Our hard limit of open files.
fn nofile_hard() -> u64 {
    let limits = fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    line.split_whitespace().nth(4).unwrap().parse().unwrap()
}

/// Whether we hold CAP_SYS_RESOURCE (the v2 VM's root does, this host's does not).
fn holds_sys_resource() -> bool {
    let own = fs::read_to_string("/proc/self/status").unwrap();
    u64::from_str_radix(&status(&own, "CapEff"), 16).unwrap() & (1 << 24) != 0
}

/// The host uid of process `pid` (/proc/PID/status's real uid).
fn host_uid(pid: &str) -> u32 {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status(&text, "Uid").parse().unwrap()
}

#[test]
fn userns_auto_makes_the_containers_root_a_nobody_on_the_host() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let sb = Sandbox::on_host();
    volume_dir(&sb);
    let vol = sb.root().join("vol");
    fs::set_permissions(&vol, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::set_permissions(vol.join("f"), fs::Permissions::from_mode(0o600)).unwrap();
    // Inside: root, over image files that look root's, able to chown and
    // to bind port 80, with the default capabilities.
    let script = "id -u; cat /proc/self/uid_map; ls -ln /bin/busybox; \
        touch /made && chown 33:33 /made && ls -ln /made; httpd -p 80 && echo bound; \
        echo x > /vol/new; cat /vol/f 2>&1; hostname other 2>&1; grep CapEff /proc/self/status";
    let out = contained(&sb, &["--userns", "auto"], script);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    let map: Vec<u64> = lines[1].split_whitespace().map(|n| n.parse().unwrap()).collect();
    assert!(map[0] == 0 && map[1] >= 65536 && map[2] == 65536, "a range of the host's: {out}");
    assert!(lines[2].contains(" 0        0 "), "the image's files are root's inside: {out}");
    assert!(lines[3].contains(" 33       33 "), "{out}");
    assert!(out.contains("bound") && out.contains(DEFAULT_SET), "{out}");
    // Outside: the file it wrote belongs to the range's first id, and the
    // host root's file of the volume stayed closed to the container's root.
    let made = fs::metadata(vol.join("new")).unwrap();
    assert_eq!(u64::from(made.uid()), map[1], "written as the range's first id");
    assert!(out.contains("cat: can't open '/vol/f': Permission denied"), "{out}");
    assert!(out.contains("sethostname: Operation not permitted"), "{out}");

    // Two containers get two ranges; their processes run as those ids on
    // the host; exec enters the namespace as its root.
    for name in ["ua", "ub"] {
        let run = ["run", "-d", "--name", name, "--network", "none", "--userns", "auto"];
        sb.dockerish(run.iter().copied().chain(["busybox", "sleep", "60"])).ok();
    }
    let pid = |name: &str| {
        sb.dockerish(["inspect", "-f", "{{.State.Pid}}", name]).ok().trim().to_string()
    };
    let (a, b) = (host_uid(&pid("ua")), host_uid(&pid("ub")));
    assert!(a >= 65536 && b >= 65536 && a.abs_diff(b) >= 65536, "{a} {b}");
    assert_eq!(sb.dockerish(["exec", "ua", "id", "-u"]).ok(), "0\n");
    let inspect = sb.dockerish(["inspect", "-f", "{{.HostConfig.UsernsMode}}", "ua"]).ok();
    assert_eq!(inspect.trim(), "auto");
    sb.dockerish(["commit", "ua", "shifted"]).fails(1, "user namespace");
    // Limits are set before the namespace is entered: a raise (where we
    // may) works there too, for run and for exec.
    let hard = if holds_sys_resource() { nofile_hard() + 1 } else { nofile_hard() };
    let limit = format!("nofile=64:{hard}");
    let run =
        ["run", "-d", "--name", "ul", "--network", "none", "--userns", "auto", "--ulimit", &limit];
    sb.dockerish(run.iter().copied().chain(["busybox", "sleep", "60"])).ok();
    let both = format!("64\n{hard}\n");
    assert_eq!(sb.dockerish(["exec", "ul", "sh", "-c", "ulimit -n; ulimit -Hn"]).ok(), both);
    let init = sb.dockerish(["exec", "ul", "grep", "open files", "/proc/1/limits"]).ok();
    assert!(init.split_whitespace().any(|w| w == hard.to_string()), "{init}");
    sb.dockerish(["rm", "-f", "ul"]).ok();
    sb.dockerish(["rm", "-f", "ua", "ub"]).ok();
    for (args, needle) in [
        (vec!["--userns", "keep-id"], "supported: host, auto"),
        (vec!["--userns", "auto", "--privileged"], "--privileged"),
    ] {
        let mut run = vec!["run", "--rm", "--network", "none"];
        run.extend(args);
        run.extend(["busybox", "true"]);
        sb.dockerish(run).fails(125, needle);
    }
}
