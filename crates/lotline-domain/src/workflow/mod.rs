//! The workflow engine every gate runs on: a pure state machine,
//! `step(&State, Event, &Facts, now) -> Transition { next, effects, outcome }`.
//!
//! No I/O and no clock (quinn-proto's style): the shell looks up the [`Facts`] an event needs
//! (the operator and whether the PIN matched, the task, the item and lots, the location), reads
//! the clock once, calls [`step`], then carries out the [`Effect`]s — each `Commit` in one
//! SQLite transaction (command, audit entry and local change together) — and only then shows
//! the outcome. An op the state does not allow is an [`OpError`] and changes nothing.
//!
//! Where to find each gate: login, home and the supervisor's authority are here; the receive
//! gate is [`receive`].

pub mod count;
pub mod pick;
pub mod receive;

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::command::{Command, ReceiptSummary};
use super::ids::LotNo;
use super::lot::{Item, Lot, LotStatus};
use super::operator::{Authorisation, Operator, Role};
use super::policy::{Gate, Verdict};
use super::reason::Reason;
use super::scan::Scan;
use super::task::{Location, TaskFacts, TaskKind, TaskStatus};
use super::text::Text;

/// Five wrong PINs in a row lock the operator on this device …
pub const MAX_PIN_FAILURES: u32 = 5;
/// … for five minutes.
pub const LOCKOUT_SECONDS: i64 = 300;

/// Where the operator is.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    LoggedOut,
    /// Logged in, no gate open. A supervisor's authorisation given here stands for the next
    /// action that needs one (a lot release).
    Home {
        op: Operator,
        authorised: Option<Authorisation>,
    },
    Receive {
        op: Operator,
        r: Box<receive::Receive>,
    },
    Pick {
        op: Operator,
        p: Box<pick::Pick>,
    },
    Count {
        op: Operator,
        c: Box<count::Count>,
    },
}

impl State {
    /// The state's name, as `run-script` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            State::LoggedOut => "logged_out",
            State::Home { .. } => "home",
            State::Receive { r, .. } => r.step.name(),
            State::Pick { p, .. } => p.step.name(),
            State::Count { c, .. } => c.step.name(),
        }
    }

    pub fn operator(&self) -> Option<&Operator> {
        match self {
            State::LoggedOut => None,
            State::Home { op, .. } | State::Receive { op, .. } | State::Pick { op, .. } | State::Count { op, .. } => {
                Some(op)
            }
        }
    }

    pub fn gate(&self) -> Option<Gate> {
        match self {
            State::Receive { .. } => Some(Gate::Receive),
            State::Pick { .. } => Some(Gate::Pick),
            State::Count { .. } => Some(Gate::Count),
            _ => None,
        }
    }

    /// The task open at a gate.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            State::Receive { r, .. } => r.task.as_ref().map(|t| t.id.as_str()),
            State::Pick { p, .. } => Some(p.task.id.as_str()),
            State::Count { c, .. } => Some(c.task.id.as_str()),
            _ => None,
        }
    }

    /// What the operator is asked to do next.
    pub fn prompt(&self) -> Text {
        match self {
            State::LoggedOut => Text::new(
                "Log in: scan your badge or enter your operator id, then your PIN",
                "登录:扫描工牌或输入操作员编号,然后输入密码",
            ),
            State::Home { .. } => Text::new("Choose a gate: receive, pick or count", "请选择作业:收货、拣货或盘点"),
            State::Receive { r, .. } => r.prompt(),
            State::Pick { p, .. } => p.prompt(),
            State::Count { c, .. } => c.prompt(),
        }
    }
}

/// What happened: one per op. (One event lives at a time, so its size does not matter: the
/// parsed scan is kept inline.)
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// The PIN itself never reaches the engine: the shell checks it into [`OperatorFacts::pin_ok`].
    Login {
        operator: String,
    },
    Start {
        gate: Gate,
        task: Option<String>,
    },
    /// `parsed` is the scan grammar's reading of `raw`, or why it could not read it.
    Scan {
        raw: String,
        parsed: Result<Scan, String>,
    },
    Qty(i64),
    Location(String),
    Reason(String),
    Supervisor {
        operator: String,
        reason: String,
    },
    Confirm,
    Release {
        gtin: String,
        lot: String,
    },
    Label,
    Finish,
    Logout,
    /// The idle timer ran out.
    Idle,
    /// The GSP second check: the checker's id (their PIN is checked by the shell into
    /// [`Facts::operator`]).
    SecondCheck {
        operator: String,
    },
    /// A pick line is short, with a coded reason.
    Short(String),
    /// An RFID read: the tags as the shell resolved them ([`Facts::tags`]).
    Tags,
}

