//! Anonymous volumes (`-v /data`): a directory of the container's own,
//! `ROOT/volumes/<random id>/_data`, bind-mounted by rootfs like any
//! volume. It outlives the container unless `rm -v`, `--rm` or a prune
//! takes it along (Docker's rules).

use std::fs;
use std::path::{Path, PathBuf};

use rootfs::Volume;

use crate::error::{Error, Result, ToolError};

/// A new anonymous volume for the container path `target`: its directory
/// (not made yet, see [`make`]) and the volume to mount.
pub fn anonymous(root: &Path, target: &str) -> Result<(PathBuf, Volume)> {
    rootfs::spec::check_container_path("volume", Path::new(target))?;
    let dir = root.join("volumes").join(crate::names::random_id()?);
    let volume =
        Volume { source: dir.join("_data"), target: PathBuf::from(target), read_only: false };
    Ok((dir, volume))
}

/// Creates the directories of anonymous volumes.
pub fn make(dirs: &[PathBuf]) -> Result<()> {
    for dir in dirs {
        let data = dir.join("_data");
        fs::create_dir_all(&data).map_err(Error::io("create volume", &data))?;
    }
    Ok(())
}

/// Removes anonymous volumes and what they hold; one already gone is fine.
pub fn remove(dirs: &[PathBuf]) -> Result<()> {
    for dir in dirs {
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("remove volume", dir)(e))
            }
            _ => {}
        }
    }
    Ok(())
}
