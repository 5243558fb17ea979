//! The pick gate: a pick task's lines in order, each guided location → item → lot → quantity
//! (→ serials) → confirmation, with FEFO suggestions that honour the customer's minimum remaining
//! shelf life, every block of the verdict engine, coded reasons for another lot than FEFO's and
//! for short lines (which raise a count of the location), and the GSP second check (出库复核) of
//! regulated items by another operator with the checker role.
//!
//! Steps: `pick.location` → `pick.item` → (`pick.lot`) → (`pick.reason`) → `pick.qty` →
//! (`pick.serial`) → `pick.confirm` → (`pick.check`) → the next line's `pick.location`, or
//! `pick.done` when every line is picked or short.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::json;

use super::receive::{MAX_QTY, bad_qty, item_code, lot_from};
use super::{Action, AuditFacts, Change, Event, Facts, OpError, State, StockFact, TagFact, Transition, check_pin};
use crate::command::{Command, PickLineResult, PickedLot};
use crate::ids::LotNo;
use crate::lot::{Customer, FefoCandidate, Item, Lot, LotStatus};
use crate::operator::{Operator, Role};
use crate::policy::{self, Evaluation, Gate, Scanned, Verdict};
use crate::reason::{FEFO_OVERRIDE_REASONS, Reason};
use crate::scan::Scan;
use crate::task::{AsnLine, LocationKind, TaskFacts, TaskKind, TaskStatus};
use crate::text::Text;

/// Why a line is short: (code, English, Chinese).
pub const SHORT_REASONS: [(&str, &str, &str); 3] = [
    ("not_found", "Not found in the location", "库位中未找到"),
    ("damaged", "Damaged", "货物破损"),
    ("short_in_location", "Not enough in the location", "库位数量不足"),
];

/// The lot FEFO says to pick for a line, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub lot: Lot,
    pub location: String,
    /// How many of it the location holds.
    pub available: u32,
    /// Days left and the near-expiry tier it falls in, if it does.
    pub near_expiry: Option<(i64, u32)>,
}

/// The FEFO suggestion for `line`: the earliest-expiring released, unexpired lot in a pick
/// location (the line's location and lot only, when it names them) whose remaining shelf life
/// meets the customer's minimum; one holding enough for the line first, else the earliest.
pub fn suggest(
    line: &AsnLine,
    customer: Option<&Customer>,
    stock: &[StockFact],
    today: NaiveDate,
) -> Option<Suggestion> {
    let need = line.open().max(1);
    let min_days = i64::from(customer.and_then(|c| c.min_remaining_days).unwrap_or(0));
    let mut c: Vec<&StockFact> = stock
        .iter()
        .filter(|s| {
            s.item_id == line.item.id
                && s.qty > 0
                && s.location.kind == LocationKind::Pick
                && s.lot.status == LotStatus::Released
                && line.location.as_ref().is_none_or(|l| *l == s.location.code)
                && line.lot.as_ref().is_none_or(|l| *l == s.lot.lot)
                && match s.lot.expiry {
                    Some(e) => e >= today && (e - today).num_days() >= min_days,
                    None => line.item.shelf_life_days.is_none(),
                }
        })
        .collect();
    c.sort_by(|a, b| {
        (a.lot.expiry.is_none(), a.lot.expiry, &a.location.code).cmp(&(
            b.lot.expiry.is_none(),
            b.lot.expiry,
            &b.location.code,
        ))
    });
    let best = c.iter().find(|s| s.qty >= need).or(c.first())?;
    let near_expiry = best.lot.expiry.and_then(|e| {
        let left = (e - today).num_days();
        policy::near_expiry_tier(&line.item.near_expiry_days, left).map(|t| (left, t))
    });
    Some(Suggestion {
        lot: best.lot.clone(),
        location: best.location.code.clone(),
        available: best.qty,
        near_expiry,
    })
}

/// What the task list shows for a line before the picker gets there.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlan {
    pub line_no: u32,
    pub item: Item,
    pub qty: u32,
    pub open: u32,
    pub suggestion: Option<Suggestion>,
}

/// Each line of a pick task with its suggestion.
pub fn plan(task: &TaskFacts, stock: &[StockFact], today: NaiveDate) -> Vec<LinePlan> {
    task.lines
        .iter()
        .map(|l| LinePlan {
            line_no: l.line_no,
            item: l.item.clone(),
            qty: l.qty,
            open: l.open(),
            suggestion: suggest(l, task.customer.as_ref(), stock, today),
        })
        .collect()
}

/// A pick in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    /// The task, its lines' picked, short and checked quantities kept up to date.
    pub task: TaskFacts,
    /// The current line (index into `task.lines`).
    pub line: usize,
    pub step: Step,
    pub suggestion: Option<Suggestion>,
    pub cur: Current,
}

/// What the current line has gathered since its location was scanned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    pub location: Option<String>,
    pub lot: Option<Lot>,
    /// Stock of the lot at the location.
    pub available: u32,
    pub scan: String,
    pub warnings: Vec<String>,
    pub override_reason: Option<String>,
    pub qty: Option<u32>,
    pub serials: Vec<String>,
}

/// A picked line waiting for its second check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub line_no: u32,
    pub item: Item,
    pub lot: String,
    pub qty: u32,
    pub picker: String,
    /// The checker has scanned the goods.
    pub scanned: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Location,
    Item,
    Lot,
    Reason,
    Qty,
    Serial,
    Confirm,
    Check(Box<Check>),
    Done,
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Location => "pick.location",
            Step::Item => "pick.item",
            Step::Lot => "pick.lot",
            Step::Reason => "pick.reason",
            Step::Qty => "pick.qty",
            Step::Serial => "pick.serial",
            Step::Confirm => "pick.confirm",
            Step::Check(_) => "pick.check",
            Step::Done => "pick.done",
        }
    }
}

impl Pick {
    pub fn line(&self) -> Option<&AsnLine> {
        self.task.lines.get(self.line)
    }

    /// Moves to the first line still open, with its suggestion (or to `pick.done`).
    fn next_line(&mut self, stock: &[StockFact], today: NaiveDate) {
        self.cur = Current::default();
        match self.task.lines.iter().position(|l| l.open() > 0) {
            Some(i) => {
                self.line = i;
                self.step = Step::Location;
                self.suggestion = suggest(&self.task.lines[i], self.task.customer.as_ref(), stock, today);
            }
            None => {
                self.step = Step::Done;
                self.suggestion = None;
            }
        }
    }

