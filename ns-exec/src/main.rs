//! `ns-exec`: the command line. The work is in the library (`ns_exec`).

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use clap::Parser;
use ns_exec::{CreateSpec, Error, IdMap, JoinSpec, NsKind, NsRequest, Propagation, ToolError};

const EXAMPLES: &str = "\
Examples:
  ns-exec --uts --hostname box -- hostname            a new UTS namespace
  ns-exec --pid --mount-proc -- ps                    PID 1 in a new pid namespace
  ns-exec --net --keep net=/run/netns/x -- true       keep a network namespace, like ip netns add
  ns-exec --net=/run/netns/x -- ip addr               run inside an existing one
  ns-exec --user --map-root-user -- id                root in a user namespace, without privileges
  ns-exec --pid --mount --init --pidfile p -- sh      a tiny init as PID 1, its host PID in p
  ns-exec --target 4242 --all -- sh                   enter every namespace of process 4242
  ns-exec -t 4242 -a -S 1000 -G 1000 -w /tmp -- id    ... as uid/gid 1000, in /tmp

A namespace flag alone creates a new namespace; with =FILE it joins the one FILE refers to
(unlike unshare(1), where --net=FILE keeps the new one: here that is --keep net=FILE).
With --target the flags pick which of the target's namespaces to join, as in nsenter(1).";

/// Run a command in new Linux namespaces (like unshare --fork), or in those
/// of a running process (like nsenter).
#[derive(Parser)]
#[command(name = "ns-exec", version, after_help = EXAMPLES)]
struct Cli {
    /// New user namespace, or join the one FILE refers to
    #[arg(short = 'U', long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    user: Option<OsString>,
    /// New cgroup namespace, or join FILE's
    #[arg(short = 'C', long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    cgroup: Option<OsString>,
    /// New IPC namespace, or join FILE's
    #[arg(short = 'i', long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    ipc: Option<OsString>,
    /// New UTS (hostname) namespace, or join FILE's
    #[arg(short = 'u', long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    uts: Option<OsString>,
    /// New network namespace (with lo up), or join FILE's
    #[arg(short = 'n', long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    net: Option<OsString>,
    /// New pid namespace (the command is its PID 1), or join FILE's
    #[arg(short = 'p', long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pid: Option<OsString>,
    /// New mount namespace, or join FILE's
    #[arg(short = 'm', long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    mount: Option<OsString>,
    /// New time namespace, or join FILE's
    #[arg(short = 'T', long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    time: Option<OsString>,

    /// Accepted for unshare(1) compatibility: ns-exec always forks
    #[arg(short = 'f', long)]
    fork: bool,
    /// Mount a new proc filesystem (at DIR, default /proc); implies --mount
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true, default_missing_value = "/proc", conflicts_with = "target")]
    mount_proc: Option<PathBuf>,
    /// Mount propagation of the new mount namespace: private, slave, shared, unchanged
    #[arg(long, value_name = "MODE", default_value = "private")]
    propagation: Propagation,
    /// Hostname in the new UTS namespace
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    hostname: Option<String>,
    /// Map your uid and gid to root in the new user namespace
    #[arg(short = 'r', long, conflicts_with = "target")]
    map_root_user: bool,
    /// A uid map line (repeatable), in /proc/PID/uid_map's column order
    #[arg(long, value_name = "INSIDE:OUTSIDE:COUNT", conflicts_with = "target")]
    uid_map: Vec<IdMap>,
    /// A gid map line (repeatable)
    #[arg(long, value_name = "INSIDE:OUTSIDE:COUNT", conflicts_with = "target")]
    gid_map: Vec<IdMap>,
    /// Keep a new namespace after the command ends, bind-mounted on FILE (repeatable)
    #[arg(long, value_name = "KIND=FILE", conflicts_with = "target", value_parser = ns_exec::ns::parse_keep)]
    keep: Vec<(NsKind, PathBuf)>,
    /// Run the command under a tiny init that forwards signals and reaps zombies
    #[arg(long, conflicts_with = "target")]
    init: bool,
    /// New session, with stdin's terminal as the controlling terminal
    #[arg(long)]
    ctty: bool,
    /// Write the host PID of the command (or of its init) to FILE
    #[arg(long, value_name = "FILE")]
    pidfile: Option<PathBuf>,
    /// Exit as soon as the command runs instead of waiting for it (it is adopted by the
    /// nearest subreaper, or by PID 1): an OCI runtime's create and exec --detach
    #[arg(long)]
    detach: bool,

    /// Join the namespaces of process PID instead of creating new ones
    #[arg(short = 't', long, value_name = "PID")]
    target: Option<i32>,
    /// With --target: join all of its namespaces
    #[arg(short = 'a', long, requires = "target")]
    all: bool,
    /// With --target: working directory (default: the target's)
    #[arg(short = 'w', long, value_name = "DIR", requires = "target")]
    wd: Option<PathBuf>,
    /// With --target: run the command as this user ID (nsenter's -S)
    #[arg(short = 'S', long, value_name = "UID", requires = "target")]
    setuid: Option<u32>,
    /// With --target: run the command with this group ID, and no other groups (nsenter's -G)
    #[arg(short = 'G', long, value_name = "GID", requires = "target")]
    setgid: Option<u32>,
    /// With --target: run the command as USER[:GROUP], names or numbers looked up in the
    /// target's own /etc/passwd and /etc/group, with the user's supplementary groups
    /// (chroot(1)'s --userspec; Docker's exec -u)
    #[arg(long, value_name = "USER[:GROUP]", requires = "target", conflicts_with_all = ["setuid", "setgid"])]
    userspec: Option<privs::user::UserSpec>,
    /// With --target: add a supplementary group (repeatable; with --userspec a name from the
    /// target's /etc/group or a number, else a number)
    #[arg(long, value_name = "GROUP", requires = "target")]
    group_add: Vec<String>,
    /// With --target: give the command a new terminal from the target's
    /// devpts, sending its master to this unix socket (runc's console-socket protocol)
    #[arg(long, value_name = "SOCKET", requires = "target", conflicts_with = "ctty")]
    console_socket: Option<PathBuf>,

    /// With --target: what the command may do (a new container's come from
    /// rootfs enter, the exec end of its chain)
    #[command(flatten)]
    security: privs::Security,

    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

