//! Files in and out (`app::files`): removable media and folder listings on a fake medium, the
//! exports of the audit log, the received lines and the labels after a real receipt, and the
//! import of master data: a good file, a file with bad rows and files that are not master data
//! (both change nothing).

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use lotline::app::files::{
    self, AuditFormat, FilesError, LIST_MAX, NotMasterData, export_audit, export_labels, export_received,
    import_master_data, list_dir, roots_from_list,
};
use lotline::domain::text::Bilingual;
use lotline::store::Store;
use serde_json::Value;

use crate::scenarios::fixture_db;
use crate::{lotline, stderr, stdout};

const NOW: &str = "2026-12-01T09:00:00+08:00";

use crate::gates::RECEIPT;

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-12-01T09:05:07+08:00").unwrap()
}

/// A fixture cache with the receipt done, and a fake USB stick.
fn received(dir: &Path) -> (PathBuf, PathBuf) {
    let db = fixture_db(dir);
    let script = dir.join("receipt.jsonl");
    std::fs::write(&script, RECEIPT).unwrap();
    let o = lotline(&[
        "run-script",
        "--db",
        db.to_str().unwrap(),
        "--now",
        NOW,
        "--script",
        script.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stick = dir.join("media").join("STICK");
    std::fs::create_dir_all(&stick).unwrap();
    (db, stick)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_fake_medium_is_listed_folders_first_and_json_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let stick = dir.path().join("STICK");
    let card = dir.path().join("CARD");
    for d in [&stick, &card, &stick.join("exports"), &stick.join("Archive")] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(stick.join("master.json"), "{}").unwrap();
    std::fs::write(stick.join("notes.txt"), "x").unwrap();
    std::fs::write(stick.join(".Trash.json"), "x").unwrap();
    let list = format!(
        "{}:{}:{}",
        stick.display(),
        dir.path().join("not-mounted").display(),
        card.display()
    );
    assert_eq!(roots_from_list(&list), [stick.clone(), card]);

    let l = list_dir(&stick, &["json"]).unwrap();
    let shown: Vec<(&str, bool)> = l.entries.iter().map(|e| (e.name.as_str(), e.is_dir)).collect();
    assert_eq!(shown, [("Archive", true), ("exports", true), ("master.json", false)]);
    assert_eq!(l.entries[2].path, stick.join("master.json"));
    assert_eq!(l.more, 0);
    // Exports choose a folder: files are not listed.
    assert_eq!(list_dir(&stick, &[]).unwrap().entries.len(), 2);

    // A folder with more than can be shown says how many were left out.
    let full = stick.join("full");
    std::fs::create_dir(&full).unwrap();
    for i in 0..LIST_MAX + 20 {
        std::fs::write(full.join(format!("m{i:04}.json")), "").unwrap();
    }
    let l = list_dir(&full, &["json"]).unwrap();
    assert_eq!((l.entries.len(), l.more), (LIST_MAX, 20));

    // A medium pulled out: a plain message in both languages.
    let e = list_dir(&dir.path().join("gone"), &["json"]).unwrap_err();
    assert!(e.to_string().contains("was the medium removed?"), "{e}");
    assert!(e.message_zh().contains("存储介质是否已被拔出"), "{}", e.message_zh());
}

#[test]
fn exports_write_the_audit_log_the_received_lines_and_the_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (db, stick) = received(dir.path());
    let store = Store::open(&db).unwrap();
    let device = store.device_id().unwrap();
    assert!(!device.is_empty());

    // The audit log as CSV: the same bytes `lotline audit export` writes.
    let csv = export_audit(&store, &stick, AuditFormat::Csv, now()).unwrap();
    assert_eq!(csv.count, 11);
    assert_eq!(
        csv.path,
        stick.join(format!("lotline-audit-{device}-20261201-090507.csv"))
    );
    let cli = dir.path().join("cli.csv");
    let o = lotline(&[
        "audit",
        "export",
        "--db",
        db.to_str().unwrap(),
        "--out",
        cli.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&csv.path).unwrap(), std::fs::read(&cli).unwrap());

    // As JSON; a second export in the same second does not replace the first.
    let js = export_audit(&store, &stick, AuditFormat::Json, now()).unwrap();
    let v: Value = serde_json::from_slice(&std::fs::read(&js.path).unwrap()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 11);
    assert_eq!(v[3]["action"], "receive");
    let again = export_audit(&store, &stick, AuditFormat::Csv, now()).unwrap();
    assert_eq!(
        again.path,
        stick.join(format!("lotline-audit-{device}-20261201-090507-2.csv"))
    );

    // The received lines: one row per received lot, with the command's time, operator and task.
    let rec = export_received(&store, &stick, now()).unwrap();
    assert_eq!(rec.count, 3);
    assert_eq!(
        rec.path.file_name().unwrap().to_string_lossy(),
        format!("lotline-received-{device}-20261201-090507.csv")
    );
    let text = std::fs::read_to_string(&rec.path).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], files::RECEIVED_COLUMNS);
    assert_eq!(rows.len(), 4);
    let col = |name: &str| files::RECEIVED_COLUMNS.iter().position(|c| *c == name).unwrap();
    let lots: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[col("item")], r[col("lot")], r[col("qty")]))
        .collect();
    assert_eq!(
        lots,
        [
            ("F200", "R-NEW1", "60"),
            ("F200", "R-NEW2", "40"),
            ("F100", "M-1", "20")
        ]
    );
    for r in &rows[1..] {
        assert_eq!(r[col("operator")], "recv1");
        assert_eq!(r[col("task")], "ASN-1");
        assert_eq!(r[col("created_at")], "2026-12-01T09:00:00.000+08:00");
    }
    // ... the same lines the outbox holds.
    let o = lotline(&["outbox", "list", "--db", db.to_str().unwrap()]);
    let receives: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|c| c["type"] == "receive")
        .collect();
    assert_eq!(receives.len(), 2);
    assert_eq!(rows[3][col("command_id")], receives[1]["id"].as_str().unwrap());
    assert_eq!(rows[3][col("expiry")], "2026-12-12");

    // Labels: none saved yet is said so; then the PNGs (only they) are copied into a new folder.
    let labels = files::labels_dir(&store);
    assert_eq!(labels, db.parent().unwrap().join("labels"));
    let e = export_labels(&labels, &stick, &device, now()).unwrap_err();
    assert!(matches!(e, FilesError::NoLabels { .. }), "{e}");
    assert!(e.message_zh().contains("还没有保存任何标签"));
    std::fs::create_dir_all(&labels).unwrap();
    std::fs::write(labels.join("M-1-20261201-090000.png"), b"\x89PNG one").unwrap();
    std::fs::write(labels.join("R-NEW1-20261201-090100.png"), b"\x89PNG two").unwrap();
    std::fs::write(labels.join("notes.txt"), b"not a label").unwrap();
    std::fs::write(labels.join(".x.png.123.tmp"), b"half").unwrap();
    let lab = export_labels(&labels, &stick, &device, now()).unwrap();
    assert_eq!(lab.count, 2);
    assert_eq!(lab.path, stick.join(format!("lotline-labels-{device}-20261201-090507")));
    assert_eq!(
        names(&lab.path),
        ["M-1-20261201-090000.png", "R-NEW1-20261201-090100.png"]
    );
    assert_eq!(
        std::fs::read(lab.path.join("R-NEW1-20261201-090100.png")).unwrap(),
        b"\x89PNG two"
    );

    // Every export appeared whole: nothing half-written is left beside them.
    assert!(names(&stick).iter().all(|n| !n.starts_with('.')), "{:?}", names(&stick));

    // A folder that is not there: a plain message, nothing written.
    let gone = stick.join("gone");
    let e = export_received(&store, &gone, now()).unwrap_err();
    assert!(e.to_string().contains("medium removed"), "{e}");
    assert!(!gone.exists());
}

