//! Two `lotline-hub serve` processes on one PostgreSQL database (two hubs behind a load
//! balancer): one device's uploads go to both, the same batch to both at once, retries to the
//! other one; a device downloads from either while the uploads go on.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lotline_hub::Store;
use lotline_protocol::sync::{Change, GLOBAL_BUCKET, Outcome, fold_checksum, site_bucket};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::common::*;
use super::crash::seed;
use super::procs::*;

/// A device's download of one bucket: pages in `seq` order, each checked against its checksum.
struct Download {
    bucket: String,
    checkpoint: i64,
    checksum: u32,
    changes: Vec<Change>,
}

impl Download {
    fn new(bucket: String) -> Download {
        Download {
            bucket,
            checkpoint: 0,
            checksum: 0,
            changes: Vec::new(),
        }
    }

    /// One page from `url`; whether there was more.
    fn step(&mut self, agent: &ureq::Agent, url: &str, token: &str, limit: usize) -> bool {
        let p = match page(agent, url, token, &self.bucket, self.checkpoint, limit) {
            Ok(p) => p,
            Err(e) => panic!("a page of {} from {url}: {e}", self.bucket),
        };
        assert_eq!(p.generation, 1);
        for c in &p.changes {
            assert!(
                c.seq > self.checkpoint,
                "{}: change {} after {}",
                self.bucket,
                c.seq,
                self.checkpoint
            );
        }
        let sum = fold_checksum(self.checksum, &p.changes);
        assert_eq!(
            sum, p.checksum,
            "{}: the running checksum at {} from {url} differs from the device's: a change was skipped",
            self.bucket, p.checkpoint
        );
        self.checksum = sum;
        if let Some(last) = p.changes.last() {
            assert_eq!(p.checkpoint, last.seq);
        }
        self.checkpoint = p.checkpoint;
        self.changes.extend(p.changes);
        p.more
    }
}

#[test]
fn two_hubs_on_one_postgres_apply_each_command_once() {
    let Some(db) = dbs("twohubs").into_iter().find(|d| d.name == "postgres") else {
        eprintln!("two_hubs_on_one_postgres: skipped: LOTLINE_TEST_PG unset (it needs PostgreSQL)");
        return;
    };
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed("twohubs"));
    let store = seeded(&db);
    let hubs = [HubProc::start(&db.url), HubProc::start(&db.url)];
    let urls: [String; 2] = [hubs[0].url.clone(), hubs[1].url.clone()];
    let e = enroll_http(&store, &urls[0]);
    let token = e.token.clone();
    let mut ob = Outbox::new(e.device_id, e.token);
    const N: usize = 4000;
    for _ in 0..N {
        ob.generate(&mut rng);
    }

    // The downloader: pages from either hub, alternately, while the uploads go on.
    let uploading = Arc::new(AtomicBool::new(true));
    let downloads = Arc::new(Mutex::new(vec![
        Download::new(site_bucket("S1")),
        Download::new(GLOBAL_BUCKET.into()),
    ]));
    let downloader = {
        let (uploading, downloads, urls, token) = (uploading.clone(), downloads.clone(), urls.clone(), token.clone());
        let mut rng = StdRng::seed_from_u64(rng.random());
        std::thread::spawn(move || {
            let agent = agent();
            let mut pages = 0;
            while uploading.load(Ordering::SeqCst) {
                let mut d = downloads.lock().unwrap();
                for d in d.iter_mut() {
                    d.step(&agent, &urls[rng.random_range(0..2)], &token, rng.random_range(1..=300));
                    pages += 1;
                }
            }
            pages
        })
    };

    let agent = agent();
    let (mut both, mut single, mut overlapping) = (0, 0, 0);
    let mut next = 0;
    let mut retried = 0;
    while let Some(first) = ob.first_unacked() {
        match rng.random_range(0..3) {
            // The same batch to both hubs at once.
            0 => {
                both += 1;
                let (_, body) = ob.batch_from(first, rng.random_range(1..=250));
                let rs: Vec<_> = std::thread::scope(|s| {
                    let t: Vec<_> = urls
                        .iter()
                        .map(|u| s.spawn(|| post_batch(&agent, u, &token, &body)))
                        .collect();
                    t.into_iter().map(|t| t.join().unwrap()).collect()
                });
                for r in rs {
                    ob.take(&r.expect("both hubs answer"));
                }
            }
            // Overlapping batches to both at once: the later one may find a gap (retry_later).
            1 => {
                overlapping += 1;
                let k = rng.random_range(1..=400);
                let (_, a) = ob.batch_from(first, k);
                let second = (first + rng.random_range(0..k)).min(ob.len() - 1);
                let (_, b) = ob.batch_from(second, rng.random_range(1..=400));
                let rs: Vec<_> = std::thread::scope(|s| {
                    let ta = s.spawn(|| post_batch(&agent, &urls[0], &token, &a));
                    let tb = s.spawn(|| post_batch(&agent, &urls[1], &token, &b));
                    vec![ta.join().unwrap(), tb.join().unwrap()]
                });
                for r in rs {
                    let r = r.expect("both hubs answer");
                    retried += r
                        .outcomes
                        .iter()
                        .filter(|o| matches!(o.outcome, Outcome::RetryLater { .. }))
                        .count();
                    ob.take(&r);
                }
            }
            // One hub, the other one next time (a retry goes to the other hub).
            _ => {
                single += 1;
                let (_, body) = ob.batch_from(first, rng.random_range(1..=250));
                let r = post_batch(&agent, &urls[next], &token, &body).expect("the hub answers");
                ob.take(&r);
                next = 1 - next;
            }
        }
    }
    uploading.store(false, Ordering::SeqCst);
    let pages = downloader.join().unwrap();
    // The device catches up from where it stood, from either hub.
    let mut downloads = std::mem::take(&mut *downloads.lock().unwrap());
    for (i, d) in downloads.iter_mut().enumerate() {
        while d.step(&agent, &urls[i % 2], &token, 500) {}
    }

    let store = Store::open(&db.url).unwrap();
    check_exactly_once(&store, &ob, "two hubs");
    // What it put together page by page while the hubs wrote is the whole log, in commit order.
    let all = all_changes(&store);
    for d in &downloads {
        let want: Vec<&Change> = all
            .iter()
            .filter(|(b, ..)| *b == d.bucket)
            .map(|(_, c, ..)| c)
            .collect();
        assert_eq!(
            d.changes.iter().collect::<Vec<_>>(),
            want,
            "{}: downloaded log",
            d.bucket
        );
    }
    // From 0, both hubs serve the same log.
    for bucket in [site_bucket("S1"), GLOBAL_BUCKET.to_string()] {
        let logs: Vec<(Vec<Change>, u32)> = urls
            .iter()
            .map(|u| {
                let mut d = Download::new(bucket.clone());
                while d.step(&agent, u, &token, 10_000) {}
                (d.changes, d.checksum)
            })
            .collect();
        assert_eq!(logs[0], logs[1], "{bucket}: the two hubs' logs");
    }
    let stock: BTreeMap<_, _> = ob.expect.stock.iter().filter(|(_, q)| **q != 0).collect();
    eprintln!(
        "two hubs: {N} commands ({both} batches to both at once, {overlapping} overlapping pairs with {retried} \
         retry_later, {single} to one hub in turn), {pages} pages downloaded meanwhile, stock {stock:?}, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(hubs);
}
