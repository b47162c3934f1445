//! The supervisor of a detached container (`run -d`, `start`): one small
//! process per container, not a daemon for all (conmon's design, not
//! dockerd's).
//!
//! `dockerish run -d` records the container, then spawns
//! `dockerish-supervisor ROOT ID` in a session of its own (setsid(2), so
//! the terminal's ^C and hangup do not reach it) and reads one line from
//! its stdout: whether the command started, or why not. The supervisor
//!
//! 1. runs the tool chain (`run::launch`) with the container's stdout and
//!    stderr on pipes (or, with `-t`, a terminal whose master it holds);
//! 2. reports the start, then closes its stdout: the CLI exits, and a
//!    shell's `$(dockerish run -d …)` returns at once;
//! 3. copies the output into the log (`logs`) until the chain exits,
//!    passing on the signals it gets (`kill SUPERVISOR` is `docker kill`);
//! 4. removes the cgroup, records exit code, time and OOM kill, or removes
//!    an `--rm` container (`run::finish`), and exits.
//!
//! It holds nothing else: no listening socket, no state in memory that the
//! files lack. If it is killed, the container is left running (`ps`
//! still sees its init by PID and start time) and its end goes unrecorded
//! (shown as exit code 255).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{pipe2, read};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::logs::{LogWriter, Stream};
use crate::run::{finish, launch, Start};
use crate::signals::{exit_code, Event, Forwarder};
use crate::state::{Container, Containers, ProcessRef, Status};
use crate::tools::Tools;

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
    let mut cmd = Command::new(tools.path("dockerish-supervisor")?);
    cmd.arg("--root").arg(root).arg(&container.config.id);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    // SAFETY: setsid(2) is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(drop).map_err(std::io::Error::from));
    }
    let mut child = cmd.spawn().map_err(Error::io("run", "dockerish-supervisor"))?;
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped");
    BufReader::new(stdout).read_line(&mut line).map_err(Error::io("read the report of", "dockerish-supervisor"))?;
    let report: Report = serde_json::from_str(&line).map_err(|_| {
        // It died before reporting: reap it and say how.
        let status = child.wait().map(exit_code).unwrap_or(-1);
        Error::Tool { tool: "dockerish-supervisor".into(), why: format!("ended (status {status}) without reporting the start") }
    })?;
    // The supervisor lives on; it is reparented when we exit.
    Ok(match report {
        Report { started: true, .. } => None,
        Report { exit_code, error, .. } => Some((exit_code.unwrap_or(crate::error::EXIT_TOOL_FAILED), error.unwrap_or_default())),
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
            crate::error::EXIT_TOOL_FAILED
        }
    }
}

fn run(root: &Path, id: &str, report_to: &mut impl Write) -> Result<()> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?;
    let me = ProcessRef::of(std::process::id() as i32);
    let container = containers.update(id, |c| {
        if c.state.effective() == Status::Running || c.state.starting() {
            return Err(Error::Refused(format!("container {} is already running", c.config.name)));
        }
        c.state = crate::state::State { monitor: me, ..crate::state::State::created() };
        Ok(())
    })?;
    let mut log = LogWriter::open(&crate::logs::path(&container.dir))?;
    let forwarder = Forwarder::new()?;
    let (out_read, out_write) = pipe()?;
    let (err_read, err_write) = pipe()?;
    // `-i` without a terminal: stdin stays open (a pipe we hold) and empty.
    let (stdin, _stdin_writer) = if container.config.interactive && !container.config.tty {
        let (r, w) = pipe()?;
        (Stdio::from(r), Some(w))
    } else {
        (Stdio::null(), None)
    };
    let (mut child, start) = launch(&tools, &container, [stdin, out_write.into(), err_write.into()], &forwarder, None)?;
    let mut outputs = vec![(out_read, Stream::Stdout), (err_read, Stream::Stderr)];
    let code = match start {
        Start::Running { init, terminal } => {
            containers.update(id, |c| {
                c.state.status = Status::Running;
                c.state.init = init;
                c.state.started_at = Some(imgtool::human::now());
                Ok(())
            })?;
            say(report_to, &Report { started: true, exit_code: None, error: None });
            // SAFETY: fd 1 is ours; /dev/null takes its place, so the CLI
            // reading the other end sees end-of-file.
            if let Ok(null) = File::options().write(true).open("/dev/null") {
                unsafe { libc::dup2(null.as_raw_fd(), 1) };
            }
            if let Some(terminal) = terminal {
                outputs.push((terminal.into_master(), Stream::Stdout));
            }
            copy_until_exit(&mut outputs, &mut log, &forwarder, &mut child)?
        }
        Start::Failed { message } => {
            let code = forwarder.wait(&mut child)?;
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
            log.flush();
            let said = String::from_utf8_lossy(&said).trim().to_string();
            let error = if message.is_empty() { said } else { message };
            // Recorded before it is reported: `ps` right after `run -d`
            // must show the end.
            finish(&tools, &containers, &container.config, code)?;
            say(report_to, &Report { started: false, exit_code: Some(code), error: Some(error) });
            return Ok(());
        }
    };
    log.flush();
    finish(&tools, &containers, &container.config, code)
}

fn say(to: &mut impl Write, report: &Report) {
    // The CLI may have been killed meanwhile: then nobody hears it.
    let _ = writeln!(to, "{}", serde_json::to_string(report).expect("serializable")).and_then(|()| to.flush());
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("create", "a pipe", e))
}

/// How long output may still arrive after the chain has exited (from
/// processes that held the pipes; in a pid namespace they are being
/// killed with its init).
const DRAIN: u16 = 500;

/// Copies `outputs` into the log until the chain has exited and the
/// output has ended; forwards signals meanwhile. Returns the exit status.
fn copy_until_exit(outputs: &mut Vec<(OwnedFd, Stream)>, log: &mut LogWriter, forwarder: &Forwarder, child: &mut Child) -> Result<i32> {
    let mut buf = [0u8; 8192];
    let mut status = None;
    loop {
        if status.is_none() {
            status = child.try_wait().map_err(Error::io("wait for", "the container"))?.map(exit_code);
        }
        if outputs.is_empty() {
            if let Some(code) = status {
                return Ok(code);
            }
        }
        let mut fds: Vec<PollFd> = outputs.iter().map(|(fd, _)| PollFd::new(fd.as_fd(), PollFlags::POLLIN)).collect();
        fds.push(PollFd::new(forwarder.as_fd(), PollFlags::POLLIN));
        let timeout = if status.is_some() { PollTimeout::from(DRAIN) } else { PollTimeout::NONE };
        let ready: Vec<bool> = match poll(&mut fds, timeout) {
            Ok(0) => return Ok(status.expect("a timeout only once the chain has exited")),
            Ok(_) => fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect(),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("poll", "the container's output", e)),
        };
        if ready[outputs.len()] {
            for event in forwarder.handle(child) {
                if let Event::Child = event {
                    status = status.or(child.try_wait().map_err(Error::io("wait for", "the container"))?.map(exit_code));
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
                Ok(n) => log.write(*stream, &buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => closed.push(i),
            }
        }
        for i in closed.into_iter().rev() {
            outputs.remove(i);
        }
    }
}
