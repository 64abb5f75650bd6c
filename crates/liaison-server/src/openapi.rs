//! The OpenAPI 3 document of the REST API, served at `/api/v1/openapi.json`.

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Value};

fn err(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(desc: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": schema}}})
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
           "description": "A STIX id (`malware--…`)."})
}

fn common(mut responses: Value) -> Value {
    for (code, d) in [
        ("400", "Malformed request"),
        ("401", "Missing or wrong credentials"),
        ("403", "Not permitted"),
        ("429", "Rate limit exceeded"),
    ] {
        responses[code] = err(d);
    }
    responses
}

/// The document.
pub fn spec() -> Value {
    let mut doc = core_spec();
    if let (Some(Value::Object(paths)), Value::Object(more)) = (doc.get_mut("paths"), task_paths())
    {
        paths.extend(more);
    }
    if let (Some(Value::Object(schemas)), Value::Object(more)) =
        (doc.pointer_mut("/components/schemas"), task_schemas())
    {
        schemas.extend(more);
    }
    if let (Some(Value::Object(paths)), Value::Object(more)) =
        (doc.get_mut("paths"), crate::feeds_api::openapi_paths())
    {
        paths.extend(more);
    }
    if let (Some(Value::Object(schemas)), Value::Object(more)) = (
        doc.pointer_mut("/components/schemas"),
        crate::feeds_api::openapi_schemas(),
    ) {
        schemas.extend(more);
    }
    doc
}

fn task_param(desc: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": desc})
}

fn body(schema: Value, required: bool) -> Value {
    json!({"required": required, "content": {"application/json": {"schema": schema}}})
}

