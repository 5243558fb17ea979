//! Device profiles: one TOML file per scanner, RFID reader, label printer or terminal model
//! (`hw-profiles/`), read
//! strictly, checked by named checks, and turned into the typed settings the drivers take.
//!
//! The shape follows probe-rs (`chip_family.rs` + `validate_builtin`), libinput quirks
//! (`validate-quirks`) and InputPlumber (`config/path.rs`):
//! - a file is read into [`ProfileFile`] with `deny_unknown_fields` everywhere, so a typo is an
//!   error that names the field and the line, never a setting silently ignored;
//! - [`parse`] then runs the named checks listed in [`CHECKS`] and builds a [`Profile`], whose
//!   types say what a driver may rely on (an RFID profile always has serial settings, a terminal
//!   always has a screen, a printer its label stock);
//! - every [`ProfileError`] names the file, the line when known, the field and the check;
//! - the shipped files are embedded in the binary ([`builtin`]); files in [`SYSTEM_DIR`] replace
//!   a shipped profile of the same name or add new ones ([`load_all`]); [`check_dir`] backs
//!   `lotline profiles check`;
//! - [`json_schema`] is generated from [`ProfileFile`] and committed as `hw-profiles/schema.json`
//!   for editors (taplo / Even Better TOML read the `#:schema ./schema.json` first line).
//!
//! No device is opened here; the only I/O is reading profile files. Device facts (baud rates,
//! usage page, vendor ids) come from `../shared/hardware/protocols.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use crate::domain::label::{Dpi, LabelMedia};
use crate::domain::text::Text;

/// The `schema_version` this build reads.
pub const SCHEMA_VERSION: u32 = 1;
/// Where an installation keeps its own profiles; a file there replaces the shipped profile of the
/// same `name`, or adds a new one.
pub const SYSTEM_DIR: &str = "/etc/lotline/hw-profiles.d";
/// The stable name `assets/udev/99-lotline.rules` gives a serial barcode scanner.
pub const SCANNER_PATH: &str = "/dev/lotline-scanner";
/// The stable name `assets/udev/99-lotline.rules` gives a UHF RFID reader's serial port.
pub const RFID_PATH: &str = "/dev/lotline-rfid";
/// The stable name `assets/udev/99-lotline.rules` gives a USB label printer (usblp).
pub const PRINTER_PATH: &str = "/dev/lotline-printer";
/// The stable name `assets/udev/99-lotline.rules` gives a keyboard-wedge scanner's input node.
pub const WEDGE_PATH: &str = "/dev/input/lotline-wedge";
/// HID usage page "Bar Code Scanner" (HID POS), the only one the hidraw driver speaks.
pub const HID_POS_USAGE_PAGE: u16 = 0x8C;
/// The baud rates a serial transport may use (`baud-standard`).
pub const BAUD_RATES: &[u32] = &[
    1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
];
/// Inter-character gap when a scanner profile gives none: about 50 ms (protocols.md §3).
pub const DEFAULT_GAP: Duration = Duration::from_millis(50);
/// The range `gap_ms` must fall in (`gap-range`).
pub const GAP_MS: std::ops::RangeInclusive<u32> = 5..=1000;
/// The range `power_dbm` must fall in (`power-range`): what the modules accept (R2000 0x76: 0–33).
pub const POWER_DBM: std::ops::RangeInclusive<f32> = 0.0..=33.0;

// ---------------------------------------------------------------------------------------------
// Named values
// ---------------------------------------------------------------------------------------------

/// A closed set of names a profile field takes, validated by a `*-known` check.
trait Choice: Copy + 'static {
    /// What the value is, for messages ("layout").
    const WHAT: &'static str;
    fn names() -> Vec<&'static str>;
    fn lookup(s: &str) -> Option<Self>;
}

macro_rules! choice {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $var:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $var,)+
        }

        impl $name {
            /// Every value, in the order the documentation lists them.
            pub const ALL: &'static [$name] = &[$($name::$var,)+];

            /// The name used in profile files.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$var => $s,)+
                }
            }

            /// The value with this name in profile files.
            pub fn from_name(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.name() == s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Choice for $name {
            const WHAT: &'static str = $what;
            fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.name()).collect()
            }
            fn lookup(s: &str) -> Option<Self> {
                Self::from_name(s)
            }
        }
    };
}

choice! {
    /// What a profile describes.
    Kind, "kind" {
        /// A barcode scanner (serial, keyboard wedge or HID POS).
        Scanner = "scanner",
        /// A UHF RFID reader on a serial port.
        Rfid = "rfid",
        /// The handheld itself: its screen and hardware keys.
        Terminal = "terminal",
        /// A label printer (ZPL) on a serial port or a file / device node.
        Printer = "printer",
    }
}

choice! {
    /// A verdict as the operator hears and feels it: the sound played and the terminal's
    /// `[feedback]` hooks fired (`app::feedback`).
    Signal, "verdict" {
        /// Go ahead.
        Accept = "accept",
        /// Go ahead with care (a reason or a supervisor may be needed).
        Warn = "warn",
        /// Stop.
        Reject = "reject",
    }
}

choice! {
    /// Serial parity.
    Parity, "parity" {
        None = "none",
        Odd = "odd",
        Even = "even",
    }
}

choice! {
    /// Serial flow control.
    FlowControl, "flow control" {
        None = "none",
        /// RTS/CTS.
        Hardware = "hardware",
        /// XON/XOFF.
        Software = "software",
    }
}

choice! {
    /// The keyboard layout a keyboard-wedge scanner emulates (its "keyboard country" setting; the
    /// host's XKB layout plays no part, since the driver decodes key codes itself).
    Layout, "layout" {
        Us = "us",
        Uk = "uk",
        De = "de",
        Fr = "fr",
    }
}

choice! {
    /// How a serial scanner speaks.
    ScannerProtocol, "scanner protocol" {
        /// Text: `[prefix][AIM id]data[suffix]`.
        Plain = "plain",
        /// Zebra SSI packets.
        Ssi = "ssi",
    }
}

choice! {
    /// How a scan ends in a plain (text) stream.
    FrameEnd, "frame end" {
        /// At the suffix; the suffix must not occur in the data.
        Suffix = "suffix",
        /// At a pause between characters longer than `gap_ms`.
        Gap = "gap",
        /// At a suffix followed by a pause: a CR inside a QR code does not split the scan.
        SuffixThenGap = "suffix+gap",
    }
}

choice! {
    /// UHF RFID reader wire protocols (`codec::ReaderProtocol::name`).
    RfidProtocol, "RFID protocol" {
        /// Impinj R2000 module protocol (header 0xA0).
        R2000 = "r2000",
        /// Magic-RF M100 / YRM100 / JRD-100 (header 0xBB, end 0x7E).
        M100 = "m100",
        /// ThingMagic / JADAK Mercury (M6e, M6e-Nano, M7e).
        Mercury = "mercury",
        /// Chafon UHFReader18 (CF-RU5102 ...).
        Chafon18 = "chafon18",
        /// Chafon UHFReader288 (CF-RU5106, CF-MU80x ...).
        Chafon288 = "chafon288",
    }
}

impl RfidProtocol {
    /// The baud rate the modules speaking it ship with (protocols.md §1).
    pub const fn default_baud(self) -> u32 {
        match self {
            RfidProtocol::Chafon18 | RfidProtocol::Chafon288 => 57600,
            RfidProtocol::R2000 | RfidProtocol::M100 | RfidProtocol::Mercury => 115200,
        }
    }

    /// True when frames carry a reader address (`address` applies).
    pub const fn has_address(self) -> bool {
        matches!(
            self,
            RfidProtocol::R2000 | RfidProtocol::Chafon18 | RfidProtocol::Chafon288
        )
    }

    /// True when an inventory can be told the Gen2 session, target and Q. UHFReader18's inventory
    /// command (`04 FF 01`) takes no parameters.
    pub const fn sets_query(self) -> bool {
        !matches!(self, RfidProtocol::Chafon18)
    }
}

choice! {
    /// Regulatory frequency region (`codec::Region`).
    Region, "region" {
        /// China 920.125–924.875 MHz.
        China920 = "china920",
        /// China 840–845 MHz.
        China840 = "china840",
        /// FCC / North America 902–928 MHz.
        Fcc = "fcc",
        /// ETSI EN 302 208, 865–868 MHz.
        Etsi = "etsi",
    }
}

choice! {
    /// The language a label printer speaks.
    PrinterLanguage, "printer language" {
        /// Zebra Programming Language II.
        Zpl = "zpl",
    }
}

choice! {
    /// Which inventoried flag the passes target (`inventory::TargetPlan`).
    TargetMode, "target" {
        /// Every pass targets A.
        A = "a",
        /// Every pass targets B.
        B = "b",
        /// Passes alternate A, B, A ... (stocktakes on S2/S3).
        Alternate = "ab",
    }
}

choice! {
    /// What a terminal's hardware key does.
    Action, "action" {
        /// Pull the scan trigger (held: scan or read while down).
        Trigger = "trigger",
        /// Open receiving.
        Receive = "receive",
        /// Open picking.
        Pick = "pick",
        /// Open cycle counting.
        Count = "count",
        /// Open lot lookup.
        Lookup = "lookup",
        /// Open the RFID screen.
        Rfid = "rfid",
        /// Confirm.
        Enter = "enter",
        /// Go back.
        Back = "back",
    }
}

choice! {
    /// A key as Slint reports it (`slint::platform::Key`), by its Slint name. A small fixed list:
    /// the keys a handheld's hardware buttons can be mapped to. Slint 1.18 also names a `Back`
    /// key, but neither the linuxkms (XKB) nor the winit backend ever reports it, so it is left
    /// out: map a hardware back button to `Escape` (udev hwdb) instead. Note that the default XKB
    /// keymap turns KEY_F13..KEY_F24 into XF86 keysyms, so under linuxkms only F1–F12 arrive as
    /// function keys unless the keymap is changed.
    Key, "key" {
        F1 = "F1", F2 = "F2", F3 = "F3", F4 = "F4", F5 = "F5", F6 = "F6",
        F7 = "F7", F8 = "F8", F9 = "F9", F10 = "F10", F11 = "F11", F12 = "F12",
        F13 = "F13", F14 = "F14", F15 = "F15", F16 = "F16", F17 = "F17", F18 = "F18",
        F19 = "F19", F20 = "F20", F21 = "F21", F22 = "F22", F23 = "F23", F24 = "F24",
        Return = "Return",
        Escape = "Escape",
        Backspace = "Backspace",
        Tab = "Tab",
        Space = "Space",
        Delete = "Delete",
        Insert = "Insert",
        Home = "Home",
        End = "End",
        PageUp = "PageUp",
        PageDown = "PageDown",
        UpArrow = "UpArrow",
        DownArrow = "DownArrow",
        LeftArrow = "LeftArrow",
        RightArrow = "RightArrow",
        Menu = "Menu",
    }
}

impl Key {
    /// The character Slint puts in `KeyEvent.text` for this key (i-slint-common `key_codes.rs`),
    /// so a key handler can compare `event.text` with it.
    pub const fn text(self) -> char {
        match self {
            Key::Backspace => '\u{0008}',
            Key::Tab => '\u{0009}',
            Key::Return => '\u{000a}',
            Key::Escape => '\u{001b}',
            Key::Delete => '\u{007f}',
            Key::Space => ' ',
            Key::UpArrow => '\u{F700}',
            Key::DownArrow => '\u{F701}',
            Key::LeftArrow => '\u{F702}',
            Key::RightArrow => '\u{F703}',
            Key::F1 => '\u{F704}',
            Key::F2 => '\u{F705}',
            Key::F3 => '\u{F706}',
            Key::F4 => '\u{F707}',
            Key::F5 => '\u{F708}',
            Key::F6 => '\u{F709}',
            Key::F7 => '\u{F70A}',
            Key::F8 => '\u{F70B}',
            Key::F9 => '\u{F70C}',
            Key::F10 => '\u{F70D}',
            Key::F11 => '\u{F70E}',
            Key::F12 => '\u{F70F}',
            Key::F13 => '\u{F710}',
            Key::F14 => '\u{F711}',
            Key::F15 => '\u{F712}',
            Key::F16 => '\u{F713}',
            Key::F17 => '\u{F714}',
            Key::F18 => '\u{F715}',
            Key::F19 => '\u{F716}',
            Key::F20 => '\u{F717}',
            Key::F21 => '\u{F718}',
            Key::F22 => '\u{F719}',
            Key::F23 => '\u{F71A}',
            Key::F24 => '\u{F71B}',
            Key::Insert => '\u{F727}',
            Key::Home => '\u{F729}',
            Key::End => '\u{F72B}',
            Key::PageUp => '\u{F72C}',
            Key::PageDown => '\u{F72D}',
            Key::Menu => '\u{F735}',
        }
    }

    /// The key whose Slint `KeyEvent.text` this is.
    pub fn from_text(text: &str) -> Option<Key> {
        let mut chars = text.chars();
        let c = chars.next()?;
        if chars.next().is_some() {
            return None;
        }
        Key::ALL.iter().copied().find(|k| k.text() == c)
    }
}

choice! {
    /// DMI (SMBIOS) fields a terminal profile matches, read from `/sys/class/dmi/id/<name>`.
    DmiField, "DMI field" {
        SysVendor = "sys_vendor",
        ProductName = "product_name",
        ProductVersion = "product_version",
        ProductFamily = "product_family",
        BoardVendor = "board_vendor",
        BoardName = "board_name",
    }
}

fn choice_schema<T: Choice>(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": T::names() })
}

fn choices_schema<T: Choice>(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "array", "items": { "type": "string", "enum": T::names() } })
}

fn baud_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "enum": BAUD_RATES })
}

// ---------------------------------------------------------------------------------------------
// The file, as written
// ---------------------------------------------------------------------------------------------

/// A lotline hardware profile: one scanner, UHF RFID reader, label printer or terminal model
/// (`hw-profiles/*.toml`, or `/etc/lotline/hw-profiles.d/*.toml`). See hw-profiles/README.md.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "lotline hardware profile")]
pub struct ProfileFile {
    /// Version of this file format: 1.
    #[schemars(extend("const" = 1))]
    pub schema_version: u32,
    /// What the profile describes: `scanner`, `rfid`, `terminal` or `printer`.
    #[schemars(schema_with = "choice_schema::<Kind>")]
    pub kind: String,
    /// The profile's name: the file name without `.toml` (lowercase letters, digits, `-`).
    #[schemars(pattern(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"))]
    pub name: String,
    /// One line saying which devices this is for and how they must be set up.
    pub description: String,
    /// How to recognise the device. Rules are alternatives: any one that fits is enough (within
    /// `dmi`, every field given must fit). A profile without rules is used only by name.
    #[serde(default, rename = "match")]
    pub matches: MatchFile,
    /// How to talk to the device (scanners, RFID readers and printers; a terminal has none).
    #[serde(default)]
    pub transport: Option<TransportFile>,
    /// How scans are framed (scanners).
    #[serde(default)]
    pub framing: Option<FramingFile>,
    /// RFID reader settings (kind `rfid`).
    #[serde(default)]
    pub rfid: Option<RfidFile>,
    /// The terminal's screen (kind `terminal`).
    #[serde(default)]
    pub screen: Option<ScreenFile>,
    /// The terminal's hardware keys, per action (kind `terminal`).
    #[serde(default)]
    pub keys: Option<KeysFile>,
    /// The terminal's LEDs and vibrator when a verdict shows (kind `terminal`).
    #[serde(default)]
    pub feedback: Option<FeedbackFile>,
    /// The label printer's language and label stock (kind `printer`).
    #[serde(default)]
    pub printer: Option<PrinterFile>,
}

/// How to recognise the device.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchFile {
    /// USB ids `VID:PID` in hex (`0c2e:0b61`), `*` for any product (`0c2e:*`).
    #[serde(default)]
    #[schemars(inner(pattern(r"^[0-9A-Fa-f]{4}:([0-9A-Fa-f]{4}|\*)$")))]
    pub usb: Vec<String>,
    /// Globs on `/dev/serial/by-id/` links (`/dev/serial/by-id/usb-*-if00`): `*`, `?`, `[...]`.
    #[serde(default)]
    #[schemars(inner(pattern(r"^/dev/serial/by-id/[^/]+$")))]
    pub serial_by_id: Vec<String>,
    /// Terminals: DMI fields (`/sys/class/dmi/id/*`); values are globs. All given must fit.
    #[serde(default)]
    pub dmi: Option<DmiFile>,
    /// Terminals without DMI (most ARM boards): the device tree. Values are globs.
    #[serde(default)]
    pub devicetree: Option<DevicetreeFile>,
}

/// DMI fields, as in `/sys/class/dmi/id/`. Values are globs (`H6*`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DmiFile {
    pub sys_vendor: Option<String>,
    pub product_name: Option<String>,
    pub product_version: Option<String>,
    pub product_family: Option<String>,
    pub board_vendor: Option<String>,
    pub board_name: Option<String>,
}

/// Device-tree identification, for boards without DMI.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicetreeFile {
    /// Glob on `/proc/device-tree/model`.
    pub model: Option<String>,
    /// Glob on any one entry of `/proc/device-tree/compatible` (`vendor,board`).
    pub compatible: Option<String>,
}

/// How to talk to the device: exactly one of `[transport.serial]`, `[transport.evdev]`,
/// `[transport.hidraw]`, `[transport.file]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum TransportFile {
    /// A serial port: RS-232, USB CDC-ACM, a USB-UART bridge or an internal UART.
    Serial(SerialFile),
    /// A keyboard-wedge scanner's input node (grabbed, decoded for its layout).
    Evdev(EvdevFile),
    /// A HID POS scanner (usage page 0x8C) through hidraw.
    Hidraw(HidrawFile),
    /// Printers: a file or device node labels are written to (`/dev/usb/lp0`, a FIFO, a file).
    File(FileFile),
}

