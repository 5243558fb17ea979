//! Devices end to end over pseudo-terminals: each driver against a simulator that speaks the
//! real protocol, unplug and replug included; HID POS over a SOCK_SEQPACKET pair; detection from
//! a fake sysfs; and the `listen`, `simulate` and `profiles` commands.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use lotline::app::devices::{self, MachineInfo};
use lotline::devices::codec::TagReport;
use lotline::devices::codec::framer::{FrameEnd, FramerConfig};
use lotline::devices::profile::{self, Kind};
use lotline::devices::sim::{
    Pty, SimReader, SimReaderOptions, SimScanner, SimScannerWire, demo_units, sgtin_population,
};
use lotline::devices::{DeviceEvent, DeviceKind, DeviceState, DriverCommand, Sink};

use crate::{lotline, stderr, stdout};

/// Generous: these are functional waits on a shared machine, not timing claims (those are in
/// `lotline bench devices`).
const PATIENCE: Duration = Duration::from_secs(20);

struct Events {
    rx: Receiver<DeviceEvent>,
    seen: Vec<DeviceEvent>,
}

fn sink() -> (Sink, Events) {
    let (tx, rx) = channel();
    let sink: Sink = Arc::new(move |ev| {
        let _ = tx.send(ev);
    });
    (sink, Events { rx, seen: Vec::new() })
}

impl Events {
    /// Waits for the first event matching `pred`; panics with everything seen on timeout.
    fn until(&mut self, what: &str, pred: impl Fn(&DeviceEvent) -> bool) -> DeviceEvent {
        let end = Instant::now() + PATIENCE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(ev) => {
                    self.seen.push(ev.clone());
                    if pred(&ev) {
                        return ev;
                    }
                }
                Err(_) => panic!("timed out waiting for {what}; seen: {:#?}", self.seen),
            }
        }
    }

    /// Collects events for `d`.
    fn for_a_while(&mut self, d: Duration) -> Vec<DeviceEvent> {
        let end = Instant::now() + d;
        let mut v = Vec::new();
        while let Ok(ev) = self.rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            v.push(ev);
        }
        v
    }

    fn state(&mut self, state: DeviceState) -> DeviceEvent {
        self.until(
            &format!("state {state:?}"),
            |e| matches!(e, DeviceEvent::State { state: s, .. } if *s == state),
        )
    }

    fn scan(&mut self) -> (Option<String>, Vec<u8>) {
        match self.until("a scan", |e| matches!(e, DeviceEvent::Scan(_))) {
            DeviceEvent::Scan(s) => (s.symbology, s.data),
            _ => unreachable!(),
        }
    }
}

fn shipped(name: &str) -> profile::Profile {
    profile::builtin()
        .expect("shipped profiles load")
        .into_iter()
        .find(|p| p.name == name)
        .expect(name)
}

fn cdc_framing() -> FramerConfig {
    let p = shipped("generic-cdc-scanner");
    devices::framer_config(p.framing().unwrap())
}

