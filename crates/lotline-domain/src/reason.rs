//! Reasons behind a verdict: a stable code plus the data to explain it in English and Chinese.
//!
//! Codes are part of the public contract (README, `lotline check` output, the audit log):
//! add new ones, never rename.

use chrono::NaiveDate;

use super::text::Text;

/// Why a scan was warned about or rejected, or an informational note on an accepted scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Expired {
        lot: String,
        expiry: NaiveDate,
        days_ago: i64,
    },
    NearExpiry {
        lot: String,
        expiry: NaiveDate,
        days_left: i64,
        tier: u32,
    },
    BelowMinShelfLifeReceipt {
        lot: String,
        days_left: i64,
        min_days: i64,
        min_percent: Option<u8>,
        percent_left: Option<u8>,
    },
    BelowMinShelfLifeCustomer {
        lot: String,
        days_left: i64,
        min_days: u32,
        customer: String,
    },
    Quarantined {
        lot: String,
    },
    OnHold {
        lot: String,
    },
    Recalled {
        lot: String,
    },
    RejectedLot {
        lot: String,
    },
    /// Items are named in both languages (`Text`), so each message names them in its own.
    WrongItem {
        scanned: Text,
        expected: Text,
    },
    UnknownItem {
        code: String,
    },
    UnknownLot {
        lot: String,
        item: Text,
    },
    FefoViolation {
        lot: String,
        earlier_lot: String,
        earlier_expiry: NaiveDate,
        location: String,
    },
    InvalidBarcode {
        raw: String,
        detail: String,
    },
    MissingLot {
        item: Text,
    },
    MissingExpiry {
        lot: String,
    },
    ExpiryMismatch {
        lot: String,
        scanned: NaiveDate,
        recorded: NaiveDate,
    },
    NotAnItem {
        raw: String,
        what: String,
    },
    /// Info: a lot not yet in the cache will be created by this receipt.
    NewLot {
        lot: String,
        to_quarantine: bool,
    },
    /// Info: the received stock goes to quarantine until QC releases the lot.
    ToQuarantine {
        lot: String,
    },
    /// More than the ASN line allows (its quantity plus the task's tolerance).
    OverReceipt {
        item: Text,
        expected: u32,
        received: u32,
        max: u32,
    },
    /// Less than the ASN line needs (its quantity less the task's tolerance) when the task ends.
    UnderReceipt {
        item: Text,
        expected: u32,
        received: u32,
        min: u32,
    },
    /// An SSCC the receipt's ASN does not list.
    SsccNotOnAsn {
        sscc: String,
        task: String,
    },
    /// An SSCC scanned in a blind receipt (no ASN says what the pallet holds).
    SsccWithoutAsn {
        sscc: String,
    },
    /// Every line under this SSCC is already received.
    SsccReceived {
        sscc: String,
    },
    UnknownLocation {
        code: String,
    },
    /// Quarantined stock may only go to a quarantine location.
    QuarantineLocationRequired {
        lot: String,
        location: String,
    },
    /// Released stock does not go to quarantine, receiving or shipping locations.
    WrongLocationKind {
        location: String,
        kind: String,
    },
    /// The item's storage condition differs from the location's.
    StorageMismatch {
        item: Text,
        needs: String,
        location: String,
        has: String,
    },
    /// Pick: not the location the line is picked from.
    WrongLocation {
        scanned: String,
        expected: String,
    },
    /// Pick: not the lot the line names (or, at the second check, not the lot picked).
    WrongLot {
        scanned: String,
        expected: String,
    },
    /// Pick: the lot has no stock at the scanned location.
    NotInLocation {
        lot: String,
        location: String,
    },
    /// A serial number the serial registry does not know for this item.
    UnknownSerial {
        serial: String,
    },
    /// A serial registered to another lot than the one being picked.
    SerialOtherLot {
        serial: String,
        lot: String,
        picked_lot: String,
    },
    /// A serial already picked (on this task or before).
    SerialAlreadyPicked {
        serial: String,
    },
}

/// Why an operator picks against FEFO: (code, English, Chinese). Stored by code.
pub const FEFO_OVERRIDE_REASONS: [(&str, &str, &str); 4] = [
    ("customer_request", "Customer asked for this lot", "客户指定此批次"),
    ("earlier_lot_damaged", "Earlier lot damaged", "较早批次破损"),
    (
        "earlier_lot_unreachable",
        "Earlier lot cannot be reached",
        "较早批次无法取用",
    ),
    ("supervisor", "Supervisor's instruction", "主管指示"),
];

