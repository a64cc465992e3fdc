//! The services credentials are checked against.

pub mod anthropic;
