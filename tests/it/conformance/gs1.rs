//! GS1 conformance runner: replays the extracted GS1 Syntax Engine / Syntax Dictionary suites and the
//! hand-checked element-string vectors from `shared/standards/vectors` against the scan grammar.
//!
//! [`run`] takes the `vectors` folder and returns one [`SuiteResult`] per suite. Rows that cannot be
//! replayed (placeholders left by the extraction, encoder-only settings, a GS1 Company Prefix
//! database) are listed in `skipped` with the reason and counted in neither `passed` nor `failed`.

use std::path::Path;

use chrono::NaiveDate;
use serde_json::Value;

use lotline as l;

use l::domain::gs1::linters::{self, LintError};
use l::domain::gs1::{self, ValidateOptions};
use l::domain::ids::Gtin;
use l::domain::scan::{ScanKind, parse_scan};

/// The outcome of one suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteResult {
    pub name: String,
    pub passed: usize,
    pub failed: usize,
    /// One line per failing row: the row, what was expected and what happened.
    pub failures: Vec<String>,
    /// One line per row not replayed, with the reason.
    pub skipped: Vec<String>,
}

/// Rows where lotline decides otherwise on purpose: (suite, input, reason). They still count as
/// failed; the conformance test accepts them.
pub const KNOWN_DEVIATIONS: &[(&str, &str, &str)] = &[
    (
        "engine-scandata-tests",
        "ABC",
        "without a symbology identifier lotline reads printable text as a plain code",
    ),
    (
        "engine-scandata-tests",
        "]Q1",
        "lotline refuses a scan with no data after the symbology identifier",
    ),
    (
        "engine-scandata-tests",
        "]d1",
        "lotline refuses a scan with no data after the symbology identifier",
    ),
    (
        "engine-scandata-tests",
        "]J0",
        "lotline refuses a scan with no data after the symbology identifier",
    ),
];

impl SuiteResult {
    fn new(name: &str) -> Self {
        SuiteResult {
            name: name.to_owned(),
            ..SuiteResult::default()
        }
    }

    fn check(&mut self, ok: bool, row: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures.push(row());
        }
    }

    /// As `check`, noting a known deviation for `input`.
    fn check_input(&mut self, ok: bool, input: &str, row: impl FnOnce() -> String) {
        let name = self.name.clone();
        self.check(ok, || {
            let known = KNOWN_DEVIATIONS.iter().find(|(s, i, _)| *s == name && *i == input);
            match known {
                Some((_, _, why)) => format!("{} [known deviation: {why}]", row()),
                None => row(),
            }
        });
    }

    fn skip(&mut self, row: String) {
        self.skipped.push(row);
    }
}

/// A fixed reference date for every suite: the rows' dates are chosen to be valid around it.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
}

type Pairs = Vec<(String, String)>;

/// Runs every suite found under `dir` (the `vectors` folder). A missing or unreadable file gives a
/// suite with one failure saying so.
pub fn run(dir: &Path) -> Vec<SuiteResult> {
    vec![
        suite(
            dir,
            "extracted/gs1-syntax-dictionary-linter-tests.json",
            "linter-tests",
            linter_rows,
        ),
        suite(
            dir,
            "extracted/gs1-syntax-engine-ai-tests.json",
            "engine-ai-tests",
            ai_rows,
        ),
        suite(
            dir,
            "extracted/gs1-syntax-engine-scandata-tests.json",
            "engine-scandata-tests",
            scandata_rows,
        ),
        suite(
            dir,
            "gs1_element_string_vectors.json",
            "element-string-vectors",
            element_rows,
        ),
    ]
}

fn suite(dir: &Path, file: &str, name: &str, f: fn(&mut SuiteResult, &[Value])) -> SuiteResult {
    let mut r = SuiteResult::new(name);
    let rows = std::fs::read_to_string(dir.join(file))
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()));
    match rows {
        Ok(Value::Array(rows)) => f(&mut r, &rows),
        Ok(_) => r.check(false, || format!("{file}: not a JSON array")),
        Err(e) => r.check(false, || format!("{file}: {e}")),
    }
    r
}

fn s<'a>(row: &'a Value, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}

fn setting(row: &Value, key: &str) -> Option<String> {
    row.get("settings")
        .and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Linter tests

/// The C tests' strings are bytes; the extraction wrote bytes above 0x7f as U+0080..U+00FF.
fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
}

/// The reference's error markup: the offending span wrapped in `*`.
fn markup(input: &str, e: &LintError) -> String {
    let chars: Vec<char> = input.chars().collect();
    let (p, n) = (e.position.min(chars.len()), (e.position + e.len).min(chars.len()));
    let mut out: String = chars[..p].iter().collect();
    out.push('*');
    out.extend(&chars[p..n]);
    out.push('*');
    out.extend(&chars[n..]);
    out
}

