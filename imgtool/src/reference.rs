//! Image names: `NAME[:TAG]`, as Docker spells them.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result, ToolError};

/// A repository name and a tag; the tag defaults to `latest`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    pub repository: String,
    pub tag: String,
}

impl FromStr for Reference {
    type Err = Error;

    /// Lower-case path components of letters and digits joined by `.`, `_`
    /// or `-`, separated by `/`; a tag of up to 128 letters, digits, `_`,
    /// `.` and `-`, not starting with `.` or `-`.
    fn from_str(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("image name", text, why);
        let (repository, tag) = match text.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, tag),
            _ => (text, "latest"),
        };
        if repository.is_empty() {
            return Err(bad("the name is empty"));
        }
        for component in repository.split('/') {
            let ok = !component.is_empty()
                && component
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && component.as_bytes()[0].is_ascii_alphanumeric()
                && component.as_bytes()[component.len() - 1].is_ascii_alphanumeric();
            if !ok {
                return Err(bad("use lower-case letters, digits and '.', '_', '-' between them"));
            }
        }
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            && !tag.starts_with(['.', '-']);
        if !tag_ok {
            return Err(bad("a tag holds up to 128 letters, digits, '_', '.' and '-'"));
        }
        // Docker Hub's names in their familiar form, as Docker shows them:
        // docker.io/library/busybox is busybox, docker.io/me/app is me/app.
        let familiar =
            ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"]
                .iter()
                .find_map(|prefix| repository.strip_prefix(prefix))
                .unwrap_or(repository);
        Ok(Reference { repository: familiar.into(), tag: tag.into() })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tag_is_latest() {
        let r: Reference = "busybox".parse().unwrap();
        assert_eq!(r.to_string(), "busybox:latest");
        assert_eq!("my/app:1.2-rc".parse::<Reference>().unwrap().tag, "1.2-rc");
        let hub: Reference = "docker.io/library/busybox:1".parse().unwrap();
        assert_eq!(hub.to_string(), "busybox:1");
        assert_eq!("docker.io/me/app".parse::<Reference>().unwrap().to_string(), "me/app:latest");
        assert_eq!(
            "localhost/app".parse::<Reference>().unwrap().to_string(),
            "localhost/app:latest"
        );
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "Busybox", "a b", "-x", "x-", "a//b", "a:", "a:-x", "a:b/c/", ":x"] {
            assert!(bad.parse::<Reference>().is_err(), "{bad:?} was accepted");
        }
    }
}
