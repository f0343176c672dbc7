//! Offline verification (issue 17) against the server, on both backends: signed status
//! snapshots from `GET /api/v1/status/snapshot`, opened with the log's verifier key, decide
//! every presentation (genuine, altered, unregistered, badly signed, malformed, unknown key,
//! changed label paths, foreign hosts, claims) with the server's verdict and reason, and the
//! status flags (`leaked`, `key_compromised`); behaviour flags need scans and are not
//! compared. A random walk of registry changes (range reports of every status, certificate
//! suspension, reinstatement and revocation, a compromised key, a suspended sub-brand, new
//! batches) is the property: after each step the full snapshot and the previous one with its
//! delta agree with the server now, and the previous snapshot, one step stale, agrees with the
//! server as it answered before the step: what `as_of` promises.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use marktrace::app::snapshot;
use marktrace::app::verification::check::{Claims, Presented};
use marktrace::app::verification::offline::Offline;
use marktrace::domain::gtin::Gtin;
use marktrace::domain::issuer::IssuerId;
use marktrace::domain::key::KeyId;
use marktrace::domain::snapshot::Snapshot;
use marktrace::domain::verdict::{Answer, Flag, Reason, Verdict};
use marktrace::keys::Keyring;
use marktrace::log::note::NoteVerifier;
use marktrace::mark::token::{MarkBody, sign};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::world::{World, batch, token, world_of};
use crate::common::{ORIGIN, Rng, TestApp, TestDb};

/// Registry changes in the walk, and its seed ("snapshot" in ASCII).
const STEPS: usize = 24;
const SEED: u64 = 0x0073_6e61_7073_686f;

const GTIN: &str = "06901234567892";

/// One presentation: what is sent to the server, and the same offline.
#[derive(Clone, Debug)]
struct Shown {
    token: String,
    url: Option<String>,
    claims: Option<Value>,
}

/// What is compared: verdict, reason, and the flags a snapshot can know.
type Seen = (Verdict, Reason, bool, bool);

fn seen(answer: &Answer) -> Seen {
    (
        answer.verdict,
        answer.reason,
        answer.flags.contains(&Flag::KeyCompromised),
        answer.verdict == Verdict::Void && answer.flags.contains(&Flag::Leaked),
    )
}

struct Walk {
    app: TestApp,
    world: World,
    log_key: NoteVerifier,
    /// Each batch: id, first serial, count.
    batches: Vec<(String, u64, u64)>,
    key: SigningKey,
    key_id: KeyId,
}

impl Walk {
    async fn server(&self, shown: &Shown) -> Seen {
        let mut body = match &shown.url {
            Some(url) => json!({ "url": url }),
            None => json!({ "token": shown.token }),
        };
        if let Some(claims) = &shown.claims {
            body["claims"] = claims.clone();
        }
        let (code, answer) = self.app.post("/api/v1/verify", None, body).await;
        assert_eq!(code, StatusCode::OK, "{answer}");
        let flags: Vec<Flag> = serde_json::from_value(answer["flags"].clone()).unwrap();
        let verdict: Verdict = serde_json::from_value(answer["verdict"].clone()).unwrap();
        (
            verdict,
            serde_json::from_value(answer["reason"].clone()).unwrap(),
            flags.contains(&Flag::KeyCompromised),
            verdict == Verdict::Void && flags.contains(&Flag::Leaked),
        )
    }

    async fn document(&self, since: Option<u64>) -> Vec<u8> {
        let path = match since {
            Some(since) => format!("/api/v1/status/snapshot?since={since}"),
            None => "/api/v1/status/snapshot".to_owned(),
        };
        let response = self
            .app
            .client
            .get(self.app.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.marktrace.status-snapshot"
        );
        response.bytes().await.unwrap().to_vec()
    }

    async fn snapshot(&self) -> Snapshot {
        snapshot::open(&self.document(None).await, &self.log_key).unwrap()
    }

