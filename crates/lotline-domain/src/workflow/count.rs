//! The count gate: a cycle count of a task's locations that reconciles while the warehouse keeps
//! working. Starting the task on the device takes a snapshot of expected stock per location ×
//! item × lot; each location is counted (by scan, a unit per scan or with a quantity, or by RFID
//! inventory) and closed, which fixes the moment its count stands for. At the end
//!
//! variance = counted − (snapshot + movements of that line between the snapshot and the moment
//! its location was counted),
//!
//! so goods picked or put away during the count never show up as a difference. Nothing blocks
//! finishing: uncounted lines are reported as such. A line beyond the item's tolerance asks for a
//! recount of its location by another operator; the second count stands.
//!
//! Steps: `count.location` → `count.scan` (→ `count.lot` when a scan has no lot) → `confirm`
//! closes the location → `count.location` … → `finish`.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::json;

use super::receive::{MAX_QTY, bad_qty, item_code, lot_from};
use super::{Action, AuditFacts, Change, Event, Facts, OpError, State, TagFact, Transition};
use crate::command::{Command, CountedLot, Finding, MovementRef, TagReview, Uncounted, Variance};
use crate::ids::LotNo;
use crate::lot::{Item, Lot, LotStatus};
use crate::operator::Operator;
use crate::policy::{self, Evaluation, Gate, Scanned, Verdict};
use crate::reason::Reason;
use crate::scan::Scan;
use crate::task::{TaskFacts, TaskKind, TaskStatus};
use crate::text::Text;

/// A line of the snapshot: expected stock of a lot at a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapLine {
    pub location: String,
    pub item_id: String,
    pub lot: String,
    pub qty: i64,
}

/// An entry counted (additive; a correction may be negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFact {
    pub location: String,
    pub round: u8,
    pub item_id: String,
    pub lot: String,
    pub qty: i64,
}

/// A location closed in a round: by whom, when, and the last movement id at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedFact {
    pub location: String,
    pub round: u8,
    pub operator: String,
    pub at: String,
    pub mark: i64,
}

/// A stock movement recorded after the snapshot (on this device, or received from the hub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveFact {
    /// Its place in the movement log: the reconciliation windows are ranges of it.
    pub id: i64,
    pub command: String,
    pub operator: String,
    pub at: String,
    pub item_id: String,
    pub lot: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub qty: i64,
}

/// How far a count may be off before a recount is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tolerance {
    #[default]
    Exact,
    Units(u32),
    /// Percent of the quantity expected at the moment of counting.
    Percent(u8),
}

impl Tolerance {
    /// `2` (units) or `5%`.
    pub fn parse(s: &str) -> Option<Tolerance> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            let p: u8 = p.trim().parse().ok()?;
            return (p <= 100).then_some(Tolerance::Percent(p));
        }
        s.parse().ok().map(Tolerance::Units)
    }

    /// The largest absolute variance within tolerance when `base` was expected.
    pub fn allowed(self, base: i64) -> i64 {
        match self {
            Tolerance::Exact => 0,
            Tolerance::Units(n) => i64::from(n),
            Tolerance::Percent(p) => base.max(0) * i64::from(p) / 100,
        }
    }
}

/// What the shell looked up about a count task at its start and finish.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CountFacts {
    /// The snapshot was taken (the task started on this device before).
    pub started: bool,
    pub snapshot: Vec<SnapLine>,
    pub snapshot_mark: i64,
    pub entries: Vec<EntryFact>,
    pub closed: Vec<ClosedFact>,
    /// At finish: movements after the snapshot that touch the task's locations.
    pub movements: Vec<MoveFact>,
    /// Recounts asked for: (location, the operator who counted it first).
    pub recounts: Vec<(String, String)>,
    /// RFID tags already taken: (location, round, key).
    pub tags: Vec<(String, u8, String)>,
    pub tolerance: BTreeMap<String, Tolerance>,
    /// The lots named by the snapshot and the entries (for findings).
    pub lots: Vec<Lot>,
}

/// A line's expected, moved and counted quantities, and the movements taken into account.
type LineSum = (i64, i64, i64, Vec<MovementRef>);

/// The result of a count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reconciled {
    pub variances: Vec<Variance>,
    pub uncounted: Vec<Uncounted>,
    pub findings: Vec<Finding>,
    pub accuracy: f64,
    /// Locations to recount, with who counted them first.
    pub recounts: Vec<(String, String)>,
}

