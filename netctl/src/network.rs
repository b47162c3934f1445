//! Networks: `create`, `rm`, and the bridge each one is.
//!
//! A network is a bridge (a virtual switch, ip-link(8) `type bridge`) that
//! holds the gateway address of its subnet; containers are wired to it by
//! veth pairs. The host routes and forwards for them: IPv4 forwarding is
//! turned on (as Docker does), and `route_localnet` on the bridge lets the
//! host's own 127.0.0.1 traffic to a published port be routed there.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::error::{Error, Result, ToolError};
use crate::firewall;
use crate::netlink::Netlink;
use crate::store::{random_id, validate_name, Network, Store};

/// The network containers get when none is named (Docker's `bridge`),
/// made on first use, with no names: as Docker's default network.
pub const DEFAULT: &str = "bridge";
/// Where a network without `--subnet` gets one: the first /16 here that
/// overlaps no network and no route of the host.
const POOL: [&str; 6] = [
    "10.210.0.0/16",
    "10.211.0.0/16",
    "10.212.0.0/16",
    "10.213.0.0/16",
    "172.29.0.0/16",
    "172.30.0.0/16",
];

/// What `create` is asked for.
#[derive(Clone, Debug, Default)]
pub struct NetworkSpec {
    pub name: String,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    pub bridge: Option<String>,
    pub internal: bool,
    /// Whether containers find each other by name (default: yes, but for
    /// the default network).
    pub names: bool,
}

/// Creates a network; the caller holds the lock.
pub fn create(store: &Store, spec: &NetworkSpec) -> Result<Network> {
    validate_name(&spec.name)?;
    if store.network_named(&spec.name)?.is_some() {
        return Err(Error::NetworkExists(spec.name.clone()));
    }
    let mut nl = Netlink::open()?;
    let routes = nl.routes()?;
    let taken: Vec<(Ipv4Net, String)> = store
        .networks()?
        .into_iter()
        .map(|n| (n.subnet, format!("network {}", n.name)))
        .chain(routes.into_iter().map(|r| (r, format!("a route of the host ({r})"))))
        .collect();
    let subnet = match spec.subnet {
        Some(s) => {
            check_subnet(s)?;
            if let Some((_, with)) = taken.iter().find(|(t, _)| overlaps(*t, s)) {
                return Err(Error::Overlap { subnet: s.to_string(), with: with.clone() });
            }
            s
        }
        None => POOL
            .iter()
            .map(|p| p.parse::<Ipv4Net>().expect("the pool is valid"))
            .find(|p| !taken.iter().any(|(t, _)| overlaps(*t, *p)))
            .ok_or_else(|| Error::Overlap {
                subnet: POOL.join(", "),
                with: "existing networks or routes: give --subnet".into(),
            })?,
    };
    let gateway =
        spec.gateway.unwrap_or_else(|| subnet.hosts().next().expect("a /30 or larger has hosts"));
    if !subnet.contains(&gateway) || gateway == subnet.network() || gateway == subnet.broadcast() {
        return Err(Error::invalid(
            "--gateway",
            gateway.to_string(),
            format!("not a host address of {subnet}"),
        ));
    }
    let id = random_id()?;
    let bridge = spec.bridge.clone().unwrap_or_else(|| format!("dkbr{}", &id[..8]));
    check_ifname("--bridge", &bridge)?;
    if nl.link(&bridge)?.is_some() {
        return Err(Error::invalid("--bridge", bridge, "a link of that name exists already"));
    }
    let net = Network {
        name: spec.name.clone(),
        id,
        subnet,
        gateway,
        bridge,
        internal: spec.internal,
        names: spec.names,
        created: tool_cli::human::now(),
    };
    // The record first: a create killed half-way leaves one that rm removes.
    store.save_network(&net)?;
    if let Err(e) = ensure_bridge(store, &mut nl, &net).and_then(|_| rebuild_firewall(store)) {
        let _ = nl.delete_link(&net.bridge);
        let _ = store.remove_network(&net.name);
        let _ = rebuild_firewall(store);
        return Err(e);
    }
    Ok(net)
}

/// The default network, made if missing.
pub fn default_network(store: &Store) -> Result<Network> {
    match store.network(DEFAULT) {
        Ok(net) => Ok(net),
        Err(Error::NoSuchNetwork(_)) => create(
            store,
            &NetworkSpec {
                name: DEFAULT.into(),
                bridge: store.host_names().default_bridge.clone(),
                names: false,
                ..NetworkSpec::default()
            },
        ),
        Err(e) => Err(e),
    }
}

