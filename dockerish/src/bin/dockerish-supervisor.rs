//! `dockerish-supervisor --root ROOT ID`: runs and waits for one detached
//! container (see `dockerish::supervisor`). `dockerish run -d` and
//! `dockerish start` start it; it is not meant to be run by hand.
//!
//! No argument parser: this process lives as long as its container, and
//! every page it touches is memory it holds for that long.

use std::path::PathBuf;
use std::process::exit;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let (root, id) = match &args[..] {
        [flag, root, id] if flag == "--root" => {
            (PathBuf::from(root), id.to_string_lossy().into_owned())
        }
        _ => {
            eprintln!("usage: dockerish-supervisor --root ROOT CONTAINER-ID");
            exit(tool_cli::exit::EXIT_FAILED)
        }
    };
    exit(dockerish::supervisor::supervise(&root, &id))
}
