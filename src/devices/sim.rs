//! Simulated devices, first-class drivers' counterparts: a scanner and an RFID reader on the
//! master side of a pseudo-terminal, speaking the real wire protocol (framing, AIM ids, SSI
//! packets; the four RFID module protocols with their checksums). The app and the tests open the
//! slave side like a real port. Unplugging closes the master (the app's reads fail as on a USB
//! unplug); re-plugging makes a new pseudo-terminal and points the stable link at it, as udev
//! does with `/dev/lotline-scanner`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

use super::codec::framer::FramerConfig;
use super::codec::{HostCommand, InventoryMode, ReaderEmulation, TagReport, Target, gen2, ssi};
use crate::domain::text::Bilingual;

/// Why a simulator could not start. A cause is part of the message, not a `source` (the command
/// line prints every source after the message, so it would show twice).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown RFID protocol '{protocol}' (r2000, m100, mercury, chafon18, chafon288)")]
    UnknownProtocol { protocol: String },
    #[error(
        "cannot create a pseudo-terminal or the link to it: {0}; check that /dev/ptmx is usable and the link's folder writable"
    )]
    Pty(std::io::Error),
    #[error("cannot start the simulator's thread: {0}")]
    Thread(std::io::Error),
}

impl Bilingual for SimError {
    fn message_zh(&self) -> String {
        match self {
            SimError::UnknownProtocol { protocol } => {
                format!("未知的 RFID 协议 '{protocol}'（可用：r2000、m100、mercury、chafon18、chafon288）")
            }
            SimError::Pty(e) => format!("无法创建伪终端或指向它的链接：{e}；请确认 /dev/ptmx 可用且链接所在文件夹可写"),
            SimError::Thread(e) => format!("无法启动模拟器线程：{e}"),
        }
    }
}

/// A pseudo-terminal pair whose master the simulator holds; the slave is reached through a
/// stable symlink when one is given.
pub struct Pty {
    master: Option<TTYPort>,
    slave_path: String,
    link: Option<PathBuf>,
}

impl Pty {
    /// Opens a new pair (and points `link` at its slave).
    pub fn open(link: Option<&Path>) -> std::io::Result<Pty> {
        let (master, slave) = TTYPort::pair().map_err(std::io::Error::other)?;
        let slave_path = slave
            .name()
            .ok_or_else(|| std::io::Error::other("pseudo-terminal without a name"))?;
        // The host opens the slave itself; the simulator only keeps the master.
        drop(slave);
        let mut p = Pty {
            master: Some(master),
            slave_path,
            link: link.map(Path::to_path_buf),
        };
        p.relink()?;
        Ok(p)
    }

    fn relink(&mut self) -> std::io::Result<()> {
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
            std::os::unix::fs::symlink(&self.slave_path, link)?;
        }
        Ok(())
    }

    /// The path the host opens: the link, or the slave's own node.
    pub fn path(&self) -> PathBuf {
        self.link.clone().unwrap_or_else(|| PathBuf::from(&self.slave_path))
    }

    /// Closes the master: the host's next read fails as on an unplug, and the node disappears.
    pub fn unplug(&mut self) {
        self.master = None;
    }

    /// A new pseudo-terminal behind the same link.
    pub fn replug(&mut self) -> std::io::Result<()> {
        let (master, slave) = TTYPort::pair().map_err(std::io::Error::other)?;
        self.slave_path = slave.name().unwrap_or_default();
        drop(slave);
        self.master = Some(master);
        self.relink()
    }

    pub fn is_plugged(&self) -> bool {
        self.master.is_some()
    }

    /// Reads what the host wrote, waiting up to `timeout`. `None`: the host does not have
    /// the port open (or the device is unplugged).
    pub fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Option<usize> {
        use std::io::Read;
        let m = self.master.as_mut()?;
        let _ = m.set_timeout(timeout);
        match m.read(buf) {
            Ok(n) => Some(n),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Some(0),
            Err(_) => None,
        }
    }

    /// Writes bytes as the device; false when unplugged or the host is not there.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        use std::io::Write;
        match self.master.as_mut() {
            Some(m) => m.write_all(bytes).and_then(|_| m.flush()).is_ok(),
            None => false,
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(link) = &self.link
            && std::fs::read_link(link).is_ok_and(|t| t == Path::new(&self.slave_path))
        {
            let _ = std::fs::remove_file(link);
        }
    }
}

