//! Layered images: archives made by real tools (umoci, skopeo, podman)
//! loaded and run, saved back and read by those tools, commit as one more
//! layer, hostile archives refused, and the store private to root.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use dockerish_tests::{Podman, Sandbox};

/// A host shell script in the sandbox's network, its stdout; fails the
/// test on a non-zero status.
#[track_caller]
fn host_sh(sb: &Sandbox, script: &str) -> String {
    sb.host("sh", ["-euc", script]).ok()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The layer directories of image `name`, bottom first.
fn layers(sb: &Sandbox, name: &str) -> Vec<PathBuf> {
    let image = sb.image(name);
    image["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| PathBuf::from(l["path"].as_str().unwrap()))
        .collect()
}

/// Builds, with umoci, an OCI layout `DIR/oci` holding image `t`: the
/// busybox tree as the first layer; then a layer with a directory, a hard
/// link, a symlink, a file with a capability and a file to delete; then a
/// layer that deletes that file (a `.wh.` whiteout) and one that replaces
/// the directory (an opaque whiteout).
fn umoci_fixture(sb: &Sandbox, dir: &Path) -> PathBuf {
    sb.imgtool(["busybox"]).ok();
    let base = &layers(sb, "busybox")[0];
    let script = format!(
        r#"
        cd {dir}
        mkdir -p extra/data/old extra/etc newdata
        echo a > extra/data/old/a; echo b > extra/data/old/b
        echo shared > extra/data/file; ln extra/data/file extra/data/link
        ln -s file extra/data/sym
        cp {base}/bin/busybox extra/data/ping; setcap cap_net_raw+ep extra/data/ping
        echo bye > extra/etc/gone
        echo c > newdata/c
        umoci init --layout oci
        umoci new --image oci:t
        umoci insert --image oci:t {base} /
        umoci insert --image oci:t extra /
        umoci insert --image oci:t --whiteout /etc/gone
        umoci insert --image oci:t --opaque newdata /data/old
        umoci config --image oci:t --config.cmd sh --config.env PATH=/bin --config.exposedports 8080/tcp
        "#,
        dir = dir.display(),
        base = base.display(),
    );
    host_sh(sb, &script);
    dir.join("oci")
}

/// The shell commands that list what the current directory holds, one
/// line per entry, sorted: type, path, mode, owner, and (but for
/// directories, whose link count overlayfs does not keep) link count and
/// symlink target; contents' sha256; file capabilities.
const LIST_TREE: &str = "{ find . -type d -printf '%y %p %m %U:%G\\n'; find . ! -type d -printf '%y %p %m %U:%G %n %l\\n'; } | sort; \
    find . -type f -exec sha256sum {} + | sort; getcap -r . | sort";

#[test]
fn archives_from_umoci_skopeo_and_podman_load_and_run_as_their_layers_mean() {
    let sb = Sandbox::new();
    // First: it notes what skopeo and podman will leave on the host.
    let podman = Podman::new(&sb, "runc");
    let dir = sb.root().join("fixture");
    fs::create_dir(&dir).unwrap();
    let layout = umoci_fixture(&sb, &dir);
    let skopeo = |dest: &str| {
        host_sh(&sb, &format!("skopeo copy --quiet oci:{}:t {dest}", layout.display()));
    };
    let docker_tar = dir.join("docker.tar");
    let oci_tar = dir.join("oci.tar");
    skopeo(&format!("docker-archive:{}:fixture:docker", docker_tar.display()));
    skopeo(&format!("oci-archive:{}:fixture:oci", oci_tar.display()));

    // Each form loads, tagged as the archive says; the layout directory
    // (whose ref is a bare tag, "t") loads untagged.
    let loaded = json(&sb.imgtool(["load".as_ref(), "-i".as_ref(), docker_tar.as_os_str()]).ok());
    assert_eq!(loaded[0]["repo_tags"][0], "fixture:docker");
    let loaded = json(&sb.imgtool(["load".as_ref(), "-i".as_ref(), oci_tar.as_os_str()]).ok());
    // The same config, so the same image: now with both names.
    assert_eq!(loaded[0]["repo_tags"], serde_json::json!(["fixture:docker", "fixture:oci"]));
    let from_dir = json(&sb.imgtool(["load".as_ref(), "-i".as_ref(), layout.as_os_str()]).ok());
    assert_eq!(from_dir[0]["id"], loaded[0]["id"]);
    // Each layer stored once: the fixture's four (umoci's tar of the
    // busybox tree is not ours, so not busybox:latest's layer) and busybox's.
    assert_eq!(layers(&sb, "fixture:docker").len(), 4);
    let stored = fs::read_dir(sb.root().join("images/layers")).unwrap().count();
    assert_eq!(stored, 5, "each layer is stored once");
    assert_eq!(sb.image("fixture:oci")["config"]["ExposedPorts"], json(r#"{"8080/tcp":{}}"#));

    // In a container: the deleted file is gone, the replaced directory
    // holds only the new content, the hard link is one, the symlink kept.
    let script = "test ! -e /etc/gone && ls /data/old && cat /data/link && stat -c %h /data/file && readlink /data/sym";
    for tag in ["fixture:docker", "fixture:oci"] {
        let out = sb.dockerish(["run", "--rm", "--network", "none", tag, "sh", "-c", script]).ok();
        assert_eq!(out, "c\nshared\n2\nfile\n", "{tag}");
    }

    // -P publishes what the image exposes (8080/tcp) on a free host port.
    let serve = "mkdir /www && echo exposed > /www/index.html && exec httpd -f -p 8080 -h /www";
    sb.dockerish(["run", "-d", "--name", "web", "-P", "fixture:oci", "sh", "-c", serve]).ok();
    let published = sb.dockerish(["port", "web", "8080"]).ok();
    let port = published.lines().next().and_then(|l| l.rsplit(':').next()).unwrap().to_string();
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "{published}");
    let url = format!("http://127.0.0.1:{port}/");
    let mut body = String::new();
    dockerish_tests::until("the exposed port answers", || {
        body = sb
            .host("/bin/busybox", ["timeout", "2", "/bin/busybox", "wget", "-q", "-O-", &url])
            .stdout;
        body == "exposed\n"
    });
    sb.dockerish(["rm", "-f", "web"]).ok();

    // The merged tree is what umoci unpacks, entry for entry (modes,
    // owners, links, contents, the capability).
    host_sh(
        &sb,
        &format!("cd {} && umoci unpack --image oci:t unpacked >/dev/null", dir.display()),
    );
    let mut lower: Vec<String> =
        layers(&sb, "fixture:oci").iter().map(|l| l.display().to_string()).collect();
    lower.reverse();
    let merged = dir.join("merged");
    fs::create_dir(&merged).unwrap();
    let list = dir.join("list-tree");
    fs::write(&list, LIST_TREE).unwrap();
    let ours = host_sh(
        &sb,
        &format!(
            "unshare -m sh -euc 'mount -t overlay overlay -o ro,lowerdir={} {m} && cd {m} && . {list}'",
            lower.join(":"),
            m = merged.display(),
            list = list.display()
        ),
    );
    let theirs =
        host_sh(&sb, &format!("cd {}/unpacked/rootfs && . {}", dir.display(), list.display()));
    assert!(ours.contains("./data/ping cap_net_raw=ep"), "{ours}");
    assert_eq!(ours, theirs, "our merged layers differ from umoci's unpack");

    // Saved back, skopeo reads both formats with the layers' digests, and
    // podman loads and runs what we wrote.
    let diff_ids: Vec<String> = sb.image("fixture:oci")["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().into())
        .collect();
    for (format, transport) in [("docker", "docker-archive"), ("oci", "oci-archive")] {
        let out = dir.join(format!("saved-{format}.tar"));
        sb.imgtool([
            "save".as_ref(),
            "fixture:oci".as_ref(),
            "--format".as_ref(),
            format.as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
        .ok();
        let inspected =
            json(&host_sh(&sb, &format!("skopeo inspect {transport}:{}", out.display())));
        assert_eq!(inspected["Layers"], serde_json::json!(diff_ids), "{format}");
    }
    let saved = dir.join("saved-docker.tar");
    podman.run(&format!("load -i {}", saved.display()));
    let out = podman.run("run --rm --network none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 fixture:oci sh -c 'cat /data/link; ls /data/old; test ! -e /etc/gone'");
    assert_eq!(out, "shared\nc\n");
    // podman import of a flat tree, then podman save: we load and run it.
    let flat = dir.join("flat.tar");
    host_sh(&sb, &format!("tar -C {}/unpacked/rootfs -cf {} .", dir.display(), flat.display()));
    podman.run(&format!("import -q {} imported:1", flat.display()));
    let imported = dir.join("imported.tar");
    podman.run(&format!("save -q -o {} localhost/imported:1", imported.display()));
    let loaded = json(&sb.imgtool(["load".as_ref(), "-i".as_ref(), imported.as_os_str()]).ok());
    assert_eq!(loaded[0]["repo_tags"][0], "localhost/imported:1");
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "--network",
            "none",
            "localhost/imported:1",
            "sh",
            "-c",
            "cat /data/link; ls /data/old",
        ])
        .ok();
    assert_eq!(out, "shared\nc\n");

    // And what podman saves (it rewrites the config as an OCI one), we
    // load: the very layers we gave it.
    let back = dir.join("podman.tar");
    podman.run(&format!("save --format oci-archive -o {} fixture:oci", back.display()));
    let other = Sandbox::on_host();
    let loaded = json(&other.imgtool(["load".as_ref(), "-i".as_ref(), back.as_os_str()]).ok());
    let digests: Vec<&str> = loaded[0]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, diff_ids);
}

#[test]
fn commit_adds_one_layer_over_the_images_own_and_deletions_stay_deleted() {
    let sb = Sandbox::new();
    sb.imgtool(["busybox"]).ok();
    let script = "rm /etc/group && rm -rf /usr/sbin && mkdir /usr/sbin && echo n > /usr/sbin/new && echo hi > /added";
    sb.dockerish(["run", "--name", "c1", "--network", "none", "busybox", "sh", "-c", script]).ok();
    let id = sb
        .dockerish([
            "commit",
            "-m",
            "my change",
            "-c",
            "ENV X=1",
            "-c",
            "EXPOSE 80",
            "c1",
            "mine:1",
        ])
        .ok();
    assert!(id.starts_with("sha256:"), "{id}");

    // One more layer; the lower one is the same directory (no copy).
    let base = layers(&sb, "busybox");
    let mine = layers(&sb, "mine:1");
    assert_eq!(mine.len(), base.len() + 1);
    assert_eq!(mine[..base.len()], base[..]);
    // The container's command is the image's, as Docker's commit does.
    let image = sb.image("mine:1");
    assert_eq!(image["config"]["Cmd"], serde_json::json!(["sh", "-c", script]));
    assert!(image["config"]["Env"].as_array().unwrap().contains(&"X=1".into()));
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "--network",
            "none",
            "mine:1",
            "sh",
            "-c",
            "test ! -e /etc/group; ls /usr/sbin; cat /added; echo $X",
        ])
        .ok();
    assert_eq!(out, "new\nhi\n1\n");

    // The layer tar says it as image tars do: a .wh. entry, an opaque marker.
    let saved = sb.root().join("mine.tar");
    sb.imgtool(["save".as_ref(), "mine:1".as_ref(), "-o".as_ref(), saved.as_os_str()]).ok();
    let top = mine.last().unwrap().file_name().unwrap().to_string_lossy().into_owned();
    let entries = host_sh(&sb, &format!("tar -xOf {} {top}/layer.tar | tar -t", saved.display()));
    assert!(entries.lines().any(|l| l == "etc/.wh.group"), "{entries}");
    assert!(entries.lines().any(|l| l == "usr/sbin/.wh..wh..opq"), "{entries}");
    let history = sb.dockerish(["history", "mine:1"]).ok();
    assert!(history.lines().nth(1).unwrap().contains("my change"), "{history}");
    assert!(history.contains("dockerish commit c1"), "{history}");

    // Saved and loaded into another root: the same image ID (the layer
    // tars come back byte for byte).
    let other = Sandbox::on_host();
    let loaded = json(&other.imgtool(["load".as_ref(), "-i".as_ref(), saved.as_os_str()]).ok());
    assert_eq!(loaded[0]["id"].as_str().unwrap(), id.trim());

    // export: the container's tree as overlayfs shows it, flat; imported
    // back, it runs.
    let flat = sb.root().join("c1.tar");
    sb.dockerish(["export".as_ref(), "c1".as_ref(), "-o".as_ref(), flat.as_os_str()]).ok();
    let listed = host_sh(&sb, &format!("tar -tf {}", flat.display()));
    let has = |p: &str| listed.lines().any(|l| l.trim_end_matches('/') == p);
    assert!(has("added") && has("usr/sbin/new") && has("bin/busybox"), "{listed}");
    assert!(
        !has("etc/group") && !has("usr/sbin/chroot"),
        "deleted and replaced entries are not exported: {listed}"
    );
    assert!(!listed.contains(".wh."), "{listed}");
    sb.dockerish(["import".as_ref(), flat.as_os_str(), "flat:1".as_ref()]).ok();
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "--network",
            "none",
            "flat:1",
            "sh",
            "-c",
            "cat /added; ls /usr/sbin",
        ])
        .ok();
    assert_eq!(out, "hi\nnew\n");
    assert_eq!(layers(&sb, "flat:1").len(), 1);

    // rmi of a used image is refused; -f untags it and the container keeps its layers.
    sb.dockerish(["rmi", "busybox"]).fails(1, "container");
    // One of two names of a used image: only the name goes.
    sb.dockerish(["tag", "busybox", "busybox:alias"]).ok();
    sb.dockerish(["rmi", "busybox:alias"]).ok();
    assert_eq!(sb.image("busybox")["repo_tags"], serde_json::json!(["busybox:latest"]));
    sb.dockerish(["tag", "mine:1", "mine:2"]).ok();
    sb.dockerish(["rmi", "-f", "busybox"]).ok();
    assert!(base.iter().all(|l| l.is_dir()), "the container's layers stay");
    sb.dockerish(["rm", "c1"]).ok();
    let pruned = sb.dockerish(["image", "prune", "-f"]).ok();
    assert!(pruned.contains("deleted: "), "{pruned}");
    assert!(base.iter().all(|l| l.is_dir()), "mine:2 still uses the busybox layer");
}

