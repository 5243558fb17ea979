//! `/etc/lotline/lotline-hub.toml`: a site's settings for the hub (the database, what `serve`
//! listens on and how, the log level). Command-line flags override it; a missing default file is
//! no configuration at all.
//!
//! Read key by key from the TOML document with its spans (not serde), the way the handheld app
//! reads `lotline.toml`: every unknown key and bad value is reported at once, each as
//! `FILE:LINE: key: problem` in English and in Chinese. [`parse`] is pure (text in, settings or
//! problems out); [`load`] reads a file and [`effective`] finds the one in effect.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Where the hub looks when neither `--config` nor `$LOTLINE_HUB_CONFIG` names a file.
pub const DEFAULT_PATH: &str = "/etc/lotline/lotline-hub.toml";

/// The environment variable that names the configuration file (empty: none).
pub const ENV: &str = "LOTLINE_HUB_CONFIG";

/// The log levels `[log] level` takes.
pub const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// The settings of one file; `None` where the file says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `[database] url`: what `--db` takes (a SQLite file's absolute path, or `postgres://…`).
    pub database_url: Option<String>,
    /// `[serve] listen`: `ADDRESS:PORT`.
    pub listen: Option<String>,
    /// `[serve] allow_plain_http`: plain HTTP on an address other than loopback.
    pub allow_plain_http: Option<bool>,
    /// `[serve] tls_cert` and `tls_key`: HTTPS, both or neither.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `[log] level`: one of [`LEVELS`].
    pub log_level: Option<String>,
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based; `None` for the file as a whole (it cannot be read).
    pub line: Option<u32>,
    /// The dotted key (`serve.listen`), or `(file)` / `(syntax)`.
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

/// A configuration file that cannot be used: every problem in it, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<Problem>);

impl ConfigError {
    /// Every problem in Chinese, one per line.
    pub fn message_zh(&self) -> String {
        self.0.iter().map(Problem::line_zh).collect::<Vec<_>>().join("\n")
    }
}

