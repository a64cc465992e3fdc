//! IAM Identity Center tokens refreshed through SSO-OIDC, through the binary: an expired
//! token of an sso-session profile is refreshed (then role credentials are fetched) and the
//! cache file rewritten in place; a rotated refresh token is kept; a refused refresh, an
//! expired client registration and the legacy profile form end in `aws sso login`; offline
//! status says what will happen without asking anyone; two processes refresh once; no
//! secret in any output.

mod common;

use common::aws_chain_server::{self as chain};
use common::bedrock_server::{self, Accept};
use common::servers::Server;
use common::sso_oidc_server::{
    self as oidc, Mode, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, ROTATED_REFRESH_TOKEN,
};
use common::{set_mode, text, TestEnv};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// 2027-01-15T08:00:00Z: the clock of every run that does not sign a Bedrock request.
const T0: u64 = 1_800_000_000;
/// The token the cache holds before a refresh (the portal accepts only the refreshed one).
const OLD_TOKEN: &str = "aoaAAAAAGTESTSSOOLDACCESSTOKEN00000000000000o5O5";
const START_URL: &str = "https://corp.awsapps.com/start";
const SECRETS: [&str; 5] = [
    OLD_TOKEN,
    chain::SSO_TOKEN,
    REFRESH_TOKEN,
    ROTATED_REFRESH_TOKEN,
    CLIENT_SECRET,
];

/// A user whose profile `dev` uses IAM Identity Center, with the SSO portal and SSO-OIDC at
/// loopback stand-ins.
struct Sso {
    env: TestEnv,
    oidc: Server,
    portal: Server,
}

impl Sso {
    fn new(mode: Mode) -> Sso {
        Sso::with_delay(mode, Duration::ZERO)
    }

    fn with_delay(mode: Mode, delay: Duration) -> Sso {
        let oidc = oidc::start(mode, delay);
        let portal = chain::start(None);
        let env = TestEnv::new()
            .with("CLAUDE_CODE_USE_BEDROCK", "1")
            .with("AWS_PROFILE", "dev")
            .with("AWS_ENDPOINT_URL_SSO", &portal.url())
            .with("AWS_ENDPOINT_URL_SSO_OIDC", &oidc.url())
            .with("CLAUDE_TEST_NOW", &T0.to_string());
        let sso = Sso { env, oidc, portal };
        sso.aws_config(
            "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n\
             sso_role_name = Bedrock\nregion = us-west-2\n\n[sso-session corp]\n\
             sso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
        );
        sso
    }

    fn aws_config(&self, text: &str) {
        let dir = self.env.home.path().join(".aws");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config"), text).unwrap();
        set_mode(dir.join("config"), 0o600);
    }

    /// The AWS CLI's cache file for `key` (the session name, or the start URL of a legacy
    /// profile): `fields` over a complete, refreshable entry; 0600.
    fn cache_for(&self, key: &str, fields: Value) -> PathBuf {
        let dir = self.env.home.path().join(".aws/sso/cache");
        std::fs::create_dir_all(&dir).unwrap();
        use sha1::Digest;
        let name: String = sha1::Sha1::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = dir.join(format!("{name}.json"));
        let mut entry = json!({
            "startUrl": START_URL,
            "region": "us-east-1",
            "accessToken": OLD_TOKEN,
            "expiresAt": "2027-01-15T06:00:00Z",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "registrationExpiresAt": "2027-04-15T00:00:00Z",
            "refreshToken": REFRESH_TOKEN,
        });
        for (name, value) in fields.as_object().unwrap() {
            if value.is_null() {
                entry.as_object_mut().unwrap().remove(name);
            } else {
                entry[name] = value.clone();
            }
        }
        std::fs::write(&path, entry.to_string()).unwrap();
        set_mode(&path, 0o600);
        path
    }

    fn cache(&self, fields: Value) -> PathBuf {
        self.cache_for("corp", fields)
    }

    /// `--print-token --format aws-credential-process`: the chain's keys, fetched online.
    fn keys(&self) -> std::process::Output {
        self.env
            .run(&["--print-token", "--format", "aws-credential-process", "-v"])
    }
}

