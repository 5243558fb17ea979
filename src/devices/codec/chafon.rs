//! Chafon "UHFReader18" and "UHFReader288" serial protocols (CF-RU5102, CF-RU5106, CF-MU80x,
//! CF-RU6402 and their rebrands): host commands, a stream decoder for the replies, and the reader
//! side for the simulator. Pure: no I/O, no clock. Two protocol structs, [`Chafon18`] and
//! [`Chafon288`], share the framing; they differ in the inventory command and reply layout.
//!
//! Frames: command `Len Adr Cmd Data CRC_L CRC_H`, reply `Len Adr reCmd Status Data CRC_L CRC_H`;
//! Len counts the bytes after itself. There is no start byte, so the decoder finds frames by
//! length, plausibility of the first bytes and CRC-16/MCRF4XX (reflected 0x8408, init 0xFFFF, no
//! final XOR, sent LSB first).
//!
//! Sources of the facts:
//! - `../shared/hardware/protocols.md` §1d (framing, CRC with check value 0x6F91, the verified
//!   commands `04 FF 21 19 95`, `04 FF 01 1B B4`, `0D FF 01 04 02 01 00 00 00 00 80 0A 9D 61`,
//!   the verified replies, status codes 0x01–0x04 and 0xF8) and §2 (Gen2).
//! - `wabson/chafon-rfid`: `chafon_rfid/base.py` (reply framing, `ReaderInfoFrame`: firmware
//!   version, reader type, band bits in the top two bits of MaxFre/MinFre), `uhfreader18.py`,
//!   `uhfreader288m.py` (inventory fields, antenna mask 1/2/4/8), `command.py` (command codes),
//!   `examples/write-tag.py` (statuses 0xFA, 0xFB), `read-tag.py` (a real UHFReader18 reply,
//!   `10 00 01 01 02 04 00 35 31 37 04 00 32 30 38 C8 07`, whose CRC checks) and `tests/*.py`
//!   (all the reply vectors used in the tests below, CRCs checked).
//! - Band table (band number, first channel, spacing, channel count): `pedrozc90/chafon`
//!   `README.md` (Chinese 2 = 1: 920.125 + N·0.25, N 0–19; US = 2: 902.75 + N·0.5, N 0–49;
//!   EU = 4: 865.1 + N·0.2, N 0–14; Chinese 1 = 8: 840.125 + N·0.25, N 0–19).
//! - Read data (0x02) fields and inventory status meanings: the UHFReader18 manual as quoted on
//!   forum.arduino.cc (topic 137659: `ENum EPC Mem WordPtr Num Pwd MaskAdr MaskLen`), the
//!   "UR-series" manual v1.14 (manualshelf.com, a UHFReader288-protocol reader: mask fields left
//!   out when ENum ≤ 15; 0x02 = time-out with the tags read so far; 0x04 = memory full with the
//!   tags read so far), and the ZK-RFID102 (UHFReader18 clone) manual §5 (status list).
//!
//! Not confirmed against a capture (documented where used): the set-frequency (0x22) encoding
//! (mirrors the documented decoding of the reader-info reply), the read-data requests and the
//! `MaskAdr`/`MaskLen` meaning on the UHFReader18, how a real reader splits a long inventory
//! reply into frames, the reply to an illegal command (`reCmd` 0x00, status 0xFE), the status
//! meanings 0xF9–0xFF other than 0xFA/0xFB, and the unit of the UHFReader288 RSSI byte (a
//! relative value; `rssi_dbm` stays `None`).

use crc::{CRC_16_MCRF4XX, Crc};

use super::gen2;
use super::resync::{FEED_PIECE, Framer, Head, Spec};
use super::{
    FrameError, HostCommand, InventoryConfig, InventoryMode, ReaderDecoder, ReaderEmulation, ReaderMsg, ReaderProtocol,
    Region, TagReport, Target,
};

const MCRF4XX: Crc<u16> = Crc::<u16>::new(&CRC_16_MCRF4XX);

/// CRC-16/MCRF4XX over `bytes` (Len..last data byte of a frame).
pub fn crc(bytes: &[u8]) -> u16 {
    MCRF4XX.checksum(bytes)
}

/// The broadcast address: every reader answers it.
pub const BROADCAST: u8 = 0xFF;

/// Command codes (`chafon_rfid/command.py`).
pub mod cmd {
    pub const INVENTORY: u8 = 0x01;
    pub const READ_DATA: u8 = 0x02;
    pub const GET_READER_INFO: u8 = 0x21;
    pub const SET_FREQUENCY: u8 = 0x22;
    pub const SET_ADDRESS: u8 = 0x24;
    pub const SET_SCAN_TIME: u8 = 0x25;
    pub const SET_BAUD: u8 = 0x28;
    pub const SET_POWER: u8 = 0x2F;
    pub const SET_ACOUSTO_OPTIC: u8 = 0x33;
    pub const SET_WORK_MODE_18: u8 = 0x35;
    pub const SET_BUZZER: u8 = 0x40;
    pub const SET_WORK_MODE_288: u8 = 0x76;
}

/// Reply status bytes.
pub mod status {
    pub const SUCCESS: u8 = 0x00;
    /// Inventory finished: the last frame of the reply.
    pub const DONE: u8 = 0x01;
    /// Inventory ran out of scan time; the frame carries the tags read so far.
    pub const TIMEOUT: u8 = 0x02;
    /// More inventory frames follow.
    pub const MORE: u8 = 0x03;
    /// The reader's tag memory filled up; the frame carries the tags read so far.
    pub const MEMORY_FULL: u8 = 0x04;
    pub const ANTENNA_ERROR: u8 = 0xF8;
    pub const NO_TAG: u8 = 0xFB;
    pub const ILLEGAL_COMMAND: u8 = 0xFE;
}

/// What a Chafon status byte means; the byte itself is in `ReaderMsg::Status::code`.
pub fn status_message(code: u8) -> &'static str {
    match code {
        status::DONE => "inventory finished",
        status::TIMEOUT => "inventory time-out (tags read so far reported)",
        status::MORE => "more frames follow",
        status::MEMORY_FULL => "reader memory full (tags read so far reported)",
        0x05 => "access password error",
        status::ANTENNA_ERROR => "antenna error",
        0xF9 => "command execution error",
        0xFA => "tag found but communication poor",
        status::NO_TAG => "no tag operable",
        0xFC => "tag returned an error code",
        0xFD => "command length wrong",
        status::ILLEGAL_COMMAND => "illegal command",
        0xFF => "parameter error",
        _ => "reader error status",
    }
}

/// The two protocol variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChafonVariant {
    /// Inventory without parameters; reply data `Num | {EPCLen EPC}*`.
    UhfReader18,
    /// Inventory with Q, session, mask, target, antenna, scan time; reply data
    /// `AntMask | Num | {EPCLen EPC RSSI}*`.
    UhfReader288,
}

/// A command frame: `Len Adr Cmd Data CRC_L CRC_H`.
pub fn command(address: u8, code: u8, data: &[u8]) -> Vec<u8> {
    debug_assert!(data.len() <= 251);
    let mut f = Vec::with_capacity(data.len() + 5);
    f.push((data.len() + 4) as u8);
    f.push(address);
    f.push(code);
    f.extend_from_slice(data);
    let c = crc(&f);
    f.extend_from_slice(&c.to_le_bytes());
    f
}

/// A reply frame: `Len Adr reCmd Status Data CRC_L CRC_H`.
pub fn response(address: u8, re_cmd: u8, status: u8, data: &[u8]) -> Vec<u8> {
    debug_assert!(data.len() <= 250);
    let mut f = Vec::with_capacity(data.len() + 6);
    f.push((data.len() + 5) as u8);
    f.push(address);
    f.push(re_cmd);
    f.push(status);
    f.extend_from_slice(data);
    let c = crc(&f);
    f.extend_from_slice(&c.to_le_bytes());
    f
}

