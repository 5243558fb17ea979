//! Receipt labels, the shell side: the GS1 DataMatrix encoded with rxing (GS1 encodation, FNC1
//! in first position), the label drawn (the symbol with its quiet zone, the human-readable lines
//! in the embedded WenQuanYi Micro Hei) and encoded as PNG, the drawn symbol read back with rxing,
//! the PNG saved atomically, and the ZPL sent to a printer.
//!
//! A [`Label`] exists only when its symbol read back as the identical element string (`]d2`,
//! GS separators) and its ZPL's `^BX` data undoes to that same string: what [`print`] sends has
//! been checked.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use rxing::common::HybridBinarizer;
use rxing::datamatrix::encoder::SymbolShapeHint;
use rxing::datamatrix::{DataMatrixReader, DataMatrixWriter};
use rxing::{
    BarcodeFormat, BinaryBitmap, DecodeHintValue, DecodeHints, EncodeHintValue, EncodeHints, Luma8LuminanceSource,
    RXingResultMetadataType, RXingResultMetadataValue, Reader, Writer,
};

use crate::devices::printer::{self, PrinterError, PrinterTarget};
use crate::domain::gs1::GS;
use crate::domain::label::{self, LabelContent, LabelContentError, LabelMedia};
use crate::domain::text::Bilingual;

/// A label made and checked: ready to show, save and print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The raw element string, GS (U+001D) between elements, as a scanner sends it after `]d2`.
    pub element_string: String,
    /// `(01)09506000134352(17)270131(10)L123(30)12`.
    pub bracketed: String,
    /// The DataMatrix, row by row, `true` = dark module; no quiet zone.
    pub modules: Vec<Vec<bool>>,
    /// The ZPL II for the label printer.
    pub zpl: String,
    /// The label as a grayscale PNG: the symbol and the human-readable lines.
    pub png: Vec<u8>,
}

/// Why a label could not be made or saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error(transparent)]
    Content(#[from] LabelContentError),
    #[error(
        "the barcode for {bracketed} could not be made ({detail}); nothing was printed: check the lot and quantity, and report this if they are right"
    )]
    Encode { bracketed: String, detail: String },
    #[error(
        "the label's barcode reads back as {decoded} instead of {expected}; the label was not printed: report this, and write the label by hand for now"
    )]
    RoundTrip { expected: String, decoded: String },
    #[error("the label could not be drawn ({detail}); nothing was printed: report this")]
    Render { detail: String },
    #[error("{}", save_en(.path, .problem))]
    Save { path: PathBuf, problem: SaveProblem },
}

/// Why a PNG could not be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveProblem {
    MissingFolder,
    Permission,
    DiskFull,
    Other(String),
}

fn save_en(path: &Path, problem: &SaveProblem) -> String {
    let p = path.display();
    let folder = folder_of(path).display().to_string();
    match problem {
        SaveProblem::MissingFolder => {
            format!(
                "cannot save the label to {p}: the folder {folder} does not exist; create it or choose another place"
            )
        }
        SaveProblem::Permission => format!(
            "cannot save the label to {p}: no permission to write in {folder}; choose another place or ask for access"
        ),
        SaveProblem::DiskFull => {
            format!("cannot save the label to {p}: the disk is full; free some space and save again")
        }
        SaveProblem::Other(detail) => {
            format!("cannot save the label to {p} ({detail}); check the place and save again")
        }
    }
}

impl Bilingual for LabelError {
    fn message_zh(&self) -> String {
        match self {
            LabelError::Content(e) => e.message_zh(),
            LabelError::Encode { bracketed, detail } => format!(
                "无法为 {bracketed} 生成条码（{detail}），未打印任何内容：请核对批号和数量；如无误，请报告此问题"
            ),
            LabelError::RoundTrip { expected, decoded } => {
                format!("标签条码读回的是 {decoded}，而不是 {expected}；标签未打印：请报告此问题，暂时请手写标签")
            }
            LabelError::Render { detail } => format!("无法绘制标签（{detail}），未打印任何内容：请报告此问题"),
            LabelError::Save { path, problem } => {
                let p = path.display();
                let folder = folder_of(path).display().to_string();
                match problem {
                    SaveProblem::MissingFolder => {
                        format!("无法把标签保存到 {p}：文件夹 {folder} 不存在；请创建该文件夹或选择其他位置")
                    }
                    SaveProblem::Permission => {
                        format!("无法把标签保存到 {p}：没有在 {folder} 中写入的权限；请选择其他位置或申请权限")
                    }
                    SaveProblem::DiskFull => format!("无法把标签保存到 {p}：磁盘已满；请释放空间后重新保存"),
                    SaveProblem::Other(detail) => {
                        format!("无法把标签保存到 {p}（{detail}）：请检查该位置后重新保存")
                    }
                }
            }
        }
    }
}