fn read_json(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// No SSO secret in stdout or stderr, and none in the state directory.
fn clean(sso: &Sso, out: &std::process::Output) {
    let all = text(out);
    for secret in SECRETS {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
        assert!(
            !all.contains(&secret[8..secret.len() - 6]),
            "part of {secret} leaked:\n{all}"
        );
        common::assert_no_secret_in_files(&sso.env.state_dir(), secret);
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
fn mode(path: &PathBuf) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().mode() & 0o777
}

#[test]
fn expired_token_is_refreshed_then_role_credentials_fetched_and_the_cache_rewritten() {
    let sso = Sso::new(Mode::Issue);
    let cache = sso.cache(json!({}));
    let out = sso.keys();
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["AccessKeyId"], chain::TEMP_ID);
    // SSO-OIDC was asked once, with the grant the stand-in checks; the portal then got the
    // new token (it refuses any other).
    let requests = sso.oidc.requests();
    assert_eq!(requests.len(), 1);
    let body: Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(body["grantType"], "refresh_token");
    assert_eq!(body["clientId"], CLIENT_ID);
    assert_eq!(body["clientSecret"], CLIENT_SECRET);
    assert_eq!(body["refreshToken"], REFRESH_TOKEN);
    assert_eq!(sso.portal.requests().len(), 1);
    let rewritten = read_json(&cache);
    assert_eq!(rewritten["accessToken"], chain::SSO_TOKEN);
    assert_eq!(
        rewritten["expiresAt"], "2027-01-15T16:00:00Z",
        "T0 + expiresIn"
    );
    for (field, kept) in [
        ("startUrl", START_URL),
        ("region", "us-east-1"),
        ("clientId", CLIENT_ID),
        ("clientSecret", CLIENT_SECRET),
        ("registrationExpiresAt", "2027-04-15T00:00:00Z"),
        ("refreshToken", REFRESH_TOKEN),
    ] {
        assert_eq!(rewritten[field], kept, "{field} kept");
    }
    #[cfg(unix)]
    assert_eq!(mode(&cache), 0o600);
    let said = stderr(&out);
    assert!(
        said.contains("refreshing the IAM Identity Center token of profile dev"),
        "{said}"
    );
    assert!(said.contains("aws-sso access token refreshed"), "{said}");
    clean(&sso, &out);
    // The next use finds a fresh token: no second refresh.
    let again = sso.keys();
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(sso.oidc.requests().len(), 1);
    assert_eq!(sso.portal.requests().len(), 2);
}

#[test]
fn a_rotated_refresh_token_is_saved_and_sent_next_time() {
    let sso = Sso::new(Mode::Rotate);
    let cache = sso.cache(json!({}));
    let out = sso.keys();
    assert!(out.status.success(), "{}", text(&out));
    let rewritten = read_json(&cache);
    assert_eq!(rewritten["refreshToken"], ROTATED_REFRESH_TOKEN);
    assert_eq!(rewritten["clientSecret"], CLIENT_SECRET);
    clean(&sso, &out);
    // Let the new token expire: the next refresh presents the rotated refresh token.
    let mut aged = rewritten;
    aged["expiresAt"] = "2027-01-15T07:00:00Z".into();
    std::fs::write(&cache, aged.to_string()).unwrap();
    let out = sso.keys();
    assert!(out.status.success(), "{}", text(&out));
    let requests = sso.oidc.requests();
    assert_eq!(requests.len(), 2);
    let body: Value = serde_json::from_str(&requests[1].body).unwrap();
    assert_eq!(body["refreshToken"], ROTATED_REFRESH_TOKEN);
    clean(&sso, &out);
}

#[test]
fn a_refused_refresh_fails_with_the_sso_login_hint_and_leaves_the_cache_alone() {
    let sso = Sso::new(Mode::Reject);
    let cache = sso.cache(json!({}));
    let before = std::fs::read(&cache).unwrap();
    let out = sso.keys();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let said = stderr(&out);
    assert!(said.contains("expired 2 h ago"), "{said}");
    assert!(said.contains("refreshing it failed"), "{said}");
    assert!(said.contains("invalid_grant"), "{said}");
    assert!(said.contains("aws sso login --profile dev"), "{said}");
    assert_eq!(sso.oidc.requests().len(), 1);
    assert!(sso.portal.requests().is_empty());
    assert_eq!(std::fs::read(&cache).unwrap(), before);
    // The stand-in's error description echoes the request (client secret, refresh token):
    // none of it is shown.
    clean(&sso, &out);
    // The Bedrock check fails the same way, with the cause's own code.
    let json = sso.env.run(&["--test-auth", "--json"]);
    assert_eq!(json.status.code(), Some(6), "{}", text(&json));
    assert!(
        text(&json).contains("aws sso login --profile dev"),
        "{}",
        text(&json)
    );
    assert_eq!(sso.oidc.requests().len(), 2);
    assert!(sso.portal.requests().is_empty());
    clean(&sso, &json);
}

/// RFC 3339 for `offset` seconds from the real now (negative: in the past).
fn real_time(offset: i64) -> String {
    let now = std::time::SystemTime::now();
    let at = if offset < 0 {
        now - Duration::from_secs(offset.unsigned_abs())
    } else {
        now + Duration::from_secs(offset.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(at).to_string()
}

#[test]
fn the_bedrock_check_refreshes_then_signs_with_the_role_credentials() {
    let mut sso = Sso::new(Mode::Issue);
    // SigV4 is checked against the real time: no fixed clock here.
    sso.env.unset("CLAUDE_TEST_NOW");
    let bedrock = bedrock_server::start(Accept::Keys {
        access_key_id: chain::TEMP_ID.into(),
        secret_access_key: chain::TEMP_SECRET.into(),
        session_token: Some(chain::TEMP_TOKEN.into()),
        region: "us-west-2".into(),
    });
    sso.env.set("AWS_ENDPOINT_URL_BEDROCK", &bedrock.url());
    let cache = sso.cache(json!({
        "expiresAt": real_time(-7200),
        "registrationExpiresAt": real_time(30 * 86_400),
    }));
    let out = sso.env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("✓ server"),
        "{}",
        text(&out)
    );
    assert_eq!(sso.oidc.requests().len(), 1);
    assert_eq!(sso.portal.requests().len(), 1);
    assert_eq!(bedrock.requests().len(), 1);
    assert_eq!(read_json(&cache)["accessToken"], chain::SSO_TOKEN);
    clean(&sso, &out);
}

#[test]
fn an_expired_client_registration_sends_nothing_and_says_to_log_in() {
    let sso = Sso::new(Mode::Issue);
    sso.cache(json!({"registrationExpiresAt": "2027-01-01T00:00:00Z"}));
    let out = sso.keys();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let said = stderr(&out);
    assert!(
        said.contains("client registration ended at 2027-01-01T00:00:00Z"),
        "{said}"
    );
    assert!(said.contains("aws sso login --profile dev"), "{said}");
    assert!(sso.oidc.requests().is_empty());
    assert!(sso.portal.requests().is_empty());
    clean(&sso, &out);
}

#[test]
fn a_legacy_profile_is_never_refreshed() {
    let sso = Sso::new(Mode::Issue);
    sso.aws_config(&format!(
        "[profile dev]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n\
         sso_account_id = 111122223333\nsso_role_name = Bedrock\nregion = us-west-2\n"
    ));
    // Even with refresh fields in its cache, the legacy form is left to `aws sso login`.
    sso.cache_for(START_URL, json!({}));
    let out = sso.keys();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let said = stderr(&out);
    assert!(said.contains("legacy"), "{said}");
    assert!(said.contains("aws sso login --profile dev"), "{said}");
    let status = sso.env.run(&["--auth-status"]);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    assert!(
        text(&status).contains("aws sso login --profile dev"),
        "{}",
        text(&status)
    );
    assert!(sso.oidc.requests().is_empty());
    assert!(sso.portal.requests().is_empty());
    clean(&sso, &out);
    clean(&sso, &status);
}

#[test]
fn offline_status_says_the_token_will_be_refreshed_and_asks_no_one() {
    let sso = Sso::new(Mode::Issue);
    sso.cache(json!({}));
    let out = sso.env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(
            "ssoToken:     expired 2 h ago; it will be refreshed on next use (the client \
             registration is valid until 2027-04-15T00:00:00Z)"
        ),
        "{said}"
    );
    let json = sso.env.status_json();
    assert_eq!(json["source"], "profile:dev:sso");
    assert!(
        json["settings"]["ssoToken"]
            .as_str()
            .unwrap()
            .starts_with("expired 2 h ago; it will be refreshed"),
        "{json}"
    );
    clean(&sso, &out);
    // Without a refresh token it cannot be refreshed: status says to log in (exit 4).
    sso.cache(json!({"refreshToken": null}));
    let out = sso.env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("cannot be refreshed"), "{said}");
    assert!(said.contains("no refresh token"), "{said}");
    assert!(said.contains("aws sso login --profile dev"), "{said}");
    // A valid token: how long it lasts.
    sso.cache(json!({"expiresAt": "2027-01-15T10:00:00Z"}));
    let out = sso.env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("valid until 2027-01-15T10:00:00Z (2 h left)"),
        "{}",
        text(&out)
    );
    assert!(sso.oidc.requests().is_empty(), "status is offline");
    assert!(sso.portal.requests().is_empty(), "status is offline");
}

