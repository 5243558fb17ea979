//! `lotline-hub import`: master data from `lotline import`'s JSON format, or one section per CSV
//! file, in one transaction: nothing is written unless every record is good.
//!
//! CSV: the file's stem names the section (`items.csv`, `lots.csv`, `locations.csv`,
//! `stock.csv`, `operators.csv`, `customers.csv`, `categories.csv`, `serials.csv`, `tasks.csv`);
//! the header row gives the section's JSON field names. Each row becomes one JSON record checked
//! by the same reader as JSON files: numbers and booleans are typed by their field, an empty cell
//! is an absent field, lists (`gtins`, `aliases`, `near_expiry_days`, `locations`, `roles`) are
//! `|`-separated. `tasks.csv` has one row per task line: the task's columns (`id`, `kind`,
//! `customer`, `reference`, `created_at`, `tolerance_pct`, `locations`, `zone`, `blind`) are
//! repeated on each of its consecutive rows and the line's columns are `item`, `lot`, `location`,
//! `qty`, `expiry`, `sscc`. Problems are reported as `FILE:LINE: field: reason`.
//!
//! `--site S` puts the file's locations, stock (through its location), operators and tasks in
//! site S's bucket; without it they are global (every site's devices get them).
//!
//! Many rows are written in bulk, still in the one transaction: lots (10,000 at a time) and stock
//! through staging tables filled by `COPY … FROM STDIN` on PostgreSQL (multi-row INSERTs on
//! SQLite), the change-log rows likewise, and references checked a thousand keys a query.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use lotline_domain::text::Bilingual;
use lotline_masterdata::pin::hash_pin;
use lotline_masterdata::read::{Event, JsonError, ReadError, Row, Section, check_row, read_import};
use lotline_protocol::rows;
use lotline_protocol::sync::{GLOBAL_BUCKET, site_bucket};
use serde_json::{Map, Value};

use crate::changes::{Log, Prepared, to_value};
use crate::db::{Store, Tx, Val};
use crate::error::HubError;

/// How many problems are kept to be shown; beyond these, they are only counted.
pub const MAX_KEPT_ERRORS: usize = 1000;

/// How many records of each kind were written.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
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

/// One problem with one record, rendered in both languages (`items[3].name_en (P001): …` for
/// JSON, `FILE:LINE: field: …` for CSV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub en: String,
    pub zh: String,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Json(JsonError),
    #[error("{}", rows_en(.errors, *.more))]
    Rows { errors: Vec<Problem>, more: usize },
    #[error("{file}: not a CSV section name; the file's name must be one of {}.csv", Section::NAMES.join(".csv, "))]
    UnknownCsv { file: String },
    #[error("{file}: the CSV cannot be read: {detail}")]
    Csv { file: String, detail: String },
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] HubError),
}

fn rows_en(errors: &[Problem], more: usize) -> String {
    let mut s = format!("{} problem(s) found; nothing was imported:", errors.len() + more);
    for e in errors {
        s.push_str(&format!("\n  {}", e.en));
    }
    if more > 0 {
        s.push_str(&format!("\n  … and {more} more problem(s)"));
    }
    s
}

impl ImportError {
    pub fn message_zh(&self) -> String {
        match self {
            ImportError::Json(e) => format!("{}；未导入任何数据", e.message_zh()),
            ImportError::Rows { errors, more } => {
                let mut s = format!("发现 {} 个问题；未导入任何数据：", errors.len() + more);
                for e in errors {
                    s.push_str(&format!("\n  {}", e.zh));
                }
                if *more > 0 {
                    s.push_str(&format!("\n  …… 另有 {more} 个问题"));
                }
                s
            }
            ImportError::UnknownCsv { file } => format!(
                "{file}：不是 CSV 部分名称；文件名必须是 {}.csv 之一",
                Section::NAMES.join(".csv、")
            ),
            ImportError::Csv { file, detail } => format!("{file}：无法读取 CSV：{detail}；未导入任何数据"),
            ImportError::Io(d) => format!("无法读取文件：{d}"),
            ImportError::Store(e) => format!("写入数据库失败，未导入任何数据：{}", e.message_zh()),
        }
    }
}

