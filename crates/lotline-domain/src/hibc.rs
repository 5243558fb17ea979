//! HIBC (Health Industry Bar Code, ANSI/HIBC 2.x Supplier Labeling Standard) data: primary, secondary and
//! concatenated codes, the mod-43 check character, and joining a primary and a secondary read as two symbols.
//!
//! Pure: no I/O, no clock. Two-digit years are resolved against the `today` the caller passes, with the same
//! sliding window as GS1 dates ([`resolve_two_digit_year`]: −49…+50 years).
//!
//! # Grammar
//!
//! The caller strips the symbology identifier (`]C0`, `]A0`, `]d1`, `]Q1`, …); the data starts at `+`.
//! Every character must be one of the 43 Code 39 characters `0-9 A-Z - . space $ / + %`. The last
//! character is the check character: the sum of the Code 39 values of all preceding characters (the `+`
//! included) modulo 43 ([`check_char`]).
//!
//! * **Primary** `+` LIC PCN U C: LIC = labeler identification code, 4 characters, the first a letter, the
//!   others letters or digits; PCN = product or catalogue number, 1–18 letters or digits; U = unit of
//!   measure, one digit; C = check character.
//! * **Secondary** (its own symbol) `+` data L C, where L is the link character: the check character of the
//!   primary it belongs to. The data is one of
//!   * `$` lot — lot only; `$+` serial — serial only;
//!   * `$$` date lot, `$$+` date serial, where the date field is
//!     * `0`/`1` first: MMYY (no flag; the month's first digit) — the last day of that month;
//!     * `2` MMDDYY, `3` YYMMDD, `4` YYMMDDHH, `5` YYJJJ (Julian day), `6` YYJJJHH, `7` no date;
//!     * `8` QQ or `9` QQQQQ: a 2- or 5-digit quantity, then a date field as above (`0`–`7`), then the lot
//!       or serial. After the quantity the data may end (quantity only); a letter directly after it is
//!       read as the start of the lot/serial with no date (labels printed that way exist).
//!   * legacy: five digits YYJJJ then the lot (`+25330BC34567…`).
//!
//!   Supplementary fields follow, each after a `/`: `S` serial, `14D` expiry YYYYMMDD, `16D` date of
//!   manufacture YYYYMMDD, `Q` quantity (1–9 digits).
//! * **Concatenated** `+` LIC PCN U `/` secondary data (no `+`, no link character) C — one check character
//!   over the whole string.
//! * Two symbols read back to back into one string (`+A123BJC5D6E71G+$$52001510X3GD`) are split at the
//!   second `+`, checked separately and joined with [`merge`].
//!
//! Lot and serial are 1–18 characters of `A-Z 0-9` (`-` and `.` are accepted too: they cannot be
//! confused with the structure). Hours in `YYMMDDHH`/`YYJJJHH` are checked (00–23) and then dropped:
//! [`Hibc::expiry`] is a date. An expiry given twice (in `$$` and in `/14D`), a serial given twice, and so
//! on, is an error (`duplicate_field`), not a silent overwrite.
//!
//! # Errors
//!
//! [`HibcError::code`] is one of [`HibcError::CODES`]; [`HibcError::position`] is the 0-based character
//! offset of the fault in the input (for [`merge`], which has no single input, it is 0).

use chrono::NaiveDate;

use super::ids::{last_day_of_month, resolve_two_digit_year};

/// The Code 39 character set in value order: `0`–`9` are 0–9, `A`–`Z` 10–35, then `-` 36, `.` 37,
/// space 38, `$` 39, `/` 40, `+` 41, `%` 42.
pub const CODE39: &[u8; 43] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%";

/// The Code 39 value of `c` (0–42), or `None` for a character outside the set (lower-case included).
pub fn code39_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
        '-' => Some(36),
        '.' => Some(37),
        ' ' => Some(38),
        '$' => Some(39),
        '/' => Some(40),
        '+' => Some(41),
        '%' => Some(42),
        _ => None,
    }
}

/// The HIBC mod-43 check character of `data` (every character counted, the leading `+` included), or
/// `None` if `data` holds a character outside the Code 39 set.
pub fn check_char(data: &str) -> Option<char> {
    let mut sum = 0u32;
    for c in data.chars() {
        sum = (sum + code39_value(c)?) % 43;
    }
    CODE39.get(sum as usize).map(|&b| char::from(b))
}

/// Which HIBC structure a code carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HibcKind {
    /// Labeler, product and unit of measure only.
    Primary,
    /// Lot, serial, dates or quantity, printed as its own symbol with a link character.
    Secondary,
    /// Primary and secondary data together: one symbol (`link` is `None`) or two symbols joined by
    /// [`merge`] (`link` is the secondary's link character).
    Concatenated,
}

impl HibcKind {
    /// Stable lower-case name: `primary`, `secondary` or `concatenated`.
    pub fn as_str(&self) -> &'static str {
        match self {
            HibcKind::Primary => "primary",
            HibcKind::Secondary => "secondary",
            HibcKind::Concatenated => "concatenated",
        }
    }
}

/// The fields of one HIBC code (or of a primary and secondary joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hibc {
    /// Labeler identification code (4 characters).
    pub lic: Option<String>,
    /// Product or catalogue number (1–18 characters).
    pub product: Option<String>,
    /// Unit of measure / packaging level, 0–9.
    pub unit_of_measure: Option<u8>,
    pub lot: Option<String>,
    pub serial: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub manufacture_date: Option<NaiveDate>,
    pub quantity: Option<u32>,
    /// The link character of a secondary printed as its own symbol (the primary's check character).
    pub link: Option<char>,
    pub kind: HibcKind,
}

