//! Security policy that is enforced, not just parsed: `security.ipRestrictions` (ip).

pub mod ip;
