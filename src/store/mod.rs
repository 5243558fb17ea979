//! The offline cache: one SQLite file (WAL, `synchronous=FULL`, foreign keys on) holding master
//! data, stock, tasks, the outbox of commands for the hub, the audit log and sync state.
//!
//! Every read the scan path needs is one indexed query; nothing here decides a verdict.

pub mod demo;
pub mod export;
pub mod gates;
pub mod import;
mod integrity;
#[cfg(test)]
mod migration_tests;
mod migrations;
pub mod sync;
pub use lotline_masterdata::pin;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::domain::ids::{Gtin, LotNo};
use crate::domain::lot::{
    Customer, DEFAULT_NEAR_EXPIRY_TIERS, FefoCandidate, Item, Lot, LotStatus, MinRemaining, Storage,
};

use crate::domain::command::Command;
use crate::domain::policy::Gate;
use crate::domain::reason::Reason;
use crate::domain::task::{TaskKind, TaskStatus};
use crate::domain::text::Bilingual;
use crate::domain::workflow::{Action, AuditFacts};

pub use migrations::MIGRATIONS;

/// `PRAGMA application_id` of every lotline cache: ASCII "LotL".
pub const APPLICATION_ID: i32 = i32::from_be_bytes(*b"LotL");

/// The `settings` key whose row says the cache's first load finished (written in the same
/// transaction as the load's last row). A cache without it is refused as unfinished.
pub const COMPLETE_KEY: &str = "cache_complete";

/// The page cache of every writing connection (16 MiB).
pub(crate) const NORMAL_CACHE: &str = "PRAGMA main.cache_size = -16384";

/// The page cache while a bulk load (an import, a first download) writes a million lots (32 MiB).
pub(crate) const BULK_CACHE: &str = "PRAGMA main.cache_size = -32768";

/// While a first download runs: a larger page cache, and the WAL copied into the file every
/// 8,192 pages (32 MiB) instead of every 1,000, so a page rewritten by many change pages is
/// copied once.
pub(crate) const BULK_DOWNLOAD: &str = "PRAGMA main.cache_size = -32768; PRAGMA wal_autocheckpoint = 8192;";

/// After a first download: back to the usual page cache and WAL size.
pub(crate) const AFTER_BULK_DOWNLOAD: &str = "PRAGMA main.cache_size = -16384; PRAGMA wal_autocheckpoint = 1000;";

/// How long a write waits for another process's write to finish before giving up, in
/// milliseconds; `LOTLINE_BUSY_TIMEOUT_MS` overrides it.
pub const BUSY_TIMEOUT_MS: u32 = 5000;

/// The tables of schema version 1, the last schema made before caches carried an application id.
const V1_TABLES: [&str; 14] = [
    "audit_log",
    "barcodes",
    "categories",
    "customers",
    "items",
    "locations",
    "lots",
    "outbox",
    "serials",
    "settings",
    "stock",
    "sync_state",
    "task_lines",
    "tasks",
];

/// Failures of the store, each naming the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database file {path} does not exist; create it with `lotline demo-data --db {path}` or `lotline import --db {path} FILE.json`"
    )]
    Missing { path: PathBuf },
    #[error(
        "{path} is an empty file, not a lotline cache; lotline did not change it: create a cache there with `lotline demo-data --db {path}` or `lotline import --db {path} FILE.json`"
    )]
    Empty { path: PathBuf },
    #[error(
        "{path} is not a lotline cache ({what}); lotline did not change it: give the path of a lotline cache, or create one at a new path with `lotline demo-data --db NEW.db` or `lotline import --db NEW.db FILE.json`"
    )]
    NotACache { path: PathBuf, what: Foreign },
    #[error(
        "{path} is an unfinished lotline cache: the command that created it did not finish; delete it and run the command again"
    )]
    Unfinished { path: PathBuf },
    #[error(
        "{path} has schema version {found} (PRAGMA user_version), which no lotline cache has, so it was altered or is damaged; restore it from a backup, or move it aside and recreate it with `lotline demo-data --db {path}` or `lotline import --db {path} FILE.json`"
    )]
    BadVersion { path: PathBuf, found: i64 },
    #[error(
        "{path} is not a lotline database or is damaged ({detail}); restore it from a backup, or move it aside and recreate it with `lotline demo-data --db {path}` or `lotline import --db {path} FILE.json`"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path} was written by a newer lotline (schema version {found}, this build knows up to {known}); update lotline"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error(
        "{path} already exists; lotline creates a new cache only where there is no file (or an empty one): choose another path"
    )]
    Exists { path: PathBuf },
    #[error(
        "{path} is read-only (the file, its folder or the medium): lotline cannot write to it; make it writable or copy it to a writable place"
    )]
    ReadOnly { path: PathBuf },
    #[error("{path} is busy: another lotline process is writing to it; wait for it to finish and try again")]
    Busy { path: PathBuf },
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "{path}: the database is full or the disk is out of space ({detail}); free some space and try again: nothing was lost"
    )]
    Full { path: PathBuf, detail: String },
    #[error(
        "database error in {path}: {source}; if it happens again, restore the cache from a backup, or move it aside and recreate it with `lotline demo-data --db {path}` or `lotline import --db {path} FILE.json`"
    )]
    Database { path: PathBuf, source: rusqlite::Error },
    /// An SQLite error not yet tied to a file (see [`StoreError::in_file`]).
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored data is invalid: {0}")]
    Data(String),
}

