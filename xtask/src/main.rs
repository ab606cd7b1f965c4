//! `cargo xtask`: project automation (reproduce, bench-peers). Filled by later issues.

use anyhow::{bail, Result};

fn main() -> Result<()> {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        None | Some("help") | Some("--help") => {
            println!("usage: cargo xtask <task>\n\ntasks:\n  help    this message");
            Ok(())
        }
        Some(other) => bail!("unknown xtask `{other}` (known: help)"),
    }
}
