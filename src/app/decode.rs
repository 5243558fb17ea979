//! `lotline decode` and `lotline epc`: the scan grammar and the EPC decoder as JSON lines, one
//! object per input, for checking labels and tags without a cache.

use serde_json::{Map, Value, json};

use crate::domain::epc::{EpcDecoded, decode_epc_hex};
use crate::domain::scan::{Scan, ScanError};

fn date(d: Option<chrono::NaiveDate>) -> Value {
    d.map(|d| Value::String(d.to_string())).unwrap_or(Value::Null)
}

fn error_json(input: &str, code: &str, message: &str, position: usize) -> Value {
    json!({"input": input, "ok": false, "error": {"code": code, "message": message, "position": position}})
}

fn pairs(v: &[(String, String)]) -> Value {
    Value::Array(v.iter().map(|(a, b)| json!([a, b])).collect())
}

/// The `decode` line for one scan.
pub fn scan_json(input: &str, result: &Result<Scan, ScanError>) -> Value {
    let s = match result {
        Ok(s) => s,
        Err(e) => return error_json(input, e.code, &e.message, e.position),
    };
    let f = &s.fields;
    let mut fields = Map::new();
    fields.insert("gtin".into(), json!(f.gtin.as_ref().map(|g| g.as_str())));
    fields.insert("lot".into(), json!(f.lot.as_ref().map(|l| l.as_str())));
    fields.insert("serial".into(), json!(f.serial.as_ref().map(|x| x.as_str())));
    fields.insert("expiry".into(), date(f.expiry));
    fields.insert("best_before".into(), date(f.best_before));
    fields.insert("production_date".into(), date(f.production_date));
    fields.insert("quantity".into(), json!(f.quantity));
    fields.insert("net_weight_kg".into(), json!(f.net_weight_kg));
    fields.insert("sscc".into(), json!(f.sscc.as_ref().map(|x| x.as_str())));
    let mut extra = |k: &str, v: Value| {
        if !v.is_null() {
            fields.insert(k.into(), v);
        }
    };
    extra("sell_by", date(f.sell_by));
    extra("pack_date", date(f.pack_date));
    extra("cpv", json!(f.cpv));
    extra("variant", json!(f.variant));
    extra("ship_to_gln", json!(f.ship_to_gln));
    extra("location_gln", json!(f.location_gln));
    if !f.measures.is_empty() {
        extra(
            "measures",
            Value::Array(
                f.measures
                    .iter()
                    .map(|m| json!({"ai": m.ai, "title": m.title, "value": m.value, "unit": m.unit}))
                    .collect(),
            ),
        );
    }
    if !f.nhrn.is_empty() {
        extra("nhrn", pairs(&f.nhrn));
    }
    let by_title = s.by_title();
    if !by_title.is_empty() {
        extra("by_title", pairs(&by_title));
    }
    extra("code", json!(f.code));
    if let Some(h) = &f.hibc {
        extra(
            "hibc",
            json!({
                "kind": h.kind.as_str(), "lic": h.lic, "product": h.product, "unit_of_measure": h.unit_of_measure,
                "lot": h.lot, "serial": h.serial, "expiry": date(h.expiry), "manufacture_date": date(h.manufacture_date),
                "quantity": h.quantity, "link": h.link.map(String::from),
            }),
        );
    }
    if let Some(u) = &f.udi {
        extra(
            "udi",
            json!({"agency": u.agency.as_str(), "di": u.di, "pi": pairs(&u.pi)}),
        );
    }
    let mut out = Map::new();
    out.insert("input".into(), json!(input));
    out.insert("ok".into(), json!(true));
    out.insert("kind".into(), json!(s.kind.as_str()));
    out.insert("symbology".into(), json!(s.symbology));
    if s.kind.is_gs1() {
        out.insert("ais".into(), pairs(&s.ais));
        out.insert("bracketed".into(), json!(s.bracketed()));
    }
    out.insert("fields".into(), Value::Object(fields));
    Value::Object(out)
}

/// The `epc` line for one EPC memory bank in hex.
pub fn epc_json(input: &str) -> Value {
    match decode_epc_hex(input) {
        Err(e) => error_json(input, e.code, &e.message, e.position),
        Ok(EpcDecoded::Raw { hex, reason }) => {
            json!({"input": input, "ok": true, "gs1": false, "scheme": null, "hex": hex, "reason": reason})
        }
        Ok(EpcDecoded::Gs1(e)) => {
            // TDS 2.x '+' schemes have no EPC URIs; their identity is given as a Digital Link URI.
            let (pure, tag, dl) = if e.tag_uri.is_empty() {
                (Value::Null, Value::Null, json!(e.pure_uri))
            } else {
                (json!(e.pure_uri), json!(e.tag_uri), Value::Null)
            };
            let mut v = json!({
                "input": input, "ok": true, "gs1": true, "scheme": e.scheme, "filter": e.filter,
                "pure_uri": pure, "tag_uri": tag, "ais": pairs(&e.ais), "bracketed": e.bracketed(),
            });
            if !dl.is_null() {
                v["digital_link"] = dl;
            }
            v
        }
    }
}