impl Event {
    pub fn op(&self) -> &'static str {
        match self {
            Event::Login { .. } => "login",
            Event::Start { .. } => "start",
            Event::Scan { .. } => "scan",
            Event::Qty(_) => "qty",
            Event::Location(_) => "location",
            Event::Reason(_) => "reason",
            Event::Supervisor { .. } => "supervisor",
            Event::Confirm => "confirm",
            Event::Release { .. } => "release",
            Event::Label => "label",
            Event::Finish => "finish",
            Event::Logout => "logout",
            Event::Idle => "idle",
            Event::SecondCheck { .. } => "second_check",
            Event::Short(_) => "short",
            Event::Tags => "tags",
        }
    }
}

/// An operator as looked up for a login or a supervisor's authorisation.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorFacts {
    pub operator: Operator,
    /// Whether the PIN given matched the stored hash (checked by the shell).
    pub pin_ok: bool,
    /// Wrong PINs in a row on this device.
    pub failures: u32,
    pub locked_until: Option<DateTime<FixedOffset>>,
}

/// What the shell looked up for one event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// The date the shelf-life rules apply.
    pub today: NaiveDate,
    /// For `login` and `supervisor`: the operator named (None: no such operator).
    pub operator: Option<OperatorFacts>,
    /// For `start`: the task named.
    pub task: Option<TaskFacts>,
    /// For `start receive`: the receiving dock where received stock waits for putaway.
    pub dock: Option<String>,
    /// For scans and `release`: the item named.
    pub item: Option<Item>,
    /// The cache's lots among those the event names.
    pub lots: Vec<Lot>,
    /// For a serialised unit (AI 21, or an RFID tag's SGTIN): its lot in the serial registry.
    pub serial_lot: Option<Lot>,
    /// For `location` (or a location scanned at putaway).
    pub location: Option<Location>,
    /// For a serialised unit: it has been picked already.
    pub serial_picked: bool,
    /// At the pick gate: stock of the task's items, by location (every kind).
    pub stock: Vec<StockFact>,
    /// At the pick gate's start and finish: what this task has picked so far.
    pub picks: Vec<PickedFact>,
    /// For `tags` (and an `epc:` scan at the count gate): each tag as the shell resolved it.
    pub tags: Vec<TagFact>,
    /// At the count gate's start and finish: the count so far.
    pub count: Option<count::CountFacts>,
}

/// Stock of a lot at a location.
#[derive(Debug, Clone, PartialEq)]
pub struct StockFact {
    pub item_id: String,
    pub lot: Lot,
    pub location: Location,
    pub qty: u32,
}

/// A pick made on a task (a `pick` movement).
#[derive(Debug, Clone, PartialEq)]
pub struct PickedFact {
    pub line_no: u32,
    pub operator: String,
    pub lot: String,
    pub location: String,
    pub qty: u32,
}

/// An RFID tag read, resolved by the shell: EPC → GS1 keys → item → lot through the serial registry.
#[derive(Debug, Clone, PartialEq)]
pub struct TagFact {
    pub epc: String,
    /// GTIN + serial (SGTIN), when the EPC is one.
    pub serial: Option<String>,
    pub item: Option<Item>,
    /// The serial's lot in the registry.
    pub lot: Option<Lot>,
    pub picked: bool,
    /// Why the tag could not be read as a unit of a known item (English code-ish text).
    pub problem: Option<&'static str>,
}

impl Facts {
    pub fn lot(&self, item_id: &str, lot: &LotNo) -> Option<&Lot> {
        self.lots.iter().find(|l| l.item_id == item_id && l.lot == *lot)
    }
}

