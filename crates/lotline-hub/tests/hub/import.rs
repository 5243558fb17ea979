//! Importing master data: JSON and CSV, row errors, all or nothing.

use lotline_hub::{ImportError, Store};

use super::common::*;

#[test]
fn json_imports_everything_or_nothing() {
    for db in dbs("import_json") {
        let store = Store::open(&db.url).unwrap();
        let r = lotline_hub::import_json(&store, MASTER.as_bytes(), None).unwrap();
        assert_eq!(
            (r.items, r.barcodes, r.lots, r.customers, r.serials),
            (2, 2, 3, 1, 1),
            "{}",
            db.name
        );
        let r = lotline_hub::import_json(&store, SITE.as_bytes(), Some("S1")).unwrap();
        assert_eq!((r.locations, r.stock, r.operators, r.tasks), (2, 1, 1, 1));
        let hash = store
            .read(|tx| tx.one("SELECT pin_hash, site FROM operators WHERE id = 'pick1'", &[]))
            .unwrap()
            .unwrap();
        assert!(lotline_masterdata::pin::verify_pin(&hash[0].text(), "2222"));
        assert_eq!(hash[1].text(), "S1");

        // One good lot, one of an unknown item, one with a bad date: nothing written.
        let bad = r#"{"lots": [
            {"item": "F200", "lot": "NEW1", "status": "released"},
            {"item": "NOPE", "lot": "X1", "status": "released"},
            {"item": "F200", "lot": "NEW2", "expiry": "2027-02-30", "status": "released"}]}"#;
        let before = count(&store, "SELECT COUNT(*) FROM changes");
        let e = lotline_hub::import_json(&store, bad.as_bytes(), None).unwrap_err();
        let en = e.to_string();
        assert!(en.contains("2 problem(s) found; nothing was imported"), "{en}");
        assert!(en.contains("lots[2].expiry (NEW2)"), "{en}");
        assert!(en.contains("item NOPE is not defined"), "{en}");
        assert!(e.message_zh().contains("未导入任何数据"), "{}", e.message_zh());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM lots WHERE lot = 'NEW1'"), 0);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM changes"),
            before,
            "no change logged"
        );

        let e = lotline_hub::import_json(&store, "{\"items\": [".as_bytes(), None).unwrap_err();
        assert!(matches!(e, ImportError::Json(_)), "{e}");
    }
}

#[test]
fn csv_files_are_one_section_each() {
    for db in dbs("import_csv") {
        let store = Store::open(&db.url).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        lotline_hub::import_file(
            &store,
            &write("categories.csv", "id,near_expiry_days\nfood,7|3\n"),
            None,
        )
        .unwrap();
        let items = write(
            "items.csv",
            "id,name_en,name_zh,gtins,category,storage,requires_qc\n\
             F200,Rice,大米,06901234500028,food,ambient,false\n\
             F300,Oil,油,06901234500035|06901234500042,food,hot,true\n",
        );
        let e = lotline_hub::import_file(&store, &items, None).unwrap_err();
        let en = e.to_string();
        let file = items.display().to_string();
        assert!(en.contains(&format!("{file}:3: storage: ")), "{en}");
        assert!(
            e.message_zh().contains(&format!("{file}:3: storage")),
            "{}",
            e.message_zh()
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM items"),
            0,
            "all or nothing ({})",
            db.name
        );

        let items = write(
            "items.csv",
            "id,name_en,name_zh,gtins,category,storage,requires_qc\n\
             F200,Rice,大米,06901234500028,food,ambient,false\n\
             F300,Oil,油,06901234500035|06901234500042,food,ambient,true\n",
        );
        let r = lotline_hub::import_file(&store, &items, None).unwrap();
        assert_eq!((r.items, r.barcodes), (2, 3));
        lotline_hub::import_file(
            &store,
            &write("lots.csv", "item,lot,expiry,status\nF200,0012,2027-01-31,released\n"),
            None,
        )
        .unwrap();
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM lots WHERE lot = '0012'"),
            1,
            "lot numbers stay text"
        );
        lotline_hub::import_file(
            &store,
            &write(
                "locations.csv",
                "code,warehouse,zone,kind\nA-01,WH1,A,pick\nA-02,WH1,A,pick\n",
            ),
            Some("S1"),
        )
        .unwrap();
        // Tasks: one row per line, the task's columns repeated.
        let tasks = write(
            "tasks.csv",
            "id,kind,reference,item,qty,location\n\
             SO-7,pick,ORD-1,F200,5,A-01\n\
             SO-7,pick,ORD-1,F300,2,A-02\n\
             SO-8,pick,ORD-2,F300,1,A-01\n",
        );
        let r = lotline_hub::import_file(&store, &tasks, Some("S1")).unwrap();
        assert_eq!(r.tasks, 2);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM task_lines WHERE task = 'SO-7'"), 2);
        // A bad line names its own CSV line.
        let tasks = write("tasks.csv", "id,kind,item,qty\nSO-9,pick,F200,5\nSO-9,pick,F300,many\n");
        let e = lotline_hub::import_file(&store, &tasks, None).unwrap_err();
        assert!(e.to_string().contains(&format!("{}:3: qty", tasks.display())), "{e}");

        let e = lotline_hub::import_file(&store, &write("widgets.csv", "id\nx\n"), None).unwrap_err();
        assert!(e.to_string().contains("items.csv"), "{e}");
        assert!(e.message_zh().contains("不是 CSV 部分名称"), "{}", e.message_zh());
    }
}

