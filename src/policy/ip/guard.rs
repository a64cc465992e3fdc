//! The IP check before a request: the source address toward the host (or toward the proxy
//! that carries the request), found by a UDP `connect` that sends nothing, and with
//! `security.ipCheckUrl` the public address an echo service sees; both judged against
//! `security.ipRestrictions`. Verdicts are kept for the process, per host.

use super::{describe, matching, parse_check_url, parse_echo, parse_ranges};
use crate::config::schema::SecurityConfig;
use crate::context::Context;
use crate::envvars::Env;
use crate::error::{AuthError, ErrorCode};
use crate::http::{Budget, Call, ProxyRule, Retry};
use crate::redact::SafeUrl;
use ipnet::IpNet;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

/// The policy of this process, installed when its configuration is loaded
/// ([`Context::new`]), so before any request. A process that loaded no configuration (a
/// library user with a client of its own) has nothing to enforce.
static POLICY: Mutex<Option<Arc<Policy>>> = Mutex::new(None);

/// `security.ipRestrictions` and `security.ipCheckUrl` as this process applies them.
pub struct Policy {
    ranges: Vec<IpNet>,
    check_url: Option<SafeUrl>,
    proxy: Option<ProxyRule>,
    /// For the echo request: the one client of the process, once built ([`use_client`]).
    client: std::sync::OnceLock<reqwest::Client>,
    /// Per target (`host[:port]`): the verdict on the local address toward it.
    local: Mutex<HashMap<String, Result<Finding, Refusal>>>,
    /// The public address, once learned.
    public: Mutex<Option<Finding>>,
    /// Refusals not yet reported to the event sink ([`record_refusals`]).
    pending: Mutex<Vec<Refusal>>,
}

/// An address inside the ranges, and which range.
#[derive(Clone, Debug)]
pub struct Finding {
    /// "local address 10.1.2.3 toward api.anthropic.com", "public address … according to …".
    pub label: String,
    pub range: IpNet,
}

/// A check that passed: every address looked at, each with its range.
#[derive(Debug)]
pub struct Passed(pub Vec<Finding>);

impl fmt::Display for Passed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|finding| format!("{} is in {}", finding.label, finding.range))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// Why nothing was sent to `target`.
#[derive(Clone, Debug)]
struct Refusal {
    target: String,
    address: Option<IpAddr>,
    /// The proxy (its variable) the request would have gone through.
    via: Option<String>,
    /// The echo service, for a public address.
    according_to: Option<String>,
    what: What,
}

#[derive(Clone, Debug)]
enum What {
    /// `label` is outside every range.
    Outside { label: String },
    /// `security.ipCheckUrl` is set but gave no address.
    NoPublicAddress { why: String },
}

impl Refusal {
    fn to_error(&self, ranges: &[IpNet]) -> AuthError {
        let target = &self.target;
        match &self.what {
            What::Outside { label } => {
                let mut hint = "connect from an allowed network (e.g. the VPN), or ask your administrator to add the address to `security.ipRestrictions`".to_string();
                if let Some(variable) = &self.via {
                    hint.push_str(&format!(
                        "; requests to {target} go through the proxy in {variable}, so the address toward the proxy is the one checked"
                    ));
                }
                AuthError::new(
                    ErrorCode::IpRestricted,
                    format!(
                        "{label} is outside `security.ipRestrictions` ({}); nothing was sent to {target}",
                        describe(ranges)
                    ),
                )
                .with_hint(hint)
            }
            What::NoPublicAddress { why } => AuthError::new(
                ErrorCode::IpRestricted,
                format!(
                    "the public address could not be learned from {}: {why}; `security.ipCheckUrl` is set, so nothing was sent to {target}",
                    self.according_to.as_deref().unwrap_or("`security.ipCheckUrl`")
                ),
            )
            .with_hint(
                "check that `security.ipCheckUrl` answers with this machine's address (plain text or {\"ip\": …}), or remove it to check the local address only",
            ),
        }
    }
}

impl Policy {
    /// The policy of `security` (already validated at load) for a process whose
    /// environment is `env` (its proxy variables). Cheap and offline.
    ///
    /// # Errors
    /// `config_error` for a range or `ipCheckUrl` that cannot be used.
    pub fn new(security: &SecurityConfig, env: &Env) -> Result<Policy, AuthError> {
        let file = "the configuration";
        Ok(Policy {
            ranges: parse_ranges(&security.ip_restrictions, file)?,
            check_url: security
                .ip_check_url
                .as_deref()
                .map(|url| parse_check_url(url, file))
                .transpose()?,
            // A proxy variable that is not a URL stops the client from being built (a
            // `config_error` then), so no request is sent without its rule.
            proxy: ProxyRule::from_env(env).ok().flatten(),
            client: std::sync::OnceLock::new(),
            local: Mutex::new(HashMap::new()),
            public: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
        })
    }