#[test]
fn concurrent_loads_of_images_sharing_a_layer_store_it_once() {
    let sb = Sandbox::new();
    sb.imgtool(["busybox"]).ok();
    // Eight images over busybox's layer, each with a layer of its own.
    let mut archives = Vec::new();
    for i in 0..8 {
        let dir = sb.root().join(format!("top{i}"));
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("which"), format!("{i}\n")).unwrap();
        let name = format!("shared:{i}");
        sb.imgtool([
            "commit".as_ref(),
            "--parent".as_ref(),
            "busybox".as_ref(),
            dir.as_os_str(),
            name.as_ref(),
        ])
        .ok();
        let archive = sb.root().join(format!("shared{i}.tar"));
        sb.imgtool(["save".as_ref(), name.as_ref(), "-o".as_ref(), archive.as_os_str()]).ok();
        archives.push(archive);
    }
    // Into a fresh store, all at once.
    let other = Sandbox::on_host();
    let loads: Vec<_> = archives
        .iter()
        .map(|a| {
            let mut cmd = other.command("imgtool");
            cmd.args(["load".as_ref(), "-i".as_ref(), a.as_os_str()])
                .stdout(std::process::Stdio::null());
            cmd.spawn().unwrap()
        })
        .collect();
    for mut load in loads {
        assert!(load.wait().unwrap().success());
    }
    let stored = fs::read_dir(other.root().join("images/layers")).unwrap().count();
    assert_eq!(stored, 9, "busybox's layer once, and each image's own");
    for i in 0..8 {
        let out = other
            .dockerish([
                "run",
                "--rm",
                "--network",
                "none",
                &format!("shared:{i}"),
                "cat",
                "/which",
            ])
            .ok();
        assert_eq!(out, format!("{i}\n"));
    }
    other.imgtool(["check"]).ok();
}

