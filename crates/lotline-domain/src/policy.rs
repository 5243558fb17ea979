//! The shelf-life policy engine: one pure function decides accept / warn / reject for a scanned
//! lot at the receive, pick and count gates, from facts the shell looked up and a date passed in.

use chrono::NaiveDate;

use super::ids::{Gtin, LotNo};
use super::lot::{Customer, FefoCandidate, Item, Lot, LotStatus, MinRemaining};
use super::reason::Reason;

/// Where the scan happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gate {
    Receive,
    Pick,
    Count,
}

impl Gate {
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Receive => "receive",
            Gate::Pick => "pick",
            Gate::Count => "count",
        }
    }
    pub fn parse(s: &str) -> Option<Gate> {
        match s {
            "receive" => Some(Gate::Receive),
            "pick" => Some(Gate::Pick),
            "count" => Some(Gate::Count),
            _ => None,
        }
    }
}

/// The outcome. A business outcome is a value, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Warn(Vec<Reason>),
    Reject(Vec<Reason>),
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Warn(_) => "warn",
            Verdict::Reject(_) => "reject",
        }
    }
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Verdict::Accept => &[],
            Verdict::Warn(r) | Verdict::Reject(r) => r,
        }
    }
}

/// A verdict plus informational notes that do not change it (e.g. "new lot goes to quarantine").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub notes: Vec<Reason>,
}

impl Evaluation {
    /// The verdict for input the scan grammar could not read.
    pub fn invalid_barcode(raw: &str, detail: &str) -> Evaluation {
        Evaluation {
            verdict: Verdict::Reject(vec![Reason::InvalidBarcode {
                raw: raw.to_owned(),
                detail: detail.to_owned(),
            }]),
            notes: vec![],
        }
    }
    /// The verdict for a readable barcode that does not name an item (a pallet or location label).
    pub fn not_an_item(raw: &str, what: &str) -> Evaluation {
        Evaluation {
            verdict: Verdict::Reject(vec![Reason::NotAnItem {
                raw: raw.to_owned(),
                what: what.to_owned(),
            }]),
            notes: vec![],
        }
    }
}

/// What the scan said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// The item key as scanned (a GTIN, or an alias code) for messages.
    pub code: String,
    pub gtin: Option<Gtin>,
    pub lot: Option<LotNo>,
    pub expiry: Option<NaiveDate>,
    pub production_date: Option<NaiveDate>,
}

impl Scanned {
    /// A lot of a known item named by the workflow (typed or chosen, not read off a label): the
    /// item's GTIN (or its id) as the code, no dates of its own.
    pub fn lot_of(item: &Item, lot: &LotNo) -> Scanned {
        Scanned {
            code: item
                .gtin
                .as_ref()
                .map(|g| g.as_str().to_owned())
                .unwrap_or_else(|| item.id.clone()),
            gtin: item.gtin.clone(),
            lot: Some(lot.clone()),
            expiry: None,
            production_date: None,
        }
    }
}

/// What the cache knows, looked up by the shell before calling [`evaluate`].
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub scanned: &'a Scanned,
    pub item: Option<&'a Item>,
    pub lot: Option<&'a Lot>,
    /// The items the current task expects; empty when the scan belongs to no task.
    pub expected_items: &'a [Item],
    /// The customer the pick is for.
    pub customer: Option<&'a Customer>,
    /// The earliest-expiring released lot of this item in a pick zone.
    pub fefo: Option<&'a FefoCandidate>,
}

#[derive(Default)]
struct Tally {
    reject: Vec<Reason>,
    warn: Vec<Reason>,
    notes: Vec<Reason>,
}

impl Tally {
    fn finish(mut self) -> Evaluation {
        let verdict = if !self.reject.is_empty() {
            self.reject.append(&mut self.warn);
            Verdict::Reject(self.reject)
        } else if !self.warn.is_empty() {
            Verdict::Warn(self.warn)
        } else {
            Verdict::Accept
        };
        Evaluation {
            verdict,
            notes: self.notes,
        }
    }
}

