//! GS1 Digital Link URIs: parsing a URI into GS1 Application Identifier data, and generating one.
//!
//! Strict by default, like the GS1 Barcode Syntax Engine:
//!
//! * scheme `http://` or `https://`, all lower or all upper case; any domain (only its character
//!   set is checked); the URI may hold only URI characters (`A-Z a-z 0-9 -._~:/?#[]@!$&'()*+,;=%`);
//! * the path may start with any prefix; the GS1 part is found by walking `/AI/value` pairs back
//!   from the end of the path until an AI with the dictionary's `dlpkey` flag (the primary key);
//! * the AIs after the key are its key qualifiers: a subset, in order, of one of the key's
//!   `dlpkey=` alternatives (`22,10,21|235` for a GTIN);
//! * path values are percent-decoded (`+` stays `+`; a `%` not followed by two hex digits, or
//!   `%00`, is `bad_escape` at the `%`) and may not be empty; a trailing slash is
//!   refused; a `#fragment` is ignored;
//! * the query is `&`-separated; empty parameters are skipped; a numeric key must be a known AI
//!   with the `?` (Digital Link data attribute) flag, its value is percent-decoded with `+` as a
//!   space; an AI that could stand in the path as a qualifier is refused in the query, and so is
//!   any AI given twice; other parameters are kept, as written, in [`DigitalLink::other_query`];
//! * a GTIN-8/12/13 for AI (01) is refused unless [`DlSettings::lenient_gtin`] (then it is
//!   zero-padded to 14 digits).
//!
//! Values are not validated here (length, character set, check digit, linters, pairing rules):
//! the caller runs the element-string validation over [`DigitalLink::ais`].
//!
//! Error positions are character offsets in the URI ([`to_digital_link`] uses the index of the
//! offending pair instead). Error codes: `not_digital_link`, `bad_uri`, `bad_path`, `unknown_ai`,
//! `bad_key_order`, `bad_attribute`, `bad_escape`, `duplicate_ai`.

use crate::gs1::{AiDef, ai_def, lookup_ai};
use crate::scan::ScanError;

/// The stem [`to_digital_link`] uses when given an empty domain.
pub const CANONICAL_STEM: &str = "https://id.gs1.org";

/// Options that relax the strict rules, for URIs written to older versions of the standard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DlSettings {
    /// Accept a zero-suppressed GTIN-8/12/13 for AI (01) (Digital Link 1.1 era) and pad it to
    /// 14 digits. Off by default: strict like the GS1 engine.
    pub lenient_gtin: bool,
    /// Accept the deprecated convenience alphas (`gtin`, `lot`, `ser`, `sscc`, …) in place of
    /// AI codes in the path.
    pub convenience_alphas: bool,
    /// Accept (and ignore) one trailing slash at the end of the path.
    pub allow_trailing_slash: bool,
    /// Accept the key qualifiers in any order (each at most once, from one alternative) and
    /// return them in the dictionary's order.
    pub any_qualifier_order: bool,
    /// Accept numeric query keys that are not in the AI table (2–4 digits, not starting with a
    /// known AI) as data attributes. When generating, accept such AIs as attributes too.
    pub unknown_ai_attributes: bool,
}

/// A parsed GS1 Digital Link URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitalLink {
    /// The authority as written: host, optionally with a port (`example.com`, `a:8080`, `[::1]`).
    pub domain: String,
    /// The primary key, its qualifiers in path order, then the data attributes in query order.
    pub ais: Vec<(String, String)>,
    /// Query parameters that are not AIs, as written (not percent-decoded); a parameter without
    /// `=` has an empty value.
    pub other_query: Vec<(String, String)>,
}

/// Convenience alphas (deprecated) and the AIs they stand for.
const ALPHAS: [(&str, &str); 22] = [
    ("cpid", "8010"),
    ("cpsn", "8011"),
    ("cpv", "22"),
    ("gcn", "255"),
    ("gdti", "253"),
    ("giai", "8004"),
    ("ginc", "401"),
    ("gln", "414"),
    ("glnx", "254"),
    ("gmn", "8013"),
    ("grai", "8003"),
    ("gsin", "402"),
    ("gsrn", "8018"),
    ("gsrnp", "8017"),
    ("gtin", "01"),
    ("itip", "8006"),
    ("lot", "10"),
    ("party", "417"),
    ("refno", "8020"),
    ("ser", "21"),
    ("srin", "8019"),
    ("sscc", "00"),
];

fn err(code: &'static str, position: usize, message: impl Into<String>) -> ScanError {
    ScanError {
        code,
        message: message.into(),
        position,
    }
}

/// `AI (01) GTIN` for messages.
fn named(def: &AiDef) -> String {
    let label = def.label();
    if label.is_empty() {
        format!("AI ({})", def.ai)
    } else {
        format!("AI ({}) {label}", def.ai)
    }
}

fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// URI characters that may not appear in the authority.
fn is_bad_domain_char(b: u8) -> bool {
    b"_~?#@!$&'()*+,;=%".contains(&b)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Length of the scheme (`https://` or `http://`, all lower or all upper case), if there is one.
fn scheme_len(s: &str) -> Option<usize> {
    ["https://", "HTTPS://", "http://", "HTTP://"]
        .iter()
        .find(|p| s.starts_with(*p))
        .map(|p| p.len())
}

/// The AI a path segment names: its code, or a convenience alpha when enabled.
fn path_ai(seg: &str, settings: &DlSettings) -> Option<&'static AiDef> {
    if settings.convenience_alphas
        && (3..=5).contains(&seg.len())
        && !seg.starts_with(|c: char| c.is_ascii_digit())
        && let Some((_, code)) = ALPHAS.iter().find(|(alpha, _)| *alpha == seg)
    {
        return ai_def(code);
    }
    if all_digits(seg) { ai_def(seg) } else { None }
}

fn is_primary_key(def: &AiDef) -> bool {
    def.dlpkey.is_some()
}

/// A code that may stand for an AI missing from the table: 2–4 digits, no known AI a prefix.
fn plausible_unknown_ai(code: &str) -> bool {
    (2..=4).contains(&code.len()) && all_digits(code) && ai_def(code).is_none() && lookup_ai(code).is_none()
}

/// The key's qualifier alternatives, e.g. `[["22", "10", "21"], ["235"]]` for AI (01).
fn alternatives(key: &AiDef) -> Vec<Vec<&'static str>> {
    match key.dlpkey {
        Some(paths) if !paths.is_empty() => paths.split('|').map(|alt| alt.split(',').collect()).collect(),
        _ => Vec::new(),
    }
}

