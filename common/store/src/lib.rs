//! # json-store: state files that survive a crash
//!
//! Every tool that keeps state (imgtool's image index, dockerish's
//! container records, ns-exec's pidfile, netctl's networks and address
//! allocations) keeps it in small files under a state root, and every one
//! of them must stay readable whatever moment the writer is killed at.
//! Two kernel guarantees give that:
//!
//! - **rename(2) is atomic.** A new version is written to a temporary file
//!   in the same directory, fsync(2)ed so its data is on disk before its
//!   name is, then renamed over the old one: a reader (and a reader after a
//!   crash) sees the old file or the new one, whole, never a mix. A writer
//!   killed before the rename leaves the old file as it was, and a
//!   temporary file named `.NAME.XXXXXX.tmp` that readers skip and
//!   [`remove_stale_temps`] removes.
//! - **flock(2) serialises writers.** A read-modify-write (allocate a name,
//!   mark a container running) holds an exclusive lock on a lock file
//!   beside the data for its whole duration ([`Lock`]). The lock belongs to
//!   the open file: the kernel releases it when its holder exits, however
//!   it exits, so a killed writer never leaves a lock behind. Readers need
//!   no lock: rename gives them whole files.
//!
//! See rename(2), fsync(2), flock(2).

pub mod events;

use std::fs::File;
use std::io::Write;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tool_cli::ToolError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] tool_cli::Error),
    /// A state file that is not the JSON its reader expects.
    #[error("corrupt state file {path}: {why}")]
    Corrupt { path: String, why: String },
}

tool_cli::common_errors!(Error);

impl ToolError for Error {}

/// An exclusive flock(2) on a lock file, held until dropped.
pub struct Lock(#[allow(dead_code)] Flock<File>);

impl Lock {
    /// Waits for, then takes, the exclusive lock on `path` (created if
    /// missing, 0600: flock(2) needs only an open descriptor, so a lock
    /// file others could open is one they could hold; its content is
    /// never used).
    pub fn exclusive(path: &Path) -> Result<Lock> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = File::options()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(Error::io("open", path))?;
        let locked = Flock::lock(file, FlockArg::LockExclusive);
        locked.map(Lock).map_err(|(_, e)| Error::sys("lock", path.display(), e))
    }

    /// Whether `path` still names the file this lock is on. A lock taken
    /// while another holder removed the file (with its directory) guards
    /// nothing: whoever waited on it must look again.
    pub fn still_at(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (self.0.metadata(), std::fs::metadata(path)) {
            (Ok(held), Ok(named)) => (held.dev(), held.ino()) == (named.dev(), named.ino()),
            _ => false,
        }
    }
}

/// What a write must survive: a killed writer only, or also the machine
/// losing power.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync(2) before the rename: after a power failure the file is the
    /// old version or the new one. An fsync costs 0.5 to 3 ms on this
    /// machine's disk, a third of a container's start.
    Synced,
    /// No fsync: as atomic as [`Durability::Synced`] for every reader while
    /// the machine runs, but after a power failure the file may be empty
    /// (its name on disk before its data), which [`read_json_as`] with
    /// `Volatile` reads as missing. For what a reboot makes meaningless
    /// anyway: a PID, the record of a container that is removed when it
    /// exits (`run --rm`).
    Volatile,
}

/// Replaces `path` with `bytes` atomically: temporary file, write, fsync,
/// rename (see the crate's docs).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(path, bytes, Durability::Synced)
}

/// [`write_atomic`], fsync'd or not as `durability` says.
pub fn write_atomic_as(path: &Path, bytes: &[u8], durability: Durability) -> Result<()> {
    write_atomic_then(path, bytes, durability, || {})
}

/// [`write_atomic_as`], calling `before_rename` when the new file is
/// written (and synced) but not yet in place (the moment a crash test
/// kills it at).
fn write_atomic_then(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
    before_rename: impl FnOnce(),
) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(Error::io("create a temporary file in", dir))?;
    tmp.write_all(bytes)
        .and_then(|()| match durability {
            Durability::Synced => tmp.as_file().sync_all(),
            Durability::Volatile => Ok(()),
        })
        .map_err(Error::io("write", path))?;
    before_rename();
    tmp.persist(path).map_err(|e| Error::io("replace", path)(e.error))?;
    Ok(())
}

/// The suffix of a temporary file left by a writer that was killed.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Whether `name` is one of our temporary files (`.NAME.XXXXXX.tmp`).
pub fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// Replaces `path` with `value` as pretty JSON, atomically and synced.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_json_as(path, value, Durability::Synced)
}

/// [`write_json`], fsync'd or not as `durability` says.
pub fn write_json_as<T: Serialize + ?Sized>(
    path: &Path,
    value: &T,
    durability: Durability,
) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("plain data serializes");
    bytes.push(b'\n');
    write_atomic_as(path, &bytes, durability)
}

/// Reads the JSON file `path`; `None` if there is none. An empty file is
/// corrupt: only a [`Durability::Volatile`] write can leave one (at a power
/// failure), and its readers say so with [`read_json_as`].
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    read_json_as(path, Durability::Synced)
}

