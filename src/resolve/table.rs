//! Resolution precedence and refusals as a table (in the style of gh's `TestTokenRun`): each
//! row is a configuration, an environment, a flag and a store, and the credential that must
//! be in force, what it shadows, and what policy refuses. Memory store, fixed clock, no files.

use super::{credentials, Source};
use crate::config::claude_code::{Helper, Origin};
use crate::context::Context;
use crate::envvars::Env;
use crate::secret::{Fingerprint, Secret};
use crate::storage::memory::MemoryStore;
use crate::storage::{ItemMeta, StorageKind, API_KEY_ITEM};
use crate::time::UnixTime;

const FLAG: &str = "sk-ant-api03-FLAGFLAGFLAGFLAGFLAG-f1F1";
const ENV: &str = "sk-ant-api03-ENVENVENVENVENVENVENV-e2E2";
const STORED: &str = "sk-ant-api03-STOREDSTOREDSTOREDST-s3S3";
const AUTH_TOKEN: &str = "gateway-bearer-token-AUTHAUTHAUTH-a6A6";
const OAUTH_TOKEN: &str = "sk-ant-oat01-OAUTHOAUTHOAUTHOAUTHOA-o7O7";
const NOW: UnixTime = UnixTime::from_secs(1_790_000_000);

struct Case {
    name: &'static str,
    config: &'static str,
    environment: Option<&'static str>,
    vars: &'static [(&'static str, &'static str)],
    flag: bool,
    stored: bool,
    /// The source in force, `None` when nothing may be used.
    active: Option<Source>,
    /// The usable sources behind it, in order.
    shadowed: &'static [Source],
    /// A piece of policy's refusal, when every key is refused.
    refusal: Option<&'static str>,
}

fn context(case: &Case) -> Context {
    let store = MemoryStore::default();
    if case.stored {
        store.insert(
            API_KEY_ITEM,
            STORED,
            ItemMeta {
                fingerprint: Fingerprint::of(STORED).to_string(),
                created_at: NOW.minus_secs(86_400),
                rotated_at: None,
                previous_fingerprint: None,
                helper_digest: None,
            },
        );
    }
    let mut ctx = Context::for_test(
        case.config,
        case.environment,
        Env::of(case.vars.iter().copied()),
        NOW,
        store,
    );
    if case.flag {
        ctx.flag_key = Some(Secret::new(FLAG.to_string()));
    }
    ctx
}

