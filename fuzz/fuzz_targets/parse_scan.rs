//! Any bytes into the scan grammar: it must answer Ok or Err, never panic; and what it accepts as
//! GS1 must survive a round trip through its bracketed form.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use lotline_fuzz::domain::scan::{ScanSettings, parse_scan};

fuzz_target!(|data: &[u8]| {
    let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let lenient = ScanSettings { digital_link: lotline_fuzz::domain::gs1::digital_link::DlSettings { lenient_gtin: true, ..Default::default() } };
    let settings = if data.first().is_some_and(|b| b & 1 == 1) { lenient } else { ScanSettings::default() };
    if let Ok(scan) = parse_scan(data, None, &settings, today) {
        if scan.kind == lotline_fuzz::domain::scan::ScanKind::Gs1 && !scan.ais.is_empty() {
            let again = parse_scan(scan.bracketed().as_bytes(), None, &settings, today)
                .unwrap_or_else(|e| panic!("bracketed form of an accepted scan fails: {:?} -> {e}", scan.bracketed()));
            assert_eq!(again.ais, scan.ais);
        }
    }
});
