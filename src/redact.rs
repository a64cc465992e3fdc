//! Printable forms of things that may carry credentials: URLs lose userinfo and query,
//! credential-shaped values in messages keep only their ends.

use crate::secret::Fingerprint;
use reqwest::Url;

/// A URL that prints safely: `Display` and `Debug` show `scheme://host[:port]/path` only
/// (no userinfo, query or fragment, where codes, tokens and passwords travel), so a message
/// that names the URL cannot leak what it carries. The full URL, for sending, is behind
/// `Deref` and [`SafeUrl::as_url`].
#[derive(Clone, PartialEq, Eq)]
pub struct SafeUrl(Url);

impl SafeUrl {
    /// The full URL, for the request itself.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The full URL, by value.
    pub fn into_url(self) -> Url {
        self.0
    }
}

impl From<Url> for SafeUrl {
    fn from(url: Url) -> SafeUrl {
        SafeUrl(url)
    }
}

impl std::ops::Deref for SafeUrl {
    type Target = Url;
    fn deref(&self) -> &Url {
        &self.0
    }
}

impl std::fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&safe_url(&self.0))
    }
}

impl std::fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SafeUrl({self})")
    }
}

/// `scheme://host[:port]/path` of `url`, without userinfo, query or fragment.
fn safe_url(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// A URL reference from a server (a `Location` header, a link target) without userinfo,
/// query or fragment: [`safe_url`] when it is an absolute URL with a host, else the reference
/// cut before its `?` or `#`, and a network-path reference (`//user:pw@host/p`) without its
/// userinfo. Query strings and fragments are where servers echo codes and tokens back.
pub fn safe_reference(reference: &str) -> String {
    let reference = reference.trim();
    if let Ok(url) = Url::parse(reference) {
        if url.has_host() {
            return safe_url(&url);
        }
    }
    let before_query = reference.split(['?', '#']).next().unwrap_or_default();
    let Some(network_path) = before_query.strip_prefix("//") else {
        return before_query.to_string();
    };
    let (authority, path) = network_path
        .find('/')
        .map_or((network_path, ""), |at| network_path.split_at(at));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("//{host}{path}")
}

/// An error code sent by a server, reduced to `[A-Za-z0-9_]` and 64 characters: servers may
/// echo input (codes, tokens) in what they send back.
pub fn error_code(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

/// `text` with every value shaped like a credential replaced by a masked form that keeps
/// at most a short prefix and the last four characters, never the middle: Anthropic keys
/// (`sk-ant-api03-…WXYZ`, as [`Fingerprint::of`] shows them), the tokens and keys of
/// [`PREFIXED`] (GitHub `ghp_…WXYZ`, GitLab `glpat-…WXYZ`, Hugging Face, Slack, Stripe, Google
/// API keys and client secrets, npm), AWS access key ids (`AKIA…WXYZ`), Google access tokens
/// (`ya29.…WXYZ`), JWTs (`eyJ…WXYZ`), and any other run of 32 or more base64 or hex
/// characters that looks random (`wJal…EKEY`).
///
/// A run that is part of a path or URL is judged one `/`-separated segment at a time, so
/// paths and URLs stay usable (a `chmod` hint, two tenants' issuers) while a random segment
/// in them is still masked; a run standing alone is judged whole, so an AWS secret key
/// (which may contain `/`) is masked.
///
/// For messages that quote what a user typed or wrote (clap's usage errors, serde's type
/// errors, a config value), where a misplaced secret would otherwise be echoed. Paths, URLs
/// without credentials, fingerprints, session ids and times pass unchanged, and so does
/// already scrubbed text.
pub fn scrub_secrets(text: &str) -> String {
    mask_random_runs(&mask_prefixed(text))
}

/// Whether `text` holds a credential known by its prefix (an Anthropic, GitHub, GitLab,
/// Slack, Stripe, npm or Hugging Face token, a Google API key, client secret or access
/// token, an AWS access key id, a JWT): what a variable's value must not carry into a child,
/// whatever the variable is called. Random-looking runs are not judged here: paths hold them.
pub fn holds_prefixed_credential(text: &str) -> bool {
    mask_prefixed(text) != text
}

/// Whether `text` holds anything [`scrub_secrets`] would mask: a credential known by its
/// prefix, or a long random run outside a path's digest names. For commands written in a
/// file (`apiKeyHelper: "echo sk-ant-…"`), whose file must then be private.
pub fn holds_credential(text: &str) -> bool {
    scrub_secrets(text) != text
}

/// `prefix…` and the last four characters of `value` when it has 16 or more; the width of
/// a fingerprint, so that a short value shows no tail at all.
fn masked(prefix: &str, value: &str) -> String {
    let tail = if value.len() >= 16 {
        &value[value.len() - 4..]
    } else {
        ""
    };
    format!("{prefix}…{tail}")
}

/// Pass one: credentials recognised by their prefix, at the start of a word.
fn mask_prefixed(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        // Every prefix starts with an ASCII letter, which is also a char boundary to slice at.
        let starts_word =
            bytes[at].is_ascii_alphabetic() && (at == 0 || !bytes[at - 1].is_ascii_alphanumeric());
        let found = if starts_word {
            prefixed_at(&text[at..])
        } else {
            None
        };
        match found {
            // A value followed by `…` is already a fingerprint.
            Some((len, shown)) if !text[at + len..].starts_with('…') => {
                out.push_str(&text[copied..at]);
                out.push_str(&shown);
                at += len;
                copied = at;
            }
            _ => at += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The length and masked form of the credential `text` starts with, if it starts with one.
fn prefixed_at(text: &str) -> Option<(usize, String)> {
    let run = |from: usize, ok: fn(u8) -> bool| {
        from + text.as_bytes()[from..]
            .iter()
            .take_while(|&&b| ok(b))
            .count()
    };
    if text.starts_with("sk-ant-") {
        let end = run(7, is_base64url);
        return (end - 7 >= 8).then(|| (end, Fingerprint::of(&text[..end]).to_string()));
    }
    for known in &PREFIXED {
        if text.starts_with(known.prefix) {
            let start = known.prefix.len();
            let end = run(start, known.body);
            return (end - start >= known.shortest)
                .then(|| (end, masked(known.prefix, &text[..end])));
        }
    }
    for prefix in ["AKIA", "ASIA"] {
        if text.starts_with(prefix) {
            let end = run(4, |b| b.is_ascii_uppercase() || b.is_ascii_digit());
            let whole_word = !text
                .as_bytes()
                .get(end)
                .is_some_and(u8::is_ascii_alphanumeric);
            return (end == 20 && whole_word).then(|| (end, masked(prefix, &text[..end])));
        }
    }
    if text.starts_with("ya29.") {
        let end = run(5, |b| is_base64url(b) || b == b'.');
        return (end - 5 >= 16).then(|| (end, masked("ya29.", &text[..end])));
    }
    if text.starts_with("eyJ") {
        return jwt_len(text).map(|end| (end, masked("eyJ", &text[..end])));
    }
    None
}

/// A credential known by its prefix, shown as `prefix…WXYZ`.
struct Prefixed {
    prefix: &'static str,
    /// Whether a byte belongs to the rest of the credential.
    body: fn(u8) -> bool,
    /// How many such bytes follow the prefix at least: a prefix alone, or a short identifier
    /// that shares it (`hf_hub`, `npm_config_…`), is not a credential.
    shortest: usize,
}

const fn prefixed(prefix: &'static str, body: fn(u8) -> bool, shortest: usize) -> Prefixed {
    Prefixed {
        prefix,
        body,
        shortest,
    }
}

/// The credentials recognised by their prefix alone.
const PREFIXED: [Prefixed; 18] = [
    // GitHub: fine-grained and classic tokens (OAuth, user-to-server, server, refresh).
    prefixed("github_pat_", is_word, 20),
    prefixed("ghp_", is_alnum, 20),
    prefixed("gho_", is_alnum, 20),
    prefixed("ghu_", is_alnum, 20),
    prefixed("ghs_", is_alnum, 20),
    prefixed("ghr_", is_alnum, 20),
    // GitLab personal access tokens: 20 characters.
    prefixed("glpat-", is_base64url, 20),
    // Hugging Face: 34 letters.
    prefixed("hf_", is_alnum, 34),
    // Slack: bot, user, app, refresh and session tokens, numbers and text joined by `-`.
    prefixed("xoxa-", is_alnum_or_dash, 20),
    prefixed("xoxb-", is_alnum_or_dash, 20),
    prefixed("xoxp-", is_alnum_or_dash, 20),
    prefixed("xoxr-", is_alnum_or_dash, 20),
    prefixed("xoxs-", is_alnum_or_dash, 20),
    // Stripe live secret and restricted keys.
    prefixed("sk_live_", is_alnum, 16),
    prefixed("rk_live_", is_alnum, 16),
    // Google: API keys (35 characters) and OAuth client secrets.
    prefixed("AIza", is_base64url, 35),
    prefixed("GOCSPX-", is_base64url, 20),
    // npm access tokens: 36 characters.
    prefixed("npm_", is_alnum, 36),
];

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `[A-Za-z0-9_]`.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `[A-Za-z0-9-]`.
fn is_alnum_or_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// `[A-Za-z0-9_-]`: the URL-safe base64 alphabet, of which most tokens are made.
fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The length of the JWT `text` starts with: `eyJ…` `.eyJ…` `.` and a signature (which an
/// unsigned token leaves empty).
fn jwt_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let segment = |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|&&b| is_base64url(b))
            .count()
    };
    let header_end = segment(0);
    let payload = header_end + 1;
    if header_end < 8 || bytes.get(header_end) != Some(&b'.') || !text[payload..].starts_with("eyJ")
    {
        return None;
    }
    let payload_end = segment(payload);
    if payload_end - payload < 8 || bytes.get(payload_end) != Some(&b'.') {
        return None;
    }
    Some(segment(payload_end + 1))
}

/// Pass two: runs of base64 characters (`[A-Za-z0-9+/_-]`, then `=` padding) of 32 or more
/// that look random, shown as [`Fingerprint::of`] shows any token: first and last four.
fn mask_random_runs(text: &str) -> String {
    let bytes = text.as_bytes();
    let in_run = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-');
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if !in_run(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && in_run(bytes[at]) {
            at += 1;
        }
        let body_end = at;
        while at < bytes.len() && bytes[at] == b'=' {
            at += 1;
        }
        let run = &text[start..body_end];
        if in_file_path(&text[..start], run) {
            // A hint must name the file or directory it asks to fix, and local paths are
            // full of digests: the AWS CLI names its token caches by a session's SHA-1
            // (`…/cache/0ad3…031c.json`), CI workspaces, container layers and the Nix store
            // name directories by hashes. Those names are kept; any other random-looking
            // name is masked as in any path.
            if let Some(shown) = segments_masked(run, is_digest_name) {
                out.push_str(&text[copied..start]);
                out.push_str(&shown);
                copied = body_end;
            }
        } else if in_path(&text[..start], run) {
            // `/` separates names here, not base64 digits: each name is judged alone, so a
            // long directory name or a tenant id beside a digit-bearing name stays readable.
            if let Some(shown) = segments_masked(run, |_| false) {
                out.push_str(&text[copied..start]);
                out.push_str(&shown);
                copied = body_end;
            }
        } else if looks_random(run) {
            out.push_str(&text[copied..start]);
            out.push_str(Fingerprint::of(run).as_str());
            copied = at;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether a run of base64 characters is part of a path or URL: it starts with `/`, holds a
/// `//`, or the word it continues (`before` back to a space, quote, bracket, `=`, `,` or `;`)
/// holds a `/` and no `?`, `#` or `&` (so `http://host:8080/…` and `/tmp/.tmpX/…` are paths,
/// while a query value, `cb?secret=…`, is not).
fn in_path(before: &str, run: &str) -> bool {
    if run.starts_with('/') || run.contains("//") {
        return true;
    }
    let word = &before[word_start(before)..];
    word.contains('/') && !word.contains(['?', '#', '&'])
}

/// Whether `run` is part of a local file's path: its word (as [`in_path`] finds it) starts
/// with `/` or `~/` and is no URL.
fn in_file_path(before: &str, run: &str) -> bool {
    let word = &before[word_start(before)..];
    let whole = if word.is_empty() { run } else { word };
    (whole.starts_with('/') || whole.starts_with("~/"))
        && !word.contains("://")
        && !run.contains("//")
}

/// Whether a path name is a digest rather than a secret: 32, 40 or 64 lower-case
/// hexadecimal digits (MD5, SHA-1, SHA-256 as tools print them), alone or before a `-name`
/// (a Nix store path's 32 lower-case letters and digits). Secrets are mixed-case base64 or
/// carry a prefix, and nobody names a directory after one.
fn is_digest_name(name: &str) -> bool {
    let hex = |s: &str| {
        matches!(s.len(), 32 | 40 | 64)
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let nix = |s: &str| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    };
    match name.split_once('-') {
        // The name after the hash is judged as any name (`<hash>-<a secret>` is masked).
        Some((hash, rest)) => {
            !rest.is_empty() && (hex(hash) || nix(hash)) && !rest.split('-').any(looks_random)
        }
        None => hex(name),
    }
}

/// Where the word that `before` ends in begins: after the last space, quote, bracket, `=`,
/// `,` or `;`.
fn word_start(before: &str) -> usize {
    before
        .char_indices()
        .rev()
        .find(|&(_, c)| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\'' | '`' | '(' | '<' | '[' | '{' | '=' | ',' | ';'
                )
        })
        .map_or(0, |(at, c)| at + c.len_utf8())
}

/// `run` with each `/`-separated segment that alone looks random, and is not one `keep`
/// accepts, masked; `None` when none is.
fn segments_masked(run: &str, keep: fn(&str) -> bool) -> Option<String> {
    let masked = |segment: &str| looks_random(segment) && !keep(segment);
    if !run.split('/').any(masked) {
        return None;
    }
    let shown: Vec<String> = run
        .split('/')
        .map(|segment| {
            if masked(segment) {
                Fingerprint::of(segment).to_string()
            } else {
                segment.to_string()
            }
        })
        .collect();
    Some(shown.join("/"))
}

/// 32 characters or more, letters and digits mixed, and at least one change between
/// upper case, lower case and digit every five characters. Random base64 or hex changes
/// about every other character; words, paths and `kebab-case-123` do not. A UUID is random
/// too, but it names a request or a resource, which an error should keep.
fn looks_random(run: &str) -> bool {
    #[derive(PartialEq)]
    enum Class {
        Upper,
        Lower,
        Digit,
        Other,
    }
    let class = |b: &u8| match b {
        b'A'..=b'Z' => Class::Upper,
        b'a'..=b'z' => Class::Lower,
        b'0'..=b'9' => Class::Digit,
        _ => Class::Other,
    };
    let bytes = run.as_bytes();
    if bytes.len() < 32
        || is_uuid(bytes)
        || !bytes.iter().any(u8::is_ascii_digit)
        || !bytes.iter().any(u8::is_ascii_alphabetic)
    {
        return false;
    }
    let changes = bytes
        .windows(2)
        .filter(|pair| {
            let (a, b) = (class(&pair[0]), class(&pair[1]));
            a != Class::Other && b != Class::Other && a != b
        })
        .count();
    changes * 5 >= bytes.len()
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

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_safe_url_prints_without_what_it_carries() {
        let url = SafeUrl::from(
            Url::parse("https://user:pw@auth.example.com/token?code=abc#frag").unwrap(),
        );
        for shown in [format!("{url}"), format!("{url:?}"), url.to_string()] {
            assert!(
                !shown.contains("pw") && !shown.contains("abc") && !shown.contains("frag"),
                "{shown}"
            );
            assert!(shown.contains("https://auth.example.com/token"), "{shown}");
        }
        assert!(
            url.as_url().as_str().contains("code=abc"),
            "the request keeps its query"
        );
    }

    #[test]
    fn safe_url_drops_userinfo_and_query() {
        let url = Url::parse("https://user:pw@api.example.com:8443/v1/models?key=abc#x").unwrap();
        assert_eq!(safe_url(&url), "https://api.example.com:8443/v1/models");
    }

    #[test]
    fn safe_reference_drops_userinfo_query_and_fragment_of_any_reference() {
        for (reference, shown) in [
            (
                "https://u:pw@x.example:8443/cb?token=abc#k=1",
                "https://x.example:8443/cb",
            ),
            (" /cb?token=abc#k=1 ", "/cb"),
            ("cb/next?key=abc", "cb/next"),
            ("//u:pw@x.example/cb?token=abc", "//x.example/cb"),
            ("//u:pw@x.example", "//x.example"),
            ("?token=abc", ""),
            ("mailto:dev@example.com?body=abc", "mailto:dev@example.com"),
        ] {
            assert_eq!(safe_reference(reference), shown, "{reference}");
        }
    }

    #[test]
    fn anthropic_keys_keep_only_their_fingerprint() {
        let text = "invalid value 'sk-ant-api03-abcdefghijklmnopWXYZ' for '[COMMAND]'";
        assert_eq!(
            scrub_secrets(text),
            "invalid value 'sk-ant-api03-…WXYZ' for '[COMMAND]'"
        );
        assert_eq!(
            scrub_secrets("unknown variant `sk-ant-api03-short`"),
            "unknown variant `sk-ant-api03-…hort`"
        );
    }

    #[test]
    fn github_tokens_keep_their_prefix_and_last_four() {
        let classic = format!("ghp_{}", "TESTFAKEGITHUBTOKEN0123456789abcdEFG");
        assert_eq!(scrub_secrets(&format!("'{classic}'")), "'ghp_…dEFG'");
        for prefix in ["gho_", "ghu_", "ghs_", "ghr_"] {
            let token = format!("{prefix}abcdefghijklmnopqrstuvwxyz0123456789");
            assert_eq!(scrub_secrets(&token), format!("{prefix}…6789"));
        }
        let fine_grained = format!("github_pat_11ABCDEFG0{}_{}", "x".repeat(21), "y".repeat(59));
        assert_eq!(scrub_secrets(&fine_grained), "github_pat_…yyyy");
    }

    #[test]
    fn aws_keys_are_masked() {
        assert_eq!(
            scrub_secrets("key id AKIAIOSFODNN7EXAMPLE, session ASIAIOSFODNN7EXAMPLE."),
            "key id AKIA…MPLE, session ASIA…MPLE."
        );
        assert_eq!(
            scrub_secrets("secret \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\""),
            "secret \"wJal…EKEY\""
        );
    }

    #[test]
    fn other_services_credentials_keep_their_prefix_and_last_four() {
        for (secret, shown) in [
            ("glpat-TESTFAKEgitlab012345", "glpat-…2345"),
            ("hf_TESTFAKEhuggingfaceTOKENabcdefghij", "hf_…ghij"),
            (
                "xoxb-0000000000-1111111111-TESTFAKEslackTOKEN",
                "xoxb-…OKEN",
            ),
            (
                "xoxp-0000000000-1111111111-2222222222-TESTFAKE99",
                "xoxp-…KE99",
            ),
            ("sk_live_TESTFAKEstripeKEY00000000", "sk_live_…0000"),
            ("rk_live_TESTFAKEstripeKEY00000000", "rk_live_…0000"),
            ("AIzaTESTFAKEgoogleAPIkey0123456789abcde", "AIza…bcde"),
            ("GOCSPX-TESTFAKEgoogleSECRET01234567", "GOCSPX-…4567"),
            ("npm_TESTFAKEnpmTOKEN0123456789abcdefghij", "npm_…ghij"),
        ] {
            assert_eq!(
                scrub_secrets(&format!("value '{secret}'.")),
                format!("value '{shown}'.")
            );
            assert_eq!(scrub_secrets(shown), shown, "already masked");
        }
    }

    #[test]
    fn words_that_only_start_like_a_credential_are_left_alone() {
        for text in [
            "hf_hub_download and hf_transfer are Hugging Face modules",
            "glpat- is GitLab's prefix; sk_live_ and rk_live_ are Stripe's",
            "npm_config_registry, xoxb-bot, AIzaSy… and GOCSPX-… are prefixes",
            "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz is too short to be one",
        ] {
            assert_eq!(scrub_secrets(text), text);
        }
    }

    #[test]
    fn google_tokens_and_jwts_are_masked() {
        assert_eq!(
            scrub_secrets("token ya29.a0AfH6SMBx-TESTFAKE_token.value0123"),
            "token ya29.…0123"
        );
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0LWZha2UifQ.VGVzdEZha2VTaWduYXR1cmUwMTIz";
        assert_eq!(
            scrub_secrets(&format!("string \"{jwt}\"")),
            "string \"eyJ…MTIz\""
        );
        let unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        assert_eq!(scrub_secrets(unsigned), "eyJ…In0.");
    }

    #[test]
    fn long_random_runs_keep_only_their_ends() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(scrub_secrets(&format!("digest {hex}")), "digest 9f86…0a08");
        let base64 = "dGhpcyBpcyBhIHRlc3QgZmFrZSBzZWNyZXQgMTIzNDU2Nzg5MA==";
        assert_eq!(scrub_secrets(&format!("k={base64};")), "k=dGhp…g5MA;");
    }

    #[test]
    fn ordinary_output_is_left_alone() {
        for text in [
            "/tmp/.tmpHkzvHI/.claude/config.json:1:72: `authentication.method`",
            "/Users/Alice/Projects2024/claude-auth/target/debug/claude",
            "https://console.anthropic.com/settings/keys and http://127.0.0.1:34567/v1/token",
            "key sk-ant-api03-…a1A1 from ANTHROPIC_API_KEY; keys look like `sk-ant-api03-…`",
            "it does not start with `sk-ant-`; its kind after `sk-ant-` is malformed",
            "session 3f9a0c7e12b4d5e6 expires at 2027-01-15T08:00:00Z",
            "service claude-auth-test-123456-1718000000123456789 on the session bus",
            "request f47ac10b-58cc-4372-a567-0e02b2c3d479 (req_011CSHoEeqs5C35K2UUqR7Fy)",
            "AKIA is how access key ids start; ghp_ and gho_ are GitHub's prefixes",
            "authentication.storage.encryptionKey must be `user-derived-key`",
        ] {
            assert_eq!(scrub_secrets(text), text);
        }
    }

    #[test]
    fn paths_and_urls_are_judged_segment_by_segment() {
        for text in [
            "run `chmod 700 /var/folders/7x/k2ms0ph13fdgqk7t5w3jlc7r0000gn/T/claude`",
            "CLAUDE_CONFIG_DIR=/var/folders/7x/k2ms0ph13fdgqk7t5w3jlc7r0000gn/T/claude",
            "/tmp/.tmpAbC123/var/folders/7x/k2ms0ph13fdgqk7t5w3jlc7r0000gn/T/claude",
            "issuer `http://127.0.0.1:18080/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0`",
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
            "file:///Users/dev/k2ms0ph13fdgqk7t5w3jlc7r0000gn/a1B2c3D4e5F6g7H8",
            "see ./build/k2ms0ph13fdgqk7t5w3jlc7r0000gn/Q7rT9/Xy3Zk8Wq2Lm5Np0Rs4Vb",
        ] {
            assert_eq!(scrub_secrets(text), text);
        }
    }

    #[test]
    fn a_digest_file_name_in_a_local_path_is_kept_for_the_hint() {
        let path = "/home/me/.aws/sso/cache/0ad3d7a1f1c05c1b49e3f5b4b0e0c2f6a1b9031c.json";
        let hint = format!("run `chmod 600 {path}`");
        assert_eq!(scrub_secrets(&hint), hint);
        // Not in a URL, and not without the extension.
        let url = "https://host/cache/0ad3d7a1f1c05c1b49e3f5b4b0e0c2f6a1b9031c.json";
        assert_ne!(scrub_secrets(url), url);
        // Directories named by digests too (CI workspaces, container layers, the Nix
        // store), so a `chmod 700` of a state directory under one can be pasted.
        for path in [
            "/home/me/0ad3d7a1f1c05c1b49e3f5b4b0e0c2f6a1b9031c",
            "run `chmod 700 /tmp/ci/721f5e3c9a0b4d6e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5ea01f/claude`",
            "/nix/store/0c9y7k2ax8g4d1m5n6p3q2r1s0t9v8w7-claude-auth-1.0/bin/claude",
        ] {
            assert_eq!(scrub_secrets(path), path);
        }
        // A random name after a hash is still judged.
        let after =
            "/tmp/s/0c9y7k2ax8g4d1m5n6p3q2r1s0t9v8w7-wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYzz";
        assert_ne!(scrub_secrets(after), after);
        // Mixed case is no digest: a secret used as a directory name is still masked.
        let mixed = "/home/me/0aD3d7A1f1C05c1B49e3F5b4B0e0C2f6A1b9031c/x";
        assert_ne!(scrub_secrets(mixed), mixed);
        // Only digest names are kept: a random directory before one is still masked.
        let deeper = "/tmp/Zx9Qm2Lr7Tk4Wv8Np3Hs6Jd1Fg5Bc0Ya7Ue2Ri9Oq4/0ad3d7a1f1c05c1b49e3f5b4b0e0c2f6a1b9031c.json";
        assert_eq!(
            scrub_secrets(deeper),
            "/tmp/Zx9Q…9Oq4/0ad3d7a1f1c05c1b49e3f5b4b0e0c2f6a1b9031c.json"
        );
    }

    #[test]
    fn credentials_in_paths_urls_and_queries_are_still_masked() {
        let random = "dGhpcyBpcyBhIHRlc3QgZmFrZSBzZWNyZXQgMTIzNDU2Nzg5MA";
        assert_eq!(
            scrub_secrets(&format!("https://x.example/v1/{random}/items")),
            "https://x.example/v1/dGhp…g5MA/items"
        );
        assert_eq!(
            scrub_secrets(&format!("/srv/keys/{random}==")),
            "/srv/keys/dGhp…g5MA=="
        );
        let aws = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for (text, shown) in [
            (format!("secret {aws}"), "secret wJal…EKEY".to_string()),
            (format!("`{aws}`"), "`wJal…EKEY`".to_string()),
            (
                format!("aws_secret_access_key={aws}"),
                "aws_secret_access_key=wJal…EKEY".to_string(),
            ),
            (
                format!("https://x.example/cb?secret={aws}"),
                "https://x.example/cb?secret=wJal…EKEY".to_string(),
            ),
            (
                format!("https://x.example/cb?{aws}"),
                "https://x.example/cb?wJal…EKEY".to_string(),
            ),
        ] {
            assert_eq!(scrub_secrets(&text), shown);
        }
    }

    #[test]
    fn scrubbing_twice_changes_nothing() {
        let once = scrub_secrets(
            "sk-ant-api03-abcdefghijklmnopWXYZ ghp_abcdefghijklmnopqrstuvwxyz0123456789 \
             wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY sk-ant-admin01-abcdefghijklmnopWXYZ",
        );
        assert_eq!(scrub_secrets(&once), once);
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback(&Url::parse("http://127.0.0.1:1/").unwrap()));
        assert!(is_loopback(&Url::parse("http://[::1]:1/").unwrap()));
        assert!(!is_loopback(&Url::parse("http://10.0.0.1/").unwrap()));
    }
}
