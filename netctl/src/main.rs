//! `netctl`: the command line. The work is in the library (`netctl`).

use std::ffi::CString;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use ipnet::Ipv4Net;
use netctl::timing;
use netctl::{
    attach, detach, gc, netns, network, AttachSpec, Error, NetworkSpec, Store, ToolError,
};
use tool_cli::{human, print_json};

const EXAMPLES: &str = "\
Examples:
  netctl create mynet --subnet 10.89.0.0/24              a bridge with 10.89.0.1, NAT out
  netctl attach mynet --netns /run/c1.ns --new-netns --id c1 -p 8080:80
  ns-exec --net=/run/c1.ns -- ip addr                     eth0 10.89.0.2/24, default via .1
  curl http://127.0.0.1:8080/                             reaches port 80 in the namespace
  netctl detach mynet --id c1                             veth, rules, address, namespace: gone
  netctl netns add x; netctl netns exec x -- ip link; netctl netns rm x
  netctl gc                                               undo what crashed owners left

State lives in --root (or $DOCKERISH_ROOT), default /var/lib/dockerish, under networks/ and
netns/. Rules are in the nftables table `ip dockerish` (the default root's; `netctl info`
names another root's). With CNI_COMMAND set, netctl is a CNI
plugin (ADD, DEL, CHECK, VERSION). Exit status: 0 done, 2 no such network, 125 failed.";

/// Container networking: netns, bridges, veth pairs, IPAM, NAT and published ports
#[derive(Parser)]
#[command(name = "netctl", version, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    root: tool_cli::root::StateRoot,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Persistent network namespaces (bind-mounted nsfs files), like ip netns
    #[command(subcommand)]
    Netns(NetnsCommand),
    /// Create a network: a bridge with the gateway address, NAT out, isolation from the others
    Create {
        /// Letters, digits and `_.-`, starting with a letter or digit (Docker's rule)
        name: String,
        /// The subnet (default: a free /16 of 10.210.0.0/16 … 172.30.0.0/16)
        #[arg(long, value_name = "CIDR")]
        subnet: Option<Ipv4Net>,
        /// The bridge's address (default: the subnet's first)
        #[arg(long, value_name = "IP")]
        gateway: Option<Ipv4Addr>,
        /// The bridge's name (default: dkbr + 8 hex digits of the network's ID)
        #[arg(long, value_name = "IFNAME")]
        bridge: Option<String>,
        /// No route out of the network
        #[arg(long)]
        internal: bool,
        /// Containers do not find each other by name
        #[arg(long)]
        no_names: bool,
    },
    /// Remove networks (refused while containers are attached)
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List networks
    Ls {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// A network and its attachments, as JSON
    Inspect { name: String },
    /// Wire a network namespace to a network; prints interface, ip, prefix, gateway, mac, ports
    Attach(AttachFlags),
    /// Undo an attach (from NETWORK, or from every network); nothing attached is fine
    Detach {
        network: Option<String>,
        /// The ID given to attach
        #[arg(long)]
        id: String,
        /// Print how long each step took, on stderr
        #[arg(long)]
        timings: bool,
    },
    /// Remove every object of ours whose owner or namespace is gone
    Gc,
    /// The state root and the names of its objects on the host (table, link alias), as JSON
    Info,
}

/// `netctl attach`'s flags: an [`AttachSpec`] as people type it.
#[derive(clap::Args)]
struct AttachFlags {
    network: String,
    /// The namespace: a file ns-exec --net= takes (netctl netns add, /proc/PID/ns/net)
    #[arg(long, value_name = "PATH")]
    netns: PathBuf,
    /// Make the namespace file first (detach removes it)
    #[arg(long)]
    new_netns: bool,
    /// The container's ID: the key of everything made for it
    #[arg(long)]
    id: String,
    /// The name other containers on the network reach it by
    #[arg(long)]
    name: Option<String>,
    /// Another name it is reached by (repeatable)
    #[arg(long = "alias", value_name = "NAME")]
    aliases: Vec<String>,
    /// The container's hostname: listed with its address in its own /etc/hosts
    #[arg(long)]
    hostname: Option<String>,
    /// An extra /etc/hosts entry (repeatable)
    #[arg(long = "add-host", value_name = "HOST:IP")]
    add_hosts: Vec<String>,
    /// The file that is the container's /etc/hosts: kept current with names
    #[arg(long, value_name = "FILE")]
    hosts_file: Option<PathBuf>,
    /// Ask for this address
    #[arg(long)]
    ip: Option<Ipv4Addr>,
    /// Publish a port: [HOSTIP:][HOSTPORT:]PORT[/tcp|udp], ranges too (repeatable)
    #[arg(short = 'p', long = "publish", value_name = "SPEC")]
    publish: Vec<String>,
    /// The interface inside (default: eth0, or the next free ethN)
    #[arg(long)]
    ifname: Option<String>,
    /// The process the attachment lasts for: gc detaches once it is gone
    #[arg(long, value_name = "PID")]
    owner: Option<i32>,
    /// Print how long each step took, on stderr
    #[arg(long)]
    timings: bool,
}

impl AttachFlags {
    /// The spec the library takes: ports parsed, the owner found.
    fn spec(self) -> Result<AttachSpec, Error> {
        let mut ports = Vec::new();
        for spec in &self.publish {
            ports.extend(netctl::ports::parse(spec)?);
        }
        let owner = match self.owner {
            Some(pid) => Some(
                pidref::ProcessRef::of(pid)
                    .ok_or_else(|| Error::invalid("--owner", pid.to_string(), "no such process"))?,
            ),
            None => None,
        };
        Ok(AttachSpec {
            network: self.network,
            netns: self.netns,
            new_netns: self.new_netns,
            id: self.id,
            name: self.name,
            aliases: self.aliases,
            hostname: self.hostname,
            add_hosts: self.add_hosts,
            hosts_file: self.hosts_file,
            ip: self.ip,
            ports,
            ifname: self.ifname,
            owner,
        })
    }
}

#[derive(Subcommand)]
enum NetnsCommand {
    /// Make a namespace kept at ROOT/netns/NAME (or at a path with a '/')
    Add { name: String },
    /// Release them and remove their files
    #[command(alias = "del")]
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List the kept namespaces
    Ls,
    /// Run COMMAND in it
    Exec {
        name: String,
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

fn main() {
    if std::env::var_os("CNI_COMMAND").is_some() {
        std::process::exit(netctl::cni::main());
    }
    tool_cli::run::main("netctl", |cli: Cli| run(&cli.root.path, cli.command).map(|()| 0))
}

/// A namespace by name (ROOT/netns/NAME) or by path.
fn netns_path(root: &Path, name: &str) -> PathBuf {
    if name.contains('/') {
        PathBuf::from(name)
    } else {
        root.join("netns").join(name)
    }
}

fn run(root: &Path, command: Command) -> Result<(), Error> {
    let store = Store::open(root)?;
    match command {
        // Under the store's lock: gc and detach remove namespace files too.
        Command::Netns(NetnsCommand::Add { name }) => {
            let _lock = store.lock()?;
            netns::add(&netns_path(root, &name))?
        }
        Command::Netns(NetnsCommand::Rm { names }) => {
            let _lock = store.lock()?;
            for name in names {
                netns::remove(&netns_path(root, &name))?;
            }
        }
        Command::Netns(NetnsCommand::Ls) => {
            for (name, live) in netns::list(&root.join("netns"))? {
                println!(
                    "{name}{}",
                    if live { "" } else { " (stale: no namespace; netctl gc removes it)" }
                );
            }
        }
        Command::Netns(NetnsCommand::Exec { name, command }) => {
            return Err(exec_in(&netns_path(root, &name), &command))
        }
        Command::Create { name, subnet, gateway, bridge, internal, no_names } => {
            let spec = NetworkSpec { name, subnet, gateway, bridge, internal, names: !no_names };
            let _lock = store.lock()?;
            let net = network::create(&store, &spec)?;
            event(root, "create", &net.id, &net.name, None);
            print_json(&net);
        }
        Command::Rm { names } => {
            let _lock = store.lock()?;
            for name in names {
                let net = network::remove(&store, &name)?;
                event(root, "destroy", &net.id, &net.name, None);
                println!("{}", net.name);
            }
        }
        Command::Ls { format } => {
            let networks = store.networks()?;
            match format {
                Format::Json => print_json(&networks),
                Format::Table => {
                    let mut rows =
                        vec![["NETWORK ID", "NAME", "SUBNET", "GATEWAY", "BRIDGE", "CONTAINERS"]
                            .map(String::from)
                            .to_vec()];
                    for n in &networks {
                        let count = store.attachments(&n.name)?.len();
                        rows.push(vec![
                            n.id.chars().take(12).collect(),
                            n.name.clone(),
                            n.subnet.to_string(),
                            n.gateway.to_string(),
                            n.bridge.clone(),
                            count.to_string(),
                        ]);
                    }
                    print!("{}", human::table(&rows));
                }
            }
        }
        Command::Inspect { name } => {
            let net = store.network(&name)?;
            let attachments = store.attachments(&net.name)?;
            print_json(&serde_json::json!({ "network": net, "attachments": attachments }));
        }
        Command::Attach(flags) => {
            let timings = flags.timings;
            let spec = flags.spec()?;
            if timings {
                timing::start();
            }
            let a = attach(&store, &spec)?;
            print_timings("attach", timings);
            let net = store.network(&spec.network)?;
            event(root, "connect", &net.id, &net.name, Some(&a.id));
            print_json(&netctl::attach::Attached::new(&net, &a));
        }
        Command::Detach { network, id, timings } => {
            if timings {
                timing::start();
            }
            let undone = detach(&store, network.as_deref(), &id)?;
            print_timings("detach", timings);
            print_json(&undone.iter().map(|a| &a.host_veth).collect::<Vec<_>>());
        }
        Command::Gc => gc(&store)?.iter().for_each(|line| println!("{line}")),
        Command::Info => print_json(store.host_names()),
    }
    Ok(())
}

/// `netctl: attach: veth 1.92 ms`, a line per step, when asked for.
fn print_timings(what: &str, asked: bool) {
    if asked {
        for (step, ms) in timing::take() {
            eprintln!("netctl: {what}: {step} {ms:.3} ms");
        }
    }
}

/// setns(2) into the namespace at `file`, then exec `command`: what
/// `ip netns exec` does (without its remount of /sys).
fn exec_in(file: &Path, command: &[String]) -> Error {
    let entered = netns::open(file).and_then(|fd| {
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::sys("enter", file.display(), e))
    });
    if let Err(e) = entered {
        return e;
    }
    let argv: Vec<CString> = match command.iter().map(|a| CString::new(a.as_bytes())).collect() {
        Ok(argv) => argv,
        Err(_) => return Error::invalid("command", command.join(" "), "contains a NUL byte"),
    };
    let Err(errno) = nix::unistd::execvp(&argv[0], &argv);
    Error::sys("exec", &command[0], errno)
}

/// Appends a network event to the state root's log (`dockerish events`):
/// Docker's, with the container for connect.
fn event(root: &Path, action: &str, id: &str, name: &str, container: Option<&str>) {
    let mut attributes = vec![("name", name), ("type", "bridge")];
    attributes.extend(container.map(|c| ("container", c)));
    let event = json_store::events::Event::new("network", action, id, &attributes);
    json_store::events::append(root, &event);
}