/// The band number for a region (reader-info band codes, `base.py` `ReaderFrequencyBand`) and its
/// highest channel number.
pub fn band(region: Region) -> (u8, u8) {
    match region {
        Region::China920 => (0b0001, 19),
        Region::Fcc => (0b0010, 49),
        Region::Etsi => (0b0100, 14),
        Region::China840 => (0b1000, 19),
    }
}

/// Set-frequency (0x22) data `MaxFre, MinFre` for a region, all of its channels: the band's two
/// high bits ride in MaxFre bits 7–6, its two low bits in MinFre bits 7–6, the channel numbers in
/// bits 5–0. This is the inverse of the reader-info decoding in `base.py` (EU reads back as
/// `4E 00`, the wabson test vector) [unverified as a command against a reader].
pub fn frequency_data(region: Region) -> [u8; 2] {
    let (b, max) = band(region);
    [(b >> 2) << 6 | max, (b & 0b11) << 6]
}

/// The UHFReader288 inventory data `QByte Session MaskMem MaskAdr(2) MaskLen Target Ant ScanTime`:
/// QByte = Q (statistics, strategy and FastID bits off), no mask, antenna `0x80 + n − 1`, scan
/// time 1 s (`uhfreader288m.py`; protocols.md §1d).
pub fn inventory288_data(cfg: &InventoryConfig, target: Target) -> [u8; 9] {
    let t = match target {
        Target::A => 0x00,
        Target::B => 0x01,
    };
    [
        cfg.q.min(15),                      // QByte
        cfg.session.min(3),                 // Session
        0x01,                               // MaskMem: EPC
        0x00,                               // MaskAdr (2 bytes)
        0x00,                               //
        0x00,                               // MaskLen 0: no mask
        t,                                  // Target
        0x80 + cfg.antenna.clamp(1, 4) - 1, // Ant
        0x0A,                               // ScanTime, 100 ms units
    ]
}

/// `Len Adr 0x02 | ENum EPC Mem=2 WordPtr=0 Num Pwd=0 [MaskAdr MaskLen]`: `None` when the EPC is
/// not whole words, is longer than 15 words, or `words` is not 1–120.
fn read_tid_data(variant: ChafonVariant, epc: &[u8], words: u8) -> Option<Vec<u8>> {
    if !epc.len().is_multiple_of(2) || epc.len() > 30 || !(1..=120).contains(&words) {
        return None;
    }
    let mut d = Vec::with_capacity(epc.len() + 10);
    d.push((epc.len() / 2) as u8);
    d.extend_from_slice(epc);
    d.extend_from_slice(&[0x02, 0x00, words, 0x00, 0x00, 0x00, 0x00]);
    if variant == ChafonVariant::UhfReader18 {
        // MaskAdr 0, MaskLen = the whole EPC in bytes: matches the full EPC whether the firmware
        // reads MaskLen 0 as "whole EPC" or not [unverified].
        d.extend_from_slice(&[0x00, epc.len() as u8]);
    }
    Some(d)
}

fn configure(address: u8, cfg: &InventoryConfig) -> Vec<Vec<u8>> {
    let dbm = cfg.power_dbm.round().clamp(0.0, 30.0) as u8;
    vec![
        command(address, cmd::SET_FREQUENCY, &frequency_data(cfg.region)),
        command(address, cmd::SET_POWER, &[dbm]),
    ]
}

// ---------------------------------------------------------------------------------------------
// Host side
// ---------------------------------------------------------------------------------------------

/// The UHFReader18 protocol, host side: one inventory command per round.
///
/// Its inventory takes no parameters: session, Q and target are the reader's own (fixed in
/// firmware or set by vendor tools) and are not sent. The work mode (0x35) is not touched: the
/// reader must be in its default answer mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chafon18 {
    /// Reader address; 0xFF = broadcast.
    pub address: u8,
}

impl Default for Chafon18 {
    fn default() -> Self {
        Chafon18 { address: BROADCAST }
    }
}

impl ReaderProtocol for Chafon18 {
    fn name(&self) -> &'static str {
        "chafon18"
    }

    fn default_baud(&self) -> u32 {
        57_600
    }

    fn mode(&self) -> InventoryMode {
        InventoryMode::PerRound
    }

    fn decoder(&self) -> Box<dyn ReaderDecoder> {
        Box::new(ChafonDecoder::new(ChafonVariant::UhfReader18))
    }

    /// `04 FF 21 19 95`: get reader info.
    fn probe(&self) -> Vec<u8> {
        command(self.address, cmd::GET_READER_INFO, &[])
    }

    /// Region (0x22, all channels of the band), then power (0x2F, whole dBm, 0–30).
    fn configure(&self, cfg: &InventoryConfig) -> Vec<Vec<u8>> {
        configure(self.address, cfg)
    }

    /// `04 FF 01 1B B4`.
    fn start_inventory(&self, _cfg: &InventoryConfig, _target: Target) -> Vec<Vec<u8>> {
        vec![command(self.address, cmd::INVENTORY, &[])]
    }

    fn stop_inventory(&self) -> Option<Vec<u8>> {
        None
    }

    /// 0x02 read data, TID bank from word 0, the tag singulated by its whole EPC (see
    /// [`read_tid_data`]); the reply decodes to `BankData`.
    fn read_tid(&self, epc: &[u8], words: u8) -> Option<Vec<Vec<u8>>> {
        let d = read_tid_data(ChafonVariant::UhfReader18, epc, words)?;
        Some(vec![command(self.address, cmd::READ_DATA, &d)])
    }
}

/// The UHFReader288 protocol, host side: one inventory command per round, carrying Q, session,
/// target and antenna.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chafon288 {
    /// Reader address; 0xFF = broadcast.
    pub address: u8,
}

impl Default for Chafon288 {
    fn default() -> Self {
        Chafon288 { address: BROADCAST }
    }
}

impl ReaderProtocol for Chafon288 {
    fn name(&self) -> &'static str {
        "chafon288"
    }

    fn default_baud(&self) -> u32 {
        57_600
    }

    fn mode(&self) -> InventoryMode {
        InventoryMode::PerRound
    }

    fn decoder(&self) -> Box<dyn ReaderDecoder> {
        Box::new(ChafonDecoder::new(ChafonVariant::UhfReader288))
    }

    /// `04 FF 21 19 95`: get reader info.
    fn probe(&self) -> Vec<u8> {
        command(self.address, cmd::GET_READER_INFO, &[])
    }

    /// Region (0x22) and power (0x2F); session and Q travel with every inventory command. The
    /// work mode (0x76) is not touched: the reader must be in its default answer mode.
    fn configure(&self, cfg: &InventoryConfig) -> Vec<Vec<u8>> {
        configure(self.address, cfg)
    }

    /// `0D FF 01 | Q Session 01 00 00 00 Target Ant 0A | CRC` (see [`inventory288_data`]).
    fn start_inventory(&self, cfg: &InventoryConfig, target: Target) -> Vec<Vec<u8>> {
        vec![command(self.address, cmd::INVENTORY, &inventory288_data(cfg, target))]
    }

    fn stop_inventory(&self) -> Option<Vec<u8>> {
        None
    }

    /// 0x02 read data, TID bank from word 0, the tag singulated by its EPC; the mask fields are
    /// left out, which makes the reader match the full EPC (UR-series manual) [unverified].
    fn read_tid(&self, epc: &[u8], words: u8) -> Option<Vec<Vec<u8>>> {
        let d = read_tid_data(ChafonVariant::UhfReader288, epc, words)?;
        Some(vec![command(self.address, cmd::READ_DATA, &d)])
    }
}

