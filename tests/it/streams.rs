//! Bad files and streams get a clear answer and change nothing: the profiles folder (FIFOs,
//! links to devices, huge files, random bytes), stdin lines (huge, empty), `listen` on a port
//! that cannot be opened, and malformed percent-escapes in Digital Link URIs.

use std::path::Path;

use lotline::devices::profile::{check_dir, load_dir, parse};
use lotline::domain::text::Bilingual;
use proptest::prelude::*;

use crate::{demo_db, lotline, lotline_in, stderr, stdout};

const SHIPPED_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hw-profiles");

fn shipped(file: &str) -> String {
    std::fs::read_to_string(Path::new(SHIPPED_DIR).join(file)).unwrap()
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o644) },
        0,
        "mkfifo {}",
        path.display()
    );
}

/// Every file in `dir` with its bytes (FIFOs and links as what they are, not read).
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("link to {}", std::fs::read_link(e.path()).unwrap().display())
            } else if meta.file_type().is_file() {
                format!("{:?}", std::fs::read(e.path()).unwrap())
            } else {
                format!("{:?}", meta.file_type())
            };
            (e.file_name().to_string_lossy().into_owned(), what)
        })
        .collect();
    v.sort();
    v
}

/// A profiles folder with one of each bad entry and two good ones (one through a link).
fn bad_folder(dir: &Path) {
    mkfifo(&dir.join("fifo.toml"));
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.toml")).unwrap();
    std::os::unix::fs::symlink(dir.join("missing-target.toml"), dir.join("dangling.toml")).unwrap();
    std::fs::write(dir.join("big.toml"), vec![b'#'; 2 * 1024 * 1024]).unwrap();
    std::fs::write(dir.join("latin1.toml"), b"name = \"caf\xe9\"\n").unwrap();
    std::fs::write(dir.join("impinj-r2000.toml"), shipped("impinj-r2000.toml")).unwrap();
    let real = dir.join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("zebra-ssi.toml"), shipped("zebra-ssi.toml")).unwrap();
    std::os::unix::fs::symlink(real.join("zebra-ssi.toml"), dir.join("zebra-ssi.toml")).unwrap();
}

