//! # privs: who a container's process is and what it may do, set at the exec end of the chain
//!
//! The last tool before the command (`rootfs enter` for `run`, `ns-exec
//! --target` for `exec`) is the one that can still change the process's
//! credentials, and the one that sees the container's files as `/`. So
//! names are resolved there, in the container's own /etc/passwd and
//! /etc/group, never the host's ([`user`]); and there the process gives up
//! what a container must not have: capabilities ([`caps`]), the chance to
//! gain privileges through setuid binaries (no_new_privs), and system
//! calls outside its profile ([`seccomp`]). [`Prepared::apply`] does all
//! of it in the one order that works.

pub mod caps;
pub mod rlimit;
pub mod seccomp;
pub mod user;

use std::fmt;
use std::path::PathBuf;

use tool_cli::error::invalid;
use tool_cli::{Invalid, Sys};

use caps::CapSet;
use seccomp::{Profile, Program, Target};

/// Which seccomp filter: the tools' `--seccomp default|unconfined|FILE|bpf:FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeccompChoice {
    Unconfined,
    /// The built-in profile ([`seccomp::DEFAULT_PROFILE`]).
    Default,
    /// A profile in Docker's JSON format.
    Profile(PathBuf),
    /// A program already compiled (`bpf:FILE`, as [`seccomp::cached`]
    /// writes it): loaded as it is, which saves the ~10 ms libseccomp
    /// takes to build one.
    Program(PathBuf),
}

impl std::str::FromStr for SeccompChoice {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        Ok(match text {
            "unconfined" => SeccompChoice::Unconfined,
            "default" => SeccompChoice::Default,
            "" | "bpf:" => {
                return Err(invalid("seccomp", text, "default|unconfined|FILE|bpf:FILE"))
            }
            _ => match text.strip_prefix("bpf:") {
                Some(path) => SeccompChoice::Program(path.into()),
                None => SeccompChoice::Profile(text.into()),
            },
        })
    }
}

impl fmt::Display for SeccompChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeccompChoice::Unconfined => f.write_str("unconfined"),
            SeccompChoice::Default => f.write_str("default"),
            SeccompChoice::Profile(path) => write!(f, "{}", path.display()),
            SeccompChoice::Program(path) => write!(f, "bpf:{}", path.display()),
        }
    }
}

/// What the exec end takes away before execve: the flags of `rootfs
/// enter` and `ns-exec`. Left out, each leaves the process as it is (a
/// tool run by hand does only what it is told; the front always says all
/// three, so `--dry-run` shows them).
#[derive(clap::Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct Security {
    /// Keep only these capabilities, in all five sets (comma-separated, with
    /// or without CAP_, or ALL; empty for none)
    #[arg(long, value_name = "CAP,…")]
    pub caps: Option<CapSet>,
    /// Instead of --caps: the five sets apart, as an OCI config gives them
    /// (bounding=CAP,…:effective=…:permitted=…:inheritable=…:ambient=…; a
    /// set left out is empty), kept by a non-root user too
    #[arg(long = "cap-sets", value_name = "SET=CAP,…:…", conflicts_with = "caps")]
    pub cap_sets: Option<caps::ProcessCaps>,
    /// Set no_new_privs before execve: setuid bits and file capabilities
    /// grant nothing
    #[arg(long = "no-new-privileges")]
    pub no_new_privs: bool,
    /// Load a seccomp filter before execve: the built-in default, none
    /// (unconfined), a profile FILE in Docker's JSON format, or bpf:FILE, a
    /// program compiled already (dockerish's cache)
    #[arg(long, value_name = "default|unconfined|FILE|bpf:FILE")]
    pub seccomp: Option<SeccompChoice>,
    /// Set a resource limit (repeatable), Docker's syntax: nofile=1024:4096, core=0;
    /// -1 for unlimited. A hard limit above the caller's needs CAP_SYS_RESOURCE
    #[arg(long = "ulimit", value_name = "NAME=SOFT[:HARD]")]
    pub ulimits: Vec<rlimit::Rlimit>,
}

impl Security {
    /// The flags that say this (what a front passes to the tool).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(caps) = self.caps {
            args.push(format!("--caps={caps}"));
        }
        if let Some(sets) = self.cap_sets {
            args.push(format!("--cap-sets={sets}"));
        }
        if self.no_new_privs {
            args.push("--no-new-privileges".into());
        }
        if let Some(seccomp) = &self.seccomp {
            args.push(format!("--seccomp={seccomp}"));
        }
        args.extend(self.ulimits.iter().map(|u| format!("--ulimit={u}")));
        args
    }
}

/// A [`Security`] checked and compiled, ready to apply: made on the host
/// before the tool changes anything (files are read here), so a bad
/// profile is refused with nothing done.
pub struct Prepared {
    ulimits: Vec<rlimit::Rlimit>,
    /// The bounding set (and, without `sets`, the other four too).
    caps: Option<CapSet>,
    sets: Option<caps::ProcessCaps>,
    no_new_privs: bool,
    filter: Option<Program>,
}

