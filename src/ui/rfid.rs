//! The RFID screen: a live inventory from the UHF reader, each tag decoded and looked up.

use super::*;

impl Controller {
    /// What the cache knows about an EPC: an SGTIN names an item and a serial, whose lot the
    /// serials table gives.
    pub(super) fn tag_facts(&self, pc: u16, epc: &[u8]) -> TagFacts {
        let hex = crate::devices::codec::gen2::hex(epc);
        match decode_epc_with_pc(pc, &hex) {
            Ok(EpcDecoded::Gs1(e)) => {
                let ai = |k: &str| e.ais.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
                match (ai("01"), ai("21")) {
                    (Some(gtin), serial) => match self.session.store().item_by_code(&gtin).ok().flatten() {
                        Some(item) => {
                            let serial = serial.unwrap_or_default();
                            let lot = self.session.store().serial_lot(&item.id, &serial).ok().flatten();
                            TagFacts::Unit {
                                item: Box::new(item),
                                serial,
                                lot,
                            }
                        }
                        None => TagFacts::UnknownItem { gtin, serial },
                    },
                    _ => TagFacts::OtherGs1 {
                        scheme: e.scheme,
                        text: e.bracketed(),
                    },
                }
            }
            Ok(EpcDecoded::Raw { reason, .. }) => TagFacts::NotGs1 { reason },
            Err(err) => TagFacts::Unreadable { message: err.message },
        }
    }

    /// Starts an RFID inventory (a fresh session) on the reader.
    pub fn rfid_start(&mut self) {
        let Some(d) = &self.devices.attached.rfid else { return };
        d.send(DriverCommand::StartInventory);
        self.rfid.session = Some(InventorySession::new(TargetPlan::A, Instant::now()));
        self.rfid.running = true;
        self.rfid.pass = None;
        self.rfid.dirty = true;
    }

    pub fn rfid_stop(&mut self) {
        if let Some(d) = &self.devices.attached.rfid {
            d.send(DriverCommand::StopInventory);
        }
        self.rfid.running = false;
        self.rfid.dirty = true;
    }

    pub fn rfid_clear(&mut self) {
        self.rfid.session = self
            .rfid
            .running
            .then(|| InventorySession::new(TargetPlan::A, Instant::now()));
        self.rfid.pass = None;
        self.rfid.dirty = true;
    }

    /// Unique tags in the current RFID session.
    pub fn rfid_unique(&self) -> usize {
        self.rfid.session.as_ref().map_or(0, InventorySession::unique)
    }
}

/// One tag row: title, detail, severity (0 fine, 1 caution, 2 blocked or not an item).
pub(super) fn map_tag(f: &TagFacts, today: NaiveDate, lang: Lang) -> (String, String, i32) {
    match f {
        TagFacts::Unit { item, serial, lot } => {
            let title = match lang {
                Lang::En => format!("{} · SN {serial}", item.name_en),
                Lang::Zh => format!("{} · 序列号 {serial}", item.name_zh),
            };
            match lot {
                Some(l) => {
                    let (days, sev) = map_days_left(l.expiry, today, &item.near_expiry_days, lang);
                    let detail = match lang {
                        Lang::En => format!("Lot {} · {days} · {}", l.lot.as_str(), status_label(l.status, lang)),
                        Lang::Zh => format!("批号 {} · {days} · {}", l.lot.as_str(), status_label(l.status, lang)),
                    };
                    (title, detail, sev.max(status_severity(l.status)))
                }
                None => (
                    title,
                    match lang {
                        Lang::En => "Serial not in the local cache: lot unknown".to_owned(),
                        Lang::Zh => "本地无此序列号:批次未知".to_owned(),
                    },
                    1,
                ),
            }
        }
        TagFacts::UnknownItem { gtin, serial } => {
            let sn = serial.as_deref().unwrap_or("—");
            match lang {
                Lang::En => (
                    format!("Unknown item {gtin}"),
                    format!("SN {sn}: GTIN not in the local catalogue"),
                    2,
                ),
                Lang::Zh => (
                    format!("未知商品 {gtin}"),
                    format!("序列号 {sn}:GTIN 不在本地商品库中"),
                    2,
                ),
            }
        }
        TagFacts::OtherGs1 { scheme, text } => (scheme.to_uppercase(), text.clone(), 0),
        TagFacts::NotGs1 { reason } => match lang {
            Lang::En => ("Not a GS1 tag".to_owned(), reason.clone(), 2),
            Lang::Zh => ("非 GS1 标签".to_owned(), reason.clone(), 2),
        },
        TagFacts::Unreadable { message } => match lang {
            Lang::En => ("Unreadable EPC".to_owned(), message.clone(), 2),
            Lang::Zh => ("无法解析的 EPC".to_owned(), message.clone(), 2),
        },
    }
}

