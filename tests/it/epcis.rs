//! EPCIS 2.0 and the GS1 Digital Link resolver on both backends, from a real server: every
//! document the EPCIS endpoints and `marktrace epcis export` produce validates against GS1's
//! official EPCIS 2.0 JSON schema (`tests/data/epcis/`, source in its README), a batch's event
//! is checked field by field, scan aggregates keep to whole past days and the caller's
//! regions, and a GTIN or a mark resolves to an RFC 9264 linkset, a redirect or the verdict
//! page as the GS1-Conformant Resolver standard asks.

use crate::common;
use common::cases::tokens;
use common::world::{PUBLIC_URL, batch, token, world};
use common::{TestApp, TestDb};
use marktrace::domain::region::RegionCode;
use marktrace::domain::verdict::Verdict;
use marktrace::scans::Scan;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// The GTIN of the test batches (GS1 check digit valid).
const GTIN: &str = "06901234567892";

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/epcis/EPCIS-JSON-Schema.json"),
    )
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(schema: &jsonschema::Validator, document: &Value) {
    let errors: Vec<String> = schema
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}\n{document:#}", errors.join("\n"));
}

/// GETs an EPCIS document: 200, `application/ld+json`.
async fn epcis(app: &TestApp, path: &str, bearer: &str) -> Value {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/ld+json"
    );
    response.json().await.unwrap()
}

fn yesterday() -> time::Date {
    time::OffsetDateTime::now_utc()
        .date()
        .previous_day()
        .unwrap()
}

