//! The scan entry point: turns what a barcode scanner (or a keyboard) delivered into a [`Scan`]:
//! GS1 element strings, plain GTINs and SSCCs, or plain codes such as location labels.
//!
//! [`parse_scan`] is the only function the app calls. It never panics on any input.
//!
//! # What is recognised
//!
//! The input is trimmed of surrounding whitespace (CR/LF included), then the textual
//! escapes `\x1d`, `\u001d`, `<GS>` and `{GS}` (any letter case) are replaced by the GS
//! character (U+001D, FNC1 as transmitted by scanners); a literal GS is kept as it is.
//!
//! With an AIM symbology identifier (`]` + letter + digit, kept in [`Scan::symbology`]):
//!
//! * `]C1 ]d2 ]Q3 ]e0 ]J1` (GS1-128, GS1 DataMatrix, GS1 QR, GS1 DataBar/composite, GS1
//!   DotCode): a raw GS1 element string follows.
//! * `]E0` (EAN-13, or UPC-A as 13 digits with a leading 0) and `]E4` (EAN-8): the data must
//!   be a GTIN of that length with a valid check digit, optionally followed by a composite
//!   component `|]e0…` (a raw element string).
//! * any other identifier (`]A0 ]C0 ]d1 ]Q1 ]J0 …`): plain data; 8, 12, 13 or 14 digits with
//!   a valid check digit are a GTIN, anything else printable is a plain code.
//!
//! A `]` at the start without a valid identifier is an error (`unreadable`).
//!
//! Without a symbology identifier:
//!
//! 1. `(` first: bracketed GS1 data, `(01)09501101530003(10)ABC` (`\(` is a `(` in a value);
//! 2. `^` first: unbracketed GS1 data where `^` stands for FNC1;
//! 3. 8, 12, 13 or 14 digits with a valid check digit: a GTIN; 18 such digits: an SSCC;
//! 4. starting with a digit or GS: a raw element string, if it parses cleanly **and** looks
//!    like one — it contains a GS, its first AI has a predefined length (e.g. `01`, `00`,
//!    `17`), or it holds two or more AIs. This keeps location labels such as `21-A-03`
//!    or short codes such as `10ABC` from being read as AI (21) or (10);
//! 5. otherwise printable ASCII is a plain code ([`ScanKind::Code`]); anything else is an
//!    error (the raw element-string error if step 4 was tried, else `unreadable`).
//!
//! # Errors
//!
//! [`ScanError::code`] is one of: `empty`, `not_utf8`, `unknown_ai`, `bad_length`,
//! `bad_charset`, `bad_check_digit`, `bad_date`, `truncated`, `duplicate_ai`, `unreadable`.
//! [`ScanError::position`] is the 0-based character offset of the fault in the input after
//! trimming and after the textual GS escapes were replaced by one GS character each, with
//! the symbology identifier counted (so in `]d2011…` the first AI digit is at 3). For
//! `not_utf8` it is the byte offset of the first invalid byte in the untrimmed input.

use chrono::NaiveDate;

use crate::gs1::digital_link::{DlSettings, parse_digital_link};
use crate::gs1::{self, GS};
use crate::hibc::{Hibc, parse_hibc};
use crate::ids::{Gtin, LotNo, SerialNo, Sscc, gs1_check_digit, gs1_check_digit_ok, parse_gs1_date};
use crate::udi::{Agency, Udi, parse_udi};

/// What kind of data a scan carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanKind {
    /// GS1 element strings (any number of AIs).
    Gs1,
    /// A plain GTIN-8/12/13/14 (EAN/UPC or digits typed in).
    Gtin,
    /// A plain 18-digit SSCC.
    Sscc,
    /// A GS1 Digital Link URI (its AIs are in [`Scan::ais`]).
    DigitalLink,
    /// An HIBC (HIBCC) primary, secondary or concatenated code ([`ScanFields::hibc`]).
    Hibc,
    /// China's 20-digit drug traceability code (药品追溯码).
    ChinaDrugTrace,
    /// A Chinese medical-device UDI of the MA code system (`MA.156.…`).
    NmpaMa,
    /// An ICCBBA ISBT 128 data structure (`=…` / `&…`).
    Isbt128,
    /// An IFA PPN code in the ISO/IEC 15434 envelope (`[)>` RS `06` …).
    IfaPpn,
    /// Any other printable text, e.g. a location label.
    Code,
}

impl ScanKind {
    /// Stable lower-case name: `gs1`, `digital_link`, `hibc`, `gtin`, `sscc`, `china_drug_trace`,
    /// `nmpa_ma`, `isbt128`, `ifa_ppn` or `code`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScanKind::Gs1 => "gs1",
            ScanKind::DigitalLink => "digital_link",
            ScanKind::Hibc => "hibc",
            ScanKind::Gtin => "gtin",
            ScanKind::Sscc => "sscc",
            ScanKind::ChinaDrugTrace => "china_drug_trace",
            ScanKind::NmpaMa => "nmpa_ma",
            ScanKind::Isbt128 => "isbt128",
            ScanKind::IfaPpn => "ifa_ppn",
            ScanKind::Code => "code",
        }
    }

    /// True for the kinds whose data maps to GS1 AIs.
    pub fn is_gs1(&self) -> bool {
        matches!(
            self,
            ScanKind::Gs1 | ScanKind::DigitalLink | ScanKind::Gtin | ScanKind::Sscc
        )
    }
}