fn cases() -> Vec<Case> {
    let stored = Source::Stored(StorageKind::Keychain);
    vec![
        Case {
            name: "nothing anywhere",
            config: "{}",
            environment: None,
            vars: &[],
            flag: false,
            stored: false,
            active: None,
            shadowed: &[],
            refusal: None,
        },
        Case {
            name: "a stored key alone is in force",
            config: "{}",
            environment: None,
            vars: &[],
            flag: false,
            stored: true,
            active: Some(stored.clone()),
            shadowed: &[],
            refusal: None,
        },
        Case {
            name: "the environment variable shadows the stored key",
            config: "{}",
            environment: None,
            vars: &[("ANTHROPIC_API_KEY", ENV)],
            flag: false,
            stored: true,
            active: Some(Source::Env(Origin::Own)),
            shadowed: &[Source::Stored(StorageKind::Keychain)],
            refusal: None,
        },
        Case {
            name: "the flag shadows the variable and the stored key",
            config: "{}",
            environment: None,
            vars: &[("ANTHROPIC_API_KEY", ENV)],
            flag: true,
            stored: true,
            active: Some(Source::Flag),
            shadowed: &[
                Source::Env(Origin::Own),
                Source::Stored(StorageKind::Keychain),
            ],
            refusal: None,
        },
        Case {
            name: "an empty variable is not a key",
            config: "{}",
            environment: None,
            vars: &[("ANTHROPIC_API_KEY", "")],
            flag: false,
            stored: true,
            active: Some(stored.clone()),
            shadowed: &[],
            refusal: None,
        },
        Case {
            name: "the selected environment's key comes after the variable",
            config: r#"{"environments": {"development": {"apiKey": "sk-ant-api03-DEVDEVDEVDEVDEVDEVDEV-d4D4"}}}"#,
            environment: Some("development"),
            vars: &[],
            flag: false,
            stored: true,
            active: Some(Source::Environment("development".into())),
            shadowed: &[Source::Stored(StorageKind::Keychain)],
            refusal: None,
        },
        Case {
            name: "an oauth-only environment refuses every key",
            config: r#"{"environments": {"production": {"authentication": "oauth"}}}"#,
            environment: Some("production"),
            vars: &[("ANTHROPIC_API_KEY", ENV)],
            flag: false,
            stored: true,
            active: None,
            shadowed: &[],
            refusal: Some("allows only `oauth`"),
        },
        Case {
            name: "method oauth without fallback refuses keys",
            config: r#"{"authentication": {"method": "oauth"}}"#,
            environment: None,
            vars: &[("ANTHROPIC_API_KEY", ENV)],
            flag: false,
            stored: false,
            active: None,
            shadowed: &[],
            refusal: Some("without `fallback"),
        },
        Case {
            name: "method oauth with an api-key fallback uses the key when there is no session",
            config: r#"{"authentication": {"method": "oauth", "fallback": "api-key"}}"#,
            environment: None,
            vars: &[("ANTHROPIC_API_KEY", ENV)],
            flag: false,
            stored: false,
            active: Some(Source::Env(Origin::Own)),
            shadowed: &[],
            refusal: None,
        },
        Case {
            name: "Claude Code's whole order: the flag shadows every other source, in order",
            config: r#"{"apiKey": "sk-ant-api03-CONFIGCONFIGCONFIGCONF-c5C5", "apiKeyHelper": "get-key --fresh"}"#,
            environment: None,
            vars: &[
                ("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN),
                ("ANTHROPIC_API_KEY", ENV),
                ("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN),
            ],
            flag: true,
            stored: true,
            active: Some(Source::Flag),
            shadowed: Vec::leak(vec![
                Source::AuthToken(Origin::Own),
                Source::Env(Origin::Own),
                Source::Config,
                Source::Helper(no_helper()),
                Source::OauthEnv(Origin::Own),
                Source::Stored(StorageKind::Keychain),
            ]),
            refusal: None,
        },
        Case {
            name: "ANTHROPIC_AUTH_TOKEN comes before ANTHROPIC_API_KEY",
            config: "{}",
            environment: None,
            vars: &[
                ("ANTHROPIC_API_KEY", ENV),
                ("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN),
            ],
            flag: false,
            stored: false,
            active: Some(Source::AuthToken(Origin::Own)),
            shadowed: &[Source::Env(Origin::Own)],
            refusal: None,
        },
        Case {
            name: "apiKeyHelper comes after the config's key, before CLAUDE_CODE_OAUTH_TOKEN",
            config: r#"{"apiKeyHelper": "get-key"}"#,
            environment: None,
            vars: &[("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN)],
            flag: false,
            stored: true,
            active: Some(Source::Helper(no_helper())),
            shadowed: Vec::leak(vec![
                Source::OauthEnv(Origin::Own),
                Source::Stored(StorageKind::Keychain),
            ]),
            refusal: None,
        },
        Case {
            name: "CLAUDE_CODE_OAUTH_TOKEN comes before the stored key",
            config: "{}",
            environment: None,
            vars: &[("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN)],
            flag: false,
            stored: true,
            active: Some(Source::OauthEnv(Origin::Own)),
            shadowed: &[Source::Stored(StorageKind::Keychain)],
            refusal: None,
        },
        Case {
            name: "method oauth puts CLAUDE_CODE_OAUTH_TOKEN first and refuses the bearer token",
            config: r#"{"authentication": {"method": "oauth"}}"#,
            environment: None,
            vars: &[
                ("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN),
                ("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN),
            ],
            flag: false,
            stored: false,
            active: Some(Source::OauthEnv(Origin::Own)),
            shadowed: &[],
            refusal: Some("without `fallback"),
        },
        Case {
            name: "an api-key-only environment refuses CLAUDE_CODE_OAUTH_TOKEN",
            config: r#"{"environments": {"ci": {"authentication": "api-key"}}}"#,
            environment: Some("ci"),
            vars: &[("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN)],
            flag: false,
            stored: true,
            active: Some(stored.clone()),
            shadowed: &[],
            refusal: None,
        },
        Case {
            name: "Bedrock selected by variable refuses Anthropic keys",
            config: "{}",
            environment: None,
            vars: &[("CLAUDE_CODE_USE_BEDROCK", "1"), ("ANTHROPIC_API_KEY", ENV)],
            flag: false,
            stored: false,
            active: None,
            shadowed: &[],
            refusal: Some("`bedrock` provider"),
        },
    ]
}

/// A helper with its command left out: rows compare kinds of source.
fn no_helper() -> Helper {
    Helper {
        command: String::new(),
        origin: Origin::Own,
    }
}

/// The source with the helper's command left out.
fn kind(source: &Source) -> Source {
    match source {
        Source::Helper(_) => Source::Helper(no_helper()),
        other => other.clone(),
    }
}

#[test]
fn resolution_follows_the_documented_order_and_policy() {
    for case in cases() {
        let ctx = context(&case);
        let resolution = credentials(&ctx);
        let active = resolution.active().map(|c| kind(&c.source));
        assert_eq!(active, case.active, "{}: in force", case.name);
        let shadowed: Vec<Source> = resolution.shadowed().map(|c| kind(&c.source)).collect();
        assert_eq!(shadowed, case.shadowed, "{}: shadowed", case.name);
        let refusal = resolution.refusal().map(|r| r.reason.clone());
        match (case.refusal, refusal) {
            (None, None) => {}
            (Some(want), Some(got)) => assert!(got.contains(want), "{}: {got}", case.name),
            (want, got) => panic!("{}: refusal {want:?}, got {got:?}", case.name),
        }
        assert!(
            resolution.problems.is_empty(),
            "{}: no store problem",
            case.name
        );
    }
}

#[test]
fn malformed_keys_are_present_but_flagged() {
    let case = Case {
        name: "malformed variable",
        config: "{}",
        environment: None,
        vars: &[("ANTHROPIC_API_KEY", "not-a-key")],
        flag: false,
        stored: false,
        active: None,
        shadowed: &[],
        refusal: None,
    };
    let resolution = credentials(&context(&case));
    let env = resolution.active().expect("the variable is present");
    assert_eq!(env.source, Source::Env(Origin::Own));
    assert!(env.problem().is_some(), "a malformed key says why");
}

#[test]
fn offline_resolution_never_runs_the_helper() {
    // A helper that would leave a mark if it ran: resolution only names it.
    let case = Case {
        name: "helper not run",
        config: r#"{"apiKeyHelper": "touch /nonexistent-dir/ran"}"#,
        environment: None,
        vars: &[],
        flag: false,
        stored: false,
        active: None,
        shadowed: &[],
        refusal: None,
    };
    let resolution = credentials(&context(&case));
    let helper = resolution.active().expect("the helper is present");
    assert_eq!(helper.fingerprint.as_str(), super::NOT_RUN);
    assert!(helper.secret().is_none());
    assert_eq!(helper.source.scheme(), super::Scheme::ApiKey);
}

#[test]
fn tokens_from_the_environment_are_sent_as_bearer_tokens() {
    assert_eq!(
        Source::AuthToken(Origin::Own).scheme(),
        super::Scheme::Bearer
    );
    assert_eq!(Source::OauthEnv(Origin::Own).scheme(), super::Scheme::OAuth);
    assert!(!Source::OauthEnv(Origin::Own).is_api_key());
    assert_eq!(
        Source::AuthToken(Origin::Own).to_string(),
        "env:ANTHROPIC_AUTH_TOKEN"
    );
    assert_eq!(
        Source::OauthEnv(Origin::Own).to_string(),
        "env:CLAUDE_CODE_OAUTH_TOKEN"
    );
}

#[test]
fn the_configs_helper_shadows_claude_codes_and_the_guard_refuses_both() {
    let settings = std::path::Path::new("/home/me/.claude/settings.json");
    let case = Case {
        name: "two helpers",
        config: r#"{"apiKeyHelper": "ours"}"#,
        environment: None,
        vars: &[],
        flag: false,
        stored: true,
        active: None,
        shadowed: &[],
        refusal: None,
    };
    let mut ctx = context(&case);
    ctx.claude_code =
        crate::config::claude_code::Settings::with_api_key_helper(settings, "theirs", false);
    let resolution = credentials(&ctx);
    let helpers: Vec<_> = resolution
        .candidates
        .iter()
        .filter_map(|c| c.helper())
        .collect();
    assert_eq!(helpers[0].0.origin, Origin::Own);
    assert_eq!(
        helpers[1].0.origin,
        Origin::Settings(settings.to_path_buf())
    );
    let shadowed: Vec<String> = resolution
        .shadowed()
        .map(|c| c.source.to_string())
        .collect();
    assert_eq!(shadowed, ["apiKeyHelper", "keychain"]);

    ctx.claude_code =
        crate::config::claude_code::Settings::with_api_key_helper(settings, "theirs", true);
    let resolution = credentials(&ctx);
    let active = resolution.active().unwrap();
    assert_eq!(active.source, Source::Stored(StorageKind::Keychain));
    let refused: Vec<_> = resolution
        .candidates
        .iter()
        .filter(|c| c.refused().is_some())
        .collect();
    assert_eq!(refused.len(), 2, "both helpers, whichever file named them");
}
