//! The sync worker: its own thread running the sync runtime (`sync::runtime`, whose one worker
//! thread fetches change pages; the Slint event loop keeps the main thread). A cycle runs when a command is written (the session pokes it), every
//! [`INTERVAL`], and on start; a failure waits with exponential backoff and full jitter (capped at
//! 60 s) — a successful request is the truth about connectivity. A 426 (update lotline) or 401
//! stops the retries until the app is updated or the device enrolled again. Status goes out
//! through a callback; the UI hears it only through its event loop.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};

use super::{CycleReport, Progress, SyncError, client_for, cycle};
use crate::domain::sync::delay;
use crate::domain::text::Text;
use crate::store::Store;

/// How often the worker syncs when nothing pokes it.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// What the status bar shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncStatus {
    /// The last request to the hub succeeded.
    pub online: bool,
    /// Enrolled with a hub at all.
    pub enrolled: bool,
    /// Commands waiting for a final outcome.
    pub queued: i64,
    /// RFC 3339 of the last successful cycle.
    pub last_sync: Option<String>,
    /// A first download under way.
    pub progress: Option<Progress>,
    pub error: Option<Text>,
    pub exceptions_open: i64,
    /// The developer switch: false makes the worker behave as offline.
    pub link_enabled: bool,
}

enum Msg {
    Poke,
    Stop,
}

/// The running worker.
pub struct SyncHandle {
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    link: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SyncHandle {
    /// A command was written (or the link came back): sync soon.
    pub fn poke(&self) {
        let _ = self.tx.send(Msg::Poke);
    }

    /// A closure that pokes the worker, for the session's commit hook.
    pub fn poker(&self) -> impl Fn() + Send + Sync + 'static {
        let tx = self.tx.clone();
        move || {
            let _ = tx.send(Msg::Poke);
        }
    }

    /// The developer menu's "Link to hub" switch.
    pub fn set_link(&self, up: bool) {
        self.link.store(up, Ordering::SeqCst);
        self.poke();
    }

    pub fn link_enabled(&self) -> bool {
        self.link.load(Ordering::SeqCst)
    }

    /// Stops the worker and waits for it (a cycle under way finishes its transaction first).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// Reads what the status bar needs from the store.
fn snapshot(store: &Store, link: bool) -> SyncStatus {
    SyncStatus {
        online: false,
        enrolled: store.sync_config().ok().flatten().is_some(),
        queued: store.unsent().unwrap_or(0),
        last_sync: store.setting(crate::store::sync::LAST_SYNC_KEY).ok().flatten(),
        progress: None,
        error: None,
        exceptions_open: store.exceptions(false).map(|e| e.len() as i64).unwrap_or(0),
        link_enabled: link,
    }
}

/// Starts the worker on the cache at `db` (its own connection). `on_status` is called from the
/// worker's thread after every cycle and on a first download's progress; `on_cycle` with each
/// cycle's report (for logs).
pub fn start(
    db: PathBuf,
    on_status: Box<dyn Fn(SyncStatus) + Send>,
    on_cycle: Box<dyn Fn(Result<&CycleReport, &SyncError>) + Send>,
) -> SyncHandle {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let link = Arc::new(AtomicBool::new(true));
    let link2 = link.clone();
    let thread = std::thread::Builder::new()
        .name("lotline-sync".into())
        .spawn(move || {
            let rt = match crate::sync::runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("sync cannot start: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                let mut store = match Store::open(&db) {
                    Ok(s) => s,
                    Err(e) => {
                        on_status(SyncStatus {
                            error: Some(Text::of(&e)),
                            ..SyncStatus {
                                online: false,
                                enrolled: false,
                                queued: 0,
                                last_sync: None,
                                progress: None,
                                error: None,
                                exceptions_open: 0,
                                link_enabled: true,
                            }
                        });
                        return;
                    }
                };
                let seed = std::process::id() as u64 ^ chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64;
                let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
                let mut attempt: u32 = 0;
                let mut online = false;
                let mut last_error: Option<Text> = None;
                // A 401 or 426 stops the retries: for this token (a new enrolment resumes).
                let mut halted_for: Option<String> = None;
                // When the next cycle is due (a backoff or the timer); a poke brings it forward
                // except during a backoff.
                let mut next_at = tokio::time::Instant::now();
                loop {
                    let wait = next_at.saturating_duration_since(tokio::time::Instant::now());
                    let poked = match tokio::time::timeout(wait, rx.recv()).await {
                        Ok(Some(Msg::Stop)) | Ok(None) => return,
                        Ok(Some(Msg::Poke)) => true,
                        Err(_) => false,
                    };
                    let up = link2.load(Ordering::SeqCst);
                    let mut status = snapshot(&store, up);
                    let token = store.sync_config().ok().flatten().map(|c| c.token);
                    if halted_for.is_some() && halted_for != token {
                        halted_for = None;
                        last_error = None;
                    }
                    let backing_off = attempt > 0 && tokio::time::Instant::now() < next_at;
                    if !up || !status.enrolled || halted_for.is_some() || (poked && backing_off) {
                        // Offline by switch, not enrolled, halted, or a poke during a backoff
                        // (whose deadline stands): only the counts change.
                        status.online = up && online && halted_for.is_none();
                        status.error = last_error.clone();
                        on_status(status);
                        if !(poked && backing_off) {
                            next_at = tokio::time::Instant::now() + INTERVAL;
                        }
                        continue;
                    }
                    let client = match client_for(&store) {
                        Ok(c) => c,
                        Err(e) => {
                            last_error = Some(Text::of(&e));
                            halted_for = token;
                            status.error = last_error.clone();
                            on_status(status);
                            next_at = tokio::time::Instant::now() + INTERVAL;
                            continue;
                        }
                    };
                    // Cycles until current (new commands may arrive meanwhile), at most a few.
                    let mut result;
                    let mut rounds = 0;
                    loop {
                        let base = snapshot(&store, up);
                        let on_status_ref = &on_status;
                        let mut report_progress = |p: Progress| {
                            on_status_ref(SyncStatus {
                                online: true,
                                progress: Some(p),
                                ..base.clone()
                            });
                        };
                        result = cycle(&mut store, &client, &now, &mut report_progress).await;
                        rounds += 1;
                        on_cycle(result.as_ref());
                        match &result {
                            Ok(r) if !r.current() && rounds < 5 && link2.load(Ordering::SeqCst) => continue,
                            _ => break,
                        }
                    }
                    let mut status = snapshot(&store, link2.load(Ordering::SeqCst));
                    match result {
                        Ok(_) => {
                            online = true;
                            attempt = 0;
                            last_error = None;
                            next_at = tokio::time::Instant::now() + INTERVAL;
                        }
                        Err(e) => {
                            // Only a successful cycle says the hub is there.
                            online = false;
                            last_error = Some(Text::of(&e));
                            if e.transient() {
                                next_at = tokio::time::Instant::now() + delay(attempt, rng.random::<f64>());
                                attempt = attempt.saturating_add(1);
                            } else {
                                halted_for = token;
                                next_at = tokio::time::Instant::now() + INTERVAL;
                            }
                        }
                    }
                    status.online = online;
                    status.error = last_error.clone();
                    on_status(status);
                }
            });
        })
        .ok();
    SyncHandle { tx, link, thread }
}
