//! The sync protocol between a lotline device and lotline-hub: the shapes both sides read and
//! write, serde only (no HTTP, no storage). `docs/sync-protocol.md` describes the exchange.
//!
//! Field names are part of the protocol: add fields, never rename them.

use serde::{Deserialize, Serialize};

pub mod rows;
pub mod sync;

/// The version of the shapes in this crate.
pub const PROTOCOL_VERSION: u32 = 1;

/// What an outbox file says it is in its `format` field.
pub const OUTBOX_FORMAT: &str = "lotline-outbox";

/// One command as a device's outbox keeps it and the hub receives it. `(device_id, seq)` and
/// `id` each name it once: the hub applies it exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandEnvelope {
    /// UUIDv7, made on the device.
    pub id: String,
    pub device_id: String,
    /// Per device, from 1, without gaps.
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    /// The command payload's schema version (`lotline_domain::command::SCHEMA_VERSION`).
    pub schema_version: u32,
    /// RFC 3339, the device's clock.
    pub created_at: String,
    pub operator: Option<String>,
    pub payload: serde_json::Value,
}

/// Unsent commands written to a file, for a site with no network: carried to the hub on a USB
/// stick (`lotline outbox export`, then `lotline-hub ingest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxFile {
    /// Always [`OUTBOX_FORMAT`].
    pub format: String,
    pub protocol_version: u32,
    pub device_id: String,
    /// RFC 3339.
    pub exported_at: String,
    pub commands: Vec<CommandEnvelope>,
}

/// Why an outbox file cannot be taken as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxFileError {
    #[error("not a lotline outbox file (its format is '{0}')")]
    Format(String),
    #[error("protocol version {found}; this build reads up to {max}: update it")]
    Version { found: u32, max: u32 },
    #[error("command {seq} is from device {found}, the file is from {expected}")]
    OtherDevice { seq: i64, found: String, expected: String },
    #[error("commands out of order or with a gap: {after} is followed by {next}")]
    Gap { after: i64, next: i64 },
}

impl OutboxFile {
    pub fn new(device_id: String, exported_at: String, commands: Vec<CommandEnvelope>) -> OutboxFile {
        OutboxFile {
            format: OUTBOX_FORMAT.into(),
            protocol_version: PROTOCOL_VERSION,
            device_id,
            exported_at,
            commands,
        }
    }

    /// Checks what a reader must before taking the file: its format and version, one device,
    /// and commands in `seq` order without gaps.
    pub fn check(&self) -> Result<(), OutboxFileError> {
        if self.format != OUTBOX_FORMAT {
            return Err(OutboxFileError::Format(self.format.clone()));
        }
        if self.protocol_version > PROTOCOL_VERSION {
            return Err(OutboxFileError::Version {
                found: self.protocol_version,
                max: PROTOCOL_VERSION,
            });
        }
        let mut last: Option<i64> = None;
        for c in &self.commands {
            if c.device_id != self.device_id {
                return Err(OutboxFileError::OtherDevice {
                    seq: c.seq,
                    found: c.device_id.clone(),
                    expected: self.device_id.clone(),
                });
            }
            if let Some(l) = last
                && c.seq != l + 1
            {
                return Err(OutboxFileError::Gap { after: l, next: c.seq });
            }
            last = Some(c.seq);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(seq: i64, device: &str) -> CommandEnvelope {
        CommandEnvelope {
            id: format!("0193-{seq}"),
            device_id: device.into(),
            seq,
            kind: "scan".into(),
            schema_version: 1,
            created_at: "2026-12-01T09:00:00.000+08:00".into(),
            operator: Some("pick1".into()),
            payload: serde_json::json!({"scan": "x"}),
        }
    }

    #[test]
    fn an_envelope_has_the_protocol_keys() {
        let v = serde_json::to_value(cmd(3, "d1")).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "device_id",
                "seq",
                "type",
                "schema_version",
                "created_at",
                "operator",
                "payload"
            ]
        );
        let back: CommandEnvelope = serde_json::from_value(v).unwrap();
        assert_eq!(back, cmd(3, "d1"));
    }

    #[test]
    fn outbox_files_are_checked() {
        let ok = OutboxFile::new("d1".into(), "t".into(), vec![cmd(4, "d1"), cmd(5, "d1")]);
        assert_eq!(ok.check(), Ok(()));
        let cases = [
            (
                OutboxFile {
                    format: "csv".into(),
                    ..ok.clone()
                },
                "not a lotline outbox file (its format is 'csv')",
            ),
            (
                OutboxFile {
                    protocol_version: 9,
                    ..ok.clone()
                },
                "protocol version 9; this build reads up to 1: update it",
            ),
            (
                OutboxFile::new("d1".into(), "t".into(), vec![cmd(4, "d1"), cmd(6, "d1")]),
                "commands out of order or with a gap: 4 is followed by 6",
            ),
            (
                OutboxFile::new("d1".into(), "t".into(), vec![cmd(4, "d2")]),
                "command 4 is from device d2, the file is from d1",
            ),
        ];
        for (f, want) in cases {
            assert_eq!(f.check().unwrap_err().to_string(), want);
        }
    }
}
