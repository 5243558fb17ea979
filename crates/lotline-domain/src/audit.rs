//! The tamper-evident record: each audit entry's SHA-256 covers its content and the previous
//! entry's hash, so an entry edited, inserted, deleted or moved breaks the chain.
//!
//! Pure: the store hands rows in (in insertion order) and the last head it wrote; [`verify`]
//! says whether the chain holds and, if not, which entry is the first that does not.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What one audit entry says: who, what, when, why, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct AuditEntry {
    /// The device's monotonic counter: 1, 2, 3, … with no gaps.
    pub counter: u64,
    /// The device clock, RFC 3339.
    pub at: String,
    pub device_id: String,
    pub operator: Option<String>,
    pub authorised_by: Option<String>,
    /// What happened: the command type (`receive`, `putaway`, `login_failed`, …).
    pub action: String,
    pub command_id: Option<String>,
    pub gate: Option<String>,
    pub task_id: Option<String>,
    pub item_id: Option<String>,
    pub lot: Option<String>,
    pub location: Option<String>,
    pub scan: Option<String>,
    pub verdict: Option<String>,
    /// Reason codes behind the verdict, as a JSON array.
    pub reasons: String,
    /// Why: the operator's or supervisor's reason.
    pub reason: Option<String>,
    /// JSON of the values before and after the action.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An entry as stored: its content, the hash it claims to follow and its own hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The row id (insertion order).
    pub id: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

fn field(h: &mut Sha256, v: Option<&str>) {
    // Length-prefixed, so no two different contents encode alike; `None` differs from "".
    match v {
        None => h.update(b"-;"),
        Some(s) => {
            h.update(format!("{}:", s.len()).as_bytes());
            h.update(s.as_bytes());
            h.update(b";");
        }
    }
}

/// The entry's hash: SHA-256 over the previous hash and every field, hex.
pub fn entry_hash(prev_hash: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(b"lotline-audit-v1;");
    field(&mut h, Some(prev_hash));
    field(&mut h, Some(&e.counter.to_string()));
    for v in [
        Some(e.at.as_str()),
        Some(e.device_id.as_str()),
        e.operator.as_deref(),
        e.authorised_by.as_deref(),
        Some(e.action.as_str()),
        e.command_id.as_deref(),
        e.gate.as_deref(),
        e.task_id.as_deref(),
        e.item_id.as_deref(),
        e.lot.as_deref(),
        e.location.as_deref(),
        e.scan.as_deref(),
        e.verdict.as_deref(),
        Some(e.reasons.as_str()),
        e.reason.as_deref(),
        e.before.as_deref(),
        e.after.as_deref(),
    ] {
        field(&mut h, v);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The last entry the device wrote, kept beside the chain so a removed tail is found too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub counter: u64,
    pub hash: String,
}

impl Head {
    pub fn to_setting(&self) -> String {
        format!("{}:{}", self.counter, self.hash)
    }
    pub fn from_setting(s: &str) -> Option<Head> {
        let (c, h) = s.split_once(':')?;
        Some(Head {
            counter: c.parse().ok()?,
            hash: h.to_owned(),
        })
    }
}

/// What is wrong with the first entry that breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// Its content no longer gives its hash.
    Edited { id: i64, counter: u64 },
    /// It does not link to the entry before it: that one was rewritten with a fresh hash, or
    /// this one was put in its place.
    Unlinked { id: i64, counter: u64 },
    /// It claims a counter already used, or comes after the last entry the device wrote, or does
    /// not link to the entry before it.
    Inserted { id: i64, counter: u64 },
    /// Entries `from..=to` are missing before it (`id` is `None` when the tail is missing).
    Deleted { id: Option<i64>, from: u64, to: u64 },
    /// It stands where entry `expected` should, which comes elsewhere in the log.
    Reordered { id: i64, counter: u64, expected: u64 },
}

impl Break {
    pub fn message_en(&self) -> String {
        match self {
            Break::Edited { id, counter } => {
                format!("audit entry #{counter} (row {id}) was edited: its content does not match its hash")
            }
            Break::Inserted { id, counter } => {
                format!("audit entry #{counter} (row {id}) was inserted: the device wrote no such entry there")
            }
            Break::Unlinked { id, counter } => format!(
                "audit entry #{counter} (row {id}) does not link to the entry before it: that entry was rewritten, or this one was inserted in its place"
            ),
            Break::Deleted { id: Some(id), from, to } => {
                format!("audit entries #{from}–#{to} were deleted: they are missing before row {id}")
            }
            Break::Deleted { id: None, from, to } => {
                format!(
                    "audit entries #{from}–#{to} were deleted: the chain ends before the last entry the device wrote"
                )
            }
            Break::Reordered { id, counter, expected } => format!(
                "audit entry #{counter} (row {id}) is out of order: entry #{expected} should come here (entries were reordered)"
            ),
        }
    }
    pub fn message_zh(&self) -> String {
        match self {
            Break::Edited { id, counter } => format!("审计记录 #{counter}（第 {id} 行）被修改：内容与哈希不符"),
            Break::Inserted { id, counter } => {
                format!("审计记录 #{counter}（第 {id} 行）是插入的：设备没有在此写过这条记录")
            }
            Break::Unlinked { id, counter } => {
                format!("审计记录 #{counter}（第 {id} 行）与前一条记录链接不上：前一条被改写过，或这一条是插入替换的")
            }
            Break::Deleted { id: Some(id), from, to } => {
                format!("审计记录 #{from}–#{to} 被删除：第 {id} 行之前缺少这些记录")
            }
            Break::Deleted { id: None, from, to } => {
                format!("审计记录 #{from}–#{to} 被删除：链在设备写下的最后一条记录之前就结束了")
            }
            Break::Reordered { id, counter, expected } => {
                format!("审计记录 #{counter}（第 {id} 行）顺序错乱：此处应为记录 #{expected}（记录顺序被改动）")
            }
        }
    }
}

