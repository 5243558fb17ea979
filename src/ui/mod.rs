//! The Slint shell: wires the screens' adapter globals to the store and the verdict engine.
//!
//! The Slint event loop owns the main thread. Callbacks run on it and call into `app::check`
//! synchronously: a verdict is a handful of indexed SQLite reads, well under a frame.
//! Pure `map_*` functions turn domain values into the structs the views show.

pub mod files;
pub mod headless;
pub mod login;
pub mod receive;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDate};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::app::check::{CheckContext, CheckOutcome, task_context};
use crate::app::session::Session;
use crate::devices::inventory::{InventorySession, TargetPlan};
use crate::devices::profile::{Action, TerminalProfile};
use crate::devices::sim::SimScanner;
use crate::devices::{DeviceEvent, DeviceKind, DeviceState, DriverCommand, DriverHandle, Sink};
use crate::domain::epc::{EpcDecoded, decode_epc_with_pc};
use crate::domain::lot::{Item, Lot, LotStatus};
use crate::domain::policy::{Gate, Verdict};
use crate::domain::reason::FEFO_OVERRIDE_REASONS;
use crate::domain::scan::{ScanKind, ScanSettings, parse_scan};
use crate::store::demo::{DemoScan, stored_scans};
use crate::store::{StockRow, Store, Task};

slint::include_modules!();

/// The UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" | "en_US" | "en_GB" => Some(Lang::En),
            "zh" | "zh_CN" | "zh-CN" | "zh_Hans" => Some(Lang::Zh),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
    fn catalogue(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh_CN",
        }
    }
}

/// Where the UI gets the time from: the system clock in the app, a fixed instant in tests.
pub type Clock = Rc<dyn Fn() -> DateTime<FixedOffset>>;

pub fn system_clock() -> Clock {
    Rc::new(|| chrono::Local::now().fixed_offset())
}

pub struct UiOptions {
    pub clock: Clock,
    pub lang: Lang,
    /// Write each scan to the audit log and the outbox (off for screenshots).
    pub record: bool,
}

const RECENT_MAX: usize = 30;

struct Recent {
    outcome: CheckOutcome,
    time: String,
}

/// The task the scan screen is working on.
struct ActiveTask {
    task: Task,
    ctx: CheckContext,
}

enum LookupState {
    None,
    Message { en: String, zh: String },
    Card { item: Item, lot: Lot, stock: Vec<StockRow> },
    Lots { item: Item, lots: Vec<Lot> },
}

/// UI state that outlives a single callback.
pub struct Controller {
    session: Session,
    clock: Clock,
    record: bool,
    lang: Lang,
    gate: Gate,
    customers: Vec<(String, String)>,
    customer_index: usize,
    task: Option<ActiveTask>,
    recent: VecDeque<Recent>,
    last: Option<CheckOutcome>,
    /// The last scan's outbox command id and time, for an override that refers to it.
    last_command: Option<(String, String)>,
    /// The override reason given for the last scan, if any (index into FEFO_OVERRIDE_REASONS).
    override_given: Option<usize>,
    /// Why the last action could not be done (a store error), shown on the scan screen.
    save_error: Option<String>,
    login: login::LoginUi,
    receive: receive::ReceiveUi,
    files: files::FilesUi,
    lookup: LookupState,
    demo: Vec<DemoScan>,
    devices: Devices,
    rfid: RfidState,
    refresh_timer: slint::Timer,
}

/// A device as the status bar shows it.
struct DeviceStatus {
    name: String,
    state: DeviceState,
    detail: String,
}

/// The devices the app runs, handed over by the composition root.
#[derive(Default)]
pub struct AttachedDevices {
    pub scanner: Option<DriverHandle>,
    pub rfid: Option<DriverHandle>,
    /// The simulated scanner (the demo chips scan through it) ...
    pub sim_scanner: Option<Arc<SimScanner>>,
    /// ... and anything else that must live as long as the UI (simulated reader).
    pub keep_alive: Vec<Box<dyn std::any::Any>>,
    /// The handheld's key map.
    pub terminal: Option<TerminalProfile>,
    /// The scanner and reader are the simulated ones (the status bar says so).
    pub simulated: bool,
}

