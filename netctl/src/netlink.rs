//! Links, addresses and routes over rtnetlink (rtnetlink(7), netlink(7)).
//!
//! `ip link add`, `ip addr add` and `ip route add` are messages on a
//! NETLINK_ROUTE socket: a request (RTM_NEWLINK, RTM_NEWADDR, …) and an
//! answer, an ACK or an errno. The messages are built with the
//! `netlink-packet-route` crate; the socket is a plain blocking one, since
//! a setup command sends a handful of requests one after the other and an
//! async runtime would only add to its start-up time.
//!
//! **Which network namespace.** A netlink socket talks to the namespace of
//! the thread that created it, for as long as it lives. So a socket for a
//! container's namespace is made in a short-lived thread that setns(2)es
//! there first ([`Netlink::open_in`]); the process itself never moves.
//!
//! **A veth whose peer is born in the container.** RTM_NEWLINK of kind
//! veth takes the peer's own link message, and a peer given
//! IFLA_NET_NS_FD is created directly in that namespace: no second step
//! moving it there (which costs a namespace change of the device and its
//! sysfs entries, ~18 ms here against ~2 ms).

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use ipnet::Ipv4Net;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;

use crate::error::{Error, Result, ToolError};

/// A link as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// Its alias (IFLA_IFALIAS): the state root's tag, on links of ours.
    pub alias: Option<String>,
}

