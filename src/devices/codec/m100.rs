//! The Magic-RF M100 module serial protocol (YRM100, JRD-100, "R200", JRD-4035; header `0xBB`,
//! end `0x7E`), both sides: the host commands and a stream decoder for the module's replies and
//! tag notices ([`M100`], [`M100Decoder`]), and the module side for the simulator ([`M100Module`]).
//!
//! Frame, both directions: `BB | Type | Cmd | PL (u16 BE) | Params (PL bytes) | Checksum | 7E`.
//! Type 0 = command, 1 = response, 2 = notice (a tag read). Checksum = low byte of the sum of
//! Type … last param (header and end excluded). Errors come back as response frames with Cmd 0xFF.
//!
//! Sources of the facts (`../shared/hardware/protocols.md` §1b and §2, and the drivers it cites,
//! re-read for this module):
//! - Framing, checksum, command frames, the tag notice layout and the verified frames in the tests:
//!   protocols.md §1b; `m5stack/M5Unit-UHF-RFID` `src/CMD.h` (command frames, the select frame,
//!   `SET_SELECT_OK`, `READ_STORAGE_ERROR`) and `src/UNIT_UHF_RFID.cpp` (notice byte offsets, read
//!   reply data offset); `frux-c/uhf_rfid` `cmd.h`, `uhf_module.c` (`m100_single_poll` CRC check,
//!   `m100_set_select`, `m100_read_label_data_storage`, hardware-version text at params[1..]).
//! - Region codes 1 = China 920 (920.125 MHz), 2 = US (902.25), 3 = EU (865.1), 4 = China 840
//!   (840.125), 6 = Korea: `frux-c/uhf_rfid` `uhf_module_settings.h` `WorkingRegion`. (One other
//!   driver, the YPD-R200 header of the `uhfman` project, has US = 0x08: **[conflicting]**.)
//! - Query word layout `DR(1) M(2) TRext(1) Sel(2) Session(2) Target(1) Q(4) 000`: protocols.md
//!   marks it **[unverified]** against the manual. It is consistent with the M5Stack example
//!   `0x1020` = S0/A/Q4 and with a later Flipper YRM100 app's `m100_set_query_params`
//!   (byte 0 = `0x10 | session`, byte 1 = `target << 7 | Q << 3`) and the YPD-R200 header's
//!   bit-field; no manual page seen.
//! - Error codes: the YPD-R200 header (`ypdr200.h`, from the module's protocol document): 0x09 read
//!   fail, 0x10 write fail, 0x12 kill fail, 0x13 lock fail, 0x14 block-permalock fail, 0x15 inventory
//!   fail (no tag), 0x16 access fail, 0x17 command error, 0x20 frequency hopping fail, 0xA*/0xB*/
//!   0xC*/0xD*/0xE* = read/write/lock/kill/permalock error with the tag's Gen2 error code in the low
//!   nibble. A YRM100 Python project names 0x16 "command parameter" and 0x17 "read/write" instead;
//!   the Flipper app treats 0x16 as a wrong access password, as the header does, so that is used.
//! - Select modes for 0x12: 0 = select before every tag operation, 1 = never, 2 = only before
//!   read/write/lock/kill: order from the `uhfman` project (`ALWAYS`, `NEVER`, `RWLK`), values
//!   **[unverified]** against the manual.

use super::gen2;
use super::resync::ByteQueue;
use super::{
    FrameError, HostCommand, InventoryConfig, InventoryMode, ReaderDecoder, ReaderEmulation, ReaderMsg, ReaderProtocol,
    Region, TagReport, Target,
};

/// The frame header byte.
pub const HEAD: u8 = 0xBB;
/// The frame end byte.
pub const END: u8 = 0x7E;
/// Frame types.
pub const COMMAND: u8 = 0x00;
pub const RESPONSE: u8 = 0x01;
pub const NOTICE: u8 = 0x02;
/// The longest parameter field any frame may have here (a long bank read); frames announcing more
/// are rejected at once. Per-command limits are tighter, see [`max_params`].
pub const MAX_PARAMS: usize = 0x400;
/// The longest frame on the wire.
pub const MAX_FRAME: usize = MAX_PARAMS + 7;

/// Command codes used here (`m5stack/M5Unit-UHF-RFID` `src/CMD.h`).
pub mod cmd {
    pub const INFO: u8 = 0x03;
    pub const SET_REGION: u8 = 0x07;
    pub const SET_SELECT: u8 = 0x0C;
    pub const SET_QUERY: u8 = 0x0E;
    pub const SET_BAUD: u8 = 0x11;
    pub const SET_SELECT_MODE: u8 = 0x12;
    pub const SINGLE_POLL: u8 = 0x22;
    pub const MULTI_POLL: u8 = 0x27;
    pub const STOP_MULTI_POLL: u8 = 0x28;
    pub const READ: u8 = 0x39;
    pub const WRITE: u8 = 0x49;
    pub const SET_HOPPING: u8 = 0xAD;
    pub const SET_TX_POWER: u8 = 0xB6;
    pub const ERROR: u8 = 0xFF;
}

/// Low byte of the sum of `bytes` (Type … last param).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b))
}

