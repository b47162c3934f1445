//! Binding and connecting by path, however long the path.
//!
//! A unix socket's address holds at most 107 bytes of path (`sun_path`,
//! unix(7)), and a state root under /tmp with a 64-hex container ID nears
//! that. A longer path is reached as `/proc/self/fd/N/NAME`, where N is an
//! open descriptor of its directory: short, and it names the same file.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The longest path `sun_path` (108 bytes) holds: its terminating NUL
/// takes the last byte.
const SUN_PATH_MAX: usize = 107;

/// Calls `f` (a bind or connect) with `path`, or with
/// `/proc/self/fd/N/NAME` when `path` is too long, N its directory, open
/// for the duration of the call.
pub fn via_short_path<T>(path: &Path, f: impl FnOnce(&Path) -> io::Result<T>) -> io::Result<T> {
    if path.as_os_str().len() <= SUN_PATH_MAX {
        return f(path);
    }
    let (dir, name) =
        (path.parent().unwrap_or(Path::new("/")), path.file_name().unwrap_or_default());
    let dir = std::fs::File::open(dir)?;
    f(&Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name))
}

/// Connects to the unix socket at `path` (std opens it close-on-exec).
pub fn connect(path: &Path) -> io::Result<UnixStream> {
    via_short_path(path, |p| UnixStream::connect(p))
}

/// The runtime's end: a socket listening at a path, removed again when
/// this is dropped.
pub struct Listener {
    listener: UnixListener,
    path: PathBuf,
}

impl Listener {
    /// Listens at `path`, replacing a socket file a killed runtime left.
    pub fn bind(path: &Path) -> io::Result<Listener> {
        let _ = std::fs::remove_file(path);
        let listener = via_short_path(path, |p| UnixListener::bind(p))?;
        listener.set_nonblocking(true)?;
        Ok(Listener { listener, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection if one is waiting (the listener does not block: poll
    /// its descriptor for readability to wait).
    pub fn accept(&self) -> io::Result<Option<UnixStream>> {
        match self.listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                Ok(Some(stream))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_path_longer_than_sun_path_still_works() {
        let dir = tempfile_dir();
        let deep = dir.join("d".repeat(120));
        std::fs::create_dir_all(&deep).unwrap();
        let path = deep.join("x.sock");
        assert!(path.as_os_str().len() > SUN_PATH_MAX);
        let listener = Listener::bind(&path).unwrap();
        assert!(
            listener.accept().unwrap().is_none(),
            "nothing waits yet, and accept does not block"
        );
        let mut client = connect(&path).unwrap();
        client.write_all(b"hi").unwrap();
        drop(client);
        let mut text = String::new();
        listener.accept().unwrap().expect("a connection").read_to_string(&mut text).unwrap();
        assert_eq!(text, "hi");
        drop(listener);
        assert!(!path.exists(), "the socket file goes with the listener");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("console-socket-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
