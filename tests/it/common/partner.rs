//! A partner brand that does not run marktrace, made by hand as its operator would: a root
//! key endorsing one issuer key, the key directory document written as JSON, a log key, and
//! marks signed with the issuer key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use marktrace::domain::issuer::IssuerId;
use marktrace::domain::key::{IssuerKeyAdded, KeyId, Validity};
use marktrace::log::note::NoteSigner;
use marktrace::mark::token::{MarkBody, sign};
use serde_json::{Value, json};

pub const ORIGIN: &str = "handmade.partner.example/log";

pub struct Handmade {
    pub issuer: SigningKey,
    pub directory: Value,
    pub log_vkey: String,
}

impl Handmade {
    /// Keys from fixed seeds, so a test that makes it twice gets the same partner.
    pub fn new(seed: u8) -> Handmade {
        let root = SigningKey::from_bytes(&[seed; 32]);
        let issuer = SigningKey::from_bytes(&[seed.wrapping_add(1); 32]);
        let validity = Validity::new(1_700_000_000, 4_102_444_800).unwrap();
        let added = IssuerKeyAdded::endorse(
            &root,
            &IssuerId::parse("zj-cb1").unwrap(),
            issuer.verifying_key(),
            validity,
        )
        .unwrap();
        let mut key = serde_json::to_value(&added).unwrap();
        key["brand"] = json!("品字标");
        key["status"] = json!("active");
        let directory = json!({
            "root": {
                "key_id": KeyId::of(&root.verifying_key()).to_string(),
                "public_key": STANDARD.encode(root.verifying_key().as_bytes()),
            },
            "endorsement_context": "marktrace/key-endorsement/v1",
            "keys": [key],
        });
        let log = SigningKey::from_bytes(&[seed.wrapping_add(2); 32]);
        let log_vkey = NoteSigner::new(ORIGIN, log).unwrap().verifier_key();
        Handmade {
            issuer,
            directory,
            log_vkey,
        }
    }

    /// What the brand authority posts to `/api/v1/recognized-brands`.
    pub fn registration(&self, id: &str) -> Value {
        json!({"id": id, "name": "品字标", "log_vkey": self.log_vkey,
            "directory": self.directory})
    }

    /// A mark of this partner, signed with its issuer key.
    pub fn mark(&self, serial: u64) -> String {
        let key_id = KeyId::of(&self.issuer.verifying_key());
        let body = MarkBody::new(key_id, serial, "ZJ-2026-0001", None).unwrap();
        sign(&self.issuer, &body)
    }
}