/// Decides whether the scanned lot may move through `gate` on `today`.
pub fn evaluate(gate: Gate, facts: &Facts<'_>, today: NaiveDate) -> Evaluation {
    let mut t = Tally::default();
    let Some(item) = facts.item else {
        t.reject.push(Reason::UnknownItem {
            code: facts.scanned.code.clone(),
        });
        return t.finish();
    };
    if !facts.expected_items.is_empty() && !facts.expected_items.iter().any(|e| e.id == item.id) {
        let expected = super::lot::names(facts.expected_items);
        t.reject.push(Reason::WrongItem {
            scanned: item.name(),
            expected,
        });
        return t.finish();
    }
    let Some(lot_no) = facts.scanned.lot.as_ref().or(facts.lot.map(|l| &l.lot)) else {
        t.reject.push(Reason::MissingLot { item: item.name() });
        return t.finish();
    };
    let lot_name = lot_no.as_str().to_owned();

    // The expiry the rules apply: the cache's, or the label's for a new lot; when both are known
    // and disagree, the earlier one (and a warning).
    let expiry = match (facts.lot.and_then(|l| l.expiry), facts.scanned.expiry) {
        (Some(rec), Some(scan)) if rec != scan => {
            t.warn.push(Reason::ExpiryMismatch {
                lot: lot_name.clone(),
                scanned: scan,
                recorded: rec,
            });
            Some(rec.min(scan))
        }
        (Some(rec), _) => Some(rec),
        (None, scan) => scan,
    };

    match facts.lot {
        None => match gate {
            Gate::Receive => {
                t.notes.push(Reason::NewLot {
                    lot: lot_name.clone(),
                    to_quarantine: item.requires_qc,
                });
                if expiry.is_none() && item.shelf_life_days.is_some() {
                    t.warn.push(Reason::MissingExpiry { lot: lot_name.clone() });
                }
            }
            Gate::Pick => {
                t.reject.push(Reason::UnknownLot {
                    lot: lot_name,
                    item: item.name(),
                });
                return t.finish();
            }
            Gate::Count => t.warn.push(Reason::UnknownLot {
                lot: lot_name.clone(),
                item: item.name(),
            }),
        },
        Some(lot) => status_rules(gate, lot.status, &lot_name, &mut t),
    }

    if let Some(expiry) = expiry {
        let days_left = (expiry - today).num_days();
        if days_left < 0 {
            t.reject.push(Reason::Expired {
                lot: lot_name.clone(),
                expiry,
                days_ago: -days_left,
            });
        } else {
            let below_min = match gate {
                Gate::Receive => receipt_minimum(item, facts.lot, facts.scanned, expiry, days_left, &lot_name),
                Gate::Pick => customer_minimum(facts.customer, days_left, &lot_name),
                Gate::Count => None,
            };
            match below_min {
                // At receipt, short-dated goods are refused for regulated items (medicines,
                // medical devices); for others it is a warning a supervisor must authorise.
                Some(r @ Reason::BelowMinShelfLifeReceipt { .. }) if !item.regulated => t.warn.push(r),
                Some(r) => t.reject.push(r),
                None => {
                    if let Some(tier) = near_expiry_tier(&item.near_expiry_days, days_left) {
                        t.warn.push(Reason::NearExpiry {
                            lot: lot_name.clone(),
                            expiry,
                            days_left,
                            tier,
                        });
                    }
                }
            }
            if gate == Gate::Pick
                && let Some(c) = facts.fefo
                && c.lot != *lot_no
                && c.expiry < expiry
            {
                t.warn.push(Reason::FefoViolation {
                    lot: lot_name.clone(),
                    earlier_lot: c.lot.as_str().to_owned(),
                    earlier_expiry: c.expiry,
                    location: c.location.clone(),
                });
            }
        }
    }
    t.finish()
}

