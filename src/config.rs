//! `/etc/lotline/lotline.toml`: a site's settings for the handheld app (the cache, the hub, the
//! language, the idle lock, the sound, the devices, the screen's rotation, the log level).
//! Command-line flags override it; a missing default file is no configuration at all.
//!
//! The file is read key by key from the TOML document (with its spans), not through serde, so
//! every unknown key and every bad value is reported at once, each as `FILE:LINE: key: problem`
//! in English and Chinese: the same care as a hw-profile. [`parse`] is pure (text in, settings or
//! problems out); [`load`] reads the file.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::domain::text::Bilingual;

/// Where the app looks when no `--config` is given.
pub const DEFAULT_PATH: &str = "/etc/lotline/lotline.toml";

/// Which devices to use when the file and the flags name none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicesMode {
    Auto,
    Simulated,
    None,
}

/// The UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    Zh,
}

/// The settings of one file; `None` where the file says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `[cache] db`: the cache database.
    pub db: Option<PathBuf>,
    /// `[hub] url`: the hub `lotline enroll` and `lotline doctor` use when no `--server` is given.
    pub hub_url: Option<String>,
    /// `[hub] ca`: the site's CA certificate (PEM) for that hub.
    pub hub_ca: Option<PathBuf>,
    /// `[hub] site`: the site this handheld belongs to; `doctor` checks the enrolment's.
    pub site: Option<String>,
    /// `[ui] language`.
    pub language: Option<Language>,
    /// `[ui] idle_lock_minutes`: minutes without an action before the app locks.
    pub idle_lock_minutes: Option<u32>,
    /// `[ui] volume`: verdict sound volume in percent; 0 is silent.
    pub volume: Option<u8>,
    /// `[ui] rotation`: the screen's rotation on the KMS backend, degrees clockwise.
    pub rotation: Option<u16>,
    /// `[devices] mode`.
    pub devices_mode: Option<DevicesMode>,
    /// `[devices] use`: `PROFILE[=PORT]` entries, as `--device`.
    pub devices: Vec<String>,
    /// `[devices] profiles_dir`: profiles that override or add to the shipped ones.
    pub profiles_dir: Option<PathBuf>,
    /// `[log] level`: `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: Option<String>,
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based; `None` for the file as a whole (it cannot be read).
    pub line: Option<u32>,
    /// The dotted key (`ui.volume`), or `(file)`.
    pub key: String,
    pub en: String,
    pub zh: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}: {}", self.file, self.key, self.en),
            None => write!(f, "{}: {}: {}", self.file, self.key, self.en),
        }
    }
}

impl Problem {
    /// The same line in Chinese.
    pub fn line_zh(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}: {}: {}", self.file, self.key, self.zh),
            None => format!("{}: {}: {}", self.file, self.key, self.zh),
        }
    }
}

/// A configuration file that cannot be used: every problem in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<Problem>);

impl Bilingual for ConfigError {
    fn message_zh(&self) -> String {
        self.0.iter().map(Problem::line_zh).collect::<Vec<_>>().join("\n")
    }
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| {
        ConfigError(vec![Problem {
            file: file.clone(),
            line: None,
            key: "(file)".into(),
            en: format!("cannot be read: {e}"),
            zh: format!("无法读取：{e}"),
        }])
    })?;
    let text = String::from_utf8(text).map_err(|_| {
        ConfigError(vec![Problem {
            file: file.clone(),
            line: None,
            key: "(file)".into(),
            en: "is not UTF-8 text".into(),
            zh: "不是 UTF-8 文本".into(),
        }])
    })?;
    parse(&file, &text).map_err(ConfigError)
}

/// The configuration in effect: the file given with `--config` (which must exist), else the
/// default file when there is one, else nothing.
pub fn load_effective(given: Option<&Path>) -> Result<Option<(PathBuf, Config)>, ConfigError> {
    match given {
        Some(p) => load(p).map(|c| Some((p.to_owned(), c))),
        None => {
            let p = Path::new(DEFAULT_PATH);
            if p.exists() {
                load(p).map(|c| Some((p.to_owned(), c)))
            } else {
                Ok(None)
            }
        }
    }
}