/// Reconciles a count (pure): each counted location's lines against the snapshot plus the
/// movements of its window (after the snapshot, up to the moment the location was last counted).
pub fn reconcile(f: &CountFacts, locations: &[String], today: NaiveDate) -> Reconciled {
    let mut out = Reconciled::default();
    let mut within = 0usize;
    for loc in locations {
        let last = f.closed.iter().filter(|c| c.location == *loc).max_by_key(|c| c.round);
        let Some(close) = last else {
            for s in f.snapshot.iter().filter(|s| s.location == *loc && s.qty != 0) {
                out.uncounted.push(Uncounted {
                    location: loc.clone(),
                    item: s.item_id.clone(),
                    lot: s.lot.clone(),
                    expected: s.qty,
                });
            }
            continue;
        };
        // (item, lot) → (expected, moved, counted, movements)
        let mut lines: BTreeMap<(String, String), LineSum> = BTreeMap::new();
        for s in f.snapshot.iter().filter(|s| s.location == *loc) {
            lines.entry((s.item_id.clone(), s.lot.clone())).or_default().0 += s.qty;
        }
        for e in f
            .entries
            .iter()
            .filter(|e| e.location == *loc && e.round == close.round)
        {
            lines.entry((e.item_id.clone(), e.lot.clone())).or_default().2 += e.qty;
        }
        for m in f
            .movements
            .iter()
            .filter(|m| m.id > f.snapshot_mark && m.id <= close.mark)
        {
            let sign = match (
                m.from.as_deref() == Some(loc.as_str()),
                m.to.as_deref() == Some(loc.as_str()),
            ) {
                (true, false) => -1,
                (false, true) => 1,
                _ => continue,
            };
            let l = lines.entry((m.item_id.clone(), m.lot.clone())).or_default();
            l.1 += sign * m.qty;
            l.3.push(MovementRef {
                command: m.command.clone(),
                operator: m.operator.clone(),
                at: m.at.clone(),
                qty: sign * m.qty,
            });
        }
        let mut needs_recount = false;
        for ((item, lot), (expected, moved, counted, movements)) in lines {
            if expected == 0 && moved == 0 && counted == 0 && movements.is_empty() {
                continue;
            }
            let variance = counted - (expected + moved);
            let tol = f.tolerance.get(&item).copied().unwrap_or_default();
            let ok = variance.abs() <= tol.allowed(expected + moved);
            let recount = !ok && close.round == 1;
            needs_recount |= recount;
            within += usize::from(ok);
            if counted > 0 {
                let l = f.lots.iter().find(|l| l.item_id == item && l.lot.as_str() == lot);
                for code in finding_codes(l, today) {
                    out.findings.push(Finding {
                        location: loc.clone(),
                        item: item.clone(),
                        lot: lot.clone(),
                        code: code.into(),
                        counted,
                    });
                }
            }
            out.variances.push(Variance {
                location: loc.clone(),
                item,
                lot,
                expected,
                moved,
                counted,
                variance,
                recount,
                recounted: close.round == 2,
                within_tolerance: ok,
                movements,
            });
        }
        if needs_recount {
            out.recounts.push((loc.clone(), close.operator.clone()));
        }
    }
    out.accuracy = if out.variances.is_empty() {
        1.0
    } else {
        within as f64 / out.variances.len() as f64
    };
    out
}

/// Why a lot found in a bin should not be there as stock that may move.
fn finding_codes(lot: Option<&Lot>, today: NaiveDate) -> Vec<&'static str> {
    let Some(l) = lot else { return vec!["unknown_lot"] };
    let mut v = Vec::new();
    match l.status {
        LotStatus::Released => {}
        LotStatus::Quarantine => v.push("quarantined"),
        LotStatus::OnHold => v.push("on_hold"),
        LotStatus::Recalled => v.push("recalled"),
        LotStatus::Rejected => v.push("rejected_lot"),
    }
    if l.expiry.is_some_and(|e| e < today) {
        v.push("expired");
    }
    v
}

/// A count in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    pub task: TaskFacts,
    pub snapshot: Vec<SnapLine>,
    /// Locations closed: (location, round, operator).
    pub closed: Vec<(String, u8, String)>,
    pub recounts: Vec<(String, String)>,
    /// Entries and tags of locations opened but not closed before (the task was left).
    pub partial: Vec<EntryFact>,
    pub partial_tags: Vec<(String, u8, String)>,
    pub step: Step,
}

/// The location being counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    pub location: String,
    pub round: u8,
    /// Counted so far in this round, per item and lot.
    pub counted: Vec<CountedLot>,
    /// The last scan's (item, lot, qty): a `qty` right after it sets its quantity.
    pub last: Option<(String, String, i64)>,
    /// Units already taken (an RFID tag or a serial read twice is one unit).
    pub seen: HashSet<String>,
    /// A scan without a lot, waiting for it: (item, qty, scan).
    pub pending: Option<(Item, i64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Location,
    Scan(Box<Open>),
    Lot(Box<Open>),
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Location => "count.location",
            Step::Scan(_) => "count.scan",
            Step::Lot(_) => "count.lot",
        }
    }
}

impl Count {
    pub fn open(&self) -> Option<&Open> {
        match &self.step {
            Step::Scan(o) | Step::Lot(o) => Some(o),
            Step::Location => None,
        }
    }

    fn is_closed(&self, loc: &str, round: u8) -> bool {
        self.closed.iter().any(|(l, r, _)| l == loc && *r == round)
    }

    /// Locations still to count in this round (first counts, and recounts asked for).
    pub fn to_count(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .task
            .locations
            .iter()
            .filter(|l| !self.is_closed(l, 1))
            .cloned()
            .collect();
        for (l, _) in &self.recounts {
            if !self.is_closed(l, 2) {
                v.push(l.clone());
            }
        }
        v
    }

    /// The quantity expected of each line at `loc` (shown only when the count is not blind).
    pub fn expected_at(&self, loc: &str) -> Vec<&SnapLine> {
        self.snapshot.iter().filter(|s| s.location == loc).collect()
    }

