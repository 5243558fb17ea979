//! Applying devices' commands exactly once: per device `seq` gapless, per command `id` once,
//! each outcome stored in the same transaction as its effect.

use lotline_domain::command::{Command, SCHEMA_VERSION as HUB_SCHEMA};
use lotline_domain::lot::LotStatus;
use lotline_protocol::sync::{CommandOutcome, MAX_BATCH_COMMANDS, Outcome, SeqGap, UploadResponse};
use lotline_protocol::{CommandEnvelope, OutboxFile};
use serde_json::{Value, json};

use crate::changes::{DeviceRow, Log, add_stock, device};
use crate::db::{Store, Tx, Val};
use crate::error::HubError;
use crate::now;

/// A refusal: stored with the command, final.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: String,
    pub message: String,
    pub message_zh: String,
    pub details: Value,
}

impl Refusal {
    fn new(code: &str, message: String, message_zh: String, details: Value) -> Refusal {
        Refusal {
            code: code.into(),
            message,
            message_zh,
            details,
        }
    }
}

/// Where a command stands against what the hub has recorded for its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// Already recorded: return the stored outcome.
    Recorded,
    /// The next one: apply it.
    Next,
    /// After a gap: `expected` is the next the hub needs.
    Gap { expected: i64 },
}

/// The pure rule for a command's `seq` given the device's `recorded_through`.
pub fn seq_check(recorded_through: i64, seq: i64) -> SeqCheck {
    if seq <= recorded_through {
        SeqCheck::Recorded
    } else if seq == recorded_through + 1 {
        SeqCheck::Next
    } else {
        SeqCheck::Gap {
            expected: recorded_through + 1,
        }
    }
}

/// A lot status that refuses picks (and, but quarantine, releases).
pub fn blocks_pick(status: &str) -> bool {
    matches!(status, "recalled" | "on_hold" | "rejected" | "quarantine")
}

/// A status a receipt or a release never overrides.
pub fn is_blocked(status: &str) -> bool {
    matches!(status, "recalled" | "on_hold" | "rejected")
}

/// The lot's status after a receipt: a blocked status stays, otherwise the device's.
pub fn status_after_receipt(existing: Option<&str>, received: &str) -> String {
    match existing {
        Some(s) if is_blocked(s) => s.to_string(),
        _ => received.to_string(),
    }
}

/// The expiry after a receipt: the earlier of the two (a missing one gives way).
pub fn expiry_after_receipt(existing: Option<&str>, label: Option<&str>) -> Option<String> {
    match (existing, label) {
        (Some(a), Some(b)) => Some(if b < a { b } else { a }.to_string()),
        (a, b) => a.or(b).map(str::to_string),
    }
}

fn status_zh(s: &str) -> String {
    LotStatus::ALL
        .iter()
        .find(|x| x.as_str() == s)
        .map(|x| x.label_zh().to_string())
        .unwrap_or_else(|| s.to_string())
}

/// `HH:MM` of an RFC 3339 time, in the offset of `like` (the device's) when given.
fn hhmm(t: &str, like: Option<&str>) -> String {
    let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) else {
        return t.to_string();
    };
    let off = like
        .and_then(|l| chrono::DateTime::parse_from_rfc3339(l).ok())
        .map(|l| *l.offset())
        .unwrap_or(*dt.offset());
    dt.with_timezone(&off).format("%H:%M").to_string()
}

/// Counts of what an upload or an ingest did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchCounts {
    pub applied: usize,
    pub rejected: usize,
    pub already_recorded: usize,
    pub retry_later: usize,
}

/// Applies a batch of `device_id`'s commands in one transaction.
pub fn apply_batch(store: &Store, device_id: &str, cmds: &[CommandEnvelope]) -> Result<UploadResponse, HubError> {
    Ok(apply_counted(store, device_id, cmds)?.1)
}

