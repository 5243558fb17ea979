//! The HTTP exchange between a device and lotline-hub (`docs/sync-protocol.md`, `docs/openapi.yaml`).
//!
//! Every call but enrolment carries `Authorization: Bearer <token>`. Bodies are JSON; uploads and
//! change pages are gzip-compressed (`Content-Encoding: gzip`). An error is an HTTP status with an
//! [`ErrorBody`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::CommandEnvelope;

/// Paths, relative to the hub's base URL.
pub mod path {
    /// `POST` [`EnrollRequest`](super::EnrollRequest) → [`EnrollResponse`](super::EnrollResponse).
    pub const ENROLL: &str = "/v1/enroll";
    /// `POST` [`UploadRequest`](super::UploadRequest) → [`UploadResponse`](super::UploadResponse).
    pub const COMMANDS: &str = "/v1/commands";
    /// `GET` → [`BucketList`](super::BucketList): the buckets this device may read.
    pub const BUCKETS: &str = "/v1/buckets";
    /// `GET /v1/buckets/{bucket}/changes?after=SEQ&generation=G&limit=N` → [`ChangePage`](super::ChangePage).
    pub const CHANGES_PREFIX: &str = "/v1/buckets/";
    /// `GET /v1/lots/{gtin}/{lot}` → [`LotInfo`](super::LotInfo): one lot as the hub knows it.
    pub const LOTS_PREFIX: &str = "/v1/lots/";
    /// `POST` [`LotStatusRequest`](super::LotStatusRequest) → [`LotInfo`](super::LotInfo) (an operator token of
    /// the hub's admin, see `lotline-hub token`).
    pub const LOT_STATUS: &str = "/v1/lot-status";
    /// `GET`: the OpenAPI 3 description of these calls (YAML).
    pub const OPENAPI: &str = "/openapi.yaml";
    /// `GET`: Prometheus metrics (text exposition format).
    pub const METRICS: &str = "/metrics";
    /// `GET` → [`Health`](super::Health), no token.
    pub const HEALTH: &str = "/v1/health";
}

/// The bucket every device reads: company-wide master data (items, barcodes, categories, lots and
/// their status, serials, customers) and whatever was imported without a site.
pub const GLOBAL_BUCKET: &str = "global";

/// A site's bucket: its locations, stock, operators and unassigned tasks.
pub fn site_bucket(site: &str) -> String {
    format!("site:{site}")
}

/// A device's own bucket: the tasks assigned to it.
pub fn device_bucket(device_id: &str) -> String {
    format!("device:{device_id}")
}

/// The largest upload batch, in commands and in uncompressed bytes.
pub const MAX_BATCH_COMMANDS: usize = 500;
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// The largest change page a hub serves.
pub const MAX_PAGE_CHANGES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The one-time code from `lotline-hub enroll`.
    pub code: String,
    /// A name for the device (its host name), shown by the hub.
    #[serde(default)]
    pub name: Option<String>,
    /// The device's command schema (`lotline_domain::command::SCHEMA_VERSION`).
    pub schema_version: u32,
    pub protocol_version: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    /// The bearer token for every later call; the hub keeps only its hash.
    pub token: String,
    pub site: String,
    /// RFC 3339, the hub's clock.
    pub hub_time: String,
}

/// A batch of commands, in `seq` order (at most [`MAX_BATCH_COMMANDS`] / [`MAX_BATCH_BYTES`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadRequest {
    pub device_id: String,
    pub schema_version: u32,
    pub commands: Vec<CommandEnvelope>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadResponse {
    /// One per command sent, in the order sent.
    pub outcomes: Vec<CommandOutcome>,
    /// Set when the batch does not follow what the hub has: the commands from the gap on are
    /// `retry_later`.
    #[serde(default)]
    pub gap: Option<SeqGap>,
    /// The highest `seq` of this device the hub has recorded (applied or rejected), gapless.
    pub recorded_through: i64,
    pub hub_time: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandOutcome {
    pub id: String,
    pub seq: i64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What became of a command. `applied` and `rejected` are final and stored with the command:
/// sending it again returns the same outcome. `retry_later` is not stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Applied {
        /// RFC 3339, the hub's clock.
        applied_at: String,
    },
    Rejected {
        code: String,
        message: String,
        message_zh: String,
        /// What the device needs to compensate (the lot, its status and when it changed, the
        /// quantity and location of the refused movement).
        #[serde(default)]
        details: Value,
        /// RFC 3339.
        #[serde(default)]
        rejected_at: String,
    },
    RetryLater {
        reason: String,
    },
}

