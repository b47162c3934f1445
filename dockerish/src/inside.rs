//! What is inside a container: `top` (its processes, by host and by
//! container PID) and `diff` (what its writable layer changed).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use imgtool::pack::Change;
use std::process::Command;

use crate::error::{Error, Result, ToolError};
use crate::state::Containers;
use tool_cli::human;

/// `top CONTAINER [ps OPTIONS]`: the host's `ps` (default `-ef`), only
/// the rows of processes in the container's cgroup, with a column more
/// after PID: the process's PID in the container's pid namespace.
pub fn top(root: &Path, key: &str, ps_args: &[String]) -> Result<i32> {
    let container = Containers::open(root)?.find(key)?;
    let init = container.running_init()?;
    let cgroup = cgctl::Cgroup::open(&cgctl::Layout::detect()?, &container.config.cgroup())?;
    // In the cgroup and in the container's pid namespace: not the
    // ns-exec outside that waits for its init.
    let pid_ns = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let ns = pid_ns(init);
    let pids: HashSet<i32> =
        cgroup.pids(true).into_iter().filter(|&p| ns.is_some() && pid_ns(p) == ns).collect();
    let args: Vec<&str> = match ps_args {
        [] => vec!["-ef"],
        args => args.iter().map(String::as_str).collect(),
    };
    let out = Command::new("ps").args(&args).output().map_err(Error::io("run", "ps"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Error::Tool { tool: "ps".into(), why });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    let pid_column = header.iter().position(|&h| h == "PID").ok_or_else(|| {
        Error::invalid("ps options", args.join(" "), "ps printed no PID column (try -ef or aux)")
    })?;
    let mut table = vec![with_container_pid(&header, pid_column, "CONTAINER PID")];
    for line in lines {
        // As Docker splits them: as many fields as the header has, the
        // last (the command) with its spaces.
        let fields = split_fields(line, header.len());
        let Some(pid) = fields.get(pid_column).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pids.contains(&pid) {
            let inner = container_pid(pid).map_or("-".to_string(), |p| p.to_string());
            table.push(with_container_pid(&fields, pid_column, &inner));
        }
    }
    print!("{}", human::table(&table));
    Ok(0)
}

/// `fields` with `extra` inserted after the PID column.
fn with_container_pid(fields: &[&str], pid_column: usize, extra: &str) -> Vec<String> {
    let mut row: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    row.insert(pid_column + 1, extra.to_string());
    row
}

/// The first `n - 1` whitespace-separated fields of `line`, then the rest.
fn split_fields(line: &str, n: usize) -> Vec<&str> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = line.trim_start();
    while fields.len() + 1 < n && !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    if !rest.is_empty() {
        fields.push(rest);
    }
    fields
}

/// The innermost PID of host process `pid` (`NSpid:` of proc(5)'s status).
fn container_pid(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}

/// `diff CONTAINER`: `A`dded, `C`hanged and `D`eleted paths of the
/// container's writable layer over its image (imgtool reads the layers:
/// whiteouts are deletions, an opaque directory hides what was below).
pub fn diff(root: &Path, key: &str) -> Result<i32> {
    let container = Containers::open(root)?.find(key)?;
    let upper = container.dir.join("upper");
    let changes = imgtool::pack::changes(&upper, &container.config.layers)
        .map_err(Error::io("read the writable layer", &upper))?;
    for (change, path) in without_placeholders(&upper, changes) {
        println!("{} {}", change.letter(), path.display());
    }
    Ok(0)
}

/// `changes` less the empty files rootfs made to mount /etc/hosts and its
/// kin on, and a changed directory that held nothing else (Docker keeps
/// them out of its diff too).
fn without_placeholders(upper: &Path, changes: Vec<(Change, PathBuf)>) -> Vec<(Change, PathBuf)> {
    let placeholder = |path: &Path| {
        rootfs::MOUNTED_ETC_FILES.iter().any(|m| path == Path::new(m))
            && std::fs::symlink_metadata(upper.join(path.strip_prefix("/").unwrap_or(path)))
                .is_ok_and(|m| m.is_file() && m.len() == 0)
    };
    let kept: Vec<(Change, PathBuf)> =
        changes.into_iter().filter(|(_, path)| !placeholder(path)).collect();
    let emptied = |path: &Path| {
        rootfs::MOUNTED_ETC_FILES.iter().any(|m| Path::new(m).parent() == Some(path))
            && !kept.iter().any(|(_, p)| p != path && p.starts_with(path))
            && std::fs::symlink_metadata(upper.join(path.strip_prefix("/").unwrap_or(path)))
                .is_ok_and(|m| m.is_dir())
    };
    kept.iter().filter(|(c, path)| !(*c == Change::Changed && emptied(path))).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_lines_split_like_dockers() {
        let line = "root         1     0  0 12:00 ?        00:00:00 sh -c sleep 1";
        assert_eq!(
            split_fields(line, 8),
            ["root", "1", "0", "0", "12:00", "?", "00:00:00", "sh -c sleep 1"]
        );
        assert_eq!(split_fields("a b", 3), ["a", "b"]);
    }
}