/// Makes the bridge of `net` whole: made if missing (a new network, or the
/// first use after a reboot), with the gateway address, tagged, up, its
/// sysctls set. Each step is done again if it is already done, so a bridge
/// that a killed create left half made is mended here.
pub fn ensure_bridge(store: &Store, nl: &mut Netlink, net: &Network) -> Result<u32> {
    if nl.link(&net.bridge)?.is_none() {
        nl.add_bridge(&net.bridge)?;
    }
    let link = nl.existing_link(&net.bridge)?;
    let gateway = Ipv4Net::new(net.gateway, net.prefix()).expect("a prefix of the subnet");
    match nl.add_address(link.index, gateway, &net.bridge) {
        Err(e) if e.errno() == Some(nix::errno::Errno::EEXIST) => {}
        other => other?,
    }
    nl.set_up(link.index, &net.bridge, Some(&store.host_names().link_alias))?;
    sysctl(&format!("net/ipv4/conf/{}/route_localnet", net.bridge), "1")?;
    if !net.internal {
        sysctl("net/ipv4/ip_forward", "1")?;
    }
    Ok(link.index)
}

/// Removes a network without attachments; the caller holds the lock.
pub fn remove(store: &Store, key: &str) -> Result<Network> {
    let net = store.network(key)?;
    let attached = store.attachments(&net.name)?;
    if !attached.is_empty() {
        let names: Vec<String> = attached
            .iter()
            .map(|a| a.name.clone().unwrap_or_else(|| a.id[..12.min(a.id.len())].to_string()))
            .collect();
        return Err(Error::NetworkInUse { name: net.name, containers: names.join(", ") });
    }
    Netlink::open()?.delete_link(&net.bridge)?;
    store.remove_network(&net.name)?;
    rebuild_firewall(store)?;
    Ok(net)
}

/// The firewall table from the records (or none, with no network left).
pub fn rebuild_firewall(store: &Store) -> Result<()> {
    let (networks, table) = (store.networks()?, &store.host_names().table);
    if networks.is_empty() {
        return firewall::remove_table(table);
    }
    firewall::rebuild(table, &networks, &store.all_attachments()?)
}

/// A subnet must be a network address with room for a gateway and hosts.
fn check_subnet(s: Ipv4Net) -> Result<()> {
    if s.prefix_len() > 30 {
        return Err(Error::invalid(
            "--subnet",
            s.to_string(),
            "too small: /30 at most, for a gateway and a container",
        ));
    }
    if s.addr() != s.network() {
        return Err(Error::invalid(
            "--subnet",
            s.to_string(),
            format!("not a network address (did you mean {}?)", s.trunc()),
        ));
    }
    Ok(())
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// An interface name the kernel takes (dev_valid_name: 1 to 15 bytes, not
/// `.` or `..`, no `/`, `:` or white space), and that is safe in nft's
/// text: printable ASCII without quotes or backslashes.
pub fn check_ifname(what: &'static str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name.bytes().all(|b| b.is_ascii_graphic() && !b"/:\"\\".contains(&b))
        && name != "."
        && name != "..";
    match ok {
        true => Ok(()),
        false => Err(Error::invalid(
            what,
            name,
            "an interface name of 1 to 15 printable bytes, without '/', ':', quotes or spaces",
        )),
    }
}

/// Writes `value` to /proc/sys/PATH, for the network namespace we are in.
fn sysctl(path: &str, value: &str) -> Result<()> {
    let file = format!("/proc/sys/{path}");
    if std::fs::read_to_string(&file).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(&file, value).map_err(Error::io("write", &file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_network_addresses_with_room() {
        assert!(check_subnet("10.0.0.0/24".parse().unwrap()).is_ok());
        assert!(check_subnet("10.0.0.0/31".parse().unwrap()).is_err());
        let err = check_subnet("10.0.0.5/24".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("did you mean 10.0.0.0/24"), "{err}");
        assert!("10.0.0.0/33".parse::<Ipv4Net>().is_err(), "clap refuses it as it parses");
        let n = |s: &str| s.parse::<Ipv4Net>().unwrap();
        assert!(
            overlaps(n("10.0.0.0/16"), n("10.0.5.0/24"))
                && overlaps(n("10.0.5.0/24"), n("10.0.0.0/16"))
        );
        assert!(!overlaps(n("10.0.0.0/24"), n("10.0.1.0/24")));
    }

    #[test]
    fn interface_names_fit_the_kernel() {
        for bad in ["", "a/b", "sixteen-chars-xx", "a b", "a\tb", "a\"b", "a:b", ".."] {
            assert!(check_ifname("--bridge", bad).is_err(), "{bad:?}");
        }
        assert!(check_ifname("--bridge", "dockerish0").is_ok());
    }
}
