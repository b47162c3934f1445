//! `attach` and `detach`: a container's network namespace wired to a
//! network, and unwired again.
//!
//! Attach, in order, under the store lock:
//!
//! 1. **Decide**: the ports (none published twice, none a host process
//!    listens on) and the address (IPAM).
//! 2. **Record** what it is about to make (`complete: false`). From here a
//!    kill at any moment leaves a record that `detach` or `gc` undoes.
//! 3. **Wire**: the namespace (`--new-netns`), a veth pair whose peer is
//!    born inside it as `eth0` (or the next free ethN, for a second
//!    network) with a MAC derived from its address (as Docker's 02:42:…,
//!    so a reused address does not meet a stale ARP entry), the host end a
//!    port of the bridge in hairpin mode (so that a container reaches its
//!    own published port); inside: loopback up, the address, the interface
//!    up, the default route via the gateway.
//! 4. **Publish**: the ports' map elements, one nfnetlink transaction.
//! 5. **Complete**: the container's /etc/hosts, the record marked
//!    complete, then the /etc/hosts of every container that shares a
//!    network with names.
//!
//! Detach undoes exactly what the record says, each step tolerating that
//! it was never done (a crash half-way through attach) or already undone
//! (a second detach), and works as well when the namespace is gone (after
//! a reboot, or once the container's last process ended): deleting the
//! veth's host end, or finding it gone with its namespace, both free it.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use ipnet::Ipv4Net;
use pidref::ProcessRef;

use crate::error::{Error, Result, ToolError};
use crate::netlink::{self, Netlink};
use crate::network::{self, check_ifname};
use crate::ports::PortMapping;
use crate::store::{Attachment, Network, Store};
use crate::{firewall, hosts, ipam, netns, nfnetlink, timing};
use nix::errno::Errno;

/// What `attach` is asked for.
#[derive(Clone, Debug, Default)]
pub struct AttachSpec {
    pub network: String,
    pub netns: PathBuf,
    /// Make the namespace file first (removed again by detach).
    pub new_netns: bool,
    pub id: String,
    pub name: Option<String>,
    pub aliases: Vec<String>,
    pub hostname: Option<String>,
    pub add_hosts: Vec<String>,
    pub hosts_file: Option<PathBuf>,
    pub ip: Option<Ipv4Addr>,
    pub ports: Vec<PortMapping>,
    /// The interface inside; default eth0, or the next free ethN.
    pub ifname: Option<String>,
    pub owner: Option<ProcessRef>,
}

/// A container ID: what names every object made for it.
fn check_id(id: &str) -> Result<()> {
    let ok = (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    match ok {
        true => Ok(()),
        false => {
            Err(Error::invalid("container ID", id, "1 to 64 letters, digits, '_', '.' or '-'"))
        }
    }
}

/// The veth's host end: `dk` + 12 hex digits of a hash of the container's
/// and the network's IDs (any ID: a CNI runtime's need not be hex), 14
/// bytes, within the kernel's 15.
fn host_veth(id: &str, net: &Network) -> String {
    let hash = crate::store::fnv1a(format!("{id}/{}", net.id).as_bytes());
    format!("dk{:012x}", hash >> 16)
}

/// Docker's MAC for an address: 02:42 then its four bytes.
fn mac_of(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x42, a, b, c, d]
}

/// What attach refuses before it looks at any record: names, interface
/// names, host names and `--add-host` entries that do not fit. (The ID is
/// checked by attach alone: a front checks before it has chosen one.)
fn validate(spec: &AttachSpec) -> Result<()> {
    if let Some(name) = &spec.ifname {
        check_ifname("--ifname", name)?;
    }
    for name in spec.name.iter().chain(&spec.aliases) {
        crate::store::validate_name(name).map_err(|_| {
            let why = "use [a-zA-Z0-9][a-zA-Z0-9_.-]*, as a container's name";
            Error::invalid("name or alias", name.clone(), why)
        })?;
    }
    if let Some(host) = &spec.hostname {
        tool_cli::hostname::validate(host)?;
    }
    for entry in &spec.add_hosts {
        let ok = entry
            .split_once(':')
            .is_some_and(|(h, ip)| !h.is_empty() && ip.parse::<std::net::IpAddr>().is_ok());
        if !ok {
            return Err(Error::invalid("--add-host", entry.clone(), "expected HOST:IP"));
        }
    }
    Ok(())
}

