//! The scan screen of a gate (pick and count until their guided flows exist; receive has its
//! own screen): the verdict banner, the scan field, demo chips, recent scans, the FEFO reason.

use super::*;

impl Controller {
    /// Checks a typed scan at the current gate (see [`Controller::submit_bytes`]).
    pub fn submit(&mut self, text: &str) {
        self.submit_bytes(text.trim().as_bytes());
    }

    /// Checks a scan (bytes as a scanner sent them, symbology identifier first) at the current
    /// gate, records it, and returns nothing: the views re-render.
    pub fn submit_bytes(&mut self, raw: &[u8]) {
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            return;
        }
        let now = (self.clock)();
        let today = now.date_naive();
        let ctx = match &self.task {
            Some(t) => t.ctx.clone(),
            None => CheckContext {
                customer: match self.customer_index.checked_sub(1).and_then(|i| self.customers.get(i)) {
                    Some((id, _)) => self.session.store().customer(id).ok().flatten(),
                    None => None,
                },
                ..Default::default()
            },
        };
        let _ = today;
        match self.session.check_scan(self.gate, raw, &ctx, now, self.record) {
            Ok(checked) => {
                self.last_command = checked.command.map(|id| (id, now.to_rfc3339()));
                self.override_given = None;
                self.save_error = self.session.save_error().cloned();
                self.recent.push_front(Recent {
                    outcome: checked.outcome.clone(),
                    time: now.format("%H:%M:%S").to_string(),
                });
                self.recent.truncate(RECENT_MAX);
                self.feedback(&checked.outcome.evaluation.verdict);
                self.last = Some(checked.outcome);
            }
            Err(e) => {
                self.save_error = Some(crate::domain::text::Text::of(&e));
            }
        }
    }

    /// True when the last scan warned with something that needs a reason and none is given yet.
    pub(super) fn needs_override(&self) -> bool {
        self.override_given.is_none()
            && matches!(&self.last, Some(o) if matches!(&o.evaluation.verdict, Verdict::Warn(r) if r.iter().any(|r| r.needs_override_reason())))
    }

    /// Records why the operator goes ahead with the last (warned) scan.
    pub fn give_override_reason(&mut self, index: usize) {
        if !self.needs_override() {
            return;
        }
        let Some((code, _, _)) = FEFO_OVERRIDE_REASONS.get(index) else {
            return;
        };
        let Some(o) = &self.last else { return };
        if self.record {
            let Some((cmd, _)) = &self.last_command else { return };
            let ctx = self.task.as_ref().map(|t| t.ctx.clone()).unwrap_or_default();
            let now = (self.clock)();
            let (cmd, o) = (cmd.clone(), o.clone());
            if let Err(e) = self.session.give_override_reason(&cmd, self.gate, &o, &ctx, code, now) {
                self.save_error = Some(crate::domain::text::Text::of(&e));
                return;
            }
        }
        self.override_given = Some(index);
    }

    /// Starts working on a task: its gate, its customer, its items.
    pub fn open_task(&mut self, id: &str) -> Option<Gate> {
        let task = self.session.store().task(id).ok().flatten()?;
        let ctx = task_context(self.session.store(), &task).ok()?;
        let gate = match task.summary.kind {
            TaskKind::Receipt => Gate::Receive,
            TaskKind::Count => Gate::Count,
            TaskKind::Pick => Gate::Pick,
        };
        if self.gate != gate || self.task.as_ref().map(|t| &t.task.summary.id) != Some(&task.summary.id) {
            self.last = None;
        }
        self.gate = gate;
        self.task = Some(ActiveTask { task, ctx });
        self.save_error = None;
        Some(gate)
    }

    /// A demo chip: scanned through the simulated scanner when there is one (so the scan takes
    /// the same path as a real one), else checked at once.
    pub fn demo_scan(&mut self, text: &str) -> bool {
        match &self.devices.attached.sim_scanner {
            Some(sim) => {
                sim.scan_text(text);
                false
            }
            None => {
                self.submit(text);
                true
            }
        }
    }
}

