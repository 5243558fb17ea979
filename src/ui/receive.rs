//! The receive screen: the receipt tasks, then the flow the workflow engine drives (scan,
//! lot, expiry, quantity, confirm, putaway), the supervisor's authorisation, labels and the
//! task's summary. It renders the session's state and forwards each action to it as an op.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use slint::{ComponentHandle, Image, Rgba8Pixel, SharedPixelBuffer};

use super::login::{map_pin_dots, text};
use super::{
    AppState, AppWindow, AsnLineRow, Controller, Lang, ReceiveAdapter, Screen, VerdictKind, model, open_tasks,
    reason_text, render_status, shared, verdict_kind,
};
use crate::app::session::{LabelInfo, Op, Reply};
use crate::domain::command::ReceiptSummary;
use crate::domain::operator::OVERRIDE_REASONS;
use crate::domain::text::Text;
use crate::domain::workflow::State;
use crate::domain::workflow::receive::{Receive, Step};

/// What the receive screen keeps between events.
#[derive(Default)]
pub struct ReceiveUi {
    last: Option<Reply>,
    /// What the last scan was, for the banner's subject line.
    scanned: String,
    /// The keypad's entry (quantity, or an expiry date).
    entry: String,
    supervisor_open: bool,
    supervisor_id: String,
    supervisor_pin: String,
    supervisor_reason: Option<usize>,
    /// A reason typed instead of chosen (it wins over the chosen one).
    supervisor_reason_text: String,
    supervisor_message: Option<Text>,
    label: Option<LabelInfo>,
    summary: Option<ReceiptSummary>,
    /// RFID tags (EPC hex) already taken in this receipt: a tag is read many times a second.
    tags_taken: std::collections::HashSet<String>,
    /// A tag changed the screen outside a callback (the device path re-renders it).
    pub(super) dirty: bool,
}

impl ReceiveUi {
    /// True the first time `epc` is seen in this receipt.
    pub(super) fn take_tag(&mut self, epc: &str) -> bool {
        self.tags_taken.insert(epc.to_owned())
    }
}

fn receive_state(c: &Controller) -> Option<&Receive> {
    match c.session.state() {
        State::Receive { r, .. } => Some(r),
        _ => None,
    }
}

/// Where the GUI keeps label PNGs: `labels/` beside the cache.
fn label_path(c: &Controller, lot: &str) -> PathBuf {
    let dir = crate::app::files::labels_dir(c.store());
    let safe: String = lot
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let stamp = (c.clock)().format("%Y%m%d-%H%M%S");
    dir.join(format!("{safe}-{stamp}.png"))
}

impl Controller {
    /// Runs one op on the receive screen and keeps its reply for the banner.
    pub fn receive_op(&mut self, op: Op) {
        let now = (self.clock)();
        if let Op::Scan { data } = &op {
            self.receive.scanned = data.clone();
        }
        let reply = self.session.handle(op, now);
        if let Some(v) = &reply.verdict {
            self.feedback(v);
        }
        if let Some(l) = &reply.label {
            self.receive.label = Some(l.clone());
        }
        if reply.summary.is_some() {
            self.receive.summary = reply.summary.clone();
        }
        // An op that judges nothing (a refusal, a label, a quantity typed) keeps the last verdict
        // on screen; a refusal's message shows below it. Opening a task starts afresh.
        let fresh = matches!(reply.op, "start" | "login" | "logout");
        match (&mut self.receive.last, reply.verdict.is_none() && !fresh) {
            (Some(last), true) => {
                last.error = reply.error;
                last.state = reply.state;
                last.prompt = reply.prompt;
            }
            _ => self.receive.last = Some(reply),
        }
    }

    fn receive_key(&mut self, k: &str) {
        match k {
            "del" => {
                self.receive.entry.pop();
            }
            "ok" => {
                let entry = std::mem::take(&mut self.receive.entry);
                let step = self.session.state().name();
                if step == "receive.expiry" {
                    self.receive_op(Op::Scan { data: entry });
                } else {
                    let n = entry.parse::<i64>().unwrap_or(0);
                    self.receive_op(Op::Qty { n });
                }
            }
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() && self.receive.entry.len() < 10 => {
                self.receive.entry.push_str(d);
            }
            _ => {}
        }
    }

