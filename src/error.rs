//! `AuthError`: the one error type. Each carries a stable code, an exit status and a hint.

use crate::redact::scrub_secrets;
use std::fmt;

/// Declares the error table once: `Variant => ("code", exit status, "meaning")`. From it
/// come the enum, `ErrorCode::ALL`, `as_str`, `exit_code`, `meaning` and the `--help`
/// footer (`exit_codes_help!`), so the codes, their statuses and the footer cannot drift
/// apart. tests/exit_codes.rs holds docs/exit-codes.md and the README to the same table.
macro_rules! error_codes {
    ($($variant:ident => ($name:literal, $exit:literal, $meaning:literal)),* $(,)?) => {
        /// The stable error codes of the product. Their strings and exit statuses are a
        /// public contract (docs/exit-codes.md): never renumber one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $name, "` (exit ", $exit, "): ", $meaning, ".")]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in exit-status order (for docs and tests).
            pub const ALL: [ErrorCode; [$($name),*].len()] = [$(ErrorCode::$variant),*];

            /// The machine-readable code, as in `{"error":{"code":…}}`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The process exit status for this code (STYLE.md's table).
            pub const fn exit_code(self) -> i32 {
                match self {
                    $(ErrorCode::$variant => $exit,)*
                }
            }

            /// What the code means, in one line: the opening words of its row in
            /// docs/exit-codes.md (a test holds the two together).
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)*
                }
            }
        }

        /// The `--help` footer's exit-code line, `Exit codes: 0 ok, 1 internal, …`, as a
        /// string literal for `concat!`: built by the compiler, it costs startup nothing.
        // A no-break space joins each status to its code: clap wraps at ASCII spaces, and
        // `6` at the end of one line with `expired_token` on the next reads as two entries.
        macro_rules! exit_codes_help {
            () => {
                concat!("Exit codes: 0\u{a0}ok", $(", ", $exit, "\u{a0}", $name,)* " (docs/exit-codes.md).")
            };
        }
        pub(crate) use exit_codes_help;
    };
}

error_codes! {
    Internal => ("internal", 1, "A failure inside `claude` or the OS"),
    Usage => ("usage", 2, "The command line is wrong"),
    ConfigError => ("config_error", 3, "The configuration cannot be used"),
    NotAuthenticated => ("not_authenticated", 4, "No credential is in force"),
    InvalidApiKey => ("invalid_api_key", 5, "The key is malformed or was refused"),
    ExpiredToken => ("expired_token", 6, "The OAuth session cannot give a token"),
    InsufficientPermissions => ("insufficient_permissions", 7, "The API answered HTTP 403: the key is valid but not allowed"),
    RateLimited => ("rate_limited", 8, "Rate limited"),
    NetworkError => ("network_error", 9, "The server could not be reached, did not answer within `authentication.timeout`, or kept answering 5xx"),
    MfaRequired => ("mfa_required", 10, "Policy needs a second-factor code and none was given"),
    StorageError => ("storage_error", 11, "The store cannot be used"),
    KeychainUnavailable => ("keychain_unavailable", 12, "The OS keychain cannot be reached"),
    IpRestricted => ("ip_restricted", 13, "This machine's address is outside `security.ipRestrictions`"),
    ProviderError => ("provider_error", 14, "The server did not answer like the API"),
    OauthError => ("oauth_error", 15, "The authorization server refused or failed the protocol"),
    PolicyViolation => ("policy_violation", 16, "Policy forbids the credential"),
    CallbackPortInUse => ("callback_port_in_use", 17, "`--login` could not listen on the port of `oauth.redirectUri`"),
    NotImplemented => ("not_implemented", 18, "The flag parses, but this version does not have its feature"),
    Cancelled => ("cancelled", 130, "The action was cancelled or timed out"),
}

impl ErrorCode {
    /// Whether an error of this code is a server's (or the format check's) verdict on the
    /// credential itself, so that changing the credential may help. Everything else (a
    /// network failure, a configuration or a store that cannot be used) says nothing about
    /// the credential, and a hint about where it came from would send the user the wrong way.
    pub const fn judges_the_credential(self) -> bool {
        matches!(
            self,
            ErrorCode::InvalidApiKey
                | ErrorCode::ExpiredToken
                | ErrorCode::InsufficientPermissions
                | ErrorCode::IpRestricted
                | ErrorCode::NotAuthenticated
        )
    }
}

/// An error the user sees: what went wrong, the chain of causes and what to do next.
///
/// # Security
/// Messages, causes and hints are printed, logged and put in reports: they must hold
/// fingerprints, never secrets. Every value shaped like a credential in them is masked as
/// the error is built ([`scrub_secrets`]), so an error quoting a config value, an argument
/// or a server's answer that was a key cannot carry it to any output.
#[derive(Clone, Debug)]
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
        ip_restricted => IpRestricted,
        provider => ProviderError,
        policy => PolicyViolation,
        cancelled => Cancelled,
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
