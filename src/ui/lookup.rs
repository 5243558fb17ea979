//! Lookup: the lot card (item, lot, expiry and days left, status, where and how many, recent
//! movements on this device) or an item's lots.

use super::*;

impl Controller {
    pub fn lookup(&mut self, text: &str) {
        let raw = text.trim();
        if raw.is_empty() {
            return;
        }
        let today = self.today();
        self.lookup = match self.lookup_inner(raw, today) {
            Ok(s) => s,
            Err(e) => LookupState::Message {
                en: e.to_string(),
                zh: e.message_zh(),
            },
        };
    }

    pub(super) fn lookup_inner(&self, raw: &str, today: NaiveDate) -> Result<LookupState, crate::store::StoreError> {
        let scan = match parse_scan(raw.as_bytes(), None, &ScanSettings::default(), today) {
            Ok(s) => s,
            Err(e) => {
                return Ok(LookupState::Message {
                    en: format!("Unreadable barcode: {}. Scanned: {raw}", e.message),
                    zh: format!("无法识别的条码:{}。扫描内容:{raw}", e.message),
                });
            }
        };
        let code = match (&scan.kind, &scan.fields.gtin, &scan.fields.code) {
            (ScanKind::Code, _, Some(c)) => c.clone(),
            (_, Some(g), _) => g.as_str().to_owned(),
            _ => {
                return Ok(LookupState::Message {
                    en: format!("{raw} does not name an item: scan the item label"),
                    zh: format!("{raw} 不是商品条码:请扫描商品标签"),
                });
            }
        };
        let Some(item) = self.session.store().item_by_code(&code)? else {
            return Ok(LookupState::Message {
                en: format!("Unknown item: {code} is not in the local catalogue"),
                zh: format!("未知商品:{code} 不在本地商品库中"),
            });
        };
        match &scan.fields.lot {
            Some(l) => match self.session.store().lot(&item.id, l.as_str())? {
                Some(lot) => {
                    let stock = self.session.store().stock_of_lot(&item.id, l.as_str())?;
                    let movements = self.session.store().movements(&item.id, l.as_str(), 10)?;
                    Ok(LookupState::Card {
                        item,
                        lot,
                        stock,
                        movements,
                    })
                }
                None => Ok(LookupState::Message {
                    en: format!("Lot {l} of {} is not known here", item.name_en),
                    zh: format!("{} 的批次 {l} 在本地不存在", item.name_zh),
                }),
            },
            None => {
                let lots = self.session.store().lots_of_item(&item.id, 50)?;
                Ok(LookupState::Lots { item, lots })
            }
        }
    }

    pub(super) fn select_lot(&mut self, index: usize) {
        let LookupState::Lots { item, lots } = &self.lookup else {
            return;
        };
        let Some(lot) = lots.get(index).cloned() else { return };
        let item = item.clone();
        let store = self.session.store();
        let found = store
            .stock_of_lot(&item.id, lot.lot.as_str())
            .and_then(|stock| Ok((stock, store.movements(&item.id, lot.lot.as_str(), 10)?)));
        match found {
            Ok((stock, movements)) => {
                self.lookup = LookupState::Card {
                    item,
                    lot,
                    stock,
                    movements,
                }
            }
            Err(e) => {
                self.lookup = LookupState::Message {
                    en: e.to_string(),
                    zh: e.message_zh(),
                }
            }
        }
    }
}

/// One movement on the lot card: "received 40 → WH1-R-01-03 · recv1 · 2026-11-21 09:30".
pub fn map_movement(m: &crate::store::gates::Movement, lang: Lang) -> String {
    let what = match (m.kind.as_str(), lang) {
        ("receive", Lang::En) => "received",
        ("putaway", Lang::En) => "put away",
        ("pick", Lang::En) => "picked",
        ("count", Lang::En) => "counted",
        ("adjust", Lang::En) => "adjusted",
        ("receive", Lang::Zh) => "收货",
        ("putaway", Lang::Zh) => "上架",
        ("pick", Lang::Zh) => "拣货",
        ("count", Lang::Zh) => "盘点",
        ("adjust", Lang::Zh) => "调整",
        (other, _) => other,
    };
    let place = match (&m.from, &m.to) {
        (Some(f), Some(t)) => format!("{f} → {t}"),
        (None, Some(t)) => format!("→ {t}"),
        (Some(f), None) => format!("{f} →"),
        (None, None) => String::new(),
    };
    let when = chrono::DateTime::parse_from_rfc3339(&m.at)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| m.at.clone());
    format!("{what} {} {place} · {} · {when}", m.qty, m.operator)
}

pub(super) fn status_label(s: LotStatus, lang: Lang) -> &'static str {
    match lang {
        Lang::En => s.label_en(),
        Lang::Zh => s.label_zh(),
    }
}

