//! AWS-sourced workload identity federation (`credential_source.environment_id: aws1`,
//! AIP-4117): the AWS region and keys, from the environment or else the EC2 instance
//! metadata the credential file names, and the subject token they make: a SigV4-signed
//! `GetCallerIdentity` request, serialized as URL-encoded JSON, that Google's STS replays to
//! AWS to learn who the caller is. Signed with Bedrock's signer; every request goes through
//! [`crate::http::send`].

mod imds;

use super::external::{field_url, has_userinfo, refused_url};
use crate::context::Context;
use crate::envvars::{self, Env};
use crate::error::AuthError;
use crate::providers::bedrock::{self, AccessKeys, Signable};
use crate::redact::{is_loopback, SafeUrl};
use crate::secret::{Fingerprint, Secret};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Url;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The one version of the AWS source this code builds.
const ENVIRONMENT_ID: &str = "aws1";
/// Where the file's `{region}` goes in `regional_cred_verification_url`.
const REGION_PLACEHOLDER: &str = "{region}";

/// An AWS `credential_source`, its URLs checked.
#[derive(Debug)]
pub struct AwsSource {
    /// The credential file, for messages.
    pub path: PathBuf,
    /// `regional_cred_verification_url`, `{region}` still in it.
    pub verification_url: String,
    /// `region_url`: the instance's availability zone.
    pub region_url: Option<Url>,
    /// `url`: the instance role's name, then (with the name appended) its keys.
    pub credentials_url: Option<Url>,
    /// `imdsv2_session_token_url`.
    pub session_token_url: Option<Url>,
}

/// Parses an AWS `credential_source`: `environment_id` must be `aws1`, the metadata URLs
/// the EC2 instance metadata's addresses over http (loopback too in debug builds, for
/// tests), the verification URL an https URL of AWS.
///
/// # Errors
/// `config_error` naming the file and field; never quoting values but a short version.
pub fn parse(path: &Path, source: &Value) -> Result<AwsSource, AuthError> {
    let id = source
        .get("environment_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if id != ENVIRONMENT_ID {
        let shown = if id.len() <= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            format!("`{id}`")
        } else {
            "an unknown value".to_string()
        };
        return Err(AuthError::config(format!(
            "the credential_source.environment_id in {} is {shown}; claude supports the AWS-sourced format `{ENVIRONMENT_ID}` only",
            path.display()
        ))
        .with_hint("a newer format needs a newer claude; or write the file again with `gcloud iam workload-identity-pools create-cred-config --aws`"));
    }
    let text = |field: &str| {
        source
            .get(field)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let imds = |field: &str| {
        text(field)
            .map(|u| metadata_url(path, &format!("credential_source.{field}"), u))
            .transpose()
    };
    let verification_url = text("regional_cred_verification_url")
        .ok_or_else(|| {
            AuthError::config(format!(
                "{} has no `credential_source.regional_cred_verification_url`",
                path.display()
            ))
            .with_hint("write the file again with `gcloud iam workload-identity-pools create-cred-config --aws`")
        })?
        .to_string();
    let parsed = AwsSource {
        path: path.to_path_buf(),
        verification_url,
        region_url: imds("region_url")?,
        credentials_url: imds("url")?,
        session_token_url: imds("imdsv2_session_token_url")?,
    };
    // Checked now, with any region, so that status reports it offline.
    parsed.verification("us-east-1")?;
    Ok(parsed)
}

/// The EC2 instance metadata (`169.254.169.254`, `[fd00:ec2::254]`) over http, as Google's
/// libraries require; loopback only in debug builds, where tests stand in for it.
fn metadata_url(path: &Path, field: &str, text: &str) -> Result<Url, AuthError> {
    let url = field_url(path, field, text)?;
    let imds = url.scheme() == "http"
        && matches!(url.host_str(), Some("169.254.169.254" | "[fd00:ec2::254]"));
    let test =
        cfg!(debug_assertions) && matches!(url.scheme(), "http" | "https") && is_loopback(&url);
    if has_userinfo(&url) || !(imds || test) {
        return Err(refused_url(
            path,
            field,
            &url,
            "it is not the EC2 instance metadata (http://169.254.169.254 or http://[fd00:ec2::254]), and claude would ask it for AWS credentials",
        ));
    }
    Ok(url)
}

