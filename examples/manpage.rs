//! Writes the man page, `claude.1`, from the clap definition:
//! `cargo run --example manpage > claude.1` (docs/install.md says where to put it).

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(claude_auth::cli::command()).render(&mut page)?;
    std::io::stdout().lock().write_all(&page)
}