    pub fn prompt(&self) -> Text {
        match &self.step {
            Step::Location => {
                let left = self.to_count();
                if left.is_empty() {
                    Text::new(
                        "Every location is counted: finish the count",
                        "所有库位已盘点:请结束盘点",
                    )
                } else {
                    let recount: Vec<&str> = self
                        .recounts
                        .iter()
                        .filter(|(l, _)| !self.is_closed(l, 2))
                        .map(|(l, _)| l.as_str())
                        .collect();
                    let extra_en = if recount.is_empty() {
                        String::new()
                    } else {
                        format!(" (recount: {})", recount.join(", "))
                    };
                    let extra_zh = if recount.is_empty() {
                        String::new()
                    } else {
                        format!("(复盘:{})", recount.join("、"))
                    };
                    Text::new(
                        format!(
                            "Scan a location to count: {} left — {}{extra_en}",
                            left.len(),
                            left.join(", ")
                        ),
                        format!(
                            "请扫描要盘点的库位:剩 {} 个 — {}{extra_zh}",
                            left.len(),
                            left.join("、")
                        ),
                    )
                }
            }
            Step::Scan(o) => {
                let units: i64 = o.counted.iter().map(|c| c.qty).sum();
                let r_en = if o.round == 2 { " (recount)" } else { "" };
                let r_zh = if o.round == 2 { "(复盘)" } else { "" };
                Text::new(
                    format!(
                        "Counting {}{r_en}: scan each item (or read tags); {units} counted so far. Confirm when the location is done",
                        o.location
                    ),
                    format!(
                        "正在盘点 {}{r_zh}:逐件扫描(或读取标签);已盘 {units} 件。库位盘完后请确认",
                        o.location
                    ),
                )
            }
            Step::Lot(o) => {
                let name = o
                    .pending
                    .as_ref()
                    .map(|(i, _, _)| i.name())
                    .unwrap_or_else(|| Text::new("", ""));
                Text::new(
                    format!("Scan or enter the lot number of {}", name.en),
                    format!("请扫描或输入 {} 的批号", name.zh),
                )
            }
        }
    }

    /// The lots the shell should look up for `event`, beyond the item.
    pub fn lots_wanted(&self, event: &Event, item: Option<&Item>) -> Vec<(String, LotNo)> {
        let Event::Scan { raw, parsed } = event else {
            return vec![];
        };
        match (&self.step, item) {
            (Step::Lot(o), _) => match (&o.pending, lot_from(raw, parsed)) {
                (Some((i, _, _)), Ok(l)) => vec![(i.id.clone(), l)],
                _ => vec![],
            },
            (_, Some(item)) => parsed
                .as_ref()
                .ok()
                .and_then(|s| s.fields.lot.clone())
                .map(|lot| vec![(item.id.clone(), lot)])
                .unwrap_or_default(),
            _ => vec![],
        }
    }
}

fn with(op: &Operator, c: Count) -> State {
    State::Count {
        op: op.clone(),
        c: Box::new(c),
    }
}

fn audit(c: &Count) -> AuditFacts {
    AuditFacts {
        gate: Some(Gate::Count),
        task_id: Some(c.task.id.clone()),
        ..Default::default()
    }
}

pub(crate) fn start(state: &State, op: &Operator, task: Option<String>, facts: &Facts) -> Transition {
    let Some(id) = task else {
        return super::task_required(state, Gate::Count);
    };
    let t = match super::open_task(&id, facts, TaskKind::Count) {
        Ok(t) => t,
        Err(e) => return Transition::refuse(state, e),
    };
    let cf = facts.count.clone().unwrap_or_default();
    let mut actions = vec![super::task_started(op, Gate::Count, Some(&t))];
    let snapshot = if cf.started {
        cf.snapshot.clone()
    } else {
        // First start on this device: the snapshot, from the cache's stock at this moment.
        let lines: Vec<SnapLine> = facts
            .stock
            .iter()
            .filter(|s| t.locations.contains(&s.location.code) && s.qty > 0)
            .map(|s| SnapLine {
                location: s.location.code.clone(),
                item_id: s.item_id.clone(),
                lot: s.lot.lot.as_str().into(),
                qty: i64::from(s.qty),
            })
            .collect();
        actions.push(Action {
            command: Command::CountSnapshot {
                task: t.id.clone(),
                locations: t.locations.clone(),
                lines: lines.len(),
            },
            operator: Some(op.id.clone()),
            audit: AuditFacts {
                gate: Some(Gate::Count),
                task_id: Some(t.id.clone()),
                after: Some(json!({"lines": lines.len(), "units": lines.iter().map(|l| l.qty).sum::<i64>()})),
                ..Default::default()
            },
            changes: vec![Change::CountSnapshot {
                task_id: t.id.clone(),
                lines: lines.clone(),
            }],
        });
        lines
    };
    let closed: Vec<(String, u8, String)> = cf
        .closed
        .iter()
        .map(|c| (c.location.clone(), c.round, c.operator.clone()))
        .collect();
    let is_closed = |l: &str, r: u8| closed.iter().any(|(x, y, _)| x == l && *y == r);
    let partial = cf
        .entries
        .iter()
        .filter(|e| !is_closed(&e.location, e.round))
        .cloned()
        .collect();
    let partial_tags = cf.tags.iter().filter(|(l, r, _)| !is_closed(l, *r)).cloned().collect();
    let c = Count {
        task: t,
        snapshot,
        closed,
        recounts: cf.recounts.clone(),
        partial,
        partial_tags,
        step: Step::Location,
    };
    Transition::to(with(op, c), actions)
}