/// A location kind in Chinese.
pub fn location_kind_zh(kind: &str) -> &str {
    match kind {
        "pick" => "拣货",
        "reserve" => "存储",
        "receiving" => "收货",
        "quarantine" => "隔离",
        "shipping" => "发货",
        other => other,
    }
}

/// A storage condition in Chinese.
pub fn storage_zh(s: &str) -> &str {
    match s {
        "ambient" => "常温",
        "chilled" => "冷藏",
        "frozen" => "冷冻",
        other => other,
    }
}

impl Reason {
    /// True for warnings the operator may only go past by giving a reason.
    pub fn needs_override_reason(&self) -> bool {
        matches!(self, Reason::FefoViolation { .. })
    }
}

fn days_en(n: i64) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

impl Reason {
    /// The stable, documented code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Expired { .. } => "expired",
            Reason::NearExpiry { .. } => "near_expiry",
            Reason::BelowMinShelfLifeReceipt { .. } | Reason::BelowMinShelfLifeCustomer { .. } => {
                "below_min_shelf_life"
            }
            Reason::Quarantined { .. } => "quarantined",
            Reason::OnHold { .. } => "on_hold",
            Reason::Recalled { .. } => "recalled",
            Reason::RejectedLot { .. } => "rejected_lot",
            Reason::WrongItem { .. } => "wrong_item",
            Reason::UnknownItem { .. } => "unknown_item",
            Reason::UnknownLot { .. } => "unknown_lot",
            Reason::FefoViolation { .. } => "fefo_violation",
            Reason::InvalidBarcode { .. } => "invalid_barcode",
            Reason::MissingLot { .. } => "missing_lot",
            Reason::MissingExpiry { .. } => "missing_expiry",
            Reason::ExpiryMismatch { .. } => "expiry_mismatch",
            Reason::NotAnItem { .. } => "not_an_item",
            Reason::NewLot { .. } => "new_lot",
            Reason::ToQuarantine { .. } => "to_quarantine",
            Reason::OverReceipt { .. } => "over_receipt",
            Reason::UnderReceipt { .. } => "under_receipt",
            Reason::SsccNotOnAsn { .. } => "sscc_not_on_asn",
            Reason::SsccWithoutAsn { .. } => "sscc_without_asn",
            Reason::SsccReceived { .. } => "sscc_received",
            Reason::UnknownLocation { .. } => "unknown_location",
            Reason::QuarantineLocationRequired { .. } => "quarantine_location_required",
            Reason::WrongLocationKind { .. } => "wrong_location_kind",
            Reason::StorageMismatch { .. } => "storage_mismatch",
            Reason::WrongLocation { .. } => "wrong_location",
            Reason::WrongLot { .. } => "wrong_lot",
            Reason::NotInLocation { .. } => "not_in_location",
            Reason::UnknownSerial { .. } => "unknown_serial",
            Reason::SerialOtherLot { .. } => "serial_other_lot",
            Reason::SerialAlreadyPicked { .. } => "serial_already_picked",
        }
    }

    /// Every code this build can emit, for documentation and tests.
    pub const CODES: [&'static str; 33] = [
        "expired",
        "near_expiry",
        "below_min_shelf_life",
        "quarantined",
        "on_hold",
        "recalled",
        "rejected_lot",
        "wrong_item",
        "unknown_item",
        "unknown_lot",
        "fefo_violation",
        "invalid_barcode",
        "missing_lot",
        "missing_expiry",
        "expiry_mismatch",
        "not_an_item",
        "new_lot",
        "to_quarantine",
        "over_receipt",
        "under_receipt",
        "sscc_not_on_asn",
        "sscc_without_asn",
        "sscc_received",
        "unknown_location",
        "quarantine_location_required",
        "wrong_location_kind",
        "storage_mismatch",
        "wrong_location",
        "wrong_lot",
        "not_in_location",
        "unknown_serial",
        "serial_other_lot",
        "serial_already_picked",
    ];

    pub fn message_en(&self) -> String {
        match self {
            Reason::Expired { lot, expiry, days_ago } => {
                if *days_ago == 0 {
                    format!("Lot {lot} expired today ({expiry})")
                } else {
                    format!("Lot {lot} expired {} ago ({expiry})", days_en(*days_ago))
                }
            }
            Reason::NearExpiry {
                lot,
                expiry,
                days_left,
                tier,
            } => match days_left {
                0 => format!("Lot {lot} expires today ({expiry}), {tier}-day warning"),
                n => format!("Lot {lot} expires in {} ({expiry}), {tier}-day warning", days_en(*n)),
            },
            Reason::BelowMinShelfLifeReceipt {
                lot,
                days_left,
                min_days,
                min_percent,
                percent_left,
            } => match (min_percent, percent_left) {
                (Some(p), Some(left)) => format!(
                    "Lot {lot} has {left}% of its shelf life left ({}); receipt needs at least {p}%",
                    days_en(*days_left)
                ),
                _ => format!(
                    "Lot {lot} has {} of shelf life left; receipt needs at least {}",
                    days_en(*days_left),
                    days_en(*min_days)
                ),
            },
            Reason::BelowMinShelfLifeCustomer {
                lot,
                days_left,
                min_days,
                customer,
            } => format!(
                "Lot {lot} has {} left; customer {customer} needs at least {}",
                days_en(*days_left),
                days_en(i64::from(*min_days))
            ),
            Reason::Quarantined { lot } => format!("Lot {lot} is in quarantine, awaiting QC release"),
            Reason::OnHold { lot } => format!("Lot {lot} is on hold"),
            Reason::Recalled { lot } => format!("Lot {lot} is recalled: do not ship, move it to the recall area"),
            Reason::RejectedLot { lot } => format!("Lot {lot} was rejected by QC"),
            Reason::WrongItem { scanned, expected } => {
                format!("Wrong item: scanned {}, this task needs {}", scanned.en, expected.en)
            }
            Reason::UnknownItem { code } => format!("Unknown item: {code} is not in the local catalogue"),
            Reason::UnknownLot { lot, item } => format!("Lot {lot} of {} is not known here", item.en),
            Reason::FefoViolation {
                lot,
                earlier_lot,
                earlier_expiry,
                location,
            } => format!(
                "FEFO: lot {earlier_lot} expires earlier ({earlier_expiry}) at {location}; give a reason to pick {lot}"
            ),
            Reason::InvalidBarcode { raw, detail } => format!("Unreadable barcode: {detail}. Scanned: {raw}"),
            Reason::MissingLot { item } => {
                format!("No lot number in this scan of {}: scan the label with the lot", item.en)
            }
            Reason::MissingExpiry { lot } => format!("New lot {lot} has no expiry date in the scan: check the label"),
            Reason::ExpiryMismatch { lot, scanned, recorded } => {
                format!("Lot {lot}: label says expiry {scanned}, records say {recorded}")
            }
            Reason::NotAnItem { raw, what } => format!("{what} scanned ({raw}): scan the item label"),
            Reason::NewLot {
                lot,
                to_quarantine: true,
            } => format!("New lot {lot}: goes to quarantine until QC release"),
            Reason::NewLot {
                lot,
                to_quarantine: false,
            } => format!("New lot {lot} will be created"),
            Reason::ToQuarantine { lot } => format!("Lot {lot} awaits QC: received stock goes to quarantine"),
            Reason::OverReceipt {
                item,
                expected,
                received,
                max,
            } => format!(
                "Over-receipt of {}: {received} received against {expected} expected (at most {max} with the tolerance); a supervisor must authorise",
                item.en
            ),
            Reason::UnderReceipt {
                item,
                expected,
                received,
                min,
            } => format!(
                "Short receipt of {}: {received} received against {expected} expected (at least {min} with the tolerance)",
                item.en
            ),
            Reason::SsccNotOnAsn { sscc, task } => {
                format!("Pallet {sscc} is not on {task}: check the delivery, or scan the goods' own labels")
            }
            Reason::SsccWithoutAsn { sscc } => format!(
                "Pallet {sscc} scanned in a blind receipt: without an ASN nothing says what it holds; scan the goods' own labels"
            ),
            Reason::SsccReceived { sscc } => format!("Pallet {sscc} is already received"),
            Reason::UnknownLocation { code } => format!("Unknown location: {code} is not in the local location list"),
            Reason::QuarantineLocationRequired { lot, location } => {
                format!("Lot {lot} is in quarantine: it may only go to a quarantine location, not {location}")
            }
            Reason::WrongLocationKind { location, kind } => {
                format!("Location {location} is a {kind} location: put released stock in a pick or reserve location")
            }
            Reason::StorageMismatch {
                item,
                needs,
                location,
                has,
            } => format!("{} must be stored {needs}; location {location} is {has}", item.en),
            Reason::WrongLocation { scanned, expected } => {
                format!("Wrong location: scanned {scanned}, pick this line from {expected}")
            }
            Reason::WrongLot { scanned, expected } => format!("Wrong lot: scanned {scanned}, expected lot {expected}"),
            Reason::NotInLocation { lot, location } => {
                format!("Lot {lot} has no stock at {location}: scan the lot that is there, or another location")
            }
            Reason::UnknownSerial { serial } => {
                format!("Serial {serial} is not in the serial registry: set this unit aside and report it")
            }
            Reason::SerialOtherLot {
                serial,
                lot,
                picked_lot,
            } => format!("Serial {serial} belongs to lot {lot}, not to lot {picked_lot} being picked"),
            Reason::SerialAlreadyPicked { serial } => format!("Serial {serial} has already been picked"),
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            Reason::Expired { lot, expiry, days_ago } => {
                if *days_ago == 0 {
                    format!("批次 {lot} 今天已过期({expiry})")
                } else {
                    format!("批次 {lot} 已过期 {days_ago} 天({expiry})")
                }
            }
            Reason::NearExpiry {
                lot,
                expiry,
                days_left,
                tier,
            } => match days_left {
                0 => format!("批次 {lot} 今天到期({expiry}),{tier} 天临期预警"),
                n => format!("批次 {lot} 还有 {n} 天到期({expiry}),{tier} 天临期预警"),
            },
            Reason::BelowMinShelfLifeReceipt {
                lot,
                days_left,
                min_days,
                min_percent,
                percent_left,
            } => match (min_percent, percent_left) {
                (Some(p), Some(left)) => {
                    format!("批次 {lot} 剩余保质期 {left}%({days_left} 天),收货要求至少 {p}%")
                }
                _ => format!("批次 {lot} 剩余保质期 {days_left} 天,收货要求至少 {min_days} 天"),
            },
            Reason::BelowMinShelfLifeCustomer {
                lot,
                days_left,
                min_days,
                customer,
            } => {
                format!("批次 {lot} 剩余 {days_left} 天,客户 {customer} 要求至少 {min_days} 天")
            }
            Reason::Quarantined { lot } => format!("批次 {lot} 处于待检隔离,尚未质检放行"),
            Reason::OnHold { lot } => format!("批次 {lot} 已冻结"),
            Reason::Recalled { lot } => format!("批次 {lot} 已召回:禁止发货,请移至召回区"),
            Reason::RejectedLot { lot } => format!("批次 {lot} 质检不合格"),
            Reason::WrongItem { scanned, expected } => {
                format!("商品错误:扫描的是 {},本任务需要 {}", scanned.zh, expected.zh)
            }
            Reason::UnknownItem { code } => format!("未知商品:{code} 不在本地商品库中"),
            Reason::UnknownLot { lot, item } => format!("{} 的批次 {lot} 在本地不存在", item.zh),
            Reason::FefoViolation {
                lot,
                earlier_lot,
                earlier_expiry,
                location,
            } => {
                format!("先到期先出:批次 {earlier_lot} 更早到期({earlier_expiry}),在 {location};拣选 {lot} 需填写原因")
            }
            Reason::InvalidBarcode { raw, detail } => format!("无法识别的条码:{detail}。扫描内容:{raw}"),
            Reason::MissingLot { item } => format!("{} 的扫描中没有批号:请扫描带批号的标签", item.zh),
            Reason::MissingExpiry { lot } => format!("新批次 {lot} 的扫描中没有有效期:请核对标签"),
            Reason::ExpiryMismatch { lot, scanned, recorded } => {
                format!("批次 {lot}:标签有效期 {scanned},系统记录 {recorded}")
            }
            Reason::NotAnItem { raw, what } => format!("扫描的是{}({raw}):请扫描商品标签", what_zh(what)),
            Reason::NewLot {
                lot,
                to_quarantine: true,
            } => format!("新批次 {lot}:待质检放行前进入隔离区"),
            Reason::NewLot {
                lot,
                to_quarantine: false,
            } => format!("将新建批次 {lot}"),
            Reason::ToQuarantine { lot } => format!("批次 {lot} 待检:收货库存进入隔离区"),
            Reason::OverReceipt {
                item,
                expected,
                received,
                max,
            } => format!(
                "{} 超收:应收 {expected},实收 {received}(含容差最多 {max});须主管授权",
                item.zh
            ),
            Reason::UnderReceipt {
                item,
                expected,
                received,
                min,
            } => format!("{} 短收:应收 {expected},实收 {received}(含容差至少 {min})", item.zh),
            Reason::SsccNotOnAsn { sscc, task } => {
                format!("托盘 {sscc} 不在 {task} 上:请核对到货,或扫描货物自身的标签")
            }
            Reason::SsccWithoutAsn { sscc } => {
                format!("盲收时扫描了托盘 {sscc}:没有到货通知,无法得知托盘内容;请扫描货物自身的标签")
            }
            Reason::SsccReceived { sscc } => format!("托盘 {sscc} 已收货"),
            Reason::UnknownLocation { code } => format!("未知库位:{code} 不在本机库位表中"),
            Reason::QuarantineLocationRequired { lot, location } => {
                format!("批次 {lot} 处于隔离状态:只能放入隔离库位,不能放入 {location}")
            }
            Reason::WrongLocationKind { location, kind } => {
                format!(
                    "库位 {location} 是{}库位:已放行的库存请放入拣货或存储库位",
                    location_kind_zh(kind)
                )
            }
            Reason::StorageMismatch {
                item,
                needs,
                location,
                has,
            } => {
                format!(
                    "{} 须{}存放;库位 {location} 为{}",
                    item.zh,
                    storage_zh(needs),
                    storage_zh(has)
                )
            }
            Reason::WrongLocation { scanned, expected } => {
                format!("库位错误:扫描的是 {scanned},本行应从 {expected} 拣货")
            }
            Reason::WrongLot { scanned, expected } => format!("批次错误:扫描的是 {scanned},应为批次 {expected}"),
            Reason::NotInLocation { lot, location } => {
                format!("批次 {lot} 在 {location} 没有库存:请扫描该库位上的批次,或换一个库位")
            }
            Reason::UnknownSerial { serial } => format!("序列号 {serial} 不在序列号登记中:请将此件放在一边并上报"),
            Reason::SerialOtherLot {
                serial,
                lot,
                picked_lot,
            } => format!("序列号 {serial} 属于批次 {lot},不是正在拣货的批次 {picked_lot}"),
            Reason::SerialAlreadyPicked { serial } => format!("序列号 {serial} 已被拣过"),
        }
    }
}