#[test]
fn an_image_of_fifty_layers_runs_though_their_paths_exceed_a_page() {
    let sb = Sandbox::new();
    sb.imgtool(["busybox"]).ok();
    let mut parent = "busybox".to_string();
    for i in 1..50 {
        let dir = sb.root().join(format!("layer{i}"));
        fs::create_dir_all(dir.join("layers")).unwrap();
        fs::write(dir.join(format!("layers/{i}")), format!("{i}\n")).unwrap();
        let name = format!("deep:{i}");
        sb.imgtool([
            "commit".as_ref(),
            "--parent".as_ref(),
            parent.as_ref(),
            dir.as_os_str(),
            name.as_ref(),
        ])
        .ok();
        fs::remove_dir_all(&dir).unwrap();
        parent = name;
    }
    // The same layer twice in one image (old Docker images repeat the empty
    // layer): overlayfs takes each lower once, and the image runs.
    let twice = sb.root().join("twice");
    fs::create_dir(&twice).unwrap();
    fs::write(twice.join("again"), "again\n").unwrap();
    sb.imgtool([
        "commit".as_ref(),
        "--parent".as_ref(),
        "busybox".as_ref(),
        twice.as_os_str(),
        "twice:1".as_ref(),
    ])
    .ok();
    sb.imgtool([
        "commit".as_ref(),
        "--parent".as_ref(),
        "twice:1".as_ref(),
        twice.as_os_str(),
        "twice:2".as_ref(),
    ])
    .ok();
    let both = layers(&sb, "twice:2");
    assert_eq!((both.len(), &both[1]), (3, &both[2]), "the same layer twice");
    assert_eq!(
        sb.dockerish(["run", "--rm", "--network", "none", "twice:2", "cat", "/again"]).ok(),
        "again\n"
    );
    let paths: usize = layers(&sb, &parent).iter().map(|l| l.as_os_str().len() + 1).sum();
    assert!(paths > 4096, "the layers' full paths take {paths} bytes: more than overlayfs's page");
    let out = sb
        .dockerish([
            "run",
            "--rm",
            "--network",
            "none",
            &parent,
            "sh",
            "-c",
            "ls /layers | wc -l; cat /layers/1 /layers/49",
        ])
        .ok();
    assert_eq!(out, "49\n1\n49\n");
}

