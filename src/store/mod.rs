//! The offline cache: one SQLite file (WAL, `synchronous=FULL`, foreign keys on) holding master
//! data, stock, tasks, the outbox of commands for the hub, the audit log and sync state.
//!
//! Every read the scan path needs is one indexed query; nothing here decides a verdict.

pub mod demo;
pub mod import;
mod migrations;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::domain::ids::{Gtin, LotNo};
use crate::domain::lot::{
    Customer, DEFAULT_NEAR_EXPIRY_TIERS, FefoCandidate, Item, Lot, LotStatus, MinRemaining, Storage,
};

pub use migrations::MIGRATIONS;

/// Failures of the store, each naming the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database file {path} does not exist; create it with `lotline demo-data --db {path}` or `lotline import --db {path} FILE.json`"
    )]
    Missing { path: PathBuf },
    #[error(
        "{path} is not a lotline database or is damaged ({detail}); move it aside and recreate it with `lotline demo-data` or `lotline import`"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path} was written by a newer lotline (schema version {found}, this build knows up to {known}); update lotline"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("database is full or the disk is out of space ({0}); free some space and try again: nothing was lost")]
    Full(String),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored data is invalid: {0}")]
    Data(String),
}

fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        },
        Some(DiskFull) => StoreError::Full(e.to_string()),
        _ => StoreError::Open {
            path: path.to_owned(),
            source: e,
        },
    }
}

/// Maps a write error, calling out a full disk.
pub(crate) fn write_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
        _ => StoreError::Sql(e),
    }
}

/// One item's row in a lot card: where the lot is and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRow {
    pub location: String,
    pub warehouse: String,
    pub zone: String,
    pub kind: String,
    pub qty: i64,
}

/// A pick or count task line as the scan screen needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSummary {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub customer_id: Option<String>,
    pub reference: Option<String>,
    pub lines: i64,
}

/// One line of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLine {
    pub line_no: i64,
    pub item_id: String,
    pub lot: Option<String>,
    pub location: Option<String>,
    pub qty_expected: i64,
    pub qty_done: i64,
}

/// A task with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub summary: TaskSummary,
    pub lines: Vec<TaskLine>,
}

