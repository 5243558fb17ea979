//! `lotline demo-data`: a realistic cache for trying lotline and for benchmarks — food,
//! pharmaceutical and medical-device items with Chinese and English names, valid GTINs, lots
//! spread across expired / near-expiry / quarantined / on-hold / recalled, two warehouses,
//! stock, customers, pick and count tasks, receipt tasks (ASNs) with SSCC pallets, and an
//! operator for every role. A handful of named showcase lots give predictable verdicts, and the
//! pick and count tasks are built on named lots of their own (`TASK_LOTS`).

use chrono::{Days, NaiveDate};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rusqlite::params;
use serde::Serialize;

use super::pin::hash_pin;
use super::{Store, StoreError, classify};
use crate::domain::ids::gs1_check_digit;
use crate::domain::lot::LotStatus;

/// (id, name_en, name_zh, category, shelf life days, min receipt days, min receipt %, qc, serialized, regulated, storage)
type ItemSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u32,
    Option<u32>,
    Option<u8>,
    bool,
    bool,
    bool,
    &'static str,
);

const ITEMS: &[ItemSpec] = &[
    (
        "F001",
        "Whole milk powder 900 g",
        "全脂奶粉 900克",
        "food",
        540,
        None,
        Some(67),
        false,
        false,
        false,
        "ambient",
    ),
    (
        "F002",
        "UHT milk 250 ml x 24",
        "纯牛奶 250毫升×24盒",
        "food",
        180,
        Some(60),
        None,
        false,
        false,
        false,
        "ambient",
    ),
    (
        "F003",
        "Frozen pork dumplings 1 kg",
        "速冻猪肉水饺 1千克",
        "frozen_food",
        365,
        Some(120),
        None,
        false,
        false,
        false,
        "frozen",
    ),
    (
        "F004",
        "Fresh yoghurt 200 g",
        "鲜酸奶 200克",
        "fresh_dairy",
        21,
        Some(10),
        None,
        false,
        false,
        false,
        "chilled",
    ),
    (
        "F005",
        "Instant noodles 5-pack",
        "方便面 五连包",
        "food",
        180,
        Some(45),
        None,
        false,
        false,
        false,
        "ambient",
    ),
    (
        "F006",
        "Infant formula stage 1 800 g",
        "婴儿配方奶粉 1段 800克",
        "food",
        720,
        None,
        Some(67),
        true,
        false,
        true,
        "ambient",
    ),
    (
        "F007",
        "Peanut oil 5 L",
        "压榨花生油 5升",
        "food",
        540,
        Some(90),
        None,
        false,
        false,
        false,
        "ambient",
    ),
    (
        "F008",
        "Jasmine rice 10 kg",
        "茉莉香米 10千克",
        "food",
        365,
        Some(90),
        None,
        false,
        false,
        false,
        "ambient",
    ),
    (
        "F009",
        "Canned yellow peaches 425 g",
        "黄桃罐头 425克",
        "food",
        730,
        Some(180),
        None,
        false,
        false,
        false,
        "ambient",
    ),
    (
        "F010",
        "Green tea 250 g",
        "西湖龙井绿茶 250克",
        "food",
        540,
        Some(120),
        None,
        false,
        false,
        false,
        "ambient",
    ),
    (
        "P001",
        "Amoxicillin capsules 0.25 g x 24",
        "阿莫西林胶囊 0.25克×24粒",
        "pharma",
        730,
        Some(180),
        None,
        true,
        false,
        true,
        "ambient",
    ),
    (
        "P002",
        "Ibuprofen tablets 0.2 g x 20",
        "布洛芬片 0.2克×20片",
        "pharma",
        1095,
        Some(180),
        None,
        true,
        false,
        true,
        "ambient",
    ),
    (
        "P003",
        "Insulin glargine pen 3 ml",
        "甘精胰岛素注射液 3毫升",
        "pharma",
        730,
        Some(180),
        None,
        true,
        true,
        true,
        "chilled",
    ),
    (
        "P004",
        "Paracetamol tablets 0.5 g x 20",
        "对乙酰氨基酚片 0.5克×20片",
        "pharma",
        1095,
        Some(180),
        None,
        true,
        false,
        true,
        "ambient",
    ),
    (
        "P005",
        "Vitamin C tablets 100 mg x 100",
        "维生素C片 100毫克×100片",
        "pharma",
        730,
        Some(120),
        None,
        true,
        false,
        false,
        "ambient",
    ),
    (
        "P006",
        "Azithromycin tablets 0.25 g x 6",
        "阿奇霉素片 0.25克×6片",
        "pharma",
        1095,
        Some(180),
        None,
        true,
        false,
        true,
        "ambient",
    ),
    (
        "P007",
        "Compound licorice tablets x 100",
        "复方甘草片×100片",
        "pharma",
        1095,
        Some(180),
        None,
        true,
        false,
        true,
        "ambient",
    ),
    (
        "P008",
        "Sodium chloride infusion 0.9% 500 ml",
        "氯化钠注射液 0.9% 500毫升",
        "pharma",
        1095,
        Some(180),
        None,
        true,
        false,
        true,
        "ambient",
    ),
    (
        "M001",
        "Sterile syringe 5 ml",
        "一次性使用无菌注射器 5毫升",
        "device",
        1095,
        Some(180),
        None,
        false,
        false,
        true,
        "ambient",
    ),
    (
        "M002",
        "Surgical masks, box of 50",
        "医用外科口罩 50只装",
        "device",
        730,
        Some(180),
        None,
        false,
        false,
        true,
        "ambient",
    ),
    (
        "M003",
        "Nitrile exam gloves M, 100",
        "丁腈检查手套 M号 100只",
        "device",
        1825,
        Some(365),
        None,
        false,
        false,
        false,
        "ambient",
    ),
    (
        "M004",
        "IV infusion set",
        "一次性使用输液器",
        "device",
        1095,
        Some(180),
        None,
        false,
        false,
        true,
        "ambient",
    ),
    (
        "M005",
        "Blood glucose test strips, 50",
        "血糖试纸 50片",
        "device",
        540,
        Some(120),
        None,
        true,
        false,
        true,
        "ambient",
    ),
    (
        "M006",
        "Sterile gauze 10 x 10 cm",
        "无菌纱布块 10×10厘米",
        "device",
        1095,
        Some(180),
        None,
        false,
        false,
        false,
        "ambient",
    ),
    (
        "M007",
        "Digital thermometer",
        "电子体温计",
        "device",
        1825,
        None,
        None,
        false,
        true,
        true,
        "ambient",
    ),
    (
        "M008",
        "Coronary stent 3.0 x 18 mm",
        "冠脉支架 3.0×18毫米",
        "device",
        1095,
        Some(365),
        None,
        true,
        true,
        true,
        "ambient",
    ),
];

