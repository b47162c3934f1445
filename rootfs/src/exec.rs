//! execve(2) of the container's command, with the container's environment.
//!
//! The command is looked up in the `PATH` of the *container's* environment,
//! not in ours (execvp(3) would use ours), and the environment is exactly
//! the one given: no variable of the host leaks in.

use std::ffi::CString;

use nix::errno::Errno;
use nix::unistd::execve;

use crate::error::Error;

/// What PATH is when the environment does not set one (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment to exec with: `env`, plus `PATH` if it has none.
pub fn environment(env: &[String]) -> Vec<CString> {
    let mut out: Vec<CString> = env.iter().filter_map(|e| CString::new(e.as_str()).ok()).collect();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        out.push(CString::new(format!("PATH={DEFAULT_PATH}")).expect("no NUL in the default PATH"));
    }
    out
}

/// Execs `argv` with `env`, searching the environment's PATH when the
/// command has no '/'. Returns only on failure: 127 when nothing was found,
/// 126 when something found could not be executed.
pub fn exec(argv: &[CString], env: &[CString]) -> Error {
    let name = argv[0].to_string_lossy().into_owned();
    if name.contains('/') {
        let Err(errno) = execve(&argv[0], argv, env);
        return Error::Exec { command: name, source: errno };
    }
    let path = env
        .iter()
        .filter_map(|e| e.to_str().ok()?.strip_prefix("PATH="))
        .next()
        .unwrap_or(DEFAULT_PATH);
    let mut denied = None;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let Ok(candidate) = CString::new(format!("{dir}/{name}")) else { continue };
        let Err(errno) = execve(&candidate, argv, env);
        match errno {
            // Not here: try the next directory, as execvp(3) does.
            Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG | Errno::ELOOP => {}
            // Found but not executable: remember, a later one may work.
            Errno::EACCES | Errno::EPERM | Errno::EISDIR => denied = Some(errno),
            other => return Error::Exec { command: name, source: other },
        }
    }
    match denied {
        Some(errno) => Error::Exec { command: name, source: errno },
        None => Error::NotInPath { command: name },
    }
}

/// The file `argv0` names, looked up as [`exec`] would (the environment's
/// PATH when it has no '/'), without running it: an OCI runtime's create
/// reports a missing program before the container is started.
pub fn find(argv0: &CString, env: &[CString]) -> Result<CString, Error> {
    use nix::unistd::{access, AccessFlags};
    let name = argv0.to_string_lossy().into_owned();
    if name.contains('/') {
        return match access(argv0.as_c_str(), AccessFlags::X_OK) {
            Ok(()) => Ok(argv0.clone()),
            Err(errno) => Err(Error::Exec { command: name, source: errno }),
        };
    }
    let path = env
        .iter()
        .filter_map(|e| e.to_str().ok()?.strip_prefix("PATH="))
        .next()
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let Ok(candidate) = CString::new(format!("{dir}/{name}")) else { continue };
        let is_file = std::fs::metadata(candidate.to_str().unwrap_or_default())
            .map(|m| m.is_file())
            .unwrap_or(false);
        if is_file && access(candidate.as_c_str(), AccessFlags::X_OK).is_ok() {
            return Ok(candidate);
        }
    }
    Err(Error::NotInPath { command: name })
}