impl Hibc {
    fn empty(kind: HibcKind) -> Hibc {
        Hibc {
            lic: None,
            product: None,
            unit_of_measure: None,
            lot: None,
            serial: None,
            expiry: None,
            manufacture_date: None,
            quantity: None,
            link: None,
            kind,
        }
    }

    /// The HIBC UDI device identifier: LIC + PCN + unit of measure (no `+`, no check character), if the
    /// primary data is present.
    pub fn di(&self) -> Option<String> {
        match (&self.lic, &self.product, self.unit_of_measure) {
            (Some(l), Some(p), Some(u)) if u <= 9 => Some(format!("{l}{p}{u}")),
            _ => None,
        }
    }

    /// The check character of the stand-alone primary symbol (`+` LIC PCN U), which a separate secondary
    /// symbol carries as its link character. `None` without primary data.
    pub fn primary_check(&self) -> Option<char> {
        check_char(&format!("+{}", self.di()?))
    }
}

/// Why HIBC data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct HibcError {
    /// Stable snake_case code, one of [`HibcError::CODES`].
    pub code: &'static str,
    /// Plain English.
    pub message: String,
    /// 0-based character offset of the fault in the input.
    pub position: usize,
}

impl HibcError {
    /// Every code [`parse_hibc`] and [`merge`] return.
    pub const CODES: &'static [&'static str] = &[
        "empty",
        "bad_character",
        "bad_format",
        "bad_check",
        "bad_date",
        "duplicate_field",
        "link_mismatch",
        "wrong_kind",
    ];
}

fn err(code: &'static str, position: usize, message: impl Into<String>) -> HibcError {
    HibcError {
        code,
        message: message.into(),
        position,
    }
}

/// Parses HIBC data starting at `+`. See the module documentation for the grammar.
pub fn parse_hibc(data: &str, today: NaiveDate) -> Result<Hibc, HibcError> {
    if data.is_empty() {
        return Err(err("empty", 0, "no data"));
    }
    for (i, c) in data.chars().enumerate() {
        if code39_value(c).is_none() {
            let hint = if c.is_ascii_lowercase() {
                "; HIBC uses upper-case letters only"
            } else {
                ""
            };
            return Err(err(
                "bad_character",
                i,
                format!(
                    "'{}' is not a Code 39 character (0-9 A-Z - . space $ / + %){hint}",
                    c.escape_default()
                ),
            ));
        }
    }
    // From here on the data is ASCII: byte offsets are character offsets.
    if !data.starts_with('+') {
        return Err(err("bad_format", 0, "HIBC data starts with '+'"));
    }
    let b = data.as_bytes();
    if b.len() > 1
        && b[1].is_ascii_uppercase()
        && let Some(joined) = split_two_symbols(data, today)
    {
        return joined;
    }
    parse_symbol(data, today)
}

/// One symbol: `+`, data, check character.
fn parse_symbol(data: &str, today: NaiveDate) -> Result<Hibc, HibcError> {
    let n = data.len();
    if n < 3 {
        return Err(err(
            "bad_format",
            n,
            "too short for HIBC: '+', data and a check character are needed",
        ));
    }
    let (before, check) = data.split_at(n - 1);
    let want = check_char(before).ok_or_else(|| err("bad_character", 0, "not Code 39 data"))?;
    if !check.starts_with(want) {
        return Err(err(
            "bad_check",
            n - 1,
            format!("check character is '{check}', expected '{want}'"),
        ));
    }
    let body = &data[1..n - 1];
    let first = body.as_bytes()[0];
    if first == b'$' || first.is_ascii_digit() {
        // Secondary: the link character sits just before the check character.
        let Some(link) = body.chars().last() else {
            return Err(err("bad_format", 1, "empty secondary"));
        };
        if body.len() < 2 {
            return Err(err("bad_format", n - 1, "a secondary needs data and a link character"));
        }
        let mut h = Hibc::empty(HibcKind::Secondary);
        h.link = Some(link);
        parse_secondary(&body[..body.len() - 1], 1, today, &mut h)?;
        return Ok(h);
    }
    if !first.is_ascii_uppercase() {
        return Err(err(
            "bad_format",
            1,
            "after '+' comes a labeler code (starting with a letter) or secondary data ('$' or a digit)",
        ));
    }
    match body.find('/') {
        None => {
            let mut h = Hibc::empty(HibcKind::Primary);
            parse_primary(body, 1, &mut h)?;
            Ok(h)
        }
        Some(slash) => {
            let mut h = Hibc::empty(HibcKind::Concatenated);
            parse_primary(&body[..slash], 1, &mut h)?;
            parse_secondary(&body[slash + 1..], slash + 2, today, &mut h)?;
            Ok(h)
        }
    }
}

/// `+primary` immediately followed by `+secondary` (two symbols read into one string). Returns `None`
/// when no split gives a valid primary followed by something that starts like a secondary, so the caller
/// reports the error for the data as one symbol.
fn split_two_symbols(data: &str, today: NaiveDate) -> Option<Result<Hibc, HibcError>> {
    let b = data.as_bytes();
    // Shortest primary is `+` + 4 + 1 + 1 + check = 8 characters.
    for i in 8..b.len().saturating_sub(2) {
        let next = b.get(i + 1).copied().unwrap_or(0);
        if b[i] != b'+' || !(next == b'$' || next.is_ascii_digit()) {
            continue;
        }
        let Ok(primary) = parse_symbol(&data[..i], today) else {
            continue;
        };
        if primary.kind != HibcKind::Primary {
            continue;
        }
        let secondary = parse_symbol(&data[i..], today)
            .map_err(|e| HibcError {
                position: e.position + i,
                ..e
            })
            .and_then(|s| {
                if s.kind == HibcKind::Secondary {
                    Ok(s)
                } else {
                    Err(err("bad_format", i + 1, "the second symbol is not an HIBC secondary"))
                }
            });
        return Some(secondary.and_then(|s| {
            merge(&primary, &s).map_err(|e| HibcError {
                position: if e.code == "link_mismatch" { b.len() - 2 } else { i },
                ..e
            })
        }));
    }
    None
}

