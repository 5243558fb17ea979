//! `lotline import`: loads master data from the documented JSON format in one transaction.
//!
//! All or nothing: the file is streamed record by record ([`read`]), each good record is written
//! as it comes inside one write transaction, and every problem is collected with its record and
//! field path. Any problem (or a broken file) rolls the transaction back, so nothing is written
//! unless every record is good. Memory stays bounded whatever the file's size: one record is in
//! memory at a time, and what must be remembered across records (which ids the file has already
//! given, references not yet resolvable) lives in temporary tables, not in the process.
//!
//! Sections may come in any order: a reference to a record defined later in the file (a lot
//! before its item, stock before its lot) is checked again once the whole file has been read.

pub use lotline_masterdata::read;

use std::io::Read;

use rusqlite::{OptionalExtension, Transaction, params};

use self::read::{
    Event, JsonError, OperatorRow, Pos, ReadError, Reason, RefKind, Row, RowError, Section, Stop, read_import,
};
use super::pin::{PinError, hash_pin};
use super::{Store, StoreError, tiers_to_string, write_err};
use crate::domain::text::Bilingual;

/// An item written or replaced whole (the import, and a downloaded `item` change).
pub(super) const UPSERT_ITEM: &str = "INSERT INTO items(id, name_en, name_zh, category, shelf_life_days,
        min_remaining_days_receipt, min_remaining_pct_receipt, near_expiry_days, requires_qc, serialized, regulated,
        storage, count_tolerance)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
     ON CONFLICT(id) DO UPDATE SET name_en = excluded.name_en, name_zh = excluded.name_zh,
        category = excluded.category, shelf_life_days = excluded.shelf_life_days,
        min_remaining_days_receipt = excluded.min_remaining_days_receipt,
        min_remaining_pct_receipt = excluded.min_remaining_pct_receipt,
        near_expiry_days = excluded.near_expiry_days, requires_qc = excluded.requires_qc,
        serialized = excluded.serialized, regulated = excluded.regulated, storage = excluded.storage,
        count_tolerance = excluded.count_tolerance";

/// How many problems are kept to be shown; beyond these, they are only counted.
pub const MAX_KEPT_ERRORS: usize = 1000;

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not JSON, is cut short, or is not an object of sections.
    #[error("{0}")]
    Json(JsonError),
    /// Records with problems: the first [`MAX_KEPT_ERRORS`] of them, and how many more there were.
    #[error("{}", rows_message(.errors, .more))]
    Rows { errors: Vec<RowError>, more: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An operator's PIN could not be hashed (the OS gave no random salt).
    #[error("{0}")]
    Pin(PinError),
}

impl ImportError {
    /// Every problem found, shown or not.
    pub fn problem_count(&self) -> usize {
        match self {
            ImportError::Rows { errors, more } => errors.len() + more,
            _ => 1,
        }
    }
}

fn rows_message(errors: &[RowError], more: &usize) -> String {
    let mut s = format!("{} problem(s) found; nothing was imported:", errors.len() + more);
    for e in errors {
        s.push_str(&format!("\n  {e}"));
    }
    if *more > 0 {
        s.push_str(&format!("\n  … and {more} more problem(s)"));
    }
    s
}

impl Bilingual for ImportError {
    fn message_zh(&self) -> String {
        match self {
            ImportError::Json(e) => e.message_zh(),
            ImportError::Rows { errors, more } => {
                let mut s = format!("发现 {} 个问题；未导入任何数据：", errors.len() + more);
                for e in errors {
                    s.push_str(&format!("\n  {}", e.message_zh()));
                }
                if *more > 0 {
                    s.push_str(&format!("\n  …… 另有 {more} 个问题"));
                }
                s
            }
            ImportError::Store(e) => format!("写入数据库失败，未导入任何数据：{e}"),
            ImportError::Pin(e) => format!("{}；未导入任何数据", e.message_zh()),
        }
    }
}

/// How many rows of each kind were written.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub categories: usize,
    pub items: usize,
    pub barcodes: usize,
    pub lots: usize,
    pub locations: usize,
    pub stock: usize,
    pub customers: usize,
    pub serials: usize,
    pub tasks: usize,
    pub operators: usize,
}

/// Imports `json` into `store`. On any problem nothing is written and every problem is returned.
pub fn import_json(store: &mut Store, json: &str) -> Result<ImportSummary, ImportError> {
    import_from(store, json.as_bytes())
}

