//! The pick and count gates' guided screen: the gate's open tasks (a pick's lines with the lot
//! FEFO suggests and near-expiry marks), then the flow the workflow engine drives. It renders the
//! session's state and forwards each action to it as an op; RFID tags read at the serial and
//! count steps go to the session in batches (one `tags` op per reader round or UI tick).

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use slint::ComponentHandle;

use super::login::{map_pin_dots, text};
use super::{
    AppState, AppWindow, Controller, GuidedAdapter, GuidedLine, GuidedTask, Lang, Screen, VerdictKind, model,
    reason_text, render_status, shared, verdict_kind,
};
use crate::app::session::{CountView, Op, Reply, TaskResult};
use crate::domain::policy::Gate;
use crate::domain::reason::FEFO_OVERRIDE_REASONS;
use crate::domain::task::TaskKind;
use crate::domain::text::Text;
use crate::domain::workflow::State;
use crate::domain::workflow::count::Count;
use crate::domain::workflow::pick::{LinePlan, Pick, SHORT_REASONS, Step as PickStep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chooser {
    Fefo,
    Short,
}

/// What the guided screen keeps between events.
#[derive(Default)]
pub struct GuidedUi {
    /// The gate whose tasks the list shows.
    pub(super) gate: Option<Gate>,
    last: Option<Reply>,
    scanned: String,
    entry: String,
    chooser: Option<Chooser>,
    check_open: bool,
    check_id: String,
    check_pin: String,
    check_message: Option<Text>,
    /// A finished task's result.
    result: Option<TaskResult>,
    /// Tags read and not yet handed to the session; every tag seen in this step.
    pending_tags: Vec<String>,
    tags_seen: HashSet<String>,
    /// Tags the count left for review at the open location.
    review: Vec<crate::domain::command::TagReview>,
    /// Something changed outside a callback (a device event): re-render.
    pub(super) dirty: bool,
}

impl GuidedUi {
    /// Takes a tag read by the reader: true the first time it is seen in this step.
    pub(super) fn take_tag(&mut self, hex: &str) -> bool {
        if self.tags_seen.insert(hex.to_owned()) {
            self.pending_tags.push(hex.to_owned());
            true
        } else {
            false
        }
    }
}

impl Controller {
    /// Runs one op on the guided screen and keeps its reply for the banner.
    pub fn guided_op(&mut self, op: Op) {
        let now = (self.clock)();
        match &op {
            Op::Scan { data } => self.guided.scanned = data.clone(),
            Op::Tags { epcs } => {
                self.guided.scanned = match self.lang {
                    Lang::En => format!("{} tag(s) read", epcs.len()),
                    Lang::Zh => format!("读取 {} 个标签", epcs.len()),
                }
            }
            _ => {}
        }
        let before = self.session.state().name();
        let reply = self.session.handle(op, now);
        if before != reply.state {
            // A new step: tags seen in the last one may count again here.
            self.guided.tags_seen.clear();
            self.guided.review.clear();
        }
        for r in reply.tag_review() {
            if !self.guided.review.iter().any(|x| x.epc == r.epc) {
                self.guided.review.push(r);
            }
        }
        if let Some(r) = reply.task_result() {
            self.guided.result = Some(r);
        }
        if let Some(v) = &reply.verdict {
            self.feedback(v);
        }
        let fresh = matches!(reply.op, "start" | "login" | "logout");
        match (&mut self.guided.last, reply.verdict.is_none() && !fresh) {
            (Some(last), true) => {
                last.error = reply.error;
                last.state = reply.state;
                last.prompt = reply.prompt;
            }
            _ => self.guided.last = Some(reply),
        }
    }

    /// Hands the tags read since the last call to the session as one `tags` op.
    pub(super) fn flush_tags(&mut self) -> bool {
        if self.guided.pending_tags.is_empty() {
            return false;
        }
        let epcs = std::mem::take(&mut self.guided.pending_tags);
        self.guided_op(Op::Tags { epcs });
        true
    }

    /// Whether tags read now go to the guided flow.
    pub(super) fn guided_takes_tags(&self) -> bool {
        matches!(self.session.state().name(), "pick.serial" | "count.scan")
    }

    fn guided_key(&mut self, k: &str) {
        match k {
            "del" => {
                self.guided.entry.pop();
            }
            "ok" => {
                let entry = std::mem::take(&mut self.guided.entry);
                self.guided_op(Op::Qty {
                    n: entry.parse::<i64>().unwrap_or(0),
                });
            }
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() && self.guided.entry.len() < 7 => {
                self.guided.entry.push_str(d);
            }
            _ => {}
        }
    }

    fn guided_scan(&mut self, t: &str) {
        // While counting, a short number is the quantity of the last scan.
        if self.session.state().name() == "count.scan"
            && !t.is_empty()
            && t.len() <= 6
            && t.bytes().all(|b| b.is_ascii_digit())
        {
            self.guided_op(Op::Qty {
                n: t.parse().unwrap_or(0),
            });
        } else {
            self.guided_op(Op::Scan { data: t.to_owned() });
        }
    }

    fn check_key(&mut self, k: &str) {
        match k {
            "del" => {
                self.guided.check_pin.pop();
            }
            "ok" => {
                let op = Op::SecondCheck {
                    operator: self.guided.check_id.trim().to_owned(),
                    pin: std::mem::take(&mut self.guided.check_pin),
                };
                let now = (self.clock)();
                let reply = self.session.handle(op, now);
                match &reply.error {
                    Some(e) => self.guided.check_message = Some(e.text.clone()),
                    None => {
                        self.guided.check_open = false;
                        self.guided.check_message = None;
                        self.guided.check_id.clear();
                        self.guided.scanned.clear();
                    }
                }
                self.guided.last = Some(reply);
            }
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() && self.guided.check_pin.len() < 12 => {
                self.guided.check_pin.push_str(d);
            }
            _ => {}
        }
    }
}

fn pick_state(c: &Controller) -> Option<&Pick> {
    match c.session.state() {
        State::Pick { p, .. } => Some(p),
        _ => None,
    }
}

fn count_state(c: &Controller) -> Option<&Count> {
    match c.session.state() {
        State::Count { c, .. } => Some(c),
        _ => None,
    }
}

fn name(item: &crate::domain::lot::Item, lang: Lang) -> &str {
    match lang {
        Lang::En => &item.name_en,
        Lang::Zh => &item.name_zh,
    }
}

/// A pick task's lines for its list entry: item, quantity, the suggested lot and where it is,
/// and whether any suggested lot is near expiry.
pub fn map_plan(plan: &[LinePlan], lang: Lang) -> (String, bool) {
    let mut warn = false;
    let lines: Vec<String> = plan
        .iter()
        .map(|l| {
            let what = format!("{}. {} × {}", l.line_no, l.open, name(&l.item, lang));
            match &l.suggestion {
                Some(s) => {
                    let exp = s.lot.expiry.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
                    let near = match (s.near_expiry, lang) {
                        (Some((d, t)), Lang::En) => {
                            warn = true;
                            format!(" ⚠ near expiry: {d} d ({t}-day tier)")
                        }
                        (Some((d, t)), Lang::Zh) => {
                            warn = true;
                            format!(" ⚠ 临期:剩 {d} 天({t} 天预警)")
                        }
                        (None, _) => String::new(),
                    };
                    match lang {
                        Lang::En => format!("{what} → {} lot {} (exp {exp}){near}", s.location, s.lot.lot.as_str()),
                        Lang::Zh => format!(
                            "{what} → {} 批次 {}(有效期 {exp}){near}",
                            s.location,
                            s.lot.lot.as_str()
                        ),
                    }
                }
                None if l.open == 0 => match lang {
                    Lang::En => format!("{what} — done"),
                    Lang::Zh => format!("{what} — 已完成"),
                },
                None => {
                    warn = true;
                    match lang {
                        Lang::En => format!("{what} — no pickable lot"),
                        Lang::Zh => format!("{what} — 无可拣批次"),
                    }
                }
            }
        })
        .collect();
    (lines.join("\n"), warn)
}

/// The pick's lines: picked / ordered, short, checked; the current one marked.
pub fn map_pick_lines(p: &Pick, lang: Lang) -> Vec<GuidedLine> {
    p.task
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut detail = Vec::new();
            if l.short > 0 {
                detail.push(match lang {
                    Lang::En => format!("short {} ({})", l.short, l.short_reason.as_deref().unwrap_or("")),
                    Lang::Zh => format!("缺货 {}({})", l.short, l.short_reason.as_deref().unwrap_or("")),
                });
            }
            if let Some(c) = &l.checked_by {
                detail.push(match lang {
                    Lang::En => format!("checked by {c}"),
                    Lang::Zh => format!("复核人 {c}"),
                });
            }
            if let Some(loc) = &l.location {
                detail.push(loc.clone());
            }
            let state = if l.short > 0 {
                3
            } else if l.open() == 0 {
                2
            } else if i == p.line {
                1
            } else {
                0
            };
            GuidedLine {
                title: shared(format!(
                    "{}. {} · {} / {}",
                    l.line_no,
                    name(&l.item, lang),
                    l.done,
                    l.qty
                )),
                detail: shared(detail.join(" · ")),
                state,
            }
        })
        .collect()
}

