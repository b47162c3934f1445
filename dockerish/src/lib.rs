//! `dockerish`: Docker's command line. It has no kernel logic of its own;
//! it runs the dockerish tools (`cgctl`, `ns-exec`, `rootfs`, `netctl`) the
//! way a person would type them (`dockerish run --dry-run` shows how),
//! doing a few of those steps through the tools' own libraries where an
//! exec would cost more than the step (docs/ARCHITECTURE.md).
//!
//! Two binaries share this library: `dockerish`, the command line, and
//! `dockerish-supervisor`, the small process that waits for a detached
//! container (`supervisor`).

pub mod attach;
pub mod check;
pub mod cli;
pub mod completion;
pub mod container;
pub mod cp;
pub mod crash;
pub mod env;
pub mod error;
pub mod events;
pub mod exec;
pub mod format;
pub mod images;
pub mod inside;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod manage;
pub mod names;
pub mod network;
pub mod oci;
pub mod pty;
pub mod resources;
pub mod restart;
pub mod run;
pub mod security;
pub mod signals;
pub mod state;
pub mod supervisor;
pub mod system;
pub mod tools;
pub mod volumes;