#[test]
fn serial_scanner_delivers_scans_with_their_symbology_and_survives_unplug() {
    let p = shipped("generic-cdc-scanner");
    let framing = cdc_framing();
    assert_eq!(framing.end, FrameEnd::SuffixThenGap);
    // Behind a stable link, as udev gives a real scanner: a replugged pseudo-terminal may get
    // another /dev/pts number when other tests open terminals meanwhile.
    let dir = tempfile::tempdir().unwrap();
    let sim = SimScanner::start(
        SimScannerWire::Plain { framing, aim: true },
        Some(&dir.path().join("scanner")),
    )
    .unwrap();
    let (sink, mut ev) = sink();
    let port = sim.path().display().to_string();
    let _driver = devices::start(&p, Some(&port), sink, false).unwrap();
    ev.state(DeviceState::Connected);

    // A GS1 DataMatrix label with GS separators, as a scanner sends it.
    sim.scan_text("(01)09501101530003(17)261130(10)AB-12(21)S1");
    // (17) has a predefined length, so no GS follows it; (10) does not, so GS ends the lot.
    assert_eq!(
        ev.scan(),
        (Some("]d2".into()), b"01095011015300031726113010AB-12\x1d21S1".to_vec())
    );
    // A QR code whose data holds CR LF: with suffix+gap framing it stays one scan.
    sim.scan(Some("]Q1".into()), b"line one\r\nline two".to_vec());
    assert_eq!(ev.scan(), (Some("]Q1".into()), b"line one\r\nline two".to_vec()));
    // An EAN-13.
    sim.scan_text("6901234500011");
    assert_eq!(ev.scan(), (Some("]E0".into()), b"6901234500011".to_vec()));

    // Unplugged: the driver says so; plugged back in: it re-opens by the same path.
    sim.unplug();
    ev.state(DeviceState::Lost);
    sim.scan_text("(01)09501101530003(10)WHILE-OUT");
    sim.replug();
    ev.state(DeviceState::Reconnected);
    // The scan made while unplugged waits in the scanner and arrives once, not twice.
    assert_eq!(ev.scan(), (Some("]d2".into()), b"010950110153000310WHILE-OUT".to_vec()));
    sim.scan_text("(01)09501101530003(10)AFTER");
    assert_eq!(ev.scan().1, b"010950110153000310AFTER".to_vec());
    let scans = ev.seen.iter().filter(|e| matches!(e, DeviceEvent::Scan(_))).count();
    assert_eq!(scans, 5, "no scan lost or duplicated");
}

/// A raw pseudo-terminal the test writes to as the scanner (behind a stable link in `dir`), with
/// the plain-serial scanner driver (CR suffix, AIM ids) connected to it and the port open.
fn raw_scanner(dir: &std::path::Path) -> (Pty, Events, lotline::devices::DriverHandle) {
    let link = dir.join("lotline-scanner");
    let mut pty = Pty::open(Some(&link)).unwrap();
    let (sink, mut ev) = sink();
    let settings = lotline::devices::serial::SerialSettings::new_8n1(link.display().to_string(), 115_200);
    let wire = lotline::devices::scanner::ScannerWire::Plain {
        framing: FramerConfig::default(),
        aim: true,
    };
    let driver = lotline::devices::scanner::spawn("test".into(), settings, wire, sink);
    ev.state(DeviceState::Connected);
    wait_for_host(&mut pty);
    (pty, ev, driver)
}

/// Waits until the host side has the port open (reads stop failing with a hang-up).
fn wait_for_host(pty: &mut Pty) {
    let mut buf = [0u8; 16];
    let t0 = Instant::now();
    while pty.read(&mut buf, Duration::from_millis(10)).is_none() && t0.elapsed() < PATIENCE {}
}

#[test]
fn a_frame_cut_by_an_unplug_is_never_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut pty, mut ev, _driver) = raw_scanner(dir.path());
    // Half a frame, then the plug is pulled.
    assert!(pty.write(b"]d20109501101530003"));
    std::thread::sleep(Duration::from_millis(100));
    pty.unplug();
    ev.state(DeviceState::Lost);
    pty.replug().unwrap();
    ev.state(DeviceState::Reconnected);
    wait_for_host(&mut pty);
    assert!(pty.write(b"10REST\r]C0ABC\r"));
    // The part sent before the unplug is dropped, not glued onto what follows: the rest of the
    // cut label reads as a scan of its own (which the grammar then rejects), then the next label.
    assert_eq!(ev.scan(), (None, b"10REST".to_vec()));
    assert_eq!(ev.scan(), (Some("]C0".into()), b"ABC".to_vec()));
    let glued: Vec<_> = ev
        .seen
        .iter()
        .filter(|e| matches!(e, DeviceEvent::Scan(s) if s.data.windows(4).any(|w| w == b"0950")))
        .collect();
    assert!(glued.is_empty(), "{glued:?}");
}

#[test]
fn noise_on_the_line_is_reported_and_the_next_scan_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (mut pty, mut ev, _driver) = raw_scanner(dir.path());
    // A wrong baud rate looks like this: bytes that never end in a suffix.
    assert!(pty.write(&[0xF0, 0x0F, 0xAA, 0x55, 0xFE, 0x80, 0x81]));
    let e = ev.until("an error about the noise", |e| matches!(e, DeviceEvent::Error { .. }));
    let DeviceEvent::Error { message, .. } = e else {
        unreachable!()
    };
    assert!(message.contains("scanner data"), "{message}");
    assert!(pty.write(b"]E06901234500011\r"));
    assert_eq!(ev.scan(), (Some("]E0".into()), b"6901234500011".to_vec()));
}