/// The line under the banner's headline: what was scanned.
pub fn map_subject(o: &CheckOutcome, lang: Lang) -> String {
    let lot = o
        .scan
        .as_ref()
        .and_then(|s| s.fields.lot.as_ref())
        .map(|l| l.as_str().to_owned());
    let expiry = o
        .lot
        .as_ref()
        .and_then(|l| l.expiry)
        .or(o.scan.as_ref().and_then(|s| s.fields.expiry));
    let mut parts = Vec::new();
    match &o.item {
        Some(item) => parts.push(item_name(item, lang).to_owned()),
        None => parts.push(o.input.clone()),
    }
    if let Some(l) = lot {
        parts.push(match lang {
            Lang::En => format!("Lot {l}"),
            Lang::Zh => format!("批号 {l}"),
        });
    }
    if let Some(e) = expiry {
        parts.push(match lang {
            Lang::En => format!("Exp {e}"),
            Lang::Zh => format!("有效期 {e}"),
        });
    }
    parts.join(" · ")
}

pub(super) fn verdict_word(v: &Verdict, lang: Lang) -> &'static str {
    match (v, lang) {
        (Verdict::Accept, Lang::En) => "OK",
        (Verdict::Warn(_), Lang::En) => "CAUTION",
        (Verdict::Reject(_), Lang::En) => "STOP",
        (Verdict::Accept, Lang::Zh) => "通过",
        (Verdict::Warn(_), Lang::Zh) => "注意",
        (Verdict::Reject(_), Lang::Zh) => "停止",
    }
}

pub(super) fn map_recent(r: &Recent, lang: Lang) -> RecentScan {
    let v = &r.outcome.evaluation.verdict;
    let first = v.reasons().first().map(|x| reason_text(x, lang)).unwrap_or_default();
    RecentScan {
        verdict: verdict_kind(v),
        headline: shared(format!("{} · {}", verdict_word(v, lang), map_subject(&r.outcome, lang))),
        detail: first,
        time: shared(&r.time),
    }
}

pub(super) fn render_scan(app: &AppWindow, c: &Controller) {
    let sa = app.global::<ScanAdapter>();
    let lang = c.lang;
    sa.set_gate(shared(c.gate.as_str()));
    match &c.task {
        Some(t) => {
            let mut title = task_title(&t.task.summary, lang);
            if let Some(cu) = &t.ctx.customer {
                title.push_str(&format!(" · {}", cu.name));
            }
            sa.set_task(shared(title));
            let lines = t
                .task
                .lines
                .iter()
                .map(|l| {
                    let name = t
                        .ctx
                        .expected_items
                        .iter()
                        .find(|i| i.id == l.item_id)
                        .map(|i| item_name(i, lang))
                        .unwrap_or(&l.item_id);
                    let mut s = format!("{}. {name} × {}", l.line_no, l.qty_expected);
                    if let Some(lot) = &l.lot {
                        s.push_str(&format!(" · {lot}"));
                    }
                    if let Some(loc) = &l.location {
                        s.push_str(&format!(" @ {loc}"));
                    }
                    shared(s)
                })
                .collect();
            sa.set_task_lines(model(lines));
        }
        None => {
            sa.set_task(SharedString::new());
            sa.set_task_lines(model(vec![]));
        }
    }
    match &c.last {
        Some(o) => {
            sa.set_verdict(verdict_kind(&o.evaluation.verdict));
            sa.set_subject(shared(map_subject(o, lang)));
            sa.set_reasons(model(
                o.evaluation
                    .verdict
                    .reasons()
                    .iter()
                    .map(|r| reason_text(r, lang))
                    .collect(),
            ));
            sa.set_notes(model(o.evaluation.notes.iter().map(|r| reason_text(r, lang)).collect()));
        }
        None => {
            sa.set_verdict(VerdictKind::None);
            sa.set_subject(SharedString::new());
            sa.set_reasons(model(vec![]));
            sa.set_notes(model(vec![]));
        }
    }
    sa.set_recent(model(c.recent.iter().map(|r| map_recent(r, lang)).collect()));
    let choices = if c.needs_override() {
        FEFO_OVERRIDE_REASONS
            .iter()
            .map(|(_, en, zh)| shared(if lang == Lang::Zh { zh } else { en }))
            .collect()
    } else {
        vec![]
    };
    sa.set_override_choices(model(choices));
    sa.set_override_done(match c.override_given.and_then(|i| FEFO_OVERRIDE_REASONS.get(i)) {
        Some((_, en, zh)) => shared(match lang {
            Lang::En => format!("✓ Reason recorded: {en}"),
            Lang::Zh => format!("✓ 已记录原因:{zh}"),
        }),
        None => SharedString::new(),
    });
    let demo: Vec<DemoChip> = c
        .demo
        .iter()
        .filter(|d| d.gate == c.gate.as_str() || (c.gate == Gate::Count && d.gate == "pick"))
        .map(|d| DemoChip {
            label: shared(if lang == Lang::Zh { &d.label_zh } else { &d.label_en }),
            scan: shared(&d.scan),
        })
        .collect();
    sa.set_demo_scans(model(demo));
    let none = if lang == Lang::Zh {
        "不指定客户"
    } else {
        "No customer"
    };
    let mut names = vec![shared(none)];
    names.extend(c.customers.iter().map(|(_, n)| shared(n)));
    sa.set_customers(model(names));
    sa.set_customer_index(c.customer_index as i32);
    let save_error = c.save_error.as_ref().map(|e| match lang {
        Lang::En => e.en.as_str(),
        Lang::Zh => e.zh.as_str(),
    });
    sa.set_message(match (save_error, c.session.unsaved()) {
        (Some(e), 0) => shared(match lang {
            Lang::En => format!("Not saved: {e}"),
            Lang::Zh => format!("未保存:{e}"),
        }),
        (e, n) if n > 0 => shared(match lang {
            Lang::En => format!(
                "{n} scan(s) kept on screen, not yet saved; retried with the next scan. {}",
                e.unwrap_or("")
            ),
            Lang::Zh => format!("{n} 条扫描暂未保存,已保留,下次扫描时重试。{}", e.unwrap_or("")),
        }),
        _ => SharedString::new(),
    });
}

