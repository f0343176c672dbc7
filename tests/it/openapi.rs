//! The OpenAPI document against the service it describes, on both backends. The document is
//! generated from the route table (utoipa), and these tests check it from outside, as a client
//! generator would rely on it: the router serves exactly the documented operations, methods
//! included; no route is registered beside the table; and real answers of every read operation
//! (and of verification and reports) on a populated registry, errors included, have a
//! documented status and content type and validate against the documented schema.

use std::collections::BTreeMap;

use crate::common;
use common::cases::{PARTY_USCC, decision, open_case, tokens};
use common::partner::Handmade;
use common::world::{batch, world};
use common::{TestApp, TestDb};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

async fn document(app: &TestApp) -> Value {
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    doc
}

/// Each documented path, with every parameter filled in: `values` by name first, then a
/// placeholder that reaches the handler.
fn url(doc: &Value, path: &str, method: &str, values: &BTreeMap<&str, String>) -> String {
    let operation = &doc["paths"][path][method];
    let value = |name: &str| values.get(name).cloned().unwrap_or_else(|| "1".to_owned());
    let mut url = path.to_owned();
    let mut query = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let name = parameter["name"].as_str().unwrap();
        match parameter["in"].as_str().unwrap() {
            "path" => url = url.replace(&format!("{{{name}}}"), &value(name)),
            "query" if parameter["required"] == true => {
                query.push(format!("{name}={}", value(name)))
            }
            _ => {}
        }
    }
    assert!(
        !url.contains('{'),
        "{path}: a path parameter is undocumented"
    );
    if query.is_empty() {
        url
    } else {
        format!("{url}?{}", query.join("&"))
    }
}

/// Every `$ref` in `value`.
fn references_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push(reference.clone());
            }
            map.values().for_each(|v| references_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references_in(v, out)),
        _ => {}
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every reference in the document resolves; every documented operation is answered by its
/// handler (not the not-found or the method-not-allowed fallback), and every other method on
/// a documented path is refused with 405: the router has no operation the document lacks on
/// any documented path.
async fn the_router_serves_exactly_the_documented_operations(db: TestDb) {
    let app = TestApp::spawn(&db).await;
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 50, "{} paths", paths.len());
    let mut references = Vec::new();
    references_in(&doc, &mut references);
    assert!(references.len() > 100);
    for reference in references {
        let target = reference.strip_prefix('#').unwrap();
        assert!(doc.pointer(target).is_some(), "{reference} names nothing");
    }
    let values = BTreeMap::from([("path", "0/000.p/1".to_owned()), ("index", "0".to_owned())]);
    for (path, operations) in paths {
        for method in METHODS {
            let documented = operations.get(method).is_some();
            // The path's parameters, from one of its operations.
            let named = if documented {
                method
            } else {
                operations.as_object().unwrap().keys().next().unwrap()
            };
            let url = url(&doc, path, named, &values);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), app.url(&url))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            if documented {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                assert!(
                    !body.contains("no resource at"),
                    "{method} {path} is documented but not routed: {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is routed but not documented: {body}"
                );
            }
        }
    }
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// The source half of the same promise: API routes are registered in `src/http/routes.rs`
/// alone, through `routes!` (which routes a handler at the path its operation documents),
/// except the one wildcard route, whose path is documented with its wildcard named as a
/// parameter; the console's table adds pages under `/console` only.
#[test]
fn routes_are_registered_only_through_the_documented_table() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut sources = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests build their own small routers.
        let code = text.split("#[cfg(test)]").next().unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        for call in [
            ".route(",
            ".route_service(",
            ".nest(",
            ".nest_service(",
            "Router::new(",
        ] {
            let count =
                code.matches(call).count() - code.matches(&format!("OpenApi{call}")).count();
            let allowed = usize::from(name == "routes.rs" && call == ".route(");
            assert_eq!(count, allowed, "src/http/{name}: {call} outside the table");
        }
        sources.push_str(code);
    }
    let wildcards: Vec<&str> = sources
        .split('"')
        .filter(|literal| literal.starts_with('/') && literal.contains("{*"))
        .collect();
    assert_eq!(wildcards, ["/api/v1/log/tiles/tile/{*path}"]);
    for wildcard in wildcards {
        let documented = format!("path = \"{}\"", wildcard.replace("{*", "{"));
        assert!(
            sources.contains(&documented),
            "{wildcard} is not documented"
        );
    }
    // The console's pages are HTML for people, not API operations: its one route table may
    // add paths under /console and nothing else.
    let console = std::fs::read_to_string(dir.join("console/mod.rs")).unwrap();
    let pages: Vec<&str> = console
        .split(".route(")
        .skip(1)
        .map(|call| call.split('"').nth(1).unwrap())
        .collect();
    assert!(!pages.is_empty());
    for page in pages {
        assert!(
            page.starts_with("/console"),
            "console route {page} outside /console"
        );
    }
}

