//! Import files, good and bad: every problem named by record and field path, duplicates within
//! a file, strict dates, any section order, and random or damaged files that must change nothing.

use std::path::{Path, PathBuf};

use lotline::store::Store;
use lotline::store::import::read::{Expect, Reason};
use lotline::store::import::{ImportError, MAX_KEPT_ERRORS, import_json};
use proptest::prelude::*;
use rusqlite::OptionalExtension;

use crate::{lotline, stderr, stdout};

const GOOD: &str = r#"{
  "categories": [{"id": "fresh", "near_expiry_days": [7, 3]}],
  "items": [
    {"id": "MILK", "name_en": "Milk 1 L", "name_zh": "牛奶 1升", "gtins": ["9501101530003"], "category": "fresh",
     "shelf_life_days": 30, "min_remaining_days_receipt": 10, "requires_qc": false, "storage": "chilled", "count_tolerance": 2},
    {"id": "AMOX", "name_en": "Amoxicillin", "name_zh": "阿莫西林", "gtins": ["09506000134352"], "aliases": ["SKU-AMOX"],
     "category": "pharma", "shelf_life_days": 730, "min_remaining_pct_receipt": 50, "near_expiry_days": [90, 30, 7],
     "requires_qc": true, "serialized": true, "regulated": true, "count_tolerance": "5%"}
  ],
  "lots": [
    {"item": "MILK", "lot": "M1", "expiry": "2026-11-25", "production_date": "2026-10-26", "status": "released"},
    {"item": "AMOX", "lot": "A1", "expiry": "2027-12-31", "status": "quarantine"}
  ],
  "locations": [{"code": "wh1-a-01", "warehouse": "WH1", "zone": "A"}, {"code": "WH1-Q-01", "warehouse": "WH1", "zone": "Q", "kind": "quarantine"}],
  "stock": [{"location": "WH1-A-01", "item": "MILK", "lot": "M1", "qty": 12}, {"location": "WH1-Q-01", "item": "AMOX", "lot": "A1", "qty": 5}],
  "customers": [{"id": "C1", "name": "Shop", "min_remaining_days": 3}],
  "serials": [{"item": "AMOX", "serial": "SN1", "lot": "A1"}],
  "tasks": [{"id": "PK-1", "kind": "pick", "customer": "C1", "lines": [{"item": "MILK", "location": "WH1-A-01", "qty": 2}, {"item": "AMOX", "qty": 1}]},
            {"id": "CC-1", "kind": "count", "locations": ["WH1-A-01", "wh1-q-01"], "blind": false}]
}"#;

fn rows(err: ImportError) -> (Vec<lotline::store::import::read::RowError>, usize) {
    match err {
        ImportError::Rows { errors, more } => (errors, more),
        other => panic!("expected row errors, got {other}"),
    }
}

fn paths(errors: &[lotline::store::import::read::RowError]) -> Vec<String> {
    errors.iter().map(|e| e.path()).collect()
}

/// A database with GOOD imported, closed again: (dir, db path).
fn good_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let mut s = Store::create(&db).unwrap();
    import_json(&mut s, GOOD).unwrap();
    drop(s);
    (dir, db)
}

/// The database file and its WAL, byte for byte.
fn snapshot(db: &Path) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    (std::fs::read(db).unwrap(), std::fs::read(PathBuf::from(wal)).ok())
}

#[test]
fn a_good_file_imports_every_section() {
    let mut s = Store::in_memory().unwrap();
    let sum = import_json(&mut s, GOOD).unwrap();
    assert_eq!(
        (sum.categories, sum.items, sum.barcodes, sum.lots, sum.locations),
        (1, 2, 3, 2, 2)
    );
    assert_eq!((sum.stock, sum.customers, sum.serials, sum.tasks), (2, 1, 1, 2));
    assert_eq!(s.count("task_lines").unwrap(), 2);
    drop(s);
    let (_d, _db, c) = imported(GOOD);
    assert_eq!(task_locations(&c, "CC-1"), ["WH1-A-01", "WH1-Q-01"]);
    assert_eq!(blind_zone(&c, "CC-1"), (false, None));
}

#[test]
fn the_wrong_fields_of_the_issue_are_each_named() {
    // issue 7 item 4: the name_en type error named field '123'; shelf_life_days named none;
    // "requires_qc": "yes" was never reported.
    let json = r#"{"items": [
        {"id": "X1", "name_en": "a", "name_zh": "甲", "category": "c"},
        {"id": "X2", "name_en": 123, "name_zh": "乙", "category": "c", "shelf_life_days": "30", "requires_qc": "yes"},
        {"id": "X3", "name_en": "c", "name_zh": "丙", "category": "c", "gtins": ["9501101530003", "9501101530004"]}
    ], "tasks": [{"id": "T1", "kind": "pick", "lines": [{"item": "X1", "qty": 3}, {"item": "X1", "qty": 1}, {"item": "X1", "qty": "two"}]}]}"#;
    let mut s = Store::in_memory().unwrap();
    let (errors, more) = rows(import_json(&mut s, json).unwrap_err());
    assert_eq!(more, 0);
    assert_eq!(
        paths(&errors),
        [
            "items[1].name_en",
            "items[1].shelf_life_days",
            "items[1].requires_qc",
            "items[2].gtins[1]",
            "tasks[0].lines[2].qty"
        ]
    );
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text[0],
        "items[1].name_en (X2): expected text in quotes, found the number 123"
    );
    assert_eq!(
        text[1],
        "items[1].shelf_life_days (X2): expected a whole number, found the text \"30\""
    );
    assert_eq!(
        text[2],
        "items[1].requires_qc (X2): expected true or false, found the text \"yes\""
    );
    assert!(matches!(
        errors[2].why,
        Reason::WrongType {
            expected: Expect::Bool,
            ..
        }
    ));
    assert_eq!(s.count("items").unwrap(), 0, "nothing written");
}

#[test]
fn every_bad_row_is_counted_beyond_the_ones_shown() {
    let n = MAX_KEPT_ERRORS + 537;
    let lots: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"item": "MILK", "lot": "L{i}", "expiry": "26-01-01"}}"#))
        .collect();
    let json = format!(r#"{{"lots": [{}]}}"#, lots.join(","));
    let mut s = Store::in_memory().unwrap();
    let err = import_json(&mut s, &json).unwrap_err();
    assert_eq!(err.problem_count(), n);
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{n} problem(s) found")), "{}", &msg[..80]);
    assert!(msg.ends_with("… and 537 more problem(s)"), "{}", &msg[msg.len() - 80..]);
    let (errors, more) = rows(err);
    assert_eq!((errors.len(), more), (MAX_KEPT_ERRORS, 537));
    assert_eq!(errors[0].path(), "lots[0].expiry");
}

#[test]
fn the_command_line_says_how_many_more_problems_there_were() {
    let dir = tempfile::tempdir().unwrap();
    let (_d, db) = good_db();
    let file = dir.path().join("many.json");
    let n = MAX_KEPT_ERRORS + 3;
    let lots: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"item": "MILK", "lot": "L{i}", "qty": 1}}"#))
        .collect();
    std::fs::write(&file, format!(r#"{{"lots": [{}]}}"#, lots.join(","))).unwrap();
    let before = snapshot(&db);
    let o = lotline(&["import", "--db", db.to_str().unwrap(), file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("lots[{}].qty (L{}): unknown field", n - 1 - 3, n - 1 - 3)),
        "{e}"
    );
    assert!(e.contains("… and 3 more problem(s)"), "{e}");
    assert!(e.contains("另有 3 个问题"), "{e}");
    assert!(e.contains(&format!("lotline: {n} problem(s) in")), "{e}");
    assert!(e.contains("个问题；未导入任何数据"), "{e}");
    assert_eq!(snapshot(&db), before, "the database must not change");
}

#[test]
fn a_record_given_twice_is_an_error_naming_both() {
    let json = r#"{
      "items": [
        {"id": "X1", "name_en": "a", "name_zh": "甲", "category": "c"},
        {"id": "X2", "name_en": "b", "name_zh": "乙", "category": "c"},
        {"id": "X1", "name_en": "a2", "name_zh": "甲2", "category": "c"}
      ],
      "lots": [{"item": "X1", "lot": "L1", "expiry": "2027-01-01"}, {"item": "X2", "lot": "L1"}, {"item": "X1", "lot": "L1", "expiry": "2028-01-01"}],
      "customers": [{"id": "C1", "name": "Shop"}, {"id": "C1", "name": "Other shop"}],
      "locations": [{"code": "a-1", "warehouse": "W", "zone": "A"}, {"code": "A-1", "warehouse": "W", "zone": "B"}],
      "stock": [{"location": "A-1", "item": "X1", "lot": "L1", "qty": 1}, {"location": "a-1", "item": "X1", "lot": "L1", "qty": 2}]
    }"#;
    let mut s = Store::in_memory().unwrap();
    let (errors, _) = rows(import_json(&mut s, json).unwrap_err());
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let dup = |rec: &str, key: &str, first: &str| {
        text.iter()
            .any(|t| t.starts_with(&format!("{rec} ({key}): duplicate of {first};")))
    };
    assert!(dup("items[2]", "X1", "items[0]"), "{text:#?}");
    assert!(dup("lots[2]", "L1", "lots[0]"), "{text:#?}");
    assert!(dup("customers[1]", "C1", "customers[0]"), "{text:#?}");
    assert!(dup("locations[1]", "A-1", "locations[0]"), "{text:#?}");
    assert!(dup("stock[1]", "L1", "stock[0]"), "{text:#?}");
    assert_eq!(errors.len(), 5, "{text:#?}");
    assert_eq!(s.count("items").unwrap(), 0);
}

