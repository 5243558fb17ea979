//! The integration test binary: store, import, command line and architecture checks.
//! (UI flows live in `tests/ui`, because Slint's testing backend initialises once per process.)

mod cache_files;
mod cli;
mod conformance;
mod devices;
mod fault_proxy;
mod files;
mod gates;
mod grammar;
#[cfg(feature = "hardware-tests")]
mod hardware;
mod import_files;
mod labels;
mod scenarios;
mod store;
mod streams;
mod sync;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the built `lotline` binary with `args`, system fonts hidden.
pub fn lotline(args: &[&str]) -> Output {
    lotline_in(args, None)
}

pub fn lotline_in(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lotline"));
    cmd.env("LOTLINE_CONFIG", "");
    cmd.args(args)
        .env("FONTCONFIG_FILE", fonts_hidden_conf())
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("run lotline");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("lotline output")
}

/// A fontconfig file that hides every system font but DejaVu (Latin, Greek, Cyrillic: no CJK),
/// so Chinese can only render through the font embedded in the binary. (Slint's font backend
/// needs at least one system font; `.ci/run` installs fonts-dejavu-core.)
pub fn fonts_hidden_conf() -> PathBuf {
    static CONF: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CONF.get_or_init(write_fonts_conf).clone()
}

fn write_fonts_conf() -> PathBuf {
    let p = std::env::temp_dir().join(format!("lotline-test-latin-only-fonts-{}.conf", std::process::id()));
    let conf = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig>\n  <dir>{}</dir>\n  <cachedir>{}</cachedir>\n</fontconfig>\n",
        LATIN_FONT_DIR,
        std::env::temp_dir().join("lotline-test-fontcache").display()
    );
    std::fs::write(&p, conf).unwrap();
    p
}

pub const LATIN_FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A demo database generated once per test process for a pinned date.
pub fn demo_db(dir: &Path, lots: usize, today: &str) -> PathBuf {
    let db = dir.join("demo.db");
    let o = lotline(&[
        "demo-data",
        "--db",
        db.to_str().unwrap(),
        "--lots",
        &lots.to_string(),
        "--seed",
        "3",
        "--today",
        today,
    ]);
    assert!(o.status.success(), "demo-data failed: {}", stderr(&o));
    db
}
