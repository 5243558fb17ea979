//! Zebra SSI (Simple Serial Interface) packets, both directions: the host side (commands, ACK/NAK,
//! a stream decoder that resynchronises, multi-packet DECODE_DATA assembly) and the decoder
//! (engine) side used by the simulator.
//!
//! Packet: `Len | Opcode | Source | Status | Data… | Cksum_H | Cksum_L`. `Len` counts the bytes
//! before the checksum (so 4 + data, at most 255); the checksum is the two's complement of the
//! 16-bit sum of those bytes. Source 0x04 = host, 0x00 = decoder. Status bit 0 = retransmission,
//! bit 1 = intermediate packet of a multi-packet message (more follow), bit 3 = permanent
//! parameter change (PARAM_SEND).
//!
//! Sources of the facts:
//! - protocols.md §3 (verified frames `04 D0 04 00 FF 28` ACK, `04 E4 04 00 FF 14` start session,
//!   `04 10 04 00 FF E8`, `07 F3 00 00 01 4E 52 FE 65` DECODE_DATA "NR");
//! - `clocklimited/motorola-ssi-scanner` `lib/{opcodes,command,checksum,params}.js`, `scanner.js`
//!   (init PARAM_SENDs, each DECODE_DATA packet carries the barcode type byte, data from byte 4)
//!   and `test/{checksum,command,scanner}.test.js` (vectors used below, incl. a 255-byte packet);
//! - `alvinnguyen-chipmunk/zebra-scanner-library` `ssi.h` (NAK causes RESEND 0x01, BAD_CONTEXT
//!   0x02, DENIED 0x06, CANCEL 0x0A; status bits incl. bit 3 "Parameter Change Type";
//!   beep 0xFF = none; extended parameter prefixes 0xF0-0xF2) and `src/mlsScannerPackage.c`
//!   (multi-packet decode data: type byte repeated in every packet);
//! - `enioka-Haute-Couture/enioka_scan` `enioka_scan_zebraoss/.../SsiCommand.java` (the opcode
//!   table), `commands/ParamSend.java` (parameter numbers 256-495 as `F0 nn`, 512-751 `F1 nn`,
//!   768-1007 `F2 nn`) and `SsiParserTest.java` (PARAM_SEND vectors with `F4` = word value).
//!
//! Not covered: the Bluetooth/RS5x "multipacket segment" opcode 0x73 (enioka), which wraps
//! packets differently; such packets decode as opaque `Packet`s.

use super::FrameError;

// Opcodes.
pub const FLUSH_MACRO_PDF: u8 = 0x10;
pub const ABORT_MACRO_PDF: u8 = 0x11;
pub const CUSTOM_DEFAULTS: u8 = 0x12;
pub const SSI_MGMT_COMMAND: u8 = 0x80;
pub const REQUEST_REVISION: u8 = 0xA3;
pub const REPLY_REVISION: u8 = 0xA4;
pub const IMAGE_DATA: u8 = 0xB1;
pub const VIDEO_DATA: u8 = 0xB4;
pub const ILLUMINATION_OFF: u8 = 0xC0;
pub const ILLUMINATION_ON: u8 = 0xC1;
pub const AIM_OFF: u8 = 0xC4;
pub const AIM_ON: u8 = 0xC5;
pub const PARAM_SEND: u8 = 0xC6;
pub const PARAM_REQUEST: u8 = 0xC7;
pub const PARAM_DEFAULTS: u8 = 0xC8;
pub const CMD_ACK: u8 = 0xD0;
pub const CMD_NAK: u8 = 0xD1;
pub const FLUSH_QUEUE: u8 = 0xD2;
pub const CAPABILITIES_REQUEST: u8 = 0xD3;
pub const CAPABILITIES_REPLY: u8 = 0xD4;
pub const START_SESSION: u8 = 0xE4;
pub const STOP_SESSION: u8 = 0xE5;
pub const BEEP: u8 = 0xE6;
pub const LED_ON: u8 = 0xE7;
pub const LED_OFF: u8 = 0xE8;
pub const SCAN_ENABLE: u8 = 0xE9;
pub const SCAN_DISABLE: u8 = 0xEA;
pub const SLEEP: u8 = 0xEB;
pub const DECODE_DATA: u8 = 0xF3;
pub const EVENT: u8 = 0xF6;
pub const IMAGER_MODE: u8 = 0xF7;

/// Opcodes seen in the sources; a stream decoder trusts a packet hidden behind noise only when
/// its opcode is one of these.
const KNOWN_OPCODES: &[u8] = &[
    0x10, 0x11, 0x12, 0x13, 0x14, 0x73, 0x74, 0x80, 0x90, 0x91, 0x93, 0xA3, 0xA4, 0xB1, 0xB4, 0xC0, 0xC1, 0xC4, 0xC5,
    0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD8, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9,
    0xEA, 0xEB, 0xF3, 0xF6, 0xF7,
];

/// Whether `op` is an opcode listed in the sources.
pub fn is_known_opcode(op: u8) -> bool {
    KNOWN_OPCODES.contains(&op)
}