#[test]
fn two_items_giving_one_barcode_is_an_error() {
    let json = r#"{"items": [
        {"id": "X1", "name_en": "a", "name_zh": "甲", "category": "c", "gtins": ["9501101530003"]},
        {"id": "X2", "name_en": "b", "name_zh": "乙", "category": "c", "aliases": ["09501101530003"]}
    ]}"#;
    let mut s = Store::in_memory().unwrap();
    let (errors, _) = rows(import_json(&mut s, json).unwrap_err());
    assert_eq!(
        errors[0].to_string(),
        "items[1].aliases[0] (X2): barcode 09501101530003 is also given by items[0] (X1)"
    );
}

#[test]
fn dates_are_yyyy_mm_dd_within_range() {
    let cases = [
        "26-01-01",
        "2026-1-1",
        "+2026-01-01",
        " 2026-01-01",
        "2026-01-01 ",
        "0000-01-01",
        "9999-12-31",
        "2026-02-30",
    ];
    let lots: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, d)| format!(r#"{{"item": "MILK", "lot": "D{i}", "expiry": "{d}"}}"#))
        .collect();
    let (_d, db) = good_db();
    let mut s = Store::open(&db).unwrap();
    let (errors, _) = rows(import_json(&mut s, &format!(r#"{{"lots": [{}]}}"#, lots.join(","))).unwrap_err());
    assert_eq!(errors.len(), cases.len());
    for (i, e) in errors.iter().enumerate() {
        assert_eq!(e.path(), format!("lots[{i}].expiry"));
        assert!(
            e.to_string().contains("is not a date: write YYYY-MM-DD")
                && e.to_string().contains("from 1900-01-01 to 2199-12-31"),
            "{e}"
        );
    }
    // The command line's --today takes the same dates.
    let o = lotline(&["decode", "--today", "26-01-01", "9501101530003"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("YYYY-MM-DD"), "{}", stderr(&o));
}

#[test]
fn sections_may_come_in_any_order() {
    // Stock before its lots and locations, lots before their items, tasks before customers.
    let json = r#"{
      "tasks": [{"id": "T1", "kind": "pick", "customer": "C1", "lines": [{"item": "X1", "location": "A-1", "qty": 1}]}],
      "stock": [{"location": "A-1", "item": "X1", "lot": "L1", "qty": 4}],
      "serials": [{"item": "X1", "serial": "S1", "lot": "L1"}],
      "lots": [{"item": "X1", "lot": "L1", "expiry": "2027-01-01"}],
      "items": [{"id": "X1", "name_en": "a", "name_zh": "甲", "category": "c"}],
      "locations": [{"code": "A-1", "warehouse": "W", "zone": "A"}],
      "customers": [{"id": "C1", "name": "Shop"}]
    }"#;
    let mut s = Store::in_memory().unwrap();
    let sum = import_json(&mut s, json).unwrap();
    assert_eq!((sum.stock, sum.serials, sum.lots, sum.tasks), (1, 1, 1, 1));
    assert_eq!(s.stock_of_lot("X1", "L1").unwrap()[0].qty, 4);
}

#[test]
fn references_defined_nowhere_are_reported_with_their_records() {
    let json = r#"{
      "stock": [{"location": "A-9", "item": "X1", "lot": "L9", "qty": 4}],
      "lots": [{"item": "X9", "lot": "L1"}],
      "serials": [{"item": "X1", "serial": "S1", "lot": "L7"}],
      "tasks": [{"id": "T1", "kind": "pick", "customer": "C9", "lines": [{"item": "X1", "qty": 1}, {"item": "X8", "location": "B-1", "qty": 1}]}],
      "items": [{"id": "X1", "name_en": "a", "name_zh": "甲", "category": "c"}]
    }"#;
    let mut s = Store::in_memory().unwrap();
    let (errors, _) = rows(import_json(&mut s, json).unwrap_err());
    let mut got = paths(&errors);
    got.sort();
    assert_eq!(
        got,
        [
            "lots[0].item",
            "serials[0].lot",
            "stock[0].location",
            "stock[0].lot",
            "tasks[0].customer",
            "tasks[0].lines[1].item",
            "tasks[0].lines[1].location"
        ]
    );
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.contains(&"lots[0].item (L1): item 'X9' is not defined (add it under items)".to_owned()),
        "{text:#?}"
    );
    for t in ["items", "lots", "tasks", "task_lines", "serials", "stock"] {
        assert_eq!(s.count(t).unwrap(), 0, "{t}");
    }
}

#[test]
fn every_problem_has_a_chinese_message() {
    use lotline::domain::text::Bilingual;
    let json = r#"{"itemz": [], "items": [{"id": "X2", "name_en": 123, "name_zh": "", "category": "c", "storage": "warm"}],
                   "lots": [{"item": "X9", "lot": "L 1", "expiry": "2026-1-1"}]}"#;
    let mut s = Store::in_memory().unwrap();
    let err = import_json(&mut s, json).unwrap_err();
    let zh = err.message_zh();
    assert!(zh.starts_with("发现 6 个问题；未导入任何数据"), "{zh}");
    for line in [
        "itemz：未知的部分",
        "items[0].name_en (X2)：应为带引号的文本，实际为数字 123",
        "items[0].name_zh (X2)：为空",
        "items[0].storage (X2)：“warm”不是 ambient、chilled、frozen 之一",
        "lots[0].lot (L 1)：不是有效的批号",
        "lots[0].expiry (L 1)：“2026-1-1”不是有效日期",
    ] {
        assert!(zh.contains(line), "{line} in\n{zh}");
    }
}

