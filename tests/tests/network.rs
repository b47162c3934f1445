//! Container networking end to end: netctl and `dockerish run --network`,
//! against the real kernel (bridges, veths, nftables), as root.
//!
//! Each test's sandbox has a network namespace of its own playing the host
//! (its own bridges, nftables table and loopback), so the tests run in
//! parallel and never touch the machine's network; one test runs on the
//! real host's. Traffic goes only to addresses in namespaces the test made,
//! or to loopback. Where a test needs a second machine (a LAN peer), it
//! wires one: [`Lan`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use dockerish_tests::{bin, eventually, outcome, until, HostProcess, Outcome, Sandbox};

/// busybox httpd in a detached container serving `body`, on port 80 (and
/// 81 with `second`); waits until it answers on the container's address.
fn web(sb: &Sandbox, name: &str, flags: &[&str], body: &str) -> String {
    let script = format!(
        "mkdir -p /www && echo {body} > /www/index.html && httpd -p 81 -h /www; exec httpd -f -p 80 -h /www"
    );
    let mut args = vec!["run", "-d", "--name", name];
    args.extend(flags);
    args.extend(["busybox", "sh", "-c", &script]);
    sb.dockerish(&args).ok();
    let ip = ip_of(sb, name);
    until(&format!("{name} serves"), || fetch(sb, &format!("http://{ip}/")).code == 0);
    ip
}

/// The container's address on its first network.
fn ip_of(sb: &Sandbox, name: &str) -> String {
    sb.dockerish(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", name]).ok().trim().to_string()
}

/// An HTTP GET from the sandbox's host (2 s at most): its body on stdout.
/// (busybox `timeout`, since Debian's static busybox crashes on `wget -T`.)
fn fetch(sb: &Sandbox, url: &str) -> Outcome {
    sb.host("/bin/busybox", ["timeout", "2", "/bin/busybox", "wget", "-q", "-O-", url])
}

/// The same from inside container `from`.
fn fetch_in(sb: &Sandbox, from: &str, url: &str) -> Outcome {
    sb.dockerish(["exec", from, "timeout", "2", "wget", "-q", "-O-", url])
}

/// One ping from inside container `from` (1 s).
fn ping(sb: &Sandbox, from: &str, to: &str) -> bool {
    sb.dockerish(["exec", from, "ping", "-c", "1", "-W", "1", to]).code == 0
}

/// A second machine on the host's LAN: a namespace wired to the sandbox's
/// host by a veth pair, the host 192.0.2.1/24 on it (TEST-NET-1), the peer
/// 192.0.2.2, its default route via the host.
struct Lan<'a> {
    sb: &'a Sandbox,
    file: PathBuf,
}

impl<'a> Lan<'a> {
    const HOST: &'static str = "192.0.2.1";
    const PEER: &'static str = "192.0.2.2";

    fn new(sb: &'a Sandbox) -> Lan<'a> {
        let file = sb.root().join("lan.netns");
        let lan = Lan { sb, file };
        sb.netctl(["netns", "add", lan.path()]).ok();
        sb.host(
            "ip",
            [
                "link",
                "add",
                "lanhost",
                "type",
                "veth",
                "peer",
                "name",
                "lanpeer",
                "netns",
                lan.path(),
            ],
        )
        .ok();
        sb.host("ip", ["addr", "add", "192.0.2.1/24", "dev", "lanhost"]).ok();
        sb.host("ip", ["link", "set", "lanhost", "up"]).ok();
        lan.run("ip addr add 192.0.2.2/24 dev lanpeer && ip link set lanpeer up && ip route add default via 192.0.2.1").ok();
        lan
    }

    fn path(&self) -> &str {
        self.file.to_str().expect("a UTF-8 path")
    }

    /// A shell command on the peer.
    fn run(&self, script: &str) -> Outcome {
        self.sb.netctl(["netns", "exec", self.path(), "--", "/bin/sh", "-c", script])
    }

    fn fetch(&self, url: &str) -> Outcome {
        self.run(&format!("/bin/busybox timeout 2 /bin/busybox wget -q -O- {url}"))
    }
}

impl Drop for Lan<'_> {
    fn drop(&mut self) {
        // The veth goes with the peer's namespace.
        let _ = self.sb.netctl(["netns", "rm", self.path()]);
    }
}