fn linter_rows(r: &mut SuiteResult, rows: &[Value]) {
    for row in rows {
        let name = s(row, "linter").trim_start_matches("gs1_lint_");
        let (input, expect, mark) = (s(row, "input"), s(row, "expect"), s(row, "markup"));
        let id = || format!("{name}({input:?}) expect {expect} {mark:?}");
        if mark == "expect" || (input == "data" && name.starts_with("gcppos")) {
            r.skip(format!(
                "{}: placeholder row (the C test builds its input in a loop)",
                id()
            ));
            continue;
        }
        if expect == "GS1_LINTER_GCP_DATASOURCE_OFFLINE"
            || expect == "GS1_LINTER_INVALID_GCP_PREFIX" && mark.len() > 2 && {
                // Rows whose highlighted prefix is all digits can only fail through the mock look-up.
                let inner = mark.split('*').nth(1).unwrap_or("");
                inner.len() >= 4 && inner.bytes().all(|b| b.is_ascii_digit())
            }
        {
            r.skip(format!(
                "{}: needs a GS1 Company Prefix look-up service (reference mock)",
                id()
            ));
            continue;
        }
        let Some(lint) = linters::linter(name) else {
            r.check(false, || format!("{}: linter not implemented", id()));
            continue;
        };
        match lint.check(&latin1(input), today()) {
            Ok(()) => r.check(expect == "OK", || format!("{}: got OK", id())),
            Err(e) => {
                let got = format!("GS1_LINTER_{}", e.code.name());
                let got_mark = markup(input, &e);
                r.check(got == expect && got_mark == mark, || {
                    format!("{}: got {got} {got_mark:?}", id())
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AI tests

/// The engine's unbracketed rendering: `^`, then each AI and value, with `^` after a value of
/// variable length unless it is the last.
fn unbracketed(ais: &Pairs) -> String {
    let mut out = String::from("^");
    for (i, (ai, v)) in ais.iter().enumerate() {
        out.push_str(ai);
        out.push_str(v);
        let fixed = gs1::ai_def(ai).is_some_and(|d| d.fixed_length);
        if !fixed && i + 1 < ais.len() {
            out.push('^');
        }
    }
    out
}

/// Splits bracketed data without consulting the AI table (for "permit unknown AIs" rows).
fn lax_bracketed(data: &str) -> Option<Pairs> {
    let mut out = Vec::new();
    let mut rest = data.strip_prefix('(')?;
    loop {
        let (ai, after) = rest.split_once(')')?;
        let mut value = String::new();
        let mut chars = after.char_indices().peekable();
        let mut next = None;
        while let Some((i, c)) = chars.next() {
            if c == '\\' && chars.peek().map(|&(_, c)| c) == Some('(') {
                value.push('(');
                chars.next();
            } else if c == '(' {
                next = Some(&after[i + 1..]);
                break;
            } else {
                value.push(c);
            }
        }
        out.push((ai.to_owned(), value));
        match next {
            Some(n) => rest = n,
            None => return Some(out),
        }
    }
}

fn ai_rows(r: &mut SuiteResult, rows: &[Value]) {
    for row in rows {
        let (kind, input, expect) = (s(row, "kind"), s(row, "input"), s(row, "expect"));
        let ok = row.get("ok").and_then(Value::as_bool).unwrap_or(false);
        let id = || format!("{kind} {input:?} ok={ok}");
        if matches!(input, "inbuf" | "buf") {
            r.skip(format!("{}: placeholder row (the C test fills a buffer in code)", id()));
            continue;
        }
        if kind.starts_with("parseAIdata") {
            match gs1::parse_bracketed(input, today()) {
                Ok(ais) => {
                    let got = unbracketed(&ais);
                    r.check(ok && got == expect, || {
                        format!("{}: got {got:?}, want {expect:?}", id())
                    });
                }
                Err(e) => r.check(!ok, || format!("{}: got error {e}", id())),
            }
        } else if kind.starts_with("processAIdata") {
            let got = gs1::parse_unbracketed(input, today());
            r.check(got.is_ok() == ok, || format!("{}: got {got:?}", id()));
        } else if kind.starts_with("validateAIs") {
            let permit = setting(row, "gs1_encoder_setPermitUnknownAIs").as_deref() == Some("true");
            let ais = if permit {
                lax_bracketed(input).ok_or_else(|| "unreadable bracketed data".to_owned())
            } else {
                gs1::parse_bracketed(input, today()).map_err(|e| e.to_string())
            };
            let opts = ValidateOptions {
                permit_unknown_ais: permit,
                ..Default::default()
            };
            let got = ais.and_then(|a| gs1::validate_ais_with(&a, today(), opts).map_err(|e| e.to_string()));
            r.check(got.is_ok() == ok, || format!("{}: got {got:?}", id()));
        } else {
            r.check(false, || format!("{}: unknown kind", id()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scan data tests

/// Removes the engine's `\` escapes from plain (non-GS1) data.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What a scan should decode to: its AIs, or the text of a plain code.
#[derive(Debug, PartialEq)]
enum Decoded {
    Ais(Pairs),
    Code(String),
}

/// The engine's textual form of scan content: `^…` GS1 data, digits for a GTIN, optionally
/// `|^…` for a composite component, anything else plain data.
fn expected(text: &str, plain: bool) -> Result<Decoded, String> {
    if plain {
        // Plain data that is a GS1 Digital Link URI stands for the AIs it carries (lotline reads
        // a Digital Link in any plain-data symbology; the engine hands the URI on as text).
        let text = unescape(text);
        if let Ok(dl) = l::domain::gs1::digital_link::parse_digital_link(&text, &Default::default()) {
            return Ok(Decoded::Ais(dl.ais));
        }
        return Ok(Decoded::Code(text));
    }
    let (primary, cc) = match text.split_once("|^") {
        Some((p, c)) => (p, Some(format!("^{c}"))),
        None => (text, None),
    };
    let mut ais = if primary.starts_with('^') {
        gs1::parse_unbracketed(primary, today()).map_err(|e| e.to_string())?
    } else if !primary.is_empty() && primary.bytes().all(|b| b.is_ascii_digit()) {
        let g = Gtin::new(primary).map_err(|e| e.to_string())?;
        vec![("01".to_owned(), g.as_str().to_owned())]
    } else {
        return Ok(Decoded::Code(unescape(text)));
    };
    if let Some(cc) = cc {
        ais.extend(gs1::parse_unbracketed(&cc, today()).map_err(|e| e.to_string())?);
    }
    Ok(Decoded::Ais(ais))
}

fn decode(scan: &[u8]) -> Result<Decoded, String> {
    let s = parse_scan(scan, None, &Default::default(), today()).map_err(|e| format!("{}: {e}", e.code))?;
    Ok(match s.kind {
        ScanKind::Code => Decoded::Code(s.fields.code.unwrap_or_default()),
        _ => Decoded::Ais(s.ais),
    })
}

fn scandata_rows(r: &mut SuiteResult, rows: &[Value]) {
    for row in rows {
        let (kind, input, sym) = (s(row, "kind"), s(row, "input"), s(row, "symbology"));
        let expect = row.get("expect").and_then(Value::as_str);
        if kind == "processScanData" {
            let ok = row.get("ok").and_then(Value::as_bool).unwrap_or(false);
            let id = || format!("processScanData {input:?} ok={ok} expect {expect:?}");
            let got = decode(input.as_bytes());
            match (&got, ok) {
                (Err(_), false) => r.check(true, String::new),
                (Ok(_), false) | (Err(_), true) => r.check_input(false, input, || format!("{}: got {got:?}", id())),
                (Ok(got), true) => {
                    // Plain-data symbologies (]Q1 ]d1 ]J0 …) give text, whatever it looks like.
                    let plain = !matches!(
                        input.get(..3),
                        Some("]C1" | "]d2" | "]Q3" | "]e0" | "]J1" | "]E0" | "]E4")
                    );
                    let want = expected(expect.unwrap_or(""), plain);
                    r.check(want.as_ref() == Ok(got), || {
                        format!("{}: got {got:?}, want {want:?}", id())
                    });
                }
            }
        } else if kind == "generateScanData" {
            let id = || format!("generateScanData {sym} {input:?} -> {expect:?}");
            let Some(scan) = expect else {
                r.skip(format!("{}: encoder-side rejection, no scan to read back", id()));
                continue;
            };
            if setting(row, "gs1_encoder_setAddCheckDigit").as_deref() == Some("true") {
                r.skip(format!(
                    "{}: the encoder adds the check digit; no decoder counterpart",
                    id()
                ));
                continue;
            }
            // Read the generated scan back and compare with the encoder's input.
            let plain =
                sym == "QR" && !input.starts_with('^') || matches!(sym, "DM" | "DotCode") && !input.starts_with('^');
            let want = expected(input, plain);
            let got = decode(scan.as_bytes());
            r.check(want == got, || format!("{}: read back {got:?}, want {want:?}", id()));
        } else {
            r.check(false, || format!("{kind} {input:?}: unknown kind"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-checked element strings

fn element_rows(r: &mut SuiteResult, rows: &[Value]) {
    for row in rows {
        let (id, input) = (s(row, "id"), s(row, "input"));
        let valid = row.get("valid").and_then(Value::as_bool).unwrap_or(false);
        if let Some(name) = row.get("linter").and_then(Value::as_str) {
            let got = linters::linter(name).map(|lint| lint.check(s(row, "data").as_bytes(), today()));
            r.check(got.is_some_and(|g| g.is_ok() == valid), || {
                format!("{id} {input:?} valid={valid}: got {got:?}")
            });
            continue;
        }
        let got = parse_scan(input.as_bytes(), None, &Default::default(), today())
            .and_then(|scan| gs1::validate_ais(&scan.ais, today()).map(|()| scan))
            .map_err(|e| format!("{}: {e}", e.code));
        let ok = match (&got, row.get("expect_hri").and_then(Value::as_str)) {
            (Ok(scan), Some(hri)) => valid && scan.bracketed() == hri,
            (Ok(_), None) => valid,
            (Err(_), _) => !valid,
        };
        r.check_input(ok, input, || {
            format!("{id} {input:?} valid={valid}: got {:?}", got.map(|s| s.bracketed()))
        });
    }
}