/// The count's locations (counted, to count, to recount) and, for the open one, what has been
/// counted (with the expected quantity unless the count is blind) and the tags left for review.
pub fn map_count_lines(c: &Count, review: &[crate::domain::command::TagReview], lang: Lang) -> Vec<GuidedLine> {
    let open = c.open();
    let mut out = Vec::new();
    if let Some(o) = open {
        // Each lot counted here, and (not blind) each lot expected here.
        let mut keys: Vec<(String, String)> = o.counted.iter().map(|x| (x.item.clone(), x.lot.clone())).collect();
        if !c.task.blind {
            for s in c.expected_at(&o.location) {
                if !keys.iter().any(|(i, l)| *i == s.item_id && *l == s.lot) {
                    keys.push((s.item_id.clone(), s.lot.clone()));
                }
            }
        }
        for (item, lot) in keys {
            let counted: i64 = o
                .counted
                .iter()
                .filter(|x| x.item == item && x.lot == lot)
                .map(|x| x.qty)
                .sum();
            let expected: i64 = c
                .snapshot
                .iter()
                .filter(|s| s.location == o.location && s.item_id == item && s.lot == lot)
                .map(|s| s.qty)
                .sum();
            let detail = match (c.task.blind, lang) {
                (true, _) => String::new(),
                (false, Lang::En) => format!("expected {expected}"),
                (false, Lang::Zh) => format!("账面 {expected}"),
            };
            out.push(GuidedLine {
                title: shared(format!("{item} · {lot} · {counted}")),
                detail: shared(detail),
                state: 1,
            });
        }
        for r in review {
            let item = r.item.clone().unwrap_or_default();
            let why = match (r.why.as_str(), lang) {
                ("other_item", Lang::En) => format!("{item}: not an item of this location"),
                ("other_item", Lang::Zh) => format!("{item}:不是此库位的商品"),
                ("unknown_serial", Lang::En) => format!("{item}: serial not in the registry"),
                ("unknown_serial", Lang::Zh) => format!("{item}:序列号未登记"),
                ("unknown_item", Lang::En) => "unknown item".into(),
                ("unknown_item", Lang::Zh) => "未知商品".into(),
                ("not_gs1" | "not_sgtin", Lang::En) => "not a GS1 item tag".into(),
                ("not_gs1" | "not_sgtin", Lang::Zh) => "不是 GS1 商品标签".into(),
                (_, Lang::En) => "unreadable tag".into(),
                (_, Lang::Zh) => "无法识读的标签".into(),
            };
            out.push(GuidedLine {
                title: shared(match lang {
                    Lang::En => format!("For review: {}", r.epc),
                    Lang::Zh => format!("待核查:{}", r.epc),
                }),
                detail: shared(why),
                state: 3,
            });
        }
    }
    for loc in &c.task.locations {
        let done1 = c.closed.iter().any(|(l, r, _)| l == loc && *r == 1);
        let done2 = c.closed.iter().any(|(l, r, _)| l == loc && *r == 2);
        let recount = c.recounts.iter().any(|(l, _)| l == loc) && !done2;
        let (label, state) = match (recount, done1, open.map(|o| o.location == *loc).unwrap_or(false), lang) {
            (_, _, true, Lang::En) => ("counting", 1),
            (_, _, true, Lang::Zh) => ("盘点中", 1),
            (true, _, _, Lang::En) => ("to recount", 3),
            (true, _, _, Lang::Zh) => ("待复盘", 3),
            (_, true, _, Lang::En) => ("counted", 2),
            (_, true, _, Lang::Zh) => ("已盘", 2),
            (_, false, _, Lang::En) => ("to count", 0),
            (_, false, _, Lang::Zh) => ("待盘", 0),
        };
        if state == 1 {
            continue;
        }
        let expected = if c.task.blind {
            String::new()
        } else {
            let lines = c.expected_at(loc);
            lines
                .iter()
                .map(|s| format!("{} {} × {}", s.item_id, s.lot, s.qty))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        out.push(GuidedLine {
            title: shared(format!("{loc} · {label}")),
            detail: shared(expected),
            state,
        });
    }
    out
}

/// A finished pick's lines as text.
pub fn map_pick_result(lines: &[crate::domain::command::PickLineResult], lang: Lang) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let status = match (l.status.as_str(), lang) {
                ("picked", Lang::En) => "picked",
                ("short", Lang::En) => "SHORT",
                ("partial", Lang::En) => "PARTLY SHORT",
                ("open", Lang::En) => "open",
                ("picked", Lang::Zh) => "已拣",
                ("short", Lang::Zh) => "缺货",
                ("partial", Lang::Zh) => "部分缺货",
                ("open", Lang::Zh) => "未拣",
                (o, _) => o,
            };
            let mut line = format!("{}. {} · {} / {} · {status}", l.line, l.item, l.picked, l.qty);
            let lots: Vec<String> = l
                .lots
                .iter()
                .map(|p| format!("{}@{}×{}", p.lot, p.location, p.qty))
                .collect();
            if !lots.is_empty() {
                line.push_str(&format!(" · {}", lots.join(", ")));
            }
            if let Some(o) = &l.override_reason {
                line.push_str(&match lang {
                    Lang::En => format!(" · override: {o}"),
                    Lang::Zh => format!(" · 偏离原因:{o}"),
                });
            }
            if let Some(c) = &l.checked_by {
                line.push_str(&match lang {
                    Lang::En => format!(" · checked by {c}"),
                    Lang::Zh => format!(" · 复核 {c}"),
                });
            }
            line
        })
        .collect()
}

