//! Label URLs (SPEC.md "The mark"): `{public_url}/v/{token}` and the GS1 Digital Link form
//! `{public_url}/01/{gtin14}/21/{serial}?t={token}`. The URLs the export prints parse back to
//! their token and path segments for any public URL a deployment may have; what
//! `parse_label_url` finds in any text is really there; and against a real registry, a genuine
//! token under a path whose GTIN or serial differs in any way from the token's (a serial with
//! leading zeros, a GTIN-13 left unpadded, another number) is `altered`, `url_mismatch`, while
//! the exact path is `genuine`.

use ed25519_dalek::SigningKey;
use marktrace::app::verification::check::{Presented, Signatures, check};
use marktrace::domain::batch::BatchIssued;
use marktrace::domain::gtin::Gtin;
use marktrace::domain::issuer::IssuerId;
use marktrace::domain::verdict::{Reason, Verdict};
use marktrace::keys::Keyring;
use marktrace::mark::export::{gs1_url, label_url};
use marktrace::mark::label::{LabelHosts, LabelUrl, parse_label_url};
use marktrace::mark::token::{MarkBody, sign};
use marktrace::projections::marks::MarkIndex;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use crate::common::TestDb;
use crate::common::world::world;

/// A public URL as configuration accepts it: `http(s)://host[:port][/path]`, no trailing
/// slash. Path segments are often the ones label URLs are made of (`v`, `01`, `21`, digits),
/// since a parser that searches for them must not find them there.
fn public_url() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("v".to_owned()),
        Just("01".to_owned()),
        Just("21".to_owned()),
        "[0-9]{1,14}",
        "[a-z0-9._~-]{1,8}",
    ];
    (
        prop::sample::select(vec!["http", "https"]),
        "[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,12}){0,3}",
        prop::option::of(1..=65535_u16),
        prop::collection::vec(segment, 0..4),
    )
        .prop_map(|(scheme, host, port, path)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let path: String = path.iter().map(|s| format!("/{s}")).collect();
            format!("{scheme}://{host}{port}{path}")
        })
}

fn gtin() -> impl Strategy<Value = Gtin> {
    (1_u64..10_000_000_000_000).prop_map(|data| {
        (0..10)
            .find_map(|d| Gtin::from_u64(data * 10 + d))
            .expect("one digit is the check digit")
    })
}

/// Token-shaped text: unpadded base64url, the only alphabet a token has.
fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,200}"
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn printed_label_urls_parse_back_to_their_parts(
        public_url in public_url(),
        token in token(),
        gtin in gtin(),
        serial in prop_oneof![1_u64..1_000_000, any::<u64>()],
    ) {
        // Printed on the deployment's own host: never foreign.
        let hosts = LabelHosts::new(&public_url, &[]).unwrap();
        let short = label_url(&public_url, &token);
        let ours = |token, gs1_path| Some(LabelUrl { token, gs1_path, foreign_host: false });
        prop_assert_eq!(parse_label_url(&short, &hosts), ours(token.as_str(), None), "{}", short);
        let gs1 = gs1_url(&public_url, gtin, serial, &token);
        let (gtin14, serial) = (gtin.to_string(), serial.to_string());
        prop_assert_eq!(
            parse_label_url(&gs1, &hosts),
            ours(token.as_str(), Some((gtin14.as_str(), serial.as_str()))),
            "{}", gs1
        );
    }

    #[test]
    fn what_parse_label_url_finds_is_in_the_text(
        text in prop_oneof![
            any::<String>(),
            "[a-z:/.?=&0-9tv]{0,60}",
            (public_url(), "(/v/|/01/|/21/|/|\\?t=|&t=|\\?|[0-9]{1,3}|[A-Za-z_-]{1,5}){0,8}")
                .prop_map(|(u, rest)| format!("{u}{rest}")),
        ],
    ) {
        let (path, query) = text.split_once('?').unwrap_or((&text, ""));
        let hosts = LabelHosts::new("https://m.example.cn", &[]).unwrap();
        let found = parse_label_url(&text, &hosts).map(|l| (l.token, l.gs1_path));
        match found {
            None => {}
            Some((token, None)) => {
                prop_assert!(path.ends_with(&format!("/v/{token}")), "{:?}", text);
                prop_assert!(!token.contains('/') && query.is_empty(), "{:?}", text);
            }
            Some((token, Some((gtin, serial)))) => {
                prop_assert!(path.ends_with(&format!("/01/{gtin}/21/{serial}")), "{:?}", text);
                prop_assert!(!gtin.contains('/') && !serial.contains('/'), "{:?}", text);
                prop_assert!(query.split('&').any(|pair| pair == format!("t={token}")), "{:?}", text);
            }
        }
    }
}

/// A registry with one batch of marks carrying a GTIN, and the key that signed it.
struct Registry {
    index: MarkIndex,
    batch: BatchIssued,
    key: SigningKey,
}