/// One frame: `BB | kind | cmd | PL | params | checksum | 7E`. Params beyond [`MAX_PARAMS`] are cut.
pub fn frame(kind: u8, cmd: u8, params: &[u8]) -> Vec<u8> {
    let params = &params[..params.len().min(MAX_PARAMS)];
    let mut f = Vec::with_capacity(params.len() + 7);
    f.extend_from_slice(&[HEAD, kind, cmd]);
    f.extend_from_slice(&(params.len() as u16).to_be_bytes());
    f.extend_from_slice(params);
    f.push(checksum(&f[1..]));
    f.push(END);
    f
}

/// The largest parameter field a frame of this type and command can carry. Tag notices hold RSSI,
/// PC, at most 62 EPC bytes (room left for XPC words) and CRC; version text stays short; bank
/// reads and writes may be long; other replies and commands are a few bytes.
pub fn max_params(kind: u8, cmd: u8) -> usize {
    match (kind, cmd) {
        (NOTICE, _) => 0x80,
        (RESPONSE, cmd::READ) | (COMMAND, cmd::WRITE) => MAX_PARAMS,
        (RESPONSE, cmd::INFO | cmd::ERROR) => 0x80,
        _ => 0x40,
    }
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

/// The name of an M100 error code (see the module doc for the source); `"error 0xNN"` otherwise.
pub fn error_message(code: u8) -> &'static str {
    match code {
        0x09 => "read failed (no tag or CRC error)",
        0x10 => "write failed",
        0x12 => "kill failed",
        0x13 => "lock failed",
        0x14 => "block permalock failed",
        0x15 => "no tag (inventory failed or CRC error)",
        0x16 => "access failed (wrong access password)",
        0x17 => "command error (invalid command or parameter)",
        0x20 => "frequency hopping failed",
        0xA0..=0xAF => "tag read error",
        0xB0..=0xBF => "tag write error",
        0xC0..=0xCF => "tag lock error",
        0xD0..=0xDF => "tag kill error",
        0xE0..=0xEF => "tag block permalock error",
        _ => UNNAMED[usize::from(code >> 4)][usize::from(code & 0xF)],
    }
}

/// The 0x07 region code.
pub fn region_code(region: Region) -> u8 {
    match region {
        Region::China920 => 0x01,
        Region::Fcc => 0x02,
        Region::Etsi => 0x03,
        Region::China840 => 0x04,
    }
}

/// The 0x0E Query word: `DR=8 (0) | M=1 (00) | TRext=1 | Sel=All (00) | Session | Target | Q | 000`.
/// S2 / A / Q4 = 0x1220. **[unverified layout]**, see the module doc.
pub fn query_word(session: u8, target: Target, q: u8) -> u16 {
    let t = match target {
        Target::A => 0,
        Target::B => 1,
    };
    0x1000 | (u16::from(session & 3) << 8) | (t << 7) | (u16::from(q.min(15)) << 3)
}

/// 0x0C Select on the EPC: `SelParam 0x01 (target S0, action 000, bank EPC) | Ptr 0x00000020 (bits)
/// | MaskLen (bits) | Truncate 0 | Mask`, as the M5Stack and Flipper drivers send it.
fn select_epc(epc: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(epc.len() + 7);
    p.extend_from_slice(&[0x01, 0, 0, 0, 0x20, (epc.len() * 8) as u8, 0]);
    p.extend_from_slice(epc);
    frame(COMMAND, cmd::SET_SELECT, &p)
}

/// The host side of the M100 protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct M100;

impl M100 {
    fn cmd(cmd: u8, params: &[u8]) -> Vec<u8> {
        frame(COMMAND, cmd, params)
    }

    fn query(session: u8, target: Target, q: u8) -> Vec<u8> {
        Self::cmd(cmd::SET_QUERY, &query_word(session, target, q).to_be_bytes())
    }
}

impl ReaderProtocol for M100 {
    fn name(&self) -> &'static str {
        "m100"
    }

    fn default_baud(&self) -> u32 {
        115_200
    }

    fn mode(&self) -> InventoryMode {
        InventoryMode::Continuous
    }

    fn decoder(&self) -> Box<dyn ReaderDecoder> {
        Box::new(M100Decoder::new())
    }

    /// 0x03 with `0x00`: the hardware version text.
    fn probe(&self) -> Vec<u8> {
        Self::cmd(cmd::INFO, &[0x00])
    }

    /// Region (0x07), TX power (0xB6, u16 in 0.01 dBm, clamped to 0–33 dBm) and the Query
    /// parameters (0x0E: session, target A, Q). `cfg.antenna` is not used: the module has one port.
    fn configure(&self, cfg: &InventoryConfig) -> Vec<Vec<u8>> {
        let p = if cfg.power_dbm.is_nan() {
            0.0
        } else {
            cfg.power_dbm.clamp(0.0, 33.0)
        };
        let centi = (p * 100.0).round() as u16;
        vec![
            Self::cmd(cmd::SET_REGION, &[region_code(cfg.region)]),
            Self::cmd(cmd::SET_TX_POWER, &centi.to_be_bytes()),
            Self::query(cfg.session, Target::A, cfg.q),
        ]
    }

    /// The Query parameters with this target (the poll command carries no session), then multi poll
    /// 0x27 `[0x22, count 0xFFFF]`.
    fn start_inventory(&self, cfg: &InventoryConfig, target: Target) -> Vec<Vec<u8>> {
        vec![
            Self::query(cfg.session, target, cfg.q),
            Self::cmd(cmd::MULTI_POLL, &[0x22, 0xFF, 0xFF]),
        ]
    }

    fn stop_inventory(&self) -> Option<Vec<u8>> {
        Some(Self::cmd(cmd::STOP_MULTI_POLL, &[]))
    }

    /// Select the tag by its EPC (0x0C), select mode 2 = select only before read/write/lock/kill
    /// (0x12, so later polls are not filtered), then read 0x39 `[access password 00000000, bank 2,
    /// start word 0, word count]`. `None` for an empty EPC or one longer than a mask (31 bytes).
    fn read_tid(&self, epc: &[u8], words: u8) -> Option<Vec<Vec<u8>>> {
        if epc.is_empty() || epc.len() > 31 {
            return None;
        }
        Some(vec![
            select_epc(epc),
            Self::cmd(cmd::SET_SELECT_MODE, &[0x02]),
            Self::cmd(cmd::READ, &[0, 0, 0, 0, 2, 0, 0, 0, words]),
        ])
    }
}

