//! Every environment variable the binary reads, one constant each.

/// An Anthropic API key; second in the resolution order, after `--api-key`.
pub const ANTHROPIC_API_KEY: &str = "ANTHROPIC_API_KEY";
/// Overrides the Anthropic API host (`https://api.anthropic.com`); tests point it at loopback.
pub const ANTHROPIC_BASE_URL: &str = "ANTHROPIC_BASE_URL";
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
/// Upper bound for one keychain call in milliseconds (default 5000).
pub const CLAUDE_KEYCHAIN_TIMEOUT_MS: &str = "CLAUDE_KEYCHAIN_TIMEOUT_MS";
/// PEM file of extra root certificates to trust (corporate proxies, local test servers).
pub const CLAUDE_CA_BUNDLE: &str = "CLAUDE_CA_BUNDLE";
/// Debug builds only: the clock's "now" in Unix seconds, so tests can age keys.
pub const CLAUDE_TEST_NOW: &str = "CLAUDE_TEST_NOW";
/// Per-user runtime directory; its `bus` socket is the session bus when the address is unset.
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// Home directory, for the default state directory.
pub const HOME: &str = "HOME";
/// D-Bus session bus address; without it the Secret Service keychain cannot be reached.
pub const DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";

/// The value of `name` when set and not empty.
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