/// Attaches; returns the complete record. Idempotent: attaching what is
/// attached, as asked, returns it; anything else there (half done, or
/// asked for differently) is undone and done again.
pub fn attach(store: &Store, spec: &AttachSpec) -> Result<Attachment> {
    check_id(&spec.id)?;
    validate(spec)?;
    let _lock = store.lock()?;
    timing::step("lock");
    let net = match store.network(&spec.network) {
        Err(Error::NoSuchNetwork(_)) if spec.network == network::DEFAULT => {
            network::default_network(store)?
        }
        other => other?,
    };
    timing::step("network");
    if let Some(existing) = store.attachment(&net.name, &spec.id)? {
        if existing.complete
            && as_asked(&existing, spec)
            && Netlink::open()?.link(&existing.host_veth)?.is_some()
            && netns::is_live(&existing.netns)
        {
            // Whole already: it now lasts for the new owner.
            let updated = Attachment { owner: spec.owner, ..existing };
            store.save_attachment(&net.name, &updated)?;
            return Ok(updated);
        }
        detach_locked(store, &net, &existing)?;
    }
    // After that undo, which removes a namespace file the last attach made.
    if spec.new_netns && netns::is_live(&spec.netns) {
        let why = "a namespace is kept there already: leave out --new-netns to use it";
        return Err(Error::invalid("--new-netns", spec.netns.display().to_string(), why));
    }
    if let Some(ip) = spec.ip {
        ipam::check_usable(&net, ip)?;
    }
    let ports = choose_ports(store, &net.name, spec)?;
    timing::step("ports");
    let ipam_dir = store.network_dir(&net.name).join("ipam");
    let ip = ipam::allocate(&ipam_dir, &net, &spec.id, spec.ip)?;
    timing::step("ipam");
    let mut record = Attachment {
        id: spec.id.clone(),
        name: spec.name.clone(),
        aliases: spec.aliases.clone(),
        hostname: spec.hostname.clone(),
        add_hosts: spec.add_hosts.clone(),
        hosts_file: spec.hosts_file.clone(),
        netns: spec.netns.clone(),
        made_netns: spec.new_netns,
        ifname: spec.ifname.clone().unwrap_or_else(|| "eth0".into()),
        host_veth: host_veth(&spec.id, &net),
        ip,
        mac: netlink::format_mac(mac_of(ip)),
        ports,
        owner: spec.owner,
        complete: false,
    };
    if let Err(e) = store.save_attachment(&net.name, &record) {
        let _ = ipam::release(&ipam_dir, ip, &spec.id);
        return Err(e);
    }
    timing::step("record");
    let wired = wire(store, &net, &mut record, spec.ifname.is_none()).and_then(|()| {
        // The container's own /etc/hosts before the record says complete.
        refresh_hosts(store, &record, &[])
    });
    if let Err(e) = wired {
        let _ = detach_locked(store, &net, &record);
        return Err(e);
    }
    record.complete = true;
    store.save_attachment(&net.name, &record)?;
    timing::step("complete");
    refresh_hosts(store, &record, std::slice::from_ref(&net.name))?;
    timing::step("hosts");
    Ok(record)
}

/// Whether the attachment `a` is what `spec` asks for (ports asked for as
/// "any free host port" match the one chosen).
fn as_asked(a: &Attachment, spec: &AttachSpec) -> bool {
    let port_as_asked = |asked: &PortMapping, got: &PortMapping| {
        PortMapping { host_port: got.host_port, ..*asked } == *got
            && (asked.host_port == 0 || asked.host_port == got.host_port)
    };
    a.netns == spec.netns
        && a.name == spec.name
        && a.aliases == spec.aliases
        && a.hostname == spec.hostname
        && a.add_hosts == spec.add_hosts
        && a.hosts_file == spec.hosts_file
        && spec.ip.is_none_or(|ip| ip == a.ip)
        && spec.ifname.as_ref().is_none_or(|n| *n == a.ifname)
        && a.ports.len() == spec.ports.len()
        && spec.ports.iter().zip(&a.ports).all(|(asked, got)| port_as_asked(asked, got))
}

