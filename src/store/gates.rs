//! What the gates read and write: operators, tasks as the workflow engine sees them, locations,
//! and [`Store::commit`], which writes a step's actions — each an outbox command, its chained
//! audit entry and its changes to stock, lots and tasks — in one transaction.

use chrono::{DateTime, FixedOffset};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Store, StoreError, classify, parse_date};
use crate::domain::audit::{self, AuditEntry, GENESIS, Head, StoredEntry};
use crate::domain::command::SCHEMA_VERSION;
use crate::domain::ids::{LotNo, Sscc};
use crate::domain::lot::{LotStatus, Storage};
use crate::domain::operator::{Operator, parse_roles};
use crate::domain::task::{AsnLine, Location, LocationKind, TaskFacts, TaskKind, TaskStatus};
use crate::domain::workflow::count::{ClosedFact, CountFacts, EntryFact, MoveFact, SnapLine, Tolerance};
use crate::domain::workflow::{Action, Change, PickedFact, StockFact};

/// The settings key of the audit chain's head (`counter:hash` of the last entry written).
pub const AUDIT_HEAD_KEY: &str = "audit_head";
/// The settings key of this device's id.
pub const DEVICE_ID_KEY: &str = "device_id";

/// An operator with what a login needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    pub operator: Operator,
    pub pin_hash: String,
    pub failures: u32,
    pub locked_until: Option<DateTime<FixedOffset>>,
}

/// A command as written: the outbox row the hub will receive.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutboxCommand {
    pub id: String,
    pub device_id: String,
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub schema_version: i64,
    pub created_at: String,
    pub operator: Option<String>,
    pub payload: serde_json::Value,
    pub state: String,
}

/// A stock row as `lotline stock` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StockLine {
    pub location: String,
    pub item: String,
    pub lot: String,
    pub qty: i64,
    pub status: String,
}

/// A movement of a lot made on this device (for the lot card).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub at: String,
    pub operator: String,
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub qty: i64,
}

struct LineRow {
    line_no: u32,
    item_id: String,
    lot: Option<String>,
    qty: u32,
    done: u32,
    expiry: Option<String>,
    sscc: Option<String>,
    location: Option<String>,
    short: u32,
    short_reason: Option<String>,
    checked_by: Option<String>,
    override_reason: Option<String>,
}

fn to_time(s: Option<String>) -> Option<DateTime<FixedOffset>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
}

impl Store {
    /// This device's id (made by migration 3; replaced when the hub enrols the device).
    pub fn device_id(&self) -> Result<String, StoreError> {
        Ok(self.setting(DEVICE_ID_KEY)?.unwrap_or_default())
    }

