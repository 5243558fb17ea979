//! The cache's master data in `lotline import`'s JSON format (the same reader takes it back,
//! and lotline-hub imports it): categories, items with their GTINs and aliases, customers, lots,
//! locations, stock, serials, operators (PINs as their argon2id hashes, `pin_hash`) and the tasks
//! still open. The embedded hub is seeded with it on the desktop's first run.

use std::io::Write;

use rusqlite::types::Value as Sql;
use serde_json::{Map, Value, json};

use super::{Store, StoreError};

fn rows(store: &Store, sql: &str) -> Result<Vec<Vec<Sql>>, StoreError> {
    let mut st = store.conn().prepare(sql).map_err(|e| store.err(e))?;
    let n = st.column_count();
    st.query_map([], |r| {
        (0..n).map(|i| r.get::<_, Sql>(i)).collect::<Result<Vec<_>, _>>()
    })
    .map_err(|e| store.err(e))?
    .collect::<Result<_, _>>()
    .map_err(|e| store.err(e))
}

fn v(x: &Sql) -> Value {
    match x {
        Sql::Null => Value::Null,
        Sql::Integer(i) => json!(i),
        Sql::Real(f) => json!(f),
        Sql::Text(t) => json!(t),
        Sql::Blob(_) => Value::Null,
    }
}

fn text(x: &Sql) -> String {
    match x {
        Sql::Text(t) => t.clone(),
        Sql::Integer(i) => i.to_string(),
        _ => String::new(),
    }
}

fn tiers(x: &Sql) -> Value {
    json!(super::parse_tiers(&text(x)).unwrap_or_default())
}

/// An object of the columns that are not NULL.
fn obj(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, val) in pairs {
        if !val.is_null() {
            m.insert((*k).to_owned(), val.clone());
        }
    }
    Value::Object(m)
}

