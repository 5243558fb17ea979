//! The project's pure domain compiled on its own for fuzzing (no Slint, SQLite or I/O).

#[path = "../../src/domain/mod.rs"]
pub mod domain;
