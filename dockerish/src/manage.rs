//! `ps`, `rm`, `images`, `rmi`, `import`: looking at and cleaning up what
//! `run` left. Image commands pass through to `imgtool`.

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use imgtool::human;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Serialize;

use crate::cli::{Format, ImagesArgs, PsArgs, RmArgs, RmiArgs};
use crate::error::{Error, Result};
use crate::signals::exit_code;
use crate::state::{Container, Containers, Status};
use crate::tools::{run_json, Tools};

/// How long `rm -f` waits for a killed container's monitor to record the end.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// One `ps` line, also its `--format json` form.
#[derive(Serialize)]
struct PsRow {
    id: String,
    name: String,
    image: String,
    command: String,
    created: String,
    status: String,
    state: Status,
    exit_code: Option<i32>,
}

pub fn ps(root: &Path, args: PsArgs) -> Result<i32> {
    let containers = Containers::open(root)?;
    let rows: Vec<PsRow> = containers
        .all()?
        .iter()
        .filter(|c| args.all || c.state.effective() == Status::Running)
        .map(|c| PsRow {
            id: if args.no_trunc { c.config.id.clone() } else { c.short_id().to_string() },
            name: c.config.name.clone(),
            image: c.config.image.clone(),
            command: command_column(&c.config.command, args.no_trunc),
            created: human::ago(c.config.created),
            status: status_column(c),
            state: c.state.effective(),
            exit_code: c.state.exit_code,
        })
        .collect();
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows).expect("serializable")),
        Format::Table if args.quiet => rows.iter().for_each(|r| println!("{}", r.id)),
        Format::Table => {
            let mut table = vec![["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"].map(String::from).to_vec()];
            table.extend(rows.into_iter().map(|r| vec![r.id, r.image, r.command, r.created, r.status, String::new(), r.name]));
            print!("{}", human::table(&table));
        }
    }
    Ok(0)
}

/// `"sh -c 'sleep 1'"`, quoted and cut at 20 characters like Docker's.
fn command_column(command: &[String], no_trunc: bool) -> String {
    let text = command.join(" ");
    let cut: String = text.chars().take(19).collect();
    if no_trunc || text.chars().count() <= 20 {
        format!("\"{text}\"")
    } else {
        format!("\"{cut}…\"")
    }
}

/// "Up 3 seconds", "Exited (0) 2 minutes ago", "Created".
fn status_column(c: &Container) -> String {
    let now = human::now();
    match c.state.effective() {
        Status::Created => "Created".into(),
        Status::Running => {
            let up = human::duration(now.saturating_sub(c.state.started_at.unwrap_or(now)));
            if c.state.paused {
                format!("Up {up} (Paused)")
            } else {
                format!("Up {up}")
            }
        }
        Status::Exited => match (c.state.exit_code, c.state.finished_at) {
            (Some(code), Some(at)) => format!("Exited ({code}) {}", human::ago(at)),
            // The monitor was killed before it could record the end.
            _ => "Exited (unknown)".into(),
        },
    }
}

pub fn rm(root: &Path, args: RmArgs) -> Result<i32> {
    let containers = Containers::open(root)?;
    let tools = Tools::new(root);
    let mut failed = false;
    for key in &args.containers {
        match remove_one(&tools, &containers, key, args.force) {
            Ok(()) => println!("{key}"),
            Err(e) => {
                eprintln!("dockerish: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

fn remove_one(tools: &Tools, containers: &Containers, key: &str, force: bool) -> Result<()> {
    let container = containers.find(key)?;
    if container.state.effective() == Status::Running {
        if !force {
            return Err(Error::Refused(format!(
                "cannot remove container {key}: container is running: stop the container before removing or force remove"
            )));
        }
        kill_and_wait(tools, &container)?;
    }
    // Its monitor removes the cgroup when the container ends; if the
    // monitor was killed first, the cgroup is still there.
    crate::run::remove_cgroup(tools, &container.config)?;
    containers.remove(&container)
}

/// SIGKILL to every process of the container's cgroup (`cgctl kill`; a
/// paused container dies too), then wait until its monitor is gone (it
/// records the exit, or removes an `--rm` container itself).
fn kill_and_wait(tools: &Tools, container: &Container) -> Result<()> {
    let monitor = container.state.monitor.expect("a running container has a monitor");
    // A container just started may not have recorded its init yet (ns-exec
    // writes the pidfile once the command has started): give it the time.
    let deadline = Instant::now() + KILL_GRACE;
    let init = loop {
        match container.init_pid() {
            Some(pid) => break Some(pid),
            None if monitor.alive() && Instant::now() < deadline => sleep(Duration::from_millis(10)),
            None => break None,
        }
    };
    match init {
        // `None`: the init ended meanwhile, and its cgroup is gone.
        Some(pid) => {
            run_json::<serde_json::Value>(tools.cgctl(["kill", "--pid", &pid.to_string()])?, "cgctl")?;
        }
        // The init is not (or no longer) there: end the monitor itself.
        None => {
            let _ = kill(Pid::from_raw(monitor.pid), Signal::SIGKILL);
        }
    }
    let deadline = Instant::now() + KILL_GRACE;
    while monitor.alive() {
        if Instant::now() > deadline {
            return Err(Error::Refused(format!("container {} did not stop within {KILL_GRACE:?}", container.config.name)));
        }
        sleep(Duration::from_millis(20));
    }
    Ok(())
}

pub fn images(root: &Path, args: ImagesArgs) -> Result<i32> {
    let mut argv = vec!["ls", "--format", args.format.name()];
    if args.quiet {
        argv.push("-q");
    }
    pass_through(Tools::new(root).imgtool(argv)?)
}

pub fn rmi(root: &Path, args: RmiArgs) -> Result<i32> {
    let tools = Tools::new(root);
    if !args.force {
        let containers = Containers::open(root)?.all()?;
        for name in &args.images {
            let Some(image) = tools.inspect(name)? else { continue };
            if let Some(user) = containers.iter().find(|c| c.config.image_id == image.id) {
                return Err(Error::Refused(format!(
                    "conflict: unable to remove image {name}: container {} ({}) uses it; remove the container or use -f",
                    user.short_id(),
                    user.config.name
                )));
            }
        }
    }
    pass_through(tools.imgtool(["rm".to_string()].into_iter().chain(args.images))?)
}

pub fn import(root: &Path, file: &Path, name: &str) -> Result<i32> {
    let mut cmd = Tools::new(root).imgtool(["import"])?;
    cmd.arg(file).arg(name);
    pass_through(cmd)
}

/// Runs an imgtool command with our stdio; its status is ours.
fn pass_through(mut cmd: Command) -> Result<i32> {
    let status = cmd.status().map_err(Error::io("run", "imgtool"))?;
    Ok(exit_code(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_column_is_quoted_and_cut_like_dockers() {
        let cmd = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(command_column(&cmd("echo hi"), false), "\"echo hi\"");
        assert_eq!(command_column(&cmd("sh -c sleep 1000; echo done"), false), "\"sh -c sleep 1000; e…\"");
        assert_eq!(command_column(&cmd("sh -c sleep 1000; echo done"), true), "\"sh -c sleep 1000; echo done\"");
    }
}
