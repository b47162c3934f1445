//! Crash points, for the tests of the on-disk protocol (`state`'s module
//! docs): with `DOCKERISH_CRASH_AT=NAME` in its environment, a command
//! kills itself with SIGKILL when it reaches the point NAME, exactly as a
//! `kill -9` there would. The tests use it to land on each intermediate
//! state deterministically; nothing else sets it.
//!
//! The points: `create:built` (the records written in `.new-ID`, not yet
//! renamed), `run:recorded` (the container exists, nothing started it),
//! `rm:torn-down` (cgroup and networks gone, the directory still there),
//! `remove:renamed` (the directory renamed to `.trash-ID`, not deleted).

use crate::error::Result;

/// Dies here if `DOCKERISH_CRASH_AT` names this point.
pub fn point(name: &str) -> Result<()> {
    if std::env::var_os("DOCKERISH_CRASH_AT").is_some_and(|v| v == name) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    Ok(())
}
