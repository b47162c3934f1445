//! The command line, with Docker's flag names.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

pub use crate::format::Format;
pub use crate::state::Network;

const EXAMPLES: &str = "\
Examples:
  dockerish run --rm busybox echo hello
  dockerish run -it --name box -v /srv:/srv:ro busybox sh
  echo hi | dockerish run -i --rm busybox cat
  dockerish run --rm -m 64m --cpus 0.5 --pids-limit 50 busybox sh    with resource limits
  dockerish run --dry-run busybox ls /        print the tool commands instead of running them
  dockerish run -d --name web -p 8080:80 busybox httpd -f -p 80    detached, published on port 8080
  dockerish network create mynet; dockerish run -d --name db --net mynet busybox sleep 1d
  dockerish run --rm --net mynet busybox ping -c1 db    containers on a network of yours find each other by name
  dockerish logs -f web; dockerish exec -it web sh; dockerish stop web; dockerish start web
  dockerish stats --no-stream                 CPU, memory and processes of running containers
  dockerish pause box; dockerish unpause box
  dockerish ps -a
  dockerish rm box
  dockerish run -d --restart on-failure:3 --log-opt max-size=10m busybox …   restarted with back-off, log capped
  dockerish cp ./site web:/www; dockerish top web; dockerish diff web; dockerish attach web
  dockerish events --since 10m; dockerish system df; dockerish info
  dockerish ps --format '{{.Names}}'; source <(dockerish completion bash)

State lives in --root (or $DOCKERISH_ROOT), default /var/lib/dockerish.";

