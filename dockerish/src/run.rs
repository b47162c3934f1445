//! `dockerish run`: check everything, record the container, run the tool
//! chain, wait, record how it ended.
//!
//! The chain is what a person would type, each tool exec'ing the next:
//!
//! ```text
//! cgctl exec --create --memory M … PARENT/ID -- \
//!     ns-exec --pid --mount --uts --ipc --cgroup --net --hostname H --pidfile DIR/pid -- \
//!     rootfs enter --dir DIR --lower LAYER… -e K=V… -w W -- CMD…
//! ```
//!
//! The cgroup is joined first, so that every process of the container is
//! in it from its first instruction; the cgroup namespace is made after
//! that, so the container sees its own cgroup as `/`. When the container
//! has ended, `cgctl rm` removes the cgroup and reports whether the OOM
//! killer struck. `--dry-run` prints exactly that, instead of running it.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use console_socket::start::{self, Outcome};
use console_socket::Listener;
use imgtool::ImageInfo;
use rootfs::Volume;

use crate::cli::{Network, RunArgs};
use crate::error::{Error, Result, ToolError};
use crate::signals::Forwarder;
use crate::state::{Config, Container, Containers, ProcessRef, Status};
use crate::tools::{run_json, shell_line, Tools};
use crate::{names, pty};

/// Runs a container: in the foreground, returning its exit status, or
/// with `-d` under a supervisor, printing its ID once it runs.
pub fn run(root: &Path, args: RunArgs) -> Result<i32> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?;
    let (image_name, command) = args.image_and_command.split_first().expect("clap requires IMAGE");
    check_flags(&args)?;
    let image = tools.resolve_image(image_name)?;
    if args.dry_run {
        let config = configure(&args, image_name, command, &image, &containers.all()?, root)?;
        print!("{}", dry_run_script(&tools, &config, &containers.dir_of(&config.id))?);
        return Ok(0);
    }
    let mut container = {
        // Under the lock, so that 20 parallel runs get 20 different names.
        let _lock = containers.lock()?;
        let all = containers.all()?;
        let config = configure(&args, image_name, command, &image, &all, root)?;
        if let Some(other) = all.into_iter().find(|c| c.config.name == config.name) {
            return Err(Error::NameInUse { name: config.name, id: other.config.id });
        }
        make_volumes(&config)?;
        // Marked as starting, by us, until the monitor takes over: `rm`
        // and `prune` leave it alone meanwhile.
        containers.create(&config, ProcessRef::of(std::process::id() as i32))?
    };
    if args.detach {
        return match crate::supervisor::spawn(&tools, root, &container) {
            Ok(None) => {
                println!("{}", container.config.id);
                Ok(0)
            }
            // The supervisor has recorded (or, with --rm, removed) it.
            Ok(Some((code, message))) => {
                eprintln!("dockerish: {message}");
                Ok(code)
            }
            Err(e) => {
                let _ = remove_cgroup(&tools, &container.config);
                let _ = discard(&containers, &container, true);
                Err(e)
            }
        };
    }
    let result = start_and_wait(&tools, &mut container, &containers);
    if result.is_err() {
        // The chain may have made the cgroup before it failed.
        let _ = remove_cgroup(&tools, &container.config);
        let current = containers.load(&container.config.id).map(|c| c.state.status);
        if container.config.auto_remove || current.is_ok_and(|s| s == Status::Created) {
            let _ = discard(&containers, &container, true);
        }
    }
    result
}

/// Removes a container that does not run: its directory (records and
/// writable layer) and, with `volumes`, its anonymous volumes. Its cgroup
/// must be gone already (`remove_cgroup`).
pub fn discard(containers: &Containers, container: &Container, volumes: bool) -> Result<()> {
    containers.remove(container)?;
    if volumes {
        for dir in &container.config.anonymous_volumes {
            imgtool::store::remove_tree(dir).map_err(Error::Image)?;
        }
    }
    Ok(())
}

/// Creates the directories of the container's anonymous volumes.
fn make_volumes(config: &Config) -> Result<()> {
    for dir in &config.anonymous_volumes {
        let data = dir.join("_data");
        fs::create_dir_all(&data).map_err(Error::io("create volume", &data))?;
    }
    Ok(())
}

