//! Serial ports (RS-232, USB CDC-ACM, pseudo-terminals): opening with a profile's settings, and
//! the supervisor loop every serial driver runs in: open, run a session until the device goes
//! away, report it, look for it again every [`REOPEN_POLL`](super::REOPEN_POLL), re-open.

use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use serialport::{DataBits, FlowControl, Parity, StopBits, TTYPort};

use super::{DeviceEvent, DeviceKind, DeviceState, DriverCommand, REOPEN_POLL, Sink};

/// How to open a serial port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    pub path: String,
    pub baud: u32,
    pub data_bits: u8,
    /// `none`, `odd` or `even`.
    pub parity: String,
    pub stop_bits: u8,
    /// `none`, `hardware` or `software`.
    pub flow_control: String,
}

impl SerialSettings {
    /// 8N1, no flow control: what every scanner and reader in the shipped profiles uses.
    pub fn new_8n1(path: impl Into<String>, baud: u32) -> Self {
        SerialSettings {
            path: path.into(),
            baud,
            data_bits: 8,
            parity: "none".into(),
            stop_bits: 1,
            flow_control: "none".into(),
        }
    }

    fn builder(&self, timeout: Duration) -> serialport::SerialPortBuilder {
        serialport::new(&self.path, self.baud)
            .timeout(timeout)
            .data_bits(match self.data_bits {
                5 => DataBits::Five,
                6 => DataBits::Six,
                7 => DataBits::Seven,
                _ => DataBits::Eight,
            })
            .parity(match self.parity.as_str() {
                "odd" => Parity::Odd,
                "even" => Parity::Even,
                _ => Parity::None,
            })
            .stop_bits(if self.stop_bits == 2 {
                StopBits::Two
            } else {
                StopBits::One
            })
            .flow_control(match self.flow_control.as_str() {
                "hardware" => FlowControl::Hardware,
                "software" => FlowControl::Software,
                _ => FlowControl::None,
            })
    }
}

/// Why a device could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The device node is not there: not attached yet, or unplugged.
    Missing(String),
    /// It is there but cannot be used: permissions, another program has it, bad settings.
    Failed(String),
}

impl OpenError {
    pub fn message(&self) -> &str {
        match self {
            OpenError::Missing(m) | OpenError::Failed(m) => m,
        }
    }
}

/// Opens the port; the error says what to check.
pub fn open(s: &SerialSettings, timeout: Duration) -> Result<TTYPort, OpenError> {
    if !std::path::Path::new(&s.path).exists() {
        return Err(OpenError::Missing(format!("{} does not exist", s.path)));
    }
    s.builder(timeout).open_native().map_err(|e| {
        let why = e.to_string();
        match e.kind() {
            serialport::ErrorKind::NoDevice => OpenError::Missing(format!("{} is not there ({why})", s.path)),
            serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => {
                OpenError::Missing(format!("{} does not exist", s.path))
            }
            serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => OpenError::Failed(format!(
                "no permission to open {} (is the user in the dialout group? see assets/udev)",
                s.path
            )),
            _ if why.contains("busy") || why.contains("EBUSY") => {
                OpenError::Failed(format!("{} is busy: another program has it open", s.path))
            }
            _ => OpenError::Failed(format!("cannot open {}: {why}", s.path)),
        }
    })
}

/// Why a session on an open port ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The device went away (unplugged, hung up); the message says how.
    Gone(String),
    Shutdown,
}

/// A driver's behaviour on an open device (`P`: a serial port, an evdev or hidraw node).
pub trait PortSession<P> {
    /// Runs on the open device until it goes away or a shutdown arrives. `reconnected` is true
    /// after the first connection: the device must be set up again and any partial frame state
    /// dropped.
    fn run(&mut self, port: &mut P, reconnected: bool, rx: &Receiver<DriverCommand>) -> SessionEnd;
    /// A command that arrived while the device was not connected (remembered for the next session).
    fn offline_command(&mut self, cmd: DriverCommand);
}

