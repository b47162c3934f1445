//! `rootfs`: the command line. The work is in the library (`rootfs`).

use std::ffi::{CString, OsString};
use std::net::IpAddr;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use rootfs::{Device, Error, HostEntry, Spec, Sysctl, ToolError, Volume};

const EXAMPLES: &str = "\
Examples:
  mkdir -p /tmp/c1
  rootfs enter --lower /var/lib/dockerish/images/layers/<id> --dir /tmp/c1 -- sh
  ns-exec --pid --mount --uts --hostname box -- \\
      rootfs enter --lower IMG --dir /tmp/c1 -v /srv:/srv:ro -e HOME=/root -w /root -- sh

Writes land in DIR/upper; the image layers are never changed. Run it as root, or under
ns-exec --user --map-root-user. rootfs makes its own mount namespace when it is not in
one already, so nothing it mounts is ever visible on the host.";

/// Assemble a container's root (overlayfs, volumes, /proc /sys /dev) and
/// pivot_root into it
#[derive(Parser)]
#[command(name = "rootfs", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the root, pivot_root into it and exec COMMAND
    #[command(after_help = EXAMPLES)]
    Enter(EnterArgs),
    /// Enter the root an OCI bundle's config.json describes (its mounts, devices,
    /// masked paths …) and exec its process: the exec end of an OCI runtime
    Bundle(BundleArgs),
}

#[derive(clap::Args)]
struct BundleArgs {
    /// The bundle: config.json and the root it names
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Read the config from FILE instead of DIR/config.json (a runtime's
    /// copy, checked already: the bundle's may change meanwhile)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read the config from inherited descriptor N (then closed): a copy
    /// that root of a new user namespace could not open by its path
    #[arg(long, value_name = "N", conflicts_with = "config")]
    config_fd: Option<i32>,
    /// Wait before execve until this fifo is opened for reading (runc's exec fifo:
    /// the runtime's start)
    #[arg(long, value_name = "FIFO")]
    exec_fifo: Option<PathBuf>,
    /// With process.terminal: send the terminal's master to this unix socket
    #[arg(long, value_name = "SOCKET")]
    console_socket: Option<PathBuf>,
    /// Report the start on this unix socket (as enter's); end-of-file means the
    /// container is created (waiting at the fifo) or runs
    #[arg(long, value_name = "SOCKET")]
    start_socket: Option<PathBuf>,
    /// Before the pivot, write PREFIX.ready and read the state JSON from PREFIX.go: the
    /// runtime runs its prestart and createRuntime hooks in between
    #[arg(long, value_name = "PREFIX")]
    hooks_sync: Option<PathBuf>,
    /// Pass descriptors 3..3+N to the program (every other one is closed at its exec)
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=65536))]
    preserve_fds: u32,
    /// mounts[INDEX] is idmapped, its tree made already (by the host's root) and
    /// inherited as descriptor FD (repeatable)
    #[arg(long = "mount-fd", value_name = "INDEX=FD")]
    mount_fds: Vec<String>,
}