fn parse_primary(p: &str, off: usize, h: &mut Hibc) -> Result<(), HibcError> {
    let b = p.as_bytes();
    if b.len() < 6 {
        return Err(err(
            "bad_format",
            off + b.len(),
            "primary data is too short: a 4-character labeler code, a product number and a unit-of-measure digit",
        ));
    }
    if b.len() > 23 {
        return Err(err(
            "bad_format",
            off + 22,
            "product number is longer than 18 characters",
        ));
    }
    if !b[0].is_ascii_uppercase() {
        return Err(err("bad_format", off, "the labeler code must start with a letter"));
    }
    if let Some(i) = (1..4).find(|&i| !b[i].is_ascii_alphanumeric()) {
        return Err(err("bad_format", off + i, "the labeler code is 4 letters or digits"));
    }
    let last = b.len() - 1;
    if let Some(i) = (4..last).find(|&i| !b[i].is_ascii_alphanumeric()) {
        return Err(err(
            "bad_format",
            off + i,
            "the product number is letters and digits only",
        ));
    }
    if !b[last].is_ascii_digit() {
        return Err(err("bad_format", off + last, "the unit of measure is one digit"));
    }
    h.lic = Some(p[..4].to_owned());
    h.product = Some(p[4..last].to_owned());
    h.unit_of_measure = Some(b[last] - b'0');
    Ok(())
}

/// A cursor over secondary data with the input offset of its first character.
struct Cur<'a> {
    s: &'a str,
    i: usize,
    off: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }
    fn pos(&self) -> usize {
        self.off + self.i
    }
    fn eat(&mut self, prefix: &str) -> bool {
        if self.s[self.i..].starts_with(prefix) {
            self.i += prefix.len();
            true
        } else {
            false
        }
    }
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }
    /// `n` digits, or a `bad_format` error naming `what`.
    fn digits(&mut self, n: usize, what: &str) -> Result<&'a str, HibcError> {
        let rest = self.rest().as_bytes();
        if let Some(k) = (0..n).find(|&k| !rest.get(k).is_some_and(u8::is_ascii_digit)) {
            return Err(err("bad_format", self.pos() + k, format!("{what} needs {n} digits")));
        }
        let d = &self.s[self.i..self.i + n];
        self.i += n;
        Ok(d)
    }
}

fn num(d: &str) -> u32 {
    d.bytes()
        .fold(0u32, |a, b| a.saturating_mul(10).saturating_add(u32::from(b - b'0')))
}

/// The `$$`/`$$+` date field selected by `flag` (`0`/`1` = MMYY, not consumed; `2`–`6` consumed; `7` none).
fn date_field(c: &mut Cur, flag: u8, today: NaiveDate) -> Result<Option<NaiveDate>, HibcError> {
    if !(b'0'..=b'7').contains(&flag) {
        return Err(err(
            "bad_format",
            c.pos(),
            "expected a date format flag: 0/1 (MMYY), 2-6, or 7 (no date)",
        ));
    }
    if flag >= b'2' {
        c.i += 1; // the flag; MMYY has none (its first digit is the month's)
    }
    let at = c.pos();
    let bad = |what: &str| err("bad_date", at, format!("{what} is not a valid date"));
    match flag {
        b'0' | b'1' => {
            let d = c.digits(4, "an MMYY expiry")?;
            let (mm, yy) = (num(&d[..2]), num(&d[2..]));
            if !(1..=12).contains(&mm) {
                return Err(bad(&format!("MMYY '{d}'")));
            }
            last_day_of_month(resolve_two_digit_year(yy, today), mm)
                .map(Some)
                .ok_or_else(|| bad(d))
        }
        b'2' => {
            let d = c.digits(6, "an MMDDYY expiry (flag 2)")?;
            ymd(resolve_two_digit_year(num(&d[4..]), today), num(&d[..2]), num(&d[2..4]))
                .ok_or_else(|| bad(&format!("MMDDYY '{d}'")))
                .map(Some)
        }
        b'3' | b'4' => {
            let long = flag == b'4';
            let d = c.digits(
                if long { 8 } else { 6 },
                if long {
                    "a YYMMDDHH expiry (flag 4)"
                } else {
                    "a YYMMDD expiry (flag 3)"
                },
            )?;
            if long && num(&d[6..]) > 23 {
                return Err(bad(&format!("YYMMDDHH '{d}' (hour)")));
            }
            ymd(
                resolve_two_digit_year(num(&d[..2]), today),
                num(&d[2..4]),
                num(&d[4..6]),
            )
            .ok_or_else(|| bad(&format!("YYMMDD '{d}'")))
            .map(Some)
        }
        b'5' | b'6' => {
            let long = flag == b'6';
            let d = c.digits(
                if long { 7 } else { 5 },
                if long {
                    "a YYJJJHH expiry (flag 6)"
                } else {
                    "a YYJJJ expiry (flag 5)"
                },
            )?;
            if long && num(&d[5..]) > 23 {
                return Err(bad(&format!("YYJJJHH '{d}' (hour)")));
            }
            julian(&d[..5], today)
                .ok_or_else(|| bad(&format!("YYJJJ '{d}'")))
                .map(Some)
        }
        _ => Ok(None), // 7: no date
    }
}

fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

