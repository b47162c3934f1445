//! # privs: who a container's process is, set at the exec end of the chain
//!
//! The last tool before the command (`rootfs enter` for `run`, `ns-exec
//! --target` for `exec`) is the one that can still change the process's
//! credentials, and the one that sees the container's files as `/`. So
//! names are resolved there, in the container's own /etc/passwd and
//! /etc/group, never the host's ([`user`]).

pub mod user;