    pub fn prompt(&self) -> Text {
        let n = self.task.lines.len();
        let Some(l) = self.line() else {
            return Text::new("This pick has no lines: finish it", "此拣货任务没有明细:请结束任务");
        };
        let name = l.item.name();
        let lot_name = self.cur.lot.as_ref().map(|x| x.lot.as_str()).unwrap_or("");
        let loc = self.cur.location.as_deref().unwrap_or("");
        match &self.step {
            Step::Location => match &self.suggestion {
                Some(s) => {
                    let exp = s.lot.expiry.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
                    let (ne_en, ne_zh) = match s.near_expiry {
                        Some((d, t)) => (
                            format!(" — near expiry: {d} days left ({t}-day tier)"),
                            format!(" — 临期:剩余 {d} 天({t} 天预警)"),
                        ),
                        None => (String::new(), String::new()),
                    };
                    Text::new(
                        format!(
                            "Line {} of {n}: {} × {} — go to {} and scan the location; lot {} (expires {exp}){ne_en}",
                            l.line_no,
                            l.open(),
                            name.en,
                            s.location,
                            s.lot.lot.as_str()
                        ),
                        format!(
                            "第 {} 行(共 {n} 行):{} × {} — 请到 {} 扫描库位;批次 {}(有效期至 {exp}){ne_zh}",
                            l.line_no,
                            l.open(),
                            name.zh,
                            s.location,
                            s.lot.lot.as_str()
                        ),
                    )
                }
                None => Text::new(
                    format!(
                        "Line {} of {n}: no lot of {} can be picked for this order (released, unexpired, in a pick location, long enough for the customer): declare the line short",
                        l.line_no, name.en
                    ),
                    format!(
                        "第 {} 行(共 {n} 行):{} 没有可拣的批次(已放行、未过期、在拣货库位、满足客户效期):请登记缺货",
                        l.line_no, name.zh
                    ),
                ),
            },
            Step::Item => Text::new(
                format!("At {loc}: scan {}", name.en),
                format!("在 {loc}:请扫描 {}", name.zh),
            ),
            Step::Lot => Text::new(
                format!("Scan or enter the lot number of {}", name.en),
                format!("请扫描或输入 {} 的批号", name.zh),
            ),
            Step::Reason => {
                let s = self.suggestion.as_ref().map(|s| s.lot.lot.as_str()).unwrap_or("");
                Text::new(
                    format!(
                        "Lot {lot_name} is not the first to expire (FEFO says lot {s}): choose why you pick it, or scan lot {s}"
                    ),
                    format!("批次 {lot_name} 不是最先到期的批次(先到期先出建议批次 {s}):请选择原因,或改扫批次 {s}"),
                )
            }
            Step::Qty => Text::new(
                format!(
                    "Enter the quantity of lot {lot_name} ({} still to pick, {} at {loc})",
                    l.open(),
                    self.cur.available
                ),
                format!(
                    "请输入批次 {lot_name} 的数量(尚需 {},{loc} 有 {})",
                    l.open(),
                    self.cur.available
                ),
            ),
            Step::Serial => {
                let q = self.cur.qty.unwrap_or(0);
                let got = self.cur.serials.len();
                Text::new(
                    format!("Scan each unit's serial (or read its tag): {got} of {q}"),
                    format!("请逐件扫描序列号(或读取标签):已扫 {got} / {q}"),
                )
            }
            Step::Confirm => {
                let q = self.cur.qty.unwrap_or(0);
                Text::new(
                    format!("Confirm pick: {q} × {}, lot {lot_name} from {loc}", name.en),
                    format!("确认拣货:{q} × {},批次 {lot_name},库位 {loc}", name.zh),
                )
            }
            Step::Check(c) => {
                let n = c.item.name();
                if c.scanned {
                    Text::new(
                        "Second check: the checker enters their operator id and PIN",
                        "出库复核:复核员输入操作员编号和密码",
                    )
                } else {
                    Text::new(
                        format!(
                            "Second check (regulated goods): a checker scans {} lot {} × {}, then enters their id and PIN",
                            n.en, c.lot, c.qty
                        ),
                        format!(
                            "出库复核(监管商品):复核员扫描 {} 批次 {} × {},然后输入编号和密码",
                            n.zh, c.lot, c.qty
                        ),
                    )
                }
            }
            Step::Done => Text::new(
                "Every line is picked or short: finish the task",
                "所有明细已拣完或登记缺货:请结束任务",
            ),
        }
    }

    /// The lots the shell should look up for `event`, beyond the item: `(item id, lot)`.
    pub fn lots_wanted(&self, event: &Event, item: Option<&Item>) -> Vec<(String, LotNo)> {
        let Event::Scan { raw, parsed } = event else {
            return vec![];
        };
        match (&self.step, item) {
            (Step::Lot, _) => {
                let Some(l) = self.line() else { return vec![] };
                lot_from(raw, parsed)
                    .ok()
                    .map(|lot| vec![(l.item.id.clone(), lot)])
                    .unwrap_or_default()
            }
            (_, Some(item)) => parsed
                .as_ref()
                .ok()
                .and_then(|s| s.fields.lot.clone())
                .map(|lot| vec![(item.id.clone(), lot)])
                .unwrap_or_default(),
            _ => vec![],
        }
    }

    /// Whether a scan at this step is a location (not goods).
    pub fn wants_location(&self) -> bool {
        matches!(self.step, Step::Location)
    }
}

fn with(op: &Operator, p: Pick) -> State {
    State::Pick {
        op: op.clone(),
        p: Box::new(p),
    }
}

fn audit(p: &Pick) -> AuditFacts {
    AuditFacts {
        gate: Some(Gate::Pick),
        task_id: Some(p.task.id.clone()),
        ..Default::default()
    }
}

fn scan_action(op: &Operator, p: &Pick, raw: &str, ev: &Evaluation, item: Option<&str>, lot: Option<&str>) -> Action {
    let reasons: Vec<&'static str> = ev.verdict.reasons().iter().map(|r| r.code()).collect();
    Action {
        command: Command::Scan {
            gate: Gate::Pick.as_str().into(),
            task: Some(p.task.id.clone()),
            scan: raw.to_owned(),
            verdict: ev.verdict.as_str().into(),
            reasons: reasons.iter().map(|s| (*s).to_owned()).collect(),
            item: item.map(str::to_owned),
            lot: lot.map(str::to_owned),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: item.map(str::to_owned),
            lot: lot.map(str::to_owned),
            location: p.cur.location.clone(),
            scan: Some(raw.to_owned()),
            verdict: Some(ev.verdict.as_str()),
            reasons,
            ..audit(p)
        },
        changes: vec![],
    }
}