impl TransportFile {
    /// The section's name after `transport.`.
    fn name(&self) -> &'static str {
        match self {
            TransportFile::Serial(_) => "serial",
            TransportFile::Evdev(_) => "evdev",
            TransportFile::Hidraw(_) => "hidraw",
            TransportFile::File(_) => "file",
        }
    }
}

/// Serial port settings. Everything in the shipped profiles is 8N1 without flow control.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerialFile {
    /// The port: the udev name (`/dev/lotline-scanner`, `/dev/lotline-rfid`) or any `/dev` path.
    pub path: String,
    /// Baud rate (ignored by USB CDC-ACM devices, but still set).
    #[schemars(schema_with = "baud_schema")]
    pub baud: u32,
    /// `none` (default), `odd` or `even`.
    #[serde(default)]
    #[schemars(schema_with = "choice_schema::<Parity>")]
    pub parity: Option<String>,
    /// 5–8; default 8.
    #[serde(default)]
    #[schemars(range(min = 5, max = 8))]
    pub data_bits: Option<u8>,
    /// 1 or 2; default 1.
    #[serde(default)]
    #[schemars(range(min = 1, max = 2))]
    pub stop_bits: Option<u8>,
    /// `none` (default), `hardware` (RTS/CTS) or `software` (XON/XOFF).
    #[serde(default)]
    #[schemars(schema_with = "choice_schema::<FlowControl>")]
    pub flow_control: Option<String>,
}

/// A keyboard-wedge scanner through evdev.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvdevFile {
    /// The input node (`/dev/input/lotline-wedge`, `/dev/input/by-id/...-event-kbd`). Without
    /// it, the first keyboard node of a `[match] usb` id is used.
    #[serde(default)]
    pub path: Option<String>,
    /// The keyboard layout the scanner emulates: `us` (default), `uk`, `de` or `fr`.
    #[serde(default)]
    #[schemars(schema_with = "choice_schema::<Layout>")]
    pub layout: Option<String>,
    /// Grab the node (EVIOCGRAB) so scans do not also type into the focused field. Default true;
    /// required with Slint's linuxkms backend, which reads every input device.
    #[serde(default)]
    pub grab: Option<bool>,
}

/// A HID POS scanner through hidraw.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HidrawFile {
    /// The hidraw node. Without it, the node of a `[match] usb` vendor whose report descriptor
    /// declares the usage page is used (a scanner may also have a keyboard interface).
    #[serde(default)]
    pub path: Option<String>,
    /// HID usage page; only 0x8C (Bar Code Scanner, HID POS) is supported. Default 0x8C.
    #[serde(default)]
    pub usage_page: Option<u16>,
}

/// A printer reached through a file or device node.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileFile {
    /// An absolute path: the printer's device node (`/dev/usb/lp0`, the udev name
    /// `/dev/lotline-printer`), a FIFO another program reads, or a file. It must exist.
    pub path: String,
}

/// A label printer's language and label stock.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrinterFile {
    /// The printer language: `zpl`.
    #[schemars(schema_with = "choice_schema::<PrinterLanguage>")]
    pub language: String,
    /// Print resolution in dots per inch: 203, 300 or 600.
    #[schemars(extend("enum" = [203, 300, 600]))]
    pub dpi: u32,
    /// Label width in mm (50–220).
    #[schemars(range(min = 50, max = 220))]
    pub label_width_mm: u32,
    /// Label height (length along the feed) in mm (25–1000).
    #[schemars(range(min = 25, max = 1000))]
    pub label_height_mm: u32,
    /// A font on the printer for Chinese text, e.g. `E:ANMDS.TTF`. Without it, the built-in
    /// font prints Latin text only and a label with Chinese text is refused.
    #[serde(default)]
    #[schemars(pattern(r"^[A-Za-z]:[A-Za-z0-9_\-]{1,16}\.(TTF|TTE|OTF|FNT|ttf|tte|otf|fnt)$"))]
    pub font: Option<String>,
}

/// How a scanner's scans are framed.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FramingFile {
    /// Serial scanners: `plain` (text, default) or `ssi` (Zebra SSI packets).
    #[serde(default)]
    #[schemars(schema_with = "choice_schema::<ScannerProtocol>")]
    pub protocol: Option<String>,
    /// Bytes before each scan, as a TOML string: one character per byte, `\u0000`–`\u00ff`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Bytes after each scan: `"\r"`, `"\r\n"`, `"\u001d"`... Keyboard wedges: `"\r"` (Enter).
    #[serde(default)]
    pub suffix: Option<String>,
    /// How a scan ends: `suffix`, `gap` or `suffix+gap`. Default: what is configured.
    #[serde(default)]
    #[schemars(schema_with = "choice_schema::<FrameEnd>")]
    pub end: Option<String>,
    /// The pause between characters, in ms, that ends a scan (5–1000; about 50).
    #[serde(default)]
    #[schemars(range(min = 5, max = 1000))]
    pub gap_ms: Option<u32>,
    /// The scanner sends AIM symbology identifiers (`]C1`, `]d2`, `]Q3`) before the data. Default
    /// true: without them a GS1 code cannot be told from plain data.
    #[serde(default)]
    pub aim: Option<bool>,
}

/// UHF RFID reader settings, sent again after every reconnect.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RfidFile {
    /// `r2000`, `m100`, `mercury`, `chafon18` or `chafon288`.
    #[schemars(schema_with = "choice_schema::<RfidProtocol>")]
    pub protocol: String,
    /// Reader address (r2000, chafon18, chafon288); default 0xFF, the broadcast address.
    #[serde(default)]
    pub address: Option<u8>,
    /// Transmit power in dBm, 0–33; default 26.
    #[serde(default)]
    #[schemars(range(min = 0, max = 33))]
    pub power_dbm: Option<f32>,
    /// Regulatory region: `china920`, `china840`, `fcc` or `etsi`. Must be set for the country.
    #[schemars(schema_with = "choice_schema::<Region>")]
    pub region: String,
    /// Gen2 session 0–3 (S0–S3); default 2 (stocktakes).
    #[serde(default)]
    #[schemars(range(min = 0, max = 3))]
    pub session: Option<u8>,
    /// Inventoried flag targeted: `a`, `b`, or `ab` (alternate between passes, default).
    #[serde(default)]
    #[schemars(schema_with = "choice_schema::<TargetMode>")]
    pub target: Option<String>,
    /// Q, 0–15: about log2 of the expected tag population; default 4.
    #[serde(default)]
    #[schemars(range(min = 0, max = 15))]
    pub q: Option<u8>,
    /// Antenna port, 1-based (1–8); default 1.
    #[serde(default)]
    #[schemars(range(min = 1, max = 8))]
    pub antenna: Option<u8>,
    /// Read each new tag's TID; default false.
    #[serde(default)]
    pub read_tid: Option<bool>,
}

/// The terminal's screen.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenFile {
    /// Width in pixels, in the orientation the app runs (portrait on handhelds).
    #[schemars(range(min = 120, max = 4096))]
    pub width_px: u32,
    /// Height in pixels.
    #[schemars(range(min = 120, max = 4096))]
    pub height_px: u32,
    /// Diagonal in inches, when known (sizes touch targets).
    #[serde(default)]
    #[schemars(range(min = 1.5, max = 15))]
    pub diagonal_in: Option<f32>,
}

/// Hardware keys per action, by Slint key name (`F1`..`F24`, `Return`, `Escape`, ...).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysFile {
    /// The scan trigger (side keys).
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Key>")]
    pub trigger: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Key>")]
    pub receive: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Key>")]
    pub pick: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Key>")]
    pub count: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Key>")]
    pub lookup: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Key>")]
    pub rfid: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Key>")]
    pub enter: Vec<String>,
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Key>")]
    pub back: Vec<String>,
}

impl KeysFile {
    fn per_action(&self) -> [(Action, &[String]); 8] {
        [
            (Action::Trigger, &self.trigger),
            (Action::Receive, &self.receive),
            (Action::Pick, &self.pick),
            (Action::Count, &self.count),
            (Action::Lookup, &self.lookup),
            (Action::Rfid, &self.rfid),
            (Action::Enter, &self.enter),
            (Action::Back, &self.back),
        ]
    }
}

/// What the terminal does besides the sound when a verdict shows: an LED lit for a moment, the
/// vibrator. A hook that fails (a missing file, no permission) is logged once and ignored.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackFile {
    /// The LED lit for an accept: a sysfs `brightness` file (`/sys/class/leds/green/brightness`).
    #[serde(default)]
    #[schemars(pattern(r"^/"))]
    pub led_accept: Option<String>,
    /// The LED lit for a warning.
    #[serde(default)]
    #[schemars(pattern(r"^/"))]
    pub led_warn: Option<String>,
    /// The LED lit for a reject.
    #[serde(default)]
    #[schemars(pattern(r"^/"))]
    pub led_reject: Option<String>,
    /// What is written to light an LED: default `1` (a dimmable LED may want its
    /// `max_brightness`). `0` turns it off.
    #[serde(default)]
    pub led_on: Option<String>,
    /// How long an LED stays lit, in milliseconds: 20–5000, default 300.
    #[serde(default)]
    #[schemars(range(min = 20, max = 5000))]
    pub led_ms: Option<u32>,
    /// The vibrator: a file written or a program run once per verdict.
    #[serde(default)]
    pub vibrate: Option<VibrateFile>,
}

/// The vibrator: `path` (with `value`) or `command`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VibrateFile {
    /// A file that starts the vibrator when written: `/sys/class/leds/vibrator/activate` (LED
    /// `transient` trigger, its `duration` set by the BSP) or
    /// `/sys/class/timed_output/vibrator/enable` (takes milliseconds as its value).
    #[serde(default)]
    #[schemars(pattern(r"^/"))]
    pub path: Option<String>,
    /// What is written to `path`: default `1`.
    #[serde(default)]
    pub value: Option<String>,
    /// Instead of `path`: a program (absolute path) and its arguments, run without a shell.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// The verdicts that vibrate: default `["warn", "reject"]`.
    #[serde(default)]
    #[schemars(schema_with = "choices_schema::<Signal>")]
    pub on: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// The profile, checked
// ---------------------------------------------------------------------------------------------

/// A checked profile. Only [`parse`] and the loaders make one.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub matches: Match,
    pub device: Device,
}

/// What the profile describes, with the settings that kind always has.
#[derive(Debug, Clone, PartialEq)]
pub enum Device {
    Scanner(ScannerProfile),
    Rfid(RfidProfile),
    Terminal(TerminalProfile),
    Printer(PrinterProfile),
}

impl Profile {
    pub fn kind(&self) -> Kind {
        match self.device {
            Device::Scanner(_) => Kind::Scanner,
            Device::Rfid(_) => Kind::Rfid,
            Device::Terminal(_) => Kind::Terminal,
            Device::Printer(_) => Kind::Printer,
        }
    }

    /// The serial settings of a serial scanner or an RFID reader.
    pub fn serial(&self) -> Option<&SerialConfig> {
        match &self.device {
            Device::Scanner(ScannerProfile {
                transport: ScannerTransport::Serial(s),
                ..
            }) => Some(s),
            Device::Rfid(r) => Some(&r.serial),
            _ => None,
        }
    }

    pub fn scanner(&self) -> Option<&ScannerProfile> {
        match &self.device {
            Device::Scanner(s) => Some(s),
            _ => None,
        }
    }

    /// A scanner's framing.
    pub fn framing(&self) -> Option<&Framing> {
        self.scanner().map(|s| &s.framing)
    }

    pub fn rfid(&self) -> Option<&RfidProfile> {
        match &self.device {
            Device::Rfid(r) => Some(r),
            _ => None,
        }
    }

    pub fn terminal(&self) -> Option<&TerminalProfile> {
        match &self.device {
            Device::Terminal(t) => Some(t),
            _ => None,
        }
    }

    pub fn printer(&self) -> Option<&PrinterProfile> {
        match &self.device {
            Device::Printer(p) => Some(p),
            _ => None,
        }
    }
}

/// How to recognise the device; any one rule that fits is enough.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    pub usb: Vec<UsbId>,
    /// Globs on `/dev/serial/by-id/...` paths.
    pub serial_by_id: Vec<String>,
    /// Globs per DMI field; all must fit.
    pub dmi: BTreeMap<DmiField, String>,
    /// Glob on the device-tree model.
    pub devicetree_model: Option<String>,
    /// Glob on one device-tree compatible entry.
    pub devicetree_compatible: Option<String>,
}

impl Match {
    pub fn is_empty(&self) -> bool {
        self.usb.is_empty()
            && self.serial_by_id.is_empty()
            && self.dmi.is_empty()
            && self.devicetree_model.is_none()
            && self.devicetree_compatible.is_none()
    }

    /// True when a USB device with these ids fits a `usb` rule.
    pub fn fits_usb(&self, vendor: u16, product: u16) -> bool {
        self.usb.iter().any(|u| u.matches(vendor, product))
    }

    /// True when a `/dev/serial/by-id/...` path fits a `serial_by_id` rule.
    pub fn fits_serial_by_id(&self, path: &str) -> bool {
        self.serial_by_id.iter().any(|g| glob_match(g, path))
    }

    /// True when the machine fits the terminal rules: every DMI field given fits (values read by
    /// `dmi`, e.g. from `/sys/class/dmi/id/<field>`, trimmed), or the device tree fits. A
    /// profile without DMI or device-tree rules fits no machine by these rules.
    pub fn fits_machine(
        &self,
        dmi: impl Fn(DmiField) -> Option<String>,
        dt_model: Option<&str>,
        dt_compatible: &[&str],
    ) -> bool {
        let by_dmi = !self.dmi.is_empty()
            && self
                .dmi
                .iter()
                .all(|(f, g)| dmi(*f).is_some_and(|v| glob_match(g, v.trim())));
        let by_model = self
            .devicetree_model
            .as_ref()
            .is_some_and(|g| dt_model.is_some_and(|m| glob_match(g, m)));
        let by_compat = self
            .devicetree_compatible
            .as_ref()
            .is_some_and(|g| dt_compatible.iter().any(|c| glob_match(g, c)));
        by_dmi || by_model || by_compat
    }
}

/// A USB id rule: a vendor, and a product or any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsbId {
    pub vendor: u16,
    /// `None` = any product (`*`).
    pub product: Option<u16>,
}

impl UsbId {
    /// Parses `0c2e:0b61` or `0c2e:*` (hex, either case).
    pub fn parse(s: &str) -> Option<UsbId> {
        let (v, p) = s.split_once(':')?;
        let hex4 = |x: &str| {
            (x.len() == 4 && x.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u16::from_str_radix(x, 16).ok())
                .flatten()
        };
        let vendor = hex4(v)?;
        let product = if p == "*" { None } else { Some(hex4(p)?) };
        Some(UsbId { vendor, product })
    }

    pub fn matches(&self, vendor: u16, product: u16) -> bool {
        self.vendor == vendor && self.product.is_none_or(|p| p == product)
    }
}

impl fmt::Display for UsbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.product {
            Some(p) => write!(f, "{:04x}:{p:04x}", self.vendor),
            None => write!(f, "{:04x}:*", self.vendor),
        }
    }
}

/// A scanner: how to reach it and how its scans are framed.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannerProfile {
    pub transport: ScannerTransport,
    pub framing: Framing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScannerTransport {
    Serial(SerialConfig),
    Evdev(EvdevConfig),
    Hidraw(HidrawConfig),
}

/// Serial port settings as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    pub path: String,
    pub baud: u32,
    pub parity: Parity,
    /// 5–8.
    pub data_bits: u8,
    /// 1 or 2.
    pub stop_bits: u8,
    pub flow_control: FlowControl,
}

/// A keyboard-wedge scanner: the node by path, else the first keyboard node of a USB id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvdevConfig {
    pub path: Option<String>,
    /// The profile's `[match] usb` rules, used when there is no path.
    pub usb: Vec<UsbId>,
    pub layout: Layout,
    pub grab: bool,
}

/// A HID POS scanner: the node by path, else the HID POS node of a USB vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HidrawConfig {
    pub path: Option<String>,
    /// The profile's `[match] usb` rules, used when there is no path.
    pub usb: Vec<UsbId>,
    pub usage_page: u16,
}

/// How scans are framed. For `ssi` and HID POS the packets frame themselves and only
/// `protocol` (and, for HID POS, nothing else) applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framing {
    pub protocol: ScannerProtocol,
    pub prefix: Vec<u8>,
    pub suffix: Vec<u8>,
    pub end: FrameEnd,
    /// The pause that ends a scan (`Gap`, `SuffixThenGap`); for a keyboard wedge the longest
    /// pause between the keys of one scan. [`DEFAULT_GAP`] when the profile gives none.
    pub gap: Duration,
    /// AIM symbology identifiers are expected before the data.
    pub aim: bool,
}

/// An RFID reader: its serial port and its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RfidProfile {
    pub serial: SerialConfig,
    pub reader: RfidSettings,
}

/// RFID settings as plain values (the integrator maps them onto `codec::InventoryConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct RfidSettings {
    pub protocol: RfidProtocol,
    /// `Some` (default 0xFF) for protocols with an address, `None` for the others.
    pub address: Option<u8>,
    pub power_dbm: f32,
    pub region: Region,
    /// 0–3. Not sent by protocols that cannot set it (`RfidProtocol::sets_query`).
    pub session: u8,
    pub target: TargetMode,
    /// 0–15.
    pub q: u8,
    /// 1-based.
    pub antenna: u8,
    pub read_tid: bool,
}

/// A label printer: how to reach it, its language and its label stock.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterProfile {
    pub transport: PrinterTransport,
    pub language: PrinterLanguage,
    pub media: LabelMedia,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PrinterTransport {
    Serial(SerialConfig),
    /// An absolute path: a device node, a FIFO or a file.
    File(String),
}

