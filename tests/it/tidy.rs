//! Architecture invariants, checked by reading the tree (in the style of rust-analyzer's tidy).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The UI renders and forwards: it neither opens the store nor writes to it, and builds no
/// outbox payload; every action goes through `app::session::Session`.
#[test]
fn the_ui_does_not_write_or_build_commands() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let mut files = vec![];
    rust_files(&root, &mut files);
    assert!(files.len() >= 3, "ui files not found");
    let forbidden = [
        "Store::open",
        "Store::create",
        "Store::in_memory",
        "rusqlite::",
        "record_scan",
        "record_override",
        ".commit(",
        "begin_write",
        "store_mut",
        "json!",
        "serde_json::",
        "domain::command::Command",
        "Command::Scan",
        "ScanRecord",
        "outbox(",
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: the UI forwards actions to app::session, it does not write",
                f.display()
            );
        }
    }
}

#[test]
fn domain_is_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/lotline-domain/src");
    let mut files = vec![];
    rust_files(&root, &mut files);
    assert!(files.len() >= 6, "domain files not found");
    let forbidden = [
        "rusqlite::",
        "slint::",
        "serialport::",
        "reqwest::",
        "tokio::",
        "std::fs",
        "std::net",
        "std::process",
        "SystemTime",
        "Local::now",
        "Utc::now",
        "Instant::now",
        "crate::store",
        "crate::ui",
        "crate::app",
        "crate::cli",
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: the domain must stay free of I/O and the clock",
                f.display()
            );
        }
    }
}

/// The wire codecs and the inventory session are pure too: bytes and instants in, frames out.
/// (Their unit tests, after `#[cfg(test)]`, may read the clock to make instants.)
#[test]
fn device_codecs_are_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/devices");
    let mut files = vec![root.join("inventory.rs")];
    rust_files(&root.join("codec"), &mut files);
    assert!(files.len() >= 10, "codec files not found");
    let forbidden = [
        "serialport::",
        "slint::",
        "rusqlite::",
        "libc::",
        "std::fs",
        "std::io",
        "std::net",
        "std::thread",
        "std::process",
        "SystemTime",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "crate::store",
        "crate::ui",
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for word in forbidden {
            assert!(
                !code.contains(word),
                "{} uses {word}: codecs take bytes and instants, they do no I/O",
                f.display()
            );
        }
    }
}

/// The error types of every `Result` in `s` whose error is a bare `String` (generic arguments
/// split at the top level, so `Result<Vec<u8>, String>` is found and `Result<String, E>` is not).
fn string_errors(s: &str) -> Vec<String> {
    let mut found = vec![];
    let mut rest = s;
    while let Some(i) = rest.find("Result<") {
        let args = &rest[i + "Result<".len()..];
        let (mut depth, mut end, mut last_comma, mut prev) = (0usize, None, None, ' ');
        for (j, c) in args.char_indices() {
            let arrow = prev == '-';
            prev = c;
            match c {
                '<' | '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                '>' if arrow => {}
                '>' if depth == 0 => {
                    end = Some(j);
                    break;
                }
                '>' => depth -= 1,
                ',' if depth == 0 => last_comma = Some(j),
                _ => {}
            }
        }
        if let (Some(end), Some(comma)) = (end, last_comma)
            && args[comma + 1..end].trim() == "String"
        {
            found.push(format!("Result<{}>", &args[..end]));
        }
        rest = args;
    }
    found
}

#[test]
fn string_errors_are_found_through_nested_generics() {
    assert_eq!(
        string_errors("fn f() -> Result<Vec<u8>, String>"),
        ["Result<Vec<u8>, String>"]
    );
    assert_eq!(string_errors("fn f() -> Result<(), String> {"), ["Result<(), String>"]);
    assert_eq!(
        string_errors("Result<Box<dyn Fn(u8) -> u8>, String>"),
        ["Result<Box<dyn Fn(u8) -> u8>, String>"]
    );
    assert!(string_errors("fn f() -> Result<String, Text>; Vec<Result<Vec<u8>, FrameError>>").is_empty());
}

/// Device errors are typed (`thiserror`, each with its Chinese message), not strings: no
/// `Result<_, String>` in the drivers, the simulators or the app's device service.
#[test]
fn device_errors_are_typed_not_strings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/app/devices.rs")];
    rust_files(&root.join("src/devices"), &mut files);
    assert!(files.len() >= 12, "device files not found");
    let mut bad = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for e in string_errors(&text) {
            bad.push(format!("{}: {e}", f.display()));
        }
        if text.contains("map_err(|e| e.to_string())") {
            bad.push(format!("{}: map_err(|e| e.to_string())", f.display()));
        }
    }
    assert!(bad.is_empty(), "string errors where a typed error belongs: {bad:#?}");
}

#[test]
fn every_reason_code_is_documented_in_readme() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for code in lotline::domain::reason::Reason::CODES {
        assert!(
            readme.contains(&format!("`{code}`")),
            "README does not document reason code `{code}`"
        );
    }
}

#[test]
fn every_ui_string_has_a_chinese_translation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let po = std::fs::read_to_string(root.join("lang/zh_CN/LC_MESSAGES/lotline.po")).unwrap();
    let mut slint_files = vec![];
    fn walk(d: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "slint") {
                out.push(p);
            }
        }
    }
    walk(&root.join("ui"), &mut slint_files);
    let mut missing = vec![];
    for f in slint_files {
        let text = std::fs::read_to_string(&f).unwrap();
        for part in text.split("@tr(\"").skip(1) {
            let msgid = &part[..part.find('"').unwrap()];
            if !po.contains(&format!("msgid \"{msgid}\"")) {
                missing.push(format!("{}: {msgid}", f.display()));
            }
        }
    }
    assert!(missing.is_empty(), "untranslated: {missing:#?}");
}