/// Steps 3 and 4 of the module docs. `any_ifname`: the interface was not
/// named, so eth0 taken (a second network) means the next free ethN.
fn wire(store: &Store, net: &Network, record: &mut Attachment, any_ifname: bool) -> Result<()> {
    if record.made_netns {
        // A file left by a reboot is not a namespace: it goes first.
        netns::remove(&record.netns)?;
        netns::add(&record.netns)?;
    }
    let ns = netns::open(&record.netns)?;
    timing::step("netns");
    let mut host = Netlink::open()?;
    let bridge = network::ensure_bridge(store, &mut host, net)?;
    let mut inside = Netlink::open_in(ns.as_fd())?;
    timing::step("sockets");
    if inside.link(&record.ifname)?.is_some() {
        if !any_ifname {
            return Err(Error::invalid(
                "--ifname",
                record.ifname.clone(),
                "the namespace has an interface of that name",
            ));
        }
        record.ifname = (1..)
            .map(|n| format!("eth{n}"))
            .find(|n| inside.link(n).ok().flatten().is_none())
            .expect("some ethN is free");
        store.save_attachment(&net.name, record)?;
    }
    let mac = mac_of(record.ip);
    match host.add_veth(&record.host_veth, bridge, &record.ifname, mac, ns.as_fd()) {
        // The pair of this ID's last attachment, deleted in the background
        // (see detach) and not gone yet: ours, and done with.
        Err(e) if e.errno() == Some(Errno::EEXIST) => {
            host.delete_link(&record.host_veth)?;
            host.add_veth(&record.host_veth, bridge, &record.ifname, mac, ns.as_fd())?;
        }
        other => other?,
    }
    let veth = host.existing_link(&record.host_veth)?;
    host.set_up_hairpin(veth.index, &record.host_veth, &store.host_names().link_alias)?;
    timing::step("veth");
    if let Some(lo) = inside.link("lo")? {
        inside.set_up(lo.index, "lo", None)?;
    }
    let eth = inside.existing_link(&record.ifname)?;
    inside.add_address(
        eth.index,
        Ipv4Net::new(record.ip, net.prefix()).expect("the subnet's prefix"),
        &record.ifname,
    )?;
    // A route through eth0 needs eth0 up first (ENETUNREACH otherwise).
    inside.set_up(eth.index, &record.ifname, None)?;
    match inside.add_default_route(net.gateway) {
        // A second network: the first one's default route stays.
        Err(e) if e.errno() == Some(Errno::EEXIST) => {}
        other => other?,
    }
    timing::step("address+route");
    publish(store, record)?;
    timing::step("rules");
    Ok(())
}

/// Adds `record`'s ports. If our table is missing (a reboot, someone's
/// `nft flush ruleset`), it is rebuilt from the records, this one
/// included: looked for when there are no ports to add, found missing by
/// the kernel (ENOENT) when there are.
fn publish(store: &Store, record: &Attachment) -> Result<()> {
    let table = &store.host_names().table;
    let changes = firewall::add_ports(record);
    let present = match changes.is_empty() {
        true => nfnetlink::table_exists(table),
        false => nfnetlink::commit(table, &changes).map(|()| true),
    };
    match present {
        Ok(true) => Ok(()),
        Ok(false) | Err(Errno::ENOENT) => network::rebuild_firewall(store),
        Err(e) => Err(firewall_refused(table, e)),
    }
}

fn firewall_refused(table: &str, errno: Errno) -> Error {
    Error::Firewall { table: format!("ip {table}"), why: format!("the kernel refused: {errno}") }
}

