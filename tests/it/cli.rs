//! The command line as later checks use it: `check`, `demo-data`, `import`, `screenshot`.

use serde_json::Value;

use crate::{demo_db, lotline, lotline_in, stderr, stdout};

const TODAY: &str = "2026-11-21";

fn check(db: &std::path::Path, gate: &str, extra: &[&str], scans: &[&str]) -> Vec<Value> {
    let mut args = vec!["check", "--db", db.to_str().unwrap(), "--gate", gate, "--today", TODAY];
    args.extend_from_slice(extra);
    args.extend_from_slice(scans);
    let o = lotline(&args);
    assert!(o.status.success(), "check failed: {}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn codes(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn version_and_help() {
    let o = lotline(&["--version"]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("lotline "), "{}", stdout(&o));
    let o = lotline(&["--help"]);
    for word in ["demo-data", "import", "check", "screenshot", "bench"] {
        assert!(stdout(&o).contains(word), "help lacks {word}");
    }
}

#[test]
fn demo_scans_get_their_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), 500, TODAY);
    let store = lotline::store::Store::open(&db).unwrap();
    let scans = lotline::store::demo::stored_scans(&store).unwrap();
    drop(store);
    let want: &[(&str, &str, &[&str])] = &[
        ("OK to pick", "accept", &[]),
        ("Expired", "reject", &["expired"]),
        ("Near expiry", "warn", &["near_expiry"]),
        ("FEFO", "warn", &["fefo_violation"]),
        ("Quarantined", "reject", &["quarantined"]),
        ("Recalled", "reject", &["recalled"]),
        ("On hold", "reject", &["on_hold"]),
        ("New lot", "accept", &[]),
        ("Unknown item", "reject", &["unknown_item"]),
        ("Damaged label", "reject", &["invalid_barcode"]),
    ];
    assert_eq!(scans.len(), want.len());
    for (label, verdict, reason_codes) in want {
        let s = scans
            .iter()
            .find(|s| s.label_en == *label)
            .unwrap_or_else(|| panic!("no demo scan {label}"));
        let out = check(&db, &s.gate, &[], &[&s.scan]);
        assert_eq!(out.len(), 1);
        let v = &out[0];
        assert_eq!(v["scan"], s.scan.as_str());
        assert_eq!(v["verdict"], *verdict, "{label}: {v}");
        assert_eq!(codes(v), *reason_codes, "{label}: {v}");
        for r in v["reasons"].as_array().unwrap() {
            assert!(!r["message_en"].as_str().unwrap().is_empty() && !r["message_zh"].as_str().unwrap().is_empty());
        }
    }
    // The expired lot explains itself exactly.
    let expired = scans.iter().find(|s| s.label_en == "Expired").unwrap();
    let v = &check(&db, "pick", &[], &[&expired.scan])[0];
    assert_eq!(
        v["reasons"][0]["message_en"],
        "Lot L2311 expired 3 days ago (2026-11-18)"
    );
    assert_eq!(v["reasons"][0]["message_zh"], "批次 L2311 已过期 3 天(2026-11-18)");
    assert_eq!(v["item"]["id"], "F001");
    assert_eq!(v["lot"]["status"], "released");
    assert_eq!(v["lot"]["expiry"], "2026-11-18");
    // A new lot at receipt is accepted and goes to quarantine (the item needs QC).
    let new_lot = scans.iter().find(|s| s.label_en == "New lot").unwrap();
    let v = &check(&db, "receive", &[], &[&new_lot.scan])[0];
    assert_eq!(v["lot"], Value::Null);
    assert_eq!(v["notes"][0]["code"], "new_lot");
    // The same new lot at pick is unknown.
    assert_eq!(codes(&check(&db, "pick", &[], &[&new_lot.scan])[0]), ["unknown_lot"]);
}

