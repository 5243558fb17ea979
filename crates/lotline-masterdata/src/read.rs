//! Reading an import file: JSON bytes in, typed rows and row errors out, one record at a time.
//!
//! The file is streamed: only one record is in memory at a time, so a file of a million lots is
//! read in bounded memory. Every field of every record is checked here and every problem is
//! named by its record and field path (`items[1].name_en`, `tasks[0].lines[2].qty`); the
//! checks that need the database (duplicates, references) are the store's (`import.rs`).
//!
//! This module depends only on serde, serde_json and the domain, so the fuzz crate compiles it
//! on its own (`fuzz/src/lib.rs`).

use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use chrono::NaiveDate;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use lotline_domain::ids::{DATE_MAX, DATE_MIN, Gtin, LocationCode, LotNo, SerialNo, Sscc, parse_iso_date};
use lotline_domain::lot::{LotStatus, Storage};
use lotline_domain::text::Bilingual;

/// The sections of an import file, in the order the README lists them. Any order is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Categories,
    Items,
    Lots,
    Locations,
    Stock,
    Customers,
    Serials,
    Tasks,
    Operators,
}

impl Section {
    pub const ALL: [Section; 9] = [
        Section::Categories,
        Section::Items,
        Section::Lots,
        Section::Locations,
        Section::Stock,
        Section::Customers,
        Section::Serials,
        Section::Tasks,
        Section::Operators,
    ];
    pub const NAMES: &'static [&'static str] = &[
        "categories",
        "items",
        "lots",
        "locations",
        "stock",
        "customers",
        "serials",
        "tasks",
        "operators",
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn from_name(s: &str) -> Option<Section> {
        Self::NAMES.iter().position(|n| *n == s).map(|i| Self::ALL[i])
    }

    /// The field whose value names a record in messages: `items[3] (P001)`.
    pub fn key_field(self) -> &'static str {
        match self {
            Section::Categories | Section::Items | Section::Customers | Section::Tasks | Section::Operators => "id",
            Section::Lots | Section::Stock => "lot",
            Section::Locations => "code",
            Section::Serials => "serial",
        }
    }

    fn fields(self) -> &'static [&'static str] {
        match self {
            Section::Categories => &["id", "near_expiry_days"],
            Section::Items => &[
                "id",
                "name_en",
                "name_zh",
                "gtins",
                "aliases",
                "category",
                "shelf_life_days",
                "min_remaining_days_receipt",
                "min_remaining_pct_receipt",
                "near_expiry_days",
                "requires_qc",
                "serialized",
                "regulated",
                "storage",
                "count_tolerance",
            ],
            Section::Lots => &["item", "lot", "expiry", "production_date", "qc_date", "status"],
            Section::Locations => &["code", "warehouse", "zone", "kind", "storage"],
            Section::Stock => &["location", "item", "lot", "qty"],
            Section::Customers => &["id", "name", "min_remaining_days"],
            Section::Serials => &["item", "serial", "lot"],
            Section::Tasks => &[
                "id",
                "kind",
                "customer",
                "reference",
                "created_at",
                "tolerance_pct",
                "locations",
                "zone",
                "blind",
                "lines",
            ],
            Section::Operators => &["id", "name", "pin", "pin_hash", "roles"],
        }
    }
}

/// A record's place in the file: `items[3]` is the fourth record of `items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub section: Section,
    pub index: u64,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.section.name(), self.index)
    }
}

/// What kind of JSON value a field needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Text,
    Bool,
    WholeNumber,
    List,
    Object,
}

impl Expect {
    fn en(self) -> &'static str {
        match self {
            Expect::Text => "text in quotes",
            Expect::Bool => "true or false",
            Expect::WholeNumber => "a whole number",
            Expect::List => "a list [ … ]",
            Expect::Object => "an object { … }",
        }
    }
    fn zh(self) -> &'static str {
        match self {
            Expect::Text => "带引号的文本",
            Expect::Bool => " true 或 false",
            Expect::WholeNumber => "整数",
            Expect::List => "列表 [ … ]",
            Expect::Object => "对象 { … }",
        }
    }
}

/// Which identifier rule a value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Gtin,
    Lot,
    Serial,
    Location,
    Sscc,
}

/// How far a counted quantity may be from the expected one (`items[].count_tolerance`) before
/// the count asks for a recount. Stored as text: `2` or `5%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountTolerance {
    /// Whole units either way.
    Units(u64),
    /// A share of the expected quantity, 0 to 100 %.
    Percent(u8),
}

impl fmt::Display for CountTolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountTolerance::Units(n) => write!(f, "{n}"),
            CountTolerance::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// What a reference names that the file and the database do not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Item,
    Location,
    Customer,
}

impl RefKind {
    fn en(self) -> (&'static str, &'static str) {
        match self {
            RefKind::Item => ("item", "items"),
            RefKind::Location => ("location", "locations"),
            RefKind::Customer => ("customer", "customers"),
        }
    }
    fn zh(self) -> &'static str {
        match self {
            RefKind::Item => "物料",
            RefKind::Location => "库位",
            RefKind::Customer => "客户",
        }
    }
}

/// The fewest digits an operator's PIN may have.
pub const PIN_MIN_DIGITS: usize = 4;
/// The most digits an operator's PIN may have.
pub const PIN_MAX_DIGITS: usize = 12;

/// What is wrong with a PIN. The messages never show the PIN itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinProblem {
    /// Not text in quotes (a number would lose its leading zeros).
    NotText,
    /// Something other than the digits 0–9.
    NotDigits,
    TooShort,
    TooLong,
    /// A `pin_hash` that is not an argon2id PHC string.
    NotAHash,
}

impl fmt::Display for PinProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinProblem::NotText => write!(
                f,
                "the PIN must be digits in quotes, e.g. \"0420\" (a number would lose its leading zeros)"
            ),
            PinProblem::NotDigits => write!(f, "the PIN must be digits 0-9 only"),
            PinProblem::TooShort => write!(f, "the PIN must be at least {PIN_MIN_DIGITS} digits"),
            PinProblem::TooLong => write!(f, "the PIN must be at most {PIN_MAX_DIGITS} digits"),
            PinProblem::NotAHash => write!(
                f,
                "pin_hash must be an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)"
            ),
        }
    }
}

impl Bilingual for PinProblem {
    fn message_zh(&self) -> String {
        match self {
            PinProblem::NotText => "PIN 须为带引号的数字，例如 \"0420\"（写成数值会丢失前导零）".into(),
            PinProblem::NotDigits => "PIN 只能由数字 0-9 组成".into(),
            PinProblem::TooShort => format!("PIN 至少须为 {PIN_MIN_DIGITS} 位数字"),
            PinProblem::TooLong => format!("PIN 最多为 {PIN_MAX_DIGITS} 位数字"),
            PinProblem::NotAHash => "pin_hash 必须是 argon2id PHC 字符串（$argon2id$v=19$m=…,t=…,p=…$盐$哈希）".into(),
        }
    }
}

/// Whether `h` has the form of an argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`,
/// base64 without padding): what `pin_hash` (an export of hashed PINs) must be. The hash itself
/// is checked when a PIN is verified.
pub fn is_argon2id_phc(h: &str) -> bool {
    let parts: Vec<&str> = h.split('$').collect();
    parts.len() == 6
        && parts[0].is_empty()
        && parts[1] == "argon2id"
        && parts[2].starts_with("v=")
        && parts[3].starts_with("m=")
        && parts[4..]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'))
}

/// Whether `pin` may be an operator's PIN: the digits 0–9 only, [`PIN_MIN_DIGITS`] to
/// [`PIN_MAX_DIGITS`] of them.
pub fn pin_problem(pin: &str) -> Option<PinProblem> {
    if !pin.bytes().all(|b| b.is_ascii_digit()) {
        Some(PinProblem::NotDigits)
    } else if pin.len() < PIN_MIN_DIGITS {
        Some(PinProblem::TooShort)
    } else if pin.len() > PIN_MAX_DIGITS {
        Some(PinProblem::TooLong)
    } else {
        None
    }
}