const CATEGORIES: &[(&str, &str)] = &[
    ("food", "60,30,7"),
    ("frozen_food", "90,30"),
    ("fresh_dairy", "7,3,1"),
    ("pharma", "180,90,30"),
    ("device", "180,90,30"),
];

const CUSTOMERS: &[(&str, &str, Option<u32>)] = &[
    ("C001", "Huamei Pharmacy Chain 华美连锁药房", Some(180)),
    ("C002", "Fresh Mart 鲜生超市", Some(30)),
    ("C003", "City No.1 Hospital 市第一人民医院", Some(365)),
    ("C004", "Northern Wholesale 北方批发", None),
];

/// Items' own near-expiry tiers, overriding their category's: the pharmacy chain wants a year's
/// warning on ibuprofen (so PK-0001's suggested lot is near expiry yet long enough for it).
const ITEM_TIERS: &[(&str, &str)] = &[("P002", "365,180,90")];

/// How far a count of the item may be off before it asks for a recount: units or a percentage
/// of the expected quantity (items not listed: 0, every difference is recounted).
const COUNT_TOLERANCES: &[(&str, &str)] = &[("F002", "2"), ("F009", "2"), ("M003", "5%"), ("M006", "5%")];

/// The demo's operators: (id, name, PIN, roles). README lists them; PINs are stored hashed.
pub const OPERATORS: &[(&str, &str, &str, &[&str])] = &[
    ("recv1", "Receiver 1 收货员 1", "1111", &["receiver"]),
    ("pick1", "Picker 1 拣货员 1", "2222", &["picker"]),
    ("check1", "Checker 1 复核员 1", "3333", &["checker"]),
    ("count1", "Counter 1 盘点员 1", "4444", &["counter"]),
    // A recount is made by another counter than the first count.
    ("count2", "Counter 2 盘点员 2", "5555", &["counter"]),
    (
        "super1",
        "Supervisor 1 主管 1",
        "9999",
        &["receiver", "picker", "checker", "counter", "supervisor"],
    ),
];