/// Checks the qualifiers after `key` against its `dlpkey=` alternatives. Returns, for each
/// qualifier, its rank in the matching alternative (strictly increasing unless `any_order`).
fn qualifier_ranks(key: &AiDef, quals: &[&str], any_order: bool) -> Option<Vec<usize>> {
    key.dlpkey?;
    if quals.is_empty() {
        return Some(Vec::new());
    }
    alternatives(key).into_iter().find_map(|alt| {
        let ranks: Vec<usize> = quals
            .iter()
            .map(|q| alt.iter().position(|a| a == q))
            .collect::<Option<_>>()?;
        let ok = if any_order {
            let mut sorted = ranks.clone();
            sorted.sort_unstable();
            sorted.windows(2).all(|w| w[0] < w[1])
        } else {
            ranks.windows(2).all(|w| w[0] < w[1])
        };
        ok.then_some(ranks)
    })
}

/// Describes the qualifiers `key` takes, for messages.
fn qualifiers_text(key: &AiDef) -> String {
    let alts = alternatives(key);
    if alts.is_empty() {
        return format!("{} takes no key qualifiers", named(key));
    }
    let list: Vec<String> = alts.iter().map(|a| a.join(", ")).collect();
    format!(
        "{} takes the key qualifiers {} in this order",
        named(key),
        list.join(" or ")
    )
}

/// Decodes `%XX` escapes in `s`; `+` becomes a space when `query`. `%00` is refused; a `%` not
/// followed by two hex digits is refused when `strict` (the URI parser) and kept as written
/// otherwise (the engine's unescape, [`percent_decode`]). `base` is added to error positions.
fn decode(s: &str, query: bool, strict: bool, base: usize) -> Result<String, ScanError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let at = || base + s[..i].chars().count();
            match (b.get(i + 1).and_then(|&h| hex(h)), b.get(i + 2).and_then(|&l| hex(l))) {
                (Some(0), Some(0)) => {
                    return Err(err("bad_escape", at(), "'%00' (a NUL character) is not allowed"));
                }
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ if strict => {
                    let written: String = s[i..].chars().take(3).collect();
                    return Err(err(
                        "bad_escape",
                        at(),
                        format!(
                            "'{written}' is not a percent-escape: '%' must be followed by two hex digits \
                             (a literal '%' is written %25)"
                        ),
                    ));
                }
                _ => {}
            }
        }
        out.push(if query && c == b'+' { b' ' } else { c });
        i += 1;
    }
    Ok(bytes_to_string(&out))
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// UTF-8 where the bytes are UTF-8; any other byte becomes the character with that code point
/// (ISO 8859-1). Such values never pass GS1 validation; this only keeps messages readable.
fn bytes_to_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        s.push_str(chunk.valid());
        s.extend(chunk.invalid().iter().map(|&b| char::from(b)));
    }
    s
}

/// Decodes percent escapes as in a URI path segment (`+` stays `+`), as the GS1 Syntax Engine's
/// unescape does: malformed escapes such as `%4g` or a trailing `%2` are kept as written (the URI
/// parser, [`parse_digital_link`], refuses them); `%00` is refused (`bad_escape`, position
/// = character offset of the `%`). Decoded bytes that are not UTF-8 map one byte to one
/// character (ISO 8859-1).
pub fn percent_decode(s: &str) -> Result<String, ScanError> {
    decode(s, false, false, 0)
}

/// Like [`percent_decode`], for query values: `+` also stands for a space.
pub fn percent_decode_query(s: &str) -> Result<String, ScanError> {
    decode(s, true, false, 0)
}

