//! Lots on the hub: their status (set by an admin, with who and why), lookups and traces.

use lotline_protocol::sync::LotInfo;
use serde::Serialize;

use crate::changes::Log;
use crate::db::{Store, Tx, Val};
use crate::error::HubError;
use crate::now;

/// A GTIN as the barcodes table keeps it: 14 digits (GTIN-8/12/13 padded with zeros).
pub fn normalise_gtin(gtin: &str) -> Result<String, HubError> {
    let g = gtin.trim();
    if g.is_empty() || g.len() > 14 || !g.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HubError::BadRequest(format!("'{g}' is not a GTIN (8 to 14 digits)")));
    }
    Ok(format!("{g:0>14}"))
}

fn item_of_gtin(tx: &mut Tx<'_>, gtin: &str) -> Result<Option<String>, HubError> {
    Ok(tx
        .one("SELECT item FROM barcodes WHERE code = $1", &[gtin.into()])?
        .map(|r| r[0].text()))
}

fn first_gtin(tx: &mut Tx<'_>, item: &str) -> Result<Option<String>, HubError> {
    Ok(tx
        .one(
            "SELECT code FROM barcodes WHERE item = $1 AND kind = 'gtin' ORDER BY code LIMIT 1",
            &[item.into()],
        )?
        .map(|r| r[0].text()))
}