#[test]
fn containers_on_a_network_reach_each_other_by_address_and_name_and_no_other_network() {
    let sb = Sandbox::new();
    sb.dockerish(["network", "create", "--subnet", "10.91.0.0/24", "front"]).ok();
    sb.dockerish(["network", "create", "--subnet", "10.92.0.0/24", "back"]).ok();
    let web_ip = web(&sb, "web", &["--net", "front", "--network-alias", "www"], "front-page");
    sb.dockerish(["run", "-d", "--name", "client", "--net", "front", "busybox", "sleep", "300"])
        .ok();
    sb.dockerish(["run", "-d", "--name", "stranger", "--net", "back", "busybox", "sleep", "300"])
        .ok();
    assert!(web_ip.starts_with("10.91.0."), "{web_ip}");
    assert!(ping(&sb, "client", &web_ip), "by address");
    assert_eq!(fetch_in(&sb, "client", "http://web/").ok(), "front-page\n", "by container name");
    assert_eq!(fetch_in(&sb, "client", "http://www/").ok(), "front-page\n", "by alias");
    // Another network: isolated, by address, and its names are not known.
    assert!(!ping(&sb, "stranger", &web_ip), "a container of another network reached {web_ip}");
    assert_ne!(fetch_in(&sb, "stranger", "http://web/").code, 0);
    // Names follow containers as they come and go.
    let hosts = |c: &str| sb.dockerish(["exec", c, "cat", "/etc/hosts"]).ok();
    let lists = |text: &str, name: &str| {
        text.lines().any(|l| l.split_whitespace().skip(1).any(|n| n == name))
    };
    sb.dockerish(["run", "-d", "--name", "late", "--net", "front", "busybox", "sleep", "300"]).ok();
    assert!(
        lists(&hosts("client"), "late"),
        "a newcomer appears in the others' /etc/hosts: {}",
        hosts("client")
    );
    assert!(ping(&sb, "client", "late"));
    sb.dockerish(["rm", "-f", "late"]).ok();
    assert!(!lists(&hosts("client"), "late"), "and leaves it again: {}", hosts("client"));
    // The default network keeps Docker's behaviour: no names.
    sb.dockerish(["run", "-d", "--name", "plain1", "busybox", "sleep", "300"]).ok();
    sb.dockerish(["run", "-d", "--name", "plain2", "busybox", "sleep", "300"]).ok();
    assert!(!lists(&hosts("plain1"), "plain2"), "{}", hosts("plain1"));
    assert!(ping(&sb, "plain1", &ip_of(&sb, "plain2")), "but addresses work");
    // resolv.conf: the host's, without loopback resolvers.
    let resolv = sb.dockerish(["exec", "client", "cat", "/etc/resolv.conf"]).ok();
    assert!(!resolv.lines().any(|l| l.starts_with("nameserver 127.")), "{resolv}");
    sb.remove_all();
    sb.dockerish(["network", "rm", "front", "back"]).ok();
}

#[test]
fn published_ports_are_reached_from_the_host_and_the_lan_but_loopback_ones_not_from_the_lan() {
    let sb = Sandbox::new();
    let lan = Lan::new(&sb);
    web(&sb, "web", &["-p", "8080:80", "-p", "127.0.0.1:9090:80"], "published");
    // From the host itself: loopback and its own address (the seeds' bug).
    assert_eq!(fetch(&sb, "http://127.0.0.1:8080/").ok(), "published\n");
    assert_eq!(fetch(&sb, &format!("http://{}:8080/", Lan::HOST)).ok(), "published\n");
    assert_eq!(fetch(&sb, "http://127.0.0.1:9090/").ok(), "published\n");
    // From another machine: the host's address, yes.
    assert_eq!(lan.fetch(&format!("http://{}:8080/", Lan::HOST)).ok(), "published\n");
    assert_ne!(
        lan.fetch(&format!("http://{}:9090/", Lan::HOST)).code,
        0,
        "9090 is published on 127.0.0.1 only"
    );
    // A peer that routes 127.0.0.1 to the host (moby #41872) must not get
    // in through a port published on loopback. Over TCP the return path
    // fails anyway on this kernel, which would hide the hole; a UDP server
    // that logs what it receives shows whether anything got in.
    let echo = dockerish_tests::c_program("udp_echo");
    let volume = format!("{}:/udp_echo:ro", echo.display());
    let flags = ["run", "-d", "--name", "lo-udp", "-p", "127.0.0.1:5454:53/udp", "-v", &volume];
    sb.dockerish([&flags[..], &["busybox", "/udp_echo", "serve", "53"]].concat()).ok();
    until("the UDP server is ready", || sb.dockerish(["logs", "lo-udp"]).stdout.contains("ready"));
    let echo_text = echo.display().to_string();
    assert_eq!(
        sb.host(&echo_text, ["send", "127.0.0.1", "5454", "from-host"]).ok(),
        "echo: from-host\n"
    );
    lan.run(
        "echo 1 > /proc/sys/net/ipv4/conf/lanpeer/route_localnet && ip route del table local 127.0.0.0/8 dev lo && \
         ip route del table local 127.0.0.1 dev lo && ip route add 127.0.0.1/32 via 192.0.2.1",
    )
    .ok();
    let intruder = lan.run(&format!("{echo_text} send 127.0.0.1 5454 intruder"));
    assert_ne!(intruder.code, 0, "the LAN peer got an answer from a port published on 127.0.0.1");
    assert_ne!(lan.fetch("http://127.0.0.1:9090/").code, 0);
    // Anything the intruder got in was logged before this marker is.
    sb.host(&echo_text, ["send", "127.0.0.1", "5454", "marker"]).ok();
    until("the marker is logged", || {
        sb.dockerish(["logs", "lo-udp"]).stdout.contains("got: marker")
    });
    let log = sb.dockerish(["logs", "lo-udp"]).stdout;
    assert!(!log.contains("intruder"), "a LAN peer reached a port published on 127.0.0.1: {log}");
    assert_eq!(sb.dockerish(["port", "web", "80"]).ok(), "0.0.0.0:8080\n127.0.0.1:9090\n");
    let ps = sb.dockerish(["ps"]).ok();
    assert!(ps.contains("0.0.0.0:8080->80/tcp, 127.0.0.1:9090->80/tcp"), "{ps}");
    sb.remove_all();
}

