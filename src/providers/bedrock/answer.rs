//! What Bedrock's answer means: a verdict for a 200, otherwise the product's error code with
//! the AWS exception name (never the server's message text, which can echo input).

use crate::error::{AuthError, ErrorCode};
use crate::http::Reply;
use crate::providers::{server_date, Verdict};
use crate::redact::SafeUrl;
use crate::time::UnixTime;
use std::time::Duration;

/// Beyond this difference between the server's `Date` and ours, SigV4 signatures fail.
const SKEW_LIMIT: Duration = Duration::from_secs(300);

/// Exceptions that mean "these credentials are not accepted".
const REJECTED: [&str; 6] = [
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "InvalidClientTokenId",
];

/// Exceptions of a signature the server computed differently (wrong secret, or clock).
const SIGNATURE: [&str; 2] = ["InvalidSignatureException", "SignatureDoesNotMatch"];

/// The call that was made, for messages.
pub(super) struct Call<'a> {
    pub url: &'a SafeUrl,
    pub region: &'a str,
    pub model: Option<&'a str>,
    /// The credential's source, e.g. `env:AWS_ACCESS_KEY_ID`.
    pub source: &'a str,
    /// The setting the endpoint came from, for hints.
    pub setting: &'a str,
    pub bearer: bool,
    /// The local clock when the request was signed.
    pub signed_at: UnixTime,
}

/// The verdict for a 2xx answer, else the error it stands for.
///
/// # Errors
/// See [`super::verify`].
pub(super) fn judge(call: &Call, reply: &Reply) -> Result<Verdict, AuthError> {
    if reply.status.is_success() {
        return success(call, reply);
    }
    Err(failure(call, reply, exception(reply).as_deref()))
}

fn success(call: &Call, reply: &Reply) -> Result<Verdict, AuthError> {
    let doc: serde_json::Value =
        serde_json::from_slice(&reply.body).map_err(|_| not_bedrock(call, "malformed JSON"))?;
    let detail = match call.model {
        Some(model) => {
            let details = doc
                .get("modelDetails")
                .filter(|d| d.is_object())
                .ok_or_else(|| not_bedrock(call, "JSON without `modelDetails`"))?;
            let lifecycle = details
                .pointer("/modelLifecycle/status")
                .and_then(|s| s.as_str())
                .filter(|s| *s != "ACTIVE" && plain_name(s))
                .map(|s| format!(" (lifecycle {s})"))
                .unwrap_or_default();
            format!("model {model} is available in {}{lifecycle}", call.region)
        }
        None => {
            let count = doc
                .get("modelSummaries")
                .and_then(|m| m.as_array())
                .map(Vec::len)
                .ok_or_else(|| not_bedrock(call, "JSON without `modelSummaries`"))?;
            let noun = if count == 1 { "model is" } else { "models are" };
            format!("{count} Anthropic {noun} available in {}", call.region)
        }
    };
    Ok(Verdict {
        detail,
        server_date: server_date(&reply.headers),
        elapsed: reply.elapsed,
    })
}

fn failure(call: &Call, reply: &Reply, kind: Option<&str>) -> AuthError {
    let status = reply.status.as_u16();
    let label = match kind {
        Some(kind) => format!("HTTP {status}, {kind}"),
        None => format!("HTTP {status}"),
    };
    match (kind.unwrap_or(""), status) {
        ("ExpiredTokenException" | "ExpiredToken", _) => expired(call, &label),
        ("AccessDeniedException" | "AccessDenied", _) => denied(call, &label),
        (k, _) if REJECTED.contains(&k) => rejected(call, reply, &label, SIGNATURE.contains(&k)),
        // 429 and 5xx never get here (http::send's ladder); AWS also throttles with a 400.
        ("ThrottlingException" | "TooManyRequestsException", _) => throttled(call, reply, &label),
        ("ResourceNotFoundException" | "ValidationException", _) | (_, 404) => {
            not_found(call, &label)
        }
        // AWS's answer to a path it does not serve, whatever the credentials.
        ("MissingAuthenticationTokenException" | "UnknownOperationException", _) => {
            AuthError::provider(format!(
                "{} does not serve the Bedrock control plane ({label})",
                call.url
            ))
            .with_hint(format!(
                "check {}: it should be the Bedrock endpoint (bedrock.{}.amazonaws.com), not \
                 bedrock-runtime or another service",
                call.setting, call.region
            ))
        }
        (_, 401) => rejected(call, reply, &label, false),
        (_, 403) => denied(call, &label),
        _ => AuthError::provider(format!("{} answered {label}", call.url)).with_hint(format!(
            "check {}; if it is right, try again later",
            call.setting
        )),
    }
}

