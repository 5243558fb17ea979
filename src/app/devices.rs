//! Devices from hw-profiles: turning a profile into a running driver, finding which profiled
//! devices are attached, and the simulated scanner and reader the desktop default runs on.
//! Used by the GUI and by `lotline listen`.

use std::path::{Path, PathBuf};

use crate::devices::codec::framer::{FrameEnd as FramerEnd, FramerConfig};
use crate::devices::codec::{InventoryConfig, ReaderProtocol, Region as CodecRegion, chafon, m100, mercury, r2000};
use crate::devices::evdev::{EvdevOptions, EvdevTarget};
use crate::devices::hidraw::HidrawTarget;
use crate::devices::inventory::TargetPlan;
use crate::devices::printer::PrinterTarget;
use crate::devices::profile::{
    DmiField, Framing, Kind, LoadedProfiles, PrinterTransport, Profile, RfidProtocol, RfidSettings, ScannerProtocol,
    ScannerTransport, SerialConfig, TargetMode,
};
use crate::devices::serial::SerialSettings;
use crate::devices::sim::{SimError, SimReader, SimReaderOptions, SimScanner, SimScannerWire};
use crate::devices::{DriverHandle, Sink, evdev, hidraw, rfid, scanner};
use crate::domain::text::Bilingual;

/// Why a profile's driver, or the simulated pair, could not be started. A cause is part of the
/// message, not a `source` (the command line prints every source after the message).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "{profile}: no path and no USB id to find the keyboard node; give it with --device {profile}=/dev/input/by-id/…"
    )]
    NoKeyboardNode { profile: String },
    #[error("{profile}: layout {layout} unknown to the decoder; choose another layout in the profile")]
    UnknownLayout { profile: String, layout: String },
    #[error("{profile} is a terminal profile: it describes the handheld, not a device to open")]
    TerminalProfile { profile: String },
    #[error("{profile} is a label printer profile: lotline sends labels to it, there is nothing to listen to")]
    PrinterProfile { profile: String },
    #[error(
        "the {profile} profile the simulated devices run on is missing: this lotline build is broken; reinstall lotline"
    )]
    ProfileMissing { profile: String },
    #[error(
        "{profile} has no scanner framing: the simulated scanner runs on the shipped profile; remove the override of {profile} from the profiles folder"
    )]
    NoFraming { profile: String },
    #[error(
        "{profile} is not an RFID profile: the simulated reader runs on the shipped one; remove the override of {profile} from the profiles folder"
    )]
    NotRfid { profile: String },
    #[error("cannot start the simulated scanner: {0}")]
    SimScanner(SimError),
    #[error("cannot start the simulated RFID reader: {0}")]
    SimReader(SimError),
}

impl Bilingual for StartError {
    fn message_zh(&self) -> String {
        match self {
            StartError::NoKeyboardNode { profile } => format!(
                "{profile}：没有路径也没有 USB ID，无法找到键盘设备节点；请用 --device {profile}=/dev/input/by-id/… 指定"
            ),
            StartError::UnknownLayout { profile, layout } => {
                format!("{profile}：解码器不认识键盘布局 {layout}；请在配置文件中选择其他布局")
            }
            StartError::TerminalProfile { profile } => {
                format!("{profile} 是终端配置：它描述的是手持终端，不是要打开的设备")
            }
            StartError::PrinterProfile { profile } => {
                format!("{profile} 是标签打印机配置：lotline 向它发送标签，没有可监听的内容")
            }
            StartError::ProfileMissing { profile } => {
                format!("缺少模拟设备所用的 {profile} 配置：此 lotline 版本已损坏；请重新安装 lotline")
            }
            StartError::NoFraming { profile } => format!(
                "{profile} 没有扫描器分帧设置：模拟扫描器使用随附的配置；请从配置文件夹中移除 {profile} 的覆盖文件"
            ),
            StartError::NotRfid { profile } => {
                format!("{profile} 不是 RFID 配置：模拟读写器使用随附的配置；请从配置文件夹中移除 {profile} 的覆盖文件")
            }
            StartError::SimScanner(e) => format!("无法启动模拟扫描器：{}", e.message_zh()),
            StartError::SimReader(e) => format!("无法启动模拟 RFID 读写器：{}", e.message_zh()),
        }
    }
}

