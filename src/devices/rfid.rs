//! The UHF RFID reader driver: a protocol codec (`codec::{r2000, m100, mercury, chafon}`) on a
//! serial port. On every (re)connect it probes the reader, sends its configuration (power,
//! region, session, Q) again, and resumes the inventory if one was running. Reads go through an
//! [`InventorySession`] (de-duplication, passes alternating target A/B) and out as events;
//! corrupt frames are dropped and counted, never delivered.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use chrono::Utc;
use serialport::TTYPort;

use super::codec::{FrameError, InventoryConfig, InventoryMode, ReaderDecoder, ReaderMsg, ReaderProtocol, Target};
use super::inventory::{InventorySession, TargetPlan};
use super::serial::{
    PortSession, SerialSettings, SessionEnd, opener, pending_commands, read_some, supervise, write_all,
};
use super::{DeviceEvent, DeviceKind, DriverCommand, DriverHandle, LinkError, Sink, TagEvent};
use crate::domain::text::Bilingual;

/// How long a reader may take to answer the probe before the user is told.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);
/// A round (PerRound protocols) that has not ended by then is asked for again.
const ROUND_TIMEOUT: Duration = Duration::from_millis(2000);
/// A continuous pass ends after this long without a new tag (then the target flips) ...
const PASS_QUIET: Duration = Duration::from_millis(1500);
/// ... or after this long in any case.
const PASS_MAX: Duration = Duration::from_secs(10);
/// Dropped-frame reports are summed over this long, so a noisy line is one message, not a flood.
const ERROR_REPORT_EVERY: Duration = Duration::from_secs(5);

/// Everything the RFID driver needs besides the port.
pub struct RfidOptions {
    pub protocol: Box<dyn ReaderProtocol>,
    pub config: InventoryConfig,
    pub plan: TargetPlan,
    /// Read each new tag's TID (PerRound protocols, between rounds).
    pub read_tid: bool,
    /// Start an inventory as soon as the reader is connected.
    pub inventory_at_start: bool,
}

/// Starts the driver on its own thread.
pub fn spawn(device: String, settings: SerialSettings, opts: RfidOptions, sink: Sink) -> DriverHandle {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = device.clone();
    let thread = std::thread::Builder::new()
        .name(format!("rfid {device}"))
        .spawn(move || {
            let mut s = RfidSession::new(device.clone(), opts, sink.clone());
            supervise(&device, DeviceKind::Rfid, &mut opener(&settings), &sink, &rx, &mut s);
        })
        .expect("spawn the RFID driver thread");
    DriverHandle::new(name, DeviceKind::Rfid, tx, thread)
}

/// What an RFID reader reports while it runs (its port's problems are [`super::DeviceError`]s).
#[derive(Debug, thiserror::Error)]
pub enum RfidError {
    #[error("no answer from the {protocol} reader: check its power, the baud rate and the protocol in the profile")]
    NoAnswer { protocol: String },
    #[error("reader answered command {cmd:#04x} with {message} ({code:#06x})")]
    Refused { cmd: u8, code: u16, message: &'static str },
    #[error("TID of {epc} could not be read: {message}")]
    TidUnread { epc: String, message: &'static str },
    /// Frames and reads dropped over the last few seconds.
    #[error("{0}")]
    Dropped(Dropped),
}

impl Bilingual for RfidError {
    fn message_zh(&self) -> String {
        match self {
            RfidError::NoAnswer { protocol } => {
                format!("{protocol} 读写器没有应答：请检查其电源、波特率以及配置文件中的协议")
            }
            RfidError::Refused { cmd, code, message } => {
                format!("读写器对命令 {cmd:#04x} 的应答为 {message}（{code:#06x}）")
            }
            RfidError::TidUnread { epc, message } => format!("无法读取 {epc} 的 TID：{message}"),
            RfidError::Dropped(d) => d.message_zh(),
        }
    }
}

/// Frames and tag reads dropped since the last report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub checksum: u32,
    pub epc_crc: u32,
    pub garbage_bytes: u64,
    pub malformed: u32,
}

impl Dropped {
    fn any(&self) -> bool {
        self.checksum + self.epc_crc + self.malformed > 0 || self.garbage_bytes > 0
    }
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if self.epc_crc > 0 {
            parts.push(format!("{} corrupt tag read(s) (EPC CRC wrong)", self.epc_crc));
        }
        if self.checksum > 0 {
            parts.push(format!("{} frame(s) with a bad checksum", self.checksum));
        }
        if self.malformed > 0 {
            parts.push(format!("{} malformed frame(s)", self.malformed));
        }
        if self.garbage_bytes > 0 {
            parts.push(format!("{} byte(s) of noise", self.garbage_bytes));
        }
        write!(
            f,
            "dropped {} (a wrong baud rate or a bad cable shows up like this)",
            parts.join(", ")
        )
    }
}