/// `docker save`'s layout, written by hand so that it can lie.
fn docker_archive(path: &Path, members: &[(String, Vec<u8>)]) {
    let mut builder = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, &data[..]).unwrap();
    }
    builder.finish().unwrap();
}

/// A layer tar of regular files; names go into the header as given, `..`
/// and all (the tar crate would refuse to write them).
fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn hostile_or_broken_archives_are_refused_and_leave_nothing() {
    let sb = Sandbox::new();
    let dir = sb.root().join("hostile");
    fs::create_dir(&dir).unwrap();
    // docker save's members for one image of one layer: manifest.json, the
    // config (named by its digest unless `name` says otherwise), the layer.
    let image_of = |layer: Vec<u8>, name: Option<String>| {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
            sha256(&layer)
        )
        .into_bytes();
        let name = name.unwrap_or_else(|| format!("{}.json", sha256(&config)));
        let manifest =
            format!(r#"[{{"Config":"{name}","RepoTags":["bad:1"],"Layers":["l/layer.tar"]}}]"#);
        vec![
            ("manifest.json".to_string(), manifest.into_bytes()),
            (name, config),
            ("l/layer.tar".to_string(), layer),
        ]
    };
    let layer = layer_tar(&[("hello", b"hi\n")]);
    // The layer the config names, then another under the same member name.
    let mut changed = image_of(layer.clone(), None);
    changed[2].1 = layer_tar(&[("hello", b"changed\n")]);
    let mut twice = image_of(layer.clone(), None);
    twice.push(("l/layer.tar".to_string(), layer_tar(&[("other", b"x")])));
    let mut truncated = layer_tar(&[("big", &[7u8; 4000])]);
    truncated.truncate(512 + 1000); // cut inside the file's contents
    let cases = [
        (
            "config-digest",
            image_of(layer.clone(), Some(format!("{}.json", "0".repeat(64)))),
            "digest mismatch",
        ),
        ("layer-digest", changed, "digest mismatch"),
        ("twice", twice, "listed twice"),
        ("traversal", image_of(layer_tar(&[("../../outside", b"x")]), None), "'..' in the path"),
        ("truncated-layer", image_of(truncated, None), "cut short"),
        (
            "not-an-image",
            vec![("hello".to_string(), b"hi".to_vec())],
            "neither a docker save archive",
        ),
    ];
    for (label, members, needle) in cases {
        let path = dir.join(format!("{label}.tar"));
        docker_archive(&path, &members);
        sb.imgtool(["load".as_ref(), "-i".as_ref(), path.as_os_str()]).fails(125, needle);
    }
    // A whole archive cut in half, an empty file, a broken gzip.
    sb.imgtool(["busybox"]).ok();
    let saved = dir.join("busybox.tar");
    sb.imgtool(["save".as_ref(), "busybox".as_ref(), "-o".as_ref(), saved.as_os_str()]).ok();
    sb.imgtool(["rm", "busybox"]).ok();
    let bytes = fs::read(&saved).unwrap();
    fs::write(dir.join("half.tar"), &bytes[..bytes.len() / 2]).unwrap();
    let half = sb.imgtool(["load".as_ref(), "-i".as_ref(), dir.join("half.tar").as_os_str()]);
    assert_eq!(half.code, 125, "{half:?}");
    fs::write(dir.join("empty.tar"), b"").unwrap();
    sb.imgtool(["import".as_ref(), dir.join("empty.tar").as_os_str(), "e:1".as_ref()])
        .fails(125, "the file is empty");
    fs::write(dir.join("broken.tgz"), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef])
        .unwrap();
    let broken =
        sb.imgtool(["import".as_ref(), dir.join("broken.tgz").as_os_str(), "b:1".as_ref()]);
    broken.fails(125, "broken.tgz");
    assert!(broken.stderr.is_ascii(), "no raw bytes on the terminal: {broken:?}");

    // Nothing was stored, nothing is half done, nothing landed outside.
    assert_eq!(sb.imgtool(["ls", "-q"]).ok(), "");
    for sub in ["layers", "tarsplit"] {
        let left: Vec<_> = fs::read_dir(sb.root().join("images").join(sub))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "{sub}: {left:?}");
    }
    assert!(!sb.root().join("outside").exists() && !Path::new("/tmp/outside").exists());
    sb.imgtool(["check"]).ok();
}