pub(crate) fn apply_counted(
    store: &Store,
    device_id: &str,
    cmds: &[CommandEnvelope],
) -> Result<(BatchCounts, UploadResponse), HubError> {
    if let Some(c) = cmds.iter().find(|c| c.device_id != device_id) {
        return Err(HubError::BadRequest(format!(
            "command {} is from device {}, the batch from {device_id}",
            c.seq, c.device_id
        )));
    }
    let (stats, resp) = store.write(|tx| {
        let d = device(tx, device_id)?.ok_or_else(|| HubError::NotEnrolled(device_id.into()))?;
        apply_in(tx, &d, cmds)
    })?;
    store.inner.metrics.record_batch(&stats);
    Ok((stats.counts, resp))
}

/// What the metrics take from a batch: per outcome, and each applied command's lag.
pub(crate) struct BatchStats {
    pub counts: BatchCounts,
    pub lags: Vec<f64>,
}

fn apply_in(
    tx: &mut Tx<'_>,
    d: &DeviceRow,
    cmds: &[CommandEnvelope],
) -> Result<(BatchStats, UploadResponse), HubError> {
    let mut rt = d.recorded_through;
    let mut log = Log::new();
    let mut outcomes = Vec::with_capacity(cmds.len());
    let mut gap = None;
    let mut stop: Option<String> = None;
    let mut stats = BatchStats {
        counts: BatchCounts::default(),
        lags: Vec::new(),
    };
    let at = now();
    // Ids of this batch already recorded (under any device and seq), found in one query; ids
    // recorded by this batch join them as it goes.
    let mut known = recorded_ids(tx, cmds)?;
    let mut rows: Vec<(&CommandEnvelope, Option<Refusal>)> = Vec::new();
    for c in cmds {
        let outcome = if let Some(reason) = &stop {
            stats.counts.retry_later += 1;
            Outcome::RetryLater { reason: reason.clone() }
        } else {
            match seq_check(rt, c.seq) {
                SeqCheck::Recorded => {
                    stats.counts.already_recorded += 1;
                    // Recorded earlier in this very batch: not in the table yet.
                    match rows.iter().find(|(r, _)| r.seq == c.seq) {
                        Some((r, refusal)) if r.id == c.id => outcome_of(refusal.clone(), &at),
                        Some((r, _)) => seq_conflict(c, &r.id),
                        None => stored_outcome(tx, c)?,
                    }
                }
                SeqCheck::Gap { expected } => {
                    gap = Some(SeqGap {
                        expected,
                        received: c.seq,
                    });
                    let reason = format!("gap: the hub needs seq {expected} first");
                    stop = Some(reason.clone());
                    stats.counts.retry_later += 1;
                    Outcome::RetryLater { reason }
                }
                SeqCheck::Next if c.schema_version > HUB_SCHEMA => {
                    let reason = format!(
                        "command schema {} is newer than this hub's ({HUB_SCHEMA}): update the hub",
                        c.schema_version
                    );
                    stop = Some(reason.clone());
                    stats.counts.retry_later += 1;
                    Outcome::RetryLater { reason }
                }
                SeqCheck::Next => {
                    let refusal = match known.get(c.id.as_str()) {
                        Some((dev, seq)) => Some(Refusal::new(
                            "duplicate_id",
                            format!("command id {} was already recorded as seq {seq} of device {dev}", c.id),
                            format!("命令 ID {} 已记录为设备 {dev} 的第 {seq} 条", c.id),
                            json!({"id": c.id, "device_id": dev, "seq": seq}),
                        )),
                        None => effect(tx, &mut log, d, c)?.err(),
                    };
                    if refusal.is_none() {
                        known.insert(c.id.as_str(), (c.device_id.clone(), c.seq));
                    }
                    rows.push((c, refusal.clone()));
                    rt = c.seq;
                    if refusal.is_some() {
                        stats.counts.rejected += 1;
                    } else {
                        stats.counts.applied += 1;
                        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&c.created_at) {
                            let lag = chrono::Utc::now().signed_duration_since(t).num_milliseconds() as f64 / 1000.0;
                            stats.lags.push(lag.max(0.0));
                        }
                    }
                    outcome_of(refusal, &at)
                }
            }
        };
        outcomes.push(CommandOutcome {
            id: c.id.clone(),
            seq: c.seq,
            outcome,
        });
    }
    store_outcomes(tx, &rows, &at)?;
    log.finish(tx)?;
    tx.exec(
        "UPDATE devices SET recorded_through = $1, last_seen = $2 WHERE id = $3",
        &[Val::Int(rt), (&at).into(), (&d.id).into()],
    )?;
    Ok((
        stats,
        UploadResponse {
            outcomes,
            gap,
            recorded_through: rt,
            hub_time: at,
        },
    ))
}

