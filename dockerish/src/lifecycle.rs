//! A container after `run`: `stop`, `kill`, `start`, `restart`, `wait`,
//! `rename`, `commit`, `container prune`.
//!
//! Nothing here keeps state of its own: every command reads the records,
//! acts on processes found by PID *and* start time, and leaves recording
//! the end to the container's monitor. So any of them may be killed at any
//! point and `ps` still tells the truth.
//!
//! Waiting for a process that is not our child uses a pidfd
//! (pidfd_open(2)): it becomes readable when the process exits, so
//! `stop` and `wait` sleep in poll(2) instead of polling /proc.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::cli::StopArgs;
use crate::container::{discard, teardown};
use crate::error::{Error, Result, ToolError};
use crate::restart::end_policy;
use crate::state::{Container, Containers, Status};
use crate::tools::{run_json, run_quiet, Tools};
use crate::{logs, names, supervisor};
use pidref::ProcessRef;
use pidref::{signal, wait_exit};

/// How long `stop` and `rm -f` wait for a killed container's init to be
/// gone, and a new start to report.
pub const KILL_GRACE: Duration = Duration::from_secs(10);

/// How long they then wait for its monitor to record the end and tear the
/// container down. Only bookkeeping is left by then (unmounts, the
/// cgroup, the veth), but on a loaded or emulated machine with many
/// containers ending at once it can take well over [`KILL_GRACE`].
pub const RECORD_GRACE: Duration = Duration::from_secs(120);

/// How many containers `each` works on at once: enough that a `stop` of
/// a hundred waits about one grace period (most of a stop is waiting).
const PARALLEL: usize = 128;

/// Runs `f` on each named container, up to [`PARALLEL`] at once (as
/// Docker's CLI does: `stop` of 100 containers waits one grace period, not
/// 100), then prints, in the order given, the name of each that succeeded
/// and the error of each that failed; the status is 1 if any failed, as
/// Docker's. Each `f` takes the store lock for its own records.
pub fn each(keys: &[String], f: impl Fn(&str) -> Result<()> + Sync) -> i32 {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<()>>>> =
        keys.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..keys.len().min(PARALLEL) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(key) = keys.get(i) else { break };
                *results[i].lock().expect("no panic while held") = Some(f(key));
            });
        }
    });
    let mut failed = false;
    for (key, result) in keys.iter().zip(results) {
        match result.into_inner().expect("no panic while held").expect("every key was run") {
            Ok(()) => println!("{key}"),
            Err(e) => {
                eprintln!("dockerish: {e}");
                failed = true;
            }
        }
    }
    i32::from(failed)
}

pub fn stop(root: &Path, args: StopArgs) -> Result<i32> {
    let (tools, containers) = (Tools::new(root), Containers::open(root)?);
    Ok(each(&args.containers, |key| {
        let container = containers.find(key)?;
        stop_one(&tools, &containers, &container, Duration::from_secs(args.time))?;
        crate::events::container(&containers, "stop", &container.config, &[]);
        Ok(())
    }))
}

/// SIGTERM to the init; after `grace`, SIGKILL (which ends the whole pid
/// namespace); returns once its monitor has recorded the end. A container
/// that does not run is left as it is (Docker's `stop` succeeds then too).
fn stop_one(
    tools: &Tools,
    containers: &Containers,
    container: &Container,
    grace: Duration,
) -> Result<()> {
    // The policy ends first, then the record is read again: a supervisor
    // at the end of a back-off either sees the end (and does not start it
    // again) or has marked it starting, and settled() waits for its init.
    end_policy(containers, &container.config.id)?;
    let container = settled(containers, &containers.load(&container.config.id)?)?;
    let Some(init) = container.init() else {
        // Not running, or ending: return once the end is recorded.
        return wait_recorded(&container, KILL_GRACE);
    };
    thaw(tools, &container, init.pid)?;
    let _ = signal(init, Signal::SIGTERM);
    if !wait_gone(&container, Some(grace)) {
        kill_and_wait(&container, init)?;
    }
    Ok(())
}

/// A frozen process can act on no signal but SIGKILL, and on cgroup v1
/// not even that until thawed: thaw a paused container (Docker does too).
fn thaw(tools: &Tools, container: &Container, init: i32) -> Result<()> {
    if container.state.paused {
        run_quiet(tools.cgctl(["thaw", "--pid", &init.to_string()])?, "cgctl")?;
    }
    Ok(())
}

