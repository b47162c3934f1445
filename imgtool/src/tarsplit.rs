//! Giving back a layer's tar byte for byte from its extracted directory.
//!
//! A layer is named by the sha256 of its tar (its *diff_id*), and an
//! image's config lists those digests. The store keeps layers extracted
//! (overlayfs needs directories), so `save` must rebuild each tar exactly,
//! or the digests, the config and the image ID would all change. Packing
//! the directory again would not do: tar writers differ in header formats,
//! order, padding and extensions.
//!
//! So while a layer is extracted, every byte of its tar that is *not* a
//! regular file's contents (headers, PAX and GNU extensions, padding, the
//! end-of-archive blocks) is recorded, and each file's contents is recorded
//! only as a reference: "N bytes, read from PATH in the layer". The
//! record is small (about 1 KiB per entry) and the tar is the record with
//! the files' contents put back (the idea of containers/storage's
//! tar-split). A layer directory never changes once stored, so the bytes
//! read back are the bytes that were extracted, unless the tar wrote the
//! same file twice (the first contents are gone): unpack refuses a second
//! entry of a name it took contents for, and `save` checks the digest all
//! the same.
//!
//! The record, `images/tarsplit/<diff_id>`:
//!
//! ```text
//! "dkrsplt1"  u64 tar size  then records:
//! b'R' u64 LEN  LEN raw bytes
//! b'F' u64 SIZE u32 LEN  LEN bytes of path   (SIZE bytes of that file)
//! ```
//! (integers little-endian).

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};

const MAGIC: &[u8; 8] = b"dkrsplt1";

/// What the extraction tells the recorder, shared with the [`Recording`]
/// reader that the tar parser reads through.
struct Log {
    out: BufWriter<File>,
    /// Raw bytes since the last file's contents.
    raw: Vec<u8>,
    /// True while a file's contents are read (not recorded).
    skipping: bool,
    /// Bytes of tar read so far.
    offset: u64,
    /// Where the last file's contents ended.
    data_end: u64,
    /// Zeros given to the parser, beyond the input (see [`Recording`]).
    padding_given: u64,
}

impl Log {
    fn flush_raw(&mut self) -> io::Result<()> {
        if !self.raw.is_empty() {
            self.out.write_all(b"R")?;
            self.out.write_all(&(self.raw.len() as u64).to_le_bytes())?;
            self.out.write_all(&self.raw)?;
            self.raw.clear();
        }
        Ok(())
    }
}

/// The recorder of one extraction. Clone it to keep a handle while the
/// tar parser owns the [`Recording`] reader.
#[derive(Clone)]
pub struct Recorder(Rc<RefCell<Log>>);

impl Recorder {
    /// Records into `file` (empty, opened for writing).
    pub fn new(file: File) -> io::Result<Recorder> {
        let mut out = BufWriter::new(file);
        out.write_all(MAGIC)?;
        out.write_all(&0u64.to_le_bytes())?; // the size, written at the end
        let log =
            Log { out, raw: Vec::new(), skipping: false, offset: 0, data_end: 0, padding_given: 0 };
        Ok(Recorder(Rc::new(RefCell::new(log))))
    }

    /// A reader of `inner` that records what passes through.
    pub fn reader<R: Read>(&self, inner: R) -> Recording<R> {
        Recording { inner, log: self.0.clone() }
    }

    /// Call around reading a file's `size` bytes of contents from the tar:
    /// they are recorded as a reference to `path` (relative to the layer).
    pub fn contents<T>(&self, path: &Path, size: u64, read: impl FnOnce() -> T) -> io::Result<T> {
        if size == 0 {
            return Ok(read());
        }
        {
            let mut log = self.0.borrow_mut();
            log.flush_raw()?;
            let name = path.as_os_str().as_bytes();
            log.out.write_all(b"F")?;
            log.out.write_all(&size.to_le_bytes())?;
            log.out.write_all(&(name.len() as u32).to_le_bytes())?;
            log.out.write_all(name)?;
            log.skipping = true;
        }
        let result = read();
        let mut log = self.0.borrow_mut();
        log.skipping = false;
        log.data_end = log.offset;
        Ok(result)
    }

    /// Writes the last raw bytes and the tar's size; returns the size.
    pub fn finish(self) -> io::Result<u64> {
        let mut log = self.0.borrow_mut();
        log.flush_raw()?;
        let size = log.offset;
        log.out.flush()?;
        let file = log.out.get_mut();
        file.seek(io::SeekFrom::Start(MAGIC.len() as u64))?;
        file.write_all(&size.to_le_bytes())?;
        file.sync_all()?;
        Ok(size)
    }
}

