//! # tool-cli: the conventions every dockerish tool's command line follows
//!
//! The conventions (docs/ARCHITECTURE.md, "Conventions") fix how a tool
//! talks to people and to the tools that run it; this crate is the one
//! place that says them in code, so that `ns-exec`,
//! `cgctl`, `rootfs`, `imgtool`, `netctl` and `dockerish` cannot drift apart:
//!
//! - [`exit`]: the exit statuses (125 the tool failed, 126 cannot execute,
//!   127 not found, 2 no such object, 128+N death by signal N);
//! - [`run`]: [`run::main`], the prologue and epilogue of every `main()`;
//! - [`error`]: the three errors every tool has (bad input, a failed system
//!   call, a failed file operation), each saying what, to what, with which
//!   value, and the [`ToolError`] trait that builds them;
//! - [`signal`]: signals by name or number, and the ones a runtime passes
//!   on to its container;
//! - [`hostname`]: the one rule for a container's host name;
//! - [`root`]: `--root`, the state root every tool shares;
//! - [`human`]: times, durations, sizes and tables as Docker prints and
//!   parses them.
//!
//! It holds no kernel work and no state: a new tool adds its own library and
//! a `main.rs` of a few lines that calls [`run::main`].

pub mod error;
pub mod exit;
pub mod hostname;
pub mod human;
pub mod root;
pub mod run;
pub mod signal;

pub use error::{Error, Invalid, Io, Sys, ToolError};

/// Prints `value` as pretty JSON on stdout: the output of every setup
/// command (the conventions: a setup command prints one JSON object on stdout).
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    println!("{}", serde_json::to_string_pretty(value).expect("plain data serializes"));
}
