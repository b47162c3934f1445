//! `system check [--repair]`: what killed commands (of this version, or of
//! older ones without the store's protocol) left half done, and with
//! `--repair` finished. Each line names a thing and its state; the states
//! are those of the `state` module's docs.
//!
//! - containers without config.json (Dead): torn down and removed, as
//!   `rm -f` does;
//! - `.new-*` and `.trash-*` directories, temporary JSON files: removed;
//! - the image store's extractions whose process is gone (`imgtool check`);
//! - with `--repair`, netctl's attachments whose owner is gone and its
//!   links and addresses no record names (`netctl gc`, which only repairs).
//!
//! Exit status: 0 when all is consistent (or repaired), 1 when something
//! was found and not repaired.

use std::path::Path;

use crate::container::{discard, teardown};
use crate::error::{Error, Result, ToolError};
use crate::state::Containers;
use crate::tools::Tools;

pub fn check(root: &Path, repair: bool) -> Result<i32> {
    let (tools, containers) = (Tools::new(root), Containers::open(root)?);
    let mut found = Vec::new();
    {
        // Under the lock no create is at work: a .new-* is a killed one.
        let _lock = containers.lock_only()?;
        for dir in containers.in_passing() {
            found.push(format!("{}: a create or remove that was killed", dir.display()));
            if repair {
                std::fs::remove_dir_all(&dir).map_err(Error::io("remove", &dir))?;
            }
        }
        for container in containers.all()? {
            let temps = std::fs::read_dir(&container.dir)
                .map_err(Error::io("list", &container.dir))?
                .flatten()
                .filter(|e| json_store::is_temp(&e.file_name().to_string_lossy()))
                .count();
            if temps > 0 {
                found.push(format!(
                    "container {}: {temps} temporary file(s) of a killed write",
                    container.short_id()
                ));
                if repair {
                    json_store::remove_stale_temps(&container.dir)?;
                }
            }
            if container.dead {
                let has_config =
                    std::fs::metadata(container.dir.join("config.json")).is_ok_and(|m| m.len() > 0);
                let why = match has_config {
                    true => "an empty state.json (Dead: a --rm container's unsynced record after a power failure)",
                    false => "no config.json (Dead: an older version's killed create or rm, or an empty one after a power failure)",
                };
                found.push(format!("container {}: {why}", container.config.id));
                if repair {
                    teardown(&tools, &container.config)?;
                    discard(&containers, &container, false)?;
                }
            }
        }
    }
    for line in &found {
        println!("{}{line}", if repair { "repaired: " } else { "" });
    }
    // imgtool and netctl print their own lines.
    let mut imgtool = tools.imgtool(["check"])?;
    if repair {
        imgtool.arg("--repair");
    }
    let images = imgtool.status().map_err(Error::io("run", "imgtool"))?;
    if !repair {
        return Ok(if found.is_empty() && images.success() { 0 } else { 1 });
    }
    if !images.success() {
        return Err(Error::Tool {
            tool: "imgtool".into(),
            why: format!("check --repair: {images}"),
        });
    }
    let gc = tools.netctl(["gc"])?.status().map_err(Error::io("run", "netctl"))?;
    if !gc.success() {
        return Err(Error::Tool { tool: "netctl".into(), why: format!("gc: {gc}") });
    }
    Ok(0)
}
