//! One module per flag family; each handler returns an `Outcome` or an `AuthError`.

pub mod api_key;
pub mod login;
pub mod sessions;
pub mod status;
pub mod token;
