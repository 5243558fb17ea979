//! The gates from the command line: `run-script`, `stock`, `outbox list`, `audit verify` and
//! `audit export`, the audit chain against tampering by SQL, and crash safety.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::scenarios::fixture_db;
use crate::{lotline, lotline_in, stderr, stdout};

const NOW: &str = "2026-12-01T09:00:00+08:00";

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A receipt of ASN-1's first pallet (two lots) and one line by its goods label, put away.
pub const RECEIPT: &str = r#"{"op":"login","operator":"recv1","pin":"1111"}
{"op":"start","gate":"receive","task":"ASN-1"}
{"op":"scan","data":"(00)006901234000000001"}
{"op":"confirm"}
{"op":"location","code":"A-02"}
{"op":"scan","data":"]d2010690123450001117261212\u001d10M-1\u001d3020"}
{"op":"confirm"}
{"op":"scan","data":"C-01"}
{"op":"finish"}
{"op":"logout"}
"#;

#[test]
fn run_script_prints_one_documented_line_per_op_and_the_summary_on_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_db(dir.path());
    let db_s = db.to_str().unwrap();
    let script = dir.path().join("s.jsonl");
    std::fs::write(&script, RECEIPT).unwrap();
    let o = lotline(&[
        "run-script",
        "--db",
        db_s,
        "--today",
        "2026-12-01",
        "--now",
        NOW,
        "--script",
        script.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&stdout(&o));
    assert_eq!(lines.len(), 10);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["step"], i + 1);
        assert_eq!(l["ok"], true, "{l}");
        for k in ["op", "state", "verdict", "reasons", "prompt_en", "prompt_zh", "error"] {
            assert!(l.get(k).is_some(), "no {k} in {l}");
        }
    }
    assert_eq!(lines[2]["state"], "receive.confirm");
    assert_eq!(lines[5]["verdict"], "accept");
    assert_eq!(lines[8]["op"], "finish");
    assert_eq!(lines[8]["summary"]["lines"][3]["received"], 20);
    assert_eq!(lines[9]["state"], "logged_out");

    // The same script from stdin gives the same states.
    let dir2 = tempfile::tempdir().unwrap();
    let db2 = fixture_db(dir2.path());
    let o2 = lotline_in(
        &[
            "run-script",
            "--db",
            db2.to_str().unwrap(),
            "--now",
            NOW,
            "--script",
            "-",
        ],
        Some(RECEIPT),
    );
    let states: Vec<Value> = json_lines(&stdout(&o2)).iter().map(|l| l["state"].clone()).collect();
    assert_eq!(states, lines.iter().map(|l| l["state"].clone()).collect::<Vec<_>>());

    // stock: filtered, JSON lines in the documented shape.
    let o = lotline(&["stock", "--db", db_s, "--item", "F200"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = json_lines(&stdout(&o));
    assert_eq!(
        rows,
        vec![
            serde_json::json!({"location": "A-02", "item": "F200", "lot": "R-NEW1", "qty": 60, "status": "released"}),
            serde_json::json!({"location": "A-02", "item": "F200", "lot": "R-NEW2", "qty": 40, "status": "released"}),
        ]
    );
    let o = lotline(&["stock", "--db", db_s, "--location", "C-01", "--lot", "M-1"]);
    assert_eq!(json_lines(&stdout(&o)).len(), 1);

    // outbox list: the commands, gapless seq from 1, UUIDv7 ids, one device.
    let o = lotline(&["outbox", "list", "--db", db_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cmds = json_lines(&stdout(&o));
    let types: Vec<&str> = cmds.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "login",
            "task_started",
            "scan",
            "receive",
            "putaway",
            "putaway",
            "scan",
            "receive",
            "putaway",
            "task_finished",
            "logout"
        ]
    );
    for (i, c) in cmds.iter().enumerate() {
        assert_eq!(c["seq"], i + 1);
        assert_eq!(c["schema_version"], 1);
        assert_eq!(c["device_id"], cmds[0]["device_id"]);
        assert_eq!(c["created_at"], "2026-12-01T09:00:00.000+08:00");
        let id = c["id"].as_str().unwrap();
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7, "{id}");
        assert!(c["payload"].is_object());
    }
    assert_eq!(cmds[3]["operator"], "recv1");
    assert_eq!(cmds[3]["payload"]["lines"][0]["lot"], "R-NEW1");

    // outbox export: the unsent commands, as the protocol's envelopes, in a file for the hub.
    let file = dir.path().join("stick").join("outbox.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let o = lotline(&["outbox", "export", "--db", db_s, "--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = &json_lines(&stdout(&o))[0];
    assert_eq!(said["commands"], 11);
    assert_eq!(
        (said["first_seq"].clone(), said["last_seq"].clone()),
        (1.into(), 11.into())
    );
    let exported: lotline_protocol::OutboxFile = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(exported.check(), Ok(()));
    assert_eq!(exported.device_id, cmds[0]["device_id"]);
    assert_eq!(exported.commands.len(), 11);
    for (e, c) in exported.commands.iter().zip(&cmds) {
        assert_eq!(e.id, c["id"].as_str().unwrap());
        assert_eq!(e.seq, c["seq"].as_i64().unwrap());
        assert_eq!(e.kind, c["type"].as_str().unwrap());
        assert_eq!(e.payload, c["payload"]);
    }
    // A folder that is not there is an error naming the file; nothing is written.
    let o = lotline(&[
        "outbox",
        "export",
        "--db",
        db_s,
        "--out",
        "/nonexistent-dir/outbox.json",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent-dir/outbox.json"), "{}", stderr(&o));

    // audit verify: exit 0 with the count.
    let o = lotline(&["audit", "verify", "--db", db_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("11 entries checked"), "{}", stdout(&o));

    // audit export, both formats.
    let csv = dir.path().join("audit.csv");
    let o = lotline(&[
        "audit",
        "export",
        "--db",
        db_s,
        "--out",
        csv.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 12, "a header and 11 entries");
    assert!(text.starts_with("id,counter,at,device_id,operator,authorised_by,action,"));
    let js = dir.path().join("audit.json");
    let o = lotline(&[
        "audit",
        "export",
        "--db",
        db_s,
        "--out",
        js.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 11);
    assert_eq!(v[3]["action"], "receive");
    assert_eq!(v[3]["operator"], "recv1");
}

#[test]
fn run_script_answers_bad_lines_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_db(dir.path());
    let script = "not json\n{\"op\":\"fly\"}\n\n{\"data\":\"x\"}\n{\"op\":\"scan\"}\n{\"op\":\"login\",\"operator\":\"recv1\",\"pin\":\"1111\"}\n";
    let o = lotline_in(
        &["run-script", "--db", db.to_str().unwrap(), "--script", "-"],
        Some(script),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&stdout(&o));
    let codes: Vec<&str> = lines
        .iter()
        .map(|l| l["error"]["code"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(codes, ["bad_op", "unknown_op", "bad_op", "bad_op", "-"]);
    assert!(lines[0]["error"]["message_zh"].as_str().unwrap().contains("JSON"));
    assert_eq!(lines[4]["state"], "home");
    // A missing database is one error, not a crash.
    let o = lotline_in(
        &[
            "run-script",
            "--db",
            dir.path().join("none.db").to_str().unwrap(),
            "--script",
            "-",
        ],
        Some(""),
    );
    assert_eq!(o.status.code(), Some(1));
}

/// Tampers with the audit log by SQL on the file, as someone with the file and a SQLite shell
/// could, and expects `audit verify` to exit 1 naming the entry.
#[test]
fn audit_verify_finds_every_kind_of_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture_db(dir.path());
    let o = lotline_in(
        &[
            "run-script",
            "--db",
            base.to_str().unwrap(),
            "--now",
            NOW,
            "--script",
            "-",
        ],
        Some(RECEIPT),
    );
    assert!(o.status.success());
    let cases: [(&str, &str, &str); 6] = [
        (
            "edit",
            "UPDATE audit_log SET operator = 'mallory' WHERE counter = 4",
            "#4 (row 4) was edited",
        ),
        (
            "edit the reason",
            "UPDATE audit_log SET after = '[]' WHERE counter = 10",
            "#10 (row 10) was edited",
        ),
        (
            "delete",
            "DELETE FROM audit_log WHERE counter = 5",
            "#5–#5 were deleted",
        ),
        (
            "delete the last",
            "DELETE FROM audit_log WHERE counter = 11",
            "#11–#11 were deleted",
        ),
        (
            "insert",
            "INSERT INTO audit_log(id, counter, at, device_id, operator, action, reasons, prev_hash, hash)
             SELECT 100, 12, at, device_id, 'mallory', 'receive', '[]', hash, hash FROM audit_log WHERE counter = 11",
            "#12 (row 100) was inserted",
        ),
        (
            "reorder",
            "UPDATE audit_log SET id = -id WHERE counter IN (6, 7);
             UPDATE audit_log SET id = 7 WHERE id = -6; UPDATE audit_log SET id = 6 WHERE id = -7;",
            "#7 (row 6) is out of order",
        ),
    ];
    for (name, sql, want) in cases {
        let db = dir.path().join(format!("{}.db", name.replace(' ', "-")));
        std::fs::copy(&base, &db).unwrap();
        rusqlite::Connection::open(&db).unwrap().execute_batch(sql).unwrap();
        let o = lotline(&["audit", "verify", "--db", db.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(err.contains(want), "{name}: {err}");
        assert!(
            err.lines().count() >= 2 && err.contains("审计记录"),
            "{name}: both languages: {err}"
        );
    }
    let o = lotline(&["audit", "verify", "--db", base.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn next_line(r: &mut impl BufRead) -> Value {
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s:?}"))
}

/// Kills `run-script` right after each confirmation is shown, 20 times: every confirmed receipt
/// is in the cache, the outbox and the audit chain.
#[test]
fn a_process_killed_right_after_a_confirmation_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_db(dir.path());
    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lotline"))
            .env("LOTLINE_CONFIG", "")
            .args([
                "run-script",
                "--db",
                db.to_str().unwrap(),
                "--today",
                "2026-12-01",
                "--script",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let ops = [
            r#"{"op":"login","operator":"recv1","pin":"1111"}"#.to_owned(),
            r#"{"op":"start","gate":"receive"}"#.to_owned(),
            format!(r#"{{"op":"scan","data":"(01)06901234500028(17)271130(10)K-{round}(30)7"}}"#),
            r#"{"op":"confirm"}"#.to_owned(),
        ];
        let mut last = Value::Null;
        for op in &ops {
            writeln!(stdin, "{op}").unwrap();
            stdin.flush().unwrap();
            last = next_line(&mut out);
            assert_eq!(last["ok"], true, "round {round}: {last}");
        }
        assert_eq!(last["state"], "receive.putaway");
        // The confirmation is on screen: pull the battery.
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let o = lotline(&[
        "stock",
        "--db",
        db.to_str().unwrap(),
        "--item",
        "F200",
        "--location",
        "DOCK-1",
    ]);
    let rows = json_lines(&stdout(&o));
    assert_eq!(rows.len(), ROUNDS, "{}", stdout(&o));
    assert!(rows.iter().all(|r| r["qty"] == 7));
    let o = lotline(&["outbox", "list", "--db", db.to_str().unwrap()]);
    let cmds = json_lines(&stdout(&o));
    assert_eq!(cmds.iter().filter(|c| c["type"] == "receive").count(), ROUNDS);
    assert_eq!(cmds.len(), ROUNDS * 4);
    assert!(cmds.iter().enumerate().all(|(i, c)| c["seq"] == i + 1), "gapless");
    let o = lotline(&["audit", "verify", "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("{} entries checked", ROUNDS * 4)));
    assert!(Path::new(&db).exists());
}