    async fn check(&self, url: &SafeUrl, budget: Budget) -> Result<Option<Passed>, AuthError> {
        if self.ranges.is_empty() {
            return Ok(None);
        }
        let mut findings = vec![self.local(url, budget).await?];
        if let Some(check_url) = &self.check_url {
            findings.push(self.public(check_url, url, budget).await?);
        }
        Ok(Some(Passed(findings)))
    }

    /// The verdict on the source address toward `url` (or its proxy), cached per target.
    async fn local(&self, url: &SafeUrl, budget: Budget) -> Result<Finding, AuthError> {
        let target = target_name(url.as_url());
        let cached = lock(&self.local).get(&target).cloned();
        let verdict = match cached {
            Some(verdict) => verdict,
            None => {
                let verdict = self.judge_local(url, &target, budget).await?;
                lock(&self.local).insert(target, verdict.clone());
                verdict
            }
        };
        verdict.map_err(|refusal| self.refuse(refusal))
    }

    async fn judge_local(
        &self,
        url: &SafeUrl,
        target: &str,
        budget: Budget,
    ) -> Result<Result<Finding, Refusal>, AuthError> {
        let proxy = self.proxy.as_ref().and_then(|rule| {
            rule.route(url.as_url())
                .map(|proxy| (proxy.clone(), rule.variable))
        });
        let hop = proxy.as_ref().map_or(url.as_url(), |(proxy, _)| proxy);
        let toward = match &proxy {
            Some((proxy, variable)) => format!(
                "toward the proxy {} ({variable}, in use for {target})",
                target_name(proxy)
            ),
            None => format!("toward {target}"),
        };
        let sources = sources_toward(hop, budget).await?;
        for address in &sources {
            let label = format!("local address {address} {toward}");
            if matching(&self.ranges, *address).is_none() {
                return Ok(Err(Refusal {
                    target: target.to_string(),
                    address: Some(*address),
                    via: proxy.as_ref().map(|(_, v)| v.to_string()),
                    according_to: None,
                    what: What::Outside { label },
                }));
            }
        }
        // Every route the connection may take leaves from inside; name the first.
        let address = sources[0];
        Ok(Ok(Finding {
            label: format!("local address {address} {toward}"),
            range: matching(&self.ranges, address).expect("checked above"),
        }))
    }

    /// The verdict on the public address `check_url` reports (asked once per process).
    async fn public(
        &self,
        check_url: &SafeUrl,
        url: &SafeUrl,
        budget: Budget,
    ) -> Result<Finding, AuthError> {
        let known = lock(&self.public).clone();
        let address = match known {
            Some(finding) => return Ok(finding),
            None => self.ask_echo(check_url, budget).await,
        };
        let refusal = |address, what| Refusal {
            target: target_name(url.as_url()),
            address,
            via: None,
            according_to: Some(check_url.to_string()),
            what,
        };
        let address = match address {
            Ok(address) => address,
            Err(why) => return Err(self.refuse(refusal(None, What::NoPublicAddress { why }))),
        };
        let label = format!("public address {address} according to {check_url}");
        match matching(&self.ranges, address) {
            Some(range) => {
                let finding = Finding { label, range };
                *lock(&self.public) = Some(finding.clone());
                Ok(finding)
            }
            None => Err(self.refuse(refusal(Some(address), What::Outside { label }))),
        }
    }

    /// Asks the echo service for this machine's public address. The request carries no
    /// credential, so it goes out unguarded (through the same ladder and proxy).
    async fn ask_echo(&self, check_url: &SafeUrl, budget: Budget) -> Result<IpAddr, String> {
        let call = Call {
            url: check_url,
            setting: "`security.ipCheckUrl`",
            service: "the IP echo service",
            budget,
            retry: Retry::Transient,
        };
        let Some(client) = self.client.get() else {
            return Err("no HTTP client was built for it".to_string());
        };
        let request = client.get(check_url.as_url().clone());
        match crate::http::send_unguarded(&call, request).await {
            Ok(reply) if reply.status.is_success() => parse_echo(&reply.body),
            Ok(reply) => Err(format!("it answered HTTP {}", reply.status.as_u16())),
            Err(err) => Err(err.message().to_string()),
        }
    }