/// A batch of 20 marks with a GTIN and a lot, ranges of it reported voided, lost and stolen,
/// and scans of yesterday in 南昌 (twice), 赣州 and nowhere said; the documents of both
/// feeds validate against the schema, and each caller gets what its role allows.
async fn documents_validate_against_the_epcis_schema(db: TestDb) {
    let w = world(&db).await;
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let schema = schema();
    let issued = batch(
        &app,
        &w.issuer,
        json!({"certificate_id": w.certificate, "count": 20, "gtin": GTIN, "lot": "2026-11"}),
    )
    .await;
    let batch_id = issued["batch_id"].as_str().unwrap().to_owned();
    let first = issued["first_serial"].as_u64().unwrap();
    for (offset, status) in [(0, "voided"), (2, "lost"), (4, "stolen"), (6, "suspended")] {
        let (code, answer) = app
            .post(
                &format!("/api/v1/batches/{batch_id}/reports"),
                Some(&w.issuer),
                json!({"first": first + offset, "last": first + offset + 1, "status": status,
                    "reason": "报告"}),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{answer}");
    }

    let events = epcis(&app, "/api/v1/epcis/events", &t.admin).await;
    assert_valid(&schema, &events);
    // The schema has teeth: an event without its time zone, or with a disposition CBV does
    // not define, is refused.
    let mut broken = events.clone();
    broken["epcisBody"]["eventList"][0]
        .as_object_mut()
        .unwrap()
        .remove("eventTimeZoneOffset");
    assert!(!schema.is_valid(&broken));
    let mut broken = events.clone();
    broken["epcisBody"]["eventList"][1]["disposition"] = json!("lost");
    assert!(!schema.is_valid(&broken));
    let list = events["epcisBody"]["eventList"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = list
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["disposition"].as_str().unwrap(),
            )
        })
        .collect();
    // The suspension is no EPCIS event.
    assert_eq!(
        kinds,
        [
            ("ADD", "active"),
            ("DELETE", "destroyed"),
            ("OBSERVE", "unknown"),
            ("OBSERVE", "stolen")
        ]
    );
    let size = app.log_size().await;
    assert_eq!(
        events["marktrace:nextAfter"],
        size - 1,
        "every entry examined"
    );
    // Resuming from the cursor: nothing new, the cursor stays.
    let path = format!("/api/v1/epcis/events?after={}", size - 1);
    let rest = epcis(&app, &path, &t.credit).await;
    assert_valid(&schema, &rest);
    assert_eq!(rest["epcisBody"]["eventList"], json!([]));
    assert_eq!(rest["marktrace:nextAfter"], size - 1);
    // Paged one by one, the same events in the same order.
    let mut after: Option<u64> = None;
    let mut paged = Vec::new();
    loop {
        let path = match after {
            Some(a) => format!("/api/v1/epcis/events?limit=1&after={a}"),
            None => "/api/v1/epcis/events?limit=1".to_owned(),
        };
        let page = epcis(&app, &path, &t.nanchang).await;
        let list = page["epcisBody"]["eventList"].as_array().unwrap().clone();
        if list.is_empty() {
            break;
        }
        paged.extend(list.into_iter().map(|e| e["eventID"].clone()));
        after = page["marktrace:nextAfter"].as_u64();
    }
    let ids: Vec<Value> = events["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventID"].clone())
        .collect();
    assert_eq!(paged, ids);

    // Scans: yesterday's, stored as the recorder stores them; one today, through the label.
    let day = yesterday();
    let at = |hour: u8| format!("{day}T{hour:02}:00:00.000000Z");
    let region = |code: &str| Some(RegionCode::parse(code).unwrap());
    let scan = |serial: u64, hour: u8, region: Option<RegionCode>| Scan {
        serial,
        scanned_at: at(hour),
        region,
        verdict: Verdict::Genuine,
        client: "c".repeat(64),
    };
    let store = db.store().await;
    store
        .insert_scans(&[
            scan(first + 10, 8, region("360102")),
            scan(first + 10, 9, region("360102")),
            scan(first + 10, 10, region("360702")),
            scan(first + 11, 7, None),
            // No batch holds this serial: not an event of ours.
            scan(9_999_999, 7, region("360102")),
        ])
        .await
        .unwrap();
    store.close().await;
    let mark = token(&app, &w.issuer, first + 12).await;
    let (code, _) = app.get(&format!("/v/{mark}?region=360102"), None).await;
    assert_eq!(code, StatusCode::OK);

    let path = format!("/api/v1/epcis/scans?day={day}");
    let all = epcis(&app, &path, &t.admin).await;
    assert_valid(&schema, &all);
    let list = all["epcisBody"]["eventList"].as_array().unwrap();
    let seen: Vec<(String, Value, Value)> = list
        .iter()
        .map(|e| {
            (
                e["epcList"][0].as_str().unwrap().to_owned(),
                e["readPoint"].clone(),
                e["marktrace:scans"].clone(),
            )
        })
        .collect();
    let mark_id = |serial: u64| format!("https://id.gs1.org/01/{GTIN}/21/{serial}");
    let read_point = |code: &str| json!({"id": format!("urn:marktrace:region:{code}")});
    assert_eq!(
        seen,
        [
            (mark_id(first + 10), read_point("360102"), json!(2)),
            (mark_id(first + 10), read_point("360702"), json!(1)),
            (mark_id(first + 11), Value::Null, json!(1)),
        ]
    );
    let nanchang = &list[0];
    assert_eq!(nanchang["eventTime"], at(9), "the day's last scan");
    assert_eq!(nanchang["bizStep"], "inspecting");
    assert_eq!(
        nanchang["certificationInfo"],
        format!("{PUBLIC_URL}/api/v1/public/certificates/JXGE-2026-0001")
    );
    assert_eq!(all["marktrace:nextAfter"], 9_999_999);
    let text = all.to_string();
    assert!(
        !text.contains(&"c".repeat(64)),
        "no client hash in a document"
    );

    // A supervisor of 南昌 sees 南昌's scans only; paging by serial.
    let mine = epcis(&app, &path, &t.nanchang).await;
    assert_valid(&schema, &mine);
    assert_eq!(mine["epcisBody"]["eventList"].as_array().unwrap().len(), 1);
    let page = epcis(&app, &format!("{path}&limit=1"), &t.admin).await;
    assert_eq!(page["epcisBody"]["eventList"].as_array().unwrap().len(), 2);
    assert_eq!(page["marktrace:nextAfter"], first + 10);
    let next = format!("{path}&limit=1&after={}", first + 10);
    let page = epcis(&app, &next, &t.admin).await;
    assert_eq!(
        page["epcisBody"]["eventList"][0]["epcList"][0],
        mark_id(first + 11)
    );

    // Today is not over: refused, as is anything not a date; and the roles.
    let today = time::OffsetDateTime::now_utc().date();
    for bad in [
        format!("day={today}"),
        "day=yesterday".to_owned(),
        String::new(),
    ] {
        let url = app.url(&format!("/api/v1/epcis/scans?{bad}"));
        let response = app
            .client
            .get(url)
            .bearer_auth(&t.admin)
            .send()
            .await
            .unwrap();
        common::problem(response, StatusCode::BAD_REQUEST, "invalid-request").await;
    }
    let refused = [
        ("/api/v1/epcis/events", &w.issuer),
        (path.as_str(), &t.credit),
        (path.as_str(), &w.issuer),
    ];
    for (path, bearer) in refused {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        common::problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let response = app
        .client
        .get(app.url("/api/v1/epcis/events"))
        .send()
        .await
        .unwrap();
    common::problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    app.stop().await.unwrap();

    // The command line: the same service, the same document.
    let out = db.keys_dir.with_file_name("epcis.json");
    db.marktrace_ok(&["epcis", "export", "--out", out.to_str().unwrap()]);
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_valid(&schema, &exported);
    assert_eq!(exported["epcisBody"], events["epcisBody"]);
    let day = day.to_string();
    let scans: Value =
        serde_json::from_str(&db.marktrace_ok(&["epcis", "export", "--scans-day", &day])).unwrap();
    assert_valid(&schema, &scans);
    assert_eq!(scans["epcisBody"], all["epcisBody"]);
    db.cleanup().await;
}