/// SIGKILL to the container's init, then waits until it and its monitor
/// are gone. When a pid namespace's init dies, the kernel kills every
/// other process in it (pid_namespaces(7)), so this ends the container
/// while ns-exec, outside, still reaps the init and reports 137. (Killing
/// the whole cgroup would kill that ns-exec too, and orphan the init.)
pub fn kill_and_wait(container: &Container, init: ProcessRef) -> Result<()> {
    let _ = signal(init, Signal::SIGKILL);
    wait_recorded(container, RECORD_GRACE)
}

/// Waits until the container's init is gone (up to [`KILL_GRACE`]) and
/// its monitor has recorded the end (up to `record` more: [`RECORD_GRACE`]
/// after a kill, which sets off the teardown; [`KILL_GRACE`] when there
/// was no init to kill, as a monitor still starting one may never exit).
fn wait_recorded(container: &Container, record: Duration) -> Result<()> {
    let timeout = |what: &'static str, grace: Duration| Error::StopTimeout {
        name: container.config.name.clone(),
        what,
        seconds: grace.as_secs(),
    };
    if !wait_exit(container.state.init.as_slice(), Some(KILL_GRACE)) {
        return Err(timeout("its init did not exit", KILL_GRACE));
    }
    if !wait_exit(container.state.monitor.as_slice(), Some(record)) {
        return Err(timeout("its monitor did not record the end", record));
    }
    Ok(())
}

/// `rm -f`: the container, thawed if paused, killed, waited for (its
/// restart policy ended first).
pub fn force_stop(tools: &Tools, containers: &Containers, container: &Container) -> Result<()> {
    end_policy(containers, &container.config.id)?;
    match container.init() {
        Some(init) => {
            thaw(tools, container, init.pid)?;
            kill_and_wait(container, init)
        }
        // No init (it has just exited): its monitor is recording the end.
        None => wait_recorded(container, KILL_GRACE),
    }
}

/// The container once no monitor is starting it any more: a `stop` or
/// `rm -f` right after `start` must not miss the init it is about to get.
pub fn settled(containers: &Containers, container: &Container) -> Result<Container> {
    let deadline = Instant::now() + KILL_GRACE;
    let mut container = container.clone();
    // (One waiting out a restart back-off is not starting it yet.)
    while container.state.starting() && !container.state.backing_off() && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
        container = containers.load(&container.config.id)?;
    }
    Ok(container)
}

/// Waits until the container's monitor and init have exited; false after
/// `timeout`.
pub fn wait_gone(container: &Container, timeout: Option<Duration>) -> bool {
    let procs: Vec<ProcessRef> =
        [container.state.monitor, container.state.init].into_iter().flatten().collect();
    wait_exit(&procs, timeout)
}

pub fn kill(root: &Path, signal_name: &str, keys: &[String]) -> Result<i32> {
    let sig = tool_cli::signal::parse(signal_name)?;
    let containers = Containers::open(root)?;
    Ok(each(keys, |key| {
        let container = containers.find(key)?;
        let init = container.init().ok_or_else(|| Error::CannotKill {
            key: key.into(),
            id: container.short_id().into(),
        })?;
        // As Docker's: a container killed by hand is not restarted.
        end_policy(&containers, &container.config.id)?;
        signal(init, sig)?;
        let sig_name = format!("{}", sig as i32);
        crate::events::container(&containers, "kill", &container.config, &[("signal", &sig_name)]);
        Ok(())
    }))
}

pub fn start(root: &Path, attach: bool, keys: &[String]) -> Result<i32> {
    let (tools, containers) = (Tools::new(root), Containers::open(root)?);
    if !attach {
        return Ok(each(keys, |key| {
            start_one(&tools, root, &containers, &containers.find(key)?).map(drop)
        }));
    }
    let [key] = keys else {
        return Err(Error::AttachMany);
    };
    let container = containers.find(key)?;
    let offset = logs::size(&container.dir);
    if !start_one(&tools, root, &containers, &container)? {
        return Err(Error::AlreadyRunning(key.into()));
    }
    logs::attach(&containers, &container.config.id, &container.dir, offset)?;
    // The supervisor records the end before its log ends: it is there now
    // (unless the container was run with --rm and is gone).
    Ok(containers
        .load(&container.config.id)
        .ok()
        .and_then(|c| c.state.shown_exit_code())
        .unwrap_or(0))
}

