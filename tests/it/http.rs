//! The HTTP skeleton over a real socket, on both backends: operations endpoints, problem+json
//! for requests that match nothing, and graceful shutdown.

use crate::common;
use common::{TestApp, TestDb, problem, seed};
use reqwest::StatusCode;

async fn healthz_and_metrics_answer(db: TestDb) {
    seed(&db, 2).await;
    let app = TestApp::spawn(&db).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["log_size"], 2);

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(text.contains("\nmarktrace_log_size 2\n"), "{text}");
    assert!(text.contains("# TYPE marktrace_log_commits_total counter"));
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn unknown_routes_and_methods_are_problem_json(db: TestDb) {
    let app = TestApp::spawn(&db).await;
    let missing = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    let body = problem(missing, StatusCode::NOT_FOUND, "not-found").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/nothing-here")
    );
    let wrong = app.client.delete(app.url("/healthz")).send().await.unwrap();
    problem(wrong, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn a_graceful_stop_finishes_and_the_data_stays(db: TestDb) {
    let app = TestApp::spawn(&db).await;
    let ok = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let base = app.base.clone();
    app.stop()
        .await
        .expect("serve returns Ok after a graceful stop");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "the port is closed"
    );
    db.cleanup().await;
}

/// Every operation the OpenAPI document lists is routed (answered by its handler, not by the
/// not-found or method-not-allowed fallback).
async fn every_documented_operation_is_routed(db: TestDb) {
    let app = TestApp::spawn(&db).await;
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10);
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let mut url = path.replace("{index}", "0").replace("{path}", "0/000.p/1");
            let query: Vec<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| format!("{}=1", p["name"].as_str().unwrap()))
                .collect();
            if !query.is_empty() {
                url = format!("{url}?{}", query.join("&"));
            }
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method, app.url(&url))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert!(
                !body.contains("no resource at"),
                "{path} is not routed: {body}"
            );
        }
    }
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    healthz_and_metrics_answer,
    unknown_routes_and_methods_are_problem_json,
    a_graceful_stop_finishes_and_the_data_stays,
    every_documented_operation_is_routed,
);
