//! A container's log: what it wrote on stdout and stderr, each line with
//! the time it was read and the stream it came from, in the CRI log format
//! (the one kubelet and CRI-O use; one line per line of output):
//!
//! ```text
//! 2026-11-23T09:55:00.123456789Z stdout F hello
//! 2026-11-23T09:55:00.123502001Z stderr F sh: nosuch: not found
//! 2026-11-23T09:55:01.000000000Z stdout P a line without its newline (yet)
//! ```
//!
//! `F` ends a line, `P` is part of one whose rest follows (a line longer
//! than [`MAX_LINE`], or output read without its newline yet: a prompt
//! is logged when it is written, not when the line ends), so the output is
//! reproduced byte for byte. The supervisor writes it ([`LogWriter`]);
//! `dockerish logs` reads it ([`logs`]). The two streams are kept apart:
//! the "write your own Docker" books this project grew from lost stderr.

//!
//! # Rotation
//!
//! The log is capped as Docker's json-file driver caps its own
//! (`--log-opt max-size=10m --log-opt max-file=3`): when a write would take
//! `container.log` past max-size, it is renamed `container.log.1` (and
//! `.1` to `.2`, …; the oldest beyond max-file goes) and a new one begun,
//! so the log never holds more than max-size × max-file. The default cap
//! is Docker's `local` driver's, 20 MiB × 5; `--log-opt max-size=-1` lifts
//! it. `--log-driver none` keeps nothing (and `logs` says so).
//!
//! `logs --tail N` reads from the end, a block at a time, until it has
//! seen N line ends: on a 1 GB log it reads a few kilobytes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cli::LogsArgs;
use crate::error::{Error, Result, ToolError};
use crate::state::{Containers, Status};
use tool_cli::human;

/// Longer lines are split into `P` parts of this size.
pub const MAX_LINE: usize = 16 * 1024;

/// How often `logs -f` looks for more.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The log file of the container in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("container.log")
}

/// The `k`th rotated log (`container.log.k`; 0 is the current one).
fn rotated(dir: &Path, k: u32) -> PathBuf {
    match k {
        0 => path(dir),
        k => dir.join(format!("container.log.{k}")),
    }
}

/// Every log file there is, oldest first, the current one last.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        (1..).map(|k| rotated(dir, k)).take_while(|p| p.exists()).collect();
    files.reverse();
    files.push(path(dir));
    files
}

/// `--log-driver`: the json-file driver's semantics on our CRI-format
/// file (`local` is taken as the same), or none at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    #[default]
    JsonFile,
    None,
}

/// How a container's output is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    pub driver: LogDriver,
    /// Bytes a log file may reach before it is rotated (`None`: no limit).
    pub max_size: Option<u64>,
    /// How many files are kept, the current one included.
    pub max_file: u32,
}

/// Docker's `local` driver's cap: 20 MiB × 5.
const DEFAULT_MAX_SIZE: u64 = 20 << 20;
const DEFAULT_MAX_FILE: u32 = 5;

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            driver: LogDriver::JsonFile,
            max_size: Some(DEFAULT_MAX_SIZE),
            max_file: DEFAULT_MAX_FILE,
        }
    }
}

impl LogConfig {
    pub fn is_default(&self) -> bool {
        *self == LogConfig::default()
    }

    /// From `--log-driver` and each `--log-opt KEY=VALUE`.
    pub fn from_flags(driver: &str, opts: &[String]) -> Result<LogConfig> {
        let driver = match driver {
            "json-file" | "local" => LogDriver::JsonFile,
            "none" => LogDriver::None,
            other => {
                let why = "the drivers here are json-file (local is the same) and none";
                return Err(Error::invalid("--log-driver", other, why));
            }
        };
        let mut config = LogConfig { driver, ..LogConfig::default() };
        for opt in opts {
            let bad = |why: String| Error::invalid("--log-opt", opt, why);
            if config.driver == LogDriver::None {
                return Err(bad("the none driver takes no options".into()));
            }
            match opt.split_once('=') {
                Some(("max-size", "-1")) => config.max_size = None,
                Some(("max-size", size)) => {
                    config.max_size = Some(human::parse_size(size).map_err(|e| bad(e.why))?)
                }
                Some(("max-file", n)) => match n.parse::<u32>() {
                    Ok(n) if n >= 1 => config.max_file = n,
                    _ => return Err(bad("max-file is a number of files, at least 1".into())),
                },
                _ => return Err(bad("the options are max-size=SIZE and max-file=N".into())),
            }
        }
        Ok(config)
    }
}

