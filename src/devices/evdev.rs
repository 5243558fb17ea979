//! Keyboard-wedge scanners through evdev: the scanner's input node is grabbed (EVIOCGRAB, so the
//! keystrokes do not also type into the focused Slint field under linuxkms/libinput) and its key
//! events are decoded by `codec::wedge` for the layout the scanner emulates. An unplugged
//! scanner's node answers ENODEV; the supervisor looks for it again.
//!
//! There is no /dev/uinput on the development machine, so the decoding is tested from
//! (type, code, value) tuples and this loop only on real hardware (`hardware-tests`).

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::codec::aim::split_aim;
use super::codec::wedge::{Layout, WedgeDecoder, WedgeOut};
use super::serial::{OpenError, PortSession, SessionEnd, pending_commands, supervise};
use super::{DeviceEvent, DeviceKind, DriverCommand, DriverHandle, ScanEvent, Sink};

/// Which input node: a path (`/dev/input/by-id/...-event-kbd`) or the first keyboard node of a
/// USB vendor (and product).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvdevTarget {
    Path(PathBuf),
    Usb { vendor: u16, product: Option<u16> },
}

#[derive(Debug, Clone)]
pub struct EvdevOptions {
    pub target: EvdevTarget,
    pub layout: Layout,
    pub grab: bool,
    /// A longer pause between keys ends the scan attempt (a human typing, not a scanner).
    pub key_timeout: Duration,
    /// The scanner prefixes AIM identifiers.
    pub aim: bool,
}

/// Finds the node for a target: the path itself, or a `/dev/input/event*` with that USB id.
pub fn find_node(target: &EvdevTarget) -> Result<PathBuf, String> {
    match target {
        EvdevTarget::Path(p) => {
            if p.exists() {
                Ok(p.clone())
            } else {
                Err(format!("{} does not exist", p.display()))
            }
        }
        EvdevTarget::Usb { vendor, product } => {
            for (path, dev) in ::evdev::enumerate() {
                let id = dev.input_id();
                if id.vendor() == *vendor && product.is_none_or(|p| p == id.product()) && dev.supported_keys().is_some()
                {
                    return Ok(path);
                }
            }
            Err(match product {
                Some(p) => format!("no input device {vendor:04x}:{p:04x} (is the scanner in USB keyboard mode?)"),
                None => format!("no input device from USB vendor {vendor:04x}"),
            })
        }
    }
}

/// Starts the driver on its own thread.
pub fn spawn(device: String, opts: EvdevOptions, sink: Sink) -> DriverHandle {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = device.clone();
    let thread = std::thread::Builder::new()
        .name(format!("wedge {device}"))
        .spawn(move || {
            let mut session = WedgeSession {
                device: device.clone(),
                decoder: WedgeDecoder::new(opts.layout, opts.key_timeout),
                aim: opts.aim,
                sink: sink.clone(),
            };
            let mut open = || -> Result<(::evdev::Device, String), OpenError> {
                let path = find_node(&opts.target).map_err(OpenError::Missing)?;
                let mut dev = ::evdev::Device::open(&path).map_err(|e| open_error(&path, &e))?;
                if opts.grab {
                    dev.grab().map_err(|e| {
                        OpenError::Failed(format!(
                            "cannot grab {}: {e} (another program grabbed it?)",
                            path.display()
                        ))
                    })?;
                }
                let what = dev.name().unwrap_or("keyboard").to_owned();
                Ok((
                    dev,
                    format!("{} ({what}, layout {})", path.display(), opts.layout.name()),
                ))
            };
            supervise(&device, DeviceKind::Scanner, &mut open, &sink, &rx, &mut session);
        })
        .expect("spawn the keyboard-wedge driver thread");
    DriverHandle::new(name, DeviceKind::Scanner, tx, thread)
}

fn open_error(path: &Path, e: &std::io::Error) -> OpenError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => OpenError::Failed(format!(
            "no permission to read {} (add the user to the input group; see assets/udev)",
            path.display()
        )),
        std::io::ErrorKind::NotFound => OpenError::Missing(format!("{} does not exist", path.display())),
        _ if e.raw_os_error() == Some(libc::ENODEV) => OpenError::Missing(format!("{} is gone", path.display())),
        _ => OpenError::Failed(format!("cannot open {}: {e}", path.display())),
    }
}

/// Waits up to `timeout` for the fd to be readable; `Err` when it hung up.
pub(crate) fn wait_readable(fd: i32, timeout: Duration) -> Result<bool, String> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e.to_string())
        };
    }
    if r == 0 {
        return Ok(false);
    }
    if pfd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 && pfd.revents & libc::POLLIN == 0 {
        return Err("device disconnected".into());
    }
    Ok(true)
}

struct WedgeSession {
    device: String,
    decoder: WedgeDecoder,
    aim: bool,
    sink: Sink,
}

impl WedgeSession {
    fn emit(&self, out: WedgeOut) {
        match out {
            WedgeOut::Scan(bytes) => {
                let (aim, data) = if self.aim {
                    split_aim(&bytes)
                } else {
                    (None, bytes.as_slice())
                };
                (self.sink)(DeviceEvent::Scan(ScanEvent {
                    data: data.to_vec(),
                    symbology: aim.map(|a| a.as_str().to_owned()),
                    device: self.device.clone(),
                    at: chrono::Utc::now(),
                }));
            }
            WedgeOut::Dropped { chars, why } => (self.sink)(DeviceEvent::Error {
                device: self.device.clone(),
                message: format!("{chars} keystroke(s) ignored: {why}"),
            }),
        }
    }
}

impl PortSession<::evdev::Device> for WedgeSession {
    fn run(&mut self, dev: &mut ::evdev::Device, _reconnected: bool, rx: &Receiver<DriverCommand>) -> SessionEnd {
        self.decoder.reset();
        let fd = dev.as_raw_fd();
        loop {
            match wait_readable(fd, Duration::from_millis(50)) {
                Err(why) => return SessionEnd::Gone(why),
                Ok(false) => {
                    if let Some(out) = self.decoder.tick(Instant::now()) {
                        self.emit(out);
                    }
                }
                Ok(true) => {
                    let events: Vec<(u16, u16, i32)> = match dev.fetch_events() {
                        Ok(evs) => evs.map(|e| (e.event_type().0, e.code(), e.value())).collect(),
                        Err(e) => {
                            return SessionEnd::Gone(if e.raw_os_error() == Some(libc::ENODEV) {
                                "scanner unplugged (ENODEV)".into()
                            } else {
                                format!("read failed: {e}")
                            });
                        }
                    };
                    let now = Instant::now();
                    for (t, c, v) in events {
                        if let Some(out) = self.decoder.push(t, c, v, now) {
                            self.emit(out);
                        }
                    }
                }
            }
            if pending_commands(rx).is_none() {
                return SessionEnd::Shutdown;
            }
        }
    }

    fn offline_command(&mut self, _cmd: DriverCommand) {}
}
