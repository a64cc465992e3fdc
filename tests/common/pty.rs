//! Runs `claude` on a pseudo-terminal (util-linux `script`), for what only a terminal gets:
//! colour, questions answered by typing.
#![allow(dead_code)]

use super::TestEnv;

/// What a run on a terminal printed (stdout and stderr merged, as a terminal shows them) and
/// its exit status; `None` when `script` is not installed (the caller skips).
pub struct Shown {
    pub text: String,
    pub code: i32,
}

impl TestEnv {
    /// `claude ARGS` on a pseudo-terminal with `typed` as the keyboard.
    pub fn on_terminal(&self, args: &[&str], typed: &str) -> Option<Shown> {
        use std::io::Write;
        if !cfg!(target_os = "linux")
            || std::process::Command::new("script")
                .arg("--version")
                .output()
                .is_err()
        {
            eprintln!("skipped: util-linux `script` is not installed");
            return None;
        }
        let bin = assert_cmd::cargo::cargo_bin("claude");
        // Arguments here are fixed test words: no quoting beyond single quotes is needed.
        let line = std::iter::once(bin.display().to_string())
            .chain(args.iter().map(|a| format!("'{a}'")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = std::process::Command::new("script");
        cmd.env_clear();
        for (name, value) in &self.vars {
            cmd.env(name, value);
        }
        let mut child = cmd
            .args(["-qec", &format!("{line}; echo \"[exit $?]\""), "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(typed.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
        let code = text
            .rsplit_once("[exit ")
            .and_then(|(_, rest)| rest.split(']').next())
            .and_then(|n| n.parse().ok())
            .expect("the exit status line");
        Some(Shown { text, code })
    }
}
