//! NAT and filtering with nftables (nft(8)), in one table of our own,
//! `ip dockerish`: every rule of the project is in it, `nft list table ip
//! dockerish` shows them, and nothing else on the host is touched. (Each
//! state root has its own table: `ip dockerish` is the default root's,
//! `netctl info` names another's.)
//!
//! ```text
//! raw_prerouting   drop packets to 127.0.0.0/8 that arrive on any interface but lo:
//!                  route_localnet (below) would otherwise let a container reach the
//!                  host's loopback-only services through its gateway (CVE-2020-8558),
//!                  and DNAT let the LAN reach a port published on 127.0.0.1 (moby
//!                  #41872). The replies of DNATed loopback traffic are addressed to
//!                  the gateway at this point (conntrack undoes the NAT later).
//! prerouting,      a packet to a local address (`fib daddr type local`: the host's own
//! output           addresses, 127.0.0.1 included, from outside and from the host itself)
//!                  and a published port is DNATed to the container: @dnat_addr for ports
//!                  published on one host address, @dnat_any for every address
//! postrouting      per network: masquerade what leaves the subnet by another interface;
//!                  on the bridge, masquerade what comes from 127.0.0.0/8 (the host's own
//!                  loopback, with route_localnet on the bridge) and what was DNATed from
//!                  the subnet itself (hairpin: a container reaching a published port)
//! forward          per network: nothing between two different networks; an internal one
//!                  forwards nothing off its bridge
//! ```
//!
//! **Two ways in.** The table (chains, maps) is nft text, loaded whole by
//! `nft -f -` ([`rebuild`]) when a network is created or removed, by `gc`,
//! and whenever the table is found missing (a reboot, someone's `nft flush
//! ruleset`): made from the records, so it cannot drift from them. A
//! container's ports are map elements, added and deleted by attach and
//! detach over nfnetlink ([`crate::nfnetlink`]), without the exec of nft.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::nfnetlink::{Element, Op};
use crate::ports::PortMapping;
use crate::store::{Attachment, Network};

/// The whole table named `table` (family `ip`; the state root's, see
/// [`crate::store::HostNames`]), for `networks` and their `attachments`:
/// the transaction that replaces any table of that name with it.
pub fn render(table: &str, networks: &[Network], attachments: &[(Network, Attachment)]) -> String {
    let mut t = String::new();
    // Create it if missing (no-op otherwise), so the delete cannot fail.
    let _ = writeln!(t, "table ip {table} {{}}\ndelete table ip {table}\ntable ip {table} {{");
    // Each host port once (records that disagree must not fail the load).
    let mut dnat: Vec<(bool, String, String)> = Vec::new();
    for (a, p) in attachments.iter().flat_map(|(_, a)| a.ports.iter().map(move |p| (a, p))) {
        let (key, value) = dnat_text(a, p);
        if !dnat.iter().any(|(_, k, _)| *k == key) {
            dnat.push((p.host_ip.is_some(), key, value));
        }
    }
    let elements = |on_one_address: bool| {
        let items: Vec<String> = dnat
            .iter()
            .filter(|(one, _, _)| *one == on_one_address)
            .map(|(_, k, v)| format!("{k} : {v}"))
            .collect();
        match items.is_empty() {
            true => String::new(),
            false => format!("\t\telements = {{ {} }}\n", items.join(", ")),
        }
    };
    let _ = write!(
        t,
        "\tmap dnat_any {{\n\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n{}\t}}\n",
        elements(false)
    );
    let _ = write!(
        t,
        "\tmap dnat_addr {{\n\t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service\n{}\t}}\n",
        elements(true)
    );
    // A `dnat … map @m` whose key is not in the map does not match (the
    // lookup breaks the rule), so the map needs no guard of its own; and
    // Linux 6.1 refuses a bare `… @m` lookup on a map (EINVAL).
    t.push_str(
        "\tchain raw_prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\
         \t\tiifname != \"lo\" ip daddr 127.0.0.0/8 drop\n\t}\n\
         \tchain published_ports {\n\
         \t\tdnat ip to ip daddr . meta l4proto . th dport map @dnat_addr\n\
         \t\tdnat ip to meta l4proto . th dport map @dnat_any\n\t}\n\
         \tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\
         \t\tfib daddr type local jump published_ports\n\t}\n\
         \tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\
         \t\tfib daddr type local jump published_ports\n\t}\n",
    );
    t.push_str(
        "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
    );
    for n in networks {
        let (br, subnet) = (&n.bridge, n.subnet);
        if !n.internal {
            let _ = writeln!(t, "\t\tip saddr {subnet} oifname != \"{br}\" masquerade");
        }
        let _ = writeln!(t, "\t\toifname \"{br}\" ip saddr 127.0.0.0/8 masquerade");
        let _ = writeln!(t, "\t\toifname \"{br}\" ip saddr {subnet} ct status dnat masquerade");
    }
    t.push_str(
        "\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n",
    );
    for n in networks {
        let br = &n.bridge;
        let others: Vec<String> = networks
            .iter()
            .filter(|o| o.name != n.name)
            .map(|o| format!("\"{}\"", o.bridge))
            .collect();
        if !others.is_empty() {
            let _ = writeln!(t, "\t\tiifname \"{br}\" oifname {{ {} }} drop", others.join(", "));
        }
        if n.internal {
            let _ = writeln!(t, "\t\tiifname \"{br}\" oifname != \"{br}\" drop");
            let _ = writeln!(t, "\t\toifname \"{br}\" iifname != \"{br}\" drop");
        }
    }
    t.push_str("\t}\n}\n");
    t
}