pub(crate) fn step(
    state: &State,
    op: &Operator,
    c: &Count,
    event: Event,
    facts: &Facts,
    _now: DateTime<FixedOffset>,
) -> Transition {
    let not_now = |e: &Event| Transition::refuse(state, OpError::not_now(e.op(), state));
    match (&c.step, event) {
        (Step::Location, Event::Start { gate, task }) => super::start(state, op, gate, task, facts),
        (Step::Location, Event::Location(code)) => open_location(state, op, c, &code),
        (Step::Location, Event::Scan { raw, .. }) => open_location(state, op, c, &raw),
        (Step::Scan(o), Event::Scan { raw, parsed }) => {
            if raw.trim().starts_with("epc:") {
                return tags(op, c, o, &facts.tags);
            }
            if facts.item.is_none()
                && let Some(l) = &facts.location
            {
                return Transition::refuse(
                    state,
                    OpError::new(
                        "location_open",
                        format!(
                            "{} is being counted: confirm it before scanning location {}",
                            o.location, l.code
                        ),
                        format!("正在盘点 {}:请先确认该库位,再扫描库位 {}", o.location, l.code),
                    ),
                );
            }
            goods(op, c, o, &raw, &parsed, facts)
        }
        (Step::Scan(o), Event::Tags) => tags(op, c, o, &facts.tags),
        (Step::Scan(o), Event::Qty(n)) => set_qty(state, op, c, o, n),
        (Step::Lot(o), Event::Scan { raw, parsed }) => {
            let lot = match lot_from(&raw, &parsed) {
                Ok(l) => l,
                Err(e) => return Transition::refuse(state, e),
            };
            let Some((item, qty, scan)) = o.pending.clone() else {
                return not_now(&Event::Scan { raw, parsed });
            };
            let mut o2 = (**o).clone();
            o2.pending = None;
            counted(op, c, &o2, &scan, &item, &lot, qty, None, facts)
        }
        (Step::Scan(o), Event::Confirm) => close(op, c, o),
        (Step::Lot(_), Event::Confirm) => Transition::refuse(
            state,
            OpError::new(
                "incomplete",
                format!("Not yet: {}", c.prompt().en),
                format!("尚不能确认:{}", c.prompt().zh),
            ),
        ),
        (Step::Location, Event::Finish) => finish(op, c, facts),
        (Step::Scan(o) | Step::Lot(o), Event::Finish) => Transition::refuse(
            state,
            OpError::new(
                "location_open",
                format!("{} is being counted: confirm it first", o.location),
                format!("正在盘点 {}:请先确认该库位", o.location),
            ),
        ),
        (_, e) => not_now(&e),
    }
}

fn open_location(state: &State, op: &Operator, c: &Count, code: &str) -> Transition {
    let code = code.trim().to_uppercase();
    if !c.task.locations.contains(&code) {
        return Transition::refuse(
            state,
            OpError::new(
                "location_not_in_task",
                format!(
                    "{code} is not a location of count {}: {}",
                    c.task.id,
                    c.task.locations.join(", ")
                ),
                format!(
                    "{code} 不是盘点任务 {} 的库位:{}",
                    c.task.id,
                    c.task.locations.join("、")
                ),
            ),
        );
    }
    let recount = c.recounts.iter().find(|(l, _)| *l == code);
    let round = match recount {
        Some((_, first)) if c.is_closed(&code, 1) && !c.is_closed(&code, 2) => {
            if *first == op.id {
                return Transition::refuse(
                    state,
                    OpError::new(
                        "recount_same_operator",
                        format!(
                            "{} counted {code} first: its recount must be made by another operator",
                            op.id
                        ),
                        format!("{} 是 {code} 的初盘人:复盘须由另一名操作员进行", op.id),
                    ),
                );
            }
            2
        }
        _ if c.is_closed(&code, 1) => {
            return Transition::refuse(
                state,
                OpError::new(
                    "location_counted",
                    format!("{code} is already counted in this task"),
                    format!("{code} 在本任务中已盘点"),
                ),
            );
        }
        _ => 1,
    };
    let mut counted: Vec<CountedLot> = Vec::new();
    for e in c.partial.iter().filter(|e| e.location == code && e.round == round) {
        add(&mut counted, &e.item_id, &e.lot, e.qty);
    }
    let seen = c
        .partial_tags
        .iter()
        .filter(|(l, r, _)| *l == code && *r == round)
        .map(|(_, _, k)| k.clone())
        .collect();
    let mut next = c.clone();
    next.step = Step::Scan(Box::new(Open {
        location: code,
        round,
        counted,
        last: None,
        seen,
        pending: None,
    }));
    Transition::to(with(op, next), vec![])
}

fn add(v: &mut Vec<CountedLot>, item: &str, lot: &str, qty: i64) {
    match v.iter_mut().find(|c| c.item == item && c.lot == lot) {
        Some(c) => c.qty += qty,
        None => v.push(CountedLot {
            item: item.into(),
            lot: lot.into(),
            qty,
        }),
    }
}

fn scan_reject(op: &Operator, c: &Count, o: &Open, raw: &str, ev: Evaluation, item: Option<&str>) -> Transition {
    let reasons: Vec<&'static str> = ev.verdict.reasons().iter().map(|r| r.code()).collect();
    let action = Action {
        command: Command::Scan {
            gate: Gate::Count.as_str().into(),
            task: Some(c.task.id.clone()),
            scan: raw.to_owned(),
            verdict: ev.verdict.as_str().into(),
            reasons: reasons.iter().map(|s| (*s).to_owned()).collect(),
            item: item.map(str::to_owned),
            lot: None,
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: item.map(str::to_owned),
            location: Some(o.location.clone()),
            scan: Some(raw.to_owned()),
            verdict: Some(ev.verdict.as_str()),
            reasons,
            ..audit(c)
        },
        changes: vec![],
    };
    let mut t = Transition::to(with(op, c.clone()), vec![action]);
    t.outcome.verdict = Some(ev.verdict);
    t
}

