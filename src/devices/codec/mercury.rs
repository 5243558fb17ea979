//! ThingMagic / JADAK Mercury serial protocol (M6e, M6e Nano): host commands, a stream decoder
//! for what the module sends back, and the module side for the simulator. Pure: no I/O, no clock.
//!
//! Frames: host → module `FF Len Op Data(Len) CRC_H CRC_L`; module → host
//! `FF Len Op Status_H Status_L Data(Len) CRC_H CRC_L`. The CRC is ThingMagic's own nibble-table
//! CRC (init 0xFFFF, table `i * 0x1021`), over Len..last data byte, sent MSB first.
//!
//! Sources of the facts:
//! - `../shared/hardware/protocols.md` §1c (frame layout, CRC algorithm, the verified frames
//!   `FF 00 03 1D 0C`, the 0x2F start/stop frames and the 47-byte tag record) and §2 (Gen2).
//! - `sparkfun/SparkFun_Simultaneous_RFID_Tag_Reader_Library`: `src/SparkFun_UHF_RFID_Reader.cpp`
//!   (setRegion, setReadPower = 0x92 with a big-endian i16 in centi-dBm, setTagProtocol
//!   `00 05`, setAntennaSearchList `02 tx rx`, disableReadFilter `9A 01 0C 00`, setGen2Session,
//!   setGen2Target, setGen2Q), and the captured transport logs under `Example Communication
//!   Logs/` (`1-Connect to serial port.txt`, `3-Ant Select - Reading.txt`, `Read single tag.txt`):
//!   every reply and tag record used in the tests below is a real capture whose CRC checks.
//! - `gotthardp/python-mercuryapi` `mercuryapi-1.35.2.72/c/src/api/serial_reader_l3.c`
//!   (`TMR_SR_parseMetadataOnly`: metadata field order; `TMR_SR_parseMetadataFromMessage`: PC,
//!   XPC, EPC, CRC; `TMR_SR_cmdSetProtocolConfiguration`: 0x9B keys session 0x00, target 0x01
//!   (A = `01 00`, B = `01 01`), Q 0x12 (`00` dynamic, `01 q` static); `TMR_SR_cmdSetRegion`;
//!   `TMR_SR_cmdSetProtocol`) and `serial_reader.c` `TMR_SR_hasMoreTags` (the stream response type
//!   at message byte 10: 0x01 tag, 0x00 end of stream, 0x02 status report). Region codes and the
//!   status codes come from the same API's `tmr_region.h` and `tmr_status.h`.
//!
//! Not confirmed against a capture (documented where used): the 0x28 read-data request with an
//! EPC select and the layout of its reply (taken from the Mercury API source, see
//! [`Mercury::read_tid`]), the region code used for [`Region::China840`] on the Nano (its
//! region list in the capture does not contain PRC2), and the reply to an unknown opcode.

use super::gen2;
use super::resync::{FEED_PIECE, Framer, Head, Spec};
use super::{
    FrameError, HostCommand, InventoryConfig, InventoryMode, ReaderDecoder, ReaderEmulation, ReaderMsg, ReaderProtocol,
    Region, TagReport, Target,
};

/// The frame start byte, both directions.
pub const HEADER: u8 = 0xFF;

/// Opcodes used here (`serial_reader_imp.h` `TMR_SR_OpCode`).
pub mod op {
    pub const VERSION: u8 = 0x03;
    pub const READ_TAG_ID_MULTIPLE: u8 = 0x22;
    pub const READ_TAG_DATA: u8 = 0x28;
    pub const MULTI_PROTOCOL_TAG_OP: u8 = 0x2F;
    pub const SET_ANTENNA_PORT: u8 = 0x91;
    pub const SET_READ_TX_POWER: u8 = 0x92;
    pub const SET_TAG_PROTOCOL: u8 = 0x93;
    pub const SET_REGION: u8 = 0x97;
    pub const SET_READER_OPTIONAL_PARAMS: u8 = 0x9A;
    pub const SET_PROTOCOL_PARAM: u8 = 0x9B;
}

/// Status words (`tmr_status.h`).
pub mod status {
    pub const OK: u16 = 0x0000;
    pub const INVALID_OPCODE: u16 = 0x0101;
    pub const NO_TAGS_FOUND: u16 = 0x0400;
    pub const TEMPERATURE_THROTTLE: u16 = 0x0504;
}

/// Tag protocol id of EPC Gen2.
const PROTOCOL_GEN2: u8 = 0x05;
/// Longest data field a module frame can carry (the Mercury API rejects `Len > 0xF8`).
const MAX_MODULE_LEN: usize = 0xF8;
/// Longest data field accepted in a host frame (messages are limited to 255 bytes on the wire).
const MAX_HOST_LEN: usize = 0xFA;
/// Metadata flags requested by the start command and sent by [`MercuryModule::tag`]: read count,
/// RSSI, antenna, frequency, timestamp, phase, protocol, embedded data, GPIO.
const STREAM_METADATA: u16 = 0x01FF;

/// The data of the continuous-read start (see [`Mercury::start_command`]).
#[rustfmt::skip]
const START_DATA: [u8; 16] = [
    0x00, 0x00,                     // timeout 0: continuous
    0x01,                           // option 1: continuous reading
    0x22,                           // sub-opcode READ_TAG_ID_MULTIPLE
    0x00, 0x00,                     // search flags
    PROTOCOL_GEN2,
    0x07,                           // length of the embedded command after its opcode
    0x22, 0x10, 0x00, 0x1B, 0x03, 0xE8, 0x01, 0xFF, // opcode, option, search flags, timeout, metadata
];

/// ThingMagic's message CRC: nibble table `i * 0x1021`, init 0xFFFF, no augmentation
/// (`serial_reader_l3.c` `tm_crc`; protocols.md §1c).
pub fn crc(bytes: &[u8]) -> u16 {
    const T: [u16; 16] = {
        let mut t = [0u16; 16];
        let mut i = 0;
        while i < 16 {
            t[i] = (i as u16) * 0x1021;
            i += 1;
        }
        t
    };
    let mut c: u16 = 0xFFFF;
    for &b in bytes {
        c = ((c << 4) | u16::from(b >> 4)) ^ T[usize::from(c >> 12)];
        c = ((c << 4) | u16::from(b & 0x0F)) ^ T[usize::from(c >> 12)];
    }
    c
}

/// A host → module frame: `FF Len Op Data CRC`.
pub fn command(opcode: u8, data: &[u8]) -> Vec<u8> {
    debug_assert!(data.len() <= MAX_HOST_LEN);
    let mut f = Vec::with_capacity(data.len() + 5);
    f.push(HEADER);
    f.push(data.len() as u8);
    f.push(opcode);
    f.extend_from_slice(data);
    let c = crc(&f[1..]);
    f.extend_from_slice(&c.to_be_bytes());
    f
}

