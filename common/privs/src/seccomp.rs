//! The seccomp filter (seccomp(2), seccomp_rule_add(3)): which system calls
//! a container's processes may make at all.
//!
//! Capabilities decide what a permitted call may do; seccomp decides which
//! calls reach the kernel. It is the line of defence for what capabilities
//! do not guard: `unshare(CLONE_NEWUSER)` needs no capability, and a user
//! namespace hands its creator a full set of capabilities over new
//! namespaces' objects — the start of many kernel exploits; the kernel
//! keyring is not namespaced; io_uring bypasses per-call filtering.
//!
//! Profiles are in **Docker's JSON format** (`defaultAction`,
//! `architectures` or `archMap`, `syscalls[]` with `names`, `action`,
//! `errnoRet`, `args` and `includes`/`excludes` by capability, arch and
//! kernel), so a Docker or Podman profile works unchanged; the built-in
//! default ([`DEFAULT_PROFILE`], `profiles/default.json`) is an allow-list
//! in that format. [`Profile::program`] turns it into a BPF program with
//! libseccomp — the library runc, crun and Podman use, which knows every
//! architecture's call numbers and how to compare 64-bit arguments on
//! 32-bit ones. A call a profile names but this kernel's libseccomp does
//! not know is skipped, as Docker does.
//!
//! Building the program takes libseccomp about 10 ms here (the default
//! profile is ~950 instructions over three x86 ABIs): more than the rest of
//! a container's start. So [`cached`] keeps each program in a directory,
//! named by a hash of all it depends on, and a start loads the cached
//! program with prctl(2) `PR_SET_SECCOMP` ([`Program::load`]), which takes
//! microseconds.
//!
//! The filter is loaded after no_new_privs when that is set, else while
//! CAP_SYS_ADMIN is still held, the two conditions under which the kernel
//! accepts a filter ([`crate::Prepared::apply`] gives the order).

use std::collections::HashSet;
use std::io::{Read, Seek};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tool_cli::error::invalid;
use tool_cli::{Invalid, Sys};

use crate::caps::{self, CapSet};

/// dockerish's default profile (Docker's format).
pub const DEFAULT_PROFILE: &str = include_str!("../profiles/default.json");

/// A profile in Docker's format. Unknown fields (comments, `flags`,
/// `listenerPath`) are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Where it came from, for errors ("default" for the built-in one).
    #[serde(skip)]
    pub source: String,
    pub default_action: String,
    #[serde(default, deserialize_with = "nullable")]
    pub default_errno_ret: Option<i32>,
    #[serde(default, deserialize_with = "nullable")]
    pub architectures: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub arch_map: Vec<ArchMap>,
    #[serde(default, deserialize_with = "nullable")]
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: String,
    #[serde(default, deserialize_with = "nullable")]
    pub sub_architectures: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default, deserialize_with = "nullable")]
    pub names: Vec<String>,
    /// The old format's single name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<String>,
    pub action: String,
    #[serde(default, deserialize_with = "nullable")]
    pub errno_ret: Option<i32>,
    #[serde(default, deserialize_with = "nullable")]
    pub args: Vec<Arg>,
    #[serde(default, deserialize_with = "nullable")]
    pub includes: Filter,
    #[serde(default, deserialize_with = "nullable")]
    pub excludes: Filter,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub value_two: u64,
    pub op: String,
}

/// When a rule applies: the container holds all `caps` (includes) or none
/// of them (excludes); the machine is one of `arches`; the kernel is at
/// least `min_kernel`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default, deserialize_with = "nullable")]
    pub caps: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub arches: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub min_kernel: Option<String>,
}

/// What the filter is for: the container's capabilities (for
/// includes/excludes) and the machine.
pub struct Target {
    pub caps: CapSet,
    /// The native architecture as profiles name it ("x86_64", "amd64" …).
    pub arches: Vec<&'static str>,
    pub kernel: (u32, u32),
}

impl Target {
    pub fn here(caps: CapSet) -> Target {
        let arches = match std::env::consts::ARCH {
            "x86_64" => vec!["amd64", "x86_64", "SCMP_ARCH_X86_64"],
            "aarch64" => vec!["arm64", "aarch64", "SCMP_ARCH_AARCH64"],
            other => vec![other],
        };
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        Target { caps, arches, kernel: kernel_version(&release).unwrap_or((0, 0)) }
    }
}

