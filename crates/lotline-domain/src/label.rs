//! Receipt labels, pure: what a lot's label carries (the GS1 element string of its DataMatrix:
//! (01) GTIN, (17) expiry, (10) lot, (30) quantity), its human-readable lines in the UI language,
//! and the ZPL II a label printer takes. Drawing the symbol and the PNG and reading the symbol
//! back are the shell's (`app::label`); sending the ZPL is `devices::printer`'s.

use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};

use crate::gs1::{self, CharSet};
use crate::ids::{Gtin, LotNo, is_cset82};
use crate::text::Bilingual;

/// What a receipt label shows and encodes. `item_name` is already in the UI language;
/// `lang_zh` picks the language of the captions (lot, expiry, quantity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelContent {
    pub gtin: Gtin,
    pub expiry: Option<NaiveDate>,
    pub lot: LotNo,
    pub qty: u32,
    pub item_name: String,
    pub lang_zh: bool,
}

/// The longest item name a label shows, in characters (two lines of the text block).
pub const ITEM_NAME_MAX_CHARS: usize = 80;

/// Why a label cannot be made from this content (or for this label stock).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelContentError {
    #[error("'{input}' is not a GTIN ({why}): check the item's GTIN")]
    Gtin { input: String, why: String },
    #[error("the lot is empty: enter the lot number printed on the goods or the delivery note")]
    LotEmpty,
    #[error(
        "lot '{lot}' has {len} characters, but a GS1 lot (AI 10) holds at most {max}: check the lot number; a longer one cannot go into the barcode"
    )]
    LotTooLong { lot: String, len: usize, max: usize },
    #[error(
        "lot '{lot}' has '{ch}' at position {position}, which a GS1 barcode cannot carry (GS1 character set 82: letters, digits and ! \" % & ' ( ) * + , - . / : ; < = > ? _): check the lot number"
    )]
    LotCharacter { lot: String, ch: char, position: usize },
    #[error("the quantity is 0: a label needs a quantity of 1 or more")]
    ZeroQuantity,
    #[error(
        "quantity {qty} has more than {max_digits} digits, more than a GS1 count (AI 30) holds: check the quantity"
    )]
    QuantityTooLarge { qty: u32, max_digits: usize },
    #[error("the item name is empty: the label needs the item's name")]
    ItemNameEmpty,
    #[error(
        "the item name has a control character ({code}) at position {position}: correct the item's name in the master data"
    )]
    ItemNameControl { position: usize, code: String },
    #[error("the item name has {len} characters; a label shows at most {max}: use a shorter name for the item")]
    ItemNameTooLong { len: usize, max: usize },
    #[error(
        "the label stock is {width_mm} × {height_mm} mm; a receipt label needs at least {min_width} × {min_height} mm: check label_width_mm and label_height_mm in the printer's profile"
    )]
    LabelTooSmall {
        width_mm: u32,
        height_mm: u32,
        min_width: u32,
        min_height: u32,
    },
    #[error(
        "'{text}' has characters the printer's built-in font cannot print: put a font with Chinese characters on the printer and name it as `font` in the [printer] section of its profile (e.g. font = \"E:ANMDS.TTF\")"
    )]
    NeedsPrinterFont { text: String },
}

