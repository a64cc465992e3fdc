//! Printable forms of things that may carry credentials: URLs lose userinfo and query.

use reqwest::Url;

/// `scheme://host[:port]/path` of `url`, without userinfo, query or fragment.
pub fn safe_url(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// An error code sent by a server, reduced to `[A-Za-z0-9_]` and 64 characters: servers may
/// echo input (codes, tokens) in what they send back.
pub fn error_code(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

/// `text` with every `sk-ant-…` key replaced by its fingerprint: for messages that quote what
/// the user typed (clap's usage errors), where a misplaced key would otherwise be echoed.
pub fn scrub_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sk-ant-") {
        out.push_str(&rest[..at]);
        let key_len = rest[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len() - at);
        out.push_str(crate::secret::Fingerprint::of(&rest[at..at + key_len]).as_str());
        rest = &rest[at + key_len..];
    }
    out.push_str(rest);
    out
}

/// True for `localhost`, 127.0.0.0/8 and ::1: hosts where plain HTTP never leaves the machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_url_drops_userinfo_and_query() {
        let url = Url::parse("https://user:pw@api.example.com:8443/v1/models?key=abc#x").unwrap();
        assert_eq!(safe_url(&url), "https://api.example.com:8443/v1/models");
    }

    #[test]
    fn scrub_keys_keeps_only_fingerprints() {
        let text = "invalid value 'sk-ant-api03-abcdefghijklmnopWXYZ' for '[COMMAND]'";
        assert_eq!(
            scrub_keys(text),
            "invalid value 'sk-ant-api03-…WXYZ' for '[COMMAND]'"
        );
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback(&Url::parse("http://127.0.0.1:1/").unwrap()));
        assert!(is_loopback(&Url::parse("http://[::1]:1/").unwrap()));
        assert!(!is_loopback(&Url::parse("http://10.0.0.1/").unwrap()));
    }
}
