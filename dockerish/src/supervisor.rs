//! The supervisor of a detached container (`run -d`, `start`): one small
//! process per container, not a daemon for all (conmon's design, not
//! dockerd's).
//!
//! `dockerish run -d` records the container, then spawns
//! `dockerish-supervisor --root ROOT ID` in a session of its own (setsid(2), so
//! the terminal's ^C and hangup do not reach it) and reads one line from
//! its stdout: whether the command started, or why not. The supervisor
//!
//! 1. runs the tool chain (`container::launch`) with the container's stdout and
//!    stderr on pipes (or, with `-t`, a terminal whose master it holds);
//! 2. reports the start, then closes its stdout: the CLI exits, and a
//!    shell's `$(dockerish run -d …)` returns at once;
//! 3. copies the output into the log (`logs`) until the chain exits,
//!    passing on the signals it gets (`kill SUPERVISOR` is `docker kill`);
//! 4. with a restart policy (`restart`), may take the run down, wait out
//!    the back-off and go back to 1;
//! 5. removes the cgroup, records exit code, time and OOM kill, or removes
//!    an `--rm` container (`container::finish`), and exits.
//!
//! It keeps no state in memory that the files lack. If it is killed, the
//! container is left running (`ps` still sees its init by PID and start
//! time), though its output has no reader any more (its next write gets
//! SIGPIPE; with `-t`, the terminal hangs up), and its end goes unrecorded
//! (shown as exit code 255).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{pipe2, read};
use serde::{Deserialize, Serialize};

use crate::container::{finish, launch, mark_running, teardown, Start};
use crate::error::{Error, Result, ToolError};
use crate::logs::{LogWriter, Stream};
use crate::restart::Backoff;
use crate::signals::{Event, Forwarder};
use crate::state::{Container, Containers, Status};
use crate::tools::Tools;
use pidref::ProcessRef;
use tool_cli::exit::of_status;

/// The supervisor's one line to the CLI that started it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    /// The command runs.
    pub started: bool,
    /// Otherwise: the chain's exit status and what it said.
    pub exit_code: Option<i32>,
    pub error: Option<String>,
}

/// Starts a supervisor for `container` and waits for its report. Returns
/// `Ok(None)` once the command runs, `Ok(Some((code, message)))` if the
/// start failed (the supervisor has recorded that end).
pub fn spawn(tools: &Tools, root: &Path, container: &Container) -> Result<Option<(i32, String)>> {
    let root = std::path::absolute(root).map_err(Error::io("resolve", root))?;
    let mut cmd = Command::new(tools.path("dockerish-supervisor")?);
    cmd.arg("--root").arg(&root).arg(&container.config.id).current_dir("/");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    Forwarder::unblock_in_child(&mut cmd);
    // The supervisor outlives us: it must hold nothing of ours but its
    // stdout (our pipe, until it reports). A new session keeps our
    // terminal's ^C and hangup away from it; close_range(2) marks every
    // other descriptor we inherited close-on-exec, lest a caller's pipe
    // stay open for the container's whole life (`$(dockerish run -d …)`
    // would never return). Both calls are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            libc::close_range(3, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(Error::io("run", "dockerish-supervisor"))?;
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped");
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(Error::io("read the report of", "dockerish-supervisor"))?;
    let report: Report = serde_json::from_str(&line).map_err(|_| {
        // It died before reporting: reap it and say how.
        let status = child.wait().map(of_status).unwrap_or(-1);
        Error::Tool {
            tool: "dockerish-supervisor".into(),
            why: format!("ended (status {status}) without reporting the start"),
        }
    })?;
    // The supervisor lives on; it is reparented when we exit.
    Ok(match report {
        Report { started: true, .. } => None,
        Report { exit_code, error, .. } => {
            Some((exit_code.unwrap_or(tool_cli::exit::EXIT_FAILED), error.unwrap_or_default()))
        }
    })
}

/// The supervisor's whole life; returns its exit status.
pub fn supervise(root: &Path, id: &str) -> i32 {
    let mut stdout = std::io::stdout();
    match run(root, id, &mut stdout) {
        Ok(()) => 0,
        Err(e) => {
            // Before the report this reaches the CLI; after it, nobody
            // listens (the log has the details).
            let report = Report { started: false, exit_code: None, error: Some(e.to_string()) };
            let _ = writeln!(stdout, "{}", serde_json::to_string(&report).expect("serializable"));
            tool_cli::exit::EXIT_FAILED
        }
    }
}