/// A scan judged: recorded, and the state moves to `next` (the same step on a reject).
fn judged(
    op: &Operator,
    p: &Pick,
    next: Pick,
    raw: &str,
    ev: Evaluation,
    item: Option<&str>,
    lot: Option<&str>,
) -> Transition {
    let action = scan_action(op, p, raw, &ev, item, lot);
    let mut t = Transition::to(with(op, next), vec![action]);
    t.outcome.verdict = Some(ev.verdict);
    t.outcome.notes = ev.notes;
    t
}

fn reject(reason: Reason) -> Evaluation {
    Evaluation {
        verdict: Verdict::Reject(vec![reason]),
        notes: vec![],
    }
}

fn accept() -> Evaluation {
    Evaluation {
        verdict: Verdict::Accept,
        notes: vec![],
    }
}

pub(crate) fn start(state: &State, op: &Operator, task: Option<String>, facts: &Facts) -> Transition {
    let Some(id) = task else {
        return super::task_required(state, Gate::Pick);
    };
    let t = match super::open_task(&id, facts, TaskKind::Pick) {
        Ok(t) => t,
        Err(e) => return Transition::refuse(state, e),
    };
    let action = super::task_started(op, Gate::Pick, Some(&t));
    let mut p = Pick {
        task: t,
        line: 0,
        step: Step::Location,
        suggestion: None,
        cur: Current::default(),
    };
    // A regulated line picked before (this task was left) and not checked yet: check it first.
    let unchecked = p
        .task
        .lines
        .iter()
        .position(|l| l.item.regulated && l.done > 0 && l.checked_by.is_none());
    match unchecked {
        Some(i) => {
            let l = &p.task.lines[i];
            // Each pick of a regulated line is checked before the next op, so what waits is
            // the line's last pick.
            let last = facts.picks.iter().rfind(|x| x.line_no == l.line_no);
            let lot = last.map(|x| x.lot.clone()).unwrap_or_default();
            let picker = last.map(|x| x.operator.clone()).unwrap_or_default();
            p.line = i;
            p.step = Step::Check(Box::new(Check {
                line_no: l.line_no,
                item: l.item.clone(),
                lot,
                qty: last.map_or(l.done, |x| x.qty),
                picker,
                scanned: false,
            }));
        }
        None => p.next_line(&facts.stock, facts.today),
    }
    Transition::to(with(op, p), vec![action])
}

pub(crate) fn step(
    state: &State,
    op: &Operator,
    p: &Pick,
    event: Event,
    facts: &Facts,
    now: DateTime<FixedOffset>,
) -> Transition {
    let not_now = |e: &Event| Transition::refuse(state, OpError::not_now(e.op(), state));
    let fresh = p.cur == Current::default();
    match (&p.step, event) {
        (Step::Done, Event::Start { gate, task }) => super::start(state, op, gate, task, facts),
        (Step::Location, Event::Start { gate, task }) if fresh => super::start(state, op, gate, task, facts),
        (Step::Location | Step::Item | Step::Lot | Step::Reason | Step::Qty | Step::Confirm, Event::Location(code)) => {
            at_location(op, p, code.trim(), facts)
        }
        (Step::Location, Event::Scan { raw, .. }) => at_location(op, p, raw.trim(), facts),
        (Step::Item | Step::Reason | Step::Qty | Step::Confirm, Event::Scan { raw, parsed }) => {
            goods(op, p, &raw, &parsed, facts)
        }
        (Step::Lot, Event::Scan { raw, parsed }) => {
            let lot = match lot_from(&raw, &parsed) {
                Ok(l) => l,
                Err(e) => return Transition::refuse(state, e),
            };
            let Some(line) = p.line() else {
                return not_now(&Event::Scan { raw, parsed });
            };
            let item = line.item.clone();
            judge(op, p, &raw, &item, &lot, None, None, facts)
        }
        (Step::Reason, Event::Reason(code)) => give_reason(state, op, p, code.trim()),
        (Step::Qty | Step::Confirm, Event::Qty(n)) => set_qty(state, op, p, n),
        (Step::Serial, Event::Scan { raw, parsed }) => serial_scan(op, p, &raw, &parsed, facts),
        (Step::Serial, Event::Tags) => serial_tags(op, p, &facts.tags),
        (Step::Confirm, Event::Confirm) => confirm(op, p, facts),
        (Step::Item | Step::Lot | Step::Reason | Step::Qty | Step::Serial, Event::Confirm) => Transition::refuse(
            state,
            OpError::new(
                "incomplete",
                format!("Not yet: {}", p.prompt().en),
                format!("尚不能确认:{}", p.prompt().zh),
            ),
        ),
        (Step::Check(c), Event::Scan { raw, parsed }) => check_scan(op, p, c, &raw, &parsed, facts),
        (Step::Check(c), Event::SecondCheck { operator }) => second_check(state, op, p, c, &operator, facts, now),
        (
            Step::Location | Step::Item | Step::Lot | Step::Reason | Step::Qty | Step::Serial | Step::Confirm,
            Event::Short(code),
        ) => short(state, op, p, code.trim(), facts),
        (Step::Done, Event::Finish) => finish(op, p, facts),
        (Step::Check(_), Event::Finish | Event::Short(_)) => Transition::refuse(
            state,
            OpError::new(
                "check_pending",
                "This line waits for its second check: a checker must scan the goods and enter their PIN",
                "本行等待出库复核:须由复核员扫描货物并输入密码",
            ),
        ),
        (Step::Location, Event::Finish) if fresh => {
            let open: Vec<String> = p
                .task
                .lines
                .iter()
                .filter(|l| l.open() > 0)
                .map(|l| l.line_no.to_string())
                .collect();
            Transition::refuse(
                state,
                OpError::new(
                    "lines_open",
                    format!(
                        "Line(s) {} are neither picked nor declared short: pick them, or declare them short with a reason",
                        open.join(", ")
                    ),
                    format!(
                        "第 {} 行既未拣完也未登记缺货:请拣货,或登记缺货并说明原因",
                        open.join("、")
                    ),
                ),
            )
        }
        (_, Event::Finish) => Transition::refuse(
            state,
            OpError::new(
                "pick_pending",
                format!("A line is being picked: {}", p.prompt().en),
                format!("有一行正在拣货:{}", p.prompt().zh),
            ),
        ),
        (_, e) => not_now(&e),
    }
}

