//! The change log: every write to server-owned data appends a change to its bucket; devices read
//! their buckets page by page.

use std::collections::HashMap;

use lotline_protocol::rows;
use lotline_protocol::sync::{
    BucketInfo, BucketList, Change, ChangeOp, ChangePage, GLOBAL_BUCKET, MAX_PAGE_CHANGES, change_checksum, device_bucket,
    site_bucket,
};
use serde_json::Value;

use crate::db::{Store, Tx, Val};
use crate::error::{Forbidden, HubError};
use crate::now;

struct BucketState {
    cum: u32,
    n: i64,
    head: i64,
}

/// Appends changes inside one write transaction: seqs are given in order (the write lock makes
/// them commit order) and each bucket's running checksum follows.
pub(crate) struct Log {
    next_seq: Option<i64>,
    buckets: HashMap<String, BucketState>,
}

impl Log {
    pub(crate) fn new() -> Log {
        Log {
            next_seq: None,
            buckets: HashMap::new(),
        }
    }

    pub(crate) fn append(
        &mut self,
        tx: &mut Tx<'_>,
        bucket: &str,
        table: &str,
        key: &str,
        data: Option<Value>,
    ) -> Result<(), HubError> {
        let seq = match self.next_seq {
            Some(s) => s,
            None => tx.one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[])?.map(|r| r[0].int()).unwrap_or(0) + 1,
        };
        self.next_seq = Some(seq + 1);
        if !self.buckets.contains_key(bucket) {
            let st = tx
                .one("SELECT cum_checksum, changes, head FROM buckets WHERE name = $1", &[bucket.into()])?
                .map(|r| BucketState {
                    cum: r[0].int() as u32,
                    n: r[1].int(),
                    head: r[2].int(),
                })
                .unwrap_or(BucketState { cum: 0, n: 0, head: 0 });
            self.buckets.insert(bucket.to_string(), st);
        }
        let st = self.buckets.get_mut(bucket).expect("inserted above");
        let op = if data.is_some() { ChangeOp::Put } else { ChangeOp::Delete };
        let change = Change {
            seq,
            table: table.into(),
            key: key.into(),
            op,
            data,
        };
        let sum = change_checksum(&change);
        st.cum = st.cum.wrapping_add(sum);
        st.n += 1;
        st.head = seq;
        tx.exec(
            "INSERT INTO changes(seq, bucket, tbl, key, op, data, checksum, cum_checksum, n)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                Val::Int(seq),
                bucket.into(),
                table.into(),
                key.into(),
                (if data_is_put(&change) { "put" } else { "delete" }).into(),
                change.data.as_ref().map(|d| d.to_string()).into(),
                Val::Int(sum as i64),
                Val::Int(st.cum as i64),
                Val::Int(st.n),
            ],
        )?;
        Ok(())
    }

    /// Writes each touched bucket's head, checksum and count. Call before commit.
    pub(crate) fn finish(self, tx: &mut Tx<'_>) -> Result<(), HubError> {
        for (name, st) in self.buckets {
            tx.exec(
                "INSERT INTO buckets(name, generation, head, cum_checksum, changes) VALUES ($1, 1, $2, $3, $4)
                 ON CONFLICT(name) DO UPDATE SET head = excluded.head, cum_checksum = excluded.cum_checksum,
                    changes = excluded.changes",
                &[name.into(), Val::Int(st.head), Val::Int(st.cum as i64), Val::Int(st.n)],
            )?;
        }
        Ok(())
    }

    // ---- the rows, read back from the tables and logged in their protocol shape ----

    pub(crate) fn lot(&mut self, tx: &mut Tx<'_>, item: &str, lot: &str) -> Result<(), HubError> {
        let Some(r) = tx.one(
            "SELECT expiry, production_date, qc_date, status FROM lots WHERE item = $1 AND lot = $2",
            &[item.into(), lot.into()],
        )?
        else {
            return Ok(());
        };
        let data = rows::Lot {
            item: item.into(),
            lot: lot.into(),
            expiry: r[0].opt_text(),
            production_date: r[1].opt_text(),
            qc_date: r[2].opt_text(),
            status: r[3].text(),
        };
        self.append(tx, GLOBAL_BUCKET, "lot", &format!("{item}/{lot}"), Some(to_value(&data)))
    }

    pub(crate) fn stock(&mut self, tx: &mut Tx<'_>, item: &str, lot: &str, location: &str) -> Result<(), HubError> {
        let qty = tx
            .one(
                "SELECT qty FROM stock WHERE item = $1 AND lot = $2 AND location = $3",
                &[item.into(), lot.into(), location.into()],
            )?
            .map(|r| r[0].int())
            .unwrap_or(0);
        let site = tx
            .one("SELECT site FROM locations WHERE code = $1", &[location.into()])?
            .and_then(|r| r[0].opt_text());
        let bucket = site.map(|s| site_bucket(&s)).unwrap_or_else(|| GLOBAL_BUCKET.into());
        let key = format!("{item}/{lot}@{location}");
        let data = (qty != 0).then(|| {
            to_value(&rows::Stock {
                item: item.into(),
                lot: lot.into(),
                location: location.into(),
                qty,
            })
        });
        self.append(tx, &bucket, "stock", &key, data)
    }

    pub(crate) fn serial(&mut self, tx: &mut Tx<'_>, item: &str, serial: &str) -> Result<(), HubError> {
        let Some(r) = tx.one(
            "SELECT lot, status FROM serials WHERE item = $1 AND serial = $2",
            &[item.into(), serial.into()],
        )?
        else {
            return Ok(());
        };
        let data = rows::Serial {
            item: item.into(),
            serial: serial.into(),
            lot: r[0].opt_text(),
            status: r[1].text(),
        };
        self.append(tx, GLOBAL_BUCKET, "serial", &format!("{item}/{serial}"), Some(to_value(&data)))
    }

    pub(crate) fn task(&mut self, tx: &mut Tx<'_>, id: &str) -> Result<(), HubError> {
        let Some(r) = tx.one(
            "SELECT kind, status, customer, reference, created_at, tolerance_pct, blind, zone, source, site, device
             FROM tasks WHERE id = $1",
            &[id.into()],
        )?
        else {
            return Ok(());
        };
        let lines = tx
            .query(
                "SELECT line, item, lot, location, expiry, sscc, qty_expected, qty_done, qty_short, short_reason,
                        checked_by, checked_at, override_reason
                 FROM task_lines WHERE task = $1 ORDER BY line",
                &[id.into()],
            )?
            .into_iter()
            .map(|l| rows::TaskLine {
                line: l[0].int(),
                item: l[1].text(),
                lot: l[2].opt_text(),
                location: l[3].opt_text(),
                expiry: l[4].opt_text(),
                sscc: l[5].opt_text(),
                qty_expected: l[6].int(),
                qty_done: l[7].int(),
                qty_short: l[8].int(),
                short_reason: l[9].opt_text(),
                checked_by: l[10].opt_text(),
                checked_at: l[11].opt_text(),
                override_reason: l[12].opt_text(),
            })
            .collect();
        let locations = tx
            .query("SELECT location FROM task_locations WHERE task = $1 ORDER BY location", &[id.into()])?
            .into_iter()
            .map(|l| l[0].text())
            .collect();
        let data = rows::Task {
            id: id.into(),
            kind: r[0].text(),
            status: r[1].text(),
            customer: r[2].opt_text(),
            reference: r[3].opt_text(),
            created_at: r[4].text(),
            tolerance_pct: r[5].int(),
            blind: r[6].int() != 0,
            zone: r[7].opt_text(),
            source: r[8].opt_text(),
            lines,
            locations,
        };
        let bucket = match (r[10].opt_text(), r[9].opt_text()) {
            (Some(d), _) => device_bucket(&d),
            (None, Some(s)) => site_bucket(&s),
            (None, None) => GLOBAL_BUCKET.into(),
        };
        self.append(tx, &bucket, "task", id, Some(to_value(&data)))
    }
}