/// Imports a JSON import file (`lotline import`'s format) in one transaction.
pub fn import_json(store: &Store, reader: impl Read, site: Option<&str>) -> Result<ImportReport, ImportError> {
    store.write(|tx| {
        let mut im = Importer::new(tx, site);
        let mut failed: Option<HubError> = None;
        let res = read_import(std::io::BufReader::new(reader), &mut |ev| {
            let r = match ev {
                Event::Row { pos, key, row } => {
                    let at = match &key {
                        Some(k) => format!("{pos} ({k})"),
                        None => pos.to_string(),
                    };
                    im.row(&at, &|f: &str| format!("{at}.{f}"), row)
                }
                Event::Bad(e) => {
                    im.bad(e.to_string(), e.message_zh());
                    Ok(())
                }
                Event::Refused { .. } => Ok(()),
            };
            r.map_err(|e| {
                failed = Some(e);
                lotline_masterdata::read::Stop
            })
        });
        if let Some(e) = failed {
            return Err(ImportError::Store(e));
        }
        match res {
            Ok(()) => {}
            Err(ReadError::Json(j)) => return Err(ImportError::Json(j)),
            Err(ReadError::Stopped) => unreachable!("stopped only with an error kept"),
        }
        im.finish()
    })
}

/// Imports `path`: `.csv` is one section named by the file's stem, anything else JSON.
pub fn import_file(store: &Store, path: &Path, site: Option<&str>) -> Result<ImportReport, ImportError> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| ImportError::Io(format!("{name}: {e}")))?;
    if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let section =
            Section::from_name(&stem.to_ascii_lowercase()).ok_or(ImportError::UnknownCsv { file: name.clone() })?;
        import_csv(store, &name, section, f, site)
    } else {
        import_json(store, f, site)
    }
}

const INT_FIELDS: &[&str] = &[
    "shelf_life_days",
    "min_remaining_days_receipt",
    "min_remaining_pct_receipt",
    "min_remaining_days",
    "qty",
    "tolerance_pct",
];
const BOOL_FIELDS: &[&str] = &["requires_qc", "serialized", "regulated", "blind"];
const LIST_FIELDS: &[&str] = &["gtins", "aliases", "locations", "roles", "near_expiry_days"];
/// A task's line columns in `tasks.csv` (one row per line, the task's columns repeated).
pub const TASK_LINE_FIELDS: &[&str] = &["item", "lot", "location", "qty", "expiry", "sscc"];

/// One CSV cell as the JSON value its field takes; `None` when empty (absent).
pub fn csv_value(field: &str, cell: &str) -> Option<Value> {
    let cell = cell.trim();
    if cell.is_empty() {
        return None;
    }
    let scalar = |s: &str, numeric: bool| -> Value {
        if numeric && let Ok(n) = s.parse::<i64>() {
            return Value::from(n);
        }
        Value::String(s.to_string())
    };
    Some(if INT_FIELDS.contains(&field) {
        scalar(cell, true)
    } else if BOOL_FIELDS.contains(&field) {
        match cell.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            _ => Value::String(cell.to_string()),
        }
    } else if LIST_FIELDS.contains(&field) {
        let numeric = field == "near_expiry_days";
        Value::Array(cell.split('|').map(|p| scalar(p.trim(), numeric)).collect())
    } else if field == "count_tolerance" {
        scalar(cell, true)
    } else {
        Value::String(cell.to_string())
    })
}

/// Imports one section from CSV: header = the section's JSON field names; lists `|`-separated.
pub fn import_csv(
    store: &Store,
    file: &str,
    section: Section,
    reader: impl Read,
    site: Option<&str>,
) -> Result<ImportReport, ImportError> {
    let csv_err = |e: csv::Error| ImportError::Csv {
        file: file.to_string(),
        detail: e.to_string(),
    };
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    // Records as (first line, object, line of each task line).
    let mut records: Vec<(u64, Map<String, Value>, Vec<u64>)> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let mut obj = Map::new();
        let mut line_obj = Map::new();
        for (h, cell) in headers.iter().zip(rec.iter()) {
            let Some(v) = csv_value(h, cell) else { continue };
            if section == Section::Tasks && TASK_LINE_FIELDS.contains(&h.as_str()) {
                line_obj.insert(h.clone(), v);
            } else {
                obj.insert(h.clone(), v);
            }
        }
        if section == Section::Tasks {
            let same = records
                .last()
                .is_some_and(|(_, o, _)| o.get("id").is_some() && o.get("id") == obj.get("id"));
            if !same {
                obj.insert("lines".into(), Value::Array(Vec::new()));
                records.push((line, obj, Vec::new()));
            }
            if !line_obj.is_empty() {
                let last = records.last_mut().expect("pushed above");
                if let Some(Value::Array(lines)) = last.1.get_mut("lines") {
                    lines.push(Value::Object(line_obj));
                }
                last.2.push(line);
            }
        } else {
            records.push((line, obj, Vec::new()));
        }
    }
    store.write(|tx| {
        let mut im = Importer::new(tx, site);
        for (line, obj, line_rows) in records {
            let v = Value::Object(obj);
            // A problem in `lines[k]` is on the CSV line of that task line.
            let at_of = |field: &str| -> String {
                let l = field
                    .strip_prefix("lines[")
                    .and_then(|r| r.split(']').next())
                    .and_then(|k| k.parse::<usize>().ok())
                    .and_then(|k| line_rows.get(k).copied())
                    .unwrap_or(line);
                let field = match field.find("].") {
                    Some(i) if field.starts_with("lines[") => &field[i + 2..],
                    _ => field,
                };
                format!("{file}:{l}: {field}")
            };
            match check_row(section, &v) {
                Ok(row) => im.row(&format!("{file}:{line}"), &at_of, row)?,
                Err(problems) => {
                    for (field, why) in problems {
                        let at = match &field {
                            Some(f) => at_of(f),
                            None => format!("{file}:{line}"),
                        };
                        im.bad(format!("{at}: {why}"), format!("{at}：{}", why.message_zh()));
                    }
                }
            }
        }
        im.finish()
    })
}