/// `start --all-restartable`: at boot no supervisor is left, so nothing
/// keeps the restart policies; this starts the containers Docker's daemon
/// would start when it comes up.
pub fn start_restartable(root: &Path) -> Result<i32> {
    let (tools, containers) = (Tools::new(root), Containers::open(root)?);
    let ids: Vec<String> = containers
        .all()?
        .into_iter()
        .filter(|c| c.config.restart.starts_at_boot(c.state.manually_stopped))
        .filter(|c| c.state.effective() != Status::Running && !c.state.starting())
        .map(|c| c.config.id)
        .collect();
    Ok(each(&ids, |id| start_one(&tools, root, &containers, &containers.load(id)?).map(drop)))
}

/// Starts a container that is not running under a new supervisor, with
/// its writable layer as it was left. False if it was running already.
fn start_one(
    tools: &Tools,
    root: &Path,
    containers: &Containers,
    container: &Container,
) -> Result<bool> {
    if container.dead {
        let why = "its config.json is missing (Dead): nothing says what to run; rm -f removes it";
        return Err(Error::invalid("start of container", container.config.id.clone(), why));
    }
    let container = settled(containers, container)?;
    // Marked as starting, by us, until the supervisor takes over.
    let mut running = false;
    let container = containers.update(&container.config.id, |c| {
        running = c.state.effective() == Status::Running || c.state.starting();
        if !running {
            // An end nobody recorded (its monitor was killed, or a reboot).
            if c.state.status == Status::Running {
                c.state.status = Status::Exited;
                c.state.exit_code = c.state.shown_exit_code();
                c.state.init = None;
            }
            c.state.monitor = ProcessRef::of(std::process::id() as i32);
        }
        Ok(())
    })?;
    if running {
        return Ok(false);
    }
    match supervisor::spawn(tools, root, &container)? {
        None => Ok(true),
        Some((code, message)) => {
            Err(Error::StartFailed { name: container.config.name.clone(), code, message })
        }
    }
}

pub fn restart(root: &Path, args: StopArgs) -> Result<i32> {
    let (tools, containers) = (Tools::new(root), Containers::open(root)?);
    Ok(each(&args.containers, |key| {
        let container = containers.find(key)?;
        stop_one(&tools, &containers, &container, Duration::from_secs(args.time))?;
        start_one(&tools, root, &containers, &containers.load(&container.config.id)?)?;
        crate::events::container(&containers, "restart", &container.config, &[]);
        Ok(())
    }))
}

