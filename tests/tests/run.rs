//! `dockerish run` end to end: the whole chain (imgtool, ns-exec, rootfs)
//! on the real kernel, as root.

use std::fs;
use std::path::Path;

use dockerish_tests::Sandbox;

#[test]
fn the_command_is_pid_1_with_its_own_hostname() {
    let sb = Sandbox::new();
    assert_eq!(sb.sh("echo $$").ok(), "1\n");
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "--hostname",
            "box",
            "busybox",
            "sh",
            "-c",
            "hostname; cat /etc/hostname",
        ])
        .ok();
    assert_eq!(out, "box\nbox\n");
    // The default host name is the short container ID.
    let out = sb.dockerish(["run", "--name", "named", "busybox", "hostname"]).ok();
    let id = sb.dockerish(["ps", "-a", "-q"]).ok();
    assert_eq!(out, id);
    let host = nix::unistd::gethostname().unwrap();
    assert_ne!(out.trim(), host.to_str().unwrap(), "the host's name leaked in");
    sb.dockerish(["rm", "named"]).ok();
}

#[test]
fn ipc_objects_of_the_host_are_invisible() {
    let sb = Sandbox::new();
    // A System V message queue on the host.
    let key: libc::key_t = 0x0d0c_4e51;
    let id = unsafe { libc::msgget(key, libc::IPC_CREAT | 0o600) };
    assert!(id >= 0, "msgget: {}", std::io::Error::last_os_error());
    let listed =
        |text: &str| text.lines().any(|l| l.split_whitespace().next() == Some(&key.to_string()));
    let host = fs::read_to_string("/proc/sysvipc/msg").unwrap();
    let inside = sb.sh("cat /proc/sysvipc/msg");
    unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    assert!(listed(&host), "the queue exists on the host: {host}");
    assert!(!listed(&inside.ok()), "the container sees the host's queue");
}

#[test]
fn the_hosts_mounts_and_proc_are_unchanged_after_exit() {
    let sb = Sandbox::new();
    let ours = |text: String| {
        text.lines()
            .filter(|l| !l.contains("dockerish-test-"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    sb.sh("true").ok(); // the image is built before the snapshot
    let before = ours(fs::read_to_string("/proc/1/mountinfo").unwrap());
    // Mounting needs CAP_SYS_ADMIN, which a container lacks by default.
    let script = "mkdir /mnt && mount -t tmpfs none /mnt && umount -l /proc && echo done";
    sb.dockerish(["run", "--rm", "--cap-add", "SYS_ADMIN", "busybox", "sh", "-c", script]).ok();
    let after = ours(fs::read_to_string("/proc/1/mountinfo").unwrap());
    assert_eq!(before, after);
    assert!(
        fs::read_to_string("/proc/self/status").unwrap().contains("Pid:"),
        "the host's /proc works"
    );
}

#[test]
fn writes_land_in_the_upper_layer_not_the_image() {
    let sb = Sandbox::new();
    sb.dockerish([
        "run",
        "--name",
        "writer",
        "busybox",
        "sh",
        "-c",
        "echo data > /new && rm /bin/ls",
    ])
    .ok();
    let layer = sb.image("busybox")["layers"][0]["path"].as_str().unwrap().to_string();
    assert!(!Path::new(&layer).join("new").exists(), "the image changed");
    assert!(Path::new(&layer).join("bin/ls").exists(), "the image lost a file");
    let dir = &sb.container_dirs()[0];
    assert_eq!(fs::read_to_string(dir.join("upper/new")).unwrap(), "data\n");
    // A deletion is a whiteout: a 0/0 character device in the upper layer.
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::symlink_metadata(dir.join("upper/bin/ls")).unwrap().file_type().is_char_device());
    // Another container starts from the pristine image.
    assert_eq!(sb.sh("test -e /new || ls /bin/ls").ok(), "/bin/ls\n");
    sb.dockerish(["rm", "writer"]).ok();
    assert!(sb.container_dirs().is_empty(), "rm removes the writable layer");
}

#[test]
fn volumes_read_write_and_read_only() {
    let sb = Sandbox::new();
    let host = sb.root().join("shared");
    fs::create_dir(&host).unwrap();
    fs::write(host.join("in"), "from host\n").unwrap();
    let rw = format!("{}:/data/deep", host.display());
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "-v",
            &rw,
            "busybox",
            "sh",
            "-c",
            "cat /data/deep/in; echo back > /data/deep/out",
        ])
        .ok();
    assert_eq!(out, "from host\n");
    assert_eq!(fs::read_to_string(host.join("out")).unwrap(), "back\n");

    let ro = format!("{}:/data:ro", host.display());
    let out = sb.dockerish([
        "run",
        "--rm",
        "-v",
        &ro,
        "busybox",
        "sh",
        "-c",
        "cat /data/in; echo x > /data/nope",
    ]);
    out.fails(1, "Read-only file system");
    assert_eq!(out.stdout, "from host\n");
    assert!(!host.join("nope").exists());
}

