//! Sync end to end: the built `lotline` binary against a real lotline-hub on loopback (an
//! embedded hub on SQLite; on PostgreSQL too when `LOTLINE_TEST_PG` names a database).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{lotline, lotline_in, stderr, stdout};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/outbound.json");
const NOW: &str = "2026-12-01T10:42:00+08:00";
const GTIN_F200: &str = "06901234500028";

struct Hub {
    store: lotline_hub::Store,
    server: Option<lotline_hub::EmbeddedHub>,
    url: String,
}

impl Hub {
    /// A hub on `target` (a SQLite path or a postgres:// URL) with the fixture imported for site S1.
    fn start(target: &str, fixture: &Path) -> Hub {
        let store = lotline_hub::Store::open(target).expect("hub store");
        lotline_hub::import_json(&store, std::fs::File::open(fixture).unwrap(), Some("S1")).expect("hub import");
        let server = lotline_hub::EmbeddedHub::start(store.clone(), "127.0.0.1:0").expect("hub start");
        let url = server.url.clone();
        Hub {
            store,
            server: Some(server),
            url,
        }
    }

    fn code(&self) -> String {
        lotline_hub::enroll_code(&self.store, "S1", chrono::Duration::minutes(10)).expect("enrol code")
    }

    fn commands(&self, hub_db: &Path) -> Vec<(i64, String, String)> {
        let c = rusqlite::Connection::open(hub_db).unwrap();
        let mut st = c
            .prepare("SELECT seq, id, outcome FROM commands WHERE dup = 0 ORDER BY device_id, seq")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

fn json_line(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "lotline failed: {}\n{}", stdout(o), stderr(o));
    let out = stdout(o);
    let last = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no output; stderr: {}", stderr(o)));
    serde_json::from_str(last).unwrap()
}

fn device(dir: &Path) -> PathBuf {
    let db = dir.join("device.db");
    let o = lotline(&["import", "--db", db.to_str().unwrap(), FIXTURE]);
    assert!(o.status.success(), "{}", stderr(&o));
    db
}

fn enroll(db: &Path, hub: &Hub) -> Value {
    let code = hub.code();
    json_line(&lotline(&[
        "enroll",
        "--db",
        db.to_str().unwrap(),
        "--server",
        &hub.url,
        "--code",
        &code,
    ]))
}

fn sync_once(db: &Path) -> Value {
    json_line(&lotline(&["sync", "--db", db.to_str().unwrap(), "--once"]))
}

fn script(db: &Path, lines: &[Value]) -> Vec<Value> {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let o = lotline_in(
        &[
            "run-script",
            "--db",
            db.to_str().unwrap(),
            "--script",
            "-",
            "--now",
            NOW,
        ],
        Some(&text),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn pick(task: &str, location: &str, lot: &str, qty: u32) -> Vec<Value> {
    use serde_json::json;
    vec![
        json!({"op": "login", "operator": "pick1", "pin": "2222"}),
        json!({"op": "start", "gate": "pick", "task": task}),
        json!({"op": "scan", "data": location}),
        json!({"op": "scan", "data": format!("(01){GTIN_F200}(10){lot}")}),
        json!({"op": "qty", "n": qty}),
        json!({"op": "confirm"}),
        json!({"op": "finish"}),
        json!({"op": "logout"}),
    ]
}

fn outbox(db: &Path) -> Vec<Value> {
    let o = lotline(&["outbox", "list", "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn stock(db: &Path, lot: &str, location: &str) -> i64 {
    let o = lotline(&[
        "stock",
        "--db",
        db.to_str().unwrap(),
        "--item",
        "F200",
        "--lot",
        lot,
        "--location",
        location,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["qty"].as_i64().unwrap())
        .sum()
}

fn check_verdict(db: &Path, scan: &str) -> String {
    let v = json_line(&lotline(&[
        "check",
        "--db",
        db.to_str().unwrap(),
        "--gate",
        "pick",
        "--today",
        "2026-12-01",
        scan,
    ]));
    v["verdict"].as_str().unwrap_or_default().to_owned()
}

/// The whole exchange against one hub: enrol, work, drain, a recall, a refused pick reversed.
fn end_to_end(hub_target: &str, hub_db: Option<&Path>, dir: &Path) {
    let hub = Hub::start(hub_target, Path::new(FIXTURE));
    let db = device(dir);
    let e = enroll(&db, &hub);
    assert_eq!(e["site"], "S1");
    assert_eq!(e["server"], hub.url.as_str());
    let device_id = e["device_id"].as_str().unwrap().to_owned();

    // Work offline: a pick of 10 of R-EARLY at P-01.
    let replies = script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    assert!(replies.iter().all(|r| r["ok"] == true), "{replies:?}");
    let queued = outbox(&db);
    assert!(
        queued
            .iter()
            .all(|c| c["state"] == "pending" && c["device_id"] == device_id.as_str())
    );
    let n = queued.len();

    let s = sync_once(&db);
    assert_eq!(s["uploaded"], n as u64, "{s}");
    assert_eq!(s["applied"], n as u64, "{s}");
    assert_eq!(s["rejected"], 0, "{s}");
    assert_eq!(s["queued"], 0, "{s}");
    assert!(s["buckets"].as_u64().unwrap() >= 2, "{s}");
    assert!(s["downloaded"].as_u64().unwrap() > 0, "a first download: {s}");
    assert!(outbox(&db).iter().all(|c| c["state"] == "applied"));
    assert_eq!(stock(&db, "R-EARLY", "P-01"), 40);
    if let Some(hub_db) = hub_db {
        let cmds = hub.commands(hub_db);
        assert_eq!(cmds.len(), n, "each command once on the hub");
        let ids: std::collections::BTreeSet<_> = cmds.iter().map(|c| c.1.clone()).collect();
        assert_eq!(ids.len(), n);
        assert_eq!(
            cmds.iter().map(|c| c.0).collect::<Vec<_>>(),
            (1..=n as i64).collect::<Vec<_>>()
        );
    }
    // A second sync has nothing to do.
    let again = sync_once(&db);
    assert_eq!(again["uploaded"], 0, "{again}");
    assert_eq!(again["queued"], 0, "{again}");

    // A recall on the hub reaches the device: the next check of that lot is a reject.
    let scan_p300 = "(01)06901234500035(10)P-OK";
    assert_eq!(check_verdict(&db, scan_p300), "accept");
    lotline_hub::set_lot_status(
        &hub.store,
        "06901234500035",
        "P-OK",
        "recalled",
        Some("supplier recall"),
        "qa1",
    )
    .unwrap();
    let s = sync_once(&db);
    assert!(s["downloaded"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(check_verdict(&db, scan_p300), "reject");

    // A pick made before the device heard of the recall: refused by the hub, reversed here.
    let before = stock(&db, "R-LATE", "P-02");
    let replies = script(&db, &pick("PK-6", "P-02", "R-LATE", 5));
    assert!(replies.iter().all(|r| r["ok"] == true), "{replies:?}");
    assert_eq!(stock(&db, "R-LATE", "P-02"), before - 5);
    lotline_hub::set_lot_status(
        &hub.store,
        GTIN_F200,
        "R-LATE",
        "recalled",
        Some("contamination"),
        "qa1",
    )
    .unwrap();
    let s = sync_once(&db);
    assert_eq!(s["rejected"], 1, "{s}");
    assert_eq!(s["queued"], 0, "{s}");
    assert_eq!(stock(&db, "R-LATE", "P-02"), before, "the refused pick is reversed");
    let states: Vec<(String, String)> = outbox(&db)
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(states.contains(&("pick".into(), "rejected".into())), "{states:?}");
    let store = lotline::store::Store::open(&db).unwrap();
    let ex = store.exceptions(false).unwrap();
    assert_eq!(ex.len(), 1, "{ex:?}");
    assert_eq!(ex[0].code, "lot_blocked");
    assert!(
        ex[0].message_en.starts_with("Lot R-LATE was recalled at "),
        "{}",
        ex[0].message_en
    );
    assert!(
        ex[0]
            .message_en
            .ends_with("your pick of 5 at 10:42 was reversed: return the goods to quarantine"),
        "{}",
        ex[0].message_en
    );
    assert!(ex[0].message_zh.contains("批次 R-LATE") && ex[0].message_zh.contains("请将货物退回隔离区"));
    let task = store.task("PK-6").unwrap().unwrap();
    assert_eq!(task.lines[0].qty_done, 0, "the line's pick is undone");
    assert_eq!(
        store.audit_verify().unwrap(),
        Ok(store.audit_entries().unwrap().0.len() as u64)
    );
    drop(store);
    assert_eq!(check_verdict(&db, &format!("(01){GTIN_F200}(10)R-LATE")), "reject");
}

#[test]
fn sync_end_to_end_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    end_to_end(hub_db.to_str().unwrap(), Some(&hub_db), dir.path());
}

#[test]
fn sync_end_to_end_on_postgres() {
    let Ok(url) = std::env::var("LOTLINE_TEST_PG") else {
        println!("skipped: set LOTLINE_TEST_PG=postgres://… to run the sync end to end on PostgreSQL");
        return;
    };
    // A schema of its own: the database outlives the run (CI on the same machine, other tests).
    let schema = format!(
        "it_sync_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let psql = |sql: &str| {
        let o = std::process::Command::new("psql")
            .args([url.as_str(), "-qc", sql])
            .output()
            .expect("psql runs (PostgreSQL's client, installed with it)");
        assert!(o.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&o.stderr));
    };
    psql(&format!("CREATE SCHEMA {schema}"));
    let sep = if url.contains('?') { '&' } else { '?' };
    let target = format!("{url}{sep}options=-csearch_path%3D{schema}");
    let dir = tempfile::tempdir().unwrap();
    end_to_end(&target, None, dir.path());
    psql(&format!(
        "SET client_min_messages = warning; DROP SCHEMA {schema} CASCADE"
    ));
}

#[test]
fn sync_with_a_wrong_token_says_so_and_keeps_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), Path::new(FIXTURE));
    let db = device(dir.path());
    enroll(&db, &hub);
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    let n = outbox(&db).len();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute(
            "UPDATE settings SET value = 'not-the-token' WHERE key = 'hub_token'",
            [],
        )
        .unwrap();
    }
    let o = lotline(&["sync", "--db", db.to_str().unwrap(), "--once"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("the hub refused this device's token (401"), "{err}");
    assert!(err.contains("lotline enroll"), "{err}");
    assert!(err.contains("中心服务器拒绝了本设备的令牌"), "{err}");
    let after = outbox(&db);
    assert_eq!(after.len(), n);
    assert!(
        after.iter().all(|c| c["state"] == "pending"),
        "nothing is lost: {after:?}"
    );

    // Not enrolled, unreachable: clear errors, exit non-zero.
    let other = dir.path().join("other.db");
    assert!(
        lotline(&["import", "--db", other.to_str().unwrap(), FIXTURE])
            .status
            .success()
    );
    let o = lotline(&["sync", "--db", other.to_str().unwrap(), "--once"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is not enrolled with a hub"), "{}", stderr(&o));
    assert!(stderr(&o).contains("尚未在中心服务器注册"), "{}", stderr(&o));
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute(
            "UPDATE settings SET value = 'http://127.0.0.1:9' WHERE key = 'hub_url'",
            [],
        )
        .unwrap();
    }
    let o = lotline(&["sync", "--db", db.to_str().unwrap(), "--once"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot be reached"), "{}", stderr(&o));
    assert!(stderr(&o).contains("无法连接中心服务器"), "{}", stderr(&o));
}

#[test]
fn sync_after_outbox_export_and_hub_ingest_gets_the_stored_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), Path::new(FIXTURE));
    let db = device(dir.path());
    enroll(&db, &hub);
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    let n = outbox(&db).len();
    let file = dir.path().join("outbox.json");
    let o = lotline(&[
        "outbox",
        "export",
        "--db",
        db.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let f: lotline_protocol::OutboxFile = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(f.commands.first().map(|c| c.seq), Some(1));
    lotline_hub::ingest_file(&hub.store, &f).expect("ingest");
    assert_eq!(hub.commands(&hub_db).len(), n);
    let s = sync_once(&db);
    assert_eq!(s["uploaded"], n as u64, "{s}");
    assert_eq!(s["applied"], n as u64, "replays answer with the stored outcomes: {s}");
    assert_eq!(s["queued"], 0);
    assert_eq!(hub.commands(&hub_db).len(), n, "still each command once");
    assert!(outbox(&db).iter().all(|c| c["state"] == "applied"));
    assert_eq!(stock(&db, "R-EARLY", "P-01"), 40);
}

#[test]
fn sync_first_download_of_thousands_of_lots_and_a_generation_change() {
    let dir = tempfile::tempdir().unwrap();
    // The hub has more than a page of lots of an item the device never heard of.
    const BULK: i64 = 10_500;
    let mut fixture: Value = serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap();
    fixture["items"].as_array_mut().unwrap().push(serde_json::json!({
        "id": "B900", "name_en": "Bulk beans", "name_zh": "散装豆", "gtins": ["06901234500097"],
        "category": "food", "shelf_life_days": 365, "storage": "ambient"
    }));
    for i in 0..BULK {
        fixture["lots"].as_array_mut().unwrap().push(serde_json::json!({
            "item": "B900", "lot": format!("B{i:05}"), "expiry": format!("2027-{:02}-28", i % 12 + 1),
            "status": "released"
        }));
    }
    let big = dir.path().join("big.json");
    std::fs::write(&big, serde_json::to_vec(&fixture).unwrap()).unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), &big);
    let db = device(dir.path());
    enroll(&db, &hub);
    let s = sync_once(&db);
    assert!(s["downloaded"].as_u64().unwrap() >= BULK as u64, "{s}");
    let lots = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM lots WHERE item_id = 'B900'", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(lots(&db), BULK);
    assert_eq!(check_verdict(&db, "(01)06901234500097(10)B02999"), "accept");

    // A new handheld: `lotline enroll` makes its cache, and its first download (all of the hub,
    // more than a page) builds the deferred indexes once at the end.
    let fresh = dir.path().join("fresh.db");
    enroll(&fresh, &hub);
    let s = sync_once(&fresh);
    assert_eq!(s["queued"], 0, "{s}");
    assert_eq!(lots(&fresh), BULK);
    assert_eq!(check_verdict(&fresh, "(01)06901234500097(10)B10499"), "accept");
    let store = lotline::store::Store::open(&fresh).unwrap();
    assert!(
        store
            .setting(lotline::store::sync::DEFERRED_INDEXES_KEY)
            .unwrap()
            .is_none()
    );
    let conn = rusqlite::Connection::open(&fresh).unwrap();
    let has = |name: &str| -> bool {
        conn.query_row(
            "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    };
    assert!(has("lots_fefo") && has("stock_location") && has("serials_lot"));
    drop(store);
    let store = lotline::store::Store::open(&db).unwrap();
    let global = store.bucket("global").unwrap();
    assert!(global.checkpoint > 0 && global.checksum != 0, "{global:?}");
    drop(store);

    // Unsent work, then the hub raises the global bucket's generation: the device fetches it
    // again from 0 and the work still reaches the hub, once.
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    let n = outbox(&db).len();
    let generation = lotline_hub::refetch(&hub.store, "global").unwrap();
    let s = sync_once(&db);
    assert_eq!(s["applied"], n as u64, "{s}");
    assert!(
        s["downloaded"].as_u64().unwrap() >= BULK as u64,
        "refetched from 0: {s}"
    );
    assert_eq!(s["queued"], 0);
    assert_eq!(hub.commands(&hub_db).len(), n);
    assert_eq!(lots(&db), BULK);
    let store = lotline::store::Store::open(&db).unwrap();
    assert_eq!(store.bucket("global").unwrap().generation, generation);
    assert_eq!(outbox(&db).len(), n);
}

/// The desktop's first run: the embedded hub is seeded with the cache's own master data
/// (`export_master`, PINs as `pin_hash`), the device enrolled with it, and a sync drains the queue.
#[cfg(feature = "embedded-hub")]
#[test]
fn sync_embedded_hub_is_seeded_from_the_cache_and_enrols_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = device(dir.path());
    let mut store = lotline::store::Store::open(&db).unwrap();
    // The export reads back through the import reader (operators by hash).
    let mut json = Vec::new();
    lotline::store::export::export_master(&store, &mut json).unwrap();
    let v: Value = serde_json::from_slice(&json).unwrap();
    assert!(
        v["operators"][0]["pin_hash"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")
    );
    assert!(v["operators"][0].get("pin").is_none());
    let copy = dir.path().join("copy.db");
    let src = dir.path().join("export.json");
    std::fs::write(&src, &json).unwrap();
    let o = lotline(&["import", "--db", copy.to_str().unwrap(), src.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Logging in on the copy works with the PIN behind the hash.
    let replies = script(
        &copy,
        &[serde_json::json!({"op": "login", "operator": "pick1", "pin": "2222"})],
    );
    assert_eq!(replies[0]["ok"], true, "{replies:?}");
    // A cache with queued work is not used to seed a hub (the work would count twice).
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    script(&copy, &pick("PK-1", "P-01", "R-EARLY", 10));
    let mut copy_store = lotline::store::Store::open(&copy).unwrap();
    let Err(refused) = lotline::app::embedded::start(&mut copy_store, &busy) else {
        panic!("a hub seeded from a cache with queued work");
    };
    assert!(refused.en.contains("would count twice"), "{refused}");
    assert!(!busy.join("hub.db").exists());
    drop(copy_store);

    let hub = lotline::app::embedded::start(&mut store, dir.path())
        .unwrap()
        .expect("an embedded hub");
    let cfg = store.sync_config().unwrap().unwrap();
    assert_eq!(cfg.url, hub.url);
    assert_eq!(cfg.site, lotline::app::embedded::SITE);
    drop(store);
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    let n = outbox(&db).len();
    let s = sync_once(&db);
    assert_eq!(s["applied"], n as u64, "{s}");
    assert_eq!(s["queued"], 0, "{s}");
    assert_eq!(stock(&db, "R-EARLY", "P-01"), 40);
    hub.stop();
    // A later run: the same hub file on a new port, the URL updated, nothing enrolled again.
    let mut store = lotline::store::Store::open(&db).unwrap();
    let device_id = store.device_id().unwrap();
    let hub = lotline::app::embedded::start(&mut store, dir.path()).unwrap().unwrap();
    assert_eq!(store.sync_config().unwrap().unwrap().url, hub.url);
    assert_eq!(store.device_id().unwrap(), device_id);
    drop(store);
    let s = sync_once(&db);
    assert_eq!(s["uploaded"], 0, "{s}");
    hub.stop();
}

/// A page is applied only when none of this device's commands after its
/// `device_recorded_through` is unsent; a wrong checksum resets the bucket; neither touches the
/// outbox.
#[test]
fn sync_pages_wait_for_unsent_commands_and_checksums_are_checked() {
    use lotline::store::sync::PageApplied;
    use lotline_protocol::sync::{Change, ChangeOp, ChangePage, change_checksum};
    let dir = tempfile::tempdir().unwrap();
    let db = device(dir.path());
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    let mut store = lotline::store::Store::open(&db).unwrap();
    let unsent = store.unsent().unwrap();
    assert!(unsent > 0);
    let stock_put = |seq: i64, qty: i64| Change {
        seq,
        table: "stock".into(),
        key: "F200/R-EARLY@P-01".into(),
        op: ChangeOp::Put,
        data: Some(serde_json::json!({"item": "F200", "lot": "R-EARLY", "location": "P-01", "qty": qty})),
    };
    let page = |changes: Vec<Change>, recorded: i64, checksum: u32| ChangePage {
        bucket: "site:S1".into(),
        generation: 1,
        checkpoint: changes.last().map(|c| c.seq).unwrap_or(0),
        checksum,
        more: false,
        remaining: 0,
        device_recorded_through: recorded,
        changes,
    };
    // The hub has not seen the pick: its stock (50) would bring the picked goods back.
    let c = vec![stock_put(1, 50)];
    let sum = change_checksum(&c[0]);
    assert_eq!(
        store.apply_page(&page(c.clone(), 0, sum)).unwrap(),
        PageApplied::Deferred
    );
    assert_eq!(
        store.stock_lines(Some("F200"), Some("R-EARLY"), Some("P-01")).unwrap()[0].qty,
        40
    );
    // Once the hub has recorded every command, its stock stands.
    assert_eq!(
        store.apply_page(&page(c.clone(), unsent, sum)).unwrap(),
        PageApplied::Applied(1)
    );
    assert_eq!(
        store.stock_lines(Some("F200"), Some("R-EARLY"), Some("P-01")).unwrap()[0].qty,
        50
    );
    let b = store.bucket("site:S1").unwrap();
    assert_eq!((b.generation, b.checkpoint, b.checksum), (1, 1, sum));
    // A wrong checksum: nothing applied, the bucket starts again from 0.
    let d = vec![stock_put(2, 7)];
    assert!(matches!(
        store.apply_page(&page(d.clone(), unsent, sum.wrapping_add(1))).unwrap(),
        PageApplied::ChecksumMismatch { .. }
    ));
    assert_eq!(
        store.stock_lines(Some("F200"), Some("R-EARLY"), Some("P-01")).unwrap()[0].qty,
        50
    );
    assert_eq!(store.bucket("site:S1").unwrap().checkpoint, 0);
    // A tombstone deletes (stock delete = qty 0).
    let del = Change {
        seq: 3,
        table: "stock".into(),
        key: "F200/R-EARLY@P-01".into(),
        op: ChangeOp::Delete,
        data: None,
    };
    let sum0 = change_checksum(&del);
    assert_eq!(
        store.apply_page(&page(vec![del], unsent, sum0)).unwrap(),
        PageApplied::Applied(1)
    );
    assert!(
        store
            .stock_lines(Some("F200"), Some("R-EARLY"), Some("P-01"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.unsent().unwrap(), unsent, "the outbox is not touched");
}

/// A first download's pages go in at well over 50,000 rows a second (one transaction per page,
/// cached statements, lots by (item, lot)). Measured as this thread's CPU time (SQLite runs on
/// it), because the test machine's cores are shared with other tests and builds; the wall-clock
/// rate is printed beside it.
/// The secondary indexes a first download defers: dropped in one transaction with the mark, and
/// back (the same SQL) when the cache is next opened if the download was cut short. Only a first
/// download (no lots yet) larger than one page defers them.
#[test]
fn sync_a_first_download_cut_short_gets_its_deferred_indexes_back() {
    use lotline::store::sync::{DEFER_INDEXES_ABOVE, DEFERRED_INDEXES_KEY, PageApplied};
    use lotline_protocol::sync::{Change, ChangeOp, ChangePage, change_checksum};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let indexes = |db: &Path| -> Vec<(String, String)> {
        let c = rusqlite::Connection::open(db).unwrap();
        let mut st = c
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut store = lotline::store::Store::create(&db).unwrap();
    let all = indexes(&db);
    assert!(
        !store.defer_indexes_for_download(DEFER_INDEXES_ABOVE).unwrap(),
        "one page: not worth it"
    );
    assert_eq!(indexes(&db), all);
    assert!(store.defer_indexes_for_download(DEFER_INDEXES_ABOVE + 1).unwrap());
    let names: Vec<String> = indexes(&db).into_iter().map(|(n, _)| n).collect();
    for gone in ["lots_fefo", "stock_location", "serials_lot"] {
        assert!(!names.iter().any(|n| n == gone), "{gone} in {names:?}");
    }
    assert!(store.setting(DEFERRED_INDEXES_KEY).unwrap().is_some());
    // Asked again (the next cycle of the same download): still deferred, nothing else dropped.
    assert!(store.defer_indexes_for_download(1).unwrap());
    assert_eq!(indexes(&db).len(), all.len() - 3);

    // Two pages of a lot download apply without them.
    let mut seq = 0i64;
    let mut sum = 0u32;
    for p in 0..2 {
        let mut changes = vec![];
        if p == 0 {
            seq += 1;
            changes.push(Change {
                seq,
                table: "category".into(),
                key: "food".into(),
                op: ChangeOp::Put,
                data: Some(serde_json::json!({"id": "food", "near_expiry_days": "60,30,7"})),
            });
            seq += 1;
            changes.push(Change {
                seq,
                table: "item".into(),
                key: "B1".into(),
                op: ChangeOp::Put,
                data: Some(
                    serde_json::json!({"id": "B1", "name_en": "Beans", "name_zh": "豆", "category": "food",
                    "shelf_life_days": 365, "min_remaining_days_receipt": null, "min_remaining_pct_receipt": null,
                    "near_expiry_days": null, "requires_qc": false, "serialized": false, "regulated": false,
                    "storage": "ambient", "count_tolerance": null}),
                ),
            });
        }
        for _ in 0..500 {
            seq += 1;
            changes.push(Change {
                seq,
                table: "lot".into(),
                key: format!("B1/L{seq:05}"),
                op: ChangeOp::Put,
                data: Some(serde_json::json!({"item": "B1", "lot": format!("L{seq:05}"),
                    "expiry": format!("2027-{:02}-28", seq % 12 + 1), "status": "released"})),
            });
        }
        sum = changes.iter().fold(sum, |a, c| a.wrapping_add(change_checksum(c)));
        let n = changes.len();
        let page = ChangePage {
            bucket: "global".into(),
            generation: 1,
            checkpoint: seq,
            checksum: sum,
            more: true,
            remaining: 10_000,
            device_recorded_through: 0,
            changes,
        };
        assert_eq!(store.apply_page(&page).unwrap(), PageApplied::Applied(n));
    }
    assert_eq!(store.count("lots").unwrap(), 1000);
    // The process dies here; the next open makes the indexes again, exactly as they were.
    drop(store);
    let mut store = lotline::store::Store::open(&db).unwrap();
    assert_eq!(indexes(&db), all);
    assert!(store.setting(DEFERRED_INDEXES_KEY).unwrap().is_none());
    let plan: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM lots WHERE item_id = 'B1' AND status = 'released' ORDER BY expiry LIMIT 1",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("lots_fefo"), "{plan}");
    // Lots are in the cache now: no later download defers anything.
    assert!(!store.defer_indexes_for_download(1_000_000).unwrap());
    assert!(!store.restore_deferred_indexes().unwrap());
}

/// The worker on its own thread: it drains the queue when poked, reports through its callback,
/// behaves as offline when the developer switch takes the link down, and stops retrying when the
/// hub says "update lotline" (426). An exception is acknowledged as a command, in one transaction.
#[test]
fn sync_worker_drains_reports_and_obeys_the_link_switch() {
    use lotline::sync::worker::{self, SyncStatus};
    use std::sync::mpsc;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), Path::new(FIXTURE));
    let db = device(dir.path());
    enroll(&db, &hub);
    let (tx, rx) = mpsc::channel::<SyncStatus>();
    let handle = worker::start(
        db.clone(),
        Box::new(move |s| {
            let _ = tx.send(s);
        }),
        Box::new(|_| {}),
    );
    let wait_for = |what: &str, f: &dyn Fn(&SyncStatus) -> bool| -> SyncStatus {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(s) if f(&s) => return s,
                Ok(_) => {}
                Err(_) => panic!("no status: {what}"),
            }
        }
    };
    let s = wait_for("online at start", &|s| {
        s.online && s.last_sync.is_some() && s.progress.is_none()
    });
    assert_eq!(s.queued, 0);
    // Work, then a poke: the queue drains.
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    handle.poke();
    wait_for("drained", &|s| {
        s.online && s.queued == 0 && s.exceptions_open == 0 && s.last_sync.is_some()
    });
    assert!(outbox(&db).iter().all(|c| c["state"] == "applied"));
    // Link down: offline, the work stays queued.
    handle.set_link(false);
    script(&db, &pick("PK-6", "P-02", "R-LATE", 5));
    handle.poke();
    let s = wait_for("offline with work queued", &|s| !s.link_enabled && s.queued > 0);
    assert!(!s.online);
    lotline_hub::set_lot_status(&hub.store, GTIN_F200, "R-LATE", "recalled", None, "qa1").unwrap();
    // Link up: drained; the refused pick is an open exception.
    handle.set_link(true);
    wait_for("exception", &|s| s.online && s.queued == 0 && s.exceptions_open == 1);
    // The hub asks for a newer schema: "update lotline", and no blind retries.
    hub.store.set_min_schema_version(99);
    script(
        &db,
        &[serde_json::json!({"op": "login", "operator": "pick1", "pin": "2222"})],
    );
    handle.poke();
    let s = wait_for("update required", &|s| s.error.is_some());
    let e = s.error.unwrap();
    assert!(e.en.contains("update lotline"), "{e}");
    assert!(e.zh.contains("请更新 lotline"), "{}", e.zh);
    assert!(!s.online);
    handle.stop();
    let o = lotline(&["sync", "--db", db.to_str().unwrap(), "--once"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("update lotline"), "{}", stderr(&o));
    assert!(outbox(&db).iter().any(|c| c["state"] == "pending"), "still queued");

    // Acknowledging the exception: a command and the row, together.
    let store = lotline::store::Store::open(&db).unwrap();
    let mut session = lotline::app::session::Session::new(
        store,
        Default::default(),
        Box::new(lotline::app::printing::ShellPrinter::simulated(
            dir.path().join("labels.zpl"),
        )),
    );
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    let id = session.open_exceptions().unwrap()[0].id;
    session.acknowledge_exception(id, now).unwrap();
    assert!(session.open_exceptions().unwrap().is_empty());
    assert!(session.acknowledge_exception(id, now).is_err(), "once");
    drop(session);
    let last = outbox(&db).pop().unwrap();
    assert_eq!(last["type"], "exception_acknowledged");
    assert_eq!(last["state"], "pending");
}

/// An import's `pin_hash` must be an argon2id PHC string.
#[test]
fn sync_import_takes_pin_hash_only_as_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let mut fixture: Value = serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap();
    fixture["operators"] =
        serde_json::json!([{"id": "h1", "name": "Hash", "pin_hash": "sha1:abc", "roles": ["picker"]}]);
    let f = dir.path().join("bad.json");
    std::fs::write(&f, serde_json::to_vec(&fixture).unwrap()).unwrap();
    let db = dir.path().join("bad.db");
    let o = lotline(&["import", "--db", db.to_str().unwrap(), f.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("pin_hash must be an argon2id PHC string"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("pin_hash 必须是 argon2id PHC 字符串"),
        "{}",
        stderr(&o)
    );
}

/// Enrolment takes the hub's device id: commands made before it (never sent) carry the new id
/// and start at seq 1 for the hub; enrolling with another hub while commands are unsent to the
/// first is refused.
#[test]
fn sync_enrolment_rewrites_unsent_commands_and_refuses_another_hub_while_unsent() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), Path::new(FIXTURE));
    let db = device(dir.path());
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    let before = outbox(&db);
    let old_id = before[0]["device_id"].as_str().unwrap().to_owned();
    let e = enroll(&db, &hub);
    let new_id = e["device_id"].as_str().unwrap();
    assert_ne!(new_id, old_id);
    let after = outbox(&db);
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|c| c["device_id"] == new_id), "{after:?}");

    // Another hub while commands are unsent to this one: refused, nothing changes.
    let other_db = dir.path().join("other-hub.db");
    let other = Hub::start(other_db.to_str().unwrap(), Path::new(FIXTURE));
    let code = other.code();
    let o = lotline(&[
        "enroll",
        "--db",
        db.to_str().unwrap(),
        "--server",
        &other.url,
        "--code",
        &code,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("have not reached the hub this device is enrolled with"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("尚未送达本设备已注册的中心服务器"),
        "{}",
        stderr(&o)
    );
    assert!(outbox(&db).iter().all(|c| c["device_id"] == new_id));

    let s = sync_once(&db);
    assert_eq!(s["applied"], before.len() as u64, "{s}");
    let cmds = hub.commands(&hub_db);
    assert_eq!(
        cmds.iter().map(|c| c.0).collect::<Vec<_>>(),
        (1..=before.len() as i64).collect::<Vec<_>>()
    );

    // Everything sent: the other hub may enrol it now; its seqs start at 1 again.
    let code = other.code();
    json_line(&lotline(&[
        "enroll",
        "--db",
        db.to_str().unwrap(),
        "--server",
        &other.url,
        "--code",
        &code,
    ]));
    script(
        &db,
        &[serde_json::json!({"op": "login", "operator": "pick1", "pin": "2222"})],
    );
    let s = sync_once(&db);
    assert_eq!(s["applied"], 1, "{s}");
    assert_eq!(
        other.commands(&other_db).iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![1]
    );
}

/// `lotline sync` without `--once`: the worker in the foreground drains the queue, logs each
/// cycle, and stops on SIGTERM with exit 0.
#[test]
fn sync_in_the_foreground_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), Path::new(FIXTURE));
    let db = device(dir.path());
    enroll(&db, &hub);
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lotline"))
        .env("LOTLINE_CONFIG", "")
        .args(["sync", "--db", db.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while outbox(&db).iter().any(|c| c["state"] != "applied") {
        assert!(
            std::time::Instant::now() < deadline,
            "the foreground sync did not drain the queue"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: signalling the child this test started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("\"uploaded\":"), "a log line per cycle: {err}");
    assert!(err.contains("sync stopped"), "{err}");
}

/// Through a proxy that drops, resets, stalls, fails (before or after the hub saw the request),
/// duplicates and truncates a third of the exchanges, over more than 10,000 commands: repeated
/// `sync --once` runs drain the queue,
/// the hub holds each command exactly once in seq order, and the device's stock is right.
#[test]
fn sync_through_faults_delivers_each_command_once() {
    use super::fault_proxy::FaultProxy;
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let mut hub = Hub::start(hub_db.to_str().unwrap(), Path::new(FIXTURE));
    let upstream: std::net::SocketAddr = hub.url.trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(upstream, 0, 42, std::time::Duration::from_millis(50));
    hub.url = proxy.url.clone();
    let db = device(dir.path());
    enroll(&db, &hub);
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    script(&db, &pick("PK-6", "P-02", "R-LATE", 5));
    // A shift's quick checks on top: 10,000 more commands, so faults land on every kind of batch.
    {
        let mut store = lotline::store::Store::open(&db).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
        lotline::bench_sync::queue_quick_checks(&mut store, 10_000, at).unwrap();
    }
    let n = outbox(&db).len();
    assert!(n > 10_000, "{n}");
    proxy.set_per_mille(350);
    let mut failures = 0;
    let mut done = false;
    for _ in 0..400 {
        let o = lotline(&["sync", "--db", db.to_str().unwrap(), "--once"]);
        if o.status.success() && json_line(&o)["queued"] == 0 {
            done = true;
            break;
        }
        failures += 1;
    }
    assert!(done, "the queue never drained through the faults");
    assert!(failures > 0, "the proxy injected no fault");
    proxy.set_per_mille(0);
    let s = sync_once(&db);
    assert_eq!(s["queued"], 0, "{s}");
    let cmds = hub.commands(&hub_db);
    assert_eq!(
        cmds.iter().map(|c| c.0).collect::<Vec<_>>(),
        (1..=n as i64).collect::<Vec<_>>()
    );
    assert!(cmds.iter().all(|c| c.2 == "applied"), "{cmds:?}");
    assert!(outbox(&db).iter().all(|c| c["state"] == "applied"));
    assert_eq!(stock(&db, "R-EARLY", "P-01"), 40);
    assert_eq!(stock(&db, "R-LATE", "P-02"), 95);
}

/// HTTPS: a hub with a site's own certificate is trusted through `--ca FILE` (not without it),
/// and sync runs over it.
#[test]
fn sync_over_https_with_the_sites_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let config = lotline_hub::tls::server_config(&cert, &key).unwrap();
    let hub_db = dir.path().join("hub.db");
    let store = lotline_hub::Store::open(hub_db.to_str().unwrap()).unwrap();
    lotline_hub::import_json(&store, std::fs::File::open(FIXTURE).unwrap(), Some("S1")).unwrap();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let port = std_listener.local_addr().unwrap().port();
    let serving = store.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let _ = lotline_hub::tls::serve_tls(serving, listener, config).await;
        });
    });
    let url = format!("https://localhost:{port}");
    let db = device(dir.path());
    let code = lotline_hub::enroll_code(&store, "S1", chrono::Duration::minutes(10)).unwrap();
    // Without the site's CA the certificate is not trusted.
    let o = lotline(&[
        "enroll",
        "--db",
        db.to_str().unwrap(),
        "--server",
        &url,
        "--code",
        &code,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("shows a certificate this device does not trust"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("enrol with --ca FILE"), "{}", stderr(&o));
    assert!(stderr(&o).contains("证书不受本设备信任"), "{}", stderr(&o));
    let e = json_line(&lotline(&[
        "enroll",
        "--db",
        db.to_str().unwrap(),
        "--server",
        &url,
        "--code",
        &code,
        "--ca",
        cert.to_str().unwrap(),
    ]));
    assert_eq!(e["server"], url.as_str());
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    let s = sync_once(&db);
    assert_eq!(s["queued"], 0, "{s}");
    assert!(s["applied"].as_u64().unwrap() > 0, "{s}");
    // A CA file that is not one is refused with its name.
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let code = lotline_hub::enroll_code(&store, "S1", chrono::Duration::minutes(10)).unwrap();
    let o = lotline(&[
        "enroll",
        "--db",
        db.to_str().unwrap(),
        "--server",
        &url,
        "--code",
        &code,
        "--ca",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.pem cannot be used"), "{}", stderr(&o));
}

/// kill -9 of the device at random moments while it works and syncs: `run-script` logging
/// operators in and out (each a command) and `lotline sync` in the foreground run side by side
/// and are killed at random; at the end every command confirmed on screen is at the hub, and the
/// hub holds exactly the device's commands, each once. 20 trials; 200 with LOTLINE_LONG_TESTS=1.
#[test]
fn sync_survives_kill_9_of_the_device_during_work_and_sync() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let trials = if std::env::var("LOTLINE_LONG_TESTS").is_ok_and(|v| v == "1") {
        200
    } else {
        20
    };
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let hub = Hub::start(hub_db.to_str().unwrap(), Path::new(FIXTURE));
    let db = device(dir.path());
    enroll(&db, &hub);
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut confirmed: Vec<i64> = vec![];
    for _ in 0..trials {
        let sync = std::process::Command::new(env!("CARGO_BIN_EXE_lotline"))
            .env("LOTLINE_CONFIG", "")
            .args(["sync", "--db", db.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut work = std::process::Command::new(env!("CARGO_BIN_EXE_lotline"))
            .env("LOTLINE_CONFIG", "")
            .args([
                "run-script",
                "--db",
                db.to_str().unwrap(),
                "--script",
                "-",
                "--now",
                NOW,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = work.stdin.take().unwrap();
        let stdout = work.stdout.take().unwrap();
        // The screen: every reply read is a confirmation the operator saw.
        let reader = std::thread::spawn(move || {
            let mut seen = vec![];
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    break;
                };
                if v["ok"] == true {
                    for c in v["commands"].as_array().into_iter().flatten() {
                        seen.push(c["seq"].as_i64().unwrap());
                    }
                }
            }
            seen
        });
        let writer = std::thread::spawn(move || {
            for _ in 0..50 {
                let ok = writeln!(stdin, r#"{{"op":"login","operator":"pick1","pin":"2222"}}"#)
                    .and_then(|_| writeln!(stdin, r#"{{"op":"logout"}}"#))
                    .and_then(|_| stdin.flush());
                if ok.is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        // Pull the battery at a random moment; the sync process dies first or second.
        std::thread::sleep(std::time::Duration::from_millis(100 + next(900)));
        let mut procs = [sync, work];
        if next(2) == 1 {
            procs.swap(0, 1);
        }
        for p in procs.iter_mut() {
            p.kill().unwrap();
            p.wait().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(next(50)));
        }
        let _ = writer.join();
        let seen = reader.join().unwrap();
        confirmed.extend(seen);
    }
    // Connectivity returns for good.
    let mut drained = false;
    for _ in 0..5 {
        if sync_once(&db)["queued"] == 0 {
            drained = true;
            break;
        }
    }
    assert!(drained, "the queue did not drain after the trials");
    let local = outbox(&db);
    assert!(!confirmed.is_empty(), "no command was confirmed in {trials} trials");
    let local_seqs: std::collections::HashSet<i64> = local.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    for s in &confirmed {
        assert!(
            local_seqs.contains(s),
            "confirmed command {s} is missing from the outbox"
        );
    }
    assert!(local.iter().all(|c| c["state"] == "applied"), "not all applied");
    let hub_cmds = hub.commands(&hub_db);
    assert_eq!(hub_cmds.len(), local.len(), "the hub holds each command once");
    let hub_ids: std::collections::HashSet<&str> = hub_cmds.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(hub_ids.len(), hub_cmds.len(), "no id twice at the hub");
    for c in &local {
        assert!(hub_ids.contains(c["id"].as_str().unwrap()), "{c} is not at the hub");
    }
    assert_eq!(
        hub_cmds.iter().map(|c| c.0).collect::<Vec<_>>(),
        (1..=local.len() as i64).collect::<Vec<_>>(),
        "gapless at the hub"
    );
}

/// `lotline doctor`: all well on an enrolled, synced cache with its hub up (exit 0); a lost
/// device, an unreachable hub and a damaged cache each need attention (exit 1), said in the UI
/// language.
#[test]
fn doctor_reports_a_healthy_and_a_broken_setup() {
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");
    let mut hub = Hub::start(hub_db.to_str().unwrap(), Path::new(FIXTURE));
    let db = device(dir.path());
    enroll(&db, &hub);
    sync_once(&db);
    let dbs = db.to_str().unwrap();
    let doctor = |extra: &[&str]| {
        let mut args = vec!["doctor", "--db", dbs];
        args.extend_from_slice(extra);
        lotline(&args)
    };
    let o = doctor(&["--devices", "none"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    for area in ["cache", "hub", "clock", "queue"] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("OK {area}:"))),
            "{area}: {out}"
        );
    }
    assert!(out.contains("integrity check (PRAGMA quick_check) passed"), "{out}");
    assert!(out.contains("nothing waiting for the hub"), "{out}");
    assert!(out.trim_end().ends_with("All is well."), "{out}");
    // The time to the second, as read out over the phone: `OK clock: 2026-12-02 20:46:09 +00:00, within …`.
    let clock = out.lines().find(|l| l.starts_with("OK clock: ")).unwrap();
    let stamp = clock["OK clock: ".len()..].split(", within").next().unwrap();
    assert!(
        chrono::DateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S %:z").is_ok(),
        "{clock}"
    );

    // A device named with its port, unplugged.
    let o = lotline(&["--device", "zebra-ssi=/dev/lotline-test-missing", "doctor", "--db", dbs]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("!! devices: zebra-ssi lost: /dev/lotline-test-missing is not there"),
        "{}",
        stdout(&o)
    );

    // Work queued, then the hub goes away: the hub needs attention, the queue says what waits.
    script(&db, &pick("PK-1", "P-01", "R-EARLY", 10));
    hub.server.take().unwrap().stop();
    let o = lotline(&["--lang", "zh", "doctor", "--db", dbs, "--devices", "none"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("!! 中心服务器: 无法连接"), "{out}");
    assert!(out.contains("条命令未上传"), "{out}");
    assert!(out.trim_end().ends_with("有需要处理的问题（标有 !! 的行）。"), "{out}");

    // A damaged cache.
    let broken = dir.path().join("broken.db");
    std::fs::copy(&db, &broken).unwrap();
    let mut bytes = std::fs::read(&broken).unwrap();
    let page = 4096;
    for b in &mut bytes[page * 2..page * 4] {
        *b = 0x5a;
    }
    std::fs::write(&broken, bytes).unwrap();
    let o = lotline(&["doctor", "--db", broken.to_str().unwrap(), "--devices", "none"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).lines().any(|l| l.starts_with("!! cache:")), "{}", stdout(&o));

    // No cache at all.
    let o = lotline(&[
        "doctor",
        "--db",
        dir.path().join("none.db").to_str().unwrap(),
        "--devices",
        "none",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("!! cache: there is no cache at"), "{}", stdout(&o));
}