impl Bilingual for LabelContentError {
    fn message_zh(&self) -> String {
        use LabelContentError::*;
        match self {
            Gtin { input, why } => format!("'{input}' 不是有效的 GTIN（{why}）：请核对商品的 GTIN"),
            LotEmpty => "批号为空：请填写货物或送货单上的批号".into(),
            LotTooLong { lot, len, max } => format!(
                "批号 '{lot}' 有 {len} 个字符，而 GS1 批号（AI 10）最多 {max} 个：请核对批号；更长的批号无法放入条码"
            ),
            LotCharacter { lot, ch, position } => format!(
                "批号 '{lot}' 的第 {position} 个字符 '{ch}' 无法放入 GS1 条码（GS1 字符集 82：字母、数字和 ! \" % & ' ( ) * + , - . / : ; < = > ? _）：请核对批号"
            ),
            ZeroQuantity => "数量为 0：标签的数量须至少为 1".into(),
            QuantityTooLarge { qty, max_digits } => {
                format!("数量 {qty} 超过 {max_digits} 位，超出 GS1 数量（AI 30）的范围：请核对数量")
            }
            ItemNameEmpty => "商品名称为空：标签需要商品名称".into(),
            ItemNameControl { position, code } => {
                format!("商品名称的第 {position} 个字符是控制字符（{code}）：请在主数据中更正商品名称")
            }
            ItemNameTooLong { len, max } => {
                format!("商品名称有 {len} 个字符，标签最多显示 {max} 个：请为该商品使用较短的名称")
            }
            LabelTooSmall {
                width_mm,
                height_mm,
                min_width,
                min_height,
            } => format!(
                "标签纸为 {width_mm} × {height_mm} 毫米，收货标签至少需要 {min_width} × {min_height} 毫米：请检查打印机配置文件中的 label_width_mm 和 label_height_mm"
            ),
            NeedsPrinterFont { text } => format!(
                "'{text}' 含有打印机内置字体无法打印的字符：请在打印机上安装含中文字符的字体，并在其配置文件的 [printer] 部分用 `font` 指定（例如 font = \"E:ANMDS.TTF\"）"
            ),
        }
    }
}

impl LabelContent {
    /// The content from what an operator typed or the cache holds: the GTIN and the lot are
    /// checked here (the lot against AI (10) of the AI table), the rest when the label is made.
    pub fn from_input(
        gtin: &str,
        expiry: Option<NaiveDate>,
        lot: &str,
        qty: u32,
        item_name: &str,
        lang_zh: bool,
    ) -> Result<LabelContent, LabelContentError> {
        let gtin = Gtin::new(gtin).map_err(|e| LabelContentError::Gtin {
            input: gtin.chars().take(40).collect(),
            why: e.why,
        })?;
        check_lot(lot)?;
        // `check_lot` accepts exactly what `LotNo` does (a test keeps the two in step).
        let lot = LotNo::new(lot).expect("a lot that passed check_lot is a LotNo");
        let content = LabelContent {
            gtin,
            expiry,
            lot,
            qty,
            item_name: item_name.trim().to_owned(),
            lang_zh,
        };
        check(&content)?;
        Ok(content)
    }
}

/// The lot's length and characters against AI (10) in the AI table.
fn check_lot(lot: &str) -> Result<(), LabelContentError> {
    let def = gs1::ai_def("10").expect("AI (10) is in the table");
    let max = def.max_len();
    debug_assert!(def.components.iter().all(|c| c.cset == CharSet::X));
    if lot.is_empty() {
        return Err(LabelContentError::LotEmpty);
    }
    if let Some((i, ch)) = lot
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii() || !is_cset82(*c as u8))
    {
        return Err(LabelContentError::LotCharacter {
            lot: lot.to_owned(),
            ch,
            position: i + 1,
        });
    }
    if lot.len() > max {
        return Err(LabelContentError::LotTooLong {
            lot: lot.to_owned(),
            len: lot.len(),
            max,
        });
    }
    Ok(())
}

/// Checks what the types do not already guarantee: the lot against the AI table, the quantity
/// against AI (30), the item name.
pub fn check(c: &LabelContent) -> Result<(), LabelContentError> {
    check_lot(c.lot.as_str())?;
    if c.qty == 0 {
        return Err(LabelContentError::ZeroQuantity);
    }
    let max_digits = gs1::ai_def("30").expect("AI (30) is in the table").max_len();
    if c.qty.to_string().len() > max_digits {
        return Err(LabelContentError::QuantityTooLarge { qty: c.qty, max_digits });
    }
    let name = c.item_name.trim();
    if name.is_empty() {
        return Err(LabelContentError::ItemNameEmpty);
    }
    if let Some((i, ch)) = c.item_name.chars().enumerate().find(|(_, ch)| ch.is_control()) {
        return Err(LabelContentError::ItemNameControl {
            position: i + 1,
            code: format!("U+{:04X}", u32::from(ch)),
        });
    }
    let len = c.item_name.chars().count();
    if len > ITEM_NAME_MAX_CHARS {
        return Err(LabelContentError::ItemNameTooLong {
            len,
            max: ITEM_NAME_MAX_CHARS,
        });
    }
    Ok(())
}