/// A line of a demo ASN: item, lot, expiry in days from today, pallet (`demo_sscc(n)`), qty.
type AsnLine = (&'static str, Option<&'static str>, Option<i64>, Option<u32>, i64);

/// Receipt tasks as a supplier's advance shipping notice gives them: (id, reference, tolerance %,
/// receiving dock, lines). Their lots are new (not in the cache), so receiving them creates them.
const ASNS: &[(&str, &str, u8, &str, &[AsnLine])] = &[
    (
        "ASN-0001",
        "PO-24-0117",
        5,
        "WH1-R-01-03",
        &[
            // Pallet 1: two lots of instant noodles.
            ("F005", Some("N2611"), Some(150), Some(1), 200),
            ("F005", Some("N2612"), Some(165), Some(1), 100),
            // Pallet 2: one lot of rice.
            ("F008", Some("R2611"), Some(340), Some(2), 60),
            // Loose cartons, no ASN detail: received by scanning the goods.
            ("M003", None, None, None, 40),
        ],
    ),
    (
        "ASN-0002",
        "PO-24-0118",
        0,
        "WH1-R-01-04",
        &[
            // Pallet 3: a regulated device and a medicine that requires QC (its lot goes to quarantine).
            ("M002", Some("K2611"), Some(700), Some(3), 100),
            ("P005", Some("V2611"), Some(700), Some(3), 60),
            // Pallet 4: chilled yoghurt.
            ("F004", Some("Y1204"), Some(19), Some(4), 96),
        ],
    ),
];

/// The SSCC of demo pallet `n`: extension digit 0, the demo's GS1 company prefix 690123450, a
/// seven-digit serial reference, check digit.
pub fn demo_sscc(n: u32) -> String {
    let body = format!("0690123450{n:07}");
    let check = gs1_check_digit(body.as_bytes());
    format!("{body}{check}")
}

/// Serial-numbered units written for each showcase lot (serials 101–104, 201–204, …).
pub const SERIALS_PER_SHOWCASE_LOT: usize = 4;

/// How many demo items there are (their GTINs are `demo_gtin(0..n)`).
pub fn demo_item_count() -> usize {
    ITEMS.len()
}

/// The GTIN-14 of a demo item: Chinese GS1 prefix 690, company 12345, item reference, check digit.
pub fn demo_gtin(item_index: usize) -> String {
    let body = format!("0690123450{:03}", item_index + 1);
    let check = gs1_check_digit(body.as_bytes());
    format!("{body}{check}")
}

/// A ready-made scan and what it demonstrates, stored so the app and README can offer it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct DemoScan {
    pub label_en: String,
    pub label_zh: String,
    pub gate: String,
    pub scan: String,
}

/// What `demo-data` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub items: usize,
    pub lots: usize,
    pub stock_rows: usize,
    pub locations: usize,
    pub customers: usize,
    pub tasks: usize,
    pub operators: usize,
    pub scans: Vec<DemoScan>,
}

struct DemoLot {
    item: &'static str,
    lot: &'static str,
    expiry_offset: i64,
    status: LotStatus,
    location: &'static str,
    qty: i64,
}

/// Named lots whose verdicts are predictable on the day the demo data is generated.
const SHOWCASE: &[DemoLot] = &[
    DemoLot {
        item: "F001",
        lot: "L2311",
        expiry_offset: -3,
        status: LotStatus::Released,
        location: "WH1-A-01-01",
        qty: 40,
    },
    DemoLot {
        item: "F001",
        lot: "L2402",
        expiry_offset: 25,
        status: LotStatus::Released,
        location: "WH1-A-01-02",
        qty: 120,
    },
    DemoLot {
        item: "F001",
        lot: "L2405",
        expiry_offset: 400,
        status: LotStatus::Released,
        location: "WH1-A-01-03",
        qty: 300,
    },
    DemoLot {
        item: "P001",
        lot: "A2501",
        expiry_offset: 500,
        status: LotStatus::Quarantine,
        location: "WH1-Q-01-01",
        qty: 200,
    },
    DemoLot {
        item: "P001",
        lot: "A2502",
        expiry_offset: 420,
        status: LotStatus::Recalled,
        location: "WH1-Q-01-02",
        qty: 60,
    },
    DemoLot {
        item: "P001",
        lot: "A2503",
        expiry_offset: 600,
        status: LotStatus::Released,
        location: "WH1-A-02-01",
        qty: 480,
    },
    DemoLot {
        item: "M001",
        lot: "S240601",
        expiry_offset: 700,
        status: LotStatus::Released,
        location: "WH1-A-03-01",
        qty: 1000,
    },
    DemoLot {
        item: "M001",
        lot: "S240115",
        expiry_offset: 650,
        status: LotStatus::OnHold,
        location: "WH1-B-01-01",
        qty: 500,
    },
    DemoLot {
        item: "F004",
        lot: "Y1120",
        expiry_offset: 5,
        status: LotStatus::Released,
        location: "WH1-C-01-01",
        qty: 48,
    },
];

