//! The project's pure domain compiled on its own for fuzzing (no Slint, SQLite or I/O).

pub use lotline_domain as domain;

/// The hw-profile parser (`src/devices/profile.rs`) for the `profile` target: TOML, serde and
/// schemars over the domain's `Text`; its loader's file reading is compiled but not fuzzed.
#[path = "devices.rs"]
pub mod devices;

/// The import file reader (bytes → typed rows and row errors), from the master-data crate
/// (serde, serde_json and the domain).
pub use lotline_masterdata::read as import_read;