fn julian(d: &str, today: NaiveDate) -> Option<NaiveDate> {
    NaiveDate::from_yo_opt(resolve_two_digit_year(num(&d[..2]), today), num(&d[2..5]))
}

fn set<T>(slot: &mut Option<T>, v: T, what: &str, pos: usize) -> Result<(), HibcError> {
    if slot.is_some() {
        return Err(err("duplicate_field", pos, format!("{what} is given twice")));
    }
    *slot = Some(v);
    Ok(())
}

/// Lot or serial text: 1–18 of `A-Z 0-9 - .`.
fn ident(s: &str, pos: usize, what: &str) -> Result<String, HibcError> {
    if s.is_empty() {
        return Err(err("bad_format", pos, format!("the {what} is empty")));
    }
    if let Some(i) = s
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    {
        return Err(err(
            "bad_format",
            pos + i,
            format!("the {what} is letters and digits only"),
        ));
    }
    if s.len() > 18 {
        return Err(err(
            "bad_format",
            pos + 18,
            format!("the {what} is longer than 18 characters"),
        ));
    }
    Ok(s.to_owned())
}

/// Secondary data (without `+`, link or check character) starting at input offset `off`.
fn parse_secondary(s: &str, off: usize, today: NaiveDate, h: &mut Hibc) -> Result<(), HibcError> {
    let (main, supplementary) = match s.find('/') {
        Some(k) => (&s[..k], Some(k)),
        None => (s, None),
    };
    let mut c = Cur { s: main, i: 0, off };
    if c.eat("$$") {
        let serial = c.eat("+");
        match c.peek() {
            Some(q @ (b'8' | b'9')) => {
                c.i += 1;
                let d = c.digits(
                    if q == b'8' { 2 } else { 5 },
                    if q == b'8' {
                        "a quantity (flag 8)"
                    } else {
                        "a quantity (flag 9)"
                    },
                )?;
                h.quantity = Some(num(d));
                match c.peek() {
                    None => {}
                    Some(f @ b'0'..=b'7') => h.expiry = date_field(&mut c, f, today)?,
                    Some(b'A'..=b'Z') => {}
                    Some(_) => {
                        return Err(err(
                            "bad_format",
                            c.pos(),
                            "after the quantity comes a date flag 0-7 or the lot",
                        ));
                    }
                }
            }
            Some(f) => h.expiry = date_field(&mut c, f, today)?,
            None => return Err(err("bad_format", c.pos(), "'$$' must be followed by a date field")),
        }
        let rest = c.rest();
        if !rest.is_empty() {
            let v = ident(rest, c.pos(), if serial { "serial number" } else { "lot number" })?;
            if serial { h.serial = Some(v) } else { h.lot = Some(v) }
        }
    } else if c.eat("$+") {
        h.serial = Some(ident(c.rest(), c.pos(), "serial number")?);
    } else if c.eat("$") {
        h.lot = Some(ident(c.rest(), c.pos(), "lot number")?);
    } else if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        // Legacy secondary: YYJJJ then the lot.
        let at = c.pos();
        let d = c.digits(5, "a legacy YYJJJ expiry")?;
        h.expiry =
            Some(julian(d, today).ok_or_else(|| err("bad_date", at, format!("YYJJJ '{d}' is not a valid date")))?);
        let rest = c.rest();
        if !rest.is_empty() {
            h.lot = Some(ident(rest, c.pos(), "lot number")?);
        }
    } else {
        return Err(err(
            "bad_format",
            off,
            "secondary data starts with '$', '$$', '$+' or a 5-digit YYJJJ date",
        ));
    }

    let Some(k) = supplementary else { return Ok(()) };
    let mut at = off + k + 1;
    for seg in s[k + 1..].split('/') {
        let mut c = Cur { s: seg, i: 0, off: at };
        if c.eat("14D") || c.eat("16D") {
            let what = if seg.starts_with("14D") {
                "expiry date (14D)"
            } else {
                "date of manufacture (16D)"
            };
            let dpos = c.pos();
            let d = c.digits(8, what)?;
            if !c.rest().is_empty() {
                return Err(err("bad_format", c.pos(), format!("{what} is YYYYMMDD, 8 digits")));
            }
            let date = ymd(num(&d[..4]) as i32, num(&d[4..6]), num(&d[6..]))
                .ok_or_else(|| err("bad_date", dpos, format!("{what} '{d}' is not a valid date")))?;
            let slot = if seg.starts_with("14D") {
                &mut h.expiry
            } else {
                &mut h.manufacture_date
            };
            set(slot, date, what, at)?;
        } else if c.eat("S") {
            let v = ident(c.rest(), c.pos(), "serial number")?;
            set(&mut h.serial, v, "the serial number", at)?;
        } else if c.eat("Q") {
            let q = c.rest();
            if q.is_empty() || q.len() > 9 || !q.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("bad_format", c.pos(), "quantity (Q) is 1 to 9 digits"));
            }
            set(&mut h.quantity, num(q), "the quantity", at)?;
        } else {
            return Err(err(
                "bad_format",
                at,
                format!("unknown supplementary data '/{seg}': expected S (serial), 14D, 16D or Q"),
            ));
        }
        at += seg.len() + 1;
    }
    Ok(())
}

