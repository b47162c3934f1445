//! The image store on disk.
//!
//! ```text
//! ROOT/images/
//!   index.json          images (id → layers, config) and tags (name:tag → id)
//!   index.lock          flock(2)ed around every read-modify-write of the index
//!   layers/<sha256>/    one extracted layer, named by the sha256 of its tar
//!   layers/tmp-PID-*/   an extraction in progress by process PID (renamed when complete)
//! ```
//!
//! A load or commit killed half-way leaves at most a `tmp-PID-*`
//! directory (the index is replaced by rename, a layer appears by rename):
//! [`Store::leftovers`] finds those whose process is gone, the next
//! extraction and `imgtool check --repair` remove them. A layer renamed into
//! place by a command killed before it recorded the image is kept: the next
//! import of the same tar uses it.
//!
//! A layer is named by the digest of its uncompressed tar, so the same tar
//! imported twice is stored once, and a layer directory, once renamed into
//! place, never changes. An image is an ordered list of layers (bottom
//! first) plus its config; its ID is the sha256 of that description.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use json_store::Lock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result, ToolError};
use crate::reference::Reference;
use crate::unpack;

/// How an extraction directory's name starts.
const TMP_PREFIX: &str = "tmp-";

/// The part of an image's config that a container uses (Docker's names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default)]
    pub user: String,
}

impl ImageConfig {
    /// Refuses what no container could use: an environment entry that is
    /// not `KEY=VALUE`.
    pub fn validate(&self) -> Result<()> {
        for entry in &self.env {
            if entry.split_once('=').is_none_or(|(k, _)| k.is_empty()) {
                return Err(Error::invalid("environment entry", entry, "expected KEY=VALUE"));
            }
        }
        Ok(())
    }
}

/// An image as stored in the index.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ImageRecord {
    created: u64,
    /// Layer digests (hex sha256), bottom first.
    layers: Vec<String>,
    config: ImageConfig,
    size: u64,
    #[serde(default)]
    comment: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    /// Image ID (hex sha256) → image.
    images: BTreeMap<String, ImageRecord>,
    /// `name:tag` → image ID.
    tags: BTreeMap<String, String>,
}

/// One layer of an image as `inspect` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// `sha256:<hex>` of the layer's tar.
    pub digest: String,
    /// The extracted directory, for overlayfs.
    pub path: PathBuf,
}

/// What `imgtool inspect` prints, and what `dockerish` reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// `sha256:<hex>`.
    pub id: String,
    pub repo_tags: Vec<String>,
    /// Seconds since the epoch.
    pub created: u64,
    pub size: u64,
    /// Bottom first (overlayfs wants the reverse: topmost first).
    pub layers: Vec<LayerInfo>,
    pub config: ImageConfig,
    pub comment: String,
}

impl ImageInfo {
    /// The ID without `sha256:`, cut to Docker's 12 characters.
    pub fn short_id(&self) -> &str {
        let hex = self.id.trim_start_matches("sha256:");
        &hex[..12.min(hex.len())]
    }
}

