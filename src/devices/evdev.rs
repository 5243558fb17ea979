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
use super::{DeviceEvent, DeviceKind, DriverCommand, DriverHandle, LinkError, ScanEvent, Sink};
use crate::domain::text::Bilingual;

/// What went wrong with a keyboard-wedge scanner's input node: each names the node (or the USB
/// id looked for) and says what to check.
#[derive(Debug, thiserror::Error)]
pub enum EvdevError {
    #[error("{path} does not exist: is the scanner plugged in, and is this its input node?")]
    Missing { path: PathBuf },
    #[error("no input device {vendor:04x}:{product:04x} (is the scanner in USB keyboard mode?)")]
    NoUsbProduct { vendor: u16, product: u16 },
    #[error("no input device from USB vendor {vendor:04x} (is the scanner plugged in and in USB keyboard mode?)")]
    NoUsbVendor { vendor: u16 },
    #[error("no permission to read {path} (add the user to the input group; see assets/udev)")]
    Permission { path: PathBuf },
    #[error("{path} is gone: is the scanner plugged in?")]
    Gone { path: PathBuf },
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("cannot grab {path}: {source} (another program grabbed it?)")]
    Grab { path: PathBuf, source: std::io::Error },
    /// Keys that made no scan (the codec says why).
    #[error("{chars} keystroke(s) ignored: {why}")]
    Ignored { chars: usize, why: &'static str },
}

impl Bilingual for EvdevError {
    fn message_zh(&self) -> String {
        match self {
            EvdevError::Missing { path } => {
                format!("{} 不存在：扫描器是否已插好？这是它的输入设备节点吗？", path.display())
            }
            EvdevError::NoUsbProduct { vendor, product } => {
                format!("没有输入设备 {vendor:04x}:{product:04x}（扫描器是否处于 USB 键盘模式？）")
            }
            EvdevError::NoUsbVendor { vendor } => {
                format!("没有 USB 厂商 {vendor:04x} 的输入设备（扫描器是否已插好并处于 USB 键盘模式？）")
            }
            EvdevError::Permission { path } => {
                format!("无权读取 {}（请将用户加入 input 组；见 assets/udev）", path.display())
            }
            EvdevError::Gone { path } => format!("{} 已消失：扫描器是否已插好？", path.display()),
            EvdevError::Open { path, source } => format!("无法打开 {}：{source}", path.display()),
            EvdevError::Grab { path, source } => {
                format!("无法独占 {}：{source}（是否已被另一个程序独占？）", path.display())
            }
            EvdevError::Ignored { chars, why } => format!("已忽略 {chars} 次按键：{}", why_zh(why)),
        }
    }
}

/// The Chinese of the reasons `codec::wedge` gives for keys that made no scan.
fn why_zh(why: &str) -> String {
    match why {
        "scan longer than the limit" => "扫描内容超过长度上限".into(),
        "a key in the scan has no character in the configured layout" => {
            "扫描中有按键在所配置的键盘布局中没有对应字符".into()
        }
        "pause between keys longer than the key timeout (typed, not scanned)" => {
            "按键间隔超过按键超时（是手动输入，不是扫描）".into()
        }
        "no Enter after the last key within the key timeout" => "最后一个按键后在按键超时内没有回车".into(),
        other => other.to_owned(),
    }
}

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
pub fn find_node(target: &EvdevTarget) -> Result<PathBuf, EvdevError> {
    match target {
        EvdevTarget::Path(p) => {
            if p.exists() {
                Ok(p.clone())
            } else {
                Err(EvdevError::Missing { path: p.clone() })
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
                Some(p) => EvdevError::NoUsbProduct {
                    vendor: *vendor,
                    product: *p,
                },
                None => EvdevError::NoUsbVendor { vendor: *vendor },
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
                let path = find_node(&opts.target).map_err(OpenError::missing)?;
                let mut dev = ::evdev::Device::open(&path).map_err(|e| open_error(&path, e))?;
                if opts.grab {
                    dev.grab().map_err(|source| {
                        OpenError::failed(EvdevError::Grab {
                            path: path.clone(),
                            source,
                        })
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

fn open_error(path: &Path, e: std::io::Error) -> OpenError {
    let path = path.to_owned();
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => OpenError::failed(EvdevError::Permission { path }),
        std::io::ErrorKind::NotFound => OpenError::missing(EvdevError::Missing { path }),
        _ if e.raw_os_error() == Some(libc::ENODEV) => OpenError::missing(EvdevError::Gone { path }),
        _ => OpenError::failed(EvdevError::Open { path, source: e }),
    }
}

/// Waits up to `timeout` for the fd to be readable; `Err` when it hung up.
pub(crate) fn wait_readable(fd: i32, timeout: Duration) -> Result<bool, LinkError> {
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
            Err(LinkError::from_io(e))
        };
    }
    if r == 0 {
        return Ok(false);
    }
    if pfd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 && pfd.revents & libc::POLLIN == 0 {
        return Err(LinkError::HungUp);
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
            WedgeOut::Dropped { chars, why } => {
                (self.sink)(DeviceEvent::error(&self.device, &EvdevError::Ignored { chars, why }))
            }
        }
    }
}

impl PortSession<::evdev::Device> for WedgeSession {
    fn run(&mut self, dev: &mut ::evdev::Device, _reconnected: bool, rx: &Receiver<DriverCommand>) -> SessionEnd {
        self.decoder.reset();
        let fd = dev.as_raw_fd();
        loop {
            match wait_readable(fd, Duration::from_millis(50)) {
                Err(why) => return SessionEnd::Gone(why.into()),
                Ok(false) => {
                    if let Some(out) = self.decoder.tick(Instant::now()) {
                        self.emit(out);
                    }
                }
                Ok(true) => {
                    let events: Vec<(u16, u16, i32)> = match dev.fetch_events() {
                        Ok(evs) => evs.map(|e| (e.event_type().0, e.code(), e.value())).collect(),
                        Err(e) => return SessionEnd::Gone(LinkError::from_io(e).into()),
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
