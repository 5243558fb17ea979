//! The receive gate: an ASN (receipt task) or a blind receipt; goods scanned by their GS1,
//! HIBC/UDI or alias code, or whole pallets by SSCC; lot, expiry and quantity from the scan, the
//! ASN or the keypad; shelf-life, status and tolerance rules; confirmation; putaway to a
//! location whose kind and storage condition fit; labels; the task's summary.
//!
//! Steps: `receive.scan` → (`receive.lot` → `receive.expiry` → `receive.qty`, each only when
//! the scan and the ASN did not say) → `receive.confirm` → `receive.putaway` → `receive.scan`.

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::{
    Action, AuditFacts, Change, Effect, Event, Facts, LabelRequest, OpError, Outcome, State, Transition,
    override_action,
};
use crate::command::{Command, ReceiptSummary, ReceivedLine, SummaryLine};
use crate::ids::{LotNo, Sscc, parse_gs1_date, parse_iso_date};
use crate::lot::{Item, Lot, LotStatus};
use crate::operator::{Authorisation, Operator};
use crate::policy::{self, Evaluation, Gate, Scanned, Verdict};
use crate::reason::Reason;
use crate::scan::{Scan, ScanKind};
use crate::task::{LocationKind, TaskFacts, TaskKind, TaskStatus, tolerance_bounds};
use crate::text::Text;

/// The largest quantity one entry takes.
pub const MAX_QTY: i64 = 1_000_000;

/// A receipt in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Receive {
    /// The ASN, or `None` for a blind receipt. Its lines' `done` grow as lines are confirmed.
    pub task: Option<TaskFacts>,
    /// The receiving location where confirmed stock waits for putaway.
    pub dock: String,
    pub step: Step,
    /// Lines confirmed in this session, oldest first.
    pub done: Vec<Received>,
    /// A supervisor's authorisation standing for the next release.
    pub authorised: Option<Authorisation>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Scan,
    /// Waiting for the lot number of `pending.lines[i]`.
    Lot(Pending, usize),
    Expiry(Pending, usize),
    Qty(Pending, usize),
    Confirm(Pending),
    /// Confirmed stock at the dock, waiting for a location.
    Putaway(Vec<Received>),
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Scan => "receive.scan",
            Step::Lot(..) => "receive.lot",
            Step::Expiry(..) => "receive.expiry",
            Step::Qty(..) => "receive.qty",
            Step::Confirm(_) => "receive.confirm",
            Step::Putaway(_) => "receive.putaway",
        }
    }
}

/// What a scan started, before confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub scan: String,
    pub sscc: Option<Sscc>,
    pub lines: Vec<PendingLine>,
    pub authorised: Option<Authorisation>,
    pub reason: Option<String>,
    pub evaluation: Evaluation,
    /// A warning only a supervisor may let through (over-receipt, short shelf life, on hold).
    pub needs_supervisor: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingLine {
    pub item: Item,
    /// The ASN line it is received against.
    pub line_no: Option<u32>,
    pub lot: Option<LotNo>,
    /// The expiry on the label (or the ASN).
    pub expiry: Option<NaiveDate>,
    pub production_date: Option<NaiveDate>,
    pub qty: Option<u32>,
    pub net_weight_kg: Option<f64>,
    /// The cache's lot, when it exists.
    pub known: Option<Lot>,
    /// The goods' own barcode carries the lot: no label needed.
    pub labelled: bool,
}

