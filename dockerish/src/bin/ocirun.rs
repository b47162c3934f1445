//! `ocirun`: an OCI runtime with runc's command line (see `dockerish::oci`),
//! for podman's `--runtime`, containerd's `--runc-binary` and the like.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use dockerish::error::{Error, ToolError};
use dockerish::oci::{self, CreateOptions, ExecOptions, Runtime};

const EXAMPLES: &str = "\
Examples:
  mkdir -p b/rootfs && tar -C b/rootfs -xf busybox.tar && cd b && ocirun spec
  ocirun run -b . demo                        create, start, wait, delete
  ocirun create -b . demo && ocirun start demo && ocirun state demo
  ocirun kill demo TERM && ocirun delete demo
  podman --runtime /usr/local/bin/ocirun run --rm busybox echo hi";

/// An OCI runtime (runc's command line) over the dockerish tools
#[derive(Parser)]
#[command(name = "ocirun", version = concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.0.2"), after_help = EXAMPLES)]
struct Cli {
    /// Where containers' state is kept
    #[arg(long, value_name = "DIR", default_value = oci::DEFAULT_ROOT, global = true)]
    root: PathBuf,
    /// Also write errors to FILE (engines read it when a command fails)
    #[arg(long, value_name = "FILE", global = true)]
    log: Option<PathBuf>,
    /// How --log is written: text or json (one object a line, as runc's)
    #[arg(long, value_name = "FORMAT", default_value = "text", global = true)]
    log_format: String,
    /// Refused: ocirun drives cgroupfs, not systemd
    #[arg(long, global = true)]
    systemd_cgroup: bool,
    /// Accepted for runc's compatibility; ignored
    #[arg(long, global = true)]
    debug: bool,
    /// Accepted for runc's compatibility (auto, true, false); ignored
    #[arg(long, value_name = "MODE", global = true)]
    rootless: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set a container up from a bundle; its program waits for start
    Create(CreateArgs),
    /// Run the program of a created container
    Start { id: String },
    /// Create, start, wait for the program, and delete (unless --detach)
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return after start
        #[arg(short, long)]
        detach: bool,
    },
    /// The runtime-spec's state of a container, as JSON
    State { id: String },
    /// Send a signal (default TERM) to the container's first process, or to all of it
    Kill {
        id: String,
        #[arg(default_value = "TERM")]
        signal: String,
        /// Every process of the container's cgroup
        #[arg(short, long)]
        all: bool,
    },
    /// Freeze every process of a running container
    Pause { id: String },
    /// Thaw a paused container
    Resume { id: String },
    /// Change a container's cgroup limits
    Update(UpdateArgs),
    /// Remove a container: its cgroup and state (--force: kill it first)
    Delete {
        id: String,
        #[arg(short, long)]
        force: bool,
    },
    /// Run another process in a running container
    Exec(ExecArgs),
    /// The container's processes
    Ps {
        id: String,
        /// table or json (a list of host PIDs)
        #[arg(short, long, default_value = "table")]
        format: String,
    },
    /// The containers under --root
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        /// IDs only
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write a default config.json (busybox's sh in ./rootfs)
    Spec {
        #[arg(short, long, value_name = "DIR", default_value = ".")]
        bundle: PathBuf,
    },
    /// What this runtime supports, as JSON (runtime-spec's features.md)
    Features,
}

#[derive(clap::Args)]
struct CreateArgs {
    id: String,
    /// The bundle directory
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    bundle: PathBuf,
    /// Write the container's first PID here
    #[arg(long, value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// With process.terminal: send the terminal's master here
    #[arg(long, value_name = "SOCKET")]
    console_socket: Option<PathBuf>,
    /// Accepted for runc's compatibility; ignored
    #[arg(long)]
    no_pivot: bool,
    /// Accepted for runc's compatibility; ignored
    #[arg(long)]
    no_new_keyring: bool,
    /// Pass descriptors 3..3+N to the program (all others are closed at its exec)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=65536))]
    preserve_fds: Option<u32>,
}

