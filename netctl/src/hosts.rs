//! Names on a network: each container's /etc/hosts, kept current.
//!
//! On a network with names (every network but the default one, as
//! Docker's), a container reaches the others by container name and
//! `--alias`. Docker runs a DNS server for that; netctl writes /etc/hosts
//! instead: no process per network or container, any libc reads it
//! (glibc, musl, busybox), and it is current the moment attach or detach
//! returns, since they rewrite it under the store lock. The price: names
//! are IPv4 and the file is rewritten for every container of a network
//! when one comes or goes.
//!
//! The file is bind-mounted into the container (`rootfs enter
//! --hosts-file`), and a bind mount holds the inode: so it is rewritten in
//! place (truncate, one write), never replaced by rename.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result, ToolError};
use crate::store::{Attachment, Network};

/// The loopback lines every /etc/hosts starts with (Docker's).
pub const LOOPBACK: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
    fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// The /etc/hosts of `me`: loopback, its own address and names, its
/// `--add-host` entries, then its peers on the networks with names.
/// `mine` is every (network, attachment) of `me`; `all` every attachment.
pub fn render(mine: &[(Network, Attachment)], all: &[(Network, Attachment)]) -> String {
    let mut text = String::from(LOOPBACK);
    let Some((_, first)) = mine.first() else { return text };
    for (_, a) in mine {
        text.push_str(&line(a));
    }
    for entry in &first.add_hosts {
        if let Some((host, ip)) = entry.split_once(':') {
            text.push_str(&format!("{ip}\t{host}\n"));
        }
    }
    for (net, a) in all {
        let shared = mine.iter().any(|(n, _)| n.name == net.name && n.names);
        if shared && a.id != first.id && a.complete {
            text.push_str(&line(a));
        }
    }
    text
}

/// `IP\thostname name alias…`, without repeats.
fn line(a: &Attachment) -> String {
    let mut names: Vec<&str> = Vec::new();
    for n in a.hostname.iter().chain(a.name.iter()).chain(a.aliases.iter()) {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    format!("{}\t{}\n", a.ip, names.join(" "))
}

/// Rewrites `path` in place with `text` (see the module docs for why not
/// atomically); a file already gone is a container gone.
pub fn write_in_place(path: &Path, text: &str) -> Result<()> {
    let file = std::fs::OpenOptions::new().write(true).truncate(true).open(path);
    match file {
        Ok(mut f) => f.write_all(text.as_bytes()).map_err(Error::io("write", path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("open", path)(e)),
    }
}

/// Creates `path` with `text` if it does not exist yet (attach, before the
/// container's root binds it), else rewrites it in place.
pub fn write(path: &Path, text: &str) -> Result<()> {
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        }
        std::fs::write(path, "").map_err(Error::io("create", path))?;
    }
    write_in_place(path, text)
}
