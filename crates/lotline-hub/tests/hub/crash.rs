//! The hub SIGKILLed in the middle of uploads, restarted on the same database; a device retrying
//! what it has not seen acknowledged. Every command must end up recorded and applied once.
//!
//! `LOTLINE_LONG_TESTS=1` makes 200 kills instead of 20; `LOTLINE_TEST_SEED` replays a run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lotline_hub::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::common::*;
use super::procs::*;

fn trials() -> usize {
    if std::env::var("LOTLINE_LONG_TESTS").is_ok_and(|v| v == "1") {
        200
    } else {
        20
    }
}

pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("LOTLINE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("{test}: seed {seed} (LOTLINE_TEST_SEED={seed} replays it)");
    seed
}

#[test]
fn a_hub_killed_mid_batch_applies_each_command_once() {
    let trials = trials();
    for db in dbs("kill9") {
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(seed("kill9"));
        let store = seeded(&db);
        let hub = HubProc::start(&db.url);
        let e = enroll_http(&store, &hub.url);
        drop(store);

        let url = Arc::new(Mutex::new(hub.url.clone()));
        let hub = Arc::new(Mutex::new(hub));
        let posts = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicBool::new(false));
        let killing_done = Arc::new(AtomicBool::new(false));
        let client_done = Arc::new(AtomicBool::new(false));

        let client = {
            let (url, posts, in_flight, killing_done, client_done) = (
                url.clone(),
                posts.clone(),
                in_flight.clone(),
                killing_done.clone(),
                client_done.clone(),
            );
            let mut rng = StdRng::seed_from_u64(rng.random());
            std::thread::spawn(move || {
                let agent = agent();
                let mut ob = Outbox::new(e.device_id, e.token);
                let (mut failures, mut batches) = (0usize, 0usize);
                let began = Instant::now();
                loop {
                    assert!(
                        began.elapsed() < Duration::from_secs(600),
                        "the device could not get its commands acknowledged in 10 minutes \
                         ({batches} batches, {failures} failed)"
                    );
                    // Operators keep working while the hub is up and down.
                    if !killing_done.load(Ordering::SeqCst) {
                        let pending = ob.len() - ob.first_unacked().unwrap_or(ob.len());
                        if pending < 1500 {
                            for _ in 0..rng.random_range(1..=400) {
                                ob.generate(&mut rng);
                            }
                        }
                    }
                    let Some(first) = ob.first_unacked() else {
                        if killing_done.load(Ordering::SeqCst) {
                            break;
                        }
                        continue;
                    };
                    let (_, body) = ob.batch_from(first, rng.random_range(1..=500));
                    let u = url.lock().unwrap().clone();
                    in_flight.store(true, Ordering::SeqCst);
                    posts.fetch_add(1, Ordering::SeqCst);
                    let r = post_batch(&agent, &u, &ob.token, &body);
                    in_flight.store(false, Ordering::SeqCst);
                    batches += 1;
                    match r {
                        Ok(r) => {
                            ob.take(&r);
                        }
                        Err(_) => {
                            failures += 1;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
                client_done.store(true, Ordering::SeqCst);
                (ob, batches, failures)
            })
        };

        let mut mid_request = 0;
        for _ in 0..trials {
            // Let the device start a batch on this hub, then kill it at a random moment.
            let before = posts.load(Ordering::SeqCst);
            let waited = Instant::now();
            while posts.load(Ordering::SeqCst) == before
                && waited.elapsed() < Duration::from_secs(30)
                && !client.is_finished()
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_micros(rng.random_range(0..150_000)));
            let mut h = hub.lock().unwrap();
            if in_flight.load(Ordering::SeqCst) {
                mid_request += 1;
            }
            h.kill9();
            *h = HubProc::start(&db.url);
            *url.lock().unwrap() = h.url.clone();
        }
        killing_done.store(true, Ordering::SeqCst);
        let (ob, batches, failures) = client.join().unwrap();
        assert!(client_done.load(Ordering::SeqCst));
        eprintln!(
            "kill9 ({}): {} commands, {trials} kills ({mid_request} while a request was out), {batches} batches \
             ({failures} failed) in {:.1} s",
            db.name,
            ob.len(),
            started.elapsed().as_secs_f64()
        );
        assert!(mid_request > 0, "no kill landed while a request was out");
        drop(hub);
        let store = Store::open(&db.url).unwrap();
        check_exactly_once(&store, &ob, db.name);
    }
}
