//! `dockerish`: Docker's command line. It does no kernel work itself; it
//! runs the dockerish tools (`imgtool`, `cgctl`, `ns-exec`, `rootfs`) as processes,
//! the way a person would type them (`dockerish run --dry-run` shows how).

mod cli;
mod error;
mod manage;
mod names;
mod pty;
mod resources;
mod run;
mod signals;
mod state;
mod tools;

use std::process::exit;

use clap::Parser;

use cli::{Cli, Command};
use error::EXIT_TOOL_FAILED;

fn main() {
    // Die quietly on a closed stdout (`dockerish ps | head`), like C tools.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        exit(if e.use_stderr() { EXIT_TOOL_FAILED } else { 0 })
    });
    let root = cli.root;
    // `run` follows Docker: 125 when dockerish fails, else the container's
    // status. The other commands fail with 1.
    let (result, failure) = match cli.command {
        Command::Run(args) => (run::run(&root, args), EXIT_TOOL_FAILED),
        Command::Ps(args) => (manage::ps(&root, args), 1),
        Command::Rm(args) => (manage::rm(&root, args), 1),
        Command::Images(args) => (manage::images(&root, args), 1),
        Command::Rmi(args) => (manage::rmi(&root, args), 1),
        Command::Import { file, name } => (manage::import(&root, &file, &name), 1),
        Command::Stats(args) => (resources::stats(&root, args), 1),
        Command::Pause { containers } => (resources::pause(&root, &containers, true), 1),
        Command::Unpause { containers } => (resources::pause(&root, &containers, false), 1),
    };
    match result {
        Ok(code) => exit(code),
        Err(err) => {
            eprintln!("dockerish: {err}");
            exit(failure);
        }
    }
}