/// A change to the cache, made in the same transaction as its command.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Creates the lot, or sets the expiry and status of the existing one.
    UpsertLot {
        item_id: String,
        lot: LotNo,
        expiry: Option<NaiveDate>,
        production_date: Option<NaiveDate>,
        status: LotStatus,
    },
    SetLotStatus {
        item_id: String,
        lot: LotNo,
        status: LotStatus,
    },
    /// Stock arrives (a receipt) at `location`.
    AddStock {
        item_id: String,
        lot: LotNo,
        location: String,
        qty: u32,
    },
    MoveStock {
        item_id: String,
        lot: LotNo,
        from: String,
        to: String,
        qty: u32,
    },
    TaskLineDone {
        task_id: String,
        line_no: u32,
        add: u32,
    },
    TaskStatus {
        task_id: String,
        status: TaskStatus,
    },
    LoginFailures {
        operator_id: String,
        failures: u32,
        locked_until: Option<DateTime<FixedOffset>>,
    },
    /// Stock leaves a location (a pick): a `pick` movement naming the task line.
    RemoveStock {
        item_id: String,
        lot: LotNo,
        location: String,
        qty: u32,
        line_no: Option<u32>,
    },
    /// A counted difference applied to the cache's stock (a `count` movement).
    AdjustStock {
        item_id: String,
        lot: LotNo,
        location: String,
        delta: i64,
    },
    SerialPicked {
        item_id: String,
        serial: String,
    },
    TaskLineShort {
        task_id: String,
        line_no: u32,
        qty: u32,
        reason: String,
    },
    TaskLineChecked {
        task_id: String,
        line_no: u32,
        checker: String,
        at: DateTime<FixedOffset>,
    },
    /// A regulated line picked again: its second check is pending until a checker makes it.
    TaskLineCheckPending {
        task_id: String,
        line_no: u32,
    },
    TaskLineOverride {
        task_id: String,
        line_no: u32,
        reason: String,
    },
    /// A count task raised on this device (a short pick's location).
    CreateCountTask {
        task_id: String,
        location: String,
        source: String,
    },
    /// The count's snapshot: expected stock per location × item × lot, and the movement mark.
    CountSnapshot {
        task_id: String,
        lines: Vec<count::SnapLine>,
    },
    CountEntry {
        task_id: String,
        location: String,
        round: u8,
        item_id: String,
        lot: String,
        qty: i64,
    },
    CountTags {
        task_id: String,
        location: String,
        round: u8,
        epcs: Vec<String>,
    },
    /// A location counted: the moment (and the last movement id) its count stands for.
    CountClosed {
        task_id: String,
        location: String,
        round: u8,
    },
    CountRecount {
        task_id: String,
        location: String,
        first_operator: String,
    },
    /// A sync exception read by the action's operator.
    ExceptionAcknowledged {
        exception_id: i64,
    },
}

/// The audit entry's who/what/why beyond the command itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditFacts {
    pub gate: Option<Gate>,
    pub task_id: Option<String>,
    pub item_id: Option<String>,
    pub lot: Option<String>,
    pub location: Option<String>,
    pub scan: Option<String>,
    pub verdict: Option<&'static str>,
    pub reasons: Vec<&'static str>,
    pub reason: Option<String>,
    pub authorised_by: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// One recorded action: a command for the hub, its audit entry and its local changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub command: Command,
    /// Who did it (None for a failed login: the payload names who was attempted).
    pub operator: Option<String>,
    pub audit: AuditFacts,
    pub changes: Vec<Change>,
}

/// A label to print for a received lot.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRequest {
    pub item: Item,
    pub lot: LotNo,
    pub expiry: Option<NaiveDate>,
    pub qty: u32,
}

/// What the shell must do (a handful per step, never stored).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Effect {
    /// Write these actions in one transaction.
    Commit(Vec<Action>),
    /// Make the label, decode it back, print it; then commit `action` (its command is
    /// completed with the element string and the printer by the shell).
    PrintLabel { label: LabelRequest, action: Action },
}

/// Why an op was refused. Codes are stable (README lists them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    pub code: &'static str,
    pub text: Text,
}

impl OpError {
    pub fn new(code: &'static str, en: impl Into<String>, zh: impl Into<String>) -> OpError {
        OpError {
            code,
            text: Text::new(en, zh),
        }
    }

    /// The op is not one the current state takes.
    pub fn not_now(op: &str, state: &State) -> OpError {
        let prompt = state.prompt();
        OpError::new(
            "not_allowed_now",
            format!("'{op}' is not possible now ({}): {}", state.name(), prompt.en),
            format!("现在不能执行「{op}」({}):{}", state.name(), prompt.zh),
        )
    }
}