impl StoreError {
    /// Ties an error raised without the file's name (`Sql`, `Data`) to the database `path`.
    pub fn in_file(self, path: &Path) -> StoreError {
        match self {
            StoreError::Sql(e) => classify(path, e),
            StoreError::Data(detail) => StoreError::Corrupt {
                path: path.to_owned(),
                detail: format!("invalid stored data: {detail}"),
            },
            other => other,
        }
    }
}

impl Bilingual for StoreError {
    fn message_zh(&self) -> String {
        match self {
            StoreError::Missing { path } => {
                let p = path.display();
                format!(
                    "数据库文件 {p} 不存在；请用 `lotline demo-data --db {p}` 或 `lotline import --db {p} 文件.json` 创建"
                )
            }
            StoreError::Empty { path } => {
                let p = path.display();
                format!(
                    "{p} 是空文件，不是 lotline 缓存；lotline 未改动它：请用 `lotline demo-data --db {p}` 或 `lotline import --db {p} 文件.json` 在此创建缓存"
                )
            }
            StoreError::NotACache { path, what } => format!(
                "{} 不是 lotline 缓存（{}）；lotline 未改动它：请给出 lotline 缓存的路径，或用 `lotline demo-data --db 新.db` 或 `lotline import --db 新.db 文件.json` 在新路径创建",
                path.display(),
                what.message_zh()
            ),
            StoreError::Unfinished { path } => format!(
                "{} 是未完成的 lotline 缓存：创建它的命令没有完成；请删除它后重新运行该命令",
                path.display()
            ),
            StoreError::BadVersion { path, found } => format!(
                "{p} 的结构版本为 {found}（PRAGMA user_version），lotline 缓存不会有此版本，说明文件被改动或已损坏；请从备份恢复，或将其移走后用 `lotline demo-data --db {p}` 或 `lotline import --db {p} 文件.json` 重新创建",
                p = path.display()
            ),
            StoreError::Corrupt { path, detail } => format!(
                "{p} 不是 lotline 数据库或已损坏（{}）；请从备份恢复，或将其移走后用 `lotline demo-data --db {p}` 或 `lotline import --db {p} 文件.json` 重新创建",
                detail_zh(detail),
                p = path.display()
            ),
            StoreError::TooNew { path, found, known } => format!(
                "{} 由更新版本的 lotline 写入（结构版本 {found}，本程序最高支持 {known}）；请更新 lotline",
                path.display()
            ),
            StoreError::Exists { path } => format!(
                "{} 已存在；lotline 只在没有文件（或文件为空）的位置创建新缓存：请换一个路径",
                path.display()
            ),
            StoreError::ReadOnly { path } => format!(
                "{} 是只读的（文件、所在文件夹或存储介质）：lotline 无法写入；请使其可写，或复制到可写的位置",
                path.display()
            ),
            StoreError::Busy { path } => {
                format!("{} 正忙：另一个 lotline 进程正在写入；请等它完成后重试", path.display())
            }
            StoreError::Open { path, source } => format!("无法打开数据库 {}：{source}", path.display()),
            StoreError::Full { path, detail } => format!(
                "{}：数据库已满或磁盘空间不足（{}）；请释放空间后重试：没有丢失任何数据",
                path.display(),
                detail_zh(detail)
            ),
            StoreError::Database { path, source } => format!(
                "{p} 出现数据库错误：{source}；如再次发生，请从备份恢复缓存，或将其移走后用 `lotline demo-data --db {p}` 或 `lotline import --db {p} 文件.json` 重新创建",
                p = path.display()
            ),
            StoreError::Sql(e) => format!("数据库错误：{e}"),
            StoreError::Data(d) => format!("存储的数据无效：{d}"),
        }
    }
}

/// What a file that is not a lotline cache is, as far as lotline can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    Folder,
    /// An SQLite database with no tables.
    NoTables,
    /// An SQLite database with another application's id.
    Application(i32),
    /// An SQLite database without lotline's tables.
    OtherTables,
}

impl std::fmt::Display for Foreign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Foreign::Folder => f.write_str("it is a folder"),
            Foreign::NoTables => f.write_str("an SQLite database with no tables"),
            Foreign::Application(id) => write!(
                f,
                "an SQLite database of another application, application id {id:#010x}"
            ),
            Foreign::OtherTables => f.write_str("an SQLite database of another application, without lotline's tables"),
        }
    }
}

