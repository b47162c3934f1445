//! `ocirun`, the OCI runtime: a bundle through create, start, state,
//! exec, kill and delete against the real kernel, bad input refused with
//! nothing left, and Debian's podman running containers through it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dockerish_tests::{bin, cgroup_dirs, eventually, until, Podman, Sandbox};
use serde_json::{json, Value};

/// `ocirun --root SANDBOX/oci ARGS`.
fn ocirun(sb: &Sandbox, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin("ocirun"));
    cmd.arg("--root").arg(sb.root().join("oci")).args(args);
    cmd
}

/// Runs it to the end: (status, stdout, stderr).
fn run(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = ocirun(sb, args).stdin(Stdio::null()).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[track_caller]
fn ok(sb: &Sandbox, args: &[&str]) -> String {
    let (code, out, err) = run(sb, args);
    assert_eq!(code, 0, "ocirun {args:?}: {err}");
    out
}

fn state(sb: &Sandbox, id: &str) -> Value {
    serde_json::from_str(&ok(sb, &["state", id])).unwrap()
}

/// A busybox root in `SANDBOX/NAME/rootfs`.
fn busybox_tree(sb: &Sandbox, name: &str) -> PathBuf {
    let bundle = sb.root().join(name);
    let bin_dir = bundle.join("rootfs/bin");
    fs::create_dir_all(&bin_dir).unwrap();
    fs::create_dir_all(bundle.join("rootfs/etc")).unwrap();
    fs::copy("/bin/busybox", bin_dir.join("busybox")).unwrap();
    for applet in
        ["sh", "echo", "cat", "hostname", "sleep", "touch", "grep", "ls", "id", "wc", "mkdir"]
    {
        std::os::unix::fs::symlink("busybox", bin_dir.join(applet)).unwrap();
    }
    bundle
}

/// A bundle made with `ocirun spec`, then edited.
fn bundle(sb: &Sandbox, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let dir = busybox_tree(sb, name);
    ok(sb, &["spec", "--bundle", dir.to_str().unwrap()]);
    let file = dir.join("config.json");
    let mut config: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    config["process"]["terminal"] = json!(false);
    config["linux"]["cgroupsPath"] = json!(format!("{}/{name}", sb.cgroup_parent()));
    edit(&mut config);
    fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    dir
}

/// `ocirun ARGS` (create, run -d), which must succeed; its container keeps
/// our stdout, so it is not a pipe we would wait on.
#[track_caller]
fn detached(sb: &Sandbox, args: &[&str]) {
    let status = ocirun(sb, args).stdin(Stdio::null()).stdout(Stdio::null()).status().unwrap();
    assert!(status.success(), "ocirun {args:?}");
}

/// A new user namespace in config `c`: its ids 0…65535 are 300000… outside.
fn in_user_namespace(c: &mut Value) {
    let map = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = map.clone();
    c["linux"]["gidMappings"] = map;
}

/// The bundle's root owned by the ids `in_user_namespace` maps (the engine
/// does that: podman chowns it).
fn chown_to_mapped(bundle: &Path) {
    let status = Command::new("chown")
        .args(["-R", "300000:300000"])
        .arg(bundle.join("rootfs"))
        .status()
        .unwrap();
    assert!(status.success());
}

/// The cgroups whose path has `name` in it (a sandbox's names are its own).
fn cgroups_named(name: &str) -> Vec<PathBuf> {
    cgroup_dirs().into_iter().filter(|d| d.to_string_lossy().contains(name)).collect()
}

/// The cgroups of bundle `name` of this sandbox.
fn cgroups_of(sb: &Sandbox, name: &str) -> Vec<PathBuf> {
    cgroups_named(&format!("{}/{name}", sb.cgroup_parent()))
}

#[test]
fn a_bundle_goes_created_running_stopped_and_delete_leaves_nothing() {
    let sb = Sandbox::new();
    let shared = sb.root().join("shared");
    fs::create_dir(&shared).unwrap();
    let script = "echo ran > /shared/ran; hostname; mkdir /shared/m 2>/dev/null && echo no filter; grep 'open files' /proc/self/limits; \
                  touch /newfile 2>&1 || true; cat /proc/sys/kernel/shmmax; cat /proc/timer_list | wc -c; \
                  exec sleep 60";
    let dir = bundle(&sb, "oci-c1", |c| {
        c["process"]["args"] = json!(["sh", "-c", script]);
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 1234, "soft": 1234}]);
        c["hostname"] = json!("box");
        c["process"]["env"].as_array_mut().unwrap().push(json!("FROM=create"));
        c["root"]["readonly"] = json!(true);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/shared", "type": "bind", "source": shared, "options": ["rbind", "rw"]
        }));
        c["linux"]["sysctl"] = json!({"kernel.shmmax": "123456789"});
        c["linux"]["maskedPaths"] = json!(["/proc/timer_list"]);
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
        ]});
        // (A period without a quota, as containerd gives a pod with no CPU
        // limit: no limit.)
        c["linux"]["resources"] = json!({"pids": {"limit": 50}, "cpu": {"period": 100000},
                                         "devices": [{"allow": false, "access": "rwm"}]});
    });
    // `spec` does not overwrite a config.
    let (code, _, err) = run(&sb, &["spec", "--bundle", dir.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("exists already"), "{err}");

    // create: set up, the program not yet run.
    let log = sb.root().join("c1.out");
    let pid_file = sb.root().join("c1.pid");
    let status = ocirun(&sb, &["create", "--bundle", dir.to_str().unwrap(), "--pid-file"])
        .arg(&pid_file)
        .arg("c1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    assert!(status.success());
    let s = state(&sb, "c1");
    assert_eq!(s["status"], "created");
    assert_eq!(s["ociVersion"], "1.0.2");
    assert_eq!(s["bundle"], dir.to_str().unwrap());
    let pid = s["pid"].as_i64().unwrap();
    assert_eq!(fs::read_to_string(&pid_file).unwrap().trim(), pid.to_string());
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!shared.join("ran").exists(), "the program ran before start");
    let pids_max: Vec<String> = cgroups_of(&sb, "oci-c1")
        .iter()
        .filter_map(|d| fs::read_to_string(d.join("pids.max")).ok())
        .collect();
    assert_eq!(pids_max, ["50\n"], "the pids limit, in the pids hierarchy (v1) or the cgroup (v2)");
    assert!(ok(&sb, &["list"]).contains("created"));
    // A created container pauses and resumes as runc's does.
    ok(&sb, &["pause", "c1"]);
    assert_eq!(state(&sb, "c1")["status"], "paused");
    ok(&sb, &["resume", "c1"]);
    assert_eq!(state(&sb, "c1")["status"], "created");
    // Its state directory and files are root's alone (0711 is for a
    // container with a new user namespace).
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &str| {
        fs::metadata(sb.root().join("oci/c1").join(f)).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(
        (mode("."), mode("config.json"), mode("seccomp.json"), mode("lock")),
        (0o700, 0o600, 0o600, 0o600)
    );

    // start: it runs, in its namespaces, with the config's mounts and limits.
    ok(&sb, &["start", "c1"]);
    until("the program runs", || shared.join("ran").exists());
    until("its output", || fs::read_to_string(&log).unwrap().lines().count() >= 5);
    assert_eq!(state(&sb, "c1")["status"], "running");
    let out = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "box");
    assert!(lines[1].contains("1234"), "{out}");
    assert!(lines[2].contains("Read-only file system"), "{out}");
    assert_eq!(lines[3], "123456789");
    assert_eq!(lines[4], "0", "/proc/timer_list is masked: {out}");
    assert!(
        fs::read_to_string("/proc/timer_list").unwrap().len() > 100,
        "unmasked, it is not empty"
    );
    let (code, _, err) = run(&sb, &["start", "c1"]);
    assert_ne!(code, 0, "a second start");
    assert!(err.contains("running"), "{err}");

    // The config as create read it counts: a changed config.json does not.
    let file = dir.join("config.json");
    let changed = fs::read_to_string(&file).unwrap().replace("FROM=create", "FROM=changed");
    fs::write(&file, changed).unwrap();
    assert_eq!(ok(&sb, &["exec", "c1", "sh", "-c", "echo $FROM"]), "create\n");

    // exec, ps, list; exec's process under the container's seccomp filter.
    let out = ok(&sb, &["exec", "c1", "sh", "-c", "cat /shared/ran; hostname"]);
    assert_eq!(out, "ran\nbox\n");
    let (code, _, _) = run(&sb, &["exec", "c1", "sh", "-c", "exit 3"]);
    assert_eq!(code, 3);
    let (code, _, err) = run(&sb, &["exec", "c1", "mkdir", "/shared/d"]);
    assert_ne!(code, 0, "the filter denies mkdir in exec too");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert!(!shared.join("d").exists());
    let pids: Vec<i64> = serde_json::from_str(&ok(&sb, &["ps", "--format", "json", "c1"])).unwrap();
    assert_eq!(pids, [pid]);
    let list: Value = serde_json::from_str(&ok(&sb, &["list", "--format", "json"])).unwrap();
    assert_eq!(list[0]["id"], "c1");
    assert_eq!(list[0]["status"], "running");

    // pause freezes it (no exec then), resume thaws it; update changes its
    // limits, from flags or a linux.resources file.
    ok(&sb, &["pause", "c1"]);
    assert_eq!(state(&sb, "c1")["status"], "paused");
    let frozen = |file: &str, word: &str| {
        let read = |d: &PathBuf| fs::read_to_string(d.join(file)).ok();
        cgroups_of(&sb, "oci-c1").iter().filter_map(read).any(|t| t.contains(word))
    };
    assert!(frozen("cgroup.events", "frozen 1") || frozen("freezer.state", "FROZEN"));
    let (code, _, err) = run(&sb, &["exec", "c1", "true"]);
    assert_ne!(code, 0, "no exec into a paused container");
    assert!(err.contains("not running"), "{err}");
    let (code, _, err) = run(&sb, &["delete", "c1"]);
    assert!(code != 0 && err.contains("is paused"), "{err}");
    let (code, _, err) = run(&sb, &["pause", "c1"]);
    assert!(code != 0 && err.contains("cannot pause a container that is paused"), "{err}");
    ok(&sb, &["resume", "c1"]);
    assert_eq!(state(&sb, "c1")["status"], "running");
    assert!(frozen("cgroup.events", "frozen 0") || frozen("freezer.state", "THAWED"));
    assert_eq!(ok(&sb, &["exec", "c1", "echo", "thawed"]), "thawed\n");
    let (code, _, err) = run(&sb, &["resume", "c1"]);
    assert!(code != 0 && err.contains("cannot resume a container that is running"), "{err}");
    let limit = |file: &str| -> Vec<String> {
        let read = |d: &PathBuf| fs::read_to_string(d.join(file)).ok();
        cgroups_of(&sb, "oci-c1").iter().filter_map(read).collect()
    };
    ok(&sb, &["update", "--pids-limit", "60", "--memory", "64m", "c1"]);
    assert_eq!(limit("pids.max"), ["60\n"]);
    let memory = [limit("memory.max"), limit("memory.limit_in_bytes")].concat();
    assert_eq!(memory, ["67108864\n"], "v2's memory.max or v1's limit_in_bytes");
    let resources = sb.root().join("resources.json");
    fs::write(&resources, r#"{"pids": {"limit": 70}}"#).unwrap();
    ok(&sb, &["update", "-r", resources.to_str().unwrap(), "c1"]);
    assert_eq!(limit("pids.max"), ["70\n"], "the file's limit");
    let memory = [limit("memory.max"), limit("memory.limit_in_bytes")].concat();
    assert_eq!(memory, ["67108864\n"], "what the file leaves out stays");
    let (code, _, err) = run(&sb, &["update", "--memory", "lots", "c1"]);
    assert!(code != 0 && err.contains("--memory"), "{err}");
    assert_eq!(limit("pids.max"), ["70\n"], "a bad update changes nothing");
    // A period alone, or a memory limit lifted: refused, nothing changed;
    // a quota alone is per 100 ms; the pids limit lifted with -1.
    for (args, why) in [
        (["--cpu-period", "50000"], "needs --cpu-quota"),
        (["--memory", "-1"], "lifting a memory or CPU limit"),
    ] {
        let (code, _, err) =
            run(&sb, &[&["update"][..], &args, &["--pids-limit", "80", "c1"]].concat());
        assert!(code != 0 && err.contains(why), "{args:?}: {err}");
        assert_eq!(limit("pids.max"), ["70\n"], "{args:?} changed nothing");
    }
    // containerd's update of a pod without a CPU limit: a period alone, no change.
    fs::write(&resources, r#"{"cpu": {"period": 100000}, "pids": {"limit": 75}}"#).unwrap();
    ok(&sb, &["update", "-r", resources.to_str().unwrap(), "c1"]);
    assert_eq!(limit("pids.max"), ["75\n"]);
    ok(&sb, &["update", "--cpu-quota", "50000", "--pids-limit", "-1", "c1"]);
    assert_eq!(limit("pids.max"), ["max\n"]);
    let cpu = [limit("cpu.max"), limit("cpu.cfs_quota_us")].concat();
    assert_eq!(cpu, [if cpu[0].contains(' ') { "50000 100000\n" } else { "50000\n" }]);

    // delete refuses a running container; kill, then delete removes all.
    let (code, _, err) = run(&sb, &["delete", "c1"]);
    assert_ne!(code, 0);
    assert!(err.contains("delete --force"), "{err}");
    ok(&sb, &["kill", "c1", "KILL"]);
    until("it stops", || state(&sb, "c1")["status"] == "stopped");
    assert_eq!(state(&sb, "c1")["pid"], 0);
    ok(&sb, &["delete", "c1"]);
    assert!(!sb.root().join("oci/c1").exists());
    assert!(cgroups_of(&sb, "oci-c1").is_empty(), "{:?}", cgroups_of(&sb, "oci-c1"));
    let (code, _, err) = run(&sb, &["state", "c1"]);
    assert_ne!(code, 0);
    assert!(err.contains("container c1 does not exist"), "{err}");
}

#[test]
fn run_passes_the_status_through_and_bad_input_leaves_nothing() {
    let sb = Sandbox::new();
    let dir = bundle(&sb, "oci-run", |c| c["process"]["args"] = json!(["sh", "-c", "exit 7"]));
    let (code, _, err) = run(&sb, &["run", "--bundle", dir.to_str().unwrap(), "r1"]);
    assert_eq!(code, 7, "{err}");
    assert!(!sb.root().join("oci/r1").exists());
    // run -d; a paused container goes with delete --force.
    let sleeper = bundle(&sb, "oci-paused", |c| c["process"]["args"] = json!(["sleep", "600"]));
    detached(&sb, &["run", "-d", "--bundle", sleeper.to_str().unwrap(), "r2"]);
    let pid = state(&sb, "r2")["pid"].as_i64().unwrap();
    ok(&sb, &["pause", "r2"]);
    ok(&sb, &["delete", "--force", "r2"]);
    assert!(!dockerish_tests::alive(pid as i32), "the paused process was killed");
    assert!(cgroups_of(&sb, "oci-paused").is_empty(), "{:?}", cgroups_of(&sb, "oci-paused"));

    let nothing_left = |id: &str| {
        assert!(!sb.root().join("oci").join(id).exists(), "state of {id} left");
        assert!(cgroups_of(&sb, "oci-bad").is_empty(), "{:?}", cgroups_of(&sb, "oci-bad"));
    };
    // A program that is not in the root: create fails, as runc's does.
    let missing = bundle(&sb, "oci-bad", |c| c["process"]["args"] = json!(["no-such-program"]));
    let (code, _, err) = run(&sb, &["create", "--bundle", missing.to_str().unwrap(), "b1"]);
    assert_ne!(code, 0);
    assert!(err.contains("no-such-program") && err.contains("not found"), "{err}");
    nothing_left("b1");
    // A bundle without its root; a bad ID; an idmapped mount with no mapping.
    fs::rename(missing.join("rootfs"), missing.join("elsewhere")).unwrap();
    let (code, _, err) = run(&sb, &["create", "--bundle", missing.to_str().unwrap(), "b2"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a directory"), "{err}");
    nothing_left("b2");
    fs::rename(missing.join("elsewhere"), missing.join("rootfs")).unwrap();
    let (code, _, err) = run(&sb, &["create", "--bundle", missing.to_str().unwrap(), "../x"]);
    assert_ne!(code, 0);
    assert!(err.contains("container ID"), "{err}");
    let idmap = bundle(&sb, "oci-bad2", |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]
        }));
    });
    let (code, _, err) = run(&sb, &["create", "--bundle", idmap.to_str().unwrap(), "b3"]);
    assert_ne!(code, 0);
    assert!(err.contains("idmap"), "{err}");
    assert!(!sb.root().join("oci/b3").exists());
    assert!(cgroups_of(&sb, "oci-bad2").is_empty());
    // A sysctl of the host's, a device outside /dev: refused, nothing left.
    for (name, edit) in [
        ("oci-bad3", json!({"linux": {"sysctl": {"kernel.core_pattern": "|/tmp/x"}}})),
        (
            "oci-bad4",
            json!({"linux": {"devices": [{"path": "/etc/shadow", "type": "c", "major": 1, "minor": 3}]}}),
        ),
    ] {
        let dir = bundle(&sb, name, |c| {
            for (k, v) in edit["linux"].as_object().unwrap() {
                c["linux"][k] = v.clone();
            }
        });
        let (code, _, err) = run(&sb, &["create", "--bundle", dir.to_str().unwrap(), name]);
        assert_ne!(code, 0, "{name}");
        assert!(err.contains("core_pattern") || err.contains("below /dev"), "{name}: {err}");
        assert!(!sb.root().join("oci").join(name).exists());
        assert!(cgroups_of(&sb, name).is_empty());
    }
    // What a create killed before its directory was moved into place left
    // aside (its process gone) is swept by the next create.
    let mut gone = Command::new("true").spawn().unwrap();
    let staging = sb.root().join(format!("oci/~{}.zz", gone.id()));
    gone.wait().unwrap();
    fs::create_dir_all(staging.join("sub")).unwrap();
    // No descriptor of the caller's reaches the program.
    let fds = bundle(&sb, "oci-fds", |c| c["process"]["args"] = json!(["ls", "/proc/self/fd"]));
    let script = format!(
        "exec 7</etc/hostname; {} --root {} run --bundle {} f1",
        bin("ocirun").display(),
        sb.root().join("oci").display(),
        fds.display()
    );
    let out = Command::new("sh").arg("-c").arg(script).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Vec<String> =
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect();
    assert!(!listed.contains(&"7".to_string()), "fd 7 leaked in: {listed:?}");
    assert!(!staging.exists(), "a dead create's staging directory is swept");

    // The systemd cgroup driver, and commands on no container.
    let (code, _, err) = run(&sb, &["--systemd-cgroup", "list"]);
    assert_ne!(code, 0);
    assert!(err.contains("cgroupfs"), "{err}");
    for args in [["start", "nope"], ["kill", "nope"], ["delete", "nope"]] {
        let (code, _, err) = run(&sb, &args);
        assert_ne!(code, 0);
        assert!(err.contains("container nope does not exist"), "{args:?}: {err}");
    }
    // What a create killed before its record leaves (its directory): gone
    // with delete, so that the ID can be used again.
    fs::create_dir_all(sb.root().join("oci/ghost")).unwrap();
    let (code, _, err) = run(&sb, &["state", "ghost"]);
    assert!(code != 0 && err.contains("does not exist"), "{err}");
    ok(&sb, &["delete", "ghost"]);
    assert!(!sb.root().join("oci/ghost").exists());
    let features: Value = serde_json::from_str(&ok(&sb, &["features"])).unwrap();
    assert_eq!(features["ociVersionMax"], "1.0.2");
}

