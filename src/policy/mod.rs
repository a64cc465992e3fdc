//! Security policy enforced on the client: IP ranges (ip, checked by http.rs before every
//! request), compliance (storage at rest, data residency) and key rotation through the Admin
//! API.

pub mod compliance;
pub mod ip;
pub mod report;
pub mod rotation;
