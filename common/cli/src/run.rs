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
///
/// Every tool also takes `--completion bash|zsh|fish` alone: it prints
/// the shell's completion script for the tool (clap_complete) and exits.
pub fn parse<C: clap::Parser>() -> C {
    // SAFETY: installing SIG_DFL runs no code of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let usage = |e: clap::Error| -> ! {
        let _ = e.print();
        exit(if e.use_stderr() { EXIT_FAILED } else { 0 })
    };
    // Alone (`TOOL --completion bash`), before clap: it stands for the
    // subcommand or command a tool otherwise requires.
    // (args_os: a tool's arguments may be paths that are not UTF-8.)
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(shell) = completion_request(&args) {
        match clap::ValueEnum::from_str(shell, true) {
            Ok(shell) => {
                print_completion::<C>(shell, "");
                exit(0)
            }
            Err(_) => {
                eprintln!("invalid shell {shell:?}: the shells are bash, zsh and fish");
                exit(EXIT_FAILED)
            }
        }
    }
    // In the command only so that --help shows it.
    let completion = clap::Arg::new(COMPLETION)
        .long(COMPLETION)
        .value_name("SHELL")
        .help("Print the completion script for SHELL (bash, zsh, fish) and exit");
    let matches = C::command().arg(completion).try_get_matches().unwrap_or_else(|e| usage(e));
    C::from_arg_matches(&matches).unwrap_or_else(|e| usage(e))
}

const COMPLETION: &str = "completion";

/// The shell of `--completion SHELL` or `--completion=SHELL`, given alone.
fn completion_request(args: &[std::ffi::OsString]) -> Option<&str> {
    match args {
        [flag, shell] if flag == "--completion" => shell.to_str(),
        [flag] => flag.to_str()?.strip_prefix("--completion="),
        _ => None,
    }
}

/// Prints `C`'s completion script for `shell`, then `extra` (more of the
/// shell's code: a tool's own completions of names, say).
pub fn print_completion<C: clap::CommandFactory>(shell: clap_complete::Shell, extra: &str) {
    let mut cmd = C::command();
    let name = cmd.get_name().to_string();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    let _ = std::io::Write::write_all(&mut out, extra.as_bytes());
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
