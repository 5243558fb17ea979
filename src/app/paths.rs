//! Where lotline keeps its files when no `--db` is given: the user data directory
//! (`$XDG_DATA_HOME/lotline`, usually `~/.local/share/lotline`).

use std::path::PathBuf;

use crate::domain::text::Text;

/// The default cache file.
pub fn default_db() -> Result<PathBuf, Text> {
    let dirs = directories::ProjectDirs::from("", "", "lotline").ok_or_else(|| {
        Text::new(
            "cannot find a home directory for the data folder; pass --db PATH",
            "找不到用户主目录来存放数据;请用 --db 路径 指定数据库",
        )
    })?;
    Ok(dirs.data_dir().join("lotline.db"))
}
