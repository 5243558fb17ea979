//! The Slint shell: renders the session's state and forwards every action to it.
//!
//! One module per screen (`home`, `login`, `receive`, `scan`, `lookup`, `rfid`, and `status`
//! for the status bar and the devices), each with its `connect()` (the adapter global's
//! callbacks), its `render_*` and pure `map_*` functions from domain values to view structs.
//! This file holds the `Controller` (UI state around the `app::session::Session`), `build()`
//! and the shared helpers. The Slint event loop owns the main thread; callbacks run on it and
//! call into the application layer synchronously (a verdict is a handful of indexed reads).

pub mod files;
pub mod guided;
pub mod headless;
mod health;
mod home;
pub mod login;
mod lookup;
pub mod receive;
mod rfid;
mod scan;
mod status;
mod sync;

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
use crate::domain::task::TaskKind;
use crate::domain::text::Bilingual;
use crate::store::demo::{DemoScan, stored_scans};
use crate::store::{StockRow, Store, Task};

slint::include_modules!();

use home::{open_tasks, render_tasks, task_title};
pub use lookup::{map_days_left, map_movement};
use lookup::{render_lookup, status_label, status_severity};
use rfid::render_rfid;
use scan::render_scan;
pub use scan::{judge_first_scan, map_subject};
pub use status::{attach, device_sink, handle_device_event, pump_device_events};
use status::{device_line, render_devices, render_status};
pub use sync::{attach_sync, show_sync_status, sync_sink};

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
    Message {
        en: String,
        zh: String,
    },
    Card {
        item: Item,
        lot: Lot,
        stock: Vec<StockRow>,
        movements: Vec<crate::store::gates::Movement>,
    },
    Lots {
        item: Item,
        lots: Vec<Lot>,
    },
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
    save_error: Option<crate::domain::text::Text>,
    login: login::LoginUi,
    receive: receive::ReceiveUi,
    guided: guided::GuidedUi,
    files: files::FilesUi,
    health: health::HealthUi,
    lookup: LookupState,
    demo: Vec<DemoScan>,
    devices: Devices,
    rfid: RfidState,
    refresh_timer: slint::Timer,
    /// Sounds, LEDs and vibration per verdict (off until the composition root sets it).
    feedback: crate::app::feedback::Feedback,
    /// The sync worker (none: not started) and its last report.
    sync: Option<crate::sync::worker::SyncHandle>,
    sync_status: Option<crate::sync::worker::SyncStatus>,
    /// Why the last acknowledgement failed.
    sync_note: Option<crate::domain::text::Text>,
}

