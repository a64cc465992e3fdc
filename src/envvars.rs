//! Every environment variable the binary reads, one constant each.

/// An Anthropic API key; second in the resolution order, after `--api-key`.
pub const ANTHROPIC_API_KEY: &str = "ANTHROPIC_API_KEY";
/// A bearer token for the Anthropic API (or a gateway in front of it), sent as
/// `Authorization: Bearer`; ahead of `ANTHROPIC_API_KEY`, as in Claude Code.
pub const ANTHROPIC_AUTH_TOKEN: &str = "ANTHROPIC_AUTH_TOKEN";
/// An OAuth access token (e.g. from `claude setup-token`), after `apiKeyHelper` and before
/// the stored key, as in Claude Code.
pub const CLAUDE_CODE_OAUTH_TOKEN: &str = "CLAUDE_CODE_OAUTH_TOKEN";
/// How long the output of `apiKeyHelper` is reused, in milliseconds (default 300000).
pub const CLAUDE_CODE_API_KEY_HELPER_TTL_MS: &str = "CLAUDE_CODE_API_KEY_HELPER_TTL_MS";
/// `1`: a gateway in front of Vertex AI adds the credentials; claude sends none.
pub const CLAUDE_CODE_SKIP_VERTEX_AUTH: &str = "CLAUDE_CODE_SKIP_VERTEX_AUTH";
/// The metadata server's host (and port) instead of `metadata.google.internal`.
pub const GCE_METADATA_HOST: &str = "GCE_METADATA_HOST";
/// The metadata server's IP instead of `169.254.169.254`, as the Google libraries read it.
pub const GCE_METADATA_IP: &str = "GCE_METADATA_IP";
/// Set by Cloud Run services: the metadata server is there.
pub const K_SERVICE: &str = "K_SERVICE";
/// Set by Cloud Run jobs: the metadata server is there.
pub const CLOUD_RUN_JOB: &str = "CLOUD_RUN_JOB";
/// `1` lets an `external_account` credential run its `executable` (Google's own switch).
pub const GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: &str =
    "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES";