#[test]
fn scan_forms_raw_bracketed_symbology_and_gs() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), 200, TODAY);
    let gtin = lotline::store::demo::demo_gtin(18); // M001
    let bracketed = format!("(01){gtin}(10)S240601");
    let raw_gs_text = format!("]d201{gtin}10S240601\\x1d21SN001");
    let raw_gs_byte = format!("]C101{gtin}10S240601\u{1d}21SN001");
    let raw_lot_last = format!("]d201{gtin}10S240601");
    let out = check(
        &db,
        "pick",
        &[],
        &[&bracketed, &raw_gs_text, &raw_gs_byte, &raw_lot_last],
    );
    assert_eq!(out.len(), 4);
    for v in &out {
        assert_eq!(v["verdict"], "accept", "{v}");
        assert_eq!(v["item"]["id"], "M001", "{v}");
        assert_eq!(v["lot"]["lot"], "S240601", "{v}");
    }
    assert_eq!(out[2]["scan"], format!("]C101{gtin}10S240601<GS>21SN001"));
}

#[test]
fn bad_scans_are_rejected_with_the_raw_input_shown_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), 100, TODAY);
    let inputs = [
        "(01)09501101530004(10)A",
        "(17)261131(10)A",
        "]d2",
        "(99",
        "\u{1}\u{2}\u{3}",
        "(01)123",
    ];
    let out = check(&db, "pick", &[], &inputs);
    assert_eq!(out.len(), inputs.len());
    for (v, input) in out.iter().zip(inputs) {
        assert_eq!(v["verdict"], "reject", "{input}: {v}");
        let c = codes(v);
        assert!(c == ["invalid_barcode"] || c == ["unknown_item"], "{input}: {v}");
        if c == ["invalid_barcode"] {
            assert!(
                v["reasons"][0]["message_en"]
                    .as_str()
                    .unwrap()
                    .contains(v["scan"].as_str().unwrap()),
                "{v}"
            );
        }
    }
}

#[test]
fn customer_minimum_shelf_life_at_pick() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), 100, TODAY);
    let gtin = lotline::store::demo::demo_gtin(10); // P001, lot A2503 expires in 600 days
    let scan = format!("(01){gtin}(10)A2503");
    assert_eq!(
        check(&db, "pick", &["--customer", "C003"], &[&scan])[0]["verdict"],
        "accept"
    ); // needs 365
    let gtin = lotline::store::demo::demo_gtin(0); // F001 L2402 expires in 25 days
    let scan = format!("(01){gtin}(10)L2402");
    let v = &check(&db, "pick", &["--customer", "C002"], &[&scan])[0]; // needs 30
    assert_eq!(codes(v), ["below_min_shelf_life"], "{v}");
    // The lot the customer can take is not a FEFO breach because of the one they cannot: without
    // a customer the earlier L2402 makes L2405 a fefo_violation, for C002 it is the FEFO lot.
    let later = format!("(01){gtin}(10)L2405");
    let v = &check(&db, "pick", &[], &[&later])[0];
    assert_eq!(codes(v), ["fefo_violation"], "{v}");
    assert!(v["reasons"][0]["message_en"].as_str().unwrap().contains("L2402"), "{v}");
    let v = &check(&db, "pick", &["--customer", "C002"], &[&later])[0];
    assert_eq!(v["verdict"], "accept", "{v}");
    let o = lotline(&[
        "check",
        "--db",
        db.to_str().unwrap(),
        "--gate",
        "pick",
        "--customer",
        "NOPE",
        &scan,
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("customer 'NOPE'"), "{}", stderr(&o));
}