/// The supervisor: keeps `session` running on the device whenever `open` finds it, and says so
/// through `sink` (Absent, Connected, Lost, Reconnected), until `Shutdown`. `open` returns the
/// device and a line describing it, or why it cannot be opened: a missing node is reported as
/// `Absent` before the first connection and not again after a `Lost`; any other problem is an
/// `Error`, once per distinct message.
pub fn supervise<P>(
    device: &str,
    kind: DeviceKind,
    open: &mut dyn FnMut() -> Result<(P, String), OpenError>,
    sink: &Sink,
    rx: &Receiver<DriverCommand>,
    session: &mut dyn PortSession<P>,
) {
    let state = |state: DeviceState, detail: String| {
        sink(DeviceEvent::State {
            device: device.to_owned(),
            kind,
            state,
            detail,
        });
    };
    let mut connected_before = false;
    let mut last_problem: Option<String> = None;
    loop {
        match open() {
            Ok((mut port, detail)) => {
                last_problem = None;
                state(
                    if connected_before {
                        DeviceState::Reconnected
                    } else {
                        DeviceState::Connected
                    },
                    detail,
                );
                let end = session.run(&mut port, connected_before, rx);
                connected_before = true;
                // Close the device at once, so a re-plugged one gets its old node name back.
                drop(port);
                match end {
                    SessionEnd::Shutdown => return,
                    SessionEnd::Gone(why) => state(DeviceState::Lost, why),
                }
            }
            Err(problem) => {
                let why = problem.message().to_owned();
                if last_problem.as_deref() != Some(why.as_str()) {
                    match (&problem, connected_before) {
                        // Gone after being there: `Lost` said so already.
                        (OpenError::Missing(_), true) => {}
                        (OpenError::Missing(_), false) if last_problem.is_none() => {
                            state(DeviceState::Absent, why.clone())
                        }
                        _ => sink(DeviceEvent::Error {
                            device: device.to_owned(),
                            message: why.clone(),
                        }),
                    }
                    last_problem = Some(why);
                }
                match rx.recv_timeout(REOPEN_POLL) {
                    Ok(DriverCommand::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                    Ok(cmd) => session.offline_command(cmd),
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
        }
    }
}

/// The opener for a serial device, for [`supervise`].
pub fn opener(settings: &SerialSettings) -> impl FnMut() -> Result<(TTYPort, String), OpenError> + '_ {
    move || {
        open(settings, Duration::from_millis(100)).map(|p| (p, format!("{} at {} baud", settings.path, settings.baud)))
    }
}

/// Takes the commands waiting for a running session; `None` means shut down.
pub fn pending_commands(rx: &Receiver<DriverCommand>) -> Option<Vec<DriverCommand>> {
    let mut v = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(DriverCommand::Shutdown) | Err(TryRecvError::Disconnected) => return None,
            Ok(c) => v.push(c),
            Err(TryRecvError::Empty) => return Some(v),
        }
    }
}

/// Reads what is there within the port's timeout. `Ok(0)` is "nothing yet"; `Err` says the
/// device is gone. (serialport reports a timeout as an error, so a read of zero bytes is an end
/// of file: older serialport builds signal an unplug that way.)
pub fn read_some(port: &mut TTYPort, buf: &mut [u8]) -> Result<usize, String> {
    use std::io::Read;
    match port.read(buf) {
        Ok(0) => Err("device disconnected (end of file)".to_owned()),
        Ok(n) => Ok(n),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::Interrupted => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
        Err(e) => Err(describe_gone(&e)),
    }
}

/// Writes all of `bytes`; `Err` says the device is gone.
pub fn write_all(port: &mut TTYPort, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    port.write_all(bytes)
        .and_then(|_| port.flush())
        .map_err(|e| describe_gone(&e))
}

fn describe_gone(e: &std::io::Error) -> String {
    if super::is_gone(e) {
        format!("device disconnected ({e})")
    } else {
        format!("read/write failed: {e}")
    }
}
