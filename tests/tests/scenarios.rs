//! The seeds' two scenarios, with real software from Debian's packages:
//! an nginx published on a host port, and a flask app counting visits in a
//! redis in another container, reached by name. The README walks through
//! both with the same commands.
//!
//! The image is a flat root filesystem tar (what the seeds' `docker export`
//! produced) made by mmdebstrap at test time and cached outside the
//! repository (`dockerish_tests::scenario_tar`); nothing else is fetched.

use dockerish_tests::{scenario_tar, until, Outcome, Sandbox};

fn fetch(sb: &Sandbox, url: &str) -> Outcome {
    sb.host("/bin/busybox", ["timeout", "5", "/bin/busybox", "wget", "-q", "-O-", url])
}

#[test]
fn nginx_is_published_on_a_host_port() {
    let sb = Sandbox::new();
    let tar = scenario_tar();
    sb.dockerish(["import", tar.to_str().unwrap(), "mynginx"]).ok();
    sb.dockerish(["network", "create", "--subnet", "10.110.0.0/24", "mynet"]).ok();
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "web",
        "--net",
        "mynet",
        "-p",
        "8888:80",
        "mynginx",
        "nginx",
        "-g",
        "daemon off;",
    ])
    .ok();
    until("nginx answers", || fetch(&sb, "http://127.0.0.1:8888/").code == 0);
    let page = fetch(&sb, "http://127.0.0.1:8888/").ok();
    assert!(page.contains("Welcome to nginx!"), "{page}");
    let ip = sb.dockerish(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"]).ok();
    assert!(
        fetch(&sb, &format!("http://{}/", ip.trim())).ok().contains("Welcome to nginx!"),
        "the container's own address"
    );
    sb.dockerish(["rm", "-f", "web"]).ok();
    sb.dockerish(["network", "rm", "mynet"]).ok();
}

/// The flask app of the walkthrough: it finds redis by name.
const APP: &str = r#"from flask import Flask
from redis import Redis

app = Flask(__name__)
redis = Redis(host="redis", port=6379)


@app.route("/")
def hello():
    return f"Hello! I have been seen {redis.incr('hits')} times.\n"


app.run(host="0.0.0.0", port=5000)
"#;

#[test]
fn flask_counts_visits_in_redis_by_name() {
    let sb = Sandbox::new();
    let tar = scenario_tar();
    sb.dockerish(["import", tar.to_str().unwrap(), "myredis"]).ok();
    sb.dockerish(["import", tar.to_str().unwrap(), "myflask-base"]).ok();
    // The app goes into an image of its own: written in a container, committed.
    let write = format!("cat > /app.py <<'EOF'\n{APP}EOF");
    sb.dockerish(["run", "--name", "build", "myflask-base", "sh", "-c", &write]).ok();
    sb.dockerish(["commit", "build", "myflask"]).ok();
    sb.dockerish(["rm", "build"]).ok();
    sb.dockerish(["network", "create", "--subnet", "10.111.0.0/24", "myflask"]).ok();
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "redis",
        "--net",
        "myflask",
        "myredis",
        "redis-server",
        "--protected-mode",
        "no",
    ])
    .ok();
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "flask",
        "--net",
        "myflask",
        "-p",
        "5000:5000",
        "myflask",
        "python3",
        "/app.py",
    ])
    .ok();
    // Ready once flask answers at all: a 404 of another path (which does
    // not count a visit).
    until("flask answers", || fetch(&sb, "http://127.0.0.1:5000/ready").stderr.contains("404"));
    let counts: Vec<String> = (0..3).map(|_| fetch(&sb, "http://127.0.0.1:5000/").ok()).collect();
    assert_eq!(
        counts,
        [
            "Hello! I have been seen 1 times.\n",
            "Hello! I have been seen 2 times.\n",
            "Hello! I have been seen 3 times.\n"
        ],
    );
    sb.dockerish(["rm", "-f", "flask", "redis"]).ok();
    sb.dockerish(["network", "rm", "myflask"]).ok();
}