/// What the operator sees after an op.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub verdict: Option<Verdict>,
    /// Information that does not change the verdict (a new lot goes to quarantine).
    pub notes: Vec<Reason>,
    pub error: Option<OpError>,
    /// A finished task's summary.
    pub summary: Option<ReceiptSummary>,
    /// Gate-specific output keys (a pick's `lines`, a count's `variances` and `accuracy`, the
    /// tags for review), merged into the op's output line.
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub next: State,
    pub effects: Vec<Effect>,
    pub outcome: Outcome,
}

impl Transition {
    /// The op is refused: nothing changes.
    pub fn refuse(state: &State, error: OpError) -> Transition {
        Transition {
            next: state.clone(),
            effects: vec![],
            outcome: Outcome {
                error: Some(error),
                ..Default::default()
            },
        }
    }

    /// The op is refused, but the refusal itself is recorded (a wrong PIN).
    pub(crate) fn refuse_recorded(state: &State, error: OpError, action: Action) -> Transition {
        Transition {
            next: state.clone(),
            effects: vec![Effect::Commit(vec![action])],
            outcome: Outcome {
                error: Some(error),
                ..Default::default()
            },
        }
    }

    pub(crate) fn to(next: State, actions: Vec<Action>) -> Transition {
        let effects = if actions.is_empty() {
            vec![]
        } else {
            vec![Effect::Commit(actions)]
        };
        Transition {
            next,
            effects,
            outcome: Outcome::default(),
        }
    }
}