/// Why a record or one of its fields was refused. Each says itself in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A section that is not one of [`Section::NAMES`].
    UnknownSection,
    /// The same section twice at the top level.
    SectionTwice,
    /// A section whose value is not a list.
    NotAList {
        found: String,
    },
    UnknownField {
        allowed: &'static [&'static str],
    },
    Missing,
    WrongType {
        expected: Expect,
        found: String,
    },
    Empty,
    OutOfRange {
        value: String,
        min: u64,
        max: u64,
    },
    BadDate {
        value: String,
    },
    BadId {
        kind: IdKind,
        detail: String,
    },
    NotOneOf {
        value: String,
        allowed: &'static [&'static str],
    },
    NoTiers,
    BothMinRemaining,
    ProductionAfterExpiry {
        production: NaiveDate,
        expiry: NaiveDate,
    },
    /// Another record of the same file has the same id (or key).
    Duplicate {
        first: String,
    },
    /// Two items of the file give the same barcode.
    BarcodeTaken {
        code: String,
        by: String,
    },
    NotDefined {
        kind: RefKind,
        value: String,
    },
    /// The record named is in the file but was refused (its own problems are reported).
    RefRefused {
        kind: RefKind,
        value: String,
        at: String,
    },
    LotNotDefined {
        item: String,
        lot: String,
    },
    /// An operator's PIN that is not 4 to 12 digits (the PIN is not kept, so never shown).
    BadPin(PinProblem),
    /// An operator with an empty list of roles.
    NoRoles,
    /// A field only a receipt task has (`tolerance_pct`, a line's `sscc` or `expiry`), given on
    /// a task of another kind.
    ReceiptOnly {
        kind: &'static str,
    },
    /// A field only a count task has (`locations`, `zone`, `blind`), given on a task of another kind.
    CountOnly {
        kind: &'static str,
    },
    /// A count task that names nothing to count: no `locations`, no `zone`, no line with a location.
    CountWithoutLocations,
    /// A count task's `zone` that no location of the file or the cache is in.
    ZoneWithoutLocations {
        zone: String,
    },
    /// An item's `count_tolerance` that is neither a whole number of units nor a percentage.
    BadCountTolerance {
        found: String,
    },
    /// A pallet (SSCC) that another task of the file or of the cache already ships.
    SsccTaken {
        sscc: String,
        /// `tasks[0] (ASN-0001)` in the file, or the id of a task in the cache.
        by: String,
        in_cache: bool,
    },
    /// A database constraint refused the row (a check the reader does not know).
    Rejected {
        detail: String,
    },
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// A JSON value as a message names it: `the text "yes"`, `the number 1.5`.
fn found_en(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {}", short(&n.to_string())),
        Value::String(s) => format!("the text \"{}\"", short(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn found_zh(en: &str) -> String {
    if let Some(n) = en.strip_prefix("the number ") {
        format!("数字 {n}")
    } else if let Some(t) = en.strip_prefix("the text ") {
        format!("文本 {t}")
    } else if en == "a list" {
        "列表".into()
    } else if en == "an object" {
        "对象".into()
    } else {
        en.to_owned()
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UnknownSection => write!(f, "unknown section; expected one of {}", Section::NAMES.join(", ")),
            Reason::SectionTwice => write!(f, "this section appears twice; give each section once"),
            Reason::NotAList { found } => write!(f, "must be a list [ … ] of records, found {found}"),
            Reason::UnknownField { allowed } => write!(f, "unknown field; expected one of {}", allowed.join(", ")),
            Reason::Missing => write!(f, "is missing; this field is required"),
            Reason::WrongType { expected, found } => write!(f, "expected {}, found {found}", expected.en()),
            Reason::Empty => write!(f, "is empty"),
            Reason::OutOfRange { value, min, max } => write!(f, "{value} is out of range; must be {min} to {max}"),
            Reason::BadDate { value } => write!(
                f,
                "\"{}\" is not a date: write YYYY-MM-DD (e.g. 2027-01-31), from {DATE_MIN} to {DATE_MAX}",
                short(value)
            ),
            Reason::BadId { detail, .. } => f.write_str(detail),
            Reason::NotOneOf { value, allowed } => {
                write!(f, "\"{}\" is not one of {}", short(value), allowed.join(", "))
            }
            Reason::NoTiers => write!(f, "needs at least one tier"),
            Reason::BothMinRemaining => write!(
                f,
                "give min_remaining_days_receipt or min_remaining_pct_receipt, not both"
            ),
            Reason::ProductionAfterExpiry { production, expiry } => {
                write!(f, "{production} is after the expiry {expiry}")
            }
            Reason::Duplicate { first } => write!(
                f,
                "duplicate of {first}; a record may appear only once in a file (remove one of them)"
            ),
            Reason::BarcodeTaken { code, by } => write!(f, "barcode {code} is also given by {by}"),
            Reason::NotDefined { kind, value } => {
                let (one, section) = kind.en();
                write!(f, "{one} '{}' is not defined (add it under {section})", short(value))
            }
            Reason::RefRefused { kind, value, at } => write!(
                f,
                "{} '{}' ({at}) was not imported because of its own problems",
                kind.en().0,
                short(value)
            ),
            Reason::LotNotDefined { item, lot } => write!(
                f,
                "lot '{}' of item '{}' is not defined (add it under lots)",
                short(lot),
                short(item)
            ),
            Reason::BadPin(p) => write!(f, "{p}"),
            Reason::NoRoles => write!(f, "needs at least one role; roles are {}", ROLES.join(", ")),
            Reason::ReceiptOnly { kind } => {
                write!(f, "only a receipt task takes this field, and this is a {kind} task")
            }
            Reason::CountOnly { kind } => {
                write!(f, "only a count task takes this field, and this is a {kind} task")
            }
            Reason::CountWithoutLocations => write!(
                f,
                "a count task needs something to count: give locations (a list of location codes), a zone, or lines with a location"
            ),
            Reason::ZoneWithoutLocations { zone } => write!(
                f,
                "no location is in zone '{}' (add locations with this zone under locations)",
                short(zone)
            ),
            Reason::BadCountTolerance { found } => write!(
                f,
                "expected a whole number of units (2 or \"2\") or a percentage of the expected quantity (\"5%\", 0 to 100), found {found}"
            ),
            Reason::SsccTaken { sscc, by, in_cache } => {
                let by = if *in_cache {
                    format!("task '{}' in the cache", short(by))
                } else {
                    by.clone()
                };
                write!(
                    f,
                    "pallet SSCC {sscc} is also on {by}; a pallet belongs to one task (its lines may carry several lots)"
                )
            }
            Reason::Rejected { detail } => write!(f, "rejected by the database: {detail}"),
        }
    }
}

impl Bilingual for Reason {
    fn message_zh(&self) -> String {
        match self {
            Reason::UnknownSection => format!("未知的部分；应为 {} 之一", Section::NAMES.join("、")),
            Reason::SectionTwice => "此部分出现了两次；每个部分只能出现一次".into(),
            Reason::NotAList { found } => format!("必须是记录列表 [ … ]，实际为{}", found_zh(found)),
            Reason::UnknownField { allowed } => format!("未知字段；应为 {} 之一", allowed.join("、")),
            Reason::Missing => "缺少此字段（必填）".into(),
            Reason::WrongType { expected, found } => {
                format!("应为{}，实际为{}", expected.zh(), found_zh(found))
            }
            Reason::Empty => "为空".into(),
            Reason::OutOfRange { value, min, max } => format!("{value} 超出范围；必须在 {min} 到 {max} 之间"),
            Reason::BadDate { value } => format!(
                "“{}”不是有效日期：请写成 YYYY-MM-DD（例如 2027-01-31），范围 {DATE_MIN} 至 {DATE_MAX}",
                short(value)
            ),
            Reason::BadId { kind, .. } => match kind {
                IdKind::Gtin => "不是有效的 GTIN：须为 8、12、13 或 14 位数字，且校验位正确".into(),
                IdKind::Lot => "不是有效的批号：须为 1 到 20 个 GS1 字符集 82 中的字符（字母、数字及部分符号）".into(),
                IdKind::Serial => "不是有效的序列号：须为 1 到 20 个 GS1 字符集 82 中的字符".into(),
                IdKind::Location => "不是有效的库位代码：须为 1 到 32 个字母、数字或 - _ . /".into(),
                IdKind::Sscc => "不是有效的 SSCC：须为 18 位数字，且校验位正确".into(),
            },
            Reason::NotOneOf { value, allowed } => {
                format!("“{}”不是 {} 之一", short(value), allowed.join("、"))
            }
            Reason::NoTiers => "至少需要一个预警档位".into(),
            Reason::BothMinRemaining => {
                "min_remaining_days_receipt 与 min_remaining_pct_receipt 只能给出其中一个".into()
            }
            Reason::ProductionAfterExpiry { production, expiry } => {
                format!("生产日期 {production} 晚于有效期 {expiry}")
            }
            Reason::Duplicate { first } => {
                format!("与 {first} 重复；同一记录在一个文件中只能出现一次（请删除其中一条）")
            }
            Reason::BarcodeTaken { code, by } => format!("条码 {code} 也被 {by} 使用"),
            Reason::NotDefined { kind, value } => {
                let section = kind.en().1;
                format!("{}“{}”未定义（请在 {section} 中添加）", kind.zh(), short(value))
            }
            Reason::RefRefused { kind, value, at } => {
                format!("{}“{}”（{at}）因自身的问题未导入", kind.zh(), short(value))
            }
            Reason::LotNotDefined { item, lot } => {
                format!("物料“{}”的批次“{}”未定义（请在 lots 中添加）", short(item), short(lot))
            }
            Reason::BadPin(p) => p.message_zh(),
            Reason::NoRoles => format!("至少需要一个角色；角色为 {}", ROLES.join("、")),
            Reason::ReceiptOnly { kind } => format!("只有收货任务（receipt）才有此字段，此任务为 {kind} 任务"),
            Reason::CountOnly { kind } => format!("只有盘点任务（count）才有此字段，此任务为 {kind} 任务"),
            Reason::CountWithoutLocations => {
                "盘点任务须指明盘点范围：请给出 locations（库位代码列表）、zone（库区）或带 location 的行".into()
            }
            Reason::ZoneWithoutLocations { zone } => {
                format!(
                    "库区“{}”中没有库位（请在 locations 中添加属于该库区的库位）",
                    short(zone)
                )
            }
            Reason::BadCountTolerance { found } => format!(
                "应为整数件数（2 或 \"2\"）或占预期数量的百分比（\"5%\"，0 到 100），实际为{}",
                found_zh(found)
            ),
            Reason::SsccTaken { sscc, by, in_cache } => {
                let by = if *in_cache {
                    format!("缓存中的任务“{}”", short(by))
                } else {
                    format!(" {by} ")
                };
                format!("托盘 SSCC {sscc} 也在{by}中；一个托盘只属于一个任务（其各行可为不同批次）")
            }
            Reason::Rejected { detail } => format!("被数据库拒绝：{detail}"),
        }
    }
}

/// One problem with one record (or one section), named by record and field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The record, e.g. `items[3]`, or a section name for a problem with a whole section.
    pub record: String,
    /// The record's key, e.g. the item id, when it has one.
    pub key: Option<String>,
    /// The field's path inside the record, e.g. `name_en`, `gtins[0]`, `lines[2].qty`.
    pub field: Option<String>,
    pub why: Reason,
}

impl RowError {
    /// The full path: `items[3].gtins[0]`.
    pub fn path(&self) -> String {
        match &self.field {
            Some(f) => format!("{}.{f}", self.record),
            None => self.record.clone(),
        }
    }

    fn head(&self) -> String {
        match &self.key {
            Some(k) => format!("{} ({})", self.path(), short(k)),
            None => self.path(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.head(), self.why)
    }
}

impl Bilingual for RowError {
    fn message_zh(&self) -> String {
        format!("{}：{}", self.head(), self.why.message_zh())
    }
}

/// A record that passed every check of the reader, with its values parsed and normalised.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Category(CategoryRow),
    Item(ItemRow),
    Lot(LotRow),
    Location(LocationRow),
    Stock(StockRow),
    Customer(CustomerRow),
    Serial(SerialRow),
    Task(TaskRow),
    Operator(OperatorRow),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRow {
    pub id: String,
    /// Largest first.
    pub near_expiry_days: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    pub category: String,
    /// GTIN-14.
    pub gtins: Vec<String>,
    pub aliases: Vec<String>,
    pub shelf_life_days: Option<u32>,
    pub min_remaining_days_receipt: Option<u32>,
    pub min_remaining_pct_receipt: Option<u8>,
    /// Largest first.
    pub near_expiry_days: Option<Vec<u32>>,
    pub requires_qc: bool,
    pub serialized: bool,
    pub regulated: bool,
    pub storage: Storage,
    /// How far a count may be off before it asks for a recount; none is 0.
    pub count_tolerance: Option<CountTolerance>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LotRow {
    pub item: String,
    pub lot: String,
    pub expiry: Option<NaiveDate>,
    pub production_date: Option<NaiveDate>,
    pub qc_date: Option<NaiveDate>,
    pub status: LotStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocationRow {
    /// Upper case.
    pub code: String,
    pub warehouse: String,
    pub zone: String,
    pub kind: &'static str,
    /// `ambient`, `chilled` or `frozen`.
    pub storage: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StockRow {
    /// Upper case.
    pub location: String,
    pub item: String,
    pub lot: String,
    pub qty: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub min_remaining_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SerialRow {
    pub item: String,
    pub serial: String,
    pub lot: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub id: String,
    pub kind: &'static str,
    pub customer: Option<String>,
    pub reference: Option<String>,
    pub created_at: Option<String>,
    /// How far a receipt may go over or under each line's quantity, in percent.
    pub tolerance_pct: u8,
    /// Count tasks: the locations to count (upper case, each once, in the file's order).
    pub locations: Vec<String>,
    /// Count tasks: every location of this zone is counted.
    pub zone: Option<String>,
    /// Count tasks: the counter does not see the expected quantities (the default).
    pub blind: bool,
    pub lines: Vec<TaskLineRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskLineRow {
    pub item: String,
    pub lot: Option<String>,
    /// Upper case.
    pub location: Option<String>,
    pub qty: u32,
    /// Receipt lines: the lot's expiry as the ASN gives it.
    pub expiry: Option<NaiveDate>,
    /// Receipt lines: the pallet (18 digits, check digit verified) the line ships on.
    pub sscc: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperatorRow {
    pub id: String,
    pub name: String,
    /// Checked (digits only, 4 to 12 of them); the store keeps only its argon2id hash.
    pub pin: Pin,
    /// In the order of [`ROLES`], each once.
    pub roles: Vec<&'static str>,
}

/// A plaintext PIN on its way to being hashed. Its `Debug` does not show it, so a row printed in
/// a test failure or a log does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// The PIN itself, for hashing (or, from `pin_hash`, its argon2id PHC string, which
    /// `pin::hash_pin` keeps as it is).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<hidden>)")
    }
}

pub const LOCATION_KINDS: &[&str] = &["pick", "reserve", "receiving", "quarantine", "shipping"];
pub const TASK_KINDS: &[&str] = &["receipt", "pick", "count"];
const TASK_LINE_FIELDS: &[&str] = &["item", "lot", "location", "qty", "expiry", "sscc"];
/// What an operator may do; `supervisor` authorises overrides.
pub const ROLES: &[&str] = &["receiver", "picker", "checker", "counter", "supervisor"];
const STATUSES: &[&str] = &["released", "quarantine", "on_hold", "recalled", "rejected"];
const STORAGES: &[&str] = &["ambient", "chilled", "frozen"];
/// The largest stock quantity accepted.
pub const QTY_MAX: u64 = 1_000_000_000_000;

/// The problems found in one record: (field path, reason).
type Problems = Vec<(Option<String>, Reason)>;

/// Reads the fields of one JSON object, collecting a problem per bad field.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    /// `""` for a record, `"lines[2]."` for a nested object.
    prefix: String,
    problems: &'a mut Problems,
}

impl<'a> Fields<'a> {
    fn new(
        obj: &'a Map<String, Value>,
        prefix: String,
        allowed: &'static [&'static str],
        problems: &'a mut Problems,
    ) -> Self {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                let shown = if k.is_empty() { "\"\"".to_owned() } else { short(k) };
                problems.push((Some(format!("{prefix}{shown}")), Reason::UnknownField { allowed }));
            }
        }
        Fields { obj, prefix, problems }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn bad(&mut self, path: String, r: Reason) {
        self.problems.push((Some(path), r));
    }

    /// The value, `None` when absent or null.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn opt_text(&mut self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(s) => Some(s.clone()),
            v => {
                let r = Reason::WrongType {
                    expected: Expect::Text,
                    found: found_en(v),
                };
                self.bad(self.path(name), r);
                None
            }
        }
    }

    /// A required text field that must not be blank.
    fn text(&mut self, name: &str) -> Option<String> {
        if self.get(name).is_none() {
            self.bad(self.path(name), Reason::Missing);
            return None;
        }
        let s = self.opt_text(name)?;
        if s.trim().is_empty() {
            self.bad(self.path(name), Reason::Empty);
            return None;
        }
        Some(s)
    }

    fn uint_at(&mut self, path: String, v: &Value, min: u64, max: u64) -> Option<u64> {
        let n = match v {
            Value::Number(n) => n,
            v => {
                let r = Reason::WrongType {
                    expected: Expect::WholeNumber,
                    found: found_en(v),
                };
                self.bad(path, r);
                return None;
            }
        };
        match n.as_u64() {
            Some(x) if (min..=max).contains(&x) => Some(x),
            _ if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() != 0.0) => {
                let r = Reason::WrongType {
                    expected: Expect::WholeNumber,
                    found: found_en(v),
                };
                self.bad(path, r);
                None
            }
            _ => {
                self.bad(
                    path,
                    Reason::OutOfRange {
                        value: short(&n.to_string()),
                        min,
                        max,
                    },
                );
                None
            }
        }
    }

    /// An optional whole number in `min..=max`; `Err(())` when present but bad.
    fn opt_uint(&mut self, name: &str, min: u64, max: u64) -> Result<Option<u64>, ()> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => self.uint_at(self.path(name), v, min, max).map(Some).ok_or(()),
        }
    }

    /// `true` or `false`; `default` when absent or null.
    fn boolean(&mut self, name: &str, default: bool) -> Option<bool> {
        match self.get(name) {
            None => Some(default),
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                let r = Reason::WrongType {
                    expected: Expect::Bool,
                    found: found_en(v),
                };
                self.bad(self.path(name), r);
                None
            }
        }
    }

    fn list(&mut self, name: &str) -> Option<&'a [Value]> {
        match self.get(name)? {
            Value::Array(a) => Some(a),
            v => {
                let r = Reason::WrongType {
                    expected: Expect::List,
                    found: found_en(v),
                };
                self.bad(self.path(name), r);
                None
            }
        }
    }

    /// A list of text: the elements that are text (with their paths), and whether all were.
    fn text_list(&mut self, name: &str) -> (Vec<(String, String)>, bool) {
        if self.get(name).is_none() {
            return (vec![], true);
        }
        let Some(items) = self.list(name) else {
            return (vec![], false);
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, v) in items.iter().enumerate() {
            let path = format!("{}[{i}]", self.path(name));
            match v {
                Value::String(s) => out.push((path, s.clone())),
                v => {
                    let r = Reason::WrongType {
                        expected: Expect::Text,
                        found: found_en(v),
                    };
                    self.bad(path, r);
                    ok = false;
                }
            }
        }
        (out, ok)
    }

    /// Warning tiers in days, largest first; `Err(())` when present but bad.
    fn tiers(&mut self, name: &str) -> Result<Option<Vec<u32>>, ()> {
        if self.get(name).is_none() {
            return Ok(None);
        }
        let items = self.list(name).ok_or(())?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, v) in items.iter().enumerate() {
            let path = format!("{}[{i}]", self.path(name));
            match self.uint_at(path, v, 0, 36_500) {
                Some(x) => out.push(x as u32),
                None => ok = false,
            }
        }
        if !ok {
            return Err(());
        }
        out.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Some(out))
    }

    fn date(&mut self, name: &str) -> Result<Option<NaiveDate>, ()> {
        let Some(s) = self.opt_text(name) else {
            return if self.get(name).is_some() { Err(()) } else { Ok(None) };
        };
        match parse_iso_date(&s) {
            Ok(d) => Ok(Some(d)),
            Err(_) => {
                self.bad(self.path(name), Reason::BadDate { value: s });
                Err(())
            }
        }
    }

    fn one_of(&mut self, name: &str, default: &'static str, allowed: &'static [&'static str]) -> Option<&'static str> {
        let Some(s) = self.opt_text(name) else {
            return if self.get(name).is_some() { None } else { Some(default) };
        };
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Some(a),
            None => {
                self.bad(self.path(name), Reason::NotOneOf { value: s, allowed });
                None
            }
        }
    }

    fn id(&mut self, name: &str, kind: IdKind, required: bool) -> Option<String> {
        let s = if required {
            self.text(name)?
        } else {
            self.opt_text(name)?
        };
        self.id_at(self.path(name), &s, kind)
    }

    /// `s`, checked as an identifier of `kind` and normalised; a problem at `path` if it is not one.
    fn id_at(&mut self, path: String, s: &str, kind: IdKind) -> Option<String> {
        let s = s.to_owned();
        let checked = match kind {
            IdKind::Gtin => Gtin::new(&s).map(|g| g.as_str().to_owned()),
            IdKind::Lot => LotNo::new(&s).map(|l| l.as_str().to_owned()),
            IdKind::Serial => SerialNo::new(&s).map(|l| l.as_str().to_owned()),
            IdKind::Location => LocationCode::new(&s).map(|l| l.as_str().to_owned()),
            IdKind::Sscc => Sscc::new(&s).map(|l| l.as_str().to_owned()),
        };
        match checked {
            Ok(v) => Some(v),
            Err(e) => {
                self.bad(path, Reason::BadId { kind, detail: e.why });
                None
            }
        }
    }

    /// An item's count tolerance: a whole number of units (`2` or `"2"`) or a percentage
    /// (`"5%"`, 0 to 100); `Err(())` when present but bad.
    fn count_tolerance(&mut self, name: &str) -> Result<Option<CountTolerance>, ()> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let path = self.path(name);
        let (digits, percent) = match v {
            Value::Number(n) if n.is_u64() || n.is_i64() => {
                return self
                    .uint_at(path, v, 0, QTY_MAX)
                    .map(|n| Some(CountTolerance::Units(n)))
                    .ok_or(());
            }
            Value::String(s) => match s.strip_suffix('%') {
                Some(d) => (d, true),
                None => (s.as_str(), false),
            },
            _ => ("", false),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            self.bad(path, Reason::BadCountTolerance { found: found_en(v) });
            return Err(());
        }
        let max = if percent { 100 } else { QTY_MAX };
        match digits.parse::<u64>() {
            Ok(n) if n <= max && percent => Ok(Some(CountTolerance::Percent(n as u8))),
            Ok(n) if n <= max => Ok(Some(CountTolerance::Units(n))),
            _ => {
                let value = short(v.as_str().unwrap_or_default());
                self.bad(path, Reason::OutOfRange { value, min: 0, max });
                Err(())
            }
        }
    }
}

