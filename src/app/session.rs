//! The working session every front end drives: who is logged in, which gate and task are open,
//! and the step the workflow engine is at.
//!
//! For each op the session looks the facts up in the store, reads the clock once (the caller
//! passes `now`), runs [`crate::domain::workflow::step`], and carries out the effects: each
//! `Commit` is one SQLite transaction (outbox command, chained audit entry, stock and task
//! changes); a label is made, decoded back and printed before its command is written. Only then
//! does the new state take effect and the reply go out; if the store cannot write, the state
//! stays as it was and the reply says so (nothing half-written).

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;
use serde_json::{Value, json};

use super::check::{CheckContext, CheckOutcome, check_scan};
use crate::domain::command::{Command, ReceiptSummary};
use crate::domain::ids::{Gtin, LotNo};
use crate::domain::lot::Item;
use crate::domain::policy::{Gate, Verdict};
use crate::domain::reason::Reason;
use crate::domain::scan::{ScanSettings, parse_scan};
use crate::domain::text::{Bilingual, Text};
use crate::domain::workflow::count::Count;
use crate::domain::workflow::pick::Pick;
use crate::domain::workflow::receive::{Receive, Step, item_code};
use crate::domain::workflow::{
    self, Effect, Event, Facts, LabelRequest, OpError, OperatorFacts, State, TagFact, Transition,
};
use crate::store::gates::OutboxCommand;
use crate::store::{ScanRecord, Store, StoreError};

/// A scan op's `data` that starts with this is an RFID tag's EPC in hex (`epc:3074…`).
pub const EPC_PREFIX: &str = "epc:";

/// The default idle time after which the session locks.
pub const DEFAULT_IDLE_SECONDS: i64 = 300;

/// One op, as `run-script` reads it (one JSON object a line) and the UI sends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    Login {
        operator: String,
        pin: String,
    },
    Start {
        gate: String,
        task: Option<String>,
    },
    Scan {
        data: String,
    },
    Qty {
        n: i64,
    },
    Location {
        code: String,
    },
    Reason {
        code: String,
    },
    Supervisor {
        operator: String,
        pin: String,
        reason: String,
    },
    Confirm,
    Release {
        lot: String,
        gtin: String,
    },
    Label {
        out: Option<PathBuf>,
    },
    Finish,
    Logout,
    /// The GSP second check of a pick line: the checker's id and PIN.
    SecondCheck {
        operator: String,
        pin: String,
    },
    /// A pick line is short: `not_found`, `damaged` or `short_in_location`.
    Short {
        reason: String,
    },
    /// An RFID read: the tags' EPCs in hex.
    Tags {
        epcs: Vec<String>,
    },
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Login { .. } => "login",
            Op::Start { .. } => "start",
            Op::Scan { .. } => "scan",
            Op::Qty { .. } => "qty",
            Op::Location { .. } => "location",
            Op::Reason { .. } => "reason",
            Op::Supervisor { .. } => "supervisor",
            Op::Confirm => "confirm",
            Op::Release { .. } => "release",
            Op::Label { .. } => "label",
            Op::Finish => "finish",
            Op::Logout => "logout",
            Op::SecondCheck { .. } => "second_check",
            Op::Short { .. } => "short",
            Op::Tags { .. } => "tags",
        }
    }
}

/// A label made for a received lot.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelInfo {
    pub element_string: String,
    pub bracketed: String,
    pub png: Option<PathBuf>,
    pub printer: String,
    /// The PNG bytes, for the screen.
    pub png_bytes: Vec<u8>,
}