/// The `(AI, value)` pairs of the label, in the order they are encoded: the fixed-length AIs
/// (01) and (17) first, then (10) and (30).
pub fn ais(c: &LabelContent) -> Result<Vec<(String, String)>, LabelContentError> {
    check(c)?;
    let mut v = vec![("01".to_owned(), c.gtin.as_str().to_owned())];
    if let Some(d) = c.expiry {
        v.push(("17".to_owned(), yymmdd(d)));
    }
    v.push(("10".to_owned(), c.lot.as_str().to_owned()));
    v.push(("30".to_owned(), c.qty.to_string()));
    Ok(v)
}

/// A date as GS1 `YYMMDD` (the real day, never day `00`).
fn yymmdd(d: NaiveDate) -> String {
    format!("{:02}{:02}{:02}", d.year().rem_euclid(100), d.month(), d.day())
}

/// The raw element string, as a scanner transmits it after `]d2`: `0109506000134352172701311
/// 0L123<GS>3012`, a GS (U+001D) after the lot, which is variable-length and not last.
pub fn element_string(c: &LabelContent) -> Result<String, LabelContentError> {
    Ok(gs1::element_string(&ais(c)?))
}

/// The bracketed form for people and logs: `(01)09506000134352(17)270131(10)L123(30)12`.
pub fn bracketed(c: &LabelContent) -> Result<String, LabelContentError> {
    Ok(gs1::bracketed(&ais(c)?))
}

