//! What sync with lotline-hub keeps in the cache: the hub's address and this device's token and
//! site (from enrolment), the upload batches and the outcomes the hub gave (a rejected command
//! reversed and an exception opened, in the same transaction), each bucket's checkpoint,
//! generation and checksum, and the change pages applied one transaction each.
//!
//! The rule that keeps local work from being overwritten: a page is applied only when every
//! command of this device with a `seq` after the page's `device_recorded_through` has been sent
//! and answered; otherwise the page waits until after the next upload (ARCHITECTURE.md).

use chrono::{DateTime, FixedOffset};
use lotline_protocol::CommandEnvelope;
use lotline_protocol::rows;
use lotline_protocol::sync::{ChangeOp, ChangePage, EnrollResponse, Outcome, UploadResponse, fold_checksum};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Deserialize;

use super::gates::{AUDIT_HEAD_KEY, DEVICE_ID_KEY};
use super::{Store, StoreError, classify};
use crate::domain::audit::{AuditEntry, GENESIS, Head};
use crate::domain::sync::{self as dsync, OutboxState, Rejection, Undo};
use crate::domain::text::{Bilingual, Text};

pub const HUB_URL_KEY: &str = "hub_url";
pub const HUB_TOKEN_KEY: &str = "hub_token";
pub const HUB_SITE_KEY: &str = "hub_site";
pub const HUB_CA_KEY: &str = "hub_ca";
pub const HUB_PLAIN_HTTP_KEY: &str = "hub_allow_plain_http";
pub const LAST_SYNC_KEY: &str = "last_sync";
/// Commands up to this local `seq` were made before the current enrolment and are final: the
/// envelope's `seq` for the hub is the local one minus this base, so it starts at 1 for every
/// enrolment.
pub const SEQ_BASE_KEY: &str = "hub_seq_base";

/// The `settings` key present while a first download runs without the secondary indexes a bulk
/// load builds once at its end (`lots_fefo`, `stock_location`, `serials_lot`: see
/// `store::import`); its value is the SQL that makes them again. Dropping them, writing this key,
/// making them again and removing it each happen in one transaction, so the cache is never
/// without both; a cache opened with the key present gets its indexes back then.
pub const DEFERRED_INDEXES_KEY: &str = "sync_deferred_indexes";

/// A first download of more changes than this (more than one page) into a cache with no lots
/// builds the deferred indexes once at its end instead of row by row.
pub const DEFER_INDEXES_ABOVE: i64 = lotline_protocol::sync::MAX_PAGE_CHANGES as i64;

/// How this device reaches its hub, from enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    pub url: String,
    pub token: String,
    pub site: String,
    pub device_id: String,
    pub ca: Option<String>,
    pub allow_plain_http: bool,
}

/// A batch to upload: local seqs with the envelopes the hub receives.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub local_seqs: Vec<i64>,
    pub commands: Vec<CommandEnvelope>,
}

/// What the outcomes of one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recorded {
    pub applied: usize,
    pub rejected: usize,
    pub retry: usize,
}

/// A bucket as the device has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BucketState {
    pub generation: i64,
    pub checkpoint: i64,
    pub checksum: u32,
}

/// What became of a change page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageApplied {
    /// Applied: this many changes, the bucket now at the page's checkpoint.
    Applied(usize),
    /// Not applied: commands of this device after the page's `device_recorded_through` are still
    /// unsent; try after the next upload.
    Deferred,
    /// Not applied: the checksum does not match; the bucket was reset to fetch from 0.
    ChecksumMismatch { expected: u32, found: u32 },
}

/// An open (or acknowledged) sync exception.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExceptionRow {
    pub id: i64,
    pub command_id: String,
    pub code: String,
    pub message_en: String,
    pub message_zh: String,
    pub created_at: String,
    pub acknowledged_by: Option<String>,
}

