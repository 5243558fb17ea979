//! HIBC conformance: runs `vectors/hibc_vectors.json` from the shared standards folder through
//! `lotline::domain::hibc` and counts passes and failures (no panics: every mismatch is a failure line).
//!
//! Each vector's `input` is parsed with a fixed reference date (2026-01-01, for two-digit years).
//! `valid: false` must be refused; otherwise every expectation the vector states is compared: `lic`, `pcn`,
//! `uom`, `lot`, `serial`, `qty`, `link`, `check` (the last input character, which must be the mod-43 check
//! character), `expiry` and `mfg` (the leading `YYYY-MM-DD`, or `YYYY-MM` for a month: then the year and month
//! are compared), and the kind implied by the data (`+$`/`+digit` secondary, `/` concatenated, else primary).

use std::path::Path;

use lotline as l;

use chrono::{Datelike, NaiveDate};
use l::domain::hibc::{HibcKind, check_char, parse_hibc};
use serde_json::Value;

/// The outcome of one vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteResult {
    pub name: String,
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<String>,
}

/// `dir` is the standards folder (holding `vectors/`) or the `vectors` folder itself.
pub fn run(dir: &Path) -> Vec<SuiteResult> {
    let path = [dir.join("vectors/hibc_vectors.json"), dir.join("hibc_vectors.json")]
        .into_iter()
        .find(|p| p.is_file());
    let mut suite = SuiteResult {
        name: "hibc_vectors".into(),
        passed: 0,
        failed: 0,
        failures: vec![],
    };
    let text = match path.map(std::fs::read_to_string) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return vec![fail_all(suite, format!("cannot read hibc_vectors.json: {e}"))],
        None => {
            return vec![fail_all(
                suite,
                format!("hibc_vectors.json not found under {}", dir.display()),
            )];
        }
    };
    let vectors: Vec<Value> = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return vec![fail_all(suite, format!("hibc_vectors.json is not a JSON array: {e}"))],
    };
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    for v in &vectors {
        let id = v["id"].as_str().unwrap_or("?");
        let problems = check_vector(v, today);
        if problems.is_empty() {
            suite.passed += 1;
        } else {
            suite.failed += 1;
            suite.failures.push(format!("{id}: {}", problems.join("; ")));
        }
    }
    vec![suite]
}

fn fail_all(mut suite: SuiteResult, why: String) -> SuiteResult {
    suite.failed = 1;
    suite.failures.push(why);
    suite
}

fn check_vector(v: &Value, today: NaiveDate) -> Vec<String> {
    let mut p = vec![];
    let Some(input) = v["input"].as_str() else {
        return vec!["no input".into()];
    };
    let valid = v["valid"].as_bool().unwrap_or(true);
    let h = match (parse_hibc(input, today), valid) {
        (Err(_), false) => return p,
        (Ok(h), false) => return vec![format!("accepted an invalid code as {h:?}")],
        (Err(e), true) => return vec![format!("refused: {} at {}: {}", e.code, e.position, e.message)],
        (Ok(h), true) => h,
    };
    let mut eq = |field: &str, want: Option<String>, got: Option<String>| {
        if let Some(w) = want
            && got.as_deref() != Some(w.as_str())
        {
            p.push(format!("{field}: want {w}, got {got:?}"));
        }
    };
    let s = |k: &str| v[k].as_str().map(str::to_owned);
    let n = |k: &str| v[k].as_u64().map(|x| x.to_string());
    eq("lic", s("lic"), h.lic.clone());
    eq("pcn", s("pcn"), h.product.clone());
    eq("uom", n("uom"), h.unit_of_measure.map(|u| u.to_string()));
    eq("lot", s("lot"), h.lot.clone());
    eq("serial", s("serial"), h.serial.clone());
    eq("qty", n("qty"), h.quantity.map(|q| q.to_string()));
    eq("link", s("link"), h.link.map(String::from));
    let last = input.chars().last().map(String::from);
    eq("check", s("check"), last.clone());
    let body: String = input.chars().take(input.chars().count().saturating_sub(1)).collect();
    eq("check (computed)", last, check_char(&body).map(String::from));
    for (field, got) in [("expiry", h.expiry), ("mfg", h.manufacture_date)] {
        let Some(want) = v[field].as_str().and_then(|t| t.split_whitespace().next()) else {
            continue;
        };
        let got_s = match (want.len(), got) {
            (7, Some(d)) => Some(format!("{:04}-{:02}", d.year(), d.month())),
            (_, Some(d)) => Some(d.format("%Y-%m-%d").to_string()),
            (_, None) => None,
        };
        eq(field, Some(want.to_owned()), got_s);
    }
    let b = input.as_bytes();
    let kind = match b.get(1) {
        Some(c) if *c == b'$' || c.is_ascii_digit() => HibcKind::Secondary,
        _ if input[..input.len().saturating_sub(1)].contains('/') => HibcKind::Concatenated,
        _ => HibcKind::Primary,
    };
    if h.kind != kind {
        p.push(format!("kind: want {kind:?}, got {:?}", h.kind));
    }
    p
}