/// Refuses bad flags before anything is created.
fn check_flags(args: &RunArgs) -> Result<()> {
    if let Some(name) = &args.name {
        names::validate(name)?;
    }
    if let Some(host) = &args.hostname {
        tool_cli::hostname::validate(host)?;
    }
    for spec in args.volumes.iter().filter(|v| v.contains(':')) {
        let volume: Volume = spec.parse()?;
        fs::metadata(&volume.source).map_err(|e| {
            Error::invalid(
                "volume",
                spec,
                format!(
                    "source {}: {}",
                    volume.source.display(),
                    nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)).desc()
                ),
            )
        })?;
    }
    if let Some(dir) = &args.workdir {
        rootfs::spec::check_container_path("working directory", Path::new(dir))?;
    }
    if let Some(memory) = args.limits.memory.filter(|&m| m < MIN_MEMORY) {
        return Err(Error::invalid(
            "--memory",
            memory.to_string(),
            "Minimum memory limit allowed is 6MB",
        ));
    }
    // What only this host can tell (its CPUs, its controllers); without
    // limits there is nothing to ask it.
    let limits = cgctl::Limits::from(args.limits.clone());
    if !limits.is_empty() {
        limits.check(&cgctl::Layout::detect()?)?;
    }
    Ok(())
}

/// Docker's smallest `--memory`: below it a container cannot even start.
const MIN_MEMORY: u64 = 6 << 20;

/// Resolves the container's config from the flags and the image.
fn configure(
    args: &RunArgs,
    image_name: &str,
    command: &[String],
    image: &ImageInfo,
    all: &[Container],
    root: &Path,
) -> Result<Config> {
    let id = names::random_id()?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => {
            let taken: Vec<String> = all.iter().map(|c| c.config.name.clone()).collect();
            names::generate(&taken)
        }
    };
    // `-v DST` (no source): an anonymous volume, a directory of its own
    // under ROOT/volumes that outlives the container unless `rm -v`.
    let mut volumes = Vec::new();
    let mut anonymous_volumes = Vec::new();
    for spec in &args.volumes {
        if spec.contains(':') {
            volumes.push(spec.clone());
            continue;
        }
        rootfs::spec::check_container_path("volume", Path::new(spec))?;
        let dir = root.join("volumes").join(names::random_id()?);
        volumes.push(format!("{}:{spec}", dir.join("_data").display()));
        anonymous_volumes.push(dir);
    }
    let hostname = args.hostname.clone().unwrap_or_else(|| id[..12].to_string());
    let command = resolve_command(args.entrypoint.as_deref(), command, image)?;

    let mut env = Env::default();
    for entry in &image.config.env {
        env.set_entry(entry);
    }
    env.set("HOSTNAME", &hostname);
    if args.tty {
        env.set("TERM", "xterm");
    }
    for file in &args.env_files {
        let text = fs::read_to_string(file).map_err(Error::io("read env file", file))?;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            env.set_flag(line)?;
        }
    }
    for entry in &args.env {
        env.set_flag(entry)?;
    }
    if !env.has("HOME") {
        env.set("HOME", "/root");
    }
    let workdir = args
        .workdir
        .clone()
        .filter(|w| !w.is_empty())
        .or_else(|| Some(image.config.working_dir.clone()).filter(|w| !w.is_empty()));

    Ok(Config {
        name,
        image: image_name.to_string(),
        image_id: image.id.clone(),
        created: tool_cli::human::now(),
        command,
        env: env.entries(),
        workdir: workdir.unwrap_or_else(|| "/".into()),
        hostname,
        volumes,
        anonymous_volumes,
        layers: image.layers.iter().rev().map(|l| l.path.clone()).collect(),
        read_only: args.read_only,
        init: args.init,
        tty: args.tty,
        interactive: args.interactive,
        auto_remove: args.rm,
        network: args.network.name().to_string(),
        cgroup: args.cgroup_parent.join(&id)?.to_string(),
        resources: args.limits.clone().into(),
        id,
    })
}

/// Docker's rule: `--entrypoint` replaces the image's entrypoint and drops
/// its CMD; arguments after the image replace CMD.
fn resolve_command(
    entrypoint: Option<&str>,
    args: &[String],
    image: &ImageInfo,
) -> Result<Vec<String>> {
    let (entry, cmd) = match entrypoint {
        Some("") => (vec![], args.to_vec()),
        Some(e) => (vec![e.to_string()], args.to_vec()),
        None if args.is_empty() => (image.config.entrypoint.clone(), image.config.cmd.clone()),
        None => (image.config.entrypoint.clone(), args.to_vec()),
    };
    let command: Vec<String> = entry.into_iter().chain(cmd).collect();
    if command.is_empty() {
        return Err(Error::Refused(
            "no command specified: the image has none, give one after the image name".into(),
        ));
    }
    Ok(command)
}