/// Walks the chain in insertion order. `Ok(n)` is the number of entries checked.
pub fn verify(rows: &[StoredEntry], head: Option<&Head>) -> Result<u64, Break> {
    let present: std::collections::HashSet<u64> = rows.iter().map(|r| r.entry.counter).collect();
    let mut prev = GENESIS;
    let mut last: u64 = 0;
    let mut n = 0;
    for r in rows {
        let c = r.entry.counter;
        if let Some(h) = head
            && c > h.counter
        {
            return Err(Break::Inserted { id: r.id, counter: c });
        }
        if c == last && n > 0 {
            return Err(Break::Inserted { id: r.id, counter: c });
        }
        if c < last {
            return Err(Break::Reordered {
                id: r.id,
                counter: c,
                expected: last + 1,
            });
        }
        if c > last + 1 {
            // The missing entry may stand elsewhere (moved) or be gone (deleted).
            return Err(if present.contains(&(last + 1)) {
                Break::Reordered {
                    id: r.id,
                    counter: c,
                    expected: last + 1,
                }
            } else {
                Break::Deleted {
                    id: Some(r.id),
                    from: last + 1,
                    to: (last + 1..c)
                        .take_while(|k| !present.contains(k))
                        .last()
                        .unwrap_or(last + 1),
                }
            });
        }
        if entry_hash(&r.prev_hash, &r.entry) != r.hash {
            return Err(Break::Edited { id: r.id, counter: c });
        }
        if r.prev_hash != prev {
            return Err(Break::Unlinked { id: r.id, counter: c });
        }
        prev = &r.hash;
        last = c;
        n += 1;
    }
    if let Some(h) = head {
        if last < h.counter {
            return Err(Break::Deleted {
                id: None,
                from: last + 1,
                to: h.counter,
            });
        }
        if prev != h.hash {
            // As many entries as the device wrote, but not the last one it wrote.
            let id = rows.last().map(|r| r.id).unwrap_or(0);
            return Err(Break::Unlinked { id, counter: last });
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<StoredEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|c| {
                let entry = AuditEntry {
                    counter: c,
                    at: format!("2026-12-02T08:00:{c:02}Z"),
                    device_id: "dev".into(),
                    operator: Some("recv1".into()),
                    action: "scan".into(),
                    reasons: "[]".into(),
                    ..Default::default()
                };
                let hash = entry_hash(&prev, &entry);
                let r = StoredEntry {
                    id: c as i64,
                    entry,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                r
            })
            .collect()
    }

    fn head(rows: &[StoredEntry]) -> Head {
        let l = rows.last().unwrap();
        Head {
            counter: l.entry.counter,
            hash: l.hash.clone(),
        }
    }

    #[test]
    fn an_intact_chain_verifies() {
        let rows = chain(5);
        assert_eq!(verify(&rows, Some(&head(&rows))), Ok(5));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn every_kind_of_tampering_is_found() {
        let rows = chain(6);
        let h = head(&rows);
        type Tamper = fn(&mut Vec<StoredEntry>);
        let cases: [(&str, Tamper, Break); 6] = [
            (
                "edit",
                |r| r[2].entry.operator = Some("mallory".into()),
                Break::Edited { id: 3, counter: 3 },
            ),
            (
                "delete",
                |r| {
                    r.remove(3);
                },
                Break::Deleted {
                    id: Some(5),
                    from: 4,
                    to: 4,
                },
            ),
            (
                "delete tail",
                |r| {
                    r.pop();
                },
                Break::Deleted {
                    id: None,
                    from: 6,
                    to: 6,
                },
            ),
            (
                "reorder",
                |r| r.swap(1, 2),
                Break::Reordered {
                    id: 3,
                    counter: 3,
                    expected: 2,
                },
            ),
            (
                "insert copy",
                |r| {
                    let c = r[1].clone();
                    r.insert(2, StoredEntry { id: 99, ..c });
                },
                Break::Inserted { id: 99, counter: 2 },
            ),
            (
                "insert after the head",
                |r| {
                    let mut e = r[5].entry.clone();
                    e.counter = 7;
                    let prev = r[5].hash.clone();
                    let hash = entry_hash(&prev, &e);
                    r.push(StoredEntry {
                        id: 7,
                        entry: e,
                        prev_hash: prev,
                        hash,
                    });
                },
                Break::Inserted { id: 7, counter: 7 },
            ),
        ];
        for (name, tamper, want) in cases {
            let mut r = rows.clone();
            tamper(&mut r);
            assert_eq!(verify(&r, Some(&h)), Err(want), "{name}");
        }
    }

    #[test]
    fn a_rewritten_entry_with_a_fresh_hash_breaks_the_link() {
        let mut rows = chain(4);
        rows[1].entry.operator = Some("mallory".into());
        rows[1].hash = entry_hash(&rows[1].prev_hash, &rows[1].entry);
        assert_eq!(
            verify(&rows, Some(&head(&rows))),
            Err(Break::Unlinked { id: 3, counter: 3 })
        );
    }

    #[test]
    fn none_and_empty_hash_differently() {
        let a = AuditEntry {
            reason: None,
            ..Default::default()
        };
        let b = AuditEntry {
            reason: Some(String::new()),
            ..Default::default()
        };
        assert_ne!(entry_hash(GENESIS, &a), entry_hash(GENESIS, &b));
    }
}