// ---------------------------------------------------------------------------------------------
// Framing (resynchronising, chunking-independent)
// ---------------------------------------------------------------------------------------------

fn check_crc(frame: &[u8]) -> Result<(), (u32, u32)> {
    let n = frame.len();
    let expected = crc(&frame[..n - 2]);
    let found = u16::from_le_bytes([frame[n - 2], frame[n - 1]]);
    if expected == found {
        Ok(())
    } else {
        Err((u32::from(expected), u32::from(found)))
    }
}

/// Whether `Len Adr reCmd Status` can start a reply. With no start byte, this is what keeps the
/// decoder from waiting on noise: the reply command must be one the readers use, the status one
/// that command can carry, and the length fit the two.
fn plausible_reply(len: usize, re_cmd: u8, st: u8) -> bool {
    let error_status = matches!(st, 0x05..=0x1F | 0xF8..=0xFF);
    match re_cmd {
        // An illegal command is answered with reCmd 0x00 and status 0xFE [unverified].
        0x00 => st == status::ILLEGAL_COMMAND && len <= 6,
        cmd::INVENTORY => match st {
            status::DONE | status::TIMEOUT | status::MORE | status::MEMORY_FULL => len >= 6,
            _ => error_status && len <= 6,
        },
        0x02..=0x1B | 0x21..=0x2F | 0x33 | 0x35 | 0x40 | 0x76 => match st {
            status::SUCCESS => match re_cmd {
                cmd::SET_FREQUENCY | cmd::SET_POWER => len == 5,
                cmd::GET_READER_INFO => (13..=21).contains(&len),
                _ => true,
            },
            _ => error_status && len <= 6,
        },
        _ => false,
    }
}

/// Reader → host replies.
struct Replies;

impl Spec for Replies {
    const HEAD: usize = 4;
    const MAX: usize = 256;

    fn head(h: &[u8]) -> Head {
        let len = usize::from(h[0]);
        if len < 5 {
            Head::BadLength(len)
        } else if plausible_reply(len, h[2], h[3]) {
            Head::Frame(len + 1)
        } else {
            Head::No
        }
    }

    fn check(frame: &[u8]) -> Result<(), (u32, u32)> {
        check_crc(frame)
    }

    fn bad_length(value: usize) -> String {
        format!("Chafon reply length {value} below the minimum 5")
    }
}

/// Host → reader commands (any command code: unknown ones are reported as such).
struct Commands;

impl Spec for Commands {
    const HEAD: usize = 3;
    const MAX: usize = 256;

    fn head(h: &[u8]) -> Head {
        let len = usize::from(h[0]);
        if len < 4 {
            Head::BadLength(len)
        } else {
            Head::Frame(len + 1)
        }
    }

    fn check(frame: &[u8]) -> Result<(), (u32, u32)> {
        check_crc(frame)
    }

    fn bad_length(value: usize) -> String {
        format!("Chafon command length {value} below the minimum 4")
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding replies
// ---------------------------------------------------------------------------------------------

/// Stream decoder for reader → host bytes, for either variant (they differ in the inventory
/// reply layout only).
pub struct ChafonDecoder {
    variant: ChafonVariant,
    framer: Framer<Replies>,
}

impl ChafonDecoder {
    pub fn new(variant: ChafonVariant) -> Self {
        ChafonDecoder {
            variant,
            framer: Framer::new(),
        }
    }

    pub fn variant(&self) -> ChafonVariant {
        self.variant
    }

    /// Bytes held for an incomplete frame (bounded by two maximal frames plus one feed piece).
    pub fn buffered(&self) -> usize {
        self.framer.buffered()
    }
}

impl ReaderDecoder for ChafonDecoder {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<Result<ReaderMsg, FrameError>>) {
        for piece in bytes.chunks(FEED_PIECE) {
            self.framer.feed(piece);
            while let Some(r) = self.framer.next(out) {
                decode_reply(self.variant, self.framer.frame(r), out);
            }
        }
    }

    fn reset(&mut self) {
        self.framer.reset();
    }
}

/// Decodes one CRC-checked reply.
///
/// Inventory: the tags of every frame; after the 0x01 "done" frame a `RoundEnd` (the reader
/// reports no counters); after a 0x02 "time-out" or 0x04 "memory full" frame, which also end the
/// round and also carry tags, a `Status` instead. Other statuses of the inventory (0xF8 antenna
/// error...) are a `Status`. A frame whose tag data does not add up (e.g. a UHFReader288 reply
/// read as UHFReader18) is `Malformed`, still followed by the round end it announced.
fn decode_reply(variant: ChafonVariant, f: &[u8], out: &mut Vec<Result<ReaderMsg, FrameError>>) {
    let (re_cmd, st) = (f[2], f[3]);
    let data = &f[4..f.len() - 2];
    if re_cmd == cmd::INVENTORY {
        match st {
            status::DONE | status::TIMEOUT | status::MORE | status::MEMORY_FULL => {
                if let Err(e) = push_tags(variant, data, out) {
                    out.push(Err(e));
                }
                match st {
                    status::DONE => out.push(Ok(ReaderMsg::RoundEnd {
                        read_rate: None,
                        total_reads: None,
                    })),
                    status::MORE => {}
                    _ => out.push(Ok(ReaderMsg::Status {
                        cmd: re_cmd,
                        code: u16::from(st),
                        message: status_message(st),
                    })),
                }
            }
            _ => out.push(Ok(ReaderMsg::Status {
                cmd: re_cmd,
                code: u16::from(st),
                message: status_message(st),
            })),
        }
        return;
    }
    if st != status::SUCCESS {
        out.push(Ok(ReaderMsg::Status {
            cmd: re_cmd,
            code: u16::from(st),
            message: status_message(st),
        }));
        return;
    }
    out.push(Ok(match re_cmd {
        cmd::GET_READER_INFO => ReaderMsg::Version(version_string(data)),
        cmd::READ_DATA => ReaderMsg::BankData {
            epc: None,
            data: data.to_vec(),
        },
        _ => ReaderMsg::Ok { cmd: re_cmd },
    }));
}

/// Checks the layout of an inventory frame's data, then pushes its tags.
fn push_tags(variant: ChafonVariant, d: &[u8], out: &mut Vec<Result<ReaderMsg, FrameError>>) -> Result<(), FrameError> {
    let malformed = |why: &str| FrameError::Malformed(why.to_owned());
    let (first, per_tag_extra, antenna) = match variant {
        ChafonVariant::UhfReader18 => (1, 0, None),
        ChafonVariant::UhfReader288 => {
            let mask = *d
                .first()
                .ok_or_else(|| malformed("Chafon 288 inventory frame without data"))?;
            // 1, 2, 4, 8 → antennas 1..4 (`uhfreader288m.py`); any other mask is not one port.
            let ant = if mask.is_power_of_two() {
                Some(mask.trailing_zeros() as u8 + 1)
            } else {
                None
            };
            (2, 1, ant)
        }
    };
    let num = usize::from(
        *d.get(first - 1)
            .ok_or_else(|| malformed("Chafon inventory frame without a tag count"))?,
    );
    let mut i = first;
    for _ in 0..num {
        let len = usize::from(
            *d.get(i)
                .ok_or_else(|| malformed("Chafon inventory frame: fewer tags than counted"))?,
        );
        i += 1 + len + per_tag_extra;
    }
    if i != d.len() {
        return Err(FrameError::Malformed(format!(
            "Chafon {} inventory frame: {num} tag(s) need {i} data bytes, the frame has {} (wrong reader variant?)",
            if variant == ChafonVariant::UhfReader18 {
                "18"
            } else {
                "288"
            },
            d.len()
        )));
    }
    let mut i = first;
    for _ in 0..num {
        let len = usize::from(d[i]);
        let epc = d[i + 1..i + 1 + len].to_vec();
        let pc = gen2::pc_for_len(epc.len());
        // The 288's RSSI byte (after the EPC) is a relative value of undocumented unit: not dBm.
        out.push(Ok(ReaderMsg::Tag(TagReport {
            epc,
            pc,
            rssi_dbm: None,
            antenna,
            tid: None,
        })));
        i += 1 + len + per_tag_extra;
    }
    Ok(())
}

/// The 0x21 reply: `Version(2) Type TrType MaxFre MinFre Power ScanTime ...` (`base.py`).
fn version_string(d: &[u8]) -> String {
    if d.len() < 8 {
        return format!("Chafon reader, info {}", gen2::hex(d));
    }
    let model = match d[2] {
        0x09 => "UHFReader18".to_string(),
        0x0C => "UHFReader288M".to_string(),
        0x0F | 0x10 => "UHFReader86".to_string(),
        t => format!("reader type {t:#04x}"),
    };
    let band = ((d[4] & 0xC0) >> 4) | ((d[5] & 0xC0) >> 6);
    let band = match band {
        0b0001 => "China 920-925 MHz".to_string(),
        0b0010 => "US 902-928 MHz".to_string(),
        0b0011 => "Korea".to_string(),
        0b0100 => "EU 865-868 MHz".to_string(),
        0b1000 => "China 840-845 MHz".to_string(),
        b => format!("band {b}"),
    };
    format!(
        "Chafon {model}, firmware {}.{:02}, {band} (channels {}-{}), {} dBm",
        d[0],
        d[1],
        d[5] & 0x3F,
        d[4] & 0x3F,
        d[6]
    )
}

// ---------------------------------------------------------------------------------------------
// Reader side (simulator)
// ---------------------------------------------------------------------------------------------

/// Largest data field of a reply (Len is one byte and counts 5 bytes besides the data).
const MAX_REPLY_DATA: usize = 250;

/// The reader-info data a UHFReader18 answers with: firmware 3.01 [invented], type 0x09, 6C only,
/// band EU channels 0–14, 30 dBm, scan time 1 s.
const INFO_18: [u8; 8] = [0x03, 0x01, 0x09, 0x02, 0x4E, 0x00, 0x1E, 0x0A];
/// The reader-info data of the wabson test vector (UHFReader288M, firmware 0.22, EU, 30 dBm).
const INFO_288: [u8; 12] = [0x00, 0x16, 0x0C, 0x03, 0x4E, 0x00, 0x1E, 0x0A, 0x01, 0x00, 0x00, 0x00];

/// The reader side shared by both variants.
struct Reader {
    variant: ChafonVariant,
    address: u8,
    framer: Framer<Commands>,
}

impl Reader {
    fn new(variant: ChafonVariant, address: u8) -> Self {
        Reader {
            variant,
            address,
            framer: Framer::new(),
        }
    }

