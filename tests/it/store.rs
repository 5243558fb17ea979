//! The SQLite cache: migrations from an empty file, round trips, import, demo data, bad files.

use chrono::NaiveDate;
use lotline::domain::lot::{LotStatus, MinRemaining, Storage};
use lotline::store::import::{ImportError, import_json};
use lotline::store::{MIGRATIONS, ScanRecord, Store, StoreError, demo};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const SAMPLE: &str = r#"{
  "categories": [{"id": "fresh", "near_expiry_days": [7, 3]}],
  "items": [
    {"id": "MILK", "name_en": "Milk 1 L", "name_zh": "牛奶 1升", "gtins": ["9501101530003"], "category": "fresh",
     "shelf_life_days": 30, "min_remaining_days_receipt": 10, "requires_qc": false, "serialized": false, "regulated": false,
     "storage": "chilled"},
    {"id": "AMOX", "name_en": "Amoxicillin", "name_zh": "阿莫西林", "gtins": ["09506000134352"], "aliases": ["SKU-AMOX"],
     "category": "pharma", "shelf_life_days": 730, "min_remaining_pct_receipt": 50, "near_expiry_days": [90, 30, 7],
     "requires_qc": true, "serialized": false, "regulated": true}
  ],
  "lots": [
    {"item": "MILK", "lot": "M1", "expiry": "2026-11-25", "production_date": "2026-10-26", "status": "released"},
    {"item": "AMOX", "lot": "A1", "expiry": "2027-12-31", "status": "quarantine"}
  ],
  "locations": [{"code": "wh1-a-01", "warehouse": "WH1", "zone": "A"}, {"code": "WH1-Q-01", "warehouse": "WH1", "zone": "Q", "kind": "quarantine"}],
  "stock": [{"location": "WH1-A-01", "item": "MILK", "lot": "M1", "qty": 12}, {"location": "WH1-Q-01", "item": "AMOX", "lot": "A1", "qty": 5}],
  "customers": [{"id": "C1", "name": "Shop", "min_remaining_days": 3}]
}"#;

#[test]
fn migrations_run_from_an_empty_file_and_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    std::fs::File::create(&path).unwrap(); // creating a cache may start from an empty file
    let mut s = Store::create(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    import_json(&mut s, "{}").unwrap(); // the first load, empty, finishes the creation
    drop(s);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    for t in [
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
        "sync_state",
    ] {
        assert_eq!(s.count(t).unwrap(), 0, "{t}");
    }
}

#[test]
fn a_missing_file_says_how_to_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Missing { .. }));
    let msg = err.to_string();
    assert!(msg.contains("nope.db") && msg.contains("lotline demo-data"), "{msg}");
    assert!(!path.exists(), "open must not create the file");
}

#[test]
fn a_corrupt_file_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.db");
    std::fs::write(
        &path,
        b"this is not a database, just some text that fills a page ".repeat(100),
    )
    .unwrap();
    let err = Store::open(&path).err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(msg.contains("bad.db") && msg.contains("recreate"), "{msg}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(Store::create(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::TooNew { found: 999, .. }), "{err:?}");
}

#[test]
fn import_round_trips_through_the_scan_path_queries() {
    let mut s = Store::in_memory().unwrap();
    let sum = import_json(&mut s, SAMPLE).unwrap();
    assert_eq!(
        (
            sum.items,
            sum.lots,
            sum.locations,
            sum.stock,
            sum.customers,
            sum.barcodes
        ),
        (2, 2, 2, 2, 1, 3)
    );

    let milk = s.item_by_code("09501101530003").unwrap().unwrap();
    assert_eq!(milk.id, "MILK");
    assert_eq!(milk.name_zh, "牛奶 1升");
    assert_eq!(milk.near_expiry_days, vec![7, 3], "category tiers");
    assert_eq!(milk.min_remaining_receipt, Some(MinRemaining::Days(10)));
    assert_eq!(milk.storage, Storage::Chilled);

    let amox = s.item_by_code("SKU-AMOX").unwrap().unwrap();
    assert_eq!(amox.id, "AMOX");
    assert_eq!(amox.near_expiry_days, vec![90, 30, 7], "item override");
    assert_eq!(amox.min_remaining_receipt, Some(MinRemaining::Percent(50)));
    assert!(amox.requires_qc && amox.regulated);

    let lot = s.lot("MILK", "M1").unwrap().unwrap();
    assert_eq!(lot.expiry, Some(d("2026-11-25")));
    assert_eq!(lot.production_date, Some(d("2026-10-26")));
    assert_eq!(s.lot("AMOX", "A1").unwrap().unwrap().status, LotStatus::Quarantine);
    assert!(s.lot("MILK", "nope").unwrap().is_none());

    let stock = s.stock_of_lot("MILK", "M1").unwrap();
    assert_eq!(stock.len(), 1);
    assert_eq!(
        (stock[0].location.as_str(), stock[0].qty),
        ("WH1-A-01", 12),
        "location codes are upper-cased"
    );

    let fefo = s.fefo_candidate("MILK", d("2026-11-21")).unwrap().unwrap();
    assert_eq!(fefo.lot.as_str(), "M1");
    assert!(
        s.fefo_candidate("MILK", d("2026-11-26")).unwrap().is_none(),
        "expired lots are not FEFO candidates"
    );
    assert!(
        s.fefo_candidate("AMOX", d("2026-11-21")).unwrap().is_none(),
        "quarantined stock is not"
    );

    // Importing again updates in place.
    import_json(&mut s, &SAMPLE.replace("\"qty\": 12", "\"qty\": 7")).unwrap();
    assert_eq!(s.stock_of_lot("MILK", "M1").unwrap()[0].qty, 7);
    assert_eq!(s.count("lots").unwrap(), 2);
}

