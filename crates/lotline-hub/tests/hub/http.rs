//! The HTTP API on an embedded hub: auth, uploads, pages, lots, metrics.

use std::io::Read as _;

use lotline_hub::{EmbeddedHub, Store};
use lotline_protocol::sync::{EnrollResponse, UploadResponse};
use serde_json::{Value, json};

use super::common::*;

fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = ureq::request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn upload(url: &str, token: &str, device: &str, schema: u32, cmds: Value) -> (u16, Value) {
    call(
        "POST",
        &format!("{url}/v1/commands"),
        Some(token),
        Some(json!({"device_id": device, "schema_version": schema, "commands": cmds})),
    )
}

fn enroll(store: &Store, url: &str, site: &str) -> EnrollResponse {
    let code = lotline_hub::enroll_code(store, site, chrono::Duration::hours(1)).unwrap();
    let (s, v) = call(
        "POST",
        &format!("{url}/v1/enroll"),
        None,
        Some(json!({"code": code, "name": "hh", "schema_version": 1, "protocol_version": 1})),
    );
    assert_eq!(s, 200, "{v}");
    let again = call(
        "POST",
        &format!("{url}/v1/enroll"),
        None,
        Some(json!({"code": code, "schema_version": 1, "protocol_version": 1})),
    );
    assert_eq!(again.0, 403);
    assert_eq!(again.1["error"], "code_unknown");
    serde_json::from_value(v).unwrap()
}

#[test]
fn the_api_checks_who_calls() {
    for db in dbs("http") {
        let store = seeded(&db);
        let hub = EmbeddedHub::start(store.clone(), "127.0.0.1:0").unwrap();
        let url = hub.url.clone();
        let a = enroll(&store, &url, "S1");
        let b = enroll(&store, &url, "S2");

        // 401: no token, a wrong one.
        let (s, v) = call("GET", &format!("{url}/v1/buckets"), None, None);
        assert_eq!((s, v["error"].as_str()), (401, Some("unauthorized")), "{}", db.name);
        assert!(!v["message_zh"].as_str().unwrap().is_empty());
        let (s, _) = call("GET", &format!("{url}/v1/buckets"), Some("nope"), None);
        assert_eq!(s, 401);

        // Own buckets; another site's is 403.
        let (s, v) = call("GET", &format!("{url}/v1/buckets"), Some(&a.token), None);
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["buckets"][1]["name"], "site:S1");
        let (s, v) = call(
            "GET",
            &format!("{url}/v1/buckets/site:S2/changes?after=0"),
            Some(&a.token),
            None,
        );
        assert_eq!((s, v["error"].as_str()), (403, Some("forbidden")));
        let (s, v) = call(
            "GET",
            &format!("{url}/v1/buckets/site:S1/changes?after=0&limit=2"),
            Some(&a.token),
            None,
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["changes"].as_array().unwrap().len(), 2);
        assert_eq!(v["more"], true);
        // The page as served is the library's page.
        let (_, v) = call(
            "GET",
            &format!("{url}/v1/buckets/global/changes?after=3&limit=4"),
            Some(&a.token),
            None,
        );
        let served: lotline_protocol::sync::ChangePage = serde_json::from_value(v).unwrap();
        assert_eq!(
            served,
            lotline_hub::changes(&store, &a.device_id, "global", 3, None, 4).unwrap()
        );

        // Uploads: as another device 403, old schema 426, too many 413.
        let one = json!([serde_json::to_value(putaway(&b.device_id, 1, 1)).unwrap()]);
        let (s, v) = upload(&url, &a.token, &b.device_id, 1, one);
        assert_eq!((s, v["error"].as_str()), (403, Some("forbidden")));
        store.set_min_schema_version(2);
        let mine = json!([serde_json::to_value(putaway(&a.device_id, 1, 1)).unwrap()]);
        let (s, v) = upload(&url, &a.token, &a.device_id, 1, mine.clone());
        assert_eq!((s, v["error"].as_str()), (426, Some("update_required")));
        assert_eq!(v["min_schema_version"], 2);
        store.set_min_schema_version(1);
        let many: Vec<Value> = (1..=501)
            .map(|s| serde_json::to_value(scan(&a.device_id, s)).unwrap())
            .collect();
        let (s, v) = upload(&url, &a.token, &a.device_id, 1, Value::Array(many));
        assert_eq!((s, v["error"].as_str()), (413, Some("payload_too_large")));

        // A gzip upload is applied.
        let body =
            serde_json::to_vec(&json!({"device_id": a.device_id, "schema_version": 1, "commands": mine})).unwrap();
        let resp = ureq::post(&format!("{url}/v1/commands"))
            .set("Authorization", &format!("Bearer {}", a.token))
            .set("Content-Type", "application/json")
            .set("Content-Encoding", "gzip")
            .send_bytes(&lotline_hub::bench::gzip(&body))
            .unwrap();
        let r: UploadResponse = resp.into_json().unwrap();
        assert_eq!(r.recorded_through, 1);
        assert_eq!(stock(&store, "L2311", "DOCK-1"), 1);

        // Lots: any token reads; only the admin's sets.
        let (s, v) = call(
            "GET",
            &format!("{url}/v1/lots/6901234500028/L2311"),
            Some(&b.token),
            None,
        );
        assert_eq!(
            (s, v["status"].as_str(), v["gtin"].as_str()),
            (200, Some("released"), Some("06901234500028"))
        );
        let (s, _) = call(
            "GET",
            &format!("{url}/v1/lots/6901234500028/NOPE"),
            Some(&b.token),
            None,
        );
        assert_eq!(s, 404);
        let recall = json!({"gtin": "06901234500028", "lot": "L2311", "status": "recalled", "reason": "supplier"});
        let (s, _) = call(
            "POST",
            &format!("{url}/v1/lot-status"),
            Some(&a.token),
            Some(recall.clone()),
        );
        assert_eq!(s, 403);
        let admin = lotline_hub::admin_token(&store, "qa").unwrap();
        let (s, v) = call("POST", &format!("{url}/v1/lot-status"), Some(&admin), Some(recall));
        assert_eq!(
            (s, v["status"].as_str(), v["status_changed_by"].as_str()),
            (200, Some("recalled"), Some("qa"))
        );

        let (s, v) = call("GET", &format!("{url}/v1/nothing"), Some(&a.token), None);
        assert_eq!((s, v["error"].as_str()), (404, Some("not_found")));

        // Health, the API description, metrics (gzip when asked for).
        let (s, v) = call("GET", &format!("{url}/v1/health"), None, None);
        assert_eq!((s, v["status"].as_str()), (200, Some("ok")));
        let (s, v) = call("GET", &format!("{url}/openapi.yaml"), None, None);
        assert_eq!(s, 200);
        assert!(v.as_str().unwrap().starts_with("openapi: 3"));
        let resp = ureq::get(&format!("{url}/metrics"))
            .set("Accept-Encoding", "gzip")
            .call()
            .unwrap();
        let mut text = String::new();
        resp.into_reader().read_to_string(&mut text).unwrap();
        assert!(
            text.contains("lotline_hub_commands_total{outcome=\"applied\"} 1"),
            "{text}"
        );
        assert!(text.contains("lotline_hub_devices 2"), "{text}");
        assert!(text.contains(&format!(
            "lotline_hub_device_last_seen_seconds{{device=\"{}\",site=\"S1\"}}",
            a.device_id
        )));
        assert!(text.contains("lotline_hub_queue_lag_seconds_count 1"), "{text}");
        hub.stop();
    }
}

