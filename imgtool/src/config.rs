//! The JSON documents of an image: its config, and the manifests and
//! indexes that point at it (the OCI image spec: config.md, manifest.md,
//! image-index.md, image-layout.md; and `docker save`'s manifest.json).
//!
//! An image's ID is the sha256 of its config file as stored, byte for
//! byte: so the store keeps each config exactly as it came (`docker load`,
//! `podman load`) or as it was made (import, commit), and only reads these
//! types out of it: fields these types do not name are ignored when read
//! and stay in the stored file (a commit's new config has only these).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result, ToolError};

/// A field Docker writes as `null` when empty (`"Cmd": null`).
fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> std::result::Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The part of an image's config that a container uses (Docker's and the
/// OCI config's names, `config` in config.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    /// `"80/tcp": {}` for each port the image says it listens on.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub stop_signal: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub volumes: BTreeMap<String, serde_json::Value>,
}

impl ImageConfig {
    /// Refuses what no container could use: an environment entry that is
    /// not `KEY=VALUE`, a port that is not `PORT[/tcp|udp|sctp]`.
    pub fn validate(&self) -> Result<()> {
        for entry in &self.env {
            if entry.split_once('=').is_none_or(|(k, _)| k.is_empty()) {
                return Err(Error::invalid("environment entry", entry, "expected KEY=VALUE"));
            }
        }
        for port in self.exposed_ports.keys() {
            let (number, proto) = port.split_once('/').unwrap_or((port, "tcp"));
            if number.parse::<u16>().is_err() || !matches!(proto, "tcp" | "udp" | "sctp") {
                return Err(Error::invalid("exposed port", port, "expected PORT[/tcp|udp|sctp]"));
            }
        }
        Ok(())
    }

    /// Applies one Dockerfile-style instruction (`docker commit --change`,
    /// `docker import --change`): CMD, ENTRYPOINT, ENV, WORKDIR, USER,
    /// EXPOSE, LABEL, STOPSIGNAL, VOLUME. CMD and ENTRYPOINT take the JSON
    /// form (`CMD ["sh", "-c", "x"]`) or the shell form (`CMD x y`, run by
    /// `/bin/sh -c`, as Docker does).
    pub fn change(&mut self, instruction: &str) -> Result<()> {
        let bad = |why: &str| Error::invalid("--change", instruction, why);
        let (word, rest) =
            instruction.trim().split_once(char::is_whitespace).unwrap_or((instruction.trim(), ""));
        let rest = rest.trim();
        let command = || -> Result<Vec<String>> {
            if rest.starts_with('[') {
                serde_json::from_str(rest).map_err(|_| bad("expected a JSON array of strings"))
            } else if rest.is_empty() {
                Ok(vec![])
            } else {
                Ok(vec!["/bin/sh".into(), "-c".into(), rest.into()])
            }
        };
        let pairs = || -> Result<Vec<(String, String)>> {
            // `KEY=VALUE …`, or the old `KEY VALUE` form for one pair.
            if !rest.contains('=') {
                let (k, v) = rest
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| bad("expected KEY=VALUE"))?;
                return Ok(vec![(k.into(), v.trim().into())]);
            }
            rest.split_whitespace()
                .map(|kv| {
                    let (k, v) = kv
                        .split_once('=')
                        .filter(|(k, _)| !k.is_empty())
                        .ok_or_else(|| bad("expected KEY=VALUE"))?;
                    Ok((k.into(), v.trim_matches('"').into()))
                })
                .collect()
        };
        match word.to_ascii_uppercase().as_str() {
            "CMD" => self.cmd = command()?,
            "ENTRYPOINT" => self.entrypoint = command()?,
            "ENV" => {
                for (k, v) in pairs()? {
                    self.env.retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(&k));
                    self.env.push(format!("{k}={v}"));
                }
            }
            "LABEL" => self.labels.extend(pairs()?),
            "WORKDIR" if rest.starts_with('/') => self.working_dir = rest.into(),
            "WORKDIR" => return Err(bad("expected an absolute path")),
            "USER" if !rest.is_empty() => self.user = rest.into(),
            "STOPSIGNAL" if !rest.is_empty() => self.stop_signal = rest.into(),
            "EXPOSE" => {
                for port in rest.split_whitespace() {
                    let key =
                        if port.contains('/') { port.to_string() } else { format!("{port}/tcp") };
                    self.exposed_ports.insert(key, serde_json::json!({}));
                }
            }
            "VOLUME" => {
                let paths: Vec<String> = match rest.starts_with('[') {
                    true => serde_json::from_str(rest).map_err(|_| bad("expected a JSON array"))?,
                    false => rest.split_whitespace().map(String::from).collect(),
                };
                for p in paths {
                    self.volumes.insert(p, serde_json::json!({}));
                }
            }
            "USER" | "STOPSIGNAL" => return Err(bad("expected a value")),
            _ => {
                let why = "supported: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR";
                return Err(bad(why));
            }
        }
        self.validate()
    }
}

