//! Where lotline keeps its files when no `--db` is given: the user data directory
//! (`$XDG_DATA_HOME/lotline`, usually `~/.local/share/lotline`).

use std::path::PathBuf;

/// The default cache file.
pub fn default_db() -> anyhow::Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "lotline")
        .ok_or_else(|| anyhow::anyhow!("cannot find a home directory for the data folder; pass --db PATH"))?;
    Ok(dirs.data_dir().join("lotline.db"))
}
