//! Reading and writing cgroup control files. Each is a small text file
//! read and written whole, one value per write(2): the kernel parses every
//! write on its own, and a refused value is an errno of that write.

use std::fmt::Display;
use std::fs;
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result, ToolError};

/// The content of `dir/file`, trimmed.
pub fn read_value(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    fs::read_to_string(&path).map(|s| s.trim().to_string()).map_err(Error::io("read", &path))
}

/// `dir/file` as a number; `max` (v2's "no limit") and v1's huge
/// "unlimited" values are `None`.
pub fn read_limit(dir: &Path, file: &str) -> Result<Option<u64>> {
    let text = read_value(dir, file)?;
    if text == "max" || text == "-1" {
        return Ok(None);
    }
    let value: u64 = text.parse().map_err(|_| {
        Error::invalid("value", &text, format!("{} is not a number", dir.join(file).display()))
    })?;
    // v1 reports "unlimited" as the largest page-aligned i64.
    Ok(if value >= 1 << 62 { None } else { Some(value) })
}

/// `dir/file` as a number, 0 if the file does not exist.
pub fn read_u64(dir: &Path, file: &str) -> u64 {
    read_value(dir, file).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The `KEY VALUE` lines of a flat-keyed file (cpu.stat, memory.events,
/// cgroup.events, memory.oom_control).
pub fn read_keyed(dir: &Path, file: &str) -> Vec<(String, u64)> {
    let text = fs::read_to_string(dir.join(file)).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(' ')?;
            Some((key.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// The value of `key` in a flat-keyed file, 0 if absent.
pub fn keyed(pairs: &[(String, u64)], key: &str) -> u64 {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| *v).unwrap_or(0)
}

/// Writes `value` into `dir/file` in one write(2).
pub fn write_value(dir: &Path, file: &str, value: impl Display) -> Result<()> {
    let path = dir.join(file);
    let value = value.to_string();
    fs::write(&path, &value).map_err(write_error(&path, &value))
}

/// The error of a failed write of `value` to `path` (its open or write).
pub fn write_error<'a>(
    path: &'a Path,
    value: &'a str,
) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::Write {
        path: path.display().to_string(),
        value: value.into(),
        source: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    }
}