/// The result of one scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// The input as text (trimmed, escapes resolved) with GS shown as `<GS>`.
    pub raw: String,
    /// The AIM symbology identifier such as `]d2`, if the scanner sent one.
    pub symbology: Option<String>,
    pub kind: ScanKind,
    /// `(ai, value)` pairs in scan order. A plain GTIN gives `[("01", gtin14)]`, a plain SSCC
    /// `[("00", sscc)]`, a plain code nothing. A repeated AI with the same value is listed once.
    pub ais: Vec<(String, String)>,
    pub fields: ScanFields,
}

/// The AIs the app uses, decoded.
///
/// Holds `f64` measures, so it is `PartialEq` but not `Eq`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScanFields {
    /// AI (01). The GTIN of contained items, AI (02), stays in [`Scan::ais`] only.
    pub gtin: Option<Gtin>,
    /// AI (10).
    pub lot: Option<LotNo>,
    /// AI (21).
    pub serial: Option<SerialNo>,
    /// AI (22), consumer product variant.
    pub cpv: Option<String>,
    /// AI (20), variant number (two digits, leading zero kept).
    pub variant: Option<String>,
    /// AI (17); day `00` resolved to the last day of the month (as for all dates here).
    pub expiry: Option<NaiveDate>,
    /// AI (15).
    pub best_before: Option<NaiveDate>,
    /// AI (16).
    pub sell_by: Option<NaiveDate>,
    /// AI (13).
    pub pack_date: Option<NaiveDate>,
    /// AI (11).
    pub production_date: Option<NaiveDate>,
    /// AI (30) or (37), whichever comes first.
    pub quantity: Option<u64>,
    /// The variable measures, AIs 3100–3695, in scan order, with the implied decimal point applied.
    pub measures: Vec<Measure>,
    /// AI (310n): net weight in kilograms.
    pub net_weight_kg: Option<f64>,
    /// AI (00).
    pub sscc: Option<Sscc>,
    /// AI (410): ship-to / deliver-to GLN.
    pub ship_to_gln: Option<String>,
    /// AI (414): GLN of a physical location.
    pub location_gln: Option<String>,
    /// AIs (710)–(717): national healthcare reimbursement numbers, `(ai, value)` in scan order.
    pub nhrn: Vec<(String, String)>,
    /// The key an item is looked up by when the scan carries no GTIN: the text of a plain code,
    /// the device identifier of an HIBC or other non-GS1 UDI, the China drug trace product code.
    pub code: Option<String>,
    /// The decoded HIBC data ([`ScanKind::Hibc`]).
    pub hibc: Option<Hibc>,
    /// The decoded non-GS1 UDI ([`ScanKind::NmpaMa`], [`ScanKind::Isbt128`], [`ScanKind::IfaPpn`],
    /// [`ScanKind::ChinaDrugTrace`]).
    pub udi: Option<Udi>,
}

/// Per-site scanning settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSettings {
    /// How GS1 Digital Link URIs are read (strict by default; `lenient_gtin` accepts
    /// zero-suppressed GTIN-8/12/13 in the path).
    pub digital_link: DlSettings,
}

/// A variable measure such as net weight, AIs 3100–3695: the AI's last digit is the number of
/// decimals, so `(3103)001250` is 1.25 kg.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub ai: String,
    /// The dictionary title, e.g. `NET WEIGHT (kg)` or `LENGTH (m), log`.
    pub title: String,
    pub value: f64,
    /// The unit from the title: `kg`, `m`, `l`, `m²`, `qt (US)`, … (`kg/m²` for AI 337n).
    pub unit: String,
}

impl Scan {
    /// Every AI as `(dictionary title, value)` in scan order, e.g. `("BATCH/LOT", "L2311")`;
    /// `AI (nnnn)` stands in for the few AIs the dictionary gives no title. (Made on demand:
    /// the scan path does not need it.)
    pub fn by_title(&self) -> Vec<(String, String)> {
        self.ais
            .iter()
            .map(|(ai, v)| {
                let title = gs1::ai_def(ai).map(|d| d.title).filter(|t| !t.is_empty());
                (title.map_or_else(|| format!("AI ({ai})"), str::to_owned), v.clone())
            })
            .collect()
    }

    /// The AIs in bracketed form, `(01)09501101530003(17)261130(10)ABC`; a `(` inside a value
    /// is written `\(`. Empty when there are no AIs.
    pub fn bracketed(&self) -> String {
        gs1::bracketed(&self.ais)
    }
}

/// Why a scan was refused. `code` is stable (see the module docs); `message` is a short
/// English sentence for people; `position` is the character offset of the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at {position})")]
pub struct ScanError {
    pub code: &'static str,
    pub message: String,
    pub position: usize,
}

fn scan_err(code: &'static str, position: usize, message: impl Into<String>) -> ScanError {
    ScanError {
        code,
        message: message.into(),
        position,
    }
}

/// Symbology identifiers after which a raw GS1 element string follows.
const GS1_SYMBOLOGIES: [&str; 5] = ["]C1", "]d2", "]Q3", "]e0", "]J1"];

