//! UHF RFID EPC decoding: EPC memory bank hex to scheme, filter, EPC URIs and GS1 element string (GS1 TDS 2.3).
//!
//! The input is the EPC binary encoding itself (bank 01 from word 2, no CRC and no PC word) as hex digits, upper or
//! lower case, optionally separated by spaces. An odd number of digits is fine: TDS 2.x schemes such as SSCC+ (84
//! bits) are word-padded by the tag but often written without the padding.
//!
//! Supported schemes (lower-case TDS names, as returned in [`Epc::scheme`]):
//! - TDS 1.x: `sgtin-96`, `sgtin-198`, `sscc-96`, `sgln-96`, `sgln-195`, `grai-96`, `grai-170`, `giai-96`,
//!   `giai-202`, `gsrn-96`, `gsrnp-96`, `gdti-96`, `gdti-113`, `gdti-174`, `cpi-96`, `cpi-var`, `sgcn-96`,
//!   `itip-110`, `itip-212`, and the non-GS1 `gid-96`, `usdod-96`, `adi-var` (no AIs).
//! - TDS 2.x: `sgtin+`, `dsgtin+`, `sscc+`, `sgln+`, `grai+`, `giai+`, `gsrn+`, `gsrnp+`, `gdti+`, `cpi+`, `sgcn+`,
//!   `itip+`, including '+AIDC data' appended after the EPC when the +AIDC toggle bit is set.
//!
//! The TDS 2.x schemes are not partitioned by GS1 Company Prefix length, so no `urn:epc:id:` URI can be derived for
//! them and TDS defines no EPC Tag URI. For those, [`Epc::pure_uri`] holds the canonical GS1 Digital Link URI of the
//! identity (`https://id.gs1.org/01/{gtin}/21/{serial}`, without date or +AIDC data, as EPCIS uses it) and
//! [`Epc::tag_uri`] is empty.
//!
//! Not an error but [`EpcDecoded::Raw`]: an unprogrammed or unassigned header, a scheme this module does not decode
//! (the '++' hostname schemes, the deprecated 64-bit schemes) and, via [`decode_epc_with_pc`], a PC word whose toggle
//! bit marks an ISO (AFI) rather than a GS1 EPC.
//!
//! Pure code: no I/O, no clock, and no panics on any input.

use std::fmt::Write as _;

/// A decoded GS1 (or GS1-registered non-GS1) EPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epc {
    /// Lower-case TDS scheme name, e.g. `sgtin-96`, `sgtin+`, `dsgtin+`.
    pub scheme: &'static str,
    /// Filter value; `None` for GID-96, which has none.
    pub filter: Option<u8>,
    /// `urn:epc:id:…` for TDS 1.x schemes; the canonical GS1 Digital Link URI for TDS 2.x '+' schemes.
    pub pure_uri: String,
    /// `urn:epc:tag:…` for TDS 1.x schemes; empty for TDS 2.x '+' schemes (TDS defines none).
    pub tag_uri: String,
    /// GS1 element string as ordered (AI, value) pairs; empty for GID, USDoD and ADI.
    pub ais: Vec<(String, String)>,
    /// The input, normalised: upper-case hex digits without spaces.
    pub hex: String,
}

impl Epc {
    /// The GS1 element string in bracketed form, e.g. `(01)80614141123458(21)6789`.
    pub fn bracketed(&self) -> String {
        let mut out = String::new();
        for (ai, value) in &self.ais {
            out.push('(');
            out.push_str(ai);
            out.push(')');
            out.push_str(value);
        }
        out
    }
}

/// Result of decoding: a recognised EPC, or data that is not a GS1 EPC this module decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpcDecoded {
    Gs1(Epc),
    Raw { hex: String, reason: String },
}

/// Why an EPC could not be decoded. `code` is stable snake_case; `position` is the hex digit offset (in the input
/// with spaces removed) where the fault starts, or 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EpcError {
    pub code: &'static str,
    pub message: String,
    pub position: usize,
}

/// Error codes, stable.
pub mod codes {
    /// A character that is not a hex digit or a space.
    pub const NOT_HEX: &str = "not_hex";
    /// The bits end before the scheme's fields do.
    pub const TOO_SHORT: &str = "too_short";
    /// Partition value 7 (no row in the partition table).
    pub const BAD_PARTITION: &str = "bad_partition";
    /// A field holds a value the scheme cannot encode (out of range, invalid character, reserved bits set, …).
    pub const BAD_VALUE: &str = "bad_value";
    /// A TDS 2.x GS1 key whose check digit is wrong.
    pub const BAD_CHECK_DIGIT: &str = "bad_check_digit";
    /// +AIDC data with a header this module does not know (non-AI header, or an AI missing from TDS Table F).
    pub const UNSUPPORTED_AIDC: &str = "unsupported_aidc";
}

/// Decodes EPC binary encoding hex (upper or lower case, spaces allowed) into an [`EpcDecoded`].
pub fn decode_epc_hex(input: &str) -> Result<EpcDecoded, EpcError> {
    let hex = normalise_hex(input)?;
    let bits = hex_to_bits(&hex);
    decode_bits(hex, &bits)
}

/// Like [`decode_epc_hex`], with the Gen2 PC word read alongside the EPC: a set toggle bit (PC bit 17h) means the
/// bank holds an ISO/IEC 15961 AFI-tagged UII rather than a GS1 EPC and yields [`EpcDecoded::Raw`]; otherwise the
/// EPC is truncated to the PC length field (bits 10h–14h, in 16-bit words) when the input is longer.
pub fn decode_epc_with_pc(pc_word: u16, epc_hex: &str) -> Result<EpcDecoded, EpcError> {
    let hex = normalise_hex(epc_hex)?;
    if pc_word & 0x0100 != 0 {
        let afi = pc_word & 0x00FF;
        return Ok(EpcDecoded::Raw {
            hex,
            reason: format!("PC toggle bit set: ISO UII with AFI 0x{afi:02X}, not a GS1 EPC"),
        });
    }
    let words = usize::from(pc_word >> 11);
    let mut bits = hex_to_bits(&hex);
    if bits.len() > words * 16 {
        bits.truncate(words * 16);
    }
    decode_bits(hex, &bits)
}

// ---------------------------------------------------------------------------------------------------------------------
// Input and bit reading

fn normalise_hex(input: &str) -> Result<String, EpcError> {
    let mut hex = String::with_capacity(input.len());
    for (i, c) in input.chars().enumerate() {
        if c == ' ' || c == '\t' {
            continue;
        }
        if c.is_ascii_hexdigit() {
            hex.push(c.to_ascii_uppercase());
        } else {
            return Err(EpcError {
                code: codes::NOT_HEX,
                message: format!("'{}' at character {} is not a hex digit", c.escape_default(), i + 1),
                position: hex.len(),
            });
        }
    }
    Ok(hex)
}

fn hex_to_bits(hex: &str) -> Vec<u8> {
    let mut bits = Vec::with_capacity(hex.len() * 4);
    for c in hex.chars() {
        let v = c.to_digit(16).unwrap_or(0);
        for shift in (0..4).rev() {
            bits.push(((v >> shift) & 1) as u8);
        }
    }
    bits
}

fn err(code: &'static str, bit_pos: usize, message: impl Into<String>) -> EpcError {
    EpcError {
        code,
        message: message.into(),
        position: bit_pos / 4,
    }
}

struct Reader<'a> {
    bits: &'a [u8],
    pos: usize,
    scheme: &'static str,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bits.len().saturating_sub(self.pos)
    }

    fn need(&self, n: usize, what: &str) -> Result<(), EpcError> {
        if self.remaining() < n {
            let have = self.bits.len();
            return Err(err(
                codes::TOO_SHORT,
                have,
                format!(
                    "{}: the {what} needs bits {}..{} but the EPC has only {have} bits",
                    self.scheme,
                    self.pos,
                    self.pos + n
                ),
            ));
        }
        Ok(())
    }

    /// Reads up to 128 bits as an unsigned integer.
    fn uint(&mut self, n: usize, what: &str) -> Result<u128, EpcError> {
        if n > 128 {
            return Err(err(
                codes::BAD_VALUE,
                self.pos,
                format!("{}: the {what} is wider than 128 bits", self.scheme),
            ));
        }
        self.need(n, what)?;
        let mut v: u128 = 0;
        for &b in self.bits.get(self.pos..self.pos + n).unwrap_or(&[]) {
            v = (v << 1) | u128::from(b);
        }
        self.pos += n;
        Ok(v)
    }

    fn small(&mut self, n: usize, what: &str) -> Result<u32, EpcError> {
        // n <= 32 at every call site
        Ok(self.uint(n.min(32), what)? as u32)
    }

    /// Reads `n` bits (any width) as a decimal numeral without leading zeros.
    fn decimal(&mut self, n: usize, what: &str) -> Result<String, EpcError> {
        self.need(n, what)?;
        let s = bits_to_decimal(self.bits.get(self.pos..self.pos + n).unwrap_or(&[]));
        self.pos += n;
        Ok(s)
    }

    fn bad(&self, at: usize, message: String) -> EpcError {
        err(codes::BAD_VALUE, at, format!("{}: {message}", self.scheme))
    }

    fn zeros_until(&self, end: usize) -> bool {
        self.bits
            .get(self.pos..end.min(self.bits.len()))
            .is_some_and(|s| s.iter().all(|&b| b == 0))
    }
}