/// Appends a container's output to its log, as it comes, rotating it.
pub struct LogWriter {
    /// `None`: the none driver (output read and dropped).
    file: Option<File>,
    dir: PathBuf,
    /// The current file's size.
    size: u64,
    config: LogConfig,
    /// Whether each stream's last entry was a `P` part (its line goes on).
    mid_line: [bool; 2],
}

impl LogWriter {
    /// The log of the container in `dir`.
    pub fn open(dir: &Path, config: &LogConfig) -> Result<LogWriter> {
        let file = match config.driver {
            LogDriver::None => None,
            LogDriver::JsonFile => Some(open_append(&path(dir))?),
        };
        let size = file.as_ref().and_then(|f| f.metadata().ok()).map_or(0, |m| m.len());
        let dir = dir.to_path_buf();
        Ok(LogWriter { file, dir, size, config: config.clone(), mid_line: [false; 2] })
    }

    /// Logs `data` read from `stream` at once: each line it ends as `F`,
    /// the rest (and every [`MAX_LINE`] bytes of a long line) as `P`.
    pub fn write(&mut self, stream: Stream, data: &[u8]) {
        let now = human::rfc3339_nanos(SystemTime::now());
        let mut out = Vec::with_capacity(data.len() + 48);
        let mut rest = data;
        while !rest.is_empty() {
            let line_end = rest.iter().position(|&b| b == b'\n').filter(|&end| end < MAX_LINE);
            let (content, tag, used) = match line_end {
                Some(end) => (&rest[..end], 'F', end + 1),
                None => {
                    let n = rest.len().min(MAX_LINE);
                    (&rest[..n], 'P', n)
                }
            };
            let before = out.len();
            entry(&mut out, &now, stream, tag, content);
            if self.rotates_before(before as u64, (out.len() - before) as u64) {
                // This entry begins the next file; what came before ends this one.
                let next = out.split_off(before);
                self.append(&out);
                self.rotate();
                out = next;
            }
            self.mid_line[stream as usize] = tag == 'P';
            rest = &rest[used..];
        }
        self.append(&out);
    }

    /// Whether the file rotates before an entry of `len` bytes that comes
    /// after `pending` bytes not yet written: when it would pass max-size,
    /// at a line's end (the parts of a line stay in one file, so that no
    /// reader of the oldest begins mid-line), or, for a line longer than
    /// [`MAX_LINE`], once the file is that much over.
    fn rotates_before(&self, pending: u64, len: u64) -> bool {
        let Some(max) = self.config.max_size else { return false };
        let at = self.size + pending;
        let lines_end = !self.mid_line.contains(&true);
        self.file.is_some() && at > 0 && at + len > max && (lines_end || at > max + MAX_LINE as u64)
    }

    /// A message of dockerish's own, on the stderr stream.
    pub fn note(&mut self, message: &str) {
        self.write(Stream::Stderr, format!("{message}\n").as_bytes());
    }

    fn append(&mut self, out: &[u8]) {
        // One write(2) per batch on an O_APPEND file: a reader never sees
        // half a line unless the disk is full, and then there is nobody to
        // tell but the log itself.
        if let Some(file) = self.file.as_mut().filter(|_| !out.is_empty()) {
            if file.write_all(out).is_ok() {
                self.size += out.len() as u64;
            }
        }
    }

