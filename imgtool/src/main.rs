//! `imgtool`: the command line. The work is in the library (`imgtool`).

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use imgtool::archive::{self, Format as ArchiveFormat};
use imgtool::{busybox, Error, ImageConfig, ImageInfo, Reference, Store, ToolError};
use tool_cli::{human, print_json};

const EXAMPLES: &str = "\
Examples:
  imgtool busybox                          build busybox:latest from the host's busybox-static
  podman save -o app.tar app && imgtool load -i app.tar
  skopeo copy oci:layout:app oci-archive:app.tar && imgtool load -i app.tar
  imgtool save busybox -o busybox.tar      (--format oci for an oci-archive)
  imgtool import rootfs.tar.zst myimage:1 --change 'CMD [\"/bin/sh\"]'
  imgtool commit --parent busybox UPPERDIR mine:1 -m 'added a file'
  imgtool ls
  imgtool history busybox
  imgtool inspect busybox                  layers (directories for overlayfs) and config, as JSON
  imgtool rm myimage:1

State lives in --root (or $DOCKERISH_ROOT), default /var/lib/dockerish, under images/.
Exit status: 0 done, 2 no such image, 125 failed.";

/// A sha256 content-addressed image store
#[derive(Parser)]
#[command(name = "imgtool", version, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    root: tool_cli::root::StateRoot,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import a root filesystem tar (FILE, or - for stdin; plain, gzip, zstd or xz) as image NAME[:TAG]
    Import {
        file: PathBuf,
        name: Option<Reference>,
        /// Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)
        #[arg(short, long = "change", value_name = "INSTRUCTION")]
        change: Vec<String>,
        /// Comment recorded with the image
        #[arg(short, long, default_value = "")]
        message: String,
        /// No progress on the terminal
        #[arg(short, long)]
        quiet: bool,
        /// Default command of the image (repeat for each argument)
        #[arg(long = "cmd", value_name = "ARG")]
        cmd: Vec<String>,
        /// Environment entry of the image (repeatable)
        #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// Working directory of the image
        #[arg(short = 'w', long = "workdir", value_name = "DIR")]
        workdir: Option<String>,
    },
    /// Make image NAME from PARENT's layers plus directory DIR (an overlayfs upper dir) as a new top layer
    Commit {
        /// The image to build on (default: none, DIR is the only layer)
        #[arg(long, value_name = "IMAGE")]
        parent: Option<String>,
        /// Comment recorded with the image
        #[arg(short, long, default_value = "")]
        message: String,
        /// Apply a Dockerfile instruction to the parent's config (repeatable)
        #[arg(short, long = "change", value_name = "INSTRUCTION")]
        change: Vec<String>,
        /// What the history says made the layer
        #[arg(long, default_value = "imgtool commit", value_name = "TEXT")]
        created_by: String,
        dir: PathBuf,
        name: Option<Reference>,
    },
    /// Load images from a docker save archive or an OCI layout / oci-archive (plain, gzip, zstd or xz)
    Load {
        /// The archive or OCI layout directory (default: standard input)
        #[arg(short, long, default_value = "-", value_name = "FILE")]
        input: PathBuf,
        /// No progress on the terminal
        #[arg(short, long)]
        quiet: bool,
    },
    /// Save images to an archive that docker, podman and skopeo load
    Save {
        #[arg(required = true, value_name = "IMAGE")]
        images: Vec<String>,
        /// Write to FILE (default: standard output, not a terminal)
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "docker")]
        format: SaveFormat,
    },
    /// Write the tree that layers show, merged as overlayfs merges them, as one tar (docker export)
    Export {
        /// A layer directory, topmost first (a container's writable layer first of all; repeatable)
        #[arg(long = "layer", required = true, value_name = "DIR")]
        layers: Vec<PathBuf>,
        /// Write to FILE (default: standard output, not a terminal)
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Give image SOURCE another name TARGET
    Tag { source: String, target: Reference },
    /// Show how an image was made, newest step first
    History {
        image: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Do not cut long columns
        #[arg(long)]
        no_trunc: bool,
    },
    /// Remove untagged images (-a: all images) but those kept, and every layer no image uses
    Prune {
        #[arg(short, long)]
        all: bool,
        /// An image ID to keep (one a container uses; repeatable)
        #[arg(long, value_name = "ID")]
        keep: Vec<String>,
    },
    /// Build an image from the host's static busybox binary
    Busybox {
        #[arg(default_value = "busybox:latest")]
        name: Reference,
        /// The busybox binary (it must be statically linked)
        #[arg(long, default_value = busybox::DEFAULT_BINARY)]
        binary: PathBuf,
    },
    /// List images
    #[command(alias = "list")]
    Ls {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Only image IDs
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print an image's layers and config as JSON
    Inspect { name: String },
    /// Remove tags or images; layers no image uses are deleted
    #[command(alias = "rmi")]
    Rm {
        /// Only remove the names: the image stays, untagged (for containers that use it)
        #[arg(long)]
        untag: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List what killed commands left half done (extractions); --repair removes it
    Check {
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SaveFormat {
    /// `docker save`'s (docker-archive)
    Docker,
    /// an OCI image layout in a tar (oci-archive)
    Oci,
}

/// Returns the exit status: 0, or 1 for `check` that found something.
fn run(cli: Cli) -> Result<i32, Error> {
    let store = Store::open(&cli.root.path)?;
    match cli.command {
        Command::Import { file, name, change, message, quiet, cmd, env, workdir } => {
            let store = store.with_progress(imgtool::progress::wanted(quiet));
            let input: Box<dyn Read> = if file.as_os_str() == "-" {
                Box::new(io::stdin().lock())
            } else {
                Box::new(File::open(&file).map_err(Error::io("open", &file))?)
            };
            let mut config = ImageConfig {
                env,
                cmd,
                working_dir: workdir.unwrap_or_default(),
                ..ImageConfig::default()
            };
            for instruction in &change {
                config.change(instruction)?;
            }
            let source = shown(&file);
            let input = io::BufReader::with_capacity(1 << 20, input);
            let image = store.import(input, &source, name.as_ref(), config, &message)?;
            event(&cli.root.path, "import", &image);
            print_json(&image);
        }
        Command::Commit { parent, message, change, created_by, dir, name } => {
            let mut config = match &parent {
                Some(p) => store.inspect(p)?.config,
                None => ImageConfig::default(),
            };
            for instruction in &change {
                config.change(instruction)?;
            }
            let image = store.commit(
                parent.as_deref(),
                &dir,
                name.as_ref(),
                config,
                &message,
                &created_by,
            )?;
            print_json(&image);
        }
        Command::Busybox { name, binary } => {
            let tar = busybox::build_tar(&binary)?;
            let comment = format!("built from {}", binary.display());
            let source = binary.display().to_string();
            let image =
                store.import(tar.as_slice(), &source, Some(&name), busybox::config(), &comment)?;
            event(&cli.root.path, "import", &image);
            print_json(&image);
        }
        Command::Load { input, quiet } => {
            let store = store.with_progress(imgtool::progress::wanted(quiet));
            let images = archive::load(&store, &input)?;
            images.iter().for_each(|image| event(&cli.root.path, "load", image));
            print_json(&images)
        }
        Command::Save { images, output, format } => {
            let format = match format {
                SaveFormat::Docker => ArchiveFormat::Docker,
                SaveFormat::Oci => ArchiveFormat::Oci,
            };
            write_archive(output.as_deref(), |out| archive::save(&store, &images, format, out))?;
            for name in &images {
                event(&cli.root.path, "save", &store.inspect(name)?);
            }
        }
        Command::Export { layers, output } => write_archive(output.as_deref(), |out| {
            imgtool::pack::pack_merged(&layers, out).map_err(Error::io("export", &layers[0]))
        })?,
        Command::Tag { source, target } => {
            let image = store.tag(&source, &target)?;
            let attributes = [("name", target.to_string())];
            log_event(&cli.root.path, "tag", &image.id, &attributes);
            print_json(&image)
        }
        Command::History { image, format, no_trunc } => {
            let image = store.inspect(&image)?;
            let config = store.config_file(&image.id)?;
            match format {
                Format::Json => print_json(&config.history),
                Format::Table => print_history(&image, &config, no_trunc),
            }
        }
        Command::Prune { all, keep } => {
            store.prune(all, &keep)?.iter().for_each(|line| println!("{line}"));
        }
        Command::Ls { format, quiet } => {
            let images = store.list()?;
            match format {
                Format::Json => print_json(&images),
                Format::Table if quiet => images.iter().for_each(|i| println!("{}", i.short_id())),
                Format::Table => print_table(&images),
            }
        }
        Command::Inspect { name } => print_json(&store.inspect(&name)?),
        Command::Rm { untag, names } => {
            for name in names {
                for line in store.remove(&name, untag)? {
                    println!("{line}");
                    // Docker's two events, from Docker's two kinds of line.
                    if let Some(tag) = line.strip_prefix("Untagged: ") {
                        log_event(&cli.root.path, "untag", tag, &[("name", tag.to_string())]);
                    } else if let Some(id) = line.strip_prefix("Deleted: ") {
                        log_event(&cli.root.path, "delete", id, &[("name", name.clone())]);
                    }
                }
            }
        }
        Command::Check { repair } => {
            let leftovers = store.leftovers();
            for dir in &leftovers {
                match repair {
                    true => {
                        imgtool::store::remove_tree(dir)?;
                        println!("removed {}: an extraction whose process is gone", dir.display());
                    }
                    false => println!("{}: an extraction whose process is gone", dir.display()),
                }
            }
            if !repair && !leftovers.is_empty() {
                return Ok(1);
            }
        }
    }
    Ok(0)
}

/// Appends an image event to the state root's event log (`dockerish
/// events`), named by the image's first tag.
fn event(root: &Path, action: &str, image: &imgtool::ImageInfo) {
    let name = image.repo_tags.first().cloned().unwrap_or_default();
    log_event(root, action, &image.id, &[("name", name)]);
}

fn log_event(root: &Path, action: &str, id: &str, attributes: &[(&str, String)]) {
    let attributes: Vec<(&str, &str)> = attributes.iter().map(|(k, v)| (*k, v.as_str())).collect();
    json_store::events::append(
        root,
        &json_store::events::Event::new("image", action, id, &attributes),
    );
}

fn shown(file: &Path) -> String {
    match file.as_os_str() == "-" {
        true => "standard input".into(),
        false => file.display().to_string(),
    }
}

/// Writes the archive to `output` (replaced by rename when whole, so a
/// failed save leaves no half archive), or to standard output if that is
/// not a terminal.
fn write_archive(
    output: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<(), Error> {
    match output.filter(|o| o.as_os_str() != "-") {
        Some(path) => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let tmp =
                tempfile::NamedTempFile::new_in(dir).map_err(Error::io("create a file in", dir))?;
            let mut out = io::BufWriter::with_capacity(1 << 20, tmp);
            write(&mut out)?;
            let tmp = out.into_inner().map_err(|e| Error::io("write", path)(e.into_error()))?;
            tmp.persist(path).map_err(|e| Error::io("write", path)(e.error))?;
        }
        None if io::stdout().is_terminal() => {
            let why = "refusing to write an archive to a terminal: use -o FILE or redirect";
            return Err(Error::invalid("output", "standard output", why));
        }
        None => {
            let mut out = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
            write(&mut out)?;
            out.flush().map_err(Error::io("write", "standard output"))?;
        }
    }
    Ok(())
}

/// `docker history`'s columns: newest step first; the image's ID on the
/// newest, `<missing>` below (the steps are not images of their own).
fn print_history(image: &ImageInfo, config: &imgtool::config::ConfigFile, no_trunc: bool) {
    let mut rows =
        vec![["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"].map(String::from).to_vec()];
    let mut sizes = image.layers.iter().rev().map(|l| l.size);
    for (i, step) in config.history.iter().rev().enumerate() {
        let id = if i == 0 { image.short_id().to_string() } else { "<missing>".into() };
        let created = step
            .created
            .as_deref()
            .and_then(human::parse_rfc3339)
            .map_or_else(|| "N/A".into(), |n| human::ago((n / 1_000_000_000) as u64));
        let mut by = step.created_by.clone().unwrap_or_default();
        if !no_trunc && by.chars().count() > 45 {
            by = by.chars().take(44).collect::<String>() + "…";
        }
        let size = if step.empty_layer { 0 } else { sizes.next().unwrap_or(0) };
        rows.push(vec![
            id,
            created,
            by,
            human::size(size),
            step.comment.clone().unwrap_or_default(),
        ]);
    }
    print!("{}", human::table(&rows));
}

/// `docker images`' columns.
fn print_table(images: &[ImageInfo]) {
    let mut rows =
        vec![["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"].map(String::from).to_vec()];
    for image in images {
        let tags: Vec<(&str, &str)> = if image.repo_tags.is_empty() {
            vec![("<none>", "<none>")]
        } else {
            image.repo_tags.iter().filter_map(|t| t.rsplit_once(':')).collect()
        };
        for (repo, tag) in tags {
            rows.push(vec![
                repo.into(),
                tag.into(),
                image.short_id().into(),
                human::ago(image.created),
                human::size(image.size),
            ]);
        }
    }
    print!("{}", human::table(&rows));
}

fn main() {
    tool_cli::run::main("imgtool", run)
}
