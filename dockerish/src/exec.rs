//! `dockerish exec`: a new process in a running container, through the
//! same tools a person would use:
//!
//! ```text
//! cgctl exec --pid INIT -- ns-exec --target INIT --all -w DIR [-S UID -G GID] [--console-socket S] -- CMD
//! ```
//!
//! `cgctl exec --pid` joins the cgroups the container's init is in (so the
//! limits and `stats` count the new process too); ns-exec enters every
//! namespace of the init and chroots into its root. The environment is the
//! container's, with `-e` on top; with `-t` the command gets a new terminal
//! from the container's own devpts, relayed like `run -t`'s.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use crate::cli::ExecArgs;
use crate::error::{Error, Result, ToolError};
use crate::pty::{self, ConsoleSocket};
use crate::run::Env;
use crate::signals::Forwarder;
use crate::state::Containers;
use crate::tools::Tools;

pub fn exec(root: &Path, args: ExecArgs) -> Result<i32> {
    let tools = Tools::new(root);
    let container = Containers::open(root)?.find(&args.container)?;
    let init = container.running_init()?;
    if container.state.paused {
        return Err(Error::Refused(format!(
            "Container {} is paused, unpause the container before exec",
            container.short_id()
        )));
    }
    let mut env = Env::default();
    container.config.env.iter().for_each(|e| env.set_entry(e));
    for flag in &args.env {
        env.set_flag(flag)?;
    }
    let workdir = args.workdir.clone().unwrap_or_else(|| container.config.workdir.clone());
    rootfs::spec::check_container_path("working directory", Path::new(&workdir))?;

    let mut argv: Vec<String> = vec!["exec".into(), "--pid".into(), init.to_string(), "--".into()];
    argv.push(tools.path("ns-exec")?.display().to_string());
    argv.extend(["--target".into(), init.to_string(), "--all".into(), "-w".into(), workdir]);
    if let Some(user) = &args.user {
        let (uid, gid) = resolve_user(init, user)?;
        argv.extend(["--setuid".into(), uid.to_string(), "--setgid".into(), gid.to_string()]);
    }
    let console = match args.tty {
        true => Some(ConsoleSocket::bind(
            &container.dir.join(format!("exec-{}.sock", std::process::id())),
        )?),
        false => None,
    };
    if let Some(socket) = &console {
        argv.extend(["--console-socket".into(), socket.path().display().to_string()]);
    }
    argv.push("--".into());
    argv.extend(args.command.iter().cloned());

    let mut cmd = tools.cgctl(&argv)?;
    cmd.env_clear().envs(env.entries().iter().filter_map(|e| e.split_once('=')));
    cmd.stdin(if args.interactive && !args.tty { Stdio::inherit() } else { Stdio::null() });
    let forwarder = Forwarder::new()?;
    Forwarder::unblock_in_child(&mut cmd);
    let mut child = cmd.spawn().map_err(Error::io("run", "cgctl"))?;
    let Some(socket) = console else { return forwarder.wait(&mut child) };
    match socket.receive(&forwarder, &mut child)? {
        Some(terminal) => terminal.start(pty::our_size()).relay(
            pty::our_stdin(args.interactive)?,
            &forwarder,
            &mut child,
        ),
        // It failed before making the terminal, and said why on stderr.
        None => forwarder.wait(&mut child),
    }
}

/// `-u USER[:GROUP]`: names are looked up in the container's /etc/passwd
/// and /etc/group (read through its root, never the host's); numbers are
/// taken as they are. A user without a group gets its passwd group, or 0.
fn resolve_user(init: i32, spec: &str) -> Result<(u32, u32)> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let bad = |why: String| Error::invalid("user", spec, why);
    let passwd = read_in_container(init, "/etc/passwd");
    // passwd(5): name:password:UID:GID:gecos:home:shell
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && (f[0] == user || f[2] == user));
    let uid = match (user.parse::<u32>(), &entry) {
        (Ok(uid), _) => uid,
        (Err(_), Some(f)) => f[2]
            .parse()
            .map_err(|_| bad(format!("bad UID in the container's /etc/passwd: {}", f[2])))?,
        (Err(_), None) => {
            return Err(bad(format!(
                "unable to find user {user}: no matching entries in passwd file"
            )))
        }
    };
    let gid = match group {
        None => entry.and_then(|f| f[3].parse().ok()).unwrap_or(0),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                // group(5): name:password:GID:members
                let groups = read_in_container(init, "/etc/group");
                let found = groups
                    .lines()
                    .map(|l| l.split(':').collect::<Vec<_>>())
                    .find(|f| f.len() >= 3 && f[0] == g);
                found.and_then(|f| f[2].parse().ok()).ok_or_else(|| {
                    bad(format!("unable to find group {g}: no matching entries in group file"))
                })?
            }
        },
    };
    Ok((uid, gid))
}

/// A file of the container, resolved inside its root (`/proc/PID/root`),
/// so that a symlink in the image cannot make us read a host file; empty
/// if missing.
fn read_in_container(init: i32, path: &str) -> String {
    let root = format!("/proc/{init}/root");
    let Ok(root) =
        open(root.as_str(), OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
    else {
        return String::new();
    };
    let Ok(file) = rootfs::inroot::open(&root, Path::new(path)) else { return String::new() };
    // The O_PATH descriptor, reopened for reading through /proc/self/fd.
    let mut text = String::new();
    if let Ok(mut f) = File::open(rootfs::inroot::fd_path(&file)) {
        let _ = f.read_to_string(&mut text);
    }
    text
}
