//! `dockerish attach`: a terminal (or pipes) joined to a detached
//! container's stdio, through its supervisor, which holds them.
//!
//! The supervisor listens on `ROOT/containers/ID/attach.sock` while the
//! container runs ([`Clients`]). Each client gets what the container
//! writes from then on, in frames `[stream: 1 stdout, 2 stderr][length:
//! u32 big-endian][bytes]` (Docker's stdcopy framing), and what it sends is
//! the container's input: the terminal's, with `-t`, or its stdin pipe,
//! with `-i` (a container without `-i` takes none). A client that cannot
//! keep up (its socket buffer full) is dropped rather than let it stall
//! the container's output; input the container does not read (its pipe
//! full) is dropped for the same reason.
//!
//! The client ([`attach`]) puts its terminal in raw mode for a `-t`
//! container, and detaches at the detach keys (^P^Q unless
//! `--detach-keys`), leaving the container running; when the container
//! ends, it exits with its status, as Docker's does.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use console_socket::Listener;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::cli::AttachArgs;
use crate::error::{Error, Result, ToolError};
use crate::logs::Stream;
use crate::state::Containers;

fn socket_path(dir: &Path) -> PathBuf {
    dir.join("attach.sock")
}

/// The supervisor's side: the listening socket and its clients.
pub struct Clients {
    listener: Listener,
    clients: Vec<UnixStream>,
    /// Where clients' input goes (`None`: the container takes none).
    input: Option<OwnedFd>,
}

impl Clients {
    pub fn listen(dir: &Path, input: Option<OwnedFd>) -> Result<Clients> {
        let path = socket_path(dir);
        let listener = Listener::bind(&path).map_err(Error::io("listen on", &path))?;
        // Input the container does not read must not block the supervisor
        // (its output, signals and end wait on it): it is dropped instead.
        if let Some(fd) = &input {
            let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL)
                .map_err(|e| Error::sys("read the flags of", "the container's input", e))?;
            let flags = nix::fcntl::OFlag::from_bits_retain(flags) | nix::fcntl::OFlag::O_NONBLOCK;
            nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(flags))
                .map_err(|e| Error::sys("make non-blocking", "the container's input", e))?;
        }
        Ok(Clients { listener, clients: Vec::new(), input })
    }

    /// To poll for reading: the listener, then each client.
    pub fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        std::iter::once(self.listener.as_fd()).chain(self.clients.iter().map(|c| c.as_fd()))
    }

    /// Acts on what `ready` (one flag per [`Clients::fds`]) says: takes a
    /// new client, passes clients' input on, drops those that left.
    pub fn serve(&mut self, ready: &[bool]) {
        let mut gone = Vec::new();
        for (i, client) in self.clients.iter_mut().enumerate() {
            if !ready.get(i + 1).copied().unwrap_or(false) {
                continue;
            }
            let mut buf = [0u8; 4096];
            match client.read(&mut buf) {
                Ok(0) | Err(_) => gone.push(i),
                Ok(n) => {
                    if let Some(input) = &self.input {
                        // The container may have closed its input: nothing to do then.
                        let _ = nix::unistd::write(input, &buf[..n]);
                    }
                }
            }
        }
        for i in gone.into_iter().rev() {
            self.clients.remove(i);
        }
        if ready.first().copied().unwrap_or(false) {
            if let Ok(Some(client)) = self.listener.accept() {
                if client.set_nonblocking(true).is_ok() {
                    self.clients.push(client);
                }
            }
        }
    }

    /// Sends output to every client.
    pub fn send(&mut self, stream: Stream, data: &[u8]) {
        if self.clients.is_empty() {
            return;
        }
        let mut frame = Vec::with_capacity(data.len() + 5);
        frame.push(match stream {
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        });
        frame.extend_from_slice(&(data.len() as u32).to_be_bytes());
        frame.extend_from_slice(data);
        // A frame half written would garble the stream: such a client goes.
        self.clients.retain_mut(|c| matches!(c.write(&frame), Ok(n) if n == frame.len()));
    }
}