/// Docker's profiles write `null` where a list is empty ("args": null).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn kernel_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

impl Profile {
    pub fn parse(text: &str, source: &str) -> Result<Profile, Invalid> {
        let mut profile: Profile = serde_json::from_str(text)
            .map_err(|e| invalid("seccomp profile", source, format!("not Docker's format: {e}")))?;
        profile.source = source.to_string();
        Ok(profile)
    }

    /// The BPF program for `target`, ready to load.
    pub fn program(&self, target: &Target) -> Result<Program, Invalid> {
        let filter = self.compile(target)?;
        let failed = |e: &dyn std::fmt::Display| {
            invalid("seccomp profile", self.source.clone(), format!("export the program: {e}"))
        };
        let fd = nix::sys::memfd::memfd_create(c"seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(|e| failed(&e))?;
        filter.export_bpf(fd.as_fd()).map_err(|e| failed(&e))?;
        let mut file = std::fs::File::from(fd);
        let mut bytes = Vec::new();
        file.rewind()
            .and_then(|()| file.read_to_end(&mut bytes).map(drop))
            .map_err(|e| failed(&e))?;
        Ok(Program(bytes))
    }

    /// The filter in libseccomp's terms. Checks everything a profile can get
    /// wrong (actions, operators, arches, capability names), so a bad
    /// profile is refused before the container starts.
    pub fn compile(&self, target: &Target) -> Result<ScmpFilterContext, Invalid> {
        let bad = |why: String| invalid("seccomp profile", self.source.clone(), why);
        // The helpers' errors, with the profile they are about.
        let wrap = |e: Invalid| bad(format!("{} {:?}: {}", e.what, e.value, e.why));
        let lib = |what: &str, e: libseccomp::error::SeccompError| bad(format!("{what}: {e}"));
        let default = action(&self.default_action, self.default_errno_ret)
            .map_err(|e| bad(format!("defaultAction: {}", e.why)))?;
        let mut filter = ScmpFilterContext::new(default).map_err(|e| lib("init", e))?;
        // no_new_privs is ours to set or not (Security::apply), never
        // libseccomp's side effect of loading.
        filter.set_ctl_nnp(false).map_err(|e| lib("attribute", e))?;
        for arch in self.arches().map_err(wrap)? {
            if !filter.is_arch_present(arch).map_err(|e| lib("arch", e))? {
                filter.add_arch(arch).map_err(|e| lib("add arch", e))?;
            }
        }
        for rule in &self.syscalls {
            if !applies(rule, target).map_err(wrap)? {
                continue;
            }
            let act = action(&rule.action, rule.errno_ret).map_err(wrap)?;
            if act == default {
                continue; // libseccomp refuses a rule that changes nothing
            }
            let conditions: Vec<ScmpArgCompare> =
                rule.args.iter().map(compare).collect::<Result<_, _>>().map_err(wrap)?;
            // Conditions on one argument cannot be AND-ed by libseccomp: as
            // Docker, each becomes a rule of its own (OR).
            let mut indexes = HashSet::new();
            let repeated = !rule.args.iter().all(|a| indexes.insert(a.index));
            let groups: Vec<Vec<ScmpArgCompare>> = if repeated {
                conditions.iter().map(|c| vec![*c]).collect()
            } else {
                vec![conditions]
            };
            for name in rule.names.iter().chain(&rule.name) {
                let Ok(call) = ScmpSyscall::from_name(name) else { continue };
                for group in &groups {
                    filter
                        .add_rule_conditional(act, call, group)
                        .map_err(|e| lib(&format!("rule for {name}"), e))?;
                }
            }
        }
        Ok(filter)
    }

    /// The architectures the filter covers: the native one, those listed,
    /// and the sub-architectures `archMap` gives the native one (x86 and
    /// x32 on x86_64). A call from any other is refused by the kernel's
    /// "bad arch" action (the process is killed).
    fn arches(&self) -> Result<Vec<ScmpArch>, Invalid> {
        let parse = |name: &String| {
            name.parse::<ScmpArch>()
                .map_err(|_| invalid("seccomp architecture", name, "not one libseccomp knows"))
        };
        let native = ScmpArch::native();
        let mut out = vec![native];
        for name in &self.architectures {
            out.push(parse(name)?);
        }
        for map in &self.arch_map {
            if parse(&map.architecture)? == native {
                for sub in &map.sub_architectures {
                    out.push(parse(sub)?);
                }
            }
        }
        Ok(out)
    }
}

fn action(name: &str, errno: Option<i32>) -> Result<ScmpAction, Invalid> {
    let errno = match name {
        "SCMP_ACT_ERRNO" => Some(errno.unwrap_or(libc::EPERM)),
        "SCMP_ACT_TRACE" => Some(errno.unwrap_or(libc::EPERM)),
        _ => None,
    };
    match ScmpAction::from_str(name, errno) {
        // A notify action needs a listener (a supervisor that answers
        // for the kernel): not something dockerish has.
        Ok(ScmpAction::Notify) => {
            Err(invalid("seccomp action", name, "needs a listener, which dockerish does not run"))
        }
        Ok(action) => Ok(action),
        Err(_) => Err(invalid("seccomp action", name, "not an SCMP_ACT_* action")),
    }
}

fn compare(arg: &Arg) -> Result<ScmpArgCompare, Invalid> {
    let op = match arg.op.as_str() {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        // Docker's format: `value` is the mask, `valueTwo` what the masked
        // argument must equal.
        "SCMP_CMP_MASKED_EQ" => {
            let op = ScmpCompareOp::MaskedEqual(arg.value);
            return Ok(ScmpArgCompare::new(arg.index, op, arg.value_two));
        }
        other => return Err(invalid("seccomp operator", other, "not an SCMP_CMP_* operator")),
    };
    Ok(ScmpArgCompare::new(arg.index, op, arg.value))
}

/// A compiled filter: `struct sock_filter` instructions, 8 bytes each, as
/// seccomp_export_bpf(3) writes them.
#[derive(Debug)]
pub struct Program(Vec<u8>);

impl Program {
    /// A program written by [`cached`].
    pub fn read(path: &Path) -> Result<Program, Invalid> {
        let bad = |why: String| invalid("seccomp program", path.display().to_string(), why);
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        if bytes.is_empty() || bytes.len() % 8 != 0 || bytes.len() / 8 > usize::from(u16::MAX) {
            return Err(bad(format!("{} bytes is not a BPF program", bytes.len())));
        }
        Ok(Program(bytes))
    }