    /// `.{n-2}` → `.{n-1}`, …, the current file → `.1`, and a new current
    /// file: the oldest falls off the end (renamed over). With max-file 1
    /// the current file is simply begun again. A reader that holds the old
    /// file reads it to its end, then finds the new one by name (`follow`).
    fn rotate(&mut self) {
        let keep = self.config.max_file;
        if keep == 1 {
            let _ = std::fs::remove_file(path(&self.dir));
        }
        for k in (1..keep).rev() {
            let _ = std::fs::rename(rotated(&self.dir, k - 1), rotated(&self.dir, k));
        }
        // If the new file cannot be made, the old one goes on growing.
        if let Ok(file) = open_append(&path(&self.dir)) {
            self.file = Some(file);
            self.size = 0;
        }
    }
}

fn open_append(path: &Path) -> Result<File> {
    File::options().create(true).append(true).open(path).map_err(Error::io("open", path))
}

fn entry(out: &mut Vec<u8>, time: &str, stream: Stream, tag: char, content: &[u8]) {
    out.extend_from_slice(format!("{time} {} {tag} ", stream.name()).as_bytes());
    out.extend_from_slice(content);
    out.push(b'\n');
}

/// One line of the log file.
#[derive(Debug, PartialEq, Eq)]
struct Entry<'a> {
    time: &'a str,
    nanos: u128,
    stream: Stream,
    /// The end of a line (`F`), or a part of one (`P`).
    ends_line: bool,
    content: &'a [u8],
}

fn parse_entry(line: &[u8]) -> Option<Entry<'_>> {
    let mut fields = line.splitn(4, |&b| b == b' ');
    let time = std::str::from_utf8(fields.next()?).ok()?;
    let stream = match fields.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let ends_line = match fields.next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    Some(Entry {
        time,
        nanos: human::parse_rfc3339(time)?,
        stream,
        ends_line,
        content: fields.next().unwrap_or_default(),
    })
}

/// `dockerish logs`.
pub fn logs(root: &Path, args: LogsArgs) -> Result<i32> {
    let containers = Containers::open(root)?;
    let container = containers.find(&args.container)?;
    if container.config.log.driver == LogDriver::None {
        return Err(Error::NoLogs);
    }
    let now = SystemTime::now();
    let moment = |flag, text: &Option<String>| {
        text.as_deref().map(|t| human::parse_moment(flag, t, now)).transpose()
    };
    let (since, until) = (moment("--since", &args.since)?, moment("--until", &args.until)?);
    let tail = match args.tail.as_str() {
        "all" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| Error::invalid("--tail", n, "expected a number of lines, or all"))?,
        ),
    };
    // Opened oldest first: a rotation meanwhile renames files we hold
    // already, it does not change what they hold.
    let mut opened: Vec<File> = Vec::new();
    for path in files(&container.dir) {
        match File::open(&path) {
            Ok(file) => opened.push(file),
            // Rotated away meanwhile, or (the current one) never made: a
            // container run in the foreground wrote to the terminal.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("open", &path)(e)),
        }
    }
    let (first, offset) = match tail {
        Some(n) => tail_start(&opened, n).map_err(Error::io("read", path(&container.dir)))?,
        None => (0, 0),
    };
    let mut printer = Printer { until, ..Printer::new(args.timestamps, since) };
    let mut pending = Vec::new();
    let current = opened.len().saturating_sub(1);
    for (i, file) in opened.iter_mut().enumerate().skip(first) {
        let from = if i == first { offset } else { 0 };
        file.seek(SeekFrom::Start(from)).map_err(Error::io("read", path(&container.dir)))?;
        print_file(file, &mut pending, &mut printer)?;
        // A rotated file ends where an entry does; only the current one
        // may end in the middle of a write.
        if i != current {
            pending.clear();
        }
    }
    if args.follow {
        let file = opened.pop();
        follow(&containers, &container.config.id, &container.dir, file, pending, &mut printer)?;
    }
    Ok(0)
}