/// The import example in README is real: it imports cleanly.
#[test]
fn readme_import_example_imports() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme
        .find("## Import format")
        .expect("README has an Import format section")..];
    let start = section.find("```json\n").unwrap() + "```json\n".len();
    let json = &section[start..start + section[start..].find("```").unwrap()];
    let mut store = lotline::store::Store::in_memory().unwrap();
    let sum = lotline::store::import::import_json(&mut store, json).unwrap_or_else(|e| panic!("README example: {e}"));
    assert_eq!(
        (sum.items, sum.lots, sum.stock, sum.customers, sum.tasks, sum.operators),
        (1, 1, 1, 1, 2, 2)
    );
    // The error example quotes a real message.
    let bad = json.replace("06901234500110", "0950110153001");
    let err = lotline::store::import::import_json(&mut lotline::store::Store::in_memory().unwrap(), &bad)
        .unwrap_err()
        .to_string();
    let quoted = "items[0].gtins[0] (P001): '0950110153001' has a wrong check digit (expected 7)";
    assert!(err.contains(quoted) && readme.contains(quoted), "{err}");
}

/// README's two quick-start commands are the scripts, and CI runs the test one: what a new user
/// types is what CI proves.
#[test]
fn readme_commands_are_the_scripts_ci_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let quick = &readme[readme.find("## Quick start").expect("README has a quick start")..];
    let blocks: Vec<&str> = quick
        .split("```sh\n")
        .skip(1)
        .take(2)
        .map(|b| b.split("```").next().unwrap().trim())
        .collect();
    assert_eq!(
        blocks,
        ["scripts/run.sh", "scripts/test.sh"],
        "README's quick start commands"
    );
    // .ci/run takes the same steps as scripts/test.sh (which passes its arguments on to cargo).
    let steps = |file: &str| -> Vec<String> {
        std::fs::read_to_string(root.join(file))
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.replace(r#" "$@""#, ""))
            .collect()
    };
    let ci = steps(".ci/run");
    assert_eq!(
        ci,
        steps("scripts/test.sh"),
        ".ci/run must take README's test command's steps"
    );
    assert!(
        ci.iter().any(|l| l == "cargo test --locked --workspace"),
        ".ci/run must run the tests: {ci:?}"
    );
    assert!(
        ci.iter()
            .any(|l| l.ends_with("scripts/package.sh --profile dev --check")),
        ".ci/run must build and check the packages: {ci:?}"
    );
    for s in ["scripts/run.sh", "scripts/test.sh", "scripts/deps.sh"] {
        let meta = std::fs::metadata(root.join(s)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert!(meta.permissions().mode() & 0o111 != 0, "{s} must be executable");
    }
}

/// deps.sh installs only what is missing: it asks dpkg, and a package dpkg does not know is
/// reported missing while an installed one is not.
#[test]
fn deps_script_lists_only_missing_packages() {
    if std::process::Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no dpkg-query here: skipped");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(". scripts/deps.sh && missing_packages lotline-no-such-package dpkg && lotline_packages --test")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "lotline-no-such-package");
    assert!(
        !lines.contains(&"dpkg"),
        "dpkg is installed, so it is not missing: {lines:?}"
    );
    assert!(lines.contains(&"build-essential"), "{lines:?}");
}

/// The handheld ships no server and no PostgreSQL driver, and the hub no UI: their dependency
/// trees (normal dependencies, as built for the field) are checked by name.
#[test]
fn the_handheld_and_the_hub_keep_to_their_own_dependencies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tree = |args: &[&str]| -> Vec<String> {
        let out = std::process::Command::new(env!("CARGO"))
            .current_dir(root)
            .args([
                "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}",
            ])
            .args(args)
            .output()
            .expect("cargo tree runs");
        assert!(
            out.status.success(),
            "cargo tree {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    };
    let has = |deps: &[String], name: &str| deps.iter().any(|d| d == name);
    // The field build: the kms backend, no embedded hub.
    let handheld = tree(&["-p", "lotline", "--no-default-features", "--features", "kms"]);
    assert!(has(&handheld, "slint") && has(&handheld, "rusqlite"), "{handheld:?}");
    for banned in [
        "axum",
        "lotline-hub",
        "postgres",
        "tokio-postgres",
        "sqlx",
        "hyper-server",
    ] {
        assert!(!has(&handheld, banned), "the handheld's tree contains {banned}");
    }
    // The desktop default embeds a hub on SQLite for the demo: still no PostgreSQL driver.
    let desktop = tree(&["-p", "lotline"]);
    for banned in ["postgres", "tokio-postgres", "sqlx"] {
        assert!(!has(&desktop, banned), "the desktop build's tree contains {banned}");
    }
    let hub = tree(&["-p", "lotline-hub"]);
    assert!(has(&hub, "axum") && has(&hub, "postgres"), "{hub:?}");
    for banned in ["slint", "i-slint-core", "winit", "rodio", "lotline"] {
        assert!(!has(&hub, banned), "the hub's tree contains {banned}");
    }
}

/// The app logs through `tracing` (the journal under systemd): no `eprintln!` in its code. A
/// command's report to the terminal goes through `cli::tell`. Test modules may print.
#[test]
fn the_app_logs_through_tracing() {
    let mut files = vec![];
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 20, "src files not found");
    let mut found = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Only the code before the file's test module.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            if line.contains("eprintln!") || line.contains("eprint!(") {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "use tracing (or cli::tell for a command's report):\n{}",
        found.join("\n")
    );
}