fn status_rules(gate: Gate, status: LotStatus, lot: &str, t: &mut Tally) {
    let lot = lot.to_owned();
    match (gate, status) {
        (_, LotStatus::Released) => {}
        (Gate::Pick, LotStatus::Quarantine) => t.reject.push(Reason::Quarantined { lot }),
        (Gate::Pick, LotStatus::OnHold) => t.reject.push(Reason::OnHold { lot }),
        (Gate::Pick | Gate::Receive, LotStatus::Recalled) => t.reject.push(Reason::Recalled { lot }),
        (Gate::Pick | Gate::Receive, LotStatus::Rejected) => t.reject.push(Reason::RejectedLot { lot }),
        (Gate::Receive, LotStatus::Quarantine) => t.notes.push(Reason::ToQuarantine { lot }),
        (Gate::Receive | Gate::Count, LotStatus::OnHold) => t.warn.push(Reason::OnHold { lot }),
        (Gate::Count, LotStatus::Quarantine) => t.notes.push(Reason::Quarantined { lot }),
        (Gate::Count, LotStatus::Recalled) => t.warn.push(Reason::Recalled { lot }),
        (Gate::Count, LotStatus::Rejected) => t.warn.push(Reason::RejectedLot { lot }),
    }
}

/// The tightest near-expiry tier that `days_left` falls within, if any.
pub fn near_expiry_tier(tiers: &[u32], days_left: i64) -> Option<u32> {
    tiers.iter().copied().filter(|&tier| days_left <= i64::from(tier)).min()
}

fn receipt_minimum(
    item: &Item,
    lot: Option<&Lot>,
    scanned: &Scanned,
    expiry: NaiveDate,
    days_left: i64,
    lot_name: &str,
) -> Option<Reason> {
    match item.min_remaining_receipt? {
        MinRemaining::Days(min) => (days_left < i64::from(min)).then(|| Reason::BelowMinShelfLifeReceipt {
            lot: lot_name.to_owned(),
            days_left,
            min_days: i64::from(min),
            min_percent: None,
            percent_left: None,
        }),
        MinRemaining::Percent(p) => {
            let total = match lot.and_then(|l| l.production_date).or(scanned.production_date) {
                Some(prod) if prod < expiry => (expiry - prod).num_days(),
                _ => i64::from(item.shelf_life_days?),
            };
            if total <= 0 {
                return None;
            }
            let left = (days_left * 100 / total).clamp(0, 100) as u8;
            let min_days = (total * i64::from(p) + 99) / 100;
            (left < p).then(|| Reason::BelowMinShelfLifeReceipt {
                lot: lot_name.to_owned(),
                days_left,
                min_days,
                min_percent: Some(p),
                percent_left: Some(left),
            })
        }
    }
}

