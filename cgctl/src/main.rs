//! `cgctl`: the command line. The work is in the library (`cgctl`).

use std::ffi::CString;
use std::time::Duration;

use cgctl::{Cgroup, CgroupPath, Error, ExecTarget, Layout, LimitFlags, Limits, RemoveOptions};
use cgctl::{Result, ToolError};
use clap::{Parser, Subcommand, ValueEnum};
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
        limits: LimitFlags,
        path: CgroupPath,
    },
    /// Change the limits of a cgroup
    Set {
        #[command(flatten)]
        limits: LimitFlags,
        path: CgroupPath,
    },
    /// Join a cgroup, then exec COMMAND in it
    Exec {
        /// Create the cgroup with the limits first (removed again if the exec fails)
        #[arg(long)]
        create: bool,
        #[command(flatten)]
        limits: LimitFlags,
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
        #[arg(long, default_value_t = cgctl::cgroup::DEFAULT_TIMEOUT.as_secs(), value_name = "SECONDS")]
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
        #[arg(long, default_value_t = cgctl::cgroup::DEFAULT_TIMEOUT.as_secs(), value_name = "SECONDS")]
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
    tool_cli::run::main("cgctl", |cli: Cli| run(cli.command).map(|()| 0))
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Info => print_json(&Layout::detect()?),
        Command::Create { limits, path } => {
            print_json(&Cgroup::create(&Layout::detect()?, &path, &limits.into())?)
        }
        Command::Set { limits, path } => {
            let (layout, limits) = (Layout::detect()?, Limits::from(limits));
            limits.check(&layout)?;
            let cgroup = Cgroup::open(&layout, &path)?;
            cgroup.set(&limits)?;
            print_json(&cgroup)
        }
        Command::Exec { create, limits, path, pid, command } => {
            let target = ExecTarget::from_flags(create, limits.into(), path, pid)?;
            let argv =
                command.into_iter().map(CString::new).collect::<std::result::Result<Vec<_>, _>>();
            let argv = argv.map_err(|_| Error::invalid("command", "", "contains a NUL byte"))?;
            Err(cgctl::exec(&target, &argv))
        }
        Command::Add { path, pids } => {
            let cgroup = Cgroup::open(&Layout::detect()?, &path)?;
            for pid in &pids {
                cgroup.add(*pid)?;
            }
            print_json(&serde_json::json!({ "path": cgroup.path, "pids": pids }))
        }
        Command::Stats(target) => print_json(&target.open()?.stats()),
        Command::Freeze(target) => {
            let cgroup = target.open()?;
            cgroup.freeze(FREEZE_TIMEOUT)?;
            print_json(&serde_json::json!({ "path": cgroup.path, "frozen": true }))
        }
        Command::Thaw(target) => {
            let cgroup = target.open()?;
            cgroup.thaw(FREEZE_TIMEOUT)?;
            print_json(&serde_json::json!({ "path": cgroup.path, "frozen": false }))
        }
        Command::Kill { signal, timeout, target } => {
            let signal = tool_cli::signal::parse(&signal)?;
            let cgroup = target.open()?;
            let count = cgroup.kill(signal, Duration::from_secs(timeout))?;
            let (path, signal) = (cgroup.path, signal.as_str());
            print_json(&serde_json::json!({ "path": path, "signal": signal, "signalled": count }))
        }
        Command::Rm { recursive, force, parents, timeout, paths } => {
            let layout = Layout::detect()?;
            let options =
                RemoveOptions { recursive, force, parents, timeout: Duration::from_secs(timeout) };
            for path in &paths {
                print_json(&Cgroup::open(&layout, path)?.remove(options)?)?;
            }
            Ok(())
        }
        Command::Ls { path, format } => {
            let layout = Layout::detect()?;
            let cgroup = match &path {
                Some(p) => Cgroup::open(&layout, p)?,
                None => Cgroup::of_pid(std::process::id() as i32)?,
            };
            let tree = cgroup.tree(&layout);
            match format {
                Format::Json => print_json(&tree),
                Format::Table => {
                    let mut rows = vec![vec!["CGROUP".to_string(), "PROCS".to_string()]];
                    rows.extend(tree.into_iter().map(|e| vec![e.path, e.procs.to_string()]));
                    print!("{}", tool_cli::human::table(&rows));
                    Ok(())
                }
            }
        }
    }
}

fn print_json<T: Serialize>(value: &T) -> Result<()> {
    tool_cli::print_json(value);
    Ok(())
}
