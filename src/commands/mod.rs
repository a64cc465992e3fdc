//! One module per flag family; each handler returns an `Outcome` or an `AuthError`.

pub mod api_key;
pub mod status;