/// The handheld itself.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalProfile {
    pub screen: Screen,
    /// Each key at most once.
    pub keys: Vec<KeyBinding>,
    /// LEDs and vibrator per verdict (none when the profile has no `[feedback]`).
    pub feedback: FeedbackHooks,
}

impl TerminalProfile {
    /// What a key does on this terminal.
    pub fn action_for(&self, key: Key) -> Option<Action> {
        self.keys.iter().find(|b| b.key == key).map(|b| b.action)
    }

    /// What the key in a Slint `KeyEvent.text` does.
    pub fn action_for_text(&self, text: &str) -> Option<Action> {
        Key::from_text(text).and_then(|k| self.action_for(k))
    }
}

/// How long an LED stays lit when the profile does not say (`led_ms`).
pub const DEFAULT_LED_TIME: Duration = Duration::from_millis(300);
/// The range `led_ms` must fall in (`feedback-time`).
pub const LED_MS: std::ops::RangeInclusive<u32> = 20..=5000;

/// A terminal's feedback hooks, checked: what `app::feedback` fires for each verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackHooks {
    /// The LED lit per verdict (a file written `led_on`, then `0` after `led_time`).
    pub led_accept: Option<String>,
    pub led_warn: Option<String>,
    pub led_reject: Option<String>,
    pub led_on: String,
    pub led_time: Duration,
    pub vibrate: Option<Vibrate>,
}

impl Default for FeedbackHooks {
    fn default() -> Self {
        FeedbackHooks {
            led_accept: None,
            led_warn: None,
            led_reject: None,
            led_on: "1".into(),
            led_time: DEFAULT_LED_TIME,
            vibrate: None,
        }
    }
}

impl FeedbackHooks {
    /// The LED lit for `signal`.
    pub fn led(&self, signal: Signal) -> Option<&str> {
        match signal {
            Signal::Accept => self.led_accept.as_deref(),
            Signal::Warn => self.led_warn.as_deref(),
            Signal::Reject => self.led_reject.as_deref(),
        }
        .filter(|p| !p.is_empty())
    }

    /// True when there is nothing to fire.
    pub fn is_empty(&self) -> bool {
        Signal::ALL.iter().all(|s| self.led(*s).is_none()) && self.vibrate.is_none()
    }
}

/// The vibrator and the verdicts it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vibrate {
    pub hook: Hook,
    /// Each verdict at most once.
    pub on: Vec<Signal>,
}

/// One thing a feedback hook does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// Write `value` to the file at `path` (not created: a sysfs attribute or a file that exists).
    Write { path: String, value: String },
    /// Run a program (absolute path) with arguments, without a shell; not waited for.
    Run { program: String, args: Vec<String> },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Screen {
    pub width_px: u32,
    pub height_px: u32,
    pub diagonal_in: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyBinding {
    pub key: Key,
    pub action: Action,
}

// ---------------------------------------------------------------------------------------------
// Errors and checks
// ---------------------------------------------------------------------------------------------

/// A problem in a profile file: `FILE[:LINE]: FIELD: PROBLEM [check]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {}: {} [{}]", .file, line_suffix(*.line), .field, .problem, .check)]
pub struct ProfileError {
    /// The file as given to the loader (`hw-profiles/x.toml` for shipped ones).
    pub file: String,
    /// 1-based line of the field, when known.
    pub line: Option<u32>,
    /// Dotted path of the field (`framing.suffix`, `match.usb[0]`); `(file)` for the whole file.
    pub field: String,
    /// The check that failed (one of [`CHECKS`]).
    pub check: &'static str,
    pub problem: String,
    /// The problem in Chinese, when it has its own words; otherwise the Chinese message is what
    /// the check ensures, with the English detail.
    pub problem_zh: Option<String>,
}

impl crate::domain::text::Bilingual for ProfileError {
    fn message_zh(&self) -> String {
        let problem = match &self.problem_zh {
            Some(zh) => zh.clone(),
            None => format!("{}（{}）", check_zh(self.check), self.problem),
        };
        format!(
            "{}{}: {}: {} [{}]",
            self.file,
            line_suffix(self.line),
            self.field,
            problem,
            self.check
        )
    }
}

fn line_suffix(line: Option<u32>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

/// A named check and what it ensures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ensures: &'static str,
}

const fn check(name: &'static str, ensures: &'static str) -> Check {
    Check { name, ensures }
}

/// Every check a profile goes through, in the order they run.
pub const CHECKS: &[Check] = &[
    check(
        "read",
        "the file is a regular file (or a link to one) of at most 1 MiB, readable and UTF-8",
    ),
    check(
        "parse",
        "the file is TOML with only known fields, each of the right type",
    ),
    check("schema-version", "`schema_version` is 1"),
    check("name-matches-file", "`name` equals the file name without `.toml`"),
    check("name-format", "`name` is 1–64 lowercase letters, digits and `-`"),
    check("description-present", "`description` is not empty"),
    check("kind-known", "`kind` is scanner, rfid, terminal or printer"),
    check(
        "sections-fit-kind",
        "each kind has only its sections: rfid needs [rfid], terminal [screen], printer [printer]",
    ),
    check(
        "transport-fits-kind",
        "scanners need a transport, rfid readers a serial one, printers a serial or file one, terminals none",
    ),
    check(
        "match-fits-kind",
        "usb/serial_by_id rules on devices, dmi/devicetree on terminals; serial_by_id only for serial",
    ),
    check("usb-id-format", "USB ids are `vvvv:pppp` or `vvvv:*` in hex"),
    check(
        "glob-format",
        "globs are non-empty with balanced `[...]`; by-id globs start with /dev/serial/by-id/",
    ),
    check(
        "path-format",
        "device paths are absolute paths under /dev (evdev: /dev/input); a printer's file path is absolute",
    ),
    check(
        "transport-target",
        "an evdev or hidraw transport has a `path` or a `[match] usb` rule",
    ),
    check("baud-standard", "the baud rate is a standard one (1200–921600)"),
    check("data-bits-range", "data bits are 5–8"),
    check("stop-bits-range", "stop bits are 1 or 2"),
    check("parity-known", "parity is none, odd or even"),
    check("flow-known", "flow control is none, hardware or software"),
    check("layout-known", "the wedge layout is us, uk, de or fr"),
    check("usage-page", "the hidraw usage page is 0x8C (HID POS)"),
    check(
        "protocol-known",
        "the scanner protocol is plain or ssi; the RFID protocol one of r2000, m100, mercury, chafon18, chafon288",
    ),
    check(
        "framing-fits-transport",
        "ssi only on serial; no prefix/suffix/gap with ssi or hidraw; a wedge ends with Enter or Tab",
    ),
    check(
        "bytes-format",
        "prefix and suffix characters are \\u0000–\\u00ff (one byte each)",
    ),
    check("end-known", "`end` is suffix, gap or suffix+gap"),
    check(
        "framing-ends",
        "a plain scan has a way to end: a suffix, a gap, or both, as `end` says",
    ),
    check("gap-range", "`gap_ms` is 5–1000"),
    check("region-known", "the region is china920, china840, fcc or etsi"),
    check("target-known", "the target is a, b or ab"),
    check("power-range", "`power_dbm` is 0–33"),
    check("session-range", "`session` is 0–3"),
    check("q-range", "`q` is 0–15"),
    check("antenna-range", "`antenna` is 1–8"),
    check(
        "rfid-fits-protocol",
        "`address` only for r2000/chafon; no session/target/q for chafon18",
    ),
    check(
        "screen-size",
        "the screen is 120–4096 px each way, the diagonal 1.5–15 inches",
    ),
    check("key-known", "keys are Slint key names from the fixed list"),
    check("keys-unique", "a key is bound to one action, once"),
    check(
        "feedback-path",
        "feedback files are absolute paths without `..`, spaces or globs",
    ),
    check(
        "feedback-value",
        "a value written is 1–32 printable ASCII characters, no spaces",
    ),
    check(
        "feedback-hook",
        "the vibrator has a `path` or a `command`, not both; a command is an absolute program and at most 16 arguments",
    ),
    check("feedback-time", "`led_ms` is 20–5000"),
    check("verdict-known", "verdicts are accept, warn or reject, each once"),
    check("language-known", "the printer language is zpl"),
    check("dpi-standard", "the printer resolution is 203, 300 or 600 dpi"),
    check("label-size", "the label is 50–220 mm wide and 25–1000 mm long"),
    check(
        "font-format",
        "`font` names a font on the printer: drive, colon, name, .TTF/.TTE/.OTF/.FNT (E:ANMDS.TTF)",
    ),
];

/// What each check ensures, in Chinese (the same order as [`CHECKS`]; a test keeps them paired).
const CHECKS_ZH: &[(&str, &str)] = &[
    (
        "read",
        "文件须为普通文件（或指向普通文件的链接），不超过 1 MiB，可读且为 UTF-8 编码",
    ),
    ("parse", "文件须为 TOML 格式，只含已知字段，且每个字段类型正确"),
    ("schema-version", "`schema_version` 须为 1"),
    ("name-matches-file", "`name` 须与去掉 `.toml` 的文件名相同"),
    ("name-format", "`name` 须为 1–64 个小写字母、数字或 `-`"),
    ("description-present", "`description` 不能为空"),
    ("kind-known", "`kind` 须为 scanner、rfid、terminal 或 printer"),
    (
        "sections-fit-kind",
        "每种设备只能有自己的部分：rfid 须有 [rfid]，terminal 须有 [screen]，printer 须有 [printer]",
    ),
    (
        "transport-fits-kind",
        "扫描器须有传输方式，RFID 读写器须用串口，打印机须用串口或文件，终端不能有传输方式",
    ),
    (
        "match-fits-kind",
        "设备用 usb/serial_by_id 规则，终端用 dmi/devicetree 规则；serial_by_id 只用于串口",
    ),
    ("usb-id-format", "USB id 须为十六进制的 `vvvv:pppp` 或 `vvvv:*`"),
    (
        "glob-format",
        "通配符不能为空且 `[...]` 须成对；by-id 通配符须以 /dev/serial/by-id/ 开头",
    ),
    (
        "path-format",
        "设备路径须为 /dev 下的绝对路径（evdev：/dev/input）；打印机的文件路径须为绝对路径",
    ),
    (
        "transport-target",
        "evdev 或 hidraw 传输须有 `path` 或 `[match] usb` 规则",
    ),
    ("baud-standard", "波特率须为标准值（1200–921600）"),
    ("data-bits-range", "数据位须为 5–8"),
    ("stop-bits-range", "停止位须为 1 或 2"),
    ("parity-known", "校验须为 none、odd 或 even"),
    ("flow-known", "流控须为 none、hardware 或 software"),
    ("layout-known", "键盘布局须为 us、uk、de 或 fr"),
    ("usage-page", "hidraw 的 usage page 须为 0x8C（HID POS）"),
    (
        "protocol-known",
        "扫描器协议须为 plain 或 ssi；RFID 协议须为 r2000、m100、mercury、chafon18、chafon288 之一",
    ),
    (
        "framing-fits-transport",
        "ssi 只用于串口；ssi 或 hidraw 不设前缀/后缀/间隔；键盘楔须以 Enter 或 Tab 结束",
    ),
    (
        "bytes-format",
        "前缀和后缀的字符须在 \\u0000–\\u00ff 之间（每个字符一个字节）",
    ),
    ("end-known", "`end` 须为 suffix、gap 或 suffix+gap"),
    ("framing-ends", "普通扫描须有结束方式：后缀、间隔或两者，与 `end` 一致"),
    ("gap-range", "`gap_ms` 须为 5–1000"),
    ("region-known", "频段须为 china920、china840、fcc 或 etsi"),
    ("target-known", "目标须为 a、b 或 ab"),
    ("power-range", "`power_dbm` 须为 0–33"),
    ("session-range", "`session` 须为 0–3"),
    ("q-range", "`q` 须为 0–15"),
    ("antenna-range", "`antenna` 须为 1–8"),
    (
        "rfid-fits-protocol",
        "只有 r2000/chafon 可设 `address`；chafon18 不设 session/target/q",
    ),
    ("screen-size", "屏幕每边须为 120–4096 像素，对角线 1.5–15 英寸"),
    ("key-known", "按键须为固定列表中的 Slint 键名"),
    ("keys-unique", "一个按键只能绑定一个动作，且只能出现一次"),
    ("feedback-path", "反馈文件须为绝对路径，不含 `..`、空格或通配符"),
    ("feedback-value", "写入的值须为 1–32 个可打印 ASCII 字符，不含空格"),
    (
        "feedback-hook",
        "振动器须有 `path` 或 `command` 之一，不能两者都有；命令须为绝对路径的程序，参数不超过 16 个",
    ),
    ("feedback-time", "`led_ms` 须为 20–5000"),
    ("verdict-known", "结果须为 accept、warn 或 reject，且每个只能出现一次"),
    ("language-known", "打印机语言须为 zpl"),
    ("dpi-standard", "打印机分辨率须为 203、300 或 600 dpi"),
    ("label-size", "标签宽须为 50–220 毫米，长须为 25–1000 毫米"),
    (
        "font-format",
        "`font` 须为打印机上的字体：盘符、冒号、名称、.TTF/.TTE/.OTF/.FNT（E:ANMDS.TTF）",
    ),
];

/// What the check named `name` ensures, in Chinese.
pub fn check_zh(name: &str) -> &'static str {
    CHECKS_ZH
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("（未知检查）", |(_, zh)| zh)
}

/// Collects the failures of one file's checks.
struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    doc: &'a DeTable<'a>,
    errors: Vec<ProfileError>,
}

impl Checker<'_> {
    fn fail(&mut self, check: &'static str, field: &str, problem: impl Into<String>) {
        debug_assert!(
            CHECKS.iter().any(|c| c.name == check),
            "check `{check}` is not in CHECKS"
        );
        let line = field_span(self.doc, field).map(|s| line_at(self.text, s.start));
        self.errors.push(ProfileError {
            file: self.file.into(),
            line,
            field: field.into(),
            check,
            problem: problem.into(),
            problem_zh: None,
        });
    }

    /// Fails `check` unless `ok`; returns `ok`.
    fn ensure(&mut self, ok: bool, check: &'static str, field: &str, problem: impl FnOnce() -> String) -> bool {
        if !ok {
            self.fail(check, field, problem());
        }
        ok
    }

    fn choice<T: Choice>(&mut self, check: &'static str, field: &str, value: &str) -> Option<T> {
        let v = T::lookup(value);
        if v.is_none() {
            self.fail(
                check,
                field,
                format!("unknown {} `{value}`: use one of {}", T::WHAT, T::names().join(", ")),
            );
        }
        v
    }

    fn choice_or<T: Choice>(
        &mut self,
        check: &'static str,
        field: &str,
        value: &Option<String>,
        default: T,
    ) -> Option<T> {
        match value {
            Some(v) => self.choice(check, field, v),
            None => Some(default),
        }
    }

    fn range<T: PartialOrd + fmt::Display + Copy>(
        &mut self,
        check: &'static str,
        field: &str,
        value: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Option<T> {
        let ok = range.contains(&value);
        self.ensure(ok, check, field, || {
            format!("{value} is out of range {}–{}", range.start(), range.end())
        })
        .then_some(value)
    }

    fn glob(&mut self, field: &str, glob: &str) -> bool {
        let problem = glob_problem(glob);
        self.ensure(problem.is_none(), "glob-format", field, || {
            format!("`{glob}`: {}", problem.unwrap_or_default())
        })
    }

    fn dev_path(&mut self, field: &str, path: &str, under: &str) -> bool {
        let ok = path.starts_with(under)
            && path.len() > under.len()
            && !path.contains("/../")
            && !path.contains(|c: char| c.is_whitespace() || "*?[]".contains(c));
        self.ensure(ok, "path-format", field, || {
            format!("`{path}` is not a device path under {under}")
        })
    }

    /// A file a feedback hook writes (`feedback-path`).
    fn hook_path(&mut self, field: &str, path: &str) -> bool {
        self.ensure(path_ok(path), "feedback-path", field, || {
            format!("`{path}` is not an absolute file path (no `..`, spaces or globs)")
        })
    }

    /// A value a feedback hook writes (`feedback-value`).
    fn hook_value(&mut self, field: &str, value: &str) -> bool {
        let ok = (1..=32).contains(&value.chars().count()) && value.chars().all(|c| c.is_ascii_graphic());
        self.ensure(ok, "feedback-value", field, || {
            format!("{value:?} is not 1–32 printable ASCII characters without spaces")
        })
    }

    fn bytes(&mut self, field: &str, s: &Option<String>) -> Option<Vec<u8>> {
        let s = s.as_deref().unwrap_or("");
        let bytes: Option<Vec<u8>> = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
        self.ensure(bytes.is_some(), "bytes-format", field, || {
            format!("{s:?} has a character above \\u00ff; write each byte as one character \\u0000–\\u00ff")
        });
        bytes
    }
}

/// True when `name` is a valid profile name.
fn name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Parses and checks one profile. `file` names it in errors; its stem must equal `name`.
pub fn parse(file: &str, text: &str) -> Result<Profile, Vec<ProfileError>> {
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => return Err(vec![toml_error(file, text, None, &e)]),
    };
    let doc = doc.get_ref();
    // A file for a newer format is told so, not drowned in unknown-field errors.
    let version = entry(doc, "schema_version")
        .and_then(|v| v.get_ref().as_integer())
        .and_then(|v| i64::from_str_radix(v.as_str(), v.radix()).ok());
    if let Some(v) = version
        && v != i64::from(SCHEMA_VERSION)
    {
        let mut ck = Checker {
            file,
            text,
            doc,
            errors: Vec::new(),
        };
        let problem = format!("schema version {v} is not supported: this build reads version {SCHEMA_VERSION}");
        ck.fail("schema-version", "schema_version", problem);
        return Err(ck.errors);
    }
    let (raw, mut errors) = deserialize(file, text, doc);
    let Some(raw) = raw else {
        debug_assert!(!errors.is_empty(), "a profile was refused without an error");
        return Err(errors);
    };
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or(file);
    let mut ck = Checker {
        file,
        text,
        doc,
        errors: Vec::new(),
    };
    let profile = build(&mut ck, &raw, stem);
    errors.extend(ck.errors);
    match profile {
        Some(p) if errors.is_empty() => Ok(p),
        _ => {
            debug_assert!(!errors.is_empty(), "a profile was refused without an error");
            Err(errors)
        }
    }
}

