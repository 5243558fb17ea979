//! `lotline doctor`: a health report a technician can read over the phone. Each finding is one
//! line in the UI language, marked OK, `!!` (needs attention) or `--` (for information):
//!
//! - devices: each one named by the flags or the configuration (profile known, port present:
//!   found; port missing: lost), those `auto` finds, or the simulated pair;
//! - the cache: `PRAGMA quick_check`, its size, the free disk space;
//! - the clock: against the hub's (when it answers), else not before the last sync;
//! - the hub: enrolled, reachable, the last successful sync, the site;
//! - the queue: commands unsent and the age of the oldest.
//!
//! [`gather`] does the looking (the cache read-only, the hub's health call, the device nodes; it
//! opens no device, so it runs beside the app); [`Report`] is the result.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};

use crate::app::devices::{MachineInfo, detect};
use crate::devices::profile::LoadedProfiles;
use crate::domain::text::Text;
use crate::store::Store;

/// How a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Attention,
    Info,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    /// `devices`, `cache`, `clock`, `hub` or `queue`.
    pub area: &'static str,
    pub status: Status,
    pub en: String,
    pub zh: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    fn add(&mut self, area: &'static str, status: Status, text: Text) {
        self.findings.push(Finding {
            area,
            status,
            en: text.en.clone(),
            zh: text.zh.clone(),
        });
    }

    /// Something needs a technician's attention.
    pub fn needs_attention(&self) -> bool {
        self.findings.iter().any(|f| f.status == Status::Attention)
    }

    /// The report as lines, in Chinese when `zh`.
    pub fn lines(&self, zh: bool) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.findings {
            let mark = match f.status {
                Status::Ok => "OK",
                Status::Attention => "!!",
                Status::Info => "--",
            };
            let area = if zh { area_zh(f.area) } else { f.area };
            out.push(format!("{mark} {area}: {}", if zh { &f.zh } else { &f.en }));
        }
        out.push(self.summary(zh).to_owned());
        out
    }

    /// The report's last line: all is well, or something needs attention.
    pub fn summary(&self, zh: bool) -> &'static str {
        match (self.needs_attention(), zh) {
            (false, false) => "All is well.",
            (false, true) => "一切正常。",
            (true, false) => "Something needs attention (lines marked !!).",
            (true, true) => "有需要处理的问题（标有 !! 的行）。",
        }
    }
}

/// A finding's area as the report names it, in Chinese when `zh`.
pub fn area_name(area: &'static str, zh: bool) -> &'static str {
    if zh { area_zh(area) } else { area }
}

fn area_zh(area: &str) -> &'static str {
    match area {
        "devices" => "设备",
        "cache" => "缓存",
        "clock" => "时钟",
        "hub" => "中心服务器",
        _ => "队列",
    }
}

/// Which devices the report looks at when none is named, as the app would use them.
pub use crate::config::DevicesMode;

/// What [`gather`] needs.
pub struct Input<'a> {
    pub db: &'a Path,
    /// `PROFILE[=PORT]` entries from the flags or the configuration.
    pub devices: &'a [String],
    pub mode: DevicesMode,
    pub profiles: &'a LoadedProfiles,
    pub machine: &'a MachineInfo,
    /// The site the configuration names, if any.
    pub site: Option<&'a str>,
    pub now: DateTime<FixedOffset>,
    /// The devices as the running app has them (its health screen): reported instead of
    /// looking for devices.
    pub live: Option<&'a [LiveDevice]>,
}