/// A module → host frame: `FF Len Op Status Data CRC`.
pub fn reply(opcode: u8, status: u16, data: &[u8]) -> Vec<u8> {
    debug_assert!(data.len() <= MAX_MODULE_LEN);
    let mut f = Vec::with_capacity(data.len() + 7);
    f.push(HEADER);
    f.push(data.len() as u8);
    f.push(opcode);
    f.extend_from_slice(&status.to_be_bytes());
    f.extend_from_slice(data);
    let c = crc(&f[1..]);
    f.extend_from_slice(&c.to_be_bytes());
    f
}

/// What a Mercury status word means (`tmr_status.h`); the code itself is in
/// `ReaderMsg::Status::code`.
pub fn status_message(code: u16) -> &'static str {
    match code {
        0x0100 => "wrong number of data bytes in the message",
        0x0101 => "invalid opcode",
        0x0102 => "unimplemented opcode",
        0x0103 => "power setting too high",
        0x0104 => "invalid frequency",
        0x0105 => "invalid parameter value",
        0x0106 => "power setting too low",
        0x0109 => "unimplemented feature",
        0x010A => "invalid baud rate",
        0x010B => "region not supported",
        0x0400 => "no tags found",
        0x0401 => "no tag protocol defined",
        0x0402 => "invalid tag protocol",
        0x0404 => "tag data could not be read",
        0x0405 => "radio not on (region not set?)",
        0x0409 => "invalid tag memory address",
        0x040A => "general tag error",
        0x040B => "too much data requested",
        0x0423 => "Gen2 memory overrun",
        0x0424 => "Gen2 memory locked",
        0x042B => "tag has insufficient power",
        0x0500 => "invalid frequency",
        0x0501 => "channel occupied (LBT)",
        0x0503 => "antenna not connected",
        0x0504 => "temperature throttle",
        0x0505 => "high return loss",
        0x0601 => "tag ID buffer full",
        0x7F00 => "unknown system error",
        0x7F01 => "firmware assertion failed",
        _ => "module error status",
    }
}

/// The Mercury region code (`tmr_region.h`) for a region.
///
/// FCC uses NA2 (0x0D), the code the M6e Nano lists in its supported regions (SparkFun capture
/// `1-Connect to serial port.txt`, reply to opcode 0x71). China 840–845 MHz is PRC2 (0x0A), which
/// the Nano does not list: it answers 0x010B "region not supported" [unverified on hardware].
pub fn region_code(region: Region) -> u8 {
    match region {
        Region::China920 => 0x06,
        Region::China840 => 0x0A,
        Region::Fcc => 0x0D,
        Region::Etsi => 0x08,
    }
}

// ---------------------------------------------------------------------------------------------
// Host side
// ---------------------------------------------------------------------------------------------

/// The Mercury protocol, host side. Runs a continuous (streaming) read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mercury;

impl Mercury {
    /// `FF 00 03 1D 0C`: get version.
    pub fn version_command() -> Vec<u8> {
        command(op::VERSION, &[])
    }

    /// Sets the Gen2 inventoried-flag target (0x9B key 0x01: A = `01 00`, B = `01 01`).
    pub fn target_command(target: Target) -> Vec<u8> {
        let t = match target {
            Target::A => 0x00,
            Target::B => 0x01,
        };
        command(op::SET_PROTOCOL_PARAM, &[PROTOCOL_GEN2, 0x01, 0x01, t])
    }

    /// The verified continuous-read start: 0x2F multi-protocol tag op with timeout 0, option 1
    /// (continuous), sub-opcode 0x22, no outer search flags, protocol Gen2, and the embedded
    /// 0x22 command (7 bytes after its opcode): option 0x10 (metadata), search flags 0x001B
    /// (configured antenna list, streaming, large population), timeout 1000 ms, metadata 0x01FF.
    pub fn start_command() -> Vec<u8> {
        command(op::MULTI_PROTOCOL_TAG_OP, &START_DATA)
    }

    /// `FF 03 2F 00 00 02 5E 86`: stop the continuous read.
    pub fn stop_command() -> Vec<u8> {
        command(op::MULTI_PROTOCOL_TAG_OP, &[0x00, 0x00, 0x02])
    }
}

impl ReaderProtocol for Mercury {
    fn name(&self) -> &'static str {
        "mercury"
    }

    fn default_baud(&self) -> u32 {
        115_200
    }

    fn mode(&self) -> InventoryMode {
        InventoryMode::Continuous
    }

    fn decoder(&self) -> Box<dyn ReaderDecoder> {
        Box::new(MercuryDecoder::new())
    }

    fn probe(&self) -> Vec<u8> {
        Self::version_command()
    }

    /// Tag protocol Gen2, region, antenna search list (TX = RX = `cfg.antenna`), read power in
    /// centi-dBm (clamped to 0–31.5 dBm; the Nano's limit is 27 dBm and it answers 0x0103 above
    /// it), read filter off (so every read is streamed, as SparkFun's `startReading` does),
    /// Gen2 session, and a static Q.
    fn configure(&self, cfg: &InventoryConfig) -> Vec<Vec<u8>> {
        let centi_dbm = (cfg.power_dbm * 100.0).round().clamp(0.0, 3150.0) as i16;
        let ant = cfg.antenna.clamp(1, 15);
        vec![
            command(op::SET_TAG_PROTOCOL, &[0x00, PROTOCOL_GEN2]),
            command(op::SET_REGION, &[region_code(cfg.region)]),
            command(op::SET_ANTENNA_PORT, &[0x02, ant, ant]),
            command(op::SET_READ_TX_POWER, &centi_dbm.to_be_bytes()),
            command(op::SET_READER_OPTIONAL_PARAMS, &[0x01, 0x0C, 0x00]),
            command(op::SET_PROTOCOL_PARAM, &[PROTOCOL_GEN2, 0x00, cfg.session.min(3)]),
            command(op::SET_PROTOCOL_PARAM, &[PROTOCOL_GEN2, 0x12, 0x01, cfg.q.min(15)]),
        ]
    }

    /// The target (0x9B), then the verified continuous-read start.
    fn start_inventory(&self, _cfg: &InventoryConfig, target: Target) -> Vec<Vec<u8>> {
        vec![Self::target_command(target), Self::start_command()]
    }

    fn stop_inventory(&self) -> Option<Vec<u8>> {
        Some(Self::stop_command())
    }

    /// 0x28 read tag data on bank 2 (TID) from word 0, singulating the tag by its EPC:
    /// `timeout(2) = 1000 ms | option 0x01 (select on EPC) | bank 0x02 | word address(4) = 0 |
    /// word count | access password(4) = 0 | EPC bit length | EPC`. Layout from the Mercury API
    /// (`TMR_SR_msgAddGEN2DataRead` without metadata, followed by `filterbytes` for a
    /// `TMR_FILTER_TYPE_TAG_DATA` filter) [source, not confirmed against a capture]. `None` for an
    /// empty EPC, an EPC over 31 bytes (its bit length would need the extended form) or 0 words.
    fn read_tid(&self, epc: &[u8], words: u8) -> Option<Vec<Vec<u8>>> {
        if epc.is_empty() || epc.len() > 31 || words == 0 {
            return None;
        }
        let mut d = Vec::with_capacity(14 + epc.len());
        d.extend_from_slice(&1000u16.to_be_bytes());
        d.push(0x01);
        d.push(0x02);
        d.extend_from_slice(&0u32.to_be_bytes());
        d.push(words);
        d.extend_from_slice(&0u32.to_be_bytes());
        d.push((epc.len() * 8) as u8);
        d.extend_from_slice(epc);
        Some(vec![command(op::READ_TAG_DATA, &d)])
    }
}