/// The most `parse` errors reported for one file.
const MAX_PARSE_ERRORS: usize = 16;

/// Deserialises the file, reporting every unknown field and every value of the wrong type, not
/// only the first: serde stops at the first, so the file is read again with that key-value
/// blanked out (spaces: every offset and line stays), until it reads or no progress is possible.
/// The struct comes back only when the file, with those fields left out, reads; the named checks
/// then run on it too.
fn deserialize(file: &str, text: &str, doc: &DeTable<'_>) -> (Option<ProfileFile>, Vec<ProfileError>) {
    let mut errors: Vec<ProfileError> = Vec::new();
    let mut current = text.to_owned();
    let mut blanked: Vec<String> = Vec::new();
    loop {
        let e = match toml::from_str::<ProfileFile>(&current) {
            Ok(raw) => return (Some(raw), errors),
            Err(e) => e,
        };
        let pe = toml_error(file, text, Some(doc), &e);
        let message = e.message();
        // A field left out to read on is then missing: that is not news.
        if message.starts_with("missing field") && blanked.contains(&pe.field) {
            return (None, errors);
        }
        if errors.contains(&pe) {
            return (None, errors);
        }
        errors.push(pe);
        let fixable = ["unknown field", "invalid type", "invalid value", "invalid length"]
            .iter()
            .any(|p| message.starts_with(p));
        if !fixable || errors.len() >= MAX_PARSE_ERRORS {
            return (None, errors);
        }
        let range = match (e.span(), DeTable::parse(&current)) {
            (Some(span), Ok(now)) => entry_range(now.get_ref(), &current, &span),
            _ => None,
        };
        let Some(range) = range else {
            return (None, errors);
        };
        let mut bytes = std::mem::take(&mut current).into_bytes();
        for b in &mut bytes[range] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
        // Only whole UTF-8 characters were replaced (the range runs from a line start to the end
        // of a value), but a failure here must not panic.
        let Ok(next) = String::from_utf8(bytes) else {
            return (None, errors);
        };
        if DeTable::parse(&next).is_err() {
            return (None, errors);
        }
        current = next;
        blanked.push(errors.last().map(|e| e.field.clone()).unwrap_or_default());
    }
}

/// The key-value written at `span` (its key or its value): from the start of the key's line to
/// the end of its value. `None` unless the span is on a key-value (on a table header, say).
fn entry_range(doc: &DeTable<'_>, text: &str, span: &Range<usize>) -> Option<Range<usize>> {
    fn walk(t: &DeTable<'_>, at: usize) -> Option<(usize, usize)> {
        let inside = |s: &Range<usize>| s.start <= at && at < s.end;
        for (k, v) in t.iter() {
            match v.get_ref() {
                DeValue::Table(inner) => {
                    if let Some(r) = walk(inner, at) {
                        return Some(r);
                    }
                }
                _ if inside(&k.span()) || inside(&v.span()) => return Some((k.span().start, v.span().end)),
                _ => {}
            }
        }
        None
    }
    let (start, end) = walk(doc, span.start)?;
    if end <= start || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return None;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    Some(line_start..end)
}

fn build(ck: &mut Checker<'_>, f: &ProfileFile, stem: &str) -> Option<Profile> {
    ck.ensure(
        f.schema_version == SCHEMA_VERSION,
        "schema-version",
        "schema_version",
        || {
            format!(
                "schema version {} is not supported: this build reads version {SCHEMA_VERSION}",
                f.schema_version
            )
        },
    );
    ck.ensure(f.name == stem, "name-matches-file", "name", || {
        format!("name `{}` does not match the file name: it must be `{stem}`", f.name)
    });
    ck.ensure(name_ok(&f.name), "name-format", "name", || {
        format!("`{}` is not 1–64 lowercase letters, digits and `-`", f.name)
    });
    ck.ensure(
        !f.description.trim().is_empty(),
        "description-present",
        "description",
        || "the description is empty: say which devices this is for and how they must be set up".into(),
    );
    let kind = ck.choice::<Kind>("kind-known", "kind", &f.kind);
    let matches = build_match(ck, &f.matches, kind, f.transport.as_ref());
    let device = match kind? {
        Kind::Scanner => build_scanner(ck, f, matches.as_ref()).map(Device::Scanner),
        Kind::Rfid => build_rfid(ck, f).map(Device::Rfid),
        Kind::Terminal => build_terminal(ck, f).map(Device::Terminal),
        Kind::Printer => build_printer(ck, f).map(Device::Printer),
    };
    Some(Profile {
        name: f.name.clone(),
        description: f.description.clone(),
        matches: matches?,
        device: device?,
    })
}

fn build_match(
    ck: &mut Checker<'_>,
    m: &MatchFile,
    kind: Option<Kind>,
    transport: Option<&TransportFile>,
) -> Option<Match> {
    let mut ok = true;
    let mut usb = Vec::new();
    for (i, s) in m.usb.iter().enumerate() {
        let id = UsbId::parse(s);
        ok &= ck.ensure(id.is_some(), "usb-id-format", &format!("match.usb[{i}]"), || {
            format!("`{s}` is not a USB id: write `vvvv:pppp` or `vvvv:*` in hex (`0c2e:*`)")
        });
        usb.extend(id);
    }
    for (i, g) in m.serial_by_id.iter().enumerate() {
        let field = format!("match.serial_by_id[{i}]");
        ok &= ck.glob(&field, g);
        ok &= ck.ensure(
            g.strip_prefix("/dev/serial/by-id/")
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/')),
            "glob-format",
            &field,
            || format!("`{g}` must be a glob on a /dev/serial/by-id/ link (`/dev/serial/by-id/usb-*-if00`)"),
        );
    }
    let mut dmi = BTreeMap::new();
    if let Some(d) = &m.dmi {
        let fields = [
            (DmiField::SysVendor, &d.sys_vendor),
            (DmiField::ProductName, &d.product_name),
            (DmiField::ProductVersion, &d.product_version),
            (DmiField::ProductFamily, &d.product_family),
            (DmiField::BoardVendor, &d.board_vendor),
            (DmiField::BoardName, &d.board_name),
        ];
        for (field, value) in fields {
            if let Some(v) = value {
                ok &= ck.glob(&format!("match.dmi.{field}"), v);
                dmi.insert(field, v.clone());
            }
        }
        ok &= ck.ensure(!dmi.is_empty(), "glob-format", "match.dmi", || {
            "[match.dmi] gives no field".into()
        });
    }
    let (mut dt_model, mut dt_compatible) = (None, None);
    if let Some(dt) = &m.devicetree {
        if let Some(g) = &dt.model {
            ok &= ck.glob("match.devicetree.model", g);
            dt_model = Some(g.clone());
        }
        if let Some(g) = &dt.compatible {
            ok &= ck.glob("match.devicetree.compatible", g);
            dt_compatible = Some(g.clone());
        }
        ok &= ck.ensure(
            dt_model.is_some() || dt_compatible.is_some(),
            "glob-format",
            "match.devicetree",
            || "[match.devicetree] gives neither model nor compatible".into(),
        );
    }
    match kind {
        Some(Kind::Terminal) => {
            for (field, used) in [
                ("match.usb", !m.usb.is_empty()),
                ("match.serial_by_id", !m.serial_by_id.is_empty()),
            ] {
                ok &= ck.ensure(!used, "match-fits-kind", field, || {
                    "a terminal is recognised by [match.dmi] or [match.devicetree], not by USB or serial ids".into()
                });
            }
        }
        Some(_) => {
            for (field, used) in [
                ("match.dmi", m.dmi.is_some()),
                ("match.devicetree", m.devicetree.is_some()),
            ] {
                ok &= ck.ensure(!used, "match-fits-kind", field, || {
                    "DMI and device-tree rules recognise terminals; a device is matched by usb or serial_by_id".into()
                });
            }
            let serial = matches!(transport, Some(TransportFile::Serial(_)) | None);
            ok &= ck.ensure(
                serial || m.serial_by_id.is_empty(),
                "match-fits-kind",
                "match.serial_by_id",
                || "serial_by_id rules only fit a serial transport".into(),
            );
        }
        None => {}
    }
    ok.then_some(Match {
        usb,
        serial_by_id: m.serial_by_id.clone(),
        dmi,
        devicetree_model: dt_model,
        devicetree_compatible: dt_compatible,
    })
}

/// Fails `sections-fit-kind` for each section present that this kind does not have.
fn reject_sections(ck: &mut Checker<'_>, f: &ProfileFile, kind: Kind, sections: &[&str]) -> bool {
    let mut ok = true;
    for &s in sections {
        let present = match s {
            "framing" => f.framing.is_some(),
            "rfid" => f.rfid.is_some(),
            "screen" => f.screen.is_some(),
            "keys" => f.keys.is_some(),
            "feedback" => f.feedback.is_some(),
            "printer" => f.printer.is_some(),
            _ => unreachable!("unknown section {s}"),
        };
        ok &= ck.ensure(!present, "sections-fit-kind", s, || {
            format!("a {kind} profile has no [{s}] section")
        });
    }
    ok
}

fn build_serial(ck: &mut Checker<'_>, s: &SerialFile) -> Option<SerialConfig> {
    let p = "transport.serial";
    let path_ok = ck.dev_path(&format!("{p}.path"), &s.path, "/dev/");
    let baud = s.baud;
    let baud_ok = ck.ensure(
        BAUD_RATES.contains(&baud),
        "baud-standard",
        &format!("{p}.baud"),
        || {
            let list: Vec<String> = BAUD_RATES.iter().map(|b| b.to_string()).collect();
            format!("{baud} is not a standard baud rate: use one of {}", list.join(", "))
        },
    );
    let parity = ck.choice_or("parity-known", &format!("{p}.parity"), &s.parity, Parity::None);
    let data_bits = ck.range(
        "data-bits-range",
        &format!("{p}.data_bits"),
        s.data_bits.unwrap_or(8),
        5..=8,
    );
    let stop_bits = ck.range(
        "stop-bits-range",
        &format!("{p}.stop_bits"),
        s.stop_bits.unwrap_or(1),
        1..=2,
    );
    let flow_control = ck.choice_or(
        "flow-known",
        &format!("{p}.flow_control"),
        &s.flow_control,
        FlowControl::None,
    );
    (path_ok && baud_ok).then_some(())?;
    Some(SerialConfig {
        path: s.path.clone(),
        baud,
        parity: parity?,
        data_bits: data_bits?,
        stop_bits: stop_bits?,
        flow_control: flow_control?,
    })
}

fn build_scanner(ck: &mut Checker<'_>, f: &ProfileFile, matches: Option<&Match>) -> Option<ScannerProfile> {
    let sections_ok = reject_sections(ck, f, Kind::Scanner, &["rfid", "screen", "keys", "feedback", "printer"]);
    let usb: Vec<UsbId> = matches.map(|m| m.usb.clone()).unwrap_or_default();
    let has_usb = !f.matches.usb.is_empty();
    let transport = match &f.transport {
        None => {
            ck.fail(
                "transport-fits-kind",
                "transport",
                "a scanner needs [transport.serial], [transport.evdev] or [transport.hidraw]",
            );
            None
        }
        Some(TransportFile::Serial(s)) => build_serial(ck, s).map(ScannerTransport::Serial),
        Some(TransportFile::Evdev(e)) => {
            let p = "transport.evdev";
            let path_ok = e
                .path
                .as_ref()
                .is_none_or(|path| ck.dev_path(&format!("{p}.path"), path, "/dev/input/"));
            let target_ok = ck.ensure(e.path.is_some() || has_usb, "transport-target", p, || {
                "give the input node as `path`, or a [match] usb rule to find it by".into()
            });
            let layout = ck.choice_or("layout-known", &format!("{p}.layout"), &e.layout, Layout::Us);
            // No early return: the framing is checked too.
            match (path_ok && target_ok, layout) {
                (true, Some(layout)) => Some(ScannerTransport::Evdev(EvdevConfig {
                    path: e.path.clone(),
                    usb,
                    layout,
                    grab: e.grab.unwrap_or(true),
                })),
                _ => None,
            }
        }
        Some(TransportFile::Hidraw(h)) => {
            let p = "transport.hidraw";
            let path_ok = h
                .path
                .as_ref()
                .is_none_or(|path| ck.dev_path(&format!("{p}.path"), path, "/dev/"));
            let target_ok = ck.ensure(h.path.is_some() || has_usb, "transport-target", p, || {
                "give the hidraw node as `path`, or a [match] usb rule to find it by".into()
            });
            let page = h.usage_page.unwrap_or(HID_POS_USAGE_PAGE);
            let page_ok = ck.ensure(
                page == HID_POS_USAGE_PAGE,
                "usage-page",
                &format!("{p}.usage_page"),
                || format!("usage page {page:#04x} is not supported: only 0x8C (HID POS) is"),
            );
            (path_ok && target_ok && page_ok).then(|| {
                ScannerTransport::Hidraw(HidrawConfig {
                    path: h.path.clone(),
                    usb,
                    usage_page: page,
                })
            })
        }
        Some(TransportFile::File(_)) => {
            ck.fail(
                "transport-fits-kind",
                "transport.file",
                "a scanner is reached over [transport.serial], [transport.evdev] or [transport.hidraw], not file",
            );
            None
        }
    };
    let framing = build_framing(ck, f.framing.as_ref(), f.transport.as_ref());
    sections_ok.then_some(())?;
    Some(ScannerProfile {
        transport: transport?,
        framing: framing?,
    })
}

fn build_framing(
    ck: &mut Checker<'_>,
    framing: Option<&FramingFile>,
    transport: Option<&TransportFile>,
) -> Option<Framing> {
    let empty = FramingFile::default();
    let fr = framing.unwrap_or(&empty);
    let protocol = ck.choice_or(
        "protocol-known",
        "framing.protocol",
        &fr.protocol,
        ScannerProtocol::Plain,
    );
    let gap_ms = match fr.gap_ms {
        Some(ms) => ck.range("gap-range", "framing.gap_ms", ms, GAP_MS).map(Some),
        None => Some(None),
    };
    let prefix = ck.bytes("framing.prefix", &fr.prefix);
    let suffix = ck.bytes("framing.suffix", &fr.suffix);
    let end = match &fr.end {
        Some(e) => ck.choice::<FrameEnd>("end-known", "framing.end", e).map(Some),
        None => Some(None),
    };
    // A field that failed its own check is read as given (or as its default) so that the
    // checks that follow still run: every problem of the file is reported at once.
    let fields_ok = protocol.is_some() && gap_ms.is_some() && prefix.is_some() && suffix.is_some() && end.is_some();
    let end_known = end.is_some();
    let protocol = protocol.unwrap_or(ScannerProtocol::Plain);
    let gap_ms = gap_ms.unwrap_or(fr.gap_ms);
    let prefix = prefix.unwrap_or_default();
    let suffix = suffix.unwrap_or_else(|| fr.suffix.as_deref().unwrap_or("").bytes().collect());
    let end = end.flatten();
    let gap = gap_ms.map_or(DEFAULT_GAP, |ms| Duration::from_millis(u64::from(ms)));
    let aim = fr.aim.unwrap_or(true);

    // Packets that frame themselves: nothing else to say, and nothing may be said.
    let self_framed = match (transport, protocol) {
        (Some(TransportFile::Hidraw(_)), _) => Some("HID POS reports carry their own length and AIM id"),
        (_, ScannerProtocol::Ssi) => Some("SSI packets carry their own length and symbology"),
        _ => None,
    };
    if let Some(why) = self_framed {
        let mut ok = true;
        let given = [
            ("framing.prefix", fr.prefix.is_some()),
            ("framing.suffix", fr.suffix.is_some()),
            ("framing.end", fr.end.is_some()),
            ("framing.gap_ms", fr.gap_ms.is_some()),
            ("framing.aim", fr.aim.is_some()),
        ];
        for (field, is_given) in given {
            ok &= ck.ensure(!is_given, "framing-fits-transport", field, || {
                format!("not used: {why}")
            });
        }
        if protocol == ScannerProtocol::Ssi {
            ok &= ck.ensure(
                matches!(transport, Some(TransportFile::Serial(_))),
                "framing-fits-transport",
                "framing.protocol",
                || "ssi runs over a serial port (RS-232 or USB CDC-ACM)".into(),
            );
        }
        return (ok && fields_ok).then_some(Framing {
            protocol,
            prefix,
            suffix,
            end: FrameEnd::Suffix,
            gap,
            aim: true,
        });
    }
    if matches!(transport, Some(TransportFile::Evdev(_))) {
        let ok = ck.ensure(
            ["", "\r", "\n", "\t"].contains(&fr.suffix.as_deref().unwrap_or("")),
            "framing-fits-transport",
            "framing.suffix",
            || {
                "a keyboard wedge ends a scan with a key: the suffix is \"\\r\" (Enter), \"\\n\" or \"\\t\" (Tab)"
                    .into()
            },
        );
        if !ok {
            return None;
        }
    }
    if !end_known {
        // `end-known` said it; whether the scan can end depends on what was meant.
        return None;
    }
    let has_suffix = !suffix.is_empty();
    let has_gap = gap_ms.is_some();
    let field = if fr.end.is_some() { "framing.end" } else { "framing" };
    let end = match end {
        Some(FrameEnd::Suffix) if !has_suffix => None,
        Some(FrameEnd::Gap) if !has_gap => None,
        Some(FrameEnd::SuffixThenGap) if !(has_suffix && has_gap) => None,
        Some(e) => Some(e),
        None if has_suffix && has_gap => Some(FrameEnd::SuffixThenGap),
        None if has_suffix => Some(FrameEnd::Suffix),
        None if has_gap => Some(FrameEnd::Gap),
        None => None,
    };
    let Some(end) = end else {
        ck.fail(
            "framing-ends",
            field,
            match fr.end.as_deref() {
                Some("suffix") => "end = \"suffix\" needs a non-empty `suffix`",
                Some("gap") => "end = \"gap\" needs `gap_ms`",
                Some(_) => "end = \"suffix+gap\" needs both a non-empty `suffix` and `gap_ms`",
                None => "a scan has no way to end: give a `suffix` (\"\\r\"), a `gap_ms` (50), or both",
            },
        );
        return None;
    };
    fields_ok.then_some(Framing {
        protocol,
        prefix,
        suffix,
        end,
        gap,
        aim,
    })
}