#[test]
fn a_still_valid_token_is_used_when_its_refresh_fails() {
    let sso = Sso::new(Mode::Reject);
    // Two minutes left: inside the 5-minute window, so a refresh is tried; the portal takes
    // the token it already has.
    let cache = sso.cache(json!({
        "accessToken": chain::SSO_TOKEN,
        "expiresAt": "2027-01-15T08:02:00Z",
    }));
    let before = std::fs::read(&cache).unwrap();
    let out = sso.keys();
    assert!(out.status.success(), "{}", text(&out));
    let said = stderr(&out);
    assert!(said.contains("could not be refreshed"), "{said}");
    assert!(said.contains("using it until then"), "{said}");
    assert_eq!(sso.oidc.requests().len(), 1);
    assert_eq!(sso.portal.requests().len(), 1);
    assert_eq!(std::fs::read(&cache).unwrap(), before);
    clean(&sso, &out);
}

#[test]
fn a_refresh_is_recorded_in_the_audit_log() {
    let mut sso = Sso::new(Mode::Issue);
    sso.env.set("CLAUDE_PASSPHRASE", common::PASSPHRASE);
    sso.env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "security": {"auditLogging": true}}"#,
    );
    sso.cache(json!({}));
    let env = &sso.env;
    let out = env.run(&["--print-token", "--format", "aws-credential-process"]);
    assert!(out.status.success(), "{}", text(&out));
    let log = std::fs::read_to_string(env.state_dir().join("audit.log")).unwrap();
    let refreshed: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "token_refreshed")
        .collect();
    assert_eq!(refreshed.len(), 1, "{log}");
    assert_eq!(refreshed[0]["provider"], "aws-sso", "{log}");
    for secret in SECRETS {
        assert!(!log.contains(secret), "{secret} in the audit log");
    }
    clean(&sso, &out);
}