/// The test process's own cgroup (the same in every hierarchy here).
#[test]
fn a_non_root_process_gets_the_five_capability_sets_and_its_groups() {
    let sb = Sandbox::new();
    // The kernel's rule at execve: a non-root user's program keeps its
    // ambient set (as effective and permitted), the bounding set as given.
    let caps = json!({
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_NET_BIND_SERVICE"],
        "permitted": ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
        "inheritable": ["CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    });
    let script = "grep ^Cap /proc/self/status; id -u; id -G";
    let expected = "CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\n\
                    CapEff:\t0000000000000400\nCapBnd:\t0000000000000421\n\
                    CapAmb:\t0000000000000400\n1000\n1000 44\n";
    let user = json!({"uid": 1000, "gid": 1000, "additionalGids": [44]});
    let dir = bundle(&sb, "oci-caps", |c| {
        c["process"]["args"] = json!(["sh", "-c", script]);
        c["process"]["user"] = user.clone();
        c["process"]["capabilities"] = caps.clone();
    });
    let (code, out, err) = run(&sb, &["run", "--bundle", dir.to_str().unwrap(), "k1"]);
    assert_eq!((code, out.as_str()), (0, expected), "{err}");

    // exec with a process.json: the same sets and groups, in a running
    // container whose own process is root's.
    let sleeper = bundle(&sb, "oci-caps2", |c| c["process"]["args"] = json!(["sleep", "600"]));
    detached(&sb, &["run", "-d", "--bundle", sleeper.to_str().unwrap(), "k2"]);
    let process = sb.root().join("process.json");
    let json = json!({"args": ["sh", "-c", script], "cwd": "/", "user": user, "capabilities": caps,
                      "env": ["PATH=/bin"]});
    fs::write(&process, json.to_string()).unwrap();
    let (code, out, err) = run(&sb, &["exec", "--process", process.to_str().unwrap(), "k2"]);
    assert_eq!((code, out.as_str()), (0, expected), "{err}");
    // An ambient capability the kernel would refuse (not inheritable) is
    // left out with a warning, as the runtime-spec asks: the program runs
    // without it.
    let mut bad = json.clone();
    bad["capabilities"]["inheritable"] = json!([]);
    fs::write(&process, bad.to_string()).unwrap();
    let (code, out, err) = run(&sb, &["exec", "--process", process.to_str().unwrap(), "k2"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: ambient CAP_NET_BIND_SERVICE not raised"), "{err}");
    assert!(
        out.contains("CapAmb:\t0000000000000000") && out.contains("CapPrm:\t0000000000000000"),
        "{out}"
    );
    // `runc spec`'s capabilities (three ambient, no inheritable) run too.
    let runc_caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let runc_like = bundle(&sb, "oci-caps3", |c| {
        c["process"]["args"] = json!(["sh", "-c", "grep CapAmb /proc/self/status"]);
        c["process"]["capabilities"] = json!({"bounding": runc_caps, "effective": runc_caps,
                                              "permitted": runc_caps, "ambient": runc_caps});
    });
    let (code, out, err) = run(&sb, &["run", "--bundle", runc_like.to_str().unwrap(), "k3"]);
    assert_eq!((code, out.as_str()), (0, "CapAmb:\t0000000000000000\n"), "{err}");
    assert_eq!(err.matches("not raised").count(), 3, "{err}");
    ok(&sb, &["delete", "--force", "k2"]);
    assert!(cgroups_of(&sb, "oci-caps2").is_empty());
}

#[test]
fn a_user_namespace_config_runs_as_root_of_its_mapped_ids() {
    let sb = Sandbox::new();
    let out = sb.root().join("userns-out");
    fs::create_dir(&out).unwrap();
    let record = sb.root().join("record-hook");
    fs::write(&record, "#!/bin/sh\ncat > \"$1\"\n").unwrap();
    fs::set_permissions(&record, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let dir = bundle(&sb, "oci-userns", |c| {
        c["process"]["args"] = json!(["sh", "-c", "exec sleep 600"]);
        in_user_namespace(c);
        // The hook fifos and the exec fifo are reached by the container's
        // root, host uid 300000.
        c["hooks"] =
            json!({"prestart": [{"path": record, "args": ["record-hook", out.join("prestart")]}]});
    });
    // Its root is the engine's to own by the mapped ids (podman chowns it).
    chown_to_mapped(&dir);
    detached(&sb, &["create", "--bundle", dir.to_str().unwrap(), "n1"]);
    assert_eq!(state(&sb, "n1")["status"], "created");
    let pid = state(&sb, "n1")["pid"].as_i64().unwrap();
    assert!(fs::read_to_string(out.join("prestart")).unwrap().contains("\"n1\""));
    ok(&sb, &["start", "n1"]);
    assert_eq!(state(&sb, "n1")["status"], "running");
    // Its directory passable (0711): its root, uid 300000 here, reached the fifo.
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(sb.root().join("oci/n1")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o711);
    let host_map = fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    assert_eq!(host_map.split_whitespace().collect::<Vec<_>>(), ["0", "300000", "65536"]);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(uid_line.split_whitespace().nth(1), Some("300000"), "root inside, 300000 outside");
    // exec joins its user namespace: root there, its files root's.
    let inside =
        ok(&sb, &["exec", "n1", "sh", "-c", "id -u; cat /proc/self/uid_map; ls -ln /bin/busybox"]);
    let lines: Vec<&str> = inside.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["0", "300000", "65536"]);
    assert!(lines[2].contains(" 0        0 "), "{inside}");
    ok(&sb, &["delete", "--force", "n1"]);
    assert!(!sb.root().join("oci/n1").exists());
    assert!(cgroups_of(&sb, "oci-userns").is_empty(), "{:?}", cgroups_of(&sb, "oci-userns"));
}

/// `ls -lnd PATH` lines of `out` as (uid, gid), in order.
fn owners(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter(|l| l.starts_with(['d', '-']))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[2].to_string(), f[3].to_string())
        })
        .collect()
}

#[test]
fn idmapped_bind_mounts_show_the_owners_on_disk_through_a_mapping() {
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    let data = sb.root().join("idmap-data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("theirs"), "x").unwrap();
    std::os::unix::fs::chown(data.join("theirs"), Some(1000), Some(1000)).unwrap();
    let list = "ls -lnd /data /data/theirs";

    // In a user namespace (0 is 300000 outside), `idmap` maps the mount by
    // the container's mapping: what root owns on disk its root owns, and
    // what it writes is stored as root's. A plain bind would show
    // 65534 and refuse the write.
    let dir = bundle(&sb, "oci-idmap", |c| {
        let script = format!("{list} && echo hi > /data/mine && echo fds $(ls /proc/self/fd)");
        c["process"]["args"] = json!(["sh", "-c", script]);
        in_user_namespace(c);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": data, "options": ["bind", "idmap"]
        }));
    });
    chown_to_mapped(&dir);
    let out = ok(&sb, &["run", "--bundle", dir.to_str().unwrap(), "i1"]);
    let zero = ("0".to_string(), "0".to_string());
    let thousand = ("1000".to_string(), "1000".to_string());
    assert_eq!(owners(&out), [zero.clone(), thousand.clone()], "{out}");
    assert!(out.contains("fds 0 1 2 3\n"), "no idmapped tree reaches the program: {out}");
    let mine = fs::metadata(data.join("mine")).unwrap();
    assert_eq!((mine.uid(), mine.gid()), (0, 0), "stored as root's, not 300000's");
    assert!(!sb.root().join("oci/i1").exists());

    // Without a user namespace, the mount's own mapping: disk uid 0 shows
    // as 1000, and disk uid 1000, unmapped, as the overflow id.
    let one = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    let dir = bundle(&sb, "oci-idmap2", |c| {
        c["process"]["args"] = json!(["sh", "-c", list]);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": data, "options": ["rbind", "ridmap"],
            "uidMappings": one, "gidMappings": one
        }));
    });
    let out = ok(&sb, &["run", "--bundle", dir.to_str().unwrap(), "i2"]);
    let overflow = ("65534".to_string(), "65534".to_string());
    assert_eq!(owners(&out), [thousand, overflow], "{out}");

    // Mappings on a mount that is not a bind, or one half of them: refused
    // at create, nothing left.
    for (name, mount, why) in [
        (
            "oci-idmap-bad1",
            json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                   "uidMappings": one, "gidMappings": one}),
            "not a bind mount",
        ),
        (
            "oci-idmap-bad2",
            json!({"destination": "/data", "type": "bind", "source": data,
                   "options": ["bind"], "uidMappings": one}),
            "without the other",
        ),
        (
            "oci-idmap-bad3",
            json!({"destination": "/data", "type": "bind", "source": data,
                   "options": ["bind", "idmap", "ro"]}),
            "read-only and idmapped in a user namespace",
        ),
    ] {
        let dir = bundle(&sb, name, |c| {
            c["mounts"].as_array_mut().unwrap().push(mount);
            if name == "oci-idmap-bad3" {
                in_user_namespace(c);
            }
        });
        let (code, _, err) = run(&sb, &["create", "--bundle", dir.to_str().unwrap(), name]);
        assert_ne!(code, 0, "{name}");
        assert!(err.contains(why), "{name}: {err}");
        assert!(!sb.root().join("oci").join(name).exists());
        assert!(cgroups_of(&sb, name).is_empty());
    }
}

