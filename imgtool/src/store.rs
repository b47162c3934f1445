//! The image store on disk.
//!
//! ```text
//! ROOT/images/
//!   index.json          images (id → layers, config) and tags (name:tag → id)
//!   index.lock          flock(2)ed around every read-modify-write of the index
//!   configs/<id>        each image's config file as loaded or made (id = its sha256)
//!   layers/<diff_id>/   one extracted layer, named by the sha256 of its tar
//!   layers/tmp-PID-*/   an extraction in progress by process PID (renamed when complete)
//!   tarsplit/<diff_id>  what gives the layer's tar back byte for byte (tarsplit.rs)
//!   locks/<diff_id>     flock(2)ed while that layer is extracted by a load
//! ```
//!
//! The state root is private (0700, [`tool_cli::root::make_private`]):
//! layers hold setuid binaries and device nodes as the image made them.
//!
//! A load or commit killed half-way leaves at most a `tmp-PID-*`
//! directory (the index is replaced by rename, a layer appears by rename,
//! its tar-split record first), a record whose layer never came, or a
//! config no image names: [`Store::leftovers`] finds the directories whose
//! process is gone, the next extraction and `imgtool check --repair` remove
//! them; the next rm or prune removes the configs, and a record is simply
//! used by the next extraction of its layer. A layer renamed into place by
//! a command killed before it recorded the image is kept: the next load of
//! the same layer uses it.
//!
//! A layer is named by the digest of its uncompressed tar (the *diff_id*
//! of the OCI image spec), so the same layer loaded twice, or shared by two
//! images, is stored once, and a layer directory, once renamed into place,
//! never changes. An image is its config file (which lists the layers'
//! digests, bottom first); its ID is the sha256 of that file, as Docker's.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use json_store::Lock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::config::ImageConfig;
use crate::config::{ConfigFile, History};
use crate::error::{Error, Result, ToolError};
use crate::reference::Reference;
use crate::tarsplit::Recorder;
use crate::{compression, unpack};

/// How an extraction directory's name starts.
const TMP_PREFIX: &str = "tmp-";

/// An image as stored in the index: what `ls` and `inspect` need without
/// reading the config file.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ImageRecord {
    created: u64,
    /// Layer digests (hex sha256), bottom first.
    layers: Vec<String>,
    /// Bytes of file data in each layer.
    #[serde(default)]
    layer_sizes: Vec<u64>,
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
    /// Bytes of file data.
    #[serde(default)]
    pub size: u64,
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

/// A layer the store holds: its digest (hex) and bytes of file data.
#[derive(Clone, Debug)]
pub struct StoredLayer {
    pub digest: String,
    pub size: u64,
}

/// An image store under a state root.
pub struct Store {
    dir: PathBuf,
    /// Show each extraction's progress on standard error ([`crate::progress`]).
    progress: bool,
}

impl Store {
    /// The store of state root `root` (`ROOT/images`), created if missing.
    pub fn open(root: &Path) -> Result<Store> {
        tool_cli::root::make_private(root).map_err(Error::io("create", root))?;
        let dir = root.join("images");
        for sub in ["layers", "configs", "tarsplit", "locks"] {
            fs::create_dir_all(dir.join(sub)).map_err(Error::io("create", dir.join(sub)))?;
        }
        Ok(Store { dir, progress: false })
    }

