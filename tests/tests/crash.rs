//! Crash consistency of the state store: every point a kill -9 can stop a
//! command at leaves a state that `ps -a` shows truthfully and `rm -f`
//! (or the next command) finishes — each point hit deterministically with
//! `DOCKERISH_CRASH_AT` (dockerish's `crash` module), older versions'
//! half records made by hand, then a soak of random kills. These test the
//! store, not the kernel: they run on the host only.

use std::fs;
use std::time::Duration;

use dockerish_tests::{kill_after, outcome, Sandbox};

/// `dockerish ARGS` that kills itself at `point`.
fn crash_at(sb: &Sandbox, point: &str, args: &[&str]) {
    let mut cmd = sb.command("dockerish");
    cmd.args(args).env("DOCKERISH_CRASH_AT", point);
    let out = outcome(cmd);
    assert_eq!(out.code, 128 + 9, "killed at {point}: {out:?}");
}

/// The entries of ROOT/containers, but its lock file.
fn entries(sb: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(sb.root().join("containers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    names.sort();
    names
}

/// `ps -a`, a line `NAME STATUS` per container.
/// `dockerish system check` (it exits 1 when it finds something).
fn system_check(sb: &Sandbox) -> dockerish_tests::Outcome {
    let mut cmd = sb.command("dockerish");
    cmd.args(["system", "check"]);
    outcome(cmd)
}

fn ps(sb: &Sandbox) -> String {
    let json = sb.dockerish(["ps", "-a", "--format", "json"]).ok();
    json.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {}\n", v["Names"].as_str().unwrap(), v["Status"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn every_crash_point_leaves_a_state_that_ps_shows_and_rm_finishes() {
    let sb = Sandbox::on_host();
    let run = ["run", "-d", "--init", "--network", "none", "--name"];

    // Killed with the records built but not renamed into place: there is
    // no container, the name is free, and the next locked command sweeps.
    crash_at(&sb, "create:built", &[&run[..], &["c1", "busybox", "sleep", "30"]].concat());
    assert!(entries(&sb)[0].starts_with(".new-"), "{:?}", entries(&sb));
    assert_eq!(ps(&sb), "");
    let check = system_check(&sb);
    assert!(
        check.code == 1 && check.stdout.contains("a create or remove that was killed"),
        "{check:?}"
    );
    sb.dockerish(run.iter().copied().chain(["c1", "busybox", "sleep", "30"])).ok();
    assert_eq!(entries(&sb).len(), 1, "swept: {:?}", entries(&sb));
    sb.dockerish(["rm", "-f", "c1"]).ok();

    // Killed once the record exists but before anything started it.
    crash_at(&sb, "run:recorded", &[&run[..], &["c2", "busybox", "sleep", "30"]].concat());
    assert_eq!(ps(&sb), "c2 Created\n");
    sb.dockerish(["rm", "-f", "c2"]).ok();
    assert_eq!(entries(&sb), Vec::<String>::new());

    // Killed after rm took the cgroup down, before it removed the directory.
    sb.dockerish(run.iter().copied().chain(["c3", "busybox", "sleep", "30"])).ok();
    crash_at(&sb, "rm:torn-down", &["rm", "-f", "c3"]);
    assert!(ps(&sb).starts_with("c3 Exited"), "{}", ps(&sb));
    sb.dockerish(["rm", "-f", "c3"]).ok();

    // Killed after the rename, during the delete: gone, name free, files swept.
    sb.dockerish(run.iter().copied().chain(["c4", "busybox", "sleep", "30"])).ok();
    crash_at(&sb, "remove:renamed", &["rm", "-f", "c4"]);
    assert_eq!(ps(&sb), "");
    assert!(entries(&sb)[0].starts_with(".trash-"), "{:?}", entries(&sb));
    sb.dockerish(["system", "check", "--repair"]).ok();
    assert_eq!(entries(&sb), Vec::<String>::new());
    assert_eq!(sb.dockerish(["system", "check"]).ok(), "");

    // What older versions' killed commands left: config.json without
    // state.json (shown Created), state.json without config.json and a
    // lone temporary file (both shown Dead, holding no name).
    sb.dockerish(["run", "--name", "c5", "--network", "none", "busybox", "true"]).ok();
    sb.dockerish(["run", "--name", "c6", "--network", "none", "busybox", "true"]).ok();
    let id = |name: &str| sb.dockerish(["inspect", "-f", "{{.Id}}", name]).ok().trim().to_string();
    let (c5, c6) = (id("c5"), id("c6"));
    let dir = |id: &str| sb.root().join("containers").join(id);
    fs::remove_file(dir(&c5).join("state.json")).unwrap();
    fs::remove_file(dir(&c6).join("config.json")).unwrap();
    let lone = "a".repeat(64);
    fs::create_dir(dir(&lone)).unwrap();
    fs::write(dir(&lone).join(".state.json.XyZ123.tmp"), "{").unwrap();
    let listed = ps(&sb);
    assert!(listed.contains("c5 Created") && listed.matches(" Dead").count() == 2, "{listed}");
    sb.dockerish(["start", &c6]).fails(1, "Dead");
    sb.dockerish(["start", "c5"]).ok();
    sb.dockerish(["rm", "-f", "c5", &c6]).ok();
    let check = system_check(&sb);
    assert!(
        check.code == 1 && check.stdout.contains(&format!("container {lone}: no config.json")),
        "{check:?}"
    );
    sb.dockerish(["run", "--name", "c5", "--network", "none", "busybox", "true"]).ok();
    sb.dockerish(["system", "check", "--repair"]).ok();
    assert_eq!(ps(&sb).lines().count(), 1, "only the new c5: {}", ps(&sb));
    sb.dockerish(["rm", "c5"]).ok();
    assert_eq!(entries(&sb), Vec::<String>::new());

    // What a power failure can leave of a `run --rm` container's records,
    // written without fsync: empty files. Dead, and repaired.
    for name in ["c7", "c8"] {
        sb.dockerish(["run", "--name", name, "--network", "none", "busybox", "true"]).ok();
    }
    let (c7, c8) = (id("c7"), id("c8"));
    fs::write(dir(&c7).join("state.json"), "").unwrap();
    fs::write(dir(&c8).join("config.json"), "").unwrap();
    let listed = ps(&sb);
    assert!(listed.contains("c7 Dead") && listed.matches(" Dead").count() == 2, "{listed}");
    let check = system_check(&sb);
    assert!(check.stdout.contains(&format!("container {c7}: an empty state.json")), "{check:?}");
    assert!(check.stdout.contains(&format!("container {c8}: no config.json")), "{check:?}");
    sb.dockerish(["system", "check", "--repair"]).ok();
    assert_eq!(entries(&sb), Vec::<String>::new());

    // An image load killed half-way: its extraction directory, named by
    // its process, goes once that process is gone; a live one's stays.
    let layers = sb.root().join("images/layers");
    let (dead, live) =
        (layers.join("tmp-999999999-x"), layers.join(format!("tmp-{}-y", std::process::id())));
    for dir in [&dead, &live] {
        fs::create_dir_all(dir.join("bin")).unwrap();
    }
    let check = system_check(&sb);
    assert!(check.code == 1 && check.stdout.contains("tmp-999999999-x"), "{check:?}");
    assert!(!check.stdout.contains("-y"), "the live one is not listed: {check:?}");
    sb.dockerish(["system", "check", "--repair"]).ok();
    assert!(!dead.exists() && live.exists());
    fs::remove_dir_all(&live).unwrap();
}

/// A small fixed-seed generator (the soak repeats itself exactly).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn a_soak_of_kill_9s_leaves_nothing_behind() {
    // Every other cycle on the default bridge: netctl's records, addresses,
    // veths and rules must come out of the kills consistent too.
    let sb = Sandbox::new();
    let cycles: u64 =
        std::env::var("DOCKERISH_SOAK_CYCLES").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
    let mut rng = Lcg(17);
    let mut killed = 0;
    for i in 0..cycles {
        let name = format!("s{i}");
        let network = if i % 2 == 0 { "none" } else { "bridge" };
        let calls: [Vec<&str>; 3] = [
            vec![
                "run",
                "-d",
                "--init",
                "--network",
                network,
                "--name",
                &name,
                "busybox",
                "sleep",
                "30",
            ],
            vec!["stop", "-t", "1", &name],
            vec!["rm", "-f", &name],
        ];
        for args in &calls {
            let mut cmd = sb.command("dockerish");
            cmd.args(args);
            if rng.next(4) == 0 {
                kill_after(&mut cmd, Duration::from_millis(rng.next(40)));
                killed += 1;
            } else {
                outcome(cmd);
            }
        }
    }
    assert!(killed > cycles / 2, "about a quarter of {} calls were killed: {killed}", cycles * 3);
    // One clean-up pass, as a user would: then nothing of the project is left.
    let all = sb.dockerish(["ps", "-aq", "--no-trunc"]).ok();
    let ids: Vec<&str> = all.lines().collect();
    let passing = entries(&sb).iter().filter(|e| e.starts_with('.')).count();
    eprintln!(
        "soak: {cycles} cycles, {killed} of {} calls killed; left: {} containers, {passing} in passing",
        cycles * 3,
        ids.len()
    );
    if !ids.is_empty() {
        sb.dockerish(["rm", "-f"].into_iter().chain(ids.iter().copied())).ok();
    }
    sb.dockerish(["container", "prune", "-f"]).ok();
    assert_eq!(ps(&sb), "", "no container left");
    assert_eq!(entries(&sb), Vec::<String>::new(), "no directory or temporary file left");
    assert_eq!(sb.dockerish(["system", "check"]).ok(), "", "consistent");
    assert_eq!(sb.netctl(["gc"]).ok(), "", "netctl had nothing left to undo");
    let netns: Vec<_> = fs::read_dir(sb.root().join("netns")).unwrap().flatten().collect();
    assert!(netns.is_empty(), "no network namespace left: {netns:?}");
    let ipam = sb.root().join("networks/bridge/ipam");
    let held: Vec<_> = fs::read_dir(&ipam)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "last_reserved")
        .collect();
    assert!(held.is_empty(), "no address held: {held:?}");
    let ours = format!("dockerish-supervisor\0--root\0{}", sb.root().display());
    let supervisors: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .filter(|c| c.contains(&ours))
        .collect();
    assert!(supervisors.is_empty(), "no supervisor left: {supervisors:?}");
}