/// `/tasks`, `/alerts`, `/notifications`.
fn task_paths() -> Value {
    let labelled = json!({"$ref": "#/components/schemas/Labelled"});
    let hidden = err("Absent, or not readable by the caller (answered alike)");
    let refused = err("Refused by the task rules (illegal transition, deadline in the past, unknown assignee, label beyond the requester's clearance, unreadable reference); nothing changed");
    let mut paths = serde_json::Map::new();
    paths.insert("/tasks".into(), json!({
        "get": {
            "summary": "Tasks the caller may read, soonest deadline first (open ones unless `all` or `status`)",
            "parameters": [
                {"name": "mine", "in": "query", "schema": {"type": "boolean"}, "description": "Requested by the caller, or assigned to the caller by name"},
                {"name": "my_unit", "in": "query", "schema": {"type": "boolean"}, "description": "Requested by or assigned to the caller's unit"},
                {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
                {"name": "due_within", "in": "query", "schema": {"type": "integer", "minimum": 0}, "description": "Open tasks due within this many hours (overdue included)"},
                {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/TaskStatus"}},
                {"name": "all", "in": "query", "schema": {"type": "boolean"}}
            ],
            "responses": common(json!({"200": ok("Tasks", json!({"type": "object", "properties": {"tasks": {"type": "array", "items": labelled.clone()}}}))}))
        },
        "post": {
            "summary": "Create a task (assigned at once when assignees are given); a new x-liaison-task",
            "requestBody": body(json!({"$ref": "#/components/schemas/NewTask"}), true),
            "responses": common(json!({"201": ok("The task", labelled.clone()), "415": err("Not JSON"), "422": refused.clone()}))
        }
    }));
    paths.insert("/tasks/stats".into(), json!({"get": {
        "summary": "Completion cycle, on-time rate and backlog of a quarter, over the tasks the caller may read",
        "parameters": [{"name": "quarter", "in": "query", "schema": {"type": "string", "example": "2026Q4"}}],
        "responses": common(json!({"200": ok("Figures overall and by org, unit, type, priority", json!({"type": "object"})), "422": err("Malformed quarter")}))
    }}));
    paths.insert("/tasks/{id}".into(), json!({"get": {
        "summary": "A task (latest version); with `history`, every version oldest first",
        "parameters": [task_param("A task id (`x-liaison-task--…`)"), {"name": "history", "in": "query", "schema": {"type": "boolean"}}],
        "responses": common(json!({"200": ok("The task", json!({"allOf": [labelled.clone(), {"type": "object", "properties": {"history": {"type": "array", "items": {"type": "object"}}}}]})), "404": hidden.clone()}))
    }}));
    paths.insert("/tasks/{id}/{action}".into(), json!({"post": {
        "summary": "Change a task: a new version. Actions: assign (`to`), accept, reject (`reason`), start, pause (`reason`), resume, update (`title`, `description`, `priority`, `deadline`, `refs`), answer (`ref`: a report or note), close, reopen (`reason`), cancel (`reason`)",
        "parameters": [task_param("A task id"), {"name": "action", "in": "path", "required": true, "schema": {"type": "string", "enum": ["assign", "accept", "reject", "start", "pause", "resume", "update", "answer", "close", "reopen", "cancel"]}}],
        "requestBody": body(json!({"$ref": "#/components/schemas/TaskAction"}), false),
        "responses": common(json!({"200": ok("The new version", labelled.clone()), "404": hidden.clone(), "422": refused.clone()}))
    }}));
    paths.insert("/alerts".into(), json!({"get": {
        "summary": "Alerts the caller may read, most severe first (untriaged ones unless `all` or `state`)",
        "parameters": [
            {"name": "state", "in": "query", "schema": {"type": "string", "enum": ["new", "acknowledged", "dismissed", "escalated", "promoted"]}},
            {"name": "severity", "in": "query", "schema": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]}, "description": "This severity and above"},
            {"name": "all", "in": "query", "schema": {"type": "boolean"}}
        ],
        "responses": common(json!({"200": ok("Alerts", json!({"type": "object", "properties": {"alerts": {"type": "array", "items": labelled.clone()}}}))}))
    }}));
    paths.insert("/alerts/accuracy".into(), json!({"get": {
        "summary": "Triage accuracy over the alerts the caller may read",
        "responses": common(json!({"200": ok("True and false positives, precision, dismissal reasons", json!({"type": "object"}))}))
    }}));
    paths.insert("/alerts/{id}".into(), json!({"get": {
        "summary": "An alert; with `history`, every version",
        "parameters": [task_param("An alert id (`x-liaison-alert--…`)"), {"name": "history", "in": "query", "schema": {"type": "boolean"}}],
        "responses": common(json!({"200": ok("The alert", labelled.clone()), "404": hidden.clone()}))
    }}));
    paths.insert("/alerts/{id}/{action}".into(), json!({"post": {
        "summary": "Triage an alert: acknowledge; dismiss (`reason`, kept for accuracy); escalate into a task (`title`, `type`, `priority`, `deadline`, `assignees`; the task and the alert's new version in one transaction); promote its observed values into observables and indicators",
        "parameters": [task_param("An alert id"), {"name": "action", "in": "path", "required": true, "schema": {"type": "string", "enum": ["acknowledge", "dismiss", "escalate", "promote"]}}],
        "requestBody": body(json!({"type": "object", "additionalProperties": false, "properties": {
            "reason": {"type": "string"}, "title": {"type": "string"}, "type": {"type": "string"},
            "priority": {"type": "string"}, "deadline": {"type": "string"},
            "assignees": {"type": "array", "items": {"type": "string"}}}}), false),
        "responses": common(json!({"200": ok("The alert (and the task, or the count of objects made)", json!({"type": "object"})), "404": hidden.clone(), "422": refused.clone()}))
    }}));
    paths.insert("/notifications".into(), json!({"get": {
        "summary": "The caller's deadline notifications about tasks it may read, newest first",
        "parameters": [{"name": "unread", "in": "query", "schema": {"type": "boolean"}}, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
        "responses": common(json!({"200": ok("Notifications", json!({"type": "object", "properties": {"notifications": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}}}}))}))
    }}));
    paths.insert("/notifications/read".into(), json!({"post": {
        "summary": "Mark the caller's notifications read (`ids`, or all)",
        "requestBody": body(json!({"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}}), false),
        "responses": common(json!({"200": ok("How many changed", json!({"type": "object", "properties": {"marked_read": {"type": "integer"}}}))}))
    }}));
    paths.insert("/notifications/deliveries".into(), json!({"get": {
        "summary": "The webhook delivery log (administrators)",
        "responses": common(json!({"200": ok("Deliveries, newest first", json!({"type": "object"}))}))
    }}));
    Value::Object(paths)
}

fn task_schemas() -> Value {
    json!({
        "Labelled": {"type": "object", "required": ["object", "label"], "properties": {
            "object": {"type": "object", "description": "The STIX object, label extension written in"},
            "label": {"type": "string", "description": "The label as a banner"}}},
        "TaskStatus": {"type": "string", "enum": ["draft", "assigned", "accepted", "in_progress", "answered", "closed", "rejected", "cancelled"]},
        "NewTask": {"type": "object", "required": ["title"], "properties": {
            "title": {"type": "string"},
            "type": {"type": "string", "enum": ["rfi", "collection", "analysis", "joint_response"]},
            "priority": {"type": "string", "enum": ["urgent", "high", "normal", "low"]},
            "deadline": {"type": "string", "description": "RFC 3339 time or a duration from now (24h, 3d); default: the template"},
            "description": {"type": "string"},
            "assignees": {"type": "array", "items": {"type": "string"}, "description": "org, org/unit or org/unit:user"},
            "refs": {"type": "array", "items": {"type": "string"}},
            "label": {"type": "string", "description": "A banner, e.g. SECRET//GRID//REL TO cert; default: the lowest level, readable by the requester's and the assignees' organizations"}}},
        "TaskAction": {"type": "object", "additionalProperties": false, "properties": {
            "reason": {"type": "string"}, "to": {"type": "array", "items": {"type": "string"}},
            "ref": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
            "priority": {"type": "string"}, "deadline": {"type": "string"},
            "refs": {"type": "array", "items": {"type": "string"}}}},
        "Notification": {"type": "object", "properties": {
            "id": {"type": "integer"}, "task_id": {"type": "string"},
            "kind": {"type": "string", "enum": ["warn", "breach"]}, "body": {"type": "object"},
            "created_ms": {"type": "integer"}, "read": {"type": "boolean"}}}
    })
}

fn core_spec() -> Value {
    let obj = json!({"$ref": "#/components/schemas/StoredObject"});
    let any = json!({"type": "object"});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Liaison REST API",
            "version": "1",
            "description": "STIX 2.1 knowledge base under security labels. Every read is filtered by the caller's clearance, compartments and organization; an object the caller may not read is answered exactly as an absent one (404, or left out of lists and counts)."
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"basic": []}, {"bearer": []}, {"session": []}],
        "paths": {
            "/objects": {"post": {
                "summary": "Create objects (one object, a list or a bundle), in one transaction",
                "parameters": [{"name": "strict", "in": "query", "schema": {"type": "boolean"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": any}}},
                "responses": common(json!({
                    "200": ok("Nothing new (all unchanged or refused)", json!({"$ref": "#/components/schemas/ImportReport"})),
                    "201": ok("Stored", json!({"$ref": "#/components/schemas/ImportReport"})),
                    "413": err("Body too large"), "415": err("Not JSON"), "422": err("Strict import stopped")
                }))
            }},
            "/objects/{id}": {"get": {
                "summary": "The latest version of an object",
                "parameters": [id_param()],
                "responses": common(json!({"200": ok("The object", obj.clone()), "404": err("Absent or not readable")}))
            }},
            "/objects/{id}/versions": {
                "get": {
                    "summary": "Every readable version, oldest first",
                    "parameters": [id_param()],
                    "responses": common(json!({"200": ok("Versions", json!({"type": "object", "properties": {"versions": {"type": "array", "items": obj.clone()}}})), "404": err("Absent or not readable")}))
                },
                "post": {
                    "summary": "Store a new version (same id, later `modified`); the label is kept unless the object carries one",
                    "parameters": [id_param()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": any}}},
                    "responses": common(json!({"201": ok("The new latest version", obj.clone()), "404": err("Absent or not readable"), "413": err("Body too large"), "415": err("Not JSON"), "422": err("Refused")}))
                }
            },
            "/objects/{id}/revoke": {"post": {
                "summary": "Revoke an object (a new version with `revoked: true`)",
                "parameters": [id_param()],
                "responses": common(json!({"200": ok("The revoked version", obj.clone()), "404": err("Absent or not readable"), "422": err("Refused")}))
            }},
            "/search": {"get": {
                "summary": "Full-text search; totals and facets count only readable objects",
                "parameters": [
                    {"name": "q", "in": "query", "required": true, "schema": {"type": "string"}},
                    {"name": "type", "in": "query", "schema": {"type": "string"}, "description": "Comma-separated types"},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}
                ],
                "responses": common(json!({"200": ok("Hits, total and facets", json!({"$ref": "#/components/schemas/SearchResults"}))}))
            }},
            "/graph/{id}": {"get": {
                "summary": "Readable neighbourhood of an object",
                "parameters": [id_param(),
                    {"name": "depth", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 5}},
                    {"name": "max_nodes", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5000}}],
                "responses": common(json!({"200": ok("Nodes and edges", any.clone()), "404": err("Absent or not readable")}))
            }},
            "/import": {"post": {
                "summary": "Import a bundle streamed in the body, in one transaction",
                "parameters": [{"name": "strict", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "label", "in": "query", "schema": {"type": "string"},
                     "description": "Banner (SECRET//GRID//TLP:AMBER) for objects that carry no label; 400 if it does not parse, 403 if the caller may not write at it (nothing stored)"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": any}}},
                "responses": common(json!({"200": ok("Import report", json!({"$ref": "#/components/schemas/ImportReport"})), "413": err("Body too large"), "422": err("Broken input: nothing stored")}))
            }},
            "/export": {"get": {
                "summary": "What the caller may read, as a STIX bundle (labels written in)",
                "parameters": [
                    {"name": "type", "in": "query", "schema": {"type": "string"}},
                    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "all_versions", "in": "query", "schema": {"type": "boolean"}}
                ],
                "responses": common(json!({"200": {"description": "A bundle", "content": {"application/stix+json;version=2.1": {"schema": any}}}}))
            }},
            "/stats": {"get": {
                "summary": "Counts the caller may see",
                "responses": common(json!({"200": ok("Counts", any.clone())}))
            }},
            "/session": {
                "post": {
                    "summary": "Log in: sets a session cookie",
                    "security": [],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["username", "password"], "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
                    "responses": {"204": {"description": "Logged in"}, "400": err("Malformed"), "401": err("Wrong credentials"), "415": err("Not JSON"), "429": err("Too many failed attempts")}
                },
                "delete": {"summary": "Log out", "responses": common(json!({"204": {"description": "Logged out"}}))}
            },
            "/tokens": {
                "get": {
                    "summary": "API tokens (yours; administrators: all, or `user`'s)",
                    "parameters": [{"name": "user", "in": "query", "schema": {"type": "string"}}],
                    "responses": common(json!({"200": ok("Tokens", any.clone())}))
                },
                "post": {
                    "summary": "Create a token; the secret is in the answer, once",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["scope"], "properties": {
                        "scope": {"type": "string", "enum": ["read", "write", "admin"]},
                        "user": {"type": "string"}, "name": {"type": "string"}, "api_root": {"type": "string"}}}}}},
                    "responses": common(json!({"201": ok("The token and its secret", any.clone()), "415": err("Not JSON")}))
                }
            },
            "/tokens/{id}": {"delete": {
                "summary": "Revoke a token",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": common(json!({"204": {"description": "Revoked"}, "404": err("No such token")}))
            }},
            "/users": {"get": {"summary": "Users (administrators)", "responses": common(json!({"200": ok("Users", any.clone())}))}},
            "/orgs": {"get": {"summary": "Organizations and units (administrators)", "responses": common(json!({"200": ok("Organizations", any.clone())}))}},
            "/collections/{id}": {"put": {
                "summary": "Create or replace a TAXII collection (administrators)",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Collection"}}}},
                "responses": common(json!({"200": ok("The collection", json!({"$ref": "#/components/schemas/Collection"})), "415": err("Not JSON")}))
            }}
        },
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "liaison_session"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["title", "http_status"], "properties": {
                    "title": {"type": "string"}, "description": {"type": "string"}, "http_status": {"type": "string"}}},
                "StoredObject": {"type": "object", "required": ["object", "label", "latest", "added"], "properties": {
                    "object": {"type": "object"}, "label": {"type": "string"}, "latest": {"type": "boolean"}, "added": {"type": "string"}}},
                "ImportReport": {"type": "object", "properties": {
                    "new": {"type": "integer"}, "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
                    "invalid": {"type": "array", "items": {"type": "object"}}}},
                "SearchResults": {"type": "object", "properties": {
                    "hits": {"type": "array", "items": {"type": "object"}}, "total": {"type": "integer"},
                    "facets": {"type": "object"}, "capped": {"type": "boolean"}}},
                "Collection": {"type": "object", "required": ["id", "api_root", "title", "ceiling_level"], "properties": {
                    "id": {"type": "string"}, "api_root": {"type": "string"}, "title": {"type": "string"},
                    "description": {"type": "string"}, "ceiling_level": {"type": "string"},
                    "ceiling_compartments": {"type": "array", "items": {"type": "string"}},
                    "read": {"type": "array", "items": {"type": "string"}},
                    "write": {"type": "array", "items": {"type": "string"}}}}
            }
        }
    })
}

/// `GET /api/v1/openapi.json` (authenticated, like every route but `/health`).
pub async fn document(caller: crate::Caller) -> axum::response::Response {
    let _ = caller;
    (
        [(header::CONTENT_TYPE, "application/json")],
        spec().to_string(),
    )
        .into_response()
}
