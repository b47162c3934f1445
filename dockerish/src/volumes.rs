//! Volumes: directories under `ROOT/volumes/<name>/_data` that rootfs
//! bind-mounts like any host path.
//!
//! - **Anonymous** (`-v /data`): named by a random 64-hex ID, the
//!   container's own. It outlives the container unless `rm -v`, `--rm` or
//!   a prune takes it along (Docker's rules).
//! - **Named** (`-v NAME:/data`, `volume create NAME`): made on first use,
//!   shared by every container that names it, kept until `volume rm` (which
//!   refuses one a container uses) or `volume prune -a`.
//!
//! `volume ls|inspect|rm|prune|create` work on both, as Docker's do.

use std::fs;
use std::path::{Path, PathBuf};

use rootfs::Volume;

use crate::cli::{Format, VolumeCommand};
use crate::error::{Error, Result, ToolError};

/// A new anonymous volume for the container path `target`: its directory
/// (not made yet, see [`make`]) and the volume to mount.
pub fn anonymous(root: &Path, target: &str) -> Result<(PathBuf, Volume)> {
    rootfs::spec::check_container_path("volume", Path::new(target))?;
    let dir = dir_of(root, &crate::names::random_id()?);
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

/// Where volumes are: absolute, as the records name their sources (so a
/// relative `--root` finds the same volumes a container uses).
fn base(root: &Path) -> PathBuf {
    std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()).join("volumes")
}

/// A volume's directory (its data is in `_data`).
pub fn dir_of(root: &Path, name: &str) -> PathBuf {
    base(root).join(name)
}

/// `-v SPEC`: a named volume's `NAME:DST[:ro]` made into the bind mount
/// of its directory; any other spec as it is (a host path must be absolute).
pub fn parse_spec(root: &Path, spec: &str) -> Result<Volume> {
    match spec.split_once(':') {
        Some((name, rest)) if !name.starts_with('/') && !name.is_empty() => {
            validate(name)?;
            let data = dir_of(root, name).join("_data");
            Ok(format!("{}:{rest}", data.display()).parse()?)
        }
        _ => Ok(spec.parse()?),
    }
}

/// Docker's rule for volume names (that of container names).
fn validate(name: &str) -> Result<()> {
    crate::names::validate(name).map_err(|_| {
        Error::invalid("volume name", name, "only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed")
    })
}

/// The volume (named or anonymous) a mount's source is, if it is one:
/// `ROOT/volumes/NAME/_data`.
pub fn name_of<'a>(root: &Path, source: &'a Path) -> Option<&'a str> {
    let dir = source.parent().filter(|_| source.ends_with("_data"))?;
    (dir.parent() == Some(base(root).as_path())).then(|| dir.file_name()?.to_str())?
}

/// The directories of the volumes `volumes` mount, for `run` to make
/// those not there yet.
pub fn named_in(root: &Path, volumes: &[Volume]) -> Vec<PathBuf> {
    volumes.iter().filter_map(|v| name_of(root, &v.source)).map(|n| dir_of(root, n)).collect()
}

/// Makes the named volumes not there yet; says so in the event log.
pub fn make_named(root: &Path, dirs: &[PathBuf]) -> Result<()> {
    for dir in dirs.iter().filter(|d| !d.exists()) {
        make(std::slice::from_ref(dir))?;
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        crate::events::volume(root, "create", &name);
    }
    Ok(())
}

/// Whether `name` is an anonymous volume's (a 64-hex ID).
fn anonymous_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One volume, as `volume inspect` shows it.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Info {
    name: String,
    driver: &'static str,
    mountpoint: PathBuf,
    created_at: String,
    scope: &'static str,
    /// Docker's label for `-v /data` volumes.
    labels: std::collections::BTreeMap<String, String>,
}

fn info(root: &Path, name: &str) -> Result<Info> {
    let dir = dir_of(root, name);
    let meta = fs::metadata(&dir).map_err(|_| Error::NoSuchVolume(name.into()))?;
    let created = std::os::unix::fs::MetadataExt::ctime(&meta).max(0) as u64;
    let mut labels = std::collections::BTreeMap::new();
    if anonymous_name(name) {
        labels.insert("com.docker.volume.anonymous".into(), String::new());
    }
    Ok(Info {
        name: name.into(),
        driver: "local",
        mountpoint: dir.join("_data"),
        created_at: tool_cli::human::rfc3339(created),
        scope: "local",
        labels,
    })
}