/// Connects this screen's callbacks.
pub(super) fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<ScanAdapter>().on_leave_task(move || {
        let Some(app) = weak.upgrade() else { return };
        {
            let mut c = c.borrow_mut();
            c.task = None;
            c.last = None;
        }
        render_scan(&app, &c.borrow());
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<ScanAdapter>().on_submit(move |text| {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().submit(&text);
        let c = c.borrow();
        render_status(&app, &c);
        render_scan(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<ScanAdapter>().on_give_reason(move |i| {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut()
            .give_override_reason(usize::try_from(i).unwrap_or(usize::MAX));
        let c = c.borrow();
        render_status(&app, &c);
        render_scan(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<ScanAdapter>().on_select_customer(move |i| {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().customer_index = usize::try_from(i).unwrap_or(0);
        render_scan(&app, &c.borrow());
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<ScanAdapter>().on_demo_scan(move |text| {
        let Some(app) = weak.upgrade() else { return };
        let shown = c.borrow_mut().demo_scan(&text);
        if shown {
            let c = c.borrow();
            render_status(&app, &c);
            render_scan(&app, &c);
        }
    });
}

/// Judges `raw` at the pick gate as the scan screen judges a scanner's scan, without recording
/// it, and shows the verdict: the first scan of `lotline bench startup`'s probe. Returns the
/// verdict's name.
pub fn judge_first_scan(app: &AppWindow, ctl: &Rc<RefCell<Controller>>, raw: &[u8]) -> &'static str {
    let mut c = ctl.borrow_mut();
    let record = std::mem::replace(&mut c.record, false);
    c.gate = Gate::Pick;
    c.submit_bytes(raw);
    c.record = record;
    app.global::<AppState>().set_screen(Screen::Scan);
    render_scan(app, &c);
    match c.last.as_ref().map(|o| &o.evaluation.verdict) {
        Some(Verdict::Accept) => "accept",
        Some(Verdict::Warn(_)) => "warn",
        Some(Verdict::Reject(_)) => "reject",
        None => "none",
    }
}
