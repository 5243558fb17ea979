//! `lotline-hub`: the central server's command line.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lotline_hub::config::{self, Config, ConfigError};
use lotline_hub::{HubError, ImportError, Store};

#[derive(Parser)]
#[command(name = "lotline-hub", version, about = "lotline's central server")]
struct Cli {
    /// The configuration file (default: $LOTLINE_HUB_CONFIG, else /etc/lotline/lotline-hub.toml
    /// when it exists). Flags override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the sync API; the first line on stdout is the URL.
    Serve {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        /// ADDRESS:PORT (default: the configuration's [serve] listen, else 127.0.0.1:8443).
        #[arg(long)]
        listen: Option<String>,
        /// Plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
        #[arg(long)]
        allow_plain_http: bool,
        /// HTTPS: the certificate (PEM), with --tls-key; both replace the configuration's.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// The configuration file.
    Config {
        #[command(subcommand)]
        what: ConfigCmd,
    },
    /// Import master data: lotline import's JSON, or one section per CSV file (items.csv, …).
    Import {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        file: PathBuf,
        /// Locations, stock, operators and tasks of this site (default: global).
        #[arg(long)]
        site: Option<String>,
    },
    /// Make a one-time enrolment code for a device of SITE.
    Enroll {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        #[arg(long)]
        site: String,
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
    },
    /// Set a lot's status (recall, hold, release, reject).
    Lot {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        #[arg(long)]
        lot: String,
        #[arg(long)]
        gtin: String,
        #[arg(long)]
        status: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Export applied commands.
    Export {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value = "json")]
        format: String,
        #[arg(long, default_value_t = 0)]
        since: i64,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Trace a lot (or every lot of a GTIN): status history, movements, stock.
    Trace {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        #[arg(long)]
        lot: Option<String>,
        #[arg(long)]
        gtin: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Apply an outbox file carried from a device.
    Ingest {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        file: PathBuf,
    },
    /// Order every device to fetch a bucket again from the start.
    Refetch {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        #[arg(long)]
        bucket: String,
    },
    /// Print a new admin token (for POST /v1/lot-status).
    Token {
        /// The database: a SQLite file or postgres://… (default: the configuration's [database] url).
        #[arg(long)]
        db: Option<String>,
        #[arg(long)]
        admin: String,
    },
    /// Upload throughput: simulated devices over HTTP on loopback to an in-process hub.
    Bench {
        /// A database to fill with test data: given explicitly, never the configuration's.
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 50)]
        devices: usize,
        #[arg(long, default_value_t = 20_000)]
        commands: usize,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Check a configuration file (default: the one in effect, else
    /// /etc/lotline/lotline-hub.toml): exit 0 when valid, else 1 with each problem on stderr.
    Check { file: Option<PathBuf> },
}

/// An error for people: English, then Chinese.
struct Fail {
    en: String,
    zh: String,
}

impl From<HubError> for Fail {
    fn from(e: HubError) -> Fail {
        Fail {
            en: e.to_string(),
            zh: e.message_zh(),
        }
    }
}

impl From<ConfigError> for Fail {
    fn from(e: ConfigError) -> Fail {
        Fail {
            en: e.to_string(),
            zh: e.message_zh(),
        }
    }
}

impl From<ImportError> for Fail {
    fn from(e: ImportError) -> Fail {
        Fail {
            en: e.to_string(),
            zh: e.message_zh(),
        }
    }
}

fn fail(en: impl Into<String>, zh: impl Into<String>) -> Fail {
    Fail {
        en: en.into(),
        zh: zh.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `config check` reads the file it is given and nothing else: the file in effect may be the
    // broken one.
    if let Cmd::Config {
        what: ConfigCmd::Check { file },
    } = &cli.cmd
    {
        return config_check(file.as_deref(), cli.config.as_deref());
    }
    let result = config::effective(cli.config.as_deref(), std::env::var_os(config::ENV))
        .map_err(Fail::from)
        .and_then(|loaded| run(cli, &loaded.map(|(_, c)| c).unwrap_or_default()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("lotline-hub: {}", f.en);
            eprintln!("lotline-hub: {}", f.zh);
            ExitCode::FAILURE
        }
    }
}

/// `lotline-hub config check [FILE]`: FILE, else the file `--config` or `$LOTLINE_HUB_CONFIG`
/// names, else the default path. Valid: a line on stdout, exit 0; otherwise every problem on
/// stderr (in English, then in Chinese), exit 1.
fn config_check(file: Option<&Path>, given: Option<&Path>) -> ExitCode {
    let path = file
        .map(Path::to_owned)
        .or_else(|| config::path_in_effect(given, std::env::var_os(config::ENV)))
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    match config::load(&path) {
        Ok(_) => {
            println!("{}: valid / 有效", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut err = std::io::stderr().lock();
            for p in &e.0 {
                let _ = writeln!(err, "{p}");
            }
            for p in &e.0 {
                let _ = writeln!(err, "{}", p.line_zh());
            }
            ExitCode::FAILURE
        }
    }
}

/// The database: `--db`, else the configuration's `[database] url`.
fn database(flag: Option<String>, config: &Config) -> Result<String, Fail> {
    flag.or_else(|| config.database_url.clone()).ok_or_else(|| {
        fail(
            format!(
                "--db is required (a SQLite file or postgres://…), or [database] url in the configuration file ({})",
                config::DEFAULT_PATH
            ),
            format!(
                "需要 --db（SQLite 文件或 postgres://…），或在配置文件（{}）中设置 [database] url",
                config::DEFAULT_PATH
            ),
        )
    })
}

fn print_json(v: &impl serde::Serialize) -> Result<(), Fail> {
    let s = serde_json::to_string_pretty(v).map_err(|e| fail(e.to_string(), e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn run(cli: Cli, config: &Config) -> Result<(), Fail> {
    match cli.cmd {
        Cmd::Serve {
            db,
            listen,
            allow_plain_http,
            tls_cert,
            tls_key,
        } => {
            let db = database(db, config)?;
            let listen = listen
                .or_else(|| config.listen.clone())
                .unwrap_or_else(|| "127.0.0.1:8443".into());
            let allow_plain_http = allow_plain_http || config.allow_plain_http.unwrap_or(false);
            // The flags come as a pair (clap checks it); they replace the file's pair.
            let tls = tls_cert
                .zip(tls_key)
                .or_else(|| config.tls_cert.clone().zip(config.tls_key.clone()));
            serve(&db, &listen, allow_plain_http, tls, config.log_level.as_deref())
        }
        Cmd::Config { .. } => unreachable!("`config check` runs before the configuration is read"),
        Cmd::Import { db, file, site } => {
            let store = Store::open(&database(db, config)?)?;
            let r = lotline_hub::import_file(&store, &file, site.as_deref())?;
            print_json(&r)
        }
        Cmd::Enroll { db, site, ttl_hours } => {
            if ttl_hours <= 0 {
                return Err(fail("--ttl-hours must be at least 1", "--ttl-hours 至少为 1"));
            }
            let store = Store::open(&database(db, config)?)?;
            let code = lotline_hub::enroll_code(&store, &site, chrono::Duration::hours(ttl_hours))?;
            println!("{code}");
            Ok(())
        }
        Cmd::Lot {
            db,
            lot,
            gtin,
            status,
            reason,
        } => {
            let store = Store::open(&database(db, config)?)?;
            let by = std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "cli".into());
            let info = lotline_hub::set_lot_status(&store, &gtin, &lot, &status, reason.as_deref(), &by)?;
            print_json(&info)
        }
        Cmd::Export {
            db,
            format,
            since,
            from,
            to,
        } => {
            if format != "json" && format != "csv" {
                return Err(fail(
                    format!("--format {format}: json or csv"),
                    format!("--format {format}：只能是 json 或 csv"),
                ));
            }
            let store = Store::open(&database(db, config)?)?;
            let ex = lotline_hub::export(&store, since, from.as_deref(), to.as_deref())?;
            if format == "json" {
                return print_json(&ex);
            }
            let mut w = csv::Writer::from_writer(std::io::stdout());
            let io = |e: csv::Error| fail(e.to_string(), format!("写出 CSV 失败：{e}"));
            w.write_record([
                "cursor",
                "id",
                "device_id",
                "seq",
                "type",
                "payload",
                "created_at",
                "operator",
                "applied_at",
            ])
            .map_err(io)?;
            for c in &ex.commands {
                w.write_record([
                    c.cursor.to_string(),
                    c.id.clone(),
                    c.device_id.clone(),
                    c.seq.to_string(),
                    c.kind.clone(),
                    c.payload.to_string(),
                    c.created_at.clone(),
                    c.operator.clone().unwrap_or_default(),
                    c.applied_at.clone(),
                ])
                .map_err(io)?;
            }
            w.flush().map_err(|e| fail(e.to_string(), format!("写出失败：{e}")))?;
            Ok(())
        }
        Cmd::Trace { db, lot, gtin, json } => {
            if lot.is_none() && gtin.is_none() {
                return Err(fail("give --lot, --gtin or both", "请指定 --lot、--gtin 或两者"));
            }
            let store = Store::open(&database(db, config)?)?;
            let t = lotline_hub::trace(&store, lot.as_deref(), gtin.as_deref())?;
            if t.is_empty() {
                let what = lot.clone().or(gtin.clone()).unwrap_or_default();
                return Err(fail(
                    format!("no lot {what} on this hub"),
                    format!("此中心服务上没有批次 {what}"),
                ));
            }
            if json {
                print_json(&serde_json::json!({ "lots": t }))
            } else {
                print!("{}", lotline_hub::lots::trace_table(&t));
                Ok(())
            }
        }
        Cmd::Ingest { db, file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                fail(
                    format!("{}: {e}", file.display()),
                    format!("无法读取 {}：{e}", file.display()),
                )
            })?;
            let f: lotline_protocol::OutboxFile = serde_json::from_str(&text).map_err(|e| {
                fail(
                    format!("{}: not an outbox file: {e}", file.display()),
                    format!("{}：不是待发送文件：{e}", file.display()),
                )
            })?;
            let store = Store::open(&database(db, config)?)?;
            let s = lotline_hub::ingest_file(&store, &f)?;
            print_json(&s)
        }
        Cmd::Refetch { db, bucket } => {
            let store = Store::open(&database(db, config)?)?;
            let g = lotline_hub::refetch(&store, &bucket)?;
            print_json(&serde_json::json!({"bucket": bucket, "generation": g}))
        }
        Cmd::Token { db, admin } => {
            let store = Store::open(&database(db, config)?)?;
            println!("{}", lotline_hub::admin_token(&store, &admin)?);
            Ok(())
        }
        Cmd::Bench { db, devices, commands } => {
            let store = Store::open(&db)?;
            let r = lotline_hub::bench::run(&store, devices, commands)?;
            print_json(&r)
        }
    }
}

fn is_loopback(listen: &str) -> bool {
    let host = listen.rsplit_once(':').map(|(h, _)| h).unwrap_or(listen);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn serve(
    db: &str,
    listen: &str,
    allow_plain_http: bool,
    tls: Option<(PathBuf, PathBuf)>,
    log_level: Option<&str>,
) -> Result<(), Fail> {
    #[cfg(not(feature = "tls"))]
    if tls.is_some() {
        return Err(fail(
            "this hub was built without HTTPS (the `tls` feature): serve plain HTTP behind a TLS-terminating proxy (--allow-plain-http)",
            "此中心服务构建时未包含 HTTPS（tls 功能）：请在终止 TLS 的反向代理之后以明文 HTTP 运行（--allow-plain-http）",
        ));
    }
    if tls.is_none() && !is_loopback(listen) && !allow_plain_http {
        return Err(fail(
            format!(
                "refusing plain HTTP on {listen}, which is not a loopback address: tokens would travel unencrypted. Serve HTTPS with --tls-cert FILE --tls-key FILE, or put the hub behind a TLS-terminating proxy and pass --allow-plain-http"
            ),
            format!(
                "拒绝在非本机回环地址 {listen} 上提供明文 HTTP：令牌将以明文传输。请用 --tls-cert 文件 --tls-key 文件 提供 HTTPS，或将中心服务置于终止 TLS 的反向代理之后并加上 --allow-plain-http"
            ),
        ));
    }
    #[cfg(feature = "tls")]
    let tls_config = match &tls {
        Some((cert, key)) => Some(lotline_hub::tls::server_config(cert, key)?),
        None => None,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            // $RUST_LOG, else the configuration's [log] level, else info.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| log_level.unwrap_or("info").into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let store = Store::open(db)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(e.to_string(), format!("无法启动运行时：{e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            fail(
                format!("cannot listen on {listen}: {e}"),
                format!("无法监听 {listen}：{e}"),
            )
        })?;
        let addr = listener.local_addr().map_err(|e| fail(e.to_string(), e.to_string()))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{scheme}://{addr}");
        let _ = out.flush();
        tracing::info!(%addr, scheme, "lotline-hub serving");
        let stopped = |e: std::io::Error| fail(format!("the server stopped: {e}"), format!("服务已停止：{e}"));
        #[cfg(feature = "tls")]
        if let Some(config) = tls_config {
            return lotline_hub::tls::serve_tls(store, listener, config)
                .await
                .map_err(stopped);
        }
        lotline_hub::serve(store, listener).await.map_err(stopped)
    })
}
