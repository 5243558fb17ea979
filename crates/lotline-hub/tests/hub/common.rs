//! The stores every test runs on, fixtures and small helpers.

#[cfg(feature = "postgres")]
use std::sync::atomic::{AtomicUsize, Ordering};

use lotline_hub::Store;
use lotline_protocol::CommandEnvelope;
use serde_json::{Value, json};

/// A database for one test: a SQLite file in a temporary directory, or a fresh PostgreSQL schema
/// (dropped when the test is done with it).
pub struct Db {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pg: Option<(String, String)>,
}

#[cfg(feature = "postgres")]
impl Drop for Db {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.pg
            && let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!(
                "SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE"
            ));
        }
    }
}

#[cfg(feature = "postgres")]
static N: AtomicUsize = AtomicUsize::new(0);

/// SQLite always; PostgreSQL when `LOTLINE_TEST_PG` is set.
pub fn dbs(test: &str) -> Vec<Db> {
    let dir = tempfile::tempdir().unwrap();
    #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
    let mut v = vec![Db {
        name: "sqlite",
        url: dir.path().join("hub.db").display().to_string(),
        _dir: Some(dir),
        pg: None,
    }];
    match std::env::var("LOTLINE_TEST_PG") {
        #[cfg(feature = "postgres")]
        Ok(url) if !url.is_empty() => v.push(pg(&url, test)),
        #[cfg(not(feature = "postgres"))]
        Ok(url) if !url.is_empty() => eprintln!("{test}: PostgreSQL skipped: built without the postgres feature"),
        _ => eprintln!("{test}: PostgreSQL skipped: LOTLINE_TEST_PG unset"),
    }
    v
}

#[cfg(feature = "postgres")]
fn pg(url: &str, test: &str) -> Db {
    let schema = format!(
        "t_{}_{}_{}",
        test,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("LOTLINE_TEST_PG connects");
    c.batch_execute(&format!(
        "SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    Db {
        name: "postgres",
        url: format!("{url}{sep}options=-csearch_path%3D{schema}"),
        _dir: None,
        pg: Some((url.to_string(), schema)),
    }
}

pub const MASTER: &str = r#"{
  "categories": [{"id": "food", "near_expiry_days": [7, 3]}],
  "items": [
    {"id": "F200", "name_en": "Jasmine rice 5 kg", "name_zh": "茉莉香米 5公斤", "gtins": ["06901234500028"],
     "category": "food", "storage": "ambient"},
    {"id": "S700", "name_en": "Glucose meter", "name_zh": "血糖仪", "gtins": ["06901234500073"],
     "category": "food", "serialized": true}
  ],
  "lots": [
    {"item": "F200", "lot": "L2311", "expiry": "2027-09-30", "status": "released"},
    {"item": "F200", "lot": "L2312", "expiry": "2027-10-31", "status": "released"},
    {"item": "S700", "lot": "G1", "status": "released"}
  ],
  "customers": [{"id": "C1", "name": "Hospital One"}],
  "serials": [{"item": "S700", "serial": "1001", "lot": "G1"}]
}"#;

pub const SITE: &str = r#"{
  "locations": [
    {"code": "A-01", "warehouse": "WH1", "zone": "A", "kind": "pick"},
    {"code": "DOCK-1", "warehouse": "WH1", "zone": "R", "kind": "receiving"}
  ],
  "stock": [{"location": "A-01", "item": "F200", "lot": "L2311", "qty": 100}],
  "operators": [{"id": "pick1", "name": "Li Wei", "pin": "2222", "roles": ["picker"]}],
  "tasks": [{"id": "SO-1", "kind": "pick", "customer": "C1", "reference": "ORD-9",
             "lines": [{"item": "F200", "qty": 12, "location": "A-01"}]}]
}"#;

/// A store with the master data (global) and site S1's data.
pub fn seeded(db: &Db) -> Store {
    let store = Store::open(&db.url).unwrap();
    lotline_hub::import_json(&store, MASTER.as_bytes(), None).unwrap();
    lotline_hub::import_json(&store, SITE.as_bytes(), Some("S1")).unwrap();
    store
}

/// A device of `site`, enrolled through the library: (id, token).
pub fn device(store: &Store, site: &str) -> (String, String) {
    let code = lotline_hub::enroll_code(store, site, chrono::Duration::hours(1)).unwrap();
    let r = lotline_hub::enroll(
        store,
        &lotline_protocol::sync::EnrollRequest {
            code,
            name: Some("test".into()),
            schema_version: 1,
            protocol_version: 1,
        },
    )
    .unwrap();
    (r.device_id, r.token)
}

pub fn cmd(device: &str, seq: i64, kind: &str, payload: Value) -> CommandEnvelope {
    CommandEnvelope {
        id: format!("{device}-{seq}-{kind}"),
        device_id: device.into(),
        seq,
        kind: kind.into(),
        schema_version: 1,
        created_at: "2026-12-01T10:42:00.000+08:00".into(),
        operator: Some("pick1".into()),
        payload,
    }
}

pub fn pick(device: &str, seq: i64, lot: &str, qty: u32) -> CommandEnvelope {
    cmd(
        device,
        seq,
        "pick",
        json!({"task": "SO-1", "line": 1, "item": "F200", "lot": lot, "location": "A-01", "qty": qty,
               "serials": [], "verdict": "ok", "warnings": [], "override_reason": null, "customer": null}),
    )
}

pub fn putaway(device: &str, seq: i64, qty: u32) -> CommandEnvelope {
    cmd(
        device,
        seq,
        "putaway",
        json!({"task": null, "item": "F200", "lot": "L2311", "qty": qty, "from": "A-01", "to": "DOCK-1"}),
    )
}

pub fn scan(device: &str, seq: i64) -> CommandEnvelope {
    cmd(
        device,
        seq,
        "scan",
        json!({"gate": "pick", "task": null, "scan": "x", "verdict": "ok", "reasons": [], "item": null, "lot": null}),
    )
}

pub fn stock(store: &Store, lot: &str, location: &str) -> i64 {
    store
        .read(|tx| {
            tx.one(
                "SELECT qty FROM stock WHERE item = 'F200' AND lot = $1 AND location = $2",
                &[lot.into(), location.into()],
            )
        })
        .unwrap()
        .map(|r| r[0].int())
        .unwrap_or(0)
}

pub fn count(store: &Store, sql: &str) -> i64 {
    store.read(|tx| tx.one(sql, &[])).unwrap().unwrap()[0].int()
}