#[test]
fn a_task_limits_the_items_and_brings_its_customer() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), 100, TODAY);
    let milk = format!("(01){}(10)L2405", lotline::store::demo::demo_gtin(0));
    let syringe = format!("(01){}(10)S240601", lotline::store::demo::demo_gtin(18));
    let out = check(&db, "pick", &["--task", "PK-0001"], &[&milk, &syringe]);
    assert_eq!(codes(&out[0]), ["wrong_item"], "{}", out[0]);
    assert_eq!(out[1]["verdict"], "accept");
    // PK-0002 is for Fresh Mart (30 days): lot L2402 has 25 left.
    let l2402 = format!("(01){}(10)L2402", lotline::store::demo::demo_gtin(0));
    assert_eq!(
        codes(&check(&db, "pick", &["--task", "PK-0002"], &[&l2402])[0]),
        ["below_min_shelf_life"]
    );
    let o = lotline(&[
        "check",
        "--db",
        db.to_str().unwrap(),
        "--gate",
        "pick",
        "--task",
        "NOPE",
        &milk,
    ]);
    assert!(stderr(&o).contains("task 'NOPE'"), "{}", stderr(&o));
}

#[test]
fn check_reads_stdin_when_no_scan_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), 100, TODAY);
    let gtin = lotline::store::demo::demo_gtin(18);
    let input = format!("(01){gtin}(10)S240601\r\n\n(01){gtin}(10)S240115\n");
    let o = lotline_in(
        &[
            "check",
            "--db",
            db.to_str().unwrap(),
            "--gate",
            "pick",
            "--today",
            TODAY,
        ],
        Some(&input),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "one answer per input line");
    assert_eq!(lines[0]["verdict"], "accept");
    assert_eq!(lines[1]["error"]["code"], "empty_line");
    assert_eq!(lines[2]["verdict"], "reject");
}

#[test]
fn missing_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.db");
    let o = lotline(&[
        "check",
        "--db",
        db.to_str().unwrap(),
        "--gate",
        "pick",
        "(01)09501101530003(10)A",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("missing.db") && e.contains("does not exist") && e.contains("demo-data"),
        "{e}"
    );
    assert!(!db.exists());
    let o = lotline(&["check", "--gate", "pick", "x"]);
    assert!(stderr(&o).contains("--db"), "{}", stderr(&o));
}

