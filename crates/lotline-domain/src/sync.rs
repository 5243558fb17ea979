//! Sync with lotline-hub, the pure part: the outbox's state machine over the hub's outcomes, the
//! upload batch, the retry backoff, and what a rejected command undoes on the device (with the
//! exception text the operator reads, in both languages).
//!
//! No I/O and no clock: the shell passes outcomes, sizes, random numbers and times in.

use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use lotline_protocol::sync::{CommandOutcome, Outcome, UploadResponse};
use serde_json::Value;

use crate::lot::LotStatus;
use crate::text::Text;

/// Where a command of the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Written, not sent (or sent and to be sent again).
    Pending,
    /// Sent; no final outcome yet (a crash here leaves it to be sent again: the hub answers a
    /// replay with the stored outcome).
    InFlight,
    /// Final: the hub applied it.
    Applied,
    /// Final: the hub refused it; the device compensated.
    Rejected,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::InFlight => "in_flight",
            OutboxState::Applied => "applied",
            OutboxState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        Some(match s {
            "pending" => OutboxState::Pending,
            "in_flight" => OutboxState::InFlight,
            "applied" | "acked" => OutboxState::Applied,
            "rejected" | "dead" => OutboxState::Rejected,
            _ => return None,
        })
    }

    /// Applied or rejected: never sent again.
    pub fn is_final(self) -> bool {
        matches!(self, OutboxState::Applied | OutboxState::Rejected)
    }
}

/// What happens to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent<'a> {
    /// It went out in a batch.
    Sent,
    /// The hub answered for it.
    Answered(&'a Outcome),
    /// The batch it was in did not get an answer (no network, a timeout, a 5xx).
    TransportFailed,
}

/// The next state of a command. A final state never changes (a replay's answer is the same
/// outcome again); everything that is not final goes back to `pending` and is sent again.
pub fn next_state(state: OutboxState, event: &SyncEvent<'_>) -> OutboxState {
    if state.is_final() {
        return state;
    }
    match event {
        SyncEvent::Sent => OutboxState::InFlight,
        SyncEvent::Answered(Outcome::Applied { .. }) => OutboxState::Applied,
        SyncEvent::Answered(Outcome::Rejected { .. }) => OutboxState::Rejected,
        SyncEvent::Answered(Outcome::RetryLater { .. }) | SyncEvent::TransportFailed => OutboxState::Pending,
    }
}

/// How many of the waiting commands (their JSON sizes, in `seq` order) go in the next batch: a
/// prefix, at most `max_commands` and `max_bytes` — but always at least one, so a command larger
/// than the byte limit is still sent (alone) rather than blocking the queue for ever.
pub fn batch_len(sizes: &[usize], max_commands: usize, max_bytes: usize) -> usize {
    let mut total = 0usize;
    let mut n = 0usize;
    for &s in sizes.iter().take(max_commands) {
        if n > 0 && total + s > max_bytes {
            break;
        }
        total += s;
        n += 1;
    }
    n
}

/// A command's outcome as the device records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub state: OutboxState,
    pub outcome: Option<&'a Outcome>,
}

/// Matches the hub's answer to the batch sent (`(seq, id)` in order): each command's next state.
/// An outcome that names another command than the one sent at its place, or a missing one, leaves
/// that command and every later one `pending` (sent again; nothing is lost); so does a gap
/// reported by the hub for the commands from the gap on.
pub fn settle<'a>(sent: &[(i64, &'a str)], response: &'a UploadResponse) -> Vec<Settled<'a>> {
    let mut out = Vec::with_capacity(sent.len());
    let mut trusted = true;
    for (i, &(seq, id)) in sent.iter().enumerate() {
        let answer: Option<&CommandOutcome> = response.outcomes.get(i);
        let matches = answer.is_some_and(|a| a.seq == seq && a.id == id);
        if !matches {
            trusted = false;
        }
        let in_gap = response.gap.as_ref().is_some_and(|g| seq >= g.expected);
        let outcome = if trusted && !in_gap {
            answer.map(|a| &a.outcome)
        } else {
            None
        };
        let state = match outcome {
            Some(o) => next_state(OutboxState::InFlight, &SyncEvent::Answered(o)),
            None => OutboxState::Pending,
        };
        out.push(Settled {
            seq,
            id,
            state,
            outcome,
        });
    }
    out
}