#[test]
fn import_is_all_or_nothing_with_row_level_errors() {
    let mut s = Store::in_memory().unwrap();
    let bad = SAMPLE
        .replace("\"9501101530003\"", "\"9501101530004\"")
        .replace("\"expiry\": \"2027-12-31\"", "\"expiry\": \"2027-13-01\"")
        .replace("\"status\": \"quarantine\"", "\"status\": \"frozen\"")
        .replace("\"lot\": \"M1\", \"qty\": 12", "\"lot\": \"M9\", \"qty\": 12");
    let err = import_json(&mut s, &bad).err().unwrap();
    let ImportError::Rows { errors: rows, more: 0 } = &err else {
        panic!("{err}")
    };
    let text = err.to_string();
    assert!(text.contains("nothing was imported"), "{text}");
    let has = |rec: &str, field: &str, why: &str| {
        rows.iter()
            .any(|r| r.record == rec && r.field.as_deref() == Some(field) && r.why.to_string().contains(why))
    };
    assert!(has("items[0]", "gtins[0]", "check digit"), "{rows:#?}");
    assert!(has("lots[1]", "expiry", "2027-13-01"), "{rows:#?}");
    assert!(has("lots[1]", "status", "frozen"), "{rows:#?}");
    assert!(has("stock[0]", "lot", "M9"), "{rows:#?}");
    assert!(has("lots[0]", "item", "MILK"), "lot of a rejected item: {rows:#?}");
    assert_eq!(
        rows[0].to_string().split(':').next().unwrap(),
        "items[0].gtins[0] (MILK)"
    );
    for t in ["items", "lots", "locations", "stock", "customers", "barcodes"] {
        assert_eq!(s.count(t).unwrap(), 0, "{t} must be empty after a failed import");
    }
}

