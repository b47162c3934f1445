//! `dockerish run`: check every flag, record the container, then run it
//! in the foreground, or with `-d` under its supervisor. The tool chain
//! itself, its start and its end are the `container` module's; `--dry-run`
//! prints that chain instead of running it.

use std::fs;
use std::path::Path;
use std::process::Stdio;

use imgtool::ImageInfo;
use rootfs::Volume;

use crate::cli::RunArgs;
use crate::container::{discard, dry_run_script, finish, launch, mark_running, teardown, Start};
use crate::env::Env;
use crate::error::{Error, Result, ToolError};
use crate::signals::Forwarder;
use crate::state::{Config, Container, Containers, Network, Status};
use crate::tools::Tools;
use crate::{names, pty, volumes};
use pidref::ProcessRef;

/// Runs a container: in the foreground, returning its exit status, or
/// with `-d` under a supervisor, printing its ID once it runs.
pub fn run(root: &Path, mut args: RunArgs) -> Result<i32> {
    let tools = Tools::new(root);
    let containers = Containers::open(root)?;
    let (image_name, command) = args.image_and_command.split_first().expect("clap requires IMAGE");
    check_flags(&args, root)?;
    let image = tools.resolve_image(image_name)?;
    if args.publish_all {
        // `-P`: each exposed port on a free host port, as `-p PORT/PROTO`.
        args.publish.extend(image.config.exposed_ports.keys().cloned());
    }
    if args.dry_run {
        let config = configure(&args, image_name, command, &image, &containers.all()?, root)?;
        // The script names the compiled filter: it is there when it runs
        // (a cache entry, as the image is: no container is recorded).
        config.security.compile_filter(&crate::security::cache_dir(root))?;
        print!("{}", dry_run_script(&tools, &config, &containers.dir_of(&config.id))?);
        return Ok(0);
    }
    let mut container = {
        // Under the lock, so that 20 parallel runs get 20 different names.
        let _lock = containers.lock()?;
        let all = containers.all()?;
        let config = configure(&args, image_name, command, &image, &all, root)?;
        if let Some(other) = all.into_iter().find(|c| c.config.name == config.name) {
            return Err(Error::NameInUse { name: config.name, id: other.config.id });
        }
        // Marked as starting, by us, until the monitor takes over: `rm`
        // and `prune` leave it alone meanwhile.
        let container = containers.create(&config, ProcessRef::of(std::process::id() as i32))?;
        crate::events::container(&containers, "create", &config, &[]);
        crate::crash::point("run:recorded")?;
        // After the record, which names them, so that `rm -v` finds them
        // whatever stops us here.
        let made = volumes::make(&config.anonymous_volumes)
            .and_then(|()| volumes::make_named(root, &volumes::named_in(root, &config.volumes)));
        if let Err(e) = made {
            let _ = discard(&containers, &container, true);
            return Err(e);
        }
        container
    };
    if args.detach {
        return match crate::supervisor::spawn(&tools, root, &container) {
            Ok(None) => {
                println!("{}", container.config.id);
                Ok(0)
            }
            // The supervisor has recorded (or, with --rm, removed) it.
            Ok(Some((code, message))) => {
                eprintln!("dockerish: {message}");
                Ok(code)
            }
            Err(e) => {
                let _ = teardown(&tools, &container.config);
                let _ = discard(&containers, &container, true);
                Err(e)
            }
        };
    }
    let result = start_and_wait(&tools, &mut container, &containers);
    if result.is_err() {
        // The chain may have made the cgroup before it failed.
        let _ = teardown(&tools, &container.config);
        let current = containers.load(&container.config.id).map(|c| c.state.status);
        if container.config.auto_remove || current.is_ok_and(|s| s == Status::Created) {
            let _ = discard(&containers, &container, true);
        }
    }
    result
}