/// Enrolment refused.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error(
        "{unsent} command(s) have not reached the hub this device is enrolled with ({hub}); sync them (`lotline sync --once`) or export them (`lotline outbox export`) and take them to that hub before enrolling with {new}"
    )]
    UnsentToOtherHub { hub: String, new: String, unsent: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Bilingual for EnrollError {
    fn message_zh(&self) -> String {
        match self {
            EnrollError::UnsentToOtherHub { hub, new, unsent } => format!(
                "{unsent} 条指令尚未送达本设备已注册的中心服务器（{hub}）；请先同步（`lotline sync --once`）或导出（`lotline outbox export`）并交给该服务器，再注册到 {new}"
            ),
            EnrollError::Store(e) => e.message_zh(),
        }
    }
}

fn now_s(now: DateTime<FixedOffset>) -> String {
    crate::domain::workflow::rfc3339(now)
}

fn set(tx: &Transaction<'_>, key: &str, value: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Appends one entry to the audit chain inside `tx` (the head moves in the same transaction).
fn append_audit(tx: &Transaction<'_>, mut entry: AuditEntry) -> rusqlite::Result<()> {
    let head = tx
        .query_row("SELECT value FROM settings WHERE key = ?1", [AUDIT_HEAD_KEY], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|s| Head::from_setting(&s))
        .unwrap_or(Head {
            counter: 0,
            hash: GENESIS.to_owned(),
        });
    entry.counter = head.counter + 1;
    let hash = super::gates::insert_audit_row(tx, &entry, &head.hash)?;
    set(
        tx,
        AUDIT_HEAD_KEY,
        &Head {
            counter: entry.counter,
            hash,
        }
        .to_setting(),
    )
}

impl Store {
    /// The hub this device is enrolled with, if any.
    pub fn sync_config(&self) -> Result<Option<SyncConfig>, StoreError> {
        let (Some(url), Some(token)) = (self.setting(HUB_URL_KEY)?, self.setting(HUB_TOKEN_KEY)?) else {
            return Ok(None);
        };
        Ok(Some(SyncConfig {
            url,
            token,
            site: self.setting(HUB_SITE_KEY)?.unwrap_or_default(),
            device_id: self.device_id()?,
            ca: self.setting(HUB_CA_KEY)?,
            allow_plain_http: self.setting(HUB_PLAIN_HTTP_KEY)?.as_deref() == Some("1"),
        }))
    }

    /// Changes the hub's URL (an embedded hub restarted on another port); nothing else.
    pub fn set_hub_url(&mut self, url: &str) -> Result<(), StoreError> {
        let path = self.path().to_owned();
        let tx = self.begin_write()?;
        set(&tx, HUB_URL_KEY, url).map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))
    }

    /// Commands not yet answered by the hub (pending or in flight).
    pub fn unsent(&self) -> Result<i64, StoreError> {
        self.outbox_pending()
    }

    /// When the oldest command still waiting for the hub was made (RFC 3339), if any.
    pub fn oldest_unsent(&self) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT created_at FROM outbox WHERE state IN ('pending', 'in_flight') ORDER BY seq LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records an enrolment, in one transaction: the hub's URL, token, site and the device id it
    /// gave; commands not yet sent are rewritten to the new id (they never left the device), and
    /// the seq base moves past the commands already final so the hub sees seq 1 first.
    /// Enrolling with another hub while commands are unsent to the current one is refused.
    pub fn enroll(
        &mut self,
        server: &str,
        resp: &EnrollResponse,
        ca: Option<&str>,
        allow_plain_http: bool,
    ) -> Result<(), EnrollError> {
        let unsent = self.outbox_pending()?;
        if let Some(hub) = self.setting(HUB_URL_KEY)?
            && unsent > 0
            && hub.trim_end_matches('/') != server.trim_end_matches('/')
            && self.setting(HUB_TOKEN_KEY)?.is_some()
        {
            return Err(EnrollError::UnsentToOtherHub {
                hub,
                new: server.to_owned(),
                unsent,
            });
        }
        let path = self.path().to_owned();
        let c = |e| classify(&path, e);
        let tx = self.begin_write()?;
        let base: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM outbox WHERE state IN ('applied', 'rejected')
                   AND seq < COALESCE((SELECT MIN(seq) FROM outbox WHERE state IN ('pending', 'in_flight')), 9223372036854775807)",
                [],
                |r| r.get(0),
            )
            .map_err(c)?;
        tx.execute(
            "UPDATE outbox SET device_id = ?1 WHERE state IN ('pending', 'in_flight')",
            [&resp.device_id],
        )
        .map_err(c)?;
        set(&tx, DEVICE_ID_KEY, &resp.device_id).map_err(c)?;
        set(&tx, HUB_URL_KEY, server.trim_end_matches('/')).map_err(c)?;
        set(&tx, HUB_TOKEN_KEY, &resp.token).map_err(c)?;
        set(&tx, HUB_SITE_KEY, &resp.site).map_err(c)?;
        set(&tx, SEQ_BASE_KEY, &base.to_string()).map_err(c)?;
        set(&tx, HUB_PLAIN_HTTP_KEY, if allow_plain_http { "1" } else { "0" }).map_err(c)?;
        match ca {
            Some(ca) => set(&tx, HUB_CA_KEY, ca).map_err(c)?,
            None => {
                tx.execute("DELETE FROM settings WHERE key = ?1", [HUB_CA_KEY])
                    .map_err(c)?;
            }
        }
        // A new identity starts every bucket again.
        tx.execute("DELETE FROM sync_buckets", []).map_err(c)?;
        tx.commit().map_err(c)?;
        Ok(())
    }

    /// The local seq that the hub's seq 1 is (minus one).
    pub fn seq_base(&self) -> Result<i64, StoreError> {
        Ok(self.setting(SEQ_BASE_KEY)?.and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// The next upload batch: commands not final (or, with `from_hub_seq`, every command from
    /// that hub seq on: the hub asked for earlier ones), in seq order, within the protocol's
    /// limits; marked in flight.
    pub fn next_batch(&mut self, from_hub_seq: Option<i64>) -> Result<Batch, StoreError> {
        use lotline_protocol::sync::{MAX_BATCH_BYTES, MAX_BATCH_COMMANDS};
        let base = self.seq_base()?;
        let rows: Vec<(i64, CommandEnvelope)> = {
            let sql = match from_hub_seq {
                Some(_) => {
                    "SELECT seq, command_id, COALESCE(device_id, ''), kind, schema_version, created_at, operator, payload
                     FROM outbox WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
                }
                None => {
                    "SELECT seq, command_id, COALESCE(device_id, ''), kind, schema_version, created_at, operator, payload
                     FROM outbox WHERE state IN ('pending', 'in_flight') AND seq >= ?1 ORDER BY seq LIMIT ?2"
                }
            };
            let from = from_hub_seq.map(|s| s + base).unwrap_or(base + 1);
            let mut st = self.conn().prepare_cached(sql).map_err(|e| self.err(e))?;
            st.query_map(params![from, MAX_BATCH_COMMANDS as i64], |r| {
                let seq: i64 = r.get(0)?;
                let payload: String = r.get(7)?;
                Ok((
                    seq,
                    CommandEnvelope {
                        id: r.get(1)?,
                        device_id: r.get(2)?,
                        seq: seq - base,
                        kind: r.get(3)?,
                        schema_version: r.get::<_, i64>(4)?.clamp(0, i64::from(u32::MAX)) as u32,
                        created_at: r.get(5)?,
                        operator: r.get(6)?,
                        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
                    },
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?
        };
        let sizes: Vec<usize> = rows
            .iter()
            .map(|(_, c)| serde_json::to_vec(c).map(|v| v.len()).unwrap_or(usize::MAX / 2))
            .collect();
        let n = dsync::batch_len(&sizes, MAX_BATCH_COMMANDS, MAX_BATCH_BYTES);
        let rows: Vec<_> = rows.into_iter().take(n).collect();
        if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
            let path = self.path().to_owned();
            let tx = self.begin_write()?;
            tx.execute(
                "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1
                 WHERE seq BETWEEN ?1 AND ?2 AND state IN ('pending', 'in_flight')",
                params![first.0, last.0],
            )
            .map_err(|e| classify(&path, e))?;
            tx.commit().map_err(|e| classify(&path, e))?;
        }
        let (local_seqs, commands) = rows.into_iter().unzip();
        Ok(Batch { local_seqs, commands })
    }

    /// A batch that did not get an answer goes back to pending.
    pub fn batch_failed(&mut self, batch: &Batch, error: &str) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (batch.local_seqs.first(), batch.local_seqs.last()) else {
            return Ok(());
        };
        let path = self.path().to_owned();
        let tx = self.begin_write()?;
        tx.execute(
            "UPDATE outbox SET state = 'pending', last_error = ?3 WHERE seq BETWEEN ?1 AND ?2 AND state = 'in_flight'",
            params![first, last, error],
        )
        .map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))
    }

    /// Records the hub's answer to `batch` in one transaction: applied and rejected are final
    /// (a rejected command is reversed, an exception opened and an audit entry written, all in
    /// this transaction); everything else goes back to pending.
    pub fn record_outcomes(
        &mut self,
        batch: &Batch,
        resp: &UploadResponse,
        now: DateTime<FixedOffset>,
    ) -> Result<Recorded, StoreError> {
        let sent: Vec<(i64, &str)> = batch.commands.iter().map(|c| (c.seq, c.id.as_str())).collect();
        let settled = dsync::settle(&sent, resp);
        let path = self.path().to_owned();
        let c = |e| classify(&path, e);
        let device_id = self.device_id()?;
        let at = now_s(now);
        let tx = self.begin_write()?;
        let mut rec = Recorded::default();
        for (s, (local_seq, cmd)) in settled.iter().zip(batch.local_seqs.iter().zip(&batch.commands)) {
            let state: String = tx
                .query_row("SELECT state FROM outbox WHERE seq = ?1", [local_seq], |r| r.get(0))
                .map_err(c)?;
            let before = OutboxState::parse(&state).unwrap_or(OutboxState::Pending);
            if before.is_final() {
                // A replay of a final command: the answer is the same; nothing changes.
                continue;
            }
            match (s.state, s.outcome) {
                (OutboxState::Applied, Some(Outcome::Applied { applied_at })) => {
                    tx.execute(
                        "UPDATE outbox SET state = 'applied', acked_at = ?2, outcome_at = ?2, outcome_code = NULL,
                            last_error = NULL WHERE seq = ?1",
                        params![local_seq, if applied_at.is_empty() { &at } else { applied_at }],
                    )
                    .map_err(c)?;
                    rec.applied += 1;
                }
                (
                    OutboxState::Rejected,
                    Some(Outcome::Rejected {
                        code,
                        message,
                        message_zh,
                        details,
                        rejected_at,
                    }),
                ) => {
                    let when = if rejected_at.is_empty() {
                        at.clone()
                    } else {
                        rejected_at.clone()
                    };
                    tx.execute(
                        "UPDATE outbox SET state = 'rejected', outcome_code = ?2, outcome_message = ?3,
                            outcome_message_zh = ?4, outcome_at = ?5, last_error = NULL WHERE seq = ?1",
                        params![local_seq, code, message, message_zh, when],
                    )
                    .map_err(c)?;
                    let comp = dsync::compensate(
                        &cmd.kind,
                        &cmd.payload,
                        &cmd.created_at,
                        &Rejection {
                            code,
                            message,
                            message_zh,
                            details,
                        },
                    );
                    for u in &comp.undo {
                        undo(&tx, u, &cmd.id, cmd.operator.as_deref(), &at).map_err(c)?;
                    }
                    let undo_json: Vec<String> = comp.undo.iter().map(|u| format!("{u:?}")).collect();
                    tx.execute(
                        "INSERT OR IGNORE INTO exceptions(command_id, code, message_en, message_zh, details, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            cmd.id,
                            code,
                            comp.text.en,
                            comp.text.zh,
                            serde_json::json!({"details": details, "undo": undo_json, "hub_message": message}).to_string(),
                            at
                        ],
                    )
                    .map_err(c)?;
                    append_audit(
                        &tx,
                        AuditEntry {
                            counter: 0,
                            at: at.clone(),
                            device_id: device_id.clone(),
                            operator: cmd.operator.clone(),
                            authorised_by: None,
                            action: "sync_rejected".into(),
                            command_id: Some(cmd.id.clone()),
                            gate: None,
                            task_id: cmd.payload.get("task").and_then(|v| v.as_str()).map(str::to_owned),
                            item_id: cmd.payload.get("item").and_then(|v| v.as_str()).map(str::to_owned),
                            lot: cmd.payload.get("lot").and_then(|v| v.as_str()).map(str::to_owned),
                            location: cmd.payload.get("location").and_then(|v| v.as_str()).map(str::to_owned),
                            scan: None,
                            verdict: None,
                            reasons: "[]".into(),
                            reason: Some(code.clone()),
                            before: None,
                            after: Some(serde_json::json!({"undo": undo_json}).to_string()),
                        },
                    )
                    .map_err(c)?;
                    rec.rejected += 1;
                }
                _ => {
                    let why = match s.outcome {
                        Some(Outcome::RetryLater { reason }) => reason.clone(),
                        _ => "no final outcome".into(),
                    };
                    tx.execute(
                        "UPDATE outbox SET state = 'pending', last_error = ?2 WHERE seq = ?1",
                        params![local_seq, why],
                    )
                    .map_err(c)?;
                    rec.retry += 1;
                }
            }
        }
        tx.commit().map_err(c)?;
        Ok(rec)
    }

    /// A bucket as the device has it (all zero for one never fetched).
    pub fn bucket(&self, name: &str) -> Result<BucketState, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT generation, checkpoint, checksum FROM sync_buckets WHERE name = ?1",
                [name],
                |r| {
                    Ok(BucketState {
                        generation: r.get(0)?,
                        checkpoint: r.get(1)?,
                        checksum: r.get::<_, i64>(2)? as u32,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))?
            .unwrap_or_default())
    }

    /// Starts a bucket again from 0 at `generation`. The outbox is not touched.
    pub fn reset_bucket(&mut self, name: &str, generation: i64) -> Result<(), StoreError> {
        let path = self.path().to_owned();
        let tx = self.begin_write()?;
        tx.execute(
            "INSERT INTO sync_buckets(name, generation, checkpoint, checksum) VALUES (?1, ?2, 0, 0)
             ON CONFLICT(name) DO UPDATE SET generation = excluded.generation, checkpoint = 0, checksum = 0",
            params![name, generation],
        )
        .map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))
    }

    /// Whether a page read when the hub had this device's commands through `recorded_through`
    /// may be applied: no command after it is still unsent.
    pub fn may_apply(&self, recorded_through: i64) -> Result<bool, StoreError> {
        let base = self.seq_base()?;
        let waiting: i64 = self
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE state IN ('pending', 'in_flight') AND seq > ?1 LIMIT 1)",
                [recorded_through + base],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(waiting == 0)
    }

    /// Applies a change page in one transaction: every change (upserts; tombstones delete), then
    /// the bucket's checkpoint, checksum and generation. Deferred when commands after the page's
    /// `device_recorded_through` are unsent; on a checksum mismatch nothing is applied and the
    /// bucket is reset to fetch from 0. The caller resets the bucket when the page's generation
    /// differs from the stored one.
    pub fn apply_page(&mut self, page: &ChangePage) -> Result<PageApplied, StoreError> {
        self.apply_summed_page(page, fold_checksum(0, &page.changes))
    }

    /// [`Store::apply_page`] with the wrapping sum of the page's change checksums already made
    /// (`fold_checksum(0, &page.changes)`, by the thread that fetched it).
    pub fn apply_summed_page(&mut self, page: &ChangePage, sum: u32) -> Result<PageApplied, StoreError> {
        if !self.may_apply(page.device_recorded_through)? {
            return Ok(PageApplied::Deferred);
        }
        let state = self.bucket(&page.bucket)?;
        let found = state.checksum.wrapping_add(sum);
        if found != page.checksum {
            self.reset_bucket(&page.bucket, page.generation)?;
            return Ok(PageApplied::ChecksumMismatch {
                expected: page.checksum,
                found,
            });
        }
        // A page needs no fsync of its own: its changes and the bucket's checkpoint commit
        // together, so a page lost to a power cut is simply fetched again, and the next commit
        // with `synchronous = FULL` (any local action's) makes it durable. WAL keeps the file
        // consistent either way.
        self.conn()
            .execute_batch("PRAGMA synchronous = NORMAL")
            .map_err(|e| self.err(e))?;
        let res = self.apply_changes(page);
        let restored = self
            .conn()
            .execute_batch("PRAGMA synchronous = FULL")
            .map_err(|e| self.err(e));
        let applied = res?;
        restored?;
        Ok(applied)
    }

    fn apply_changes(&mut self, page: &ChangePage) -> Result<PageApplied, StoreError> {
        let path = self.path().to_owned();
        let c = |e| classify(&path, e);
        let tx = self.begin_write()?;
        tx.execute_batch("PRAGMA defer_foreign_keys = ON").map_err(c)?;
        for ch in &page.changes {
            apply_change(&tx, ch).map_err(|e| match e {
                PageError::Sql(e) => c(e),
                PageError::Data(m) => StoreError::Data(format!("bucket {}, change {}: {m}", page.bucket, ch.seq)),
            })?;
        }
        tx.execute(
            "INSERT INTO sync_buckets(name, generation, checkpoint, checksum) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET generation = excluded.generation, checkpoint = excluded.checkpoint,
                checksum = excluded.checksum",
            params![page.bucket, page.generation, page.checkpoint, i64::from(page.checksum)],
        )
        .map_err(c)?;
        tx.commit().map_err(c)?;
        Ok(PageApplied::Applied(page.changes.len()))
    }

    /// Before a download of `fresh_changes` changes: when it is a first download (no lot in the
    /// cache) larger than [`DEFER_INDEXES_ABOVE`], drops the secondary indexes that a bulk load
    /// builds faster once at its end (at a million lots, keeping `lots_fefo` up row by row
    /// rewrites most of its pages at every page's commit). True when they are deferred now,
    /// by this call or an earlier one whose download did not finish.
    pub fn defer_indexes_for_download(&mut self, fresh_changes: i64) -> Result<bool, StoreError> {
        if self.setting(DEFERRED_INDEXES_KEY)?.is_some() {
            return Ok(true);
        }
        if fresh_changes <= DEFER_INDEXES_ABOVE {
            return Ok(false);
        }
        let path = self.path().to_owned();
        let c = |e| classify(&path, e);
        let tx = self.begin_write()?;
        if !super::import::no_lots_yet(&tx).map_err(c)? {
            return Ok(false);
        }
        let sql = super::import::drop_deferred_indexes(&tx).map_err(c)?;
        if sql.is_empty() {
            return Ok(false);
        }
        set(&tx, DEFERRED_INDEXES_KEY, &sql.join(";\n")).map_err(c)?;
        tx.commit().map_err(c)?;
        // A larger page cache while the lots come in, as `lotline import` has (still bounded),
        // and rarer WAL checkpoints.
        let _ = self.conn().execute_batch(super::BULK_DOWNLOAD);
        Ok(true)
    }

    /// Makes the indexes [`Store::defer_indexes_for_download`] dropped again, in one transaction
    /// (at the end of the download, or when a cache is opened after one was cut short). True when
    /// there were any.
    pub fn restore_deferred_indexes(&mut self) -> Result<bool, StoreError> {
        if self.setting(DEFERRED_INDEXES_KEY)?.is_none() {
            return Ok(false);
        }
        let path = self.path().to_owned();
        let c = |e| classify(&path, e);
        let tx = self.begin_write()?;
        // Read again inside the write transaction: another connection may have just done it.
        let sql: Option<String> = tx
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [DEFERRED_INDEXES_KEY],
                |r| r.get(0),
            )
            .optional()
            .map_err(c)?;
        let Some(sql) = sql else { return Ok(false) };
        tx.execute_batch(&sql).map_err(c)?;
        tx.execute("DELETE FROM settings WHERE key = ?1", [DEFERRED_INDEXES_KEY])
            .map_err(c)?;
        tx.commit().map_err(c)?;
        let _ = self.conn().execute_batch(super::AFTER_BULK_DOWNLOAD);
        // The WAL grew while the download ran: give the disk back (it answers with a row).
        let _ = self.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(true)
    }

    /// Stamps the last successful sync.
    pub fn set_last_sync(&mut self, now: DateTime<FixedOffset>) -> Result<(), StoreError> {
        let path = self.path().to_owned();
        let tx = self.begin_write()?;
        set(&tx, LAST_SYNC_KEY, &now_s(now)).map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))
    }

    /// Exceptions, open ones only unless `all`, oldest first.
    pub fn exceptions(&self, all: bool) -> Result<Vec<ExceptionRow>, StoreError> {
        let mut st = self
            .conn()
            .prepare_cached(
                "SELECT id, command_id, code, message_en, message_zh, created_at, acknowledged_by FROM exceptions
                 WHERE ?1 OR acknowledged_at IS NULL ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        st.query_map([all], |r| {
            Ok(ExceptionRow {
                id: r.get(0)?,
                command_id: r.get(1)?,
                code: r.get(2)?,
                message_en: r.get(3)?,
                message_zh: r.get(4)?,
                created_at: r.get(5)?,
                acknowledged_by: r.get(6)?,
            })
        })
        .map_err(|e| self.err(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| self.err(e))
    }

    /// Counts of the outbox by state: (pending + in flight, applied, rejected).
    pub fn outbox_counts(&self) -> Result<(i64, i64, i64), StoreError> {
        self.conn()
            .query_row(
                "SELECT COALESCE(SUM(state IN ('pending', 'in_flight')), 0), COALESCE(SUM(state = 'applied'), 0),
                        COALESCE(SUM(state = 'rejected'), 0) FROM outbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| self.err(e))
    }
}

/// A local undo of a rejected command, inside the outcome's transaction.
fn undo(tx: &Transaction<'_>, u: &Undo, command_id: &str, operator: Option<&str>, at: &str) -> rusqlite::Result<()> {
    let lot_id = |item: &str, lot: &str| -> rusqlite::Result<Option<i64>> {
        tx.query_row(
            "SELECT id FROM lots WHERE item_id = ?1 AND lot = ?2",
            params![item, lot],
            |r| r.get(0),
        )
        .optional()
    };
    let movement = |lot_id: i64, from: Option<&str>, to: Option<&str>, qty: u32| {
        tx.execute(
            "INSERT INTO movements(at, operator, kind, lot_id, from_location, to_location, qty, task_id, command_id)
             VALUES (?1, ?2, 'adjust', ?3, ?4, ?5, ?6, NULL, ?7)",
            params![at, operator.unwrap_or(""), lot_id, from, to, qty, command_id],
        )
        .map(|_| ())
    };
    match u {
        Undo::RestoreStock {
            item,
            lot,
            location,
            qty,
        } => {
            if let Some(id) = lot_id(item, lot)?
                && *qty > 0
            {
                tx.execute(
                    "INSERT INTO stock(lot_id, location, qty) VALUES (?1, ?2, ?3)
                     ON CONFLICT(lot_id, location) DO UPDATE SET qty = qty + excluded.qty",
                    params![id, location, qty],
                )?;
                movement(id, None, Some(location), *qty)?;
            }
        }
        Undo::TakeStock {
            item,
            lot,
            location,
            qty,
        } => {
            if let Some(id) = lot_id(item, lot)? {
                let have: i64 = tx
                    .query_row(
                        "SELECT qty FROM stock WHERE lot_id = ?1 AND location = ?2",
                        params![id, location],
                        |r| r.get(0),
                    )
                    .optional()?
                    .unwrap_or(0);
                let n = i64::from(*qty).min(have);
                if n > 0 {
                    tx.execute(
                        "UPDATE stock SET qty = qty - ?3 WHERE lot_id = ?1 AND location = ?2",
                        params![id, location, n],
                    )?;
                    tx.execute(
                        "DELETE FROM stock WHERE lot_id = ?1 AND location = ?2 AND qty = 0",
                        params![id, location],
                    )?;
                    movement(id, Some(location), None, n as u32)?;
                }
            }
        }
        Undo::TaskLineUndone { task, line, qty } => {
            tx.execute(
                "UPDATE task_lines SET qty_done = MAX(qty_done - ?3, 0) WHERE task_id = ?1 AND line_no = ?2",
                params![task, line, qty],
            )?;
        }
        Undo::SerialInStock { item, serial } => {
            tx.execute(
                "UPDATE serials SET status = 'in_stock' WHERE item_id = ?1 AND serial = ?2",
                params![item, serial],
            )?;
        }
        Undo::LotStatus { item, lot, status } => {
            tx.execute(
                "UPDATE lots SET status = ?3 WHERE item_id = ?1 AND lot = ?2",
                params![item, lot, status.as_str()],
            )?;
        }
    }
    Ok(())
}

enum PageError {
    Sql(rusqlite::Error),
    Data(String),
}

impl From<rusqlite::Error> for PageError {
    fn from(e: rusqlite::Error) -> Self {
        PageError::Sql(e)
    }
}

fn row<'a, T: Deserialize<'a>>(ch: &'a lotline_protocol::sync::Change) -> Result<T, PageError> {
    let data = ch
        .data
        .as_ref()
        .ok_or_else(|| PageError::Data(format!("{} {}: a put without data", ch.table, ch.key)))?;
    T::deserialize(data).map_err(|e| PageError::Data(format!("{} {}: {e}", ch.table, ch.key)))
}

/// `item/lot` (the lot may contain `/`: the item id is up to the first one).
fn split_lot_key(key: &str) -> Result<(&str, &str), PageError> {
    key.split_once('/')
        .ok_or_else(|| PageError::Data(format!("bad key '{key}'")))
}

/// A `lot` row's fields, read without serde's generic machinery.
fn lot_row(ch: &lotline_protocol::sync::Change) -> Result<rows::Lot, PageError> {
    let bad = |what: &str| PageError::Data(format!("{} {}: {what}", ch.table, ch.key));
    let data = ch
        .data
        .as_ref()
        .and_then(|d| d.as_object())
        .ok_or_else(|| bad("a put without data"))?;
    let text = |k: &str| -> Result<Option<String>, PageError> {
        match data.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(&format!("{k} is not text"))),
        }
    };
    Ok(rows::Lot {
        item: text("item")?.ok_or_else(|| bad("no item"))?,
        lot: text("lot")?.ok_or_else(|| bad("no lot"))?,
        expiry: text("expiry")?,
        production_date: text("production_date")?,
        qc_date: text("qc_date")?,
        status: text("status")?.ok_or_else(|| bad("no status"))?,
    })
}

