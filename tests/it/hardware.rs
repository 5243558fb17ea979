//! Tests on real devices, behind the `hardware-tests` feature. Each takes its device from the
//! environment and skips with a note when that is unset:
//!
//! ```sh
//! LOTLINE_TEST_SCANNER=generic-cdc-scanner=/dev/ttyACM0 \
//! LOTLINE_TEST_RFID=impinj-r2000=/dev/ttyUSB0 \
//!   cargo test --features hardware-tests --test it hardware -- --nocapture --test-threads 1
//! ```
//!
//! The scanner test asks for a scan (any barcode) within 30 s; the RFID test needs at least one
//! tag in front of the antenna. Unplug/replug is checked by asking for it.

use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use lotline::app::devices;
use lotline::devices::profile;
use lotline::devices::{DeviceEvent, DeviceState, Sink};

fn device_from_env(var: &str) -> Option<(profile::Profile, String)> {
    let v = std::env::var(var).ok()?;
    let (name, port) = v
        .split_once('=')
        .unwrap_or_else(|| panic!("{var} must be PROFILE=PORT, got {v:?}"));
    let p = profile::builtin()
        .unwrap()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no profile {name}"));
    Some((p, port.to_owned()))
}

fn wait(
    rx: &std::sync::mpsc::Receiver<DeviceEvent>,
    secs: u64,
    what: &str,
    pred: impl Fn(&DeviceEvent) -> bool,
) -> DeviceEvent {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let ev = rx
            .recv_timeout(end.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no {what} within {secs} s"));
        eprintln!("  {ev:?}");
        if pred(&ev) {
            return ev;
        }
    }
}

#[test]
fn a_real_scanner_delivers_a_scan_and_comes_back_after_a_replug() {
    let Some((p, port)) = device_from_env("LOTLINE_TEST_SCANNER") else {
        eprintln!("LOTLINE_TEST_SCANNER not set: skipped");
        return;
    };
    let (tx, rx) = channel();
    let sink: Sink = Arc::new(move |ev| {
        let _ = tx.send(ev);
    });
    let _d = devices::start(&p, Some(&port), sink, false).unwrap();
    wait(&rx, 10, "connection", |e| {
        matches!(
            e,
            DeviceEvent::State {
                state: DeviceState::Connected,
                ..
            }
        )
    });
    eprintln!(">>> scan any barcode now");
    let DeviceEvent::Scan(s) = wait(&rx, 30, "scan", |e| matches!(e, DeviceEvent::Scan(_))) else {
        unreachable!()
    };
    assert!(!s.data.is_empty());
    if p.framing().is_some_and(|f| f.aim) {
        assert!(
            s.symbology.is_some(),
            "the profile expects AIM identifiers: enable them on the scanner"
        );
    }
    eprintln!(">>> unplug the scanner, then plug it back in");
    wait(&rx, 60, "unplug", |e| {
        matches!(
            e,
            DeviceEvent::State {
                state: DeviceState::Lost,
                ..
            }
        )
    });
    wait(&rx, 60, "replug", |e| {
        matches!(
            e,
            DeviceEvent::State {
                state: DeviceState::Reconnected,
                ..
            }
        )
    });
}

#[test]
fn a_real_reader_reads_tags() {
    let Some((p, port)) = device_from_env("LOTLINE_TEST_RFID") else {
        eprintln!("LOTLINE_TEST_RFID not set: skipped");
        return;
    };
    let (tx, rx) = channel();
    let sink: Sink = Arc::new(move |ev| {
        let _ = tx.send(ev);
    });
    let _d = devices::start(&p, Some(&port), sink, true).unwrap();
    wait(&rx, 10, "connection", |e| {
        matches!(
            e,
            DeviceEvent::State {
                state: DeviceState::Connected,
                ..
            }
        )
    });
    let DeviceEvent::Tag(t) = wait(&rx, 15, "tag", |e| matches!(e, DeviceEvent::Tag(_))) else {
        unreachable!()
    };
    assert_eq!(
        lotline::devices::codec::gen2::epc_len_from_pc(t.tag.pc),
        t.tag.epc.len(),
        "PC and EPC length agree"
    );
}
