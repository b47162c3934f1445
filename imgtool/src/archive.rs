//! Image archives in and out: `docker save`'s format and the OCI image
//! layout (image-layout.md), as a directory or a tar (`oci-archive:`).
//!
//! **docker save** (docker-archive): `manifest.json` lists, per image, its
//! config file (`<id>.json`, or `blobs/sha256/<id>` since Docker 25), its
//! tags and its layer tars (`<id>/layer.tar`, symlinks where two images
//! share one) in order, bottom first.
//!
//! **OCI layout**: `oci-layout` and `index.json`, which points (by
//! digest) at manifests in `blobs/sha256/`; each manifest points at a
//! config and at layer blobs, plain or compressed (gzip, zstd).
//!
//! Nothing read is trusted: every blob is hashed and must match the digest
//! it is referred to by (a layer's uncompressed tar must also match the
//! config's `rootfs.diff_ids`), an archive that holds a name twice is
//! refused (which one would be the layer?), and member names are resolved
//! within the archive (`a/../b` is `b`; nothing above its top, nothing
//! absolute). A layer already stored is not read again.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::{self, media, ConfigFile, Descriptor, DockerManifest, Manifest};
use crate::error::{Error, Result, ToolError};
use crate::reference::Reference;
use crate::store::{HashingReader, ImageInfo, Store, StoredLayer};
use crate::{compression, tarsplit};

/// The most a JSON document of an archive may take (manifests, configs).
const MAX_JSON: u64 = 16 << 20;

/// `save`'s output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Docker,
    Oci,
}

/// A member of a tar archive: where its bytes are, or what it links to.
#[derive(Debug)]
struct Member {
    offset: u64,
    size: u64,
    link: Option<String>,
}

/// What a load reads: an OCI layout directory, or an archive file whose
/// members are found by name.
enum Source {
    Dir(PathBuf),
    Tar { file: File, members: HashMap<String, Member> },
}

impl Source {
    /// Indexes the tar `file` (uncompressed): one pass over its headers.
    fn tar(file: File) -> Result<Source> {
        let mut members = HashMap::new();
        let mut archive = tar::Archive::new(BufReader::new(&file));
        for entry in archive.entries().map_err(Error::io("read", "the archive"))? {
            let entry = entry.map_err(Error::io("read an entry of", "the archive"))?;
            let raw = entry.path().map_err(Error::io("read a name in", "the archive"))?;
            let name = clean(&raw)?;
            let kind = entry.header().entry_type();
            if kind.is_dir() || name.is_empty() {
                continue;
            }
            let link = if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name()
                    .map_err(Error::io("read a link in", "the archive"))?
                    .ok_or_else(|| {
                        Error::invalid("archive member", &name, "a link without a target")
                    })?;
                // A symlink is relative to its directory, a hard link to the archive.
                let base = match kind.is_symlink() {
                    true => Path::new(&name).parent().unwrap_or(Path::new("")).join(&target),
                    false => target.into_owned(),
                };
                Some(clean(&base)?)
            } else {
                None
            };
            let member = Member { offset: entry.raw_file_position(), size: entry.size(), link };
            if members.insert(name.clone(), member).is_some() {
                return Err(Error::invalid("archive member", name, "listed twice"));
            }
        }
        Ok(Source::Tar { file, members })
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Source::Dir(dir) => dir.join(name).is_file(),
            Source::Tar { members, .. } => members.contains_key(name),
        }
    }

    /// A reader of member `name`, following links within the archive.
    fn open(&self, name: &str) -> Result<Box<dyn Read + '_>> {
        let missing = || Error::invalid("archive member", name, "not in the archive");
        match self {
            Source::Dir(dir) => {
                // Names are cleaned: they stay inside the layout directory
                // unless it holds symlinks out, which a layout has no use for.
                let path = dir.join(name);
                let meta = std::fs::symlink_metadata(&path).map_err(|_| missing())?;
                if !meta.is_file() {
                    return Err(Error::invalid("archive member", name, "not a regular file"));
                }
                Ok(Box::new(File::open(&path).map_err(Error::io("open", &path))?))
            }
            Source::Tar { file, members } => {
                let mut member = members.get(name).ok_or_else(missing)?;
                for _ in 0..8 {
                    match &member.link {
                        Some(target) => member = members.get(target).ok_or_else(missing)?,
                        None => {
                            let at =
                                At { file, pos: member.offset, end: member.offset + member.size };
                            return Ok(Box::new(at));
                        }
                    }
                }
                Err(Error::invalid("archive member", name, "a loop of links"))
            }
        }
    }

    /// Member `name` whole (a JSON document: bounded).
    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open(name)?
            .take(MAX_JSON + 1)
            .read_to_end(&mut bytes)
            .map_err(Error::io("read", name))?;
        if bytes.len() as u64 > MAX_JSON {
            return Err(Error::invalid("archive member", name, "larger than 16 MiB"));
        }
        Ok(bytes)
    }

    /// Blob `digest`, whole, checked against its digest (and size).
    fn blob(&self, descriptor: &Descriptor) -> Result<Vec<u8>> {
        let hex = config::digest_hex(&descriptor.digest)?;
        let bytes = self.read(&format!("blobs/sha256/{hex}"))?;
        check_digest(&format!("blob {}", descriptor.digest), hex, &bytes)?;
        if bytes.len() as u64 != descriptor.size {
            let why = format!("{} bytes, the descriptor says {}", bytes.len(), descriptor.size);
            return Err(Error::invalid("blob", &descriptor.digest, &why));
        }
        Ok(bytes)
    }
}