fn goods(op: &Operator, c: &Count, o: &Open, raw: &str, parsed: &Result<Scan, String>, facts: &Facts) -> Transition {
    let scan = match parsed {
        Ok(s) => s,
        Err(detail) => return scan_reject(op, c, o, raw, Evaluation::invalid_barcode(raw, detail), None),
    };
    let shown = scan.raw.clone();
    let Some(code) = item_code(scan) else {
        let ev = if scan.fields.sscc.is_some() {
            Evaluation::not_an_item(&shown, "SSCC pallet label")
        } else {
            Evaluation::invalid_barcode(&shown, "the barcode carries no GTIN (01)")
        };
        return scan_reject(op, c, o, &shown, ev, None);
    };
    let Some(item) = &facts.item else {
        let ev = Evaluation {
            verdict: Verdict::Reject(vec![Reason::UnknownItem { code }]),
            notes: vec![],
        };
        return scan_reject(op, c, o, &shown, ev, None);
    };
    let serial = scan.fields.serial.as_ref().map(|s| s.as_str().to_owned());
    let lot = scan.fields.lot.clone().or_else(|| {
        serial
            .as_ref()
            .and(facts.serial_lot.as_ref())
            .filter(|l| l.item_id == item.id)
            .map(|l| l.lot.clone())
    });
    let qty = match (scan.fields.quantity, &serial) {
        (Some(q), _) => q.min(MAX_QTY as u64) as i64,
        _ => 1,
    };
    let key = serial.as_ref().map(|s| format!("{}/{s}", item.id));
    match lot {
        None => {
            let mut o2 = o.clone();
            o2.pending = Some((item.clone(), qty, shown));
            let mut next = c.clone();
            next.step = Step::Lot(Box::new(o2));
            Transition::to(with(op, next), vec![])
        }
        Some(lot) => counted(op, c, o, &shown, item, &lot, qty, key, facts),
    }
}

/// Counts `qty` of `item`/`lot` at the open location; a serialised unit (`key`) once only.
#[allow(clippy::too_many_arguments)]
fn counted(
    op: &Operator,
    c: &Count,
    o: &Open,
    raw: &str,
    item: &Item,
    lot: &LotNo,
    qty: i64,
    key: Option<String>,
    facts: &Facts,
) -> Transition {
    let mut o2 = o.clone();
    o2.pending = None;
    if let Some(k) = &key
        && o.seen.contains(k)
    {
        // The same unit scanned again: one unit. Nothing to record.
        let mut next = c.clone();
        next.step = Step::Scan(Box::new(o2));
        let mut t = Transition::to(with(op, next), vec![]);
        t.outcome.verdict = Some(Verdict::Accept);
        t.outcome.notes = vec![];
        return t;
    }
    let known = facts.lot(&item.id, lot);
    let scanned = Scanned::lot_of(item, lot);
    let ev = policy::evaluate(
        Gate::Count,
        &policy::Facts {
            scanned: &scanned,
            item: Some(item),
            lot: known,
            expected_items: &[],
            customer: None,
            fefo: None,
        },
        facts.today,
    );
    // At a count every reason is a finding: the goods are counted all the same.
    let findings: Vec<Reason> = ev.verdict.reasons().to_vec();
    let verdict = if findings.is_empty() {
        Verdict::Accept
    } else {
        Verdict::Warn(findings.clone())
    };
    add(&mut o2.counted, &item.id, lot.as_str(), qty);
    o2.last = Some((item.id.clone(), lot.as_str().into(), qty));
    let mut changes = vec![Change::CountEntry {
        task_id: c.task.id.clone(),
        location: o.location.clone(),
        round: o.round,
        item_id: item.id.clone(),
        lot: lot.as_str().into(),
        qty,
    }];
    if let Some(k) = key {
        o2.seen.insert(k.clone());
        changes.push(Change::CountTags {
            task_id: c.task.id.clone(),
            location: o.location.clone(),
            round: o.round,
            epcs: vec![k],
        });
    }
    let codes: Vec<&'static str> = findings.iter().map(|r| r.code()).collect();
    let action = Action {
        command: Command::Count {
            task: c.task.id.clone(),
            location: o.location.clone(),
            round: o.round,
            scan: raw.to_owned(),
            item: item.id.clone(),
            lot: lot.as_str().into(),
            qty,
            // A quarantined lot is a note at a count, not a warning, but a finding all the same.
            findings: codes
                .iter()
                .copied()
                .chain(ev.notes.iter().map(|r| r.code()))
                .map(str::to_owned)
                .collect(),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: Some(item.id.clone()),
            lot: Some(lot.as_str().into()),
            location: Some(o.location.clone()),
            scan: Some(raw.to_owned()),
            verdict: Some(verdict.as_str()),
            reasons: codes,
            after: Some(json!({"counted": qty})),
            ..audit(c)
        },
        changes,
    };
    let mut next = c.clone();
    next.step = Step::Scan(Box::new(o2));
    let mut t = Transition::to(with(op, next), vec![action]);
    t.outcome.verdict = Some(verdict);
    t.outcome.notes = ev.notes;
    t
}

