//! The store: SQLite (a file) or PostgreSQL (`postgres://…`), behind one transaction type whose
//! SQL is written once with `$1..$n` placeholders over a small value enum.

#[cfg(feature = "postgres")]
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::HubError;
use crate::metrics::Metrics;

/// A value bound to or read from SQL. Booleans are integers, times RFC 3339 text.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
    Real(f64),
}

impl Val {
    pub fn int(&self) -> i64 {
        match self {
            Val::Int(i) => *i,
            Val::Real(r) => *r as i64,
            Val::Text(t) => t.parse().unwrap_or(0),
            Val::Null => 0,
        }
    }
    pub fn text(&self) -> String {
        match self {
            Val::Text(t) => t.clone(),
            Val::Int(i) => i.to_string(),
            Val::Real(r) => r.to_string(),
            Val::Null => String::new(),
        }
    }
    pub fn opt_text(&self) -> Option<String> {
        match self {
            Val::Null => None,
            v => Some(v.text()),
        }
    }
    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Val::Null => None,
            v => Some(v.int()),
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Text(s.clone())
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}
impl From<u32> for Val {
    fn from(i: u32) -> Val {
        Val::Int(i as i64)
    }
}
impl From<bool> for Val {
    fn from(b: bool) -> Val {
        Val::Int(b as i64)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(o: Option<T>) -> Val {
        o.map(Into::into).unwrap_or(Val::Null)
    }
}
impl From<&Option<String>> for Val {
    fn from(o: &Option<String>) -> Val {
        o.as_deref().map(Val::from).unwrap_or(Val::Null)
    }
}

pub type Row = Vec<Val>;

/// The schema version each backend is brought to on open.
pub const SCHEMA_VERSION: i64 = 1;

/// The one advisory lock every PostgreSQL write transaction takes first ("lotline" in ASCII).
#[cfg(feature = "postgres")]
const PG_WRITE_LOCK: i64 = 0x006c_6f74_6c69_6e65;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Pg(Box<PgConn>),
}

#[cfg(feature = "postgres")]
struct PgConn {
    client: postgres::Client,
    stmts: HashMap<String, postgres::Statement>,
}

pub(crate) struct Inner {
    backend: Backend,
    target: String,
    pool: Mutex<Vec<Conn>>,
    pub(crate) min_schema: AtomicU32,
    pub(crate) metrics: Metrics,
}

/// The hub's database. Cheap to clone: every clone shares one pool of connections.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.inner.backend).finish()
    }
}

/// The most parameters one statement binds (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 8_000;

/// How many idle connections the pool keeps.
const POOL_MAX: usize = 16;

impl Store {
    /// Opens (and creates or migrates) the store: `postgres://…`/`postgresql://…` is PostgreSQL,
    /// anything else a SQLite file.
    pub fn open(db: &str) -> Result<Store, HubError> {
        let backend = if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                Backend::Postgres
            }
            #[cfg(not(feature = "postgres"))]
            {
                return Err(HubError::NoPostgres);
            }
        } else {
            Backend::Sqlite
        };
        let store = Store {
            inner: Arc::new(Inner {
                backend,
                target: db.to_string(),
                pool: Mutex::new(Vec::new()),
                min_schema: AtomicU32::new(crate::MIN_SCHEMA_VERSION),
                metrics: Metrics::default(),
            }),
        };
        crate::schema::migrate(&store)?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The oldest device command schema taken (426 below it); [`crate::MIN_SCHEMA_VERSION`] by default.
    pub fn set_min_schema_version(&self, v: u32) {
        self.inner.min_schema.store(v, Ordering::Relaxed);
    }

    pub fn min_schema_version(&self) -> u32 {
        self.inner.min_schema.load(Ordering::Relaxed)
    }

    fn connect(&self) -> Result<Conn, HubError> {
        match self.inner.backend {
            Backend::Sqlite => {
                let c = rusqlite::Connection::open(&self.inner.target)
                    .map_err(|e| HubError::open(&self.inner.target, e))?;
                c.busy_timeout(std::time::Duration::from_secs(30))
                    .map_err(HubError::db)?;
                c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
                    .map_err(|e| HubError::open(&self.inner.target, e))?;
                c.set_prepared_statement_cache_capacity(128);
                Ok(Conn::Sqlite(c))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let client = postgres::Client::connect(&self.inner.target, postgres::NoTls)
                    .map_err(|e| HubError::open(&redact(&self.inner.target), e))?;
                Ok(Conn::Pg(Box::new(PgConn {
                    client,
                    stmts: HashMap::new(),
                })))
            }
        }
    }

    fn take(&self) -> Result<Conn, HubError> {
        let c = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match c {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn give(&self, c: Conn) {
        #[cfg(feature = "postgres")]
        if let Conn::Pg(p) = &c
            && p.client.is_closed()
        {
            return;
        }
        let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < POOL_MAX {
            pool.push(c);
        }
    }

    /// Runs `f` in a write transaction: PostgreSQL takes the hub's one advisory lock first,
    /// SQLite begins IMMEDIATE, so writes commit one at a time in the order they began.
    /// Commits when `f` returns `Ok`, rolls back otherwise.
    pub fn write<T, E: From<HubError>>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        self.run(true, f)
    }

    /// Runs `f` in a read transaction.
    pub fn read<T, E: From<HubError>>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        self.run(false, f)
    }

    fn run<T, E: From<HubError>>(&self, write: bool, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        let mut conn = self.take()?;
        let res = run_on(&mut conn, write, f);
        self.give(conn);
        res
    }
}