/// An element of @dnat_any or @dnat_addr as nft text: `[ip .] proto . port`
/// and `ip . port`.
fn dnat_text(a: &Attachment, p: &PortMapping) -> (String, String) {
    let key = format!("{} . {}", p.proto.name(), p.host_port);
    let key = p.host_ip.map_or(key.clone(), |ip| format!("{ip} . {key}"));
    (key, format!("{} . {}", a.ip, p.port))
}

fn map_of(p: &PortMapping) -> &'static str {
    if p.host_ip.is_some() {
        "dnat_addr"
    } else {
        "dnat_any"
    }
}

/// The elements for `a`'s published ports: what attach adds. Nothing to
/// add for an attachment without ports: no transaction at all.
pub fn add_ports(a: &Attachment) -> Vec<(Op, Element)> {
    let mut adds: Vec<(Op, Element)> =
        a.ports.iter().map(|p| (Op::Add, dnat_element(a, p))).collect();
    // One message per map (nfnetlink sends a run of one map's changes as one).
    adds.sort_by_key(|(_, e)| e.set);
    adds
}

/// Removes `a`'s elements, whether or not they are there: each is added
/// (a no-op when present) then deleted, in one transaction, so a detach
/// run twice, or after a half-done attach, succeeds. A key that one of
/// `others` also holds (records that disagree, which `render` tolerates)
/// is left alone: it is that attachment's rule now.
pub fn remove_ports<'a>(
    a: &Attachment,
    others: impl IntoIterator<Item = &'a Attachment>,
) -> Vec<(Op, Element)> {
    let held: Vec<Element> = others.into_iter().flat_map(add_ports).map(|(_, e)| e).collect();
    let mut changes = add_ports(a);
    changes.retain(|(_, e)| !held.iter().any(|h| h.set == e.set && h.key == e.key));
    let deletes: Vec<(Op, Element)> =
        changes.iter().map(|(_, e)| (Op::Delete, e.clone())).collect();
    changes.extend(deletes);
    changes
}

/// An element of @dnat_any or @dnat_addr in the kernel's layout: each
/// field of a concatenation takes 4 bytes (an address, a protocol number,
/// a port in network order).
fn dnat_element(a: &Attachment, p: &PortMapping) -> Element {
    let [hi, lo] = p.host_port.to_be_bytes();
    let mut key = p.host_ip.map(|ip| ip.octets().to_vec()).unwrap_or_default();
    key.extend([p.proto.number(), 0, 0, 0, hi, lo, 0, 0]);
    let [hi, lo] = p.port.to_be_bytes();
    let mut data = a.ip.octets().to_vec();
    data.extend([hi, lo, 0, 0]);
    Element { set: map_of(p), key, data: Some(data) }
}

/// Runs one nft transaction; an empty script is none.
///
/// Returns once the kernel has committed it, not once nft has exited:
/// after a transaction that removed anything, the kernel makes the process
/// that closes the nftables socket wait for an RCU grace period (10–20 ms
/// here) before the close returns, when nothing is left to wait for. So
/// nft runs with `--echo`, which prints `# new generation N …` when the
/// commit is done (and nothing of the kind on an error); a thread reaps
/// nft after that.
pub fn apply(table: &str, script: &str) -> Result<()> {
    use std::io::{BufRead, BufReader, Read};
    let failed = |why: String| Error::Firewall { table: format!("ip {table}"), why };
    if script.is_empty() {
        return Ok(());
    }
    let nft = nft().ok_or_else(|| failed("nft not found (apt-get install nftables)".into()))?;
    let mut child = Command::new(nft)
        .args(["--echo", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run nft: {e}")))?;
    let _ = child.stdin.take().expect("piped").write_all(script.as_bytes());
    let mut echo = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    while echo.read_line(&mut line).is_ok_and(|n| n > 0) {
        if line.starts_with("# new generation") {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut echo, &mut std::io::sink());
                child.wait()
            });
            return Ok(());
        }
        line.clear();
    }
    // No commit: nft says why on stderr.
    let mut why = String::new();
    let _ = child.stderr.take().expect("piped").read_to_string(&mut why);
    let _ = child.wait();
    Err(failed(format!("nft: {}", why.lines().next().unwrap_or("failed"))))
}

/// Replaces the table with what the records say.
pub fn rebuild(
    table: &str,
    networks: &[Network],
    attachments: &[(Network, Attachment)],
) -> Result<()> {
    apply(table, &render(table, networks, attachments))
}

/// Removes the table (when the last network goes).
pub fn remove_table(table: &str) -> Result<()> {
    apply(table, &format!("table ip {table} {{}}\ndelete table ip {table}\n"))
}