    /// The marks shown this step: a few serials of every batch, each as printed, then
    /// changed in each way a forger or a careless printer would.
    async fn presentations(&self, pick: u64) -> Vec<Shown> {
        let mut shown = Vec::new();
        for (i, (_, first, count)) in self.batches.iter().enumerate() {
            let serial = first + (pick + i as u64) % count;
            let genuine = token(&self.app, &self.world.issuer, serial).await;
            let bare = |t: &str| Shown {
                token: t.to_owned(),
                url: None,
                claims: None,
            };
            shown.push(bare(&genuine));
            let base = &self.app.base;
            shown.push(Shown {
                url: Some(format!("{base}/01/{GTIN}/21/{serial}?t={genuine}")),
                ..bare(&genuine)
            });
            shown.push(Shown {
                url: Some(format!("{base}/01/{GTIN}/21/{}?t={genuine}", serial + 1)),
                ..bare(&genuine)
            });
            shown.push(Shown {
                url: Some(format!("https://elsewhere.example/v/{genuine}")),
                ..bare(&genuine)
            });
            shown.push(Shown {
                claims: Some(json!({"certificate_code": "JXGE-2026-9999"})),
                ..bare(&genuine)
            });
            shown.push(Shown {
                claims: Some(json!({"enterprise_uscc": "91350100M000100Y43"})),
                ..bare(&genuine)
            });
            let mut raw = URL_SAFE_NO_PAD.decode(&genuine).unwrap();
            // The certificate code's last character, under the genuine signature: 变造.
            let cert_end = 1 + 8 + 8 + 1 + usize::from(raw[17]) - 1;
            raw[cert_end] = if raw[cert_end] == b'1' { b'2' } else { b'1' };
            shown.push(bare(&URL_SAFE_NO_PAD.encode(&raw)));
            let mut raw = URL_SAFE_NO_PAD.decode(&genuine).unwrap();
            let last = raw.len() - 1;
            raw[last] ^= 0x40;
            shown.push(bare(&URL_SAFE_NO_PAD.encode(&raw)));
        }
        // Signed by the issuer's key but never issued, by an unknown key, and junk.
        let gtin = Gtin::parse(GTIN).ok();
        let never = MarkBody::new(self.key_id, 9_000_000, "JXGE-2026-0001", gtin).unwrap();
        let stranger = SigningKey::from_bytes(&[3; 32]);
        let unknown = MarkBody::new(KeyId::of(&stranger.verifying_key()), 1, "X", None).unwrap();
        for token in [
            sign(&self.key, &never),
            sign(&stranger, &unknown),
            "not a token".to_owned(),
            "AgAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        ] {
            shown.push(Shown {
                token,
                url: None,
                claims: None,
            });
        }
        shown
    }

    /// One random registry change; a change the registry refuses (a final status, an
    /// illegal transition) is a change too: nothing.
    async fn step(&mut self, op: u8, a: u64, b: u64) {
        let admin = Some(self.world.admin.as_str());
        let issuer = Some(self.world.issuer.as_str());
        let certificate = &self.world.certificate;
        let (path, body, bearer) = match op {
            0..=5 => {
                let (id, first, count) = &self.batches[(a % self.batches.len() as u64) as usize];
                let from = first + a % count;
                let to = (from + b % 4).min(first + count - 1);
                let status = [
                    "voided",
                    "lost",
                    "stolen",
                    "revoked",
                    "suspended",
                    "reinstated",
                ][op as usize];
                let body = json!({"first": from, "last": to, "status": status, "reason": "抽检"});
                (format!("/api/v1/batches/{id}/reports"), body, issuer)
            }
            6 => (
                format!("/api/v1/certificates/{certificate}/suspend"),
                json!({"reason": "整改"}),
                issuer,
            ),
            7 => (
                format!("/api/v1/certificates/{certificate}/reinstate"),
                json!({}),
                issuer,
            ),
            8 if a % 4 == 0 => (
                format!("/api/v1/certificates/{certificate}/revoke"),
                json!({"reason": "撤销"}),
                issuer,
            ),
            9 if a % 3 == 0 => (
                format!("/api/v1/keys/{}/compromise", self.key_id),
                json!({"reason": "泄露"}),
                admin,
            ),
            10 => (
                "/api/v1/sub-brands/ganzhou/suspend".to_owned(),
                json!({"reason": "暂停"}),
                admin,
            ),
            11 => (
                "/api/v1/sub-brands/ganzhou/reinstate".to_owned(),
                json!({}),
                admin,
            ),
            _ => {
                let gtin = (a % 2 == 0).then_some(GTIN);
                let body =
                    json!({"certificate_id": certificate, "count": 5 + b % 20, "gtin": gtin});
                let (code, issued) = self.app.post("/api/v1/batches", issuer, body).await;
                if code == StatusCode::CREATED {
                    self.batches.push(described(&issued));
                }
                return;
            }
        };
        let (code, answer) = self.app.post(&path, bearer, body).await;
        assert!(
            code.is_success() || code == StatusCode::CONFLICT,
            "{path}: {code} {answer}"
        );
    }
}

fn described(batch: &Value) -> (String, u64, u64) {
    (
        batch["batch_id"].as_str().unwrap().to_owned(),
        batch["first_serial"].as_u64().unwrap(),
        batch["count"].as_u64().unwrap(),
    )
}

fn offline(snapshot: &Snapshot, shown: &[Shown]) -> Vec<Seen> {
    let offline = Offline::new(snapshot.clone()).unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    shown
        .iter()
        .map(|s| {
            let claims: Option<Claims> =
                s.claims.clone().map(|c| serde_json::from_value(c).unwrap());
            let label = s.url.as_deref().and_then(|u| offline.label_url(u));
            let presented = match &label {
                Some(label) => Presented::label(label, claims.as_ref()),
                None => Presented::token(&s.token, claims.as_ref()),
            };
            let answer = offline.verify(&presented, today);
            assert_eq!(answer.as_of.size, snapshot.size);
            seen(&answer.answer)
        })
        .collect()
}

