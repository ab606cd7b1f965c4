//! `cargo xtask`: project automation.
//!
//! - `cargo xtask reproduce [--seeds N] [--threads N] [--only ID]...`: runs every documented
//!   experiment, compares its numbers with the documents' printed ones, writes
//!   `target/reproduce/REPORT.md`, `report.json` and every figure, and exits non-zero unless
//!   every number is exact, inside its distribution, or explained. It also runs each
//!   experiment eagerly and traced (`tapegrad run --traced`) and prints a line per experiment
//!   saying the traced run printed the same numbers and final parameters bit for bit (or the
//!   first that differs, which fails the run). The comparison table on the
//!   terminal wraps to its width and colours the verdicts (`reproduce::TableStyle::for_stdout`).
//! - `cargo xtask bench-peers [--only WORKLOAD]... [--batch-seconds S]`: times one step of each
//!   documented experiment in our crates, the hand-fused floor, and the Python peers
//!   (TensorFlow, PyTorch, JAX, numpy; missing ones reported as missing), and writes
//!   `target/bench-peers/`.
//! - `cargo xtask check-report [--page FILE] [--out PNG] [--width PX] [--tiles PX] [--static-only]`: checks
//!   `target/reproduce/index.html` statically and in headless Chromium (installed with apt-get
//!   when missing), saves a full-page screenshot `target/reproduce/report.png`, and exits
//!   non-zero on a console error, a missing figure or a broken link.
//! - `cargo xtask readme-images [--from DIR] [--to DIR]`: draws the README's pictures
//!   (`docs/images/report-page.png`, `docs/images/explained-tape.png`) in headless Chromium from
//!   what `reproduce` wrote.
//!
//! Each task's `--help` (or `-h`) prints its options.

mod bench_peers;
mod check_report;
mod readme_images;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use tapegrad_runner::reproduce::{self, Options, TableStyle};

/// What `cargo xtask reproduce --help` prints.
const REPRODUCE_USAGE: &str = "\
usage: cargo xtask reproduce [--seeds N] [--threads N] [--only ID]...

Runs every documented experiment, compares its numbers with the documents' printed ones, prints
the comparison (wrapped to the terminal's width, or COLUMNS; verdicts coloured on a terminal
unless NO_COLOR is set), writes target/reproduce/REPORT.md, report.json, index.html and every
figure, and exits non-zero unless every number is exact, inside its distribution, or explained.
Each experiment also runs eagerly and traced (tapegrad run --traced): a line per experiment says
the traced run printed the same numbers and final parameters bit for bit, or names the first
number that differs (which fails the run).

options:
  --seeds N     seeds per unseeded experiment (default: 1000)
  --threads N   worker threads for the seed sweeps (default: the available cores)
  --only ID     only this experiment (repeatable; default: all)
  -h, --help    this message";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        None | Some("help") | Some("--help") | Some("-h") => {
            println!(
                "usage: cargo xtask <task>\n\ntasks:\n  reproduce [--seeds N] [--threads N] [--only ID]...   \
                 rerun the documents and compare with their printed numbers\n  \
                 bench-peers [--only WORKLOAD]... [--batch-seconds S]  \
                 time the documented steps here and in TensorFlow, PyTorch, JAX, numpy\n  \
                 check-report [--page FILE] [--out PNG] [--width PX] [--tiles PX] [--static-only]  \
                 render target/reproduce/index.html in headless Chromium and check it\n  \
                 readme-images [--from DIR] [--to DIR]               \
                 draw the README's pictures (docs/images) from the reproduction\n  \
                 help                                              this message\n\n\
                 `cargo xtask <task> --help` describes a task's options."
            );
            Ok(ExitCode::SUCCESS)
        }
        Some("reproduce") => reproduce_cmd(args.collect()),
        Some("bench-peers") => {
            bench_peers::bench_peers(&workspace_root(), args.collect())?;
            Ok(ExitCode::SUCCESS)
        }
        Some("check-report") => Ok(
            if check_report::check_report(&workspace_root(), args.collect())? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            },
        ),
        Some("readme-images") => {
            readme_images::readme_images(&workspace_root(), args.collect())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => {
            bail!("unknown xtask `{other}` (known: reproduce, bench-peers, check-report, readme-images, help)")
        }
    }
}

fn reproduce_cmd(args: Vec<String>) -> Result<ExitCode> {
    let mut opts = Options {
        seeds: 1000,
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        out_dir: workspace_root().join("target").join("reproduce"),
        only: Vec::new(),
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--seeds" => {
                opts.seeds = value("--seeds")?
                    .parse()
                    .context("--seeds: expected a positive integer")?
            }
            "--threads" => {
                opts.threads = value("--threads")?
                    .parse()
                    .context("--threads: expected a positive integer")?
            }
            "--only" => opts.only.push(value("--only")?),
            "--help" | "-h" => {
                println!("{REPRODUCE_USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => {
                bail!("unknown option `{other}` (known: --seeds N, --threads N, --only ID, --help)")
            }
        }
    }
    if opts.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let started = std::time::Instant::now();
    let report = reproduce::reproduce(&opts)?;
    print!("{}", reproduce::table(&report, &TableStyle::for_stdout()));
    reproduce::write_report(&report, &opts.out_dir)?;
    println!(
        "\nwrote {} ({:.1} s)",
        opts.out_dir.join("REPORT.md").display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", report.summary_line());
    for check in &report.traced {
        println!("{}", check.line());
    }
    println!("{}", reproduce::traced_summary(&report.traced));
    println!(
        "report page: {}",
        opts.out_dir.join(reproduce::PAGE).display()
    );
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_an_answer_and_an_unknown_option_an_error() {
        for help in ["--help", "-h"] {
            let code = reproduce_cmd(vec![help.into()]).expect("help is no error");
            assert_eq!(code, ExitCode::SUCCESS);
            assert!(
                check_report::check_report(&workspace_root(), vec![help.into()])
                    .expect("help is no error")
            );
            assert!(bench_peers::bench_peers(&workspace_root(), vec![help.into()]).is_ok());
        }
        assert!(reproduce_cmd(vec!["--bogus".into()]).is_err());
        assert!(check_report::check_report(&workspace_root(), vec!["--bogus".into()]).is_err());
    }
}
