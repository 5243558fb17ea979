//! The Impinj-R2000 module serial protocol (header `0xA0`), both sides: the host commands and a
//! stream decoder for the module's replies ([`R2000`], [`R2000Decoder`]), and the module side for
//! the simulator ([`R2000Module`]).
//!
//! Frame, both directions: `A0 | Len | Addr | Cmd | Data… | Check`. `Len` counts the bytes after
//! it (Addr, Cmd, Data and Check); `Check` is the two's complement of the 8-bit sum of every byte
//! before it, so a good frame sums to zero.
//!
//! Sources of the facts (`../shared/hardware/protocols.md` §1a, and the drivers it cites, re-read
//! for this module):
//! - Framing, checksum, command codes, the verified frames in the tests: protocols.md §1a;
//!   `hex-in/pyImpinj` `pyImpinj/protocol.py` (frame builder, `session_inventory`,
//!   `set_access_epc_match`, `read`) and `pyImpinj/__init__.py` (`handle_packet`, `read()`).
//! - Error codes and their names: `pyImpinj/enums.py` `ImpinjR2KGlobalErrors`.
//! - Region codes 1 = FCC, 2 = ETSI, 3 = CHN, 4 = user-defined, and the `[region, start, end]`
//!   layout of 0x78: `pyImpinj/enums.py` `ImpinjR2KRegion`, `pyImpinj/__init__.py`
//!   `set_frequency_region`, vendor demo `xinxinyun/wms` `com/reader/base/ReaderBase.java`
//!   `setFrequencyRegion` / `setUserDefineFrequency`.
//! - Frequency table (index → MHz): `pyImpinj/constant.py` `FREQUENCY_TABLES` = 865.0–868.0 MHz in
//!   0.5 MHz steps (indices 0x00–0x06), then 902.0–928.0 MHz in 0.5 MHz steps (0x07–0x3B).
//! - Replies (version = `[major, minor]`, set commands = one status byte, read = `TagCount(2)
//!   DataLen PC EPC CRC Data ReadLen AntID ReadCount`, 8-port antenna bit in the RSSI byte):
//!   `xinxinyun/wms` `com/reader/helper/ReaderHelper.java` (`processGetFirmwareVersion`,
//!   `processSet`, `processReadTag`, `processRealTimeInventory`).
//! - Temporary power 0x66 range 20–33 dBm: `ReaderBase.java` `setTemporaryOutputPower`
//!   (pyImpinj asserts 22–33).
//!
//! Not confirmed against a module or the vendor manual (marked where used): the user-defined region
//! used for China 840–845 MHz, the 8-port antenna-bank bit, and the fast-switch (0x8A) round end.

use super::gen2;
use super::resync::ByteQueue;
use super::{
    FrameError, HostCommand, InventoryConfig, InventoryMode, ReaderDecoder, ReaderEmulation, ReaderMsg, ReaderProtocol,
    Region, TagReport, Target,
};

/// The frame header byte.
pub const HEAD: u8 = 0xA0;
/// The public / broadcast reader address.
pub const BROADCAST: u8 = 0xFF;
/// The status byte of a successful set command.
pub const SUCCESS: u8 = 0x10;
/// The longest frame on the wire: `Len` is one byte, plus header and length byte.
pub const MAX_FRAME: usize = 0xFF + 2;

/// Command codes used here (`pyImpinj/enums.py` `ImpinjR2KCommands`).
pub mod cmd {
    pub const SET_TEMPORARY_OUTPUT_POWER: u8 = 0x66;
    pub const SET_RF_LINK_PROFILE: u8 = 0x69;
    pub const RESET: u8 = 0x70;
    pub const SET_UART_BAUDRATE: u8 = 0x71;
    pub const GET_FIRMWARE_VERSION: u8 = 0x72;
    pub const SET_READER_ADDRESS: u8 = 0x73;
    pub const SET_WORK_ANTENNA: u8 = 0x74;
    pub const SET_RF_POWER: u8 = 0x76;
    pub const SET_FREQUENCY_REGION: u8 = 0x78;
    pub const SET_BEEPER_MODE: u8 = 0x7A;
    pub const READ: u8 = 0x81;
    pub const SET_ACCESS_EPC_MATCH: u8 = 0x85;
    pub const REAL_TIME_INVENTORY: u8 = 0x89;
    pub const FAST_SWITCH_ANT_INVENTORY: u8 = 0x8A;
    pub const CUSTOMIZED_SESSION_TARGET_INVENTORY: u8 = 0x8B;
}

/// Two's complement of the 8-bit sum: the check byte of `bytes` (everything before it).
pub fn check(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b)).wrapping_neg()
}

/// One frame: `A0 | Len | addr | cmd | data | Check`. `data` longer than 252 bytes is cut to fit.
pub fn frame(addr: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
    let data = &data[..data.len().min(0xFF - 3)];
    let mut f = Vec::with_capacity(data.len() + 5);
    f.extend_from_slice(&[HEAD, (data.len() + 3) as u8, addr, cmd]);
    f.extend_from_slice(data);
    f.push(check(&f));
    f
}

macro_rules! error_names {
    ($($h:literal)*) => { [$(error_names!(@row $h)),*] };
    (@row $h:literal) => { [
        concat!("error 0x", $h, "0"), concat!("error 0x", $h, "1"), concat!("error 0x", $h, "2"),
        concat!("error 0x", $h, "3"), concat!("error 0x", $h, "4"), concat!("error 0x", $h, "5"),
        concat!("error 0x", $h, "6"), concat!("error 0x", $h, "7"), concat!("error 0x", $h, "8"),
        concat!("error 0x", $h, "9"), concat!("error 0x", $h, "A"), concat!("error 0x", $h, "B"),
        concat!("error 0x", $h, "C"), concat!("error 0x", $h, "D"), concat!("error 0x", $h, "E"),
        concat!("error 0x", $h, "F"),
    ] };
}

const UNNAMED: [[&str; 16]; 16] = error_names!("0" "1" "2" "3" "4" "5" "6" "7" "8" "9" "A" "B" "C" "D" "E" "F");