#[derive(clap::Args)]
struct EnterArgs {
    /// A read-only image layer (repeatable), topmost first, as in overlayfs's lowerdir=
    #[arg(long = "lower", value_name = "DIR", required = true)]
    layers: Vec<PathBuf>,
    /// The container's directory: upper/, work/, merged/ and the generated /etc files
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Name written to /etc/hostname (default: the current hostname)
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// Extra /etc/hosts entry (repeatable)
    #[arg(long = "add-host", value_name = "HOST:IP")]
    extra_hosts: Vec<HostEntry>,
    /// Bind FILE as /etc/hosts instead of writing one (whoever keeps FILE current must
    /// rewrite it in place: netctl attach --hosts-file does)
    #[arg(long, value_name = "FILE", conflicts_with = "extra_hosts")]
    hosts_file: Option<PathBuf>,
    /// Nameserver for /etc/resolv.conf (repeatable; default: the host's, minus loopback)
    #[arg(long, value_name = "IP")]
    dns: Vec<IpAddr>,
    /// Bind-mount a host path (repeatable)
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST[:ro]")]
    volumes: Vec<Volume>,
    /// The command's environment, one entry each (repeatable); PATH has a default
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Working directory in the container, created if missing
    #[arg(short = 'w', long, value_name = "DIR", default_value = "/")]
    workdir: PathBuf,
    /// Mount the root read-only (volumes, /dev and /tmp-like mounts keep theirs)
    #[arg(long)]
    read_only: bool,
    /// Make the container's terminal in its own devpts and send the master
    /// to this unix socket (runc's protocol); the command gets the slave
    #[arg(long, value_name = "SOCKET")]
    console_socket: Option<PathBuf>,
    /// We run in a mount namespace of our own already (under `ns-exec
    /// --mount`): do not make another. Needed with `ns-exec --init`, whose
    /// init would otherwise stay outside the namespace the root is built in
    #[arg(long)]
    no_unshare: bool,
    /// Report the start on this unix socket: rootfs connects first thing;
    /// if it fails, it writes its error there; the connection is
    /// close-on-exec, so end-of-file with nothing read means COMMAND runs
    #[arg(long, value_name = "SOCKET")]
    start_socket: Option<PathBuf>,
    /// Become USER[:GROUP] (names from the container's /etc/passwd and
    /// /etc/group) before execve
    #[arg(short = 'u', long, value_name = "USER[:GROUP]")]
    user: Option<privs::user::UserSpec>,
    /// Add a supplementary group (repeatable; a name from the container's /etc/group,
    /// or a number)
    #[arg(long, value_name = "GROUP")]
    group_add: Vec<String>,
    /// Make the host's device node HOST in the container's /dev too (repeatable); what
    /// may be done with it is the device cgroup's (cgctl --device-allow)
    #[arg(long = "device", value_name = "HOST[:CTR]")]
    devices: Vec<Device>,
    /// Set a kernel parameter of the container's namespaces (repeatable): net.*,
    /// fs.mqueue.*, kernel.shm*/msg*/sem
    #[arg(long = "sysctl", value_name = "KEY=VALUE")]
    sysctls: Vec<Sysctl>,
    /// Run COMMAND as root of a new user namespace whose ids 0..COUNT are the host's
    /// START..: the layers are idmapped (or copied with shifted owners) to match
    #[arg(long, value_name = "START:COUNT")]
    userns: Option<rootfs::userns::IdRange>,
    #[command(flatten)]
    security: privs::Security,
    /// Leave /proc's masked and read-only paths alone and /sys writable
    /// (what --privileged wants)
    #[arg(long)]
    unmask: bool,
    /// Mount the root and the volumes nodev: device nodes found in an image or a volume
    /// cannot be opened (only /dev's own)
    #[arg(long)]
    nodev: bool,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

impl EnterArgs {
    fn into_spec(self) -> Result<Spec, Error> {
        let command = self
            .command
            .into_iter()
            .map(|a| {
                let text = a.to_string_lossy().into_owned();
                CString::new(a.into_vec())
                    .map_err(|_| Error::invalid("command argument", text, "contains a NUL byte"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Spec {
            layers: self.layers,
            dir: self.dir,
            hostname: self.hostname,
            extra_hosts: self.extra_hosts,
            hosts_file: self.hosts_file,
            dns: self.dns,
            volumes: self.volumes,
            env: self.env,
            workdir: self.workdir,
            read_only: self.read_only,
            console_socket: self.console_socket,
            no_unshare: self.no_unshare,
            start_socket: self.start_socket,
            user: self.user,
            security: self.security,
            unmask: self.unmask,
            nodev: self.nodev,
            devices: self.devices,
            sysctls: self.sysctls,
            group_add: self.group_add,
            userns: self.userns,
            command,
        })
    }
}

fn main() {
    tool_cli::run::main("rootfs", |cli: Cli| match cli.command {
        Command::Enter(args) => Err(rootfs::enter(&args.into_spec()?)),
        Command::Bundle(args) => {
            let bundle = rootfs::bundle::Bundle {
                config: match (args.config_fd, &args.config) {
                    (Some(fd), _) => rootfs::bundle::Bundle::load_fd(fd)?,
                    (None, Some(file)) => rootfs::bundle::Bundle::load_file(file)?,
                    (None, None) => rootfs::bundle::Bundle::load(&args.dir)?,
                },
                dir: args.dir,
                exec_fifo: args.exec_fifo,
                console_socket: args.console_socket,
                start_socket: args.start_socket,
                hooks_sync: args.hooks_sync,
                preserve_fds: args.preserve_fds,
                mount_fds: rootfs::bundle::inherited_mount_fds(&args.mount_fds, args.preserve_fds)?,
            };
            Err(rootfs::bundle::enter(bundle))
        }
    })
}
