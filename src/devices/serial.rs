//! Serial ports (RS-232, USB CDC-ACM, pseudo-terminals): opening with a profile's settings, and
//! the supervisor loop every serial driver runs in: open, run a session until the device goes
//! away, report it, look for it again every [`REOPEN_POLL`](super::REOPEN_POLL), re-open.

use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use serialport::{DataBits, FlowControl, Parity, StopBits, TTYPort};

use super::{DeviceError, DeviceEvent, DeviceKind, DeviceState, DriverCommand, LinkError, REOPEN_POLL, Sink};
use crate::domain::text::{Bilingual, Text};

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

/// What went wrong with a serial port: each names the port and says what to check.
#[derive(Debug, thiserror::Error)]
pub enum SerialError {
    #[error("{port} does not exist: is the device plugged in, and is this its port?")]
    Missing { port: String },
    #[error("{port} is not there ({source}): is the device plugged in?")]
    NotThere { port: String, source: serialport::Error },
    #[error("no permission to open {port} (is the user in the dialout group? see assets/udev)")]
    Permission { port: String },
    #[error("{port} is busy: another program has it open; close that program")]
    Busy { port: String },
    #[error("cannot open {port}: {source}; check that it is the device's serial port")]
    Open { port: String, source: serialport::Error },
    #[error("cannot set up {port}: {source}")]
    Configure { port: String, source: serialport::Error },
}

impl Bilingual for SerialError {
    fn message_zh(&self) -> String {
        match self {
            SerialError::Missing { port } => format!("{port} 不存在：设备是否已插好？这是它的端口吗？"),
            SerialError::NotThere { port, source } => format!("{port} 不在（{source}）：设备是否已插好？"),
            SerialError::Permission { port } => {
                format!("无权打开 {port}（用户是否在 dialout 组中？见 assets/udev）")
            }
            SerialError::Busy { port } => format!("{port} 正忙：另一个程序已打开它；请关闭该程序"),
            SerialError::Open { port, source } => format!("无法打开 {port}：{source}；请确认这是该设备的串口"),
            SerialError::Configure { port, source } => format!("无法设置 {port}：{source}"),
        }
    }
}

/// Why a device could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The device node is not there: not attached yet, or unplugged.
    Missing(DeviceError),
    /// It is there but cannot be used: permissions, another program has it, bad settings.
    Failed(DeviceError),
}

impl OpenError {
    pub fn missing(e: impl Into<DeviceError>) -> OpenError {
        OpenError::Missing(e.into())
    }

    pub fn failed(e: impl Into<DeviceError>) -> OpenError {
        OpenError::Failed(e.into())
    }

    /// What went wrong.
    pub fn error(&self) -> &DeviceError {
        match self {
            OpenError::Missing(e) | OpenError::Failed(e) => e,
        }
    }
}

/// Opens the port; the error says what to check.
pub fn open(s: &SerialSettings, timeout: Duration) -> Result<TTYPort, OpenError> {
    let port = || s.path.clone();
    if !std::path::Path::new(&s.path).exists() {
        return Err(OpenError::missing(SerialError::Missing { port: port() }));
    }
    s.builder(timeout).open_native().map_err(|e| {
        let why = e.to_string();
        match e.kind() {
            serialport::ErrorKind::NoDevice => OpenError::missing(SerialError::NotThere {
                port: port(),
                source: e,
            }),
            serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => {
                OpenError::missing(SerialError::Missing { port: port() })
            }
            serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => {
                OpenError::failed(SerialError::Permission { port: port() })
            }
            _ if why.contains("busy") || why.contains("EBUSY") => OpenError::failed(SerialError::Busy { port: port() }),
            _ => OpenError::failed(SerialError::Open {
                port: port(),
                source: e,
            }),
        }
    })
}

/// Why a session on an open port ended.
#[derive(Debug)]
pub enum SessionEnd {
    /// The device went away (unplugged, hung up) or could not be used; the error says how.
    Gone(DeviceError),
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
    let state = |state: DeviceState, detail: Text| sink(DeviceEvent::state(device, kind, state, detail));
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
                    Text::new(detail.clone(), detail),
                );
                let end = session.run(&mut port, connected_before, rx);
                connected_before = true;
                // Close the device at once, so a re-plugged one gets its old node name back.
                drop(port);
                match end {
                    SessionEnd::Shutdown => return,
                    SessionEnd::Gone(why) => state(DeviceState::Lost, Text::of(&why)),
                }
            }
            Err(problem) => {
                let why = Text::of(problem.error());
                if last_problem.as_deref() != Some(why.en.as_str()) {
                    match (&problem, connected_before) {
                        // Gone after being there: `Lost` said so already.
                        (OpenError::Missing(_), true) => {}
                        (OpenError::Missing(_), false) if last_problem.is_none() => {
                            state(DeviceState::Absent, why.clone())
                        }
                        _ => sink(DeviceEvent::error(device, &why)),
                    }
                    last_problem = Some(why.en);
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
pub fn read_some(port: &mut TTYPort, buf: &mut [u8]) -> Result<usize, LinkError> {
    use std::io::Read;
    match port.read(buf) {
        Ok(0) => Err(LinkError::EndOfFile),
        Ok(n) => Ok(n),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::Interrupted => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
        Err(e) => Err(LinkError::from_io(e)),
    }
}

/// Writes all of `bytes`; `Err` says the device is gone.
pub fn write_all(port: &mut TTYPort, bytes: &[u8]) -> Result<(), LinkError> {
    use std::io::Write;
    port.write_all(bytes)
        .and_then(|_| port.flush())
        .map_err(LinkError::from_io)
}

/// Sets the port's read timeout.
pub fn set_timeout(port: &mut TTYPort, timeout: Duration) -> Result<(), SerialError> {
    use serialport::SerialPort;
    port.set_timeout(timeout).map_err(|source| SerialError::Configure {
        port: port.name().unwrap_or_default(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_port_is_missing_and_named_in_both_languages() {
        let s = SerialSettings::new_8n1("/dev/lotline-no-such-port", 9600);
        let e = open(&s, Duration::from_millis(10)).unwrap_err();
        assert!(
            matches!(&e, OpenError::Missing(DeviceError::Serial(SerialError::Missing { .. }))),
            "{e:?}"
        );
        assert!(
            e.error()
                .to_string()
                .starts_with("/dev/lotline-no-such-port does not exist: is the device plugged in"),
            "{}",
            e.error()
        );
        assert!(
            e.error().message_zh().starts_with("/dev/lotline-no-such-port 不存在"),
            "{}",
            e.error().message_zh()
        );
    }

    #[test]
    fn a_file_that_is_not_a_port_fails_and_says_what_to_check() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("plain-file");
        std::fs::write(&f, "x").unwrap();
        let s = SerialSettings::new_8n1(f.display().to_string(), 9600);
        let e = open(&s, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(&e, OpenError::Failed(DeviceError::Serial(_))), "{e:?}");
        let (en, zh) = (e.error().to_string(), e.error().message_zh());
        assert!(en.contains("plain-file") && zh.contains("plain-file"), "{en} / {zh}");
        assert_ne!(en, zh);
    }
}