#[derive(Default)]
struct Devices {
    attached: AttachedDevices,
    scanner: Option<DeviceStatus>,
    rfid: Option<DeviceStatus>,
    /// The last device message and when it was shown (it fades after `MESSAGE_SECONDS`).
    message: Option<(String, DateTime<FixedOffset>)>,
}

const MESSAGE_SECONDS: i64 = 8;
/// Tag rows shown at most (the session keeps them all).
const TAG_ROWS_MAX: usize = 300;

/// What the cache says about a tag's EPC (looked up once per EPC).
#[derive(Clone)]
enum TagFacts {
    Unit {
        item: Box<Item>,
        serial: String,
        lot: Option<Lot>,
    },
    UnknownItem {
        gtin: String,
        serial: Option<String>,
    },
    OtherGs1 {
        scheme: &'static str,
        text: String,
    },
    NotGs1 {
        reason: String,
    },
    Unreadable {
        message: String,
    },
}

#[derive(Default)]
struct RfidState {
    session: Option<InventorySession>,
    running: bool,
    pass: Option<(u32, char)>,
    facts: HashMap<Vec<u8>, TagFacts>,
    dirty: bool,
}

impl Controller {
    /// The cache this UI works on.
    pub fn store(&self) -> &Store {
        self.session.store()
    }