    fn push_host(&mut self, bytes: &[u8], out: &mut Vec<Result<HostCommand, FrameError>>) {
        for piece in bytes.chunks(FEED_PIECE) {
            self.framer.feed(piece);
            while let Some(r) = self.framer.next(out) {
                let c = parse_command(self.variant, self.framer.frame(r));
                out.push(Ok(c));
            }
        }
    }

    /// Info → reader info; configuration → success; an inventory → the reply of a round that
    /// found nothing; a TID read (tag absent) → 0xFB "no tag operable"; unknown → reCmd 0x00
    /// status 0xFE [unverified]; stop (no such command) → nothing.
    fn answer(&self, c: &HostCommand) -> Vec<u8> {
        let a = self.address;
        match c {
            HostCommand::Version => match self.variant {
                ChafonVariant::UhfReader18 => response(a, cmd::GET_READER_INFO, status::SUCCESS, &INFO_18),
                ChafonVariant::UhfReader288 => response(a, cmd::GET_READER_INFO, status::SUCCESS, &INFO_288),
            },
            HostCommand::Configure { cmd } => response(a, *cmd, status::SUCCESS, &[]),
            HostCommand::StartInventory { .. } => self.round(&[]).concat(),
            HostCommand::StopInventory => Vec::new(),
            HostCommand::ReadTid { .. } => response(a, cmd::READ_DATA, status::NO_TAG, &[]),
            HostCommand::Unknown { .. } => response(a, 0x00, status::ILLEGAL_COMMAND, &[]),
        }
    }

    /// One tag's bytes in an inventory frame.
    fn tag_bytes(&self, t: &TagReport, d: &mut Vec<u8>) {
        let max = MAX_REPLY_DATA - 4;
        let epc = &t.epc[..t.epc.len().min(max)];
        d.push(epc.len() as u8);
        d.extend_from_slice(epc);
        if self.variant == ChafonVariant::UhfReader288 {
            // Unit undocumented; dBm + 160 makes −53 dBm the 0x6B of the wabson vectors.
            d.push((i32::from(t.rssi_dbm.unwrap_or(-53)) + 160).clamp(0, 255) as u8);
        }
    }

    fn tag_size(&self, t: &TagReport) -> usize {
        let extra = if self.variant == ChafonVariant::UhfReader288 {
            2
        } else {
            1
        };
        t.epc.len().min(MAX_REPLY_DATA - 4) + extra
    }

    /// An inventory frame with these tags (all on one antenna for the 288).
    fn inventory_frame(&self, st: u8, tags: &[TagReport]) -> Vec<u8> {
        let mut d = Vec::with_capacity(MAX_REPLY_DATA);
        if self.variant == ChafonVariant::UhfReader288 {
            let ant = tags.first().and_then(|t| t.antenna).unwrap_or(1).clamp(1, 8);
            d.push(1 << (ant - 1));
        }
        d.push(tags.len() as u8);
        for t in tags {
            self.tag_bytes(t, &mut d);
        }
        response(self.address, cmd::INVENTORY, st, &d)
    }

    /// The whole reply to an inventory: frames filled up to the 250-byte data limit (and, for the
    /// 288, split where the antenna changes) with status 0x03, the last one with 0x01; a round
    /// without tags is the single frame `Ant=01 Num=00` (288) or `Num=00` (18). How full a real
    /// reader fills its frames is not documented.
    fn round(&self, tags: &[TagReport]) -> Vec<Vec<u8>> {
        let head = if self.variant == ChafonVariant::UhfReader288 {
            2
        } else {
            1
        };
        let ant = |t: &TagReport| t.antenna.unwrap_or(1).clamp(1, 8);
        let mut groups: Vec<&[TagReport]> = Vec::new();
        let mut i = 0;
        while i < tags.len() {
            let mut size = head;
            let mut j = i;
            while j < tags.len()
                && j - i < 255
                && size + self.tag_size(&tags[j]) <= MAX_REPLY_DATA
                && (self.variant == ChafonVariant::UhfReader18 || ant(&tags[j]) == ant(&tags[i]))
            {
                size += self.tag_size(&tags[j]);
                j += 1;
            }
            groups.push(&tags[i..j]);
            i = j;
        }
        if groups.is_empty() {
            groups.push(&[]);
        }
        let last = groups.len() - 1;
        groups
            .iter()
            .enumerate()
            .map(|(k, g)| self.inventory_frame(if k == last { status::DONE } else { status::MORE }, g))
            .collect()
    }

