//! Files in and out: exports of the audit log, the received lines and the saved labels to a
//! folder (a USB stick, usually), and the import of a master-data file from one.
//!
//! Every export appears only when complete: a file is written beside its final name, synced and
//! renamed (`script::write_atomically`); the labels' folder is filled under a hidden name and
//! renamed at the end. The folder is synced after the rename, so a stick pulled right after the
//! message keeps the file. Names carry the device id and the time the caller passes in (this
//! module reads no clock).
//!
//! Where no desktop file dialog can run (the linuxkms build, a session without the XDG portal)
//! the Files screen lists [`removable_roots`] and their folders with [`list_dir`]; where the
//! portal runs, [`dialog_pick_folder`] and [`dialog_pick_json`] open the desktop's own dialog.

use std::collections::BinaryHeap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::script::{audit_bytes, csv_field, write_atomically};
use crate::domain::operator::{Operator, Role};
use crate::domain::text::{Bilingual, Text};
use crate::store::gates::OutboxCommand;
use crate::store::import::read::Section;
use crate::store::import::{ImportError, ImportSummary, import_from};
use crate::store::{Store, StoreError};

/// Entries a folder listing shows at most; the rest are counted.
pub const LIST_MAX: usize = 500;
/// Colon-separated folders to offer as removable media instead of the mounted ones (tests,
/// or a device that mounts its card elsewhere).
pub const MEDIA_ROOTS_ENV: &str = "LOTLINE_MEDIA_ROOTS";
/// `portal` or `picker`: use the desktop's file dialog, or the in-app picker, whatever runs.
pub const DIALOG_ENV: &str = "LOTLINE_FILE_DIALOG";
/// The bus name the XDG desktop portal owns while it runs.
pub const PORTAL_NAME: &str = "org.freedesktop.portal.Desktop";

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub is_dir: bool,
    /// Bytes (0 for a folder).
    pub size: u64,
}

/// A folder's entries, folders first, each group by name; at most [`LIST_MAX`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub entries: Vec<Entry>,
    /// How many more entries the folder has that are not listed.
    pub more: usize,
}

/// The audit log's export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFormat {
    Csv,
    Json,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The file (or, for labels, the folder) written.
    pub path: PathBuf,
    /// Audit entries, received lines or labels.
    pub count: usize,
}

/// Why a file is not master data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotMasterData {
    Empty,
    NotJson,
    /// JSON, but a list or a single value rather than an object of sections.
    NotAnObject,
    /// `{}`: no section at all.
    NoSections,
    /// The first key is not a section of the import format.
    UnknownSection(String),
}

impl NotMasterData {
    fn text(&self) -> Text {
        match self {
            NotMasterData::Empty => Text::new("the file is empty", "文件是空的"),
            NotMasterData::NotJson => Text::new("it is not JSON", "它不是 JSON 文件"),
            NotMasterData::NotAnObject => Text::new(
                "it is JSON, but a list or a single value rather than the sections of master data (an audit export?)",
                "它是 JSON，但内容是列表或单个值，而不是主数据的各个部分（是否为审计导出文件？）",
            ),
            NotMasterData::NoSections => Text::new(
                "it is an empty JSON object: there is no master data in it",
                "它是空的 JSON 对象：其中没有主数据",
            ),
            NotMasterData::UnknownSection(k) => Text::new(
                format!(
                    "its first part \"{k}\" is not a section of master data ({})",
                    Section::NAMES.join(", ")
                ),
                format!(
                    "它的第一部分「{k}」不是主数据的部分（应为 {}）",
                    Section::NAMES.join("、")
                ),
            ),
        }
    }
}