/// The name of an R2000 status / error code (`pyImpinj/enums.py` `ImpinjR2KGlobalErrors`);
/// `"error 0xNN"` for a code without a name.
pub fn error_message(code: u8) -> &'static str {
    match code {
        0x10 => "success",
        0x11 => "command failed",
        0x20 => "MCU reset error",
        0x21 => "CW on error",
        0x22 => "antenna missing",
        0x23 => "write flash error",
        0x24 => "read flash error",
        0x25 => "set output power error",
        0x31 => "inventory error",
        0x32 => "tag read error",
        0x33 => "tag write error",
        0x34 => "tag lock error",
        0x35 => "tag kill error",
        0x36 => "no tag",
        0x37 => "inventory OK but access failed",
        0x38 => "inventory buffer empty",
        0x3C => "NXP custom command failed",
        0x40 => "access or password error",
        0x41 => "parameter invalid",
        0x42 => "parameter invalid: word count too long",
        0x43 => "parameter invalid: memory bank out of range",
        0x44 => "parameter invalid: lock region out of range",
        0x45 => "parameter invalid: lock action out of range",
        0x46 => "parameter invalid: reader address",
        0x47 => "parameter invalid: antenna out of range",
        0x48 => "parameter invalid: output power out of range",
        0x49 => "parameter invalid: frequency region out of range",
        0x4A => "parameter invalid: baud rate out of range",
        0x4B => "parameter invalid: beeper mode out of range",
        0x4C => "parameter invalid: EPC match too long",
        0x4D => "parameter invalid: EPC match length",
        0x4E => "parameter invalid: EPC match mode",
        0x4F => "parameter invalid: frequency range",
        0x50 => "no RN16 from tag",
        0x51 => "parameter invalid: DRM mode",
        0x52 => "PLL lock failed",
        0x53 => "RF chip not responding",
        0x54 => "desired output power not reached",
        0x55 => "copyright authentication failed",
        0x56 => "spectrum regulation error",
        0x57 => "output power too low",
        _ => UNNAMED[usize::from(code >> 4)][usize::from(code & 0xF)],
    }
}

/// `0x78` data for a region: `[region, start index, end index]` into the module's 0.5 MHz table,
/// or the user-defined form `[4, spacing/10 kHz, channels, start kHz (3 bytes, MSB first)]`.
///
/// - FCC: code 1, 902.0–928.0 MHz (indices 0x07–0x3B).
/// - ETSI: code 2, 865.0–868.0 MHz (0x00–0x06).
/// - China 920: code 3 (CHN), 920.0–925.0 MHz (0x2B–0x35). The module's table steps 0.5 MHz, so the
///   channels are 920.0, 920.5 … 925.0, not the GB/T 29768 grid 920.125 + n·0.25.
/// - China 840: no built-in region; user-defined 840.125 MHz + n·250 kHz, 20 channels
///   (840.125–844.875). **[unverified]**: layout from `ReaderBase.java` `setUserDefineFrequency`;
///   not every firmware accepts region 4.
pub fn region_data(region: Region) -> Vec<u8> {
    match region {
        Region::Fcc => vec![1, 0x07, 0x3B],
        Region::Etsi => vec![2, 0x00, 0x06],
        Region::China920 => vec![3, 0x2B, 0x35],
        Region::China840 => {
            let start_khz: u32 = 840_125;
            let [_, a, b, c] = start_khz.to_be_bytes();
            vec![4, 25, 20, a, b, c]
        }
    }
}

/// The host side of the R2000 protocol. `address` is the reader address put in every command
/// (0xFF = broadcast, which every module answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct R2000 {
    pub address: u8,
}

impl Default for R2000 {
    fn default() -> Self {
        R2000 { address: BROADCAST }
    }
}

impl R2000 {
    fn cmd(&self, cmd: u8, data: &[u8]) -> Vec<u8> {
        frame(self.address, cmd, data)
    }

    /// The 0x66 power byte: dBm rounded, clamped to the 20–33 dBm the command accepts.
    fn power_byte(power_dbm: f32) -> u8 {
        if power_dbm.is_nan() {
            20
        } else {
            power_dbm.round().clamp(20.0, 33.0) as u8
        }
    }
}

impl ReaderProtocol for R2000 {
    fn name(&self) -> &'static str {
        "r2000"
    }

    fn default_baud(&self) -> u32 {
        115_200
    }

    fn mode(&self) -> InventoryMode {
        InventoryMode::PerRound
    }

    fn decoder(&self) -> Box<dyn ReaderDecoder> {
        Box::new(R2000Decoder::new())
    }

    fn probe(&self) -> Vec<u8> {
        self.cmd(cmd::GET_FIRMWARE_VERSION, &[])
    }

    /// Work antenna (0x74, `antenna − 1`), temporary output power (0x66, not written to flash, so
    /// it must be sent again after every power-cycle), frequency region (0x78, see
    /// [`region_data`]). Session and target travel with every round (0x8B); the protocol has no Q
    /// setting, so `cfg.q` is not used.
    fn configure(&self, cfg: &InventoryConfig) -> Vec<Vec<u8>> {
        vec![
            self.cmd(cmd::SET_WORK_ANTENNA, &[cfg.antenna.saturating_sub(1).min(7)]),
            self.cmd(cmd::SET_TEMPORARY_OUTPUT_POWER, &[Self::power_byte(cfg.power_dbm)]),
            self.cmd(cmd::SET_FREQUENCY_REGION, &region_data(cfg.region)),
        ]
    }

    /// One round of 0x8B customized session/target inventory: `[session, target 0=A/1=B, repeat 1]`.
    fn start_inventory(&self, cfg: &InventoryConfig, target: Target) -> Vec<Vec<u8>> {
        let t = match target {
            Target::A => 0,
            Target::B => 1,
        };
        vec![self.cmd(cmd::CUSTOMIZED_SESSION_TARGET_INVENTORY, &[cfg.session & 3, t, 1])]
    }

    fn stop_inventory(&self) -> Option<Vec<u8>> {
        None
    }

    /// 0x85 SetAccessEpcMatch `[mode 0, EPC length, EPC]`, then 0x81 Read
    /// `[bank 2 (TID), word address 0, word count, access password 00000000]`.
    /// `None` for an empty EPC or one too long for a frame.
    fn read_tid(&self, epc: &[u8], words: u8) -> Option<Vec<Vec<u8>>> {
        if epc.is_empty() || epc.len() > 0xFF - 5 {
            return None;
        }
        let mut m = Vec::with_capacity(epc.len() + 2);
        m.extend_from_slice(&[0, epc.len() as u8]);
        m.extend_from_slice(epc);
        Some(vec![
            self.cmd(cmd::SET_ACCESS_EPC_MATCH, &m),
            self.cmd(cmd::READ, &[2, 0, words, 0, 0, 0, 0]),
        ])
    }
}

