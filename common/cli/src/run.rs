//! The prologue and epilogue every tool's `main()` shares: parse, call,
//! report, exit with the status the conventions give ([`crate::exit`]).

use std::fmt::Display;
use std::process::exit;

use crate::error::ToolError;
use crate::exit::EXIT_FAILED;

/// The start of every `main()`: SIGPIPE back to its default, then the
/// command line parsed. A usage error exits 125 (after printing clap's
/// message); `--help` and `--version` exit 0.
///
/// SIGPIPE: Rust's runtime starts with it ignored, so a closed stdout
/// (`cgctl stats x | head`) would be an EPIPE error instead of a quiet
/// end, as C tools have it; and execve(2) keeps ignored signals ignored,
/// so every command a tool execs would inherit it (`yes | head` in a
/// container would spin on EPIPE instead of ending).
pub fn parse<C: clap::Parser>() -> C {
    // SAFETY: installing SIG_DFL runs no code of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    C::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        exit(if e.use_stderr() { EXIT_FAILED } else { 0 })
    })
}

/// The end of a failed `main()`: `TOOL: ERROR` on stderr, and `code`.
pub fn fail(tool: &str, err: &dyn Display, code: i32) -> ! {
    eprintln!("{tool}: {err}");
    exit(code)
}

/// A whole `main()`: [`parse`], `run`, then exit with the status `run`
/// returns or with the error's [`ToolError::exit_code`].
pub fn main<C: clap::Parser, E: ToolError>(tool: &str, run: impl FnOnce(C) -> Result<i32, E>) -> ! {
    match run(parse()) {
        Ok(code) => exit(code),
        Err(err) => fail(tool, &err, err.exit_code()),
    }
}
