//! # netctl: container networking, by hand
//!
//! A container gets a network the way a LAN gets a host: a cable and an
//! address. In Linux terms (and the order `netctl attach` makes them):
//!
//! ```text
//! ip netns add c1                                       a network namespace (netns)
//! ip link add br0 type bridge; ip addr add 10.88.0.1/16 dev br0; ip link set br0 up
//! ip link add dk1 type veth peer name eth0 netns c1     the cable: one end in each
//! ip link set dk1 master br0 up                         plugged into the switch
//! ip -n c1 addr add 10.88.0.2/16 dev eth0; ip -n c1 link set eth0 up
//! ip -n c1 route add default via 10.88.0.1              the bridge is its router
//! nft add element … dnat_any { tcp . 8080 : 10.88.0.2 . 80 }   -p 8080:80 (sent as nfnetlink)
//! ```
//!
//! netctl does each step over netlink ([`netlink`]; no `ip` is run), keeps
//! what it did in records under the state root ([`store`]), hands out
//! addresses ([`ipam`]), publishes ports with one nftables table of its own
//! ([`firewall`], its elements sent over [`nfnetlink`]), keeps names in each container's /etc/hosts ([`hosts`]),
//! and can undo all of it from the records alone: `detach` after a crash,
//! `gc` after a reboot. It is also a CNI plugin ([`cni`]).
//!
//! See ip-link(8), ip-netns(8), veth(4), bridge(8), nft(8), and the CNI
//! specification (github.com/containernetworking/cni, SPEC.md).

pub mod attach;
pub mod cni;
pub mod error;
pub mod firewall;
pub mod hosts;
pub mod ipam;
pub mod later;
pub mod netlink;
pub mod netns;
pub mod network;
pub mod nfnetlink;
pub mod ports;
pub mod store;
pub mod timing;

pub use attach::{attach, detach, gc, AttachSpec};
pub use error::{Error, Result, ToolError};
pub use network::{create, NetworkSpec};
pub use ports::PortMapping;
pub use store::{Attachment, Network, Store};
