//! Mark batches end to end, on both backends: issued as one event, exported as a streamed CSV
//! whose every token verifies under the published key, refused (with nothing written) against
//! a certificate, issuer, key, GTIN or region that does not allow it, ranges reported, and a
//! label PNG that an independent QR decoder reads back as exactly the mark's URL.

use std::collections::HashSet;

use crate::common;
use common::world::{PUBLIC_URL, active_key, batch, certificate, mark, world};
use common::{TestApp, TestDb, assert_refused};
use marktrace::app::registry::certificates::CertificateStep;
use marktrace::domain::certificate::Reason;
use marktrace::domain::issuer::IssuerId;
use marktrace::mark::token::Token;
use reqwest::StatusCode;
use serde_json::json;
use time::macros::date;

async fn a_batch_is_one_event_and_every_exported_token_verifies(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn(&db).await;
    let before = app.log_size().await;
    let body = json!({"certificate_id": w.certificate, "count": 1500, "gtin": "6901234567892", "lot": "2026-11"});
    let batch = batch(&app, &w.issuer, body).await;
    assert_eq!(
        app.log_size().await,
        before + 1,
        "one event, whatever the count"
    );
    assert_eq!(batch["first_serial"], 1);
    assert_eq!(batch["count"], 1500);
    assert_eq!(batch["gtin"], "06901234567892", "GTIN-13 padded to 14");
    assert_eq!(
        batch["regions"],
        json!(["360000"]),
        "default: the enterprise's province"
    );
    assert_eq!(batch["certificate_code"], "JXGE-2026-0001");
    let batch_id = batch["batch_id"].as_str().unwrap();

    let key = active_key(&app).await;
    let export = format!("/api/v1/batches/{batch_id}/marks.csv");
    let (code, text) = app.text(&export, Some(&w.issuer)).await;
    assert_eq!(code, StatusCode::OK);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("serial,token,url,gs1_url"));
    let mut serials = HashSet::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let serial: u64 = fields[0].parse().unwrap();
        assert_eq!(serial, i as u64 + 1, "in serial order");
        let token = Token::decode(fields[1]).unwrap();
        assert!(token.verify(&key), "serial {serial}");
        assert_eq!(token.body().serial(), serial);
        assert_eq!(token.body().certificate(), "JXGE-2026-0001");
        assert_eq!(fields[2], format!("{PUBLIC_URL}/v/{}", fields[1]));
        assert_eq!(
            fields[3],
            format!("{PUBLIC_URL}/01/06901234567892/21/{serial}?t={}", fields[1])
        );
        serials.insert(serial);
    }
    assert_eq!(serials.len(), 1500);

    // The next batch continues the serials; concurrent batches never share one.
    let requests = (0..4).map(|_| {
        let body =
            json!({"certificate_id": w.certificate, "count": 10, "regions": ["360100", "361100"]});
        app.post("/api/v1/batches", Some(&w.issuer), body)
    });
    let mut firsts: Vec<u64> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|(code, b)| {
            assert_eq!(code, StatusCode::CREATED, "{b}");
            assert_eq!(b["regions"], json!(["360100", "361100"]));
            b["first_serial"].as_u64().unwrap()
        })
        .collect();
    firsts.sort();
    assert_eq!(firsts, vec![1501, 1511, 1521, 1531]);

    let (code, listed) = app.get("/api/v1/batches", Some(&w.admin)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 5);
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn issuing_is_refused_with_nothing_written(db: TestDb) {
    let w = world(&db).await;
    let node = db.node().await;
    let services = &node.services;
    let issuer = IssuerId::parse("jx-cb1").unwrap();
    let mut ids = Vec::new();
    for (code, from, until) in [
        ("JXGE-OLD", date!(2020 - 01 - 01), date!(2021 - 12 - 31)),
        ("JXGE-NEXT", date!(2098 - 01 - 01), date!(2099 - 12 - 31)),
        ("JXGE-SUSP", date!(2026 - 01 - 01), date!(2099 - 12 - 31)),
        ("JXGE-REV", date!(2026 - 01 - 01), date!(2099 - 12 - 31)),
    ] {
        ids.push(certificate(services, code, from, until).await);
    }
    let [expired, future, suspended, revoked] = <[String; 4]>::try_from(ids).unwrap();
    for (id, step) in [
        (
            &suspended,
            CertificateStep::Suspend(Reason::new("复查").unwrap()),
        ),
        (
            &revoked,
            CertificateStep::Revoke(Reason::new("违规").unwrap()),
        ),
    ] {
        services
            .registry
            .advance_certificate(id, &issuer, step, "test")
            .await
            .unwrap();
    }
    node.close().await;
    let app = TestApp::spawn(&db).await;
    // A batch issued while the key was good, to export again once it is compromised.
    let earlier = json!({"certificate_id": w.certificate, "count": 5});
    let earlier = batch(&app, &w.issuer, earlier).await;
    let before = app.log_size().await;
    let cases = [
        (
            json!({"certificate_id": expired, "count": 5}),
            StatusCode::CONFLICT,
            "expired (valid until 2021-12-31)",
        ),
        (
            json!({"certificate_id": future, "count": 5}),
            StatusCode::CONFLICT,
            "valid only from 2098-01-01",
        ),
        (
            json!({"certificate_id": suspended, "count": 5}),
            StatusCode::CONFLICT,
            "is suspended",
        ),
        (
            json!({"certificate_id": revoked, "count": 5}),
            StatusCode::CONFLICT,
            "is revoked",
        ),
        (
            json!({"certificate_id": "nope", "count": 5}),
            StatusCode::NOT_FOUND,
            "does not exist",
        ),
        (
            json!({"certificate_id": w.certificate, "count": 0}),
            StatusCode::BAD_REQUEST,
            "count must be 1 to 10000000",
        ),
        (
            json!({"certificate_id": w.certificate, "count": 10_000_001}),
            StatusCode::BAD_REQUEST,
            "count must be",
        ),
        (
            json!({"certificate_id": w.certificate, "count": 5, "gtin": "6901234567893"}),
            StatusCode::BAD_REQUEST,
            "check digit",
        ),
        (
            json!({"certificate_id": w.certificate, "count": 5, "regions": ["369999"]}),
            StatusCode::BAD_REQUEST,
            "369999",
        ),
    ];
    for (body, code, message) in cases {
        let (got, problem) = app
            .post("/api/v1/batches", Some(&w.issuer), body.clone())
            .await;
        assert_refused(got, &problem, code, message);
    }
    // Without an active key, and for a suspended issuer.
    let (_, keys) = app.get("/api/v1/keys", None).await;
    let key_id = keys["keys"][0]["key_id"].as_str().unwrap().to_owned();
    let reason = json!({"reason": "泄露"});
    let path = format!("/api/v1/keys/{key_id}/compromise");
    assert_eq!(
        app.post(&path, Some(&w.admin), reason).await.0,
        StatusCode::OK
    );
    let export = format!(
        "/api/v1/batches/{}/marks.csv",
        earlier["batch_id"].as_str().unwrap()
    );
    // A leaked key prints no more labels.
    let (code, problem) = app.get(&export, Some(&w.issuer)).await;
    assert_refused(code, &problem, StatusCode::CONFLICT, "is compromised");
    let batch = json!({"certificate_id": w.certificate, "count": 5});
    let (code, problem) = app
        .post("/api/v1/batches", Some(&w.issuer), batch.clone())
        .await;
    assert_refused(code, &problem, StatusCode::CONFLICT, "no active key");
    let suspend = json!({"reason": "整改"});
    app.post("/api/v1/issuers/jx-cb1/suspend", Some(&w.admin), suspend)
        .await;
    let (code, _) = app.post("/api/v1/batches", Some(&w.issuer), batch).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(
        app.log_size().await,
        before + 2,
        "only the compromise and the suspension"
    );
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn ranges_are_reported_and_each_serial_answers_its_status(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn(&db).await;
    let body = json!({"certificate_id": w.certificate, "count": 100});
    let batch = batch(&app, &w.issuer, body).await;
    let id = batch["batch_id"].as_str().unwrap();
    let path = format!("/api/v1/batches/{id}/reports");
    let report = |first: u64, last: u64, status: &str, reason: Option<&str>| {
        let body = json!({"first": first, "last": last, "status": status, "reason": reason});
        let (app, path, bearer) = (&app, path.clone(), w.issuer.clone());
        async move { app.post(&path, Some(&bearer), body).await }
    };
    assert_eq!(report(1, 10, "voided", None).await.0, StatusCode::OK);
    assert_eq!(
        report(20, 29, "stolen", Some("仓库失窃")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        report(25, 25, "revoked", Some("假冒")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        report(40, 49, "suspended", Some("复查")).await.0,
        StatusCode::OK
    );
    assert_eq!(report(45, 49, "reinstated", None).await.0, StatusCode::OK);

    let (code, problem) = report(5, 15, "reinstated", None).await;
    assert_refused(code, &problem, StatusCode::CONFLICT, "serial 5 is voided");
    let (code, problem) = report(95, 101, "lost", Some("x")).await;
    assert_refused(code, &problem, StatusCode::BAD_REQUEST, "1..=100");
    let (code, _) = report(50, 50, "lost", None).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "lost needs a reason");

    for (serial, status) in [
        (1, "voided"),
        (10, "voided"),
        (11, "good"),
        (24, "stolen"),
        (25, "revoked"),
        (42, "suspended"),
        (47, "good"),
        (100, "good"),
    ] {
        let (code, mark) = app
            .get(&format!("/api/v1/marks/{serial}"), Some(&w.issuer))
            .await;
        assert_eq!(code, StatusCode::OK, "{mark}");
        assert_eq!(mark["status"], status, "serial {serial}");
        assert_eq!(mark["batch_id"], id);
    }
    let (code, _) = app.get("/api/v1/marks/101", Some(&w.issuer)).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, batch) = app
        .get(&format!("/api/v1/batches/{id}"), Some(&w.issuer))
        .await;
    assert_eq!(batch["reports"].as_array().unwrap().len(), 5);
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn a_label_png_decodes_to_exactly_the_marks_url(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn(&db).await;
    let body = json!({"certificate_id": w.certificate, "count": 3, "gtin": "06901234567892"});
    batch(&app, &w.issuer, body).await;
    let mark = mark(&app, &w.issuer, 2).await;
    for (query, url) in [("", &mark["url"]), ("?form=gs1&px=6", &mark["gs1_url"])] {
        let response = app
            .client
            .get(app.url(&format!("/api/v1/marks/2/qr.png{query}")))
            .bearer_auth(&w.issuer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/png");
        let png = response.bytes().await.unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let (width, height) = (info.width as usize, info.height as usize);
        let luma = |x: usize, y: usize| {
            let byte = pixels[y * info.line_size + x / 8];
            if byte >> (7 - x % 8) & 1 == 1 { 255 } else { 0 }
        };
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
        let grids = image.detect_grids();
        let (_, decoded) = grids[0].decode().unwrap();
        assert_eq!(&decoded, url.as_str().unwrap());
    }
    let response = app
        .client
        .get(app.url("/api/v1/marks/2/qr.svg"))
        .bearer_auth(&w.issuer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let (code, _) = app
        .get("/api/v1/marks/2/qr.png?px=33", Some(&w.issuer))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    a_batch_is_one_event_and_every_exported_token_verifies,
    issuing_is_refused_with_nothing_written,
    ranges_are_reported_and_each_serial_answers_its_status,
    a_label_png_decodes_to_exactly_the_marks_url,
);

/// The one-million-mark batch of the issue, through the CLI: one event, a CSV with a million
/// distinct serials whose tokens all verify, and the export's peak memory far below the CSV's
/// size. Storage plays no part beyond one append, so this runs on SQLite only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_marks_are_one_event_and_every_token_verifies() {
    let db = TestDb::sqlite();
    let w = world(&db).await;
    let before = db.store().await.log_size().await.unwrap();
    let out = db.keys_dir.parent().unwrap().join("marks.csv");
    let out_arg = out.display().to_string();
    let args = [
        "issue",
        "--issuer",
        "jx-cb1",
        "--certificate",
        &w.certificate,
    ];
    let stdout = db.marktrace_ok(&[&args[..], &["--count", "1000000", "--out", &out_arg]].concat());
    assert!(stdout.contains("wrote 1000000 marks"), "{stdout}");
    assert_eq!(
        db.store().await.log_size().await.unwrap(),
        before + 1,
        "one event"
    );
    let peak_mib: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak memory: "))
        .and_then(|l| l.strip_suffix(" MiB"))
        .unwrap()
        .parse()
        .unwrap();
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(
        peak_mib * 1024 * 1024 * 4 < csv.len() as u64,
        "peak memory {peak_mib} MiB is bounded, far below the {} byte CSV",
        csv.len()
    );
    println!(
        "1,000,000 marks: CSV {} bytes, export peak memory {peak_mib} MiB",
        csv.len()
    );

    let app = TestApp::spawn(&db).await;
    let key = active_key(&app).await;
    app.stop().await.unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 1_000_000);
    let serials: HashSet<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = rows
            .chunks(rows.len().div_ceil(2))
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|row| {
                            let mut fields = row.split(',');
                            let serial: u64 = fields.next().unwrap().parse().unwrap();
                            let token = Token::decode(fields.next().unwrap()).unwrap();
                            assert!(token.verify(&key), "serial {serial}");
                            assert_eq!(token.body().serial(), serial);
                            serial
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(serials.len(), 1_000_000);
    assert_eq!(serials.iter().min(), Some(&1));
    assert_eq!(serials.iter().max(), Some(&1_000_000));
    db.cleanup().await;
}

/// `marktrace issue` also writes a QR image per mark and a printable sheet on request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_writes_qr_images_and_a_printable_sheet() {
    let db = TestDb::sqlite();
    let w = world(&db).await;
    let dir = db.keys_dir.parent().unwrap().to_owned();
    let (out, qr, sheet) = (dir.join("m.csv"), dir.join("qr"), dir.join("sheet.html"));
    let paths = [&out, &qr, &sheet].map(|p| p.display().to_string());
    let args = [
        "issue",
        "--issuer",
        "jx-cb1",
        "--certificate",
        &w.certificate,
        "--count",
        "3",
    ];
    let more = [
        "--out", &paths[0], "--qr-dir", &paths[1], "--sheet", &paths[2],
    ];
    let issued = db.marktrace(&[&args[..], &more[..]].concat());
    let stderr = String::from_utf8_lossy(&issued.stderr);
    assert!(issued.status.success(), "{stderr}");
    assert!(
        stderr.contains("marks: 3/3 (100%)"),
        "plain progress lines off a terminal: {stderr}"
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    for row in csv.lines().skip(1) {
        let serial = row.split(',').next().unwrap();
        let png = std::fs::read(qr.join(format!("{serial}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{serial}.png");
    }
    let sheet = std::fs::read_to_string(&sheet).unwrap();
    assert_eq!(sheet.matches("<figure><svg").count(), 3);
    assert!(sheet.contains("<figcaption>2</figcaption>") && sheet.ends_with("</html>\n"));
    db.cleanup().await;
}