fn run(root: &Path, id: &str, report_to: &mut impl Write) -> Result<()> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?;
    let me = ProcessRef::of(std::process::id() as i32);
    // Claim the container: `run -d` and `start` mark it as starting with
    // their own PID (our parent), so that `rm` and `prune` leave it alone
    // until we take over; anyone else starting it is refused.
    let parent = nix::unistd::getppid().as_raw();
    let mut ran_before = false;
    let container = containers.update(id, |c| {
        ran_before = c.state.started_at.is_some() || c.state.status != Status::Created;
        let someone_else = c.state.starting() && c.state.monitor.is_some_and(|m| m.pid != parent);
        if c.state.effective() == Status::Running || someone_else {
            return Err(Error::AlreadyRunning(c.config.name.clone()));
        }
        c.state = crate::state::State { monitor: me, ..crate::state::State::created() };
        Ok(())
    })?;
    let mut log = LogWriter::open(&container.dir, &container.config.log)?;
    let mut backoff = Backoff::default();
    let mut container = container;
    let mut tear_down_first = ran_before;
    loop {
        let started = Instant::now();
        let mut child = None;
        let supervised = supervise_chain(
            &tools,
            &containers,
            &container,
            tear_down_first,
            &mut log,
            &mut child,
            report_to,
        );
        let code = match supervised {
            Ok(Some(code)) => code,
            // A start that failed, recorded already.
            Ok(None) => return Ok(()),
            Err(e) => {
                // Never leave a chain running unsupervised, nor a record that
                // says "starting" forever.
                if let Some(child) = child.as_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                log.note(&format!("dockerish-supervisor: {e}"));
                say(
                    report_to,
                    &Report {
                        started: false,
                        exit_code: Some(tool_cli::exit::EXIT_FAILED),
                        error: Some(e.to_string()),
                    },
                );
                return finish(&tools, &containers, &container.config, tool_cli::exit::EXIT_FAILED);
            }
        };
        let delay = backoff.after(started.elapsed());
        match restart_after(&tools, &containers, &container.config.id, code, delay) {
            Ok(true) => {}
            Ok(false) => return finish(&tools, &containers, &container.config, code),
            Err(e) => {
                // The end is still recorded, and the cgroup removed.
                log.note(&format!("dockerish-supervisor: restart: {e}"));
                return finish(&tools, &containers, &container.config, code);
            }
        }
        // Run as the record says now (`update --restart` may have changed it).
        container = containers.load(&container.config.id)?;
        tear_down_first = false;
    }
}

/// How often a supervisor waiting out a back-off looks whether the
/// container was stopped by hand meanwhile.
const STOPPED_POLL: Duration = Duration::from_millis(50);

/// The chain exited with `code`: if the restart policy says so (and
/// nobody stopped the container by hand), takes the run down, records the
/// restart (`ps`: "Restarting (1) …"), waits `delay` and returns true; the
/// caller runs the container again. False: the container ends here.
fn restart_after(
    tools: &Tools,
    containers: &Containers,
    id: &str,
    code: i32,
    delay: Duration,
) -> Result<bool> {
    let wanted = |c: &Container| {
        !c.state.manually_stopped && c.config.restart.restarts(code, c.state.restart_count)
    };
    let container = containers.load(id)?;
    if !wanted(&container) {
        return Ok(false);
    }
    teardown(tools, &container.config)?;
    let code_text = code.to_string();
    crate::events::container(containers, "die", &container.config, &[("exitCode", &code_text)]);
    let mut again = false;
    containers.update(id, |c| {
        again = wanted(c);
        if again {
            let state = &mut c.state;
            state.status = Status::Exited;
            state.exit_code = Some(code);
            state.finished_at = Some(tool_cli::human::now());
            state.backing_off = true;
            state.restart_count += 1;
            state.init = None;
            state.paused = false;
            state.networks.clear();
        }
        Ok(())
    })?;
    let deadline = Instant::now() + delay;
    while again && Instant::now() < deadline {
        std::thread::sleep(STOPPED_POLL.min(deadline - Instant::now()));
        again = !containers.load(id)?.state.manually_stopped;
    }
    // Under the lock, so a `stop` either ends the policy before this (and
    // the container ends) or finds it starting (and waits for it to run).
    // Left backing off if it ends here: `finish` then knows its `die` is
    // logged already.
    containers.update(id, |c| {
        again = again && !c.state.manually_stopped;
        c.state.backing_off = !again;
        Ok(())
    })?;
    Ok(again)
}