/// Docker's command line on top of the dockerish tools
#[derive(Parser)]
#[command(name = "dockerish", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub root: tool_cli::root::StateRoot,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the `run` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Create and run a new container from an image
    Run(RunArgs),
    /// List containers
    Ps(PsArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Stop one or more running containers (SIGTERM, then SIGKILL)
    Stop(StopArgs),
    /// Kill one or more running containers
    Kill {
        /// Signal to send to the container
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Start one or more stopped containers
    Start {
        /// Attach stdout and stderr, and exit with the container's status
        #[arg(short, long)]
        attach: bool,
        /// Start every container whose restart policy is always, or unless-stopped
        /// and not stopped by hand (what Docker's daemon does at boot)
        #[arg(long, conflicts_with_all = ["attach", "containers"])]
        all_restartable: bool,
        #[arg(required_unless_present = "all_restartable", value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Restart one or more containers
    Restart(StopArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait {
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Rename a container
    Rename { container: String, new_name: String },
    /// Return low-level information on containers, as JSON
    Inspect {
        /// Print only this field, e.g. '{{.State.Pid}}' or '{{json .Config}}'
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Create a new image from a container's changes
    Commit {
        /// Commit message
        #[arg(short, long, default_value = "")]
        message: String,
        /// Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)
        #[arg(short, long = "change", value_name = "INSTRUCTION")]
        change: Vec<String>,
        container: String,
        #[arg(value_name = "REPOSITORY[:TAG]")]
        image: Option<String>,
    },
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// List a container's published ports, or the host address of one
    Port {
        container: String,
        #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
        port: Option<String>,
    },
    /// List images
    Images(ImagesArgs),
    /// Remove one or more images
    Rmi(RmiArgs),
    /// Import a root filesystem tar (FILE or -; plain, gzip, zstd or xz) as an image
    Import(ImportArgs),
    /// Load images from a docker save archive or an OCI archive (plain or compressed)
    Load(LoadArgs),
    /// Save images to a tar archive (standard output by default)
    Save(SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Export a container's filesystem as a tar archive (standard output by default)
    Export {
        container: String,
        /// Write to FILE
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Show the history of an image
    History(HistoryArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Display a live stream of containers' resource usage
    Stats(StatsArgs),
    /// Attach to a running container's output and (with -i) input; ^P^Q detaches
    Attach(AttachArgs),
    /// Get events from the state root's event log (follows without --until)
    Events(EventsArgs),
    /// Update the resource limits (at once, if running) or restart policy of containers
    Update(UpdateArgs),
    /// Pause all processes within one or more containers
    Pause {
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Unpause all processes within one or more containers
    Unpause {
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// The state root as a whole: df, prune, info, check
    #[command(subcommand)]
    System(SystemCommand),
    /// Print the shell completion script (bash, zsh, fish), container and image names included
    Completion { shell: clap_complete::Shell },
    /// Copy files between a container and the host: SRC DST, one of them CONTAINER:PATH (- is a tar stream)
    Cp {
        /// Archive mode: keep owners (uid and gid)
        #[arg(short, long)]
        archive: bool,
        /// Follow a symlink SRC
        #[arg(short = 'L', long)]
        follow_link: bool,
        #[arg(value_name = "SRC")]
        src: String,
        #[arg(value_name = "DST")]
        dst: String,
    },
    /// Display the running processes of a container (host PID and container PID)
    Top {
        container: String,
        /// Options for ps(1) (default -ef)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "PS OPTIONS")]
        ps_args: Vec<String>,
    },
    /// Inspect changes to files or directories on a container's filesystem (A, C, D)
    Diff { container: String },
    /// Show the version of dockerish and of each of its tools
    Version {
        /// table, json, or a template ('{{.Client.Version}}')
        #[arg(short, long, default_value = "table")]
        format: Format,
    },
    /// Display system-wide information: containers, images, cgroups, kernel, defaults
    Info {
        /// table, json, or a template ('{{.CgroupVersion}}')
        #[arg(short, long, default_value = "table")]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Show disk usage: images, containers, volumes, and what a prune reclaims
    Df {
        /// table, json, or a template ('{{.Type}} {{.Size}}')
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Remove stopped containers, unused networks, dangling images (and more, with flags)
    Prune {
        /// Remove all unused images, not just dangling ones
        #[arg(short, long)]
        all: bool,
        /// Prune anonymous volumes too
        #[arg(long)]
        volumes: bool,
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
    },
    /// Display system-wide information (as `info`)
    Info {
        /// table, json, or a template ('{{.CgroupVersion}}')
        #[arg(short, long, default_value = "table")]
        format: Format,
    },
    /// List what killed commands left half done; --repair finishes it
    Check {
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a volume (a random name without NAME)
    Create {
        name: Option<String>,
        /// Volume driver: only local
        #[arg(short, long, default_value = "local")]
        driver: String,
    },
    /// List volumes
    #[command(alias = "list")]
    Ls {
        /// table, json, or a template ('{{.Name}}')
        #[arg(long, default_value = "table")]
        format: Format,
        /// Only volume names
        #[arg(short, long)]
        quiet: bool,
    },
    /// Display detailed information on volumes
    Inspect {
        #[arg(required = true, value_name = "VOLUME")]
        names: Vec<String>,
    },
    /// Remove volumes (refused while a container uses one)
    #[command(alias = "remove")]
    Rm {
        /// Accepted for Docker's sake: a volume in use is still refused
        #[arg(short, long)]
        force: bool,
        #[arg(required = true, value_name = "VOLUME")]
        names: Vec<String>,
    },
    /// Remove unused anonymous volumes (-a: all unused volumes)
    Prune {
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub enum ContainerCommand {
    /// Remove all stopped containers
    Prune {
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Remove one or more images
    #[command(alias = "remove")]
    Rm(RmiArgs),
    /// Display detailed information on one or more images
    Inspect {
        #[arg(required = true, value_name = "IMAGE")]
        images: Vec<String>,
    },
    /// Show the history of an image
    History(HistoryArgs),
    /// Remove unused images
    Prune {
        /// Remove all images no container uses, not just untagged ones
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
    },
    /// Load images from a docker save archive or an OCI archive (plain or compressed)
    Load(LoadArgs),
    /// Save images to a tar archive (standard output by default)
    Save(SaveArgs),
    /// Import a root filesystem tar (FILE or -; plain, gzip, zstd or xz) as an image
    Import(ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
}

/// `import` and `image import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub name: Option<String>,
    /// Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long, default_value = "")]
    pub message: String,
}

/// `load` and `image load`.
#[derive(clap::Args)]
pub struct LoadArgs {
    /// Read from FILE instead of standard input
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print nothing (no progress either)
    #[arg(short, long)]
    pub quiet: bool,
}

/// `save` and `image save`.
#[derive(clap::Args)]
pub struct SaveArgs {
    /// Write to FILE
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// `tag` and `image tag`.
#[derive(clap::Args)]
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

/// `history` and `image history`.
#[derive(clap::Args)]
pub struct HistoryArgs {
    pub image: String,
    /// table, json, or a template: '{{.Field}}', 'table {{.Field}}\t{{.Other}}'
    #[arg(long, default_value = "table")]
    pub format: Format,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Create a network (a bridge, its subnet, NAT out)
    Create {
        name: String,
        /// Subnet in CIDR form (default: a free /16)
        #[arg(long)]
        subnet: Option<String>,
        /// The bridge's address (default: the subnet's first)
        #[arg(long)]
        gateway: Option<String>,
        /// No route out of the network
        #[arg(long)]
        internal: bool,
        /// Only bridge networks exist here
        #[arg(short, long, default_value = "bridge")]
        driver: String,
    },
    /// List networks
    #[command(alias = "list")]
    Ls {
        /// table, json, or a template: '{{.Field}}', 'table {{.Field}}\t{{.Other}}'
        #[arg(long, default_value = "table")]
        format: Format,
        /// Only network IDs
        #[arg(short, long)]
        quiet: bool,
    },
    /// Remove networks (refused while containers run on them)
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true, value_name = "NETWORK")]
        networks: Vec<String>,
    },
    /// Display detailed information on networks
    Inspect {
        #[arg(required = true, value_name = "NETWORK")]
        networks: Vec<String>,
    },
    /// Connect a container to a network (a running one at once)
    Connect {
        network: String,
        container: String,
        #[arg(long)]
        ip: Option<std::net::Ipv4Addr>,
        /// Another name the container is reached by (repeatable)
        #[arg(long = "alias", value_name = "NAME")]
        aliases: Vec<String>,
    },
    /// Disconnect a container from a network
    Disconnect { network: String, container: String },
    /// Remove every network no container uses (but the default one)
    Prune {
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run the container in the background and print its ID
    #[arg(short, long)]
    pub detach: bool,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Container host name (default: the short container ID)
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Set environment variables (KEY=VALUE, or KEY to copy it from here)
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Read environment variables from a file (KEY=VALUE lines)
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Bind mount a host path, or make an anonymous volume (just DST)
    #[arg(short, long = "volume", value_name = "[SRC:]DST[:ro]")]
    pub volumes: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Restart policy when the container exits: no, on-failure[:N], always, unless-stopped (needs -d)
    #[arg(long, default_value = "no", value_name = "POLICY")]
    pub restart: crate::restart::RestartPolicy,
    /// Logging driver: json-file (the default; local is the same) or none
    #[arg(long, default_value = "json-file", value_name = "DRIVER")]
    pub log_driver: String,
    /// Log driver option: max-size=SIZE (-1: no limit; default 20m), max-file=N (default 5)
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opts: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Username or UID, and optionally group (names from the image's /etc/passwd)
    #[arg(short = 'u', long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// Add a Linux capability (CHOWN or CAP_CHOWN; ALL)
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a Linux capability (ALL drops every one)
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Give the container every capability, no seccomp filter, /proc unmasked, /sys writable
    #[arg(long)]
    pub privileged: bool,
    /// no-new-privileges[=true|false], seccomp=unconfined|PROFILE.json (Docker's format)
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opts: Vec<String>,
    /// Add a host device to the container, allowed in its device cgroup (repeatable)
    #[arg(long = "device", value_name = "HOST[:CONTAINER][:PERMS]")]
    pub devices: Vec<String>,
    /// Resource limit, NAME=SOFT[:HARD] (nofile=1024:4096; -1 for unlimited)
    #[arg(long = "ulimit", value_name = "NAME=SOFT[:HARD]")]
    pub ulimits: Vec<String>,
    /// Kernel parameter of the container's namespaces (net.*, fs.mqueue.*, kernel.shm*...)
    #[arg(long = "sysctl", value_name = "KEY=VALUE")]
    pub sysctls: Vec<String>,
    /// Additional group to join (name from the image's /etc/group, or number)
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// User namespace: host (default), or auto: root in the container is an unprivileged
    /// range of host ids (/etc/subuid's dockerish line, or 1000000000 and up)
    #[arg(long, value_name = "host|auto")]
    pub userns: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Network: a network's name (default: bridge), none (loopback only) or host
    #[arg(long, alias = "net", default_value = crate::state::DEFAULT_NETWORK, value_name = "NETWORK")]
    pub network: Network,
    /// Publish a container's port: [HOSTIP:][HOSTPORT:]PORT[/tcp|udp], ranges too
    #[arg(short = 'p', long = "publish", value_name = "SPEC")]
    pub publish: Vec<String>,
    /// Publish every port the image exposes (EXPOSE) on a free host port
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// The container's IPv4 address on its network
    #[arg(long)]
    pub ip: Option<std::net::Ipv4Addr>,
    /// Another name the container is reached by on its network (repeatable)
    #[arg(long = "network-alias", value_name = "NAME")]
    pub network_aliases: Vec<String>,
    /// An extra /etc/hosts line (repeatable)
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_hosts: Vec<String>,
    /// A nameserver for /etc/resolv.conf (repeatable; default: the host's, minus loopback)
    #[arg(long)]
    pub dns: Vec<std::net::IpAddr>,
    #[command(flatten)]
    pub limits: cgctl::LimitFlags,
    /// Cgroup the container's cgroup is made in: absolute, or relative to dockerish's own cgroup
    #[arg(
        long,
        env = "DOCKERISH_CGROUP_PARENT",
        default_value = crate::state::DEFAULT_CGROUP_PARENT,
        value_name = "PATH"
    )]
    pub cgroup_parent: cgctl::CgroupPath,
    /// Print the tool commands that would run the container, and stop
    #[arg(long)]
    pub dry_run: bool,
    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// IMAGE [COMMAND [ARG...]]: everything after the image is the command
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE [COMMAND [ARG...]]"
    )]
    pub image_and_command: Vec<String>,
}

#[derive(clap::Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter: status=created|running|paused|exited, name=TEXT, id=PREFIX (repeatable)
    #[arg(short, long = "filter", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,
    /// table, json (one object per line, Docker's keys), or a template: '{{.Field}}', 'table {{.Field}}\t{{.Other}}'
    #[arg(long, default_value = "table")]
    pub format: Format,
}

#[derive(clap::Args)]
pub struct LogsArgs {
    /// Follow log output until the container stops
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs, or all
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs since a time (2026-11-23T09:55:00Z), Unix seconds, or a duration ago (10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a time (the forms of --since)
    #[arg(long)]
    pub until: Option<String>,
    pub container: String,
}

#[derive(clap::Args)]
pub struct ExecArgs {
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables (KEY=VALUE, or KEY to copy it from here)
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID, optionally with group (USER[:GROUP])
    #[arg(short, long)]
    pub user: Option<String>,
    pub container: String,
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND [ARG...]"
    )]
    pub command: Vec<String>,
}

#[derive(clap::Args)]
pub struct StopArgs {
    /// Seconds to wait after SIGTERM before killing it
    #[arg(short, long, default_value = "10", value_name = "SECONDS")]
    pub time: u64,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(clap::Args)]
pub struct AttachArgs {
    /// Do not attach stdin
    #[arg(long)]
    pub no_stdin: bool,
    /// The keys that detach, leaving the container running
    #[arg(long, default_value = "ctrl-p,ctrl-q", value_name = "KEYS")]
    pub detach_keys: String,
    pub container: String,
}

#[derive(clap::Args)]
pub struct EventsArgs {
    /// Show events since a time (2026-12-03T10:00:00Z), Unix seconds, or a duration ago (10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Stop at this time (the forms of --since); without it, follow
    #[arg(long)]
    pub until: Option<String>,
    /// Filter: type=container|image|network|volume, event=ACTION, container=, image=,
    /// network=, volume= (ID or name; repeatable)
    #[arg(short, long = "filter", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,
    /// table (Docker's line), json (one object per line), or a template ('{{.Action}}')
    #[arg(long, default_value = "table")]
    pub format: Format,
}

#[derive(clap::Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub limits: cgctl::LimitFlags,
    /// Restart policy: no, on-failure[:N], always, unless-stopped
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<crate::restart::RestartPolicy>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(clap::Args)]
pub struct StatsArgs {
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// table, json, or a template: '{{.Field}}', 'table {{.Field}}\t{{.Other}}'
    #[arg(long, default_value = "table")]
    pub format: Format,
    /// Containers (default: all running)
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(clap::Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove the anonymous volumes of the container
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(clap::Args)]
pub struct ImagesArgs {
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// table, json, or a template: '{{.Field}}', 'table {{.Field}}\t{{.Other}}'
    #[arg(long, default_value = "table")]
    pub format: Format,
}

#[derive(clap::Args)]
pub struct RmiArgs {
    /// Remove the image even if containers use it
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}
