//! `liaison demo`: a working platform on a generated scenario.

use crate::config::{Config, Deployment, Org, Unit, User};
use crate::gen::{Generator, Orgs};
use crate::kb::{import_file, Ctx};
use anyhow::{bail, Context, Result};
use clap::Args;
use liaison_policy::Role;
use liaison_store::{ImportOptions, SqliteStore, Store};
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Seed of the generated scenario.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Number of generated background objects besides the scenario's story.
    #[arg(long, default_value_t = 5000)]
    objects: u64,
    /// Where to build the demo (default: `liaison-demo`; `--data` is honoured when given).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Replace an existing demo directory.
    #[arg(long)]
    force: bool,
    /// Port to serve on (127.0.0.1).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Only build the demo data directory; do not start the server.
    #[arg(long)]
    no_serve: bool,
}

/// The TAXII collection holding the demo intelligence.
pub const DEMO_COLLECTION: &str = "3f9e2c1a-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

fn unit(id: &str, name: &str, head: &str) -> Unit {
    Unit {
        id: id.into(),
        name: name.into(),
        head: Some(head.into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn user(
    name: &str,
    full: &str,
    org: &str,
    unit: &str,
    clearance: &str,
    comps: &[&str],
    roles: &[Role],
) -> User {
    User {
        name: name.into(),
        full_name: Some(full.into()),
        org: org.into(),
        unit: Some(unit.into()),
        clearance: clearance.into(),
        compartments: comps.iter().map(|s| s.to_string()).collect(),
        roles: roles.to_vec(),
    }
}

/// The demo deployment: a national CERT, a ministry and an energy-sector ISAC.
pub fn demo_config() -> Config {
    let o = Orgs::demo();
    Config {
        deployment: Deployment {
            name: "Liaison demo".into(),
            levels: o.levels.iter().map(|s| s.to_string()).collect(),
            compartments: o.compartments.iter().map(|s| s.to_string()).collect(),
            default_user: Some("admin".into()),
        },
        server: crate::config::ServerConfig {
            collections: vec![liaison_store::Collection {
                id: DEMO_COLLECTION.into(),
                api_root: "liaison".into(),
                title: "Demo intelligence".into(),
                description: Some(
                    "The demo scenario, shared by the CERT, the ministry and the energy ISAC; each reader sees what their clearance, compartments and organization allow.".into(),
                ),
                ceiling_level: o.levels.last().map(|s| s.to_string()).unwrap_or_default(),
                ceiling_compartments: o.compartments.iter().map(|s| s.to_string()).collect(),
                read: vec!["*".into()],
                write: vec!["cert".into(), "ministry".into(), "energy-isac".into()],
            }],
            ..Default::default()
        },
        tasks: Default::default(),
        orgs: vec![
            Org {
                id: "cert".into(),
                name: "National CERT".into(),
                units: vec![
                    unit("soc", "Security Operations Centre", "sam"),
                    unit("analysis", "Threat Analysis", "alice"),
                ],
            },
            Org {
                id: "ministry".into(),
                name: "Ministry of the Interior".into(),
                units: vec![
                    unit("cyber", "Cyber Directorate", "dana"),
                    unit("policy", "Policy Unit", "bob"),
                ],
            },
            Org {
                id: "energy-isac".into(),
                name: "Energy Sector ISAC".into(),
                units: vec![unit("ops", "Member Operations", "chen")],
            },
        ],
        users: vec![
            user(
                "admin",
                "Platform Administrator",
                "cert",
                "soc",
                "TOP SECRET",
                &["GRID", "TELCO", "FIN"],
                &[Role::Admin],
            ),
            user(
                "alice",
                "Alice Martin",
                "cert",
                "analysis",
                "SECRET",
                &["GRID"],
                &[Role::Analyst],
            ),
            user(
                "sam",
                "Sam Okafor",
                "cert",
                "soc",
                "RESTRICTED",
                &[],
                &[Role::Analyst],
            ),
            user(
                "dana",
                "Dana Kowalski",
                "ministry",
                "cyber",
                "TOP SECRET",
                &["GRID", "TELCO"],
                &[Role::Analyst],
            ),
            user(
                "bob",
                "Bob Lindqvist",
                "ministry",
                "policy",
                "CONFIDENTIAL",
                &[],
                &[Role::Reader],
            ),
            user(
                "chen",
                "Chen Wei",
                "energy-isac",
                "ops",
                "RESTRICTED",
                &["GRID"],
                &[Role::Analyst],
            ),
        ],
    }
}

/// The hand-written story at the heart of the scenario, so that the things to try
/// have known answers.
fn story() -> serde_json::Value {
    let ext = |level: &str, comps: &[&str], owner: &str, rel: &[&str]| {
        let mut e = json!({"extension_type": "property-extension", "level": level, "owner": owner});
        if !comps.is_empty() {
            e["compartments"] = json!(comps);
        }
        if !rel.is_empty() {
            e["releasable_to"] = json!(rel);
        }
        json!({ liaison_stix::LABEL_EXTENSION_ID: e })
    };
    let t = "2026-10-02T08:00:00.000Z";
    json!({"type": "bundle", "id": "bundle--6f0b8f3a-1d2c-4e5f-9a8b-7c6d5e4f3a21", "objects": [
        {"type": "intrusion-set", "spec_version": "2.1", "id": "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29",
         "created": t, "modified": t, "name": "Volt Lantern", "aliases": ["GRIDMARE", "电网幽灵"],
         "description": "Volt Lantern is a state-sponsored intrusion set that targets electricity transmission operators, using exploitation of edge VPN appliances and living-off-the-land techniques. 该组织长期针对电网运营商。",
         "object_marking_refs": [liaison_stix::tlp::Tlp::Amber.marking_id()],
         "extensions": ext("RESTRICTED", &[], "cert", &["*"])},
        {"type": "malware", "spec_version": "2.1", "id": "malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
         "created": t, "modified": t, "name": "GridSpike", "is_family": true, "malware_types": ["backdoor"],
         "description": "GridSpike is a modular backdoor that speaks IEC 60870-5-104 to substation controllers. 该木马可直接操控变电站设备。",
         "object_marking_refs": [liaison_stix::tlp::Tlp::Amber.marking_id()],
         "extensions": ext("SECRET", &["GRID"], "cert", &["ministry", "energy-isac"])},
        {"type": "campaign", "spec_version": "2.1", "id": "campaign--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
         "created": t, "modified": t, "name": "Operation Blackout Winter",
         "description": "A winter campaign of Volt Lantern against grid operators in the region, disclosed to the ministry only.",
         "object_marking_refs": [liaison_stix::tlp::Tlp::Red.marking_id()],
         "extensions": ext("TOP SECRET", &["GRID"], "ministry", &[])},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f",
         "created": t, "modified": t, "name": "GridSpike C2 server", "indicator_types": ["malicious-activity"],
         "pattern": "[ipv4-addr:value = '203.0.113.77'] OR [domain-name:value = 'update-grid-sync.example']",
         "pattern_type": "stix", "valid_from": t,
         "object_marking_refs": [liaison_stix::tlp::Tlp::Green.marking_id()],
         "extensions": ext("UNCLASSIFIED", &[], "energy-isac", &["*"])},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--0a1b2c3d-4e5f-4a6b-8c7d-1e2f3a4b5c6d",
         "created": t, "modified": t, "relationship_type": "uses",
         "source_ref": "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29", "target_ref": "malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
         "extensions": ext("SECRET", &["GRID"], "cert", &["ministry", "energy-isac"])},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--1a1b2c3d-4e5f-4a6b-8c7d-1e2f3a4b5c6d",
         "created": t, "modified": t, "relationship_type": "indicates",
         "source_ref": "indicator--5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f", "target_ref": "malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
         "extensions": ext("SECRET", &["GRID"], "cert", &["ministry", "energy-isac"])},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--2a1b2c3d-4e5f-4a6b-8c7d-1e2f3a4b5c6d",
         "created": t, "modified": t, "relationship_type": "attributed-to",
         "source_ref": "campaign--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "target_ref": "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29",
         "extensions": ext("TOP SECRET", &["GRID"], "ministry", &[])},
        {"type": "report", "spec_version": "2.1", "id": "report--3b4c5d6e-7f80-4a1b-8c2d-3e4f5a6b7c8d",
         "created": t, "modified": t, "name": "电网安全通报：Volt Lantern 活动", "published": t, "report_types": ["threat-report"],
         "description": "国家级威胁行为者针对电力行业的攻击通报。Advisory on Volt Lantern activity against the power sector.",
         "object_refs": ["intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29", "indicator--5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f"],
         "object_marking_refs": [liaison_stix::tlp::Tlp::Green.marking_id()],
         "extensions": ext("UNCLASSIFIED", &[], "cert", &["*"])},
        // Watchlists kept in the store, screened with `liaison screen --from-store`.
        {"type": "x-liaison-watchlist", "spec_version": "2.1", "id": "x-liaison-watchlist--7d1e2f30-4a5b-4c6d-8e7f-8091a2b3c4d5",
         "created": t, "modified": t, "name": "power-sector",
         "description": "Names of actors and tools that target electricity operators.",
         "terms": [
            {"term": "Volt Lantern", "case_insensitive": true, "severity": "high", "tags": ["actor"]},
            {"term": "GRIDMARE", "case_insensitive": true, "whole_word": true, "severity": "high", "tags": ["actor"]},
            {"term": "电网幽灵", "severity": "high", "tags": ["actor"]},
            {"term": "IEC 60870-5-104", "severity": "low", "tags": ["protocol"]}],
         "extensions": ext("UNCLASSIFIED", &[], "cert", &["*"])},
        {"type": "x-liaison-watchlist", "spec_version": "2.1", "id": "x-liaison-watchlist--8e2f3041-5b6c-4d7e-9f80-91a2b3c4d5e6",
         "created": t, "modified": t, "name": "gridspike-watch",
         "description": "GridSpike names and artefacts (SECRET//GRID).",
         "terms": [
            {"term": "GridSpike", "case_insensitive": true, "severity": "critical", "tags": ["malware"]},
            {"term": "gsp_beacon.dll", "case_insensitive": true, "severity": "critical", "tags": ["malware", "file"]}],
         "extensions": ext("SECRET", &["GRID"], "cert", &["ministry", "energy-isac"])}
    ]})
}