pub fn rfc3339(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Runs one event.
pub fn step(state: &State, event: Event, facts: &Facts, now: DateTime<FixedOffset>) -> Transition {
    match (state, event) {
        (State::LoggedOut, Event::Login { operator }) => login(state, &operator, facts, now),
        (_, Event::Login { .. }) => Transition::refuse(
            state,
            OpError::new(
                "already_logged_in",
                "Someone is logged in on this device: log out first",
                "本机已有人登录:请先退出",
            ),
        ),
        (State::LoggedOut, Event::Idle) => Transition::to(state.clone(), vec![]),
        (State::LoggedOut, e) => Transition::refuse(
            state,
            OpError::new(
                "not_logged_in",
                format!("Log in first ('{}' needs an operator)", e.op()),
                format!("请先登录(「{}」需要操作员)", e.op()),
            ),
        ),
        (_, Event::Logout) => logout(state, "operator"),
        (_, Event::Idle) => logout(state, "idle"),
        (_, Event::Supervisor { operator, reason }) => supervisor(state, &operator, &reason, facts, now),
        (State::Home { op, .. }, Event::Start { gate, task }) => start(state, op, gate, task, facts),
        (State::Home { op, authorised }, Event::Release { gtin, lot }) => {
            release(state, op, authorised.as_ref(), &gtin, &lot, facts)
        }
        (State::Receive { op, r }, event) => receive::step(state, op, r, event, facts, now),
        (State::Pick { op, p }, event) => pick::step(state, op, p, event, facts, now),
        (State::Count { op, c }, event) => count::step(state, op, c, event, facts, now),
        (s @ State::Home { .. }, e) => Transition::refuse(s, OpError::not_now(e.op(), s)),
    }
}

fn login(state: &State, id: &str, facts: &Facts, now: DateTime<FixedOffset>) -> Transition {
    let Some(f) = &facts.operator else {
        return Transition::refuse_recorded(
            state,
            OpError::new(
                "unknown_operator",
                format!("No operator '{id}' on this device: check the id or badge"),
                format!("本机没有操作员「{id}」:请核对编号或工牌"),
            ),
            Action {
                command: Command::LoginFailed {
                    attempted: id.to_owned(),
                    purpose: "login".into(),
                    failures: 0,
                    locked_until: None,
                },
                operator: None,
                audit: AuditFacts {
                    reason: Some("unknown_operator".into()),
                    ..Default::default()
                },
                changes: vec![],
            },
        );
    };
    match check_pin(f, "login", now) {
        Err((error, action)) => match action {
            Some(a) => Transition::refuse_recorded(state, error, a),
            None => Transition::refuse(state, error),
        },
        Ok(mut changes) => {
            let op = f.operator.clone();
            if f.failures > 0 {
                changes.push(Change::LoginFailures {
                    operator_id: op.id.clone(),
                    failures: 0,
                    locked_until: None,
                });
            }
            let action = Action {
                command: Command::Login { method: "pin".into() },
                operator: Some(op.id.clone()),
                audit: AuditFacts::default(),
                changes,
            };
            Transition::to(State::Home { op, authorised: None }, vec![action])
        }
    }
}

/// Checks a PIN against the lock-out rules (called once per login, so the large `Err` is fine). `Err` carries the refusal and, for a wrong PIN, the
/// action that records it (and locks the operator on the fifth).
#[allow(clippy::result_large_err)]
pub(crate) fn check_pin(
    f: &OperatorFacts,
    purpose: &str,
    now: DateTime<FixedOffset>,
) -> Result<Vec<Change>, (OpError, Option<Action>)> {
    let id = &f.operator.id;
    if let Some(until) = f.locked_until
        && until > now
    {
        let secs = (until - now).num_seconds().max(1);
        let mins = (secs + 59) / 60;
        return Err((
            OpError::new(
                "operator_locked",
                format!(
                    "{id} is locked on this device after {MAX_PIN_FAILURES} wrong PINs: try again in {mins} min, or ask a supervisor"
                ),
                format!("{id} 因连续 {MAX_PIN_FAILURES} 次密码错误已在本机锁定:请 {mins} 分钟后再试,或联系主管"),
            ),
            None,
        ));
    }
    if f.pin_ok {
        return Ok(vec![]);
    }
    // A lock that has run out starts the count again.
    let before = if f.locked_until.is_some() { 0 } else { f.failures };
    let failures = before + 1;
    let locked_until = (failures >= MAX_PIN_FAILURES).then(|| now + chrono::Duration::seconds(LOCKOUT_SECONDS));
    let left = MAX_PIN_FAILURES.saturating_sub(failures);
    let error = if locked_until.is_some() {
        OpError::new(
            "operator_locked",
            format!(
                "Wrong PIN for {id}: {MAX_PIN_FAILURES} wrong PINs in a row, so {id} is locked on this device for 5 minutes"
            ),
            format!("{id} 的密码错误:已连续错误 {MAX_PIN_FAILURES} 次,{id} 在本机锁定 5 分钟"),
        )
    } else {
        OpError::new(
            "wrong_pin",
            format!("Wrong PIN for {id}: {left} more wrong PIN(s) lock {id} for 5 minutes"),
            format!("{id} 的密码错误:再错 {left} 次将锁定 5 分钟"),
        )
    };
    let action = Action {
        command: Command::LoginFailed {
            attempted: id.clone(),
            purpose: purpose.to_owned(),
            failures,
            locked_until: locked_until.map(rfc3339),
        },
        operator: None,
        audit: AuditFacts {
            reason: Some(error.code.to_owned()),
            ..Default::default()
        },
        changes: vec![Change::LoginFailures {
            operator_id: id.clone(),
            failures,
            locked_until,
        }],
    };
    Err((error, Some(action)))
}

fn logout(state: &State, why: &str) -> Transition {
    let op = state.operator().map(|o| o.id.clone());
    let action = Action {
        command: Command::Logout { why: why.to_owned() },
        operator: op,
        audit: AuditFacts {
            gate: state.gate(),
            task_id: state.task_id().map(str::to_owned),
            ..Default::default()
        },
        changes: vec![],
    };
    Transition::to(State::LoggedOut, vec![action])
}

pub(crate) fn start(state: &State, op: &Operator, gate: Gate, task: Option<String>, facts: &Facts) -> Transition {
    if !op.may_open(gate) {
        let role = Role::for_gate(gate);
        return Transition::refuse(
            state,
            OpError::new(
                "role_refused",
                format!(
                    "{} may not open the {} gate: it needs the {} role",
                    op.id,
                    gate.as_str(),
                    role.label_en()
                ),
                format!("{} 无权打开{}作业:需要{}角色", op.id, gate_zh(gate), role.label_zh()),
            ),
        );
    }
    match gate {
        Gate::Receive => receive::start(state, op, task, facts),
        Gate::Pick => pick::start(state, op, task, facts),
        Gate::Count => count::start(state, op, task, facts),
    }
}

/// The task a gate opens: the one named, of the gate's kind, still open. `Err` is the refusal.
pub(crate) fn open_task(id: &str, facts: &Facts, kind: TaskKind) -> Result<TaskFacts, OpError> {
    let (what_en, what_zh, verb_en, verb_zh) = match kind {
        TaskKind::Receipt => ("a receipt", "收货", "nothing more can be received on it", "不能再收货"),
        TaskKind::Pick => ("a pick", "拣货", "nothing more can be picked on it", "不能再拣货"),
        TaskKind::Count => ("a count", "盘点", "it cannot be counted again", "不能再盘点"),
    };
    let Some(t) = facts.task.clone() else {
        return Err(OpError::new(
            "unknown_task",
            format!("No task '{id}' on this device"),
            format!("本机没有任务「{id}」"),
        ));
    };
    if t.kind != kind {
        return Err(OpError::new(
            "wrong_task_kind",
            format!("Task {id} is a {} task, not {what_en}", t.kind),
            format!("任务 {id} 不是{what_zh}任务"),
        ));
    }
    if !t.status.is_open() {
        return Err(OpError::new(
            "task_closed",
            format!("Task {id} is {}: {verb_en}", t.status),
            format!("任务 {id} 已结束,{verb_zh}"),
        ));
    }
    Ok(t)
}

/// The `task_started` action of a gate on `task` (or blind), which marks an open task in progress.
pub(crate) fn task_started(op: &Operator, gate: Gate, task: Option<&TaskFacts>) -> Action {
    let mut changes = vec![];
    if let Some(t) = task
        && t.status == TaskStatus::Open
    {
        changes.push(Change::TaskStatus {
            task_id: t.id.clone(),
            status: TaskStatus::InProgress,
        });
    }
    let task_id = task.map(|t| t.id.clone());
    Action {
        command: Command::TaskStarted {
            task: task_id.clone(),
            gate: gate.as_str().into(),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            gate: Some(gate),
            task_id,
            ..Default::default()
        },
        changes,
    }
}

/// Refuses a gate that needs a task when none is named.
pub(crate) fn task_required(state: &State, gate: Gate) -> Transition {
    let (en, zh) = match gate {
        Gate::Count => (
            "A count needs its task: choose one from the list",
            "盘点需要任务:请从列表中选择",
        ),
        _ => (
            "A pick needs its task: choose one from the list",
            "拣货需要任务:请从列表中选择",
        ),
    };
    Transition::refuse(state, OpError::new("task_required", en, zh))
}

/// No operator by this id (or badge) on the device.
pub(crate) fn unknown_operator(id: &str) -> OpError {
    OpError::new(
        "unknown_operator",
        format!("No operator '{id}' on this device: check the id or badge"),
        format!("本机没有操作员「{id}」:请核对编号或工牌"),
    )
}

pub fn gate_zh(g: Gate) -> &'static str {
    match g {
        Gate::Receive => "收货",
        Gate::Pick => "拣货",
        Gate::Count => "盘点",
    }
}