/// A finished count as text: its accuracy, each line, the uncounted lines and the findings.
pub fn map_count_result(r: &CountView, lang: Lang) -> Vec<String> {
    let mut out = vec![match lang {
        Lang::En => format!("Accuracy {:.0}%", r.accuracy * 100.0),
        Lang::Zh => format!("准确率 {:.0}%", r.accuracy * 100.0),
    }];
    for v in &r.variances {
        let flag = match (v.recount, v.recounted, lang) {
            (true, _, Lang::En) => " · RECOUNT",
            (true, _, Lang::Zh) => " · 需复盘",
            (_, true, Lang::En) => " · recounted",
            (_, true, Lang::Zh) => " · 已复盘",
            _ => "",
        };
        out.push(match lang {
            Lang::En => format!(
                "{} · {} {} · expected {} moved {:+} counted {} · variance {:+}{flag}",
                v.location, v.item, v.lot, v.expected, v.moved, v.counted, v.variance
            ),
            Lang::Zh => format!(
                "{} · {} {} · 账面 {} 期间变动 {:+} 实盘 {} · 差异 {:+}{flag}",
                v.location, v.item, v.lot, v.expected, v.moved, v.counted, v.variance
            ),
        });
        // The movements the line took into account: who moved how many, when.
        for m in &v.movements {
            let at = m.at.get(..16).unwrap_or(&m.at).replace('T', " ");
            out.push(match lang {
                Lang::En => format!("    ↳ {:+} by {} at {at}", m.qty, m.operator),
                Lang::Zh => format!("    ↳ {:+},{} 于 {at}", m.qty, m.operator),
            });
        }
    }
    for u in &r.uncounted {
        out.push(match lang {
            Lang::En => format!("{} · {} {} · not counted ({})", u.location, u.item, u.lot, u.expected),
            Lang::Zh => format!("{} · {} {} · 未盘({})", u.location, u.item, u.lot, u.expected),
        });
    }
    for f in &r.findings {
        out.push(match lang {
            Lang::En => format!("Finding: {} · {} {} · {}", f.location, f.item, f.lot, f.code),
            Lang::Zh => format!("发现:{} · {} {} · {}", f.location, f.item, f.lot, f.code),
        });
    }
    out
}

