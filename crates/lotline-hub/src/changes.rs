//! The change log: every write to server-owned data appends a change to its bucket; devices read
//! their buckets page by page.

use std::collections::HashMap;

use lotline_protocol::rows;
use lotline_protocol::sync::{
    BucketInfo, BucketList, Change, ChangeOp, ChangePage, GLOBAL_BUCKET, MAX_PAGE_CHANGES, change_checksum,
    device_bucket, site_bucket,
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
    /// Changes not written yet ([`CHANGE_COLS`] values each): written several rows per
    /// statement, at the latest by [`Log::finish`]. Nothing reads `changes` inside a writing
    /// transaction after the first append, so they need not be in the table before then.
    pending: Vec<Val>,
}

const CHANGE_COLS: usize = 9;

/// Changes kept before they are written.
const PENDING_CHANGES: usize = 5_000;

/// A change with its checksum and the text of its data, ready to be appended.
pub(crate) struct Prepared {
    seq: i64,
    table: String,
    key: String,
    sum: u32,
    /// `None` for a delete.
    data: Option<String>,
}

impl Prepared {
    pub(crate) fn new(change: Change) -> Prepared {
        Prepared {
            sum: change_checksum(&change),
            data: change.data.as_ref().map(|d| d.to_string()),
            seq: change.seq,
            table: change.table,
            key: change.key,
        }
    }

    /// A lot's change written straight from the row, for imports of many lots: its data is the
    /// canonical JSON (keys sorted) and the checksum is [`change_checksum`]'s over it (flate2's
    /// CRC-32, the zlib one), without building a JSON value (a test holds the two to each other).
    pub(crate) fn lot(seq: i64, l: &rows::Lot) -> Prepared {
        fn text(out: &mut String, v: Option<&str>) {
            match v {
                Some(v) => out.push_str(&serde_json::to_string(v).expect("strings serialise")),
                None => out.push_str("null"),
            }
        }
        let mut data = String::with_capacity(128);
        for (i, (k, v)) in [
            ("expiry", l.expiry.as_deref()),
            ("item", Some(l.item.as_str())),
            ("lot", Some(l.lot.as_str())),
            ("production_date", l.production_date.as_deref()),
            ("qc_date", l.qc_date.as_deref()),
            ("status", Some(l.status.as_str())),
        ]
        .into_iter()
        .enumerate()
        {
            data.push(if i == 0 { '{' } else { ',' });
            data.push('"');
            data.push_str(k);
            data.push_str("\":");
            text(&mut data, v);
        }
        data.push('}');
        let key = format!("{}/{}", l.item, l.lot);
        let mut h = flate2::Crc::new();
        h.update(format!("{seq}\tlot\t{key}\tput\t").as_bytes());
        h.update(data.as_bytes());
        Prepared {
            seq,
            table: "lot".into(),
            key,
            sum: h.sum(),
            data: Some(data),
        }
    }
}

