//! Per-client rate limiting of the public endpoints: a token bucket per client address (so a
//! burst of scans from one phone or one shop is fine and a flood is not), refused with a 429
//! problem that says when to retry. Buckets of clients gone quiet expire from a bounded cache.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::error::ApiError;
use super::state::AppState;

/// Requests per second and burst per client; a rate of 0 turns limiting off.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Limiter {
    limit: RateLimit,
    buckets: moka::sync::Cache<IpAddr, Arc<Mutex<Bucket>>>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            buckets: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// Takes one request's token from `client`'s bucket, or says how long until one is there.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), ApiError> {
        let RateLimit { per_second, burst } = self.limit;
        if per_second == 0 {
            return Ok(());
        }
        let bucket = self.buckets.get_with(client, || {
            Arc::new(Mutex::new(Bucket {
                tokens: f64::from(burst.max(1)),
                at: now,
            }))
        });
        let mut bucket = bucket.lock().expect("bucket lock");
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * f64::from(per_second);
        bucket.tokens = (bucket.tokens + refill).min(f64::from(burst.max(1)));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / f64::from(per_second);
            Err(ApiError::TooManyRequests(wait.ceil().max(1.0) as u64))
        }
    }
}

/// The calling client's address, after its rate limit has admitted the request. Without a
/// socket (a router driven in a test) the client is the unspecified address.
pub struct Client(pub IpAddr);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        state.limiter.take(ip, Instant::now())?;
        Ok(Client(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let limiter = Limiter::new(RateLimit {
            per_second: 2,
            burst: 3,
        });
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(a, t0).is_ok());
        }
        let refused = limiter.take(a, t0).unwrap_err();
        assert!(matches!(refused, ApiError::TooManyRequests(1)));
        assert!(
            limiter.take(b, t0).is_ok(),
            "another client has its own bucket"
        );
        assert!(
            limiter.take(a, t0 + Duration::from_millis(500)).is_ok(),
            "refilled at 2/s"
        );
        assert!(limiter.take(a, t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn a_rate_of_zero_turns_limiting_off() {
        let limiter = Limiter::new(RateLimit {
            per_second: 0,
            burst: 0,
        });
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| limiter.take(IpAddr::from([1, 2, 3, 4]), t0).is_ok()));
    }
}