/// Why a file could not be read or written, or an import or export was refused.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("cannot read the folder {path}: {}", io_why(.source).en)]
    ReadDir { path: PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {}", io_why(.source).en)]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {}; nothing was left half-written", io_why(.source).en)]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a file: choose a .json file")]
    NotAFile { path: PathBuf },
    #[error("{path} is not a folder: choose a folder to export to")]
    NotAFolder { path: PathBuf },
    #[error("{path} is not master data: {}. Choose the master-data .json file; nothing was changed", .why.text().en)]
    NotMasterData { path: PathBuf, why: NotMasterData },
    #[error("no labels were saved on this device yet (none in {dir})")]
    NoLabels { dir: PathBuf },
    #[error("log in first: files are exported and imported by a logged-in operator")]
    NotLoggedIn,
    #[error("only a supervisor may import master data; {operator} is not one")]
    NotSupervisor { operator: String },
    #[error("{0}")]
    Store(StoreError),
    #[error("{}: {error}", .path.display())]
    Import { path: PathBuf, error: ImportError },
}

impl Bilingual for FilesError {
    fn message_zh(&self) -> String {
        match self {
            FilesError::ReadDir { path, source } => {
                format!("无法读取文件夹 {}：{}", path.display(), io_why(source).zh)
            }
            FilesError::Read { path, source } => format!("无法读取 {}：{}", path.display(), io_why(source).zh),
            FilesError::Write { path, source } => format!(
                "无法写入 {}：{}；没有留下写了一半的文件",
                path.display(),
                io_why(source).zh
            ),
            FilesError::NotAFile { path } => format!("{} 不是文件：请选择 .json 文件", path.display()),
            FilesError::NotAFolder { path } => {
                format!("{} 不是文件夹：请选择要导出到的文件夹", path.display())
            }
            FilesError::NotMasterData { path, why } => format!(
                "{} 不是主数据文件：{}。请选择主数据 .json 文件；未做任何更改",
                path.display(),
                why.text().zh
            ),
            FilesError::NoLabels { dir } => {
                format!("本设备还没有保存任何标签（{} 中没有）", dir.display())
            }
            FilesError::NotLoggedIn => "请先登录：文件的导出和导入须由已登录的操作员进行".to_owned(),
            FilesError::NotSupervisor { operator } => {
                format!("只有主管可以导入主数据；{operator} 不是主管")
            }
            FilesError::Store(e) => e.message_zh(),
            FilesError::Import { path, error } => format!("{}：{}", path.display(), error.message_zh()),
        }
    }
}

impl FilesError {
    /// An import's problems one by one, in both languages (empty for other errors), and how
    /// many more there were than the import kept.
    pub fn problems(&self) -> (Vec<Text>, usize) {
        match self {
            FilesError::Import {
                error: ImportError::Rows { errors, more },
                ..
            } => (errors.iter().map(Text::of).collect(), *more),
            _ => (vec![], 0),
        }
    }

    /// The headline: for row problems their count ("3 problem(s) in FILE; nothing was
    /// imported", as `lotline import` says it), else the whole message.
    pub fn headline(&self) -> Text {
        match self {
            FilesError::Import {
                path,
                error: ImportError::Rows { errors, more },
            } => {
                let n = errors.len() + more;
                Text::new(
                    format!("{n} problem(s) in {}; nothing was imported", path.display()),
                    format!("{} 中有 {n} 个问题；未导入任何数据", path.display()),
                )
            }
            e => Text::of(e),
        }
    }
}

/// What an I/O error means for someone holding a USB stick.
fn io_why(e: &std::io::Error) -> Text {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => Text::new(
            "it is not there (was the medium removed?)",
            "找不到它（存储介质是否已被拔出？）",
        ),
        K::PermissionDenied => Text::new("permission denied", "没有权限"),
        K::ReadOnlyFilesystem => Text::new(
            "the medium is read-only (write-protected?)",
            "存储介质是只读的（是否开启了写保护？）",
        ),
        K::StorageFull => Text::new("the medium is full", "存储介质已满"),
        _ => Text::new(e.to_string(), e.to_string()),
    }
}

/// Who may export: anyone logged in.
pub fn may_export(op: Option<&Operator>) -> Result<(), FilesError> {
    op.map(|_| ()).ok_or(FilesError::NotLoggedIn)
}

/// Who may import master data: a supervisor.
pub fn may_import(op: Option<&Operator>) -> Result<(), FilesError> {
    match op {
        None => Err(FilesError::NotLoggedIn),
        Some(o) if o.has(Role::Supervisor) => Ok(()),
        Some(o) => Err(FilesError::NotSupervisor { operator: o.id.clone() }),
    }
}

