//! One module per flag family; each handler returns an `Outcome` or an `AuthError`.

pub mod admin_key;
pub mod api_key;
pub mod audit_log;
pub mod cloud_status;
pub mod completions;
pub mod cost;
pub mod diagnose;
pub mod github;
pub mod login;
pub mod mfa;
pub mod permissions;
pub mod reset;
pub mod sessions;
pub mod status;
pub mod storage;
pub mod subscription;
pub mod test_auth;
pub mod token;
pub mod upgrade;
