//! The one module of `src/devices` the fuzz targets build: the hw-profile parser.

#[path = "../../src/devices/profile.rs"]
pub mod profile;
