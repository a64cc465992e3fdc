//! claude-auth: the library behind the `claude` binary. An index of modules, nothing else.

// Everything printed goes through `output` (escaping, masking): a stray `eprintln!` fails
// clippy here instead of printing a server's escape sequences raw.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod apikey;
pub mod app;
pub mod audit;
pub mod billing;
pub mod browser;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod context;
pub mod coredump;
pub mod envvars;
pub mod error;
pub mod events;
pub mod http;
pub mod limits;
pub mod mfa;
pub mod oauth;
pub mod output;
pub mod policy;
pub mod process;
pub mod prompt;
pub mod providers;
pub mod redact;
pub mod resolve;
pub mod secret;
pub mod session;
pub mod storage;
pub mod style;
pub mod terminal;
pub mod terminal_text;
pub mod time;
pub mod trace;
pub mod uri;
