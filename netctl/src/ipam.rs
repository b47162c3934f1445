//! IP address management: which addresses of a subnet are handed out.
//!
//! CNI's host-local plugin is the model: one file per allocated address,
//! `ipam/10.88.0.5`, created with O_EXCL (so two allocators can never both
//! get it) and holding its owner's ID, plus `ipam/last_reserved` so that
//! addresses are handed out round robin (a released address is not reused
//! at once, while packets for its last owner may still be in flight). The
//! network address, the gateway and the broadcast address are never given.
//! The caller holds the store lock.

use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;

use crate::error::{Error, Result, ToolError};
use crate::store::Network;

/// The owner of `ip` in `dir`, if it is allocated.
pub fn owner(dir: &Path, ip: Ipv4Addr) -> Option<String> {
    fs::read_to_string(dir.join(ip.to_string())).ok().map(|s| s.trim().to_string())
}

/// Allocates an address of `net` for `id`: `requested`, or the next free
/// one after the last handed out. The address `id` already holds, if any,
/// is its (attach is idempotent: a container restarted keeps its address).
pub fn allocate(
    dir: &Path,
    net: &Network,
    id: &str,
    requested: Option<Ipv4Addr>,
) -> Result<Ipv4Addr> {
    if let Some(ip) = held_by(dir, id)? {
        if requested.is_none_or(|r| r == ip) {
            return Ok(ip);
        }
        release(dir, ip, id)?;
    }
    if let Some(ip) = requested {
        check_usable(net, ip)?;
        return match claim(dir, ip, id)? {
            true => Ok(ip),
            false => Err(Error::AddressTaken {
                ip: ip.to_string(),
                network: net.name.clone(),
                by: owner(dir, ip).unwrap_or_default(),
            }),
        };
    }
    let first = u32::from(net.subnet.network()) + 1;
    let last = u32::from(net.subnet.broadcast()) - 1;
    let after = fs::read_to_string(dir.join("last_reserved"))
        .ok()
        .and_then(|s| s.trim().parse::<Ipv4Addr>().ok())
        .map(u32::from)
        .filter(|a| (first..=last).contains(a))
        .unwrap_or(last);
    let count = last.saturating_sub(first) + 1;
    for step in 1..=count {
        let candidate = Ipv4Addr::from(first + (after - first + step) % count);
        if candidate == net.gateway {
            continue;
        }
        if claim(dir, candidate, id)? {
            let _ = fs::write(dir.join("last_reserved"), candidate.to_string());
            return Ok(candidate);
        }
    }
    Err(Error::SubnetFull { network: net.name.clone(), subnet: net.subnet.to_string() })
}

/// Refuses an address outside the subnet, or one that is not a host's.
pub fn check_usable(net: &Network, ip: Ipv4Addr) -> Result<()> {
    let why = if !net.subnet.contains(&ip) {
        format!("not in the subnet {} of network {}", net.subnet, net.name)
    } else if ip == net.subnet.network() || ip == net.subnet.broadcast() {
        format!("the network or broadcast address of {}", net.subnet)
    } else if ip == net.gateway {
        format!("the gateway of network {}", net.name)
    } else {
        return Ok(());
    };
    Err(Error::invalid("--ip", ip.to_string(), why))
}

/// Creates `dir/IP` exclusively; false if someone holds it.
fn claim(dir: &Path, ip: Ipv4Addr, id: &str) -> Result<bool> {
    let path = dir.join(ip.to_string());
    match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut f) => {
            f.write_all(id.as_bytes()).map_err(Error::io("write", &path))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io("allocate", &path)(e)),
    }
}

/// The address `id` holds in `dir`.
pub fn held_by(dir: &Path, id: &str) -> Result<Option<Ipv4Addr>> {
    Ok(allocations(dir)?.into_iter().find(|(_, owner)| owner == id).map(|(ip, _)| ip))
}

/// Every allocation: (address, owner).
pub fn allocations(dir: &Path) -> Result<Vec<(Ipv4Addr, String)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io("list", dir))?.flatten() {
        if let Ok(ip) = entry.file_name().to_string_lossy().parse::<Ipv4Addr>() {
            out.push((ip, fs::read_to_string(entry.path()).unwrap_or_default().trim().to_string()));
        }
    }
    Ok(out)
}

/// Releases `ip` if `id` holds it (someone else's stays theirs).
pub fn release(dir: &Path, ip: Ipv4Addr, id: &str) -> Result<()> {
    if owner(dir, ip).as_deref() == Some(id) {
        let path = dir.join(ip.to_string());
        fs::remove_file(&path)
            .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
            .map_err(Error::io("release", &path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(cidr: &str, gw: &str) -> Network {
        Network {
            name: "t".into(),
            id: "0".repeat(64),
            subnet: cidr.parse().unwrap(),
            gateway: gw.parse().unwrap(),
            bridge: "dkbrtest".into(),
            internal: false,
            names: true,
            created: 0,
        }
    }

    #[test]
    fn a_slash_29_holds_five_containers_and_then_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let n = net("10.9.0.0/29", "10.9.0.1");
        let got: Vec<Ipv4Addr> =
            (0..5).map(|i| allocate(dir.path(), &n, &format!("c{i}"), None).unwrap()).collect();
        let mut sorted = got.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 5, "{got:?}");
        assert!(!got
            .iter()
            .any(|ip| ["10.9.0.0", "10.9.0.1", "10.9.0.7"].contains(&ip.to_string().as_str())));
        let err = allocate(dir.path(), &n, "c5", None).unwrap_err();
        assert!(matches!(err, Error::SubnetFull { .. }), "{err}");
        assert_eq!(
            allocate(dir.path(), &n, "c2", None).unwrap(),
            got[2],
            "the same owner keeps its address"
        );
        release(dir.path(), got[2], "someone-else").unwrap();
        assert_eq!(owner(dir.path(), got[2]).as_deref(), Some("c2"), "only the owner releases");
        release(dir.path(), got[2], "c2").unwrap();
        assert_eq!(allocate(dir.path(), &n, "c5", None).unwrap(), got[2]);
    }

    #[test]
    fn requested_addresses_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let n = net("10.9.0.0/24", "10.9.0.1");
        assert_eq!(
            allocate(dir.path(), &n, "a", Some("10.9.0.50".parse().unwrap())).unwrap().to_string(),
            "10.9.0.50"
        );
        assert!(matches!(
            allocate(dir.path(), &n, "b", Some("10.9.0.50".parse().unwrap())),
            Err(Error::AddressTaken { .. })
        ));
        for bad in ["10.9.1.5", "10.9.0.0", "10.9.0.255", "10.9.0.1"] {
            assert!(allocate(dir.path(), &n, "b", Some(bad.parse().unwrap())).is_err(), "{bad}");
        }
        assert_eq!(allocations(dir.path()).unwrap().len(), 1, "refusals allocate nothing");
    }
}
