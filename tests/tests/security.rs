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