impl Bilingual for Dropped {
    fn message_zh(&self) -> String {
        let mut parts = Vec::new();
        if self.epc_crc > 0 {
            parts.push(format!("{} 个损坏的标签读数（EPC CRC 错误）", self.epc_crc));
        }
        if self.checksum > 0 {
            parts.push(format!("{} 个校验和错误的帧", self.checksum));
        }
        if self.malformed > 0 {
            parts.push(format!("{} 个格式错误的帧", self.malformed));
        }
        if self.garbage_bytes > 0 {
            parts.push(format!("{} 字节噪声", self.garbage_bytes));
        }
        format!("已丢弃 {}（波特率错误或线缆不良时会出现这种情况）", parts.join("、"))
    }
}

struct RfidSession {
    device: String,
    proto: Box<dyn ReaderProtocol>,
    decoder: Box<dyn ReaderDecoder>,
    cfg: InventoryConfig,
    plan: TargetPlan,
    read_tid: bool,
    sink: Sink,
    /// The user wants an inventory running (survives reconnects).
    want_inventory: bool,
    inventory: Option<InventorySession>,
    round_sent: Option<Instant>,
    /// Tags first seen in the round running now.
    new_this_round: u32,
    tid_queue: Vec<Vec<u8>>,
    tid_pending: Option<(Vec<u8>, Instant)>,
    dropped: Dropped,
    dropped_since: Instant,
}

impl RfidSession {
    fn new(device: String, opts: RfidOptions, sink: Sink) -> Self {
        RfidSession {
            device,
            decoder: opts.protocol.decoder(),
            proto: opts.protocol,
            cfg: opts.config,
            plan: opts.plan,
            read_tid: opts.read_tid,
            sink,
            want_inventory: opts.inventory_at_start,
            inventory: None,
            round_sent: None,
            new_this_round: 0,
            tid_queue: Vec::new(),
            tid_pending: None,
            dropped: Dropped::default(),
            dropped_since: Instant::now(),
        }
    }

    fn error(&self, e: RfidError) {
        (self.sink)(DeviceEvent::error(&self.device, &e));
    }

    fn target(&self) -> Target {
        self.inventory.as_ref().map(|s| s.pass().1).unwrap_or(Target::A)
    }

    fn start(&mut self, port: &mut TTYPort, now: Instant) -> Result<(), LinkError> {
        if self.inventory.is_none() {
            self.inventory = Some(InventorySession::new(self.plan, now));
        }
        self.send_round(port, now)
    }

    fn send_round(&mut self, port: &mut TTYPort, now: Instant) -> Result<(), LinkError> {
        let target = self.target();
        for cmd in self.proto.start_inventory(&self.cfg, target) {
            write_all(port, &cmd)?;
        }
        self.round_sent = Some(now);
        self.new_this_round = 0;
        Ok(())
    }

    fn stop(&mut self, port: &mut TTYPort) -> Result<(), LinkError> {
        self.round_sent = None;
        if let Some(cmd) = self.proto.stop_inventory() {
            write_all(port, &cmd)?;
        }
        Ok(())
    }

    /// Ends a pass (flips the target when alternating) and reports it.
    fn next_pass(&mut self, now: Instant, reads_per_s: Option<u32>) {
        let Some(inv) = self.inventory.as_mut() else { return };
        inv.next_pass(now);
        let (pass, target) = inv.pass();
        (self.sink)(DeviceEvent::Round {
            device: self.device.clone(),
            pass,
            target: if target == Target::A { 'A' } else { 'B' },
            reads_per_s,
        });
    }