/// `wait`: blocks until each container has stopped, and prints its exit code.
pub fn wait(root: &Path, keys: &[String]) -> Result<i32> {
    let containers = Containers::open(root)?;
    let mut failed = false;
    for key in keys {
        let waited = containers.find(key).and_then(|c| {
            let c = settled(&containers, &c)?;
            wait_gone(&c, None);
            let c = containers.load(&c.config.id)?;
            Ok(c.state.shown_exit_code().unwrap_or(0))
        });
        match waited {
            Ok(code) => println!("{code}"),
            Err(e) => {
                eprintln!("dockerish: {e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

pub fn rename(root: &Path, key: &str, new_name: &str) -> Result<i32> {
    names::validate(new_name)?;
    let containers = Containers::open(root)?;
    let _lock = containers.lock()?;
    let mut container = containers.find(key)?;
    if let Some(other) = containers.all()?.into_iter().find(|c| c.config.name == new_name) {
        return Err(Error::NameInUse { name: new_name.into(), id: other.config.id });
    }
    let old_name = std::mem::replace(&mut container.config.name, new_name.to_string());
    container.save_config()?;
    crate::events::container(&containers, "rename", &container.config, &[("oldName", &old_name)]);
    Ok(0)
}

/// `commit`: the container's writable layer becomes the top layer of a new
/// image, over the container's image. A running container is frozen
/// meanwhile (Docker's `--pause`), so the layer is taken in one state.
///
/// As Docker's, the container's command becomes the image's: its
/// arguments after the image's entrypoint are the new CMD (the whole
/// command, with no entrypoint, when `--entrypoint` replaced it).
pub fn commit(
    root: &Path,
    key: &str,
    image: Option<&str>,
    message: &str,
    changes: &[String],
) -> Result<i32> {
    let tools = Tools::new(root);
    let container = Containers::open(root)?.find(key)?;
    if let Some(range) = &container.config.security.userns {
        // Its writable layer holds the host's shifted ids (START and up):
        // packed as they are, the image would give its files to nobody.
        let why = format!(
            "it runs in a user namespace (host ids {range}); commit does not shift ids back yet"
        );
        return Err(Error::invalid("commit of container", key, why));
    }
    let frozen = match container.init_pid() {
        Some(pid) if !container.state.paused => {
            run_quiet(tools.cgctl(["freeze", "--pid", &pid.to_string()])?, "cgctl")?;
            Some(pid)
        }
        _ => None,
    };
    let base = tools
        .inspect(&container.config.image_id)?
        .ok_or_else(|| Error::NoSuchImage(container.config.image_id.clone()))?;
    let command = &container.config.command;
    let entrypoint = &base.config.entrypoint;
    let (entrypoint, cmd_args) = match command.starts_with(entrypoint) {
        true => (None, &command[entrypoint.len()..]),
        false => (Some("ENTRYPOINT []"), &command[..]),
    };
    let json = |v: &[String]| serde_json::to_string(v).expect("strings serialize");
    let created_by = format!("dockerish commit {} {}", container.config.name, json(command));
    let mut cmd = tools.imgtool([
        "commit",
        "--parent",
        &container.config.image_id,
        "--message",
        message,
        "--created-by",
        &created_by,
    ])?;
    for instruction in
        entrypoint.into_iter().map(String::from).chain([format!("CMD {}", json(cmd_args))])
    {
        cmd.arg("--change").arg(instruction);
    }
    for instruction in changes {
        cmd.arg("--change").arg(instruction);
    }
    cmd.arg(container.dir.join("upper")).args(image);
    let made = run_json::<imgtool::ImageInfo>(cmd, "imgtool");
    if let Some(pid) = frozen {
        run_quiet(tools.cgctl(["thaw", "--pid", &pid.to_string()])?, "cgctl")?;
    }
    let made = made?.ok_or_else(|| Error::NoSuchImage(container.config.image_id.clone()))?;
    let name = image.unwrap_or_default();
    crate::events::container(
        &Containers::open(root)?,
        "commit",
        &container.config,
        &[("comment", message), ("imageID", &made.id), ("imageName", name)],
    );
    println!("{}", made.id);
    Ok(0)
}

/// `container prune`: removes every container that does not run.
pub fn prune(root: &Path, force: bool) -> Result<i32> {
    if !confirmed(force, "WARNING! This will remove all stopped containers.")? {
        return Ok(0);
    }
    let (tools, containers) = (Tools::new(root), Containers::open(root)?);
    let mut deleted = Vec::new();
    let mut reclaimed = 0;
    let _lock = containers.lock()?;
    for container in containers.all()? {
        let stopped = container.state.effective() != Status::Running && !container.state.starting();
        if stopped {
            let size = dir_size(&container.dir.join("upper"));
            teardown(&tools, &container.config)?;
            discard(&containers, &container, false)?;
            deleted.push(container.config.id);
            reclaimed += size;
        }
    }
    print_pruned("Containers", &deleted, reclaimed);
    Ok(0)
}

/// Every prune's question, unless `force`: `warning`, then Docker's
/// "Are you sure"; true to go on.
pub fn confirmed(force: bool, warning: &str) -> Result<bool> {
    Ok(force || confirm(&format!("{warning}\nAre you sure you want to continue? [y/N] "))?)
}

/// Every prune's report, Docker's: what went, then the space it gave back.
pub fn print_pruned(what: &str, deleted: &[String], reclaimed: u64) {
    if !deleted.is_empty() {
        println!("Deleted {what}:\n{}\n", deleted.join("\n"));
    }
    println!("Total reclaimed space: {}", tool_cli::human::size(reclaimed));
}

/// Asks on the terminal; anything but y/yes is no.
pub fn confirm(question: &str) -> Result<bool> {
    print!("{question}");
    std::io::stdout().flush().map_err(Error::io("write", "stdout"))?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(Error::io("read", "stdin"))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// The bytes of the files under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.file_type() {
            Ok(t) if t.is_dir() => total += dir_size(&entry.path()),
            Ok(t) if t.is_file() => total += entry.metadata().map(|m| m.len()).unwrap_or(0),
            _ => {}
        }
    }
    total
}
