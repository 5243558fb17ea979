//! Conformance runner for `domain::gs1::digital_link` over the shared GS1 Digital Link vectors.
//!
//! `run(dir, validate)` reads, under `dir` (the `standards/vectors` folder):
//!
//! * `extracted/gs1-syntax-engine-dl-tests.json` — GS1 Syntax Engine: parse, generate, unescape;
//! * `digital_link_vectors.json` — hand-picked parse and generate cases (strict rules);
//! * `extracted/digital-link-js-validity.json` — validity under the lenient DL 1.1 rules.
//!
//! `validate` stands in for the element-string validation the caller runs over the parsed AIs
//! (lengths, character sets, check digits, linters). A row that is expected to fail and fails only
//! in `validate` is listed in [`SuiteResult::validation_dependent`].

use std::path::Path;

use lotline as l;

use l::domain::gs1::ai_def;
use l::domain::gs1::digital_link::{self as dl, DlSettings};

/// Rows whose expectation this implementation does not meet, on purpose, with the reason. They
/// still count as failed; their failure line ends with `known deviation: <reason>`.
pub const KNOWN_DEVIATIONS: &[(&str, &str)] = &[
    (
        "https://dlnkd.tn.gg/ARHKVAdpQg",
        "compressed Digital Link URIs (DL 1.1 compression) are not supported",
    ),
    (
        "https://example.com/giai/0801234126",
        "digital-link.js calls it invalid, but AI (8004) is X..30 with only the gcppos1 linter (needs a GCP \
         data source) in the GS1 dictionary and the DL 1.1 grammar (giai-value = 1*30XCHAR) accepts it",
    ),
    (
        "https://example.com/giai/0801234127",
        "as for giai/0801234126: no dictionary or grammar rule refuses it",
    ),
];

/// The outcome of one vector file.
#[derive(Debug, Clone, Default)]
pub struct SuiteResult {
    pub name: String,
    pub passed: usize,
    pub failed: usize,
    /// One line per failing row: the input and the reason.
    pub failures: Vec<String>,
    /// Rows expected to fail that the parser (or generator) accepted and `validate` refused.
    pub validation_dependent: Vec<String>,
}