/// Parses one scan. `hint` is a symbology identifier the device reported beside the data (a
/// `]xx` prefix in the data itself wins); `today` resolves two-digit years; no clock is read here.
pub fn parse_scan(
    input: &[u8],
    hint: Option<&str>,
    settings: &ScanSettings,
    today: NaiveDate,
) -> Result<Scan, ScanError> {
    let text = std::str::from_utf8(input).map_err(|e| {
        scan_err(
            "not_utf8",
            e.valid_up_to(),
            format!("The scan is not valid text (bad byte at {})", e.valid_up_to()),
        )
    })?;
    let text = text.trim_matches(|c: char| c.is_whitespace() && c != GS);
    if text.is_empty() {
        return Err(scan_err("empty", 0, "The scan is empty"));
    }
    let text = resolve_escapes(text);
    let raw = {
        let gs = text.bytes().filter(|&b| b == GS as u8).count();
        let mut r = String::with_capacity(text.len() + 3 * gs);
        for part in text.split(GS).enumerate() {
            if part.0 > 0 {
                r.push_str("<GS>");
            }
            r.push_str(part.1);
        }
        r
    };

    let (symbology, data, offset) = match split_symbology(&text)? {
        Some((sym, rest)) => (Some(sym), rest, 3),
        None => (hint.filter(|h| is_symbology_id(h)), text.as_ref(), 0),
    };
    let shift = |mut e: ScanError| {
        e.position += offset;
        e
    };
    if data.is_empty() {
        let sym = symbology.unwrap_or("");
        return Err(scan_err(
            "empty",
            offset,
            format!("There is no data after the symbology identifier {sym}"),
        ));
    }

    let mut hibc = None;
    let mut udi = None;
    let (kind, ais, code) = if symbology.is_some_and(|s| GS1_SYMBOLOGIES.contains(&s)) {
        (
            ScanKind::Gs1,
            gs1::parse_element_string(data, today).map_err(shift)?,
            None,
        )
    } else if let Some(sym @ ("]E0" | "]E4")) = symbology {
        ean(sym, data, today).map_err(shift)?
    } else if has_uri_scheme(data) {
        let dl = parse_digital_link(data, &settings.digital_link).map_err(shift)?;
        (ScanKind::DigitalLink, dl.ais, None)
    } else if data.starts_with('+') {
        let h = parse_hibc(data, today).map_err(|e| shift(scan_err(e.code, e.position, e.message)))?;
        let di = hibc_di(&h);
        hibc = Some(h);
        (ScanKind::Hibc, Vec::new(), di)
    } else if let Some(kind) = udi_kind(data) {
        let u = parse_udi(data, today).map_err(|e| shift(scan_err(e.code, e.position, e.message)))?;
        let di = u.di.clone().or_else(|| Some(data.to_owned()));
        udi = Some(u);
        (kind, Vec::new(), di)
    } else if symbology.is_some() {
        if let Some(g) = plain_gtin(data) {
            (ScanKind::Gtin, vec![("01".to_owned(), g)], None)
        } else if is_china_drug_trace(data) {
            let u = parse_udi(data, today).map_err(|e| shift(scan_err(e.code, e.position, e.message)))?;
            let di = u.di.clone();
            udi = Some(u);
            (ScanKind::ChinaDrugTrace, Vec::new(), di)
        } else {
            printable(data).map_err(shift)?;
            (ScanKind::Code, Vec::new(), Some(data.to_owned()))
        }
    } else {
        match classify_unmarked(data, today)? {
            (ScanKind::Code, _, _) if is_china_drug_trace(data) => {
                let u = parse_udi(data, today).map_err(|e| scan_err(e.code, e.position, e.message))?;
                let di = u.di.clone();
                udi = Some(u);
                (ScanKind::ChinaDrugTrace, Vec::new(), di)
            }
            other => other,
        }
    };
    // Whole-message rules (repeats, `ex=` invalid pairs, `req=` associations) for GS1 data.
    // (Element strings had each value checked while parsing; Digital Link values were not.)
    if matches!(kind, ScanKind::Gs1 | ScanKind::DigitalLink) {
        let opts = gs1::ValidateOptions {
            values_checked: kind == ScanKind::Gs1,
            ..Default::default()
        };
        gs1::validate_ais_with(&ais, today, opts).map_err(|e| scan_err(e.code, offset, e.message))?;
    }

    let mut fields = ScanFields {
        code,
        hibc,
        udi,
        ..fields_from(&ais, today)
    };
    fill_from_identifiers(&mut fields);
    Ok(Scan {
        raw,
        symbology: symbology.map(str::to_owned),
        kind,
        ais,
        fields,
    })
}

fn is_symbology_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3 && b[0] == b']' && b[1].is_ascii_alphabetic() && b[2].is_ascii_digit()
}

/// `http://` or `https://`, all lower or all upper case, as the GS1 Syntax Engine tells a Digital
/// Link attempt from plain data; `HtTps://…` is plain data.
fn has_uri_scheme(data: &str) -> bool {
    ["http://", "https://", "HTTP://", "HTTPS://"]
        .iter()
        .any(|p| data.starts_with(p))
}

/// The non-GS1 UDI kinds told apart by their leading characters.
fn udi_kind(data: &str) -> Option<ScanKind> {
    match crate::udi::recognise(data) {
        Agency::NmpaMa => Some(ScanKind::NmpaMa),
        Agency::Iccbba => Some(ScanKind::Isbt128),
        Agency::IfaPpn => Some(ScanKind::IfaPpn),
        _ => None,
    }
}

