//! Join mode: run a command in the namespaces of a running process, as
//! nsenter(1) does (`ns-exec --target PID --all -- sh`).
//!
//! What makes it right:
//!
//! - **Open first, enter later.** Every `/proc/PID/ns/*` file, and the
//!   target's root and working directory, are opened before the first
//!   setns(2): once we are in the target's mount namespace, `/proc` may be
//!   another pid namespace's and `/proc/PID` may not exist there.
//! - **Root and cwd.** setns(2) into a mount namespace leaves us at that
//!   namespace's root mount, not at the root the target pivoted into. So we
//!   fchdir(2) to the target's root, chroot("."), and go to its cwd.
//! - **Fork for pid and time.** Joining those namespaces only affects
//!   children, so the command runs in a forked child while we wait.
//! - **A terminal from inside.** With `--console-socket` the command gets a
//!   new pty from the target's own devpts (so ttyname(3) works there): the
//!   socket is connected *before* entering, while its host path can still
//!   be reached, and the pair is made after the chroot, from /dev/pts/ptmx
//!   (the `console-socket` crate, the protocol `rootfs --console-socket`
//!   speaks too).
//! - **A pidfile opened first.** `--pidfile` names a host path, which the
//!   chroot hides: the file is created before entering and written through
//!   its descriptor once the command runs (then `--detach` exits).
//! - **User last.** setgroups(2), setgid(2), then setuid(2), in that order
//!   (after setuid we could no longer change groups), once everything that
//!   needs privilege is done. `--userspec NAME[:GROUP]` is resolved here
//!   too, after the chroot, so the names are the container's own
//!   (/etc/passwd and /etc/group of its root, never the host's).

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use nix::unistd::{
    chdir, chroot, fchdir, fork, setgroups, setresgid, setresuid, ForkResult, Gid, Pid, Uid,
};

use crate::error::{Error, Result, ToolError};
use crate::exec::{cloexec_pipe, exec, exit_now, read_report, report, take_terminal};
use crate::ns::{self, ns_inode, NsKind};
use crate::wait::{wait_exit, Signals};
use privs::user::UserSpec;

#[derive(Clone, Debug)]
pub struct JoinSpec {
    pub target: i32,
    /// Kinds to join, each with the file to use instead of the target's.
    pub namespaces: Vec<(NsKind, Option<PathBuf>)>,
    /// Join every namespace of the target that differs from ours.
    pub all: bool,
    /// Working directory; default: the target's when its mount namespace is
    /// joined.
    pub wd: Option<PathBuf>,
    /// New session with stdin's terminal as controlling terminal.
    pub ctty: bool,
    /// Become this user and group (numeric, as in the target's namespace).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Or this user and group by name or number, resolved in the target's
    /// root, with the supplementary groups it lists for the user.
    pub userspec: Option<UserSpec>,
    /// More supplementary groups for `userspec`, by name or number.
    pub group_add: Vec<String>,
    /// Make a new terminal in the target's devpts; send its master here.
    pub console_socket: Option<PathBuf>,
    /// The container's capabilities, no_new_privs and seccomp filter: an
    /// exec'd process gets what the container's own processes have, never
    /// more (it starts with all of ours).
    pub security: privs::Security,
    /// Write the command's host PID here (opened before entering: the
    /// path is the host's).
    pub pidfile: Option<PathBuf>,
    /// Exit once the command runs instead of waiting for it.
    pub detach: bool,
    pub command: Vec<CString>,
}

impl JoinSpec {
    fn proc_path(&self, rest: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/{rest}", self.target))
    }

    /// The namespaces to join, in entering order, with the file of each.
    fn plan(&self) -> Result<Vec<(NsKind, PathBuf)>> {
        let mut plan = Vec::new();
        for kind in NsKind::ALL {
            let explicit = self.namespaces.iter().find(|(k, _)| *k == kind);
            let path = match explicit {
                Some((_, Some(file))) => file.clone(),
                Some((_, None)) => self.proc_path(&format!("ns/{}", kind.proc_name())),
                None if self.all => {
                    let theirs = self.proc_path(&format!("ns/{}", kind.proc_name()));
                    let ours = PathBuf::from(format!("/proc/self/ns/{}", kind.proc_name()));
                    // A kind this kernel lacks, or one we already share:
                    // nothing to join (and setns into our own user
                    // namespace is refused with EINVAL).
                    if !theirs.exists() || ns_inode(&theirs)? == ns_inode(&ours)? {
                        continue;
                    }
                    theirs
                }
                None => continue,
            };
            plan.push((kind, path));
        }
        Ok(plan)
    }
}