// Message sources.
pub const SOURCE_DECODER: u8 = 0x00;
pub const SOURCE_HOST: u8 = 0x04;

// Status bits.
pub const STATUS_RETRANSMIT: u8 = 0x01;
pub const STATUS_CONTINUATION: u8 = 0x02;
pub const STATUS_PERMANENT: u8 = 0x08;

// NAK causes (the data byte of CMD_NAK).
pub const NAK_RESEND: u8 = 0x01;
pub const NAK_BAD_CONTEXT: u8 = 0x02;
pub const NAK_DENIED: u8 = 0x06;
pub const NAK_CANCEL: u8 = 0x0A;

/// PARAM_SEND beep code: no beep.
pub const BEEP_NONE: u8 = 0xFF;

// Parameter numbers used by hosts (values in brackets).
/// Software handshaking, ACK/NAK (1 = on).
pub const PARAM_SW_HANDSHAKING: u8 = 0x9F;
/// Decode data packet format (0 = raw, 1 = packeted DECODE_DATA).
pub const PARAM_DECODE_DATA_PACKETED: u8 = 0xEE;
/// Transmit "NR" (no read) at the end of a session without a decode (1 = on).
pub const PARAM_TRANSMIT_NO_READ: u8 = 0x5E;
/// Parameter scanning: reading programming barcodes (0 = off).
pub const PARAM_PARAMETER_SCANNING: u8 = 0xEC;
/// Trigger mode (0x08 = host / soft trigger; single source: `zebra-scanner-library` `ssi.h`).
pub const PARAM_TRIGGER_MODE: u8 = 0x8A;

/// Largest `Len` byte, and the most data one packet carries.
pub const MAX_LEN: usize = 255;
pub const MAX_DATA: usize = MAX_LEN - 4;
/// Most barcode bytes in one DECODE_DATA packet (one data byte is the barcode type).
pub const MAX_DECODE_CHUNK: usize = MAX_DATA - 1;
/// Largest packet on the wire (length byte 255 plus the checksum).
pub const MAX_PACKET: usize = MAX_LEN + 2;

/// One SSI packet, checksum and length stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub opcode: u8,
    pub source: u8,
    pub status: u8,
    pub data: Vec<u8>,
}

impl Packet {
    /// A first-transmission host packet.
    pub fn host(opcode: u8, data: &[u8]) -> Packet {
        Packet {
            opcode,
            source: SOURCE_HOST,
            status: 0,
            data: data.to_vec(),
        }
    }

    /// A first-transmission decoder (engine) packet.
    pub fn decoder(opcode: u8, data: &[u8]) -> Packet {
        Packet {
            opcode,
            source: SOURCE_DECODER,
            status: 0,
            data: data.to_vec(),
        }
    }

    pub fn is_retransmit(&self) -> bool {
        self.status & STATUS_RETRANSMIT != 0
    }

    /// More packets of this message follow.
    pub fn is_intermediate(&self) -> bool {
        self.status & STATUS_CONTINUATION != 0
    }
}

/// The SSI checksum of `bytes` (two's complement of their 16-bit sum).
pub fn checksum(bytes: &[u8]) -> u16 {
    let sum = bytes.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
    sum.wrapping_neg()
}

/// Encodes a packet; `Malformed` when the data does not fit one packet (more than 251 bytes).
pub fn try_encode(p: &Packet) -> Result<Vec<u8>, FrameError> {
    if p.data.len() > MAX_DATA {
        return Err(FrameError::Malformed(format!(
            "SSI packet data of {} bytes exceeds {MAX_DATA} (split it into intermediate packets)",
            p.data.len()
        )));
    }
    let mut v = Vec::with_capacity(p.data.len() + 6);
    v.extend_from_slice(&[(p.data.len() + 4) as u8, p.opcode, p.source, p.status]);
    v.extend_from_slice(&p.data);
    let ck = checksum(&v);
    v.extend_from_slice(&ck.to_be_bytes());
    Ok(v)
}

/// Encodes a packet. Data beyond 251 bytes cannot be sent in one packet and is cut off (use
/// [`decode_data_packets`] or [`try_encode`] where that can happen).
pub fn encode(p: &Packet) -> Vec<u8> {
    if p.data.len() > MAX_DATA {
        let cut = Packet {
            data: p.data[..MAX_DATA].to_vec(),
            ..p.clone()
        };
        return try_encode(&cut).unwrap_or_default();
    }
    try_encode(p).unwrap_or_default()
}

/// A host command with this opcode and data.
pub fn command(opcode: u8, data: &[u8]) -> Vec<u8> {
    encode(&Packet::host(opcode, data))
}

/// Host ACK: `04 D0 04 00 FF 28`.
pub fn ack() -> Vec<u8> {
    command(CMD_ACK, &[])
}

/// Host NAK with a cause (`NAK_RESEND` after a corrupt packet).
pub fn nak(cause: u8) -> Vec<u8> {
    command(CMD_NAK, &[cause])
}

/// Starts a scan session (soft trigger pull): `04 E4 04 00 FF 14`.
pub fn start_session() -> Vec<u8> {
    command(START_SESSION, &[])
}

