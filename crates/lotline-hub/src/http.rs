//! The hub's HTTP API (axum): the routes of `lotline_protocol::sync::path`.

use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lotline_protocol::PROTOCOL_VERSION;
use lotline_protocol::sync::{
    EnrollRequest, Health, LotStatusRequest, MAX_BATCH_COMMANDS, MAX_PAGE_CHANGES, UploadRequest, path,
};
use serde::Deserialize;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::auth::{Caller, authenticate, touch_device};
use crate::db::Store;
use crate::error::{Forbidden, HubError};
use crate::now;

/// The largest request body, after decompression.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The OpenAPI description served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../../docs/openapi.yaml");

/// Which device a response was for (for the request's log line).
#[derive(Clone)]
struct DeviceTag(String);

struct ApiError(HubError);

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
        }
        (status, axum::Json(self.0.body())).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, HubError> + Send + 'static) -> Result<T, HubError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HubError::Db(format!("worker failed: {e}")))?
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_string())
}

async fn caller(store: &Store, headers: &HeaderMap) -> Result<Caller, HubError> {
    let token = bearer(headers).ok_or(HubError::Unauthorized)?;
    let s = store.clone();
    blocking(move || authenticate(&s, &token)).await
}

async fn device_caller(store: &Store, headers: &HeaderMap) -> Result<(String, String), HubError> {
    match caller(store, headers).await? {
        Caller::Device { id, site } => Ok((id, site)),
        Caller::Admin { .. } => Err(HubError::Unauthorized),
    }
}

fn tagged(device: &str, r: impl IntoResponse) -> Response {
    let mut r = r.into_response();
    r.extensions_mut().insert(DeviceTag(device.to_string()));
    r
}

fn json_body<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, HubError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HubError::TooLarge(format!("the body is over {MAX_BODY_BYTES} bytes"))
        } else {
            HubError::BadRequest(e.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| HubError::BadRequest(format!("the body is not the expected JSON: {e}")))
}

async fn enroll(State(store): State<Store>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let req: EnrollRequest = json_body(body)?;
    let s = store.clone();
    let r = blocking(move || crate::auth::enroll(&s, &req)).await?;
    tracing::info!(device = %r.device_id, site = %r.site, "device enrolled");
    Ok(tagged(&r.device_id.clone(), axum::Json(r)))
}

async fn commands(State(store): State<Store>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let (id, _) = device_caller(&store, &headers).await?;
    let req: UploadRequest = json_body(body)?;
    if req.commands.len() > MAX_BATCH_COMMANDS {
        return Err(HubError::TooLarge(format!(
            "{} commands in one upload; at most {MAX_BATCH_COMMANDS}",
            req.commands.len()
        ))
        .into());
    }
    if req.device_id != id {
        return Err(HubError::Forbidden(Forbidden::OtherDevice {
            token: id,
            body: req.device_id,
        })
        .into());
    }
    let min = store.min_schema_version();
    if req.schema_version < min {
        return Err(HubError::UpdateRequired {
            found: req.schema_version,
            min,
        }
        .into());
    }
    let s = store.clone();
    let dev = id.clone();
    // The batch's own transaction records `last_seen`.
    let r = blocking(move || crate::apply::apply_batch(&s, &dev, &req.commands)).await?;
    Ok(tagged(&id, axum::Json(r)))
}

/// A device's call other than an upload: its schema (header `X-Lotline-Schema`) is checked.
async fn device_call(store: &Store, headers: &HeaderMap) -> Result<String, HubError> {
    let (id, _) = device_caller(store, headers).await?;
    let schema = headers
        .get("x-lotline-schema")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok());
    let min = store.min_schema_version();
    if let Some(v) = schema
        && v < min
    {
        return Err(HubError::UpdateRequired { found: v, min });
    }
    let s = store.clone();
    let dev = id.clone();
    blocking(move || touch_device(&s, &dev, schema)).await?;
    Ok(id)
}

async fn buckets(State(store): State<Store>, headers: HeaderMap) -> ApiResult {
    let id = device_call(&store, &headers).await?;
    let s = store.clone();
    let dev = id.clone();
    let r = blocking(move || crate::changes::list_buckets(&s, &dev)).await?;
    Ok(tagged(&id, axum::Json(r)))
}

#[derive(Deserialize)]
struct ChangesQuery {
    #[serde(default)]
    after: i64,
    generation: Option<i64>,
    limit: Option<usize>,
}