    /// prctl(2) `PR_SET_SECCOMP`, `SECCOMP_MODE_FILTER`: from now on every
    /// system call of this process and its children goes through it.
    pub fn load(&self) -> Result<(), Sys> {
        let prog = libc::sock_fprog {
            len: (self.0.len() / 8) as u16,
            filter: self.0.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `prog` points at whole sock_filter records that live
        // until the call returns (the kernel copies them).
        let rc = unsafe {
            libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog as *const _, 0, 0)
        };
        if rc != 0 {
            return Err(Sys::new("load", "the seccomp filter", nix::errno::Errno::last()));
        }
        Ok(())
    }
}

/// Where [`cached`] keeps the program of `text` (a profile) for a
/// container that keeps `caps`: the name hashes all the program depends
/// on, the profile, the capabilities, the kernel's version (`minKernel`)
/// and the architecture.
pub fn cache_path(dir: &Path, text: &str, caps: CapSet) -> PathBuf {
    let mut key = Sha256::new();
    key.update(text.as_bytes());
    key.update(caps.0.to_le_bytes());
    key.update(format!("{:?} {}", Target::here(caps).kernel, std::env::consts::ARCH));
    dir.join(format!("{}.bpf", hex::encode(&key.finalize()[..16])))
}

/// The program of `text` for a container that keeps `caps`, from the cache
/// in `dir` ([`cache_path`]), built and stored there (atomically) on a miss.
pub fn cached(dir: &Path, text: &str, caps: CapSet) -> Result<PathBuf, Invalid> {
    let path = cache_path(dir, text, caps);
    if path.exists() {
        return Ok(path);
    }
    let program = Profile::parse(text, "seccomp profile")?.program(&Target::here(caps))?;
    let bad =
        |e: std::io::Error| invalid("seccomp cache", dir.display().to_string(), e.to_string());
    std::fs::create_dir_all(dir).map_err(bad)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{}.{name}", std::process::id()));
    std::fs::write(&tmp, &program.0).and_then(|()| std::fs::rename(&tmp, &path)).map_err(bad)?;
    Ok(path)
}

/// Whether `rule` is for this container and machine.
fn applies(rule: &Rule, target: &Target) -> Result<bool, Invalid> {
    let cap = |name: &String| {
        caps::number(name)
            .ok_or_else(|| invalid("capability in a seccomp profile", name, "unknown"))
    };
    for name in &rule.includes.caps {
        if !target.caps.contains(cap(name)?) {
            return Ok(false);
        }
    }
    for name in &rule.excludes.caps {
        if target.caps.contains(cap(name)?) {
            return Ok(false);
        }
    }
    let ours = |arches: &[String]| arches.iter().any(|a| target.arches.contains(&a.as_str()));
    if !rule.includes.arches.is_empty() && !ours(&rule.includes.arches) {
        return Ok(false);
    }
    if ours(&rule.excludes.arches) {
        return Ok(false);
    }
    if let Some(min) = &rule.includes.min_kernel {
        let min = kernel_version(min)
            .ok_or_else(|| invalid("minKernel in a seccomp profile", min, "expected X.Y"))?;
        if target.kernel < min {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(caps: CapSet) -> Target {
        Target { caps, arches: vec!["amd64", "x86_64"], kernel: (6, 1) }
    }

    #[test]
    fn the_default_profile_compiles_for_the_default_and_all_capabilities() {
        let profile = Profile::parse(DEFAULT_PROFILE, "default").unwrap();
        profile.compile(&target(CapSet::default_set())).unwrap();
        profile.compile(&target(CapSet::all())).unwrap();
    }

    #[test]
    fn rules_follow_the_containers_capabilities() {
        let profile = Profile::parse(DEFAULT_PROFILE, "default").unwrap();
        let mount = profile.syscalls.iter().find(|r| r.names.iter().any(|n| n == "mount")).unwrap();
        assert!(!applies(mount, &target(CapSet::default_set())).unwrap());
        assert!(applies(mount, &target(CapSet::all())).unwrap());
    }

    #[test]
    fn bad_profiles_are_refused_with_what_is_wrong() {
        let t = target(CapSet::default_set());
        let parse = |text: &str| Profile::parse(text, "test");
        assert!(parse("{").is_err());
        let act = parse(r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
        assert!(act.compile(&t).unwrap_err().why.contains("defaultAction"));
        let op = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}"#,
        )
        .unwrap();
        assert!(op.compile(&t).is_err());
        let arch =
            parse(r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#);
        assert!(arch.unwrap().compile(&t).is_err());
    }

    #[test]
    fn a_program_is_cached_once_and_read_back_whole() {
        let dir = std::env::temp_dir().join(format!("privs-cache-{}", std::process::id()));
        let caps = CapSet::default_set();
        let path = cached(&dir, DEFAULT_PROFILE, caps).unwrap();
        let made = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(cached(&dir, DEFAULT_PROFILE, caps).unwrap(), path, "a hit");
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), made, "not rebuilt");
        assert_ne!(
            cached(&dir, DEFAULT_PROFILE, CapSet::all()).unwrap(),
            path,
            "caps are in the key"
        );
        let program = Program::read(&path).unwrap();
        assert!(program.0.len() > 1000 && program.0.len() % 8 == 0);
        std::fs::write(dir.join("torn.bpf"), [0u8; 12]).unwrap();
        assert!(Program::read(&dir.join("torn.bpf"))
            .unwrap_err()
            .why
            .contains("not a BPF program"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_calls_are_skipped_and_min_kernel_is_honoured() {
        let t = target(CapSet::default_set());
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "9.0"}}]}"#;
        let profile = Profile::parse(text, "test").unwrap();
        profile.compile(&t).unwrap();
        assert!(!applies(&profile.syscalls[1], &t).unwrap());
    }
}