fn stored_outcome(tx: &mut Tx<'_>, c: &CommandEnvelope) -> Result<Outcome, HubError> {
    let r = tx.one(
        "SELECT id, outcome, code, message, message_zh, details, recorded_at FROM commands
         WHERE device_id = $1 AND seq = $2",
        &[(&c.device_id).into(), Val::Int(c.seq)],
    )?;
    Ok(match r {
        Some(r) if r[0].text() == c.id => {
            if r[1].text() == "applied" {
                Outcome::Applied {
                    applied_at: r[6].text(),
                }
            } else {
                Outcome::Rejected {
                    code: r[2].text(),
                    message: r[3].text(),
                    message_zh: r[4].text(),
                    details: r[5]
                        .opt_text()
                        .and_then(|t| serde_json::from_str(&t).ok())
                        .unwrap_or(Value::Null),
                    rejected_at: r[6].text(),
                }
            }
        }
        other => seq_conflict(c, &other.map(|r| r[0].text()).unwrap_or_default()),
    })
}

fn seq_conflict(c: &CommandEnvelope, stored: &str) -> Outcome {
    Outcome::Rejected {
        code: "seq_conflict".into(),
        message: format!(
            "seq {} of this device was recorded as command {stored}, not {}",
            c.seq, c.id
        ),
        message_zh: format!("此设备的第 {} 条已记录为命令 {stored}，而不是 {}", c.seq, c.id),
        details: json!({"seq": c.seq, "stored_id": stored, "id": c.id}),
        rejected_at: now(),
    }
}

fn outcome_of(refusal: Option<Refusal>, at: &str) -> Outcome {
    match refusal {
        Some(r) => Outcome::Rejected {
            code: r.code,
            message: r.message,
            message_zh: r.message_zh,
            details: r.details,
            rejected_at: at.to_string(),
        },
        None => Outcome::Applied {
            applied_at: at.to_string(),
        },
    }
}

/// The ids of `cmds` recorded already (not as duplicates): id → (device, seq).
fn recorded_ids<'c>(
    tx: &mut Tx<'_>,
    cmds: &'c [CommandEnvelope],
) -> Result<std::collections::HashMap<&'c str, (String, i64)>, HubError> {
    let mut known = std::collections::HashMap::new();
    for chunk in cmds.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, device_id, seq FROM commands WHERE dup = 0 AND id IN ({})",
            marks.join(", ")
        );
        let params: Vec<Val> = chunk.iter().map(|c| (&c.id).into()).collect();
        for r in tx.query(&sql, &params)? {
            if let Some(c) = chunk.iter().find(|c| c.id == r[0].text()) {
                known.insert(c.id.as_str(), (r[1].text(), r[2].int()));
            }
        }
    }
    Ok(known)
}

