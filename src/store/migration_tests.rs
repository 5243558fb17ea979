//! Upgrades of a handheld's cache: for every earlier schema version, a cache as that version's
//! build left it (its migrations, its application id and completion mark, its data in its own
//! columns), opened by this build. It must reach the current version with every row kept and
//! work: lookups, verdicts, the audit chain, and new commands after the old ones.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate};
use rusqlite::types::Value;
use rusqlite::{Connection, params};

use super::gates::{AUDIT_HEAD_KEY, DEVICE_ID_KEY};
use super::{APPLICATION_ID, COMPLETE_KEY, MIGRATIONS, ScanRecord, Store};
use crate::app::check::{CheckContext, check_scan};
use crate::domain::audit::{self, AuditEntry, GENESIS, Head};
use crate::domain::command::Command;
use crate::domain::ids::LotNo;
use crate::domain::lot::{LotStatus, Storage};
use crate::domain::operator::Role;
use crate::domain::policy::{Gate, Verdict};
use crate::domain::task::TaskKind;
use crate::domain::workflow::count::Tolerance;
use crate::domain::workflow::{Action, AuditFacts, Change};
use crate::store::pin::{hash_pin, verify_pin};

/// The newest schema version this test knows the data of. A new migration makes the current
/// version an earlier one: give `fill` that version's new tables and columns, then raise this.
const FILLED_UP_TO: usize = 5;

/// What the builds of schema versions 2 to 4 wrote as the completion mark (`Store::begin_write`:
/// "lotline " and the package version, 0.1.0 in all of them).
const OLD_BUILD_MARK: &str = "lotline 0.1.0";

const TODAY: &str = "2026-11-21";
const MILK_GTIN: &str = "09501101530003";
const RICE_GTIN: &str = "09506000134352";
const SYRINGE_GTIN: &str = "09501101530010";
const ASN_SSCC: &str = "106141411234567897";

/// The device id a cache of version 3 or 4 got from its migration 3 (random; this one fixed).
const OLD_DEVICE: &str = "0b6f3c1e-52d4-4a7e-9c3b-5d2e8f1a7c90";

/// One PIN hash for every version (argon2id is slow on purpose).
fn pin_hash(pin: &str) -> String {
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    let (ana, ben) = HASHES.get_or_init(|| (hash_pin("1234").unwrap(), hash_pin("5678").unwrap()));
    match pin {
        "1234" => ana.clone(),
        "5678" => ben.clone(),
        other => panic!("no hash prepared for {other}"),
    }
}

/// A cache as the build of schema version `k` created it: its migrations applied one by one on a
/// new file in WAL mode (what `Store::create_new` did), `user_version` = `k`. Migration 2 gives
/// it the application id; migration 3 its device id.
fn created_by_build(path: &Path, k: usize) -> Connection {
    let c = Connection::open(path).unwrap();
    let _: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    for (i, sql) in MIGRATIONS[..k].iter().enumerate() {
        c.execute_batch(&format!("BEGIN IMMEDIATE; {sql}")).unwrap();
        c.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
        c.execute_batch("COMMIT").unwrap();
    }
    if k >= 3 {
        // Migration 3 made a random one; a fixed one lets the test name it.
        c.execute(
            "UPDATE settings SET value = ?1 WHERE key = ?2",
            params![OLD_DEVICE, DEVICE_ID_KEY],
        )
        .unwrap();
    }
    c
}

/// An outbox command as the build of version `k` wrote it.
struct OldCommand {
    id: &'static str,
    kind: &'static str,
    payload: serde_json::Value,
    created_at: &'static str,
    state: &'static str,
    attempts: i64,
    last_error: Option<&'static str>,
    acked_at: Option<&'static str>,
    operator: &'static str,
}