#[test]
fn import_reports_unknown_fields_and_bad_json() {
    let mut s = Store::in_memory().unwrap();
    let err = import_json(
        &mut s,
        r#"{"items": [{"id": "X", "name_en": "x", "name_zh": "x", "category": "c", "shelf_life": 3}]}"#,
    )
    .err()
    .unwrap();
    let ImportError::Rows { errors: rows, .. } = err else {
        panic!()
    };
    assert_eq!(rows[0].record, "items[0]");
    assert_eq!(rows[0].field.as_deref(), Some("shelf_life"));
    assert!(matches!(
        import_json(&mut s, "{not json").err().unwrap(),
        ImportError::Json(_)
    ));
    assert!(
        import_json(&mut s, r#"{"itemz": []}"#)
            .err()
            .unwrap()
            .to_string()
            .contains("unknown section")
    );
}

#[test]
fn demo_data_spreads_lots_over_every_status_and_expiry_band() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    let mut s = Store::create(&path).unwrap();
    let today = d("2026-11-21");
    let sum = demo::generate(&mut s, 3000, 1, today).unwrap();
    assert_eq!(s.count("lots").unwrap() as usize, sum.lots);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let q = |sql: &str| -> i64 { raw.query_row(sql, [], |r| r.get(0)).unwrap() };
    for st in ["released", "quarantine", "on_hold", "recalled", "rejected"] {
        assert!(
            q(&format!("SELECT COUNT(*) FROM lots WHERE status = '{st}'")) > 0,
            "{st}"
        );
    }
    assert!(
        q("SELECT COUNT(*) FROM lots WHERE expiry < '2026-11-21'") > 0,
        "expired"
    );
    assert!(
        q("SELECT COUNT(*) FROM lots WHERE expiry BETWEEN '2026-11-21' AND '2027-01-20'") > 0,
        "near expiry"
    );
    assert_eq!(
        q("SELECT COUNT(DISTINCT substr(code, 1, 3)) FROM locations"),
        2,
        "two warehouses"
    );
    assert!(q("SELECT COUNT(*) FROM tasks WHERE kind = 'pick'") >= 1);
    assert!(q("SELECT COUNT(*) FROM tasks WHERE kind = 'count'") >= 1);
    assert!(q("SELECT COUNT(*) FROM customers") >= 3);
    // Every GTIN has a valid check digit and every item both names.
    let gtins: Vec<String> = {
        let mut st = raw.prepare("SELECT code FROM barcodes WHERE kind = 'gtin'").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert!(gtins.len() >= 20);
    for g in gtins {
        assert!(lotline::domain::ids::Gtin::new(&g).is_ok(), "{g}");
    }
    assert_eq!(q("SELECT COUNT(*) FROM items WHERE name_zh = '' OR name_en = ''"), 0);
    assert_eq!(demo::stored_scans(&s).unwrap().len(), sum.scans.len());
    // Same seed, same data.
    let path2 = dir.path().join("demo2.db");
    let mut s2 = Store::create(&path2).unwrap();
    demo::generate(&mut s2, 3000, 1, today).unwrap();
    let sig = |p: &std::path::Path| -> String {
        rusqlite::Connection::open(p)
            .unwrap()
            .query_row(
                "SELECT group_concat(lot || expiry || status, ',') FROM (SELECT * FROM lots ORDER BY id LIMIT 50)",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(sig(&path), sig(&path2));
}

#[test]
fn recording_a_scan_writes_audit_and_outbox_atomically() {
    let mut s = Store::in_memory().unwrap();
    let rec = ScanRecord {
        at: "2026-11-21T09:30:00+08:00".into(),
        operator: "wang".into(),
        gate: "pick".into(),
        scan: "(01)09501101530003(10)M1".into(),
        verdict: "reject".into(),
        reason_codes: vec!["expired".into()],
        item_id: Some("MILK".into()),
        lot: Some("M1".into()),
        task_id: None,
        customer_id: None,
    };
    let id1 = s.record_scan(&rec).unwrap();
    let id2 = s.record_scan(&rec).unwrap();
    assert_ne!(id1, id2, "each command has its own idempotency key");
    assert_eq!(s.count("audit_log").unwrap(), 2);
    assert_eq!(s.outbox_pending().unwrap(), 2);
    let (_, gate, scan, verdict, reasons) = s.recent_audit(1).unwrap().remove(0);
    assert_eq!(
        (gate.as_str(), scan.as_str(), verdict.as_str(), reasons.as_str()),
        ("pick", "(01)09501101530003(10)M1", "reject", "[\"expired\"]")
    );
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(&dir.path().join("full.db")).unwrap();
    let rec = ScanRecord {
        at: "2026-11-21T09:30:00+08:00".into(),
        operator: "wang".into(),
        gate: "pick".into(),
        scan: "(01)09501101530003(10)M1".into(),
        verdict: "accept".into(),
        reason_codes: vec![],
        item_id: None,
        lot: None,
        task_id: None,
        customer_id: None,
    };
    s.record_scan(&rec).unwrap();
    s.cap_size(s.page_count().unwrap()).unwrap();
    let mut failed = None;
    for _ in 0..10_000 {
        if let Err(e) = s.record_scan(&rec) {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("the capped database must fill up");
    assert!(matches!(err, StoreError::Full { .. }), "{err:?}");
    assert!(
        err.to_string().contains("out of space") && err.to_string().contains("nothing was lost"),
        "{err}"
    );
    let kept = s.count("audit_log").unwrap();
    assert_eq!(
        s.count("outbox").unwrap(),
        kept,
        "audit and outbox stay in step: the failed write left no half"
    );
    s.cap_size(1_000_000).unwrap();
    s.record_scan(&rec).unwrap();
    assert_eq!(s.count("audit_log").unwrap(), kept + 1);
}
