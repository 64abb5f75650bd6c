//! The deployment's directory as the task rules see it: organizations, their units and
//! unit heads, and the users (as policy subjects). The CLI builds it from `config.toml`,
//! the server from the same; both check assignees and pick recipients through it.

use crate::model::Party;
use crate::TaskError;
use liaison_policy::{can_read, Label, Policy, Subject};

/// A unit of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitEntry {
    /// Unit id.
    pub id: String,
    /// The unit head's user name (escalations go there).
    pub head: Option<String>,
}

/// An organization and its units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgEntry {
    /// Organization id.
    pub id: String,
    /// Its units.
    pub units: Vec<UnitEntry>,
}

/// Organizations, units and users.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    /// Organizations.
    pub orgs: Vec<OrgEntry>,
    /// Users, as the subjects they read and write as.
    pub users: Vec<Subject>,
}

impl Directory {
    /// A user's subject by name.
    pub fn user(&self, name: &str) -> Option<&Subject> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The head of a unit, if the directory names one.
    pub fn unit_head(&self, org: &str, unit: &str) -> Option<String> {
        self.orgs
            .iter()
            .find(|o| o.id == org)?
            .units
            .iter()
            .find(|u| u.id == unit)?
            .head
            .clone()
    }

    /// The users a party stands for: the named user, else every user of the unit or
    /// organization.
    pub fn users_of(&self, p: &Party) -> Vec<&Subject> {
        self.users
            .iter()
            .filter(|s| p.covers(&Party::new(&s.org, s.unit.as_deref(), Some(&s.name))))
            .collect()
    }

    /// Check an assignee against the directory, and that it may read the task's label:
    /// a named user by its own clearance, an organization or unit by releasability.
    /// Errors name the assignee and what was expected.
    pub fn check_assignee(
        &self,
        p: &Party,
        label: &Label,
        policy: &Policy,
    ) -> Result<(), TaskError> {
        let unknown = |why: String| TaskError::UnknownAssignee {
            assignee: p.to_string(),
            why,
        };
        let Some(org) = self.orgs.iter().find(|o| o.id == p.org) else {
            return Err(unknown(format!(
                "no organization '{}' (known: {})",
                p.org,
                self.orgs
                    .iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if let Some(u) = &p.unit {
            if !org.units.iter().any(|x| &x.id == u) {
                return Err(unknown(format!(
                    "organization '{}' has no unit '{u}' (units: {})",
                    org.id,
                    org.units
                        .iter()
                        .map(|x| x.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if let Some(name) = &p.user {
            let Some(user) = self.user(name) else {
                return Err(unknown(format!("no user '{name}'")));
            };
            if user.org != p.org || (p.unit.is_some() && user.unit != p.unit) {
                return Err(unknown(format!(
                    "user '{name}' belongs to {}{}",
                    user.org,
                    user.unit
                        .as_ref()
                        .map(|u| format!("/{u}"))
                        .unwrap_or_default()
                )));
            }
            if !can_read(user, label) {
                return Err(TaskError::AssigneeCannotRead {
                    assignee: p.to_string(),
                    label: policy.banner(label),
                    hint: "choose a label they are cleared for".into(),
                });
            }
        } else if !label.readable_by_org(&p.org) {
            return Err(TaskError::AssigneeCannotRead {
                assignee: p.to_string(),
                label: policy.banner(label),
                hint: format!("make it releasable to '{}'", p.org),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_policy::Role;

    fn dir() -> (Directory, Policy) {
        let policy = Policy::new(["UNCLASSIFIED", "SECRET"], ["GRID"]).unwrap();
        let mut alice = policy
            .subject("alice", "cert", "SECRET", ["GRID"], [Role::Analyst])
            .unwrap();
        alice.unit = Some("analysis".into());
        let d = Directory {
            orgs: vec![OrgEntry {
                id: "cert".into(),
                units: vec![UnitEntry {
                    id: "analysis".into(),
                    head: Some("carol".into()),
                }],
            }],
            users: vec![alice],
        };
        (d, policy)
    }

    #[test]
    fn unknown_org_unit_user_are_named() {
        let (d, p) = dir();
        let l = Label::public(Some("cert".into()));
        let e = d
            .check_assignee(&Party::parse("isac").unwrap(), &l, &p)
            .unwrap_err();
        assert!(e.to_string().contains("no organization 'isac'"), "{e}");
        let e = d
            .check_assignee(&Party::parse("cert/soc").unwrap(), &l, &p)
            .unwrap_err();
        assert!(e.to_string().contains("no unit 'soc'"), "{e}");
        let e = d
            .check_assignee(&Party::parse("cert:bob").unwrap(), &l, &p)
            .unwrap_err();
        assert!(e.to_string().contains("no user 'bob'"), "{e}");
        d.check_assignee(&Party::parse("cert/analysis:alice").unwrap(), &l, &p)
            .unwrap();
        assert_eq!(d.unit_head("cert", "analysis").as_deref(), Some("carol"));
        assert_eq!(d.users_of(&Party::parse("cert/analysis").unwrap()).len(), 1);
    }

    #[test]
    fn assignee_must_read_the_label() {
        let (d, p) = dir();
        let mut l = p
            .label(
                "SECRET",
                ["GRID"],
                liaison_policy::Tlp::Clear,
                "ministry",
                liaison_policy::Releasability::owner_only(),
            )
            .unwrap();
        let e = d
            .check_assignee(&Party::parse("cert").unwrap(), &l, &p)
            .unwrap_err();
        assert!(e.to_string().contains("releasable to 'cert'"), "{e}");
        l.releasable_to = liaison_policy::Releasability::to(["cert"]);
        d.check_assignee(&Party::parse("cert").unwrap(), &l, &p)
            .unwrap();
    }
}