/// What `attach` would refuse before it changes anything: bad names, no
/// such network (but the default, made on first use), an address outside
/// its subnet, a port another container publishes or a host process has
/// bound. Reads only; a caller (dockerish run) asks before it records a
/// container, and attach asks again under the lock.
pub fn check(root: &std::path::Path, spec: &AttachSpec) -> Result<()> {
    validate(spec)?;
    let store = Store::at(root);
    match store.network(&spec.network) {
        Ok(net) => {
            if let Some(ip) = spec.ip {
                ipam::check_usable(&net, ip)?;
            }
            choose_ports(&store, &net.name, spec).map(drop)
        }
        Err(Error::NoSuchNetwork(_)) if spec.network == network::DEFAULT => {
            choose_ports(&store, network::DEFAULT, spec).map(drop)
        }
        Err(e) => Err(e),
    }
}

/// `-p` mappings with their host ports chosen, none clashing with another
/// attachment's (another container's, or this one's on another network),
/// none a host process has bound.
fn choose_ports(store: &Store, network: &str, spec: &AttachSpec) -> Result<Vec<PortMapping>> {
    let others: Vec<(Attachment, PortMapping)> = store
        .all_attachments()?
        .into_iter()
        .filter(|(n, a)| !(a.id == spec.id && n.name == network))
        .flat_map(|(_, a)| a.ports.clone().into_iter().map(move |p| (a.clone(), p)))
        .collect();
    let taken = |p: &PortMapping, chosen: &[PortMapping]| {
        others.iter().any(|(_, o)| o.clashes(p)) || chosen.iter().any(|c| c.clashes(p))
    };
    let mut chosen: Vec<PortMapping> = Vec::new();
    for mut p in spec.ports.iter().copied() {
        if p.host_port == 0 {
            p.host_port = free_port(&p, |candidate| taken(candidate, &chosen))?;
        }
        let shown = format!(
            "{}:{}/{}",
            p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            p.host_port,
            p.proto.name()
        );
        if let Some((a, _)) = others.iter().find(|(_, o)| o.clashes(&p)) {
            return Err(Error::PortPublished {
                port: shown,
                by: a.name.clone().unwrap_or_else(|| a.id.clone()),
            });
        }
        if chosen.iter().any(|c| c.clashes(&p)) {
            return Err(Error::invalid("port", shown, "published twice"));
        }
        match try_bind(&p) {
            Ok(_) => {}
            Err(Errno::EADDRNOTAVAIL) => {
                let why = "not an address of this host";
                return Err(Error::invalid("host address", shown, why));
            }
            Err(e) => return Err(Error::PortInUse { port: shown, why: e.desc().into() }),
        }
        chosen.push(p);
    }
    Ok(chosen)
}

/// Whether a host process could have `p`'s port: bind(2) tells (for TCP
/// with SO_REUSEADDR, so that a connection in TIME_WAIT does not count; UDP
/// has none, and there the option would let a bind share a port that a
/// service holds with it too).
fn try_bind(p: &PortMapping) -> nix::Result<u16> {
    use nix::sys::socket::{
        bind, getsockname, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType,
        SockaddrIn,
    };
    let kind = match p.proto {
        crate::ports::Proto::Tcp => SockType::Stream,
        crate::ports::Proto::Udp => SockType::Datagram,
    };
    let sock = socket(AddressFamily::Inet, kind, SockFlag::SOCK_CLOEXEC, None)?;
    if kind == SockType::Stream {
        setsockopt(&sock, sockopt::ReuseAddr, &true)?;
    }
    let ip = p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
    bind(sock.as_raw_fd(), &SockaddrIn::from(std::net::SocketAddrV4::new(ip, p.host_port)))?;
    Ok(getsockname::<SockaddrIn>(sock.as_raw_fd())?.port())
}

