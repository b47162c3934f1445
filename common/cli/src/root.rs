//! The state root: the one directory under which every tool keeps its
//! state (docs/ARCHITECTURE.md, "Conventions").

use std::path::PathBuf;

/// Where the state lives without `--root` or `$DOCKERISH_ROOT`.
pub const DEFAULT: &str = "/var/lib/dockerish";

/// `--root DIR` (or `$DOCKERISH_ROOT`), the same for every tool: a tool's
/// `Cli` takes it with `#[command(flatten)] root: StateRoot`.
#[derive(clap::Args, Clone, Debug)]
pub struct StateRoot {
    /// State root of every dockerish tool
    #[arg(
        long = "root",
        env = "DOCKERISH_ROOT",
        default_value = DEFAULT,
        global = true,
        value_name = "ROOT"
    )]
    pub path: PathBuf,
}

/// Makes the state root `root` private to its owner (mode 0700), creating
/// it and its parents if missing. Every tool calls this before it creates
/// anything beneath the root: image layers hold setuid binaries and device
/// nodes as the image made them, and containers' writable layers and logs
/// are theirs alone, so no other host user may reach any of it (Docker
/// keeps /var/lib/docker 0710 for the same reason). A root that exists with
/// group or other permissions is tightened, as Docker tightens its own;
/// a directory shared by design (sticky, as /tmp is, or `/`) is refused
/// rather than changed.
pub fn make_private(root: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(root) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let mode = std::fs::metadata(root)?.permissions().mode();
    if mode & 0o1000 != 0 || root.parent().is_none() {
        let why = format!(
            "{} is shared by every user (mode {:o}): give the tools a directory of their own",
            root.display(),
            mode & 0o7777
        );
        return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(mode & 0o7700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_root_is_made_private_and_an_open_one_tightened() {
        let tmp = std::env::temp_dir().join(format!("dockerish-root-test-{}", std::process::id()));
        let root = tmp.join("a/root");
        super::make_private(&root).unwrap();
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&root), 0o700);
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        super::make_private(&root).unwrap();
        assert_eq!(mode(&root), 0o700);
        assert!(super::make_private(std::path::Path::new("/tmp")).is_err(), "/tmp is not ours");
        assert_eq!(mode(std::path::Path::new("/tmp")), 0o1777);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