/// nft from `$PATH`, else where Debian installs it.
fn nft() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("nft"))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str, subnet: &str, internal: bool) -> Network {
        let subnet: ipnet::Ipv4Net = subnet.parse().unwrap();
        Network {
            name: name.into(),
            id: "f".repeat(64),
            gateway: subnet.hosts().next().unwrap(),
            subnet,
            bridge: format!("dkbr{name}"),
            internal,
            names: true,
            created: 0,
        }
    }

    fn attached(ip: &str, ports: &[&str]) -> Attachment {
        Attachment {
            id: "c".repeat(64),
            name: Some("web".into()),
            aliases: vec![],
            hostname: None,
            add_hosts: vec![],
            hosts_file: None,
            netns: "/n".into(),
            made_netns: true,
            ifname: "eth0".into(),
            host_veth: "dkcccc".into(),
            ip: ip.parse().unwrap(),
            mac: String::new(),
            ports: ports.iter().map(|p| p.parse().unwrap()).collect(),
            owner: None,
            complete: true,
        }
    }

    #[test]
    fn the_table_holds_each_network_and_port() {
        let (a, b) = (net("a", "10.1.0.0/24", false), net("b", "10.2.0.0/24", true));
        let att = attached("10.1.0.2", &["8080:80", "127.0.0.1:9090:90/udp"]);
        let text = render("dockerish", &[a.clone(), b.clone()], &[(a, att)]);
        assert!(text.starts_with("table ip dockerish {}\ndelete table ip dockerish\n"), "{text}");
        assert!(text.contains("elements = { tcp . 8080 : 10.1.0.2 . 80 }"), "{text}");
        assert!(text.contains("elements = { 127.0.0.1 . udp . 9090 : 10.1.0.2 . 90 }"), "{text}");
        assert!(text.contains("ip saddr 10.1.0.0/24 oifname != \"dkbra\" masquerade"));
        assert!(
            !text.contains("ip saddr 10.2.0.0/24 oifname != \"dkbrb\" masquerade"),
            "internal: no way out"
        );
        assert!(
            text.contains("iifname \"dkbra\" oifname { \"dkbrb\" } drop"),
            "networks are isolated"
        );
        assert!(text.contains("iifname \"dkbrb\" oifname != \"dkbrb\" drop"));
    }

    #[test]
    fn detach_removes_only_what_it_added_and_tolerates_absence() {
        let att = attached("10.1.0.2", &["8080:80", "127.0.0.1:8080:80", "9090:90"]);
        let ops: Vec<(Op, &str)> =
            remove_ports(&att, []).iter().map(|(op, e)| (*op, e.set)).collect();
        assert_eq!(
            ops,
            [
                (Op::Add, "dnat_addr"),
                (Op::Add, "dnat_any"),
                (Op::Add, "dnat_any"),
                (Op::Delete, "dnat_addr"),
                (Op::Delete, "dnat_any"),
                (Op::Delete, "dnat_any")
            ],
            "added first, so the delete cannot fail"
        );
        assert!(add_ports(&attached("10.1.0.3", &[])).is_empty(), "no ports, no transaction");
    }

    #[test]
    fn detach_leaves_a_key_another_record_holds() {
        let (one, two) =
            (attached("10.1.0.2", &["8080:80", "9090:90"]), attached("10.1.0.3", &["8080:80"]));
        let changes = remove_ports(&one, [&two]);
        assert_eq!(changes.len(), 2, "9090 added then deleted, 8080 untouched: {changes:?}");
        assert!(changes.iter().all(|(_, e)| e.key != add_ports(&two)[0].1.key));
    }

    #[test]
    fn elements_are_in_the_kernels_layout() {
        let att = attached("10.1.0.2", &["127.0.0.1:9090:90/udp", "8080:80"]);
        let changes = add_ports(&att);
        let (addr, any) = (&changes[0].1, &changes[1].1);
        assert_eq!(addr.set, "dnat_addr");
        assert_eq!(
            addr.key,
            [127, 0, 0, 1, 17, 0, 0, 0, 0x23, 0x82, 0, 0],
            "127.0.0.1 . udp . 9090"
        );
        assert_eq!(addr.data.as_deref(), Some(&[10, 1, 0, 2, 0, 90, 0, 0][..]), "10.1.0.2 . 90");
        assert_eq!((any.set, &any.key[..]), ("dnat_any", &[6, 0, 0, 0, 0x1f, 0x90, 0, 0][..]));
    }

    #[test]
    fn the_table_loads_records_that_disagree() {
        let a = net("a", "10.1.0.0/24", false);
        let (one, two) = (attached("10.1.0.2", &["8080:80"]), attached("10.1.0.3", &["8080:80"]));
        let text =
            render("dockerish", std::slice::from_ref(&a), &[(a.clone(), one), (a.clone(), two)]);
        assert_eq!(text.matches("tcp . 8080 :").count(), 1, "{text}");
        assert!(text.contains("iifname != \"lo\" ip daddr 127.0.0.0/8 drop"), "{text}");
    }
}