#[test]
fn environment_and_working_directory() {
    let sb = Sandbox::new();
    let env_file = sb.root().join("env");
    fs::write(&env_file, "# a comment\nFROM_FILE=1\nBOTH=file\n").unwrap();
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "--env-file",
            env_file.to_str().unwrap(),
            "-e",
            "BOTH=flag",
            "-e",
            "A=b c",
            "-w",
            "/work/dir",
            "busybox",
            "sh",
            "-c",
            "env | sort; pwd",
        ])
        .ok();
    for line in [
        "FROM_FILE=1",
        "BOTH=flag",
        "A=b c",
        "HOME=/root",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "/work/dir",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} missing from {out}");
    }
}

#[test]
fn exit_codes_follow_docker() {
    let sb = Sandbox::new();
    assert_eq!(sb.sh("exit 0").code, 0);
    assert_eq!(sb.sh("exit 3").code, 3);
    sb.dockerish(["run", "--rm", "busybox", "/etc/hostname"]).fails(126, "Permission denied");
    sb.dockerish(["run", "--rm", "busybox", "no-such-command"])
        .fails(127, "executable file not found in $PATH");
    sb.dockerish(["run", "--rm", "busybox", "/no/such/file"])
        .fails(127, "No such file or directory");
    // A death by SIGKILL is 128+9. (PID 1 itself cannot be killed from
    // inside, as on Docker: the kernel drops the signal.)
    assert_eq!(sb.sh("sh -c 'kill -9 $$'; echo status $?").ok(), "status 137\n");
    assert_eq!(
        sb.dockerish(["run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$"]).code,
        137
    );
    assert_eq!(sb.dockerish(["run", "--rm", "busybox", "sh", "-c", "kill -9 $$; exit 4"]).code, 4);
}

#[test]
fn init_reaps_orphans_and_forwards_signals() {
    let sb = Sandbox::new();
    // The orphaned sleeps are re-parented to our init, which reaps them:
    // no zombie remains even though their parent never waits.
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "--init",
            "busybox",
            "sh",
            "-c",
            "(sleep 0.1 &) ; (sleep 0.1 &); sleep 0.5; grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l; ps -o pid,comm | head -3",
        ])
        .ok();
    assert!(out.starts_with("0\n"), "zombies left: {out}");
    assert!(out.contains("1 ns-exec") || out.contains("1 init"), "PID 1 is the init: {out}");
}

#[test]
fn devices_and_masked_paths() {
    let sb = Sandbox::new();
    assert_eq!(
        sb.sh("head -c 16 /dev/urandom | wc -c; head -c 3 /dev/zero | wc -c; echo x > /dev/null && echo null").ok(),
        "16\n3\nnull\n"
    );
    assert_eq!(
        sb.sh("test -c /dev/ptmx && test -d /dev/pts && test -L /dev/fd && echo ok").ok(),
        "ok\n"
    );
    // Masked: empty or unreadable; read-only: writes refused.
    let masked: Vec<&str> = ["/proc/keys", "/proc/timer_list", "/proc/kcore", "/proc/sched_debug"]
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .collect();
    assert!(!masked.is_empty(), "this kernel has none of the masked files");
    for path in masked {
        assert_eq!(sb.sh(&format!("cat {path} | wc -c")).ok(), "0\n", "{path} is not masked");
    }
    assert_eq!(sb.sh("ls /sys/firmware | wc -l").ok(), "0\n");
    sb.sh("echo x > /proc/sys/kernel/domainname").fails(1, "Read-only file system");
    if Path::new("/proc/sysrq-trigger").exists() {
        sb.sh("echo 1 > /proc/sysrq-trigger").fails(1, "Read-only file system");
    }
    sb.sh("touch /sys/x").fails(1, "Read-only file system");
}

#[test]
fn read_only_root() {
    let sb = Sandbox::new();
    let out = sb.dockerish([
        "run",
        "--rm",
        "--read-only",
        "busybox",
        "sh",
        "-c",
        "echo ok > /dev/shm/x && cat /dev/shm/x; touch /etc/x",
    ]);
    out.fails(1, "Read-only file system");
    assert_eq!(out.stdout, "ok\n");
}

#[test]
fn stdin_is_passed_with_i_only() {
    let sb = Sandbox::new();
    let mut cmd = sb.command("dockerish");
    cmd.args(["run", "-i", "--rm", "busybox", "cat"]);
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    // Without -i the container's stdin is empty.
    assert_eq!(sb.dockerish(["run", "--rm", "busybox", "cat"]).ok(), "");
}