/// Every key the file may have, by section, for the unknown-key message.
const KEYS: [(&str, &[&str]); 5] = [
    ("cache", &["db"]),
    ("hub", &["url", "ca", "site"]),
    ("ui", &["language", "idle_lock_minutes", "volume", "rotation"]),
    ("devices", &["mode", "use", "profiles_dir"]),
    ("log", &["level"]),
];

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    problems: Vec<Problem>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> u32 {
    let offset = offset.min(text.len());
    u32::try_from(text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1).unwrap_or(u32::MAX)
}

impl Reader<'_> {
    fn line(&self, offset: usize) -> u32 {
        line_at(self.text, offset)
    }

    fn bad(&mut self, at: usize, key: &str, en: impl Into<String>, zh: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: Some(self.line(at)),
            key: key.to_owned(),
            en: en.into(),
            zh: zh.into(),
        });
    }

    fn text(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
            DeValue::String(_) => {
                self.bad(v.span().start, key, "is empty", "为空");
                None
            }
            other => {
                let t = type_name(other);
                self.bad(
                    v.span().start,
                    key,
                    format!("must be text in quotes, not {t}"),
                    format!("须为带引号的文本，而不是{}", type_name_zh(other)),
                );
                None
            }
        }
    }

    fn path(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<PathBuf> {
        let s = self.text(key, v)?;
        if !s.starts_with('/') {
            self.bad(
                v.span().start,
                key,
                format!("'{s}' is not an absolute path (it must start with /)"),
                format!("“{s}”不是绝对路径（须以 / 开头）"),
            );
            return None;
        }
        Some(PathBuf::from(s))
    }

    fn integer(&mut self, key: &str, v: &Spanned<DeValue<'_>>, min: i64, max: i64) -> Option<i64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            other => {
                self.bad(
                    v.span().start,
                    key,
                    format!("must be a whole number, not {}", type_name(other)),
                    format!("须为整数，而不是{}", type_name_zh(other)),
                );
                return None;
            }
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.bad(
                    v.span().start,
                    key,
                    format!("must be from {min} to {max}"),
                    format!("须在 {min} 到 {max} 之间"),
                );
                None
            }
        }
    }

    fn one_of(&mut self, key: &str, v: &Spanned<DeValue<'_>>, allowed: &[&str]) -> Option<String> {
        let s = self.text(key, v)?;
        if allowed.contains(&s.as_str()) {
            return Some(s);
        }
        let list = allowed
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ");
        self.bad(
            v.span().start,
            key,
            format!("'{s}' is not one of {list}"),
            format!("“{s}”不是 {list} 之一"),
        );
        None
    }
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "text",
        DeValue::Integer(_) => "a number",
        DeValue::Float(_) => "a decimal number",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

fn type_name_zh(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "文本",
        DeValue::Integer(_) => "整数",
        DeValue::Float(_) => "小数",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "日期",
        DeValue::Array(_) => "列表",
        DeValue::Table(_) => "表",
    }
}