/// The lots the pick and count tasks are built on (beyond the showcase lots), dates relative to
/// the day the demo data is made:
/// - PK-0001 (Huamei Pharmacy, at least 180 days left): ibuprofen P002 has B2503 (120 days) and
///   B2509 (300 days, near expiry by P002's 365-day tier) in pick locations: FEFO alone suggests
///   B2503, the customer's minimum B2509. Insulin P003 (serialised, chilled) lot I2507: every pen
///   is in the serial registry.
/// - PK-0002 (Fresh Mart, at least 30 days): UHT milk F002 U2501 (45 days: near expiry, pickable)
///   and U2505.
/// - CC-0001 counts WH1-A-01-03 (F001 L2405 and F002 U2505), WH1-A-05-02 (gauze M006, one lot on
///   hold) and WH1-A-05-03 (paracetamol P004, one lot expired); CC-0002 counts WH1-A-06-01, four
///   RFID-tagged thermometers (M007).
const TASK_LOTS: &[DemoLot] = &[
    DemoLot {
        item: "P002",
        lot: "B2503",
        expiry_offset: 120,
        status: LotStatus::Released,
        location: "WH1-A-02-02",
        qty: 40,
    },
    DemoLot {
        item: "P002",
        lot: "B2509",
        expiry_offset: 300,
        status: LotStatus::Released,
        location: "WH1-A-02-03",
        qty: 120,
    },
    DemoLot {
        item: "P003",
        lot: "I2507",
        expiry_offset: 400,
        status: LotStatus::Released,
        location: "WH1-C-01-02",
        qty: 6,
    },
    DemoLot {
        item: "F002",
        lot: "U2501",
        expiry_offset: 45,
        status: LotStatus::Released,
        location: "WH1-A-01-04",
        qty: 48,
    },
    DemoLot {
        item: "F002",
        lot: "U2505",
        expiry_offset: 160,
        status: LotStatus::Released,
        location: "WH1-A-01-03",
        qty: 96,
    },
    DemoLot {
        item: "M006",
        lot: "G2309",
        expiry_offset: 100,
        status: LotStatus::OnHold,
        location: "WH1-A-05-02",
        qty: 20,
    },
    DemoLot {
        item: "M006",
        lot: "G2412",
        expiry_offset: 300,
        status: LotStatus::Released,
        location: "WH1-A-05-02",
        qty: 200,
    },
    DemoLot {
        item: "M006",
        lot: "G2504",
        expiry_offset: 600,
        status: LotStatus::Released,
        location: "WH1-A-05-02",
        qty: 150,
    },
    DemoLot {
        item: "P004",
        lot: "D2311",
        expiry_offset: -10,
        status: LotStatus::Released,
        location: "WH1-A-05-03",
        qty: 12,
    },
    DemoLot {
        item: "P004",
        lot: "D2502",
        expiry_offset: 400,
        status: LotStatus::Released,
        location: "WH1-A-05-03",
        qty: 60,
    },
    DemoLot {
        item: "P004",
        lot: "D2508",
        expiry_offset: 800,
        status: LotStatus::Released,
        location: "WH1-A-05-03",
        qty: 90,
    },
    DemoLot {
        item: "M007",
        lot: "T2508",
        expiry_offset: 1500,
        status: LotStatus::Released,
        location: "WH1-A-06-01",
        qty: 4,
    },
];

/// Serialised task lots whose every unit is in the serial registry: (item, lot, first serial);
/// the units are numbered from it. The thermometers' four come before Amoxicillin's in
/// `Store::serialized_units`, so the simulated reader carries their tags.
const TASK_SERIALS: &[(&str, &str, u32)] = &[("P003", "I2507", 3001), ("M007", "T2508", 7001)];

/// A demo task: pick and count lines are (item, lot, location, qty); count tasks name their
/// locations and whether they are blind.
struct DemoTask {
    id: &'static str,
    kind: &'static str,
    customer: Option<&'static str>,
    reference: &'static str,
    lines: &'static [(&'static str, Option<&'static str>, Option<&'static str>, i64)],
    locations: &'static [&'static str],
    blind: bool,
}