/// What the operator sees after an op.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub op: &'static str,
    pub state: &'static str,
    pub verdict: Option<Verdict>,
    pub notes: Vec<Reason>,
    pub prompt: Text,
    pub error: Option<OpError>,
    pub summary: Option<ReceiptSummary>,
    pub label: Option<LabelInfo>,
    /// The commands this op wrote.
    pub commands: Vec<OutboxCommand>,
    /// Gate-specific keys (a pick's `lines`, a count's `variances` and `accuracy`, tags for review).
    pub extra: Option<serde_json::Map<String, Value>>,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// The `run-script` line for this reply.
    pub fn to_json(&self, step: usize) -> Value {
        let reason = |r: &Reason| json!({"code": r.code(), "message_en": r.message_en(), "message_zh": r.message_zh()});
        let mut v = json!({
            "step": step,
            "op": self.op,
            "ok": self.ok(),
            "state": self.state,
            "verdict": self.verdict.as_ref().map(|v| v.as_str()),
            "reasons": self.verdict.as_ref().map(|v| v.reasons().iter().map(reason).collect::<Vec<_>>()).unwrap_or_default(),
            "prompt_en": self.prompt.en,
            "prompt_zh": self.prompt.zh,
            "error": self.error.as_ref().map(|e| json!({"code": e.code, "message": e.text.en, "message_zh": e.text.zh})),
        });
        if !self.notes.is_empty() {
            v["notes"] = self.notes.iter().map(reason).collect();
        }
        if let Some(s) = &self.summary {
            v["summary"] = serde_json::to_value(s).unwrap_or_default();
        }
        if let Some(l) = &self.label {
            v["label"] = json!({
                "element_string": l.bracketed,
                "png": l.png.as_ref().map(|p| p.display().to_string()),
                "printer": l.printer,
            });
        }
        if let Some(x) = &self.extra {
            for (k, val) in x {
                v[k.as_str()] = val.clone();
            }
        }
        if !self.commands.is_empty() {
            v["commands"] = self
                .commands
                .iter()
                .map(|c| json!({"seq": c.seq, "type": c.kind}))
                .collect();
        }
        v
    }
}

/// Makes, checks and prints labels (the shell's label maker and printer).
pub trait LabelPrinter {
    /// Makes the label, decodes it back, prints it, and saves the PNG to `out` if given.
    fn print(
        &mut self,
        label: &LabelRequest,
        name: &str,
        zh: bool,
        out: Option<&std::path::Path>,
    ) -> Result<LabelInfo, Text>;
}

/// Session settings.
pub struct SessionOptions {
    /// The date the rules apply (default: the date of `now`).
    pub today: Option<NaiveDate>,
    pub idle_seconds: i64,
    /// The UI language for labels' item names.
    pub zh: bool,
    pub scan_settings: ScanSettings,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            today: None,
            idle_seconds: DEFAULT_IDLE_SECONDS,
            zh: false,
            scan_settings: ScanSettings::default(),
        }
    }
}

pub struct Session {
    store: Store,
    state: State,
    opts: SessionOptions,
    printer: Box<dyn LabelPrinter>,
    last_activity: Option<DateTime<FixedOffset>>,
    /// Scan-screen records the store could not write yet (full disk), oldest first.
    unsaved: Vec<ScanRecord>,
    save_error: Option<Text>,
    /// Called after every write that queued commands for the hub (the sync worker's poke).
    on_commit: Option<Box<dyn Fn() + Send>>,
    /// The cache's `PRAGMA quick_check`, running on its own thread (see
    /// [`Session::start_integrity_check`]).
    integrity: Option<std::sync::mpsc::Receiver<Result<(), StoreError>>>,
}

/// A scan judged on the scan screen, and whether it is saved.
#[derive(Debug, Clone)]
pub struct CheckedScan {
    pub outcome: CheckOutcome,
    /// The outbox command that recorded it (None: not recorded, or not saved yet).
    pub command: Option<String>,
}

fn store_error(e: &StoreError) -> OpError {
    OpError::new(
        "not_saved",
        format!("Not saved: {e}. Nothing of this step was recorded; try again"),
        format!("未保存:{}。此步骤未记录任何内容;请重试", e.message_zh()),
    )
}

impl Session {
    pub fn new(store: Store, opts: SessionOptions, printer: Box<dyn LabelPrinter>) -> Session {
        Session {
            store,
            state: State::LoggedOut,
            opts,
            printer,
            last_activity: None,
            unsaved: Vec::new(),
            save_error: None,
            on_commit: None,
            integrity: None,
        }
    }

