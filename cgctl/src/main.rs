//! `cgctl`: the command line. The work is in the library (`cgctl`).

use std::ffi::CString;
use std::process::exit;
use std::time::Duration;

use cgctl::error::EXIT_TOOL_FAILED;
use cgctl::{Cgroup, CgroupPath, Error, Layout, Limits, RemoveOptions, Result};
use clap::{Parser, Subcommand, ValueEnum};
use nix::sys::signal::Signal;
use serde::Serialize;

const EXAMPLES: &str = "\
Examples:
  cgctl info                                   the host's layout (v2, v1 or hybrid), as JSON
  cgctl create --memory 64m --pids-limit 20 demo      a cgroup beneath your own, with limits
  cgctl exec demo -- sh -c 'echo $$; cat /proc/self/cgroup'
  cgctl exec --create --cpus 0.5 /dockerish/c1 -- yes > /dev/null   make, join, exec
  cgctl stats demo                             memory, OOM kills, CPU and throttling, pids
  cgctl freeze demo; cgctl thaw demo
  cgctl kill demo                              SIGKILL to every process, even those that fork
  cgctl rm demo                                wait until empty, rmdir, print the last stats

PATH is a cgroup path: absolute (/dockerish/c1) from the hierarchy's root, or relative to the
cgroup you are in (see /proc/self/cgroup). On v1 and hybrid hosts it names the same path in
each controller's hierarchy. Exit status: 0 done, 2 no such cgroup, 125 failed;
exec: 126 command not executable, 127 command not found.";