/// Percent-encodes everything but the unreserved characters; in a query a space becomes `+`.
fn encode(s: &str, query: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else if query && b == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Applies the GTIN-8/12/13 rule to a value for AI (01): pads it when lenient, refuses an
/// all-digit short GTIN otherwise (`code` is the error code to use).
fn gtin_rule(value: String, settings: &DlSettings, code: &'static str, at: usize) -> Result<String, ScanError> {
    if !matches!(value.len(), 8 | 12 | 13) {
        return Ok(value);
    }
    if settings.lenient_gtin {
        return Ok(format!("{value:0>14}"));
    }
    if all_digits(&value) {
        return Err(err(
            code,
            at,
            format!(
                "AI (01) GTIN '{value}' has {} digits; a Digital Link needs all 14 (zero-padded)",
                value.len()
            ),
        ));
    }
    Ok(value)
}

/// One AI found in the URI.
struct Found {
    code: String,
    def: Option<&'static AiDef>,
    value: String,
    /// Offset of the AI code in the URI.
    at: usize,
}

/// Cheap test for "this looks like a GS1 Digital Link": `http(s)://host/…` whose path holds a
/// primary-key AI code followed by a non-empty segment. Routes a scan to
/// [`parse_digital_link`]; it does not validate.
pub fn is_digital_link(s: &str) -> bool {
    let Some(start) = scheme_len(s) else { return false };
    let rest = &s[start..];
    let Some(slash) = rest.find('/') else { return false };
    if slash == 0 || rest[..slash].bytes().any(is_bad_domain_char) {
        return false;
    }
    let path = &rest[slash..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    segs.windows(2)
        .any(|w| !w[1].is_empty() && all_digits(w[0]) && ai_def(w[0]).is_some_and(is_primary_key))
}

/// Parses a GS1 Digital Link URI into AIs (see the module docs for the rules).
pub fn parse_digital_link(uri: &str, settings: &DlSettings) -> Result<DigitalLink, ScanError> {
    let Some(start) = scheme_len(uri) else {
        return Err(err(
            "not_digital_link",
            0,
            "A GS1 Digital Link starts with http:// or https:// (all lower or all upper case)",
        ));
    };
    if let Some((i, c)) = uri
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii() || !is_uri_char(*c as u8))
    {
        return Err(err(
            "bad_uri",
            i,
            format!("'{}' is not allowed in a URI", c.escape_default()),
        ));
    }
    // From here on the URI is ASCII: byte offsets are character offsets.
    let b = uri.as_bytes();
    let Some(slash) = uri[start..].find('/').map(|i| start + i) else {
        if start == uri.len() {
            return Err(err("bad_uri", start, "The URI has no domain"));
        }
        return Err(err("not_digital_link", uri.len(), "The URI has no path"));
    };
    if slash == start {
        return Err(err("bad_uri", start, "The URI has no domain"));
    }
    if let Some(i) = b[start..slash].iter().position(|&c| is_bad_domain_char(c)) {
        let at = start + i;
        return Err(err(
            "bad_uri",
            at,
            format!("'{}' is not allowed in a domain", char::from(b[at])),
        ));
    }
    let domain = &uri[start..slash];
    let frag = uri[slash..].find('#').map_or(uri.len(), |i| slash + i);
    let (path_end, query) = match uri[slash..frag].find('?') {
        Some(i) => (slash + i, Some(slash + i + 1)),
        None => (frag, None),
    };
    let mut path_end = path_end;
    if settings.allow_trailing_slash && path_end - slash > 1 && b[path_end - 1] == b'/' {
        path_end -= 1;
    }

    let path = parse_path(uri, slash, path_end, settings)?;
    let (attrs, other_query) = match query {
        Some(q) => parse_query(uri, q, frag, settings)?,
        None => (Vec::new(), Vec::new()),
    };
    check_attributes(&path, &attrs, settings)?;

    let ais = path.into_iter().chain(attrs).map(|f| (f.code, f.value)).collect();
    Ok(DigitalLink {
        domain: domain.to_owned(),
        ais,
        other_query,
    })
}

/// Finds the primary key in `uri[slash..end]` (a path starting with `/`) and returns it with
/// its qualifiers, in dictionary order when qualifiers may come in any order.
fn parse_path(uri: &str, slash: usize, end: usize, settings: &DlSettings) -> Result<Vec<Found>, ScanError> {
    // Segments after the leading '/', each with its offset in the URI.
    let mut segs: Vec<(usize, &str)> = Vec::new();
    let mut at = slash + 1;
    for seg in uri[slash + 1..end].split('/') {
        segs.push((at, seg));
        at += seg.len() + 1;
    }
    // Walk /AI/value pairs back from the end until a primary key.
    let mut key: Option<usize> = None;
    let mut stop: Option<usize> = None;
    let mut i = segs.len();
    while i >= 2 {
        i -= 2;
        match path_ai(segs[i].1, settings) {
            Some(def) if is_primary_key(def) => {
                key = Some(i);
                break;
            }
            Some(_) => {}
            None => {
                stop = Some(i);
                break;
            }
        }
    }
    let Some(k) = key else {
        return Err(no_key_error(uri, end, &segs, stop, settings));
    };

    let mut found: Vec<Found> = Vec::new();
    let mut j = k;
    while j + 1 < segs.len() {
        let (ai_at, ai_seg) = segs[j];
        let (val_at, val_seg) = segs[j + 1];
        // Known to resolve: the walk above went over it.
        let Some(def) = path_ai(ai_seg, settings) else {
            return Err(err("bad_path", ai_at, format!("'{ai_seg}' is not an AI")));
        };
        if val_seg.is_empty() {
            return Err(err(
                "bad_path",
                val_at,
                format!("{} has an empty value in the path", named(def)),
            ));
        }
        let mut value = decode(val_seg, false, true, val_at)?;
        if def.ai == "01" {
            value = gtin_rule(value, settings, "bad_path", val_at)?;
        }
        found.push(Found {
            code: def.ai.to_owned(),
            def: Some(def),
            value,
            at: ai_at,
        });
        j += 2;
    }

    let Some(key_def) = found.first().and_then(|f| f.def) else {
        return Err(err("bad_path", segs[k].0, "The primary key has no value"));
    };
    let quals: Vec<&str> = found[1..].iter().map(|f| f.code.as_str()).collect();
    let Some(ranks) = qualifier_ranks(key_def, &quals, settings.any_qualifier_order) else {
        // Blame the first qualifier that makes the sequence invalid.
        let bad = (1..=quals.len())
            .find(|&m| qualifier_ranks(key_def, &quals[..m], settings.any_qualifier_order).is_none())
            .unwrap_or(quals.len());
        let f = &found[bad.max(1).min(found.len() - 1)];
        let msg = format!(
            "AI ({}) is out of place in the path: {}",
            f.code,
            qualifiers_text(key_def)
        );
        return Err(err("bad_key_order", f.at, msg));
    };
    if settings.any_qualifier_order {
        let mut quals: Vec<(usize, Found)> = ranks.into_iter().zip(found.drain(1..)).collect();
        quals.sort_by_key(|(r, _)| *r);
        found.extend(quals.into_iter().map(|(_, f)| f));
    }
    Ok(found)
}

/// Explains why no primary key was found in the path.
fn no_key_error(
    uri: &str,
    end: usize,
    segs: &[(usize, &str)],
    stop: Option<usize>,
    settings: &DlSettings,
) -> ScanError {
    let stop = stop.unwrap_or(0);
    let key_before = segs[..segs.len().saturating_sub(1)]
        .iter()
        .any(|(_, s)| path_ai(s, settings).is_some_and(is_primary_key));
    if !key_before {
        return err(
            "not_digital_link",
            end.min(uri.len()),
            "The path holds no GS1 primary key (such as /01/ for a GTIN)",
        );
    }
    if uri[..end].ends_with('/') {
        return err("bad_path", end - 1, "The path ends with a slash");
    }
    let (at, seg) = segs.get(stop).copied().unwrap_or((end, ""));
    if seg.is_empty() {
        return err("bad_path", at, "The path has an empty segment");
    }
    if all_digits(seg) {
        return err("unknown_ai", at, format!("'{seg}' in the path is not a known AI"));
    }
    err(
        "bad_path",
        at,
        format!("'{seg}' in the path is not an AI; after the primary key come AI/value pairs"),
    )
}

type QueryParts = (Vec<Found>, Vec<(String, String)>);

/// Splits the query `uri[q..end]` into AI attributes and other parameters.
fn parse_query(uri: &str, q: usize, end: usize, settings: &DlSettings) -> Result<QueryParts, ScanError> {
    let mut attrs = Vec::new();
    let mut other = Vec::new();
    let mut at = q;
    for param in uri[q..end].split('&') {
        let p_at = at;
        at += param.len() + 1;
        if param.is_empty() {
            continue;
        }
        let Some(eq) = param.find('=') else {
            other.push((param.to_owned(), String::new()));
            continue;
        };
        let (key, raw) = (&param[..eq], &param[eq + 1..]);
        if !all_digits(key) {
            other.push((key.to_owned(), raw.to_owned()));
            continue;
        }
        let def = ai_def(key);
        if def.is_none() && !(settings.unknown_ai_attributes && plausible_unknown_ai(key)) {
            return Err(err(
                "unknown_ai",
                p_at,
                format!("'{key}' in the query is not a known AI"),
            ));
        }
        let val_at = p_at + eq + 1;
        if raw.is_empty() {
            return Err(err(
                "bad_attribute",
                val_at,
                format!("AI ({key}) has an empty value in the query"),
            ));
        }
        let mut value = decode(raw, true, true, val_at)?;
        if key == "01" {
            value = gtin_rule(value, settings, "bad_attribute", val_at)?;
        }
        attrs.push(Found {
            code: key.to_owned(),
            def,
            value,
            at: p_at,
        });
    }
    Ok((attrs, other))
}

/// Query attributes: no AI twice, only AIs with the `?` flag, none that belongs in the path.
fn check_attributes(path: &[Found], attrs: &[Found], settings: &DlSettings) -> Result<(), ScanError> {
    let Some(key_def) = path.first().and_then(|f| f.def) else {
        return Ok(());
    };
    let quals: Vec<&str> = path[1..].iter().map(|f| f.code.as_str()).collect();
    for (i, a) in attrs.iter().enumerate() {
        if path.iter().chain(&attrs[..i]).any(|f| f.code == a.code) {
            return Err(err(
                "duplicate_ai",
                a.at,
                format!("AI ({}) appears more than once", a.code),
            ));
        }
        if let Some(def) = a.def
            && !def.dl_attribute
        {
            let msg = format!("{} is not allowed as a Digital Link data attribute", named(def));
            return Err(err("bad_attribute", a.at, msg));
        }
        for j in 0..=quals.len() {
            let mut trial = quals.clone();
            trial.insert(j, a.code.as_str());
            if qualifier_ranks(key_def, &trial, settings.any_qualifier_order).is_some() {
                let msg = format!(
                    "AI ({}) is a key qualifier of {} and belongs in the path",
                    a.code,
                    named(key_def)
                );
                return Err(err("bad_attribute", a.at, msg));
            }
        }
    }
    Ok(())
}

/// Generates a GS1 Digital Link URI from AI data (the canonical form of the GS1 engine): the
/// first primary-key AI, the qualifier alternative matching the most AIs, then the other AIs
/// as query attributes, predefined-length AIs first, each group in input order.
///
/// `domain` is a stem: `https://example.com`, `https://example.com/prefix`, a bare host
/// (`https://` is added) or empty for [`CANONICAL_STEM`]; a trailing slash is dropped.
/// A pair repeated with the same value is used once. Error positions are indices into `ais`
/// (for `bad_uri`: a character offset in `domain`).
pub fn to_digital_link(ais: &[(String, String)], domain: &str) -> Result<String, ScanError> {
    to_digital_link_with(ais, domain, &DlSettings::default())
}

/// [`to_digital_link`] with settings; only [`DlSettings::unknown_ai_attributes`] applies.
pub fn to_digital_link_with(
    ais: &[(String, String)],
    domain: &str,
    settings: &DlSettings,
) -> Result<String, ScanError> {
    let stem = stem(domain)?;
    // Deduplicate, resolving each AI.
    let mut items: Vec<(usize, &str, Option<&'static AiDef>, &str)> = Vec::new();
    for (i, (code, value)) in ais.iter().enumerate() {
        let def = ai_def(code);
        if def.is_none() && !(settings.unknown_ai_attributes && plausible_unknown_ai(code)) {
            return Err(err("unknown_ai", i, format!("'{code}' is not a known AI")));
        }
        if value.is_empty() {
            return Err(err("bad_attribute", i, format!("AI ({code}) has no value")));
        }
        match items.iter().find(|(_, c, _, _)| c == code) {
            Some((_, _, _, v)) if v == value => continue,
            Some((_, _, _, v)) => {
                let msg = format!("AI ({code}) appears twice with different values: '{v}' and '{value}'");
                return Err(err("duplicate_ai", i, msg));
            }
            None => items.push((i, code.as_str(), def, value.as_str())),
        }
    }
    let Some(key) = items.iter().find_map(|(_, _, d, _)| d.filter(|d| is_primary_key(d))) else {
        return Err(err(
            "not_digital_link",
            0,
            "There is no AI that can be a Digital Link primary key",
        ));
    };
    let path_codes = best_path(key, &items.iter().map(|(_, c, _, _)| *c).collect::<Vec<_>>());

    let mut uri = stem;
    for code in &path_codes {
        if let Some((_, c, _, v)) = items.iter().find(|(_, c, _, _)| c == code) {
            uri.push('/');
            uri.push_str(c);
            uri.push('/');
            uri.push_str(&encode(v, false));
        }
    }
    let attrs: Vec<_> = items.iter().filter(|(_, c, _, _)| !path_codes.contains(c)).collect();
    let mut query = Vec::new();
    for fixed in [true, false] {
        for (i, code, def, value) in attrs
            .iter()
            .filter(|(_, _, d, _)| d.is_some_and(|d| d.fixed_length) == fixed)
        {
            if let Some(def) = def
                && !def.dl_attribute
            {
                let msg = format!("{} is not allowed as a Digital Link data attribute", named(def));
                return Err(err("bad_attribute", *i, msg));
            }
            query.push(format!("{code}={}", encode(value, true)));
        }
    }
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query.join("&"));
    }
    Ok(uri)
}

