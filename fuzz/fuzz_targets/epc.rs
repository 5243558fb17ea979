//! Any text into the EPC decoder: Ok, Raw or Err, never a panic; decoded GS1 data must parse back
//! through the scan grammar.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotline_fuzz::domain::epc::{EpcDecoded, decode_epc_hex};

fuzz_target!(|data: &[u8]| {
    // Feed both raw bytes as hex (the common case) and the text as given.
    let hex: String = data.iter().map(|b| format!("{b:02X}")).collect();
    for input in [hex.as_str(), std::str::from_utf8(data).unwrap_or("")] {
        if let Ok(EpcDecoded::Gs1(e)) = decode_epc_hex(input) {
            assert_eq!(e.bracketed().is_empty(), e.ais.is_empty());
        }
    }
});
