//! Who the client of a request is, and how often it may call the public routes.
//!
//! One rule names the client: [`TrustedProxies::client`], the peer address of the connection
//! or, when the peer is a configured trusted proxy, the address its header names. The
//! [`name_client`] middleware, outermost in the route table, applies it once per request and
//! stores the answer as the [`ClientAddr`] request extension. The rate limiter keys on that
//! extension and handlers that need the address (the scan record's salted client hash) extract
//! it, so the limiter and the scan record always see the same client and no second copy of the
//! rule exists.
//!
//! The limit is `tower_governor`'s layer, which the route table puts on every public route
//! ([`Limiter::layer`]): a generic cell rate algorithm per client address, which admits exactly
//! what a token bucket of `burst` tokens refilled at `rate` per second admits, with one atomic
//! compare-and-swap per request instead of a lock. A refused request is our 429 problem+json
//! with `Retry-After`, before any extractor or body is read. This module does not decide which
//! routes are public: the route table does.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use axum::response::IntoResponse;
use governor::middleware::NoOpMiddleware;
use ipnet::IpNet;
use tower_governor::GovernorLayer;
use tower_governor::errors::GovernorError;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;

use super::error::ApiError;

/// Requests per second and burst per client; a rate of 0 turns limiting off.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// Which peers may name the client in a header, and which header.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    header: Option<HeaderName>,
    nets: Arc<[IpNet]>,
}

impl TrustedProxies {
    /// Believe `header` from peers in `nets` (and only from them: a header believed from any
    /// peer lets every client pick the address it is limited and counted by).
    pub fn new(header: HeaderName, nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies {
            header: Some(header),
            nets: nets.into(),
        }
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(&address))
    }

    /// The client of a request that came from `peer` with `headers`.
    ///
    /// Without a trusted peer, the peer. From a trusted peer, the header's addresses
    /// (comma-separated, every instance of the header in order, as `X-Forwarded-For` grows)
    /// are read from the right, the end the trusted peer wrote: the first one that is not
    /// itself a trusted proxy is the client; if all are, the leftmost. Everything to the left
    /// of the client was written by the client and is ignored. An entry that is not an
    /// address stops the walk at the last hop that was trusted, so a malformed header never
    /// names a client that a trusted proxy did not vouch for. IPv4-mapped IPv6 addresses are
    /// their IPv4 address, so a dual-stack listener sees one client, not two.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        let Some(header) = &self.header else {
            return peer;
        };
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all(header)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, or either with a port
/// (`203.0.113.7:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

/// The client of this request, as [`TrustedProxies::client`] named it. Handlers extract it;
/// the rate limiter keys on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "no client address: the route table lacks the name_client layer"
                ))
            })
    }
}

/// Middleware: names the client once and stores it in the request's extensions. Without a
/// socket (a router driven in a test) the peer is the unspecified address.
pub async fn name_client(State(proxies): State<TrustedProxies>, mut request: Request) -> Request {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client = proxies.client(peer, request.headers());
    request.extensions_mut().insert(ClientAddr(client));
    request
}

/// tower_governor's key: the [`ClientAddr`] extension.
#[derive(Clone, Copy, Debug)]
pub struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        request
            .extensions()
            .get::<ClientAddr>()
            .map(|c| c.0)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

type Governor = GovernorConfig<ClientKey, NoOpMiddleware>;

/// Marks per second one token holder may verify through `POST /api/v1/verify/batch`, with a
/// bucket that holds at least one full batch; `None` when limiting is off.
pub struct TokenLimiter(Option<governor::DefaultKeyedRateLimiter<String>>);

impl TokenLimiter {
    pub fn new(per_second: u32, batch: u32) -> TokenLimiter {
        TokenLimiter(NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(per_second.max(batch)).expect("non-zero");
            governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
        }))
    }

    /// Spends `marks` of the holder's bucket, or answers 429 with the seconds to wait.
    pub fn spend(&self, token_id: &str, marks: u32) -> Result<(), ApiError> {
        let (Some(limiter), Some(marks)) = (&self.0, NonZeroU32::new(marks)) else {
            return Ok(());
        };
        match limiter.check_key_n(&token_id.to_owned(), marks) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let now = governor::clock::Clock::now(&governor::clock::DefaultClock::default());
                let wait = not_until.wait_time_from(now).as_secs_f64().ceil() as u64;
                Err(ApiError::TooManyRequests(wait.max(1)))
            }
            // The bucket holds a full batch, so a batch never exceeds it.
            Err(_) => Err(ApiError::TooManyRequests(1)),
        }
    }
}