impl PendingLine {
    /// The expiry the rules apply: the earlier of the label's and the cache's.
    fn applied_expiry(&self) -> Option<NaiveDate> {
        match (self.expiry, self.known.as_ref().and_then(|l| l.expiry)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A confirmed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub item: Item,
    pub lot: LotNo,
    pub expiry: Option<NaiveDate>,
    pub qty: u32,
    pub status: LotStatus,
    pub line_no: Option<u32>,
    pub labelled: bool,
    pub put_away: Option<String>,
}

fn name_en(i: &Item) -> String {
    format!("{} ({})", i.name_en, i.id)
}
fn name_zh(i: &Item) -> String {
    format!("{}({})", i.name_zh, i.id)
}

impl Receive {
    pub fn prompt(&self) -> Text {
        match &self.step {
            Step::Scan => match &self.task {
                Some(t) => Text::new(
                    format!("{}: scan the goods, or a pallet's SSCC label", t.id),
                    format!("{}:扫描货物,或托盘的 SSCC 标签", t.id),
                ),
                None => Text::new("Blind receipt: scan the goods' label", "盲收:扫描货物标签"),
            },
            Step::Lot(p, i) => {
                let it = &p.lines[*i].item;
                Text::new(
                    format!("Enter or scan the lot number of {}", name_en(it)),
                    format!("输入或扫描 {} 的批号", name_zh(it)),
                )
            }
            Step::Expiry(p, i) => {
                let l = &p.lines[*i];
                let lot = l.lot.as_ref().map(|l| l.as_str()).unwrap_or("");
                Text::new(
                    format!("Enter the expiry date of lot {lot} (YYMMDD or YYYY-MM-DD)"),
                    format!("输入批次 {lot} 的有效期(YYMMDD 或 YYYY-MM-DD)"),
                )
            }
            Step::Qty(p, i) => {
                let l = &p.lines[*i];
                let lot = l.lot.as_ref().map(|l| l.as_str()).unwrap_or("");
                Text::new(
                    format!("Enter the quantity of lot {lot} of {}", name_en(&l.item)),
                    format!("输入 {} 批次 {lot} 的数量", name_zh(&l.item)),
                )
            }
            Step::Confirm(p) if p.needs_supervisor && p.authorised.is_none() => Text::new(
                "A supervisor must authorise this receipt before it is confirmed",
                "此次收货须主管授权后才能确认",
            ),
            Step::Confirm(p) => match (&p.sscc, p.lines.as_slice()) {
                (None, [l]) => {
                    let lot = l.lot.as_ref().map(|l| l.as_str()).unwrap_or("");
                    let q = l.qty.unwrap_or(0);
                    Text::new(
                        format!("Confirm receipt: {q} × {}, lot {lot}", name_en(&l.item)),
                        format!("确认收货:{q} × {},批次 {lot}", name_zh(&l.item)),
                    )
                }
                (sscc, lines) => {
                    let s = sscc.as_ref().map(|s| s.as_str()).unwrap_or("");
                    let n = lines.len();
                    Text::new(
                        format!("Confirm receipt of pallet {s}: {n} line(s)"),
                        format!("确认托盘 {s} 收货:共 {n} 行"),
                    )
                }
            },
            Step::Putaway(lines) => {
                let what_en = lines
                    .iter()
                    .map(|r| format!("lot {} ({})", r.lot.as_str(), r.qty))
                    .collect::<Vec<_>>()
                    .join(", ");
                let what_zh = lines
                    .iter()
                    .map(|r| format!("批次 {}({})", r.lot.as_str(), r.qty))
                    .collect::<Vec<_>>()
                    .join("、");
                if lines.iter().any(|r| r.status == LotStatus::Quarantine) {
                    Text::new(
                        format!("Put away {what_en}: scan a quarantine location"),
                        format!("上架 {what_zh}:请扫描隔离库位"),
                    )
                } else {
                    Text::new(
                        format!("Put away {what_en}: scan the target location"),
                        format!("上架 {what_zh}:请扫描目标库位"),
                    )
                }
            }
        }
    }

    /// A lot was released while this receipt is open: putaway rules follow its new status.
    pub fn released(&mut self, item_id: &str, lot: &LotNo) {
        let upd = |r: &mut Received| {
            if r.item.id == item_id && r.lot == *lot {
                r.status = LotStatus::Released;
            }
        };
        self.done.iter_mut().for_each(upd);
        if let Step::Putaway(lines) = &mut self.step {
            lines.iter_mut().for_each(upd);
        }
    }

    /// The lots the shell should look up for `event` (beyond the item): `(item id, lot)`.
    pub fn lots_wanted(&self, event: &Event, item: Option<&Item>) -> Vec<(String, LotNo)> {
        let Event::Scan { raw, parsed } = event else {
            return vec![];
        };
        match &self.step {
            Step::Scan | Step::Confirm(_) => {
                let mut want = Vec::new();
                let Ok(scan) = parsed else { return want };
                if let (Some(sscc), Some(t)) = (&scan.fields.sscc, &self.task)
                    && scan.fields.gtin.is_none()
                    && contained_gtin(scan).is_none()
                {
                    for l in t.lines.iter().filter(|l| l.sscc.as_ref() == Some(sscc)) {
                        if let Some(lot) = &l.lot {
                            want.push((l.item.id.clone(), lot.clone()));
                        }
                    }
                }
                if let Some(item) = item {
                    if let Some(lot) = &scan.fields.lot {
                        want.push((item.id.clone(), lot.clone()));
                    }
                    if let Some(t) = &self.task {
                        for l in t.lines.iter().filter(|l| l.item.id == item.id) {
                            if let Some(lot) = &l.lot {
                                want.push((item.id.clone(), lot.clone()));
                            }
                        }
                    }
                }
                want
            }
            Step::Lot(p, i) => lot_from(raw, parsed)
                .ok()
                .map(|lot| vec![(p.lines[*i].item.id.clone(), lot)])
                .unwrap_or_default(),
            _ => vec![],
        }
    }
}

/// The key a scan names its item by: the GTIN, or for non-GS1 codes their device identifier
/// (imported as an alias).
///
/// A logistics label without (01) names its contents by (02), the GTIN of the trade items it
/// holds, with their count in (37).
pub fn item_code(scan: &Scan) -> Option<String> {
    match scan.kind {
        ScanKind::Sscc => None,
        ScanKind::Gs1 | ScanKind::DigitalLink | ScanKind::Gtin => scan
            .fields
            .gtin
            .as_ref()
            .map(|g| g.as_str().to_owned())
            .or_else(|| contained_gtin(scan)),
        _ => scan.fields.code.clone(),
    }
}

/// AI (02): the GTIN of the trade items a logistic unit contains.
pub(crate) fn contained_gtin(scan: &Scan) -> Option<String> {
    scan.ais.iter().find(|(ai, _)| ai == "02").map(|(_, v)| v.clone())
}

pub(crate) fn lot_from(raw: &str, parsed: &Result<Scan, String>) -> Result<LotNo, OpError> {
    if let Ok(s) = parsed
        && let Some(l) = &s.fields.lot
    {
        return Ok(l.clone());
    }
    LotNo::new(raw.trim()).map_err(|e| {
        OpError::new(
            "bad_lot",
            format!("'{}' is not a lot number: {}", raw.trim(), e.why),
            format!("「{}」不是有效的批号:须为 1 到 20 个 GS1 字符", raw.trim()),
        )
    })
}

fn expiry_from(raw: &str, parsed: &Result<Scan, String>, today: NaiveDate) -> Result<NaiveDate, OpError> {
    if let Ok(s) = parsed
        && let Some(d) = s.fields.expiry
    {
        return Ok(d);
    }
    let t = raw.trim();
    let d = if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
        parse_gs1_date(t, today, true).ok()
    } else {
        parse_iso_date(t).ok()
    };
    d.ok_or_else(|| {
        OpError::new(
            "bad_expiry",
            format!("'{t}' is not a date: enter YYMMDD (as on GS1 labels) or YYYY-MM-DD"),
            format!("「{t}」不是日期:请输入 YYMMDD(同 GS1 标签)或 YYYY-MM-DD"),
        )
    })
}

pub(crate) fn bad_qty(n: i64) -> OpError {
    OpError::new(
        "bad_quantity",
        format!("{n} is not a quantity: enter a whole number from 1 to {MAX_QTY}"),
        format!("{n} 不是有效数量:请输入 1 到 {MAX_QTY} 的整数"),
    )
}

/// Opens the receive gate on `task` (an ASN) or blind.
pub(crate) fn start(state: &State, op: &Operator, task: Option<String>, facts: &Facts) -> Transition {
    let Some(dock) = facts.dock.clone() else {
        return Transition::refuse(
            state,
            OpError::new(
                "no_receiving_location",
                "This site has no location of kind 'receiving' for received goods: import one",
                "本机没有类型为「收货」的库位来存放收到的货物:请导入一个",
            ),
        );
    };
    let task = match task {
        None => None,
        Some(id) => match super::open_task(&id, facts, TaskKind::Receipt) {
            Ok(t) => Some(t),
            Err(e) => return Transition::refuse(state, e),
        },
    };
    let action = super::task_started(op, Gate::Receive, task.as_ref());
    let r = Receive {
        task,
        dock,
        step: Step::Scan,
        done: vec![],
        authorised: None,
    };
    Transition::to(
        State::Receive {
            op: op.clone(),
            r: Box::new(r),
        },
        vec![action],
    )
}

fn with_step(op: &Operator, r: &Receive, step: Step) -> State {
    let mut r = r.clone();
    r.step = step;
    State::Receive {
        op: op.clone(),
        r: Box::new(r),
    }
}

fn audit(r: &Receive) -> AuditFacts {
    AuditFacts {
        gate: Some(Gate::Receive),
        task_id: r.task.as_ref().map(|t| t.id.clone()),
        ..Default::default()
    }
}

fn scan_action(
    op: &Operator,
    r: &Receive,
    scan: &str,
    ev: &Evaluation,
    item: Option<&Item>,
    lot: Option<&LotNo>,
) -> Action {
    let reasons: Vec<&'static str> = ev.verdict.reasons().iter().map(|r| r.code()).collect();
    Action {
        command: Command::Scan {
            gate: Gate::Receive.as_str().into(),
            task: r.task.as_ref().map(|t| t.id.clone()),
            scan: scan.to_owned(),
            verdict: ev.verdict.as_str().into(),
            reasons: reasons.iter().map(|s| (*s).to_owned()).collect(),
            item: item.map(|i| i.id.clone()),
            lot: lot.map(|l| l.as_str().to_owned()),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: item.map(|i| i.id.clone()),
            lot: lot.map(|l| l.as_str().to_owned()),
            scan: Some(scan.to_owned()),
            verdict: Some(ev.verdict.as_str()),
            reasons,
            ..audit(r)
        },
        changes: vec![],
    }
}

fn reject(reason: Reason) -> Evaluation {
    Evaluation {
        verdict: Verdict::Reject(vec![reason]),
        notes: vec![],
    }
}

pub(crate) fn step(
    state: &State,
    op: &Operator,
    r: &Receive,
    event: Event,
    facts: &Facts,
    _now: DateTime<FixedOffset>,
) -> Transition {
    let not_now = |e: &Event| Transition::refuse(state, OpError::not_now(e.op(), state));
    match (&r.step, event) {
        (Step::Scan | Step::Putaway(_), Event::Start { gate, task }) => super::start(state, op, gate, task, facts),
        (Step::Scan | Step::Putaway(_), Event::Release { gtin, lot }) => {
            super::release(state, op, r.authorised.as_ref(), &gtin, &lot, facts)
        }
        (Step::Scan | Step::Confirm(_), Event::Scan { raw, parsed }) => scan_goods(op, r, &raw, &parsed, facts),
        (Step::Lot(p, i), Event::Scan { raw, parsed }) => {
            let lot = match lot_from(&raw, &parsed) {
                Ok(l) => l,
                Err(e) => return Transition::refuse(state, e),
            };
            let mut p = p.clone();
            let line = &mut p.lines[*i];
            line.known = facts.lot(&line.item.id, &lot).cloned();
            line.lot = Some(lot);
            if let Ok(s) = &parsed
                && let Some(d) = s.fields.expiry
            {
                line.expiry = Some(d);
            }
            line.labelled = false;
            settle(op, r, p, &raw, facts.today, vec![])
        }
        (Step::Expiry(p, i), Event::Scan { raw, parsed }) => {
            let d = match expiry_from(&raw, &parsed, facts.today) {
                Ok(d) => d,
                Err(e) => return Transition::refuse(state, e),
            };
            let mut p = p.clone();
            p.lines[*i].expiry = Some(d);
            settle(op, r, p, &raw, facts.today, vec![])
        }
        (Step::Qty(p, i), Event::Qty(n)) => set_qty(state, op, r, p, *i, n, facts.today),
        (Step::Confirm(p), Event::Qty(n)) if p.lines.len() == 1 => set_qty(state, op, r, p, 0, n, facts.today),
        (Step::Confirm(_), Event::Qty(_)) => Transition::refuse(
            state,
            OpError::new(
                "pallet_quantity",
                "A pallet's quantities come from its ASN: to receive a different quantity, scan the goods' own labels",
                "托盘数量来自到货通知:如需按不同数量收货,请扫描货物自身的标签",
            ),
        ),
        (Step::Confirm(p), Event::Reason(code)) => {
            let code = code.trim().to_owned();
            if code.is_empty() {
                return Transition::refuse(
                    state,
                    OpError::new("reason_required", "The reason is empty", "理由为空"),
                );
            }
            let mut p = p.clone();
            p.reason = Some(code);
            Transition::to(with_step(op, r, Step::Confirm(p)), vec![])
        }
        (Step::Confirm(p), Event::Confirm) => confirm(state, op, r, p),
        (Step::Lot(..) | Step::Expiry(..) | Step::Qty(..), Event::Confirm) => Transition::refuse(
            state,
            OpError::new(
                "incomplete",
                format!("Not yet: {}", r.prompt().en),
                format!("尚不能确认:{}", r.prompt().zh),
            ),
        ),
        (Step::Putaway(lines), Event::Location(code)) => putaway(op, r, lines, &code, facts),
        (Step::Putaway(lines), Event::Scan { raw, .. }) => putaway(op, r, lines, raw.trim(), facts),
        (Step::Scan | Step::Putaway(_), Event::Label) => label(state, op, r),
        (Step::Scan | Step::Putaway(_), Event::Finish) => finish(op, r),
        (Step::Lot(..) | Step::Expiry(..) | Step::Qty(..) | Step::Confirm(_), Event::Finish) => Transition::refuse(
            state,
            OpError::new(
                "receipt_pending",
                format!("A scan is not confirmed yet: {} (or scan again)", r.prompt().en),
                format!("还有未确认的扫描:{}(或重新扫描)", r.prompt().zh),
            ),
        ),
        (_, e) => not_now(&e),
    }
}

fn set_qty(state: &State, op: &Operator, r: &Receive, p: &Pending, i: usize, n: i64, today: NaiveDate) -> Transition {
    if !(1..=MAX_QTY).contains(&n) {
        return Transition::refuse(state, bad_qty(n));
    }
    let mut p = p.clone();
    p.lines[i].qty = Some(n as u32);
    // An authorisation was for the quantity it saw.
    p.authorised = None;
    let line = &p.lines[i];
    let action = Action {
        command: Command::Quantity {
            task: r.task.as_ref().map(|t| t.id.clone()),
            item: line.item.id.clone(),
            lot: line.lot.as_ref().map(|l| l.as_str().to_owned()),
            qty: n as u32,
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: Some(line.item.id.clone()),
            lot: line.lot.as_ref().map(|l| l.as_str().to_owned()),
            after: Some(serde_json::json!({"qty": n})),
            ..audit(r)
        },
        changes: vec![],
    };
    let mut t = settle_inner(op, r, p, today);
    if let Some(Effect::Commit(a)) = t.effects.first_mut() {
        a.insert(0, action);
    } else {
        t.effects.insert(0, Effect::Commit(vec![action]));
    }
    t
}

/// A goods or pallet scan at `receive.scan` (or replacing an unconfirmed one).
fn scan_goods(op: &Operator, r: &Receive, raw: &str, parsed: &Result<Scan, String>, facts: &Facts) -> Transition {
    let scan = match parsed {
        Ok(s) => s,
        Err(detail) => {
            let ev = Evaluation::invalid_barcode(raw, detail);
            return refused(op, r, raw, ev, None, None);
        }
    };
    let shown = scan.raw.clone();
    // A pallet, unless its label says what it holds (AI 02 + 37: received as those goods).
    if let Some(sscc) = &scan.fields.sscc
        && scan.fields.gtin.is_none()
        && contained_gtin(scan).is_none()
    {
        let Some(t) = &r.task else {
            let ev = reject(Reason::SsccWithoutAsn {
                sscc: sscc.as_str().into(),
            });
            return refused(op, r, &shown, ev, None, None);
        };
        let lines: Vec<_> = t.lines.iter().filter(|l| l.sscc.as_ref() == Some(sscc)).collect();
        if lines.is_empty() {
            let ev = reject(Reason::SsccNotOnAsn {
                sscc: sscc.as_str().into(),
                task: t.id.clone(),
            });
            return refused(op, r, &shown, ev, None, None);
        }
        let open: Vec<_> = lines.into_iter().filter(|l| l.remaining() > 0).collect();
        if open.is_empty() {
            let ev = reject(Reason::SsccReceived {
                sscc: sscc.as_str().into(),
            });
            return refused(op, r, &shown, ev, None, None);
        }
        let plines = open
            .iter()
            .map(|l| PendingLine {
                item: l.item.clone(),
                line_no: Some(l.line_no),
                lot: l.lot.clone(),
                expiry: l.expiry,
                production_date: None,
                qty: Some(l.remaining()),
                net_weight_kg: None,
                known: l.lot.as_ref().and_then(|lot| facts.lot(&l.item.id, lot)).cloned(),
                labelled: false,
            })
            .collect();
        let p = pending(shown.clone(), Some(sscc.clone()), plines);
        return settle(op, r, p, &shown, facts.today, vec![]);
    }
    let Some(code) = item_code(scan) else {
        let ev = if scan.fields.sscc.is_some() {
            Evaluation::not_an_item(&shown, "SSCC pallet label")
        } else {
            Evaluation::invalid_barcode(&shown, "the barcode carries no GTIN (01)")
        };
        return refused(op, r, &shown, ev, None, None);
    };
    let Some(item) = &facts.item else {
        return refused(op, r, &shown, reject(Reason::UnknownItem { code }), None, None);
    };
    // The ASN line it is received against: the same lot first, then one still open.
    let mut line = None;
    if let Some(t) = &r.task {
        let of_item: Vec<_> = t.lines.iter().filter(|l| l.item.id == item.id).collect();
        if of_item.is_empty() {
            let ev = reject(Reason::WrongItem {
                scanned: item.name(),
                expected: crate::lot::names(t.lines.iter().map(|l| &l.item)),
            });
            return refused(op, r, &shown, ev, Some(item), scan.fields.lot.as_ref());
        }
        line = scan
            .fields
            .lot
            .as_ref()
            .and_then(|lot| of_item.iter().find(|l| l.lot.as_ref() == Some(lot)))
            .or_else(|| of_item.iter().find(|l| l.lot.is_none() && l.remaining() > 0))
            .or_else(|| of_item.iter().find(|l| l.remaining() > 0))
            .or_else(|| of_item.first())
            .copied();
    }
    // The lot: on the label, else the serial registry's for a serialised unit (an RFID tag),
    // else the ASN line's.
    let serial_lot = facts.serial_lot.as_ref().filter(|l| l.item_id == item.id);
    let lot = scan
        .fields
        .lot
        .clone()
        .or_else(|| serial_lot.map(|l| l.lot.clone()))
        .or_else(|| line.and_then(|l| l.lot.clone()));
    let expiry = scan.fields.expiry.or_else(|| line.and_then(|l| l.expiry));
    // Variable-measure goods: one case per scan, its net weight recorded.
    // A serialised unit (AI 21, an RFID tag) is one unit.
    let qty = match (scan.fields.quantity, scan.fields.net_weight_kg, &scan.fields.serial) {
        (Some(q), _, _) => Some(q.min(MAX_QTY as u64) as u32),
        (None, Some(_), _) | (None, None, Some(_)) => Some(1),
        _ => None,
    };
    let pl = PendingLine {
        item: item.clone(),
        line_no: line.map(|l| l.line_no),
        known: lot
            .as_ref()
            .and_then(|l| facts.lot(&item.id, l).or(serial_lot.filter(|s| s.lot == *l)))
            .cloned(),
        labelled: scan.fields.lot.is_some() || serial_lot.is_some(),
        lot,
        expiry,
        production_date: scan.fields.production_date,
        qty,
        net_weight_kg: scan.fields.net_weight_kg,
    };
    let p = pending(shown.clone(), None, vec![pl]);
    settle(op, r, p, &shown, facts.today, vec![])
}

fn pending(scan: String, sscc: Option<Sscc>, lines: Vec<PendingLine>) -> Pending {
    Pending {
        scan,
        sscc,
        lines,
        authorised: None,
        reason: None,
        evaluation: Evaluation {
            verdict: Verdict::Accept,
            notes: vec![],
        },
        needs_supervisor: false,
    }
}

/// A refused scan: recorded, and the gate waits for the next one.
fn refused(
    op: &Operator,
    r: &Receive,
    raw: &str,
    ev: Evaluation,
    item: Option<&Item>,
    lot: Option<&LotNo>,
) -> Transition {
    let action = scan_action(op, r, raw, &ev, item, lot);
    let mut t = Transition::to(with_step(op, r, Step::Scan), vec![action]);
    t.outcome.verdict = Some(ev.verdict);
    t.outcome.notes = ev.notes;
    t
}

/// Judges the pending receipt and moves to the next missing field, to confirmation, or (on a
/// reject) back to scanning; records the scan that got it here.
fn settle(op: &Operator, r: &Receive, p: Pending, raw: &str, today: NaiveDate, mut actions: Vec<Action>) -> Transition {
    let (item, lot) = p
        .lines
        .first()
        .map(|l| (Some(l.item.clone()), l.lot.clone()))
        .unwrap_or((None, None));
    let mut t = settle_inner(op, r, p, today);
    let ev = Evaluation {
        verdict: t.outcome.verdict.clone().unwrap_or(Verdict::Accept),
        notes: t.outcome.notes.clone(),
    };
    actions.push(scan_action(op, r, raw, &ev, item.as_ref(), lot.as_ref()));
    t.effects = vec![Effect::Commit(actions)];
    t
}

fn settle_inner(op: &Operator, r: &Receive, mut p: Pending, today: NaiveDate) -> Transition {
    let (ev, needs) = judge(r, &p, today);
    let outcome = Outcome {
        verdict: Some(ev.verdict.clone()),
        notes: ev.notes.clone(),
        ..Default::default()
    };
    if let Verdict::Reject(_) = ev.verdict {
        return Transition {
            next: with_step(op, r, Step::Scan),
            effects: vec![],
            outcome,
        };
    }
    p.evaluation = ev;
    p.needs_supervisor = needs;
    let missing = p.lines.iter().enumerate().find_map(|(i, l)| {
        if l.lot.is_none() {
            Some((0, i))
        } else if l.applied_expiry().is_none() && l.item.shelf_life_days.is_some() {
            Some((1, i))
        } else if l.qty.is_none() {
            Some((2, i))
        } else {
            None
        }
    });
    let step = match missing {
        Some((0, i)) => Step::Lot(p, i),
        Some((1, i)) => Step::Expiry(p, i),
        Some((_, i)) => Step::Qty(p, i),
        None => Step::Confirm(p),
    };
    Transition {
        next: with_step(op, r, step),
        effects: vec![],
        outcome,
    }
}

/// The rules for every line the pending receipt names so far.
pub fn judge(r: &Receive, p: &Pending, today: NaiveDate) -> (Evaluation, bool) {
    let mut reject = vec![];
    let mut warn = vec![];
    let mut notes = vec![];
    for (i, l) in p.lines.iter().enumerate() {
        let Some(lot) = &l.lot else { continue };
        let scanned = Scanned {
            code: l
                .item
                .gtin
                .as_ref()
                .map(|g| g.as_str().to_owned())
                .unwrap_or_else(|| l.item.id.clone()),
            gtin: l.item.gtin.clone(),
            lot: Some(lot.clone()),
            expiry: l.expiry,
            production_date: l.production_date,
        };
        let ev = policy::evaluate(
            Gate::Receive,
            &policy::Facts {
                scanned: &scanned,
                item: Some(&l.item),
                lot: l.known.as_ref(),
                expected_items: &[],
                customer: None,
                fefo: None,
            },
            today,
        );
        let (rj, wn) = match ev.verdict {
            Verdict::Accept => (vec![], vec![]),
            Verdict::Warn(w) => (vec![], w),
            Verdict::Reject(mut rj) => {
                // `evaluate` appends warnings to a reject; keep them apart.
                let w: Vec<_> = rj.iter().filter(|x| is_warning(x)).cloned().collect();
                rj.retain(|x| !is_warning(x));
                (rj, w)
            }
        };
        reject.extend(rj);
        // The expiry is asked for next: no warning for its absence.
        warn.extend(wn.into_iter().filter(|w| !matches!(w, Reason::MissingExpiry { .. })));
        notes.extend(ev.notes);
        // Over-receipt: what the ASN line already has, this session's earlier pending lines for
        // it, and this one.
        if let (Some(no), Some(q), Some(t)) = (l.line_no, l.qty, &r.task)
            && let Some(asn) = t.lines.iter().find(|a| a.line_no == no)
        {
            let earlier: u32 = p.lines[..i]
                .iter()
                .filter(|x| x.line_no == Some(no))
                .filter_map(|x| x.qty)
                .sum();
            let total = asn.done + earlier + q;
            let (_, max) = tolerance_bounds(asn.qty, t.tolerance_pct);
            if total > max {
                warn.push(Reason::OverReceipt {
                    item: l.item.name(),
                    expected: asn.qty,
                    received: total,
                    max,
                });
            }
        }
    }
    let needs = warn.iter().any(|w| {
        matches!(
            w,
            Reason::OverReceipt { .. } | Reason::BelowMinShelfLifeReceipt { .. } | Reason::OnHold { .. }
        )
    });
    let verdict = if !reject.is_empty() {
        reject.extend(warn);
        Verdict::Reject(reject)
    } else if !warn.is_empty() {
        Verdict::Warn(warn)
    } else {
        Verdict::Accept
    };
    (Evaluation { verdict, notes }, needs)
}

fn is_warning(r: &Reason) -> bool {
    matches!(
        r,
        Reason::NearExpiry { .. }
            | Reason::ExpiryMismatch { .. }
            | Reason::MissingExpiry { .. }
            | Reason::OnHold { .. }
    )
}

/// A supervisor authorises the pending receipt's warnings, or stands for the next release.
pub(crate) fn authorise(
    state: &State,
    op: &Operator,
    r: &Receive,
    auth: Authorisation,
    changes: Vec<Change>,
) -> Transition {
    match &r.step {
        Step::Confirm(p) if p.needs_supervisor => {
            let codes: Vec<String> = p
                .evaluation
                .verdict
                .reasons()
                .iter()
                .map(|x| x.code().to_owned())
                .collect();
            let first = p.lines.first();
            let action = override_action(
                op,
                &auth,
                codes,
                AuditFacts {
                    item_id: first.map(|l| l.item.id.clone()),
                    lot: first.and_then(|l| l.lot.as_ref()).map(|l| l.as_str().to_owned()),
                    scan: Some(p.scan.clone()),
                    verdict: Some(p.evaluation.verdict.as_str()),
                    reasons: p.evaluation.verdict.reasons().iter().map(|x| x.code()).collect(),
                    ..audit(r)
                },
                changes,
            );
            let mut p = p.clone();
            p.authorised = Some(auth);
            let mut t = Transition::to(with_step(op, r, Step::Confirm(p.clone())), vec![action]);
            t.outcome.verdict = Some(p.evaluation.verdict);
            t
        }
        Step::Scan | Step::Putaway(_) => {
            let action = override_action(op, &auth, vec!["release".into()], audit(r), changes);
            let mut r2 = r.clone();
            r2.authorised = Some(auth);
            Transition::to(
                State::Receive {
                    op: op.clone(),
                    r: Box::new(r2),
                },
                vec![action],
            )
        }
        _ => Transition::refuse(
            state,
            OpError::new(
                "nothing_to_authorise",
                "Nothing here needs a supervisor's authorisation",
                "当前没有需要主管授权的操作",
            ),
        ),
    }
}

fn confirm(state: &State, op: &Operator, r: &Receive, p: &Pending) -> Transition {
    if p.needs_supervisor && p.authorised.is_none() {
        let what_en = p
            .evaluation
            .verdict
            .reasons()
            .iter()
            .map(|x| x.message_en())
            .collect::<Vec<_>>()
            .join("; ");
        let what_zh = p
            .evaluation
            .verdict
            .reasons()
            .iter()
            .map(|x| x.message_zh())
            .collect::<Vec<_>>()
            .join(";");
        return Transition::refuse(
            state,
            OpError::new(
                "needs_supervisor",
                format!("A supervisor must authorise this receipt first: {what_en}"),
                format!("须先由主管授权此次收货:{what_zh}"),
            ),
        );
    }
    let task_id = r.task.as_ref().map(|t| t.id.clone());
    let mut changes = vec![];
    let mut lines = vec![];
    let mut received = vec![];
    let mut r2 = r.clone();
    for l in &p.lines {
        let (Some(lot), Some(qty)) = (&l.lot, l.qty) else {
            continue;
        };
        let expiry = l.applied_expiry();
        let status = match &l.known {
            Some(k) => k.status,
            None if l.item.requires_qc => LotStatus::Quarantine,
            None => LotStatus::Released,
        };
        let known_expiry = l.known.as_ref().and_then(|k| k.expiry);
        let expiry_before = match (known_expiry, expiry) {
            (Some(k), Some(e)) if e < k => Some(k.to_string()),
            _ => None,
        };
        changes.push(Change::UpsertLot {
            item_id: l.item.id.clone(),
            lot: lot.clone(),
            expiry,
            production_date: l.production_date.or(l.known.as_ref().and_then(|k| k.production_date)),
            status,
        });
        changes.push(Change::AddStock {
            item_id: l.item.id.clone(),
            lot: lot.clone(),
            location: r.dock.clone(),
            qty,
        });
        if let (Some(no), Some(t)) = (l.line_no, &task_id) {
            changes.push(Change::TaskLineDone {
                task_id: t.clone(),
                line_no: no,
                add: qty,
            });
            if let Some(asn) = r2
                .task
                .as_mut()
                .and_then(|t| t.lines.iter_mut().find(|a| a.line_no == no))
            {
                asn.done += qty;
            }
        }
        lines.push(ReceivedLine {
            item: l.item.id.clone(),
            gtin: l.item.gtin.as_ref().map(|g| g.as_str().to_owned()),
            lot: lot.as_str().to_owned(),
            expiry: expiry.map(|d| d.to_string()),
            qty,
            net_weight_kg: l.net_weight_kg,
            line: l.line_no,
            location: r.dock.clone(),
            lot_status: status.as_str().to_owned(),
            new_lot: l.known.is_none(),
            expiry_before,
        });
        received.push(Received {
            item: l.item.clone(),
            lot: lot.clone(),
            expiry,
            qty,
            status,
            line_no: l.line_no,
            labelled: l.labelled,
            put_away: None,
        });
    }
    let warnings: Vec<String> = p
        .evaluation
        .verdict
        .reasons()
        .iter()
        .map(|x| x.code().to_owned())
        .collect();
    let single = (p.lines.len() == 1).then(|| &lines[0]);
    let action = Action {
        command: Command::Receive {
            task: task_id,
            scan: p.scan.clone(),
            sscc: p.sscc.as_ref().map(|s| s.as_str().to_owned()),
            lines: lines.clone(),
            verdict: p.evaluation.verdict.as_str().into(),
            warnings,
            authorised_by: p.authorised.as_ref().map(|a| a.supervisor.clone()),
            reason: p
                .reason
                .clone()
                .or_else(|| p.authorised.as_ref().map(|a| a.reason.clone())),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: single.map(|l| l.item.clone()),
            lot: single.map(|l| l.lot.clone()),
            location: Some(r.dock.clone()),
            scan: Some(p.scan.clone()),
            verdict: Some(p.evaluation.verdict.as_str()),
            reasons: p.evaluation.verdict.reasons().iter().map(|x| x.code()).collect(),
            reason: p
                .reason
                .clone()
                .or_else(|| p.authorised.as_ref().map(|a| a.reason.clone())),
            authorised_by: p.authorised.as_ref().map(|a| a.supervisor.clone()),
            before: Some(serde_json::json!(
                p.lines
                    .iter()
                    .map(|l| serde_json::json!({
                        "item": l.item.id,
                        "lot": l.lot.as_ref().map(|x| x.as_str()),
                        "lot_known": l.known.is_some(),
                        "expiry": l.known.as_ref().and_then(|k| k.expiry).map(|d| d.to_string()),
                        "status": l.known.as_ref().map(|k| k.status.as_str()),
                    }))
                    .collect::<Vec<_>>()
            )),
            after: Some(serde_json::to_value(&lines).unwrap_or_default()),
            ..audit(r)
        },
        changes,
    };
    r2.done.extend(received.iter().cloned());
    r2.step = Step::Putaway(received);
    let mut t = Transition::to(
        State::Receive {
            op: op.clone(),
            r: Box::new(r2),
        },
        vec![action],
    );
    t.outcome.verdict = Some(p.evaluation.verdict.clone());
    t.outcome.notes = p.evaluation.notes.clone();
    t
}

fn putaway(op: &Operator, r: &Receive, lines: &[Received], code: &str, facts: &Facts) -> Transition {
    let Some(loc) = facts.location.as_ref().filter(|l| l.code == code) else {
        let ev = reject(Reason::UnknownLocation { code: code.to_owned() });
        return refused_at(op, r, code, ev);
    };
    let mut rj = vec![];
    for l in lines {
        let lot = l.lot.as_str().to_owned();
        if l.status == LotStatus::Quarantine {
            if loc.kind != LocationKind::Quarantine {
                rj.push(Reason::QuarantineLocationRequired {
                    lot,
                    location: loc.code.clone(),
                });
            }
        } else if !matches!(loc.kind, LocationKind::Pick | LocationKind::Reserve) {
            rj.push(Reason::WrongLocationKind {
                location: loc.code.clone(),
                kind: loc.kind.as_str().to_owned(),
            });
        }
        if l.item.storage != loc.storage {
            rj.push(Reason::StorageMismatch {
                item: l.item.name(),
                needs: l.item.storage.as_str().to_owned(),
                location: loc.code.clone(),
                has: loc.storage.as_str().to_owned(),
            });
        }
    }
    rj.dedup();
    if !rj.is_empty() {
        return refused_at(
            op,
            r,
            code,
            Evaluation {
                verdict: Verdict::Reject(rj),
                notes: vec![],
            },
        );
    }
    let task_id = r.task.as_ref().map(|t| t.id.clone());
    let actions = lines
        .iter()
        .map(|l| Action {
            command: Command::Putaway {
                task: task_id.clone(),
                item: l.item.id.clone(),
                lot: l.lot.as_str().to_owned(),
                qty: l.qty,
                from: r.dock.clone(),
                to: loc.code.clone(),
            },
            operator: Some(op.id.clone()),
            audit: AuditFacts {
                item_id: Some(l.item.id.clone()),
                lot: Some(l.lot.as_str().to_owned()),
                location: Some(loc.code.clone()),
                verdict: Some("accept"),
                before: Some(serde_json::json!({"location": r.dock, "qty": l.qty})),
                after: Some(serde_json::json!({"location": loc.code, "qty": l.qty})),
                ..audit(r)
            },
            changes: vec![Change::MoveStock {
                item_id: l.item.id.clone(),
                lot: l.lot.clone(),
                from: r.dock.clone(),
                to: loc.code.clone(),
                qty: l.qty,
            }],
        })
        .collect();
    let mut r2 = r.clone();
    // Mark this session's confirmed lines as put away (the newest matching ones).
    for l in lines {
        if let Some(d) = r2
            .done
            .iter_mut()
            .rev()
            .find(|d| d.put_away.is_none() && d.item.id == l.item.id && d.lot == l.lot && d.qty == l.qty)
        {
            d.put_away = Some(loc.code.clone());
        }
    }
    r2.step = Step::Scan;
    let mut t = Transition::to(
        State::Receive {
            op: op.clone(),
            r: Box::new(r2),
        },
        actions,
    );
    t.outcome.verdict = Some(Verdict::Accept);
    t
}

/// A refused location at putaway: recorded; the stock stays at the dock, waiting.
fn refused_at(op: &Operator, r: &Receive, code: &str, ev: Evaluation) -> Transition {
    let mut action = scan_action(op, r, code, &ev, None, None);
    action.audit.location = Some(code.to_owned());
    let mut t = Transition::to(with_step(op, r, r.step.clone()), vec![action]);
    t.outcome.verdict = Some(ev.verdict);
    t
}

fn label(state: &State, op: &Operator, r: &Receive) -> Transition {
    let target = match &r.step {
        Step::Putaway(lines) => lines.last(),
        _ => r.done.last(),
    };
    let Some(l) = target else {
        return Transition::refuse(
            state,
            OpError::new(
                "nothing_to_label",
                "Nothing received yet to print a label for",
                "还没有收货,无法打印标签",
            ),
        );
    };
    let Some(gtin) = &l.item.gtin else {
        return Transition::refuse(
            state,
            OpError::new(
                "label_needs_gtin",
                format!("{} has no GTIN, so no GS1 label can be made for it", name_en(&l.item)),
                format!("{} 没有 GTIN,无法生成 GS1 标签", name_zh(&l.item)),
            ),
        );
    };
    let action = Action {
        command: Command::LabelPrinted {
            item: l.item.id.clone(),
            gtin: gtin.as_str().to_owned(),
            lot: l.lot.as_str().to_owned(),
            expiry: l.expiry.map(|d| d.to_string()),
            qty: l.qty,
            element_string: String::new(),
            printer: String::new(),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: Some(l.item.id.clone()),
            lot: Some(l.lot.as_str().to_owned()),
            ..audit(r)
        },
        changes: vec![],
    };
    Transition {
        next: state.clone(),
        effects: vec![Effect::PrintLabel {
            label: LabelRequest {
                item: l.item.clone(),
                lot: l.lot.clone(),
                expiry: l.expiry,
                qty: l.qty,
            },
            action,
        }],
        outcome: Outcome::default(),
    }
}

/// The task's summary: each ASN line received, short, over or not received; lots that went to
/// quarantine; stock still at the dock.
pub fn summary(r: &Receive) -> (ReceiptSummary, Vec<Reason>) {
    let mut s = ReceiptSummary::default();
    let mut warn = vec![];
    match &r.task {
        Some(t) => {
            for l in &t.lines {
                let (min, max) = tolerance_bounds(l.qty, t.tolerance_pct);
                let status = if l.done == 0 {
                    "not_received"
                } else if l.done < min {
                    "short"
                } else if l.done > max {
                    "over"
                } else {
                    "received"
                };
                if l.done < min {
                    warn.push(Reason::UnderReceipt {
                        item: l.item.name(),
                        expected: l.qty,
                        received: l.done,
                        min,
                    });
                }
                s.lines.push(SummaryLine {
                    line: l.line_no,
                    item: l.item.id.clone(),
                    expected: l.qty,
                    received: l.done,
                    status: status.into(),
                });
            }
        }
        None => {
            for (i, d) in r.done.iter().enumerate() {
                s.lines.push(SummaryLine {
                    line: i as u32 + 1,
                    item: d.item.id.clone(),
                    expected: 0,
                    received: d.qty,
                    status: "received".into(),
                });
            }
        }
    }
    for d in &r.done {
        let key = format!("{}/{}", d.item.id, d.lot.as_str());
        if d.status == LotStatus::Quarantine && !s.quarantined.contains(&key) {
            s.quarantined.push(key.clone());
        }
        if d.put_away.is_none() {
            s.awaiting_putaway.push(format!("{key} {}", d.qty));
        }
    }
    (s, warn)
}

fn finish(op: &Operator, r: &Receive) -> Transition {
    let (summary, warn) = summary(r);
    let task_id = r.task.as_ref().map(|t| t.id.clone());
    let mut changes = vec![];
    if let Some(t) = &task_id {
        changes.push(Change::TaskStatus {
            task_id: t.clone(),
            status: TaskStatus::Done,
        });
    }
    let verdict = if warn.is_empty() {
        Verdict::Accept
    } else {
        Verdict::Warn(warn)
    };
    let action = Action {
        command: Command::TaskFinished {
            task: task_id,
            gate: Gate::Receive.as_str().into(),
            summary: summary.clone(),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            verdict: Some(verdict.as_str()),
            reasons: verdict.reasons().iter().map(|x| x.code()).collect(),
            after: Some(serde_json::to_value(&summary).unwrap_or_default()),
            ..audit(r)
        },
        changes,
    };
    let mut t = Transition::to(
        State::Home {
            op: op.clone(),
            authorised: None,
        },
        vec![action],
    );
    t.outcome.verdict = Some(verdict);
    t.outcome.summary = Some(summary);
    t
}