/// The frame scanner both directions share: a byte buffer with a start index, header search,
/// type, length, end-byte and checksum checks, and the count of bytes skipped since the last
/// reported event.
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
    /// The next whole, well-ended, checksum-good frame as a range of `buf`, or `None` when more
    /// bytes are needed. Errors (and the garbage count before them) go to `out` in stream order.
    /// A header byte followed by a type other than 0–2 is not a frame start: it counts as garbage.
    fn next<T>(&mut self, out: &mut Vec<Result<T, FrameError>>) -> Option<std::ops::Range<usize>> {
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
            if rest[1] > NOTICE {
                self.garbage += 1;
                self.pos += 1;
                continue;
            }
            if rest.len() < 5 {
                return None;
            }
            let (kind, cmd) = (rest[1], rest[2]);
            let pl = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            if pl > max_params(kind, cmd) {
                let why = format!("M100 frame length {pl} impossible for type {kind} command {cmd:#04x}");
                self.reject(out, FrameError::Malformed(why));
                continue;
            }
            let total = pl + 7;
            if rest.len() < total {
                return None;
            }
            if rest[total - 1] != END {
                let why = format!("M100 frame of length {pl} does not end with 0x7E");
                self.reject(out, FrameError::Malformed(why));
                continue;
            }
            let expected = checksum(&rest[1..total - 2]);
            let found = rest[total - 2];
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

fn status(cmd: u8, code: u8) -> ReaderMsg {
    ReaderMsg::Status {
        cmd,
        code: code.into(),
        message: error_message(code),
    }
}

/// A 0x22 tag notice: `RSSI (i8 dBm) | PC | EPC (length from the PC) | CRC-16`. The CRC is the
/// tag's StoredCRC and must equal the Gen2 CRC-16 over PC + EPC.
fn decode_notice(p: &[u8]) -> Result<ReaderMsg, FrameError> {
    if p.len() < 5 {
        return Err(FrameError::Malformed(format!("M100 tag notice of {} bytes", p.len())));
    }
    let pc = u16::from_be_bytes([p[1], p[2]]);
    let n = gen2::epc_len_from_pc(pc);
    if p.len() != 5 + n {
        let why = format!(
            "M100 tag notice: PC {pc:#06x} announces {n} EPC bytes, the frame has {}",
            p.len() - 5
        );
        return Err(FrameError::Malformed(why));
    }
    let epc = &p[3..3 + n];
    let crc = u16::from_be_bytes([p[3 + n], p[4 + n]]);
    if gen2::epc_crc(pc, epc) != crc {
        return Err(FrameError::EpcCrc {
            epc_hex: gen2::hex(epc),
        });
    }
    Ok(ReaderMsg::Tag(TagReport {
        epc: epc.to_vec(),
        pc,
        rssi_dbm: Some(i16::from(p[0] as i8)),
        antenna: None,
        tid: None,
    }))
}

/// A 0x39 read reply: `UL | PC + EPC (UL bytes) | data`.
fn decode_read(p: &[u8]) -> Result<ReaderMsg, FrameError> {
    let ul = usize::from(*p.first().unwrap_or(&0));
    if ul < 2 || 1 + ul > p.len() {
        return Err(FrameError::Malformed(format!(
            "M100 read reply: UL {ul} does not fit {} bytes",
            p.len()
        )));
    }
    Ok(ReaderMsg::BankData {
        epc: Some(p[3..1 + ul].to_vec()),
        data: p[1 + ul..].to_vec(),
    })
}

/// One good module → host frame to a message. An error frame (Cmd 0xFF) does not say which
/// command it answers, so its Status carries `cmd: 0xFF`.
fn decode_reply(f: &[u8]) -> Result<ReaderMsg, FrameError> {
    let (kind, cmd) = (f[1], f[2]);
    let p = &f[5..f.len() - 2];
    match (kind, cmd) {
        (NOTICE, cmd::SINGLE_POLL) => decode_notice(p),
        (NOTICE, _) => Err(FrameError::Malformed(format!(
            "M100 notice with unknown command {cmd:#04x}"
        ))),
        (COMMAND, _) => Err(FrameError::Malformed(format!(
            "M100 command frame {cmd:#04x} from the reader"
        ))),
        (_, _) if p.is_empty() => Err(FrameError::Malformed(format!("M100 response {cmd:#04x} without data"))),
        (_, cmd::ERROR) => Ok(status(cmd, p[0])),
        (_, cmd::INFO) => {
            let text = String::from_utf8_lossy(&p[1..]);
            Ok(ReaderMsg::Version(
                text.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string(),
            ))
        }
        (_, cmd::READ) => decode_read(p),
        (_, _) => match p {
            [0x00] => Ok(ReaderMsg::Ok { cmd }),
            [code] => Ok(status(cmd, *code)),
            // A get command's data (region, power, query word...): the command succeeded.
            _ => Ok(ReaderMsg::Ok { cmd }),
        },
    }
}

/// Stream decoder for module → host bytes.
#[derive(Debug, Default)]
pub struct M100Decoder {
    scan: Scanner,
}

impl M100Decoder {
    pub fn new() -> Self {
        Self::default()
    }
}

impl ReaderDecoder for M100Decoder {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<Result<ReaderMsg, FrameError>>) {
        self.scan.push(bytes);
        while let Some(r) = self.scan.next(out) {
            out.push(decode_reply(&self.scan.buf[r]));
        }
        self.scan.compact();
    }

    fn reset(&mut self) {
        self.scan.reset();
    }
}

