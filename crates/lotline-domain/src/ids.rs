//! Validated identifiers: GTIN, SSCC, lot and serial numbers, location codes, and GS1 dates.
//!
//! Every constructor checks its input once; code deeper in takes these newtypes and never
//! re-validates. Nothing here does I/O or reads the clock: two-digit years are resolved
//! against a reference date the caller passes in.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// Why an identifier was refused. `field` names the kind of identifier for messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct IdError {
    pub field: &'static str,
    pub why: String,
}

fn err(field: &'static str, why: impl Into<String>) -> IdError {
    IdError { field, why: why.into() }
}

/// GS1 mod-10 check digit over `body` (all ASCII digits, check digit excluded).
/// Weights 3,1,3,1… from the rightmost body digit.
pub fn gs1_check_digit(body: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, d) in body.iter().rev().enumerate() {
        let v = u32::from(d - b'0');
        sum += if i % 2 == 0 { v * 3 } else { v };
    }
    ((10 - sum % 10) % 10) as u8
}

/// True when `s` is all ASCII digits and its last digit is the GS1 check digit of the rest.
pub fn gs1_check_digit_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.iter().all(u8::is_ascii_digit) && gs1_check_digit(&b[..b.len() - 1]) == b[b.len() - 1] - b'0'
}

/// A Global Trade Item Number, normalised to 14 digits (GTIN-8/12/13 are left-padded with zeros).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin(String);

impl Gtin {
    /// Accepts GTIN-8, -12 (UPC-A), -13 (EAN-13) and -14 with a valid check digit.
    pub fn new(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("GTIN", format!("'{s}' must be digits only")));
        }
        if !matches!(s.len(), 8 | 12 | 13 | 14) {
            return Err(err(
                "GTIN",
                format!("'{s}' has {} digits; a GTIN has 8, 12, 13 or 14", s.len()),
            ));
        }
        if !gs1_check_digit_ok(s) {
            let b = s.as_bytes();
            let want = gs1_check_digit(&b[..b.len() - 1]);
            return Err(err("GTIN", format!("'{s}' has a wrong check digit (expected {want})")));
        }
        let mut g = String::with_capacity(14);
        g.extend(std::iter::repeat_n('0', 14 - s.len()));
        g.push_str(s);
        Ok(Gtin(g))
    }

    /// The 14-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Serial Shipping Container Code: 18 digits with a GS1 check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sscc(String);