#[test]
fn import_command_reports_rows_and_writes_nothing_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("imp.db");
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"items":[{"id":"X1","name_en":"Rice","name_zh":"大米","gtins":["9501101530003"],"category":"food","shelf_life_days":365,"min_remaining_days_receipt":90,"near_expiry_days":[60,30,7],"requires_qc":false,"serialized":false,"regulated":false}],
            "lots":[{"item":"X1","lot":"R1","expiry":"2027-06-01","production_date":"2026-06-01","status":"released"}],
            "locations":[{"code":"A-01","warehouse":"WH1","zone":"A"}],
            "stock":[{"location":"A-01","item":"X1","lot":"R1","qty":5}],
            "customers":[{"id":"C1","name":"Shop","min_remaining_days":30}]}"#,
    )
    .unwrap();
    let o = lotline(&["import", "--db", db.to_str().unwrap(), good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sum: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(sum["items"], 1);
    assert_eq!(sum["stock"], 1);
    let v = &check(&db, "pick", &[], &["(01)09501101530003(17)270601(10)R1"])[0];
    assert_eq!(v["verdict"], "accept", "{v}");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"lots":[{"item":"X1","lot":"R2","expiry":"2027-02-30"}],"stock":[{"location":"A-99","item":"X1","lot":"R1","qty":1}]}"#).unwrap();
    let o = lotline(&["import", "--db", db.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("lots[0].expiry (R2): \"2027-02-30\" is not a date"), "{e}");
    assert!(
        e.contains("stock[0].location (R1): location 'A-99' is not defined"),
        "{e}"
    );
    assert!(e.contains("nothing was imported"), "{e}");
    let v = &check(&db, "pick", &[], &["(01)09501101530003(10)R2"])[0];
    assert_eq!(codes(v), ["unknown_lot"], "R2 must not have been imported");
}

/// Reads a PNG written by `lotline screenshot`.
fn read_png(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn pixel(img: &(u32, u32, Vec<u8>), x: u32, y: u32) -> [u8; 3] {
    let i = ((y * img.0 + x) * 4) as usize;
    [img.2[i], img.2[i + 1], img.2[i + 2]]
}

/// Dark pixels ("ink") in a rectangle.
fn ink(img: &(u32, u32, Vec<u8>), x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
    let mut n = 0;
    for y in y0..y1.min(img.1) {
        for x in x0..x1.min(img.0) {
            let [r, g, b] = pixel(img, x, y);
            if (r as u32 + g as u32 + b as u32) < 200 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn screenshots_render_chinese_with_the_embedded_font_and_a_red_banner() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), 100, TODAY);
    let shot = |lang: &str, screen: &str, scan: Option<&str>, size: &str| {
        let out = dir.path().join(format!("{screen}-{lang}-{size}.png"));
        let mut args = vec![
            "screenshot",
            "--db",
            db.to_str().unwrap(),
            "--screen",
            screen,
            "--lang",
            lang,
            "--size",
            size,
            "--today",
            TODAY,
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(s) = scan {
            args.extend_from_slice(&["--scan", s]);
        }
        let o = lotline(&args);
        assert!(o.status.success(), "screenshot failed: {}", stderr(&o));
        read_png(&out)
    };
    let zh = shot("zh", "home", None, "720x1280");
    let en = shot("en", "home", None, "720x1280");
    assert_eq!((zh.0, zh.1), (720, 1280));
    // The gate tiles' titles sit in the upper half; with system fonts hidden, Chinese glyphs only
    // appear if the embedded CJK font is used. Both languages must put real ink there.
    let (zh_ink, en_ink) = (ink(&zh, 0, 250, 720, 700), ink(&en, 0, 250, 720, 700));
    assert!(
        zh_ink > 1000,
        "Chinese home screen has almost no text ({zh_ink} dark pixels): is the CJK font embedded?"
    );
    assert!(en_ink > 1000, "English home screen has almost no text ({en_ink})");
    assert_ne!(zh.2, en.2, "switching language must change the pixels");

    let expired = format!("(01){}(17)261118(10)L2311", lotline::store::demo::demo_gtin(0));
    let scan = shot("zh", "scan", Some(&expired), "480x800");
    assert_eq!((scan.0, scan.1), (480, 800));
    // The verdict banner spans the full width just below the header: red for a reject.
    let row = 300;
    let reds = (0..480).filter(|&x| {
        let [r, g, b] = pixel(&scan, x, row);
        r > 150 && g < 80 && b < 80
    });
    assert!(reds.count() > 300, "no red verdict banner across the width at y={row}");
    let ok = format!("(01){}(10)S240601", lotline::store::demo::demo_gtin(18));
    let scan = shot("en", "scan", Some(&ok), "720x1280");
    let greens = (0..720).filter(|&x| {
        let [r, g, b] = pixel(&scan, x, 330);
        g > 100 && r < 80 && b < 90
    });
    assert!(greens.count() > 500, "no green verdict banner");
}

#[test]
fn first_run_without_db_creates_the_demo_cache_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("home.png");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lotline"))
        .env("LOTLINE_CONFIG", "")
        .args(["screenshot", "--screen", "home", "--out", out.to_str().unwrap()])
        .env("XDG_DATA_HOME", dir.path())
        .env("HOME", dir.path())
        .env("FONTCONFIG_FILE", crate::fonts_hidden_conf())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let db = dir.path().join("lotline/lotline.db");
    assert!(db.exists(), "no database at {}", db.display());
    assert!(stderr(&o).contains("first run: created"), "{}", stderr(&o));
    let store = lotline::store::Store::open(&db).unwrap();
    assert!(store.count("lots").unwrap() > 1000);
    assert!(out.exists());
}

#[test]
fn decode_prints_one_object_per_scan_in_the_documented_shape() {
    let scans = [
        "(01)09501101530003(17)261100(10)AB-1(3103)001250",
        "]d2010950110153000317261130\\x1d10AB<GS>21SN1",
        "]C101095011015300031726113010AB\u{1d}21SN1",
        "https://id.gs1.org/01/09501101530003/10/AB1?17=261130",
        "+A123BJC5D6E71G",
        "9501101530003",
        "106141411234567897",
        "WH1-A-01-02",
        "(01)09501101530003(17)261131",
    ];
    let mut args = vec!["decode", "--today", TODAY];
    args.extend_from_slice(&scans);
    let o = lotline(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), scans.len());
    assert!(stdout(&o).starts_with("{\"input\":"), "input comes first");
    let kinds: Vec<&str> = lines.iter().map(|v| v["kind"].as_str().unwrap_or("-")).collect();
    assert_eq!(
        kinds,
        ["gs1", "gs1", "gs1", "digital_link", "hibc", "gtin", "sscc", "code", "-"]
    );
    let v = &lines[0];
    assert_eq!(v["fields"]["expiry"], "2026-11-30", "day 00 is the month's last day");
    assert_eq!(v["fields"]["net_weight_kg"], 1.25);
    assert_eq!(v["bracketed"], "(01)09501101530003(17)261100(10)AB-1(3103)001250");
    assert_eq!(lines[1]["symbology"], "]d2");
    assert_eq!(
        lines[1]["ais"],
        serde_json::json!([["01", "09501101530003"], ["17", "261130"], ["10", "AB"], ["21", "SN1"]])
    );
    assert_eq!(
        lines[2]["ais"], lines[1]["ais"],
        "a literal GS and the escapes mean the same"
    );
    assert_eq!(lines[3]["bracketed"], "(01)09501101530003(10)AB1(17)261130");
    assert_eq!(lines[4]["fields"]["hibc"]["lic"], "A123");
    assert!(lines[4].get("ais").is_none(), "HIBC does not map to GS1 AIs");
    assert_eq!(lines[5]["ais"], serde_json::json!([["01", "09501101530003"]]));
    assert_eq!(lines[6]["fields"]["sscc"], "106141411234567897");
    assert_eq!(lines[7]["fields"]["code"], "WH1-A-01-02");
    let bad = &lines[8];
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["error"]["code"], "bad_date");
    assert!(bad["error"]["position"].as_u64().is_some());
    // stdin, one scan per line; invalid UTF-8 is an error line, not a crash.
    let o = lotline_in(&["decode", "--today", TODAY], Some("9501101530003\n\n(01)1\n"));
    let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "one answer per input line");
    assert_eq!(lines[1]["error"]["code"], "empty_line");
    assert_eq!(lines[2]["ok"], false);
}