/// Reads `file` from `pos` to `end` with pread(2): members share the file.
struct At<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the archive is cut short"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// A member name made relative and plain (`a/../b` is `b`, as podman's
/// symlinks between layers say); absolute names and names above the
/// archive's top refused.
fn clean(raw: &Path) -> Result<String> {
    let mut parts = Vec::new();
    let bad = |why| Error::invalid("archive member", raw.display().to_string(), why);
    for component in raw.components() {
        match component {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(|| bad("'..' leads above the archive"))?;
            }
            _ => return Err(bad("an absolute path")),
        }
    }
    Ok(parts.join("/"))
}

fn check_digest(what: &str, expected_hex: &str, bytes: &[u8]) -> Result<()> {
    Error::check_digest(what, expected_hex, &hex::encode(Sha256::digest(bytes)))
}

/// Loads every image of the archive at `path` (`-`: standard input), an
/// OCI layout directory, a docker-archive or an oci-archive, plain or
/// compressed. Returns the images loaded.
pub fn load(store: &Store, path: &Path) -> Result<Vec<ImageInfo>> {
    let shown =
        if path.as_os_str() == "-" { "standard input".into() } else { path.display().to_string() };
    load_from(store, path).map_err(|e| e.in_archive(&shown))
}

fn load_from(store: &Store, path: &Path) -> Result<Vec<ImageInfo>> {
    let source = if path.is_dir() {
        Source::Dir(path.to_path_buf())
    } else {
        let input: Box<dyn Read> = match path.as_os_str() == "-" {
            true => Box::new(io::stdin().lock()),
            false => Box::new(File::open(path).map_err(Error::io("open", path))?),
        };
        let mut input = BufReader::with_capacity(1 << 20, input);
        let kind = compression::Compression::detect(&mut input).map_err(Error::io("read", path))?;
        let file = match (kind, path.as_os_str() == "-") {
            // A plain file is read where it is; a stream or a compressed
            // archive is spooled (uncompressed) beside the store first, as
            // members are read in the order the manifests name them.
            (compression::Compression::None, false) => {
                File::open(path).map_err(Error::io("open", path))?
            }
            _ => {
                let mut spool = tempfile::tempfile_in(store.dir())
                    .map_err(Error::io("create a temporary file in", store.dir()))?;
                io::copy(&mut kind.decoder(input).map_err(Error::io("read", path))?, &mut spool)
                    .map_err(Error::io("read", path))?;
                spool
            }
        };
        Source::tar(file)?
    };
    if source.has("manifest.json") {
        load_docker(store, &source)
    } else if source.has("index.json") && source.has("oci-layout") {
        load_oci(store, &source)
    } else {
        let why = "neither a docker save archive (manifest.json) nor an OCI layout (oci-layout, index.json)";
        Err(Error::invalid("archive", "", why))
    }
}

fn load_docker(store: &Store, source: &Source) -> Result<Vec<ImageInfo>> {
    let manifests: Vec<DockerManifest> = serde_json::from_slice(&source.read("manifest.json")?)
        .map_err(|e| {
            Error::invalid("manifest.json", e.to_string(), "not docker save's manifest")
        })?;
    let mut loaded = Vec::new();
    for manifest in manifests {
        let bytes = source.read(&clean(Path::new(&manifest.config))?)?;
        // The config's name is its digest: `<hex>.json` or `blobs/sha256/<hex>`.
        let named = Path::new(&manifest.config)
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".json").to_string())
            .filter(|n| n.len() == 64);
        if let Some(hex) = named {
            check_digest(&format!("config {}", manifest.config), &hex, &bytes)?;
        }
        let file = parse_config(&bytes, &manifest.config)?;
        let diff_ids = file.layer_hexes()?;
        if diff_ids.len() != manifest.layers.len() {
            let why =
                format!("{} layers, its config lists {}", manifest.layers.len(), diff_ids.len());
            return Err(Error::invalid("manifest.json entry", &manifest.config, &why));
        }
        let tags =
            manifest.repo_tags.iter().map(|t| t.parse()).collect::<Result<Vec<Reference>>>()?;
        let mut layers = Vec::new();
        for (member, diff) in manifest.layers.iter().zip(&diff_ids) {
            let member = clean(Path::new(member))?;
            layers.push(store.ensure_layer(diff, &member, || {
                let input = BufReader::with_capacity(1 << 20, source.open(&member)?);
                let (_, tar) = compression::open(input).map_err(Error::io("read", &member))?;
                Ok(tar)
            })?);
        }
        loaded.push(store.add_image(tags, &bytes, &layers)?);
    }
    Ok(loaded)
}

