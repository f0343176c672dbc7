//! What every console page shares: the frame (who is signed in, the navigation their role
//! has, the sign-out form), rendering with the console's security headers, the
//! Content-Security-Policy, forms, and the error page.

use std::sync::LazyLock;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::domain::access::Role;
use crate::http::auth::Principal;
use crate::http::error::ApiError;

/// One link of the navigation.
pub struct Link {
    pub href: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// What the layout shows around every signed-in page.
pub struct Frame {
    pub title: &'static str,
    pub role: Role,
    /// The caller's regions or issuer, for the header.
    pub scope: String,
    pub csrf: String,
    pub nav: Vec<Link>,
}

impl Frame {
    pub fn new(principal: &Principal, csrf: String, title: &'static str) -> Frame {
        let grant = &principal.grant;
        let scope = match (&grant.issuer, grant.regions.is_empty()) {
            (Some(issuer), _) => issuer.clone(),
            (None, false) => grant
                .regions
                .iter()
                .map(|r| format!("{} {}", r, r.info().name))
                .collect::<Vec<_>>()
                .join(", "),
            (None, true) => String::new(),
        };
        Frame {
            title,
            role: grant.role,
            scope,
            csrf,
            nav: navigation(grant.role),
        }
    }
}

/// The pages a role works in.
fn navigation(role: Role) -> Vec<Link> {
    let link = |href, zh, en| Link { href, zh, en };
    match role {
        Role::Supervisor | Role::Enforcement => vec![
            link("/console/flags", "风险队列", "Flag queue"),
            link("/console/cases", "案件", "Cases"),
            link("/console/reports", "消费者举报", "Consumer reports"),
        ],
        Role::Credit => vec![link("/console/credit", "信用记录", "Credit records")],
        Role::Issuer => vec![
            link("/console/licensees", "被许可企业", "Licensees"),
            link("/console/certificates", "证书", "Certificates"),
            link("/console/batches", "批次", "Batches"),
            link("/console/keys", "签名密钥", "Keys"),
        ],
        Role::Admin => vec![
            link("/console/issuers", "发证机构", "Issuers"),
            link("/console/keys", "签名密钥", "Keys"),
            link("/console/tokens", "访问令牌", "Access tokens"),
            link("/console/log", "日志", "Log"),
        ],
    }
}

/// The Content-Security-Policy of every console page: nothing external, no scripts, the one
/// inline stylesheet by its hash (computed from a rendered page, so it cannot drift from the
/// templates), forms to this origin only.
pub fn csp() -> &'static str {
    static CSP: LazyLock<String> = LazyLock::new(|| {
        let page = LoginProbe.render().expect("the layout renders");
        let style = page
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(style, _)| style)
            .expect("the layout has one inline stylesheet");
        let hash = STANDARD.encode(Sha256::digest(style.as_bytes()));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
    });
    &CSP
}

/// A page with nothing in it but the layout's stylesheet, to hash.
#[derive(Template)]
#[template(source = "{% extends \"console/document.html\" %}", ext = "html")]
struct LoginProbe;

/// A rendered page with the console's headers: the CSP, never cached, never sniffed.
pub fn render(page: &impl Template) -> Result<Response, ConsoleError> {
    let html = page
        .render()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering a console page: {e}")))?;
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// A console form (application/x-www-form-urlencoded): a body that does not fit is the API's
/// `invalid-request` with its message, as a page.
pub struct ConsoleForm<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ConsoleForm<T>
where
    axum::Form<T>:
        axum::extract::FromRequest<S, Rejection = axum::extract::rejection::FormRejection>,
    S: Send + Sync,
{
    type Rejection = ConsoleError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, ConsoleError> {
        let axum::Form(value) = axum::Form::<T>::from_request(request, state)
            .await
            .map_err(ApiError::from)?;
        Ok(ConsoleForm(value))
    }
}

/// A refusal or failure as a page: the status and the message the API gives for it.
#[derive(Debug)]
pub struct ConsoleError(ApiError);

/// Every error a service returns becomes the page of the API's answer to it.
macro_rules! from_api_errors {
    ($($error:ty),*) => {$(
        impl From<$error> for ConsoleError {
            fn from(error: $error) -> ConsoleError {
                ConsoleError(error.into())
            }
        }
    )*};
}

from_api_errors!(
    ApiError,
    crate::app::StorageError,
    crate::app::AppendError,
    crate::app::enforcement::EnforcementError
);

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    status: u16,
    detail: String,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        // The API's status and message for the same refusal.
        let status = self.0.status();
        let detail = if status.is_server_error() {
            // Answered (and so logged) as the API answers it, then shown generically.
            drop(self.0.into_response());
            "服务暂时无法完成请求 · The server failed to answer; the failure was logged.".to_owned()
        } else {
            self.0.to_string()
        };
        let page = ErrorPage {
            status: status.as_u16(),
            detail,
        };
        match render(&page) {
            Ok(mut response) => {
                *response.status_mut() = status;
                response
            }
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}
