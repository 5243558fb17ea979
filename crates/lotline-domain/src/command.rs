//! Commands: every action an operator takes, in the shape the outbox keeps and the hub receives
//! (`{id, device_id, seq, type, schema_version, created_at, operator, payload}`). The `type` is
//! the serde tag of [`Command`], the `payload` its content.
//!
//! Field names are part of the sync protocol: add fields, never rename them; a change that an
//! older hub would misread bumps [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};

/// The version of the payloads this build writes.
pub const SCHEMA_VERSION: u32 = 1;

/// One line of a receipt as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedLine {
    pub item: String,
    pub gtin: Option<String>,
    pub lot: String,
    pub expiry: Option<String>,
    pub qty: u32,
    /// AI (310n) for variable-measure goods: the case's net weight.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub net_weight_kg: Option<f64>,
    /// The ASN line received against, if any.
    pub line: Option<u32>,
    pub location: String,
    /// `released` or `quarantine` after the receipt.
    pub lot_status: String,
    pub new_lot: bool,
    /// The cache's expiry when the label's was earlier (the earlier one now applies).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expiry_before: Option<String>,
}

/// A task's summary when it is finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReceiptSummary {
    pub lines: Vec<SummaryLine>,
    /// Lots that went to quarantine: `item/lot`.
    pub quarantined: Vec<String>,
    /// Received stock still at the dock: `item/lot qty`.
    pub awaiting_putaway: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryLine {
    pub line: u32,
    pub item: String,
    pub expected: u32,
    pub received: u32,
    /// `received`, `short`, `over` or `not_received`.
    pub status: String,
}

/// Every action, typed. `#[serde(tag = "type", content = "payload")]` gives the outbox's two
/// columns.
/// A pick line as the finished pick reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickLineResult {
    pub line: u32,
    pub item: String,
    pub qty: u32,
    pub picked: u32,
    pub short: u32,
    pub short_reason: Option<String>,
    pub lots: Vec<PickedLot>,
    #[serde(rename = "override")]
    pub override_reason: Option<String>,
    pub checked_by: Option<String>,
    /// `picked`, `short`, `partial` (some picked, the rest short) or `open`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickedLot {
    pub lot: String,
    pub location: String,
    pub qty: u32,
}

/// A movement a count's line took into account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementRef {
    pub command: String,
    pub operator: String,
    pub at: String,
    /// Into the location (+) or out of it (−).
    pub qty: i64,
}

/// One line of a count's result: location × item × lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variance {
    pub location: String,
    pub item: String,
    pub lot: String,
    pub expected: i64,
    pub moved: i64,
    pub counted: i64,
    pub variance: i64,
    /// Beyond the item's tolerance on a first count: a recount by another operator is asked for.
    pub recount: bool,
    /// This line's count is a recount (the second count stands).
    pub recounted: bool,
    pub within_tolerance: bool,
    pub movements: Vec<MovementRef>,
}

/// A snapshot line nobody counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uncounted {
    pub location: String,
    pub item: String,
    pub lot: String,
    pub expected: i64,
}

/// A lot found in a bin that may not move (expired, recalled, on hold, quarantined, rejected) or
/// that the cache does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub location: String,
    pub item: String,
    pub lot: String,
    pub code: String,
    pub counted: i64,
}