#[test]
fn a_linux32_personality_reports_a_32_bit_machine_in_run_and_exec() {
    let sb = Sandbox::new();
    assert_eq!(
        String::from_utf8(Command::new("uname").arg("-m").output().unwrap().stdout).unwrap(),
        "x86_64\n"
    );
    let dir = bundle(&sb, "oci-persona", |c| {
        c["process"]["args"] = json!(["busybox", "uname", "-m"]);
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
    });
    assert_eq!(ok(&sb, &["run", "--bundle", dir.to_str().unwrap(), "p1"]), "i686\n");
    let dir = bundle(&sb, "oci-persona2", |c| {
        c["process"]["args"] = json!(["sleep", "600"]);
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
    });
    detached(&sb, &["run", "-d", "--bundle", dir.to_str().unwrap(), "p2"]);
    assert_eq!(ok(&sb, &["exec", "p2", "busybox", "uname", "-m"]), "i686\n");
    ok(&sb, &["delete", "--force", "p2"]);
    // A flag (none is defined): refused, nothing left.
    let dir = bundle(&sb, "oci-persona3", |c| {
        c["linux"]["personality"] = json!({"domain": "LINUX32", "flags": ["ADDR_LIMIT_3GB"]});
    });
    let (code, _, err) = run(&sb, &["create", "--bundle", dir.to_str().unwrap(), "p3"]);
    assert_ne!(code, 0);
    assert!(err.contains("ADDR_LIMIT_3GB") && err.contains("no flags"), "{err}");
    assert!(!sb.root().join("oci/p3").exists());
    assert!(cgroups_of(&sb, "oci-persona3").is_empty());
}

