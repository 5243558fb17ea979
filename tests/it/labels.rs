//! Receipt labels end to end: content → element string → DataMatrix + PNG + ZPL, the saved PNG
//! read back from the file with rxing, the ZPL printed through a printer profile to the simulated
//! printer, a file and a pseudo-terminal, and what cannot be labelled or printed refused with a
//! message in both languages.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use lotline::app::devices::printer_target;
use lotline::app::label::{self, Label, LabelError};
use lotline::devices::printer::{PrinterError, PrinterTarget, send};
use lotline::devices::profile;
use lotline::devices::sim::Pty;
use lotline::domain::label::{Dpi, LabelContent, LabelContentError, LabelMedia, element_string};
use lotline::domain::scan::{ScanSettings, parse_scan};
use lotline::domain::text::Bilingual;
use rxing::common::HybridBinarizer;
use rxing::datamatrix::DataMatrixReader;
use rxing::{BinaryBitmap, Luma8LuminanceSource, RXingResultMetadataType, RXingResultMetadataValue, Reader};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn media() -> LabelMedia {
    LabelMedia {
        dpi: Dpi::D203,
        width_mm: 60,
        height_mm: 40,
        font: Some("E:ANMDS.TTF".into()),
    }
}

/// The contents the receive gate labels: Chinese and English names, lots with `-` and `/`, with
/// and without expiry, quantities 1 and 99999.
fn contents() -> Vec<LabelContent> {
    let c = |gtin: &str, expiry, lot: &str, qty, name: &str, zh| {
        LabelContent::from_input(gtin, expiry, lot, qty, name, zh).unwrap()
    };
    vec![
        c(
            "06901234500110",
            Some(date(2027, 1, 31)),
            "L2311-A/7",
            12,
            "全脂牛奶 1 升装",
            true,
        ),
        c("09506000134352", None, "B-07/2026", 1, "Nitrile gloves, size M", false),
        c(
            "09506000134352",
            Some(date(2026, 12, 31)),
            "X/Y-Z",
            99999,
            "一次性丁腈手套（中号）",
            true,
        ),
        c(
            "4006381333931",
            Some(date(2028, 2, 29)),
            "A1",
            1,
            "Paracetamol 500 mg",
            false,
        ),
        c(
            "96385074",
            Some(date(2030, 6, 15)),
            "ABCDEFGHIJ0123456789",
            99999,
            "Sample",
            false,
        ),
    ]
}

/// Reads the DataMatrix in a PNG file with rxing: symbology identifier and text.
fn read_png(bytes: &[u8]) -> (String, String) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    buf.truncate(info.buffer_size());
    let source = Luma8LuminanceSource::new(buf, info.width, info.height).unwrap();
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let r = DataMatrixReader.decode(&mut bitmap).unwrap();
    let sym = match r
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(RXingResultMetadataValue::SymbologyIdentifier(s)) => s.clone(),
        other => panic!("no symbology identifier: {other:?}"),
    };
    (sym, r.getText().to_owned())
}

#[test]
fn labels_round_trip_through_the_png_file_and_the_scan_grammar() {
    let dir = tempfile::tempdir().unwrap();
    let today = date(2026, 6, 1);
    for (i, c) in contents().iter().enumerate() {
        let l: Label = label::make_label(c, &media()).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!(l.element_string, element_string(c).unwrap());
        // The saved file holds a symbol that reads back as the same element string, GS1.
        let path = dir.path().join(format!("label-{i}.png"));
        label::save_png(&l, &path).unwrap();
        let (sym, text) = read_png(&std::fs::read(&path).unwrap());
        assert_eq!(
            (sym.as_str(), text.as_str()),
            ("]d2", l.element_string.as_str()),
            "{}",
            l.bracketed
        );
        // And what a scanner would send parses to the label's fields.
        let scan = parse_scan(format!("{sym}{text}").as_bytes(), None, &ScanSettings::default(), today).unwrap();
        assert_eq!(scan.fields.gtin.as_ref(), Some(&c.gtin));
        assert_eq!(scan.fields.lot.as_ref(), Some(&c.lot));
        assert_eq!(scan.fields.expiry, c.expiry);
        assert_eq!(scan.fields.quantity, Some(u64::from(c.qty)));
        assert_eq!(scan.bracketed(), l.bracketed);
        // The ZPL carries the item name and the captions in the UI language.
        assert!(l.zpl.contains(c.item_name.as_str()), "{}", l.zpl);
        let caption = if c.lang_zh { "批号：" } else { "Lot: " };
        assert!(l.zpl.contains(&format!("{caption}{}", c.lot)), "{}", l.zpl);
    }
    // A sample to look at, when asked for.
    if let Some(sample) = std::env::var_os("LOTLINE_LABEL_SAMPLE") {
        let l = label::make_label(&contents()[0], &media()).unwrap();
        label::save_png(&l, std::path::Path::new(&sample)).unwrap();
    }
}

#[test]
fn lots_that_cannot_be_encoded_get_the_typed_error() {
    let cases = [
        (
            "ABCDEFGHIJ01234567890",
            LabelContentError::LotTooLong {
                lot: "ABCDEFGHIJ01234567890".into(),
                len: 21,
                max: 20,
            },
        ),
        (
            "L2311 A",
            LabelContentError::LotCharacter {
                lot: "L2311 A".into(),
                ch: ' ',
                position: 6,
            },
        ),
        (
            "批次-7",
            LabelContentError::LotCharacter {
                lot: "批次-7".into(),
                ch: '批',
                position: 1,
            },
        ),
        (
            "L#7",
            LabelContentError::LotCharacter {
                lot: "L#7".into(),
                ch: '#',
                position: 2,
            },
        ),
    ];
    for (lot, want) in cases {
        let e = LabelContent::from_input("09506000134352", None, lot, 1, "Milk", false).unwrap_err();
        assert_eq!(e, want);
        assert!(e.to_string().contains(lot), "{e}");
        assert!(
            e.message_zh().contains(lot) && e.message_zh().contains("批号"),
            "{}",
            e.message_zh()
        );
        // Through the label service it is the same error.
        let le = LabelError::from(e.clone());
        assert_eq!(le.to_string(), e.to_string());
        assert_eq!(le.message_zh(), e.message_zh());
    }
}