fn data_is_put(c: &Change) -> bool {
    c.op == ChangeOp::Put
}

pub(crate) fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("rows serialise")
}

/// Adds `delta` to the stock of `item/lot` at `location` (never below 0) and logs it.
pub(crate) fn add_stock(
    tx: &mut Tx<'_>,
    log: &mut Log,
    item: &str,
    lot: &str,
    location: &str,
    delta: i64,
) -> Result<(), HubError> {
    let old = tx
        .one(
            "SELECT qty FROM stock WHERE item = $1 AND lot = $2 AND location = $3",
            &[item.into(), lot.into(), location.into()],
        )?
        .map(|r| r[0].int());
    let new = (old.unwrap_or(0) + delta).max(0);
    if old == Some(new) || (old.is_none() && new == 0) {
        return Ok(());
    }
    if new == 0 {
        tx.exec(
            "DELETE FROM stock WHERE item = $1 AND lot = $2 AND location = $3",
            &[item.into(), lot.into(), location.into()],
        )?;
    } else {
        tx.exec(
            "INSERT INTO stock(item, lot, location, qty) VALUES ($1, $2, $3, $4)
             ON CONFLICT(item, lot, location) DO UPDATE SET qty = excluded.qty",
            &[item.into(), lot.into(), location.into(), Val::Int(new)],
        )?;
    }
    log.stock(tx, item, lot, location)
}

