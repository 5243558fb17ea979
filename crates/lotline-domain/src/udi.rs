//! UDI issuing agencies: which agency's format a scan carries ([`recognise`]) and its device identifier (DI) and
//! production identifiers (PI) for the formats not handled by the GS1 parser ([`parse_udi`]).
//!
//! Pure: no I/O, no clock; `today` resolves two-digit years (GS1 window, see [`parse_gs1_date`]).
//! The caller strips the symbology identifier and the GS escapes first (as `scan.rs` does); GS is U+001D.
//!
//! # Recognition ([`recognise`]), first match wins
//!
//! 1. `+` → [`Agency::Hibcc`] (HIBC LIC, see [`super::hibc`]);
//! 2. `MA.` → [`Agency::NmpaMa`] (China MA / IDcode UDI);
//! 3. `[)>` (RS) `06` GS with a `9N` field → [`Agency::IfaPpn`] (ISO/IEC 15434 format 06, IFA PPN);
//!    `[)>` (RS) `05` GS → [`Agency::Gs1`] (format 05 carries GS1 AIs); other `[)>` data → unknown;
//! 4. `=` or `&`, then a printable character, 3+ characters → [`Agency::Iccbba`] (ISBT 128 data identifier);
//! 5. `(` 2–4 digits `)` (bracketed element string), GS, `^`, or `]C1 ]d2 ]Q3 ]e0 ]J1` → [`Agency::Gs1`];
//! 6. `http://` or `https://` with a Digital Link primary-key path (`/01/…`, `/00/…`, `/414/…`, …) → GS1;
//! 7. exactly 20 digits that are not a keyed GS1 string (below) → [`Agency::ChinaDrugTrace`];
//! 8. digits: a GTIN-8/12/13/14 or SSCC with a valid check digit; `00` + SSCC or `01`/`02` + GTIN-14 with a
//!    valid check digit ("keyed"); `11`–`17` + 6 digits (a dated first AI); or any GS inside → GS1;
//! 9. anything else → [`Agency::Unknown`].
//!
//! `Gs1` means "hand it to the GS1 parser": [`parse_udi`] returns only the agency and the raw data for it.
//!
//! # Layouts assumed
//!
//! * **HIBCC**: DI = LIC + PCN + unit of measure (no `+`, no check character); PI from the secondary.
//! * **ICCBBA ISBT 128**: DI = the data content of the Processor Product Identification Code (`=/`, data
//!   structure 034, the UDI-DI for MPHO devices) up to the next `=`/`&` data identifier, else of the Product
//!   Code (`=<`, data structure 003, 8 characters αooootds). PI = everything else, unparsed, as `raw`.
//! * **IFA PPN** (Germany, securPharm): `[)>` RS `06` GS, then GS-separated fields, then RS EOT (both optional
//!   at the end). `9N` PPN (required): 2-character product registration agency code + product number +
//!   2 check digits, mod 97 over the ASCII codes with weights 2, 3, 4, … ([`ppn_check_digits`]); with agency
//!   code `11` and 12 characters the 8-digit PZN inside is checked too (mod 11, weights 1–7). `1T` lot,
//!   `D` expiry YYMMDD (day `00` = month end), `S` serial, `16D` date of manufacture YYYYMMDD; other data
//!   identifiers are kept under their own name (e.g. `8P`).
//! * **China MA code** (NMPA UDI issued under the MA / IDcode system, ISO/IEC 15459 issuing agency `MA`):
//!   dot-separated `MA.156.M0.<registrant>.<product>[.<PI>…]` — `MA`; country code, 3 digits (156 China);
//!   industry code, 2 letters/digits (`M0` medical devices); registrant/issuer code, digits; product code
//!   (its last character is the MA check character, not validated: the algorithm is not public). DI = those
//!   five parts joined by `.`. Each further part is one PI: a letter then the value — `L` lot, `S` serial,
//!   `E` expiry YYMMDD, `M` or `P` date of manufacture YYMMDD, `D` sterilisation lot (`sterilisation_lot`),
//!   `C` the PI check character (dropped), any other letter kept under that letter (e.g. `V`). A `.` inside
//!   a lot or serial cannot be told apart from a separator.
//! * **China drug traceability code** (药品追溯码, the 20-digit code of the former drug electronic
//!   supervision system, now 码上放心 and other code issuers): 20 ASCII digits = 7-digit product identification
//!   code (assigned by the code issuer; it identifies product and package) + 9-digit serial + 4-digit check
//!   code. DI = the first 7 digits; PI `serial` = the remaining 13 (serial and check code together, as the
//!   issuer verifies them). Only "20 digits" is validated: the check code's algorithm is not published, and
//!   although codes seen in practice start with `8`, that is not enforced. A 20-digit string that is also a
//!   GS1 string starting `00`/`01`/`02` with a valid check digit is read as GS1.
//!
//! # Errors
//!
//! [`UdiError::code`]: `empty`, `unknown_agency`, `bad_character`, `bad_format`, `bad_check`, `bad_date`,
//! `duplicate_field`, or any [`super::hibc::HibcError`] code for HIBCC data; [`UdiError::position`] is the
//! 0-based character offset of the fault.