impl Bilingual for Foreign {
    fn message_zh(&self) -> String {
        match self {
            Foreign::Folder => "它是一个文件夹".into(),
            Foreign::NoTables => "一个没有任何表的 SQLite 数据库".into(),
            Foreign::Application(id) => format!("另一个应用的 SQLite 数据库，应用标识 {id:#010x}"),
            Foreign::OtherTables => "另一个应用的 SQLite 数据库，没有 lotline 的表".into(),
        }
    }
}

/// The Chinese of a [`detail`] (SQLite's own messages stay as SQLite wrote them).
fn detail_zh(detail: &str) -> String {
    match detail {
        "the database file is damaged" => "数据库文件已损坏".into(),
        "not an SQLite database file" => "不是 SQLite 数据库文件".into(),
        "no space left" => "磁盘空间不足".into(),
        other => match other.strip_prefix("invalid stored data: ") {
            Some(rest) => format!("存储的数据无效：{rest}"),
            None => match other.strip_prefix(integrity::QUICK_CHECK_FOUND) {
                Some(rest) => format!("PRAGMA quick_check 发现：{rest}"),
                None => other.to_owned(),
            },
        },
    }
}

/// A short description of an SQLite failure, without SQLite's error numbers.
fn detail(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseCorrupt) => "the database file is damaged".into(),
        Some(NotADatabase) => "not an SQLite database file".into(),
        Some(DiskFull) => "no space left".into(),
        _ => match e {
            rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
            other => other.to_string(),
        },
    }
}

/// Maps an SQLite error on the database `path` to what it means for the user.
pub(crate) fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    let path = path.to_owned();
    match e.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => StoreError::Corrupt {
            detail: detail(&e),
            path,
        },
        Some(DiskFull) => StoreError::Full {
            detail: detail(&e),
            path,
        },
        Some(DatabaseBusy | DatabaseLocked) => StoreError::Busy { path },
        Some(ReadOnly) => StoreError::ReadOnly { path },
        Some(CannotOpen) => StoreError::Open { path, source: e },
        _ => StoreError::Database { path, source: e },
    }
}

/// Maps a write error that is not yet tied to a file; [`StoreError::in_file`] names it later.
pub(crate) fn write_err(e: rusqlite::Error) -> StoreError {
    StoreError::Sql(e)
}

/// The busy timeout: [`BUSY_TIMEOUT_MS`] or `LOTLINE_BUSY_TIMEOUT_MS`.
fn busy_timeout_ms() -> u32 {
    std::env::var("LOTLINE_BUSY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(BUSY_TIMEOUT_MS)
}

/// `path` with a suffix appended to its file name (`x.db` → `x.db-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// An SQLite URI for `path` (percent-encoded), with `query`.
fn uri(path: &Path, query: &str) -> String {
    use std::os::unix::ffi::OsStrExt;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut s = String::from("file:");
    for &b in abs.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.push('?');
    s.push_str(query);
    s
}

/// Opens `path` for reading only, writing nothing: not the file, and no `-wal` / `-shm` files
/// beside it. With no `-wal` file nobody has the database open in WAL mode, so it is read as
/// immutable (no locks, no shared memory); with one, another process has it open and the
/// connection shares its WAL.
fn open_read_only_conn(path: &Path) -> Result<Connection, StoreError> {
    let query = if sibling(path, "-wal").exists() {
        "mode=ro"
    } else {
        "mode=ro&immutable=1"
    };
    let conn = Connection::open_with_flags(
        uri(path, query),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| classify(path, e))?;
    // A reader can meet a lock too (another process recovering the WAL index).
    conn.busy_timeout(std::time::Duration::from_millis(u64::from(busy_timeout_ms())))
        .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// What a file that is about to be opened as a cache is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A lotline cache made by this or an earlier build, its first load finished.
    Cache,
    /// A cache of schema version 1, made before caches had an application id and a completion
    /// mark; migration 2 stamps both.
    LegacyV1,
}

/// Decides, without writing anything, whether `path` is a lotline cache; every other file is an
/// error that says what it is.
fn inspect(path: &Path) -> Result<(Found, Connection), StoreError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::Missing { path: path.to_owned() });
        }
        Err(e) => {
            return Err(StoreError::Open {
                path: path.to_owned(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            });
        }
    };
    let not_a_cache = |what: Foreign| StoreError::NotACache {
        path: path.to_owned(),
        what,
    };
    if meta.is_dir() {
        return Err(not_a_cache(Foreign::Folder));
    }
    if meta.len() == 0 {
        return Err(StoreError::Empty { path: path.to_owned() });
    }
    let mut header = [0u8; 100];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut header)
    });
    if read.is_err() || !header.starts_with(b"SQLite format 3\0") {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: "not an SQLite database file".into(),
        });
    }
    let conn = open_read_only_conn(path)?;
    let c = |e| classify(path, e);
    let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(c)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(c)?;
    let tables: Vec<String> = {
        let mut st = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
            .map_err(c)?;
        st.query_map([], |r| r.get(0))
            .map_err(c)?
            .collect::<Result<_, _>>()
            .map_err(c)?
    };
    let known = MIGRATIONS.len() as i64;
    let too_new = || StoreError::TooNew {
        path: path.to_owned(),
        found: version,
        known,
    };
    let bad_version = || StoreError::BadVersion {
        path: path.to_owned(),
        found: version,
    };
    let found = if app == APPLICATION_ID {
        if version > known {
            return Err(too_new());
        }
        if version < 1 {
            return Err(bad_version());
        }
        let complete: Option<String> = conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [COMPLETE_KEY], |r| {
                r.get(0)
            })
            .optional()
            .map_err(c)?;
        if complete.is_none() {
            return Err(StoreError::Unfinished { path: path.to_owned() });
        }
        Found::Cache
    } else if app != 0 {
        return Err(not_a_cache(Foreign::Application(app)));
    } else if version < 0 {
        return Err(bad_version());
    } else if tables.is_empty() {
        return Err(not_a_cache(Foreign::NoTables));
    } else if tables.iter().map(String::as_str).eq(V1_TABLES) {
        match version {
            1 => {
                let items: i64 = conn
                    .query_row("SELECT COUNT(*) FROM (SELECT 1 FROM items LIMIT 1)", [], |r| r.get(0))
                    .map_err(c)?;
                if items == 0 {
                    // What a first load killed before its commit leaves: the schema, no data.
                    return Err(StoreError::Unfinished { path: path.to_owned() });
                }
                Found::LegacyV1
            }
            v if v > known => return Err(too_new()),
            _ => return Err(bad_version()),
        }
    } else {
        return Err(not_a_cache(Foreign::OtherTables));
    };
    Ok((found, conn))
}

