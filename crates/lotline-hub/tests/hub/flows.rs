//! Applying commands, change pages, enrolment, export and trace, through the library.

use lotline_hub::{HubError, Store, apply_batch};
use lotline_protocol::OutboxFile;
use lotline_protocol::sync::{ChangePage, EnrollRequest, Outcome, SeqGap, fold_checksum};
use serde_json::json;

use super::common::*;

fn applied(o: &Outcome) -> bool {
    matches!(o, Outcome::Applied { .. })
}

fn code(o: &Outcome) -> &str {
    match o {
        Outcome::Rejected { code, .. } => code,
        Outcome::Applied { .. } => "applied",
        Outcome::RetryLater { .. } => "retry_later",
    }
}

#[test]
fn replay_returns_the_stored_outcome_and_gaps_are_reported() {
    for db in dbs("replay") {
        let store = seeded(&db);
        let (d, _) = device(&store, "S1");
        let first = apply_batch(&store, &d, &[putaway(&d, 1, 5), putaway(&d, 2, 5)]).unwrap();
        assert!(first.outcomes.iter().all(|o| applied(&o.outcome)), "{}", db.name);
        assert_eq!(first.recorded_through, 2);
        assert_eq!(stock(&store, "L2311", "DOCK-1"), 10);

        // Sent again: the same outcomes, no second effect.
        let again = apply_batch(&store, &d, &[putaway(&d, 1, 5), putaway(&d, 2, 5)]).unwrap();
        assert_eq!(again.outcomes, first.outcomes, "{}", db.name);
        assert_eq!(stock(&store, "L2311", "DOCK-1"), 10);

        // Another command under a recorded seq.
        let mut other = putaway(&d, 2, 1);
        other.id = "something-else".into();
        let r = apply_batch(&store, &d, &[other]).unwrap();
        assert_eq!(code(&r.outcomes[0].outcome), "seq_conflict");

        // A gap: 4 and 5 wait for 3, nothing recorded.
        let r = apply_batch(&store, &d, &[putaway(&d, 4, 1), putaway(&d, 5, 1)]).unwrap();
        assert_eq!(
            r.gap,
            Some(SeqGap {
                expected: 3,
                received: 4
            })
        );
        assert!(r.outcomes.iter().all(|o| code(&o.outcome) == "retry_later"));
        assert_eq!(r.recorded_through, 2);
        assert_eq!(stock(&store, "L2311", "DOCK-1"), 10);

        // seq 3 reuses seq 1's id: rejected, but recorded (the seqs stay gapless).
        let mut dup = putaway(&d, 3, 1);
        dup.id = putaway(&d, 1, 5).id;
        let r = apply_batch(&store, &d, &[dup, scan(&d, 4)]).unwrap();
        assert_eq!(code(&r.outcomes[0].outcome), "duplicate_id");
        assert!(applied(&r.outcomes[1].outcome));
        assert_eq!(r.recorded_through, 4);

        // A newer schema stops the batch; an unknown type is rejected bilingually.
        let mut newer = scan(&d, 5);
        newer.schema_version = 99;
        let r = apply_batch(&store, &d, &[newer, scan(&d, 6)]).unwrap();
        assert!(r.outcomes.iter().all(|o| code(&o.outcome) == "retry_later"));
        assert_eq!(r.recorded_through, 4);
        let r = apply_batch(&store, &d, &[cmd(&d, 5, "teleport", json!({}))]).unwrap();
        match &r.outcomes[0].outcome {
            Outcome::Rejected {
                code,
                message,
                message_zh,
                ..
            } => {
                assert_eq!(code, "bad_command");
                assert!(message.contains("teleport"), "{message}");
                assert!(message_zh.contains("无法读取命令"), "{message_zh}");
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM commands"), 5);

        // Within one batch: a repeat of a command just recorded gets its outcome, a repeated id
        // under the next seq is a duplicate.
        let mut twin = scan(&d, 7);
        twin.id = scan(&d, 6).id;
        let r = apply_batch(&store, &d, &[scan(&d, 6), scan(&d, 6), twin]).unwrap();
        let codes: Vec<&str> = r.outcomes.iter().map(|o| code(&o.outcome)).collect();
        assert_eq!(codes, ["applied", "applied", "duplicate_id"], "{}", db.name);
        assert_eq!(r.outcomes[0].outcome, r.outcomes[1].outcome);
        assert_eq!(r.recorded_through, 7);
        let again = apply_batch(&store, &d, &[scan(&d, 6)]).unwrap();
        assert_eq!(again.outcomes[0].outcome, r.outcomes[0].outcome, "stored as returned");
    }
}

#[test]
fn a_pick_of_a_recalled_lot_is_refused_with_details() {
    for db in dbs("recall") {
        let store = seeded(&db);
        let (d, _) = device(&store, "S1");
        let info = lotline_hub::set_lot_status(
            &store,
            "6901234500028",
            "L2311",
            "recalled",
            Some("supplier recall"),
            "qa1",
        )
        .unwrap();
        assert_eq!(info.status, "recalled");
        assert_eq!(info.status_changed_by.as_deref(), Some("qa1"));
        let r = apply_batch(&store, &d, &[pick(&d, 1, "L2311", 12)]).unwrap();
        match &r.outcomes[0].outcome {
            Outcome::Rejected {
                code,
                message,
                message_zh,
                details,
                ..
            } => {
                assert_eq!(code, "lot_blocked", "{}", db.name);
                assert!(
                    message.starts_with("Lot L2311 of Jasmine rice 5 kg was recalled at "),
                    "{message}"
                );
                assert!(
                    message.contains("(supplier recall); the pick of 12 at 10:42 is refused"),
                    "{message}"
                );
                assert!(message_zh.contains("已召回"), "{message_zh}");
                assert_eq!(details["status"], "recalled");
                assert_eq!(details["qty"], 12);
                assert_eq!(details["location"], "A-01");
                assert_eq!(details["task"], "SO-1");
                assert_eq!(details["status_reason"], "supplier recall");
                assert_eq!(details["picked_at"], "2026-12-01T10:42:00.000+08:00");
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(stock(&store, "L2311", "A-01"), 100, "nothing moved");

        // Released again, the next pick goes through and is traced with its order and customer.
        lotline_hub::set_lot_status(&store, "06901234500028", "L2311", "released", Some("cleared"), "qa1").unwrap();
        let r = apply_batch(&store, &d, &[pick(&d, 2, "L2311", 12)]).unwrap();
        assert!(applied(&r.outcomes[0].outcome), "{:?}", r.outcomes[0]);
        assert_eq!(stock(&store, "L2311", "A-01"), 88);
        assert_eq!(
            count(
                &store,
                "SELECT qty_done FROM task_lines WHERE task = 'SO-1' AND line = 1"
            ),
            12
        );

        let t = lotline_hub::trace(&store, Some("L2311"), None).unwrap();
        assert_eq!(t.len(), 1);
        let t = &t[0];
        assert_eq!(t.gtin.as_deref(), Some("06901234500028"));
        let hist: Vec<&str> = t.history.iter().map(|e| e.status.as_str()).collect();
        assert_eq!(hist, ["released", "recalled", "released"], "{}", db.name);
        assert_eq!(t.movements.len(), 1);
        let m = &t.movements[0];
        assert_eq!(
            (
                m.kind.as_str(),
                m.qty,
                m.task.as_deref(),
                m.reference.as_deref(),
                m.customer.as_deref()
            ),
            ("pick", 12, Some("SO-1"), Some("ORD-9"), Some("C1"))
        );
        assert_eq!(m.site.as_deref(), Some("S1"));
        assert_eq!(m.device.as_deref(), Some(d.as_str()));
        assert_eq!(t.stock.len(), 1);
        assert_eq!((t.stock[0].location.as_str(), t.stock[0].qty), ("A-01", 88));
        // Every lot of the GTIN.
        let all = lotline_hub::trace(&store, None, Some("06901234500028")).unwrap();
        assert_eq!(
            all.iter().map(|l| l.lot.as_str()).collect::<Vec<_>>(),
            ["L2311", "L2312"]
        );
        assert!(lotline_hub::lots::trace_table(&all).contains("Lot L2311 of F200"));
    }
}

fn read_all(
    store: &Store,
    d: &str,
    bucket: &str,
    mut after: i64,
    generation: Option<i64>,
    limit: usize,
) -> (Vec<ChangePage>, i64) {
    let mut pages = Vec::new();
    let mut sum = 0u32;
    let mut generation = generation;
    loop {
        let p = lotline_hub::changes(store, d, bucket, after, generation, limit).unwrap();
        if generation.is_some_and(|g| g != p.generation) {
            sum = 0;
        }
        generation = Some(p.generation);
        sum = fold_checksum(sum, &p.changes);
        assert_eq!(sum, p.checksum, "checksum through {}", p.checkpoint);
        after = p.checkpoint;
        let more = p.more;
        pages.push(p);
        if !more {
            return (pages, after);
        }
    }
}

#[test]
fn change_pages_with_checksums_resume_and_refetch() {
    for db in dbs("changes") {
        let store = seeded(&db);
        let (d, _) = device(&store, "S1");
        let (d2, _) = device(&store, "S2");
        let list = lotline_hub::list_buckets(&store, &d).unwrap();
        let names: Vec<&str> = list.buckets.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["global".to_string(), "site:S1".into(), format!("device:{d}")]);
        let global = &list.buckets[0];
        // categories 1 + items 2 + barcodes 2 + lots 3 + customer 1 + serial 1
        assert_eq!(global.changes, 10, "{}", db.name);

        let (pages, end) = read_all(&store, &d, "global", 0, None, 3);
        assert_eq!(pages.len(), 4);
        assert_eq!(pages[0].remaining, 7);
        let tables: Vec<&str> = pages
            .iter()
            .flat_map(|p| p.changes.iter().map(|c| c.table.as_str()))
            .collect();
        assert!(tables.contains(&"item") && tables.contains(&"lot") && tables.contains(&"serial"));

        // Site data in its bucket; another site's is forbidden.
        let (site, _) = read_all(&store, &d, "site:S1", 0, None, 100);
        let keys: Vec<String> = site[0]
            .changes
            .iter()
            .map(|c| format!("{}:{}", c.table, c.key))
            .collect();
        assert!(keys.contains(&"stock:F200/L2311@A-01".to_string()), "{keys:?}");
        assert!(keys.contains(&"location:A-01".to_string()) && keys.contains(&"operator:pick1".to_string()));
        assert!(keys.contains(&"task:SO-1".to_string()));
        match lotline_hub::changes(&store, &d, "site:S2", 0, None, 10) {
            Err(HubError::Forbidden(_)) => {}
            other => panic!("{other:?}"),
        }
        assert!(lotline_hub::changes(&store, &d2, &format!("device:{d}"), 0, None, 10).is_err());

        // A change after the end: resuming gives just it, checksum continued.
        lotline_hub::set_lot_status(&store, "06901234500028", "L2312", "on_hold", None, "qa").unwrap();
        let before = pages.last().unwrap().checksum;
        let p = lotline_hub::changes(&store, &d, "global", end, Some(1), 100).unwrap();
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].key, "F200/L2312");
        assert_eq!(p.changes[0].data.as_ref().unwrap()["status"], "on_hold");
        assert_eq!(fold_checksum(before, &p.changes), p.checksum);
        assert_eq!(p.remaining, 0);

        // A stock move of this device's: the page says it is included.
        apply_batch(&store, &d, &[putaway(&d, 1, 100)]).unwrap();
        let p = lotline_hub::changes(&store, &d, "site:S1", site.last().unwrap().checkpoint, None, 100).unwrap();
        assert_eq!(p.device_recorded_through, 1);
        let ops: Vec<(String, lotline_protocol::sync::ChangeOp)> =
            p.changes.iter().map(|c| (c.key.clone(), c.op)).collect();
        assert_eq!(
            ops,
            [
                ("F200/L2311@A-01".to_string(), lotline_protocol::sync::ChangeOp::Delete),
                ("F200/L2311@DOCK-1".to_string(), lotline_protocol::sync::ChangeOp::Put)
            ]
        );

        // Refetch: an old generation gets the new one from the start.
        assert_eq!(lotline_hub::refetch(&store, "global").unwrap(), 2);
        let p = lotline_hub::changes(&store, &d, "global", end, Some(1), 3).unwrap();
        assert_eq!(p.generation, 2);
        assert_eq!(p.changes[0].seq, pages[0].changes[0].seq, "from the start");
        let (again, _) = read_all(&store, &d, "global", 0, Some(2), 5);
        assert_eq!(again.iter().map(|p| p.changes.len()).sum::<usize>(), 11);
    }
}

#[test]
fn enrolment_codes_work_once_and_expire() {
    for db in dbs("enrol") {
        let store = Store::open(&db.url).unwrap();
        let code = lotline_hub::enroll_code(&store, "S1", chrono::Duration::hours(24)).unwrap();
        assert_eq!(code.len(), 14);
        let req = |code: &str| EnrollRequest {
            code: code.to_lowercase(),
            name: None,
            schema_version: 1,
            protocol_version: 1,
        };
        let r = lotline_hub::enroll(&store, &req(&code)).unwrap();
        assert_eq!(r.site, "S1");
        assert_eq!(r.token.len(), 64);
        assert!(matches!(
            lotline_hub::enroll(&store, &req(&code)),
            Err(HubError::CodeUsed { .. })
        ));
        let old = lotline_hub::enroll_code(&store, "S1", chrono::Duration::hours(-1)).unwrap();
        let e = lotline_hub::enroll(&store, &req(&old)).unwrap_err();
        assert!(matches!(e, HubError::CodeExpired { .. }), "{e}");
        assert!(e.message_zh().contains("过期"));
        assert!(matches!(
            lotline_hub::enroll(&store, &req("AAAA-AAAA-AAAA")),
            Err(HubError::CodeUnknown)
        ));
    }
}

#[test]
fn two_hubs_on_one_database_record_each_command_once() {
    for db in dbs("twohubs") {
        let store = seeded(&db);
        let (d, _) = device(&store, "S1");
        let other = Store::open(&db.url).unwrap();
        let batch: Vec<_> = (1..=40).map(|s| putaway(&d, s, 1)).collect();
        let results = std::thread::scope(|s| {
            let a = s.spawn(|| apply_batch(&store, &d, &batch).unwrap());
            let b = s.spawn(|| apply_batch(&other, &d, &batch).unwrap());
            [a.join().unwrap(), b.join().unwrap()]
        });
        for r in &results {
            assert_eq!(r.recorded_through, 40, "{}", db.name);
            assert!(r.outcomes.iter().all(|o| applied(&o.outcome)));
        }
        assert_eq!(results[0].outcomes, results[1].outcomes);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM commands"), 40);
        assert_eq!(stock(&store, "L2311", "DOCK-1"), 40, "each putaway once");
        assert_eq!(stock(&store, "L2311", "A-01"), 60);
        // The change log's seqs stay in order per bucket with a checksum that folds.
        read_all(&store, &d, "site:S1", 0, None, 7);
    }
}

#[test]
fn export_since_a_cursor_and_ingest_a_file() {
    for db in dbs("export") {
        let store = seeded(&db);
        let (d, _) = device(&store, "S1");
        let cmds: Vec<_> = (1..=5).map(|s| scan(&d, s)).collect();
        // Through an outbox file, twice: the second time everything is already recorded.
        let file = OutboxFile::new(d.clone(), "2026-12-01T12:00:00Z".into(), cmds[..3].to_vec());
        let s = lotline_hub::ingest_file(&store, &file).unwrap();
        assert_eq!((s.applied, s.rejected, s.already_recorded, s.retry_later), (3, 0, 0, 0));
        let file = OutboxFile::new(d.clone(), "2026-12-01T12:00:00Z".into(), cmds.clone());
        let s = lotline_hub::ingest_file(&store, &file).unwrap();
        assert_eq!((s.applied, s.already_recorded), (2, 3));
        let gap = OutboxFile::new(d.clone(), "t".into(), vec![scan(&d, 9)]);
        let s = lotline_hub::ingest_file(&store, &gap).unwrap();
        assert_eq!(
            s.gap,
            Some(SeqGap {
                expected: 6,
                received: 9
            })
        );
        let stranger = OutboxFile::new("nobody".into(), "t".into(), vec![scan("nobody", 1)]);
        let e = lotline_hub::ingest_file(&store, &stranger).unwrap_err();
        assert!(matches!(e, HubError::NotEnrolled(_)), "{e}");

        let all = lotline_hub::export(&store, 0, None, None).unwrap();
        assert_eq!(all.commands.len(), 5);
        assert!(all.commands.windows(2).all(|w| w[0].cursor < w[1].cursor));
        assert_eq!(all.next_cursor, all.commands[4].cursor);
        assert_eq!(all.commands[0].payload["gate"], "pick");
        let rest = lotline_hub::export(&store, all.commands[1].cursor, None, None).unwrap();
        assert_eq!(rest.commands.iter().map(|c| c.seq).collect::<Vec<_>>(), [3, 4, 5]);
        let none = lotline_hub::export(&store, all.next_cursor, None, None).unwrap();
        assert!(none.commands.is_empty());
        assert_eq!(none.next_cursor, all.next_cursor);
        let future = lotline_hub::export(&store, 0, Some("2999-01-01T00:00:00Z"), None).unwrap();
        assert!(future.commands.is_empty());
    }
}

fn lot_of(store: &Store, lot: &str) -> (String, Option<String>) {
    let r = store
        .read(|tx| {
            tx.one(
                "SELECT status, expiry FROM lots WHERE item = 'F200' AND lot = $1",
                &[lot.into()],
            )
        })
        .unwrap()
        .unwrap();
    (r[0].text(), r[1].opt_text())
}

#[test]
fn receipts_releases_tasks_and_counts_have_their_effects() {
    for db in dbs("effects") {
        let store = seeded(&db);
        let (d, _) = device(&store, "S1");
        lotline_hub::set_lot_status(&store, "06901234500028", "L2312", "recalled", Some("recall"), "qa").unwrap();
        let line = |lot: &str, expiry: &str, status: &str, qty: u32| {
            json!({"item": "F200", "gtin": "06901234500028", "lot": lot, "expiry": expiry, "qty": qty, "line": null,
                   "location": "DOCK-1", "lot_status": status, "new_lot": true})
        };
        let receive = cmd(
            &d,
            1,
            "receive",
            json!({"task": null, "scan": "x", "sscc": null, "verdict": "ok", "warnings": [], "authorised_by": null,
                   "reason": null, "lines": [line("N1", "2027-05-31", "quarantine", 10),
                                             line("L2311", "2027-01-31", "released", 5),
                                             line("L2312", "2027-12-31", "released", 3)]}),
        );
        let r = apply_batch(&store, &d, &[receive]).unwrap();
        assert!(applied(&r.outcomes[0].outcome), "{:?}", r.outcomes[0]);
        assert_eq!(
            lot_of(&store, "N1"),
            ("quarantine".into(), Some("2027-05-31".into())),
            "{}",
            db.name
        );
        assert_eq!(
            lot_of(&store, "L2311"),
            ("released".into(), Some("2027-01-31".into())),
            "earlier expiry"
        );
        assert_eq!(
            lot_of(&store, "L2312"),
            ("recalled".into(), Some("2027-10-31".into())),
            "recall stays"
        );
        assert_eq!(stock(&store, "N1", "DOCK-1"), 10);

        let release = |seq, lot: &str| {
            cmd(
                &d,
                seq,
                "lot_released",
                json!({"item": "F200", "lot": lot, "from_status": "quarantine", "authorised_by": "qa1"}),
            )
        };
        let r = apply_batch(&store, &d, &[release(2, "N1"), release(3, "L2312")]).unwrap();
        assert!(applied(&r.outcomes[0].outcome));
        assert_eq!(code(&r.outcomes[1].outcome), "lot_blocked");
        assert_eq!(lot_of(&store, "N1").0, "released");
        assert_eq!(lot_of(&store, "L2312").0, "recalled");

        // The pick task: started, short, checked, finished.
        let cmds = [
            cmd(&d, 4, "task_started", json!({"task": "SO-1", "gate": "pick"})),
            cmd(
                &d,
                5,
                "pick_short",
                json!({"task": "SO-1", "line": 1, "item": "F200", "qty_short": 2, "reason": "damaged",
                       "location": "A-01", "count_task": "CC-1"}),
            ),
            cmd(
                &d,
                6,
                "task_raised",
                json!({"task": "CC-1", "kind": "count", "source": "short pick SO-1", "locations": ["A-01"]}),
            ),
            cmd(
                &d,
                7,
                "second_check",
                json!({"task": "SO-1", "line": 1, "item": "F200", "lot": "L2311", "qty": 10, "picker": "pick1",
                       "checker": "chk1"}),
            ),
            cmd(&d, 8, "pick_finished", json!({"task": "SO-1", "lines": []})),
            cmd(
                &d,
                9,
                "count_result",
                json!({"task": "CC-1", "uncounted": [], "findings": [], "accuracy": 0.9, "variances": [
                    {"location": "A-01", "item": "F200", "lot": "L2311", "expected": 100, "moved": 0, "counted": 97,
                     "variance": -3, "recount": false, "recounted": false, "within_tolerance": false,
                     "movements": []}]}),
            ),
        ];
        let r = apply_batch(&store, &d, &cmds).unwrap();
        assert!(r.outcomes.iter().all(|o| applied(&o.outcome)), "{:?}", r.outcomes);
        let line = store
            .read(|tx| {
                tx.one(
                    "SELECT l.qty_short, l.short_reason, l.checked_by, t.status FROM task_lines l
                     JOIN tasks t ON t.id = l.task WHERE l.task = 'SO-1' AND l.line = 1",
                    &[],
                )
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            (line[0].int(), line[1].text(), line[2].text(), line[3].text()),
            (2, "damaged".into(), "chk1".into(), "done".into())
        );
        assert_eq!(stock(&store, "L2311", "A-01"), 97, "the count's variance");
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM tasks WHERE id = 'CC-1' AND status = 'done'"
            ),
            1
        );

        // The raised count task is in the device's own bucket; the pick task in its site's.
        let mine = lotline_hub::changes(&store, &d, &format!("device:{d}"), 0, None, 100).unwrap();
        assert!(mine.changes.iter().all(|c| c.key == "CC-1"));
        assert_eq!(mine.changes.last().unwrap().data.as_ref().unwrap()["status"], "done");
        assert_eq!(mine.changes[0].data.as_ref().unwrap()["locations"], json!(["A-01"]));
        let site = lotline_hub::changes(&store, &d, "site:S1", 0, None, 1000).unwrap();
        let so1 = site.changes.iter().rev().find(|c| c.key == "SO-1").unwrap();
        assert_eq!(so1.data.as_ref().unwrap()["lines"][0]["checked_by"], "chk1");
        let t = lotline_hub::trace(&store, Some("L2311"), Some("06901234500028")).unwrap();
        let kinds: Vec<&str> = t[0].movements.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["receive", "count"]);
    }
}
