//! Sync on screen: the status bar's online state, last sync and first-download progress, an
//! exception on Home acknowledged with its button (a command), and the developer link switch.

use lotline::store::Store;
use lotline::sync::worker::SyncStatus;
use lotline::ui::{self, AppState};
use lotline_protocol::sync::{CommandOutcome, Outcome, UploadResponse};
use slint::ComponentHandle;

use super::{build, click, find, login, now, value};

pub fn flow(dir: &std::path::Path) {
    let (app, ctl, path) = build(dir, "sync.db");
    login(&app, "super1", "9999");
    // The hub refuses the first command (as a real hub's answer to this batch would say).
    {
        let mut store = Store::open(&path).unwrap();
        let batch = store.next_batch(None).unwrap();
        assert!(!batch.commands.is_empty());
        let outcomes = batch
            .commands
            .iter()
            .enumerate()
            .map(|(i, c)| CommandOutcome {
                id: c.id.clone(),
                seq: c.seq,
                outcome: if i == 0 {
                    Outcome::Rejected {
                        code: "operator_unknown".into(),
                        message: "operator super1 is not known at this site".into(),
                        message_zh: "本站点没有操作员 super1".into(),
                        details: serde_json::Value::Null,
                        rejected_at: "2026-11-21T01:31:00Z".into(),
                    }
                } else {
                    Outcome::Applied {
                        applied_at: "2026-11-21T01:31:00Z".into(),
                    }
                },
            })
            .collect();
        let resp = UploadResponse {
            outcomes,
            gap: None,
            recorded_through: batch.commands.last().unwrap().seq,
            hub_time: "2026-11-21T01:31:00Z".into(),
        };
        let r = store.record_outcomes(&batch, &resp, now()).unwrap();
        assert_eq!(r.rejected, 1);
    }
    ui::show_sync_status(
        &app,
        &ctl,
        SyncStatus {
            online: true,
            enrolled: true,
            queued: 0,
            last_sync: Some("2026-11-21T09:31:00+08:00".into()),
            progress: Some(lotline::sync::Progress {
                rows_done: 250,
                rows_total: 1000,
                percent: 25.0,
                eta_s: Some(2.2),
            }),
            error: None,
            exceptions_open: 1,
            link_enabled: true,
        },
    );
    assert_eq!(value(&app, "connectivity"), "● Online");
    assert_eq!(value(&app, "last-sync"), "Synced 09:31");
    assert_eq!(value(&app, "sync-progress"), "250 / 1000 rows, 25%, about 3 s left");
    assert_eq!(value(&app, "queued"), "Queued: 0");
    let ex = value(&app, "exception");
    assert!(ex.starts_with("The hub refused your action at "), "{ex}");
    assert!(ex.contains("operator super1 is not known at this site"), "{ex}");
    // Acknowledged: gone from Home, and one command more for the hub.
    click(&app, "Acknowledge");
    assert_eq!(slint::Model::row_count(&app.global::<AppState>().get_exceptions()), 0);
    assert_eq!(value(&app, "queued"), "Queued: 1");
    let store = Store::open_read_only(&path).unwrap();
    let last = store.outbox_commands().unwrap().pop().unwrap();
    assert_eq!(last.kind, "exception_acknowledged");
    drop(store);
    // The developer switch: link down.
    click(&app, "Link to hub: up");
    assert!(!app.global::<AppState>().get_link_up());
    assert_eq!(value(&app, "connectivity"), "○ Offline");
    find(&app, "Link to hub: down");
}