/// Checks one record of `section`; the row with every value parsed, or every problem found.
pub fn check_row(section: Section, v: &Value) -> Result<Row, Problems> {
    let mut problems = Problems::new();
    let Value::Object(obj) = v else {
        problems.push((
            None,
            Reason::WrongType {
                expected: Expect::Object,
                found: found_en(v),
            },
        ));
        return Err(problems);
    };
    let row = {
        let mut f = Fields::new(obj, String::new(), section.fields(), &mut problems);
        match section {
            Section::Categories => category(&mut f),
            Section::Items => item(&mut f),
            Section::Lots => lot(&mut f),
            Section::Locations => location(&mut f),
            Section::Stock => stock(&mut f),
            Section::Customers => customer(&mut f),
            Section::Serials => serial(&mut f),
            Section::Tasks => task(&mut f),
            Section::Operators => operator(&mut f),
        }
    };
    match row {
        Some(r) if problems.is_empty() => Ok(r),
        _ => {
            debug_assert!(!problems.is_empty(), "a refused row names a problem");
            if problems.is_empty() {
                problems.push((
                    None,
                    Reason::Rejected {
                        detail: "invalid".into(),
                    },
                ));
            }
            Err(problems)
        }
    }
}

fn category(f: &mut Fields<'_>) -> Option<Row> {
    let id = f.text("id");
    let tiers = match f.tiers("near_expiry_days") {
        Ok(Some(t)) if t.is_empty() => {
            f.bad(f.path("near_expiry_days"), Reason::NoTiers);
            None
        }
        Ok(None) => {
            f.bad(f.path("near_expiry_days"), Reason::Missing);
            None
        }
        Ok(t) => t,
        Err(()) => None,
    };
    Some(Row::Category(CategoryRow {
        id: id?,
        near_expiry_days: tiers?,
    }))
}