use chrono::NaiveDate;

use super::hibc::{self, HibcError};
use super::ids::{gs1_check_digit_ok, parse_gs1_date};

/// The issuing agency whose format a scan carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agency {
    Gs1,
    Hibcc,
    Iccbba,
    IfaPpn,
    NmpaMa,
    ChinaDrugTrace,
    Unknown,
}

impl Agency {
    /// Stable snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Agency::Gs1 => "gs1",
            Agency::Hibcc => "hibcc",
            Agency::Iccbba => "iccbba",
            Agency::IfaPpn => "ifa_ppn",
            Agency::NmpaMa => "nmpa_ma",
            Agency::ChinaDrugTrace => "china_drug_trace",
            Agency::Unknown => "unknown",
        }
    }
}

/// A UDI read from one scan. Dates in `pi` are ISO `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udi {
    pub agency: Agency,
    /// The device identifier, when the format has one and it is present.
    pub di: Option<String>,
    /// Production identifiers by name, in the order they appear: `lot`, `serial`, `expiry`,
    /// `manufacture_date`, and format-specific extras (see the module documentation).
    pub pi: Vec<(String, String)>,
    /// The data as given.
    pub raw: String,
}

/// Why UDI data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct UdiError {
    pub code: &'static str,
    pub message: String,
    pub position: usize,
}

impl From<HibcError> for UdiError {
    fn from(e: HibcError) -> Self {
        UdiError {
            code: e.code,
            message: e.message,
            position: e.position,
        }
    }
}

fn err(code: &'static str, position: usize, message: impl Into<String>) -> UdiError {
    UdiError {
        code,
        message: message.into(),
        position,
    }
}

const GS: char = '\u{1d}';
const RS: char = '\u{1e}';
const EOT: char = '\u{4}';

/// Digital Link primary keys (GS1 Digital Link standard, path `/{key}/{value}`).
const DL_KEYS: &[&str] = &[
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8013", "8017", "8018",
];

