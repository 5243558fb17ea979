//! `lotline import`: loads master data from the documented JSON format in one transaction.
//! All or nothing: every row is checked, every problem is reported with its record and field,
//! and nothing is written unless all rows are good.

use std::collections::HashMap;
use std::fmt;

use rusqlite::{Transaction, params};
use serde::Deserialize;
use serde_json::Value;

use super::{Store, StoreError, tiers_to_string, write_err};
use crate::domain::ids::{Gtin, LocationCode, LotNo, SerialNo, parse_iso_date};
use crate::domain::lot::{LotStatus, Storage};

/// One problem with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// e.g. `items[3]`
    pub record: String,
    /// The record's key, e.g. the item id, when it has one.
    pub key: Option<String>,
    pub field: Option<String>,
    pub why: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.record)?;
        if let Some(k) = &self.key {
            write!(f, " ({k})")?;
        }
        if let Some(field) = &self.field {
            write!(f, " field '{field}'")?;
        }
        write!(f, ": {}", self.why)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not valid JSON: {0}")]
    Json(String),
    #[error("{} problem(s) found; nothing was imported:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] StoreError),
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryIn {
    id: String,
    near_expiry_days: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemIn {
    id: String,
    name_en: String,
    name_zh: String,
    #[serde(default)]
    gtins: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    category: String,
    shelf_life_days: Option<u32>,
    min_remaining_days_receipt: Option<u32>,
    min_remaining_pct_receipt: Option<u8>,
    near_expiry_days: Option<Vec<u32>>,
    #[serde(default)]
    requires_qc: bool,
    #[serde(default)]
    serialized: bool,
    #[serde(default)]
    regulated: bool,
    #[serde(default)]
    storage: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LotIn {
    item: String,
    lot: String,
    expiry: Option<String>,
    production_date: Option<String>,
    qc_date: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationIn {
    code: String,
    warehouse: String,
    zone: String,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockIn {
    location: String,
    item: String,
    lot: String,
    qty: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerIn {
    id: String,
    name: String,
    min_remaining_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SerialIn {
    item: String,
    serial: String,
    lot: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskIn {
    id: String,
    kind: String,
    customer: Option<String>,
    reference: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    lines: Vec<TaskLineIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskLineIn {
    item: String,
    lot: Option<String>,
    location: Option<String>,
    #[serde(default)]
    qty: u32,
}

const SECTIONS: [&str; 8] = [
    "categories",
    "items",
    "lots",
    "locations",
    "stock",
    "customers",
    "serials",
    "tasks",
];

struct Ctx {
    errors: Vec<RowError>,
}

impl Ctx {
    fn push(&mut self, record: &str, key: Option<&str>, field: Option<&str>, why: impl Into<String>) {
        if self.errors.len() < 500 {
            self.errors.push(RowError {
                record: record.to_owned(),
                key: key.map(str::to_owned),
                field: field.map(str::to_owned),
                why: why.into(),
            });
        }
    }
}

/// serde's message for a record, with the field name pulled out where serde names it.
fn serde_row_error(ctx: &mut Ctx, record: &str, key: Option<&str>, e: serde_json::Error) {
    let msg = e.to_string();
    let field = msg.split('`').nth(1).map(str::to_owned);
    ctx.push(record, key, field.as_deref(), msg);
}

fn parse_section<T: for<'de> Deserialize<'de>>(
    ctx: &mut Ctx,
    root: &Value,
    name: &str,
    key_field: &str,
) -> Vec<(String, Option<String>, T)> {
    let mut out = Vec::new();
    let Some(v) = root.get(name) else { return out };
    let Some(arr) = v.as_array() else {
        ctx.push(name, None, None, "must be a list");
        return out;
    };
    for (i, row) in arr.iter().enumerate() {
        let record = format!("{name}[{i}]");
        let key = row.get(key_field).and_then(Value::as_str).map(str::to_owned);
        match serde_json::from_value::<T>(row.clone()) {
            Ok(t) => out.push((record, key, t)),
            Err(e) => serde_row_error(ctx, &record, key.as_deref(), e),
        }
    }
    out
}

fn sql_row_error(ctx: &mut Ctx, record: &str, key: Option<&str>, e: rusqlite::Error) -> Result<(), StoreError> {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            ctx.push(record, key, None, format!("rejected by the database: {e}"));
            Ok(())
        }
        _ => Err(write_err(e)),
    }
}

fn date_field(ctx: &mut Ctx, record: &str, key: Option<&str>, field: &str, v: &Option<String>) -> Option<String> {
    let s = v.as_deref()?;
    match parse_iso_date(s) {
        Ok(d) => Some(d.to_string()),
        Err(e) => {
            ctx.push(record, key, Some(field), e.why);
            None
        }
    }
}

/// Imports `json` into `store`. On any problem nothing is written and every problem is returned.
pub fn import_json(store: &mut Store, json: &str) -> Result<ImportSummary, ImportError> {
    let root: Value = serde_json::from_str(json).map_err(|e| ImportError::Json(e.to_string()))?;
    let Some(obj) = root.as_object() else {
        return Err(ImportError::Json(
            "the top level must be an object with items, lots, locations, stock, customers".into(),
        ));
    };
    let mut ctx = Ctx { errors: vec![] };
    for k in obj.keys() {
        if !SECTIONS.contains(&k.as_str()) {
            ctx.push(
                k,
                None,
                None,
                format!("unknown section; expected one of {}", SECTIONS.join(", ")),
            );
        }
    }
    let categories: Vec<(String, Option<String>, CategoryIn)> = parse_section(&mut ctx, &root, "categories", "id");
    let items: Vec<(String, Option<String>, ItemIn)> = parse_section(&mut ctx, &root, "items", "id");
    let lots: Vec<(String, Option<String>, LotIn)> = parse_section(&mut ctx, &root, "lots", "lot");
    let locations: Vec<(String, Option<String>, LocationIn)> = parse_section(&mut ctx, &root, "locations", "code");
    let stock: Vec<(String, Option<String>, StockIn)> = parse_section(&mut ctx, &root, "stock", "lot");
    let customers: Vec<(String, Option<String>, CustomerIn)> = parse_section(&mut ctx, &root, "customers", "id");
    let serials: Vec<(String, Option<String>, SerialIn)> = parse_section(&mut ctx, &root, "serials", "serial");
    let tasks: Vec<(String, Option<String>, TaskIn)> = parse_section(&mut ctx, &root, "tasks", "id");

    let mut sum = ImportSummary::default();
    let tx = store.begin_write()?;
    write_all(
        &tx, &mut ctx, &mut sum, categories, items, lots, locations, stock, customers, serials, tasks,
    )?;
    if !ctx.errors.is_empty() {
        // Dropping the transaction rolls it back.
        return Err(ImportError::Rows(ctx.errors));
    }
    tx.commit().map_err(write_err)?;
    Ok(sum)
}

#[allow(clippy::too_many_arguments)]
fn write_all(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    sum: &mut ImportSummary,
    categories: Vec<(String, Option<String>, CategoryIn)>,
    items: Vec<(String, Option<String>, ItemIn)>,
    lots: Vec<(String, Option<String>, LotIn)>,
    locations: Vec<(String, Option<String>, LocationIn)>,
    stock: Vec<(String, Option<String>, StockIn)>,
    customers: Vec<(String, Option<String>, CustomerIn)>,
    serials: Vec<(String, Option<String>, SerialIn)>,
    tasks: Vec<(String, Option<String>, TaskIn)>,
) -> Result<(), StoreError> {
    for (rec, key, c) in categories {
        if c.near_expiry_days.is_empty() {
            ctx.push(
                &rec,
                key.as_deref(),
                Some("near_expiry_days"),
                "needs at least one tier",
            );
            continue;
        }
        let mut t = c.near_expiry_days.clone();
        t.sort_unstable_by(|a, b| b.cmp(a));
        if let Err(e) = tx.execute(
            "INSERT INTO categories(id, near_expiry_days) VALUES (?1, ?2)
             ON CONFLICT(id) DO UPDATE SET near_expiry_days = excluded.near_expiry_days",
            params![c.id, tiers_to_string(&t)],
        ) {
            sql_row_error(ctx, &rec, key.as_deref(), e)?;
        } else {
            sum.categories += 1;
        }
    }

    let mut seen_codes: HashMap<String, String> = HashMap::new();
    for (rec, key, it) in items {
        let k = key.as_deref();
        let mut ok = true;
        if it.id.trim().is_empty() {
            ctx.push(&rec, k, Some("id"), "is empty");
            ok = false;
        }
        if it.name_en.trim().is_empty() {
            ctx.push(&rec, k, Some("name_en"), "is empty");
            ok = false;
        }
        if it.name_zh.trim().is_empty() {
            ctx.push(&rec, k, Some("name_zh"), "is empty");
            ok = false;
        }
        if it.min_remaining_days_receipt.is_some() && it.min_remaining_pct_receipt.is_some() {
            ctx.push(
                &rec,
                k,
                Some("min_remaining_pct_receipt"),
                "give min_remaining_days_receipt or min_remaining_pct_receipt, not both",
            );
            ok = false;
        }
        if it.min_remaining_pct_receipt.is_some_and(|p| p > 100) {
            ctx.push(&rec, k, Some("min_remaining_pct_receipt"), "must be 0 to 100");
            ok = false;
        }
        if it.shelf_life_days == Some(0) {
            ctx.push(&rec, k, Some("shelf_life_days"), "must be at least 1");
            ok = false;
        }
        let storage = match it.storage.as_deref().map(str::parse::<Storage>).transpose() {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                ctx.push(&rec, k, Some("storage"), e);
                ok = false;
                Storage::Ambient
            }
        };
        let mut gtins = Vec::new();
        for (j, g) in it.gtins.iter().enumerate() {
            match Gtin::new(g) {
                Ok(g) => gtins.push(g.as_str().to_owned()),
                Err(e) => {
                    ctx.push(&rec, k, Some(&format!("gtins[{j}]")), e.why);
                    ok = false;
                }
            }
        }
        for code in gtins.iter().chain(it.aliases.iter()) {
            if let Some(other) = seen_codes.insert(code.clone(), it.id.clone())
                && other != it.id
            {
                ctx.push(
                    &rec,
                    k,
                    Some("gtins"),
                    format!("barcode {code} is already used by item {other}"),
                );
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        let tiers = it.near_expiry_days.as_ref().map(|t| {
            let mut t = t.clone();
            t.sort_unstable_by(|a, b| b.cmp(a));
            tiers_to_string(&t)
        });
        let res = tx.execute(
            "INSERT INTO items(id, name_en, name_zh, category, shelf_life_days, min_remaining_days_receipt,
                               min_remaining_pct_receipt, near_expiry_days, requires_qc, serialized, regulated, storage)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(id) DO UPDATE SET name_en = excluded.name_en, name_zh = excluded.name_zh,
                category = excluded.category, shelf_life_days = excluded.shelf_life_days,
                min_remaining_days_receipt = excluded.min_remaining_days_receipt,
                min_remaining_pct_receipt = excluded.min_remaining_pct_receipt,
                near_expiry_days = excluded.near_expiry_days, requires_qc = excluded.requires_qc,
                serialized = excluded.serialized, regulated = excluded.regulated, storage = excluded.storage",
            params![
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
                storage.as_str()
            ],
        );
        if let Err(e) = res {
            sql_row_error(ctx, &rec, k, e)?;
            continue;
        }
        sum.items += 1;
        for (code, kind) in gtins
            .iter()
            .map(|g| (g, "gtin"))
            .chain(it.aliases.iter().map(|a| (a, "alias")))
        {
            let res = tx.execute(
                "INSERT INTO barcodes(code, kind, item_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT(code) DO UPDATE SET kind = excluded.kind, item_id = excluded.item_id",
                params![code, kind, it.id],
            );
            match res {
                Ok(_) => sum.barcodes += 1,
                Err(e) => sql_row_error(ctx, &rec, k, e)?,
            }
        }
    }

    for (rec, key, l) in lots {
        let k = key.as_deref();
        let mut ok = true;
        if let Err(e) = LotNo::new(&l.lot) {
            ctx.push(&rec, k, Some("lot"), e.why);
            ok = false;
        }
        let expiry = date_field(ctx, &rec, k, "expiry", &l.expiry);
        let prod = date_field(ctx, &rec, k, "production_date", &l.production_date);
        let qc = date_field(ctx, &rec, k, "qc_date", &l.qc_date);
        ok &= expiry.is_some() == l.expiry.is_some()
            && prod.is_some() == l.production_date.is_some()
            && qc.is_some() == l.qc_date.is_some();
        let status = match l.status.as_deref().unwrap_or("released").parse::<LotStatus>() {
            Ok(s) => s,
            Err(e) => {
                ctx.push(&rec, k, Some("status"), e);
                ok = false;
                LotStatus::Released
            }
        };
        if let (Some(p), Some(e)) = (&prod, &expiry)
            && p > e
        {
            ctx.push(&rec, k, Some("production_date"), format!("{p} is after the expiry {e}"));
            ok = false;
        }
        if !item_exists(tx, &l.item)? {
            ctx.push(
                &rec,
                k,
                Some("item"),
                format!("item '{}' is not defined (add it under items)", l.item),
            );
            ok = false;
        }
        if !ok {
            continue;
        }
        let res = tx.execute(
            "INSERT INTO lots(item_id, lot, expiry, production_date, qc_date, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(item_id, lot) DO UPDATE SET expiry = excluded.expiry, production_date = excluded.production_date,
                qc_date = excluded.qc_date, status = excluded.status",
            params![l.item, l.lot, expiry, prod, qc, status.as_str()],
        );
        match res {
            Ok(_) => sum.lots += 1,
            Err(e) => sql_row_error(ctx, &rec, k, e)?,
        }
    }

    for (rec, key, loc) in locations {
        let k = key.as_deref();
        let code = match LocationCode::new(&loc.code) {
            Ok(c) => c,
            Err(e) => {
                ctx.push(&rec, k, Some("code"), e.why);
                continue;
            }
        };
        let kind = loc.kind.as_deref().unwrap_or("pick");
        if !["pick", "reserve", "receiving", "quarantine", "shipping"].contains(&kind) {
            ctx.push(
                &rec,
                k,
                Some("kind"),
                format!("'{kind}' is not one of pick, reserve, receiving, quarantine, shipping"),
            );
            continue;
        }
        let res = tx.execute(
            "INSERT INTO locations(code, warehouse, zone, kind) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(code) DO UPDATE SET warehouse = excluded.warehouse, zone = excluded.zone, kind = excluded.kind",
            params![code.as_str(), loc.warehouse, loc.zone, kind],
        );
        match res {
            Ok(_) => sum.locations += 1,
            Err(e) => sql_row_error(ctx, &rec, k, e)?,
        }
    }

    for (rec, key, s) in stock {
        let k = key.as_deref();
        if s.qty < 0 {
            ctx.push(&rec, k, Some("qty"), format!("{} is negative", s.qty));
            continue;
        }
        let Some(lot_id) = lot_id(tx, &s.item, &s.lot)? else {
            ctx.push(
                &rec,
                k,
                Some("lot"),
                format!(
                    "lot '{}' of item '{}' is not defined (add it under lots)",
                    s.lot, s.item
                ),
            );
            continue;
        };
        let loc = LocationCode::new(&s.location)
            .map(|c| c.as_str().to_owned())
            .unwrap_or(s.location.clone());
        if !exists(tx, "SELECT 1 FROM locations WHERE code = ?1", &loc)? {
            ctx.push(
                &rec,
                k,
                Some("location"),
                format!("location '{}' is not defined (add it under locations)", s.location),
            );
            continue;
        }
        let res = tx.execute(
            "INSERT INTO stock(lot_id, location, qty) VALUES (?1, ?2, ?3)
             ON CONFLICT(lot_id, location) DO UPDATE SET qty = excluded.qty",
            params![lot_id, loc, s.qty],
        );
        match res {
            Ok(_) => sum.stock += 1,
            Err(e) => sql_row_error(ctx, &rec, k, e)?,
        }
    }

    for (rec, key, c) in customers {
        let k = key.as_deref();
        if c.id.trim().is_empty() {
            ctx.push(&rec, k, Some("id"), "is empty");
            continue;
        }
        let res = tx.execute(
            "INSERT INTO customers(id, name, min_remaining_days) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, min_remaining_days = excluded.min_remaining_days",
            params![c.id, c.name, c.min_remaining_days],
        );
        match res {
            Ok(_) => sum.customers += 1,
            Err(e) => sql_row_error(ctx, &rec, k, e)?,
        }
    }

    for (rec, key, s) in serials {
        let k = key.as_deref();
        if let Err(e) = SerialNo::new(&s.serial) {
            ctx.push(&rec, k, Some("serial"), e.why);
            continue;
        }
        if !item_exists(tx, &s.item)? {
            ctx.push(&rec, k, Some("item"), format!("item '{}' is not defined", s.item));
            continue;
        }
        let lot = match &s.lot {
            Some(l) => match lot_id(tx, &s.item, l)? {
                Some(id) => Some(id),
                None => {
                    ctx.push(
                        &rec,
                        k,
                        Some("lot"),
                        format!("lot '{l}' of item '{}' is not defined", s.item),
                    );
                    continue;
                }
            },
            None => None,
        };
        let res = tx.execute(
            "INSERT INTO serials(item_id, serial, lot_id) VALUES (?1, ?2, ?3)
             ON CONFLICT(item_id, serial) DO UPDATE SET lot_id = excluded.lot_id",
            params![s.item, s.serial, lot],
        );
        match res {
            Ok(_) => sum.serials += 1,
            Err(e) => sql_row_error(ctx, &rec, k, e)?,
        }
    }

    for (rec, key, t) in tasks {
        let k = key.as_deref();
        if !["receipt", "pick", "count"].contains(&t.kind.as_str()) {
            ctx.push(
                &rec,
                k,
                Some("kind"),
                format!("'{}' is not one of receipt, pick, count", t.kind),
            );
            continue;
        }
        if let Some(c) = &t.customer
            && !exists(tx, "SELECT 1 FROM customers WHERE id = ?1", c)?
        {
            ctx.push(&rec, k, Some("customer"), format!("customer '{c}' is not defined"));
            continue;
        }
        let created = t.created_at.clone().unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
        if let Err(e) = tx.execute(
            "INSERT INTO tasks(id, kind, customer_id, reference, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, customer_id = excluded.customer_id, reference = excluded.reference",
            params![t.id, t.kind, t.customer, t.reference, created],
        ) {
            sql_row_error(ctx, &rec, k, e)?;
            continue;
        }
        tx.execute("DELETE FROM task_lines WHERE task_id = ?1", [&t.id])
            .map_err(write_err)?;
        for (n, line) in t.lines.iter().enumerate() {
            let lrec = format!("{rec}.lines[{n}]");
            if !item_exists(tx, &line.item)? {
                ctx.push(&lrec, k, Some("item"), format!("item '{}' is not defined", line.item));
                continue;
            }
            let loc = line.location.as_deref().map(|l| {
                LocationCode::new(l)
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or(l.to_owned())
            });
            if let Some(l) = &loc
                && !exists(tx, "SELECT 1 FROM locations WHERE code = ?1", l)?
            {
                ctx.push(&lrec, k, Some("location"), format!("location '{l}' is not defined"));
                continue;
            }
            if let Err(e) = tx.execute(
                "INSERT INTO task_lines(task_id, line_no, item_id, lot, location, qty_expected) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.id, n as i64 + 1, line.item, line.lot, loc, line.qty],
            ) {
                sql_row_error(ctx, &lrec, k, e)?;
            }
        }
        sum.tasks += 1;
    }
    Ok(())
}

fn exists(tx: &Transaction<'_>, sql: &str, key: &str) -> Result<bool, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(tx.query_row(sql, [key], |_| Ok(())).optional()?.is_some())
}

fn item_exists(tx: &Transaction<'_>, id: &str) -> Result<bool, StoreError> {
    exists(tx, "SELECT 1 FROM items WHERE id = ?1", id)
}

fn lot_id(tx: &Transaction<'_>, item: &str, lot: &str) -> Result<Option<i64>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(tx
        .query_row(
            "SELECT id FROM lots WHERE item_id = ?1 AND lot = ?2",
            params![item, lot],
            |r| r.get(0),
        )
        .optional()?)
}
