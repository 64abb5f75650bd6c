//! Real bundles from other tools through [`BundleReader`], the 2.0 upgrade and
//! [`validate`]: nothing that the OASIS reference validator accepts may be
//! rejected.
//!
//! The fixtures under `tests/fixtures/bundles` (a few MB, see NOTICE.md) always
//! run. The full sets in the project's shared data folder run when it exists
//! (`LIAISON_STIX_DATA` overrides where it is), and report their figures.

use liaison_stix::upgrade::Upgrading;
use liaison_stix::validate::{validate, Severity};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Files holding objects that we reject, how many distinct objects, and why.
/// The OASIS reference validator (stix2-validator 3.3.2, `--version 2.1`)
/// rejects exactly the same objects (checked per object id with
/// `benches/reference_crosscheck.py`): we reject nothing that it accepts.
const EXPECTED_REJECTIONS: &[(&str, usize, &str)] = &[
    ("with_invalid_uuids.json", 22, "ids and references are not RFC 4122 UUIDs (deliberately, a MISP test)"),
    ("with_wrapped_objects.json", 9, "process ids are UUIDv5 (MUST be v4); artifacts without payload_bin/url; languages 'PHP', 'C#' are not language tags"),
    ("with_wrapped_objects_and_indicator.json", 9, "as with_wrapped_objects.json"),
    ("with_wrapped_observables.json", 9, "as with_wrapped_objects.json"),
    ("with_wrapped_observables_and_indicator.json", 9, "as with_wrapped_objects.json"),
    ("with_software_objects.json", 3, "software languages 'PHP', 'Python', 'C#' are programming languages, not RFC 5646 tags"),
    ("with_software_objects_and_indicator.json", 3, "as with_software_objects.json"),
    ("with_software_observables.json", 2, "as with_software_objects.json"),
    ("with_software_observables_and_indicator.json", 2, "as with_software_objects.json"),
    ("with_artifact_objects.json", 2, "artifact with neither payload_bin nor url, or decryption_key without encryption_algorithm"),
    ("with_artifact_objects_and_indicator.json", 2, "as with_artifact_objects.json"),
    ("with_artifact_observables.json", 1, "as with_artifact_objects.json"),
    ("with_artifact_observables_and_indicator.json", 1, "as with_artifact_objects.json"),
    ("with_hashlookup_indicator_object.json", 1, "pattern uses property names with uppercase letters (x_misp_KnownMalicious)"),
    ("with_regkey_attribute.json", 1, "registry key starts with the abbreviation HKLM instead of HKEY_LOCAL_MACHINE"),
    ("with_regkey_observable_attribute.json", 1, "as with_regkey_attribute.json"),
    ("with_regkey_value_attribute.json", 1, "as with_regkey_attribute.json"),
    ("with_regkey_value_observable_attribute.json", 1, "as with_regkey_attribute.json"),
    ("capec-2.1-bundle.json", 2, "two external_references urls start with a space"),
    ("capec-2.1-sample.json", 2, "the same two CAPEC objects"),
];

#[derive(Default, Debug)]
struct Tally {
    files: usize,
    objects: usize,
    upgraded: u64,
    rejected: Vec<String>,
    /// Distinct rejected objects per file name.
    rejected_objects: BTreeMap<String, std::collections::BTreeSet<String>>,
    read_errors: Vec<String>,
    warnings: BTreeMap<String, usize>,
}

fn scan_file(path: &Path, tally: &mut Tally) {
    let file = File::open(path).expect("open fixture");
    let mut reader = Upgrading::new(file);
    tally.files += 1;
    for item in reader.by_ref() {
        match item {
            Ok(obj) => {
                tally.objects += 1;
                for f in validate(&obj) {
                    match f.severity {
                        Severity::Error => {
                            let name = path
                                .file_name()
                                .and_then(|n| n.to_str())
                                .unwrap_or("")
                                .to_string();
                            tally
                                .rejected_objects
                                .entry(name)
                                .or_default()
                                .insert(obj.id().to_string());
                            tally
                                .rejected
                                .push(format!("{} {} {f}", path.display(), obj.id()));
                        }
                        Severity::Warning => {
                            // Group by the message without its quoted values.
                            let key: String = f
                                .message
                                .split('\'')
                                .step_by(2)
                                .collect::<Vec<_>>()
                                .join("…");
                            let key: String = key.chars().take(90).collect();
                            *tally.warnings.entry(key).or_default() += 1;
                        }
                    }
                }
            }
            Err(e) => tally.read_errors.push(format!("{}: {e}", path.display())),
        }
    }
    tally.upgraded += reader.upgraded();
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn check(dirs: &[PathBuf], label: &str) -> Tally {
    let mut files = Vec::new();
    for d in dirs {
        json_files(d, &mut files);
    }
    let mut tally = Tally::default();
    for f in &files {
        scan_file(f, &mut tally);
    }
    let mut unexpected = Vec::new();
    for (file, ids) in &tally.rejected_objects {
        match EXPECTED_REJECTIONS.iter().find(|(f, _, _)| f == file) {
            Some((_, n, _)) if *n == ids.len() => {}
            Some((_, n, _)) => unexpected.push(format!(
                "{file}: {} objects rejected, expected {n}",
                ids.len()
            )),
            None => {
                let lines: Vec<&String> = tally
                    .rejected
                    .iter()
                    .filter(|r| r.contains(file.as_str()))
                    .collect();
                unexpected.push(format!("{file}: unexpected rejections {lines:#?}"));
            }
        }
    }
    println!(
        "{label}: {} files, {} objects ({} upgraded from STIX 2.0), {} objects rejected ({} MUST findings), {} read errors",
        tally.files,
        tally.objects,
        tally.upgraded,
        tally.rejected_objects.values().map(|s| s.len()).sum::<usize>(),
        tally.rejected.len(),
        tally.read_errors.len()
    );
    for (w, n) in &tally.warnings {
        println!("  warning x{n}: {w}");
    }
    assert!(
        tally.read_errors.is_empty(),
        "read errors: {:#?}",
        tally.read_errors
    );
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    tally
}

#[test]
fn fixture_bundles_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let t = check(&[root.join("bundles")], "fixture bundles");
    assert!(
        t.objects > 1000,
        "expected the fixture bundles, found {} objects",
        t.objects
    );
}

#[test]
fn attack_enterprise_stix20_sample_upgrades_completely() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/attack-enterprise-v15-sample-stix20.json");
    let mut t = Tally::default();
    scan_file(&path, &mut t);
    assert_eq!(t.objects, 430);
    assert_eq!(t.upgraded, 430);
    assert!(t.read_errors.is_empty() && t.rejected.is_empty(), "{t:#?}");
}

/// The full third-party data set, which lives outside the repository: ignored by a plain
/// `cargo test` (a fresh clone has no ../shared), run by scripts/test.sh when it is there.
#[test]
#[ignore = "needs the shared data folder; scripts/test.sh runs it when present"]
fn shared_data_when_present() {
    let root = std::env::var_os("LIAISON_STIX_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        root.join("stix").is_dir(),
        "shared data not found at {} (set LIAISON_STIX_DATA)",
        root.display()
    );
    check(
        &[
            root.join("stix/examples"),
            root.join("stix/bundles"),
            root.join("datasets"),
        ],
        "shared data",
    );
}
