//! The pure domain: identifiers, the scan grammar, the lot model and the shelf-life verdict engine.
//!
//! Invariant: nothing under `domain` does I/O or reads the clock; today's date is always passed
//! in. It depends on no Slint, rusqlite, serialport, reqwest or tokio.

pub mod audit;
pub mod command;
pub mod epc;
pub mod gs1;
pub mod hibc;
pub mod ids;
pub mod label;
pub mod lot;
pub mod operator;
pub mod policy;
pub mod reason;
pub mod scan;
pub mod sync;
pub mod task;
pub mod text;
pub mod udi;
pub mod workflow;