fn at_location(op: &Operator, p: &Pick, code: &str, facts: &Facts) -> Transition {
    let Some(line) = p.line() else {
        return Transition::to(with(op, p.clone()), vec![]);
    };
    let code = code.to_uppercase();
    let mut next = p.clone();
    next.cur = Current::default();
    next.step = Step::Location;
    let Some(loc) = facts.location.as_ref().filter(|l| l.code == code) else {
        let ev = reject(Reason::UnknownLocation { code: code.clone() });
        return judged(op, p, next, &code, ev, None, None);
    };
    let expected = line
        .location
        .clone()
        .or_else(|| p.suggestion.as_ref().map(|s| s.location.clone()))
        .unwrap_or_else(|| "-".into());
    // Goods are picked from pick locations only: reserve, quarantine and receiving stock is not
    // for orders even when it holds the item.
    let holds_item = loc.kind == LocationKind::Pick
        && facts
            .stock
            .iter()
            .any(|s| s.item_id == line.item.id && s.location.code == loc.code && s.qty > 0);
    let wrong = match &line.location {
        Some(l) => *l != loc.code,
        None => !holds_item,
    };
    if wrong {
        let ev = reject(Reason::WrongLocation {
            scanned: loc.code.clone(),
            expected,
        });
        return judged(op, p, next, &code, ev, None, None);
    }
    next.cur.location = Some(loc.code.clone());
    next.step = Step::Item;
    judged(op, p, next, &code, accept(), None, None)
}

fn goods(op: &Operator, p: &Pick, raw: &str, parsed: &Result<Scan, String>, facts: &Facts) -> Transition {
    let mut next = p.clone();
    next.step = Step::Item;
    next.cur = Current {
        location: p.cur.location.clone(),
        ..Default::default()
    };
    let scan = match parsed {
        Ok(s) => s,
        Err(detail) => return judged(op, p, next, raw, Evaluation::invalid_barcode(raw, detail), None, None),
    };
    let shown = scan.raw.clone();
    let Some(code) = item_code(scan) else {
        let ev = if scan.fields.sscc.is_some() {
            Evaluation::not_an_item(&shown, "SSCC pallet label")
        } else {
            Evaluation::invalid_barcode(&shown, "the barcode carries no GTIN (01)")
        };
        return judged(op, p, next, &shown, ev, None, None);
    };
    let Some(item) = &facts.item else {
        return judged(op, p, next, &shown, reject(Reason::UnknownItem { code }), None, None);
    };
    let Some(line) = p.line() else {
        return judged(op, p, next, &shown, accept(), None, None);
    };
    if item.id != line.item.id {
        let ev = reject(Reason::WrongItem {
            scanned: item.name(),
            expected: line.item.name(),
        });
        return judged(op, p, next, &shown, ev, Some(&item.id), None);
    }
    let serial = scan.fields.serial.as_ref().map(|s| s.as_str().to_owned());
    let lot = scan.fields.lot.clone().or_else(|| {
        serial
            .as_ref()
            .and(facts.serial_lot.as_ref())
            .filter(|l| l.item_id == item.id)
            .map(|l| l.lot.clone())
    });
    let qty = scan.fields.quantity.map(|q| q.min(MAX_QTY as u64) as u32);
    match lot {
        None => {
            next.step = Step::Lot;
            next.cur.scan = shown.clone();
            judged(op, p, next, &shown, accept(), Some(&item.id), None)
        }
        Some(lot) => judge(op, p, &shown, item, &lot, qty, serial, facts),
    }
}

/// Judges the lot picked for the current line at the scanned location.
#[allow(clippy::too_many_arguments)]
fn judge(
    op: &Operator,
    p: &Pick,
    raw: &str,
    item: &Item,
    lot: &LotNo,
    qty: Option<u32>,
    serial: Option<String>,
    facts: &Facts,
) -> Transition {
    let mut next = p.clone();
    let back = if p.step == Step::Lot { Step::Lot } else { Step::Item };
    next.step = back.clone();
    next.cur = Current {
        location: p.cur.location.clone(),
        ..Default::default()
    };
    let Some(line) = p.line() else {
        return judged(op, p, next, raw, accept(), None, None);
    };
    let location = p.cur.location.clone().unwrap_or_default();
    if let Some(want) = &line.lot
        && want != lot
    {
        let ev = reject(Reason::WrongLot {
            scanned: lot.as_str().into(),
            expected: want.as_str().into(),
        });
        return judged(op, p, next, raw, ev, Some(&item.id), Some(lot.as_str()));
    }
    let known = facts.lot(&item.id, lot);
    let available = facts
        .stock
        .iter()
        .filter(|s| s.item_id == item.id && s.lot.lot == *lot && s.location.code == location)
        .map(|s| s.qty)
        .sum::<u32>();
    if known.is_some() && available == 0 {
        let ev = reject(Reason::NotInLocation {
            lot: lot.as_str().into(),
            location,
        });
        return judged(op, p, next, raw, ev, Some(&item.id), Some(lot.as_str()));
    }
    let fefo = p.suggestion.as_ref().and_then(|s| {
        s.lot.expiry.map(|e| FefoCandidate {
            lot: s.lot.lot.clone(),
            expiry: e,
            location: s.location.clone(),
        })
    });
    let scanned = Scanned::lot_of(item, lot);
    let ev = policy::evaluate(
        Gate::Pick,
        &policy::Facts {
            scanned: &scanned,
            item: Some(item),
            lot: known,
            expected_items: &[],
            customer: p.task.customer.as_ref(),
            fefo: fefo.as_ref(),
        },
        facts.today,
    );
    if matches!(ev.verdict, Verdict::Reject(_)) {
        return judged(op, p, next, raw, ev, Some(&item.id), Some(lot.as_str()));
    }
    // A serialised unit scanned with its serial is the first unit.
    if let Some(s) = &serial
        && let Some(r) = serial_problem(s, known, facts.serial_lot.as_ref(), facts.serial_picked, &[])
    {
        return judged(op, p, next, raw, reject(r), Some(&item.id), Some(lot.as_str()));
    }
    let Some(known) = known else {
        // Unreachable: the verdict engine rejects an unknown lot at pick.
        return judged(op, p, next, raw, ev, Some(&item.id), Some(lot.as_str()));
    };
    next.cur.lot = Some(known.clone());
    next.cur.available = available;
    next.cur.scan = raw.to_owned();
    next.cur.warnings = ev.verdict.reasons().iter().map(|r| r.code().to_owned()).collect();
    next.cur.serials = serial.into_iter().collect();
    if ev.verdict.reasons().iter().any(|r| r.needs_override_reason()) {
        next.cur.qty = qty;
        next.step = Step::Reason;
    } else {
        after_lot(&mut next, qty);
    }
    judged(op, p, next, raw, ev, Some(&item.id), Some(lot.as_str()))
}