pub(super) fn render_rfid(app: &AppWindow, c: &Controller) {
    let ra = app.global::<RfidAdapter>();
    let lang = c.lang;
    let r = &c.rfid;
    ra.set_reader(shared(match &c.devices.rfid {
        Some(d) => {
            let line = device_line(d, "Reader", "读写器", c.devices.attached.simulated, lang);
            let detail = match lang {
                Lang::En => &d.detail.en,
                Lang::Zh => &d.detail.zh,
            };
            if d.state.is_up() || detail.is_empty() {
                format!("{} · {line}", d.name)
            } else {
                format!("{} · {line}: {detail}", d.name)
            }
        }
        None => match lang {
            Lang::En => "No RFID reader is set up (see hw-profiles and `lotline --device`)".to_owned(),
            Lang::Zh => "未配置 RFID 读写器(见 hw-profiles 与 `lotline --device`)".to_owned(),
        },
    }));
    ra.set_reader_up(c.devices.rfid.as_ref().is_some_and(|d| d.state.is_up()));
    ra.set_running(r.running);
    let now = Instant::now();
    ra.set_unique(r.session.as_ref().map_or(0, |s| s.unique() as i32));
    ra.set_rate(shared(match &r.session {
        Some(s) if r.running => format!("{:.0}", s.reads_per_s(now)),
        _ => "–".to_owned(),
    }));
    ra.set_pass(shared(match (r.pass, lang) {
        (Some((p, t)), Lang::En) => format!("Pass {p}, target {t}"),
        (Some((p, t)), Lang::Zh) => format!("第 {p} 轮,目标 {t}"),
        (None, _) => String::new(),
    }));
    let today = c.today();
    let rows: Vec<TagRow> = match &r.session {
        Some(s) => s
            .tags()
            .iter()
            .rev()
            .take(TAG_ROWS_MAX)
            .map(|t| {
                let (title, detail, severity) = match r.facts.get(&t.epc) {
                    Some(f) => map_tag(f, today, lang),
                    None => (String::new(), String::new(), 2),
                };
                let rssi = t.best_rssi.map(|x| format!(" · {x} dBm")).unwrap_or_default();
                TagRow {
                    title: shared(title),
                    detail: shared(detail),
                    epc: shared(format!("EPC {}", crate::devices::codec::gen2::hex(&t.epc))),
                    reads: shared(format!("×{}{rssi}", t.reads)),
                    severity,
                }
            })
            .collect(),
        None => vec![],
    };
    ra.set_tags(model(rows));
}

/// Connects this screen's callbacks.
pub(super) fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_open_rfid(move || {
        let Some(app) = weak.upgrade() else { return };
        render(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Rfid);
    });

    let rfid_action = |f: fn(&mut Controller)| {
        let weak = app.as_weak();
        let c = ctl.clone();
        move || {
            let Some(app) = weak.upgrade() else { return };
            f(&mut c.borrow_mut());
            render_rfid(&app, &c.borrow());
        }
    };
    app.global::<RfidAdapter>()
        .on_start(rfid_action(Controller::rfid_start));
    app.global::<RfidAdapter>().on_stop(rfid_action(Controller::rfid_stop));
    app.global::<RfidAdapter>()
        .on_clear(rfid_action(Controller::rfid_clear));
}