fn expired(call: &Call, label: &str) -> AuthError {
    let hint = if call.bearer {
        "the Bedrock API key has expired (short-term keys last at most 12 hours): create a new \
         one in the Bedrock console and set AWS_BEARER_TOKEN_BEDROCK"
    } else {
        "the temporary credentials have expired: get fresh ones (e.g. `aws sso login`, then \
         `aws configure export-credentials --format env`) and update AWS_SESSION_TOKEN or the \
         profile"
    };
    AuthError::new(
        ErrorCode::ExpiredToken,
        format!(
            "the AWS credentials from {} have expired ({label})",
            call.source
        ),
    )
    .with_hint(hint)
}

fn denied(call: &Call, label: &str) -> AuthError {
    let action = if call.model.is_some() {
        "bedrock:GetFoundationModel"
    } else {
        "bedrock:ListFoundationModels"
    };
    AuthError::insufficient_permissions(format!(
        "AWS accepted the credentials from {} but denied the call ({label})",
        call.source
    ))
    .with_hint(format!(
        "the IAM identity needs the {action} permission, and the Anthropic models need access \
         granted in the Bedrock console (Model access) in {}",
        call.region
    ))
}

fn rejected(call: &Call, reply: &Reply, label: &str, signature: bool) -> AuthError {
    if signature && !call.bearer {
        if let Some(skew) = skew(call, reply) {
            return AuthError::invalid_api_key(format!(
                "AWS rejected the request signed with the credentials from {} ({label}): this \
                 machine's clock is {skew} (probable clock skew)",
                call.source
            ))
            .with_hint(
                "set the system clock right (e.g. turn on NTP with `timedatectl set-ntp true`): \
                 SigV4 signatures are valid for 5 minutes only",
            );
        }
    }
    let label = label.strip_prefix("HTTP 403, ").unwrap_or(label);
    AuthError::invalid_api_key(format!(
        "AWS rejected the credentials from {} ({label})",
        call.source
    ))
    .with_hint(fix_for(call, signature))
}

/// How to fix credentials AWS does not accept, by source.
fn fix_for(call: &Call, signature: bool) -> String {
    if call.bearer {
        return "the Bedrock API key is wrong, revoked or for another account: create one in the \
                Bedrock console (API keys) and set AWS_BEARER_TOKEN_BEDROCK"
            .to_string();
    }
    let place = match call.source.strip_prefix("profile:") {
        Some(name) => format!("profile {name} of the AWS credentials file"),
        None => "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".to_string(),
    };
    if signature {
        format!("the secret access key does not belong to the access key id: check {place}")
    } else {
        format!(
            "the access key id (or the session token that goes with it) is not known to AWS: \
             check {place}, and that a session token is set exactly for temporary credentials"
        )
    }
}

/// "5m 3s behind the server's" when the server's `Date` is more than 5 minutes off ours.
fn skew(call: &Call, reply: &Reply) -> Option<String> {
    let server = server_date(&reply.headers)?;
    let side = if server >= call.signed_at {
        "behind"
    } else {
        "ahead of"
    };
    let offset = server.abs_diff(call.signed_at);
    if offset <= SKEW_LIMIT {
        return None;
    }
    Some(format!(
        "{} {side} the server's",
        humantime::format_duration(offset)
    ))
}

fn throttled(call: &Call, reply: &Reply, label: &str) -> AuthError {
    let wait = reply
        .headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or_else(
            || "a moment".to_string(),
            |s| format!("{} s", s.clamp(1, 3600)),
        );
    AuthError::rate_limited(format!(
        "Bedrock in {} is throttling requests ({label})",
        call.region
    ))
    .with_hint(format!(
        "wait {wait} and try again; if it persists, check the account's Bedrock quotas"
    ))
}

