//! The merge rules, as a table: user config, managed blocks, and what the user ends up with.

use super::merge::{merge_layers, overlay, settled_paths};
use super::*;
use serde_json::json;

#[test]
fn managed_values_win_and_cannot_be_loosened() {
    // (what it shows, user config, managed blocks, JSON pointer, value in force)
    let cases = [
        (
            "a managed true cannot be turned off",
            json!({"security": {"mfa": {"enabled": false}}}),
            json!({"security": {"mfa": {"enabled": true}}}),
            "/security/mfa/enabled",
            json!(true),
        ),
        (
            "a managed false is a floor the user may raise",
            json!({"compliance": {"encryptionAtRest": true}}),
            json!({"compliance": {"encryptionAtRest": false}}),
            "/compliance/encryptionAtRest",
            json!(true),
        ),
        (
            "a managed list replaces the user's (no added ranges)",
            json!({"security": {"ipRestrictions": ["0.0.0.0/0"]}}),
            json!({"security": {"ipRestrictions": ["10.0.0.0/8"]}}),
            "/security/ipRestrictions",
            json!(["10.0.0.0/8"]),
        ),
        (
            "a managed number replaces the user's",
            json!({"security": {"keyRotation": {"interval": 999999999}}}),
            json!({"security": {"keyRotation": {"interval": 2592000}}}),
            "/security/keyRotation/interval",
            json!(2592000),
        ),
        (
            "what the managed file leaves out stays the user's",
            json!({"security": {"auditLogging": true}}),
            json!({"security": {"mfa": {"enabled": true}}}),
            "/security/auditLogging",
            json!(true),
        ),
        (
            "a managed method clears the user's fallback",
            json!({"authentication": {"method": "api-key", "fallback": "api-key", "timeout": 5}}),
            json!({"authentication": {"method": "oauth"}}),
            "/authentication/fallback",
            json!(null),
        ),
        (
            "the user keeps unmanaged authentication keys",
            json!({"authentication": {"timeout": 5}}),
            json!({"authentication": {"method": "oauth"}}),
            "/authentication/timeout",
            json!(5),
        ),
        (
            "a managed environment's pin wins inside the user's environment",
            json!({"environments": {"prod": {"authentication": "api-key", "model": "m"}}}),
            json!({"environments": {"prod": {"authentication": "oauth", "requireMFA": true}}}),
            "/environments/prod/authentication",
            json!("oauth"),
        ),
        (
            "a user block of the wrong shape is replaced",
            json!({"security": null}),
            json!({"security": {"mfa": {"enabled": true}}}),
            "/security/mfa/enabled",
            json!(true),
        ),
    ];
    for (what, mut user, managed, pointer, expected) in cases {
        overlay(&mut user, &managed);
        assert_eq!(user.pointer(pointer), Some(&expected), "{what}: {user}");
    }
}

#[test]
fn later_files_win_per_key() {
    let merged = merge_layers(vec![
        json!({"security": {"mfa": {"enabled": true}, "ipRestrictions": ["10.0.0.0/8"]}}),
        json!({"security": {"ipRestrictions": ["192.168.0.0/16"]}}),
        json!({"compliance": {"dataResidency": "eu"}}),
    ]);
    assert_eq!(
        merged,
        json!({
            "security": {"mfa": {"enabled": true}, "ipRestrictions": ["192.168.0.0/16"]},
            "compliance": {"dataResidency": "eu"},
        })
    );
}

#[test]
fn settled_paths_name_what_is_enforced() {
    let managed = json!({
        "security": {"mfa": {"enabled": true}, "auditLogging": false},
        "compliance": {"dataResidency": "us"},
        "authentication": {"method": "oauth"},
    });
    assert_eq!(
        settled_paths(&managed),
        [
            "authentication.fallback",
            "authentication.method",
            "compliance.dataResidency",
            "security.mfa.enabled",
        ]
    );
    let summary = Managed {
        files: vec![PathBuf::from("/etc/claude-code/managed-settings.json")],
        settings: settled_paths(&managed),
        ..Managed::default()
    };
    assert!(summary.covers("security.mfa"));
    assert!(summary.covers("compliance.dataResidency"));
    assert!(!summary.covers("security.auditLogging"));
}

#[test]
fn managed_files_keep_only_policy_and_refuse_interpolation() {
    let path = Path::new("/m/managed-settings.json");
    let mut warnings = Vec::new();
    let text = r#"{"permissions": {"allow": ["Bash"]}, "env": {"X": "1"},
        "authentication": {"method": "oauth", "timeout": 5},
        "environments": {"prod": {"apiKey": "k", "requireMFA": true}},
        "securty": {}}"#;
    let (value, _) = parse(path, text, &mut warnings).unwrap();
    assert_eq!(
        value,
        json!({"authentication": {"method": "oauth"}, "environments": {"prod": {"requireMFA": true}}})
    );
    let all = warnings.join("\n");
    assert!(
        all.contains("`authentication.timeout` is not a managed setting"),
        "{all}"
    );
    assert!(all.contains("environments.prod.apiKey"), "{all}");
    assert!(all.contains("did you mean `security`"), "{all}");
    assert!(
        !all.contains("permissions"),
        "Claude Code's keys are not ours: {all}"
    );

    let err = parse(
        path,
        r#"{"compliance": {"dataResidency": "${REGION}"}}"#,
        &mut warnings,
    )
    .map(|(value, _)| value)
    .unwrap_err();
    assert!(
        err.message().contains("compliance.dataResidency"),
        "{}",
        err.message()
    );
}

#[test]
fn managed_type_errors_name_the_file_line_and_path() {
    let path = Path::new("/m/managed-settings.d/10-mfa.json");
    let text = "{\n  \"security\": {\"mfa\": {\"enabled\": \"yes\"}}\n}";
    let err = parse(path, text, &mut Vec::new())
        .map(|(value, _)| value)
        .unwrap_err();
    assert!(
        err.message()
            .starts_with("/m/managed-settings.d/10-mfa.json:2:")
            && err.message().contains("`security.mfa.enabled`"),
        "{}",
        err.message()
    );
    let cidr = parse(
        path,
        r#"{"security": {"ipRestrictions": ["10.0.0/33"]}}"#,
        &mut Vec::new(),
    )
    .map(|(value, _)| value)
    .unwrap_err();
    assert!(cidr.message().contains("10-mfa.json"), "{}", cidr.message());
}
