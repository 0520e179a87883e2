use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// The document is generated from the code; an accidental change shows up here. After an
/// intended change run `UPDATE_SNAPSHOTS=1 cargo test -p ginkgo-server --test api openapi`.
#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.expect("json");
    let pretty = serde_json::to_string_pretty(&doc).expect("pretty") + "\n";
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &pretty).expect("write snapshot");
    }
    let expected =
        std::fs::read_to_string(&path).expect("snapshot exists (run with UPDATE_SNAPSHOTS=1)");
    assert!(
        expected == pretty,
        "the OpenAPI document changed; review and update the snapshot"
    );
}

/// The routes the router serves, read from the route modules' `.route("…", …)` calls, so a
/// route added without documentation fails here.
fn routed_paths() -> std::collections::BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut out = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("routes folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        for piece in text.split(".route(\"").skip(1) {
            if let Some(end) = piece.find('"') {
                out.insert(piece[..end].to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let doc = serde_json::to_value(ginkgo_server::openapi::document()).expect("json");
    let documented: std::collections::BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let routed = routed_paths();
    assert!(routed.len() > 40, "the route modules were read: {routed:?}");
    let undocumented: Vec<&String> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without documentation: {undocumented:?}"
    );
    let unrouted: Vec<&String> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not served: {unrouted:?}"
    );
}

/// Whether a schema shows what a value looks like: an example of its own, or examples for every
/// part of it (through `$ref`, arrays, `allOf`/`anyOf`/`oneOf` and object properties).
fn exemplified(schema: &Value, components: &Value, depth: usize) -> bool {
    if depth > 12 || schema.get("example").is_some() || schema.get("examples").is_some() {
        return true;
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().expect("name");
        return exemplified(&components[name], components, depth + 1);
    }
    if let Some(items) = schema.get("items") {
        return exemplified(items, components, depth + 1);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            return parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) != Some("null"))
                .all(|p| exemplified(p, components, depth + 1));
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        return props
            .values()
            .all(|p| exemplified(p, components, depth + 1));
    }
    // A bare enum lists its values; that shows what it looks like.
    schema.get("enum").is_some()
}

#[tokio::test]
async fn every_operation_shows_an_example_of_its_request_and_its_answer() {
    let doc = serde_json::to_value(ginkgo_server::openapi::document()).expect("json");
    let components = &doc["components"]["schemas"];
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let Some(op) = op.as_object() else { continue };
            if let Some(body) = op.get("requestBody") {
                let json = &body["content"]["application/json"];
                if !(json.get("example").is_some() || exemplified(&json["schema"], components, 0)) {
                    missing.push(format!("{method} {path}: request body"));
                }
            }
            for (status, response) in op["responses"].as_object().expect("responses") {
                if !status.starts_with('2') || status == "204" {
                    continue;
                }
                let Some(content) = response.get("content").and_then(Value::as_object) else {
                    // Redirects and documents described in words only.
                    if path != "/api/openapi.json" && status != "202" {
                        missing.push(format!("{method} {path}: {status} has no content schema"));
                    }
                    continue;
                };
                for (kind, c) in content {
                    if kind.starts_with("application/json")
                        && !(c.get("example").is_some() || exemplified(&c["schema"], components, 0))
                    {
                        missing.push(format!("{method} {path}: {status} {kind}"));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "operations without examples:\n{}",
        missing.join("\n")
    );
}