#[test]
fn a_fifo_a_device_link_and_a_huge_file_in_the_profiles_folder_are_named_not_read() {
    let dir = tempfile::tempdir().unwrap();
    bad_folder(dir.path());
    let before = snapshot(dir.path());

    let (profiles, errors) = load_dir(dir.path());
    let mut names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["impinj-r2000", "zebra-ssi"], "a link to a regular file is fine");
    let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let expect = [
        ("fifo.toml", "not a regular file (a FIFO)"),
        ("zero.toml", "not a regular file (a character device)"),
        ("dangling.toml", "cannot read the file"),
        ("big.toml", "larger than 1 MiB"),
        ("latin1.toml", "not UTF-8"),
    ];
    assert_eq!(errors.len(), expect.len(), "{shown:#?}");
    for (file, why) in expect {
        let e = errors
            .iter()
            .find(|e| e.file.ends_with(file))
            .unwrap_or_else(|| panic!("{file} is not reported: {shown:#?}"));
        assert_eq!(e.check, "read");
        assert!(e.to_string().contains(why), "{file}: {e}");
        assert!(!e.message_zh().is_empty() && e.message_zh().contains(file), "{file}");
    }
    assert_eq!(check_dir(dir.path()), errors);

    // The command line: `profiles check DIR` reports each by name and exits 1.
    let o = lotline(&["profiles", "check", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    for (file, why) in expect {
        assert!(
            err.lines().any(|l| l.contains(file) && l.contains(why)),
            "{file}: {why}\n{err}"
        );
    }
    assert!(err.contains("不是普通文件（是命名管道 FIFO）"), "{err}");
    assert!(err.contains("5 problem(s) in"), "{err}");
    assert!(err.contains("中有 5 个问题"), "{err}");

    // `profiles list` and `listen` load the same folder as overrides: they finish, report the
    // bad entries and use the good ones.
    let o = lotline(&["--profiles-dir", dir.path().to_str().unwrap(), "profiles", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("zebra-ssi") && l.contains("zebra-ssi.toml"))
    );
    assert!(
        stderr(&o).contains("fifo.toml") && stderr(&o).contains("zero.toml"),
        "{}",
        stderr(&o)
    );
    let o = lotline(&["--profiles-dir", dir.path().to_str().unwrap(), "profiles", "check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("big.toml"), "{}", stderr(&o));
    let o = lotline(&[
        "--profiles-dir",
        dir.path().to_str().unwrap(),
        "listen",
        "--profile",
        "impinj-r2000",
        "--port",
        "/dev/does-not-exist",
        "--duration",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("fifo.toml"), "{}", stderr(&o));

    assert_eq!(snapshot(dir.path()), before, "the folder is unchanged");
}

#[test]
fn every_problem_of_a_profile_is_reported_not_only_the_first() {
    let good = shipped("impinj-r2000.toml");
    // Two unknown fields, a value of the wrong type and two values out of range.
    let text = good
        .replace("power_dbm = 26", "power_dbm = 40\npowr = 1")
        .replace("baud = 115200", "baud = 115200\nspeed = \"fast\"")
        .replace("q = 4", "q = \"four\"")
        .replace("session = 2", "session = 7");
    assert_ne!(text, good);
    let errors = parse("impinj-r2000.toml", &text).unwrap_err();
    let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.check, e.field.as_str())).collect();
    for want in [
        ("parse", "rfid.powr"),
        ("parse", "transport.serial.speed"),
        ("parse", "rfid.q"),
        ("power-range", "rfid.power_dbm"),
        ("session-range", "rfid.session"),
    ] {
        assert!(got.contains(&want), "{want:?} missing from {got:?}");
    }
    for e in &errors {
        assert!(e.line.is_some(), "{e}");
        assert!(!e.message_zh().is_empty());
    }
}

/// Random bytes, or a shipped profile with random edits, as one file in a profiles folder.
fn profile_bytes() -> impl Strategy<Value = (String, Vec<u8>)> {
    let files: Vec<String> = std::fs::read_dir(SHIPPED_DIR)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".toml"))
        .collect();
    let random = proptest::collection::vec(any::<u8>(), 0..2048).prop_map(|b| ("random.toml".to_owned(), b));
    // An edit: where (a fraction of the length), what (0 delete, 1 insert, 2 overwrite, 3 insert
    // a TOML-ish snippet), and the bytes.
    let edit = (0.0f64..1.0, 0u8..4, proptest::collection::vec(any::<u8>(), 1..12));
    let snippets: &[&[u8]] = &[
        b"\n[rfid]\n",
        b" = ",
        b"\"",
        b"\n[[keys]]\n",
        b"\nschema_version = 2\n",
        b"'''",
        b"\n[transport.hidraw]\n",
        b"{ a = 1 }",
        b"\nkind = \"terminal\"\n",
        b"0x",
        b"[",
        b"]",
        b"\n",
        b"\xff",
    ];
    let mutated =
        (proptest::sample::select(files), proptest::collection::vec(edit, 1..6)).prop_map(move |(file, edits)| {
            let mut b = shipped(&file).into_bytes();
            for (at, op, bytes) in edits {
                let i = ((b.len() as f64) * at) as usize;
                let i = i.min(b.len());
                match op {
                    0 => {
                        let end = (i + bytes.len()).min(b.len());
                        b.drain(i..end);
                    }
                    1 => {
                        b.splice(i..i, bytes);
                    }
                    2 => {
                        for (j, x) in bytes.into_iter().enumerate() {
                            if let Some(y) = b.get_mut(i + j) {
                                *y = x;
                            }
                        }
                    }
                    _ => {
                        let s = snippets[usize::from(bytes[0]) % snippets.len()];
                        b.splice(i..i, s.iter().copied());
                    }
                }
            }
            (file, b)
        });
    prop_oneof![1 => random, 3 => mutated]
}