pub(crate) struct DeviceRow {
    pub id: String,
    pub site: String,
    pub recorded_through: i64,
}

pub(crate) fn device(tx: &mut Tx<'_>, id: &str) -> Result<Option<DeviceRow>, HubError> {
    Ok(tx
        .one("SELECT id, site, recorded_through FROM devices WHERE id = $1", &[id.into()])?
        .map(|r| DeviceRow {
            id: r[0].text(),
            site: r[1].text(),
            recorded_through: r[2].int(),
        }))
}

fn readable(d: &DeviceRow) -> [String; 3] {
    [GLOBAL_BUCKET.to_string(), site_bucket(&d.site), device_bucket(&d.id)]
}

/// The buckets a device reads: global, its site's and its own.
pub fn list_buckets(store: &Store, device: &str) -> Result<BucketList, HubError> {
    store.read(|tx| {
        let d = self::device(tx, device)?.ok_or(HubError::Unauthorized)?;
        let mut buckets = Vec::new();
        for name in readable(&d) {
            let r = tx.one("SELECT generation, head, changes FROM buckets WHERE name = $1", &[(&name).into()])?;
            buckets.push(BucketInfo {
                name,
                generation: r.as_ref().map(|r| r[0].int()).unwrap_or(1),
                head: r.as_ref().map(|r| r[1].int()).unwrap_or(0),
                changes: r.as_ref().map(|r| r[2].int()).unwrap_or(0),
            });
        }
        Ok(BucketList {
            buckets,
            hub_time: now(),
        })
    })
}

/// One page of a bucket's changes after `after`. A generation other than the bucket's current
/// one gets the current generation's page from the start (the device resets the bucket).
pub fn changes(
    store: &Store,
    device: &str,
    bucket: &str,
    after: i64,
    generation: Option<i64>,
    limit: usize,
) -> Result<ChangePage, HubError> {
    let limit = limit.clamp(1, MAX_PAGE_CHANGES);
    store.read(|tx| {
        let d = self::device(tx, device)?.ok_or(HubError::Unauthorized)?;
        if !readable(&d).iter().any(|b| b == bucket) {
            return Err(HubError::Forbidden(Forbidden::Bucket(bucket.into())));
        }
        let (current, total) = tx
            .one("SELECT generation, changes FROM buckets WHERE name = $1", &[bucket.into()])?
            .map(|r| (r[0].int(), r[1].int()))
            .unwrap_or((1, 0));
        let after = match generation {
            Some(g) if g != current => 0,
            _ => after.max(0),
        };
        let rows = tx.query(
            "SELECT seq, tbl, key, op, data, cum_checksum, n FROM changes
             WHERE bucket = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[bucket.into(), Val::Int(after), Val::Int(limit as i64)],
        )?;
        let (checkpoint, checksum, n) = match rows.last() {
            Some(r) => (r[0].int(), r[5].int() as u32, r[6].int()),
            None => match tx.one(
                "SELECT cum_checksum, n FROM changes WHERE bucket = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1",
                &[bucket.into(), Val::Int(after)],
            )? {
                Some(r) => (after, r[0].int() as u32, r[1].int()),
                None => (after, 0, 0),
            },
        };
        let mut changes = Vec::with_capacity(rows.len());
        for r in rows {
            let data = match r[4].opt_text() {
                Some(t) => Some(serde_json::from_str(&t).map_err(HubError::db)?),
                None => None,
            };
            changes.push(Change {
                seq: r[0].int(),
                table: r[1].text(),
                key: r[2].text(),
                op: if r[3].text() == "put" { ChangeOp::Put } else { ChangeOp::Delete },
                data,
            });
        }
        let remaining = (total - n).max(0);
        Ok(ChangePage {
            bucket: bucket.into(),
            generation: current,
            changes,
            checkpoint,
            checksum,
            more: remaining > 0,
            remaining,
            device_recorded_through: d.recorded_through,
        })
    })
}

/// Orders every device to fetch `bucket` again from the start (raises its generation); the new one.
pub fn refetch(store: &Store, bucket: &str) -> Result<i64, HubError> {
    store.write(|tx| {
        tx.exec(
            "INSERT INTO buckets(name, generation) VALUES ($1, 2)
             ON CONFLICT(name) DO UPDATE SET generation = buckets.generation + 1",
            &[bucket.into()],
        )?;
        Ok(tx
            .one("SELECT generation FROM buckets WHERE name = $1", &[bucket.into()])?
            .map(|r| r[0].int())
            .unwrap_or(1))
    })
}
