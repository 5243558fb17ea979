//! Workflow scenarios (`tests/scenarios/<gate>/*.jsonl`, see the README there), run through the
//! same engine as `lotline run-script` on a copy of a cache made from the fixture the scenario
//! names (`tests/scenarios/fixture.json` unless its first line says otherwise).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

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

/// The default fixture.
const FIXTURE: &str = "fixture.json";

/// A fixture's cache, imported once per test process and fixture (hashing the PINs takes a
/// moment); scenarios copy it.
fn template(fixture: &str) -> PathBuf {
    type Slot = Arc<OnceLock<(tempfile::TempDir, PathBuf)>>;
    static T: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    // The map is locked only to find the fixture's slot: two fixtures import side by side.
    let slot = T
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(fixture.to_owned())
        .or_default()
        .clone();
    let (_, p) = slot.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("fixture.db");
        let o = crate::lotline(&[
            "import",
            "--db",
            db.to_str().unwrap(),
            scenarios_dir().join(fixture).to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{fixture} import: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        (dir, db)
    });
    p.clone()
}

/// A fresh copy of the default fixture's cache in `dir`.
pub fn fixture_db(dir: &Path) -> PathBuf {
    fixture_db_from(dir, FIXTURE)
}

/// A fresh copy of `fixture`'s cache (a file in `tests/scenarios/`) in `dir`.
pub fn fixture_db_from(dir: &Path, fixture: &str) -> PathBuf {
    let db = dir.join("cache.db");
    std::fs::copy(template(fixture), &db).unwrap();
    db
}

/// Does `actual` have everything `want` has (objects: each key given; arrays: same length,
/// element by element; numbers: the same value, `1` and `1.0` alike; other scalars: equal)?
fn contains(actual: &Value, want: &Value) -> bool {
    match (actual, want) {
        (Value::Object(a), Value::Object(w)) => w.iter().all(|(k, v)| a.get(k).is_some_and(|x| contains(x, v))),
        (Value::Array(a), Value::Array(w)) => a.len() == w.len() && a.iter().zip(w).all(|(x, y)| contains(x, y)),
        (Value::Number(a), Value::Number(w)) => a.as_f64() == w.as_f64(),
        (a, w) => a == w,
    }
}

/// The `expect` keys compared with [`contains`] rather than equality.
const CONTAINS_KEYS: [&str; 9] = [
    "summary",
    "label",
    "lines",
    "variances",
    "accuracy",
    "uncounted",
    "findings",
    "review",
    "counted",
];

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
        if k == "prompt" {
            let (p, want) = (out["prompt_en"].as_str().unwrap_or(""), v.as_str().unwrap_or(""));
            if !p.contains(want) {
                return Err(format!("prompt: expected it to contain {want:?}, got {p:?}"));
            }
            continue;
        }
        let got = match k.as_str() {
            "error" => out["error"]["code"].clone(),
            "reasons" | "notes" => codes(&out[k.as_str()]),
            _ => out[k.as_str()].clone(),
        };
        let ok = if CONTAINS_KEYS.contains(&k.as_str()) {
            contains(&got, v)
        } else {
            got == *v
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
        "line" => {
            let task = store
                .task_facts(&s("task"))
                .map_err(|e| e.to_string())?
                .ok_or("no such task")?;
            let n = c["line"].as_u64().ok_or("no line number")?;
            let l = task
                .lines
                .iter()
                .find(|l| u64::from(l.line_no) == n)
                .ok_or_else(|| format!("task {} has no line {n}", task.id))?;
            let got = json!({
                "item": l.item.id,
                "qty": l.qty,
                "done": l.done,
                "short": l.short,
                "short_reason": l.short_reason,
                "checked_by": l.checked_by,
                "override": l.override_reason,
            });
            if !contains(&got, &given(c, &["check", "task", "line"])) {
                return Err(format!("line {n} of {} is {got}", task.id));
            }
        }
        "task" => {
            let Some(t) = store.task_facts(&s("task")).map_err(|e| e.to_string())? else {
                return Err(format!("no task {}", s("task")));
            };
            let source: Option<String> = sql(db)
                .query_row("SELECT source FROM tasks WHERE id = ?1", [&t.id], |r| r.get(0))
                .map_err(|e| e.to_string())?;
            let got = json!({
                "kind": t.kind.as_str(),
                "status": t.status.as_str(),
                "locations": t.locations,
                "source": source,
                "blind": t.blind,
            });
            if !contains(&got, &given(c, &["check", "task"])) {
                return Err(format!("task {} is {got}", t.id));
            }
        }
        "serial" => {
            let status: Option<String> = sql(db)
                .query_row(
                    "SELECT status FROM serials WHERE item_id = ?1 AND serial = ?2",
                    [s("item"), s("serial")],
                    |r| r.get(0),
                )
                .map_err(|e| format!("serial {}/{}: {e}", s("item"), s("serial")))?;
            if json!(status) != c["status"] {
                return Err(format!("serial {}/{} is {status:?}", s("item"), s("serial")));
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

/// A check line's keys but `skip`: what the checked record must have.
fn given(c: &Value, skip: &[&str]) -> Value {
    let mut w = c.as_object().cloned().unwrap_or_default();
    w.retain(|k, _| !skip.contains(&k.as_str()));
    Value::Object(w)
}

/// A read-only connection to the scenario's cache, for what the store has no reader for.
fn sql(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn run_scenario(path: &Path) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, head) = lines.next().ok_or("empty scenario")?;
    let head: Value = serde_json::from_str(head).map_err(|e| format!("line 1: {e}"))?;
    head["scenario"].as_str().ok_or("line 1 names no scenario")?;
    let db = fixture_db_from(dir.path(), head["fixture"].as_str().unwrap_or(FIXTURE));
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

/// Runs every scenario of a gate's folder (at least `min` of them) and reports all failures.
fn gate_scenarios(gate: &str, min: usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir().join(gate))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= min, "only {} {gate} scenarios", files.len());
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

#[test]
fn receive_scenarios() {
    gate_scenarios("receive", 20);
}

#[test]
fn pick_scenarios() {
    gate_scenarios("pick", 20);
}

#[test]
fn count_scenarios() {
    gate_scenarios("count", 20);
}