fn item(f: &mut Fields<'_>) -> Option<Row> {
    let id = f.text("id");
    let name_en = f.text("name_en");
    let name_zh = f.text("name_zh");
    let category = f.text("category");
    let (gtins, mut gtins_ok) = f.text_list("gtins");
    let mut gtin14 = Vec::new();
    for (path, g) in gtins {
        match Gtin::new(&g) {
            Ok(g) => gtin14.push(g.as_str().to_owned()),
            Err(e) => {
                f.bad(
                    path,
                    Reason::BadId {
                        kind: IdKind::Gtin,
                        detail: e.why,
                    },
                );
                gtins_ok = false;
            }
        }
    }
    let (aliases, mut aliases_ok) = f.text_list("aliases");
    let mut alias_list = Vec::new();
    for (path, a) in aliases {
        if a.trim().is_empty() {
            f.bad(path, Reason::Empty);
            aliases_ok = false;
        } else {
            alias_list.push(a);
        }
    }
    let shelf = f.opt_uint("shelf_life_days", 1, 36_500);
    let min_days = f.opt_uint("min_remaining_days_receipt", 0, 36_500);
    let min_pct = f.opt_uint("min_remaining_pct_receipt", 0, 100);
    if let (Ok(Some(_)), Ok(Some(_))) = (&min_days, &min_pct) {
        f.bad(f.path("min_remaining_pct_receipt"), Reason::BothMinRemaining);
    }
    let tiers = f.tiers("near_expiry_days");
    if let Ok(Some(t)) = &tiers
        && t.is_empty()
    {
        f.bad(f.path("near_expiry_days"), Reason::NoTiers);
    }
    let requires_qc = f.boolean("requires_qc", false);
    let serialized = f.boolean("serialized", false);
    let regulated = f.boolean("regulated", false);
    let storage = f
        .one_of("storage", "ambient", STORAGES)
        .map(|s| s.parse::<Storage>().unwrap_or_default());
    let count_tolerance = f.count_tolerance("count_tolerance");
    if !gtins_ok || !aliases_ok {
        return None;
    }
    Some(Row::Item(ItemRow {
        id: id?,
        name_en: name_en?,
        name_zh: name_zh?,
        category: category?,
        gtins: gtin14,
        aliases: alias_list,
        shelf_life_days: shelf.ok()?.map(|x| x as u32),
        min_remaining_days_receipt: min_days.ok()?.map(|x| x as u32),
        min_remaining_pct_receipt: min_pct.ok()?.map(|x| x as u8),
        near_expiry_days: tiers.ok()?,
        requires_qc: requires_qc?,
        serialized: serialized?,
        regulated: regulated?,
        storage: storage?,
        count_tolerance: count_tolerance.ok()?,
    }))
}

