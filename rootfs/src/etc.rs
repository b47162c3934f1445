//! /etc/hostname, /etc/hosts and /etc/resolv.conf.
//!
//! Like Docker, these are files in the container's directory bind-mounted
//! over the image's: the image stays untouched, the writable layer does not
//! collect their contents, and they are written afresh at every start.
//! (Where the image has none, an empty file is made to mount on: that
//! placeholder is in the writable layer, and `dockerish diff` leaves it
//! out, as [`MOUNTED`] names them.)

use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::mount::{mount, MsFlags};

use crate::error::{Error, Result, ToolError};
use crate::spec::HostEntry;
use inroot::{fd_path, Kind};

/// The files of /etc that are mounted over, not written in the root.
pub const MOUNTED: [&str; 3] = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

/// The text of /etc/hosts: loopback names, then the extra entries.
pub fn hosts(extra: &[HostEntry]) -> String {
    let mut text = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for entry in extra {
        text.push_str(&format!("{}\t{}\n", entry.ip, entry.host));
    }
    text
}

/// The text of /etc/resolv.conf. With `dns` given, those nameservers;
/// otherwise the host's, except loopback ones (a resolver on the host's
/// 127.0.0.53 is unreachable from another network namespace). Search and
/// options lines are kept. Docker falls back to public resolvers when none
/// is left; we write none, so a lookup fails plainly instead of leaking.
pub fn resolv_conf(host: &str, dns: &[IpAddr]) -> String {
    let mut text = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                let keep = dns.is_empty()
                    && words
                        .next()
                        .and_then(|a| a.parse::<IpAddr>().ok())
                        .is_some_and(|a| !a.is_loopback());
                if keep {
                    text.push_str(line);
                    text.push('\n');
                    servers += 1;
                }
            }
            Some("search" | "domain" | "options") => {
                text.push_str(line);
                text.push('\n');
            }
            _ => {}
        }
    }
    for ip in dns {
        text.push_str(&format!("nameserver {ip}\n"));
        servers += 1;
    }
    if servers == 0 {
        text.push_str("# no nameserver: the host has only loopback resolvers; use --dns\n");
    }
    text
}

/// Writes `text` to `dir/name` and bind-mounts it on `/etc/name` in the root.
pub fn install(root: &OwnedFd, dir: &Path, name: &str, text: &str) -> Result<()> {
    let file = dir.join(name);
    std::fs::write(&file, text).map_err(Error::io("write", &file))?;
    bind(root, &file, name)
}

/// Bind-mounts the host file `file` on `/etc/name` in the root. A bind
/// mount holds the file's inode, so whoever keeps it current must write it
/// in place (netctl does, for `--hosts-file`).
pub fn bind(root: &OwnedFd, file: &Path, name: &str) -> Result<()> {
    let target = inroot::create(root, &Path::new("/etc").join(name), Kind::File)?;
    mount(Some(file), fd_path(&target).as_str(), None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(|e| Error::sys("bind-mount", format!("{} on /etc/{name}", file.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_has_loopback_and_extra_entries() {
        let text = hosts(&["db:10.0.0.3".parse().unwrap()]);
        assert!(text.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(text.ends_with("10.0.0.3\tdb\n"));
    }

    #[test]
    fn resolv_conf_drops_loopback_servers_and_keeps_search() {
        let host = "nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch example.org\n# comment\n";
        assert_eq!(resolv_conf(host, &[]), "nameserver 192.0.2.1\nsearch example.org\n");
        let given = resolv_conf(host, &["192.0.2.9".parse().unwrap()]);
        assert_eq!(given, "search example.org\nnameserver 192.0.2.9\n");
        assert!(resolv_conf("nameserver 127.0.0.1\n", &[]).contains("no nameserver"));
    }
}
