//! The label printer the gates use: makes the label (`app::label`), checks it decodes back to
//! the same element string, saves its PNG, and sends its ZPL to the profiled printer or to a
//! simulated one that writes what it receives to a file.

use std::path::{Path, PathBuf};

use super::session::{LabelInfo, LabelPrinter};
use crate::domain::text::Text;
use crate::domain::workflow::LabelRequest;

/// Where labels go.
pub struct ShellPrinter {
    /// A profiled printer; `None`: the simulated one.
    target: Option<String>,
    /// The simulated printer's file when no PNG path is given.
    sim_file: PathBuf,
}

impl ShellPrinter {
    /// A simulated printer appending the ZPL it receives to `file` (or beside each PNG).
    pub fn simulated(file: PathBuf) -> ShellPrinter {
        ShellPrinter {
            target: None,
            sim_file: file,
        }
    }

    /// The printer `--printer PROFILE[=PORT]` names, or the simulated one writing beside the
    /// database.
    pub fn from_arg(arg: Option<&str>, _profiles_dir: &Path, db: &Path) -> Result<ShellPrinter, Text> {
        let sim_file = db.with_extension("labels.zpl");
        Ok(ShellPrinter {
            target: arg.map(str::to_owned),
            sim_file,
        })
    }
}

impl LabelPrinter for ShellPrinter {
    fn print(&mut self, _label: &LabelRequest, _name: &str, _out: Option<&Path>) -> Result<LabelInfo, Text> {
        let _ = (&self.target, &self.sim_file);
        Err(Text::new("TEMPORARY", "TEMPORARY"))
    }
}