/// Joins a primary and a secondary scanned as two barcodes of one label. The secondary's link character must
/// be the primary's check character. The result has kind [`HibcKind::Concatenated`] and keeps the link.
pub fn merge(primary: &Hibc, secondary: &Hibc) -> Result<Hibc, HibcError> {
    if primary.kind != HibcKind::Primary {
        return Err(err(
            "wrong_kind",
            0,
            format!("the first code is a {}, not a primary", primary.kind.as_str()),
        ));
    }
    if secondary.kind != HibcKind::Secondary {
        return Err(err(
            "wrong_kind",
            0,
            format!("the second code is a {}, not a secondary", secondary.kind.as_str()),
        ));
    }
    let want = primary
        .primary_check()
        .ok_or_else(|| err("wrong_kind", 0, "the primary has no labeler/product data"))?;
    match secondary.link {
        Some(l) if l == want => {}
        Some(l) => {
            return Err(err(
                "link_mismatch",
                0,
                format!("the secondary's link character '{l}' does not match the primary's check character '{want}'"),
            ));
        }
        None => return Err(err("link_mismatch", 0, "the secondary has no link character")),
    }
    Ok(Hibc {
        lic: primary.lic.clone(),
        product: primary.product.clone(),
        unit_of_measure: primary.unit_of_measure,
        kind: HibcKind::Concatenated,
        ..secondary.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("test date")
    }

    const TODAY: (i32, u32, u32) = (2026, 11, 21);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    /// Appends the mod-43 check character.
    fn with_check(s: &str) -> String {
        format!("{s}{}", check_char(s).expect("code 39 test data"))
    }

    #[test]
    fn code39_values_and_check_chars() {
        for (i, &b) in CODE39.iter().enumerate() {
            assert_eq!(code39_value(char::from(b)), Some(i as u32));
        }
        assert_eq!(code39_value('a'), None);
        assert_eq!(code39_value('*'), None);
        assert_eq!(code39_value('é'), None);
        let cases: &[(&str, Option<char>)] = &[
            ("+A123BJC5D6E71", Some('G')),
            ("+$$52001510X3G", Some('D')),
            ("+A99912345/$$52025010X3/16D20111212/S77DEFG45", Some('8')),
            ("+A123BJC5D6E71/$$52001510X3", Some('C')),
            ("+BLUEUNICORN7", Some('N')),
            ("+", Some('+')),
            ("", Some('0')),
            ("%%", Some('+')), // 42 + 42 = 84 = 41 (mod 43)
            ("+a", None),
        ];
        for (data, want) in cases {
            assert_eq!(check_char(data), *want, "{data}");
        }
    }

    /// Expected fields: (lic, pcn, uom, lot, serial, expiry, mfg, qty, link, kind).
    type Want<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<u8>,
        Option<&'a str>,
        Option<&'a str>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<u32>,
        Option<char>,
        HibcKind,
    );

    fn check(input: &str, want: Want<'static>) {
        let h = parse_hibc(input, today()).unwrap_or_else(|e| panic!("{input}: {e:?}"));
        let got: Want<'_> = (
            h.lic.as_deref(),
            h.product.as_deref(),
            h.unit_of_measure,
            h.lot.as_deref(),
            h.serial.as_deref(),
            h.expiry,
            h.manufacture_date,
            h.quantity,
            h.link,
            h.kind,
        );
        assert_eq!(got, want, "{input}");
    }

    use HibcKind::{Concatenated as C, Primary as P, Secondary as S};

    /// The 14 vectors of `shared/standards/vectors/hibc_vectors.json`, as literals.
    #[test]
    fn shared_vectors() {
        let valid: &[(&str, Want<'static>)] = &[
            // hibc-01 primary only
            (
                "+A123BJC5D6E71G",
                (
                    Some("A123"),
                    Some("BJC5D6E7"),
                    Some(1),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    P,
                ),
            ),
            // hibc-02 secondary $$5 YYJJJ, link G
            (
                "+$$52001510X3GD",
                (
                    None,
                    None,
                    None,
                    Some("10X3"),
                    None,
                    Some(d(2020, 1, 15)),
                    None,
                    None,
                    Some('G'),
                    S,
                ),
            ),
            // hibc-03
            (
                "+A99912345/$$52025010X3/16D20111212/S77DEFG458",
                (
                    Some("A999"),
                    Some("1234"),
                    Some(5),
                    Some("10X3"),
                    Some("77DEFG45"),
                    Some(d(2020, 9, 6)),
                    Some(d(2011, 12, 12)),
                    None,
                    None,
                    C,
                ),
            ),
            // hibc-04
            (
                "+A99912349/$10X3/16D20111231/14D20200131/Q500Z",
                (
                    Some("A999"),
                    Some("1234"),
                    Some(9),
                    Some("10X3"),
                    None,
                    Some(d(2020, 1, 31)),
                    Some(d(2011, 12, 31)),
                    Some(500),
                    None,
                    C,
                ),
            ),
            // hibc-05 $$8 QQ then flag 3
            (
                "+E203PB414109/$$8243280112R00089525J",
                (
                    Some("E203"),
                    Some("PB41410"),
                    Some(9),
                    Some("R00089525"),
                    None,
                    Some(d(2028, 1, 12)),
                    None,
                    Some(24),
                    None,
                    C,
                ),
            ),
            // hibc-06 $$9 quantity only
            (
                "+EHWD3551419/$$900100F",
                (
                    Some("EHWD"),
                    Some("355141"),
                    Some(9),
                    None,
                    None,
                    None,
                    None,
                    Some(100),
                    None,
                    C,
                ),
            ),
            // hibc-07 MMYY
            (
                "+J123AQ3451/$$1125BC34567/S4012L",
                (
                    Some("J123"),
                    Some("AQ345"),
                    Some(1),
                    Some("BC34567"),
                    Some("4012"),
                    Some(d(2025, 11, 30)),
                    None,
                    None,
                    None,
                    C,
                ),
            ),
            // hibc-08 $$3 YYMMDD
            (
                "+J123AQ3451/$$3231231BC34567/S4012R",
                (
                    Some("J123"),
                    Some("AQ345"),
                    Some(1),
                    Some("BC34567"),
                    Some("4012"),
                    Some(d(2023, 12, 31)),
                    None,
                    None,
                    None,
                    C,
                ),
            ),
            // hibc-09 $$4 YYMMDDHH, 18-character PCN, lot and serial, check character '$'
            (
                "+A123ABCDEFGHI1234567891/$$420020216LOT123456789012345/SXYZ456789012345678/16D20130202$",
                (
                    Some("A123"),
                    Some("ABCDEFGHI123456789"),
                    Some(1),
                    Some("LOT123456789012345"),
                    Some("XYZ456789012345678"),
                    Some(d(2020, 2, 2)),
                    Some(d(2013, 2, 2)),
                    None,
                    None,
                    C,
                ),
            ),
            // hibc-10 legacy digit-led YYJJJ
            (
                "+J123AQ3451/25330BC34567/S4012X",
                (
                    Some("J123"),
                    Some("AQ345"),
                    Some(1),
                    Some("BC34567"),
                    Some("4012"),
                    Some(d(2025, 11, 26)),
                    None,
                    None,
                    None,
                    C,
                ),
            ),
            // hibc-12 concatenated form of hibc-01 + hibc-02
            (
                "+A123BJC5D6E71/$$52001510X3C",
                (
                    Some("A123"),
                    Some("BJC5D6E7"),
                    Some(1),
                    Some("10X3"),
                    None,
                    Some(d(2020, 1, 15)),
                    None,
                    None,
                    None,
                    C,
                ),
            ),
            // hibc-13
            (
                "+BLUEUNICORN7N",
                (
                    Some("BLUE"),
                    Some("UNICORN"),
                    Some(7),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    P,
                ),
            ),
            // hibc-14 stand-alone secondary with supplementary data, link X
            (
                "+$$20928053C001/S0001/16D20000101XQ",
                (
                    None,
                    None,
                    None,
                    Some("3C001"),
                    Some("0001"),
                    Some(d(2005, 9, 28)),
                    Some(d(2000, 1, 1)),
                    None,
                    Some('X'),
                    S,
                ),
            ),
        ];
        for (input, want) in valid {
            check(input, *want);
        }
        // hibc-11: the check character must be C.
        let e = parse_hibc("+A123BJC5D6E71/$$52001510X3G", today()).unwrap_err();
        assert_eq!((e.code, e.position), ("bad_check", 27), "{e}");
        assert!(e.message.contains("expected 'C'"), "{e}");
    }

    #[test]
    fn every_date_form() {
        // (secondary data without '+'/link/check, expiry, lot, serial, quantity)
        type Case = (
            &'static str,
            Option<NaiveDate>,
            Option<&'static str>,
            Option<&'static str>,
            Option<u32>,
        );
        let cases: &[Case] = &[
            ("$$0226LOT1", Some(d(2026, 2, 28)), Some("LOT1"), None, None),
            ("$$0228LOT1", Some(d(2028, 2, 29)), Some("LOT1"), None, None),
            ("$$1299LOT1", Some(d(1999, 12, 31)), Some("LOT1"), None, None),
            ("$$2123126LOT1", Some(d(2026, 12, 31)), Some("LOT1"), None, None),
            ("$$3261130LOT1", Some(d(2026, 11, 30)), Some("LOT1"), None, None),
            ("$$426113023LOT1", Some(d(2026, 11, 30)), Some("LOT1"), None, None),
            ("$$526001LOT1", Some(d(2026, 1, 1)), Some("LOT1"), None, None),
            ("$$524366LOT1", Some(d(2024, 12, 31)), Some("LOT1"), None, None),
            ("$$62603223LOT1", Some(d(2026, 2, 1)), Some("LOT1"), None, None),
            ("$$7LOT1", None, Some("LOT1"), None, None),
            ("$$8053261130LOT1", Some(d(2026, 11, 30)), Some("LOT1"), None, Some(5)),
            ("$$8057LOT1", None, Some("LOT1"), None, Some(5)),
            ("$$805LOT1", None, Some("LOT1"), None, Some(5)),
            (
                "$$912345526026LOT1",
                Some(d(2026, 1, 26)),
                Some("LOT1"),
                None,
                Some(12345),
            ),
            ("$$+0226SN1", Some(d(2026, 2, 28)), None, Some("SN1"), None),
            ("$$+3261130SN1", Some(d(2026, 11, 30)), None, Some("SN1"), None),
            ("$$+7SN1", None, None, Some("SN1"), None),
            ("$$+805SN1", None, None, Some("SN1"), Some(5)),
            ("$LOT-1.A", None, Some("LOT-1.A"), None, None),
            ("$+SN1", None, None, Some("SN1"), None),
            ("26001LOT1", Some(d(2026, 1, 1)), Some("LOT1"), None, None),
            ("$$3261130", Some(d(2026, 11, 30)), None, None, None),
        ];
        for (sec, exp, lot, serial, qty) in cases {
            let input = with_check(&format!("+{sec}L"));
            let h = parse_hibc(&input, today()).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(
                (
                    h.expiry,
                    h.lot.as_deref(),
                    h.serial.as_deref(),
                    h.quantity,
                    h.kind,
                    h.link
                ),
                (*exp, *lot, *serial, *qty, S, Some('L')),
                "{input}"
            );
        }
        // $$8 QQ then MMYY: quantity 05, expiry 12/05 -> 2005-12-31.
        let h = parse_hibc(&with_check("+$$8051205LOT1L"), today()).expect("qty mmyy");
        assert_eq!(
            (h.quantity, h.expiry, h.lot.as_deref()),
            (Some(5), Some(d(2005, 12, 31)), Some("LOT1"))
        );
    }

    #[test]
    fn two_digit_years_follow_today() {
        let h = parse_hibc(&with_check("+$$3760101AL"), d(2026, 1, 1)).expect("76");
        assert_eq!(h.expiry, Some(d(2076, 1, 1)));
        let h = parse_hibc(&with_check("+$$3770101AL"), d(2026, 1, 1)).expect("77");
        assert_eq!(h.expiry, Some(d(1977, 1, 1)));
        let h = parse_hibc(&with_check("+$$3100101AL"), d(2080, 1, 1)).expect("2110");
        assert_eq!(h.expiry, Some(d(2110, 1, 1)));
    }

    #[test]
    fn errors_table() {
        // (input, whether to append the check character, code, position)
        let cases: &[(&str, bool, &str, usize)] = &[
            ("", false, "empty", 0),
            ("+a123BJC5D6E71G", false, "bad_character", 1),
            ("+A123\u{1d}X", false, "bad_character", 5),
            ("+A12é", false, "bad_character", 4),
            ("A123BJC5D6E71G", false, "bad_format", 0),
            ("+", false, "bad_format", 1),
            ("+G", false, "bad_format", 2),
            ("+A123BJC5D6E71H", false, "bad_check", 14),
            ("+A123BJC5D6E71/$$52001510X3G", false, "bad_check", 27),
            ("+1A23B1", true, "bad_format", 2), // legacy secondary: YYJJJ needs 5 digits
            ("+-A123B1", true, "bad_format", 1),
            ("+A12", true, "bad_format", 4),
            ("+1234BJC1", true, "bad_format", 5), // digit-led: a legacy secondary '1234B' -> needs 5 digits at 5
            ("+A-23BJC1", true, "bad_format", 2),
            ("+A123B-C1", true, "bad_format", 6),
            ("+A123BJCX", true, "bad_format", 8),
            ("+A12312345678901234567890", true, "bad_format", 23),
            ("+A123BJC1/", true, "bad_format", 10),
            ("+A123BJC1/X12", true, "bad_format", 10),
            ("+A123BJC1/$", true, "bad_format", 11),
            ("+A123BJC1/$$", true, "bad_format", 12),
            ("+A123BJC1/$$A", true, "bad_format", 12),
            ("+A123BJC1/$$1325", true, "bad_date", 12),
            ("+A123BJC1/$$0025", true, "bad_date", 12),
            ("+A123BJC1/$$023", true, "bad_format", 15),
            ("+A123BJC1/$$2023026", true, "bad_date", 13),
            ("+A123BJC1/$$3260230", true, "bad_date", 13),
            ("+A123BJC1/$$3260200", true, "bad_date", 13),
            ("+A123BJC1/$$42602012400", true, "bad_date", 13),
            ("+A123BJC1/$$526000", true, "bad_date", 13),
            ("+A123BJC1/$$526366", true, "bad_date", 13),
            ("+A123BJC1/$$62636524", true, "bad_date", 13),
            ("+A123BJC1/$$81", true, "bad_format", 14),
            ("+A123BJC1/$$8128", true, "bad_format", 15),
            ("+A123BJC1/$$812-", true, "bad_format", 15),
            ("+A123BJC1/$$7LOT%1", true, "bad_format", 16),
            ("+A123BJC1/$$7LOT1234567890123456789", true, "bad_format", 31),
            ("+A123BJC1/$L/S", true, "bad_format", 14),
            ("+A123BJC1/$L/16D2011123", true, "bad_format", 23),
            ("+A123BJC1/$L/16D201112311", true, "bad_format", 24),
            ("+A123BJC1/$L/16D20111232", true, "bad_date", 16),
            ("+A123BJC1/$L/14D20110229", true, "bad_date", 16),
            ("+A123BJC1/$L/Q", true, "bad_format", 14),
            ("+A123BJC1/$L/Q1234567890", true, "bad_format", 14),
            ("+A123BJC1/$L/X1", true, "bad_format", 13),
            ("+A123BJC1/$L//S1", true, "bad_format", 13),
            ("+A123BJC1/$$3261130L/14D20261130", true, "duplicate_field", 21),
            ("+A123BJC1/$+S1/S2", true, "duplicate_field", 15),
            ("+A123BJC1/$$805L/Q5", true, "duplicate_field", 17),
            ("+A123BJC1/$L/16D20111231/16D20111231", true, "duplicate_field", 25),
            ("+$L", true, "bad_format", 2), // secondary whose data is empty after the link
            ("+$$5260010X3G", false, "bad_check", 12),
            ("+2600", true, "bad_format", 4), // legacy: only 4 chars of data before the link
        ];
        let mut wrong = vec![];
        for (input, add_check, code, pos) in cases {
            let data = if *add_check {
                with_check(input)
            } else {
                (*input).to_owned()
            };
            match parse_hibc(&data, today()) {
                Ok(h) => wrong.push(format!("{data:?}: accepted as {h:?}")),
                Err(e) if (e.code, e.position) != (*code, *pos) => wrong.push(format!(
                    "{data:?}: want {code} at {pos}, got {} at {}: {}",
                    e.code, e.position, e.message
                )),
                Err(e) => assert!(HibcError::CODES.contains(&e.code) && !e.message.is_empty()),
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn check_character_may_be_any_code39_character() {
        // A primary whose check character is '/', '+', ' ' or '$' must still parse as a primary.
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..2000u32 {
            let p = format!("+A{:03}P{}{}", i % 1000, i, i % 10);
            let full = with_check(&p);
            seen.insert(full.chars().last());
            let h = parse_hibc(&full, today()).unwrap_or_else(|e| panic!("{full}: {e:?}"));
            assert_eq!(h.kind, P, "{full}");
            assert_eq!(h.primary_check(), full.chars().last(), "{full}");
            // And the matching secondary, on its own and read back to back.
            let link = full.chars().last().expect("check char");
            let sec = with_check(&format!("+$$3261130LOT{i}/S{i}{link}"));
            let s = parse_hibc(&sec, today()).unwrap_or_else(|e| panic!("{sec}: {e:?}"));
            assert_eq!((s.kind, s.link), (S, Some(link)), "{sec}");
            let m = merge(&h, &s).unwrap_or_else(|e| panic!("{full} {sec}: {e:?}"));
            let both = parse_hibc(&format!("{full}{sec}"), today()).unwrap_or_else(|e| panic!("{full}{sec}: {e:?}"));
            assert_eq!(both, m, "{full}{sec}");
        }
        assert_eq!(seen.len(), 43, "all 43 check characters exercised");
    }

    #[test]
    fn merge_joins_and_checks_the_link() {
        let p = parse_hibc("+A123BJC5D6E71G", today()).expect("primary");
        let s = parse_hibc("+$$52001510X3GD", today()).expect("secondary");
        let m = merge(&p, &s).expect("merge");
        assert_eq!(m.di().as_deref(), Some("A123BJC5D6E71"));
        assert_eq!(
            (m.lot.as_deref(), m.expiry, m.link, m.kind),
            (Some("10X3"), Some(d(2020, 1, 15)), Some('G'), C)
        );
        // The same two symbols read into one string.
        assert_eq!(parse_hibc("+A123BJC5D6E71G+$$52001510X3GD", today()), Ok(m.clone()));
        // The concatenated single symbol gives the same fields, without a link.
        let c = parse_hibc("+A123BJC5D6E71/$$52001510X3C", today()).expect("concatenated");
        assert_eq!(c, Hibc { link: None, ..m });

        // Link mismatch: a secondary made for another primary.
        let other = parse_hibc(&with_check("+$$52001510X3H"), today()).expect("secondary with link H");
        let e = merge(&p, &other).unwrap_err();
        assert_eq!(e.code, "link_mismatch");
        assert!(e.message.contains("'H'") && e.message.contains("'G'"), "{e}");
        let joined = format!("+A123BJC5D6E71G{}", with_check("+$$52001510X3H"));
        let e = parse_hibc(&joined, today()).unwrap_err();
        assert_eq!((e.code, e.position), ("link_mismatch", joined.len() - 2), "{e}");
        // Wrong kinds.
        assert_eq!(merge(&s, &p).unwrap_err().code, "wrong_kind");
        assert_eq!(merge(&p, &p).unwrap_err().code, "wrong_kind");
        assert_eq!(merge(&c, &s).unwrap_err().code, "wrong_kind");
        // Back to back with a broken secondary: the error points into the second symbol.
        let e = parse_hibc("+A123BJC5D6E71G+$$52001510X3GE", today()).unwrap_err();
        assert_eq!((e.code, e.position), ("bad_check", 29), "{e}");
    }

    #[test]
    fn garbage_is_refused() {
        let junk = [
            "+",
            "++",
            "+++",
            "+$",
            "+$$",
            "+$$$",
            "+/",
            "+//",
            "+ ",
            "%%%%",
            "+A123",
            "+$$+",
            "+$$+7",
            "+$+",
            "+A123/",
            "+A123BJC5D6E71G+",
            "+A123BJC5D6E71G+$",
            "\u{0}",
            "+\u{feff}",
            "+中文",
        ];
        for j in junk {
            assert!(parse_hibc(j, today()).is_err(), "{j:?}");
            let with = format!("{j}{}", check_char(j).unwrap_or('0'));
            let _ = parse_hibc(&with, today());
        }
    }

    /// xorshift64*: deterministic, no dependencies.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_inputs_never_panic() {
        let seeds = [
            "+A123BJC5D6E71G",
            "+$$52001510X3GD",
            "+A99912345/$$52025010X3/16D20111212/S77DEFG458",
            "+A99912349/$10X3/16D20111231/14D20200131/Q500Z",
            "+E203PB414109/$$8243280112R00089525J",
            "+$$20928053C001/S0001/16D20000101XQ",
            "+A123BJC5D6E71G+$$52001510X3GD",
        ];
        let alphabet: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%$$$+++///a\u{1d}é"
            .chars()
            .collect();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut ok = 0;
        for round in 0..30_000 {
            let mut s: Vec<char> = if round % 3 == 0 {
                (0..rng.below(40))
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            } else {
                seeds[rng.below(seeds.len())].chars().collect()
            };
            for _ in 0..rng.below(4) {
                let at = rng.below(s.len() + 1);
                match rng.below(3) {
                    0 if at < s.len() => s[at] = alphabet[rng.below(alphabet.len())],
                    1 if at < s.len() => {
                        s.remove(at);
                    }
                    _ => s.insert(at, alphabet[rng.below(alphabet.len())]),
                }
            }
            let mut text: String = s.into_iter().collect();
            if round % 2 == 0 {
                // Re-seal with a valid check character so the parser gets past the check.
                text.pop();
                if let Some(c) = check_char(&text) {
                    text.push(c);
                }
            }
            match parse_hibc(&text, today()) {
                Ok(h) => {
                    ok += 1;
                    if let Some(lot) = &h.lot {
                        assert!((1..=18).contains(&lot.len()), "{text}");
                    }
                }
                Err(e) => {
                    assert!(HibcError::CODES.contains(&e.code), "{text}: {e:?}");
                    assert!(e.position <= text.chars().count(), "{text}: {e:?}");
                }
            }
        }
        assert!(ok > 1000, "the loop should also produce valid codes (got {ok})");
    }
}