/// A NETLINK_ROUTE socket in one network namespace.
pub struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    /// A socket in our own network namespace.
    pub fn open() -> Result<Netlink> {
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(Error::io("open", "a netlink socket"))?;
        socket.bind_auto().map_err(Error::io("bind", "a netlink socket"))?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(Error::io("connect", "a netlink socket"))?;
        Ok(Netlink { socket, seq: 0 })
    }

    /// A socket in the network namespace `netns` refers to (see the module
    /// docs: made in a thread that enters it; we stay where we are).
    pub fn open_in(netns: BorrowedFd<'_>) -> Result<Netlink> {
        let fd =
            netns.try_clone_to_owned().map_err(Error::io("duplicate", "a netns descriptor"))?;
        std::thread::spawn(move || {
            nix::sched::setns(fd.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::sys("enter", "the container's network namespace", e))?;
            Netlink::open()
        })
        .join()
        .expect("the netlink thread does not panic")
    }

    /// Sends `message` and collects the answers until the kernel's ACK (or
    /// the end of a dump); an error answer is the errno it carries.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        what: &'static str,
        target: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq += 1;
        // Always ask for the ACK: a plain GET is otherwise answered by its
        // reply alone, and we could not tell when the answer is complete.
        let buf = packet(message, NLM_F_REQUEST | NLM_F_ACK | flags, self.seq);
        self.socket.send(&buf, 0).map_err(Error::io("send a netlink request to", "the kernel"))?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut answers = Vec::new();
        loop {
            let (data, _) =
                self.socket.recv_from_full().map_err(Error::io("receive", "a netlink answer"))?;
            let mut at = 0;
            while at < data.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[at..])
                    .map_err(|e| Error::invalid("netlink answer", target, e.to_string()))?;
                at += reply.header.length as usize;
                if reply.header.sequence_number != self.seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(e) => match e.code {
                        Some(code) => {
                            return Err(Error::sys(what, target, Errno::from_raw(-code.get())))
                        }
                        None if !dump => return Ok(answers),
                        None => {}
                    },
                    NetlinkPayload::Done(_) => return Ok(answers),
                    NetlinkPayload::InnerMessage(m) => answers.push(m),
                    _ => {}
                }
                if reply.header.length == 0 {
                    break;
                }
            }
        }
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        let answers = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
            "list",
            "links",
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link_of(&link)),
                _ => None,
            })
            .collect())
    }

    /// The link named `name`, if there is one.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.into()));
        match self.request(RouteNetlinkMessage::GetLink(msg), 0, "look up link", name) {
            Ok(answers) => Ok(answers.iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link_of(link)),
                _ => None,
            })),
            Err(Error::Common(tool_cli::Error::Sys(s))) if s.source == Errno::ENODEV => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The link named `name`, which must be there (one just made).
    pub fn existing_link(&mut self, name: &str) -> Result<Link> {
        self.link(name)?.ok_or_else(|| Error::invalid("link", name, "not there after its creation"))
    }

    /// `ip link add NAME type bridge`.
    pub fn add_bridge(&mut self, name: &str) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.into()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            "create bridge",
            name,
        )?;
        Ok(())
    }

    /// `ip link add HOST type veth peer name PEER netns NETNS`, the host end
    /// a port of bridge `master`: one request makes the pair, the peer in
    /// the container's namespace, the host end already in the bridge.
    /// `peer_mac` is the container's MAC address.
    pub fn add_veth(
        &mut self,
        host: &str,
        master: u32,
        peer: &str,
        peer_mac: [u8; 6],
        peer_netns: BorrowedFd<'_>,
    ) -> Result<()> {
        let mut peer_msg = LinkMessage::default();
        peer_msg.attributes.push(LinkAttribute::IfName(peer.into()));
        peer_msg.attributes.push(LinkAttribute::Address(peer_mac.to_vec()));
        peer_msg.attributes.push(LinkAttribute::NetNsFd(peer_netns.as_raw_fd()));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(host.into()));
        msg.attributes.push(LinkAttribute::Controller(master));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            "create veth pair",
            host,
        )?;
        Ok(())
    }

    /// `ip link set dev INDEX up` (and `alias ALIAS`, the tag of what we
    /// make: the kernel takes an alias on a change, not on a creation).
    pub fn set_up(&mut self, index: u32, name: &str, alias: Option<&str>) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.extend(alias.map(|a| LinkAttribute::IfAlias(a.into())));
        self.request(RouteNetlinkMessage::SetLink(msg), 0, "bring up", name)?;
        Ok(())
    }

    /// `ip link set dev INDEX type bridge_slave hairpin on alias ALIAS up`:
    /// a port of a bridge that may send a frame back out the port it came
    /// in by. A container reaching its own published port needs it where
    /// br_netfilter is loaded: the DNAT back to the container's own address
    /// is then bridged, not routed, and goes out the port it came from.
    pub fn set_up_hairpin(&mut self, index: u32, name: &str, alias: &str) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.push(LinkAttribute::IfAlias(alias.into()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(true)])),
        ]));
        self.request(RouteNetlinkMessage::NewLink(msg), 0, "bring up (hairpin)", name)?;
        Ok(())
    }

    /// `ip link del NAME`; one that does not exist is already gone.
    pub fn delete_link(&mut self, name: &str) -> Result<()> {
        match self.request(delete_link_message(name), 0, "delete link", name) {
            Err(e) if e.errno() == Some(Errno::ENODEV) => Ok(()),
            other => other.map(drop),
        }
    }

    /// `ip link del NAME`, sent from a child process that waits for the
    /// kernel in our stead ([`crate::later`]), with the socket; the request
    /// is built here, before the fork. A link already gone is fine (the
    /// kernel's answer goes unread).
    pub fn delete_link_in_background(self, name: &str) {
        crate::later::send(self.socket, packet(delete_link_message(name), NLM_F_REQUEST, 1));
    }

    /// `ip addr add ADDRESS/PREFIX dev INDEX`.
    pub fn add_address(&mut self, index: u32, net: Ipv4Net, name: &str) -> Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = net.prefix_len();
        msg.header.index = index;
        let ip = IpAddr::V4(net.addr());
        msg.attributes.push(AddressAttribute::Local(ip));
        msg.attributes.push(AddressAttribute::Address(ip));
        msg.attributes.push(AddressAttribute::Broadcast(net.broadcast()));
        let target = format!("{net} on {name}");
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            "add address",
            &target,
        )?;
        Ok(())
    }

    /// `ip route add default via GATEWAY`.
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<()> {
        let mut msg = RouteMessage::default();
        msg.header = RouteHeader {
            address_family: AddressFamily::Inet,
            table: RouteHeader::RT_TABLE_MAIN,
            protocol: RouteProtocol::Boot,
            scope: RouteScope::Universe,
            kind: RouteType::Unicast,
            ..RouteHeader::default()
        };
        msg.attributes.push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        let target = format!("default via {gateway}");
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            "add route",
            &target,
        )?;
        Ok(())
    }

    /// The IPv4 destinations of the main routing table other than the
    /// default route: what a new network's subnet must not overlap.
    pub fn routes(&mut self) -> Result<Vec<Ipv4Net>> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        let answers =
            self.request(RouteNetlinkMessage::GetRoute(msg), NLM_F_DUMP, "list", "routes")?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r)
                    if r.header.table == RouteHeader::RT_TABLE_MAIN =>
                {
                    let dst = r.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
                        _ => None,
                    })?;
                    Ipv4Net::new(dst, r.header.destination_prefix_length)
                        .ok()
                        .filter(|n| n.prefix_len() > 0)
                }
                _ => None,
            })
            .collect())
    }
}

fn link_of(msg: &LinkMessage) -> Link {
    let mut link =
        Link { index: msg.header.index, name: String::new(), mac: String::new(), alias: None };
    for a in &msg.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(mac) => link.mac = format_mac(mac),
            LinkAttribute::IfAlias(a) => link.alias = Some(a.clone()),
            _ => {}
        }
    }
    link
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(bytes: impl AsRef<[u8]>) -> String {
    bytes.as_ref().iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// One rtnetlink request in its wire form.
fn packet(message: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
    packet.finalize();
    let mut buf = vec![0; packet.buffer_len()];
    packet.serialize(&mut buf);
    buf
}

fn delete_link_message(name: &str) -> RouteNetlinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.into()));
    RouteNetlinkMessage::DelLink(msg)
}
