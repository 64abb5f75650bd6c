//! Properties of the label rules that must hold for every label and subject.

use liaison_policy::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

const ORGS: [&str; 4] = ["cert", "ministry", "isac", "grid-op"];
const COMPS: [&str; 4] = ["GRID", "TELCO", "FIN", "HUMINT"];

fn set_of(mask: u8, names: &[&str]) -> BTreeSet<String> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn label() -> impl Strategy<Value = Label> {
    (
        0u16..5,
        0u8..16,
        0usize..5,
        proptest::option::of(0usize..4),
        proptest::option::of(0u8..16),
    )
        .prop_map(|(lvl, comps, tlp, owner, rel)| Label {
            level: Level(lvl),
            compartments: set_of(comps, &COMPS),
            tlp: [
                Tlp::Clear,
                Tlp::Green,
                Tlp::Amber,
                Tlp::AmberStrict,
                Tlp::Red,
            ][tlp],
            owner: owner.map(|o| ORGS[o].to_string()),
            releasable_to: match rel {
                None => Releasability::All,
                Some(m) => Releasability::To(set_of(m, &ORGS)),
            },
        })
}

fn subject() -> impl Strategy<Value = Subject> {
    (0u16..5, 0u8..16, 0usize..4).prop_map(|(lvl, comps, org)| Subject {
        name: "s".into(),
        org: ORGS[org].into(),
        unit: None,
        clearance: Level(lvl),
        compartments: set_of(comps, &COMPS),
        roles: [Role::Reader].into(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn no_read_above_clearance(s in subject(), l in label()) {
        if l.level > s.clearance { prop_assert!(!can_read(&s, &l)); }
    }

    #[test]
    fn no_read_outside_compartments(s in subject(), l in label()) {
        if !l.compartments.is_subset(&s.compartments) { prop_assert!(!can_read(&s, &l)); }
    }

    #[test]
    fn no_read_outside_releasability(s in subject(), l in label()) {
        let org_ok = l.owner.as_deref() == Some(s.org.as_str()) || l.releasable_to.includes(&s.org);
        if !org_ok { prop_assert!(!can_read(&s, &l)); }
    }

    #[test]
    fn read_when_every_condition_holds(s in subject(), l in label()) {
        let ok = l.level <= s.clearance && l.compartments.is_subset(&s.compartments)
            && (l.owner.as_deref() == Some(s.org.as_str()) || l.releasable_to.includes(&s.org));
        prop_assert_eq!(can_read(&s, &l), ok);
    }

    /// The join is an upper bound of both.
    #[test]
    fn join_is_upper_bound(a in label(), b in label()) {
        let j = join(&a, &b);
        prop_assert!(j.dominates(&a), "{:?} does not dominate {:?}", j, a);
        prop_assert!(j.dominates(&b), "{:?} does not dominate {:?}", j, b);
    }

    /// The join is the least upper bound: any label above both is above the join.
    #[test]
    fn join_is_least(a in label(), b in label(), c in label()) {
        if c.dominates(&a) && c.dominates(&b) {
            let j = join(&a, &b);
            prop_assert!(c.dominates(&j), "c={:?} dominates a and b but not join {:?}", c, j);
        }
    }

    /// Who may read the join is exactly who may read both.
    #[test]
    fn join_readers_are_common_readers(a in label(), b in label(), s in subject()) {
        prop_assert_eq!(can_read(&s, &join(&a, &b)), can_read(&s, &a) && can_read(&s, &b));
    }

    #[test]
    fn join_is_commutative(a in label(), b in label()) {
        prop_assert_eq!(join(&a, &b), join(&b, &a));
    }

    /// Nothing marked AMBER+STRICT or RED leaves the organization, whoever asks.
    #[test]
    fn strict_never_released(l in label(), org in 0usize..4, acc in 0u16..5, comm: bool) {
        let r = Recipient { org: ORGS[org].into(), accreditation: Level(acc),
            compartments: COMPS.iter().map(|c| c.to_string()).collect(), community: comm };
        if l.tlp >= Tlp::AmberStrict { prop_assert!(!can_release(&l, &r)); }
    }

    /// A write is only ever allowed at a label the writer can read.
    #[test]
    fn write_implies_read(s in subject(), l in label()) {
        let mut s = s;
        s.roles.insert(Role::Analyst);
        if check_write(&s, &l).is_ok() { prop_assert!(can_read(&s, &l)); }
    }
}

#[test]
fn unknown_compartment_is_named() {
    let p = Policy::new(["U", "S"], ["GRID"]).unwrap();
    let e = p
        .label("S", ["NUKE"], Tlp::Red, "cert", Releasability::All)
        .unwrap_err();
    assert_eq!(e.to_string(), "unknown compartment 'NUKE' (known: GRID)");
    let e = p.level("TOP").unwrap_err();
    assert!(e.to_string().contains("unknown classification level 'TOP'"));
}

#[test]
fn reader_cannot_write() {
    let p = Policy::new(["U", "S"], ["GRID"]).unwrap();
    let s = p
        .subject("r", "cert", "S", ["GRID"], [Role::Reader])
        .unwrap();
    let l = p
        .label(
            "U",
            Vec::<String>::new(),
            Tlp::Clear,
            "cert",
            Releasability::All,
        )
        .unwrap();
    assert!(matches!(
        check_write(&s, &l),
        Err(WriteDenied::NoWriteRole(_))
    ));
}

#[test]
fn banner_reads_like_a_classified_system() {
    let p = Policy::new(Policy::standard_levels(), ["GRID"]).unwrap();
    let l = p
        .label(
            "SECRET",
            ["GRID"],
            Tlp::Amber,
            "cert",
            Releasability::to(["ministry"]),
        )
        .unwrap();
    assert_eq!(
        p.banner(&l),
        "SECRET//GRID//REL TO cert, ministry//TLP:AMBER"
    );
}
