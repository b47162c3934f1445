//! The start report: did the command really start?
//!
//! A runtime must not say "running" (print the ID, record the init) before
//! the container's command was exec'd: a missing command is `run -d`'s
//! error, with 127. The last tool of the chain connects to the runtime's
//! socket first thing, with a close-on-exec descriptor, and
//!
//! - on failure writes its message (`rootfs: exec "nosuch": executable file
//!   not found in $PATH`) and exits with 125, 126 or 127;
//! - on success writes nothing: execve(2) closes the descriptor, and the
//!   runtime reads end-of-file.
//!
//! The same trick as ns-exec's close-on-exec error pipe, across processes
//! that are not parent and child.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// The chain's end of the report.
pub struct Reporter(UnixStream);

impl Reporter {
    /// Connects to the runtime's socket (before anything else changes:
    /// later the container's root may hide the socket's path).
    pub fn connect(path: &Path) -> std::io::Result<Reporter> {
        crate::connect(path).map(Reporter)
    }

    /// Reports a failure. Success needs no call: the exec closes the socket.
    pub fn failed(mut self, message: &str) {
        // The runtime may have gone: then nobody is to be told.
        let _ = self.0.write_all(message.as_bytes());
    }
}

/// What the runtime learns from a connection it accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// End-of-file with nothing said: the command was exec'd.
    Started,
    /// The chain's message.
    Failed(String),
}

/// Reads the report to its end.
pub fn outcome(mut stream: UnixStream) -> Outcome {
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    if text.is_empty() {
        Outcome::Started
    } else {
        Outcome::Failed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_a_start_and_words_are_a_failure() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert_eq!(outcome(b), Outcome::Started);
        let (a, b) = UnixStream::pair().unwrap();
        Reporter(a).failed("rootfs: no");
        assert_eq!(outcome(b), Outcome::Failed("rootfs: no".into()));
    }
}