impl SuiteResult {
    fn new(name: &str) -> Self {
        SuiteResult {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    fn record(&mut self, input: &str, row: &str, outcome: Result<Outcome, String>) {
        match outcome {
            Ok(o) => {
                self.passed += 1;
                if o == Outcome::FailedInValidation {
                    self.validation_dependent.push(row.to_owned());
                }
            }
            Err(why) => {
                self.failed += 1;
                match KNOWN_DEVIATIONS.iter().find(|(uri, _)| *uri == input) {
                    Some((_, reason)) => self.failures.push(format!("{row}: {why}; known deviation: {reason}")),
                    None => self.failures.push(format!("{row}: {why}")),
                }
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    FailedInValidation,
}

type Ais = Vec<(String, String)>;

/// Runs the three suites; see the module docs.
pub fn run(dir: &Path, validate: impl Fn(&[(String, String)]) -> Result<(), String>) -> Vec<SuiteResult> {
    vec![
        engine_suite(dir, &validate),
        dl_vectors_suite(dir, &validate),
        js_validity_suite(dir, &validate),
    ]
}

fn load(dir: &Path, file: &str, res: &mut SuiteResult) -> Vec<serde_json::Value> {
    let text = match std::fs::read_to_string(dir.join(file)) {
        Ok(t) => t,
        Err(e) => {
            res.failed += 1;
            res.failures.push(format!("cannot read {file}: {e}"));
            return Vec::new();
        }
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(rows)) => rows,
        Ok(_) | Err(_) => {
            res.failed += 1;
            res.failures.push(format!("{file} is not a JSON array"));
            Vec::new()
        }
    }
}

fn s<'a>(row: &'a serde_json::Value, key: &str) -> &'a str {
    row.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// The AIs as a `^`-separated element string (`^` = FNC1), as the GS1 engine prints them.
pub fn element_string(ais: &[(String, String)]) -> String {
    let mut out = String::from("^");
    for (i, (ai, v)) in ais.iter().enumerate() {
        out.push_str(ai);
        out.push_str(v);
        let fixed = ai_def(ai).is_some_and(|d| d.fixed_length);
        if !fixed && i + 1 < ais.len() {
            out.push('^');
        }
    }
    out
}

/// Splits `(01)123(10)ABC` into pairs (no escapes: the vectors have none).
fn split_bracketed(s: &str) -> Result<Ais, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let body = rest.strip_prefix('(').ok_or_else(|| format!("expected '(' in {s}"))?;
        let close = body.find(')').ok_or_else(|| format!("missing ')' in {s}"))?;
        let ai = &body[..close];
        let after = &body[close + 1..];
        let end = after.find('(').unwrap_or(after.len());
        out.push((ai.to_owned(), after[..end].to_owned()));
        rest = &after[end..];
    }
    Ok(out)
}

/// Checks a parse: `expect` is `Some(element string)` for a valid URI, `None` for an invalid one.
fn check_parse(
    uri: &str,
    settings: &DlSettings,
    expect: Option<&str>,
    validate: &impl Fn(&[(String, String)]) -> Result<(), String>,
) -> Result<Outcome, String> {
    let parsed = dl::parse_digital_link(uri, settings);
    match (expect, parsed) {
        (Some(want), Ok(link)) => {
            validate(&link.ais).map_err(|e| format!("parsed to {:?} but validation failed: {e}", link.ais))?;
            let got = element_string(&link.ais);
            if got == want {
                Ok(Outcome::Ok)
            } else {
                Err(format!("got {got}, want {want}"))
            }
        }
        (Some(want), Err(e)) => Err(format!("want {want}, got error {} ({})", e.code, e.message)),
        (None, Err(_)) => Ok(Outcome::Ok),
        (None, Ok(link)) => match validate(&link.ais) {
            Err(_) => Ok(Outcome::FailedInValidation),
            Ok(()) => Err(format!("want failure, got {}", element_string(&link.ais))),
        },
    }
}

fn check_generate(
    input: &str,
    stem: &str,
    settings: &DlSettings,
    expect: Option<&str>,
    validate: &impl Fn(&[(String, String)]) -> Result<(), String>,
) -> Result<Outcome, String> {
    let ais = split_bracketed(input)?;
    let validated = validate(&ais);
    let generated = dl::to_digital_link_with(&ais, stem, settings);
    match (expect, validated, generated) {
        (Some(want), Ok(()), Ok(got)) if got == want => Ok(Outcome::Ok),
        (Some(want), Ok(()), Ok(got)) => Err(format!("got {got}, want {want}")),
        (Some(_), Err(e), _) => Err(format!("validation failed: {e}")),
        (Some(want), Ok(()), Err(e)) => Err(format!("want {want}, got error {} ({})", e.code, e.message)),
        (None, _, Err(_)) => Ok(Outcome::Ok),
        (None, Err(_), Ok(_)) => Ok(Outcome::FailedInValidation),
        (None, Ok(()), Ok(got)) => Err(format!("want failure, got {got}")),
    }
}

/// Maps the GS1 engine's option names to [`DlSettings`]; unknown option names are an error.
fn engine_settings(row: &serde_json::Value) -> Result<DlSettings, String> {
    let mut st = DlSettings::default();
    let (mut unknown_ais, mut unknown_not_attr) = (false, true);
    if let Some(map) = row.get("settings").and_then(|v| v.as_object()) {
        for (k, v) in map {
            let on = v.as_str() == Some("true");
            match k.as_str() {
                "ctx->permitConvenienceAlphas" => st.convenience_alphas = on,
                "gs1_encoder_setPermitZeroSuppressedGTINinDLuris" => st.lenient_gtin = on,
                "gs1_encoder_setPermitUnknownAIs" => unknown_ais = on,
                "gs1_encoder_setValidationEnabled(gs1_encoder_vUNKNOWN_AI_NOT_DL_ATTR)" => unknown_not_attr = on,
                // Test-harness state, no engine option.
                "ctx->numAIs" | "ctx->numSortedAIs" | "gs1_encoder_setDataStr" => {}
                other => return Err(format!("unsupported setting {other}")),
            }
        }
    }
    st.unknown_ai_attributes = unknown_ais && !unknown_not_attr;
    Ok(st)
}

fn engine_suite(dir: &Path, validate: &impl Fn(&[(String, String)]) -> Result<(), String>) -> SuiteResult {
    let file = "extracted/gs1-syntax-engine-dl-tests.json";
    let mut res = SuiteResult::new(file);
    for (n, row) in load(dir, file, &mut res).iter().enumerate() {
        let input = s(row, "input");
        let ok = row.get("ok").and_then(|v| v.as_bool()).unwrap_or(false);
        let kind = s(row, "kind");
        let label = format!("#{n} {kind} {input:?}");
        let outcome = match kind {
            "parseDLuri" => {
                engine_settings(row).and_then(|st| check_parse(input, &st, ok.then(|| s(row, "expect")), validate))
            }
            "generateDLuri" => engine_settings(row)
                .and_then(|st| check_generate(input, s(row, "stem"), &st, ok.then(|| s(row, "expect")), validate)),
            "URIunescape" => {
                let (want_p, want_q) = (s(row, "expect_path"), s(row, "expect_query"));
                match (dl::percent_decode(input), dl::percent_decode_query(input)) {
                    (Ok(p), Ok(q)) if p == want_p && q == want_q => Ok(Outcome::Ok),
                    (p, q) => Err(format!("got path {p:?} query {q:?}, want {want_p:?} / {want_q:?}")),
                }
            }
            other => Err(format!("unknown kind {other}")),
        };
        res.record(input, &label, outcome);
    }
    res
}

fn dl_vectors_suite(dir: &Path, validate: &impl Fn(&[(String, String)]) -> Result<(), String>) -> SuiteResult {
    let file = "digital_link_vectors.json";
    let mut res = SuiteResult::new(file);
    for row in load(dir, file, &mut res) {
        let input = s(&row, "input");
        let valid = row.get("valid").and_then(|v| v.as_bool()).unwrap_or(false);
        let label = format!("{} {input:?}", s(&row, "id"));
        let outcome = if row.get("expect_uri").is_some() {
            check_generate(
                input,
                s(&row, "stem"),
                &DlSettings::default(),
                valid.then(|| s(&row, "expect_uri")),
                validate,
            )
        } else {
            check_parse(
                input,
                &DlSettings::default(),
                valid.then(|| s(&row, "expect_ai")),
                validate,
            )
        };
        res.record(input, &label, outcome);
    }
    res
}

fn js_validity_suite(dir: &Path, validate: &impl Fn(&[(String, String)]) -> Result<(), String>) -> SuiteResult {
    let file = "extracted/digital-link-js-validity.json";
    let mut res = SuiteResult::new(file);
    for (n, row) in load(dir, file, &mut res).iter().enumerate() {
        let uri = s(row, "uri");
        let expect = row.get("expect").and_then(|v| v.as_bool()).unwrap_or(false);
        let settings = DlSettings {
            lenient_gtin: true,
            convenience_alphas: true,
            allow_trailing_slash: true,
            any_qualifier_order: row.get("sortKeyQualifiers").and_then(|v| v.as_bool()).unwrap_or(false),
            unknown_ai_attributes: false,
        };
        let label = format!("#{n} {} {uri:?}", s(row, "check"));
        let outcome = match (dl::parse_digital_link(uri, &settings), expect) {
            (Ok(link), true) => validate(&link.ais)
                .map(|()| Outcome::Ok)
                .map_err(|e| format!("want valid, parsed {:?} but validation failed: {e}", link.ais)),
            (Ok(link), false) => match validate(&link.ais) {
                Err(_) => Ok(Outcome::FailedInValidation),
                Ok(()) => Err(format!("want invalid, got {}", element_string(&link.ais))),
            },
            (Err(e), true) => Err(format!("want valid, got error {} ({})", e.code, e.message)),
            (Err(_), false) => Ok(Outcome::Ok),
        };
        res.record(uri, &label, outcome);
    }
    res
}
