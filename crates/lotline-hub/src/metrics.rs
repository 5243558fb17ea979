//! Prometheus metrics: counters kept in the process, device gauges read from the store.

use std::fmt::Write as _;
use std::sync::Mutex;

use crate::apply::BatchStats;
use crate::db::Store;
use crate::error::HubError;

/// Upper bounds (seconds) of the queue-lag histogram's buckets.
const LAG_BOUNDS: [f64; 10] = [1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0, 604800.0];

#[derive(Default)]
struct Counters {
    applied: u64,
    rejected: u64,
    already_recorded: u64,
    retry_later: u64,
    lag_buckets: [u64; LAG_BOUNDS.len()],
    lag_count: u64,
    lag_sum: f64,
}

#[derive(Default)]
pub(crate) struct Metrics {
    c: Mutex<Counters>,
}

impl Metrics {
    pub(crate) fn record_batch(&self, s: &BatchStats) {
        let mut c = self.c.lock().unwrap_or_else(|p| p.into_inner());
        c.applied += s.counts.applied as u64;
        c.rejected += s.counts.rejected as u64;
        c.already_recorded += s.counts.already_recorded as u64;
        c.retry_later += s.counts.retry_later as u64;
        for &lag in &s.lags {
            for (i, b) in LAG_BOUNDS.iter().enumerate() {
                if lag <= *b {
                    c.lag_buckets[i] += 1;
                }
            }
            c.lag_count += 1;
            c.lag_sum += lag;
        }
    }
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The text exposition of every metric.
pub fn render(store: &Store) -> Result<String, HubError> {
    let mut out = String::new();
    {
        let c = store.inner.metrics.c.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP lotline_hub_commands_total Commands received, by outcome.\n");
        out.push_str("# TYPE lotline_hub_commands_total counter\n");
        for (o, n) in [
            ("applied", c.applied),
            ("rejected", c.rejected),
            ("already_recorded", c.already_recorded),
            ("retry_later", c.retry_later),
        ] {
            let _ = writeln!(out, "lotline_hub_commands_total{{outcome=\"{o}\"}} {n}");
        }
        out.push_str(
            "# HELP lotline_hub_queue_lag_seconds From a command's creation on the device to its recording on the hub.\n",
        );
        out.push_str("# TYPE lotline_hub_queue_lag_seconds histogram\n");
        for (i, b) in LAG_BOUNDS.iter().enumerate() {
            let _ = writeln!(
                out,
                "lotline_hub_queue_lag_seconds_bucket{{le=\"{b}\"}} {}",
                c.lag_buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "lotline_hub_queue_lag_seconds_bucket{{le=\"+Inf\"}} {}",
            c.lag_count
        );
        let _ = writeln!(out, "lotline_hub_queue_lag_seconds_sum {}", c.lag_sum);
        let _ = writeln!(out, "lotline_hub_queue_lag_seconds_count {}", c.lag_count);
    }
    let devices = store.read(|tx| tx.query("SELECT id, site, last_seen FROM devices ORDER BY id", &[]))?;
    out.push_str("# HELP lotline_hub_devices Enrolled devices.\n# TYPE lotline_hub_devices gauge\n");
    let _ = writeln!(out, "lotline_hub_devices {}", devices.len());
    out.push_str("# HELP lotline_hub_device_last_seen_seconds When each device last called (Unix time).\n");
    out.push_str("# TYPE lotline_hub_device_last_seen_seconds gauge\n");
    for d in devices {
        let Some(seen) = d[2].opt_text() else { continue };
        let Ok(t) = chrono::DateTime::parse_from_rfc3339(&seen) else {
            continue;
        };
        let _ = writeln!(
            out,
            "lotline_hub_device_last_seen_seconds{{device=\"{}\",site=\"{}\"}} {}",
            label(&d[0].text()),
            label(&d[1].text()),
            t.timestamp_millis() as f64 / 1000.0
        );
    }
    // Per device, from the store (so every hub on one database shows the same, and a restart
    // loses nothing): its newest applied command's wait between creation and recording.
    let lags = store.read(|tx| {
        tx.query(
            "SELECT d.id, d.site, c.created_at, c.recorded_at FROM devices d
             JOIN commands c ON c.device_id = d.id
              AND c.seq = (SELECT MAX(seq) FROM commands WHERE device_id = d.id AND outcome = 'applied')
             ORDER BY d.id",
            &[],
        )
    })?;
    out.push_str(
        "# HELP lotline_hub_device_queue_lag_seconds Per device, how long its newest applied command waited \
         between its creation on the device and its recording on the hub.\n",
    );
    out.push_str("# TYPE lotline_hub_device_queue_lag_seconds gauge\n");
    for d in lags {
        let (Ok(created), Ok(recorded)) = (
            chrono::DateTime::parse_from_rfc3339(&d[2].text()),
            chrono::DateTime::parse_from_rfc3339(&d[3].text()),
        ) else {
            continue;
        };
        let lag = recorded.signed_duration_since(created).num_milliseconds().max(0) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "lotline_hub_device_queue_lag_seconds{{device=\"{}\",site=\"{}\"}} {lag}",
            label(&d[0].text()),
            label(&d[1].text()),
        );
    }
    Ok(out)
}