fn own_cgroup() -> String {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap();
    let line = text.lines().find(|l| l.contains(":pids:") || l.starts_with("0::")).unwrap();
    line.rsplit(':').next().unwrap().trim_end_matches('/').to_string()
}

/// Removes the cgroups podman's conmon leaves under the parent it was given.
struct CgroupsUnder(String);

impl Drop for CgroupsUnder {
    fn drop(&mut self) {
        let mut dirs = cgroups_named(&self.0);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Debian's podman with ocirun (through a wrapper giving the sandbox's
/// --root: podman calls the runtime without one), the busybox tree
/// imported as localhost/bb:1; its flags for `run` (this host's limits,
/// cgroups beneath the sandbox's parent, which `CgroupsUnder` removes).
fn podman_with_ocirun(sb: &Sandbox) -> (CgroupsUnder, Podman, String) {
    let wrapper = sb.root().join("ocirun-for-podman");
    let script = format!(
        "#!/bin/sh\nexec {} --root {} \"$@\"\n",
        bin("ocirun").display(),
        sb.root().join("oci").display()
    );
    fs::write(&wrapper, script).unwrap();
    fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let podman = Podman::new(sb, wrapper.to_str().unwrap());
    let parent = format!("{}-podman", sb.cgroup_parent());
    let cleanup = CgroupsUnder(parent.clone());
    let tree = busybox_tree(sb, "podman-image");
    let tar = sb.root().join("busybox.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(tree.join("rootfs"))
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    podman.run(&format!("import -q {} localhost/bb:1", tar.display()));
    let flags = format!(
        "--network none --cgroup-parent {}/{parent} --ulimit nofile=20000:20000 --ulimit nproc=4096:4096",
        own_cgroup()
    );
    // (First in the tuple: dropped last, after podman's reset.)
    (cleanup, podman, flags)
}

#[test]
fn podman_runs_a_user_namespace_container_with_an_idmapped_volume_through_ocirun() {
    let sb = Sandbox::new();
    let (_cleanup, podman, flags) = podman_with_ocirun(&sb);
    // --uidmap: a user namespace, 0 being 300000 outside; `:idmap`: the
    // volume's owners on disk seen through that mapping.
    let data = sb.root().join("podman-data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("f"), "x").unwrap();
    let map = "--uidmap 0:300000:65536 --gidmap 0:300000:65536";
    let script = "cat /proc/self/uid_map; ls -ln /data/f; echo w > /data/w";
    let volume = format!("-v {}:/data:idmap", data.display());
    let out =
        podman.run(&format!("run --rm {flags} {map} {volume} localhost/bb:1 sh -c '{script}'"));
    let first: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(first, ["0", "300000", "65536"], "{out}");
    assert_eq!(owners(&out), [("0".to_string(), "0".to_string())], "root's file is root's: {out}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(data.join("w")).unwrap().uid(), 0, "its write is root's on disk");
    assert!(!Path::new(&sb.root().join("oci")).read_dir().unwrap().any(|e| e.is_ok()));
}

#[test]
fn podman_runs_containers_with_ocirun_as_its_runtime() {
    let sb = Sandbox::new();
    let (_cleanup, podman, flags) = podman_with_ocirun(&sb);
    let parent = format!("{}-podman", sb.cgroup_parent());

    let out = podman.run(&format!("run --rm {flags} localhost/bb:1 echo hi"));
    assert_eq!(out, "hi\n");

    let id = podman.run(&format!("run -d {flags} localhost/bb:1 sleep 600"));
    let id = id.trim();
    let state = || ok(&sb, &["state", id]);
    assert!(state().contains("\"running\""), "ocirun knows podman's container: {}", state());
    let out = podman.run(&format!("exec {id} sh -c 'echo from exec; hostname'"));
    assert_eq!(out, format!("from exec\n{}\n", &id[..12]));
    // Our cgroup holds it, beneath the parent podman was given.
    assert!(cgroups_named(&parent).iter().any(|d| d.to_string_lossy().contains(id)));
    // pause, unpause and update go through ocirun too.
    let status = || podman.run(&format!("inspect -f '{{{{.State.Status}}}}' {id}"));
    podman.run(&format!("pause {id}"));
    assert_eq!(status().trim(), "paused");
    assert_eq!(ok(&sb, &["state", id]).contains("\"paused\""), true);
    podman.run(&format!("unpause {id}"));
    assert_eq!(status().trim(), "running");
    podman.run(&format!("update --memory 96m {id}"));
    let memory: Vec<String> = cgroups_named(id)
        .iter()
        .flat_map(|d| ["memory.max", "memory.limit_in_bytes"].map(|f| d.join(f)))
        .filter_map(|f| fs::read_to_string(f).ok())
        .collect();
    assert_eq!(memory, ["100663296\n"]);
    podman.run(&format!("stop -t 1 {id}"));
    assert!(eventually(|| status().trim() == "exited"));
    podman.run(&format!("rm {id}"));
    assert!(!sb.root().join("oci").join(id).exists(), "podman rm deleted it through ocirun");
    assert!(!Path::new(&sb.root().join("oci")).read_dir().unwrap().any(|e| e.is_ok()));
}

#[test]
fn hooks_run_at_their_points_with_the_state_on_stdin() {
    let sb = Sandbox::new();
    let out = sb.root().join("hooks");
    fs::create_dir(&out).unwrap();
    // A host program for the runtime's hooks: the state JSON into OUT/KIND.
    let record = sb.root().join("record-hook");
    fs::write(&record, "#!/bin/sh\ncat > \"$1\"\n").unwrap();
    fs::set_permissions(&record, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let host_hook = |kind: &str| json!({"path": record, "args": ["record-hook", out.join(kind)]});
    let dir = bundle(&sb, "oci-hooks", |c| {
        c["process"]["args"] =
            json!(["sh", "-c", "test -e /out/startContainer && echo ok > /out/program"]);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/out", "type": "bind", "source": out, "options": ["rbind"]
        }));
        c["hooks"] = json!({
            "prestart": [host_hook("prestart")],
            "createRuntime": [host_hook("createRuntime")],
            "createContainer": [host_hook("createContainer")],
            // In the container: its own sh, its own paths.
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /out/startContainer"]}],
            "poststart": [host_hook("poststart")],
            "poststop": [host_hook("poststop")],
        });
    });
    let read = |kind: &str| -> Value {
        serde_json::from_str(
            &fs::read_to_string(out.join(kind)).unwrap_or_else(|e| panic!("{kind}: {e}")),
        )
        .unwrap()
    };
    // (The container keeps create's stdout: not a pipe we would wait on.)
    detached(&sb, &["create", "--bundle", dir.to_str().unwrap(), "h1"]);
    let pid = state(&sb, "h1")["pid"].clone();
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let s = read(kind);
        assert_eq!((s["id"].as_str(), &s["pid"]), (Some("h1"), &pid), "{kind}: {s}");
    }
    assert!(!out.join("startContainer").exists() && !out.join("poststart").exists());
    ok(&sb, &["start", "h1"]);
    until("the program", || out.join("program").exists());
    assert_eq!(read("startContainer")["id"], "h1");
    assert_eq!(read("poststart")["id"], "h1");
    until("it stops", || state(&sb, "h1")["status"] == "stopped");
    assert!(!out.join("poststop").exists());
    ok(&sb, &["delete", "h1"]);
    assert_eq!(read("poststop")["status"], "stopped");

    // A hook may drive its own container: start and delete release the
    // lock before poststart and poststop (else the hook would wait for the
    // lock until its timeout killed it, a warning, and h4 would run on).
    let ocirun_at =
        format!("{} --root {}", bin("ocirun").display(), sb.root().join("oci").display());
    let driving = bundle(&sb, "oci-hookdrive", |c| {
        c["process"]["args"] = json!(["sleep", "600"]);
        let kill = format!("exec {ocirun_at} kill h4 KILL");
        let state = format!("{ocirun_at} state h4 2> {}", out.join("gone").display());
        c["hooks"] = json!({
            "poststart": [{"path": "/bin/sh", "args": ["sh", "-c", kill], "timeout": 30}],
            "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", state], "timeout": 30}],
        });
    });
    detached(&sb, &["create", "--bundle", driving.to_str().unwrap(), "h4"]);
    let (code, _, err) = run(&sb, &["start", "h4"]);
    assert!(code == 0 && !err.contains("warning"), "the hook ran to its end: {err}");
    until("its poststart hook stops it", || state(&sb, "h4")["status"] == "stopped");
    ok(&sb, &["delete", "h4"]);
    let gone = fs::read_to_string(out.join("gone")).unwrap();
    assert!(gone.contains("container h4 does not exist"), "poststop after the delete: {gone}");
    assert!(cgroups_of(&sb, "oci-hookdrive").is_empty());

    // A failing createRuntime hook fails create, and leaves nothing.
    let failing = bundle(&sb, "oci-hookfail", |c| {
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/false", "args": ["false"]}]});
    });
    let (code, _, err) = run(&sb, &["create", "--bundle", failing.to_str().unwrap(), "h2"]);
    assert_ne!(code, 0);
    assert!(err.contains("createRuntime"), "{err}");
    assert!(!sb.root().join("oci/h2").exists());
    assert!(cgroups_of(&sb, "oci-hookfail").is_empty(), "{:?}", cgroups_of(&sb, "oci-hookfail"));

    // A create killed midway (here in a hook) is "creating" while it runs
    // and found after: delete removes what it had made.
    let hook_pid = sb.root().join("hook.pid");
    let slow = bundle(&sb, "oci-killed", |c| {
        let script = format!("echo $$ > {}; exec sleep 60", hook_pid.display());
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
    });
    let mut create = ocirun(&sb, &["create", "--bundle", slow.to_str().unwrap(), "h3"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    until("the hook runs", || fs::read_to_string(&hook_pid).is_ok_and(|t| t.ends_with('\n')));
    assert_eq!(state(&sb, "h3")["status"], "creating");
    // A delete meanwhile waits for the create (the container's lock).
    let mut delete =
        ocirun(&sb, &["delete", "--force", "h3"]).stdin(Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(delete.try_wait().unwrap().is_none(), "delete waits for the running create");
    assert!(!cgroups_of(&sb, "oci-killed").is_empty(), "its cgroup was made");
    let hook: i32 = fs::read_to_string(&hook_pid).unwrap().trim().parse().unwrap();
    create.kill().unwrap();
    create.wait().unwrap();
    // The killed create's lock is free: delete finds it stopped, removes it.
    assert!(delete.wait().unwrap().success());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(hook), nix::sys::signal::SIGKILL).unwrap();
    assert!(!sb.root().join("oci/h3").exists());
    assert!(cgroups_of(&sb, "oci-killed").is_empty(), "{:?}", cgroups_of(&sb, "oci-killed"));
}

/// Debian's containerd, on a socket and with its root and state in the
/// sandbox; killed (by PID) and its host directory removed when dropped.
/// Its runc shim always works in /run/containerd too: removed after, if it
/// was not there before.
struct Containerd {
    daemon: std::process::Child,
    socket: PathBuf,
    made_run_dir: bool,
}

impl Containerd {
    fn start(sb: &Sandbox) -> Containerd {
        let dir = sb.root().join("containerd");
        fs::create_dir(&dir).unwrap();
        let socket = dir.join("containerd.sock");
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n[grpc]\n  address = \"{s}\"\n\
             [ttrpc]\n  address = \"{d}/ttrpc.sock\"\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_cgroup = true\n",
            d = dir.display(),
            s = socket.display()
        );
        fs::write(dir.join("config.toml"), config).unwrap();
        let made_run_dir = !Path::new("/run/containerd").exists();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .expect("containerd (apt-get install containerd; .ci/run does)");
        let ctrd = Containerd { daemon, socket, made_run_dir };
        until("containerd listens", || ctrd.ctr(&["version"]).status.success());
        ctrd
    }

    fn ctr(&self, args: &[&str]) -> std::process::Output {
        Command::new("ctr").arg("--address").arg(&self.socket).args(args).output().unwrap()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let root = self.socket.parent().unwrap().join("root");
        let _ = Command::new("umount").arg("-R").arg(&root).stderr(Stdio::null()).status();
        if self.made_run_dir {
            let _ = fs::remove_dir_all("/run/containerd");
        }
    }
}