/// The names in `dir`, but dotfiles and IPAM's `last_reserved`.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return vec![] };
    let names = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned());
    names.filter(|n| !n.starts_with('.') && n != "last_reserved").collect()
}

#[test]
fn netctl_killed_at_any_moment_of_an_attach_is_undone_by_gc() {
    let sb = Sandbox::new();
    // The network exists first (its bridge and table), so that each kill
    // lands inside the attachment's own steps.
    sb.dockerish(["run", "--rm", "busybox", "true"]).ok();
    for (i, delay) in [0u64, 1, 2, 3, 4, 6, 8, 12, 20].into_iter().enumerate() {
        let id = format!("k{i}");
        let netns = sb.root().join("netns").join(&id);
        let mut cmd = sb.command("netctl");
        let port = format!("{}:80", 18190 + i);
        cmd.args(["attach", "bridge", "--new-netns", "--id", &id, "-p", &port])
            .arg("--netns")
            .arg(&netns);
        kill_after(&mut cmd, Duration::from_millis(delay));
        // An attach that was not complete is undone by gc; one that was
        // is a valid attachment until its owner detaches it.
        sb.netctl(["gc"]).ok();
        let attachment = sb.root().join(format!("networks/bridge/attachments/{id}.json"));
        if attachment.exists() {
            let record: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(&attachment).unwrap()).unwrap();
            assert_eq!(record["complete"], true, "gc keeps only complete attachments: {record}");
            sb.netctl(["detach", "--id", &id]).ok();
        }
    }
    assert_eq!(names_in(&sb.root().join("netns")), Vec::<String>::new(), "no namespace left");
    assert_eq!(
        names_in(&sb.root().join("networks/bridge/ipam")),
        Vec::<String>::new(),
        "no address held"
    );
    assert_eq!(names_in(&sb.root().join("networks/bridge/attachments")), Vec::<String>::new());
    assert_eq!(sb.netctl(["gc"]).ok(), "", "nothing left to undo");
}