#[test]
fn import_takes_plain_gzip_zstd_and_xz_tars_as_one_layer() {
    let sb = Sandbox::new();
    let dir = sb.root().join("import");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("root.tar"), layer_tar(&[("etc/motd", b"imported\n")])).unwrap();
    host_sh(
        &sb,
        &format!("cd {} && gzip -k root.tar && zstd -q root.tar && xz -k root.tar", dir.display()),
    );
    let mut ids = Vec::new();
    for (i, file) in ["root.tar", "root.tar.gz", "root.tar.zst", "root.tar.xz"].iter().enumerate() {
        let name = format!("imp:{i}");
        let input = dir.join(file);
        let image = json(
            &sb.imgtool([
                "import".as_ref(),
                input.as_os_str(),
                name.as_ref(),
                "-c".as_ref(),
                "CMD [\"/bin/sh\"]".as_ref(),
            ])
            .ok(),
        );
        ids.push(image["layers"][0]["digest"].as_str().unwrap().to_string());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one layer whatever the compression: {ids:?}");
    assert_eq!(fs::read_dir(sb.root().join("images/layers")).unwrap().count(), 1);
    // From standard input, through dockerish, as `docker import - NAME`.
    let out = host_sh(
        &sb,
        &format!(
            "{} --root {} import - viastdin < {}/root.tar.zst",
            dockerish_tests::bin("dockerish").display(),
            sb.root().display(),
            dir.display()
        ),
    );
    assert!(out.starts_with("sha256:"), "{out}");
    assert_eq!(sb.image("viastdin")["layers"][0]["digest"].as_str().unwrap(), ids[0]);
}