impl Security {
    pub fn prepare(&self) -> Result<Prepared, Invalid> {
        let bounding = self.caps.or(self.cap_sets.map(|s| s.bounding));
        let compile = |text: &str, source: &str| {
            let caps = bounding.unwrap_or_else(CapSet::all);
            Profile::parse(text, source)?.program(&Target::here(caps))
        };
        let filter = match &self.seccomp {
            None | Some(SeccompChoice::Unconfined) => None,
            Some(SeccompChoice::Default) => Some(compile(seccomp::DEFAULT_PROFILE, "default")?),
            Some(SeccompChoice::Profile(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    invalid(
                        "seccomp profile",
                        path.display().to_string(),
                        format!("cannot read it: {e}"),
                    )
                })?;
                Some(compile(&text, &path.display().to_string())?)
            }
            Some(SeccompChoice::Program(path)) => Some(Program::read(path)?),
        };
        self.ulimits.iter().try_for_each(rlimit::Rlimit::check)?;
        Ok(Prepared {
            ulimits: self.ulimits.clone(),
            caps: bounding,
            sets: self.cap_sets,
            no_new_privs: self.no_new_privs,
            filter,
        })
    }
}

impl Prepared {
    /// The same, with the filter compiled from a profile's text instead
    /// (an OCI config.json's `linux.seccomp`, whose format is Docker's
    /// without the `archMap` and `includes`/`excludes` extensions).
    pub fn with_profile(self, text: &str, source: &str) -> Result<Prepared, Invalid> {
        let caps = self.caps.unwrap_or_else(CapSet::all);
        let filter = Some(Profile::parse(text, source)?.program(&Target::here(caps))?);
        Ok(Prepared { filter, ..self })
    }

    /// Step 0 of [`Prepared::apply`] alone, for a caller that must give up
    /// the host's capabilities before `apply` (by entering a user
    /// namespace): raising a hard limit needs CAP_SYS_RESOURCE in the
    /// host's namespace. `apply` sets the same values again, which needs
    /// nothing.
    pub fn set_limits(&self) -> Result<(), Sys> {
        self.ulimits.iter().try_for_each(rlimit::Rlimit::apply)
    }

    /// Gives up what the container must not have, then `become_user`
    /// changes the credentials, in this order (runc's):
    ///
    /// 0. **Resource limits** (`--ulimit`), first: raising a hard limit
    ///    needs CAP_SYS_RESOURCE, which step 5 may take away.
    /// 1. **no_new_privs** (prctl(2) PR_SET_NO_NEW_PRIVS): from now on no
    ///    execve grants privileges (setuid bits and file capabilities are
    ///    ignored). It is inherited and can never be unset.
    /// 2. **seccomp, early**, if no_new_privs is not set: the kernel accepts
    ///    a filter only from a process with no_new_privs or CAP_SYS_ADMIN,
    ///    and CAP_SYS_ADMIN goes in step 3. The filter then also judges the
    ///    calls of steps 3–5 (prctl, capset, setgroups, setres[ug]id), which
    ///    a profile must allow, as with runc.
    /// 3. **The bounding set**, and the ambient set cleared: while we still
    ///    hold CAP_SETPCAP, which dropping from the bounding set needs.
    /// 4. **The user** (`become_user`): setgroups, setresgid, setresuid. A
    ///    change from uid 0 to another clears the permitted and effective
    ///    sets (capabilities(7), "Effect of user ID changes"): a non-root
    ///    user has no capabilities, as in Docker. With `--cap-sets`,
    ///    PR_SET_KEEPCAPS is set around the change: permitted survives it.
    /// 5. **capset(2)**: permitted and effective become the set (root) or
    ///    empty (another user); inheritable is always empty, so a program
    ///    with inheritable file capabilities gains nothing after a switch to
    ///    another user (CVE-2022-24769, fixed the same way in runc and Docker).
    ///    With `--cap-sets`: the three sets as given, then the ambient set
    ///    raised ([`caps::ProcessCaps::set_process_sets`]).
    /// 6. **seccomp, last**, if no_new_privs is set: right before execve, so
    ///    the filter need not allow anything of ours.
    pub fn apply<E: From<Sys>>(self, become_user: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        self.set_limits()?;
        if self.no_new_privs {
            nix::sys::prctl::set_no_new_privs().map_err(|e| Sys::new("set", "no_new_privs", e))?;
        }
        if !self.no_new_privs {
            if let Some(filter) = &self.filter {
                filter.load()?;
            }
        }
        if let Some(caps) = self.caps {
            caps.limit_bounding()?;
        }
        if self.sets.is_some() {
            caps::keep_caps(true)?;
        }
        become_user()?;
        if let Some(sets) = self.sets {
            caps::keep_caps(false)?;
            sets.set_process_sets()?;
        } else if let Some(caps) = self.caps {
            let keep = if nix::unistd::geteuid().is_root() { caps } else { CapSet(0) };
            keep.set_process_sets()?;
        }
        if self.no_new_privs {
            if let Some(filter) = &self.filter {
                filter.load()?;
            }
        }
        Ok(())
    }
}