/// Records the commands with their outcomes, several rows per statement.
fn store_outcomes(tx: &mut Tx<'_>, rows: &[(&CommandEnvelope, Option<Refusal>)], at: &str) -> Result<(), HubError> {
    const COLS: usize = 15;
    for chunk in rows.chunks(100) {
        let mut sql = String::from(
            "INSERT INTO commands(device_id, seq, id, dup, type, schema_version, created_at, operator, payload, outcome,
                                  code, message, message_zh, details, recorded_at) VALUES ",
        );
        let mut params = Vec::with_capacity(chunk.len() * COLS);
        for (i, (c, refusal)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let marks: Vec<String> = (1..=COLS).map(|k| format!("${}", i * COLS + k)).collect();
            sql.push_str(&format!("({})", marks.join(", ")));
            let refusal = refusal.as_ref();
            params.extend([
                (&c.device_id).into(),
                Val::Int(c.seq),
                (&c.id).into(),
                refusal.is_some_and(|r| r.code == "duplicate_id").into(),
                (&c.kind).into(),
                Val::Int(c.schema_version as i64),
                (&c.created_at).into(),
                (&c.operator).into(),
                c.payload.to_string().into(),
                (if refusal.is_some() { "rejected" } else { "applied" }).into(),
                refusal.map(|r| r.code.clone()).into(),
                refusal.map(|r| r.message.clone()).into(),
                refusal.map(|r| r.message_zh.clone()).into(),
                refusal.map(|r| r.details.to_string()).into(),
                at.into(),
            ]);
        }
        tx.exec(&sql, &params)?;
    }
    Ok(())
}

/// Goods moved, for the trace.
struct Move<'a> {
    kind: &'a str,
    item: &'a str,
    lot: &'a str,
    from: Option<&'a str>,
    to: Option<&'a str>,
    qty: i64,
    task: Option<&'a str>,
    customer: Option<&'a str>,
}

struct Ctx<'a> {
    d: &'a DeviceRow,
    c: &'a CommandEnvelope,
}

impl Ctx<'_> {
    fn movement(&self, tx: &mut Tx<'_>, m: Move<'_>) -> Result<(), HubError> {
        tx.exec(
            "INSERT INTO movements(at, device, site, operator, kind, item, lot, from_location, to_location, qty, task,
                                   customer, command_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                (&self.c.created_at).into(),
                (&self.d.id).into(),
                (&self.d.site).into(),
                (&self.c.operator).into(),
                m.kind.into(),
                m.item.into(),
                m.lot.into(),
                m.from.into(),
                m.to.into(),
                Val::Int(m.qty),
                m.task.into(),
                m.customer.into(),
                (&self.c.id).into(),
            ],
        )?;
        Ok(())
    }
}

fn bad_command(c: &CommandEnvelope, why: &str) -> Refusal {
    Refusal::new(
        "bad_command",
        format!("command {} (type '{}') cannot be read: {why}", c.seq, c.kind),
        format!("无法读取命令 {}（类型“{}”）：{why}", c.seq, c.kind),
        json!({"type": c.kind, "error": why}),
    )
}

struct LotState {
    status: String,
    changed_at: Option<String>,
    reason: Option<String>,
}

fn lot_state(tx: &mut Tx<'_>, item: &str, lot: &str) -> Result<Option<LotState>, HubError> {
    Ok(tx
        .one(
            "SELECT status, status_changed_at, status_reason FROM lots WHERE item = $1 AND lot = $2",
            &[item.into(), lot.into()],
        )?
        .map(|r| LotState {
            status: r[0].text(),
            changed_at: r[1].opt_text(),
            reason: r[2].opt_text(),
        }))
}

/// One change of a lot's status, for its history.
struct LotEvent<'a> {
    item: &'a str,
    lot: &'a str,
    from: Option<&'a str>,
    to: &'a str,
    at: &'a str,
    by: Option<&'a str>,
    reason: Option<&'a str>,
    command: Option<&'a str>,
}

fn lot_event(tx: &mut Tx<'_>, e: &LotEvent<'_>) -> Result<(), HubError> {
    tx.exec(
        "INSERT INTO lot_events(item, lot, from_status, status, at, by_whom, reason, command_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            e.item.into(),
            e.lot.into(),
            e.from.into(),
            e.to.into(),
            e.at.into(),
            e.by.into(),
            e.reason.into(),
            e.command.into(),
        ],
    )?;
    Ok(())
}

