//! The lot model: items, lots, their QC status and storage condition, and customers'
//! shelf-life requirements, as plain data the verdict engine reads.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ids::{Gtin, LotNo};

/// Quality status of a lot. Only `Released` stock may be picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotStatus {
    Released,
    /// Awaiting QC release.
    Quarantine,
    OnHold,
    Recalled,
    Rejected,
}

impl LotStatus {
    pub const ALL: [LotStatus; 5] = [
        LotStatus::Released,
        LotStatus::Quarantine,
        LotStatus::OnHold,
        LotStatus::Recalled,
        LotStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LotStatus::Released => "released",
            LotStatus::Quarantine => "quarantine",
            LotStatus::OnHold => "on_hold",
            LotStatus::Recalled => "recalled",
            LotStatus::Rejected => "rejected",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            LotStatus::Released => "Released",
            LotStatus::Quarantine => "Quarantine (awaiting QC)",
            LotStatus::OnHold => "On hold",
            LotStatus::Recalled => "Recalled",
            LotStatus::Rejected => "Rejected",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            LotStatus::Released => "已放行",
            LotStatus::Quarantine => "待检隔离",
            LotStatus::OnHold => "冻结",
            LotStatus::Recalled => "已召回",
            LotStatus::Rejected => "不合格",
        }
    }
}

impl FromStr for LotStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LotStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("'{s}' is not a lot status (released, quarantine, on_hold, recalled, rejected)"))
    }
}

impl fmt::Display for LotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Storage condition of an item or lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    #[default]
    Ambient,
    /// 2–8 °C.
    Chilled,
    Frozen,
}

impl Storage {
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Ambient => "ambient",
            Storage::Chilled => "chilled",
            Storage::Frozen => "frozen",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Storage::Ambient => "Ambient",
            Storage::Chilled => "Chilled 2–8 °C",
            Storage::Frozen => "Frozen",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Storage::Ambient => "常温",
            Storage::Chilled => "冷藏 2–8 °C",
            Storage::Frozen => "冷冻",
        }
    }
}

impl FromStr for Storage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ambient" => Ok(Storage::Ambient),
            "chilled" => Ok(Storage::Chilled),
            "frozen" => Ok(Storage::Frozen),
            _ => Err(format!("'{s}' is not a storage condition (ambient, chilled, frozen)")),
        }
    }
}

/// Minimum remaining shelf life an item needs at receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinRemaining {
    Days(u32),
    /// Percent of the lot's total shelf life (production to expiry, or the item's nominal shelf life).
    Percent(u8),
}

/// Default near-expiry warning tiers, in days before expiry.
pub const DEFAULT_NEAR_EXPIRY_TIERS: [u32; 3] = [60, 30, 7];

/// What the rules need to know about an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    pub gtin: Option<Gtin>,
    pub category: String,
    pub shelf_life_days: Option<u32>,
    pub min_remaining_receipt: Option<MinRemaining>,
    /// Warning tiers in days, largest first (item override, else its category's, else 60/30/7).
    pub near_expiry_days: Vec<u32>,
    pub requires_qc: bool,
    pub serialized: bool,
    pub regulated: bool,
    pub storage: Storage,
}

impl Item {
    /// The item as messages name it, in each language: "Fresh milk 1 L (F100)" / "鲜牛奶 1升(F100)".
    pub fn name(&self) -> super::text::Text {
        super::text::Text::new(
            format!("{} ({})", self.name_en, self.id),
            format!("{}({})", self.name_zh, self.id),
        )
    }
}

/// Names joined: "A / B" in both languages.
pub fn names<'a>(items: impl IntoIterator<Item = &'a Item>) -> super::text::Text {
    let mut seen: Vec<&str> = Vec::new();
    let (mut en, mut zh) = (Vec::new(), Vec::new());
    for i in items {
        if seen.contains(&i.id.as_str()) {
            continue;
        }
        seen.push(&i.id);
        let n = i.name();
        en.push(n.en);
        zh.push(n.zh);
    }
    super::text::Text::new(en.join(" / "), zh.join(" / "))
}

/// A lot as the cache knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub item_id: String,
    pub lot: LotNo,
    pub expiry: Option<NaiveDate>,
    pub production_date: Option<NaiveDate>,
    pub qc_date: Option<NaiveDate>,
    pub status: LotStatus,
}

/// A customer's minimum remaining shelf life for goods picked for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub min_remaining_days: Option<u32>,
}

/// The earliest-expiring released lot of an item that sits in a pick zone (for FEFO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FefoCandidate {
    pub lot: LotNo,
    pub expiry: NaiveDate,
    pub location: String,
}