/// A host port nobody has: one the kernel gives a bind to port 0, and
/// that no container publishes (DNAT binds nothing, so the kernel cannot
/// know those).
fn free_port(p: &PortMapping, taken: impl Fn(&PortMapping) -> bool) -> Result<u16> {
    for _ in 0..64 {
        let port = try_bind(&PortMapping { host_port: 0, ..*p })
            .map_err(|e| Error::sys("find", "a free host port", e))?;
        if !taken(&PortMapping { host_port: port, ..*p }) {
            return Ok(port);
        }
    }
    Err(Error::invalid("port", "any", "no free host port found in 64 tries"))
}

/// Detaches container `id` from `network`, or from every network; what is
/// not attached is fine (detach is idempotent). Returns the records undone.
pub fn detach(store: &Store, network: Option<&str>, id: &str) -> Result<Vec<Attachment>> {
    check_id(id)?;
    let _lock = store.lock()?;
    timing::step("lock");
    let targets: Vec<(Network, Attachment)> = match network {
        Some(name) => {
            let net = store.network(name)?;
            store.attachment(&net.name, id)?.into_iter().map(|a| (net.clone(), a)).collect()
        }
        None => store.all_attachments()?.into_iter().filter(|(_, a)| a.id == id).collect(),
    };
    for (net, a) in &targets {
        detach_locked(store, net, a)?;
    }
    refresh_peers(store, &targets);
    timing::step("hosts");
    Ok(targets.into_iter().map(|(_, a)| a).collect())
}

/// Undoes `a` (see the module docs); the caller holds the lock.
pub(crate) fn detach_locked(store: &Store, net: &Network, a: &Attachment) -> Result<()> {
    // The namespace file goes with the last attachment that uses it (a
    // container on two networks has one namespace): an earlier one hands
    // it on.
    let mut others = store.all_attachments()?;
    others.retain(|(n, o)| !(n.name == net.name && o.id == a.id));
    let heir = others.iter().find(|(_, o)| o.netns == a.netns).cloned();
    let releases_netns = a.made_netns && heir.is_none();
    if let (true, Some((n, o))) = (a.made_netns, heir) {
        store.save_attachment(&n.name, &Attachment { made_netns: true, ..o })?;
    }
    // Deleting a link makes the caller wait for the kernel to let go of it
    // (8–30 ms here). When the container has ended (its namespace, ours,
    // is released below), no one needs that wait: a child process deletes
    // the veth ([`crate::later`]), and an attach of the same ID before it
    // is done deletes the pair itself (EEXIST in `wire`).
    if releases_netns {
        Netlink::open()?.delete_link_in_background(&a.host_veth);
    } else {
        Netlink::open()?.delete_link(&a.host_veth)?;
    }
    timing::step("veth");
    let table = &store.host_names().table;
    match nfnetlink::commit(table, &firewall::remove_ports(a, others.iter().map(|(_, o)| o))) {
        Ok(()) => {}
        // Our table is not there: make it so, from the records without `a`.
        Err(Errno::ENOENT) => firewall::rebuild(table, &store.networks()?, &others)?,
        Err(e) => return Err(firewall_refused(table, e)),
    }
    timing::step("rules");
    ipam::release(&store.network_dir(&net.name).join("ipam"), a.ip, &a.id)?;
    timing::step("ipam");
    if releases_netns {
        netns::remove(&a.netns)?;
    }
    timing::step("netns");
    store.remove_attachment(&net.name, &a.id)?;
    timing::step("record");
    Ok(())
}

/// Rewrites the /etc/hosts of `me` and of every container on `networks`
/// (those it joined) that has names.
fn refresh_hosts(store: &Store, me: &Attachment, networks: &[String]) -> Result<()> {
    let all = store.all_attachments()?;
    // `me` is in the records from the start, complete or not.
    let mine: Vec<(Network, Attachment)> =
        all.iter().filter(|(_, a)| a.id == me.id).cloned().collect();
    if let Some(file) = &me.hosts_file {
        hosts::write(file, &hosts::render(&mine, &all))?;
    }
    refresh(&all, |n, a| a.id != me.id && n.names && networks.contains(&n.name));
    Ok(())
}

