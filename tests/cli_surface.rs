//! The command surface: modifiers refused without their action (one test per listed
//! combination), Claude Code's words, suggestions, completions and the man page listing
//! every flag, `--help` pinned, and every documented example exiting as documented.

mod common;

use claude_auth::cli::Cli;
use common::*;

/// `claude ARGS` on a fresh machine: exit status and stderr.
fn usage(args: &[&str]) -> (Option<i32>, String) {
    let out = TestEnv::new().run(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Each modifier alone, and beside an action that would ignore it: a usage error (exit 2).
const REFUSED: &[&[&str]] = &[
    &["--claude-max"],
    &["--claude-max", "--auth-status"],
    &["/cost", "--claude-max"],
    &["/install-github-app", "--claude-max"],
    &["--detailed"],
    &["/upgrade", "--detailed"],
    &["--detailed", "--test-auth"],
    &["--yes"],
    &["--auth-status", "--yes"],
    &["--login", "--yes"],
    &["--logout", "--yes"],
    &["--no-browser"],
    &["--auth-status", "--no-browser"],
    &["--test-api-key", "--no-browser"],
    &["/cost", "--no-browser"],
    &["--provider", "github"],
    &["--auth-status", "--provider", "github"],
    &["--list-sessions", "--provider", "github"],
    &["--logout", "--all", "--provider", "x"],
    &["--scopes", "read"],
    &["--logout", "--scopes", "read"],
    &["--all"],
    &["--login", "--all"],
    &["--auth-status", "--all"],
    &["--since", "1h"],
    &["--auth-status", "--since", "1h"],
    &["/upgrade", "--since", "1h"],
    &["--verify"],
    &["--test-auth", "--verify"],
    // `--verify` checks the whole log: a period would be ignored.
    &["--show-auth-logs", "--verify", "--since", "1h"],
    &["--mfa-code", "123456"],
    &["--test-auth", "--mfa-code", "123456"],
    &["--logout", "--mfa-code", "123456"],
    &["--check"],
    &["--test-auth", "--check"],
    &["--login", "--provider", "Not A Name"],
    &["--login", "auth", "status"],
    &["--completions", "bash", "--json"],
    // One output form: `--text` and `--format` each choose one, as `--json` does.
    &["auth", "status", "--text", "--json"],
    &["auth", "status", "--json", "--text"],
    &["--print-token", "--json", "--format", "env"],
    &["--print-token", "--format", "apikeyhelper", "--json"],
];

#[test]
fn modifiers_without_their_action_are_usage_errors() {
    for args in REFUSED {
        let (code, stderr) = usage(args);
        assert_eq!(code, Some(2), "`claude {}`: {stderr}", args.join(" "));
        // With `--json` the error is a JSON document on stdout instead.
        if !args.contains(&"--json") {
            assert!(
                stderr.starts_with("error: "),
                "`claude {}`: {stderr}",
                args.join(" ")
            );
        }
    }
}

/// Each modifier with its action parses (what then happens is other tests' business).
#[test]
fn modifiers_with_their_action_parse() {
    for args in [
        &["/upgrade", "--claude-max"][..],
        &["/upgrade", "--no-browser"],
        &["/cost", "--detailed", "--since", "7d"],
        &["/install-github-app", "--no-browser"],
        &["--manage-subscription", "--no-browser"],
        &["--reset-auth", "--yes"],
        &[
            "--login",
            "--provider",
            "github",
            "--scopes",
            "repo",
            "--no-browser",
        ],
        &["--login", "--mfa-code", "-"],
        &["--logout", "--all"],
        &["--logout", "--provider", "github"],
        &["--print-token", "--provider", "github"],
        &["--show-auth-logs", "--since", "1h"],
        &["--show-auth-logs", "--verify"],
        &["--enable-mfa", "--mfa-code", "123456"],
        &["--set-api-key", "-", "--mfa-code", "123456"],
        &["--rotate-key", "-", "--mfa-code", "123456"],
        &["--auth-status", "--check"],
    ] {
        let argv = std::iter::once("claude").chain(args.iter().copied());
        if let Err(err) = Cli::parse_from_args(argv) {
            panic!("`claude {}` was refused: {err}", args.join(" "));
        }
    }
}

#[test]
fn claude_codes_words_map_onto_the_flags() {
    let parse = |args: &[&str]| {
        Cli::parse_from_args(std::iter::once("claude").chain(args.iter().copied())).unwrap()
    };
    let cli = parse(&["auth", "login", "--provider", "github", "--no-browser"]);
    assert!(cli.login && cli.no_browser);
    assert_eq!(cli.provider.as_deref(), Some("github"));
    let cli = parse(&["auth", "logout", "--all"]);
    assert!(cli.logout && cli.all);
    let cli = parse(&["auth", "status"]);
    assert!(
        cli.auth_status && cli.json,
        "JSON by default, as Claude Code's"
    );
    let cli = parse(&["auth", "status", "--text"]);
    assert!(cli.auth_status && !cli.json);
    assert!(parse(&["setup-token"]).login);

    let status = TestEnv::new().run(&["auth", "status"]);
    assert_eq!(status.status.code(), Some(4));
    assert_eq!(json_stdout(&status)["configured"], false);
    let help = TestEnv::new().run(&["help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--auth-status"));
    let (code, stderr) = usage(&["auth", "logout", "--all", "--provider", "x"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn habits_from_other_tools_get_a_suggestion() {
    for (typed, meant) in [
        ("--status", "--auth-status"),
        ("--token", "--print-token"),
        ("--check-permission", "--check-permissions"),
    ] {
        let (code, stderr) = usage(&[typed]);
        assert_eq!(code, Some(2));
        assert!(
            stderr.contains(&format!("a similar argument exists: '{meant}'")),
            "{typed}: {stderr}"
        );
    }
}

#[test]
fn typos_of_status_suggest_auth_status_never_reset_auth() {
    for typed in ["--stauts", "--statu", "--staus", "--auth-stauts", "--reset"] {
        let (code, stderr) = usage(&[typed]);
        assert_eq!(code, Some(2), "{typed}: {stderr}");
        assert!(!stderr.contains("--reset-auth"), "{typed}: {stderr}");
        if typed != "--reset" {
            assert!(
                stderr.contains("a similar argument exists: '--auth-status'"),
                "{typed}: {stderr}"
            );
        }
    }
}

#[test]
fn a_flag_unlike_any_gets_no_suggestion_and_the_plain_usage_line() {
    let (code, stderr) = usage(&["--frobnicate"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains("similar argument"), "{stderr}");
    assert!(!stderr.contains("--format"), "{stderr}");
    assert!(stderr.contains("Usage: claude [OPTIONS]"), "{stderr}");
    // A near miss still gets its suggestion.
    let (_, stderr) = usage(&["--logn"]);
    assert!(
        stderr.contains("a similar argument exists: '--login'"),
        "{stderr}"
    );
}

#[test]
fn flags_spelled_like_slash_commands_suggest_the_slash_command() {
    for (typed, meant) in [
        ("--cost", "/cost"),
        ("--usage", "/cost"),
        ("--upgrade", "/upgrade"),
    ] {
        let (code, stderr) = usage(&[typed]);
        assert_eq!(code, Some(2), "{typed}: {stderr}");
        assert!(
            stderr.contains(&format!("did you mean `claude {meant}`?")),
            "{typed}: {stderr}"
        );
        assert!(!stderr.contains("use '-- "), "{typed}: {stderr}");
    }
}

#[test]
fn words_where_a_slash_command_goes_name_the_flag_or_word() {
    for (typed, meant) in [
        ("status", "`claude --auth-status` (or `claude auth status`)"),
        ("login", "`claude --login` (or `claude auth login`)"),
        ("/login", "`claude --login` (or `claude auth login`)"),
    ] {
        let (code, stderr) = usage(&[typed]);
        assert_eq!(code, Some(2), "{typed}: {stderr}");
        assert!(stderr.contains(meant), "{typed}: {stderr}");
    }
}

#[test]
fn slash_modifiers_alone_name_their_slash_command() {
    for (args, meant) in [
        (&["--detailed"][..], "`claude /cost --detailed`"),
        (&["--claude-max"][..], "`claude /upgrade --claude-max`"),
    ] {
        let (code, stderr) = usage(args);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(meant), "{stderr}");
        assert!(!stderr.contains("</COMMAND>"), "{stderr}");
    }
}

#[test]
fn usage_lines_after_an_action_offer_no_slash_command() {
    for args in [&["--yes"][..], &["--reset-auth", "--yes", "--x"][..]] {
        let (code, stderr) = usage(args);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("Usage: claude --reset-auth --yes\n"),
            "{stderr}"
        );
        assert!(!stderr.contains("use '-- "), "{stderr}");
    }
}

#[test]
fn unknown_providers_are_refused_the_same_way_by_every_command() {
    let env = TestEnv::new();
    for action in ["--login", "--logout", "--print-token"] {
        let out = env.run(&[action, "--provider", "nope", "--json"]);
        assert_eq!(out.status.code(), Some(3), "{action}: {}", text(&out));
        let message = json_stdout(&out)["error"]["message"].clone();
        assert_eq!(
            message, "unknown provider `nope` (known: anthropic, github)",
            "{action}"
        );
    }
}

#[test]
fn no_flag_answers_not_implemented() {
    let help = String::from_utf8(TestEnv::new().run(&["--help"]).stdout).unwrap();
    assert!(!help.contains("not available yet"), "{help}");
    // Without a login or an endpoint it says where to look; it is never exit 18.
    let out = TestEnv::new().run(&["--subscription-status"]);
    assert_ne!(out.status.code(), Some(18), "{}", text(&out));
}

#[test]
fn login_without_a_client_id_says_what_to_configure() {
    let out = TestEnv::new().run(&["--login", "--no-browser"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`oauth.clientId` is not set"), "{stderr}");
    assert!(stderr.contains("register a public client"), "{stderr}");
}

/// Every long flag and every word of the clap definition.
fn every_flag() -> Vec<String> {
    let command = claude_auth::cli::command();
    let mut flags: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect();
    flags.extend(command.get_subcommands().map(|s| s.get_name().to_string()));
    assert!(flags.len() > 30, "{flags:?}");
    flags
}

#[test]
fn completions_list_every_flag_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = TestEnv::new().run(&["--completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out));
        let script = String::from_utf8(out.stdout).unwrap();
        for flag in every_flag() {
            let bare = flag.trim_start_matches("--");
            assert!(script.contains(bare), "{shell} lacks {flag}");
        }
        assert!(script.contains("/install-github-app"), "{shell}");
    }
}

#[test]
fn the_man_page_lists_every_flag() {
    let mut page = Vec::new();
    clap_mangen::Man::new(claude_auth::cli::command())
        .render(&mut page)
        .unwrap();
    let page = String::from_utf8(page).unwrap();
    assert!(page.starts_with(".ie"), "roff: {}", &page[..40]);
    for flag in every_flag() {
        // roff escapes `-` as `\-`.
        let roff = flag.replace('-', "\\-");
        assert!(page.contains(&roff), "the man page lacks {flag}");
    }
}

#[test]
fn help_is_pinned() {
    let out = TestEnv::new().run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("help_text", String::from_utf8(out.stdout).unwrap());
}

/// A documented example: a line of a ```sh block whose comment says `# exit N`.
struct Example {
    file: String,
    line: usize,
    vars: Vec<(String, String)>,
    args: Vec<String>,
    exit: i32,
}

/// The examples of `file`: in ```sh fences, each line `[VAR=value …] claude ARGS # exit N…`.
/// Lines without `# exit N` are not run (they need a keychain, a server or a browser).
fn examples(file: &str) -> Vec<Example> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let mut found = Vec::new();
    let mut in_sh = false;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        let Some((command, comment)) = line.split_once(" # exit ").filter(|_| in_sh) else {
            continue;
        };
        let exit: i32 = comment
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{file}:{}: `# exit N` needs a number", n + 1));
        let words = split_words(command.trim());
        let at = words
            .iter()
            .position(|w| w == "claude")
            .unwrap_or_else(|| panic!("{file}:{}: no `claude` in {command}", n + 1));
        let vars = words[..at]
            .iter()
            .map(|w| {
                let (k, v) = w.split_once('=').expect("VAR=value before `claude`");
                (k.to_string(), v.to_string())
            })
            .collect();
        found.push(Example {
            file: file.to_string(),
            line: n + 1,
            vars,
            args: words[at + 1..].to_vec(),
            exit,
        });
    }
    found
}

/// Shell words: spaces separate, double or single quotes group.
fn split_words(text: &str) -> Vec<String> {
    let (mut words, mut word, mut quote) = (Vec::new(), String::new(), None);
    for c in text.chars() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            (' ', None) => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[test]
fn documented_examples_exit_as_documented() {
    let mut files = vec!["README.md".to_string()];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let relative = path.strip_prefix(root).unwrap();
                files.push(relative.display().to_string());
            }
        }
    }
    files.sort();
    for required in ["README.md", "docs/status-json.md", "docs/login.md"] {
        assert!(
            examples(required).len() >= 2,
            "{required} has no `# exit N` examples"
        );
    }
    // Every example marked `# exit N`, in the README and every page of docs/.
    for file in &files {
        for example in examples(file) {
            // A fresh machine, and no server to reach: nothing leaves it.
            let mut env = TestEnv::new().with("ANTHROPIC_BASE_URL", "http://127.0.0.1:9");
            for (name, value) in &example.vars {
                env.set(name, value);
            }
            let args: Vec<&str> = example.args.iter().map(String::as_str).collect();
            let out = env.run(&args);
            assert_eq!(
                out.status.code(),
                Some(example.exit),
                "{}:{}: `claude {}`\n{}",
                example.file,
                example.line,
                args.join(" "),
                text(&out)
            );
        }
    }
}