/// Which agency's format `data` carries. Cheap: looks at the start and the shape, parses nothing fully.
pub fn recognise(data: &str) -> Agency {
    let b = data.as_bytes();
    let Some(&first) = b.first() else {
        return Agency::Unknown;
    };
    if first == b'+' {
        return Agency::Hibcc;
    }
    if data.starts_with("MA.") {
        return Agency::NmpaMa;
    }
    if let Some(rest) = data.strip_prefix("[)>") {
        let rest = rest.strip_prefix(RS).unwrap_or(rest);
        if rest.starts_with(&format!("05{GS}")) {
            return Agency::Gs1;
        }
        if let Some(fields) = rest.strip_prefix(&format!("06{GS}"))
            && fields.split([GS, RS]).any(|f| f.starts_with("9N"))
        {
            return Agency::IfaPpn;
        }
        return Agency::Unknown;
    }
    if (first == b'=' || first == b'&') && b.len() >= 3 && b[1].is_ascii_graphic() {
        return Agency::Iccbba;
    }
    if first == b'(' {
        let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        return if (2..=4).contains(&digits) && b.get(1 + digits) == Some(&b')') {
            Agency::Gs1
        } else {
            Agency::Unknown
        };
    }
    if first == 0x1d || first == b'^' || ["]C1", "]d2", "]Q3", "]e0", "]J1"].iter().any(|s| data.starts_with(s)) {
        return Agency::Gs1;
    }
    let lower = data.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return if is_digital_link(data) {
            Agency::Gs1
        } else {
            Agency::Unknown
        };
    }
    if !first.is_ascii_digit() {
        return Agency::Unknown;
    }
    let all_digits = b.iter().all(u8::is_ascii_digit);
    let keyed = gs1_keyed(data);
    if all_digits && b.len() == 20 && !keyed {
        return Agency::ChinaDrugTrace;
    }
    if all_digits && matches!(b.len(), 8 | 12 | 13 | 14 | 18) && gs1_check_digit_ok(data) {
        return Agency::Gs1;
    }
    let dated = matches!(data.get(..2), Some("11" | "12" | "13" | "15" | "16" | "17"))
        && b.len() >= 8
        && b[2..8].iter().all(u8::is_ascii_digit);
    if keyed || dated || data.contains(GS) {
        return Agency::Gs1;
    }
    Agency::Unknown
}

/// Starts with AI `00` + a valid SSCC or `01`/`02` + a valid GTIN-14.
fn gs1_keyed(data: &str) -> bool {
    let key = |len: usize| data.get(2..2 + len).is_some_and(gs1_check_digit_ok);
    match data.get(..2) {
        Some("00") => key(18),
        Some("01" | "02") => key(14),
        _ => false,
    }
}

fn is_digital_link(url: &str) -> bool {
    let Some(after) = url.split_once("://").map(|(_, a)| a) else {
        return false;
    };
    let path = after.split(['?', '#']).next().unwrap_or("");
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    segs.windows(2)
        .any(|w| DL_KEYS.contains(&w[0]) && !w[1].is_empty() && w[1].bytes().all(|c| c.is_ascii_alphanumeric()))
}

/// Reads `data` as a UDI of the agency [`recognise`] finds. GS1 data is not parsed here: for [`Agency::Gs1`]
/// the result holds only the agency and `raw`.
pub fn parse_udi(data: &str, today: NaiveDate) -> Result<Udi, UdiError> {
    if data.is_empty() {
        return Err(err("empty", 0, "no data"));
    }
    let agency = recognise(data);
    let mut udi = Udi {
        agency,
        di: None,
        pi: Vec::new(),
        raw: data.to_owned(),
    };
    match agency {
        Agency::Gs1 => {}
        Agency::Unknown => {
            return Err(err(
                "unknown_agency",
                0,
                "not a UDI format known here \
                 (GS1, HIBCC, ISBT 128, IFA PPN, China MA code, China drug traceability code)",
            ));
        }
        Agency::Hibcc => {
            let h = hibc::parse_hibc(data, today)?;
            udi.di = h.di();
            let pi = &mut udi.pi;
            if let Some(v) = h.lot {
                pi.push(("lot".into(), v));
            }
            if let Some(v) = h.serial {
                pi.push(("serial".into(), v));
            }
            if let Some(v) = h.expiry {
                pi.push(("expiry".into(), iso(v)));
            }
            if let Some(v) = h.manufacture_date {
                pi.push(("manufacture_date".into(), iso(v)));
            }
        }
        Agency::Iccbba => {
            ascii_only(data, &[])?;
            parse_isbt(data, &mut udi)?;
        }
        Agency::IfaPpn => {
            ascii_only(data, &[GS, RS, EOT])?;
            parse_ifa(data, today, &mut udi)?;
        }
        Agency::NmpaMa => {
            ascii_only(data, &[])?;
            parse_ma(data, today, &mut udi)?;
        }
        Agency::ChinaDrugTrace => {
            // recognise() checked: exactly 20 ASCII digits.
            udi.di = Some(data[..7].to_owned());
            udi.pi.push(("serial".into(), data[7..].to_owned()));
        }
    }
    Ok(udi)
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Printable ASCII plus the `allowed` control characters; afterwards byte offsets are character offsets.
fn ascii_only(data: &str, allowed: &[char]) -> Result<(), UdiError> {
    match data
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_graphic() || *c == ' ' || allowed.contains(c)))
    {
        Some((i, c)) => Err(err(
            "bad_character",
            i,
            format!("'{}' is not allowed here", c.escape_default()),
        )),
        None => Ok(()),
    }
}