/// Writes the master data of `store` to `out` as `lotline import` JSON.
pub fn export_master(store: &Store, mut out: impl Write) -> Result<(), StoreError> {
    let categories: Vec<Value> = rows(store, "SELECT id, near_expiry_days FROM categories ORDER BY id")?
        .iter()
        .map(|r| json!({"id": v(&r[0]), "near_expiry_days": tiers(&r[1])}))
        .collect();
    let items: Vec<Value> = rows(
        store,
        "SELECT i.id, i.name_en, i.name_zh, i.category, i.shelf_life_days, i.min_remaining_days_receipt,
                i.min_remaining_pct_receipt, i.near_expiry_days, i.requires_qc, i.serialized, i.regulated, i.storage,
                i.count_tolerance,
                (SELECT json_group_array(code) FROM (SELECT code FROM barcodes WHERE item_id = i.id AND kind = 'gtin' ORDER BY code)),
                (SELECT json_group_array(code) FROM (SELECT code FROM barcodes WHERE item_id = i.id AND kind = 'alias' ORDER BY code))
         FROM items i ORDER BY i.id",
    )?
    .iter()
    .map(|r| {
        let list = |x: &Sql| -> Value {
            let l: Value = serde_json::from_str(&text(x)).unwrap_or(json!([]));
            if l.as_array().is_some_and(|a| a.is_empty()) { Value::Null } else { l }
        };
        obj(&[
            ("id", v(&r[0])),
            ("name_en", v(&r[1])),
            ("name_zh", v(&r[2])),
            ("gtins", list(&r[13])),
            ("aliases", list(&r[14])),
            ("category", v(&r[3])),
            ("shelf_life_days", v(&r[4])),
            ("min_remaining_days_receipt", v(&r[5])),
            ("min_remaining_pct_receipt", v(&r[6])),
            ("near_expiry_days", if matches!(r[7], Sql::Null) { Value::Null } else { tiers(&r[7]) }),
            ("requires_qc", json!(matches!(r[8], Sql::Integer(1)))),
            ("serialized", json!(matches!(r[9], Sql::Integer(1)))),
            ("regulated", json!(matches!(r[10], Sql::Integer(1)))),
            ("storage", v(&r[11])),
            ("count_tolerance", v(&r[12])),
        ])
    })
    .collect();
    let customers: Vec<Value> = rows(store, "SELECT id, name, min_remaining_days FROM customers ORDER BY id")?
        .iter()
        .map(|r| obj(&[("id", v(&r[0])), ("name", v(&r[1])), ("min_remaining_days", v(&r[2]))]))
        .collect();
    let lots: Vec<Value> = rows(
        store,
        "SELECT item_id, lot, expiry, production_date, qc_date, status FROM lots ORDER BY id",
    )?
    .iter()
    .map(|r| {
        obj(&[
            ("item", v(&r[0])),
            ("lot", v(&r[1])),
            ("expiry", v(&r[2])),
            ("production_date", v(&r[3])),
            ("qc_date", v(&r[4])),
            ("status", v(&r[5])),
        ])
    })
    .collect();
    let locations: Vec<Value> = rows(
        store,
        "SELECT code, warehouse, zone, kind, storage FROM locations ORDER BY code",
    )?
    .iter()
    .map(|r| {
        obj(&[
            ("code", v(&r[0])),
            ("warehouse", v(&r[1])),
            ("zone", v(&r[2])),
            ("kind", v(&r[3])),
            ("storage", v(&r[4])),
        ])
    })
    .collect();
    let stock: Vec<Value> = rows(
        store,
        "SELECT s.location, l.item_id, l.lot, s.qty FROM stock s JOIN lots l ON l.id = s.lot_id WHERE s.qty > 0
         ORDER BY s.location, l.item_id, l.lot",
    )?
    .iter()
    .map(|r| {
        obj(&[
            ("location", v(&r[0])),
            ("item", v(&r[1])),
            ("lot", v(&r[2])),
            ("qty", v(&r[3])),
        ])
    })
    .collect();
    let serials: Vec<Value> = rows(
        store,
        "SELECT s.item_id, s.serial, l.lot FROM serials s LEFT JOIN lots l ON l.id = s.lot_id
         WHERE s.status = 'in_stock' ORDER BY s.item_id, s.serial",
    )?
    .iter()
    .map(|r| obj(&[("item", v(&r[0])), ("serial", v(&r[1])), ("lot", v(&r[2]))]))
    .collect();
    let operators: Vec<Value> = rows(store, "SELECT id, name, pin_hash, roles FROM operators ORDER BY id")?
        .iter()
        .map(|r| {
            let roles: Vec<String> = text(&r[3])
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            json!({"id": v(&r[0]), "name": v(&r[1]), "pin_hash": v(&r[2]), "roles": roles})
        })
        .collect();
    let mut tasks = Vec::new();
    for t in rows(
        store,
        "SELECT id, kind, customer_id, reference, created_at, tolerance_pct, zone, blind FROM tasks
         WHERE status IN ('open', 'in_progress') ORDER BY created_at, id",
    )? {
        let id = text(&t[0]);
        let kind = text(&t[1]);
        let lines: Vec<Value> = {
            let mut st = store
                .conn()
                .prepare("SELECT item_id, lot, location, qty_expected, expiry, sscc FROM task_lines WHERE task_id = ?1 ORDER BY line_no")
                .map_err(|e| store.err(e))?;
            st.query_map([&id], |r| {
                (0..6).map(|i| r.get::<_, Sql>(i)).collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| store.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| store.err(e))?
            .iter()
            .map(|l| {
                obj(&[
                    ("item", v(&l[0])),
                    ("lot", v(&l[1])),
                    ("location", v(&l[2])),
                    ("qty", if kind == "count" { Value::Null } else { v(&l[3]) }),
                    ("expiry", if kind == "receipt" { v(&l[4]) } else { Value::Null }),
                    ("sscc", if kind == "receipt" { v(&l[5]) } else { Value::Null }),
                ])
            })
            .collect()
        };
        let locations: Vec<String> = {
            let mut st = store
                .conn()
                .prepare("SELECT location FROM task_locations WHERE task_id = ?1 ORDER BY location")
                .map_err(|e| store.err(e))?;
            st.query_map([&id], |r| r.get(0))
                .map_err(|e| store.err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| store.err(e))?
        };
        tasks.push(obj(&[
            ("id", json!(id)),
            ("kind", json!(kind)),
            ("customer", v(&t[2])),
            ("reference", v(&t[3])),
            ("created_at", v(&t[4])),
            ("tolerance_pct", if kind == "receipt" { v(&t[5]) } else { Value::Null }),
            ("zone", if kind == "count" { v(&t[6]) } else { Value::Null }),
            (
                "blind",
                if kind == "count" {
                    json!(matches!(t[7], Sql::Integer(1)))
                } else {
                    Value::Null
                },
            ),
            (
                "locations",
                if kind == "count" && !locations.is_empty() {
                    json!(locations)
                } else {
                    Value::Null
                },
            ),
            ("lines", if lines.is_empty() { Value::Null } else { json!(lines) }),
        ]));
    }
    let doc = json!({
        "categories": categories,
        "items": items,
        "customers": customers,
        "lots": lots,
        "locations": locations,
        "stock": stock,
        "serials": serials,
        "operators": operators,
        "tasks": tasks,
    });
    serde_json::to_writer(&mut out, &doc).map_err(|e| StoreError::Data(e.to_string()))?;
    out.flush().map_err(|e| StoreError::Data(e.to_string()))
}