fn lot(f: &mut Fields<'_>) -> Option<Row> {
    let item = f.text("item");
    let lot = f.id("lot", IdKind::Lot, true);
    let expiry = f.date("expiry");
    let production_date = f.date("production_date");
    let qc_date = f.date("qc_date");
    let status = f
        .one_of("status", "released", STATUSES)
        .map(|s| s.parse::<LotStatus>().unwrap_or(LotStatus::Released));
    if let (Ok(Some(p)), Ok(Some(e))) = (&production_date, &expiry)
        && p > e
    {
        f.bad(
            f.path("production_date"),
            Reason::ProductionAfterExpiry {
                production: *p,
                expiry: *e,
            },
        );
        return None;
    }
    Some(Row::Lot(LotRow {
        item: item?,
        lot: lot?,
        expiry: expiry.ok()?,
        production_date: production_date.ok()?,
        qc_date: qc_date.ok()?,
        status: status?,
    }))
}

fn location(f: &mut Fields<'_>) -> Option<Row> {
    let code = f.id("code", IdKind::Location, true);
    let warehouse = f.text("warehouse");
    let zone = f.text("zone");
    let kind = f.one_of("kind", "pick", LOCATION_KINDS);
    let storage = f.one_of("storage", "ambient", STORAGES);
    Some(Row::Location(LocationRow {
        code: code?,
        warehouse: warehouse?,
        zone: zone?,
        kind: kind?,
        storage: storage?,
    }))
}

fn stock(f: &mut Fields<'_>) -> Option<Row> {
    let location = f.id("location", IdKind::Location, true);
    let item = f.text("item");
    let lot = f.text("lot");
    let qty = match f.get("qty") {
        None => {
            f.bad(f.path("qty"), Reason::Missing);
            None
        }
        Some(v) => f.uint_at(f.path("qty"), v, 0, QTY_MAX),
    };
    Some(Row::Stock(StockRow {
        location: location?,
        item: item?,
        lot: lot?,
        qty: qty? as i64,
    }))
}

fn customer(f: &mut Fields<'_>) -> Option<Row> {
    let id = f.text("id");
    let name = f.text("name");
    let min = f.opt_uint("min_remaining_days", 0, 36_500);
    Some(Row::Customer(CustomerRow {
        id: id?,
        name: name?,
        min_remaining_days: min.ok()?.map(|x| x as u32),
    }))
}

fn serial(f: &mut Fields<'_>) -> Option<Row> {
    let item = f.text("item");
    let serial = f.id("serial", IdKind::Serial, true);
    let lot = f.opt_text("lot");
    let lot_bad = lot.is_none() && f.get("lot").is_some();
    if lot_bad {
        return None;
    }
    Some(Row::Serial(SerialRow {
        item: item?,
        serial: serial?,
        lot,
    }))
}

fn task(f: &mut Fields<'_>) -> Option<Row> {
    let id = f.text("id");
    let kind = match f.get("kind") {
        None => {
            f.bad(f.path("kind"), Reason::Missing);
            None
        }
        Some(_) => f.one_of("kind", "pick", TASK_KINDS),
    };
    let customer = f.opt_text("customer");
    let reference = f.opt_text("reference");
    let created_at = f.opt_text("created_at");
    let mut ok = [
        ("customer", &customer),
        ("reference", &reference),
        ("created_at", &created_at),
    ]
    .iter()
    .all(|(n, v)| v.is_some() || f.get(n).is_none());
    // A pick or count task given a receipt's field (a task of a bad kind is refused already).
    let other_kind = kind.filter(|k| *k != "receipt");
    let receipt = kind == Some("receipt");
    let tolerance = match other_kind {
        Some(k) if f.get("tolerance_pct").is_some() => {
            f.bad(f.path("tolerance_pct"), Reason::ReceiptOnly { kind: k });
            Err(())
        }
        _ => f.opt_uint("tolerance_pct", 0, 100),
    };
    ok &= tolerance.is_ok();
    let scope = count_scope(f, kind);
    ok &= scope.is_some();
    // A receipt line says how many are expected (the tolerance is a share of it), a pick line
    // how many to pick; a count line may leave it out.
    let needs_qty = matches!(kind, Some("receipt" | "pick"));
    let mut lines = Vec::new();
    if f.get("lines").is_some() {
        match f.list("lines") {
            None => ok = false,
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    let prefix = format!("lines[{i}].");
                    let Value::Object(obj) = v else {
                        let r = Reason::WrongType {
                            expected: Expect::Object,
                            found: found_en(v),
                        };
                        f.bad(format!("lines[{i}]"), r);
                        ok = false;
                        continue;
                    };
                    let mut lf = Fields::new(obj, prefix, TASK_LINE_FIELDS, f.problems);
                    let item = lf.text("item");
                    // An ASN's lot becomes a lot record at receipt, so it must be a GS1 lot.
                    let lot = if receipt && lf.get("lot").is_some() {
                        lf.id("lot", IdKind::Lot, false)
                    } else {
                        lf.opt_text("lot")
                    };
                    let lot_ok = lot.is_some() || lf.get("lot").is_none();
                    let location = if lf.get("location").is_some() {
                        lf.id("location", IdKind::Location, false).map(Some)
                    } else {
                        Some(None)
                    };
                    let qty = match (needs_qty, lf.get("qty")) {
                        (true, None) => {
                            lf.bad(lf.path("qty"), Reason::Missing);
                            Err(())
                        }
                        (true, Some(v)) => lf
                            .uint_at(lf.path("qty"), v, 1, u64::from(u32::MAX))
                            .map(Some)
                            .ok_or(()),
                        (false, _) => lf.opt_uint("qty", 0, u64::from(u32::MAX)),
                    };
                    let (mut expiry, mut sscc, mut receipt_fields_ok) = (Ok(None), Some(None), true);
                    match other_kind {
                        Some(k) => {
                            for name in ["expiry", "sscc"] {
                                if lf.get(name).is_some() {
                                    lf.bad(lf.path(name), Reason::ReceiptOnly { kind: k });
                                    receipt_fields_ok = false;
                                }
                            }
                        }
                        None => {
                            expiry = lf.date("expiry");
                            if lf.get("sscc").is_some() {
                                sscc = lf.id("sscc", IdKind::Sscc, false).map(Some);
                            }
                        }
                    }
                    match (item, lot_ok && receipt_fields_ok, location, qty, expiry, sscc) {
                        (Some(item), true, Some(location), Ok(qty), Ok(expiry), Some(sscc)) => {
                            lines.push(TaskLineRow {
                                item,
                                lot,
                                location,
                                qty: qty.unwrap_or(0) as u32,
                                expiry,
                                sscc,
                            })
                        }
                        _ => ok = false,
                    }
                }
            }
        }
    }
    // A count task must say what to count: locations, a zone, or lines that name their location.
    let given = |v: &Value| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty());
    let a_line_has_location = (f.get("lines").and_then(Value::as_array))
        .is_some_and(|ls| ls.iter().any(|l| l.get("location").is_some_and(|v| !v.is_null())));
    if kind == Some("count")
        && !f.obj.get("locations").is_some_and(given)
        && f.get("zone").is_none()
        && !a_line_has_location
    {
        f.bad(f.path("locations"), Reason::CountWithoutLocations);
        ok = false;
    }
    if !ok {
        return None;
    }
    let (locations, zone, blind) = scope?;
    Some(Row::Task(TaskRow {
        id: id?,
        kind: kind?,
        customer,
        reference,
        created_at,
        tolerance_pct: tolerance.ok()?.unwrap_or(0) as u8,
        locations,
        zone,
        blind,
        lines,
    }))
}