/// The reader the tar parser reads through: bytes that are not a file's
/// contents go to the record.
///
/// Real layer tars do not all end as tar(5) says: umoci's (and so
/// skopeo's and podman's copies) stop right after the last file's
/// contents, with neither the padding to a 512-byte block nor the
/// end-of-archive blocks, and Docker and containerd take them. So when the
/// input ends exactly where a file's contents end, the parser is given the
/// missing padding as zeros; they are neither recorded nor hashed, so the
/// tar given back is the tar that came. An input that ends anywhere else
/// (inside a header, or inside contents) is still cut short, an error.
pub struct Recording<R> {
    inner: R,
    log: Rc<RefCell<Log>>,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut log = self.log.borrow_mut();
        if n == 0 && !buf.is_empty() && log.offset == log.data_end {
            let missing = (512 - log.offset % 512) % 512;
            let k = (missing - log.padding_given).min(buf.len() as u64) as usize;
            buf[..k].fill(0);
            log.padding_given += k as u64;
            return Ok(k);
        }
        log.offset += n as u64;
        if !log.skipping {
            log.raw.extend_from_slice(&buf[..n]);
            // Headers are small, but nothing bounds their run (or what
            // follows the end-of-archive blocks): never hold much.
            if log.raw.len() >= 1 << 20 {
                log.flush_raw()?;
            }
        }
        Ok(n)
    }
}

/// The size of the tar a record gives back.
pub fn tar_size(record: &Path) -> io::Result<u64> {
    let mut file = File::open(record)?;
    let mut head = [0u8; 16];
    file.read_exact(&mut head)?;
    check_magic(&head[..8])?;
    Ok(u64::from_le_bytes(head[8..16].try_into().expect("8 bytes")))
}

fn check_magic(bytes: &[u8]) -> io::Result<()> {
    match bytes == MAGIC {
        true => Ok(()),
        false => Err(io::Error::new(io::ErrorKind::InvalidData, "not a tar-split record")),
    }
}

/// Reads the tar back from record `record` and layer directory `layer`.
pub struct Reassembly {
    record: BufReader<File>,
    layer: OwnedFd,
    /// Raw bytes left in the current `R` record.
    raw_left: u64,
    /// The current file's contents, and how many bytes of it are left.
    file: Option<(io::Take<File>, u64, PathBuf)>,
}

impl Reassembly {
    pub fn open(record: &Path, layer: &Path) -> io::Result<Reassembly> {
        let mut file = BufReader::new(File::open(record)?);
        let mut head = [0u8; 16];
        file.read_exact(&mut head)?;
        check_magic(&head[..8])?;
        let layer = inroot::open_dir(layer).map_err(io::Error::other)?;
        Ok(Reassembly { record: file, layer, raw_left: 0, file: None })
    }

    /// Starts the next record; false at the end.
    fn next_record(&mut self) -> io::Result<bool> {
        let mut kind = [0u8; 1];
        if self.record.read(&mut kind)? == 0 {
            return Ok(false);
        }
        let mut u64_bytes = [0u8; 8];
        self.record.read_exact(&mut u64_bytes)?;
        let n = u64::from_le_bytes(u64_bytes);
        match kind[0] {
            b'R' => self.raw_left = n,
            b'F' => {
                let mut len = [0u8; 4];
                self.record.read_exact(&mut len)?;
                let mut name = vec![0u8; u32::from_le_bytes(len) as usize];
                self.record.read_exact(&mut name)?;
                let path = PathBuf::from(std::ffi::OsStr::from_bytes(&name));
                let how = OpenHow::new()
                    .flags(OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
                    .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
                let fd = openat2(self.layer.as_fd(), &path, how).map_err(|e| {
                    io::Error::other(format!("open {} in the layer: {}", path.display(), e.desc()))
                })?;
                self.file = Some((File::from(fd).take(n), n, path));
            }
            other => {
                let why = format!("unknown record kind {other:#x}");
                return Err(io::Error::new(io::ErrorKind::InvalidData, why));
            }
        }
        Ok(true)
    }
}

impl Read for Reassembly {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.raw_left > 0 {
                let want = buf.len().min(self.raw_left as usize);
                let n = self.record.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "record cut short"));
                }
                self.raw_left -= n as u64;
                return Ok(n);
            }
            if let Some((file, left, path)) = &mut self.file {
                if *left > 0 {
                    let n = file.read(buf)?;
                    if n == 0 {
                        let why = format!("{} is shorter than when it was stored", path.display());
                        return Err(io::Error::new(io::ErrorKind::InvalidData, why));
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
                self.file = None;
            }
            if !self.next_record()? {
                return Ok(0);
            }
        }
    }
}
