//! Application services: the imperative shell that feeds the pure domain from the store.
//! The GUI, the command line and the benchmark all go through here.

pub mod check;
pub mod decode;
pub mod devices;
pub mod doctor;
#[cfg(feature = "embedded-hub")]
pub mod embedded;
pub mod feedback;
pub mod files;
pub mod label;
pub mod listen;
pub mod paths;
pub mod printing;
pub mod script;
pub mod session;