/// Refuses, before SQLite opens it, a file that cannot be written (permissions, a read-only
/// medium). Opening for writing and closing again changes nothing.
fn check_writable(path: &Path) -> Result<(), StoreError> {
    match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(30) => {
            Err(StoreError::ReadOnly { path: path.to_owned() })
        }
        Err(e) => Err(StoreError::Open {
            path: path.to_owned(),
            source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
        }),
    }
}

/// One item's row in a lot card: where the lot is and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRow {
    pub location: String,
    pub warehouse: String,
    pub zone: String,
    pub kind: String,
    pub qty: i64,
}

/// A pick or count task line as the scan screen needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSummary {
    pub id: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub customer_id: Option<String>,
    pub reference: Option<String>,
    /// Lines (a count task: its locations).
    pub lines: i64,
}

/// One line of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLine {
    pub line_no: i64,
    pub item_id: String,
    pub lot: Option<String>,
    pub location: Option<String>,
    pub qty_expected: i64,
    pub qty_done: i64,
}

/// A task with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub summary: TaskSummary,
    pub lines: Vec<TaskLine>,
}

/// A scan decision to be written to the audit log and the outbox in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub at: String,
    pub operator: String,
    pub gate: String,
    pub scan: String,
    pub verdict: String,
    pub reason_codes: Vec<String>,
    pub item_id: Option<String>,
    pub lot: Option<String>,
    pub task_id: Option<String>,
    pub customer_id: Option<String>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// A new cache whose first load has not committed yet: the next write transaction marks it
    /// complete ([`COMPLETE_KEY`]), so the mark lands in the same commit as the load.
    unfinished: bool,
    /// What `PRAGMA quick_check` reported on a cache opened by [`Store::open_damaged`]: every
    /// write is refused with it.
    damaged: Option<String>,
}

