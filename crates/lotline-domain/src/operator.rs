//! The people who use a handheld: operators, their roles, and what each role may open.

use serde::{Deserialize, Serialize};

use super::policy::Gate;

/// What an operator may do. A supervisor may open every gate and authorise overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Receiver,
    Picker,
    Checker,
    Counter,
    Supervisor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Receiver,
        Role::Picker,
        Role::Checker,
        Role::Counter,
        Role::Supervisor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Receiver => "receiver",
            Role::Picker => "picker",
            Role::Checker => "checker",
            Role::Counter => "counter",
            Role::Supervisor => "supervisor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::Receiver => "receiver",
            Role::Picker => "picker",
            Role::Checker => "checker",
            Role::Counter => "counter",
            Role::Supervisor => "supervisor",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Receiver => "收货员",
            Role::Picker => "拣货员",
            Role::Checker => "复核员",
            Role::Counter => "盘点员",
            Role::Supervisor => "主管",
        }
    }

    /// The role a gate needs (a supervisor may open any gate).
    pub fn for_gate(gate: Gate) -> Role {
        match gate {
            Gate::Receive => Role::Receiver,
            Gate::Pick => Role::Picker,
            Gate::Count => Role::Counter,
        }
    }
}

/// Parses a comma list of roles as the store keeps them; unknown names are skipped.
pub fn parse_roles(s: &str) -> Vec<Role> {
    let mut roles: Vec<Role> = s.split(',').filter_map(|r| Role::parse(r.trim())).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// Formats roles as the store keeps them.
pub fn roles_to_string(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

/// An operator as the workflows need them (never the PIN or its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
}

impl Operator {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn may_open(&self, gate: Gate) -> bool {
        self.has(Role::for_gate(gate)) || self.has(Role::Supervisor)
    }
}

/// A supervisor's authorisation of something the rules allow to be overridden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorisation {
    pub supervisor: String,
    pub reason: String,
}

/// Reasons a supervisor may choose from (or type their own): (code, English, Chinese).
pub const OVERRIDE_REASONS: [(&str, &str, &str); 5] = [
    ("accepted_with_supplier", "Agreed with the supplier", "已与供应商确认"),
    (
        "short_dated_accepted",
        "Short-dated goods accepted by QA",
        "质量部门同意接收近效期货物",
    ),
    ("over_delivery_accepted", "Over-delivery accepted", "同意接收超量到货"),
    ("qc_released", "QC release documented", "质检放行已记录"),
    ("other", "Other (see note)", "其他（见备注）"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_gates() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(
            parse_roles("picker, receiver,bogus,picker"),
            vec![Role::Receiver, Role::Picker]
        );
        assert_eq!(
            roles_to_string(&[Role::Receiver, Role::Supervisor]),
            "receiver,supervisor"
        );
        let op = |roles: Vec<Role>| Operator {
            id: "a".into(),
            name: "A".into(),
            roles,
        };
        let cases = [
            (vec![Role::Receiver], Gate::Receive, true),
            (vec![Role::Receiver], Gate::Pick, false),
            (vec![Role::Checker], Gate::Pick, false),
            (vec![Role::Counter], Gate::Count, true),
            (vec![Role::Supervisor], Gate::Count, true),
            (vec![], Gate::Receive, false),
        ];
        for (roles, gate, may) in cases {
            assert_eq!(op(roles.clone()).may_open(gate), may, "{roles:?} {gate:?}");
        }
    }
}
