//! Conformance runner for `domain::epc`: decodes every row of the shared EPC vector files and compares the URIs and
//! the GS1 element string. `dir` is the `standards/vectors` folder (the one holding `epc_vectors.json`).

use std::path::Path;

use lotline as l;

use l::domain::epc::{EpcDecoded, decode_epc_hex};
use serde_json::Value;

/// Pass/fail counts of one vector file; `failures` names each failing row and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteResult {
    pub name: String,
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<String>,
}

/// Runs `epc_vectors.json` and `extracted/retail-epcpy-hex-vectors.json` from `dir`.
pub fn run(dir: &Path) -> Vec<SuiteResult> {
    vec![
        suite(dir, "epc_vectors.json", "pure_uri", Some("gs1")),
        suite(dir, "extracted/retail-epcpy-hex-vectors.json", "uri", None),
    ]
}

fn suite(dir: &Path, file: &str, pure_key: &str, gs1_key: Option<&str>) -> SuiteResult {
    let mut result = SuiteResult {
        name: file.to_string(),
        passed: 0,
        failed: 0,
        failures: Vec::new(),
    };
    let rows = match std::fs::read_to_string(dir.join(file))
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Vec<Value>>(&text).map_err(|e| e.to_string()))
    {
        Ok(rows) => rows,
        Err(e) => {
            result.failed = 1;
            result.failures.push(format!("{file}: cannot read: {e}"));
            return result;
        }
    };
    for (i, row) in rows.iter().enumerate() {
        let field = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let hex = field("hex");
        let label = row
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("row {i}"), str::to_string);
        let valid = row.get("valid").and_then(Value::as_bool).unwrap_or(true);
        let outcome = decode_epc_hex(&hex);
        let problem = match (&outcome, valid) {
            (Ok(EpcDecoded::Gs1(epc)), true) => {
                let mut why = Vec::new();
                let want_pure = field(pure_key);
                if epc.pure_uri != want_pure {
                    why.push(format!("pure URI {} != {want_pure}", epc.pure_uri));
                }
                let want_tag = field("tag_uri");
                if epc.tag_uri != want_tag {
                    why.push(format!("tag URI {} != {want_tag}", epc.tag_uri));
                }
                if let Some(k) = gs1_key {
                    let want = field(k);
                    if epc.bracketed() != want {
                        why.push(format!("element string {} != {want}", epc.bracketed()));
                    }
                }
                if why.is_empty() { None } else { Some(why.join("; ")) }
            }
            (Ok(EpcDecoded::Raw { reason, .. }), true) => Some(format!("decoded as raw: {reason}")),
            (Err(e), true) => Some(format!("error {} at {}: {}", e.code, e.position, e.message)),
            (Ok(EpcDecoded::Gs1(epc)), false) => Some(format!("invalid row decoded as {}", epc.tag_uri)),
            (Ok(EpcDecoded::Raw { .. }) | Err(_), false) => None,
        };
        match problem {
            None => result.passed += 1,
            Some(why) => {
                result.failed += 1;
                result.failures.push(format!("{label} ({hex}): {why}"));
            }
        }
    }
    result
}
