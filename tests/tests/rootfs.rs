//! `rootfs enter` alone, composed with `ns-exec` by hand as a person would.

use std::fs;
use std::path::{Path, PathBuf};

use dockerish_tests::{tool, Sandbox};

/// The busybox image's layer directory in the sandbox's store.
fn busybox_layer(sb: &Sandbox) -> PathBuf {
    sb.imgtool(["busybox"]).ok();
    PathBuf::from(sb.image("busybox")["layers"][0]["path"].as_str().unwrap())
}

fn enter(sb: &Sandbox, lowers: &[&Path], extra: &[&str], script: &str) -> dockerish_tests::Outcome {
    let dir = sb.root().join("c1");
    let mut args: Vec<String> = vec![
        "--pid".into(),
        "--mount".into(),
        "--".into(),
        dockerish_tests::bin("rootfs").display().to_string(),
        "enter".into(),
    ];
    for lower in lowers {
        args.extend(["--lower".into(), lower.display().to_string()]);
    }
    args.extend(["--dir".into(), dir.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--".into(), "sh".into(), "-c".into(), script.into()]);
    tool("ns-exec", args)
}

#[test]
fn layers_stack_topmost_first() {
    let sb = Sandbox::new();
    let base = busybox_layer(&sb);
    let top = sb.root().join("top");
    fs::create_dir_all(top.join("etc")).unwrap();
    fs::write(top.join("etc/motd"), "from the top layer\n").unwrap();
    let out =
        enter(&sb, &[&top, &base], &[], "cat /etc/motd; ls /bin/sh; echo new > /etc/motd").ok();
    assert_eq!(out, "from the top layer\n/bin/sh\n");
    assert_eq!(
        fs::read_to_string(top.join("etc/motd")).unwrap(),
        "from the top layer\n",
        "a lower layer changed"
    );
    assert_eq!(fs::read_to_string(sb.root().join("c1/upper/etc/motd")).unwrap(), "new\n");
}

#[test]
fn pivot_root_works_when_the_callers_root_is_shared() {
    let sb = Sandbox::new();
    let base = busybox_layer(&sb);
    // A mount namespace whose / is shared, as on systemd hosts: rootfs
    // must make it private before pivot_root (else EINVAL), and nothing
    // may propagate back.
    let dir = sb.root().join("c1");
    let script = format!(
        "mount --make-rshared / && {rootfs} enter --lower {base} --dir {dir} -- sh -c 'mount -t tmpfs none /tmp && cat /proc/1/cmdline | tr \"\\0\" \" \"'",
        rootfs = dockerish_tests::bin("rootfs").display(),
        base = base.display(),
        dir = dir.display()
    );
    let out = tool(
        "ns-exec",
        [
            "--mount",
            "--propagation",
            "unchanged",
            "--pid",
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            &script,
        ],
    )
    .ok();
    assert!(out.starts_with("sh -c"), "{out}");
}

#[test]
fn volumes_and_generated_etc_files() {
    let sb = Sandbox::new();
    let base = busybox_layer(&sb);
    let shared = sb.root().join("shared");
    fs::create_dir(&shared).unwrap();
    let file = sb.root().join("single");
    fs::write(&file, "one file\n").unwrap();
    let v1 = format!("{}:/mnt/rw", shared.display());
    let v2 = format!("{}:/etc/single:ro", file.display());
    let out = enter(
        &sb,
        &[&base],
        &["-v", &v1, "-v", &v2, "--hostname", "vol", "--add-host", "db:10.9.8.7", "--dns", "192.0.2.53"],
        "echo hi > /mnt/rw/f; cat /etc/single; cat /etc/hostname; grep db /etc/hosts; cat /etc/resolv.conf; echo x > /etc/single",
    );
    out.fails(1, "Read-only file system");
    assert_eq!(out.stdout, "one file\nvol\n10.9.8.7\tdb\nnameserver 192.0.2.53\n");
    assert_eq!(fs::read_to_string(shared.join("f")).unwrap(), "hi\n");
    // A volume whose source is missing is refused before anything is mounted.
    let bad = format!("{}:/x", sb.root().join("missing").display());
    enter(&sb, &[&base], &["-v", &bad], "true").fails(125, "missing");
}

#[test]
fn a_symlink_in_the_image_cannot_redirect_a_volume_to_the_host() {
    let sb = Sandbox::new();
    let base = busybox_layer(&sb);
    let top = sb.root().join("evil");
    fs::create_dir_all(&top).unwrap();
    // /escape -> / of the host, if resolved outside the root.
    std::os::unix::fs::symlink("/../../../../tmp", top.join("escape")).unwrap();
    let shared = sb.root().join("shared");
    fs::create_dir(&shared).unwrap();
    let v = format!("{}:/escape/dockerish-volume-target", shared.display());
    enter(&sb, &[&top, &base], &["-v", &v], "ls -d /tmp/dockerish-volume-target").ok();
    assert!(
        !Path::new("/tmp/dockerish-volume-target").exists(),
        "the volume target was created on the host"
    );
}

#[test]
fn rootless_with_a_user_namespace() {
    let sb = Sandbox::new();
    // Beside the state root, which is private: what the unprivileged user reaches.
    let public = dockerish_tests::public_scratch();
    // An image owned by the unprivileged user, as a rootless store would be.
    let layer = public.path().join("layer");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(busybox_layer(&sb))
        .arg(&layer)
        .status()
        .unwrap();
    assert!(status.success());
    let status = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&layer)
        .status()
        .unwrap();
    assert!(status.success());
    let dir = public.path().join("c1");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let ns_exec = dockerish_tests::public_copy("ns-exec", &public.path().join("bin-ns"))
        .display()
        .to_string();
    let rootfs =
        dockerish_tests::public_copy("rootfs", &public.path().join("bin-rf")).display().to_string();
    let mut cmd = std::process::Command::new(ns_exec);
    cmd.args(["--user", "--map-root-user", "--pid", "--mount", "--", &rootfs, "enter", "--lower"])
        .arg(&layer)
        .arg("--dir")
        .arg(&dir);
    cmd.args(["--", "sh", "-c", "id -u; echo $$; echo ok > /file; head -c 4 /dev/urandom | wc -c"]);
    std::os::unix::process::CommandExt::uid(&mut cmd, 65534);
    std::os::unix::process::CommandExt::gid(&mut cmd, 65534);
    assert_eq!(dockerish_tests::outcome(cmd).ok(), "0\n1\n4\n");
    assert_eq!(fs::read_to_string(dir.join("upper/file")).unwrap(), "ok\n");
}
