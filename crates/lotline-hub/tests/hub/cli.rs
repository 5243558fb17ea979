//! The command line as scripts use it: output on stdout, errors in English then Chinese on
//! stderr with a non-zero exit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::common::*;

fn hub() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lotline-hub"))
}

#[test]
fn the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db").display().to_string();
    let master = dir.path().join("master.json");
    std::fs::write(&master, MASTER).unwrap();
    let out = hub().args(["import", "--db", &db]).arg(&master).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["lots"], 3);

    let bad = dir.path().join("stock.csv");
    std::fs::write(&bad, "location,item,lot,qty\nA-01,F200,L2311,-5\n").unwrap();
    let out = hub().args(["import", "--db", &db]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with("lotline-hub: ") && lines[0].contains("nothing was imported"),
        "{err}"
    );
    assert!(err.contains(&format!("{}:2: qty", bad.display())), "{err}");
    assert!(err.contains("未导入任何数据"), "{err}");

    let out = hub().args(["enroll", "--db", &db, "--site", "S1"]).output().unwrap();
    let code = String::from_utf8(out.stdout).unwrap();
    assert_eq!(code.trim().len(), 14, "only the code: {code:?}");

    let out = hub()
        .args([
            "lot",
            "--db",
            &db,
            "--lot",
            "L2311",
            "--gtin",
            "06901234500028",
            "--status",
            "on_hold",
        ])
        .args(["--reason", "check"])
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (info["status"].as_str(), info["status_reason"].as_str()),
        (Some("on_hold"), Some("check"))
    );
    let out = hub()
        .args(["trace", "--db", &db, "--lot", "L2311", "--json"])
        .output()
        .unwrap();
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(t["lots"][0]["history"][1]["status"], "on_hold");

    let out = hub()
        .args(["serve", "--db", &db, "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-plain-http"));

    let mut child = hub()
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    let health: serde_json::Value = ureq::get(&format!("{url}/v1/health"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(health["status"], "ok");
    child.kill().unwrap();
    child.wait().unwrap();

    let out = hub().args(["export", "--db", &db, "--format", "csv"]).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().next(),
        Some("cursor,id,device_id,seq,type,payload,created_at,operator,applied_at")
    );
}
