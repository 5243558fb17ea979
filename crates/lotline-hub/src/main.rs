//! `lotline-hub`: the central server's command line.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lotline_hub::{HubError, ImportError, Store};

#[derive(Parser)]
#[command(name = "lotline-hub", version, about = "lotline's central server")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the sync API; the first line on stdout is the URL.
    Serve {
        #[arg(long)]
        db: String,
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: String,
        /// Plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
        #[arg(long)]
        allow_plain_http: bool,
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Import master data: lotline import's JSON, or one section per CSV file (items.csv, …).
    Import {
        #[arg(long)]
        db: String,
        file: PathBuf,
        /// Locations, stock, operators and tasks of this site (default: global).
        #[arg(long)]
        site: Option<String>,
    },
    /// Make a one-time enrolment code for a device of SITE.
    Enroll {
        #[arg(long)]
        db: String,
        #[arg(long)]
        site: String,
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
    },
    /// Set a lot's status (recall, hold, release, reject).
    Lot {
        #[arg(long)]
        db: String,
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
        #[arg(long)]
        db: String,
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
        #[arg(long)]
        db: String,
        #[arg(long)]
        lot: Option<String>,
        #[arg(long)]
        gtin: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Apply an outbox file carried from a device.
    Ingest {
        #[arg(long)]
        db: String,
        file: PathBuf,
    },
    /// Order every device to fetch a bucket again from the start.
    Refetch {
        #[arg(long)]
        db: String,
        #[arg(long)]
        bucket: String,
    },
    /// Print a new admin token (for POST /v1/lot-status).
    Token {
        #[arg(long)]
        db: String,
        #[arg(long)]
        admin: String,
    },
    /// Upload throughput: simulated devices over HTTP on loopback to an in-process hub.
    Bench {
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 50)]
        devices: usize,
        #[arg(long, default_value_t = 20_000)]
        commands: usize,
    },
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
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("lotline-hub: {}", f.en);
            eprintln!("lotline-hub: {}", f.zh);
            ExitCode::FAILURE
        }
    }
}

fn print_json(v: &impl serde::Serialize) -> Result<(), Fail> {
    let s = serde_json::to_string_pretty(v).map_err(|e| fail(e.to_string(), e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn run(cli: Cli) -> Result<(), Fail> {
    match cli.cmd {
        Cmd::Serve {
            db,
            listen,
            allow_plain_http,
            tls_cert,
            tls_key,
        } => serve(&db, &listen, allow_plain_http, tls_cert.zip(tls_key)),
        Cmd::Import { db, file, site } => {
            let store = Store::open(&db)?;
            let r = lotline_hub::import_file(&store, &file, site.as_deref())?;
            print_json(&r)
        }
        Cmd::Enroll { db, site, ttl_hours } => {
            if ttl_hours <= 0 {
                return Err(fail("--ttl-hours must be at least 1", "--ttl-hours 至少为 1"));
            }
            let store = Store::open(&db)?;
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
            let store = Store::open(&db)?;
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
            let store = Store::open(&db)?;
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
            let store = Store::open(&db)?;
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
            let store = Store::open(&db)?;
            let s = lotline_hub::ingest_file(&store, &f)?;
            print_json(&s)
        }
        Cmd::Refetch { db, bucket } => {
            let store = Store::open(&db)?;
            let g = lotline_hub::refetch(&store, &bucket)?;
            print_json(&serde_json::json!({"bucket": bucket, "generation": g}))
        }
        Cmd::Token { db, admin } => {
            let store = Store::open(&db)?;
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

fn serve(db: &str, listen: &str, allow_plain_http: bool, tls: Option<(PathBuf, PathBuf)>) -> Result<(), Fail> {
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
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
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