/// After a detach: the /etc/hosts of every container that shared a network
/// with names with what was detached.
fn refresh_peers(store: &Store, left: &[(Network, Attachment)]) {
    let Ok(all) = store.all_attachments() else { return };
    refresh(&all, |n, _| n.names && left.iter().any(|(l, _)| l.name == n.name));
}

/// Rewrites, in place, the hosts file of each container one of whose
/// attachments `affected` picks. Best effort: a peer's file that cannot be
/// written (its container is going away) is no failure of ours.
fn refresh(all: &[(Network, Attachment)], affected: impl Fn(&Network, &Attachment) -> bool) {
    let mut ids: Vec<&str> =
        all.iter().filter(|(n, a)| affected(n, a)).map(|(_, a)| a.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let theirs: Vec<(Network, Attachment)> =
            all.iter().filter(|(_, a)| a.id == id).cloned().collect();
        if let Some(file) = theirs.iter().find_map(|(_, a)| a.hosts_file.as_ref()) {
            let _ = hosts::write_in_place(file, &hosts::render(&theirs, all));
        }
    }
}

/// `gc`: detaches every attachment whose namespace is gone, whose owner
/// has exited and left no process in it, or that a killed attach left
/// incomplete (attach holds the lock throughout, so one that gc sees is
/// dead); removes the veths and bridges tagged with this root (their
/// alias, see [`crate::store::HostNames`]) that no record names, addresses
/// no attachment holds, stale namespace files; and rebuilds the firewall
/// table. Safe at any time: a live attachment's objects are all named by
/// its record.
pub fn gc(store: &Store) -> Result<Vec<String>> {
    let _lock = store.lock()?;
    let mut done = Vec::new();
    let mut detached = Vec::new();
    for (net, a) in store.all_attachments()? {
        // An owner gone is not enough: a container whose supervisor was
        // killed still runs, its processes in the namespace.
        let owner_gone = a.owner.is_some_and(|o| !o.alive()) && !netns::has_processes(&a.netns);
        if !a.complete || owner_gone || !netns::is_live(&a.netns) {
            detach_locked(store, &net, &a)?;
            done.push(format!("detached {} from {}", a.id, net.name));
            detached.push((net, a));
        }
    }
    refresh_peers(store, &detached);
    let networks = store.networks()?;
    let records = store.all_attachments()?;
    let mut nl = Netlink::open()?;
    for link in nl.links()? {
        // Ours: tagged with this root (another root's are its own business).
        let ours = link.alias.as_deref() == Some(store.host_names().link_alias.as_str());
        let named = records.iter().any(|(_, a)| a.host_veth == link.name)
            || networks.iter().any(|n| n.bridge == link.name);
        if ours && !named {
            nl.delete_link(&link.name)?;
            done.push(format!("deleted link {}", link.name));
        }
    }
    for net in &networks {
        let dir = store.network_dir(&net.name).join("ipam");
        for (ip, holder) in ipam::allocations(&dir)? {
            if !records.iter().any(|(n, a)| n.name == net.name && a.id == holder) {
                ipam::release(&dir, ip, &holder)?;
                done.push(format!("released {ip} in {}", net.name));
            }
        }
    }
    let netns_dir = store.root().join("netns");
    for (name, live) in netns::list(&netns_dir)? {
        if !live {
            netns::remove(&netns_dir.join(&name))?;
            done.push(format!("removed stale namespace file {name}"));
        }
    }
    network::rebuild_firewall(store)?;
    Ok(done)
}

/// What `attach` prints: where the container is on the network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attached {
    pub network: String,
    pub interface: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
    pub ports: Vec<PortMapping>,
    pub host_veth: String,
    pub netns: PathBuf,
}

impl Attached {
    pub fn new(net: &Network, a: &Attachment) -> Attached {
        Attached {
            network: net.name.clone(),
            interface: a.ifname.clone(),
            ip: a.ip,
            prefix: net.prefix(),
            gateway: net.gateway,
            mac: a.mac.clone(),
            ports: a.ports.clone(),
            host_veth: a.host_veth.clone(),
            netns: a.netns.clone(),
        }
    }
}