#[test]
fn hairpin_udp_ranges_and_an_unbound_host_port() {
    let sb = Sandbox::new();
    sb.dockerish(["network", "create", "--subnet", "10.93.0.0/24", "hp"]).ok();
    web(&sb, "web", &["--net", "hp", "-p", "8181:80", "-p", "18000-18001:80-81"], "hairpin");
    sb.dockerish(["run", "-d", "--name", "peer", "--net", "hp", "busybox", "sleep", "300"]).ok();
    // A container reaching a published port of the host: another one's,
    // and its own (CNI plugins #68).
    let gateway = "10.93.0.1";
    assert_eq!(fetch_in(&sb, "peer", &format!("http://{gateway}:8181/")).ok(), "hairpin\n");
    assert_eq!(
        fetch_in(&sb, "web", &format!("http://{gateway}:8181/")).ok(),
        "hairpin\n",
        "its own port"
    );
    // A range: both ports, each to its own.
    assert_eq!(fetch(&sb, "http://127.0.0.1:18000/").ok(), "hairpin\n");
    assert_eq!(fetch(&sb, "http://127.0.0.1:18001/").ok(), "hairpin\n");
    // UDP.
    let echo = dockerish_tests::c_program("udp_echo");
    let volume = format!("{}:/udp_echo:ro", echo.display());
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "dns",
        "-p",
        "5353:53/udp",
        "-v",
        &volume,
        "busybox",
        "/udp_echo",
        "serve",
        "53",
    ])
    .ok();
    until("the UDP server is ready", || sb.dockerish(["logs", "dns"]).stdout.contains("ready"));
    let echo_text = echo.display().to_string();
    let answer = sb.host(&echo_text, ["send", "127.0.0.1", "5353", "hello"]);
    assert_eq!(answer.ok(), "echo: hello\n", "udp through 127.0.0.1:5353");
    assert_ne!(
        sb.host(&echo_text, ["send", "127.0.0.1", "5354", "nobody"]).code,
        0,
        "an unpublished port stays closed"
    );
    sb.remove_all();
    sb.dockerish(["network", "rm", "hp"]).ok();
}

#[test]
fn a_port_is_published_once_and_never_over_a_host_process() {
    let sb = Sandbox::new();
    web(&sb, "first", &["-p", "8282:80"], "first");
    let taken = sb.dockerish(["run", "-d", "--name", "second", "-p", "8282:80", "busybox", "true"]);
    taken.fails(125, "0.0.0.0:8282/tcp is already published by container first");
    let taken = sb.dockerish(["run", "-d", "-p", "127.0.0.1:8282:80", "busybox", "true"]);
    taken.fails(125, "already published");
    // udp 8282 is another port.
    sb.dockerish(["run", "-d", "--name", "udp", "-p", "8282:80/udp", "busybox", "sleep", "300"])
        .ok();
    // A host process listening: refused rather than shadowed.
    let mut listener = Command::new("/bin/busybox");
    listener.args(["nc", "-l", "-p", "8383"]).stdout(Stdio::null()).stderr(Stdio::null());
    let listener = HostProcess::spawn(sb.in_net(&mut listener));
    until("the host process listens", || {
        sb.host("/bin/busybox", ["netstat", "-ltn"]).stdout.contains(":8383")
    });
    sb.dockerish(["run", "-d", "-p", "8383:80", "busybox", "true"])
        .fails(125, "already in use on the host");
    drop(listener);
    // Refusals leave nothing: only the two that run are recorded.
    assert_eq!(sb.dockerish(["ps", "-aq"]).ok().lines().count(), 2);
    sb.remove_all();
}