/// A reference checked once the whole file is in.
enum Ref {
    Item(String),
    Category(String),
    Lot(String, String),
    Location(String),
    Customer(String),
}

struct Importer<'a, 't> {
    tx: &'a mut Tx<'t>,
    log: Log,
    site: Option<String>,
    seen: HashMap<(u8, String), String>,
    barcodes: HashMap<String, String>,
    refs: Vec<(String, Ref)>,
    problems: Vec<Problem>,
    more: usize,
    report: ImportReport,
    /// Stock rows (item, lot, location, qty), written when the whole file is in.
    stock: Vec<(String, String, String, i64)>,
    /// Lots read and not written yet (see [`Importer::flush_lots`]).
    lots: Vec<rows::Lot>,
    /// Each lot's place in this import's change log (`item/lot` → n), so the stock's changes
    /// follow their lots' order: a device's first download then appends each stock row next to
    /// the last instead of looking its lot up at random across the whole cache.
    lot_order: HashMap<String, u64>,
}

/// Lots written per statement.
const LOT_CHUNK: usize = 10_000;

impl<'a, 't> Importer<'a, 't> {
    fn new(tx: &'a mut Tx<'t>, site: Option<&str>) -> Self {
        Importer {
            tx,
            log: Log::new(),
            site: site.map(str::to_string),
            seen: HashMap::new(),
            barcodes: HashMap::new(),
            refs: Vec::new(),
            problems: Vec::new(),
            more: 0,
            report: ImportReport::default(),
            stock: Vec::new(),
            lots: Vec::new(),
            lot_order: HashMap::new(),
        }
    }

    fn bad(&mut self, en: String, zh: String) {
        if self.problems.len() < MAX_KEPT_ERRORS {
            self.problems.push(Problem { en, zh });
        } else {
            self.more += 1;
        }
    }

    /// False (and a problem) when the file gave this key before.
    fn first(&mut self, kind: u8, key: String, at: &str) -> bool {
        use std::collections::hash_map::Entry;
        let first = match self.seen.entry((kind, key)) {
            Entry::Vacant(v) => {
                v.insert(at.to_string());
                return true;
            }
            Entry::Occupied(o) => (o.key().1.clone(), o.get().clone()),
        };
        let (key, first) = first;
        self.bad(
            format!("{at}: the same key '{key}' as {first}"),
            format!("{at}：与 {first} 的键“{key}”重复"),
        );
        false
    }

    fn bucket(&self) -> String {
        match &self.site {
            Some(s) => site_bucket(s),
            None => GLOBAL_BUCKET.into(),
        }
    }