const LOT_ID: &str = "(SELECT id FROM lots WHERE item_id = ?1 AND lot = ?2)";

fn apply_change(tx: &Transaction<'_>, ch: &lotline_protocol::sync::Change) -> Result<(), PageError> {
    let put = ch.op == ChangeOp::Put;
    match ch.table.as_str() {
        "category" if put => {
            let r: rows::Category = row(ch)?;
            tx.prepare_cached(
                "INSERT INTO categories(id, near_expiry_days) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET near_expiry_days = excluded.near_expiry_days",
            )?
            .execute(params![r.id, r.near_expiry_days])?;
        }
        "category" => {
            tx.prepare_cached("DELETE FROM categories WHERE id = ?1")?
                .execute([&ch.key])?;
        }
        "item" if put => {
            let r: rows::Item = row(ch)?;
            tx.prepare_cached(super::import::UPSERT_ITEM)?.execute(params![
                r.id,
                r.name_en,
                r.name_zh,
                r.category,
                r.shelf_life_days,
                r.min_remaining_days_receipt,
                r.min_remaining_pct_receipt,
                r.near_expiry_days,
                r.requires_qc,
                r.serialized,
                r.regulated,
                r.storage,
                r.count_tolerance
            ])?;
        }
        "item" => {
            tx.prepare_cached(&format!(
                "DELETE FROM stock WHERE lot_id IN (SELECT id FROM lots WHERE item_id = ?1)"
            ))?
            .execute([&ch.key])?;
            tx.prepare_cached("DELETE FROM serials WHERE item_id = ?1")?
                .execute([&ch.key])?;
            tx.prepare_cached("DELETE FROM lots WHERE item_id = ?1")?
                .execute([&ch.key])?;
            tx.prepare_cached("DELETE FROM items WHERE id = ?1")?
                .execute([&ch.key])?;
        }
        "barcode" if put => {
            let r: rows::Barcode = row(ch)?;
            tx.prepare_cached(
                "INSERT INTO barcodes(code, kind, item_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT(code) DO UPDATE SET kind = excluded.kind, item_id = excluded.item_id",
            )?
            .execute(params![r.code, r.kind, r.item])?;
        }
        "barcode" => {
            tx.prepare_cached("DELETE FROM barcodes WHERE code = ?1")?
                .execute([&ch.key])?;
        }
        "lot" if put => {
            // The hot path of a first download (a million lots): the fields are read straight
            // from the JSON (no generic deserializer), the statement is cached.
            let r = lot_row(ch)?;
            tx.prepare_cached(
                "INSERT INTO lots(item_id, lot, expiry, production_date, qc_date, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(item_id, lot) DO UPDATE SET expiry = excluded.expiry,
                    production_date = excluded.production_date, qc_date = excluded.qc_date, status = excluded.status",
            )?
            .execute(params![r.item, r.lot, r.expiry, r.production_date, r.qc_date, r.status])?;
        }
        "lot" => {
            let (item, lot) = split_lot_key(&ch.key)?;
            tx.prepare_cached(&format!("DELETE FROM stock WHERE lot_id = {LOT_ID}"))?
                .execute(params![item, lot])?;
            tx.prepare_cached(&format!("UPDATE serials SET lot_id = NULL WHERE lot_id = {LOT_ID}"))?
                .execute(params![item, lot])?;
            tx.prepare_cached("DELETE FROM lots WHERE item_id = ?1 AND lot = ?2")?
                .execute(params![item, lot])?;
        }
        "serial" if put => {
            let r: rows::Serial = row(ch)?;
            tx.prepare_cached(
                "INSERT INTO serials(item_id, serial, lot_id, status)
                 VALUES (?1, ?3, (SELECT id FROM lots WHERE item_id = ?1 AND lot = ?2), ?4)
                 ON CONFLICT(item_id, serial) DO UPDATE SET lot_id = excluded.lot_id, status = excluded.status",
            )?
            .execute(params![r.item, r.lot, r.serial, r.status])?;
        }
        "serial" => {
            let (item, serial) = split_lot_key(&ch.key)?;
            tx.prepare_cached("DELETE FROM serials WHERE item_id = ?1 AND serial = ?2")?
                .execute(params![item, serial])?;
        }
        "location" if put => {
            let r: rows::Location = row(ch)?;
            tx.prepare_cached(
                "INSERT INTO locations(code, warehouse, zone, kind, storage) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(code) DO UPDATE SET warehouse = excluded.warehouse, zone = excluded.zone,
                    kind = excluded.kind, storage = excluded.storage",
            )?
            .execute(params![r.code, r.warehouse, r.zone, r.kind, r.storage])?;
        }
        "location" => {
            tx.prepare_cached("DELETE FROM stock WHERE location = ?1")?
                .execute([&ch.key])?;
            tx.prepare_cached("DELETE FROM locations WHERE code = ?1")?
                .execute([&ch.key])?;
        }
        "stock" => {
            // The hub's quantity replaces the device's for that lot and location.
            let (item, lot, location, qty) = if put {
                let r: rows::Stock = row(ch)?;
                (r.item, r.lot, r.location, r.qty)
            } else {
                let (il, location) = ch
                    .key
                    .rsplit_once('@')
                    .ok_or_else(|| PageError::Data(format!("bad stock key '{}'", ch.key)))?;
                let (item, lot) = split_lot_key(il)?;
                (item.to_owned(), lot.to_owned(), location.to_owned(), 0)
            };
            if qty > 0 {
                let n = tx
                    .prepare_cached(&format!(
                        "INSERT INTO stock(lot_id, location, qty) SELECT id, ?3, ?4 FROM lots WHERE item_id = ?1 AND lot = ?2
                         ON CONFLICT(lot_id, location) DO UPDATE SET qty = excluded.qty"
                    ))?
                    .execute(params![item, lot, location, qty])?;
                if n == 0 {
                    return Err(PageError::Data(format!(
                        "stock of lot {lot} of {item}, which is not in the cache"
                    )));
                }
            } else {
                tx.prepare_cached(&format!("DELETE FROM stock WHERE lot_id = {LOT_ID} AND location = ?3"))?
                    .execute(params![item, lot, location])?;
            }
        }
        "customer" if put => {
            let r: rows::Customer = row(ch)?;
            tx.prepare_cached(
                "INSERT INTO customers(id, name, min_remaining_days) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, min_remaining_days = excluded.min_remaining_days",
            )?
            .execute(params![r.id, r.name, r.min_remaining_days])?;
        }
        "customer" => {
            tx.prepare_cached("DELETE FROM customers WHERE id = ?1")?
                .execute([&ch.key])?;
        }
        "operator" if put => {
            let r: rows::Operator = row(ch)?;
            tx.prepare_cached(
                "INSERT INTO operators(id, name, pin_hash, roles) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, pin_hash = excluded.pin_hash, roles = excluded.roles",
            )?
            .execute(params![r.id, r.name, r.pin_hash, r.roles])?;
        }
        "operator" => {
            tx.prepare_cached("DELETE FROM operators WHERE id = ?1")?
                .execute([&ch.key])?;
        }
        "task" if put => {
            let r: rows::Task = row(ch)?;
            tx.prepare_cached(
                "INSERT INTO tasks(id, kind, status, customer_id, reference, created_at, tolerance_pct, blind, zone, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, status = excluded.status,
                    customer_id = excluded.customer_id, reference = excluded.reference, created_at = excluded.created_at,
                    tolerance_pct = excluded.tolerance_pct, blind = excluded.blind, zone = excluded.zone,
                    source = excluded.source",
            )?
            .execute(params![
                r.id,
                r.kind,
                r.status,
                r.customer,
                r.reference,
                r.created_at,
                r.tolerance_pct,
                r.blind,
                r.zone,
                r.source
            ])?;
            let mut line_st = tx.prepare_cached(
                "INSERT INTO task_lines(task_id, line_no, item_id, lot, location, expiry, sscc, qty_expected, qty_done,
                    qty_short, short_reason, checked_by, checked_at, override_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT(task_id, line_no) DO UPDATE SET item_id = excluded.item_id, lot = excluded.lot,
                    location = excluded.location, expiry = excluded.expiry, sscc = excluded.sscc,
                    qty_expected = excluded.qty_expected, qty_done = excluded.qty_done, qty_short = excluded.qty_short,
                    short_reason = excluded.short_reason, checked_by = excluded.checked_by,
                    checked_at = excluded.checked_at, override_reason = excluded.override_reason",
            )?;
            for l in &r.lines {
                line_st.execute(params![
                    r.id,
                    l.line,
                    l.item,
                    l.lot,
                    l.location,
                    l.expiry,
                    l.sscc,
                    l.qty_expected,
                    l.qty_done,
                    l.qty_short,
                    l.short_reason,
                    l.checked_by,
                    l.checked_at,
                    l.override_reason
                ])?;
            }
            let keep: Vec<i64> = r.lines.iter().map(|l| l.line).collect();
            let keep = serde_json::to_string(&keep).unwrap_or_else(|_| "[]".into());
            tx.prepare_cached(
                "DELETE FROM task_lines WHERE task_id = ?1 AND line_no NOT IN (SELECT value FROM json_each(?2))",
            )?
            .execute(params![r.id, keep])?;
            tx.prepare_cached("DELETE FROM task_locations WHERE task_id = ?1")?
                .execute([&r.id])?;
            let mut loc_st =
                tx.prepare_cached("INSERT OR IGNORE INTO task_locations(task_id, location) VALUES (?1, ?2)")?;
            for l in &r.locations {
                loc_st.execute(params![r.id, l])?;
            }
        }
        "task" => {
            tx.prepare_cached("DELETE FROM tasks WHERE id = ?1")?
                .execute([&ch.key])?;
        }
        other => return Err(PageError::Data(format!("unknown table '{other}'"))),
    }
    Ok(())
}

/// The bilingual text of a sync exception row.
impl ExceptionRow {
    pub fn text(&self) -> Text {
        Text::new(self.message_en.clone(), self.message_zh.clone())
    }
}