    fn tid_reply(&self, tid: &[u8]) -> Vec<u8> {
        response(
            self.address,
            cmd::READ_DATA,
            status::SUCCESS,
            &tid[..tid.len().min(MAX_REPLY_DATA)],
        )
    }
}

/// Decodes one CRC-checked command frame.
fn parse_command(variant: ChafonVariant, f: &[u8]) -> HostCommand {
    let code = f[2];
    let d = &f[3..f.len() - 2];
    match code {
        cmd::GET_READER_INFO => HostCommand::Version,
        cmd::INVENTORY => match variant {
            ChafonVariant::UhfReader18 => HostCommand::StartInventory {
                session: None,
                target: None,
            },
            ChafonVariant::UhfReader288 => {
                let session = d.get(1).copied();
                // Target follows the mask data, whose length is MaskLen bits.
                let target = d
                    .get(5)
                    .and_then(|&mask_bits| d.get(6 + usize::from(mask_bits).div_ceil(8)))
                    .and_then(|&t| match t {
                        0x00 => Some(Target::A),
                        0x01 => Some(Target::B),
                        _ => None,
                    });
                HostCommand::StartInventory { session, target }
            }
        },
        cmd::READ_DATA => {
            let words = d.first().map(|&e| usize::from(e) * 2).and_then(|n| {
                let epc = d.get(1..1 + n)?;
                let mem = *d.get(1 + n)?;
                let num = *d.get(3 + n)?;
                (mem == 0x02).then(|| (epc.to_vec(), num))
            });
            match words {
                Some((epc, words)) => HostCommand::ReadTid { epc, words },
                None => HostCommand::Unknown { cmd: code },
            }
        }
        cmd::SET_FREQUENCY
        | cmd::SET_ADDRESS
        | cmd::SET_SCAN_TIME
        | cmd::SET_BAUD
        | cmd::SET_POWER
        | cmd::SET_ACOUSTO_OPTIC
        | cmd::SET_WORK_MODE_18
        | cmd::SET_BUZZER
        | cmd::SET_WORK_MODE_288 => HostCommand::Configure { cmd: code },
        _ => HostCommand::Unknown { cmd: code },
    }
}

/// The UHFReader18 reader side, for the simulator.
pub struct Chafon18Module {
    reader: Reader,
}

impl Chafon18Module {
    /// A reader with this address (the wabson captures show 0x00); replies carry it.
    pub fn new(address: u8) -> Self {
        Chafon18Module {
            reader: Reader::new(ChafonVariant::UhfReader18, address),
        }
    }

    /// Bytes held for an incomplete command.
    pub fn buffered(&self) -> usize {
        self.reader.framer.buffered()
    }
}

impl Default for Chafon18Module {
    fn default() -> Self {
        Self::new(0x00)
    }
}

/// The UHFReader288 reader side, for the simulator.
pub struct Chafon288Module {
    reader: Reader,
}

impl Chafon288Module {
    /// A reader with this address (the wabson captures show 0x00); replies carry it.
    pub fn new(address: u8) -> Self {
        Chafon288Module {
            reader: Reader::new(ChafonVariant::UhfReader288, address),
        }
    }

    /// Bytes held for an incomplete command.
    pub fn buffered(&self) -> usize {
        self.reader.framer.buffered()
    }
}

impl Default for Chafon288Module {
    fn default() -> Self {
        Self::new(0x00)
    }
}

impl ReaderEmulation for Chafon18Module {
    fn push_host(&mut self, bytes: &[u8], out: &mut Vec<Result<HostCommand, FrameError>>) {
        self.reader.push_host(bytes, out);
    }

    fn answer(&self, cmd: &HostCommand) -> Vec<u8> {
        self.reader.answer(cmd)
    }

    /// A 0x03 "more" frame holding this one tag.
    fn tag(&self, tag: &TagReport) -> Vec<u8> {
        self.reader.inventory_frame(status::MORE, std::slice::from_ref(tag))
    }

    /// The 0x01 "done" frame without tags.
    fn round_end(&self, _tags: u32, _reads_per_s: u32) -> Option<Vec<u8>> {
        Some(self.reader.inventory_frame(status::DONE, &[]))
    }

    fn round_reply(&self, tags: &[TagReport]) -> Option<Vec<Vec<u8>>> {
        Some(self.reader.round(tags))
    }

    fn tid_reply(&self, _epc: &[u8], tid: &[u8]) -> Vec<u8> {
        self.reader.tid_reply(tid)
    }
}

impl ReaderEmulation for Chafon288Module {
    fn push_host(&mut self, bytes: &[u8], out: &mut Vec<Result<HostCommand, FrameError>>) {
        self.reader.push_host(bytes, out);
    }

    fn answer(&self, cmd: &HostCommand) -> Vec<u8> {
        self.reader.answer(cmd)
    }

    /// A 0x03 "more" frame holding this one tag.
    fn tag(&self, tag: &TagReport) -> Vec<u8> {
        self.reader.inventory_frame(status::MORE, std::slice::from_ref(tag))
    }

    /// The 0x01 "done" frame without tags (`07 00 01 01 01 00 1E 4B` at address 0).
    fn round_end(&self, _tags: u32, _reads_per_s: u32) -> Option<Vec<u8>> {
        Some(self.reader.inventory_frame(status::DONE, &[]))
    }

    fn round_reply(&self, tags: &[TagReport]) -> Option<Vec<Vec<u8>>> {
        Some(self.reader.round(tags))
    }