/// What the cache holds, to compare before and after an import that must change nothing.
fn snapshot(db: &Path) -> (String, Vec<i64>) {
    let o = lotline(&["stock", "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = Store::open_read_only(db).unwrap();
    let counts = [
        "categories",
        "items",
        "barcodes",
        "lots",
        "serials",
        "locations",
        "stock",
        "customers",
        "tasks",
        "task_lines",
        "outbox",
        "audit_log",
    ]
    .iter()
    .map(|t| store.count(t).unwrap())
    .collect();
    (stdout(&o), counts)
}

const GOOD: &str = r#"{
  "items": [{"id": "T900", "name_en": "Test gauze 10 cm", "name_zh": "测试纱布 10厘米", "gtins": ["09501101531017"],
             "category": "device", "shelf_life_days": 1000, "storage": "ambient"}],
  "lots": [{"item": "T900", "lot": "G-100", "expiry": "2028-06-30", "status": "released"}],
  "stock": [{"location": "A-01", "item": "T900", "lot": "G-100", "qty": 30}]
}"#;

/// Bad records: a GTIN with a wrong check digit (so its lot's item is refused too) and stock of a
/// lot nobody knows.
const BAD: &str = r#"{
  "items": [{"id": "T901", "name_en": "Test tape", "name_zh": "测试胶带", "gtins": ["09501101531184"],
             "category": "device", "storage": "ambient"}],
  "lots": [{"item": "T901", "lot": "B-1", "expiry": "2028-01-31", "status": "released"}],
  "stock": [{"location": "A-01", "item": "T901", "lot": "NOPE", "qty": 5}]
}"#;