fn set_qty(state: &State, op: &Operator, c: &Count, o: &Open, n: i64) -> Transition {
    if !(0..=MAX_QTY).contains(&n) {
        return Transition::refuse(state, bad_qty(n));
    }
    let Some((item, lot, last)) = o.last.clone() else {
        return Transition::refuse(
            state,
            OpError::new(
                "scan_first",
                "Scan the goods first, then enter how many of them there are",
                "请先扫描货物,再输入数量",
            ),
        );
    };
    let delta = n - last;
    let mut o2 = o.clone();
    o2.last = Some((item.clone(), lot.clone(), n));
    add(&mut o2.counted, &item, &lot, delta);
    let mut next = c.clone();
    next.step = Step::Scan(Box::new(o2));
    if delta == 0 {
        return Transition::to(with(op, next), vec![]);
    }
    let action = Action {
        command: Command::Count {
            task: c.task.id.clone(),
            location: o.location.clone(),
            round: o.round,
            scan: format!("qty {n}"),
            item: item.clone(),
            lot: lot.clone(),
            qty: delta,
            findings: vec![],
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: Some(item.clone()),
            lot: Some(lot.clone()),
            location: Some(o.location.clone()),
            before: Some(json!({"counted": last})),
            after: Some(json!({"counted": n})),
            ..audit(c)
        },
        changes: vec![Change::CountEntry {
            task_id: c.task.id.clone(),
            location: o.location.clone(),
            round: o.round,
            item_id: item,
            lot,
            qty: delta,
        }],
    };
    Transition::to(with(op, next), vec![action])
}

/// An RFID inventory of the open location: each SGTIN tag is one unit of its serial's lot; a
/// tag read again is not counted again; unknown tags and tags of items this location does not
/// hold are listed for review, not counted.
fn tags(op: &Operator, c: &Count, o: &Open, tags: &[TagFact]) -> Transition {
    let mut o2 = o.clone();
    let expected: HashSet<&str> = c
        .snapshot
        .iter()
        .filter(|s| s.location == o.location)
        .map(|s| s.item_id.as_str())
        .collect();
    let mut review = Vec::new();
    let mut new_keys = Vec::new();
    let mut lots: Vec<CountedLot> = Vec::new();
    for t in tags {
        let key = match (&t.item, &t.serial) {
            (Some(i), Some(s)) => format!("{}/{s}", i.id),
            _ => t.epc.clone(),
        };
        if !o2.seen.insert(key.clone()) {
            continue;
        }
        new_keys.push(key);
        let why = match (&t.item, &t.lot) {
            _ if t.problem.is_some() => t.problem,
            (None, _) => Some("unknown_item"),
            (Some(_), None) => Some("unknown_serial"),
            (Some(i), Some(_)) if !expected.contains(i.id.as_str()) => Some("other_item"),
            _ => None,
        };
        match (why, &t.item, &t.lot) {
            (None, Some(i), Some(l)) => add(&mut lots, &i.id, l.lot.as_str(), 1),
            (why, item, _) => review.push(TagReview {
                epc: t.epc.clone(),
                why: why.unwrap_or("unknown_item").into(),
                item: item.as_ref().map(|i| i.id.clone()),
            }),
        }
    }
    for l in &lots {
        add(&mut o2.counted, &l.item, &l.lot, l.qty);
    }
    o2.last = None;
    let mut changes: Vec<Change> = lots
        .iter()
        .map(|l| Change::CountEntry {
            task_id: c.task.id.clone(),
            location: o.location.clone(),
            round: o.round,
            item_id: l.item.clone(),
            lot: l.lot.clone(),
            qty: l.qty,
        })
        .collect();
    if !new_keys.is_empty() {
        changes.push(Change::CountTags {
            task_id: c.task.id.clone(),
            location: o.location.clone(),
            round: o.round,
            epcs: new_keys.clone(),
        });
    }
    let mut next = c.clone();
    next.step = Step::Scan(Box::new(o2));
    let mut extra = serde_json::Map::new();
    extra.insert("counted".into(), serde_json::to_value(&lots).unwrap_or_default());
    extra.insert("review".into(), serde_json::to_value(&review).unwrap_or_default());
    let actions = if new_keys.is_empty() {
        vec![]
    } else {
        vec![Action {
            command: Command::CountTags {
                task: c.task.id.clone(),
                location: o.location.clone(),
                round: o.round,
                tags: new_keys.len(),
                counted: lots,
                review,
            },
            operator: Some(op.id.clone()),
            audit: AuditFacts {
                location: Some(o.location.clone()),
                after: Some(json!({"tags": new_keys.len()})),
                ..audit(c)
            },
            changes,
        }]
    };
    let mut t = Transition::to(with(op, next), actions);
    t.outcome.verdict = Some(Verdict::Accept);
    t.outcome.extra = Some(extra);
    t
}

fn close(op: &Operator, c: &Count, o: &Open) -> Transition {
    let action = Action {
        command: Command::CountLocation {
            task: c.task.id.clone(),
            location: o.location.clone(),
            round: o.round,
            counted: o.counted.clone(),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            location: Some(o.location.clone()),
            after: Some(serde_json::to_value(&o.counted).unwrap_or_default()),
            ..audit(c)
        },
        changes: vec![Change::CountClosed {
            task_id: c.task.id.clone(),
            location: o.location.clone(),
            round: o.round,
        }],
    };
    let mut next = c.clone();
    next.closed.push((o.location.clone(), o.round, op.id.clone()));
    next.partial
        .retain(|e| !(e.location == o.location && e.round == o.round));
    next.partial_tags
        .retain(|(l, r, _)| !(*l == o.location && *r == o.round));
    next.step = Step::Location;
    Transition::to(with(op, next), vec![action])
}