/// [`read_json`] of a file written with `durability`: for `Volatile`, an
/// empty file (what a power failure can leave) reads as missing too.
pub fn read_json_as<T: DeserializeOwned>(path: &Path, durability: Durability) -> Result<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) if bytes.is_empty() && durability == Durability::Volatile => return Ok(None),
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path)(e)),
    };
    let corrupt = |e: serde_json::Error| Error::Corrupt {
        path: path.display().to_string(),
        why: e.to_string(),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(corrupt)
}

/// Removes the temporary files that killed writers left in `dir`; returns
/// how many. Safe while writers run only under the lock they write under.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).map_err(Error::io("list", dir))?.flatten() {
        if is_temp(&entry.file_name().to_string_lossy())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_lock_on_a_removed_or_replaced_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let lock = Lock::exclusive(&path).unwrap();
        assert!(lock.still_at(&path));
        std::fs::remove_file(&path).unwrap();
        assert!(!lock.still_at(&path), "removed");
        std::fs::write(&path, "").unwrap();
        assert!(!lock.still_at(&path), "another file at its path");
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Record {
        version: u32,
        text: String,
    }

    #[test]
    fn writes_are_whole_and_missing_files_are_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(read_json::<Record>(&path).unwrap(), None);
        write_json(&path, &Record { version: 1, text: "one".into() }).unwrap();
        write_json(&path, &Record { version: 2, text: "two".into() }).unwrap();
        assert_eq!(
            read_json::<Record>(&path).unwrap(),
            Some(Record { version: 2, text: "two".into() })
        );
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["state.json"], "no temporary file is left by a writer that finished");
        std::fs::write(&path, "{\"version\": ").unwrap();
        assert!(matches!(read_json::<Record>(&path), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn a_volatile_write_is_as_atomic_and_an_empty_file_reads_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let record = Record { version: 3, text: "volatile".into() };
        write_json_as(&path, &record, Durability::Volatile).unwrap();
        assert_eq!(read_json::<Record>(&path).unwrap(), Some(record));
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["state.json"], "renamed into place, no temporary file left");
        // What a power failure can leave of a volatile write: missing to a
        // reader that knows, corrupt to any other.
        std::fs::write(&path, "").unwrap();
        assert_eq!(read_json_as::<Record>(&path, Durability::Volatile).unwrap(), None);
        assert!(matches!(read_json::<Record>(&path), Err(Error::Corrupt { .. })));
    }

    /// At the hook, the new content is synced in a temporary file and the
    /// old file is still in place. Run by the crash test below as its
    /// child (`JSON_STORE_CRASH_AT` set), this is the writer it kills there.
    #[test]
    fn the_hook_runs_when_the_new_file_is_written_but_not_in_place() {
        let new = serde_json::to_vec(&Record { version: 2, text: "new".into() }).unwrap();
        if let Some(path) = std::env::var_os("JSON_STORE_CRASH_AT") {
            write_atomic_then(Path::new(&path), &new, Durability::Synced, || std::process::abort())
                .unwrap();
            unreachable!("the writer aborts before the rename");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_json(&path, &Record { version: 1, text: "old".into() }).unwrap();
        let mut seen = None;
        write_atomic_then(&path, &new, Durability::Synced, || {
            let old = read_json::<Record>(&path).unwrap().unwrap();
            let temp = std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .find(|e| is_temp(&e.file_name().to_string_lossy()));
            seen =
                Some((old.version, std::fs::read(temp.expect("a temporary file").path()).unwrap()));
        })
        .unwrap();
        assert_eq!(seen, Some((1, new)));
        assert_eq!(read_json::<Record>(&path).unwrap().unwrap().version, 2);
    }

    #[test]
    fn a_crash_between_write_and_rename_leaves_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let old = Record { version: 1, text: "old".into() };
        write_json(&path, &old).unwrap();
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "tests::the_hook_runs_when_the_new_file_is_written_but_not_in_place"])
            .env("JSON_STORE_CRASH_AT", &path)
            .output()
            .unwrap()
            .status;
        assert!(!status.success(), "the writer was killed before its rename");
        assert_eq!(read_json::<Record>(&path).unwrap(), Some(old), "the old record is whole");
        let temps: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_temp(n))
            .collect();
        assert_eq!(temps.len(), 1, "the killed writer left its temporary file: {temps:?}");
        assert!(temps[0].starts_with(".state.json."), "{temps:?}");
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 0);
    }

    #[test]
    fn the_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = Lock::exclusive(&path).unwrap();
        let file = File::options().append(true).open(&path).unwrap();
        let second = Flock::lock(file, FlockArg::LockExclusiveNonblock);
        let file = match second {
            Ok(_) => panic!("a second exclusive lock was granted while the first is held"),
            Err((file, e)) => {
                assert_eq!(e, nix::errno::Errno::EWOULDBLOCK);
                file
            }
        };
        drop(held);
        assert!(Flock::lock(file, FlockArg::LockExclusiveNonblock).is_ok(), "released on drop");
    }
}