/// Imports a file streamed from `r` (give it a `BufReader`) into `store`, in bounded memory.
/// On any problem nothing is written and every problem is returned (the first
/// [`MAX_KEPT_ERRORS`] in full, the rest counted).
pub fn import_from<R: Read>(store: &mut Store, r: R) -> Result<ImportSummary, ImportError> {
    // A larger page cache while importing: the lot and stock indexes are written in key order
    // of neither, so a million-lot file touches their pages at random. Still bounded (32 MiB).
    let _ = store.conn().execute_batch(super::BULK_CACHE);
    let res = import_in_one_transaction(store, r);
    let _ = store.conn().execute_batch(super::NORMAL_CACHE);
    res
}

fn import_in_one_transaction<R: Read>(store: &mut Store, r: R) -> Result<ImportSummary, ImportError> {
    // The one write transaction of the import; dropping it without commit rolls everything back.
    let tx = store.begin_write()?;
    tx.set_prepared_statement_cache_capacity(64);
    let deferred = defer_indexes(&tx)?;
    // References are checked by the import itself, after the whole file (any section order).
    tx.execute_batch(
        "PRAGMA defer_foreign_keys = ON;
         PRAGMA temp.cache_size = -8192;
         DROP TABLE IF EXISTS temp.import_seen;
         DROP TABLE IF EXISTS temp.import_pending;
         DROP TABLE IF EXISTS temp.import_lots;
         DROP TABLE IF EXISTS temp.import_stock;
         CREATE TEMP TABLE import_lots (id INTEGER PRIMARY KEY, pos INTEGER NOT NULL);
         CREATE TEMP TABLE import_stock (
             lot_id INTEGER NOT NULL, location TEXT NOT NULL, pos INTEGER NOT NULL,
             PRIMARY KEY (lot_id, location)) WITHOUT ROWID;
         CREATE TEMP TABLE import_seen (
             kind INTEGER NOT NULL, k1 TEXT NOT NULL, k2 TEXT NOT NULL, k3 TEXT NOT NULL,
             pos INTEGER NOT NULL, extra TEXT,
             PRIMARY KEY (kind, k1, k2, k3)) WITHOUT ROWID;
         CREATE TEMP TABLE import_pending (
             kind INTEGER NOT NULL, pos INTEGER NOT NULL, key TEXT,
             a TEXT NOT NULL, b TEXT, c TEXT, n INTEGER);",
    )
    .map_err(write_err)?;
    let mut w = Writer {
        tx: &tx,
        errors: Vec::new(),
        more: 0,
        sum: ImportSummary::default(),
        fatal: None,
    };
    let res = read_import(r, &mut |ev| w.event(ev));
    match res {
        Ok(()) => {}
        Err(ReadError::Json(e)) => return Err(ImportError::Json(e)),
        Err(ReadError::Stopped) => {
            return Err(w
                .fatal
                .take()
                .unwrap_or_else(|| ImportError::Store(StoreError::Data("the import stopped".into()))));
        }
    }
    w.resolve_pending()?;
    if !w.errors.is_empty() {
        return Err(ImportError::Rows {
            errors: w.errors,
            more: w.more,
        });
    }
    let sum = w.sum;
    tx.execute_batch(
        "DROP TABLE temp.import_seen; DROP TABLE temp.import_pending;
         DROP TABLE temp.import_lots; DROP TABLE temp.import_stock;",
    )
    .map_err(write_err)?;
    for sql in &deferred {
        tx.execute_batch(sql).map_err(write_err)?;
    }
    tx.commit().map_err(write_err)?;
    Ok(sum)
}

/// Secondary indexes a first load builds once after its rows instead of row by row. Lots come in
/// no particular expiry order, so at every row `lots_fefo` takes an insert at a random place: at
/// a million lots its pages outgrow the page cache and each insert costs a spill, while building
/// the index at the end is one sort. The unique indexes stay, since the import finds and updates
/// rows through them.
const DEFERRED_INDEXES: [&str; 3] = ["lots_fefo", "stock_location", "serials_lot"];

/// On a cache with no lots yet (a first load), drops [`DEFERRED_INDEXES`] inside the import's
/// transaction and returns the SQL that makes them again; a rollback brings them back as they were.
fn defer_indexes(tx: &rusqlite::Transaction<'_>) -> Result<Vec<String>, StoreError> {
    if !no_lots_yet(tx).map_err(write_err)? {
        return Ok(Vec::new());
    }
    drop_deferred_indexes(tx).map_err(write_err)
}

/// The cache holds no lot: a load into it is a first load.
pub(super) fn no_lots_yet(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<bool> {
    tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM lots)", [], |r| r.get(0))
}

