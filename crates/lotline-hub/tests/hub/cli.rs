//! The command line as scripts use it: output on stdout, errors in English then Chinese on
//! stderr with a non-zero exit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::common::*;

/// The hub's command line, with no configuration file unless a test gives one.
fn hub() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lotline-hub"));
    c.env("LOTLINE_HUB_CONFIG", "");
    c
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

/// Reads the first line `serve` prints (its URL), then stops it.
fn served_url(mut cmd: Command) -> String {
    let mut child = cmd
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    first.trim().to_string()
}

#[test]
fn the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let master = dir.path().join("master.json");
    std::fs::write(&master, MASTER).unwrap();

    // A broken file: every problem, FILE:LINE: key: problem, English then Chinese, exit 1.
    let bad = dir.path().join("broken.toml");
    std::fs::write(
        &bad,
        "[serve]\nlisten = \"0.0.0.0\"\nallow_plain_http = \"yes\"\ntls_cert = \"/etc/lotline/hub-cert.pem\"\n[database]\nurl = \"/srv/hub.db\"\nuser = \"hub\"\n",
    )
    .unwrap();
    let out = hub().args(["config", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    let b = bad.display();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[..4],
        [
            format!(
                "{b}:2: serve.listen: '0.0.0.0' is not ADDRESS:PORT (such as \"0.0.0.0:8443\", \"[::]:8443\" or \"localhost:8443\")"
            ),
            format!("{b}:3: serve.allow_plain_http: must be true or false (without quotes), not text"),
            format!("{b}:4: serve.tls_cert: needs serve.tls_key too: HTTPS takes the certificate and its private key"),
            format!("{b}:7: database.user: unknown key (section [database] has url)"),
        ],
        "{err}"
    );
    assert_eq!(lines.len(), 8, "each problem in Chinese too: {err}");
    assert_eq!(
        lines[7],
        format!("{b}:7: database.user: 未知的键（节 [database] 可有 url）")
    );
    // A missing file is a problem too.
    let out = hub()
        .args(["config", "check"])
        .arg(dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none.toml: (file): cannot be read"));
    // A broken file in effect stops every command before it touches the database.
    let out = hub()
        .arg("--config")
        .arg(&bad)
        .args(["enroll", "--site", "S1", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with(&format!("lotline-hub: {b}:2: serve.listen: ")), "{err}");
    assert!(err.contains("lotline-hub: ") && err.contains("未知的键"), "{err}");
    assert!(!db.exists(), "nothing was made");

    // A good file: the database and the listening address come from it.
    let good = dir.path().join("lotline-hub.toml");
    std::fs::write(
        &good,
        format!(
            "[database]\nurl = \"{}\"\n[serve]\nlisten = \"127.0.0.1:0\"\nallow_plain_http = false\n[log]\nlevel = \"warn\"\n",
            db.display()
        ),
    )
    .unwrap();
    let out = hub().args(["config", "check"]).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}: valid / 有效\n", good.display())
    );
    // Without FILE, `config check` checks the file in effect.
    let out = hub()
        .arg("--config")
        .arg(&good)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = hub()
        .env("LOTLINE_HUB_CONFIG", &bad)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let out = hub()
        .arg("--config")
        .arg(&good)
        .arg("import")
        .arg(&master)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(db.exists(), "the file's database");
    // $LOTLINE_HUB_CONFIG names the file as well.
    let out = hub()
        .env("LOTLINE_HUB_CONFIG", &good)
        .args(["enroll", "--site", "S1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim().len(), 14);
    // Without a file and without --db: what to do, in both languages.
    let out = hub().args(["enroll", "--site", "S1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--db is required") && err.contains("需要 --db"), "{err}");

    let mut serve = hub();
    serve.arg("--config").arg(&good).arg("serve");
    let url = served_url(serve);
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    // Flags override the file: another address (plain HTTP there is refused, as the file does
    // not allow it), and --allow-plain-http on top of the file's false.
    let out = hub()
        .arg("--config")
        .arg(&good)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing plain HTTP on 0.0.0.0:0"));
    let mut serve = hub();
    serve
        .arg("--config")
        .arg(&good)
        .args(["serve", "--listen", "0.0.0.0:0", "--allow-plain-http"]);
    let url = served_url(serve);
    assert!(url.starts_with("http://0.0.0.0:"), "{url:?}");
}