/// The step after the lot is settled: the quantity (unless the scan gave a valid one), serials
/// for a serialised item, then confirmation.
fn after_lot(p: &mut Pick, qty: Option<u32>) {
    let open = p.line().map(|l| l.open()).unwrap_or(0);
    match qty.filter(|q| *q >= 1 && *q <= open && *q <= p.cur.available) {
        Some(q) => {
            p.cur.qty = Some(q);
            p.step = after_qty(p);
        }
        None => {
            p.cur.qty = None;
            p.step = Step::Qty;
        }
    }
}

fn after_qty(p: &Pick) -> Step {
    let serialized = p.line().is_some_and(|l| l.item.serialized);
    if serialized && p.cur.serials.len() < p.cur.qty.unwrap_or(0) as usize {
        Step::Serial
    } else {
        Step::Confirm
    }
}

fn serial_problem(
    serial: &str,
    picked_lot: Option<&Lot>,
    serial_lot: Option<&Lot>,
    already: bool,
    taken: &[String],
) -> Option<Reason> {
    let Some(sl) = serial_lot else {
        return Some(Reason::UnknownSerial { serial: serial.into() });
    };
    if let Some(pl) = picked_lot
        && (pl.lot != sl.lot || pl.item_id != sl.item_id)
    {
        return Some(Reason::SerialOtherLot {
            serial: serial.into(),
            lot: sl.lot.as_str().into(),
            picked_lot: pl.lot.as_str().into(),
        });
    }
    if already || taken.iter().any(|t| t == serial) {
        return Some(Reason::SerialAlreadyPicked { serial: serial.into() });
    }
    None
}

fn give_reason(state: &State, op: &Operator, p: &Pick, code: &str) -> Transition {
    if !FEFO_OVERRIDE_REASONS.iter().any(|(c, _, _)| *c == code) {
        let codes: Vec<&str> = FEFO_OVERRIDE_REASONS.iter().map(|(c, _, _)| *c).collect();
        return Transition::refuse(
            state,
            OpError::new(
                "bad_reason",
                format!(
                    "'{code}' is not a reason for another lot than FEFO's: use one of {}",
                    codes.join(", ")
                ),
                format!("「{code}」不是偏离先到期先出的有效原因:应为 {} 之一", codes.join("、")),
            ),
        );
    }
    let mut next = p.clone();
    next.cur.override_reason = Some(code.to_owned());
    let qty = next.cur.qty;
    after_lot(&mut next, qty);
    Transition::to(with(op, next), vec![])
}

fn set_qty(state: &State, op: &Operator, p: &Pick, n: i64) -> Transition {
    if !(1..=MAX_QTY).contains(&n) {
        return Transition::refuse(state, bad_qty(n));
    }
    let n = n as u32;
    let open = p.line().map(|l| l.open()).unwrap_or(0);
    let lot = p.cur.lot.as_ref().map(|l| l.lot.as_str()).unwrap_or("");
    let loc = p.cur.location.as_deref().unwrap_or("");
    if n > open {
        return Transition::refuse(
            state,
            OpError::new(
                "qty_over_line",
                format!("{n} is more than this line still needs ({open})"),
                format!("{n} 超过本行尚需的数量({open})"),
            ),
        );
    }
    if n > p.cur.available {
        return Transition::refuse(
            state,
            OpError::new(
                "qty_over_stock",
                format!(
                    "{n} is more than {loc} holds of lot {lot} ({}): pick what is there, then the rest from another location or declare it short",
                    p.cur.available
                ),
                format!(
                    "{n} 超过 {loc} 上批次 {lot} 的库存({}):请先拣现有数量,其余从其他库位拣或登记缺货",
                    p.cur.available
                ),
            ),
        );
    }
    if (n as usize) < p.cur.serials.len() {
        return Transition::refuse(state, bad_qty(i64::from(n)));
    }
    let mut next = p.clone();
    next.cur.qty = Some(n);
    next.step = after_qty(&next);
    let item = p.line().map(|l| l.item.id.clone()).unwrap_or_default();
    let action = Action {
        command: Command::Quantity {
            task: Some(p.task.id.clone()),
            item: item.clone(),
            lot: Some(lot.to_owned()),
            qty: n,
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: Some(item),
            lot: Some(lot.to_owned()),
            location: p.cur.location.clone(),
            after: Some(json!({"qty": n})),
            ..audit(p)
        },
        changes: vec![],
    };
    Transition::to(with(op, next), vec![action])
}

fn serial_scan(op: &Operator, p: &Pick, raw: &str, parsed: &Result<Scan, String>, facts: &Facts) -> Transition {
    let mut next = p.clone();
    let scan = match parsed {
        Ok(s) => s,
        Err(detail) => return judged(op, p, next, raw, Evaluation::invalid_barcode(raw, detail), None, None),
    };
    let Some(line) = p.line() else {
        return judged(op, p, next, raw, accept(), None, None);
    };
    let lot = p.cur.lot.as_ref().map(|l| l.lot.as_str().to_owned());
    let Some(item) = &facts.item else {
        let code = item_code(scan).unwrap_or_else(|| scan.raw.clone());
        return judged(
            op,
            p,
            next,
            raw,
            reject(Reason::UnknownItem { code }),
            None,
            lot.as_deref(),
        );
    };
    if item.id != line.item.id {
        let ev = reject(Reason::WrongItem {
            scanned: item.name(),
            expected: line.item.name(),
        });
        return judged(op, p, next, raw, ev, Some(&item.id), lot.as_deref());
    }
    let Some(serial) = scan.fields.serial.as_ref().map(|s| s.as_str().to_owned()) else {
        let ev = Evaluation::invalid_barcode(raw, "no serial number (21) in this scan: scan the unit's own label");
        return judged(op, p, next, raw, ev, Some(&item.id), lot.as_deref());
    };
    if let Some(r) = serial_problem(
        &serial,
        p.cur.lot.as_ref(),
        facts.serial_lot.as_ref(),
        facts.serial_picked,
        &p.cur.serials,
    ) {
        return judged(op, p, next, raw, reject(r), Some(&item.id), lot.as_deref());
    }
    next.cur.serials.push(serial);
    next.step = after_qty(&next);
    judged(op, p, next, raw, accept(), Some(&item.id), lot.as_deref())
}

