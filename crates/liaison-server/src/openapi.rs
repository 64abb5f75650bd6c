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
                "parameters": [{"name": "strict", "in": "query", "schema": {"type": "boolean"}}],
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