    /// The working session: operator, gate, task, the workflow's step.
    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    fn today(&self) -> NaiveDate {
        (self.clock)().date_naive()
    }

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
                self.save_error = self.session.save_error().map(str::to_owned);
                self.recent.push_front(Recent {
                    outcome: checked.outcome.clone(),
                    time: now.format("%H:%M:%S").to_string(),
                });
                self.recent.truncate(RECENT_MAX);
                self.last = Some(checked.outcome);
            }
            Err(e) => {
                self.save_error = Some(e.to_string());
            }
        }
    }

    /// True when the last scan warned with something that needs a reason and none is given yet.
    fn needs_override(&self) -> bool {
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
                self.save_error = Some(e.to_string());
                return;
            }
        }
        self.override_given = Some(index);
    }

    /// Starts working on a task: its gate, its customer, its items.
    pub fn open_task(&mut self, id: &str) -> Option<Gate> {
        let task = self.session.store().task(id).ok().flatten()?;
        let ctx = task_context(self.session.store(), &task).ok()?;
        let gate = match task.summary.kind.as_str() {
            "receipt" => Gate::Receive,
            "count" => Gate::Count,
            _ => Gate::Pick,
        };
        if self.gate != gate || self.task.as_ref().map(|t| &t.task.summary.id) != Some(&task.summary.id) {
            self.last = None;
        }
        self.gate = gate;
        self.task = Some(ActiveTask { task, ctx });
        self.save_error = None;
        Some(gate)
    }

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
                zh: e.to_string(),
            },
        };
    }

    fn lookup_inner(&self, raw: &str, today: NaiveDate) -> Result<LookupState, crate::store::StoreError> {
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
                    Ok(LookupState::Card { item, lot, stock })
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

    /// Takes over the devices the composition root started.
    pub fn attach(&mut self, devices: AttachedDevices) {
        self.devices.scanner = devices.scanner.as_ref().map(|d| DeviceStatus {
            name: d.device.clone(),
            state: DeviceState::Absent,
            detail: String::new(),
        });
        self.devices.rfid = devices.rfid.as_ref().map(|d| DeviceStatus {
            name: d.device.clone(),
            state: DeviceState::Absent,
            detail: String::new(),
        });
        self.devices.attached = devices;
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

    fn note_device(&mut self, message: String) {
        self.devices.message = Some((message, (self.clock)()));
    }

    /// Takes one device event; returns the screen to switch to, if any.
    fn device_event(&mut self, ev: DeviceEvent, screen: Screen) -> Option<Screen> {
        match ev {
            DeviceEvent::Scan(scan) => {
                let bytes = scan.to_scan_bytes();
                match screen {
                    Screen::Scan => self.submit_bytes(&bytes),
                    Screen::Lookup => self.lookup(&String::from_utf8_lossy(&bytes)),
                    // A scan anywhere else shows its lot card.
                    _ => {
                        self.lookup(&String::from_utf8_lossy(&bytes));
                        return Some(Screen::Lookup);
                    }
                }
            }
            DeviceEvent::Tag(t) => {
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
                self.rfid.pass = Some((pass, target));
                self.rfid.dirty = true;
            }
            DeviceEvent::State {
                device,
                kind,
                state,
                detail,
            } => {
                let slot = match kind {
                    DeviceKind::Scanner => &mut self.devices.scanner,
                    DeviceKind::Rfid => &mut self.devices.rfid,
                };
                *slot = Some(DeviceStatus {
                    name: device.clone(),
                    state,
                    detail: detail.clone(),
                });
                match state {
                    DeviceState::Lost => self.note_device(match self.lang {
                        Lang::En => format!("{device}: disconnected ({detail}). Waiting for it to come back."),
                        Lang::Zh => format!("{device}:已断开({detail})。等待重新连接。"),
                    }),
                    DeviceState::Reconnected => self.note_device(match self.lang {
                        Lang::En => format!("{device}: connected again"),
                        Lang::Zh => format!("{device}:已重新连接"),
                    }),
                    DeviceState::Absent => self.note_device(match self.lang {
                        Lang::En => format!("{device}: not found ({detail})"),
                        Lang::Zh => format!("{device}:未找到设备({detail})"),
                    }),
                    DeviceState::Connected => {}
                }
                self.rfid.dirty = true;
            }
            DeviceEvent::Error { device, message } => self.note_device(format!("{device}: {message}")),
        }
        None
    }

    /// What the cache knows about an EPC: an SGTIN names an item and a serial, whose lot the
    /// serials table gives.
    fn tag_facts(&self, pc: u16, epc: &[u8]) -> TagFacts {
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

    /// Whether every attached device has reported itself connected.
    pub fn devices_up(&self) -> bool {
        [&self.devices.scanner, &self.devices.rfid]
            .iter()
            .all(|d| d.as_ref().is_none_or(|d| d.state.is_up()))
    }

    /// Unique tags in the current RFID session.
    pub fn rfid_unique(&self) -> usize {
        self.rfid.session.as_ref().map_or(0, InventorySession::unique)
    }

    /// The action a terminal key is bound to, if any.
    fn key_action(&self, text: &str) -> Option<Action> {
        self.devices.attached.terminal.as_ref()?.action_for_text(text)
    }

    fn select_lot(&mut self, index: usize) {
        let LookupState::Lots { item, lots } = &self.lookup else {
            return;
        };
        let Some(lot) = lots.get(index).cloned() else { return };
        let item = item.clone();
        match self.session.store().stock_of_lot(&item.id, lot.lot.as_str()) {
            Ok(stock) => self.lookup = LookupState::Card { item, lot, stock },
            Err(e) => {
                self.lookup = LookupState::Message {
                    en: e.to_string(),
                    zh: e.to_string(),
                }
            }
        }
    }
}

fn shared(s: impl AsRef<str>) -> SharedString {
    SharedString::from(s.as_ref())
}

fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(v))
}

fn verdict_kind(v: &Verdict) -> VerdictKind {
    match v {
        Verdict::Accept => VerdictKind::Accept,
        Verdict::Warn(_) => VerdictKind::Warn,
        Verdict::Reject(_) => VerdictKind::Reject,
    }
}