/// Whether the host has the slave open: reading the master fails with a hang-up while nobody does.
fn host_present(pty: &mut Pty, buf: &mut [u8], wait: Duration) -> Option<usize> {
    match pty.read(buf, wait) {
        Some(n) => Some(n),
        None => {
            std::thread::sleep(wait.min(Duration::from_millis(20)));
            None
        }
    }
}

/// Paces writes to a serial line's byte rate (a pseudo-terminal has none of its own).
struct Line {
    bytes_per_s: f64,
    free_at: Instant,
}

impl Line {
    fn new(baud: u32) -> Line {
        Line {
            bytes_per_s: f64::from(baud) / 10.0,
            free_at: Instant::now(),
        }
    }
    /// Waits until `n` more bytes fit on the line.
    fn pace(&mut self, n: usize) {
        let now = Instant::now();
        if self.free_at < now {
            self.free_at = now;
        }
        self.free_at += Duration::from_secs_f64(n as f64 / self.bytes_per_s);
        let wait = self.free_at.saturating_duration_since(Instant::now());
        if wait > Duration::from_micros(200) {
            std::thread::sleep(wait);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scanner

/// How the simulated scanner frames its output.
#[derive(Debug, Clone)]
pub enum SimScannerWire {
    Plain { framing: FramerConfig, aim: bool },
    Ssi,
}

enum ScannerCmd {
    Scan { symbology: Option<String>, data: Vec<u8> },
    Unplug,
    Replug,
    Shutdown,
}

/// A simulated serial scanner. Scans given to it are sent on the pseudo-terminal as the
/// configured scanner would send them; they wait while the host has the port closed.
pub struct SimScanner {
    tx: Sender<ScannerCmd>,
    path: PathBuf,
    thread: Option<std::thread::JoinHandle<()>>,
    sent: Arc<AtomicU64>,
}

impl SimScanner {
    pub fn start(wire: SimScannerWire, link: Option<&Path>) -> Result<SimScanner, SimError> {
        let pty = Pty::open(link).map_err(SimError::Pty)?;
        let path = pty.path();
        let (tx, rx) = std::sync::mpsc::channel();
        let sent = Arc::new(AtomicU64::new(0));
        let s = sent.clone();
        let thread = std::thread::Builder::new()
            .name("sim scanner".into())
            .spawn(move || scanner_loop(pty, wire, rx, s))
            .map_err(SimError::Thread)?;
        Ok(SimScanner {
            tx,
            path,
            thread: Some(thread),
            sent,
        })
    }

    /// The port the host opens.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Scans a label written as people write it (see [`as_scanned`]).
    pub fn scan_text(&self, text: &str) {
        let (symbology, data) = as_scanned(text);
        self.scan(symbology, data);
    }

    pub fn scan(&self, symbology: Option<String>, data: Vec<u8>) {
        let _ = self.tx.send(ScannerCmd::Scan { symbology, data });
    }

    pub fn unplug(&self) {
        let _ = self.tx.send(ScannerCmd::Unplug);
    }

    pub fn replug(&self) {
        let _ = self.tx.send(ScannerCmd::Replug);
    }

    /// Scans written to the line so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for SimScanner {
    fn drop(&mut self) {
        let _ = self.tx.send(ScannerCmd::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a scanner sends for a label written as people write it: a leading symbology
/// identifier (`]d2`) is kept; `<GS>` and `\x1d` stand for GS; a bracketed GS1 element string
/// `(01)…(10)…` becomes the raw string a GS1 DataMatrix carries (`]d2`, GS after
/// variable-length values); 12 or 13 digits are a UPC-A/EAN-13 (`]E0`), 8 an EAN-8 (`]E4`);
/// anything else Code 128 (`]C0`).
pub fn as_scanned(text: &str) -> (Option<String>, Vec<u8>) {
    let text = text
        .trim()
        .replace("<GS>", "\u{1d}")
        .replace("\\x1d", "\u{1d}")
        .replace("\\x1D", "\u{1d}");
    let b = text.as_bytes();
    if b.len() >= 3 && b[0] == b']' && b[1].is_ascii_alphabetic() {
        return (Some(text[..3].to_owned()), b[3..].to_vec());
    }
    if let Some(ais) = crate::domain::gs1::split_bracketed(&text) {
        return (
            Some("]d2".into()),
            crate::domain::gs1::element_string(&ais).into_bytes(),
        );
    }
    let digits = b.iter().all(u8::is_ascii_digit);
    let sym = match (digits, b.len()) {
        (true, 8) => "]E4",
        (true, 12 | 13) => "]E0",
        _ => "]C0",
    };
    (Some(sym.into()), b.to_vec())
}

/// The bytes a plain serial scanner sends for one scan.
pub fn plain_frame(framing: &FramerConfig, aim: bool, symbology: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut v = framing.prefix.clone();
    if aim {
        // A scanner set to send AIM ids always sends one; plain data is ]X0 ("other").
        v.extend_from_slice(symbology.unwrap_or("]X0").as_bytes());
    }
    v.extend_from_slice(data);
    v.extend_from_slice(&framing.suffix);
    v
}

/// The SSI barcode type byte for an AIM identifier (the inverse of `aim_from_ssi_type`).
fn ssi_type_for(symbology: Option<&str>) -> u8 {
    let Some(s) = symbology else { return 0x03 };
    (0u8..=0xFF)
        .find(|t| super::codec::aim::aim_from_ssi_type(*t).is_some_and(|a| a.as_str() == s))
        .unwrap_or(0x03)
}

fn scanner_loop(mut pty: Pty, wire: SimScannerWire, rx: Receiver<ScannerCmd>, sent: Arc<AtomicU64>) {
    let mut queue: VecDeque<Vec<Vec<u8>>> = VecDeque::new();
    let mut buf = [0u8; 512];
    let mut ssi_decoder = ssi::SsiDecoder::new();
    let mut packets = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(ScannerCmd::Scan { symbology, data }) => queue.push_back(match &wire {
                SimScannerWire::Plain { framing, aim } => vec![plain_frame(framing, *aim, symbology.as_deref(), &data)],
                SimScannerWire::Ssi => ssi::decode_data_packets(ssi_type_for(symbology.as_deref()), &data, 250),
            }),
            Ok(ScannerCmd::Unplug) => pty.unplug(),
            Ok(ScannerCmd::Replug) => {
                let _ = pty.replug();
            }
            Ok(ScannerCmd::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if !pty.is_plugged() {
            continue;
        }
        let Some(n) = host_present(&mut pty, &mut buf, Duration::from_millis(1)) else {
            continue;
        };
        if matches!(wire, SimScannerWire::Ssi) && n > 0 {
            // The engine ACKs every host command (parameters, sessions); host ACKs need nothing.
            ssi_decoder.push(&buf[..n], &mut packets);
            for p in packets.drain(..) {
                if let Ok(p) = p
                    && p.opcode != ssi::CMD_ACK
                    && p.opcode != ssi::CMD_NAK
                {
                    pty.write(&ssi::decoder_ack());
                }
            }
        }
        if let Some(frames) = queue.pop_front() {
            if frames.iter().all(|f| pty.write(f)) {
                sent.fetch_add(1, Ordering::Relaxed);
            } else {
                queue.push_front(frames);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RFID reader

/// What the simulated reader does.
#[derive(Debug, Clone)]
pub struct SimReaderOptions {
    /// `r2000`, `m100`, `mercury`, `chafon18` or `chafon288`.
    pub protocol: String,
    /// The tags in the field.
    pub tags: Vec<TagReport>,
    /// Tag reports per second while inventorying; 0 = as fast as the serial line carries.
    pub rate: f64,
    /// Percent of frames sent with a flipped bit (the host must drop them).
    pub corrupt_percent: f64,
    /// Line speed the output is paced to.
    pub baud: u32,
    /// Chance that a tag answers in a round (radio conditions), 0–1.
    pub read_probability: f64,
    pub seed: u64,
}

impl Default for SimReaderOptions {
    fn default() -> Self {
        SimReaderOptions {
            protocol: "r2000".into(),
            tags: Vec::new(),
            rate: 200.0,
            corrupt_percent: 0.0,
            baud: 115_200,
            read_probability: 0.85,
            seed: 1,
        }
    }
}

/// Counters the simulated reader keeps (for tests and the soak benchmark).
#[derive(Debug, Default)]
pub struct SimReaderStats {
    pub tag_frames: AtomicU64,
    pub corrupted: AtomicU64,
    pub bytes: AtomicU64,
    /// Every host command it received, in order.
    pub commands: Mutex<Vec<HostCommand>>,
}

enum ReaderCtl {
    Unplug,
    Replug,
    Shutdown,
}

/// A simulated UHF RFID reader module.
pub struct SimReader {
    tx: Sender<ReaderCtl>,
    path: PathBuf,
    stats: Arc<SimReaderStats>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimReader {
    pub fn start(opts: SimReaderOptions, link: Option<&Path>) -> Result<SimReader, SimError> {
        let emu = super::codec::emulation(&opts.protocol).ok_or_else(|| SimError::UnknownProtocol {
            protocol: opts.protocol.clone(),
        })?;
        let mode = super::codec::protocol(&opts.protocol)
            .map(|p| p.mode())
            .unwrap_or(InventoryMode::PerRound);
        let pty = Pty::open(link).map_err(SimError::Pty)?;
        let path = pty.path();
        let stats = Arc::new(SimReaderStats::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let st = stats.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sim {}", opts.protocol))
            .spawn(move || ReaderSim::new(pty, emu, mode, opts, st).run(rx))
            .map_err(SimError::Thread)?;
        Ok(SimReader {
            tx,
            path,
            stats,
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stats(&self) -> &SimReaderStats {
        &self.stats
    }

    pub fn unplug(&self) {
        let _ = self.tx.send(ReaderCtl::Unplug);
    }

    pub fn replug(&self) {
        let _ = self.tx.send(ReaderCtl::Replug);
    }
}

impl Drop for SimReader {
    fn drop(&mut self) {
        let _ = self.tx.send(ReaderCtl::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// xorshift64*: deterministic noise for reads and corruption.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// One tag's inventoried flags (S0–S3), as Gen2 keeps them.
struct SimTag {
    report: TagReport,
    flags: [Target; 4],
    /// When the S1 flag falls back to A (S1 persistence is 0.5–5 s; the simulator uses 2 s).
    s1_reset: Option<Instant>,
}

struct ReaderSim {
    pty: Pty,
    emu: Box<dyn ReaderEmulation>,
    mode: InventoryMode,
    opts: SimReaderOptions,
    stats: Arc<SimReaderStats>,
    tags: Vec<SimTag>,
    rng: Rng,
    line: Line,
    streaming: Option<(u8, Target)>,
    cursor: usize,
    next_tag_at: Instant,
    round_reads: u32,
}

impl ReaderSim {
    fn new(
        pty: Pty,
        emu: Box<dyn ReaderEmulation>,
        mode: InventoryMode,
        opts: SimReaderOptions,
        stats: Arc<SimReaderStats>,
    ) -> Self {
        let tags = opts
            .tags
            .iter()
            .map(|t| SimTag {
                report: t.clone(),
                flags: [Target::A; 4],
                s1_reset: None,
            })
            .collect();
        ReaderSim {
            pty,
            emu,
            mode,
            rng: Rng(opts.seed.max(1)),
            line: Line::new(opts.baud),
            opts,
            stats,
            tags,
            streaming: None,
            cursor: 0,
            next_tag_at: Instant::now(),
            round_reads: 0,
        }
    }

    fn send(&mut self, mut frame: Vec<u8>, is_tag: bool) {
        if is_tag && !frame.is_empty() && self.rng.chance(self.opts.corrupt_percent / 100.0) {
            let i = (self.rng.next() % frame.len() as u64) as usize;
            frame[i] ^= 1 << (self.rng.next() % 8);
            self.stats.corrupted.fetch_add(1, Ordering::Relaxed);
        }
        self.line.pace(frame.len());
        if self.pty.write(&frame) {
            self.stats.bytes.fetch_add(frame.len() as u64, Ordering::Relaxed);
            if is_tag {
                self.stats.tag_frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Whether tag `i` answers a query on (session, target) now, flipping its flag if it does.
    fn answers(&mut self, i: usize, session: u8, target: Target, now: Instant) -> bool {
        let t = &mut self.tags[i];
        let s = usize::from(session.min(3));
        if s == 1 && t.s1_reset.is_some_and(|r| now >= r) {
            t.flags[1] = Target::A;
            t.s1_reset = None;
        }
        if t.flags[s] != target {
            return false;
        }
        if !self.rng.chance(self.opts.read_probability) {
            return false;
        }
        let t = &mut self.tags[i];
        match s {
            // S0 persistence ends whenever the tag loses power: in a hopping reader, at once.
            0 => {}
            1 => {
                t.flags[1] = target.flip();
                t.s1_reset = Some(now + Duration::from_secs(2));
            }
            _ => t.flags[s] = target.flip(),
        }
        true
    }

    fn tag_gap(&self) -> Duration {
        if self.opts.rate > 0.0 {
            Duration::from_secs_f64(1.0 / self.opts.rate)
        } else {
            Duration::ZERO
        }
    }

    /// One PerRound round: every tag that answers, paced, then the end of the round.
    fn round(&mut self, session: u8, target: Target) {
        let now = Instant::now();
        let mut read = Vec::new();
        for i in 0..self.tags.len() {
            if self.answers(i, session, target, now) {
                read.push(self.tags[i].report.clone());
            }
        }
        let reads_per_s = self.opts.rate.max(1.0) as u32;
        if let Some(frames) = self.emu.round_reply(&read) {
            for f in frames {
                self.send(f, true);
            }
            return;
        }
        let gap = self.tag_gap();
        for t in &read {
            let f = self.emu.tag(t);
            self.send(f, true);
            if !gap.is_zero() {
                std::thread::sleep(gap);
            }
        }
        if let Some(f) = self.emu.round_end(read.len() as u32, reads_per_s) {
            self.send(f, false);
        }
    }

    /// Continuous mode: the next tag that answers, if its time has come.
    fn stream_step(&mut self, session: u8, target: Target) {
        let now = Instant::now();
        if now < self.next_tag_at || self.tags.is_empty() {
            return;
        }
        // Look at every tag once at most per step.
        for _ in 0..self.tags.len() {
            let i = self.cursor;
            self.cursor = (self.cursor + 1) % self.tags.len();
            if self.answers(i, session, target, now) {
                let f = self.emu.tag(&self.tags[i].report.clone());
                self.send(f, true);
                self.round_reads += 1;
                self.next_tag_at = now + self.tag_gap();
                return;
            }
        }
        self.next_tag_at = now + Duration::from_millis(20);
    }

    fn run(mut self, rx: Receiver<ReaderCtl>) {
        let mut buf = [0u8; 512];
        let mut cmds = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(ReaderCtl::Unplug) => {
                    self.pty.unplug();
                    self.streaming = None;
                    // A module loses its volatile settings and flags with its power.
                    for t in &mut self.tags {
                        t.flags = [Target::A; 4];
                    }
                }
                Ok(ReaderCtl::Replug) => {
                    let _ = self.pty.replug();
                }
                Ok(ReaderCtl::Shutdown) | Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
            if !self.pty.is_plugged() {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let wait = if self.streaming.is_some() {
                Duration::from_micros(500)
            } else {
                Duration::from_millis(5)
            };
            let Some(n) = host_present(&mut self.pty, &mut buf, wait) else {
                self.streaming = None;
                continue;
            };
            if n > 0 {
                self.emu.push_host(&buf[..n], &mut cmds);
            }
            for c in std::mem::take(&mut cmds) {
                let Ok(c) = c else { continue };
                self.stats.commands.lock().expect("stats lock").push(c.clone());
                match &c {
                    HostCommand::StartInventory { session, target } => {
                        let (s, t) = (session.unwrap_or(0), target.unwrap_or(Target::A));
                        match self.mode {
                            InventoryMode::PerRound => self.round(s, t),
                            InventoryMode::Continuous => {
                                let a = self.emu.answer(&c);
                                if !a.is_empty() {
                                    self.send(a, false);
                                }
                                self.streaming = Some((s, t));
                                self.round_reads = 0;
                            }
                        }
                    }
                    HostCommand::StopInventory => {
                        self.streaming = None;
                        let a = self.emu.answer(&c);
                        self.send(a, false);
                    }
                    HostCommand::ReadTid { epc, .. } => {
                        let tid = sim_tid(epc);
                        let a = self.emu.tid_reply(epc, &tid);
                        self.send(a, false);
                    }
                    _ => {
                        let a = self.emu.answer(&c);
                        if !a.is_empty() {
                            self.send(a, false);
                        }
                    }
                }
            }
            if let Some((s, t)) = self.streaming {
                self.stream_step(s, t);
            }
        }
    }
}

/// A TID for a simulated tag: Impinj Monza class id E2 801 1xx and a serial derived from the EPC.
pub fn sim_tid(epc: &[u8]) -> Vec<u8> {
    let mut tid = vec![0xE2, 0x80, 0x11, 0x05, 0x20, 0x00];
    let h = epc.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    tid.extend_from_slice(&h.to_be_bytes()[..6]);
    tid
}

/// A tag population: the SGTIN-96 EPCs of these (GTIN, serial) units (serials that are not
/// numbers, or GTINs without a valid check digit, are skipped: SGTIN-96 cannot carry them),
/// spread over antennas 1–2 with RSSI between −35 and −70 dBm.
pub fn sgtin_population(units: &[(String, String)]) -> Vec<TagReport> {
    units
        .iter()
        .filter_map(|(gtin, serial)| {
            let serial: u64 = serial.parse().ok()?;
            crate::domain::epc::encode_sgtin96(gtin, 8, 1, serial).ok()
        })
        .enumerate()
        .map(|(i, epc)| TagReport {
            pc: gen2::pc_for_len(epc.len()),
            epc,
            rssi_dbm: Some(-35 - ((i * 7) % 36) as i16),
            antenna: Some(1 + (i % 2) as u8),
            tid: None,
        })
        .collect()
}

/// `n` units of the demo items (GTINs of `store::demo`), serials counting up per item.
pub fn demo_units(n: usize) -> Vec<(String, String)> {
    let items = crate::store::demo::demo_item_count();
    (0..n)
        .map(|i| (crate::store::demo::demo_gtin(i % items), (i / items + 1).to_string()))
        .collect()
}

/// A tag population whose EPCs count up (for soak tests: every read is checkable).
pub fn counting_population(n: usize) -> Vec<TagReport> {
    (0..n as u64)
        .map(|i| {
            let mut epc = vec![0xE2, 0x00, 0x00, 0x17, 0x00, 0x00];
            epc.extend_from_slice(&(i as u32 as u64).to_be_bytes()[2..]);
            TagReport {
                epc,
                pc: 0x3000,
                rssi_dbm: Some(-50),
                antenna: Some(1),
                tid: None,
            }
        })
        .collect()
}