fn gate_title(g: Gate, lang: Lang) -> &'static str {
    match (g, lang) {
        (Gate::Pick, Lang::En) => "Pick",
        (Gate::Count, Lang::En) => "Count",
        (Gate::Receive, Lang::En) => "Receive",
        (Gate::Pick, Lang::Zh) => "拣货",
        (Gate::Count, Lang::Zh) => "盘点",
        (Gate::Receive, Lang::Zh) => "收货",
    }
}

fn task_rows(c: &Controller, gate: Gate) -> Vec<GuidedTask> {
    let kind = if gate == Gate::Count {
        TaskKind::Count
    } else {
        TaskKind::Pick
    };
    let lang = c.lang;
    let now = (c.clock)();
    c.store()
        .tasks(Some(kind))
        .unwrap_or_default()
        .iter()
        .filter(|t| t.status.is_open())
        .map(|t| {
            let row = super::home::map_task(t, &c.customers, lang);
            let (detail, warn) = match kind {
                TaskKind::Pick => {
                    let plan = c.session.pick_plan(&t.id, now).unwrap_or_default();
                    let (lines, warn) = map_plan(&plan, lang);
                    (format!("{}\n{lines}", row.detail), warn)
                }
                _ => {
                    let f = c.session.task_facts(&t.id).ok().flatten();
                    let locs = f.as_ref().map(|f| f.locations.join(", ")).unwrap_or_default();
                    let blind = f.as_ref().is_some_and(|f| f.blind);
                    let b = match (blind, lang) {
                        (true, Lang::En) => " · blind",
                        (true, Lang::Zh) => " · 盲盘",
                        _ => "",
                    };
                    (format!("{locs}{b}"), false)
                }
            };
            GuidedTask {
                id: row.id,
                title: row.title,
                detail: shared(detail),
                warn,
            }
        })
        .collect()
}