#[test]
fn two_processes_at_once_refresh_once() {
    // The stand-in holds its answer for a second, so both processes are in flight together.
    let sso = Sso::with_delay(Mode::Rotate, Duration::from_secs(1));
    let cache = sso.cache(json!({}));
    let start = || {
        sso.env
            .std_command()
            .args(["--print-token", "--format", "aws-credential-process"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children = vec![start(), start()];
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        if std::time::Instant::now() > deadline {
            for child in &mut children {
                let _ = child.kill();
            }
            panic!("the two refreshes did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert!(out.status.success(), "{}", text(out));
        clean(&sso, out);
    }
    assert_eq!(sso.oidc.requests().len(), 1, "one refresh for both");
    assert_eq!(sso.portal.requests().len(), 2);
    assert_eq!(read_json(&cache)["refreshToken"], ROTATED_REFRESH_TOKEN);
}

#[test]
fn an_sso_oidc_endpoint_with_a_user_name_or_plain_http_elsewhere_is_refused() {
    let mut sso = Sso::new(Mode::Issue);
    let cache = sso.cache(json!({}));
    let before = std::fs::read(&cache).unwrap();
    let with_user = sso.oidc.url().replace("://", "://user:pw@");
    for endpoint in [with_user.as_str(), "http://oidc.example.com"] {
        sso.env.set("AWS_ENDPOINT_URL_SSO_OIDC", endpoint);
        let out = sso.keys();
        assert_eq!(out.status.code(), Some(3), "{endpoint}: {}", text(&out));
        let said = stderr(&out);
        assert!(said.contains("AWS_ENDPOINT_URL_SSO_OIDC"), "{said}");
        assert!(!said.contains("user:pw"), "{said}");
        clean(&sso, &out);
    }
    assert!(sso.oidc.requests().is_empty());
    assert_eq!(std::fs::read(&cache).unwrap(), before);
}

/// Whether this user's primary group is a user-private group (same id and name as the user).
#[cfg(unix)]
fn user_private_group() -> bool {
    let id = |flag: &str| {
        let out = std::process::Command::new("id").arg(flag).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    id("-u") == id("-g") && id("-un") == id("-gn")
}

#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_is_refused_but_umask_002_is_not() {
    let sso = Sso::new(Mode::Issue);
    let cache = sso.cache(json!({}));
    let dir = cache.parent().unwrap().to_path_buf();
    // Anyone may write: nothing is sent, the fix is named; offline status says so too
    // instead of promising a refresh.
    set_mode(&dir, 0o777);
    let status = sso.env.run(&["--auth-status"]);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    assert!(
        text(&status).contains(&format!("chmod go-w {}", dir.display())),
        "{}",
        text(&status)
    );
    assert!(
        !text(&status).contains("will be refreshed"),
        "{}",
        text(&status)
    );
    let out = sso.keys();
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(
        stderr(&out).contains(&format!("run `chmod go-w {}`", dir.display())),
        "{}",
        text(&out)
    );
    assert!(sso.oidc.requests().is_empty());
    clean(&sso, &out);
    // As the AWS CLI leaves it under umask 002 (Ubuntu's default): writable by the user's
    // own group only, which holds no one else.
    if !user_private_group() {
        eprintln!("skipped the umask 002 case: this user's primary group is shared");
        return;
    }
    set_mode(&dir, 0o775);
    let out = sso.keys();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sso.oidc.requests().len(), 1);
    clean(&sso, &out);
    // The same mode with a group others are in (root can hand the directory to one).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&dir, None, Some(1)).unwrap();
        let mut aged = read_json(&cache);
        aged["expiresAt"] = "2027-01-15T07:00:00Z".into();
        std::fs::write(&cache, aged.to_string()).unwrap();
        let out = sso.keys();
        assert_eq!(out.status.code(), Some(11), "{}", text(&out));
        assert_eq!(sso.oidc.requests().len(), 1, "nothing more was sent");
    }
}

#[cfg(unix)]
#[test]
fn a_cache_directory_of_another_user_gets_the_aws_fix_not_claudes() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to give the directory to another user");
        return;
    }
    let sso = Sso::new(Mode::Issue);
    let cache = sso.cache(json!({}));
    let dir = cache.parent().unwrap().to_path_buf();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let out = sso.keys();
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    let said = stderr(&out);
    assert!(said.contains("belongs to uid 65534"), "{said}");
    assert!(said.contains("aws sso login"), "{said}");
    // This is the AWS CLI's directory, not the state directory.
    assert!(!said.contains("CLAUDE_CONFIG_DIR"), "{said}");
    assert!(sso.oidc.requests().is_empty());
    clean(&sso, &out);
}