/// The frame scanner both directions share: a byte buffer with a start index, header search,
/// length and checksum checks, and the count of bytes skipped since the last reported event.
#[derive(Debug, Default)]
struct Scanner(ByteQueue);

impl std::ops::Deref for Scanner {
    type Target = ByteQueue;
    fn deref(&self) -> &ByteQueue {
        &self.0
    }
}

impl std::ops::DerefMut for Scanner {
    fn deref_mut(&mut self) -> &mut ByteQueue {
        &mut self.0
    }
}

impl Scanner {
    /// The next whole, checksum-good frame as a range of `buf`, or `None` when more bytes are needed.
    /// Errors (and the garbage count before them) go to `out` in stream order. `max_len(cmd)` is the
    /// largest `Len` a frame with that command can have.
    fn next<T>(
        &mut self,
        out: &mut Vec<Result<T, FrameError>>,
        max_len: fn(u8) -> usize,
    ) -> Option<std::ops::Range<usize>> {
        loop {
            let rest = &self.buf[self.pos..];
            let Some(i) = rest.iter().position(|&b| b == HEAD) else {
                self.garbage += rest.len();
                self.pos = self.buf.len();
                return None;
            };
            self.garbage += i;
            self.pos += i;
            let rest = &self.buf[self.pos..];
            if rest.len() < 2 {
                return None;
            }
            let len = usize::from(rest[1]);
            if len < 3 {
                self.reject(out, FrameError::Malformed(format!("R2000 frame length {len} < 3")));
                continue;
            }
            if rest.len() >= 4 && len > max_len(rest[3]) {
                let why = format!("R2000 frame length {len} impossible for command {:#04x}", rest[3]);
                self.reject(out, FrameError::Malformed(why));
                continue;
            }
            let total = len + 2;
            if rest.len() < total {
                return None;
            }
            let expected = check(&rest[..total - 1]);
            let found = rest[total - 1];
            if expected != found {
                let err = FrameError::BadChecksum {
                    expected: expected.into(),
                    found: found.into(),
                };
                self.reject(out, err);
                continue;
            }
            self.flush_garbage(out);
            let start = self.pos;
            self.pos += total;
            return Some(start..start + total);
        }
    }
}

/// The largest `Len` of a module → host frame. Tag reports carry FreqAnt, PC, at most 62 EPC bytes
/// (plus room for an XPC word or phase bytes) and RSSI; set-command and version replies one or two
/// bytes. Anything else may use the whole byte.
fn reply_max_len(cmd: u8) -> usize {
    match cmd {
        cmd::REAL_TIME_INVENTORY | cmd::FAST_SWITCH_ANT_INVENTORY | cmd::CUSTOMIZED_SESSION_TARGET_INVENTORY => 0x50,
        cmd::SET_TEMPORARY_OUTPUT_POWER
        | cmd::SET_RF_LINK_PROFILE
        | cmd::RESET
        | cmd::SET_UART_BAUDRATE
        | cmd::GET_FIRMWARE_VERSION
        | cmd::SET_READER_ADDRESS
        | cmd::SET_WORK_ANTENNA
        | cmd::SET_RF_POWER
        | cmd::SET_FREQUENCY_REGION
        | cmd::SET_BEEPER_MODE
        | cmd::SET_ACCESS_EPC_MATCH => 0x0B,
        _ => 0xFF,
    }
}

fn any_len(_cmd: u8) -> usize {
    0xFF
}

fn status(cmd: u8, code: u8) -> ReaderMsg {
    ReaderMsg::Status {
        cmd,
        code: code.into(),
        message: error_message(code),
    }
}

/// A 0x89 / 0x8A / 0x8B tag report: `FreqAnt | PC | EPC | RSSI`. The EPC is every byte between the
/// PC and the RSSI (the vendor demo does the same); the frame carries no EPC CRC.
///
/// RSSI dBm = byte − 129. On 8-port modules bit 7 of the RSSI byte selects antennas 5–8 (vendor
/// demo `ReaderHelper.java` **[unverified on hardware]**); with it set the dBm comes from the low 7
/// bits. A 4-port module never sets it: that would be ≥ −1 dBm.
fn decode_tag(data: &[u8]) -> Result<ReaderMsg, FrameError> {
    let n = data.len();
    if n < 6 {
        return Err(FrameError::Malformed(format!(
            "R2000 tag report of {n} bytes has no EPC"
        )));
    }
    let pc = u16::from_be_bytes([data[1], data[2]]);
    let rssi = data[n - 1];
    let mut antenna = (data[0] & 3) + 1;
    if rssi & 0x80 != 0 {
        antenna += 4;
    }
    let rssi_dbm = i16::from(rssi & 0x7F) - 129;
    Ok(ReaderMsg::Tag(TagReport {
        epc: data[3..n - 1].to_vec(),
        pc,
        rssi_dbm: Some(rssi_dbm),
        antenna: Some(antenna),
        tid: None,
    }))
}

/// Replies to an inventory command, told apart by the data length: 1 = error code, 7 = end of round,
/// more = a tag. 0x8A (fast switch) ends with `TotalRead(3) Duration ms(4)` and reports a missing
/// antenna as `[ant, code]` (`pyImpinj/__init__.py`; **[unverified]**).
fn decode_inventory(cmd: u8, data: &[u8]) -> Result<ReaderMsg, FrameError> {
    match data.len() {
        1 => Ok(status(cmd, data[0])),
        2 if cmd == cmd::FAST_SWITCH_ANT_INVENTORY => Ok(status(cmd, data[1])),
        7 if cmd == cmd::FAST_SWITCH_ANT_INVENTORY => {
            let total = u32::from_be_bytes([0, data[0], data[1], data[2]]);
            let ms = u32::from_be_bytes([data[3], data[4], data[5], data[6]]);
            let rate = (u64::from(total) * 1000).checked_div(u64::from(ms)).unwrap_or(0);
            Ok(ReaderMsg::RoundEnd {
                read_rate: Some(rate.min(u32::MAX.into()) as u32),
                total_reads: Some(total),
            })
        }
        7 => Ok(ReaderMsg::RoundEnd {
            read_rate: Some(u16::from_be_bytes([data[1], data[2]]).into()),
            total_reads: Some(u32::from_be_bytes([data[3], data[4], data[5], data[6]])),
        }),
        _ => decode_tag(data),
    }
}