#[test]
fn zebra_ssi_scanner_packets_are_acknowledged_and_long_scans_reassembled() {
    let p = shipped("zebra-ssi");
    let sim = SimScanner::start(SimScannerWire::Ssi, None).unwrap();
    let (sink, mut ev) = sink();
    let port = sim.path().display().to_string();
    let driver = devices::start(&p, Some(&port), sink, false).unwrap();
    ev.state(DeviceState::Connected);
    sim.scan_text("(01)09501101530003(17)261130(10)SSI-1(21)X");
    assert_eq!(
        ev.scan(),
        (Some("]d2".into()), b"01095011015300031726113010SSI-1\x1d21X".to_vec())
    );
    // A 600-byte QR payload spans several DECODE_DATA packets.
    let long: Vec<u8> = (0..600).map(|i| b'A' + (i % 26) as u8).collect();
    sim.scan(Some("]Q1".into()), long.clone());
    assert_eq!(ev.scan(), (Some("]Q1".into()), long));
    // The soft trigger reaches the engine as a start-session packet (and is ACKed, not an error).
    driver.send(DriverCommand::Trigger(true));
    let errors = ev.for_a_while(Duration::from_millis(300));
    assert!(
        !errors.iter().any(|e| matches!(e, DeviceEvent::Error { .. })),
        "{errors:#?}"
    );
}

/// A tag population for the reader tests: SGTIN-96 of demo items.
fn population(n: usize) -> Vec<TagReport> {
    sgtin_population(&demo_units(n))
}

fn reader_profile(protocol: &str) -> profile::Profile {
    let name = match protocol {
        "r2000" => "impinj-r2000",
        "m100" => "magicrf-m100",
        "mercury" => "thingmagic-m6e-nano",
        "chafon18" => "chafon-uhfreader18",
        _ => "chafon-uhfreader288",
    };
    shipped(name)
}