fn push_unique(pi: &mut Vec<(String, String)>, name: &str, value: String, pos: usize) -> Result<(), UdiError> {
    if pi.iter().any(|(n, _)| n == name) {
        return Err(err("duplicate_field", pos, format!("{name} is given twice")));
    }
    pi.push((name.to_owned(), value));
    Ok(())
}

fn parse_isbt(data: &str, udi: &mut Udi) -> Result<(), UdiError> {
    // Data content ends at the next data identifier's first character.
    let content_end = |from: usize| data[from..].find(['=', '&']).map_or(data.len(), |k| from + k);
    let (start, end) = if let Some(k) = data.find("=/") {
        let end = content_end(k + 2);
        if end == k + 2 {
            return Err(err(
                "bad_format",
                k + 2,
                "the processor product identification code (=/) is empty",
            ));
        }
        (k, end)
    } else if let Some(k) = data.find("=<") {
        let code = data
            .get(k + 2..k + 10)
            .filter(|c| c.bytes().all(|b| b.is_ascii_alphanumeric()));
        if code.is_none() {
            return Err(err(
                "bad_format",
                k + 2,
                "the product code (=<) is 8 letters and digits",
            ));
        }
        (k, k + 10)
    } else {
        (0, 0)
    };
    if end > start {
        udi.di = Some(data[start + 2..end].to_owned());
    }
    let rest = format!("{}{}", &data[..start], &data[end..]);
    if !rest.is_empty() {
        udi.pi.push(("raw".into(), rest));
    }
    Ok(())
}

/// The two PPN check digits of `body` (agency code + product number): the ASCII codes weighted 2, 3, 4, …,
/// summed, modulo 97, as two digits. `None` if `body` is not ASCII letters and digits.
pub fn ppn_check_digits(body: &str) -> Option<String> {
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let sum: u64 = body.bytes().zip(2u64..).map(|(b, w)| u64::from(b) * w).sum();
    Some(format!("{:02}", sum % 97))
}

fn pzn_ok(pzn: &str) -> bool {
    let b = pzn.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..7].iter().zip(1u32..).map(|(d, w)| u32::from(d - b'0') * w).sum();
    sum % 11 == u32::from(b[7] - b'0')
}