#[test]
fn a_removed_container_frees_its_port_and_shadows_nothing() {
    let sb = Sandbox::new();
    // moby #32048: a stale DNAT of a removed container must not win.
    web(&sb, "old", &["-p", "8484:80"], "old");
    sb.dockerish(["rm", "-f", "old"]).ok();
    web(&sb, "new", &["-p", "8484:80"], "new");
    assert_eq!(fetch(&sb, "http://127.0.0.1:8484/").ok(), "new\n");
    sb.dockerish(["rm", "-f", "new"]).ok();
    // podman #11324: a `run --rm` with a port leaves no rule and the port free.
    sb.dockerish(["run", "--rm", "-p", "8484:80", "busybox", "true"]).ok();
    sb.dockerish(["run", "--rm", "-p", "8484:80", "busybox", "true"]).ok();
    let table = sb.host("nft", ["list", "map", "ip", &sb.nft_table(), "dnat_any"]).ok();
    assert!(!table.contains("8484"), "{table}");
    // nerdctl #665: a container restarted keeps its --ip, no "already allocated".
    sb.dockerish(["network", "create", "--subnet", "10.94.0.0/24", "fixed"]).ok();
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "pinned",
        "--net",
        "fixed",
        "--ip",
        "10.94.0.50",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    sb.dockerish(["restart", "-t", "0", "pinned"]).ok();
    assert_eq!(ip_of(&sb, "pinned"), "10.94.0.50");
    sb.dockerish(["stop", "-t", "0", "pinned"]).ok();
    sb.dockerish(["start", "pinned"]).ok();
    assert_eq!(ip_of(&sb, "pinned"), "10.94.0.50");
    sb.remove_all();
    sb.dockerish(["network", "rm", "fixed"]).ok();
}

#[test]
fn internal_networks_have_no_way_out() {
    let sb = Sandbox::new();
    let lan = Lan::new(&sb);
    sb.dockerish(["network", "create", "--subnet", "10.95.0.0/24", "--internal", "vault"]).ok();
    sb.dockerish(["run", "-d", "--name", "inside", "--net", "vault", "busybox", "sleep", "300"])
        .ok();
    sb.dockerish(["run", "-d", "--name", "outside", "busybox", "sleep", "300"]).ok();
    assert!(
        ping(&sb, "outside", Lan::PEER),
        "a container on the default network reaches the LAN (masquerade)"
    );
    assert!(!ping(&sb, "inside", Lan::PEER), "an internal network reached the LAN");
    assert!(lan.run("ping -c1 -W1 10.95.0.2").code != 0, "the LAN reached an internal container");
    sb.remove_all();
    sb.dockerish(["network", "rm", "vault"]).ok();
}

