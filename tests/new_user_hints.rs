//! What a new user meets after a mistake: every refusal says what to do, in a step they can
//! run as printed (no `chown` for someone who is not root, no step that the next check
//! refuses), and `--auth-status --check` shows the fix of whatever it could not check.
//!
//! Tests that need other users' files run as root and become uid 65534 for the command;
//! elsewhere they say they were skipped.

mod common;

use common::servers::Server;
use common::*;

/// The user the root-only tests become.
#[cfg(unix)]
const NOBODY: u32 = 65534;

#[cfg(unix)]
fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `env`'s home and state directory given to [`NOBODY`], who then runs `claude ARGS`.
#[cfg(unix)]
fn as_nobody(env: &TestEnv, args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    for entry in [env.home.path().to_path_buf(), env.state_dir()] {
        if entry.exists() {
            std::os::unix::fs::chown(&entry, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }
    let mut cmd = env.std_command();
    cmd.uid(NOBODY).gid(NOBODY).args(args);
    cmd.output().unwrap()
}

/// The `Next:` line of a human status.
fn next_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("Next: "))
        .unwrap_or_else(|| panic!("no `Next:` line in:\n{}", text(out)))
        .to_string()
}

#[test]
fn a_failed_check_shows_its_fix_as_the_next_step() {
    let api = Server::anthropic(&[KEY_A]);
    // A wrong passphrase, and no passphrase with no terminal to ask on: the store's fix.
    let mut env = TestEnv::with_stored_key(&api.url(), KEY_A);
    env.set("CLAUDE_PASSPHRASE", "not the passphrase at all");
    let out = env.run(&["--auth-status", "--check"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(
        next_line(&out).contains("check CLAUDE_PASSPHRASE"),
        "{}",
        text(&out)
    );
    let out = env.run(&["--auth-status", "--check", "--json"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["nextStep"], doc["error"]["hint"], "{doc:#}");
    assert!(
        doc["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("cannot decrypt")),
        "{doc:#}"
    );
    env.unset("CLAUDE_PASSPHRASE");
    let out = env.run(&["--auth-status", "--check"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(
        next_line(&out).contains("CLAUDE_PASSPHRASE"),
        "{}",
        text(&out)
    );

    // The server's no (401), and no server at all.
    let env = TestEnv::env_key(&api.url(), KEY_B);
    let out = env.run(&["--auth-status", "--check"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        next_line(&out).contains("create a new one"),
        "{}",
        text(&out)
    );
    assert_no_secret(&out, KEY_B);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let env = TestEnv::env_key(&closed, KEY_A);
    env.write_config(r#"{"authentication": {"retryAttempts": 0}}"#);
    let out = env.run(&["--auth-status", "--check", "--json"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    let doc = json_stdout(&out);
    assert!(
        doc["nextStep"].as_str().unwrap().contains("network"),
        "{doc:#}"
    );
    assert_no_secret(&out, KEY_A);
}

#[cfg(unix)]
#[test]
fn a_ca_bundle_others_can_write_is_said_as_a_trust_question_with_its_own_fix() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = TestEnv::env_key(&api.url(), KEY_A);
    let bundle = env.home.path().join("ca.pem");
    std::fs::write(&bundle, "not used").unwrap();
    set_mode(&bundle, 0o666);
    env.set("CLAUDE_CA_BUNDLE", &bundle.display().to_string());
    let chmod = format!("chmod go-w {}", bundle.display());

    let out = env.run(&["--auth-status", "--check"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(next_line(&out).contains(&chmod), "{}", text(&out));

    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("which servers are trusted"), "{stderr}");
    assert!(!stderr.contains("where credentials are sent"), "{stderr}");
    assert!(stderr.contains(&chmod), "{stderr}");
    // Another key would not help: the key's source is not the problem.
    assert!(!stderr.contains("unset ANTHROPIC_API_KEY"), "{stderr}");

    // The key in use is ANTHROPIC_API_KEY: the storage step does not offer it again.
    let out = env.run(&["--test-auth"]);
    assert!(
        !text(&out).contains("or use ANTHROPIC_API_KEY"),
        "{}",
        text(&out)
    );
    assert_no_secret(&out, KEY_A);
    assert!(api.requests().is_empty());
}

#[cfg(unix)]
#[test]
fn check_permissions_reports_a_store_it_cannot_use() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let store = env.state_dir().join("credentials.enc");
    set_mode(&store, 0o644);
    let out = env.run(&["--check-permissions"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("chmod 600 {}", store.display())),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("no credential is in force"));
}

#[cfg(unix)]
#[test]
fn a_shared_state_directory_is_the_first_thing_the_next_step_changes() {
    // Like `/tmp`: writable by all, sticky. Storing anything there is refused, so the next
    // step must not start with a command that stores.
    let mut env = TestEnv::new();
    let shared = env.home.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o1777);
    env.set("CLAUDE_CONFIG_DIR", &shared.display().to_string());
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let next = next_line(&out);
    assert!(
        next.starts_with("Next: first set CLAUDE_CONFIG_DIR to a directory of your own"),
        "{next}"
    );
    assert!(!next.contains("chmod"), "{next}");
}

#[cfg(unix)]
#[test]
fn aws_files_that_are_not_files_name_the_variable_or_the_default_path() {
    let mut env = TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_REGION", "us-east-1");
    let aws = env.home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let fifo = aws.join("config");
    let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: `name` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("is a FIFO"), "{}", text(&out));
    let next = next_line(&out);
    assert!(next.contains("AWS_CONFIG_FILE is not set"), "{next}");
    assert!(next.contains("regular file"), "{next}");
    assert!(!next.contains("AWS_PROFILE"), "{next}");

    std::fs::remove_file(&fifo).unwrap();
    env.set("AWS_CONFIG_FILE", "/dev/zero");
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("is a device"), "{}", text(&out));
    let next = next_line(&out);
    assert!(next.contains("comes from AWS_CONFIG_FILE"), "{next}");
    assert!(next.contains("unset AWS_CONFIG_FILE"), "{next}");
}

#[test]
fn an_item_missing_from_the_encrypted_header_points_at_the_check_that_opens_it() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    edit_store_header(&env.state_dir().join("credentials.enc"), |header| {
        header["items"].as_object_mut().unwrap().remove("api-key");
    });
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let next = next_line(&out);
    assert!(next.contains("`claude --auth-status --check`"), "{next}");
    // What it points at finds the damage.
    let out = env.run(&["--auth-status", "--check"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    // A file that really holds nothing is opened by `--check`, which then just says how to
    // get a credential.
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    env.claude().arg("--remove-api-key").assert().success();
    let out = env.run(&["--auth-status", "--check"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        !next_line(&out).contains("--auth-status --check"),
        "{}",
        text(&out)
    );
}

#[test]
fn set_storage_with_nothing_stored_does_not_claim_a_sealed_file() {
    let env = TestEnv::new().with("CLAUDE_PASSPHRASE", PASSPHRASE);
    let out = env.run(&["--set-storage", "encrypted-file"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(!shown.contains("is sealed"), "{shown}");
    assert!(shown.contains("when something is stored"), "{shown}");
    assert!(!env.state_dir().join("credentials.enc").exists());
}

#[cfg(unix)]
#[test]
fn others_files_get_hints_a_user_who_is_not_root_can_run() {
    if !running_as_root() {
        eprintln!("skipped: needs root to give files to other users and to become one");
        return;
    }
    // A config of another ordinary user: whose it is, and a file of one's own instead.
    let env = TestEnv::new();
    env.write_config("{}");
    let config = env.config_path().display().to_string();
    std::os::unix::fs::chown(env.config_path(), Some(1234), Some(1234)).unwrap();
    set_mode(env.config_path(), 0o644);
    let out = as_nobody(&env, &["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("belongs to uid 1234"), "{shown}");
    assert!(shown.contains(&format!("mv {config} ")), "{shown}");
    assert!(!shown.contains("if the file is yours"), "{shown}");

    // Root's config at 600 in the user's own directory: no `--config` was given.
    std::os::unix::fs::chown(env.config_path(), Some(0), Some(0)).unwrap();
    set_mode(env.config_path(), 0o600);
    let out = as_nobody(&env, &["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let shown = text(&out);
    assert!(!shown.contains("--config"), "{shown}");
    assert!(shown.contains("belongs to root"), "{shown}");
    assert!(shown.contains(&format!("mv {config} ")), "{shown}");

    // Root's config others can write: what it holds may not be what root wrote.
    set_mode(env.config_path(), 0o666);
    let out = as_nobody(&env, &["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains(&format!("cat {config}")), "{shown}");
    assert!(shown.contains(".mine"), "{shown}");

    // A credential file of another user in the user's state directory.
    let env = TestEnv::encrypted();
    let store = env.state_dir().join("credentials.enc");
    std::fs::write(&store, b"CLAUDEAE").unwrap();
    set_mode(&store, 0o600);
    std::os::unix::fs::chown(&store, Some(1234), Some(1234)).unwrap();
    std::os::unix::fs::chown(env.config_path(), Some(NOBODY), Some(NOBODY)).unwrap();
    let out = as_nobody(&env, &["--auth-status"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("belongs to uid 1234"), "{shown}");
    assert!(shown.contains("create it again as yourself"), "{shown}");
    // Readable, but still someone else's.
    set_mode(&store, 0o644);
    let out = as_nobody(&env, &["--auth-status"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("belongs to uid 1234"), "{shown}");
    assert!(!shown.contains("if it is yours, run `chown"), "{shown}");

    // A state directory of another ordinary user.
    let env = TestEnv::new();
    env.write_config("{}");
    let out = {
        use std::os::unix::process::CommandExt;
        std::os::unix::fs::chown(env.home.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        std::os::unix::fs::chown(env.config_path(), Some(1234), Some(1234)).unwrap();
        std::os::unix::fs::chown(env.state_dir(), Some(1234), Some(1234)).unwrap();
        set_mode(env.state_dir(), 0o755);
        let mut cmd = env.std_command();
        cmd.uid(NOBODY).gid(NOBODY).arg("--auth-status");
        cmd.output().unwrap()
    };
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    let shown = text(&out);
    assert!(!shown.contains("if it is yours"), "{shown}");
    assert!(
        shown.contains("set CLAUDE_CONFIG_DIR to a directory of your own"),
        "{shown}"
    );
}

#[cfg(unix)]
#[test]
fn set_storage_says_when_it_replaced_roots_config_with_the_users_own() {
    if !running_as_root() {
        eprintln!("skipped: needs root to make the file root's and to become another user");
        return;
    }
    let env = TestEnv::new().with("CLAUDE_PASSPHRASE", PASSPHRASE);
    env.write_config("{}");
    set_mode(env.config_path(), 0o644);
    let out = as_nobody(&env, &["--set-storage", "encrypted-file", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_stdout(&out)["configOwnerBefore"], 0);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(env.config_path()).unwrap().uid(), NOBODY);

    let env = TestEnv::new().with("CLAUDE_PASSPHRASE", PASSPHRASE);
    env.write_config("{}");
    set_mode(env.config_path(), 0o644);
    let out = as_nobody(&env, &["--set-storage", "encrypted-file"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("belonged to root"),
        "{}",
        text(&out)
    );
}
