//! A console form as the API's request: the browser's fields become the JSON body the API
//! handler for the same action takes, so the console validates nothing itself and every
//! refusal carries the API's message.

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::session::Signed;
use super::view::ConsoleError;
use crate::hex::hex;
use crate::http::error::ApiError;

/// The fields of a submitted form (application/x-www-form-urlencoded), in order.
pub struct Fields(Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &S) -> Result<Fields, ConsoleError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
        let fields = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ApiError::InvalidRequest(format!("the form does not parse: {e}")))?;
        Ok(Fields(fields))
    }
}

/// How a form field's text becomes a JSON value.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A number (`count`, `first`).
    Number,
    /// A list, its items separated by commas, spaces or lines (`regions`).
    List,
    /// A checkbox: present means true.
    Flag,
}

impl Fields {
    /// A multipart form's fields, with the uploaded file `file` replaced by its lowercase hex
    /// SHA-256 under `sha256_field` and, where named, its size in bytes under `size_field`:
    /// the API takes a file's hash and size, never the file, and the file is not kept. No file
    /// chosen leaves both out, so the API names what is missing.
    pub async fn upload(
        mut multipart: Multipart,
        file: &str,
        sha256_field: &str,
        size_field: Option<&str>,
    ) -> Result<Fields, ApiError> {
        let bad = |e: MultipartError| ApiError::InvalidRequest(e.body_text());
        let mut fields = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_owned();
            if name != file {
                fields.push((name, field.text().await.map_err(bad)?));
                continue;
            }
            let bytes = field.bytes().await.map_err(bad)?;
            if bytes.is_empty() {
                continue;
            }
            fields.push((sha256_field.to_owned(), hex(&Sha256::digest(&bytes))));
            if let Some(size_field) = size_field {
                fields.push((size_field.to_owned(), bytes.len().to_string()));
            }
        }
        Ok(Fields(fields))
    }

    /// Refuses the form unless it carries the session's CSRF token.
    pub fn checked(self, signed: &Signed) -> Result<Fields, ConsoleError> {
        signed.check(self.get("csrf").unwrap_or_default())?;
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The API body `T` these fields make: every field but the CSRF token, empty ones left out
    /// (an empty optional field means "not given"), `kinds` naming the fields that are not text.
    pub fn body<T: DeserializeOwned>(&self, kinds: &[(&str, Kind)]) -> Result<T, ApiError> {
        let mut object = Map::new();
        for (name, text) in &self.0 {
            let text = text.trim();
            if name == "csrf" || text.is_empty() {
                continue;
            }
            let kind = kinds.iter().find(|(n, _)| n == name).map(|(_, k)| *k);
            let value = match kind {
                Some(Kind::Number) => text.parse::<u64>().map(Value::from).map_err(|_| {
                    ApiError::InvalidRequest(format!("{name}: {text:?} is not a number"))
                })?,
                Some(Kind::List) => Value::from(
                    text.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>(),
                ),
                Some(Kind::Flag) => Value::Bool(true),
                None => Value::from(text),
            };
            object.insert(name.clone(), value);
        }
        serde_json::from_value(Value::Object(object))
            .map_err(|e| ApiError::InvalidRequest(e.to_string()))
    }
}
