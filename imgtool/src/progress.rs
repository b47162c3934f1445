//! Progress of a long load or import, on a terminal only: one line per
//! layer, rewritten in place (`\r`) with the bytes read and the rate, as
//! `docker load` shows. Nothing when standard error is not a terminal
//! (a script's log stays clean) or with `-q`, and nothing for a layer that
//! is done before the first update (a small one).

use std::io::{self, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// How often the line is rewritten, and so the least a layer must take to
/// show one.
const EVERY: Duration = Duration::from_millis(250);

/// Whether progress is shown: standard error is a terminal and not `quiet`.
pub fn wanted(quiet: bool) -> bool {
    !quiet && io::stderr().is_terminal()
}

/// Counts what passes through `inner` and shows it under `label`.
pub struct Progress<R> {
    inner: R,
    label: String,
    enabled: bool,
    bytes: u64,
    start: Instant,
    last: Instant,
    shown: bool,
}

impl<R: Read> Progress<R> {
    pub fn new(inner: R, label: String, enabled: bool) -> Progress<R> {
        let now = Instant::now();
        Progress { inner, label, enabled, bytes: 0, start: now, last: now, shown: false }
    }

    fn show(&mut self, done: bool) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let rate = tool_cli::human::size((self.bytes as f64 / secs) as u64);
        let end = if done { "\n" } else { "" };
        let size = tool_cli::human::size(self.bytes);
        let _ = write!(io::stderr(), "\r{}: {size} ({rate}/s)\x1b[K{end}", self.label);
        self.shown = true;
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        if self.enabled {
            if n == 0 && self.shown {
                self.show(true);
                self.enabled = false;
            } else if self.last.elapsed() >= EVERY {
                self.last = Instant::now();
                self.show(false);
            }
        }
        Ok(n)
    }
}
