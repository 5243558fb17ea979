//! Master data as files carry it, shared by the handheld (`lotline import`) and lotline-hub
//! (`lotline-hub import`): [`read`], the streaming reader of the documented import format (bytes
//! in, typed rows and row errors out; no storage), and [`pin`], operators' PIN hashes.

pub mod pin;
pub mod read;