fn item_name(tx: &mut Tx<'_>, item: &str) -> Result<(String, String), HubError> {
    Ok(tx
        .one("SELECT name_en, name_zh FROM items WHERE id = $1", &[item.into()])?
        .map(|r| (r[0].text(), r[1].text()))
        .unwrap_or_else(|| (item.to_string(), item.to_string())))
}

/// The command's effect; `Err(refusal)` when the hub refuses it (nothing written then).
fn effect(tx: &mut Tx<'_>, log: &mut Log, d: &DeviceRow, c: &CommandEnvelope) -> Result<Result<(), Refusal>, HubError> {
    let cmd: Command = match serde_json::from_value(json!({"type": c.kind, "payload": c.payload})) {
        Ok(cmd) => cmd,
        Err(e) => return Ok(Err(bad_command(c, &e.to_string()))),
    };
    let x = Ctx { d, c };
    let op = c.operator.as_deref();
    match cmd {
        Command::Receive { task, lines, .. } => {
            for l in &lines {
                let old = tx.one(
                    "SELECT status, expiry FROM lots WHERE item = $1 AND lot = $2",
                    &[(&l.item).into(), (&l.lot).into()],
                )?;
                match old {
                    None => {
                        tx.exec(
                            "INSERT INTO lots(item, lot, expiry, status, status_changed_at, status_changed_by, status_reason)
                             VALUES ($1, $2, $3, $4, $5, $6, 'received')",
                            &[
                                (&l.item).into(),
                                (&l.lot).into(),
                                (&l.expiry).into(),
                                (&l.lot_status).into(),
                                (&c.created_at).into(),
                                op.into(),
                            ],
                        )?;
                        lot_event(
                            tx,
                            &LotEvent {
                                item: &l.item,
                                lot: &l.lot,
                                from: None,
                                to: &l.lot_status,
                                at: &c.created_at,
                                by: op,
                                reason: Some("received"),
                                command: Some(&c.id),
                            },
                        )?;
                    }
                    Some(r) => {
                        let was = r[0].text();
                        let status = status_after_receipt(Some(&was), &l.lot_status);
                        let expiry = expiry_after_receipt(r[1].opt_text().as_deref(), l.expiry.as_deref());
                        tx.exec(
                            "UPDATE lots SET status = $1, expiry = $2 WHERE item = $3 AND lot = $4",
                            &[(&status).into(), expiry.into(), (&l.item).into(), (&l.lot).into()],
                        )?;
                        if status != was {
                            tx.exec(
                                "UPDATE lots SET status_changed_at = $1, status_changed_by = $2, status_reason = 'received'
                                 WHERE item = $3 AND lot = $4",
                                &[(&c.created_at).into(), op.into(), (&l.item).into(), (&l.lot).into()],
                            )?;
                            lot_event(
                                tx,
                                &LotEvent {
                                    item: &l.item,
                                    lot: &l.lot,
                                    from: Some(&was),
                                    to: &status,
                                    at: &c.created_at,
                                    by: op,
                                    reason: Some("received"),
                                    command: Some(&c.id),
                                },
                            )?;
                        }
                    }
                }
                log.lot(tx, &l.item, &l.lot)?;
                add_stock(tx, log, &l.item, &l.lot, &l.location, l.qty as i64)?;
                x.movement(
                    tx,
                    Move {
                        kind: "receive",
                        item: &l.item,
                        lot: &l.lot,
                        from: None,
                        to: Some(&l.location),
                        qty: l.qty as i64,
                        task: task.as_deref(),
                        customer: None,
                    },
                )?;
            }
        }
        Command::Putaway {
            task,
            item,
            lot,
            qty,
            from,
            to,
        } => {
            add_stock(tx, log, &item, &lot, &from, -(qty as i64))?;
            add_stock(tx, log, &item, &lot, &to, qty as i64)?;
            x.movement(
                tx,
                Move {
                    kind: "putaway",
                    item: &item,
                    lot: &lot,
                    from: Some(&from),
                    to: Some(&to),
                    qty: qty as i64,
                    task: task.as_deref(),
                    customer: None,
                },
            )?;
        }
        Command::LotReleased {
            item,
            lot,
            authorised_by,
            ..
        } => {
            if let Some(s) = lot_state(tx, &item, &lot)? {
                if is_blocked(&s.status) {
                    let (en, zh) = item_name(tx, &item)?;
                    return Ok(Err(Refusal::new(
                        "lot_blocked",
                        format!(
                            "Lot {lot} of {en} is {} on the hub: its release is refused",
                            s.status.replace('_', " ")
                        ),
                        format!("{zh} 的批次 {lot} 在中心服务上为“{}”：拒绝放行", status_zh(&s.status)),
                        json!({"item": item, "lot": lot, "status": s.status, "status_changed_at": s.changed_at,
                               "status_reason": s.reason}),
                    )));
                }
                if s.status == "quarantine" {
                    tx.exec(
                        "UPDATE lots SET status = 'released', status_changed_at = $1, status_changed_by = $2,
                            status_reason = 'released after QC' WHERE item = $3 AND lot = $4",
                        &[
                            (&c.created_at).into(),
                            (&authorised_by).into(),
                            (&item).into(),
                            (&lot).into(),
                        ],
                    )?;
                    lot_event(
                        tx,
                        &LotEvent {
                            item: &item,
                            lot: &lot,
                            from: Some("quarantine"),
                            to: "released",
                            at: &c.created_at,
                            by: Some(&authorised_by),
                            reason: Some("released after QC"),
                            command: Some(&c.id),
                        },
                    )?;
                    log.lot(tx, &item, &lot)?;
                }
            }
        }
        Command::Pick {
            task,
            line,
            item,
            lot,
            location,
            qty,
            serials,
            customer,
            ..
        } => {
            if let Some(s) = lot_state(tx, &item, &lot)?
                && blocks_pick(&s.status)
            {
                let (en, zh) = item_name(tx, &item)?;
                let when = s.changed_at.as_deref().map(|t| hhmm(t, Some(&c.created_at)));
                let picked = hhmm(&c.created_at, None);
                let why = s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                let why_zh = s.reason.as_deref().map(|r| format!("（{r}）")).unwrap_or_default();
                let at_en = when.as_deref().map(|w| format!(" at {w}")).unwrap_or_default();
                let at_zh = when.as_deref().map(|w| format!("于 {w} ")).unwrap_or_default();
                let status_en = match s.status.as_str() {
                    "recalled" => "was recalled".to_string(),
                    "on_hold" => "was put on hold".to_string(),
                    "rejected" => "was rejected".to_string(),
                    _ => "is in quarantine".to_string(),
                };
                return Ok(Err(Refusal::new(
                    "lot_blocked",
                    format!(
                        "Lot {lot} of {en} {status_en}{at_en}{why}; the pick of {qty} at {picked} is refused: return the goods to quarantine"
                    ),
                    format!(
                        "{zh} 的批次 {lot} {at_zh}已被标记为“{}”{why_zh}；{picked} 拣货 {qty} 件被拒绝：请将货物退回隔离区",
                        status_zh(&s.status)
                    ),
                    json!({"item": item, "lot": lot, "status": s.status, "status_changed_at": s.changed_at,
                           "status_reason": s.reason, "qty": qty, "location": location, "task": task,
                           "line": line, "serials": serials, "picked_at": c.created_at}),
                )));
            }
            add_stock(tx, log, &item, &lot, &location, -(qty as i64))?;
            for s in &serials {
                let n = tx.exec(
                    "UPDATE serials SET status = 'picked' WHERE item = $1 AND serial = $2",
                    &[(&item).into(), s.into()],
                )?;
                if n == 0 {
                    tx.exec(
                        "INSERT INTO serials(item, serial, lot, status) VALUES ($1, $2, $3, 'picked')",
                        &[(&item).into(), s.into(), (&lot).into()],
                    )?;
                }
                log.serial(tx, &item, s)?;
            }
            let n = tx.exec(
                "UPDATE task_lines SET qty_done = qty_done + $1 WHERE task = $2 AND line = $3",
                &[Val::Int(qty as i64), (&task).into(), Val::Int(line as i64)],
            )?;
            if n > 0 {
                log.task(tx, &task)?;
            }
            let task_customer = tx
                .one("SELECT customer FROM tasks WHERE id = $1", &[(&task).into()])?
                .and_then(|r| r[0].opt_text());
            let cust = task_customer.or(customer);
            x.movement(
                tx,
                Move {
                    kind: "pick",
                    item: &item,
                    lot: &lot,
                    from: Some(&location),
                    to: None,
                    qty: qty as i64,
                    task: Some(&task),
                    customer: cust.as_deref(),
                },
            )?;
        }
        Command::PickShort {
            task,
            line,
            qty_short,
            reason,
            ..
        } => {
            let n = tx.exec(
                "UPDATE task_lines SET qty_short = $1, short_reason = $2 WHERE task = $3 AND line = $4",
                &[
                    Val::Int(qty_short as i64),
                    (&reason).into(),
                    (&task).into(),
                    Val::Int(line as i64),
                ],
            )?;
            if n > 0 {
                log.task(tx, &task)?;
            }
        }
        Command::SecondCheck {
            task, line, checker, ..
        } => {
            let n = tx.exec(
                "UPDATE task_lines SET checked_by = $1, checked_at = $2 WHERE task = $3 AND line = $4",
                &[
                    (&checker).into(),
                    (&c.created_at).into(),
                    (&task).into(),
                    Val::Int(line as i64),
                ],
            )?;
            if n > 0 {
                log.task(tx, &task)?;
            }
        }
        Command::TaskRaised {
            task,
            kind,
            source,
            locations,
        } => {
            let n = tx.exec(
                "INSERT INTO tasks(id, kind, status, created_at, tolerance_pct, blind, source, site, device)
                 VALUES ($1, $2, 'open', $3, 0, 0, $4, $5, $6) ON CONFLICT(id) DO NOTHING",
                &[
                    (&task).into(),
                    (&kind).into(),
                    (&c.created_at).into(),
                    (&source).into(),
                    (&d.site).into(),
                    (&d.id).into(),
                ],
            )?;
            if n > 0 {
                for l in &locations {
                    tx.exec(
                        "INSERT INTO task_locations(task, location) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[(&task).into(), l.into()],
                    )?;
                }
                log.task(tx, &task)?;
            }
        }
        Command::TaskStarted { task: Some(task), .. } => {
            let n = tx.exec(
                "UPDATE tasks SET status = 'in_progress' WHERE id = $1 AND status = 'open'",
                &[(&task).into()],
            )?;
            if n > 0 {
                log.task(tx, &task)?;
            }
        }
        Command::TaskFinished { task: Some(task), .. } | Command::PickFinished { task, .. } => {
            finish_task(tx, log, &task)?;
        }
        Command::CountResult { task, variances, .. } => {
            for v in &variances {
                if v.variance != 0 {
                    add_stock(tx, log, &v.item, &v.lot, &v.location, v.variance)?;
                    x.movement(
                        tx,
                        Move {
                            kind: "count",
                            item: &v.item,
                            lot: &v.lot,
                            from: None,
                            to: Some(&v.location),
                            qty: v.variance,
                            task: Some(&task),
                            customer: None,
                        },
                    )?;
                }
            }
            finish_task(tx, log, &task)?;
        }
        // Recorded (for export and audit) with no effect on server-owned data.
        _ => {}
    }
    Ok(Ok(()))
}

