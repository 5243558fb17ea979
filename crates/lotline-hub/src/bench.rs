//! `lotline-hub bench`: simulated devices uploading concurrently over HTTP on loopback.

use std::io::Write as _;
use std::time::Instant;

use lotline_protocol::sync::{EnrollRequest, EnrollResponse, UploadRequest, UploadResponse, path};
use lotline_protocol::{CommandEnvelope, PROTOCOL_VERSION};
use serde_json::json;

use crate::db::Store;
use crate::error::HubError;
use crate::http::EmbeddedHub;

#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchResult {
    pub devices: usize,
    pub commands: usize,
    pub seconds: f64,
    pub commands_per_s: f64,
}

/// Commands per upload in the bench.
const BATCH: usize = 100;

fn io(e: impl std::fmt::Display) -> HubError {
    HubError::Io(e.to_string())
}

/// gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("writing to a Vec");
    e.finish().expect("writing to a Vec")
}

struct Dev {
    id: String,
    token: String,
    seq: i64,
}

/// Three rounds of `commands` commands from `devices` devices; the median round.
pub fn run(store: &Store, devices: usize, commands: usize) -> Result<BenchResult, HubError> {
    let devices = devices.max(1);
    let hub = EmbeddedHub::start(store.clone(), "127.0.0.1:0")?;
    let agent = ureq::AgentBuilder::new().build();
    let mut devs = Vec::new();
    for i in 0..devices {
        let code = crate::auth::enroll_code(store, "bench", chrono::Duration::hours(1))?;
        let req = EnrollRequest {
            code,
            name: Some(format!("bench-{i}")),
            schema_version: lotline_domain::command::SCHEMA_VERSION,
            protocol_version: PROTOCOL_VERSION,
        };
        let r: EnrollResponse = agent
            .post(&format!("{}{}", hub.url, path::ENROLL))
            .send_json(&req)
            .map_err(io)?
            .into_json()
            .map_err(io)?;
        devs.push(Dev {
            id: r.device_id,
            token: r.token,
            seq: 0,
        });
    }
    let per = commands.div_ceil(devices);
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let url = hub.url.clone();
        let results: Vec<Result<(), HubError>> = std::thread::scope(|s| {
            let handles: Vec<_> = devs
                .iter_mut()
                .map(|d| {
                    let url = url.clone();
                    let agent = agent.clone();
                    s.spawn(move || upload(&agent, &url, d, per))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(io("a device thread panicked"))))
                .collect()
        });
        for r in results {
            r?;
        }
        rounds.push(started.elapsed().as_secs_f64());
    }
    hub.stop();
    rounds.sort_by(|a, b| a.total_cmp(b));
    let seconds = rounds[1];
    let total = per * devices;
    Ok(BenchResult {
        devices,
        commands: total,
        seconds,
        commands_per_s: total as f64 / seconds,
    })
}

fn upload(agent: &ureq::Agent, url: &str, d: &mut Dev, n: usize) -> Result<(), HubError> {
    let mut left = n;
    while left > 0 {
        let k = left.min(BATCH);
        let cmds: Vec<CommandEnvelope> = (0..k)
            .map(|i| {
                let seq = d.seq + 1 + i as i64;
                CommandEnvelope {
                    id: uuid::Uuid::now_v7().to_string(),
                    device_id: d.id.clone(),
                    seq,
                    kind: "scan".into(),
                    schema_version: lotline_domain::command::SCHEMA_VERSION,
                    created_at: crate::now(),
                    operator: Some("bench".into()),
                    payload: json!({"gate": "receive", "task": null, "scan": format!("(01)09506000134352(10)B{seq}"),
                                    "verdict": "ok", "reasons": [], "item": "P1", "lot": format!("B{seq}")}),
                }
            })
            .collect();
        let body = serde_json::to_vec(&UploadRequest {
            device_id: d.id.clone(),
            schema_version: lotline_domain::command::SCHEMA_VERSION,
            commands: cmds,
        })
        .map_err(io)?;
        let r: UploadResponse = agent
            .post(&format!("{url}{}", path::COMMANDS))
            .set("Authorization", &format!("Bearer {}", d.token))
            .set("Content-Type", "application/json")
            .set("Content-Encoding", "gzip")
            .send_bytes(&gzip(&body))
            .map_err(io)?
            .into_json()
            .map_err(io)?;
        if r.recorded_through != d.seq + k as i64 {
            return Err(io(format!(
                "device {} expected recorded_through {}, the hub says {}",
                d.id,
                d.seq + k as i64,
                r.recorded_through
            )));
        }
        d.seq += k as i64;
        left -= k;
    }
    Ok(())
}
