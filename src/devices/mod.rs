//! Devices: barcode scanners and UHF RFID readers over serial, evdev (keyboard wedge) and hidraw,
//! chosen by hw-profile, with simulators that speak the real protocols on pseudo-terminals.
//!
//! Each driver is a pure wire codec (`codec`) plus a thin I/O loop on its own thread. Drivers
//! report through one door: a [`Sink`] that receives [`DeviceEvent`]s (the UI forwards them into
//! the Slint event loop; `lotline listen` prints them). A device that disappears is reported
//! `Lost` and re-opened when it comes back (`Reconnected`), its configuration sent again; a
//! partial frame is dropped on reconnect, so no half frame is ever decoded.

pub mod codec;
pub mod evdev;
pub mod hidraw;
pub mod inventory;
pub mod printer;
pub mod profile;
pub mod rfid;
pub mod scanner;
pub mod serial;
pub mod sim;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use codec::TagReport;

use crate::domain::text::{Bilingual, Text};

/// A scan as a scanner delivered it, before the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEvent {
    /// The payload after the symbology identifier, exact bytes (GS as 0x1D).
    pub data: Vec<u8>,
    /// The AIM symbology identifier (`]d2`), when the scanner sent one.
    pub symbology: Option<String>,
    /// The device name (profile name and port).
    pub device: String,
    pub at: DateTime<Utc>,
}

impl ScanEvent {
    /// The scan as the grammar takes it: symbology identifier, then the data.
    pub fn to_scan_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.data.len() + 3);
        if let Some(s) = &self.symbology {
            v.extend_from_slice(s.as_bytes());
        }
        v.extend_from_slice(&self.data);
        v
    }
}

/// One tag read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEvent {
    pub tag: TagReport,
    pub device: String,
    pub at: DateTime<Utc>,
}

/// Whether a device can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    Connected,
    /// It was there and is gone (unplugged, powered off, port closed).
    Lost,
    /// It came back and was set up again.
    Reconnected,
    /// It has not been found yet (the path does not exist, the port cannot be opened).
    Absent,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Connected => "connected",
            DeviceState::Lost => "lost",
            DeviceState::Reconnected => "reconnected",
            DeviceState::Absent => "absent",
        }
    }
    /// True when the device can deliver scans or tags now.
    pub fn is_up(self) -> bool {
        matches!(self, DeviceState::Connected | DeviceState::Reconnected)
    }
}

/// What the drivers report.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceEvent {
    Scan(ScanEvent),
    Tag(TagEvent),
    /// An RFID inventory pass ended: the pass now starting and its target (the reader's own
    /// read rate when it reports one).
    Round {
        device: String,
        pass: u32,
        target: char,
        reads_per_s: Option<u32>,
    },
    /// `detail` (English) and `detail_zh` (Chinese): for a device that is up, its port and
    /// settings (the same text in both); for one that is not, why (a [`DeviceError`]).
    State {
        device: String,
        kind: DeviceKind,
        state: DeviceState,
        detail: String,
        detail_zh: String,
    },
    /// Something went wrong that the user or a technician should know (bad frames, no answer),
    /// rendered from a typed error in English (`message`) and Chinese (`message_zh`).
    Error {
        device: String,
        message: String,
        message_zh: String,
    },
}

impl DeviceEvent {
    /// An `Error` event with both messages of `e`.
    pub fn error(device: &str, e: &(impl Bilingual + ?Sized)) -> DeviceEvent {
        DeviceEvent::Error {
            device: device.to_owned(),
            message: e.message_en(),
            message_zh: e.message_zh(),
        }
    }

    /// A `State` event whose detail is `detail` in both languages.
    pub fn state(device: &str, kind: DeviceKind, state: DeviceState, detail: Text) -> DeviceEvent {
        DeviceEvent::State {
            device: device.to_owned(),
            kind,
            state,
            detail: detail.en,
            detail_zh: detail.zh,
        }
    }
}

