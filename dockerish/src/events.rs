//! `dockerish events`: what happened in the state root, from its event log
//! (`json_store::events`), which each tool appends to as it acts:
//! dockerish for containers (create, start, die, stop, kill, pause,
//! unpause, rename, update, restart, exec_start, commit, destroy) and
//! volumes (create, destroy), imgtool for images (import, load, save, tag,
//! untag, delete), netctl for networks (create, connect, destroy).
//!
//! Without `--until` it follows the log as Docker's does, until
//! interrupted; `--since` and `--until` bound it (times, Unix seconds or
//! durations ago, as `logs` takes them).

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, SystemTime};

use json_store::events::{self, Event};

use crate::cli::{EventsArgs, Format};
use crate::error::{Error, Result, ToolError};
use crate::state::{Config, Containers};
use tool_cli::human;

/// Appends a container event: Docker's attributes (name, image) and `extra`.
pub fn container(containers: &Containers, action: &str, config: &Config, extra: &[(&str, &str)]) {
    let mut attributes = vec![("name", config.name.as_str()), ("image", config.image.as_str())];
    attributes.extend_from_slice(extra);
    let event = Event::new("container", action, &config.id, &attributes);
    events::append(containers.root(), &event);
}

/// Appends a volume event.
pub fn volume(root: &Path, action: &str, name: &str) {
    events::append(root, &Event::new("volume", action, name, &[("driver", "local")]));
}

/// How often a follower looks for more.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

pub fn events(root: &Path, args: EventsArgs) -> Result<i32> {
    let now = SystemTime::now();
    let moment = |flag, text: &Option<String>| {
        text.as_deref().map(|t| human::parse_moment(flag, t, now)).transpose()
    };
    let (since, until) = (moment("--since", &args.since)?, moment("--until", &args.until)?);
    let filters = Filters::parse(&args.filters)?;
    let show = |event: &Event| -> Result<bool> {
        let wanted = since.is_none_or(|s| event.time_nano >= s)
            && until.is_none_or(|u| event.time_nano <= u)
            && filters.matches(event);
        if wanted {
            print(event, &args.format)?;
        }
        Ok(wanted)
    };
    let [old, current] = events::paths(root);
    if let Ok(file) = File::open(&old) {
        read_lines(&mut BufReader::new(file), &mut Vec::new(), &show)?;
    }
    let mut file = File::open(&current).ok();
    let mut pending = Vec::new();
    if let Some(f) = file.as_mut() {
        read_lines(&mut BufReader::new(f), &mut pending, &show)?;
    }
    if until.is_some() {
        return Ok(0);
    }
    // Follow: what is appended, and the new file after a rotation.
    loop {
        sleep(FOLLOW_INTERVAL);
        let inode = |m: std::fs::Metadata| m.ino();
        // Rotated? Asked before reading: what was appended before the
        // rename is then all in the file we hold.
        let now_there = std::fs::metadata(&current).map(inode).ok();
        if let Some(f) = file.as_mut() {
            let rotated = now_there != f.metadata().map(inode).ok();
            read_lines(&mut BufReader::new(&mut *f), &mut pending, &show)?;
            if rotated {
                file = None;
            }
        }
        if file.is_none() {
            file = File::open(&current).ok();
            pending.clear();
            if let Some(f) = file.as_mut() {
                f.seek(SeekFrom::Start(0)).map_err(Error::io("read", &current))?;
            }
        }
    }
}

/// Shows each whole line `reader` has; keeps a last partial one in `pending`.
fn read_lines(
    reader: &mut impl BufRead,
    pending: &mut Vec<u8>,
    show: &impl Fn(&Event) -> Result<bool>,
) -> Result<()> {
    let mut data = std::mem::take(pending);
    reader.read_to_end(&mut data).map_err(Error::io("read", "the event log"))?;
    let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    for line in data[..complete].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        // A line no tool of ours wrote is skipped, not fatal.
        if let Ok(event) = serde_json::from_slice::<Event>(line) {
            show(&event)?;
        }
    }
    *pending = data[complete..].to_vec();
    Ok(())
}

fn print(event: &Event, format: &Format) -> Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string(event).expect("serializable")),
        Format::Template { template, .. } => {
            let value = serde_json::to_value(event).expect("serializable");
            println!("{}", crate::format::render(template, &value)?);
        }
        Format::Table => {
            // Docker's line: time, type, action, ID, (attributes).
            let time = human::rfc3339_nanos(
                SystemTime::UNIX_EPOCH + Duration::from_nanos(event.time_nano as u64),
            );
            let attributes: Vec<String> =
                event.actor.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "{time} {} {} {} ({})",
                event.kind,
                event.action,
                event.actor.id,
                attributes.join(", ")
            );
        }
    }
    Ok(())
}

/// `--filter`: values of one key are alternatives, keys must all match.
#[derive(Default)]
struct Filters {
    kinds: Vec<String>,
    actions: Vec<String>,
    /// container=, image=, network=, volume=: an ID (prefix) or a name.
    objects: Vec<(String, String)>,
}

impl Filters {
    fn parse(specs: &[String]) -> Result<Filters> {
        let mut filters = Filters::default();
        for spec in specs {
            let bad = |why: &str| Error::invalid("--filter", spec, why.to_string());
            let (key, value) = spec.split_once('=').ok_or_else(|| bad("expected KEY=VALUE"))?;
            match key {
                "type" if ["container", "image", "network", "volume"].contains(&value) => {
                    filters.kinds.push(value.into())
                }
                "type" => return Err(bad("type is one of container, image, network, volume")),
                "event" | "action" => filters.actions.push(value.into()),
                "container" | "image" | "network" | "volume" => {
                    filters.objects.push((key.into(), value.into()))
                }
                _ => {
                    return Err(bad(
                        "the filters are type, event, container, image, network and volume",
                    ))
                }
            }
        }
        Ok(filters)
    }

    fn matches(&self, e: &Event) -> bool {
        let any = |values: &[String], v: &str| values.is_empty() || values.iter().any(|x| x == v);
        // `event=exec_start` matches `exec_start: CMD`, as Docker's does.
        let action = e.action.split(':').next().unwrap_or_default();
        let named = |value: &str| {
            (!value.is_empty() && e.actor.id.starts_with(value))
                || e.actor.attributes.get("name").is_some_and(|n| n == value)
        };
        // The object filters are alternatives, each about events of its kind.
        let objects_ok = self.objects.is_empty()
            || self.objects.iter().any(|(kind, value)| *kind == e.kind && named(value));
        let action_ok = any(&self.actions, &e.action) || any(&self.actions, action);
        any(&self.kinds, &e.kind) && action_ok && objects_ok
    }
}