    fn handle(
        &mut self,
        port: &mut TTYPort,
        msg: Result<ReaderMsg, FrameError>,
        now: Instant,
        answered: &mut bool,
    ) -> Result<(), LinkError> {
        let per_round = self.proto.mode() == InventoryMode::PerRound;
        match msg {
            Ok(ReaderMsg::Tag(tag)) => {
                *answered = true;
                if let Some(inv) = self.inventory.as_mut()
                    && matches!(inv.observe(&tag, now), super::inventory::Observed::New(_))
                {
                    self.new_this_round += 1;
                    if self.read_tid && per_round && tag.tid.is_none() {
                        self.tid_queue.push(tag.epc.clone());
                    }
                }
                (self.sink)(DeviceEvent::Tag(TagEvent {
                    tag,
                    device: self.device.clone(),
                    at: Utc::now(),
                }));
            }
            Ok(ReaderMsg::RoundEnd { read_rate, .. }) => {
                *answered = true;
                if per_round && self.round_sent.is_some() {
                    self.round_finished(port, now, read_rate)?;
                }
            }
            Ok(ReaderMsg::Status { cmd, code, message }) => {
                *answered = true;
                if is_no_tag(self.proto.name(), code) {
                    if let Some((epc, _)) = self.tid_pending.take() {
                        self.error(RfidError::TidUnread {
                            epc: super::codec::gen2::hex(&epc),
                            message,
                        });
                        return self.after_tid(port, now);
                    }
                    if per_round && self.round_sent.is_some() {
                        return self.round_finished(port, now, None);
                    }
                } else {
                    self.error(RfidError::Refused { cmd, code, message });
                    if self.tid_pending.take().is_some() {
                        return self.after_tid(port, now);
                    }
                }
            }
            Ok(ReaderMsg::BankData { epc, data }) => {
                *answered = true;
                if let Some((want, _)) = self.tid_pending.take() {
                    let epc = epc.unwrap_or(want);
                    if let Some(inv) = self.inventory.as_mut() {
                        inv.set_tid(&epc, data.clone());
                    }
                    let pc = super::codec::gen2::pc_for_len(epc.len());
                    let tag = super::codec::TagReport {
                        epc,
                        pc,
                        rssi_dbm: None,
                        antenna: None,
                        tid: Some(data),
                    };
                    (self.sink)(DeviceEvent::Tag(TagEvent {
                        tag,
                        device: self.device.clone(),
                        at: Utc::now(),
                    }));
                    return self.after_tid(port, now);
                }
            }
            Ok(ReaderMsg::Version(_) | ReaderMsg::Ok { .. } | ReaderMsg::KeepAlive) => *answered = true,
            Err(e) => match e {
                FrameError::BadChecksum { .. } => self.dropped.checksum += 1,
                FrameError::EpcCrc { .. } => self.dropped.epc_crc += 1,
                FrameError::Garbage { bytes } => self.dropped.garbage_bytes += bytes as u64,
                FrameError::Malformed(_) => self.dropped.malformed += 1,
            },
        }
        Ok(())
    }

    /// A PerRound round ended: read a queued TID, or run the next round. A pass ends (and the
    /// target flips, when alternating) once a round finds no new tag, or after `PASS_MAX`.
    fn round_finished(&mut self, port: &mut TTYPort, now: Instant, read_rate: Option<u32>) -> Result<(), LinkError> {
        self.round_sent = None;
        let too_long = self
            .inventory
            .as_ref()
            .is_some_and(|i| i.pass_done(now, Duration::MAX, PASS_MAX));
        if self.new_this_round == 0 || too_long {
            self.next_pass(now, read_rate);
        }
        if !self.want_inventory {
            return Ok(());
        }
        if let Some(epc) = self.tid_queue.pop() {
            if let Some(cmds) = self.proto.read_tid(&epc, 6) {
                for c in cmds {
                    write_all(port, &c)?;
                }
                self.tid_pending = Some((epc, now));
                return Ok(());
            }
            self.tid_queue.clear();
        }
        self.send_round(port, now)
    }

    fn after_tid(&mut self, port: &mut TTYPort, now: Instant) -> Result<(), LinkError> {
        if self.want_inventory {
            self.send_round(port, now)
        } else {
            Ok(())
        }
    }
}