fn parse_config(bytes: &[u8], name: &str) -> Result<ConfigFile> {
    serde_json::from_slice(bytes).map_err(|e| Error::invalid("image config", name, e.to_string()))
}

fn load_oci(store: &Store, source: &Source) -> Result<Vec<ImageInfo>> {
    let index: Manifest = serde_json::from_slice(&source.read("index.json")?)
        .map_err(|e| Error::invalid("index.json", e.to_string(), "not an OCI image index"))?;
    let mut loaded = Vec::new();
    let mut pending: Vec<Descriptor> = index.manifests;
    let mut seen = 0;
    while let Some(descriptor) = pending.pop() {
        seen += 1;
        if seen > 1024 {
            return Err(Error::invalid("index.json", "", "more than 1024 manifests"));
        }
        let blob = source.blob(&descriptor)?;
        match descriptor.media_type.as_str() {
            media::OCI_INDEX | media::DOCKER_LIST => {
                let nested: Manifest = serde_json::from_slice(&blob).map_err(|e| {
                    Error::invalid("image index", &descriptor.digest, e.to_string())
                })?;
                pending.extend(nested.manifests);
            }
            media::OCI_MANIFEST | media::DOCKER_MANIFEST => {
                let manifest: Manifest = serde_json::from_slice(&blob)
                    .map_err(|e| Error::invalid("manifest", &descriptor.digest, e.to_string()))?;
                loaded.push(load_oci_image(store, source, &descriptor, &manifest)?);
            }
            other => {
                return Err(Error::invalid("index.json entry", other, "not a manifest or an index"))
            }
        }
    }
    loaded.reverse();
    Ok(loaded)
}

/// The tag an OCI index gives a manifest: containerd's full name, else
/// the ref name if it is a whole `NAME:TAG` (a bare tag names no image).
fn oci_tag(descriptor: &Descriptor) -> Option<Reference> {
    let annotations = &descriptor.annotations;
    let name = annotations.get(media::IMAGE_NAME).or_else(|| annotations.get(media::REF_NAME))?;
    name.contains(':').then(|| name.parse().ok()).flatten()
}

fn load_oci_image(
    store: &Store,
    source: &Source,
    descriptor: &Descriptor,
    manifest: &Manifest,
) -> Result<ImageInfo> {
    let config = manifest
        .config
        .as_ref()
        .ok_or_else(|| Error::invalid("manifest", &descriptor.digest, "it has no config"))?;
    let bytes = source.blob(config)?;
    let file = parse_config(&bytes, &config.digest)?;
    let diff_ids = file.layer_hexes()?;
    if diff_ids.len() != manifest.layers.len() {
        let why = format!("{} layers, its config lists {}", manifest.layers.len(), diff_ids.len());
        return Err(Error::invalid("manifest", &descriptor.digest, &why));
    }
    let mut layers: Vec<StoredLayer> = Vec::new();
    for (layer, diff) in manifest.layers.iter().zip(&diff_ids) {
        let hex = config::digest_hex(&layer.digest)?.to_string();
        let member = format!("blobs/sha256/{hex}");
        layers.push(store.ensure_layer(diff, &member, || {
            // A compressed blob is checked before it is decompressed; an
            // uncompressed one is its own diff_id, checked on extraction.
            if hex != *diff {
                let mut hasher = Sha256::new();
                io::copy(&mut source.open(&member)?, &mut HashWriter(&mut hasher))
                    .map_err(Error::io("read", &member))?;
                Error::check_digest(
                    format!("layer blob {member}"),
                    &hex,
                    &hex::encode(hasher.finalize()),
                )?;
            }
            let input = BufReader::with_capacity(1 << 20, source.open(&member)?);
            let (_, tar) = compression::open(input).map_err(Error::io("read", &member))?;
            Ok(tar)
        })?);
    }
    store.add_image(oci_tag(descriptor).into_iter().collect(), &bytes, &layers)
}

