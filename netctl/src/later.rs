//! Waits the kernel imposes on whoever finishes a job, handed to a child.
//!
//! Two of netctl's steps end in a wait that helps nobody, because the
//! change is made by the time the wait starts:
//!
//! - deleting a link: the kernel lets go of a net device only after an RCU
//!   grace period and more (8–30 ms here), inside the request;
//! - closing an nfnetlink socket: the last closer waits for the freeing
//!   of whatever transactions (anyone's) deleted (10–20 ms).
//!
//! So netctl forks a child that does the waiting, and returns. The child
//! of a process with threads may only make system calls until it exits
//! (no allocation, no lock: another thread may have held one at the fork),
//! so everything it uses is made before the fork.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::unistd::{pipe, Pid};

/// Lets a child be the last to close `socket`: it exits once we have
/// closed our copy.
pub fn close<S: AsRawFd>(socket: S) {
    in_child(socket, None);
}

/// Sends `message` on `socket` (a netlink request whose answer nobody
/// reads) from a child, and closes it there.
pub fn send<S: AsRawFd>(socket: S, message: Vec<u8>) {
    in_child(socket, Some(message));
}

fn in_child<S: AsRawFd>(socket: S, message: Option<Vec<u8>>) {
    let Ok((wait_end, release_end)) = pipe() else {
        return finish_here(socket, message);
    };
    let (fd, wait) = (socket.as_raw_fd(), wait_end.as_raw_fd());
    // The child keeps `fd` and `wait` and closes everything else (the
    // caller's locks and pipes, which would otherwise outlive us).
    let (low, high) = (fd.min(wait) as u32, fd.max(wait) as u32);
    // SAFETY: the child makes system calls only (close_range, sendto, read,
    // _exit) on memory made before the fork, then exits.
    match unsafe { libc::fork() } {
        0 => unsafe {
            if low > 0 {
                libc::syscall(libc::SYS_close_range, 0u32, low - 1, 0u32);
            }
            libc::syscall(libc::SYS_close_range, low + 1, high - 1, 0u32);
            libc::syscall(libc::SYS_close_range, high + 1, u32::MAX, 0u32);
            if let Some(m) = &message {
                libc::send(fd, m.as_ptr().cast(), m.len(), 0);
            }
            // Until our copy of the socket is closed: then this one is last.
            let mut byte = 0u8;
            libc::read(wait, (&mut byte as *mut u8).cast(), 1);
            libc::_exit(0)
        },
        -1 => finish_here(socket, message),
        pid => {
            drop(socket);
            drop::<OwnedFd>(release_end);
            drop(wait_end);
            // Reaped by a thread, so a long-running caller keeps no zombie
            // (netctl itself exits first: then init reaps it).
            std::thread::spawn(move || nix::sys::wait::waitpid(Pid::from_raw(pid), None));
        }
    }
}

/// No child to be had: wait ourselves.
fn finish_here<S: AsRawFd>(socket: S, message: Option<Vec<u8>>) {
    if let Some(m) = message {
        // SAFETY: a send of a buffer we own on a socket we own.
        unsafe { libc::send(socket.as_raw_fd(), m.as_ptr().cast(), m.len(), 0) };
    }
}