impl Store {
    /// Opens an existing lotline cache for reading and writing, applying pending migrations.
    ///
    /// Anything that is not a lotline cache (a missing, empty, foreign, unfinished or damaged
    /// file) is refused with an error that names it and says what to do, and is not modified.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let (_, check) = inspect(path)?;
        drop(check);
        check_writable(path)?;
        let mut s = Self::open_with(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            false,
        )?;
        // A first download cut short left its deferred indexes out: make them now. If that
        // fails (a full disk), every query still answers through the unique indexes, and the
        // next sync cycle tries again and reports the failure.
        let _ = s.restore_deferred_indexes();
        Ok(s)
    }

    /// Opens an existing lotline cache for reading only (`lotline check`, lookups). It writes
    /// nothing, not even `-wal` / `-shm` files, so it works on a read-only file, folder or medium;
    /// a write through it fails with [`StoreError::ReadOnly`].
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let (_, conn) = inspect(path)?;
        let s = Store {
            conn,
            path: path.to_owned(),
            unfinished: false,
            damaged: None,
        };
        s.conn
            .execute_batch(&format!(
                "PRAGMA query_only = ON; PRAGMA busy_timeout = {}; PRAGMA cache_size = -16384;",
                busy_timeout_ms()
            ))
            .map_err(|e| s.err(e))?;
        Ok(s)
    }

    /// Opens the lotline cache at `path` for writing into it, or creates a new one when there is
    /// no file there (or an empty one). Any other file is refused and left as it is.
    /// A new cache counts as complete once its first write transaction (the first load) commits.
    pub fn create(path: &Path) -> Result<Store, StoreError> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() == 0 => Self::create_new(path),
            Ok(_) => Self::open(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create_new(path),
            Err(e) => Err(StoreError::Open {
                path: path.to_owned(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            }),
        }
    }

    /// Creates a new cache (and its folder) at `path`, where there must be no file or an empty
    /// one. It carries lotline's application id from the start and is marked complete by its
    /// first committed write transaction; until then opening it says the creation did not finish.
    pub fn create_new(path: &Path) -> Result<Store, StoreError> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() == 0 => {}
            Ok(_) => return Err(StoreError::Exists { path: path.to_owned() }),
            Err(_) => {}
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| match e.raw_os_error() {
                Some(30) => StoreError::ReadOnly { path: path.to_owned() },
                _ => StoreError::Open {
                    path: path.to_owned(),
                    source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
                },
            })?;
        }
        Self::open_with(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            true,
        )
    }

    /// A private in-memory cache, for tests and the headless screenshot of an empty state.
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        let mut s = Store {
            conn,
            path: PathBuf::from(":memory:"),
            unfinished: false,
            damaged: None,
        };
        s.configure()?;
        s.migrate()?;
        Ok(s)
    }

    fn open_with(path: &Path, flags: OpenFlags, new: bool) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
        let mut s = Store {
            conn,
            path: path.to_owned(),
            unfinished: new,
            damaged: None,
        };
        s.configure()?;
        s.migrate()?;
        Ok(s)
    }

    /// This cache's error for an SQLite failure: names the file and what to do.
    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        // Wait for another process's write before anything else touches the file.
        self.conn
            .busy_timeout(std::time::Duration::from_millis(u64::from(busy_timeout_ms())))
            .map_err(|e| self.err(e))?;
        // journal_mode answers with a row; the others are plain statements.
        let _: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        // 16 MiB of page cache keeps the upper levels of the scan-path indexes in memory even for
        // a million-lot cache; handhelds have 1–3 GB.
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .and_then(|_| self.conn.execute_batch(NORMAL_CACHE))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Applies pending migrations; refuses a file from a newer build or with an impossible version.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        if found < 0 {
            return Err(StoreError::BadVersion {
                path: self.path.clone(),
                found,
            });
        }
        let path = self.path.clone();
        let c = |e| classify(&path, e);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(c)?;
            tx.execute_batch(sql).map_err(c)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(c)?;
            tx.commit().map_err(c)?;
        }
        Ok(())
    }

    /// Starts a write transaction: `BEGIN IMMEDIATE`, so a second writer waits (up to the busy
    /// timeout) at the start instead of failing halfway, and a lock that outlasts the wait is
    /// [`StoreError::Busy`] naming this database. Every write goes through here. On a new cache
    /// the first such transaction also carries the completion mark.
    pub fn begin_write(&mut self) -> Result<Transaction<'_>, StoreError> {
        self.refuse_if_damaged()?;
        let path = self.path.clone();
        let c = |e| classify(&path, e);
        if self.unfinished {
            let marked: Option<String> = self
                .conn
                .query_row("SELECT value FROM settings WHERE key = ?1", [COMPLETE_KEY], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(c)?;
            self.unfinished = marked.is_none();
        }
        let unfinished = self.unfinished;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(c)?;
        if unfinished {
            tx.execute(
                "INSERT OR IGNORE INTO settings(key, value) VALUES (?1, ?2)",
                params![COMPLETE_KEY, concat!("lotline ", env!("CARGO_PKG_VERSION"))],
            )
            .map_err(c)?;
        }
        Ok(tx)
    }

    /// Caps the database at `pages` pages (`PRAGMA max_page_count`) for this connection; writes
    /// beyond it fail as a full disk would. For drills and tests of the full-disk path.
    pub fn cap_size(&self, pages: u64) -> Result<(), StoreError> {
        let _: i64 = self
            .conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Pages the database file uses now.
    pub fn page_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this cache takes writes: not opened read-only, not found damaged.
    pub fn writable(&self) -> bool {
        self.damaged.is_none() && !self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true)
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Finds the item a scanned GTIN or alias code names.
    pub fn item_by_code(&self, code: &str) -> Result<Option<Item>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT i.id, i.name_en, i.name_zh, i.category, i.shelf_life_days, i.min_remaining_days_receipt,
                    i.min_remaining_pct_receipt, COALESCE(i.near_expiry_days, c.near_expiry_days),
                    i.requires_qc, i.serialized, i.regulated, i.storage,
                    (SELECT g.code FROM barcodes g WHERE g.item_id = i.id AND g.kind = 'gtin' ORDER BY g.code LIMIT 1)
             FROM barcodes b JOIN items i ON i.id = b.item_id LEFT JOIN categories c ON c.id = i.category
             WHERE b.code = ?1",
            )
            .map_err(|e| self.err(e))?;
        st.query_row([code], item_from_row)
            .optional()
            .map_err(|e| self.err(e))?
            .transpose()
    }

    /// Finds an item by its id.
    pub fn item_by_id(&self, id: &str) -> Result<Option<Item>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT i.id, i.name_en, i.name_zh, i.category, i.shelf_life_days, i.min_remaining_days_receipt,
                    i.min_remaining_pct_receipt, COALESCE(i.near_expiry_days, c.near_expiry_days),
                    i.requires_qc, i.serialized, i.regulated, i.storage,
                    (SELECT g.code FROM barcodes g WHERE g.item_id = i.id AND g.kind = 'gtin' ORDER BY g.code LIMIT 1)
             FROM items i LEFT JOIN categories c ON c.id = i.category WHERE i.id = ?1",
            )
            .map_err(|e| self.err(e))?;
        st.query_row([id], item_from_row)
            .optional()
            .map_err(|e| self.err(e))?
            .transpose()
    }

    /// Finds a lot of an item.
    pub fn lot(&self, item_id: &str, lot: &str) -> Result<Option<Lot>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT item_id, lot, expiry, production_date, qc_date, status FROM lots WHERE item_id = ?1 AND lot = ?2",
        ).map_err(|e| self.err(e))?;
        st.query_row(params![item_id, lot], lot_from_row)
            .optional()
            .map_err(|e| self.err(e))?
            .transpose()
    }

    /// The lot a serial-numbered unit belongs to, if the cache knows the serial.
    pub fn serial_lot(&self, item_id: &str, serial: &str) -> Result<Option<Lot>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT l.item_id, l.lot, l.expiry, l.production_date, l.qc_date, l.status
             FROM serials s JOIN lots l ON l.id = s.lot_id WHERE s.item_id = ?1 AND s.serial = ?2",
            )
            .map_err(|e| self.err(e))?;
        st.query_row(params![item_id, serial], lot_from_row)
            .optional()
            .map_err(|e| self.err(e))?
            .transpose()
    }

    /// Up to `limit` serial-numbered units as (GTIN, serial), in item and serial order: what RFID
    /// tags in the warehouse would carry (the simulated reader's tag population).
    pub fn serialized_units(&self, limit: usize) -> Result<Vec<(String, String)>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT (SELECT g.code FROM barcodes g WHERE g.item_id = s.item_id AND g.kind = 'gtin' ORDER BY g.code LIMIT 1) AS gtin,
                    s.serial
             FROM serials s WHERE gtin IS NOT NULL ORDER BY s.item_id, length(s.serial), s.serial LIMIT ?1",
        ).map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit as i64], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The earliest-expiring released lot of an item with stock in a pick location that expires
    /// on or after `today` (pass today plus a customer's minimum remaining days for theirs).
    /// Ties on expiry go to the lot created first (the index's rowid order), so the query can
    /// stop at the first match instead of sorting a day's worth of lots.
    pub fn fefo_candidate(&self, item_id: &str, today: NaiveDate) -> Result<Option<FefoCandidate>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT l.lot, l.expiry, s.location
             FROM lots l JOIN stock s ON s.lot_id = l.id JOIN locations loc ON loc.code = s.location
             WHERE l.item_id = ?1 AND l.status = 'released' AND l.expiry >= ?2 AND s.qty > 0 AND loc.kind = 'pick'
             ORDER BY l.expiry LIMIT 1",
            )
            .map_err(|e| self.err(e))?;
        let row = st
            .query_row(params![item_id, today.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(lot, expiry, location)| {
            Ok(FefoCandidate {
                lot: LotNo::new(&lot).map_err(|e| StoreError::Data(e.to_string()))?,
                expiry: parse_date(&expiry)?,
                location,
            })
        })
        .transpose()
    }

    pub fn customer(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, name, min_remaining_days FROM customers WHERE id = ?1")
            .map_err(|e| self.err(e))?;
        st.query_row([id], |r| {
            Ok(Customer {
                id: r.get(0)?,
                name: r.get(1)?,
                min_remaining_days: r.get(2)?,
            })
        })
        .optional()
        .map_err(|e| self.err(e))
    }

    pub fn customers(&self) -> Result<Vec<Customer>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, name, min_remaining_days FROM customers ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(Customer {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    min_remaining_days: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Where a lot is and how many, largest first.
    pub fn stock_of_lot(&self, item_id: &str, lot: &str) -> Result<Vec<StockRow>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT s.location, loc.warehouse, loc.zone, loc.kind, s.qty
             FROM lots l JOIN stock s ON s.lot_id = l.id JOIN locations loc ON loc.code = s.location
             WHERE l.item_id = ?1 AND l.lot = ?2 AND s.qty > 0 ORDER BY s.qty DESC, s.location",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![item_id, lot], |r| {
                Ok(StockRow {
                    location: r.get(0)?,
                    warehouse: r.get(1)?,
                    zone: r.get(2)?,
                    kind: r.get(3)?,
                    qty: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Lots of an item, earliest expiry first (for Lookup when only the item was scanned).
    pub fn lots_of_item(&self, item_id: &str, limit: usize) -> Result<Vec<Lot>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT item_id, lot, expiry, production_date, qc_date, status FROM lots WHERE item_id = ?1
             ORDER BY expiry IS NULL, expiry, lot LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![item_id, limit as i64], lot_from_row)
            .map_err(|e| self.err(e))?;
        rows.map(|r| r.map_err(|e| self.err(e))?).collect()
    }

    pub fn tasks(&self, kind: Option<TaskKind>) -> Result<Vec<TaskSummary>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT t.id, t.kind, t.status, t.customer_id, t.reference,
                    CASE WHEN t.kind = 'count'
                         THEN (SELECT COUNT(*) FROM task_locations x WHERE x.task_id = t.id)
                         ELSE (SELECT COUNT(*) FROM task_lines tl WHERE tl.task_id = t.id) END
             FROM tasks t WHERE ?1 IS NULL OR t.kind = ?1 ORDER BY t.created_at, t.id",
            )
            .map_err(|e| self.err(e))?;
        #[allow(clippy::type_complexity)]
        let rows: Vec<(String, String, String, Option<String>, Option<String>, i64)> = st
            .query_map([kind.map(|k| k.as_str())], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(id, kind, status, customer_id, reference, lines)| {
                let bad = |what: &str, v: &str| StoreError::Data(format!("task {id}: bad {what} '{v}' in database"));
                Ok(TaskSummary {
                    kind: kind.parse().map_err(|_| bad("kind", &kind))?,
                    status: status.parse().map_err(|_| bad("status", &status))?,
                    id,
                    customer_id,
                    reference,
                    lines,
                })
            })
            .collect()
    }

    /// A task and its lines.
    pub fn task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        let Some(summary) = self.tasks(None)?.into_iter().find(|t| t.id == id) else {
            return Ok(None);
        };
        let mut st = self.conn.prepare_cached(
            "SELECT line_no, item_id, lot, location, qty_expected, qty_done FROM task_lines WHERE task_id = ?1 ORDER BY line_no",
        ).map_err(|e| self.err(e))?;
        let lines = st
            .query_map([id], |r| {
                Ok(TaskLine {
                    line_no: r.get(0)?,
                    item_id: r.get(1)?,
                    lot: r.get(2)?,
                    location: r.get(3)?,
                    qty_expected: r.get(4)?,
                    qty_done: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        Ok(Some(Task { summary, lines }))
    }

    /// Counts rows of a table; for reports and tests.
    pub fn count(&self, table: &str) -> Result<i64, StoreError> {
        const TABLES: [&str; 13] = [
            "categories",
            "items",
            "barcodes",
            "lots",
            "serials",
            "locations",
            "stock",
            "customers",
            "tasks",
            "task_lines",
            "outbox",
            "audit_log",
            "sync_state",
        ];
        if !TABLES.contains(&table) {
            return Err(StoreError::Data(format!("no table {table}")));
        }
        self.conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Commands not yet acknowledged by the hub.
    pub fn outbox_pending(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Writes a scan decision to the audit log and queues it for the hub, atomically.
    /// Returns the outbox command id.
    pub fn record_scan(&mut self, rec: &ScanRecord) -> Result<String, StoreError> {
        let action = Action {
            command: Command::Scan {
                gate: rec.gate.clone(),
                task: rec.task_id.clone(),
                scan: rec.scan.clone(),
                verdict: rec.verdict.clone(),
                reasons: rec.reason_codes.clone(),
                item: rec.item_id.clone(),
                lot: rec.lot.clone(),
            },
            operator: Some(rec.operator.clone()),
            audit: rec.audit(),
            changes: vec![],
        };
        let at = record_time(&rec.at);
        Ok(self.commit(&[action], at)?.remove(0).id)
    }

    /// Records that the operator went ahead with a warned scan and why, in the audit log and as
    /// an outbox command that refers to the scan's command.
    pub fn record_override(
        &mut self,
        scan_command_id: &str,
        rec: &ScanRecord,
        reason: &str,
    ) -> Result<String, StoreError> {
        let action = Action {
            command: Command::WarningOverride {
                scan_command: scan_command_id.to_owned(),
                gate: rec.gate.clone(),
                scan: rec.scan.clone(),
                warnings: rec.reason_codes.clone(),
                reason: reason.to_owned(),
                item: rec.item_id.clone(),
                lot: rec.lot.clone(),
                task: rec.task_id.clone(),
            },
            operator: Some(rec.operator.clone()),
            audit: AuditFacts {
                verdict: Some("warn"),
                reason: Some(reason.to_owned()),
                ..rec.audit()
            },
            changes: vec![],
        };
        let at = record_time(&rec.at);
        Ok(self.commit(&[action], at)?.remove(0).id)
    }

    /// Scan decisions in the audit log, newest first: (at, gate, scan, verdict, reasons JSON).
    #[allow(clippy::type_complexity)]
    pub fn recent_audit(&self, limit: usize) -> Result<Vec<(String, String, String, String, String)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT at, COALESCE(gate, ''), COALESCE(scan, ''), verdict, reasons FROM audit_log
                 WHERE verdict IS NOT NULL AND scan IS NOT NULL ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

impl ScanRecord {
    /// The audit entry's facts for this scan.
    fn audit(&self) -> AuditFacts {
        AuditFacts {
            gate: Gate::parse(&self.gate),
            task_id: self.task_id.clone(),
            item_id: self.item_id.clone(),
            lot: self.lot.clone(),
            scan: Some(self.scan.clone()),
            verdict: ["accept", "warn", "reject"].into_iter().find(|v| *v == self.verdict),
            reasons: codes(&self.reason_codes),
            ..Default::default()
        }
    }
}

/// Reason codes as the audit facts keep them (static codes; an unknown one is kept as "other").
fn codes(v: &[String]) -> Vec<&'static str> {
    v.iter()
        .map(|c| {
            Reason::CODES
                .iter()
                .find(|k| **k == c.as_str())
                .copied()
                .unwrap_or("other")
        })
        .collect()
}

/// A record's RFC 3339 time, or now when it does not parse.
fn record_time(at: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(at).unwrap_or_else(|_| chrono::Local::now().fixed_offset())
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Data(format!("bad date '{s}' in database")))
}

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    s.as_deref().map(parse_date).transpose()
}

/// Parses a comma list of tiers such as "60,30,7"; largest first.
pub fn parse_tiers(s: &str) -> Result<Vec<u32>, String> {
    let mut v = s
        .split(',')
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().map_err(|_| format!("'{p}' is not a number of days")))
        .collect::<Result<Vec<_>, _>>()?;
    v.sort_unstable_by(|a, b| b.cmp(a));
    v.dedup();
    Ok(v)
}

pub fn tiers_to_string(t: &[u32]) -> String {
    t.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

type RowResult<T> = rusqlite::Result<Result<T, StoreError>>;

fn item_from_row(r: &rusqlite::Row<'_>) -> RowResult<Item> {
    let days: Option<u32> = r.get(5)?;
    let pct: Option<u8> = r.get(6)?;
    let tiers: Option<String> = r.get(7)?;
    let storage: String = r.get(11)?;
    let gtin: Option<String> = r.get(12)?;
    let id: String = r.get(0)?;
    let build = || -> Result<Item, StoreError> {
        Ok(Item {
            name_en: r.get(1)?,
            name_zh: r.get(2)?,
            category: r.get(3)?,
            shelf_life_days: r.get(4)?,
            min_remaining_receipt: match (days, pct) {
                (Some(d), _) => Some(MinRemaining::Days(d)),
                (None, Some(p)) => Some(MinRemaining::Percent(p)),
                (None, None) => None,
            },
            near_expiry_days: match tiers {
                Some(t) => parse_tiers(&t).map_err(|e| StoreError::Data(format!("item {id}: {e}")))?,
                None => DEFAULT_NEAR_EXPIRY_TIERS.to_vec(),
            },
            requires_qc: r.get(8)?,
            serialized: r.get(9)?,
            regulated: r.get(10)?,
            storage: storage.parse::<Storage>().map_err(StoreError::Data)?,
            gtin: gtin
                .as_deref()
                .map(Gtin::new)
                .transpose()
                .map_err(|e| StoreError::Data(e.to_string()))?,
            id: id.clone(),
        })
    };
    Ok(build())
}

fn lot_from_row(r: &rusqlite::Row<'_>) -> RowResult<Lot> {
    let lot: String = r.get(1)?;
    let status: String = r.get(5)?;
    let (e, p, q): (Option<String>, Option<String>, Option<String>) = (r.get(2)?, r.get(3)?, r.get(4)?);
    let item_id: String = r.get(0)?;
    Ok((|| {
        Ok(Lot {
            item_id,
            lot: LotNo::new(&lot).map_err(|e| StoreError::Data(e.to_string()))?,
            expiry: opt_date(e)?,
            production_date: opt_date(p)?,
            qc_date: opt_date(q)?,
            status: status.parse::<LotStatus>().map_err(StoreError::Data)?,
        })
    })())
}
