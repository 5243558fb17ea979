//! One scan, end to end: parse with the scan grammar, look the item and lot up in the cache,
//! and let the policy engine decide. No network, no clock (today is passed in).

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::domain::lot::{Customer, Item, Lot};
use crate::domain::policy::{Evaluation, Facts, Gate, Scanned, evaluate};
use crate::domain::reason::Reason;
use crate::domain::scan::{Scan, ScanKind, ScanSettings, parse_scan};
use crate::store::{Store, StoreError};

/// What the scan is checked against, beyond the gate.
#[derive(Debug, Clone, Default)]
pub struct CheckContext {
    pub customer: Option<Customer>,
    /// The items the current task expects (empty: no task).
    pub expected_items: Vec<Item>,
    /// The task the scan belongs to, for the record.
    pub task_id: Option<String>,
    /// Per-site scan grammar settings.
    pub scan_settings: ScanSettings,
}

/// The full result of checking one scan.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// The input as text (GS shown as `<GS>`).
    pub input: String,
    pub scan: Option<Scan>,
    pub evaluation: Evaluation,
    pub item: Option<Item>,
    pub lot: Option<Lot>,
}

/// The context of a scan made for `task`: its items and its customer.
pub fn task_context(store: &Store, task: &crate::store::Task) -> Result<CheckContext, StoreError> {
    let mut items: Vec<Item> = Vec::new();
    for line in &task.lines {
        if items.iter().any(|i| i.id == line.item_id) {
            continue;
        }
        if let Some(item) = store.item_by_id(&line.item_id)? {
            items.push(item);
        }
    }
    let customer = match &task.summary.customer_id {
        Some(id) => store.customer(id)?,
        None => None,
    };
    Ok(CheckContext {
        customer,
        expected_items: items,
        task_id: Some(task.summary.id.clone()),
        ..Default::default()
    })
}

fn display_input(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).replace('\u{1d}', "<GS>")
}

/// Checks one scan at `gate` on `today`.
pub fn check_scan(
    store: &Store,
    gate: Gate,
    raw: &[u8],
    ctx: &CheckContext,
    today: NaiveDate,
) -> Result<CheckOutcome, StoreError> {
    let input = display_input(raw);
    let scan = match parse_scan(raw, None, &ctx.scan_settings, today) {
        Ok(s) => s,
        Err(e) => {
            return Ok(CheckOutcome {
                evaluation: Evaluation::invalid_barcode(&input, &e.message),
                input,
                scan: None,
                item: None,
                lot: None,
            });
        }
    };
    let code = match scan.kind {
        ScanKind::Sscc => {
            return Ok(CheckOutcome {
                evaluation: Evaluation::not_an_item(&input, "SSCC pallet label"),
                input,
                scan: Some(scan),
                item: None,
                lot: None,
            });
        }
        // Non-GS1 identifiers name the item by their device identifier, imported as an alias.
        ScanKind::Code
        | ScanKind::Hibc
        | ScanKind::NmpaMa
        | ScanKind::Isbt128
        | ScanKind::IfaPpn
        | ScanKind::ChinaDrugTrace => scan.fields.code.clone().unwrap_or_default(),
        ScanKind::Gs1 | ScanKind::DigitalLink | ScanKind::Gtin => match &scan.fields.gtin {
            Some(g) => g.as_str().to_owned(),
            None if scan.fields.sscc.is_some() => {
                return Ok(CheckOutcome {
                    evaluation: Evaluation::not_an_item(&input, "SSCC pallet label"),
                    input,
                    scan: Some(scan),
                    item: None,
                    lot: None,
                });
            }
            None => {
                return Ok(CheckOutcome {
                    evaluation: Evaluation::invalid_barcode(&input, "the barcode carries no GTIN (01)"),
                    input,
                    scan: Some(scan),
                    item: None,
                    lot: None,
                });
            }
        },
    };
    let item = store.item_by_code(&code)?;
    let lot = match (&item, &scan.fields.lot) {
        (Some(it), Some(l)) => store.lot(&it.id, l.as_str())?,
        _ => None,
    };
    let fefo = match (&item, gate) {
        // The earliest lot this customer may take: a lot below their minimum remaining shelf
        // life is never the FEFO lot a picker is told to take instead.
        (Some(it), Gate::Pick) => {
            let min_days = ctx.customer.as_ref().and_then(|c| c.min_remaining_days).unwrap_or(0);
            let earliest = today + chrono::Duration::days(i64::from(min_days));
            store.fefo_candidate(&it.id, earliest)?
        }
        _ => None,
    };
    let scanned = Scanned {
        code,
        gtin: scan.fields.gtin.clone(),
        lot: scan.fields.lot.clone(),
        expiry: scan.fields.expiry,
        production_date: scan.fields.production_date,
    };
    let facts = Facts {
        scanned: &scanned,
        item: item.as_ref(),
        lot: lot.as_ref(),
        expected_items: &ctx.expected_items,
        customer: ctx.customer.as_ref(),
        fefo: fefo.as_ref(),
    };
    let evaluation = evaluate(gate, &facts, today);
    Ok(CheckOutcome {
        input,
        scan: Some(scan),
        evaluation,
        item,
        lot,
    })
}

fn reason_json(r: &Reason) -> Value {
    json!({"code": r.code(), "message_en": r.message_en(), "message_zh": r.message_zh()})
}

impl CheckOutcome {
    pub fn verdict(&self) -> &'static str {
        self.evaluation.verdict.as_str()
    }

    /// The `lotline check` line for this scan.
    pub fn to_json(&self) -> Value {
        let item = self.item.as_ref().map(|i| {
            json!({
                "id": i.id, "name_en": i.name_en, "name_zh": i.name_zh,
                "gtin": i.gtin.as_ref().map(|g| g.as_str()), "category": i.category,
                "storage": i.storage.as_str(), "requires_qc": i.requires_qc,
                "serialized": i.serialized, "regulated": i.regulated,
            })
        });
        let lot = self.lot.as_ref().map(|l| {
            json!({
                "lot": l.lot.as_str(), "expiry": l.expiry.map(|d| d.to_string()),
                "production_date": l.production_date.map(|d| d.to_string()),
                "qc_date": l.qc_date.map(|d| d.to_string()), "status": l.status.as_str(),
            })
        });
        let mut v = json!({
            "scan": self.input,
            "verdict": self.verdict(),
            "reasons": self.evaluation.verdict.reasons().iter().map(reason_json).collect::<Vec<_>>(),
            "item": item,
            "lot": lot,
        });
        if !self.evaluation.notes.is_empty() {
            v["notes"] = self.evaluation.notes.iter().map(reason_json).collect();
        }
        if let Some(s) = &self.scan {
            v["parsed"] = json!({
                "kind": s.kind.as_str(), "symbology": s.symbology, "bracketed": s.bracketed(),
                "gtin": s.fields.gtin.as_ref().map(|g| g.as_str()), "lot": s.fields.lot.as_ref().map(|l| l.as_str()),
                "expiry": s.fields.expiry.map(|d| d.to_string()),
            });
        }
        v
    }
}
