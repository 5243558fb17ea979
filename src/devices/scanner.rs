//! Serial barcode scanners: plain output (RS-232 / USB CDC-ACM: `[prefix][AIM id]data[suffix]`,
//! framed by `codec::framer`) and Zebra SSI (packets, ACK/NAK, multi-packet decode data, soft
//! trigger, parameters), each a codec on a serial port under the reconnecting supervisor.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use chrono::Utc;
use serialport::TTYPort;

use super::codec::FrameError;
use super::codec::aim::{Aim, aim_from_ssi_type, split_aim};
use super::codec::framer::{Framer, FramerConfig};
use super::codec::ssi::{self, DecodeAssembler, SsiDecoder};
use super::serial::{
    PortSession, SerialSettings, SessionEnd, opener, pending_commands, read_some, set_timeout, supervise, write_all,
};
use super::{DeviceError, DeviceEvent, DeviceKind, DriverCommand, DriverHandle, ScanEvent, Sink};
use crate::domain::text::Bilingual;

/// The longest a read waits before the driver looks at its commands again.
const POLL: Duration = Duration::from_millis(50);

/// How a serial scanner speaks.
#[derive(Debug, Clone)]
pub enum ScannerWire {
    /// Text with prefix/suffix framing; `aim` = AIM identifiers are expected at the start.
    Plain { framing: FramerConfig, aim: bool },
    /// Zebra SSI packets.
    Ssi,
}

/// Starts a serial scanner driver on its own thread.
pub fn spawn(device: String, settings: SerialSettings, wire: ScannerWire, sink: Sink) -> DriverHandle {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = device.clone();
    let thread = std::thread::Builder::new()
        .name(format!("scanner {device}"))
        .spawn(move || {
            let mut session: Box<dyn PortSession<TTYPort>> = match wire {
                ScannerWire::Plain { framing, aim } => Box::new(PlainSession {
                    device: device.clone(),
                    framer: Framer::new(framing),
                    aim,
                    sink: sink.clone(),
                }),
                ScannerWire::Ssi => Box::new(SsiSession::new(device.clone(), sink.clone())),
            };
            supervise(
                &device,
                DeviceKind::Scanner,
                &mut opener(&settings),
                &sink,
                &rx,
                session.as_mut(),
            );
        })
        .expect("spawn the scanner driver thread");
    DriverHandle::new(name, DeviceKind::Scanner, tx, thread)
}

/// Turns one framed payload into a scan event: the AIM identifier split off when expected.
pub fn scan_event(device: &str, frame: &[u8], expect_aim: bool) -> ScanEvent {
    let (aim, data) = if expect_aim { split_aim(frame) } else { (None, frame) };
    ScanEvent {
        data: data.to_vec(),
        symbology: aim.map(|a| a.as_str().to_owned()),
        device: device.to_owned(),
        at: Utc::now(),
    }
}

/// What a serial scanner reports while it runs.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    /// Bytes that are not a scan (a wrong baud rate or framing looks like this).
    #[error("scanner data {0}; if this repeats, check the baud rate and the suffix in the profile")]
    Data(FrameError),
}

impl Bilingual for ScannerError {
    fn message_zh(&self) -> String {
        match self {
            ScannerError::Data(e) => format!(
                "扫描器数据：{}；如反复出现，请检查配置文件中的波特率和后缀",
                e.message_zh()
            ),
        }
    }
}

fn frame_error(sink: &Sink, device: &str, e: &FrameError) {
    sink(DeviceEvent::error(device, &ScannerError::Data(e.clone())));
}

struct PlainSession {
    device: String,
    framer: Framer,
    aim: bool,
    sink: Sink,
}

impl PlainSession {
    fn emit(&self, frames: &mut Vec<Result<Vec<u8>, FrameError>>) {
        for f in frames.drain(..) {
            match f {
                Ok(frame) => (self.sink)(DeviceEvent::Scan(scan_event(&self.device, &frame, self.aim))),
                Err(e) => frame_error(&self.sink, &self.device, &e),
            }
        }
    }
}