impl Registry {
    /// Built through the registry calls the service makes (see `common::world`).
    async fn build(db: &TestDb, count: u64, gtin: Gtin) -> Registry {
        let world = world(db).await;
        let node = db.node().await;
        let marks = &node.services.marks;
        let issuer = IssuerId::parse("jx-cb1").unwrap();
        let request = marks
            .request(&world.certificate, count, Some(gtin), vec![], None, None)
            .unwrap();
        let batch = marks.issue(&issuer, request, "test").await.unwrap().issued;
        let batch = (*batch).clone();
        node.close().await;
        // The index the checks read, folded from the log as a node's is.
        let log = db.log().await;
        let index = MarkIndex::default();
        index.catch_up(&log).await.unwrap();
        log.shutdown().await;
        let keyring = Keyring::open(&db.keys_dir).unwrap();
        let key = keyring.issuer_key(&issuer, batch.key_id).unwrap();
        Registry { index, batch, key }
    }

    /// The genuine token of the batch's `i`-th mark and its serial.
    fn mark(&self, i: u64) -> (String, u64) {
        let serial = self.batch.first_serial + i % self.batch.count;
        let body = MarkBody::new(
            self.batch.key_id,
            serial,
            &self.batch.certificate_code,
            self.batch.gtin,
        )
        .unwrap();
        (sign(&self.key, &body), serial)
    }
}

/// A path segment where the GTIN or serial goes: often the right one, often one a careless or
/// dishonest printer would produce, sometimes anything.
fn segment(right: String) -> impl Strategy<Value = String> {
    let zeros = right.clone();
    let unpadded = right.trim_start_matches('0').to_owned();
    prop_oneof![
        4 => Just(right.clone()),
        2 => "0{1,3}".prop_map(move |z| format!("{z}{zeros}")),
        1 => Just(unpadded),
        1 => Just(format!("{right} ")),
        1 => Just(format!("+{right}")),
        2 => "[0-9]{1,20}",
        1 => gtin().prop_map(|g| g.to_string()),
        1 => "\\PC{0,16}",
    ]
}

/// One deployment for both properties below: a registry costs a database and some appends,
/// so the cases share it (each property still runs with the seeded configuration).
#[test]
fn a_path_that_differs_from_the_genuine_token_in_any_way_is_url_mismatch() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = TestDb::sqlite();
    let batch_gtin = Gtin::parse("06901234567892").unwrap();
    let registry = rt.block_on(Registry::build(&db, 1000, batch_gtin));
    let signatures = Signatures::new(1 << 20);
    let today = time::OffsetDateTime::now_utc().date();
    let verdict = |token: &str, path: Option<(&str, &str)>| {
        let presented = Presented {
            token,
            url_path: path,
            foreign_host: false,
            claims: None,
        };
        let answer = check(
            &registry.index,
            &signatures,
            &presented,
            &signatures.prepare(token),
            today,
            None,
        )
        .answer;
        (answer.verdict, answer.reason)
    };
    let genuine = (Verdict::Genuine, Reason::Registered);
    let mismatch = (Verdict::Altered, Reason::UrlMismatch);

    assert_eq!(
        registry.batch.first_serial, 1,
        "the first batch of a fresh registry"
    );
    let cases = any::<u64>().prop_flat_map(|i| {
        let serial = 1 + i % 1000;
        (
            Just(i),
            segment(batch_gtin.to_string()),
            segment(serial.to_string()),
        )
    });
    TestRunner::new(super::config())
        .run(&cases, |(i, gtin, serial)| {
            let (token, real_serial) = registry.mark(i);
            prop_assert_eq!(verdict(&token, None), genuine);
            let expected = if gtin == batch_gtin.to_string() && serial == real_serial.to_string() {
                genuine
            } else {
                mismatch
            };
            prop_assert_eq!(
                verdict(&token, Some((&gtin, &serial))),
                expected,
                "{} {}",
                gtin,
                serial
            );
            Ok(())
        })
        .unwrap();

    // The whole way, from a printed URL: any GTIN and serial in the path but the token's are
    // a mismatch.
    let urls = (
        public_url(),
        any::<u64>(),
        prop::option::of(gtin()),
        prop::option::of(any::<u64>()),
    );
    TestRunner::new(super::config())
        .run(&urls, |(public_url, i, path_gtin, path_serial)| {
            let (token, real_serial) = registry.mark(i);
            let short = label_url(&public_url, &token);
            let hosts = LabelHosts::new(&public_url, &[]).unwrap();
            let (t, path) = parse_label_url(&short, &hosts)
                .map(|l| (l.token, l.gs1_path))
                .ok_or_else(|| TestCaseError::fail(format!("{short} is not a label URL")))?;
            prop_assert_eq!(verdict(t, path), genuine);
            let gtin = path_gtin.unwrap_or(batch_gtin);
            let serial = path_serial.unwrap_or(real_serial);
            let gs1 = gs1_url(&public_url, gtin, serial, &token);
            let (t, path) = parse_label_url(&gs1, &hosts)
                .map(|l| (l.token, l.gs1_path))
                .ok_or_else(|| TestCaseError::fail(format!("{gs1} is not a label URL")))?;
            let expected = if (gtin, serial) == (batch_gtin, real_serial) {
                genuine
            } else {
                mismatch
            };
            prop_assert_eq!(verdict(t, path), expected, "{}", gs1);
            Ok(())
        })
        .unwrap();
    drop(registry);
    rt.block_on(db.cleanup());
}