    fn tid_reply(&self, _epc: &[u8], tid: &[u8]) -> Vec<u8> {
        self.reader.tid_reply(tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::codec::resync::GARBAGE_REPORT_EVERY;

    fn h(s: &str) -> Vec<u8> {
        gen2::unhex(s).expect("test hex")
    }

    fn decode(variant: ChafonVariant, bytes: &[u8]) -> Vec<Result<ReaderMsg, FrameError>> {
        let mut d = ChafonDecoder::new(variant);
        let mut out = Vec::new();
        d.push(bytes, &mut out);
        out
    }

    const R18: ChafonVariant = ChafonVariant::UhfReader18;
    const R288: ChafonVariant = ChafonVariant::UhfReader288;
    const ROUND_END: ReaderMsg = ReaderMsg::RoundEnd {
        read_rate: None,
        total_reads: None,
    };

    fn tag(epc: &str, antenna: Option<u8>) -> ReaderMsg {
        let epc = h(epc);
        ReaderMsg::Tag(TagReport {
            pc: gen2::pc_for_len(epc.len()),
            epc,
            rssi_dbm: None,
            antenna,
            tid: None,
        })
    }

    fn is_tag(m: &Result<ReaderMsg, FrameError>) -> bool {
        matches!(m, Ok(ReaderMsg::Tag(_)))
    }

    /// Deterministic xorshift64.
    struct Rng(u64);
    impl Rng {
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

    // wabson/chafon-rfid tests/test_uhfreader18.py, read-tag.py (a real UHFReader18 reply).
    const V18_TAGS_1: &str = "13 00 01 03 01 0C 000000000000000000000313 3F 39";
    const V18_TAGS_3: &str = "13 00 01 03 01 0C 49440000000000000A000334 A5 FB";
    const V18_MULTIPLE: &str = "20 00 01 03 02 0C 000000000000000000000313 0C 000000000000000000000314 9A C9";
    const V18_REAL_DONE: &str = "10 00 01 01 02 04 00353137 04 00323038 C8 07";
    // wabson/chafon-rfid tests/test_uhfreader288.py and tests/test_base.py.
    const V288_TAGS_1: &str = "15 00 01 03 01 01 0C 000000000000000000000313 6B B1 A5";
    const V288_TAGS_2: &str = "15 00 01 03 01 01 0C 3039606303C74380001A0559 40 F9 3E";
    const V288_TAGS_3: &str = "15 00 01 03 04 01 0C 49440000000000000A000334 64 25 C0";
    const V288_TAGS_4: &str = "0D 00 01 03 01 01 04 00323038 6D A3 D2";
    const V288_NO_TAGS: &str = "07 00 01 01 01 00 1E 4B";
    const V288_MULTIPLE: &str = "23 00 01 03 01 02 0C 000000000000000000000313 6B 0C 000000000000000000000314 6C 70 F2";
    const READER_INFO: &str = "11 00 21 00 00 16 0C 03 4E 00 1E 0A 01 00 00 00 E6 51";
    const V288_BAD_CRC: &str = "15 00 01 03 01 01 0C 000000000000000000000313 6B B1 A6";

    #[test]
    fn crc_check_value_and_verified_frames() {
        assert_eq!(crc(b"123456789"), 0x6F91);
        for f in [
            "04 FF 21 19 95",
            "04 FF 01 1B B4",
            "0D FF 01 04 02 01 00 00 00 00 80 0A 9D 61",
            V18_TAGS_1,
            V18_TAGS_3,
            V18_MULTIPLE,
            V18_REAL_DONE,
            V288_TAGS_1,
            V288_TAGS_2,
            V288_TAGS_3,
            V288_TAGS_4,
            V288_NO_TAGS,
            V288_MULTIPLE,
            READER_INFO,
        ] {
            let b = h(f);
            let n = b.len();
            assert_eq!(usize::from(b[0]) + 1, n, "{f}");
            assert_eq!(crc(&b[..n - 2]).to_le_bytes(), [b[n - 2], b[n - 1]], "{f}");
        }
    }

    #[test]
    fn commands_are_byte_exact() {
        let cfg = InventoryConfig::default();
        let (p18, p288) = (Chafon18::default(), Chafon288::default());
        for p in [&p18 as &dyn ReaderProtocol, &p288] {
            assert_eq!(p.probe(), h("04 FF 21 19 95"));
            assert_eq!(p.mode(), InventoryMode::PerRound);
            assert_eq!(p.default_baud(), 57_600);
            assert_eq!(p.stop_inventory(), None);
        }
        assert_eq!((p18.name(), p288.name()), ("chafon18", "chafon288"));
        assert_eq!(p18.start_inventory(&cfg, Target::B), vec![h("04 FF 01 1B B4")]);
        assert_eq!(
            p288.start_inventory(&cfg, Target::A),
            vec![h("0D FF 01 04 02 01 00 00 00 00 80 0A 9D 61")]
        );
        let b = p288.start_inventory(
            &InventoryConfig {
                session: 1,
                q: 2,
                antenna: 3,
                ..cfg
            },
            Target::B,
        );
        assert_eq!(b, vec![command(0xFF, 0x01, &h("02 01 01 00 00 00 01 82 0A"))]);
        // The region bytes are the inverse of the reader-info decoding (EU = 4E 00 in the vector).
        let eu = InventoryConfig {
            region: Region::Etsi,
            power_dbm: 30.0,
            ..cfg
        };
        assert_eq!(
            p18.configure(&eu),
            vec![command(0xFF, 0x22, &[0x4E, 0x00]), command(0xFF, 0x2F, &[30])]
        );
        for (region, bytes) in [
            (Region::China920, [0x13, 0x40]),
            (Region::Fcc, [0x31, 0x80]),
            (Region::China840, [0x93, 0x00]),
        ] {
            assert_eq!(frequency_data(region), bytes, "{region:?}");
            let (b, max) = band(region);
            assert_eq!(
                (((bytes[0] & 0xC0) >> 4) | ((bytes[1] & 0xC0) >> 6), bytes[0] & 0x3F),
                (b, max)
            );
        }
        let p5 = Chafon288 { address: 0x05 }.configure(&InventoryConfig { power_dbm: 99.0, ..cfg });
        assert_eq!(p5[1], command(0x05, 0x2F, &[30]));
    }

    #[test]
    fn read_tid_requests() {
        let epc = h("E2001026760E017915907125");
        let mut want = vec![0x06];
        want.extend(&epc);
        want.extend(h("02 00 06 00 00 00 00"));
        assert_eq!(
            Chafon288::default().read_tid(&epc, 6),
            Some(vec![command(0xFF, 0x02, &want)])
        );
        want.extend([0x00, 12]);
        assert_eq!(
            Chafon18::default().read_tid(&epc, 6),
            Some(vec![command(0xFF, 0x02, &want)])
        );
        assert_eq!(Chafon18::default().read_tid(&epc[..11], 6), None);
        assert_eq!(Chafon18::default().read_tid(&[0; 32], 6), None);
        assert_eq!(Chafon288::default().read_tid(&epc, 0), None);
    }

    #[test]
    fn decodes_the_verified_replies() {
        let info = "Chafon UHFReader288M, firmware 0.22, EU 865-868 MHz (channels 0-14), 30 dBm".to_string();
        let table: Vec<(ChafonVariant, &str, Vec<ReaderMsg>)> = vec![
            (R18, V18_TAGS_1, vec![tag("000000000000000000000313", None)]),
            (R18, V18_TAGS_3, vec![tag("49440000000000000A000334", None)]),
            (
                R18,
                V18_MULTIPLE,
                vec![
                    tag("000000000000000000000313", None),
                    tag("000000000000000000000314", None),
                ],
            ),
            (
                R18,
                V18_REAL_DONE,
                vec![tag("00353137", None), tag("00323038", None), ROUND_END],
            ),
            (R288, V288_TAGS_1, vec![tag("000000000000000000000313", Some(1))]),
            (R288, V288_TAGS_2, vec![tag("3039606303C74380001A0559", Some(1))]),
            (R288, V288_TAGS_3, vec![tag("49440000000000000A000334", Some(3))]),
            (R288, V288_TAGS_4, vec![tag("00323038", Some(1))]),
            (R288, V288_NO_TAGS, vec![ROUND_END]),
            (
                R288,
                V288_MULTIPLE,
                vec![
                    tag("000000000000000000000313", Some(1)),
                    tag("000000000000000000000314", Some(1)),
                ],
            ),
            (R288, READER_INFO, vec![ReaderMsg::Version(info.clone())]),
            (R18, READER_INFO, vec![ReaderMsg::Version(info)]),
            (R288, "05 00 2F 00 CRC", vec![ReaderMsg::Ok { cmd: 0x2F }]),
            (
                R288,
                "07 00 01 02 01 00 CRC",
                vec![ReaderMsg::Status {
                    cmd: 1,
                    code: 2,
                    message: status_message(2),
                }],
            ),
            (
                R288,
                "05 00 01 F8 CRC",
                vec![ReaderMsg::Status {
                    cmd: 1,
                    code: 0xF8,
                    message: "antenna error",
                }],
            ),
            (
                R18,
                "05 00 02 FB CRC",
                vec![ReaderMsg::Status {
                    cmd: 2,
                    code: 0xFB,
                    message: "no tag operable",
                }],
            ),
            (
                R18,
                "09 00 02 00 E2003412 CRC",
                vec![ReaderMsg::BankData {
                    epc: None,
                    data: h("E2003412"),
                }],
            ),
            (
                R18,
                "05 00 00 FE CRC",
                vec![ReaderMsg::Status {
                    cmd: 0,
                    code: 0xFE,
                    message: "illegal command",
                }],
            ),
        ];
        for (variant, frame, want) in table {
            let bytes = if let Some(body) = frame.strip_suffix(" CRC") {
                let b = h(body);
                let mut f = b.clone();
                f.extend(crc(&b).to_le_bytes());
                f
            } else {
                h(frame)
            };
            let got: Vec<_> = decode(variant, &bytes).into_iter().collect();
            assert_eq!(got, want.into_iter().map(Ok).collect::<Vec<_>>(), "{frame}");
        }
        // 0x02 time-out and 0x04 memory full carry tags and end the round with a Status.
        let mut f = h("15 00 01 02 01 01 0C 000000000000000000000313 6B");
        let c = crc(&f);
        f.extend(c.to_le_bytes());
        assert_eq!(
            decode(R288, &f),
            vec![
                Ok(tag("000000000000000000000313", Some(1))),
                Ok(ReaderMsg::Status {
                    cmd: 1,
                    code: 2,
                    message: status_message(2)
                })
            ]
        );
    }

    #[test]
    fn wrong_variant_is_malformed() {
        let out = decode(R18, &h(V288_TAGS_1));
        assert!(matches!(&out[..], [Err(FrameError::Malformed(_))]), "{out:?}");
        let out = decode(R288, &h(V18_REAL_DONE));
        assert!(
            matches!(&out[..], [Err(FrameError::Malformed(_)), Ok(ROUND_END)]),
            "{out:?}"
        );
    }

    fn sample_stream() -> Vec<u8> {
        let mut s = Vec::new();
        for f in [
            READER_INFO,
            V288_TAGS_1,
            V288_TAGS_2,
            V288_TAGS_3,
            V288_MULTIPLE,
            V288_TAGS_4,
            V288_NO_TAGS,
        ] {
            s.extend(h(f));
        }
        s
    }

    #[test]
    fn chunking_does_not_change_the_output() {
        let mut noisy = vec![0x00, 0x13, 0x21, 0x09];
        noisy.extend(sample_stream());
        noisy.extend([0xF0, 0x00, 0x01, 0x03, 0x01]);
        noisy.extend(sample_stream());
        let mut bad = sample_stream();
        bad[30] ^= 0x20;
        noisy.extend(bad);
        noisy.extend([0x02]);
        noisy.extend(sample_stream());
        for stream in [sample_stream(), noisy] {
            let whole = decode(R288, &stream);
            assert!(whole.iter().filter(|m| is_tag(m)).count() >= 6);
            let mut d = ChafonDecoder::new(R288);
            let mut bytewise = Vec::new();
            for b in &stream {
                d.push(std::slice::from_ref(b), &mut bytewise);
            }
            assert_eq!(bytewise, whole);
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
            for _ in 0..50 {
                let mut d = ChafonDecoder::new(R288);
                let mut out = Vec::new();
                let mut i = 0;
                while i < stream.len() {
                    let e = (i + 1 + rng.below(30)).min(stream.len());
                    d.push(&stream[i..e], &mut out);
                    i = e;
                }
                assert_eq!(out, whole);
            }
        }
    }

    #[test]
    fn garbage_before_and_between_frames() {
        let f = h(V288_TAGS_1);
        let mut s = vec![0x01, 0x02, 0x03];
        s.extend(&f);
        s.extend([0x77, 0x00, 0x66]);
        s.extend(h(V288_NO_TAGS));
        let out = decode(R288, &s);
        assert_eq!(
            out,
            vec![
                Err(FrameError::Garbage { bytes: 3 }),
                Ok(tag("000000000000000000000313", Some(1))),
                Err(FrameError::Garbage { bytes: 3 }),
                Ok(ROUND_END)
            ]
        );
    }

    #[test]
    fn truncated_frame_then_good_frames() {
        let f = h(V288_TAGS_1);
        let end = h(V288_NO_TAGS);
        // The cut frame's length runs into the next frame: its CRC fails, the next frame is found.
        let mut s = f.clone();
        s.extend(&f[..10]);
        s.extend(&f);
        s.extend(&end);
        let out = decode(R288, &s);
        assert_eq!(out.len(), 4, "{out:?}");
        assert!(is_tag(&out[0]));
        assert!(matches!(out[1], Err(FrameError::BadChecksum { .. })), "{out:?}");
        assert_eq!(out[2..], [Ok(tag("000000000000000000000313", Some(1))), Ok(ROUND_END)]);
        // Two good frames complete inside the cut frame's claimed length: they overrule it at once.
        let mut s = f.clone();
        s.extend(&f[..4]);
        s.extend(&end);
        s.extend(&end);
        let out = decode(R288, &s);
        assert_eq!(
            out[1..],
            [Err(FrameError::Garbage { bytes: 4 }), Ok(ROUND_END), Ok(ROUND_END)],
            "{out:?}"
        );
    }

    #[test]
    fn flipped_crc_bit() {
        let f = h(V288_TAGS_1);
        let mut s = f.clone();
        s.extend(h(V288_BAD_CRC));
        s.extend(h(V288_NO_TAGS));
        let out = decode(R288, &s);
        assert_eq!(
            out,
            vec![
                Ok(tag("000000000000000000000313", Some(1))),
                Err(FrameError::BadChecksum {
                    expected: 0xA5B1,
                    found: 0xA6B1
                }),
                Ok(ROUND_END)
            ]
        );
        // A flipped EPC bit is caught by the frame CRC (Chafon carries no EPC CRC).
        let mut bad = f.clone();
        bad[10] ^= 0x01;
        let mut s = f.clone();
        s.extend(&bad);
        s.extend(h(V288_NO_TAGS));
        let out = decode(R288, &s);
        assert!(matches!(out[1], Err(FrameError::BadChecksum { .. })), "{out:?}");
        assert_eq!(out[2], Ok(ROUND_END));
    }

    #[test]
    fn bogus_huge_length_does_not_swallow_good_frames() {
        let f = h(V288_TAGS_1);
        let end = h(V288_NO_TAGS);
        // A lone noise byte: `F0 15 00 01` is no plausible reply start.
        let mut s = f.clone();
        s.push(0xF0);
        s.extend(&f);
        s.extend(&end);
        let out = decode(R288, &s);
        assert_eq!(out[1], Err(FrameError::Garbage { bytes: 1 }), "{out:?}");
        assert_eq!(out[2..], [Ok(tag("000000000000000000000313", Some(1))), Ok(ROUND_END)]);
        // A plausible bogus header in sync: overruled by the two good frames inside its length.
        let mut s = f.clone();
        s.extend([0xF0, 0x00, 0x01, 0x03]);
        s.extend(&f);
        s.extend(&end);
        let out = decode(R288, &s);
        assert_eq!(out[1], Err(FrameError::Garbage { bytes: 4 }), "{out:?}");
        assert_eq!(out[2..], [Ok(tag("000000000000000000000313", Some(1))), Ok(ROUND_END)]);
        // Out of sync: the first good frame wins.
        let mut s = vec![0xF0, 0x00, 0x01, 0x03];
        s.extend(&end);
        let out = decode(R288, &s);
        assert_eq!(out, vec![Err(FrameError::Garbage { bytes: 4 }), Ok(ROUND_END)]);
        // Impossible length where a frame must start.
        let mut s = f.clone();
        s.push(0x02);
        s.extend(&end);
        let out = decode(R288, &s);
        assert!(matches!(out[1], Err(FrameError::Malformed(_))), "{out:?}");
        assert_eq!(out[2], Ok(ROUND_END));
    }

    #[test]
    fn reset_drops_a_partial_frame() {
        let f = h(V288_TAGS_1);
        let mut d = ChafonDecoder::new(R288);
        let mut out = Vec::new();
        d.push(&f[..9], &mut out);
        d.reset();
        d.push(&f, &mut out);
        assert_eq!(out, vec![Ok(tag("000000000000000000000313", Some(1)))]);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn every_command_round_trips_through_the_reader() {
        let epc = h("E2001026760E017915907125");
        let cfg = InventoryConfig {
            session: 3,
            antenna: 2,
            ..InventoryConfig::default()
        };
        for variant in [R18, R288] {
            let (p, mut m): (Box<dyn ReaderProtocol>, Box<dyn ReaderEmulation>) = match variant {
                R18 => (Box::new(Chafon18::default()), Box::new(Chafon18Module::default())),
                R288 => (Box::new(Chafon288::default()), Box::new(Chafon288Module::default())),
            };
            let mut out = Vec::new();
            m.push_host(&p.probe(), &mut out);
            for c in p.configure(&cfg) {
                m.push_host(&c, &mut out);
            }
            for c in p.start_inventory(&cfg, Target::B) {
                m.push_host(&c, &mut out);
            }
            for c in p.read_tid(&epc, 6).unwrap() {
                m.push_host(&c, &mut out);
            }
            m.push_host(&command(0xFF, 0x99, &[1, 2]), &mut out);
            let mut bad = p.probe();
            bad[3] ^= 0x01;
            m.push_host(&bad, &mut out);
            m.push_host(&p.probe(), &mut out);
            let (session, target) = if variant == R288 {
                (Some(3), Some(Target::B))
            } else {
                (None, None)
            };
            assert_eq!(
                out,
                vec![
                    Ok(HostCommand::Version),
                    Ok(HostCommand::Configure { cmd: 0x22 }),
                    Ok(HostCommand::Configure { cmd: 0x2F }),
                    Ok(HostCommand::StartInventory { session, target }),
                    Ok(HostCommand::ReadTid {
                        epc: epc.clone(),
                        words: 6
                    }),
                    Ok(HostCommand::Unknown { cmd: 0x99 }),
                    Err(FrameError::BadChecksum {
                        expected: 0x9519,
                        found: 0x9518
                    }),
                    Ok(HostCommand::Version),
                ],
                "{variant:?}"
            );
        }
    }

    fn reader_tags(n: usize, antennas: bool) -> Vec<TagReport> {
        (0..n)
            .map(|i| {
                let len = if i % 5 == 0 { 16 } else { 12 };
                let epc: Vec<u8> = (0..len).map(|k| (i * 7 + k) as u8).collect();
                TagReport {
                    pc: gen2::pc_for_len(len),
                    epc,
                    rssi_dbm: None,
                    antenna: if antennas { Some(1 + (i / 30) as u8 % 4) } else { None },
                    tid: None,
                }
            })
            .collect()
    }

    #[test]
    fn every_reader_output_round_trips_through_the_decoder() {
        let m18 = Chafon18Module::default();
        let m288 = Chafon288Module::default();
        assert_eq!(m288.round_end(0, 0), Some(h(V288_NO_TAGS)));
        assert_eq!(m288.answer(&HostCommand::Version), h(READER_INFO));
        for (variant, m) in [(R18, &m18 as &dyn ReaderEmulation), (R288, &m288)] {
            let d = |b: &[u8]| decode(variant, b).into_iter().map(|r| r.unwrap()).collect::<Vec<_>>();
            assert_eq!(
                d(&m.answer(&HostCommand::Configure { cmd: 0x2F })),
                vec![ReaderMsg::Ok { cmd: 0x2F }]
            );
            assert_eq!(
                d(&m.answer(&HostCommand::StartInventory {
                    session: None,
                    target: None
                })),
                vec![ROUND_END]
            );
            assert!(m.answer(&HostCommand::StopInventory).is_empty());
            assert_eq!(
                d(&m.answer(&HostCommand::ReadTid { epc: vec![], words: 1 })),
                vec![ReaderMsg::Status {
                    cmd: 2,
                    code: 0xFB,
                    message: "no tag operable"
                }]
            );
            assert_eq!(
                d(&m.answer(&HostCommand::Unknown { cmd: 0x99 })),
                vec![ReaderMsg::Status {
                    cmd: 0,
                    code: 0xFE,
                    message: "illegal command"
                }]
            );
            assert!(matches!(
                &d(&m.answer(&HostCommand::Version))[..],
                [ReaderMsg::Version(_)]
            ));
            assert_eq!(d(&m.round_end(5, 50).unwrap()), vec![ROUND_END]);
            let tid = h("E2003412016EFE00037D9AA3");
            assert_eq!(
                d(&m.tid_reply(&[], &tid)),
                vec![ReaderMsg::BankData { epc: None, data: tid }]
            );
            for n in [0usize, 1, 17, 18, 100, 300] {
                let tags = reader_tags(n, variant == R288);
                let frames = m.round_reply(&tags).unwrap();
                assert!(frames.iter().all(|f| f.len() <= 256));
                if n <= 1 {
                    assert_eq!(frames.len(), 1);
                }
                let mut want: Vec<ReaderMsg> = tags
                    .iter()
                    .map(|t| {
                        ReaderMsg::Tag(TagReport {
                            antenna: if variant == R288 { t.antenna } else { None },
                            ..t.clone()
                        })
                    })
                    .collect();
                want.push(ROUND_END);
                assert_eq!(d(&frames.concat()), want, "{variant:?} {n}");
                let t = &tags.first().cloned().unwrap_or_else(|| reader_tags(1, true).remove(0));
                let one = d(&m.tag(t));
                assert_eq!(one.len(), 1);
                assert!(matches!(&one[0], ReaderMsg::Tag(r) if r.epc == t.epc));
            }
        }
    }

    #[test]
    fn fuzz_never_panics_and_stays_bounded() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let good = sample_stream();
        let mut d = ChafonDecoder::new(R288);
        let mut d18 = ChafonDecoder::new(R18);
        let mut m = Chafon288Module::default();
        let mut out = Vec::new();
        let mut cmds = Vec::new();
        let mut buf = Vec::new();
        for round in 0..2000 {
            buf.clear();
            for _ in 0..rng.below(400) {
                let b = match rng.below(6) {
                    0 => rng.below(0x30) as u8,
                    1 => [0x00, 0x01, 0x03, 0xFB][rng.below(4)],
                    _ => rng.next() as u8,
                };
                buf.push(b);
            }
            if round % 5 == 0 {
                let at = rng.below(good.len());
                buf.extend(&good[at..]);
            }
            d.push(&buf, &mut out);
            d18.push(&buf, &mut out);
            m.push_host(&buf, &mut cmds);
            assert!(d.buffered() <= 2 * Replies::MAX + FEED_PIECE, "{}", d.buffered());
            assert!(d18.buffered() <= 2 * Replies::MAX + FEED_PIECE);
            assert!(m.buffered() <= 2 * Commands::MAX + FEED_PIECE);
            out.clear();
            cmds.clear();
        }
        let big: Vec<u8> = (0..100_000).map(|_| rng.next() as u8).collect();
        d.push(&big, &mut out);
        assert!(d.buffered() <= 2 * Replies::MAX);
        assert!(out.iter().any(|m| matches!(
            m,
            Err(FrameError::Garbage {
                bytes: GARBAGE_REPORT_EVERY
            })
        )));
        out.clear();
        d.push(&good, &mut out);
        d.push(&good, &mut out);
        assert!(out.iter().filter(|m| is_tag(m)).count() >= 6);
    }

    #[test]
    fn decodes_fast() {
        let m = Chafon288Module::default();
        let tags = reader_tags(100_000, true);
        let stream = m.round_reply(&tags).unwrap().concat();
        let mut d = ChafonDecoder::new(R288);
        let mut out = Vec::with_capacity(100_001);
        let t0 = std::time::Instant::now();
        for chunk in stream.chunks(512) {
            d.push(chunk, &mut out);
        }
        let dt = t0.elapsed();
        assert_eq!(out.len(), 100_001);
        assert!(dt.as_secs_f64() < 5.0, "100k tags took {dt:?}");
    }
}
