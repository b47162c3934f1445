//! `-u USER[:GROUP]`: a user and group by name or number, resolved in the
//! container's /etc/passwd and /etc/group (passwd(5), group(5)), as Docker
//! does it:
//!
//! - a name is looked up; a number is taken as it is, found or not;
//! - without a group, the user's primary group from passwd (0 if the user
//!   is only a number unknown to passwd);
//! - the supplementary groups are those of /etc/group that list the user
//!   by name (none for a numeric user without a passwd entry).
//!
//! [`Ids::apply`] then changes the credentials in the only order that
//! works: setgroups(2), setresgid(2), setresuid(2) — after setuid a
//! process can no longer change its groups.

use std::str::FromStr;

use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use tool_cli::error::invalid;
use tool_cli::{Invalid, Sys};

/// `USER[:GROUP]` as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    pub user: String,
    pub group: Option<String>,
}

impl FromStr for UserSpec {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        let (user, group) = match text.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (text, None),
        };
        let ok = |s: &str| !s.is_empty() && !s.contains(['\n', ':', '/']);
        if !ok(user) || group.is_some_and(|g| !ok(g)) {
            return Err(invalid("user", text, "expected USER[:GROUP], by name or number"));
        }
        Ok(UserSpec { user: user.into(), group: group.map(String::from) })
    }
}

impl std::fmt::Display for UserSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.group {
            Some(g) => write!(f, "{}:{g}", self.user),
            None => f.write_str(&self.user),
        }
    }
}

/// The numeric identity a [`UserSpec`] resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (the primary one is added by [`Ids::apply`]).
    pub groups: Vec<u32>,
}

impl UserSpec {
    /// Resolves against the text of /etc/passwd and /etc/group.
    pub fn resolve(&self, passwd: &str, group: &str) -> Result<Ids, Invalid> {
        let bad = |why: String| invalid("user", self.to_string(), why);
        // passwd(5): name:password:UID:GID:gecos:home:shell
        let entries: Vec<Vec<&str>> = passwd.lines().map(|l| l.split(':').collect()).collect();
        let entry =
            entries.iter().find(|f| f.len() >= 4 && (f[0] == self.user || f[2] == self.user));
        let uid = match (self.user.parse::<u32>(), entry) {
            (Ok(uid), _) => uid,
            (Err(_), Some(f)) => {
                f[2].parse().map_err(|_| bad(format!("bad UID {:?} in passwd", f[2])))?
            }
            (Err(_), None) => {
                return Err(bad(format!(
                    "unable to find user {}: no matching entries in passwd file",
                    self.user
                )))
            }
        };
        // group(5): name:password:GID:member,member
        let groups: Vec<Vec<&str>> = group.lines().map(|l| l.split(':').collect()).collect();
        let gid = match &self.group {
            None => entry.and_then(|f| f[3].parse().ok()).unwrap_or(0),
            Some(g) => match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => groups
                    .iter()
                    .find(|f| f.len() >= 3 && f[0] == g)
                    .and_then(|f| f[2].parse().ok())
                    .ok_or_else(|| {
                        bad(format!("unable to find group {g}: no matching entries in group file"))
                    })?,
            },
        };
        let name = entry.map(|f| f[0]);
        let mut supplementary: Vec<u32> = groups
            .iter()
            .filter(|f| f.len() >= 4 && name.is_some_and(|n| f[3].split(',').any(|m| m == n)))
            .filter_map(|f| f[2].parse().ok())
            .filter(|g| *g != gid)
            .collect();
        supplementary.sort_unstable();
        supplementary.dedup();
        Ok(Ids { uid, gid, groups: supplementary })
    }

    /// Resolves in the files of the current root (the container's, once
    /// the caller has entered it); a missing file counts as empty.
    pub fn resolve_here(&self) -> Result<Ids, Invalid> {
        self.resolve_here_with(&[])
    }

    /// [`Self::resolve_here`], plus the groups `extra` (Docker's
    /// `--group-add`: names in the container's /etc/group, or numbers).
    pub fn resolve_here_with(&self, extra: &[String]) -> Result<Ids, Invalid> {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let group = read("/etc/group");
        let mut ids = self.resolve(&read("/etc/passwd"), &group)?;
        ids.add_groups(extra, &group)?;
        Ok(ids)
    }
}

/// The gid of group `name` (a name or a number) in the text of /etc/group.
fn group_id(name: &str, group: &str) -> Result<u32, Invalid> {
    if let Ok(gid) = name.parse() {
        return Ok(gid);
    }
    group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[0] == name)
        .and_then(|f| f[2].parse().ok())
        .ok_or_else(|| {
            let why = format!("unable to find group {name}: no matching entries in group file");
            invalid("group", name, why)
        })
}

impl Ids {
    /// Adds supplementary groups by name (in the text of /etc/group) or number.
    pub fn add_groups(&mut self, names: &[String], group: &str) -> Result<(), Invalid> {
        for name in names {
            let gid = group_id(name, group)?;
            if gid != self.gid && !self.groups.contains(&gid) {
                self.groups.push(gid);
            }
        }
        self.groups.sort_unstable();
        Ok(())
    }

    /// setgroups, setresgid, setresuid: see the module docs for the order.
    pub fn apply(&self) -> Result<(), Sys> {
        let sys = |what: &'static str, target: u32| move |source| Sys::new(what, target, source);
        let gid = Gid::from_raw(self.gid);
        let groups: Vec<Gid> =
            std::iter::once(gid).chain(self.groups.iter().map(|g| Gid::from_raw(*g))).collect();
        setgroups(&groups).map_err(sys("set groups of", self.gid))?;
        setresgid(gid, gid, gid).map_err(sys("set group ID to", self.gid))?;
        let uid = Uid::from_raw(self.uid);
        setresuid(uid, uid, uid).map_err(sys("set user ID to", self.uid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nweb:x:33:33::/srv:/bin/sh\n";
    const GROUP: &str =
        "root:x:0:\nwww:x:33:\nlogs:x:4:web,other\ndocker:x:999:web\nnogroup:x:65534:\n";

    fn resolve(spec: &str) -> Result<Ids, Invalid> {
        spec.parse::<UserSpec>()?.resolve(PASSWD, GROUP)
    }

    #[test]
    fn names_and_numbers_like_docker() {
        assert_eq!(resolve("web").unwrap(), Ids { uid: 33, gid: 33, groups: vec![4, 999] });
        assert_eq!(resolve("nobody").unwrap(), Ids { uid: 65534, gid: 65534, groups: vec![] });
        assert_eq!(resolve("33:logs").unwrap(), Ids { uid: 33, gid: 4, groups: vec![999] });
        assert_eq!(
            resolve("1234").unwrap(),
            Ids { uid: 1234, gid: 0, groups: vec![] },
            "a number need not exist"
        );
        assert_eq!(resolve("1234:77").unwrap(), Ids { uid: 1234, gid: 77, groups: vec![] });
    }

    #[test]
    fn unknown_names_and_bad_specs_are_refused() {
        assert!(resolve("ghost").unwrap_err().why.contains("no matching entries in passwd file"));
        assert!(resolve("web:ghosts")
            .unwrap_err()
            .why
            .contains("no matching entries in group file"));
        for bad in ["", ":0", "web:", "a/b", "a:b:c"] {
            assert!(bad.parse::<UserSpec>().is_err(), "{bad:?}");
        }
    }
}
