//! The AWS shared config and credentials files, read synchronously and offline: `[profile
//! NAME]` and `[sso-session NAME]` sections of `~/.aws/config` (`AWS_CONFIG_FILE`), `[NAME]`
//! sections of `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`); the credentials file wins
//! for a key both set. Values are wrapped as secrets the moment they are read.

use crate::envvars::{self, Env};
use crate::error::AuthError;
use crate::secret::Secret;
use crate::storage::checked_file::{CheckedFile, Trust};
use std::path::{Path, PathBuf};

/// One section's keys, later lines winning.
#[derive(Default)]
pub(crate) struct Props(Vec<(String, Secret<String>)>);

impl Props {
    /// The non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&Secret<String>> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.expose().is_empty())
            .map(|(_, v)| v)
    }

    /// The value of a non-secret key (a name, an ARN, a URL, a path).
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| v.expose().clone())
    }
}

/// Both files, merged by profile name.
pub(crate) struct Profiles {
    profiles: Vec<(String, Props)>,
    sso_sessions: Vec<(String, Props)>,
    pub config_path: PathBuf,
    pub credentials_path: PathBuf,
    /// Which of the two files were there (for messages that name them).
    config_exists: bool,
    credentials_exists: bool,
}

impl Profiles {
    /// Reads both files; a missing file is an empty one.
    ///
    /// # Errors
    /// `config_error` for a file that cannot be read, is not a regular file or is over
    /// 1 MiB, a credentials file another user owns or others can read, or a config file
    /// another user (root excepted) owns or others can write.
    pub fn load(env: &Env) -> Result<Profiles, AuthError> {
        let config_path = file(env, envvars::AWS_CONFIG_FILE, "config");
        let credentials_path = file(env, envvars::AWS_SHARED_CREDENTIALS_FILE, "credentials");
        let mut profiles = Vec::new();
        let mut sso_sessions = Vec::new();
        let config_text = read(env, &config_path, AwsFile::Config)?;
        let config_exists = config_text.is_some();
        if let Some(text) = config_text {
            for (name, props) in parse_ini(text.expose()) {
                if let Some(profile) = name.strip_prefix("profile ") {
                    profiles.push((profile.trim().to_string(), props));
                } else if let Some(session) = name.strip_prefix("sso-session ") {
                    sso_sessions.push((session.trim().to_string(), props));
                } else if name == "default" {
                    profiles.push((name, props));
                }
            }
        }
        let credentials_text = read(env, &credentials_path, AwsFile::Credentials)?;
        let credentials_exists = credentials_text.is_some();
        if let Some(text) = credentials_text {
            // After the config file's sections: its keys win.
            profiles.extend(parse_ini(text.expose()));
        }
        Ok(Profiles {
            profiles,
            sso_sessions,
            config_path,
            credentials_path,
            config_exists,
            credentials_exists,
        })
    }

    /// The merged keys of profile `name`, or `None` when neither file has it.
    pub fn profile(&self, name: &str) -> Option<Props> {
        merged(&self.profiles, name)
    }

    /// The `[sso-session NAME]` section.
    pub fn sso_session(&self, name: &str) -> Option<Props> {
        merged(&self.sso_sessions, name)
    }

    /// Every profile name, sorted, for "profiles found" messages.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.profiles.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The files that exist, for messages: "~/.aws/config and ~/.aws/credentials", or
    /// just the one that is there.
    pub fn files(&self) -> String {
        let config = self.config_path.display();
        let credentials = self.credentials_path.display();
        match (self.config_exists, self.credentials_exists) {
            (true, true) => format!("{config} and {credentials}"),
            (true, false) => config.to_string(),
            (false, true) => credentials.to_string(),
            (false, false) => format!("{config} or {credentials} (neither exists)"),
        }
    }
}

fn merged(sections: &[(String, Props)], name: &str) -> Option<Props> {
    let mut found = false;
    let mut props = Props::default();
    for (_, section) in sections.iter().filter(|(n, _)| n == name) {
        found = true;
        props.0.extend(section.0.iter().cloned());
    }
    found.then_some(props)
}

/// `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` (a leading `~/` expanded), else
/// `~/.aws/NAME`.
fn file(env: &Env, variable: &str, name: &str) -> PathBuf {
    let home = || env.home().unwrap_or_else(|| PathBuf::from("."));
    match env.get(variable) {
        Some(path) => match path.strip_prefix("~/") {
            Some(rest) => home().join(rest),
            None => PathBuf::from(path),
        },
        None => home().join(".aws").join(name),
    }
}