/// Lots past one staging chunk (10,000): statuses, their history and the change log as the
/// row-by-row import wrote them; text that COPY must escape survives; a bad row still writes
/// nothing.
#[test]
fn many_lots_are_written_in_bulk_all_or_nothing() {
    use serde_json::json;
    const N: usize = 12_345;
    for db in dbs("import_bulk") {
        let store = Store::open(&db.url).unwrap();
        let item = json!({"id": "F1", "name_en": "Rice \"5 kg\"\tbag \\ sack\nnew", "name_zh": "大米\t袋",
                          "gtins": ["06901234500028"], "category": "food", "storage": "ambient"});
        let lots: Vec<_> = (0..N)
            .map(|i| {
                json!({"item": "F1", "lot": format!("L{i:05}\"x"), "expiry": "2027-09-30",
                       "status": if i % 3 == 0 { "quarantine" } else { "released" }})
            })
            .collect();
        let file = json!({"categories": [{"id": "food", "near_expiry_days": [7]}], "items": [item], "lots": lots});
        let r = lotline_hub::import_json(&store, file.to_string().as_bytes(), None).unwrap();
        assert_eq!(r.lots, N, "{}", db.name);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM lots"), N as i64);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM lot_events WHERE from_status IS NULL"),
            N as i64
        );
        let name = store
            .read(|tx| tx.one("SELECT data FROM changes WHERE tbl = 'item'", &[]))
            .unwrap()
            .unwrap()[0]
            .text();
        let name: serde_json::Value = serde_json::from_str(&name).unwrap();
        assert_eq!(name["name_en"], "Rice \"5 kg\"\tbag \\ sack\nnew");
        let lot = store
            .read(|tx| {
                tx.one(
                    "SELECT l.status, l.status_changed_by, c.key, c.data FROM lots l, changes c
                     WHERE l.lot = 'L12344\"x' AND c.tbl = 'lot' AND c.key = 'F1/L12344\"x'",
                    &[],
                )
            })
            .unwrap()
            .unwrap();
        assert_eq!((lot[0].text(), lot[1].text()), ("released".into(), "import".into()));
        let data: serde_json::Value = serde_json::from_str(&lot[3].text()).unwrap();
        assert_eq!(
            data,
            json!({"item": "F1", "lot": "L12344\"x", "expiry": "2027-09-30", "production_date": null,
                   "qc_date": null, "status": "released"})
        );
        super::procs::check_change_log(&store, db.name);
        // The lots' changes come in the file's order.
        let keys: Vec<String> = store
            .read(|tx| tx.query("SELECT key FROM changes WHERE tbl = 'lot' ORDER BY seq", &[]))
            .unwrap()
            .into_iter()
            .map(|r| r[0].text())
            .collect();
        assert_eq!(keys.len(), N);
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "file order");

        // Again, with lot 0 released (was quarantine) and lot 1 the same: only lot 0's status
        // changes, with its history and time.
        store
            .write(|tx| tx.exec("UPDATE lots SET status_changed_at = 'then'", &[]))
            .unwrap();
        let again = json!({"lots": [
            {"item": "F1", "lot": "L00000\"x", "expiry": "2027-10-31", "status": "released"},
            {"item": "F1", "lot": "L00001\"x", "expiry": "2027-10-31", "status": "released"}]});
        lotline_hub::import_json(&store, again.to_string().as_bytes(), None).unwrap();
        let rows = store
            .read(|tx| {
                tx.query(
                    "SELECT lot, status, expiry, status_changed_at FROM lots WHERE lot IN ('L00000\"x', 'L00001\"x')
                     ORDER BY lot",
                    &[],
                )
            })
            .unwrap();
        assert_eq!(
            (rows[0][1].text(), rows[0][2].text()),
            ("released".into(), "2027-10-31".into())
        );
        assert_ne!(rows[0][3].text(), "then", "a changed status gets the import's time");
        assert_eq!(rows[1][3].text(), "then", "an unchanged status keeps its time");
        let ev = store
            .read(|tx| {
                tx.query(
                    "SELECT lot, from_status, status FROM lot_events WHERE from_status IS NOT NULL",
                    &[],
                )
            })
            .unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (ev[0][0].text(), ev[0][1].text(), ev[0][2].text()),
            ("L00000\"x".into(), "quarantine".into(), "released".into())
        );
        super::procs::check_change_log(&store, db.name);

        // One bad lot at the end of a long file: nothing of it is written.
        let before = count(&store, "SELECT COUNT(*) FROM changes");
        let mut lots: Vec<_> = (0..N)
            .map(|i| json!({"item": "F1", "lot": format!("M{i}"), "status": "released"}))
            .collect();
        lots.push(json!({"item": "NOPE", "lot": "M-bad", "status": "released"}));
        lots.push(json!({"item": "F1", "lot": "M0", "status": "on_hold"}));
        let e = lotline_hub::import_json(&store, json!({"lots": lots}).to_string().as_bytes(), None).unwrap_err();
        assert!(e.to_string().contains("item NOPE is not defined"), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("lots[{}] (M0): the same key 'F1/M0' as lots[0] (M0)", N + 1)),
            "{e}"
        );
        assert!(e.message_zh().contains("的键“F1/M0”重复"), "{}", e.message_zh());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM lots WHERE lot LIKE 'M%'"), 0);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM changes"), before);
    }
}

