//! The first page after signing in: where the caller's role works.

use askama::Template;
use axum::response::Response;

use super::session::Signed;
use super::view::{ConsoleError, Frame, render};

#[derive(Template)]
#[template(path = "console/home.html")]
struct Home {
    frame: Frame,
}

pub async fn home(signed: Signed) -> Result<Response, ConsoleError> {
    render(&Home {
        frame: signed.frame("控制台 · Console"),
    })
}
