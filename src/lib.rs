//! lotline: says, the instant a warehouse worker scans, whether a lot may move.
//!
//! `domain` is pure (grammar, identifiers, shelf-life rules). `store` is the SQLite cache,
//! `app` the services that feed the domain from the store, `ui` the Slint shell and `cli` the
//! command line. See ARCHITECTURE.md.

pub mod app;
pub mod bench;
pub mod bench_devices;
pub mod bench_startup;
#[cfg(feature = "embedded-hub")]
pub mod bench_sync;
pub mod cli;
pub mod config;
pub mod devices;
pub mod logging;
/// The pure domain, a crate of its own (`crates/lotline-domain`), under its old name.
pub use lotline_domain as domain;
pub mod store;
pub mod sync;
pub mod ui;