fn info(tx: &mut Tx<'_>, item: &str, lot: &str) -> Result<Option<LotInfo>, HubError> {
    let Some(r) = tx.one(
        "SELECT expiry, status, status_changed_at, status_changed_by, status_reason FROM lots
         WHERE item = $1 AND lot = $2",
        &[item.into(), lot.into()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(LotInfo {
        item: item.into(),
        gtin: first_gtin(tx, item)?,
        lot: lot.into(),
        expiry: r[0].opt_text(),
        status: r[1].text(),
        status_changed_at: r[2].opt_text(),
        status_changed_by: r[3].opt_text(),
        status_reason: r[4].opt_text(),
    }))
}

/// One lot as the hub knows it.
pub fn lot_info(store: &Store, gtin: &str, lot: &str) -> Result<LotInfo, HubError> {
    let g = normalise_gtin(gtin)?;
    let not_found = || HubError::LotNotFound {
        gtin: g.clone(),
        lot: lot.into(),
    };
    store.read(|tx| {
        let item = item_of_gtin(tx, &g)?.ok_or_else(not_found)?;
        info(tx, &item, lot)?.ok_or_else(not_found)
    })
}

/// The statuses an admin may set.
pub const SETTABLE: &[&str] = &["recalled", "on_hold", "released", "rejected"];

/// Sets a lot's status on the hub, recording who and why; devices get it with their next download.
pub fn set_lot_status(
    store: &Store,
    gtin: &str,
    lot: &str,
    status: &str,
    reason: Option<&str>,
    by: &str,
) -> Result<LotInfo, HubError> {
    if !SETTABLE.contains(&status) {
        return Err(HubError::BadStatus(status.into()));
    }
    let g = normalise_gtin(gtin)?;
    let not_found = || HubError::LotNotFound {
        gtin: g.clone(),
        lot: lot.into(),
    };
    let at = now();
    store.write(|tx| {
        let item = item_of_gtin(tx, &g)?.ok_or_else(not_found)?;
        let was = tx
            .one("SELECT status FROM lots WHERE item = $1 AND lot = $2", &[(&item).into(), lot.into()])?
            .ok_or_else(not_found)?[0]
            .text();
        tx.exec(
            "UPDATE lots SET status = $1, status_changed_at = $2, status_changed_by = $3, status_reason = $4
             WHERE item = $5 AND lot = $6",
            &[status.into(), (&at).into(), by.into(), reason.into(), (&item).into(), lot.into()],
        )?;
        tx.exec(
            "INSERT INTO lot_events(item, lot, from_status, status, at, by_whom, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[(&item).into(), lot.into(), (&was).into(), status.into(), (&at).into(), by.into(), reason.into()],
        )?;
        let mut log = Log::new();
        log.lot(tx, &item, lot)?;
        log.finish(tx)?;
        info(tx, &item, lot)?.ok_or_else(not_found)
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusEvent {
    pub at: String,
    pub from: Option<String>,
    pub status: String,
    pub by: Option<String>,
    pub reason: Option<String>,
    pub command_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Movement {
    pub at: String,
    /// `receive`, `putaway`, `pick` or `count`.
    pub kind: String,
    pub qty: i64,
    pub from: Option<String>,
    pub to: Option<String>,
    pub task: Option<String>,
    pub reference: Option<String>,
    pub customer: Option<String>,
    pub device: Option<String>,
    pub site: Option<String>,
    pub operator: Option<String>,
    pub command_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StockAt {
    pub location: String,
    pub site: Option<String>,
    pub qty: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LotTrace {
    pub item: String,
    pub name_en: Option<String>,
    pub name_zh: Option<String>,
    pub gtin: Option<String>,
    pub lot: String,
    pub expiry: Option<String>,
    pub status: String,
    pub status_changed_at: Option<String>,
    pub status_changed_by: Option<String>,
    pub status_reason: Option<String>,
    pub history: Vec<StatusEvent>,
    pub movements: Vec<Movement>,
    pub stock: Vec<StockAt>,
}

/// Every lot numbered `lot` (of the GTIN's item when given), or every lot of the GTIN's item.
pub fn trace(store: &Store, lot: Option<&str>, gtin: Option<&str>) -> Result<Vec<LotTrace>, HubError> {
    let g = gtin.map(normalise_gtin).transpose()?;
    store.read(|tx| {
        let item = match &g {
            Some(g) => Some(item_of_gtin(tx, g)?.ok_or_else(|| HubError::LotNotFound {
                gtin: g.clone(),
                lot: lot.unwrap_or("*").into(),
            })?),
            None => None,
        };
        let lots = match (&item, lot) {
            (Some(i), Some(l)) => tx.query(
                "SELECT item, lot FROM lots WHERE item = $1 AND lot = $2",
                &[i.into(), l.into()],
            )?,
            (Some(i), None) => tx.query("SELECT item, lot FROM lots WHERE item = $1 ORDER BY lot", &[i.into()])?,
            (None, Some(l)) => tx.query("SELECT item, lot FROM lots WHERE lot = $1 ORDER BY item", &[l.into()])?,
            (None, None) => return Err(HubError::BadRequest("give --lot, --gtin or both".into())),
        };
        let mut out = Vec::new();
        for r in lots {
            let (item, lot) = (r[0].text(), r[1].text());
            let i = info(tx, &item, &lot)?.expect("listed above");
            let names = tx.one("SELECT name_en, name_zh FROM items WHERE id = $1", &[(&item).into()])?;
            let history = tx
                .query(
                    "SELECT at, from_status, status, by_whom, reason, command_id FROM lot_events
                     WHERE item = $1 AND lot = $2 ORDER BY id",
                    &[(&item).into(), (&lot).into()],
                )?
                .into_iter()
                .map(|e| StatusEvent {
                    at: e[0].text(),
                    from: e[1].opt_text(),
                    status: e[2].text(),
                    by: e[3].opt_text(),
                    reason: e[4].opt_text(),
                    command_id: e[5].opt_text(),
                })
                .collect();
            let movements = tx
                .query(
                    "SELECT m.at, m.kind, m.qty, m.from_location, m.to_location, m.task, t.reference, m.customer,
                            m.device, m.site, m.operator, m.command_id
                     FROM movements m LEFT JOIN tasks t ON t.id = m.task
                     WHERE m.item = $1 AND m.lot = $2 ORDER BY m.id",
                    &[(&item).into(), (&lot).into()],
                )?
                .into_iter()
                .map(|m| Movement {
                    at: m[0].text(),
                    kind: m[1].text(),
                    qty: m[2].int(),
                    from: m[3].opt_text(),
                    to: m[4].opt_text(),
                    task: m[5].opt_text(),
                    reference: m[6].opt_text(),
                    customer: m[7].opt_text(),
                    device: m[8].opt_text(),
                    site: m[9].opt_text(),
                    operator: m[10].opt_text(),
                    command_id: m[11].opt_text(),
                })
                .collect();
            let stock = tx
                .query(
                    "SELECT s.location, l.site, s.qty FROM stock s LEFT JOIN locations l ON l.code = s.location
                     WHERE s.item = $1 AND s.lot = $2 AND s.qty <> 0 ORDER BY s.location",
                    &[(&item).into(), (&lot).into()],
                )?
                .into_iter()
                .map(|s| StockAt {
                    location: s[0].text(),
                    site: s[1].opt_text(),
                    qty: s[2].int(),
                })
                .collect();
            out.push(LotTrace {
                item,
                name_en: names.as_ref().map(|n| n[0].text()),
                name_zh: names.as_ref().map(|n| n[1].text()),
                gtin: i.gtin,
                lot,
                expiry: i.expiry,
                status: i.status,
                status_changed_at: i.status_changed_at,
                status_changed_by: i.status_changed_by,
                status_reason: i.status_reason,
                history,
                movements,
                stock,
            });
        }
        Ok(out)
    })
}

/// A trace as a table for people.
pub fn trace_table(lots: &[LotTrace]) -> String {
    use std::fmt::Write as _;
    let o = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let mut out = String::new();
    for t in lots {
        let _ = writeln!(
            out,
            "Lot {} of {} {} (GTIN {}), expiry {}: {}{}",
            t.lot,
            t.item,
            o(&t.name_en),
            o(&t.gtin),
            o(&t.expiry),
            t.status,
            t.status_changed_at
                .as_ref()
                .map(|a| format!(" since {a} by {} ({})", o(&t.status_changed_by), o(&t.status_reason)))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "  Status history:");
        for e in &t.history {
            let _ = writeln!(
                out,
                "    {:<26} {:>10} -> {:<10} by {:<12} {}",
                e.at,
                o(&e.from),
                e.status,
                o(&e.by),
                o(&e.reason)
            );
        }
        let _ = writeln!(out, "  Movements:");
        let _ = writeln!(
            out,
            "    {:<30} {:<8} {:>6} {:<10} {:<10} {:<14} {:<10} {:<10} {:<38} operator",
            "time", "kind", "qty", "from", "to", "task/order", "customer", "site", "device"
        );
        for m in &t.movements {
            let task = match (&m.task, &m.reference) {
                (Some(t), Some(r)) => format!("{t}/{r}"),
                (t, _) => o(t),
            };
            let _ = writeln!(
                out,
                "    {:<30} {:<8} {:>6} {:<10} {:<10} {:<14} {:<10} {:<10} {:<38} {}",
                m.at,
                m.kind,
                m.qty,
                o(&m.from),
                o(&m.to),
                task,
                o(&m.customer),
                o(&m.site),
                o(&m.device),
                o(&m.operator)
            );
        }
        let _ = writeln!(out, "  Stock now:");
        if t.stock.is_empty() {
            let _ = writeln!(out, "    none");
        }
        for s in &t.stock {
            let _ = writeln!(out, "    {:<12} site {:<10} {:>8}", s.location, o(&s.site), s.qty);
        }
    }
    out
}

/// Applied commands after `since` (a cursor), recorded in `[from, to)` when given.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedCommand {
    pub cursor: i64,
    pub id: String,
    pub device_id: String,
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: String,
    pub operator: Option<String>,
    pub applied_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub commands: Vec<ExportedCommand>,
    pub next_cursor: i64,
}

/// The applied commands after cursor `since`, recorded (hub clock) from `from` up to before `to`.
pub fn export(store: &Store, since: i64, from: Option<&str>, to: Option<&str>) -> Result<Export, HubError> {
    let norm = |t: Option<&str>| -> Result<Option<String>, HubError> {
        t.map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| {
                    d.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                })
                .map_err(|e| HubError::BadRequest(format!("'{t}' is not an RFC 3339 time: {e}")))
        })
        .transpose()
    };
    let (from, to) = (norm(from)?, norm(to)?);
    let rows = store.read(|tx| {
        tx.query(
            "SELECT cursor, id, device_id, seq, type, payload, created_at, operator, recorded_at FROM commands
             WHERE outcome = 'applied' AND cursor > $1 AND ($2 = '' OR recorded_at >= $2) AND ($3 = '' OR recorded_at < $3)
             ORDER BY cursor",
            &[
                Val::Int(since),
                from.clone().unwrap_or_default().into(),
                to.clone().unwrap_or_default().into(),
            ],
        )
    })?;
    let mut next = since;
    let commands = rows
        .into_iter()
        .map(|r| {
            next = r[0].int();
            ExportedCommand {
                cursor: r[0].int(),
                id: r[1].text(),
                device_id: r[2].text(),
                seq: r[3].int(),
                kind: r[4].text(),
                payload: serde_json::from_str(&r[5].text()).unwrap_or(serde_json::Value::Null),
                created_at: r[6].text(),
                operator: r[7].opt_text(),
                applied_at: r[8].text(),
            }
        })
        .collect();
    Ok(Export {
        commands,
        next_cursor: next,
    })
}
