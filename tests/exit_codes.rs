//! The exit-code contract: `ErrorCode`'s table, docs/exit-codes.md, the README and
//! `claude --help` say the same thing, and a code the binary produces exits as documented.

use assert_cmd::Command;
use claude_auth::error::ErrorCode;

const DOCS: &str = include_str!("../docs/exit-codes.md");
const README: &str = include_str!("../README.md");

/// `claude` with an empty environment: none of these calls reads a credential or a file.
fn claude(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("claude")
        .expect("binary built")
        .env_clear()
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("claude runs")
}

/// A row of the docs' main table: code (or `*(success)*`), exit status, meaning.
struct DocRow<'a> {
    code: &'a str,
    exit: i32,
    meaning: &'a str,
}

/// The rows of the table under `| Code | Exit | Meaning | …`, in order.
fn doc_rows() -> Vec<DocRow<'static>> {
    let table = DOCS
        .split_once("| Code | Exit | Meaning |")
        .expect("docs/exit-codes.md has its `| Code | Exit | Meaning |` table")
        .1;
    table
        .lines()
        .skip(2) // the rest of the header line, then `|---|---|…`
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            assert!(cells.len() >= 3, "a row with too few cells: {line}");
            DocRow {
                code: cells[0].trim_start_matches("| ").trim_matches('`'),
                exit: cells[1]
                    .parse()
                    .unwrap_or_else(|_| panic!("exit status is not a number: {line}")),
                meaning: cells[2],
            }
        })
        .collect()
}

#[test]
fn docs_table_lists_every_code_with_its_exit_status_and_nothing_else() {
    let rows = doc_rows();
    let documented: Vec<(&str, i32)> = rows.iter().map(|row| (row.code, row.exit)).collect();
    let mut expected = vec![("*(success)*", 0)];
    expected.extend(ErrorCode::ALL.map(|code| (code.as_str(), code.exit_code())));
    assert_eq!(
        documented, expected,
        "docs/exit-codes.md and src/error.rs disagree (order: by exit status)"
    );
}

#[test]
fn docs_table_opens_each_meaning_with_the_codes_one_line_meaning() {
    let rows = doc_rows();
    for code in ErrorCode::ALL {
        let row = rows
            .iter()
            .find(|row| row.code == code.as_str())
            .unwrap_or_else(|| panic!("`{}` is not in docs/exit-codes.md", code.as_str()));
        let rest = row.meaning.strip_prefix(code.meaning()).unwrap_or_else(|| {
            panic!(
                "the docs row of `{}` should open with {:?}, found {:?}",
                code.as_str(),
                code.meaning(),
                row.meaning
            )
        });
        // A whole clause, not the first words of a longer one.
        assert!(
            !rest.starts_with(|c: char| c.is_alphanumeric()),
            "`{}`: {:?} ends mid-word in the docs",
            code.as_str(),
            code.meaning()
        );
    }
}

#[test]
fn readme_lists_every_status_a_script_can_meet() {
    let sentence = README
        .split_once("Exit codes are stable: ")
        .and_then(|(_, rest)| rest.split_once(" ("))
        .expect("README.md has its `Exit codes are stable: …` line")
        .0;
    let listed: Vec<i32> = sentence
        .split(',')
        .map(|item| {
            let number = item.split_whitespace().next().unwrap_or_default();
            number
                .parse()
                .unwrap_or_else(|_| panic!("README item without a status: {item:?}"))
        })
        .collect();
    // Reserved codes are not produced by this version: the README leaves them to the docs.
    let mut expected = vec![0];
    expected.extend(
        ErrorCode::ALL
            .iter()
            .filter(|code| !code.meaning().starts_with("Reserved"))
            .map(|code| code.exit_code()),
    );
    assert_eq!(listed, expected, "README.md's exit-code line: {sentence}");
}

#[test]
fn help_lists_every_exit_status_with_its_code() {
    let out = claude(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).expect("help is UTF-8");
    // clap wraps the footer to the terminal: compare words, not line breaks.
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let list = words
        .split_once("Exit codes: ")
        .and_then(|(_, rest)| rest.split_once(" (docs/exit-codes.md)."))
        .unwrap_or_else(|| panic!("no exit-code line in --help:\n{help}"))
        .0;
    let mut expected = vec!["0 ok".to_string()];
    expected.extend(ErrorCode::ALL.map(|code| format!("{} {}", code.exit_code(), code.as_str())));
    assert_eq!(list.split(", ").collect::<Vec<_>>(), expected);
}

#[test]
fn the_subscription_flags_answer_with_their_own_codes_not_18() {
    // `not_implemented` stays reserved (exit 18); no flag of this version answers it.
    let out = claude(&["--subscription-status", "--json"]);
    assert_eq!(out.status.code(), Some(4));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["error"]["code"], "not_authenticated");
    assert_eq!(doc["error"]["exitCode"], 4);
}
