//! `ps`, `rm`: looking at and cleaning up what
//! `run` left. Image commands pass through to `imgtool`.

use std::path::Path;

use serde::Serialize;
use tool_cli::human;

use crate::cli::{Format, PsArgs, RmArgs};
use crate::container::{discard, teardown};
use crate::error::{Error, Result, ToolError};
use crate::lifecycle::{each, force_stop, settled};
use crate::state::{Container, Containers, Status};
use crate::tools::Tools;

/// One `ps` line. Its JSON form (`--format json`, one object per line)
/// has the keys of Docker's.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PsRow {
    #[serde(rename = "ID")]
    id: String,
    image: String,
    command: String,
    created_at: String,
    running_for: String,
    status: String,
    /// created, running, paused or exited.
    state: &'static str,
    ports: String,
    names: String,
    networks: String,
}

pub fn ps(root: &Path, args: PsArgs) -> Result<i32> {
    let filters = Filters::parse(&args.filters)?;
    let containers = Containers::open(root)?;
    let rows: Vec<PsRow> = containers
        .all()?
        .iter()
        .rev() // newest first, as Docker lists them
        .filter(|c| {
            let up = c.state.effective() == Status::Running || c.state.restarting();
            (args.all || !filters.status.is_empty() || up) && filters.matches(c)
        })
        .map(|c| PsRow {
            id: if args.no_trunc { c.config.id.clone() } else { c.short_id().to_string() },
            image: c.config.image.clone(),
            command: command_column(&c.config.command, args.no_trunc),
            created_at: human::rfc3339(c.config.created),
            running_for: human::ago(c.config.created),
            status: status_column(c),
            state: c.state_name(),
            ports: ports_column(c),
            names: c.config.name.clone(),
            networks: std::iter::once(c.config.network.name())
                .chain(c.config.extra_networks.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(","),
        })
        .collect();
    match args.format {
        Format::Json => rows
            .iter()
            .for_each(|r| println!("{}", serde_json::to_string(r).expect("serializable"))),
        Format::Table if args.quiet => rows.iter().for_each(|r| println!("{}", r.id)),
        Format::Template { template, table } => {
            let rows: Vec<serde_json::Value> = rows.iter().map(crate::format::row).collect();
            crate::format::print_template(&template, table, &rows, PS_HEADERS)?;
        }
        Format::Table => {
            let mut table =
                vec![["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
                    .map(String::from)
                    .to_vec()];
            table.extend(rows.into_iter().map(|r| {
                vec![r.id, r.image, r.command, r.running_for, r.status, r.ports, r.names]
            }));
            print!("{}", human::table(&table));
        }
    }
    Ok(0)
}

/// Docker's headers for `ps --format 'table {{.Field}}…'`.
const PS_HEADERS: &[(&str, &str)] =
    &[("ID", "CONTAINER ID"), ("CreatedAt", "CREATED AT"), ("RunningFor", "CREATED")];

const STATES: [&str; 5] = ["created", "restarting", "running", "paused", "exited"];

/// `ps --filter`: values of one key are alternatives, keys must all match.
#[derive(Default)]
struct Filters {
    status: Vec<String>,
    name: Vec<String>,
    id: Vec<String>,
}

impl Filters {
    fn parse(specs: &[String]) -> Result<Filters> {
        let mut filters = Filters::default();
        for spec in specs {
            let bad = |why: &str| Error::invalid("filter", spec, why.to_string());
            let (key, value) = spec.split_once('=').ok_or_else(|| bad("expected KEY=VALUE"))?;
            match key {
                "status" if STATES.contains(&value) => filters.status.push(value.into()),
                "status" => {
                    return Err(bad(
                        "status is one of created, restarting, running, paused, exited",
                    ))
                }
                "name" => filters.name.push(value.into()),
                "id" => filters.id.push(value.into()),
                _ => return Err(bad("the filters are status, name and id")),
            }
        }
        Ok(filters)
    }

    fn matches(&self, c: &Container) -> bool {
        let any = |values: &[String], f: &dyn Fn(&str) -> bool| {
            values.is_empty() || values.iter().any(|v| f(v))
        };
        any(&self.status, &|v| v == c.state_name())
            && any(&self.name, &|v| c.config.name.contains(v))
            && any(&self.id, &|v| c.config.id.starts_with(v))
    }
}

/// `0.0.0.0:8080->80/tcp, 127.0.0.1:9090->90/udp` of a running container.
fn ports_column(c: &Container) -> String {
    if c.state.effective() != Status::Running {
        return String::new();
    }
    let ports: Vec<String> =
        c.state.networks.iter().flat_map(|n| n.ports.iter().map(|p| p.to_string())).collect();
    ports.join(", ")
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
    if c.dead {
        return "Dead".into();
    }
    let now = human::now();
    if c.state.restarting() {
        let code = c.state.exit_code.unwrap_or_default();
        return format!("Restarting ({code}) {}", human::ago(c.state.finished_at.unwrap_or(now)));
    }
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
        Status::Exited => match c.state.finished_at {
            Some(at) => format!(
                "Exited ({}) {}",
                c.state.shown_exit_code().unwrap_or_default(),
                human::ago(at)
            ),
            // The monitor was killed (or the machine restarted) before it
            // could record the end.
            None => format!("Exited ({})", c.state.shown_exit_code().unwrap_or_default()),
        },
    }
}

pub fn rm(root: &Path, args: RmArgs) -> Result<i32> {
    let containers = Containers::open(root)?;
    let tools = Tools::new(root);
    Ok(each(&args.containers, |key| remove_one(&tools, &containers, key, args.force, args.volumes)))
}

fn remove_one(
    tools: &Tools,
    containers: &Containers,
    key: &str,
    force: bool,
    volumes: bool,
) -> Result<()> {
    let found = containers.find(key)?;
    if force {
        // Before settled(): see lifecycle::stop_one.
        crate::restart::end_policy(containers, &found.config.id)?;
    }
    let container = settled(containers, &containers.load(&found.config.id)?)?;
    if container.state.effective() == Status::Running || container.state.restarting() {
        if !force {
            return Err(running(key));
        }
        force_stop(tools, containers, &container)?;
    }
    // Decided again under the lock: a `start` may have begun meanwhile.
    let _lock = containers.lock()?;
    let container = match containers.load(&container.config.id) {
        // An --rm container, removed by its monitor as it ended.
        Err(Error::NoSuchContainer(_)) => return Ok(()),
        other => other?,
    };
    if container.state.effective() == Status::Running || container.state.starting() {
        return Err(running(key));
    }
    // Its monitor removes the cgroup when the container ends; if the
    // monitor was killed first, the cgroup is still there.
    teardown(tools, &container.config)?;
    crate::crash::point("rm:torn-down")?;
    discard(containers, &container, volumes)
}

fn running(key: &str) -> Error {
    Error::RemoveRunning(key.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_column_is_quoted_and_cut_like_dockers() {
        let cmd = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(command_column(&cmd("echo hi"), false), "\"echo hi\"");
        assert_eq!(
            command_column(&cmd("sh -c sleep 1000; echo done"), false),
            "\"sh -c sleep 1000; e…\""
        );
        assert_eq!(
            command_column(&cmd("sh -c sleep 1000; echo done"), true),
            "\"sh -c sleep 1000; echo done\""
        );
    }
}