/// Prints `file` from where it is to its end, a MiB at a time; leaves
/// in `pending` what follows its last complete entry.
fn print_file(file: &mut File, pending: &mut Vec<u8>, printer: &mut Printer) -> Result<()> {
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut chunk).map_err(Error::io("read", "the log"))?;
        if n == 0 {
            return Ok(());
        }
        pending.extend_from_slice(&chunk[..n]);
        if let Some(end) = pending.iter().rposition(|&b| b == b'\n') {
            printer.print(&pending[..end + 1])?;
            pending.drain(..end + 1);
        }
    }
}

/// Where the last `n` lines of the log `files` (oldest first) begin: the
/// index of a file and an offset in it. Read backwards, a block at a
/// time: a line is its `P` parts and the `F` entry that ends it, so the
/// start is just after the (n+1)th `F` entry from the end.
fn tail_start(files: &[File], n: usize) -> std::io::Result<(usize, u64)> {
    const BLOCK: u64 = 64 << 10;
    // An entry's stream and tag come within its first bytes.
    const HEAD: u64 = 64;
    let mut ends = 0;
    for (i, file) in files.iter().enumerate().rev() {
        let len = file.metadata()?.len();
        let mut data = Vec::new();
        let mut to = len;
        // The start of the entry after the one being looked at: where the
        // tail begins if this one is the (n+1)th line end.
        let mut next_start = len;
        while to > 0 {
            let from = to.saturating_sub(BLOCK);
            // The block, and the heads of the entries that start just after it.
            let upto = (to + HEAD).min(len);
            data.resize((upto - from) as usize, 0);
            file.read_exact_at(&mut data, from)?;
            // Each entry starts after a newline (or at 0); visited last first.
            let starts = data[..(to - from) as usize]
                .iter()
                .enumerate()
                .rev()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(at, _)| from + at as u64 + 1)
                .chain((from == 0).then_some(0));
            for start in starts.filter(|&s| s < len) {
                let head = &data[(start - from) as usize..];
                if entry_ends_line(head) {
                    if ends == n {
                        return Ok((i, next_start));
                    }
                    ends += 1;
                }
                next_start = start;
            }
            to = from;
        }
    }
    Ok((0, 0))
}

/// Whether the entry at the start of `head` is the `F` end of a line
/// (an unreadable one counts as a line, as the printer shows it as none).
fn entry_ends_line(head: &[u8]) -> bool {
    let mut fields = head.splitn(4, |&b| b == b' ');
    !matches!((fields.next(), fields.next(), fields.next()), (Some(_), Some(_), Some(b"P")))
}

/// Prints what the container writes from here on, until it has ended and
/// nothing more came (its supervisor logs the last output before it
/// records the end). `file` is the current log, read up to `pending`, a
/// partial log line; `None` if there is no log yet. When the log is
/// rotated, the file read so far is finished first, then the new one
/// (found by name: its inode differs) is read from its start.
fn follow(
    containers: &Containers,
    id: &str,
    dir: &Path,
    mut file: Option<File>,
    mut pending: Vec<u8>,
    printer: &mut Printer,
) -> Result<()> {
    let path = path(dir);
    loop {
        let running = containers
            .load(id)
            .is_ok_and(|c| c.state.effective() == Status::Running || c.state.starting());
        let before = pending.len();
        let mut rotated = false;
        if let Some(f) = file.as_mut() {
            // Whether it was rotated, first: what the writer appended before
            // the rename is then all in the file we hold, and read next.
            let inode = |m: std::fs::Metadata| m.ino();
            rotated = std::fs::metadata(&path).map(inode).ok() != f.metadata().map(inode).ok();
            f.read_to_end(&mut pending).map_err(Error::io("read", &path))?;
        }
        if let Some(end) = pending.iter().rposition(|&b| b == b'\n') {
            printer.print(&pending[..end + 1])?;
            pending.drain(..end + 1);
        }
        if file.is_none() || rotated {
            // The next file from its start, once it is there.
            if let Ok(next) = File::open(&path) {
                file = Some(next);
                pending.clear();
                continue;
            }
        }
        if !running && pending.len() == before {
            return Ok(());
        }
        sleep(FOLLOW_INTERVAL);
    }
}