    fn supervisor_key(&mut self, k: &str) {
        let s = &mut self.receive;
        match k {
            "del" => {
                s.supervisor_pin.pop();
            }
            "ok" => {
                let typed = s.supervisor_reason_text.trim();
                let reason = match s.supervisor_reason.and_then(|i| OVERRIDE_REASONS.get(i)) {
                    _ if !typed.is_empty() => typed.to_owned(),
                    Some((code, _, _)) => (*code).to_owned(),
                    None => String::new(),
                };
                let op = Op::Supervisor {
                    operator: s.supervisor_id.trim().to_owned(),
                    pin: std::mem::take(&mut s.supervisor_pin),
                    reason,
                };
                let now = (self.clock)();
                let reply = self.session.handle(op, now);
                match reply.error {
                    Some(e) => self.receive.supervisor_message = Some(e.text),
                    None => {
                        self.receive.supervisor_open = false;
                        self.receive.supervisor_message = None;
                        self.receive.supervisor_id.clear();
                        self.receive.supervisor_reason = None;
                        self.receive.supervisor_reason_text.clear();
                    }
                }
            }
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() && s.supervisor_pin.len() < 12 => {
                s.supervisor_pin.push_str(d);
            }
            _ => {}
        }
    }
}

/// The banner's subject: what the pending receipt is, or what was scanned.
pub fn map_subject(r: Option<&Receive>, scanned: &str, lang: Lang) -> String {
    let pending = match r.map(|r| &r.step) {
        Some(Step::Lot(p, _) | Step::Expiry(p, _) | Step::Qty(p, _) | Step::Confirm(p)) => Some(p),
        _ => None,
    };
    let Some(p) = pending else {
        return scanned.to_owned();
    };
    p.lines
        .iter()
        .map(|l| {
            let name = match lang {
                Lang::En => &l.item.name_en,
                Lang::Zh => &l.item.name_zh,
            };
            let mut parts = vec![name.clone()];
            if let Some(lot) = &l.lot {
                parts.push(match lang {
                    Lang::En => format!("Lot {}", lot.as_str()),
                    Lang::Zh => format!("批号 {}", lot.as_str()),
                });
            }
            if let Some(e) = l.expiry.or(l.known.as_ref().and_then(|k| k.expiry)) {
                parts.push(match lang {
                    Lang::En => format!("Exp {e}"),
                    Lang::Zh => format!("有效期 {e}"),
                });
            }
            if let Some(q) = l.qty {
                parts.push(format!("× {q}"));
            }
            parts.join(" · ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ASN's lines: item, received of expected, lot / expiry / pallet the ASN gives.
pub fn map_lines(r: &Receive, lang: Lang) -> Vec<AsnLineRow> {
    let Some(t) = &r.task else {
        return r
            .done
            .iter()
            .map(|d| AsnLineRow {
                title: shared(format!(
                    "{} · {}",
                    match lang {
                        Lang::En => &d.item.name_en,
                        Lang::Zh => &d.item.name_zh,
                    },
                    d.qty
                )),
                detail: shared(format!("{} {}", d.lot.as_str(), d.put_away.clone().unwrap_or_default())),
                done: d.put_away.is_some(),
            })
            .collect();
    };
    t.lines
        .iter()
        .map(|l| {
            let name = match lang {
                Lang::En => &l.item.name_en,
                Lang::Zh => &l.item.name_zh,
            };
            let mut detail = vec![];
            if let Some(lot) = &l.lot {
                detail.push(match lang {
                    Lang::En => format!("lot {}", lot.as_str()),
                    Lang::Zh => format!("批号 {}", lot.as_str()),
                });
            }
            if let Some(e) = l.expiry {
                detail.push(match lang {
                    Lang::En => format!("exp {e}"),
                    Lang::Zh => format!("有效期 {e}"),
                });
            }
            if let Some(s) = &l.sscc {
                detail.push(match lang {
                    Lang::En => format!("pallet {}", s.as_str()),
                    Lang::Zh => format!("托盘 {}", s.as_str()),
                });
            }
            AsnLineRow {
                title: shared(format!("{}. {name} · {} / {}", l.line_no, l.done, l.qty)),
                detail: shared(detail.join(" · ")),
                done: l.done >= l.qty,
            }
        })
        .collect()
}

/// The finished task's summary as lines of text.
pub fn map_summary(s: &ReceiptSummary, lang: Lang) -> Vec<String> {
    let mut out: Vec<String> = s
        .lines
        .iter()
        .map(|l| {
            let status = match (l.status.as_str(), lang) {
                ("received", Lang::En) => "received",
                ("short", Lang::En) => "SHORT",
                ("over", Lang::En) => "OVER",
                ("not_received", Lang::En) => "not received",
                ("received", Lang::Zh) => "已收",
                ("short", Lang::Zh) => "短收",
                ("over", Lang::Zh) => "超收",
                ("not_received", Lang::Zh) => "未收",
                (other, _) => other,
            };
            format!("{}. {} · {} / {} · {status}", l.line, l.item, l.received, l.expected)
        })
        .collect();
    for q in &s.quarantined {
        out.push(match lang {
            Lang::En => format!("To quarantine: {q}"),
            Lang::Zh => format!("进入隔离:{q}"),
        });
    }
    for a in &s.awaiting_putaway {
        out.push(match lang {
            Lang::En => format!("Still at the dock: {a}"),
            Lang::Zh => format!("仍在收货区:{a}"),
        });
    }
    out
}

fn png_image(bytes: &[u8]) -> Option<Image> {
    let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut r = d.read_info().ok()?;
    let mut buf = vec![0; r.output_buffer_size()?];
    let info = r.next_frame(&mut buf).ok()?;
    let (w, h) = (info.width, info.height);
    let mut px = SharedPixelBuffer::<Rgba8Pixel>::new(w, h);
    let dst = px.make_mut_slice();
    let src = &buf[..info.buffer_size()];
    let ch = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return None,
    };
    for (i, p) in dst.iter_mut().enumerate() {
        let s = &src[i * ch..i * ch + ch];
        *p = match ch {
            1 => Rgba8Pixel::new(s[0], s[0], s[0], 255),
            2 => Rgba8Pixel::new(s[0], s[0], s[0], s[1]),
            3 => Rgba8Pixel::new(s[0], s[1], s[2], 255),
            _ => Rgba8Pixel::new(s[0], s[1], s[2], s[3]),
        };
    }
    Some(Image::from_rgba8(px))
}

pub fn render(app: &AppWindow, c: &Controller) {
    let ra = app.global::<ReceiveAdapter>();
    let lang = c.lang;
    let r = receive_state(c);
    ra.set_active(r.is_some());
    ra.set_tasks(model(open_tasks(c, Some(crate::domain::task::TaskKind::Receipt))));
    let step = c.session.state().name();
    ra.set_step(shared(step));
    ra.set_prompt(shared(text(&c.session.state().prompt(), lang)));
    ra.set_title(shared(match r.and_then(|r| r.task.as_ref()) {
        Some(t) => match &t.reference {
            Some(rf) => format!("{} · {rf}", t.id),
            None => t.id.clone(),
        },
        None => match lang {
            Lang::En => "Blind receipt".into(),
            Lang::Zh => "盲收".into(),
        },
    }));
    let last = c.receive.last.as_ref();
    match last.and_then(|l| l.verdict.as_ref()) {
        Some(v) => {
            ra.set_verdict(verdict_kind(v));
            ra.set_reasons(model(v.reasons().iter().map(|x| reason_text(x, lang)).collect()));
        }
        None => {
            ra.set_verdict(VerdictKind::None);
            ra.set_reasons(model(vec![]));
        }
    }
    ra.set_notes(model(
        last.map(|l| l.notes.iter().map(|x| reason_text(x, lang)).collect())
            .unwrap_or_default(),
    ));
    ra.set_subject(shared(map_subject(r, &c.receive.scanned, lang)));
    ra.set_message(shared(
        last.and_then(|l| l.error.as_ref())
            .map(|e| text(&e.text, lang))
            .unwrap_or_default(),
    ));
    ra.set_lines(model(r.map(|r| map_lines(r, lang)).unwrap_or_default()));
    ra.set_keypad(matches!(step, "receive.qty" | "receive.expiry"));
    ra.set_entry(shared(&c.receive.entry));
    let pending_needs =
        matches!(r.map(|r| &r.step), Some(Step::Confirm(p)) if p.needs_supervisor && p.authorised.is_none());
    ra.set_needs_supervisor(pending_needs);
    ra.set_can_confirm(step == "receive.confirm");
    ra.set_can_label(matches!(step, "receive.putaway" | "receive.scan") && r.is_some_and(|r| !r.done.is_empty()));
    ra.set_can_finish(matches!(step, "receive.putaway" | "receive.scan"));
    ra.set_has_reader(c.devices.attached.rfid.is_some());
    ra.set_reading(c.rfid.running);
    ra.set_supervisor_open(c.receive.supervisor_open);
    ra.set_reason_choices(model(
        OVERRIDE_REASONS
            .iter()
            .map(|(_, en, zh)| shared(if lang == Lang::Zh { *zh } else { *en }))
            .collect(),
    ));
    ra.set_reason_index(c.receive.supervisor_reason.map(|i| i as i32).unwrap_or(-1));
    ra.set_supervisor_id(shared(&c.receive.supervisor_id));
    ra.set_supervisor_reason_text(shared(&c.receive.supervisor_reason_text));
    ra.set_supervisor_pin_dots(shared(map_pin_dots(c.receive.supervisor_pin.len())));
    ra.set_supervisor_message(shared(
        c.receive
            .supervisor_message
            .as_ref()
            .map(|t| text(t, lang))
            .unwrap_or_default(),
    ));
    match &c.receive.label {
        Some(l) => {
            ra.set_label_shown(true);
            if let Some(img) = png_image(&l.png_bytes) {
                ra.set_label_image(img);
            }
            let saved = l.png.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            ra.set_label_text(shared(format!("{}\n{saved}\n→ {}", l.bracketed, l.printer)));
        }
        None => ra.set_label_shown(false),
    }
    match &c.receive.summary {
        Some(s) => {
            ra.set_summary_shown(true);
            ra.set_summary_title(shared(match lang {
                Lang::En => "Receipt finished",
                Lang::Zh => "收货完成",
            }));
            ra.set_summary_lines(model(map_summary(s, lang).into_iter().map(shared).collect()));
        }
        None => ra.set_summary_shown(false),
    }
}

pub fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    // Each action: one op to the session, then this screen and the status bar re-render.
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
    let ra = app.global::<ReceiveAdapter>();
    ra.on_confirm(action(Box::new(|c| c.receive_op(Op::Confirm))));
    ra.on_finish(action(Box::new(|c| c.receive_op(Op::Finish))));
    ra.on_label(action(Box::new(|c| {
        let lot = match receive_state(c) {
            Some(r) => match &r.step {
                Step::Putaway(l) => l.last().map(|x| x.lot.as_str().to_owned()),
                _ => r.done.last().map(|x| x.lot.as_str().to_owned()),
            },
            None => None,
        };
        let out = label_path(c, lot.as_deref().unwrap_or("label"));
        if let Some(dir) = out.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        c.receive_op(Op::Label { out: Some(out) });
    })));
    ra.on_close_label(action(Box::new(|c| c.receive.label = None)));
    ra.on_read_tags(action(Box::new(|c| {
        if c.rfid.running { c.rfid_stop() } else { c.rfid_start() }
    })));
    ra.on_open_supervisor(action(Box::new(|c| {
        c.receive.supervisor_open = true;
        c.receive.supervisor_message = None;
    })));
    ra.on_supervisor_cancel(action(Box::new(|c| {
        c.receive.supervisor_open = false;
        c.receive.supervisor_pin.clear();
    })));

    let weak = app.as_weak();
    let c = ctl.clone();
    ra.on_close_summary(move || {
        let Some(app) = weak.upgrade() else { return };
        let mut c = c.borrow_mut();
        c.receive = Default::default();
        super::render_tasks(&app, &c);
        render(&app, &c);
        app.global::<AppState>().set_screen(Screen::Home);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ra.on_leave(move || {
        let Some(app) = weak.upgrade() else { return };
        super::render_tasks(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Home);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ra.on_start(move |id| {
        let Some(app) = weak.upgrade() else { return };
        let mut c = c.borrow_mut();
        c.receive = Default::default();
        let task = (!id.is_empty()).then(|| id.to_string());
        c.receive_op(Op::Start {
            gate: "receive".into(),
            task,
        });
        render(&app, &c);
        render_status(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ra.on_scan(move |t| {
        let Some(app) = weak.upgrade() else { return };
        let t = t.trim().to_owned();
        if t.is_empty() {
            return;
        }
        let mut c = c.borrow_mut();
        c.receive_op(Op::Scan { data: t });
        render(&app, &c);
        render_status(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ra.on_key(move |k| {
        let Some(app) = weak.upgrade() else { return };
        let mut c = c.borrow_mut();
        c.receive_key(&k);
        render(&app, &c);
        render_status(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ra.on_supervisor_key(move |k| {
        let Some(app) = weak.upgrade() else { return };
        let ra = app.global::<ReceiveAdapter>();
        let mut c = c.borrow_mut();
        c.receive.supervisor_id = ra.get_supervisor_id().to_string();
        c.receive.supervisor_reason_text = ra.get_supervisor_reason_text().to_string();
        c.supervisor_key(&k);
        render(&app, &c);
        render_status(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    ra.on_supervisor_reason(move |i| {
        let Some(app) = weak.upgrade() else { return };
        let typed = app.global::<ReceiveAdapter>().get_supervisor_id().to_string();
        let mut c = c.borrow_mut();
        c.receive.supervisor_id = typed;
        c.receive.supervisor_reason = usize::try_from(i).ok();
        render(&app, &c);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::SummaryLine;

    #[test]
    fn summary_lines_in_both_languages() {
        let s = ReceiptSummary {
            lines: vec![SummaryLine {
                line: 1,
                item: "F100".into(),
                expected: 20,
                received: 8,
                status: "short".into(),
            }],
            quarantined: vec!["P300/P-NEW".into()],
            awaiting_putaway: vec![],
        };
        assert_eq!(
            map_summary(&s, Lang::En),
            ["1. F100 · 8 / 20 · SHORT", "To quarantine: P300/P-NEW"]
        );
        assert_eq!(
            map_summary(&s, Lang::Zh),
            ["1. F100 · 8 / 20 · 短收", "进入隔离:P300/P-NEW"]
        );
    }
}