/// runc's update flags; `-r` replaces them all.
#[derive(clap::Args)]
#[command(allow_negative_numbers = true)]
struct UpdateArgs {
    id: String,
    /// linux.resources as JSON, from FILE or - (stdin); the other flags are then ignored
    #[arg(short, long, value_name = "FILE")]
    resources: Option<PathBuf>,
    /// Memory limit (bytes, or 64m…)
    #[arg(short, long, value_name = "SIZE")]
    memory: Option<String>,
    /// Memory plus swap (bytes, or 128m…; -1 for unlimited)
    #[arg(long, value_name = "SIZE")]
    memory_swap: Option<String>,
    #[arg(long, value_name = "SIZE")]
    memory_reservation: Option<String>,
    #[arg(long, value_name = "N")]
    cpu_shares: Option<u64>,
    /// CFS quota in microseconds per --cpu-period (default 100000)
    #[arg(long, value_name = "US")]
    cpu_quota: Option<i64>,
    /// CFS period in microseconds, with --cpu-quota (cgctl keeps quota/period)
    #[arg(long, value_name = "US")]
    cpu_period: Option<u64>,
    #[arg(long, value_name = "LIST")]
    cpuset_cpus: Option<String>,
    #[arg(long, value_name = "LIST")]
    cpuset_mems: Option<String>,
    /// Processes (threads included); -1 for unlimited
    #[arg(long, value_name = "N")]
    pids_limit: Option<i64>,
    #[arg(long, value_name = "N")]
    blkio_weight: Option<u16>,
}

impl UpdateArgs {
    /// The flags (or the -r file) as runtime-spec's linux.resources.
    fn resources(&self) -> Result<oci_spec::runtime::LinuxResources, Error> {
        let bad = |what: &str, e: String| Error::invalid("update", what.to_string(), e);
        let text = match &self.resources {
            Some(file) if file.as_os_str() == "-" => {
                std::io::read_to_string(std::io::stdin()).map_err(|e| bad("-r -", e.to_string()))?
            }
            Some(file) => std::fs::read_to_string(file)
                .map_err(|e| bad(&file.display().to_string(), e.to_string()))?,
            None => {
                // cgctl keeps a CPU limit as quota per period: a period
                // alone would change nothing.
                if let (Some(period), None) = (self.cpu_period, self.cpu_quota) {
                    return Err(bad(
                        &format!("--cpu-period {period}"),
                        "needs --cpu-quota: a CPU limit is a quota per period".into(),
                    ));
                }
                let size = |flag: &str, v: &Option<String>| -> Result<Option<i64>, Error> {
                    v.as_deref()
                        .map(|t| match t.trim() {
                            "-1" => Ok(-1),
                            t => tool_cli::human::parse_size(t).map(|n| n as i64),
                        })
                        .transpose()
                        .map_err(|e| bad(flag, e.to_string()))
                };
                let json = serde_json::json!({
                    "memory": {
                        "limit": size("--memory", &self.memory)?,
                        "swap": size("--memory-swap", &self.memory_swap)?,
                        "reservation": size("--memory-reservation", &self.memory_reservation)?,
                    },
                    "cpu": {
                        "shares": self.cpu_shares, "quota": self.cpu_quota,
                        "period": self.cpu_period,
                        "cpus": self.cpuset_cpus, "mems": self.cpuset_mems,
                    },
                    "pids": self.pids_limit.map(|limit| serde_json::json!({"limit": limit})),
                    "blockIO": { "weight": self.blkio_weight },
                });
                without_nulls(json).to_string()
            }
        };
        serde_json::from_str(&text).map_err(|e| bad("resources", e.to_string()))
    }
}

/// A JSON value without its null members (oci-spec refuses a null where
/// it wants an object).
fn without_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, without_nulls(v)))
            .collect(),
        other => other,
    }
}

#[derive(clap::Args)]
struct ExecArgs {
    id: String,
    /// A process.json (runtime-spec's process object) instead of ARGS
    #[arg(short, long, value_name = "FILE")]
    process: Option<PathBuf>,
    #[arg(short, long)]
    tty: bool,
    #[arg(short, long)]
    detach: bool,
    #[arg(long, value_name = "FILE")]
    pid_file: Option<PathBuf>,
    #[arg(long, value_name = "SOCKET")]
    console_socket: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Pass descriptors 3..3+N to the process
    #[arg(long, value_name = "N", default_value_t = 0)]
    preserve_fds: u32,
    #[arg(short, long, value_name = "KEY=VALUE")]
    env: Vec<String>,
    #[arg(trailing_var_arg = true, value_name = "ARGS")]
    args: Vec<String>,
}

