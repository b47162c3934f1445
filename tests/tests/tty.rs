//! `dockerish run -it`, driven from a pseudo-terminal as a person at a
//! terminal would drive it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use dockerish_tests::Sandbox;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::openpty;
use nix::sys::termios::{tcgetattr, LocalFlags};

/// The person's side of the terminal: reads until `needle` shows up.
struct Screen {
    master: OwnedFd,
    seen: String,
}

impl Screen {
    fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + dockerish_tests::PATIENCE;
        while !self.seen.contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} never appeared; the screen shows {:?}",
                self.seen
            );
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(100u16)).unwrap();
            let mut buf = [0u8; 4096];
            match nix::unistd::read(self.master.as_fd(), &mut buf) {
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(nix::errno::Errno::EAGAIN) => {}
                Err(e) => panic!("read the terminal: {e}; the screen shows {:?}", self.seen),
            }
        }
        // Forget what was matched, so the next expect looks further on.
        let end = self.seen.find(needle).unwrap() + needle.len();
        self.seen.drain(..end);
    }

    fn type_(&self, keys: &str) {
        nix::unistd::write(self.master.as_fd(), keys.as_bytes()).unwrap();
    }
}

#[test]
fn an_interactive_shell_has_job_control_and_the_window_size() {
    let sb = Sandbox::new();
    let size = libc::winsize { ws_row: 33, ws_col: 101, ws_xpixel: 0, ws_ypixel: 0 };
    let pair = openpty(Some(&size), None).unwrap();
    nix::fcntl::fcntl(
        pair.master.as_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let before = tcgetattr(pair.slave.as_fd()).unwrap();

    let mut cmd = sb.command("dockerish");
    cmd.args(["run", "-it", "--rm", "--name", "tty", "busybox", "sh"]);
    cmd.stdin(Stdio::from(pair.slave.try_clone().unwrap()));
    cmd.stdout(Stdio::from(pair.slave.try_clone().unwrap()));
    cmd.stderr(Stdio::from(pair.slave.try_clone().unwrap()));
    // SAFETY: setsid and ioctl are async-signal-safe. The slave becomes
    // dockerish's controlling terminal, as a login terminal would be.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut screen = Screen { master: pair.master, seen: String::new() };

    screen.type_("tty; stty size; echo mark$((6*7))\n");
    // The terminal is the container's own, in its own devpts.
    screen.expect("/dev/pts/0");
    screen.expect("33 101");
    screen.expect("mark42");
    // While dockerish runs, our terminal is raw: the container's does the echo.
    let during = tcgetattr(pair.slave.as_fd()).unwrap();
    assert!(!during.local_flags.contains(LocalFlags::ICANON | LocalFlags::ECHO));

    // Job control: ^C stops the foreground job, not the shell.
    // (The marker is computed so that the echo of the typed line cannot match.)
    screen.type_("echo sleep$((1+1)); sleep 60\n");
    screen.expect("sleep2");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    screen.type_("\x03");
    screen.type_("echo after-sleep $?\n");
    screen.expect("after-sleep 130");
    // Well before `sleep 60` would have ended on its own.
    assert!(started.elapsed() < Duration::from_secs(30));
    screen.type_("sleep 60 &\n");
    screen.type_("jobs\n");
    screen.expect("Running");
    screen.type_("kill %1; echo ps-$(ps -o pid,comm | grep -c sleep)\n");
    screen.expect("ps-");

    // The window follows ours: resize, then SIGWINCH to dockerish.
    let bigger = libc::winsize { ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0 };
    unsafe { libc::ioctl(pair.slave.as_raw_fd(), libc::TIOCSWINSZ, &bigger) };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGWINCH,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    screen.type_("stty size\n");
    screen.expect("40 120");

    screen.type_("exit 7\n");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7));
    // Raw mode is undone on exit.
    let after = tcgetattr(pair.slave.as_fd()).unwrap();
    assert_eq!(after.local_flags, before.local_flags);
    assert_eq!(after.input_flags, before.input_flags);
    assert_eq!(after.output_flags, before.output_flags);
}