// ---------------------------------------------------------------------------------------------
// Framing (resynchronising, chunking-independent)
// ---------------------------------------------------------------------------------------------

fn check_crc(frame: &[u8]) -> Result<(), (u32, u32)> {
    let n = frame.len();
    let expected = crc(&frame[1..n - 2]);
    let found = u16::from_be_bytes([frame[n - 2], frame[n - 1]]);
    if expected == found {
        Ok(())
    } else {
        Err((u32::from(expected), u32::from(found)))
    }
}

/// Module → host frames.
struct ModuleFrames;

impl Spec for ModuleFrames {
    const HEAD: usize = 3;
    const MAX: usize = MAX_MODULE_LEN + 7;

    fn head(h: &[u8]) -> Head {
        if h[0] != HEADER || h[2] == 0x00 || h[2] == 0xFF {
            Head::No
        } else if usize::from(h[1]) > MAX_MODULE_LEN {
            Head::BadLength(usize::from(h[1]))
        } else {
            Head::Frame(usize::from(h[1]) + 7)
        }
    }

    fn check(frame: &[u8]) -> Result<(), (u32, u32)> {
        check_crc(frame)
    }

    fn bad_length(value: usize) -> String {
        format!("Mercury reply length {value:#04x} above the maximum {MAX_MODULE_LEN:#04x}")
    }
}

/// Host → module frames.
struct HostFrames;

impl Spec for HostFrames {
    const HEAD: usize = 3;
    const MAX: usize = MAX_HOST_LEN + 5;

    fn head(h: &[u8]) -> Head {
        if h[0] != HEADER {
            Head::No
        } else if usize::from(h[1]) > MAX_HOST_LEN {
            Head::BadLength(usize::from(h[1]))
        } else {
            Head::Frame(usize::from(h[1]) + 5)
        }
    }

    fn check(frame: &[u8]) -> Result<(), (u32, u32)> {
        check_crc(frame)
    }

    fn bad_length(value: usize) -> String {
        format!("Mercury command length {value:#04x} above the maximum {MAX_HOST_LEN:#04x}")
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding module replies
// ---------------------------------------------------------------------------------------------

/// Stream decoder for module → host bytes.
pub struct MercuryDecoder {
    framer: Framer<ModuleFrames>,
}

impl MercuryDecoder {
    pub fn new() -> Self {
        MercuryDecoder { framer: Framer::new() }
    }

    /// Bytes held for an incomplete frame (bounded by two maximal frames plus one feed piece).
    pub fn buffered(&self) -> usize {
        self.framer.buffered()
    }
}

impl Default for MercuryDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ReaderDecoder for MercuryDecoder {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<Result<ReaderMsg, FrameError>>) {
        for piece in bytes.chunks(FEED_PIECE) {
            self.framer.feed(piece);
            while let Some(r) = self.framer.next(out) {
                decode_reply(self.framer.frame(r), out);
            }
        }
    }

    fn reset(&mut self) {
        self.framer.reset();
    }
}

/// Decodes one CRC-checked module frame.
fn decode_reply(f: &[u8], out: &mut Vec<Result<ReaderMsg, FrameError>>) {
    let len = usize::from(f[1]);
    let cmd = f[2];
    let code = u16::from_be_bytes([f[3], f[4]]);
    let data = &f[5..5 + len];
    if cmd == op::READ_TAG_ID_MULTIPLE {
        if len == 0 && code == status::NO_TAGS_FOUND {
            out.push(Ok(ReaderMsg::KeepAlive));
        } else if code != status::OK {
            out.push(Ok(ReaderMsg::Status {
                cmd,
                code,
                message: status_message(code),
            }));
        } else {
            out.push(decode_stream(data));
        }
        return;
    }
    if code != status::OK {
        out.push(Ok(ReaderMsg::Status {
            cmd,
            code,
            message: status_message(code),
        }));
        return;
    }
    out.push(Ok(match cmd {
        op::VERSION => ReaderMsg::Version(version_string(data)),
        // The option byte is echoed before the data (Mercury API `TMR_SR_cmdGEN2ReadTagData`
        // reads the data from message byte 6).
        op::READ_TAG_DATA => ReaderMsg::BankData {
            epc: None,
            data: data.get(1..).unwrap_or(&[]).to_vec(),
        },
        _ => ReaderMsg::Ok { cmd },
    }));
}

fn hex_dotted(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(".")
}

/// The 0x03 reply: bootloader(4), hardware(4), firmware date(4), firmware version(4),
/// protocols(4) (`fillVersionInfo`).
fn version_string(d: &[u8]) -> String {
    if d.len() < 16 {
        return format!("ThingMagic module, version reply {}", gen2::hex(d));
    }
    let model = match d[4] {
        0x18 => "M6e".to_string(),
        0x19 => "M6e PRC".to_string(),
        0x20 => "M6e Micro".to_string(),
        0x30 => "M6e Nano".to_string(),
        m => format!("module {m:#04x}"),
    };
    format!(
        "ThingMagic {model}, firmware {} ({:02X}{:02X}-{:02X}-{:02X}), hardware {}, bootloader {}",
        hex_dotted(&d[12..16]),
        d[8],
        d[9],
        d[10],
        d[11],
        hex_dotted(&d[4..8]),
        hex_dotted(&d[0..4])
    )
}

/// A streamed 0x22 record: `option | search flags(2) | metadata flags(2) | response type |
/// metadata... | EPC bits(2) | PC | [XPC] | EPC | EPC CRC` (`TMR_SR_hasMoreTags`,
/// `TMR_SR_parseMetadataFromMessage`).
fn decode_stream(d: &[u8]) -> Result<ReaderMsg, FrameError> {
    let malformed = |why: &str| Err(FrameError::Malformed(format!("Mercury tag record: {why}")));
    match d.first() {
        // A synchronous read-multiple reply (tag count only): not used, but harmless.
        None => {
            return Ok(ReaderMsg::Ok {
                cmd: op::READ_TAG_ID_MULTIPLE,
            });
        }
        Some(o) if o & 0x10 == 0 => {
            return Ok(ReaderMsg::Ok {
                cmd: op::READ_TAG_ID_MULTIPLE,
            });
        }
        _ => {}
    }
    if d.len() < 6 {
        return malformed("shorter than its header");
    }
    match d[5] {
        0x01 => {}
        // End of the stream (after a stop or a timed read).
        0x00 => {
            return Ok(ReaderMsg::RoundEnd {
                read_rate: None,
                total_reads: None,
            });
        }
        // A reader status/statistics report: the reader is alive.
        0x02 => return Ok(ReaderMsg::KeepAlive),
        _ => return malformed("unknown response type"),
    }
    let flags = u16::from_be_bytes([d[3], d[4]]);
    if flags & !0x0FFF != 0 {
        return malformed("unsupported metadata flags");
    }
    let mut i = 6;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = d.get(i..i + n)?;
        i += n;
        Some(s)
    };
    let mut rssi = None;
    let mut antenna = None;
    let mut protocol = PROTOCOL_GEN2;
    // (flag, size) in wire order; data (0x0080) has a variable size.
    for (flag, size) in [
        (0x0001u16, 1usize),
        (0x0002, 1),
        (0x0004, 1),
        (0x0008, 3),
        (0x0010, 4),
        (0x0020, 2),
        (0x0040, 1),
    ] {
        if flags & flag == 0 {
            continue;
        }
        let Some(v) = take(size) else {
            return malformed("metadata cut short");
        };
        match flag {
            0x0002 => rssi = Some(i16::from(v[0] as i8)),
            0x0004 => {
                let tx = v[0] >> 4;
                antenna = Some(if tx == 0 { 16 } else { tx });
            }
            0x0040 => protocol = v[0],
            _ => {}
        }
    }
    if flags & 0x0080 != 0 {
        let Some(bits) = take(2) else {
            return malformed("metadata cut short");
        };
        let n = usize::from(u16::from_be_bytes([bits[0], bits[1]])).div_ceil(8);
        if take(n).is_none() {
            return malformed("embedded data cut short");
        }
    }
    // GPIO, then the Gen2 Q, link frequency and target bytes.
    for flag in [0x0100u16, 0x0200, 0x0400, 0x0800] {
        if flags & flag != 0 && take(1).is_none() {
            return malformed("metadata cut short");
        }
    }
    if protocol != PROTOCOL_GEN2 {
        return malformed("not a Gen2 tag");
    }
    let Some(bits) = take(2) else {
        return malformed("EPC length missing");
    };
    let n = usize::from(u16::from_be_bytes([bits[0], bits[1]])).div_ceil(8);
    let Some(id) = take(n) else {
        return malformed("EPC cut short");
    };
    if id.len() < 4 {
        return malformed("EPC field shorter than PC + CRC");
    }
    let pc = u16::from_be_bytes([id[0], id[1]]);
    let mut e = 2;
    if gen2::pc_xi(pc) {
        // XPC_W1, and XPC_W2 when XPC_W1's top bit is set.
        let w2 = id.get(2).is_some_and(|b| b & 0x80 != 0);
        e += if w2 { 4 } else { 2 };
    }
    if id.len() < e + 2 {
        return malformed("EPC field shorter than PC + XPC + CRC");
    }
    let epc = &id[e..id.len() - 2];
    let stored = u16::from_be_bytes([id[id.len() - 2], id[id.len() - 1]]);
    // The StoredCRC covers PC + EPC; a tag backscattering XPC words sends a CRC over them too.
    let good = gen2::epc_crc(pc, epc) == stored || (e > 2 && crc_over_xpc(&id[..id.len() - 2]) == stored);
    if !good {
        return Err(FrameError::EpcCrc {
            epc_hex: gen2::hex(epc),
        });
    }
    Ok(ReaderMsg::Tag(TagReport {
        epc: epc.to_vec(),
        pc,
        rssi_dbm: rssi,
        antenna,
        tid: None,
    }))
}