impl Cli {
    /// Each namespace flag that was given, with its FILE if any.
    fn namespace_flags(&self) -> Vec<(NsKind, Option<PathBuf>)> {
        let flags = [
            (NsKind::User, &self.user),
            (NsKind::Cgroup, &self.cgroup),
            (NsKind::Ipc, &self.ipc),
            (NsKind::Uts, &self.uts),
            (NsKind::Net, &self.net),
            (NsKind::Pid, &self.pid),
            (NsKind::Mount, &self.mount),
            (NsKind::Time, &self.time),
        ];
        flags
            .into_iter()
            .filter_map(|(kind, arg)| {
                let file = arg.as_ref()?;
                Some((kind, (!file.is_empty()).then(|| PathBuf::from(file))))
            })
            .collect()
    }

    fn command(&self) -> Result<Vec<CString>, Error> {
        self.command
            .iter()
            .map(|a| {
                CString::new(a.clone().into_vec()).map_err(|_| {
                    Error::invalid("command argument", a.to_string_lossy(), "contains a NUL byte")
                })
            })
            .collect()
    }

    fn join_spec(&self, target: i32) -> Result<JoinSpec, Error> {
        Ok(JoinSpec {
            target,
            namespaces: self.namespace_flags(),
            all: self.all,
            wd: self.wd.clone(),
            ctty: self.ctty,
            uid: self.setuid,
            gid: self.setgid,
            userspec: self.userspec.clone(),
            group_add: self.group_add.clone(),
            console_socket: self.console_socket.clone(),
            security: self.security.clone(),
            pidfile: self.pidfile.clone(),
            detach: self.detach,
            command: self.command()?,
        })
    }

    fn create_spec(&self) -> Result<CreateSpec, Error> {
        if let Some(flag) = self.security.to_args().first() {
            let why = "goes with --target; a new container's are rootfs enter's flags";
            return Err(Error::invalid("option", flag.clone(), why));
        }
        let namespaces: Vec<(NsKind, NsRequest)> = self
            .namespace_flags()
            .into_iter()
            .map(|(kind, file)| (kind, file.map_or(NsRequest::New, NsRequest::Join)))
            .collect();
        Ok(CreateSpec {
            namespaces,
            propagation: self.propagation,
            mount_proc: self.mount_proc.clone(),
            hostname: self.hostname.clone(),
            map_root_user: self.map_root_user,
            uid_map: self.uid_map.clone(),
            gid_map: self.gid_map.clone(),
            keep: self.keep.clone(),
            init: self.init,
            ctty: self.ctty,
            pidfile: self.pidfile.clone(),
            detach: self.detach,
            command: self.command()?,
        })
    }
}

fn main() {
    tool_cli::run::main("ns-exec", |cli: Cli| match cli.target {
        Some(target) => ns_exec::join(&cli.join_spec(target)?),
        None => ns_exec::create(&cli.create_spec()?),
    })
}