/// The schema the document gives for an answer, as a standalone JSON Schema (2020-12, which
/// OpenAPI 3.1 schemas are) whose `$ref`s resolve in the document's components.
fn documented_schema(doc: &Value, path: &str, method: &str, status: u16, media: &str) -> Value {
    let responses = &doc["paths"][path][method]["responses"];
    let mut response = &responses[status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path}: status {status} is not documented"
    );
    if let Some(reference) = response["$ref"].as_str() {
        response = doc.pointer(reference.trim_start_matches('#')).unwrap();
    }
    let schema = &response["content"][media]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path}: {status} {media} is not documented"
    );
    let mut root = schema.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["components"] = doc["components"].clone();
    root
}

/// Checks one real answer against the document: a documented status and content type, and for
/// JSON a body that validates against its schema. Returns the body.
async fn conforms(
    doc: &Value,
    path: &str,
    method: &str,
    response: reqwest::Response,
) -> (StatusCode, Value) {
    let status = response.status();
    let media = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let schema = documented_schema(doc, path, method, status.as_u16(), &media);
    if !media.ends_with("json") {
        return (status, Value::Null);
    }
    let body: Value = response.json().await.unwrap();
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{method} {path}: the documented schema is invalid: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: the answer does not fit its schema:\n{}\n{body:#}",
        errors.join("\n")
    );
    (status, body)
}