fn serial_tags(op: &Operator, p: &Pick, tags: &[TagFact]) -> Transition {
    let mut next = p.clone();
    let want = p.cur.qty.unwrap_or(0) as usize;
    let Some(line) = p.line() else {
        return Transition::to(with(op, next), vec![]);
    };
    let mut reasons = Vec::new();
    for t in tags {
        if next.cur.serials.len() >= want {
            break;
        }
        let Some(serial) = &t.serial else {
            reasons.push(Reason::UnknownSerial { serial: t.epc.clone() });
            continue;
        };
        if next.cur.serials.contains(serial) {
            continue; // the same tag read again
        }
        match &t.item {
            Some(i) if i.id == line.item.id => {}
            Some(i) => {
                reasons.push(Reason::WrongItem {
                    scanned: i.name(),
                    expected: line.item.name(),
                });
                continue;
            }
            None => {
                reasons.push(Reason::UnknownSerial { serial: serial.clone() });
                continue;
            }
        }
        match serial_problem(serial, p.cur.lot.as_ref(), t.lot.as_ref(), t.picked, &next.cur.serials) {
            Some(r) => reasons.push(r),
            None => next.cur.serials.push(serial.clone()),
        }
    }
    next.step = after_qty(&next);
    let ev = Evaluation {
        verdict: if reasons.is_empty() {
            Verdict::Accept
        } else {
            Verdict::Reject(reasons)
        },
        notes: vec![],
    };
    let raw = format!("rfid:{} tag(s)", tags.len());
    let lot = p.cur.lot.as_ref().map(|l| l.lot.as_str().to_owned());
    let item = line.item.id.clone();
    judged(op, p, next, &raw, ev, Some(&item), lot.as_deref())
}

fn confirm(op: &Operator, p: &Pick, facts: &Facts) -> Transition {
    let (Some(line), Some(lot), Some(qty), Some(location)) =
        (p.line(), p.cur.lot.clone(), p.cur.qty, p.cur.location.clone())
    else {
        return Transition::to(with(op, p.clone()), vec![]);
    };
    let task_id = p.task.id.clone();
    let mut changes = vec![
        Change::RemoveStock {
            item_id: line.item.id.clone(),
            lot: lot.lot.clone(),
            location: location.clone(),
            qty,
            line_no: Some(line.line_no),
        },
        Change::TaskLineDone {
            task_id: task_id.clone(),
            line_no: line.line_no,
            add: qty,
        },
    ];
    for s in &p.cur.serials {
        changes.push(Change::SerialPicked {
            item_id: line.item.id.clone(),
            serial: s.clone(),
        });
    }
    if line.item.regulated {
        // What this pick adds waits for its own check, also when an earlier part of the line
        // was checked: a resumed task finds it by the line's missing checker.
        changes.push(Change::TaskLineCheckPending {
            task_id: task_id.clone(),
            line_no: line.line_no,
        });
    }
    if let Some(r) = &p.cur.override_reason {
        changes.push(Change::TaskLineOverride {
            task_id: task_id.clone(),
            line_no: line.line_no,
            reason: r.clone(),
        });
    }
    let verdict = if p.cur.warnings.is_empty() { "accept" } else { "warn" };
    let action = Action {
        command: Command::Pick {
            task: task_id.clone(),
            line: line.line_no,
            item: line.item.id.clone(),
            lot: lot.lot.as_str().into(),
            location: location.clone(),
            qty,
            serials: p.cur.serials.clone(),
            verdict: verdict.into(),
            warnings: p.cur.warnings.clone(),
            override_reason: p.cur.override_reason.clone(),
            customer: p.task.customer.as_ref().map(|c| c.id.clone()),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: Some(line.item.id.clone()),
            lot: Some(lot.lot.as_str().into()),
            location: Some(location.clone()),
            scan: Some(p.cur.scan.clone()),
            verdict: Some(verdict),
            reason: p.cur.override_reason.clone(),
            before: Some(json!({"qty_at_location": p.cur.available})),
            after: Some(json!({"qty_at_location": p.cur.available - qty, "picked": qty})),
            ..audit(p)
        },
        changes,
    };
    let mut next = p.clone();
    let regulated = line.item.regulated;
    {
        let l = &mut next.task.lines[p.line];
        l.done += qty;
        if l.item.regulated {
            l.checked_by = None;
        }
        if p.cur.override_reason.is_some() {
            l.override_reason = p.cur.override_reason.clone();
        }
    }
    // What the cache will hold once this commits, for the next suggestion.
    let stock: Vec<StockFact> = facts
        .stock
        .iter()
        .map(|s| {
            let mut s = s.clone();
            if s.item_id == line.item.id && s.lot.lot == lot.lot && s.location.code == location {
                s.qty = s.qty.saturating_sub(qty);
            }
            s
        })
        .collect();
    if regulated {
        next.step = Step::Check(Box::new(Check {
            line_no: line.line_no,
            item: line.item.clone(),
            lot: lot.lot.as_str().into(),
            qty,
            picker: op.id.clone(),
            scanned: false,
        }));
        next.suggestion = None;
        next.cur = Current::default();
    } else {
        next.next_line(&stock, facts.today);
    }
    Transition::to(with(op, next), vec![action])
}

fn check_scan(
    op: &Operator,
    p: &Pick,
    c: &Check,
    raw: &str,
    parsed: &Result<Scan, String>,
    facts: &Facts,
) -> Transition {
    let next = p.clone();
    let scan = match parsed {
        Ok(s) => s,
        Err(detail) => return judged(op, p, next, raw, Evaluation::invalid_barcode(raw, detail), None, None),
    };
    let Some(item) = &facts.item else {
        let code = item_code(scan).unwrap_or_else(|| scan.raw.clone());
        return judged(op, p, next, raw, reject(Reason::UnknownItem { code }), None, None);
    };
    if item.id != c.item.id {
        let ev = reject(Reason::WrongItem {
            scanned: item.name(),
            expected: c.item.name(),
        });
        return judged(op, p, next, raw, ev, Some(&item.id), None);
    }
    if let Some(l) = &scan.fields.lot
        && l.as_str() != c.lot
    {
        let ev = reject(Reason::WrongLot {
            scanned: l.as_str().into(),
            expected: c.lot.clone(),
        });
        return judged(op, p, next, raw, ev, Some(&item.id), Some(l.as_str()));
    }
    let mut next = p.clone();
    if let Step::Check(ch) = &mut next.step {
        ch.scanned = true;
    }
    judged(op, p, next, raw, accept(), Some(&item.id), Some(&c.lot))
}