/// The human-readable lines under the symbol: item name, lot, expiry (`YYYY-MM-DD`) and
/// quantity, with captions in the label's language.
pub fn human_lines(c: &LabelContent) -> [String; 4] {
    let name = c.item_name.trim().to_owned();
    let lot = c.lot.as_str();
    let expiry = c.expiry.map(|d| d.format("%Y-%m-%d").to_string());
    if c.lang_zh {
        [
            name,
            format!("批号：{lot}"),
            expiry.map_or_else(|| "有效期：无".to_owned(), |d| format!("有效期至：{d}")),
            format!("数量：{}", c.qty),
        ]
    } else {
        [
            name,
            format!("Lot: {lot}"),
            expiry.map_or_else(|| "Expiry: none".to_owned(), |d| format!("Expiry: {d}")),
            format!("Qty: {}", c.qty),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// ZPL II
// ---------------------------------------------------------------------------------------------

/// Print resolutions of label printers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dpi {
    D203,
    D300,
    D600,
}

impl Dpi {
    pub const ALL: &'static [Dpi] = &[Dpi::D203, Dpi::D300, Dpi::D600];

    pub const fn dpi(self) -> u32 {
        match self {
            Dpi::D203 => 203,
            Dpi::D300 => 300,
            Dpi::D600 => 600,
        }
    }

    /// ZPL's dots per millimetre for this resolution (8, 12, 24).
    pub const fn dots_per_mm(self) -> u32 {
        match self {
            Dpi::D203 => 8,
            Dpi::D300 => 12,
            Dpi::D600 => 24,
        }
    }

    pub fn from_dpi(dpi: u32) -> Option<Dpi> {
        Dpi::ALL.iter().copied().find(|d| d.dpi() == dpi)
    }
}

/// The label stock in the printer and how it prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMedia {
    pub dpi: Dpi,
    pub width_mm: u32,
    pub height_mm: u32,
    /// A font on the printer for text beyond Latin-1 (Chinese), e.g. `E:ANMDS.TTF`; `None`:
    /// the built-in font 0 only.
    pub font: Option<String>,
}

impl LabelMedia {
    /// Label widths a receipt label fits on, in mm.
    pub const WIDTH_MM: RangeInclusive<u32> = 50..=220;
    /// Label heights (lengths along the feed) a receipt label fits on, in mm.
    pub const HEIGHT_MM: RangeInclusive<u32> = 25..=1000;
}

/// The most modules per side the label's DataMatrix can need, which the layout reserves: the
/// longest content (FNC1, GTIN, expiry, a 20-character lot, FNC1, an 8-digit count) is at most
/// 40 codewords even in plain ASCII encodation (digit pairs one codeword each), and 26 × 26
/// holds 44. (`app::label`'s tests check rxing's symbols against it.)
pub const SYMBOL_MODULES: u32 = 26;

/// The ZPL II format of the label: `^CI28` (UTF-8 text), the label size, the GS1 DataMatrix
/// (`^BX` quality 200 with `_` as its escape character: `_1` in first position is FNC1, so a
/// scanner reads `]d2`; `_1` between elements is FNC1 as the separator; `__` is a literal `_`),
/// then the item name (wrapped in a two-line `^FB` block), lot, expiry and quantity, each text
/// field through `^FH` so `^`, `~` and `_` in it are printed, not obeyed. Lines end with `\n`,
/// which ZPL ignores between commands.
pub fn zpl(c: &LabelContent, media: &LabelMedia) -> Result<String, LabelContentError> {
    let data = element_string(c)?;
    let lines = human_lines(c);
    if media.font.is_none()
        && let Some(t) = lines.iter().find(|l| l.chars().any(|ch| u32::from(ch) > 0xFF))
    {
        return Err(LabelContentError::NeedsPrinterFont { text: t.clone() });
    }
    let too_small = || LabelContentError::LabelTooSmall {
        width_mm: media.width_mm,
        height_mm: media.height_mm,
        min_width: *LabelMedia::WIDTH_MM.start(),
        min_height: *LabelMedia::HEIGHT_MM.start(),
    };
    if media.width_mm < *LabelMedia::WIDTH_MM.start() || media.height_mm < *LabelMedia::HEIGHT_MM.start() {
        return Err(too_small());
    }
    let layout = zpl_layout(media, &lines).ok_or_else(too_small)?;

    let font = match &media.font {
        Some(f) => format!("^A@N,{h},{h},{f}", h = layout.font_h),
        None => format!("^A0N,{h},{h}", h = layout.font_h),
    };
    let mut z = String::with_capacity(512);
    z.push_str("^XA\n^CI28\n");
    z.push_str(&format!("^PW{}\n^LL{}\n^LH0,0\n", layout.width, layout.height));
    z.push_str(&format!(
        "^FO{m},{m}^BXN,{module},200,,,,_^FD_1{data}^FS\n",
        m = layout.margin,
        module = layout.module,
        data = zpl_symbol_escape(&data)
    ));
    let (x, step) = (layout.text_x, layout.line);
    let mut y = layout.margin;
    z.push_str(&format!(
        "^FO{x},{y}{font}^FB{w},2,0,L^FH_^FD{text}^FS\n",
        w = layout.text_w,
        text = zpl_text(&lines[0], true)
    ));
    y += 2 * step;
    for line in &lines[1..] {
        z.push_str(&format!("^FO{x},{y}{font}^FH_^FD{}^FS\n", zpl_text(line, false)));
        y += step;
    }
    z.push_str("^PQ1\n^XZ\n");
    Ok(z)
}

/// Positions and sizes on the label, in dots.
struct ZplLayout {
    width: u32,
    height: u32,
    margin: u32,
    module: u32,
    text_x: u32,
    text_w: u32,
    line: u32,
    font_h: u32,
}

/// The symbol at the top left (0.5 mm modules, fewer dots on a short label), the text block to
/// its right: five line slots (the name's two, lot, expiry, quantity), the font as large as the
/// widest of the three one-line fields allows, 1.5–5 mm. `None` when the text does not fit.
fn zpl_layout(media: &LabelMedia, lines: &[String; 4]) -> Option<ZplLayout> {
    let d = media.dpi.dots_per_mm();
    let (width, height) = (media.width_mm * d, media.height_mm * d);
    let margin = 2 * d;
    let avail_h = height.checked_sub(2 * margin)?;
    let module = (d / 2).min(avail_h / SYMBOL_MODULES).max(2);
    let text_x = margin + SYMBOL_MODULES * module + 2 * d;
    let text_w = width.checked_sub(text_x + margin)?;
    let line = (avail_h / 5).min(6 * d);
    // Estimated advance: Latin 0.6 of the font height, anything wider (CJK) a full height.
    let em_tenths: u32 = lines[1..]
        .iter()
        .map(|l| {
            l.chars()
                .map(|ch| if u32::from(ch) <= 0xFF { 6 } else { 10 })
                .sum::<u32>()
        })
        .max()
        .unwrap_or(1)
        .max(1);
    let font_h = (line * 4 / 5).min(text_w * 10 / em_tenths).min(5 * d);
    (font_h >= 3 * d / 2).then_some(ZplLayout {
        width,
        height,
        margin,
        module,
        text_x,
        text_w,
        line,
        font_h,
    })
}

/// The element string as `^BX` field data with `_` as escape character: each GS is FNC1 (`_1`),
/// a `_` is `__`. The leading `_1` (FNC1 in first position) is written by [`zpl`].
fn zpl_symbol_escape(element_string: &str) -> String {
    let mut s = String::with_capacity(element_string.len() + 8);
    for ch in element_string.chars() {
        match ch {
            gs1::GS => s.push_str("_1"),
            '_' => s.push_str("__"),
            c => s.push(c),
        }
    }
    s
}

/// Text as `^FH_` field data: `^`, `~`, `_` (and `\`, which `^FB` reads as an escape, as `\\`)
/// written in hex so the printer prints them; UTF-8 passes through under `^CI28`.
fn zpl_text(text: &str, in_field_block: bool) -> String {
    let mut s = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '^' => s.push_str("_5E"),
            '~' => s.push_str("_7E"),
            '_' => s.push_str("_5F"),
            '\\' if in_field_block => s.push_str("_5C_5C"),
            '\\' => s.push_str("_5C"),
            c => s.push(c),
        }
    }
    s
}

