//! What a container's processes may do: Docker's `--cap-add`,
//! `--cap-drop`, `--privileged` and `--security-opt`, turned into the
//! flags of the exec end of the chain (`privs::Security`: `rootfs enter`
//! for the container's own processes, `ns-exec --target` for `exec`).
//!
//! The defaults: Podman's eleven capabilities and NET_RAW (`privs::caps::DEFAULT`), the
//! default seccomp profile, /proc's masks, /sys read-only. `--privileged`
//! undoes all four. A profile given as a file is kept in the container's
//! record (as Docker does) and written to its directory as `seccomp.json`
//! for the tools at each start, so later starts and every `exec` use the
//! profile the container was made with, whatever becomes of the file.

use std::path::Path;

use privs::caps::CapSet;
use privs::{SeccompChoice, Security};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ToolError};

/// The container's record of it (in config.json).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityConfig {
    /// The capabilities kept, `CAP_` names.
    pub caps: Vec<String>,
    pub no_new_privileges: bool,
    /// "default", "unconfined", or "profile" (the text below).
    pub seccomp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<String>,
    pub privileged: bool,
}

/// A record from before hardening gets today's defaults.
impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            caps: CapSet::default_set().names(),
            no_new_privileges: false,
            seccomp: "default".into(),
            seccomp_profile: None,
            privileged: false,
        }
    }
}

/// The run flags this comes from.
pub struct Flags<'a> {
    pub cap_add: &'a [String],
    pub cap_drop: &'a [String],
    pub privileged: bool,
    pub security_opts: &'a [String],
}

impl SecurityConfig {
    /// Checks the flags: names, options, a profile that compiles.
    pub fn from_flags(flags: &Flags) -> Result<SecurityConfig> {
        let base = if flags.privileged { CapSet::all() } else { CapSet::default_set() };
        let caps = base.adjust(flags.cap_add, flags.cap_drop)?;
        let mut config = SecurityConfig {
            caps: caps.names(),
            no_new_privileges: false,
            seccomp: if flags.privileged { "unconfined" } else { "default" }.into(),
            seccomp_profile: None,
            privileged: flags.privileged,
        };
        let mut profile = None;
        for opt in flags.security_opts {
            // Docker takes both KEY=VALUE and KEY:VALUE.
            let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
            match (key, value) {
                ("no-new-privileges", "" | "true") => config.no_new_privileges = true,
                ("no-new-privileges", "false") => config.no_new_privileges = false,
                ("seccomp", "unconfined") => config.seccomp = "unconfined".into(),
                ("seccomp", "") => {
                    return Err(Error::invalid("--security-opt", opt, "seccomp=unconfined|FILE"))
                }
                ("seccomp", file) => profile = Some(file.parse::<SeccompChoice>()?),
                _ => {
                    let why = "supported: no-new-privileges[=true|false], seccomp=unconfined|FILE";
                    return Err(Error::invalid("--security-opt", opt, why));
                }
            }
        }
        if let Some(choice) = &profile {
            // Compiled once here, so a profile that will not load is
            // refused by run rather than by the container's start.
            let check =
                Security { caps: Some(caps), seccomp: profile.clone(), ..Default::default() };
            check.prepare()?;
            let SeccompChoice::File { text, .. } = choice else {
                unreachable!("parsed from a file")
            };
            config.seccomp = "profile".into();
            config.seccomp_profile = Some(text.clone());
        }
        Ok(config)
    }

    /// The tool flags (what `rootfs enter` and `ns-exec --target` take) for
    /// the container whose directory is `dir`.
    pub fn tool_flags(&self, dir: &Path) -> Result<Vec<String>> {
        let caps = self.caps.join(",").parse::<CapSet>()?;
        let seccomp = match self.seccomp.as_str() {
            "profile" => SeccompChoice::File { path: profile_path(dir), text: String::new() },
            other => other.parse::<SeccompChoice>()?,
        };
        let security = Security {
            caps: Some(caps),
            no_new_privs: self.no_new_privileges,
            seccomp: Some(seccomp),
        };
        Ok(security.to_args())
    }

    /// Writes the container's profile where [`Self::tool_flags`] says it is.
    pub fn write_profile(&self, dir: &Path) -> Result<()> {
        if let Some(text) = &self.seccomp_profile {
            let path = profile_path(dir);
            std::fs::write(&path, text).map_err(Error::io("write", &path))?;
        }
        Ok(())
    }
}

fn profile_path(dir: &Path) -> String {
    dir.join("seccomp.json").display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags<'a>(add: &'a [String], drop: &'a [String], opts: &'a [String]) -> Flags<'a> {
        Flags { cap_add: add, cap_drop: drop, privileged: false, security_opts: opts }
    }

    #[test]
    fn defaults_adjustments_and_privileged() {
        let default = SecurityConfig::from_flags(&flags(&[], &[], &[])).unwrap();
        assert_eq!(default, SecurityConfig::default());
        let add = ["NET_RAW".to_string()];
        let drop = ["chown".to_string()];
        let opts = ["no-new-privileges".to_string(), "seccomp=unconfined".to_string()];
        let c = SecurityConfig::from_flags(&flags(&add, &drop, &opts)).unwrap();
        assert!(c.caps.contains(&"CAP_NET_RAW".into()) && !c.caps.contains(&"CAP_CHOWN".into()));
        assert!(c.no_new_privileges && c.seccomp == "unconfined");
        let all = Flags { privileged: true, ..flags(&[], &[], &[]) };
        let p = SecurityConfig::from_flags(&all).unwrap();
        assert!(
            p.privileged && p.seccomp == "unconfined" && p.caps.contains(&"CAP_SYS_ADMIN".into())
        );
    }

    #[test]
    fn bad_flags_are_refused() {
        let bad = ["CAP_NOPE".to_string()];
        assert!(SecurityConfig::from_flags(&flags(&bad, &[], &[])).is_err());
        for opt in
            ["apparmor=x", "seccomp=", "seccomp=/no/such/profile.json", "no-new-privileges=maybe"]
        {
            let opts = [opt.to_string()];
            assert!(SecurityConfig::from_flags(&flags(&[], &[], &opts)).is_err(), "{opt}");
        }
    }
}