/// Runs an inventory against the simulated reader until every tag was seen at least once.
/// Returns the events, the simulator and the driver (still running).
fn inventory_reads_every_tag(protocol: &str, corrupt: f64) -> (Events, SimReader, lotline::devices::DriverHandle) {
    let tags = population(30);
    let sim = SimReader::start(
        SimReaderOptions {
            protocol: protocol.into(),
            tags: tags.clone(),
            rate: 0.0,
            corrupt_percent: corrupt,
            seed: 7,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let (sink, mut ev) = sink();
    let port = sim.path().display().to_string();
    let driver = devices::start(&reader_profile(protocol), Some(&port), sink, true).unwrap();
    let wanted: HashSet<Vec<u8>> = tags.iter().map(|t| t.epc.clone()).collect();
    let mut got = HashSet::new();
    let end = Instant::now() + PATIENCE;
    while got.len() < wanted.len() && Instant::now() < end {
        if let Ok(e) = ev.rx.recv_timeout(Duration::from_millis(200)) {
            if let DeviceEvent::Tag(t) = &e {
                assert!(
                    wanted.contains(&t.tag.epc),
                    "{protocol}: a read that is not in the field: {:?}",
                    t.tag
                );
                got.insert(t.tag.epc.clone());
            }
            ev.seen.push(e);
        }
    }
    assert_eq!(
        got.len(),
        wanted.len(),
        "{protocol}: {} of {} tags read",
        got.len(),
        wanted.len()
    );
    (ev, sim, driver)
}

#[test]
fn each_rfid_protocol_reads_every_tag_in_the_field() {
    let threads: Vec<_> = ["r2000", "m100", "mercury", "chafon18", "chafon288"]
        .into_iter()
        .map(|p| {
            std::thread::spawn(move || {
                let (ev, sim, _driver) = inventory_reads_every_tag(p, 0.0);
                let configured = sim.stats().commands.lock().unwrap().len();
                assert!(configured >= 2, "{p}: the driver probed and configured the reader");
                let errors: Vec<_> = ev
                    .seen
                    .iter()
                    .filter(|e| matches!(e, DeviceEvent::Error { .. }))
                    .collect();
                assert!(errors.is_empty(), "{p}: {errors:#?}");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn corrupt_frames_are_dropped_never_delivered_and_reported() {
    // M100 carries the EPC CRC (a flipped EPC bit is caught by it); R2000 only its frame check.
    let threads: Vec<_> = ["m100", "r2000"]
        .into_iter()
        .map(|p| {
            std::thread::spawn(move || {
                let (mut ev, sim, _driver) = inventory_reads_every_tag(p, 15.0);
                assert!(
                    sim.stats().corrupted.load(std::sync::atomic::Ordering::Relaxed) > 0,
                    "{p}: nothing was corrupted"
                );
                // Dropped frames are summed up every few seconds in one message.
                let report =
                    |e: &DeviceEvent| matches!(e, DeviceEvent::Error { message, .. } if message.starts_with("dropped"));
                let e = match ev.seen.iter().find(|e| report(e)) {
                    Some(e) => e.clone(),
                    None => ev.until("a dropped-frames report", report),
                };
                let DeviceEvent::Error { message, .. } = e else {
                    unreachable!()
                };
                assert!(
                    message.contains("checksum") || message.contains("EPC CRC") || message.contains("noise"),
                    "{message}"
                );
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_reader_that_comes_back_is_configured_again_and_keeps_reading() {
    let dir = tempfile::tempdir().unwrap();
    let tags = population(10);
    let sim = SimReader::start(
        SimReaderOptions {
            protocol: "m100".into(),
            tags,
            rate: 300.0,
            ..Default::default()
        },
        // A stable link: the replugged terminal may get another /dev/pts number.
        Some(&dir.path().join("reader")),
    )
    .unwrap();
    let (sink, mut ev) = sink();
    let port = sim.path().display().to_string();
    let _driver = devices::start(&reader_profile("m100"), Some(&port), sink, true).unwrap();
    ev.state(DeviceState::Connected);
    ev.until("a tag", |e| matches!(e, DeviceEvent::Tag(_)));
    let before = sim.stats().commands.lock().unwrap().clone();
    let starts = |c: &[lotline::devices::codec::HostCommand]| {
        c.iter()
            .filter(|c| matches!(c, lotline::devices::codec::HostCommand::StartInventory { .. }))
            .count()
    };
    let configures = |c: &[lotline::devices::codec::HostCommand]| {
        c.iter()
            .filter(|c| matches!(c, lotline::devices::codec::HostCommand::Configure { .. }))
            .count()
    };
    sim.unplug();
    ev.state(DeviceState::Lost);
    sim.replug();
    ev.state(DeviceState::Reconnected);
    ev.until("a tag after the replug", |e| matches!(e, DeviceEvent::Tag(_)));
    let after = sim.stats().commands.lock().unwrap().clone();
    assert!(
        configures(&after) >= 2 * configures(&before).max(1),
        "configuration sent again: {after:?}"
    );
    assert!(starts(&after) > starts(&before), "inventory resumed: {after:?}");
}

#[test]
fn tids_are_read_between_rounds_where_the_protocol_runs_in_rounds() {
    for protocol in ["r2000", "chafon288"] {
        let tags = population(4);
        let sim = SimReader::start(
            SimReaderOptions {
                protocol: protocol.into(),
                tags: tags.clone(),
                rate: 0.0,
                ..Default::default()
            },
            None,
        )
        .unwrap();
        let (sink, mut ev) = sink();
        let p = reader_profile(protocol);
        let r = p.rfid().unwrap();
        let opts = lotline::devices::rfid::RfidOptions {
            protocol: devices::reader_protocol(&r.reader),
            config: devices::inventory_config(&r.reader),
            plan: devices::target_plan(r.reader.target),
            read_tid: true,
            inventory_at_start: true,
        };
        let port = sim.path().display().to_string();
        let _d = lotline::devices::rfid::spawn(
            "tid".into(),
            devices::serial_settings(&r.serial, Some(&port)),
            opts,
            sink,
        );
        let mut with_tid = HashSet::new();
        while with_tid.len() < tags.len() {
            let e = ev.until(
                "a tag with its TID",
                |e| matches!(e, DeviceEvent::Tag(t) if t.tag.tid.is_some()),
            );
            let DeviceEvent::Tag(t) = e else { unreachable!() };
            assert_eq!(
                t.tag.tid.as_deref(),
                Some(lotline::devices::sim::sim_tid(&t.tag.epc).as_slice()),
                "{protocol}"
            );
            with_tid.insert(t.tag.epc);
        }
    }
}

#[test]
fn a_reader_that_never_answers_is_reported_and_the_driver_keeps_trying() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("silent");
    let _pty = Pty::open(Some(&link)).unwrap();
    let (sink, mut ev) = sink();
    let _driver = devices::start(&reader_profile("r2000"), Some(&link.display().to_string()), sink, true).unwrap();
    ev.state(DeviceState::Connected);
    let e = ev.until("no answer", |e| matches!(e, DeviceEvent::Error { .. }));
    let DeviceEvent::Error {
        message, message_zh, ..
    } = e
    else {
        unreachable!()
    };
    assert!(message.contains("no answer from the r2000 reader"), "{message}");
    assert!(message.contains("baud rate"), "{message}");
    assert!(message_zh.contains("r2000 读写器没有应答"), "{message_zh}");
}

#[test]
fn a_missing_device_is_absent_then_connected_when_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("later");
    let (sink, mut ev) = sink();
    let p = shipped("generic-cdc-scanner");
    let _driver = devices::start(&p, Some(&link.display().to_string()), sink, false).unwrap();
    let e = ev.state(DeviceState::Absent);
    let DeviceEvent::State {
        detail,
        detail_zh,
        kind,
        ..
    } = e
    else {
        unreachable!()
    };
    assert_eq!(kind, DeviceKind::Scanner);
    assert!(detail.contains("does not exist"), "{detail}");
    let link_shown = link.display().to_string();
    assert!(detail.contains(&link_shown), "names the port: {detail}");
    assert!(detail_zh.contains(&format!("{link_shown} 不存在")), "{detail_zh}");
    let sim = SimScanner::start(
        SimScannerWire::Plain {
            framing: cdc_framing(),
            aim: true,
        },
        Some(&link),
    )
    .unwrap();
    ev.state(DeviceState::Connected);
    sim.scan_text("(01)09501101530003(10)LATE");
    assert_eq!(ev.scan().1, b"010950110153000310LATE".to_vec());
}

/// HID POS reads one report per read: a SOCK_SEQPACKET pair keeps those boundaries like hidraw.
#[test]
fn hid_pos_reports_are_assembled_into_scans() {
    use lotline::devices::codec::aim::Aim;
    use lotline::devices::codec::hidpos::encode_reports;
    use lotline::devices::serial::supervise;
    use std::io::Write;
    use std::os::fd::FromRawFd;

    let mut fds = [0i32; 2];
    // SAFETY: a fresh pair of descriptors owned by the two Files below.
    assert_eq!(
        unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, fds.as_mut_ptr()) },
        0
    );
    let (host, mut device) = unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) };
    let (sink, mut ev) = sink();
    let (_tx, rx) = channel();
    let s2 = sink.clone();
    let t = std::thread::spawn(move || {
        let mut session = lotline::devices::hidraw::HidSession::new("hidpos".into(), s2.clone());
        let mut host = Some(host);
        let mut open = || {
            host.take().map(|h| (h, "socketpair".to_owned())).ok_or_else(|| {
                lotline::devices::serial::OpenError::missing(lotline::devices::hidraw::HidrawError::Missing {
                    path: "socketpair".into(),
                })
            })
        };
        supervise("hidpos", DeviceKind::Scanner, &mut open, &s2, &rx, &mut session);
    });
    ev.state(DeviceState::Connected);
    let data = b"010950110153000317261130\x1d10HID-POS-LOT-0123456789\x1d21SERIAL-THAT-MAKES-IT-LONGER-THAN-ONE-REPORT";
    for r in encode_reports(Aim::parse(b"]d2"), b'w', data) {
        device.write_all(&r).unwrap();
    }
    assert_eq!(ev.scan(), (Some("]d2".into()), data.to_vec()));
    drop(device);
    ev.state(DeviceState::Lost);
    drop(_tx);
    t.join().unwrap();
}

#[test]
fn detection_finds_profiled_devices_from_sysfs_and_dev() {
    let root = tempfile::tempdir().unwrap();
    let m = MachineInfo {
        sysfs: root.path().join("sys"),
        dev: root.path().join("dev"),
        device_tree: root.path().join("dt"),
    };
    let profiles = profile::load_all(&root.path().join("no-overrides"));
    assert!(devices::detect(&profiles, &m).is_empty(), "nothing attached");
    // A CDC-ACM scanner and a CP210x bridge (an RFID module) appear in /dev/serial/by-id.
    let by_id = m.dev.join("serial/by-id");
    std::fs::create_dir_all(&by_id).unwrap();
    std::fs::write(by_id.join("usb-Honeywell_Imaging_1900GSR-if00"), "").unwrap();
    std::fs::write(
        by_id.join("usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_0001-if00-port0"),
        "",
    )
    .unwrap();
    let found = devices::detect(&profiles, &m);
    let names: Vec<(String, Kind, Option<String>)> = found
        .iter()
        .map(|(p, port)| (p.name.clone(), p.kind(), port.clone()))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0].0, "generic-cdc-scanner");
    assert_eq!(
        names[0].2.as_deref(),
        Some("/dev/serial/by-id/usb-Honeywell_Imaging_1900GSR-if00")
    );
    assert_eq!(names[1].1, Kind::Rfid);
    assert_eq!(
        names[1].2.as_deref(),
        Some("/dev/serial/by-id/usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_0001-if00-port0")
    );
    // A HID POS scanner is found in sysfs by its vendor id and usage page 0x8C.
    std::fs::remove_file(by_id.join("usb-Honeywell_Imaging_1900GSR-if00")).unwrap();
    let hid = m.sysfs.join("class/hidraw/hidraw3/device");
    std::fs::create_dir_all(&hid).unwrap();
    std::fs::write(
        hid.join("uevent"),
        "DRIVER=hid-generic\nHID_ID=0003:00000C2E:00000B6A\nHID_NAME=Honeywell Voyager\n",
    )
    .unwrap();
    std::fs::write(
        hid.join("report_descriptor"),
        [0x06, 0x8C, 0x00, 0x09, 0x02, 0xA1, 0x01],
    )
    .unwrap();
    let found = devices::detect(&profiles, &m);
    assert_eq!(found[0].0.name, "hid-pos");
    assert_eq!(found[0].1.as_deref(), Some("/dev/hidraw3"));
    // The terminal: no DMI match, so the generic fallback.
    let t = devices::terminal_profile(&profiles, &m).unwrap();
    assert_eq!(t.name, "generic-handheld");
}

#[test]
fn listen_prints_tags_from_a_simulated_reader() {
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_lotline"))
        .env("LOTLINE_CONFIG", "")
        .args([
            "simulate",
            "rfid",
            "--protocol",
            "chafon288",
            "--tags",
            "8",
            "--duration",
            "30",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(sim.stdout.take().unwrap()), &mut first).unwrap();
    let port = first.trim().to_owned();
    assert!(port.starts_with("/dev/pts/"), "{first:?}");
    let o = lotline(&[
        "listen",
        "--profile",
        "chafon-uhfreader288",
        "--port",
        &port,
        "--duration",
        "4",
        "--inventory",
    ]);
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["event"], "device");
    assert_eq!(lines[0]["state"], "connected");
    let epcs: HashSet<String> = lines
        .iter()
        .filter(|l| l["event"] == "tag")
        .map(|l| l["epc"].as_str().unwrap().to_owned())
        .collect();
    let expected: HashSet<String> = population(8)
        .iter()
        .map(|t| lotline::devices::codec::gen2::hex(&t.epc))
        .collect();
    assert_eq!(epcs, expected);
    let tag = lines.iter().find(|l| l["event"] == "tag").unwrap();
    let keys: Vec<&str> = tag.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(&keys[..6], ["event", "epc", "pc", "rssi_dbm", "antenna", "at"]);
    assert_eq!(tag["pc"], "3000");
}

#[test]
fn listen_prints_scans_from_a_scripted_scanner() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("labels.txt");
    std::fs::write(
        &script,
        "# two labels\n(01)09501101530003(17)261130(10)LOT7(21)9\npause 100\n]C0LOC-A-01\n",
    )
    .unwrap();
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_lotline"))
        .env("LOTLINE_CONFIG", "")
        .args([
            "simulate",
            "scanner",
            "--script",
            script.to_str().unwrap(),
            "--interval",
            "500",
            "--duration",
            "30",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(sim.stdout.take().unwrap()), &mut first).unwrap();
    let o = lotline(&[
        "listen",
        "--profile",
        "generic-cdc-scanner",
        "--port",
        first.trim(),
        "--duration",
        "3",
    ]);
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(o.status.success(), "{}", stderr(&o));
    let scans: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "scan")
        .collect();
    assert_eq!(scans.len(), 2, "{}", stdout(&o));
    assert_eq!(scans[0]["symbology"], "]d2");
    assert_eq!(scans[0]["data"], "01095011015300031726113010LOT7\u{1d}219");
    assert!(
        scans[0]["hex"].as_str().unwrap().ends_with("4C4F54371D323139"),
        "{}",
        scans[0]["hex"]
    );
    assert_eq!(scans[1]["symbology"], "]C0");
    assert_eq!(scans[1]["data"], "LOC-A-01");
    let line = stdout(&o).lines().find(|l| l.contains("\"scan\"")).unwrap().to_owned();
    assert!(
        line.starts_with(r#"{"event":"scan","symbology":"]d2","data":"#),
        "{line}"
    );
}

#[test]
fn listen_names_a_missing_profile_and_a_missing_port() {
    let o = lotline(&["listen", "--profile", "no-such-reader", "--duration", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no device profile 'no-such-reader'"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("impinj-r2000"),
        "the message lists the profiles: {}",
        stderr(&o)
    );
    let o = lotline(&[
        "listen",
        "--profile",
        "impinj-r2000",
        "--port",
        "/dev/does-not-exist",
        "--duration",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1), "a port that cannot be opened is a failure");
    let first: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "error");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("/dev/does-not-exist does not exist"),
        "{first}"
    );
}

#[test]
fn profiles_check_names_file_field_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/hw-profiles/impinj-r2000.toml")).unwrap();
    std::fs::write(dir.path().join("impinj-r2000.toml"), &good).unwrap();
    let o = lotline(&["profiles", "check", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("1 profile(s)"), "{}", stdout(&o));
    // A typo'd field and an out-of-range power in two more files.
    std::fs::write(
        dir.path().join("typo.toml"),
        good.replace("name = \"impinj-r2000\"", "name = \"typo\"")
            .replace("power_dbm", "powr_dbm"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("hot.toml"),
        good.replace("name = \"impinj-r2000\"", "name = \"hot\"")
            .replace("power_dbm = 26", "power_dbm = 40"),
    )
    .unwrap();
    let o = lotline(&["profiles", "check", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("typo.toml") && err.contains("rfid.powr_dbm"), "{err}");
    assert!(
        err.contains("hot.toml") && err.contains("rfid.power_dbm") && err.contains("power-range"),
        "{err}"
    );
    assert!(err.contains("2 problem(s)"), "{err}");
    // The schema command prints the committed schema.
    let o = lotline(&["profiles", "schema"]);
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/hw-profiles/schema.json")).unwrap();
    assert_eq!(stdout(&o).trim_end(), committed.trim_end());
}

#[test]
fn simulate_refuses_what_it_cannot_simulate() {
    let o = lotline(&[
        "simulate",
        "scanner",
        "--profile",
        "generic-hid-wedge",
        "--duration",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("keyboard-wedge or HID POS"), "{}", stderr(&o));
    let o = lotline(&["simulate", "rfid", "--protocol", "nation"]);
    assert_eq!(o.status.code(), Some(2), "clap lists the protocols");
    assert!(stderr(&o).contains("r2000"), "{}", stderr(&o));
}