/// `~/.aws/sso/cache`, where the AWS CLI keeps IAM Identity Center tokens.
pub(crate) fn sso_cache_dir(env: &Env) -> PathBuf {
    env.home()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".aws")
        .join("sso")
        .join("cache")
}

/// The most either AWS file may hold: real ones are a few KiB.
const MAX_FILE: u64 = 1 << 20;

/// Reads one AWS file, judged on the handle it is read from (so another user cannot swap it
/// between the check and the read): the config decides which commands run
/// (`credential_process`) and where tokens go, so like this tool's own config it must be
/// the user's (or root's) and writable by no one else; the credentials file holds keys, so
/// like an ssh key it must be the user's and readable by no one else.
fn read(env: &Env, path: &Path, kind: AwsFile) -> Result<Option<Secret<String>>, AuthError> {
    let (what, trust, variable, name) = match kind {
        AwsFile::Config => (
            "AWS config file",
            Trust::Config,
            envvars::AWS_CONFIG_FILE,
            "config",
        ),
        AwsFile::Credentials => (
            "AWS credentials file",
            Trust::Private,
            envvars::AWS_SHARED_CREDENTIALS_FILE,
            "credentials",
        ),
    };
    let text = CheckedFile::new(what, trust, MAX_FILE)
        .hint(file_hint(env, path, variable, name))
        .read_text(path)?;
    Ok(text.map(Secret::from))
}

/// What to do about an AWS file that cannot be read as one (not a regular file, unreadable,
/// too large): change the variable that named it, or replace the file at the default path.
fn file_hint(env: &Env, path: &Path, variable: &str, name: &str) -> String {
    let shown = path.display();
    if env.get(variable).is_some() {
        let default = env.home().map_or_else(
            || format!("~/.aws/{name}"),
            |home| home.join(".aws").join(name).display().to_string(),
        );
        format!(
            "{shown} comes from {variable}: point {variable} at a regular file that holds your AWS {name}, or `unset {variable}` to use {default}"
        )
    } else {
        format!(
            "{shown} is at the default path ({variable} is not set): replace what is there with a regular file that holds your AWS {name} (`rm {shown}`, then write it again), or set {variable} to one"
        )
    }
}

/// Which of the two AWS files.
#[derive(Clone, Copy)]
enum AwsFile {
    Config,
    Credentials,
}

/// The INI dialect of the AWS files: `[name]` sections, `key = value` lines, `#` and `;`
/// comments, and indented sub-properties under an empty `key =` (skipped).
fn parse_ini(text: &str) -> Vec<(String, Props)> {
    let mut sections: Vec<(String, Props)> = Vec::new();
    let mut nested = false;
    for raw in text.lines() {
        let indented = raw.starts_with([' ', '\t']);
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.trim().to_string(), Props::default()));
            nested = false;
            continue;
        }
        if indented && nested {
            continue;
        }
        let (Some((_, props)), Some((key, value))) = (sections.last_mut(), line.split_once('='))
        else {
            continue;
        };
        let value = strip_comment(value).trim();
        nested = value.is_empty();
        props.0.push((
            key.trim().to_ascii_lowercase(),
            Secret::from(value.to_string()),
        ));
    }
    sections
}

/// `value ; comment` → `value`: a comment starts at `#` or `;` after whitespace.
fn strip_comment(value: &str) -> &str {
    let mut previous_blank = false;
    for (at, c) in value.char_indices() {
        if previous_blank && (c == '#' || c == ';') {
            return &value[..at];
        }
        previous_blank = c.is_whitespace();
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment\n[default]\naws_access_key_id = AKIDDEFAULT000000000\n\
        aws_secret_access_key=secret/+default ; a comment\ns3 =\n  max_concurrent_requests = 2\n\
        \n[dev]\naws_access_key_id=AKIDDEV\naws_secret_access_key = devsecret\n\
        aws_session_token = tok==\n";

    #[test]
    fn ini_reads_sections_keys_and_strips_comments() {
        let sections = parse_ini(FILE);
        let names: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["default", "dev"]);
        let default = merged(&sections, "default").unwrap();
        assert_eq!(
            default.text("aws_access_key_id").unwrap(),
            "AKIDDEFAULT000000000"
        );
        assert_eq!(
            default.get("aws_secret_access_key").unwrap().expose(),
            "secret/+default"
        );
        assert!(default.get("aws_session_token").is_none());
        assert!(default.get("max_concurrent_requests").is_none());
        let dev = merged(&sections, "dev").unwrap();
        assert_eq!(dev.get("aws_session_token").unwrap().expose(), "tok==");
        assert!(merged(&sections, "prod").is_none());
    }
}
