//! The event log of a state root: `ROOT/events.log`, one JSON object per
//! line in Docker's event format, appended by each tool as it acts
//! (dockerish for containers and volumes, imgtool for images, netctl for
//! networks) and read by `dockerish events`. There is no daemon to hold
//! them in memory, so the file is the stream.
//!
//! Each event is one write(2) on an O_APPEND file: writers never
//! interleave within a line, and a reader sees whole lines (but the last,
//! which it leaves for later). Appending is best-effort: a command that
//! cannot log still does its work. The log is kept small: past
//! [`MAX_SIZE`] it is renamed `events.log.1` (the older one dropped),
//! under a flock so two writers do not both rotate.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Beyond this the log is rotated.
pub const MAX_SIZE: u64 = 1 << 20;

/// One event, with Docker's keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `container`, `image`, `network` or `volume`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `create`, `start`, `die`, `destroy`, `tag`, `delete`, …
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    /// Seconds and nanoseconds since the epoch.
    pub time: u64,
    #[serde(rename = "timeNano")]
    pub time_nano: u128,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    /// `name`, `image`, `exitCode`, …
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

impl Event {
    /// An event that happens now.
    pub fn new(kind: &str, action: &str, id: &str, attributes: &[(&str, &str)]) -> Event {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Event {
            kind: kind.into(),
            action: action.into(),
            actor: Actor {
                id: id.into(),
                attributes: attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            scope: "local".into(),
            time: now.as_secs(),
            time_nano: now.as_nanos(),
        }
    }
}

/// The log of `root`, and its rotated predecessor.
pub fn paths(root: &Path) -> [PathBuf; 2] {
    [root.join("events.log.1"), root.join("events.log")]
}

/// Appends `event` to the log of `root`; never fails the caller.
pub fn append(root: &Path, event: &Event) {
    let [old, path] = paths(root);
    let mut line = serde_json::to_vec(event).expect("plain data serializes");
    line.push(b'\n');
    let Ok(mut file) = File::options().create(true).append(true).open(&path) else { return };
    let _ = file.write_all(&line);
    if file.metadata().is_ok_and(|m| m.len() > MAX_SIZE) {
        if let Ok(_lock) = crate::Lock::exclusive(&root.join("events.lock")) {
            // Another writer may have rotated it meanwhile.
            if fs::metadata(&path).is_ok_and(|m| m.len() > MAX_SIZE) {
                let _ = fs::rename(&path, &old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_lines_and_the_log_rotates() {
        let root = tempfile::tempdir().unwrap();
        let event = Event::new("container", "start", "abc", &[("name", "web")]);
        append(root.path(), &event);
        let [old, path] = paths(root.path());
        let text = fs::read_to_string(&path).unwrap();
        let back: Event = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(back, event);
        assert!(text.contains(r#""Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web"}}"#));
        let big = Event::new("container", "x", &"y".repeat(4096), &[]);
        for _ in 0..300 {
            append(root.path(), &big);
        }
        assert!(old.exists(), "rotated");
        assert!(fs::metadata(&path).unwrap().len() <= MAX_SIZE + 5000);
    }
}