/// The environment, in the order variables were first set, a later value
/// replacing an earlier one.
#[derive(Default)]
pub struct Env {
    order: Vec<String>,
    values: HashMap<String, String>,
}

impl Env {
    fn set(&mut self, key: &str, value: &str) {
        if self.values.insert(key.to_string(), value.to_string()).is_none() {
            self.order.push(key.to_string());
        }
    }

    pub fn set_entry(&mut self, entry: &str) {
        if let Some((k, v)) = entry.split_once('=') {
            self.set(k, v);
        }
    }

    /// `-e KEY=VALUE`, or `-e KEY`: the value of KEY here, if it is set.
    pub fn set_flag(&mut self, flag: &str) -> Result<()> {
        let (key, value) = match flag.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (flag, std::env::var(flag).ok()),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(Error::invalid("environment variable", flag, "expected KEY=VALUE or KEY"));
        }
        if let Some(value) = value {
            self.set(key, &value);
        }
        Ok(())
    }

    fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    pub fn entries(&self) -> Vec<String> {
        self.order.iter().map(|k| format!("{k}={}", self.values[k])).collect()
    }
}

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
    let path = |name| tools.path(name).map(|p| p.display().to_string());
    let dir_text = dir.display().to_string();
    let mut argv = vec![path("cgctl")?, "exec".into(), "--create".into()];
    argv.extend(config.resources.to_args());
    argv.extend([config.cgroup.clone(), "--".into()]);
    argv.extend([
        path("ns-exec")?,
        "--pid".into(),
        "--mount".into(),
        "--uts".into(),
        "--ipc".into(),
        "--cgroup".into(),
    ]);
    if config.network == Network::None.name() {
        argv.push("--net".into());
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
    for volume in &config.volumes {
        argv.extend(["-v".into(), volume.clone()]);
    }
    for entry in &config.env {
        argv.extend(["-e".into(), entry.clone()]);
    }
    argv.extend(["-w".into(), config.workdir.clone()]);
    if config.read_only {
        argv.push("--read-only".into());
    }
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

/// The commands a person types to run the container by hand: its
/// directory, the chain (one tool per line), then the cgroup's removal.
fn dry_run_script(tools: &Tools, config: &Config, dir: &Path) -> Result<String> {
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
    Ok(format!(
        "# {name} ({id}) from image {image} ({image_id}), by hand, as root:\n{mkdir}\n{body}\n\
         status=$?\n{teardown} > /dev/null\nexit $status\n",
        teardown = shell_line(&[cgctl.as_str(), "rm", "--force", "--parents", &config.cgroup]),
        name = config.name,
        id = config.id,
        image = config.image,
        image_id = config.image_id,
        mkdir = shell_line(&["mkdir", "-p", &dir.display().to_string()]),
        body = body.join(" \\\n    "),
    ))
}

/// How the start of a chain went.
pub enum Start {
    /// The container's command runs; `terminal` is its pty with `-t`.
    Running { init: Option<ProcessRef>, terminal: Option<pty::Terminal> },
    /// A tool or the exec of the command failed: the chain exits with
    /// 125, 126 or 127; `message` is rootfs's report, if it got that far.
    Failed { message: String },
}

/// Spawns the chain for `container` with the given stdio and waits until
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

    let argv = chain(
        tools,
        &container.config,
        &container.dir,
        console.as_ref().map(|c| c.path()),
        Some(&start_socket),
    )?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    Forwarder::unblock_in_child(&mut cmd);
    let [stdin, stdout, stderr] = stdio;
    cmd.stdin(stdin).stdout(stdout).stderr(stderr);
    let mut child = cmd.spawn().map_err(Error::io("run", &argv[0]))?;

    let terminal = match &console {
        Some(socket) => match socket.receive(forwarder, &mut child)? {
            Some(terminal) => Some(terminal.start(size)),
            None => return Ok((child, Start::Failed { message: String::new() })),
        },
        None => None,
    };
    drop(console);
    let report = pty::accept_until_exit(&listener, forwarder, &mut child)?.map(start::outcome);
    let start = match report {
        Some(Outcome::Started) => {
            Start::Running { init: wait_for_init(container, &mut child), terminal }
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

/// Runs the container in the foreground: our stdio (or, with `-t`, our
/// terminal relayed to its own), signals forwarded, until it ends; records
/// how it started and ended. Returns its exit status.
fn start_and_wait(
    tools: &Tools,
    container: &mut Container,
    containers: &Containers,
) -> Result<i32> {
    let forwarder = Forwarder::new()?;
    // With -t the container's stdio is its terminal (set up by rootfs);
    // its stdin is ours only with -i and no terminal.
    let stdin = if container.config.interactive && !container.config.tty {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    // `run` recorded us as the monitor when it created the container.
    let (mut child, start) = launch(
        tools,
        container,
        [stdin, Stdio::inherit(), Stdio::inherit()],
        &forwarder,
        pty::our_size(),
    )?;
    let code = match start {
        Start::Running { init, terminal } => {
            *container = containers.update(&container.config.id, |c| {
                c.state.status = Status::Running;
                c.state.init = init;
                c.state.started_at = Some(tool_cli::human::now());
                Ok(())
            })?;
            match terminal {
                Some(t) => {
                    t.relay(pty::our_stdin(container.config.interactive)?, &forwarder, &mut child)?
                }
                None => forwarder.wait(&mut child)?,
            }
        }
        Start::Failed { message, .. } => {
            // Without a terminal rootfs's message is already on our stderr.
            if container.config.tty && !message.is_empty() {
                eprintln!("{message}");
            }
            forwarder.wait(&mut child)?
        }
    };
    finish(tools, containers, &container.config, code)?;
    Ok(code)
}

/// Records the end of a container that exited with `code`: removes its
/// cgroup (noting whether the OOM killer struck), then, under the lock,
/// marks it exited, or removes it if it was run with `--rm`. Its monitor
/// calls this as its last act.
pub fn finish(tools: &Tools, containers: &Containers, config: &Config, code: i32) -> Result<()> {
    let oom_killed = match remove_cgroup(tools, config) {
        Ok(stats) => stats.and_then(|s| s.memory).is_some_and(|m| m.oom_kill > 0),
        Err(e) => {
            eprintln!("dockerish: {e}");
            false
        }
    };
    let _lock = containers.lock()?;
    let mut container = containers.load(&config.id)?;
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
    container.save_state()
}

/// Removes the container's cgroup (and the parent, if it was the last
/// one there), killing what may still run in it; returns its last
/// statistics, or `None` if there was no cgroup.
pub fn remove_cgroup(tools: &Tools, config: &Config) -> Result<Option<cgctl::Stats>> {
    run_json(tools.cgctl(["rm", "--force", "--parents", &config.cgroup])?, "cgctl")
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgtool::{ImageConfig, ImageInfo};

    fn image(entrypoint: &[&str], cmd: &[&str]) -> ImageInfo {
        ImageInfo {
            id: "sha256:00".into(),
            repo_tags: vec![],
            created: 0,
            size: 0,
            layers: vec![],
            config: ImageConfig {
                entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                ..ImageConfig::default()
            },
            comment: String::new(),
        }
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_follows_docker_rules() {
        let img = image(&["/entry"], &["default"]);
        assert_eq!(resolve_command(None, &[], &img).unwrap(), args(&["/entry", "default"]));
        assert_eq!(resolve_command(None, &args(&["x"]), &img).unwrap(), args(&["/entry", "x"]));
        assert_eq!(resolve_command(Some("sh"), &[], &img).unwrap(), args(&["sh"]));
        assert_eq!(
            resolve_command(Some("sh"), &args(&["-c", "y"]), &img).unwrap(),
            args(&["sh", "-c", "y"])
        );
        assert_eq!(resolve_command(Some(""), &args(&["ls"]), &img).unwrap(), args(&["ls"]));
        assert!(resolve_command(None, &[], &image(&[], &[])).is_err());
    }

    #[test]
    fn env_later_values_win_in_first_order() {
        let mut env = Env::default();
        env.set_entry("PATH=/bin");
        env.set_flag("A=1").unwrap();
        env.set_flag("PATH=/usr/bin").unwrap();
        assert_eq!(env.entries(), args(&["PATH=/usr/bin", "A=1"]));
        assert!(env.set_flag("=x").is_err());
        env.set_flag("DOCKERISH_SURELY_UNSET_VARIABLE").unwrap();
        assert!(!env.has("DOCKERISH_SURELY_UNSET_VARIABLE"));
    }
}
