//! The load benchmark's limit for first scans: an axum server that does nothing per request but
//! what a first scan cannot avoid, one Ed25519 `verify_strict` of the token in the path, and
//! answers a small JSON. It decodes the token, splits body and signature and verifies them
//! under the issuer key given on the command line, so its crypto is exactly that of a scan of a
//! mark never seen before (marktrace's case B), with no registry, cache, log or verdict.
//!
//! `verify_baseline LISTEN ISSUER_PUBLIC_KEY_BASE64`; built and run by `benches/load/run.sh`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, VerifyingKey};

/// The mark signature's domain separation, as `marktrace::mark::token` signs it.
const CONTEXT: &[u8] = b"marktrace/mark/v1\0";

async fn scan(State(key): State<Arc<VerifyingKey>>, Path(token): Path<String>) -> Response {
    let mut bytes = [0u8; 150];
    let Ok(len) = URL_SAFE_NO_PAD.decode_slice(&token, &mut bytes) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some((body, signature)) = bytes[..len].split_at_checked(len.saturating_sub(64)) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(signature) = Signature::from_slice(signature) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut message = [0u8; 160];
    message[..CONTEXT.len()].copy_from_slice(CONTEXT);
    message[CONTEXT.len()..CONTEXT.len() + body.len()].copy_from_slice(body);
    let valid = key
        .verify_strict(&message[..CONTEXT.len() + body.len()], &signature)
        .is_ok();
    axum::Json(serde_json::json!({ "valid": valid })).into_response()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(public)) = (args.next(), args.next()) else {
        eprintln!("usage: verify_baseline LISTEN ISSUER_PUBLIC_KEY_BASE64");
        std::process::exit(2);
    };
    let public: [u8; 32] = STANDARD
        .decode(public)
        .expect("base64 public key")
        .try_into()
        .expect("32 bytes");
    let key = Arc::new(VerifyingKey::from_bytes(&public).expect("an Ed25519 public key"));
    let app = Router::new().route("/v/{token}", get(scan)).with_state(key);
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    eprintln!("verify_baseline listening on {listen}");
    axum::serve(listener, app).await.expect("serve");
}