    fn row(&mut self, at: &str, at_of: &dyn Fn(&str) -> String, row: Row) -> Result<(), HubError> {
        if !matches!(row, Row::Lot(_)) {
            // The change log keeps the file's order.
            self.flush_lots()?;
        }
        match row {
            Row::Category(c) => {
                if !self.first(0, c.id.clone(), at) {
                    return Ok(());
                }
                let tiers = join(&c.near_expiry_days);
                self.tx.exec(
                    "INSERT INTO categories(id, near_expiry_days) VALUES ($1, $2)
                     ON CONFLICT(id) DO UPDATE SET near_expiry_days = excluded.near_expiry_days",
                    &[(&c.id).into(), (&tiers).into()],
                )?;
                let data = rows::Category {
                    id: c.id.clone(),
                    near_expiry_days: tiers,
                };
                self.log
                    .append(self.tx, GLOBAL_BUCKET, "category", &c.id, Some(to_value(&data)))?;
                self.report.categories += 1;
            }
            Row::Item(it) => {
                if !self.first(1, it.id.clone(), at) {
                    return Ok(());
                }
                let codes: Vec<(String, &str, String)> = it
                    .gtins
                    .iter()
                    .enumerate()
                    .map(|(j, g)| (g.clone(), "gtin", format!("gtins[{j}]")))
                    .chain(
                        it.aliases
                            .iter()
                            .enumerate()
                            .map(|(j, a)| (a.clone(), "alias", format!("aliases[{j}]"))),
                    )
                    .collect();
                let mut ok = true;
                for (code, _, field) in &codes {
                    match self.barcodes.get(code) {
                        Some(other) if *other != it.id => {
                            let other = other.clone();
                            let at = at_of(field);
                            self.bad(
                                format!("{at}: the barcode {code} is already item {other}'s in this file"),
                                format!("{at}：条码 {code} 在此文件中已属于物料 {other}"),
                            );
                            ok = false;
                        }
                        _ => {
                            self.barcodes.insert(code.clone(), it.id.clone());
                        }
                    }
                }
                if !ok {
                    return Ok(());
                }
                self.refs.push((at_of("category"), Ref::Category(it.category.clone())));
                let tiers = it.near_expiry_days.as_deref().map(join);
                let tol = it.count_tolerance.map(|t| t.to_string());
                self.tx.exec(
                    "INSERT INTO items(id, name_en, name_zh, category, shelf_life_days, min_remaining_days_receipt,
                        min_remaining_pct_receipt, near_expiry_days, requires_qc, serialized, regulated, storage,
                        count_tolerance)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     ON CONFLICT(id) DO UPDATE SET name_en = excluded.name_en, name_zh = excluded.name_zh,
                        category = excluded.category, shelf_life_days = excluded.shelf_life_days,
                        min_remaining_days_receipt = excluded.min_remaining_days_receipt,
                        min_remaining_pct_receipt = excluded.min_remaining_pct_receipt,
                        near_expiry_days = excluded.near_expiry_days, requires_qc = excluded.requires_qc,
                        serialized = excluded.serialized, regulated = excluded.regulated, storage = excluded.storage,
                        count_tolerance = excluded.count_tolerance",
                    &[
                        (&it.id).into(),
                        (&it.name_en).into(),
                        (&it.name_zh).into(),
                        (&it.category).into(),
                        it.shelf_life_days.into(),
                        it.min_remaining_days_receipt.into(),
                        it.min_remaining_pct_receipt.map(|p| p as u32).into(),
                        (&tiers).into(),
                        it.requires_qc.into(),
                        it.serialized.into(),
                        it.regulated.into(),
                        it.storage.as_str().into(),
                        (&tol).into(),
                    ],
                )?;
                let data = rows::Item {
                    id: it.id.clone(),
                    name_en: it.name_en.clone(),
                    name_zh: it.name_zh.clone(),
                    category: it.category.clone(),
                    shelf_life_days: it.shelf_life_days.map(i64::from),
                    min_remaining_days_receipt: it.min_remaining_days_receipt.map(i64::from),
                    min_remaining_pct_receipt: it.min_remaining_pct_receipt.map(i64::from),
                    near_expiry_days: tiers,
                    requires_qc: it.requires_qc,
                    serialized: it.serialized,
                    regulated: it.regulated,
                    storage: it.storage.as_str().into(),
                    count_tolerance: tol,
                };
                self.log
                    .append(self.tx, GLOBAL_BUCKET, "item", &it.id, Some(to_value(&data)))?;
                self.report.items += 1;
                for (code, kind, _) in codes {
                    self.tx.exec(
                        "INSERT INTO barcodes(code, kind, item) VALUES ($1, $2, $3)
                         ON CONFLICT(code) DO UPDATE SET kind = excluded.kind, item = excluded.item",
                        &[(&code).into(), kind.into(), (&it.id).into()],
                    )?;
                    let data = rows::Barcode {
                        code: code.clone(),
                        kind: kind.into(),
                        item: it.id.clone(),
                    };
                    self.log
                        .append(self.tx, GLOBAL_BUCKET, "barcode", &code, Some(to_value(&data)))?;
                    self.report.barcodes += 1;
                }
            }
            Row::Lot(l) => {
                let key = format!("{}/{}", l.item, l.lot);
                if !self.first(2, key.clone(), at) {
                    return Ok(());
                }
                let n = self.lot_order.len() as u64;
                self.lot_order.insert(key, n);
                self.refs.push((at_of("item"), Ref::Item(l.item.clone())));
                let d = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
                self.lots.push(rows::Lot {
                    item: l.item.clone(),
                    lot: l.lot.clone(),
                    expiry: d(l.expiry),
                    production_date: d(l.production_date),
                    qc_date: d(l.qc_date),
                    status: l.status.as_str().into(),
                });
                if self.lots.len() >= LOT_CHUNK {
                    self.flush_lots()?;
                }
                self.report.lots += 1;
            }
            Row::Location(loc) => {
                if !self.first(3, loc.code.clone(), at) {
                    return Ok(());
                }
                self.tx.exec(
                    "INSERT INTO locations(code, warehouse, zone, kind, storage, site) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT(code) DO UPDATE SET warehouse = excluded.warehouse, zone = excluded.zone,
                        kind = excluded.kind, storage = excluded.storage, site = excluded.site",
                    &[
                        (&loc.code).into(),
                        (&loc.warehouse).into(),
                        (&loc.zone).into(),
                        loc.kind.into(),
                        loc.storage.into(),
                        (&self.site).into(),
                    ],
                )?;
                let data = rows::Location {
                    code: loc.code.clone(),
                    warehouse: loc.warehouse.clone(),
                    zone: loc.zone.clone(),
                    kind: loc.kind.into(),
                    storage: loc.storage.into(),
                };
                let b = self.bucket();
                self.log
                    .append(self.tx, &b, "location", &loc.code, Some(to_value(&data)))?;
                self.report.locations += 1;
            }
            Row::Stock(s) => {
                if !self.first(4, format!("{}/{}@{}", s.item, s.lot, s.location), at) {
                    return Ok(());
                }
                self.refs.push((at_of("lot"), Ref::Lot(s.item.clone(), s.lot.clone())));
                self.refs.push((at_of("location"), Ref::Location(s.location.clone())));
                self.stock.push((s.item, s.lot, s.location, s.qty));
                self.report.stock += 1;
            }
            Row::Customer(c) => {
                if !self.first(5, c.id.clone(), at) {
                    return Ok(());
                }
                self.tx.exec(
                    "INSERT INTO customers(id, name, min_remaining_days) VALUES ($1, $2, $3)
                     ON CONFLICT(id) DO UPDATE SET name = excluded.name, min_remaining_days = excluded.min_remaining_days",
                    &[(&c.id).into(), (&c.name).into(), c.min_remaining_days.into()],
                )?;
                let data = rows::Customer {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    min_remaining_days: c.min_remaining_days.map(i64::from),
                };
                self.log
                    .append(self.tx, GLOBAL_BUCKET, "customer", &c.id, Some(to_value(&data)))?;
                self.report.customers += 1;
            }
            Row::Serial(s) => {
                if !self.first(6, format!("{}/{}", s.item, s.serial), at) {
                    return Ok(());
                }
                self.refs.push((at_of("item"), Ref::Item(s.item.clone())));
                if let Some(l) = &s.lot {
                    self.refs.push((at_of("lot"), Ref::Lot(s.item.clone(), l.clone())));
                }
                self.tx.exec(
                    "INSERT INTO serials(item, serial, lot, status) VALUES ($1, $2, $3, 'in_stock')
                     ON CONFLICT(item, serial) DO UPDATE SET lot = excluded.lot",
                    &[(&s.item).into(), (&s.serial).into(), (&s.lot).into()],
                )?;
                self.log.serial(self.tx, &s.item, &s.serial)?;
                self.report.serials += 1;
            }
            Row::Task(t) => {
                if !self.first(7, t.id.clone(), at) {
                    return Ok(());
                }
                if let Some(c) = &t.customer {
                    self.refs.push((at_of("customer"), Ref::Customer(c.clone())));
                }
                for (k, l) in t.lines.iter().enumerate() {
                    self.refs
                        .push((at_of(&format!("lines[{k}].item")), Ref::Item(l.item.clone())));
                }
                let created = t.created_at.clone().unwrap_or_else(crate::now);
                self.tx.exec(
                    "INSERT INTO tasks(id, kind, status, customer, reference, created_at, tolerance_pct, blind, zone, site)
                     VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, customer = excluded.customer,
                        reference = excluded.reference, tolerance_pct = excluded.tolerance_pct,
                        blind = excluded.blind, zone = excluded.zone, site = excluded.site",
                    &[
                        (&t.id).into(),
                        t.kind.into(),
                        (&t.customer).into(),
                        (&t.reference).into(),
                        (&created).into(),
                        Val::Int(t.tolerance_pct as i64),
                        t.blind.into(),
                        (&t.zone).into(),
                        (&self.site).into(),
                    ],
                )?;
                self.tx
                    .exec("DELETE FROM task_lines WHERE task = $1", &[(&t.id).into()])?;
                self.tx
                    .exec("DELETE FROM task_locations WHERE task = $1", &[(&t.id).into()])?;
                for (k, l) in t.lines.iter().enumerate() {
                    self.tx.exec(
                        "INSERT INTO task_lines(task, line, item, lot, location, expiry, sscc, qty_expected)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        &[
                            (&t.id).into(),
                            Val::Int(k as i64 + 1),
                            (&l.item).into(),
                            (&l.lot).into(),
                            (&l.location).into(),
                            l.expiry.map(|d| d.to_string()).into(),
                            (&l.sscc).into(),
                            Val::Int(l.qty as i64),
                        ],
                    )?;
                }
                for loc in &t.locations {
                    self.tx.exec(
                        "INSERT INTO task_locations(task, location) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[(&t.id).into(), loc.into()],
                    )?;
                }
                self.log.task(self.tx, &t.id)?;
                self.report.tasks += 1;
            }
            Row::Operator(o) => {
                if !self.first(8, o.id.clone(), at) {
                    return Ok(());
                }
                let hash = match hash_pin(o.pin.expose()) {
                    Ok(h) => h,
                    Err(e) => {
                        let at = at_of("pin");
                        self.bad(format!("{at}: {e}"), format!("{at}：{}", e.message_zh()));
                        return Ok(());
                    }
                };
                let roles = o.roles.join(",");
                self.tx.exec(
                    "INSERT INTO operators(id, name, pin_hash, roles, site) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT(id) DO UPDATE SET name = excluded.name, pin_hash = excluded.pin_hash,
                        roles = excluded.roles, site = excluded.site",
                    &[
                        (&o.id).into(),
                        (&o.name).into(),
                        (&hash).into(),
                        (&roles).into(),
                        (&self.site).into(),
                    ],
                )?;
                let data = rows::Operator {
                    id: o.id.clone(),
                    name: o.name.clone(),
                    pin_hash: hash,
                    roles,
                };
                let b = self.bucket();
                self.log.append(self.tx, &b, "operator", &o.id, Some(to_value(&data)))?;
                self.report.operators += 1;
            }
        }
        Ok(())
    }

    /// Writes the lots read so far: copied into a staging table, then the status history of
    /// those whose status changes and the upsert each in one statement, then their changes.
    fn flush_lots(&mut self) -> Result<(), HubError> {
        if self.lots.is_empty() {
            return Ok(());
        }
        let lots = std::mem::take(&mut self.lots);
        let now = crate::now();
        // The lots' changes (checksums, JSON) are made on another thread while this one waits
        // on the store.
        let first = self.log.next_seq(self.tx)?;
        let make = || -> Vec<Prepared> {
            lots.iter()
                .enumerate()
                .map(|(k, l)| Prepared::lot(first + k as i64, l))
                .collect()
        };
        let tx = &mut *self.tx;
        let prepared = std::thread::scope(|s| -> Result<Vec<Prepared>, HubError> {
            let worker = s.spawn(make);
            write_lots(tx, &lots, &now)?;
            Ok(worker.join().expect("preparing changes does not panic"))
        })?;
        for p in prepared {
            self.log.append_prepared(self.tx, GLOBAL_BUCKET, p)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ImportReport, ImportError> {
        self.flush_lots()?;
        // What the rows refer to, looked up many keys a query, each key once.
        let refs = std::mem::take(&mut self.refs);
        let known = existing(self.tx, &refs)?;
        for ((at, r), ok) in refs.iter().zip(known) {
            if ok {
                continue;
            }
            let (en, zh) = match r {
                Ref::Item(i) => (format!("item {i} is not defined"), format!("物料 {i} 未定义")),
                Ref::Category(c) => (format!("category {c} is not defined"), format!("类别 {c} 未定义")),
                Ref::Lot(i, l) => (
                    format!("lot {l} of item {i} is not defined"),
                    format!("物料 {i} 的批次 {l} 未定义"),
                ),
                Ref::Location(l) => (format!("location {l} is not defined"), format!("库位 {l} 未定义")),
                Ref::Customer(c) => (format!("customer {c} is not defined"), format!("客户 {c} 未定义")),
            };
            self.bad(format!("{at}: {en}"), format!("{at}：{zh}"));
        }
        if !self.problems.is_empty() {
            return Err(ImportError::Rows {
                errors: self.problems,
                more: self.more,
            });
        }
        // Stock last: its bucket follows its location's site, known once every location is in.
        let stock = std::mem::take(&mut self.stock);
        let lot_order = std::mem::take(&mut self.lot_order);
        write_stock(self.tx, &mut self.log, stock, &lot_order)?;
        self.log.finish(self.tx)?;
        Ok(self.report)
    }
}

/// Keys looked up per query.
const LOOKUP_CHUNK: usize = 1000;

/// Whether each thing `refs` names exists, in their order.
fn existing(tx: &mut Tx<'_>, refs: &[(String, Ref)]) -> Result<Vec<bool>, HubError> {
    let mut wanted: [Vec<&str>; 5] = Default::default();
    let mut seen: HashSet<(u8, &str)> = HashSet::new();
    for (_, r) in refs {
        let (kind, key) = match r {
            Ref::Item(i) => (0, i.as_str()),
            Ref::Category(c) => (1, c.as_str()),
            // Lots are looked up by number (indexed), their items matched here.
            Ref::Lot(_, l) => (2, l.as_str()),
            Ref::Location(l) => (3, l.as_str()),
            Ref::Customer(c) => (4, c.as_str()),
        };
        if seen.insert((kind, key)) {
            wanted[kind as usize].push(key);
        }
    }
    let mut found_lots: HashSet<(String, String)> = HashSet::new();
    let mut found: HashSet<(u8, String)> = HashSet::new();
    for (kind, sql) in [
        (0u8, "SELECT id FROM items WHERE id IN"),
        (1, "SELECT id FROM categories WHERE id IN"),
        (2, "SELECT lot, item FROM lots WHERE lot IN"),
        (3, "SELECT code FROM locations WHERE code IN"),
        (4, "SELECT id FROM customers WHERE id IN"),
    ] {
        for chunk in wanted[kind as usize].chunks(LOOKUP_CHUNK) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let params: Vec<Val> = chunk.iter().map(|k| Val::from(*k)).collect();
            for r in tx.query(&format!("{sql} ({})", marks.join(", ")), &params)? {
                if kind == 2 {
                    found_lots.insert((r[1].text(), r[0].text()));
                } else {
                    found.insert((kind, r[0].text()));
                }
            }
        }
    }
    Ok(refs
        .iter()
        .map(|(_, r)| match r {
            Ref::Lot(i, l) => found_lots.contains(&(i.clone(), l.clone())),
            Ref::Item(k) => found.contains(&(0, k.clone())),
            Ref::Category(k) => found.contains(&(1, k.clone())),
            Ref::Location(k) => found.contains(&(3, k.clone())),
            Ref::Customer(k) => found.contains(&(4, k.clone())),
        })
        .collect())
}