struct HashWriter<'h>(&'h mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes images `names` to `out` as one archive of `format`, which
/// `docker load`, `podman load` and skopeo read. Each layer's tar is given
/// back byte for byte from the store (tarsplit.rs), so digests and image
/// IDs are those the images had.
pub fn save(store: &Store, names: &[String], format: Format, out: impl Write) -> Result<()> {
    let mut images: Vec<(ImageInfo, Vec<String>)> = Vec::new();
    for name in names {
        let image = store.inspect(name)?;
        let tag = name
            .parse::<Reference>()
            .ok()
            .map(|r| r.to_string())
            .filter(|t| image.repo_tags.contains(t));
        match images.iter_mut().find(|(i, _)| i.id == image.id) {
            Some((_, tags)) => tags.extend(tag),
            None => images.push((image, tag.into_iter().collect())),
        }
    }
    let mut tar = tar::Builder::new(out);
    let mut written = std::collections::HashSet::new();
    let mut docker = Vec::new();
    let mut index = Vec::new();
    if format == Format::Oci {
        append(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    }
    for (image, tags) in &images {
        let id = image.id.trim_start_matches("sha256:");
        let config = store.config_bytes(id)?;
        let mut layer_names = Vec::new();
        let mut descriptors = Vec::new();
        for layer in &image.layers {
            let hex = layer.digest.trim_start_matches("sha256:");
            let member = match format {
                Format::Docker => format!("{hex}/layer.tar"),
                Format::Oci => format!("blobs/sha256/{hex}"),
            };
            let record = store.tarsplit_path(hex);
            let size = tarsplit::tar_size(&record).map_err(Error::io("read", &record))?;
            if written.insert(hex.to_string()) {
                append_layer(&mut tar, &member, size, &record, &layer.path, hex)?;
            }
            layer_names.push(member);
            descriptors.push(descriptor(media::OCI_LAYER, hex, size));
        }
        match format {
            Format::Docker => {
                append(&mut tar, &format!("{id}.json"), &config)?;
                docker.push(DockerManifest {
                    config: format!("{id}.json"),
                    repo_tags: tags.clone(),
                    layers: layer_names,
                });
            }
            Format::Oci => {
                let manifest = Manifest {
                    schema_version: 2,
                    media_type: Some(media::OCI_MANIFEST.into()),
                    config: Some(descriptor(media::OCI_CONFIG, id, config.len() as u64)),
                    layers: descriptors,
                    manifests: vec![],
                };
                let bytes = serde_json::to_vec(&manifest).expect("a manifest serializes");
                let digest = hex::encode(Sha256::digest(&bytes));
                if written.insert(id.to_string()) {
                    append(&mut tar, &format!("blobs/sha256/{id}"), &config)?;
                }
                append(&mut tar, &format!("blobs/sha256/{digest}"), &bytes)?;
                let names: Vec<Option<&String>> = match tags.is_empty() {
                    true => vec![None],
                    false => tags.iter().map(Some).collect(),
                };
                for tag in names {
                    let mut d = descriptor(media::OCI_MANIFEST, &digest, bytes.len() as u64);
                    if let Some(tag) = tag {
                        d.annotations.insert(media::REF_NAME.into(), tag.clone());
                        d.annotations.insert(media::IMAGE_NAME.into(), tag.clone());
                    }
                    index.push(d);
                }
            }
        }
    }
    match format {
        Format::Docker => {
            append(&mut tar, "manifest.json", &serde_json::to_vec(&docker).expect("serializes"))?
        }
        Format::Oci => {
            let index = Manifest {
                schema_version: 2,
                media_type: Some(media::OCI_INDEX.into()),
                manifests: index,
                ..Manifest::default()
            };
            append(&mut tar, "index.json", &serde_json::to_vec(&index).expect("serializes"))?;
        }
    }
    tar.into_inner().and_then(|mut out| out.flush()).map_err(Error::io("write", "the archive"))
}

fn descriptor(media_type: &str, hex: &str, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: format!("sha256:{hex}"),
        size,
        annotations: BTreeMap::new(),
    }
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_mode(0o644);
    header.set_size(size);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> Result<()> {
    tar.append_data(&mut header(bytes.len() as u64), name, bytes)
        .map_err(Error::io("write", "the archive"))
}

/// Appends a stored layer's tar, checking on the way that it still hashes
/// to its digest.
fn append_layer<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    record: &Path,
    layer: &Path,
    hex: &str,
) -> Result<()> {
    let reassembly =
        tarsplit::Reassembly::open(record, layer).map_err(Error::io("read", record))?;
    let mut hashing = HashingReader { inner: reassembly, hasher: Sha256::new() };
    tar.append_data(&mut header(size), name, &mut hashing)
        .map_err(Error::io("write the layer from", layer))?;
    let found = hex::encode(hashing.hasher.finalize());
    Error::check_digest(format!("stored layer {}", layer.display()), hex, &found)
}