/// Scanner or RFID reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Scanner,
    Rfid,
}

/// Where drivers send their events. Called on the driver's thread.
pub type Sink = Arc<dyn Fn(DeviceEvent) + Send + Sync>;

/// How quickly a lost device is looked for again. Re-opening happens within this plus the open
/// time, well inside the 2 s the handheld promises.
pub const REOPEN_POLL: Duration = Duration::from_millis(250);

/// A command to a running driver.
#[derive(Debug, Clone, PartialEq)]
pub enum DriverCommand {
    /// RFID: start an inventory (continuous, or round after round).
    StartInventory,
    StopInventory,
    /// Scanner: soft trigger on/off (SSI start/stop session, HID POS trigger report).
    Trigger(bool),
    Shutdown,
}

/// A running driver: its name, and the way to send it commands. Dropping it shuts it down.
pub struct DriverHandle {
    pub device: String,
    pub kind: DeviceKind,
    tx: std::sync::mpsc::Sender<DriverCommand>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DriverHandle {
    pub(crate) fn new(
        device: String,
        kind: DeviceKind,
        tx: std::sync::mpsc::Sender<DriverCommand>,
        thread: std::thread::JoinHandle<()>,
    ) -> Self {
        DriverHandle {
            device,
            kind,
            tx,
            thread: Some(thread),
        }
    }

    pub fn send(&self, cmd: DriverCommand) {
        let _ = self.tx.send(cmd);
    }
}

impl Drop for DriverHandle {
    fn drop(&mut self) {
        let _ = self.tx.send(DriverCommand::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Why an open device stopped working: it went away, or reading or writing it failed. A `Lost`
/// state carries it; the supervisor then looks for the device again (the UI says so).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The device closed its end (a hang-up).
    #[error("device disconnected")]
    HungUp,
    /// A read returned nothing at all: older serial drivers signal an unplug that way.
    #[error("device disconnected (end of file)")]
    EndOfFile,
    /// Unplugged, hung up, ENODEV (see [`is_gone`]).
    #[error("device disconnected ({0})")]
    Gone(#[source] std::io::Error),
    #[error("read/write failed: {0}")]
    Io(#[source] std::io::Error),
}

impl LinkError {
    /// `Gone` when `e` means the device went away, else `Io`.
    pub fn from_io(e: std::io::Error) -> LinkError {
        if is_gone(&e) {
            LinkError::Gone(e)
        } else {
            LinkError::Io(e)
        }
    }
}

impl Bilingual for LinkError {
    fn message_zh(&self) -> String {
        match self {
            LinkError::HungUp => "设备已断开".into(),
            LinkError::EndOfFile => "设备已断开（文件结束）".into(),
            LinkError::Gone(e) => format!("设备已断开（{e}）"),
            LinkError::Io(e) => format!("读写失败：{e}"),
        }
    }
}

/// Why a device cannot be opened or stopped working, whatever its transport: what a `State`
/// (`Absent`, `Lost`) or `Error` event reports.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Serial(#[from] serial::SerialError),
    #[error(transparent)]
    Evdev(#[from] evdev::EvdevError),
    #[error(transparent)]
    Hidraw(#[from] hidraw::HidrawError),
}

impl Bilingual for DeviceError {
    fn message_zh(&self) -> String {
        match self {
            DeviceError::Link(e) => e.message_zh(),
            DeviceError::Serial(e) => e.message_zh(),
            DeviceError::Evdev(e) => e.message_zh(),
            DeviceError::Hidraw(e) => e.message_zh(),
        }
    }
}

/// True for the errors that mean "the device went away": unplug, hang-up, ENODEV.
pub fn is_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        BrokenPipe | NotFound | ConnectionReset | ConnectionAborted | UnexpectedEof
    ) || matches!(e.raw_os_error(), Some(5) | Some(19) | Some(6)) // EIO, ENODEV, ENXIO
}