/// A count task's `locations`, `zone` and `blind` (default true). On a task of another kind each
/// of them is a problem. `None` when any of them is bad.
fn count_scope(f: &mut Fields<'_>, kind: Option<&'static str>) -> Option<(Vec<String>, Option<String>, bool)> {
    if let Some(k) = kind.filter(|k| *k != "count") {
        let mut ok = true;
        for name in ["locations", "zone", "blind"] {
            if f.get(name).is_some() {
                f.bad(f.path(name), Reason::CountOnly { kind: k });
                ok = false;
            }
        }
        return ok.then(|| (Vec::new(), None, true));
    }
    let mut ok = true;
    let given: &[Value] = if f.get("locations").is_some() {
        f.list("locations").unwrap_or_else(|| {
            ok = false;
            &[]
        })
    } else {
        &[]
    };
    // A location named twice is counted once.
    let mut seen = HashSet::with_capacity(given.len());
    let mut locations = Vec::with_capacity(given.len());
    for (i, v) in given.iter().enumerate() {
        let path = format!("{}[{i}]", f.path("locations"));
        let code = match v {
            Value::String(code) => f.id_at(path, code, IdKind::Location),
            v => {
                let r = Reason::WrongType {
                    expected: Expect::Text,
                    found: found_en(v),
                };
                f.bad(path, r);
                None
            }
        };
        match code {
            Some(c) => {
                if seen.insert(c.clone()) {
                    locations.push(c);
                }
            }
            None => ok = false,
        }
    }
    let zone = f.opt_text("zone");
    match &zone {
        None if f.get("zone").is_some() => ok = false,
        Some(z) if z.trim().is_empty() => {
            f.bad(f.path("zone"), Reason::Empty);
            ok = false;
        }
        _ => {}
    }
    let blind = f.boolean("blind", true);
    ok &= blind.is_some();
    ok.then(|| (locations, zone, blind.unwrap_or(true)))
}

fn operator(f: &mut Fields<'_>) -> Option<Row> {
    let id = f.text("id");
    let name = f.text("name");
    // Read by hand: a PIN is never quoted back, not even as "found the number 1234". An export
    // of hashed PINs gives `pin_hash` (an argon2id PHC string) instead; it is kept as it is.
    let pin = match (f.get("pin"), f.get("pin_hash")) {
        (None, Some(Value::String(h))) if is_argon2id_phc(h) => Some(Pin(h.clone())),
        (None, Some(_)) => {
            f.bad(f.path("pin_hash"), Reason::BadPin(PinProblem::NotAHash));
            None
        }
        (p, _) => match p {
            None => {
                f.bad(f.path("pin"), Reason::Missing);
                None
            }
            Some(Value::String(p)) => match pin_problem(p) {
                None => Some(Pin(p.clone())),
                Some(why) => {
                    f.bad(f.path("pin"), Reason::BadPin(why));
                    None
                }
            },
            Some(_) => {
                f.bad(f.path("pin"), Reason::BadPin(PinProblem::NotText));
                None
            }
        },
    };
    let roles = if f.get("roles").is_none() {
        f.bad(f.path("roles"), Reason::Missing);
        None
    } else {
        let (given, mut all_ok) = f.text_list("roles");
        let mut known = [false; ROLES.len()];
        for (path, r) in &given {
            match ROLES.iter().position(|k| k == r) {
                Some(i) => known[i] = true,
                None => {
                    let why = Reason::NotOneOf {
                        value: r.clone(),
                        allowed: ROLES,
                    };
                    f.bad(path.clone(), why);
                    all_ok = false;
                }
            }
        }
        if all_ok && given.is_empty() {
            f.bad(f.path("roles"), Reason::NoRoles);
            all_ok = false;
        }
        all_ok.then(|| {
            ROLES
                .iter()
                .zip(known)
                .filter_map(|(r, k)| k.then_some(*r))
                .collect::<Vec<_>>()
        })
    };
    Some(Row::Operator(OperatorRow {
        id: id?,
        name: name?,
        pin: pin?,
        roles: roles?,
    }))
}

/// What the reader hands on, record by record, in file order.
#[derive(Debug)]
pub enum Event {
    /// A record that passed every check.
    Row { pos: Pos, key: Option<String>, row: Row },
    /// A problem: a bad field of a record, a bad record, or a bad section.
    Bad(RowError),
    /// After the problems of a refused record that has a key: the record is not written, so
    /// references to it can say why.
    Refused { pos: Pos, key: String },
}

/// Returned by the receiver of events to stop reading (the reader then returns [`ReadError::Stopped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop;

/// The ways reading a file can fail as a whole. Problems with records are [`Event::Bad`] instead.
#[derive(Debug)]
pub enum ReadError {
    /// Not JSON, cut short, or not an object of sections.
    Json(JsonError),
    /// The receiver returned [`Stop`].
    Stopped,
}

/// A file that is not JSON or not shaped as an import file, with where the reader stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub kind: JsonErrorKind,
    pub line: usize,
    pub column: usize,
    /// serde_json's description.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// Not JSON syntax.
    Syntax,
    /// The file ends in the middle of a value (cut short).
    Eof,
    /// JSON, but not an object of sections at the top level.
    Shape,
    /// The file could not be read.
    Io,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            JsonErrorKind::Syntax => write!(f, "the file is not valid JSON: {}", self.detail),
            JsonErrorKind::Eof => write!(
                f,
                "the file ends in the middle of the JSON (was it cut short?): {}",
                self.detail
            ),
            JsonErrorKind::Shape => write!(
                f,
                "the file is not an import file: {} (the top level must be an object of sections such as \"items\": [ … ]; see README, \"Import format\")",
                self.detail
            ),
            JsonErrorKind::Io => write!(f, "the file could not be read: {}", self.detail),
        }
    }
}

impl Bilingual for JsonError {
    fn message_zh(&self) -> String {
        let (l, c) = (self.line, self.column);
        match self.kind {
            JsonErrorKind::Syntax => format!("文件不是有效的 JSON（第 {l} 行第 {c} 列）"),
            JsonErrorKind::Eof => format!("文件在第 {l} 行第 {c} 列意外结束，JSON 不完整（文件是否被截断？）"),
            JsonErrorKind::Shape => format!(
                "文件不是导入文件（第 {l} 行第 {c} 列）：顶层必须是由各部分组成的对象，如 \"items\": [ … ]（见 README“Import format”）"
            ),
            JsonErrorKind::Io => format!("无法读取文件：{}", self.detail),
        }
    }
}

/// serde's custom error that carries a [`Stop`] out of the visitors.
const STOP: &str = "lotline-import: stopped by the receiver";

type Receiver<'r> = dyn FnMut(Event) -> Result<(), Stop> + 'r;

fn send<E: de::Error>(on: &mut Receiver<'_>, ev: Event) -> Result<(), E> {
    on(ev).map_err(|Stop| E::custom(STOP))
}

/// Reads an import file from `r`, handing every record (or its problems) to `on` as it goes.
///
/// Holds one record in memory at a time. `Err(Json)` when the bytes are not JSON or not an
/// object of sections; problems with sections and records are [`Event::Bad`] events and reading
/// goes on, so every problem in the file is found.
pub fn read_import<R: Read>(r: R, on: &mut Receiver<'_>) -> Result<(), ReadError> {
    let mut de = serde_json::Deserializer::from_reader(r);
    let res = de.deserialize_map(Top { on: &mut *on }).and_then(|()| de.end());
    match res {
        Ok(()) => Ok(()),
        Err(e) if e.is_data() && e.to_string().starts_with(STOP) => Err(ReadError::Stopped),
        Err(e) => {
            let kind = match e.classify() {
                serde_json::error::Category::Syntax => JsonErrorKind::Syntax,
                serde_json::error::Category::Eof => JsonErrorKind::Eof,
                serde_json::error::Category::Data => JsonErrorKind::Shape,
                serde_json::error::Category::Io => JsonErrorKind::Io,
            };
            Err(ReadError::Json(JsonError {
                kind,
                line: e.line(),
                column: e.column(),
                detail: e.to_string(),
            }))
        }
    }
}