/// Overrides the Anthropic API host (`https://api.anthropic.com`); tests point it at loopback.
pub const ANTHROPIC_BASE_URL: &str = "ANTHROPIC_BASE_URL";
/// Where Admin API requests (which carry the org-admin key) go instead of
/// `https://api.anthropic.com`. `ANTHROPIC_BASE_URL` never receives the Admin key: it often
/// names an LLM gateway.
pub const ANTHROPIC_ADMIN_BASE_URL: &str = "ANTHROPIC_ADMIN_BASE_URL";
/// Path of the configuration file (same as `--config`).
pub const CLAUDE_CONFIG: &str = "CLAUDE_CONFIG";
/// State directory (default `~/.claude`): config, metadata, encrypted store, lock.
pub const CLAUDE_CONFIG_DIR: &str = "CLAUDE_CONFIG_DIR";
/// Active environment (same as `--env`).
pub const CLAUDE_ENV: &str = "CLAUDE_ENV";
/// Passphrase for `encrypted-file` storage with `encryptionKey: user-derived-key`.
pub const CLAUDE_PASSPHRASE: &str = "CLAUDE_PASSPHRASE";
/// Keychain service name (default `claude-auth`): separates profiles and test runs.
pub const CLAUDE_KEYCHAIN_SERVICE: &str = "CLAUDE_KEYCHAIN_SERVICE";
/// Upper bound for one keychain call in milliseconds (default 3000).
pub const CLAUDE_KEYCHAIN_TIMEOUT_MS: &str = "CLAUDE_KEYCHAIN_TIMEOUT_MS";
/// PEM file of extra root certificates to trust (corporate proxies, local test servers).
pub const CLAUDE_CA_BUNDLE: &str = "CLAUDE_CA_BUNDLE";
/// The current second-factor code, for scripts (`--mfa-code -` reads it from stdin instead).
pub const CLAUDE_MFA_CODE: &str = "CLAUDE_MFA_CODE";
/// The user's login name (Unix): the account an MFA enrollment is labelled with when no
/// session names one.
pub const USER: &str = "USER";
/// The user's login name (Windows), as `USER`.
pub const USERNAME: &str = "USERNAME";
/// Debug builds only: the clock's "now" in Unix seconds, so tests can age keys.
pub const CLAUDE_TEST_NOW: &str = "CLAUDE_TEST_NOW";
/// Debug builds only: act as if the kernel had no keyring (no passphrase cache), for tests
/// of that fallback.
pub const CLAUDE_TEST_NO_KEYRING: &str = "CLAUDE_TEST_NO_KEYRING";
/// Debug builds only: milliseconds after which a running `apiKeyHelper` is reported as
/// slow (default 10 s), so tests need not wait.
pub const CLAUDE_TEST_HELPER_SLOW_MS: &str = "CLAUDE_TEST_HELPER_SLOW_MS";
/// Debug builds only: milliseconds after which a helper (apiKeyHelper, credential_process,
/// awsCredentialExport, awsAuthRefresh, a Vertex executable) is stopped, so tests need not
/// wait for the real timeout.
pub const CLAUDE_TEST_HELPER_TIMEOUT_MS: &str = "CLAUDE_TEST_HELPER_TIMEOUT_MS";
/// Per-user runtime directory; its `bus` socket is the session bus when the address is unset.
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// `1` selects AWS Bedrock as the provider.
pub const CLAUDE_CODE_USE_BEDROCK: &str = "CLAUDE_CODE_USE_BEDROCK";
/// `1` selects Google Vertex AI as the provider.
pub const CLAUDE_CODE_USE_VERTEX: &str = "CLAUDE_CODE_USE_VERTEX";
/// A Bedrock API key, sent as a bearer token (takes precedence over AWS credentials).
pub const AWS_BEARER_TOKEN_BEDROCK: &str = "AWS_BEARER_TOKEN_BEDROCK";
/// AWS access key id (with `AWS_SECRET_ACCESS_KEY`, optionally `AWS_SESSION_TOKEN`).
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// AWS secret access key.
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// AWS session token of temporary credentials.
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// Profile in the shared AWS credentials file.
pub const AWS_PROFILE: &str = "AWS_PROFILE";
/// Path of the shared AWS credentials file (default `~/.aws/credentials`).
pub const AWS_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
/// Path of the AWS shared config file (default `~/.aws/config`): profiles and their region.
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// `1`/`true`: send Bedrock requests without authentication (a gateway adds it), as in Claude Code.
pub const CLAUDE_CODE_SKIP_BEDROCK_AUTH: &str = "CLAUDE_CODE_SKIP_BEDROCK_AUTH";
/// Web identity token file (EKS, GitHub OIDC), with `AWS_ROLE_ARN`.
pub const AWS_WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// The role web identity assumes.
pub const AWS_ROLE_ARN: &str = "AWS_ROLE_ARN";
/// Session name for web identity (default `claude-auth`).
pub const AWS_ROLE_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";
/// ECS container credentials path on 169.254.170.2.
pub const AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
/// Container credentials URL (EKS Pod Identity, loopback in tests).
pub const AWS_CONTAINER_CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// `Authorization` value for the container credentials URL.
pub const AWS_CONTAINER_AUTHORIZATION_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
/// File holding the `Authorization` value for the container credentials URL.
pub const AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// EC2 instance metadata endpoint; setting it puts IMDSv2 in the Bedrock chain.
pub const AWS_EC2_METADATA_SERVICE_ENDPOINT: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
/// `true` takes EC2 instance metadata out of the chain.
pub const AWS_EC2_METADATA_DISABLED: &str = "AWS_EC2_METADATA_DISABLED";
/// STS endpoint override (assume role, web identity), as in the AWS SDKs.
pub const AWS_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
/// IAM Identity Center portal endpoint override, as in the AWS SDKs.
pub const AWS_ENDPOINT_URL_SSO: &str = "AWS_ENDPOINT_URL_SSO";
/// IAM Identity Center OIDC endpoint override (refreshing the cached SSO token), as in the
/// AWS SDKs.
pub const AWS_ENDPOINT_URL_SSO_OIDC: &str = "AWS_ENDPOINT_URL_SSO_OIDC";
/// AWS region (Bedrock needs one).
pub const AWS_REGION: &str = "AWS_REGION";
/// AWS region, older name.
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// Bedrock endpoint override, as in the AWS SDKs.
pub const AWS_ENDPOINT_URL_BEDROCK: &str = "AWS_ENDPOINT_URL_BEDROCK";
/// Endpoint override for every AWS service, as in the AWS SDKs.
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// Bedrock endpoint override, as in Claude Code.
pub const ANTHROPIC_BEDROCK_BASE_URL: &str = "ANTHROPIC_BEDROCK_BASE_URL";
/// Google credential file (service account or authorized user JSON).
pub const GOOGLE_APPLICATION_CREDENTIALS: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// Google Cloud project.
pub const GOOGLE_CLOUD_PROJECT: &str = "GOOGLE_CLOUD_PROJECT";
/// Google Cloud project, as in Claude Code.
pub const ANTHROPIC_VERTEX_PROJECT_ID: &str = "ANTHROPIC_VERTEX_PROJECT_ID";
/// Vertex AI region.
pub const CLOUD_ML_REGION: &str = "CLOUD_ML_REGION";
/// Vertex AI endpoint override.
pub const ANTHROPIC_VERTEX_BASE_URL: &str = "ANTHROPIC_VERTEX_BASE_URL";
/// gcloud's configuration directory (application-default credentials live there).
pub const CLOUDSDK_CONFIG: &str = "CLOUDSDK_CONFIG";
/// Home directory, for the default state directory.
pub const HOME: &str = "HOME";
/// D-Bus session bus address; without it the Secret Service keychain cannot be reached.
pub const DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";
/// An Anthropic Admin API key (`sk-ant-admin…`): lets `--rotate-key` mark the old key
/// inactive in the organization. Never printed; only its fingerprint.
pub const ANTHROPIC_ADMIN_API_KEY: &str = "ANTHROPIC_ADMIN_API_KEY";
/// Set (to `1`) in the environment of every child process this binary starts (see
/// `process::command`). A `claude` that starts with it runs no credential helper
/// (`apiKeyHelper`, `awsCredentialExport`, `awsAuthRefresh`): it was itself started by one,
/// possibly its own (`"apiKeyHelper": "claude --print-token …"`), and running it again
/// would start the same command without end.
pub const CLAUDE_AUTH_HELPER_CHILD: &str = "CLAUDE_AUTH_HELPER_CHILD";
/// Debug builds only: the directory holding `managed-settings.json` and
/// `managed-settings.d/` instead of the system's, for tests. Release builds ignore it, so a
/// user cannot shed the policy by pointing it at an empty directory.
pub const CLAUDE_MANAGED_SETTINGS_DIR: &str = "CLAUDE_MANAGED_SETTINGS_DIR";

