//! Published ports: `-p [HOSTIP:][HOSTPORT:]PORT[/tcp|udp]`, as Docker
//! takes them, ranges (`8000-8002:80-82`) included.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tool_cli::error::invalid;
use tool_cli::Invalid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    /// The IP protocol number (/etc/protocols).
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
        }
    }
}

/// One host port forwarded to one container port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    /// Only traffic to this host address; `None`: every address of the host.
    pub host_ip: Option<Ipv4Addr>,
    /// `0` until one is chosen, for `-p PORT` (any free host port).
    pub host_port: u16,
    pub port: u16,
    pub proto: Proto,
}

impl PortMapping {
    /// Whether the two would take the same host port (one of them on every
    /// host address, or both on the same one).
    pub fn clashes(&self, other: &PortMapping) -> bool {
        self.proto == other.proto
            && self.host_port == other.host_port
            && (self.host_ip.is_none() || other.host_ip.is_none() || self.host_ip == other.host_ip)
    }
}

impl PortMapping {
    /// The `-p` form that gives this mapping back: `[HOSTIP:][HOSTPORT:]PORT/PROTO`.
    pub fn spec(&self) -> String {
        let host = match (self.host_ip, self.host_port) {
            (Some(ip), 0) => format!("{ip}::"),
            (Some(ip), port) => format!("{ip}:{port}:"),
            (None, 0) => String::new(),
            (None, port) => format!("{port}:"),
        };
        format!("{host}{}/{}", self.port, self.proto.name())
    }
}

impl fmt::Display for PortMapping {
    /// Docker's `ps` form: `0.0.0.0:8080->80/tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        write!(f, "{ip}:{}->{}/{}", self.host_port, self.port, self.proto.name())
    }
}

/// Parses one `-p` value into its mappings (several for a range).
pub fn parse(spec: &str) -> Result<Vec<PortMapping>, Invalid> {
    let bad = |why: &str| invalid("port", spec, why);
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, "tcp")) => (r, Proto::Tcp),
        Some((r, "udp")) => (r, Proto::Udp),
        Some((_, p)) => return Err(bad(&format!("unknown protocol {p:?}: use tcp or udp"))),
        None => (spec, Proto::Tcp),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, host, container) = match parts[..] {
        [c] => (None, "", c),
        [h, c] => (None, h, c),
        [ip, h, c] => {
            let ip = ip
                .parse::<Ipv4Addr>()
                .map_err(|_| bad(&format!("{ip:?} is not an IPv4 address")))?;
            (Some(ip).filter(|ip| !ip.is_unspecified()), h, c)
        }
        _ => return Err(bad("expected [HOSTIP:][HOSTPORT:]PORT[/tcp|udp]")),
    };
    let container = range(container).map_err(|why| bad(&why))?;
    let host = if host.is_empty() {
        if container.0 != container.1 {
            return Err(bad("a range of container ports needs a range of host ports"));
        }
        (0, 0)
    } else {
        range(host).map_err(|why| bad(&why))?
    };
    if host != (0, 0) && host.1 - host.0 != container.1 - container.0 {
        return Err(bad("the host and container ranges differ in length"));
    }
    Ok((0..=container.1 - container.0)
        .map(|i| PortMapping {
            host_ip,
            host_port: if host == (0, 0) { 0 } else { host.0 + i },
            port: container.0 + i,
            proto,
        })
        .collect())
}

/// `80` or `8000-8010`: ports 1 to 65535.
fn range(text: &str) -> Result<(u16, u16), String> {
    let port = |t: &str| match t.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(format!("{t:?} is not a port from 1 to 65535")),
    };
    let (low, high) = match text.split_once('-') {
        Some((l, h)) => (port(l)?, port(h)?),
        None => (port(text)?, port(text)?),
    };
    if low > high {
        return Err(format!("{text:?} is an empty range"));
    }
    Ok((low, high))
}

impl FromStr for PortMapping {
    type Err = Invalid;
    /// One mapping (`ps`'s form is not parsed back; this is `-p`'s, no range).
    fn from_str(s: &str) -> Result<Self, Invalid> {
        match parse(s)?[..] {
            [one] => Ok(one),
            _ => Err(invalid("port", s, "one port, not a range")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_forms() {
        let one = |s| parse(s).unwrap();
        assert_eq!(
            one("8080:80"),
            [PortMapping { host_ip: None, host_port: 8080, port: 80, proto: Proto::Tcp }]
        );
        assert_eq!(one("127.0.0.1:8080:80/udp")[0].host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(one("127.0.0.1:8080:80/udp")[0].proto, Proto::Udp);
        assert_eq!(one("0.0.0.0:1:2")[0].host_ip, None);
        assert_eq!(one("80")[0].host_port, 0, "any free host port");
        let r = one("8000-8002:80-82");
        assert_eq!(
            r.iter().map(|m| (m.host_port, m.port)).collect::<Vec<_>>(),
            [(8000, 80), (8001, 81), (8002, 82)]
        );
        assert_eq!(one("8080:80").first().unwrap().to_string(), "0.0.0.0:8080->80/tcp");
    }

    #[test]
    fn bad_ports_are_refused() {
        for bad in [
            "0:80",
            "70000:80",
            "80:80:80:80",
            "a:80",
            "80:0",
            "8080:80/sctp",
            "1-3:1-2",
            "::80",
            "x.y:1:2",
            "5-1:5-1",
            "80-81",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn clashes_on_the_same_port_and_address() {
        let m = |s: &str| s.parse::<PortMapping>().unwrap();
        assert!(m("8080:80").clashes(&m("127.0.0.1:8080:81")));
        assert!(m("127.0.0.1:8080:80").clashes(&m("127.0.0.1:8080:81")));
        assert!(!m("127.0.0.1:8080:80").clashes(&m("127.0.0.2:8080:80")));
        assert!(!m("8080:80").clashes(&m("8080:80/udp")));
        assert!(!m("8080:80").clashes(&m("8081:80")));
    }
}