/// Drops those of [`DEFERRED_INDEXES`] that exist, inside `tx`; returns the SQL that makes them
/// again.
pub(super) fn drop_deferred_indexes(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<Vec<String>> {
    let mut made = Vec::new();
    for name in DEFERRED_INDEXES {
        let sql: Option<String> = tx
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(sql) = sql {
            tx.execute_batch(&format!("DROP INDEX {name}"))?;
            made.push(sql);
        }
    }
    Ok(made)
}

// Kinds of `import_seen` and `import_pending` rows.
const SEEN_CATEGORY: i64 = 0;
const SEEN_ITEM: i64 = 1;
const SEEN_LOCATION: i64 = 3;
const SEEN_CUSTOMER: i64 = 5;
const SEEN_SERIAL: i64 = 6;
const SEEN_TASK: i64 = 7;
const SEEN_BARCODE: i64 = 8;
const SEEN_OPERATOR: i64 = 12;
/// A pallet's SSCC, with the id of the task that ships it as `extra`.
const SEEN_SSCC: i64 = 13;
/// Refused records by section, for the messages of references to them.
const REFUSED_ITEM: i64 = 9;
const REFUSED_LOCATION: i64 = 10;
const REFUSED_CUSTOMER: i64 = 11;

const PENDING_LOT_ITEM: i64 = 0;
const PENDING_STOCK: i64 = 1;
const PENDING_SERIAL: i64 = 2;
const PENDING_TASK_CUSTOMER: i64 = 3;
const PENDING_LINE_ITEM: i64 = 4;
const PENDING_LINE_LOCATION: i64 = 5;
const PENDING_LINE_SSCC: i64 = 6;
const PENDING_TASK_LOCATION: i64 = 7;
const PENDING_TASK_ZONE: i64 = 8;

struct Writer<'t> {
    tx: &'t Transaction<'t>,
    errors: Vec<RowError>,
    more: usize,
    sum: ImportSummary,
    /// A failure of the database (or of PIN hashing) that ended the import.
    fatal: Option<ImportError>,
}

/// The outcome of writing one row: `Err` only for a failure of the database itself.
type Step = Result<(), StoreError>;