// ---------------------------------------------------------------------------------------------
// Removable media and folders

/// The removable media mounted now: the folders named by `LOTLINE_MEDIA_ROOTS` if it is set,
/// else the mount points under `/media/*`, `/media/*/*` and `/run/media/*/*` (from
/// `/proc/self/mounts`; without it, the folders there that exist).
pub fn removable_roots() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os(MEDIA_ROOTS_ENV) {
        return roots_from_list(&list.to_string_lossy());
    }
    match std::fs::read_to_string("/proc/self/mounts") {
        Ok(mounts) => media_mount_points(&mounts).into_iter().filter(|p| p.is_dir()).collect(),
        Err(_) => media_dirs(),
    }
}

/// The folders of a colon-separated list that exist, in order, without repeats.
pub fn roots_from_list(list: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = vec![];
    for p in list.split(':').filter(|s| !s.trim().is_empty()).map(PathBuf::from) {
        if p.is_dir() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Whether `p` is where removable media are mounted: `/media/X`, `/media/X/Y`, `/run/media/X/Y`.
pub fn is_media_path(p: &Path) -> bool {
    let parts: Vec<_> = p.components().skip(1).map(|c| c.as_os_str()).collect();
    if !p.is_absolute() || parts.iter().any(|c| c.is_empty() || *c == ".." || *c == ".") {
        return false;
    }
    match parts.as_slice() {
        [m, _] | [m, _, _] if *m == "media" => true,
        [r, m, _, _] if *r == "run" && *m == "media" => true,
        _ => false,
    }
}

/// The media mount points in a mount table (`/proc/self/mounts`' format, octal escapes undone),
/// sorted, without repeats.
pub fn media_mount_points(mounts: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|m| PathBuf::from(unescape_mount(m)))
        .filter(|p| is_media_path(p))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Undoes the mount table's octal escapes (`\040` is a space).
fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Without a mount table: the folders under `/media` and `/run/media` at a media depth.
fn media_dirs() -> Vec<PathBuf> {
    let subdirs = |p: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let mut out = vec![];
    for a in subdirs(Path::new("/media")) {
        let inner = subdirs(&a);
        if inner.is_empty() {
            out.push(a);
        } else {
            out.extend(inner);
        }
    }
    for user in subdirs(Path::new("/run/media")) {
        out.extend(subdirs(&user));
    }
    out
}

/// A listed entry's sort key: folders first, then by name ignoring case.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Key(bool, String, String);

impl Key {
    fn of(e: &Entry) -> Key {
        Key(!e.is_dir, e.name.to_lowercase(), e.name.clone())
    }
}

struct Ranked(Key, Entry);
impl PartialEq for Ranked {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

/// Lists `dir`: its folders, and its files whose extension is one of `filter` (ignoring case;
/// an empty filter lists folders only). Hidden entries are left out. Folders first, each group by
/// name; at most [`LIST_MAX`] entries, in bounded memory however large the folder.
pub fn list_dir(dir: &Path, filter: &[&str]) -> Result<Listing, FilesError> {
    let rd = std::fs::read_dir(dir).map_err(|source| {
        if dir.exists() && !dir.is_dir() {
            return FilesError::NotAFolder { path: dir.to_owned() };
        }
        FilesError::ReadDir {
            path: dir.to_owned(),
            source,
        }
    })?;
    let mut best: BinaryHeap<Ranked> = BinaryHeap::with_capacity(LIST_MAX + 1);
    let mut more = 0;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        // Follows links: a link to a folder is a folder.
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let is_dir = meta.is_dir();
        let listed = is_dir || (meta.is_file() && has_extension(&name, filter));
        if !listed {
            continue;
        }
        let entry = Entry {
            name,
            path,
            is_dir,
            size: if is_dir { 0 } else { meta.len() },
        };
        best.push(Ranked(Key::of(&entry), entry));
        if best.len() > LIST_MAX {
            best.pop();
            more += 1;
        }
    }
    let entries = best.into_sorted_vec().into_iter().map(|r| r.1).collect();
    Ok(Listing { entries, more })
}

/// Whether `name` ends in `.EXT` for one of `exts` (ignoring case).
pub fn has_extension(name: &str, exts: &[&str]) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty() && exts.iter().any(|x| x.eq_ignore_ascii_case(ext))
}

// ---------------------------------------------------------------------------------------------
// The desktop's file dialog

/// Whether the desktop's file dialog can be used: `LOTLINE_FILE_DIALOG` decides if set; the
/// linuxkms build never has one; else the XDG portal's name must be owned on the session bus
/// (no `DBUS_SESSION_BUS_ADDRESS`: no bus, no portal). Asked once per process, for a second at most.
pub fn portal_available() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| {
        match std::env::var(DIALOG_ENV).as_deref() {
            Ok("portal") => return true,
            Ok("picker") | Ok("none") => return false,
            _ => {}
        }
        if cfg!(feature = "kms") {
            return false;
        }
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty()) {
            return false;
        }
        portal_owned(Duration::from_secs(1))
    })
}

