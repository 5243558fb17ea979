//! The hub's HTTP client: reqwest over rustls (the ring provider), JSON bodies, uploads gzip
//! compressed, gzip responses, timeouts. A site's own CA (PEM) is added to the web roots; plain
//! `http://` only to a loopback host or when enrolment allowed it.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lotline_protocol::sync::{
    BucketList, ChangePage, EnrollRequest, EnrollResponse, ErrorBody, Health, UploadRequest, UploadResponse, path,
};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::domain::text::Bilingual;

/// Why a call to the hub failed, in both languages.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the hub at {url} cannot be reached ({detail}); the commands stay queued and are sent when it can")]
    Unreachable { url: String, detail: String },
    #[error(
        "the hub refused this device's token (401: {message}); enrol the device again with `lotline enroll --db DB --server URL --code CODE`"
    )]
    Unauthorized { message: String, message_zh: String },
    #[error(
        "the hub at {url} shows a certificate this device does not trust ({detail}); enrol with --ca FILE, the site's CA certificate (PEM)"
    )]
    Untrusted { url: String, detail: String },
    #[error("the hub forbids this (403: {message})")]
    Forbidden { message: String, message_zh: String },
    #[error(
        "the hub needs a newer lotline (command schema {min} or later; this one writes {have}): update lotline; the commands stay queued"
    )]
    UpdateRequired { min: u32, have: u32 },
    #[error("the hub answered {status}: {message}")]
    Hub {
        status: u16,
        code: String,
        message: String,
        message_zh: String,
    },
    #[error("the hub's answer cannot be read ({0}); is {1} a lotline hub?")]
    Protocol(String, String),
    #[error(
        "{url} is plain http to a host that is not this machine: enrol with an https:// URL, or with --allow-plain-http on a trusted network"
    )]
    PlainHttp { url: String },
    #[error("the CA certificate {path} cannot be used: {detail}")]
    Ca { path: String, detail: String },
    #[error("{url} is not a hub URL (http:// or https://)")]
    BadUrl { url: String },
    #[error(
        "{db} is not enrolled with a hub: enrol it with `lotline enroll --db {db} --server URL --code CODE` (the code comes from `lotline-hub enroll`)"
    )]
    NotEnrolled { db: String },
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Enroll(#[from] crate::store::sync::EnrollError),
}

impl Bilingual for SyncError {
    fn message_zh(&self) -> String {
        match self {
            SyncError::Unreachable { url, detail } => {
                format!("无法连接中心服务器 {url}（{detail}）；指令保留在队列中，可连接时再发送")
            }
            SyncError::Unauthorized { message_zh, .. } => format!(
                "中心服务器拒绝了本设备的令牌（401：{message_zh}）；请用 `lotline enroll --db 数据库 --server 地址 --code 注册码` 重新注册设备"
            ),
            SyncError::Untrusted { url, detail } => format!(
                "中心服务器 {url} 出示的证书不受本设备信任（{detail}）；请用 --ca 文件（站点的 CA 证书，PEM）注册"
            ),
            SyncError::Forbidden { message_zh, .. } => format!("中心服务器禁止此操作（403：{message_zh}）"),
            SyncError::UpdateRequired { min, have } => format!(
                "中心服务器需要更新版本的 lotline（指令结构版本 {min} 或更高；本程序为 {have}）：请更新 lotline；指令保留在队列中"
            ),
            SyncError::Hub { status, message_zh, .. } => format!("中心服务器返回 {status}：{message_zh}"),
            SyncError::Protocol(d, url) => format!("无法读取中心服务器的应答（{d}）；{url} 是 lotline 中心服务器吗？"),
            SyncError::PlainHttp { url } => {
                format!("{url} 是发往其他主机的明文 http：请用 https:// 地址注册，或在可信网络上加 --allow-plain-http")
            }
            SyncError::Ca { path, detail } => format!("无法使用 CA 证书 {path}：{detail}"),
            SyncError::BadUrl { url } => format!("{url} 不是中心服务器地址（http:// 或 https://）"),
            SyncError::NotEnrolled { db } => format!(
                "{db} 尚未在中心服务器注册：请用 `lotline enroll --db {db} --server 地址 --code 注册码` 注册（注册码由 `lotline-hub enroll` 生成）"
            ),
            SyncError::Store(e) => e.message_zh(),
            SyncError::Enroll(e) => e.message_zh(),
        }
    }
}