/// The status codes that end a round without a failure: no tag found, or (Chafon) the round's
/// time ran out or the reader's buffer filled, after the tags it did deliver.
fn is_no_tag(protocol: &str, code: u16) -> bool {
    match protocol {
        "r2000" => code == 0x36,
        "m100" => code == 0x15,
        "mercury" => code == 0x0400,
        "chafon18" | "chafon288" => matches!(code, 0x01 | 0x02 | 0x04),
        _ => false,
    }
}

impl PortSession<TTYPort> for RfidSession {
    fn run(&mut self, port: &mut TTYPort, _reconnected: bool, rx: &Receiver<DriverCommand>) -> SessionEnd {
        let result = (|| -> Result<SessionEnd, LinkError> {
            // A fresh decoder state: nothing of a frame cut by the disconnect survives.
            self.decoder.reset();
            self.round_sent = None;
            self.tid_pending = None;
            let mut now = Instant::now();
            write_all(port, &self.proto.probe())?;
            let mut probe_deadline = Some(now + PROBE_TIMEOUT);
            let mut answered = false;
            for cmd in self.proto.configure(&self.cfg) {
                write_all(port, &cmd)?;
            }
            if self.want_inventory {
                self.start(port, now)?;
            }
            let mut buf = vec![0u8; 4096];
            let mut msgs = Vec::with_capacity(64);
            loop {
                let n = read_some(port, &mut buf)?;
                now = Instant::now();
                if n > 0 {
                    self.decoder.push(&buf[..n], &mut msgs);
                    for m in std::mem::take(&mut msgs) {
                        self.handle(port, m, now, &mut answered)?;
                    }
                }
                if let Some(d) = probe_deadline
                    && now >= d
                {
                    if answered {
                        probe_deadline = None;
                    } else {
                        self.error(RfidError::NoAnswer {
                            protocol: self.proto.name().to_owned(),
                        });
                        write_all(port, &self.proto.probe())?;
                        probe_deadline = Some(now + 3 * PROBE_TIMEOUT);
                    }
                } else if answered {
                    probe_deadline = None;
                }
                if now.duration_since(self.dropped_since) >= ERROR_REPORT_EVERY {
                    if self.dropped.any() {
                        self.error(RfidError::Dropped(self.dropped.clone()));
                    }
                    self.dropped = Dropped::default();
                    self.dropped_since = now;
                }
                // A lost round or TID answer is asked for again.
                if let Some((_, at)) = &self.tid_pending
                    && now.duration_since(*at) > ROUND_TIMEOUT
                {
                    self.tid_pending = None;
                    self.after_tid(port, now)?;
                }
                if self.want_inventory && self.proto.mode() == InventoryMode::PerRound {
                    if let Some(at) = self.round_sent
                        && now.duration_since(at) > ROUND_TIMEOUT
                        && self.tid_pending.is_none()
                    {
                        self.send_round(port, now)?;
                    }
                } else if self.want_inventory
                    && self.proto.mode() == InventoryMode::Continuous
                    && self.plan == TargetPlan::Alternate
                    && self
                        .inventory
                        .as_ref()
                        .is_some_and(|i| i.pass_done(now, PASS_QUIET, PASS_MAX))
                {
                    // Flip the target: stop, then start again on the other one.
                    self.stop(port)?;
                    self.next_pass(now, None);
                    self.start(port, now)?;
                }
                let Some(cmds) = pending_commands(rx) else {
                    return Ok(SessionEnd::Shutdown);
                };
                for c in cmds {
                    match c {
                        DriverCommand::StartInventory | DriverCommand::Trigger(true) => {
                            self.want_inventory = true;
                            self.inventory = None;
                            self.start(port, now)?;
                        }
                        DriverCommand::StopInventory | DriverCommand::Trigger(false) => {
                            self.want_inventory = false;
                            self.stop(port)?;
                        }
                        DriverCommand::Shutdown => return Ok(SessionEnd::Shutdown),
                    }
                }
            }
        })();
        match result {
            Ok(end) => end,
            Err(why) => SessionEnd::Gone(why.into()),
        }
    }

    fn offline_command(&mut self, cmd: DriverCommand) {
        match cmd {
            DriverCommand::StartInventory | DriverCommand::Trigger(true) => {
                self.want_inventory = true;
                self.inventory = None;
            }
            DriverCommand::StopInventory | DriverCommand::Trigger(false) => self.want_inventory = false,
            DriverCommand::Shutdown => {}
        }
    }
}