/// Makes the label: element string, ZPL for `media`, the DataMatrix (rxing, GS1, FNC1 first),
/// the PNG; then reads the drawn symbol back with rxing and refuses a label whose symbol, or whose
/// ZPL, does not give the identical element string.
pub fn make_label(content: &LabelContent, media: &LabelMedia) -> Result<Label, LabelError> {
    let element_string = label::element_string(content)?;
    let bracketed = label::bracketed(content)?;
    let zpl = label::zpl(content, media)?;
    // The ZPL carries the same element string (its `^BX` escapes undone).
    match label::zpl_symbol_data(&zpl) {
        Some(d) if d == element_string => {}
        other => {
            return Err(LabelError::RoundTrip {
                expected: as_scanned(&element_string),
                decoded: format!("{} (in the ZPL)", other.as_deref().map_or("nothing".into(), as_scanned)),
            });
        }
    }
    let modules = encode(&element_string).map_err(|detail| LabelError::Encode {
        bracketed: bracketed.clone(),
        detail,
    })?;
    let image = draw(content, &modules)?;
    verify(&element_string, &image)?;
    let png = image.png().map_err(|detail| LabelError::Render { detail })?;
    Ok(Label {
        element_string,
        bracketed,
        modules,
        zpl,
        png,
    })
}

/// Sends the label's ZPL to the printer (see [`printer::send`]).
pub fn print(label: &Label, target: &PrinterTarget, timeout: Duration) -> Result<(), PrinterError> {
    printer::send(target, &label.zpl, timeout)
}

/// Writes the PNG to `path` atomically: a temporary file in the same folder, synced, renamed over
/// `path`, the folder synced. On failure nothing is left at `path` that was not there before.
pub fn save_png(label: &Label, path: &Path) -> Result<(), LabelError> {
    let folder = folder_of(path);
    let fail = |e: std::io::Error| LabelError::Save {
        path: path.to_path_buf(),
        problem: save_problem(&e, folder),
    };
    let Some(name) = path.file_name() else {
        return Err(LabelError::Save {
            path: path.to_path_buf(),
            problem: SaveProblem::Other("it names a folder, not a file".into()),
        });
    };
    if !folder.is_dir() {
        return Err(LabelError::Save {
            path: path.to_path_buf(),
            problem: SaveProblem::MissingFolder,
        });
    }
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = folder.join(format!(".{}.{}-{seq}.tmp", name.to_string_lossy(), std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&label.png)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself survives a power cut once the folder is synced.
        std::fs::File::open(folder)?.sync_all()
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn save_problem(e: &std::io::Error, folder: &Path) -> SaveProblem {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => SaveProblem::Permission,
        std::io::ErrorKind::NotFound if !folder.is_dir() => SaveProblem::MissingFolder,
        std::io::ErrorKind::StorageFull => SaveProblem::DiskFull,
        _ => SaveProblem::Other(e.to_string()),
    }
}

/// Reads the symbol in `image` back; it must be GS1 (`]d2`, FNC1 first) with exactly
/// `element_string`.
fn verify(element_string: &str, image: &Gray) -> Result<(), LabelError> {
    let expected = as_scanned(element_string);
    let (symbology, text) = read_back(image).map_err(|detail| LabelError::RoundTrip {
        expected: expected.clone(),
        decoded: format!("nothing ({detail})"),
    })?;
    let decoded = format!("{symbology}{}", show_gs(&text));
    if decoded != expected {
        return Err(LabelError::RoundTrip { expected, decoded });
    }
    Ok(())
}

/// GS written as `<GS>` for messages.
fn show_gs(s: &str) -> String {
    s.replace(GS, "<GS>")
}

/// What a scanner sends for a GS1 DataMatrix of `element_string`, GS shown as `<GS>`.
fn as_scanned(element_string: &str) -> String {
    format!("]d2{}", show_gs(element_string))
}

// ---------------------------------------------------------------------------------------------
// The symbol
// ---------------------------------------------------------------------------------------------

/// The DataMatrix of a raw element string: rxing's minimal encoder with the GS1 hint (it writes
/// FNC1 first and turns each GS into FNC1; both hints are needed, its plain path ignores the GS1
/// one), square, one entry per module.
fn encode(element_string: &str) -> Result<Vec<Vec<bool>>, String> {
    let hints = EncodeHints::default()
        .with(EncodeHintValue::DataMatrixCompact(true))
        .with(EncodeHintValue::Gs1Format(true))
        .with(EncodeHintValue::DataMatrixShape(SymbolShapeHint::FORCE_SQUARE));
    let m = DataMatrixWriter
        .encode_with_hints(element_string, &BarcodeFormat::DATA_MATRIX, 0, 0, &hints)
        .map_err(|e| e.to_string())?;
    Ok((0..m.height())
        .map(|y| (0..m.width()).map(|x| m.get(x, y)).collect())
        .collect())
}

/// Reads the DataMatrix in the drawn label (the whole image, text and all): its symbology
/// identifier (`]d2` for FNC1 in first position) and its text (later FNC1s as GS).
fn read_back(image: &Gray) -> Result<(String, String), String> {
    let source = Luma8LuminanceSource::new(image.px.clone(), image.w, image.h).map_err(|e| e.to_string())?;
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let hints = DecodeHints::default().with(DecodeHintValue::TryHarder(true));
    let result = DataMatrixReader
        .decode_with_hints(&mut bitmap, &hints)
        .map_err(|e| e.to_string())?;
    let symbology = match result
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(RXingResultMetadataValue::SymbologyIdentifier(s)) => s.clone(),
        _ => String::new(),
    };
    Ok((symbology, result.getText().to_owned()))
}