/// A registry with something in every read model: an issuer with an active key, a licensee,
/// a certificate, a batch of marks with a GTIN and a reported range, a case with a note and
/// evidence, closed with a penalty that published a credit record. Every read operation is
/// then called with a token of the first role it admits and real ids, and a genuine mark is
/// verified and reported; each answer must conform, and the reads must succeed.
async fn real_answers_validate_against_their_documented_schemas(db: TestDb) {
    let w = world(&db).await;
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let doc = document(&app).await;

    let issued = batch(
        &app,
        &w.issuer,
        json!({"certificate_id": w.certificate, "count": 20, "gtin": "06901234567892",
            "lot": "2026-11"}),
    )
    .await;
    let batch_id = issued["batch_id"].as_str().unwrap().to_owned();
    let first = issued["first_serial"].as_u64().unwrap();
    let (status, report) = app
        .post(
            &format!("/api/v1/batches/{batch_id}/reports"),
            Some(&w.issuer),
            json!({"first": first + 10, "last": first + 11, "status": "stolen",
                "reason": "仓库失窃"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (_, mark) = app
        .get(&format!("/api/v1/marks/{first}"), Some(&w.issuer))
        .await;
    let token = mark["token"].as_str().unwrap().to_owned();
    let case = open_case(&app, &t.nanchang, "360100").await;
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let steps = [
        ("notes", json!({"text": "现场检查"})),
        (
            "evidence",
            json!({"description": "照片", "file_sha256": "cd".repeat(32), "size": 2048}),
        ),
        (
            "close",
            json!({"outcome": "penalty", "decision": decision()}),
        ),
    ];
    let mut closed = Value::Null;
    for (step, body) in steps {
        let path = format!("/api/v1/cases/{case_id}/{step}");
        let (status, answer) = app.post(&path, Some(&t.nanchang), body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        closed = answer;
    }
    let record_id = closed["closed"]["record_id"].as_str().unwrap().to_owned();
    let sub_brand = json!({"id": "ganzhou", "name": "赣南脐橙", "region": "360700"});
    let (status, answer) = app
        .post("/api/v1/sub-brands", Some(&t.admin), sub_brand)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let partner = Handmade::new(7);
    let registration = partner.registration("zhejiang");
    let (status, answer) = app
        .post("/api/v1/recognized-brands", Some(&t.admin), registration)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (_, keys) = app.get("/api/v1/keys?status=active", None).await;
    let key_id = keys["keys"][0]["key_id"].as_str().unwrap().to_owned();
    let size = app.log_size().await;
    let yesterday = time::OffsetDateTime::now_utc()
        .date()
        .previous_day()
        .unwrap()
        .to_string();

    let ids = |path: &str| -> BTreeMap<&'static str, String> {
        let id = if path.starts_with("/api/v1/issuers") {
            "jx-cb1".to_owned()
        } else if path.starts_with("/api/v1/certificates") {
            w.certificate.clone()
        } else if path.starts_with("/api/v1/batches") {
            batch_id.clone()
        } else if path.starts_with("/api/v1/cases") {
            case_id.clone()
        } else if path.starts_with("/api/v1/sub-brands") {
            "ganzhou".to_owned()
        } else if path.starts_with("/api/v1/recognized-brands") {
            "zhejiang".to_owned()
        } else {
            record_id.clone()
        };
        BTreeMap::from([
            ("id", id),
            ("token", token.clone()),
            ("t", token.clone()),
            ("gtin", "06901234567892".to_owned()),
            ("serial", first.to_string()),
            ("index", "0".to_owned()),
            ("from", "1".to_owned()),
            ("to", size.to_string()),
            ("path", format!("0/000.p/{size}")),
            ("key_id", key_id.clone()),
            ("uscc", PARTY_USCC.to_owned()),
            ("code", "JXGE-2026-0001".to_owned()),
            ("day", yesterday.clone()),
        ])
    };
    let bearer = |operation: &Value| -> Option<String> {
        let role = operation["security"][0]["bearer"][0].as_str()?;
        Some(match role {
            "admin" => t.admin.clone(),
            "issuer" => w.issuer.clone(),
            "supervisor" => t.nanchang.clone(),
            "enforcement" => t.jiangxi.clone(),
            "credit" => t.credit.clone(),
            other => panic!("unknown role {other}"),
        })
    };

    let mut validated = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let Some(operation) = operations.get("get") else {
            continue;
        };
        let url = url(&doc, path, "get", &ids(path));
        let mut request = app
            .client
            .get(app.url(&url))
            .header(header::ACCEPT, "application/json");
        if let Some(bearer) = bearer(operation) {
            request = request.bearer_auth(bearer);
        }
        let (status, body) = conforms(&doc, path, "get", request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "GET {url}: {body}");
        validated += usize::from(!body.is_null());
    }
    assert!(validated >= 20, "{validated} JSON answers validated");

    // Verification (a genuine mark: every fact present) and a consumer report.
    let verify = app
        .client
        .post(app.url("/api/v1/verify"))
        .json(&json!({"token": token, "region": "360100"}))
        .send()
        .await
        .unwrap();
    let (status, answer) = conforms(&doc, "/api/v1/verify", "post", verify).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["verdict"], "genuine", "{answer}");
    // A partner's mark, whose status cannot be asked: recognised, status unknown.
    let verify = app
        .client
        .post(app.url("/api/v1/verify"))
        .json(&json!({"token": partner.mark(3)}))
        .send()
        .await
        .unwrap();
    let (status, answer) = conforms(&doc, "/api/v1/verify", "post", verify).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["recognised"]["status"], "unknown", "{answer}");
    let report = app
        .client
        .post(app.url("/api/v1/reports"))
        .json(&json!({"token": token, "note": "包装可疑", "contact": ""}))
        .send()
        .await
        .unwrap();
    let (status, _) = conforms(&doc, "/api/v1/reports", "post", report).await;
    assert_eq!(status, StatusCode::CREATED);

    // Errors: a refused body, a missing token, a wrong role, a missing resource.
    let refused = [
        (
            Method::POST,
            "/api/v1/verify",
            None,
            Some(json!({"token": 1})),
        ),
        (Method::GET, "/api/v1/issuers", None, None),
        (Method::GET, "/api/v1/issuers", Some(&w.issuer), None),
        (Method::GET, "/api/v1/log/entries/{index}", None, None),
    ];
    for (method, path, bearer, body) in refused {
        let url = path.replace("{index}", "999999");
        let mut request = app.client.request(method.clone(), app.url(&url));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let method = method.as_str().to_lowercase();
        let (status, problem) = conforms(&doc, path, &method, request.send().await.unwrap()).await;
        assert!(status.is_client_error(), "{path}: {status} {problem}");
    }
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    the_router_serves_exactly_the_documented_operations,
    real_answers_validate_against_their_documented_schemas,
);
