//! lotline-hub: the central server (see `docs/sync-protocol.md`). It enrols devices, applies
//! their commands exactly once, and serves server-owned data as bucketed change logs; on SQLite
//! or (with the `postgres` feature) PostgreSQL.

pub mod apply;
pub mod auth;
pub mod bench;
pub mod changes;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod import;
pub mod lots;
pub mod metrics;
mod schema;
#[cfg(feature = "tls")]
pub mod tls;

pub use apply::{IngestSummary, apply_batch, ingest_file};
pub use auth::{admin_token, enroll, enroll_code};
pub use changes::{changes, changes_json, list_buckets, refetch};
pub use db::{Store, Tx, Val};
pub use error::HubError;
pub use http::{EmbeddedHub, router, serve};
pub use import::{ImportError, ImportReport, import_csv, import_file, import_json};
pub use lots::{export, lot_info, set_lot_status, trace};

/// The oldest device command schema a hub takes by default (older devices get 426).
pub const MIN_SCHEMA_VERSION: u32 = 1;

/// Now on the hub's clock: RFC 3339, UTC, milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