/// Asks the session bus whether the portal's name is owned; false on any error or after `wait`.
fn portal_owned(wait: Duration) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("lotline-portal-check".into())
        .spawn(move || {
            let owned = pollster::block_on(async {
                let conn = zbus::Connection::session().await?;
                let bus = zbus::fdo::DBusProxy::new(&conn).await?;
                let name = zbus::names::BusName::try_from(PORTAL_NAME).map_err(zbus::Error::from)?;
                bus.name_has_owner(name).await.map_err(zbus::Error::from)
            });
            let _ = tx.send(owned.unwrap_or(false));
        });
    spawned.is_ok() && rx.recv_timeout(wait).unwrap_or(false)
}

/// The desktop's dialog to choose a folder (None: cancelled, or no dialog could be shown).
pub async fn dialog_pick_folder(title: String, start: Option<PathBuf>) -> Option<PathBuf> {
    let mut d = rfd::AsyncFileDialog::new().set_title(title);
    if let Some(s) = start {
        d = d.set_directory(s);
    }
    d.pick_folder().await.map(|h| h.path().to_path_buf())
}

/// The desktop's dialog to choose a master-data `.json` file.
pub async fn dialog_pick_json(title: String, start: Option<PathBuf>) -> Option<PathBuf> {
    let mut d = rfd::AsyncFileDialog::new()
        .set_title(title)
        .add_filter("JSON", &["json"]);
    if let Some(s) = start {
        d = d.set_directory(s);
    }
    d.pick_file().await.map(|h| h.path().to_path_buf())
}

// ---------------------------------------------------------------------------------------------
// Exports

/// `lotline-KIND-DEVICE-YYYYMMDD-HHMMSS` (the device id kept to letters, digits, `-` and `_`).
pub fn export_name(kind: &str, device_id: &str, now: DateTime<FixedOffset>) -> String {
    let device: String = device_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let device = if device.is_empty() { "device".to_owned() } else { device };
    format!("lotline-{kind}-{device}-{}", now.format("%Y%m%d-%H%M%S"))
}

/// `dir/NAME.EXT`, or `dir/NAME-2.EXT` (…) when that is taken: an export never replaces a file.
fn free_path(dir: &Path, name: &str, ext: &str) -> PathBuf {
    let with = |n: &str| {
        dir.join(if ext.is_empty() {
            n.to_owned()
        } else {
            format!("{n}.{ext}")
        })
    };
    let first = with(name);
    if std::fs::symlink_metadata(&first).is_err() {
        return first;
    }
    (2..1000)
        .map(|i| with(&format!("{name}-{i}")))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .unwrap_or(first)
}