/// Every volume's name, sorted.
fn all(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(base(root))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("_data").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The containers (names) that mount volume `name`.
fn users(containers: &[crate::state::Container], root: &Path, name: &str) -> Vec<String> {
    containers
        .iter()
        .filter(|c| c.config.volumes.iter().any(|v| name_of(root, &v.source) == Some(name)))
        .map(|c| c.config.name.clone())
        .collect()
}

/// `volume create|ls|inspect|rm|prune`.
pub fn volume(root: &Path, command: VolumeCommand) -> Result<i32> {
    let containers = || crate::state::Containers::open(root).and_then(|c| c.all());
    match command {
        VolumeCommand::Create { name, driver } => {
            if driver != "local" {
                return Err(Error::invalid(
                    "--driver",
                    driver,
                    "only the local driver exists here",
                ));
            }
            let name = match name {
                Some(name) => name,
                None => crate::names::random_id()?,
            };
            validate(&name)?;
            let dir = dir_of(root, &name);
            tool_cli::root::make_private(root).map_err(Error::io("create", root))?;
            make_named(root, std::slice::from_ref(&dir))?;
            println!("{name}");
            Ok(0)
        }
        VolumeCommand::Ls { format, quiet } => {
            let infos = all(root).iter().map(|n| info(root, n)).collect::<Result<Vec<_>>>()?;
            let rows: Vec<serde_json::Value> = infos
                .iter()
                .map(|i| serde_json::json!({ "Driver": i.driver, "Name": i.name, "Mountpoint": i.mountpoint, "Scope": i.scope }))
                .collect();
            match format {
                Format::Json => rows.iter().for_each(|r| println!("{r}")),
                Format::Template { template, table } => crate::format::print_template(
                    &template,
                    table,
                    &rows,
                    &[("Name", "VOLUME NAME")],
                )?,
                Format::Table if quiet => infos.iter().for_each(|i| println!("{}", i.name)),
                Format::Table => {
                    let mut table = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
                    table.extend(infos.iter().map(|i| vec![i.driver.to_string(), i.name.clone()]));
                    print!("{}", tool_cli::human::table(&table));
                }
            }
            Ok(0)
        }
        VolumeCommand::Inspect { names } => {
            let mut found = Vec::new();
            let mut failed = false;
            for name in &names {
                match info(root, name) {
                    Ok(i) => found.push(i),
                    Err(e) => {
                        eprintln!("dockerish: {e}");
                        failed = true;
                    }
                }
            }
            tool_cli::print_json(&found);
            Ok(i32::from(failed))
        }
        VolumeCommand::Rm { names, .. } => {
            let all = containers()?;
            Ok(crate::lifecycle::each(&names, |name| {
                info(root, name)?;
                let using = users(&all, root, name);
                if !using.is_empty() {
                    return Err(Error::VolumeInUse {
                        name: name.into(),
                        containers: using.join(", "),
                    });
                }
                remove(&[dir_of(root, name)])?;
                crate::events::volume(root, "destroy", name);
                Ok(())
            }))
        }
        VolumeCommand::Prune { all: every, force } => {
            let warning = match every {
                true => "WARNING! This will remove all local volumes not used by at least one container.",
                false => "WARNING! This will remove anonymous local volumes not used by at least one container.",
            };
            if !crate::lifecycle::confirmed(force, warning)? {
                return Ok(0);
            }
            let (deleted, reclaimed) = prune(root, every)?;
            crate::lifecycle::print_pruned("Volumes", &deleted, reclaimed);
            Ok(0)
        }
    }
}

/// Removes the volumes no container uses (only anonymous ones unless
/// `every`); returns their names and the bytes they held.
pub fn prune(root: &Path, every: bool) -> Result<(Vec<String>, u64)> {
    let containers = crate::state::Containers::open(root)?;
    // Under the store lock: no `run` records a container meanwhile.
    let _lock = containers.lock()?;
    let all = containers.all()?;
    let mut deleted = Vec::new();
    let mut reclaimed = 0;
    for name in all_names_unused(root, &all, every) {
        reclaimed += size_of(root, &name);
        remove(&[dir_of(root, &name)])?;
        crate::events::volume(root, "destroy", &name);
        deleted.push(name);
    }
    Ok((deleted, reclaimed))
}

fn all_names_unused(
    root: &Path,
    containers: &[crate::state::Container],
    every: bool,
) -> Vec<String> {
    all(root)
        .into_iter()
        .filter(|n| every || anonymous_name(n))
        .filter(|n| users(containers, root, n).is_empty())
        .collect()
}

/// `system df`'s line for volumes: count, in use, bytes, bytes unused.
pub fn usage(
    root: &Path,
    containers: &[crate::state::Container],
) -> Result<(usize, usize, u64, u64)> {
    let names = all(root);
    let (mut size, mut unused) = (0, 0);
    let mut active = 0;
    for name in &names {
        let bytes = size_of(root, name);
        size += bytes;
        if users(containers, root, name).is_empty() {
            unused += bytes;
        } else {
            active += 1;
        }
    }
    Ok((names.len(), active, size, unused))
}

/// The bytes a volume holds.
fn size_of(root: &Path, name: &str) -> u64 {
    crate::lifecycle::dir_size(&dir_of(root, name).join("_data"))
}