/// The key followed by the qualifiers of the key-qualifier sequence that matches the most of
/// `present`; ties go to the sequence first in the GS1 engine's (byte-wise sorted) order.
fn best_path(key: &'static AiDef, present: &[&str]) -> Vec<&'static str> {
    let mut seqs: Vec<Vec<&'static str>> = vec![Vec::new()];
    for alt in alternatives(key) {
        // Every ordered subset of the alternative.
        let n = alt.len().min(16);
        for mask in 1u32..(1 << n) {
            seqs.push((0..n).filter(|b| mask & (1 << b) != 0).map(|b| alt[b]).collect());
        }
    }
    let text = |s: &[&str]| {
        std::iter::once(key.ai)
            .chain(s.iter().copied())
            .collect::<Vec<_>>()
            .join(" ")
    };
    seqs.sort_by_key(|s| text(s));
    let mut best: (usize, &[&str]) = (0, &[]);
    for s in &seqs {
        let n = s.iter().filter(|q| present.contains(q)).count();
        if n > best.0 {
            best = (n, s);
        }
    }
    std::iter::once(key.ai)
        .chain(best.1.iter().copied().filter(|q| present.contains(q)))
        .collect()
}

/// The URI stem for generation, without a trailing slash.
fn stem(domain: &str) -> Result<String, ScanError> {
    if domain.is_empty() {
        return Ok(CANONICAL_STEM.to_owned());
    }
    if let Some((i, c)) = domain
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii() || !is_uri_char(*c as u8) || "?#".contains(*c))
    {
        return Err(err(
            "bad_uri",
            i,
            format!("'{}' is not allowed in a Digital Link stem", c.escape_default()),
        ));
    }
    let mut s = if scheme_len(domain).is_some() {
        domain.to_owned()
    } else {
        format!("https://{domain}")
    };
    if s.ends_with('/') {
        s.pop();
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings for a table row (a function, so the tables can be `const`).
    type Settings = fn() -> DlSettings;
    /// AI code and value.
    type Pairs = &'static [(&'static str, &'static str)];

    fn strict() -> DlSettings {
        DlSettings::default()
    }

    fn lenient() -> DlSettings {
        DlSettings {
            lenient_gtin: true,
            ..DlSettings::default()
        }
    }

    fn alphas() -> DlSettings {
        DlSettings {
            convenience_alphas: true,
            ..DlSettings::default()
        }
    }

    fn unknown_attrs() -> DlSettings {
        DlSettings {
            unknown_ai_attributes: true,
            ..DlSettings::default()
        }
    }

    fn dl11() -> DlSettings {
        DlSettings {
            lenient_gtin: true,
            convenience_alphas: true,
            allow_trailing_slash: true,
            any_qualifier_order: true,
            unknown_ai_attributes: false,
        }
    }

    /// `(01)123(10)ABC` for compact expectations.
    fn bracketed(ais: &[(String, String)]) -> String {
        ais.iter().map(|(a, v)| format!("({a}){v}")).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, v)| ((*a).to_owned(), (*v).to_owned())).collect()
    }

    // Valid URIs (GS1 Syntax Engine dl.c vectors and the shared digital_link_vectors.json),
    // with the AIs they give.
    const VALID: &[(&str, Settings, &str)] = &[
        ("http://a/00/006141411234567890", strict, "(00)006141411234567890"),
        ("HTTP://a/00/006141411234567890", strict, "(00)006141411234567890"),
        ("https://a/00/006141411234567890", strict, "(00)006141411234567890"),
        ("HTTPS://a/00/006141411234567890", strict, "(00)006141411234567890"),
        ("https://a/01/12312312312333", strict, "(01)12312312312333"),
        (
            "https://xn--fsq.xn--0zwm56d/01/12312312312333",
            strict,
            "(01)12312312312333",
        ),
        ("https://a./01/12312312312333", strict, "(01)12312312312333"),
        ("https://a:65535/01/12312312312333", strict, "(01)12312312312333"),
        (
            "https://0xC0.0xA8.0x01.0x01/01/12312312312333",
            strict,
            "(01)12312312312333",
        ),
        ("https://[2001:db8::1]/01/12312312312333", strict, "(01)12312312312333"),
        ("https://a/stem/00/006141411234567890", strict, "(00)006141411234567890"),
        (
            "https://a/more/stem/00/006141411234567890",
            strict,
            "(00)006141411234567890",
        ),
        (
            "https://a/00/faux/00/006141411234567890",
            strict,
            "(00)006141411234567890",
        ),
        ("https://a/gtin/12312312312333", alphas, "(01)12312312312333"),
        (
            "https://a/gtin/12312312312333/ser/ABC123",
            alphas,
            "(01)12312312312333(21)ABC123",
        ),
        ("https://a/sscc/006141411234567890", alphas, "(00)006141411234567890"),
        ("https://a/01/2112345678900", lenient, "(01)02112345678900"),
        ("https://a/01/416000336108", lenient, "(01)00416000336108"),
        ("https://a/01/02345673", lenient, "(01)00000002345673"),
        (
            "https://a/8004/9520614141234567?01=2112345678900",
            lenient,
            "(8004)9520614141234567(01)02112345678900",
        ),
        (
            "https://a/8004/9520614141234567?01=09521234543213",
            strict,
            "(8004)9520614141234567(01)09521234543213",
        ),
        (
            "https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ",
            strict,
            "(01)12312312312333(22)TEST(10)ABC(21)XYZ",
        ),
        (
            "https://a/01/12312312312333/235/TEST",
            strict,
            "(01)12312312312333(235)TEST",
        ),
        (
            "https://a/253/1231231231232TEST5678901234567",
            strict,
            "(253)1231231231232TEST5678901234567",
        ),
        (
            "https://a/8018/123456789012345675/8019/123",
            strict,
            "(8018)123456789012345675(8019)123",
        ),
        (
            "https://a/stem/00/006141411234567890?",
            strict,
            "(00)006141411234567890",
        ),
        ("https://a/stem/401/12345678?99=ABC", strict, "(401)12345678(99)ABC"),
        (
            "https://a/01/12312312312333?&&&99=ABC&&&&&&98=XYZ&&&",
            strict,
            "(01)12312312312333(99)ABC(98)XYZ",
        ),
        (
            "https://a/01/12312312312333?unknown=666&99=ABC&98=XYZ",
            strict,
            "(01)12312312312333(99)ABC(98)XYZ",
        ),
        (
            "https://a/01/12312312312333?singleton&99=ABC&98=XYZ",
            strict,
            "(01)12312312312333(99)ABC(98)XYZ",
        ),
        (
            "https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ%2f987",
            strict,
            "(01)12312312312333(22)ABC-123(99)ABC(98)XYZ/987",
        ),
        (
            "https://a/01/12312312312333/22/ABC+123?99=ABC&98=XYZ%2f987",
            strict,
            "(01)12312312312333(22)ABC+123(99)ABC(98)XYZ/987",
        ),
        // '+' in a query value is a space; validation refuses it later (dl-05).
        (
            "https://a/01/12312312312333?98=XYZ+987",
            strict,
            "(01)12312312312333(98)XYZ 987",
        ),
        (
            "https://a/01/12312312312333/22/test/10/abc/21/xyz#",
            strict,
            "(01)12312312312333(22)test(10)abc(21)xyz",
        ),
        (
            "https://a/01/12312312312333/10/abc#fragment?99=X",
            strict,
            "(01)12312312312333(10)abc",
        ),
        (
            "https://a/stem/00/006141411234567890?99=ABC#fragment",
            strict,
            "(00)006141411234567890(99)ABC",
        ),
        (
            "https://brand.example.com/some-extra/pathinfo/01/9520123456788",
            lenient,
            "(01)09520123456788",
        ),
        (
            "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426",
            strict,
            "(01)09520123456788(10)ABC1(21)12345(17)180426",
        ),
        (
            "https://example.com/01/9520123456788?3103=000195&3922=0299&17=201225",
            lenient,
            "(01)09520123456788(3103)000195(3922)0299(17)201225",
        ),
        (
            "https://id.gs1.org/00/952012345678912345?02=09520123456788&37=25&10=ABC123",
            strict,
            "(00)952012345678912345(02)09520123456788(37)25(10)ABC123",
        ),
        (
            "https://id.gs1.org/414/9520123456788/254/32a%2Fb",
            strict,
            "(414)9520123456788(254)32a/b",
        ),
        (
            "https://id.gs1.org/01/09520123456788/235/XYZ?10=ABC123",
            strict,
            "(01)09520123456788(235)XYZ(10)ABC123",
        ),
        (
            "https://example.com/01/09520123456788?99=XYZ&89=ABC123",
            unknown_attrs,
            "(01)09520123456788(99)XYZ(89)ABC123",
        ),
        // Digital Link 1.1 leniency: trailing slash, any qualifier order, GTIN-8.
        ("https://example.com/01/01234565/", dl11, "(01)00000001234565"),
        (
            "https://example.com/01/01234565/21/12345/10/4512",
            dl11,
            "(01)00000001234565(10)4512(21)12345",
        ),
        ("https://example.com/gln/0123456789128", dl11, "(414)0123456789128"),
    ];

    // Invalid URIs, with the error code and position.
    const INVALID: &[(&str, Settings, &str, usize)] = &[
        ("", strict, "not_digital_link", 0),
        ("ftp://", strict, "not_digital_link", 0),
        ("http://", strict, "bad_uri", 7),
        ("http:///", strict, "bad_uri", 7),
        ("http://a", strict, "not_digital_link", 8),
        ("http://a/", strict, "not_digital_link", 9),
        ("http://a/b", strict, "not_digital_link", 10),
        ("http://a/b/", strict, "not_digital_link", 11),
        ("HtTp://a/b/00/006141411234567890", strict, "not_digital_link", 0),
        ("https://00/006141411234567890", strict, "not_digital_link", 29),
        ("https://[fe80::1%25lo]/01/12312312312333", strict, "bad_uri", 16),
        ("https://$a/006141411234567890", strict, "bad_uri", 8),
        ("https://a$/006141411234567890", strict, "bad_uri", 9),
        ("https://a/01/12312312312333<bad", strict, "bad_uri", 27),
        ("https://a/01/12312312312333{bad", strict, "bad_uri", 27),
        ("https://a/01/12312312312333\\bad", strict, "bad_uri", 27),
        ("https://a/01/12312312312333^bad", strict, "bad_uri", 27),
        ("https://a/01/12312312312333`bad", strict, "bad_uri", 27),
        ("https://a/01/1231231231233é", strict, "bad_uri", 26),
        ("https://a/gtin/12312312312333", strict, "not_digital_link", 29),
        ("https://a/zzz/12312312312333", alphas, "not_digital_link", 28),
        ("https://a/cps/12312312312333", alphas, "not_digital_link", 28),
        ("https://a/01/2112345678900", strict, "bad_path", 13),
        ("https://a/01/416000336108", strict, "bad_path", 13),
        ("https://a/01/02345673", strict, "bad_path", 13),
        (
            "https://a/8004/9520614141234567?01=2112345678900",
            strict,
            "bad_attribute",
            35,
        ),
        (
            "https://a/8004/9520614141234567?01=02345673",
            strict,
            "bad_attribute",
            35,
        ),
        ("https://a/stem/00/006141411234567890/", strict, "bad_path", 36),
        ("https://a/01/12312312312333?99=", strict, "bad_attribute", 31),
        ("https://a/01/12312312312333?99=ABC&999=faux", strict, "unknown_ai", 35),
        (
            "https://example.com/01/09520123456788?10=ABC123",
            strict,
            "bad_attribute",
            38,
        ),
        (
            "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&01=09520123456788",
            strict,
            "duplicate_ai",
            57,
        ),
        (
            "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&10=ABC123",
            strict,
            "duplicate_ai",
            57,
        ),
        (
            "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&99=XYZ789",
            strict,
            "duplicate_ai",
            57,
        ),
        (
            "https://example.com/01/09520123456788/89/ABC123?99=XYZ",
            strict,
            "unknown_ai",
            38,
        ),
        (
            "https://example.com/01/09520123456788?99=XYZ&89=ABC123",
            strict,
            "unknown_ai",
            45,
        ),
        ("https://a/01//12312312312333", strict, "bad_path", 13),
        ("https://a/01/1231231231233%003", strict, "bad_escape", 26),
        ("https://a/01/12312312312333?99=ABC%00DEF", strict, "bad_escape", 34),
        // A '%' that is not followed by two hex digits, with the position of the '%'.
        ("https://a/01/12312312312333/10/AB%", strict, "bad_escape", 33),
        ("https://a/01/12312312312333/10/AB%G1", strict, "bad_escape", 33),
        ("https://a/01/12312312312333/10/AB%4", strict, "bad_escape", 33),
        ("https://a/01/12312312312333/10/%4gAB", strict, "bad_escape", 31),
        ("https://a/01/12312312312333/10/A%2fB%zz", strict, "bad_escape", 36),
        ("https://a/01/1231231231233%", strict, "bad_escape", 26),
        ("https://a/01/12312312312333?99=ABC%", strict, "bad_escape", 34),
        ("https://a/01/12312312312333?99=A%2G", strict, "bad_escape", 32),
        ("https://a/01/12312312312333?99=%%41", lenient, "bad_escape", 31),
        ("https://a/01/12312312312333/10/", strict, "bad_path", 31),
        ("https://a/01/12312312312333/99/ABC", strict, "bad_key_order", 28),
        (
            "https://example.com/01/01234565/21/12345/10/4512",
            lenient,
            "bad_key_order",
            41,
        ),
        (
            "https://example.com/00/123456789123456789/10/4512",
            strict,
            "bad_key_order",
            42,
        ),
        ("https://a/01/12312312312333/235/X/10/Y", strict, "bad_key_order", 34),
        ("https://a/01/12312312312333/foo/bar", strict, "bad_path", 28),
        (
            "https://a/01/12312312312333?8200=http%3A%2F%2Fx",
            strict,
            "bad_attribute",
            28,
        ),
        ("https://a/01/12312312312333?21=X", strict, "bad_attribute", 28),
        ("https://a/8004/9520614141234567?7040=1ABC", strict, "bad_attribute", 32),
        ("https://dlnkd.tn.gg/ARHKVAdpQg", dl11, "not_digital_link", 30),
    ];

    #[test]
    fn parses_valid_uris() {
        for (uri, settings, want) in VALID {
            match parse_digital_link(uri, &settings()) {
                Ok(link) => assert_eq!(bracketed(&link.ais), *want, "{uri}"),
                Err(e) => panic!("{uri}: {e:?}"),
            }
        }
    }

    #[test]
    fn refuses_invalid_uris() {
        for (uri, settings, code, pos) in INVALID {
            match parse_digital_link(uri, &settings()) {
                Ok(link) => panic!("{uri}: accepted as {:?}", link.ais),
                Err(e) => {
                    assert_eq!((e.code, e.position), (*code, *pos), "{uri}: {}", e.message);
                    assert!(!e.message.is_empty());
                }
            }
        }
    }

    #[test]
    fn keeps_domain_and_other_query_parameters() {
        let uri = "https://a:8080/x/01/12312312312333?linkType=gs1%3Apip&singleton&99=ABC&&lang=en";
        let link = parse_digital_link(uri, &strict()).unwrap();
        assert_eq!(link.domain, "a:8080");
        assert_eq!(link.ais, pairs(&[("01", "12312312312333"), ("99", "ABC")]));
        assert_eq!(
            link.other_query,
            pairs(&[("linkType", "gs1%3Apip"), ("singleton", ""), ("lang", "en")])
        );
    }

    #[test]
    fn settings_change_only_what_they_name() {
        let uri = "https://example.com/01/09520123456788/21/12345/10/4512/";
        assert_eq!(parse_digital_link(uri, &strict()).unwrap_err().code, "bad_path");
        let slash = DlSettings {
            allow_trailing_slash: true,
            ..DlSettings::default()
        };
        assert_eq!(parse_digital_link(uri, &slash).unwrap_err().code, "bad_key_order");
        let any = DlSettings {
            any_qualifier_order: true,
            ..slash
        };
        let link = parse_digital_link(uri, &any).unwrap();
        assert_eq!(bracketed(&link.ais), "(01)09520123456788(10)4512(21)12345");
        // Any order still allows each qualifier once, from one alternative.
        for bad in ["/01/09520123456788/10/A/10/B", "/01/09520123456788/10/A/235/B"] {
            let uri = format!("https://e.com{bad}");
            assert_eq!(
                parse_digital_link(&uri, &any).unwrap_err().code,
                "bad_key_order",
                "{uri}"
            );
        }
        // With any order, a qualifier in the query still belongs in the path.
        let uri = "https://e.com/01/09520123456788/21/A?10=B";
        assert_eq!(parse_digital_link(uri, &any).unwrap_err().code, "bad_attribute");
        // Unknown AIs only as attributes and only plausible codes.
        let unk = unknown_attrs();
        for (q, code) in [
            ("?89=X", None),
            ("?0199=X", Some("unknown_ai")),
            ("?12345=X", Some("unknown_ai")),
        ] {
            let uri = format!("https://e.com/01/09520123456788{q}");
            assert_eq!(parse_digital_link(&uri, &unk).err().map(|e| e.code), code, "{uri}");
        }
    }

    #[test]
    fn is_digital_link_checks_shape_only() {
        for yes in [
            "https://id.gs1.org/01/09520123456788",
            "HTTP://a/x/00/006141411234567890?x=1",
            "https://a/01/2112345678900",
            "https://a/01/12312312312333/99/ABC",
        ] {
            assert!(is_digital_link(yes), "{yes}");
        }
        for no in [
            "",
            "01/09520123456788",
            "ftp://a/01/09520123456788",
            "HtTp://a/01/09520123456788",
            "https:///01/09520123456788",
            "https://a/01/",
            "https://a/10/ABC",
            "https://a/gtin/09520123456788",
            "https://a/x?01=09520123456788",
            "https://dlnkd.tn.gg/ARHKVAdpQg",
            "]C1010952012345678810ABC",
        ] {
            assert!(!is_digital_link(no), "{no}");
        }
    }

    #[test]
    fn percent_decoding() {
        // (input, path, query) from the GS1 engine's URIunescape tests.
        let cases: &[(&str, &str, &str)] = &[
            ("", "", ""),
            ("test", "test", "test"),
            ("+", "+", " "),
            ("%20", " ", " "),
            ("%20AB", " AB", " AB"),
            ("A%20B", "A B", "A B"),
            ("AB%20", "AB ", "AB "),
            ("ABC%2", "ABC%2", "ABC%2"),
            ("ABCD%", "ABCD%", "ABCD%"),
            ("A%20%20B", "A  B", "A  B"),
            ("A%01B", "A\u{1}B", "A\u{1}B"),
            ("A%ffB", "A\u{ff}B", "A\u{ff}B"),
            ("A%FfB", "A\u{ff}B", "A\u{ff}B"),
            ("A%4FB", "AOB", "AOB"),
            ("A%4fB", "AOB", "AOB"),
            ("A%4gB", "A%4gB", "A%4gB"),
            ("A%G4B", "A%G4B", "A%G4B"),
            ("%C3%A9", "é", "é"),
            ("é%41", "éA", "éA"),
        ];
        for (input, path, query) in cases {
            assert_eq!(percent_decode(input).as_deref(), Ok(*path), "{input}");
            assert_eq!(percent_decode_query(input).as_deref(), Ok(*query), "{input}");
        }
        let e = percent_decode("éA%00").unwrap_err();
        assert_eq!((e.code, e.position), ("bad_escape", 2));
    }

    #[test]
    fn generates_uris() {
        // (stem, element string as pairs, expected URI) from the GS1 engine's generate tests.
        let cases: &[(&str, Pairs, &str)] = &[
            (
                "",
                &[("01", "12312312312326"), ("21", "abc123")],
                "https://id.gs1.org/01/12312312312326/21/abc123",
            ),
            (
                "https://example.com",
                &[
                    ("01", "12312312312326"),
                    ("22", "ABC"),
                    ("10", "DEF"),
                    ("21", "GHI"),
                    ("95", "INT"),
                ],
                "https://example.com/01/12312312312326/22/ABC/10/DEF/21/GHI?95=INT",
            ),
            (
                "https://example.com",
                &[("21", "XYZ"), ("01", "12312312312333"), ("10", "ABC123"), ("99", "XYZ")],
                "https://example.com/01/12312312312333/10/ABC123/21/XYZ?99=XYZ",
            ),
            (
                "https://example.com",
                &[("01", "12312312312333"), ("10", "ABC+123"), ("99", "XYZ+QWERTY")],
                "https://example.com/01/12312312312333/10/ABC%2B123?99=XYZ%2BQWERTY",
            ),
            (
                "https://example.com",
                &[
                    ("253", "9526064000028000001"),
                    ("99", "000001"),
                    ("01", "12312312312326"),
                    ("10", "DEF"),
                ],
                "https://example.com/253/9526064000028000001?01=12312312312326&99=000001&10=DEF",
            ),
            (
                "https://example.com",
                &[
                    ("01", "12312312312326"),
                    ("01", "12312312312326"),
                    ("10", "A"),
                    ("99", "X"),
                    ("99", "X"),
                ],
                "https://example.com/01/12312312312326/10/A?99=X",
            ),
            (
                "https://example.com",
                &[
                    ("8010", "0200"),
                    ("3133", "333333"),
                    ("3300", "000000"),
                    ("99", "57"),
                    ("01", "04065093955756"),
                    ("10", "0"),
                ],
                "https://example.com/8010/0200?3133=333333&3300=000000&01=04065093955756&99=57&10=0",
            ),
            (
                "https://example.com/",
                &[("01", "12312312312326")],
                "https://example.com/01/12312312312326",
            ),
            (
                "example.com/dl",
                &[("01", "12312312312326"), ("99", "A B")],
                "https://example.com/dl/01/12312312312326?99=A+B",
            ),
            (
                "https://e.com",
                &[("414", "9520123456788"), ("254", "32a/b")],
                "https://e.com/414/9520123456788/254/32a%2Fb",
            ),
        ];
        for (stem, ais, want) in cases {
            assert_eq!(to_digital_link(&pairs(ais), stem).as_deref(), Ok(*want), "{ais:?}");
        }
        let unknown = pairs(&[("01", "12312312312326"), ("99", "000001"), ("89", "XXX"), ("95", "INT")]);
        assert_eq!(
            to_digital_link(&unknown, "https://e.com").unwrap_err().code,
            "unknown_ai"
        );
        assert_eq!(
            to_digital_link_with(&unknown, "https://e.com", &unknown_attrs()).as_deref(),
            Ok("https://e.com/01/12312312312326?99=000001&89=XXX&95=INT")
        );
    }

    #[test]
    fn generation_errors() {
        let cases: &[(Pairs, &str, usize)] = &[
            (&[("99", "XYZ789")], "not_digital_link", 0),
            (
                &[("01", "12312312312326"), ("99", "1"), ("8200", "http://example.com")],
                "bad_attribute",
                2,
            ),
            (
                &[("01", "12312312312326"), ("235", "TPX"), ("99", "1"), ("22", "ABC")],
                "bad_attribute",
                1,
            ),
            (
                &[
                    ("01", "12312312312326"),
                    ("22", "A"),
                    ("10", "D"),
                    ("99", "1"),
                    ("235", "T"),
                ],
                "bad_attribute",
                4,
            ),
            (
                &[("01", "12312312312326"), ("235", "ABC"), ("10", "DEF")],
                "bad_attribute",
                1,
            ),
            (&[("01", "12312312312326"), ("10", "A"), ("10", "B")], "duplicate_ai", 2),
            (&[("01", "12312312312326"), ("10", "")], "bad_attribute", 1),
        ];
        for (ais, code, pos) in cases {
            let e = to_digital_link(&pairs(ais), "https://e.com").unwrap_err();
            assert_eq!((e.code, e.position), (*code, *pos), "{ais:?}: {}", e.message);
        }
        assert_eq!(
            to_digital_link(&pairs(&[("01", "12312312312326")]), "https://e.com/x y")
                .unwrap_err()
                .code,
            "bad_uri"
        );
    }

    /// xorshift64*: deterministic pseudo-random numbers without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    #[test]
    fn random_input_never_panics_and_round_trips() {
        const PIECES: &[&str] = &[
            "https://",
            "http://",
            "HTTPS://",
            "a",
            "e.com",
            "/",
            "/",
            "/",
            "01",
            "12312312312333",
            "2112345678900",
            "10",
            "21",
            "22",
            "235",
            "00",
            "006141411234567890",
            "414",
            "254",
            "7040",
            "8004",
            "8010",
            "8011",
            "253",
            "99",
            "98",
            "89",
            "17",
            "3103",
            "gtin",
            "lot",
            "ser",
            "?",
            "&",
            "=",
            "=",
            "#",
            "%",
            "%2",
            "%00",
            "%41",
            "%2F",
            "%ff",
            "+",
            " ",
            "é",
            "\u{1d}",
            "ABC",
            "x",
            "",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        for _ in 0..20_000 {
            let n = rng.below(14);
            let mut uri: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
            if rng.below(3) == 0 {
                uri = format!("https://e.com/01/12312312312333{uri}");
            }
            let bits = rng.next();
            let settings = DlSettings {
                lenient_gtin: bits & 1 != 0,
                convenience_alphas: bits & 2 != 0,
                allow_trailing_slash: bits & 4 != 0,
                any_qualifier_order: bits & 8 != 0,
                unknown_ai_attributes: bits & 16 != 0,
            };
            let _ = is_digital_link(&uri);
            let _ = percent_decode(&uri);
            let _ = percent_decode_query(&uri);
            match parse_digital_link(&uri, &settings) {
                Ok(link) => {
                    accepted += 1;
                    assert!(!link.ais.is_empty(), "{uri}");
                    assert!(is_digital_link(&uri) || settings.convenience_alphas, "{uri}");
                    // What generates must parse back to the same AIs (attributes may be reordered).
                    if let Ok(again) = to_digital_link_with(&link.ais, "https://e.com", &settings) {
                        let back = parse_digital_link(&again, &settings).unwrap_or_else(|e| panic!("{again}: {e:?}"));
                        let (mut a, mut b) = (link.ais.clone(), back.ais.clone());
                        a.sort();
                        b.sort();
                        assert_eq!(a, b, "{uri} -> {again}");
                    }
                }
                Err(e) => {
                    assert!(e.position <= uri.chars().count(), "{uri}: {e:?}");
                    assert!(!e.message.is_empty());
                }
            }
            let ais: Vec<(String, String)> = uri
                .split('/')
                .collect::<Vec<_>>()
                .chunks(2)
                .map(|c| (c[0].to_owned(), c.get(1).map_or("", |v| v).to_owned()))
                .collect();
            let _ = to_digital_link_with(&ais, &uri, &settings);
        }
        assert!(
            accepted > 100,
            "only {accepted} random URIs parsed; the generator is too weak"
        );
    }
}
