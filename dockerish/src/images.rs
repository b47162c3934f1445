//! `images`, `image ls|rm|inspect|history|prune|load|save|import|tag`,
//! `rmi`, `load`, `save`, `import`, `tag`, `history`: Docker's image
//! commands, each one `imgtool` command (the store and every archive format
//! are imgtool's). What the front adds is Docker's output and the one fact
//! imgtool cannot know: which images containers use.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::cli::{
    Format, HistoryArgs, ImageCommand, ImagesArgs, ImportArgs, LoadArgs, RmiArgs, SaveArgs, TagArgs,
};
use crate::error::{Error, Result, ToolError};
use crate::state::Containers;
use crate::tools::{run_json, Tools};

pub fn image(root: &Path, command: ImageCommand) -> Result<i32> {
    match command {
        ImageCommand::Ls(args) => images(root, args),
        ImageCommand::Rm(args) => rmi(root, args),
        ImageCommand::Inspect { images } => inspect(root, &images),
        ImageCommand::History(args) => history(root, args),
        ImageCommand::Prune { all, force } => prune(root, all, force),
        ImageCommand::Load(args) => load(root, args),
        ImageCommand::Save(args) => save(root, args),
        ImageCommand::Import(args) => import(root, args),
        ImageCommand::Tag(args) => tag(root, args),
    }
}

pub fn images(root: &Path, args: ImagesArgs) -> Result<i32> {
    if let Format::Template { template, table } = &args.format {
        let found: Vec<imgtool::ImageInfo> =
            run_json(Tools::new(root).imgtool(["ls", "--format", "json"])?, "imgtool")?
                .unwrap_or_default();
        let rows: Vec<serde_json::Value> = found.iter().flat_map(image_rows).collect();
        let headers =
            [("ID", "IMAGE ID"), ("CreatedSince", "CREATED"), ("CreatedAt", "CREATED AT")];
        crate::format::print_template(template, *table, &rows, &headers)?;
        return Ok(0);
    }
    let mut argv = vec!["ls", "--format", args.format.name()];
    if args.quiet {
        argv.push("-q");
    }
    pass_through(&mut Tools::new(root).imgtool(argv)?)
}

/// Docker's `images` rows of an image: one per name (`<none>` without).
fn image_rows(image: &imgtool::ImageInfo) -> Vec<serde_json::Value> {
    let id = image.id.strip_prefix("sha256:").unwrap_or(&image.id);
    let row = |repository: &str, tag: &str| {
        serde_json::json!({
            "ID": &id[..12.min(id.len())],
            "Repository": repository,
            "Tag": tag,
            "Digest": "<none>",
            "CreatedAt": tool_cli::human::rfc3339(image.created),
            "CreatedSince": tool_cli::human::ago(image.created),
            "Size": tool_cli::human::size(image.size),
        })
    };
    if image.repo_tags.is_empty() {
        return vec![row("<none>", "<none>")];
    }
    image
        .repo_tags
        .iter()
        .map(|name| match name.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')) {
            Some((repository, tag)) => row(repository, tag),
            None => row(name, "latest"),
        })
        .collect()
}

/// `rmi`: refused for an image a container uses (but for one of several
/// names of it); with `-f` such an image loses its names but stays
/// (untagged) until its containers are gone, as Docker's does, so no
/// container loses its layers. Each name is tried; a refusal is said and
/// the status is 1.
pub fn rmi(root: &Path, args: RmiArgs) -> Result<i32> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?.all()?;
    let mut status = 0;
    for name in &args.images {
        let Some(image) = tools.inspect(name)? else {
            eprintln!("Error: No such image: {name}");
            status = 1;
            continue;
        };
        let user = containers.iter().find(|c| c.config.image_id == image.id);
        // A name of an image that keeps another: only the name goes.
        let one_of_its_names = image.repo_tags.len() > 1
            && name
                .parse::<imgtool::Reference>()
                .is_ok_and(|r| image.repo_tags.contains(&r.to_string()));
        let mut cmd = tools.imgtool(["rm"])?;
        match user {
            Some(user) if !args.force && !one_of_its_names => {
                let refused = Error::ImageInUse {
                    image: name.clone(),
                    id: user.short_id().into(),
                    name: user.config.name.clone(),
                };
                eprintln!("Error response from daemon: {refused}");
                status = 1;
                continue;
            }
            Some(_) => cmd.arg("--untag"),
            None => &mut cmd,
        };
        if pass_through(cmd.arg(name))? != 0 {
            status = 1;
        }
    }
    Ok(status)
}

fn inspect(root: &Path, images: &[String]) -> Result<i32> {
    let tools = Tools::new(root);
    let mut found = Vec::new();
    for name in images {
        match tools.inspect(name)? {
            Some(image) => found.push(image),
            None => {
                tool_cli::print_json(&found);
                return Err(Error::NoSuchImage(name.clone()));
            }
        }
    }
    tool_cli::print_json(&found);
    Ok(0)
}

