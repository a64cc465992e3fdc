//! Hints and messages point at commands or URLs, never at files of the repository
//! (`docs/…`), which an installed binary's user does not have.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `--help` footer names the exit-code table's file for readers of the source tree; it
/// is help text, not a hint printed after an error.
const ALLOWED: [&str; 1] = ["src/error.rs"];

#[test]
fn no_message_or_hint_in_the_source_points_at_docs_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for path in files {
        let shown = path
            .strip_prefix(root)
            .unwrap()
            .display()
            .to_string()
            .replace('\\', "/");
        if ALLOWED.contains(&shown.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            // Comments may cite the docs; only code (string literals) reaches the user.
            if code.starts_with("//") {
                continue;
            }
            let code = code.split(" // ").next().unwrap_or(code);
            if code.contains("docs/") {
                found.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "user-facing text names a repository path; name the command or a URL instead:\n{}",
        found.join("\n")
    );
}

mod common;
use common::TestEnv;

#[test]
fn a_config_type_error_hint_names_what_to_fix_not_a_file() {
    let env = TestEnv::new();
    env.write_config(r#"{"authentication": {"timeout": "30s"}}"#);
    let out = env.claude().arg("--auth-status").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("hint: fix the value"), "{stderr}");
    assert!(!stderr.contains("docs/"), "{stderr}");
}