async fn changes(
    State(store): State<Store>,
    headers: HeaderMap,
    Path(bucket): Path<String>,
    q: Result<Query<ChangesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let id = device_call(&store, &headers).await?;
    let Query(q) = q.map_err(|e| HubError::BadRequest(e.body_text()))?;
    let s = store.clone();
    let dev = id.clone();
    let body = blocking(move || {
        crate::changes::changes_json(
            &s,
            &dev,
            &bucket,
            q.after,
            q.generation,
            q.limit.unwrap_or(MAX_PAGE_CHANGES),
        )
    })
    .await?;
    let mut r = tagged(&id, body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}

async fn lot(State(store): State<Store>, headers: HeaderMap, Path((gtin, lot)): Path<(String, String)>) -> ApiResult {
    let who = caller(&store, &headers).await?;
    let s = store.clone();
    let r = blocking(move || crate::lots::lot_info(&s, &gtin, &lot)).await?;
    let tag = match who {
        Caller::Device { id, .. } => id,
        Caller::Admin { name } => format!("admin:{name}"),
    };
    Ok(tagged(&tag, axum::Json(r)))
}

async fn lot_status(State(store): State<Store>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let name = match caller(&store, &headers).await? {
        Caller::Admin { name } => name,
        Caller::Device { .. } => return Err(HubError::Forbidden(Forbidden::NotAdmin).into()),
    };
    let req: LotStatusRequest = json_body(body)?;
    let s = store.clone();
    let by = name.clone();
    let r =
        blocking(move || crate::lots::set_lot_status(&s, &req.gtin, &req.lot, &req.status, req.reason.as_deref(), &by))
            .await?;
    tracing::info!(admin = %name, item = %r.item, lot = %r.lot, status = %r.status, "lot status set");
    Ok(tagged(&format!("admin:{name}"), axum::Json(r)))
}

async fn health(State(store): State<Store>) -> Response {
    axum::Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: PROTOCOL_VERSION,
        min_schema_version: store.min_schema_version(),
        max_schema_version: lotline_domain::command::SCHEMA_VERSION,
        hub_time: now(),
    })
    .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

async fn metrics(State(store): State<Store>) -> ApiResult {
    let s = store.clone();
    let text = blocking(move || crate::metrics::render(&s)).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> ApiResult {
    Err(HubError::NoSuchCall(format!("{method} {}", uri.path())).into())
}

async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let r = next.run(req).await;
    let device = r
        .extensions()
        .get::<DeviceTag>()
        .map(|d| d.0.clone())
        .unwrap_or_default();
    let span = tracing::info_span!("request", %method, %path, %device);
    let _g = span.enter();
    tracing::info!(
        status = r.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "handled"
    );
    r
}

/// The hub's routes on `store`.
pub fn router(store: Store) -> Router {
    Router::new()
        .route(path::ENROLL, post(enroll))
        .route(path::COMMANDS, post(commands))
        .route(path::BUCKETS, get(buckets))
        .route("/v1/buckets/{bucket}/changes", get(changes))
        .route("/v1/lots/{gtin}/{lot}", get(lot))
        .route(path::LOT_STATUS, post(lot_status))
        .route(path::HEALTH, get(health))
        .route(path::OPENAPI, get(openapi))
        .route(path::METRICS, get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
        .layer(middleware::from_fn(log_request))
        .with_state(store)
}

/// Serves the hub on `listener` until the process ends.
pub async fn serve(store: Store, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(store)).await
}

/// A hub on its own thread and tokio runtime (the handheld's embedded default, and tests).
pub struct EmbeddedHub {
    /// `http://ADDR:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EmbeddedHub {
    /// Binds `addr` (`127.0.0.1:0` picks a port) and serves `store` there.
    pub fn start(store: Store, addr: &str) -> Result<EmbeddedHub, HubError> {
        let std_listener = std::net::TcpListener::bind(addr).map_err(|e| HubError::Io(format!("{addr}: {e}")))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| HubError::Io(e.to_string()))?;
        let local = std_listener.local_addr().map_err(|e| HubError::Io(e.to_string()))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("lotline-hub")
            .build()
            .map_err(|e| HubError::Io(e.to_string()))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lotline-hub".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "the embedded hub cannot listen");
                            return;
                        }
                    };
                    let res = axum::serve(listener, router(store))
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                    if let Err(e) = res {
                        tracing::error!(error = %e, "the embedded hub stopped");
                    }
                });
            })
            .map_err(|e| HubError::Io(e.to_string()))?;
        Ok(EmbeddedHub {
            url: format!("http://{local}"),
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EmbeddedHub {
    fn drop(&mut self) {
        self.shutdown();
    }
}