fn supervisor(state: &State, id: &str, reason: &str, facts: &Facts, now: DateTime<FixedOffset>) -> Transition {
    let reason = reason.trim();
    if reason.is_empty() {
        return Transition::refuse(
            state,
            OpError::new(
                "reason_required",
                "A supervisor's authorisation needs a reason: choose one or type it",
                "主管授权需要理由:请选择或输入",
            ),
        );
    }
    let Some(f) = &facts.operator else {
        return Transition::refuse(state, unknown_operator(id));
    };
    let changes = match check_pin(f, "supervisor", now) {
        Err((error, Some(a))) => return Transition::refuse_recorded(state, error, a),
        Err((error, None)) => return Transition::refuse(state, error),
        Ok(c) => c,
    };
    if !f.operator.has(Role::Supervisor) {
        return Transition::refuse(
            state,
            OpError::new(
                "not_a_supervisor",
                format!("{} is not a supervisor and cannot authorise this", f.operator.id),
                format!("{} 不是主管,无权授权", f.operator.id),
            ),
        );
    }
    let auth = Authorisation {
        supervisor: f.operator.id.clone(),
        reason: reason.to_owned(),
    };
    match state {
        State::Home { op, .. } => {
            let action = override_action(op, &auth, vec!["release".into()], AuditFacts::default(), changes);
            Transition::to(
                State::Home {
                    op: op.clone(),
                    authorised: Some(auth),
                },
                vec![action],
            )
        }
        State::Receive { op, r } => receive::authorise(state, op, r, auth, changes),
        State::LoggedOut | State::Pick { .. } | State::Count { .. } => {
            Transition::refuse(state, OpError::not_now("supervisor", state))
        }
    }
}