#[test]
fn named_containers_are_recorded_until_removed() {
    let sb = Sandbox::new();
    sb.dockerish(["run", "--name", "first", "busybox", "sh", "-c", "exit 2"]);
    sb.dockerish(["run", "--name", "first", "busybox", "true"])
        .fails(125, "The container name \"/first\" is already in use");
    let rows = sb.ps_json(&["-a"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Names"], "first");
    assert!(rows[0]["Status"].as_str().unwrap().starts_with("Exited (2) "), "{rows:?}");
    assert_eq!(rows[0]["State"], "exited");
    let table = sb.dockerish(["ps", "-a"]).ok();
    assert!(table.starts_with("CONTAINER ID   IMAGE     COMMAND"), "{table}");
    assert!(table.contains("Exited (2)"), "{table}");
    assert_eq!(sb.dockerish(["ps"]).ok().lines().count(), 1, "only the header: nothing runs");
    // The record is complete JSON.
    let dir = &sb.container_dirs()[0];
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["id"].as_str().unwrap().len(), 64);
    sb.dockerish(["rm", "first"]).ok();
    sb.dockerish(["rm", "first"]).fails(1, "No such container: first");
    // --rm leaves nothing.
    sb.dockerish(["run", "--rm", "--name", "gone", "busybox", "true"]).ok();
    assert!(sb.container_dirs().is_empty());
}

#[test]
fn rm_force_kills_a_running_container() {
    let sb = Sandbox::new();
    let mut cmd = sb.command("dockerish");
    cmd.args(["run", "--name", "sleeper", "busybox", "sleep", "100"]);
    let child = cmd.stdout(std::process::Stdio::null()).spawn().unwrap();
    dockerish_tests::until("the container shows as running", || {
        sb.dockerish(["ps"]).ok().contains("sleeper")
    });
    assert!(sb.dockerish(["ps"]).ok().contains("Up "));
    sb.dockerish(["rm", "sleeper"]).fails(1, "container is running");
    sb.dockerish(["rm", "-f", "sleeper"]).ok();
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(137));
    assert!(sb.container_dirs().is_empty());
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    let sb = Sandbox::new();
    sb.dockerish(["run", "--rm", "nosuchimage"])
        .fails(125, "Unable to find image 'nosuchimage' locally");
    // `NAME:/x` is a named volume; a relative path is neither that nor a host path.
    sb.dockerish(["run", "-v", "./relative:/x", "busybox", "true"]).fails(125, "invalid volume");
    sb.dockerish(["run", "-v", "/no/such/dir:/x", "busybox", "true"]).fails(125, "/no/such/dir");
    sb.dockerish(["run", "-v", "/tmp:relative", "busybox", "true"]).fails(125, "invalid volume");
    sb.dockerish(["run", "--name", "bad name", "busybox", "true"])
        .fails(125, "invalid container name");
    sb.dockerish(["run", "-w", "relative", "busybox", "true"]).fails(125, "working directory");
    sb.dockerish(["run", "--bogus-flag", "busybox"]).fails(125, "--bogus-flag");
    sb.dockerish(["run"]).fails(125, "IMAGE");
    // An image without a default command needs one.
    let tar = sb.root().join("empty.tar");
    make_tar(&tar);
    sb.imgtool(["import", tar.to_str().unwrap(), "nocmd"]).ok();
    sb.dockerish(["run", "nocmd"]).fails(125, "no command specified");
    assert!(
        sb.container_dirs().is_empty(),
        "a refused run left a container: {:?}",
        sb.container_dirs()
    );
}

/// A tiny flat root filesystem tar (one file), made with busybox tar.
fn make_tar(path: &Path) {
    let src = path.with_extension("d");
    fs::create_dir_all(src.join("etc")).unwrap();
    fs::write(src.join("etc/motd"), "hello\n").unwrap();
    let status = std::process::Command::new("/bin/busybox")
        .arg("tar")
        .arg("-cf")
        .arg(path)
        .arg("-C")
        .arg(&src)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn dry_run_prints_commands_that_run_the_same_container() {
    let sb = Sandbox::new();
    let script = sb
        .dockerish([
            "run",
            "--dry-run",
            "--hostname",
            "byhand",
            "-e",
            "X=it's",
            "busybox",
            "sh",
            "-c",
            "echo $X from $(hostname)",
        ])
        .ok();
    assert!(sb.container_dirs().is_empty(), "--dry-run creates nothing");
    assert!(script.contains("ns-exec") && script.contains("rootfs enter"), "{script}");
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", &script]).env("DOCKERISH_CGROUP_PARENT", sb.cgroup_parent());
    sb.in_net(&mut cmd);
    let out = dockerish_tests::outcome(cmd).ok();
    assert_eq!(out, "it's from byhand\n");
    // What the printed commands created by hand, the person removes by hand.
    let dir = script
        .lines()
        .find_map(|l| l.strip_prefix("mkdir -p "))
        .expect("the script makes the container's directory");
    fs::remove_dir_all(dir.trim_matches('\'')).unwrap();
}