/// The serial settings of a profile, with the port overridden when one is given.
pub fn serial_settings(c: &SerialConfig, port: Option<&str>) -> SerialSettings {
    SerialSettings {
        path: port.map(str::to_owned).unwrap_or_else(|| c.path.clone()),
        baud: c.baud,
        data_bits: c.data_bits,
        parity: c.parity.name().to_owned(),
        stop_bits: c.stop_bits,
        flow_control: c.flow_control.name().to_owned(),
    }
}

pub fn framer_config(f: &Framing) -> FramerConfig {
    FramerConfig {
        prefix: f.prefix.clone(),
        suffix: f.suffix.clone(),
        end: match f.end {
            crate::devices::profile::FrameEnd::Suffix => FramerEnd::Suffix,
            crate::devices::profile::FrameEnd::Gap => FramerEnd::Gap,
            crate::devices::profile::FrameEnd::SuffixThenGap => FramerEnd::SuffixThenGap,
        },
        gap: f.gap,
        ..FramerConfig::default()
    }
}

pub fn inventory_config(r: &RfidSettings) -> InventoryConfig {
    use crate::devices::profile::Region;
    InventoryConfig {
        power_dbm: r.power_dbm,
        region: match r.region {
            Region::China920 => CodecRegion::China920,
            Region::China840 => CodecRegion::China840,
            Region::Fcc => CodecRegion::Fcc,
            Region::Etsi => CodecRegion::Etsi,
        },
        session: r.session,
        q: r.q,
        antenna: r.antenna,
    }
}

pub fn target_plan(t: TargetMode) -> TargetPlan {
    match t {
        TargetMode::A => TargetPlan::A,
        TargetMode::B => TargetPlan::B,
        TargetMode::Alternate => TargetPlan::Alternate,
    }
}

/// The host side of the profile's RFID protocol, at the profile's reader address.
pub fn reader_protocol(r: &RfidSettings) -> Box<dyn ReaderProtocol> {
    let address = r.address.unwrap_or(0xFF);
    match r.protocol {
        RfidProtocol::R2000 => Box::new(r2000::R2000 { address }),
        RfidProtocol::M100 => Box::new(m100::M100),
        RfidProtocol::Mercury => Box::new(mercury::Mercury),
        RfidProtocol::Chafon18 => Box::new(chafon::Chafon18 { address }),
        RfidProtocol::Chafon288 => Box::new(chafon::Chafon288 { address }),
    }
}

/// The name a device goes by in the status bar, events and logs: profile and port.
pub fn device_name(profile: &Profile, port: Option<&str>) -> String {
    let where_ = match (port, &profile.device) {
        (Some(p), _) => p.to_owned(),
        (None, crate::devices::profile::Device::Scanner(s)) => match &s.transport {
            ScannerTransport::Evdev(e) => e.path.clone().unwrap_or_else(|| "USB keyboard".into()),
            ScannerTransport::Hidraw(h) => h.path.clone().unwrap_or_else(|| "HID POS".into()),
            ScannerTransport::Serial(s) => s.path.clone(),
        },
        (None, crate::devices::profile::Device::Rfid(r)) => r.serial.path.clone(),
        (None, crate::devices::profile::Device::Terminal(_)) => String::new(),
        (None, crate::devices::profile::Device::Printer(p)) => match &p.transport {
            PrinterTransport::Serial(s) => s.path.clone(),
            PrinterTransport::File(f) => f.clone(),
        },
    };
    if where_.is_empty() {
        profile.name.clone()
    } else {
        format!("{} {where_}", profile.name)
    }
}