#[test]
fn a_broken_file_is_one_clear_error_and_writes_nothing() {
    let (dir, db) = good_db();
    let before = snapshot(&db);
    for (name, body, want) in [
        ("cut.json", &GOOD[..GOOD.len() / 2], "ends in the middle of the JSON"),
        ("list.json", "[1, 2]", "the top level must be an object of sections"),
        ("text.json", "hello", "is not valid JSON"),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, body).unwrap();
        let o = lotline(&["import", "--db", db.to_str().unwrap(), f.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let e = stderr(&o);
        assert!(
            e.contains(want) && e.contains(name) && e.contains("nothing was imported"),
            "{e}"
        );
        assert!(
            e.lines().nth(1).is_some_and(|l| l.contains("导入")),
            "a Chinese line: {e}"
        );
        assert_eq!(snapshot(&db), before, "{name}: the database must not change");
    }
    let o = lotline(&["import", "--db", db.to_str().unwrap(), "/nonexistent/file.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read /nonexistent/file.json"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(&db), before);
}

#[test]
fn the_command_line_imports_a_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_d, db) = good_db();
    let f = dir.path().join("good.json");
    std::fs::write(&f, GOOD).unwrap();
    let o = lotline(&["import", "--db", db.to_str().unwrap(), f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["lots"], 2);
}

/// Reasons that are about one field must name it.
fn names_its_field(e: &lotline::store::import::read::RowError) -> bool {
    match &e.why {
        Reason::WrongType {
            expected: Expect::Object,
            ..
        }
        | Reason::UnknownSection
        | Reason::SectionTwice
        | Reason::NotAList { .. }
        | Reason::Duplicate { .. }
        | Reason::Rejected { .. } => true,
        _ => e.field.is_some(),
    }
}

/// Structured damage to GOOD: (pattern, replacement, the path that must be reported).
const WRONG_TYPES: &[(&str, &str, &str)] = &[
    (r#""qty": 12"#, r#""qty": "12""#, "stock[0].qty"),
    (
        r#""requires_qc": true"#,
        r#""requires_qc": "yes""#,
        "items[1].requires_qc",
    ),
    (r#""name_en": "Milk 1 L""#, r#""name_en": 123"#, "items[0].name_en"),
    (
        r#""shelf_life_days": 30"#,
        r#""shelf_life_days": 30.5"#,
        "items[0].shelf_life_days",
    ),
    (r#""expiry": "2027-12-31""#, r#""expiry": "27-12-31""#, "lots[1].expiry"),
    (
        r#""near_expiry_days": [90, 30, 7]"#,
        r#""near_expiry_days": [90, "30"]"#,
        "items[1].near_expiry_days[1]",
    ),
    (
        r#""gtins": ["9501101530003"]"#,
        r#""gtins": "9501101530003""#,
        "items[0].gtins",
    ),
    (r#""qty": 1}"#, r#""qty": -1}"#, "tasks[0].lines[1].qty"),
    (
        r#""min_remaining_days": 3"#,
        r#""min_remaining_days": true"#,
        "customers[0].min_remaining_days",
    ),
    (r#""lot": "A1"}]"#, r#""lot": ["A1"]}]"#, "serials[0].lot"),
    (
        r#""count_tolerance": "5%""#,
        r#""count_tolerance": "5 %""#,
        "items[1].count_tolerance",
    ),
    (
        r#""count_tolerance": 2"#,
        r#""count_tolerance": 2.5"#,
        "items[0].count_tolerance",
    ),
    (r#""blind": false"#, r#""blind": "no""#, "tasks[1].blind"),
    (r#""wh1-q-01"]"#, r#""wh1 q 01"]"#, "tasks[1].locations[1]"),
];

fn check_failed_import(
    db: &Path,
    before: &(Vec<u8>, Option<Vec<u8>>),
    bytes: &[u8],
) -> Result<Vec<String>, TestCaseError> {
    let mut s = Store::open(db).unwrap();
    let res = lotline::store::import::import_from(&mut s, bytes);
    drop(s);
    let err = match res {
        Ok(_) => return Ok(vec!["<imported>".into()]),
        Err(e) => e,
    };
    prop_assert_eq!(&snapshot(db), before, "the database changed after: {}", err);
    let msg = err.to_string();
    prop_assert!(!msg.is_empty());
    Ok(match err {
        ImportError::Rows { errors, .. } => {
            for e in &errors {
                prop_assert!(!e.record.is_empty(), "{:?}", e);
                prop_assert!(names_its_field(e), "no field: {}", e);
            }
            errors.iter().map(|e| e.path()).collect()
        }
        ImportError::Json(_) => vec!["<json>".into()],
        ImportError::Store(e) => return Err(TestCaseError::fail(format!("a store error: {e}"))),
        ImportError::Pin(e) => return Err(TestCaseError::fail(format!("a PIN hashing error: {e}"))),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random bytes, truncations and flipped bytes of a good file: an error (never a panic) and an
    /// unchanged database, or (a flip that still makes a good file) a good import.
    #[test]
    fn damaged_files_change_nothing(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        cut in 0usize..10_000,
        flips in proptest::collection::vec((0usize..10_000, 1u8..=255), 1..4),
    ) {
        let (_d, db) = good_db();
        let before = snapshot(&db);
        let got = check_failed_import(&db, &before, &bytes)?;
        prop_assert_ne!(got, vec!["<imported>".to_owned()], "random bytes imported: {:?}", bytes);

        let good = GOOD.trim_end().as_bytes();
        let cut = &good[..cut % (good.len() - 1)];
        let got = check_failed_import(&db, &before, cut)?;
        prop_assert_eq!(got, vec!["<json>".to_owned()]);

        let mut flipped = good.to_vec();
        for (at, x) in &flips {
            let i = at % flipped.len();
            flipped[i] ^= x;
        }
        let got = check_failed_import(&db, &before, &flipped)?;
        if got == ["<imported>"] {
            // Still a good file: the reader accepted JSON only.
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&flipped).is_ok());
        }
    }

    /// Wrong types put into a good file: each is reported at its path, nothing changes.
    #[test]
    fn wrong_types_are_reported_at_their_paths(pick in proptest::sample::subsequence(WRONG_TYPES.to_vec(), 1..5)) {
        let (_d, db) = good_db();
        let before = snapshot(&db);
        let mut text = GOOD.to_owned();
        for (from, to, _) in &pick {
            prop_assert!(text.contains(from), "{}", from);
            text = text.replacen(from, to, 1);
        }
        let got = check_failed_import(&db, &before, text.as_bytes())?;
        for (_, _, path) in &pick {
            prop_assert!(got.iter().any(|g| g == path), "{} not in {:?}", path, got);
        }
    }
}

/// The same through the binary: exit 1, both languages, the database byte for byte unchanged.
#[test]
fn damaged_files_through_the_command_line() {
    let (dir, db) = good_db();
    let before = snapshot(&db);
    let good = GOOD.as_bytes();
    let mut cases: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x00],
        good[..good.len() - 2].to_vec(),
        GOOD.replace(r#""qty": 12"#, r#""qty": "12""#).into_bytes(),
        GOOD.replace(r#""items""#, r#""itemz""#).into_bytes(),
        GOOD.replace("\"M1\"", "\"M 1\"").into_bytes(),
    ];
    let mut x = 0x2545_f491_u32;
    for _ in 0..6 {
        let mut v = good.to_vec();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[x as usize % good.len()] = b'"';
        cases.push(v);
    }
    for (i, c) in cases.iter().enumerate() {
        let f = dir.path().join(format!("case{i}.json"));
        std::fs::write(&f, c).unwrap();
        let o = lotline(&["import", "--db", db.to_str().unwrap(), f.to_str().unwrap()]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "case {i}: {e}");
        assert!(!e.contains("panicked"), "case {i}: {e}");
        let last_two: Vec<&str> = e.lines().rev().take(2).collect();
        assert!(
            last_two[1].starts_with("lotline: ") && last_two[0].starts_with("lotline: "),
            "case {i}: {e}"
        );
        assert!(
            last_two[0].chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "case {i}: {e}"
        );
        assert_eq!(snapshot(&db), before, "case {i}: the database must not change");
    }
}

#[test]
fn a_reference_to_a_refused_record_says_so() {
    let json = r#"{"lots": [{"item": "X1", "lot": "L1"}, {"item": "X2", "lot": "L1"}],
                   "items": [{"id": "X1", "name_en": "a", "name_zh": "甲", "category": "c", "shelf_life_days": 0}]}"#;
    let mut s = Store::in_memory().unwrap();
    let (errors, _) = rows(import_json(&mut s, json).unwrap_err());
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "items[0].shelf_life_days (X1): 0 is out of range; must be 1 to 36500",
            "lots[0].item (L1): item 'X1' (items[0]) was not imported because of its own problems",
            "lots[1].item (L1): item 'X2' is not defined (add it under items)",
        ]
    );
}

#[test]
fn bench_import_generates_a_file_that_imports() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("bench");
    let o = lotline(&["bench", "import", "--lots", "3000", "--dir", work.to_str().unwrap()]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}{}", out, stderr(&o));
    assert!(
        out.contains(r#""lots":3000"#) && out.contains(r#""stock":3000"#),
        "{out}"
    );
    assert!(out.contains("rows/s") && out.contains("peak RSS"), "{out}");
    assert!(!work.exists(), "the file and the database are removed afterwards");
}

/// The indexes of the scan path, by name, as the file has them.
fn indexes(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// A first load builds the FEFO, stock-by-location and serial indexes after its rows: they are
/// all there after it, the same as in a cache made by demo-data, and FEFO finds its lot; a first
/// load that fails leaves them as they were (the drop is rolled back with everything else).
#[test]
fn a_first_load_builds_its_indexes_at_the_end_and_a_failed_one_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let reference = crate::demo_db(dir.path(), 50, "2026-11-21");
    let want = indexes(&reference);
    assert!(want.iter().any(|n| n == "lots_fefo"), "{want:?}");

    let (_d, db) = good_db();
    assert_eq!(indexes(&db), want, "after a good first load");
    let s = Store::open(&db).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let fefo = s.fefo_candidate("MILK", today).unwrap().expect("a FEFO lot");
    assert_eq!(fefo.lot.as_str(), "M1");
    drop(s);

    let bad = tempfile::tempdir().unwrap();
    let db = bad.path().join("cache.db");
    let mut s = Store::create(&db).unwrap();
    import_json(&mut s, r#"{"items": [{"id": "X"}]}"#).unwrap_err();
    import_json(&mut s, GOOD).unwrap();
    drop(s);
    assert_eq!(indexes(&db), want, "after a failed and then a good first load");
}

/// Items, locations and a customer that the operator and receipt tests below refer to.
const MASTER: &str = r#"
  "items": [
    {"id": "MILK", "name_en": "Milk 1 L", "name_zh": "牛奶 1升", "gtins": ["9501101530003"], "category": "fresh", "storage": "chilled"},
    {"id": "AMOX", "name_en": "Amoxicillin", "name_zh": "阿莫西林", "gtins": ["09506000134352"], "category": "pharma"}
  ],
  "locations": [{"code": "DOCK-1", "warehouse": "WH1", "zone": "R", "kind": "receiving"}]"#;

fn with_master(sections: &str) -> String {
    format!("{{{MASTER},\n{sections}}}")
}

/// A database file with `json` imported, and a plain connection to read what it holds.
fn imported(json: &str) -> (tempfile::TempDir, PathBuf, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let mut s = Store::create(&db).unwrap();
    import_json(&mut s, json).unwrap_or_else(|e| panic!("{e}"));
    drop(s);
    let c = rusqlite::Connection::open(&db).unwrap();
    (dir, db, c)
}

fn file_bytes_contain(db: &Path, needle: &str) -> bool {
    let (main, wal) = snapshot(db);
    let has = |b: &[u8]| b.windows(needle.len()).any(|w| w == needle.as_bytes());
    has(&main) || wal.as_deref().is_some_and(has)
}

#[test]
fn operators_import_with_only_an_argon2id_hash_of_the_pin() {
    use lotline::store::pin::verify_pin;
    let json = r#"{"operators": [
        {"id": "recv1", "name": "Receiver 1", "pin": "73910582", "roles": ["receiver"]},
        {"id": "super1", "name": "Supervisor 1", "pin": "0042", "roles": ["supervisor", "picker", "receiver", "checker", "counter"]}
    ]}"#;
    let (_d, db, c) = imported(json);
    let rows: Vec<(String, String, String, String)> = c
        .prepare("SELECT id, name, pin_hash, roles FROM operators ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    let (recv, sup) = (&rows[0], &rows[1]);
    assert_eq!(
        (recv.0.as_str(), recv.1.as_str(), recv.3.as_str()),
        ("recv1", "Receiver 1", "receiver")
    );
    // Roles in one order whatever the file's.
    assert_eq!(sup.3, "receiver,picker,checker,counter,supervisor");
    for (hash, pin) in [(&recv.2, "73910582"), (&sup.2, "0042")] {
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(verify_pin(hash, pin), "{pin}");
        assert!(!verify_pin(hash, "73910583") && !verify_pin(hash, "42"));
    }
    drop(c);
    assert!(
        !file_bytes_contain(&db, "73910582"),
        "the PIN itself is nowhere in the database file"
    );

    // Importing again gives the operator its new PIN; the old one no longer works.
    let mut s = Store::open(&db).unwrap();
    let sum = import_json(
        &mut s,
        r#"{"operators": [{"id": "recv1", "name": "Receiver One", "pin": "5555", "roles": ["receiver", "counter"]}]}"#,
    )
    .unwrap();
    assert_eq!(sum.operators, 1);
    drop(s);
    let c = rusqlite::Connection::open(&db).unwrap();
    let (name, hash, roles): (String, String, String) = c
        .query_row(
            "SELECT name, pin_hash, roles FROM operators WHERE id = 'recv1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((name.as_str(), roles.as_str()), ("Receiver One", "receiver,counter"));
    assert!(verify_pin(&hash, "5555") && !verify_pin(&hash, "73910582"));
}

#[test]
fn each_bad_operator_field_is_named_in_both_languages_and_no_pin_is_shown() {
    use lotline::domain::text::Bilingual;
    let json = r#"{"operators": [
        {"id": "ok1", "name": "Fine", "pin": "1111", "roles": ["picker"]},
        {"id": "short", "name": "A", "pin": "864", "roles": ["picker"]},
        {"id": "letters", "name": "B", "pin": "86x42", "roles": ["picker"]},
        {"id": "long", "name": "C", "pin": "8642086420864", "roles": ["picker"]},
        {"id": "number", "name": "D", "pin": 86420, "roles": ["picker"]},
        {"id": "noroles", "name": "E", "pin": "5678", "roles": []},
        {"id": "badrole", "name": "F", "pin": "5678", "roles": ["picker", "boss"]},
        {"id": "ok1", "name": "Again", "pin": "2222", "roles": ["checker"]},
        {"id": "", "name": "G", "pin": "5678"}
    ]}"#;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let mut s = Store::create(&db).unwrap();
    let err = import_json(&mut s, json).unwrap_err();
    let zh = err.message_zh();
    let (errors, _) = rows(err);
    assert_eq!(
        paths(&errors),
        [
            "operators[1].pin",
            "operators[2].pin",
            "operators[3].pin",
            "operators[4].pin",
            "operators[5].roles",
            "operators[6].roles[1]",
            "operators[7]",
            "operators[8].id",
            "operators[8].roles",
        ]
    );
    let en: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for line in [
        "operators[1].pin (short): the PIN must be at least 4 digits",
        "operators[2].pin (letters): the PIN must be digits 0-9 only",
        "operators[3].pin (long): the PIN must be at most 12 digits",
        "operators[4].pin (number): the PIN must be digits in quotes, e.g. \"0420\" (a number would lose its leading zeros)",
        "operators[5].roles (noroles): needs at least one role; roles are receiver, picker, checker, counter, supervisor",
        "operators[6].roles[1] (badrole): \"boss\" is not one of receiver, picker, checker, counter, supervisor",
        "operators[7] (ok1): duplicate of operators[0]; a record may appear only once in a file (remove one of them)",
        "operators[8].id (): is empty",
        "operators[8].roles (): is missing; this field is required",
    ] {
        assert!(en.iter().any(|e| e == line), "{line} in {en:#?}");
    }
    for line in [
        "operators[1].pin (short)：PIN 至少须为 4 位数字",
        "operators[2].pin (letters)：PIN 只能由数字 0-9 组成",
        "operators[3].pin (long)：PIN 最多为 12 位数字",
        "operators[4].pin (number)：PIN 须为带引号的数字",
        "operators[5].roles (noroles)：至少需要一个角色",
        "operators[6].roles[1] (badrole)：“boss”不是 receiver、picker、checker、counter、supervisor 之一",
        "operators[7] (ok1)：与 operators[0] 重复",
    ] {
        assert!(zh.contains(line), "{line} in\n{zh}");
    }
    for pin in ["864", "86x42", "8642086420864", "86420"] {
        assert!(!en.iter().any(|e| e.contains(pin)) && !zh.contains(pin), "{pin} shown");
    }
    drop(s);
    let c = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = c.query_row("SELECT COUNT(*) FROM operators", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0, "nothing written");

    // The command line prints both languages and no PIN either.
    let (_d, db) = good_db();
    let f = dir.path().join("operators.json");
    std::fs::write(&f, json).unwrap();
    let o = lotline(&["import", "--db", db.to_str().unwrap(), f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("operators[1].pin (short): the PIN must be at least 4 digits"),
        "{e}"
    );
    assert!(e.contains("operators[1].pin (short)：PIN 至少须为 4 位数字"), "{e}");
    for pin in ["864", "86x42", "8642086420864", "86420"] {
        assert!(!e.contains(pin), "{pin} shown: {e}");
    }
}

#[test]
fn receipt_lines_keep_their_pallet_lot_and_expiry() {
    let json = with_master(
        r#""tasks": [{"id": "ASN-1", "kind": "receipt", "reference": "PO-1", "tolerance_pct": 5, "lines": [
            {"item": "MILK", "qty": 40, "lot": "M7", "expiry": "2027-02-28", "sscc": "106141411234567897", "location": "dock-1"},
            {"item": "MILK", "qty": 20, "lot": "M8", "expiry": "2027-03-07", "sscc": "106141411234567897"},
            {"item": "AMOX", "qty": 12, "lot": "A9", "expiry": "2028-12-31", "sscc": "069012345000000028"},
            {"item": "AMOX", "qty": 3}
        ]},
        {"id": "PK-1", "kind": "pick", "lines": [{"item": "MILK", "lot": "M1", "qty": 2}]}]"#,
    );
    let (_d, _db, c) = imported(&json);
    /// line_no, item, lot, qty, expiry, sscc, location
    type Line = (
        i64,
        String,
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let lines: Vec<Line> = c
        .prepare(
            "SELECT line_no, item_id, lot, qty_expected, expiry, sscc, location FROM task_lines
             WHERE task_id = 'ASN-1' ORDER BY line_no",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        lines,
        [
            (
                1,
                "MILK".into(),
                s("M7"),
                40,
                s("2027-02-28"),
                s("106141411234567897"),
                s("DOCK-1")
            ),
            (
                2,
                "MILK".into(),
                s("M8"),
                20,
                s("2027-03-07"),
                s("106141411234567897"),
                None
            ),
            (
                3,
                "AMOX".into(),
                s("A9"),
                12,
                s("2028-12-31"),
                s("069012345000000028"),
                None
            ),
            (4, "AMOX".into(), None, 3, None, None, None),
        ]
    );
    let tol = |id: &str| -> i64 {
        c.query_row("SELECT tolerance_pct FROM tasks WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    assert_eq!((tol("ASN-1"), tol("PK-1")), (5, 0));
}

#[test]
fn a_wrong_sscc_or_receipt_field_is_named_by_its_path() {
    use lotline::domain::text::Bilingual;
    let json = with_master(
        r#""tasks": [
        {"id": "ASN-1", "kind": "receipt", "lines": [
            {"item": "MILK", "qty": 40, "sscc": "106141411234567898"},
            {"item": "MILK", "qty": 40, "sscc": "10614141123456789"},
            {"item": "MILK", "qty": 40, "expiry": "2027-2-28"},
            {"item": "MILK", "qty": 0},
            {"item": "MILK"}
        ]},
        {"id": "CC-1", "kind": "count", "lines": [{"item": "MILK", "lot": "M1", "location": "DOCK-1", "sscc": "106141411234567897"}]}]"#,
    );
    let mut s = Store::in_memory().unwrap();
    let err = import_json(&mut s, &json).unwrap_err();
    let zh = err.message_zh();
    let (errors, _) = rows(err);
    assert_eq!(
        paths(&errors),
        [
            "tasks[0].lines[0].sscc",
            "tasks[0].lines[1].sscc",
            "tasks[0].lines[2].expiry",
            "tasks[0].lines[3].qty",
            "tasks[0].lines[4].qty",
            "tasks[1].lines[0].sscc",
        ]
    );
    let en: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        en[0],
        "tasks[0].lines[0].sscc (ASN-1): '106141411234567898' has a wrong check digit"
    );
    assert!(
        en[1].ends_with("'10614141123456789' must be exactly 18 digits"),
        "{}",
        en[1]
    );
    assert!(
        en[3].ends_with("0 is out of range; must be 1 to 4294967295"),
        "{}",
        en[3]
    );
    assert!(en[4].ends_with("is missing; this field is required"), "{}", en[4]);
    assert_eq!(
        en[5],
        "tasks[1].lines[0].sscc (CC-1): only a receipt task takes this field, and this is a count task"
    );
    assert!(
        zh.contains("tasks[0].lines[0].sscc (ASN-1)：不是有效的 SSCC：须为 18 位数字，且校验位正确"),
        "{zh}"
    );
    assert!(
        zh.contains("tasks[1].lines[0].sscc (CC-1)：只有收货任务（receipt）才有此字段，此任务为 count 任务"),
        "{zh}"
    );
    assert_eq!(s.count("tasks").unwrap(), 0);
}

#[test]
fn a_pallet_on_two_tasks_is_an_error_naming_both() {
    use lotline::domain::text::Bilingual;
    const PALLET: &str = "106141411234567897";
    let asn = |id: &str, item: &str| {
        format!(r#"{{"id": "{id}", "kind": "receipt", "lines": [{{"item": "{item}", "qty": 1, "sscc": "{PALLET}"}}]}}"#)
    };
    // Two tasks of one file.
    let json = with_master(&format!(
        r#""tasks": [{}, {}]"#,
        asn("ASN-1", "MILK"),
        asn("ASN-2", "AMOX")
    ));
    let mut s = Store::in_memory().unwrap();
    let err = import_json(&mut s, &json).unwrap_err();
    let zh = err.message_zh();
    let (errors, _) = rows(err);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        errors[0].to_string(),
        format!(
            "tasks[1].lines[0].sscc (ASN-2): pallet SSCC {PALLET} is also on tasks[0] (ASN-1); a pallet belongs to one task (its lines may carry several lots)"
        )
    );
    assert!(
        zh.contains(&format!(
            "tasks[1].lines[0].sscc (ASN-2)：托盘 SSCC {PALLET} 也在 tasks[0] (ASN-1) 中"
        )),
        "{zh}"
    );

    // A task of the cache and a new task of the next file.
    let (_d, db, c) = imported(&with_master(&format!(r#""tasks": [{}]"#, asn("ASN-1", "MILK"))));
    drop(c);
    let mut s = Store::open(&db).unwrap();
    let err = import_json(&mut s, &format!(r#"{{"tasks": [{}]}}"#, asn("ASN-2", "AMOX"))).unwrap_err();
    let zh = err.message_zh();
    let (errors, _) = rows(err);
    assert_eq!(
        errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            "tasks[0].lines[0].sscc (ASN-2): pallet SSCC {PALLET} is also on task 'ASN-1' in the cache; a pallet belongs to one task (its lines may carry several lots)"
        )]
    );
    assert!(
        zh.contains(&format!(
            "tasks[0].lines[0].sscc (ASN-2)：托盘 SSCC {PALLET} 也在缓存中的任务“ASN-1”中；"
        )),
        "{zh}"
    );
    // Giving that task again with its pallet moved to the new task is fine, in either order.
    for tasks in [
        format!(
            r#"[{}, {{"id": "ASN-1", "kind": "receipt", "lines": [{{"item": "MILK", "qty": 1}}]}}]"#,
            asn("ASN-2", "AMOX")
        ),
        format!(
            r#"[{{"id": "ASN-1", "kind": "receipt", "lines": [{{"item": "MILK", "qty": 1}}]}}, {}]"#,
            asn("ASN-2", "AMOX")
        ),
    ] {
        let sum = import_json(&mut s, &format!(r#"{{"tasks": {tasks}}}"#)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sum.tasks, 2);
    }
    // The same task again with the same pallet on two lines (two lots) is fine too.
    let sum = import_json(
        &mut s,
        &format!(
            r#"{{"tasks": [{{"id": "ASN-2", "kind": "receipt", "lines": [
                {{"item": "AMOX", "qty": 1, "lot": "A1", "sscc": "{PALLET}"}},
                {{"item": "AMOX", "qty": 2, "lot": "A2", "sscc": "{PALLET}"}}]}}]}}"#
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sum.tasks, 1);
}

#[test]
fn tolerance_is_a_whole_percentage_for_receipts_only() {
    let tasks: Vec<String> = [
        ("receipt", "0"),
        ("receipt", "100"),
        ("receipt", "101"),
        ("receipt", "-1"),
        ("receipt", "2.5"),
        ("receipt", "\"5\""),
        ("pick", "3"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (kind, tol))| format!(r#"{{"id": "T{i}", "kind": "{kind}", "tolerance_pct": {tol}, "lines": []}}"#))
    .collect();
    let json = with_master(&format!(r#""tasks": [{}]"#, tasks.join(", ")));
    let mut s = Store::in_memory().unwrap();
    let (errors, _) = rows(import_json(&mut s, &json).unwrap_err());
    let en: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        en,
        [
            "tasks[2].tolerance_pct (T2): 101 is out of range; must be 0 to 100",
            "tasks[3].tolerance_pct (T3): -1 is out of range; must be 0 to 100",
            "tasks[4].tolerance_pct (T4): expected a whole number, found the number 2.5",
            "tasks[5].tolerance_pct (T5): expected a whole number, found the text \"5\"",
            "tasks[6].tolerance_pct (T6): only a receipt task takes this field, and this is a pick task",
        ]
    );
}

#[test]
fn locations_are_ambient_chilled_or_frozen() {
    let json = r#"{"locations": [
        {"code": "A-1", "warehouse": "W", "zone": "A"},
        {"code": "C-1", "warehouse": "W", "zone": "C", "storage": "chilled"},
        {"code": "F-1", "warehouse": "W", "zone": "F", "storage": "frozen", "kind": "quarantine"},
        {"code": "B-1", "warehouse": "W", "zone": "B", "storage": "ambient", "kind": "reserve"}
    ]}"#;
    let (_d, db, c) = imported(json);
    let got: Vec<(String, String)> = c
        .prepare("SELECT code, storage FROM locations ORDER BY code")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want = [
        ("A-1", "ambient"),
        ("B-1", "ambient"),
        ("C-1", "chilled"),
        ("F-1", "frozen"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    drop(c);

    use lotline::domain::text::Bilingual;
    let mut s = Store::open(&db).unwrap();
    let err = import_json(
        &mut s,
        r#"{"locations": [{"code": "C-1", "warehouse": "W", "zone": "C", "storage": "cold"},
                          {"code": "C-2", "warehouse": "W", "zone": "C", "storage": 4}]}"#,
    )
    .unwrap_err();
    let zh = err.message_zh();
    let en: Vec<String> = rows(err).0.iter().map(ToString::to_string).collect();
    assert_eq!(
        en,
        [
            "locations[0].storage (C-1): \"cold\" is not one of ambient, chilled, frozen",
            "locations[1].storage (C-2): expected text in quotes, found the number 4",
        ]
    );
    assert!(
        zh.contains("locations[0].storage (C-1)：“cold”不是 ambient、chilled、frozen 之一"),
        "{zh}"
    );
    drop(s);
    let c = rusqlite::Connection::open(&db).unwrap();
    let kept: String = c
        .query_row("SELECT storage FROM locations WHERE code = 'C-1'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "chilled", "a refused file changes nothing");
}

/// The locations of `task`, as `task_locations` has them.
fn task_locations(c: &rusqlite::Connection, task: &str) -> Vec<String> {
    c.prepare("SELECT location FROM task_locations WHERE task_id = ?1 ORDER BY location")
        .unwrap()
        .query_map([task], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A count task's blindness and zone.
fn blind_zone(c: &rusqlite::Connection, task: &str) -> (bool, Option<String>) {
    c.query_row("SELECT blind, zone FROM tasks WHERE id = ?1", [task], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

#[test]
fn count_tasks_keep_their_locations_zone_and_blindness_and_a_new_file_replaces_them() {
    // Tasks before the locations they name: checked once the whole file is read.
    let json = r#"{
      "tasks": [
        {"id": "CC-1", "kind": "count", "reference": "CYCLE-1", "locations": ["a-1", "A-2", "A-1"],
         "lines": [{"item": "MILK", "location": "B-1"}, {"item": "MILK", "lot": "M1", "location": "a-1", "qty": 4}, {"item": "AMOX"}]},
        {"id": "CC-2", "kind": "count", "zone": "Chilled", "blind": false},
        {"id": "PK-1", "kind": "pick", "lines": [{"item": "MILK", "location": "A-1", "qty": 2}]}
      ],
      "items": [
        {"id": "MILK", "name_en": "Milk 1 L", "name_zh": "牛奶 1升", "category": "fresh"},
        {"id": "AMOX", "name_en": "Amoxicillin", "name_zh": "阿莫西林", "category": "pharma"}
      ],
      "locations": [
        {"code": "A-1", "warehouse": "W", "zone": "A"}, {"code": "A-2", "warehouse": "W", "zone": "A"},
        {"code": "B-1", "warehouse": "W", "zone": "B", "kind": "reserve"},
        {"code": "C-1", "warehouse": "W", "zone": "Chilled", "storage": "chilled"}
      ]
    }"#;
    let (_d, db, c) = imported(json);
    assert_eq!(
        task_locations(&c, "CC-1"),
        ["A-1", "A-2", "B-1"],
        "given and the lines', each once"
    );
    assert_eq!(blind_zone(&c, "CC-1"), (true, None), "blind unless the file says not");
    assert_eq!(task_locations(&c, "CC-2"), Vec::<String>::new(), "a zone stays a zone");
    assert_eq!(blind_zone(&c, "CC-2"), (false, Some("Chilled".to_owned())));
    assert_eq!(
        task_locations(&c, "PK-1"),
        Vec::<String>::new(),
        "only count tasks have them"
    );
    let qty: Vec<i64> = c
        .prepare("SELECT qty_expected FROM task_lines WHERE task_id = 'CC-1' ORDER BY line_no")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(qty, [0, 4, 0], "a count line may leave its quantity out");
    drop(c);

    // Given again, a task's locations, zone and blindness are replaced; locations of the cache
    // may be named.
    let mut s = Store::open(&db).unwrap();
    import_json(
        &mut s,
        r#"{"tasks": [{"id": "CC-1", "kind": "count", "zone": "A", "blind": false, "lines": [{"item": "AMOX", "location": "C-1"}]},
                      {"id": "CC-2", "kind": "count", "locations": ["A-2"]}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    drop(s);
    let c = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(task_locations(&c, "CC-1"), ["C-1"]);
    assert_eq!(blind_zone(&c, "CC-1"), (false, Some("A".to_owned())));
    assert_eq!(task_locations(&c, "CC-2"), ["A-2"]);
    assert_eq!(blind_zone(&c, "CC-2"), (true, None));
}

#[test]
fn a_count_task_names_locations_and_a_zone_that_exist_and_a_pick_line_a_quantity() {
    use lotline::domain::text::Bilingual;
    let json = r#"{
      "items": [{"id": "MILK", "name_en": "Milk 1 L", "name_zh": "牛奶 1升", "category": "fresh"}],
      "locations": [{"code": "DOCK-1", "warehouse": "WH1", "zone": "R", "kind": "receiving"}, {"code": "BAD-2", "warehouse": "W"}],
      "tasks": [
        {"id": "CC-1", "kind": "count", "locations": ["DOCK-1", "NOPE-1", "BAD-2"]},
        {"id": "CC-2", "kind": "count", "zone": "ZZ"},
        {"id": "CC-3", "kind": "count", "zone": "R", "lines": [{"item": "MILK"}]},
        {"id": "CC-4", "kind": "count", "lines": [{"item": "MILK"}]},
        {"id": "PK-1", "kind": "pick", "zone": "R", "lines": [{"item": "MILK", "location": "DOCK-1"}]}
      ]
    }"#;
    let mut s = Store::in_memory().unwrap();
    let err = import_json(&mut s, json).unwrap_err();
    let zh = err.message_zh();
    let (errors, _) = rows(err);
    let en: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        en,
        [
            "locations[1].zone (BAD-2): is missing; this field is required",
            "tasks[3].locations (CC-4): a count task needs something to count: give locations (a list of location codes), a zone, or lines with a location",
            "tasks[4].zone (PK-1): only a count task takes this field, and this is a pick task",
            "tasks[4].lines[0].qty (PK-1): is missing; this field is required",
            "tasks[0].locations[1] (CC-1): location 'NOPE-1' is not defined (add it under locations)",
            "tasks[0].locations[2] (CC-1): location 'BAD-2' (locations[1]) was not imported because of its own problems",
            "tasks[1].zone (CC-2): no location is in zone 'ZZ' (add locations with this zone under locations)",
        ],
        "{en:#?}"
    );
    assert!(
        zh.contains("tasks[1].zone (CC-2)：库区“ZZ”中没有库位（请在 locations 中添加属于该库区的库位）"),
        "{zh}"
    );
    assert!(
        zh.contains("tasks[4].zone (PK-1)：只有盘点任务（count）才有此字段，此任务为 pick 任务"),
        "{zh}"
    );
    for t in ["tasks", "task_lines", "items", "locations"] {
        assert_eq!(s.count(t).unwrap(), 0, "{t}: nothing written");
    }
}

/// README's count task example imports on top of its main example (which tidy.rs imports).
#[test]
fn readme_count_example_imports() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("## Import format").expect("an Import format section")..];
    let blocks: Vec<&str> = section
        .split("```json\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()])
        .collect();
    let count = blocks
        .iter()
        .find(|b| b.contains(r#""kind": "count""#))
        .expect("a count task example");
    let (_d, db, c) = imported(blocks[0]);
    drop(c);
    let mut s = Store::open(&db).unwrap();
    let sum = import_json(&mut s, count).unwrap_or_else(|e| panic!("README count example: {e}"));
    assert_eq!(sum.tasks, 2);
    drop(s);
    let c = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(task_locations(&c, "CC-0001"), ["WH1-A-01-01", "WH1-R-01-01"]);
    assert_eq!(blind_zone(&c, "CC-0002"), (false, Some("A".to_owned())));
    let tol: String = c
        .query_row("SELECT count_tolerance FROM items WHERE id = 'P001'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tol, "5%");
}

#[test]
fn count_tolerance_is_kept_as_units_or_a_percentage() {
    let item =
        |id: &str, tol: &str| format!(r#"{{"id": "{id}", "name_en": "n", "name_zh": "名", "category": "c"{tol}}}"#);
    let json = format!(
        r#"{{"items": [{}, {}, {}, {}]}}"#,
        item("U", r#", "count_tolerance": 2"#),
        item("T", r#", "count_tolerance": "03""#),
        item("P", r#", "count_tolerance": "5%""#),
        item("N", "")
    );
    let (_d, db, c) = imported(&json);
    let tol = |c: &rusqlite::Connection, id: &str| -> Option<String> {
        c.query_row("SELECT count_tolerance FROM items WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        ["U", "T", "P", "N"].map(|id| tol(&c, id)),
        [s("2"), s("3"), s("5%"), None]
    );
    drop(c);
    // An item given again without one has none; a bad one changes nothing.
    let mut st = Store::open(&db).unwrap();
    import_json(&mut st, &format!(r#"{{"items": [{}]}}"#, item("P", ""))).unwrap();
    let err = import_json(
        &mut st,
        &format!(r#"{{"items": [{}]}}"#, item("U", r#", "count_tolerance": "two""#)),
    )
    .unwrap_err();
    assert_eq!(
        rows(err).0[0].to_string(),
        "items[0].count_tolerance (U): expected a whole number of units (2 or \"2\") or a percentage of the expected quantity (\"5%\", 0 to 100), found the text \"two\""
    );
    drop(st);
    let c = rusqlite::Connection::open(&db).unwrap();
    assert_eq!((tol(&c, "P"), tol(&c, "U")), (None, s("2")));
}

/// README's demo operators and ASNs are in the demo data: an operator with each role (PINs as
/// documented), ASN-0001's pallets (one with two lots), and locations for every storage condition.
#[test]
fn demo_data_has_an_operator_for_every_role_and_asn_pallets() {
    use lotline::domain::ids::Sscc;
    use lotline::store::demo;
    use lotline::store::import::read::ROLES;
    use lotline::store::pin::verify_pin;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut s = Store::create(&db).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let sum = demo::generate(&mut s, 300, 3, today).unwrap();
    drop(s);
    assert_eq!(sum.operators, 6);
    let c = rusqlite::Connection::open(&db).unwrap();
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };

    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for (id, pin, role) in [
        ("recv1", "1111", "receiver"),
        ("pick1", "2222", "picker"),
        ("check1", "3333", "checker"),
        ("count1", "4444", "counter"),
        ("count2", "5555", "counter"),
        ("super1", "9999", "supervisor"),
    ] {
        let (hash, roles): (String, String) = c
            .query_row("SELECT pin_hash, roles FROM operators WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert!(verify_pin(&hash, pin), "{id}");
        assert!(roles.split(',').any(|r| r == role), "{id}: {roles}");
        assert!(
            readme.contains(&format!("| `{id}` |")) && readme.contains(&format!("| `{pin}` |")),
            "README documents {id} and its PIN"
        );
    }
    for role in ROLES {
        let n = q(&format!(
            "SELECT COUNT(*) FROM operators WHERE ',' || roles || ',' LIKE '%,{role},%'"
        ));
        assert!(n >= 1, "no operator with role {role}");
    }
    let (super_roles,): (String,) = c
        .query_row("SELECT roles FROM operators WHERE id = 'super1'", [], |r| {
            Ok((r.get(0)?,))
        })
        .unwrap();
    assert_eq!(super_roles, ROLES.join(","));

    // ASN-0001: 5 % tolerance; one pallet with two lots, one with one, one line without detail.
    assert_eq!(
        q("SELECT tolerance_pct FROM tasks WHERE id = 'ASN-0001' AND kind = 'receipt'"),
        5
    );
    /// sscc, lot, expiry, item
    type Line = (Option<String>, Option<String>, Option<String>, String);
    let lines: Vec<Line> = c
        .prepare("SELECT sscc, lot, expiry, item_id FROM task_lines WHERE task_id = 'ASN-0001' ORDER BY line_no")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let ssccs: Vec<&str> = lines.iter().filter_map(|l| l.0.as_deref()).collect();
    assert_eq!(ssccs.len(), 3, "{lines:?}");
    for sscc in &ssccs {
        assert!(Sscc::new(sscc).is_ok(), "{sscc}");
    }
    assert_eq!(ssccs[0], ssccs[1], "a pallet of two lots");
    assert_ne!(lines[0].1, lines[1].1);
    assert_ne!(ssccs[1], ssccs[2]);
    for l in &lines[..3] {
        let expiry = l.2.as_deref().expect("an expiry");
        assert!(expiry > "2026-11-21" && l.1.is_some(), "{l:?}");
    }
    assert_eq!((&lines[3].0, &lines[3].1, &lines[3].2), (&None, &None, &None));
    assert_eq!(demo::demo_sscc(1), ssccs[0]);
    for sscc in &ssccs {
        assert!(readme.contains(&format!("(`{sscc}`)")), "README lists pallet {sscc}");
    }
    // No pallet is on two tasks.
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM (SELECT sscc FROM task_lines WHERE sscc IS NOT NULL
           GROUP BY sscc HAVING COUNT(DISTINCT task_id) > 1)"
        ),
        0
    );
    // ASN-0002: a regulated item, one that requires QC, a chilled one; every ASN item has a GTIN.
    for (flag, sql) in [
        ("regulated", "i.regulated = 1"),
        ("requires_qc", "i.requires_qc = 1"),
        ("chilled", "i.storage = 'chilled'"),
    ] {
        let n = q(&format!(
            "SELECT COUNT(*) FROM task_lines l JOIN items i ON i.id = l.item_id WHERE l.task_id = 'ASN-0002' AND {sql}"
        ));
        assert!(n >= 1, "ASN-0002 has no {flag} item");
    }
    assert_eq!(
        q("SELECT COUNT(*) FROM task_lines l WHERE l.task_id LIKE 'ASN-%'
           AND NOT EXISTS (SELECT 1 FROM barcodes b WHERE b.item_id = l.item_id AND b.kind = 'gtin')"),
        0
    );

    // Every storage condition of the items has a pick or reserve location and a quarantine one,
    // there is a receiving dock, and stock sits where its storage condition is kept.
    for storage in ["ambient", "chilled", "frozen"] {
        for kinds in ["'pick', 'reserve'", "'quarantine'"] {
            let n = q(&format!(
                "SELECT COUNT(*) FROM locations WHERE storage = '{storage}' AND kind IN ({kinds})"
            ));
            assert!(n >= 1, "{storage} {kinds}");
        }
    }
    assert!(q("SELECT COUNT(*) FROM locations WHERE kind = 'receiving'") >= 1);
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM stock s JOIN lots l ON l.id = s.lot_id JOIN items i ON i.id = l.item_id
           JOIN locations loc ON loc.code = s.location WHERE loc.storage <> i.storage"
        ),
        0
    );
}

/// The lot the pick gate suggests for a line (issue 9's rule): stock of `item` in pick locations
/// (at `location` only, if the line names one), released, not expired, with at least `min_days`
/// left; the earliest expiry with `qty` or more, else the earliest with any.
fn suggestion(
    c: &rusqlite::Connection,
    today: &str,
    item: &str,
    location: Option<&str>,
    min_days: i64,
    qty: i64,
) -> Option<(String, String)> {
    c.query_row(
        "SELECT l.lot, s.location FROM stock s JOIN lots l ON l.id = s.lot_id JOIN locations loc ON loc.code = s.location
         WHERE l.item_id = ?1 AND loc.kind = 'pick' AND l.status = 'released' AND s.qty > 0
           AND l.expiry >= date(?2, '+' || ?3 || ' days') AND (?4 IS NULL OR s.location = ?4)
         ORDER BY s.qty < ?5, l.expiry LIMIT 1",
        rusqlite::params![item, today, min_days, location, qty],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .unwrap()
}

/// The demo data shows off the pick and count gates: picks whose FEFO lot changes with the
/// customer's minimum shelf life, a regulated line (GSP second check), a serialised one with
/// every unit registered, a near-expiry lot that may still be picked, enough stock for every
/// line; a blind count of a few locations of several lots, and an open RFID count of tagged
/// units the simulated reader carries; a second counter for recounts, count tolerances.
#[test]
fn demo_data_has_pick_and_count_tasks_that_show_the_gates() {
    use lotline::domain::policy::near_expiry_tier;
    use lotline::store::demo;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut s = Store::create(&db).unwrap();
    let today = "2026-11-21";
    let date = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    demo::generate(&mut s, 2000, 3, date(today)).unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();

    /// task, line, item, location, qty, the customer's minimum days
    type PickLine = (String, i64, String, Option<String>, i64, i64);
    let lines: Vec<PickLine> = c
        .prepare(
            "SELECT l.task_id, l.line_no, l.item_id, l.location, l.qty_expected, COALESCE(c.min_remaining_days, 0)
             FROM task_lines l JOIN tasks t ON t.id = l.task_id LEFT JOIN customers c ON c.id = t.customer_id
             WHERE t.kind = 'pick' ORDER BY l.task_id, l.line_no",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let customer = |t: &str| -> Option<String> {
        c.query_row("SELECT customer_id FROM tasks WHERE id = ?1", [t], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        (customer("PK-0001").as_deref(), customer("PK-0002").as_deref()),
        (Some("C001"), Some("C002"))
    );
    let (mut differs, mut regulated, mut serialised, mut near) = (vec![], vec![], vec![], vec![]);
    for (task, line, item, location, qty, min) in &lines {
        assert!(*qty >= 1, "{task} line {line}");
        let with_min = suggestion(&c, today, item, location.as_deref(), *min, *qty);
        let plain = suggestion(&c, today, item, location.as_deref(), 0, *qty);
        let (lot, at) = with_min
            .clone()
            .unwrap_or_else(|| panic!("{task} line {line}: no lot to pick"));
        let held: i64 = c
            .query_row(
                "SELECT s.qty FROM stock s JOIN lots l ON l.id = s.lot_id WHERE l.item_id = ?1 AND l.lot = ?2 AND s.location = ?3",
                [item, &lot, &at],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            held >= *qty,
            "{task} line {line}: {held} of {item} {lot} at {at}, {qty} to pick"
        );
        let it = s.item_by_id(item).unwrap().unwrap();
        let name = format!("{task} line {line} {item}");
        if plain != with_min {
            differs.push((name.clone(), plain.map(|p| p.0), lot.clone()));
        }
        if it.regulated {
            regulated.push(name.clone());
        }
        if it.serialized {
            // Every unit at the location is in the serial registry, with its lot.
            let registered: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM serials r JOIN lots l ON l.id = r.lot_id WHERE l.item_id = ?1 AND l.lot = ?2",
                    [item, &lot],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(registered >= held, "{name}: {registered} serials for {held} units");
            serialised.push(name.clone());
        }
        let expiry: String = c
            .query_row(
                "SELECT expiry FROM lots WHERE item_id = ?1 AND lot = ?2",
                [item, &lot],
                |r| r.get(0),
            )
            .unwrap();
        let left = (date(&expiry) - date(today)).num_days();
        if near_expiry_tier(&it.near_expiry_days, left).is_some() {
            near.push((name, lot));
        }
    }
    let name = |t: &str, l: i64, i: &str| format!("{t} line {l} {i}");
    assert_eq!(
        differs,
        [
            (name("PK-0001", 3, "P002"), Some("B2503".into()), "B2509".into()),
            (name("PK-0002", 1, "F001"), Some("L2402".into()), "L2405".into()),
        ]
    );
    assert_eq!(
        near,
        [
            (name("PK-0001", 3, "P002"), "B2509".into()),
            (name("PK-0002", 2, "F002"), "U2501".into()),
        ]
    );
    assert_eq!(serialised, [name("PK-0001", 4, "P003")]);
    assert!(
        regulated.len() >= 4 && regulated.iter().all(|r| r.starts_with("PK-0001")),
        "{regulated:?}"
    );

    // Counts: CC-0001 blind over a few locations of several lots each; CC-0002 open, over one
    // location of RFID-tagged units, every one registered and carried by the simulated reader.
    let locations = |t: &str| -> Vec<(String, i64)> {
        c.prepare(
            "SELECT tl.location, (SELECT COUNT(*) FROM stock s WHERE s.location = tl.location AND s.qty > 0)
             FROM task_locations tl WHERE tl.task_id = ?1 ORDER BY 1",
        )
        .unwrap()
        .query_map([t], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let blind = |t: &str| -> bool {
        c.query_row("SELECT blind FROM tasks WHERE id = ?1 AND kind = 'count'", [t], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let cc1 = locations("CC-0001");
    assert!(blind("CC-0001") && (2..=4).contains(&cc1.len()), "{cc1:?}");
    assert!(cc1.iter().all(|(_, lots)| *lots >= 2), "{cc1:?}");
    let cc2 = locations("CC-0002");
    assert!(!blind("CC-0002") && cc2.len() == 1, "{cc2:?}");
    let tagged: Vec<(String, String)> = c
        .prepare(
            "SELECT b.code, r.serial FROM stock s JOIN lots l ON l.id = s.lot_id JOIN items i ON i.id = l.item_id
             JOIN serials r ON r.lot_id = l.id JOIN barcodes b ON b.item_id = i.id AND b.kind = 'gtin'
             WHERE s.location = ?1 AND i.serialized = 1 ORDER BY r.serial",
        )
        .unwrap()
        .query_map([&cc2[0].0], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let units: i64 = c
        .query_row("SELECT SUM(qty) FROM stock WHERE location = ?1", [&cc2[0].0], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(tagged.len() as i64, units, "every unit at {} is tagged", cc2[0].0);
    let carried = s.serialized_units(40).unwrap();
    assert!(
        tagged.iter().all(|t| carried.contains(t)),
        "{tagged:?} not all in {carried:?}"
    );
    assert!(
        carried.iter().any(|(g, _)| *g == demo::demo_gtin(10)),
        "Amoxicillin's tags are still carried too"
    );
    // Locations of the named lots hold no random lots.
    assert_eq!(
        c.query_row(
            "SELECT COUNT(*) FROM stock s JOIN lots l ON l.id = s.lot_id
             WHERE s.location IN (SELECT location FROM task_locations) AND l.lot GLOB '[A-Z][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap(),
        0
    );
    let tolerances: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM items WHERE count_tolerance IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(tolerances >= 2);
}