/// The morning's tasks: a receipt, two picks and two counts (the ASNs come later).
const TASKS: &[DemoTask] = &[
    DemoTask {
        id: "RC-0001",
        kind: "receipt",
        customer: None,
        reference: "ASN-88213",
        lines: &[
            ("F001", None, Some("WH1-R-01-01"), 240),
            ("P001", None, Some("WH1-R-01-02"), 96),
        ],
        locations: &[],
        blind: true,
    },
    // A pharmacy's order: every line regulated (GSP second check); ibuprofen's FEFO lot is too
    // short for the customer; insulin is serialised.
    DemoTask {
        id: "PK-0001",
        kind: "pick",
        customer: Some("C001"),
        reference: "SO-100231",
        lines: &[
            ("P001", None, Some("WH1-A-02-01"), 24),
            ("M001", None, Some("WH1-A-03-01"), 100),
            ("P002", None, None, 30),
            ("P003", None, Some("WH1-C-01-02"), 2),
        ],
        locations: &[],
        blind: true,
    },
    // A supermarket's order: milk powder's FEFO lot (L2402, 25 days) is too short for its 30
    // days, so L2405; UHT milk's U2501 is near expiry but long enough.
    DemoTask {
        id: "PK-0002",
        kind: "pick",
        customer: Some("C002"),
        reference: "SO-100232",
        lines: &[("F001", None, None, 12), ("F002", None, None, 24)],
        locations: &[],
        blind: true,
    },
    DemoTask {
        id: "CC-0001",
        kind: "count",
        customer: None,
        reference: "CYCLE-W47",
        lines: &[],
        locations: &["WH1-A-01-03", "WH1-A-05-02", "WH1-A-05-03"],
        blind: true,
    },
    DemoTask {
        id: "CC-0002",
        kind: "count",
        customer: None,
        reference: "RFID-W47",
        lines: &[],
        locations: &["WH1-A-06-01"],
        blind: false,
    },
];

fn yymmdd(d: NaiveDate) -> String {
    d.format("%y%m%d").to_string()
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d + Days::new(n as u64)
    } else {
        d - Days::new(n.unsigned_abs())
    }
}

/// (code, warehouse, zone, kind, storage). Chilled and frozen goods have their own pick zones
/// (C, F) and quarantine zones (QC, QF); everything else is ambient.
fn locations() -> Vec<(String, &'static str, &'static str, &'static str, &'static str)> {
    let mut v = Vec::new();
    for wh in ["WH1", "WH2"] {
        let name = if wh == "WH1" {
            "Shanghai DC 上海配送中心"
        } else {
            "Suzhou DC 苏州配送中心"
        };
        for (zone, kind, storage, aisles, bays) in [
            ("A", "pick", "ambient", 12, 10),
            ("B", "reserve", "ambient", 8, 10),
            ("C", "pick", "chilled", 3, 6),
            ("F", "pick", "frozen", 2, 6),
            ("Q", "quarantine", "ambient", 2, 6),
            ("QC", "quarantine", "chilled", 1, 4),
            ("QF", "quarantine", "frozen", 1, 4),
            ("R", "receiving", "ambient", 1, 4),
            ("S", "shipping", "ambient", 1, 4),
        ] {
            for a in 1..=aisles {
                for b in 1..=bays {
                    v.push((format!("{wh}-{zone}-{a:02}-{b:02}"), name, zone, kind, storage));
                }
            }
        }
    }
    v
}

