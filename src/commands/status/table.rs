//! `--auth-status` rendered from a table of situations: memory store, fixed clock, no files.
//! Each row names what the user has and the lines (and JSON fields) they must see.

use super::run;
use crate::context::Context;
use crate::envvars::Env;
use crate::secret::Fingerprint;
use crate::storage::memory::MemoryStore;
use crate::storage::{ItemMeta, API_KEY_ITEM};
use crate::time::UnixTime;

const ENV_KEY: &str = "sk-ant-api03-ENVENVENVENVENVENVENV-e2E2";
const STORED: &str = "sk-ant-api03-STOREDSTOREDSTOREDST-s3S3";
const NOW: UnixTime = UnixTime::from_secs(1_790_000_000);
const DAY: u64 = 86_400;

struct Row {
    name: &'static str,
    config: &'static str,
    environment: Option<&'static str>,
    vars: &'static [(&'static str, &'static str)],
    /// Age of the stored key in days; `None`: nothing stored.
    stored_age_days: Option<u64>,
    exit: i32,
    /// Pieces of the human text that must appear, in this order.
    lines: &'static [&'static str],
    /// `(JSON pointer, expected value as JSON text)`.
    json: &'static [(&'static str, &'static str)],
}

fn context(row: &Row, json: bool) -> Context {
    let store = MemoryStore::default();
    if let Some(days) = row.stored_age_days {
        store.insert(
            API_KEY_ITEM,
            STORED,
            ItemMeta {
                fingerprint: Fingerprint::of(STORED).to_string(),
                created_at: NOW.minus_secs(days * DAY),
                rotated_at: None,
                previous_fingerprint: None,
                helper_digest: None,
            },
        );
    }
    let mut ctx = Context::for_test(
        row.config,
        row.environment,
        Env::of(row.vars.iter().copied()),
        NOW,
        store,
    );
    ctx.prefs.json = json;
    ctx
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "nothing configured",
            config: "{}",
            environment: None,
            vars: &[],
            stored_age_days: None,
            exit: 4,
            lines: &[
                "✗ Not authenticated to anthropic",
                "Next:",
                "claude --set-api-key",
            ],
            json: &[
                ("/authenticated", "false"),
                ("/source", "null"),
                ("/error/code", r#""not_authenticated""#),
            ],
        },
        Row {
            name: "a key in the environment shadows the stored key",
            config: "{}",
            environment: None,
            vars: &[("ANTHROPIC_API_KEY", ENV_KEY)],
            stored_age_days: Some(1),
            exit: 0,
            lines: &[
                "✓ API key configured for anthropic",
                "sk-ant-api03-…e2E2 (from the ANTHROPIC_API_KEY environment variable)",
                "shadowed:     sk-ant-api03-…s3S3 from the keychain",
            ],
            json: &[
                ("/configured", "true"),
                ("/authenticated", "false"),
                ("/source", r#""env:ANTHROPIC_API_KEY""#),
                ("/shadowed/0", r#""keychain""#),
                ("/billing", r#""api""#),
            ],
        },
        Row {
            name: "a stored key past its rotation interval",
            config: r#"{"security": {"keyRotation": {"enabled": true, "interval": 2592000}}}"#,
            environment: None,
            vars: &[],
            stored_age_days: Some(45),
            exit: 0,
            lines: &["✓ API key configured for anthropic", "claude --rotate-key"],
            json: &[("/rotation/due", "true"), ("/rotation/ageDays", "45")],
        },
        Row {
            name: "an oauth-only environment refuses the key in force",
            config: r#"{"environments": {"production": {"authentication": "oauth"}}}"#,
            environment: Some("production"),
            vars: &[("ANTHROPIC_API_KEY", ENV_KEY)],
            stored_age_days: None,
            exit: 4,
            lines: &[
                "✗ Not authenticated to anthropic",
                "refused",
                "allows only `oauth`",
            ],
            json: &[
                ("/authenticated", "false"),
                ("/credentials/0/state", r#""refused""#),
                ("/error/code", r#""not_authenticated""#),
                ("/environment", r#""production""#),
            ],
        },
        Row {
            name: "a malformed key in force is named, not skipped",
            config: "{}",
            environment: None,
            vars: &[("ANTHROPIC_API_KEY", "not-a-key")],
            stored_age_days: Some(1),
            exit: 4,
            lines: &["✗ Not authenticated to anthropic", "ANTHROPIC_API_KEY"],
            json: &[
                ("/credentials/0/state", r#""invalid""#),
                ("/authenticated", "false"),
            ],
        },
    ]
}

#[test]
fn status_says_what_is_in_force_and_what_to_do() {
    for row in rows() {
        let human = run(&context(&row, false));
        assert_eq!(human.exit_code, row.exit, "{}: exit", row.name);
        let mut rest = human.human.as_str();
        for line in row.lines {
            let at = rest.find(line).unwrap_or_else(|| {
                panic!(
                    "{}: `{line}` missing or out of order in:\n{}",
                    row.name, human.human
                )
            });
            rest = &rest[at + line.len()..];
        }
        assert!(
            !human.human.contains(ENV_KEY) && !human.human.contains(STORED),
            "{}: a key leaked",
            row.name
        );

        let outcome = run(&context(&row, true));
        let mut doc = outcome.json.clone();
        if let (Some(failure), Some(fields)) = (&outcome.failure, doc.as_object_mut()) {
            fields.insert(
                "error".into(),
                crate::output::error_document(failure)["error"].clone(),
            );
        }
        for (pointer, want) in row.json {
            let want: serde_json::Value = serde_json::from_str(want).unwrap();
            assert_eq!(
                doc.pointer(pointer),
                Some(&want),
                "{}: {pointer} in {doc:#}",
                row.name
            );
        }
    }
}