/// "in 25 days" / "expired 3 days ago" and the severity (0 good, 1 caution, 2 blocked).
pub fn map_days_left(expiry: Option<NaiveDate>, today: NaiveDate, tiers: &[u32], lang: Lang) -> (String, i32) {
    let Some(e) = expiry else {
        return (
            match lang {
                Lang::En => "no expiry".into(),
                Lang::Zh => "无有效期".into(),
            },
            0,
        );
    };
    let n = (e - today).num_days();
    let text = match (lang, n) {
        (Lang::En, 0) => "expires today".to_owned(),
        (Lang::En, 1) => "in 1 day".to_owned(),
        (Lang::En, n) if n > 0 => format!("in {n} days"),
        (Lang::En, -1) => "expired 1 day ago".to_owned(),
        (Lang::En, n) => format!("expired {} days ago", -n),
        (Lang::Zh, 0) => "今天到期".to_owned(),
        (Lang::Zh, n) if n > 0 => format!("{n} 天后到期"),
        (Lang::Zh, n) => format!("已过期 {} 天", -n),
    };
    let sev = if n < 0 {
        2
    } else if tiers.iter().any(|t| n <= i64::from(*t)) {
        1
    } else {
        0
    };
    (text, sev)
}

pub(super) fn status_severity(s: LotStatus) -> i32 {
    match s {
        LotStatus::Released => 0,
        LotStatus::Quarantine | LotStatus::OnHold => 1,
        LotStatus::Recalled | LotStatus::Rejected => 2,
    }
}

pub(super) fn render_lookup(app: &AppWindow, c: &Controller) {
    let la = app.global::<LookupAdapter>();
    let lang = c.lang;
    let today = c.today();
    la.set_has_card(false);
    la.set_message(SharedString::new());
    la.set_lots(model(vec![]));
    la.set_stock(model(vec![]));
    la.set_movements(model(vec![]));
    match &c.lookup {
        LookupState::None => {}
        LookupState::Message { en, zh } => la.set_message(shared(if lang == Lang::Zh { zh } else { en })),
        LookupState::Card {
            item,
            lot,
            stock,
            movements,
        } => {
            la.set_has_card(true);
            la.set_movements(model(movements.iter().map(|m| shared(map_movement(m, lang))).collect()));
            la.set_item_name(shared(item_name(item, lang)));
            la.set_item_meta(shared(format!(
                "{} · GTIN {} · {}",
                item.id,
                item.gtin.as_ref().map(|g| g.as_str()).unwrap_or("—"),
                if lang == Lang::Zh { &item.name_en } else { &item.name_zh }
            )));
            la.set_lot(shared(lot.lot.as_str()));
            la.set_expiry(shared(lot.expiry.map(|d| d.to_string()).unwrap_or_else(|| "—".into())));
            let (days, sev) = map_days_left(lot.expiry, today, &item.near_expiry_days, lang);
            la.set_days_left(shared(days));
            la.set_status(shared(status_label(lot.status, lang)));
            la.set_severity(sev.max(status_severity(lot.status)));
            la.set_storage(shared(if lang == Lang::Zh {
                item.storage.label_zh()
            } else {
                item.storage.label_en()
            }));
            la.set_stock(model(
                stock
                    .iter()
                    .map(|s| StockLine {
                        location: shared(&s.location),
                        warehouse: shared(&s.warehouse),
                        qty: shared(s.qty.to_string()),
                    })
                    .collect(),
            ));
            let total: i64 = stock.iter().map(|s| s.qty).sum();
            la.set_total(shared(match lang {
                Lang::En => format!("Total {total}"),
                Lang::Zh => format!("合计 {total}"),
            }));
        }
        LookupState::Lots { item, lots } => {
            la.set_message(shared(match lang {
                Lang::En => format!(
                    "{}: {} lot(s). Tap one, or scan a label with the lot.",
                    item.name_en,
                    lots.len()
                ),
                Lang::Zh => format!("{}:{} 个批次。点选一个,或扫描带批号的标签。", item.name_zh, lots.len()),
            }));
            la.set_lots(model(
                lots.iter()
                    .map(|l| {
                        let (_, sev) = map_days_left(l.expiry, today, &item.near_expiry_days, lang);
                        LotLine {
                            lot: shared(l.lot.as_str()),
                            expiry: shared(l.expiry.map(|d| d.to_string()).unwrap_or_else(|| "—".into())),
                            status: shared(status_label(l.status, lang)),
                            severity: sev.max(status_severity(l.status)),
                        }
                    })
                    .collect(),
            ));
        }
    }
}

/// Connects this screen's callbacks.
pub(super) fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_open_lookup(move || {
        let Some(app) = weak.upgrade() else { return };
        render(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Lookup);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<LookupAdapter>().on_lookup(move |text| {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().lookup(&text);
        render_lookup(&app, &c.borrow());
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<LookupAdapter>().on_select_lot(move |i| {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().select_lot(usize::try_from(i).unwrap_or(usize::MAX));
        render_lookup(&app, &c.borrow());
    });
}
