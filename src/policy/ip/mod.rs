//! `security.ipRestrictions`: the CIDR ranges requests may leave from, parsed and normalised
//! once, and an address judged against them. The check before each request (the source
//! address toward the host, and the public address from `security.ipCheckUrl`) is in
//! [`guard`]. An empty list means no restriction.

pub mod guard;

pub use guard::{check, guard, install, record_refusals, use_client, Passed, Policy};

use crate::config::schema::SecurityConfig;
use crate::error::AuthError;
use crate::redact::SafeUrl;
use ipnet::{IpNet, Ipv4Net};
use std::net::IpAddr;

/// The longest answer taken from `security.ipCheckUrl`: an address, or a small JSON object.
const MAX_ECHO: usize = 1024;

/// One entry of `security.ipRestrictions` as a range: a CIDR, or a bare address (its /32 or
/// /128). Host bits are cleared (`10.1.2.3/8` → `10.0.0.0/8`) and a v4-mapped IPv6 range of
/// /96 or longer becomes the IPv4 range it maps (`::ffff:10.0.0.0/104` → `10.0.0.0/8`).
/// `None` when the entry is neither.
pub fn parse_range(entry: &str) -> Option<IpNet> {
    let net = match entry.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(entry.parse::<IpAddr>().ok()?),
    };
    Some(normalise(net).trunc())
}

/// Every entry of `ranges` (from `security.ipRestrictions` in `file`), normalised.
///
/// # Errors
/// `config_error` naming the first bad entry, its index and the file.
pub fn parse_ranges(entries: &[String], file: &str) -> Result<Vec<IpNet>, AuthError> {
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            parse_range(entry).ok_or_else(|| {
                AuthError::config(format!(
                    "{file}: `security.ipRestrictions[{index}]` is not a CIDR range: \"{entry}\""
                ))
                .with_hint(
                    "write ranges like \"192.168.1.0/24\" or \"2001:db8::/32\", or single addresses like \"203.0.113.9\"",
                )
            })
        })
        .collect()
}

/// `security.ipCheckUrl` as a URL: https, or plain http to loopback only (a spoofed answer
/// could otherwise let a request out from anywhere).
///
/// # Errors
/// `config_error` naming the key and `file`.
pub fn parse_check_url(value: &str, file: &str) -> Result<SafeUrl, AuthError> {
    let bad = || {
        AuthError::config(format!(
            "{file}: `security.ipCheckUrl` must be an https:// URL (plain http only to localhost)"
        ))
        .with_hint(
            "e.g. \"https://api.ipify.org\", or remove the key to check the local address only",
        )
    };
    let url = url::Url::parse(value).map_err(|e| bad().caused_by(e))?;
    match url.scheme() {
        "https" => Ok(url.into()),
        "http" if crate::redact::is_loopback(&url) => Ok(url.into()),
        _ => Err(bad()),
    }
}

/// A v4-mapped IPv6 range of /96 or longer as the IPv4 range it maps.
fn normalise(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| Ipv4Net::new(v4, v6.prefix_len() - 96).ok())
            .map_or(net, IpNet::V4),
        other => other,
    }
}

/// The first range holding `address` (a v4-mapped IPv6 address is its IPv4 address).
pub fn matching(ranges: &[IpNet], address: IpAddr) -> Option<IpNet> {
    let address = address.to_canonical();
    ranges
        .iter()
        .copied()
        .find(|range| range.contains(&address))
}

/// `192.168.1.0/24, 10.0.0.0/8`.
pub fn describe(ranges: &[IpNet]) -> String {
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The address in an echo service's answer: plain text, or JSON `{"ip": "…"}`.
///
/// # Errors
/// Why the answer is not one (never quoting it: it is a stranger's text).
pub fn parse_echo(body: &[u8]) -> Result<IpAddr, String> {
    if body.len() > MAX_ECHO {
        return Err(format!("its answer is longer than {MAX_ECHO} bytes"));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| "its answer is not text".to_string())?
        .trim();
    let value = if text.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|doc| doc.get("ip")?.as_str().map(str::to_string))
            .ok_or_else(|| "its JSON answer has no string member `ip`".to_string())?
    } else {
        text.to_string()
    };
    value
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
        .map_err(|_| "its answer is not an IP address".to_string())
}

/// `ipRestrictions` of `--auth-status --json` (offline): the ranges, the echo service and
/// that the check is made before each request; `None` when nothing is configured.
pub fn status(security: &SecurityConfig) -> Option<serde_json::Value> {
    if security.ip_restrictions.is_empty() && security.ip_check_url.is_none() {
        return None;
    }
    let ranges: Vec<String> = security
        .ip_restrictions
        .iter()
        .map(|entry| parse_range(entry).map_or_else(|| entry.clone(), |r| r.to_string()))
        .collect();
    let enforced = !ranges.is_empty();
    Some(serde_json::json!({
        "ranges": ranges,
        "checkUrl": security.ip_check_url.as_deref().map(|u| {
            url::Url::parse(u).map_or_else(|_| u.to_string(), |u| SafeUrl::from(u).to_string())
        }),
        "checkedBeforeEachRequest": enforced,
    }))
}