fn parse_ifa(data: &str, today: NaiveDate, udi: &mut Udi) -> Result<(), UdiError> {
    let mut at = 3; // after "[)>"
    if data[at..].starts_with(RS) {
        at += 1;
    }
    at += 3; // "06" GS, checked by recognise()
    let body = data[at..].trim_end_matches([EOT, RS]);
    for field in body.split(GS) {
        let di_len = field.bytes().take_while(u8::is_ascii_digit).count() + 1;
        let (di, value) = match (field.get(..di_len), field.get(di_len..)) {
            (Some(di), Some(v)) if di.bytes().last().is_some_and(|b| b.is_ascii_uppercase()) => (di, v),
            _ => {
                return Err(err(
                    "bad_format",
                    at,
                    format!("'{field}' does not start with a data identifier"),
                ));
            }
        };
        let vpos = at + di_len;
        if value.is_empty() {
            return Err(err("bad_format", vpos, format!("{di} is empty")));
        }
        match di {
            "9N" => {
                if udi.di.is_some() {
                    return Err(err("duplicate_field", at, "the PPN (9N) is given twice"));
                }
                let n = value.len();
                if !(4..=24).contains(&n) || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(err("bad_format", vpos, "a PPN is 4 to 24 letters and digits"));
                }
                let want = ppn_check_digits(&value[..n - 2]).unwrap_or_default();
                if value[n - 2..] != want {
                    return Err(err(
                        "bad_check",
                        vpos + n - 2,
                        format!("PPN check digits are '{}', expected '{want}'", &value[n - 2..]),
                    ));
                }
                if value.starts_with("11") && n == 12 && !pzn_ok(&value[2..10]) {
                    return Err(err(
                        "bad_check",
                        vpos + 9,
                        format!("PZN {} has a wrong check digit", &value[2..10]),
                    ));
                }
                udi.di = Some(value.to_owned());
            }
            "1T" => push_unique(&mut udi.pi, "lot", value.to_owned(), at)?,
            "S" => push_unique(&mut udi.pi, "serial", value.to_owned(), at)?,
            "D" => {
                let d = parse_gs1_date(value, today, true)
                    .map_err(|e| err("bad_date", vpos, format!("expiry (D): {}", e.why)))?;
                push_unique(&mut udi.pi, "expiry", iso(d), at)?;
            }
            "16D" => {
                let d =
                    yyyymmdd(value).ok_or_else(|| err("bad_date", vpos, "date of manufacture (16D) is YYYYMMDD"))?;
                push_unique(&mut udi.pi, "manufacture_date", iso(d), at)?;
            }
            other => push_unique(&mut udi.pi, other, value.to_owned(), at)?,
        }
        at += field.len() + 1;
    }
    if udi.di.is_none() {
        return Err(err("bad_format", data.len(), "no PPN (9N) field"));
    }
    Ok(())
}

fn yyyymmdd(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    NaiveDate::from_ymd_opt(n(0..4)? as i32, n(4..6)?, n(6..8)?)
}