pub fn run(ctx: &Ctx, a: DemoArgs) -> Result<ExitCode> {
    let dir = a.dir.clone().unwrap_or_else(|| {
        if ctx.data == std::path::Path::new("./liaison-data") {
            PathBuf::from("liaison-demo")
        } else {
            ctx.data.clone()
        }
    });
    // A directory the demo built before is rebuilt; any other store is left alone.
    let marker = dir.join(".liaison-demo");
    if dir.join("liaison.db").exists() {
        if !a.force && !marker.exists() {
            bail!(
                "{} holds a store the demo did not build (use --force to replace it)",
                dir.display()
            );
        }
        for f in [
            "liaison.db",
            "liaison.db-wal",
            "liaison.db-shm",
            "config.toml",
            "auth.db",
            "auth.db-wal",
            "auth.db-shm",
        ] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let cfg = demo_config();
    cfg.save(&dir)?;
    std::fs::write(
        &marker,
        "built by `liaison demo`; rebuilt on the next run\n",
    )?;
    let store = SqliteStore::open(&dir.join("liaison.db"), cfg.policy()?)?;

    // Each organization loads what it owns: the write rule lets no one, an
    // administrator included, write at a label they could not read.
    let orgs = Orgs::demo();
    let owner_of = |v: &serde_json::Value| -> String {
        v.pointer(&format!(
            "/extensions/{}/owner",
            liaison_stix::LABEL_EXTENSION_ID
        ))
        .and_then(|o| o.as_str())
        .unwrap_or("cert")
        .to_string()
    };
    let mut writers = Vec::new();
    for org in &orgs.ids {
        let path = dir.join(format!("scenario-{org}.json"));
        let mut w = BufWriter::new(std::fs::File::create(&path)?);
        write!(
            w,
            "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
            uuid::Uuid::new_v4()
        )?;
        writers.push((org.to_string(), path, w, true));
    }
    let put = |v: &serde_json::Value,
               writers: &mut Vec<(String, PathBuf, BufWriter<std::fs::File>, bool)>|
     -> Result<()> {
        let owner = owner_of(v);
        let slot = writers
            .iter_mut()
            .find(|w| w.0 == owner)
            .context("unknown owner in demo data")?;
        if !std::mem::take(&mut slot.3) {
            slot.2.write_all(b",")?;
        }
        slot.2.write_all(b"\n")?;
        serde_json::to_writer(&mut slot.2, v)?;
        Ok(())
    };
    if let Some(objs) = story()["objects"].as_array() {
        for v in objs {
            put(v, &mut writers)?;
        }
    }
    let mut g = Generator::new(a.seed, Orgs::demo()).with_owners();
    for _ in 0..a.objects {
        put(&g.next_object(), &mut writers)?;
    }
    let opts = ImportOptions::default();
    let mut total = 0;
    let mut loaders = Vec::new();
    for (org, path, mut w, _) in writers {
        w.write_all(b"\n]}\n")?;
        w.flush()?;
        drop(w);
        let loader = liaison_policy::Subject {
            name: format!("{org}-loader"),
            org: org.clone(),
            unit: None,
            clearance: liaison_policy::Level((orgs.levels.len() - 1) as u16),
            compartments: orgs.compartments.iter().map(|c| c.to_string()).collect(),
            roles: [Role::Admin].into(),
        };
        let r = import_file(&store, &loader, &path, &opts, true)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if !r.invalid.is_empty() {
            bail!(
                "demo data rejected: {:?}",
                &r.invalid[..r.invalid.len().min(3)]
            );
        }
        total += r.new + r.updated;
        loaders.push(loader);
    }
    // The demo collection holds everything; each reader sees of it what labels allow.
    for c in &cfg.server.collections {
        for (i, loader) in loaders.iter().enumerate() {
            if i == 0 {
                store.put_collection(loader, c)?;
            }
            store.collection_include_stored(loader, c, &[])?;
        }
    }
    let password = match std::env::var("LIAISON_DEMO_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            use rand::Rng;
            let mut rng = rand::thread_rng();
            (0..16)
                .map(|_| {
                    let alphabet = b"abcdefghijkmnpqrstuvwxyz23456789";
                    alphabet[rng.gen_range(0..alphabet.len())] as char
                })
                .collect()
        }
    };
    let auth = crate::cmd::serve::auth_db(&dir)?;
    for u in &cfg.users {
        auth.set_password(&u.name, &password)?;
    }
    drop(auth);
    let d = dir.display();
    println!("Liaison demo ready in {d}: {total} objects from 3 organizations under 5 classification levels.\n");
    println!("Users (clearance, compartments):");
    for u in &cfg.users {
        println!(
            "  {:<6} {:<12} {:<13} {:<14} {}",
            u.name,
            u.org,
            u.clearance,
            u.compartments.join(","),
            u.full_name.as_deref().unwrap_or("")
        );
    }
    let probe = |who: &str| -> Result<&'static str> {
        let s = cfg.subject(Some(who))?;
        let seen = store
            .get(&s, "malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")?
            .is_some();
        Ok(if seen { "visible" } else { "invisible" })
    };
    println!(
        "\nThe malware GridSpike (SECRET//GRID) is {} to alice (SECRET, GRID) and {} to bob (CONFIDENTIAL).",
        probe("alice")?,
        probe("bob")?
    );
    println!("\nThings to try:");
    println!("  liaison stats --data {d} --as bob");
    println!("  liaison search --data {d} --as alice gridspike");
    println!("  liaison search --data {d} --as chen 电网");
    println!("  liaison graph --data {d} --as dana intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29 --depth 2");
    println!("  liaison graph --data {d} --as sam intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29 --depth 2");
    println!("  liaison get --data {d} --as alice malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    println!("  liaison export --data {d} --as chen --type indicator --out chen-indicators.json");
    println!("  echo 'gsp_beacon.dll talked to update-grid-sync.example (Volt Lantern)' | liaison screen --data {d} --as alice --from-store");
    println!("  (and as bob: the SECRET//GRID watchlist stays hidden, so its terms find nothing)");
    println!("  liaison pattern check \"[ipv4-addr:value = '203.0.113.77'] WITHIN 300 SECONDS\"");
    println!("\nLogins (every demo user): password {password}");
    println!("  TAXII collection {DEMO_COLLECTION} (\"Demo intelligence\") under /taxii2/liaison/");
    drop(store);
    if a.no_serve {
        println!(
            "\nStart the server with: liaison serve --data {d} --port {}",
            a.port
        );
        return Ok(ExitCode::SUCCESS);
    }
    let listen = format!("127.0.0.1:{}", a.port);
    crate::cmd::serve::serve_dir(&dir, Some(&listen), true, |addr, _| {
        println!("\nServing on http://{addr}  (Ctrl-C to stop)");
        println!("  curl -u admin:{password} http://{addr}/taxii2/");
        println!(
            "  curl -u alice:{password} -H 'Accept: application/taxii+json;version=2.1' 'http://{addr}/taxii2/liaison/collections/{DEMO_COLLECTION}/objects/?limit=5'"
        );
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
    })?;
    Ok(ExitCode::SUCCESS)
}