/// Stops the scan session (soft trigger release).
pub fn stop_session() -> Vec<u8> {
    command(STOP_SESSION, &[])
}

pub fn scan_enable() -> Vec<u8> {
    command(SCAN_ENABLE, &[])
}

pub fn scan_disable() -> Vec<u8> {
    command(SCAN_DISABLE, &[])
}

/// Asks for the firmware revision (answered with REPLY_REVISION).
pub fn request_revision() -> Vec<u8> {
    command(REQUEST_REVISION, &[])
}

/// Flushes the engine's queue of undelivered decode data.
pub fn flush_queue() -> Vec<u8> {
    command(FLUSH_QUEUE, &[])
}

/// PARAM_SEND with no beep and the raw parameter bytes `params` (number, value, number, value…;
/// numbers above 239 with their `F0`-`F2` prefix, word values with `F4`), e.g.
/// `param_send(&[0x9F, 0x01, 0xEE, 0x01], false)`. `permanent` sets status bit 3 (saved in the
/// engine); temporary changes are lost at power-down. More than 250 parameter bytes are cut off.
pub fn param_send(params: &[u8], permanent: bool) -> Vec<u8> {
    let mut data = Vec::with_capacity(params.len() + 1);
    data.push(BEEP_NONE);
    data.extend_from_slice(params);
    let status = if permanent { STATUS_PERMANENT } else { 0 };
    encode(&Packet {
        opcode: PARAM_SEND,
        source: SOURCE_HOST,
        status,
        data,
    })
}

/// The bytes of parameter number `n`: one byte up to 0xEF, `F0 nn` for 256-495, `F1 nn` for
/// 512-751, `F2 nn` for 768-1007; `None` for numbers with no encoding.
pub fn param_number_bytes(n: u16) -> Option<Vec<u8>> {
    let (hi, lo) = (n >> 8, (n & 0xFF) as u8);
    match (hi, lo) {
        (0, lo) if lo < 0xF0 => Some(vec![lo]),
        (1..=3, lo) if lo < 0xF0 => Some(vec![0xEF + hi as u8, lo]),
        _ => None,
    }
}

/// PARAM_SEND of `(parameter number, byte value)` pairs; `Malformed` for a number with no
/// encoding or a packet that would be too long.
pub fn param_send_list(params: &[(u16, u8)], permanent: bool) -> Result<Vec<u8>, FrameError> {
    let mut raw = Vec::new();
    for &(n, v) in params {
        let nb = param_number_bytes(n)
            .ok_or_else(|| FrameError::Malformed(format!("SSI parameter number {n} cannot be encoded")))?;
        raw.extend_from_slice(&nb);
        raw.push(v);
    }
    if raw.len() + 1 > MAX_DATA {
        return Err(FrameError::Malformed(format!(
            "{} parameters do not fit one PARAM_SEND",
            params.len()
        )));
    }
    Ok(param_send(&raw, permanent))
}

/// Parses PARAM_SEND data (as sent by a host, or as an engine answers PARAM_REQUEST): the beep
/// code and `(parameter number, value)` pairs; word values (`F4` prefix) are returned whole.
pub fn parse_param_send(data: &[u8]) -> Result<(u8, Vec<(u16, u16)>), FrameError> {
    let bad = |why: &str| FrameError::Malformed(format!("PARAM_SEND data {}: {why}", super::gen2::hex(data)));
    let (&beep, mut rest) = data.split_first().ok_or_else(|| bad("empty"))?;
    let mut out = Vec::new();
    while let Some((&first, tail)) = rest.split_first() {
        let (word, b0, tail) = if first == 0xF4 {
            let (&b, t) = tail.split_first().ok_or_else(|| bad("truncated"))?;
            (true, b, t)
        } else {
            (false, first, tail)
        };
        let (number, tail) = match b0 {
            0xF0..=0xF2 => {
                let (&lo, t) = tail.split_first().ok_or_else(|| bad("truncated"))?;
                (u16::from(b0 - 0xEF) << 8 | u16::from(lo), t)
            }
            0xF3..=0xFF => return Err(bad("unknown parameter prefix")),
            n => (u16::from(n), tail),
        };
        let (value, tail) = if word {
            match tail {
                [h, l, t @ ..] => (u16::from_be_bytes([*h, *l]), t),
                _ => return Err(bad("truncated")),
            }
        } else {
            let (&v, t) = tail.split_first().ok_or_else(|| bad("truncated"))?;
            (u16::from(v), t)
        };
        out.push((number, value));
        rest = tail;
    }
    Ok((beep, out))
}

/// Decoder side: the DECODE_DATA packets an engine sends for one barcode, split as a real engine
/// does (every packet starts with the barcode type byte; all but the last have the intermediate
/// status bit). `max_payload` is the most barcode bytes per packet (clamped to 1..=250).
pub fn decode_data_packets(barcode_type: u8, data: &[u8], max_payload: usize) -> Vec<Vec<u8>> {
    let n = max_payload.clamp(1, MAX_DECODE_CHUNK);
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(n).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut d = Vec::with_capacity(chunk.len() + 1);
            d.push(barcode_type);
            d.extend_from_slice(chunk);
            let status = if i < last { STATUS_CONTINUATION } else { 0 };
            encode(&Packet {
                opcode: DECODE_DATA,
                source: SOURCE_DECODER,
                status,
                data: d,
            })
        })
        .collect()
}