/// `expected` is the next `seq` the hub needs from this device; the batch started at `received`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqGap {
    pub expected: i64,
    pub received: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketList {
    pub buckets: Vec<BucketInfo>,
    pub hub_time: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketInfo {
    pub name: String,
    /// Raised by the hub to order the bucket fetched again from the start.
    pub generation: i64,
    /// The bucket's latest change.
    pub head: i64,
    /// Changes in the bucket after 0 (for a first download's progress).
    pub changes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePage {
    pub bucket: String,
    pub generation: i64,
    /// In `seq` order, all after the `after` asked for.
    pub changes: Vec<Change>,
    /// Where the device stands once it has applied this page (the last change's `seq`, or the
    /// `after` asked for when there was none).
    pub checkpoint: i64,
    /// The bucket's checksum through `checkpoint`: the wrapping sum of [`change_checksum`] of
    /// every change from the start.
    pub checksum: u32,
    /// More changes follow `checkpoint`.
    pub more: bool,
    /// Changes after `checkpoint` (for progress).
    pub remaining: i64,
    /// The highest `seq` of the asking device the hub had recorded when this page was read: its
    /// data includes the effects of every command up to it.
    pub device_recorded_through: i64,
}

/// One change of server-owned data. `op` `delete` is a tombstone (no `data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub seq: i64,
    /// `category`, `item`, `barcode`, `lot`, `serial`, `location`, `stock`, `customer`,
    /// `operator` or `task` (the shapes in [`crate::rows`]).
    pub table: String,
    pub key: String,
    pub op: ChangeOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Put,
    Delete,
}

/// One change's checksum: CRC-32 (ISO-HDLC) of `seq`, `table`, `key`, `op` and the canonical
/// JSON of `data` (object keys sorted), tab-separated. Both sides compute it from the values, so
/// it does not depend on how either side orders keys.
pub fn change_checksum(c: &Change) -> u32 {
    use std::io::Write;
    thread_local! {
        // Reused: a first download checksums a million changes.
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let op = match c.op {
        ChangeOp::Put => "put",
        ChangeOp::Delete => "delete",
    };
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        // Writing to a Vec cannot fail.
        let _ = write!(buf, "{}\t{}\t{}\t{}\t", c.seq, c.table, c.key, op);
        if let Some(d) = &c.data {
            write_canonical(d, buf);
        }
        crc32(buf)
    })
}

/// A bucket's running checksum after `changes`, from `start`.
pub fn fold_checksum(start: u32, changes: &[Change]) -> u32 {
    changes
        .iter()
        .fold(start, |acc, c| acc.wrapping_add(change_checksum(c)))
}

/// JSON with every object's keys in sorted order, no spaces.
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and a JSON value always serialises.
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

/// CRC-32/ISO-HDLC (the zlib one), bitwise with a table built once.
fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *slot = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in bytes {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// One lot as the hub knows it (`GET /v1/lots/{gtin}/{lot}`, `POST /v1/lot-status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LotInfo {
    pub item: String,
    pub gtin: Option<String>,
    pub lot: String,
    pub expiry: Option<String>,
    pub status: String,
    /// RFC 3339: when the status last changed, by whom and why.
    pub status_changed_at: Option<String>,
    pub status_changed_by: Option<String>,
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LotStatusRequest {
    pub gtin: String,
    pub lot: String,
    /// `recalled`, `on_hold`, `released` or `rejected`.
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub protocol_version: u32,
    /// The oldest command schema the hub still takes; older devices are told to update.
    pub min_schema_version: u32,
    pub max_schema_version: u32,
    pub hub_time: String,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `unauthorized`, `forbidden`, `update_required`, `bad_request`, `payload_too_large`,
    /// `not_found`, `code_unknown`, `unavailable`.
    pub error: String,
    pub message: String,
    pub message_zh: String,
    /// With `update_required` (HTTP 426): the oldest schema the hub takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_schema_version: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crc32_is_the_zlib_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn the_checksum_ignores_key_order() {
        let a = Change {
            seq: 7,
            table: "lot".into(),
            key: "I1/L1".into(),
            op: ChangeOp::Put,
            data: Some(json!({"status": "released", "expiry": "2027-01-31", "n": [1, {"b": 1, "a": null}]})),
        };
        let b = Change {
            data: Some(
                serde_json::from_str(r#"{"n":[1,{"a":null,"b":1}],"expiry":"2027-01-31","status":"released"}"#)
                    .unwrap(),
            ),
            ..a.clone()
        };
        assert_eq!(change_checksum(&a), change_checksum(&b));
        assert_eq!(
            canonical_json(a.data.as_ref().unwrap()),
            r#"{"expiry":"2027-01-31","n":[1,{"a":null,"b":1}],"status":"released"}"#
        );
        let c = Change { seq: 8, ..a.clone() };
        assert_ne!(change_checksum(&a), change_checksum(&c));
        // The exact bytes checksummed, as computed elsewhere (Python's zlib.crc32 of
        // "7\tlot\tI1/L1\tput\t" and the canonical JSON above): the hub and older devices agree.
        assert_eq!(change_checksum(&a), 0x671f_bf1c);
        let e = Change {
            seq: 9,
            table: "item".into(),
            key: "料/\"x\"".into(),
            op: ChangeOp::Put,
            data: Some(json!({"name_zh": "测试\n"})),
        };
        assert_eq!(change_checksum(&e), 0xbd2d_0273);
        let d = Change {
            op: ChangeOp::Delete,
            data: None,
            ..a.clone()
        };
        assert_eq!(change_checksum(&d), 0x69f4_bcbf);
        assert_eq!(
            fold_checksum(0, &[a.clone(), d.clone()]),
            change_checksum(&a).wrapping_add(change_checksum(&d))
        );
    }

    #[test]
    fn outcomes_are_tagged() {
        let o = CommandOutcome {
            id: "x".into(),
            seq: 3,
            outcome: Outcome::Rejected {
                code: "lot_blocked".into(),
                message: "m".into(),
                message_zh: "z".into(),
                details: json!({"lot": "L1"}),
                rejected_at: "t".into(),
            },
        };
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["outcome"], "rejected");
        assert_eq!(v["code"], "lot_blocked");
        assert_eq!(serde_json::from_value::<CommandOutcome>(v).unwrap(), o);
        let r = serde_json::to_value(Outcome::RetryLater { reason: "gap".into() }).unwrap();
        assert_eq!(r, json!({"outcome": "retry_later", "reason": "gap"}));
    }
}
