//! Tasks (receipts, picks, counts), their lines, and the locations stock moves between, typed.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use super::ids::{LotNo, Sscc};
use super::lot::{Customer, Item, Storage};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($v),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($name::$v),)+
                    _ => Err(format!("'{s}' is not one of: {}", [$($s),+].join(", "))),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What a task asks for.
    TaskKind { Receipt = "receipt", Pick = "pick", Count = "count" }
);

string_enum!(
    /// Where a task stands.
    TaskStatus { Open = "open", InProgress = "in_progress", Done = "done", Cancelled = "cancelled" }
);

string_enum!(
    /// What a location is for.
    LocationKind { Pick = "pick", Reserve = "reserve", Receiving = "receiving", Quarantine = "quarantine", Shipping = "shipping" }
);

impl TaskStatus {
    /// Work may still be done on it.
    pub fn is_open(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::InProgress)
    }
}

/// A location as putaway needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub code: String,
    pub kind: LocationKind,
    pub storage: Storage,
}

/// One line of a task: an ASN line of a receipt, a line of a pick (an order line), or a count's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsnLine {
    pub line_no: u32,
    pub item: Item,
    pub qty: u32,
    /// Already received (on this device or before it got the task).
    pub done: u32,
    pub lot: Option<LotNo>,
    pub expiry: Option<NaiveDate>,
    pub sscc: Option<Sscc>,
    /// Pick: the location it must be picked from, if the order says.
    pub location: Option<String>,
    /// Pick: the quantity declared short, and why.
    pub short: u32,
    pub short_reason: Option<String>,
    /// Pick: who made the GSP second check.
    pub checked_by: Option<String>,
    /// Pick: why another lot than the FEFO suggestion was picked.
    pub override_reason: Option<String>,
}

impl AsnLine {
    pub fn remaining(&self) -> u32 {
        self.qty.saturating_sub(self.done)
    }

    /// Pick: still to pick (neither picked nor declared short).
    pub fn open(&self) -> u32 {
        self.qty.saturating_sub(self.done.saturating_add(self.short))
    }
}

/// A task as a gate opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFacts {
    pub id: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub reference: Option<String>,
    /// Over/under receipt allowed, in percent of each line.
    pub tolerance_pct: u32,
    pub lines: Vec<AsnLine>,
    /// Pick: the customer the goods go to.
    pub customer: Option<Customer>,
    /// Count: expected quantities hidden from the counter.
    pub blind: bool,
    /// Count: the locations to count (named, a zone's, or the lines').
    pub locations: Vec<String>,
}

/// The least a line should receive and the most it may: its quantity ± the tolerance, the
/// tolerance in whole units rounded down (5 % of 10 is 0).
pub fn tolerance_bounds(qty: u32, tolerance_pct: u32) -> (u32, u32) {
    let q = u64::from(qty);
    let slack = q * u64::from(tolerance_pct) / 100;
    ((q - slack.min(q)) as u32, (q + slack).min(u64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in TaskKind::ALL {
            assert_eq!(k.as_str().parse::<TaskKind>(), Ok(*k));
        }
        for k in LocationKind::ALL {
            assert_eq!(k.to_string().parse::<LocationKind>(), Ok(*k));
        }
        assert!(
            "closed"
                .parse::<TaskStatus>()
                .unwrap_err()
                .contains("open, in_progress")
        );
    }

    #[test]
    fn tolerance_bounds_table() {
        for (qty, pct, want) in [
            (100, 0, (100, 100)),
            (100, 5, (95, 105)),
            (10, 5, (10, 10)),
            (24, 10, (22, 26)),
            (1, 100, (0, 2)),
            (0, 50, (0, 0)),
        ] {
            assert_eq!(tolerance_bounds(qty, pct), want, "{qty} {pct}");
        }
    }
}
