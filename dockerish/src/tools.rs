//! Finding and running the tools. dockerish does no kernel work itself: it
//! runs `cgctl`, `ns-exec`, `rootfs` and `netctl` as processes, and their
//! command lines and JSON output are the contract between them. A few
//! steps it does through the tool's library instead of paying an exec:
//! `imgtool inspect`, `cgctl exec --create` (the cgroup made here, joined
//! by the chain's first process between fork and exec), `cgctl rm` at the
//! end, and `exec`'s `cgctl exec --pid`; `--dry-run` prints them as the
//! commands they stand for.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use imgtool::ImageInfo;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result, ToolError};

/// Where the tools are: beside our own executable (a build directory, or
/// an install prefix), else on `$PATH`; or in a directory given.
pub struct Tools {
    root: PathBuf,
    dir: Option<PathBuf>,
}

impl Tools {
    /// The tools for state root `root`, found beside us or on `$PATH`.
    pub fn new(root: &Path) -> Tools {
        Tools { root: root.to_path_buf(), dir: None }
    }

    /// The tools in `dir`, taken as they are named there (for tests, and
    /// for anyone who wants the commands printed with a given prefix).
    pub fn in_dir(root: &Path, dir: &Path) -> Tools {
        Tools { root: root.to_path_buf(), dir: Some(dir.to_path_buf()) }
    }

    pub fn path(&self, name: &str) -> Result<PathBuf> {
        if let Some(dir) = &self.dir {
            return Ok(dir.join(name));
        }
        let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join(name)));
        if let Some(path) = beside.filter(|p| p.is_file()) {
            return Ok(path);
        }
        let path_var = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path_var).map(|dir| dir.join(name)).find(|p| p.is_file()).ok_or_else(
            || Error::Tool {
                tool: name.into(),
                why: "not found beside dockerish nor on $PATH".into(),
            },
        )
    }

    /// The state root every tool is given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `imgtool --root ROOT ARGS…`
    pub fn imgtool<I, S>(&self, args: I) -> Result<Command>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.rooted("imgtool", args)
    }

    /// `netctl --root ROOT ARGS…`
    pub fn netctl<I, S>(&self, args: I) -> Result<Command>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.rooted("netctl", args)
    }

    /// `netctl --root ROOT ARGS…` as words, for a printed command too.
    pub fn netctl_argv<const N: usize>(&self, args: [&str; N]) -> Result<Vec<String>> {
        let mut argv = vec![
            self.path("netctl")?.display().to_string(),
            "--root".into(),
            self.root.display().to_string(),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        Ok(argv)
    }

    /// A tool that keeps state: `TOOL --root ROOT ARGS…`.
    fn rooted<I, S>(&self, tool: &str, args: I) -> Result<Command>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(self.path(tool)?);
        cmd.arg("--root").arg(&self.root).args(args);
        Ok(cmd)
    }

    /// `cgctl ARGS…`
    pub fn cgctl<I, S>(&self, args: I) -> Result<Command>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(self.path("cgctl")?);
        cmd.args(args);
        Ok(cmd)
    }

    /// The image `name`, as `imgtool inspect` describes it. A missing
    /// `busybox` is built first, the way `docker run` pulls on first use.
    pub fn resolve_image(&self, name: &str) -> Result<ImageInfo> {
        match self.inspect(name)? {
            Some(info) => Ok(info),
            None if name
                .parse::<imgtool::Reference>()
                .is_ok_and(|r| r.to_string() == "busybox:latest") =>
            {
                eprintln!("Unable to find image '{name}' locally; building it from the host's busybox-static");
                run_quiet(self.imgtool(["busybox"])?, "imgtool")?;
                self.inspect(name)?.ok_or_else(|| Error::NoSuchImage(name.into()))
            }
            None => Err(Error::NoSuchImage(name.into())),
        }
    }

    /// What `imgtool inspect NAME` prints, or `None` when there is no such
    /// image. Read through imgtool's library rather than by running it: the
    /// index is one file that writers replace by rename(2), so reading it
    /// needs no lock, and an exec here cost 2.7 ms of every `run`.
    pub fn inspect(&self, name: &str) -> Result<Option<ImageInfo>> {
        match imgtool::Store::open(&self.root)?.inspect(name) {
            Ok(info) => Ok(Some(info)),
            Err(imgtool::Error::NoSuchImage(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Runs a tool that prints JSON, and parses it; `None` when the tool says
/// that what it was asked about does not exist (both imgtool and cgctl
/// exit with 2 then).
pub fn run_json<T: DeserializeOwned>(mut cmd: Command, tool: &str) -> Result<Option<T>> {
    let out = cmd.stderr(Stdio::piped()).output().map_err(Error::io("run", tool))?;
    match out.status.code() {
        Some(0) => serde_json::from_slice(&out.stdout)
            .map(Some)
            .map_err(|e| Error::Tool { tool: tool.into(), why: format!("unreadable output: {e}") }),
        Some(tool_cli::exit::EXIT_NO_SUCH) => Ok(None),
        _ => Err(Error::Tool { tool: tool.into(), why: tool_message(&out.stderr, tool) }),
    }
}

/// Runs `cmd`, its stdout discarded; a failure carries its stderr.
pub fn run_quiet(mut cmd: Command, tool: &str) -> Result<()> {
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(Error::io("run", tool))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Tool { tool: tool.into(), why: tool_message(&out.stderr, tool) })
    }
}

/// A tool's stderr without its own `tool: ` prefix (we add ours).
fn tool_message(stderr: &[u8], tool: &str) -> String {
    let text = String::from_utf8_lossy(stderr).trim().to_string();
    text.strip_prefix(&format!("{tool}: ")).map(String::from).unwrap_or(text)
}

/// Quotes `args` for a POSIX shell, so a printed command can be pasted.
pub fn shell_line<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| {
            let a = a.as_ref();
            let plain = !a.is_empty()
                && a.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
            if plain {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_line(&["echo", "a b", "it's", "", "K=V"]), r"echo 'a b' 'it'\''s' '' K=V");
    }
}
