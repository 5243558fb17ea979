//! Workflow scenarios (`tests/scenarios/<gate>/*.jsonl`, see the README there), run through the
//! same engine as `lotline run-script` on a copy of a cache made from `tests/scenarios/fixture.json`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDate};
use lotline::app::printing::ShellPrinter;
use lotline::app::script::{ScriptLine, script_line};
use lotline::app::session::{Session, SessionOptions};
use lotline::store::Store;
use serde_json::{Value, json};

const TODAY: &str = "2026-12-01";
const NOW: &str = "2026-12-01T09:00:00+08:00";

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

/// The fixture cache, imported once per test process (hashing the PINs takes a moment).
fn template() -> &'static Path {
    static T: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("fixture.db");
        let o = crate::lotline(&[
            "import",
            "--db",
            db.to_str().unwrap(),
            scenarios_dir().join("fixture.json").to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "fixture import: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        (dir, db)
    });
    p
}

/// A fresh copy of the fixture cache in `dir`.
pub fn fixture_db(dir: &Path) -> PathBuf {
    let db = dir.join("cache.db");
    std::fs::copy(template(), &db).unwrap();
    db
}

/// Does `actual` have everything `want` has (objects: each key given; arrays: same length,
/// element by element; scalars: equal)?
fn contains(actual: &Value, want: &Value) -> bool {
    match (actual, want) {
        (Value::Object(a), Value::Object(w)) => w.iter().all(|(k, v)| a.get(k).is_some_and(|x| contains(x, v))),
        (Value::Array(a), Value::Array(w)) => a.len() == w.len() && a.iter().zip(w).all(|(x, y)| contains(x, y)),
        (a, w) => a == w,
    }
}

fn codes(v: &Value) -> Value {
    Value::Array(
        v.as_array()
            .map(|a| a.iter().map(|r| r["code"].clone()).collect())
            .unwrap_or_default(),
    )
}

fn check_expect(out: &Value, want: &Value) -> Result<(), String> {
    let Some(w) = want.as_object() else {
        return Err("expect is not an object".into());
    };
    for (k, v) in w {
        let got = match k.as_str() {
            "error" => out["error"]["code"].clone(),
            "reasons" | "notes" => codes(&out[k.as_str()]),
            _ => out[k.as_str()].clone(),
        };
        let ok = match k.as_str() {
            "summary" | "label" => contains(&got, v),
            _ => got == *v,
        };
        if !ok {
            return Err(format!("{k}: expected {v}, got {got}"));
        }
    }
    Ok(())
}

fn run_check(db: &Path, dir: &Path, c: &Value, commands: usize) -> Result<(), String> {
    let store = Store::open_read_only(db).map_err(|e| e.to_string())?;
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
    match c["check"].as_str().unwrap_or("") {
        "stock" => {
            let rows = store
                .stock_lines(Some(&s("item")), Some(&s("lot")), Some(&s("location")))
                .map_err(|e| e.to_string())?;
            let qty: i64 = rows.iter().map(|r| r.qty).sum();
            if qty != c["qty"].as_i64().unwrap_or(-1) {
                return Err(format!("stock {}/{} at {}: {qty}", s("item"), s("lot"), s("location")));
            }
        }
        "lot" => {
            let l = store
                .lot(&s("item"), &s("lot"))
                .map_err(|e| e.to_string())?
                .ok_or("no such lot")?;
            let got = json!({"status": l.status.as_str(), "expiry": l.expiry.map(|d| d.to_string())});
            if !contains(&got, &json!({"status": c["status"], "expiry": c["expiry"]})) {
                return Err(format!("lot is {got}"));
            }
        }
        "outbox" => {
            let types: Vec<String> = store
                .outbox_commands()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|c| c.kind)
                .collect();
            if json!(types) != c["types"] {
                return Err(format!("outbox types {types:?}"));
            }
        }
        "payload" => {
            let cmds = store.outbox_commands().map_err(|e| e.to_string())?;
            let last = cmds
                .iter()
                .rev()
                .find(|x| x.kind == s("type"))
                .ok_or("no such command")?;
            if !contains(&last.payload, &c["payload"]) {
                return Err(format!("payload {}", last.payload));
            }
        }
        "audit" => {
            let n = store
                .audit_verify()
                .map_err(|e| e.to_string())?
                .map_err(|b| b.message_en())?;
            if n as usize != commands {
                return Err(format!("{n} audit entries for {commands} commands"));
            }
        }
        "file" => {
            let p = dir.join(s("path"));
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            if len == 0 {
                return Err(format!("{} was not written", p.display()));
            }
        }
        other => return Err(format!("unknown check '{other}'")),
    }
    Ok(())
}

fn run_scenario(path: &Path) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_db(dir.path());
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, head) = lines.next().ok_or("empty scenario")?;
    let head: Value = serde_json::from_str(head).map_err(|e| format!("line 1: {e}"))?;
    head["scenario"].as_str().ok_or("line 1 names no scenario")?;
    let today: NaiveDate = head["today"].as_str().unwrap_or(TODAY).parse().unwrap();
    let mut now: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(head["now"].as_str().unwrap_or(NOW)).unwrap();
    let store = Store::open(&db).map_err(|e| e.to_string())?;
    let printer = ShellPrinter::simulated(dir.path().join("printer.zpl"));
    let mut session = Session::new(
        store,
        SessionOptions {
            today: Some(today),
            ..Default::default()
        },
        Box::new(printer),
    );
    let mut step = 0;
    let mut checks = 0;
    for (i, line) in lines {
        let mut v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let at = |e: String| format!("{}:{}: {e}", path.display(), i + 1);
        if v.get("check").is_some() {
            let commands = session.store().outbox_commands().map(|c| c.len()).unwrap_or(0);
            // Read through a second connection, as another process would.
            run_check(&db, dir.path(), &v, commands).map_err(at)?;
            checks += 1;
            continue;
        }
        let want = v
            .as_object_mut()
            .and_then(|o| o.remove("expect"))
            .ok_or_else(|| at("no expect".into()))?;
        if let Some(t) = v.as_object_mut().and_then(|o| o.remove("at")) {
            now = DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap();
        }
        if let Some(out) = v.get_mut("out").filter(|o| o.is_string()) {
            *out = json!(dir.path().join(out.as_str().unwrap()).display().to_string());
        }
        step += 1;
        let out = script_line(&mut session, step, ScriptLine::Text(v.to_string()), now);
        check_expect(&out, &want).map_err(|e| at(format!("{e}\n  output: {out}")))?;
        // Every output line has the documented keys.
        for k in [
            "step",
            "op",
            "ok",
            "state",
            "verdict",
            "reasons",
            "prompt_en",
            "prompt_zh",
            "error",
        ] {
            if out.get(k).is_none() {
                return Err(at(format!("output has no '{k}': {out}")));
            }
        }
    }
    Ok(step + checks)
}

#[test]
fn receive_scenarios() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir().join("receive"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} receive scenarios", files.len());
    let mut failed = vec![];
    for f in &files {
        if let Err(e) = run_scenario(f) {
            failed.push(e);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}