pub fn history(root: &Path, args: HistoryArgs) -> Result<i32> {
    if let Format::Template { template, table } = &args.format {
        let cmd = Tools::new(root).imgtool(["history", "--format", "json", &args.image])?;
        let steps: Vec<serde_json::Value> =
            run_json(cmd, "imgtool")?.ok_or_else(|| Error::NoSuchImage(args.image.clone()))?;
        // Docker's template fields, from imgtool's.
        let rows: Vec<serde_json::Value> = steps
            .iter()
            .map(|s| {
                let created = s["created"].as_str().unwrap_or_default();
                let since = tool_cli::human::parse_rfc3339(created)
                    .map(|n| tool_cli::human::ago((n / 1_000_000_000) as u64))
                    .unwrap_or_default();
                serde_json::json!({
                    "CreatedAt": created,
                    "CreatedSince": since,
                    "CreatedBy": s["created_by"],
                    "Comment": s["comment"],
                })
            })
            .collect();
        let headers = [("CreatedSince", "CREATED"), ("CreatedBy", "CREATED BY")];
        crate::format::print_template(template, *table, &rows, &headers)?;
        return Ok(0);
    }
    let mut cmd =
        Tools::new(root).imgtool(["history", "--format", args.format.name(), &args.image])?;
    if args.no_trunc {
        cmd.arg("--no-trunc");
    }
    pass_through(&mut cmd)
}

/// `image prune [-a]`: untagged images (all unused with `-a`) no
/// container uses, then the layers no image uses.
fn prune(root: &Path, all: bool, force: bool) -> Result<i32> {
    let warning = match all {
        true => "WARNING! This will remove all images without at least one container associated to them.",
        false => "WARNING! This will remove all dangling images.",
    };
    if !crate::lifecycle::confirmed(force, warning)? {
        return Ok(0);
    }
    let mut cmd = Tools::new(root).imgtool(["prune"])?;
    if all {
        cmd.arg("--all");
    }
    for container in Containers::open(root)?.all()? {
        cmd.arg("--keep").arg(&container.config.image_id);
    }
    pass_through(&mut cmd)
}

/// `load`: Docker's lines, one per image.
pub fn load(root: &Path, args: LoadArgs) -> Result<i32> {
    let mut cmd = Tools::new(root).imgtool(["load", "-i"])?;
    cmd.arg(args.input.as_deref().unwrap_or(Path::new("-")));
    if args.quiet {
        cmd.arg("--quiet");
    }
    let Some(loaded) = with_terminal::<Vec<imgtool::ImageInfo>>(cmd)? else { return Ok(1) };
    if !args.quiet {
        for image in loaded {
            match image.repo_tags.is_empty() {
                true => println!("Loaded image ID: {}", image.id),
                false => image.repo_tags.iter().for_each(|t| println!("Loaded image: {t}")),
            }
        }
    }
    Ok(0)
}

pub fn save(root: &Path, args: SaveArgs) -> Result<i32> {
    let mut cmd = Tools::new(root).imgtool(["save"])?;
    if let Some(output) = &args.output {
        cmd.arg("-o").arg(output);
    }
    pass_through(cmd.args(&args.images))
}

/// `import FILE|- [REPOSITORY[:TAG]]`: prints the new image's ID.
pub fn import(root: &Path, args: ImportArgs) -> Result<i32> {
    let mut cmd = Tools::new(root).imgtool(["import", "--message", &args.message])?;
    for instruction in &args.change {
        cmd.arg("--change").arg(instruction);
    }
    cmd.arg(&args.file).args(&args.name);
    let Some(image) = with_terminal::<imgtool::ImageInfo>(cmd)? else { return Ok(1) };
    println!("{}", image.id);
    Ok(0)
}

/// Runs an imgtool command that reads our standard input and shows its
/// progress (and its errors) on our standard error; its JSON output, or
/// `None` when it failed (it has said why).
fn with_terminal<T: serde::de::DeserializeOwned>(mut cmd: Command) -> Result<Option<T>> {
    let out = cmd
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(Error::io("run", "imgtool"))?;
    if !out.status.success() {
        return Ok(None);
    }
    serde_json::from_slice(&out.stdout)
        .map(Some)
        .map_err(|e| Error::Tool { tool: "imgtool".into(), why: format!("unreadable output: {e}") })
}

pub fn tag(root: &Path, args: TagArgs) -> Result<i32> {
    let cmd = Tools::new(root).imgtool(["tag", &args.source, &args.target])?;
    match run_json::<imgtool::ImageInfo>(cmd, "imgtool")? {
        Some(_) => Ok(0),
        None => Err(Error::NoSuchImage(args.source)),
    }
}

/// `export`: the container's filesystem (its writable layer over its
/// image's), running or not, without its volumes and kernel filesystems,
/// as Docker's.
pub fn export(root: &Path, key: &str, output: Option<&Path>) -> Result<i32> {
    let container = Containers::open(root)?.find(key)?;
    if let Some(range) = &container.config.security.userns {
        let why =
            format!("it runs in a user namespace (host ids {range}); its files hold shifted ids");
        return Err(Error::invalid("export of container", key, why));
    }
    let mut cmd = Tools::new(root).imgtool(["export", "--layer"])?;
    cmd.arg(container.dir.join("upper"));
    for layer in &container.config.layers {
        cmd.arg("--layer").arg(layer);
    }
    if let Some(output) = output {
        cmd.arg("-o").arg(output);
    }
    pass_through(&mut cmd)
}

/// Runs an imgtool command with our stdio. It has said what went wrong;
/// we fail with Docker's 1, whatever imgtool's own status (125, or 2 for
/// no such image).
pub fn pass_through(cmd: &mut Command) -> Result<i32> {
    let status = cmd.status().map_err(Error::io("run", "imgtool"))?;
    Ok(if status.success() { 0 } else { 1 })
}
