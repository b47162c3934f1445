//! # console-socket: what the tools hand each other over unix sockets
//!
//! A container is made by a chain of tools (`cgctl exec … ns-exec … rootfs
//! enter … CMD`) while its runtime (`dockerish run`, its supervisor, or
//! `dockerish exec`) waits outside. Two things cross from the chain to the
//! runtime, each over a unix socket (unix(7)) that the runtime listens on
//! and the chain connects to by path:
//!
//! - **The container's terminal** ([`terminal`]), runc's `--console-socket`
//!   protocol: the pty is opened *inside* the container, from its own
//!   devpts, and its master is sent with SCM_RIGHTS; the runtime copies
//!   between it and the user's terminal.
//! - **The start report** ([`start`]): the chain reports whether the
//!   command was exec'd. The connection is close-on-exec, so end-of-file
//!   with nothing written means execve(2) succeeded; a failure writes its
//!   message first.
//!
//! Both ends of both live here, with the one workaround they share: a
//! socket path longer than `sun_path` (108 bytes) is reached through its
//! directory's descriptor ([`path`]). runc's reference is its `recvtty`
//! tool and `libcontainer/utils/cmsg.go`; see also pty(7), cmsg(3).

pub mod path;
pub mod start;
pub mod terminal;

pub use path::{connect, Listener};
