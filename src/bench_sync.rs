//! `lotline bench sync`: the device's side of sync against a real lotline-hub on loopback (the
//! embedded hub, SQLite), in one run:
//!
//! - a first download of a large hub (1,000,000 lots and their stock by default) into an empty
//!   cache: rows applied per second and the peak resident memory while downloading;
//! - draining queued commands (10,000 by default) to the hub: seconds per drain, median of rounds;
//! - the verdict on the device against the same lot looked up over HTTP from the hub: the ratio.
//!
//! Figures, not assertions: README quotes them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::app::check::{CheckContext, check_scan};
use crate::domain::command::Command;
use crate::domain::policy::Gate;
use crate::domain::workflow::{Action, AuditFacts};
use crate::store::Store;

/// Queues `n` quick-check scans (what the scan screen records for each scan judged without a
/// task), in transactions of 1,000 through the store's one write path: real commands with their
/// audit entries, as a busy shift leaves them while the link is down.
pub fn queue_quick_checks(store: &mut Store, n: usize, at: DateTime<FixedOffset>) -> anyhow::Result<usize> {
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(1000);
        let actions: Vec<Action> = (done..done + chunk)
            .map(|i| {
                let scan = format!("]d20106901234500028172712311000Q{i:06}");
                Action {
                    command: Command::Scan {
                        gate: "pick".into(),
                        task: None,
                        scan: scan.clone(),
                        verdict: "accept".into(),
                        reasons: vec![],
                        item: Some("F200".into()),
                        lot: Some(format!("Q{i:06}")),
                    },
                    operator: Some("bench".into()),
                    audit: AuditFacts {
                        gate: Some(Gate::Pick),
                        scan: Some(scan),
                        verdict: Some("accept"),
                        item_id: Some("F200".into()),
                        ..AuditFacts::default()
                    },
                    changes: vec![],
                }
            })
            .collect();
        store.commit(&actions, at)?;
        done += chunk;
    }
    Ok(done)
}

