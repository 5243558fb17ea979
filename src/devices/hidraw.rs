//! HID POS scanners (USB HID usage page 0x8C) through hidraw: each read is one 64-byte input
//! report, assembled by `codec::hidpos` (continuation across reports, AIM id, code id). The node
//! is found by path or by USB vendor id and usage page through sysfs, so no libudev is needed.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use super::codec::FrameError;
use super::codec::hidpos::{HidPosAssembler, trigger_report};
use super::evdev::wait_readable;
use super::serial::{OpenError, PortSession, SessionEnd, pending_commands, supervise};
use super::{DeviceEvent, DeviceKind, DriverCommand, DriverHandle, LinkError, ScanEvent, Sink};
use crate::domain::text::Bilingual;

/// What went wrong with a HID POS scanner's hidraw node: each names the node (or the USB vendors
/// looked for) and says what to check.
#[derive(Debug, thiserror::Error)]
pub enum HidrawError {
    #[error("{path} does not exist: is the scanner plugged in, and is this its hidraw node?")]
    Missing { path: PathBuf },
    #[error("cannot list {dir}: {source}")]
    Sysfs { dir: PathBuf, source: std::io::Error },
    #[error(
        "no HID POS scanner (usage page 0x8C) from USB vendor {} is attached: is it plugged in and set to HID POS mode?",
        vendor_ids(.vendors)
    )]
    NoPosScanner { vendors: Vec<u16> },
    #[error("no permission to open {path} (see assets/udev/99-lotline.rules)")]
    Permission { path: PathBuf },
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    /// A report the assembler could not take.
    #[error("HID POS report {0}")]
    Report(FrameError),
}

fn vendor_ids(vendors: &[u16]) -> String {
    vendors.iter().map(|v| format!("{v:04x}")).collect::<Vec<_>>().join("/")
}

impl Bilingual for HidrawError {
    fn message_zh(&self) -> String {
        match self {
            HidrawError::Missing { path } => {
                format!(
                    "{} 不存在：扫描器是否已插好？这是它的 hidraw 设备节点吗？",
                    path.display()
                )
            }
            HidrawError::Sysfs { dir, source } => format!("无法列出 {}：{source}", dir.display()),
            HidrawError::NoPosScanner { vendors } => format!(
                "未连接 USB 厂商 {} 的 HID POS 扫描器（用途页 0x8C）：是否已插好并设为 HID POS 模式？",
                vendor_ids(vendors)
            ),
            HidrawError::Permission { path } => {
                format!("无权打开 {}（见 assets/udev/99-lotline.rules）", path.display())
            }
            HidrawError::Open { path, source } => format!("无法打开 {}：{source}", path.display()),
            HidrawError::Report(e) => format!("HID POS 报告：{}", e.message_zh()),
        }
    }
}

/// Which hidraw node: a path, or the first HID POS node of one of these USB vendors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HidrawTarget {
    Path(PathBuf),
    Usb { vendors: Vec<u16> },
}

/// The USB vendor id in a hidraw node's `device/uevent` (`HID_ID=0003:00000C2E:00000B6A`).
pub fn uevent_vendor(uevent: &str) -> Option<(u16, u16)> {
    let line = uevent.lines().find_map(|l| l.strip_prefix("HID_ID="))?;
    let mut parts = line.split(':');
    let _bus = parts.next()?;
    let v = u32::from_str_radix(parts.next()?, 16).ok()?;
    let p = u32::from_str_radix(parts.next()?, 16).ok()?;
    Some((v as u16, p as u16))
}

/// True when a HID report descriptor declares usage page 0x8C (bar code scanner).
pub fn is_pos_descriptor(desc: &[u8]) -> bool {
    // Usage Page items: 0x05 (1-byte data) or 0x06 (2-byte data, little-endian).
    desc.windows(2).any(|w| w == [0x05, 0x8C]) || desc.windows(3).any(|w| w == [0x06, 0x8C, 0x00])
}