fn item_name(item: &Item, lang: Lang) -> &str {
    match lang {
        Lang::En => &item.name_en,
        Lang::Zh => &item.name_zh,
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

fn reason_text(r: &crate::domain::reason::Reason, lang: Lang) -> SharedString {
    match lang {
        Lang::En => shared(r.message_en()),
        Lang::Zh => shared(r.message_zh()),
    }
}

fn verdict_word(v: &Verdict, lang: Lang) -> &'static str {
    match (v, lang) {
        (Verdict::Accept, Lang::En) => "OK",
        (Verdict::Warn(_), Lang::En) => "CAUTION",
        (Verdict::Reject(_), Lang::En) => "STOP",
        (Verdict::Accept, Lang::Zh) => "通过",
        (Verdict::Warn(_), Lang::Zh) => "注意",
        (Verdict::Reject(_), Lang::Zh) => "停止",
    }
}

fn map_recent(r: &Recent, lang: Lang) -> RecentScan {
    let v = &r.outcome.evaluation.verdict;
    let first = v.reasons().first().map(|x| reason_text(x, lang)).unwrap_or_default();
    RecentScan {
        verdict: verdict_kind(v),
        headline: shared(format!("{} · {}", verdict_word(v, lang), map_subject(&r.outcome, lang))),
        detail: first,
        time: shared(&r.time),
    }
}

fn status_label(s: LotStatus, lang: Lang) -> &'static str {
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

fn status_severity(s: LotStatus) -> i32 {
    match s {
        LotStatus::Released => 0,
        LotStatus::Quarantine | LotStatus::OnHold => 1,
        LotStatus::Recalled | LotStatus::Rejected => 2,
    }
}

fn render_status(app: &AppWindow, c: &Controller) {
    let st = app.global::<AppState>();
    st.set_operator(shared(c.session.operator_id().unwrap_or("—")));
    st.set_online(false);
    st.set_queued(c.store().outbox_pending().unwrap_or(0) as i32);
    st.set_language(shared(c.lang.code()));
    st.set_today(shared(c.today().to_string()));
    st.set_db_path(shared(c.store().path().display().to_string()));
}

fn kind_label(kind: &str, lang: Lang) -> &'static str {
    match (kind, lang) {
        ("receipt", Lang::En) => "Receipt",
        ("pick", Lang::En) => "Pick",
        ("count", Lang::En) => "Count",
        ("receipt", Lang::Zh) => "收货",
        ("pick", Lang::Zh) => "拣货",
        ("count", Lang::Zh) => "盘点",
        _ => "Task",
    }
}

fn task_title(t: &crate::store::TaskSummary, lang: Lang) -> String {
    let mut s = format!("{} · {}", t.id, kind_label(&t.kind, lang));
    if let Some(r) = &t.reference {
        s.push_str(&format!(" · {r}"));
    }
    s
}

/// A task as Home and the gates' task lists show it (one query for all tasks, none per task).
fn map_task(t: &crate::store::TaskSummary, customers: &[(String, String)], lang: Lang) -> TaskRow {
    let customer = t
        .customer_id
        .as_deref()
        .and_then(|id| customers.iter().find(|(cid, _)| cid == id));
    let lines = t.lines;
    let detail = match (lang, customer) {
        (Lang::En, Some((_, name))) => format!("{name} · {lines} line(s)"),
        (Lang::En, None) => format!("{lines} line(s)"),
        (Lang::Zh, Some((_, name))) => format!("{name} · {lines} 行"),
        (Lang::Zh, None) => format!("{lines} 行"),
    };
    TaskRow {
        id: shared(&t.id),
        title: shared(task_title(t, lang)),
        detail: shared(detail),
    }
}

fn open_tasks(c: &Controller, kind: Option<&str>) -> Vec<TaskRow> {
    c.store()
        .tasks(kind)
        .unwrap_or_default()
        .iter()
        .filter(|t| t.status == "open" || t.status == "in_progress")
        .map(|t| map_task(t, &c.customers, c.lang))
        .collect()
}

fn render_tasks(app: &AppWindow, c: &Controller) {
    app.global::<AppState>().set_tasks(model(open_tasks(c, None)));
}