/// Enters the target's namespaces and runs the command; returns its status.
pub fn join(spec: &JoinSpec) -> Result<i32> {
    if spec.command.is_empty() {
        return Err(Error::invalid("command", "", "no command given"));
    }
    if spec.namespaces.is_empty() && !spec.all {
        return Err(Error::invalid("namespaces", "", "name the namespaces to join, or --all"));
    }
    if spec.target <= 0 || !spec.proc_path("").exists() {
        return Err(Error::invalid("--target", spec.target.to_string(), "no such process"));
    }
    // Compiled now, on the host, so a bad profile changes nothing.
    let security = spec.security.prepare()?;
    let plan = spec.plan()?;
    let fds = plan
        .iter()
        .map(|(kind, path)| ns::open_ns(path).map(|fd| (*kind, fd)))
        .collect::<Result<Vec<_>>>()?;
    let joins = |k| plan.iter().any(|(kind, _)| *kind == k);
    let dirs = if joins(NsKind::Mount) {
        Some((
            inroot::open_dir(&spec.proc_path("root"))?,
            inroot::open_dir(&spec.proc_path("cwd"))?,
        ))
    } else {
        None
    };

    let console = match &spec.console_socket {
        Some(path) => Some(
            console_socket::connect(path)
                .map_err(Error::io("connect to the console socket", path))?,
        ),
        None => None,
    };

    let pidfile = match &spec.pidfile {
        Some(path) => Some(std::fs::File::create(path).map_err(Error::io("create", path))?),
        None => None,
    };
    let signals = Signals::block()?;
    // Before the namespaces: in a user namespace the host's
    // CAP_SYS_RESOURCE, which raising a hard limit needs, is gone.
    security.set_limits()?;
    ns::enter(&fds)?;
    if let Some((root, cwd)) = &dirs {
        fchdir(root.as_fd()).map_err(|e| Error::sys("enter", "the target's root", e))?;
        chroot(".").map_err(|e| Error::sys("chroot to", "the target's root", e))?;
        fchdir(cwd.as_fd())
            .map_err(|e| Error::sys("enter", "the target's working directory", e))?;
    }
    if let Some(wd) = &spec.wd {
        chdir(wd.as_path()).map_err(|e| Error::sys("change directory to", wd.display(), e))?;
    }

    let must_fork = joins(NsKind::Pid) || joins(NsKind::Time) || spec.ctty || console.is_some();
    if !(must_fork || pidfile.is_some() || spec.detach) {
        security.apply(|| become_user(spec, joins(NsKind::User)))?;
        signals.restore()?;
        return Err(exec(&spec.command));
    }
    // setsid(2) also needs a fork: it fails in a process group leader, which
    // is what a shell makes of the command it starts.
    let (error_read, error_write) = cloexec_pipe()?;
    // SAFETY: single-threaded; the child only sets up its terminal and execs.
    match unsafe { fork() }.map_err(|e| Error::sys("fork", "the command", e))? {
        ForkResult::Child => {
            let setup = match console {
                Some(stream) => {
                    console_socket::terminal::attach("/dev/pts/ptmx", stream).map_err(Error::from)
                }
                None if spec.ctty => take_terminal(),
                None => Ok(()),
            };
            let err = match setup
                .and_then(|()| security.apply(|| become_user(spec, joins(NsKind::User))))
                .and_then(|()| signals.restore())
            {
                Ok(()) => exec(&spec.command),
                Err(e) => e,
            };
            report(error_write.as_raw_fd(), &err);
            exit_now(err.exit_code())
        }
        ForkResult::Parent { child } => {
            drop(error_write);
            drop(console);
            if let Some(err) = read_report(error_read)? {
                wait_exit(child);
                return Err(err);
            }
            if let Some(mut file) = pidfile {
                use std::io::Write;
                let path = spec.pidfile.as_ref().expect("opened from it");
                writeln!(file, "{child}").map_err(Error::io("write", path))?;
            }
            if spec.detach {
                return Ok(0);
            }
            signals.supervise(Pid::from_raw(child.as_raw()), || {
                // Not here: chrooted into the container, /proc/self/smaps
                // is the container's to forge (see pidref::pages).
            })
        }
    }
}

/// setgroups, setgid, setuid: see the module docs for the order. Either
/// one drops the supplementary groups we had (root's, on the host).
///
/// In a user namespace we joined, our host ids are not mapped: without a
/// user asked for, we become its root (uid and gid 0), as nsenter(1) does.
fn become_user(spec: &JoinSpec, joined_user: bool) -> Result<()> {
    if let Some(userspec) = &spec.userspec {
        let ids = userspec.resolve_here_with(&spec.group_add).map_err(Error::NoSuchUser)?;
        return Ok(ids.apply()?);
    }
    let (uid, gid) = match (spec.uid, spec.gid) {
        (None, None) if joined_user => (Some(0), Some(0)),
        (None, None) if spec.group_add.is_empty() => return Ok(()),
        other => other,
    };
    let group = gid.map_or_else(nix::unistd::getgid, Gid::from_raw);
    let mut groups = vec![group];
    for extra in &spec.group_add {
        let number = extra.parse().map_err(|_| {
            Error::invalid("--group-add", extra, "without --userspec, a group is a number")
        })?;
        groups.extend(Some(Gid::from_raw(number)).filter(|g| !groups.contains(g)));
    }
    setgroups(&groups).map_err(|e| Error::sys("set groups to", format!("{groups:?}"), e))?;
    if gid.is_some() {
        setresgid(group, group, group).map_err(|e| Error::sys("set group ID to", group, e))?;
    }
    if let Some(uid) = uid {
        let uid = Uid::from_raw(uid);
        setresuid(uid, uid, uid).map_err(|e| Error::sys("set user ID to", uid, e))?;
    }
    Ok(())
}
