//! `imgtool`: the command line. The work is in the library (`imgtool`).

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use imgtool::{busybox, Error, ImageConfig, ImageInfo, Reference, Store, ToolError};
use tool_cli::{human, print_json};

const EXAMPLES: &str = "\
Examples:
  imgtool busybox                          build busybox:latest from the host's busybox-static
  docker export c1 > c1.tar && imgtool import c1.tar myimage:1
  imgtool ls
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
    /// Import a root filesystem tar (FILE, or - for stdin) as image NAME[:TAG]
    Import {
        file: PathBuf,
        name: Reference,
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
    /// Make image NAME from PARENT's layers plus directory DIR as a new top layer
    Commit {
        /// The image to build on (default: none, DIR is the only layer)
        #[arg(long, value_name = "IMAGE")]
        parent: Option<String>,
        /// Comment recorded with the image
        #[arg(short, long, default_value = "")]
        message: String,
        dir: PathBuf,
        name: Reference,
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

/// Returns the exit status: 0, or 1 for `check` that found something.
fn run(cli: Cli) -> Result<i32, Error> {
    let store = Store::open(&cli.root.path)?;
    match cli.command {
        Command::Import { file, name, cmd, env, workdir } => {
            let input: Box<dyn Read> = if file.as_os_str() == "-" {
                Box::new(io::stdin().lock())
            } else {
                Box::new(File::open(&file).map_err(Error::io("open", &file))?)
            };
            let config = ImageConfig {
                env,
                cmd,
                working_dir: workdir.unwrap_or_default(),
                ..ImageConfig::default()
            };
            let comment = format!("imported from {}", file.display());
            print_json(&store.import(io::BufReader::new(input), &name, config, &comment)?);
        }
        Command::Commit { parent, message, dir, name } => {
            print_json(&store.commit(parent.as_deref(), &dir, &name, &message)?);
        }
        Command::Busybox { name, binary } => {
            let tar = busybox::build_tar(&binary)?;
            let comment = format!("built from {}", binary.display());
            print_json(&store.import(tar.as_slice(), &name, busybox::config(), &comment)?);
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
        Command::Rm { names } => {
            for name in names {
                store.remove(&name)?.iter().for_each(|line| println!("{line}"));
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
