//! The desktop's embedded hub (feature `embedded-hub`): when the app runs on its default cache
//! and no real hub enrolled it, a lotline-hub runs on loopback with a SQLite file beside the
//! cache, seeded on first run with the cache's own master data; the device enrols with a code
//! from it and the sync worker does the rest, so a new user sees the queue drain and the first
//! download. Later runs restart it on the same file and store its new URL (the port changes).

use std::path::Path;

use crate::domain::text::Text;
use crate::store::Store;

/// The settings key that says the device is enrolled with the embedded hub (not a real one).
pub const EMBEDDED_KEY: &str = "hub_embedded";
/// The site the embedded hub's data and the device belong to.
pub const SITE: &str = "demo";

fn text(what_en: &str, what_zh: &str, e: impl std::fmt::Display) -> Text {
    Text::new(format!("{what_en}: {e}"), format!("{what_zh}：{e}"))
}

/// Starts the embedded hub for `store` with its file in `dir`, enrolling the device on first
/// use. `None` when the device is enrolled with a real hub.
pub fn start(store: &mut Store, dir: &Path) -> Result<Option<lotline_hub::EmbeddedHub>, Text> {
    let enrolled = store.sync_config().map_err(|e| Text::of(&e))?.is_some();
    let embedded = store.setting(EMBEDDED_KEY).map_err(|e| Text::of(&e))?.as_deref() == Some("1");
    if enrolled && !embedded {
        return Ok(None);
    }
    let hub_path = dir.join("hub.db");
    let seed = !hub_path.exists();
    let unsent = store.unsent().map_err(|e| Text::of(&e))?;
    if seed && unsent > 0 {
        // The seed is the cache as it stands, queued work included: the hub would apply that
        // work a second time.
        return Err(Text::new(
            format!(
                "the embedded hub is not started: {unsent} command(s) were queued before it existed and would count twice; they stay queued (export them with `lotline outbox export`)"
            ),
            format!(
                "未启动内置中心服务器：{unsent} 条指令在其创建之前已在队列中，会被重复计算；它们仍保留在队列中（可用 `lotline outbox export` 导出）"
            ),
        ));
    }
    let hub_store = lotline_hub::Store::open(&hub_path.display().to_string()).map_err(|e| {
        text(
            "the embedded hub cannot open its database",
            "内置中心服务器无法打开其数据库",
            e,
        )
    })?;
    if seed {
        let mut json = Vec::new();
        crate::store::export::export_master(store, &mut json).map_err(|e| Text::of(&e))?;
        lotline_hub::import_json(&hub_store, json.as_slice(), Some(SITE)).map_err(|e| {
            text(
                "the embedded hub cannot load the demo data",
                "内置中心服务器无法载入演示数据",
                e,
            )
        })?;
    }
    let hub = lotline_hub::EmbeddedHub::start(hub_store.clone(), "127.0.0.1:0")
        .map_err(|e| text("the embedded hub cannot start", "内置中心服务器无法启动", e))?;
    if enrolled {
        store.set_hub_url(&hub.url).map_err(|e| Text::of(&e))?;
    } else {
        let code = lotline_hub::enroll_code(&hub_store, SITE, chrono::Duration::minutes(5)).map_err(|e| {
            text(
                "the embedded hub gives no enrolment code",
                "内置中心服务器未给出注册码",
                e,
            )
        })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| text("cannot start the sync runtime", "无法启动同步运行时", e))?;
        rt.block_on(crate::sync::enroll(store, &hub.url, &code, None, false))
            .map_err(|e| Text::of(&e))?;
        store.set_setting(EMBEDDED_KEY, "1").map_err(|e| Text::of(&e))?;
    }
    Ok(Some(hub))
}
