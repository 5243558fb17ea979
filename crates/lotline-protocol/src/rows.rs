//! The `data` of each [`Change`](crate::sync::Change), per `table`, as the hub sends it and the
//! device stores it in its cache. Keys (the change's `key`) are given per shape.
//!
//! Booleans are JSON booleans; dates `YYYY-MM-DD`; times RFC 3339.

use serde::{Deserialize, Serialize};

/// `category`, key: the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: String,
    /// Warning tiers in days, comma-separated (`60,30,7`).
    pub near_expiry_days: String,
}

/// `item`, key: the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    pub category: String,
    pub shelf_life_days: Option<i64>,
    pub min_remaining_days_receipt: Option<i64>,
    pub min_remaining_pct_receipt: Option<i64>,
    pub near_expiry_days: Option<String>,
    pub requires_qc: bool,
    pub serialized: bool,
    pub regulated: bool,
    /// `ambient`, `chilled` or `frozen`.
    pub storage: String,
    /// `2` (units) or `5%`.
    pub count_tolerance: Option<String>,
}

/// `barcode`, key: the code (a GTIN normalised to 14 digits, or an alias).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barcode {
    pub code: String,
    /// `gtin` or `alias`.
    pub kind: String,
    pub item: String,
}

/// `lot`, key: `item/lot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub item: String,
    pub lot: String,
    pub expiry: Option<String>,
    pub production_date: Option<String>,
    pub qc_date: Option<String>,
    /// `released`, `quarantine`, `on_hold`, `recalled` or `rejected`.
    pub status: String,
}

/// `serial`, key: `item/serial`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serial {
    pub item: String,
    pub serial: String,
    pub lot: Option<String>,
    /// `in_stock` or `picked`.
    pub status: String,
}

/// `location`, key: the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub code: String,
    pub warehouse: String,
    pub zone: String,
    /// `pick`, `reserve`, `receiving`, `quarantine` or `shipping`.
    pub kind: String,
    pub storage: String,
}

/// `stock`, key: `item/lot@location`. A quantity of 0 is sent as a tombstone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stock {
    pub item: String,
    pub lot: String,
    pub location: String,
    pub qty: i64,
}

/// `customer`, key: the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub min_remaining_days: Option<i64>,
}

/// `operator`, key: the id. The PIN travels only as its argon2id hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub id: String,
    pub name: String,
    pub pin_hash: String,
    /// Comma-separated: `receiver`, `picker`, `checker`, `counter`, `supervisor`.
    pub roles: String,
}

/// `task`, key: the id; its lines and (count) locations travel with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    /// `receipt`, `pick` or `count`.
    pub kind: String,
    /// `open`, `in_progress`, `done` or `cancelled`.
    pub status: String,
    pub customer: Option<String>,
    pub reference: Option<String>,
    pub created_at: String,
    pub tolerance_pct: i64,
    pub blind: bool,
    pub zone: Option<String>,
    pub source: Option<String>,
    pub lines: Vec<TaskLine>,
    pub locations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLine {
    pub line: i64,
    pub item: String,
    pub lot: Option<String>,
    pub location: Option<String>,
    pub expiry: Option<String>,
    pub sscc: Option<String>,
    pub qty_expected: i64,
    pub qty_done: i64,
    pub qty_short: i64,
    pub short_reason: Option<String>,
    pub checked_by: Option<String>,
    pub checked_at: Option<String>,
    pub override_reason: Option<String>,
}