async fn offline_verdicts_agree_with_the_server(db: TestDb) {
    let world = world_of(&db, Some(("ganzhou", "赣南脐橙"))).await;
    let app = TestApp::spawn_with(&db, &["--public-rate", "0"]).await;
    let (_, vkey) = app.text("/api/v1/log/key", None).await;
    let log_key = NoteVerifier::parse(vkey.trim()).unwrap();
    let (_, active) = app.get("/api/v1/keys?status=active", None).await;
    let key_id: KeyId = serde_json::from_value(active["keys"][0]["key_id"].clone()).unwrap();
    let issuer = IssuerId::parse("jx-cb1").unwrap();
    let key = Keyring::open(&db.keys_dir)
        .unwrap()
        .issuer_key(&issuer, key_id)
        .unwrap();
    let with_gtin = json!({"certificate_id": world.certificate, "count": 12, "gtin": GTIN});
    let without = json!({"certificate_id": world.certificate, "count": 7});
    let batches = vec![
        described(&batch(&app, &world.issuer, with_gtin).await),
        described(&batch(&app, &world.issuer, without).await),
    ];
    let mut walk = Walk {
        app,
        world,
        log_key,
        batches,
        key,
        key_id,
    };

    // A snapshot that is not the log key's, or is changed, is refused before it is read.
    let document = walk.document(None).await;
    let other = NoteVerifier::parse(
        &marktrace::log::note::NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[8; 32]))
            .unwrap()
            .verifier_key(),
    )
    .unwrap();
    assert!(snapshot::open(&document, &other).is_err());
    let mut changed = document.clone();
    changed[10] ^= 1;
    assert!(snapshot::open(&changed, &walk.log_key).is_err());
    let size = snapshot::open(&document, &walk.log_key).unwrap().size;
    let (code, _) = walk
        .app
        .get(
            &format!("/api/v1/status/snapshot?since={}", size + 1000),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    // The walk: seeded, so a failure reproduces; each step is checked against the server.
    let mut rng = Rng(SEED);
    let mut before: Option<(Snapshot, Vec<Shown>, Vec<Seen>)> = None;
    for step in 0..STEPS {
        let (op, a, b) = (rng.below(14) as u8, rng.below(1 << 32), rng.below(1 << 32));
        walk.step(op, a, b).await;
        let now = walk.snapshot().await;
        let shown = walk.presentations(a).await;
        let mut server = Vec::new();
        for s in &shown {
            server.push(walk.server(s).await);
        }
        let context = format!("step {step} (op {op}, {a}, {b})");
        assert_eq!(offline(&now, &shown), server, "full snapshot, {context}");
        if let Some((old, old_shown, old_server)) = before.take() {
            assert_eq!(
                offline(&old, &old_shown),
                old_server,
                "one step stale, as of its size: {context}"
            );
            let document = walk.document(Some(old.size)).await;
            // One registry change (or none) since: a delta of at most 1 KiB.
            assert!(
                document.len() <= 1024,
                "{} bytes, {context}",
                document.len()
            );
            let delta = snapshot::open(&document, &walk.log_key).unwrap();
            assert_eq!(delta.since, Some(old.size));
            let mut caught_up = old;
            caught_up.apply(delta).unwrap();
            assert_eq!(
                offline(&caught_up, &shown),
                server,
                "snapshot + delta, {context}"
            );
        }
        before = Some((now, shown, server));
    }

    // The command line, as an inspector runs it: the snapshot file and the log's key alone.
    let (id, first, _) = walk.batches[1].clone();
    let genuine = token(&walk.app, &walk.world.issuer, first).await;
    let server = walk
        .server(&Shown {
            token: genuine.clone(),
            url: None,
            claims: None,
        })
        .await;
    let file = db.keys_dir.with_file_name(format!("snapshot-{id}.bin"));
    std::fs::write(&file, walk.document(None).await).unwrap();
    let printed = db.marktrace_ok(&[
        "verify",
        &genuine,
        "--offline",
        file.to_str().unwrap(),
        "--vkey",
        vkey.trim(),
    ]);
    let answer: Value = serde_json::from_str(printed.trim()).unwrap();
    let verdict: Verdict = serde_json::from_value(answer["verdict"].clone()).unwrap();
    let reason: Reason = serde_json::from_value(answer["reason"].clone()).unwrap();
    assert_eq!((verdict, reason), (server.0, server.1), "{printed}");
    assert!(answer["as_of"]["size"].as_u64().unwrap() > 0, "{printed}");
    walk.app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(offline_verdicts_agree_with_the_server);