/// HTTPS with a certificate and key from PEM files (`serve --tls-cert --tls-key`).
#[cfg(feature = "tls")]
#[test]
fn https_with_a_certificate() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;

    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let config = lotline_hub::tls::server_config(&cert, &key).unwrap();
    assert!(
        lotline_hub::tls::server_config(&key, &key).is_err(),
        "a key is no certificate"
    );
    let store = Store::open(&dir.path().join("hub.db").display().to_string()).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(lotline_hub::tls::serve_tls(store, listener, config));

        let mut roots = rustls::RootCertStore::empty();
        roots.add(ck.cert.der().clone()).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut resp = String::new();
        tls.read_to_string(&mut resp).await.unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(resp.contains("\"status\":\"ok\""), "{resp}");

        // Plain HTTP on the HTTPS port gets no answer.
        let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
        plain
            .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = plain.read_to_end(&mut buf).await;
        assert!(!String::from_utf8_lossy(&buf).contains("\"status\":\"ok\""));
    });
}

/// `lotline_hub_device_queue_lag_seconds{device,site}`: the newest applied command's wait, read
/// from the store (a rejected command after it does not count).
#[test]
fn each_device_s_queue_lag_is_a_gauge() {
    use lotline_protocol::sync::Outcome;
    for db in dbs("lag_gauge") {
        let store = seeded(&db);
        let (a, _) = device(&store, "S1");
        let (b, _) = device(&store, "S1");
        let ago = |s: i64| {
            (chrono::Utc::now() - chrono::Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        let mut first = scan(&a, 1);
        first.created_at = ago(90);
        lotline_hub::set_lot_status(&store, "06901234500028", "L2312", "recalled", None, "qa").unwrap();
        let mut refused = pick(&a, 2, "L2312", 1);
        refused.created_at = ago(5000);
        let r = lotline_hub::apply_batch(&store, &a, &[first, refused]).unwrap();
        assert!(matches!(r.outcomes[0].outcome, Outcome::Applied { .. }));
        assert!(matches!(r.outcomes[1].outcome, Outcome::Rejected { .. }));
        let text = lotline_hub::metrics::render(&store).unwrap();
        assert!(
            text.contains("# TYPE lotline_hub_device_queue_lag_seconds gauge"),
            "{text}"
        );
        let prefix = format!("lotline_hub_device_queue_lag_seconds{{device=\"{a}\",site=\"S1\"}} ");
        let line = text.lines().find(|l| l.starts_with(&prefix)).expect(&text);
        let lag: f64 = line[prefix.len()..].parse().unwrap();
        assert!((89.0..150.0).contains(&lag), "{} lag {lag}", db.name);
        assert!(
            !text.contains(&format!("lotline_hub_device_queue_lag_seconds{{device=\"{b}\"")),
            "no applied command, no gauge: {text}"
        );
    }
}