/// Checks `text` (the contents of `file`) and returns its settings, or every problem in it.
pub fn parse(file: &str, text: &str) -> Result<Config, Vec<Problem>> {
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map(|s| line_at(text, s.start));
            let message = e.message().trim().replace('\n', " ");
            return Err(vec![Problem {
                file: file.to_owned(),
                line,
                key: "(syntax)".into(),
                en: format!("not valid TOML: {message}"),
                zh: format!("不是有效的 TOML：{message}"),
            }]);
        }
    };
    let mut r = Reader {
        file,
        text,
        problems: Vec::new(),
    };
    let mut c = Config::default();
    for (section, value) in doc.get_ref().iter() {
        let name = section.get_ref().as_ref();
        let Some((_, keys)) = KEYS.iter().find(|(s, _)| *s == name) else {
            let list = KEYS
                .iter()
                .map(|(s, _)| format!("[{s}]"))
                .collect::<Vec<_>>()
                .join(", ");
            r.bad(
                section.span().start,
                name,
                format!("unknown section or key (the file has {list})"),
                format!("未知的节或键（文件可有 {list}）"),
            );
            continue;
        };
        let DeValue::Table(table) = value.get_ref() else {
            r.bad(
                section.span().start,
                name,
                format!("must be a section [{name}]"),
                format!("须为节 [{name}]"),
            );
            continue;
        };
        for (k, v) in table.iter() {
            let key = format!("{name}.{}", k.get_ref());
            match (name, k.get_ref().as_ref()) {
                ("cache", "db") => c.db = r.path(&key, v),
                ("hub", "url") => {
                    if let Some(u) = r.text(&key, v) {
                        if u.starts_with("https://") || u.starts_with("http://") {
                            c.hub_url = Some(u);
                        } else {
                            r.bad(
                                v.span().start,
                                &key,
                                format!("'{u}' is not a hub URL (https://… or http://…)"),
                                format!("“{u}”不是中心服务器地址（https://… 或 http://…）"),
                            );
                        }
                    }
                }
                ("hub", "ca") => c.hub_ca = r.path(&key, v),
                ("hub", "site") => c.site = r.text(&key, v),
                ("ui", "language") => {
                    c.language = r.one_of(&key, v, &["zh", "en"]).map(|s| match s.as_str() {
                        "zh" => Language::Zh,
                        _ => Language::En,
                    })
                }
                ("ui", "idle_lock_minutes") => c.idle_lock_minutes = r.integer(&key, v, 1, 720).map(|n| n as u32),
                ("ui", "volume") => c.volume = r.integer(&key, v, 0, 100).map(|n| n as u8),
                ("ui", "rotation") => {
                    if let Some(n) = r.integer(&key, v, 0, 270) {
                        if n % 90 == 0 {
                            c.rotation = Some(n as u16);
                        } else {
                            r.bad(
                                v.span().start,
                                &key,
                                "must be 0, 90, 180 or 270",
                                "须为 0、90、180 或 270",
                            );
                        }
                    }
                }
                ("devices", "mode") => {
                    c.devices_mode = r
                        .one_of(&key, v, &["auto", "simulated", "none"])
                        .map(|s| match s.as_str() {
                            "auto" => DevicesMode::Auto,
                            "simulated" => DevicesMode::Simulated,
                            _ => DevicesMode::None,
                        })
                }
                ("devices", "use") => match v.get_ref() {
                    DeValue::Array(items) => {
                        for item in items.iter() {
                            if let Some(s) = r.text(&key, item) {
                                let profile = s.split_once('=').map_or(s.as_str(), |(p, _)| p);
                                let port_ok = s.split_once('=').is_none_or(|(_, port)| port.starts_with('/'));
                                if profile.is_empty() || !port_ok {
                                    r.bad(
                                        item.span().start,
                                        &key,
                                        format!("'{s}' is not PROFILE or PROFILE=/dev/PORT"),
                                        format!("“{s}”不是 PROFILE 或 PROFILE=/dev/端口"),
                                    );
                                } else {
                                    c.devices.push(s);
                                }
                            }
                        }
                    }
                    other => r.bad(
                        v.span().start,
                        &key,
                        format!(
                            "must be a list such as [\"zebra-ssi=/dev/ttyACM0\"], not {}",
                            type_name(other)
                        ),
                        format!(
                            "须为列表，例如 [\"zebra-ssi=/dev/ttyACM0\"]，而不是{}",
                            type_name_zh(other)
                        ),
                    ),
                },
                ("devices", "profiles_dir") => c.profiles_dir = r.path(&key, v),
                ("log", "level") => {
                    c.log_level = r.one_of(&key, v, &["error", "warn", "info", "debug", "trace"]);
                }
                _ => {
                    let list = keys.join(", ");
                    r.bad(
                        k.span().start,
                        &key,
                        format!("unknown key (section [{name}] has {list})"),
                        format!("未知的键（节 [{name}] 可有 {list}）"),
                    );
                }
            }
        }
    }
    // The document's tables come in key order, not the file's: report in the file's order.
    r.problems.sort_by_key(|p| p.line);
    if r.problems.is_empty() { Ok(c) } else { Err(r.problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped default file is valid and says what it means.
    #[test]
    fn the_shipped_file_is_valid() {
        let text = include_str!("../assets/config/lotline.toml");
        let c = parse("lotline.toml", text).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(c.db.as_deref(), Some(Path::new("/var/lib/lotline/lotline.db")));
        assert_eq!(c.devices_mode, Some(DevicesMode::Auto));
    }

    #[test]
    fn every_key_is_read() {
        let text = r#"
[cache]
db = "/var/lib/lotline/x.db"
[hub]
url = "https://hub.example:8443"
ca = "/etc/lotline/ca.pem"
site = "S1"
[ui]
language = "zh"
idle_lock_minutes = 10
volume = 0
rotation = 270
[devices]
mode = "simulated"
use = ["zebra-ssi=/dev/ttyACM0", "impinj-r2000"]
profiles_dir = "/etc/lotline/hw-profiles.d"
[log]
level = "debug"
"#;
        let c = parse("f.toml", text).unwrap();
        assert_eq!(
            c,
            Config {
                db: Some("/var/lib/lotline/x.db".into()),
                hub_url: Some("https://hub.example:8443".into()),
                hub_ca: Some("/etc/lotline/ca.pem".into()),
                site: Some("S1".into()),
                language: Some(Language::Zh),
                idle_lock_minutes: Some(10),
                volume: Some(0),
                rotation: Some(270),
                devices_mode: Some(DevicesMode::Simulated),
                devices: vec!["zebra-ssi=/dev/ttyACM0".into(), "impinj-r2000".into()],
                profiles_dir: Some("/etc/lotline/hw-profiles.d".into()),
                log_level: Some("debug".into()),
            }
        );
        assert_eq!(parse("e.toml", "").unwrap(), Config::default());
    }

    /// Each broken file gives each of its problems as FILE:LINE: key: problem.
    #[test]
    fn broken_files_name_file_line_and_key() {
        let cases: &[(&str, &[&str])] = &[
            ("[ui]\nvolume = 150\n", &["b.toml:2: ui.volume: must be from 0 to 100"]),
            (
                "[ui]\nlanguge = \"zh\"\n",
                &["b.toml:2: ui.languge: unknown key (section [ui] has language, idle_lock_minutes, volume, rotation)"],
            ),
            (
                "[cache]\ndb = \"lotline.db\"\n[ui]\nrotation = 45\nvolume = \"loud\"\n",
                &[
                    "b.toml:2: cache.db: 'lotline.db' is not an absolute path (it must start with /)",
                    "b.toml:4: ui.rotation: must be 0, 90, 180 or 270",
                    "b.toml:5: ui.volume: must be a whole number, not text",
                ],
            ),
            (
                "\n\n[screen]\nsize = 1\n",
                &["b.toml:3: screen: unknown section or key (the file has [cache], [hub], [ui], [devices], [log])"],
            ),
            (
                "[devices]\nmode = \"usb\"\nuse = \"zebra-ssi\"\n",
                &[
                    "b.toml:2: devices.mode: 'usb' is not one of \"auto\", \"simulated\", \"none\"",
                    "b.toml:3: devices.use: must be a list such as [\"zebra-ssi=/dev/ttyACM0\"], not text",
                ],
            ),
            (
                "[devices]\nuse = [\"zebra-ssi=ttyACM0\"]\n",
                &["b.toml:2: devices.use: 'zebra-ssi=ttyACM0' is not PROFILE or PROFILE=/dev/PORT"],
            ),
            (
                "[hub]\nurl = \"hub.example\"\n",
                &["b.toml:2: hub.url: 'hub.example' is not a hub URL (https://… or http://…)"],
            ),
            ("ui = 3\n", &["b.toml:1: ui: must be a section [ui]"]),
            (
                "[log]\nlevel = \"loud\"\n",
                &["b.toml:2: log.level: 'loud' is not one of \"error\", \"warn\", \"info\", \"debug\", \"trace\""],
            ),
        ];
        for (text, want) in cases {
            let got: Vec<String> = parse("b.toml", text)
                .expect_err(text)
                .iter()
                .map(|p| p.to_string())
                .collect();
            assert_eq!(&got, want, "{text}");
        }
        // Not TOML at all: the line of the syntax error, in both languages.
        let p = parse("b.toml", "[ui]\nvolume = = 3\n").unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, Some(2));
        assert!(
            p[0].to_string().starts_with("b.toml:2: (syntax): not valid TOML"),
            "{}",
            p[0]
        );
        assert!(p[0].line_zh().contains("不是有效的 TOML"), "{}", p[0].line_zh());
        let e = ConfigError(parse("b.toml", "[ui]\nvolume = 101\n").unwrap_err());
        assert_eq!(e.message_zh(), "b.toml:2: ui.volume: 须在 0 到 100 之间");
    }
}