fn build_rfid(ck: &mut Checker<'_>, f: &ProfileFile) -> Option<RfidProfile> {
    let sections_ok = reject_sections(ck, f, Kind::Rfid, &["framing", "screen", "keys", "feedback", "printer"]);
    let serial = match &f.transport {
        Some(TransportFile::Serial(s)) => build_serial(ck, s),
        Some(other) => {
            let which = other.name();
            ck.fail(
                "transport-fits-kind",
                &format!("transport.{which}"),
                format!("an RFID reader is reached over [transport.serial], not {which}"),
            );
            None
        }
        None => {
            ck.fail(
                "transport-fits-kind",
                "transport",
                "an RFID reader needs [transport.serial]",
            );
            None
        }
    };
    let Some(r) = &f.rfid else {
        ck.fail(
            "sections-fit-kind",
            "rfid",
            "an rfid profile needs an [rfid] section (protocol, region ...)",
        );
        return None;
    };
    let protocol = ck.choice::<RfidProtocol>("protocol-known", "rfid.protocol", &r.protocol);
    let region = ck.choice::<Region>("region-known", "rfid.region", &r.region);
    let target = ck.choice_or("target-known", "rfid.target", &r.target, TargetMode::Alternate);
    let power = r.power_dbm.unwrap_or(26.0);
    let power_ok = ck.ensure(POWER_DBM.contains(&power), "power-range", "rfid.power_dbm", || {
        format!(
            "{power} dBm is out of range {}–{} dBm",
            POWER_DBM.start(),
            POWER_DBM.end()
        )
    });
    let session = ck.range("session-range", "rfid.session", r.session.unwrap_or(2), 0..=3);
    let q = ck.range("q-range", "rfid.q", r.q.unwrap_or(4), 0..=15);
    let antenna = ck.range("antenna-range", "rfid.antenna", r.antenna.unwrap_or(1), 1..=8);
    let mut fits = true;
    if let Some(p) = protocol {
        fits &= ck.ensure(
            p.has_address() || r.address.is_none(),
            "rfid-fits-protocol",
            "rfid.address",
            || format!("{p} frames carry no reader address"),
        );
        if !p.sets_query() {
            for (field, given) in [
                ("rfid.session", r.session.is_some()),
                ("rfid.target", r.target.is_some()),
                ("rfid.q", r.q.is_some()),
            ] {
                fits &= ck.ensure(!given, "rfid-fits-protocol", field, || {
                    format!("{p}'s inventory command takes no session, target or Q")
                });
            }
        }
    }
    let protocol = protocol?;
    (sections_ok && power_ok && fits).then_some(())?;
    let reader = RfidSettings {
        protocol,
        address: protocol.has_address().then(|| r.address.unwrap_or(0xFF)),
        power_dbm: power,
        region: region?,
        session: session?,
        target: target?,
        q: q?,
        antenna: antenna?,
        read_tid: r.read_tid.unwrap_or(false),
    };
    Some(RfidProfile {
        serial: serial?,
        reader,
    })
}

fn build_printer(ck: &mut Checker<'_>, f: &ProfileFile) -> Option<PrinterProfile> {
    let sections_ok = reject_sections(ck, f, Kind::Printer, &["framing", "rfid", "screen", "keys", "feedback"]);
    let transport = match &f.transport {
        Some(TransportFile::Serial(s)) => build_serial(ck, s).map(PrinterTransport::Serial),
        Some(TransportFile::File(file)) => {
            let path = &file.path;
            let ok = path.starts_with('/')
                && path.len() > 1
                && !path.ends_with('/')
                && !path.split('/').any(|part| part == "..")
                && !path.contains(|c: char| c.is_control() || "*?[]".contains(c));
            ck.ensure(ok, "path-format", "transport.file.path", || {
                format!("`{path}` is not an absolute path to a file or device node (`/dev/usb/lp0`)")
            })
            .then(|| PrinterTransport::File(path.clone()))
        }
        Some(other) => {
            let which = other.name();
            ck.fail(
                "transport-fits-kind",
                &format!("transport.{which}"),
                format!("a label printer is reached over [transport.serial] or [transport.file], not {which}"),
            );
            None
        }
        None => {
            ck.fail(
                "transport-fits-kind",
                "transport",
                "a label printer needs [transport.serial] or [transport.file]",
            );
            None
        }
    };
    let Some(p) = &f.printer else {
        ck.fail(
            "sections-fit-kind",
            "printer",
            "a printer profile needs a [printer] section (language, dpi, label_width_mm, label_height_mm)",
        );
        return None;
    };
    let language = ck.choice::<PrinterLanguage>("language-known", "printer.language", &p.language);
    let dpi = Dpi::from_dpi(p.dpi);
    ck.ensure(dpi.is_some(), "dpi-standard", "printer.dpi", || {
        format!("{} dpi is not a label printer resolution: use 203, 300 or 600", p.dpi)
    });
    let width = ck.range(
        "label-size",
        "printer.label_width_mm",
        p.label_width_mm,
        LabelMedia::WIDTH_MM,
    );
    let height = ck.range(
        "label-size",
        "printer.label_height_mm",
        p.label_height_mm,
        LabelMedia::HEIGHT_MM,
    );
    let font_ok = p.font.as_deref().is_none_or(|font| {
        ck.ensure(printer_font_ok(font), "font-format", "printer.font", || {
            format!("`{font}` is not a printer font name: write drive, colon and file name, e.g. `E:ANMDS.TTF`")
        })
    });
    (sections_ok && font_ok).then_some(())?;
    Some(PrinterProfile {
        transport: transport?,
        language: language?,
        media: LabelMedia {
            dpi: dpi?,
            width_mm: width?,
            height_mm: height?,
            font: p.font.clone(),
        },
    })
}

/// A font name as ZPL's `^A@` takes it: `E:ANMDS.TTF` (drive letter, colon, 1–16 letters,
/// digits, `_` or `-`, then .TTF, .TTE, .OTF or .FNT in either case).
fn printer_font_ok(font: &str) -> bool {
    let b = font.as_bytes();
    let Some((name, ext)) = font.get(2..).and_then(|rest| rest.rsplit_once('.')) else {
        return false;
    };
    b.len() > 2
        && b[0].is_ascii_alphabetic()
        && b[1] == b':'
        && (1..=16).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        && ["TTF", "TTE", "OTF", "FNT"].iter().any(|e| e.eq_ignore_ascii_case(ext))
}

fn build_terminal(ck: &mut Checker<'_>, f: &ProfileFile) -> Option<TerminalProfile> {
    let sections_ok = reject_sections(ck, f, Kind::Terminal, &["framing", "rfid", "printer"]);
    let transport_ok = ck.ensure(f.transport.is_none(), "transport-fits-kind", "transport", || {
        "a terminal profile describes the handheld itself and has no [transport]".into()
    });
    let screen = match &f.screen {
        None => {
            ck.fail(
                "sections-fit-kind",
                "screen",
                "a terminal profile needs a [screen] section (width_px, height_px)",
            );
            None
        }
        Some(s) => {
            let w = ck.range("screen-size", "screen.width_px", s.width_px, 120..=4096);
            let h = ck.range("screen-size", "screen.height_px", s.height_px, 120..=4096);
            let d_ok = s.diagonal_in.is_none_or(|d| {
                ck.ensure((1.5..=15.0).contains(&d), "screen-size", "screen.diagonal_in", || {
                    format!("{d} inches is out of range 1.5–15")
                })
            });
            match (w, h, d_ok) {
                (Some(width_px), Some(height_px), true) => Some(Screen {
                    width_px,
                    height_px,
                    diagonal_in: s.diagonal_in,
                }),
                _ => None,
            }
        }
    };
    let mut keys = Vec::new();
    let mut keys_ok = true;
    let mut seen: BTreeMap<Key, (Action, String)> = BTreeMap::new();
    let empty = KeysFile::default();
    for (action, names) in f.keys.as_ref().unwrap_or(&empty).per_action() {
        for (i, name) in names.iter().enumerate() {
            let field = format!("keys.{action}[{i}]");
            let Some(key) = ck.choice::<Key>("key-known", &field, name) else {
                keys_ok = false;
                continue;
            };
            if let Some((first, at)) = seen.get(&key) {
                let problem = if *first == action {
                    format!("{key} is listed twice for {action} (first at {at})")
                } else {
                    format!("{key} is already bound to {first} (at {at}): a key does one thing")
                };
                ck.fail("keys-unique", &field, problem);
                keys_ok = false;
                continue;
            }
            seen.insert(key, (action, field));
            keys.push(KeyBinding { key, action });
        }
    }
    let feedback = match &f.feedback {
        Some(fb) => build_feedback(ck, fb),
        None => Some(FeedbackHooks::default()),
    };
    (sections_ok && transport_ok && keys_ok).then_some(())?;
    Some(TerminalProfile {
        screen: screen?,
        keys,
        feedback: feedback?,
    })
}

/// The most arguments a feedback command takes (`feedback-hook`).
const MAX_HOOK_ARGS: usize = 16;

fn build_feedback(ck: &mut Checker<'_>, f: &FeedbackFile) -> Option<FeedbackHooks> {
    let mut ok = true;
    for (field, path) in [
        ("feedback.led_accept", &f.led_accept),
        ("feedback.led_warn", &f.led_warn),
        ("feedback.led_reject", &f.led_reject),
    ] {
        if let Some(p) = path {
            ok &= ck.hook_path(field, p);
        }
    }
    let led_on = f.led_on.clone().unwrap_or_else(|| "1".into());
    ok &= ck.hook_value("feedback.led_on", &led_on);
    let led_ms = ck.range("feedback-time", "feedback.led_ms", f.led_ms.unwrap_or(300), LED_MS);
    let vibrate = match &f.vibrate {
        Some(v) => build_vibrate(ck, v),
        None => Some(None),
    };
    ok.then_some(())?;
    Some(FeedbackHooks {
        led_accept: f.led_accept.clone(),
        led_warn: f.led_warn.clone(),
        led_reject: f.led_reject.clone(),
        led_on,
        led_time: Duration::from_millis(u64::from(led_ms?)),
        vibrate: vibrate?,
    })
}

fn build_vibrate(ck: &mut Checker<'_>, v: &VibrateFile) -> Option<Option<Vibrate>> {
    let p = "feedback.vibrate";
    let hook = match (&v.path, &v.command) {
        (Some(_), Some(_)) => {
            ck.fail(
                "feedback-hook",
                &format!("{p}.command"),
                "give a `path` or a `command`, not both",
            );
            None
        }
        (None, None) => {
            ck.fail(
                "feedback-hook",
                p,
                "the vibrator needs a `path` (a file to write) or a `command` (a program to run)",
            );
            None
        }
        (Some(path), None) => {
            let value = v.value.clone().unwrap_or_else(|| "1".into());
            let path_ok = ck.hook_path(&format!("{p}.path"), path);
            let value_ok = ck.hook_value(&format!("{p}.value"), &value);
            (path_ok && value_ok).then(|| Hook::Write {
                path: path.clone(),
                value,
            })
        }
        (None, Some(command)) => {
            let field = format!("{p}.command");
            let value_ok = ck.ensure(v.value.is_none(), "feedback-hook", &format!("{p}.value"), || {
                "`value` goes with `path`; a command takes its arguments in the list".into()
            });
            match command.split_first() {
                None => {
                    ck.fail("feedback-hook", &field, "the command is empty: name a program");
                    None
                }
                Some((program, args)) => {
                    let program_ok = ck.ensure(path_ok(program), "feedback-hook", &field, || {
                        format!("`{program}` is not an absolute path to a program (commands run without a shell)")
                    });
                    let args_ok = ck.ensure(args.len() <= MAX_HOOK_ARGS, "feedback-hook", &field, || {
                        format!("{} arguments: at most {MAX_HOOK_ARGS}", args.len())
                    });
                    (value_ok && program_ok && args_ok).then(|| Hook::Run {
                        program: program.clone(),
                        args: args.to_vec(),
                    })
                }
            }
        }
    };
    let names =
        v.on.clone()
            .unwrap_or_else(|| vec![Signal::Warn.name().into(), Signal::Reject.name().into()]);
    let mut on = Vec::new();
    let mut on_ok = true;
    for (i, name) in names.iter().enumerate() {
        let field = format!("{p}.on[{i}]");
        match ck.choice::<Signal>("verdict-known", &field, name) {
            Some(s) if on.contains(&s) => {
                ck.fail("verdict-known", &field, format!("{s} is listed twice"));
                on_ok = false;
            }
            Some(s) => on.push(s),
            None => on_ok = false,
        }
    }
    on_ok.then_some(())?;
    Some(Some(Vibrate { hook: hook?, on }))
}

/// True when `path` is an absolute path a hook may write or run: no `..`, whitespace or glob
/// characters, not a folder.
fn path_ok(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && !path.ends_with('/')
        && !path.split('/').any(|c| c == "..")
        && !path.contains(|c: char| c.is_whitespace() || c.is_control() || "*?[]".contains(c))
}

// ---------------------------------------------------------------------------------------------
// Globs
// ---------------------------------------------------------------------------------------------

/// Why a glob is malformed, or `None` when it is fine.
fn glob_problem(glob: &str) -> Option<String> {
    if glob.trim().is_empty() {
        return Some("the glob is empty".into());
    }
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                let mut len = 0;
                loop {
                    match chars.next() {
                        None => return Some("`[` is not closed by `]`".into()),
                        Some(']') if len > 0 => break,
                        Some(_) => len += 1,
                    }
                }
            }
            ']' => return Some("`]` without `[`".into()),
            _ => {}
        }
    }
    None
}

/// Shell-style glob match: `*` any run of characters, `?` one character, `[abc]`/`[a-z]`/`[!a]`
/// one character of a set. No special meaning for `/`.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let g: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if gi < g.len() {
            match g[gi] {
                '*' => {
                    star = Some((gi, ti));
                    gi += 1;
                    continue;
                }
                '?' => {
                    gi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((true, next)) = class_match(&g, gi, t[ti]) {
                        gi = next;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    gi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sg, st)) => {
                gi = sg + 1;
                ti = st + 1;
                star = Some((sg, st + 1));
            }
            None => return false,
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `g[start] == '['`: (matched, index after `]`).
fn class_match(g: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(g.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let first = i;
    let mut found = false;
    while i < g.len() && (g[i] != ']' || i == first) {
        if i + 2 < g.len() && g[i + 1] == '-' && g[i + 2] != ']' {
            found |= (g[i]..=g[i + 2]).contains(&c);
            i += 3;
        } else {
            found |= g[i] == c;
            i += 1;
        }
    }
    (i < g.len()).then_some((found != negate, i + 1))
}

// ---------------------------------------------------------------------------------------------
// Where in the file: spans to fields and lines
// ---------------------------------------------------------------------------------------------

fn entry<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a toml::Spanned<DeValue<'i>>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

fn line_at(text: &str, offset: usize) -> u32 {
    let offset = offset.min(text.len());
    u32::try_from(text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1).unwrap_or(u32::MAX)
}

/// The span of a dotted field (`framing.suffix`, `keys.back[1]`) in the document, or of its
/// nearest parent that is written there.
fn field_span(doc: &DeTable<'_>, field: &str) -> Option<Range<usize>> {
    let mut table = Some(doc);
    let mut value: Option<&DeValue<'_>> = None;
    let mut best = None;
    for part in field.split('.') {
        let (key, indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let Some(t) = table.or_else(|| value.and_then(|v| v.as_table())) else {
            return best;
        };
        let Some((k, v)) = t.iter().find(|(k, _)| k.get_ref() == key) else {
            return best;
        };
        best = Some(k.span());
        let mut cur = v;
        for idx in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            let i: usize = idx.parse().ok()?;
            match cur.get_ref().as_array().and_then(|a| a.get(i)) {
                Some(e) => {
                    best = Some(e.span());
                    cur = e;
                }
                None => return best,
            }
        }
        table = None;
        value = Some(cur.get_ref());
    }
    best
}

/// The dotted path of the deepest key or value at `span` (`exact`: whose span is `span`).
fn path_at(doc: &DeTable<'_>, span: &Range<usize>, exact: bool) -> String {
    fn hit(s: &Range<usize>, span: &Range<usize>, exact: bool) -> bool {
        if exact {
            s == span
        } else {
            (s.start <= span.start && span.start < s.end) || (s.is_empty() && s.start == span.start)
        }
    }
    fn walk(t: &DeTable<'_>, prefix: &str, depth: usize, span: &Range<usize>, exact: bool, best: &mut (usize, String)) {
        for (k, v) in t.iter() {
            let path = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            if (hit(&k.span(), span, exact) || hit(&v.span(), span, exact)) && depth + 1 > best.0 {
                *best = (depth + 1, path.clone());
            }
            visit(v, &path, depth + 1, span, exact, best);
        }
    }
    fn visit(
        v: &toml::Spanned<DeValue<'_>>,
        path: &str,
        depth: usize,
        span: &Range<usize>,
        exact: bool,
        best: &mut (usize, String),
    ) {
        match v.get_ref() {
            DeValue::Table(t) => walk(t, path, depth, span, exact, best),
            DeValue::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    if hit(&e.span(), span, exact) && depth + 1 > best.0 {
                        *best = (depth + 1, p.clone());
                    }
                    visit(e, &p, depth + 1, span, exact, best);
                }
            }
            _ => {}
        }
    }
    let mut best = (0, String::new());
    walk(doc, "", 0, span, exact, &mut best);
    best.1
}

