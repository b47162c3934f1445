//! The `busybox` image, built from the host's static busybox.
//!
//! dockerish downloads nothing, so `docker run busybox`'s pull has a local
//! stand-in: a root filesystem tar with Debian's busybox-static binary,
//! one symlink per applet where `busybox --list-full` puts it, and the
//! /etc files a shell expects. The tar is built in memory with fixed times
//! and sorted names, so the same binary always gives the same layer digest;
//! it is then imported like any other tar.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result, ToolError};
use crate::store::ImageConfig;

/// Where Debian's busybox-static (and busybox) install the binary.
pub const DEFAULT_BINARY: &str = "/bin/busybox";

/// The config of the image: a shell by default, Docker's default PATH.
pub fn config() -> ImageConfig {
    ImageConfig {
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        cmd: vec!["sh".into()],
        ..ImageConfig::default()
    }
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
nobody:x:65534:65534:nobody:/home:/bin/false\n";
const GROUP: &str = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n";

/// Builds the root filesystem tar from `binary`.
pub fn build_tar(binary: &Path) -> Result<Vec<u8>> {
    let elf = fs::read(binary).map_err(Error::io("read", binary))?;
    check_static(binary, &elf)?;
    let mtime = fs::metadata(binary)
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());

    let listing =
        Command::new(binary).arg("--list-full").output().map_err(Error::io("run", binary))?;
    if !listing.status.success() {
        return Err(Error::invalid(
            "busybox",
            binary.display().to_string(),
            "`busybox --list-full` failed",
        ));
    }
    let applets: BTreeSet<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "bin/busybox" && !l.contains(".."))
        .map(String::from)
        .collect();

    let mut dirs: BTreeSet<String> = [
        "bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "usr/bin", "usr/sbin",
        "sbin", "var", "var/log",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for applet in &applets {
        let mut dir = Path::new(applet).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.display().to_string());
            dir = d.parent();
        }
    }

    let mut tar = tar::Builder::new(Vec::new());
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_size(size);
        h
    };
    let io = |e| Error::io("build", "the busybox tar")(e);
    for dir in &dirs {
        let mode = match dir.as_str() {
            "tmp" => 0o1777,
            "root" => 0o700,
            _ => 0o755,
        };
        let mut h = header(tar::EntryType::Directory, mode, 0);
        tar.append_data(&mut h, format!("{dir}/"), std::io::empty()).map_err(io)?;
    }
    let mut h = header(tar::EntryType::Regular, 0o755, elf.len() as u64);
    tar.append_data(&mut h, "bin/busybox", elf.as_slice()).map_err(io)?;
    for applet in &applets {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        tar.append_link(&mut h, applet, "/bin/busybox").map_err(io)?;
    }
    for (name, text, mode) in [("etc/passwd", PASSWD, 0o644), ("etc/group", GROUP, 0o644)] {
        let mut h = header(tar::EntryType::Regular, mode, text.len() as u64);
        tar.append_data(&mut h, name, text.as_bytes()).map_err(io)?;
    }
    tar.into_inner().map_err(io)
}

/// A dynamically linked busybox would not start in the image, which has no
/// C library: refuse it with a hint. An ELF file is dynamic when one of its
/// program headers is PT_INTERP (the dynamic loader's path).
fn check_static(path: &Path, elf: &[u8]) -> Result<()> {
    let bad = |why: &str| Error::invalid("busybox binary", path.display().to_string(), why);
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return Err(bad("not a 64-bit little-endian ELF file"));
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[32..40].try_into().expect("8 bytes")) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let kind = elf.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
        if kind == Some(3) {
            return Err(bad("dynamically linked; install Debian's busybox-static (apt-get install busybox-static)"));
        }
    }
    Ok(())
}