/// Loads the folder through every entry point and checks the answers.
fn load_and_check(dir: &Path, file: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = dir.join(file);
    let (profiles, errors) = load_dir(dir);
    prop_assert_eq!(
        profiles.len() + usize::from(!errors.is_empty()),
        1,
        "one answer: {:?}",
        errors
    );
    for e in &errors {
        let en = e.to_string();
        prop_assert!(e.file == path.display().to_string(), "{}", en);
        prop_assert!(
            en.starts_with(&e.file) && en.ends_with(&format!("[{}]", e.check)),
            "{}",
            en
        );
        prop_assert!(!e.problem.is_empty(), "{}", en);
        prop_assert!(e.message_zh().starts_with(&e.file), "{}", e.message_zh());
    }
    prop_assert_eq!(&check_dir(dir), &errors);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let direct = parse(&path.display().to_string(), text);
        prop_assert_eq!(direct.as_ref().err(), (!errors.is_empty()).then_some(&errors));
    }
    prop_assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file is unchanged");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn a_random_profile_file_gets_errors_naming_it_and_is_left_unchanged((file, bytes) in profile_bytes()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(&file), &bytes).unwrap();
        load_and_check(dir.path(), &file, &bytes)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn profiles_check_answers_a_random_profile_file((file, bytes) in profile_bytes()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(&file);
        std::fs::write(&path, &bytes).unwrap();
        let (_, errors) = load_dir(dir.path());
        let o = lotline(&["profiles", "check", dir.path().to_str().unwrap()]);
        let err = stderr(&o);
        prop_assert!(!err.contains("panicked"), "{}", err);
        if errors.is_empty() {
            prop_assert!(o.status.success(), "{}", err);
        } else {
            prop_assert_eq!(o.status.code(), Some(1), "{}", err);
            prop_assert!(err.contains(&path.display().to_string()), "{}", err);
            let n = errors.len();
            prop_assert!(err.contains(&format!("{n} problem(s)")), "{}", err);
        }
        prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// stdin lines
// ---------------------------------------------------------------------------------------------

fn json_lines(o: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:.200}")))
        .collect()
}

const GOOD_SCAN: &str = "(01)09501101530003(17)261130(10)LOT7";

#[test]
fn a_huge_line_on_stdin_is_refused_and_the_next_line_is_decoded() {
    // 50 MB without a newline (a stream of zeros), then a real scan.
    let mut input = "\0".repeat(50 * 1024 * 1024);
    input.push('\n');
    input.push_str(GOOD_SCAN);
    input.push('\n');
    let o = lotline_in(&["decode", "--today", "2026-11-21"], Some(&input));
    drop(input);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stdout.len() < 4096,
        "the long line is not echoed: {} bytes",
        o.stdout.len()
    );
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 2, "{}", stdout(&o));
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["error"]["code"], "line_too_long");
    assert_eq!(lines[0]["error"]["bytes"], 50 * 1024 * 1024);
    assert!(lines[0]["error"]["message_zh"].as_str().unwrap().contains("字节"));
    assert!(lines[0]["input"].as_str().unwrap().ends_with('…'));
    assert_eq!(lines[1]["ok"], true, "{}", lines[1]);
    assert_eq!(lines[1]["fields"]["lot"], "LOT7", "{}", lines[1]);
}

#[test]
fn every_stdin_line_gets_one_output_line() {
    let long = "7".repeat(16 * 1024 + 1);
    let just_fits = format!("{}\r", "8".repeat(16 * 1024));
    let input = format!("{GOOD_SCAN}\n   \n\n{long}\n\t\r\n{just_fits}\n{GOOD_SCAN}");
    let o = lotline_in(&["decode", "--today", "2026-11-21"], Some(&input));
    assert!(o.status.success(), "{}", stderr(&o));
    let codes: Vec<String> = json_lines(&o)
        .iter()
        .map(|v| {
            if v["ok"] == true {
                "ok".to_owned()
            } else {
                v["error"]["code"].as_str().unwrap().to_owned()
            }
        })
        .collect();
    // A line of exactly the limit (before its `\r\n`) is read as a scan (and found wanting).
    assert_eq!(codes.len(), 7, "{codes:?}");
    assert_eq!(
        codes[..5],
        ["ok", "empty_line", "empty_line", "line_too_long", "empty_line"]
    );
    assert_ne!(codes[5], "line_too_long");
    assert_eq!(codes[6], "ok");

    let o = lotline_in(&["epc"], Some(&format!("\n{long}\n3074257BF7194E4000001A85\n")));
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["error"]["code"], "empty_line");
    assert_eq!(lines[1]["error"]["code"], "line_too_long");
    assert_eq!(lines[2]["ok"], true, "{}", lines[2]);
}