/// A tag an RFID count did not count, for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagReview {
    pub epc: String,
    pub why: String,
    pub item: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountedLot {
    pub item: String,
    pub lot: String,
    pub qty: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum Command {
    Login {
        method: String,
    },
    LoginFailed {
        attempted: String,
        /// `login` or `supervisor`.
        purpose: String,
        failures: u32,
        locked_until: Option<String>,
    },
    Logout {
        /// `operator` or `idle`.
        why: String,
    },
    TaskStarted {
        task: Option<String>,
        gate: String,
    },
    /// A scan judged at a gate that did not lead to a receipt (refused, or a location).
    Scan {
        gate: String,
        task: Option<String>,
        scan: String,
        verdict: String,
        reasons: Vec<String>,
        item: Option<String>,
        lot: Option<String>,
    },
    Quantity {
        task: Option<String>,
        item: String,
        lot: Option<String>,
        qty: u32,
    },
    SupervisorOverride {
        supervisor: String,
        reason: String,
        /// The warnings it authorises (reason codes), or the action (`release`).
        authorises: Vec<String>,
    },
    Receive {
        task: Option<String>,
        scan: String,
        sscc: Option<String>,
        lines: Vec<ReceivedLine>,
        verdict: String,
        warnings: Vec<String>,
        authorised_by: Option<String>,
        reason: Option<String>,
    },
    Putaway {
        task: Option<String>,
        item: String,
        lot: String,
        qty: u32,
        from: String,
        to: String,
    },
    LabelPrinted {
        item: String,
        gtin: String,
        lot: String,
        expiry: Option<String>,
        qty: u32,
        element_string: String,
        printer: String,
    },
    LotReleased {
        item: String,
        lot: String,
        from_status: String,
        authorised_by: String,
    },
    TaskFinished {
        task: Option<String>,
        gate: String,
        summary: ReceiptSummary,
    },
    /// The scan screen's FEFO override (a warning gone past with a reason).
    /// A pick line (or part of it) confirmed: stock leaves the location.
    Pick {
        task: String,
        line: u32,
        item: String,
        lot: String,
        location: String,
        qty: u32,
        serials: Vec<String>,
        verdict: String,
        warnings: Vec<String>,
        override_reason: Option<String>,
        customer: Option<String>,
    },
    PickShort {
        task: String,
        line: u32,
        item: String,
        qty_short: u32,
        reason: String,
        location: Option<String>,
        count_task: Option<String>,
    },
    /// A task raised on the device (a count after a short pick).
    TaskRaised {
        task: String,
        kind: String,
        source: String,
        locations: Vec<String>,
    },
    /// The GSP second check (出库复核): the checker (the command's operator) confirmed the line.
    SecondCheck {
        task: String,
        line: u32,
        item: String,
        lot: String,
        qty: u32,
        picker: String,
        checker: String,
    },
    PickFinished {
        task: String,
        lines: Vec<PickLineResult>,
    },
    CountSnapshot {
        task: String,
        locations: Vec<String>,
        lines: usize,
    },
    /// Goods counted by scan (`qty` may be negative: a correction of the last scan's quantity).
    Count {
        task: String,
        location: String,
        round: u8,
        scan: String,
        item: String,
        lot: String,
        qty: i64,
        findings: Vec<String>,
    },
    /// An RFID read counted: units per lot, and the tags left for review.
    CountTags {
        task: String,
        location: String,
        round: u8,
        tags: usize,
        counted: Vec<CountedLot>,
        review: Vec<TagReview>,
    },
    /// A location counted: this is the moment its count stands for.
    CountLocation {
        task: String,
        location: String,
        round: u8,
        counted: Vec<CountedLot>,
    },
    RecountRequested {
        task: String,
        locations: Vec<String>,
        variances: Vec<Variance>,
    },
    CountResult {
        task: String,
        variances: Vec<Variance>,
        uncounted: Vec<Uncounted>,
        findings: Vec<Finding>,
        accuracy: f64,
    },
    /// An operator read a sync exception (a command the hub refused and the device reversed).
    ExceptionAcknowledged {
        /// The refused command's id.
        command: String,
        /// The hub's code for the refusal.
        code: String,
    },
    WarningOverride {
        scan_command: String,
        gate: String,
        scan: String,
        warnings: Vec<String>,
        reason: String,
        item: Option<String>,
        lot: Option<String>,
        task: Option<String>,
    },
}

impl Command {
    /// The `type` the outbox and the hub see.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Login { .. } => "login",
            Command::LoginFailed { .. } => "login_failed",
            Command::Logout { .. } => "logout",
            Command::TaskStarted { .. } => "task_started",
            Command::Scan { .. } => "scan",
            Command::Quantity { .. } => "quantity",
            Command::SupervisorOverride { .. } => "supervisor_override",
            Command::Receive { .. } => "receive",
            Command::Putaway { .. } => "putaway",
            Command::LabelPrinted { .. } => "label_printed",
            Command::LotReleased { .. } => "lot_released",
            Command::TaskFinished { .. } => "task_finished",
            Command::WarningOverride { .. } => "warning_override",
            Command::ExceptionAcknowledged { .. } => "exception_acknowledged",
            Command::Pick { .. } => "pick",
            Command::PickShort { .. } => "pick_short",
            Command::TaskRaised { .. } => "task_raised",
            Command::SecondCheck { .. } => "second_check",
            Command::PickFinished { .. } => "pick_finished",
            Command::CountSnapshot { .. } => "count_snapshot",
            Command::Count { .. } => "count",
            Command::CountTags { .. } => "count_tags",
            Command::CountLocation { .. } => "count_location",
            Command::RecountRequested { .. } => "recount_requested",
            Command::CountResult { .. } => "count_result",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_and_payload_are_separate_keys() {
        let c = Command::Logout { why: "idle".into() };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["type"], "logout");
        assert_eq!(v["payload"]["why"], "idle");
        assert_eq!(v["type"], c.kind());
        let back: Command = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }
}