impl AwsSource {
    /// `regional_cred_verification_url` for `region` (a region name, so it can only fill a
    /// host label): the text as signed, and the URL.
    fn verification(&self, region: &str) -> Result<(String, Url), AuthError> {
        let field = "credential_source.regional_cred_verification_url";
        let text = self.verification_url.replace(REGION_PLACEHOLDER, region);
        let url = field_url(&self.path, field, &text)?;
        let aws = url.scheme() == "https"
            && url
                .host_str()
                .is_some_and(|h| h.ends_with(".amazonaws.com") || h.ends_with(".amazonaws.com.cn"));
        if has_userinfo(&url) || !aws {
            return Err(refused_url(
                &self.path,
                field,
                &url,
                "it is not an https URL of AWS STS (https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15)",
            ));
        }
        Ok((text, url))
    }
}

/// Where the region comes from.
enum RegionFrom {
    Env { name: &'static str, region: String },
    Imds(Url),
}

/// Where the keys come from.
enum KeysFrom {
    Env(AccessKeys),
    Imds(Url),
}

/// Where the region and the keys come from, decided offline.
pub struct Plan {
    region: RegionFrom,
    keys: KeysFrom,
}

/// Decides, from variables only, where the region and keys will come from: `AWS_REGION`,
/// else `AWS_DEFAULT_REGION`, else `region_url`; the environment's key pair, else `url`.
///
/// # Errors
/// `config_error` for a region that is not a region name, half a key pair, or a source
/// neither the environment nor the file provides.
pub fn plan(env: &Env, source: &AwsSource) -> Result<Plan, AuthError> {
    let file = source.path.display();
    let named = [envvars::AWS_REGION, envvars::AWS_DEFAULT_REGION]
        .into_iter()
        .find_map(|name| env.get(name).map(|value| (name, value)));
    let region = match (named, &source.region_url) {
        (Some((name, region)), _) if bedrock::is_region_name(&region) => RegionFrom::Env { name, region },
        (Some((name, _)), _) => {
            return Err(AuthError::config(format!("{name} is not an AWS region name"))
                .with_hint("use a region such as us-east-1 or eu-west-3 (lower case)"))
        }
        (None, Some(url)) => RegionFrom::Imds(url.clone()),
        (None, None) => {
            return Err(AuthError::config(format!(
                "no AWS region for the AWS-sourced credential {file}: AWS_REGION is unset and its credential_source has no region_url"
            ))
            .with_hint("export AWS_REGION (e.g. `export AWS_REGION=us-east-1`)"))
        }
    };
    let pair = bedrock::env_pair(env).map_err(|err| {
        err.with_hint("export both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or unset them to use the instance role (credential_source.url)")
    })?;
    let keys = match (pair, &source.credentials_url) {
        (Some(keys), _) => KeysFrom::Env(keys),
        (None, Some(url)) => KeysFrom::Imds(url.clone()),
        (None, None) => {
            return Err(AuthError::not_authenticated(format!(
                "no AWS credentials for the AWS-sourced credential {file}: AWS_ACCESS_KEY_ID is unset and its credential_source has no url"
            ))
            .with_hint("export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or run on an EC2 instance with a role and a file that names its metadata url"))
        }
    };
    Ok(Plan { region, keys })
}

impl Plan {
    /// In words, for the status line: where the keys and the region come from.
    pub fn describe(&self) -> String {
        let keys = match &self.keys {
            KeysFrom::Env(_) => "env",
            KeysFrom::Imds(_) => "IMDS",
        };
        let region = match &self.region {
            RegionFrom::Env { name, .. } => *name,
            RegionFrom::Imds(_) => "IMDS",
        };
        format!("credentials from {keys}, region from {region}")
    }