#[test]
fn containerd_runs_a_container_with_ocirun_as_its_runc_binary() {
    let sb = Sandbox::new();
    let ctrd = Containerd::start(&sb);
    let parent = format!("{}-containerd", sb.cgroup_parent());
    let _cleanup = CgroupsUnder(parent.clone());
    sb.imgtool(["busybox"]).ok();
    let tar = sb.root().join("busybox.tar");
    sb.imgtool(["save".as_ref(), "-o".as_ref(), tar.as_os_str(), "busybox".as_ref()]).ok();
    let out = ctrd.ctr(&["images", "import", tar.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let oci_root = sb.root().join("oci");
    let cgroup = format!("{}/{parent}/k1", own_cgroup());
    let out = ctrd.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        bin("ocirun").to_str().unwrap(),
        "--runc-root",
        oci_root.to_str().unwrap(),
        "--cgroup",
        &cgroup,
        "docker.io/library/busybox:latest",
        "k1",
        "sh",
        "-c",
        "echo hi from $(hostname); cat /proc/self/cgroup | grep -c k1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("hi from "), "{stdout}");
    assert!(
        stdout.lines().nth(1).is_some_and(|n| n.parse::<u32>().unwrap() >= 1),
        "in its cgroup: {stdout}"
    );
    // The shim keeps a runc root per containerd namespace ("default").
    let left: Vec<_> = fs::read_dir(oci_root.join("default")).unwrap().collect();
    assert!(left.is_empty(), "deleted through ocirun: {left:?}");
    let left = ctrd.ctr(&["containers", "ls", "-q"]);
    assert_eq!(String::from_utf8_lossy(&left.stdout), "");
}