/// `--detach-keys`: Docker's form, `ctrl-p,ctrl-q` or single characters.
fn detach_keys(spec: &str) -> Result<Vec<u8>> {
    let bad = || Error::invalid("--detach-keys", spec, "expected keys like ctrl-p,ctrl-q or a,b");
    spec.split(',')
        .map(|key| match key.strip_prefix("ctrl-") {
            Some(k) if k.len() == 1 => match k.as_bytes()[0].to_ascii_uppercase() {
                c @ b'@'..=b'_' => Ok(c & 0x1f),
                _ => Err(bad()),
            },
            None if key.len() == 1 => Ok(key.as_bytes()[0]),
            _ => Err(bad()),
        })
        .collect()
}

/// Watches input for the detach keys; passes the rest on (a partial match
/// is held back until it is sure).
struct Detacher {
    keys: Vec<u8>,
    matched: usize,
}

impl Detacher {
    /// What of `input` to send on, and whether the keys were typed.
    fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

/// `attach CONTAINER`: returns the container's exit status, or 0 after a
/// detach.
pub fn attach(root: &Path, args: AttachArgs) -> Result<i32> {
    let containers = Containers::open(root)?;
    let container = containers.find(&args.container)?;
    if container.init_pid().is_none() {
        return Err(Error::invalid(
            "attach to container",
            args.container.clone(),
            "You cannot attach to a stopped container, start it first",
        ));
    }
    let keys = detach_keys(&args.detach_keys)?;
    let path = socket_path(&container.dir);
    let mut socket = console_socket::connect(&path).map_err(Error::io("connect to", &path))?;
    let stdin = std::io::stdin();
    let forward = !args.no_stdin && container.config.interactive;
    let _raw = match forward && container.config.tty {
        true => crate::pty::raw_mode_if_terminal(stdin.as_fd())?,
        false => None,
    };
    let mut detacher = Detacher { keys, matched: 0 };
    let mut frames = Frames::default();
    let mut buf = [0u8; 8192];
    let mut stdin_open = forward;
    loop {
        let mut fds = vec![PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("poll", "the attach socket", e)),
            Ok(_) => {}
        }
        let ready = |i: usize| fds.get(i).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
        let (from_container, from_user) = (ready(0), ready(1));
        drop(fds);
        if from_user {
            let n = nix::unistd::read(stdin.as_fd(), &mut buf).unwrap_or(0);
            if n == 0 {
                stdin_open = false;
            } else {
                let (pass, detach) = detacher.feed(&buf[..n]);
                socket.write_all(&pass).map_err(Error::io("write to", &path))?;
                if detach {
                    return Ok(0);
                }
            }
        }
        if from_container {
            match socket.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => frames.write(&buf[..n])?,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("read from", &path)(e)),
            }
        }
    }
    // The supervisor closed it: the container has ended. Its status, once recorded.
    let container = crate::lifecycle::settled(&containers, &container)?;
    crate::lifecycle::wait_gone(&container, Some(crate::lifecycle::KILL_GRACE));
    Ok(containers
        .load(&container.config.id)
        .ok()
        .and_then(|c| c.state.shown_exit_code())
        .unwrap_or(0))
}

/// Decodes the supervisor's frames onto our stdout and stderr.
#[derive(Default)]
struct Frames {
    pending: Vec<u8>,
}

impl Frames {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(data);
        while self.pending.len() >= 5 {
            let len = u32::from_be_bytes(self.pending[1..5].try_into().expect("4 bytes")) as usize;
            if self.pending.len() < 5 + len {
                break;
            }
            let bytes = &self.pending[5..5 + len];
            let written = match self.pending[0] {
                2 => std::io::stderr().write_all(bytes),
                _ => std::io::stdout().write_all(bytes).and_then(|()| std::io::stdout().flush()),
            };
            written.map_err(Error::io("write", "the output"))?;
            self.pending.drain(..5 + len);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_and_match_across_reads() {
        assert_eq!(detach_keys("ctrl-p,ctrl-q").unwrap(), [0x10, 0x11]);
        assert_eq!(detach_keys("a,ctrl-@").unwrap(), [b'a', 0]);
        assert!(detach_keys("ctrl-").is_err() && detach_keys("meta-x").is_err());
        let mut d = Detacher { keys: vec![0x10, 0x11], matched: 0 };
        assert_eq!(d.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(d.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(d.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(d.feed(b"\x11rest"), (vec![], true));
    }
}