/// A best guess at the field on a line the TOML parser could not read: the last table header
/// before it, and the key on the line.
fn field_near(text: &str, offset: usize) -> String {
    let upto = &text[..offset.min(text.len())];
    let line_start = upto.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    let line = text[line_start..line_end].trim();
    let header_of = |l: &str| -> Option<String> {
        let l = l.trim();
        let inner = l
            .strip_prefix("[[")
            .and_then(|r| r.split("]]").next())
            .or_else(|| l.strip_prefix('[').and_then(|r| r.split(']').next()))?;
        Some(inner.trim().to_string())
    };
    if line.starts_with('[') {
        return header_of(line)
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "(file)".into());
    }
    let header = text[..line_start]
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .and_then(header_of)
        .unwrap_or_default();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .unwrap_or_default();
    match (header.is_empty(), key.is_empty()) {
        (true, true) => "(file)".into(),
        (true, false) => key,
        (false, true) => header,
        (false, false) => format!("{header}.{key}"),
    }
}

/// A TOML syntax error (`doc` is `None`) or a serde error, with its field and line.
fn toml_error(file: &str, text: &str, doc: Option<&DeTable<'_>>, e: &toml::de::Error) -> ProfileError {
    let message = e.message().trim().to_string();
    let span = e.span();
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next());
    let (field, line) = match (doc, &span, missing) {
        (Some(doc), Some(span), Some(missing)) => {
            let parent = if span.is_empty() && span.start == 0 {
                String::new()
            } else {
                path_at(doc, span, true)
            };
            if parent.is_empty() {
                (missing.to_string(), None)
            } else {
                (format!("{parent}.{missing}"), Some(line_at(text, span.start)))
            }
        }
        (Some(doc), Some(span), None) => {
            let p = path_at(doc, span, false);
            (
                if p.is_empty() { field_near(text, span.start) } else { p },
                Some(line_at(text, span.start)),
            )
        }
        (None, Some(span), _) => (field_near(text, span.start), Some(line_at(text, span.start))),
        (_, None, _) => ("(file)".into(), None),
    };
    // The one enum in the file is `transport`; serde's words for "two variants" are cryptic.
    if message.starts_with("wanted exactly 1 element") {
        let problem = "give exactly one of [transport.serial], [transport.evdev], [transport.hidraw]".into();
        return ProfileError {
            file: file.into(),
            line,
            field: "transport".into(),
            check: "parse",
            problem,
            problem_zh: Some("[transport.serial]、[transport.evdev]、[transport.hidraw] 须且只须给出一个".into()),
        };
    }
    let (problem, problem_zh) = if doc.is_none() {
        (
            format!("TOML syntax error: {message}"),
            Some(format!("TOML 语法错误：{message}")),
        )
    } else {
        (message, None)
    };
    ProfileError {
        file: file.into(),
        line,
        field,
        check: "parse",
        problem,
        problem_zh,
    }
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// The shipped profiles, embedded: file name and text. A test checks this list against the
/// directory, so a new file is not forgotten.
const SHIPPED: &[(&str, &str)] = &[
    (
        "chafon-uhfreader18.toml",
        include_str!("../../hw-profiles/chafon-uhfreader18.toml"),
    ),
    (
        "chafon-uhfreader288.toml",
        include_str!("../../hw-profiles/chafon-uhfreader288.toml"),
    ),
    ("file-printer.toml", include_str!("../../hw-profiles/file-printer.toml")),
    (
        "generic-cdc-scanner.toml",
        include_str!("../../hw-profiles/generic-cdc-scanner.toml"),
    ),
    (
        "generic-handheld.toml",
        include_str!("../../hw-profiles/generic-handheld.toml"),
    ),
    (
        "generic-hid-wedge.toml",
        include_str!("../../hw-profiles/generic-hid-wedge.toml"),
    ),
    ("hid-pos.toml", include_str!("../../hw-profiles/hid-pos.toml")),
    ("impinj-r2000.toml", include_str!("../../hw-profiles/impinj-r2000.toml")),
    ("magicrf-m100.toml", include_str!("../../hw-profiles/magicrf-m100.toml")),
    (
        "thingmagic-m6e-nano.toml",
        include_str!("../../hw-profiles/thingmagic-m6e-nano.toml"),
    ),
    ("zebra-ssi.toml", include_str!("../../hw-profiles/zebra-ssi.toml")),
    (
        "zebra-zd421-zpl.toml",
        include_str!("../../hw-profiles/zebra-zd421-zpl.toml"),
    ),
];

/// How shipped files are named in errors.
fn shipped_label(file: &str) -> String {
    format!("hw-profiles/{file}")
}

/// The shipped profiles, checked. They are tested, so an error here is a build that was not.
pub fn builtin() -> Result<Vec<Profile>, Vec<ProfileError>> {
    let mut profiles = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in SHIPPED {
        match parse(&shipped_label(file), text) {
            Ok(p) => profiles.push(p),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() { Ok(profiles) } else { Err(errors) }
}

/// Loads every `*.toml` in `dir` (not recursing; hidden files skipped), in file-name order: the
/// profiles that pass their checks, and the errors of those that do not. A missing or unreadable
/// directory is an error.
pub fn load_dir(dir: &Path) -> (Vec<Profile>, Vec<ProfileError>) {
    let (found, errors) = load_dir_paths(dir);
    (found.into_iter().map(|(_, p)| p).collect(), errors)
}

fn load_dir_paths(dir: &Path) -> (Vec<(PathBuf, Profile)>, Vec<ProfileError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            let problem = Text::new(
                format!("cannot read the directory: {e}"),
                format!("无法读取该目录：{e}"),
            );
            return (Vec::new(), vec![read_error(dir, problem)]);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "toml")
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
                && !p.is_dir()
        })
        .collect();
    files.sort();
    let mut profiles = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        let label = path.display().to_string();
        match read_profile_file(&path) {
            Err(problem) => errors.push(read_error(&path, problem)),
            Ok(text) => match parse(&label, &text) {
                Ok(p) => profiles.push((path, p)),
                Err(e) => errors.extend(e),
            },
        }
    }
    (profiles, errors)
}

/// The largest profile file read: a real one is a few kB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What kind of file system entry this is, in English and Chinese (for "not a regular file").
fn file_kind(t: std::fs::FileType) -> (&'static str, &'static str) {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        ("a directory", "目录")
    } else if t.is_fifo() {
        ("a FIFO", "命名管道 FIFO")
    } else if t.is_char_device() {
        ("a character device", "字符设备")
    } else if t.is_block_device() {
        ("a block device", "块设备")
    } else if t.is_socket() {
        ("a socket", "套接字")
    } else {
        ("an unknown kind of file", "未知类型的文件")
    }
}

/// A `read` error on a whole file or directory.
fn read_error(path: &Path, problem: Text) -> ProfileError {
    ProfileError {
        file: path.display().to_string(),
        line: None,
        field: "(file)".into(),
        check: "read",
        problem: problem.en,
        problem_zh: Some(problem.zh),
    }
}

/// Reads one profile file: only a regular file (a symbolic link to one is fine), at most
/// [`MAX_FILE_BYTES`], UTF-8. A FIFO, a device (`/dev/zero`) or a socket is refused by its type
/// before it is opened, so it can neither block nor feed an endless stream; the file is opened
/// non-blocking and checked again, in case it was swapped between the two looks, and read through
/// a limit.
fn read_profile_file(path: &Path) -> Result<String, Text> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let not_regular = |t: std::fs::FileType| {
        let (en, zh) = file_kind(t);
        Text::new(
            format!(
                "not a regular file ({en}): a profile is a regular `.toml` file; remove this entry from the folder"
            ),
            format!("不是普通文件（是{zh}）：配置文件须为普通的 `.toml` 文件；请把它从该目录中移走"),
        )
    };
    let too_big = || {
        Text::new(
            format!(
                "larger than 1 MiB ({MAX_FILE_BYTES} bytes): a profile is a few kB; remove this file from the folder"
            ),
            format!("大于 1 MiB（{MAX_FILE_BYTES} 字节）：配置文件只有几 kB；请把它从该目录中移走"),
        )
    };
    let cannot = |e: std::io::Error| Text::new(format!("cannot read the file: {e}"), format!("无法读取该文件：{e}"));
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Text::new(
            format!("the file is not UTF-8 (at byte {at}): save it as UTF-8"),
            format!("该文件不是 UTF-8 编码（第 {at} 字节处）：请以 UTF-8 保存"),
        )
    })
}

/// The errors of every profile in `dir`: what `lotline profiles check [DIR]` prints.
pub fn check_dir(dir: &Path) -> Vec<ProfileError> {
    load_dir(dir).1
}

/// Where a loaded profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Shipped with lotline (file name in `hw-profiles/`).
    Shipped(&'static str),
    /// A file in the override directory; `replaces_shipped` when a shipped profile has its name.
    Override { path: PathBuf, replaces_shipped: bool },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Shipped(file) => write!(f, "shipped {}", shipped_label(file)),
            Source::Override {
                path,
                replaces_shipped: true,
            } => write!(f, "{} (replaces the shipped one)", path.display()),
            Source::Override {
                path,
                replaces_shipped: false,
            } => write!(f, "{}", path.display()),
        }
    }
}

/// The shipped profiles with the override directory applied.
#[derive(Debug, Clone, Default)]
pub struct LoadedProfiles {
    profiles: BTreeMap<String, (Profile, Source)>,
    errors: Vec<ProfileError>,
}

impl LoadedProfiles {
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name).map(|(p, _)| p)
    }

    /// Where the profile of this name came from.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.profiles.get(name).map(|(_, s)| s)
    }

    /// Every profile with its source, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&Profile, &Source)> {
        self.profiles.values().map(|(p, s)| (p, s))
    }

    /// The profiles of one kind, by name.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Profile> {
        self.profiles.values().map(|(p, _)| p).filter(move |p| p.kind() == kind)
    }

    /// Problems found while loading: broken override files (their shipped namesake, if any, is
    /// kept) and, in a build that skipped its tests, broken shipped files.
    pub fn errors(&self) -> &[ProfileError] {
        &self.errors
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

/// The shipped profiles, then every valid `*.toml` in `overrides` (normally [`SYSTEM_DIR`]): one
/// with the name of a shipped profile replaces it, others are added. A missing override directory
/// is normal; a broken override file is reported in `errors()` and changes nothing.
pub fn load_all(overrides: &Path) -> LoadedProfiles {
    let mut loaded = LoadedProfiles::default();
    for (file, text) in SHIPPED {
        match parse(&shipped_label(file), text) {
            Ok(p) => {
                loaded.profiles.insert(p.name.clone(), (p, Source::Shipped(file)));
            }
            Err(e) => loaded.errors.extend(e),
        }
    }
    if !overrides.exists() {
        return loaded;
    }
    let (found, errors) = load_dir_paths(overrides);
    loaded.errors.extend(errors);
    for (path, p) in found {
        let replaces_shipped = matches!(loaded.profiles.get(&p.name), Some((_, Source::Shipped(_))));
        loaded
            .profiles
            .insert(p.name.clone(), (p, Source::Override { path, replaces_shipped }));
    }
    loaded
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

/// The JSON Schema of a profile file (draft-07, which taplo / Even Better TOML read), pretty
/// printed with a final newline: the content of `hw-profiles/schema.json`.
pub fn json_schema() -> String {
    let mut settings = schemars::generate::SchemaSettings::draft07();
    settings
        .transforms
        .push(Box::new(schemars::transform::RecursiveTransform(drop_null)));
    let schema = settings.into_generator().into_root_schema_for::<ProfileFile>();
    let mut s = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    s.push('\n');
    s
}

/// TOML has no null: an optional field is one that is left out, so `null` alternatives go.
fn drop_null(schema: &mut Schema) {
    use serde_json::Value;
    let Some(obj) = schema.as_object_mut() else { return };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(any)) = obj.get_mut("anyOf") {
        any.retain(|s| s.get("type").is_none_or(|t| t != "null"));
        if any.len() == 1 {
            let only = any.remove(0);
            obj.remove("anyOf");
            // draft-07 ignores the siblings of a `$ref`, so a reference stays wrapped.
            match only {
                Value::Object(inner) if !inner.contains_key("$ref") => obj.extend(inner),
                other => {
                    obj.insert("allOf".into(), Value::Array(vec![other]));
                }
            }
        }
    }
}

/// Names of the shipped files, for tests and `lotline profiles list`.
pub fn shipped_files() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(f, _)| *f)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The repository root: `file!()` is this file's path, absolute or relative to the crate root.
    fn root() -> PathBuf {
        let here = Path::new(file!());
        let here = if here.is_absolute() {
            here.to_path_buf()
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(here)
        };
        here.ancestors()
            .nth(3)
            .expect("src/devices/profile.rs has a root")
            .to_path_buf()
    }

    fn profiles_dir() -> PathBuf {
        root().join("hw-profiles")
    }

    #[test]
    fn every_shipped_file_loads_and_validates() {
        let profiles = builtin().unwrap_or_else(|errors| {
            panic!(
                "{}",
                errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
            )
        });
        assert_eq!(profiles.len(), SHIPPED.len());
        for (file, text) in SHIPPED {
            assert!(
                text.starts_with("#:schema ./schema.json\n"),
                "{file}: first line must be `#:schema ./schema.json`"
            );
        }
    }

    #[test]
    fn the_embedded_list_is_the_directory() {
        let mut on_disk: Vec<String> = std::fs::read_dir(profiles_dir())
            .expect("hw-profiles/ is readable")
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = shipped_files().map(String::from).collect();
        assert_eq!(
            embedded, on_disk,
            "SHIPPED in profile.rs must list exactly hw-profiles/*.toml"
        );
        // And the directory checks clean through the same path `lotline profiles check` takes.
        assert_eq!(check_dir(&profiles_dir()), vec![]);
    }

    #[test]
    fn the_committed_schema_is_the_generated_one() {
        let path = profiles_dir().join("schema.json");
        let generated = json_schema();
        if std::env::var_os("LOTLINE_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "hw-profiles/schema.json is out of date with the profile types: regenerate it with \
             `LOTLINE_BLESS=1 cargo test --lib the_committed_schema_is_the_generated_one` and commit it"
        );
    }

    #[test]
    fn udev_rules_create_the_paths_the_profiles_use() {
        let rules = std::fs::read_to_string(root().join("assets/udev/99-lotline.rules")).unwrap();
        let links: BTreeSet<String> = rules
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split("SYMLINK+=\"").nth(1))
            .filter_map(|r| r.split('"').next())
            .map(|l| format!("/dev/{l}"))
            .collect();
        for p in builtin().unwrap() {
            let path = match &p.device {
                Device::Scanner(ScannerProfile {
                    transport: ScannerTransport::Serial(s),
                    ..
                }) => Some(s.path.clone()),
                Device::Scanner(ScannerProfile {
                    transport: ScannerTransport::Evdev(e),
                    ..
                }) => e.path.clone(),
                Device::Scanner(ScannerProfile {
                    transport: ScannerTransport::Hidraw(h),
                    ..
                }) => h.path.clone(),
                Device::Rfid(r) => Some(r.serial.path.clone()),
                Device::Terminal(_) => None,
                Device::Printer(PrinterProfile {
                    transport: PrinterTransport::Serial(s),
                    ..
                }) => Some(s.path.clone()),
                // Device nodes need a udev name; a file or FIFO elsewhere does not.
                Device::Printer(PrinterProfile {
                    transport: PrinterTransport::File(f),
                    ..
                }) => f.starts_with("/dev/").then(|| f.clone()),
            };
            if let Some(path) = path {
                assert!(
                    links.contains(&path),
                    "{}: {path} is not created by 99-lotline.rules ({links:?})",
                    p.name
                );
            }
        }
        for want in [SCANNER_PATH, RFID_PATH, WEDGE_PATH, PRINTER_PATH] {
            assert!(links.contains(want), "99-lotline.rules does not create {want}");
        }
        // Every rule line says which profile it serves.
        let mut comment = false;
        for l in rules.lines() {
            if l.trim_start().starts_with('#') {
                comment |= l.contains("profile");
            } else if l.trim().is_empty() {
                comment = false;
            } else {
                assert!(comment, "rule without a `# profile ...` comment above it: {l}");
            }
        }
    }

    #[test]
    fn the_readme_lists_every_check_and_key() {
        let readme = std::fs::read_to_string(profiles_dir().join("README.md")).unwrap();
        for c in CHECKS {
            let row = format!("| `{}` | {} |", c.name, c.ensures);
            assert!(
                readme.contains(&row),
                "hw-profiles/README.md's table of checks lacks the row\n{row}"
            );
        }
        for k in Key::ALL {
            assert!(readme.contains(k.name()), "hw-profiles/README.md does not list key {k}");
        }
    }

    #[test]
    fn shipped_values() {
        let all = load_all(Path::new("/nonexistent/lotline-test"));
        assert!(all.errors().is_empty());
        let cdc = all.get("generic-cdc-scanner").unwrap();
        let s = cdc.serial().unwrap();
        assert_eq!(
            (s.path.as_str(), s.data_bits, s.parity, s.stop_bits, s.flow_control),
            (SCANNER_PATH, 8, Parity::None, 1, FlowControl::None)
        );
        let fr = cdc.framing().unwrap();
        assert_eq!(
            (fr.suffix.as_slice(), fr.end, fr.gap, fr.aim),
            (&b"\r"[..], FrameEnd::SuffixThenGap, Duration::from_millis(50), true)
        );
        assert!(
            cdc.matches
                .fits_serial_by_id("/dev/serial/by-id/usb-Honeywell_Imaging___Mobility_1900-if00")
        );
        assert!(
            !cdc.matches
                .fits_serial_by_id("/dev/serial/by-id/usb-Silicon_Labs_CP2102-if00-port0")
        );

        let ssi = all.get("zebra-ssi").unwrap();
        assert_eq!(ssi.serial().unwrap().baud, 9600);
        assert_eq!(ssi.framing().unwrap().protocol, ScannerProtocol::Ssi);

        let pos = all.get("hid-pos").unwrap();
        let Some(ScannerProfile {
            transport: ScannerTransport::Hidraw(h),
            ..
        }) = pos.scanner()
        else {
            panic!("hid-pos is hidraw")
        };
        let vendors: Vec<u16> = h.usb.iter().map(|u| u.vendor).collect();
        assert_eq!(
            (vendors, h.usage_page, h.path.clone()),
            (vec![0x0c2e, 0x05e0, 0x05f9], 0x8C, None)
        );

        let wedge = all.get("generic-hid-wedge").unwrap();
        let Some(ScannerProfile {
            transport: ScannerTransport::Evdev(e),
            ..
        }) = wedge.scanner()
        else {
            panic!("wedge is evdev")
        };
        assert_eq!((e.layout, e.grab), (Layout::Us, true));

        for (name, protocol, baud) in [
            ("impinj-r2000", RfidProtocol::R2000, 115200),
            ("magicrf-m100", RfidProtocol::M100, 115200),
            ("thingmagic-m6e-nano", RfidProtocol::Mercury, 115200),
            ("chafon-uhfreader18", RfidProtocol::Chafon18, 57600),
            ("chafon-uhfreader288", RfidProtocol::Chafon288, 57600),
        ] {
            let p = all.get(name).unwrap();
            let r = p.rfid().unwrap();
            assert_eq!(
                (r.reader.protocol, r.serial.baud, r.serial.path.as_str()),
                (protocol, baud, RFID_PATH),
                "{name}"
            );
            assert_eq!(r.serial.baud, protocol.default_baud(), "{name}");
            assert!(POWER_DBM.contains(&r.reader.power_dbm));
        }
        assert_eq!(
            all.get("impinj-r2000").unwrap().rfid().unwrap().reader.address,
            Some(0xFF)
        );
        assert_eq!(all.get("magicrf-m100").unwrap().rfid().unwrap().reader.address, None);

        let t = all.get("generic-handheld").unwrap().terminal().unwrap().clone();
        assert_eq!((t.screen.width_px, t.screen.height_px), (720, 1280));
        assert_eq!(t.action_for(Key::Escape), Some(Action::Back));
        assert_eq!(
            t.action_for_text("\u{F70E}"),
            Some(Action::Trigger),
            "F11 is a side trigger"
        );
        assert_eq!(t.action_for_text("\n"), Some(Action::Enter));
        assert!(t.feedback.is_empty(), "the generic handheld names no LEDs or vibrator");
        assert_eq!(all.of_kind(Kind::Terminal).count(), 1);

        let zebra = all.get("zebra-zd421-zpl").unwrap();
        assert_eq!(zebra.kind(), Kind::Printer);
        let z = zebra.printer().unwrap();
        assert_eq!(z.transport, PrinterTransport::File(PRINTER_PATH.into()));
        assert_eq!(z.language, PrinterLanguage::Zpl);
        assert_eq!(
            z.media,
            LabelMedia {
                dpi: Dpi::D203,
                width_mm: 60,
                height_mm: 40,
                font: None
            }
        );
        assert!(zebra.matches.fits_usb(0x0a5f, 0x0185));
        assert_eq!(zebra.serial(), None, "serial() stays the scanners' and readers'");
        let file = all.get("file-printer").unwrap().printer().unwrap();
        assert_eq!(
            file.transport,
            PrinterTransport::File("/run/lotline/printer.zpl".into())
        );
        assert_eq!((file.media.width_mm, file.media.height_mm), (50, 30));
        assert_eq!(all.of_kind(Kind::Printer).count(), 2);
        assert_eq!(all.len(), SHIPPED.len());
    }

    /// A valid profile of each kind, to break one field at a time.
    const SCANNER: &str = r#"#:schema ./schema.json