/// The `--auth-status` line: what is allowed and when it is checked (nothing is checked by
/// status itself: it stays offline).
pub fn status_line(security: &SecurityConfig) -> Option<String> {
    let doc = status(security)?;
    let ranges = doc["ranges"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    if ranges.is_empty() {
        return Some("no ranges, so no restriction (`security.ipCheckUrl` is unused)".into());
    }
    let checked = match doc["checkUrl"].as_str() {
        Some(url) => format!("the local address and the public address according to {url} are"),
        None => "the local address is".to_string(),
    };
    Some(format!("{ranges} ({checked} checked before each request)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_normalise_and_match() {
        // (entry, normalised range or None for a config error, inside, outside)
        type Row = (
            &'static str,
            Option<&'static str>,
            &'static [&'static str],
            &'static [&'static str],
        );
        let table: &[Row] = &[
            (
                "10.0.0.0/8",
                Some("10.0.0.0/8"),
                &["10.1.2.3", "::ffff:10.9.9.9"],
                &["11.0.0.1", "::1"],
            ),
            (
                "10.1.2.3/8",
                Some("10.0.0.0/8"),
                &["10.200.0.1"],
                &["192.168.0.1"],
            ),
            (
                "192.168.1.7",
                Some("192.168.1.7/32"),
                &["192.168.1.7"],
                &["192.168.1.8"],
            ),
            (
                "2001:db8::/32",
                Some("2001:db8::/32"),
                &["2001:db8:1::5"],
                &["2001:db9::1", "10.0.0.1"],
            ),
            ("::1", Some("::1/128"), &["::1"], &["127.0.0.1"]),
            (
                "::ffff:10.0.0.0/104",
                Some("10.0.0.0/8"),
                &["10.3.2.1", "::ffff:10.3.2.1"],
                &["11.0.0.1"],
            ),
            (
                "::ffff:192.0.2.1",
                Some("192.0.2.1/32"),
                &["192.0.2.1"],
                &["192.0.2.2"],
            ),
            (
                "0.0.0.0/0",
                Some("0.0.0.0/0"),
                &["203.0.113.9", "::ffff:1.2.3.4"],
                &["2001:db8::1"],
            ),
            ("10.0.0/33", None, &[], &[]),
            ("10.0.0.0/33", None, &[], &[]),
            ("::1/129", None, &[], &[]),
            ("localhost", None, &[], &[]),
            (" 10.0.0.0/8", None, &[], &[]),
            ("", None, &[], &[]),
        ];
        for (entry, normalised, inside, outside) in table {
            let parsed = parse_range(entry);
            assert_eq!(
                parsed.map(|r| r.to_string()).as_deref(),
                *normalised,
                "{entry}"
            );
            let Some(range) = parsed else { continue };
            for address in *inside {
                let ip: IpAddr = address.parse().unwrap();
                assert_eq!(matching(&[range], ip), Some(range), "{address} in {entry}");
            }
            for address in *outside {
                let ip: IpAddr = address.parse().unwrap();
                assert_eq!(matching(&[range], ip), None, "{address} not in {entry}");
            }
        }
    }

    #[test]
    fn a_malformed_entry_is_a_config_error_naming_its_path() {
        let entries = vec!["10.0.0.0/8".to_string(), "10.0.0/33".to_string()];
        let err = parse_ranges(&entries, "config.json").unwrap_err();
        assert_eq!(err.code(), crate::error::ErrorCode::ConfigError);
        assert!(
            err.message().contains("`security.ipRestrictions[1]`"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("\"10.0.0/33\""), "{}", err.message());
        assert!(parse_ranges(&[], "config.json").unwrap().is_empty());
    }

    #[test]
    fn the_first_matching_range_is_named() {
        let ranges = parse_ranges(&["192.168.0.0/16".into(), "127.0.0.0/8".into()], "c").unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(matching(&ranges, ip).unwrap().to_string(), "127.0.0.0/8");
        assert_eq!(describe(&ranges), "192.168.0.0/16, 127.0.0.0/8");
    }

    #[test]
    fn echo_answers_in_text_or_json() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(parse_echo(b"203.0.113.9\n"), Ok(ip("203.0.113.9")));
        assert_eq!(
            parse_echo(br#"{"ip": "2001:db8::7"}"#),
            Ok(ip("2001:db8::7"))
        );
        assert_eq!(parse_echo(b"::ffff:203.0.113.9"), Ok(ip("203.0.113.9")));
        assert!(parse_echo(b"<html>captive portal</html>").is_err());
        assert!(parse_echo(br#"{"address": "203.0.113.9"}"#).is_err());
        assert!(parse_echo(&[b' '; 2000]).is_err());
    }

    #[test]
    fn check_url_is_https_or_loopback() {
        assert!(parse_check_url("https://ip.example.com/", "c").is_ok());
        assert!(parse_check_url("http://127.0.0.1:9/ip", "c").is_ok());
        assert!(parse_check_url("http://ip.example.com/", "c").is_err());
        assert!(parse_check_url("not a url", "c").is_err());
    }
}
