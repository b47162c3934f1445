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

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, SystemTime};

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

/// Appends a container's output to its log, as it comes.
pub struct LogWriter {
    file: File,
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<LogWriter> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(Error::io("open", path))?;
        Ok(LogWriter { file })
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
            entry(&mut out, &now, stream, tag, content);
            rest = &rest[used..];
        }
        self.append(&out);
    }

    /// A message of dockerish's own, on the stderr stream.
    pub fn note(&mut self, message: &str) {
        self.write(Stream::Stderr, format!("{message}\n").as_bytes());
    }

    fn append(&mut self, out: &[u8]) {
        // One write(2) per batch on an O_APPEND file: a reader never sees
        // half a line unless the disk is full, and then there is nobody to
        // tell but the log itself.
        if !out.is_empty() {
            let _ = self.file.write_all(out);
        }
    }
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
    let since = args.since.as_deref().map(|s| human::parse_moment("--since", s, SystemTime::now()));
    let since = since.transpose()?;
    let tail = match args.tail.as_str() {
        "all" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| Error::invalid("--tail", n, "expected a number of lines, or all"))?,
        ),
    };
    let path = path(&container.dir);
    let mut file = match File::open(&path) {
        Ok(file) => Some(file),
        // Run in the foreground: its output went to the terminal.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("open", &path)(e)),
    };
    let mut printer = Printer::new(args.timestamps, since);
    let mut pending = Vec::new();
    if let Some(file) = file.as_mut() {
        file.read_to_end(&mut pending).map_err(Error::io("read", &path))?;
    }
    let complete = pending.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    printer.print_tail(&pending[..complete], tail)?;
    pending.drain(..complete);
    if args.follow {
        follow(&containers, &container.config.id, &path, file, pending, &mut printer)?;
    }
    Ok(0)
}

/// Prints what the container writes from here on, until it has ended and
/// nothing more came (its supervisor logs the last output before it
/// records the end). `file` is the log read up to `pending`, a partial
/// log line; `None` if there is no log yet.
fn follow(
    containers: &Containers,
    id: &str,
    path: &Path,
    mut file: Option<File>,
    mut pending: Vec<u8>,
    printer: &mut Printer,
) -> Result<()> {
    loop {
        let running = containers
            .load(id)
            .is_ok_and(|c| c.state.effective() == Status::Running || c.state.starting());
        if file.is_none() {
            file = File::open(path).ok();
        }
        let before = pending.len();
        if let Some(file) = file.as_mut() {
            file.read_to_end(&mut pending).map_err(Error::io("read", path))?;
        }
        if let Some(end) = pending.iter().rposition(|&b| b == b'\n') {
            printer.print(&pending[..end + 1])?;
            pending.drain(..end + 1);
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
    /// The last `tail` lines of `data` (all of them without `tail`).
    fn print_tail(&mut self, data: &[u8], tail: Option<usize>) -> Result<()> {
        let Some(n) = tail else { return self.print(data) };
        let entries: Vec<&[u8]> = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        // A line is its parts up to and including an `F` entry.
        let mut lines = 0;
        let mut from = entries.len();
        while from > 0 {
            let ends = parse_entry(entries[from - 1]).is_none_or(|e| e.ends_line);
            if ends {
                if lines == n {
                    break;
                }
                lines += 1;
            }
            from -= 1;
        }
        entries[from..].iter().try_for_each(|line| self.print_entry(line))?;
        self.write_batch()
    }

    fn print(&mut self, data: &[u8]) -> Result<()> {
        data.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .try_for_each(|line| self.print_entry(line))?;
        self.write_batch()
    }

    fn print_entry(&mut self, line: &[u8]) -> Result<()> {
        let Some(entry) = parse_entry(line) else { return Ok(()) };
        if self.since.is_some_and(|since| entry.nanos < since) {
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
    follow(containers, id, &path, Some(file), Vec::new(), &mut printer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_parts_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = LogWriter::open(&path).unwrap();
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