/// China's drug traceability code: exactly 20 digits (see `domain::udi` for the layout assumed).
fn is_china_drug_trace(data: &str) -> bool {
    data.len() == 20 && data.bytes().all(|b| b.is_ascii_digit())
}

/// The HIBC device identifier: labeler code + product + unit of measure, as printed.
fn hibc_di(h: &Hibc) -> Option<String> {
    let (lic, product) = (h.lic.as_ref()?, h.product.as_ref()?);
    Some(format!(
        "+{lic}{product}{}",
        h.unit_of_measure.map(|u| u.to_string()).unwrap_or_default()
    ))
}

/// Lot, serial, expiry and quantity from an HIBC or non-GS1 UDI into the common fields.
fn fill_from_identifiers(f: &mut ScanFields) {
    if let Some(h) = &f.hibc {
        f.lot = f
            .lot
            .take()
            .or_else(|| h.lot.as_deref().and_then(|l| LotNo::new(l).ok()));
        f.serial = f
            .serial
            .take()
            .or_else(|| h.serial.as_deref().and_then(|s| SerialNo::new(s).ok()));
        f.expiry = f.expiry.or(h.expiry);
        f.production_date = f.production_date.or(h.manufacture_date);
        f.quantity = f.quantity.or(h.quantity.map(u64::from));
    }
    if let Some(u) = &f.udi {
        let pi = |name: &str| u.pi.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        f.lot = f.lot.take().or_else(|| pi("lot").and_then(|l| LotNo::new(l).ok()));
        f.serial = f
            .serial
            .take()
            .or_else(|| pi("serial").and_then(|s| SerialNo::new(s).ok()));
        let date = |v: &str| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
        f.expiry = f.expiry.or_else(|| pi("expiry").and_then(date));
        f.production_date = f.production_date.or_else(|| pi("manufacture_date").and_then(date));
    }
}