/// The module side, for the simulator: decodes what [`M100`] sends and frames replies and tag
/// notices as the module does. It remembers the last Query parameters (so a multi poll reports
/// their session and target) and the last EPC select (so a TID read names its tag).
#[derive(Debug)]
pub struct M100Module {
    /// The hardware version text answered to 0x03.
    pub hw_version: String,
    scan: Scanner,
    query: Option<(u8, Target)>,
    select: Option<Vec<u8>>,
}

impl Default for M100Module {
    fn default() -> Self {
        M100Module {
            hw_version: "M100 26dBm V1.0".into(),
            scan: Scanner::default(),
            query: None,
            select: None,
        }
    }
}

impl M100Module {
    pub fn new() -> Self {
        Self::default()
    }

    /// An error frame with this code.
    pub fn error(&self, code: u8) -> Vec<u8> {
        frame(RESPONSE, cmd::ERROR, &[code])
    }

    /// What a multi poll emits while no tag is in the field: `BB 01 FF 00 01 15 16 7E`.
    pub fn no_tag(&self) -> Vec<u8> {
        self.error(0x15)
    }

    fn decode_host(&mut self, f: &[u8]) -> Result<HostCommand, FrameError> {
        let (kind, cmd) = (f[1], f[2]);
        let p = &f[5..f.len() - 2];
        let bad = |why: &str| Err(FrameError::Malformed(format!("M100 command {cmd:#04x}: {why}")));
        if kind != COMMAND {
            return bad("not a command frame");
        }
        match (cmd, p) {
            (cmd::INFO, [_]) => Ok(HostCommand::Version),
            (cmd::SET_REGION | cmd::SET_SELECT_MODE | cmd::SET_HOPPING, [_])
            | (cmd::SET_TX_POWER | cmd::SET_BAUD, [_, _]) => Ok(HostCommand::Configure { cmd }),
            (cmd::SET_QUERY, [hi, lo]) => {
                let target = if lo & 0x80 != 0 { Target::B } else { Target::A };
                self.query = Some((hi & 3, target));
                Ok(HostCommand::Configure { cmd })
            }
            (cmd::SET_SELECT, [sel, p0, p1, p2, p3, bits, _truncate, mask @ ..]) => {
                let ptr = u32::from_be_bytes([*p0, *p1, *p2, *p3]);
                if mask.len() != usize::from(*bits).div_ceil(8) {
                    return bad("mask length does not match");
                }
                let whole_epc = sel & 3 == 1 && ptr == 0x20 && bits % 8 == 0;
                self.select = whole_epc.then(|| mask.to_vec());
                Ok(HostCommand::Configure { cmd })
            }
            (cmd::MULTI_POLL, [_, _, _]) => Ok(HostCommand::StartInventory {
                session: self.query.map(|q| q.0),
                target: self.query.map(|q| q.1),
            }),
            (cmd::STOP_MULTI_POLL, []) => Ok(HostCommand::StopInventory),
            (cmd::READ, [_, _, _, _, bank, _, _, dl0, dl1]) => {
                if *bank != 2 {
                    return Ok(HostCommand::Unknown { cmd });
                }
                let words = u16::from_be_bytes([*dl0, *dl1]).min(0xFF) as u8;
                Ok(HostCommand::ReadTid {
                    epc: self.select.clone().unwrap_or_default(),
                    words,
                })
            }
            (
                cmd::INFO
                | cmd::SET_REGION
                | cmd::SET_SELECT_MODE
                | cmd::SET_HOPPING
                | cmd::SET_TX_POWER
                | cmd::SET_BAUD
                | cmd::SET_QUERY
                | cmd::SET_SELECT
                | cmd::MULTI_POLL
                | cmd::STOP_MULTI_POLL
                | cmd::READ,
                _,
            ) => bad("wrong parameter length"),
            _ => Ok(HostCommand::Unknown { cmd }),
        }
    }
}

impl ReaderEmulation for M100Module {
    fn push_host(&mut self, bytes: &[u8], out: &mut Vec<Result<HostCommand, FrameError>>) {
        self.scan.push(bytes);
        while let Some(r) = self.scan.next(out) {
            let f = self.scan.buf[r].to_vec();
            out.push(self.decode_host(&f));
        }
        self.scan.compact();
    }