fn what_zh(what: &str) -> &'static str {
    match what {
        "SSCC pallet label" => "托盘 SSCC 标签",
        "Location label" => "库位标签",
        _ => "非商品条码",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn messages_in_both_languages() {
        let cases: Vec<(Reason, &str, &str, &str)> = vec![
            (
                Reason::Expired {
                    lot: "L2311".into(),
                    expiry: d("2026-11-18"),
                    days_ago: 3,
                },
                "expired",
                "Lot L2311 expired 3 days ago (2026-11-18)",
                "批次 L2311 已过期 3 天(2026-11-18)",
            ),
            (
                Reason::Expired {
                    lot: "L1".into(),
                    expiry: d("2026-11-20"),
                    days_ago: 1,
                },
                "expired",
                "Lot L1 expired 1 day ago (2026-11-20)",
                "批次 L1 已过期 1 天(2026-11-20)",
            ),
            (
                Reason::NearExpiry {
                    lot: "A7".into(),
                    expiry: d("2026-11-26"),
                    days_left: 5,
                    tier: 7,
                },
                "near_expiry",
                "Lot A7 expires in 5 days (2026-11-26), 7-day warning",
                "批次 A7 还有 5 天到期(2026-11-26),7 天临期预警",
            ),
            (
                Reason::BelowMinShelfLifeCustomer {
                    lot: "B2".into(),
                    days_left: 40,
                    min_days: 90,
                    customer: "Huamei".into(),
                },
                "below_min_shelf_life",
                "Lot B2 has 40 days left; customer Huamei needs at least 90 days",
                "批次 B2 剩余 40 天,客户 Huamei 要求至少 90 天",
            ),
            (
                Reason::Recalled { lot: "R9".into() },
                "recalled",
                "Lot R9 is recalled: do not ship, move it to the recall area",
                "批次 R9 已召回:禁止发货,请移至召回区",
            ),
        ];
        for (reason, code, en, zh) in cases {
            assert_eq!(reason.code(), code);
            assert_eq!(reason.message_en(), en);
            assert_eq!(reason.message_zh(), zh);
        }
    }

    #[test]
    fn every_code_is_listed() {
        let samples = [
            Reason::Quarantined { lot: "x".into() },
            Reason::OnHold { lot: "x".into() },
            Reason::RejectedLot { lot: "x".into() },
            Reason::UnknownItem { code: "x".into() },
            Reason::MissingExpiry { lot: "x".into() },
            Reason::NewLot {
                lot: "x".into(),
                to_quarantine: true,
            },
        ];
        for r in samples {
            assert!(Reason::CODES.contains(&r.code()), "{}", r.code());
        }
    }
}
