//! Any bytes into the import file reader: rows, row errors or one file error, never a panic.
//! Every row error names its record (and a field path that belongs to it) and says itself in
//! both languages; a file the reader accepts without a problem is JSON. (Values it skips, in an
//! unknown or repeated section, are not checked for UTF-8, but those are problems already.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotline_fuzz::domain::text::Bilingual;
use lotline_fuzz::import_read::{Event, ReadError, Section, read_import};

fuzz_target!(|data: &[u8]| {
    let mut rows = 0usize;
    let mut problems = 0usize;
    let res = read_import(data, &mut |ev| {
        match ev {
            Event::Row { pos, .. } => {
                rows += 1;
                assert!(pos.to_string().starts_with(pos.section.name()));
            }
            Event::Bad(e) => {
                problems += 1;
                assert!(!e.record.is_empty());
                let path = e.path();
                assert!(path.starts_with(&e.record));
                if let Some(f) = &e.field {
                    assert!(!f.is_empty(), "{e:?}");
                    assert!(
                        Section::from_name(e.record.split('[').next().unwrap()).is_some(),
                        "{e:?}"
                    );
                }
                assert!(!e.to_string().is_empty());
                assert!(!e.message_zh().is_empty());
            }
            Event::Refused { pos, key } => {
                assert!(problems > 0, "{pos} ({key}) refused without a problem");
            }
        }
        Ok(())
    });
    match res {
        Ok(()) if problems == 0 => assert!(serde_json::from_slice::<serde_json::Value>(data).is_ok()),
        Ok(()) => {}
        Err(ReadError::Json(e)) => {
            assert!(!e.to_string().is_empty());
            assert!(!e.message_zh().is_empty());
        }
        Err(ReadError::Stopped) => panic!("the receiver never stops"),
    }
    let _ = rows;
});