/// Converts a big-endian bit slice of any length to a decimal numeral (no leading zeros; "0" for zero).
fn bits_to_decimal(bits: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0]; // little-endian base 10
    for &b in bits {
        let mut carry = b;
        for d in digits.iter_mut() {
            let v = *d * 2 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

fn pad(s: &str, width: usize) -> String {
    format!("{s:0>width$}")
}

// ---------------------------------------------------------------------------------------------------------------------
// GS1 helpers

/// GS1 mod-10 check digit over a string of ASCII digits (check digit excluded).
fn check_digit(body: &str) -> char {
    let mut sum = 0u32;
    for (i, b) in body.bytes().rev().enumerate() {
        let v = u32::from(b.wrapping_sub(b'0') % 10);
        sum += if i % 2 == 0 { v * 3 } else { v };
    }
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

fn with_check(body: &str) -> String {
    let mut s = body.to_string();
    s.push(check_digit(body));
    s
}

fn check_ok(key: &str) -> bool {
    match key.len().checked_sub(1) {
        Some(n) if n > 0 => key.get(..n).map(check_digit) == key.get(n..).and_then(|c| c.chars().next()),
        _ => false,
    }
}

/// Escapes a value for an EPC pure identity / tag URI (TDS Table A-1 "URI form").
fn uri_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '%' | '&' | '/' | '<' | '>' | '?' | '#' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a value for a GS1 Digital Link URI path segment (everything but RFC 3986 unreserved characters).
fn dl_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn ai(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// GS1 AI 82-character set (GS1 General Specifications Figure 7.11-1), as used by TDS Table A-1.
fn is_cset82(c: u8) -> bool {
    matches!(c, b'!' | b'"' | b'%'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

// ---------------------------------------------------------------------------------------------------------------------
// Headers

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Sgtin96,
    Sgtin198,
    Sscc96,
    Sgln96,
    Sgln195,
    Grai96,
    Grai170,
    Giai96,
    Giai202,
    Gsrn96,
    Gsrnp96,
    Gdti96,
    Gdti113,
    Gdti174,
    Cpi96,
    CpiVar,
    Sgcn96,
    Itip110,
    Itip212,
    Gid96,
    Usdod96,
    AdiVar,
    SgtinPlus,
    DsgtinPlus,
    SsccPlus,
    SglnPlus,
    GraiPlus,
    GiaiPlus,
    GsrnPlus,
    GsrnpPlus,
    GdtiPlus,
    CpiPlus,
    SgcnPlus,
    ItipPlus,
}

fn scheme_for_header(h: u8) -> Result<Scheme, String> {
    use Scheme::*;
    Ok(match h {
        0x2C => Gdti96,
        0x2D => Gsrn96,
        0x2E => Gsrnp96,
        0x2F => Usdod96,
        0x30 => Sgtin96,
        0x31 => Sscc96,
        0x32 => Sgln96,
        0x33 => Grai96,
        0x34 => Giai96,
        0x35 => Gid96,
        0x36 => Sgtin198,
        0x37 => Grai170,
        0x38 => Giai202,
        0x39 => Sgln195,
        0x3A => Gdti113,
        0x3B => AdiVar,
        0x3C => Cpi96,
        0x3D => CpiVar,
        0x3E => Gdti174,
        0x3F => Sgcn96,
        0x40 => Itip110,
        0x41 => Itip212,
        0xF0 => CpiPlus,
        0xF1 => GraiPlus,
        0xF2 => SglnPlus,
        0xF3 => ItipPlus,
        0xF4 => GsrnPlus,
        0xF5 => GsrnpPlus,
        0xF6 => GdtiPlus,
        0xF7 => SgtinPlus,
        0xF8 => SgcnPlus,
        0xF9 => SsccPlus,
        0xFA => GiaiPlus,
        0xFB => DsgtinPlus,
        0x00 => return Err("header 0x00: the tag is unprogrammed".to_string()),
        0xE6..=0xEF | 0xFC | 0xFD => {
            let name = match h {
                0xE6 => "CPI++",
                0xE7 => "GSRN++",
                0xE8 => "GSRNP++",
                0xE9 => "SGLN++",
                0xEA => "GDTI++",
                0xEB => "GRAI++",
                0xEC => "SGCN++",
                0xED => "ITIP++",
                0xEE => "GIAI++",
                0xEF => "SSCC++",
                0xFC => "DSGTIN++",
                _ => "SGTIN++",
            };
            return Err(format!(
                "header 0x{h:02X} is {name} (custom hostname scheme), which this decoder does not support"
            ));
        }
        0x08..=0x0F | 0x80..=0xBF => {
            return Err(format!(
                "header 0x{h:02X} is a deprecated 64-bit EPC scheme, which this decoder does not support"
            ));
        }
        _ => return Err(format!("header 0x{h:02X} is not an assigned GS1 EPC header")),
    })
}

fn decode_bits(hex: String, bits: &[u8]) -> Result<EpcDecoded, EpcError> {
    if bits.len() < 8 {
        return Err(err(
            codes::TOO_SHORT,
            bits.len(),
            format!("an EPC needs at least 8 bits (2 hex digits); got {}", bits.len()),
        ));
    }
    let mut header = 0u8;
    for &b in bits.get(..8).unwrap_or(&[]) {
        header = (header << 1) | b;
    }
    let scheme = match scheme_for_header(header) {
        Ok(s) => s,
        Err(reason) => return Ok(EpcDecoded::Raw { hex, reason }),
    };
    let mut r = Reader {
        bits,
        pos: 8,
        scheme: "",
    };
    let mut epc = decode_scheme(scheme, &mut r)?;
    epc.hex = hex;
    Ok(EpcDecoded::Gs1(epc))
}

// ---------------------------------------------------------------------------------------------------------------------
// TDS 1.x schemes

/// (company prefix bits M, digits L, other field bits N, other field digits K)
type Row = (usize, usize, usize, usize);

const PT_SGTIN: [Row; 7] = [
    (40, 12, 4, 1),
    (37, 11, 7, 2),
    (34, 10, 10, 3),
    (30, 9, 14, 4),
    (27, 8, 17, 5),
    (24, 7, 20, 6),
    (20, 6, 24, 7),
];
const PT_SSCC: [Row; 7] = [
    (40, 12, 18, 5),
    (37, 11, 21, 6),
    (34, 10, 24, 7),
    (30, 9, 28, 8),
    (27, 8, 31, 9),
    (24, 7, 34, 10),
    (20, 6, 38, 11),
];
const PT_SGLN: [Row; 7] = [
    (40, 12, 1, 0),
    (37, 11, 4, 1),
    (34, 10, 7, 2),
    (30, 9, 11, 3),
    (27, 8, 14, 4),
    (24, 7, 17, 5),
    (20, 6, 21, 6),
];
const PT_GRAI: [Row; 7] = [
    (40, 12, 4, 0),
    (37, 11, 7, 1),
    (34, 10, 10, 2),
    (30, 9, 14, 3),
    (27, 8, 17, 4),
    (24, 7, 20, 5),
    (20, 6, 24, 6),
];
const PT_GIAI96: [Row; 7] = [
    (40, 12, 42, 13),
    (37, 11, 45, 14),
    (34, 10, 48, 15),
    (30, 9, 52, 16),
    (27, 8, 55, 17),
    (24, 7, 58, 18),
    (20, 6, 62, 19),
];
const PT_GIAI202: [Row; 7] = [
    (40, 12, 148, 18),
    (37, 11, 151, 19),
    (34, 10, 154, 20),
    (30, 9, 158, 21),
    (27, 8, 161, 22),
    (24, 7, 164, 23),
    (20, 6, 168, 24),
];
const PT_CPI96: [Row; 7] = [
    (40, 12, 11, 3),
    (37, 11, 14, 4),
    (34, 10, 17, 5),
    (30, 9, 21, 6),
    (27, 8, 24, 7),
    (24, 7, 27, 8),
    (20, 6, 31, 9),
];
const PT_CPIVAR: [Row; 7] = [
    (40, 12, 114, 18),
    (37, 11, 120, 19),
    (34, 10, 126, 20),
    (30, 9, 132, 21),
    (27, 8, 138, 22),
    (24, 7, 144, 23),
    (20, 6, 150, 24),
];

fn partition(r: &mut Reader, table: &[Row; 7]) -> Result<Row, EpcError> {
    let at = r.pos;
    let p = r.small(3, "partition")? as usize;
    table.get(p).copied().ok_or_else(|| {
        err(
            codes::BAD_PARTITION,
            at,
            format!(
                "{}: partition value {p} has no row in the partition table (0-6)",
                r.scheme
            ),
        )
    })
}

/// Partition Table decoding (TDS 14.4.3): company prefix padded to L digits, other field padded to K digits.
fn partitioned(r: &mut Reader, table: &[Row; 7], other: &str) -> Result<(String, String), EpcError> {
    let (m, l, n, k) = partition(r, table)?;
    let cp = company_prefix(r, m, l)?;
    let at = r.pos;
    let d = r.decimal(n, other)?;
    if d != "0" && (d.len() > k || k == 0) {
        return Err(r.bad(at, format!("the {other} value {d} does not fit in {k} digits")));
    }
    let d = if k == 0 { String::new() } else { pad(&d, k) };
    Ok((cp, d))
}

fn company_prefix(r: &mut Reader, m: usize, l: usize) -> Result<String, EpcError> {
    let at = r.pos;
    let c = r.decimal(m, "GS1 Company Prefix")?;
    if c.len() > l {
        return Err(r.bad(
            at,
            format!("the GS1 Company Prefix value {c} does not fit in {l} digits"),
        ));
    }
    Ok(pad(&c, l))
}

/// Unpadded Partition Table decoding (TDS 14.4.4): the other field is a decimal without leading zeros.
fn unpadded(r: &mut Reader, table: &[Row; 7], other: &str) -> Result<(String, String), EpcError> {
    let (m, l, n, k) = partition(r, table)?;
    let cp = company_prefix(r, m, l)?;
    let at = r.pos;
    let d = r.decimal(n, other)?;
    if d.len() > k {
        return Err(r.bad(at, format!("the {other} value {d} has more than {k} digits")));
    }
    Ok((cp, d))
}

/// String decoding (TDS 14.4.2) of an `n`-bit field: 7-bit characters, zero-terminated, at most `max` characters.
fn string7(r: &mut Reader, n: usize, max: usize, what: &str) -> Result<String, EpcError> {
    r.need(n, what)?;
    let start = r.pos;
    let end = start + n;
    let mut s = String::new();
    while r.pos + 7 <= end {
        let at = r.pos;
        let c = r.small(7, what)? as u8;
        if c == 0 {
            if !r.zeros_until(end) {
                return Err(r.bad(at, format!("the {what} has non-zero bits after its terminator")));
            }
            break;
        }
        if !is_cset82(c) {
            return Err(r.bad(
                at,
                format!("the {what} holds character 0x{c:02X}, outside the GS1 82-character set"),
            ));
        }
        if s.len() >= max {
            return Err(r.bad(at, format!("the {what} is longer than {max} characters")));
        }
        s.push(char::from(c));
    }
    if s.is_empty() {
        return Err(r.bad(start, format!("the {what} is empty")));
    }
    r.pos = end;
    Ok(s)
}

/// Numeric String decoding (TDS 14.4.6): an integer whose decimal numeral starts with '1', which is dropped.
fn numeric_string(r: &mut Reader, n: usize, what: &str) -> Result<String, EpcError> {
    let at = r.pos;
    let d = r.decimal(n, what)?;
    match d.strip_prefix('1') {
        Some(rest) => Ok(rest.to_string()),
        None => Err(r.bad(at, format!("the {what} encoding {d} does not start with the digit 1"))),
    }
}

/// 6-bit character (TDS Table G-1): A-Z, 0-9, '#', '-', '/'.
fn char6(v: u32) -> Option<char> {
    let c = match v {
        1..=26 => (v as u8) + 0x40,
        0x23 | 0x2D | 0x2F | 0x30..=0x39 => v as u8,
        _ => return None,
    };
    Some(char::from(c))
}

/// 6-Bit Variable String decoding: characters until a 000000 terminator.
fn string6(r: &mut Reader, max: usize, what: &str) -> Result<String, EpcError> {
    let mut s = String::new();
    loop {
        let at = r.pos;
        let v = r.small(6, what)?;
        if v == 0 {
            return Ok(s);
        }
        let c = char6(v).ok_or_else(|| r.bad(at, format!("the {what} holds 6-bit value {v}, not in TDS Table G-1")))?;
        if s.len() >= max {
            return Err(r.bad(at, format!("the {what} is longer than {max} characters")));
        }
        s.push(c);
    }
}

fn filter(r: &mut Reader, n: usize) -> Result<u8, EpcError> {
    Ok(r.small(n, "filter")? as u8)
}

fn tag(scheme: &str, f: u8, body: &str) -> String {
    format!("urn:epc:tag:{scheme}:{f}.{body}")
}

fn id(kind: &str, body: &str) -> String {
    format!("urn:epc:id:{kind}:{body}")
}

fn gs1(scheme: &'static str, f: u8, kind: &str, body: String, ais: Vec<(String, String)>) -> Epc {
    Epc {
        scheme,
        filter: Some(f),
        pure_uri: id(kind, &body),
        tag_uri: tag(scheme, f, &body),
        ais,
        hex: String::new(),
    }
}

/// GTIN from company prefix and indicator+item reference (first digit of the latter is the indicator).
fn gtin(cp: &str, ind_item: &str) -> String {
    let (ind, item) = ind_item.split_at(1.min(ind_item.len()));
    with_check(&format!("{ind}{cp}{item}"))
}

fn decode_scheme(scheme: Scheme, r: &mut Reader) -> Result<Epc, EpcError> {
    use Scheme::*;
    match scheme {
        Sgtin96 | Sgtin198 => {
            let name = if scheme == Sgtin96 { "sgtin-96" } else { "sgtin-198" };
            r.scheme = name;
            let f = filter(r, 3)?;
            let (cp, item) = partitioned(r, &PT_SGTIN, "indicator and item reference")?;
            let serial = if scheme == Sgtin96 {
                r.decimal(38, "serial")?
            } else {
                string7(r, 140, 20, "serial")?
            };
            let body = format!("{cp}.{item}.{}", uri_escape(&serial));
            Ok(gs1(
                name,
                f,
                "sgtin",
                body,
                vec![ai("01", gtin(&cp, &item)), ai("21", serial)],
            ))
        }
        Sscc96 | Gsrn96 | Gsrnp96 => {
            let (name, kind) = match scheme {
                Sscc96 => ("sscc-96", "sscc"),
                Gsrn96 => ("gsrn-96", "gsrn"),
                _ => ("gsrnp-96", "gsrnp"),
            };
            r.scheme = name;
            let f = filter(r, 3)?;
            let other = if scheme == Sscc96 {
                "extension and serial reference"
            } else {
                "service reference"
            };
            let (cp, serial) = partitioned(r, &PT_SSCC, other)?;
            let at = r.pos;
            if r.uint(24, "reserved bits")? != 0 {
                return Err(r.bad(at, "the 24 reserved bits are not all zero".to_string()));
            }
            let key = match scheme {
                Sscc96 => {
                    let (ext, rest) = serial.split_at(1.min(serial.len()));
                    ai("00", with_check(&format!("{ext}{cp}{rest}")))
                }
                Gsrn96 => ai("8018", with_check(&format!("{cp}{serial}"))),
                _ => ai("8017", with_check(&format!("{cp}{serial}"))),
            };
            Ok(gs1(name, f, kind, format!("{cp}.{serial}"), vec![key]))
        }
        Sgln96 | Sgln195 => {
            let name = if scheme == Sgln96 { "sgln-96" } else { "sgln-195" };
            r.scheme = name;
            let f = filter(r, 3)?;
            let (cp, loc) = partitioned(r, &PT_SGLN, "location reference")?;
            let ext = if scheme == Sgln96 {
                r.decimal(41, "extension")?
            } else {
                string7(r, 140, 20, "extension")?
            };
            let mut ais = vec![ai("414", with_check(&format!("{cp}{loc}")))];
            if ext != "0" {
                ais.push(ai("254", ext.clone()));
            }
            Ok(gs1(name, f, "sgln", format!("{cp}.{loc}.{}", uri_escape(&ext)), ais))
        }
        Grai96 | Grai170 => {
            let name = if scheme == Grai96 { "grai-96" } else { "grai-170" };
            r.scheme = name;
            let f = filter(r, 3)?;
            let (cp, asset) = partitioned(r, &PT_GRAI, "asset type")?;
            let serial = if scheme == Grai96 {
                r.decimal(38, "serial")?
            } else {
                string7(r, 112, 16, "serial")?
            };
            let value = format!("0{}{serial}", with_check(&format!("{cp}{asset}")));
            Ok(gs1(
                name,
                f,
                "grai",
                format!("{cp}.{asset}.{}", uri_escape(&serial)),
                vec![ai("8003", value)],
            ))
        }
        Giai96 => {
            r.scheme = "giai-96";
            let f = filter(r, 3)?;
            let (cp, asset) = unpadded(r, &PT_GIAI96, "individual asset reference")?;
            Ok(gs1(
                "giai-96",
                f,
                "giai",
                format!("{cp}.{asset}"),
                vec![ai("8004", format!("{cp}{asset}"))],
            ))
        }
        Giai202 => {
            r.scheme = "giai-202";
            let f = filter(r, 3)?;
            let (m, l, n, k) = partition(r, &PT_GIAI202)?;
            let cp = company_prefix(r, m, l)?;
            let asset = string7(r, n, k, "individual asset reference")?;
            let body = format!("{cp}.{}", uri_escape(&asset));
            Ok(gs1(
                "giai-202",
                f,
                "giai",
                body,
                vec![ai("8004", format!("{cp}{asset}"))],
            ))
        }
        Gdti96 | Gdti113 | Gdti174 => {
            let name = match scheme {
                Gdti96 => "gdti-96",
                Gdti113 => "gdti-113",
                _ => "gdti-174",
            };
            r.scheme = name;
            let f = filter(r, 3)?;
            let (cp, doc) = partitioned(r, &PT_SGLN, "document type")?;
            let serial = match scheme {
                Gdti96 => r.decimal(41, "serial")?,
                Gdti113 => numeric_string(r, 58, "serial")?,
                _ => string7(r, 119, 17, "serial")?,
            };
            let value = format!("{}{serial}", with_check(&format!("{cp}{doc}")));
            Ok(gs1(
                name,
                f,
                "gdti",
                format!("{cp}.{doc}.{}", uri_escape(&serial)),
                vec![ai("253", value)],
            ))
        }
        Sgcn96 => {
            r.scheme = "sgcn-96";
            let f = filter(r, 3)?;
            let (cp, coupon) = partitioned(r, &PT_SGLN, "coupon reference")?;
            let at = r.pos;
            let serial = numeric_string(r, 41, "serial")?;
            if serial.len() > 12 {
                return Err(r.bad(at, format!("the serial {serial} is longer than 12 digits")));
            }
            let value = format!("{}{serial}", with_check(&format!("{cp}{coupon}")));
            Ok(gs1(
                "sgcn-96",
                f,
                "sgcn",
                format!("{cp}.{coupon}.{serial}"),
                vec![ai("255", value)],
            ))
        }
        Cpi96 => {
            r.scheme = "cpi-96";
            let f = filter(r, 3)?;
            let (cp, part) = unpadded(r, &PT_CPI96, "component/part reference")?;
            let serial = r.decimal(31, "serial")?;
            let ais = vec![ai("8010", format!("{cp}{part}")), ai("8011", serial.clone())];
            Ok(gs1("cpi-96", f, "cpi", format!("{cp}.{part}.{serial}"), ais))
        }
        CpiVar => {
            r.scheme = "cpi-var";
            let f = filter(r, 3)?;
            let (m, l, _, k) = partition(r, &PT_CPIVAR)?;
            let cp = company_prefix(r, m, l)?;
            let at = r.pos;
            let part = string6(r, k, "component/part reference")?;
            if part.is_empty() {
                return Err(r.bad(at, "the component/part reference is empty".to_string()));
            }
            let serial = r.decimal(40, "serial")?;
            let ais = vec![ai("8010", format!("{cp}{part}")), ai("8011", serial.clone())];
            Ok(gs1(
                "cpi-var",
                f,
                "cpi",
                format!("{cp}.{}.{serial}", uri_escape(&part)),
                ais,
            ))
        }
        Itip110 | Itip212 => {
            let name = if scheme == Itip110 { "itip-110" } else { "itip-212" };
            r.scheme = name;
            let f = filter(r, 3)?;
            let (cp, item) = partitioned(r, &PT_SGTIN, "indicator and item reference")?;
            let mut pt = [String::new(), String::new()];
            for (slot, what) in pt.iter_mut().zip(["piece", "total"]) {
                let at = r.pos;
                let v = r.small(7, what)?;
                if v > 99 {
                    return Err(r.bad(at, format!("the {what} value {v} does not fit in 2 digits")));
                }
                *slot = format!("{v:02}");
            }
            let [piece, total] = pt;
            let serial = if scheme == Itip110 {
                r.decimal(38, "serial")?
            } else {
                string7(r, 140, 20, "serial")?
            };
            let body = format!("{cp}.{item}.{piece}.{total}.{}", uri_escape(&serial));
            let ais = vec![
                ai("8006", format!("{}{piece}{total}", gtin(&cp, &item))),
                ai("21", serial),
            ];
            Ok(gs1(name, f, "itip", body, ais))
        }
        Gid96 => {
            r.scheme = "gid-96";
            let manager = r.decimal(28, "general manager number")?;
            let class = r.decimal(24, "object class")?;
            let serial = r.decimal(36, "serial")?;
            let body = format!("{manager}.{class}.{serial}");
            Ok(Epc {
                scheme: "gid-96",
                filter: None,
                pure_uri: id("gid", &body),
                tag_uri: format!("urn:epc:tag:gid-96:{body}"),
                ais: Vec::new(),
                hex: String::new(),
            })
        }
        Usdod96 => {
            r.scheme = "usdod-96";
            let f = filter(r, 4)?;
            let start = r.pos;
            let mut cage = String::new();
            for i in 0..6 {
                let at = r.pos;
                let c = r.small(8, "CAGE/DoDAAC")? as u8;
                match c {
                    b' ' if i == 0 => {}
                    b'A'..=b'Z' | b'0'..=b'9' => cage.push(char::from(c)),
                    _ => return Err(r.bad(at, format!("the CAGE/DoDAAC holds byte 0x{c:02X}"))),
                }
            }
            if cage.len() < 5 {
                return Err(r.bad(start, "the CAGE/DoDAAC is shorter than 5 characters".to_string()));
            }
            let serial = r.decimal(36, "serial")?;
            let body = format!("{cage}.{serial}");
            Ok(gs1("usdod-96", f, "usdod", body, Vec::new()))
        }
        AdiVar => {
            r.scheme = "adi-var";
            let f = filter(r, 6)?;
            let start = r.pos;
            let mut cage = String::new();
            for i in 0..6 {
                let at = r.pos;
                let v = r.small(6, "CAGE/DoDAAC")?;
                match (v, char6(v)) {
                    (0x20, _) if i == 0 => {}
                    (_, Some(c)) if c.is_ascii_alphanumeric() => cage.push(c),
                    _ => return Err(r.bad(at, format!("the CAGE/DoDAAC holds 6-bit value {v}"))),
                }
            }
            if cage.len() < 5 {
                return Err(r.bad(start, "the CAGE/DoDAAC is shorter than 5 characters".to_string()));
            }
            let at = r.pos;
            let part = string6(r, 32, "part number")?;
            if part.contains('#') {
                return Err(r.bad(at, "the part number contains '#'".to_string()));
            }
            let at = r.pos;
            let serial = string6(r, 30, "serial")?;
            if serial.is_empty() || serial.get(1..).is_some_and(|s| s.contains('#')) {
                return Err(r.bad(
                    at,
                    "the serial is empty or has '#' after its first character".to_string(),
                ));
            }
            let body = format!("{cage}.{}.{}", uri_escape(&part), uri_escape(&serial));
            Ok(gs1("adi-var", f, "adi", body, Vec::new()))
        }
        _ => decode_plus(scheme, r),
    }
}

// ---------------------------------------------------------------------------------------------------------------------
// TDS 2.x '+' schemes

fn decode_plus(scheme: Scheme, r: &mut Reader) -> Result<Epc, EpcError> {
    use Scheme::*;
    let (name, dl_key) = match scheme {
        SgtinPlus => ("sgtin+", "01"),
        DsgtinPlus => ("dsgtin+", "01"),
        SsccPlus => ("sscc+", "00"),
        SglnPlus => ("sgln+", "414"),
        GraiPlus => ("grai+", "8003"),
        GiaiPlus => ("giai+", "8004"),
        GsrnPlus => ("gsrn+", "8018"),
        GsrnpPlus => ("gsrnp+", "8017"),
        GdtiPlus => ("gdti+", "253"),
        CpiPlus => ("cpi+", "8010"),
        SgcnPlus => ("sgcn+", "255"),
        _ => ("itip+", "8006"),
    };
    r.scheme = name;
    let toggle = r.small(1, "+AIDC data toggle bit")? == 1;
    let f = filter(r, 3)?;
    let mut ais = Vec::new();
    let mut date = None;
    if scheme == DsgtinPlus {
        date = Some(prioritised_date(r)?);
    }
    // The identity, as (AI, value) pairs in GS1 Digital Link path order.
    match scheme {
        SgtinPlus | DsgtinPlus => {
            ais.push(ai("01", key_digits(r, 14, "GTIN")?));
            ais.push(ai("21", var_alnum(r, 5, 20, "serial")?));
        }
        SsccPlus => ais.push(ai("00", key_digits(r, 18, "SSCC")?)),
        GsrnPlus => ais.push(ai("8018", key_digits(r, 18, "GSRN")?)),
        GsrnpPlus => ais.push(ai("8017", key_digits(r, 18, "GSRN")?)),
        SglnPlus => {
            ais.push(ai("414", key_digits(r, 13, "GLN")?));
            ais.push(ai("254", var_alnum(r, 5, 20, "GLN extension")?));
        }
        GraiPlus => {
            let at = r.pos;
            let grai = key_digits(r, 14, "GRAI")?;
            if !grai.starts_with('0') {
                return Err(r.bad(at, format!("the GRAI field {grai} does not start with the pad digit 0")));
            }
            let serial = var_alnum(r, 5, 16, "GRAI serial")?;
            ais.push(ai("8003", format!("{grai}{serial}")));
        }
        GiaiPlus => ais.push(ai("8004", delimited_numeric(r, 5, 30, "GIAI")?)),
        GdtiPlus => {
            let gdti = key_digits(r, 13, "GDTI")?;
            let serial = var_alnum(r, 5, 17, "GDTI serial")?;
            ais.push(ai("253", format!("{gdti}{serial}")));
        }
        CpiPlus => {
            ais.push(ai("8010", delimited_numeric(r, 5, 30, "CPI")?));
            ais.push(ai("8011", var_numeric(r, 4, 12, "CPI serial")?));
        }
        SgcnPlus => {
            let gcn = key_digits(r, 13, "GCN")?;
            let serial = var_numeric(r, 4, 12, "GCN serial")?;
            ais.push(ai("255", format!("{gcn}{serial}")));
        }
        _ => {
            ais.push(ai("8006", key_digits_checked(r, 18, 14, "ITIP")?));
            ais.push(ai("21", var_alnum(r, 5, 20, "serial")?));
        }
    }
    let mut pure_uri = String::from("https://id.gs1.org");
    for (k, v) in &ais {
        let _ = write!(pure_uri, "/{k}/{}", dl_escape(v));
    }
    debug_assert!(ais.first().is_some_and(|(k, _)| k == dl_key));
    if let Some(date) = date {
        ais.push(date);
    }
    if toggle {
        aidc_data(r, &mut ais)?;
    }
    Ok(Epc {
        scheme: name,
        filter: Some(f),
        pure_uri,
        tag_uri: String::new(),
        ais,
        hex: String::new(),
    })
}

/// Fixed-Length Numeric (TDS 14.5.4), `n` digits, for a GS1 key whose last digit is a check digit.
fn key_digits(r: &mut Reader, n: usize, what: &str) -> Result<String, EpcError> {
    key_digits_checked(r, n, n, what)
}

/// Like [`key_digits`], the check digit being digit `key_len` (ITIP: the GTIN's, before piece and total).
fn key_digits_checked(r: &mut Reader, n: usize, key_len: usize, what: &str) -> Result<String, EpcError> {
    let at = r.pos;
    let s = fixed_numeric(r, n, what)?;
    let key = s.get(..key_len).unwrap_or("");
    if !check_ok(key) {
        let want = key.get(..key_len.saturating_sub(1)).map(check_digit).unwrap_or('?');
        return Err(err(
            codes::BAD_CHECK_DIGIT,
            at,
            format!("{}: the {what} {s} has a wrong check digit (expected {want})", r.scheme),
        ));
    }
    Ok(s)
}

fn fixed_numeric(r: &mut Reader, n: usize, what: &str) -> Result<String, EpcError> {
    r.need(n * 4, what)?;
    let mut s = String::with_capacity(n);
    for _ in 0..n {
        let at = r.pos;
        let d = r.small(4, what)?;
        if d > 9 {
            return Err(r.bad(at, format!("the {what} holds the non-digit nibble 0x{d:X}")));
        }
        s.push(char::from(b'0' + d as u8));
    }
    Ok(s)
}

/// Prioritised Date (TDS 14.5.3): 4-bit date type and a 16-bit YYMMDD.
fn prioritised_date(r: &mut Reader) -> Result<(String, String), EpcError> {
    let at = r.pos;
    let kind = r.small(4, "date type")?;
    let key = match kind {
        0 => "11",
        1 => "13",
        2 => "15",
        3 => "16",
        4 => "17",
        5 => "7006",
        6 => "7007",
        _ => return Err(r.bad(at, format!("date type {kind} is reserved"))),
    };
    Ok(ai(key, date6(r, "date")?))
}

/// 6-digit date YYMMDD in 16 bits (TDS 14.5.8).
fn date6(r: &mut Reader, what: &str) -> Result<String, EpcError> {
    let at = r.pos;
    let y = r.small(7, what)?;
    let m = r.small(4, what)?;
    let d = r.small(5, what)?;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 => 29,
        2 => 28,
        _ => 0,
    };
    if y > 99 || m == 0 || m > 12 || d > days {
        return Err(r.bad(at, format!("the {what} {y:02}{m:02}{d:02} is not a valid YYMMDD date")));
    }
    Ok(format!("{y:02}{m:02}{d:02}"))
}

fn value_bits(l: usize) -> usize {
    // ceiling(L * log2(10)), exact for the lengths TDS allows
    ((l as u64) * 3_321_928_095).div_ceil(1_000_000_000) as usize
}

/// Variable-length numeric string without encoding indicator (TDS 14.5.13).
fn var_numeric(r: &mut Reader, li_bits: usize, max: usize, what: &str) -> Result<String, EpcError> {
    let at = r.pos;
    let l = if max == 1 { 1 } else { r.small(li_bits, what)? as usize };
    numeric_body(r, l, max, what, at)
}

fn numeric_body(r: &mut Reader, l: usize, max: usize, what: &str, at: usize) -> Result<String, EpcError> {
    if l == 0 || l > max {
        return Err(r.bad(at, format!("the {what} length {l} is outside 1..={max}")));
    }
    let v = r.decimal(value_bits(l), what)?;
    if v.len() > l {
        return Err(r.bad(at, format!("the {what} value {v} has more than {l} digits")));
    }
    Ok(pad(&v, l))
}

/// Variable-length alphanumeric (TDS 14.5.6): 3-bit encoding indicator, length indicator, characters.
fn var_alnum(r: &mut Reader, li_bits: usize, max: usize, what: &str) -> Result<String, EpcError> {
    let at = r.pos;
    let ei = r.small(3, what)?;
    let l = if max == 1 { 1 } else { r.small(li_bits, what)? as usize };
    if ei == 0 {
        return numeric_body(r, l, max, what, at);
    }
    if l == 0 || l > max {
        return Err(r.bad(at, format!("the {what} length {l} is outside 1..={max}")));
    }
    let mut s = String::with_capacity(l);
    match ei {
        1 | 2 => {
            for _ in 0..l {
                let v = r.small(4, what)? as u8;
                let c = match v {
                    0..=9 => b'0' + v,
                    _ if ei == 1 => b'A' + v - 10,
                    _ => b'a' + v - 10,
                };
                s.push(char::from(c));
            }
        }
        3 => {
            for _ in 0..l {
                let v = r.small(6, what)? as u8;
                let c = match v {
                    0..=25 => b'A' + v,
                    26..=51 => b'a' + v - 26,
                    52..=61 => b'0' + v - 52,
                    62 => b'-',
                    _ => b'_',
                };
                s.push(char::from(c));
            }
        }
        4 => {
            for _ in 0..l {
                let c_at = r.pos;
                let c = r.small(7, what)? as u8;
                if !(is_cset82(c) || c == b'#') {
                    return Err(r.bad(
                        c_at,
                        format!("the {what} holds 7-bit value 0x{c:02X}, not in TDS Table 14-9"),
                    ));
                }
                s.push(char::from(c));
            }
        }
        5 => {
            const URN40: &[u8; 40] = b"\0ABCDEFGHIJKLMNOPQRSTUVWXYZ-.:0123456789";
            for _ in 0..l.div_ceil(3) {
                let c_at = r.pos;
                let v = r.small(16, what)? as usize;
                if v == 0 || v > 64_000 {
                    return Err(r.bad(c_at, format!("the {what} holds URN Code 40 triplet value {v}")));
                }
                let v = v - 1;
                for (i, idx) in [v / 1600, (v / 40) % 40, v % 40].into_iter().enumerate() {
                    if idx == 0 {
                        if i == 0 {
                            return Err(r.bad(c_at, format!("the {what} has a URN Code 40 triplet starting with PAD")));
                        }
                        continue;
                    }
                    s.push(char::from(URN40.get(idx).copied().unwrap_or(b'?')));
                }
            }
            if s.len() != l {
                return Err(r.bad(at, format!("the {what} decodes to {} characters, not {l}", s.len())));
            }
        }
        _ => return Err(r.bad(at, format!("the {what} uses reserved encoding indicator {ei}"))),
    }
    Ok(s)
}

/// Delimited/Terminated Numeric (TDS 14.5.5): digits until 1111, or digits, 1110 and a variable-length alphanumeric.
fn delimited_numeric(r: &mut Reader, li_bits: usize, max: usize, what: &str) -> Result<String, EpcError> {
    let start = r.pos;
    let mut s = String::new();
    loop {
        let at = r.pos;
        let v = r.small(4, what)?;
        match v {
            0..=9 => {
                if s.len() >= max {
                    return Err(r.bad(at, format!("the {what} is longer than {max} characters")));
                }
                s.push(char::from(b'0' + v as u8));
            }
            0xF => break,
            0xE => {
                let rest = var_alnum(r, li_bits, max.saturating_sub(s.len()).max(1), what)?;
                s.push_str(&rest);
                break;
            }
            _ => return Err(r.bad(at, format!("the {what} holds the nibble 0x{v:X}"))),
        }
    }
    if s.is_empty() || s.len() > max || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(r.bad(
            start,
            format!("the {what} must start with a digit and have 1..={max} characters"),
        ));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------------------------------
// +AIDC data (TDS 15.3, Table K and Table F)

#[derive(Clone, Copy)]
enum Comp {
    /// Fixed-Length Numeric: digits at 4 bits each.
    FixedNum(usize),
    /// Fixed-Bit-Length Numeric String: digits, bits.
    FixedBit(usize, usize),
    Date6,
    DateTime10,
    DateOrRange,
    VarPrecisionDate,
    /// Variable-length alphanumeric: length indicator bits, max characters.
    Alnum(usize, usize),
    /// Variable-length numeric without encoding indicator: length indicator bits, max digits.
    Num(usize, usize),
    /// Delimited/terminated numeric: length indicator bits of the alphanumeric tail, max characters.
    Delimited(usize, usize),
    Bit,
    Country,
    Minus,
    Sequence,
}

/// TDS Table F: how the value of each AI is encoded in binary (first component, optional second component).
fn table_f(key: &str) -> Option<(Comp, Option<Comp>)> {
    use Comp::*;
    let one = |c| Some((c, None));
    let n: u32 = key.parse().ok()?;
    match (key.len(), n) {
        (2, 0) => one(FixedNum(18)),
        (2, 1 | 2) => one(FixedNum(14)),
        (2, 10 | 21 | 22) => one(Alnum(5, 20)),
        (2, 11 | 12 | 13 | 15 | 16 | 17) => one(Date6),
        (2, 20) => one(FixedBit(2, 7)),
        (2, 30 | 37) => one(Num(4, 8)),
        (2, 90) => one(Alnum(5, 30)),
        (2, 91..=99) => one(Alnum(7, 90)),
        (3, 235) => one(Alnum(5, 28)),
        (3, 240 | 241 | 250 | 251 | 400 | 401 | 403) => one(Alnum(5, 30)),
        (3, 242) => one(Num(3, 6)),
        (3, 243 | 254 | 420 | 710..=716) => one(Alnum(5, 20)),
        (3, 253) => Some((FixedNum(13), Some(Alnum(5, 17)))),
        (3, 255) => Some((FixedNum(13), Some(Num(4, 12)))),
        (3, 402) => one(FixedBit(17, 57)),
        (3, 410..=417) => one(FixedNum(13)),
        (3, 421) => Some((FixedBit(3, 10), Some(Alnum(4, 9)))),
        (3, 422 | 424 | 426) => one(FixedBit(3, 10)),
        (3, 423 | 425) => one(Num(4, 15)),
        (3, 427) => one(Alnum(2, 3)),
        (4, 3100..=3699) => {
            let (group, last) = (n / 10 % 100, n % 10);
            let ok = last <= 5
                && match n / 100 {
                    31 => group % 10 <= 6,
                    33 | 35 => group % 10 <= 7,
                    32 | 34 | 36 => true,
                    _ => false,
                };
            if ok { one(FixedBit(6, 20)) } else { None }
        }
        (4, 3900..=3909 | 3920..=3929) => one(Num(4, 15)),
        (4, 3910..=3919 | 3930..=3939) => Some((FixedBit(3, 10), Some(Num(4, 15)))),
        (4, 3940..=3943) => one(FixedBit(4, 14)),
        (4, 3950..=3953) => one(FixedBit(6, 20)),
        (4, 4300 | 4301 | 4310 | 4311 | 4320) => one(Alnum(6, 35)),
        (4, 4302..=4306 | 4312..=4316) => one(Alnum(7, 70)),
        (4, 4307 | 4317) => one(Country),
        (4, 4308 | 4319) => one(Alnum(5, 30)),
        (4, 4309) => one(FixedBit(20, 67)),
        (4, 4318) => one(Alnum(5, 20)),
        (4, 4321..=4323) => one(Bit),
        (4, 4324 | 4325 | 7003) => one(DateTime10),
        (4, 4326 | 7006) => one(Date6),
        (4, 4330..=4333) => Some((FixedBit(6, 20), Some(Minus))),
        (4, 7001) => one(FixedBit(13, 44)),
        (4, 7002 | 7230..=7239) => one(Alnum(5, 30)),
        (4, 7004) => one(Num(3, 4)),
        (4, 7005) => one(Alnum(4, 12)),
        (4, 7007) => one(DateOrRange),
        (4, 7008) => one(Alnum(2, 3)),
        (4, 7009 | 7255) => one(Alnum(4, 10)),
        (4, 7010) => one(Alnum(2, 2)),
        (4, 7011 | 8008) => one(VarPrecisionDate),
        (4, 7020..=7022 | 7240 | 8002 | 8012) => one(Alnum(5, 20)),
        (4, 7023 | 8004 | 8010) => one(Delimited(5, 30)),
        (4, 7030..=7039) => Some((FixedBit(3, 10), Some(Alnum(5, 27)))),
        (4, 7040 | 7041) => one(Alnum(3, 4)),
        (4, 7241) => one(FixedNum(2)),
        (4, 7242 | 8013 | 8020) => one(Alnum(5, 25)),
        (4, 7250) => one(FixedBit(8, 27)),
        (4, 7251) => one(FixedBit(12, 40)),
        (4, 7252) => one(FixedBit(1, 4)),
        (4, 7253 | 7254 | 7259) => one(Alnum(6, 40)),
        (4, 7256 | 8030) => one(Alnum(7, 90)),
        (4, 7257 | 8110 | 8112 | 8200) => one(Alnum(7, 70)),
        (4, 7258) => one(Sequence),
        (4, 8001) => one(FixedBit(14, 47)),
        (4, 8003) => Some((FixedNum(14), Some(Alnum(5, 16)))),
        (4, 8005) => one(FixedBit(6, 20)),
        (4, 8006 | 8017 | 8018 | 8026) => one(FixedNum(18)),
        (4, 8007) => one(Alnum(5, 24)),
        (4, 8009) => one(Alnum(6, 50)),
        (4, 8011) => one(Num(4, 12)),
        (4, 8019) => one(Num(4, 10)),
        (4, 8111) => one(FixedBit(4, 14)),
        _ => None,
    }
}

/// TDS Table K: total AI key length from its first two digits.
fn ai_key_len(first_two: u32) -> Option<usize> {
    match first_two {
        0..=2 | 10..=13 | 15..=17 | 20..=22 | 37 | 90..=99 => Some(2),
        23..=25 | 40..=42 | 71 => Some(3),
        31..=36 | 39 | 43 | 70 | 72 | 80..=82 => Some(4),
        _ => None,
    }
}

fn aidc_data(r: &mut Reader, ais: &mut Vec<(String, String)>) -> Result<(), EpcError> {
    let end = r.bits.len();
    while r.remaining() >= 8 {
        let at = r.pos;
        let h = r.small(8, "+AIDC data header")?;
        if h == 0 && (r.remaining() < 72 || r.zeros_until(end)) {
            // word padding, or too few bits left for an SSCC
            r.pos = end;
            break;
        }
        let (hi, lo) = (h >> 4, h & 0xF);
        if hi > 9 || lo > 9 {
            return Err(err(
                codes::UNSUPPORTED_AIDC,
                at,
                format!(
                    "{}: +AIDC data header 0x{h:02X} is not a GS1 AI (special headers are not supported)",
                    r.scheme
                ),
            ));
        }
        let first_two = hi * 10 + lo;
        let len = ai_key_len(first_two).ok_or_else(|| {
            err(
                codes::UNSUPPORTED_AIDC,
                at,
                format!("{}: no GS1 AI starts with {first_two:02}", r.scheme),
            )
        })?;
        let mut key = format!("{first_two:02}");
        for _ in 2..len {
            let d_at = r.pos;
            let d = r.small(4, "+AIDC AI digit")?;
            if d > 9 {
                return Err(r.bad(d_at, format!("the +AIDC AI key holds the nibble 0x{d:X}")));
            }
            key.push(char::from(b'0' + d as u8));
        }
        let (first, second) = table_f(&key).ok_or_else(|| {
            err(
                codes::UNSUPPORTED_AIDC,
                at,
                format!("{}: AI ({key}) has no binary encoding in TDS Table F", r.scheme),
            )
        })?;
        let what = format!("+AIDC AI ({key})");
        let mut value = component(r, first, &what)?;
        if let Some(second) = second {
            value.push_str(&component(r, second, &what)?);
        }
        ais.push((key, value));
    }
    Ok(())
}

fn component(r: &mut Reader, c: Comp, what: &str) -> Result<String, EpcError> {
    let at = r.pos;
    match c {
        Comp::FixedNum(n) => fixed_numeric(r, n, what),
        Comp::FixedBit(digits, bits) => {
            let v = r.decimal(bits, what)?;
            if v.len() > digits {
                return Err(r.bad(at, format!("the {what} value {v} has more than {digits} digits")));
            }
            Ok(pad(&v, digits))
        }
        Comp::Date6 => date6(r, what),
        Comp::DateTime10 => {
            let date = date6(r, what)?;
            Ok(format!("{date}{}", time(r, what, 2, at)?))
        }
        Comp::DateOrRange => {
            let range = r.small(1, what)? == 1;
            let mut s = date6(r, what)?;
            if range {
                s.push_str(&date6(r, what)?);
            }
            Ok(s)
        }
        Comp::VarPrecisionDate => {
            let fmt = r.small(2, what)?;
            let date = date6(r, what)?;
            let parts = match fmt {
                0 => 1,
                1 => 2,
                2 => 3,
                _ => 0,
            };
            Ok(format!("{date}{}", time(r, what, parts, at)?))
        }
        Comp::Alnum(li, max) => var_alnum(r, li, max, what),
        Comp::Num(li, max) => var_numeric(r, li, max, what),
        Comp::Delimited(li, max) => delimited_numeric(r, li, max, what),
        Comp::Bit => Ok(r.small(1, what)?.to_string()),
        Comp::Country => {
            let mut s = String::new();
            for _ in 0..2 {
                let v = r.small(6, what)?;
                if v > 25 {
                    return Err(r.bad(at, format!("the {what} country code holds 6-bit value {v}")));
                }
                s.push(char::from(b'A' + v as u8));
            }
            Ok(s)
        }
        Comp::Minus => Ok(if r.small(1, what)? == 1 {
            "-".to_string()
        } else {
            String::new()
        }),
        Comp::Sequence => {
            let a = r.small(4, what)?;
            let b = r.small(4, what)?;
            if !(1..=9).contains(&a) || !(1..=9).contains(&b) {
                return Err(r.bad(at, format!("the {what} sequence indicator {a}/{b} is outside 1-9")));
            }
            Ok(format!("{a}/{b}"))
        }
    }
}

/// hh (5 bits), then mm and ss (6 bits each), `parts` of them.
fn time(r: &mut Reader, what: &str, parts: usize, at: usize) -> Result<String, EpcError> {
    let mut s = String::new();
    let mut vals = [0u32; 3];
    for (i, slot) in vals.iter_mut().enumerate().take(parts) {
        *slot = r.small(if i == 0 { 5 } else { 6 }, what)?;
        let _ = write!(s, "{:02}", *slot);
    }
    let [h, m, sec] = vals;
    if h > 24 || m > 59 || sec > 59 || (h == 24 && (m > 0 || sec > 0)) {
        return Err(r.bad(at, format!("the {what} time {s} is not valid")));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------------
// Encoding (SGTIN-96), for tag simulators and test data

/// Encodes an SGTIN-96 EPC (TDS 14.5.1): header 0x30, filter, partition for the company prefix length, company prefix,
/// indicator digit + item reference, 38-bit serial. `gtin` is 14 digits with a valid check digit; `company_prefix_len`
/// is 6 to 12 digits.
pub fn encode_sgtin96(gtin: &str, company_prefix_len: usize, filter: u8, serial: u64) -> Result<Vec<u8>, EpcError> {
    let g = gtin.as_bytes();
    if g.len() != 14 || !g.iter().all(u8::is_ascii_digit) || !check_ok(gtin) {
        return Err(err(
            codes::BAD_VALUE,
            0,
            format!("'{gtin}' is not a GTIN-14 with a valid check digit"),
        ));
    }
    let Some(p) = PT_SGTIN.iter().position(|row| row.1 == company_prefix_len) else {
        return Err(err(
            codes::BAD_PARTITION,
            0,
            format!("a company prefix of {company_prefix_len} digits has no SGTIN partition (6-12)"),
        ));
    };
    if filter > 7 || serial >= 1 << 38 {
        return Err(err(
            codes::BAD_VALUE,
            0,
            "filter is 0-7 and the SGTIN-96 serial below 2^38",
        ));
    }
    let (m, _, n, _) = PT_SGTIN[p];
    let cp: u64 = gtin[1..1 + company_prefix_len].parse().unwrap_or(0);
    let item: u64 = format!("{}{}", &gtin[..1], &gtin[1 + company_prefix_len..13])
        .parse()
        .unwrap_or(0);
    let mut v: u128 = 0x30;
    for (value, bits) in [
        (u128::from(filter), 3),
        (p as u128, 3),
        (u128::from(cp), m),
        (u128::from(item), n),
        (u128::from(serial), 38),
    ] {
        v = (v << bits) | value;
    }
    Ok(v.to_be_bytes()[4..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (hex, scheme, filter, pure URI, tag URI, bracketed element string)
    type Vector = (
        &'static str,
        &'static str,
        Option<u8>,
        &'static str,
        &'static str,
        &'static str,
    );

    const VECTORS: &[Vector] = &[
        // GS1 TDS 1.13 Annex E.3
        (
            "3074257BF7194E4000001A85",
            "sgtin-96",
            Some(3),
            "urn:epc:id:sgtin:0614141.812345.6789",
            "urn:epc:tag:sgtin-96:3.0614141.812345.6789",
            "(01)80614141123458(21)6789",
        ),
        (
            "3674257BF6B7A659B2C2BF100000000000000000000000000000",
            "sgtin-198",
            Some(3),
            "urn:epc:id:sgtin:0614141.712345.32a%2Fb",
            "urn:epc:tag:sgtin-198:3.0614141.712345.32a%2Fb",
            "(01)70614141123451(21)32a/b",
        ),
        (
            "3174257BF4499602D2000000",
            "sscc-96",
            Some(3),
            "urn:epc:id:sscc:0614141.1234567890",
            "urn:epc:tag:sscc-96:3.0614141.1234567890",
            "(00)106141412345678908",
        ),
        (
            "3274257BF46072000000162E",
            "sgln-96",
            Some(3),
            "urn:epc:id:sgln:0614141.12345.5678",
            "urn:epc:tag:sgln-96:3.0614141.12345.5678",
            "(414)0614141123452(254)5678",
        ),
        (
            "3974257BF46072CD9615F8800000000000000000000000000",
            "sgln-195",
            Some(3),
            "urn:epc:id:sgln:0614141.12345.32a%2Fb",
            "urn:epc:tag:sgln-195:3.0614141.12345.32a%2Fb",
            "(414)0614141123452(254)32a/b",
        ),
        (
            "3374257BF40C0E400000162E",
            "grai-96",
            Some(3),
            "urn:epc:id:grai:0614141.12345.5678",
            "urn:epc:tag:grai-96:3.0614141.12345.5678",
            "(8003)006141411234525678",
        ),
        (
            "3774257BF40C0E59B2C2BF100000000000000000000",
            "grai-170",
            Some(3),
            "urn:epc:id:grai:0614141.12345.32a%2Fb",
            "urn:epc:tag:grai-170:3.0614141.12345.32a%2Fb",
            "(8003)0061414112345232a/b",
        ),
        (
            "3474257BF40000000000162E",
            "giai-96",
            Some(3),
            "urn:epc:id:giai:0614141.5678",
            "urn:epc:tag:giai-96:3.0614141.5678",
            "(8004)06141415678",
        ),
        (
            "3874257BF59B2C2BF10000000000000000000000000000000000",
            "giai-202",
            Some(3),
            "urn:epc:id:giai:0614141.32a%2Fb",
            "urn:epc:tag:giai-202:3.0614141.32a%2Fb",
            "(8004)061414132a/b",
        ),
        // nedap/retail-epcpy (MIT) test vectors
        (
            "362579D5D4ADB6172574B98B34C0000000000000000000000000",
            "sgtin-198",
            Some(1),
            "urn:epc:id:sgtin:50712192365.88..%25:.13%26",
            "urn:epc:tag:sgtin-198:1.50712192365.88..%25:.13%26",
            "(01)85071219236581(21).%:.13&",
        ),
        (
            "31A03932449F000000000000",
            "sscc-96",
            Some(5),
            "urn:epc:id:sscc:061414123456.00000",
            "urn:epc:tag:sscc-96:5.061414123456.00000",
            "(00)006141412345600001",
        ),
        (
            "2DA3A352943FFD869F000000",
            "gsrn-96",
            Some(5),
            "urn:epc:id:gsrn:999999999999.99999",
            "urn:epc:tag:gsrn-96:5.999999999999.99999",
            "(8018)999999999999999995",
        ),
        (
            "2E14257BF4499602D2000000",
            "gsrnp-96",
            Some(0),
            "urn:epc:id:gsrnp:0614141.1234567890",
            "urn:epc:tag:gsrnp-96:0.0614141.1234567890",
            "(8017)061414112345678902",
        ),
        (
            "2C54257BF46073FFFFFFFFFF",
            "gdti-96",
            Some(2),
            "urn:epc:id:gdti:0614141.12345.2199023255551",
            "urn:epc:tag:gdti-96:2.0614141.12345.2199023255551",
            "(253)06141411234522199023255551",
        ),
        (
            "3E14257BF460730614388C593368BC00000000000000",
            "gdti-174",
            Some(0),
            "urn:epc:id:gdti:0614141.12345.ABCD1234%2F",
            "urn:epc:tag:gdti-174:0.0614141.12345.ABCD1234%2F",
            "(253)0614141123452ABCD1234/",
        ),
        (
            "3C34257BF400F12000000000",
            "cpi-96",
            Some(1),
            "urn:epc:id:cpi:0614141.123456.0",
            "urn:epc:tag:cpi-96:1.0614141.123456.0",
            "(8010)0614141123456(8011)0",
        ),
        (
            "3D14257BF71CADD35D8000075BCD1500",
            "cpi-var",
            Some(0),
            "urn:epc:id:cpi:0614141.12-456.123456789",
            "urn:epc:tag:cpi-var:0.0614141.12-456.123456789",
            "(8010)061414112-456(8011)123456789",
        ),
        (
            "3F14F4E4E612640000019907",
            "sgcn-96",
            Some(0),
            "urn:epc:id:sgcn:4012345.67890.04711",
            "urn:epc:tag:sgcn-96:0.4012345.67890.04711",
            "(255)401234567890104711",
        ),
        (
            "40F4F4E4E40C0E40820000000F6C",
            "itip-110",
            Some(7),
            "urn:epc:id:itip:4012345.012345.01.02.987",
            "urn:epc:tag:itip-110:7.4012345.012345.01.02.987",
            "(8006)040123451234560102(21)987",
        ),
        (
            "41000B7F7070D40000830A1C48B1A3C8932A5CC9B3A7D05F4A9D4000",
            "itip-212",
            Some(0),
            "urn:epc:id:itip:012345678901.0.00.00.ABCDEFGHIJKLMNOP%2FRST",
            "urn:epc:tag:itip-212:0.012345678901.0.00.00.ABCDEFGHIJKLMNOP%2FRST",
            "(8006)001234567890120000(21)ABCDEFGHIJKLMNOP/RST",
        ),
        (
            "35FFFFFFFFFFFFFFFFFFFFFF",
            "gid-96",
            None,
            "urn:epc:id:gid:268435455.16777215.68719476735",
            "urn:epc:tag:gid-96:268435455.16777215.68719476735",
            "",
        ),
        (
            "2F02032533139342DFDC1C35",
            "usdod-96",
            Some(0),
            "urn:epc:id:usdod:2S194.12345678901",
            "urn:epc:tag:usdod-96:0.2S194.12345678901",
            "",
        ),
        (
            "3B057E316390F32CCE78D10631023C9736F075C80000",
            "adi-var",
            Some(1),
            "urn:epc:id:adi:W81X9C.3KL984PX1.%232WM%2FA52",
            "urn:epc:tag:adi-var:1.W81X9C.3KL984PX1.%232WM%2FA52",
            "",
        ),
        (
            "3B5E0C93C79D00C72CF4D76DF8E70C40",
            "adi-var",
            Some(23),
            "urn:epc:id:adi:2S194..12345678901",
            "urn:epc:tag:adi-var:23.2S194..12345678901",
            "",
        ),
        // GS1 TDS 2.3 Annex E.3
        (
            "311BA1B300CE0A6A83000000",
            "sscc-96",
            Some(0),
            "urn:epc:id:sscc:952012.03456789123",
            "urn:epc:tag:sscc-96:0.952012.03456789123",
            "(00)095201234567891235",
        ),
        (
            "3F76451FD612640000019907",
            "sgcn-96",
            Some(3),
            "urn:epc:id:sgcn:9521141.67890.04711",
            "urn:epc:tag:sgcn-96:3.9521141.67890.04711",
            "(255)952114167890904711",
        ),
        (
            "3E76451FD7039B061438997367D0C18B266D1AB66EE0",
            "gdti-174",
            Some(3),
            "urn:epc:id:gdti:9521141.98765.ABCDefgh012345678",
            "urn:epc:tag:gdti-174:3.9521141.98765.ABCDefgh012345678",
            "(253)9521141987650ABCDefgh012345678",
        ),
        (
            "4176451FD40C0E4082DBDD8B36600000000000000000000000000000",
            "itip-212",
            Some(3),
            "urn:epc:id:itip:9521141.012345.01.02.mw133",
            "urn:epc:tag:itip-212:3.9521141.012345.01.02.mw133",
            "(8006)095211411234540102(21)mw133",
        ),
        (
            "3500E86F8000A9E000000586",
            "gid-96",
            None,
            "urn:epc:id:gid:952056.2718.1414",
            "urn:epc:tag:gid-96:952056.2718.1414",
            "",
        ),
        (
            "2F320434147455900000162E",
            "usdod-96",
            Some(3),
            "urn:epc:id:usdod:CAGEY.5678",
            "urn:epc:tag:usdod-96:3.CAGEY.5678",
            "",
        ),
        (
            "3B0E0CF5E76C9047759AD00373DC7602E7200",
            "adi-var",
            Some(3),
            "urn:epc:id:adi:35962.PQ7VZ4.M37GXB92",
            "urn:epc:tag:adi-var:3.35962.PQ7VZ4.M37GXB92",
            "",
        ),
        // GS1 TDS 2.3 Annex E.3 (no +AIDC data)
        (
            "3D76451FD75411DEF6B4CC00000003039000",
            "cpi-var",
            Some(3),
            "urn:epc:id:cpi:9521141.5PQ7%2FZ43.12345",
            "urn:epc:tag:cpi-var:3.9521141.5PQ7%2FZ43.12345",
            "(8010)95211415PQ7/Z43(8011)12345",
        ),
        (
            "F73795211411234538566CB0AFC4",
            "sgtin+",
            Some(3),
            "https://id.gs1.org/01/79521141123453/21/32a%2Fb",
            "",
            "(01)79521141123453(21)32a/b",
        ),
        (
            "FB342CDE795211411234538566CB0AFC4",
            "dsgtin+",
            Some(3),
            "https://id.gs1.org/01/79521141123453/21/32a%2Fb",
            "",
            "(01)79521141123453(21)32a/b(17)220630",
        ),
        (
            "F90095201234567891235",
            "sscc+",
            Some(0),
            "https://id.gs1.org/00/095201234567891235",
            "",
            "(00)095201234567891235",
        ),
        (
            "F2395211411234548566CB0AFC4",
            "sgln+",
            Some(3),
            "https://id.gs1.org/414/9521141123454/254/32a%2Fb",
            "",
            "(414)9521141123454(254)32a/b",
        ),
        (
            "F13095211411234548566CB0AFC4",
            "grai+",
            Some(3),
            "https://id.gs1.org/8003/0952114112345432a%2Fb",
            "",
            "(8003)0952114112345432a/b",
        ),
        (
            "FA3952114132E83C2BF10",
            "giai+",
            Some(3),
            "https://id.gs1.org/8004/952114132a%2Fb",
            "",
            "(8004)952114132a/b",
        ),
        (
            "F43952114112345678906",
            "gsrn+",
            Some(3),
            "https://id.gs1.org/8018/952114112345678906",
            "",
            "(8018)952114112345678906",
        ),
        (
            "F53952114112345678906",
            "gsrnp+",
            Some(3),
            "https://id.gs1.org/8017/952114112345678906",
            "",
            "(8017)952114112345678906",
        ),
        (
            "F6395211411234540458B8",
            "gdti+",
            Some(3),
            "https://id.gs1.org/253/95211411234545678",
            "",
            "(253)95211411234545678",
        ),
        (
            "F0395211415E87A145BAFB4D19A8C0E4",
            "cpi+",
            Some(3),
            "https://id.gs1.org/8010/95211415PQ7%2FZ43/8011/12345",
            "",
            "(8010)95211415PQ7/Z43(8011)12345",
        ),
        (
            "F839521141678909509338",
            "sgcn+",
            Some(3),
            "https://id.gs1.org/255/952114167890904711",
            "",
            "(255)952114167890904711",
        ),
        (
            "F3309521141123454010266AE27FDF35",
            "itip+",
            Some(3),
            "https://id.gs1.org/8006/095211411234540102/21/rif981",
            "",
            "(8006)095211411234540102(21)rif981",
        ),
    ];

    fn decode_gs1(hex: &str) -> Epc {
        match decode_epc_hex(hex) {
            Ok(EpcDecoded::Gs1(e)) => e,
            other => panic!("{hex}: {other:?}"),
        }
    }

    #[test]
    fn vectors_decode() {
        for &(hex, scheme, filter, pure, tag, bracketed) in VECTORS {
            let e = decode_gs1(hex);
            assert_eq!((e.scheme, e.filter), (scheme, filter), "{hex}");
            assert_eq!(e.pure_uri, pure, "{hex}");
            assert_eq!(e.tag_uri, tag, "{hex}");
            assert_eq!(e.bracketed(), bracketed, "{hex}");
            assert_eq!(e.hex, hex, "{hex}");
        }
    }

    #[test]
    fn ais_are_ordered_pairs() {
        let e = decode_gs1("3074257BF7194E4000001A85");
        assert_eq!(e.ais, vec![ai("01", "80614141123458"), ai("21", "6789")]);
    }

    #[test]
    fn input_is_normalised() {
        let e = decode_gs1("30 74 25 7b f7 19 4e 40 00 00 1a 85");
        assert_eq!(e.hex, "3074257BF7194E4000001A85");
        assert_eq!(e.pure_uri, "urn:epc:id:sgtin:0614141.812345.6789");
    }

    #[test]
    fn sgln_extension_zero_is_the_bare_gln() {
        let e = decode_gs1("3934257BF46072C0000000000000000000000000000000000000");
        assert_eq!(e.tag_uri, "urn:epc:tag:sgln-195:1.0614141.12345.0");
        assert_eq!(e.bracketed(), "(414)0614141123452");
    }

    #[test]
    fn dsgtin_date_types() {
        // FB, toggle 0, filter 3, date type t, 220630, GTIN, serial "32a/b"
        let cases = [
            (0u8, "11"),
            (1, "13"),
            (2, "15"),
            (3, "16"),
            (4, "17"),
            (5, "7006"),
            (6, "7007"),
        ];
        for (t, want) in cases {
            let hex = format!("FB3{t:X}2CDE795211411234538566CB0AFC4");
            let e = decode_gs1(&hex);
            assert_eq!(e.ais.last(), Some(&ai(want, "220630")), "{hex}");
        }
        let bad = decode_epc_hex("FB372CDE795211411234538566CB0AFC4").unwrap_err();
        assert_eq!((bad.code, bad.position), ("bad_value", 3));
    }

    #[test]
    fn plus_aidc_data_is_appended() {
        // SGTIN+ with toggle set: (01)(21) as in Annex E, then (17)220630 and (10) "ABC" in URN Code 40.
        // 17 = 0001 0111, date 0010110 0110 11110; 10 = 0001 0000, EI 101, LI 00011, triplet ABC
        let mut bits = String::new();
        for c in "F7B795211411234538566CB0AFC4".chars() {
            let v = c.to_digit(16).unwrap_or(0);
            bits.push_str(&format!("{v:04b}"));
        }
        bits.truncate(111); // the EPC is 111 bits; the 112th was word padding
        bits.push_str("00010111");
        bits.push_str("0010110011011110");
        bits.push_str("00010000");
        bits.push_str("10100011");
        let abc = 1600 + 2 * 40 + 3 + 1;
        bits.push_str(&format!("{abc:016b}"));
        while !bits.len().is_multiple_of(16) {
            bits.push('0');
        }
        let hex: String = bits
            .as_bytes()
            .chunks(4)
            .map(|c| {
                let v = c.iter().fold(0u32, |a, &b| a * 2 + u32::from(b - b'0'));
                char::from_digit(v, 16).unwrap_or('0')
            })
            .collect();
        let e = decode_gs1(&hex);
        assert_eq!(e.scheme, "sgtin+");
        assert_eq!(e.bracketed(), "(01)79521141123453(21)32a/b(17)220630(10)ABC");
        assert_eq!(e.pure_uri, "https://id.gs1.org/01/79521141123453/21/32a%2Fb");
    }

    #[test]
    fn raw_for_non_gs1_headers() {
        for hex in [
            "000000000000000000000000",
            "E2003412",
            "FD3795211411234538566CB0AFC5",
            "AA0102030405060708090A0B",
        ] {
            match decode_epc_hex(hex) {
                Ok(EpcDecoded::Raw { hex: h, reason }) => {
                    assert_eq!(h, hex);
                    assert!(!reason.is_empty());
                }
                other => panic!("{hex}: {other:?}"),
            }
        }
    }

    #[test]
    fn pc_toggle_bit_means_raw() {
        let r = decode_epc_with_pc(0x3180, "3074257BF7194E4000001A85").unwrap();
        assert!(matches!(r, EpcDecoded::Raw { .. }), "{r:?}");
        // PC length 6 words: trailing words are ignored
        let e = decode_epc_with_pc(0x3000, "3074257BF7194E4000001A85FFFF").unwrap();
        assert!(matches!(e, EpcDecoded::Gs1(ref x) if x.tag_uri == "urn:epc:tag:sgtin-96:3.0614141.812345.6789"));
    }

    #[test]
    fn errors() {
        let cases: &[(&str, &str, usize)] = &[
            ("30 74 2G", "not_hex", 5),
            ("0x3074", "not_hex", 1),
            ("", "too_short", 0),
            ("3", "too_short", 1),
            ("3074257BF7194E4000001A", "too_short", 22),
            ("307C257BF7194E4000001A85", "bad_partition", 2),
            // SGTIN-96, partition 5, company prefix bits all ones: 16777215 > 7 digits
            ("3077FFFFFF194E4000001A85", "bad_value", 3),
            // SSCC-96 reserved bits not zero
            ("3174257BF4499602D2000001", "bad_value", 18),
            // SGTIN-198 serial with a character outside CSET 82 (0x7F)
            ("3674257BF6B7A65FE000000000000000000000000000000000000", "bad_value", 16),
            // SGTIN+ with a wrong GTIN check digit
            ("F73795211411234548566CB0AFC4", "bad_check_digit", 3),
            // SGTIN+ with a non-digit nibble in the GTIN
            ("F737952114112345A8566CB0AFC4", "bad_value", 16),
            // SSCC+ truncated
            ("F9009520123456789123", "too_short", 20),
            // SGTIN+ with toggle set and an +AIDC header that is no AI (0xAA)
            ("F7B795211411234538566CB0AFC4AA00", "unsupported_aidc", 27),
        ];
        for &(hex, code, position) in cases {
            match decode_epc_hex(hex) {
                Err(e) => {
                    assert_eq!((e.code, e.position), (code, position), "{hex}: {}", e.message);
                    assert!(!e.message.is_empty());
                }
                Ok(other) => panic!("{hex}: expected {code}, got {other:?}"),
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let headers = [
            0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D,
            0x3E, 0x3F, 0x40, 0x41, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB,
        ];
        let mut decoded = 0;
        for i in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut hex = String::new();
            if i % 4 != 0 {
                let h = headers[(next() % headers.len() as u64) as usize];
                hex.push_str(&format!("{h:02X}"));
            }
            for _ in 0..len {
                hex.push(char::from_digit((next() % 16) as u32, 16).unwrap_or('0'));
            }
            if i % 97 == 0 {
                hex.push('z');
            }
            if let Ok(EpcDecoded::Gs1(e)) = decode_epc_hex(&hex) {
                decoded += 1;
                let _ = e.bracketed();
            }
            let _ = decode_epc_with_pc((next() & 0xFFFF) as u16, &hex);
        }
        assert!(decoded > 100, "only {decoded} random inputs decoded");
    }
    #[test]
    fn sgtin96_encoding_matches_the_tds_example_and_round_trips() {
        // TDS: urn:epc:tag:sgtin-96:3.0614141.812345.6789 = 3074257BF7194E4000001A85, GTIN 80614141123458.
        let epc = encode_sgtin96("80614141123458", 7, 3, 6789).unwrap();
        let hex: String = epc.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex, "3074257BF7194E4000001A85");
        for (body, cpl, serial) in [
            ("0690123450001", 8, 1u64),
            ("0690123450002", 9, 274_877_906_943),
            ("0001234567890", 6, 42),
        ] {
            let gtin = &with_check(body);
            let epc = encode_sgtin96(gtin, cpl, 1, serial).unwrap();
            let hex: String = epc.iter().map(|b| format!("{b:02X}")).collect();
            let e = decode_gs1(&hex);
            assert_eq!(e.ais[0], ("01".to_owned(), gtin.to_owned()), "{gtin}");
            assert_eq!(e.ais[1], ("21".to_owned(), serial.to_string()), "{gtin}");
        }
        let good = with_check("0690123450001");
        let mut bad = good.clone();
        bad.replace_range(13.., if good.ends_with('9') { "0" } else { "9" });
        assert!(encode_sgtin96(&bad, 8, 1, 1).is_err(), "bad check digit");
        assert!(encode_sgtin96(&good, 5, 1, 1).is_err(), "no partition for 5 digits");
        assert!(encode_sgtin96(&good, 8, 1, 1 << 38).is_err(), "serial too large");
    }
}