impl Writer<'_> {
    fn event(&mut self, ev: Event) -> Result<(), Stop> {
        let res = match ev {
            Event::Bad(e) => {
                self.push(e);
                Ok(())
            }
            Event::Row {
                pos,
                key,
                row: Row::Operator(op),
            } => return self.operator(pos, key.as_deref(), op),
            Event::Row { pos, key, row } => self.row(pos, key.as_deref(), row),
            Event::Refused { pos, key } => self.refused(pos, &key),
        };
        res.map_err(|e| {
            self.fatal = Some(e.into());
            Stop
        })
    }

    /// Writes an operator with the argon2id hash of its PIN (the PIN itself is dropped here).
    /// Hashing takes tens of milliseconds, so it is skipped once the import has a problem: the
    /// file will be refused anyway and nothing refers to operators.
    fn operator(&mut self, pos: Pos, key: Option<&str>, op: OperatorRow) -> Result<(), Stop> {
        let res: Result<(), ImportError> = (|| {
            if !self.first_time(SEEN_OPERATOR, (&op.id, "", ""), pos, key)? || self.has_problems() {
                return Ok(());
            }
            let hash = hash_pin(op.pin.expose()).map_err(ImportError::Pin)?;
            let res = self
                .tx
                .prepare_cached(
                    "INSERT INTO operators(id, name, pin_hash, roles) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(id) DO UPDATE SET name = excluded.name, pin_hash = excluded.pin_hash,
                        roles = excluded.roles",
                )
                .map_err(write_err)?
                .execute(params![op.id, op.name, hash, op.roles.join(",")]);
            match res {
                Ok(_) => self.sum.operators += 1,
                Err(e) => self.sql(pos, key, e)?,
            }
            Ok(())
        })();
        res.map_err(|e| {
            self.fatal = Some(e);
            Stop
        })
    }

    fn has_problems(&self) -> bool {
        !self.errors.is_empty()
    }

    fn push(&mut self, e: RowError) {
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(e);
        } else {
            self.more += 1;
        }
    }

    fn bad(&mut self, pos: Pos, key: Option<&str>, field: Option<&str>, why: Reason) {
        self.push(RowError {
            record: pos.to_string(),
            key: key.map(str::to_owned),
            field: field.map(str::to_owned),
            why,
        });
    }

    /// A database error: a constraint the reader does not know about is the row's problem,
    /// anything else ends the import.
    fn sql(&mut self, pos: Pos, key: Option<&str>, e: rusqlite::Error) -> Step {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => {
                self.bad(pos, key, None, Reason::Rejected { detail: e.to_string() });
                Ok(())
            }
            _ => Err(write_err(e)),
        }
    }

    /// Records that the file gives `(kind, k1, k2, k3)` at `pos`; the position of the record
    /// that gave it first (and its `extra`) when the file gave it before.
    fn claim(
        &mut self,
        kind: i64,
        k: (&str, &str, &str),
        pos: Pos,
        extra: Option<&str>,
    ) -> Result<Option<(u64, Option<String>)>, StoreError> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO temp.import_seen(kind, k1, k2, k3, pos, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![kind, k.0, k.1, k.2, pos.index as i64, extra])
            .map_err(write_err)?;
        if n == 1 {
            return Ok(None);
        }
        let first = self
            .tx
            .prepare_cached(
                "SELECT pos, extra FROM temp.import_seen WHERE kind = ?1 AND k1 = ?2 AND k2 = ?3 AND k3 = ?4",
            )?
            .query_row(params![kind, k.0, k.1, k.2], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })?;
        Ok(Some(first))
    }

    /// Claims the record's key; on a duplicate reports it and returns false.
    fn first_time(
        &mut self,
        kind: i64,
        k: (&str, &str, &str),
        pos: Pos,
        key: Option<&str>,
    ) -> Result<bool, StoreError> {
        match self.claim(kind, k, pos, None)? {
            None => Ok(true),
            Some((first, _)) => {
                self.first_or_duplicate(Some(first), pos, key);
                Ok(false)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pending(
        &mut self,
        kind: i64,
        pos: Pos,
        key: Option<&str>,
        a: &str,
        b: Option<&str>,
        c: Option<&str>,
        n: Option<i64>,
    ) -> Step {
        self.tx
            .prepare_cached(
                "INSERT INTO temp.import_pending(kind, pos, key, a, b, c, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![kind, pos.index as i64, key, a, b, c, n])
            .map_err(write_err)?;
        Ok(())
    }

    /// Remembers a refused item, location or customer, so a reference to it says why it is missing.
    fn refused(&mut self, pos: Pos, key: &str) -> Step {
        let (kind, key) = match pos.section {
            Section::Items => (REFUSED_ITEM, key.to_owned()),
            Section::Locations => (REFUSED_LOCATION, key.trim().to_ascii_uppercase()),
            Section::Customers => (REFUSED_CUSTOMER, key.to_owned()),
            _ => return Ok(()),
        };
        self.claim(kind, (&key, "", ""), pos, None)?;
        Ok(())
    }

    /// Why a reference to `value` cannot be resolved: refused in this file, or given nowhere.
    fn missing(&self, kind: RefKind, value: String) -> Result<Reason, StoreError> {
        let (seen, section) = match kind {
            RefKind::Item => (REFUSED_ITEM, Section::Items),
            RefKind::Location => (REFUSED_LOCATION, Section::Locations),
            RefKind::Customer => (REFUSED_CUSTOMER, Section::Customers),
        };
        let at: Option<i64> = self
            .tx
            .prepare_cached("SELECT pos FROM temp.import_seen WHERE kind = ?1 AND k1 = ?2 AND k2 = '' AND k3 = ''")?
            .query_row(params![seen, value], |r| r.get(0))
            .optional()?;
        Ok(match at {
            Some(i) => Reason::RefRefused {
                kind,
                value,
                at: Pos {
                    section,
                    index: i as u64,
                }
                .to_string(),
            },
            None => Reason::NotDefined { kind, value },
        })
    }

    fn exists(&self, sql: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_row([key], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn item_exists(&self, id: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM items WHERE id = ?1", id)
    }

    fn location_exists(&self, code: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM locations WHERE code = ?1", code)
    }

    fn zone_exists(&self, zone: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM locations WHERE zone = ?1 LIMIT 1", zone)
    }

    fn customer_exists(&self, id: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM customers WHERE id = ?1", id)
    }

    fn lot_id(&self, item: &str, lot: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM lots WHERE item_id = ?1 AND lot = ?2")?
            .query_row(params![item, lot], |r| r.get(0))
            .optional()?)
    }

    fn row(&mut self, pos: Pos, key: Option<&str>, row: Row) -> Step {
        match row {
            Row::Operator(_) => unreachable!("`event` hands operators to `operator`"),
            Row::Category(c) => {
                if !self.first_time(SEEN_CATEGORY, (&c.id, "", ""), pos, key)? {
                    return Ok(());
                }
                let res = self
                    .tx
                    .prepare_cached(
                        "INSERT INTO categories(id, near_expiry_days) VALUES (?1, ?2)
                         ON CONFLICT(id) DO UPDATE SET near_expiry_days = excluded.near_expiry_days",
                    )?
                    .execute(params![c.id, tiers_to_string(&c.near_expiry_days)]);
                match res {
                    Ok(_) => self.sum.categories += 1,
                    Err(e) => self.sql(pos, key, e)?,
                }
            }
            Row::Item(it) => {
                if !self.first_time(SEEN_ITEM, (&it.id, "", ""), pos, key)? {
                    return Ok(());
                }
                let mut ok = true;
                let codes: Vec<(&String, &str, String)> = (it.gtins.iter().enumerate())
                    .map(|(j, g)| (g, "gtin", format!("gtins[{j}]")))
                    .chain(
                        it.aliases
                            .iter()
                            .enumerate()
                            .map(|(j, a)| (a, "alias", format!("aliases[{j}]"))),
                    )
                    .collect();
                for (code, _, field) in &codes {
                    if let Some((first, Some(other))) =
                        self.claim(SEEN_BARCODE, (code.as_str(), "", ""), pos, Some(it.id.as_str()))?
                        && other != it.id
                    {
                        let by = Pos {
                            section: Section::Items,
                            index: first,
                        };
                        self.bad(
                            pos,
                            key,
                            Some(field.as_str()),
                            Reason::BarcodeTaken {
                                code: code.to_string(),
                                by: format!("{by} ({other})"),
                            },
                        );
                        ok = false;
                    }
                }
                if !ok {
                    return Ok(());
                }
                let tiers = it.near_expiry_days.as_deref().map(tiers_to_string);
                let res = self.tx.prepare_cached(UPSERT_ITEM)?.execute(params![
                    it.id,
                    it.name_en,
                    it.name_zh,
                    it.category,
                    it.shelf_life_days,
                    it.min_remaining_days_receipt,
                    it.min_remaining_pct_receipt,
                    tiers,
                    it.requires_qc,
                    it.serialized,
                    it.regulated,
                    it.storage.as_str(),
                    it.count_tolerance.map(|t| t.to_string())
                ]);
                if let Err(e) = res {
                    return self.sql(pos, key, e);
                }
                self.sum.items += 1;
                for (code, kind, _) in &codes {
                    let res = self
                        .tx
                        .prepare_cached(
                            "INSERT INTO barcodes(code, kind, item_id) VALUES (?1, ?2, ?3)
                             ON CONFLICT(code) DO UPDATE SET kind = excluded.kind, item_id = excluded.item_id",
                        )?
                        .execute(params![code, kind, it.id]);
                    match res {
                        Ok(_) => self.sum.barcodes += 1,
                        Err(e) => self.sql(pos, key, e)?,
                    }
                }
            }
            Row::Lot(l) => {
                if !self.item_exists(&l.item)? {
                    // Perhaps defined later in the file: checked again at the end.
                    self.pending(PENDING_LOT_ITEM, pos, key, &l.item, None, None, None)?;
                }
                let d = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
                let res = self
                    .tx
                    .prepare_cached(
                        "INSERT INTO lots(item_id, lot, expiry, production_date, qc_date, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT(item_id, lot) DO UPDATE SET expiry = excluded.expiry,
                            production_date = excluded.production_date, qc_date = excluded.qc_date, status = excluded.status
                         RETURNING id",
                    )?
                    .query_row(
                        params![
                            l.item,
                            l.lot,
                            d(l.expiry),
                            d(l.production_date),
                            d(l.qc_date),
                            l.status.as_str()
                        ],
                        |r| r.get::<_, i64>(0),
                    );
                match res {
                    // Lots are told apart by their row id: new ones come in increasing order,
                    // so remembering them is an append, not a search by item and lot.
                    Ok(id) => {
                        let first = self.claim_id(
                            "INSERT INTO temp.import_lots(id, pos) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                            "SELECT pos FROM temp.import_lots WHERE id = ?1",
                            (id, None),
                            pos,
                        )?;
                        self.first_or_duplicate(first, pos, key);
                        if first.is_none() {
                            self.sum.lots += 1;
                        }
                    }
                    Err(e) => self.sql(pos, key, e)?,
                }
            }
            Row::Location(loc) => {
                if !self.first_time(SEEN_LOCATION, (&loc.code, "", ""), pos, key)? {
                    return Ok(());
                }
                let res = self
                    .tx
                    .prepare_cached(
                        "INSERT INTO locations(code, warehouse, zone, kind, storage) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT(code) DO UPDATE SET warehouse = excluded.warehouse, zone = excluded.zone,
                            kind = excluded.kind, storage = excluded.storage",
                    )?
                    .execute(params![loc.code, loc.warehouse, loc.zone, loc.kind, loc.storage]);
                match res {
                    Ok(_) => self.sum.locations += 1,
                    Err(e) => self.sql(pos, key, e)?,
                }
            }
            Row::Stock(s) => match self.lot_id(&s.item, &s.lot)? {
                Some(lot_id) if self.location_exists(&s.location)? => {
                    self.write_stock(pos, key, lot_id, &s.location, s.qty)?
                }
                _ => self.pending(
                    PENDING_STOCK,
                    pos,
                    key,
                    &s.item,
                    Some(s.lot.as_str()),
                    Some(s.location.as_str()),
                    Some(s.qty),
                )?,
            },
            Row::Customer(c) => {
                if !self.first_time(SEEN_CUSTOMER, (&c.id, "", ""), pos, key)? {
                    return Ok(());
                }
                let res = self
                    .tx
                    .prepare_cached(
                        "INSERT INTO customers(id, name, min_remaining_days) VALUES (?1, ?2, ?3)
                         ON CONFLICT(id) DO UPDATE SET name = excluded.name, min_remaining_days = excluded.min_remaining_days",
                    )?
                    .execute(params![c.id, c.name, c.min_remaining_days]);
                match res {
                    Ok(_) => self.sum.customers += 1,
                    Err(e) => self.sql(pos, key, e)?,
                }
            }
            Row::Serial(s) => {
                if !self.first_time(SEEN_SERIAL, (&s.item, &s.serial, ""), pos, key)? {
                    return Ok(());
                }
                let lot_id = match &s.lot {
                    Some(l) => self.lot_id(&s.item, l)?.map(Some),
                    None => Some(None),
                };
                match lot_id {
                    Some(lot_id) if self.item_exists(&s.item)? => {
                        self.write_serial(pos, key, &s.item, &s.serial, lot_id)?
                    }
                    _ => self.pending(
                        PENDING_SERIAL,
                        pos,
                        key,
                        &s.item,
                        Some(s.serial.as_str()),
                        s.lot.as_deref(),
                        None,
                    )?,
                }
            }
            Row::Task(t) => {
                if !self.first_time(SEEN_TASK, (&t.id, "", ""), pos, key)? {
                    return Ok(());
                }
                if let Some(c) = &t.customer
                    && !self.customer_exists(c)?
                {
                    self.pending(PENDING_TASK_CUSTOMER, pos, key, c, None, None, None)?;
                }
                let created = t.created_at.as_deref().unwrap_or("1970-01-01T00:00:00Z");
                let res = self
                    .tx
                    .prepare_cached(
                        "INSERT INTO tasks(id, kind, customer_id, reference, created_at, tolerance_pct, blind, zone)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, customer_id = excluded.customer_id,
                            reference = excluded.reference, tolerance_pct = excluded.tolerance_pct,
                            blind = excluded.blind, zone = excluded.zone",
                    )?
                    .execute(params![
                        t.id,
                        t.kind,
                        t.customer,
                        t.reference,
                        created,
                        t.tolerance_pct,
                        t.blind,
                        t.zone
                    ]);
                if let Err(e) = res {
                    return self.sql(pos, key, e);
                }
                self.tx
                    .prepare_cached("DELETE FROM task_lines WHERE task_id = ?1")?
                    .execute([&t.id])
                    .map_err(write_err)?;
                // A count's locations are the ones it names and those of its lines; given again,
                // a task's locations are replaced.
                self.tx
                    .prepare_cached("DELETE FROM task_locations WHERE task_id = ?1")?
                    .execute([&t.id])
                    .map_err(write_err)?;
                let count = t.kind == "count";
                for (n, code) in t.locations.iter().enumerate() {
                    if !self.location_exists(code)? {
                        self.pending(PENDING_TASK_LOCATION, pos, key, code, None, None, Some(n as i64))?;
                    }
                    self.task_location(&t.id, code)?;
                }
                if let Some(z) = &t.zone
                    && !self.zone_exists(z)?
                {
                    self.pending(PENDING_TASK_ZONE, pos, key, z, None, None, None)?;
                }
                for (n, line) in t.lines.iter().enumerate() {
                    if !self.item_exists(&line.item)? {
                        self.pending(PENDING_LINE_ITEM, pos, key, &line.item, None, None, Some(n as i64))?;
                    }
                    if let Some(l) = &line.location
                        && !self.location_exists(l)?
                    {
                        self.pending(PENDING_LINE_LOCATION, pos, key, l, None, None, Some(n as i64))?;
                    }
                    if let Some(sscc) = &line.sscc {
                        self.claim_sscc(pos, key, &t.id, n, sscc)?;
                    }
                    if let (true, Some(l)) = (count, &line.location) {
                        self.task_location(&t.id, l)?;
                    }
                    let res = self
                        .tx
                        .prepare_cached(
                            "INSERT INTO task_lines(task_id, line_no, item_id, lot, location, qty_expected, expiry, sscc)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        )?
                        .execute(params![
                            t.id,
                            n as i64 + 1,
                            line.item,
                            line.lot,
                            line.location,
                            line.qty,
                            line.expiry.map(|d| d.to_string()),
                            line.sscc
                        ]);
                    if let Err(e) = res {
                        self.sql(pos, key, e)?;
                    }
                }
                self.sum.tasks += 1;
            }
        }
        Ok(())
    }

    /// Adds `location` to a count task's locations (once, however often it is named).
    fn task_location(&self, task: &str, location: &str) -> Step {
        self.tx
            .prepare_cached("INSERT INTO task_locations(task_id, location) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
            .execute(params![task, location])
            .map_err(write_err)?;
        Ok(())
    }

    /// Remembers a lot or stock row this file gave, by its database key; the position of the
    /// record that gave it first when the file gave it before.
    fn claim_id(
        &mut self,
        insert: &str,
        select: &str,
        k: (i64, Option<&str>),
        pos: Pos,
    ) -> Result<Option<u64>, StoreError> {
        let n = match k.1 {
            None => self.tx.prepare_cached(insert)?.execute(params![k.0, pos.index as i64]),
            Some(loc) => self
                .tx
                .prepare_cached(insert)?
                .execute(params![k.0, pos.index as i64, loc]),
        }
        .map_err(write_err)?;
        if n == 1 {
            return Ok(None);
        }
        let first: i64 = match k.1 {
            None => self.tx.prepare_cached(select)?.query_row(params![k.0], |r| r.get(0))?,
            Some(loc) => self
                .tx
                .prepare_cached(select)?
                .query_row(params![k.0, loc], |r| r.get(0))?,
        };
        Ok(Some(first as u64))
    }

    /// A pallet may carry several lines of one task, but belongs to one task: the first task of
    /// the file that names `sscc` claims it, a later one is an error naming both. Whether a task
    /// of the cache ships it too is checked once every task of the file is written.
    fn claim_sscc(&mut self, pos: Pos, key: Option<&str>, task: &str, line: usize, sscc: &str) -> Step {
        match self.claim(SEEN_SSCC, (sscc, "", ""), pos, Some(task))? {
            None => self.pending(PENDING_LINE_SSCC, pos, key, sscc, Some(task), None, Some(line as i64)),
            Some((first, Some(other))) if other != task => {
                let by = Pos {
                    section: Section::Tasks,
                    index: first,
                };
                let why = Reason::SsccTaken {
                    sscc: sscc.to_owned(),
                    by: format!("{by} ({other})"),
                    in_cache: false,
                };
                self.bad(pos, key, Some(&format!("lines[{line}].sscc")), why);
                Ok(())
            }
            Some(_) => Ok(()),
        }
    }

    fn first_or_duplicate(&mut self, first: Option<u64>, pos: Pos, key: Option<&str>) {
        if let Some(first) = first {
            let first = Pos {
                section: pos.section,
                index: first,
            };
            self.bad(
                pos,
                key,
                None,
                Reason::Duplicate {
                    first: first.to_string(),
                },
            );
        }
    }

    fn write_stock(&mut self, pos: Pos, key: Option<&str>, lot_id: i64, location: &str, qty: i64) -> Step {
        let first = self.claim_id(
            "INSERT INTO temp.import_stock(lot_id, pos, location) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            "SELECT pos FROM temp.import_stock WHERE lot_id = ?1 AND location = ?2",
            (lot_id, Some(location)),
            pos,
        )?;
        if first.is_some() {
            self.first_or_duplicate(first, pos, key);
            return Ok(());
        }
        let res = self
            .tx
            .prepare_cached(
                "INSERT INTO stock(lot_id, location, qty) VALUES (?1, ?2, ?3)
                 ON CONFLICT(lot_id, location) DO UPDATE SET qty = excluded.qty",
            )?
            .execute(params![lot_id, location, qty]);
        match res {
            Ok(_) => self.sum.stock += 1,
            Err(e) => self.sql(pos, key, e)?,
        }
        Ok(())
    }

    fn write_serial(&mut self, pos: Pos, key: Option<&str>, item: &str, serial: &str, lot_id: Option<i64>) -> Step {
        let res = self
            .tx
            .prepare_cached(
                "INSERT INTO serials(item_id, serial, lot_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT(item_id, serial) DO UPDATE SET lot_id = excluded.lot_id",
            )?
            .execute(params![item, serial, lot_id]);
        match res {
            Ok(_) => self.sum.serials += 1,
            Err(e) => self.sql(pos, key, e)?,
        }
        Ok(())
    }

    /// Once the whole file is read: the references that could not be resolved when their
    /// record came are resolved now (the record they name may have come later), or reported.
    fn resolve_pending(&mut self) -> Step {
        type Pending = (
            i64,
            i64,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
        );
        let mut last = 0i64;
        loop {
            // In pages, so no statement stays open while rows are written.
            let page: Vec<(i64, Pending)> = self
                .tx
                .prepare_cached(
                    "SELECT rowid, kind, pos, key, a, b, c, n FROM temp.import_pending WHERE rowid > ?1
                     ORDER BY rowid LIMIT 1000",
                )?
                .query_map([last], |r| {
                    Ok((
                        r.get(0)?,
                        (
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                        ),
                    ))
                })?
                .collect::<Result<_, _>>()?;
            let Some((l, _)) = page.last() else { break };
            last = *l;
            for (_, (kind, index, key, a, b, c, n)) in page {
                let key = key.as_deref();
                let at = |section| Pos {
                    section,
                    index: index as u64,
                };
                let line = |field: &str| format!("lines[{}].{field}", n.unwrap_or(0));
                match kind {
                    PENDING_LOT_ITEM => {
                        if !self.item_exists(&a)? {
                            let why = self.missing(RefKind::Item, a)?;
                            self.bad(at(Section::Lots), key, Some("item"), why);
                        }
                    }
                    PENDING_STOCK => {
                        let (lot, location) = (b.unwrap_or_default(), c.unwrap_or_default());
                        let pos = at(Section::Stock);
                        let lot_id = self.lot_id(&a, &lot)?;
                        if lot_id.is_none() {
                            let why = Reason::LotNotDefined {
                                item: a.clone(),
                                lot: lot.clone(),
                            };
                            self.bad(pos, key, Some("lot"), why);
                        }
                        if !self.location_exists(&location)? {
                            let why = self.missing(RefKind::Location, location.clone())?;
                            self.bad(pos, key, Some("location"), why);
                        } else if let Some(lot_id) = lot_id {
                            self.write_stock(pos, key, lot_id, &location, n.unwrap_or(0))?;
                        }
                    }
                    PENDING_SERIAL => {
                        let pos = at(Section::Serials);
                        let item_ok = self.item_exists(&a)?;
                        if !item_ok {
                            let why = self.missing(RefKind::Item, a.clone())?;
                            self.bad(pos, key, Some("item"), why);
                        }
                        let lot_id = match &c {
                            Some(l) => match self.lot_id(&a, l)? {
                                Some(id) => Some(Some(id)),
                                None => {
                                    if item_ok {
                                        let why = Reason::LotNotDefined {
                                            item: a.clone(),
                                            lot: l.clone(),
                                        };
                                        self.bad(pos, key, Some("lot"), why);
                                    }
                                    None
                                }
                            },
                            None => Some(None),
                        };
                        if let (true, Some(lot_id)) = (item_ok, lot_id) {
                            self.write_serial(pos, key, &a, &b.unwrap_or_default(), lot_id)?;
                        }
                    }
                    PENDING_TASK_CUSTOMER => {
                        if !self.customer_exists(&a)? {
                            let why = self.missing(RefKind::Customer, a)?;
                            self.bad(at(Section::Tasks), key, Some("customer"), why);
                        }
                    }
                    PENDING_LINE_ITEM => {
                        if !self.item_exists(&a)? {
                            let why = self.missing(RefKind::Item, a)?;
                            self.bad(at(Section::Tasks), key, Some(&line("item")), why);
                        }
                    }
                    PENDING_LINE_LOCATION => {
                        if !self.location_exists(&a)? {
                            let why = self.missing(RefKind::Location, a)?;
                            self.bad(at(Section::Tasks), key, Some(&line("location")), why);
                        }
                    }
                    PENDING_TASK_LOCATION => {
                        if !self.location_exists(&a)? {
                            let why = self.missing(RefKind::Location, a)?;
                            let field = format!("locations[{}]", n.unwrap_or(0));
                            self.bad(at(Section::Tasks), key, Some(&field), why);
                        }
                    }
                    PENDING_TASK_ZONE => {
                        if !self.zone_exists(&a)? {
                            let why = Reason::ZoneWithoutLocations { zone: a };
                            self.bad(at(Section::Tasks), key, Some("zone"), why);
                        }
                    }
                    PENDING_LINE_SSCC => {
                        // Another task of the cache, one this file does not give again.
                        let other: Option<String> = self
                            .tx
                            .prepare_cached(
                                "SELECT task_id FROM task_lines WHERE sscc = ?1 AND task_id <> ?2
                                   AND task_id NOT IN (SELECT k1 FROM temp.import_seen WHERE kind = ?3)
                                 ORDER BY task_id LIMIT 1",
                            )?
                            .query_row(params![a, b, SEEN_TASK], |r| r.get(0))
                            .optional()?;
                        if let Some(other) = other {
                            let why = Reason::SsccTaken {
                                sscc: a,
                                by: other,
                                in_cache: true,
                            };
                            self.bad(at(Section::Tasks), key, Some(&line("sscc")), why);
                        }
                    }
                    _ => unreachable!("pending kinds are this module's"),
                }
            }
        }
        Ok(())
    }
}
