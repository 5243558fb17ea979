//! Sync with lotline-hub, the shell: the HTTP client ([`client`]), one sync cycle ([`cycle`]:
//! upload every queued command in batches, then fetch every bucket until current and apply its
//! pages), and the background worker ([`worker`]) the app runs on its own thread.

pub mod client;
pub mod worker;

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, FixedOffset};
use lotline_protocol::sync::{BucketInfo, ChangePage, EnrollRequest, MAX_PAGE_CHANGES, UploadRequest, fold_checksum};

pub use client::{HubClient, SyncError};

use crate::domain::command::SCHEMA_VERSION;
use crate::store::Store;
use crate::store::sync::PageApplied;

/// A first download's progress.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Progress {
    pub rows_done: i64,
    pub rows_total: i64,
    pub percent: f64,
    /// Seconds left at the rate so far.
    pub eta_s: Option<f64>,
}

/// What one cycle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CycleReport {
    pub uploaded: usize,
    pub applied: usize,
    pub rejected: usize,
    pub downloaded: usize,
    pub buckets: usize,
    /// Commands still waiting for a final outcome.
    pub queued: i64,
    /// A page waited for commands still unsent (applied after the next upload).
    pub deferred: bool,
    /// Time spent applying change pages to the cache (the rest of a download is the hub's
    /// reading and the transfer), in microseconds.
    pub apply_us: u64,
}

impl CycleReport {
    /// Nothing queued and every bucket current.
    pub fn current(&self) -> bool {
        self.queued == 0 && !self.deferred
    }
}

/// The runtime sync runs on: the caller's thread drives [`cycle`] (which applies pages to the
/// cache there), and one worker thread fetches the next change page meanwhile.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("lotline-sync-io")
        .enable_all()
        .build()
}

/// A change page with the wrapping sum of its changes' checksums.
type Summed = (ChangePage, u32);

/// A change page being fetched (and its checksums summed) in the background; dropped, the fetch
/// is cancelled.
struct Prefetch(tokio::task::JoinHandle<Result<Summed, SyncError>>);

impl Prefetch {
    fn start(client: &HubClient, bucket: &str, after: i64, generation: i64) -> Prefetch {
        let (client, bucket) = (client.clone(), bucket.to_owned());
        Prefetch(tokio::spawn(async move {
            let page = client.changes(&bucket, after, generation, MAX_PAGE_CHANGES).await?;
            let sum = fold_checksum(0, &page.changes);
            Ok((page, sum))
        }))
    }