    /// Version → `[0x00, text]`; Configure and StopInventory → `[0x00]` under the command; Unknown →
    /// error 0x17 (command error). A multi poll has no reply of its own (notices follow, see
    /// [`tag`](ReaderEmulation::tag) and [`M100Module::no_tag`]), nor has a read (see
    /// [`tid_reply`](ReaderEmulation::tid_reply)): those give an empty Vec.
    fn answer(&self, c: &HostCommand) -> Vec<u8> {
        match c {
            HostCommand::Version => {
                let mut p = vec![0x00];
                p.extend_from_slice(self.hw_version.as_bytes());
                frame(RESPONSE, cmd::INFO, &p)
            }
            HostCommand::Configure { cmd } => frame(RESPONSE, *cmd, &[0x00]),
            HostCommand::StopInventory => frame(RESPONSE, cmd::STOP_MULTI_POLL, &[0x00]),
            HostCommand::Unknown { .. } => self.error(0x17),
            HostCommand::StartInventory { .. } | HostCommand::ReadTid { .. } => Vec::new(),
        }
    }

    /// A 0x22 notice: RSSI (default −60 dBm), the PC with its length field set from the EPC (at
    /// most 62 bytes), the EPC and its CRC-16.
    fn tag(&self, tag: &TagReport) -> Vec<u8> {
        let epc = &tag.epc[..tag.epc.len().min(62)];
        let pc = (tag.pc & 0x07FF) | gen2::pc_for_len(epc.len());
        let rssi = tag.rssi_dbm.unwrap_or(-60).clamp(-128, 127) as i8;
        let mut p = Vec::with_capacity(epc.len() + 5);
        p.push(rssi as u8);
        p.extend_from_slice(&pc.to_be_bytes());
        p.extend_from_slice(epc);
        p.extend_from_slice(&gen2::epc_crc(pc, epc).to_be_bytes());
        frame(NOTICE, cmd::SINGLE_POLL, &p)
    }

    /// Continuous protocol: no round ends.
    fn round_end(&self, _tags: u32, _reads_per_s: u32) -> Option<Vec<u8>> {
        None
    }

    /// A 0x39 reply: `UL | PC | EPC | TID`.
    fn tid_reply(&self, epc: &[u8], tid: &[u8]) -> Vec<u8> {
        let epc = &epc[..epc.len().min(62)];
        let pc = gen2::pc_for_len(epc.len());
        let mut p = Vec::with_capacity(epc.len() + tid.len() + 3);
        p.push((epc.len() + 2) as u8);
        p.extend_from_slice(&pc.to_be_bytes());
        p.extend_from_slice(epc);
        p.extend_from_slice(&tid[..tid.len().min(MAX_PARAMS - p.len())]);
        frame(RESPONSE, cmd::READ, &p)
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
        let mut d = M100Decoder::new();
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
        let mut m = M100Module::new();
        let mut out = Vec::new();
        m.push_host(bytes, &mut out);
        out
    }

    /// The manual's example notice and a second real capture (protocols.md §1b).
    const NOTICE_1: &str = "BB 02 22 00 11 C9 34 00 30 75 1F EB 70 5C 59 04 E3 D5 0D 70 3A 76 EF 7E";
    const NOTICE_2: &str = "BB 02 22 00 11 C4 30 00 E2 00 00 1D 73 15 01 65 21 40 8F C6 B8 3E C2 7E";
    const NO_TAG: &str = "BB 01 FF 00 01 15 16 7E";

    fn tag(rssi: i16, pc: u16, epc: &str) -> ReaderMsg {
        ReaderMsg::Tag(TagReport {
            epc: h(epc),
            pc,
            rssi_dbm: Some(rssi),
            antenna: None,
            tid: None,
        })
    }

    fn notice_1() -> ReaderMsg {
        tag(-55, 0x3400, "30751FEB705C5904E3D50D70")
    }