// ---------------------------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------------------------

/// Pixels per module: 8 px, a symbol of 2–4 cm on a handheld's screen.
const MODULE_PX: u32 = 8;
/// White around the label's content; at least the quiet zone (here 3 modules; GS1 asks for 1).
const MARGIN_PX: u32 = 24;
const GAP_PX: u32 = 24;
const NAME_PX: f32 = 30.0;
const LINE_PX: f32 = 26.0;
/// The widest the text block grows; a longer item name wraps onto a second line, then ends in `…`.
const TEXT_MAX_PX: f32 = 520.0;

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttc");

fn font() -> Result<&'static FontRef<'static>, String> {
    static FONT: OnceLock<Result<FontRef<'static>, String>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice_and_index(FONT_BYTES, 0).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| format!("the embedded font: {e}"))
}

/// An 8-bit grayscale image, white = 255.
struct Gray {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Gray {
    fn new(w: u32, h: u32) -> Gray {
        Gray {
            w,
            h,
            px: vec![255; (w * h) as usize],
        }
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for row in y..(y + h).min(self.h) {
            let start = (row * self.w + x) as usize;
            let end = (row * self.w + (x + w).min(self.w)) as usize;
            self.px[start..end].fill(0);
        }
    }

    /// Darkens a pixel by `coverage` (0–1); outside the image is ignored.
    fn ink(&mut self, x: i64, y: i64, coverage: f32) {
        if x < 0 || y < 0 || x >= i64::from(self.w) || y >= i64::from(self.h) {
            return;
        }
        let i = (y as u32 * self.w + x as u32) as usize;
        let v = 255.0 * (1.0 - coverage.clamp(0.0, 1.0));
        self.px[i] = self.px[i].min(v.round() as u8);
    }

    fn png(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.w, self.h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&self.px).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

fn text_width(font: &FontRef<'_>, size: f32, text: &str) -> f32 {
    let sf = font.as_scaled(PxScale::from(size));
    let mut w = 0.0;
    let mut prev = None;
    for ch in text.chars() {
        let id = sf.glyph_id(ch);
        if let Some(p) = prev {
            w += sf.kern(p, id);
        }
        w += sf.h_advance(id);
        prev = Some(id);
    }
    w
}

fn draw_text(img: &mut Gray, font: &FontRef<'_>, size: f32, x: f32, top: f32, text: &str) {
    let scale = PxScale::from(size);
    let sf = font.as_scaled(scale);
    let baseline = top + sf.ascent();
    let mut caret = x;
    let mut prev = None;
    for ch in text.chars() {
        let id = sf.glyph_id(ch);
        if let Some(p) = prev {
            caret += sf.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += sf.h_advance(id);
        prev = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, c| img.ink(b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy), c));
        }
    }
}