/// Starts the driver a scanner or RFID profile describes; `port` overrides the profile's device
/// path. `inventory` starts an RFID inventory as soon as the reader answers.
pub fn start(profile: &Profile, port: Option<&str>, sink: Sink, inventory: bool) -> Result<DriverHandle, StartError> {
    let name = device_name(profile, port);
    match &profile.device {
        crate::devices::profile::Device::Scanner(s) => Ok(match &s.transport {
            ScannerTransport::Serial(c) => {
                let wire = match s.framing.protocol {
                    ScannerProtocol::Plain => scanner::ScannerWire::Plain {
                        framing: framer_config(&s.framing),
                        aim: s.framing.aim,
                    },
                    ScannerProtocol::Ssi => scanner::ScannerWire::Ssi,
                };
                scanner::spawn(name, serial_settings(c, port), wire, sink)
            }
            ScannerTransport::Evdev(e) => {
                let target = match (port, &e.path) {
                    (Some(p), _) => EvdevTarget::Path(PathBuf::from(p)),
                    (None, Some(p)) => EvdevTarget::Path(PathBuf::from(p)),
                    (None, None) => match e.usb.first() {
                        Some(u) => EvdevTarget::Usb {
                            vendor: u.vendor,
                            product: u.product,
                        },
                        None => {
                            return Err(StartError::NoKeyboardNode {
                                profile: profile.name.clone(),
                            });
                        }
                    },
                };
                let layout = crate::devices::codec::wedge::Layout::from_name(e.layout.name()).ok_or_else(|| {
                    StartError::UnknownLayout {
                        profile: profile.name.clone(),
                        layout: e.layout.to_string(),
                    }
                })?;
                let opts = EvdevOptions {
                    target,
                    layout,
                    grab: e.grab,
                    key_timeout: s.framing.gap,
                    aim: s.framing.aim,
                };
                evdev::spawn(name, opts, sink)
            }
            ScannerTransport::Hidraw(h) => {
                let target = match (port, h.path.as_deref()) {
                    (Some(p), _) | (None, Some(p)) => HidrawTarget::Path(PathBuf::from(p)),
                    (None, None) => HidrawTarget::Usb {
                        vendors: h.usb.iter().map(|u| u.vendor).collect(),
                    },
                };
                hidraw::spawn(name, target, sink)
            }
        }),
        crate::devices::profile::Device::Rfid(r) => {
            let opts = rfid::RfidOptions {
                protocol: reader_protocol(&r.reader),
                config: inventory_config(&r.reader),
                plan: target_plan(r.reader.target),
                read_tid: r.reader.read_tid,
                inventory_at_start: inventory,
            };
            Ok(rfid::spawn(name, serial_settings(&r.serial, port), opts, sink))
        }
        crate::devices::profile::Device::Terminal(_) => Err(StartError::TerminalProfile {
            profile: profile.name.clone(),
        }),
        crate::devices::profile::Device::Printer(_) => Err(StartError::PrinterProfile {
            profile: profile.name.clone(),
        }),
    }
}

/// Where a printer profile's labels go; `port` overrides its serial port or file path. `None`
/// for a profile that is not a printer's. (The simulated printer is
/// [`PrinterTarget::Simulated`], chosen by the caller, not by a profile.)
pub fn printer_target(profile: &Profile, port: Option<&str>) -> Option<PrinterTarget> {
    Some(match &profile.printer()?.transport {
        PrinterTransport::Serial(c) => PrinterTarget::Serial(serial_settings(c, port)),
        PrinterTransport::File(path) => PrinterTarget::File(PathBuf::from(port.unwrap_or(path))),
    })
}

/// Where the machine's identity is read from (overridable for tests).
pub struct MachineInfo {
    pub sysfs: PathBuf,
    pub dev: PathBuf,
    pub device_tree: PathBuf,
}

impl Default for MachineInfo {
    fn default() -> Self {
        MachineInfo {
            sysfs: "/sys".into(),
            dev: "/dev".into(),
            device_tree: "/proc/device-tree".into(),
        }
    }
}