schema_version = 1
kind = "scanner"
name = "NAME"
description = "test scanner"

[match]
usb = ["0c2e:*"]

[transport.serial]
path = "/dev/lotline-scanner"
baud = 115200

[framing]
suffix = "\r"
gap_ms = 50
aim = true
"#;

    const RFID: &str = r#"schema_version = 1
kind = "rfid"
name = "NAME"
description = "test reader"

[transport.serial]
path = "/dev/lotline-rfid"
baud = 115200

[rfid]
protocol = "r2000"
power_dbm = 26
region = "china920"
session = 2
target = "ab"
q = 4
"#;

    const WEDGE: &str = r#"schema_version = 1
kind = "scanner"
name = "NAME"
description = "test wedge"

[transport.evdev]
path = "/dev/input/lotline-wedge"
layout = "us"

[framing]
suffix = "\r"
"#;

    const HIDPOS: &str = r#"schema_version = 1
kind = "scanner"
name = "NAME"
description = "test HID POS"

[match]
usb = ["0c2e:*"]

[transport.hidraw]
usage_page = 0x8C
"#;

    const TERMINAL: &str = r#"schema_version = 1
kind = "terminal"
name = "NAME"
description = "test terminal"

[screen]
width_px = 720
height_px = 1280

[keys]
trigger = ["F11", "F12"]
back = ["Escape"]
"#;

    const PRINTER: &str = r#"schema_version = 1
kind = "printer"
name = "NAME"
description = "test printer"

[transport.serial]
path = "/dev/ttyUSB0"
baud = 9600
flow_control = "hardware"

[printer]
language = "zpl"
dpi = 300
label_width_mm = 100
label_height_mm = 50
font = "E:ANMDS.TTF"
"#;

    const FILE_PRINTER: &str = r#"schema_version = 1
kind = "printer"
name = "NAME"
description = "test file printer"

[match]
usb = ["0a5f:*"]

[transport.file]
path = "/var/spool/lotline/labels.zpl"