    pub fn operator(&self, id: &str) -> Result<Option<OperatorRecord>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT o.id, o.name, o.roles, o.pin_hash, f.failures, f.locked_until
                 FROM operators o LEFT JOIN login_failures f ON f.operator_id = o.id WHERE o.id = ?1",
            )
            .map_err(|e| self.err(e))?;
        st.query_row([id], |r| {
            Ok(OperatorRecord {
                operator: Operator {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    roles: parse_roles(&r.get::<_, String>(2)?),
                },
                pin_hash: r.get(3)?,
                failures: r.get::<_, Option<u32>>(4)?.unwrap_or(0),
                locked_until: to_time(r.get(5)?),
            })
        })
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Operators, for the login screen's list: (id, name).
    pub fn operators(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT id, name FROM operators ORDER BY id")
            .map_err(|e| self.err(e))?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// A task with its lines and their items, as a gate opens it.
    pub fn task_facts(&self, id: &str) -> Result<Option<TaskFacts>, StoreError> {
        #[allow(clippy::type_complexity)]
        let head: Option<(
            String,
            String,
            String,
            Option<String>,
            u32,
            Option<String>,
            bool,
            Option<String>,
        )> = self
            .conn()
            .query_row(
                "SELECT id, kind, status, reference, tolerance_pct, customer_id, blind, zone FROM tasks WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((id, kind, status, reference, tolerance_pct, customer_id, blind, zone)) = head else {
            return Ok(None);
        };
        let bad = |what: &str, v: &str| StoreError::Data(format!("task {id}: bad {what} '{v}' in database"));
        let kind: TaskKind = kind.parse().map_err(|_| bad("kind", &kind))?;
        let status: TaskStatus = status.parse().map_err(|_| bad("status", &status))?;
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT line_no, item_id, lot, qty_expected, qty_done, expiry, sscc, location, qty_short, short_reason,
                        checked_by, override_reason
                 FROM task_lines WHERE task_id = ?1 ORDER BY line_no",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<LineRow> = st
            .query_map([&id], |r| {
                Ok(LineRow {
                    line_no: r.get(0)?,
                    item_id: r.get(1)?,
                    lot: r.get(2)?,
                    qty: r.get(3)?,
                    done: r.get(4)?,
                    expiry: r.get(5)?,
                    sscc: r.get(6)?,
                    location: r.get(7)?,
                    short: r.get(8)?,
                    short_reason: r.get(9)?,
                    checked_by: r.get(10)?,
                    override_reason: r.get(11)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut lines = Vec::with_capacity(rows.len());
        let mut locations: Vec<String> = Vec::new();
        for l in rows {
            let item = self.item_by_id(&l.item_id)?.ok_or_else(|| bad("item", &l.item_id))?;
            if let Some(loc) = &l.location {
                locations.push(loc.clone());
            }
            lines.push(AsnLine {
                line_no: l.line_no,
                item,
                qty: l.qty,
                done: l.done,
                lot: l.lot.map(|x| LotNo::new(&x).map_err(|_| bad("lot", &x))).transpose()?,
                expiry: l.expiry.map(|d| parse_date(&d)).transpose()?,
                sscc: l.sscc.map(|x| Sscc::new(&x).map_err(|_| bad("sscc", &x))).transpose()?,
                location: l.location,
                short: l.short,
                short_reason: l.short_reason,
                checked_by: l.checked_by,
                override_reason: l.override_reason,
            });
        }
        let customer = match &customer_id {
            Some(c) => self.customer(c)?,
            None => None,
        };
        if kind == TaskKind::Count {
            let mut st = self
                .conn()
                .prepare_cached(
                    "SELECT location FROM task_locations WHERE task_id = ?1
                     UNION SELECT code FROM locations WHERE zone = ?2",
                )
                .map_err(|e| self.err(e))?;
            let more: Vec<String> = st
                .query_map(params![id, zone], |r| r.get(0))
                .map_err(|e| self.err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.err(e))?;
            locations.extend(more);
        }
        locations.sort();
        locations.dedup();
        Ok(Some(TaskFacts {
            id,
            kind,
            status,
            reference,
            tolerance_pct,
            lines,
            customer,
            blind,
            locations,
        }))
    }

    /// The receiving dock: the first location of kind `receiving`.
    pub fn receiving_dock(&self) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT code FROM locations WHERE kind = 'receiving' ORDER BY code LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn location(&self, code: &str) -> Result<Option<Location>, StoreError> {
        let row: Option<(String, String, String)> = self
            .conn()
            .query_row(
                "SELECT code, kind, storage FROM locations WHERE code = ?1",
                [code],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(code, kind, storage)| {
            Ok(Location {
                kind: kind
                    .parse::<LocationKind>()
                    .map_err(|_| StoreError::Data(format!("location {code}: bad kind '{kind}'")))?,
                storage: storage
                    .parse::<Storage>()
                    .map_err(|_| StoreError::Data(format!("location {code}: bad storage '{storage}'")))?,
                code,
            })
        })
        .transpose()
    }

    /// Stock rows, filtered, in location, item and lot order (empty rows left out).
    pub fn stock_lines(
        &self,
        item: Option<&str>,
        lot: Option<&str>,
        location: Option<&str>,
    ) -> Result<Vec<StockLine>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT s.location, l.item_id, l.lot, s.qty, l.status FROM stock s JOIN lots l ON l.id = s.lot_id
                 WHERE s.qty > 0 AND (?1 IS NULL OR l.item_id = ?1) AND (?2 IS NULL OR l.lot = ?2)
                   AND (?3 IS NULL OR s.location = ?3)
                 ORDER BY s.location, l.item_id, l.lot",
            )
            .map_err(|e| self.err(e))?;
        st.query_map(params![item, lot, location], |r| {
            Ok(StockLine {
                location: r.get(0)?,
                item: r.get(1)?,
                lot: r.get(2)?,
                qty: r.get(3)?,
                status: r.get(4)?,
            })
        })
        .map_err(|e| self.err(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| self.err(e))
    }

    /// The outbox, oldest first.
    pub fn outbox_commands(&self) -> Result<Vec<OutboxCommand>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT command_id, COALESCE(device_id, ''), seq, kind, schema_version, created_at, operator, payload, state
                 FROM outbox ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        st.query_map([], |r| {
            let payload: String = r.get(7)?;
            Ok(OutboxCommand {
                id: r.get(0)?,
                device_id: r.get(1)?,
                seq: r.get(2)?,
                kind: r.get(3)?,
                schema_version: r.get(4)?,
                created_at: r.get(5)?,
                operator: r.get(6)?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
                state: r.get(8)?,
            })
        })
        .map_err(|e| self.err(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| self.err(e))
    }

    /// The lot's movements on this device, newest first.
    pub fn movements(&self, item_id: &str, lot: &str, limit: usize) -> Result<Vec<Movement>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT m.at, m.operator, m.kind, m.from_location, m.to_location, m.qty
                 FROM movements m JOIN lots l ON l.id = m.lot_id
                 WHERE l.item_id = ?1 AND l.lot = ?2 ORDER BY m.id DESC LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        st.query_map(params![item_id, lot, limit as i64], |r| {
            Ok(Movement {
                at: r.get(0)?,
                operator: r.get(1)?,
                kind: r.get(2)?,
                from: r.get(3)?,
                to: r.get(4)?,
                qty: r.get(5)?,
            })
        })
        .map_err(|e| self.err(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| self.err(e))
    }

    /// The audit chain in insertion order, and the head the device last wrote.
    pub fn audit_entries(&self) -> Result<(Vec<StoredEntry>, Option<Head>), StoreError> {
        let mut st = self
            .conn()
            .prepare(
                "SELECT id, counter, at, device_id, operator, authorised_by, action, command_id, gate, task_id,
                        item_id, lot, location, scan, verdict, reasons, reason, before, after, prev_hash, hash
                 FROM audit_log ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(StoredEntry {
                    id: r.get(0)?,
                    entry: AuditEntry {
                        counter: r.get::<_, i64>(1)?.max(0) as u64,
                        at: r.get(2)?,
                        device_id: r.get(3)?,
                        operator: r.get(4)?,
                        authorised_by: r.get(5)?,
                        action: r.get(6)?,
                        command_id: r.get(7)?,
                        gate: r.get(8)?,
                        task_id: r.get(9)?,
                        item_id: r.get(10)?,
                        lot: r.get(11)?,
                        location: r.get(12)?,
                        scan: r.get(13)?,
                        verdict: r.get(14)?,
                        reasons: r.get(15)?,
                        reason: r.get(16)?,
                        before: r.get(17)?,
                        after: r.get(18)?,
                    },
                    prev_hash: r.get(19)?,
                    hash: r.get(20)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let head = self.setting(AUDIT_HEAD_KEY)?.and_then(|s| Head::from_setting(&s));
        Ok((rows, head))
    }

    /// Checks the audit chain: `Ok(n)` entries checked, or the first break.
    pub fn audit_verify(&self) -> Result<Result<u64, audit::Break>, StoreError> {
        let (rows, head) = self.audit_entries()?;
        Ok(audit::verify(&rows, head.as_ref()))
    }

    /// Writes `actions` in one transaction: for each, a command in the outbox (UUIDv7 id, the
    /// next gapless seq), its chained audit entry, and its changes. Returns the commands.
    pub fn commit(&mut self, actions: &[Action], at: DateTime<FixedOffset>) -> Result<Vec<OutboxCommand>, StoreError> {
        let device_id = self.device_id()?;
        let path = self.path().to_owned();
        let c = |e| classify(&path, e);
        let at_s = crate::domain::workflow::rfc3339(at);
        let tx = self.begin_write()?;
        let mut head = tx
            .query_row("SELECT value FROM settings WHERE key = ?1", [AUDIT_HEAD_KEY], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map_err(c)?
            .and_then(|s| Head::from_setting(&s))
            .unwrap_or(Head {
                counter: 0,
                hash: GENESIS.to_owned(),
            });
        let mut written = Vec::with_capacity(actions.len());
        for a in actions {
            let id = uuid::Uuid::now_v7().to_string();
            let v = serde_json::to_value(&a.command).map_err(|e| StoreError::Data(e.to_string()))?;
            let kind = a.command.kind();
            let payload = v.get("payload").cloned().unwrap_or(serde_json::Value::Null);
            let payload_s = payload.to_string();
            tx.execute(
                "INSERT INTO outbox(command_id, kind, payload, created_at, device_id, operator, schema_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, kind, payload_s, at_s, device_id, a.operator, SCHEMA_VERSION],
            )
            .map_err(c)?;
            let seq = tx.last_insert_rowid();
            let entry = AuditEntry {
                counter: head.counter + 1,
                at: at_s.clone(),
                device_id: device_id.clone(),
                operator: a.operator.clone(),
                authorised_by: a.audit.authorised_by.clone(),
                action: kind.to_owned(),
                command_id: Some(id.clone()),
                gate: a.audit.gate.map(|g| g.as_str().to_owned()),
                task_id: a.audit.task_id.clone(),
                item_id: a.audit.item_id.clone(),
                lot: a.audit.lot.clone(),
                location: a.audit.location.clone(),
                scan: a.audit.scan.clone(),
                verdict: a.audit.verdict.map(str::to_owned),
                reasons: serde_json::to_string(&a.audit.reasons).unwrap_or_else(|_| "[]".into()),
                reason: a.audit.reason.clone(),
                before: a.audit.before.as_ref().map(|v| v.to_string()),
                after: a.audit.after.as_ref().map(|v| v.to_string()),
            };
            let hash = insert_audit_row(&tx, &entry, &head.hash).map_err(c)?;
            head = Head {
                counter: entry.counter,
                hash,
            };
            for ch in &a.changes {
                apply(&tx, ch, a, &id, &at_s).map_err(|e| match e {
                    Applied::Sql(e) => c(e),
                    Applied::Data(m) => StoreError::Data(m),
                })?;
            }
            written.push(OutboxCommand {
                id,
                device_id: device_id.clone(),
                seq,
                kind: kind.to_owned(),
                schema_version: i64::from(SCHEMA_VERSION),
                created_at: at_s.clone(),
                operator: a.operator.clone(),
                payload,
                state: "pending".into(),
            });
        }
        tx.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![AUDIT_HEAD_KEY, head.to_setting()],
        )
        .map_err(c)?;
        tx.commit().map_err(c)?;
        Ok(written)
    }
}

enum Applied {
    Sql(rusqlite::Error),
    Data(String),
}

impl From<rusqlite::Error> for Applied {
    fn from(e: rusqlite::Error) -> Self {
        Applied::Sql(e)
    }
}

fn lot_id(tx: &Transaction<'_>, item_id: &str, lot: &LotNo) -> Result<i64, Applied> {
    tx.query_row(
        "SELECT id FROM lots WHERE item_id = ?1 AND lot = ?2",
        params![item_id, lot.as_str()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| Applied::Data(format!("lot {} of {item_id} is not in the cache", lot.as_str())))
}

#[allow(clippy::too_many_arguments)]
fn movement(
    tx: &Transaction<'_>,
    a: &Action,
    command_id: &str,
    at: &str,
    kind: &str,
    lot_id: i64,
    from: Option<&str>,
    to: Option<&str>,
    qty: u32,
    line_no: Option<u32>,
) -> Result<(), Applied> {
    tx.execute(
        "INSERT INTO movements(at, operator, kind, lot_id, from_location, to_location, qty, task_id, command_id, line_no)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            at,
            a.operator.as_deref().unwrap_or(""),
            kind,
            lot_id,
            from,
            to,
            qty,
            a.audit.task_id,
            command_id,
            line_no
        ],
    )?;
    Ok(())
}

/// Takes up to `qty` of a lot from a location; returns how many it took.
fn take(tx: &Transaction<'_>, lot_id: i64, location: &str, qty: u32, exact: bool, lot: &str) -> Result<u32, Applied> {
    let have: i64 = tx
        .query_row(
            "SELECT qty FROM stock WHERE lot_id = ?1 AND location = ?2",
            params![lot_id, location],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    if exact && have < i64::from(qty) {
        return Err(Applied::Data(format!(
            "only {have} of lot {lot} at {location}, cannot take {qty}"
        )));
    }
    let n = (i64::from(qty)).min(have).max(0) as u32;
    if i64::from(n) == have {
        tx.execute(
            "DELETE FROM stock WHERE lot_id = ?1 AND location = ?2",
            params![lot_id, location],
        )?;
    } else {
        tx.execute(
            "UPDATE stock SET qty = qty - ?3 WHERE lot_id = ?1 AND location = ?2",
            params![lot_id, location, n],
        )?;
    }
    Ok(n)
}

const LAST_MOVEMENT: &str = "(SELECT COALESCE(MAX(id), 0) FROM movements)";

fn apply(tx: &Transaction<'_>, ch: &Change, a: &Action, command_id: &str, at: &str) -> Result<(), Applied> {
    match ch {
        Change::UpsertLot {
            item_id,
            lot,
            expiry,
            production_date,
            status,
        } => {
            tx.execute(
                "INSERT INTO lots(item_id, lot, expiry, production_date, status) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(item_id, lot) DO UPDATE SET expiry = excluded.expiry,
                    production_date = COALESCE(excluded.production_date, production_date), status = excluded.status",
                params![
                    item_id,
                    lot.as_str(),
                    expiry.map(|d| d.to_string()),
                    production_date.map(|d| d.to_string()),
                    status.as_str()
                ],
            )?;
        }
        Change::SetLotStatus { item_id, lot, status } => {
            let n = tx.execute(
                "UPDATE lots SET status = ?3 WHERE item_id = ?1 AND lot = ?2",
                params![item_id, lot.as_str(), status.as_str()],
            )?;
            if n == 0 {
                return Err(Applied::Data(format!(
                    "lot {} of {item_id} is not in the cache",
                    lot.as_str()
                )));
            }
            if *status == LotStatus::Released {
                tx.execute(
                    "UPDATE lots SET qc_date = ?3 WHERE item_id = ?1 AND lot = ?2",
                    params![item_id, lot.as_str(), &at[..10]],
                )?;
            }
        }
        Change::AddStock {
            item_id,
            lot,
            location,
            qty,
        } => {
            let id = lot_id(tx, item_id, lot)?;
            tx.execute(
                "INSERT INTO stock(lot_id, location, qty) VALUES (?1, ?2, ?3)
                 ON CONFLICT(lot_id, location) DO UPDATE SET qty = qty + excluded.qty",
                params![id, location, qty],
            )?;
            movement(tx, a, command_id, at, "receive", id, None, Some(location), *qty, None)?;
        }
        Change::MoveStock {
            item_id,
            lot,
            from,
            to,
            qty,
        } => {
            let id = lot_id(tx, item_id, lot)?;
            let have: i64 = tx
                .query_row(
                    "SELECT qty FROM stock WHERE lot_id = ?1 AND location = ?2",
                    params![id, from],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            if have < i64::from(*qty) {
                return Err(Applied::Data(format!(
                    "only {have} of lot {} at {from}, cannot move {qty}",
                    lot.as_str()
                )));
            }
            if have == i64::from(*qty) {
                tx.execute(
                    "DELETE FROM stock WHERE lot_id = ?1 AND location = ?2",
                    params![id, from],
                )?;
            } else {
                tx.execute(
                    "UPDATE stock SET qty = qty - ?3 WHERE lot_id = ?1 AND location = ?2",
                    params![id, from, qty],
                )?;
            }
            tx.execute(
                "INSERT INTO stock(lot_id, location, qty) VALUES (?1, ?2, ?3)
                 ON CONFLICT(lot_id, location) DO UPDATE SET qty = qty + excluded.qty",
                params![id, to, qty],
            )?;
            movement(tx, a, command_id, at, "putaway", id, Some(from), Some(to), *qty, None)?;
        }
        Change::RemoveStock {
            item_id,
            lot,
            location,
            qty,
            line_no,
        } => {
            let id = lot_id(tx, item_id, lot)?;
            take(tx, id, location, *qty, true, lot.as_str())?;
            movement(tx, a, command_id, at, "pick", id, Some(location), None, *qty, *line_no)?;
        }
        Change::AdjustStock {
            item_id,
            lot,
            location,
            delta,
        } => {
            let id = lot_id(tx, item_id, lot)?;
            let n = delta.unsigned_abs().min(u64::from(u32::MAX)) as u32;
            if *delta > 0 {
                tx.execute(
                    "INSERT INTO stock(lot_id, location, qty) VALUES (?1, ?2, ?3)
                     ON CONFLICT(lot_id, location) DO UPDATE SET qty = qty + excluded.qty",
                    params![id, location, n],
                )?;
                movement(tx, a, command_id, at, "count", id, None, Some(location), n, None)?;
            } else if *delta < 0 {
                let took = take(tx, id, location, n, false, lot.as_str())?;
                if took > 0 {
                    movement(tx, a, command_id, at, "count", id, Some(location), None, took, None)?;
                }
            }
        }
        Change::SerialPicked { item_id, serial } => {
            tx.execute(
                "UPDATE serials SET status = 'picked' WHERE item_id = ?1 AND serial = ?2",
                params![item_id, serial],
            )?;
        }
        Change::TaskLineShort {
            task_id,
            line_no,
            qty,
            reason,
        } => {
            tx.execute(
                "UPDATE task_lines SET qty_short = qty_short + ?3, short_reason = ?4 WHERE task_id = ?1 AND line_no = ?2",
                params![task_id, line_no, qty, reason],
            )?;
        }
        Change::TaskLineChecked {
            task_id,
            line_no,
            checker,
            at: when,
        } => {
            tx.execute(
                "UPDATE task_lines SET checked_by = ?3, checked_at = ?4 WHERE task_id = ?1 AND line_no = ?2",
                params![task_id, line_no, checker, crate::domain::workflow::rfc3339(*when)],
            )?;
        }
        Change::TaskLineCheckPending { task_id, line_no } => {
            tx.execute(
                "UPDATE task_lines SET checked_by = NULL, checked_at = NULL WHERE task_id = ?1 AND line_no = ?2",
                params![task_id, line_no],
            )?;
        }
        Change::TaskLineOverride {
            task_id,
            line_no,
            reason,
        } => {
            tx.execute(
                "UPDATE task_lines SET override_reason = ?3 WHERE task_id = ?1 AND line_no = ?2",
                params![task_id, line_no, reason],
            )?;
        }
        Change::CreateCountTask {
            task_id,
            location,
            source,
        } => {
            tx.execute(
                "INSERT OR IGNORE INTO tasks(id, kind, status, created_at, source, blind) VALUES (?1, 'count', 'open', ?2, ?3, 1)",
                params![task_id, at, source],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO task_locations(task_id, location) VALUES (?1, ?2)",
                params![task_id, location],
            )?;
        }
        Change::CountSnapshot { task_id, lines } => {
            tx.execute(
                &format!(
                    "INSERT INTO count_state(task_id, snapshot_at, snapshot_mark) VALUES (?1, ?2, {LAST_MOVEMENT})"
                ),
                params![task_id, at],
            )?;
            let mut st = tx.prepare_cached(
                "INSERT INTO count_snapshot(task_id, location, item_id, lot, qty) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO UPDATE SET qty = qty + excluded.qty",
            )?;
            for l in lines {
                st.execute(params![task_id, l.location, l.item_id, l.lot, l.qty])?;
            }
        }
        Change::CountEntry {
            task_id,
            location,
            round,
            item_id,
            lot,
            qty,
        } => {
            tx.prepare_cached(
                "INSERT INTO count_entries(task_id, location, round, item_id, lot, qty, operator, command_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                task_id,
                location,
                round,
                item_id,
                lot,
                qty,
                a.operator.as_deref().unwrap_or(""),
                command_id
            ])?;
        }
        Change::CountTags {
            task_id,
            location,
            round,
            epcs,
        } => {
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO count_tags(task_id, location, round, epc) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for e in epcs {
                st.execute(params![task_id, location, round, e])?;
            }
        }
        Change::CountClosed {
            task_id,
            location,
            round,
        } => {
            tx.execute(
                &format!(
                    "INSERT OR REPLACE INTO count_closed(task_id, location, round, operator, at, mark)
                     VALUES (?1, ?2, ?3, ?4, ?5, {LAST_MOVEMENT})"
                ),
                params![task_id, location, round, a.operator.as_deref().unwrap_or(""), at],
            )?;
        }
        Change::CountRecount {
            task_id,
            location,
            first_operator,
        } => {
            tx.execute(
                "INSERT OR IGNORE INTO count_recounts(task_id, location, first_operator) VALUES (?1, ?2, ?3)",
                params![task_id, location, first_operator],
            )?;
        }
        Change::ExceptionAcknowledged { exception_id } => {
            let n = tx.execute(
                "UPDATE exceptions SET acknowledged_by = ?2, acknowledged_at = ?3 WHERE id = ?1 AND acknowledged_at IS NULL",
                params![exception_id, a.operator.as_deref().unwrap_or(""), at],
            )?;
            if n == 0 {
                return Err(Applied::Data(format!("exception {exception_id} is not open")));
            }
        }
        Change::TaskLineDone { task_id, line_no, add } => {
            tx.execute(
                "UPDATE task_lines SET qty_done = qty_done + ?3 WHERE task_id = ?1 AND line_no = ?2",
                params![task_id, line_no, add],
            )?;
        }
        Change::TaskStatus { task_id, status } => {
            tx.execute(
                "UPDATE tasks SET status = ?2 WHERE id = ?1",
                params![task_id, status.as_str()],
            )?;
        }
        Change::LoginFailures {
            operator_id,
            failures,
            locked_until,
        } => {
            if *failures == 0 && locked_until.is_none() {
                tx.execute("DELETE FROM login_failures WHERE operator_id = ?1", [operator_id])?;
            } else {
                tx.execute(
                    "INSERT INTO login_failures(operator_id, failures, locked_until) VALUES (?1, ?2, ?3)
                     ON CONFLICT(operator_id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                    params![operator_id, failures, locked_until.map(crate::domain::workflow::rfc3339)],
                )?;
            }
        }
    }
    Ok(())
}

/// What the pick and count gates read: stock with its lots and locations, a task's picks, a
/// count's snapshot, entries, closures and the movements of its window.
impl Store {
    fn stock_where(&self, sql_filter: &str, key: &str) -> Result<Vec<StockFact>, StoreError> {
        let sql = format!(
            "SELECT l.item_id, l.lot, l.expiry, l.production_date, l.qc_date, l.status,
                    s.location, loc.kind, loc.storage, s.qty
             FROM stock s JOIN lots l ON l.id = s.lot_id JOIN locations loc ON loc.code = s.location
             WHERE s.qty > 0 AND {sql_filter} ORDER BY s.location, l.item_id, l.lot"
        );
        let mut st = self.conn().prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map([key], |r| {
                let lot = super::lot_from_row(r)?;
                let code: String = r.get(6)?;
                let kind: String = r.get(7)?;
                let storage: String = r.get(8)?;
                let qty: i64 = r.get(9)?;
                Ok((lot, code, kind, storage, qty))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (lot, code, kind, storage, qty) = row.map_err(|e| self.err(e))?;
            let lot = lot?;
            out.push(StockFact {
                item_id: lot.item_id.clone(),
                lot,
                location: Location {
                    kind: kind
                        .parse::<LocationKind>()
                        .map_err(|_| StoreError::Data(format!("location {code}: bad kind '{kind}'")))?,
                    storage: storage
                        .parse::<Storage>()
                        .map_err(|_| StoreError::Data(format!("location {code}: bad storage '{storage}'")))?,
                    code,
                },
                qty: qty.clamp(0, i64::from(u32::MAX)) as u32,
            });
        }
        Ok(out)
    }

    /// Stock of the items of a task's lines, everywhere.
    pub fn stock_of_task_items(&self, task_id: &str) -> Result<Vec<StockFact>, StoreError> {
        self.stock_where(
            "l.item_id IN (SELECT item_id FROM task_lines WHERE task_id = ?1)",
            task_id,
        )
    }

    /// Stock at one location.
    pub fn stock_at(&self, location: &str) -> Result<Vec<StockFact>, StoreError> {
        self.stock_where("s.location = ?1", location)
    }

    /// The picks made on a task (its `pick` movements), oldest first.
    pub fn task_picks(&self, task_id: &str) -> Result<Vec<PickedFact>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT m.line_no, m.operator, l.lot, m.from_location, m.qty FROM movements m JOIN lots l ON l.id = m.lot_id
                 WHERE m.task_id = ?1 AND m.kind = 'pick' ORDER BY m.id",
            )
            .map_err(|e| self.err(e))?;
        st.query_map([task_id], |r| {
            Ok(PickedFact {
                line_no: r.get::<_, Option<u32>>(0)?.unwrap_or(0),
                operator: r.get(1)?,
                lot: r.get(2)?,
                location: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                qty: r.get(4)?,
            })
        })
        .map_err(|e| self.err(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| self.err(e))
    }

    /// Whether a serialised unit has been picked.
    pub fn serial_picked(&self, item_id: &str, serial: &str) -> Result<bool, StoreError> {
        let status: Option<String> = self
            .conn()
            .query_row(
                "SELECT status FROM serials WHERE item_id = ?1 AND serial = ?2",
                params![item_id, serial],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(status.as_deref() == Some("picked"))
    }

    /// A count task's progress on this device. With `window`, also the movements after its
    /// snapshot that touch `locations`, the items' tolerances and the lots named (for finishing).
    pub fn count_facts(&self, task_id: &str, locations: &[String], window: bool) -> Result<CountFacts, StoreError> {
        let e = |x| self.err(x);
        let mut f = CountFacts::default();
        let state: Option<i64> = self
            .conn()
            .query_row(
                "SELECT snapshot_mark FROM count_state WHERE task_id = ?1",
                [task_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(e)?;
        let Some(mark) = state else { return Ok(f) };
        f.started = true;
        f.snapshot_mark = mark;
        let c = self.conn();
        let mut st = c
            .prepare_cached("SELECT location, item_id, lot, qty FROM count_snapshot WHERE task_id = ?1")
            .map_err(e)?;
        f.snapshot = st
            .query_map([task_id], |r| {
                Ok(SnapLine {
                    location: r.get(0)?,
                    item_id: r.get(1)?,
                    lot: r.get(2)?,
                    qty: r.get(3)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let mut st = c
            .prepare_cached(
                "SELECT location, round, item_id, lot, SUM(qty) FROM count_entries WHERE task_id = ?1
                 GROUP BY location, round, item_id, lot",
            )
            .map_err(e)?;
        f.entries = st
            .query_map([task_id], |r| {
                Ok(EntryFact {
                    location: r.get(0)?,
                    round: r.get(1)?,
                    item_id: r.get(2)?,
                    lot: r.get(3)?,
                    qty: r.get(4)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let mut st = c
            .prepare_cached("SELECT location, round, operator, at, mark FROM count_closed WHERE task_id = ?1")
            .map_err(e)?;
        f.closed = st
            .query_map([task_id], |r| {
                Ok(ClosedFact {
                    location: r.get(0)?,
                    round: r.get(1)?,
                    operator: r.get(2)?,
                    at: r.get(3)?,
                    mark: r.get(4)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let mut st = c
            .prepare_cached("SELECT location, first_operator FROM count_recounts WHERE task_id = ?1")
            .map_err(e)?;
        f.recounts = st
            .query_map([task_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        // Tags of locations not closed yet (a left count resumes without counting them twice).
        let mut st = c
            .prepare_cached(
                "SELECT t.location, t.round, t.epc FROM count_tags t WHERE t.task_id = ?1 AND NOT EXISTS
                   (SELECT 1 FROM count_closed x WHERE x.task_id = t.task_id AND x.location = t.location AND x.round = t.round)",
            )
            .map_err(e)?;
        f.tags = st
            .query_map([task_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        if !window {
            return Ok(f);
        }
        let mut st = c
            .prepare_cached(
                "SELECT m.id, m.command_id, m.operator, m.at, l.item_id, l.lot, m.from_location, m.to_location, m.qty
                 FROM movements m JOIN lots l ON l.id = m.lot_id
                 WHERE m.id > ?1 AND (m.from_location = ?2 OR m.to_location = ?2) ORDER BY m.id",
            )
            .map_err(e)?;
        for loc in locations {
            let rows = st
                .query_map(params![mark, loc], |r| {
                    Ok(MoveFact {
                        id: r.get(0)?,
                        command: r.get(1)?,
                        operator: r.get(2)?,
                        at: r.get(3)?,
                        item_id: r.get(4)?,
                        lot: r.get(5)?,
                        from: r.get(6)?,
                        to: r.get(7)?,
                        qty: r.get(8)?,
                    })
                })
                .map_err(e)?;
            for m in rows {
                let m = m.map_err(e)?;
                if !f.movements.iter().any(|x| x.id == m.id) {
                    f.movements.push(m);
                }
            }
        }
        let mut items: Vec<&str> = f
            .snapshot
            .iter()
            .map(|s| s.item_id.as_str())
            .chain(f.entries.iter().map(|x| x.item_id.as_str()))
            .collect();
        items.sort();
        items.dedup();
        let mut tol = c
            .prepare_cached("SELECT count_tolerance FROM items WHERE id = ?1")
            .map_err(e)?;
        let mut tolerance = std::collections::BTreeMap::new();
        for i in &items {
            let t: Option<String> = tol.query_row([i], |r| r.get(0)).optional().map_err(e)?.flatten();
            if let Some(t) = t.as_deref().and_then(Tolerance::parse) {
                tolerance.insert((*i).to_owned(), t);
            }
        }
        let mut lots = Vec::new();
        let mut keys: Vec<(&str, &str)> = f
            .snapshot
            .iter()
            .map(|s| (s.item_id.as_str(), s.lot.as_str()))
            .chain(f.entries.iter().map(|x| (x.item_id.as_str(), x.lot.as_str())))
            .collect();
        keys.sort();
        keys.dedup();
        for (i, l) in keys {
            if let Some(lot) = self.lot(i, l)? {
                lots.push(lot);
            }
        }
        f.tolerance = tolerance;
        f.lots = lots;
        Ok(f)
    }
}

/// Writes `entry` as the audit chain's next row after `prev_hash` and returns its hash (the caller
/// moves the chain's head in the same transaction).
pub(super) fn insert_audit_row(
    tx: &rusqlite::Transaction<'_>,
    entry: &AuditEntry,
    prev_hash: &str,
) -> rusqlite::Result<String> {
    let hash = audit::entry_hash(prev_hash, entry);
    tx.execute(
        "INSERT INTO audit_log(counter, at, device_id, operator, authorised_by, action, command_id, gate, task_id,
            item_id, lot, location, scan, verdict, reasons, reason, before, after, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        params![
            entry.counter as i64,
            entry.at,
            entry.device_id,
            entry.operator,
            entry.authorised_by,
            entry.action,
            entry.command_id,
            entry.gate,
            entry.task_id,
            entry.item_id,
            entry.lot,
            entry.location,
            entry.scan,
            entry.verdict,
            entry.reasons,
            entry.reason,
            entry.before,
            entry.after,
            prev_hash,
            hash
        ],
    )?;
    Ok(hash)
}