/// USB vendor:product of the device behind a `/sys/class/<class>/<node>` entry (walking up
/// to the USB device that carries idVendor).
fn usb_ids_of(class_entry: &Path) -> Option<(u16, u16)> {
    let mut dir = std::fs::canonicalize(class_entry.join("device")).ok()?;
    for _ in 0..6 {
        let v = std::fs::read_to_string(dir.join("idVendor")).ok();
        let p = std::fs::read_to_string(dir.join("idProduct")).ok();
        if let (Some(v), Some(p)) = (v, p) {
            return Some((
                u16::from_str_radix(v.trim(), 16).ok()?,
                u16::from_str_radix(p.trim(), 16).ok()?,
            ));
        }
        dir = dir.parent()?.to_path_buf();
    }
    None
}

/// The scanner and RFID profiles whose device is attached now, each with the port to open:
/// the profile's stable path (a udev name) when it exists, else a `/dev/serial/by-id` entry
/// its glob matches, else a node whose USB id it lists. At most one scanner and one reader.
pub fn detect(profiles: &LoadedProfiles, m: &MachineInfo) -> Vec<(Profile, Option<String>)> {
    let by_id: Vec<String> = std::fs::read_dir(m.dev.join("serial/by-id"))
        .map(|d| {
            d.flatten()
                .map(|e| format!("/dev/serial/by-id/{}", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    let usb_of_class = |class: &str| -> Vec<(String, u16, u16)> {
        let Ok(d) = std::fs::read_dir(m.sysfs.join("class").join(class)) else {
            return vec![];
        };
        let mut v: Vec<_> = d
            .flatten()
            .filter_map(|e| {
                usb_ids_of(&e.path()).map(|(vid, pid)| (e.file_name().to_string_lossy().into_owned(), vid, pid))
            })
            .collect();
        v.sort();
        v
    };
    let ttys = usb_of_class("tty");
    let inputs = usb_of_class("input");
    let mut found: Vec<(Profile, Option<String>)> = Vec::new();
    for kind in [Kind::Scanner, Kind::Rfid] {
        for (p, _) in profiles.iter().filter(|(p, _)| p.kind() == kind) {
            let port = match (&p.device, p.serial()) {
                (_, Some(s)) => {
                    let stable = m.dev.join(s.path.trim_start_matches("/dev/"));
                    if stable.exists() {
                        Some(Some(s.path.clone()))
                    } else if let Some(b) = by_id.iter().find(|b| p.matches.fits_serial_by_id(b)) {
                        Some(Some(b.clone()))
                    } else {
                        ttys.iter()
                            .find(|(_, v, pid)| p.matches.fits_usb(*v, *pid))
                            .map(|(node, _, _)| Some(format!("/dev/{node}")))
                    }
                }
                (crate::devices::profile::Device::Scanner(sp), None) => match &sp.transport {
                    ScannerTransport::Evdev(e) => {
                        let path_ok = e
                            .path
                            .as_ref()
                            .is_some_and(|x| m.dev.join(x.trim_start_matches("/dev/")).exists());
                        (path_ok
                            || inputs.iter().any(|(_, v, pid)| {
                                p.matches.fits_usb(*v, *pid) || e.usb.iter().any(|u| u.matches(*v, *pid))
                            }))
                        .then_some(None)
                    }
                    ScannerTransport::Hidraw(h) => {
                        let target = match &h.path {
                            Some(x) => HidrawTarget::Path(PathBuf::from(x)),
                            None => HidrawTarget::Usb {
                                vendors: h.usb.iter().map(|u| u.vendor).collect(),
                            },
                        };
                        hidraw::find_node(&target, &m.sysfs.join("class/hidraw"))
                            .ok()
                            .map(|n| Some(n.display().to_string()))
                    }
                    ScannerTransport::Serial(_) => None,
                },
                _ => None,
            };
            if let Some(port) = port {
                found.push((p.clone(), port));
                break;
            }
        }
    }
    found
}

/// The terminal profile for this machine: the first whose DMI or device-tree rules fit, else
/// one without match rules (the generic fallback).
pub fn terminal_profile(profiles: &LoadedProfiles, m: &MachineInfo) -> Option<Profile> {
    let dmi = |f: DmiField| std::fs::read_to_string(m.sysfs.join("class/dmi/id").join(f.name())).ok();
    let model = std::fs::read_to_string(m.device_tree.join("model"))
        .ok()
        .map(|s| s.trim_end_matches('\0').to_owned());
    let compat_raw = std::fs::read(m.device_tree.join("compatible")).unwrap_or_default();
    let compat: Vec<String> = compat_raw
        .split(|b| *b == 0)
        .filter(|c| !c.is_empty())
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let compat: Vec<&str> = compat.iter().map(String::as_str).collect();
    let terminals: Vec<&Profile> = profiles.of_kind(Kind::Terminal).collect();
    terminals
        .iter()
        .find(|p| p.matches.fits_machine(dmi, model.as_deref(), &compat))
        .or_else(|| terminals.iter().find(|p| p.matches.is_empty()))
        .map(|p| (*p).clone())
}

/// The simulated scanner and RFID reader of the desktop default, on pseudo-terminals, with the
/// drivers of the shipped `generic-cdc-scanner` and `impinj-r2000` profiles running on them.
pub struct Simulated {
    pub scanner: std::sync::Arc<SimScanner>,
    pub reader: SimReader,
    pub scanner_driver: DriverHandle,
    pub reader_driver: DriverHandle,
}

/// Starts the simulated pair. `units` are the (GTIN, serial) pairs the simulated tags carry.
pub fn start_simulated(
    profiles: &LoadedProfiles,
    units: &[(String, String)],
    sink: Sink,
) -> Result<Simulated, StartError> {
    let profile = |name: &str| {
        profiles.get(name).ok_or_else(|| StartError::ProfileMissing {
            profile: name.to_owned(),
        })
    };
    let sp = profile("generic-cdc-scanner")?;
    let rp = profile("impinj-r2000")?;
    let framing = sp.framing().ok_or_else(|| StartError::NoFraming {
        profile: sp.name.clone(),
    })?;
    // Stable names, as udev gives real devices: an unplugged and re-plugged simulator gets a new
    // pseudo-terminal behind the same link.
    let link = |what: &str| std::env::temp_dir().join(format!("lotline-simulated-{what}-{}", std::process::id()));
    let scanner = SimScanner::start(
        SimScannerWire::Plain {
            framing: framer_config(framing),
            aim: framing.aim,
        },
        Some(&link("scanner")),
    )
    .map_err(StartError::SimScanner)?;
    let mut tags = crate::devices::sim::sgtin_population(units);
    // Two tags that are not items: an SGTIN of a GTIN the cache does not know, and a non-GS1 EPC.
    if let Ok(epc) = crate::domain::epc::encode_sgtin96("09506000134352", 7, 1, 77) {
        tags.push(crate::devices::codec::TagReport {
            pc: 0x3000,
            epc,
            rssi_dbm: Some(-61),
            antenna: Some(1),
            tid: None,
        });
    }
    tags.push(crate::devices::codec::TagReport {
        epc: vec![0xE2, 0x00, 0x34, 0x12, 0x01, 0x2B, 0x3C, 0x4D, 0x5E, 0x6F, 0x70, 0x81],
        pc: 0x3000,
        rssi_dbm: Some(-66),
        antenna: Some(2),
        tid: None,
    });
    let rfid = rp.rfid().ok_or_else(|| StartError::NotRfid {
        profile: rp.name.clone(),
    })?;
    let reader = SimReader::start(
        SimReaderOptions {
            protocol: "r2000".into(),
            tags,
            rate: 120.0,
            baud: rfid.serial.baud,
            ..Default::default()
        },
        Some(&link("rfid")),
    )
    .map_err(StartError::SimReader)?;
    let sport = scanner.path().display().to_string();
    let rport = reader.path().display().to_string();
    let scanner_driver = start(sp, Some(&sport), sink.clone(), false)?;
    let reader_driver = start(rp, Some(&rport), sink, false)?;
    Ok(Simulated {
        scanner: std::sync::Arc::new(scanner),
        reader,
        scanner_driver,
        reader_driver,
    })
}