#[test]
fn thirty_parallel_attaches_get_thirty_addresses_and_a_full_subnet_says_so() {
    let sb = Sandbox::new();
    sb.netctl(["create", "many", "--subnet", "10.96.0.0/24"]).ok();
    let attach = |i: usize| {
        let ns = sb.root().join("netns").join(format!("c{i}"));
        let mut cmd = sb.command("netctl");
        cmd.args(["attach", "many", "--new-netns", "--id", &format!("c{i}"), "--netns"]).arg(&ns);
        outcome(cmd)
    };
    let results: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..30).map(|i| s.spawn(move || attach(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ips: Vec<String> = results
        .into_iter()
        .map(|o| {
            serde_json::from_str::<serde_json::Value>(&o.ok()).unwrap()["ip"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 30, "{ips:?}");
    assert!(
        !ips.iter().any(|ip| ip == "10.96.0.0" || ip == "10.96.0.1" || ip == "10.96.0.255"),
        "{ips:?}"
    );
    for i in 0..30 {
        sb.netctl(["detach", "many", "--id", &format!("c{i}")]).ok();
    }
    sb.netctl(["rm", "many"]).ok();
    // A /29: five hosts besides the gateway; the sixth is told why.
    sb.netctl(["create", "tiny", "--subnet", "10.97.0.0/29"]).ok();
    for i in 0..5 {
        attach_to(&sb, "tiny", &format!("t{i}")).ok();
    }
    attach_to(&sb, "tiny", "t5").fails(125, "no address left in network tiny (10.97.0.0/29)");
    for i in 0..6 {
        sb.netctl(["detach", "tiny", "--id", &format!("t{i}")]).ok();
    }
    sb.netctl(["rm", "tiny"]).ok();
}

fn attach_to(sb: &Sandbox, network: &str, id: &str) -> Outcome {
    let ns = sb.root().join("netns").join(id);
    sb.netctl(["attach", network, "--new-netns", "--id", id, "--netns", ns.to_str().unwrap()])
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let sb = Sandbox::new();
    let cases: [(&[&str], &str); 6] = [
        (&["create", "n", "--subnet", "10.0.0.0/33"], "10.0.0.0/33"),
        (
            &["create", "n", "--subnet", "10.98.0.0/24", "--gateway", "10.99.0.1"],
            "not a host address of 10.98.0.0/24",
        ),
        (&["create", "n", "--subnet", "10.98.0.5/24"], "did you mean 10.98.0.0/24"),
        (&["create", "bad name", "--subnet", "10.98.0.0/24"], "invalid network name"),
        (
            &["create", "n", "--subnet", "10.98.0.0/24", "--bridge", "a-name-far-too-long"],
            "--bridge",
        ),
        (&["rm", "nosuch"], "no such network: nosuch"),
    ];
    for (args, needle) in cases {
        let out = sb.netctl(args);
        assert!(out.code == 125 || out.code == 2, "{args:?}: {out:#?}");
        assert!(out.stderr.contains(needle), "{args:?}: stderr lacks {needle:?}: {out:#?}");
    }
    sb.netctl(["create", "taken", "--subnet", "10.98.0.0/24"]).ok();
    sb.netctl(["create", "overlap", "--subnet", "10.98.0.128/25"])
        .fails(125, "overlaps network taken");
    sb.netctl(["create", "taken", "--subnet", "10.99.0.0/24"])
        .fails(125, "network taken already exists");
    for (flags, needle) in [
        (&["-p", "0:80"][..], "is not a port from 1 to 65535"),
        (&["-p", "70000:80"], "is not a port from 1 to 65535"),
        (&["-p", "80:80:80:80"], "expected [HOSTIP:][HOSTPORT:]PORT"),
        (&["--net", "nosuch"], "no such network: nosuch"),
        (&["--net", "taken", "--ip", "10.99.0.5"], "not in the subnet 10.98.0.0/24"),
        (&["--net", "none", "-p", "80:80"], "needs a network of netctl's"),
        (&["--add-host", "nocolon"], "invalid host entry"),
    ] {
        let mut args = vec!["run", "-d"];
        args.extend(flags);
        args.extend(["busybox", "true"]);
        sb.dockerish(&args).fails(125, needle);
    }
    assert!(sb.container_dirs().is_empty(), "a refused run left a record");
    sb.dockerish(["run", "-d", "--name", "user", "--net", "taken", "busybox", "sleep", "300"]).ok();
    sb.dockerish(["network", "rm", "taken"]).fails(1, "network taken is in use by user");
    sb.dockerish(["network", "rm", "bridge"]).fails(1, "a pre-defined network cannot be removed");
    sb.remove_all();
    sb.dockerish(["network", "rm", "taken"]).ok();
    let nets = sb.netctl(["ls", "--format", "json"]).ok();
    assert!(!nets.contains("\"n\"") && !nets.contains("overlap"), "{nets}");
}

#[test]
fn network_commands_connect_disconnect_prune_and_inspect() {
    let sb = Sandbox::new();
    let id = sb.dockerish(["network", "create", "--subnet", "10.100.0.0/24", "extra"]).ok();
    assert_eq!(id.trim().len(), 64, "{id}");
    let ls = sb.dockerish(["network", "ls"]).ok();
    assert!(ls.contains("extra") && ls.contains("host") && ls.contains("none"), "{ls}");
    let inspect: serde_json::Value =
        serde_json::from_str(&sb.dockerish(["network", "inspect", "extra"]).ok()).unwrap();
    assert_eq!(inspect[0]["network"]["subnet"], "10.100.0.0/24");
    web(&sb, "web", &["--net", "extra"], "two-networks");
    sb.dockerish(["run", "-d", "--name", "client", "busybox", "sleep", "300"]).ok();
    assert_ne!(fetch_in(&sb, "client", "http://10.100.0.2/").code, 0, "not connected yet");
    sb.dockerish(["network", "connect", "extra", "client"]).ok();
    let addrs = sb.dockerish(["exec", "client", "ip", "-o", "-4", "addr"]).ok();
    assert!(addrs.contains("eth1") && addrs.contains("10.100.0."), "a second interface: {addrs}");
    assert_eq!(fetch_in(&sb, "client", "http://web/").ok(), "two-networks\n");
    let nets = sb.dockerish(["inspect", "-f", "{{json .NetworkSettings.Networks}}", "client"]).ok();
    assert!(nets.contains("\"bridge\"") && nets.contains("\"extra\""), "{nets}");
    sb.dockerish(["network", "disconnect", "extra", "client"]).ok();
    assert!(!sb.dockerish(["exec", "client", "ip", "-o", "addr"]).ok().contains("eth1"));
    // Leaving the first network keeps the namespace the others use.
    sb.dockerish(["network", "connect", "extra", "client"]).ok();
    sb.dockerish(["network", "disconnect", "bridge", "client"]).ok();
    let addrs = sb.dockerish(["exec", "client", "ip", "-o", "-4", "addr"]).ok();
    assert!(!addrs.contains("eth0") && addrs.contains("10.100.0."), "{addrs}");
    assert_eq!(fetch_in(&sb, "client", "http://web/").ok(), "two-networks\n");
    sb.dockerish(["network", "create", "--subnet", "10.101.0.0/24", "unused"]).ok();
    sb.remove_all();
    sb.dockerish(["network", "prune", "-f"]).ok();
    let left = sb.dockerish(["network", "ls", "--format", "json"]).ok();
    assert!(!left.contains("unused") && !left.contains("extra"), "{left}");
}

#[test]
fn faults_leave_nothing_once_removed_or_collected() {
    let sb = Sandbox::new();
    // A container killed: its supervisor tears its network down.
    sb.dockerish(["run", "-d", "--name", "victim", "-p", "8585:80", "busybox", "sleep", "300"])
        .ok();
    let pid = sb.dockerish(["inspect", "-f", "{{.State.Pid}}", "victim"]).ok().trim().to_string();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid.parse().unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    until("the killed container is recorded", || {
        sb.dockerish(["ps", "-a"]).ok().contains("Exited (137)")
    });
    assert!(no_attachments(&sb), "the network of a container that died is gone");
    // Its supervisor killed: the container runs on with its network; gc
    // leaves it alone (its processes are in the namespace); rm -f ends both.
    sb.dockerish(["run", "-d", "--name", "orphan", "-p", "8686:80", "busybox", "sleep", "300"])
        .ok();
    let sup = dockerish_tests::processes_naming("dockerish-supervisor")
        .into_iter()
        .find(|(_, cmd)| cmd.contains(sb.root().to_str().unwrap()))
        .expect("a supervisor")
        .0;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    until("the supervisor is gone", || !dockerish_tests::alive(sup));
    sb.netctl(["gc"]).ok();
    assert!(!no_attachments(&sb), "gc took the network of a container that still runs");
    sb.dockerish(["rm", "-f", "orphan"]).ok();
    assert!(no_attachments(&sb));
    // The CLI killed at random moments of `run -d -p`: then rm -f and gc.
    for delay_ms in [0u64, 3, 6, 10, 15, 25, 40] {
        let mut cmd = sb.command("dockerish");
        cmd.args(["run", "-d", "-p", "8787:80", "busybox", "sleep", "300"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        sb.remove_all();
        sb.netctl(["gc"]).ok();
        assert!(no_attachments(&sb), "after a kill at {delay_ms} ms");
    }
    // A reboot: the namespace files are no longer mounted; gc frees the
    // addresses (containerd/cri #948) and the records.
    sb.netctl(["create", "boot", "--subnet", "10.102.0.0/24"]).ok();
    attach_to(&sb, "boot", "gone").ok();
    let ns = sb.root().join("netns/gone");
    nix::mount::umount2(&ns, nix::mount::MntFlags::MNT_DETACH).unwrap();
    sb.netctl(["gc"]).ok();
    assert!(no_attachments(&sb) && !ns.exists(), "gc after a reboot");
    // `network rm` killed half-way: a second one finishes it.
    for delay_ms in [0u64, 2, 4, 8] {
        sb.netctl(["create", "brief", "--subnet", "10.103.0.0/24"]).ok();
        let mut cmd = sb.command("netctl");
        cmd.args(["rm", "brief"]).stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let again = sb.netctl(["rm", "brief"]);
        assert!(again.code == 0 || again.stderr.contains("no such network"), "{again:#?}");
    }
    sb.netctl(["rm", "boot"]).ok();
}

/// No attachment record in any network of the sandbox.
fn no_attachments(sb: &Sandbox) -> bool {
    let dir = sb.root().join("networks");
    std::fs::read_dir(dir).into_iter().flatten().flatten().all(|net| {
        std::fs::read_dir(net.path().join("attachments"))
            .map(|mut d| d.next().is_none())
            .unwrap_or(true)
    })
}

#[test]
fn netctl_is_a_cni_plugin() {
    let sb = Sandbox::new();
    let ns = sb.root().join("cni.netns");
    sb.netctl(["netns", "add", ns.to_str().unwrap()]).ok();
    let conf = format!(
        r#"{{"cniVersion": "1.0.0", "name": "cninet", "type": "netctl", "subnet": "10.104.0.0/24", "root": "{}",
            "runtimeConfig": {{"portMappings": [{{"hostPort": 8888, "containerPort": 80, "protocol": "tcp"}}]}}}}"#,
        sb.root().display()
    );
    let cni = |command: &str| {
        let mut cmd = Command::new(bin("netctl"));
        cmd.env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", "cni-box")
            .env("CNI_NETNS", &ns)
            .env("CNI_IFNAME", "net1")
            .env("CNI_PATH", "/usr/lib/cni")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        sb.in_net(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(conf.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, version) = cni("VERSION");
    assert_eq!(code, 0);
    assert!(version.contains("\"1.0.0\""), "{version}");
    let (code, added) = cni("ADD");
    assert_eq!(code, 0, "{added}");
    let result: serde_json::Value = serde_json::from_str(&added).unwrap();
    assert_eq!(result["cniVersion"], "1.0.0");
    assert_eq!(result["interfaces"][1]["name"], "net1");
    assert_eq!(result["interfaces"][1]["sandbox"], ns.to_str().unwrap());
    let address = result["ips"][0]["address"].as_str().unwrap();
    assert!(address.starts_with("10.104.0.") && address.ends_with("/24"), "{result}");
    assert_eq!(result["ips"][0]["gateway"], "10.104.0.1");
    let inside = sb
        .netctl([
            "netns",
            "exec",
            ns.to_str().unwrap(),
            "--",
            "ip",
            "-o",
            "-4",
            "addr",
            "show",
            "net1",
        ])
        .ok();
    assert!(inside.contains(address), "{inside}");
    assert_eq!(cni("CHECK").0, 0);
    // The portMappings capability: published like -p.
    let table = sb.host("nft", ["list", "map", "ip", &sb.nft_table(), "dnat_any"]).ok();
    assert!(
        table.contains(&format!("tcp . 8888 : {} . 80", address.trim_end_matches("/24"))),
        "{table}"
    );
    assert_eq!(cni("DEL").0, 0);
    assert_eq!(cni("DEL").0, 0, "DEL of what is gone succeeds, as the spec asks");
    let (code, error) = cni("CHECK");
    assert_eq!(code, 1);
    let error: serde_json::Value = serde_json::from_str(&error).unwrap();
    assert!(
        error["code"].as_u64().unwrap() > 0
            && error["msg"].as_str().unwrap().contains("not attached"),
        "{error}"
    );
    sb.netctl(["netns", "rm", ns.to_str().unwrap()]).ok();
    sb.netctl(["rm", "cninet"]).ok();
}

#[test]
fn on_the_real_host_a_loopback_port_reaches_its_container() {
    let sb = Sandbox::on_host();
    let port = free_host_port();
    let published = format!("127.0.0.1:{port}:80");
    web(&sb, "hostweb", &["-p", &published], "on-the-host");
    assert_eq!(fetch(&sb, &format!("http://127.0.0.1:{port}/")).ok(), "on-the-host\n");
    sb.remove_all();
    assert!(
        eventually(|| fetch(&sb, &format!("http://127.0.0.1:{port}/")).code != 0),
        "the port is closed again"
    );
}

/// A TCP port on the host's loopback nobody listens on now.
fn free_host_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn dry_run_shows_the_network_commands() {
    let sb = Sandbox::new();
    let script = sb.dockerish(["run", "--dry-run", "-p", "8989:80", "busybox", "true"]).ok();
    let attach = script
        .lines()
        .find(|l| l.contains("netctl") && l.contains(" attach bridge "))
        .unwrap_or_else(|| panic!("{script}"));
    assert!(
        attach.contains("--new-netns")
            && attach.contains("-p 8989:80/tcp")
            && attach.contains("--hosts-file"),
        "{attach}"
    );
    assert!(script.contains("ns-exec --pid --mount --uts --ipc --cgroup --net="), "{script}");
    assert!(
        script.lines().any(|l| l.contains("netctl") && l.contains(" detach --id ")),
        "{script}"
    );
    assert!(
        Path::new(&sb.root().join("netns")).read_dir().map_or(true, |mut d| d.next().is_none()),
        "--dry-run attaches nothing"
    );
}

#[test]
fn two_state_roots_share_a_host_and_gc_takes_only_its_own() {
    let sb = Sandbox::new();
    // A second root in the same (sandbox) host network: a benchmark's, say.
    let other_root = sb.root().join("other");
    let other = |args: &[&str]| {
        let mut cmd = Command::new(bin("netctl"));
        cmd.arg("--root").arg(&other_root).args(args);
        sb.in_net(&mut cmd);
        outcome(cmd)
    };
    let other_ns = other_root.join("netns/x");
    let ns = other_ns.to_str().unwrap();
    sb.netctl(["create", "a", "--subnet", "10.105.0.0/24"]).ok();
    attach_to(&sb, "a", "mine").ok();
    sb.netctl([
        "attach",
        "a",
        "--netns",
        &format!("{}/netns/pub", sb.root().display()),
        "--new-netns",
        "--id",
        "pub",
        "-p",
        "8001:80",
    ])
    .ok();
    other(&["create", "b", "--subnet", "10.106.0.0/24"]).ok();
    other(&["attach", "b", "--netns", ns, "--new-netns", "--id", "x", "-p", "8002:80"]).ok();
    let (mine, theirs) = (
        sb.netctl_info(),
        serde_json::from_str::<serde_json::Value>(&other(&["info"]).ok()).unwrap(),
    );
    assert_ne!(mine["table"], theirs["table"], "each root has its own table");
    // An orphan link of each root: tagged with it, in no record of it.
    for (name, info) in [("dkbr0a0a0a0a", &mine), ("dkbr0b0b0b0b", &theirs)] {
        sb.host("ip", ["link", "add", name, "type", "bridge"]).ok();
        sb.host("ip", ["link", "set", name, "alias", info["link_alias"].as_str().unwrap()]).ok();
    }
    let swept = other(&["gc"]).ok();
    assert!(swept.contains("deleted link dkbr0b0b0b0b"), "{swept}");
    let links = sb.host("ip", ["-o", "link"]).ok();
    assert!(!links.contains("dkbr0b0b0b0b:"), "the other root's orphan is gone");
    assert!(links.contains("dkbr0a0a0a0a:"), "gc left another root's link alone");
    let a = sb.netctl(["inspect", "a"]).ok();
    let a: serde_json::Value = serde_json::from_str(&a).unwrap();
    for (key, name) in [("network", "bridge"), ("attachments", "host_veth")] {
        let names: Vec<String> = match &a[key] {
            serde_json::Value::Array(list) => {
                list.iter().map(|x| x[name].as_str().unwrap().to_string()).collect()
            }
            one => vec![one[name].as_str().unwrap().to_string()],
        };
        for n in names {
            assert!(
                links.contains(&format!(" {n}:")) || links.contains(&format!(" {n}@")),
                "{n} is still there: {links}"
            );
        }
    }
    let map =
        sb.host("nft", ["list", "map", "ip", mine["table"].as_str().unwrap(), "dnat_any"]).ok();
    assert!(map.contains("tcp . 8001"), "the other root's rebuild left this root's ports: {map}");
    // This root's gc takes its own orphan and nothing that is attached.
    let swept = sb.netctl(["gc"]).ok();
    assert!(swept.contains("deleted link dkbr0a0a0a0a") && !swept.contains("detached"), "{swept}");
    other(&["detach", "--id", "x"]).ok();
    other(&["rm", "b"]).ok();
    let tables = sb.host("nft", ["list", "tables"]).ok();
    assert!(!tables.contains(theirs["table"].as_str().unwrap()), "{tables}");
    sb.netctl(["detach", "--id", "mine"]).ok();
    sb.netctl(["detach", "--id", "pub"]).ok();
    sb.netctl(["rm", "a"]).ok();
}

#[test]
fn a_lost_table_is_rebuilt_and_an_id_attaches_again_at_once() {
    let sb = Sandbox::new();
    let table = sb.nft_table();
    let ns = |id: &str| format!("{}/netns/{id}", sb.root().display());
    let attach = |id: &str, port: &str| {
        sb.netctl(["attach", "bridge", "--netns", &ns(id), "--new-netns", "--id", id, "-p", port])
    };
    attach("one", "8101:80").ok();
    // Someone's `nft flush ruleset`: the next change rebuilds the table from
    // the records, so the first container's port is back with the second's.
    sb.host("nft", ["delete", "table", "ip", &table]).ok();
    attach("two", "8102:80").ok();
    let map = sb.host("nft", ["list", "map", "ip", &table, "dnat_any"]).ok();
    assert!(map.contains("tcp . 8101") && map.contains("tcp . 8102"), "{map}");
    sb.host("nft", ["delete", "table", "ip", &table]).ok();
    sb.netctl(["detach", "--id", "one"]).ok();
    let map = sb.host("nft", ["list", "map", "ip", &table, "dnat_any"]).ok();
    assert!(!map.contains("tcp . 8101") && map.contains("tcp . 8102"), "{map}");
    // Detach releases a namespace of ours and the kernel deletes its veth
    // pair a little later: attaching the same ID at once meets that pair.
    for _ in 0..10 {
        sb.netctl(["detach", "--id", "two"]).ok();
        attach("two", "8102:80").ok();
    }
    let inside = sb.netctl(["netns", "exec", &ns("two"), "--", "ip", "-o", "-4", "addr"]).ok();
    assert!(inside.contains("eth0"), "{inside}");
    sb.netctl(["detach", "--id", "two"]).ok();
}

#[test]
fn a_container_cannot_reach_the_hosts_loopback_through_its_gateway() {
    // CVE-2020-8558: route_localnet on a bridge (which lets the host's own
    // 127.0.0.1 reach published ports) would let a container that routes
    // 127.0.0.1 to its gateway reach the host's loopback-only services.
    let sb = Sandbox::new();
    let echo = dockerish_tests::c_program("udp_echo");
    let log = sb.root().join("loopback-service.log");
    let mut service = Command::new(&echo);
    service.args(["serve", "5656", "127.0.0.1"]).stdout(std::fs::File::create(&log).unwrap());
    let service = HostProcess::spawn(sb.in_net(&mut service));
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    until("the loopback service is ready", || logged().contains("ready"));
    let volume = format!("{}:/udp_echo:ro", echo.display());
    // Needs CAP_NET_ADMIN in the container (the attacker's own routes).
    let intrude = |message: &str| {
        let script = format!(
            "gw=$(ip route | awk '/^default/ {{print $3}}') && \
             ip route del table local 127.0.0.0/8 dev lo && ip route del table local 127.0.0.1 dev lo && \
             ip route add 127.0.0.1/32 via $gw && /udp_echo send 127.0.0.1 5656 {message}; true"
        );
        let admin = ["--cap-add", "NET_ADMIN"];
        sb.dockerish(
            ["run", "--rm", "-v", &volume]
                .into_iter()
                .chain(admin)
                .chain(["busybox", "sh", "-c", &script]),
        )
        .ok();
        // Anything that got in was logged before this marker is.
        let marker = format!("after-{message}");
        sb.host(&echo.display().to_string(), ["send", "127.0.0.1", "5656", &marker]).ok();
        until("the marker is logged", || logged().contains(&marker));
        logged().contains(&format!("got: {message}"))
    };
    assert!(!intrude("intruder"), "a container reached the host's loopback: {}", logged());
    // The test can see the hole: without the raw-table drop, it is open.
    let table = sb.nft_table();
    sb.host("nft", ["flush", "chain", "ip", &table, "raw_prerouting"]).ok();
    let open = intrude("unguarded");
    sb.netctl(["gc"]).ok(); // rebuilds the table from the records
    drop(service);
    assert!(open, "without the guard the datagram should have got in: {}", logged());
}