/// Refuses bad flags before anything is created.
fn check_flags(args: &RunArgs, root: &Path) -> Result<()> {
    if let Some(name) = &args.name {
        names::validate(name)?;
    }
    if let Some(host) = &args.hostname {
        tool_cli::hostname::validate(host)?;
    }
    for spec in args.volumes.iter().filter(|v| v.contains(':')) {
        let volume: Volume = volumes::parse_spec(root, spec)?;
        if !volumes::named_in(root, std::slice::from_ref(&volume)).is_empty() {
            // A named volume: made by the run if it is not there yet.
            continue;
        }
        fs::metadata(&volume.source).map_err(|e| {
            Error::invalid(
                "volume",
                spec,
                format!(
                    "source {}: {}",
                    volume.source.display(),
                    nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)).desc()
                ),
            )
        })?;
    }
    if let Some(dir) = &args.workdir {
        rootfs::spec::check_container_path("working directory", Path::new(dir))?;
    }
    if !args.restart.is_no() && args.rm {
        return Err(Error::invalid("--restart", args.restart.to_string(), "conflicts with --rm"));
    }
    if !args.restart.is_no() && !args.detach {
        let why =
            "needs -d: the container's supervisor keeps the policy, a foreground run has none";
        return Err(Error::invalid("--restart", args.restart.to_string(), why));
    }
    crate::logs::LogConfig::from_flags(&args.log_driver, &args.log_opts)?;
    check_limits(&args.limits)?;
    let bridged = matches!(args.network, Network::Named(_));
    for (flag, given) in [
        ("--publish", !args.publish.is_empty()),
        ("--publish-all", args.publish_all),
        ("--ip", args.ip.is_some()),
        ("--network-alias", !args.network_aliases.is_empty()),
    ] {
        if given && !bridged {
            let why = "needs a network of netctl's (bridge, or one made with network create), not none or host";
            return Err(Error::invalid("option", flag, why));
        }
    }
    let mut ports = Vec::new();
    for spec in &args.publish {
        ports.extend(netctl::ports::parse(spec)?);
    }
    // netctl's own checks, read only: the network, the address, the ports.
    if let Network::Named(network) = &args.network {
        let spec = netctl::AttachSpec {
            network: network.clone(),
            ip: args.ip,
            ports,
            ..Default::default()
        };
        netctl::attach::check(root, &spec)?;
    }
    for entry in &args.add_hosts {
        // rootfs's own rule: the same one whichever tool writes /etc/hosts.
        entry.parse::<rootfs::HostEntry>()?;
    }
    for alias in &args.network_aliases {
        names::validate(alias)?;
    }
    Ok(())
}

/// The image's layer directories as overlayfs's lowers, topmost first. A
/// layer listed twice (old Docker images repeat the empty layer) is given
/// once, where it is topmost: overlayfs refuses a lower twice, and the tree
/// is the same, since everything the lower copy shows the upper one shows.
fn overlay_lowers(image: &ImageInfo) -> Vec<std::path::PathBuf> {
    let mut lowers: Vec<std::path::PathBuf> = Vec::new();
    for layer in image.layers.iter().rev() {
        if !lowers.contains(&layer.path) {
            lowers.push(layer.path.clone());
        }
    }
    lowers
}

/// Refuses limits below Docker's floor or beyond what this host has (its
/// CPUs, its controllers; without limits there is nothing to ask it).
/// `run` and `update`.
pub fn check_limits(flags: &cgctl::LimitFlags) -> Result<cgctl::Limits> {
    check_memory_floor(flags)?;
    let limits = cgctl::Limits::from(flags.clone());
    if !limits.is_empty() {
        limits.check(&cgctl::Layout::detect()?)?;
    }
    Ok(limits)
}

/// Refuses a `--memory` below Docker's floor.
pub fn check_memory_floor(flags: &cgctl::LimitFlags) -> Result<()> {
    match flags.memory.filter(|&m| m < MIN_MEMORY) {
        Some(memory) => {
            let why = "Minimum memory limit allowed is 6MB";
            Err(Error::invalid("--memory", memory.to_string(), why))
        }
        None => Ok(()),
    }
}

/// Docker's smallest `--memory`: below it a container cannot even start.
const MIN_MEMORY: u64 = 6 << 20;

/// Resolves the container's config from the flags and the image.
fn configure(
    args: &RunArgs,
    image_name: &str,
    command: &[String],
    image: &ImageInfo,
    all: &[Container],
    root: &Path,
) -> Result<Config> {
    let id = names::random_id()?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => {
            let taken: Vec<String> = all.iter().map(|c| c.config.name.clone()).collect();
            names::generate(&taken)
        }
    };
    // `-v DST` (no source): an anonymous volume, a directory of its own
    // under ROOT/volumes that outlives the container unless `rm -v`.
    let mut mounts = Vec::new();
    let mut anonymous_volumes = Vec::new();
    for spec in &args.volumes {
        if spec.contains(':') {
            mounts.push(volumes::parse_spec(root, spec)?);
            continue;
        }
        let (dir, volume) = volumes::anonymous(root, spec)?;
        mounts.push(volume);
        anonymous_volumes.push(dir);
    }
    let hostname = args.hostname.clone().unwrap_or_else(|| id[..12].to_string());
    let command = resolve_command(args.entrypoint.as_deref(), command, image)?;

    let mut env = Env::default();
    for entry in &image.config.env {
        env.set_entry(entry);
    }
    env.set("HOSTNAME", &hostname);
    if args.tty {
        env.set("TERM", "xterm");
    }
    for file in &args.env_files {
        let text = fs::read_to_string(file).map_err(Error::io("read env file", file))?;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            env.set_flag(line)?;
        }
    }
    for entry in &args.env {
        env.set_flag(entry)?;
    }
    if !env.has("HOME") {
        env.set("HOME", "/root");
    }
    let workdir = args
        .workdir
        .clone()
        .filter(|w| !w.is_empty())
        .or_else(|| Some(image.config.working_dir.clone()).filter(|w| !w.is_empty()));

    Ok(Config {
        name,
        image: image_name.to_string(),
        image_id: image.id.clone(),
        created: tool_cli::human::now(),
        command,
        env: env.entries(),
        workdir: workdir.unwrap_or_else(|| "/".into()),
        hostname,
        volumes: mounts,
        anonymous_volumes,
        layers: overlay_lowers(image),
        read_only: args.read_only,
        init: args.init,
        user: args.user.clone(),
        security: crate::security::SecurityConfig::from_flags(&crate::security::Flags {
            cap_add: &args.cap_add,
            cap_drop: &args.cap_drop,
            privileged: args.privileged,
            security_opts: &args.security_opts,
            devices: &args.devices,
            ulimits: &args.ulimits,
            sysctls: &args.sysctls,
            group_add: &args.group_add,
            own_netns: args.network != Network::Host,
            userns: crate::security::userns(
                args.userns.as_deref(),
                &all.iter().map(|c| c.config.security.userns.as_deref()).collect::<Vec<_>>(),
            )?,
        })?,
        tty: args.tty,
        interactive: args.interactive,
        auto_remove: args.rm,
        network: args.network.clone(),
        extra_networks: vec![],
        ports: args
            .publish
            .iter()
            .map(|p| netctl::ports::parse(p))
            .collect::<std::result::Result<Vec<_>, _>>()?
            .concat(),
        ip: args.ip,
        aliases: args.network_aliases.clone(),
        add_hosts: args.add_hosts.clone(),
        dns: args.dns.clone(),
        cgroup_path: Some(args.cgroup_parent.join(&id)?),
        resources: args.limits.clone().into(),
        restart: args.restart,
        log: crate::logs::LogConfig::from_flags(&args.log_driver, &args.log_opts)?,
        id,
    })
}

