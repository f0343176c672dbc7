//! `marktrace verify TOKEN|URL [--server URL]`: the verdict from this deployment's registry,
//! through the same verification as the API (a key's misuse and a traded mark are recorded
//! as there; no scan is, since nobody scanned a label), then a running service's answer.

use anyhow::Context;

use crate::app::services::Services;
use crate::app::verification::check::Presented;

pub async fn verify(services: &Services, mark: &str, server: Option<&str>) -> anyhow::Result<()> {
    let verifier = &services.verifier;
    let label = verifier.label_url(mark);
    let presented = match &label {
        Some(label) => Presented::label(label, None),
        None => Presented::token(mark, None),
    };
    let checked = verifier.verify(&presented, None).await?;
    println!("offline: {}", serde_json::to_string(&checked.answer)?);
    if let Some(server) = server {
        let url = format!("{}/api/v1/verify", server.trim_end_matches('/'));
        // A URL is sent whole, so the server sees a changed path too.
        let body = match label {
            None => serde_json::json!({ "token": mark }),
            Some(_) => serde_json::json!({ "url": mark }),
        };
        let response = reqwest::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("asking {url}"))?;
        println!("online: {}", response.text().await?);
    }
    Ok(())
}