/// Finds the node: the path itself, or a `/dev/hidraw*` whose sysfs entry has one of the vendor
/// ids and a HID POS report descriptor.
pub fn find_node(target: &HidrawTarget, sysfs: &Path) -> Result<PathBuf, HidrawError> {
    match target {
        HidrawTarget::Path(p) => {
            if p.exists() {
                Ok(p.clone())
            } else {
                Err(HidrawError::Missing { path: p.clone() })
            }
        }
        HidrawTarget::Usb { vendors } => {
            let mut entries: Vec<_> = std::fs::read_dir(sysfs)
                .map_err(|source| HidrawError::Sysfs {
                    dir: sysfs.to_owned(),
                    source,
                })?
                .flatten()
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let dir = e.path();
                let uevent = std::fs::read_to_string(dir.join("device/uevent")).unwrap_or_default();
                let Some((v, _)) = uevent_vendor(&uevent) else { continue };
                if !vendors.contains(&v) {
                    continue;
                }
                let desc = std::fs::read(dir.join("device/report_descriptor")).unwrap_or_default();
                if is_pos_descriptor(&desc) {
                    return Ok(Path::new("/dev").join(e.file_name()));
                }
            }
            Err(HidrawError::NoPosScanner {
                vendors: vendors.clone(),
            })
        }
    }
}

/// Starts the driver on its own thread.
pub fn spawn(device: String, target: HidrawTarget, sink: Sink) -> DriverHandle {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = device.clone();
    let thread = std::thread::Builder::new()
        .name(format!("hidpos {device}"))
        .spawn(move || {
            let mut session = HidSession::new(device.clone(), sink.clone());
            let mut open = || -> Result<(File, String), OpenError> {
                let path = find_node(&target, Path::new("/sys/class/hidraw")).map_err(OpenError::missing)?;
                let f = File::options().read(true).write(true).open(&path).map_err(|e| {
                    let path = path.clone();
                    match e.kind() {
                        std::io::ErrorKind::PermissionDenied => OpenError::failed(HidrawError::Permission { path }),
                        std::io::ErrorKind::NotFound => OpenError::missing(HidrawError::Missing { path }),
                        _ => OpenError::failed(HidrawError::Open { path, source: e }),
                    }
                })?;
                Ok((f, format!("{} (HID POS)", path.display())))
            };
            supervise(&device, DeviceKind::Scanner, &mut open, &sink, &rx, &mut session);
        })
        .expect("spawn the HID POS driver thread");
    DriverHandle::new(name, DeviceKind::Scanner, tx, thread)
}

/// Reads reports from any `Read` that returns one report per read (a hidraw node, or a
/// SOCK_SEQPACKET socket in tests).
pub struct HidSession {
    device: String,
    assembler: HidPosAssembler,
    sink: Sink,
}

impl HidSession {
    pub fn new(device: String, sink: Sink) -> Self {
        HidSession {
            device,
            assembler: HidPosAssembler::new(),
            sink,
        }
    }

    /// Takes one report; emits a scan when it completes one.
    pub fn report(&mut self, report: &[u8]) {
        match self.assembler.push(report) {
            Some(Ok(scan)) => (self.sink)(DeviceEvent::Scan(ScanEvent {
                data: scan.data,
                symbology: scan.aim.map(|a| a.as_str().to_owned()),
                device: self.device.clone(),
                at: chrono::Utc::now(),
            })),
            Some(Err(e)) => (self.sink)(DeviceEvent::error(&self.device, &HidrawError::Report(e))),
            None => {}
        }
    }
}

impl<F: Read + Write + AsRawFd> PortSession<F> for HidSession {
    fn run(&mut self, f: &mut F, _reconnected: bool, rx: &Receiver<DriverCommand>) -> SessionEnd {
        self.assembler.reset();
        let mut buf = [0u8; 256];
        loop {
            match wait_readable(f.as_raw_fd(), Duration::from_millis(50)) {
                Err(why) => return SessionEnd::Gone(why.into()),
                Ok(false) => {}
                Ok(true) => match f.read(&mut buf) {
                    Ok(0) => return SessionEnd::Gone(LinkError::HungUp.into()),
                    Ok(n) => self.report(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return SessionEnd::Gone(LinkError::Gone(e).into()),
                },
            }
            let Some(cmds) = pending_commands(rx) else {
                return SessionEnd::Shutdown;
            };
            for c in cmds {
                if let DriverCommand::Trigger(on) = c
                    && let Err(e) = f.write_all(&trigger_report(on))
                {
                    return SessionEnd::Gone(LinkError::Gone(e).into());
                }
            }
        }
    }

    fn offline_command(&mut self, _cmd: DriverCommand) {}
}