fn main() {
    let cli: Cli = tool_cli::run::parse();
    let log = cli.log.clone().map(|file| (file, cli.log_format == "json"));
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            if let Some((file, json)) = log {
                if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file)
                {
                    let time = tool_cli::human::rfc3339_nanos(std::time::SystemTime::now());
                    let line = match json {
                        true => serde_json::json!({"level": "error", "msg": err.to_string(), "time": time}).to_string(),
                        false => format!("{time} error: {err}"),
                    };
                    let _ = writeln!(f, "{line}");
                }
            }
            eprintln!("ocirun: {err}");
            std::process::exit(err.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<i32, Error> {
    if cli.systemd_cgroup {
        return Err(Error::invalid(
            "--systemd-cgroup",
            "",
            "not supported: ocirun drives cgroupfs (use the cgroupfs cgroup manager)",
        ));
    }
    let rt = Runtime::new(&cli.root);
    let create_opts = |a: &CreateArgs| CreateOptions {
        bundle: a.bundle.clone(),
        preserve_fds: a.preserve_fds.unwrap_or(0),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
    };
    match cli.command {
        Command::Create(a) => rt.create(&a.id, &create_opts(&a)).map(|_| 0),
        Command::Start { id } => rt.start(&id).map(|_| 0),
        Command::Run { create, detach } => {
            if !detach {
                // The container's first process is orphaned when ns-exec
                // exits: as a subreaper we adopt it, and can wait for it.
                nix::sys::prctl::set_child_subreaper(true)
                    .map_err(|e| Error::sys("become", "a subreaper", e))?;
            }
            let record = rt.create(&create.id, &create_opts(&create))?;
            if let Err(e) = rt.start(&create.id) {
                let _ = rt.delete(&create.id, true);
                return Err(e);
            }
            if detach {
                return Ok(0);
            }
            let code = wait_for(record.pid);
            rt.delete(&create.id, true)?;
            Ok(code)
        }
        Command::State { id } => {
            println!("{}", serde_json::to_string_pretty(&rt.state(&id)?).expect("JSON"));
            Ok(0)
        }
        Command::Kill { id, signal, all } => {
            let signal = tool_cli::signal::parse(&signal)?;
            rt.kill(&id, signal, all).map(|_| 0)
        }
        Command::Pause { id } => rt.pause(&id).map(|_| 0),
        Command::Resume { id } => rt.resume(&id).map(|_| 0),
        Command::Update(a) => rt.update(&a.id, &a.resources()?).map(|_| 0),
        Command::Delete { id, force } => rt.delete(&id, force).map(|_| 0),
        Command::Exec(a) => {
            if a.process.is_none() && a.args.is_empty() {
                return Err(Error::invalid("exec", &a.id, "give ARGS or --process"));
            }
            let opts = ExecOptions {
                process: a.process,
                args: a.args,
                env: a.env,
                cwd: a.cwd,
                tty: a.tty,
                detach: a.detach,
                pid_file: a.pid_file,
                console_socket: a.console_socket,
                preserve_fds: a.preserve_fds,
            };
            rt.exec(&a.id, &opts)
        }
        Command::Ps { id, format } => {
            let pids = rt.pids(&id)?;
            if format == "json" {
                println!("{}", serde_json::to_string(&pids).expect("JSON"));
            } else {
                let mut rows = vec![vec!["PID".to_string(), "CMD".to_string()]];
                for pid in pids {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ").trim().to_string();
                    rows.push(vec![pid.to_string(), cmd]);
                }
                print!("{}", tool_cli::human::table(&rows));
            }
            Ok(0)
        }
        Command::List { format, quiet } => {
            let list = rt.list()?;
            if quiet {
                list.iter().for_each(|(r, _)| println!("{}", r.id));
            } else if format == "json" {
                let items: Vec<_> = list
                    .iter()
                    .map(|(r, s)| serde_json::json!({"ociVersion": oci::OCI_VERSION, "id": r.id, "pid": r.pid, "status": s.name(), "bundle": r.bundle, "created": r.created}))
                    .collect();
                println!("{}", serde_json::to_string(&items).expect("JSON"));
            } else {
                let mut rows =
                    vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED"].map(String::from).to_vec()];
                for (r, s) in &list {
                    rows.push(vec![
                        r.id.clone(),
                        r.pid.to_string(),
                        s.name().into(),
                        r.bundle.display().to_string(),
                        r.created.clone(),
                    ]);
                }
                print!("{}", tool_cli::human::table(&rows));
            }
            Ok(0)
        }
        Command::Spec { bundle } => oci::write_default_spec(&bundle).map(|_| 0),
        Command::Features => {
            println!("{}", serde_json::to_string_pretty(&oci::features()).expect("JSON"));
            Ok(0)
        }
    }
}

/// Waits for our adopted child `pid` (reaping any other orphan that ends
/// meanwhile); its exit status, 128+N for a signal.
fn wait_for(pid: i32) -> i32 {
    use nix::sys::wait::{waitpid, WaitStatus};
    loop {
        match waitpid(nix::unistd::Pid::from_raw(-1), None) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return code,
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => return 128 + sig as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return tool_cli::exit::EXIT_FAILED,
        }
    }
}