fn finish_task(tx: &mut Tx<'_>, log: &mut Log, task: &str) -> Result<(), HubError> {
    let n = tx.exec(
        "UPDATE tasks SET status = 'done' WHERE id = $1 AND status <> 'done'",
        &[task.into()],
    )?;
    if n > 0 {
        log.task(tx, task)?;
    }
    Ok(())
}

/// What `ingest` did with an outbox file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IngestSummary {
    pub device_id: String,
    pub applied: usize,
    pub rejected: usize,
    pub already_recorded: usize,
    pub retry_later: usize,
    pub gap: Option<SeqGap>,
}

/// Applies an outbox file carried from a device (same rules as an upload), in batches of
/// [`MAX_BATCH_COMMANDS`].
pub fn ingest_file(store: &Store, file: &OutboxFile) -> Result<IngestSummary, HubError> {
    file.check().map_err(HubError::Outbox)?;
    if store.read(|tx| device(tx, &file.device_id))?.is_none() {
        return Err(HubError::NotEnrolled(file.device_id.clone()));
    }
    let mut sum = IngestSummary {
        device_id: file.device_id.clone(),
        applied: 0,
        rejected: 0,
        already_recorded: 0,
        retry_later: 0,
        gap: None,
    };
    let mut done = 0;
    for chunk in file.commands.chunks(MAX_BATCH_COMMANDS) {
        let (counts, r) = apply_counted(store, &file.device_id, chunk)?;
        done += chunk.len();
        sum.applied += counts.applied;
        sum.rejected += counts.rejected;
        sum.already_recorded += counts.already_recorded;
        sum.retry_later += counts.retry_later;
        if r.gap.is_some() || counts.retry_later > 0 {
            // The rest of the file waits (for the missing commands, or a newer hub).
            sum.gap = r.gap;
            sum.retry_later += file.commands.len() - done;
            break;
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_rules() {
        let cases = [
            (0, 1, SeqCheck::Next),
            (0, 2, SeqCheck::Gap { expected: 1 }),
            (5, 5, SeqCheck::Recorded),
            (5, 1, SeqCheck::Recorded),
            (5, 6, SeqCheck::Next),
            (5, 9, SeqCheck::Gap { expected: 6 }),
        ];
        for (rt, seq, want) in cases {
            assert_eq!(seq_check(rt, seq), want, "recorded_through {rt}, seq {seq}");
        }
    }

    #[test]
    fn receipt_rules() {
        let status = [
            (None, "quarantine", "quarantine"),
            (Some("released"), "quarantine", "quarantine"),
            (Some("quarantine"), "released", "released"),
            (Some("recalled"), "released", "recalled"),
            (Some("on_hold"), "released", "on_hold"),
            (Some("rejected"), "quarantine", "rejected"),
        ];
        for (old, received, want) in status {
            assert_eq!(status_after_receipt(old, received), want, "{old:?} + {received}");
        }
        let expiry = [
            (None, None, None),
            (None, Some("2027-01-31"), Some("2027-01-31")),
            (Some("2027-01-31"), None, Some("2027-01-31")),
            (Some("2027-03-31"), Some("2027-01-31"), Some("2027-01-31")),
            (Some("2027-01-31"), Some("2027-03-31"), Some("2027-01-31")),
        ];
        for (old, label, want) in expiry {
            assert_eq!(expiry_after_receipt(old, label).as_deref(), want, "{old:?} + {label:?}");
        }
    }

    #[test]
    fn pick_gate() {
        for (s, blocked) in [
            ("released", false),
            ("quarantine", true),
            ("on_hold", true),
            ("recalled", true),
            ("rejected", true),
        ] {
            assert_eq!(blocks_pick(s), blocked, "{s}");
        }
        assert!(!is_blocked("quarantine"));
    }

    #[test]
    fn times_show_in_the_devices_offset() {
        assert_eq!(
            hhmm("2026-12-01T02:40:00.000Z", Some("2026-12-01T10:42:00+08:00")),
            "10:40"
        );
        assert_eq!(hhmm("2026-12-01T10:42:00+08:00", None), "10:42");
    }
}