fn second_check(
    state: &State,
    op: &Operator,
    p: &Pick,
    c: &Check,
    id: &str,
    facts: &Facts,
    now: DateTime<FixedOffset>,
) -> Transition {
    if !c.scanned {
        return Transition::refuse(
            state,
            OpError::new(
                "check_scan_first",
                "The checker scans the picked goods first, then enters their id and PIN",
                "复核员须先扫描已拣货物,再输入编号和密码",
            ),
        );
    }
    let Some(f) = &facts.operator else {
        return Transition::refuse(state, super::unknown_operator(id));
    };
    let checker = f.operator.id.clone();
    if checker == op.id || checker == c.picker {
        return Transition::refuse(
            state,
            OpError::new(
                "second_check_same_operator",
                format!("{checker} picked this line: the second check must be made by another operator"),
                format!("{checker} 是本行的拣货员:出库复核须由另一名操作员进行"),
            ),
        );
    }
    let mut changes = match check_pin(f, "second_check", now) {
        Err((error, Some(a))) => return Transition::refuse_recorded(state, error, a),
        Err((error, None)) => return Transition::refuse(state, error),
        Ok(c) => c,
    };
    if !f.operator.has(Role::Checker) {
        return Transition::refuse(
            state,
            OpError::new(
                "not_a_checker",
                format!("{checker} does not have the checker role and cannot make the second check"),
                format!("{checker} 没有复核员角色,不能进行出库复核"),
            ),
        );
    }
    if f.failures > 0 {
        changes.push(Change::LoginFailures {
            operator_id: checker.clone(),
            failures: 0,
            locked_until: None,
        });
    }
    changes.push(Change::TaskLineChecked {
        task_id: p.task.id.clone(),
        line_no: c.line_no,
        checker: checker.clone(),
        at: now,
    });
    let action = Action {
        command: Command::SecondCheck {
            task: p.task.id.clone(),
            line: c.line_no,
            item: c.item.id.clone(),
            lot: c.lot.clone(),
            qty: c.qty,
            picker: c.picker.clone(),
            checker: checker.clone(),
        },
        operator: Some(checker.clone()),
        audit: AuditFacts {
            item_id: Some(c.item.id.clone()),
            lot: Some(c.lot.clone()),
            authorised_by: Some(checker.clone()),
            after: Some(json!({"checked_by": checker, "picked_by": c.picker})),
            ..audit(p)
        },
        changes,
    };
    let mut next = p.clone();
    if let Some(l) = next.task.lines.iter_mut().find(|l| l.line_no == c.line_no) {
        l.checked_by = Some(checker);
    }
    next.next_line(&facts.stock, facts.today);
    Transition::to(with(op, next), vec![action])
}

fn short(state: &State, op: &Operator, p: &Pick, code: &str, facts: &Facts) -> Transition {
    if !SHORT_REASONS.iter().any(|(c, _, _)| *c == code) {
        let codes: Vec<&str> = SHORT_REASONS.iter().map(|(c, _, _)| *c).collect();
        return Transition::refuse(
            state,
            OpError::new(
                "bad_short_reason",
                format!("'{code}' is not a short-pick reason: use one of {}", codes.join(", ")),
                format!("「{code}」不是有效的缺货原因:应为 {} 之一", codes.join("、")),
            ),
        );
    }
    let Some(line) = p.line() else {
        return Transition::refuse(state, OpError::not_now("short", state));
    };
    let qty = line.open();
    let location = p
        .cur
        .location
        .clone()
        .or_else(|| line.location.clone())
        .or_else(|| p.suggestion.as_ref().map(|s| s.location.clone()));
    let count_task = location.as_ref().map(|_| format!("CC-{}-{}", p.task.id, line.line_no));
    let mut actions = vec![Action {
        command: Command::PickShort {
            task: p.task.id.clone(),
            line: line.line_no,
            item: line.item.id.clone(),
            qty_short: qty,
            reason: code.to_owned(),
            location: location.clone(),
            count_task: count_task.clone(),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            item_id: Some(line.item.id.clone()),
            location: location.clone(),
            reason: Some(code.to_owned()),
            after: Some(json!({"short": qty})),
            ..audit(p)
        },
        changes: vec![Change::TaskLineShort {
            task_id: p.task.id.clone(),
            line_no: line.line_no,
            qty,
            reason: code.to_owned(),
        }],
    }];
    if let (Some(loc), Some(ct)) = (&location, &count_task) {
        let source = format!("{}#{}", p.task.id, line.line_no);
        actions.push(Action {
            command: Command::TaskRaised {
                task: ct.clone(),
                kind: TaskKind::Count.as_str().into(),
                source: source.clone(),
                locations: vec![loc.clone()],
            },
            operator: Some(op.id.clone()),
            audit: AuditFacts {
                location: Some(loc.clone()),
                reason: Some(code.to_owned()),
                ..audit(p)
            },
            changes: vec![Change::CreateCountTask {
                task_id: ct.clone(),
                location: loc.clone(),
                source,
            }],
        });
    }
    let mut next = p.clone();
    {
        let l = &mut next.task.lines[p.line];
        l.short += qty;
        l.short_reason = Some(code.to_owned());
    }
    next.next_line(&facts.stock, facts.today);
    Transition::to(with(op, next), actions)
}

/// Each line's result: what was picked from which lot and location, what is short and why.
pub fn results(task: &TaskFacts, picks: &[super::PickedFact]) -> Vec<PickLineResult> {
    task.lines
        .iter()
        .map(|l| {
            let mut lots: Vec<PickedLot> = Vec::new();
            for x in picks.iter().filter(|x| x.line_no == l.line_no) {
                match lots.iter_mut().find(|y| y.lot == x.lot && y.location == x.location) {
                    Some(y) => y.qty += x.qty,
                    None => lots.push(PickedLot {
                        lot: x.lot.clone(),
                        location: x.location.clone(),
                        qty: x.qty,
                    }),
                }
            }
            let status = match (l.done, l.short, l.open()) {
                (_, _, o) if o > 0 => "open",
                (_, 0, _) => "picked",
                (0, _, _) => "short",
                _ => "partial",
            };
            PickLineResult {
                line: l.line_no,
                item: l.item.id.clone(),
                qty: l.qty,
                picked: l.done,
                short: l.short,
                short_reason: l.short_reason.clone(),
                lots,
                override_reason: l.override_reason.clone(),
                checked_by: l.checked_by.clone(),
                status: status.into(),
            }
        })
        .collect()
}