/// CRC-16/GENIBUS over PC + XPC + EPC (for tags that backscatter XPC words).
fn crc_over_xpc(pc_xpc_epc: &[u8]) -> u16 {
    let pc = u16::from_be_bytes([pc_xpc_epc[0], pc_xpc_epc[1]]);
    gen2::epc_crc(pc, &pc_xpc_epc[2..])
}

// ---------------------------------------------------------------------------------------------
// Module side (simulator)
// ---------------------------------------------------------------------------------------------

/// The module side of the Mercury protocol: decodes the commands [`Mercury`] sends and frames
/// the replies as an M6e Nano does (replies copied from the SparkFun captures where one exists).
pub struct MercuryModule {
    framer: Framer<HostFrames>,
    /// Session set by the last 0x9B key 0x00.
    pub session: Option<u8>,
    /// Target set by the last 0x9B key 0x01 (`None` for the dual targets AB/BA).
    pub target: Option<Target>,
}

impl MercuryModule {
    pub fn new() -> Self {
        MercuryModule {
            framer: Framer::new(),
            session: None,
            target: None,
        }
    }

    /// Bytes held for an incomplete command.
    pub fn buffered(&self) -> usize {
        self.framer.buffered()
    }

    fn command(&mut self, f: &[u8]) -> HostCommand {
        let opcode = f[2];
        let d = &f[3..f.len() - 2];
        match opcode {
            op::VERSION => HostCommand::Version,
            op::MULTI_PROTOCOL_TAG_OP => match d.get(2) {
                Some(0x01) => HostCommand::StartInventory {
                    session: self.session,
                    target: self.target,
                },
                Some(0x02) => HostCommand::StopInventory,
                _ => HostCommand::Unknown { cmd: opcode },
            },
            op::READ_TAG_DATA => parse_read_data(d).unwrap_or(HostCommand::Unknown { cmd: opcode }),
            op::SET_PROTOCOL_PARAM => {
                match d {
                    [PROTOCOL_GEN2, 0x00, s, ..] => self.session = Some(*s),
                    [PROTOCOL_GEN2, 0x01, 0x01, 0x00, ..] => self.target = Some(Target::A),
                    [PROTOCOL_GEN2, 0x01, 0x01, 0x01, ..] => self.target = Some(Target::B),
                    [PROTOCOL_GEN2, 0x01, ..] => self.target = None,
                    _ => {}
                }
                HostCommand::Configure { cmd: opcode }
            }
            op::SET_ANTENNA_PORT
            | op::SET_READ_TX_POWER
            | op::SET_TAG_PROTOCOL
            | op::SET_REGION
            | op::SET_READER_OPTIONAL_PARAMS => HostCommand::Configure { cmd: opcode },
            _ => HostCommand::Unknown { cmd: opcode },
        }
    }
}

impl Default for MercuryModule {
    fn default() -> Self {
        Self::new()
    }
}

/// A 0x28 request for the TID bank with an EPC select (see [`Mercury::read_tid`]); also accepts
/// the metadata (0x10) and extended-length (0x20) option bits of newer Mercury APIs.
fn parse_read_data(d: &[u8]) -> Option<HostCommand> {
    let option = *d.get(2)?;
    let mut i = 3;
    if option & 0x10 != 0 {
        i += 2;
    }
    let bank = *d.get(i)?;
    let words = *d.get(i + 5)?;
    i += 6;
    if bank != 0x02 {
        return None;
    }
    let epc = if option & 0x07 == 0x01 {
        i += 4; // access password
        let bits = if option & 0x20 != 0 {
            let b = d.get(i..i + 2)?;
            i += 2;
            usize::from(u16::from_be_bytes([b[0], b[1]]))
        } else {
            let b = *d.get(i)?;
            i += 1;
            usize::from(b)
        };
        d.get(i..i + bits.div_ceil(8))?.to_vec()
    } else {
        Vec::new()
    };
    Some(HostCommand::ReadTid { epc, words })
}