fn run_on<T, E: From<HubError>>(
    conn: &mut Conn,
    write: bool,
    f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
) -> Result<T, E> {
    match conn {
        Conn::Sqlite(c) => {
            let behavior = if write {
                rusqlite::TransactionBehavior::Immediate
            } else {
                rusqlite::TransactionBehavior::Deferred
            };
            let tx = c.transaction_with_behavior(behavior).map_err(HubError::db)?;
            let mut t = Tx {
                inner: TxInner::Sqlite(tx),
            };
            let out = f(&mut t)?;
            match t.inner {
                TxInner::Sqlite(tx) => tx.commit().map_err(HubError::db)?,
                #[cfg(feature = "postgres")]
                TxInner::Pg(..) => unreachable!(),
            }
            Ok(out)
        }
        #[cfg(feature = "postgres")]
        Conn::Pg(p) => {
            let PgConn { client, stmts } = &mut **p;
            // Reads see one snapshot (a page, its bucket's count and the device's progress agree).
            let tx = if write {
                client.transaction()
            } else {
                client
                    .build_transaction()
                    .isolation_level(postgres::IsolationLevel::RepeatableRead)
                    .start()
            }
            .map_err(HubError::db)?;
            let mut t = Tx {
                inner: TxInner::Pg(tx, stmts),
            };
            if write {
                t.exec("SELECT pg_advisory_xact_lock($1)", &[Val::Int(PG_WRITE_LOCK)])?;
            }
            let out = f(&mut t)?;
            match t.inner {
                TxInner::Pg(tx, _) => tx.commit().map_err(HubError::db)?,
                TxInner::Sqlite(..) => unreachable!(),
            }
            Ok(out)
        }
    }
}

#[cfg(feature = "postgres")]
fn redact(url: &str) -> String {
    // postgres://user:password@host/db → postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &cred[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

enum TxInner<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    #[cfg(feature = "postgres")]
    Pg(postgres::Transaction<'a>, &'a mut HashMap<String, postgres::Statement>),
}

/// One transaction on either backend.
pub struct Tx<'a> {
    inner: TxInner<'a>,
}

/// `$1` → `?1` for SQLite (outside quotes).
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return sql.into();
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let b = sql.as_bytes();
    for (i, ch) in sql.char_indices() {
        if ch == '\'' {
            quoted = !quoted;
        }
        if ch == '$' && !quoted && b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(ch);
        }
    }
    out.into()
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Real(r) => ToSqlOutput::Borrowed(ValueRef::Real(*r)),
            Val::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

#[cfg(feature = "postgres")]
mod pg {
    use super::Val;
    use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
    use std::error::Error;