fn check_folder(dir: &Path) -> Result<(), FilesError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(FilesError::NotAFolder { path: dir.to_owned() }),
        Err(source) => Err(FilesError::ReadDir {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Syncs a folder so a rename in it survives pulling the medium (best effort: not every file
/// system syncs folders).
fn sync_folder(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

fn write_export(path: &Path, bytes: &[u8]) -> Result<(), FilesError> {
    write_atomically(path, bytes).map_err(|source| FilesError::Write {
        path: path.to_owned(),
        source,
    })?;
    if let Some(dir) = path.parent() {
        sync_folder(dir);
    }
    Ok(())
}

fn store_err(store: &Store) -> impl Fn(StoreError) -> FilesError + '_ {
    |e| FilesError::Store(e.in_file(store.path()))
}

/// Writes the audit log into `dir` as `lotline-audit-DEVICE-STAMP.csv` (or `.json`), as
/// `lotline audit export` does.
pub fn export_audit(
    store: &Store,
    dir: &Path,
    format: AuditFormat,
    now: DateTime<FixedOffset>,
) -> Result<Exported, FilesError> {
    check_folder(dir)?;
    let (body, count) = audit_bytes(store, format == AuditFormat::Json).map_err(store_err(store))?;
    let device = store.device_id().map_err(store_err(store))?;
    let ext = match format {
        AuditFormat::Csv => "csv",
        AuditFormat::Json => "json",
    };
    let path = free_path(dir, &export_name("audit", &device, now), ext);
    write_export(&path, &body)?;
    Ok(Exported { path, count })
}

/// The columns of the received-lines export.
pub const RECEIVED_COLUMNS: [&str; 13] = [
    "created_at",
    "operator",
    "task",
    "command_id",
    "item",
    "gtin",
    "lot",
    "expiry",
    "qty",
    "line",
    "location",
    "lot_status",
    "new_lot",
];

/// Every line of every `receive` command in `commands`, as CSV with [`RECEIVED_COLUMNS`], and
/// the number of lines.
pub fn received_csv(commands: &[OutboxCommand]) -> (Vec<u8>, usize) {
    let mut out = RECEIVED_COLUMNS.join(",");
    out.push('\n');
    let mut n = 0;
    let text = |v: &Value| -> String {
        match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    };
    for c in commands.iter().filter(|c| c.kind == "receive") {
        let p = &c.payload;
        let lines = p
            .get("lines")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for l in lines {
            let f = |k: &str| l.get(k).map(text).unwrap_or_default();
            let fields = [
                c.created_at.clone(),
                c.operator.clone().unwrap_or_default(),
                p.get("task").map(text).unwrap_or_default(),
                c.id.clone(),
                f("item"),
                f("gtin"),
                f("lot"),
                f("expiry"),
                f("qty"),
                f("line"),
                f("location"),
                f("lot_status"),
                f("new_lot"),
            ];
            let row: Vec<String> = fields.iter().map(|x| csv_field(x)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
            n += 1;
        }
    }
    (out.into_bytes(), n)
}

/// Writes the received lines (every `receive` command in the outbox) into `dir` as
/// `lotline-received-DEVICE-STAMP.csv`.
pub fn export_received(store: &Store, dir: &Path, now: DateTime<FixedOffset>) -> Result<Exported, FilesError> {
    check_folder(dir)?;
    let commands = store.outbox_commands().map_err(store_err(store))?;
    let (body, count) = received_csv(&commands);
    let device = store.device_id().map_err(store_err(store))?;
    let path = free_path(dir, &export_name("received", &device, now), "csv");
    write_export(&path, &body)?;
    Ok(Exported { path, count })
}

/// Where the GUI saves label PNGs: `labels/` beside the cache (as the receive screen does).
pub fn labels_dir(store: &Store) -> PathBuf {
    store
        .path()
        .parent()
        .map(|p| p.join("labels"))
        .unwrap_or_else(|| PathBuf::from("labels"))
}

/// Copies the label PNGs in `labels` into a new folder `dir/lotline-labels-DEVICE-STAMP/`,
/// which appears only when every label is in it.
pub fn export_labels(
    labels: &Path,
    dir: &Path,
    device_id: &str,
    now: DateTime<FixedOffset>,
) -> Result<Exported, FilesError> {
    check_folder(dir)?;
    let mut pngs = vec![];
    match std::fs::read_dir(labels) {
        Ok(rd) => {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') && has_extension(&name, &["png"]) && e.path().is_file() {
                    pngs.push((name, e.path()));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(FilesError::ReadDir {
                path: labels.to_owned(),
                source,
            });
        }
    }
    if pngs.is_empty() {
        return Err(FilesError::NoLabels { dir: labels.to_owned() });
    }
    pngs.sort();
    let target = free_path(dir, &export_name("labels", device_id, now), "");
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let werr = |path: &Path| {
        let path = path.to_owned();
        move |source| FilesError::Write { path, source }
    };
    let r = (|| {
        std::fs::create_dir(&tmp).map_err(werr(&tmp))?;
        for (name, src) in &pngs {
            let bytes = std::fs::read(src).map_err(|source| FilesError::Read {
                path: src.clone(),
                source,
            })?;
            let out = tmp.join(name);
            write_atomically(&out, &bytes).map_err(werr(&out))?;
        }
        sync_folder(&tmp);
        std::fs::rename(&tmp, &target).map_err(werr(&target))
    })();
    if r.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    r?;
    sync_folder(dir);
    Ok(Exported {
        path: target,
        count: pngs.len(),
    })
}

// ---------------------------------------------------------------------------------------------
// Import

/// Looks at the start of a file (`head`; `whole` when that is all of it) for the shape of
/// master data: a JSON object whose first key is a section of the import format.
pub fn sniff_master_data(head: &[u8], whole: bool) -> Result<(), NotMasterData> {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let mut i = head.iter().position(|b| !ws(b));
    let Some(start) = i else {
        // Only blanks: empty if that is the whole file; else let the import judge.
        return if whole { Err(NotMasterData::Empty) } else { Ok(()) };
    };
    match head[start] {
        b'{' => {}
        b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => return Err(NotMasterData::NotAnObject),
        _ => return Err(NotMasterData::NotJson),
    }
    i = head[start + 1..].iter().position(|b| !ws(b)).map(|p| start + 1 + p);
    let Some(k) = i else {
        return if whole { Err(NotMasterData::NotJson) } else { Ok(()) };
    };
    match head[k] {
        b'}' => return Err(NotMasterData::NoSections),
        b'"' => {}
        _ => return Err(NotMasterData::NotJson),
    }
    let rest = &head[k + 1..];
    let Some(end) = rest.iter().take(256).position(|b| *b == b'"') else {
        // A key longer than any section's name (or cut off): not one of them, unless cut off.
        return if rest.len() >= 256 || whole {
            Err(NotMasterData::UnknownSection(
                String::from_utf8_lossy(&rest[..rest.len().min(40)]).into_owned(),
            ))
        } else {
            Ok(())
        };
    };
    let key = String::from_utf8_lossy(&rest[..end]).into_owned();
    if Section::from_name(&key).is_some() {
        Ok(())
    } else {
        Err(NotMasterData::UnknownSection(key))
    }
}

/// Imports the master-data file `file` into `store`: all or nothing, with every bad record named
/// (see [`FilesError::problems`]). A file that is not master data changes nothing and says why.
pub fn import_master_data(store: &mut Store, file: &Path) -> Result<ImportSummary, FilesError> {
    let read_err = |source| FilesError::Read {
        path: file.to_owned(),
        source,
    };
    let meta = std::fs::metadata(file).map_err(read_err)?;
    if !meta.is_file() {
        return Err(FilesError::NotAFile { path: file.to_owned() });
    }
    let f = std::fs::File::open(file).map_err(read_err)?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let head = r.fill_buf().map_err(read_err)?;
    let whole = (head.len() as u64) >= meta.len();
    sniff_master_data(head, whole).map_err(|why| FilesError::NotMasterData {
        path: file.to_owned(),
        why,
    })?;
    match import_from(store, r) {
        Ok(sum) => Ok(sum),
        Err(ImportError::Store(e)) => Err(FilesError::Store(e.in_file(store.path()))),
        Err(error) => Err(FilesError::Import {
            path: file.to_owned(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_paths_are_at_media_depth() {
        for p in ["/media/usb0", "/media/anna/STICK", "/run/media/anna/STICK"] {
            assert!(is_media_path(Path::new(p)), "{p}");
        }
        for p in [
            "/media",
            "/mnt/usb",
            "/run/media/anna",
            "/media/a/b/c",
            "media/usb0",
            "/run/media/a/../b",
        ] {
            assert!(!is_media_path(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn mount_table_gives_media_mount_points() {
        let mounts = "/dev/sda1 / ext4 rw 0 0\n\
                      proc /proc proc rw 0 0\n\
                      /dev/sdb1 /media/anna/MY\\040STICK vfat rw 0 0\n\
                      /dev/sdc1 /run/media/bo/CARD exfat rw 0 0\n\
                      /dev/sdd1 /media/usb0 vfat rw 0 0\n\
                      /dev/sdd1 /media/usb0 vfat rw 0 0\n\
                      tmpfs /run tmpfs rw 0 0\n";
        assert_eq!(
            media_mount_points(mounts),
            [
                PathBuf::from("/media/anna/MY STICK"),
                PathBuf::from("/media/usb0"),
                PathBuf::from("/run/media/bo/CARD"),
            ]
        );
        assert_eq!(unescape_mount("a\\011b\\134c\\04"), "a\tb\\c\\04");
    }

    #[test]
    fn roots_list_keeps_existing_folders_once() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        std::fs::create_dir(&a).unwrap();
        std::fs::write(d.path().join("f"), "x").unwrap();
        let list = format!(
            "{}::{}:{}:{}",
            a.display(),
            d.path().join("missing").display(),
            d.path().join("f").display(),
            a.display()
        );
        assert_eq!(roots_from_list(&list), [a]);
        assert!(roots_from_list("").is_empty());
    }

    #[test]
    fn extensions_ignore_case_and_need_a_name() {
        assert!(has_extension("master.JSON", &["json"]));
        assert!(!has_extension(".json", &["json"]));
        assert!(!has_extension("json", &["json"]));
        assert!(!has_extension("a.json", &[]));
        assert!(has_extension("a.b.png", &["json", "png"]));
    }

    #[test]
    fn listing_puts_folders_first_hides_dotfiles_and_is_bounded() {
        let d = tempfile::tempdir().unwrap();
        for n in ["b.json", "A.JSON", "c.csv", ".hidden.json"] {
            std::fs::write(d.path().join(n), "{}").unwrap();
        }
        for n in ["zeta", "Alpha", ".git"] {
            std::fs::create_dir(d.path().join(n)).unwrap();
        }
        let l = list_dir(d.path(), &["json"]).unwrap();
        let names: Vec<_> = l.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["Alpha", "zeta", "A.JSON", "b.json"]);
        assert_eq!(l.more, 0);
        assert_eq!(l.entries[2].size, 2);
        assert!(l.entries[0].is_dir && !l.entries[2].is_dir);
        let folders: Vec<_> = list_dir(d.path(), &[])
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(folders, ["Alpha", "zeta"]);

        let big = tempfile::tempdir().unwrap();
        for i in 0..LIST_MAX + 7 {
            std::fs::write(big.path().join(format!("f{i:04}.json")), "").unwrap();
        }
        std::fs::create_dir(big.path().join("zz")).unwrap();
        let l = list_dir(big.path(), &["json"]).unwrap();
        assert_eq!(l.entries.len(), LIST_MAX);
        assert_eq!(l.more, 8);
        assert_eq!(l.entries[0].name, "zz", "folders first even when cut");
        assert_eq!(l.entries[1].name, "f0000.json");
        assert_eq!(l.entries[LIST_MAX - 1].name, format!("f{:04}.json", LIST_MAX - 2));

        let e = list_dir(&d.path().join("b.json"), &[]).unwrap_err();
        assert!(matches!(e, FilesError::NotAFolder { .. }), "{e}");
        let e = list_dir(&d.path().join("gone"), &[]).unwrap_err();
        assert!(e.to_string().contains("medium removed"), "{e}");
        assert!(e.message_zh().contains("拔出"), "{}", e.message_zh());
    }

    #[test]
    fn export_names_carry_device_and_time() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T09:05:07+08:00").unwrap();
        assert_eq!(
            export_name("audit", "dev/7 x", now),
            "lotline-audit-dev_7_x-20261201-090507"
        );
        assert_eq!(export_name("labels", "", now), "lotline-labels-device-20261201-090507");
    }

    #[test]
    fn sniffing_master_data() {
        let ok = |s: &str| sniff_master_data(s.as_bytes(), true);
        assert_eq!(ok(" \n{ \"items\": []}"), Ok(()));
        assert_eq!(ok("{\"operators\":[]"), Ok(()));
        assert_eq!(ok(""), Err(NotMasterData::Empty));
        assert_eq!(ok("  \n"), Err(NotMasterData::Empty));
        assert_eq!(ok("id,counter,at\n"), Err(NotMasterData::NotJson));
        assert_eq!(ok("\u{89}PNG"), Err(NotMasterData::NotJson));
        assert_eq!(ok("[{\"id\":1}]"), Err(NotMasterData::NotAnObject));
        assert_eq!(ok("42"), Err(NotMasterData::NotAnObject));
        assert_eq!(ok("{ }"), Err(NotMasterData::NoSections));
        assert_eq!(ok("{\"rows\": 1}"), Err(NotMasterData::UnknownSection("rows".into())));
        assert_eq!(ok("{"), Err(NotMasterData::NotJson));
        // A head cut short is left to the import.
        assert_eq!(sniff_master_data(b"   ", false), Ok(()));
        assert_eq!(sniff_master_data(b"{\"ite", false), Ok(()));
    }

    #[test]
    fn errors_say_themselves_in_both_languages() {
        let e = FilesError::NotMasterData {
            path: "/media/s/a.csv".into(),
            why: NotMasterData::NotJson,
        };
        assert_eq!(
            e.to_string(),
            "/media/s/a.csv is not master data: it is not JSON. Choose the master-data .json file; nothing was changed"
        );
        assert_eq!(
            e.message_zh(),
            "/media/s/a.csv 不是主数据文件：它不是 JSON 文件。请选择主数据 .json 文件；未做任何更改"
        );
        let full = FilesError::Write {
            path: "/media/s/x.csv".into(),
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        };
        assert!(full.to_string().contains("the medium is full"), "{full}");
        assert!(full.message_zh().contains("存储介质已满"));
        let op = |roles| Operator {
            id: "p1".into(),
            name: "P".into(),
            roles,
        };
        assert!(may_export(Some(&op(vec![Role::Picker]))).is_ok());
        assert!(matches!(may_export(None), Err(FilesError::NotLoggedIn)));
        let no = may_import(Some(&op(vec![Role::Picker]))).unwrap_err();
        assert_eq!(no.message_zh(), "只有主管可以导入主数据；p1 不是主管");
        assert!(may_import(Some(&op(vec![Role::Supervisor]))).is_ok());
    }

    #[test]
    fn received_lines_as_csv() {
        let cmd = |kind: &str, payload: Value| OutboxCommand {
            id: "c-1".into(),
            device_id: "d".into(),
            seq: 1,
            kind: kind.into(),
            schema_version: 1,
            created_at: "2026-12-01T09:00:00+08:00".into(),
            operator: Some("recv1".into()),
            payload,
            state: "pending".into(),
        };
        let receive = cmd(
            "receive",
            serde_json::json!({"task": "ASN-1", "lines": [
                {"item": "F1", "gtin": "06901234500011", "lot": "L,1", "expiry": "2027-01-31", "qty": 20,
                 "line": 1, "location": "DOCK", "lot_status": "released", "new_lot": true},
                {"item": "F2", "gtin": null, "lot": "M\"2", "expiry": null, "qty": 5,
                 "line": null, "location": "DOCK", "lot_status": "quarantine", "new_lot": false}
            ]}),
        );
        let other = cmd("login", serde_json::json!({"method": "pin"}));
        let (csv, n) = received_csv(&[other, receive]);
        assert_eq!(n, 2);
        let csv = String::from_utf8(csv).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "created_at,operator,task,command_id,item,gtin,lot,expiry,qty,line,location,lot_status,new_lot"
        );
        assert_eq!(
            lines[1],
            "2026-12-01T09:00:00+08:00,recv1,ASN-1,c-1,F1,06901234500011,\"L,1\",2027-01-31,20,1,DOCK,released,true"
        );
        assert_eq!(
            lines[2],
            "2026-12-01T09:00:00+08:00,recv1,ASN-1,c-1,F2,,\"M\"\"2\",,5,,DOCK,quarantine,false"
        );
    }
}
