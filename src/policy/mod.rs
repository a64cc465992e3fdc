//! Security policy enforced on the client: compliance (storage at rest, data residency) and
//! key rotation through the Admin API.

pub mod compliance;
pub mod report;
pub mod rotation;
