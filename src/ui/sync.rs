//! Sync in the UI: the status bar's online state, queue, last sync and first-download progress,
//! the open sync exceptions on Home with their Acknowledge button, and the developer switch that
//! takes the link to the hub down. The worker reports from its own thread; its reports reach the
//! UI only through the event loop (`invoke_from_event_loop`). Acknowledging is the session's.

use std::cell::RefCell;
use std::rc::Rc;

use slint::{ComponentHandle, SharedString};

use super::{AppState, AppWindow, Controller, Lang, SyncException, model, shared};
use crate::sync::worker::{SyncHandle, SyncStatus};

thread_local! {
    static INBOX: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// "10:42" for today, "12-01 10:42" otherwise, in the clock's offset.
pub(super) fn map_last_sync(at: &str, now: chrono::DateTime<chrono::FixedOffset>) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => {
            let t = t.with_timezone(now.offset());
            if t.date_naive() == now.date_naive() {
                t.format("%H:%M").to_string()
            } else {
                t.format("%m-%d %H:%M").to_string()
            }
        }
        Err(_) => at.to_owned(),
    }
}

/// The progress line of a first download.
pub(super) fn map_progress(p: &crate::sync::Progress, lang: Lang) -> String {
    let pct = p.percent.round() as i64;
    match (lang, p.eta_s) {
        (Lang::En, Some(eta)) => format!(
            "{} / {} rows, {pct}%, about {} s left",
            p.rows_done,
            p.rows_total,
            eta.ceil() as i64
        ),
        (Lang::En, None) => format!("{} / {} rows, {pct}%", p.rows_done, p.rows_total),
        (Lang::Zh, Some(eta)) => format!(
            "{} / {} 行，{pct}%，约剩 {} 秒",
            p.rows_done,
            p.rows_total,
            eta.ceil() as i64
        ),
        (Lang::Zh, None) => format!("{} / {} 行，{pct}%", p.rows_done, p.rows_total),
    }
}

pub(super) fn render_sync(app: &AppWindow, c: &Controller) {
    let st = app.global::<AppState>();
    let now = (c.clock)();
    let status = c.sync_status.as_ref();
    st.set_sync_enrolled(status.is_some_and(|s| s.enrolled));
    st.set_online(status.is_some_and(|s| s.online && s.link_enabled));
    st.set_link_up(
        c.sync
            .as_ref()
            .map(|h| h.link_enabled())
            .or(status.map(|s| s.link_enabled))
            .unwrap_or(true),
    );
    st.set_last_sync(shared(
        status
            .and_then(|s| s.last_sync.as_deref())
            .map(|t| map_last_sync(t, now))
            .unwrap_or_default(),
    ));
    match status.and_then(|s| s.progress.as_ref()).filter(|p| p.percent < 100.0) {
        Some(p) => {
            st.set_sync_percent(p.percent as f32);
            st.set_sync_progress(shared(map_progress(p, c.lang)));
        }
        None => {
            st.set_sync_percent(-1.0);
            st.set_sync_progress(SharedString::new());
        }
    }
    let error = c.sync_note.as_ref().or(status.and_then(|s| s.error.as_ref()));
    st.set_sync_error(
        error
            .map(|t| shared(if c.lang == Lang::Zh { &t.zh } else { &t.en }))
            .unwrap_or_default(),
    );
    let rows: Vec<SyncException> = c
        .session
        .open_exceptions()
        .unwrap_or_default()
        .into_iter()
        .map(|e| SyncException {
            id: e.id as i32,
            text: shared(if c.lang == Lang::Zh {
                &e.message_zh
            } else {
                &e.message_en
            }),
        })
        .collect();
    st.set_exceptions(model(rows));
}

/// Connects the exception and link callbacks.
pub(super) fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_acknowledge_exception(move |id| {
        let Some(app) = weak.upgrade() else { return };
        let now = (c.borrow().clock)();
        let r = c.borrow_mut().session.acknowledge_exception(i64::from(id), now);
        c.borrow_mut().sync_note = r.err().map(|e| e.text);
        let c = c.borrow();
        render_sync(&app, &c);
        super::render_status(&app, &c);
    });
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_set_link(move |up| {
        let Some(app) = weak.upgrade() else { return };
        if let Some(h) = &c.borrow().sync {
            h.set_link(up);
        }
        if let Some(s) = c.borrow_mut().sync_status.as_mut() {
            s.link_enabled = up;
        }
        render_sync(&app, &c.borrow());
    });
}

/// Where the worker reports: statuses queue up and the event loop takes them.
pub fn sync_sink(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) -> Box<dyn Fn(SyncStatus) + Send> {
    let (tx, rx) = std::sync::mpsc::channel::<SyncStatus>();
    let weak = app.as_weak();
    let c = ctl.clone();
    INBOX.with(|i| {
        *i.borrow_mut() = Some(Box::new(move || {
            let Some(app) = weak.upgrade() else { return };
            let mut last = None;
            while let Ok(s) = rx.try_recv() {
                last = Some(s);
            }
            if let Some(s) = last {
                show_sync_status(&app, &c, s);
            }
        }))
    });
    Box::new(move |s| {
        let _ = tx.send(s);
        let _ = slint::invoke_from_event_loop(|| {
            INBOX.with(|i| {
                if let Some(f) = i.borrow().as_ref() {
                    f();
                }
            })
        });
    })
}

/// Shows a report of the worker (on the UI thread; the sink calls this from the event loop).
pub fn show_sync_status(app: &AppWindow, ctl: &Rc<RefCell<Controller>>, s: SyncStatus) {
    let done = s.progress.is_none();
    ctl.borrow_mut().sync_status = Some(s);
    let c = ctl.borrow();
    if done {
        // A cycle ended: tasks and lots may have come from the hub.
        super::render(app, &c);
    } else {
        render_sync(app, &c);
        super::render_status(app, &c);
    }
}

/// Hands the running worker to the controller (the link switch drives it).
pub fn attach_sync(ctl: &Rc<RefCell<Controller>>, handle: SyncHandle) {
    ctl.borrow_mut().sync = Some(handle);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_sync_and_progress_lines() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:50:00+08:00").unwrap();
        assert_eq!(map_last_sync("2026-12-01T02:42:10Z", now), "10:42");
        assert_eq!(map_last_sync("2026-11-30T10:42:10+08:00", now), "11-30 10:42");
        let p = crate::sync::Progress {
            rows_done: 250,
            rows_total: 1000,
            percent: 25.0,
            eta_s: Some(2.2),
        };
        assert_eq!(map_progress(&p, Lang::En), "250 / 1000 rows, 25%, about 3 s left");
        assert_eq!(map_progress(&p, Lang::Zh), "250 / 1000 行，25%，约剩 3 秒");
    }
}
