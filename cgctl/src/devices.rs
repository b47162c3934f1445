//! Which device nodes the cgroup's processes may open or create: an
//! allow-list, everything else refused with EPERM, whatever the node's
//! mode and whoever made it.
//!
//! A rule reads like a line of v1's `devices.allow` (cgroup-v1/devices.rst):
//! `TYPE MAJOR:MINOR ACCESS`, with TYPE `c` (character), `b` (block) or `a`
//! (all), `*` for any number, and ACCESS letters `r` (read), `w` (write),
//! `m` (mknod): `c 1:3 rwm` is /dev/null, `c 136:* rw` every pty, `a`
//! everything.
//!
//! The kernel checks at open(2) and mknod(2), in `devcgroup_check_permission`,
//! so a node that came in an image, a volume or a `mknod` by a process with
//! CAP_MKNOD is as refused as any other. The two versions differ entirely:
//!
//! - **v1**: the `devices` controller. `devices.deny` ← `a` empties the
//!   list, then each rule is written to `devices.allow`. A child can only
//!   narrow its parent's list.
//! - **v2** has no such files: the check is a BPF program of type
//!   BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup
//!   (cgroup-v2.rst, "Device controller"; bpf(2)). It is run for each
//!   access with `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
//!   u32 minor; }` (access_type = access << 16 | type) and returns 1 to
//!   allow, 0 to refuse. [`program`] compiles the rules into one, by hand:
//!   a few loads, one block of compares per rule, no maps, no helpers. It
//!   is attached with BPF_F_ALLOW_MULTI, so a nested cgroup's program runs
//!   as well and can only refuse more; the cgroup holds the program, which
//!   goes with the cgroup's rmdir. crun and youki do the same.

use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::str::FromStr;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ToolError};

/// Device types, as the kernel numbers them in `access_type`.
const BLOCK: u32 = 1;
const CHAR: u32 = 2;
/// Access bits, as the kernel numbers them in `access_type`.
const MKNOD: u8 = 1;
const READ: u8 = 2;
const WRITE: u8 = 4;
const ALL_ACCESS: u8 = MKNOD | READ | WRITE;

/// What a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    All,
    Char,
    Block,
}

/// One rule of the allow-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    pub kind: Type,
    /// `None` is `*`.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// [`READ`], [`WRITE`], [`MKNOD`] bits.
    pub access: u8,
}

/// What a container gets (Docker's and runc's list, less tun): mknod of
/// any node (harmless: opening it is what the list decides, and MKNOD is
/// not among the default capabilities), and the nodes rootfs makes in /dev.
pub const DEFAULT_RULES: [&str; 11] = [
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",   // null
    "c 1:5 rwm",   // zero
    "c 1:7 rwm",   // full
    "c 1:8 rwm",   // random
    "c 1:9 rwm",   // urandom
    "c 5:0 rwm",   // tty
    "c 5:1 rwm",   // console
    "c 5:2 rwm",   // ptmx
    "c 136:* rwm", // pts/*
];

/// [`DEFAULT_RULES`], parsed.
pub fn default_rules() -> Vec<DeviceRule> {
    DEFAULT_RULES.iter().map(|r| r.parse().expect("the default rules parse")).collect()
}

impl DeviceRule {
    /// A rule for one node of type `kind`, `major:minor`, with `access`
    /// given as letters (`rwm`).
    pub fn node(kind: Type, major: u32, minor: u32, access: &str) -> Result<DeviceRule> {
        Ok(DeviceRule {
            kind,
            major: Some(major),
            minor: Some(minor),
            access: parse_access(access)?,
        })
    }
}

fn parse_access(text: &str) -> Result<u8> {
    let mut bits = 0;
    for c in text.chars() {
        bits |= match c {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => return Err(Error::invalid("device access", text, "letters r, w and m")),
        };
    }
    match bits {
        0 => Err(Error::invalid("device access", text, "letters r, w and m")),
        _ => Ok(bits),
    }
}

impl FromStr for DeviceRule {
    type Err = Error;