/// A 0x81 read reply: `TagCount(2) DataLen PC(2) EPC CRC(2) Data ReadLen AntID ReadCount`, where
/// DataLen counts PC + EPC + CRC + Data and ReadLen the data bytes. The CRC is the tag's StoredCRC,
/// checked against PC + EPC.
fn decode_read(cmd: u8, data: &[u8]) -> Result<ReaderMsg, FrameError> {
    if data.len() == 1 {
        return Ok(status(cmd, data[0]));
    }
    let bad = |why: &str| Err(FrameError::Malformed(format!("R2000 read reply: {why}")));
    let n = data.len();
    if n < 10 {
        return bad("too short");
    }
    let data_len = usize::from(data[2]);
    let read_len = usize::from(data[n - 3]);
    if 3 + data_len + 3 != n {
        return bad("DataLen does not match the frame");
    }
    if data_len < 4 + read_len {
        return bad("ReadLen longer than DataLen");
    }
    let epc_len = data_len - 4 - read_len;
    let pc = u16::from_be_bytes([data[3], data[4]]);
    let epc = &data[5..5 + epc_len];
    let crc = u16::from_be_bytes([data[5 + epc_len], data[6 + epc_len]]);
    if gen2::epc_crc(pc, epc) != crc {
        return Err(FrameError::EpcCrc {
            epc_hex: gen2::hex(epc),
        });
    }
    let bank = &data[7 + epc_len..7 + epc_len + read_len];
    Ok(ReaderMsg::BankData {
        epc: Some(epc.to_vec()),
        data: bank.to_vec(),
    })
}

/// One checksum-good module → host frame to a message.
fn decode_reply(f: &[u8]) -> Result<ReaderMsg, FrameError> {
    let cmd = f[3];
    let data = &f[4..f.len() - 1];
    match cmd {
        cmd::REAL_TIME_INVENTORY | cmd::FAST_SWITCH_ANT_INVENTORY | cmd::CUSTOMIZED_SESSION_TARGET_INVENTORY => {
            decode_inventory(cmd, data)
        }
        cmd::GET_FIRMWARE_VERSION if data.len() == 2 => Ok(ReaderMsg::Version(format!("{}.{}", data[0], data[1]))),
        cmd::READ => decode_read(cmd, data),
        _ => match data {
            [] => Err(FrameError::Malformed(format!("R2000 reply {cmd:#04x} without data"))),
            [SUCCESS] => Ok(ReaderMsg::Ok { cmd }),
            [code] => Ok(status(cmd, *code)),
            // A get command's data (power, region, temperature...): the command succeeded.
            _ => Ok(ReaderMsg::Ok { cmd }),
        },
    }
}

/// Stream decoder for module → host bytes. Frames from any reader address are accepted.
#[derive(Debug, Default)]
pub struct R2000Decoder {
    scan: Scanner,
}

impl R2000Decoder {
    pub fn new() -> Self {
        Self::default()
    }
}

impl ReaderDecoder for R2000Decoder {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<Result<ReaderMsg, FrameError>>) {
        self.scan.push(bytes);
        while let Some(r) = self.scan.next(out, reply_max_len) {
            out.push(decode_reply(&self.scan.buf[r]));
        }
        self.scan.compact();
    }

    fn reset(&mut self) {
        self.scan.reset();
    }
}

/// The module side, for the simulator: decodes what [`R2000`] sends and frames replies as a module
/// does (same address in every reply, the inventory command echoed in tag frames).
#[derive(Debug)]
pub struct R2000Module {
    /// The address the module answers with.
    pub address: u8,
    /// Firmware version `(major, minor)` answered to 0x72.
    pub version: (u8, u8),
    /// Frequency-table index reported in tag frames (0x2B = 920.0 MHz).
    pub freq_index: u8,
    scan: Scanner,
    /// The EPC set by the last 0x85 (None after a 0x85 with mode 1 = clear).
    epc_match: Option<Vec<u8>>,
    /// The inventory command of the last round asked for: tag frames echo it.
    inventory_cmd: u8,
}

impl Default for R2000Module {
    fn default() -> Self {
        R2000Module {
            address: BROADCAST,
            version: (1, 8),
            freq_index: 0x2B,
            scan: Scanner::default(),
            epc_match: None,
            inventory_cmd: cmd::CUSTOMIZED_SESSION_TARGET_INVENTORY,
        }
    }
}

impl R2000Module {
    pub fn new() -> Self {
        Self::default()
    }

    /// An error reply to `cmd` with this code (e.g. 0x36 no tag, 0x22 antenna missing).
    pub fn error(&self, cmd: u8, code: u8) -> Vec<u8> {
        frame(self.address, cmd, &[code])
    }

    fn decode_host(&mut self, f: &[u8]) -> Result<HostCommand, FrameError> {
        let cmd = f[3];
        let data = &f[4..f.len() - 1];
        let bad = |why: &str| Err(FrameError::Malformed(format!("R2000 command {cmd:#04x}: {why}")));
        match cmd {
            cmd::GET_FIRMWARE_VERSION => Ok(HostCommand::Version),
            cmd::SET_TEMPORARY_OUTPUT_POWER
            | cmd::SET_WORK_ANTENNA
            | cmd::SET_RF_POWER
            | cmd::SET_FREQUENCY_REGION
            | cmd::SET_BEEPER_MODE
            | cmd::SET_RF_LINK_PROFILE => {
                if data.is_empty() {
                    return bad("no data");
                }
                Ok(HostCommand::Configure { cmd })
            }
            cmd::SET_ACCESS_EPC_MATCH => match data {
                [0, n, epc @ ..] if usize::from(*n) == epc.len() => {
                    self.epc_match = Some(epc.to_vec());
                    Ok(HostCommand::Configure { cmd })
                }
                [1, ..] => {
                    self.epc_match = None;
                    Ok(HostCommand::Configure { cmd })
                }
                _ => bad("bad EPC match data"),
            },
            cmd::CUSTOMIZED_SESSION_TARGET_INVENTORY => match data {
                [session, target, ..] if *session <= 3 && *target <= 1 => {
                    self.inventory_cmd = cmd;
                    let target = if *target == 1 { Target::B } else { Target::A };
                    Ok(HostCommand::StartInventory {
                        session: Some(*session),
                        target: Some(target),
                    })
                }
                _ => bad("bad session/target"),
            },
            cmd::REAL_TIME_INVENTORY => {
                self.inventory_cmd = cmd;
                Ok(HostCommand::StartInventory {
                    session: None,
                    target: None,
                })
            }
            cmd::READ => match data {
                [2, _addr, words, ..] => Ok(HostCommand::ReadTid {
                    epc: self.epc_match.clone().unwrap_or_default(),
                    words: *words,
                }),
                [_, _, _, ..] => Ok(HostCommand::Unknown { cmd }),
                _ => bad("too short"),
            },
            _ => Ok(HostCommand::Unknown { cmd }),
        }
    }
}