#[test]
fn no_other_host_user_can_reach_the_store_or_a_containers_files() {
    let sb = Sandbox::new();
    // The sandbox made its root 0755, as a careless admin might: the tools
    // make it private.
    assert_eq!(fs::metadata(sb.root()).unwrap().permissions().mode() & 0o777, 0o755);
    let dir = tempfile::Builder::new().prefix("dockerish-hostile-").tempdir_in("/tmp").unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    // A hostile image: a setuid-root id and a world-writable device node.
    host_sh(
        &sb,
        &format!(
            "cd {d} && mkdir -p r/usr/bin r/dev r/bin && cp /bin/busybox r/bin/sh && cp /bin/busybox r/usr/bin/id && \
             chmod 4755 r/usr/bin/id && mknod -m 0666 r/dev/mem0 c 1 3 && tar -C r -cf hostile.tar .",
            d = dir.path().display()
        ),
    );
    sb.imgtool([
        "import".as_ref(),
        dir.path().join("hostile.tar").as_os_str(),
        "hostile:1".as_ref(),
    ])
    .ok();
    let layer = layers(&sb, "hostile:1")[0].clone();
    let id = fs::metadata(layer.join("usr/bin/id")).unwrap();
    assert_eq!(
        (id.mode() & 0o7777, id.uid()),
        (0o4755, 0),
        "the image's setuid bit is kept, as it must be"
    );
    sb.dockerish([
        "run",
        "-d",
        "--name",
        "writer",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo secret > /s; echo logged; sleep 1000",
    ])
    .ok();
    dockerish_tests::until("the container wrote", || {
        sb.dockerish(["logs", "writer"]).stdout.contains("logged")
    });
    assert_eq!(fs::metadata(sb.root()).unwrap().permissions().mode() & 0o777, 0o700);
    let container = sb.container_dirs()[0].clone();
    let targets = [
        layer.join("usr/bin/id"),
        layer.join("dev/mem0"),
        container.join("upper/s"),
        container.clone(),
        sb.root().join("images/layers"),
    ];
    for target in targets {
        let try_as_nobody = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .args([
                "sh",
                "-c",
                "ls \"$1\" >/dev/null 2>&1 || cat \"$1\" >/dev/null 2>&1 || exit 77; echo reached",
                "sh",
            ])
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(
            try_as_nobody.status.code(),
            Some(77),
            "nobody reached {}: {try_as_nobody:?}",
            target.display()
        );
    }
    sb.remove_all();
}