    fn from_str(text: &str) -> Result<DeviceRule> {
        let bad = |why: &str| Error::invalid("device rule", text, why.to_string());
        let fields: Vec<&str> = text.split_whitespace().collect();
        let kind = match fields.first() {
            Some(&"a") => Type::All,
            Some(&"c") => Type::Char,
            Some(&"b") => Type::Block,
            _ => return Err(bad("expected TYPE MAJOR:MINOR ACCESS, TYPE a, b or c (c 1:3 rwm)")),
        };
        // v1's kernel reads nothing after `a` (every device, all access),
        // so a narrower `a` rule would mean more on v1 than on v2: refused.
        if kind == Type::All {
            return match fields[1..] {
                [] | ["*:*"] | ["*:*", "rwm" | "rmw" | "wrm" | "wmr" | "mrw" | "mwr"] => {
                    Ok(DeviceRule { kind, major: None, minor: None, access: ALL_ACCESS })
                }
                _ => Err(bad("a rule of type a is every device with every access: write just `a`")),
            };
        }
        let (Some(numbers), access) = (fields.get(1), fields.get(2)) else {
            return Err(bad("expected TYPE MAJOR:MINOR ACCESS (c 1:3 rwm)"));
        };
        if fields.len() > 3 {
            return Err(bad("expected TYPE MAJOR:MINOR ACCESS (c 1:3 rwm)"));
        }
        let number = |n: &str| match n {
            "*" => Ok(None),
            _ => n.parse::<u32>().map(Some).map_err(|_| bad("MAJOR and MINOR are numbers or *")),
        };
        let (major, minor) = numbers.split_once(':').ok_or_else(|| bad("expected MAJOR:MINOR"))?;
        Ok(DeviceRule {
            kind,
            major: number(major)?,
            minor: number(minor)?,
            access: parse_access(access.unwrap_or(&"rwm"))?,
        })
    }
}

impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Type::All => 'a',
            Type::Char => 'c',
            Type::Block => 'b',
        };
        let number = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let access: String = [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')]
            .iter()
            .filter(|(bit, _)| self.access & bit != 0)
            .map(|(_, c)| c)
            .collect();
        write!(f, "{kind} {}:{} {access}", number(self.major), number(self.minor))
    }
}

impl Serialize for DeviceRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The v1 writes, in order: empty the list, then allow each rule.
pub fn v1_values(rules: &[DeviceRule]) -> Vec<(&'static str, String)> {
    std::iter::once(("devices.deny", "a".to_string()))
        .chain(rules.iter().map(|r| ("devices.allow", r.to_string())))
        .collect()
}

// --- cgroup v2: the BPF program ---

/// eBPF instructions (Documentation/bpf/standardization/instruction-set.rst):
/// 8 bytes each, `opcode:8 dst:4 src:4 offset:16 imm:32`, little-endian
/// fields on x86-64.
fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    u64::from(code)
        | (u64::from(dst & 0xf) << 8)
        | (u64::from(src & 0xf) << 12)
        | (u64::from(off as u16) << 16)
        | (u64::from(imm as u32) << 32)
}

const LDX_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const MOV_K: u8 = 0xb7; // dst = imm (64-bit)
const MOV_X: u8 = 0xbf; // dst = src
const AND_K: u8 = 0x57; // dst &= imm
const RSH_K: u8 = 0x77; // dst >>= imm
const JNE_K: u8 = 0x55; // if dst != imm: pc += off
const EXIT: u8 = 0x95; // return r0