/// Replaces the textual GS escapes with GS.
fn resolve_escapes(s: &str) -> std::borrow::Cow<'_, str> {
    const ESCAPES: [&str; 4] = ["\\x1d", "\\u001d", "<gs>", "{gs}"];
    // Most scans carry no escape at all: no copy then.
    if !s.bytes().any(|b| matches!(b, b'\\' | b'<' | b'{')) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'outer: while let Some(c) = rest.chars().next() {
        if matches!(c, '\\' | '<' | '{') {
            for esc in ESCAPES {
                if rest.get(..esc.len()).is_some_and(|h| h.eq_ignore_ascii_case(esc)) {
                    out.push(GS);
                    rest = &rest[esc.len()..];
                    continue 'outer;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// Splits off a leading AIM symbology identifier. `Err` when the text starts with `]` but
/// no valid identifier follows.
fn split_symbology(text: &str) -> Result<Option<(&str, &str)>, ScanError> {
    let b = text.as_bytes();
    if b.first() != Some(&b']') {
        return Ok(None);
    }
    if b.len() >= 3 && b[1].is_ascii_alphabetic() && b[2].is_ascii_digit() {
        return Ok(Some((&text[..3], &text[3..])));
    }
    Err(scan_err(
        "unreadable",
        0,
        "The scan starts with ']' but has no valid symbology identifier",
    ))
}

/// What a classifier found: the kind, the AIs, and the text of a plain code.
type Classified = (ScanKind, Vec<(String, String)>, Option<String>);

/// `]E0` / `]E4`: a GTIN-13 / GTIN-8, optionally with a composite component `|]e0…`.
fn ean(sym: &str, data: &str, today: NaiveDate) -> Result<Classified, ScanError> {
    let (primary, composite) = match data.find("|]e0") {
        Some(i) => (&data[..i], Some((i + 4, &data[i + 4..]))),
        None => (data, None),
    };
    let (name, len) = if sym == "]E4" { ("EAN-8", 8) } else { ("EAN-13", 13) };
    if let Some((i, c)) = primary.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        let at = primary[..i].chars().count();
        return Err(scan_err(
            "bad_charset",
            at,
            format!(
                "{name} must be digits only; found '{}' at character {}",
                c.escape_default(),
                at + 1
            ),
        ));
    }
    if primary.len() != len {
        return Err(scan_err(
            "bad_length",
            primary.len(),
            format!("{name} must be {len} digits; '{primary}' has {}", primary.len()),
        ));
    }
    let gtin = Gtin::new(primary).map_err(|_| {
        let want = gs1_check_digit(&primary.as_bytes()[..len - 1]);
        scan_err(
            "bad_check_digit",
            len - 1,
            format!("{name} '{primary}' has a wrong check digit (expected {want})"),
        )
    })?;
    let mut ais = vec![("01".to_owned(), gtin.as_str().to_owned())];
    let Some((at, cc)) = composite else {
        return Ok((ScanKind::Gtin, ais, None));
    };
    let more = gs1::parse_element_string(cc, today).map_err(|mut e| {
        e.position += at;
        e
    })?;
    for (ai, v) in more {
        if let Some((_, prev)) = ais.iter().find(|(a, _)| *a == ai) {
            if *prev != v {
                return Err(scan_err(
                    "duplicate_ai",
                    at,
                    format!("AI ({ai}) appears twice with different values: '{prev}' and '{v}'"),
                ));
            }
            continue;
        }
        ais.push((ai, v));
    }
    Ok((ScanKind::Gs1, ais, None))
}

/// 8, 12, 13 or 14 digits with a valid check digit, as a 14-digit GTIN.
fn plain_gtin(data: &str) -> Option<String> {
    if matches!(data.len(), 8 | 12 | 13 | 14) && gs1_check_digit_ok(data) {
        Gtin::new(data).ok().map(|g| g.as_str().to_owned())
    } else {
        None
    }
}

/// Plain codes must be printable ASCII.
fn printable(data: &str) -> Result<(), ScanError> {
    match data.chars().enumerate().find(|(_, c)| !matches!(c, ' '..='~')) {
        None => Ok(()),
        Some((i, c)) => {
            let shown = if c == GS {
                "<GS>".to_owned()
            } else {
                c.escape_default().to_string()
            };
            Err(scan_err(
                "unreadable",
                i,
                format!(
                    "The scan is not a barcode this app can read: unexpected '{shown}' at character {}",
                    i + 1
                ),
            ))
        }
    }
}

/// Classifies a scan that came without a symbology identifier (see the module docs).
fn classify_unmarked(data: &str, today: NaiveDate) -> Result<Classified, ScanError> {
    if data.starts_with('(') {
        return Ok((ScanKind::Gs1, gs1::parse_bracketed(data, today)?, None));
    }
    if data.starts_with('^') {
        return Ok((ScanKind::Gs1, gs1::parse_unbracketed(data, today)?, None));
    }
    if data.bytes().all(|b| b.is_ascii_digit()) {
        if let Some(g) = plain_gtin(data) {
            return Ok((ScanKind::Gtin, vec![("01".to_owned(), g)], None));
        }
        if let Some(s) = (data.len() == 18).then(|| Sscc::new(data).ok()).flatten() {
            return Ok((ScanKind::Sscc, vec![("00".to_owned(), s.as_str().to_owned())], None));
        }
    }
    let mut raw_err = None;
    if data.starts_with(|c: char| c.is_ascii_digit() || c == GS) {
        match gs1::parse_element_string(data, today) {
            Ok(ais) if looks_like_element_string(data, &ais) => return Ok((ScanKind::Gs1, ais, None)),
            Ok(_) => {}
            Err(e) => raw_err = Some(e),
        }
    }
    // All digits, starting with a predefined-length AI such as (01) or (00): a GS1 element string
    // that failed its checks, not a plain code (a location label has letters or dashes).
    if let Some(e) = &raw_err {
        let fixed_ai = gs1::lookup_ai(data).is_some_and(|def| def.fixed_length);
        if fixed_ai && data.bytes().all(|b| b.is_ascii_digit()) {
            return Err(e.clone());
        }
    }
    match printable(data) {
        Ok(()) => Ok((ScanKind::Code, Vec::new(), Some(data.to_owned()))),
        Err(e) => Err(raw_err.unwrap_or(e)),
    }
}

/// Whether cleanly parsed unmarked data is plausibly GS1 rather than a plain code.
fn looks_like_element_string(data: &str, ais: &[(String, String)]) -> bool {
    data.contains(GS)
        || ais.len() >= 2
        || ais
            .first()
            .and_then(|(ai, _)| gs1::ai_def(ai))
            .is_some_and(|d| d.fixed_length)
}

/// Decodes the AIs the app uses. Values were validated while parsing; anything that still
/// fails to convert is left out rather than guessed.
fn fields_from(ais: &[(String, String)], today: NaiveDate) -> ScanFields {
    let get = |ai: &str| ais.iter().find(|(a, _)| a == ai).map(|(_, v)| v.as_str());
    let date = |ai: &str| get(ai).and_then(|v| parse_gs1_date(v, today, true).ok());
    let measures: Vec<Measure> = ais.iter().filter_map(|(ai, v)| measure(ai, v)).collect();
    ScanFields {
        gtin: get("01").and_then(|v| Gtin::new(v).ok()),
        lot: get("10").and_then(|v| LotNo::new(v).ok()),
        serial: get("21").and_then(|v| SerialNo::new(v).ok()),
        cpv: get("22").map(str::to_owned),
        variant: get("20").map(str::to_owned),
        expiry: date("17"),
        best_before: date("15"),
        sell_by: date("16"),
        pack_date: date("13"),
        production_date: date("11"),
        quantity: ais
            .iter()
            .find(|(a, _)| a == "30" || a == "37")
            .and_then(|(_, v)| v.parse().ok()),
        net_weight_kg: measures.iter().find(|m| m.ai.starts_with("310")).map(|m| m.value),
        measures,
        sscc: get("00").and_then(|v| Sscc::new(v).ok()),
        ship_to_gln: get("410").map(str::to_owned),
        location_gln: get("414").map(str::to_owned),
        nhrn: ais
            .iter()
            .filter(|(a, _)| ("710"..="717").contains(&a.as_str()) && a.len() == 3)
            .cloned()
            .collect(),
        code: None,
        hibc: None,
        udi: None,
    }
}

/// A variable measure (AIs 3100–3695 as the dictionary defines them), or `None` for other AIs.
fn measure(ai: &str, v: &str) -> Option<Measure> {
    let b = ai.as_bytes();
    if b.len() != 4 || !(b"31".as_slice()..=b"36".as_slice()).contains(&&b[..2]) {
        return None;
    }
    let def = gs1::ai_def(ai)?;
    let decimals = i32::from(b[3].checked_sub(b'0').filter(|d| *d <= 9)?);
    let raw: u64 = v.parse().ok()?;
    let title = def.title;
    let unit = match title.split_once('(') {
        _ if ai.starts_with("337") => "kg/m\u{b2}".to_owned(),
        Some((_, rest)) => rest.rsplit_once(')').map_or(rest, |(u, _)| u).to_owned(),
        None => String::new(),
    };
    Some(Measure {
        ai: ai.to_owned(),
        title: title.to_owned(),
        value: raw as f64 / 10f64.powi(decimals),
        unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date")
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    fn scan(input: &str) -> Result<Scan, ScanError> {
        parse_scan(input.as_bytes(), None, &ScanSettings::default(), today())
    }

    /// (input, Ok((kind, symbology, bracketed)) | Err((code, position)))
    type Case = (
        &'static str,
        Result<(ScanKind, Option<&'static str>, &'static str), (&'static str, usize)>,
    );

    #[test]
    fn scan_table() {
        use ScanKind::*;
        let cases: &[Case] = &[
            // Shared vectors gs1-01..08 (symbology ids, GS).
            (
                "]d2011231231231233310ABC123\u{1d}99TESTING",
                Ok((Gs1, Some("]d2"), "(01)12312312312333(10)ABC123(99)TESTING")),
            ),
            (
                "]C1011231231231233310ABC123\u{1d}99TESTING",
                Ok((Gs1, Some("]C1"), "(01)12312312312333(10)ABC123(99)TESTING")),
            ),
            (
                "]Q3011231231231233310ABC123\u{1d}99TESTING",
                Ok((Gs1, Some("]Q3"), "(01)12312312312333(10)ABC123(99)TESTING")),
            ),
            (
                "]e0011231231231233310ABC123\u{1d}1199122598TESTING\u{1d}97XYZ",
                Ok((
                    Gs1,
                    Some("]e0"),
                    "(01)12312312312333(10)ABC123(11)991225(98)TESTING(97)XYZ",
                )),
            ),
            (
                "]J10112312312312333235XYZ\u{1d}10ABC",
                Ok((Gs1, Some("]J1"), "(01)12312312312333(235)XYZ(10)ABC")),
            ),
            ("]E02112345678900", Ok((Gtin, Some("]E0"), "(01)02112345678900"))),
            ("]E02112345678901", Err(("bad_check_digit", 15))),
            ("]d2", Err(("empty", 3))),
            ("]C101123123123133^10ABC", Err(("bad_charset", 17))),
            // EAN-8, UPC-A as ]E0, composite, wrong lengths.
            ("]E402345673", Ok((Gtin, Some("]E4"), "(01)00000002345673"))),
            ("]E402345674", Err(("bad_check_digit", 10))),
            ("]E41234567", Err(("bad_length", 10))),
            ("]E00036000291452", Ok((Gtin, Some("]E0"), "(01)00036000291452"))),
            ("]E0123456789012", Err(("bad_length", 15))),
            ("]E01234ABC890123", Err(("bad_charset", 7))),
            (
                "]E02112345678900|]e099COMPOSITE\u{1d}98XYZ",
                Ok((Gs1, Some("]E0"), "(01)02112345678900(99)COMPOSITE(98)XYZ")),
            ),
            // Plain-data symbologies.
            ("]C0WH1-A-01-02", Ok((Code, Some("]C0"), ""))),
            ("]Q1TESTING", Ok((Code, Some("]Q1"), ""))),
            ("]Q1^TESTING", Ok((Code, Some("]Q1"), ""))),
            (
                "]d1https://example.com/01/12312312312333?99=TEST",
                Ok((DigitalLink, Some("]d1"), "(01)12312312312333(99)TEST")),
            ),
            (
                "https://id.gs1.org/01/09501101530003/10/AB-1?17=261130",
                Ok((DigitalLink, None, "(01)09501101530003(10)AB-1(17)261130")),
            ),
            ("+A123BJC5D6E71G", Ok((Hibc, None, ""))),
            ("MA.156.M0.100001.0012345.L240601.E261231", Ok((NmpaMa, None, ""))),
            ("81234560000000012345", Ok((ChinaDrugTrace, None, ""))),
            ("]A09501101530003", Ok((Gtin, Some("]A0"), "(01)09501101530003"))),
            ("]C09501101530004", Ok((Code, Some("]C0"), ""))),
            ("]Q1", Err(("empty", 3))),
            ("]d1A\u{1d}B", Err(("unreadable", 4))),
            ("]X", Err(("unreadable", 0))),
            ("]", Err(("unreadable", 0))),
            // No symbology: plain GTIN-8/12/13/14 and SSCC.
            ("96385074", Ok((Gtin, None, "(01)00000096385074"))),
            ("036000291452", Ok((Gtin, None, "(01)00036000291452"))),
            ("9501101530003", Ok((Gtin, None, "(01)09501101530003"))),
            ("09501101530003", Ok((Gtin, None, "(01)09501101530003"))),
            ("106141411234567897", Ok((Sscc, None, "(00)106141411234567897"))),
            ("9501101530004", Ok((Code, None, ""))),
            // No symbology: bracketed, unbracketed, raw.
            (
                "(01)09501101530003(17)261130(10)ABC",
                Ok((Gs1, None, "(01)09501101530003(17)261130(10)ABC")),
            ),
            (
                "(01)09501101530003(10)AB\\(C",
                Ok((Gs1, None, "(01)09501101530003(10)AB\\(C")),
            ),
            ("^0109501101530003^10ABC", Ok((Gs1, None, "(01)09501101530003(10)ABC"))),
            (
                "010703206980498815210526100329",
                Ok((Gs1, None, "(01)07032069804988(15)210526(10)0329")),
            ),
            (
                "0107032069804988100329\u{1d}15210526",
                Ok((Gs1, None, "(01)07032069804988(10)0329(15)210526")),
            ),
            (
                "(02)12345678901231(37)123(00)123456789012345675",
                Ok((Gs1, None, "(02)12345678901231(37)123(00)123456789012345675")),
            ),
            ("(17)261131", Err(("bad_date", 4))),
            ("(01)12345678901231(10)A(10)B", Err(("duplicate_ai", 23))),
            ("0112345678901234\u{1d}10A", Err(("bad_check_digit", 15))),
            // Short or code-like data stays a plain code.
            ("10ABC", Ok((Code, None, ""))),
            ("21-A-03", Ok((Code, None, ""))),
            ("WH1-A-01-02", Ok((Code, None, ""))),
            ("ABC", Ok((Code, None, ""))),
            ("0112345678901234", Err(("bad_check_digit", 15))),
            // Escapes: every textual form of GS, and trimming.
            (
                "]d20109501101530003\\x1d10ABC",
                Ok((Gs1, Some("]d2"), "(01)09501101530003(10)ABC")),
            ),
            (
                "10ABC\\u001d0109501101530003",
                Ok((Gs1, None, "(10)ABC(01)09501101530003")),
            ),
            (
                "10ABC<GS>0109501101530003",
                Ok((Gs1, None, "(10)ABC(01)09501101530003")),
            ),
            (
                "10ABC{gs}0109501101530003",
                Ok((Gs1, None, "(10)ABC(01)09501101530003")),
            ),
            (
                "10ABC\u{1d}0109501101530003\r\n",
                Ok((Gs1, None, "(10)ABC(01)09501101530003")),
            ),
            (
                "  ]C10109501101530003\\X1D10ABC\n",
                Ok((Gs1, Some("]C1"), "(01)09501101530003(10)ABC")),
            ),
            // Empty, garbage.
            ("", Err(("empty", 0))),
            (" \r\n\t", Err(("empty", 0))),
            ("\u{7}\u{1}~", Err(("unreadable", 0))),
            ("Lot 5 \u{2013} blue", Err(("unreadable", 6))),
        ];
        for (input, want) in cases {
            match (scan(input), want) {
                (Ok(s), Ok((kind, sym, br))) => {
                    assert_eq!(
                        (s.kind, s.symbology.as_deref(), s.bracketed().as_str()),
                        (*kind, *sym, *br),
                        "{input:?}"
                    );
                }
                (Err(e), Err((code, pos))) => assert_eq!((e.code, e.position), (*code, *pos), "{input:?}: {e}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn fields_are_decoded() {
        let s = scan("]d20109501101530003172611001 0L2311-A\u{1d}21SN-0001").unwrap_err();
        assert_eq!(s.code, "unknown_ai");
        let s = scan("]d2010950110153000317261100\u{1d}10L2311-A\u{1d}21SN-0001").expect("valid");
        assert_eq!(s.fields.gtin.as_ref().map(Gtin::as_str), Some("09501101530003"));
        assert_eq!(
            s.fields.expiry,
            Some(d(2026, 11, 30)),
            "day 00 is the last day of the month"
        );
        assert_eq!(s.fields.lot.as_ref().map(LotNo::as_str), Some("L2311-A"));
        assert_eq!(s.fields.serial.as_ref().map(SerialNo::as_str), Some("SN-0001"));
        assert_eq!(s.raw, "]d2010950110153000317261100<GS>10L2311-A<GS>21SN-0001");
        assert_eq!(s.kind.as_str(), "gs1");

        let s = scan("(00)106141411234567897(02)09501101530003(37)24(15)270300(11)260115(10)B1").expect("valid");
        assert_eq!(s.fields.sscc.as_ref().map(Sscc::as_str), Some("106141411234567897"));
        assert_eq!(
            s.fields.gtin, None,
            "(02) is the content GTIN, not the GTIN of the labelled unit"
        );
        assert_eq!(s.fields.quantity, Some(24));
        assert_eq!(s.fields.best_before, Some(d(2027, 3, 31)));
        assert_eq!(s.fields.production_date, Some(d(2026, 1, 15)));
        assert_eq!(s.fields.expiry, None);

        let s = scan("(01)09501101530003(30)1500").expect("valid");
        assert_eq!(s.fields.quantity, Some(1500));

        let s = scan("96385074").expect("valid");
        assert_eq!(
            (s.kind.as_str(), s.ais.clone()),
            ("gtin", vec![("01".to_owned(), "00000096385074".to_owned())])
        );
        assert_eq!(s.fields.gtin.as_ref().map(Gtin::as_str), Some("00000096385074"));

        let s = scan("106141411234567897").expect("valid");
        assert_eq!(s.kind.as_str(), "sscc");
        assert_eq!(s.fields.sscc.as_ref().map(Sscc::as_str), Some("106141411234567897"));

        let s = scan(" wh1-a-01-02 ").expect("valid");
        assert_eq!(
            (s.kind.as_str(), s.fields.code.as_deref(), s.bracketed()),
            ("code", Some("wh1-a-01-02"), String::new())
        );
    }

    #[test]
    fn more_fields_are_decoded() {
        let s = scan(
            "(01)09501101530003(22)CPV-1(20)07(13)260100(16)261215(3103)001250(3302)012345\
             (410)9501101530010(414)9501101530027(712)CN1(716)AIC9(3922)1299",
        );
        let s = s.expect("valid");
        let f = &s.fields;
        assert_eq!((f.cpv.as_deref(), f.variant.as_deref()), (Some("CPV-1"), Some("07")));
        assert_eq!((f.pack_date, f.sell_by), (Some(d(2026, 1, 31)), Some(d(2026, 12, 15))));
        assert_eq!(f.net_weight_kg, Some(1.25));
        let m: Vec<(&str, f64, &str)> = f
            .measures
            .iter()
            .map(|m| (m.ai.as_str(), m.value, m.unit.as_str()))
            .collect();
        assert_eq!(m, vec![("3103", 1.25, "kg"), ("3302", 123.45, "kg")]);
        assert_eq!(f.measures[1].title, "GROSS WEIGHT (kg)");
        assert_eq!(
            (f.ship_to_gln.as_deref(), f.location_gln.as_deref()),
            (Some("9501101530010"), Some("9501101530027"))
        );
        assert_eq!(
            f.nhrn,
            vec![
                ("712".to_owned(), "CN1".to_owned()),
                ("716".to_owned(), "AIC9".to_owned())
            ]
        );
        let by_title = s.by_title();
        assert_eq!(by_title.len(), s.ais.len());
        assert_eq!(by_title[0], ("GTIN".to_owned(), "09501101530003".to_owned()));
        assert_eq!(by_title.last(), Some(&("PRICE".to_owned(), "1299".to_owned())));

        // Measures: units from titles, decimals from the last AI digit.
        let cases: &[(&str, &str, f64, &str)] = &[
            ("3100", "000042", 42.0, "kg"),
            ("3155", "123456", 1.23456, "l"),
            ("3140", "000005", 5.0, "m\u{b2}"),
            ("3372", "000150", 1.5, "kg/m\u{b2}"),
            ("3612", "000333", 3.33, "gal."),
            ("3621", "000010", 1.0, "qt (US)"),
        ];
        for (ai, v, value, unit) in cases {
            let m = measure(ai, v).expect("a measure");
            assert_eq!((m.value, m.unit.as_str()), (*value, *unit), "{ai}");
        }
        for (ai, v) in [("3106", "000001"), ("3900", "12"), ("37", "5"), ("3103", "00x000")] {
            assert_eq!(measure(ai, v), None, "{ai}");
        }
        let s = scan("(8110)0123456123456111101239").map_err(|e| e.code);
        assert_eq!(s, Err("bad_value"));
        let s = scan("(01)09501101530003(91)X").expect("valid");
        assert_eq!(s.by_title()[1], ("INTERNAL".to_owned(), "X".to_owned()));
        assert_eq!((s.fields.net_weight_kg, s.fields.measures.len()), (None, 0));
    }

    #[test]
    fn lot_with_parenthesis_round_trips() {
        let s = scan("]d20109501101530003\u{1d}10A(1)B").expect("valid");
        assert_eq!(s.fields.lot.as_ref().map(LotNo::as_str), Some("A(1)B"));
        assert_eq!(s.bracketed(), "(01)09501101530003(10)A\\(1)B");
        let again = scan(&s.bracketed()).expect("bracketed form parses back");
        assert_eq!(again.ais, s.ais);
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        for (bytes, pos) in [(&b"01\xff\xfe"[..], 2), (&b"\xc3"[..], 0), (&b"]d2\x80"[..], 3)] {
            let e = parse_scan(bytes, None, &ScanSettings::default(), today()).unwrap_err();
            assert_eq!((e.code, e.position), ("not_utf8", pos), "{bytes:?}");
        }
    }

    #[test]
    fn error_messages_read_well() {
        let e = scan("]d20109501101530003\u{1d}17261131").unwrap_err();
        assert_eq!(e.message, "AI (17) expiry date '261131' is not a calendar date");
        assert_eq!(
            e.to_string(),
            "AI (17) expiry date '261131' is not a calendar date (at 22)"
        );
        let e = scan("]E02112345678901").unwrap_err();
        assert_eq!(e.message, "EAN-13 '2112345678901' has a wrong check digit (expected 0)");
        let e = scan("").unwrap_err();
        assert_eq!(e.message, "The scan is empty");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic fuzz over awkward bytes.
        let alphabet: &[u8] = b"0123456789()^]\\<>{}GSgsx1dEeCQ\x1d\xff\xc3\xa9 |AZ";
        let mut state = 0x2545_f491_u32;
        for _ in 0..20_000 {
            let len = (state % 24) as usize;
            let mut input = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                input.push(alphabet[(state as usize) % alphabet.len()]);
            }
            let _ = parse_scan(&input, None, &ScanSettings::default(), today());
        }
    }
}