/// Prints log entries to our stdout and stderr, as the container wrote them.
struct Printer {
    timestamps: bool,
    since: Option<u128>,
    /// `--until`: entries after this are left out.
    until: Option<u128>,
    /// Whether each stream is at the start of a line (for `-t`).
    at_line_start: [bool; 2],
    /// Entries not yet written, all of one stream: one write(2) for a run
    /// of lines, and the order between the streams kept.
    batch: Vec<u8>,
    batch_stream: Stream,
}

impl Printer {
    fn new(timestamps: bool, since: Option<u128>) -> Printer {
        Printer {
            timestamps,
            since,
            until: None,
            at_line_start: [true, true],
            batch: Vec::new(),
            batch_stream: Stream::Stdout,
        }
    }

    fn write_batch(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let written = match self.batch_stream {
            Stream::Stdout => std::io::stdout()
                .lock()
                .write_all(&self.batch)
                .and_then(|()| std::io::stdout().flush()),
            Stream::Stderr => std::io::stderr().lock().write_all(&self.batch),
        };
        self.batch.clear();
        written.map_err(Error::io("write", self.batch_stream.name()))
    }
}

impl Printer {
    fn print(&mut self, data: &[u8]) -> Result<()> {
        data.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .try_for_each(|line| self.print_entry(line))?;
        self.write_batch()
    }

    fn print_entry(&mut self, line: &[u8]) -> Result<()> {
        let Some(entry) = parse_entry(line) else { return Ok(()) };
        let until = self.until.is_some_and(|until| entry.nanos > until);
        if self.since.is_some_and(|since| entry.nanos < since) || until {
            return Ok(());
        }
        if entry.stream != self.batch_stream {
            self.write_batch()?;
            self.batch_stream = entry.stream;
        }
        let start = &mut self.at_line_start[entry.stream as usize];
        if self.timestamps && *start {
            self.batch.extend_from_slice(entry.time.as_bytes());
            self.batch.push(b' ');
        }
        self.batch.extend_from_slice(entry.content);
        if entry.ends_line {
            self.batch.push(b'\n');
        }
        *start = entry.ends_line;
        Ok(())
    }
}

/// The size of the log so far, for `start -a` to follow from there.
pub fn size(dir: &Path) -> u64 {
    std::fs::metadata(path(dir)).map(|m| m.len()).unwrap_or(0)
}

/// Copies the log from byte `offset` on to our stdout and stderr until the
/// container has ended (`start -a`).
pub fn attach(containers: &Containers, id: &str, dir: &Path, offset: u64) -> Result<()> {
    let path = path(dir);
    let mut file = File::open(&path).map_err(Error::io("open", &path))?;
    file.seek(SeekFrom::Start(offset)).map_err(Error::io("read", &path))?;
    let mut printer = Printer::new(false, None);
    follow(containers, id, dir, Some(file), Vec::new(), &mut printer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_parts_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(dir.path());
        let mut log = LogWriter::open(dir.path(), &LogConfig::default()).unwrap();
        log.write(Stream::Stdout, b"one\ntw");
        log.write(Stream::Stderr, b"err\n");
        log.write(Stream::Stdout, b"o\nend");
        let text = std::fs::read_to_string(&path).unwrap();
        let entries: Vec<(Stream, bool, String)> = text
            .lines()
            .map(|l| parse_entry(l.as_bytes()).unwrap())
            .map(|e| (e.stream, e.ends_line, String::from_utf8(e.content.to_vec()).unwrap()))
            .collect();
        assert_eq!(
            entries,
            [
                (Stream::Stdout, true, "one".into()),
                (Stream::Stdout, false, "tw".into()),
                (Stream::Stderr, true, "err".into()),
                (Stream::Stdout, true, "o".into()),
                (Stream::Stdout, false, "end".into())
            ]
        );
    }
}