/// The program for `rules`. Registers: r1 the context; r2 the access bits,
/// r3 the type, r4 the major, r5 the minor, r6 scratch; r0 the verdict.
pub fn program(rules: &[DeviceRule]) -> Vec<u64> {
    let mut out = vec![
        insn(LDX_W, 2, 1, 0, 0), // r2 = access_type
        insn(MOV_X, 3, 2, 0, 0), // r3 = r2 & 0xffff: the type
        insn(AND_K, 3, 0, 0, 0xffff),
        insn(RSH_K, 2, 0, 0, 16), // r2 >>= 16: the access
        insn(LDX_W, 4, 1, 4, 0),  // r4 = major
        insn(LDX_W, 5, 1, 8, 0),  // r5 = minor
    ];
    for rule in rules {
        // Each test jumps past the rest of the block when it fails; the
        // offsets are filled once the block's length is known.
        let mut block: Vec<(u8, u8, u8, i32)> = Vec::new();
        match rule.kind {
            Type::All => {}
            Type::Char => block.push((JNE_K, 3, 0, CHAR as i32)),
            Type::Block => block.push((JNE_K, 3, 0, BLOCK as i32)),
        }
        if let Some(major) = rule.major {
            block.push((JNE_K, 4, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push((JNE_K, 5, 0, minor as i32));
        }
        if rule.access != ALL_ACCESS {
            // Asked for anything the rule does not give: not this rule.
            block.push((MOV_X, 6, 2, 0));
            block.push((AND_K, 6, 0, i32::from(!rule.access & ALL_ACCESS)));
            block.push((JNE_K, 6, 0, 0));
        }
        block.push((MOV_K, 0, 0, 1)); // allowed
        block.push((EXIT, 0, 0, 0));
        let len = block.len();
        for (i, (code, dst, src, imm)) in block.into_iter().enumerate() {
            let off = if code == JNE_K { (len - i - 1) as i16 } else { 0 };
            out.push(insn(code, dst, src, off, imm));
        }
    }
    out.push(insn(MOV_K, 0, 0, 0, 0)); // no rule matched: refused
    out.push(insn(EXIT, 0, 0, 0, 0));
    out
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The leading fields of `union bpf_attr` for BPF_PROG_LOAD; the kernel
/// takes a shorter attr and reads the rest as zero.
#[repr(C)]
#[derive(Default)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// BPF_PROG_ATTACH and BPF_PROG_DETACH.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// BPF_PROG_QUERY. The kernel writes results back into it, and newer ones
/// (the cgroup mprog query, Linux 6.16) write fields beyond the ones we
/// read, whatever size we pass: so it is padded to a whole 128-byte attr.
#[repr(C)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _rest: [u8; 100],
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::result::Result<i64, Errno> {
    // SAFETY: attr is a live, initialised bpf_attr prefix of the size we pass.
    let r = unsafe {
        libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>() as u32)
    };
    Errno::result(r)
}

/// Loads the program for `rules` and attaches it to the cgroup at `dir`,
/// then detaches the programs that were there before (a `cgctl set`), so
/// the cgroup is never without a list.
pub fn attach_v2(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let cgroup = nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty())
        .map_err(|e| Error::sys("open cgroup", dir.display(), e))?;
    let before = attached(cgroup.as_raw_fd())
        .map_err(|e| Error::sys("query the device programs of", dir.display(), e))?;
    let prog = load(rules)?;
    let mut attach = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attach)
        .map_err(|e| Error::sys("attach the device program to", dir.display(), e))?;
    for id in before {
        let mut get = [id, 0, 0];
        // Gone meanwhile (ENOENT) is fine; anything else would leave the
        // old list in force beside the new one.
        let fd = match bpf(BPF_PROG_GET_FD_BY_ID, &mut get) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys("open the old device program of", dir.display(), e)),
        };
        // SAFETY: the kernel returned a new descriptor.
        let old = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        let mut detach = AttachAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_bpf_fd: old.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            attach_flags: 0,
        };
        bpf(BPF_PROG_DETACH, &mut detach)
            .map_err(|e| Error::sys("detach the old device program from", dir.display(), e))?;
    }
    Ok(())
}

/// The ids of the device programs attached to the cgroup itself.
fn attached(cgroup: RawFd) -> std::result::Result<Vec<u32>, Errno> {
    let mut ids = [0u32; 64];
    let mut query = QueryAttr {
        target_fd: cgroup as u32,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _rest: [0; 100],
    };
    bpf(BPF_PROG_QUERY, &mut query)?;
    Ok(ids[..query.prog_cnt as usize].to_vec())
}

