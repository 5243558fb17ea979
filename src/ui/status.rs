//! The status bar and the devices: operator, connectivity, queue, the scanner and reader
//! states, device messages; the one door from driver threads into the UI.

use super::*;

thread_local! {
    /// Drains the device events waiting for the UI thread (set by [`device_sink`]).
    static INBOX: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

impl Controller {
    /// Takes over the devices the composition root started.
    pub fn attach(&mut self, devices: AttachedDevices) {
        self.devices.scanner = devices.scanner.as_ref().map(|d| DeviceStatus {
            name: d.device.clone(),
            state: DeviceState::Absent,
            detail: crate::domain::text::Text::new("", ""),
            last_event: None,
        });
        self.devices.rfid = devices.rfid.as_ref().map(|d| DeviceStatus {
            name: d.device.clone(),
            state: DeviceState::Absent,
            detail: crate::domain::text::Text::new("", ""),
            last_event: None,
        });
        self.devices.attached = devices;
    }

    /// Notes when a device was last heard from, for the health screen.
    fn note_last_event(&mut self, ev: &DeviceEvent) {
        let now = (self.clock)();
        let (slot, what) = match ev {
            DeviceEvent::Scan(_) => (&mut self.devices.scanner, "scan"),
            DeviceEvent::Tag(_) => (&mut self.devices.rfid, "tag"),
            DeviceEvent::Round { .. } => (&mut self.devices.rfid, "round"),
            DeviceEvent::State {
                kind: DeviceKind::Scanner,
                ..
            } => (&mut self.devices.scanner, "state"),
            DeviceEvent::State {
                kind: DeviceKind::Rfid, ..
            } => (&mut self.devices.rfid, "state"),
            DeviceEvent::Error { device, .. } => {
                if self.devices.scanner.as_ref().is_some_and(|d| &d.name == device) {
                    (&mut self.devices.scanner, "error")
                } else {
                    (&mut self.devices.rfid, "error")
                }
            }
        };
        if let Some(d) = slot {
            d.last_event = Some((now, what));
        }
    }

    pub(super) fn note_device(&mut self, message: String) {
        self.devices.message = Some((message, (self.clock)()));
    }

    /// Takes one device event; returns the screen to switch to, if any.
    pub(super) fn device_event(&mut self, ev: DeviceEvent, screen: Screen) -> Option<Screen> {
        self.note_last_event(&ev);
        match ev {
            DeviceEvent::Scan(scan) => {
                let bytes = scan.to_scan_bytes();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                match screen {
                    Screen::Scan => self.submit_bytes(&bytes),
                    Screen::Lookup => self.lookup(&text),
                    // A badge names the operator.
                    Screen::Login => {
                        // The badge's code, without the scanner's symbology identifier.
                        let today = self.today();
                        let badge = parse_scan(&bytes, None, &ScanSettings::default(), today)
                            .ok()
                            .and_then(|s| s.fields.code.clone())
                            .unwrap_or(text);
                        self.login.operator = badge.trim().to_owned();
                        self.login.message = None;
                    }
                    // At the receive gate the scan goes to the receipt; on its task list a
                    // scanned ASN number opens that task.
                    Screen::Receive => {
                        let op = if self.session.state().task_id().is_some() || self.session.state().gate().is_some() {
                            crate::app::session::Op::Scan { data: text }
                        } else {
                            crate::app::session::Op::Start {
                                gate: "receive".into(),
                                task: Some(text.trim().to_owned()),
                            }
                        };
                        self.receive_op(op);
                    }
                    Screen::Guided => {
                        if self.session.state().task_id().is_some() {
                            self.guided_op(crate::app::session::Op::Scan { data: text });
                        } else if let Some(g) = self.guided.gate {
                            // On the task list a scanned task number opens that task.
                            self.guided_op(crate::app::session::Op::Start {
                                gate: g.as_str().into(),
                                task: Some(text.trim().to_owned()),
                            });
                        }
                    }
                    Screen::Files | Screen::Health => {}
                    // A scan anywhere else shows its lot card.
                    Screen::Home | Screen::Rfid => {
                        self.lookup(&text);
                        return Some(Screen::Lookup);
                    }
                }
            }
            DeviceEvent::Tag(t) => {
                // At the receive gate, waiting for goods: each tag not yet taken in this receipt
                // is one unit (a tag read again, or read while a receipt is pending, waits for
                // the reader's next round).
                if screen == Screen::Receive && self.session.state().name() == "receive.scan" {
                    let hex = crate::devices::codec::gen2::hex(&t.tag.epc);
                    if self.receive.take_tag(&hex) {
                        self.receive_op(crate::app::session::Op::Scan {
                            data: format!("{}{hex}", crate::app::session::EPC_PREFIX),
                        });
                        self.receive.dirty = true;
                    }
                }
                // At the pick gate's serial step and while counting a location, tags go to the
                // workflow in batches (each tag once per step).
                if screen == Screen::Guided && self.guided_takes_tags() {
                    let hex = crate::devices::codec::gen2::hex(&t.tag.epc);
                    self.guided.take_tag(&hex);
                }
                if !self.rfid.running && self.rfid.session.is_none() {
                    return None;
                }
                let now = Instant::now();
                let session = self
                    .rfid
                    .session
                    .get_or_insert_with(|| InventorySession::new(TargetPlan::A, now));
                session.observe(&t.tag, now);
                if let Some(tid) = t.tag.tid {
                    session.set_tid(&t.tag.epc, tid);
                }
                if !self.rfid.facts.contains_key(&t.tag.epc) {
                    let f = self.tag_facts(t.tag.pc, &t.tag.epc);
                    self.rfid.facts.insert(t.tag.epc, f);
                }
                self.rfid.dirty = true;
            }
            DeviceEvent::Round { pass, target, .. } => {
                if self.flush_tags() {
                    self.guided.dirty = true;
                }
                self.rfid.pass = Some((pass, target));
                self.rfid.dirty = true;
            }
            DeviceEvent::State {
                device,
                kind,
                state,
                detail,
                detail_zh,
            } => {
                let slot = match kind {
                    DeviceKind::Scanner => &mut self.devices.scanner,
                    DeviceKind::Rfid => &mut self.devices.rfid,
                };
                *slot = Some(DeviceStatus {
                    name: device.clone(),
                    state,
                    detail: crate::domain::text::Text::new(detail.clone(), detail_zh.clone()),
                    last_event: Some(((self.clock)(), "state")),
                });
                match state {
                    DeviceState::Lost => self.note_device(match self.lang {
                        Lang::En => format!("{device}: disconnected ({detail}). Waiting for it to come back."),
                        Lang::Zh => format!("{device}:已断开({detail_zh})。等待重新连接。"),
                    }),
                    DeviceState::Reconnected => self.note_device(match self.lang {
                        Lang::En => format!("{device}: connected again"),
                        Lang::Zh => format!("{device}:已重新连接"),
                    }),
                    DeviceState::Absent => self.note_device(match self.lang {
                        Lang::En => format!("{device}: not found ({detail})"),
                        Lang::Zh => format!("{device}:未找到设备({detail_zh})"),
                    }),
                    DeviceState::Connected => {}
                }
                self.rfid.dirty = true;
            }
            DeviceEvent::Error {
                device,
                message,
                message_zh,
            } => self.note_device(match self.lang {
                Lang::En => format!("{device}: {message}"),
                Lang::Zh => format!("{device}:{message_zh}"),
            }),
        }
        None
    }

    /// Whether every attached device has reported itself connected.
    pub fn devices_up(&self) -> bool {
        [&self.devices.scanner, &self.devices.rfid]
            .iter()
            .all(|d| d.as_ref().is_none_or(|d| d.state.is_up()))
    }

    /// The action a terminal key is bound to, if any.
    pub(super) fn key_action(&self, text: &str) -> Option<Action> {
        self.devices.attached.terminal.as_ref()?.action_for_text(text)
    }
}

pub(super) fn render_status(app: &AppWindow, c: &Controller) {
    let st = app.global::<AppState>();
    st.set_operator(shared(c.session.operator_id().unwrap_or("—")));
    st.set_online(c.sync_status.as_ref().is_some_and(|s| s.online && s.link_enabled));
    st.set_queued(c.store().outbox_pending().unwrap_or(0) as i32);
    st.set_language(shared(c.lang.code()));
    st.set_today(shared(c.today().to_string()));
    st.set_db_path(shared(c.store().path().display().to_string()));
}

/// "Scanner ready", "RFID disconnected (simulated)": the state before the simulated mark, so a
/// narrow status bar elides the mark, not the state.
pub(super) fn device_line(d: &DeviceStatus, what_en: &str, what_zh: &str, simulated: bool, lang: Lang) -> String {
    let state = match (d.state, lang) {
        (DeviceState::Connected | DeviceState::Reconnected, Lang::En) => "ready",
        (DeviceState::Lost, Lang::En) => "disconnected",
        (DeviceState::Absent, Lang::En) => "not found",
        (DeviceState::Connected | DeviceState::Reconnected, Lang::Zh) => "就绪",
        (DeviceState::Lost, Lang::Zh) => "已断开",
        (DeviceState::Absent, Lang::Zh) => "未找到",
    };
    match (lang, simulated) {
        (Lang::En, false) => format!("{what_en} {state}"),
        (Lang::En, true) => format!("{what_en} {state} (simulated)"),
        (Lang::Zh, false) => format!("{what_zh}{state}"),
        (Lang::Zh, true) => format!("{what_zh}{state}(模拟)"),
    }
}

pub(super) fn render_devices(app: &AppWindow, c: &Controller) {
    let st = app.global::<AppState>();
    let lang = c.lang;
    let d = &c.devices;
    let sim = d.attached.simulated;
    st.set_scanner_state(shared(
        d.scanner
            .as_ref()
            .map(|x| device_line(x, "Scanner", "扫描枪", sim, lang))
            .unwrap_or_default(),
    ));
    st.set_scanner_up(d.scanner.as_ref().is_some_and(|x| x.state.is_up()));
    st.set_rfid_state(shared(
        d.rfid
            .as_ref()
            .map(|x| device_line(x, "RFID", "RFID ", sim, lang))
            .unwrap_or_default(),
    ));
    st.set_rfid_up(d.rfid.as_ref().is_some_and(|x| x.state.is_up()));
    let now = (c.clock)();
    st.set_device_message(match &d.message {
        Some((m, at)) if (now - *at).num_seconds() < MESSAGE_SECONDS => shared(m),
        _ => SharedString::new(),
    });
}

/// The sink device drivers report to: events queue up and the Slint event loop is woken to
/// take them (`invoke_from_event_loop`, the one door between threads). Call on the UI thread.
pub fn device_sink(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) -> Sink {
    let (tx, rx) = std::sync::mpsc::channel::<DeviceEvent>();
    let weak = app.as_weak();
    let c = ctl.clone();
    INBOX.with(|i| {
        *i.borrow_mut() = Some(Box::new(move || {
            let Some(app) = weak.upgrade() else { return };
            while let Ok(ev) = rx.try_recv() {
                handle_device_event(&app, &c, ev);
            }
        }))
    });
    Arc::new(move |ev| {
        let _ = tx.send(ev);
        let _ = slint::invoke_from_event_loop(pump_device_events);
    })
}

/// Applies the device events waiting, on the UI thread. The event loop does this by itself;
/// headless screenshots and tests call it directly.
pub fn pump_device_events() {
    INBOX.with(|i| {
        if let Some(f) = i.borrow().as_ref() {
            f();
        }
    });
}

/// Applies one device event to the controller and re-renders what it changed.
pub fn handle_device_event(app: &AppWindow, ctl: &Rc<RefCell<Controller>>, ev: DeviceEvent) {
    let is_tag = matches!(ev, DeviceEvent::Tag(_) | DeviceEvent::Round { .. });
    let screen = app.global::<AppState>().get_screen();
    let switch = ctl.borrow_mut().device_event(ev, screen);
    if std::mem::take(&mut ctl.borrow_mut().guided.dirty) {
        let c = ctl.borrow();
        super::guided::render(app, &c);
        render_status(app, &c);
    }
    if std::mem::take(&mut ctl.borrow_mut().receive.dirty) {
        let c = ctl.borrow();
        super::receive::render(app, &c);
        render_status(app, &c);
    }
    if is_tag {
        // Tag lists are re-rendered by the UI timer, at most a few times a second.
        return;
    }
    let c = ctl.borrow();
    render_screen(app, &c, switch.unwrap_or(screen));
    if let Some(s) = switch {
        app.global::<AppState>().set_screen(s);
    }
}

/// Hands the devices to the controller and shows them in the status bar.
pub fn attach(app: &AppWindow, ctl: &Rc<RefCell<Controller>>, devices: AttachedDevices) {
    ctl.borrow_mut().attach(devices);
    render(app, &ctl.borrow());
}
