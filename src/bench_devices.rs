//! `lotline bench devices`: RFID ingest throughput per protocol on one core, a line-rate soak
//! over a pseudo-terminal (no frame lost or misparsed), scan latency from the last byte written
//! to the event delivered, and how long a replugged device takes to be back. Figures, not
//! assertions: the README quotes them.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bench::{median, stats};
use crate::devices::codec::framer::{FrameEnd, FramerConfig};
use crate::devices::codec::{InventoryConfig, PROTOCOLS, ReaderMsg, emulation, gen2, protocol};
use crate::devices::inventory::{InventorySession, TargetPlan};
use crate::devices::serial::SerialSettings;
use crate::devices::sim::{Pty, SimReader, SimReaderOptions, counting_population, demo_units, sgtin_population};
use crate::devices::{DeviceEvent, DeviceState, Sink, rfid, scanner};
use crate::domain::epc::decode_epc_with_pc;

/// Decodes a recorded stream of tag frames, checks every checksum, de-duplicates the reads and
/// decodes each report's EPC: the whole ingest path of the RFID driver, without the port.
fn ingest_rate(protocol_name: &str, rounds: usize, seconds: f64) -> anyhow::Result<Vec<f64>> {
    let emu = emulation(protocol_name).ok_or_else(|| anyhow::anyhow!("no protocol {protocol_name}"))?;
    let proto = protocol(protocol_name).ok_or_else(|| anyhow::anyhow!("no protocol {protocol_name}"))?;
    // 1,000 distinct SGTIN-96 tags, each read 5 times, in 512-byte chunks as a UART delivers.
    let tags = sgtin_population(&demo_units(1000));
    let mut stream = Vec::new();
    let mut reports = 0usize;
    for _ in 0..5 {
        match emu.round_reply(&tags) {
            Some(frames) => {
                for f in frames {
                    stream.extend_from_slice(&f);
                }
                reports += tags.len();
            }
            None => {
                for t in &tags {
                    stream.extend_from_slice(&emu.tag(t));
                    reports += 1;
                }
            }
        }
    }
    let mut rates = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let mut n = 0usize;
        let mut msgs = Vec::with_capacity(256);
        loop {
            let mut dec = proto.decoder();
            let mut session = InventorySession::new(TargetPlan::A, start);
            let mut ok = 0usize;
            for chunk in stream.chunks(512) {
                dec.push(chunk, &mut msgs);
                for m in msgs.drain(..) {
                    if let Ok(ReaderMsg::Tag(t)) = m {
                        let hex = gen2::hex(&t.epc);
                        std::hint::black_box(decode_epc_with_pc(t.pc, &hex).ok());
                        session.observe(&t, start);
                        ok += 1;
                    }
                }
            }
            anyhow::ensure!(ok == reports, "{protocol_name}: {ok} of {reports} reports decoded");
            anyhow::ensure!(
                session.unique() == tags.len(),
                "{protocol_name}: dedup found {}",
                session.unique()
            );
            n += ok;
            if start.elapsed().as_secs_f64() >= seconds {
                break;
            }
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    Ok(rates)
}

/// Streams tag frames at the serial line's byte rate over a pseudo-terminal into the R2000
/// driver for `seconds`; every frame sent must arrive, and nothing else.
fn soak(seconds: f64) -> anyhow::Result<(u64, u64, u64, f64)> {
    let tags = counting_population(400);
    let valid: HashSet<Vec<u8>> = tags.iter().map(|t| t.epc.clone()).collect();
    let sim = SimReader::start(
        SimReaderOptions {
            protocol: "r2000".into(),
            tags,
            rate: 0.0,
            read_probability: 1.0,
            baud: 115_200,
            ..Default::default()
        },
        None,
    )?;
    let received = Arc::new(Mutex::new((0u64, 0u64)));
    let r = received.clone();
    let sink: Sink = Arc::new(move |ev| {
        if let DeviceEvent::Tag(t) = ev {
            let mut g = r.lock().expect("counter lock");
            g.0 += 1;
            if !valid.contains(&t.tag.epc) {
                g.1 += 1;
            }
        }
    });
    let opts = rfid::RfidOptions {
        protocol: protocol("r2000").expect("r2000"),
        // Session S0: every tag answers every round, so the line is never idle.
        config: InventoryConfig {
            session: 0,
            ..Default::default()
        },
        plan: TargetPlan::A,
        read_tid: false,
        inventory_at_start: true,
    };
    let driver = rfid::spawn(
        "soak".into(),
        SerialSettings::new_8n1(sim.path().display().to_string(), 115_200),
        opts,
        sink,
    );
    std::thread::sleep(Duration::from_secs_f64(seconds));
    // Stop the reader, let the last frames drain, then compare.
    driver.send(crate::devices::DriverCommand::StopInventory);
    std::thread::sleep(Duration::from_millis(1500));
    let sent = sim.stats().tag_frames.load(Ordering::Relaxed);
    let bytes = sim.stats().bytes.load(Ordering::Relaxed);
    drop(driver);
    let (got, wrong) = *received.lock().expect("counter lock");
    Ok((sent, got, wrong, bytes as f64 / seconds))
}

/// Scan latency: the time from the last byte of a frame written on the pseudo-terminal to the
/// scan event delivered, for suffix framing and for suffix+gap framing.
fn scan_latency(end: FrameEnd, scans: usize) -> anyhow::Result<Vec<f64>> {
    let dir = std::env::temp_dir().join(format!("lotline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let link = dir.join(format!("scanner-{end:?}"));
    let mut pty = Pty::open(Some(&link))?;
    let (tx, rx) = channel();
    let sink: Sink = Arc::new(move |ev| {
        let _ = tx.send((Instant::now(), ev));
    });
    let framing = FramerConfig {
        end,
        gap: Duration::from_millis(50),
        ..FramerConfig::default()
    };
    let wire = scanner::ScannerWire::Plain { framing, aim: true };
    let _driver = scanner::spawn(
        "latency".into(),
        SerialSettings::new_8n1(link.display().to_string(), 115_200),
        wire,
        sink,
    );
    // Connected, and the host side has the port open.
    loop {
        match rx.recv_timeout(Duration::from_secs(10))?.1 {
            DeviceEvent::State {
                state: DeviceState::Connected,
                ..
            } => break,
            _ => continue,
        }
    }
    let mut buf = [0u8; 64];
    let t0 = Instant::now();
    while pty.read(&mut buf, Duration::from_millis(10)).is_none() && t0.elapsed() < Duration::from_secs(5) {}
    let mut lat = Vec::with_capacity(scans);
    for i in 0..scans {
        let frame = format!("]d20109501101530003{}10LOT{i:05}\r", "\u{1d}");
        anyhow::ensure!(pty.write(frame.as_bytes()), "the pseudo-terminal closed");
        let written = Instant::now();
        loop {
            let (at, ev) = rx.recv_timeout(Duration::from_secs(5))?;
            if let DeviceEvent::Scan(s) = ev {
                anyhow::ensure!(
                    s.data.ends_with(format!("LOT{i:05}").as_bytes()),
                    "scan {i} arrived out of order"
                );
                lat.push(at.duration_since(written).as_secs_f64() * 1e6);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(15));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(lat)
}

/// How long a replugged reader takes to be connected again (from the replug to the event).
fn reconnect_times(cycles: usize) -> anyhow::Result<Vec<f64>> {
    let sim = SimReader::start(
        SimReaderOptions {
            protocol: "m100".into(),
            tags: counting_population(5),
            ..Default::default()
        },
        Some(&std::env::temp_dir().join(format!("lotline-bench-replug-{}", std::process::id()))),
    )?;
    let (tx, rx) = channel();
    let sink: Sink = Arc::new(move |ev| {
        if let DeviceEvent::State { state, .. } = ev {
            let _ = tx.send((Instant::now(), state));
        }
    });
    let opts = rfid::RfidOptions {
        protocol: protocol("m100").expect("m100"),
        config: InventoryConfig::default(),
        plan: TargetPlan::A,
        read_tid: false,
        inventory_at_start: false,
    };
    let _d = rfid::spawn(
        "replug".into(),
        SerialSettings::new_8n1(sim.path().display().to_string(), 115_200),
        opts,
        sink,
    );
    let wait = |want: DeviceState| -> anyhow::Result<Instant> {
        loop {
            let (at, s) = rx.recv_timeout(Duration::from_secs(10))?;
            if s == want {
                return Ok(at);
            }
        }
    };
    wait(DeviceState::Connected)?;
    let mut times = Vec::new();
    for _ in 0..cycles {
        sim.unplug();
        wait(DeviceState::Lost)?;
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        sim.replug();
        let back = wait(DeviceState::Reconnected)?;
        times.push(back.duration_since(t).as_secs_f64() * 1e3);
    }
    Ok(times)
}

/// `lotline bench devices`.
pub fn devices(rounds: usize, soak_seconds: f64, scans: usize) -> anyhow::Result<()> {
    println!("RFID ingest (frame decode + checksum + EPC CRC where carried + de-duplication + EPC decode), one core:");
    for p in PROTOCOLS {
        let rates = ingest_rate(p, rounds, 1.0)?;
        println!(
            "  {p:<10} median {:>10.0} tag reports/s  (rounds: {})",
            median(rates.clone()),
            fmt_rates(&rates)
        );
    }
    println!("Scan latency, last byte written on a pseudo-terminal to the scan event ({scans} scans):");
    for (end, what) in [
        (FrameEnd::Suffix, "suffix CR"),
        (FrameEnd::SuffixThenGap, "suffix CR + 50 ms gap"),
    ] {
        let s = stats(scan_latency(end, scans)?);
        println!(
            "  {what:<22} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
            s.p50_us / 1e3,
            s.p99_us / 1e3,
            s.max_us / 1e3
        );
    }
    let t = reconnect_times(10)?;
    let s = stats(t.iter().map(|x| x * 1e3).collect());
    println!(
        "Replugged reader connected again (10 cycles): median {:.0} ms, max {:.0} ms",
        s.p50_us / 1e3,
        s.max_us / 1e3
    );
    if soak_seconds > 0.0 {
        println!(
            "Soak: R2000 tag frames at the 115200-baud line rate over a pseudo-terminal for {soak_seconds:.0} s ..."
        );
        let (sent, got, wrong, bps) = soak(soak_seconds)?;
        println!(
            "  sent {sent} frames ({bps:.0} bytes/s on the line), received {got}, lost {}, misparsed {wrong}",
            sent.saturating_sub(got)
        );
    }
    Ok(())
}

fn fmt_rates(r: &[f64]) -> String {
    r.iter().map(|x| format!("{:.0}", x)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ingest_benchmark_decodes_every_report_of_every_protocol() {
        for p in PROTOCOLS {
            let r = ingest_rate(p, 1, 0.0).unwrap();
            assert!(r[0] > 0.0, "{p}");
        }
        // The tag population the soak uses is valid for the counting check.
        let tags = counting_population(3);
        assert_eq!(tags.iter().map(|t| t.epc.clone()).collect::<HashSet<_>>().len(), 3);
    }
}
