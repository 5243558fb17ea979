//! Files given as the cache: only a database lotline created and filled is one. Every other
//! file (empty, foreign, unfinished, damaged, with an impossible version) gets a clear answer
//! that names it, and is left byte for byte as it was.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lotline::store::{APPLICATION_ID, MIGRATIONS, Store, StoreError};
use proptest::prelude::*;

use crate::{demo_db, fonts_hidden_conf, lotline, lotline_in, stderr, stdout};

const TODAY: &str = "2026-11-21";

/// The bytes of every file in `dir`, by name: what "unchanged" is checked against.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            let bytes = if meta.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                vec![]
            };
            (
                e.file_name().to_string_lossy().into_owned(),
                bytes,
                meta.modified().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn names(snap: &[(String, Vec<u8>, std::time::SystemTime)]) -> Vec<&str> {
    snap.iter().map(|(n, _, _)| n.as_str()).collect()
}

/// Runs lotline with extra environment variables.
fn lotline_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lotline"));
    cmd.env("LOTLINE_CONFIG", "");
    cmd.args(args)
        .env("FONTCONFIG_FILE", fonts_hidden_conf())
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run lotline")
}

/// A failed command: exit 1, an English line that names `path` and a Chinese line.
fn assert_refused(o: &Output, path: &Path, says: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stdout: {}\nstderr: {err}", stdout(o));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "one English and one Chinese sentence: {err}");
    assert!(lines[0].contains(path.to_str().unwrap()), "names the file: {err}");
    assert!(lines[0].contains(says), "says {says:?}: {err}");
    assert!(
        lines[1].contains(path.to_str().unwrap()) && !lines[1].is_ascii(),
        "Chinese line: {err}"
    );
    err
}

/// The commands a user may point at a bad file; none may change it.
fn every_command_refuses(dir: &Path, path: &Path, says: &str) {
    let json = dir.join("in.json");
    std::fs::write(&json, "{}").unwrap();
    let before = snapshot(dir);
    let p = path.to_str().unwrap();
    let o = lotline(&[
        "check",
        "--db",
        p,
        "--gate",
        "pick",
        "--today",
        TODAY,
        "(01)09506000134352(10)X1",
    ]);
    assert_refused(&o, path, says);
    let o = lotline(&["demo-data", "--db", p, "--lots", "5", "--today", TODAY]);
    assert_refused(&o, path, says);
    let o = lotline(&["import", "--db", p, json.to_str().unwrap()]);
    assert_refused(&o, path, says);
    assert_eq!(snapshot(dir), before, "the file and its folder are unchanged");
    match Store::open(path) {
        Err(e) => assert!(e.to_string().contains(p), "{e}"),
        Ok(_) => panic!("{p} opened as a cache"),
    }
    assert!(Store::open_read_only(path).is_err());
    assert_eq!(snapshot(dir), before, "the file and its folder are unchanged");
}

/// A small finished cache made by this build.
fn small_cache(dir: &Path) -> PathBuf {
    demo_db(dir, 5, TODAY)
}