/// The commissioning event of a known batch, field by field.
async fn a_batch_is_commissioned_under_its_gtin_class(db: TestDb) {
    let w = world(&db).await;
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let issued = batch(
        &app,
        &w.issuer,
        json!({"certificate_id": w.certificate, "count": 5, "gtin": "6901234567892", "lot": "L7"}),
    )
    .await;
    let first = issued["first_serial"].as_u64().unwrap();
    let document = epcis(&app, "/api/v1/epcis/events", &t.admin).await;
    assert_eq!(
        document["@context"],
        json!(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"marktrace": "urn:marktrace:epcis:"}])
    );
    assert_eq!(document["type"], "EPCISDocument");
    assert_eq!(document["schemaVersion"], "2.0");
    assert!(document["creationDate"].as_str().unwrap().ends_with('Z'));
    let list = document["epcisBody"]["eventList"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let event = list[0].as_object().unwrap();
    let (_, entry) = app
        .get(
            &format!("/api/v1/batches/{}", issued["batch_id"].as_str().unwrap()),
            Some(&w.issuer),
        )
        .await;
    let issued_at = entry["issued_at"].as_str().unwrap();
    let expected = json!({
        "type": "ObjectEvent",
        "eventTime": issued_at,
        "recordTime": issued_at,
        "eventTimeZoneOffset": "+08:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "quantityList": [{"epcClass": format!("https://id.gs1.org/01/{GTIN}"), "quantity": 5}],
        "certificationInfo": format!("{PUBLIC_URL}/api/v1/public/certificates/JXGE-2026-0001"),
        "marktrace:batch": issued["batch_id"],
        "marktrace:firstSerial": first,
        "marktrace:lastSerial": first + 4,
        "marktrace:lot": "L7",
    });
    let event_id = event["eventID"].as_str().unwrap();
    assert!(event_id.starts_with("urn:uuid:"), "{event_id}");
    let mut rest = event.clone();
    rest.remove("eventID");
    assert_eq!(Value::Object(rest), expected);
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// Checks the RFC 9264 JSON shape (§4.2): a top-level `linkset` array of link context
/// objects, each with an `anchor` and every other member a relation type whose value is an
/// array of target objects, each with an `href`. Returns the single context object.
fn rfc9264_context(linkset: &Value) -> serde_json::Map<String, Value> {
    let contexts = linkset["linkset"].as_array().expect("a linkset array");
    assert_eq!(contexts.len(), 1, "{linkset}");
    let context = contexts[0].as_object().unwrap().clone();
    assert!(context["anchor"].is_string());
    for (relation, targets) in context.iter().filter(|(k, _)| *k != "anchor") {
        let targets = targets
            .as_array()
            .unwrap_or_else(|| panic!("{relation}: not an array"));
        assert!(!targets.is_empty(), "{relation}");
        for target in targets {
            assert!(target["href"].is_string(), "{relation}: {target}");
        }
    }
    context
}

/// A GTIN and a mark resolve: the linkset by Accept or `linkType`, a 307 to the certificate
/// page, the default link, the verdict page for browsers; unknown GTINs are 404, bad ones 400.
async fn the_resolver_answers_linksets_redirects_and_the_verdict_page(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn_with(
        &db,
        &["--pip-url-template", "https://shop.example.cn/p/{gtin}"],
    )
    .await;
    let issued = batch(
        &app,
        &w.issuer,
        json!({"certificate_id": w.certificate, "count": 3, "gtin": GTIN}),
    )
    .await;
    let serial = issued["first_serial"].as_u64().unwrap();
    let mark = token(&app, &w.issuer, serial).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let certificate_page = format!("{PUBLIC_URL}/api/v1/public/certificates/JXGE-2026-0001");
    let gtin_uri = format!("{PUBLIC_URL}/01/{GTIN}");
    let mark_uri = format!("{gtin_uri}/21/{serial}");

    for (path, accept) in [
        (format!("/01/{GTIN}"), "application/linkset+json"),
        (format!("/01/{GTIN}?linkType=linkset"), "text/html"),
        (
            format!("/01/{GTIN}/21/{serial}?t={mark}"),
            "application/linkset+json",
        ),
        (format!("/01/{GTIN}/21/{serial}?linkType=linkset"), "*/*"),
    ] {
        let response = client
            .get(app.url(&path))
            .header(header::ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/linkset+json"
        );
        let link = response.headers()[header::LINK]
            .to_str()
            .unwrap()
            .to_owned();
        let linkset: Value = response.json().await.unwrap();
        let context = rfc9264_context(&linkset);
        let anchor = if path.contains("/21/") {
            &mark_uri
        } else {
            &gtin_uri
        };
        assert_eq!(context["anchor"], json!(anchor), "{path}");
        assert_eq!(
            link,
            format!(
                "<{anchor}?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\""
            )
        );
        assert_eq!(
            context["https://gs1.org/voc/certificationInfo"][0]["href"],
            certificate_page
        );
        assert_eq!(
            context["https://gs1.org/voc/verificationService"][0]["href"],
            format!("{PUBLIC_URL}/api/v1/verify")
        );
        assert_eq!(
            context["https://gs1.org/voc/pip"][0]["href"],
            format!("https://shop.example.cn/p/{GTIN}")
        );
        let default = &context["https://gs1.org/voc/defaultLink"][0]["href"];
        if path.contains("?t=") {
            assert_eq!(
                *default,
                json!(format!("{mark_uri}?t={mark}")),
                "the verdict page"
            );
        } else {
            assert_eq!(*default, json!(format!("https://shop.example.cn/p/{GTIN}")));
        }
    }

    // linkType redirects; a GTIN's plain request goes to its default link.
    for path in [
        format!("/01/{GTIN}?linkType=gs1:certificationInfo"),
        format!("/01/{GTIN}/21/{serial}?linkType=https://gs1.org/voc/certificationInfo"),
    ] {
        let response = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT, "{path}");
        assert_eq!(
            response.headers()[header::LOCATION],
            certificate_page.as_str()
        );
    }
    let response = client
        .get(app.url(&format!("/01/{GTIN}")))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        response.headers()[header::LOCATION],
        format!("https://shop.example.cn/p/{GTIN}").as_str()
    );

    // The certificate page the link names, on this server.
    let (code, certificate) = app
        .get("/api/v1/public/certificates/JXGE-2026-0001", None)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(certificate["code"], "JXGE-2026-0001");
    assert_eq!(certificate["status"], "issued");
    assert_eq!(certificate["product_name"], "大米");
    let (code, _) = app.get("/api/v1/public/certificates/JXGE-9999", None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // A browser on the label URL still gets the verdict page, naming its linkset.
    let label = format!("/01/{GTIN}/21/{serial}?t={mark}");
    let response = client
        .get(app.url(&label))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        response.headers()[header::LINK],
        format!("</01/{GTIN}/21/{serial}?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"").as_str()
    );
    assert!(response.text().await.unwrap().contains("JXGE-2026-0001"));

    // Unknown and malformed.
    let missing = [
        "/01/09506000134352?linkType=linkset".to_owned(),
        format!("/01/{GTIN}/21/{}?linkType=linkset", serial + 100),
    ];
    for path in missing {
        let response = client.get(app.url(&path)).send().await.unwrap();
        common::problem(response, StatusCode::NOT_FOUND, "not-found").await;
    }
    for path in [
        "/01/06901234567893?linkType=linkset",
        "/01/123",
        "/01/06901234567892/21/x?linkType=linkset",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        common::problem(response, StatusCode::BAD_REQUEST, "invalid-request").await;
    }
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    documents_validate_against_the_epcis_schema,
    a_batch_is_commissioned_under_its_gtin_class,
    the_resolver_answers_linksets_redirects_and_the_verdict_page,
);