fn whole_file(file: &str, en: String, zh: String) -> ConfigError {
    ConfigError(vec![Problem {
        file: file.to_owned(),
        line: None,
        key: "(file)".into(),
        en,
        zh,
    }])
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| whole_file(&file, format!("cannot be read: {e}"), format!("无法读取：{e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| whole_file(&file, "is not UTF-8 text".into(), "不是 UTF-8 文本".into()))?;
    parse(&file, &text).map_err(ConfigError)
}

/// Which file is in effect: `given` (`--config`), else `env` (the value of `$LOTLINE_HUB_CONFIG`;
/// empty means no file), else [`DEFAULT_PATH`] when it exists, else none. A named file must exist.
pub fn path_in_effect(given: Option<&Path>, env: Option<OsString>) -> Option<PathBuf> {
    match (given, env) {
        (Some(p), _) => Some(p.to_owned()),
        (None, Some(v)) if v.is_empty() => None,
        (None, Some(v)) => Some(PathBuf::from(v)),
        (None, None) => Some(PathBuf::from(DEFAULT_PATH)).filter(|p| p.exists()),
    }
}

/// The configuration in effect (see [`path_in_effect`]) and its file, read and checked.
pub fn effective(given: Option<&Path>, env: Option<OsString>) -> Result<Option<(PathBuf, Config)>, ConfigError> {
    match path_in_effect(given, env) {
        Some(p) => load(&p).map(|c| Some((p, c))),
        None => Ok(None),
    }
}

/// Every key the file may have, by section, for the unknown-key messages.
const KEYS: [(&str, &[&str]); 3] = [
    ("database", &["url"]),
    ("serve", &["listen", "allow_plain_http", "tls_cert", "tls_key"]),
    ("log", &["level"]),
];

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> u32 {
    let offset = offset.min(text.len());
    u32::try_from(text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1).unwrap_or(u32::MAX)
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

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn bad(&mut self, at: usize, key: &str, en: impl Into<String>, zh: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: Some(line_at(self.text, at)),
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
                self.bad(
                    v.span().start,
                    key,
                    format!("must be text in quotes, not {}", type_name(other)),
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

    fn boolean(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.bad(
                    v.span().start,
                    key,
                    format!("must be true or false (without quotes), not {}", type_name(other)),
                    format!("须为 true 或 false（不带引号），而不是{}", type_name_zh(other)),
                );
                None
            }
        }
    }

    fn database(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<String> {
        let s = self.text(key, v)?;
        let postgres = s.starts_with("postgres://") || s.starts_with("postgresql://");
        if postgres && !cfg!(feature = "postgres") {
            self.bad(
                v.span().start,
                key,
                "this hub was built without PostgreSQL support (the `postgres` feature): give a SQLite file's path",
                "此中心服务构建时未包含 PostgreSQL 支持（postgres 功能）：请给出 SQLite 文件的路径",
            );
            return None;
        }
        if !postgres && !s.starts_with('/') {
            self.bad(
                v.span().start,
                key,
                format!(
                    "'{s}' is neither a SQLite file's absolute path (starting with /) nor a PostgreSQL URL (postgres://…)"
                ),
                format!("“{s}”既不是 SQLite 文件的绝对路径（以 / 开头），也不是 PostgreSQL 地址（postgres://…）"),
            );
            return None;
        }
        Some(s)
    }

    fn listen(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<String> {
        let s = self.text(key, v)?;
        if valid_listen(&s) {
            return Some(s);
        }
        self.bad(
            v.span().start,
            key,
            format!("'{s}' is not ADDRESS:PORT (such as \"0.0.0.0:8443\", \"[::]:8443\" or \"localhost:8443\")"),
            format!("“{s}”不是 地址:端口（例如 \"0.0.0.0:8443\"、\"[::]:8443\" 或 \"localhost:8443\"）"),
        );
        None
    }
}

/// An address `serve` can listen on: an IP address and port, or a host name and port.
fn valid_listen(s: &str) -> bool {
    if s.parse::<SocketAddr>().is_ok() {
        return true;
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        // Digits and dots only would be an IPv4 address, and that did not parse above.
        && !host.chars().all(|c| c.is_ascii_digit() || c == '.');
    host_ok && port.parse::<u16>().is_ok()
}

/// Checks `text` (the contents of `file`) and returns its settings, or every problem in it in
/// the file's order.
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
    // Where each TLS file was given, for the message when its partner is missing.
    let mut cert_at = None;
    let mut key_at = None;
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
                ("database", "url") => c.database_url = r.database(&key, v),
                ("serve", "listen") => c.listen = r.listen(&key, v),
                ("serve", "allow_plain_http") => c.allow_plain_http = r.boolean(&key, v),
                ("serve", "tls_cert") => {
                    cert_at = Some(k.span().start);
                    c.tls_cert = r.path(&key, v);
                }
                ("serve", "tls_key") => {
                    key_at = Some(k.span().start);
                    c.tls_key = r.path(&key, v);
                }
                ("log", "level") => {
                    if let Some(s) = r.text(&key, v) {
                        if LEVELS.contains(&s.as_str()) {
                            c.log_level = Some(s);
                        } else {
                            let list = LEVELS.map(|l| format!("\"{l}\"")).join(", ");
                            r.bad(
                                v.span().start,
                                &key,
                                format!("'{s}' is not one of {list}"),
                                format!("“{s}”不是 {list} 之一"),
                            );
                        }
                    }
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
    match (cert_at, key_at) {
        (Some(at), None) => r.bad(
            at,
            "serve.tls_cert",
            "needs serve.tls_key too: HTTPS takes the certificate and its private key",
            "还需要 serve.tls_key：HTTPS 需要证书及其私钥",
        ),
        (None, Some(at)) => r.bad(
            at,
            "serve.tls_key",
            "needs serve.tls_cert too: HTTPS takes the certificate and its private key",
            "还需要 serve.tls_cert：HTTPS 需要证书及其私钥",
        ),
        (Some(at), Some(_)) if !cfg!(feature = "tls") => r.bad(
            at,
            "serve.tls_cert",
            "this hub was built without HTTPS (the `tls` feature): serve plain HTTP behind a TLS-terminating proxy",
            "此中心服务构建时未包含 HTTPS（tls 功能）：请在终止 TLS 的反向代理之后以明文 HTTP 运行",
        ),
        _ => {}
    }
    // The document's tables come in key order, not the file's: report in the file's order.
    r.problems.sort_by_key(|p| p.line);
    if r.problems.is_empty() { Ok(c) } else { Err(r.problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped file is valid and says what the package's service runs.
    #[test]
    fn the_shipped_file_is_valid() {
        let text = include_str!("../../../assets/config/lotline-hub.toml");
        let c = parse("lotline-hub.toml", text).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(
            c,
            Config {
                database_url: Some("/var/lib/lotline-hub/hub.db".into()),
                listen: Some("0.0.0.0:8080".into()),
                allow_plain_http: Some(true),
                tls_cert: None,
                tls_key: None,
                log_level: Some("info".into()),
            }
        );
    }

    #[test]
    fn good_files_are_read_key_by_key() {
        let cases: &[(&str, Config)] = &[
            ("", Config::default()),
            ("# nothing but comments\n[serve]\n", Config::default()),
            (
                r#"
[database]
url = "postgres://hub:secret@db.example/lotline"
[serve]
listen = "0.0.0.0:8443"
allow_plain_http = false
tls_cert = "/etc/lotline/hub-cert.pem"
tls_key = "/etc/lotline/hub-key.pem"
[log]
level = "debug"
"#,
                Config {
                    database_url: Some("postgres://hub:secret@db.example/lotline".into()),
                    listen: Some("0.0.0.0:8443".into()),
                    allow_plain_http: Some(false),
                    tls_cert: Some("/etc/lotline/hub-cert.pem".into()),
                    tls_key: Some("/etc/lotline/hub-key.pem".into()),
                    log_level: Some("debug".into()),
                },
            ),
            (
                "[serve]\nlisten = \"[::]:8080\"\n",
                Config {
                    listen: Some("[::]:8080".into()),
                    ..Config::default()
                },
            ),
            (
                "[serve]\nlisten = \"hub.example:443\"\n[database]\nurl = \"/srv/hub.db\"\n",
                Config {
                    listen: Some("hub.example:443".into()),
                    database_url: Some("/srv/hub.db".into()),
                    ..Config::default()
                },
            ),
            (
                "serve.listen = \"localhost:8443\"\n",
                Config {
                    listen: Some("localhost:8443".into()),
                    ..Config::default()
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                &parse("g.toml", text).unwrap_or_else(|p| panic!("{text}: {p:?}")),
                want,
                "{text}"
            );
        }
    }

    /// Each broken file gives each of its problems as FILE:LINE: key: problem, in file order.
    #[test]
    fn broken_files_name_file_line_and_key() {
        let cases: &[(&str, &[&str])] = &[
            (
                "[serve]\nlisten = \"0.0.0.0:8080\"\nport = 8080\n",
                &[
                    "b.toml:3: serve.port: unknown key (section [serve] has listen, allow_plain_http, tls_cert, tls_key)",
                ],
            ),
            (
                "\n[server]\nlisten = \"0.0.0.0:8080\"\n",
                &["b.toml:2: server: unknown section or key (the file has [database], [serve], [log])"],
            ),
            (
                "[serve]\nallow_plain_http = \"yes\"\n",
                &["b.toml:2: serve.allow_plain_http: must be true or false (without quotes), not text"],
            ),
            (
                "[serve]\nlisten = 8080\n",
                &["b.toml:2: serve.listen: must be text in quotes, not a number"],
            ),
            (
                "[serve]\nlisten = \"0.0.0.0\"\n",
                &[
                    "b.toml:2: serve.listen: '0.0.0.0' is not ADDRESS:PORT (such as \"0.0.0.0:8443\", \"[::]:8443\" or \"localhost:8443\")",
                ],
            ),
            (
                "[serve]\nlisten = \"0.0.0.0:99999\"\n",
                &[
                    "b.toml:2: serve.listen: '0.0.0.0:99999' is not ADDRESS:PORT (such as \"0.0.0.0:8443\", \"[::]:8443\" or \"localhost:8443\")",
                ],
            ),
            (
                "[serve]\nlisten = \"300.1.1.1:80\"\n",
                &[
                    "b.toml:2: serve.listen: '300.1.1.1:80' is not ADDRESS:PORT (such as \"0.0.0.0:8443\", \"[::]:8443\" or \"localhost:8443\")",
                ],
            ),
            (
                "[serve]\nlisten = \"0.0.0.0:8443\"\ntls_cert = \"/etc/lotline/hub-cert.pem\"\n",
                &["b.toml:3: serve.tls_cert: needs serve.tls_key too: HTTPS takes the certificate and its private key"],
            ),
            (
                "[serve]\n\ntls_key = \"/etc/lotline/hub-key.pem\"\n",
                &["b.toml:3: serve.tls_key: needs serve.tls_cert too: HTTPS takes the certificate and its private key"],
            ),
            (
                "[serve]\ntls_cert = \"hub-cert.pem\"\ntls_key = \"/etc/lotline/hub-key.pem\"\n",
                &["b.toml:2: serve.tls_cert: 'hub-cert.pem' is not an absolute path (it must start with /)"],
            ),
            (
                "[database]\nurl = \"hub.db\"\n",
                &[
                    "b.toml:2: database.url: 'hub.db' is neither a SQLite file's absolute path (starting with /) nor a PostgreSQL URL (postgres://…)",
                ],
            ),
            ("[database]\nurl = \"\"\n", &["b.toml:2: database.url: is empty"]),
            (
                "[log]\nlevel = \"loud\"\n",
                &["b.toml:2: log.level: 'loud' is not one of \"error\", \"warn\", \"info\", \"debug\", \"trace\""],
            ),
            ("log = \"info\"\n", &["b.toml:1: log: must be a section [log]"]),
            (
                // Several problems at once, reported in the file's order (the document's own
                // order is by key).
                "[serve]\nlisten = \"nowhere\"\nallow_plain_http = 1\n[database]\nurl = \"./hub.db\"\nuser = \"hub\"\n",
                &[
                    "b.toml:2: serve.listen: 'nowhere' is not ADDRESS:PORT (such as \"0.0.0.0:8443\", \"[::]:8443\" or \"localhost:8443\")",
                    "b.toml:3: serve.allow_plain_http: must be true or false (without quotes), not a number",
                    "b.toml:5: database.url: './hub.db' is neither a SQLite file's absolute path (starting with /) nor a PostgreSQL URL (postgres://…)",
                    "b.toml:6: database.user: unknown key (section [database] has url)",
                ],
            ),
        ];
        for (text, want) in cases {
            let problems = parse("b.toml", text).expect_err(text);
            let got: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            assert_eq!(&got, want, "{text}");
            for p in &problems {
                let zh = p.line_zh();
                assert!(
                    zh.starts_with(&format!("b.toml:{}: {}: ", p.line.unwrap(), p.key)),
                    "{zh}"
                );
                assert!(!p.zh.is_ascii(), "a Chinese message: {zh}");
            }
        }
        // Not TOML at all: the line of the syntax error, in both languages.
        let p = parse("b.toml", "[serve]\nlisten = = 3\n").unwrap_err();
        assert_eq!(p.len(), 1);
        assert!(
            p[0].to_string().starts_with("b.toml:2: (syntax): not valid TOML"),
            "{}",
            p[0]
        );
        assert!(p[0].line_zh().contains("不是有效的 TOML"), "{}", p[0].line_zh());
        let e = ConfigError(parse("b.toml", "[serve]\nallow_plain_http = 1\n").unwrap_err());
        assert_eq!(
            e.message_zh(),
            "b.toml:2: serve.allow_plain_http: 须为 true 或 false（不带引号），而不是整数"
        );
    }

    #[test]
    fn the_file_in_effect() {
        let dir = tempfile::tempdir().unwrap();
        let given = dir.path().join("given.toml");
        let from_env = dir.path().join("env.toml");
        assert_eq!(
            path_in_effect(Some(&given), Some(from_env.clone().into())),
            Some(given.clone()),
            "--config wins"
        );
        assert_eq!(
            path_in_effect(None, Some(from_env.clone().into())),
            Some(from_env.clone())
        );
        assert_eq!(path_in_effect(None, Some(OsString::new())), None, "empty: no file");
        let default = Path::new(DEFAULT_PATH);
        assert_eq!(
            path_in_effect(None, None),
            default.exists().then(|| default.to_owned()),
            "the default only when it exists"
        );
        // A named file must exist and be valid.
        let e = effective(Some(&given), None).unwrap_err();
        assert_eq!(e.0[0].key, "(file)");
        assert!(e.to_string().contains("given.toml: (file): cannot be read"), "{e}");
        std::fs::write(&from_env, "[serve]\nlisten = \"127.0.0.1:9000\"\n").unwrap();
        let (p, c) = effective(None, Some(from_env.clone().into())).unwrap().unwrap();
        assert_eq!((p, c.listen.as_deref()), (from_env, Some("127.0.0.1:9000")));
        std::fs::write(&given, [0xff, 0xfe, b'\n']).unwrap();
        let e = load(&given).unwrap_err();
        assert!(e.to_string().ends_with("(file): is not UTF-8 text"), "{e}");
    }
}