/// The version reply of the M6e Nano in SparkFun's capture `1-Connect to serial port.txt`.
const NANO_VERSION: [u8; 20] = [
    0x14, 0x12, 0x08, 0x00, 0x30, 0x00, 0x00, 0x02, 0x20, 0x15, 0x03, 0x10, 0x01, 0x03, 0x01, 0x47, 0x00, 0x00, 0x00,
    0x10,
];

impl ReaderEmulation for MercuryModule {
    fn push_host(&mut self, bytes: &[u8], out: &mut Vec<Result<HostCommand, FrameError>>) {
        for piece in bytes.chunks(FEED_PIECE) {
            self.framer.feed(piece);
            while let Some(r) = self.framer.next(out) {
                let f = self.framer.frame(r).to_vec();
                let c = self.command(&f);
                out.push(Ok(c));
            }
        }
    }

    /// Version: the Nano's captured reply. Configure: an empty success reply. Start: the captured
    /// `FF 04 2F 00 00 01 22 00 00 6D C3`. Stop: the captured pair `FF 00 22 04 00` (end of the
    /// stream, no more tags) + `FF 01 2F 00 00 02`. ReadTid (tag not present): status 0x0400.
    /// Unknown: status 0x0101 "invalid opcode" [unverified: the reply to an unknown opcode].
    fn answer(&self, cmd: &HostCommand) -> Vec<u8> {
        match cmd {
            HostCommand::Version => reply(op::VERSION, status::OK, &NANO_VERSION),
            HostCommand::Configure { cmd } => reply(*cmd, status::OK, &[]),
            HostCommand::StartInventory { .. } => {
                reply(op::MULTI_PROTOCOL_TAG_OP, status::OK, &[0x01, 0x22, 0x00, 0x00])
            }
            HostCommand::StopInventory => {
                let mut v = reply(op::READ_TAG_ID_MULTIPLE, status::NO_TAGS_FOUND, &[]);
                v.extend(reply(op::MULTI_PROTOCOL_TAG_OP, status::OK, &[0x02]));
                v
            }
            HostCommand::ReadTid { .. } => reply(op::READ_TAG_DATA, status::NO_TAGS_FOUND, &[]),
            HostCommand::Unknown { cmd } => reply(*cmd, status::INVALID_OPCODE, &[]),
        }
    }

    /// One streamed record in the captured layout (metadata 0x01FF). RSSI defaults to −60 dBm and
    /// the antenna to 1; frequency, timestamp and phase are fixed. The EPC is cut to 62 bytes
    /// (the most a PC word can announce) and the PC's XPC bit is cleared (no XPC words are sent).
    fn tag(&self, tag: &TagReport) -> Vec<u8> {
        let epc = &tag.epc[..tag.epc.len().min(62)];
        let pc = tag.pc & !0x0200;
        let ant = tag.antenna.unwrap_or(1).clamp(1, 15);
        let rssi = tag.rssi_dbm.unwrap_or(-60).clamp(-128, 127) as i8;
        let mut d = Vec::with_capacity(28 + epc.len());
        d.push(0x10);
        d.extend_from_slice(&[0x00, 0x1B]);
        d.extend_from_slice(&STREAM_METADATA.to_be_bytes());
        d.push(0x01); // response type: tag
        d.push(0x01); // read count
        d.push(rssi as u8);
        d.push(ant << 4 | ant);
        d.extend_from_slice(&[0x0E, 0x16, 0x40]); // 923.200 MHz
        d.extend_from_slice(&[0x00, 0x00, 0x01, 0x27]); // ms since the last keep-alive
        d.extend_from_slice(&[0x00, 0x00]); // phase
        d.push(PROTOCOL_GEN2);
        d.extend_from_slice(&[0x00, 0x00]); // no embedded data
        d.push(0x0F); // GPIO
        d.extend_from_slice(&(((epc.len() + 4) * 8) as u16).to_be_bytes());
        d.extend_from_slice(&pc.to_be_bytes());
        d.extend_from_slice(epc);
        d.extend_from_slice(&gen2::epc_crc(pc, epc).to_be_bytes());
        reply(op::READ_TAG_ID_MULTIPLE, status::OK, &d)
    }

    /// Mercury streams without rounds.
    fn round_end(&self, _tags: u32, _reads_per_s: u32) -> Option<Vec<u8>> {
        None
    }