/// A device as the running app knows it, for its health screen.
#[derive(Debug, Clone)]
pub struct LiveDevice {
    pub kind: crate::devices::DeviceKind,
    /// Its profile's name.
    pub name: String,
    pub state: crate::devices::DeviceState,
    /// The app's simulated scanner or reader.
    pub simulated: bool,
    /// Its port and settings when up, why not when not.
    pub detail: Text,
    /// When the app last heard from it, and what: `scan`, `tag`, `round` (an inventory pass
    /// ended), `state` or `error`.
    pub last_event: Option<(DateTime<FixedOffset>, &'static str)>,
}

/// Free disk space below this needs attention (a day's work is far less, but SQLite needs room
/// to checkpoint and migrate).
const LOW_DISK_BYTES: u64 = 200 * 1024 * 1024;
/// A clock further than this from the hub's needs attention (expiry decisions are by date, but the
/// audit log's times are evidence).
const MAX_SKEW_S: i64 = 120;
/// Unsent commands older than this need attention: the handheld has not reached its hub all day.
const STALE_QUEUE_H: i64 = 24;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Free bytes for an unprivileged user on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a writable statvfs.
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (r == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Looks at everything and returns the report. `health` asks the hub for its health (a few
/// seconds at most): `Err` with the reason when it cannot be reached.
pub fn gather(input: &Input<'_>, health: &dyn Fn(&crate::store::sync::SyncConfig) -> Result<String, String>) -> Report {
    let mut r = Report::default();
    match input.live {
        Some(live) => live_devices(&mut r, live, input.now),
        None => devices(&mut r, input),
    }
    let store = cache(&mut r, input);
    let Some(store) = store else {
        r.add(
            "hub",
            Status::Info,
            Text::new("not checked: the cache cannot be read", "未检查：无法读取缓存"),
        );
        return r;
    };
    let hub_time = hub(&mut r, input, &store, health);
    clock(&mut r, input, &store, hub_time);
    queue(&mut r, input, &store);
    r
}

/// How long ago, in words ("12 s", "3 min", "2 h").
fn ago(then: DateTime<FixedOffset>, now: DateTime<FixedOffset>) -> String {
    let s = (now - then).num_seconds().max(0);
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

fn live_devices(r: &mut Report, live: &[LiveDevice], now: DateTime<FixedOffset>) {
    use crate::devices::{DeviceKind, DeviceState};
    if live.is_empty() {
        r.add(
            "devices",
            Status::Info,
            Text::new("none in use: the keyboard only", "不使用设备：仅键盘"),
        );
    }
    for d in live {
        let (what_en, what_zh) = match d.kind {
            DeviceKind::Scanner => ("scanner", "扫描器"),
            DeviceKind::Rfid => ("RFID reader", "RFID 读写器"),
        };
        let (state_en, state_zh) = match d.state {
            DeviceState::Connected | DeviceState::Reconnected => ("connected", "已连接"),
            DeviceState::Lost => ("lost", "已断开"),
            DeviceState::Absent => ("not found", "未找到"),
        };
        let (sim_en, sim_zh) = if d.simulated {
            (" (simulated)", "（模拟）")
        } else {
            ("", "")
        };
        let (last_en, last_zh) = match d.last_event {
            Some((t, what)) => {
                let what_zh = match what {
                    "scan" => "扫描",
                    "tag" => "读到标签",
                    "round" => "盘点轮次结束",
                    "state" => "状态变化",
                    _ => "错误",
                };
                let at = t.format("%H:%M:%S");
                let ago = ago(t, now);
                (
                    format!("last event: {what} at {at} ({ago} ago)"),
                    format!("最近事件：{at} {what_zh}（{ago}前）"),
                )
            }
            None => ("no event yet".to_owned(), "尚无事件".to_owned()),
        };
        let status = match (d.state.is_up(), d.simulated) {
            (false, _) => Status::Attention,
            (true, true) => Status::Info,
            (true, false) => Status::Ok,
        };
        r.add(
            "devices",
            status,
            Text::new(
                format!("{what_en} {}{sim_en}: {state_en} ({}); {last_en}", d.name, d.detail.en),
                format!("{what_zh} {}{sim_zh}：{state_zh}（{}）；{last_zh}", d.name, d.detail.zh),
            ),
        );
    }
}

fn devices(r: &mut Report, input: &Input<'_>) {
    if !input.devices.is_empty() {
        for d in input.devices {
            let (name, port) = match d.split_once('=') {
                Some((n, p)) => (n, Some(p)),
                None => (d.as_str(), None),
            };
            let Some(profile) = input.profiles.get(name) else {
                r.add(
                    "devices",
                    Status::Attention,
                    Text::new(
                        format!("{d}: there is no device profile '{name}'"),
                        format!("{d}：没有名为“{name}”的设备配置"),
                    ),
                );
                continue;
            };
            let port = port
                .map(str::to_owned)
                .or_else(|| profile.serial().map(|s| s.path.clone()));
            match port {
                Some(p) if Path::new(&p).exists() => r.add(
                    "devices",
                    Status::Ok,
                    Text::new(format!("{name} found at {p}"), format!("{name} 已找到：{p}")),
                ),
                Some(p) => r.add(
                    "devices",
                    Status::Attention,
                    Text::new(
                        format!("{name} lost: {p} is not there (unplugged, or another port?)"),
                        format!("{name} 丢失：{p} 不存在（已拔出，或端口不对？）"),
                    ),
                ),
                None => r.add(
                    "devices",
                    Status::Info,
                    Text::new(
                        format!("{name}: found by USB id when the app starts"),
                        format!("{name}：应用启动时按 USB 标识查找"),
                    ),
                ),
            }
        }
    } else {
        match input.mode {
            DevicesMode::None => r.add(
                "devices",
                Status::Info,
                Text::new("none in use: the keyboard only", "不使用设备：仅键盘"),
            ),
            DevicesMode::Simulated => r.add(
                "devices",
                Status::Info,
                Text::new("a simulated scanner and RFID reader", "模拟的扫描器和 RFID 读写器"),
            ),
            DevicesMode::Auto => {
                let found = detect(input.profiles, input.machine);
                if found.is_empty() {
                    r.add(
                        "devices",
                        Status::Attention,
                        Text::new(
                            "no scanner or RFID reader found: the app would simulate them (plugged in? a profile for it?)",
                            "未找到扫描器或 RFID 读写器：应用将使用模拟设备（是否已连接？是否有对应的设备配置？）",
                        ),
                    );
                }
                for (p, port) in found {
                    let at = port.unwrap_or_else(|| "USB".into());
                    r.add(
                        "devices",
                        Status::Ok,
                        Text::new(format!("{} found at {at}", p.name), format!("{} 已找到：{at}", p.name)),
                    );
                }
            }
        }
    }
}

fn cache(r: &mut Report, input: &Input<'_>) -> Option<Store> {
    let db = input.db;
    if !db.exists() {
        r.add(
            "cache",
            Status::Attention,
            Text::new(
                format!(
                    "there is no cache at {} (enrol the handheld: lotline enroll)",
                    db.display()
                ),
                format!("{} 处没有缓存（请先登记本机：lotline enroll）", db.display()),
            ),
        );
        return None;
    }
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| {
            let mut p = db.as_os_str().to_owned();
            p.push(s);
            std::fs::metadata(PathBuf::from(p)).ok()
        })
        .map(|m| m.len())
        .sum();
    let dir = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match free_bytes(dir) {
        Some(free) if free < LOW_DISK_BYTES => r.add(
            "cache",
            Status::Attention,
            Text::new(
                format!(
                    "only {} free on the disk holding {} (size {})",
                    mib(free),
                    db.display(),
                    mib(size)
                ),
                format!("{} 所在磁盘仅剩 {}（缓存 {}）", db.display(), mib(free), mib(size)),
            ),
        ),
        Some(free) => r.add(
            "cache",
            Status::Ok,
            Text::new(
                format!("{}: {}, {} free on its disk", db.display(), mib(size), mib(free)),
                format!("{}：{}，所在磁盘剩余 {}", db.display(), mib(size), mib(free)),
            ),
        ),
        None => r.add(
            "cache",
            Status::Info,
            Text::new(
                format!("{}: {}, free disk space unknown", db.display(), mib(size)),
                format!("{}：{}，磁盘剩余空间未知", db.display(), mib(size)),
            ),
        ),
    }
    let store = match Store::open_read_only(db) {
        Ok(s) => s,
        Err(e) => {
            use crate::domain::text::Bilingual;
            r.add("cache", Status::Attention, Text::new(e.to_string(), e.message_zh()));
            return None;
        }
    };
    match store.quick_check() {
        Ok(()) => r.add(
            "cache",
            Status::Ok,
            Text::new(
                "integrity check (PRAGMA quick_check) passed",
                "完整性检查（PRAGMA quick_check）通过",
            ),
        ),
        Err(e) => {
            use crate::domain::text::Bilingual;
            r.add("cache", Status::Attention, Text::new(e.to_string(), e.message_zh()));
            return None;
        }
    }
    Some(store)
}

/// The hub's findings; the hub's time when it answered.
fn hub(
    r: &mut Report,
    input: &Input<'_>,
    store: &Store,
    health: &dyn Fn(&crate::store::sync::SyncConfig) -> Result<String, String>,
) -> Option<DateTime<FixedOffset>> {
    let cfg = match store.sync_config() {
        Ok(Some(c)) => c,
        Ok(None) => {
            r.add(
                "hub",
                Status::Attention,
                Text::new(
                    "not enrolled with a hub: lotline enroll --server URL --code CODE",
                    "尚未在中心服务器登记：lotline enroll --server URL --code CODE",
                ),
            );
            return None;
        }
        Err(e) => {
            r.add("hub", Status::Attention, Text::new(e.to_string(), e.to_string()));
            return None;
        }
    };
    if let Some(site) = input.site
        && site != cfg.site
    {
        r.add(
            "hub",
            Status::Attention,
            Text::new(
                format!("enrolled for site {}, but the configuration says site {site}", cfg.site),
                format!("登记的站点为 {}，但配置文件为站点 {site}", cfg.site),
            ),
        );
    }
    let last = store
        .setting(crate::store::sync::LAST_SYNC_KEY)
        .ok()
        .flatten()
        .unwrap_or_else(|| "never".into());
    let answer = health(&cfg);
    match &answer {
        Ok(_) => r.add(
            "hub",
            Status::Ok,
            Text::new(
                format!(
                    "{} reachable; device {} of site {}; last sync {last}",
                    cfg.url, cfg.device_id, cfg.site
                ),
                format!(
                    "{} 可以连接；设备 {}，站点 {}；上次同步 {last}",
                    cfg.url, cfg.device_id, cfg.site
                ),
            ),
        ),
        Err(why) => r.add(
            "hub",
            Status::Attention,
            Text::new(
                format!("{} cannot be reached ({why}); last sync {last}", cfg.url),
                format!("无法连接 {}（{why}）；上次同步 {last}", cfg.url),
            ),
        ),
    }
    answer.ok().and_then(|t| parse_time(&t))
}

fn clock(r: &mut Report, input: &Input<'_>, store: &Store, hub_time: Option<DateTime<FixedOffset>>) {
    let now = input.now;
    // To the second: a technician reads it out.
    let secs = |t: DateTime<FixedOffset>| t.format("%Y-%m-%d %H:%M:%S %:z").to_string();
    let at = secs(now);
    if let Some(h) = hub_time {
        let skew = (now - h).num_seconds();
        if skew.abs() > MAX_SKEW_S {
            r.add(
                "clock",
                Status::Attention,
                Text::new(
                    format!("{at} is {skew} s off the hub's {}: set the time (NTP)", secs(h)),
                    format!(
                        "本机时间 {at} 与中心服务器 {} 相差 {skew} 秒：请校准时间（NTP）",
                        secs(h)
                    ),
                ),
            );
        } else {
            r.add(
                "clock",
                Status::Ok,
                Text::new(
                    format!("{at}, within {} s of the hub's", skew.abs()),
                    format!("{at}，与中心服务器相差 {} 秒以内", skew.abs()),
                ),
            );
        }
        return;
    }
    let last = store
        .setting(crate::store::sync::LAST_SYNC_KEY)
        .ok()
        .flatten()
        .and_then(|s| parse_time(&s));
    match last {
        Some(l) if now < l => r.add(
            "clock",
            Status::Attention,
            Text::new(
                format!("{at} is before the last sync ({}): the clock went back", secs(l)),
                format!("本机时间 {at} 早于上次同步（{}）：时钟被调回", secs(l)),
            ),
        ),
        _ => r.add(
            "clock",
            Status::Info,
            Text::new(
                format!("{at}; not compared with the hub's (it did not answer)"),
                format!("{at}；未与中心服务器比较（无应答）"),
            ),
        ),
    }
}

fn queue(r: &mut Report, input: &Input<'_>, store: &Store) {
    let (unsent, oldest) = match (store.unsent(), store.oldest_unsent()) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(e), _) | (_, Err(e)) => {
            r.add("queue", Status::Attention, Text::new(e.to_string(), e.to_string()));
            return;
        }
    };
    let Some(oldest) = oldest.filter(|_| unsent > 0) else {
        r.add(
            "queue",
            Status::Ok,
            Text::new("nothing waiting for the hub", "没有等待上传的命令"),
        );
        return;
    };
    let age_h = parse_time(&oldest).map(|t| (input.now - t).num_minutes() as f64 / 60.0);
    let age = age_h.map_or_else(|| "?".to_owned(), |h| format!("{h:.1}"));
    let status = if age_h.is_some_and(|h| h >= STALE_QUEUE_H as f64) {
        Status::Attention
    } else {
        Status::Ok
    };
    r.add(
        "queue",
        status,
        Text::new(
            format!("{unsent} command(s) unsent; the oldest from {oldest} ({age} h ago)"),
            format!("{unsent} 条命令未上传；最早的在 {oldest}（{age} 小时前）"),
        ),
    );
}

/// The hub's health through the real client, waiting at most `timeout`: its time, or why not.
/// What the app's health screen asks [`gather_beside`] to look at.
pub struct AppCheck {
    pub db: PathBuf,
    pub live: Vec<LiveDevice>,
    pub now: DateTime<FixedOffset>,
}

/// Gathers the report on a thread of its own (the hub may take seconds to answer, the cache's
/// check reads the whole file): the app's health screen takes it from the receiver when it is in.
pub fn gather_beside(check: AppCheck) -> std::sync::mpsc::Receiver<Report> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("doctor".into()).spawn(move || {
        let profiles = LoadedProfiles::default();
        let machine = MachineInfo::default();
        let input = Input {
            db: &check.db,
            devices: &[],
            mode: DevicesMode::None,
            profiles: &profiles,
            machine: &machine,
            site: None,
            now: check.now,
            live: Some(&check.live),
        };
        let _ = tx.send(gather(&input, &|c| hub_health(c, Duration::from_secs(5))));
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start the health check: {e}");
    }
    rx
}

pub fn hub_health(cfg: &crate::store::sync::SyncConfig, timeout: Duration) -> Result<String, String> {
    let client = crate::sync::HubClient::new(
        &cfg.url,
        Some(&cfg.token),
        cfg.ca.as_deref().map(Path::new),
        cfg.allow_plain_http,
    )
    .map_err(|e| e.to_string())?;
    let rt = crate::sync::runtime().map_err(|e| e.to_string())?;
    rt.block_on(async { tokio::time::timeout(timeout, client.health()).await })
        .map_err(|_| format!("no answer in {} s", timeout.as_secs()))?
        .map(|h| h.hub_time)
        .map_err(|e| e.to_string())
}