/// Decoder side: the engine's ACK, `04 D0 00 00 FF 2C`.
pub fn decoder_ack() -> Vec<u8> {
    encode(&Packet::decoder(CMD_ACK, &[]))
}

/// Decoder side: the engine's NAK with a cause.
pub fn decoder_nak(cause: u8) -> Vec<u8> {
    encode(&Packet::decoder(CMD_NAK, &[cause]))
}

enum Candidate {
    /// Not a packet start: skip one byte.
    Skip,
    /// Could be a packet; more bytes needed.
    Wait,
    /// A whole packet of this many bytes with a good checksum.
    Packet(usize),
    /// A whole packet-shaped run whose checksum fails.
    Bad { expected: u16, found: u16, plausible: bool },
}

/// Stream decoder for SSI packets (either direction): push bytes as they arrive, packets come out.
///
/// Resynchronisation: a byte that cannot start a packet (length below 4, source not 0x00/0x04) is
/// skipped; a whole candidate whose checksum fails is reported as `BadChecksum` (when its opcode is
/// a known one; otherwise it is just noise) and decoding resumes one byte after its start, so a
/// bogus length byte never swallows the packet behind it. While a candidate waits for more bytes,
/// a complete packet with a known opcode and a good checksum that arrives behind it wins (the
/// candidate was noise): the decoder never waits for bytes that will not come while a good packet
/// sits in its buffer. Skipped bytes are reported as one `Garbage` before the next packet or
/// error. The buffer never exceeds one packet (257 bytes); the bytes are processed one at a time,
/// so any chunking of a stream gives the same output.
#[derive(Debug, Clone, Default)]
pub struct SsiDecoder {
    buf: Vec<u8>,
    garbage: usize,
}

impl SsiDecoder {
    pub fn new() -> Self {
        SsiDecoder::default()
    }

    /// Bytes held of a packet not yet complete (a driver may `reset` when they sit too long).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Result<Packet, FrameError>>) {
        for &b in bytes {
            self.buf.push(b);
            self.scan(out);
        }
    }

    /// Drops a partial packet and the count of skipped bytes.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.garbage = 0;
    }

    fn candidate(&self, at: usize) -> Candidate {
        let b = &self.buf[at..];
        let len = usize::from(b[0]);
        if len < 4 {
            return Candidate::Skip;
        }
        if b.len() >= 3 && !matches!(b[2], SOURCE_DECODER | SOURCE_HOST) {
            return Candidate::Skip;
        }
        if b.len() < len + 2 {
            return Candidate::Wait;
        }
        let expected = checksum(&b[..len]);
        let found = u16::from_be_bytes([b[len], b[len + 1]]);
        if expected == found {
            Candidate::Packet(len + 2)
        } else {
            Candidate::Bad {
                expected,
                found,
                plausible: is_known_opcode(b[1]),
            }
        }
    }

    fn flush_garbage(&mut self, out: &mut Vec<Result<Packet, FrameError>>) {
        if self.garbage > 0 {
            out.push(Err(FrameError::Garbage {
                bytes: std::mem::take(&mut self.garbage),
            }));
        }
    }

    fn skip(&mut self, n: usize) {
        self.buf.drain(..n);
        self.garbage += n;
    }

    /// A packet behind the waiting candidate that completes with the last byte received.
    fn packet_behind(&self) -> Option<usize> {
        let end = self.buf.len();
        (1..end).find(|&k| {
            let len = usize::from(self.buf[k]);
            k + len + 2 == end
                && len >= 4
                && is_known_opcode(self.buf[k + 1])
                && matches!(self.buf[k + 2], SOURCE_DECODER | SOURCE_HOST)
                && matches!(self.candidate(k), Candidate::Packet(_))
        })
    }

    fn scan(&mut self, out: &mut Vec<Result<Packet, FrameError>>) {
        while !self.buf.is_empty() {
            match self.candidate(0) {
                Candidate::Skip => self.skip(1),
                Candidate::Wait => match self.packet_behind() {
                    Some(k) => self.skip(k),
                    None => return,
                },
                Candidate::Bad {
                    expected,
                    found,
                    plausible,
                } => {
                    if plausible {
                        self.flush_garbage(out);
                        out.push(Err(FrameError::BadChecksum {
                            expected: expected.into(),
                            found: found.into(),
                        }));
                        self.buf.drain(..1);
                    } else {
                        self.skip(1);
                    }
                }
                Candidate::Packet(n) => {
                    self.flush_garbage(out);
                    let b = &self.buf[..n];
                    out.push(Ok(Packet {
                        opcode: b[1],
                        source: b[2],
                        status: b[3],
                        data: b[4..n - 2].to_vec(),
                    }));
                    self.buf.drain(..n);
                }
            }
        }
    }
}

