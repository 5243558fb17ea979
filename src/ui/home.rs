//! Home: the gates, the open tasks (one query for all of them), navigation and the terminal's
//! keys; who may open which gate.

use super::*;

impl Controller {
    /// Whether the operator may open `gate` (anyone while nobody is logged in: pictures and
    /// read-only caches record nothing).
    pub(super) fn may_open(&self, gate: Gate) -> bool {
        self.session.state().operator().is_none_or(|o| o.may_open(gate))
    }

    pub(super) fn refuse_gate(&mut self, gate: Gate) {
        let role = crate::domain::operator::Role::for_gate(gate);
        let msg = match self.lang {
            Lang::En => format!(
                "You may not open the {} gate: it needs the {} role",
                gate.as_str(),
                role.label_en()
            ),
            Lang::Zh => format!(
                "您无权打开{}作业:需要{}角色",
                crate::domain::workflow::gate_zh(gate),
                role.label_zh()
            ),
        };
        self.note_device(msg);
    }
}

pub(super) fn kind_label(kind: TaskKind, lang: Lang) -> &'static str {
    match (kind, lang) {
        (TaskKind::Receipt, Lang::En) => "Receipt",
        (TaskKind::Pick, Lang::En) => "Pick",
        (TaskKind::Count, Lang::En) => "Count",
        (TaskKind::Receipt, Lang::Zh) => "收货",
        (TaskKind::Pick, Lang::Zh) => "拣货",
        (TaskKind::Count, Lang::Zh) => "盘点",
    }
}

pub(super) fn task_title(t: &crate::store::TaskSummary, lang: Lang) -> String {
    let mut s = format!("{} · {}", t.id, kind_label(t.kind, lang));
    if let Some(r) = &t.reference {
        s.push_str(&format!(" · {r}"));
    }
    s
}

/// A task as Home and the gates' task lists show it (one query for all tasks, none per task).
pub(super) fn map_task(t: &crate::store::TaskSummary, customers: &[(String, String)], lang: Lang) -> TaskRow {
    let customer = t
        .customer_id
        .as_deref()
        .and_then(|id| customers.iter().find(|(cid, _)| cid == id));
    let lines = t.lines;
    // A count task's `lines` are its locations.
    let (en, zh) = if t.kind == TaskKind::Count {
        ("location(s)", "个库位")
    } else {
        ("line(s)", "行")
    };
    let detail = match (lang, customer) {
        (Lang::En, Some((_, name))) => format!("{name} · {lines} {en}"),
        (Lang::En, None) => format!("{lines} {en}"),
        (Lang::Zh, Some((_, name))) => format!("{name} · {lines} {zh}"),
        (Lang::Zh, None) => format!("{lines} {zh}"),
    };
    TaskRow {
        id: shared(&t.id),
        title: shared(task_title(t, lang)),
        detail: shared(detail),
    }
}

pub(super) fn open_tasks(c: &Controller, kind: Option<TaskKind>) -> Vec<TaskRow> {
    c.store()
        .tasks(kind)
        .unwrap_or_default()
        .iter()
        .filter(|t| t.status.is_open())
        .map(|t| map_task(t, &c.customers, c.lang))
        .collect()
}

pub(super) fn render_tasks(app: &AppWindow, c: &Controller) {
    app.global::<AppState>().set_tasks(model(open_tasks(c, None)));
}

/// Connects this screen's callbacks.
pub(super) fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_set_language(move |lang| {
        let Some(lang) = Lang::parse(&lang) else { return };
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().lang = lang;
        select_language(lang);
        render(&app, &c.borrow());
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_open_gate(move |gate| {
        let Some(app) = weak.upgrade() else { return };
        let Some(gate) = Gate::parse(&gate) else { return };
        if !c.borrow().may_open(gate) {
            c.borrow_mut().refuse_gate(gate);
            render_devices(&app, &c.borrow());
            return;
        }
        if gate == Gate::Receive {
            receive::render(&app, &c.borrow());
            app.global::<AppState>().set_screen(Screen::Receive);
            return;
        }
        // Pick and count: the gate's tasks (or the flow left open), with a quick check beside.
        guided::open(&app, &mut c.borrow_mut(), gate);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_open_task(move |id| {
        let Some(app) = weak.upgrade() else { return };
        let is_receipt = c
            .borrow()
            .store()
            .tasks(Some(TaskKind::Receipt))
            .unwrap_or_default()
            .iter()
            .any(|t| t.id == id.as_str());
        if is_receipt {
            if !c.borrow().may_open(Gate::Receive) {
                c.borrow_mut().refuse_gate(Gate::Receive);
                render_devices(&app, &c.borrow());
                return;
            }
            app.global::<ReceiveAdapter>().invoke_start(id);
            app.global::<AppState>().set_screen(Screen::Receive);
            return;
        }
        let kind = c
            .borrow()
            .store()
            .tasks(None)
            .unwrap_or_default()
            .into_iter()
            .find(|t| t.id == id.as_str())
            .map(|t| t.kind);
        let gate = match kind {
            Some(TaskKind::Pick) => Gate::Pick,
            Some(TaskKind::Count) => Gate::Count,
            _ => return,
        };
        if !c.borrow().may_open(gate) {
            c.borrow_mut().refuse_gate(gate);
            render_devices(&app, &c.borrow());
            return;
        }
        // Logged in, a pick or count task opens its guided flow; otherwise (a screenshot, a
        // read-only cache) its items and customer apply to the quick check.
        if c.borrow().session.state().operator().is_some() {
            guided::open(&app, &mut c.borrow_mut(), gate);
            app.global::<GuidedAdapter>().invoke_start(id);
            return;
        }
        let opened = c.borrow_mut().open_task(&id);
        if opened.is_some() {
            render_scan(&app, &c.borrow());
            render_status(&app, &c.borrow());
            app.global::<AppState>().set_screen(Screen::Scan);
        }
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_go_home(move || {
        let Some(app) = weak.upgrade() else { return };
        render_status(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Home);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_hardware_key(move |text| {
        let Some(app) = weak.upgrade() else { return false };
        let Some(action) = c.borrow().key_action(&text) else {
            return false;
        };
        let st = app.global::<AppState>();
        match action {
            Action::Receive => st.invoke_open_gate("receive".into()),
            Action::Pick => st.invoke_open_gate("pick".into()),
            Action::Count => st.invoke_open_gate("count".into()),
            Action::Lookup => st.invoke_open_lookup(),
            Action::Rfid => st.invoke_open_rfid(),
            Action::Back => st.invoke_go_home(),
            Action::Trigger => {
                let mut ctl = c.borrow_mut();
                if st.get_screen() == Screen::Rfid {
                    if ctl.rfid.running {
                        ctl.rfid_stop()
                    } else {
                        ctl.rfid_start()
                    }
                    render_rfid(&app, &ctl);
                } else if let Some(d) = &ctl.devices.attached.scanner {
                    d.send(DriverCommand::Trigger(true));
                }
            }
            // Enter belongs to the focused field; unbound here.
            Action::Enter => return false,
        }
        true
    });
}