pub fn render(app: &AppWindow, c: &Controller) {
    let ga = app.global::<GuidedAdapter>();
    let lang = c.lang;
    let state = c.session.state();
    let active = matches!(state, State::Pick { .. } | State::Count { .. });
    let gate = match state {
        State::Pick { .. } => Gate::Pick,
        State::Count { .. } => Gate::Count,
        _ => c.guided.gate.unwrap_or(Gate::Pick),
    };
    ga.set_gate(shared(gate.as_str()));
    ga.set_gate_title(shared(gate_title(gate, lang)));
    ga.set_active(active);
    if !active {
        ga.set_tasks(model(task_rows(c, gate)));
    }
    let step = state.name();
    ga.set_step(shared(step));
    ga.set_prompt(shared(text(&state.prompt(), lang)));
    ga.set_title(shared(match (state.task_id(), lang) {
        (Some(t), _) => format!("{} · {t}", gate_title(gate, lang)),
        (None, _) => gate_title(gate, lang).to_owned(),
    }));
    let last = c.guided.last.as_ref();
    match last.and_then(|l| l.verdict.as_ref()) {
        Some(v) => {
            ga.set_verdict(verdict_kind(v));
            ga.set_reasons(model(v.reasons().iter().map(|x| reason_text(x, lang)).collect()));
        }
        None => {
            ga.set_verdict(VerdictKind::None);
            ga.set_reasons(model(vec![]));
        }
    }
    ga.set_notes(model(
        last.map(|l| l.notes.iter().map(|x| reason_text(x, lang)).collect())
            .unwrap_or_default(),
    ));
    ga.set_subject(shared(&c.guided.scanned));
    ga.set_message(shared(
        last.and_then(|l| l.error.as_ref())
            .map(|e| text(&e.text, lang))
            .unwrap_or_default(),
    ));
    let (lines, lines_title) = match (pick_state(c), count_state(c)) {
        (Some(p), _) => (
            map_pick_lines(p, lang),
            if lang == Lang::Zh { "拣货明细" } else { "Lines" },
        ),
        (_, Some(k)) => (
            map_count_lines(k, &c.guided.review, lang),
            if lang == Lang::Zh { "库位" } else { "Locations" },
        ),
        _ => (vec![], ""),
    };
    ga.set_lines(model(lines));
    ga.set_lines_title(shared(lines_title));
    ga.set_keypad(step == "pick.qty");
    ga.set_entry(shared(&c.guided.entry));
    ga.set_entry_label(shared(if lang == Lang::Zh { "数量" } else { "Quantity" }));
    ga.set_scan_placeholder(shared(match (step, lang) {
        ("pick.location" | "count.location", Lang::En) => "Scan the location",
        ("pick.location" | "count.location", Lang::Zh) => "扫描库位",
        ("pick.lot" | "count.lot", Lang::En) => "Scan or type the lot",
        ("pick.lot" | "count.lot", Lang::Zh) => "扫描或输入批号",
        ("pick.serial", Lang::En) => "Scan the unit's serial",
        ("pick.serial", Lang::Zh) => "扫描单件序列号",
        ("count.scan", Lang::En) => "Scan goods, or type a quantity",
        ("count.scan", Lang::Zh) => "扫描货物,或输入数量",
        ("pick.check", Lang::En) => "Checker: scan the picked goods",
        ("pick.check", Lang::Zh) => "复核员:扫描已拣货物",
        (_, Lang::En) => "Scan goods",
        (_, Lang::Zh) => "扫描货物",
    }));
    ga.set_can_confirm(matches!(step, "pick.confirm" | "count.scan"));
    ga.set_confirm_text(shared(match (step, lang) {
        ("count.scan", Lang::En) => "Location counted",
        ("count.scan", Lang::Zh) => "本库位盘点完成",
        (_, Lang::En) => "Confirm pick",
        (_, Lang::Zh) => "确认拣货",
    }));
    let check_ready = matches!(pick_state(c).map(|p| &p.step), Some(PickStep::Check(ch)) if ch.scanned);
    ga.set_can_check(check_ready);
    ga.set_can_reason(step == "pick.reason");
    ga.set_can_short(
        matches!(
            step,
            "pick.location" | "pick.item" | "pick.lot" | "pick.reason" | "pick.qty" | "pick.serial" | "pick.confirm"
        ) && pick_state(c).is_some_and(|p| p.line().is_some()),
    );
    ga.set_can_finish(matches!(step, "pick.done" | "count.location"));
    ga.set_has_reader(c.devices.attached.rfid.is_some());
    ga.set_reading(c.rfid.running);
    ga.set_can_read(matches!(step, "pick.serial" | "count.scan"));
    ga.set_chooser_open(c.guided.chooser.is_some());
    let (title, items): (&str, Vec<_>) = match (c.guided.chooser, lang) {
        (Some(Chooser::Fefo), l) => (
            if l == Lang::Zh {
                "为什么拣这个批次?"
            } else {
                "Why this lot and not FEFO's?"
            },
            FEFO_OVERRIDE_REASONS
                .iter()
                .map(|(_, en, zh)| shared(if l == Lang::Zh { *zh } else { *en }))
                .collect(),
        ),
        (Some(Chooser::Short), l) => (
            if l == Lang::Zh {
                "缺货原因"
            } else {
                "Why is the line short?"
            },
            SHORT_REASONS
                .iter()
                .map(|(_, en, zh)| shared(if l == Lang::Zh { *zh } else { *en }))
                .collect(),
        ),
        (None, _) => ("", vec![]),
    };
    ga.set_chooser_title(shared(title));
    ga.set_chooser_items(model(items));
    ga.set_check_open(c.guided.check_open);
    ga.set_check_id(shared(&c.guided.check_id));
    ga.set_check_pin_dots(shared(map_pin_dots(c.guided.check_pin.len())));
    ga.set_check_message(shared(
        c.guided
            .check_message
            .as_ref()
            .map(|t| text(t, lang))
            .unwrap_or_default(),
    ));
    match &c.guided.result {
        Some(r) => {
            ga.set_result_shown(true);
            let (title, lines) = match r {
                TaskResult::Pick(l) => (
                    if lang == Lang::Zh {
                        "拣货完成"
                    } else {
                        "Pick finished"
                    },
                    map_pick_result(l, lang),
                ),
                TaskResult::Count(k) => (
                    match (k.recounts_pending, lang) {
                        (true, Lang::En) => "Recount needed: another counter must recount the marked locations",
                        (true, Lang::Zh) => "需要复盘:须由另一名盘点员复盘标记的库位",
                        (false, Lang::En) => "Count finished",
                        (false, Lang::Zh) => "盘点完成",
                    },
                    map_count_result(k, lang),
                ),
            };
            ga.set_result_title(shared(title));
            ga.set_result_lines(model(lines.into_iter().map(shared).collect()));
        }
        None => ga.set_result_shown(false),
    }
}

