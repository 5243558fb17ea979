//! Any bytes as an hw-profile file: a profile or errors that name the file, each from a known
//! check with a problem in English and Chinese; never a panic, never an empty refusal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotline_fuzz::devices::profile::{CHECKS, parse};
use lotline_fuzz::domain::text::Bilingual;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Under a name no profile has, and under a shipped one's (so a valid file can pass).
    for (file, stem) in [
        ("fuzz.toml", "fuzz"),
        ("hw/generic-cdc-scanner.toml", "generic-cdc-scanner"),
    ] {
        match parse(file, text) {
            Ok(p) => assert_eq!(p.name, stem),
            Err(errors) => {
                assert!(!errors.is_empty());
                for e in &errors {
                    assert_eq!(e.file, file);
                    assert!(CHECKS.iter().any(|c| c.name == e.check), "{e}");
                    assert!(!e.problem.is_empty(), "{e}");
                    assert!(e.to_string().starts_with(file));
                    assert!(e.message_zh().starts_with(file));
                }
            }
        }
    }
});