/// Create, limit, join, inspect, freeze, kill and remove cgroups (v2, v1 and hybrid)
#[derive(Parser)]
#[command(name = "cgctl", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the cgroup layout of this host and where this process is in it
    Info,
    /// Create a cgroup (and its missing parents) with limits
    Create {
        #[command(flatten)]
        limits: Limits,
        path: CgroupPath,
    },
    /// Change the limits of a cgroup
    Set {
        #[command(flatten)]
        limits: Limits,
        path: CgroupPath,
    },
    /// Join a cgroup, then exec COMMAND in it
    Exec {
        /// Create the cgroup with the limits first (removed again if the exec fails)
        #[arg(long)]
        create: bool,
        #[command(flatten)]
        limits: Limits,
        #[arg(required_unless_present = "pid")]
        path: Option<CgroupPath>,
        /// Join the cgroup process PID is in, instead of PATH (`docker exec` does)
        #[arg(long, conflicts_with_all = ["path", "create"])]
        pid: Option<i32>,
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Move processes (with all their threads) into a cgroup
    Add {
        path: CgroupPath,
        #[arg(required = true)]
        pids: Vec<i32>,
    },
    /// Print usage statistics as JSON
    Stats(Target),
    /// Freeze every process in the cgroup (docker pause)
    Freeze(Target),
    /// Thaw a frozen cgroup
    Thaw(Target),
    /// Signal every process in the cgroup and below
    Kill {
        /// Signal name or number
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        #[arg(long, default_value = "10", value_name = "SECONDS")]
        timeout: u64,
        #[command(flatten)]
        target: Target,
    },
    /// Remove cgroups once empty; prints each one's last statistics
    Rm {
        /// Remove child cgroups too
        #[arg(short, long)]
        recursive: bool,
        /// Kill the processes still inside first
        #[arg(short, long)]
        force: bool,
        /// Also remove the parents left empty, up to the root or your own cgroup
        #[arg(short, long)]
        parents: bool,
        /// How long to wait for the processes to leave
        #[arg(long, default_value = "10", value_name = "SECONDS")]
        timeout: u64,
        #[arg(required = true)]
        paths: Vec<CgroupPath>,
    },
    /// List the cgroups below PATH (default: your own cgroup)
    Ls {
        path: Option<CgroupPath>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// A cgroup by path, or the one a process is in.
#[derive(clap::Args)]
struct Target {
    #[arg(required_unless_present = "pid")]
    path: Option<CgroupPath>,
    /// The cgroup process PID is in, instead of PATH
    #[arg(long, conflicts_with = "path")]
    pid: Option<i32>,
}

impl Target {
    fn open(&self) -> Result<Cgroup> {
        match (&self.path, self.pid) {
            (_, Some(pid)) => Cgroup::of_pid(pid),
            (Some(path), None) => Cgroup::open(&Layout::detect()?, path),
            (None, None) => unreachable!("clap requires PATH or --pid"),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// How long freeze and thaw wait for the kernel.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    // Die quietly on a closed stdout (`cgctl stats x | head`), like C tools.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        exit(if e.use_stderr() { EXIT_TOOL_FAILED } else { 0 })
    });
    if let Err(err) = run(cli.command) {
        eprintln!("cgctl: {err}");
        exit(err.exit_code());
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Info => print(&Layout::detect()?),
        Command::Create { limits, path } => {
            print(&Cgroup::create(&Layout::detect()?, &path, &limits)?)
        }
        Command::Set { limits, path } => {
            let layout = Layout::detect()?;
            limits.check(&layout)?;
            let cgroup = Cgroup::open(&layout, &path)?;
            cgroup.set(&limits)?;
            print(&cgroup)
        }
        Command::Exec { create, limits, path, pid, command } => {
            Err(exec(create, &limits, Target { path, pid }, &command))
        }
        Command::Add { path, pids } => {
            let cgroup = Cgroup::open(&Layout::detect()?, &path)?;
            for pid in &pids {
                cgroup.add(*pid)?;
            }
            print(&serde_json::json!({ "path": cgroup.path, "pids": pids }))
        }
        Command::Stats(target) => print(&target.open()?.stats()),
        Command::Freeze(target) => {
            let cgroup = target.open()?;
            cgroup.freeze(FREEZE_TIMEOUT)?;
            print(&serde_json::json!({ "path": cgroup.path, "frozen": true }))
        }
        Command::Thaw(target) => {
            let cgroup = target.open()?;
            cgroup.thaw(FREEZE_TIMEOUT)?;
            print(&serde_json::json!({ "path": cgroup.path, "frozen": false }))
        }
        Command::Kill { signal, timeout, target } => {
            let signal = parse_signal(&signal)?;
            let cgroup = target.open()?;
            let count = cgroup.kill(signal, Duration::from_secs(timeout))?;
            print(
                &serde_json::json!({ "path": cgroup.path, "signal": signal.as_str(), "signalled": count }),
            )
        }
        Command::Rm { recursive, force, parents, timeout, paths } => {
            let layout = Layout::detect()?;
            let options =
                RemoveOptions { recursive, force, parents, timeout: Duration::from_secs(timeout) };
            for path in &paths {
                print(&Cgroup::open(&layout, path)?.remove(options)?)?;
            }
            Ok(())
        }
        Command::Ls { path, format } => ls(path, format),
    }
}

/// Creates (with `--create`) and joins the cgroup, then execs `command`.
/// Returns only on failure; a cgroup it created is removed again.
fn exec(create: bool, limits: &Limits, target: Target, command: &[String]) -> Error {
    let joined = (|| {
        let cgroup = match (create, &target.path) {
            (true, Some(path)) => Cgroup::create(&Layout::detect()?, path, limits)?,
            (false, _) if limits.is_empty() => target.open()?,
            _ => {
                return Err(Error::invalid(
                    "limits",
                    limits.to_args().join(" "),
                    "give them with --create, or use cgctl set",
                ))
            }
        };
        if let Err(e) = cgroup.add(0) {
            undo(create, &cgroup);
            return Err(e);
        }
        Ok(cgroup)
    })();
    let cgroup = match joined {
        Ok(cgroup) => cgroup,
        Err(e) => return e,
    };
    let argv: Vec<CString> = match command.iter().map(|a| CString::new(a.as_bytes())).collect() {
        Ok(argv) => argv,
        Err(_) => {
            undo(create, &cgroup);
            return Error::invalid("command", command.join(" "), "contains a NUL byte");
        }
    };
    let Err(errno) = nix::unistd::execvp(&argv[0], &argv);
    undo(create, &cgroup);
    Error::Exec { command: command[0].clone(), source: errno }
}

/// Leaves a cgroup this exec created, and removes it.
fn undo(created: bool, cgroup: &Cgroup) {
    if created {
        cgroup.leave();
        let _ = cgroup
            .remove(RemoveOptions { timeout: Duration::from_secs(1), ..RemoveOptions::default() });
    }
}

fn ls(path: Option<CgroupPath>, format: Format) -> Result<()> {
    let layout = Layout::detect()?;
    let cgroup = match &path {
        Some(p) => Cgroup::open(&layout, p)?,
        None => Cgroup::of_pid(std::process::id() as i32)?,
    };
    let rows: Vec<(String, usize)> = std::iter::once(String::new())
        .chain(cgroup.descendants())
        .map(|rel| {
            let name = if rel.is_empty() {
                cgroup.path.clone()
            } else {
                format!("{}/{rel}", cgroup.path.trim_end_matches('/'))
            };
            let procs = name
                .parse()
                .and_then(|p| Cgroup::open(&layout, &p))
                .map(|c| c.pids(false).len())
                .unwrap_or(0);
            (name, procs)
        })
        .collect();
    match format {
        Format::Json => print(
            &rows
                .iter()
                .map(|(path, procs)| serde_json::json!({ "path": path, "procs": procs }))
                .collect::<Vec<_>>(),
        ),
        Format::Table => {
            let width = rows.iter().map(|(p, _)| p.len()).max().unwrap_or(0).max(6);
            println!("{:<width$}  PROCS", "CGROUP");
            for (path, procs) in rows {
                println!("{path:<width$}  {procs}");
            }
            Ok(())
        }
    }
}

/// `KILL`, `SIGKILL`, `kill` or `9`.
fn parse_signal(text: &str) -> Result<Signal> {
    let bad = || Error::invalid("signal", text, "expected a name like TERM or a number like 15");
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    name.parse().map_err(|_| bad())
}

fn print<T: Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value).expect("plain data serializes"));
    Ok(())
}
