//! `imgtool`: importing, listing and removing images, and refusing tars
//! that try to write outside the layer.

use std::fs;
use std::path::Path;

use dockerish_tests::Sandbox;

/// A tar of raw entries: (name, type, link target, data). Names are
/// written into the header as given, `..` and all.
fn raw_tar(path: &Path, entries: &[(&str, tar::EntryType, &str, &[u8])]) {
    let mut builder = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, kind, link, data) in entries {
        let mut header = tar::Header::new_gnu();
        let raw = &mut header.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(*kind);
        header.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        header.set_size(data.len() as u64);
        if !link.is_empty() {
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.finish().unwrap();
}

fn layer_entries(sb: &Sandbox) -> Vec<String> {
    match fs::read_dir(sb.root().join("images/layers")) {
        Ok(dir) => dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => vec![],
    }
}

#[test]
fn import_list_inspect_run_remove() {
    let sb = Sandbox::new();
    // A flat root filesystem: a shell (busybox) and one file.
    let tar = sb.root().join("root.tar");
    let mut builder = tar::Builder::new(fs::File::create(&tar).unwrap());
    builder.append_path_with_name("/bin/busybox", "bin/sh").unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(9);
    header.set_mode(0o644);
    builder.append_data(&mut header, "etc/motd", &b"imported\n"[..]).unwrap();
    builder.finish().unwrap();
    drop(builder);

    let json: serde_json::Value = serde_json::from_str(
        &sb.imgtool([
            "import".as_ref(),
            tar.as_os_str(),
            "mine:1".as_ref(),
            "--cmd".as_ref(),
            "/bin/sh".as_ref(),
        ])
        .ok(),
    )
    .unwrap();
    assert!(json["id"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(json["repo_tags"][0], "mine:1");
    assert_eq!(json["config"]["Cmd"][0], "/bin/sh");
    let table = sb.imgtool(["ls"]).ok();
    assert!(table.starts_with("REPOSITORY   TAG   IMAGE ID"), "{table}");
    assert!(table.contains("mine         1"), "{table}");
    // Importing the same tar again reuses the layer (content addressed).
    sb.imgtool(["import".as_ref(), tar.as_os_str(), "again".as_ref()]).ok();
    assert_eq!(layer_entries(&sb).len(), 1);

    // Arguments after the image replace its CMD (here /bin/sh), as in Docker.
    sb.dockerish(["run", "--rm", "mine:1", "-c", "true"]).fails(127, "\"-c\"");
    assert_eq!(
        sb.dockerish(["run", "--rm", "mine:1", "/bin/sh", "-c", "cat /etc/motd"]).ok(),
        "imported\n"
    );

    sb.imgtool(["inspect", "nosuch"]).fails(2, "no such image: nosuch");
    sb.imgtool(["rm", "mine:1"]).ok();
    assert_eq!(layer_entries(&sb).len(), 1, "the layer is still used by 'again'");
    sb.imgtool(["rm", "again"]).ok();
    assert!(layer_entries(&sb).is_empty(), "the unused layer is removed");
}

#[test]
fn tars_that_escape_the_layer_are_refused() {
    let sb = Sandbox::new();
    let victim = sb.root().join("victim");
    fs::create_dir(&victim).unwrap();
    let outside = victim.display().to_string();
    // (label, entries, what the error names)
    type Entry = (String, tar::EntryType, String, Vec<u8>);
    let cases: Vec<(&str, Vec<Entry>, &str)> = vec![
        (
            "dotdot",
            vec![(
                "../../../../tmp/x".into(),
                tar::EntryType::Regular,
                String::new(),
                b"x".to_vec(),
            )],
            "..",
        ),
        (
            "symlink",
            vec![
                ("link".into(), tar::EntryType::Symlink, outside.clone(), vec![]),
                ("link/through".into(), tar::EntryType::Regular, String::new(), b"x".to_vec()),
            ],
            "link",
        ),
        (
            "hardlink",
            vec![(
                "hard".into(),
                tar::EntryType::Link,
                format!("../../../..{outside}/target"),
                vec![],
            )],
            "..",
        ),
    ];
    fs::write(victim.join("target"), "do not touch").unwrap();
    for (label, entries, needle) in cases {
        let tar = sb.root().join(format!("{label}.tar"));
        let refs: Vec<(&str, tar::EntryType, &str, &[u8])> =
            entries.iter().map(|(n, k, l, d)| (n.as_str(), *k, l.as_str(), d.as_slice())).collect();
        raw_tar(&tar, &refs);
        let out = sb.imgtool(["import".as_ref(), tar.as_os_str(), label.as_ref()]);
        out.fails(125, needle);
        assert_eq!(
            fs::read_dir(&victim).unwrap().count(),
            1,
            "{label}: something was written outside"
        );
        assert!(
            layer_entries(&sb).is_empty(),
            "{label}: a partial layer was left: {:?}",
            layer_entries(&sb)
        );
        assert_eq!(sb.imgtool(["ls", "-q"]).ok(), "", "{label}: an image was recorded");
    }
    // An absolute name is the layer's own path, as Docker and containerd
    // read it: it lands inside the layer, never at the host's path.
    let tar = sb.root().join("absolute.tar");
    raw_tar(&tar, &[(&format!("{outside}/abs"), tar::EntryType::Regular, "", b"x")]);
    let image: serde_json::Value = serde_json::from_str(
        &sb.imgtool(["import".as_ref(), tar.as_os_str(), "abs".as_ref()]).ok(),
    )
    .unwrap();
    let layer = Path::new(image["layers"][0]["path"].as_str().unwrap());
    assert_eq!(fs::read(layer.join(format!(".{outside}/abs"))).unwrap(), b"x");
    assert_eq!(
        fs::read_dir(&victim).unwrap().count(),
        1,
        "absolute: something was written outside"
    );
}