#[test]
fn decode_digital_link_strict_and_lenient() {
    let dl = "https://example.com/01/9501101530003/10/X1";
    let strict = &lotline(&["decode", "--today", TODAY, dl]);
    let v: Value = serde_json::from_str(stdout(strict).trim()).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    let lenient = &lotline(&["decode", "--today", TODAY, "--lenient-dl", dl]);
    let v: Value = serde_json::from_str(stdout(lenient).trim()).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["fields"]["gtin"], "09501101530003");
}

#[test]
fn epc_prints_uris_and_the_element_string() {
    let o = lotline(&[
        "epc",
        "3074257BF7194E4000001A85",
        "3074257bf7194e4000001a8",
        "zz",
        "E2801160600002054E5C2A1B",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    let v = &lines[0];
    assert_eq!(v["scheme"], "sgtin-96");
    assert_eq!(v["filter"], 3);
    assert_eq!(v["pure_uri"], "urn:epc:id:sgtin:0614141.812345.6789");
    assert_eq!(v["tag_uri"], "urn:epc:tag:sgtin-96:3.0614141.812345.6789");
    assert_eq!(v["bracketed"], "(01)80614141123458(21)6789");
    assert_eq!(lines[1]["ok"], false, "a truncated EPC is an error");
    assert_eq!(lines[2]["error"]["code"], "not_hex");
    assert_eq!(lines[3]["ok"], true, "a TID/non-GS1 EPC is kept raw: {}", lines[3]);
    assert_eq!(lines[3]["gs1"], false);
}

/// `lotline config check [FILE]`: 0 for a valid file; 1 with each problem as
/// `FILE:LINE: key: problem`, in English then in Chinese. `--config` feeds the settings to any
/// command, flags win over it, and a broken one stops the command with the same lines.
#[test]
fn config_check_and_the_settings_it_gives() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/config/lotline.toml");
    let o = lotline(&["config", "check", shipped]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("valid"), "{}", stdout(&o));

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[ui]\nvolume = 150\nlanguge = \"zh\"\n\n[devices]\nmode = \"usb\"\n",
    )
    .unwrap();
    let o = lotline(&["config", "check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let f = bad.display().to_string();
    let lines: Vec<String> = stderr(&o).lines().map(str::to_owned).collect();
    assert_eq!(
        lines[..3],
        [
            format!("{f}:2: ui.volume: must be from 0 to 100"),
            format!("{f}:3: ui.languge: unknown key (section [ui] has language, idle_lock_minutes, volume, rotation)"),
            format!("{f}:6: devices.mode: 'usb' is not one of \"auto\", \"simulated\", \"none\""),
        ],
        "{lines:?}"
    );
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(lines[3].starts_with(&format!("{f}:2: ui.volume: 须在")), "{lines:?}");
    let o = lotline(&["config", "check", dir.path().join("none.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("none.toml: (file): cannot be read"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("无法读取"), "{}", stderr(&o));

    // A broken file named with --config stops any command, nothing written.
    let db = dir.path().join("from-config.db");
    let o = lotline(&["--config", bad.to_str().unwrap(), "demo-data", "--lots", "5"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("{f}:2: ui.volume")), "{}", stderr(&o));
    assert!(!db.exists());

    // A good one gives the cache's path when no --db does; --db wins over it.
    let good = dir.path().join("good.toml");
    std::fs::write(&good, format!("[cache]\ndb = \"{}\"\n", db.display())).unwrap();
    let o = lotline(&["--config", good.to_str().unwrap(), "demo-data", "--lots", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(db.exists());
    let other = dir.path().join("flag.db");
    let o = lotline(&[
        "--config",
        good.to_str().unwrap(),
        "--db",
        other.to_str().unwrap(),
        "demo-data",
        "--lots",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(other.exists());
}

/// `lotline bench startup --db PATH`: each launch is the app itself, started as a probe (window
/// drawn in memory, the first scan judged); the last line is the JSON summary with the medians.
#[test]
fn bench_startup_launches_the_app_and_reports_scan_ready_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::demo_db(dir.path(), 300, "2026-06-01");
    let queued = || {
        lotline::store::Store::open_read_only(&db)
            .unwrap()
            .count("outbox")
            .unwrap()
    };
    let before = queued();
    let o = crate::lotline(&["bench", "startup", "--db", db.to_str().unwrap(), "--rounds", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("round 1  cold  window ") && l.contains(" MiB  verdict ")),
        "{out}"
    );
    // Every probe judged a real scan from the cache (not "none": the scan reached the rules).
    for l in lines.iter().filter(|l| l.starts_with("round ")) {
        let verdict = l.rsplit("verdict ").next().unwrap();
        assert!(["accept", "warn", "reject"].contains(&verdict), "{l}");
    }
    let v: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert!(v["lots"].as_i64().unwrap() >= 300, "{v}");
    for k in [
        "cold_scan_ready_ms",
        "cold_window_ms",
        "cold_rss_mib",
        "cold_peak_rss_mib",
        "warm_scan_ready_ms",
    ] {
        let x = v[k].as_f64().unwrap_or(-1.0);
        assert!(x > 0.0, "{k} in {v}");
    }
    assert!(v["cold_scan_ready_ms"].as_f64() >= v["cold_window_ms"].as_f64(), "{v}");
    // The probes recorded nothing: the cache's outbox is as demo-data left it.
    assert_eq!(queued(), before);
}