/// The base of the retry backoff.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const BACKOFF_CAP: Duration = Duration::from_secs(60);

/// The wait before retry `attempt` (0 for the first retry): exponential with full jitter, capped
/// at [`BACKOFF_CAP`]: a uniform draw in `[0, min(cap, base × 2^attempt))`. `rand_unit` is a
/// random number in `[0, 1)` (values outside are clamped).
pub fn delay(attempt: u32, rand_unit: f64) -> Duration {
    let ceiling = BACKOFF_BASE
        .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(BACKOFF_CAP)
        .min(BACKOFF_CAP);
    let u = if rand_unit.is_finite() {
        rand_unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ceiling.mul_f64(u)
}

/// The hub's refusal of a command, as the device compensates it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub message_zh: &'a str,
    /// What the hub knows: `status` (or `lot_status`) of the lot and `status_changed_at` (RFC 3339).
    pub details: &'a Value,
}

/// One local change that undoes (part of) a rejected command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// Stock goes back to `location` (a refused pick).
    RestoreStock {
        item: String,
        lot: String,
        location: String,
        qty: u32,
    },
    /// Stock that arrived is taken off `location` again, as much as is there (a refused receipt).
    TakeStock {
        item: String,
        lot: String,
        location: String,
        qty: u32,
    },
    /// A task line's done quantity goes down (never below 0).
    TaskLineUndone { task: String, line: u32, qty: u32 },
    /// A serial-numbered unit is in stock again.
    SerialInStock { item: String, serial: String },
    /// The lot's status as the hub has it.
    LotStatus {
        item: String,
        lot: String,
        status: LotStatus,
    },
}

/// What a rejected command does on the device: its undo, and the exception the operator sees.
#[derive(Debug, Clone, PartialEq)]
pub struct Compensation {
    pub undo: Vec<Undo>,
    pub text: Text,
}

fn s<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn u(v: &Value, key: &str) -> u32 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0).min(u64::from(u32::MAX)) as u32
}

/// `HH:MM` of an RFC 3339 time, shown in `offset` (the device's, from its command) when given.
fn hhmm(t: Option<&str>, offset: Option<FixedOffset>) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(t?).ok()?;
    let t = match offset {
        Some(o) => t.with_timezone(&o),
        None => t,
    };
    Some(t.format("%H:%M").to_string())
}

fn status_words(status: LotStatus) -> (&'static str, &'static str) {
    match status {
        LotStatus::Released => ("released", "放行"),
        LotStatus::Quarantine => ("put in quarantine", "隔离"),
        LotStatus::OnHold => ("put on hold", "冻结"),
        LotStatus::Recalled => ("recalled", "召回"),
        LotStatus::Rejected => ("rejected", "拒收"),
    }
}

fn kind_words(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "pick" => ("pick", "拣货"),
        "receive" => ("receipt", "收货"),
        "putaway" => ("putaway", "上架"),
        "lot_released" => ("release", "放行"),
        "count" | "count_tags" | "count_location" => ("count", "盘点"),
        _ => ("action", "操作"),
    }
}