#[test]
fn a_good_master_data_file_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let (db, stick) = received(dir.path());
    let file = stick.join("master.json");
    std::fs::write(&file, GOOD).unwrap();
    let (_, before) = snapshot(&db);
    let mut store = Store::open(&db).unwrap();
    let sum = import_master_data(&mut store, &file).unwrap();
    assert_eq!((sum.items, sum.lots, sum.stock), (1, 1, 1));
    drop(store);
    let o = lotline(&["stock", "--db", db.to_str().unwrap(), "--item", "T900"]);
    let rows: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        rows,
        [serde_json::json!({"location": "A-01", "item": "T900", "lot": "G-100", "qty": 30, "status": "released"})]
    );
    let (_, after) = snapshot(&db);
    assert_eq!(after[1], before[1] + 1, "one item more");
    let o = lotline(&[
        "check",
        "--db",
        db.to_str().unwrap(),
        "--gate",
        "pick",
        "--today",
        "2026-12-01",
        "(01)09501101531017(10)G-100",
    ]);
    let v: Value = serde_json::from_str(stdout(&o).lines().next().unwrap_or("null")).unwrap();
    assert_eq!(v["verdict"], "accept", "{v}");
}

#[test]
fn a_file_with_bad_rows_names_each_in_both_languages_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, stick) = received(dir.path());
    let file = stick.join("bad.json");
    std::fs::write(&file, BAD).unwrap();
    let before = snapshot(&db);
    let mut store = Store::open(&db).unwrap();
    let e = import_master_data(&mut store, &file).unwrap_err();
    drop(store);
    let (problems, more) = e.problems();
    assert_eq!(more, 0);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0]
            .en
            .starts_with("items[0].gtins[0] (T901): '09501101531184' has a wrong check digit"),
        "{}",
        problems[0].en
    );
    assert!(problems[1].en.starts_with("lots[0].item (B-1)"), "{}", problems[1].en);
    assert!(problems[2].en.starts_with("stock[0].lot (NOPE)"), "{}", problems[2].en);
    for p in &problems {
        assert!(!p.zh.is_empty() && p.zh != p.en, "{p:?}");
    }
    let f = file.display();
    assert_eq!(e.headline().en, format!("3 problem(s) in {f}; nothing was imported"));
    assert_eq!(e.headline().zh, format!("{f} 中有 3 个问题；未导入任何数据"));
    assert_eq!(snapshot(&db), before, "nothing changed");
}

#[test]
fn a_file_that_is_not_master_data_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, stick) = received(dir.path());
    let before = snapshot(&db);
    // An audit export (a JSON list), a CSV, a PNG, an empty object, other JSON, an empty file.
    let store = Store::open(&db).unwrap();
    let audit = export_audit(&store, &stick, AuditFormat::Json, now()).unwrap().path;
    let received = export_received(&store, &stick, now()).unwrap().path;
    drop(store);
    let cases: Vec<(PathBuf, NotMasterData)> = vec![
        (audit, NotMasterData::NotAnObject),
        (received, NotMasterData::NotJson),
        (
            write(&stick, "label.png", b"\x89PNG\r\n\x1a\n...."),
            NotMasterData::NotJson,
        ),
        (write(&stick, "empty.json", b"{ }"), NotMasterData::NoSections),
        (
            write(&stick, "config.json", br#"{"printer": "zebra"}"#),
            NotMasterData::UnknownSection("printer".into()),
        ),
        (write(&stick, "nothing.json", b""), NotMasterData::Empty),
    ];
    let mut store = Store::open(&db).unwrap();
    for (file, want) in cases {
        let e = import_master_data(&mut store, &file).unwrap_err();
        match &e {
            FilesError::NotMasterData { why, path } => {
                assert_eq!((why, path), (&want, &file));
            }
            other => panic!("{}: {other}", file.display()),
        }
        assert!(e.to_string().contains("is not master data"), "{e}");
        assert!(e.to_string().ends_with("nothing was changed"), "{e}");
        assert!(e.message_zh().contains("不是主数据文件"), "{}", e.message_zh());
        assert!(e.message_zh().ends_with("未做任何更改"), "{}", e.message_zh());
        assert_eq!(e.problems().0.len(), 0);
    }
    // A folder is not a file.
    let e = import_master_data(&mut store, &stick).unwrap_err();
    assert!(matches!(e, FilesError::NotAFile { .. }), "{e}");
    drop(store);
    // (The exports made above only read the cache.)
    assert_eq!(snapshot(&db), before, "nothing changed");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