impl SyncError {
    /// Retrying later may help (the network, a busy hub); otherwise a person must act.
    pub fn transient(&self) -> bool {
        match self {
            SyncError::Unreachable { .. } | SyncError::Protocol(..) => true,
            SyncError::Hub { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}

/// Whether `host` (from a URL) is this machine.
fn loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks a hub URL: https, or http to loopback or when allowed. Returns it without a trailing `/`.
pub fn check_url(url: &str, allow_plain_http: bool) -> Result<String, SyncError> {
    let u = url.trim().trim_end_matches('/');
    let rest = if let Some(r) = u.strip_prefix("https://") {
        r
    } else if let Some(r) = u.strip_prefix("http://") {
        let host_port = r.split('/').next().unwrap_or("");
        let host = match host_port.rfind(':') {
            Some(i) if !host_port.ends_with(']') => &host_port[..i],
            _ => host_port,
        };
        if !allow_plain_http && !loopback(host) {
            return Err(SyncError::PlainHttp { url: u.into() });
        }
        r
    } else {
        return Err(SyncError::BadUrl { url: u.into() });
    };
    if rest.is_empty() {
        return Err(SyncError::BadUrl { url: u.into() });
    }
    Ok(u.to_owned())
}

/// Percent-encodes a path segment (a bucket name such as `site:S1`).
fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A client of one hub.
#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl HubClient {
    /// A client for `base` (checked by [`check_url`]), with `ca` (PEM) added to the roots.
    pub fn new(
        base: &str,
        token: Option<&str>,
        ca: Option<&Path>,
        allow_plain_http: bool,
    ) -> Result<HubClient, SyncError> {
        let base = check_url(base, allow_plain_http)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = ca {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let bad = |detail: String| SyncError::Ca {
                path: ca.display().to_string(),
                detail,
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("no certificate in the file".into()));
            }
            for c in certs {
                roots.add(c).map_err(|e| bad(e.to_string()))?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| SyncError::Protocol(e.to_string(), base.clone()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .gzip(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("lotline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Protocol(e.to_string(), base.clone()))?;
        Ok(HubClient {
            http,
            base,
            token: token.map(str::to_owned),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, e: reqwest::Error) -> SyncError {
        let mut detail = e.to_string();
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = src {
            detail = format!("{detail}: {s}");
            src = s.source();
        }
        if detail.contains("invalid peer certificate") {
            return SyncError::Untrusted {
                url: self.base.clone(),
                detail,
            };
        }
        SyncError::Unreachable {
            url: self.base.clone(),
            detail,
        }
    }

    async fn answer<T: DeserializeOwned>(&self, resp: reqwest::Response) -> Result<T, SyncError> {
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| SyncError::Protocol(e.to_string(), self.base.clone()));
        }
        let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let (message, message_zh, code) = match &body {
            Some(b) => (b.message.clone(), b.message_zh.clone(), b.error.clone()),
            None => {
                let t = String::from_utf8_lossy(&bytes).chars().take(200).collect::<String>();
                (t.clone(), t, String::new())
            }
        };
        Err(match status {
            StatusCode::UNAUTHORIZED => SyncError::Unauthorized { message, message_zh },
            StatusCode::FORBIDDEN => SyncError::Forbidden { message, message_zh },
            StatusCode::UPGRADE_REQUIRED => SyncError::UpdateRequired {
                min: body.and_then(|b| b.min_schema_version).unwrap_or(0),
                have: crate::domain::command::SCHEMA_VERSION,
            },
            s => SyncError::Hub {
                status: s.as_u16(),
                code,
                message,
                message_zh,
            },
        })
    }

    fn get(&self, p: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.get(format!("{}{p}", self.base));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        r
    }

    fn post_json(&self, p: &str, body: Vec<u8>, gzip: bool) -> Result<reqwest::RequestBuilder, SyncError> {
        let mut r = self
            .http
            .post(format!("{}{p}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        if gzip {
            let mut enc =
                flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
            enc.write_all(&body)
                .and_then(|_| enc.finish())
                .map(|z| r.header(reqwest::header::CONTENT_ENCODING, "gzip").body(z))
                .map_err(|e| SyncError::Protocol(e.to_string(), self.base.clone()))
        } else {
            Ok(r.body(body))
        }
    }

    pub async fn health(&self) -> Result<Health, SyncError> {
        let resp = self.get(path::HEALTH).send().await.map_err(|e| self.unreachable(e))?;
        self.answer(resp).await
    }

    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, SyncError> {
        let body = serde_json::to_vec(req).map_err(|e| SyncError::Protocol(e.to_string(), self.base.clone()))?;
        let resp = self
            .post_json(path::ENROLL, body, false)?
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.answer(resp).await
    }

    pub async fn upload(&self, req: &UploadRequest) -> Result<UploadResponse, SyncError> {
        let body = serde_json::to_vec(req).map_err(|e| SyncError::Protocol(e.to_string(), self.base.clone()))?;
        let resp = self
            .post_json(path::COMMANDS, body, true)?
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.answer(resp).await
    }

    pub async fn buckets(&self) -> Result<BucketList, SyncError> {
        let resp = self.get(path::BUCKETS).send().await.map_err(|e| self.unreachable(e))?;
        self.answer(resp).await
    }

    /// One lot as the hub knows it (`GET /v1/lots/{gtin}/{lot}`).
    pub async fn lot(&self, gtin: &str, lot: &str) -> Result<lotline_protocol::sync::LotInfo, SyncError> {
        let p = format!("{}{}/{}", path::LOTS_PREFIX, segment(gtin), segment(lot));
        let resp = self.get(&p).send().await.map_err(|e| self.unreachable(e))?;
        self.answer(resp).await
    }

    pub async fn changes(
        &self,
        bucket: &str,
        after: i64,
        generation: i64,
        limit: usize,
    ) -> Result<ChangePage, SyncError> {
        let p = format!(
            "{}{}/changes?after={after}&generation={generation}&limit={limit}",
            path::CHANGES_PREFIX,
            segment(bucket)
        );
        let resp = self.get(&p).send().await.map_err(|e| self.unreachable(e))?;
        self.answer(resp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_or_when_allowed() {
        let cases = [
            ("http://127.0.0.1:8080/", false, Ok("http://127.0.0.1:8080")),
            ("http://localhost:1", false, Ok("http://localhost:1")),
            ("http://[::1]:9/", false, Ok("http://[::1]:9")),
            ("https://hub.example:443", false, Ok("https://hub.example:443")),
            ("http://10.0.0.5:8080", true, Ok("http://10.0.0.5:8080")),
            ("http://10.0.0.5:8080", false, Err("plain")),
            ("http://hub.example", false, Err("plain")),
            ("ftp://x", true, Err("url")),
            ("https://", true, Err("url")),
        ];
        for (url, allow, want) in cases {
            match (check_url(url, allow), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w),
                (Err(SyncError::PlainHttp { .. }), Err("plain")) => {}
                (Err(SyncError::BadUrl { .. }), Err("url")) => {}
                (got, w) => panic!("{url} {allow}: {got:?}, want {w:?}"),
            }
        }
        assert_eq!(segment("site:S1/x y"), "site:S1%2Fx%20y");
    }
}