/// One step of an image's making (`docker history`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True for a step that made no layer (ENV, CMD …).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    /// `sha256:<hex>` of each layer's uncompressed tar, bottom first.
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// An image config file (config.md; Docker's image JSON is a superset).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: ImageConfig,
    pub rootfs: RootFs,
    #[serde(default, deserialize_with = "null_as_default")]
    pub history: Vec<History>,
}

impl ConfigFile {
    /// A new config for layers `diff_ids` (`sha256:` hex), made now.
    pub fn new(config: ImageConfig, diff_ids: Vec<String>, history: Vec<History>) -> ConfigFile {
        ConfigFile {
            created: Some(tool_cli::human::rfc3339(tool_cli::human::now())),
            architecture: std::env::consts::ARCH
                .replace("x86_64", "amd64")
                .replace("aarch64", "arm64"),
            os: "linux".into(),
            config,
            rootfs: RootFs { kind: "layers".into(), diff_ids },
            history,
        }
    }

    /// The layers' digests as plain hex, checked: each must be a sha256.
    pub fn layer_hexes(&self) -> Result<Vec<String>> {
        self.rootfs.diff_ids.iter().map(|d| digest_hex(d).map(String::from)).collect()
    }

    /// Seconds since the epoch of `created` (0 if absent).
    pub fn created_seconds(&self) -> u64 {
        self.created
            .as_deref()
            .and_then(tool_cli::human::parse_rfc3339)
            .map_or(0, |nanos| (nanos / 1_000_000_000) as u64)
    }
}

/// `sha256:<64 hex>` → the hex; anything else is refused (the store names
/// files by it).
pub fn digest_hex(digest: &str) -> Result<&str> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| {
            h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        .ok_or_else(|| Error::invalid("digest", digest, "expected sha256:<64 lowercase hex>"))?;
    Ok(hex)
}

/// A pointer to a blob (descriptor.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest (manifest.md) or an index (image-index.md): the
/// same shape apart from `config`/`layers` and `manifests`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<Descriptor>,
}

/// One image in `docker save`'s manifest.json.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifest {
    pub config: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub repo_tags: Vec<String>,
    pub layers: Vec<String>,
}

pub mod media {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// The tag of an image in an OCI layout's index.json.
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
    /// containerd's (and `docker save`'s) full name of that image.
    pub const IMAGE_NAME: &str = "io.containerd.image.name";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_nulls_read_as_empty() {
        let c: ConfigFile = serde_json::from_str(
            r#"{"config":{"Cmd":null,"Env":["A=1"],"ExposedPorts":{"80/tcp":{}}},"rootfs":{"type":"layers","diff_ids":[]},"history":null}"#,
        )
        .unwrap();
        assert!(c.config.cmd.is_empty());
        assert_eq!(c.config.env, ["A=1"]);
        assert!(c.config.exposed_ports.contains_key("80/tcp"));
    }

    #[test]
    fn changes_are_applied_as_docker_commit_does() {
        let mut c = ImageConfig { env: vec!["A=1".into()], ..Default::default() };
        c.change(r#"CMD ["nginx", "-g", "daemon off;"]"#).unwrap();
        assert_eq!(c.cmd, ["nginx", "-g", "daemon off;"]);
        c.change("ENTRYPOINT echo hi").unwrap();
        assert_eq!(c.entrypoint, ["/bin/sh", "-c", "echo hi"]);
        c.change("ENV A=2 B=3").unwrap();
        assert_eq!(c.env, ["A=2", "B=3"]);
        c.change("EXPOSE 80 53/udp").unwrap();
        assert_eq!(c.exposed_ports.keys().collect::<Vec<_>>(), ["53/udp", "80/tcp"]);
        c.change("LABEL a=b").unwrap();
        c.change("WORKDIR /srv").unwrap();
        c.change("USER 1000:1000").unwrap();
        assert_eq!(
            (c.labels["a"].as_str(), c.working_dir.as_str(), c.user.as_str()),
            ("b", "/srv", "1000:1000")
        );
        assert!(c.change("RUN rm -rf /").is_err());
        assert!(c.change("WORKDIR relative").is_err());
        assert!(c.change("EXPOSE http").is_err());
    }

    #[test]
    fn digests_must_be_sha256_hex() {
        assert!(digest_hex(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(digest_hex("sha256:../../etc").is_err());
        assert!(digest_hex(&format!("sha512:{}", "a".repeat(64))).is_err());
    }
}