pub(crate) fn override_action(
    op: &Operator,
    auth: &Authorisation,
    authorises: Vec<String>,
    audit: AuditFacts,
    mut changes: Vec<Change>,
) -> Action {
    // A supervisor's correct PIN after wrong ones clears their count.
    changes.retain(|c| !matches!(c, Change::LoginFailures { .. }));
    changes.push(Change::LoginFailures {
        operator_id: auth.supervisor.clone(),
        failures: 0,
        locked_until: None,
    });
    Action {
        command: Command::SupervisorOverride {
            supervisor: auth.supervisor.clone(),
            reason: auth.reason.clone(),
            authorises,
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            authorised_by: Some(auth.supervisor.clone()),
            reason: Some(auth.reason.clone()),
            ..audit
        },
        changes,
    }
}

/// Releases a quarantined lot: a supervisor's action (the operator is one, or a supervisor
/// authorised it just before).
pub(crate) fn release(
    state: &State,
    op: &Operator,
    authorised: Option<&Authorisation>,
    gtin: &str,
    lot: &str,
    facts: &Facts,
) -> Transition {
    let by = if op.has(Role::Supervisor) {
        op.id.clone()
    } else if let Some(a) = authorised {
        a.supervisor.clone()
    } else {
        return Transition::refuse(
            state,
            OpError::new(
                "needs_supervisor",
                "Releasing a lot from quarantine is a supervisor's action: a supervisor must authorise it first",
                "隔离批次放行须由主管执行:请先由主管授权",
            ),
        );
    };
    let Some(item) = &facts.item else {
        return Transition::refuse(
            state,
            OpError::new(
                "unknown_item",
                format!("No item with GTIN {gtin} in the local catalogue"),
                format!("本机商品目录中没有 GTIN 为 {gtin} 的商品"),
            ),
        );
    };
    let Some(l) = LotNo::new(lot).ok().and_then(|n| facts.lot(&item.id, &n)) else {
        return Transition::refuse(
            state,
            OpError::new(
                "unknown_lot",
                format!("Lot {lot} of {} is not known here", item.id),
                format!("本机没有 {} 的批次 {lot}", item.id),
            ),
        );
    };
    if l.status != LotStatus::Quarantine {
        return Transition::refuse(
            state,
            OpError::new(
                "not_in_quarantine",
                format!(
                    "Lot {lot} is {}, not in quarantine: only a quarantined lot is released here",
                    l.status.label_en()
                ),
                format!(
                    "批次 {lot} 的状态为{},不在隔离中:这里只能放行隔离批次",
                    l.status.label_zh()
                ),
            ),
        );
    }
    let action = Action {
        command: Command::LotReleased {
            item: item.id.clone(),
            lot: lot.to_owned(),
            from_status: l.status.as_str().to_owned(),
            authorised_by: by.clone(),
        },
        operator: Some(op.id.clone()),
        audit: AuditFacts {
            gate: state.gate(),
            task_id: state.task_id().map(str::to_owned),
            item_id: Some(item.id.clone()),
            lot: Some(lot.to_owned()),
            authorised_by: Some(by),
            reason: authorised.map(|a| a.reason.clone()),
            before: Some(serde_json::json!({"status": l.status.as_str()})),
            after: Some(serde_json::json!({"status": "released"})),
            ..Default::default()
        },
        changes: vec![Change::SetLotStatus {
            item_id: item.id.clone(),
            lot: l.lot.clone(),
            status: LotStatus::Released,
        }],
    };
    let next = match state {
        State::Home { op, .. } => State::Home {
            op: op.clone(),
            authorised: None,
        },
        State::Receive { op, r } => {
            let mut r = r.clone();
            r.released(&item.id, &l.lot);
            State::Receive { op: op.clone(), r }
        }
        s => s.clone(),
    };
    Transition::to(next, vec![action])
}