fn now() -> DateTime<FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// Resets the peak resident set size the kernel keeps (VmHWM), so the next reading is the peak
/// of what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The hub's database for `lots` lots, kept in `dir` between runs (importing it takes minutes).
fn bench_hub(dir: &Path, lots: usize) -> anyhow::Result<lotline_hub::Store> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("bench-hub-{lots}.db"));
    let done = dir.join(format!("bench-hub-{lots}.done"));
    if path.exists() && done.exists() {
        return Ok(lotline_hub::Store::open(path.to_str().context("path")?)?);
    }
    for p in [&path, &done] {
        let _ = std::fs::remove_file(p);
    }
    let file = dir.join(format!("bench-hub-{lots}.json"));
    tracing::info!(
        "generating the hub's master data ({lots} lots) in {} ...",
        path.display()
    );
    let t = Instant::now();
    crate::bench::write_import_file(&file, lots)?;
    let store = lotline_hub::Store::open(path.to_str().context("path")?)?;
    let report = lotline_hub::import_file(&store, &file, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = std::fs::remove_file(&file);
    std::fs::write(&done, format!("{report:?}"))?;
    tracing::info!("  done in {:.1} s", t.elapsed().as_secs_f64());
    Ok(store)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Runs sync cycles until the queue is empty and every bucket current; returns the rows
/// downloaded, the commands uploaded and the seconds spent applying pages.
fn sync_until_current(
    rt: &tokio::runtime::Runtime,
    store: &mut Store,
    client: &crate::sync::HubClient,
) -> anyhow::Result<(usize, usize, f64)> {
    let (mut rows, mut uploaded, mut apply_us) = (0, 0, 0);
    for _ in 0..1000 {
        let r = rt.block_on(crate::sync::cycle(store, client, &now, &mut |_| {}))?;
        rows += r.downloaded;
        uploaded += r.uploaded;
        apply_us += r.apply_us;
        if r.current() {
            return Ok((rows, uploaded, apply_us as f64 / 1e6));
        }
    }
    anyhow::bail!("sync did not become current in 1000 cycles")
}

pub fn sync(lots: usize, commands: usize, rounds: usize, lookups: usize, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let cache = dir.unwrap_or_else(|| std::env::temp_dir().join("lotline-bench"));
    let hub_store = bench_hub(&cache, lots)?;
    let hub = lotline_hub::EmbeddedHub::start(hub_store.clone(), "127.0.0.1:0")?;
    let rt = crate::sync::runtime()?;
    let work = tempfile_dir(&cache)?;

    // 1. First downloads, each into an empty cache (the last one is kept for what follows).
    let mut walls = vec![];
    let mut applying = vec![];
    let mut peak_kib = 0;
    let mut rows = 0;
    let mut kept = None;
    for round in 0..rounds.max(1) {
        let db = work.join(format!("device-{round}.db"));
        let mut store = Store::create(&db)?;
        let code = lotline_hub::enroll_code(&hub_store, "bench", chrono::Duration::minutes(10))?;
        rt.block_on(crate::sync::enroll(&mut store, &hub.url, &code, None, false))?;
        let client = crate::sync::client_for(&store)?;
        reset_peak_rss();
        let t = Instant::now();
        let (n, _, apply_s) = sync_until_current(&rt, &mut store, &client)?;
        let secs = t.elapsed().as_secs_f64();
        peak_kib = peak_kib.max(crate::bench::rss_kib("VmHWM:").unwrap_or(0));
        anyhow::ensure!(
            store.count("lots")? as usize == lots,
            "round {round}: not every lot arrived"
        );
        rows = n;
        walls.push(n as f64 / secs);
        applying.push(n as f64 / apply_s.max(1e-9));
        if let Some((old, _, _)) = kept.replace((db, store, client)) {
            let _ = std::fs::remove_file(&old);
        }
    }
    let (_, mut store, client) = kept.context("no round")?;
    println!(
        "first download  {rows} rows ({lots} lots and their stock) into an empty cache: median {:.0} rows/s wall clock, {:.0} rows/s applying pages, over {} rounds {:?}; peak RSS {:.0} MiB (hub in the same process)",
        median(walls.clone()),
        median(applying),
        walls.len(),
        walls.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>(),
        peak_kib as f64 / 1024.0,
    );

    // 2. Draining queued commands.
    let mut drains = vec![];
    for round in 0..rounds.max(1) {
        queue_quick_checks(&mut store, commands, now())?;
        let t = Instant::now();
        let (_, uploaded, _) = sync_until_current(&rt, &mut store, &client)?;
        let s = t.elapsed().as_secs_f64();
        anyhow::ensure!(uploaded == commands, "round {round}: {uploaded} of {commands} uploaded");
        drains.push(s);
    }
    let drain = median(drains.clone());
    println!(
        "drain           {commands} commands to the hub on loopback: median {drain:.2} s ({:.0} commands/s) over {} rounds {:?}",
        commands as f64 / drain,
        drains.len(),
        drains.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>()
    );

    // 3. The verdict on the device against an HTTP look-up of the same lot.
    let mut rng = SmallRng::seed_from_u64(11);
    let max_id: i64 = store.conn().query_row("SELECT MAX(id) FROM lots", [], |r| r.get(0))?;
    let mut st = store.conn().prepare(
        "SELECT b.code, l.lot, l.expiry FROM lots l JOIN barcodes b ON b.item_id = l.item_id AND b.kind = 'gtin' WHERE l.id = ?1",
    )?;
    let mut sample = vec![];
    while sample.len() < lookups {
        let id = rng.random_range(1..=max_id);
        if let Ok((gtin, lot, expiry)) = st.query_row([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        }) {
            sample.push((gtin, lot, expiry));
        }
    }
    drop(st);
    let (y, m, d) = (2026, 6, 1);
    let today = NaiveDate::from_ymd_opt(y, m, d).context("date")?;
    let ctx = CheckContext::default();
    let mut device_us = vec![];
    for (gtin, lot, expiry) in &sample {
        let scan = format!(
            "]d201{gtin}17{}{}{}10{lot}",
            &expiry[2..4],
            &expiry[5..7],
            &expiry[8..10]
        );
        let t = Instant::now();
        std::hint::black_box(check_scan(&store, Gate::Pick, scan.as_bytes(), &ctx, today)?);
        device_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mut http_us = vec![];
    rt.block_on(async {
        for (gtin, lot, _) in &sample {
            let t = Instant::now();
            std::hint::black_box(client.lot(gtin, lot).await?);
            http_us.push(t.elapsed().as_secs_f64() * 1e6);
        }
        Ok::<(), anyhow::Error>(())
    })?;
    let (dev, net) = (median(device_us), median(http_us));
    println!(
        "verdict         on the device {dev:.1} µs (median of {lookups}); the same lot over HTTP from the hub on loopback {net:.1} µs; ratio {:.1}×",
        net / dev
    );
    hub.stop();
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn tempfile_dir(cache: &Path) -> anyhow::Result<PathBuf> {
    let p = cache.join(format!("sync-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p)?;
    Ok(p)
}