struct Top<'a, 'r> {
    on: &'a mut Receiver<'r>,
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object of sections ({})", Section::NAMES.join(", "))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = [false; Section::ALL.len()];
        while let Some(key) = map.next_key::<String>()? {
            let bad = |why| {
                Event::Bad(RowError {
                    record: if key.is_empty() { "\"\"".into() } else { short(&key) },
                    key: None,
                    field: None,
                    why,
                })
            };
            match Section::from_name(&key) {
                Some(s) if seen[s as usize] => {
                    send(self.on, bad(Reason::SectionTwice))?;
                    map.next_value::<IgnoredAny>()?;
                }
                Some(s) => {
                    seen[s as usize] = true;
                    map.next_value_seed(SectionSeed {
                        section: s,
                        on: &mut *self.on,
                    })?;
                }
                None => {
                    send(self.on, bad(Reason::UnknownSection))?;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct SectionSeed<'a, 'r> {
    section: Section,
    on: &'a mut Receiver<'r>,
}

impl<'de> DeserializeSeed<'de> for SectionSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl SectionSeed<'_, '_> {
    fn not_a_list<E: de::Error>(self, found: &str) -> Result<(), E> {
        send(
            self.on,
            Event::Bad(RowError {
                record: self.section.name().to_owned(),
                key: None,
                field: None,
                why: Reason::NotAList {
                    found: found.to_owned(),
                },
            }),
        )
    }
}

impl<'de> Visitor<'de> for SectionSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of {} records", self.section.name())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        while let Some(v) = seq.next_element::<Value>()? {
            let pos = Pos {
                section: self.section,
                index,
            };
            index += 1;
            let key = v
                .get(self.section.key_field())
                .and_then(Value::as_str)
                .map(str::to_owned);
            match check_row(self.section, &v) {
                Ok(row) => send(self.on, Event::Row { pos, key, row })?,
                Err(problems) => {
                    for (field, why) in problems {
                        let e = RowError {
                            record: pos.to_string(),
                            key: key.clone(),
                            field,
                            why,
                        };
                        send(self.on, Event::Bad(e))?;
                    }
                    if let Some(key) = key {
                        send(self.on, Event::Refused { pos, key })?;
                    }
                }
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.not_a_list("an object")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.not_a_list(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.not_a_list(&found_en(&Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.not_a_list(&found_en(&Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.not_a_list(&found_en(&Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.not_a_list(&found_en(&Value::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_a_list("null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.not_a_list("null")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = (Vec<(String, Row)>, Vec<RowError>, Result<(), ReadError>);

    fn read(json: &str) -> Read {
        let (mut rows, mut bad) = (vec![], vec![]);
        let res = read_import(json.as_bytes(), &mut |ev| {
            match ev {
                Event::Row { pos, row, .. } => rows.push((pos.to_string(), row)),
                Event::Bad(e) => bad.push(e),
                Event::Refused { .. } => {}
            }
            Ok(())
        });
        (rows, bad, res)
    }

    fn paths(bad: &[RowError]) -> Vec<String> {
        bad.iter().map(RowError::path).collect()
    }

    #[test]
    fn every_bad_field_is_named_by_its_path() {
        let (rows, bad, res) = read(
            r#"{"items": [
                {"id": "X1", "name_en": "a", "name_zh": "甲", "category": "c"},
                {"id": "X2", "name_en": 123, "name_zh": "乙", "category": "c", "shelf_life_days": "ten",
                 "requires_qc": "yes", "gtins": ["9501101530003", 5, "123"], "colour": "red"}
            ]}"#,
        );
        assert!(res.is_ok());
        assert_eq!(rows.len(), 1);
        assert_eq!(
            paths(&bad),
            [
                "items[1].colour",
                "items[1].name_en",
                "items[1].gtins[1]",
                "items[1].gtins[2]",
                "items[1].shelf_life_days",
                "items[1].requires_qc"
            ]
        );
        let text: Vec<String> = bad.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text[1],
            "items[1].name_en (X2): expected text in quotes, found the number 123"
        );
        assert_eq!(
            text[5],
            "items[1].requires_qc (X2): expected true or false, found the text \"yes\""
        );
        assert_eq!(
            bad[5].message_zh(),
            "items[1].requires_qc (X2)：应为 true 或 false，实际为文本 \"yes\""
        );
    }

    #[test]
    fn task_lines_have_nested_paths() {
        let (_, bad, _) = read(
            r#"{"tasks": [{"id": "T1", "kind": "pick", "lines": [{"item": "A", "qty": 1}, {"item": "A"}, {"item": "B", "qty": -2}, 7]}]}"#,
        );
        assert_eq!(
            paths(&bad),
            ["tasks[0].lines[1].qty", "tasks[0].lines[2].qty", "tasks[0].lines[3]"]
        );
    }

    #[test]
    fn sections_that_are_not_lists_and_unknown_sections_are_reported_and_reading_goes_on() {
        let (rows, bad, res) = read(
            r#"{"itemz": [1], "items": {"id": 1}, "customers": [{"id": "C", "name": "n"}], "lots": 5, "customers": []}"#,
        );
        assert!(res.is_ok());
        assert_eq!(rows.len(), 1);
        assert_eq!(paths(&bad), ["itemz", "items", "lots", "customers"]);
        assert!(matches!(bad[3].why, Reason::SectionTwice));
    }

    #[test]
    fn broken_json_is_one_error_with_its_place() {
        for (json, kind) in [
            ("{\"items\": [", JsonErrorKind::Eof),
            ("{\"items\": [}", JsonErrorKind::Syntax),
            ("[1, 2]", JsonErrorKind::Shape),
            ("{} x", JsonErrorKind::Syntax),
            ("", JsonErrorKind::Eof),
        ] {
            match read(json).2 {
                Err(ReadError::Json(e)) => assert_eq!(e.kind, kind, "{json}: {e}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn stop_ends_reading() {
        let mut n = 0;
        let res = read_import(
            r#"{"customers": [{"id": "A", "name": "a"}, {"id": "B", "name": "b"}]}"#.as_bytes(),
            &mut |_| {
                n += 1;
                Err(Stop)
            },
        );
        assert!(matches!(res, Err(ReadError::Stopped)));
        assert_eq!(n, 1);
    }

    #[test]
    fn operators_are_checked_field_by_field_and_a_pin_is_never_shown() {
        let (rows, bad, _) = read(
            r#"{"operators": [
                {"id": "recv1", "name": "Receiver 1", "pin": "0420", "roles": ["picker", "receiver", "picker"]},
                {"id": "x1", "name": "X", "pin": "987", "roles": []},
                {"id": "x2", "name": "X", "pin": "98a7", "roles": ["boss"]},
                {"id": "x3", "name": "X", "pin": 987654, "roles": "picker"},
                {"id": "x4", "name": "X", "pin": "9876543210987", "roles": ["picker"], "badge": 1},
                {"id": "x5", "name": ""}
            ]}"#,
        );
        assert_eq!(rows.len(), 1);
        let Row::Operator(op) = &rows[0].1 else {
            panic!("{rows:?}")
        };
        assert_eq!(
            (op.pin.expose(), op.roles.as_slice()),
            ("0420", &["receiver", "picker"][..])
        );
        assert_eq!(format!("{op:?}").matches("0420").count(), 0, "Debug hides the PIN");
        assert_eq!(
            paths(&bad),
            [
                "operators[1].pin",
                "operators[1].roles",
                "operators[2].pin",
                "operators[2].roles[0]",
                "operators[3].pin",
                "operators[3].roles",
                "operators[4].badge",
                "operators[4].pin",
                "operators[5].name",
                "operators[5].pin",
                "operators[5].roles",
            ]
        );
        assert_eq!(
            bad[0].to_string(),
            "operators[1].pin (x1): the PIN must be at least 4 digits"
        );
        assert_eq!(bad[0].message_zh(), "operators[1].pin (x1)：PIN 至少须为 4 位数字");
        assert_eq!(bad[2].why, Reason::BadPin(PinProblem::NotDigits));
        assert_eq!(bad[4].why, Reason::BadPin(PinProblem::NotText));
        assert_eq!(bad[7].why, Reason::BadPin(PinProblem::TooLong));
        for (e, pin) in bad
            .iter()
            .zip(["987", "", "98a7", "", "987654", "", "", "9876543210987"])
        {
            if !pin.is_empty() {
                assert!(!e.to_string().contains(pin) && !e.message_zh().contains(pin), "{e}");
            }
        }
    }

    #[test]
    fn receipt_lines_take_pallets_and_expiries_and_other_tasks_do_not() {
        let (rows, bad, _) = read(
            r#"{"tasks": [
                {"id": "ASN-1", "kind": "receipt", "tolerance_pct": 5, "lines": [
                    {"item": "A", "qty": 10, "lot": "L1", "expiry": "2027-03-31", "sscc": "106141411234567897"},
                    {"item": "A", "qty": 5}]},
                {"id": "ASN-2", "kind": "receipt", "tolerance_pct": 101, "lines": [
                    {"item": "A", "qty": 0, "lot": "L 1", "expiry": "2027-3-31", "sscc": "106141411234567898"},
                    {"item": "A", "sscc": "12345"}]},
                {"id": "PK-1", "kind": "pick", "tolerance_pct": 0, "lines": [
                    {"item": "A", "lot": "any text", "qty": 1, "expiry": "2027-03-31", "sscc": "106141411234567897"}]}
            ]}"#,
        );
        assert_eq!(rows.len(), 1);
        let Row::Task(t) = &rows[0].1 else { panic!() };
        assert_eq!(t.tolerance_pct, 5);
        assert_eq!(t.lines[0].sscc.as_deref(), Some("106141411234567897"));
        assert_eq!(t.lines[0].expiry, NaiveDate::from_ymd_opt(2027, 3, 31));
        assert_eq!((t.lines[1].sscc.as_deref(), t.lines[1].expiry), (None, None));
        assert_eq!(
            paths(&bad),
            [
                "tasks[1].tolerance_pct",
                "tasks[1].lines[0].lot",
                "tasks[1].lines[0].qty",
                "tasks[1].lines[0].expiry",
                "tasks[1].lines[0].sscc",
                "tasks[1].lines[1].qty",
                "tasks[1].lines[1].sscc",
                "tasks[2].tolerance_pct",
                "tasks[2].lines[0].expiry",
                "tasks[2].lines[0].sscc",
            ]
        );
        assert!(bad[4].to_string().contains("has a wrong check digit"), "{}", bad[4]);
        assert!(
            bad[4].message_zh().contains("不是有效的 SSCC"),
            "{}",
            bad[4].message_zh()
        );
        assert_eq!(
            bad[7].to_string(),
            "tasks[2].tolerance_pct (PK-1): only a receipt task takes this field, and this is a pick task"
        );
    }

    #[test]
    fn pick_lines_need_a_quantity_and_count_lines_may_leave_it_out() {
        let (rows, bad, _) = read(
            r#"{"tasks": [
                {"id": "PK-1", "kind": "pick", "lines": [{"item": "A", "qty": 1}, {"item": "A"}, {"item": "A", "qty": 0},
                    {"item": "A", "qty": null}, {"item": "A", "qty": "2"}]},
                {"id": "CC-1", "kind": "count", "lines": [{"item": "A", "location": "L-1"}, {"item": "A", "location": "L-2", "qty": 0},
                    {"item": "A", "location": "L-3", "qty": 7}]}
            ]}"#,
        );
        assert_eq!(
            paths(&bad),
            [
                "tasks[0].lines[1].qty",
                "tasks[0].lines[2].qty",
                "tasks[0].lines[3].qty",
                "tasks[0].lines[4].qty"
            ]
        );
        assert_eq!(bad[0].why, Reason::Missing);
        assert_eq!(
            bad[1].to_string(),
            "tasks[0].lines[2].qty (PK-1): 0 is out of range; must be 1 to 4294967295"
        );
        assert_eq!(rows.len(), 1);
        let Row::Task(t) = &rows[0].1 else { panic!() };
        let qty: Vec<u32> = t.lines.iter().map(|l| l.qty).collect();
        assert_eq!(qty, [0, 0, 7]);
    }

    #[test]
    fn count_tolerance_is_whole_units_or_a_percentage() {
        let item = |tol: &str| {
            format!(r#"{{"id": "X", "name_en": "a", "name_zh": "甲", "category": "c", "count_tolerance": {tol}}}"#)
        };
        let good = ["2", "\"2\"", "0", "\"5%\"", "\"0%\"", "\"100%\"", "\"007\"", "null"];
        let bad = [
            "\"5 %\"",
            "\"2.5%\"",
            "\"abc\"",
            "2.5",
            "-1",
            "\"101%\"",
            "true",
            "\"\"",
            "\"%\"",
            "\"-2\"",
            "\"99999999999999999999\"",
            "[2]",
        ];
        let all: Vec<String> = good.iter().chain(&bad).map(|t| item(t)).collect();
        let (rows, errors, _) = read(&format!(r#"{{"items": [{}]}}"#, all.join(", ")));
        let got: Vec<Option<String>> = rows
            .iter()
            .map(|(_, r)| match r {
                Row::Item(it) => it.count_tolerance.map(|t| t.to_string()),
                _ => unreachable!(),
            })
            .collect();
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(got, [s("2"), s("2"), s("0"), s("5%"), s("0%"), s("100%"), s("7"), None]);
        let want: Vec<String> = (good.len()..all.len())
            .map(|i| format!("items[{i}].count_tolerance"))
            .collect();
        assert_eq!(paths(&errors), want);
        let en: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            en[0],
            "items[8].count_tolerance (X): expected a whole number of units (2 or \"2\") or a percentage of the expected quantity (\"5%\", 0 to 100), found the text \"5 %\""
        );
        assert!(en[3].ends_with("found the number 2.5"), "{}", en[3]);
        assert!(
            en[4].ends_with("-1 is out of range; must be 0 to 1000000000000"),
            "{}",
            en[4]
        );
        assert!(en[5].ends_with("101% is out of range; must be 0 to 100"), "{}", en[5]);
        assert!(en[6].ends_with("found true"), "{}", en[6]);
        assert!(
            en[10].ends_with("is out of range; must be 0 to 1000000000000"),
            "{}",
            en[10]
        );
        assert_eq!(
            errors[2].message_zh(),
            "items[10].count_tolerance (X)：应为整数件数（2 或 \"2\"）或占预期数量的百分比（\"5%\"，0 到 100），实际为文本 \"abc\""
        );
        assert_eq!(
            errors[5].message_zh(),
            "items[13].count_tolerance (X)：101% 超出范围；必须在 0 到 100 之间"
        );
    }

    #[test]
    fn count_tasks_name_their_locations_a_zone_or_lines_with_a_location() {
        let (rows, bad, _) = read(
            r#"{"tasks": [
                {"id": "CC-1", "kind": "count", "locations": ["wh1-a-01", "WH1-A-02", "WH1-A-01"]},
                {"id": "CC-2", "kind": "count", "zone": "WH1-C", "blind": false},
                {"id": "CC-3", "kind": "count", "locations": [], "lines": [{"item": "A", "location": "a-9"}, {"item": "B"}]},
                {"id": "CC-4", "kind": "count", "blind": null, "lines": [{"item": "A"}]},
                {"id": "CC-5", "kind": "count", "locations": ["OK-1", "not a code", 7], "zone": " ", "blind": "no"},
                {"id": "CC-6", "kind": "count", "locations": "WH1-A-01"},
                {"id": "CC-7", "kind": "count", "locations": null, "zone": 3},
                {"id": "PK-1", "kind": "pick", "locations": ["WH1-A-01"], "zone": "A", "blind": true, "lines": [{"item": "A", "qty": 1}]},
                {"id": "ASN-1", "kind": "receipt", "blind": false}
            ]}"#,
        );
        let tasks: Vec<&TaskRow> = rows
            .iter()
            .map(|(_, r)| match r {
                Row::Task(t) => t,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(tasks.len(), 3, "{tasks:#?}");
        assert_eq!(
            (tasks[0].locations.as_slice(), tasks[0].zone.as_deref(), tasks[0].blind),
            (&["WH1-A-01".to_owned(), "WH1-A-02".to_owned()][..], None, true),
            "upper case, each once, blind by default"
        );
        assert_eq!(
            (tasks[1].locations.len(), tasks[1].zone.as_deref(), tasks[1].blind),
            (0, Some("WH1-C"), false)
        );
        assert_eq!(tasks[2].lines[0].location.as_deref(), Some("A-9"));
        assert_eq!(
            paths(&bad),
            [
                "tasks[3].locations",
                "tasks[4].locations[1]",
                "tasks[4].locations[2]",
                "tasks[4].zone",
                "tasks[4].blind",
                "tasks[5].locations",
                "tasks[6].zone",
                "tasks[7].locations",
                "tasks[7].zone",
                "tasks[7].blind",
                "tasks[8].blind",
            ]
        );
        assert_eq!(
            bad[0].to_string(),
            "tasks[3].locations (CC-4): a count task needs something to count: give locations (a list of location codes), a zone, or lines with a location"
        );
        assert_eq!(
            bad[0].message_zh(),
            "tasks[3].locations (CC-4)：盘点任务须指明盘点范围：请给出 locations（库位代码列表）、zone（库区）或带 location 的行"
        );
        assert!(
            matches!(
                bad[1].why,
                Reason::BadId {
                    kind: IdKind::Location,
                    ..
                }
            ),
            "{}",
            bad[1]
        );
        assert_eq!(bad[3].why, Reason::Empty);
        assert_eq!(
            bad[7].to_string(),
            "tasks[7].locations (PK-1): only a count task takes this field, and this is a pick task"
        );
        assert_eq!(
            bad[10].message_zh(),
            "tasks[8].blind (ASN-1)：只有盘点任务（count）才有此字段，此任务为 receipt 任务"
        );
    }

    #[test]
    fn locations_have_a_storage_condition() {
        let (rows, bad, _) = read(
            r#"{"locations": [
                {"code": "C-1", "warehouse": "W", "zone": "C", "storage": "chilled"},
                {"code": "A-1", "warehouse": "W", "zone": "A"},
                {"code": "X-1", "warehouse": "W", "zone": "X", "storage": "warm"}
            ]}"#,
        );
        let storages: Vec<&str> = rows
            .iter()
            .map(|(_, r)| match r {
                Row::Location(l) => l.storage,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(storages, ["chilled", "ambient"]);
        assert_eq!(paths(&bad), ["locations[2].storage"]);
    }

    #[test]
    fn dates_must_be_iso_and_plausible() {
        let (rows, bad, _) = read(
            r#"{"lots": [
                {"item": "A", "lot": "L1", "expiry": "2026-01-01"},
                {"item": "A", "lot": "L2", "expiry": "26-01-01"},
                {"item": "A", "lot": "L3", "expiry": "2026-1-1"},
                {"item": "A", "lot": "L4", "expiry": "+2026-01-01"},
                {"item": "A", "lot": "L5", "expiry": " 2026-01-01"},
                {"item": "A", "lot": "L6", "expiry": "0000-01-01"},
                {"item": "A", "lot": "L7", "expiry": "9999-12-31"},
                {"item": "A", "lot": "L8", "expiry": "2026-02-29"}
            ]}"#,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(bad.len(), 7);
        assert!(bad.iter().all(|e| matches!(e.why, Reason::BadDate { .. })));
        assert!(bad[0].to_string().contains("YYYY-MM-DD"), "{}", bad[0]);
    }
}