[printer]
language = "zpl"
dpi = 203
label_width_mm = 50
label_height_mm = 30
"#;

    /// Writes `text` (with NAME = the file stem) to a temp dir and loads it.
    fn load_one(file: &str, text: &str) -> Vec<ProfileError> {
        let dir = tempfile::tempdir().unwrap();
        let stem = file.trim_end_matches(".toml");
        std::fs::write(dir.path().join(file), text.replace("NAME", stem)).unwrap();
        let (profiles, errors) = load_dir(dir.path());
        assert!(profiles.is_empty() || errors.is_empty());
        errors
    }

    #[test]
    fn the_valid_bases_load() {
        for (i, base) in [SCANNER, RFID, WEDGE, HIDPOS, TERMINAL, PRINTER, FILE_PRINTER]
            .iter()
            .enumerate()
        {
            assert_eq!(load_one(&format!("base-{i}.toml"), base), vec![], "base {i}");
        }
    }

    /// A broken profile: what is wrong, the valid base, the text replaced (first occurrence) and by
    /// what, then the check, field and line expected.
    type Broken = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<u32>,
    );

    #[rustfmt::skip]
    const BROKEN: &[Broken] = &[
        ("typo'd field", SCANNER, "suffix = ", "sufix = ", "parse", "framing.sufix", Some(15)),
        ("typo'd table", SCANNER, "[framing]", "[frameing]", "parse", "frameing", Some(14)),
        ("wrong kind", SCANNER, "kind = \"scanner\"", "kind = \"camera\"", "kind-known", "kind", Some(3)),
        ("scanner with rfid", SCANNER, "[framing]", "[rfid]\nprotocol = \"r2000\"\nregion = \"fcc\"\n[framing]", "sections-fit-kind", "rfid", Some(14)),
        ("rfid over evdev", RFID, "[transport.serial]\npath = \"/dev/lotline-rfid\"\nbaud = 115200", "[transport.evdev]\npath = \"/dev/input/event3\"", "transport-fits-kind", "transport.evdev", Some(6)),
        ("rfid without transport", RFID, "[transport.serial]\npath = \"/dev/lotline-rfid\"\nbaud = 115200", "", "transport-fits-kind", "transport", None),
        ("terminal with transport", TERMINAL, "[screen]", "[transport.serial]\npath = \"/dev/ttyS1\"\nbaud = 9600\n[screen]", "transport-fits-kind", "transport", Some(6)),
        ("baud 12345", SCANNER, "baud = 115200", "baud = 12345", "baud-standard", "transport.serial.baud", Some(12)),
        ("data bits 9", SCANNER, "baud = 115200", "baud = 115200\ndata_bits = 9", "data-bits-range", "transport.serial.data_bits", Some(13)),
        ("parity mark", SCANNER, "baud = 115200", "baud = 115200\nparity = \"mark\"", "parity-known", "transport.serial.parity", Some(13)),
        ("relative path", SCANNER, "/dev/lotline-scanner", "ttyACM0", "path-format", "transport.serial.path", Some(11)),
        ("power 40 dBm", RFID, "power_dbm = 26", "power_dbm = 40", "power-range", "rfid.power_dbm", Some(12)),
        ("session 5", RFID, "session = 2", "session = 5", "session-range", "rfid.session", Some(14)),
        ("q 16", RFID, "q = 4", "q = 16", "q-range", "rfid.q", Some(16)),
        ("unknown rfid protocol", RFID, "\"r2000\"", "\"r3000\"", "protocol-known", "rfid.protocol", Some(11)),
        ("unknown region", RFID, "\"china920\"", "\"mars\"", "region-known", "rfid.region", Some(13)),
        ("unknown target", RFID, "\"ab\"", "\"c\"", "target-known", "rfid.target", Some(15)),
        ("address on m100", RFID, "\"r2000\"", "\"m100\"\naddress = 1", "rfid-fits-protocol", "rfid.address", Some(12)),
        ("session on chafon18", RFID, "\"r2000\"", "\"chafon18\"", "rfid-fits-protocol", "rfid.session", Some(14)),
        ("rfid missing region", RFID, "region = \"china920\"\n", "", "parse", "rfid.region", Some(10)),
        ("unknown scanner protocol", SCANNER, "aim = true", "aim = true\nprotocol = \"snapi\"", "protocol-known", "framing.protocol", Some(18)),
        ("ssi with a suffix", SCANNER, "aim = true", "protocol = \"ssi\"", "framing-fits-transport", "framing.suffix", Some(15)),
        ("unknown layout", WEDGE, "layout = \"us\"", "layout = \"azerty\"", "layout-known", "transport.evdev.layout", Some(8)),
        ("wedge suffix", WEDGE, "suffix = \"\\r\"", "suffix = \"\\u001d\"", "framing-fits-transport", "framing.suffix", Some(11)),
        ("wedge without target", WEDGE, "path = \"/dev/input/lotline-wedge\"\n", "", "transport-target", "transport.evdev", Some(6)),
        ("hidraw usage page", HIDPOS, "0x8C", "0x01", "usage-page", "transport.hidraw.usage_page", Some(10)),
        ("bad usb id", SCANNER, "\"0c2e:*\"", "\"0c2e:zz\"", "usb-id-format", "match.usb[0]", Some(8)),
        ("bad by-id glob", SCANNER, "usb = [\"0c2e:*\"]", "serial_by_id = [\"usb-*-if00\"]", "glob-format", "match.serial_by_id[0]", Some(8)),
        ("dmi on a scanner", SCANNER, "usb = [\"0c2e:*\"]", "dmi = { sys_vendor = \"ACME\" }", "match-fits-kind", "match.dmi", Some(8)),
        ("name is not the file stem", SCANNER, "name = \"NAME\"", "name = \"other\"", "name-matches-file", "name", Some(4)),
        ("name in capitals", SCANNER, "name = \"NAME\"", "name = \"Broken_Case\"", "name-format", "name", Some(4)),
        ("schema version 2", SCANNER, "schema_version = 1", "schema_version = 2", "schema-version", "schema_version", Some(2)),
        ("empty description", SCANNER, "\"test scanner\"", "\" \"", "description-present", "description", Some(5)),
        ("duplicate key binding", TERMINAL, "back = [\"Escape\"]", "back = [\"Escape\", \"F11\"]", "keys-unique", "keys.back[1]", Some(12)),
        ("key listed twice", TERMINAL, "[\"F11\", \"F12\"]", "[\"F11\", \"F11\"]", "keys-unique", "keys.trigger[1]", Some(11)),
        ("unknown key", TERMINAL, "\"Escape\"", "\"Back\"", "key-known", "keys.back[0]", Some(12)),
        ("unknown action", TERMINAL, "back = ", "scan = ", "parse", "keys.scan", Some(12)),
        ("screen too small", TERMINAL, "width_px = 720", "width_px = 20", "screen-size", "screen.width_px", Some(7)),
        ("terminal without screen", TERMINAL, "[screen]\nwidth_px = 720\nheight_px = 1280\n", "", "sections-fit-kind", "screen", None),
        ("missing suffix and gap", SCANNER, "suffix = \"\\r\"\ngap_ms = 50\n", "", "framing-ends", "framing", Some(14)),
        ("end gap without gap", SCANNER, "gap_ms = 50", "end = \"gap\"", "framing-ends", "framing.end", Some(16)),
        ("unknown end", SCANNER, "gap_ms = 50", "gap_ms = 50\nend = \"newline\"", "end-known", "framing.end", Some(17)),
        ("gap 2 s", SCANNER, "gap_ms = 50", "gap_ms = 2000", "gap-range", "framing.gap_ms", Some(16)),
        ("suffix above one byte", SCANNER, "suffix = \"\\r\"", "suffix = \"\\u20ac\"", "bytes-format", "framing.suffix", Some(15)),
        ("wrong type", SCANNER, "baud = 115200", "baud = \"fast\"", "parse", "transport.serial.baud", Some(12)),
        ("two transports", SCANNER, "[framing]", "[transport.hidraw]\n[framing]", "parse", "transport", Some(10)),
        ("TOML syntax error", SCANNER, "gap_ms = 50", "gap_ms = = 50", "parse", "framing.gap_ms", Some(16)),
        ("unclosed header", SCANNER, "[framing]", "[framing", "parse", "framing", Some(14)),
        ("printer without [printer]", PRINTER, "[printer]\nlanguage = \"zpl\"\ndpi = 300\nlabel_width_mm = 100\nlabel_height_mm = 50\nfont = \"E:ANMDS.TTF\"\n", "", "sections-fit-kind", "printer", None),
        ("printer without transport", PRINTER, "[transport.serial]\npath = \"/dev/ttyUSB0\"\nbaud = 9600\nflow_control = \"hardware\"\n", "", "transport-fits-kind", "transport", None),
        ("printer over evdev", PRINTER, "[transport.serial]\npath = \"/dev/ttyUSB0\"\nbaud = 9600", "[transport.evdev]\npath = \"/dev/input/event3\"", "transport-fits-kind", "transport.evdev", Some(6)),
        ("printer language epl", PRINTER, "\"zpl\"", "\"epl\"", "language-known", "printer.language", Some(12)),
        ("printer 200 dpi", PRINTER, "dpi = 300", "dpi = 200", "dpi-standard", "printer.dpi", Some(13)),
        ("label too narrow", PRINTER, "label_width_mm = 100", "label_width_mm = 30", "label-size", "printer.label_width_mm", Some(14)),
        ("label too short", PRINTER, "label_height_mm = 50", "label_height_mm = 10", "label-size", "printer.label_height_mm", Some(15)),
        ("font without a drive", PRINTER, "\"E:ANMDS.TTF\"", "\"ANMDS.TTF\"", "font-format", "printer.font", Some(16)),
        ("font not a font file", PRINTER, "\"E:ANMDS.TTF\"", "\"E:ANMDS.GRF\"", "font-format", "printer.font", Some(16)),
        ("printer baud 12345", PRINTER, "baud = 9600", "baud = 12345", "baud-standard", "transport.serial.baud", Some(8)),
        ("printer missing dpi", PRINTER, "dpi = 300\n", "", "parse", "printer.dpi", Some(11)),
        ("printer with framing", PRINTER, "[printer]", "[framing]\nsuffix = \"\\r\"\n[printer]", "sections-fit-kind", "framing", Some(11)),
        ("relative file path", FILE_PRINTER, "\"/var/spool/lotline/labels.zpl\"", "\"labels.zpl\"", "path-format", "transport.file.path", Some(10)),
        ("file path with ..", FILE_PRINTER, "/var/spool/lotline/labels.zpl", "/var/spool/../etc/labels.zpl", "path-format", "transport.file.path", Some(10)),
        ("file path a folder", FILE_PRINTER, "/var/spool/lotline/labels.zpl", "/var/spool/lotline/", "path-format", "transport.file.path", Some(10)),
        ("by-id rule on a file printer", FILE_PRINTER, "usb = [\"0a5f:*\"]", "serial_by_id = [\"/dev/serial/by-id/usb-Zebra*\"]", "match-fits-kind", "match.serial_by_id", Some(7)),
        ("scanner over a file", SCANNER, "[transport.serial]\npath = \"/dev/lotline-scanner\"\nbaud = 115200", "[transport.file]\npath = \"/tmp/scans\"", "transport-fits-kind", "transport.file", Some(10)),
        ("rfid over a file", RFID, "[transport.serial]\npath = \"/dev/lotline-rfid\"\nbaud = 115200", "[transport.file]\npath = \"/tmp/tags\"", "transport-fits-kind", "transport.file", Some(6)),
        ("scanner with [printer]", SCANNER, "[framing]", "[printer]\nlanguage = \"zpl\"\ndpi = 203\nlabel_width_mm = 50\nlabel_height_mm = 30\n[framing]", "sections-fit-kind", "printer", Some(14)),
        ("terminal with [printer]", TERMINAL, "[keys]", "[printer]\nlanguage = \"zpl\"\ndpi = 203\nlabel_width_mm = 50\nlabel_height_mm = 30\n[keys]", "sections-fit-kind", "printer", Some(10)),
        ("scanner with [feedback]", SCANNER, "[framing]", "[feedback]\nled_accept = \"/sys/class/leds/green/brightness\"\n[framing]", "sections-fit-kind", "feedback", Some(14)),
        ("typo'd feedback field", TERMINAL, "[keys]", "[feedback]\nled_red = \"/sys/class/leds/red/brightness\"\n[keys]", "parse", "feedback.led_red", Some(11)),
        ("relative LED path", TERMINAL, "[keys]", "[feedback]\nled_reject = \"leds/red/brightness\"\n[keys]", "feedback-path", "feedback.led_reject", Some(11)),
        ("LED path with ..", TERMINAL, "[keys]", "[feedback]\nled_warn = \"/sys/class/leds/../amber\"\n[keys]", "feedback-path", "feedback.led_warn", Some(11)),
        ("LED value with a space", TERMINAL, "[keys]", "[feedback]\nled_on = \"1 0\"\n[keys]", "feedback-value", "feedback.led_on", Some(11)),
        ("LED lit 10 ms", TERMINAL, "[keys]", "[feedback]\nled_ms = 10\n[keys]", "feedback-time", "feedback.led_ms", Some(11)),
        ("vibrator with path and command", TERMINAL, "[keys]", "[feedback.vibrate]\npath = \"/sys/class/leds/vibrator/activate\"\ncommand = [\"/usr/bin/true\"]\n[keys]", "feedback-hook", "feedback.vibrate.command", Some(12)),
        ("vibrator with neither", TERMINAL, "[keys]", "[feedback.vibrate]\non = [\"reject\"]\n[keys]", "feedback-hook", "feedback.vibrate", Some(10)),
        ("vibrator command not absolute", TERMINAL, "[keys]", "[feedback.vibrate]\ncommand = [\"vibrate\", \"150\"]\n[keys]", "feedback-hook", "feedback.vibrate.command", Some(11)),
        ("vibrator command empty", TERMINAL, "[keys]", "[feedback.vibrate]\ncommand = []\n[keys]", "feedback-hook", "feedback.vibrate.command", Some(11)),
        ("vibrator command with a value", TERMINAL, "[keys]", "[feedback.vibrate]\ncommand = [\"/usr/bin/true\"]\nvalue = \"1\"\n[keys]", "feedback-hook", "feedback.vibrate.value", Some(12)),
        ("vibrator value empty", TERMINAL, "[keys]", "[feedback.vibrate]\npath = \"/sys/class/leds/vibrator/activate\"\nvalue = \"\"\n[keys]", "feedback-value", "feedback.vibrate.value", Some(12)),
        ("unknown verdict", TERMINAL, "[keys]", "[feedback.vibrate]\npath = \"/sys/class/leds/vibrator/activate\"\non = [\"maybe\"]\n[keys]", "verdict-known", "feedback.vibrate.on[0]", Some(12)),
        ("verdict listed twice", TERMINAL, "[keys]", "[feedback.vibrate]\npath = \"/sys/class/leds/vibrator/activate\"\non = [\"warn\", \"warn\"]\n[keys]", "verdict-known", "feedback.vibrate.on[1]", Some(12)),
    ];

    #[test]
    fn a_terminal_names_its_feedback_hooks() {
        let text = TERMINAL.replace(
            "[keys]",
            r#"[feedback]
led_accept = "/sys/class/leds/green/brightness"
led_reject = "/sys/class/leds/red/brightness"
led_on = "255"
led_ms = 500
vibrate = { path = "/sys/class/timed_output/vibrator/enable", value = "150" }

[keys]"#,
        );
        let p = parse("h6.toml", &text.replace("NAME", "h6")).unwrap();
        let fb = &p.terminal().unwrap().feedback;
        assert_eq!(fb.led(Signal::Accept), Some("/sys/class/leds/green/brightness"));
        assert_eq!(fb.led(Signal::Warn), None);
        assert_eq!(fb.led(Signal::Reject), Some("/sys/class/leds/red/brightness"));
        assert_eq!((fb.led_on.as_str(), fb.led_time), ("255", Duration::from_millis(500)));
        assert_eq!(
            fb.vibrate,
            Some(Vibrate {
                hook: Hook::Write {
                    path: "/sys/class/timed_output/vibrator/enable".into(),
                    value: "150".into()
                },
                on: vec![Signal::Warn, Signal::Reject],
            }),
            "a vibrator answers warnings and rejects unless `on` says otherwise"
        );

        let text = TERMINAL.replace(
            "[keys]",
            "[feedback.vibrate]\ncommand = [\"/usr/local/bin/buzz\", \"--ms\", \"120\"]\non = [\"reject\"]\n[keys]",
        );
        let p = parse("h6.toml", &text.replace("NAME", "h6")).unwrap();
        let fb = &p.terminal().unwrap().feedback;
        assert_eq!(
            fb.vibrate,
            Some(Vibrate {
                hook: Hook::Run {
                    program: "/usr/local/bin/buzz".into(),
                    args: vec!["--ms".into(), "120".into()]
                },
                on: vec![Signal::Reject],
            })
        );
        assert_eq!((fb.led_on.as_str(), fb.led_time), ("1", DEFAULT_LED_TIME));
        assert!(!fb.is_empty());
        assert!(
            parse("h6.toml", &TERMINAL.replace("NAME", "h6"))
                .unwrap()
                .terminal()
                .unwrap()
                .feedback
                .is_empty()
        );
    }

    #[test]
    fn broken_profiles_fail_with_the_expected_check() {
        for &(what, base, from, to, check, field, line) in BROKEN {
            assert!(base.contains(from), "{what}: the base does not contain {from:?}");
            let file = "broken-case.toml";
            let errors = load_one(file, &base.replacen(from, to, 1));
            let hit = errors.iter().find(|e| e.check == check && e.field == field);
            let Some(e) = hit else {
                panic!(
                    "{what}: expected [{check}] on {field}, got:\n{}",
                    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
                );
            };
            let shown = e.to_string();
            assert!(
                shown.contains(file) && shown.contains(field) && shown.ends_with(&format!("[{check}]")),
                "{what}: {shown}"
            );
            assert_eq!(e.line, line, "{what}: {shown}");
            if let Some(l) = line {
                assert!(shown.contains(&format!("{file}:{l}: {field}: ")), "{what}: {shown}");
            }
        }
    }

    #[test]
    fn errors_read_as_file_line_field_problem_check() {
        let errors = load_one("typo.toml", &SCANNER.replace("suffix = ", "sufix = "));
        assert_eq!(errors.len(), 1);
        let shown = errors[0].to_string();
        assert!(
            shown.contains("typo.toml:15: framing.sufix: unknown field `sufix`"),
            "{shown}"
        );
        assert!(shown.ends_with(" [parse]"), "{shown}");
        let e = ProfileError {
            file: "x.toml".into(),
            line: None,
            field: "name".into(),
            check: "name-format",
            problem: "p".into(),
            problem_zh: None,
        };
        assert_eq!(e.to_string(), "x.toml: name: p [name-format]");
    }

    #[test]
    fn all_errors_of_a_file_are_reported_at_once() {
        let text = RFID
            .replace("power_dbm = 26", "power_dbm = 40")
            .replace("q = 4", "q = 16")
            .replace("session = 2", "session = 5");
        let errors = load_one("many.toml", &text);
        let checks: BTreeSet<&str> = errors.iter().map(|e| e.check).collect();
        assert_eq!(checks, BTreeSet::from(["power-range", "q-range", "session-range"]));
    }

    #[test]
    fn an_override_replaces_a_shipped_profile_or_adds_one() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = SHIPPED
            .iter()
            .find(|(f, _)| *f == "generic-cdc-scanner.toml")
            .unwrap()
            .1;
        let changed = shipped.replace("baud = 115200", "baud = 9600");
        assert_ne!(changed, shipped);
        std::fs::write(dir.path().join("generic-cdc-scanner.toml"), changed).unwrap();
        std::fs::write(dir.path().join("acme-h6.toml"), TERMINAL.replace("NAME", "acme-h6")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a profile").unwrap();
        let all = load_all(dir.path());
        assert_eq!(all.errors(), &[]);
        assert_eq!(all.get("generic-cdc-scanner").unwrap().serial().unwrap().baud, 9600);
        assert_eq!(
            all.source("generic-cdc-scanner"),
            Some(&Source::Override {
                path: dir.path().join("generic-cdc-scanner.toml"),
                replaces_shipped: true
            })
        );
        assert_eq!(
            all.source("acme-h6"),
            Some(&Source::Override {
                path: dir.path().join("acme-h6.toml"),
                replaces_shipped: false
            })
        );
        assert_eq!(all.source("impinj-r2000"), Some(&Source::Shipped("impinj-r2000.toml")));
        assert_eq!(all.len(), SHIPPED.len() + 1);
        assert_eq!(all.iter().count(), all.len());
    }

    #[test]
    fn a_broken_override_keeps_the_shipped_profile_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = SHIPPED.iter().find(|(f, _)| *f == "impinj-r2000.toml").unwrap().1;
        std::fs::write(
            dir.path().join("impinj-r2000.toml"),
            shipped.replace("power_dbm = 26", "power_dbm = 40"),
        )
        .unwrap();
        std::fs::write(dir.path().join("bad-syntax.toml"), "schema_version = \n").unwrap();
        let all = load_all(dir.path());
        assert_eq!(all.source("impinj-r2000"), Some(&Source::Shipped("impinj-r2000.toml")));
        assert_eq!(all.get("impinj-r2000").unwrap().rfid().unwrap().reader.power_dbm, 26.0);
        let shown: Vec<String> = all.errors().iter().map(|e| e.to_string()).collect();
        assert_eq!(all.errors().len(), 2, "{shown:?}");
        assert!(
            shown
                .iter()
                .any(|s| s.contains("impinj-r2000.toml:") && s.ends_with("[power-range]")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.contains("bad-syntax.toml:1:") && s.ends_with("[parse]")),
            "{shown:?}"
        );
        assert_eq!(all.len(), SHIPPED.len());
    }

    #[test]
    fn directories_missing_or_not() {
        let missing = Path::new("/nonexistent/lotline-profiles");
        assert_eq!(load_all(missing).errors(), &[]);
        let errors = check_dir(missing);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].check, "read");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("latin1.toml"), b"name = \"\xe9\"\n").unwrap();
        std::fs::write(dir.path().join(".hidden.toml"), "garbage").unwrap();
        let errors = check_dir(dir.path());
        assert_eq!(errors.iter().map(|e| e.check).collect::<Vec<_>>(), vec!["read"]);
    }

    #[test]
    fn prefix_and_suffix_are_bytes() {
        let text = SCANNER.replace(
            "suffix = \"\\r\"",
            "prefix = \"\\u0002\"\nsuffix = \"\\r\\n\\u001d\\u00ff\"",
        );
        let p = parse("bytes.toml", &text.replace("NAME", "bytes")).unwrap();
        let fr = p.framing().unwrap();
        assert_eq!(fr.prefix, vec![0x02]);
        assert_eq!(fr.suffix, vec![b'\r', b'\n', 0x1d, 0xff]);
    }

    #[test]
    fn usb_ids_and_globs() {
        assert_eq!(
            UsbId::parse("0C2E:*"),
            Some(UsbId {
                vendor: 0x0c2e,
                product: None
            })
        );
        assert_eq!(
            UsbId::parse("05e0:1900"),
            Some(UsbId {
                vendor: 0x05e0,
                product: Some(0x1900)
            })
        );
        for bad in ["0c2e:zz", "c2e:*", "0c2e", "0c2e:*:1", "+c2e:*", "0c2e:12345"] {
            assert_eq!(UsbId::parse(bad), None, "{bad}");
        }
        assert!(UsbId::parse("0c2e:*").unwrap().matches(0x0c2e, 0x1234));
        assert_eq!(UsbId::parse("0c2e:*").unwrap().to_string(), "0c2e:*");
        assert!(glob_match("usb-*-if00", "usb-Honeywell_1900-if00"));
        assert!(!glob_match("usb-*-if00", "usb-Silicon_Labs-if00-port0"));
        assert!(glob_match("usb-*-if00*", "usb-Silicon_Labs-if00-port0"));
        assert!(glob_match("H6?[0-9]", "H6X7"));
        assert!(!glob_match("H6?[!0-9]", "H6X7"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbc"));
        assert!(!glob_match("a*b*c", "aXbYb"));
        assert_eq!(glob_problem("[abc"), Some("`[` is not closed by `]`".into()));
        assert_eq!(glob_problem("abc]"), Some("`]` without `[`".into()));
        assert_eq!(glob_problem(" "), Some("the glob is empty".into()));
        assert_eq!(glob_problem("a[]]b"), None);
    }

    #[test]
    fn terminals_match_by_dmi_or_device_tree() {
        let text = TERMINAL.replace(
            "[screen]",
            "[match.dmi]\nsys_vendor = \"ACME*\"\nproduct_name = \"H6\"\n\n[screen]",
        );
        let p = parse("acme-h6.toml", &text.replace("NAME", "acme-h6")).unwrap();
        let dmi = |f: DmiField| match f {
            DmiField::SysVendor => Some("ACME Rugged Ltd\n".to_string()),
            DmiField::ProductName => Some("H6".to_string()),
            _ => None,
        };
        assert!(p.matches.fits_machine(dmi, None, &[]));
        assert!(!p.matches.fits_machine(|_| None, Some("ACME H6"), &["acme,h6"]));
        let generic = load_all(Path::new("/nonexistent"))
            .get("generic-handheld")
            .unwrap()
            .clone();
        assert!(
            generic.matches.is_empty(),
            "the generic terminal is a fallback and matches nothing by itself"
        );
    }

    #[test]
    fn slint_key_texts() {
        assert_eq!(Key::F1.text(), '\u{F704}');
        assert_eq!(Key::F24.text(), '\u{F71B}');
        assert_eq!(Key::Return.text(), '\n');
        assert_eq!(Key::from_text("\u{1b}"), Some(Key::Escape));
        assert_eq!(Key::from_text("a"), None);
        let texts: BTreeSet<char> = Key::ALL.iter().map(|k| k.text()).collect();
        assert_eq!(texts.len(), Key::ALL.len(), "key texts are distinct");
        assert_eq!(
            Key::from_name("Back"),
            None,
            "Back is never reported by the linuxkms or winit backends"
        );
    }

    #[test]
    fn check_names_are_unique() {
        let names: BTreeSet<&str> = CHECKS.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), CHECKS.len());
    }

    #[test]
    fn every_check_has_its_chinese_words() {
        let en: Vec<&str> = CHECKS.iter().map(|c| c.name).collect();
        let zh: Vec<&str> = CHECKS_ZH.iter().map(|(n, _)| *n).collect();
        assert_eq!(en, zh);
        for (name, words) in CHECKS_ZH {
            assert!(words.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{name}");
        }
        let e = &load_one("many.toml", &RFID.replace("q = 4", "q = 16"))[0];
        use crate::domain::text::Bilingual;
        assert_eq!(
            e.message_zh(),
            format!(
                "{}:16: rfid.q: `q` 须为 0–15（16 is out of range 0–15） [q-range]",
                e.file
            )
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_all_reported_with_the_checks_after_them() {
        let text = SCANNER
            .replace("suffix = ", "sufix = ")
            .replace("baud = 115200", "baud = \"fast\"\nparity = \"mark\"\nbits = 8")
            .replace("gap_ms = 50", "gap_ms = 2000");
        let errors = load_one("many.toml", &text);
        let got: BTreeSet<(&str, &str, Option<u32>)> =
            errors.iter().map(|e| (e.check, e.field.as_str(), e.line)).collect();
        assert_eq!(
            got,
            BTreeSet::from([
                ("parse", "transport.serial.baud", Some(12)),
                ("parse", "transport.serial.bits", Some(14)),
                ("parse", "framing.sufix", Some(17)),
            ]),
            "{errors:#?}"
        );
        assert_eq!(
            errors.len(),
            3,
            "a required value of the wrong type (baud) ends the parse: {errors:#?}"
        );
        let text = SCANNER
            .replace("suffix = ", "sufix = ")
            .replace("baud = 115200", "baud = 115200\nparity = \"mark\"\nbits = 8")
            .replace("gap_ms = 50", "gap_ms = 2000");
        let errors = load_one("many.toml", &text);
        let got: BTreeSet<(&str, &str)> = errors.iter().map(|e| (e.check, e.field.as_str())).collect();
        assert_eq!(
            got,
            BTreeSet::from([
                ("parse", "transport.serial.bits"),
                ("parse", "framing.sufix"),
                ("parity-known", "transport.serial.parity"),
                ("gap-range", "framing.gap_ms"),
            ]),
            "{errors:#?}"
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
        // Every problem of a wedge: its path and its framing.
        let text = WEDGE
            .replace("/dev/input/lotline-wedge", "/dev/lotline-wedge")
            .replace("suffix = \"\\r\"", "suffix = \"\\u001d\"");
        let checks: BTreeSet<&str> = load_one("w.toml", &text).iter().map(|e| e.check).collect();
        assert_eq!(checks, BTreeSet::from(["path-format", "framing-fits-transport"]));
    }
}