/// The commands every version queues: one acknowledged, one dead, one in flight, one pending.
/// Versions 1 and 2 wrote their own payloads (with `at` and `operator` inside, see the schema-2
/// `record_scan`); from version 3 on the payload is the protocol command's, the operator a column.
fn old_commands(k: usize) -> Vec<OldCommand> {
    let scan = |(operator, item): (&str, &str), scan: &str, verdict: &str, reasons: &[&str], lot: &str, at: &str| {
        if k < 3 {
            serde_json::json!({
                "at": at, "operator": operator, "gate": "pick", "scan": scan, "verdict": verdict,
                "reasons": reasons, "item": item, "lot": lot, "task": null, "customer": null,
            })
        } else {
            serde_json::json!({
                "gate": "pick", "task": null, "scan": scan, "verdict": verdict, "reasons": reasons,
                "item": item, "lot": lot,
            })
        }
    };
    let override_payload = if k < 3 {
        serde_json::json!({
            "scan_command": "00000000-0000-4000-8000-000000000001", "at": "2026-11-20T09:01:00+08:00",
            "operator": "ana", "gate": "pick", "scan": "(01)09501101530003(10)M-LATE", "warnings": ["fefo_violation"],
            "reason": "customer_request", "item": "MILK", "lot": "M-LATE", "task": null,
        })
    } else {
        serde_json::json!({
            "scan_command": "00000000-0000-4000-8000-000000000001", "gate": "pick",
            "scan": "(01)09501101530003(10)M-LATE", "warnings": ["fefo_violation"], "reason": "customer_request",
            "item": "MILK", "lot": "M-LATE", "task": null,
        })
    };
    vec![
        OldCommand {
            id: "00000000-0000-4000-8000-000000000001",
            kind: "scan",
            payload: scan(
                ("ana", "MILK"),
                "(01)09501101530003(10)M-OK",
                "accept",
                &[],
                "M-OK",
                "2026-11-20T09:00:00+08:00",
            ),
            created_at: "2026-11-20T09:00:00+08:00",
            state: "acked",
            attempts: 1,
            last_error: None,
            acked_at: Some("2026-11-20T09:05:00+08:00"),
            operator: "ana",
        },
        OldCommand {
            id: "00000000-0000-4000-8000-000000000002",
            kind: "warning_override",
            payload: override_payload,
            created_at: "2026-11-20T09:01:00+08:00",
            state: "dead",
            attempts: 5,
            last_error: Some("hub refused: unknown command"),
            acked_at: None,
            operator: "ana",
        },
        OldCommand {
            id: "00000000-0000-4000-8000-000000000003",
            kind: "scan",
            payload: scan(
                ("ana", "MILK"),
                "(01)09501101530003(10)M-RECALL",
                "reject",
                &["recalled"],
                "M-RECALL",
                "2026-11-20T09:02:00+08:00",
            ),
            created_at: "2026-11-20T09:02:00+08:00",
            state: "in_flight",
            attempts: 1,
            last_error: None,
            acked_at: None,
            operator: "ana",
        },
        OldCommand {
            id: "00000000-0000-4000-8000-000000000004",
            kind: "scan",
            payload: scan(
                ("ben", "RICE"),
                "(01)09506000134352(10)R-1",
                "accept",
                &[],
                "R-1",
                "2026-11-20T09:03:00+08:00",
            ),
            created_at: "2026-11-20T09:03:00+08:00",
            state: "pending",
            attempts: 2,
            last_error: Some("connection refused"),
            acked_at: None,
            operator: "ben",
        },
    ]
}

