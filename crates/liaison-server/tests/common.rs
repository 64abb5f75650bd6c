//! Shared fixture: a store with a public and a protected object in one collection,
//! and users who lack clearance, compartment or releasability.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use liaison_policy::{Policy, Role, Subject};
use liaison_server::{app, AppState, AuthDb, Directory, Scope, Settings};
use liaison_stix::StixObject;
use liaison_store::{Collection, Prepared, SqliteStore};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

pub const TAXII: &str = "application/taxii+json;version=2.1";
pub const PUBLIC_ID: &str = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b";
pub const SECRET_ID: &str = "malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
pub const ABSENT_ID: &str = "malware--00000000-0000-4000-8000-000000000000";
pub const COLL: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

pub struct Fixture {
    pub app: Router,
    pub state: AppState,
    /// user name → bearer token (admin scope)
    pub tokens: HashMap<String, String>,
}

pub fn malware(id: &str, name: &str, modified: &str, ext: Option<Value>) -> Value {
    let mut v = json!({"type": "malware", "spec_version": "2.1", "id": id,
        "created": "2026-01-01T00:00:00.000Z", "modified": modified, "name": name, "is_family": true});
    if let Some(e) = ext {
        v["extensions"] = json!({ liaison_stix::LABEL_EXTENSION_ID: e });
    }
    v
}

pub fn secret_ext() -> Value {
    json!({"extension_type": "property-extension", "level": "SECRET", "compartments": ["GRID"], "owner": "cert"})
}

pub fn subjects(policy: &Policy) -> Vec<Subject> {
    let mut v = vec![
        policy
            .subject("admin", "cert", "SECRET", ["GRID"], [Role::Admin])
            .unwrap(),
        // lacks clearance
        policy
            .subject("low", "cert", "UNCLASSIFIED", ["GRID"], [Role::Analyst])
            .unwrap(),
        // lacks the compartment
        policy
            .subject(
                "nocomp",
                "cert",
                "SECRET",
                Vec::<String>::new(),
                [Role::Analyst],
            )
            .unwrap(),
        // lacks releasability (another organization)
        policy
            .subject("other", "partner", "SECRET", ["GRID"], [Role::Analyst])
            .unwrap(),
        policy
            .subject("reader", "cert", "SECRET", ["GRID"], [Role::Reader])
            .unwrap(),
    ];
    v[0].unit = Some("soc".into());
    v
}

pub fn fixture() -> Fixture {
    fixture_with(Settings::default())
}

pub fn policy() -> Policy {
    Policy::new(["UNCLASSIFIED", "SECRET", "TOP SECRET"], ["GRID", "FIN"]).unwrap()
}

pub fn fixture_with(settings: Settings) -> Fixture {
    let store = SqliteStore::open_in_memory(policy()).unwrap();
    setup(store, AuthDb::open_in_memory().unwrap(), settings)
}

/// The fixture on files in `dir` (`liaison.db`, `auth.db`), as `liaison serve` keeps them.
pub fn fixture_in(dir: &std::path::Path, settings: Settings) -> Fixture {
    let store = SqliteStore::open(&dir.join("liaison.db"), policy()).unwrap();
    setup(store, AuthDb::open(&dir.join("auth.db")).unwrap(), settings)
}

/// A new server (new `AppState`) on the files of an earlier [`fixture_in`]: a restart.
pub fn restart(dir: &std::path::Path, before: &Fixture, settings: Settings) -> Fixture {
    let store = SqliteStore::open(&dir.join("liaison.db"), policy()).unwrap();
    let auth = AuthDb::open(&dir.join("auth.db")).unwrap();
    let state = AppState::new(
        Arc::new(store),
        auth,
        Directory::new(subjects(&policy())),
        settings,
    );
    Fixture {
        app: app(state.clone()),
        state,
        tokens: before.tokens.clone(),
    }
}

fn setup(store: SqliteStore, auth: AuthDb, settings: Settings) -> Fixture {
    let policy = policy();
    let store = Arc::new(store);
    let subs = subjects(&policy);
    let admin = subs[0].clone();
    let coll = Collection {
        id: COLL.into(),
        api_root: "liaison".into(),
        title: "Shared".into(),
        description: Some("test".into()),
        ceiling_level: "SECRET".into(),
        ceiling_compartments: vec!["GRID".into()],
        read: vec!["*".into()],
        write: vec!["cert".into(), "partner".into()],
    };
    store.put_collection(&admin, &coll).unwrap();
    let objs = [
        malware(PUBLIC_ID, "Public", "2026-01-01T00:00:00.000Z", None),
        malware(
            SECRET_ID,
            "Secret",
            "2026-01-01T00:00:00.000Z",
            Some(secret_ext()),
        ),
        malware(
            SECRET_ID,
            "Secret v2",
            "2026-02-01T00:00:00.000Z",
            Some(secret_ext()),
        ),
    ];
    let mut items = objs
        .iter()
        .map(|v| Ok(Prepared::new(StixObject::from_value(v.clone()).unwrap())));
    let added = store.collection_add(&admin, &coll, &mut items).unwrap();
    assert!(
        added.report.invalid.is_empty(),
        "{:?}",
        added.report.invalid
    );
    let mut tokens = HashMap::new();
    for s in &subs {
        let (_, secret) = auth
            .create_token(&s.name, "test", Scope::Admin, None)
            .unwrap();
        tokens.insert(s.name.clone(), secret);
    }
    let state = AppState::new(store, auth, Directory::new(subs), settings);
    Fixture {
        app: app(state.clone()),
        state,
        tokens,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

impl Fixture {
    pub async fn call(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub fn req(&self, method: &str, uri: &str, user: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("accept", TAXII)
            .header("authorization", format!("Bearer {}", self.tokens[user]))
    }

    pub async fn get(&self, uri: &str, user: &str) -> Resp {
        self.call(self.req("GET", uri, user).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post_envelope(&self, uri: &str, user: &str, body: &Value) -> Resp {
        self.call(
            self.req("POST", uri, user)
                .header("content-type", TAXII)
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }
}

pub fn coll_path(rest: &str) -> String {
    format!("/taxii2/liaison/collections/{COLL}/{rest}")
}
