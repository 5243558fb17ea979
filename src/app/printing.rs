//! The label printer the gates use: makes the label ([`super::label::make_label`], which reads
//! the drawn symbol back and refuses anything but the identical element string), saves its PNG,
//! and sends its ZPL to the profiled printer, or to the simulated one that appends what it
//! receives to a file.

use std::path::{Path, PathBuf};

use super::label::{self, make_label, save_png};
use super::session::{LabelInfo, LabelPrinter};
use crate::devices::printer::{DEFAULT_TIMEOUT, PrinterTarget};
use crate::domain::label::{Dpi, LabelContent, LabelMedia};
use crate::domain::text::{Bilingual, Text};
use crate::domain::workflow::LabelRequest;

/// The simulated printer's label: 4 × 2 inches at 203 dpi, with SimSun loaded for Chinese item
/// names (a real printer's font comes from its profile).
fn default_media() -> LabelMedia {
    LabelMedia {
        dpi: Dpi::from_dpi(203).expect("203 dpi is a standard resolution"),
        width_mm: 100,
        height_mm: 50,
        font: Some("E:SIMSUN.TTF".into()),
    }
}

/// Where labels go.
pub struct ShellPrinter {
    /// A profiled printer: its name, where it is, its labels. `None`: the simulated one.
    profiled: Option<(String, PrinterTarget, LabelMedia)>,
    /// The simulated printer's file when a label has no PNG path beside which to write.
    sim_file: PathBuf,
}

impl ShellPrinter {
    /// A simulated printer appending the ZPL it receives to `file`, or beside each label's PNG.
    pub fn simulated(file: PathBuf) -> ShellPrinter {
        ShellPrinter {
            profiled: None,
            sim_file: file,
        }
    }

    /// The printer `--printer PROFILE[=PORT]` names (a hw-profile of kind `printer`), or the
    /// simulated one writing beside the database.
    pub fn from_arg(arg: Option<&str>, profiles_dir: &Path, db: &Path) -> Result<ShellPrinter, Text> {
        let sim_file = db.with_extension("labels.zpl");
        let Some(arg) = arg else {
            return Ok(ShellPrinter::simulated(sim_file));
        };
        let (name, port) = match arg.split_once('=') {
            Some((n, p)) => (n.trim(), Some(p.trim())),
            None => (arg.trim(), None),
        };
        let loaded = crate::devices::profile::load_all(profiles_dir);
        let Some(profile) = loaded.get(name) else {
            return Err(Text::new(
                format!("no hw-profile named '{name}': `lotline profiles list` shows them"),
                format!("没有名为「{name}」的设备配置:`lotline profiles list` 可列出全部"),
            ));
        };
        let (Some(p), Some(target)) = (profile.printer(), super::devices::printer_target(profile, port)) else {
            return Err(Text::new(
                format!("'{name}' is not a label printer profile (kind printer)"),
                format!("「{name}」不是标签打印机配置(kind printer)"),
            ));
        };
        Ok(ShellPrinter {
            profiled: Some((name.to_owned(), target, p.media.clone())),
            sim_file,
        })
    }
}

impl LabelPrinter for ShellPrinter {
    fn print(&mut self, req: &LabelRequest, name: &str, zh: bool, out: Option<&Path>) -> Result<LabelInfo, Text> {
        let gtin = req.item.gtin.as_ref().map(|g| g.as_str()).unwrap_or_default();
        let content = LabelContent::from_input(gtin, req.expiry, req.lot.as_str(), req.qty, name, zh)
            .map_err(|e| Text::of(&e))?;
        let media = match &self.profiled {
            Some((_, _, m)) => m.clone(),
            None => default_media(),
        };
        // Made, then read back: a label that does not decode to its element string is refused.
        let made = make_label(&content, &media).map_err(|e| Text::of(&e))?;
        let (printer, target) = match &self.profiled {
            Some((n, t, _)) => (n.clone(), t.clone()),
            None => {
                let f = out
                    .map(|o| o.with_extension("zpl"))
                    .unwrap_or_else(|| self.sim_file.clone());
                ("simulated".to_owned(), PrinterTarget::Simulated(f))
            }
        };
        if let Some(o) = out {
            save_png(&made, o).map_err(|e| Text::of(&e))?;
        }
        label::print(&made, &target, DEFAULT_TIMEOUT).map_err(|e| Text::new(e.message_en(), e.message_zh()))?;
        Ok(LabelInfo {
            element_string: made.element_string.clone(),
            bracketed: made.bracketed.clone(),
            png: out.map(Path::to_owned),
            printer: format!("{printer} {}", target.place()),
            png_bytes: made.png,
        })
    }
}