fn customer_minimum(customer: Option<&Customer>, days_left: i64, lot: &str) -> Option<Reason> {
    let c = customer?;
    let min = c.min_remaining_days?;
    (days_left < i64::from(min)).then(|| Reason::BelowMinShelfLifeCustomer {
        lot: lot.to_owned(),
        days_left,
        min_days: min,
        customer: c.name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lot::{DEFAULT_NEAR_EXPIRY_TIERS, Storage};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    const TODAY: &str = "2026-11-21";

    fn item(id: &str) -> Item {
        Item {
            id: id.into(),
            name_en: format!("Item {id}"),
            name_zh: format!("商品 {id}"),
            gtin: None,
            category: "food".into(),
            shelf_life_days: Some(365),
            min_remaining_receipt: None,
            near_expiry_days: DEFAULT_NEAR_EXPIRY_TIERS.to_vec(),
            requires_qc: false,
            serialized: false,
            regulated: false,
            storage: Storage::Ambient,
        }
    }
    fn lot(no: &str, expiry: &str, status: LotStatus) -> Lot {
        Lot {
            item_id: "I1".into(),
            lot: LotNo::new(no).unwrap(),
            expiry: Some(d(expiry)),
            production_date: None,
            qc_date: None,
            status,
        }
    }
    fn scanned(no: Option<&str>, expiry: Option<&str>) -> Scanned {
        Scanned {
            code: "09501101530003".into(),
            gtin: None,
            lot: no.map(|n| LotNo::new(n).unwrap()),
            expiry: expiry.map(d),
            production_date: None,
        }
    }
    fn codes(e: &Evaluation) -> Vec<&'static str> {
        e.verdict.reasons().iter().map(Reason::code).collect()
    }
    fn note_codes(e: &Evaluation) -> Vec<&'static str> {
        e.notes.iter().map(Reason::code).collect()
    }

    /// (gate, lot status, expiry, expected verdict, expected reason codes)
    #[test]
    fn status_and_expiry_table() {
        use Gate::*;
        use LotStatus::*;
        let cases: &[(Gate, LotStatus, &str, &str, &[&str])] = &[
            (Pick, Released, "2027-11-21", "accept", &[]),
            (Pick, Released, "2026-11-18", "reject", &["expired"]),
            (Receive, Released, "2026-11-18", "reject", &["expired"]),
            (Count, Released, "2026-11-18", "reject", &["expired"]),
            (Pick, Released, "2026-11-21", "warn", &["near_expiry"]), // expires today: still usable
            (Pick, Released, "2027-01-10", "warn", &["near_expiry"]), // 50 days
            (Pick, Released, "2027-01-20", "warn", &["near_expiry"]), // 60 days: inside the tier
            (Pick, Released, "2027-01-21", "accept", &[]),            // 61 days
            (Pick, Quarantine, "2027-11-21", "reject", &["quarantined"]),
            (Pick, OnHold, "2027-11-21", "reject", &["on_hold"]),
            (Pick, Recalled, "2027-11-21", "reject", &["recalled"]),
            (Pick, Rejected, "2027-11-21", "reject", &["rejected_lot"]),
            (Pick, Recalled, "2026-11-01", "reject", &["recalled", "expired"]),
            (
                Pick,
                Quarantine,
                "2026-12-01",
                "reject",
                &["quarantined", "near_expiry"],
            ),
            (Receive, Quarantine, "2027-11-21", "accept", &[]),
            (Receive, OnHold, "2027-11-21", "warn", &["on_hold"]),
            (Receive, Recalled, "2027-11-21", "reject", &["recalled"]),
            (Receive, Rejected, "2027-11-21", "reject", &["rejected_lot"]),
            (Count, Quarantine, "2027-11-21", "accept", &[]),
            (Count, OnHold, "2027-11-21", "warn", &["on_hold"]),
            (Count, Recalled, "2027-11-21", "warn", &["recalled"]),
            (Count, Rejected, "2026-12-01", "warn", &["rejected_lot", "near_expiry"]),
        ];
        let it = item("I1");
        for (gate, status, expiry, verdict, want) in cases {
            let l = lot("L2311", expiry, *status);
            let s = scanned(Some("L2311"), None);
            let facts = Facts {
                scanned: &s,
                item: Some(&it),
                lot: Some(&l),
                expected_items: &[],
                customer: None,
                fefo: None,
            };
            let e = evaluate(*gate, &facts, d(TODAY));
            assert_eq!(e.verdict.as_str(), *verdict, "{gate:?} {status:?} {expiry}: {e:?}");
            assert_eq!(codes(&e), *want, "{gate:?} {status:?} {expiry}");
        }
    }

    #[test]
    fn expired_message_matches_the_brief() {
        let it = item("I1");
        let l = lot("L2311", "2026-11-18", LotStatus::Released);
        let s = scanned(Some("L2311"), None);
        let facts = Facts {
            scanned: &s,
            item: Some(&it),
            lot: Some(&l),
            expected_items: &[],
            customer: None,
            fefo: None,
        };
        let e = evaluate(Gate::Pick, &facts, d(TODAY));
        assert_eq!(
            e.verdict.reasons()[0].message_en(),
            "Lot L2311 expired 3 days ago (2026-11-18)"
        );
        assert_eq!(
            e.verdict.reasons()[0].message_zh(),
            "批次 L2311 已过期 3 天(2026-11-18)"
        );
    }

    #[test]
    fn near_expiry_tiers() {
        let tiers = [60, 30, 7];
        let cases = [
            (0, Some(7)),
            (7, Some(7)),
            (8, Some(30)),
            (30, Some(30)),
            (31, Some(60)),
            (60, Some(60)),
            (61, None),
        ];
        for (days, want) in cases {
            assert_eq!(near_expiry_tier(&tiers, days), want, "{days}");
        }
        assert_eq!(near_expiry_tier(&[90, 14], 20), Some(90));
        assert_eq!(near_expiry_tier(&[], 1), None);
    }

    #[test]
    fn category_tiers_change_the_warning() {
        let mut it = item("I1");
        it.near_expiry_days = vec![120, 90];
        let l = lot("L1", "2027-02-01", LotStatus::Released); // 72 days
        let s = scanned(Some("L1"), None);
        let facts = Facts {
            scanned: &s,
            item: Some(&it),
            lot: Some(&l),
            expected_items: &[],
            customer: None,
            fefo: None,
        };
        let e = evaluate(Gate::Pick, &facts, d(TODAY));
        assert!(
            matches!(
                &e.verdict.reasons()[0],
                Reason::NearExpiry {
                    tier: 90,
                    days_left: 72,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    /// (min rule, production date, expiry, verdict, codes)
    type MinCase<'a> = (MinRemaining, Option<&'a str>, &'a str, &'a str, &'a [&'a str]);

    #[test]
    fn receipt_minimum_in_days_and_percent() {
        let cases: &[MinCase] = &[
            (MinRemaining::Days(90), None, "2027-03-01", "accept", &[]), // 100 days
            (
                MinRemaining::Days(90),
                None,
                "2027-02-15",
                "reject",
                &["below_min_shelf_life"],
            ), // 86 days
            (MinRemaining::Days(90), None, "2027-02-19", "accept", &[]), // exactly 90
            // 365-day life from production: 2/3 needs >= 243.33 days → 67% left passes, 66% fails.
            (
                MinRemaining::Percent(67),
                Some("2026-06-01"),
                "2027-06-01",
                "reject",
                &["below_min_shelf_life"],
            ),
            (
                MinRemaining::Percent(50),
                Some("2026-06-01"),
                "2027-06-01",
                "accept",
                &[],
            ),
            // No production date: the item's nominal 365 days.
            (
                MinRemaining::Percent(50),
                None,
                "2027-03-01",
                "reject",
                &["below_min_shelf_life"],
            ),
        ];
        for (rule, prod, expiry, verdict, want) in cases {
            let mut it = item("I1");
            it.min_remaining_receipt = Some(*rule);
            let mut l = lot("L9", expiry, LotStatus::Released);
            l.production_date = prod.map(d);
            let s = scanned(Some("L9"), None);
            let facts = Facts {
                scanned: &s,
                item: Some(&it),
                lot: Some(&l),
                expected_items: &[],
                customer: None,
                fefo: None,
            };
            // A regulated item (medicine, medical device) is refused ...
            let mut it = it.clone();
            it.regulated = true;
            let facts = Facts {
                item: Some(&it),
                ..facts
            };
            let e = evaluate(Gate::Receive, &facts, d(TODAY));
            assert_eq!(e.verdict.as_str(), *verdict, "{rule:?} {expiry}: {e:?}");
            assert_eq!(codes(&e), *want, "{rule:?} {expiry}");
            // ... any other gets a warning a supervisor must authorise.
            let mut food = it.clone();
            food.regulated = false;
            let e = evaluate(
                Gate::Receive,
                &Facts {
                    item: Some(&food),
                    ..facts
                },
                d(TODAY),
            );
            let soft = if *verdict == "reject" { "warn" } else { *verdict };
            assert_eq!(e.verdict.as_str(), soft, "not regulated: {rule:?} {expiry}: {e:?}");
            assert_eq!(codes(&e), *want, "not regulated: {rule:?} {expiry}");
        }
    }

    #[test]
    fn percent_message_explains_itself() {
        let mut it = item("I1");
        it.min_remaining_receipt = Some(MinRemaining::Percent(67));
        let mut l = lot("L9", "2027-06-01", LotStatus::Released);
        l.production_date = Some(d("2026-06-01"));
        let s = scanned(Some("L9"), None);
        let facts = Facts {
            scanned: &s,
            item: Some(&it),
            lot: Some(&l),
            expected_items: &[],
            customer: None,
            fefo: None,
        };
        let e = evaluate(Gate::Receive, &facts, d(TODAY));
        assert_eq!(
            e.verdict.reasons()[0].message_en(),
            "Lot L9 has 52% of its shelf life left (192 days); receipt needs at least 67%"
        );
    }

    #[test]
    fn customer_minimum_at_pick_only() {
        let it = item("I1");
        let l = lot("L5", "2027-03-01", LotStatus::Released); // 100 days
        let s = scanned(Some("L5"), None);
        let strict = Customer {
            id: "C1".into(),
            name: "Huamei".into(),
            min_remaining_days: Some(120),
        };
        let easy = Customer {
            id: "C2".into(),
            name: "Easy".into(),
            min_remaining_days: Some(30),
        };
        let none = Customer {
            id: "C3".into(),
            name: "Any".into(),
            min_remaining_days: None,
        };
        for (c, gate, want) in [
            (&strict, Gate::Pick, "reject"),
            (&easy, Gate::Pick, "accept"),
            (&none, Gate::Pick, "accept"),
            (&strict, Gate::Count, "accept"),
        ] {
            let facts = Facts {
                scanned: &s,
                item: Some(&it),
                lot: Some(&l),
                expected_items: &[],
                customer: Some(c),
                fefo: None,
            };
            let e = evaluate(gate, &facts, d(TODAY));
            assert_eq!(e.verdict.as_str(), want, "{} {gate:?}", c.id);
        }
    }

    #[test]
    fn fefo_warns_only_for_a_later_lot_at_pick() {
        let it = item("I1");
        let l = lot("LATE", "2027-11-21", LotStatus::Released);
        let s = scanned(Some("LATE"), None);
        let earlier = FefoCandidate {
            lot: LotNo::new("EARLY").unwrap(),
            expiry: d("2027-06-01"),
            location: "WH1-A-01".into(),
        };
        let same = FefoCandidate {
            lot: LotNo::new("LATE").unwrap(),
            expiry: d("2027-11-21"),
            location: "WH1-A-02".into(),
        };
        let same_day = FefoCandidate {
            lot: LotNo::new("TWIN").unwrap(),
            expiry: d("2027-11-21"),
            location: "WH1-A-03".into(),
        };
        for (cand, gate, want) in [
            (&earlier, Gate::Pick, vec!["fefo_violation"]),
            (&same, Gate::Pick, vec![]),
            (&same_day, Gate::Pick, vec![]),
            (&earlier, Gate::Receive, vec![]),
            (&earlier, Gate::Count, vec![]),
        ] {
            let facts = Facts {
                scanned: &s,
                item: Some(&it),
                lot: Some(&l),
                expected_items: &[],
                customer: None,
                fefo: Some(cand),
            };
            let e = evaluate(gate, &facts, d(TODAY));
            assert_eq!(codes(&e), want, "{} {gate:?}", cand.lot);
        }
    }

    #[test]
    fn unknown_wrong_and_missing() {
        let it = item("I1");
        let other = item("I2");
        let s = scanned(Some("NEW1"), Some("2027-11-21"));
        let no_lot = scanned(None, None);
        let new_no_expiry = scanned(Some("NEW2"), None);
        let l = lot("NEW1", "2027-11-21", LotStatus::Released);
        let both_other = [other.clone(), item("I3")];
        let both = [other.clone(), it.clone()];
        struct Case<'a> {
            gate: Gate,
            s: &'a Scanned,
            item: Option<&'a Item>,
            lot: Option<&'a Lot>,
            expected: &'a [Item],
            verdict: &'a str,
            codes: &'a [&'a str],
            notes: &'a [&'a str],
        }
        let cases = [
            Case {
                gate: Gate::Receive,
                s: &s,
                item: None,
                lot: None,
                expected: &[],
                verdict: "reject",
                codes: &["unknown_item"],
                notes: &[],
            },
            Case {
                gate: Gate::Pick,
                s: &s,
                item: None,
                lot: None,
                expected: &[],
                verdict: "reject",
                codes: &["unknown_item"],
                notes: &[],
            },
            Case {
                gate: Gate::Receive,
                s: &s,
                item: Some(&it),
                lot: None,
                expected: &[],
                verdict: "accept",
                codes: &[],
                notes: &["new_lot"],
            },
            Case {
                gate: Gate::Pick,
                s: &s,
                item: Some(&it),
                lot: None,
                expected: &[],
                verdict: "reject",
                codes: &["unknown_lot"],
                notes: &[],
            },
            Case {
                gate: Gate::Count,
                s: &s,
                item: Some(&it),
                lot: None,
                expected: &[],
                verdict: "warn",
                codes: &["unknown_lot"],
                notes: &[],
            },
            Case {
                gate: Gate::Pick,
                s: &s,
                item: Some(&it),
                lot: Some(&l),
                expected: &both_other,
                verdict: "reject",
                codes: &["wrong_item"],
                notes: &[],
            },
            Case {
                gate: Gate::Pick,
                s: &s,
                item: Some(&it),
                lot: Some(&l),
                expected: &both,
                verdict: "accept",
                codes: &[],
                notes: &[],
            },
            Case {
                gate: Gate::Pick,
                s: &no_lot,
                item: Some(&it),
                lot: None,
                expected: &[],
                verdict: "reject",
                codes: &["missing_lot"],
                notes: &[],
            },
            Case {
                gate: Gate::Receive,
                s: &new_no_expiry,
                item: Some(&it),
                lot: None,
                expected: &[],
                verdict: "warn",
                codes: &["missing_expiry"],
                notes: &["new_lot"],
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let facts = Facts {
                scanned: c.s,
                item: c.item,
                lot: c.lot,
                expected_items: c.expected,
                customer: None,
                fefo: None,
            };
            let e = evaluate(c.gate, &facts, d(TODAY));
            assert_eq!(e.verdict.as_str(), c.verdict, "case {i}: {e:?}");
            assert_eq!(codes(&e), c.codes, "case {i}");
            assert_eq!(note_codes(&e), c.notes, "case {i}");
        }
    }

    #[test]
    fn new_lot_at_receipt_follows_the_item_qc_flag_and_label_expiry() {
        let mut it = item("I1");
        it.requires_qc = true;
        let s = scanned(Some("N1"), Some("2026-11-10"));
        let facts = Facts {
            scanned: &s,
            item: Some(&it),
            lot: None,
            expected_items: &[],
            customer: None,
            fefo: None,
        };
        let e = evaluate(Gate::Receive, &facts, d(TODAY));
        assert_eq!(codes(&e), ["expired"]);
        assert_eq!(
            e.notes,
            [Reason::NewLot {
                lot: "N1".into(),
                to_quarantine: true
            }]
        );
    }

    #[test]
    fn label_and_record_disagree_uses_the_earlier_expiry() {
        let it = item("I1");
        let l = lot("L1", "2027-11-21", LotStatus::Released);
        let s = scanned(Some("L1"), Some("2026-12-01"));
        let facts = Facts {
            scanned: &s,
            item: Some(&it),
            lot: Some(&l),
            expected_items: &[],
            customer: None,
            fefo: None,
        };
        let e = evaluate(Gate::Pick, &facts, d(TODAY));
        assert_eq!(codes(&e), ["expiry_mismatch", "near_expiry"]);
    }
}