    /// Status settings: `awsKeys` and `awsRegion`, never a secret (the key id as a
    /// fingerprint).
    pub fn settings(&self) -> Vec<(String, String)> {
        let keys = match &self.keys {
            KeysFrom::Env(keys) => format!(
                "env:{} {}",
                envvars::AWS_ACCESS_KEY_ID,
                Fingerprint::of(&keys.access_key_id)
            ),
            KeysFrom::Imds(url) => format!("imds:{} (asked when used)", SafeUrl::from(url.clone())),
        };
        let region = match &self.region {
            RegionFrom::Env { name, region } => format!("{region} ({name})"),
            RegionFrom::Imds(url) => {
                format!("imds:{} (asked when used)", SafeUrl::from(url.clone()))
            }
        };
        vec![
            ("awsKeys".to_string(), keys),
            ("awsRegion".to_string(), region),
        ]
    }
}

/// The subject token: `GetCallerIdentity` for the region, signed with the keys and with
/// `audience` as the signed `x-goog-cloud-target-resource` header.
///
/// # Errors
/// Those of [`plan`]; `network_error`, `provider_error`, `not_authenticated` from the
/// instance metadata; `internal` when the request cannot be signed.
pub async fn subject_token(
    ctx: &Context,
    http: &reqwest::Client,
    source: &AwsSource,
    audience: &str,
) -> Result<Secret<String>, AuthError> {
    let plan = plan(&ctx.env, source)?;
    let mut imds = imds::Imds::new(ctx, http, source.session_token_url.as_ref());
    let region = match plan.region {
        RegionFrom::Env { region, .. } => region,
        RegionFrom::Imds(url) => imds.region(&url).await?,
    };
    let keys = match plan.keys {
        KeysFrom::Env(keys) => keys,
        KeysFrom::Imds(url) => imds.keys(&url).await?,
    };
    let (text, url) = source.verification(&region)?;
    crate::trace::step(&format!(
        "vertex: signing AWS GetCallerIdentity in {region} with key {}",
        Fingerprint::of(&keys.access_key_id)
    ));
    let now = ctx.clock.now().to_system_time();
    let signed = Signable {
        method: "POST",
        url: &url,
        headers: &[("x-goog-cloud-target-resource", audience)],
        body: b"",
    };
    let added = bedrock::sigv4_headers_for(&signed, &keys, &region, "sts", now)?;
    serialize(&text, &url, &added, audience)
}

#[derive(Serialize)]
struct SignedRequest<'a> {
    url: &'a str,
    method: &'a str,
    headers: Vec<Header<'a>>,
}

#[derive(Serialize)]
struct Header<'a> {
    key: &'a str,
    value: &'a str,
}

/// The request as Google's STS reads it: `{"url", "method", "headers": [{"key", "value"}]}`,
/// JSON then percent-encoded.
fn serialize(
    text: &str,
    url: &Url,
    added: &[(HeaderName, HeaderValue)],
    audience: &str,
) -> Result<Secret<String>, AuthError> {
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (host, _) => host.unwrap_or_default().to_string(),
    };
    let mut headers = vec![
        Header {
            key: "host",
            value: &host,
        },
        Header {
            key: "x-goog-cloud-target-resource",
            value: audience,
        },
    ];
    for (name, value) in added {
        let value = value
            .to_str()
            .map_err(|_| AuthError::internal("the AWS signature is not text"))?;
        let key = if name == reqwest::header::AUTHORIZATION {
            "Authorization"
        } else {
            name.as_str()
        };
        headers.push(Header { key, value });
    }
    // Google's libraries list them sorted by name.
    headers.sort_by(|a, b| a.key.cmp(b.key));
    let request = SignedRequest {
        url: text,
        method: "POST",
        headers,
    };
    let json = Zeroizing::new(
        serde_json::to_string(&request)
            .map_err(|_| AuthError::internal("cannot serialize the signed AWS request"))?,
    );
    Ok(Secret::new(crate::uri::percent_encode(&json)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_are_the_instance_metadata_or_loopback_in_tests() {
        let path = Path::new("aws.json");
        for ok in [
            "http://169.254.169.254/latest/meta-data/iam/security-credentials",
            "http://[fd00:ec2::254]/latest/api/token",
            "http://127.0.0.1:9/latest/meta-data/placement/availability-zone",
        ] {
            assert!(
                metadata_url(path, "credential_source.url", ok).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "https://169.254.169.254/latest",
            "http://169.254.169.253/latest",
            "http://metadata.example.com/latest",
            "http://u:p@169.254.169.254/latest",
            "not a url",
        ] {
            let err = metadata_url(path, "credential_source.url", bad).unwrap_err();
            assert!(err.message().contains("credential_source.url"), "{bad}");
        }
    }

    #[test]
    fn json_is_percent_encoded() {
        assert_eq!(
            crate::uri::percent_encode(r#"{"a": "b/c~"}"#),
            "%7B%22a%22%3A%20%22b%2Fc~%22%7D"
        );
    }
}