impl ReaderEmulation for R2000Module {
    fn push_host(&mut self, bytes: &[u8], out: &mut Vec<Result<HostCommand, FrameError>>) {
        self.scan.push(bytes);
        while let Some(r) = self.scan.next(out, any_len) {
            let f = self.scan.buf[r].to_vec();
            out.push(self.decode_host(&f));
        }
        self.scan.compact();
    }

    /// Version → `[major, minor]`; Configure → `[0x10]`; Unknown → `[0x11]` (command failed).
    /// StartInventory, StopInventory and ReadTid have no reply of their own: a round is answered by
    /// [`tag`](ReaderEmulation::tag) frames and [`round_end`](ReaderEmulation::round_end), a read by
    /// [`tid_reply`](ReaderEmulation::tid_reply); R2000 has no stop command. Those give an empty Vec.
    fn answer(&self, c: &HostCommand) -> Vec<u8> {
        match c {
            HostCommand::Version => frame(
                self.address,
                cmd::GET_FIRMWARE_VERSION,
                &[self.version.0, self.version.1],
            ),
            HostCommand::Configure { cmd } => frame(self.address, *cmd, &[SUCCESS]),
            HostCommand::Unknown { cmd } => self.error(*cmd, 0x11),
            HostCommand::StartInventory { .. } | HostCommand::StopInventory | HostCommand::ReadTid { .. } => Vec::new(),
        }
    }

    /// `FreqAnt | PC | EPC | RSSI` under the last inventory command. The PC's length field is set
    /// from the EPC (at most 62 bytes); RSSI byte = dBm + 129 (default −60 dBm), 0–127; antennas
    /// 5–8 set bit 7 of the RSSI byte.
    fn tag(&self, tag: &TagReport) -> Vec<u8> {
        let epc = &tag.epc[..tag.epc.len().min(62)];
        let pc = (tag.pc & 0x07FF) | gen2::pc_for_len(epc.len());
        let ant = tag.antenna.unwrap_or(1).clamp(1, 8) - 1;
        let rssi = (tag.rssi_dbm.unwrap_or(-60) + 129).clamp(0, 127) as u8 | if ant >= 4 { 0x80 } else { 0 };
        let mut d = Vec::with_capacity(epc.len() + 4);
        d.push((self.freq_index << 2) | (ant & 3));
        d.extend_from_slice(&pc.to_be_bytes());
        d.extend_from_slice(epc);
        d.push(rssi);
        frame(self.address, self.inventory_cmd, &d)
    }

    /// `AntID(0) | ReadRate u16 | TotalRead u32` (total = `tags`), also for a round without tags.
    fn round_end(&self, tags: u32, reads_per_s: u32) -> Option<Vec<u8>> {
        let mut d = vec![0];
        d.extend_from_slice(&(reads_per_s.min(0xFFFF) as u16).to_be_bytes());
        d.extend_from_slice(&tags.to_be_bytes());
        Some(frame(self.address, self.inventory_cmd, &d))
    }

    /// A 0x81 reply for one tag: TagCount 1, PC from the EPC length, the EPC's CRC-16, the TID
    /// (cut to fit one frame), ReadLen, AntID 0, ReadCount 1.
    fn tid_reply(&self, epc: &[u8], tid: &[u8]) -> Vec<u8> {
        let epc = &epc[..epc.len().min(62)];
        let tid = &tid[..tid.len().min(0xFF - 3 - 3 - 4 - 3 - epc.len())];
        let pc = gen2::pc_for_len(epc.len());
        let mut d = Vec::with_capacity(epc.len() + tid.len() + 10);
        d.extend_from_slice(&[0, 1, (4 + epc.len() + tid.len()) as u8]);
        d.extend_from_slice(&pc.to_be_bytes());
        d.extend_from_slice(epc);
        d.extend_from_slice(&gen2::epc_crc(pc, epc).to_be_bytes());
        d.extend_from_slice(tid);
        d.extend_from_slice(&[tid.len() as u8, 0, 1]);
        frame(self.address, cmd::READ, &d)
    }
}

