//! `AuthError`: the one error type. Each carries a stable code, an exit status and a hint.

use crate::redact::scrub_secrets;
use std::fmt;

/// The stable error codes of the product. Their strings and exit statuses are a public
/// contract (docs/exit-codes.md): never renumber one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Internal,
    Usage,
    ConfigError,
    NotAuthenticated,
    InvalidApiKey,
    ExpiredToken,
    InsufficientPermissions,
    RateLimited,
    NetworkError,
    MfaRequired,
    StorageError,
    KeychainUnavailable,
    IpRestricted,
    ProviderError,
    OauthError,
    PolicyViolation,
    CallbackPortInUse,
    NotImplemented,
    Cancelled,
}

impl ErrorCode {
    /// Every code, in exit-status order (for docs and tests).
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::Internal,
        ErrorCode::Usage,
        ErrorCode::ConfigError,
        ErrorCode::NotAuthenticated,
        ErrorCode::InvalidApiKey,
        ErrorCode::ExpiredToken,
        ErrorCode::InsufficientPermissions,
        ErrorCode::RateLimited,
        ErrorCode::NetworkError,
        ErrorCode::MfaRequired,
        ErrorCode::StorageError,
        ErrorCode::KeychainUnavailable,
        ErrorCode::IpRestricted,
        ErrorCode::ProviderError,
        ErrorCode::OauthError,
        ErrorCode::PolicyViolation,
        ErrorCode::CallbackPortInUse,
        ErrorCode::NotImplemented,
        ErrorCode::Cancelled,
    ];

    /// The machine-readable code, as in `{"error":{"code":…}}`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Internal => "internal",
            ErrorCode::Usage => "usage",
            ErrorCode::ConfigError => "config_error",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InsufficientPermissions => "insufficient_permissions",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NetworkError => "network_error",
            ErrorCode::MfaRequired => "mfa_required",
            ErrorCode::StorageError => "storage_error",
            ErrorCode::KeychainUnavailable => "keychain_unavailable",
            ErrorCode::IpRestricted => "ip_restricted",
            ErrorCode::ProviderError => "provider_error",
            ErrorCode::OauthError => "oauth_error",
            ErrorCode::PolicyViolation => "policy_violation",
            ErrorCode::CallbackPortInUse => "callback_port_in_use",
            ErrorCode::NotImplemented => "not_implemented",
            ErrorCode::Cancelled => "cancelled",
        }
    }

    /// The process exit status for this code (STYLE.md's table).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::Internal => 1,
            ErrorCode::Usage => 2,
            ErrorCode::ConfigError => 3,
            ErrorCode::NotAuthenticated => 4,
            ErrorCode::InvalidApiKey => 5,
            ErrorCode::ExpiredToken => 6,
            ErrorCode::InsufficientPermissions => 7,
            ErrorCode::RateLimited => 8,
            ErrorCode::NetworkError => 9,
            ErrorCode::MfaRequired => 10,
            ErrorCode::StorageError => 11,
            ErrorCode::KeychainUnavailable => 12,
            ErrorCode::IpRestricted => 13,
            ErrorCode::ProviderError => 14,
            ErrorCode::OauthError => 15,
            ErrorCode::PolicyViolation => 16,
            ErrorCode::CallbackPortInUse => 17,
            ErrorCode::NotImplemented => 18,
            ErrorCode::Cancelled => 130,
        }
    }
}

/// An error the user sees: what went wrong, the chain of causes and what to do next.
///
/// # Security
/// Messages, causes and hints are printed, logged and put in reports: they must hold
/// fingerprints, never secrets. Every value shaped like a credential in them is masked as
/// the error is built ([`scrub_secrets`]), so an error quoting a config value, an argument
/// or a server's answer that was a key cannot carry it to any output.
#[derive(Debug)]
pub struct AuthError {
    code: ErrorCode,
    message: String,
    causes: Vec<String>,
    hint: Option<String>,
}

macro_rules! constructors {
    ($($name:ident => $code:ident),* $(,)?) => {
        $(
            #[doc = concat!("An error with code `", stringify!($name), "`.")]
            pub fn $name(message: impl Into<String>) -> AuthError {
                AuthError::new(ErrorCode::$code, message)
            }
        )*
    };
}

impl AuthError {
    /// An error with `code` and a one-line `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AuthError {
        AuthError {
            code,
            message: scrub_secrets(&message.into()),
            causes: Vec::new(),
            hint: None,
        }
    }

    constructors! {
        internal => Internal,
        usage => Usage,
        config => ConfigError,
        not_authenticated => NotAuthenticated,
        invalid_api_key => InvalidApiKey,
        insufficient_permissions => InsufficientPermissions,
        rate_limited => RateLimited,
        network => NetworkError,
        storage => StorageError,
        keychain_unavailable => KeychainUnavailable,
        provider => ProviderError,
        policy => PolicyViolation,
        cancelled => Cancelled,
    }

    /// `flag` exists but its feature is not in this build.
    pub fn not_implemented(flag: &str) -> AuthError {
        AuthError::new(
            ErrorCode::NotImplemented,
            format!("`{flag}` is not available in this version of claude"),
        )
        .with_hint("see `claude --help` for what this version can do")
    }

    /// Adds what to do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> AuthError {
        self.hint = Some(scrub_secrets(&hint.into()));
        self
    }

    /// Adds an underlying cause (printed as `caused by:`).
    pub fn caused_by(mut self, cause: impl fmt::Display) -> AuthError {
        self.causes.push(scrub_secrets(&cause.to_string()));
        self
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The process exit status.
    pub fn exit_code(&self) -> i32 {
        self.code.exit_code()
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do next, when there is something to do.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The causes, outermost first.
    pub fn causes(&self) -> &[String] {
        &self.causes
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_quoted_anywhere_in_an_error_is_masked() {
        let key = "sk-ant-api03-abcdefghijklmnopWXYZ";
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let err = AuthError::config(format!("unknown variant `{key}`"))
            .caused_by(format!("invalid type: string \"{token}\""))
            .with_hint(format!("remove `{key}` from the file"));
        assert_eq!(err.message(), "unknown variant `sk-ant-api03-…WXYZ`");
        assert_eq!(err.causes(), ["invalid type: string \"ghp_…6789\""]);
        assert_eq!(
            err.hint(),
            Some("remove `sk-ant-api03-…WXYZ` from the file")
        );
    }

    #[test]
    fn exit_codes_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(
                seen.insert(code.exit_code()),
                "{code:?} reuses an exit code"
            );
        }
    }
}