impl PortSession<TTYPort> for PlainSession {
    fn run(&mut self, port: &mut TTYPort, _reconnected: bool, rx: &Receiver<DriverCommand>) -> SessionEnd {
        // Nothing of a frame cut by a disconnect is kept.
        self.framer.reset();
        let mut buf = [0u8; 1024];
        let mut frames = Vec::new();
        loop {
            let wait = match self.framer.deadline() {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .clamp(Duration::from_millis(1), POLL),
                None => POLL,
            };
            if let Err(e) = set_timeout(port, wait) {
                return SessionEnd::Gone(e.into());
            }
            match read_some(port, &mut buf) {
                Ok(0) => self.framer.tick(Instant::now(), &mut frames),
                Ok(n) => self.framer.push(&buf[..n], Instant::now(), &mut frames),
                Err(why) => return SessionEnd::Gone(why.into()),
            }
            self.emit(&mut frames);
            // A plain serial scanner has no soft trigger: its own trigger button scans.
            if pending_commands(rx).is_none() {
                return SessionEnd::Shutdown;
            }
        }
    }

    fn offline_command(&mut self, _cmd: DriverCommand) {}
}

/// Zebra SSI: every packet from the engine is ACKed; a corrupt one is NAKed (resend); decode
/// data may span several packets.
struct SsiSession {
    device: String,
    sink: Sink,
    decoder: SsiDecoder,
    assembler: DecodeAssembler,
}

impl SsiSession {
    fn new(device: String, sink: Sink) -> Self {
        SsiSession {
            device,
            sink,
            decoder: SsiDecoder::new(),
            assembler: DecodeAssembler::new(),
        }
    }

    /// The parameters sent on every (re)connect: packeted decode data, software handshaking,
    /// no parameter barcodes (protocols.md §3; temporary, not saved in the engine).
    fn setup() -> Vec<u8> {
        ssi::param_send(&[0x9F, 0x01, 0xEE, 0x01, 0xEC, 0x00], false)
    }
}

impl PortSession<TTYPort> for SsiSession {
    fn run(&mut self, port: &mut TTYPort, _reconnected: bool, rx: &Receiver<DriverCommand>) -> SessionEnd {
        self.decoder.reset();
        self.assembler.reset();
        if let Err(why) = set_timeout(port, POLL)
            .map_err(DeviceError::from)
            .and_then(|_| write_all(port, &Self::setup()).map_err(DeviceError::from))
        {
            return SessionEnd::Gone(why);
        }
        let mut buf = [0u8; 1024];
        let mut packets = Vec::new();
        loop {
            match read_some(port, &mut buf) {
                Ok(0) => {}
                Ok(n) => self.decoder.push(&buf[..n], &mut packets),
                Err(why) => return SessionEnd::Gone(why.into()),
            }
            for p in packets.drain(..) {
                let reply = match p {
                    Ok(p) => {
                        let is_reply = matches!(p.opcode, ssi::CMD_ACK | ssi::CMD_NAK);
                        if p.opcode == ssi::DECODE_DATA
                            && let Some((kind, data)) = self.assembler.push(&p)
                        {
                            let aim: Option<Aim> = aim_from_ssi_type(kind);
                            (self.sink)(DeviceEvent::Scan(ScanEvent {
                                data,
                                symbology: aim.map(|a| a.as_str().to_owned()),
                                device: self.device.clone(),
                                at: Utc::now(),
                            }));
                        }
                        if is_reply { None } else { Some(ssi::ack()) }
                    }
                    Err(e) => {
                        if !matches!(e, FrameError::Garbage { .. }) {
                            frame_error(&self.sink, &self.device, &e);
                        }
                        matches!(e, FrameError::BadChecksum { .. }).then(|| ssi::nak(ssi::NAK_RESEND))
                    }
                };
                if let Some(r) = reply
                    && let Err(why) = write_all(port, &r)
                {
                    return SessionEnd::Gone(why.into());
                }
            }
            let Some(cmds) = pending_commands(rx) else {
                return SessionEnd::Shutdown;
            };
            for c in cmds {
                let bytes = match c {
                    DriverCommand::Trigger(true) => ssi::start_session(),
                    DriverCommand::Trigger(false) => ssi::stop_session(),
                    _ => continue,
                };
                if let Err(why) = write_all(port, &bytes) {
                    return SessionEnd::Gone(why.into());
                }
            }
        }
    }

    fn offline_command(&mut self, _cmd: DriverCommand) {}
}