impl Sscc {
    pub fn new(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.len() != 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("SSCC", format!("'{s}' must be exactly 18 digits")));
        }
        if !gs1_check_digit_ok(s) {
            return Err(err("SSCC", format!("'{s}' has a wrong check digit")));
        }
        Ok(Sscc(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// GS1 character set 82: the printable ASCII subset allowed in AI values such as lot and serial.
pub fn is_cset82(b: u8) -> bool {
    matches!(b,
        b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b'/'
        | b'0'..=b'9' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

fn cset82_text(field: &'static str, s: &str, max: usize) -> Result<String, IdError> {
    if s.is_empty() {
        return Err(err(field, "is empty"));
    }
    if s.len() > max {
        return Err(err(
            field,
            format!("'{s}' is {} characters; at most {max} allowed", s.len()),
        ));
    }
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii() || !is_cset82(*c as u8)) {
        return Err(err(
            field,
            format!(
                "'{s}' has '{}' at position {}, outside GS1 character set 82",
                c.escape_default(),
                i + 1
            ),
        ));
    }
    Ok(s.to_owned())
}

/// A batch or lot number (AI 10): 1–20 characters of GS1 character set 82.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LotNo(String);

impl LotNo {
    pub fn new(s: &str) -> Result<Self, IdError> {
        cset82_text("lot", s, 20).map(LotNo)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LotNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A serial number (AI 21): 1–20 characters of GS1 character set 82.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialNo(String);

impl SerialNo {
    pub fn new(s: &str) -> Result<Self, IdError> {
        cset82_text("serial", s, 20).map(SerialNo)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SerialNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A storage location code such as `WH1-A-01-02`: 1–32 characters of A–Z, 0–9, `-`, `_`, `.`, `/`.
/// Stored upper-case so a scanned `wh1-a-01-02` matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationCode(String);

impl LocationCode {
    pub fn new(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 32 {
            return Err(err("location", format!("'{s}' must be 1 to 32 characters")));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
        {
            return Err(err(
                "location",
                format!("'{s}' has '{}'; use letters, digits, - _ . /", c.escape_default()),
            ));
        }
        Ok(LocationCode(s.to_ascii_uppercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Resolves a two-digit year with the GS1 sliding window: within −49…+50 years of `today`'s year.
pub fn resolve_two_digit_year(yy: u32, today: NaiveDate) -> i32 {
    let cur = today.year();
    let cur_yy = cur.rem_euclid(100);
    let century = cur - cur_yy;
    let diff = yy as i32 - cur_yy;
    if diff > 50 {
        century - 100 + yy as i32
    } else if diff < -49 {
        century + 100 + yy as i32
    } else {
        century + yy as i32
    }
}

/// Last day of the given month.
pub fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1).and_then(|d| d.pred_opt())
}

/// Parses a GS1 `YYMMDD` date. With `day_zero_ok` (AIs 11–17, linter `yymmd0`) day `00` means the
/// last day of that month; otherwise it is an error.
pub fn parse_gs1_date(s: &str, today: NaiveDate, day_zero_ok: bool) -> Result<NaiveDate, IdError> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("date", format!("'{s}' must be 6 digits YYMMDD")));
    }
    let n = |i: usize| -> u32 { s[i..i + 2].parse().unwrap_or(0) };
    let (yy, mm, dd) = (n(0), n(2), n(4));
    if !(1..=12).contains(&mm) {
        return Err(err("date", format!("'{s}' has month {mm:02}")));
    }
    let year = resolve_two_digit_year(yy, today);
    if dd == 0 {
        if day_zero_ok {
            return last_day_of_month(year, mm).ok_or_else(|| err("date", format!("'{s}' is out of range")));
        }
        return Err(err("date", format!("'{s}' has day 00, not allowed here")));
    }
    NaiveDate::from_ymd_opt(year, mm, dd).ok_or_else(|| err("date", format!("'{s}' is not a calendar date")))
}

/// The earliest date [`parse_iso_date`] accepts.
pub const DATE_MIN: &str = "1900-01-01";
/// The latest date [`parse_iso_date`] accepts.
pub const DATE_MAX: &str = "2199-12-31";

/// Parses an ISO `YYYY-MM-DD` date as used in the import format and on the command line.
///
/// Strict: exactly four digits, `-`, two digits, `-`, two digits, nothing before or after (no
/// sign, no spaces, no `2026-1-1`, no two-digit year), a real calendar date from [`DATE_MIN`] to
/// [`DATE_MAX`]. (GS1 `YYMMDD` dates in barcodes are [`parse_gs1_date`]'s.)
pub fn parse_iso_date(s: &str) -> Result<NaiveDate, IdError> {
    let shown: String = s.chars().take(40).collect();
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return Err(err(
            "date",
            format!("'{shown}' is not a date: write YYYY-MM-DD, e.g. 2027-01-31"),
        ));
    }
    let n = |r: std::ops::Range<usize>| -> u32 { s[r].parse().unwrap_or(0) };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let date =
        NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(|| err("date", format!("'{s}' is not a calendar date")))?;
    let year = date.year();
    if !(1900..=2199).contains(&year) {
        return Err(err(
            "date",
            format!("'{s}' is out of range: dates from {DATE_MIN} to {DATE_MAX} are accepted"),
        ));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_iso_date(s).unwrap()
    }

    #[test]
    fn gtin_table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("09501101530003", Ok("09501101530003")),
            ("9501101530003", Ok("09501101530003")),
            ("96385074", Ok("00000096385074")),
            ("036000291452", Ok("00036000291452")),
            ("09501101530004", Err("check digit")),
            ("0950110153000", Err("check digit")),
            ("123", Err("digits")),
            ("09501101530A03", Err("digits only")),
            ("", Err("digits")),
        ];
        for (input, want) in cases {
            match (Gtin::new(input), want) {
                (Ok(g), Ok(w)) => assert_eq!(g.as_str(), *w, "{input}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn sscc_table() {
        assert!(Sscc::new("106141411234567897").is_ok());
        assert!(Sscc::new("106141411234567898").is_err());
        assert!(Sscc::new("10614141123456789").is_err());
    }

    #[test]
    fn lot_and_serial_charset() {
        assert!(LotNo::new("L2311-A/7").is_ok());
        assert!(LotNo::new("ABCDEFGHIJ0123456789").is_ok());
        assert!(
            LotNo::new("ABCDEFGHIJ01234567890")
                .unwrap_err()
                .why
                .contains("at most 20")
        );
        assert!(LotNo::new("L 1").unwrap_err().why.contains("position 2"));
        assert!(LotNo::new("批次").is_err());
        assert!(LotNo::new("").is_err());
        assert!(SerialNo::new("SN#1").is_err());
        assert!(SerialNo::new("SN-0001").is_ok());
    }

    #[test]
    fn location_codes_upper_case() {
        assert_eq!(LocationCode::new(" wh1-a-01 ").unwrap().as_str(), "WH1-A-01");
        assert!(LocationCode::new("A B").is_err());
        assert!(LocationCode::new("").is_err());
    }

    #[test]
    fn two_digit_years_slide_around_today() {
        let today = d("2026-11-21");
        let cases = [(26, 2026), (76, 2076), (77, 1977), (99, 1999), (0, 2000), (75, 2075)];
        for (yy, want) in cases {
            assert_eq!(resolve_two_digit_year(yy, today), want, "yy={yy}");
        }
        // Near a century boundary the window moves with the reference year.
        assert_eq!(resolve_two_digit_year(10, d("2080-01-01")), 2110);
        assert_eq!(resolve_two_digit_year(40, d("2080-01-01")), 2040);
    }

    #[test]
    fn iso_dates_are_strict() {
        assert_eq!(d("2026-01-31"), NaiveDate::from_ymd_opt(2026, 1, 31).unwrap());
        assert_eq!(d("1900-01-01").year(), 1900);
        assert_eq!(d("2199-12-31").year(), 2199);
        assert_eq!(d("2028-02-29").day(), 29);
        for bad in [
            "26-01-01",
            "2026-1-1",
            "+2026-01-01",
            " 2026-01-01",
            "2026-01-01 ",
            "0000-01-01",
            "9999-12-31",
            "1899-12-31",
            "2200-01-01",
            "2026-02-29",
            "2026-13-01",
            "2026/01/01",
            "20260101",
            "２０２６-01-01",
            "",
        ] {
            let e = parse_iso_date(bad).expect_err(bad);
            assert!(
                e.why.contains("YYYY-MM-DD") || e.why.contains("calendar") || e.why.contains("range"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn gs1_dates() {
        let today = d("2026-11-21");
        assert_eq!(parse_gs1_date("261130", today, true).unwrap(), d("2026-11-30"));
        assert_eq!(parse_gs1_date("261100", today, true).unwrap(), d("2026-11-30"));
        assert_eq!(parse_gs1_date("280200", today, true).unwrap(), d("2028-02-29"));
        assert_eq!(parse_gs1_date("270200", today, true).unwrap(), d("2027-02-28"));
        assert_eq!(parse_gs1_date("261200", today, true).unwrap(), d("2026-12-31"));
        assert!(parse_gs1_date("261100", today, false).is_err());
        assert!(parse_gs1_date("261131", today, true).is_err());
        assert!(parse_gs1_date("261300", today, true).is_err());
        assert!(parse_gs1_date("2611", today, true).is_err());
    }
}