fn finish(op: &Operator, c: &Count, facts: &Facts) -> Transition {
    let cf = facts.count.clone().unwrap_or_default();
    let r = reconcile(&cf, &c.task.locations, facts.today);
    let pending: Vec<(String, String)> = r.recounts.clone();
    let mut extra = serde_json::Map::new();
    extra.insert(
        "variances".into(),
        serde_json::to_value(&r.variances).unwrap_or_default(),
    );
    extra.insert("accuracy".into(), json!(r.accuracy));
    extra.insert(
        "uncounted".into(),
        serde_json::to_value(&r.uncounted).unwrap_or_default(),
    );
    extra.insert("findings".into(), serde_json::to_value(&r.findings).unwrap_or_default());
    extra.insert("recounts_pending".into(), json!(!pending.is_empty()));
    let home = State::Home {
        op: op.clone(),
        authorised: None,
    };
    let action = if !pending.is_empty() {
        Action {
            command: Command::RecountRequested {
                task: c.task.id.clone(),
                locations: pending.iter().map(|(l, _)| l.clone()).collect(),
                variances: r.variances.iter().filter(|v| v.recount).cloned().collect(),
            },
            operator: Some(op.id.clone()),
            audit: AuditFacts {
                after: Some(json!({"recount": pending.iter().map(|(l, _)| l).collect::<Vec<_>>()})),
                ..audit(c)
            },
            changes: pending
                .iter()
                .map(|(l, first)| Change::CountRecount {
                    task_id: c.task.id.clone(),
                    location: l.clone(),
                    first_operator: first.clone(),
                })
                .collect(),
        }
    } else {
        let known = |item: &str, lot: &str| cf.lots.iter().any(|l| l.item_id == item && l.lot.as_str() == lot);
        let mut changes: Vec<Change> = r
            .variances
            .iter()
            .filter(|v| v.variance != 0 && known(&v.item, &v.lot))
            .filter_map(|v| {
                Some(Change::AdjustStock {
                    item_id: v.item.clone(),
                    lot: LotNo::new(&v.lot).ok()?,
                    location: v.location.clone(),
                    delta: v.variance,
                })
            })
            .collect();
        changes.push(Change::TaskStatus {
            task_id: c.task.id.clone(),
            status: TaskStatus::Done,
        });
        Action {
            command: Command::CountResult {
                task: c.task.id.clone(),
                variances: r.variances.clone(),
                uncounted: r.uncounted.clone(),
                findings: r.findings.clone(),
                accuracy: r.accuracy,
            },
            operator: Some(op.id.clone()),
            audit: AuditFacts {
                after: Some(
                    json!({"accuracy": r.accuracy, "lines": r.variances.len(), "uncounted": r.uncounted.len()}),
                ),
                ..audit(c)
            },
            changes,
        }
    };
    let mut t = Transition::to(home, vec![action]);
    t.outcome.extra = Some(extra);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tolerance_parses_units_and_percent() {
        let cases: [(&str, Option<Tolerance>); 12] = [
            ("2", Some(Tolerance::Units(2))),
            ("0", Some(Tolerance::Units(0))),
            (" 3 ", Some(Tolerance::Units(3))),
            ("5%", Some(Tolerance::Percent(5))),
            (" 10 % ", Some(Tolerance::Percent(10))),
            ("100%", Some(Tolerance::Percent(100))),
            ("101%", None),
            ("-1", None),
            ("2.5", None),
            ("", None),
            ("%", None),
            ("two", None),
        ];
        for (s, want) in cases {
            assert_eq!(Tolerance::parse(s), want, "{s:?}");
        }
    }

    #[test]
    fn tolerance_allows_units_or_a_percent_of_the_base_rounded_down() {
        let cases: [(Tolerance, i64, i64); 8] = [
            (Tolerance::Exact, 100, 0),
            (Tolerance::Exact, 0, 0),
            (Tolerance::Units(2), 100, 2),
            (Tolerance::Units(2), 0, 2),
            (Tolerance::Percent(5), 30, 1),
            (Tolerance::Percent(5), 19, 0),
            (Tolerance::Percent(100), 7, 7),
            (Tolerance::Percent(10), -5, 0),
        ];
        for (t, base, want) in cases {
            assert_eq!(t.allowed(base), want, "{t:?} of {base}");
        }
    }

    /// The warehouse of the property test: one item at the counted locations, `nlot` lots, the
    /// true stock, and what the test expects of each line (index `loc * nlot + lot`).
    struct World {
        nlot: usize,
        stock: Vec<i64>,
        /// Net movement since the snapshot, so far.
        moved: Vec<i64>,
        /// At each location's closing: its net movement and the counting error that stands.
        net: Vec<i64>,
        error: Vec<i64>,
        closed: Vec<bool>,
        last_id: i64,
        facts: CountFacts,
    }

    impl World {
        fn loc(l: usize) -> String {
            format!("L-{l}")
        }
        fn lot(t: usize) -> String {
            format!("LOT{t}")
        }

        /// Counts location `l` as it is now, each line off by `errors[i]` (never below zero),
        /// in two entries as two scans would, and closes it at the last movement id.
        fn close(&mut self, l: usize, errors: &[i64]) {
            self.closed[l] = true;
            for t in 0..self.nlot {
                let i = l * self.nlot + t;
                let e = errors[i].max(-self.stock[i]);
                self.error[i] = e;
                self.net[i] = self.moved[i];
                let counted = self.stock[i] + e;
                for qty in [counted / 2, counted - counted / 2] {
                    self.facts.entries.push(EntryFact {
                        location: Self::loc(l),
                        round: 1,
                        item_id: "I1".into(),
                        lot: Self::lot(t),
                        qty,
                    });
                }
            }
            self.facts.closed.push(ClosedFact {
                location: Self::loc(l),
                round: 1,
                operator: "cnt1".into(),
                at: String::new(),
                mark: self.last_id,
            });
        }

        /// Moves `qty` of lot `t` (at most what `from` holds); `None` is outside the count.
        fn apply(&mut self, from: Option<usize>, to: Option<usize>, t: usize, qty: i64) {
            let at = |l: usize| l * self.nlot + t;
            let qty = from.map_or(qty, |l| qty.min(self.stock[at(l)]));
            if qty == 0 || (from.is_none() && to.is_none()) {
                return;
            }
            if from != to {
                for (l, sign) in [(from, -1), (to, 1)] {
                    if let Some(l) = l {
                        self.stock[at(l)] += sign * qty;
                        self.moved[at(l)] += sign * qty;
                    }
                }
            }
            self.last_id += 1;
            self.facts.movements.push(MoveFact {
                id: self.last_id,
                command: format!("cmd-{}", self.last_id),
                operator: "pick1".into(),
                at: String::new(),
                item_id: "I1".into(),
                lot: Self::lot(t),
                from: from.map(Self::loc),
                to: to.map(Self::loc),
                qty,
            });
        }
    }

    type Plan = (
        usize,
        usize,
        Vec<i64>,
        Vec<(usize, usize, usize, i64)>,
        Vec<usize>,
        Vec<i64>,
    );

    /// Locations and lots, the snapshot's stock, movements (from, to, lot, qty; a location index
    /// of `nloc` is outside), before which movement each location is closed, and each line's
    /// counting error.
    fn plan() -> impl Strategy<Value = Plan> {
        (2usize..=3, 2usize..=3).prop_flat_map(|(nloc, nlot)| {
            (
                Just(nloc),
                Just(nlot),
                proptest::collection::vec(0i64..20, nloc * nlot),
                proptest::collection::vec((0..=nloc, 0..=nloc, 0..nlot, 1i64..12), 0..14),
                proptest::collection::vec(0usize..=14, nloc),
                proptest::collection::vec(-3i64..=3, nloc * nlot),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever moves while the count runs (between the counted locations, in and out), each
        /// line's variance is its counting error alone, and its movements are exactly those
        /// between the snapshot and its location's closing.
        #[test]
        fn reconcile_finds_the_counting_error_whatever_moved(
            (nloc, nlot, snap, moves, close_at, errors) in plan(),
        ) {
            let n = nloc * nlot;
            let mut w = World {
                nlot,
                stock: snap.clone(),
                moved: vec![0; n],
                net: vec![0; n],
                error: vec![0; n],
                closed: vec![false; nloc],
                last_id: 100,
                facts: CountFacts { started: true, snapshot_mark: 100, ..Default::default() },
            };
            // The last movement before the snapshot (the snapshot holds it): never in a window.
            w.facts.movements.push(MoveFact {
                id: 100,
                command: "cmd-100".into(),
                operator: "recv1".into(),
                at: String::new(),
                item_id: "I1".into(),
                lot: World::lot(0),
                from: None,
                to: Some(World::loc(0)),
                qty: 5,
            });
            for i in (0..n).filter(|i| snap[*i] > 0) {
                w.facts.snapshot.push(SnapLine {
                    location: World::loc(i / nlot),
                    item_id: "I1".into(),
                    lot: World::lot(i % nlot),
                    qty: snap[i],
                });
            }
            for k in 0..=moves.len() {
                for (l, at) in close_at.iter().enumerate() {
                    if (*at).min(moves.len()) == k {
                        w.close(l, &errors);
                    }
                }
                if let Some(&(from, to, t, qty)) = moves.get(k) {
                    w.apply((from < nloc).then_some(from), (to < nloc).then_some(to), t, qty);
                }
            }
            prop_assert!(w.closed.iter().all(|c| *c));

            let locs: Vec<String> = (0..nloc).map(World::loc).collect();
            let r = reconcile(&w.facts, &locs, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
            prop_assert!(r.uncounted.is_empty());
            for (i, &expected) in snap.iter().enumerate() {
                let (loc, lot) = (World::loc(i / nlot), World::lot(i % nlot));
                match r.variances.iter().find(|v| v.location == loc && v.lot == lot) {
                    Some(v) => {
                        prop_assert_eq!(v.variance, w.error[i], "variance of {}/{}", loc, lot);
                        prop_assert_eq!(v.moved, w.net[i], "moved of {}/{}", loc, lot);
                        prop_assert_eq!(v.expected, expected);
                        prop_assert_eq!(v.movements.iter().map(|m| m.qty).sum::<i64>(), w.net[i]);
                        prop_assert_eq!(v.recount, w.error[i] != 0);
                    }
                    // Left out only when there is nothing to say about it.
                    None => prop_assert!(expected == 0 && w.net[i] == 0 && w.error[i] == 0, "{}/{} left out", loc, lot),
                }
            }
            let off = w.error.iter().filter(|e| **e != 0).count();
            prop_assert_eq!(r.variances.iter().filter(|v| !v.within_tolerance).count(), off);
        }
    }
}
