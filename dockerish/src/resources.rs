//! `stats`, `pause`, `unpause`, `update`: a running container's cgroup, through
//! `cgctl` (`--pid` names the cgroup the container's init is in).

use std::io::Write;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde::Serialize;
use tool_cli::human;

use crate::cli::{Format, StatsArgs, UpdateArgs};
use crate::error::{Error, Result, ToolError};
use crate::state::{Container, Containers, Status};
use crate::tools::{run_json, run_quiet, Tools};

/// How long `stats` measures CPU use over, and refreshes a stream.
const INTERVAL: Duration = Duration::from_secs(1);

/// One `stats` line, also its `--format json` form.
#[derive(Serialize)]
struct StatsRow {
    id: String,
    name: String,
    cpu_percent: f64,
    mem_usage: u64,
    mem_limit: u64,
    mem_percent: f64,
    pids: u64,
}

pub fn stats(root: &Path, args: StatsArgs) -> Result<i32> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?;
    let chosen: Vec<Container> = if args.containers.is_empty() {
        containers.all()?.into_iter().filter(|c| c.state.effective() == Status::Running).collect()
    } else {
        args.containers.iter().map(|k| containers.find(k)).collect::<Result<_>>()?
    };
    let host_memory = host_memory();
    let mut before = sample(&tools, &chosen)?;
    loop {
        sleep(INTERVAL);
        let after = sample(&tools, &chosen)?;
        let rows: Vec<StatsRow> = chosen
            .iter()
            .zip(before.iter().zip(&after))
            .map(|(c, (b, a))| row(c, b.as_ref(), a.as_ref(), host_memory))
            .collect();
        print(&rows, &args.format, !args.no_stream)?;
        if args.no_stream {
            return Ok(0);
        }
        before = after;
    }
}

/// A reading of each container's cgroup, and when it was taken; `None`
/// for a container that is not running.
type Sample = Option<(cgctl::Stats, Instant)>;

fn sample(tools: &Tools, containers: &[Container]) -> Result<Vec<Sample>> {
    containers
        .iter()
        .map(|c| {
            let Some(pid) = c.init_pid() else { return Ok(None) };
            let stats = run_json::<cgctl::Stats>(
                tools.cgctl(["stats", "--pid", &pid.to_string()])?,
                "cgctl",
            )?;
            Ok(stats.map(|s| (s, Instant::now())))
        })
        .collect()
}

/// CPU % is the CPU time used between two readings over the time between
/// them: 100% is one core busy (Docker's convention).
fn row(
    c: &Container,
    before: Option<&(cgctl::Stats, Instant)>,
    after: Option<&(cgctl::Stats, Instant)>,
    host_memory: u64,
) -> StatsRow {
    let cpu = |s: &cgctl::Stats| s.cpu.as_ref().map_or(0, |c| c.usage_usec);
    let cpu_percent = match (before, after) {
        (Some((b, tb)), Some((a, ta))) => {
            let wall = ta.duration_since(*tb).as_micros().max(1) as f64;
            cpu(a).saturating_sub(cpu(b)) as f64 * 100.0 / wall
        }
        _ => 0.0,
    };
    let stats = after.map(|(s, _)| s);
    let memory = stats.and_then(|s| s.memory.as_ref());
    let mem_usage = memory.map_or(0, |m| m.current);
    let mem_limit = memory.and_then(|m| m.max).unwrap_or(host_memory).min(host_memory.max(1));
    StatsRow {
        id: c.short_id().to_string(),
        name: c.config.name.clone(),
        cpu_percent: (cpu_percent * 100.0).round() / 100.0,
        mem_usage,
        mem_limit,
        mem_percent: (mem_usage as f64 * 10_000.0 / mem_limit.max(1) as f64).round() / 100.0,
        pids: stats.and_then(|s| s.pids.as_ref()).map_or(0, |p| p.current),
    }
}