#[test]
fn an_empty_file_is_not_a_cache_for_check_and_becomes_one_only_by_creation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("EMPTY.db");
    std::fs::File::create(&path).unwrap();
    let before = snapshot(dir.path());
    let o = lotline(&[
        "check",
        "--db",
        path.to_str().unwrap(),
        "--gate",
        "pick",
        "--today",
        TODAY,
        "(01)09506000134352",
    ]);
    let err = assert_refused(&o, &path, "empty file");
    assert!(err.contains("lotline demo-data --db"), "{err}");
    assert!(stdout(&o).is_empty(), "no verdict from an empty file");
    assert_eq!(snapshot(dir.path()), before);
    assert!(matches!(Store::open(&path), Err(StoreError::Empty { .. })));
    assert!(matches!(Store::open_read_only(&path), Err(StoreError::Empty { .. })));
    assert_eq!(snapshot(dir.path()), before);

    // Creating a cache is explicit, and an empty file holds nothing to lose.
    let o = lotline(&[
        "demo-data",
        "--db",
        path.to_str().unwrap(),
        "--lots",
        "5",
        "--today",
        TODAY,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = lotline(&[
        "check",
        "--db",
        path.to_str().unwrap(),
        "--gate",
        "pick",
        "--today",
        TODAY,
        "(01)09506000134352",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn another_applications_sqlite_file_is_refused_and_unchanged() {
    for (name, app_id, wal) in [("notes.db", 0x1234_5678, false), ("plain.db", 0, true)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let c = rusqlite::Connection::open(&path).unwrap();
        if wal {
            let _: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
        }
        c.pragma_update(None, "application_id", app_id).unwrap();
        c.execute_batch("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('x');")
            .unwrap();
        drop(c);
        every_command_refuses(dir.path(), &path, "not a lotline cache");
        let objects: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(objects, 1, "{name} gained no lotline objects");
    }
    // An SQLite database with no tables at all.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bare.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); DROP TABLE t;")
        .unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 0);
    every_command_refuses(dir.path(), &path, "not a lotline cache");
}

#[test]
fn an_unfinished_creation_is_refused_with_what_to_do() {
    // A creation killed before its first load committed: this build's schema, no completion mark.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db");
    drop(Store::create_new(&path).unwrap());
    every_command_refuses(dir.path(), &path, "did not finish");
    let msg = Store::open(&path).err().unwrap().to_string();
    assert!(msg.contains("delete it and run the command again"), "{msg}");

    // The schema-only file a killed `demo-data` of an earlier build (schema 1) leaves behind.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed-v1.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(MIGRATIONS[0]).unwrap();
    c.pragma_update(None, "user_version", 1).unwrap();
    drop(c);
    every_command_refuses(dir.path(), &path, "did not finish");

    // Deleting it and running the command again works.
    std::fs::remove_file(&path).unwrap();
    let o = lotline(&[
        "demo-data",
        "--db",
        path.to_str().unwrap(),
        "--lots",
        "5",
        "--today",
        TODAY,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    drop(Store::open(&path).unwrap());
}

#[test]
fn a_failed_import_onto_a_new_path_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let json = dir.path().join("bad.json");
    std::fs::write(&json, r#"{"items": [{"id": "X"}]}"#).unwrap();
    let o = lotline(&["import", "--db", path.to_str().unwrap(), json.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(names(&snapshot(dir.path())), ["bad.json"], "no half-made cache is left");
    std::fs::write(&json, r#"{"categories": [{"id": "fresh", "near_expiry_days": [7]}]}"#).unwrap();
    let o = lotline(&["import", "--db", path.to_str().unwrap(), json.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = Store::open(&path).unwrap();
    assert_eq!(s.count("categories").unwrap(), 1);
}

/// Builds a cache as the schema-1 code made it: no application id, no completion mark.
fn legacy_v1_cache(path: &Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    let _: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    c.execute_batch(MIGRATIONS[0]).unwrap();
    c.pragma_update(None, "user_version", 1).unwrap();
    c.execute_batch(
        "INSERT INTO categories VALUES ('fresh', '7,3');
         INSERT INTO items(id, name_en, name_zh, category, shelf_life_days) VALUES ('MILK', 'Milk', '牛奶', 'fresh', 30);
         INSERT INTO barcodes VALUES ('09501101530003', 'gtin', 'MILK');",
    )
    .unwrap();
}

#[test]
fn a_cache_made_by_schema_version_1_still_opens_and_is_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    legacy_v1_cache(&path);
    let before = snapshot(dir.path());
    // Reading it changes nothing.
    let o = lotline(&[
        "check",
        "--db",
        path.to_str().unwrap(),
        "--gate",
        "pick",
        "--today",
        TODAY,
        "(01)09501101530003(10)M1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\"id\":\"MILK\""),
        "the item is found: {}",
        stdout(&o)
    );
    assert_eq!(snapshot(dir.path()), before);

    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    assert_eq!(s.item_by_id("MILK").unwrap().unwrap().name_zh, "牛奶");
    drop(s);
    let app: i32 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    assert_eq!(&APPLICATION_ID.to_be_bytes(), b"LotL");
    // Stamped, it is an ordinary cache now.
    drop(Store::open(&path).unwrap());
    drop(Store::open_read_only(&path).unwrap());
}

#[test]
fn impossible_schema_versions_get_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let cache = small_cache(dir.path());
    for (name, version) in [("zero.db", 0i64), ("negative.db", -3)] {
        let path = dir.path().join(name);
        std::fs::copy(&cache, &path).unwrap();
        rusqlite::Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", version)
            .unwrap();
        let before = snapshot(dir.path());
        let err = Store::open(&path).err().unwrap();
        assert!(
            matches!(err, StoreError::BadVersion { found, .. } if found == version),
            "{err:?}"
        );
        let o = lotline(&[
            "check",
            "--db",
            path.to_str().unwrap(),
            "--gate",
            "pick",
            "--today",
            TODAY,
            "x",
        ]);
        let msg = assert_refused(&o, &path, &format!("schema version {version}"));
        assert!(!msg.contains("CREATE"), "no SQL: {msg}");
        assert_eq!(snapshot(dir.path()), before);
    }
    // A schema-1 cache whose user_version was reset to 0: lotline's tables, but no version.
    let path = dir.path().join("v1-zero.db");
    legacy_v1_cache(&path);
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 0)
        .unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::BadVersion { found: 0, .. }), "{err:?}");
    assert!(!err.to_string().contains('\n'), "{err}");
}

#[test]
fn check_reads_a_cache_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let cache = small_cache(dir.path());
    let before = snapshot(dir.path());
    assert_eq!(names(&before), ["demo.db"], "demo-data leaves no -wal / -shm behind");
    let o = lotline(&[
        "check",
        "--db",
        cache.to_str().unwrap(),
        "--today",
        TODAY,
        "--gate",
        "pick",
        "x",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(snapshot(dir.path()), before, "no -wal / -shm, same bytes, same mtime");

    // While another process has it open (its -wal exists), check reads through the WAL.
    let other = rusqlite::Connection::open(&cache).unwrap();
    other
        .execute("UPDATE settings SET value = 'someone' WHERE key = 'operator'", [])
        .unwrap();
    let o = lotline(&[
        "check",
        "--db",
        cache.to_str().unwrap(),
        "--today",
        TODAY,
        "--gate",
        "pick",
        "x",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    drop(other);
}

#[test]
fn a_write_through_a_read_only_opening_says_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let cache = small_cache(dir.path());
    let s = Store::open_read_only(&cache).unwrap();
    assert!(s.item_by_code("SKU-F001").unwrap().is_some(), "reads work");
    let err = s.set_setting("operator", "x").err().unwrap();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(cache.to_str().unwrap()) && msg.contains("read-only"),
        "{msg}"
    );
}

#[test]
fn a_second_writer_is_told_the_database_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let cache = small_cache(dir.path());
    let json = dir.path().join("stock.json");
    std::fs::write(&json, r#"{"categories": [{"id": "dry", "near_expiry_days": [30]}]}"#).unwrap();
    let holder = rusqlite::Connection::open(&cache).unwrap();
    holder
        .execute_batch("BEGIN IMMEDIATE; UPDATE settings SET value = 'holder' WHERE key = 'operator';")
        .unwrap();
    let env = [("LOTLINE_BUSY_TIMEOUT_MS", "200")];
    for args in [
        vec!["import", "--db", cache.to_str().unwrap(), json.to_str().unwrap()],
        vec![
            "demo-data",
            "--db",
            cache.to_str().unwrap(),
            "--lots",
            "5",
            "--today",
            TODAY,
        ],
    ] {
        let o = lotline_env(&args, &env);
        let err = assert_refused(&o, &cache, "is busy: another lotline process is writing to it");
        assert!(
            !err.contains("stock.json"),
            "names the database, not the JSON file: {err}"
        );
    }
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    let o = lotline_env(
        &["import", "--db", cache.to_str().unwrap(), json.to_str().unwrap()],
        &env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Overwrites every page but the first `keep` with bytes no b-tree page has.
fn damage_pages(path: &Path, keep: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    for b in bytes[keep * page..].iter_mut() {
        *b = 0xEE;
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn damage_found_mid_run_names_the_file_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let cache = small_cache(dir.path());
    let s = Store::open_read_only(&cache).unwrap();
    damage_pages(&cache, 1);
    let err = s.count("lots").expect_err("the damaged pages are read now");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(cache.to_str().unwrap()) && msg.contains("restore it from a backup"),
        "{msg}"
    );
    assert!(!msg.contains("Error code"), "{msg}");
    drop(s);
    let o = lotline(&[
        "check",
        "--db",
        cache.to_str().unwrap(),
        "--gate",
        "pick",
        "--today",
        TODAY,
        "(01)09506000134352",
    ]);
    assert_refused(&o, &cache, "damaged");
}

/// Overwrites the middle of the root page of the index `lots_fefo`: a b-tree page that opening
/// a cache does not read, and `PRAGMA quick_check` does.
fn damage_fefo_index(path: &Path) {
    let (root, page): (i64, i64) = {
        let raw = rusqlite::Connection::open(path).unwrap();
        let root = raw
            .query_row("SELECT rootpage FROM sqlite_schema WHERE name = 'lots_fefo'", [], |r| {
                r.get(0)
            })
            .unwrap();
        (root, raw.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap())
    };
    assert!(root > 1, "lots_fefo has its own page");
    let mut bytes = std::fs::read(path).unwrap();
    let at = ((root - 1) * page) as usize;
    bytes[at..at + 64].fill(0xEE);
    std::fs::write(path, bytes).unwrap();
}

fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn a_cache_quick_check_finds_damaged_is_refused_by_run_script_and_opened_read_only_by_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let cache = small_cache(dir.path());
    damage_fefo_index(&cache);
    // Opening does not see the damage.
    Store::open_read_only(&cache).unwrap().count("items").unwrap();
    let hash = sha256(&cache);
    let before = snapshot(dir.path());
    let p = cache.to_str().unwrap();

    // run-script refuses it before any op, in English and in Chinese, and writes nothing.
    let o = lotline_in(
        &["run-script", "--db", p, "--script", "-"],
        Some("{\"op\":\"logout\"}\n"),
    );
    let err = assert_refused(&o, &cache, "is damaged (PRAGMA quick_check found: ");
    assert!(
        err.contains("restore it from a backup")
            && err.contains("lotline demo-data --db")
            && err.contains("lotline import --db"),
        "says what to do: {err}"
    );
    assert!(
        err.contains("PRAGMA quick_check 发现") && err.contains("请从备份恢复") && err.contains("重新创建"),
        "says it in Chinese: {err}"
    );
    assert_eq!(stdout(&o), "", "no op ran");
    assert_eq!(sha256(&cache), hash, "the cache is unchanged");
    assert_eq!(snapshot(dir.path()), before, "no file was written beside it");

    // The app opens it read-only (nothing is recorded) and says why, in both languages.
    let out = tempfile::tempdir().unwrap();
    let png = out.path().join("home.png");
    let o = lotline(&[
        "screenshot",
        "--db",
        p,
        "--screen",
        "home",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "ERROR {p} is not a lotline database or is damaged (PRAGMA quick_check found: "
        )) && err.contains("opening it read-only: nothing is recorded"),
        "{err}"
    );
    assert!(err.contains("以只读方式打开：不会记录任何内容"), "{err}");
    assert_eq!(sha256(&cache), hash, "the cache is unchanged");
    assert_eq!(snapshot(dir.path()), before, "no file was written beside it");
}

#[test]
fn demo_data_reports_the_stock_rows_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    for (lots, seed) in [("2000", "1"), ("700", "3")] {
        let path = dir.path().join(format!("demo-{lots}.db"));
        let o = lotline(&[
            "demo-data",
            "--db",
            path.to_str().unwrap(),
            "--lots",
            lots,
            "--seed",
            seed,
            "--today",
            TODAY,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        let reported: i64 = err
            .split(" stock rows")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no stock row count in {err}"));
        let stored: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM stock", [], |r| r.get(0))
            .unwrap();
        assert_eq!(reported, stored, "{err}");
    }
}

/// A small finished cache, built once, as bytes.
fn small_cache_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut s = Store::create_new(&path).unwrap();
        lotline::store::demo::generate(&mut s, 3, 1, chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()).unwrap();
        drop(s);
        std::fs::read(&path).unwrap()
    })
}

/// Opens `bytes` written as a database file: a clear error naming the file leaves it unchanged;
/// a file that still opens answers queries or errors, but never panics.
fn open_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.db");
    std::fs::write(&path, bytes).unwrap();
    let before = snapshot(dir.path());
    for read_only in [true, false] {
        let opened = if read_only {
            Store::open_read_only(&path)
        } else {
            Store::open(&path)
        };
        match opened {
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains(path.to_str().unwrap()), "names the file: {}", msg);
                prop_assert!(!msg.contains('\n'), "one sentence: {}", msg);
                prop_assert!(snapshot(dir.path()) == before, "a refused file is unchanged: {}", msg);
            }
            Ok(s) => {
                for t in ["items", "lots", "stock", "settings_absent"] {
                    let _ = s.count(t);
                }
                let _ = s.item_by_code("SKU-F001");
                let _ = s.lots_of_item("F001", 10);
                if read_only {
                    drop(s);
                    prop_assert!(snapshot(dir.path()) == before, "a read-only opening writes nothing");
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    FlipHeader(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0usize..100_000).prop_map(Mutation::Truncate),
        (0usize..1_000_000, 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (0usize..100, 1u8..=255).prop_map(|(i, x)| Mutation::FlipHeader(i, x)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused_and_left_unchanged(bytes in proptest::collection::vec(any::<u8>(), 0..6000)) {
        open_bytes(&bytes)?;
    }

    #[test]
    fn a_mutated_cache_is_refused_or_still_reads_and_never_panics(muts in proptest::collection::vec(mutation(), 1..4)) {
        let mut bytes = small_cache_bytes().to_vec();
        for m in muts {
            match m {
                Mutation::Truncate(n) => bytes.truncate(n % (bytes.len() + 1)),
                Mutation::Flip(i, x) if !bytes.is_empty() => { let n = bytes.len(); bytes[i % n] ^= x }
                Mutation::FlipHeader(i, x) if bytes.len() > i => bytes[i] ^= x,
                _ => {}
            }
        }
        open_bytes(&bytes)?;
    }
}

#[test]
fn check_refuses_damaged_files_and_leaves_them_unchanged() {
    let good = small_cache_bytes();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "random.db",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("truncated.db", good[..50].to_vec()),
        ("half.db", good[..good.len() / 2].to_vec()),
    ];
    let mut header = good.to_vec();
    header[68] ^= 0x55; // the application id
    cases.push(("other-id.db", header));
    for (name, bytes) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let before = snapshot(dir.path());
        let o = lotline(&[
            "check",
            "--db",
            path.to_str().unwrap(),
            "--gate",
            "pick",
            "--today",
            TODAY,
            "(01)09506000134352",
        ]);
        if o.status.success() {
            // Half a cache may still hold the pages a check needs; it must then answer properly.
            assert!(stdout(&o).starts_with('{'), "{name}: {}", stdout(&o));
        } else {
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{name}: {err}");
            assert!(
                err.lines().next().unwrap().contains(path.to_str().unwrap()),
                "{name}: {err}"
            );
        }
        assert_eq!(snapshot(dir.path()), before, "{name}");
    }
}

/// Sets or clears the immutable attribute (`chattr +i`), which makes a file or folder read-only
/// even for root. False where the file system or the user cannot.
fn set_immutable(path: &Path, on: bool) -> bool {
    Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Clears the immutable attribute again, so the temporary folder can be removed.
struct Thaw(Vec<PathBuf>);

impl Drop for Thaw {
    fn drop(&mut self) {
        for p in &self.0 {
            set_immutable(p, false);
        }
    }
}

#[test]
fn a_read_only_cache_is_read_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let cache = demo_db(&ro, 5, TODAY);
    let _thaw = Thaw(vec![cache.clone(), ro.clone()]);
    if !(set_immutable(&cache, true) && set_immutable(&ro, true)) {
        eprintln!("skipped: chattr +i is not available on this file system or for this user");
        return;
    }
    assert!(
        std::fs::OpenOptions::new().append(true).open(&cache).is_err(),
        "the file is really read-only"
    );
    let before = snapshot(&ro);
    let p = cache.to_str().unwrap();

    // Reading works: check opens read-only and needs no -wal / -shm.
    let o = lotline(&["check", "--db", p, "--gate", "pick", "--today", TODAY, "SKU-F001"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"id\":\"F001\""), "{}", stdout(&o));

    // Writing says the file is read-only.
    let err = Store::open(&cache).err().unwrap();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    let json = dir.path().join("in.json");
    std::fs::write(&json, "{}").unwrap();
    let o = lotline(&["import", "--db", p, json.to_str().unwrap()]);
    assert_refused(&o, &cache, "is read-only");

    // The UI opens it read-only and says scans are not saved.
    let png = dir.path().join("home.png");
    let o = lotline(&[
        "screenshot",
        "--db",
        p,
        "--screen",
        "home",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("opening it read-only"), "{}", stderr(&o));

    assert_eq!(snapshot(&ro), before);
}