#[test]
fn check_answers_every_stdin_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), 50, "2026-11-21");
    let mut input = "9".repeat(3 * 1024 * 1024);
    input.push_str("\n \n]C1LOC-A-01\n");
    let o = lotline_in(
        &[
            "check",
            "--db",
            db.to_str().unwrap(),
            "--gate",
            "pick",
            "--today",
            "2026-11-21",
        ],
        Some(&input),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3, "{}", stdout(&o));
    assert_eq!(lines[0]["error"]["code"], "line_too_long");
    assert_eq!(lines[0]["verdict"], serde_json::Value::Null);
    assert!(lines[0]["scan"].as_str().unwrap().starts_with("999"));
    assert_eq!(lines[1]["error"]["code"], "empty_line");
    assert!(lines[2]["verdict"].is_string(), "{}", lines[2]);
}

// ---------------------------------------------------------------------------------------------
// listen
// ---------------------------------------------------------------------------------------------

#[test]
fn listen_exits_1_after_the_error_event_when_the_port_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_tty = dir.path().join("plain-file");
    std::fs::write(&not_a_tty, "x").unwrap();
    for (port, says) in [
        ("/dev/does-not-exist", "/dev/does-not-exist does not exist"),
        (not_a_tty.to_str().unwrap(), "plain-file"),
    ] {
        let o = lotline(&["listen", "--profile", "generic-cdc-scanner", "--port", port]);
        assert_eq!(o.status.code(), Some(1), "{port}: {}", stderr(&o));
        let lines = json_lines(&o);
        assert_eq!(lines.len(), 1, "{}", stdout(&o));
        assert_eq!(lines[0]["event"], "error");
        assert!(lines[0]["message"].as_str().unwrap().contains(says), "{}", lines[0]);
        let err = stderr(&o);
        assert!(
            err.contains("lotline: cannot open the device of profile 'generic-cdc-scanner'"),
            "{err}"
        );
        assert!(err.contains("无法打开"), "{err}");
    }
    // The device's own error is in the Chinese line too.
    let o = lotline(&[
        "listen",
        "--profile",
        "generic-cdc-scanner",
        "--port",
        "/dev/does-not-exist",
    ]);
    assert!(stderr(&o).contains("/dev/does-not-exist 不存在"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&not_a_tty).unwrap(), b"x");
}

// ---------------------------------------------------------------------------------------------
// Digital Link
// ---------------------------------------------------------------------------------------------

#[test]
fn a_digital_link_with_a_malformed_escape_is_an_error_at_the_percent() {
    let base = "https://id.gs1.org/01/09501101530003/10/";
    for (tail, at) in [("AB%", 2), ("AB%G1", 2), ("%4", 0), ("A%2fB%z", 5)] {
        let uri = format!("{base}{tail}");
        let o = lotline(&["decode", "--today", "2026-11-21", &uri]);
        let v = &json_lines(&o)[0];
        assert_eq!(v["ok"], false, "{uri}: {v}");
        assert_eq!(v["error"]["code"], "bad_escape", "{uri}: {v}");
        assert_eq!(v["error"]["position"], base.len() + at, "{uri}: {v}");
    }
    let o = lotline(&["decode", "--today", "2026-11-21", &format!("{base}AB%25")]);
    let v = &json_lines(&o)[0];
    assert_eq!(v["fields"]["lot"], "AB%", "{v}");
}