/// BPF_PROG_LOAD of [`program`]; a refusal by the verifier is tried
/// again with its log, which comes back in the error.
fn load(rules: &[DeviceRule]) -> Result<OwnedFd> {
    let insns = program(rules);
    let license = c"GPL";
    let attempt = |log: &mut [u8]| {
        let mut attr = LoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            // No log (a null buffer) unless one is given: the kernel
            // refuses a buffer without a size.
            log_level: u32::from(!log.is_empty()),
            log_size: log.len() as u32,
            log_buf: if log.is_empty() { 0 } else { log.as_mut_ptr() as u64 },
            prog_name: *b"dockerish_dev\0\0\0",
            ..LoadAttr::default()
        };
        // SAFETY: the kernel returns a new descriptor on success.
        bpf(BPF_PROG_LOAD, &mut attr).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    };
    let first = match attempt(&mut []) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let mut log = vec![0u8; 256 * 1024];
    let what = match attempt(&mut log) {
        // Loaded with a log where it failed without: report the first error.
        Ok(_) => "load the device program".to_string(),
        // ENOSPC: the log did not fit; the first error is the one to tell.
        Err(Errno::ENOSPC) => "load the device program".to_string(),
        Err(_) => {
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            format!("load the device program (verifier: {text})")
        }
    };
    Err(Error::sys("bpf", what, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_print_as_devices_allow_lines() {
        for (text, shown) in [
            ("c 1:3 rwm", "c 1:3 rwm"),
            ("b *:* m", "b *:* m"),
            ("c 136:* wr", "c 136:* rw"),
            ("a", "a *:* rwm"),
            ("a *:* rwm", "a *:* rwm"),
            ("c 10:200", "c 10:200 rwm"),
        ] {
            assert_eq!(text.parse::<DeviceRule>().unwrap().to_string(), shown, "{text}");
        }
        for bad in [
            "",
            "x 1:3 rwm",
            "c 1 rwm",
            "c a:3 r",
            "c 1:3 rwx",
            "c 1:3 r extra",
            "a *:* r",
            "a 8:0",
        ] {
            assert!(bad.parse::<DeviceRule>().is_err(), "{bad:?}");
        }
        assert_eq!(default_rules().len(), DEFAULT_RULES.len());
    }

    #[test]
    fn v1_empties_the_list_then_allows_each_rule() {
        let rules = ["c 1:3 rwm".parse().unwrap(), "b 7:* r".parse().unwrap()];
        assert_eq!(
            v1_values(&rules),
            [
                ("devices.deny", "a".to_string()),
                ("devices.allow", "c 1:3 rwm".to_string()),
                ("devices.allow", "b 7:* r".to_string())
            ]
        );
    }

    /// A small interpreter of the instructions [`program`] uses: the
    /// program's verdicts, checked here without a kernel; the e2e tests
    /// check the kernel's.
    fn verdict(prog: &[u64], kind: u32, access: u8, major: u32, minor: u32) -> u64 {
        let ctx = [(u32::from(access) << 16) | kind, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0;
        loop {
            let i = prog[pc];
            let (code, dst, src) = (i as u8, ((i >> 8) & 0xf) as usize, ((i >> 12) & 0xf) as usize);
            let (off, imm) = ((i >> 16) as u16 as i16, (i >> 32) as u32 as i32 as i64 as u64);
            pc += 1;
            match code {
                LDX_W => r[dst] = u64::from(ctx[off as usize / 4]),
                MOV_K => r[dst] = imm,
                MOV_X => r[dst] = r[src],
                AND_K => r[dst] &= imm,
                RSH_K => r[dst] >>= imm,
                JNE_K if r[dst] != imm => pc = (pc as i64 + i64::from(off)) as usize,
                JNE_K => {}
                EXIT => return r[0],
                _ => panic!("unknown opcode {code:#x}"),
            }
        }
    }

    #[test]
    fn the_program_allows_exactly_the_rules() {
        let prog = program(&default_rules());
        assert_eq!(verdict(&prog, CHAR, READ | WRITE, 1, 3), 1, "null");
        assert_eq!(verdict(&prog, CHAR, READ, 136, 7), 1, "a pty");
        assert_eq!(verdict(&prog, BLOCK, MKNOD, 8, 0), 1, "mknod of a disk");
        assert_eq!(verdict(&prog, BLOCK, READ, 8, 0), 0, "reading a disk");
        assert_eq!(verdict(&prog, CHAR, READ, 1, 11), 0, "kmsg");
        assert_eq!(verdict(&prog, CHAR, READ, 1, 1), 0, "mem");
        let ro = program(&["b 7:0 r".parse().unwrap()]);
        assert_eq!(verdict(&ro, BLOCK, READ, 7, 0), 1);
        assert_eq!(verdict(&ro, BLOCK, READ | WRITE, 7, 0), 0, "write not given");
        assert_eq!(verdict(&ro, CHAR, READ, 7, 0), 0, "a char device of the same numbers");
        assert_eq!(verdict(&program(&[]), CHAR, READ, 1, 3), 0, "no rules: nothing");
        assert_eq!(verdict(&program(&["a".parse().unwrap()]), BLOCK, WRITE, 8, 1), 1);
    }
}