/// A scan decision to be written to the audit log and the outbox in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub at: String,
    pub operator: String,
    pub gate: String,
    pub scan: String,
    pub verdict: String,
    pub reason_codes: Vec<String>,
    pub item_id: Option<String>,
    pub lot: Option<String>,
    pub task_id: Option<String>,
    pub customer_id: Option<String>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens an existing cache. A missing file is an error that says how to create one.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing { path: path.to_owned() });
        }
        Self::open_with(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    /// Opens the cache, creating the file (and its folder) if needed.
    pub fn create(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_owned(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
        Self::open_with(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    /// A private in-memory cache, for tests and the headless screenshot of an empty state.
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        let mut s = Store {
            conn,
            path: PathBuf::from(":memory:"),
        };
        s.configure()?;
        s.migrate()?;
        Ok(s)
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
        let mut s = Store {
            conn,
            path: path.to_owned(),
        };
        s.configure().map_err(|e| match e {
            StoreError::Sql(e) => classify(path, e),
            other => other,
        })?;
        s.migrate()?;
        Ok(s)
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        // journal_mode answers with a row; the others are plain statements.
        let _: String = self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // 16 MiB of page cache keeps the upper levels of the scan-path indexes in memory even for
        // a million-lot cache; handhelds have 1–3 GB.
        self.conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384;",
        )?;
        Ok(())
    }

    /// Applies pending migrations; refuses a file from a newer build.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql).map_err(write_err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit().map_err(write_err)?;
        }
        Ok(())
    }

    /// Caps the database at `pages` pages (`PRAGMA max_page_count`) for this connection; writes
    /// beyond it fail as a full disk would. For drills and tests of the full-disk path.
    pub fn cap_size(&self, pages: u64) -> Result<(), StoreError> {
        let _: i64 = self
            .conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0))?;
        Ok(())
    }

    /// Pages the database file uses now.
    pub fn page_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Finds the item a scanned GTIN or alias code names.
    pub fn item_by_code(&self, code: &str) -> Result<Option<Item>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT i.id, i.name_en, i.name_zh, i.category, i.shelf_life_days, i.min_remaining_days_receipt,
                    i.min_remaining_pct_receipt, COALESCE(i.near_expiry_days, c.near_expiry_days),
                    i.requires_qc, i.serialized, i.regulated, i.storage,
                    (SELECT g.code FROM barcodes g WHERE g.item_id = i.id AND g.kind = 'gtin' ORDER BY g.code LIMIT 1)
             FROM barcodes b JOIN items i ON i.id = b.item_id LEFT JOIN categories c ON c.id = i.category
             WHERE b.code = ?1",
        )?;
        st.query_row([code], item_from_row).optional()?.transpose()
    }

    /// Finds an item by its id.
    pub fn item_by_id(&self, id: &str) -> Result<Option<Item>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT i.id, i.name_en, i.name_zh, i.category, i.shelf_life_days, i.min_remaining_days_receipt,
                    i.min_remaining_pct_receipt, COALESCE(i.near_expiry_days, c.near_expiry_days),
                    i.requires_qc, i.serialized, i.regulated, i.storage,
                    (SELECT g.code FROM barcodes g WHERE g.item_id = i.id AND g.kind = 'gtin' ORDER BY g.code LIMIT 1)
             FROM items i LEFT JOIN categories c ON c.id = i.category WHERE i.id = ?1",
        )?;
        st.query_row([id], item_from_row).optional()?.transpose()
    }

    /// Finds a lot of an item.
    pub fn lot(&self, item_id: &str, lot: &str) -> Result<Option<Lot>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT item_id, lot, expiry, production_date, qc_date, status FROM lots WHERE item_id = ?1 AND lot = ?2",
        )?;
        st.query_row(params![item_id, lot], lot_from_row)
            .optional()?
            .transpose()
    }

    /// The lot a serial-numbered unit belongs to, if the cache knows the serial.
    pub fn serial_lot(&self, item_id: &str, serial: &str) -> Result<Option<Lot>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT l.item_id, l.lot, l.expiry, l.production_date, l.qc_date, l.status
             FROM serials s JOIN lots l ON l.id = s.lot_id WHERE s.item_id = ?1 AND s.serial = ?2",
        )?;
        st.query_row(params![item_id, serial], lot_from_row)
            .optional()?
            .transpose()
    }

    /// Up to `limit` serial-numbered units as (GTIN, serial), in item and serial order: what RFID
    /// tags in the warehouse would carry (the simulated reader's tag population).
    pub fn serialized_units(&self, limit: usize) -> Result<Vec<(String, String)>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT (SELECT g.code FROM barcodes g WHERE g.item_id = s.item_id AND g.kind = 'gtin' ORDER BY g.code LIMIT 1) AS gtin,
                    s.serial
             FROM serials s WHERE gtin IS NOT NULL ORDER BY s.item_id, length(s.serial), s.serial LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The earliest-expiring, unexpired, released lot of an item with stock in a pick location.
    /// Ties on expiry go to the lot created first (the index's rowid order), so the query can
    /// stop at the first match instead of sorting a day's worth of lots.
    pub fn fefo_candidate(&self, item_id: &str, today: NaiveDate) -> Result<Option<FefoCandidate>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT l.lot, l.expiry, s.location
             FROM lots l JOIN stock s ON s.lot_id = l.id JOIN locations loc ON loc.code = s.location
             WHERE l.item_id = ?1 AND l.status = 'released' AND l.expiry >= ?2 AND s.qty > 0 AND loc.kind = 'pick'
             ORDER BY l.expiry LIMIT 1",
        )?;
        let row = st
            .query_row(params![item_id, today.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .optional()?;
        row.map(|(lot, expiry, location)| {
            Ok(FefoCandidate {
                lot: LotNo::new(&lot).map_err(|e| StoreError::Data(e.to_string()))?,
                expiry: parse_date(&expiry)?,
                location,
            })
        })
        .transpose()
    }

    pub fn customer(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, name, min_remaining_days FROM customers WHERE id = ?1")?;
        Ok(st
            .query_row([id], |r| {
                Ok(Customer {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    min_remaining_days: r.get(2)?,
                })
            })
            .optional()?)
    }

    pub fn customers(&self) -> Result<Vec<Customer>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, name, min_remaining_days FROM customers ORDER BY id")?;
        let rows = st.query_map([], |r| {
            Ok(Customer {
                id: r.get(0)?,
                name: r.get(1)?,
                min_remaining_days: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where a lot is and how many, largest first.
    pub fn stock_of_lot(&self, item_id: &str, lot: &str) -> Result<Vec<StockRow>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT s.location, loc.warehouse, loc.zone, loc.kind, s.qty
             FROM lots l JOIN stock s ON s.lot_id = l.id JOIN locations loc ON loc.code = s.location
             WHERE l.item_id = ?1 AND l.lot = ?2 AND s.qty > 0 ORDER BY s.qty DESC, s.location",
        )?;
        let rows = st.query_map(params![item_id, lot], |r| {
            Ok(StockRow {
                location: r.get(0)?,
                warehouse: r.get(1)?,
                zone: r.get(2)?,
                kind: r.get(3)?,
                qty: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Lots of an item, earliest expiry first (for Lookup when only the item was scanned).
    pub fn lots_of_item(&self, item_id: &str, limit: usize) -> Result<Vec<Lot>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT item_id, lot, expiry, production_date, qc_date, status FROM lots WHERE item_id = ?1
             ORDER BY expiry IS NULL, expiry, lot LIMIT ?2",
        )?;
        let rows = st.query_map(params![item_id, limit as i64], lot_from_row)?;
        rows.map(|r| r?).collect()
    }

    pub fn tasks(&self, kind: Option<&str>) -> Result<Vec<TaskSummary>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT t.id, t.kind, t.status, t.customer_id, t.reference,
                    (SELECT COUNT(*) FROM task_lines tl WHERE tl.task_id = t.id)
             FROM tasks t WHERE ?1 IS NULL OR t.kind = ?1 ORDER BY t.created_at, t.id",
        )?;
        let rows = st.query_map([kind], |r| {
            Ok(TaskSummary {
                id: r.get(0)?,
                kind: r.get(1)?,
                status: r.get(2)?,
                customer_id: r.get(3)?,
                reference: r.get(4)?,
                lines: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A task and its lines.
    pub fn task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        let Some(summary) = self.tasks(None)?.into_iter().find(|t| t.id == id) else {
            return Ok(None);
        };
        let mut st = self.conn.prepare_cached(
            "SELECT line_no, item_id, lot, location, qty_expected, qty_done FROM task_lines WHERE task_id = ?1 ORDER BY line_no",
        )?;
        let lines = st
            .query_map([id], |r| {
                Ok(TaskLine {
                    line_no: r.get(0)?,
                    item_id: r.get(1)?,
                    lot: r.get(2)?,
                    location: r.get(3)?,
                    qty_expected: r.get(4)?,
                    qty_done: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(Task { summary, lines }))
    }

    /// Counts rows of a table; for reports and tests.
    pub fn count(&self, table: &str) -> Result<i64, StoreError> {
        const TABLES: [&str; 13] = [
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
            "sync_state",
        ];
        if !TABLES.contains(&table) {
            return Err(StoreError::Data(format!("no table {table}")));
        }
        Ok(self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
    }

    /// Commands not yet acknowledged by the hub.
    pub fn outbox_pending(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight')",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(write_err)?;
        Ok(())
    }

    /// Writes a scan decision to the audit log and queues it for the hub, atomically.
    /// Returns the outbox command id.
    pub fn record_scan(&mut self, rec: &ScanRecord) -> Result<String, StoreError> {
        let command_id = uuid::Uuid::new_v4().to_string();
        let reasons = serde_json::to_string(&rec.reason_codes).map_err(|e| StoreError::Data(e.to_string()))?;
        let payload = serde_json::json!({
            "at": rec.at, "operator": rec.operator, "gate": rec.gate, "scan": rec.scan, "verdict": rec.verdict,
            "reasons": rec.reason_codes, "item": rec.item_id, "lot": rec.lot, "task": rec.task_id, "customer": rec.customer_id,
        })
        .to_string();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO audit_log(at, operator, gate, scan, verdict, reasons, item_id, lot, task_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                rec.at,
                rec.operator,
                rec.gate,
                rec.scan,
                rec.verdict,
                reasons,
                rec.item_id,
                rec.lot,
                rec.task_id
            ],
        )
        .map_err(write_err)?;
        tx.execute(
            "INSERT INTO outbox(command_id, kind, payload, created_at) VALUES (?1, 'scan', ?2, ?3)",
            params![command_id, payload, rec.at],
        )
        .map_err(write_err)?;
        tx.commit().map_err(write_err)?;
        Ok(command_id)
    }

    /// Records that the operator went ahead with a warned scan and why, in the audit log and as
    /// an outbox command that refers to the scan's command.
    pub fn record_override(
        &mut self,
        scan_command_id: &str,
        rec: &ScanRecord,
        reason: &str,
    ) -> Result<String, StoreError> {
        let command_id = uuid::Uuid::new_v4().to_string();
        let reasons = serde_json::to_string(&rec.reason_codes).map_err(|e| StoreError::Data(e.to_string()))?;
        let payload = serde_json::json!({
            "scan_command": scan_command_id, "at": rec.at, "operator": rec.operator, "gate": rec.gate,
            "scan": rec.scan, "warnings": rec.reason_codes, "reason": reason, "item": rec.item_id, "lot": rec.lot,
            "task": rec.task_id,
        })
        .to_string();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO audit_log(at, operator, gate, scan, verdict, reasons, item_id, lot, task_id, override_reason)
             VALUES (?1, ?2, ?3, ?4, 'warn', ?5, ?6, ?7, ?8, ?9)",
            params![
                rec.at,
                rec.operator,
                rec.gate,
                rec.scan,
                reasons,
                rec.item_id,
                rec.lot,
                rec.task_id,
                reason
            ],
        )
        .map_err(write_err)?;
        tx.execute(
            "INSERT INTO outbox(command_id, kind, payload, created_at) VALUES (?1, 'warning_override', ?2, ?3)",
            params![command_id, payload, rec.at],
        )
        .map_err(write_err)?;
        tx.commit().map_err(write_err)?;
        Ok(command_id)
    }

    /// Audit rows, newest first: (at, gate, scan, verdict, reasons JSON).
    pub fn recent_audit(&self, limit: usize) -> Result<Vec<(String, String, String, String, String)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT at, gate, scan, verdict, reasons FROM audit_log ORDER BY id DESC LIMIT ?1")?;
        let rows = st.query_map([limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Data(format!("bad date '{s}' in database")))
}

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    s.as_deref().map(parse_date).transpose()
}

/// Parses a comma list of tiers such as "60,30,7"; largest first.
pub fn parse_tiers(s: &str) -> Result<Vec<u32>, String> {
    let mut v = s
        .split(',')
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().map_err(|_| format!("'{p}' is not a number of days")))
        .collect::<Result<Vec<_>, _>>()?;
    v.sort_unstable_by(|a, b| b.cmp(a));
    v.dedup();
    Ok(v)
}

pub fn tiers_to_string(t: &[u32]) -> String {
    t.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

type RowResult<T> = rusqlite::Result<Result<T, StoreError>>;

fn item_from_row(r: &rusqlite::Row<'_>) -> RowResult<Item> {
    let days: Option<u32> = r.get(5)?;
    let pct: Option<u8> = r.get(6)?;
    let tiers: Option<String> = r.get(7)?;
    let storage: String = r.get(11)?;
    let gtin: Option<String> = r.get(12)?;
    let id: String = r.get(0)?;
    let build = || -> Result<Item, StoreError> {
        Ok(Item {
            name_en: r.get(1)?,
            name_zh: r.get(2)?,
            category: r.get(3)?,
            shelf_life_days: r.get(4)?,
            min_remaining_receipt: match (days, pct) {
                (Some(d), _) => Some(MinRemaining::Days(d)),
                (None, Some(p)) => Some(MinRemaining::Percent(p)),
                (None, None) => None,
            },
            near_expiry_days: match tiers {
                Some(t) => parse_tiers(&t).map_err(|e| StoreError::Data(format!("item {id}: {e}")))?,
                None => DEFAULT_NEAR_EXPIRY_TIERS.to_vec(),
            },
            requires_qc: r.get(8)?,
            serialized: r.get(9)?,
            regulated: r.get(10)?,
            storage: storage.parse::<Storage>().map_err(StoreError::Data)?,
            gtin: gtin
                .as_deref()
                .map(Gtin::new)
                .transpose()
                .map_err(|e| StoreError::Data(e.to_string()))?,
            id: id.clone(),
        })
    };
    Ok(build())
}

fn lot_from_row(r: &rusqlite::Row<'_>) -> RowResult<Lot> {
    let lot: String = r.get(1)?;
    let status: String = r.get(5)?;
    let (e, p, q): (Option<String>, Option<String>, Option<String>) = (r.get(2)?, r.get(3)?, r.get(4)?);
    let item_id: String = r.get(0)?;
    Ok((|| {
        Ok(Lot {
            item_id,
            lot: LotNo::new(&lot).map_err(|e| StoreError::Data(e.to_string()))?,
            expiry: opt_date(e)?,
            production_date: opt_date(p)?,
            qc_date: opt_date(q)?,
            status: status.parse::<LotStatus>().map_err(StoreError::Data)?,
        })
    })())
}