/// How often buckets that have refilled completely are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The per-client limits of the public routes and the rule naming clients.
pub struct Limiter {
    governor: Option<Arc<Governor>>,
    proxies: TrustedProxies,
}

impl Limiter {
    pub fn new(limit: RateLimit, proxies: TrustedProxies) -> Limiter {
        let governor = (limit.per_second > 0).then(|| {
            // Sub-nanosecond periods (rates above 10^9/s) would be zero, which governor refuses.
            let period = (Duration::from_secs(1) / limit.per_second).max(Duration::from_nanos(1));
            let config = GovernorConfigBuilder::default()
                .key_extractor(ClientKey)
                .period(period)
                .burst_size(limit.burst.max(1))
                .finish()
                .expect("period and burst are non-zero");
            Arc::new(config)
        });
        Limiter { governor, proxies }
    }

    /// The rule naming clients, for [`name_client`].
    pub fn proxies(&self) -> TrustedProxies {
        self.proxies.clone()
    }

    /// The layer limiting a route, or `None` when limiting is off.
    pub fn layer(&self) -> Option<GovernorLayer<ClientKey, NoOpMiddleware, Body>> {
        let governor = self.governor.clone()?;
        Some(
            GovernorLayer::new(governor).error_handler(|error| match error {
                // governor truncates the wait to whole seconds. With a rate of at least 1/s the
                // wait for the next token is at most one second, so the wait rounded up, and at
                // least 1 (a Retry-After of 0 invites an immediate retry that fails), is 1.
                GovernorError::TooManyRequests { wait_time, .. } => {
                    ApiError::TooManyRequests(wait_time.max(1)).into_response()
                }
                other => {
                    ApiError::Internal(anyhow::anyhow!("rate limiter: {other}")).into_response()
                }
            }),
        )
    }

