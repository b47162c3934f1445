//! `dockerish`: Docker's command line (see the library's docs).

use std::process::exit;

use dockerish::cli::{Cli, Command, ContainerCommand, SystemCommand};
use dockerish::{
    attach, check, completion, cp, events, exec, images, inside, inspect, lifecycle, logs, manage,
    network, resources, run, system, volumes,
};
use tool_cli::exit::EXIT_FAILED;

fn main() {
    let cli: Cli = tool_cli::run::parse();
    let root = cli.root.path;
    // As Docker's: `run` exits 125 when dockerish fails, every other
    // command 1; `run` and `exec` otherwise pass on the container's (or the
    // command's) own status, 126 and 127 included.
    let (result, failure) = match cli.command {
        Command::Run(args) => (run::run(&root, args), EXIT_FAILED),
        Command::Exec(args) => (exec::exec(&root, args), 1),
        Command::Ps(args) => (manage::ps(&root, args), 1),
        Command::Rm(args) => (manage::rm(&root, args), 1),
        Command::Logs(args) => (logs::logs(&root, args), 1),
        Command::Stop(args) => (lifecycle::stop(&root, args), 1),
        Command::Kill { signal, containers } => (lifecycle::kill(&root, &signal, &containers), 1),
        Command::Start { all_restartable: true, .. } => (lifecycle::start_restartable(&root), 1),
        Command::Start { attach, containers, .. } => {
            (lifecycle::start(&root, attach, &containers), 1)
        }
        Command::Restart(args) => (lifecycle::restart(&root, args), 1),
        Command::Wait { containers } => (lifecycle::wait(&root, &containers), 1),
        Command::Rename { container, new_name } => {
            (lifecycle::rename(&root, &container, &new_name), 1)
        }
        Command::Inspect { format, containers } => {
            (inspect::inspect(&root, format.as_deref(), &containers), 1)
        }
        Command::Commit { message, change, container, image } => {
            (lifecycle::commit(&root, &container, image.as_deref(), &message, &change), 1)
        }
        Command::Container(ContainerCommand::Prune { force }) => {
            (lifecycle::prune(&root, force), 1)
        }
        Command::Network(command) => (network::network(&root, command), 1),
        Command::Volume(command) => (volumes::volume(&root, command), 1),
        Command::Port { container, port } => (network::port(&root, &container, port.as_deref()), 1),
        Command::Images(args) => (images::images(&root, args), 1),
        Command::Rmi(args) => (images::rmi(&root, args), 1),
        Command::Import(args) => (images::import(&root, args), 1),
        Command::Load(args) => (images::load(&root, args), 1),
        Command::Save(args) => (images::save(&root, args), 1),
        Command::Tag(args) => (images::tag(&root, args), 1),
        Command::History(args) => (images::history(&root, args), 1),
        Command::Image(command) => (images::image(&root, command), 1),
        Command::Export { container, output } => {
            (images::export(&root, &container, output.as_deref()), 1)
        }
        Command::Attach(args) => (attach::attach(&root, args), 1),
        Command::Events(args) => (events::events(&root, args), 1),
        Command::Update(args) => (resources::update(&root, args), 1),
        Command::Stats(args) => (resources::stats(&root, args), 1),
        Command::Pause { containers } => (resources::pause(&root, &containers, true), 1),
        Command::Unpause { containers } => (resources::pause(&root, &containers, false), 1),
        Command::System(SystemCommand::Check { repair }) => (check::check(&root, repair), 1),
        Command::System(SystemCommand::Info { format }) | Command::Info { format } => {
            (system::info(&root, &format), 1)
        }
        Command::Cp { archive, follow_link, src, dst } => {
            let options = cp::Options { archive, follow: follow_link };
            (cp::cp(&root, &src, &dst, options), 1)
        }
        Command::Top { container, ps_args } => (inside::top(&root, &container, &ps_args), 1),
        Command::Diff { container } => (inside::diff(&root, &container), 1),
        Command::Completion { shell } => (completion::completion(shell), 1),
        Command::System(SystemCommand::Df { format }) => (system::df(&root, &format), 1),
        Command::System(SystemCommand::Prune { all, volumes, force }) => {
            (system::prune(&root, all, volumes, force), 1)
        }
        Command::Version { format } => (system::version(&root, &format), 1),
    };
    match result {
        Ok(code) => exit(code),
        Err(err) => tool_cli::run::fail("dockerish", &err, failure),
    }
}
