//! The live status of a partner brand's mark: the partner's own answer from its
//! `POST /api/v1/verify`, asked with a short timeout and cached for a minute (a failure for
//! ten seconds, so a partner that is down costs each mark one wait, not every scan). The
//! answer is trusted as the partner's, over the transport its status URL names; an answer
//! that is itself a recognition (the partner passing the question on) is not used, so two
//! brands that recognise each other never ask each other in a circle.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::partner::PartnerAnswer;
use crate::domain::brand::PartnerBrandRegistered;

/// How long a partner may take to answer.
pub const TIMEOUT: Duration = Duration::from_millis(1500);
/// How long a partner's answer is reused.
pub const ANSWER_TTL: Duration = Duration::from_secs(60);
/// How long a failure to get one is remembered.
pub const FAILURE_TTL: Duration = Duration::from_secs(10);
/// Cached answers at most.
const ENTRIES: usize = 100_000;

/// What a partner answered, as the cache keeps it.
#[derive(serde::Deserialize)]
struct Wire {
    #[serde(flatten)]
    answer: PartnerAnswer,
    /// Present when the partner itself only recognises the mark.
    recognised: Option<serde::de::IgnoredAny>,
}

pub struct LiveStatus {
    client: reqwest::Client,
    cache: quick_cache::sync::Cache<[u8; 16], (Instant, Option<PartnerAnswer>)>,
}

impl Default for LiveStatus {
    fn default() -> LiveStatus {
        LiveStatus {
            client: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("a client with a timeout builds"),
            cache: quick_cache::sync::Cache::new(ENTRIES),
        }
    }
}

impl LiveStatus {
    /// The partner's answer for `token`, if it has a status URL and answered (now or lately).
    pub async fn answer(
        &self,
        partner: &PartnerBrandRegistered,
        token: &str,
    ) -> Option<PartnerAnswer> {
        let url = partner.status_url.as_deref()?;
        let digest = Sha256::new()
            .chain_update(partner.partner_id.as_str())
            .chain_update([0])
            .chain_update(token)
            .finalize();
        let key: [u8; 16] = digest[..16].try_into().expect("SHA-256 is 32 bytes");
        if let Some((at, cached)) = self.cache.get(&key) {
            let ttl = if cached.is_some() {
                ANSWER_TTL
            } else {
                FAILURE_TTL
            };
            if at.elapsed() < ttl {
                return cached;
            }
        }
        let answer = self.ask(url, token).await;
        if answer.is_none() {
            tracing::warn!(partner = %partner.partner_id, "the partner brand did not answer for its mark's status");
        }
        self.cache.insert(key, (Instant::now(), answer.clone()));
        answer
    }

    async fn ask(&self, url: &str, token: &str) -> Option<PartnerAnswer> {
        let response = self
            .client
            .post(format!("{url}/api/v1/verify"))
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let wire: Wire = response.json().await.ok()?;
        wire.recognised.is_none().then_some(wire.answer)
    }
}
