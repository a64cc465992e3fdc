//! The code reaches the outside world only through its edges: the environment through
//! `Context` (a snapshot taken once), time through the clock (as `UnixTime`), the async
//! runtime in `app`, the terminal through `output`, files that decide credentials through
//! `storage::checked_file`. This test reads `src/` and names any line that goes around
//! them, so the rule holds without anyone remembering it.

use std::path::{Path, PathBuf};

/// A call that goes around an edge, the files allowed to make it, and what to use instead.
struct Rule {
    needle: &'static str,
    allowed: &'static [&'static str],
    instead: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        needle: "std::env::var",
        allowed: &["src/envvars.rs"],
        instead: "ctx.env.get(…)",
    },
    Rule {
        needle: "env::vars_os",
        allowed: &["src/envvars.rs"],
        instead: "ctx.env.iter()",
    },
    Rule {
        needle: "std::env::home_dir",
        allowed: &["src/envvars.rs"],
        instead: "ctx.env.home()",
    },
    Rule {
        needle: "SystemTime::now",
        // The clock itself; `Retry-After` dates are compared with the real time of the wait.
        allowed: &["src/clock.rs", "src/http.rs"],
        instead: "ctx.clock.now()",
    },
    Rule {
        needle: "Utc::now",
        allowed: &[],
        instead: "ctx.clock.now()",
    },
    Rule {
        needle: "Local::now",
        allowed: &[],
        instead: "ctx.clock.now()",
    },
    Rule {
        // Unix seconds are made and unmade in one place, whole seconds, saturating.
        needle: "UNIX_EPOCH",
        allowed: &["src/time.rs"],
        instead: "UnixTime::from_system_time / to_system_time",
    },
    Rule {
        needle: "block_on",
        allowed: &["src/app.rs"],
        instead: "an `async fn` handler (app.rs runs the one runtime)",
    },
    Rule {
        needle: "Runtime",
        allowed: &["src/app.rs"],
        instead: "an `async fn` handler (app.rs runs the one runtime)",
    },
    Rule {
        needle: "is_terminal",
        allowed: &["src/terminal.rs"],
        instead: "ctx.terminal.stdin_is_tty() / stderr_is_tty()",
    },
    Rule {
        needle: "rpassword",
        allowed: &["src/terminal.rs"],
        instead: "ctx.terminal.hidden_prompt(…)",
    },
    Rule {
        needle: "io::stdin",
        allowed: &["src/terminal.rs"],
        instead: "ctx.terminal.read_stdin / read_line / lines",
    },
    Rule {
        needle: "println!",
        allowed: &["src/output.rs"],
        instead: "output::emit / output::notice",
    },
    Rule {
        // Files that decide credentials (where they go, what runs, whom to believe) are
        // judged on the handle they are read from, without blocking, up to a cap.
        needle: "fs::read(",
        allowed: &[],
        instead: "storage::checked_file::CheckedFile::new(…).read(path)",
    },
    Rule {
        needle: "fs::read_to_string",
        // The DMI product name: a root-owned kernel file, only a hint that this is a GCE VM.
        allowed: &["src/providers/vertex/metadata.rs"],
        instead: "storage::checked_file::CheckedFile::new(…).read_text(path)",
    },
    Rule {
        needle: "File::open",
        // Directories opened to be synced; a Windows test of ACLs read from a handle.
        allowed: &["src/storage/atomic.rs", "src/config/managed/acl/tests.rs"],
        instead: "storage::checked_file::CheckedFile::new(…).open(path)",
    },
    Rule {
        needle: "open_nonblocking",
        // Project settings files are only named by status, never believed.
        allowed: &["src/storage/atomic.rs", "src/config/claude_code/project.rs"],
        instead: "storage::checked_file::CheckedFile (it opens without blocking, then judges)",
    },
    Rule {
        needle: "eprint!",
        // The spinner (`output::spin`) redraws its own line there too.
        allowed: &["src/output.rs"],
        instead: "output::notice",
    },
    Rule {
        // The configuration is read and parsed once per command (a large one cost seconds
        // each time it was parsed again); everything else reads `ctx.loaded`.
        needle: "config::load(",
        allowed: &["src/context.rs"],
        instead: "ctx.loaded (parsed once, in Context::new)",
    },
    Rule {
        needle: "load::parse(",
        allowed: &["src/config/mod.rs"],
        instead: "ctx.loaded (parsed once, in Context::new)",
    },
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_outside_world_is_reached_only_through_its_edges() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for path in rust_files(&root.join("src")) {
        let shown = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests may build their own fixtures.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (number, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            for rule in RULES {
                if line.contains(rule.needle) && !rule.allowed.contains(&shown.as_str()) {
                    found.push(format!(
                        "{shown}:{}: `{}`; use {} instead",
                        number + 1,
                        rule.needle,
                        rule.instead
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "edges bypassed:\n{}", found.join("\n"));
}