fn render_scan(app: &AppWindow, c: &Controller) {
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
    sa.set_message(match (&c.save_error, c.session.unsaved()) {
        (Some(e), 0) => shared(match lang {
            Lang::En => format!("Not saved: {e}"),
            Lang::Zh => format!("未保存:{e}"),
        }),
        (e, n) if n > 0 => shared(match lang {
            Lang::En => format!(
                "{n} scan(s) kept on screen, not yet saved; retried with the next scan. {}",
                e.as_deref().unwrap_or("")
            ),
            Lang::Zh => format!(
                "{n} 条扫描暂未保存,已保留,下次扫描时重试。{}",
                e.as_deref().unwrap_or("")
            ),
        }),
        _ => SharedString::new(),
    });
}

fn render_lookup(app: &AppWindow, c: &Controller) {
    let la = app.global::<LookupAdapter>();
    let lang = c.lang;
    let today = c.today();
    la.set_has_card(false);
    la.set_message(SharedString::new());
    la.set_lots(model(vec![]));
    la.set_stock(model(vec![]));
    match &c.lookup {
        LookupState::None => {}
        LookupState::Message { en, zh } => la.set_message(shared(if lang == Lang::Zh { zh } else { en })),
        LookupState::Card { item, lot, stock } => {
            la.set_has_card(true);
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

/// "Scanner ready", "RFID disconnected (simulated)": the state before the simulated mark, so a
/// narrow status bar elides the mark, not the state.
fn device_line(d: &DeviceStatus, what_en: &str, what_zh: &str, simulated: bool, lang: Lang) -> String {
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

fn render_devices(app: &AppWindow, c: &Controller) {
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

/// One tag row: title, detail, severity (0 fine, 1 caution, 2 blocked or not an item).
fn map_tag(f: &TagFacts, today: NaiveDate, lang: Lang) -> (String, String, i32) {
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

fn render_rfid(app: &AppWindow, c: &Controller) {
    let ra = app.global::<RfidAdapter>();
    let lang = c.lang;
    let r = &c.rfid;
    ra.set_reader(shared(match &c.devices.rfid {
        Some(d) => {
            let line = device_line(d, "Reader", "读写器", c.devices.attached.simulated, lang);
            if d.state.is_up() || d.detail.is_empty() {
                format!("{} · {line}", d.name)
            } else {
                format!("{} · {line}: {}", d.name, d.detail)
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

/// Re-renders every adapter from the controller (cheap: a few dozen rows at most).
pub fn render(app: &AppWindow, c: &Controller) {
    render_status(app, c);
    render_devices(app, c);
    render_tasks(app, c);
    render_scan(app, c);
    render_lookup(app, c);
    render_rfid(app, c);
    login::render(app, c);
    receive::render(app, c);
    files::render(app, c);
}

impl Controller {
    /// Whether the operator may open `gate` (anyone while nobody is logged in: pictures and
    /// read-only caches record nothing).
    fn may_open(&self, gate: Gate) -> bool {
        self.session.state().operator().is_none_or(|o| o.may_open(gate))
    }

    fn refuse_gate(&mut self, gate: Gate) {
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

thread_local! {
    /// Drains the device events waiting for the UI thread (set by [`device_sink`]).
    static INBOX: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
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
    if is_tag {
        // Tag lists are re-rendered by the UI timer, at most a few times a second.
        return;
    }
    let c = ctl.borrow();
    render(app, &c);
    if let Some(s) = switch {
        app.global::<AppState>().set_screen(s);
    }
}

/// Hands the devices to the controller and shows them in the status bar.
pub fn attach(app: &AppWindow, ctl: &Rc<RefCell<Controller>>, devices: AttachedDevices) {
    ctl.borrow_mut().attach(devices);
    render(app, &ctl.borrow());
}

/// Re-renders the RFID screen if tags came in, and lets old device messages fade.
pub fn refresh(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let mut c = ctl.borrow_mut();
    if c.rfid.dirty || c.rfid.running {
        c.rfid.dirty = false;
        render_rfid(app, &c);
    }
    render_devices(app, &c);
    // The idle lock: after the configured time without an action, back to the login screen.
    if c.check_idle() {
        login::render(app, &c);
        receive::render(app, &c);
        render_status(app, &c);
        app.global::<AppState>().set_screen(Screen::Login);
    }
}

/// Selects the catalogue for `lang`. Logs instead of failing: English is always there.
fn select_language(lang: Lang) {
    if let Err(e) = slint::select_bundled_translation(lang.catalogue()) {
        eprintln!("lotline: cannot switch language to {}: {e}", lang.code());
    }
}

/// Builds the main window over `store` and connects every callback.
pub fn build(session: Session, opts: UiOptions) -> Result<(AppWindow, Rc<RefCell<Controller>>), slint::PlatformError> {
    let app = AppWindow::new()?;
    let store = session.store();
    let customers = store
        .customers()
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let demo = stored_scans(&store).unwrap_or_default();
    let ctl = Rc::new(RefCell::new(Controller {
        session,
        clock: opts.clock,
        record: opts.record,
        lang: opts.lang,
        gate: Gate::Pick,
        customers,
        customer_index: 0,
        task: None,
        recent: VecDeque::new(),
        last: None,
        last_command: None,
        override_given: None,
        save_error: None,
        login: Default::default(),
        receive: Default::default(),
        files: Default::default(),
        lookup: LookupState::None,
        demo,
        devices: Devices::default(),
        rfid: RfidState::default(),
        refresh_timer: slint::Timer::default(),
    }));
    select_language(opts.lang);
    render(&app, &ctl.borrow());
    login::connect(&app, &ctl);
    receive::connect(&app, &ctl);
    files::connect(&app, &ctl);
    // The app opens on the login screen; pictures (nothing recorded) open on Home.
    app.global::<AppState>()
        .set_screen(if opts.record { Screen::Login } else { Screen::Home });

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
        {
            let mut c = c.borrow_mut();
            if c.gate != gate || c.task.is_some() {
                c.last = None;
            }
            c.gate = gate;
            c.task = None;
            c.save_error = None;
        }
        render_scan(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Scan);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_open_task(move |id| {
        let Some(app) = weak.upgrade() else { return };
        let is_receipt = c
            .borrow()
            .store()
            .tasks(Some("receipt"))
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
        let opened = c.borrow_mut().open_task(&id);
        if let Some(gate) = opened {
            if !c.borrow().may_open(gate) {
                c.borrow_mut().refuse_gate(gate);
                render_devices(&app, &c.borrow());
                return;
            }
            render_scan(&app, &c.borrow());
            render_status(&app, &c.borrow());
            app.global::<AppState>().set_screen(Screen::Scan);
        }
    });

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
    app.global::<AppState>().on_open_lookup(move || {
        let Some(app) = weak.upgrade() else { return };
        render(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Lookup);
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

    // Tag lists and fading messages are refreshed a few times a second, not per read.
    let weak = app.as_weak();
    let c = Rc::downgrade(&ctl);
    ctl.borrow().refresh_timer.start(
        slint::TimerMode::Repeated,
        std::time::Duration::from_millis(250),
        move || {
            if let (Some(app), Some(c)) = (weak.upgrade(), c.upgrade()) {
                refresh(&app, &c);
            }
        },
    );

    Ok((app, ctl))
}

/// Opens a screen as if the user had tapped its tile (for screenshots and tests).
pub fn open_screen(app: &AppWindow, screen: &str, gate: Gate) {
    match screen {
        "scan" => app.global::<AppState>().invoke_open_gate(shared(gate.as_str())),
        "lookup" => app.global::<AppState>().invoke_open_lookup(),
        "rfid" => app.global::<AppState>().invoke_open_rfid(),
        _ => app.global::<AppState>().invoke_go_home(),
    }
}