/// The undo of a rejected command (`kind` and `payload` as the outbox keeps them, `created_at`
/// RFC 3339 on the device's clock) and the exception text, e.g. "Lot L2311 was recalled at 10:40;
/// your pick of 12 at 10:42 was reversed: return the goods to quarantine".
pub fn compensate(kind: &str, payload: &Value, created_at: &str, rej: &Rejection<'_>) -> Compensation {
    let offset = DateTime::parse_from_rfc3339(created_at).ok().map(|t| *t.offset());
    let at = hhmm(Some(created_at), None).unwrap_or_else(|| "?".into());
    let hub_status: Option<LotStatus> = s(rej.details, "status")
        .or_else(|| s(rej.details, "lot_status"))
        .and_then(|x| x.parse().ok());
    let changed_at = hhmm(
        s(rej.details, "status_changed_at").or_else(|| s(rej.details, "changed_at")),
        offset,
    );
    let item = s(payload, "item").or_else(|| s(rej.details, "item")).unwrap_or("");
    let lot = s(payload, "lot")
        .or_else(|| s(rej.details, "lot"))
        .unwrap_or("")
        .to_owned();
    let mut undo = Vec::new();
    let (what_en, what_zh) = kind_words(kind);
    // The quantity in the text, and where the goods go now.
    let mut qty = 0u32;
    let mut put_back: Option<String> = None;
    match kind {
        "pick" => {
            qty = u(payload, "qty");
            let location = s(payload, "location").unwrap_or("").to_owned();
            if qty > 0 && !location.is_empty() {
                undo.push(Undo::RestoreStock {
                    item: item.into(),
                    lot: lot.clone(),
                    location: location.clone(),
                    qty,
                });
            }
            if let Some(task) = s(payload, "task") {
                undo.push(Undo::TaskLineUndone {
                    task: task.into(),
                    line: u(payload, "line"),
                    qty,
                });
            }
            for serial in payload.get("serials").and_then(Value::as_array).into_iter().flatten() {
                if let Some(serial) = serial.as_str() {
                    undo.push(Undo::SerialInStock {
                        item: item.into(),
                        serial: serial.into(),
                    });
                }
            }
            put_back = Some(location);
        }
        "receive" => {
            let lines = payload
                .get("lines")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for l in &lines {
                let n = u(l, "qty");
                qty += n;
                let (Some(li), Some(ll), Some(loc)) = (s(l, "item"), s(l, "lot"), s(l, "location")) else {
                    continue;
                };
                undo.push(Undo::TakeStock {
                    item: li.into(),
                    lot: ll.into(),
                    location: loc.into(),
                    qty: n,
                });
            }
            if let Some(task) = s(payload, "task") {
                for l in &lines {
                    if let Some(line) = l.get("line").and_then(Value::as_u64) {
                        undo.push(Undo::TaskLineUndone {
                            task: task.into(),
                            line: line as u32,
                            qty: u(l, "qty"),
                        });
                    }
                }
            }
        }
        _ => {}
    }
    let lot_of_payload = if lot.is_empty() {
        payload
            .get("lines")
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .and_then(|l| s(l, "lot"))
            .unwrap_or("")
            .to_owned()
    } else {
        lot.clone()
    };
    let lot_item = if item.is_empty() {
        payload
            .get("lines")
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .and_then(|l| s(l, "item"))
            .unwrap_or("")
            .to_owned()
    } else {
        item.to_owned()
    };
    if let Some(status) = hub_status
        && !lot_of_payload.is_empty()
        && !lot_item.is_empty()
    {
        undo.push(Undo::LotStatus {
            item: lot_item,
            lot: lot_of_payload.clone(),
            status,
        });
    }
    let blocked = hub_status.is_some_and(|st| st != LotStatus::Released);
    let (action_en, action_zh) = match (kind, blocked, put_back.as_deref()) {
        ("pick" | "receive", true, _) => (
            "return the goods to quarantine".to_owned(),
            "请将货物退回隔离区".to_owned(),
        ),
        ("pick", false, Some(loc)) if !loc.is_empty() => {
            (format!("put the goods back at {loc}"), format!("请将货物放回 {loc}"))
        }
        ("receive", false, _) => (
            "set the goods aside and call a supervisor".to_owned(),
            "请将货物放在一旁并联系主管".to_owned(),
        ),
        ("lot_released", _, _) => (
            "the lot keeps the hub's status".to_owned(),
            "该批次保持中心服务器的状态".to_owned(),
        ),
        _ => ("call a supervisor".to_owned(), "请联系主管".to_owned()),
    };
    let qty_en = if qty > 0 { format!(" of {qty}") } else { String::new() };
    let qty_zh = if qty > 0 { format!(" {qty} 件") } else { String::new() };
    let reversed = !undo.is_empty();
    let (done_en, done_zh) = if reversed {
        ("was reversed", "已撤销")
    } else {
        ("was refused", "被拒绝")
    };
    let text = match (hub_status, lot_of_payload.is_empty()) {
        (Some(st), false) if st != LotStatus::Released || kind == "lot_released" => {
            let (st_en, st_zh) = status_words(st);
            let when_en = changed_at.as_deref().map(|t| format!(" at {t}")).unwrap_or_default();
            let when_zh = changed_at
                .as_deref()
                .map(|t| format!("已于 {t} "))
                .unwrap_or_else(|| "已".into());
            Text::new(
                format!(
                    "Lot {lot_of_payload} was {st_en}{when_en}; your {what_en}{qty_en} at {at} {done_en}: {action_en}"
                ),
                format!(
                    "批次 {lot_of_payload} {when_zh}被{st_zh}；您在 {at} 的{what_zh}{qty_zh}{done_zh}：{action_zh}"
                ),
            )
        }
        _ => Text::new(
            format!(
                "The hub refused your {what_en}{qty_en} at {at} ({}); it {done_en}: {action_en}",
                rej.message
            ),
            format!(
                "中心服务器拒绝了您在 {at} 的{what_zh}{qty_zh}（{}）；{done_zh}：{action_zh}",
                rej.message_zh
            ),
        ),
    };
    Compensation { undo, text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lotline_protocol::sync::SeqGap;
    use serde_json::json;

    fn applied() -> Outcome {
        Outcome::Applied { applied_at: "t".into() }
    }
    fn rejected() -> Outcome {
        Outcome::Rejected {
            code: "lot_blocked".into(),
            message: "m".into(),
            message_zh: "z".into(),
            details: Value::Null,
            rejected_at: "t".into(),
        }
    }
    fn retry() -> Outcome {
        Outcome::RetryLater { reason: "busy".into() }
    }

    #[test]
    fn the_state_machine() {
        use OutboxState::*;
        let (a, r, l) = (applied(), rejected(), retry());
        let cases: Vec<(OutboxState, SyncEvent<'_>, OutboxState)> = vec![
            (Pending, SyncEvent::Sent, InFlight),
            (InFlight, SyncEvent::Answered(&a), Applied),
            (InFlight, SyncEvent::Answered(&r), Rejected),
            (InFlight, SyncEvent::Answered(&l), Pending),
            (InFlight, SyncEvent::TransportFailed, Pending),
            (Pending, SyncEvent::TransportFailed, Pending),
            // A crash after sending leaves in_flight; the replay's answer settles it.
            (InFlight, SyncEvent::Sent, InFlight),
            // Final states never move.
            (Applied, SyncEvent::Answered(&r), Applied),
            (Rejected, SyncEvent::Answered(&a), Rejected),
            (Applied, SyncEvent::TransportFailed, Applied),
            (Rejected, SyncEvent::Sent, Rejected),
        ];
        for (from, ev, want) in cases {
            assert_eq!(next_state(from, &ev), want, "{from:?} + {ev:?}");
        }
        for st in [Pending, InFlight, Applied, Rejected] {
            assert_eq!(OutboxState::parse(st.as_str()), Some(st));
        }
        assert_eq!(OutboxState::parse("acked"), Some(Applied));
        assert_eq!(OutboxState::parse("x"), None);
    }

    #[test]
    fn batches_are_prefixes_within_limits() {
        let cases: &[(&[usize], usize, usize, usize)] = &[
            (&[], 10, 100, 0),
            (&[10, 10, 10], 10, 100, 3),
            (&[10, 10, 10], 2, 100, 2),
            (&[40, 40, 40], 10, 100, 2),
            (&[40, 60, 1], 10, 100, 2),
            // Too big alone: still sent, alone.
            (&[500, 1], 10, 100, 1),
            (&[1, 500], 10, 100, 1),
        ];
        for &(sizes, n, b, want) in cases {
            assert_eq!(batch_len(sizes, n, b), want, "{sizes:?} {n} {b}");
        }
    }

    fn resp(outcomes: Vec<(i64, &str, Outcome)>, gap: Option<SeqGap>) -> UploadResponse {
        UploadResponse {
            outcomes: outcomes
                .into_iter()
                .map(|(seq, id, outcome)| CommandOutcome {
                    id: id.into(),
                    seq,
                    outcome,
                })
                .collect(),
            gap,
            recorded_through: 0,
            hub_time: "t".into(),
        }
    }

    #[test]
    fn settling_a_batch() {
        use OutboxState::*;
        let sent = [(1, "a"), (2, "b"), (3, "c")];
        let states = |r: &UploadResponse| settle(&sent, r).iter().map(|s| s.state).collect::<Vec<_>>();
        let cases = vec![
            (
                resp(vec![(1, "a", applied()), (2, "b", rejected()), (3, "c", retry())], None),
                vec![Applied, Rejected, Pending],
            ),
            // Fewer answers than commands: the rest are sent again.
            (resp(vec![(1, "a", applied())], None), vec![Applied, Pending, Pending]),
            // An answer for another command: it and all after are not trusted.
            (
                resp(
                    vec![(1, "a", applied()), (3, "c", applied()), (2, "b", applied())],
                    None,
                ),
                vec![Applied, Pending, Pending],
            ),
            (
                resp(
                    vec![(1, "x", applied()), (2, "b", applied()), (3, "c", applied())],
                    None,
                ),
                vec![Pending, Pending, Pending],
            ),
            // The hub needs earlier commands: nothing from the gap on is final.
            (
                resp(
                    vec![(1, "a", retry()), (2, "b", retry()), (3, "c", retry())],
                    Some(SeqGap {
                        expected: 1,
                        received: 1,
                    }),
                ),
                vec![Pending, Pending, Pending],
            ),
        ];
        for (r, want) in cases {
            assert_eq!(states(&r), want, "{r:?}");
        }
    }

    #[test]
    fn backoff_is_full_jitter_capped() {
        let cases = [
            (0, 0.0, 0.0),
            (0, 0.5, 0.5),
            (0, 0.999, 0.999),
            (1, 0.5, 1.0),
            (3, 0.5, 4.0),
            (5, 1.0, 32.0),
            (6, 1.0, 60.0),
            (6, 0.5, 30.0),
            (30, 0.25, 15.0),
            (u32::MAX, 1.0, 60.0),
            (2, -1.0, 0.0),
            (2, f64::NAN, 0.0),
            (2, 7.0, 4.0),
        ];
        for (attempt, r, want) in cases {
            let d = delay(attempt, r).as_secs_f64();
            assert!((d - want).abs() < 1e-6, "delay({attempt}, {r}) = {d}, want {want}");
            assert!(delay(attempt, r) <= BACKOFF_CAP);
        }
    }

    #[test]
    fn compensation_table() {
        let recalled = json!({"status": "recalled", "status_changed_at": "2026-12-01T02:40:00Z"});
        let rej = |d: &'static Value| Rejection {
            code: "lot_blocked",
            message: "lot blocked",
            message_zh: "批次被锁定",
            details: d,
        };
        let recalled: &'static Value = Box::leak(Box::new(recalled));
        let none: &'static Value = Box::leak(Box::new(Value::Null));
        let released: &'static Value = Box::leak(Box::new(json!({"lot_status": "released"})));
        let pick = json!({"task": "PK-1", "line": 2, "item": "I1", "lot": "L2311", "location": "A-01",
                          "qty": 12, "serials": ["S1", "S2"], "verdict": "accept", "warnings": [],
                          "override_reason": null, "customer": null});
        let receive = json!({"task": "RC-1", "scan": "x", "sscc": null, "verdict": "accept", "warnings": [],
                             "authorised_by": null, "reason": null,
                             "lines": [{"item": "I2", "gtin": null, "lot": "R1", "expiry": null, "qty": 5,
                                        "line": 1, "location": "DOCK", "lot_status": "released", "new_lot": true}]});
        let release = json!({"item": "I3", "lot": "Q1", "from_status": "quarantine", "authorised_by": "sup"});
        let at = "2026-12-01T10:42:00+08:00";
        let scan = json!({"gate": "pick", "scan": "x"});
        let cases: Vec<(&str, &Value, Rejection<'_>, Vec<Undo>, &str, &str)> = vec![
            (
                "pick",
                &pick,
                rej(recalled),
                vec![
                    Undo::RestoreStock {
                        item: "I1".into(),
                        lot: "L2311".into(),
                        location: "A-01".into(),
                        qty: 12,
                    },
                    Undo::TaskLineUndone {
                        task: "PK-1".into(),
                        line: 2,
                        qty: 12,
                    },
                    Undo::SerialInStock {
                        item: "I1".into(),
                        serial: "S1".into(),
                    },
                    Undo::SerialInStock {
                        item: "I1".into(),
                        serial: "S2".into(),
                    },
                    Undo::LotStatus {
                        item: "I1".into(),
                        lot: "L2311".into(),
                        status: LotStatus::Recalled,
                    },
                ],
                "Lot L2311 was recalled at 10:40; your pick of 12 at 10:42 was reversed: return the goods to quarantine",
                "批次 L2311 已于 10:40 被召回；您在 10:42 的拣货 12 件已撤销：请将货物退回隔离区",
            ),
            (
                "pick",
                &pick,
                rej(none),
                vec![
                    Undo::RestoreStock {
                        item: "I1".into(),
                        lot: "L2311".into(),
                        location: "A-01".into(),
                        qty: 12,
                    },
                    Undo::TaskLineUndone {
                        task: "PK-1".into(),
                        line: 2,
                        qty: 12,
                    },
                    Undo::SerialInStock {
                        item: "I1".into(),
                        serial: "S1".into(),
                    },
                    Undo::SerialInStock {
                        item: "I1".into(),
                        serial: "S2".into(),
                    },
                ],
                "The hub refused your pick of 12 at 10:42 (lot blocked); it was reversed: put the goods back at A-01",
                "中心服务器拒绝了您在 10:42 的拣货 12 件（批次被锁定）；已撤销：请将货物放回 A-01",
            ),
            (
                "receive",
                &receive,
                rej(recalled),
                vec![
                    Undo::TakeStock {
                        item: "I2".into(),
                        lot: "R1".into(),
                        location: "DOCK".into(),
                        qty: 5,
                    },
                    Undo::TaskLineUndone {
                        task: "RC-1".into(),
                        line: 1,
                        qty: 5,
                    },
                    Undo::LotStatus {
                        item: "I2".into(),
                        lot: "R1".into(),
                        status: LotStatus::Recalled,
                    },
                ],
                "Lot R1 was recalled at 10:40; your receipt of 5 at 10:42 was reversed: return the goods to quarantine",
                "批次 R1 已于 10:40 被召回；您在 10:42 的收货 5 件已撤销：请将货物退回隔离区",
            ),
            (
                "lot_released",
                &release,
                rej(recalled),
                vec![Undo::LotStatus {
                    item: "I3".into(),
                    lot: "Q1".into(),
                    status: LotStatus::Recalled,
                }],
                "Lot Q1 was recalled at 10:40; your release at 10:42 was reversed: the lot keeps the hub's status",
                "批次 Q1 已于 10:40 被召回；您在 10:42 的放行已撤销：该批次保持中心服务器的状态",
            ),
            (
                "lot_released",
                &release,
                rej(released),
                vec![Undo::LotStatus {
                    item: "I3".into(),
                    lot: "Q1".into(),
                    status: LotStatus::Released,
                }],
                "Lot Q1 was released; your release at 10:42 was reversed: the lot keeps the hub's status",
                "批次 Q1 已被放行；您在 10:42 的放行已撤销：该批次保持中心服务器的状态",
            ),
            (
                "scan",
                &scan,
                rej(none),
                vec![],
                "The hub refused your action at 10:42 (lot blocked); it was refused: call a supervisor",
                "中心服务器拒绝了您在 10:42 的操作（批次被锁定）；被拒绝：请联系主管",
            ),
        ];
        for (kind, payload, r, undo, en, zh) in cases {
            let c = compensate(kind, payload, at, &r);
            assert_eq!(c.undo, undo, "{kind} {:?}", r.details);
            assert_eq!(c.text.en, en);
            assert_eq!(c.text.zh, zh);
        }
    }
}