    /// `FF Len 28 00 00 | option 0x01 (echoed) | TID`.
    fn tid_reply(&self, _epc: &[u8], tid: &[u8]) -> Vec<u8> {
        let tid = &tid[..tid.len().min(MAX_MODULE_LEN - 1)];
        let mut d = Vec::with_capacity(1 + tid.len());
        d.push(0x01);
        d.extend_from_slice(tid);
        reply(op::READ_TAG_DATA, status::OK, &d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::codec::resync::GARBAGE_REPORT_EVERY;

    fn h(s: &str) -> Vec<u8> {
        gen2::unhex(s).expect("test hex")
    }

    fn decode_all(bytes: &[u8]) -> Vec<Result<ReaderMsg, FrameError>> {
        let mut d = MercuryDecoder::new();
        let mut out = Vec::new();
        d.push(bytes, &mut out);
        out
    }

    fn tag_of(m: &Result<ReaderMsg, FrameError>) -> &TagReport {
        match m {
            Ok(ReaderMsg::Tag(t)) => t,
            other => panic!("expected a tag, got {other:?}"),
        }
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

    /// protocols.md §1c: the 47-byte record from SparkFun's `parseResponse` comment.
    const DOC_RECORD: &str = "FF 28 22 00 00 10 00 1B 01 FF 01 01 C4 11 0E 16 40 00 00 01 27 00 00 05 00 00 0F 00 80 \
                              30 00 00 00 00 00 00 00 00 00 00 00 15 45 E9 4A 56 1D";

    /// Real captures (`3-Ant Select - Reading.txt`): 96-bit, 32-bit and 96-bit EPCs.
    const CAPTURED_RECORDS: [(&str, &str, i16, u16); 3] = [
        (
            "FF 28 22 00 00 10 00 1B 01 FF 01 01 CD 11 0E 08 30 00 00 00 0A 00 00 05 00 00 0F 00 80 30 00 00 \
             00 00 00 00 00 00 00 00 00 15 45 E9 4A 02 37",
            "000000000000000000001545",
            -51,
            0x3000,
        ),
        (
            "FF 20 22 00 00 10 00 1B 01 FF 01 01 C7 11 0E 08 30 00 00 00 0F 00 00 05 00 00 0F 00 40 10 00 59 \
             6F 59 6F F3 13 89 90",
            "596F596F",
            -57,
            0x1000,
        ),
        (
            "FF 28 22 00 00 10 00 1B 01 FF 01 01 C9 11 0E 08 30 00 00 00 13 00 00 05 00 00 0F 00 80 30 00 E2 \
             00 10 26 76 0E 01 79 15 90 71 25 19 85 57 97",
            "E2001026760E017915907125",
            -55,
            0x3000,
        ),
    ];

    #[test]
    fn crc_matches_every_verified_frame() {
        for f in [
            "FF 00 03 1D 0C",
            "FF 0A 24 03 E8 00 00 00 00 00 03 00 EE 58 9D",
            "FF 10 2F 00 00 01 22 00 00 05 07 22 10 00 1B 03 E8 01 FF DD 2B",
            "FF 03 2F 00 00 02 5E 86",
            DOC_RECORD,
        ] {
            let b = h(f);
            let n = b.len();
            assert_eq!(crc(&b[1..n - 2]).to_be_bytes(), [b[n - 2], b[n - 1]], "{f}");
        }
        // Appending 00 00 turns it into CRC-16/AUG-CCITT (protocols.md §1c).
        let aug = crc::Crc::<u16>::new(&crc::CRC_16_SPI_FUJITSU);
        assert_eq!(crc(&[0x00, 0x03, 0x00, 0x00]), aug.checksum(&[0x00, 0x03]));
    }

    #[test]
    fn commands_are_byte_exact() {
        let p = Mercury;
        assert_eq!(p.probe(), h("FF 00 03 1D 0C"));
        assert_eq!(
            Mercury::start_command(),
            h("FF 10 2F 00 00 01 22 00 00 05 07 22 10 00 1B 03 E8 01 FF DD 2B")
        );
        assert_eq!(p.stop_inventory(), Some(h("FF 03 2F 00 00 02 5E 86")));
        let start = p.start_inventory(&InventoryConfig::default(), Target::A);
        assert_eq!(start, vec![h("FF 04 9B 05 01 01 00 A2 FD"), Mercury::start_command()]);
        // Configuration frames captured from ThingMagic's Universal Reader Assistant (SparkFun logs).
        let cfg = InventoryConfig {
            power_dbm: 27.0,
            region: Region::Fcc,
            session: 0,
            q: 4,
            antenna: 1,
        };
        let c = p.configure(&cfg);
        for (want, why) in [
            ("FF 02 92 0A 8C 4B D5", "read power 27.00 dBm"),
            ("FF 01 97 0D 4B B0", "region NA2"),
            ("FF 03 91 02 01 01 42 C5", "antenna search list 1/1"),
            ("FF 03 9A 01 0C 00 A3 5D", "read filter off"),
            ("FF 03 9B 05 00 00 DC E8", "session S0"),
        ] {
            assert!(c.contains(&h(want)), "{why}: {want} missing from {c:02X?}");
        }
        assert_eq!(c[0], command(0x93, &[0x00, 0x05]));
        assert_eq!(c[6], command(0x9B, &[0x05, 0x12, 0x01, 0x04]));
        assert_eq!(p.mode(), InventoryMode::Continuous);
        assert_eq!(p.name(), "mercury");
        assert_eq!(p.default_baud(), 115_200);
    }

    #[test]
    fn read_tid_request_layout() {
        let epc = h("E2001026760E017915907125");
        let cmds = Mercury.read_tid(&epc, 6).unwrap();
        let mut want = h("03 E8 01 02 00 00 00 00 06 00 00 00 00 60");
        want.extend_from_slice(&epc);
        assert_eq!(cmds, vec![command(0x28, &want)]);
        assert_eq!(Mercury.read_tid(&[0u8; 32], 6), None);
        assert_eq!(Mercury.read_tid(&epc, 0), None);
    }

    #[test]
    fn decodes_the_documented_and_captured_records() {
        let out = decode_all(&h(DOC_RECORD));
        assert_eq!(out.len(), 1);
        let t = tag_of(&out[0]);
        assert_eq!(t.epc, h("000000000000000000001545"));
        assert_eq!(
            (t.pc, t.rssi_dbm, t.antenna, t.tid.clone()),
            (0x3000, Some(-60), Some(1), None)
        );
        for (frame, epc, rssi, pc) in CAPTURED_RECORDS {
            let out = decode_all(&h(frame));
            assert_eq!(out.len(), 1, "{frame}");
            let t = tag_of(&out[0]);
            assert_eq!(
                (gen2::hex(&t.epc).as_str(), t.rssi_dbm, t.pc, t.antenna),
                (epc, Some(rssi), pc, Some(1))
            );
        }
    }

    #[test]
    fn decodes_captured_replies() {
        let table: Vec<(&str, ReaderMsg)> = vec![
            ("FF 00 22 04 00 84 E0", ReaderMsg::KeepAlive),
            ("FF 01 2F 00 00 02 30 E6", ReaderMsg::Ok { cmd: 0x2F }),
            ("FF 04 2F 00 00 01 22 00 00 6D C3", ReaderMsg::Ok { cmd: 0x2F }),
            ("FF 00 9B 00 00 B6 12", ReaderMsg::Ok { cmd: 0x9B }),
            ("FF 00 92 00 00 27 3B", ReaderMsg::Ok { cmd: 0x92 }),
            ("FF 00 97 00 00 77 9E", ReaderMsg::Ok { cmd: 0x97 }),
            ("FF 00 91 00 00 17 58", ReaderMsg::Ok { cmd: 0x91 }),
            ("FF 00 9A 00 00 A6 33", ReaderMsg::Ok { cmd: 0x9A }),
            ("FF 00 06 00 00 E4 06", ReaderMsg::Ok { cmd: 0x06 }),
            (
                "FF 09 71 00 00 0D 04 05 06 08 09 0B 0C FF A4 C7",
                ReaderMsg::Ok { cmd: 0x71 },
            ),
        ];
        for (frame, want) in table {
            assert_eq!(decode_all(&h(frame)), vec![Ok(want)], "{frame}");
        }
        let v = decode_all(&h(
            "FF 14 03 00 00 14 12 08 00 30 00 00 02 20 15 03 10 01 03 01 47 00 00 00 10 EB FF",
        ));
        match &v[..] {
            [Ok(ReaderMsg::Version(s))] => {
                assert!(
                    s.contains("M6e Nano") && s.contains("01.03.01.47") && s.contains("2015-03-10"),
                    "{s}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statuses() {
        let cases = [
            (reply(0x22, 0x0504, &[]), 0x22, 0x0504, "temperature throttle"),
            (reply(0x22, 0x0400, &[0x10]), 0x22, 0x0400, "no tags found"),
            (reply(0x28, 0x0400, &[]), 0x28, 0x0400, "no tags found"),
            (reply(0x97, 0x010B, &[]), 0x97, 0x010B, "region not supported"),
            (reply(0x92, 0x1234, &[]), 0x92, 0x1234, "module error status"),
        ];
        for (frame, cmd, code, message) in cases {
            assert_eq!(decode_all(&frame), vec![Ok(ReaderMsg::Status { cmd, code, message })]);
        }
        // End of stream and status reports inside 0x22.
        let end = reply(0x22, 0, &[0x10, 0x00, 0x1B, 0x01, 0xFF, 0x00]);
        assert_eq!(
            decode_all(&end),
            vec![Ok(ReaderMsg::RoundEnd {
                read_rate: None,
                total_reads: None
            })]
        );
        let stats = reply(0x22, 0, &[0x10, 0x00, 0x1B, 0x01, 0xFF, 0x02, 0x00]);
        assert_eq!(decode_all(&stats), vec![Ok(ReaderMsg::KeepAlive)]);
    }

    /// A mixed stream: captured records, replies and a keep-alive.
    fn sample_stream() -> Vec<u8> {
        let mut s = h(DOC_RECORD);
        for (f, ..) in CAPTURED_RECORDS {
            s.extend(h(f));
        }
        s.extend(h("FF 00 22 04 00 84 E0 FF 01 2F 00 00 02 30 E6"));
        s.extend(MercuryModule::new().tag(&TagReport {
            epc: h("300833B2DDD9014000000001"),
            pc: 0x3000,
            rssi_dbm: Some(-71),
            antenna: Some(2),
            tid: None,
        }));
        s
    }

    #[test]
    fn chunking_does_not_change_the_output() {
        let mut noisy = vec![0x13, 0xFF, 0x07];
        noisy.extend(sample_stream());
        noisy.extend([0xFF, 0xF0, 0x22, 0x00]);
        noisy.extend(sample_stream());
        let mut bad = sample_stream();
        bad[60] ^= 0x04; // corrupt a record inside a stream
        noisy.extend(bad);
        for stream in [sample_stream(), noisy] {
            let whole = decode_all(&stream);
            assert!(whole.iter().filter(|m| matches!(m, Ok(ReaderMsg::Tag(_)))).count() >= 5);
            let mut d = MercuryDecoder::new();
            let mut bytewise = Vec::new();
            for b in &stream {
                d.push(std::slice::from_ref(b), &mut bytewise);
            }
            assert_eq!(bytewise, whole);
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
            for _ in 0..50 {
                let mut d = MercuryDecoder::new();
                let mut out = Vec::new();
                let mut i = 0;
                while i < stream.len() {
                    let n = 1 + rng.below(40);
                    let e = (i + n).min(stream.len());
                    d.push(&stream[i..e], &mut out);
                    i = e;
                }
                assert_eq!(out, whole);
            }
        }
    }

    #[test]
    fn garbage_before_and_between_frames() {
        let rec = h(DOC_RECORD);
        let mut s = vec![0x00, 0x12, 0xFF, 0x34];
        s.extend(&rec);
        s.extend([0xAA, 0xBB, 0xCC]);
        s.extend(&rec);
        let out = decode_all(&s);
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(out[0], Err(FrameError::Garbage { bytes: 4 }));
        tag_of(&out[1]);
        assert_eq!(out[2], Err(FrameError::Garbage { bytes: 3 }));
        tag_of(&out[3]);
    }

    #[test]
    fn truncated_frame_then_good_frame() {
        let rec = h(DOC_RECORD);
        let mut s = rec.clone();
        s.extend(&rec[..20]);
        s.extend(&rec);
        s.extend(&rec);
        let out = decode_all(&s);
        tag_of(&out[0]);
        assert!(matches!(out[1], Err(FrameError::BadChecksum { .. })), "{out:?}");
        assert_eq!(out.len(), 4, "{out:?}");
        tag_of(&out[2]);
        tag_of(&out[3]);
        // Out of sync (leading noise), a truncated frame is skipped as garbage.
        let mut s = vec![0x55];
        s.extend(&rec[..20]);
        s.extend(&rec);
        let out = decode_all(&s);
        assert_eq!(out[0], Err(FrameError::Garbage { bytes: 21 }));
        tag_of(&out[1]);
    }

    #[test]
    fn flipped_crc_bit_and_flipped_epc_bit() {
        let rec = h(DOC_RECORD);
        let mut bad = rec.clone();
        let n = bad.len();
        bad[n - 1] ^= 0x01;
        let mut s = rec.clone();
        s.extend(&bad);
        s.extend(&rec);
        let out = decode_all(&s);
        assert_eq!(out.len(), 3, "{out:?}");
        tag_of(&out[0]);
        assert_eq!(
            out[1],
            Err(FrameError::BadChecksum {
                expected: 0x561D,
                found: 0x561C
            })
        );
        tag_of(&out[2]);

        // An EPC bit flipped before the module computed its message CRC: the frame is good, the
        // EPC CRC-16 is not.
        let mut t = rec[1..rec.len() - 2].to_vec();
        t[41] ^= 0x10;
        let mut f = vec![0xFF];
        f.extend(&t);
        f.extend(crc(&t).to_be_bytes());
        let out = decode_all(&f);
        assert_eq!(
            out,
            vec![Err(FrameError::EpcCrc {
                epc_hex: "000000000000000000001555".into()
            })]
        );
    }

    #[test]
    fn bogus_huge_length_does_not_swallow_good_frames() {
        let rec = h(DOC_RECORD);
        // In sync: FF F0 followed by a frame start is no plausible header.
        let mut s = rec.clone();
        s.extend([0xFF, 0xF0]);
        s.extend(&rec);
        s.extend(&rec);
        let out = decode_all(&s);
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(out[1], Err(FrameError::Garbage { bytes: 2 }));
        // Impossible length where a frame must start: Malformed, then resync.
        let mut s = rec.clone();
        s.extend([0xFF, 0xFE, 0x22]);
        s.extend(&rec);
        let out = decode_all(&s);
        assert!(matches!(&out[1], Err(FrameError::Malformed(_))), "{out:?}");
        assert_eq!(out[2], Err(FrameError::Garbage { bytes: 2 }));
        tag_of(&out[3]);
        // Out of sync, a plausible header with a huge length is overtaken by good frames,
        // which come out at once (nothing waits for the bogus frame to fill up).
        let mut s = vec![0xFF, 0xF0, 0x22, 0x00, 0x00];
        s.extend(&rec);
        s.extend(&rec);
        let out = decode_all(&s);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0], Err(FrameError::Garbage { bytes: 5 }));
        tag_of(&out[1]);
        tag_of(&out[2]);
        // In sync, a plausible header with a huge length is overruled as soon as two good frames
        // have completed inside the length it claims.
        let mut s = rec.clone();
        s.extend([0xFF, 0xF0, 0x22, 0x00]);
        s.extend(&rec);
        s.extend(&rec);
        let out = decode_all(&s);
        assert_eq!(out.len(), 4, "{out:?}");
        tag_of(&out[0]);
        assert_eq!(out[1], Err(FrameError::Garbage { bytes: 4 }));
        tag_of(&out[2]);
        tag_of(&out[3]);
    }

    #[test]
    fn reset_drops_a_partial_frame() {
        let rec = h(DOC_RECORD);
        let mut d = MercuryDecoder::new();
        let mut out = Vec::new();
        d.push(&rec[..30], &mut out);
        d.reset();
        d.push(&rec, &mut out);
        assert_eq!(out.len(), 1);
        tag_of(&out[0]);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn every_command_round_trips_through_the_module() {
        let p = Mercury;
        let mut m = MercuryModule::new();
        let mut out = Vec::new();
        let cfg = InventoryConfig {
            session: 3,
            ..InventoryConfig::default()
        };
        for c in p.configure(&cfg) {
            m.push_host(&c, &mut out);
        }
        let want: Vec<_> = [0x93, 0x97, 0x91, 0x92, 0x9A, 0x9B, 0x9B]
            .iter()
            .map(|&cmd| Ok(HostCommand::Configure { cmd }))
            .collect();
        assert_eq!(out, want);
        out.clear();
        m.push_host(&p.probe(), &mut out);
        for c in p.start_inventory(&cfg, Target::B) {
            m.push_host(&c, &mut out);
        }
        m.push_host(&p.stop_inventory().unwrap(), &mut out);
        let epc = h("E2001026760E017915907125");
        for c in p.read_tid(&epc, 6).unwrap() {
            m.push_host(&c, &mut out);
        }
        m.push_host(&command(0x55, &[1, 2, 3]), &mut out);
        let mut bad = p.probe();
        bad[4] ^= 0x80;
        m.push_host(&bad, &mut out);
        m.push_host(&p.probe(), &mut out);
        assert_eq!(
            out,
            vec![
                Ok(HostCommand::Version),
                Ok(HostCommand::Configure { cmd: 0x9B }),
                Ok(HostCommand::StartInventory {
                    session: Some(3),
                    target: Some(Target::B)
                }),
                Ok(HostCommand::StopInventory),
                Ok(HostCommand::ReadTid { epc, words: 6 }),
                Ok(HostCommand::Unknown { cmd: 0x55 }),
                Err(FrameError::BadChecksum {
                    expected: 0x1D0C,
                    found: 0x1D8C
                }),
                Ok(HostCommand::Version),
            ]
        );
    }

    #[test]
    fn every_module_output_round_trips_through_the_decoder() {
        let m = MercuryModule::new();
        let cases: Vec<(HostCommand, Vec<ReaderMsg>)> = vec![
            (HostCommand::Configure { cmd: 0x92 }, vec![ReaderMsg::Ok { cmd: 0x92 }]),
            (
                HostCommand::StartInventory {
                    session: None,
                    target: None,
                },
                vec![ReaderMsg::Ok { cmd: 0x2F }],
            ),
            (
                HostCommand::StopInventory,
                vec![ReaderMsg::KeepAlive, ReaderMsg::Ok { cmd: 0x2F }],
            ),
            (
                HostCommand::ReadTid {
                    epc: vec![1, 2],
                    words: 2,
                },
                vec![ReaderMsg::Status {
                    cmd: 0x28,
                    code: 0x0400,
                    message: "no tags found",
                }],
            ),
            (
                HostCommand::Unknown { cmd: 0x44 },
                vec![ReaderMsg::Status {
                    cmd: 0x44,
                    code: 0x0101,
                    message: "invalid opcode",
                }],
            ),
        ];
        for (cmd, want) in cases {
            let got: Vec<_> = decode_all(&m.answer(&cmd)).into_iter().map(|r| r.unwrap()).collect();
            assert_eq!(got, want, "{cmd:?}");
        }
        assert!(matches!(
            &decode_all(&m.answer(&HostCommand::Version))[..],
            [Ok(ReaderMsg::Version(_))]
        ));
        for epc_len in [2usize, 12, 16, 62] {
            let t = TagReport {
                epc: (0..epc_len as u8).collect(),
                pc: gen2::pc_for_len(epc_len),
                rssi_dbm: Some(-42),
                antenna: Some(3),
                tid: None,
            };
            assert_eq!(decode_all(&m.tag(&t)), vec![Ok(ReaderMsg::Tag(t))]);
        }
        let tid = h("E2003412016EFE00037D9AA3");
        assert_eq!(
            decode_all(&m.tid_reply(&[0x30, 0x00], &tid)),
            vec![Ok(ReaderMsg::BankData {
                epc: None,
                data: tid.clone()
            })]
        );
        assert_eq!(m.round_end(3, 100), None);
        assert_eq!(m.round_reply(&[]), None);
    }

    #[test]
    fn fuzz_never_panics_and_stays_bounded() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let good = sample_stream();
        let mut d = MercuryDecoder::new();
        let mut m = MercuryModule::new();
        let mut out = Vec::new();
        let mut cmds = Vec::new();
        let mut buf = Vec::new();
        for round in 0..3000 {
            buf.clear();
            let n = rng.below(600);
            for _ in 0..n {
                // Bias towards header-like bytes so frame paths get exercised.
                let b = match rng.below(8) {
                    0 => 0xFF,
                    1 => rng.below(0x30) as u8,
                    _ => rng.next() as u8,
                };
                buf.push(b);
            }
            if round % 7 == 0 {
                let at = rng.below(good.len());
                buf.extend(&good[at..]);
            }
            d.push(&buf, &mut out);
            m.push_host(&buf, &mut cmds);
            assert!(d.buffered() <= 2 * ModuleFrames::MAX + FEED_PIECE, "{}", d.buffered());
            assert!(m.buffered() <= 2 * HostFrames::MAX + FEED_PIECE);
            out.clear();
            cmds.clear();
        }
        // A huge single push is processed piecewise.
        let big: Vec<u8> = (0..100_000).map(|_| rng.next() as u8).collect();
        d.push(&big, &mut out);
        assert!(d.buffered() <= 2 * ModuleFrames::MAX);
        assert!(out.iter().any(|m| matches!(
            m,
            Err(FrameError::Garbage {
                bytes: GARBAGE_REPORT_EVERY
            })
        )));
        // The decoder still works afterwards.
        out.clear();
        d.push(&good, &mut out);
        d.push(&good, &mut out);
        assert!(out.iter().filter(|m| matches!(m, Ok(ReaderMsg::Tag(_)))).count() >= 5);
    }

    #[test]
    fn decodes_fast() {
        let m = MercuryModule::new();
        let t = TagReport {
            epc: h("E2001026760E017915907125"),
            pc: 0x3000,
            rssi_dbm: Some(-50),
            antenna: Some(1),
            tid: None,
        };
        let rec = m.tag(&t);
        let stream: Vec<u8> = rec.iter().copied().cycle().take(rec.len() * 100_000).collect();
        let mut d = MercuryDecoder::new();
        let mut out = Vec::with_capacity(100_000);
        let t0 = std::time::Instant::now();
        for chunk in stream.chunks(512) {
            d.push(chunk, &mut out);
        }
        let dt = t0.elapsed();
        assert_eq!(out.len(), 100_000);
        // Generous even for an unoptimised build; release decodes millions per second.
        assert!(dt.as_secs_f64() < 5.0, "100k records took {dt:?}");
    }
}