/// Fills a cache of version `k` with what a warehouse's handheld holds, in that version's own
/// tables and columns, in one transaction (as the build's first load and its scans did), and
/// marks it complete as that build did.
fn fill(c: &Connection, k: usize) {
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    c.execute_batch(
        "INSERT INTO categories VALUES ('fresh', '7,3'), ('dry', '60,30'), ('medical', '90,30');
         INSERT INTO items(id, name_en, name_zh, category, shelf_life_days, min_remaining_days_receipt,
                           min_remaining_pct_receipt, near_expiry_days, requires_qc, serialized, regulated, storage)
         VALUES ('MILK', 'Milk 1 l', '牛奶 1 升', 'fresh', 30, NULL, 50, NULL, 0, 0, 0, 'chilled'),
                ('RICE', 'Rice 5 kg', '大米 5 公斤', 'dry', 720, 90, NULL, '45,15', 1, 0, 0, 'ambient'),
                ('SYRINGE', 'Syringe 5 ml', '注射器 5 毫升', 'medical', 1825, 365, NULL, NULL, 0, 1, 1, 'ambient');
         INSERT INTO barcodes VALUES ('09501101530003', 'gtin', 'MILK'), ('MILK-1L', 'alias', 'MILK'),
                                     ('09506000134352', 'gtin', 'RICE'), ('09501101530010', 'gtin', 'SYRINGE');
         INSERT INTO lots(id, item_id, lot, expiry, production_date, qc_date, status) VALUES
             (1, 'MILK', 'M-OK', '2027-10-31', '2026-10-01', NULL, 'released'),
             (2, 'MILK', 'M-RECALL', '2027-03-31', NULL, NULL, 'recalled'),
             (3, 'MILK', 'M-QC', '2027-05-15', NULL, NULL, 'quarantine'),
             (4, 'RICE', 'R-1', '2028-01-31', '2026-01-31', '2026-02-02', 'released'),
             (5, 'RICE', 'R-HOLD', NULL, NULL, NULL, 'on_hold'),
             (6, 'SYRINGE', 'S-1', '2030-06-30', NULL, NULL, 'released'),
             (7, 'MILK', 'M-LATE', '2028-02-29', NULL, NULL, 'released');
         INSERT INTO serials VALUES ('SYRINGE', 'SN001', 6, 'in_stock'), ('SYRINGE', 'SN002', 6, 'picked');
         INSERT INTO customers VALUES ('C1', 'City Clinic', 180), ('C2', 'Corner Shop', NULL);
         INSERT INTO sync_state VALUES ('cursor', '42');",
    )
    .unwrap();
    // Locations: storage conditions from version 3 on.
    let locations = [
        ("A-01-01", "A", "pick", "ambient"),
        ("A-01-02", "A", "pick", "ambient"),
        ("R-01", "R", "reserve", "ambient"),
        ("DOCK", "D", "receiving", "ambient"),
        ("Q-01", "Q", "quarantine", "ambient"),
        ("COLD-1", "C", "pick", "chilled"),
    ];
    for (code, zone, kind, storage) in locations {
        if k >= 3 {
            c.execute(
                "INSERT INTO locations(code, warehouse, zone, kind, storage) VALUES (?1, 'WH1', ?2, ?3, ?4)",
                params![code, zone, kind, storage],
            )
            .unwrap();
        } else {
            c.execute(
                "INSERT INTO locations(code, warehouse, zone, kind) VALUES (?1, 'WH1', ?2, ?3)",
                params![code, zone, kind],
            )
            .unwrap();
        }
    }
    c.execute_batch(
        "INSERT INTO stock VALUES (1, 'COLD-1', 24), (1, 'R-01', 100), (2, 'COLD-1', 6), (3, 'Q-01', 10),
                                  (4, 'A-01-01', 40), (6, 'A-01-02', 2), (7, 'COLD-1', 12);",
    )
    .unwrap();

    // Tasks: receipt tolerance from 3, count blindness, zone and source from 4.
    c.execute_batch(
        "INSERT INTO tasks(id, kind, status, customer_id, reference, created_at) VALUES
             ('PK-1', 'pick', 'in_progress', 'C1', 'SO-1001', '2026-11-20T08:00:00+08:00'),
             ('RC-1', 'receipt', 'open', NULL, 'ASN-77', '2026-11-20T07:00:00+08:00'),
             ('CT-1', 'count', 'in_progress', NULL, 'CC-5', '2026-11-20T06:00:00+08:00');
         INSERT INTO task_lines(task_id, line_no, item_id, lot, location, qty_expected, qty_done) VALUES
             ('PK-1', 1, 'MILK', NULL, 'COLD-1', 10, 0),
             ('PK-1', 2, 'RICE', 'R-1', 'A-01-01', 5, 5),
             ('RC-1', 1, 'RICE', 'R-2', NULL, 20, 0),
             ('CT-1', 1, 'RICE', NULL, 'A-01-01', 0, 0);",
    )
    .unwrap();
    if k >= 3 {
        c.execute_batch(&format!(
            "UPDATE tasks SET tolerance_pct = 10 WHERE id = 'RC-1';
             UPDATE task_lines SET expiry = '2028-06-30', sscc = '{ASN_SSCC}' WHERE task_id = 'RC-1';"
        ))
        .unwrap();
        c.execute(
            "INSERT INTO operators VALUES ('ana', 'Ana Li', ?1, 'receiver,picker,supervisor'),
                                          ('ben', 'Ben Wu', ?2, 'checker,counter')",
            params![pin_hash("1234"), pin_hash("5678")],
        )
        .unwrap();
        c.execute_batch(
            "INSERT INTO login_failures VALUES ('ben', 2, NULL);
             INSERT INTO movements(id, at, operator, kind, lot_id, from_location, to_location, qty, task_id, command_id)
             VALUES (1, '2026-11-19T10:00:00+08:00', 'ana', 'receive', 4, NULL, 'DOCK', 40, NULL,
                     '00000000-0000-4000-8000-0000000000a1'),
                    (2, '2026-11-19T10:10:00+08:00', 'ana', 'putaway', 4, 'DOCK', 'A-01-01', 40, NULL,
                     '00000000-0000-4000-8000-0000000000a2');",
        )
        .unwrap();
    }
    if k >= 4 {
        c.execute_batch(
            "UPDATE items SET count_tolerance = '5%' WHERE id = 'RICE';
             UPDATE items SET count_tolerance = '2' WHERE id = 'SYRINGE';
             UPDATE tasks SET blind = 0, zone = 'R' WHERE id = 'CT-1';
             UPDATE tasks SET source = 'PK-0#1' WHERE id = 'PK-1';
             UPDATE task_lines SET qty_short = 1, short_reason = 'damaged', checked_by = 'ben',
                                   checked_at = '2026-11-20T08:30:00+08:00', override_reason = 'customer_request'
                 WHERE task_id = 'PK-1' AND line_no = 2;
             UPDATE movements SET task_id = 'PK-1', line_no = 2 WHERE id = 2;
             INSERT INTO task_locations VALUES ('CT-1', 'A-01-01'), ('CT-1', 'A-01-02');
             INSERT INTO count_state VALUES ('CT-1', '2026-11-20T08:00:00+08:00', 2);
             INSERT INTO count_snapshot VALUES ('CT-1', 'A-01-01', 'RICE', 'R-1', 40),
                                               ('CT-1', 'A-01-02', 'SYRINGE', 'S-1', 2);
             INSERT INTO count_entries(task_id, location, round, item_id, lot, qty, operator, command_id)
             VALUES ('CT-1', 'A-01-01', 1, 'RICE', 'R-1', 38, 'ben', '00000000-0000-4000-8000-0000000000b1'),
                    ('CT-1', 'A-01-01', 2, 'RICE', 'R-1', 39, 'ana', '00000000-0000-4000-8000-0000000000b2');
             INSERT INTO count_closed VALUES ('CT-1', 'A-01-01', 1, 'ben', '2026-11-20T08:20:00+08:00', 2);
             INSERT INTO count_tags VALUES ('CT-1', 'A-01-02', 1, 'urn:epc:id:sgtin:9501101.053001.SN001');
             INSERT INTO count_recounts VALUES ('CT-1', 'A-01-01', 'ben');",
        )
        .unwrap();
    }

    // The outbox and the audit record of the scans made on the device.
    for cmd in old_commands(k) {
        if k < 3 {
            c.execute(
                "INSERT INTO outbox(command_id, kind, payload, created_at, state, attempts, last_error, acked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    cmd.id,
                    cmd.kind,
                    cmd.payload.to_string(),
                    cmd.created_at,
                    cmd.state,
                    cmd.attempts,
                    cmd.last_error,
                    cmd.acked_at
                ],
            )
            .unwrap();
        } else {
            c.execute(
                "INSERT INTO outbox(command_id, kind, payload, created_at, state, attempts, last_error, acked_at,
                                    device_id, operator, schema_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)",
                params![
                    cmd.id,
                    cmd.kind,
                    cmd.payload.to_string(),
                    cmd.created_at,
                    cmd.state,
                    cmd.attempts,
                    cmd.last_error,
                    cmd.acked_at,
                    OLD_DEVICE,
                    cmd.operator
                ],
            )
            .unwrap();
        }
    }
    if k < 3 {
        // The unchained scan log of schemas 1 and 2.
        c.execute_batch(
            "INSERT INTO audit_log(at, operator, gate, scan, verdict, reasons, item_id, lot, task_id, override_reason)
             VALUES ('2026-11-20T09:00:00+08:00', 'ana', 'pick', '(01)09501101530003(10)M-OK', 'accept', '[]',
                     'MILK', 'M-OK', NULL, NULL),
                    ('2026-11-20T09:01:00+08:00', 'ana', 'pick', '(01)09501101530003(10)M-LATE', 'warn',
                     '[\"fefo_violation\"]', 'MILK', 'M-LATE', NULL, 'customer_request'),
                    ('2026-11-20T09:02:00+08:00', 'ana', 'pick', '(01)09501101530003(10)M-RECALL', 'reject',
                     '[\"recalled\"]', 'MILK', 'M-RECALL', 'PK-1', NULL);
             INSERT INTO settings VALUES ('operator', 'ana');",
        )
        .unwrap();
    } else {
        // The hash chain, one entry per command, and its head beside it.
        let mut prev = GENESIS.to_owned();
        let mut counter = 0;
        for cmd in old_commands(k) {
            counter += 1;
            let p = &cmd.payload;
            let entry = AuditEntry {
                counter,
                at: cmd.created_at.to_owned(),
                device_id: OLD_DEVICE.to_owned(),
                operator: Some(cmd.operator.to_owned()),
                authorised_by: None,
                action: cmd.kind.to_owned(),
                command_id: Some(cmd.id.to_owned()),
                gate: Some("pick".into()),
                task_id: None,
                item_id: p["item"].as_str().map(str::to_owned),
                lot: p["lot"].as_str().map(str::to_owned),
                location: None,
                scan: p["scan"].as_str().map(str::to_owned),
                verdict: p["verdict"].as_str().map(str::to_owned),
                reasons: p.get("reasons").or(p.get("warnings")).unwrap().to_string(),
                reason: p["reason"].as_str().map(str::to_owned),
                before: None,
                after: None,
            };
            let hash = audit::entry_hash(&prev, &entry);
            c.execute(
                "INSERT INTO audit_log(counter, at, device_id, operator, authorised_by, action, command_id, gate,
                     task_id, item_id, lot, location, scan, verdict, reasons, reason, before, after, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                params![
                    entry.counter as i64,
                    entry.at,
                    entry.device_id,
                    entry.operator,
                    entry.authorised_by,
                    entry.action,
                    entry.command_id,
                    entry.gate,
                    entry.task_id,
                    entry.item_id,
                    entry.lot,
                    entry.location,
                    entry.scan,
                    entry.verdict,
                    entry.reasons,
                    entry.reason,
                    entry.before,
                    entry.after,
                    prev,
                    hash
                ],
            )
            .unwrap();
            prev = hash;
        }
        c.execute(
            "INSERT INTO settings VALUES (?1, ?2), ('operator', 'ana')",
            params![AUDIT_HEAD_KEY, Head { counter, hash: prev }.to_setting()],
        )
        .unwrap();
    }
    if k >= 2 {
        // From version 2 on, the first load's commit carried the completion mark.
        c.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)",
            params![COMPLETE_KEY, OLD_BUILD_MARK],
        )
        .unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
}