/// Any non-empty value turns colour off (https://no-color.org), whatever else is set.
pub const NO_COLOR: &str = "NO_COLOR";
/// `0` turns colour off, as in other command-line tools.
pub const CLICOLOR: &str = "CLICOLOR";
/// Set and not `0`: colour even when the output is not a terminal.
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";
/// The terminal type: `dumb` gets no colour.
pub const TERM: &str = "TERM";
/// Locale override: without UTF-8 in it, marks are ASCII (`ok`, `x`, `!`, `-`).
pub const LC_ALL: &str = "LC_ALL";
/// Character-set locale, read when `LC_ALL` is unset.
pub const LC_CTYPE: &str = "LC_CTYPE";
/// Default locale, read when `LC_ALL` and `LC_CTYPE` are unset.
pub const LANG: &str = "LANG";

/// The environment as the binary sees it: taken once in `main` (through
/// [`Env::from_process`]) and read only through `Context`, so tests hand a command their own
/// variables instead of changing the process's, and run in parallel. Values are wiped when
/// the snapshot is dropped: some are credentials.
#[derive(Clone, Default)]
pub struct Env {
    vars: std::collections::BTreeMap<String, zeroize::Zeroizing<String>>,
}

impl Env {
    /// The variables of this process (those that are valid UTF-8).
    pub fn from_process() -> Env {
        let vars = std::env::vars_os()
            .filter_map(|(name, value)| {
                Some((name.into_string().ok()?, value.into_string().ok()?.into()))
            })
            .collect();
        Env { vars }
    }

    /// A snapshot holding exactly `pairs`, for tests.
    pub fn of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        let mut env = Env::default();
        for (name, value) in pairs {
            env.set(name, value);
        }
        env
    }

    /// Sets (or replaces) `name`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string().into());
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        self.vars.remove(name);
    }

    /// The value of `name` when set and not empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .filter(|value| !value.is_empty())
            .map(|value| value.to_string())
    }

    /// The value of `name` as set, empty included (`None`: not set).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|value| value.as_str())
    }

    /// The home directory: `HOME`, else the operating system's record of the user.
    pub fn home(&self) -> Option<std::path::PathBuf> {
        self.get(HOME)
            .map(std::path::PathBuf::from)
            .or_else(std::env::home_dir)
    }

    /// Every variable, for a child process's environment.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}