/// Thousands of stock rows in one import: upserts, a quantity of 0 deleting a row, each change
/// in its location's bucket, the log replaying to the stock table.
#[test]
fn much_stock_is_written_in_bulk() {
    use serde_json::json;
    const N: usize = 3_000;
    for db in dbs("import_stock") {
        let store = seeded(&db);
        let locations: Vec<_> = (0..N / 2)
            .map(|i| json!({"code": format!("B-{i:04}"), "warehouse": "WH1", "zone": "B", "kind": "pick"}))
            .collect();
        lotline_hub::import_json(
            &store,
            json!({"locations": locations}).to_string().as_bytes(),
            Some("S1"),
        )
        .unwrap();
        lotline_hub::import_json(
            &store,
            json!({"locations": [{"code": "G-1", "warehouse": "WH9", "zone": "G", "kind": "pick"}]})
                .to_string()
                .as_bytes(),
            None,
        )
        .unwrap();
        let mut stock: Vec<_> = (0..N)
            .map(|i| {
                json!({"location": format!("B-{:04}", i / 2), "item": "F200",
                       "lot": if i % 2 == 0 { "L2311" } else { "L2312" }, "qty": i % 10 + 1})
            })
            .collect();
        stock.push(json!({"location": "A-01", "item": "F200", "lot": "L2311", "qty": 0}));
        stock.push(json!({"location": "G-1", "item": "F200", "lot": "L2312", "qty": 7}));
        let n = stock.len();
        let r = lotline_hub::import_json(&store, json!({"stock": stock}).to_string().as_bytes(), Some("S1")).unwrap();
        assert_eq!(r.stock, n, "{}", db.name);
        assert_eq!(stock_of(&store, "L2311", "A-01"), 0, "qty 0 deletes the seeded row");
        assert_eq!(stock_of(&store, "L2312", "B-1499"), 10);
        assert_eq!(stock_of(&store, "L2312", "G-1"), 7);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM stock"), n as i64 - 1);
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM changes WHERE tbl = 'stock' AND bucket = 'global' AND key = 'F200/L2312@G-1'"
            ),
            1,
            "a location of no site is global"
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM changes WHERE tbl = 'stock' AND bucket = 'site:S1' AND op = 'delete'
                 AND key = 'F200/L2311@A-01'"
            ),
            1
        );
        super::procs::check_change_log(&store, db.name);
        // A bad row: nothing of the file is written.
        let before = count(&store, "SELECT COUNT(*) FROM changes");
        let bad = json!({"stock": [{"location": "B-0001", "item": "F200", "lot": "L2311", "qty": 99},
                                   {"location": "NOWHERE", "item": "F200", "lot": "L2311", "qty": 1}]});
        let e = lotline_hub::import_json(&store, bad.to_string().as_bytes(), Some("S1")).unwrap_err();
        assert!(e.to_string().contains("location NOWHERE is not defined"), "{e}");
        assert_ne!(stock_of(&store, "L2311", "B-0001"), 99);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM changes"), before);
    }
}

fn stock_of(store: &Store, lot: &str, location: &str) -> i64 {
    super::common::stock(store, lot, location)
}