    /// Notes `refusal` for the event sink and turns it into the error.
    fn refuse(&self, refusal: Refusal) -> AuthError {
        let err = refusal.to_error(&self.ranges);
        lock(&self.pending).push(refusal);
        err
    }
}

/// Makes `policy` the one every later request of this process is checked against.
pub fn install(policy: Policy) {
    *lock(&POLICY) = Some(Arc::new(policy));
}

/// Gives the policy the process's HTTP client, for the `security.ipCheckUrl` echo.
pub fn use_client(client: &reqwest::Client) {
    if let Some(policy) = current() {
        let _ = policy.client.set(client.clone());
    }
}

fn current() -> Option<Arc<Policy>> {
    lock(&POLICY).clone()
}

/// Checks the policy before `call` is sent (see [`crate::http::send`]).
///
/// # Errors
/// `ip_restricted` when an address is outside `security.ipRestrictions` or the public
/// address cannot be learned; `network_error` when the host cannot be resolved or reached.
pub async fn guard(call: &Call<'_>) -> Result<(), AuthError> {
    match current() {
        Some(policy) => policy.check(call.url, call.budget).await.map(drop),
        None => Ok(()),
    }
}

/// The check for `url` as `--test-auth` shows it: `None` when no ranges are configured.
///
/// # Errors
/// As [`guard`].
pub async fn check(url: &SafeUrl, budget: Budget) -> Result<Option<Passed>, AuthError> {
    match current() {
        Some(policy) => policy.check(url, budget).await,
        None => Ok(None),
    }
}

/// Reports every refusal of this process to the event sink (`IpRefused`), once.
pub fn record_refusals(ctx: &Context) {
    let Some(policy) = current() else { return };
    let refusals = std::mem::take(&mut *lock(&policy.pending));
    for refusal in refusals {
        let address = refusal.address.map(|a| a.to_string());
        crate::events::record(
            ctx,
            &crate::events::AuthEvent::IpRefused {
                address: address.as_deref(),
                target: &refusal.target,
                via: refusal.via.as_deref(),
                according_to: refusal.according_to.as_deref(),
            },
        );
    }
}

/// `host`, or `host:port` when the URL names a port.
fn target_name(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The source addresses this machine would use toward every address `url`'s host resolves
/// to (the connector may pick any of them), normalised.
///
/// # Errors
/// `network_error` when the host does not resolve in time or no address has a route.
async fn sources_toward(url: &url::Url, budget: Budget) -> Result<Vec<IpAddr>, AuthError> {
    let host = match url.host() {
        Some(url::Host::Domain(name)) => name.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(AuthError::internal("a request URL without a host")),
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let resolved =
        tokio::time::timeout(budget.total, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| {
                AuthError::network(format!(
                    "cannot resolve {host} in time to check `security.ipRestrictions`"
                ))
            })?
            .map_err(|e| {
                AuthError::network(format!(
                    "cannot resolve {host} to check `security.ipRestrictions`"
                ))
                .caused_by(e)
                .with_hint("check your network and DNS")
            })?;
    let mut sources: Vec<IpAddr> = Vec::new();
    for destination in resolved {
        if let Ok(source) = source_toward(destination) {
            let source = source.to_canonical();
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
    }
    if sources.is_empty() {
        return Err(
            AuthError::network(format!("this machine has no route to {host}"))
                .with_hint("check your network connection"),
        );
    }
    Ok(sources)
}

/// The local address the OS would send from toward `destination`. A UDP `connect` only picks
/// the route and source address: no packet leaves the machine.
fn source_toward(destination: SocketAddr) -> std::io::Result<IpAddr> {
    let any: SocketAddr = match destination {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = std::net::UdpSocket::bind(any)?;
    socket.connect(destination)?;
    Ok(socket.local_addr()?.ip())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_toward_loopback_is_loopback() {
        let v4 = source_toward("127.0.0.1:443".parse().unwrap()).unwrap();
        assert_eq!(v4, "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn targets_are_named_with_their_port_only_when_given() {
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert_eq!(
            target_name(&url("https://api.anthropic.com/v1")),
            "api.anthropic.com"
        );
        assert_eq!(
            target_name(&url("http://127.0.0.1:8080/")),
            "127.0.0.1:8080"
        );
        assert_eq!(target_name(&url("https://[::1]:9/")), "[::1]:9");
    }
}