impl Log {
    pub(crate) fn new() -> Log {
        Log {
            next_seq: None,
            buckets: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// The `seq` the next change gets (the store's latest + 1 at the first call).
    pub(crate) fn next_seq(&mut self, tx: &mut Tx<'_>) -> Result<i64, HubError> {
        if let Some(s) = self.next_seq {
            return Ok(s);
        }
        let s = tx
            .one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[])?
            .map(|r| r[0].int())
            .unwrap_or(0)
            + 1;
        self.next_seq = Some(s);
        Ok(s)
    }

    pub(crate) fn append(
        &mut self,
        tx: &mut Tx<'_>,
        bucket: &str,
        table: &str,
        key: &str,
        data: Option<Value>,
    ) -> Result<(), HubError> {
        let change = Change {
            seq: self.next_seq(tx)?,
            table: table.into(),
            key: key.into(),
            op: if data.is_some() {
                ChangeOp::Put
            } else {
                ChangeOp::Delete
            },
            data,
        };
        let prepared = Prepared::new(change);
        self.append_prepared(tx, bucket, prepared)
    }

    /// Appends a change made ready (its checksum and stored text computed) with the `seq`
    /// [`Log::next_seq`] gives, perhaps on another thread while this one waited on the store.
    pub(crate) fn append_prepared(&mut self, tx: &mut Tx<'_>, bucket: &str, p: Prepared) -> Result<(), HubError> {
        let seq = self.next_seq(tx)?;
        assert_eq!(p.seq, seq, "changes are appended in seq order");
        self.next_seq = Some(seq + 1);
        if !self.buckets.contains_key(bucket) {
            let st = tx
                .one(
                    "SELECT cum_checksum, changes, head FROM buckets WHERE name = $1",
                    &[bucket.into()],
                )?
                .map(|r| BucketState {
                    cum: r[0].int() as u32,
                    n: r[1].int(),
                    head: r[2].int(),
                })
                .unwrap_or(BucketState { cum: 0, n: 0, head: 0 });
            self.buckets.insert(bucket.to_string(), st);
        }
        let st = self.buckets.get_mut(bucket).expect("inserted above");
        st.cum = st.cum.wrapping_add(p.sum);
        st.n += 1;
        st.head = seq;
        let op = if p.data.is_some() { "put" } else { "delete" };
        self.pending.extend([
            Val::Int(seq),
            bucket.into(),
            Val::Text(p.table),
            Val::Text(p.key),
            op.into(),
            p.data.into(),
            Val::Int(p.sum as i64),
            Val::Int(st.cum as i64),
            Val::Int(st.n),
        ]);
        if self.pending.len() >= PENDING_CHANGES * CHANGE_COLS {
            self.flush(tx)?;
        }
        Ok(())
    }

    fn flush(&mut self, tx: &mut Tx<'_>) -> Result<(), HubError> {
        if !self.pending.is_empty() {
            tx.copy_rows(
                "changes",
                &[
                    "seq",
                    "bucket",
                    "tbl",
                    "key",
                    "op",
                    "data",
                    "checksum",
                    "cum_checksum",
                    "n",
                ],
                &self.pending,
            )?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Writes the changes still pending and each touched bucket's head, checksum and count.
    /// Call before commit.
    pub(crate) fn finish(mut self, tx: &mut Tx<'_>) -> Result<(), HubError> {
        self.flush(tx)?;
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
        self.append(
            tx,
            GLOBAL_BUCKET,
            "lot",
            &format!("{item}/{lot}"),
            Some(to_value(&data)),
        )
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
        self.append(
            tx,
            GLOBAL_BUCKET,
            "serial",
            &format!("{item}/{serial}"),
            Some(to_value(&data)),
        )
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
            .query(
                "SELECT location FROM task_locations WHERE task = $1 ORDER BY location",
                &[id.into()],
            )?
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
        .one(
            "SELECT id, site, recorded_through FROM devices WHERE id = $1",
            &[id.into()],
        )?
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
            let r = tx.one(
                "SELECT generation, head, changes FROM buckets WHERE name = $1",
                &[(&name).into()],
            )?;
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

/// A page as read: the changes' `data` still the stored JSON text.
struct RawPage {
    bucket: String,
    generation: i64,
    /// seq, table, key, put?, data
    rows: Vec<(i64, String, String, bool, Option<String>)>,
    checkpoint: i64,
    checksum: u32,
    remaining: i64,
    device_recorded_through: i64,
}

fn read_page(
    store: &Store,
    device: &str,
    bucket: &str,
    after: i64,
    generation: Option<i64>,
    limit: usize,
) -> Result<RawPage, HubError> {
    let limit = limit.clamp(1, MAX_PAGE_CHANGES);
    store.read(|tx| {
        let d = self::device(tx, device)?.ok_or(HubError::Unauthorized)?;
        if !readable(&d).iter().any(|b| b == bucket) {
            return Err(HubError::Forbidden(Forbidden::Bucket(bucket.into())));
        }
        let (current, total) = tx
            .one(
                "SELECT generation, changes FROM buckets WHERE name = $1",
                &[bucket.into()],
            )?
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
        let rows = rows
            .into_iter()
            .map(|mut r| {
                let data = std::mem::replace(&mut r[4], Val::Null).opt_text();
                let put = matches!(&r[3], Val::Text(t) if t == "put");
                let key = std::mem::replace(&mut r[2], Val::Null).text();
                let table = std::mem::replace(&mut r[1], Val::Null).text();
                (r[0].int(), table, key, put, data)
            })
            .collect();
        Ok(RawPage {
            bucket: bucket.into(),
            generation: current,
            rows,
            checkpoint,
            checksum,
            remaining: (total - n).max(0),
            device_recorded_through: d.recorded_through,
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
    let p = read_page(store, device, bucket, after, generation, limit)?;
    let mut changes = Vec::with_capacity(p.rows.len());
    for (seq, table, key, put, data) in p.rows {
        let data = match data {
            Some(t) => Some(serde_json::from_str(&t).map_err(HubError::db)?),
            None => None,
        };
        changes.push(Change {
            seq,
            table,
            key,
            op: if put { ChangeOp::Put } else { ChangeOp::Delete },
            data,
        });
    }
    Ok(ChangePage {
        bucket: p.bucket,
        generation: p.generation,
        changes,
        checkpoint: p.checkpoint,
        checksum: p.checksum,
        more: p.remaining > 0,
        remaining: p.remaining,
        device_recorded_through: p.device_recorded_through,
    })
}

/// The same page as [`changes`], as the JSON body of the response: the stored `data` is
/// written as it is, not parsed and written again.
pub fn changes_json(
    store: &Store,
    device: &str,
    bucket: &str,
    after: i64,
    generation: Option<i64>,
    limit: usize,
) -> Result<Vec<u8>, HubError> {
    let p = read_page(store, device, bucket, after, generation, limit)?;
    let size: usize = p
        .rows
        .iter()
        .map(|r| 64 + r.2.len() + r.4.as_ref().map_or(0, String::len))
        .sum();
    let mut out = String::with_capacity(size + 256);
    let js = |s: &str| serde_json::to_string(s).expect("strings serialise");
    out.push_str("{\"bucket\":");
    out.push_str(&js(&p.bucket));
    out.push_str(&format!(",\"generation\":{},\"changes\":[", p.generation));
    for (i, (seq, table, key, put, data)) in p.rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("{{\"seq\":{seq},\"table\":"));
        out.push_str(&js(table));
        out.push_str(",\"key\":");
        out.push_str(&js(key));
        out.push_str(if *put { ",\"op\":\"put\"" } else { ",\"op\":\"delete\"" });
        if let Some(d) = data {
            out.push_str(",\"data\":");
            out.push_str(d);
        }
        out.push('}');
    }
    out.push_str(&format!(
        "],\"checkpoint\":{},\"checksum\":{},\"more\":{},\"remaining\":{},\"device_recorded_through\":{}}}",
        p.checkpoint,
        p.checksum,
        p.remaining > 0,
        p.remaining,
        p.device_recorded_through
    ));
    Ok(out.into_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lot_written_straight_matches_its_json_value() {
        let lots = [
            rows::Lot {
                item: "F200".into(),
                lot: "L1".into(),
                expiry: Some("2027-09-30".into()),
                production_date: None,
                qc_date: Some("2026-01-02".into()),
                status: "released".into(),
            },
            rows::Lot {
                item: "F\"2\\0\t0".into(),
                lot: "批次/é".into(),
                expiry: None,
                production_date: Some("2026-01-01".into()),
                qc_date: None,
                status: "on_hold".into(),
            },
        ];
        for (k, l) in lots.iter().enumerate() {
            let seq = 41 + k as i64;
            let fast = Prepared::lot(seq, l);
            let change = Change {
                seq,
                table: "lot".into(),
                key: format!("{}/{}", l.item, l.lot),
                op: ChangeOp::Put,
                data: Some(to_value(l)),
            };
            let slow = Prepared::new(change.clone());
            assert_eq!((fast.sum, &fast.key, fast.table.as_str()), (slow.sum, &slow.key, "lot"));
            let data: Value = serde_json::from_str(fast.data.as_deref().unwrap()).unwrap();
            assert_eq!(Some(data), change.data);
            assert_eq!(
                fast.data.as_deref(),
                Some(lotline_protocol::sync::canonical_json(change.data.as_ref().unwrap()).as_str())
            );
        }
    }
}