/// Fills `store` with demo data: `lots` random lots plus the showcase lots, dates relative to `today`.
pub fn generate(store: &mut Store, lots: usize, seed: u64, today: NaiveDate) -> Result<DemoSummary, StoreError> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let locs = locations();
    let by_zone = |zone: &str, wh: &str| -> Vec<String> {
        locs.iter()
            .filter(|l| l.2 == zone && l.0.starts_with(wh))
            .map(|l| l.0.clone())
            .collect()
    };
    // The named lots' locations hold only those lots: the tasks' picks and counts stay as
    // described whatever the number of random lots.
    let named = || SHOWCASE.iter().chain(TASK_LOTS);
    let zones: Vec<(&str, Vec<String>)> = ["A", "B", "C", "F", "Q", "QC", "QF"]
        .iter()
        .map(|z| {
            let mut v = [by_zone(z, "WH1"), by_zone(z, "WH2")].concat();
            v.retain(|code| !named().any(|l| l.location == code));
            (*z, v)
        })
        .collect();
    let zone = |z: &str| -> &Vec<String> { &zones.iter().find(|(n, _)| *n == z).expect("zone").1 };

    let path = store.path().to_owned();
    let c = |e: rusqlite::Error| classify(&path, e);
    let tx = store.begin_write()?;
    for (id, tiers) in CATEGORIES {
        tx.execute(
            "INSERT OR REPLACE INTO categories(id, near_expiry_days) VALUES (?1, ?2)",
            params![id, tiers],
        )
        .map_err(c)?;
    }
    let of = |table: &[(&'static str, &'static str)], id: &str| table.iter().find(|(i, _)| *i == id).map(|(_, v)| *v);
    for (i, it) in ITEMS.iter().enumerate() {
        tx.execute(
            "INSERT OR REPLACE INTO items(id, name_en, name_zh, category, shelf_life_days, min_remaining_days_receipt,
                min_remaining_pct_receipt, requires_qc, serialized, regulated, storage, near_expiry_days, count_tolerance)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                it.0,
                it.1,
                it.2,
                it.3,
                it.4,
                it.5,
                it.6,
                it.7,
                it.8,
                it.9,
                it.10,
                of(ITEM_TIERS, it.0),
                of(COUNT_TOLERANCES, it.0)
            ],
        )
        .map_err(c)?;
        tx.execute(
            "INSERT OR REPLACE INTO barcodes(code, kind, item_id) VALUES (?1, 'gtin', ?2)",
            params![demo_gtin(i), it.0],
        )
        .map_err(c)?;
        tx.execute(
            "INSERT OR REPLACE INTO barcodes(code, kind, item_id) VALUES (?1, 'alias', ?2)",
            params![format!("SKU-{}", it.0), it.0],
        )
        .map_err(c)?;
    }
    for (code, wh, zone, kind, storage) in &locs {
        tx.execute(
            "INSERT OR REPLACE INTO locations(code, warehouse, zone, kind, storage) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![code, wh, format!("{}-{zone}", &code[..3]), kind, storage],
        )
        .map_err(c)?;
    }
    for (id, name, min) in CUSTOMERS {
        tx.execute(
            "INSERT OR REPLACE INTO customers(id, name, min_remaining_days) VALUES (?1, ?2, ?3)",
            params![id, name, min],
        )
        .map_err(c)?;
    }

    let mut stock_rows = 0usize;
    {
        let mut ins_lot = tx.prepare(
            "INSERT INTO lots(item_id, lot, expiry, production_date, qc_date, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(item_id, lot) DO UPDATE SET expiry = excluded.expiry, production_date = excluded.production_date,
               qc_date = excluded.qc_date, status = excluded.status RETURNING id",
        ).map_err(c)?;
        let mut ins_stock = tx
            .prepare(
                "INSERT INTO stock(lot_id, location, qty) VALUES (?1, ?2, ?3)
             ON CONFLICT(lot_id, location) DO UPDATE SET qty = excluded.qty",
            )
            .map_err(c)?;
        let mut ins_serial = tx
            .prepare(
                "INSERT INTO serials(item_id, serial, lot_id) VALUES (?1, ?2, ?3)
             ON CONFLICT(item_id, serial) DO UPDATE SET lot_id = excluded.lot_id",
            )
            .map_err(c)?;
        for (k, s) in named().enumerate() {
            let spec = ITEMS.iter().find(|i| i.0 == s.item).expect("a demo item");
            let expiry = add_days(today, s.expiry_offset);
            let prod = add_days(expiry, -i64::from(spec.4));
            let qc = (s.status != LotStatus::Quarantine).then(|| add_days(prod, 7).to_string());
            let id: i64 = ins_lot
                .query_row(
                    params![
                        s.item,
                        s.lot,
                        expiry.to_string(),
                        prod.to_string(),
                        qc,
                        s.status.as_str()
                    ],
                    |r| r.get(0),
                )
                .map_err(c)?;
            ins_stock.execute(params![id, s.location, s.qty]).map_err(c)?;
            stock_rows += 1;
            // Serial-numbered units of the showcase lots, as RFID tags (SGTIN) carry them; of a
            // serialised task lot, every unit.
            let serials: Vec<String> = if k < SHOWCASE.len() {
                (1..=SERIALS_PER_SHOWCASE_LOT)
                    .map(|j| (100 * (k + 1) + j).to_string())
                    .collect()
            } else {
                let first = TASK_SERIALS.iter().find(|t| (t.0, t.1) == (s.item, s.lot));
                first.map_or(vec![], |t| (0..s.qty as u32).map(|j| (t.2 + j).to_string()).collect())
            };
            for serial in serials {
                ins_serial.execute(params![s.item, serial, id]).map_err(c)?;
            }
        }
        // Random lots skip the named lots' items so their verdicts, FEFO and counts stay predictable.
        let random_items: Vec<(usize, &ItemSpec)> = ITEMS
            .iter()
            .enumerate()
            .filter(|(_, it)| !named().any(|s| s.item == it.0))
            .collect();
        for n in 0..lots {
            let (idx, it) = random_items[rng.random_range(0..random_items.len())];
            let r: f64 = rng.random();
            let offset: i64 = if r < 0.04 {
                -rng.random_range(1..=120)
            } else if r < 0.16 {
                rng.random_range(0..=60)
            } else {
                rng.random_range(61..=i64::from(it.4).max(120))
            };
            let expiry = add_days(today, offset);
            let prod = add_days(expiry, -i64::from(it.4));
            let s: f64 = rng.random();
            let status = if s < 0.86 {
                LotStatus::Released
            } else if s < 0.92 {
                LotStatus::Quarantine
            } else if s < 0.95 {
                LotStatus::OnHold
            } else if s < 0.975 {
                LotStatus::Recalled
            } else {
                LotStatus::Rejected
            };
            let qc = (status != LotStatus::Quarantine).then(|| add_days(prod, 7).to_string());
            let lot = format!("{}{:02}{:07}", &it.0[..1], idx + 1, n);
            let id: i64 = ins_lot
                .query_row(
                    params![it.0, lot, expiry.to_string(), prod.to_string(), qc, status.as_str()],
                    |r| r.get(0),
                )
                .map_err(c)?;
            let home_zone = match (status, it.10) {
                (LotStatus::Released, "chilled") => "C",
                (LotStatus::Released, "frozen") => "F",
                (LotStatus::Released, _) => {
                    if rng.random_bool(0.6) {
                        "A"
                    } else {
                        "B"
                    }
                }
                (_, "chilled") => "QC",
                (_, "frozen") => "QF",
                _ => "Q",
            };
            let z = zone(home_zone);
            let home = &z[rng.random_range(0..z.len())];
            ins_stock
                .execute(params![id, home, rng.random_range(1..=500)])
                .map_err(c)?;
            stock_rows += 1;
            if status == LotStatus::Released && rng.random_bool(0.3) {
                // More of the lot in reserve, or for chilled and frozen goods in their own zone.
                let b = zone(match it.10 {
                    "chilled" => "C",
                    "frozen" => "F",
                    _ => "B",
                });
                let extra = &b[rng.random_range(0..b.len())];
                ins_stock
                    .execute(params![id, extra, rng.random_range(1..=2000)])
                    .map_err(c)?;
                // A lot at home in that zone can draw its own location again: the row is then
                // updated, not added, and is not counted twice.
                if extra != home {
                    stock_rows += 1;
                }
            }
        }
    }

    // The morning's tasks; then the ASNs.
    let created = format!("{today}T08:00:00Z");
    for t in TASKS {
        tx.execute(
            "INSERT OR REPLACE INTO tasks(id, kind, customer_id, reference, created_at, blind) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![t.id, t.kind, t.customer, t.reference, created, t.blind],
        )
        .map_err(c)?;
        for (n, (item, lot, loc, qty)) in t.lines.iter().enumerate() {
            tx.execute(
                "INSERT OR REPLACE INTO task_lines(task_id, line_no, item_id, lot, location, qty_expected) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.id, n as i64 + 1, item, lot, loc, qty],
            )
            .map_err(c)?;
        }
        for loc in t.locations {
            tx.execute(
                "INSERT OR REPLACE INTO task_locations(task_id, location) VALUES (?1, ?2)",
                params![t.id, loc],
            )
            .map_err(c)?;
        }
    }
    // The ASNs came in with the trucks, after the morning's tasks.
    let asn_created = format!("{today}T09:00:00Z");
    for (id, reference, tolerance, dock, lines) in ASNS {
        tx.execute(
            "INSERT OR REPLACE INTO tasks(id, kind, reference, created_at, tolerance_pct) VALUES (?1, 'receipt', ?2, ?3, ?4)",
            params![id, reference, asn_created, tolerance],
        )
        .map_err(c)?;
        for (n, (item, lot, expiry, pallet, qty)) in lines.iter().enumerate() {
            tx.execute(
                "INSERT OR REPLACE INTO task_lines(task_id, line_no, item_id, lot, location, qty_expected, expiry, sscc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id,
                    n as i64 + 1,
                    item,
                    lot,
                    dock,
                    qty,
                    expiry.map(|d| add_days(today, d).to_string()),
                    pallet.map(demo_sscc)
                ],
            )
            .map_err(c)?;
        }
    }
    for (id, name, pin, roles) in OPERATORS {
        let hash = hash_pin(pin).map_err(|e| StoreError::Data(format!("demo operator {id}: {e}")))?;
        tx.execute(
            "INSERT OR REPLACE INTO operators(id, name, pin_hash, roles) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, hash, roles.join(",")],
        )
        .map_err(c)?;
    }

    let gtin_of = |item: &str| demo_gtin(ITEMS.iter().position(|i| i.0 == item).expect("item"));
    let scan_of = |item: &str, lot: &str, offset: i64| {
        format!("(01){}(17){}(10){lot}", gtin_of(item), yymmdd(add_days(today, offset)))
    };
    // The OK scan with its GTIN check digit off by one, as a smudged print would read.
    let damaged = {
        let g = gtin_of("M001");
        let last = (g.as_bytes()[13] - b'0' + 1) % 10;
        format!("(01){}{last}(10)S240601", &g[..13])
    };
    let scans = vec![
        DemoScan {
            label_en: "OK to pick".into(),
            label_zh: "可拣选".into(),
            gate: "pick".into(),
            scan: scan_of("M001", "S240601", 700),
        },
        DemoScan {
            label_en: "Expired".into(),
            label_zh: "已过期".into(),
            gate: "pick".into(),
            scan: scan_of("F001", "L2311", -3),
        },
        DemoScan {
            label_en: "Near expiry".into(),
            label_zh: "临期".into(),
            gate: "pick".into(),
            scan: scan_of("F004", "Y1120", 5),
        },
        DemoScan {
            label_en: "FEFO".into(),
            label_zh: "先到期先出".into(),
            gate: "pick".into(),
            scan: scan_of("F001", "L2405", 400),
        },
        DemoScan {
            label_en: "Quarantined".into(),
            label_zh: "待检".into(),
            gate: "pick".into(),
            scan: scan_of("P001", "A2501", 500),
        },
        DemoScan {
            label_en: "Recalled".into(),
            label_zh: "已召回".into(),
            gate: "pick".into(),
            scan: scan_of("P001", "A2502", 420),
        },
        DemoScan {
            label_en: "On hold".into(),
            label_zh: "冻结".into(),
            gate: "pick".into(),
            scan: scan_of("M001", "S240115", 650),
        },
        DemoScan {
            label_en: "New lot".into(),
            label_zh: "新批次".into(),
            gate: "receive".into(),
            scan: scan_of("P001", "A2601", 720),
        },
        DemoScan {
            label_en: "Unknown item".into(),
            label_zh: "未知商品".into(),
            gate: "pick".into(),
            scan: "(01)09506000134352(17)271231(10)X1".into(),
        },
        DemoScan {
            label_en: "Damaged label".into(),
            label_zh: "标签损坏".into(),
            gate: "pick".into(),
            scan: damaged,
        },
    ];
    let scans_json = serde_json::to_string(&scans).map_err(|e| StoreError::Data(e.to_string()))?;
    tx.execute(
        "INSERT INTO settings(key, value) VALUES ('demo_scans', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [&scans_json],
    )
    .map_err(c)?;
    tx.execute(
        "INSERT OR IGNORE INTO settings(key, value) VALUES ('operator', 'demo')",
        [],
    )
    .map_err(c)?;
    tx.commit().map_err(c)?;
    Ok(DemoSummary {
        items: ITEMS.len(),
        lots: lots + SHOWCASE.len() + TASK_LOTS.len(),
        stock_rows,
        locations: locs.len(),
        customers: CUSTOMERS.len(),
        tasks: TASKS.len() + ASNS.len(),
        operators: OPERATORS.len(),
        scans,
    })
}

/// The showcase scans stored in the cache, if it holds demo data.
pub fn stored_scans(store: &Store) -> Result<Vec<DemoScan>, StoreError> {
    match store.setting("demo_scans")? {
        Some(s) => serde_json::from_str(&s).map_err(|e| StoreError::Data(e.to_string())),
        None => Ok(vec![]),
    }
}