    /// The page; `None` if the fetch was cancelled (then fetch it again).
    async fn page(mut self) -> Option<Result<Summed, SyncError>> {
        match (&mut self.0).await {
            Ok(r) => Some(r),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => None,
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The client for the hub this store is enrolled with.
pub fn client_for(store: &Store) -> Result<HubClient, SyncError> {
    let cfg = store.sync_config()?.ok_or_else(|| SyncError::NotEnrolled {
        db: store.path().display().to_string(),
    })?;
    HubClient::new(
        &cfg.url,
        Some(&cfg.token),
        cfg.ca.as_deref().map(std::path::Path::new),
        cfg.allow_plain_http,
    )
}

/// This machine's name, for the hub's list of devices.
fn host_name() -> Option<String> {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Enrols the device of `store` with the hub at `server` using a one-time `code`.
pub async fn enroll(
    store: &mut Store,
    server: &str,
    code: &str,
    ca: Option<&std::path::Path>,
    allow_plain_http: bool,
) -> Result<lotline_protocol::sync::EnrollResponse, SyncError> {
    let client = HubClient::new(server, None, ca, allow_plain_http)?;
    // Refused before the code is spent when commands are unsent to another hub.
    if let Some(cfg) = store.sync_config()? {
        let unsent = store.unsent()?;
        if unsent > 0 && cfg.url.trim_end_matches('/') != client.base() {
            return Err(crate::store::sync::EnrollError::UnsentToOtherHub {
                hub: cfg.url,
                new: client.base().to_owned(),
                unsent,
            }
            .into());
        }
    }
    let resp = client
        .enroll(&EnrollRequest {
            code: code.to_owned(),
            name: host_name(),
            schema_version: SCHEMA_VERSION,
            protocol_version: lotline_protocol::PROTOCOL_VERSION,
        })
        .await?;
    let ca_s = ca.map(|p| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_owned())
            .display()
            .to_string()
    });
    store.enroll(client.base(), &resp, ca_s.as_deref(), allow_plain_http)?;
    Ok(resp)
}

/// Buckets in the order their data depends on each other: global (items, lots), then the site
/// (locations, stock), then the device's own.
fn rank(b: &BucketInfo) -> u8 {
    if b.name == lotline_protocol::sync::GLOBAL_BUCKET {
        0
    } else if b.name.starts_with("site:") {
        1
    } else {
        2
    }
}

/// One sync cycle: upload all queued commands in batches, then download every bucket until
/// current and apply its pages. `progress` hears a first download's rows as they are applied.
pub async fn cycle(
    store: &mut Store,
    client: &HubClient,
    now: &dyn Fn() -> DateTime<FixedOffset>,
    progress: &mut dyn FnMut(Progress),
) -> Result<CycleReport, SyncError> {
    let mut rep = CycleReport::default();
    upload(store, client, now, &mut rep).await?;
    let mut list = client.buckets().await?.buckets;
    list.sort_by_key(rank);
    rep.buckets = list.len();
    // What is left to fetch per bucket, for the progress bar (a first download: all of it).
    let mut left: HashMap<String, i64> = HashMap::new();
    for b in &list {
        let st = store.bucket(&b.name)?;
        let fresh = st.checkpoint == 0 || st.generation != b.generation;
        left.insert(b.name.clone(), if fresh { b.changes } else { 0 });
    }
    // A first download of a large hub builds some indexes once at its end (see
    // `Store::defer_indexes_for_download`).
    store.defer_indexes_for_download(left.values().sum())?;
    let started = Instant::now();
    let mut done: i64 = 0;
    for b in &list {
        let mut st = store.bucket(&b.name)?;
        if st.generation != b.generation {
            store.reset_bucket(&b.name, b.generation)?;
            st = store.bucket(&b.name)?;
        }
        let mut restarts = 0;
        // The page after the one being applied, fetched meanwhile (on a multi-thread runtime,
        // see [`runtime`]; on a current-thread one it simply waits its turn).
        let mut next: Option<Prefetch> = None;
        loop {
            let fetched = match next.take() {
                Some(p) => p.page().await,
                None => None,
            };
            let (page, sum) = match fetched {
                Some(summed) => summed?,
                None => {
                    let page = client
                        .changes(&b.name, st.checkpoint, st.generation, MAX_PAGE_CHANGES)
                        .await?;
                    let sum = fold_checksum(0, &page.changes);
                    (page, sum)
                }
            };
            if page.generation != st.generation {
                // The hub raised the bucket's generation: fetch it again from the start (the
                // outbox is not touched).
                store.reset_bucket(&b.name, page.generation)?;
                st = store.bucket(&b.name)?;
                restarts += 1;
                if restarts > 3 {
                    break;
                }
                continue;
            }
            if page.more {
                next = Some(Prefetch::start(client, &b.name, page.checkpoint, page.generation));
            }
            let applying = Instant::now();
            let applied = store.apply_summed_page(&page, sum)?;
            rep.apply_us += applying.elapsed().as_micros() as u64;
            let (more, remaining) = (page.more, page.remaining);
            // Freed where it was allocated (the fetching thread), not on this one.
            tokio::spawn(async move { drop(page) });
            match applied {
                PageApplied::Applied(n) => {
                    rep.downloaded += n;
                    done += n as i64;
                    left.insert(b.name.clone(), remaining.max(0));
                    let rest: i64 = left.values().sum();
                    let total = done + rest;
                    if total > 0 && (rest > 0 || done > 0) {
                        let secs = started.elapsed().as_secs_f64();
                        progress(Progress {
                            rows_done: done,
                            rows_total: total,
                            percent: 100.0 * done as f64 / total as f64,
                            eta_s: (done > 0 && secs > 0.0).then(|| secs / done as f64 * rest as f64),
                        });
                    }
                    st = store.bucket(&b.name)?;
                    if !more {
                        break;
                    }
                }
                PageApplied::Deferred => {
                    rep.deferred = true;
                    break;
                }
                PageApplied::ChecksumMismatch { .. } => {
                    // The bucket starts again from 0: the page fetched after this one is moot.
                    next = None;
                    st = store.bucket(&b.name)?;
                    restarts += 1;
                    if restarts > 3 {
                        rep.deferred = true;
                        break;
                    }
                }
            }
        }
    }
    store.restore_deferred_indexes()?;
    rep.queued = store.unsent()?;
    store.set_last_sync(now())?;
    Ok(rep)
}

/// Uploads every queued command, in batches, in seq order.
async fn upload(
    store: &mut Store,
    client: &HubClient,
    now: &dyn Fn() -> DateTime<FixedOffset>,
    rep: &mut CycleReport,
) -> Result<(), SyncError> {
    let device_id = store.device_id()?;
    let mut from: Option<i64> = None;
    let mut rewinds = 0;
    loop {
        let batch = store.next_batch(from)?;
        if batch.commands.is_empty() {
            return Ok(());
        }
        let req = UploadRequest {
            device_id: device_id.clone(),
            schema_version: SCHEMA_VERSION,
            commands: batch.commands.clone(),
        };
        let resp = match client.upload(&req).await {
            Ok(r) => r,
            Err(e) => {
                store.batch_failed(&batch, &e.to_string())?;
                return Err(e);
            }
        };
        let rec = store.record_outcomes(&batch, &resp, now())?;
        rep.uploaded += batch.commands.len();
        rep.applied += rec.applied;
        rep.rejected += rec.rejected;
        from = None;
        if let Some(gap) = &resp.gap
            && batch.commands.first().is_some_and(|c| gap.expected < c.seq)
            && gap.expected >= 1
            && rewinds < 2
        {
            // The hub lacks earlier commands (restored from a backup): send again from there.
            rewinds += 1;
            from = Some(gap.expected);
            continue;
        }
        if rec.applied + rec.rejected == 0 {
            // Nothing was final (the hub asked to retry later): the next cycle tries again.
            return Ok(());
        }
    }
}