/// An image store under a state root.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store of state root `root` (`ROOT/images`), created if missing.
    pub fn open(root: &Path) -> Result<Store> {
        let dir = root.join("images");
        fs::create_dir_all(dir.join("layers")).map_err(Error::io("create", &dir))?;
        Ok(Store { dir })
    }

    fn layer_dir(&self, digest: &str) -> PathBuf {
        self.dir.join("layers").join(digest)
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    fn lock(&self) -> Result<Lock> {
        Ok(Lock::exclusive(&self.dir.join("index.lock"))?)
    }

    /// Reads the index. Writers replace it by rename(2), so a reader needs
    /// no lock to see a whole one.
    fn read_index(&self) -> Result<Index> {
        Ok(json_store::read_json(&self.index_path())?.unwrap_or_default())
    }

    /// Writes the index atomically (json-store: write, fsync, rename).
    /// The caller holds the lock, so no writer is at work: a temporary file
    /// that a killed one left is removed first.
    fn write_index(&self, index: &Index) -> Result<()> {
        json_store::remove_stale_temps(&self.dir)?;
        Ok(json_store::write_json(&self.index_path(), index)?)
    }

    /// Imports a flat root filesystem tar (what `docker export` writes) as
    /// a one-layer image named `name`. Returns the new image.
    pub fn import(
        &self,
        archive: impl Read,
        name: &Reference,
        config: ImageConfig,
        comment: &str,
    ) -> Result<ImageInfo> {
        config.validate()?;
        let (digest, size) = self.add_layer(archive)?;
        self.add_image(name, vec![digest], config, size, comment, tool_cli::human::now())
    }

    /// Makes a new image from `parent`'s layers with directory `dir` as one
    /// more layer on top (`docker commit`: `dir` is a container's writable
    /// layer). The directory is packed into a tar, so the new layer gets its
    /// digest like any other and `dir` may change afterwards. overlayfs
    /// whiteouts (0/0 character devices) are kept as such, so a file the
    /// container deleted stays deleted in the new image.
    pub fn commit(
        &self,
        parent: Option<&str>,
        dir: &Path,
        name: &Reference,
        comment: &str,
    ) -> Result<ImageInfo> {
        let parent = parent.map(|p| self.inspect(p)).transpose()?;
        let mut tar = tempfile::tempfile_in(&self.dir)
            .map_err(Error::io("create a temporary file in", &self.dir))?;
        let mut builder = tar::Builder::new(&mut tar);
        builder.follow_symlinks(false);
        builder
            .append_dir_all(".", dir)
            .and_then(|()| builder.finish())
            .map_err(Error::io("pack", dir))?;
        drop(builder);
        io::Seek::rewind(&mut tar).map_err(Error::io("read back the layer of", dir))?;
        let (digest, size) = self.add_layer(io::BufReader::new(tar))?;
        let (mut layers, config, base_size) = match parent {
            Some(p) => (
                p.layers
                    .iter()
                    .map(|l| l.digest.trim_start_matches("sha256:").to_string())
                    .collect(),
                p.config,
                p.size,
            ),
            None => (vec![], ImageConfig::default(), 0),
        };
        layers.push(digest);
        self.add_image(name, layers, config, base_size + size, comment, tool_cli::human::now())
    }

    /// Extracts a layer tar into `layers/`, hashing it on the way. A failed
    /// extraction leaves nothing behind.
    fn add_layer(&self, archive: impl Read) -> Result<(String, u64)> {
        for dead in self.leftovers() {
            let _ = remove_tree(&dead);
        }
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{TMP_PREFIX}{}-", std::process::id()))
            .tempdir_in(self.dir.join("layers"))
            .map_err(Error::io("create a directory in", self.dir.join("layers")))?;
        let mut hashing = HashingReader { inner: archive, hasher: Sha256::new() };
        let unpacked = unpack::unpack(&mut hashing, tmp.path())?;
        // The tar crate stops at the end-of-archive marker; the digest is
        // of the whole file, padding included, as sha256sum would see it.
        io::copy(&mut hashing, &mut io::sink()).map_err(Error::io("read", "the archive"))?;
        let digest = hex::encode(hashing.hasher.finalize());
        let dest = self.layer_dir(&digest);
        let tmp = tmp.keep();
        match fs::rename(&tmp, &dest) {
            Ok(()) => {}
            // Stored already (ENOTEMPTY/EEXIST): keep the one in place.
            Err(_) if dest.is_dir() => remove_tree(&tmp)?,
            Err(e) => {
                let _ = remove_tree(&tmp);
                return Err(Error::io("rename layer to", &dest)(e));
            }
        }
        Ok((digest, unpacked.size))
    }

    /// The extraction directories of processes that are gone (killed).
    /// A process is told by its PID alone, in our pid namespace: one reused
    /// since is taken for the extractor (its directory waits for the next
    /// look), and stores shared by imgtools of different pid namespaces
    /// are not supported.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.dir.join("layers")) else { return vec![] };
        entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else {
                    return false;
                };
                // `tmp-PID-…`; an older version's `tmp-…` has no owner to wait for.
                let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
                pid.is_none_or(|pid| !Path::new(&format!("/proc/{pid}")).exists())
            })
            .map(|e| e.path())
            .collect()
    }

    fn add_image(
        &self,
        name: &Reference,
        layers: Vec<String>,
        config: ImageConfig,
        size: u64,
        comment: &str,
        created: u64,
    ) -> Result<ImageInfo> {
        let record = ImageRecord { created, layers, config, size, comment: comment.to_string() };
        let id = hex::encode(Sha256::digest(
            serde_json::to_vec(&record).expect("an image record serializes"),
        ));
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        index.images.insert(id.clone(), record);
        index.tags.insert(name.to_string(), id.clone());
        self.write_index(&index)?;
        Ok(self.info(&index, &id))
    }

    fn info(&self, index: &Index, id: &str) -> ImageInfo {
        let record = &index.images[id];
        ImageInfo {
            id: format!("sha256:{id}"),
            repo_tags: index
                .tags
                .iter()
                .filter(|(_, v)| *v == id)
                .map(|(k, _)| k.clone())
                .collect(),
            created: record.created,
            size: record.size,
            layers: record
                .layers
                .iter()
                .map(|d| LayerInfo { digest: format!("sha256:{d}"), path: self.layer_dir(d) })
                .collect(),
            config: record.config.clone(),
            comment: record.comment.clone(),
        }
    }

    /// Finds an image by `name[:tag]`, by full ID (`sha256:` optional) or by
    /// a unique ID prefix.
    fn resolve(&self, index: &Index, text: &str) -> Result<String> {
        if let Ok(reference) = text.parse::<Reference>() {
            if let Some(id) = index.tags.get(&reference.to_string()) {
                return Ok(id.clone());
            }
        }
        let hex = text.trim_start_matches("sha256:");
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let matches: Vec<_> = index.images.keys().filter(|id| id.starts_with(hex)).collect();
            match matches[..] {
                [one] => return Ok(one.clone()),
                [] => {}
                _ => return Err(Error::Ambiguous(text.into())),
            }
        }
        Err(Error::NoSuchImage(text.into()))
    }

    /// The image `name` refers to.
    pub fn inspect(&self, name: &str) -> Result<ImageInfo> {
        let index = self.read_index()?;
        let id = self.resolve(&index, name)?;
        Ok(self.info(&index, &id))
    }

    /// Every image, newest first.
    pub fn list(&self) -> Result<Vec<ImageInfo>> {
        let index = self.read_index()?;
        let mut all: Vec<_> = index.images.keys().map(|id| self.info(&index, id)).collect();
        all.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// Removes a tag, or an image by ID with all its tags. An image left
    /// without tags is deleted, and so is every layer no image uses any
    /// more. Returns what was untagged and deleted, as `docker rmi` prints.
    pub fn remove(&self, name: &str) -> Result<Vec<String>> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let id = self.resolve(&index, name)?;
        let mut report = Vec::new();
        let by_tag = name
            .parse::<Reference>()
            .ok()
            .map(|r| r.to_string())
            .filter(|t| index.tags.get(t) == Some(&id));
        let untag: Vec<String> = match by_tag {
            Some(tag) => vec![tag],
            None => index.tags.iter().filter(|(_, v)| **v == id).map(|(k, _)| k.clone()).collect(),
        };
        for tag in untag {
            index.tags.remove(&tag);
            report.push(format!("Untagged: {tag}"));
        }
        if !index.tags.values().any(|v| *v == id) {
            index.images.remove(&id);
            report.push(format!("Deleted: sha256:{id}"));
        }
        self.write_index(&index)?;
        let used: BTreeSet<&String> = index.images.values().flat_map(|r| &r.layers).collect();
        let layers = fs::read_dir(self.dir.join("layers"))
            .map_err(Error::io("list", self.dir.join("layers")))?;
        for entry in layers.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.len() == 64 && !used.contains(&name) {
                remove_tree(&entry.path())?;
                report.push(format!("Deleted: sha256:{name} (layer)"));
            }
        }
        Ok(report)
    }
}

/// Reads through to `inner` while hashing every byte.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Removes a directory tree, also one whose directories are not writable
/// by their owner (an image may hold those).
pub fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path)(e)),
    }
}