#[test]
fn a_chinese_label_needs_a_printer_font_and_says_so() {
    let c = &contents()[0];
    let no_font = LabelMedia { font: None, ..media() };
    let e = label::make_label(c, &no_font).unwrap_err();
    assert!(matches!(
        e,
        LabelError::Content(LabelContentError::NeedsPrinterFont { .. })
    ));
    assert!(e.to_string().contains("font"), "{e}");
    assert!(e.message_zh().contains("字体"), "{}", e.message_zh());
}

fn printer_profile(file: &str, transport: &str) -> profile::Profile {
    let text = format!(
        "schema_version = 1\nkind = \"printer\"\nname = \"{file}\"\ndescription = \"test\"\n\n{transport}\n\n[printer]\nlanguage = \"zpl\"\ndpi = 203\nlabel_width_mm = 60\nlabel_height_mm = 40\nfont = \"E:ANMDS.TTF\"\n"
    );
    profile::parse(&format!("{file}.toml"), &text).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn a_label_goes_to_the_printer_its_profile_names() {
    let l = label::make_label(&contents()[0], &media()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // The simulated printer writes exactly the ZPL it receives.
    let sim = dir.path().join("sim-printer.zpl");
    label::print(&l, &PrinterTarget::Simulated(sim.clone()), Duration::from_secs(2)).unwrap();
    assert_eq!(std::fs::read_to_string(&sim).unwrap(), l.zpl);

    // The shipped file printer, its path overridden, appends to an existing file.
    let loaded = profile::load_all(std::path::Path::new("/nonexistent/lotline-test"));
    let file_printer = loaded.get("file-printer").unwrap();
    let spool = dir.path().join("spool.zpl");
    std::fs::write(&spool, "").unwrap();
    let target = printer_target(file_printer, Some(spool.to_str().unwrap())).unwrap();
    assert_eq!(target, PrinterTarget::File(spool.clone()));
    label::print(&l, &target, Duration::from_secs(2)).unwrap();
    label::print(&l, &target, Duration::from_secs(2)).unwrap();
    assert_eq!(std::fs::read_to_string(&spool).unwrap(), format!("{}{}", l.zpl, l.zpl));
    assert_eq!(printer_target(loaded.get("generic-cdc-scanner").unwrap(), None), None);

    // A serial printer's profile, on a pseudo-terminal.
    let mut pty = Pty::open(None).unwrap();
    let port = pty.path().to_str().unwrap().to_owned();
    let serial = printer_profile(
        "serial-printer",
        "[transport.serial]\npath = \"/dev/ttyUSB0\"\nbaud = 9600",
    );
    let target = printer_target(&serial, Some(&port)).unwrap();
    assert!(matches!(&target, PrinterTarget::Serial(s) if s.path == port && s.baud == 9600));
    // The printer end stays connected after the label: a pseudo-terminal whose last sender closes
    // hangs up, and the master's reads then fail with data still unread.
    let _connected = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&port)
            .unwrap()
    };
    let want = l.zpl.len();
    let printer = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let end = Instant::now() + Duration::from_secs(10);
        while got.len() < want && Instant::now() < end {
            if let Some(n) = pty.read(&mut buf, Duration::from_millis(20)) {
                got.extend_from_slice(&buf[..n]);
            }
        }
        got
    });
    label::print(&l, &target, Duration::from_secs(5)).unwrap();
    assert_eq!(String::from_utf8(printer.join().unwrap()).unwrap(), l.zpl);
}

#[test]
fn a_printer_that_does_not_answer_is_named_in_both_languages() {
    // A pseudo-terminal nobody reads: its buffer fills, the rest is not taken.
    let pty = Pty::open(None).unwrap();
    let port = pty.path().to_str().unwrap().to_owned();
    let serial = printer_profile(
        "serial-printer",
        "[transport.serial]\npath = \"/dev/ttyUSB0\"\nbaud = 9600",
    );
    let target = printer_target(&serial, Some(&port)).unwrap();
    let flood = "^XA^FO1,1^GB9,9,1^FS^XZ\n".repeat(100_000);
    let started = Instant::now();
    let e = send(&target, &flood, Duration::from_millis(500)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        e,
        PrinterError::NoAnswer {
            port: port.clone(),
            secs: 1
        }
    );
    assert!(
        e.to_string()
            .contains(&format!("the label printer at {port} did not take the label"))
    );
    assert!(e.to_string().contains("check the printer is on"));
    assert!(e.message_zh().contains(&format!("标签打印机 {port}")) && e.message_zh().contains("没有接收标签"));
    drop(pty);

    // A printer file in a folder that does not exist: nothing is created.
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no-such-folder").join("printer.zpl");
    let l = label::make_label(&contents()[1], &media()).unwrap();
    let e = label::print(&l, &PrinterTarget::Simulated(nowhere.clone()), Duration::from_secs(1)).unwrap_err();
    assert!(matches!(e, PrinterError::MissingFolder { .. }), "{e}");
    assert!(e.to_string().contains("no-such-folder") && e.message_zh().contains("no-such-folder"));
    assert!(!nowhere.parent().unwrap().exists());
}