    /// Shows the progress of extractions (`load`, `import`) if `show`.
    pub fn with_progress(mut self, show: bool) -> Store {
        self.progress = show;
        self
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn layer_dir(&self, digest: &str) -> PathBuf {
        self.dir.join("layers").join(digest)
    }

    pub(crate) fn tarsplit_path(&self, digest: &str) -> PathBuf {
        self.dir.join("tarsplit").join(digest)
    }

    pub(crate) fn config_path(&self, id: &str) -> PathBuf {
        self.dir.join("configs").join(id)
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

    /// Imports a root filesystem tar (what `docker export` writes), plain
    /// or compressed with gzip, zstd or xz, as a one-layer image named
    /// `name` (`docker import`). `source` names the input in messages.
    pub fn import(
        &self,
        archive: impl io::BufRead,
        source: &str,
        name: Option<&Reference>,
        config: ImageConfig,
        comment: &str,
    ) -> Result<ImageInfo> {
        config.validate()?;
        let (_, tar) = compression::open(archive).map_err(Error::io("read", source))?;
        let layer = self.add_layer(tar, source, None, None)?;
        let history = History {
            created: Some(tool_cli::human::rfc3339(tool_cli::human::now())),
            created_by: Some(format!("imgtool import {source}")),
            comment: (!comment.is_empty()).then(|| comment.to_string()),
            empty_layer: false,
        };
        let file = ConfigFile::new(config, vec![format!("sha256:{}", layer.digest)], vec![history]);
        self.add_image(name.into_iter().cloned().collect(), &config_bytes(&file), &[layer])
    }

    /// Makes a new image from `parent`'s layers with directory `dir` as one
    /// more layer on top (`docker commit`: `dir` is a container's writable
    /// layer, its overlayfs whiteouts and opaque directories become
    /// `.wh.` entries, see [`crate::pack`]). The lower layers are the
    /// parent's, not copies. `config` is the new image's.
    pub fn commit(
        &self,
        parent: Option<&str>,
        dir: &Path,
        name: Option<&Reference>,
        config: ImageConfig,
        comment: &str,
        created_by: &str,
    ) -> Result<ImageInfo> {
        config.validate()?;
        let parent = parent.map(|p| self.inspect(p)).transpose()?;
        let mut tar = tempfile::tempfile_in(&self.dir)
            .map_err(Error::io("create a temporary file in", &self.dir))?;
        crate::pack::pack_layer(dir, io::BufWriter::new(&mut tar))
            .map_err(Error::io("pack", dir))?;
        io::Seek::rewind(&mut tar).map_err(Error::io("read back the layer of", dir))?;
        let layer =
            self.add_layer(io::BufReader::new(tar), &dir.display().to_string(), None, None)?;
        let (mut layers, mut history) = match &parent {
            Some(p) => (
                p.layers
                    .iter()
                    .map(|l| StoredLayer {
                        digest: l.digest.trim_start_matches("sha256:").into(),
                        size: l.size,
                    })
                    .collect(),
                self.config_file(&p.id)?.history,
            ),
            None => (vec![], vec![]),
        };
        layers.push(layer);
        history.push(History {
            created: Some(tool_cli::human::rfc3339(tool_cli::human::now())),
            created_by: Some(created_by.to_string()),
            comment: (!comment.is_empty()).then(|| comment.to_string()),
            empty_layer: false,
        });
        let diff_ids = layers.iter().map(|l| format!("sha256:{}", l.digest)).collect();
        let file = ConfigFile::new(config, diff_ids, history);
        self.add_image(name.into_iter().cloned().collect(), &config_bytes(&file), &layers)
    }

    /// Extracts a layer tar into `layers/`, hashing it on the way; with
    /// `expected` (hex), refuses a tar of another digest. A failed
    /// extraction leaves nothing behind.
    /// `held` is the layer's lock when the caller ([`Store::ensure_layer`])
    /// holds it already; otherwise it is taken once the digest is known.
    pub(crate) fn add_layer(
        &self,
        tar: impl Read,
        source: &str,
        expected: Option<&str>,
        held: Option<&Lock>,
    ) -> Result<StoredLayer> {
        for dead in self.leftovers() {
            let _ = remove_tree(&dead);
        }
        let layers = self.dir.join("layers");
        let staging = tempfile::Builder::new()
            .prefix(&format!("{TMP_PREFIX}{}-", std::process::id()))
            .tempdir_in(&layers)
            .map_err(Error::io("create a directory in", &layers))?;
        let tree = staging.path().join("tree");
        let record = staging.path().join("tarsplit");
        fs::create_dir(&tree).map_err(Error::io("create", &tree))?;
        // The layer's root is what a container's / looks like (rootfs
        // gives the writable layer the top layer's mode).
        fs::set_permissions(&tree, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(Error::io("set the mode of", &tree))?;
        let recorder = fs::File::create_new(&record)
            .and_then(Recorder::new)
            .map_err(Error::io("create", &record))?;
        let label = match expected {
            Some(digest) => format!("Loading layer {}", &digest[..12]),
            None => format!("Importing {source}"),
        };
        let tar = crate::progress::Progress::new(tar, label, self.progress);
        let mut hashing = HashingReader { inner: tar, hasher: Sha256::new() };
        let unpacked =
            unpack::unpack(&mut hashing, &tree, &recorder).map_err(|e| e.in_archive(source))?;
        // The tar parser stops at the end-of-archive block; the digest is
        // of the whole tar, padding included, as sha256sum would see it.
        io::copy(&mut recorder.reader(&mut hashing), &mut io::sink())
            .map_err(Error::io("read", source))?;
        recorder.finish().map_err(Error::io("write", &record))?;
        let digest = hex::encode(hashing.hasher.finalize());
        if let Some(expected) = expected {
            Error::check_digest(format!("layer of {source}"), expected, &digest)?;
        }
        // Under the layer's lock: a load or an rm of the same layer waits.
        let _lock = match held {
            Some(_) => None,
            None => Some(self.layer_lock(&digest)?),
        };
        let dest = self.layer_dir(&digest);
        let split = self.tarsplit_path(&digest);
        // The record first: a layer in place always has one (this also
        // gives one to a layer an older imgtool stored without).
        if !split.is_file() {
            fs::rename(&record, &split).map_err(Error::io("rename the record to", &split))?;
        }
        if dest.is_dir() {
            // Stored already: keep the one in place (staging is removed).
            return Ok(StoredLayer { digest, size: unpacked.size });
        }
        match fs::rename(&tree, &dest) {
            Ok(()) => {}
            // Stored meanwhile by another process (ENOTEMPTY/EEXIST).
            Err(_) if dest.is_dir() => {}
            Err(e) => return Err(Error::io("rename layer to", &dest)(e)),
        }
        Ok(StoredLayer { digest, size: unpacked.size })
    }

    /// The layer `digest` (hex), extracted from `tar` unless stored already.
    /// Loads that share a layer take its lock in turn, so it is extracted
    /// once; `tar` is not read at all when the layer is there.
    pub(crate) fn ensure_layer<'a>(
        &self,
        digest: &str,
        source: &str,
        tar: impl FnOnce() -> Result<Box<dyn Read + 'a>>,
    ) -> Result<StoredLayer> {
        let lock = self.layer_lock(digest)?;
        if let Some(size) = self.layer_size(digest) {
            return Ok(StoredLayer { digest: digest.into(), size });
        }
        self.add_layer(tar()?, source, Some(digest), Some(&lock))
    }

    /// Held while layer `digest` is put in place or removed.
    fn layer_lock(&self, digest: &str) -> Result<Lock> {
        Ok(Lock::exclusive(&self.dir.join("locks").join(digest))?)
    }

    /// Bytes of file data in stored layer `digest`, as an image recorded
    /// it; `None` if the layer is not stored.
    fn layer_size(&self, digest: &str) -> Option<u64> {
        if !self.layer_dir(digest).is_dir() || !self.tarsplit_path(digest).is_file() {
            return None;
        }
        let index = self.read_index().ok()?;
        let known = index.images.values().find_map(|r| {
            r.layers.iter().position(|l| l == digest).and_then(|i| r.layer_sizes.get(i).copied())
        });
        Some(known.unwrap_or_else(|| tree_size(&self.layer_dir(digest))))
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

    /// Records an image: its config file `config` (kept byte for byte; the
    /// ID is its sha256) over stored layers `layers`, tagged `tags`.
    pub(crate) fn add_image(
        &self,
        tags: Vec<Reference>,
        config: &[u8],
        layers: &[StoredLayer],
    ) -> Result<ImageInfo> {
        let file: ConfigFile = serde_json::from_slice(config).map_err(|e| {
            Error::invalid("image config", e.to_string(), "not an image config file")
        })?;
        file.config.validate()?;
        let digests = file.layer_hexes()?;
        let stored: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
        if digests != stored {
            let why = format!("it lists {} layers, the image has {}", digests.len(), stored.len());
            return Err(Error::invalid("image config", "rootfs.diff_ids", &why));
        }
        let id = hex::encode(Sha256::digest(config));
        let comment = file.history.iter().rev().find_map(|h| h.comment.clone()).unwrap_or_default();
        let created = match file.created_seconds() {
            0 => tool_cli::human::now(),
            t => t,
        };
        let record = ImageRecord {
            created,
            layers: digests,
            layer_sizes: layers.iter().map(|l| l.size).collect(),
            config: file.config,
            size: layers.iter().map(|l| l.size).sum(),
            comment,
        };
        let _lock = self.lock()?;
        // A concurrent rm may have deleted a layer no image used yet.
        if let Some(gone) = record.layers.iter().find(|d| !self.layer_dir(d).is_dir()) {
            let why = "it was removed meanwhile (a concurrent rm or prune): load again";
            return Err(Error::invalid("layer", format!("sha256:{gone}"), why));
        }
        // Under the lock, as rm and prune delete configs no image uses.
        json_store::write_atomic(&self.config_path(&id), config)?;
        let mut index = self.read_index()?;
        index.images.insert(id.clone(), record);
        for tag in tags {
            index.tags.insert(tag.to_string(), id.clone());
        }
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
                .enumerate()
                .map(|(i, d)| LayerInfo {
                    digest: format!("sha256:{d}"),
                    path: self.layer_dir(d),
                    size: record.layer_sizes.get(i).copied().unwrap_or(0),
                })
                .collect(),
            config: record.config.clone(),
            comment: record.comment.clone(),
        }
    }

    /// The config file of image `id` (`sha256:` optional), as stored.
    pub fn config_bytes(&self, id: &str) -> Result<Vec<u8>> {
        let path = self.config_path(id.trim_start_matches("sha256:"));
        fs::read(&path).map_err(Error::io("read", &path))
    }

    /// The config file of image `id`, parsed.
    pub fn config_file(&self, id: &str) -> Result<ConfigFile> {
        serde_json::from_slice(&self.config_bytes(id)?)
            .map_err(|e| Error::invalid("image config", id, e.to_string()))
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

    /// Tags image `source` as `target` (`docker tag`); a tag that named
    /// another image moves.
    pub fn tag(&self, source: &str, target: &Reference) -> Result<ImageInfo> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let id = self.resolve(&index, source)?;
        index.tags.insert(target.to_string(), id.clone());
        self.write_index(&index)?;
        Ok(self.info(&index, &id))
    }

    /// Removes a tag, or an image by ID with all its tags. An image left
    /// without tags is deleted (unless `untag_only`: the image stays,
    /// untagged, for the containers that use it), and so is every layer no
    /// image uses any more. Returns what was untagged and deleted, as
    /// `docker rmi` prints.
    pub fn remove(&self, name: &str, untag_only: bool) -> Result<Vec<String>> {
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
        if !untag_only && !index.tags.values().any(|v| *v == id) {
            index.images.remove(&id);
            report.push(format!("Deleted: sha256:{id}"));
        }
        self.write_index(&index)?;
        report.extend(self.remove_unused(&index)?);
        Ok(report)
    }

    /// `image prune`: deletes untagged images (with `all`, every image)
    /// but those in `keep` (image IDs containers use), then every layer and
    /// config no image uses. Returns what was deleted.
    pub fn prune(&self, all: bool, keep: &[String]) -> Result<Vec<String>> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let tagged: BTreeSet<String> = index.tags.values().cloned().collect();
        let kept = |id: &String| keep.iter().any(|k| k.trim_start_matches("sha256:") == id);
        let doomed: Vec<String> = index
            .images
            .keys()
            .filter(|id| (all || !tagged.contains(*id)) && !kept(id))
            .cloned()
            .collect();
        let mut report = Vec::new();
        for id in doomed {
            index.tags.retain(|tag, v| {
                let gone = *v == id;
                if gone {
                    report.push(format!("untagged: {tag}"));
                }
                !gone
            });
            index.images.remove(&id);
            report.push(format!("deleted: sha256:{id}"));
        }
        self.write_index(&index)?;
        report.extend(self.remove_unused(&index)?);
        Ok(report)
    }

    /// Deletes the layers, records and configs no image of `index` uses.
    /// The caller holds the index lock.
    fn remove_unused(&self, index: &Index) -> Result<Vec<String>> {
        let used: BTreeSet<&String> = index.images.values().flat_map(|r| &r.layers).collect();
        let mut report = Vec::new();
        let layers = self.dir.join("layers");
        for entry in fs::read_dir(&layers).map_err(Error::io("list", &layers))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.len() == 64 && !used.contains(&name) {
                let _layer = self.layer_lock(&name)?;
                // The layer first: a layer in place always has its record.
                remove_tree(&entry.path())?;
                let _ = fs::remove_file(self.tarsplit_path(&name));
                report.push(format!("Deleted: sha256:{name} (layer)"));
            }
        }
        let configs = self.dir.join("configs");
        for entry in fs::read_dir(&configs).map_err(Error::io("list", &configs))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !index.images.contains_key(&name) && !json_store::is_temp(&name) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(report)
    }
}

/// A config file as the store writes one: compact JSON, as Docker's.
fn config_bytes(file: &ConfigFile) -> Vec<u8> {
    serde_json::to_vec(file).expect("an image config serializes")
}

/// Bytes of regular file data under `dir`.
fn tree_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

/// Reads through to `inner` while hashing every byte.
pub(crate) struct HashingReader<R> {
    pub(crate) inner: R,
    pub(crate) hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Removes a directory tree; one already gone is fine. (An image's
/// directories may not be writable by their owner: root, which every
/// store's user is, removes them all the same.)
pub fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path)(e)),
    }
}