fn finish(op: &Operator, p: &Pick, facts: &Facts) -> Transition {
    let lines = results(&p.task, &facts.picks);
    let action = Action {
        command: Command::PickFinished {
            task: p.task.id.clone(),
            lines: lines.clone(),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            after: Some(serde_json::to_value(&lines).unwrap_or_default()),
            ..audit(p)
        },
        changes: vec![Change::TaskStatus {
            task_id: p.task.id.clone(),
            status: TaskStatus::Done,
        }],
    };
    let mut t = Transition::to(
        State::Home {
            op: op.clone(),
            authorised: None,
        },
        vec![action],
    );
    let mut extra = serde_json::Map::new();
    extra.insert("lines".into(), serde_json::to_value(&lines).unwrap_or_default());
    t.outcome.extra = Some(extra);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lot::Storage;
    use crate::task::Location;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn rice() -> Item {
        Item {
            id: "F200".into(),
            name_en: "Jasmine rice 5 kg".into(),
            name_zh: "茉莉香米 5公斤".into(),
            gtin: None,
            category: "food".into(),
            shelf_life_days: Some(365),
            min_remaining_receipt: None,
            near_expiry_days: vec![7, 3],
            requires_qc: false,
            serialized: false,
            regulated: false,
            storage: Storage::Ambient,
        }
    }

    /// `qty` of lot `lot` (expiring `days` from today, with `status`) at `loc` of `kind`.
    fn stock(lot: &str, days: i64, status: LotStatus, loc: &str, kind: LocationKind, qty: u32) -> StockFact {
        StockFact {
            item_id: "F200".into(),
            lot: Lot {
                item_id: "F200".into(),
                lot: LotNo::new(lot).unwrap(),
                expiry: Some(today() + chrono::Duration::days(days)),
                production_date: None,
                qc_date: None,
                status,
            },
            location: Location {
                code: loc.into(),
                kind,
                storage: Storage::Ambient,
            },
            qty,
        }
    }

    /// The warehouse of outbound.json's rice, and a short-dated lot.
    fn warehouse() -> Vec<StockFact> {
        use LocationKind::{Pick, Reserve};
        use LotStatus::{Quarantine, Released};
        vec![
            stock("R-EARLY", 120, Released, "P-01", Pick, 50),
            stock("R-LATE", 364, Released, "P-02", Pick, 100),
            stock("R-LATE", 364, Released, "R-01", Reserve, 200),
            stock("R-EXP", -11, Released, "P-03", Pick, 10),
            stock("R-QC", 395, Quarantine, "P-03", Pick, 10),
            stock("R-SOON", 2, Released, "P-05", Pick, 3),
        ]
    }

    fn line(qty: u32, done: u32, location: Option<&str>, lot: Option<&str>) -> AsnLine {
        AsnLine {
            line_no: 1,
            item: rice(),
            qty,
            done,
            lot: lot.map(|l| LotNo::new(l).unwrap()),
            expiry: None,
            sscc: None,
            location: location.map(str::to_owned),
            short: 0,
            short_reason: None,
            checked_by: None,
            override_reason: None,
        }
    }

    fn customer(min: Option<u32>) -> Customer {
        Customer {
            id: "C".into(),
            name: "C".into(),
            min_remaining_days: min,
        }
    }

    #[test]
    fn suggest_picks_the_first_to_expire_that_may_go_to_the_customer() {
        // (what, line, the customer's minimum days, the suggestion: lot, location, available)
        type Case<'a> = (&'a str, AsnLine, Option<u32>, Option<(&'a str, &'a str, u32)>);
        let cases: Vec<Case> = vec![
            (
                "the earliest holding enough",
                line(3, 0, None, None),
                None,
                Some(("R-SOON", "P-05", 3)),
            ),
            (
                "enough before earlier",
                line(10, 0, None, None),
                None,
                Some(("R-EARLY", "P-01", 50)),
            ),
            (
                "enough for what is open",
                line(60, 20, None, None),
                None,
                Some(("R-EARLY", "P-01", 50)),
            ),
            (
                "none enough: the earliest",
                line(150, 0, None, None),
                None,
                Some(("R-SOON", "P-05", 3)),
            ),
            (
                "a minimum skips short lots",
                line(10, 0, None, None),
                Some(300),
                Some(("R-LATE", "P-02", 100)),
            ),
            (
                "a minimum met exactly",
                line(10, 0, None, None),
                Some(120),
                Some(("R-EARLY", "P-01", 50)),
            ),
            ("a minimum no lot meets", line(10, 0, None, None), Some(365), None),
            (
                "the line's location only",
                line(10, 0, Some("P-02"), None),
                None,
                Some(("R-LATE", "P-02", 100)),
            ),
            (
                "the line's lot only",
                line(10, 0, None, Some("R-LATE")),
                None,
                Some(("R-LATE", "P-02", 100)),
            ),
            (
                "its location lacks its lot",
                line(10, 0, Some("P-01"), Some("R-LATE")),
                None,
                None,
            ),
            ("never reserve stock", line(10, 0, Some("R-01"), None), None, None),
            (
                "never expired or quarantined",
                line(10, 0, Some("P-03"), None),
                None,
                None,
            ),
        ];
        for (what, l, min, want) in cases {
            let c = customer(min);
            let got = suggest(&l, Some(&c), &warehouse(), today());
            let got = got
                .as_ref()
                .map(|s| (s.lot.lot.as_str(), s.location.as_str(), s.available));
            assert_eq!(got, want, "{what}");
        }
        assert_eq!(suggest(&line(10, 0, None, None), None, &[], today()), None, "no stock");
    }

    #[test]
    fn suggest_names_the_near_expiry_tier() {
        let s = suggest(&line(3, 0, None, None), None, &warehouse(), today()).unwrap();
        assert_eq!(s.near_expiry, Some((2, 3)));
        let s = suggest(&line(10, 0, None, None), None, &warehouse(), today()).unwrap();
        assert_eq!(s.near_expiry, None);
    }
}