/// Joins multi-packet DECODE_DATA into one barcode: `(barcode type, data)`.
///
/// Every packet carries the barcode type byte first; packets with the intermediate status bit are
/// buffered until the last one. A retransmission (status bit 0) identical to the previous packet
/// (a host ACK the engine did not get) is not appended twice. Other opcodes are ignored.
#[derive(Debug, Clone)]
pub struct DecodeAssembler {
    kind: Option<u8>,
    data: Vec<u8>,
    last: Option<Packet>,
    max_len: usize,
    discarding: bool,
}

impl Default for DecodeAssembler {
    fn default() -> Self {
        DecodeAssembler::new()
    }
}

impl DecodeAssembler {
    /// Longest barcode accepted by default (bytes).
    pub const DEFAULT_MAX_LEN: usize = 64 * 1024;

    pub fn new() -> Self {
        DecodeAssembler {
            kind: None,
            data: Vec::new(),
            last: None,
            max_len: Self::DEFAULT_MAX_LEN,
            discarding: false,
        }
    }

    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Takes a packet; returns the barcode when this packet completes one. Faults (see
    /// [`DecodeAssembler::push_checked`]) drop the message silently here.
    pub fn push(&mut self, p: &Packet) -> Option<(u8, Vec<u8>)> {
        self.push_checked(p).and_then(Result::ok)
    }

    /// Like [`DecodeAssembler::push`], with faults reported: DECODE_DATA without a type byte, a
    /// type that changes within a message (the partial message is dropped and this packet starts
    /// a new one), a message longer than the limit (dropped up to its last packet).
    pub fn push_checked(&mut self, p: &Packet) -> Option<Result<(u8, Vec<u8>), FrameError>> {
        if p.opcode != DECODE_DATA {
            return None;
        }
        let same = |l: &Packet| l.data == p.data && l.is_intermediate() == p.is_intermediate();
        if p.is_retransmit() && self.last.as_ref().is_some_and(same) {
            return None;
        }
        self.last = Some(p.clone());
        let Some((&kind, chunk)) = p.data.split_first() else {
            self.clear();
            return Some(Err(FrameError::Malformed("DECODE_DATA without a barcode type".into())));
        };
        let mut fault = None;
        if self.kind.is_some_and(|k| k != kind) {
            self.clear();
            fault = Some(FrameError::Malformed(format!(
                "barcode type changed from {:#04x} to {kind:#04x} within a multi-packet message; partial data dropped",
                self.kind.unwrap_or_default()
            )));
        }
        if !self.discarding {
            self.kind = Some(kind);
            if self.data.len() + chunk.len() > self.max_len {
                self.data.clear();
                self.discarding = true;
                fault = Some(FrameError::Malformed(format!(
                    "decode data longer than {} bytes dropped",
                    self.max_len
                )));
            } else {
                self.data.extend_from_slice(chunk);
            }
        }
        if p.is_intermediate() {
            return fault.map(Err);
        }
        let done = (!self.discarding).then(|| (kind, std::mem::take(&mut self.data)));
        self.clear();
        match (fault, done) {
            (Some(e), _) => Some(Err(e)),
            (None, Some(d)) => Some(Ok(d)),
            (None, None) => None,
        }
    }

    fn clear(&mut self) {
        self.kind = None;
        self.data.clear();
        self.discarding = false;
    }

    /// Drops a partial message and the memory of the last packet.
    pub fn reset(&mut self) {
        self.clear();
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<Result<Packet, FrameError>> {
        let mut d = SsiDecoder::new();
        let mut out = Vec::new();
        d.push(bytes, &mut out);
        out
    }

    #[test]
    fn verified_frames_encode() {
        // protocols.md §3 [verified], clocklimited test/command.test.js
        let cases: &[(Vec<u8>, &[u8])] = &[
            (ack(), &[0x04, 0xD0, 0x04, 0x00, 0xFF, 0x28]),
            (start_session(), &[0x04, 0xE4, 0x04, 0x00, 0xFF, 0x14]),
            (command(FLUSH_MACRO_PDF, &[]), &[0x04, 0x10, 0x04, 0x00, 0xFF, 0xE8]),
            (command(0x00, &[0x12]), &[0x05, 0x00, 0x04, 0x00, 0x12, 0xFF, 0xE5]),
            (
                command(0x00, &[0x12, 0xE3]),
                &[0x06, 0x00, 0x04, 0x00, 0x12, 0xE3, 0xFF, 0x01],
            ),
            (
                encode(&Packet::decoder(DECODE_DATA, &[0x01, b'N', b'R'])),
                &[0x07, 0xF3, 0x00, 0x00, 0x01, 0x4E, 0x52, 0xFE, 0x65],
            ),
            (decoder_ack(), &[0x04, 0xD0, 0x00, 0x00, 0xFF, 0x2C]),
            (nak(NAK_RESEND), &[0x05, 0xD1, 0x04, 0x00, 0x01, 0xFF, 0x25]),
        ];
        for (got, want) in cases {
            assert_eq!(got.as_slice(), *want);
        }
    }

    #[test]
    fn checksum_vectors() {
        // clocklimited test/checksum.test.js
        assert_eq!(checksum(&[0x07, 0xF3, 0x00, 0x00, 0x01, 0x4E, 0x52]), 0xFE65);
        assert_eq!(checksum(&[0x00]), 0x0000);
        assert_eq!(checksum(&[0xFF; 5]), 0xFB05);
        let good = [0x05, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xF7];
        assert_eq!(
            decode_all(&good),
            vec![Ok(Packet {
                opcode: 0,
                source: 4,
                status: 0,
                data: vec![0]
            })]
        );
        let bad = [0x05, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xE7];
        // Opcode 0x00 is not a known one: a bad checksum there is noise, not a corrupt packet.
        assert_eq!(decode_all(&bad), Vec::new());
    }

    /// The 255-byte first packet of a multi-packet QR decode (status 0x03 = retransmission +
    /// intermediate), from clocklimited `test/checksum.test.js`.
    const LONG_PACKET: [u8; 257] = [
        255, 243, 0, 3, 28, 123, 34, 99, 105, 100, 34, 58, 32, 34, 53, 55, 55, 98, 99, 56, 51, 53, 51, 49, 100, 55, 98,
        56, 53, 101, 54, 56, 53, 97, 49, 52, 50, 54, 34, 44, 34, 97, 117, 116, 104, 34, 58, 34, 101, 121, 74, 48, 101,
        88, 65, 105, 79, 105, 74, 75, 86, 49, 81, 105, 76, 67, 74, 104, 98, 71, 99, 105, 79, 105, 74, 73, 85, 122, 73,
        49, 78, 105, 74, 57, 46, 101, 121, 74, 113, 100, 71, 107, 105, 79, 105, 73, 49, 78, 122, 82, 107, 89, 87, 69,
        51, 77, 122, 69, 50, 77, 50, 77, 50, 79, 68, 66, 109, 77, 68, 65, 122, 90, 71, 90, 107, 77, 50, 81, 105, 76,
        67, 74, 112, 89, 88, 81, 105, 79, 106, 69, 48, 78, 106, 81, 51, 77, 68, 99, 50, 79, 84, 107, 53, 78, 122, 81,
        115, 73, 109, 86, 52, 99, 67, 73, 54, 77, 84, 81, 53, 78, 106, 73, 48, 77, 122, 89, 53, 79, 88, 48, 46, 121,
        69, 81, 57, 72, 112, 82, 88, 65, 113, 107, 70, 73, 107, 102, 81, 119, 120, 88, 113, 71, 48, 90, 121, 56, 79,
        79, 74, 53, 81, 51, 114, 99, 70, 56, 119, 67, 114, 100, 110, 114, 114, 111, 34, 44, 34, 100, 97, 116, 97, 34,
        58, 123, 34, 112, 114, 111, 100, 117, 99, 116, 115, 34, 58, 91, 123, 34, 111, 112, 116, 105, 111, 110, 34, 174,
        210,
    ];

    #[test]
    fn verified_frames_decode() {
        let nr = decode_all(&[0x07, 0xF3, 0x00, 0x00, 0x01, 0x4E, 0x52, 0xFE, 0x65]);
        assert_eq!(
            nr,
            vec![Ok(Packet {
                opcode: DECODE_DATA,
                source: 0,
                status: 0,
                data: vec![0x01, b'N', b'R']
            })]
        );
        let long = decode_all(&LONG_PACKET);
        let [Ok(p)] = long.as_slice() else { panic!("{long:?}") };
        assert_eq!(
            (p.opcode, p.status, p.data.len(), p.data[0]),
            (DECODE_DATA, 0x03, 251, 0x1C)
        );
        assert!(p.is_retransmit() && p.is_intermediate());
        assert!(p.data[1..].starts_with(b"{\"cid\": \"577bc8"));
        // enioka SsiParserTest: PARAM_SEND from the engine, word value and two byte values.
        type Case<'a> = (&'a [u8], Vec<(u16, u16)>);
        let cases: &[Case] = &[
            (
                &[0x0A, 0xC6, 0x00, 0x00, 0xFF, 0xF4, 0xF0, 0x3E, 0x04, 0xFF, 0xFB, 0x0C],
                vec![(318, 1279)],
            ),
            (
                &[0x09, 0xC6, 0x00, 0x00, 0xFF, 0x01, 0x00, 0x9C, 0x07, 0xFD, 0x8E],
                vec![(1, 0), (156, 7)],
            ),
        ];
        for (frame, params) in cases {
            let got = decode_all(frame);
            let [Ok(p)] = got.as_slice() else { panic!("{got:?}") };
            assert_eq!(p.opcode, PARAM_SEND);
            assert_eq!(parse_param_send(&p.data), Ok((BEEP_NONE, params.clone())));
        }
    }

    #[test]
    fn host_builders() {
        // scanner.js init: PARAM_SEND [FF 9F 01] etc.
        assert_eq!(
            param_send(&[0x9F, 0x01], false),
            command(PARAM_SEND, &[0xFF, 0x9F, 0x01])
        );
        let p = &decode_all(&param_send(&[0x9F, 0x01, 0xEE, 0x01], true))[0];
        assert_eq!(p.as_ref().unwrap().status, STATUS_PERMANENT);
        assert_eq!(
            param_send_list(&[(0x9F, 1), (318, 4), (0x200, 2), (0x3EF, 9)], false),
            Ok(param_send(
                &[0x9F, 1, 0xF0, 0x3E, 4, 0xF1, 0x00, 2, 0xF2, 0xEF, 9],
                false
            ))
        );
        for n in [0xF0u16, 0xFF, 0x1F0, 0x400, 0xFFFF] {
            assert_eq!(param_number_bytes(n), None, "{n}");
            assert!(param_send_list(&[(n, 1)], false).is_err());
        }
        let raw = param_send_list(&[(0x9F, 1), (318, 4)], false).unwrap();
        let p = decode_all(&raw).remove(0).unwrap();
        assert_eq!(parse_param_send(&p.data), Ok((BEEP_NONE, vec![(0x9F, 1), (318, 4)])));
        assert!(parse_param_send(&[]).is_err());
        assert!(parse_param_send(&[0xFF, 0x9F]).is_err());
        assert!(parse_param_send(&[0xFF, 0xF4, 0x01, 0x02]).is_err());
        assert!(parse_param_send(&[0xFF, 0xF8, 0x01]).is_err());
        for (bytes, op) in [
            (stop_session(), STOP_SESSION),
            (scan_enable(), SCAN_ENABLE),
            (scan_disable(), SCAN_DISABLE),
            (request_revision(), REQUEST_REVISION),
            (flush_queue(), FLUSH_QUEUE),
        ] {
            assert_eq!(decode_all(&bytes), vec![Ok(Packet::host(op, &[]))]);
        }
        assert!(try_encode(&Packet::host(DECODE_DATA, &[0; 252])).is_err());
        assert_eq!(encode(&Packet::host(DECODE_DATA, &[7; 300])).len(), MAX_PACKET);
    }

    #[test]
    fn multi_packet_decode() {
        // clocklimited test/scanner.test.js: "http" + "http" with type 0x1C in each packet.
        let packets = [
            encode(&Packet {
                opcode: DECODE_DATA,
                source: 0,
                status: STATUS_CONTINUATION,
                data: b"\x1chttp".to_vec(),
            }),
            encode(&Packet {
                opcode: DECODE_DATA,
                source: 0,
                status: 0,
                data: b"\x1chttp".to_vec(),
            }),
        ];
        let mut asm = DecodeAssembler::new();
        let mut got = Vec::new();
        for p in decode_all(&packets.concat()) {
            got.extend(asm.push(&p.unwrap()));
        }
        assert_eq!(got, vec![(0x1C, b"httphttp".to_vec())]);

        // A 600-byte QR in 250-byte packets, with the ACK for the 2nd lost: it is retransmitted.
        let data: Vec<u8> = (0..600u32).map(|i| b'A' + (i % 26) as u8).collect();
        let pk = decode_data_packets(0x1C, &data, 250);
        assert_eq!(pk.len(), 3);
        assert_eq!(pk[0][0], 255);
        let mut retrans = decode_all(&pk[1]).remove(0).unwrap();
        retrans.status |= STATUS_RETRANSMIT;
        let stream = [pk[0].clone(), pk[1].clone(), encode(&retrans), pk[2].clone(), {
            let mut last = decode_all(&pk[2]).remove(0).unwrap();
            last.status |= STATUS_RETRANSMIT; // final packet retransmitted after completion
            encode(&last)
        }]
        .concat();
        let mut asm = DecodeAssembler::new();
        let mut got = Vec::new();
        for p in decode_all(&stream) {
            got.extend(asm.push_checked(&p.unwrap()));
        }
        assert_eq!(got, vec![Ok((0x1C, data.clone()))]);
        // Empty data: one packet with the type byte only.
        assert_eq!(
            decode_data_packets(0x03, b"", 250),
            vec![encode(&Packet::decoder(DECODE_DATA, &[0x03]))]
        );
    }

    #[test]
    fn assembler_faults() {
        let dd = |status: u8, data: &[u8]| Packet {
            opcode: DECODE_DATA,
            source: 0,
            status,
            data: data.to_vec(),
        };
        let mut asm = DecodeAssembler::new().with_max_len(10);
        assert_eq!(asm.push_checked(&Packet::decoder(CMD_ACK, &[])), None);
        assert!(matches!(
            asm.push_checked(&dd(0, &[])),
            Some(Err(FrameError::Malformed(_)))
        ));
        assert_eq!(asm.push_checked(&dd(2, b"\x03abc")), None);
        // Type changes mid-message: partial dropped, this one starts anew.
        assert!(matches!(asm.push_checked(&dd(2, b"\x1bxyz")), Some(Err(_))));
        assert_eq!(
            asm.push_checked(&dd(0, b"\x1b123")),
            Some(Ok((0x1B, b"xyz123".to_vec())))
        );
        // Too long: reported once, dropped to the last packet, then the next message is fine.
        assert_eq!(asm.push_checked(&dd(2, b"\x03123456")), None);
        assert!(matches!(asm.push_checked(&dd(2, b"\x03789012")), Some(Err(_))));
        assert_eq!(asm.push_checked(&dd(2, b"\x03more")), None);
        assert_eq!(asm.push_checked(&dd(0, b"\x03end")), None);
        assert_eq!(asm.push_checked(&dd(0, b"\x03ok")), Some(Ok((3, b"ok".to_vec()))));
        // Two identical scans that are not retransmissions are both delivered.
        assert_eq!(asm.push(&dd(0, b"\x03ok")), Some((3, b"ok".to_vec())));
        asm.reset();
        assert_eq!(asm.push(&dd(1, b"\x03ok")), Some((3, b"ok".to_vec())));
    }

    #[test]
    fn garbage_truncation_corruption() {
        let a = ack();
        let nr = [0x07, 0xF3, 0x00, 0x00, 0x01, 0x4E, 0x52, 0xFE, 0x65];
        // Garbage before a packet.
        let got = decode_all(&[&[0x00, 0x01, 0x99][..], &a].concat());
        assert_eq!(
            got,
            vec![Err(FrameError::Garbage { bytes: 3 }), Ok(Packet::host(CMD_ACK, &[]))]
        );
        // A bogus length + plausible header that would wait for 200 bytes: the packet behind wins.
        let got = decode_all(&[&[0xC8, 0xF3, 0x04][..], &a].concat());
        assert_eq!(
            got,
            vec![Err(FrameError::Garbage { bytes: 3 }), Ok(Packet::host(CMD_ACK, &[]))]
        );
        // Corrupt packet (data byte flipped): BadChecksum, then the next packet decodes.
        let mut bad = nr;
        bad[5] ^= 0x20;
        let got = decode_all(&[&bad[..], &nr].concat());
        assert!(matches!(
            got[0],
            Err(FrameError::BadChecksum {
                expected: _,
                found: 0xFE65
            })
        ));
        assert_eq!(got.last(), Some(&Ok(Packet::decoder(DECODE_DATA, &[0x01, b'N', b'R']))));
        assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 1);
        // Truncated packet: waits, reset drops it, the next one decodes.
        let mut d = SsiDecoder::new();
        let mut out = Vec::new();
        d.push(&nr[..5], &mut out);
        assert!(out.is_empty());
        assert_eq!(d.pending(), 5);
        d.reset();
        d.push(&nr, &mut out);
        assert_eq!(out.len(), 1);
        // A truncated packet followed by a whole one: the whole one is found inside.
        let got = decode_all(&[&nr[..6], &nr].concat());
        assert_eq!(got.last(), Some(&Ok(Packet::decoder(DECODE_DATA, &[0x01, b'N', b'R']))));
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn any_split_same_output() {
        let mut stream = vec![0x33, 0x00];
        stream.extend(start_session());
        stream.extend([0x07, 0xF3, 0x00, 0x00, 0x01, 0x4E, 0x52, 0xFE, 0x66]); // bad checksum
        stream.extend(LONG_PACKET);
        stream.extend([0xC8, 0xF3, 0x00]);
        for p in decode_data_packets(0x1B, &[b'x'; 700], 250) {
            stream.extend(p);
        }
        stream.extend(decoder_ack());
        let whole = decode_all(&stream);
        let mut bytewise = Vec::new();
        let mut d = SsiDecoder::new();
        for b in &stream {
            d.push(std::slice::from_ref(b), &mut bytewise);
        }
        assert_eq!(bytewise, whole);
        assert_eq!(whole.iter().filter(|r| r.is_ok()).count(), 6, "{whole:?}");
        let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
        for _ in 0..100 {
            let mut d = SsiDecoder::new();
            let mut out = Vec::new();
            let mut i = 0;
            while i < stream.len() {
                let j = (i + 1 + (rng.next() % 300) as usize).min(stream.len());
                d.push(&stream[i..j], &mut out);
                i = j;
            }
            assert_eq!(out, whole);
        }
    }

    #[test]
    fn fuzz_no_panic_bounded() {
        let mut rng = XorShift(0x0123_4567_89AB_CDEF);
        let good = [
            ack(),
            start_session(),
            decode_data_packets(0x1C, b"fuzz", 250).concat(),
            decoder_ack(),
        ];
        for _ in 0..200 {
            let mut d = SsiDecoder::new();
            let mut asm = DecodeAssembler::new().with_max_len(4096);
            let mut out = Vec::new();
            for _ in 0..100 {
                let mut chunk: Vec<u8> = match rng.next() % 4 {
                    0 => good[(rng.next() % 4) as usize].clone(),
                    1 => {
                        let mut g = good[(rng.next() % 4) as usize].clone();
                        let i = (rng.next() as usize) % g.len();
                        g[i] ^= 1 << (rng.next() % 8);
                        g
                    }
                    _ => (0..rng.next() % 40).map(|_| rng.next() as u8).collect(),
                };
                if rng.next().is_multiple_of(5) {
                    chunk.truncate((rng.next() as usize) % (chunk.len() + 1));
                }
                d.push(&chunk, &mut out);
                assert!(d.pending() <= MAX_PACKET);
                for p in out.drain(..).flatten() {
                    assert!(p.data.len() <= MAX_DATA);
                    let _ = asm.push_checked(&p);
                    let _ = parse_param_send(&p.data);
                }
            }
        }
    }
}