/// Every table's rows (all columns, in a fixed order), by table name.
fn dump(c: &Connection) -> BTreeMap<String, (Vec<String>, Vec<Vec<Value>>)> {
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let cols: Vec<String> = c
                .prepare(&format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let rows = rows_of(c, &t, &cols);
            (t, (cols, rows))
        })
        .collect()
}

/// The rows of `table`'s `cols`, sorted.
fn rows_of(c: &Connection, table: &str, cols: &[String]) -> Vec<Vec<Value>> {
    let list = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let order = (1..=cols.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let mut st = c
        .prepare(&format!("SELECT {list} FROM \"{table}\" ORDER BY {order}"))
        .unwrap();
    st.query_map([], |r| {
        (0..cols.len())
            .map(|i| r.get::<_, Value>(i))
            .collect::<rusqlite::Result<Vec<Value>>>()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        other => panic!("not text: {other:?}"),
    }
}

/// Checks that every row of the old cache is in the migrated one, column by column, with only
/// the changes the migrations make: the outbox's states renamed (5), the scan log kept as
/// `audit_log_v1` (3), settings gaining the device id (3) and a version 1 cache's mark (2).
fn assert_nothing_lost(k: usize, before: &BTreeMap<String, (Vec<String>, Vec<Vec<Value>>)>, after: &Connection) {
    for (table, (cols, old_rows)) in before {
        let new_table = if k < 3 && table == "audit_log" {
            "audit_log_v1"
        } else {
            table.as_str()
        };
        let mut expected = old_rows.clone();
        if table == "outbox" {
            let state = cols.iter().position(|c| c == "state").unwrap();
            for row in &mut expected {
                let renamed = match text(&row[state]) {
                    "acked" => "applied",
                    "dead" => "rejected",
                    other => other,
                }
                .to_owned();
                row[state] = Value::Text(renamed);
            }
        }
        let found = rows_of(after, new_table, cols);
        if table == "settings" {
            let mut added: Vec<String> = found
                .iter()
                .filter(|r| !expected.contains(*r))
                .map(|r| text(&r[0]).to_owned())
                .collect();
            added.sort();
            let mut may_add = vec![];
            if k < 2 {
                may_add.push(COMPLETE_KEY.to_owned());
            }
            if k < 3 {
                may_add.push(DEVICE_ID_KEY.to_owned());
            }
            may_add.sort();
            assert_eq!(added, may_add, "version {k}: settings added by the migrations");
            assert_eq!(
                found.len(),
                expected.len() + may_add.len(),
                "version {k}: settings kept"
            );
        } else {
            // A cache created by version 3 or later has the scan log of schemas 1 and 2 only as
            // the empty `audit_log_v1` migration 3 left; every other table has rows to lose.
            assert!(
                !expected.is_empty() || table == "audit_log_v1",
                "version {k}: the test fills every table, {table} too"
            );
            assert_eq!(
                found.len(),
                expected.len(),
                "version {k}: rows of {table} (as {new_table})"
            );
            assert_eq!(found, expected, "version {k}: the rows of {table} (as {new_table})");
        }
    }
}

#[test]
fn every_earlier_schema_version_migrates_with_its_data_and_works() {
    assert_eq!(
        MIGRATIONS.len(),
        FILLED_UP_TO,
        "schema version {} is new: version {} is now an earlier one; fill its new tables and columns in `fill` and raise FILLED_UP_TO",
        MIGRATIONS.len(),
        MIGRATIONS.len() - 1
    );
    let today = NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").unwrap();
    for k in 1..MIGRATIONS.len() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("v{k}.db"));
        let c = created_by_build(&path, k);
        fill(&c, k);
        let before = dump(&c);
        let old_app_id: i32 = c.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
        assert_eq!(
            old_app_id,
            if k >= 2 { APPLICATION_ID } else { 0 },
            "version {k}'s build"
        );
        let old_seq: i64 = c
            .query_row("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(old_seq, 4);
        drop(c);

        let mut s = Store::open(&path).unwrap_or_else(|e| panic!("version {k}: {e}"));
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64, "version {k}");
        let app_id: i32 = s.conn().query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
        assert_eq!(app_id, APPLICATION_ID, "version {k}");
        let mark = s.setting(COMPLETE_KEY).unwrap();
        let want_mark = if k == 1 {
            "migrated from schema version 1"
        } else {
            OLD_BUILD_MARK
        };
        assert_eq!(mark.as_deref(), Some(want_mark), "version {k}");

        // Every row of every table, column by column.
        assert_nothing_lost(k, &before, s.conn());
        for (table, n) in [
            ("items", 3),
            ("barcodes", 4),
            ("lots", 7),
            ("stock", 7),
            ("locations", 6),
            ("tasks", 3),
            ("task_lines", 4),
            ("outbox", 4),
            ("serials", 2),
            ("customers", 2),
            ("categories", 3),
            ("sync_state", 1),
        ] {
            assert_eq!(s.count(table).unwrap(), n, "version {k}: {table}");
        }

        // Lots, their status and expiry, and their stock, through the scan path's look-ups.
        let recalled = s.lot("MILK", "M-RECALL").unwrap().unwrap();
        assert_eq!(recalled.status, LotStatus::Recalled, "version {k}");
        assert_eq!(recalled.expiry, NaiveDate::from_ymd_opt(2027, 3, 31), "version {k}");
        let rice = s.lot("RICE", "R-1").unwrap().unwrap();
        assert_eq!(rice.status, LotStatus::Released);
        assert_eq!(rice.production_date, NaiveDate::from_ymd_opt(2026, 1, 31));
        assert_eq!(rice.qc_date, NaiveDate::from_ymd_opt(2026, 2, 2));
        let hold = s.lot("RICE", "R-HOLD").unwrap().unwrap();
        assert_eq!((hold.status, hold.expiry), (LotStatus::OnHold, None), "version {k}");
        let stock: Vec<(String, i64)> = s
            .stock_of_lot("MILK", "M-OK")
            .unwrap()
            .into_iter()
            .map(|r| (r.location, r.qty))
            .collect();
        assert_eq!(
            stock,
            [("R-01".to_owned(), 100), ("COLD-1".to_owned(), 24)],
            "version {k}"
        );
        let milk = s.item_by_code("MILK-1L").unwrap().unwrap();
        assert_eq!(milk.name_zh, "牛奶 1 升");
        assert_eq!(milk.storage, Storage::Chilled);
        assert_eq!(milk.gtin.as_ref().map(|g| g.as_str()), Some(MILK_GTIN));
        let rice_item = s.item_by_code(RICE_GTIN).unwrap().unwrap();
        assert_eq!(rice_item.near_expiry_days, [45, 15], "version {k}");
        assert_eq!(
            s.serial_lot("SYRINGE", "SN001")
                .unwrap()
                .map(|l| l.lot.as_str().to_owned()),
            Some("S-1".to_owned())
        );
        assert_eq!(s.customer("C1").unwrap().unwrap().min_remaining_days, Some(180));
        let fefo = s.fefo_candidate("MILK", today).unwrap().unwrap();
        assert_eq!(
            (fefo.lot.as_str(), fefo.location.as_str()),
            ("M-OK", "COLD-1"),
            "version {k}"
        );
        let expected_storage = if k >= 3 { Storage::Chilled } else { Storage::Ambient };
        assert_eq!(
            s.location("COLD-1").unwrap().unwrap().storage,
            expected_storage,
            "version {k}"
        );

        // Verdicts on the migrated cache.
        let ctx = CheckContext::default();
        let out = check_scan(&s, Gate::Pick, b"(01)09501101530003(10)M-RECALL", &ctx, today).unwrap();
        match &out.evaluation.verdict {
            Verdict::Reject(reasons) => assert!(
                reasons.iter().any(|r| r.code() == "recalled"),
                "version {k}: {reasons:?}"
            ),
            other => panic!("version {k}: a recalled lot is {other:?}"),
        }
        assert_eq!(out.lot.unwrap().expiry, NaiveDate::from_ymd_opt(2027, 3, 31));
        let out = check_scan(&s, Gate::Pick, b"(01)09501101530003(10)M-OK", &ctx, today).unwrap();
        assert_eq!(
            out.evaluation.verdict,
            Verdict::Accept,
            "version {k}: {:?}",
            out.evaluation
        );
        let out = check_scan(&s, Gate::Pick, b"(01)09501101530003(10)M-QC", &ctx, today).unwrap();
        assert!(
            matches!(&out.evaluation.verdict, Verdict::Reject(r) if r.iter().any(|r| r.code() == "quarantined")),
            "version {k}: {:?}",
            out.evaluation
        );
        let syringe_scan = format!("(01){SYRINGE_GTIN}(10)S-1");
        let out = check_scan(&s, Gate::Pick, syringe_scan.as_bytes(), &ctx, today).unwrap();
        assert_eq!(
            out.evaluation.verdict,
            Verdict::Accept,
            "version {k}: {:?}",
            out.evaluation
        );
        let syringe = out.item.unwrap();
        assert!(syringe.serialized && syringe.regulated, "version {k}");

        // The outbox: payloads, seqs and states as queued, the device and operator filled in.
        let device = s.device_id().unwrap();
        if k >= 3 {
            assert_eq!(device, OLD_DEVICE, "version {k}: the device keeps its id");
        } else {
            assert_eq!(
                device.len(),
                36,
                "version {k}: migration 3 gave the device an id: {device}"
            );
        }
        let cmds = s.outbox_commands().unwrap();
        let olds = old_commands(k);
        assert_eq!(cmds.len(), olds.len(), "version {k}");
        for (i, (cmd, old)) in cmds.iter().zip(&olds).enumerate() {
            assert_eq!(cmd.seq, i as i64 + 1, "version {k}");
            assert_eq!(cmd.id, old.id, "version {k}");
            assert_eq!(cmd.kind, old.kind, "version {k}");
            assert_eq!(cmd.payload, old.payload, "version {k}: the payload of seq {}", cmd.seq);
            assert_eq!(cmd.device_id, device, "version {k}");
            // Versions 1 and 2 named the operator inside the payload; migration 3 copied it out.
            assert_eq!(
                cmd.operator.as_deref(),
                Some(old.operator),
                "version {k}: seq {}",
                cmd.seq
            );
            assert_eq!(cmd.schema_version, 1);
        }
        let states: Vec<&str> = cmds.iter().map(|c| c.state.as_str()).collect();
        assert_eq!(states, ["applied", "rejected", "in_flight", "pending"], "version {k}");
        assert_eq!(s.outbox_pending().unwrap(), 2, "version {k}");
        let outcome_at: Option<String> = s
            .conn()
            .query_row("SELECT outcome_at FROM outbox WHERE seq = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(outcome_at.as_deref(), Some("2026-11-20T09:05:00+08:00"), "version {k}");

        // The audit record: schemas 1 and 2's scan log kept aside, a chain from 3 on.
        let chained_before = if k < 3 {
            let v1: Vec<(String, String, Option<String>)> = s
                .conn()
                .prepare("SELECT scan, verdict, override_reason FROM audit_log_v1 ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(
                v1,
                [
                    ("(01)09501101530003(10)M-OK".to_owned(), "accept".to_owned(), None),
                    (
                        "(01)09501101530003(10)M-LATE".to_owned(),
                        "warn".to_owned(),
                        Some("customer_request".to_owned())
                    ),
                    ("(01)09501101530003(10)M-RECALL".to_owned(), "reject".to_owned(), None),
                ],
                "version {k}"
            );
            assert_eq!(s.count("audit_log").unwrap(), 0, "version {k}: the chain starts empty");
            0
        } else {
            assert_eq!(s.audit_verify().unwrap(), Ok(4), "version {k}: the old chain verifies");
            4
        };

        if k >= 3 {
            let ana = s.operator("ana").unwrap().unwrap();
            assert_eq!(ana.operator.roles, [Role::Receiver, Role::Picker, Role::Supervisor]);
            assert!(verify_pin(&ana.pin_hash, "1234"), "version {k}: the PIN still logs in");
            assert!(!verify_pin(&ana.pin_hash, "5678"));
            assert_eq!(s.operator("ben").unwrap().unwrap().failures, 2, "version {k}");
            let rc = s.task_facts("RC-1").unwrap().unwrap();
            assert_eq!(rc.tolerance_pct, 10, "version {k}");
            assert_eq!(rc.lines[0].sscc.as_ref().map(|x| x.as_str()), Some(ASN_SSCC));
            assert_eq!(rc.lines[0].expiry, NaiveDate::from_ymd_opt(2028, 6, 30));
            let moves = s.movements("RICE", "R-1", 10).unwrap();
            let kinds: Vec<&str> = moves.iter().map(|m| m.kind.as_str()).collect();
            assert_eq!(kinds, ["putaway", "receive"], "version {k}");
        }
        if k >= 4 {
            let pk = s.task_facts("PK-1").unwrap().unwrap();
            let line = &pk.lines[1];
            assert_eq!(
                (line.short, line.short_reason.as_deref(), line.checked_by.as_deref()),
                (1, Some("damaged"), Some("ben")),
                "version {k}"
            );
            assert_eq!(line.override_reason.as_deref(), Some("customer_request"));
            let ct = s.task_facts("CT-1").unwrap().unwrap();
            assert!(!ct.blind, "version {k}");
            assert_eq!(
                ct.locations,
                ["A-01-01", "A-01-02", "R-01"],
                "version {k}: named and the zone's"
            );
            let cf = s.count_facts("CT-1", &ct.locations, true).unwrap();
            assert!(cf.started, "version {k}");
            assert_eq!((cf.snapshot.len(), cf.snapshot_mark), (2, 2), "version {k}");
            let counted: Vec<(u8, i64)> = cf.entries.iter().map(|e| (e.round, e.qty)).collect();
            assert_eq!(counted.len(), 2);
            assert!(counted.contains(&(1, 38)) && counted.contains(&(2, 39)), "{counted:?}");
            assert_eq!(cf.closed.len(), 1);
            assert_eq!(cf.recounts, [("A-01-01".to_owned(), "ben".to_owned())]);
            assert_eq!(cf.tolerance.get("RICE"), Some(&Tolerance::Percent(5)), "version {k}");
            assert_eq!(cf.tolerance.get("SYRINGE"), Some(&Tolerance::Units(2)), "version {k}");
            assert_eq!(cf.tags.len(), 1, "version {k}: the tag of the open location");
        } else {
            let ct = s.task_facts("CT-1").unwrap().unwrap();
            assert!(ct.blind, "version {k}: counts were blind before version 4");
            assert_eq!(ct.locations, ["A-01-01"], "version {k}: the line's location");
        }
        let tasks: Vec<String> = s
            .tasks(Some(TaskKind::Pick))
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(tasks, ["PK-1"]);

        // New work after the old: a scan and a pick, through the normal API, continue the seq.
        let rec = ScanRecord {
            at: "2026-11-21T10:00:00+08:00".into(),
            operator: "ana".into(),
            gate: "pick".into(),
            scan: "(01)09501101530003(10)M-OK".into(),
            verdict: "accept".into(),
            reason_codes: vec![],
            item_id: Some("MILK".into()),
            lot: Some("M-OK".into()),
            task_id: Some("PK-1".into()),
            customer_id: Some("C1".into()),
        };
        let scan_id = s.record_scan(&rec).unwrap_or_else(|e| panic!("version {k}: {e}"));
        let lot = LotNo::new("M-OK").unwrap();
        let pick = Action {
            command: Command::Pick {
                task: "PK-1".into(),
                line: 1,
                item: "MILK".into(),
                lot: "M-OK".into(),
                location: "COLD-1".into(),
                qty: 4,
                serials: vec![],
                verdict: "accept".into(),
                warnings: vec![],
                override_reason: None,
                customer: Some("C1".into()),
            },
            operator: Some("ana".into()),
            audit: AuditFacts {
                gate: Some(Gate::Pick),
                task_id: Some("PK-1".into()),
                item_id: Some("MILK".into()),
                lot: Some("M-OK".into()),
                location: Some("COLD-1".into()),
                ..Default::default()
            },
            changes: vec![
                Change::RemoveStock {
                    item_id: "MILK".into(),
                    lot: lot.clone(),
                    location: "COLD-1".into(),
                    qty: 4,
                    line_no: Some(1),
                },
                Change::TaskLineDone {
                    task_id: "PK-1".into(),
                    line_no: 1,
                    add: 4,
                },
            ],
        };
        let at = DateTime::parse_from_rfc3339("2026-11-21T10:01:00+08:00").unwrap();
        let written = s.commit(&[pick], at).unwrap_or_else(|e| panic!("version {k}: {e}"));
        assert_eq!(written[0].seq, 6, "version {k}: the pick follows the scan");
        let cmds = s.outbox_commands().unwrap();
        assert_eq!(cmds.len(), 6, "version {k}");
        assert_eq!((cmds[4].seq, cmds[4].id.as_str()), (5, scan_id.as_str()), "version {k}");
        assert_eq!(cmds[4].device_id, device);
        assert_eq!(cmds[4].payload["scan"], "(01)09501101530003(10)M-OK");
        assert_eq!(cmds[5].state, "pending");
        assert_eq!(s.outbox_pending().unwrap(), 4, "version {k}");
        assert_eq!(
            s.audit_verify().unwrap(),
            Ok(chained_before + 2),
            "version {k}: the chain goes on"
        );
        let cold: Vec<(String, i64)> = s
            .stock_of_lot("MILK", "M-OK")
            .unwrap()
            .into_iter()
            .map(|r| (r.location, r.qty))
            .collect();
        assert_eq!(
            cold,
            [("R-01".to_owned(), 100), ("COLD-1".to_owned(), 20)],
            "version {k}"
        );
        assert_eq!(s.task("PK-1").unwrap().unwrap().lines[0].qty_done, 4, "version {k}");
        assert_eq!(s.movements("MILK", "M-OK", 1).unwrap()[0].kind, "pick", "version {k}");
        drop(s);

        // Migrated, it is an ordinary cache of this version: it opens again, read-only too.
        let again = Store::open(&path).unwrap_or_else(|e| panic!("version {k}: {e}"));
        assert_eq!(again.outbox_commands().unwrap().len(), 6);
        drop(again);
        let ro = Store::open_read_only(&path).unwrap();
        assert_eq!(ro.lot("MILK", "M-RECALL").unwrap().unwrap().status, LotStatus::Recalled);
    }
}