fn print(rows: &[StatsRow], format: &Format, clear: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mem_usage =
        |r: &StatsRow| format!("{} / {}", human::size(r.mem_usage), human::size(r.mem_limit));
    match format {
        Format::Template { template, table } => {
            // Docker's template fields.
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "ID": r.id, "Container": r.id, "Name": r.name,
                        "CPUPerc": format!("{:.2}%", r.cpu_percent),
                        "MemUsage": mem_usage(r),
                        "MemPerc": format!("{:.2}%", r.mem_percent),
                        "PIDs": r.pids.to_string(),
                    })
                })
                .collect();
            let headers = [
                ("ID", "CONTAINER ID"),
                ("Container", "CONTAINER"),
                ("CPUPerc", "CPU %"),
                ("MemUsage", "MEM USAGE / LIMIT"),
                ("MemPerc", "MEM %"),
            ];
            drop(out);
            return crate::format::print_template(template, *table, &rows, &headers);
        }
        Format::Json => {
            let _ = writeln!(out, "{}", serde_json::to_string(rows).expect("serializable"));
        }
        Format::Table => {
            let mut table =
                vec![["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"]
                    .map(String::from)
                    .to_vec()];
            table.extend(rows.iter().map(|r| {
                vec![
                    r.id.clone(),
                    r.name.clone(),
                    format!("{:.2}%", r.cpu_percent),
                    mem_usage(r),
                    format!("{:.2}%", r.mem_percent),
                    r.pids.to_string(),
                ]
            }));
            // A stream redraws the screen, like `top`.
            let _ =
                write!(out, "{}{}", if clear { "\x1b[2J\x1b[H" } else { "" }, human::table(&table));
        }
    }
    let _ = out.flush();
    Ok(())
}

/// MemTotal from /proc/meminfo: the limit of a container without one.
pub fn host_memory() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kib.unwrap_or(0) * 1024
}

/// `update`: new limits (and restart policy) for containers. A running
/// one's cgroup takes them at once (cgctl's library: the cgroup its record
/// names); the record keeps them for its next starts.
pub fn update(root: &Path, args: UpdateArgs) -> Result<i32> {
    if args.limits.devices_default || !args.limits.device_allow.is_empty() {
        let why = "update changes limits and the restart policy, not devices";
        return Err(Error::invalid("update", "--device-allow", why));
    }
    // Checked as a whole once merged with each container's own limits
    // (`--memory-swap` alone is fine for a container with a memory limit).
    crate::run::check_memory_floor(&args.limits)?;
    let changes = cgctl::Limits::from(args.limits.clone());
    if changes.is_empty() && args.restart.is_none() {
        let why = "give at least one limit (--memory, --cpus, --pids-limit, …) or --restart";
        return Err(Error::invalid("update", args.containers.join(" "), why));
    }
    let containers = Containers::open(root)?;
    Ok(crate::lifecycle::each(&args.containers, |key| {
        let id = containers.find(key)?.config.id;
        containers
            .update(&id, |c| {
                if args.restart.is_some_and(|r| !r.is_no()) && c.config.auto_remove {
                    let why = "a container run with --rm cannot have a restart policy";
                    return Err(Error::invalid("--restart", key, why));
                }
                let mut merged = c.config.resources.clone();
                merged.overlay(&changes);
                if !changes.is_empty() {
                    let layout = cgctl::Layout::detect()?;
                    merged.check(&layout)?;
                    if c.init_pid().is_some() {
                        // Memory and swap go together: the swap limit counts both.
                        let mut apply = changes.clone();
                        if changes.memory.is_some() || changes.memory_swap.is_some() {
                            (apply.memory, apply.memory_swap) = (merged.memory, merged.memory_swap);
                        }
                        cgctl::Cgroup::open(&layout, &c.config.cgroup())?.set(&apply)?;
                    }
                }
                c.config.resources = merged;
                if let Some(policy) = args.restart {
                    c.config.restart = policy;
                }
                // Under the store lock, with the state.
                c.save_config()
            })
            .map(|c| crate::events::container(&containers, "update", &c.config, &[]))
    }))
}

/// `pause` (freeze) or `unpause` (thaw) each container; the CLI's exit
/// status is 1 if any failed, as Docker's.
pub fn pause(root: &Path, keys: &[String], pause: bool) -> Result<i32> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?;
    Ok(crate::lifecycle::each(keys, |key| set_paused(&tools, &containers, key, pause)))
}

fn set_paused(tools: &Tools, containers: &Containers, key: &str, pause: bool) -> Result<()> {
    let _lock = containers.lock()?;
    let mut container = containers.find(key)?;
    let pid = container.running_init()?;
    match (pause, container.state.paused) {
        (true, true) => return Err(Error::AlreadyPaused(container.short_id().into())),
        (false, false) => return Err(Error::NotPaused(container.short_id().into())),
        _ => {}
    }
    run_quiet(
        tools.cgctl([if pause { "freeze" } else { "thaw" }, "--pid", &pid.to_string()])?,
        "cgctl",
    )?;
    container.state.paused = pause;
    container.save_state()?;
    let action = if pause { "pause" } else { "unpause" };
    crate::events::container(containers, action, &container.config, &[]);
    Ok(())
}