/// What the DataMatrix of a [`zpl`] label carries, read back from the ZPL: the `^BX` field's data
/// with its escapes undone (the leading FNC1 dropped, later FNC1s as GS, `__` as `_`), i.e. the
/// element string a scanner transmits after `]d2`. `None` without a `^BX` field, or when it does
/// not start with FNC1.
pub fn zpl_symbol_data(zpl: &str) -> Option<String> {
    let field = zpl.split("^BX").nth(1)?;
    let data = field.split_once("^FD")?.1.split_once("^FS")?.0;
    let data = data.strip_prefix("_1")?;
    let mut out = String::with_capacity(data.len());
    let mut chars = data.chars();
    while let Some(c) = chars.next() {
        if c == '_' {
            match chars.next()? {
                '1' => out.push(gs1::GS),
                '_' => out.push('_'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{ScanKind, ScanSettings, parse_scan};

    fn date(s: &str) -> NaiveDate {
        crate::ids::parse_iso_date(s).unwrap()
    }

    fn content(gtin: &str, expiry: Option<&str>, lot: &str, qty: u32, name: &str, zh: bool) -> LabelContent {
        LabelContent::from_input(gtin, expiry.map(date), lot, qty, name, zh).unwrap()
    }

    fn media(dpi: Dpi, width_mm: u32, height_mm: u32, font: Option<&str>) -> LabelMedia {
        LabelMedia {
            dpi,
            width_mm,
            height_mm,
            font: font.map(str::to_owned),
        }
    }

    /// (content, raw element string with `<GS>` for the GS, bracketed form)
    fn cases() -> Vec<(LabelContent, &'static str, &'static str)> {
        vec![
            (
                content("09506000134352", Some("2027-01-31"), "L123", 12, "Milk", false),
                concat!("0109506000134352", "17270131", "10L123<GS>", "3012"),
                "(01)09506000134352(17)270131(10)L123(30)12",
            ),
            (
                content("9506000134352", None, "A-1/2", 1, "Milk", false),
                concat!("0109506000134352", "10A-1/2<GS>", "301"),
                "(01)09506000134352(10)A-1/2(30)1",
            ),
            (
                content(
                    "96385074",
                    Some("2030-02-28"),
                    "ABCDEFGHIJ0123456789",
                    99_999_999,
                    "x",
                    true,
                ),
                concat!(
                    "0100000096385074",
                    "17300228",
                    "10ABCDEFGHIJ0123456789<GS>",
                    "3099999999"
                ),
                "(01)00000096385074(17)300228(10)ABCDEFGHIJ0123456789(30)99999999",
            ),
            (
                content("09506000134352", Some("2028-02-29"), "x(1)_y", 99999, "牛奶", true),
                concat!("0109506000134352", "17280229", "10x(1)_y<GS>", "3099999"),
                "(01)09506000134352(17)280229(10)x\\(1)_y(30)99999",
            ),
        ]
    }

    #[test]
    fn element_strings_and_bracketed_forms() {
        for (c, raw, br) in cases() {
            assert_eq!(element_string(&c).unwrap(), raw.replace("<GS>", "\u{1d}"), "{br}");
            assert_eq!(bracketed(&c).unwrap(), br);
        }
    }

    #[test]
    fn element_strings_parse_back_to_the_same_fields() {
        let today = date("2026-06-01");
        for (c, _, br) in cases() {
            let scan = format!("]d2{}", element_string(&c).unwrap());
            let s = parse_scan(scan.as_bytes(), None, &ScanSettings::default(), today)
                .unwrap_or_else(|e| panic!("{br}: {e}"));
            assert_eq!(s.kind, ScanKind::Gs1, "{br}");
            assert_eq!(s.symbology.as_deref(), Some("]d2"));
            assert_eq!(s.fields.gtin.as_ref(), Some(&c.gtin), "{br}");
            assert_eq!(s.fields.lot.as_ref(), Some(&c.lot), "{br}");
            assert_eq!(s.fields.expiry, c.expiry, "{br}");
            assert_eq!(s.fields.quantity, Some(u64::from(c.qty)), "{br}");
            assert_eq!(s.bracketed(), br);
        }
    }

    #[test]
    fn content_that_cannot_be_encoded_is_refused_with_its_reason() {
        use LabelContentError as E;
        let long_name = "x".repeat(ITEM_NAME_MAX_CHARS + 1);
        // (gtin, lot, qty, item name, expected error)
        let cases: Vec<(&str, &str, u32, &str, E)> = vec![
            (
                "09506000134352",
                "ABCDEFGHIJ01234567890",
                1,
                "Milk",
                E::LotTooLong {
                    lot: "ABCDEFGHIJ01234567890".into(),
                    len: 21,
                    max: 20,
                },
            ),
            (
                "09506000134352",
                "L 12",
                1,
                "Milk",
                E::LotCharacter {
                    lot: "L 12".into(),
                    ch: ' ',
                    position: 2,
                },
            ),
            (
                "09506000134352",
                "批次7",
                1,
                "Milk",
                E::LotCharacter {
                    lot: "批次7".into(),
                    ch: '批',
                    position: 1,
                },
            ),
            (
                "09506000134352",
                "L#1",
                1,
                "Milk",
                E::LotCharacter {
                    lot: "L#1".into(),
                    ch: '#',
                    position: 2,
                },
            ),
            ("09506000134352", "", 1, "Milk", E::LotEmpty),
            ("09506000134352", "L1", 0, "Milk", E::ZeroQuantity),
            (
                "09506000134352",
                "L1",
                100_000_000,
                "Milk",
                E::QuantityTooLarge {
                    qty: 100_000_000,
                    max_digits: 8,
                },
            ),
            ("09506000134352", "L1", 1, "  ", E::ItemNameEmpty),
            (
                "09506000134352",
                "L1",
                1,
                "Milk\n2 l",
                E::ItemNameControl {
                    position: 5,
                    code: "U+000A".into(),
                },
            ),
            (
                "09506000134352",
                "L1",
                1,
                &long_name,
                E::ItemNameTooLong { len: 81, max: 80 },
            ),
        ];
        for (gtin, lot, qty, name, want) in cases {
            let got = LabelContent::from_input(gtin, None, lot, qty, name, false).unwrap_err();
            assert_eq!(got, want, "{lot} {qty} {name}");
            assert!(!got.to_string().is_empty());
            let zh = got.message_zh();
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{zh}");
        }
        let e = LabelContent::from_input("09506000134353", None, "L1", 1, "Milk", false).unwrap_err();
        assert!(matches!(&e, E::Gtin { input, why } if input == "09506000134353" && why.contains("check digit")));
        assert!(e.message_zh().contains("09506000134353"));
        // The lot error names the lot and the limit in both languages.
        let e = E::LotTooLong {
            lot: "ABCDEFGHIJ01234567890".into(),
            len: 21,
            max: 20,
        };
        assert!(e.to_string().contains("'ABCDEFGHIJ01234567890' has 21 characters"));
        assert!(e.to_string().contains("at most 20"));
        assert!(e.message_zh().contains("最多 20 个"));
    }

    #[test]
    fn content_built_by_hand_is_checked_too() {
        let mut c = content("09506000134352", None, "L1", 5, "Milk", false);
        c.qty = 0;
        assert_eq!(element_string(&c), Err(LabelContentError::ZeroQuantity));
        assert_eq!(bracketed(&c), Err(LabelContentError::ZeroQuantity));
        c.qty = 5;
        c.item_name = String::new();
        assert_eq!(
            zpl(&c, &media(Dpi::D203, 50, 30, None)),
            Err(LabelContentError::ItemNameEmpty)
        );
    }

    #[test]
    fn human_lines_in_both_languages() {
        let en = content(
            "09506000134352",
            Some("2027-01-31"),
            "L123",
            12,
            " Whole milk 1 l ",
            false,
        );
        assert_eq!(
            human_lines(&en),
            ["Whole milk 1 l", "Lot: L123", "Expiry: 2027-01-31", "Qty: 12"]
        );
        let zh = content("09506000134352", None, "L-7/A", 1, "全脂牛奶 1 升", true);
        assert_eq!(
            human_lines(&zh),
            ["全脂牛奶 1 升", "批号：L-7/A", "有效期：无", "数量：1"]
        );
        let zh = LabelContent {
            expiry: Some(date("2026-12-31")),
            ..zh
        };
        assert_eq!(human_lines(&zh)[2], "有效期至：2026-12-31");
    }

    #[test]
    fn zpl_labels() {
        // (content, media, expected pieces, in order)
        let c_en = content("09506000134352", Some("2027-01-31"), "L_1", 12, "Cap ^A~x_y\\z", false);
        let c_zh = content("09506000134352", None, "L-1/2", 99999, "全脂牛奶", true);
        let cases: Vec<(&LabelContent, LabelMedia, Vec<&str>)> = vec![
            (
                &c_en,
                media(Dpi::D203, 50, 30, None),
                vec![
                    "^XA\n^CI28\n^PW400\n^LL240\n^LH0,0\n",
                    "^FO16,16^BXN,4,200,,,,_^FD_10109506000134352172701311",
                    "0L__1_13012^FS\n",
                    "^FO136,16^A0N,",
                    "^FB248,2,0,L^FH_^FDCap _5EA_7Ex_5Fy_5C_5Cz^FS\n",
                    "^FH_^FDLot: L_5F1^FS\n",
                    "^FH_^FDExpiry: 2027-01-31^FS\n",
                    "^FH_^FDQty: 12^FS\n",
                    "^PQ1\n^XZ\n",
                ],
            ),
            (
                &c_zh,
                media(Dpi::D300, 100, 50, Some("E:ANMDS.TTF")),
                vec![
                    "^XA\n^CI28\n^PW1200\n^LL600\n",
                    "^FO24,24^BXN,6,200,,,,_^FD_10109506000134352",
                    "10L-1/2_13099999^FS\n",
                    "^A@N,",
                    ",E:ANMDS.TTF^FB",
                    "^FD全脂牛奶^FS\n",
                    "^FD批号：L-1/2^FS\n",
                    "^FD有效期：无^FS\n",
                    "^FD数量：99999^FS\n",
                    "^XZ\n",
                ],
            ),
            (
                &c_en,
                media(Dpi::D600, 50, 25, None),
                vec!["^PW1200\n^LL600\n", "^BXN,12,200,,,,_^FD_1"],
            ),
        ];
        for (c, m, pieces) in cases {
            let z = zpl(c, &m).unwrap_or_else(|e| panic!("{m:?}: {e}"));
            let mut at = 0;
            for p in pieces {
                let found = z[at..]
                    .find(p)
                    .unwrap_or_else(|| panic!("{m:?}: {p:?} not after {at} in\n{z}"));
                at += found + p.len();
            }
            assert!(z.starts_with("^XA\n") && z.ends_with("^XZ\n"), "{z}");
            assert_eq!(zpl_symbol_data(&z), Some(element_string(c).unwrap()), "{z}");
            assert_eq!(z.matches("^FD").count(), 5, "one symbol and four text fields: {z}");
        }
    }

    #[test]
    fn zpl_refuses_what_the_printer_cannot_print() {
        let zh = content("09506000134352", None, "L1", 1, "牛奶", true);
        assert_eq!(
            zpl(&zh, &media(Dpi::D203, 50, 30, None)),
            Err(LabelContentError::NeedsPrinterFont { text: "牛奶".into() })
        );
        // Latin-1 is in the built-in font.
        let en = content("09506000134352", None, "L1", 1, "Café crème", false);
        assert!(zpl(&en, &media(Dpi::D203, 50, 30, None)).is_ok());
        // Chinese captions need the font too, even with a Latin name.
        let zh_latin = LabelContent {
            lang_zh: true,
            ..en.clone()
        };
        assert!(matches!(
            zpl(&zh_latin, &media(Dpi::D203, 50, 30, None)),
            Err(LabelContentError::NeedsPrinterFont { text }) if text == "批号：L1"
        ));
        for (w, h) in [(49, 30), (50, 24), (0, 0)] {
            assert_eq!(
                zpl(&en, &media(Dpi::D203, w, h, None)),
                Err(LabelContentError::LabelTooSmall {
                    width_mm: w,
                    height_mm: h,
                    min_width: 50,
                    min_height: 25
                })
            );
        }
        // Every size in range lays out, at every resolution, with the longest lines.
        let long = content(
            "09506000134352",
            Some("2027-01-31"),
            "ABCDEFGHIJ0123456789",
            99_999_999,
            &"W".repeat(80),
            false,
        );
        for dpi in Dpi::ALL {
            for (w, h) in [(50, 25), (50, 1000), (220, 25), (57, 32), (101, 152)] {
                let z = zpl(&long, &media(*dpi, w, h, None)).unwrap_or_else(|e| panic!("{dpi:?} {w}x{h}: {e}"));
                assert_eq!(zpl_symbol_data(&z), Some(element_string(&long).unwrap()));
            }
        }
    }

    #[test]
    fn zpl_symbol_data_undoes_the_escapes_only() {
        assert_eq!(
            zpl_symbol_data("^XA^BXN,4,200,,,,_^FD_101_1a__b^FS^XZ").as_deref(),
            Some("01\u{1d}a_b")
        );
        assert_eq!(zpl_symbol_data("^XA^BXN,4,200^FD01^FS^XZ"), None, "no FNC1 first");
        assert_eq!(zpl_symbol_data("^XA^BXN,4,200^FD_101_x^FS^XZ"), None, "unknown escape");
        assert_eq!(zpl_symbol_data("^XA^FDx^FS^XZ"), None);
    }

    #[test]
    fn the_lot_check_and_the_lot_type_agree() {
        let mut lots: Vec<String> = [
            "",
            "A",
            "L 1",
            "L#1",
            "é",
            "批次",
            "L\u{1d}1",
            "a(b)c_d!%&'*+,-./:;<=>?\"",
            "x~",
            "x^",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        lots.extend((18..=22).map(|n| "9".repeat(n)));
        lots.extend((0u8..=127).map(|b| format!("A{}", b as char)));
        for lot in lots {
            assert_eq!(check_lot(&lot).is_ok(), LotNo::new(&lot).is_ok(), "{lot:?}");
        }
    }

    #[test]
    fn dpi_values() {
        assert_eq!(Dpi::from_dpi(300), Some(Dpi::D300));
        assert_eq!(Dpi::from_dpi(200), None);
        let dpmm: Vec<u32> = Dpi::ALL.iter().map(|d| d.dots_per_mm()).collect();
        assert_eq!(dpmm, [8, 12, 24]);
    }
}