    fn no_tag() -> ReaderMsg {
        ReaderMsg::Status {
            cmd: 0xFF,
            code: 0x15,
            message: error_message(0x15),
        }
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
        let p = M100;
        let cfg = InventoryConfig::default(); // S2, Q4, China 920, 26 dBm
        let s0 = InventoryConfig { session: 0, ..cfg };
        let start = p.start_inventory(&cfg, Target::A);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (p.probe(), "BB 00 03 00 01 00 04 7E"),
            (frame(0, 0x03, &[1]), "BB 00 03 00 01 01 05 7E"),
            (frame(0, 0x22, &[]), "BB 00 22 00 00 22 7E"),
            (frame(0, 0x27, &h("22 27 10")), "BB 00 27 00 03 22 27 10 83 7E"),
            (start[0].clone(), "BB 00 0E 00 02 12 20 42 7E"),
            (start[1].clone(), "BB 00 27 00 03 22 FF FF 4A 7E"),
            (
                p.start_inventory(&s0, Target::A)[0].clone(),
                "BB 00 0E 00 02 10 20 40 7E",
            ),
            (p.stop_inventory().unwrap(), "BB 00 28 00 00 28 7E"),
            (
                p.configure(&InventoryConfig { power_dbm: 20.0, ..cfg })[1].clone(),
                "BB 00 B6 00 02 07 D0 8F 7E",
            ),
            (p.configure(&cfg)[0].clone(), "BB 00 07 00 01 01 09 7E"),
            // m5stack CMD.h SET_SELECT_PARAMETER_CMD: the select frame for the manual's EPC.
            (
                select_epc(&h("30751FEB705C5904E3D50D70")),
                "BB 00 0C 00 13 01 00 00 00 20 60 00 30 75 1F EB 70 5C 59 04 E3 D5 0D 70 AD 7E",
            ),
            (frame(0, 0x12, &[1]), "BB 00 12 00 01 01 14 7E"),
            (
                frame(0, 0x39, &h("00 00 FF FF 03 00 00 00 02")),
                "BB 00 39 00 09 00 00 FF FF 03 00 00 00 02 45 7E",
            ),
            (
                frame(0, 0x39, &h("00 00 00 00 03 00 00 00 08")),
                "BB 00 39 00 09 00 00 00 00 03 00 00 00 08 4D 7E",
            ),
            (frame(0, 0x11, &h("00 C0")), "BB 00 11 00 02 00 C0 D3 7E"),
        ];
        for (got, want) in cases {
            assert_eq!(hex(&got), hex(&h(want)), "{want}");
        }
    }

    #[test]
    fn configure_and_query_word() {
        let p = M100;
        let cases = [
            (Region::China920, 26.0, 2, 4, ["07 01", "B6 0A 28", "0E 12 20"]),
            (Region::Fcc, 30.0, 0, 0, ["07 02", "B6 0B B8", "0E 10 00"]),
            (Region::Etsi, -5.0, 1, 15, ["07 03", "B6 00 00", "0E 11 78"]),
            (Region::China840, 99.0, 3, 7, ["07 04", "B6 0C E4", "0E 13 38"]),
        ];
        for (region, power_dbm, session, q, want) in cases {
            let cfg = InventoryConfig {
                region,
                power_dbm,
                session,
                q,
                ..InventoryConfig::default()
            };
            let got = p.configure(&cfg);
            for (f, w) in got.iter().zip(want) {
                let w = h(w);
                assert_eq!(hex(f), hex(&frame(0, w[0], &w[1..])), "{region:?}");
            }
        }
        assert_eq!(query_word(2, Target::A, 4), 0x1220);
        assert_eq!(query_word(0, Target::A, 4), 0x1020);
        assert_eq!(query_word(3, Target::B, 15), 0x13F8);
        assert_eq!(p.mode(), InventoryMode::Continuous);
    }

    #[test]
    fn read_tid_is_select_mode_then_read_bank_2() {
        let epc = h("E200001D7315016521408FC6");
        let cmds = M100.read_tid(&epc, 6).unwrap();
        assert_eq!(
            hex(&cmds[0]),
            hex(&frame(0, 0x0C, &h("01 00000020 60 00 E200001D7315016521408FC6")))
        );
        assert_eq!(hex(&cmds[1]), hex(&h("BB 00 12 00 01 02 15 7E")));
        assert_eq!(hex(&cmds[2]), hex(&frame(0, 0x39, &h("00000000 02 0000 0006"))));
        assert_eq!(M100.read_tid(&[], 6), None);
        assert_eq!(M100.read_tid(&[0; 32], 6), None);
    }

    #[test]
    fn verified_response_frames_decode() {
        let cases: Vec<(&str, ReaderMsg)> = vec![
            (NOTICE_1, notice_1()),
            (NOTICE_2, tag(-60, 0x3000, "E200001D7315016521408FC6")),
            (NO_TAG, no_tag()),
            // m5stack CMD.h SET_SELECT_OK and READ_STORAGE_ERROR.
            ("BB 01 0C 00 01 00 0E 7E", ReaderMsg::Ok { cmd: 0x0C }),
            (
                "BB 01 FF 00 01 09 0A 7E",
                ReaderMsg::Status {
                    cmd: 0xFF,
                    code: 0x09,
                    message: "read failed (no tag or CRC error)",
                },
            ),
        ];
        for (f, want) in cases {
            assert_eq!(decode(&h(f)), vec![Ok(want)], "{f}");
        }
        let f = h(NOTICE_1);
        assert_eq!(checksum(&f[1..f.len() - 2]), 0xEF);
        assert_eq!(gen2::epc_crc(0x3400, &f[8..20]), 0x3A76);
    }

    #[test]
    fn status_and_other_replies() {
        let cases = [
            (0x16, "access failed (wrong access password)"),
            (0x17, "command error (invalid command or parameter)"),
            (0x20, "frequency hopping failed"),
            (0xA3, "tag read error"),
            (0xB4, "tag write error"),
            (0x42, "error 0x42"),
            (0x00, "error 0x00"),
        ];
        for (code, message) in cases {
            assert_eq!(
                decode(&frame(1, 0xFF, &[code])),
                vec![Ok(ReaderMsg::Status {
                    cmd: 0xFF,
                    code: code.into(),
                    message
                })]
            );
        }
        // An error frame with tag context still reports its code.
        assert_eq!(
            decode(&frame(1, 0xFF, &h("A3 0E 3000 E200001D7315016521408FC6")))[0],
            Ok(status(0xFF, 0xA3))
        );
        let hw = frame(1, 0x03, b"\x00M100 26dBm V1.0\0");
        assert_eq!(decode(&hw), vec![Ok(ReaderMsg::Version("M100 26dBm V1.0".into()))]);
        assert_eq!(decode(&frame(1, 0x28, &[0])), vec![Ok(ReaderMsg::Ok { cmd: 0x28 })]);
        assert_eq!(
            decode(&frame(1, 0xB7, &h("0A 28"))),
            vec![Ok(ReaderMsg::Ok { cmd: 0xB7 })]
        );
        assert_eq!(decode(&frame(1, 0x07, &[0x17])), vec![Ok(status(0x07, 0x17))]);
        for bad in [
            frame(0, 0x22, &[]),
            frame(2, 0x99, &[1]),
            frame(1, 0x07, &[]),
            frame(2, 0x22, &[0xC9, 0x34, 0]),
        ] {
            assert!(
                matches!(&decode(&bad)[0], Err(FrameError::Malformed(_))),
                "{}",
                hex(&bad)
            );
        }
    }

    fn mixed_stream() -> (Vec<u8>, Vec<Result<ReaderMsg, FrameError>>) {
        let m = M100Module::new();
        let mut bytes = h(NOTICE_1);
        let mut want = vec![Ok(notice_1())];
        for i in 0..5u8 {
            let t = TagReport {
                epc: vec![0xBB, i, 0x02, 0x22, 0x7E, 0, 0xBB, 0, 0, 0, 0, i],
                pc: 0x3000,
                rssi_dbm: Some(-40 - i16::from(i)),
                antenna: None,
                tid: None,
            };
            bytes.extend(m.tag(&t));
            want.push(Ok(ReaderMsg::Tag(t)));
        }
        bytes.extend(h(NO_TAG));
        want.push(Ok(no_tag()));
        bytes.extend(h(NOTICE_2));
        want.push(Ok(tag(-60, 0x3000, "E200001D7315016521408FC6")));
        bytes.extend(m.answer(&HostCommand::StopInventory));
        want.push(Ok(ReaderMsg::Ok { cmd: 0x28 }));
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
        assert_eq!(decode_all(&bytes.chunks(1).collect::<Vec<_>>()), want);
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
        // 0xBB followed by an impossible type is garbage too.
        let mut bytes = h("01 7E 03");
        bytes.extend(h(NOTICE_1));
        bytes.extend(h("BB 05 EE"));
        bytes.extend(h(NO_TAG));
        let want = vec![
            Err(FrameError::Garbage { bytes: 3 }),
            Ok(notice_1()),
            Err(FrameError::Garbage { bytes: 3 }),
            Ok(no_tag()),
        ];
        assert_eq!(decode(&bytes), want);
        assert_eq!(decode_all(&bytes.chunks(1).collect::<Vec<_>>()), want);
        assert_eq!(
            decode_all(&[&h("01"), &h("02 03"), &h(NOTICE_1)])[0],
            Err(FrameError::Garbage { bytes: 3 })
        );
    }

    #[test]
    fn truncated_frame_then_good_frame() {
        let mut bytes = h(NOTICE_1)[..8].to_vec();
        bytes.extend(h(NOTICE_1));
        let got = decode(&bytes);
        assert!(matches!(&got[0], Err(FrameError::Malformed(_))), "{got:?}");
        assert_eq!(got[1..], [Err(FrameError::Garbage { bytes: 7 }), Ok(notice_1())]);
    }

    #[test]
    fn flipped_bits() {
        // In the checksum: that frame is dropped, the next one decodes.
        let mut bad = h(NOTICE_1);
        bad[22] ^= 0x10;
        let mut bytes = bad;
        bytes.extend(h(NOTICE_1));
        let got = decode(&bytes);
        assert_eq!(
            got[0],
            Err(FrameError::BadChecksum {
                expected: 0xEF,
                found: 0xFF
            })
        );
        assert_eq!(got[1..], [Err(FrameError::Garbage { bytes: 23 }), Ok(notice_1())]);
        // In the EPC with the frame checksum recomputed: the EPC CRC-16 catches it.
        let mut bad = h(NOTICE_1);
        bad[12] ^= 0x01;
        bad[22] = checksum(&bad[1..22]);
        assert_eq!(
            decode(&bad),
            vec![Err(FrameError::EpcCrc {
                epc_hex: "30751FEB715C5904E3D50D70".into()
            })]
        );
        // In the EPC alone: the frame checksum catches it first.
        let mut bad = h(NOTICE_1);
        bad[12] ^= 0x01;
        assert!(matches!(decode(&bad)[0], Err(FrameError::BadChecksum { .. })));
    }

    #[test]
    fn bogus_length_does_not_swallow_following_frames() {
        // Impossible lengths are rejected at once, without waiting for their bytes.
        for header in ["BB 02 22 FF FF", "BB 01 28 01 00", "BB 00 27 00 41"] {
            let mut bytes = h(header);
            bytes.extend(h(NOTICE_1));
            bytes.extend(h(NO_TAG));
            let got = decode(&bytes);
            assert!(matches!(&got[0], Err(FrameError::Malformed(_))), "{header}: {got:?}");
            assert_eq!(
                got[1..],
                [Err(FrameError::Garbage { bytes: 4 }), Ok(notice_1()), Ok(no_tag())],
                "{header}"
            );
        }
        // A possible but wrong length: once its bytes are in, the missing end byte rejects it and
        // the frames inside are found again.
        let mut bytes = h("BB 02 22 00 30");
        for _ in 0..3 {
            bytes.extend(h(NOTICE_1));
        }
        let got = decode(&bytes);
        assert!(matches!(&got[0], Err(FrameError::Malformed(_))), "{got:?}");
        assert_eq!(
            got[1..],
            [
                Err(FrameError::Garbage { bytes: 4 }),
                Ok(notice_1()),
                Ok(notice_1()),
                Ok(notice_1())
            ]
        );
    }

    #[test]
    fn reset_drops_a_partial_frame() {
        let mut d = M100Decoder::new();
        let mut out = Vec::new();
        d.push(&h(NOTICE_1)[..10], &mut out);
        d.reset();
        d.push(&h(NOTICE_1), &mut out);
        assert_eq!(out, vec![Ok(notice_1())]);
    }

    #[test]
    fn every_protocol_command_round_trips_through_the_module() {
        let p = M100;
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
        bytes.extend(p.stop_inventory().unwrap());
        bytes.extend(p.start_inventory(&cfg, Target::A).concat());
        bytes.extend(p.read_tid(&epc, 6).unwrap().concat());
        bytes.extend(frame(0, 0x22, &[]));
        let want = vec![
            Ok(HostCommand::Version),
            Ok(HostCommand::Configure { cmd: 0x07 }),
            Ok(HostCommand::Configure { cmd: 0xB6 }),
            Ok(HostCommand::Configure { cmd: 0x0E }),
            Ok(HostCommand::Configure { cmd: 0x0E }),
            Ok(HostCommand::StartInventory {
                session: Some(1),
                target: Some(Target::B),
            }),
            Ok(HostCommand::StopInventory),
            Ok(HostCommand::Configure { cmd: 0x0E }),
            Ok(HostCommand::StartInventory {
                session: Some(2),
                target: Some(Target::A),
            }),
            Ok(HostCommand::Configure { cmd: 0x0C }),
            Ok(HostCommand::Configure { cmd: 0x12 }),
            Ok(HostCommand::ReadTid {
                epc: epc.clone(),
                words: 6,
            }),
            Ok(HostCommand::Unknown { cmd: 0x22 }),
        ];
        assert_eq!(host_all(&bytes), want);
        let mut m = M100Module::new();
        let mut out = Vec::new();
        for b in &bytes {
            m.push_host(std::slice::from_ref(b), &mut out);
        }
        assert_eq!(out, want);
        // A multi poll before any Query parameters names no session.
        assert_eq!(
            host_all(&frame(0, 0x27, &h("22 FF FF"))),
            vec![Ok(HostCommand::StartInventory {
                session: None,
                target: None
            })]
        );
        let mut bad = p.probe();
        bad[5] ^= 1;
        assert!(matches!(host_all(&bad)[0], Err(FrameError::BadChecksum { .. })));
        assert!(matches!(
            host_all(&frame(0, 0xB6, &[1]))[0],
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            host_all(&frame(1, 0x28, &[0]))[0],
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn every_module_output_decodes_to_the_right_message() {
        let m = M100Module::new();
        let cases: Vec<(Vec<u8>, ReaderMsg)> = vec![
            (
                m.answer(&HostCommand::Version),
                ReaderMsg::Version("M100 26dBm V1.0".into()),
            ),
            (
                m.answer(&HostCommand::Configure { cmd: 0xB6 }),
                ReaderMsg::Ok { cmd: 0xB6 },
            ),
            (m.answer(&HostCommand::StopInventory), ReaderMsg::Ok { cmd: 0x28 }),
            (m.answer(&HostCommand::Unknown { cmd: 0x99 }), status(0xFF, 0x17)),
            (m.no_tag(), no_tag()),
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
        assert_eq!(hex(&m.no_tag()), hex(&h(NO_TAG)));
        assert!(
            m.answer(&HostCommand::StartInventory {
                session: None,
                target: None
            })
            .is_empty()
        );
        assert_eq!(m.round_end(3, 100), None);
        for (epc_len, rssi, pc) in [
            (12usize, -55i16, 0x3400u16),
            (16, -80, 0x4000),
            (2, -128, 0x0000),
            (62, 10, 0x3000),
        ] {
            let t = TagReport {
                epc: (0..epc_len as u8).collect(),
                pc,
                rssi_dbm: Some(rssi),
                antenna: None,
                tid: None,
            };
            let want = TagReport {
                pc: (pc & 0x07FF) | gen2::pc_for_len(epc_len),
                ..t.clone()
            };
            assert_eq!(decode(&m.tag(&t)), vec![Ok(ReaderMsg::Tag(want))]);
        }
        // The manual's notice is what the module side produces for that tag.
        let t = TagReport {
            epc: h("30751FEB705C5904E3D50D70"),
            pc: 0x3400,
            rssi_dbm: Some(-55),
            antenna: None,
            tid: None,
        };
        assert_eq!(hex(&m.tag(&t)), hex(&h(NOTICE_1)));
    }

    #[test]
    fn fuzz_never_panics_and_the_buffer_stays_bounded() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let (good, _) = mixed_stream();
        let mut d = M100Decoder::new();
        let mut m = M100Module::new();
        let mut out = Vec::new();
        let mut host_out = Vec::new();
        for round in 0..20_000 {
            let mut chunk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            if rng.below(4) == 0 {
                // Bias towards headers with valid types and small lengths.
                for i in (0..chunk.len()).step_by(6) {
                    chunk[i] = HEAD;
                    if i + 3 < chunk.len() {
                        chunk[i + 1] %= 3;
                        chunk[i + 3] = 0;
                    }
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
        let one = h(NOTICE_1);
        let stream: Vec<u8> = (0..100_000).flat_map(|_| one.iter().copied()).collect();
        let mut d = M100Decoder::new();
        let mut out = Vec::with_capacity(100_000);
        let t = std::time::Instant::now();
        for c in stream.chunks(4096) {
            d.push(c, &mut out);
        }
        let s = t.elapsed().as_secs_f64();
        assert_eq!(out.len(), 100_000);
        println!("M100: {:.0} tag reports/s", 100_000.0 / s);
    }
}