/// Breaks `text` into at most `max_lines` lines no wider than `max_w`: at spaces where a Latin
/// word would be split, anywhere in CJK; the last line ends in `…` when text is left over.
fn wrap(font: &FontRef<'_>, size: f32, text: &str, max_w: f32, max_lines: usize) -> Vec<String> {
    let fits = |s: &str| text_width(font, size, s) <= max_w;
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        let mut cand = cur.clone();
        cand.push(ch);
        if cur.is_empty() || fits(&cand) {
            cur = cand;
            continue;
        }
        let split_word = ch.is_ascii_alphanumeric()
            && cur.ends_with(|c: char| c.is_ascii_alphanumeric())
            && cur.trim_end().contains(' ');
        if split_word && let Some(sp) = cur.rfind(' ') {
            let rest = cur[sp + 1..].to_owned();
            lines.push(cur[..sp].trim_end().to_owned());
            cur = rest;
            cur.push(ch);
        } else {
            lines.push(cur.trim_end().to_owned());
            cur = if ch == ' ' { String::new() } else { ch.to_string() };
        }
    }
    if !cur.trim().is_empty() {
        lines.push(cur.trim_end().to_owned());
    }
    if lines.len() > max_lines {
        let mut last: String = lines[max_lines - 1].clone();
        lines.truncate(max_lines);
        while !last.is_empty() && !fits(&format!("{last}…")) {
            last.pop();
        }
        lines[max_lines - 1] = format!("{}…", last.trim_end());
    }
    lines
}