pub fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let action = |f: Box<dyn Fn(&mut Controller)>| {
        let weak = app.as_weak();
        let c = ctl.clone();
        move || {
            let Some(app) = weak.upgrade() else { return };
            f(&mut c.borrow_mut());
            let c = c.borrow();
            render(&app, &c);
            render_status(&app, &c);
        }
    };
    let ga = app.global::<GuidedAdapter>();
    ga.on_confirm(action(Box::new(|c| c.guided_op(Op::Confirm))));
    ga.on_finish(action(Box::new(|c| c.guided_op(Op::Finish))));
    ga.on_read_tags(action(Box::new(|c| {
        if c.rfid.running {
            c.rfid_stop();
            c.flush_tags();
        } else {
            c.rfid_start()
        }
    })));
    ga.on_open_reason(action(Box::new(|c| c.guided.chooser = Some(Chooser::Fefo))));
    ga.on_open_short(action(Box::new(|c| c.guided.chooser = Some(Chooser::Short))));
    ga.on_chooser_cancel(action(Box::new(|c| c.guided.chooser = None)));
    ga.on_open_check(action(Box::new(|c| {
        c.guided.check_open = true;
        c.guided.check_message = None;
        c.guided.check_pin.clear();
    })));
    ga.on_check_cancel(action(Box::new(|c| {
        c.guided.check_open = false;
        c.guided.check_pin.clear();
    })));
    ga.on_close_result(action(Box::new(|c| c.guided.result = None)));

    let weak = app.as_weak();
    let c = ctl.clone();
    ga.on_choose(move |i| {
        let Some(app) = weak.upgrade() else { return };
        let mut c = c.borrow_mut();
        let i = usize::try_from(i).unwrap_or(usize::MAX);
        match c.guided.chooser.take() {
            Some(Chooser::Fefo) => {
                if let Some((code, _, _)) = FEFO_OVERRIDE_REASONS.get(i) {
                    c.guided_op(Op::Reason { code: (*code).into() });
                }
            }
            Some(Chooser::Short) => {
                if let Some((code, _, _)) = SHORT_REASONS.get(i) {
                    c.guided_op(Op::Short { reason: (*code).into() });
                }
            }
            None => {}
        }
        render(&app, &c);
        render_status(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ga.on_check_key(move |k| {
        let Some(app) = weak.upgrade() else { return };
        let mut c = c.borrow_mut();
        c.guided.check_id = app.global::<GuidedAdapter>().get_check_id().to_string();
        c.check_key(&k);
        render(&app, &c);
        render_status(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ga.on_leave(move || {
        let Some(app) = weak.upgrade() else { return };
        super::render_tasks(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Home);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ga.on_quick_check(move || {
        let Some(app) = weak.upgrade() else { return };
        let gate = c.borrow().guided.gate.unwrap_or(Gate::Pick);
        {
            let mut c = c.borrow_mut();
            if c.gate != gate || c.task.is_some() {
                c.last = None;
            }
            c.gate = gate;
            c.task = None;
            c.save_error = None;
        }
        super::render_scan(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Scan);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ga.on_start(move |id| {
        let Some(app) = weak.upgrade() else { return };
        let mut c = c.borrow_mut();
        let gate = c.guided.gate.unwrap_or(Gate::Pick);
        c.guided = GuidedUi {
            gate: Some(gate),
            ..Default::default()
        };
        c.guided_op(Op::Start {
            gate: gate.as_str().into(),
            task: Some(id.to_string()),
        });
        render(&app, &c);
        render_status(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ga.on_scan(move |t| {
        let Some(app) = weak.upgrade() else { return };
        let t = t.trim().to_owned();
        if t.is_empty() {
            return;
        }
        let mut c = c.borrow_mut();
        c.guided_scan(&t);
        render(&app, &c);
        render_status(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ga.on_key(move |k| {
        let Some(app) = weak.upgrade() else { return };
        let mut c = c.borrow_mut();
        c.guided_key(&k);
        render(&app, &c);
        render_status(&app, &c);
    });
}

/// Opens the guided screen of `gate` (its task list, or the flow a task left open).
pub(super) fn open(app: &AppWindow, c: &mut Controller, gate: Gate) {
    c.guided.gate = Some(gate);
    render(app, c);
    app.global::<AppState>().set_screen(Screen::Guided);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::{Finding, PickLineResult, PickedLot, Variance};

    #[test]
    fn count_result_in_both_languages() {
        let r = CountView {
            accuracy: 0.5,
            variances: vec![Variance {
                location: "P-01".into(),
                item: "F200".into(),
                lot: "R-EARLY".into(),
                expected: 50,
                moved: -10,
                counted: 38,
                variance: -2,
                recount: true,
                recounted: false,
                within_tolerance: false,
                movements: vec![crate::domain::command::MovementRef {
                    command: "0193-x".into(),
                    operator: "pick1".into(),
                    at: "2026-12-01T09:05:00.000+08:00".into(),
                    qty: -10,
                }],
            }],
            uncounted: vec![],
            findings: vec![Finding {
                location: "P-03".into(),
                item: "F200".into(),
                lot: "R-EXP".into(),
                code: "expired".into(),
                counted: 10,
            }],
            recounts_pending: true,
        };
        assert_eq!(
            map_count_result(&r, Lang::En),
            [
                "Accuracy 50%",
                "P-01 · F200 R-EARLY · expected 50 moved -10 counted 38 · variance -2 · RECOUNT",
                "    ↳ -10 by pick1 at 2026-12-01 09:05",
                "Finding: P-03 · F200 R-EXP · expired"
            ]
        );
        assert_eq!(
            map_count_result(&r, Lang::Zh)[1],
            "P-01 · F200 R-EARLY · 账面 50 期间变动 -10 实盘 38 · 差异 -2 · 需复盘"
        );
    }

    #[test]
    fn pick_result_names_lots_override_and_checker() {
        let line = |n: u32, item: &str, picked: u32, short: u32, status: &str| PickLineResult {
            line: n,
            item: item.into(),
            qty: picked + short,
            picked,
            short,
            short_reason: None,
            lots: vec![],
            override_reason: None,
            checked_by: None,
            status: status.into(),
        };
        let mut a = line(1, "P300", 5, 0, "picked");
        a.lots.push(PickedLot {
            lot: "P-OK".into(),
            location: "P-01".into(),
            qty: 5,
        });
        a.checked_by = Some("chk1".into());
        let lines = [a, line(2, "F200", 0, 10, "short")];
        assert_eq!(
            map_pick_result(&lines, Lang::En),
            [
                "1. P300 · 5 / 5 · picked · P-OK@P-01×5 · checked by chk1",
                "2. F200 · 0 / 10 · SHORT"
            ]
        );
        assert_eq!(map_pick_result(&lines, Lang::Zh)[1], "2. F200 · 0 / 10 · 缺货");
    }
}