fn parse_ma(data: &str, today: NaiveDate, udi: &mut Udi) -> Result<(), UdiError> {
    let parts: Vec<&str> = data.split('.').collect();
    let mut starts = Vec::with_capacity(parts.len());
    let mut at = 0;
    for p in &parts {
        starts.push(at);
        at += p.len() + 1;
    }
    if parts.len() < 5 {
        return Err(err(
            "bad_format",
            data.len(),
            "an MA code has at least MA.<country>.<industry>.<registrant>.<product>",
        ));
    }
    let ok = |i: usize, good: bool, what: &str| {
        if good {
            Ok(())
        } else {
            Err(err("bad_format", starts[i], what.to_owned()))
        }
    };
    ok(
        1,
        parts[1].len() == 3 && parts[1].bytes().all(|b| b.is_ascii_digit()),
        "the country code is 3 digits",
    )?;
    ok(
        2,
        parts[2].len() == 2 && parts[2].bytes().all(|b| b.is_ascii_alphanumeric()),
        "the industry code is 2 characters",
    )?;
    ok(
        3,
        !parts[3].is_empty() && parts[3].bytes().all(|b| b.is_ascii_digit()),
        "the registrant code is digits",
    )?;
    ok(
        4,
        !parts[4].is_empty() && parts[4].bytes().all(|b| b.is_ascii_alphanumeric()),
        "the product code is letters and digits",
    )?;
    udi.di = Some(parts[..5].join("."));
    for (i, p) in parts.iter().enumerate().skip(5) {
        let pos = starts[i];
        let mut chars = p.chars();
        let key = chars.next().filter(char::is_ascii_alphabetic);
        let value = chars.as_str();
        let Some(key) = key else {
            return Err(err(
                "bad_format",
                pos,
                "each production identifier starts with a letter",
            ));
        };
        if value.is_empty() {
            return Err(err(
                "bad_format",
                pos + 1,
                format!("production identifier '{key}' is empty"),
            ));
        }
        let date = |what: &str| -> Result<String, UdiError> {
            let d = if value.len() == 8 {
                yyyymmdd(value)
            } else {
                parse_gs1_date(value, today, false).ok()
            };
            d.map(iso)
                .ok_or_else(|| err("bad_date", pos + 1, format!("{what} '{value}' is not a YYMMDD date")))
        };
        match key {
            'L' => push_unique(&mut udi.pi, "lot", value.to_owned(), pos)?,
            'S' => push_unique(&mut udi.pi, "serial", value.to_owned(), pos)?,
            'E' => push_unique(&mut udi.pi, "expiry", date("expiry (E)")?, pos)?,
            'M' | 'P' => push_unique(&mut udi.pi, "manufacture_date", date("date of manufacture")?, pos)?,
            'D' => push_unique(&mut udi.pi, "sterilisation_lot", value.to_owned(), pos)?,
            'C' => {}
            other => push_unique(&mut udi.pi, &other.to_string(), value.to_owned(), pos)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).expect("date")
    }

    fn ifa(fields: &[&str]) -> String {
        format!("[)>{RS}06{GS}{}{RS}{EOT}", fields.join(&GS.to_string()))
    }

    #[test]
    fn recognise_table() {
        let gs = GS.to_string();
        let cases: Vec<(String, Agency)> = vec![
            ("+A123BJC5D6E71G".into(), Agency::Hibcc),
            ("+$$52001510X3GD".into(), Agency::Hibcc),
            ("(01)09501101530003(17)261130(10)ABC".into(), Agency::Gs1),
            ("(8004)123".into(), Agency::Gs1),
            ("(1)12".into(), Agency::Unknown),
            ("0109501101530003".into(), Agency::Gs1),
            (format!("010950110153000310ABC{gs}17261130"), Agency::Gs1),
            ("01095011015300031012".into(), Agency::Gs1), // 20 digits, but GTIN-keyed GS1
            ("17261130".into(), Agency::Gs1),
            ("1726113010ABC".into(), Agency::Gs1),
            ("09501101530003".into(), Agency::Gs1),
            ("9501101530003".into(), Agency::Gs1),
            ("106141411234567897".into(), Agency::Gs1),
            ("00106141411234567897".into(), Agency::Gs1),
            ("9501101530004".into(), Agency::Unknown),
            ("12345".into(), Agency::Unknown),
            (format!("{gs}0109501101530003"), Agency::Gs1),
            ("^0109501101530003".into(), Agency::Gs1),
            ("]d20109501101530003".into(), Agency::Gs1),
            (
                "https://id.gs1.org/01/09506000134352/10/ABC?17=261130".into(),
                Agency::Gs1,
            ),
            ("HTTPS://example.com/shop/01/09506000134352".into(), Agency::Gs1),
            ("https://example.com/01/".into(), Agency::Unknown),
            ("https://example.com/products/42".into(), Agency::Unknown),
            ("=/A9999XYZ100T0474".into(), Agency::Iccbba),
            ("=<E0224V00".into(), Agency::Iccbba),
            ("=A99971712345600".into(), Agency::Iccbba),
            ("&>0261301159".into(), Agency::Iccbba),
            ("=".into(), Agency::Unknown),
            ("= x".into(), Agency::Unknown),
            (
                ifa(&["9N110375286414", "1T12345ABCD", "D150600", "S12345ABCDEF98765"]),
                Agency::IfaPpn,
            ),
            (format!("[)>06{gs}9N110375286414"), Agency::IfaPpn),
            (format!("[)>{RS}06{gs}25PXYZ"), Agency::Unknown),
            (format!("[)>{RS}05{gs}0109501101530003"), Agency::Gs1),
            ("[)>".into(), Agency::Unknown),
            (
                "MA.156.M0.100761.21234561.Sx00008.M220117.L20220117.E220130.C3".into(),
                Agency::NmpaMa,
            ),
            ("81234567890123456789".into(), Agency::ChinaDrugTrace),
            ("31234567890123456789".into(), Agency::ChinaDrugTrace),
            ("8123456789012345678".into(), Agency::Unknown),
            ("812345678901234567890".into(), Agency::Unknown),
            ("WH1-A-01".into(), Agency::Unknown),
            ("".into(), Agency::Unknown),
            ("中文".into(), Agency::Unknown),
        ];
        for (input, want) in cases {
            assert_eq!(recognise(&input), want, "{input:?}");
        }
    }

    fn pi(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn parse_table() {
        type Case = (String, Agency, Option<&'static str>, Vec<(String, String)>);
        let cases: Vec<Case> = vec![
            (
                "+A99912345/$$52025010X3/16D20111212/S77DEFG458".into(),
                Agency::Hibcc,
                Some("A99912345"),
                pi(&[
                    ("lot", "10X3"),
                    ("serial", "77DEFG45"),
                    ("expiry", "2020-09-06"),
                    ("manufacture_date", "2011-12-12"),
                ]),
            ),
            ("+A123BJC5D6E71G".into(), Agency::Hibcc, Some("A123BJC5D6E71"), vec![]),
            (
                "+$$52001510X3GD".into(),
                Agency::Hibcc,
                None,
                pi(&[("lot", "10X3"), ("expiry", "2020-01-15")]),
            ),
            ("(01)09501101530003".into(), Agency::Gs1, None, vec![]),
            (
                ifa(&["9N110375286414", "1T12345ABCD", "D150600", "S12345ABCDEF98765"]),
                Agency::IfaPpn,
                Some("110375286414"),
                pi(&[
                    ("lot", "12345ABCD"),
                    ("expiry", "2015-06-30"),
                    ("serial", "12345ABCDEF98765"),
                ]),
            ),
            (
                ifa(&["9N110375286414", "16D20240131", "8P04150123456782", "D261115"]),
                Agency::IfaPpn,
                Some("110375286414"),
                pi(&[
                    ("manufacture_date", "2024-01-31"),
                    ("8P", "04150123456782"),
                    ("expiry", "2026-11-15"),
                ]),
            ),
            (
                "MA.156.M0.100761.21234561.Sx00008.M220117.L20220117.D20220118.E220130.V220117.C3".into(),
                Agency::NmpaMa,
                Some("MA.156.M0.100761.21234561"),
                pi(&[
                    ("serial", "x00008"),
                    ("manufacture_date", "2022-01-17"),
                    ("lot", "20220117"),
                    ("sterilisation_lot", "20220118"),
                    ("expiry", "2022-01-30"),
                    ("V", "220117"),
                ]),
            ),
            (
                "MA.156.M0.100472.11103316.S1576130942.P190101.LABS20191201.E191201".into(),
                Agency::NmpaMa,
                Some("MA.156.M0.100472.11103316"),
                pi(&[
                    ("serial", "1576130942"),
                    ("manufacture_date", "2019-01-01"),
                    ("lot", "ABS20191201"),
                    ("expiry", "2019-12-01"),
                ]),
            ),
            (
                "MA.156.M0.100204.13351764".into(),
                Agency::NmpaMa,
                Some("MA.156.M0.100204.13351764"),
                vec![],
            ),
            (
                "81234567890123456789".into(),
                Agency::ChinaDrugTrace,
                Some("8123456"),
                pi(&[("serial", "7890123456789")]),
            ),
            (
                "=/A9999XYZ100T0474".into(),
                Agency::Iccbba,
                Some("A9999XYZ100T0474"),
                vec![],
            ),
            ("=<E0224V00".into(), Agency::Iccbba, Some("E0224V00"), vec![]),
            (
                "=+06000=/A9999XYZ100T0474=A99971712345600&,1000000000000XXXX".into(),
                Agency::Iccbba,
                Some("A9999XYZ100T0474"),
                pi(&[("raw", "=+06000=A99971712345600&,1000000000000XXXX")]),
            ),
            (
                "=A99971712345600".into(),
                Agency::Iccbba,
                None,
                pi(&[("raw", "=A99971712345600")]),
            ),
        ];
        for (input, agency, di, want_pi) in cases {
            let u = parse_udi(&input, today()).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
            assert_eq!(
                (u.agency, u.di.as_deref(), &u.pi, u.raw.as_str()),
                (agency, di, &want_pi, input.as_str()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn ppn_and_pzn_checks() {
        assert_eq!(ppn_check_digits("1103752864").as_deref(), Some("14"));
        assert_eq!(ppn_check_digits("11-0").as_deref(), None);
        assert!(pzn_ok("03752864"));
        assert!(!pzn_ok("03752865"));
    }

    #[test]
    fn errors_table() {
        let cases: Vec<(String, &str, usize)> = vec![
            ("".into(), "empty", 0),
            ("hello".into(), "unknown_agency", 0),
            ("+A123BJC5D6E71H".into(), "bad_check", 14),
            (ifa(&["9N110375286415"]), "bad_check", 19),
            (ifa(&["9N11037528641"]), "bad_check", 18),
            (ifa(&["9N" /* empty */]), "bad_format", 9), // recognise needs "9N": empty value
            (ifa(&["9N110375286414", "D151300"]), "bad_date", 23),
            (ifa(&["9N110375286414", "1TA", "1TB"]), "duplicate_field", 26),
            (ifa(&["9N110375286414", "9N110375286414"]), "duplicate_field", 22),
            (ifa(&["1TA", "9N110375286414", "x"]), "bad_format", 26),
            (format!("[)>{RS}06{GS}1TA{GS}9N"), "bad_format", 13),
            (ifa(&["9N120375286414"]), "bad_check", 19),
            ("MA.156.M0.100204".into(), "bad_format", 16),
            ("MA.15.M0.100204.1".into(), "bad_format", 3),
            ("MA.156.M0.10A204.1".into(), "bad_format", 10),
            ("MA.156.M0.100204.1.E221301".into(), "bad_date", 20),
            ("MA.156.M0.100204.1.L".into(), "bad_format", 20),
            ("MA.156.M0.100204.1.1X".into(), "bad_format", 19),
            ("MA.156.M0.100204.1.LA.LB".into(), "duplicate_field", 22),
            ("MA.156.M0.100204.1.L中".into(), "bad_character", 20),
            ("=<E02".into(), "bad_format", 2),
            ("=/=A999".into(), "bad_format", 2),
        ];
        let mut wrong = vec![];
        for (input, code, pos) in cases {
            match parse_udi(&input, today()) {
                Ok(u) => wrong.push(format!("{input:?}: accepted as {u:?}")),
                Err(e) if (e.code, e.position) != (code, pos) => wrong.push(format!(
                    "{input:?}: want {code} at {pos}, got {} at {}: {}",
                    e.code, e.position, e.message
                )),
                Err(e) => assert!(!e.message.is_empty()),
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn random_inputs_never_panic() {
        let seeds = [
            "+A99912345/$$52025010X3/16D20111212/S77DEFG458",
            "MA.156.M0.100761.21234561.Sx00008.M220117.L20220117.E220130.C3",
            "=+06000=/A9999XYZ100T0474=A99971712345600",
            "81234567890123456789",
            "(01)09501101530003",
            "[)>\u{1e}06\u{1d}9N110375286414\u{1d}1T12345ABCD\u{1d}D150600\u{1e}\u{4}",
        ];
        let alphabet: Vec<char> = "0123456789ABCDEFMNSLT.=&<>/+$[)]\u{1d}\u{1e}\u{4}(é中"
            .chars()
            .collect();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n.max(1) as u64) as usize
        };
        for round in 0..20_000 {
            let mut s: Vec<char> = if round % 4 == 0 {
                (0..next(30)).map(|_| alphabet[next(alphabet.len())]).collect()
            } else {
                seeds[next(seeds.len())].chars().collect()
            };
            for _ in 0..next(4) {
                let at = next(s.len() + 1);
                let c = alphabet[next(alphabet.len())];
                if at < s.len() && next(2) == 0 {
                    s[at] = c;
                } else if at < s.len() {
                    s.remove(at);
                } else {
                    s.push(c);
                }
            }
            let text: String = s.into_iter().collect();
            let _ = recognise(&text);
            if let Err(e) = parse_udi(&text, today()) {
                assert!(e.position <= text.chars().count(), "{text:?}: {e:?}");
            }
        }
    }
}
