//! One container's life, the part every command shares: the tool chain
//! that runs it, its start, and its end.
//!
//! The chain is what a person would type, each tool exec'ing the next
//! (`launch` does its first step, `cgctl exec --create`, through cgctl's
//! library: see [`create_cgroup_for`]):
//!
//! ```text
//! cgctl exec --create --memory M … PARENT/ID -- \
//!     ns-exec --pid --mount --uts --ipc --cgroup --net --hostname H --pidfile DIR/pid -- \
//!     rootfs enter --dir DIR --lower LAYER… -e K=V… -w W \
//!         --caps CHOWN,… --seccomp default -- CMD…
//! ```
//!
//! The cgroup is joined first, so that every process of the container is
//! in it from its first instruction; the cgroup namespace is made after
//! that, so the container sees its own cgroup as `/`. When the container
//! has ended, `cgctl rm --force --parents` removes the cgroup and reports
//! whether the OOM killer struck: what `--dry-run` prints, done through
//! cgctl's library (the same code, without an exec of ~1.5 ms).
//!
//! Its users: `run` (a foreground container, or `-d`), the supervisor (a
//! detached one), `start`, `rm` and `container prune`. This module imports
//! none of them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use console_socket::start::{self, Outcome};
use console_socket::Listener;
use netctl::attach::Attached;

use crate::error::{Error, Result, ToolError};
use crate::pty;
use crate::signals::Forwarder;
use crate::state::{Config, Container, Containers, Network, Status};
use crate::tools::{run_json, run_quiet, shell_line, Tools};
use pidref::ProcessRef;

/// The tool chain that runs `config` with its state in `dir`. With `-t`,
/// `console` is the socket rootfs sends the container's terminal to;
/// without one (a script for a person) the container uses the terminal the
/// chain runs on, made its controlling terminal by `ns-exec --ctty`.
/// `start` is where rootfs reports the start (`launch`); none for a person.
pub fn chain(
    tools: &Tools,
    config: &Config,
    dir: &Path,
    console: Option<&Path>,
    start: Option<&Path>,
) -> Result<Vec<String>> {
    let mut argv =
        vec![tools.path("cgctl")?.display().to_string(), "exec".into(), "--create".into()];
    argv.extend(limits(config).to_args());
    argv.extend([config.cgroup().to_string(), "--".into()]);
    argv.extend(chain_in_cgroup(tools, config, dir, console, start)?);
    Ok(argv)
}

/// What `cgctl exec --create` runs in the new cgroup: ns-exec, rootfs and
/// the command (`launch` runs this part itself, see [`create_cgroup_for`]).
fn chain_in_cgroup(
    tools: &Tools,
    config: &Config,
    dir: &Path,
    console: Option<&Path>,
    start: Option<&Path>,
) -> Result<Vec<String>> {
    let path = |name| tools.path(name).map(|p| p.display().to_string());
    let dir_text = dir.display().to_string();
    let mut argv = vec![
        path("ns-exec")?,
        "--pid".into(),
        "--mount".into(),
        "--uts".into(),
        "--ipc".into(),
        "--cgroup".into(),
    ];
    match &config.network {
        Network::None => argv.push("--net".into()),
        Network::Host => {}
        Network::Named(_) => argv.push(format!("--net={}", netns_path(tools, config).display())),
    }
    argv.extend(["--hostname".into(), config.hostname.clone()]);
    if config.init {
        argv.push("--init".into());
    }
    if config.tty && console.is_none() {
        argv.push("--ctty".into());
    }
    argv.extend(["--pidfile".into(), format!("{dir_text}/pid"), "--".into()]);
    argv.extend([
        path("rootfs")?,
        "enter".into(),
        "--no-unshare".into(),
        "--dir".into(),
        dir_text.clone(),
    ]);
    for layer in &config.layers {
        argv.extend(["--lower".into(), layer.display().to_string()]);
    }
    argv.extend(["--hostname".into(), config.hostname.clone()]);
    match &config.network {
        // netctl keeps this /etc/hosts, names of the network's containers included.
        Network::Named(_) => argv.extend(["--hosts-file".into(), format!("{dir_text}/hosts")]),
        _ => config.add_hosts.iter().for_each(|h| argv.extend(["--add-host".into(), h.clone()])),
    }
    for dns in &config.dns {
        argv.extend(["--dns".into(), dns.to_string()]);
    }
    for volume in &config.volumes {
        argv.extend(["-v".into(), volume.to_string()]);
    }
    for entry in &config.env {
        argv.extend(["-e".into(), entry.clone()]);
    }
    argv.extend(["-w".into(), config.workdir.clone()]);
    if config.read_only {
        argv.push("--read-only".into());
    }
    if let Some(user) = &config.user {
        argv.extend(["--user".into(), user.clone()]);
    }
    argv.extend(config.security.tool_flags(&crate::security::cache_dir(tools.root()))?);
    argv.extend(config.security.rootfs_flags());
    argv.push(if config.security.privileged { "--unmask" } else { "--nodev" }.into());
    if let (true, Some(socket)) = (config.tty, console) {
        argv.extend(["--console-socket".into(), socket.display().to_string()]);
    }
    if let Some(socket) = start {
        argv.extend(["--start-socket".into(), socket.display().to_string()]);
    }
    argv.push("--".into());
    argv.extend(config.command.iter().cloned());
    Ok(argv)
}

