//! The hub SIGKILLed in the middle of uploads, restarted on the same database; a device retrying
//! what it has not seen acknowledged. Every command must end up recorded and applied once.
//!
//! `LOTLINE_LONG_TESTS=1` makes 200 kills instead of 20; `LOTLINE_TEST_SEED` replays a run.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lotline_hub::Store;
use lotline_protocol::sync::Outcome;
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
        // Uploads begun, and the hub the last one went to.
        let posts = Arc::new(Mutex::new((0usize, String::new())));
        // Uploads answered, and how long one takes in ms (moving average): kills are spread over
        // that time, longer when none was answered since the last kill.
        let answered = Arc::new(AtomicUsize::new(0));
        let answer_ms = Arc::new(AtomicU64::new(100));
        let in_flight = Arc::new(AtomicBool::new(false));
        let killing_done = Arc::new(AtomicBool::new(false));
        let client_done = Arc::new(AtomicBool::new(false));

        let client = {
            let (url, posts, answered, answer_ms, in_flight, killing_done, client_done) = (
                url.clone(),
                posts.clone(),
                answered.clone(),
                answer_ms.clone(),
                in_flight.clone(),
                killing_done.clone(),
                client_done.clone(),
            );
            let mut rng = StdRng::seed_from_u64(rng.random());
            std::thread::spawn(move || {
                let agent = agent();
                let mut ob = Outbox::new(e.device_id, e.token);
                let (mut failures, mut batches, mut replayed) = (0usize, 0usize, 0usize);
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
                    let sent_at = lotline_hub::now();
                    let sent = Instant::now();
                    in_flight.store(true, Ordering::SeqCst);
                    {
                        let mut p = posts.lock().unwrap();
                        *p = (p.0 + 1, u.clone());
                    }
                    let r = post_batch(&agent, &u, &ob.token, &body);
                    in_flight.store(false, Ordering::SeqCst);
                    batches += 1;
                    match r {
                        Ok(r) => {
                            let ms = sent.elapsed().as_millis() as u64;
                            let avg = answer_ms.load(Ordering::SeqCst);
                            answer_ms.store((avg * 3 + ms) / 4, Ordering::SeqCst);
                            answered.fetch_add(1, Ordering::SeqCst);
                            // Recorded before this upload was sent: by one whose answer was lost.
                            replayed += r
                                .outcomes
                                .iter()
                                .filter(
                                    |o| matches!(&o.outcome, Outcome::Applied { applied_at } if *applied_at < sent_at),
                                )
                                .count();
                            ob.take(&r);
                        }
                        Err(_) => {
                            failures += 1;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
                client_done.store(true, Ordering::SeqCst);
                (ob, batches, failures, replayed)
            })
        };

        let mut mid_request = 0;
        let mut spread_ms = 100;
        let mut answered_before = 0;
        for _ in 0..trials {
            // Let the device start a batch on this hub, then kill it at a random moment.
            let before = posts.lock().unwrap().0;
            let current = url.lock().unwrap().clone();
            let waited = Instant::now();
            while {
                let p = posts.lock().unwrap();
                p.0 == before || p.1 != current
            } && waited.elapsed() < Duration::from_secs(30)
                && !client.is_finished()
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            let now_answered = answered.load(Ordering::SeqCst);
            spread_ms = if now_answered == answered_before {
                (spread_ms * 2).min(4000)
            } else {
                answer_ms.load(Ordering::SeqCst) * 3 / 2 + 5
            };
            answered_before = now_answered;
            std::thread::sleep(Duration::from_micros(rng.random_range(0..spread_ms * 1000)));
            let mut h = hub.lock().unwrap();
            if in_flight.load(Ordering::SeqCst) {
                mid_request += 1;
            }
            h.kill9();
            *h = HubProc::start(&db.url);
            *url.lock().unwrap() = h.url.clone();
        }
        killing_done.store(true, Ordering::SeqCst);
        let (ob, batches, failures, replayed) = client.join().unwrap();
        assert!(client_done.load(Ordering::SeqCst));
        eprintln!(
            "kill9 ({}): {} commands, {trials} kills ({mid_request} while a request was out), {batches} batches \
             ({failures} failed; {replayed} commands answered again after a lost answer) in {:.1} s",
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