    impl ToSql for Val {
        fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
            match self {
                Val::Null => Ok(IsNull::Yes),
                Val::Int(i) => match *ty {
                    Type::INT8 => i.to_sql(ty, out),
                    Type::INT4 => (i32::try_from(*i)?).to_sql(ty, out),
                    Type::INT2 => (i16::try_from(*i)?).to_sql(ty, out),
                    Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                    Type::BOOL => (*i != 0).to_sql(ty, out),
                    _ => i.to_string().to_sql(ty, out),
                },
                Val::Real(r) => match *ty {
                    Type::FLOAT8 => r.to_sql(ty, out),
                    Type::FLOAT4 => (*r as f32).to_sql(ty, out),
                    _ => r.to_string().to_sql(ty, out),
                },
                Val::Text(t) => match *ty {
                    Type::INT8 => t.parse::<i64>()?.to_sql(ty, out),
                    _ => t.as_str().to_sql(ty, out),
                },
            }
        }
        fn accepts(_: &Type) -> bool {
            true
        }
        to_sql_checked!();
    }

    pub(super) fn read(row: &postgres::Row) -> Vec<Val> {
        (0..row.len())
            .map(|i| {
                let ty = row.columns()[i].type_();
                match *ty {
                    Type::INT8 => row.get::<_, Option<i64>>(i).map(Val::Int),
                    Type::INT4 => row.get::<_, Option<i32>>(i).map(|v| Val::Int(v as i64)),
                    Type::INT2 => row.get::<_, Option<i16>>(i).map(|v| Val::Int(v as i64)),
                    Type::BOOL => row.get::<_, Option<bool>>(i).map(|v| Val::Int(v as i64)),
                    Type::FLOAT8 => row.get::<_, Option<f64>>(i).map(Val::Real),
                    Type::FLOAT4 => row.get::<_, Option<f32>>(i).map(|v| Val::Real(v as f64)),
                    Type::VOID => None,
                    _ => row.get::<_, Option<String>>(i).map(Val::Text),
                }
                .unwrap_or(Val::Null)
            })
            .collect()
    }
}