    /// Forgets, every few seconds for as long as the service runs, the buckets that have
    /// refilled completely (a forgotten bucket and a full one admit the same), so memory
    /// follows the clients of the last few seconds and not every address ever seen. Without
    /// this, governor's map would only grow. Runs off the async workers: a sweep walks the
    /// whole map.
    pub async fn sweep(self: Arc<Self>) {
        let Some(governor) = self.governor.clone() else {
            return;
        };
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            let governor = governor.clone();
            let swept = tokio::task::spawn_blocking(move || {
                let limiter = governor.limiter();
                limiter.retain_recent();
                limiter.shrink_to_fit();
            });
            if let Err(error) = swept.await {
                tracing::error!(%error, "sweeping the rate limiter failed");
            }
        }
    }

    /// Clients with a bucket that is not full.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.governor.as_ref().map_or(0, |g| g.limiter().len())
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::from([a, b, c, d])
    }

    fn forwarded_for(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn behind(nets: &[&str]) -> TrustedProxies {
        let nets = nets.iter().map(|n| n.parse().unwrap()).collect();
        TrustedProxies::new(HeaderName::from_static("x-forwarded-for"), nets)
    }

    #[test]
    fn without_trusted_proxies_the_client_is_the_peer_whatever_it_sends() {
        let headers = forwarded_for(&["198.51.100.1"]);
        let peer = v4(203, 0, 113, 7);
        assert_eq!(TrustedProxies::default().client(peer, &headers), peer);
        let proxies = behind(&["10.0.0.0/8"]);
        assert_eq!(proxies.client(peer, &headers), peer, "an untrusted peer");
    }

    #[test]
    fn a_trusted_proxy_names_the_rightmost_address_it_did_not_itself_trust() {
        let proxies = behind(&["10.0.0.0/8", "192.0.2.5/32"]);
        let proxy = v4(10, 1, 2, 3);
        // The client forged the first entry; the edge proxy 192.0.2.5 appended the real one.
        let headers = forwarded_for(&["1.1.1.1, 198.51.100.9", "192.0.2.5"]);
        assert_eq!(proxies.client(proxy, &headers), v4(198, 51, 100, 9));
        let only_proxies = forwarded_for(&["10.9.9.9, 192.0.2.5"]);
        assert_eq!(
            proxies.client(proxy, &only_proxies),
            v4(10, 9, 9, 9),
            "every hop trusted: the leftmost"
        );
        assert_eq!(
            proxies.client(proxy, &HeaderMap::new()),
            proxy,
            "the proxy's own request"
        );
    }

    #[test]
    fn a_malformed_entry_stops_at_the_last_trusted_hop() {
        let proxies = behind(&["10.0.0.0/8"]);
        let proxy = v4(10, 0, 0, 1);
        let headers = forwarded_for(&["198.51.100.9, unknown, 10.0.0.2"]);
        assert_eq!(proxies.client(proxy, &headers), v4(10, 0, 0, 2));
        assert_eq!(proxies.client(proxy, &forwarded_for(&["garbage"])), proxy);
    }

    #[test]
    fn ports_and_mapped_addresses_name_the_same_client() {
        let proxies = behind(&["10.0.0.0/8"]);
        let mapped_proxy: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        for value in [
            "198.51.100.9:4711",
            "::ffff:198.51.100.9",
            "[::ffff:198.51.100.9]:80",
        ] {
            let headers = forwarded_for(&[value]);
            assert_eq!(
                proxies.client(mapped_proxy, &headers),
                v4(198, 51, 100, 9),
                "{value}"
            );
        }
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            proxies.client(mapped_proxy, &forwarded_for(&["[2001:db8::1]:443"])),
            v6
        );
    }

    #[test]
    fn x_real_ip_is_one_hop() {
        let proxies = TrustedProxies::new(
            HeaderName::from_static("x-real-ip"),
            vec!["127.0.0.1/32".parse().unwrap()],
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-real-ip", HeaderValue::from_static("198.51.100.9"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        assert_eq!(
            proxies.client(v4(127, 0, 0, 1), &headers),
            v4(198, 51, 100, 9)
        );
    }

    fn limited(limiter: &Limiter) -> Router {
        let mut router = Router::new().route(
            "/public",
            get(|ClientAddr(client): ClientAddr| async move { client.to_string() }),
        );
        if let Some(layer) = limiter.layer() {
            router = router.route_layer(layer);
        }
        router.layer(axum::middleware::map_request_with_state(
            limiter.proxies(),
            name_client,
        ))
    }

    async fn get_from(router: &Router, peer: IpAddr) -> axum::response::Response {
        let mut request = Request::get("/public").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(peer, 4711)));
        router.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn a_client_gets_its_burst_then_a_429_with_retry_after_and_others_are_unaffected() {
        let limiter = Limiter::new(
            RateLimit {
                per_second: 1,
                burst: 3,
            },
            TrustedProxies::default(),
        );
        let router = limited(&limiter);
        let (a, b) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
        for _ in 0..3 {
            let response = get_from(&router, a).await;
            assert_eq!(response.status(), StatusCode::OK);
            let body = axum::body::to_bytes(response.into_body(), 64)
                .await
                .unwrap();
            assert_eq!(body, "192.0.2.1", "the handler sees the limiter's client");
        }
        // At 1/s the fourth may find a refilled token on a slow machine; one of the next few
        // cannot.
        let mut refused = None;
        for _ in 0..5 {
            let response = get_from(&router, a).await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(response);
                break;
            }
        }
        let refused = refused.expect("refused after the burst");
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            refused.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(get_from(&router, b).await.status(), StatusCode::OK);
        assert_eq!(limiter.tracked(), 2);
    }

    #[tokio::test]
    async fn a_rate_of_zero_turns_limiting_off() {
        let limiter = Limiter::new(
            RateLimit {
                per_second: 0,
                burst: 0,
            },
            TrustedProxies::default(),
        );
        assert!(limiter.layer().is_none());
        let router = limited(&limiter);
        for _ in 0..200 {
            assert_eq!(
                get_from(&router, v4(192, 0, 2, 1)).await.status(),
                StatusCode::OK
            );
        }
    }
}