/// The label as pixels: the symbol at the top left inside the margin (its quiet zone), the item
/// name (up to two lines) and the lot, expiry and quantity lines to its right.
fn draw(content: &LabelContent, modules: &[Vec<bool>]) -> Result<Gray, LabelError> {
    let font = font().map_err(|detail| LabelError::Render { detail })?;
    let lines = label::human_lines(content);
    let name = wrap(font, NAME_PX, &lines[0], TEXT_MAX_PX, 2);
    let rest = &lines[1..];
    let text_w = name
        .iter()
        .map(|l| text_width(font, NAME_PX, l))
        .chain(rest.iter().map(|l| text_width(font, LINE_PX, l)))
        .fold(0.0f32, f32::max)
        .ceil() as u32;
    let (name_step, line_step) = ((NAME_PX * 1.25).ceil() as u32, (LINE_PX * 1.35).ceil() as u32);
    let text_h = name.len() as u32 * name_step + 4 + rest.len() as u32 * line_step;
    let n = modules.len() as u32;
    let symbol = n * MODULE_PX;
    let text_x = MARGIN_PX + symbol + GAP_PX;
    let (w, h) = (text_x + text_w + MARGIN_PX, symbol.max(text_h) + 2 * MARGIN_PX);
    let mut img = Gray::new(w, h);
    for (y, row) in modules.iter().enumerate() {
        for (x, dark) in row.iter().enumerate() {
            if *dark {
                img.fill(
                    MARGIN_PX + x as u32 * MODULE_PX,
                    MARGIN_PX + y as u32 * MODULE_PX,
                    MODULE_PX,
                    MODULE_PX,
                );
            }
        }
    }
    let mut top = MARGIN_PX as f32;
    for l in &name {
        draw_text(&mut img, font, NAME_PX, text_x as f32, top, l);
        top += name_step as f32;
    }
    top += 4.0;
    for l in rest {
        draw_text(&mut img, font, LINE_PX, text_x as f32, top, l);
        top += line_step as f32;
    }
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::label::{Dpi, SYMBOL_MODULES};

    fn media() -> LabelMedia {
        LabelMedia {
            dpi: Dpi::D203,
            width_mm: 60,
            height_mm: 40,
            font: Some("E:ANMDS.TTF".into()),
        }
    }

    fn content(expiry: Option<(i32, u32, u32)>, lot: &str, qty: u32, name: &str, zh: bool) -> LabelContent {
        let expiry = expiry.map(|(y, m, d)| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap());
        LabelContent::from_input("09506000134352", expiry, lot, qty, name, zh).unwrap()
    }

    #[test]
    fn a_label_reads_back_as_its_element_string() {
        let c = content(Some((2027, 1, 31)), "L-12/A", 48, "Whole milk 1 l", false);
        let l = make_label(&c, &media()).unwrap();
        assert_eq!(
            l.element_string,
            concat!("0109506000134352", "17270131", "10L-12/A\u{1d}", "3048")
        );
        assert_eq!(l.bracketed, "(01)09506000134352(17)270131(10)L-12/A(30)48");
        assert!(l.png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(l.zpl.starts_with("^XA") && l.zpl.ends_with("^XZ\n"));
        let n = l.modules.len();
        assert!(l.modules.iter().all(|r| r.len() == n), "square");
    }

    #[test]
    fn the_longest_content_fits_the_symbol_the_zpl_layout_reserves() {
        let c = content(Some((2027, 1, 31)), "abcdefghij!%&*+,-./:", 99_999_999, "x", false);
        let l = make_label(&c, &media()).unwrap();
        assert!(l.modules.len() as u32 <= SYMBOL_MODULES, "{}", l.modules.len());
    }

    #[test]
    fn a_symbol_that_reads_back_differently_is_refused() {
        let c = content(None, "L1", 1, "Milk", false);
        let es = label::element_string(&c).unwrap();
        let img = draw(&c, &encode(&es).unwrap()).unwrap();
        assert_eq!(verify(&es, &img), Ok(()));
        // A symbol of other content, drawn as the label's.
        let other = content(None, "L2", 1, "Milk", false);
        let img = draw(&c, &encode(&label::element_string(&other).unwrap()).unwrap()).unwrap();
        assert_eq!(
            verify(&es, &img),
            Err(LabelError::RoundTrip {
                expected: "]d20109506000134352".to_owned() + "10L1<GS>301",
                decoded: "]d20109506000134352".to_owned() + "10L2<GS>301",
            })
        );
        // A symbol without FNC1 first (rxing's plain path) is not GS1: `]d1`.
        let plain = DataMatrixWriter
            .encode_with_hints(
                "0109506000134352",
                &BarcodeFormat::DATA_MATRIX,
                0,
                0,
                &EncodeHints::default(),
            )
            .unwrap();
        let modules: Vec<Vec<bool>> = (0..plain.height())
            .map(|y| (0..plain.width()).map(|x| plain.get(x, y)).collect())
            .collect();
        let e = verify("0109506000134352", &draw(&c, &modules).unwrap()).unwrap_err();
        assert_eq!(
            e,
            LabelError::RoundTrip {
                expected: "]d20109506000134352".into(),
                decoded: "]d10109506000134352".into()
            }
        );
        assert!(e.to_string().contains("was not printed") && e.message_zh().contains("标签未打印"));
        // No symbol at all.
        let blank = Gray::new(200, 200);
        assert!(
            matches!(verify(&es, &blank), Err(LabelError::RoundTrip { decoded, .. }) if decoded.starts_with("nothing"))
        );
    }

    #[test]
    fn long_names_wrap_onto_two_lines_and_end_in_an_ellipsis() {
        let f = font().unwrap();
        let lines = wrap(f, NAME_PX, "Whole milk 1 l carton", 10_000.0, 2);
        assert_eq!(lines, ["Whole milk 1 l carton"]);
        let narrow = text_width(f, NAME_PX, "Whole milk 1 l") + 1.0;
        assert_eq!(
            wrap(f, NAME_PX, "Whole milk 1 l carton", narrow, 2),
            ["Whole milk 1 l", "carton"]
        );
        let long = wrap(f, NAME_PX, &"全脂牛奶".repeat(20), 300.0, 2);
        assert_eq!(long.len(), 2);
        assert!(long[1].ends_with('…'), "{long:?}");
        assert!(long.iter().all(|l| text_width(f, NAME_PX, l) <= 300.0));
    }

    #[test]
    fn save_is_atomic_and_names_the_path() {
        let c = content(None, "L1", 1, "Milk", false);
        let l = make_label(&c, &media()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("label.png");
        save_png(&l, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), l.png);
        // Replaced whole; no temporary file left.
        save_png(&l, &path).unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["label.png"]);
        let nowhere = dir.path().join("missing").join("label.png");
        let e = save_png(&l, &nowhere).unwrap_err();
        assert_eq!(
            e,
            LabelError::Save {
                path: nowhere.clone(),
                problem: SaveProblem::MissingFolder
            }
        );
        let shown = nowhere.display().to_string();
        assert!(e.to_string().contains(&shown) && e.to_string().contains("does not exist"));
        assert!(e.message_zh().contains(&shown) && e.message_zh().contains("不存在"));
    }
}