/// Docker's rule: `--entrypoint` replaces the image's entrypoint and drops
/// its CMD; arguments after the image replace CMD.
fn resolve_command(
    entrypoint: Option<&str>,
    args: &[String],
    image: &ImageInfo,
) -> Result<Vec<String>> {
    let (entry, cmd) = match entrypoint {
        Some("") => (vec![], args.to_vec()),
        Some(e) => (vec![e.to_string()], args.to_vec()),
        None if args.is_empty() => (image.config.entrypoint.clone(), image.config.cmd.clone()),
        None => (image.config.entrypoint.clone(), args.to_vec()),
    };
    let command: Vec<String> = entry.into_iter().chain(cmd).collect();
    if command.is_empty() {
        return Err(Error::NoCommand);
    }
    Ok(command)
}

/// Runs the container in the foreground: our stdio (or, with `-t`, our
/// terminal relayed to its own), signals forwarded, until it ends; records
/// how it started and ended. Returns its exit status.
fn start_and_wait(
    tools: &Tools,
    container: &mut Container,
    containers: &Containers,
) -> Result<i32> {
    let forwarder = Forwarder::new()?;
    // With -t the container's stdio is its terminal (set up by rootfs);
    // its stdin is ours only with -i and no terminal.
    let stdin = if container.config.interactive && !container.config.tty {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    // `run` recorded us as the monitor when it created the container.
    let (mut child, start) = launch(
        tools,
        container,
        [stdin, Stdio::inherit(), Stdio::inherit()],
        &forwarder,
        pty::our_size(),
    )?;
    let code = match start {
        Start::Running { init, terminal, networks } => {
            *container = mark_running(containers, &container.config.id, init, networks)?;
            match terminal {
                Some(t) => {
                    t.relay(pty::our_stdin(container.config.interactive)?, &forwarder, &mut child)?
                }
                None => forwarder.wait(&mut child)?,
            }
        }
        Start::Failed { message } => {
            // Without a terminal rootfs's message is already on our stderr.
            if container.config.tty && !message.is_empty() {
                eprintln!("{message}");
            }
            forwarder.wait(&mut child)?
        }
    };
    finish(tools, containers, &container.config, code)?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgtool::{ImageConfig, ImageInfo};

    fn image(entrypoint: &[&str], cmd: &[&str]) -> ImageInfo {
        ImageInfo {
            id: "sha256:00".into(),
            repo_tags: vec![],
            created: 0,
            size: 0,
            layers: vec![],
            config: ImageConfig {
                entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                ..ImageConfig::default()
            },
            comment: String::new(),
        }
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_follows_docker_rules() {
        let img = image(&["/entry"], &["default"]);
        assert_eq!(resolve_command(None, &[], &img).unwrap(), args(&["/entry", "default"]));
        assert_eq!(resolve_command(None, &args(&["x"]), &img).unwrap(), args(&["/entry", "x"]));
        assert_eq!(resolve_command(Some("sh"), &[], &img).unwrap(), args(&["sh"]));
        assert_eq!(
            resolve_command(Some("sh"), &args(&["-c", "y"]), &img).unwrap(),
            args(&["sh", "-c", "y"])
        );
        assert_eq!(resolve_command(Some(""), &args(&["ls"]), &img).unwrap(), args(&["ls"]));
        assert!(resolve_command(None, &[], &image(&[], &[])).is_err());
    }
}
