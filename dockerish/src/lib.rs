//! `dockerish`: Docker's command line. It does no kernel work itself; it
//! runs the dockerish tools (`imgtool`, `cgctl`, `ns-exec`, `rootfs`) as
//! processes, the way a person would type them (`dockerish run --dry-run`
//! shows how).
//!
//! Two binaries share this library: `dockerish`, the command line, and
//! `dockerish-supervisor`, the small process that waits for a detached
//! container (`supervisor`).

pub mod check;
pub mod cli;
pub mod container;
pub mod crash;
pub mod env;
pub mod error;
pub mod exec;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod manage;
pub mod names;
pub mod network;
pub mod pty;
pub mod resources;
pub mod run;
pub mod security;
pub mod signals;
pub mod state;
pub mod supervisor;
pub mod tools;
pub mod volumes;