/// A device as the status bar shows it.
struct DeviceStatus {
    name: String,
    state: DeviceState,
    /// Its port and settings when up, why not when not (English and Chinese).
    detail: crate::domain::text::Text,
    /// When it was last heard from, and what (`scan`, `tag`, `round`, `state`, `error`): the
    /// health screen.
    last_event: Option<(DateTime<FixedOffset>, &'static str)>,
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

    fn today(&self) -> NaiveDate {
        (self.clock)().date_naive()
    }

    /// Plays a verdict's sound and fires the terminal's LED and vibrator hooks; never blocks.
    /// A screen calls it once per new verdict it shows, with that verdict (`&Verdict`, or a
    /// `Signal`; `Signal::from_name("warn")` reads one): the UI does not choose the sound.
    pub fn feedback(&self, verdict: impl Into<crate::app::feedback::Signal>) {
        self.feedback.signal(verdict);
    }

    /// Takes the feedback service the composition root started.
    pub fn set_feedback(&mut self, feedback: crate::app::feedback::Feedback) {
        self.feedback = feedback;
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

fn reason_text(r: &crate::domain::reason::Reason, lang: Lang) -> SharedString {
    match lang {
        Lang::En => shared(r.message_en()),
        Lang::Zh => shared(r.message_zh()),
    }
}

/// Re-renders every adapter from the controller (cheap: a few dozen rows at most).
pub fn render(app: &AppWindow, c: &Controller) {
    render_status(app, c);
    sync::render_sync(app, c);
    render_devices(app, c);
    render_tasks(app, c);
    render_scan(app, c);
    render_lookup(app, c);
    render_rfid(app, c);
    login::render(app, c);
    receive::render(app, c);
    guided::render(app, c);
    files::render(app, c);
    health::render(app, c);
}

/// Renders the status bar and one screen: what an event on that screen changed.
pub fn render_screen(app: &AppWindow, c: &Controller, screen: Screen) {
    render_status(app, c);
    render_devices(app, c);
    match screen {
        Screen::Home => render_tasks(app, c),
        Screen::Scan => render_scan(app, c),
        Screen::Lookup => render_lookup(app, c),
        Screen::Rfid => render_rfid(app, c),
        Screen::Login => login::render(app, c),
        Screen::Receive => receive::render(app, c),
        Screen::Files => files::render(app, c),
        Screen::Guided => guided::render(app, c),
        Screen::Health => health::render(app, c),
    }
}

/// Re-renders the RFID screen if tags came in, and lets old device messages fade.
pub fn refresh(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let mut c = ctl.borrow_mut();
    // The cache's integrity check runs beside the app from its start: damage found ends writing.
    if let Some(Err(e)) = c.session.poll_integrity_check() {
        let text = crate::domain::text::Text::of(&e);
        let now = (c.clock)();
        c.devices.message = Some((login::text(&text, c.lang), now));
        c.save_error = Some(text);
        render_scan(app, &c);
        render_status(app, &c);
    }
    if c.poll_health() {
        health::render(app, &c);
    }
    if c.flush_tags() {
        guided::render(app, &c);
        render_status(app, &c);
    }
    if c.rfid.dirty || c.rfid.running {
        c.rfid.dirty = false;
        render_rfid(app, &c);
    }
    render_devices(app, &c);
    // The idle lock: after the configured time without an action, back to the login screen.
    if c.check_idle() {
        login::render(app, &c);
        receive::render(app, &c);
        guided::render(app, &c);
        render_status(app, &c);
        app.global::<AppState>().set_screen(Screen::Login);
    }
}

/// Chooses Slint's software renderer for the app's window unless `$SLINT_BACKEND` names a
/// renderer (`winit-femtovg`, `linuxkms-femtovg`): this UI of flat colours and text needs no GPU,
/// and OpenGL through Mesa's software rasteriser (what a machine without a GPU driver gets) holds
/// about 100 MiB more and starts slower. Call before the first window is made.
pub fn select_renderer() {
    let env = std::env::var("SLINT_BACKEND").unwrap_or_default().to_lowercase();
    let names_renderer = env.contains('-') || ["femtovg", "skia", "sw", "software", "vello"].contains(&env.as_str());
    if names_renderer {
        return;
    }
    // Fails where no backend can start (no display): making the window then says why.
    if let Err(e) = slint::BackendSelector::new().renderer_name("software".into()).select() {
        tracing::debug!("software renderer not selected: {e}");
    }
}

/// Selects the catalogue for `lang`. Logs instead of failing: English is always there.
fn select_language(lang: Lang) {
    if let Err(e) = slint::select_bundled_translation(lang.catalogue()) {
        tracing::warn!(lang = lang.code(), "cannot switch language: {e}");
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
    let demo = stored_scans(store).unwrap_or_default();
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
        guided: Default::default(),
        files: Default::default(),
        health: Default::default(),
        lookup: LookupState::None,
        demo,
        devices: Devices::default(),
        rfid: RfidState::default(),
        refresh_timer: slint::Timer::default(),
        feedback: crate::app::feedback::Feedback::off(),
        sync: None,
        sync_status: None,
        sync_note: None,
    }));
    select_language(opts.lang);
    render(&app, &ctl.borrow());
    home::connect(&app, &ctl);
    sync::connect(&app, &ctl);
    scan::connect(&app, &ctl);
    lookup::connect(&app, &ctl);
    rfid::connect(&app, &ctl);
    login::connect(&app, &ctl);
    receive::connect(&app, &ctl);
    guided::connect(&app, &ctl);
    files::connect(&app, &ctl);
    health::connect(&app, &ctl);
    // The app opens on the login screen. Pictures (nothing recorded) and a cache that takes no
    // writes (read-only, damaged: lookups and checks only, and the screens say so) open on Home.
    let login_first = opts.record && ctl.borrow().store().writable();
    app.global::<AppState>()
        .set_screen(if login_first { Screen::Login } else { Screen::Home });

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
        "scan" => {
            app.global::<AppState>().invoke_open_gate(shared(gate.as_str()));
            if gate != Gate::Receive {
                app.global::<GuidedAdapter>().invoke_quick_check();
            }
        }
        "pick" => app.global::<AppState>().invoke_open_gate(shared("pick")),
        "count" => app.global::<AppState>().invoke_open_gate(shared("count")),
        "lookup" => app.global::<AppState>().invoke_open_lookup(),
        "rfid" => app.global::<AppState>().invoke_open_rfid(),
        "login" => app.global::<AppState>().set_screen(Screen::Login),
        "receive" => app.global::<AppState>().set_screen(Screen::Receive),
        "health" => app.global::<AppState>().invoke_open_health(),
        _ => app.global::<AppState>().invoke_go_home(),
    }
}