/// Starts the chain, reports the start, logs its output until it exits;
/// returns its exit status, or `None` for a start that failed (then it
/// has recorded that end itself). `child` is set as soon as the chain runs.
fn supervise_chain(
    tools: &Tools,
    containers: &Containers,
    container: &Container,
    ran_before: bool,
    log: &mut LogWriter,
    child: &mut Option<Child>,
    report_to: &mut impl Write,
) -> Result<Option<i32>> {
    // A monitor killed before it recorded the end may have left the
    // cgroup (a new container has none: no start on its way yet).
    if ran_before {
        teardown(tools, &container.config)?;
    }
    let forwarder = Forwarder::new()?;
    let (out_read, out_write) = pipe()?;
    let (err_read, err_write) = pipe()?;
    // `-i` without a terminal: stdin stays open (a pipe we hold) and empty.
    let (stdin, stdin_writer) = if container.config.interactive && !container.config.tty {
        let (r, w) = pipe()?;
        (Stdio::from(r), Some(w))
    } else {
        (Stdio::null(), None)
    };
    let (spawned, start) =
        launch(tools, container, [stdin, out_write.into(), err_write.into()], &forwarder, None)?;
    let child = child.insert(spawned);
    let mut outputs = vec![(out_read, Stream::Stdout), (err_read, Stream::Stderr)];
    match start {
        Start::Running { init, terminal, networks } => {
            mark_running(containers, &container.config.id, init, networks)?;
            say(report_to, &Report { started: true, exit_code: None, error: None });
            // SAFETY: fd 1 is ours; /dev/null takes its place, so the CLI
            // reading the other end sees end-of-file.
            if let Ok(null) = File::options().write(true).open("/dev/null") {
                unsafe { libc::dup2(null.as_raw_fd(), 1) };
            }
            // `attach`: clients get the output, and give the input (to the
            // terminal, or with -i to the stdin pipe) of an -i container.
            let mut input = stdin_writer;
            if let Some(terminal) = terminal {
                let master = terminal.into_master();
                if container.config.interactive {
                    input =
                        Some(master.try_clone().map_err(Error::io("duplicate", "the terminal"))?);
                }
                outputs.push((master, Stream::Stdout));
            }
            let attach = crate::attach::Clients::listen(&container.dir, input)?;
            pidref::pages::drop_startup_pages();
            copy_until_exit(&mut outputs, log, &forwarder, child, attach).map(Some)
        }
        Start::Failed { message } => {
            let code = forwarder.wait(child)?;
            // The chain has ended: what it said before is in the pipes.
            let mut said = Vec::new();
            for (fd, stream) in outputs {
                let mut text = Vec::new();
                let _ = File::from(fd).read_to_end(&mut text);
                log.write(stream, &text);
                if stream == Stream::Stderr {
                    said = text;
                }
            }
            let said = String::from_utf8_lossy(&said).trim().to_string();
            let error = if message.is_empty() { said } else { message };
            // Recorded before it is reported: `ps` right after `run -d`
            // must show the end.
            finish(tools, containers, &container.config, code)?;
            say(report_to, &Report { started: false, exit_code: Some(code), error: Some(error) });
            Ok(None)
        }
    }
}

fn say(to: &mut impl Write, report: &Report) {
    // The CLI may have been killed meanwhile: then nobody hears it.
    let _ = writeln!(to, "{}", serde_json::to_string(report).expect("serializable"))
        .and_then(|()| to.flush());
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("create", "a pipe", e))
}

/// How long, in milliseconds, output may still arrive after the chain has
/// exited (from processes that held the pipes; in a pid namespace they are
/// being killed with its init).
const DRAIN_MS: u16 = 500;

/// Copies `outputs` into the log until the chain has exited and the
/// output has ended; forwards signals meanwhile. Returns the exit status.
fn copy_until_exit(
    outputs: &mut Vec<(OwnedFd, Stream)>,
    log: &mut LogWriter,
    forwarder: &Forwarder,
    child: &mut Child,
    mut attach: crate::attach::Clients,
) -> Result<i32> {
    let mut buf = [0u8; 8192];
    let mut status = None;
    loop {
        if status.is_none() {
            status =
                child.try_wait().map_err(Error::io("wait for", "the container"))?.map(of_status);
        }
        if outputs.is_empty() {
            if let Some(code) = status {
                return Ok(code);
            }
        }
        // The outputs, the signalfd (at index outputs.len()), then the
        // attach socket and its clients.
        let mut fds: Vec<PollFd> =
            outputs.iter().map(|(fd, _)| PollFd::new(fd.as_fd(), PollFlags::POLLIN)).collect();
        fds.push(PollFd::new(forwarder.as_fd(), PollFlags::POLLIN));
        fds.extend(attach.fds().map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
        let timeout =
            if status.is_some() { PollTimeout::from(DRAIN_MS) } else { PollTimeout::NONE };
        let ready: Vec<bool> = match poll(&mut fds, timeout) {
            Ok(0) => return Ok(status.expect("a timeout only once the chain has exited")),
            Ok(_) => fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect(),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("poll", "the container's output", e)),
        };
        let attach_ready = ready[outputs.len() + 1..].to_vec();
        attach.serve(&attach_ready);
        if ready[outputs.len()] {
            for event in forwarder.handle(child) {
                if let Event::Child = event {
                    status = status.or(child
                        .try_wait()
                        .map_err(Error::io("wait for", "the container"))?
                        .map(of_status));
                }
            }
        }
        let mut closed = Vec::new();
        for (i, (fd, stream)) in outputs.iter().enumerate() {
            if !ready[i] {
                continue;
            }
            match read(fd.as_fd(), &mut buf) {
                Ok(0) | Err(Errno::EIO) => closed.push(i),
                Ok(n) => {
                    log.write(*stream, &buf[..n]);
                    attach.send(*stream, &buf[..n]);
                }
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => closed.push(i),
            }
        }
        for i in closed.into_iter().rev() {
            outputs.remove(i);
        }
    }
}