/// The container's cgroup limits: its resources and device list.
fn limits(config: &Config) -> cgctl::Limits {
    let mut limits = config.resources.clone();
    limits.devices = config.security.device_rules(config.resources.devices.as_deref());
    limits
}

/// The chain's first step, `cgctl exec --create LIMITS… CGROUP -- NEXT…`,
/// without its exec: the cgroup is made through cgctl's library, and
/// `cmd`, the command for NEXT, joins it between fork and exec, as cgctl
/// would have joined it before exec'ing NEXT (by a write of `0` to each
/// hierarchy's `tasks`, or `cgroup.procs` on v2). One exec fewer per
/// start: 1.1 ms here. The cgroup is removed again if it cannot be joined.
fn create_cgroup_for(config: &Config, cmd: &mut Command) -> Result<()> {
    let cgroup =
        cgctl::Cgroup::create(&cgctl::Layout::detect()?, &config.cgroup(), &limits(config))?;
    if let Err(e) = join_in_child(&cgroup, cmd) {
        let _ = remove_cgroup(config);
        return Err(e);
    }
    Ok(())
}

/// Makes `cmd`'s process join `cgroup` between fork and exec (a write of
/// `0` to each hierarchy's `tasks`, or `cgroup.procs` on v2, through files
/// opened now), as `cgctl exec` would before exec'ing it.
pub fn join_in_child(cgroup: &cgctl::Cgroup, cmd: &mut Command) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let files = cgroup.self_join_files()?;
    // SAFETY: the hook only calls write(2), async-signal-safe, on files
    // it owns; the child of a fork has one thread, so `tasks` moves it all.
    unsafe {
        cmd.pre_exec(move || {
            for file in &files {
                if libc::write(file.as_raw_fd(), b"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    Ok(())
}

/// Where a container on a netctl network has its network namespace.
pub fn netns_path(tools: &Tools, config: &Config) -> PathBuf {
    tools.root().join("netns").join(&config.id)
}

/// The networks the container joins at each start, the first one first.
fn networks(config: &Config) -> Vec<&str> {
    match &config.network {
        Network::Named(name) => std::iter::once(name.as_str())
            .chain(config.extra_networks.iter().map(String::as_str))
            .collect(),
        _ => vec![],
    }
}

/// `netctl attach` of the container to `network`: the first one makes the
/// namespace (`--new-netns`) and takes the ports, address and extra
/// hosts; `owner` is the process the attachment lasts for (its monitor).
pub fn attach_argv(
    tools: &Tools,
    config: &Config,
    dir: &Path,
    network: &str,
    first: bool,
    owner: Option<u32>,
) -> Result<Vec<String>> {
    let mut argv = tools.netctl_argv(["attach", network])?;
    argv.extend(["--netns".into(), netns_path(tools, config).display().to_string()]);
    if first {
        argv.push("--new-netns".into());
    }
    argv.extend(["--id".into(), config.id.clone(), "--name".into(), config.name.clone()]);
    argv.extend(["--hostname".into(), config.hostname.clone()]);
    argv.extend(["--hosts-file".into(), dir.join("hosts").display().to_string()]);
    for alias in &config.aliases {
        argv.extend(["--alias".into(), alias.clone()]);
    }
    if first {
        for p in &config.ports {
            argv.extend(["-p".into(), p.spec()]);
        }
        if let Some(ip) = config.ip {
            argv.extend(["--ip".into(), ip.to_string()]);
        }
        for h in &config.add_hosts {
            argv.extend(["--add-host".into(), h.clone()]);
        }
    }
    if let Some(pid) = owner {
        argv.extend(["--owner".into(), pid.to_string()]);
    }
    Ok(argv)
}

/// Attaches the container to its networks (none for `none` and `host`);
/// returns where it is on each. Run by its monitor, which owns them.
fn attach_networks(tools: &Tools, container: &Container) -> Result<Vec<Attached>> {
    let mut attached = Vec::new();
    for (i, net) in networks(&container.config).into_iter().enumerate() {
        let owner = Some(std::process::id());
        let argv = attach_argv(tools, &container.config, &container.dir, net, i == 0, owner)?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        let no_such =
            || Error::Tool { tool: "netctl".into(), why: format!("no such network: {net}") };
        attached.push(run_json::<Attached>(cmd, "netctl")?.ok_or_else(no_such)?);
    }
    Ok(attached)
}

/// The commands a person types to run the container by hand: its
/// directory, its network, the chain (one tool per line), then the
/// teardown of both.
pub fn dry_run_script(tools: &Tools, config: &Config, dir: &Path) -> Result<String> {
    let argv = chain(tools, config, dir, None, None)?;
    // Break the line before each tool's `--` (the first three; the command
    // itself may contain more).
    let mut lines: Vec<&[String]> = Vec::new();
    let mut rest = &argv[..];
    for _ in 0..3 {
        let Some(at) = rest.iter().skip(1).position(|a| a == "--") else { break };
        lines.push(&rest[..at + 1]);
        rest = &rest[at + 1..];
    }
    lines.push(rest);
    let body: Vec<String> = lines.iter().map(|l| shell_line(l)).collect();
    let cgctl = tools.path("cgctl")?.display().to_string();
    let cgroup = config.cgroup().to_string();
    let mut setup = vec![shell_line(&["mkdir", "-p", &dir.display().to_string()])];
    let mut teardown = vec![shell_line(&[cgctl.as_str(), "rm", "--force", "--parents", &cgroup])];
    for (i, net) in networks(config).into_iter().enumerate() {
        setup.push(
            shell_line(&attach_argv(tools, config, dir, net, i == 0, None)?) + " > /dev/null",
        );
    }
    if !networks(config).is_empty() {
        teardown.push(shell_line(&tools.netctl_argv(["detach", "--id", &config.id])?));
    }
    Ok(format!(
        "# {name} ({id}) from image {image} ({image_id}), by hand, as root:\n{setup}\n{body}\n\
         status=$?\n{teardown}\nexit $status\n",
        setup = setup.join("\n"),
        teardown =
            teardown.iter().map(|t| format!("{t} > /dev/null")).collect::<Vec<_>>().join("\n"),
        name = config.name,
        id = config.id,
        image = config.image,
        image_id = config.image_id,
        body = body.join(" \\\n    "),
    ))
}

/// How the start of a chain went.
pub enum Start {
    /// The container's command runs; `terminal` is its pty with `-t`;
    /// `networks` where it is on each of its networks.
    Running { init: Option<ProcessRef>, terminal: Option<pty::Terminal>, networks: Vec<Attached> },
    /// A tool or the exec of the command failed: the chain exits with
    /// 125, 126 or 127; `message` is rootfs's report, if it got that far.
    Failed { message: String },
}

/// Spawns the chain for `container` (its cgroup made here, ns-exec on) with the given stdio and waits until
/// its command runs or the start has failed, forwarding signals meanwhile.
///
/// "Runs" means exec'd, not merely forked: rootfs reports on
/// `start.sock` (`rootfs enter --start-socket`): it writes its error there,
/// or its close-on-exec connection closes when execve(2) succeeds. With
/// `-t`, the container's terminal arrives first on `console.sock`; the
/// command starts once we close that connection (after setting the window
/// size to `size`).
pub fn launch(
    tools: &Tools,
    container: &Container,
    stdio: [Stdio; 3],
    forwarder: &Forwarder,
    size: Option<libc::winsize>,
) -> Result<(Child, Start)> {
    let console = match container.config.tty {
        true => Some(pty::ConsoleSocket::bind(&container.dir.join("console.sock"))?),
        false => None,
    };
    let start_socket = container.dir.join("start.sock");
    let listener = Listener::bind(&start_socket).map_err(Error::io("listen on", &start_socket))?;
    let _ = fs::remove_file(container.dir.join("pid"));
    container.config.security.compile_filter(&crate::security::cache_dir(tools.root()))?;
    // The network exists, wired and addressed, before the first process.
    let networks = attach_networks(tools, container)?;

    let next = chain_in_cgroup(
        tools,
        &container.config,
        &container.dir,
        console.as_ref().map(|c| c.path()),
        Some(&start_socket),
    )?;
    let mut cmd = Command::new(&next[0]);
    cmd.args(&next[1..]);
    create_cgroup_for(&container.config, &mut cmd)?;
    Forwarder::unblock_in_child(&mut cmd);
    let [stdin, stdout, stderr] = stdio;
    cmd.stdin(stdin).stdout(stdout).stderr(stderr);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = remove_cgroup(&container.config);
            return Err(Error::io("run", &next[0])(e));
        }
    };

    let terminal = match &console {
        Some(socket) => match socket.receive(forwarder, &mut child)? {
            Some(terminal) => Some(terminal.start(size)),
            None => return Ok((child, Start::Failed { message: String::new() })),
        },
        None => None,
    };
    drop(console);
    let report = forwarder.accept(&listener, &mut child)?.map(start::outcome);
    let start = match report {
        Some(Outcome::Started) => {
            Start::Running { init: wait_for_init(container, &mut child), terminal, networks }
        }
        Some(Outcome::Failed(message)) => Start::Failed { message },
        None => Start::Failed { message: String::new() },
    };
    Ok((child, start))
}

/// The init's PID, from the pidfile ns-exec writes once rootfs runs (it
/// may land a moment after the command started), with its start time.
/// `None` if the chain has ended already.
fn wait_for_init(container: &Container, child: &mut Child) -> Option<ProcessRef> {
    loop {
        if let Some(pid) =
            fs::read_to_string(container.dir.join("pid")).ok().and_then(|p| p.trim().parse().ok())
        {
            return ProcessRef::of(pid);
        }
        if !matches!(child.try_wait(), Ok(None)) {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Records that the container's command runs, with its init and where it
/// is on its networks: the end of every successful start (foreground
/// `run`, supervisor).
pub fn mark_running(
    containers: &Containers,
    id: &str,
    init: Option<ProcessRef>,
    networks: Vec<Attached>,
) -> Result<Container> {
    let container = containers.update(id, |c| {
        c.state.status = Status::Running;
        c.state.init = init;
        c.state.networks = networks;
        c.state.started_at = Some(tool_cli::human::now());
        Ok(())
    })?;
    crate::events::container(containers, "start", &container.config, &[]);
    Ok(container)
}

/// Records the end of a container that exited with `code`: removes its
/// cgroup (noting whether the OOM killer struck), then, under the lock,
/// marks it exited, or removes it if it was run with `--rm`. Its monitor
/// calls this as its last act.
pub fn finish(tools: &Tools, containers: &Containers, config: &Config, code: i32) -> Result<()> {
    let oom_killed = match teardown(tools, config) {
        Ok(stats) => stats.and_then(|s| s.memory).is_some_and(|m| m.oom_kill > 0),
        Err(e) => {
            eprintln!("dockerish: {e}");
            false
        }
    };
    let _lock = containers.lock()?;
    let mut container = containers.load(&config.id)?;
    // As the record is now (a rename while it ran is in it); a container
    // stopped in a restart back-off had its `die` logged when it exited.
    if !container.state.backing_off {
        let exit_code = code.to_string();
        let event = [("exitCode", exit_code.as_str())];
        crate::events::container(containers, "die", &container.config, &event);
    }
    if config.auto_remove {
        // Docker's --rm takes the anonymous volumes along.
        return discard(containers, &container, true);
    }
    let state = &mut container.state;
    state.status = Status::Exited;
    state.exit_code = Some(code);
    state.oom_killed = oom_killed;
    state.paused = false;
    state.finished_at = Some(tool_cli::human::now());
    state.monitor = None;
    state.init = None;
    state.backing_off = false;
    state.networks.clear();
    container.save_state()
}

/// Takes down what the container's start made: its cgroup (and the
/// parent, if it was the last one there), killing what may still run in
/// it, then its networks and their namespace (`netctl detach`, which finds
/// nothing to do for a container never attached). Returns the cgroup's last
/// statistics, or `None` if there was no cgroup. Safe to repeat.
pub fn teardown(tools: &Tools, config: &Config) -> Result<Option<cgctl::Stats>> {
    if networks(config).is_empty() {
        return remove_cgroup(config);
    }
    // The two are independent (a process left in the namespace keeps it
    // only until the cgroup's removal kills it): run at once, a
    // start-and-stop is ~3 ms shorter.
    let detach = tools.netctl(["detach", "--id", &config.id])?;
    std::thread::scope(|s| {
        let network = s.spawn(|| run_quiet(detach, "netctl"));
        let stats = remove_cgroup(config);
        let network = network.join().expect("the detach thread does not panic");
        let stats = stats?;
        network.map(|()| stats)
    })
}

/// `cgctl rm --force --parents CGROUP`: kills what is left in the
/// container's cgroup, removes it and the parent it leaves empty, and
/// returns its last statistics; `None` if there is no such cgroup.
fn remove_cgroup(config: &Config) -> Result<Option<cgctl::Stats>> {
    let options = cgctl::RemoveOptions { force: true, parents: true, ..Default::default() };
    match cgctl::Cgroup::open(&cgctl::Layout::detect()?, &config.cgroup()) {
        Ok(cgroup) => Ok(Some(cgroup.remove(options)?)),
        Err(cgctl::Error::NoSuchCgroup(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes a container that does not run: its directory (records and
/// writable layer) and, with `volumes`, its anonymous volumes. Its cgroup
/// and networks must be gone already (`teardown`).
pub fn discard(containers: &Containers, container: &Container, volumes: bool) -> Result<()> {
    containers.remove(container)?;
    crate::events::container(containers, "destroy", &container.config, &[]);
    if volumes {
        crate::volumes::remove(&container.config.anonymous_volumes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut config: Config =
            serde_json::from_str(include_str!("../tests/fixtures/config-2026-11.json")).unwrap();
        config.command = ["sh", "-c", "echo a -- b", "--"].map(String::from).to_vec();
        config.env.push("QUOTE=it's".into());
        config
    }

    fn tools() -> Tools {
        Tools::in_dir(Path::new("/state"), Path::new("/opt/dk"))
    }

    /// Splits argv at each tool's own `--`, as the chain nests them.
    fn stages(argv: &[String]) -> Vec<Vec<String>> {
        let mut out = vec![vec![]];
        for a in argv {
            if a == "--" && out.len() < 4 {
                out.push(vec![]);
            } else {
                out.last_mut().unwrap().push(a.clone());
            }
        }
        out
    }

    #[test]
    fn the_chain_nests_cgctl_ns_exec_rootfs_and_the_command() {
        let (c, dir) = (config(), Path::new("/state/containers/abc"));
        let argv = chain(&tools(), &c, dir, None, Some(&dir.join("start.sock"))).unwrap();
        let s = stages(&argv);
        assert_eq!(s.len(), 4, "{argv:?}");
        let cgroup = c.cgroup().to_string();
        assert_eq!(
            s[0],
            ["/opt/dk/cgctl", "exec", "--create", "--memory=67108864", "--memory-swap=134217728"]
                .into_iter()
                .chain(["--cpus=0.5", "--pids-limit=50", "--devices-default", cgroup.as_str()])
                .collect::<Vec<_>>()
        );
        assert_eq!(s[1][0], "/opt/dk/ns-exec");
        for flag in ["--pid", "--mount", "--uts", "--ipc", "--cgroup", "--net"] {
            assert!(s[1].contains(&flag.to_string()), "{flag} missing: {:?}", s[1]);
        }
        assert!(s[1].windows(2).any(|w| w == ["--pidfile", "/state/containers/abc/pid"]));
        assert!(!s[1].contains(&"--ctty".to_string()), "no terminal asked for");
        assert_eq!(s[2][..3], ["/opt/dk/rootfs", "enter", "--no-unshare"]);
        assert!(s[2].windows(2).any(|w| w == ["-v", "/tmp:/data:ro"]));
        assert!(s[2].windows(2).any(|w| w == ["-e", "QUOTE=it's"]));
        assert!(s[2]
            .windows(2)
            .any(|w| w == ["--start-socket", "/state/containers/abc/start.sock"]));
        assert_eq!(s[3], c.command, "the command is passed whole, its own `--` included");
    }

    #[test]
    fn a_terminal_is_made_inside_or_taken_from_the_caller() {
        let mut c = config();
        c.tty = true;
        let dir = Path::new("/d");
        let socket = chain(&tools(), &c, dir, Some(Path::new("/d/console.sock")), None).unwrap();
        assert!(socket.windows(2).any(|w| w == ["--console-socket", "/d/console.sock"]));
        assert!(!socket.contains(&"--ctty".to_string()));
        let by_hand = chain(&tools(), &c, dir, None, None).unwrap();
        assert!(
            by_hand.contains(&"--ctty".to_string()),
            "a person's terminal becomes the container's"
        );
        assert!(!by_hand.iter().any(|a| a.contains("socket")), "{by_hand:?}");
        c.network = Network::Host;
        assert!(!chain(&tools(), &c, dir, None, None).unwrap().contains(&"--net".to_string()));
    }

    #[test]
    fn the_dry_run_is_a_script_of_one_tool_per_line() {
        let c = config();
        let script = dry_run_script(&tools(), &c, Path::new("/state/containers/abc")).unwrap();
        let lines: Vec<&str> = script.lines().collect();
        assert!(lines[2..5].iter().all(|l| l.ends_with(" \\")), "one tool a line: {script}");
        assert!(
            lines[0].starts_with("# pinned (") && lines[0].contains("from image busybox"),
            "{script}"
        );
        assert_eq!(lines[1], "mkdir -p /state/containers/abc");
        assert!(lines[2].starts_with("/opt/dk/cgctl exec --create"), "{script}");
        assert!(lines[3].trim_start().starts_with("-- /opt/dk/ns-exec --pid"), "{script}");
        assert!(lines[4].trim_start().starts_with("-- /opt/dk/rootfs enter"), "{script}");
        assert!(lines[4].contains(r"'QUOTE=it'\''s'"), "quoted for the shell: {}", lines[4]);
        // What the container may do is on the exec end's line.
        for flag in ["--caps=CHOWN,DAC_OVERRIDE,", "--seccomp=bpf:/state/seccomp/", "--nodev"] {
            assert!(lines[4].contains(flag), "{flag} in {}", lines[4]);
        }
        assert_eq!(lines[5].trim_start(), "-- sh -c 'echo a -- b' --");
        assert_eq!(lines[6], "status=$?");
        let teardown = format!("/opt/dk/cgctl rm --force --parents {} > /dev/null", c.cgroup());
        assert_eq!(lines[7], teardown);
        assert_eq!(lines[8], "exit $status");
    }
}