/// The lots' rows: copied into a staging table, then the status history of those whose status
/// changes and the upsert each in one statement.
fn write_lots(tx: &mut Tx<'_>, lots: &[rows::Lot], now: &str) -> Result<(), HubError> {
    tx.batch(
        "CREATE TEMP TABLE IF NOT EXISTS import_lots (
                ord BIGINT NOT NULL, item TEXT NOT NULL, lot TEXT NOT NULL, expiry TEXT, production_date TEXT,
                qc_date TEXT, status TEXT NOT NULL);
             DELETE FROM import_lots;",
    )?;
    let mut values = Vec::with_capacity(lots.len() * 7);
    for (k, l) in lots.iter().enumerate() {
        values.extend([
            Val::Int(k as i64),
            (&l.item).into(),
            (&l.lot).into(),
            (&l.expiry).into(),
            (&l.production_date).into(),
            (&l.qc_date).into(),
            (&l.status).into(),
        ]);
    }
    tx.copy_rows(
        "import_lots",
        &["ord", "item", "lot", "expiry", "production_date", "qc_date", "status"],
        &values,
    )?;
    tx.exec(
        "INSERT INTO lot_events(item, lot, from_status, status, at, by_whom, reason)
             SELECT i.item, i.lot, l.status, i.status, $1, 'import', 'imported'
             FROM import_lots i LEFT JOIN lots l ON l.item = i.item AND l.lot = i.lot
             WHERE l.status IS NULL OR l.status <> i.status ORDER BY i.ord",
        &[now.into()],
    )?;
    // A lot whose status changes gets the import as the change's time, author and reason.
    tx.exec(
        "INSERT INTO lots(item, lot, expiry, production_date, qc_date, status, status_changed_at,
                              status_changed_by, status_reason)
             SELECT item, lot, expiry, production_date, qc_date, status, $1, 'import', 'imported'
             FROM import_lots WHERE true ORDER BY ord
             ON CONFLICT(item, lot) DO UPDATE SET expiry = excluded.expiry,
                production_date = excluded.production_date, qc_date = excluded.qc_date, status = excluded.status,
                status_changed_at = CASE WHEN lots.status = excluded.status THEN lots.status_changed_at
                                         ELSE excluded.status_changed_at END,
                status_changed_by = CASE WHEN lots.status = excluded.status THEN lots.status_changed_by
                                         ELSE excluded.status_changed_by END,
                status_reason = CASE WHEN lots.status = excluded.status THEN lots.status_reason
                                     ELSE excluded.status_reason END",
        &[now.into()],
    )?;
    Ok(())
}