    /// Starts `PRAGMA quick_check` of the session's cache on a thread of its own, through a
    /// read-only connection, so the app does not wait for it: on a million-lot cache it reads
    /// some hundred megabytes, longer than the whole start may take. Scans are judged meanwhile.
    /// If it finds damage, [`Session::poll_integrity_check`] marks the cache damaged: every
    /// write is refused from then on, with the file named and what to do. (What was written in
    /// the second or two before is lost with the file, as is what damage that appears later in
    /// the shift takes; no write is made after the damage is known.)
    pub fn start_integrity_check(&mut self) {
        let path = self.store.path().to_owned();
        if path.as_os_str() == ":memory:" {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("quick-check".into()).spawn(move || {
            let _ = tx.send(Store::open_read_only(&path).and_then(|s| s.quick_check()));
        });
        if spawned.is_ok() {
            self.integrity = Some(rx);
        }
    }

    /// The integrity check's finding once it is in, once: `Some(Err(damage))` when the cache is
    /// damaged (it now refuses every write), `Some(Ok(()))` when it is sound or could not be
    /// checked (a cache that cannot be read at all fails on its own), `None` while it runs or
    /// when none was started.
    pub fn poll_integrity_check(&mut self) -> Option<Result<(), StoreError>> {
        let found = match self.integrity.as_ref()?.try_recv() {
            Ok(r) => r,
            Err(std::sync::mpsc::TryRecvError::Empty) => return None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Ok(()),
        };
        self.integrity = None;
        match found {
            Err(e @ StoreError::Corrupt { .. }) => {
                tracing::error!(zh = %e.message_zh(), "{e}; nothing more is recorded in it");
                self.store.mark_damaged(&e);
                self.save_error = Some(Text::of(&e));
                Some(Err(e))
            }
            Err(e) => {
                tracing::warn!(zh = %e.message_zh(), "cannot check the cache: {e}");
                Some(Ok(()))
            }
            Ok(()) => Some(Ok(())),
        }
    }

    /// `hook` runs after every write that queued a command (the sync worker's poke).
    pub fn set_commit_hook(&mut self, hook: Box<dyn Fn() + Send>) {
        self.on_commit = Some(hook);
    }

    fn committed(&self) {
        if let Some(h) = &self.on_commit {
            h();
        }
    }

    /// Sync exceptions not acknowledged yet, oldest first.
    pub fn open_exceptions(&self) -> Result<Vec<crate::store::sync::ExceptionRow>, StoreError> {
        self.store.exceptions(false)
    }

    /// The operator read exception `id`: an `exception_acknowledged` command and the exception
    /// row's acknowledgement, in one transaction.
    pub fn acknowledge_exception(&mut self, id: i64, now: DateTime<FixedOffset>) -> Result<(), OpError> {
        let Some(ex) = self
            .store
            .exceptions(false)
            .map_err(|e| store_error(&e))?
            .into_iter()
            .find(|e| e.id == id)
        else {
            return Err(OpError::new(
                "exception_unknown",
                format!("Exception {id} is not open"),
                format!("异常 {id} 不是未处理状态"),
            ));
        };
        let action = crate::domain::workflow::Action {
            command: Command::ExceptionAcknowledged {
                command: ex.command_id.clone(),
                code: ex.code.clone(),
            },
            operator: self.operator_id().map(str::to_owned),
            audit: crate::domain::workflow::AuditFacts {
                reason: Some(ex.code.clone()),
                ..Default::default()
            },
            changes: vec![crate::domain::workflow::Change::ExceptionAcknowledged { exception_id: id }],
        };
        self.store.commit(&[action], now).map_err(|e| store_error(&e))?;
        self.committed();
        Ok(())
    }

    /// The operator logged in, if any.
    pub fn operator_id(&self) -> Option<&str> {
        self.state.operator().map(|o| o.id.as_str())
    }

    /// Why the last scan-screen record could not be saved, while some wait in memory.
    pub fn save_error(&self) -> Option<&Text> {
        self.save_error.as_ref()
    }

    /// Scan-screen records waiting to be written.
    pub fn unsaved(&self) -> usize {
        self.unsaved.len()
    }

    /// The scan screen's check (pick and count until their guided flows exist): judged against
    /// the cache, then (when `record`) written with the operator as a `scan` command and audit
    /// entry. A record the store cannot write (full disk) is kept in memory and written, oldest
    /// first, before the next one: nothing is dropped.
    pub fn check_scan(
        &mut self,
        gate: Gate,
        raw: &[u8],
        ctx: &CheckContext,
        now: DateTime<FixedOffset>,
        record: bool,
    ) -> Result<CheckedScan, StoreError> {
        let outcome = check_scan(&self.store, gate, raw, ctx, now.date_naive())?;
        if !record {
            return Ok(CheckedScan { outcome, command: None });
        }
        self.last_activity = Some(now);
        let rec = scan_record(self.operator_id().unwrap_or("-"), gate, &outcome, ctx, now);
        self.flush_unsaved();
        let mut command = None;
        if self.unsaved.is_empty() {
            match self.store.record_scan(&rec) {
                Ok(id) => {
                    command = Some(id);
                    self.committed();
                }
                Err(e) => {
                    self.save_error = Some(Text::of(&e));
                    self.unsaved.push(rec);
                }
            }
        } else {
            // Keep order: this one waits behind the ones not saved yet.
            self.unsaved.push(rec);
        }
        Ok(CheckedScan { outcome, command })
    }

    fn flush_unsaved(&mut self) {
        while let Some(rec) = self.unsaved.first() {
            match self.store.record_scan(rec) {
                Ok(_) => {
                    self.unsaved.remove(0);
                }
                Err(e) => {
                    self.save_error = Some(Text::of(&e));
                    return;
                }
            }
        }
        self.save_error = None;
    }

    /// Records why the operator goes ahead with a warned scan (`reason` is a code of
    /// `FEFO_OVERRIDE_REASONS`), referring to the scan's command.
    pub fn give_override_reason(
        &mut self,
        scan_command: &str,
        gate: Gate,
        outcome: &CheckOutcome,
        ctx: &CheckContext,
        reason: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        let mut rec = scan_record(self.operator_id().unwrap_or("-"), gate, outcome, ctx, now);
        rec.verdict = "warn".into();
        self.store.record_override(scan_command, &rec, reason)?;
        self.committed();
        Ok(())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Imports a master-data file (from a USB stick): a supervisor's action, all or nothing.
    pub fn import_master_data(
        &mut self,
        file: &std::path::Path,
    ) -> Result<crate::store::import::ImportSummary, super::files::FilesError> {
        super::files::may_import(self.state.operator())?;
        super::files::import_master_data(&mut self.store, file)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn set_zh(&mut self, zh: bool) {
        self.opts.zh = zh;
    }

    pub fn set_idle_seconds(&mut self, s: i64) {
        self.opts.idle_seconds = s;
    }

    fn today(&self, now: DateTime<FixedOffset>) -> NaiveDate {
        self.opts.today.unwrap_or_else(|| now.date_naive())
    }

    /// Locks the session if it has been idle too long. Returns the reply when it did.
    pub fn tick(&mut self, now: DateTime<FixedOffset>) -> Option<Reply> {
        let last = self.last_activity?;
        if self.state == State::LoggedOut || (now - last).num_seconds() < self.opts.idle_seconds {
            return None;
        }
        let reply = self.run("idle", Event::Idle, Facts::default(), now, None);
        self.last_activity = None;
        Some(reply)
    }

    /// Runs one op.
    pub fn handle(&mut self, op: Op, now: DateTime<FixedOffset>) -> Reply {
        self.tick(now);
        let name = op.name();
        let today = self.today(now);
        let (event, facts, label_out) = match self.prepare(op, today, now) {
            Ok(x) => x,
            Err(e) => return self.reply(name, Outcome::error(e)),
        };
        let reply = self.run(name, event, facts, now, label_out);
        if self.state != State::LoggedOut {
            self.last_activity = Some(now);
        }
        reply
    }

    /// Turns an op into the engine's event and looks up the facts it needs.
    fn prepare(
        &self,
        op: Op,
        today: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<(Event, Facts, Option<PathBuf>), OpError> {
        let se = |e: StoreError| store_error(&e);
        let mut f = Facts {
            today,
            ..Default::default()
        };
        let mut label_out = None;
        let event = match op {
            Op::Login { operator, pin } => {
                let id = operator.trim().to_owned();
                f.operator = self.operator_facts(&id, &pin, now).map_err(se)?;
                Event::Login { operator: id }
            }
            Op::Supervisor { operator, pin, reason } => {
                let id = operator.trim().to_owned();
                f.operator = self.operator_facts(&id, &pin, now).map_err(se)?;
                Event::Supervisor { operator: id, reason }
            }
            Op::Start { gate, task } => {
                let g = Gate::parse(gate.trim()).ok_or_else(|| {
                    OpError::new(
                        "unknown_gate",
                        format!("'{gate}' is not a gate: receive, pick or count"),
                        format!("「{gate}」不是作业:应为 receive(收货)、pick(拣货)或 count(盘点)"),
                    )
                })?;
                if let Some(t) = &task {
                    f.task = self.store.task_facts(t).map_err(se)?;
                }
                match (g, &f.task) {
                    (Gate::Receive, _) => f.dock = self.store.receiving_dock().map_err(se)?,
                    (Gate::Pick, Some(t)) => {
                        f.stock = self.store.stock_of_task_items(&t.id).map_err(se)?;
                        f.picks = self.store.task_picks(&t.id).map_err(se)?;
                    }
                    (Gate::Count, Some(t)) => {
                        let cf = self.store.count_facts(&t.id, &t.locations, false).map_err(se)?;
                        if !cf.started {
                            for loc in &t.locations {
                                f.stock.extend(self.store.stock_at(loc).map_err(se)?);
                            }
                        }
                        f.count = Some(cf);
                    }
                    _ => {}
                }
                Event::Start { gate: g, task }
            }
            Op::Scan { data } => {
                let parsed = match data.trim().strip_prefix(EPC_PREFIX) {
                    // An RFID tag: its EPC, read as the GS1 keys it encodes (SGTIN: (01) + (21)).
                    Some(hex) => match crate::domain::epc::decode_epc_hex(hex.trim()) {
                        Ok(crate::domain::epc::EpcDecoded::Gs1(e)) => {
                            parse_scan(e.bracketed().as_bytes(), None, &self.opts.scan_settings, today)
                                .map_err(|e| e.message)
                        }
                        Ok(crate::domain::epc::EpcDecoded::Raw { reason, .. }) => {
                            Err(format!("the tag carries no GS1 key: {reason}"))
                        }
                        Err(e) => Err(format!("unreadable EPC: {}", e.message)),
                    },
                    None => parse_scan(data.as_bytes(), None, &self.opts.scan_settings, today).map_err(|e| e.message),
                };
                let event = Event::Scan {
                    raw: data.clone(),
                    parsed,
                };
                match &self.state {
                    State::Receive { r, .. } => self.scan_facts(r, &event, &mut f).map_err(se)?,
                    State::Pick { p, .. } => self.pick_scan_facts(p, &event, &mut f).map_err(se)?,
                    State::Count { c, .. } => {
                        if let Some(hex) = data.trim().strip_prefix(EPC_PREFIX) {
                            f.tags = self.resolve_tags(&[hex.trim().to_owned()]).map_err(se)?;
                        } else {
                            self.count_scan_facts(c, &event, &mut f).map_err(se)?;
                        }
                    }
                    _ => {}
                }
                event
            }
            Op::Qty { n } => Event::Qty(n),
            Op::Location { code } => {
                let code = code.trim().to_owned();
                f.location = self.store.location(&code).map_err(se)?;
                if f.location.is_none() && !matches!(self.state, State::Receive { .. }) {
                    f.location = self.store.location(&code.to_uppercase()).map_err(se)?;
                }
                Event::Location(code)
            }
            Op::Reason { code } => Event::Reason(code),
            Op::Confirm => Event::Confirm,
            Op::Release { lot, gtin } => {
                if let Ok(g) = Gtin::new(gtin.trim()) {
                    f.item = self.store.item_by_code(g.as_str()).map_err(se)?;
                }
                if let (Some(item), Ok(l)) = (&f.item, LotNo::new(lot.trim())) {
                    f.lots.extend(self.store.lot(&item.id, l.as_str()).map_err(se)?);
                }
                Event::Release {
                    gtin: gtin.trim().to_owned(),
                    lot: lot.trim().to_owned(),
                }
            }
            Op::Label { out } => {
                label_out = out;
                Event::Label
            }
            Op::Finish => {
                match &self.state {
                    State::Pick { p, .. } => f.picks = self.store.task_picks(&p.task.id).map_err(se)?,
                    State::Count { c, .. } => {
                        f.count = Some(
                            self.store
                                .count_facts(&c.task.id, &c.task.locations, true)
                                .map_err(se)?,
                        )
                    }
                    _ => {}
                }
                Event::Finish
            }
            Op::Logout => Event::Logout,
            Op::SecondCheck { operator, pin } => {
                let id = operator.trim().to_owned();
                f.operator = self.operator_facts(&id, &pin, now).map_err(se)?;
                Event::SecondCheck { operator: id }
            }
            Op::Short { reason } => Event::Short(reason),
            Op::Tags { epcs } => {
                f.tags = self.resolve_tags(&epcs).map_err(se)?;
                Event::Tags
            }
        };
        // The pick gate's suggestions follow the cache's stock of the task's items.
        if let State::Pick { p, .. } = &self.state
            && f.stock.is_empty()
        {
            f.stock = self.store.stock_of_task_items(&p.task.id).map_err(se)?;
        }
        Ok((event, f, label_out))
    }

    fn operator_facts(
        &self,
        id: &str,
        pin: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Option<OperatorFacts>, StoreError> {
        let Some(rec) = self.store.operator(id)? else {
            return Ok(None);
        };
        // A locked operator's PIN is not tried at all.
        let locked = rec.locked_until.is_some_and(|t| t > now);
        let pin_ok = !locked && crate::store::pin::verify_pin(&rec.pin_hash, pin);
        Ok(Some(OperatorFacts {
            operator: rec.operator,
            pin_ok,
            failures: rec.failures,
            locked_until: rec.locked_until,
        }))
    }

    fn scan_facts(&self, r: &Receive, event: &Event, f: &mut Facts) -> Result<(), StoreError> {
        let Event::Scan { raw, parsed } = event else {
            return Ok(());
        };
        if let Step::Putaway(_) = r.step {
            f.location = self.store.location(raw.trim())?;
            return Ok(());
        }
        if let (Step::Scan | Step::Confirm(_), Ok(scan)) = (&r.step, parsed)
            && let Some(code) = item_code(scan)
        {
            f.item = self.store.item_by_code(&code)?;
        }
        if let (Some(item), Ok(scan)) = (&f.item, parsed)
            && let Some(serial) = &scan.fields.serial
        {
            f.serial_lot = self.store.serial_lot(&item.id, serial.as_str())?;
        }
        for (item, lot) in r.lots_wanted(event, f.item.as_ref()) {
            if f.lot(&item, &lot).is_none()
                && let Some(l) = self.store.lot(&item, lot.as_str())?
            {
                f.lots.push(l);
            }
        }
        Ok(())
    }

    fn pick_scan_facts(&self, p: &Pick, event: &Event, f: &mut Facts) -> Result<(), StoreError> {
        let Event::Scan { raw, parsed } = event else {
            return Ok(());
        };
        f.stock = self.store.stock_of_task_items(&p.task.id)?;
        if p.wants_location() {
            f.location = self.store.location(&raw.trim().to_uppercase())?;
            return Ok(());
        }
        self.goods_facts(parsed, f)?;
        for (item, lot) in p.lots_wanted(event, f.item.as_ref()) {
            if f.lot(&item, &lot).is_none()
                && let Some(l) = self.store.lot(&item, lot.as_str())?
            {
                f.lots.push(l);
            }
        }
        Ok(())
    }

    fn count_scan_facts(&self, c: &Count, event: &Event, f: &mut Facts) -> Result<(), StoreError> {
        let Event::Scan { raw, parsed } = event else {
            return Ok(());
        };
        self.goods_facts(parsed, f)?;
        if f.item.is_none() {
            f.location = self.store.location(&raw.trim().to_uppercase())?;
        }
        let pending = match &c.step {
            crate::domain::workflow::count::Step::Lot(o) => o.pending.as_ref().map(|(i, _, _)| i.clone()),
            _ => None,
        };
        for (item, lot) in c.lots_wanted(event, f.item.as_ref().or(pending.as_ref())) {
            if f.lot(&item, &lot).is_none()
                && let Some(l) = self.store.lot(&item, lot.as_str())?
            {
                f.lots.push(l);
            }
        }
        Ok(())
    }

    /// The item a goods scan names, and its serial's lot and whether it was picked.
    fn goods_facts(&self, parsed: &Result<crate::domain::scan::Scan, String>, f: &mut Facts) -> Result<(), StoreError> {
        let Ok(scan) = parsed else { return Ok(()) };
        if let Some(code) = item_code(scan) {
            f.item = self.store.item_by_code(&code)?;
        }
        if let (Some(item), Some(serial)) = (&f.item, &scan.fields.serial) {
            f.serial_lot = self.store.serial_lot(&item.id, serial.as_str())?;
            f.serial_picked = self.store.serial_picked(&item.id, serial.as_str())?;
        }
        // A unit scanned by its serial alone names its lot through the registry: the engine
        // judges that lot, so it is among the lots looked up.
        if let Some(l) = &f.serial_lot
            && f.lot(&l.item_id, &l.lot).is_none()
        {
            f.lots.push(l.clone());
        }
        Ok(())
    }

    /// Resolves RFID tags: EPC → GS1 keys (SGTIN: GTIN + serial) → item → lot through the
    /// serial registry. Items are looked up once per GTIN.
    pub fn resolve_tags(&self, epcs: &[String]) -> Result<Vec<TagFact>, StoreError> {
        resolve_tags(&self.store, epcs)
    }

    fn run(
        &mut self,
        name: &'static str,
        event: Event,
        facts: Facts,
        now: DateTime<FixedOffset>,
        label_out: Option<PathBuf>,
    ) -> Reply {
        let Transition { next, effects, outcome } = workflow::step(&self.state, event, &facts, now);
        let mut commands = vec![];
        let mut label = None;
        for effect in effects {
            match effect {
                Effect::Commit(actions) => match self.store.commit(&actions, now) {
                    Ok(c) => commands.extend(c),
                    Err(e) => return self.reply(name, Outcome::error(store_error(&e))),
                },
                Effect::PrintLabel { label: req, mut action } => {
                    let item_name = item_name(&req.item, self.opts.zh);
                    let info = match self.printer.print(&req, &item_name, self.opts.zh, label_out.as_deref()) {
                        Ok(i) => i,
                        Err(t) => {
                            return self.reply(
                                name,
                                Outcome::error(OpError {
                                    code: "label_failed",
                                    text: t,
                                }),
                            );
                        }
                    };
                    if let Command::LabelPrinted {
                        element_string,
                        printer,
                        ..
                    } = &mut action.command
                    {
                        *element_string = info.bracketed.clone();
                        printer.clone_from(&info.printer);
                    }
                    match self.store.commit(&[action], now) {
                        Ok(c) => commands.extend(c),
                        Err(e) => return self.reply(name, Outcome::error(store_error(&e))),
                    }
                    label = Some(info);
                }
            }
        }
        if !commands.is_empty() {
            self.committed();
        }
        // Everything is written: the step takes effect.
        if outcome.error.is_none() {
            self.state = next;
        }
        let mut reply = self.reply(
            name,
            Outcome {
                verdict: outcome.verdict,
                notes: outcome.notes,
                error: outcome.error,
                summary: outcome.summary,
                extra: outcome.extra,
            },
        );
        reply.label = label;
        reply.commands = commands;
        reply
    }

    fn reply(&self, op: &'static str, o: Outcome) -> Reply {
        Reply {
            op,
            state: self.state.name(),
            verdict: o.verdict,
            notes: o.notes,
            prompt: self.state.prompt(),
            error: o.error,
            summary: o.summary,
            label: None,
            commands: vec![],
            extra: o.extra,
        }
    }
}

struct Outcome {
    verdict: Option<Verdict>,
    notes: Vec<Reason>,
    error: Option<OpError>,
    summary: Option<ReceiptSummary>,
    extra: Option<serde_json::Map<String, Value>>,
}

impl Outcome {
    fn error(e: OpError) -> Outcome {
        Outcome {
            verdict: None,
            notes: vec![],
            error: Some(e),
            summary: None,
            extra: None,
        }
    }
}

fn scan_record(
    operator: &str,
    gate: Gate,
    o: &CheckOutcome,
    ctx: &CheckContext,
    now: DateTime<FixedOffset>,
) -> ScanRecord {
    ScanRecord {
        at: now.to_rfc3339(),
        operator: operator.to_owned(),
        gate: gate.as_str().to_owned(),
        scan: o.input.clone(),
        verdict: o.verdict().to_owned(),
        reason_codes: o
            .evaluation
            .verdict
            .reasons()
            .iter()
            .map(|r| r.code().to_owned())
            .collect(),
        item_id: o.item.as_ref().map(|i| i.id.clone()),
        lot: o
            .scan
            .as_ref()
            .and_then(|s| s.fields.lot.as_ref())
            .map(|l| l.as_str().to_owned()),
        task_id: ctx.task_id.clone(),
        customer_id: ctx.customer.as_ref().map(|c| c.id.clone()),
    }
}

fn item_name(item: &Item, zh: bool) -> String {
    if zh { item.name_zh.clone() } else { item.name_en.clone() }
}

/// Resolves RFID tags against the cache (see [`Session::resolve_tags`]).
pub fn resolve_tags(store: &Store, epcs: &[String]) -> Result<Vec<TagFact>, StoreError> {
    use crate::domain::epc::{EpcDecoded, decode_epc_hex};
    let mut items: std::collections::HashMap<String, Option<Item>> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(epcs.len());
    for hex in epcs {
        let hex = hex.trim();
        let mut t = TagFact {
            epc: hex.to_uppercase(),
            serial: None,
            item: None,
            lot: None,
            picked: false,
            problem: None,
        };
        let e = match decode_epc_hex(hex) {
            Ok(EpcDecoded::Gs1(e)) => e,
            Ok(EpcDecoded::Raw { .. }) => {
                t.problem = Some("not_gs1");
                out.push(t);
                continue;
            }
            Err(_) => {
                t.problem = Some("unreadable");
                out.push(t);
                continue;
            }
        };
        let key = |ai: &str| e.ais.iter().find(|(a, _)| a == ai).map(|(_, v)| v.clone());
        let (Some(gtin), Some(serial)) = (key("01"), key("21")) else {
            t.problem = Some("not_sgtin");
            out.push(t);
            continue;
        };
        let item = match items.get(&gtin) {
            Some(i) => i.clone(),
            None => {
                let i = store.item_by_code(&gtin)?;
                items.insert(gtin.clone(), i.clone());
                i
            }
        };
        if let Some(i) = &item {
            t.lot = store.serial_lot(&i.id, &serial)?;
            if t.lot.is_some() {
                t.picked = store.serial_picked(&i.id, &serial)?;
            }
        }
        t.serial = Some(serial);
        t.item = item;
        out.push(t);
    }
    Ok(out)
}

impl Session {
    /// A pick task's lines with the lot FEFO suggests for each (for the task list, before the
    /// picker gets there), on the date the rules apply.
    pub fn pick_plan(
        &self,
        task_id: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<crate::domain::workflow::pick::LinePlan>, StoreError> {
        let Some(t) = self.store.task_facts(task_id)? else {
            return Ok(vec![]);
        };
        let stock = self.store.stock_of_task_items(task_id)?;
        Ok(crate::domain::workflow::pick::plan(&t, &stock, self.today(now)))
    }

    /// A count task as its list shows it.
    pub fn task_facts(&self, task_id: &str) -> Result<Option<crate::domain::task::TaskFacts>, StoreError> {
        self.store.task_facts(task_id)
    }
}

/// A finished count as the screens show it (read from the reply's output keys).
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
pub struct CountView {
    #[serde(default)]
    pub variances: Vec<crate::domain::command::Variance>,
    #[serde(default)]
    pub uncounted: Vec<crate::domain::command::Uncounted>,
    #[serde(default)]
    pub findings: Vec<crate::domain::command::Finding>,
    #[serde(default)]
    pub accuracy: f64,
    #[serde(default)]
    pub recounts_pending: bool,
}

/// What a finished task reports, typed for the screens.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskResult {
    Pick(Vec<crate::domain::command::PickLineResult>),
    Count(CountView),
}

impl Reply {
    /// A finished pick's lines or a finished count's result, if this reply carries one.
    pub fn task_result(&self) -> Option<TaskResult> {
        let x = self.extra.as_ref()?;
        if let Some(lines) = x.get("lines") {
            return serde_json::from_value(lines.clone()).ok().map(TaskResult::Pick);
        }
        if x.contains_key("variances") {
            return serde_json::from_value(Value::Object(x.clone()))
                .ok()
                .map(TaskResult::Count);
        }
        None
    }
}

impl Reply {
    /// The RFID tags an inventory left for review (unknown, not registered, other items).
    pub fn tag_review(&self) -> Vec<crate::domain::command::TagReview> {
        self.extra
            .as_ref()
            .and_then(|x| x.get("review"))
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default()
    }
}