#[cfg(test)]
mod tests {
    use super::gen2::{hex, unhex};
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        unhex(s).expect("test hex")
    }

    fn decode_all(chunks: &[&[u8]]) -> Vec<Result<ReaderMsg, FrameError>> {
        let mut d = R2000Decoder::new();
        let mut out = Vec::new();
        for c in chunks {
            d.push(c, &mut out);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Vec<Result<ReaderMsg, FrameError>> {
        decode_all(&[bytes])
    }

    fn host_all(bytes: &[u8]) -> Vec<Result<HostCommand, FrameError>> {
        let mut m = R2000Module::new();
        let mut out = Vec::new();
        m.push_host(bytes, &mut out);
        out
    }

    const TAG: &str = "A0 13 01 89 8C 30 00 E2 00 00 1D 73 15 01 65 21 40 8F C6 5A 0A";
    const ROUND_END: &str = "A0 0A 01 89 00 00 64 00 00 01 F4 73";

    fn tag_msg() -> ReaderMsg {
        ReaderMsg::Tag(TagReport {
            epc: h("E200001D7315016521408FC6"),
            pc: 0x3000,
            rssi_dbm: Some(-39),
            antenna: Some(1),
            tid: None,
        })
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn verified_command_frames_are_byte_exact() {
        let p = R2000::default();
        let p1 = R2000 { address: 1 };
        let s2 = InventoryConfig {
            session: 2,
            ..InventoryConfig::default()
        };
        let s3 = InventoryConfig {
            session: 3,
            ..InventoryConfig::default()
        };
        let cases: [(Vec<u8>, &str); 5] = [
            (frame(1, 0x89, &[1]), "A0 04 01 89 01 D1"),
            (frame(0xFF, 0x89, &[0xFF]), "A0 04 FF 89 FF D5"),
            (p.probe(), "A0 03 FF 72 EC"),
            (p.start_inventory(&s2, Target::A).concat(), "A0 06 FF 8B 02 00 01 CD"),
            (p1.start_inventory(&s3, Target::A).concat(), "A0 06 01 8B 03 00 01 CA"),
        ];
        for (got, want) in cases {
            assert_eq!(hex(&got), hex(&h(want)), "{want}");
        }
    }

    #[test]
    fn configure_sets_antenna_power_and_region() {
        let p = R2000::default();
        let cases = [
            (1, 26.0, Region::China920, ["74 00", "66 1A", "78 03 2B 35"]),
            (2, 33.0, Region::Fcc, ["74 01", "66 21", "78 01 07 3B"]),
            (4, 10.0, Region::Etsi, ["74 03", "66 14", "78 02 00 06"]),
            (1, 40.0, Region::China840, ["74 00", "66 21", "78 04 19 14 0C D1 BD"]),
            (1, f32::NAN, Region::China920, ["74 00", "66 14", "78 03 2B 35"]),
        ];
        for (antenna, power_dbm, region, want) in cases {
            let cfg = InventoryConfig {
                antenna,
                power_dbm,
                region,
                ..InventoryConfig::default()
            };
            let got = p.configure(&cfg);
            assert_eq!(got.len(), want.len());
            for (f, w) in got.iter().zip(want) {
                let w = h(w);
                assert_eq!(hex(f), hex(&frame(0xFF, w[0], &w[1..])), "{region:?}");
                assert_eq!(check(&f[..f.len() - 1]), f[f.len() - 1]);
            }
        }
        // 0x2B and 0x35 are 920.0 and 925.0 MHz in the module's table.
        let table = |i: u8| {
            if i < 7 {
                865.0 + f32::from(i) * 0.5
            } else {
                902.0 + f32::from(i - 7) * 0.5
            }
        };
        assert_eq!(
            (table(0x2B), table(0x35), table(0x07), table(0x3B), table(0x06)),
            (920.0, 925.0, 902.0, 928.0, 868.0)
        );
    }

    #[test]
    fn read_tid_is_epc_match_then_read_bank_2() {
        let epc = h("E200001D7315016521408FC6");
        let cmds = R2000::default().read_tid(&epc, 6).unwrap();
        assert_eq!(
            hex(&cmds[0]),
            hex(&frame(0xFF, 0x85, &h("00 0C E200001D7315016521408FC6")))
        );
        assert_eq!(hex(&cmds[1]), hex(&frame(0xFF, 0x81, &h("02 00 06 00 00 00 00"))));
        assert_eq!(R2000::default().read_tid(&[], 6), None);
        assert_eq!(R2000::default().stop_inventory(), None);
        assert_eq!(R2000::default().mode(), InventoryMode::PerRound);
    }

    #[test]
    fn verified_response_frames_decode() {
        let cases: Vec<(String, ReaderMsg)> = vec![
            (TAG.into(), tag_msg()),
            (
                ROUND_END.into(),
                ReaderMsg::RoundEnd {
                    read_rate: Some(100),
                    total_reads: Some(500),
                },
            ),
        ];
        for (f, want) in cases {
            assert_eq!(decode(&h(&f)), vec![Ok(want)], "{f}");
        }
        // The tag frame's fields as protocols.md names them.
        let f = h(TAG);
        assert_eq!(f[4] >> 2, 0x23, "frequency index");
        assert_eq!(check(&f[..f.len() - 1]), 0x0A);
    }

    #[test]
    fn status_replies_name_their_error() {
        let cases = [
            (0x8B, 0x22, "antenna missing"),
            (0x89, 0x31, "inventory error"),
            (0x8B, 0x36, "no tag"),
            (0x81, 0x40, "access or password error"),
            (0x66, 0x41, "parameter invalid"),
            (0x74, 0x99, "error 0x99"),
            (0x78, 0x0A, "error 0x0A"),
            (0x72, 0x11, "command failed"),
        ];
        for (cmd, code, message) in cases {
            let got = decode(&frame(1, cmd, &[code]));
            assert_eq!(
                got,
                vec![Ok(ReaderMsg::Status {
                    cmd,
                    code: code.into(),
                    message
                })]
            );
        }
        assert_eq!(decode(&frame(1, 0x66, &[0x10])), vec![Ok(ReaderMsg::Ok { cmd: 0x66 })]);
        assert_eq!(
            decode(&frame(1, 0x72, &[1, 8])),
            vec![Ok(ReaderMsg::Version("1.8".into()))]
        );
        // A get reply carrying data is an Ok for that command.
        assert_eq!(
            decode(&frame(1, 0x79, &[3, 0x2B, 0x35])),
            vec![Ok(ReaderMsg::Ok { cmd: 0x79 })]
        );
    }

    #[test]
    fn eight_port_antenna_bit_and_fast_switch_end() {
        // FreqAnt antenna 2 (bits 01), RSSI bit 7 set → antenna 6; low bits 0x4E = 78 → −51 dBm.
        let mut d = vec![(0x10 << 2) | 1, 0x30, 0x00];
        d.extend_from_slice(&[0x11; 12]);
        d.push(0x80 | 0x4E);
        let Ok(ReaderMsg::Tag(t)) = &decode(&frame(1, 0x89, &d))[0] else {
            panic!()
        };
        assert_eq!((t.antenna, t.rssi_dbm), (Some(6), Some(-51)));
        // 0x8A end: TotalRead(3) = 300, duration 2000 ms → 150/s.
        let got = decode(&frame(1, 0x8A, &h("00 01 2C 00 00 07 D0")));
        assert_eq!(
            got,
            vec![Ok(ReaderMsg::RoundEnd {
                read_rate: Some(150),
                total_reads: Some(300)
            })]
        );
        assert_eq!(
            decode(&frame(1, 0x8A, &[1, 0x22])),
            vec![Ok(ReaderMsg::Status {
                cmd: 0x8A,
                code: 0x22,
                message: "antenna missing"
            })]
        );
    }

    fn mixed_stream() -> (Vec<u8>, Vec<Result<ReaderMsg, FrameError>>) {
        let m = R2000Module::new();
        let tags: Vec<TagReport> = (0..5u8)
            .map(|i| TagReport {
                epc: vec![0xA0, i, 0xA0, 0x13, 0xE2, 0, 0, 0, 0, 0, 0, i],
                pc: 0x3000,
                rssi_dbm: Some(-40 - i16::from(i)),
                antenna: Some(1 + i % 4),
                tid: None,
            })
            .collect();
        let mut bytes = h(TAG);
        let mut want = vec![Ok(tag_msg())];
        for t in &tags {
            bytes.extend(m.tag(t));
            want.push(Ok(ReaderMsg::Tag(t.clone())));
        }
        bytes.extend(h(ROUND_END));
        want.push(Ok(ReaderMsg::RoundEnd {
            read_rate: Some(100),
            total_reads: Some(500),
        }));
        bytes.extend(frame(1, 0x8B, &[0x36]));
        want.push(Ok(ReaderMsg::Status {
            cmd: 0x8B,
            code: 0x36,
            message: "no tag",
        }));
        bytes.extend(m.tid_reply(&h("E200001D7315016521408FC6"), &h("E2801105200074CF")));
        want.push(Ok(ReaderMsg::BankData {
            epc: Some(h("E200001D7315016521408FC6")),
            data: h("E2801105200074CF"),
        }));
        (bytes, want)
    }

    #[test]
    fn any_chunking_gives_the_same_messages() {
        let (bytes, want) = mixed_stream();
        assert_eq!(decode(&bytes), want);
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode_all(&singles), want);
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200 {
            let mut chunks = Vec::new();
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(40));
                chunks.push(&rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(decode_all(&chunks), want);
        }
    }

    #[test]
    fn garbage_before_and_between_frames_is_reported_once_per_run() {
        let mut bytes = h("01 02 03");
        bytes.extend(h(TAG));
        bytes.extend(h("FF EE"));
        bytes.extend(h(ROUND_END));
        let want = vec![
            Err(FrameError::Garbage { bytes: 3 }),
            Ok(tag_msg()),
            Err(FrameError::Garbage { bytes: 2 }),
            Ok(ReaderMsg::RoundEnd {
                read_rate: Some(100),
                total_reads: Some(500),
            }),
        ];
        assert_eq!(decode(&bytes), want);
        assert_eq!(decode_all(&bytes.chunks(1).collect::<Vec<_>>()), want);
        // A run split across pushes is still one report.
        assert_eq!(
            decode_all(&[&h("01 02"), &h("03"), &h(TAG)])[0],
            Err(FrameError::Garbage { bytes: 3 })
        );
    }

    #[test]
    fn truncated_frame_then_good_frame() {
        let mut bytes = h(TAG)[..8].to_vec();
        bytes.extend(h(TAG));
        let got = decode(&bytes);
        assert!(matches!(got[0], Err(FrameError::BadChecksum { .. })), "{got:?}");
        assert_eq!(got[1..], [Err(FrameError::Garbage { bytes: 7 }), Ok(tag_msg())]);
    }

    #[test]
    fn flipped_checksum_bit_drops_only_that_frame() {
        let mut bad = h(TAG);
        *bad.last_mut().unwrap() ^= 0x04;
        let mut bytes = bad.clone();
        bytes.extend(h(TAG));
        let got = decode(&bytes);
        assert_eq!(
            got[0],
            Err(FrameError::BadChecksum {
                expected: 0x0A,
                found: 0x0E
            })
        );
        assert_eq!(got[1..], [Err(FrameError::Garbage { bytes: 20 }), Ok(tag_msg())]);
        // A flipped EPC bit: the frame checksum catches it (R2000 carries no EPC CRC).
        let mut bad = h(TAG);
        bad[10] ^= 0x01;
        assert!(matches!(decode(&bad)[0], Err(FrameError::BadChecksum { .. })));
    }

    #[test]
    fn bogus_length_does_not_swallow_following_frames() {
        // An impossible length for an inventory reply is rejected at once.
        let mut bytes = h("A0 FF 01 89");
        bytes.extend(h(TAG));
        bytes.extend(h(ROUND_END));
        let got = decode(&bytes);
        assert!(matches!(&got[0], Err(FrameError::Malformed(_))), "{got:?}");
        assert_eq!(
            got[1..],
            [
                Err(FrameError::Garbage { bytes: 3 }),
                Ok(tag_msg()),
                Ok(decode(&h(ROUND_END))[0].clone().unwrap())
            ]
        );
        // Length below the minimum.
        assert!(matches!(&decode(&h("A0 02 01 89"))[0], Err(FrameError::Malformed(_))));
        // A possible but wrong length: once its bytes are in, its checksum fails and the frames
        // inside it are found again.
        let mut bytes = h("A0 FF 01 55");
        for _ in 0..13 {
            bytes.extend(h(TAG));
        }
        let got = decode(&bytes);
        assert!(matches!(got[0], Err(FrameError::BadChecksum { .. })), "{got:?}");
        assert_eq!(got[1], Err(FrameError::Garbage { bytes: 3 }));
        assert_eq!(got[2..], vec![Ok(tag_msg()); 13]);
    }

    #[test]
    fn reset_drops_a_partial_frame() {
        let mut d = R2000Decoder::new();
        let mut out = Vec::new();
        d.push(&h(TAG)[..10], &mut out);
        d.reset();
        d.push(&h(TAG), &mut out);
        assert_eq!(out, vec![Ok(tag_msg())]);
    }

    #[test]
    fn read_reply_checks_the_epc_crc() {
        let m = R2000Module::new();
        let epc = h("E200001D7315016521408FC6");
        let mut f = m.tid_reply(&epc, &h("E280 1105"));
        assert_eq!(
            decode(&f),
            vec![Ok(ReaderMsg::BankData {
                epc: Some(epc.clone()),
                data: h("E2801105")
            })]
        );
        // Flip an EPC bit and fix the frame checksum: the EPC CRC catches it.
        f[10] ^= 0x20;
        let n = f.len();
        f[n - 1] = check(&f[..n - 1]);
        assert!(matches!(&decode(&f)[0], Err(FrameError::EpcCrc { .. })));
        assert_eq!(
            decode(&frame(1, 0x81, &[0x36]))[0],
            Ok(ReaderMsg::Status {
                cmd: 0x81,
                code: 0x36,
                message: "no tag"
            })
        );
        assert!(matches!(
            &decode(&frame(1, 0x81, &[0, 1, 9, 0, 0, 0, 0, 0, 0, 0]))[0],
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn every_protocol_command_round_trips_through_the_module() {
        let p = R2000::default();
        let cfg = InventoryConfig::default();
        let epc = h("E200001D7315016521408FC6");
        let mut bytes = p.probe();
        for c in p.configure(&cfg) {
            bytes.extend(c);
        }
        bytes.extend(
            p.start_inventory(&InventoryConfig { session: 1, ..cfg }, Target::B)
                .concat(),
        );
        bytes.extend(p.start_inventory(&cfg, Target::A).concat());
        bytes.extend(p.read_tid(&epc, 6).unwrap().concat());
        bytes.extend(frame(0xFF, 0x89, &[1]));
        bytes.extend(frame(0xFF, 0x93, &[]));
        let want = vec![
            Ok(HostCommand::Version),
            Ok(HostCommand::Configure { cmd: 0x74 }),
            Ok(HostCommand::Configure { cmd: 0x66 }),
            Ok(HostCommand::Configure { cmd: 0x78 }),
            Ok(HostCommand::StartInventory {
                session: Some(1),
                target: Some(Target::B),
            }),
            Ok(HostCommand::StartInventory {
                session: Some(2),
                target: Some(Target::A),
            }),
            Ok(HostCommand::Configure { cmd: 0x85 }),
            Ok(HostCommand::ReadTid {
                epc: epc.clone(),
                words: 6,
            }),
            Ok(HostCommand::StartInventory {
                session: None,
                target: None,
            }),
            Ok(HostCommand::Unknown { cmd: 0x93 }),
        ];
        assert_eq!(host_all(&bytes), want);
        let mut m = R2000Module::new();
        let mut out = Vec::new();
        for b in &bytes {
            m.push_host(std::slice::from_ref(b), &mut out);
        }
        assert_eq!(out, want);
        // A bad checksum from the host is reported.
        let mut bad = p.probe();
        bad[4] ^= 1;
        assert!(matches!(host_all(&bad)[0], Err(FrameError::BadChecksum { .. })));
    }

    #[test]
    fn every_module_output_decodes_to_the_right_message() {
        let mut m = R2000Module {
            address: 7,
            ..R2000Module::new()
        };
        let cases: Vec<(Vec<u8>, ReaderMsg)> = vec![
            (m.answer(&HostCommand::Version), ReaderMsg::Version("1.8".into())),
            (
                m.answer(&HostCommand::Configure { cmd: 0x66 }),
                ReaderMsg::Ok { cmd: 0x66 },
            ),
            (
                m.answer(&HostCommand::Configure { cmd: 0x85 }),
                ReaderMsg::Ok { cmd: 0x85 },
            ),
            (
                m.answer(&HostCommand::Unknown { cmd: 0x93 }),
                ReaderMsg::Status {
                    cmd: 0x93,
                    code: 0x11,
                    message: "command failed",
                },
            ),
            (
                m.round_end(3, 120).unwrap(),
                ReaderMsg::RoundEnd {
                    read_rate: Some(120),
                    total_reads: Some(3),
                },
            ),
            (
                m.round_end(0, 0).unwrap(),
                ReaderMsg::RoundEnd {
                    read_rate: Some(0),
                    total_reads: Some(0),
                },
            ),
            (
                m.error(0x8B, 0x36),
                ReaderMsg::Status {
                    cmd: 0x8B,
                    code: 0x36,
                    message: "no tag",
                },
            ),
            (
                m.tid_reply(&h("3000AABB"), &h("E2003412")),
                ReaderMsg::BankData {
                    epc: Some(h("3000AABB")),
                    data: h("E2003412"),
                },
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(&bytes), vec![Ok(want)], "{}", hex(&bytes));
        }
        assert!(
            m.answer(&HostCommand::StartInventory {
                session: Some(2),
                target: Some(Target::A)
            })
            .is_empty()
        );
        // Tags on every antenna, several EPC lengths; the PC length field follows the EPC.
        for (ant, epc_len, rssi) in [
            (1u8, 12usize, -39i16),
            (4, 16, -70),
            (5, 12, -80),
            (8, 2, -30),
            (3, 62, -128),
        ] {
            let t = TagReport {
                epc: (0..epc_len as u8).collect(),
                pc: 0x0400,
                rssi_dbm: Some(rssi),
                antenna: Some(ant),
                tid: None,
            };
            let want = TagReport {
                pc: 0x0400 | gen2::pc_for_len(epc_len),
                ..t.clone()
            };
            assert_eq!(decode(&m.tag(&t)), vec![Ok(ReaderMsg::Tag(want))]);
        }
        // Tag frames echo the inventory command of the round.
        let mut out = Vec::new();
        m.push_host(&frame(0xFF, 0x89, &[1]), &mut out);
        assert_eq!(
            m.tag(&TagReport {
                epc: vec![1, 2],
                pc: 0,
                rssi_dbm: None,
                antenna: None,
                tid: None
            })[3],
            0x89
        );
    }

    #[test]
    fn fuzz_never_panics_and_the_buffer_stays_bounded() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let (good, _) = mixed_stream();
        let mut d = R2000Decoder::new();
        let mut m = R2000Module::new();
        let mut out = Vec::new();
        let mut host_out = Vec::new();
        for round in 0..20_000 {
            let mut chunk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            if rng.below(4) == 0 {
                // Bias towards header bytes and plausible lengths.
                for b in chunk.iter_mut().step_by(5) {
                    *b = HEAD;
                }
            }
            if rng.below(8) == 0 {
                let s = rng.below(good.len());
                chunk.extend_from_slice(&good[s..]);
            }
            d.push(&chunk, &mut out);
            m.push_host(&chunk, &mut host_out);
            assert!(d.scan.buf.len() < MAX_FRAME && d.scan.pos == 0, "round {round}");
            assert!(m.scan.buf.len() < MAX_FRAME && m.scan.pos == 0, "round {round}");
            out.clear();
            host_out.clear();
        }
    }

    /// Decode throughput; run with `cargo test --release -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bench_decode_rate() {
        let one = h(TAG);
        let stream: Vec<u8> = (0..100_000).flat_map(|_| one.iter().copied()).collect();
        let mut d = R2000Decoder::new();
        let mut out = Vec::with_capacity(100_000);
        let t = std::time::Instant::now();
        for c in stream.chunks(4096) {
            d.push(c, &mut out);
        }
        let s = t.elapsed().as_secs_f64();
        assert_eq!(out.len(), 100_000);
        println!("R2000: {:.0} tag reports/s", 100_000.0 / s);
    }
}