/// The stock rows (a quantity of 0 deletes one): copied into a staging table, then deleted and
/// upserted each in one statement; then their changes, in their locations' buckets: those of
/// this import's lots in the order of the lots (`lot_order`), the rest after them in key order.
fn write_stock(
    tx: &mut Tx<'_>,
    log: &mut Log,
    stock: Vec<(String, String, String, i64)>,
    lot_order: &HashMap<String, u64>,
) -> Result<(), HubError> {
    if stock.is_empty() {
        return Ok(());
    }
    let mut ordered: Vec<(u64, (String, String, String, i64))> = stock
        .into_iter()
        .map(|s| {
            let n = lot_order.get(&format!("{}/{}", s.0, s.1)).copied().unwrap_or(u64::MAX);
            (n, s)
        })
        .collect();
    ordered.sort();
    let stock: Vec<(String, String, String, i64)> = ordered.into_iter().map(|(_, s)| s).collect();
    tx.batch(
        "CREATE TEMP TABLE IF NOT EXISTS import_stock (
            item TEXT NOT NULL, lot TEXT NOT NULL, location TEXT NOT NULL, qty BIGINT NOT NULL);
         DELETE FROM import_stock;",
    )?;
    let values: Vec<Val> = stock
        .iter()
        .flat_map(|(item, lot, location, qty)| [item.into(), lot.into(), location.into(), Val::Int(*qty)])
        .collect();
    tx.copy_rows("import_stock", &["item", "lot", "location", "qty"], &values)?;
    tx.exec(
        "DELETE FROM stock WHERE EXISTS (SELECT 1 FROM import_stock i WHERE i.qty = 0 AND i.item = stock.item
            AND i.lot = stock.lot AND i.location = stock.location)",
        &[],
    )?;
    tx.exec(
        "INSERT INTO stock(item, lot, location, qty) SELECT item, lot, location, qty FROM import_stock WHERE qty <> 0
         ON CONFLICT(item, lot, location) DO UPDATE SET qty = excluded.qty",
        &[],
    )?;
    let sites: HashMap<String, Option<String>> = tx
        .query(
            "SELECT code, site FROM locations WHERE code IN (SELECT DISTINCT location FROM import_stock)",
            &[],
        )?
        .into_iter()
        .map(|r| (r[0].text(), r[1].opt_text()))
        .collect();
    for (item, lot, location, qty) in stock {
        let bucket = match sites.get(&location) {
            Some(Some(site)) => site_bucket(site),
            _ => GLOBAL_BUCKET.into(),
        };
        let key = format!("{item}/{lot}@{location}");
        let data = (qty != 0).then(|| {
            to_value(&rows::Stock {
                item,
                lot,
                location,
                qty,
            })
        });
        log.append(tx, &bucket, "stock", &key, data)?;
    }
    Ok(())
}

fn join(t: &[u32]) -> String {
    t.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_cells_take_their_field_type() {
        let cases = [
            ("qty", "12", Some(json!(12))),
            ("qty", "x", Some(json!("x"))),
            ("lot", "0012", Some(json!("0012"))),
            ("requires_qc", "true", Some(json!(true))),
            ("serialized", "0", Some(json!(false))),
            ("gtins", "0401|0402", Some(json!(["0401", "0402"]))),
            ("near_expiry_days", "60|30|7", Some(json!([60, 30, 7]))),
            ("count_tolerance", "5%", Some(json!("5%"))),
            ("count_tolerance", "2", Some(json!(2))),
            ("name_en", "  ", None),
        ];
        for (field, cell, want) in cases {
            assert_eq!(csv_value(field, cell), want, "{field}={cell}");
        }
    }
}