impl Tx<'_> {
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            TxInner::Pg(..) => Backend::Postgres,
        }
    }

    /// Runs a statement; the number of rows it changed.
    pub fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, HubError> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => {
                let mut st = tx.prepare_cached(&sqlite_sql(sql)).map_err(|e| HubError::sql(sql, e))?;
                let n = st
                    .execute(rusqlite::params_from_iter(params.iter()))
                    .map_err(|e| HubError::sql(sql, e))?;
                Ok(n as u64)
            }
            #[cfg(feature = "postgres")]
            TxInner::Pg(tx, stmts) => {
                let st = pg_stmt(tx, stmts, sql)?;
                let p: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|v| v as _).collect();
                tx.execute(&st, &p).map_err(|e| HubError::sql(sql, e))
            }
        }
    }

    /// Runs a query; every row.
    pub fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, HubError> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => {
                let mut st = tx.prepare_cached(&sqlite_sql(sql)).map_err(|e| HubError::sql(sql, e))?;
                let n = st.column_count();
                let mut rows = st
                    .query(rusqlite::params_from_iter(params.iter()))
                    .map_err(|e| HubError::sql(sql, e))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next().map_err(|e| HubError::sql(sql, e))? {
                    let mut row = Vec::with_capacity(n);
                    for i in 0..n {
                        use rusqlite::types::ValueRef;
                        row.push(match r.get_ref(i).map_err(|e| HubError::sql(sql, e))? {
                            ValueRef::Null => Val::Null,
                            ValueRef::Integer(i) => Val::Int(i),
                            ValueRef::Real(f) => Val::Real(f),
                            ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Blob(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
                        });
                    }
                    out.push(row);
                }
                Ok(out)
            }
            #[cfg(feature = "postgres")]
            TxInner::Pg(tx, stmts) => {
                let st = pg_stmt(tx, stmts, sql)?;
                let p: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|v| v as _).collect();
                let rows = tx.query(&st, &p).map_err(|e| HubError::sql(sql, e))?;
                Ok(rows.iter().map(pg::read).collect())
            }
        }
    }

    /// The first row, if any.
    pub fn one(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>, HubError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Runs `head VALUES (…), (…) tail` over `values`, `cols` values a row, as few statements as
    /// the backends' limits on bound parameters allow. The number of rows changed.
    pub fn exec_rows(&mut self, head: &str, cols: usize, values: &[Val], tail: &str) -> Result<u64, HubError> {
        debug_assert!(cols > 0 && values.len().is_multiple_of(cols));
        let per = (MAX_PARAMS / cols).max(1);
        let mut n = 0;
        for chunk in values.chunks(per * cols) {
            let rows = chunk.len() / cols;
            let mut sql = String::with_capacity(head.len() + tail.len() + rows * cols * 6);
            sql.push_str(head);
            sql.push_str(" VALUES ");
            for r in 0..rows {
                if r > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..cols {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push('$');
                    sql.push_str(&(r * cols + c + 1).to_string());
                }
                sql.push(')');
            }
            sql.push(' ');
            sql.push_str(tail);
            n += self.exec(&sql, chunk)?;
        }
        Ok(n)
    }

    /// Appends rows (`cols.len()` values each) to `table`: PostgreSQL's `COPY … FROM STDIN`,
    /// multi-row INSERTs on SQLite. The number of rows written.
    pub fn copy_rows(&mut self, table: &str, cols: &[&str], values: &[Val]) -> Result<u64, HubError> {
        match &mut self.inner {
            TxInner::Sqlite(_) => self.exec_rows(
                &format!("INSERT INTO {table}({})", cols.join(", ")),
                cols.len(),
                values,
                "",
            ),
            #[cfg(feature = "postgres")]
            TxInner::Pg(tx, _) => {
                use std::io::Write as _;
                let sql = format!("COPY {table}({}) FROM STDIN", cols.join(", "));
                let mut w = tx.copy_in(&sql).map_err(|e| HubError::sql(&sql, e))?;
                let mut buf = String::with_capacity(1 << 16);
                for row in values.chunks(cols.len()) {
                    for (i, v) in row.iter().enumerate() {
                        if i > 0 {
                            buf.push('\t');
                        }
                        copy_text(v, &mut buf);
                    }
                    buf.push('\n');
                    if buf.len() >= 1 << 16 {
                        w.write_all(buf.as_bytes()).map_err(|e| HubError::sql(&sql, e))?;
                        buf.clear();
                    }
                }
                w.write_all(buf.as_bytes()).map_err(|e| HubError::sql(&sql, e))?;
                w.finish().map_err(|e| HubError::sql(&sql, e))
            }
        }
    }

    /// Runs several statements without parameters (DDL).
    pub fn batch(&mut self, sql: &str) -> Result<(), HubError> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => tx.execute_batch(sql).map_err(|e| HubError::sql(sql, e)),
            #[cfg(feature = "postgres")]
            TxInner::Pg(tx, _) => tx.batch_execute(sql).map_err(|e| HubError::sql(sql, e)),
        }
    }
}

/// A value in COPY's text format: `\\N` for NULL; backslash, tab, newline and carriage return
/// escaped.
#[cfg(feature = "postgres")]
fn copy_text(v: &Val, out: &mut String) {
    match v {
        Val::Null => out.push_str("\\N"),
        Val::Int(i) => out.push_str(&i.to_string()),
        Val::Real(r) => out.push_str(&r.to_string()),
        Val::Text(t) if !t.contains(['\\', '\t', '\n', '\r']) => out.push_str(t),
        Val::Text(t) => {
            for ch in t.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

#[cfg(feature = "postgres")]
fn pg_stmt(
    tx: &mut postgres::Transaction<'_>,
    stmts: &mut HashMap<String, postgres::Statement>,
    sql: &str,
) -> Result<postgres::Statement, HubError> {
    if let Some(s) = stmts.get(sql) {
        return Ok(s.clone());
    }
    let s = tx.prepare(sql).map_err(|e| HubError::sql(sql, e))?;
    stmts.insert(sql.to_string(), s.clone());
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_for_sqlite_outside_quotes() {
        assert_eq!(
            sqlite_sql("SELECT a FROM t WHERE b = $1 AND c = $12"),
            "SELECT a FROM t WHERE b = ?1 AND c = ?12"
        );
        assert_eq!(sqlite_sql("SELECT '$1', $2"), "SELECT '$1', ?2");
    }
}
