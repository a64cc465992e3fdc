//! The metadata server (GCE, Cloud Run, GKE): the last source of application-default
//! credentials. Offline it is only detected, from files and variables (`GCE_METADATA_HOST`,
//! the DMI product name, Cloud Run's `K_SERVICE`/`CLOUD_RUN_JOB`); online, one GET with a
//! short timeout and no retry, so a machine that is not on Google Cloud never hangs.

use super::token::{Fresh, SCOPE};
use crate::context::Context;
use crate::envvars;
use crate::error::AuthError;
use crate::http::{Budget, Call, Retry};
use crate::redact::SafeUrl;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Url;
use std::time::Duration;

/// Google's metadata host.
const DEFAULT_HOST: &str = "metadata.google.internal";
/// A metadata server answers in milliseconds; anything slower is not one.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Where the metadata server is, and what said so.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub host: String,
    pub chosen_by: &'static str,
}

/// The metadata server, when this machine looks like Google Cloud or `GCE_METADATA_HOST`
/// names one. Reads a variable or a file; never the network.
pub fn detect(ctx: &Context) -> Option<Metadata> {
    if let Some(host) = ctx.env.get(envvars::GCE_METADATA_HOST) {
        return Some(Metadata {
            host,
            chosen_by: "GCE_METADATA_HOST",
        });
    }
    let cloud_run =
        ctx.env.get(envvars::K_SERVICE).is_some() || ctx.env.get(envvars::CLOUD_RUN_JOB).is_some();
    let dmi = std::fs::read_to_string("/sys/class/dmi/id/product_name")
        .is_ok_and(|name| name.trim().starts_with("Google"));
    (cloud_run || dmi).then(|| Metadata {
        host: DEFAULT_HOST.to_string(),
        chosen_by: if cloud_run {
            "Cloud Run's K_SERVICE/CLOUD_RUN_JOB"
        } else {
            "the machine's DMI product name (Google Compute Engine)"
        },
    })
}

/// The default service account's access token, from the metadata server.
///
/// # Errors
/// `network_error` when it cannot be reached in time; `provider_error` for an answer that
/// is not the metadata server's; `not_authenticated` when the instance has no account.
pub async fn fetch(
    ctx: &Context,
    http: &reqwest::Client,
    metadata: &Metadata,
) -> Result<Fresh, AuthError> {
    let text = format!(
        "http://{}/computeMetadata/v1/instance/service-accounts/default/token",
        metadata.host
    );
    let mut url = Url::parse(&text).map_err(|_| {
        AuthError::config(format!("{} is not a host name", metadata.chosen_by)).with_hint(
            "GCE_METADATA_HOST is a host and port, e.g. 169.254.169.254 or localhost:8080",
        )
    })?;
    url.query_pairs_mut().append_pair("scopes", SCOPE);
    let shown = SafeUrl::from(url);
    let call = Call {
        url: &shown,
        setting: metadata.chosen_by,
        service: "the metadata server",
        budget: Budget {
            total: TIMEOUT.min(ctx.budget().total),
            retries: 0,
        },
        retry: Retry::Never,
    };
    let flavor = (
        HeaderName::from_static("metadata-flavor"),
        HeaderValue::from_static("Google"),
    );
    let reply = crate::http::get(http, &call, &[flavor]).await?;
    let genuine = reply
        .headers
        .get("metadata-flavor")
        .is_some_and(|v| v.as_bytes() == b"Google");
    if !genuine {
        return Err(AuthError::provider(format!(
            "{shown} did not answer like Google's metadata server (no `Metadata-Flavor: Google`)"
        ))
        .with_hint("check GCE_METADATA_HOST"));
    }
    if reply.status == reqwest::StatusCode::NOT_FOUND {
        return Err(AuthError::not_authenticated(
            "the metadata server has no default service account for this instance",
        )
        .with_hint(
            "attach a service account to the instance, or set GOOGLE_APPLICATION_CREDENTIALS",
        ));
    }
    if !reply.status.is_success() {
        return Err(AuthError::provider(format!(
            "{shown} answered HTTP {}",
            reply.status.as_u16()
        )));
    }
    let body = zeroize::Zeroizing::new(reply.body);
    // The metadata server hands out tokens for minutes: 5 when it does not say.
    super::token::parse_token(&shown, &body, ctx.clock.now(), 300)
}