fn not_found(call: &Call, label: &str) -> AuthError {
    match call.model {
        Some(model) => AuthError::provider(format!(
            "model {model} is not a Bedrock foundation model in {} ({label})",
            call.region
        ))
        .with_hint(format!(
            "set `model` in the config to a foundation model id offered in {0}, e.g. \
             anthropic.claude-3-5-sonnet-20240620-v1:0 (list them with `aws bedrock \
             list-foundation-models --region {0} --by-provider anthropic`); inference profile \
             ids (us.anthropic.…) are not foundation models",
            call.region
        )),
        None => AuthError::provider(format!(
            "{} has no Bedrock foundation-models API ({label})",
            call.url
        ))
        .with_hint(format!(
            "check {}: it should be the Bedrock endpoint of {}",
            call.setting, call.region
        )),
    }
}

fn not_bedrock(call: &Call, got: &str) -> AuthError {
    AuthError::provider(format!(
        "{} did not answer like Bedrock (expected JSON, got {got})",
        call.url
    ))
    .with_hint(format!(
        "a proxy, captive portal or a wrong {} is in the way",
        call.setting
    ))
}

/// The AWS exception name: `x-amzn-ErrorType`, else the body's `__type`/`code` (JSON) or
/// `<Code>` (XML), else a known message. Names only; the message is never returned.
fn exception(reply: &Reply) -> Option<String> {
    let header = reply
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or("").to_string());
    let name = header.or_else(|| body_exception(&reply.body))?;
    let name = name.rsplit('#').next().unwrap_or("").trim().to_string();
    plain_name(&name).then_some(name)
}

fn body_exception(body: &[u8]) -> Option<String> {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) {
        let named = ["__type", "code", "Code"]
            .iter()
            .find_map(|key| doc.get(*key).and_then(|v| v.as_str()).map(str::to_string));
        let message = doc
            .get("message")
            .or_else(|| doc.get("Message"))
            .and_then(|m| m.as_str());
        return named.or_else(|| message.and_then(known_message).map(str::to_string));
    }
    let text = String::from_utf8_lossy(body);
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    Some(text[start..end].to_string())
}

/// Exceptions recognised from AWS's fixed message texts when no name came with them.
fn known_message(message: &str) -> Option<&'static str> {
    let message = message.to_ascii_lowercase();
    [
        (
            "security token included in the request is expired",
            "ExpiredTokenException",
        ),
        (
            "security token included in the request is invalid",
            "UnrecognizedClientException",
        ),
        (
            "signature we calculated does not match",
            "InvalidSignatureException",
        ),
        ("signature expired", "InvalidSignatureException"),
        ("not authorized to perform", "AccessDeniedException"),
    ]
    .into_iter()
    .find_map(|(text, name)| message.contains(text).then_some(name))
}

/// An identifier safe to print: ASCII letters and digits, not too long.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && name.len() < 64 && name.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use reqwest::StatusCode;

    fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.as_bytes().to_vec(),
            elapsed: Duration::ZERO,
            attempts: 1,
        }
    }

    #[test]
    fn exception_names_come_from_header_json_xml_or_known_messages() {
        let coral =
            "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/";
        assert_eq!(
            exception(&reply(403, &[("x-amzn-errortype", coral)], "")).as_deref(),
            Some("AccessDeniedException")
        );
        let json = r#"{"__type":"com.amazon.coral.service#UnrecognizedClientException"}"#;
        assert_eq!(
            exception(&reply(403, &[], json)).as_deref(),
            Some("UnrecognizedClientException")
        );
        let xml = "<Error><Code>SignatureDoesNotMatch</Code></Error>";
        assert_eq!(
            exception(&reply(403, &[], xml)).as_deref(),
            Some("SignatureDoesNotMatch")
        );
        let msg = r#"{"message":"The security token included in the request is expired"}"#;
        assert_eq!(
            exception(&reply(403, &[], msg)).as_deref(),
            Some("ExpiredTokenException")
        );
        assert_eq!(
            exception(&reply(403, &[("x-amzn-errortype", "Bad Name<script>")], "")),
            None
        );
    }
}
