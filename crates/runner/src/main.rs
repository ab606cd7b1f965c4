//! `tapegrad`: list, explain and run the documents' experiments; make data.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tapegrad_runner::output::print_line;
use tapegrad_runner::{find, output, Config, ConfigError, RunContext};

#[derive(Parser)]
#[command(
    name = "tapegrad",
    version,
    about = "Run the GradientTape documents' experiments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One experiment a line: id, document, title (tab-separated).
    List,
    /// An experiment's parameters, defaults and meaning.
    Show {
        /// Experiment id.
        id: String,
    },
    /// Run an experiment and print the document-style log.
    Run(RunArgs),
    /// Make data sets.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Args)]
struct RunArgs {
    /// Experiment id (see `tapegrad list`).
    id: String,
    /// Override a parameter: KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Draw the run's random numbers from our generator with this seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Write history.csv, summary.json and the figures here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print one JSON object with the results as the last line.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum DataCommand {
    /// scikit-learn's make_regression, value for value, written as CSV (columns x0.., then y or y0..).
    MakeRegression(MakeRegressionArgs),
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct MakeRegressionArgs {
    #[arg(long, default_value_t = 100)]
    n_samples: usize,
    #[arg(long, default_value_t = 100)]
    n_features: usize,
    #[arg(long, default_value_t = 10)]
    n_informative: usize,
    #[arg(long, default_value_t = 1)]
    n_targets: usize,
    #[arg(long, default_value_t = 0.0)]
    bias: f64,
    /// Approximate rank of X (omit for a well-conditioned X).
    #[arg(long)]
    effective_rank: Option<usize>,
    #[arg(long, default_value_t = 0.5)]
    tail_strength: f64,
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// Shuffle rows and columns.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    shuffle: bool,
    /// Seed (numpy's RandomState); omit to draw from the global generator.
    #[arg(long)]
    random_state: Option<u32>,
    /// Also write the coefficients to this CSV file.
    #[arg(long, value_name = "FILE")]
    coef: Option<PathBuf>,
    /// Output CSV file.
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(c) = e.downcast_ref::<ConfigError>() {
                eprintln!("error: {c}");
                return ExitCode::from(2);
            }
            if let Some(d) = e.downcast_ref::<tapegrad_datasets::DatasetsError>() {
                eprintln!("error: {d}");
                return ExitCode::from(2);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => {
            for e in tapegrad_runner::all() {
                if !print_line(&format!("{}\t{}\t{}", e.id(), e.document(), e.title())) {
                    break;
                }
            }
            Ok(())
        }
        Command::Show { id } => {
            let e = find(&id)?;
            let mut text = format!(
                "{} (document {}): {}\n\n{}\n\nparameters (--set KEY=VALUE):",
                e.id(),
                e.document(),
                e.title(),
                e.description()
            );
            for p in e.params() {
                let default = p.default.to_string();
                text.push_str(&format!(
                    "\n  {:<16} default {default:<10} {}; {}",
                    p.key,
                    p.allowed(),
                    p.help
                ));
            }
            if e.unseeded() {
                text.push_str("\n\nThe document's run is unseeded; --seed N (default 0) picks our generator's seed.");
            }
            print_line(&text);
            Ok(())
        }
        Command::Run(args) => run(args),
        Command::Data(DataCommand::MakeRegression(a)) => make_regression(a),
    }
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let exp = find(&args.id)?;
    let params = exp.params();
    let mut cfg = Config::with_settings(&params, exp.id(), &args.set)?;
    cfg.seed = args.seed;
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let mut ctx = RunContext::new(true, progress);
    let out = exp.run(&cfg, &mut ctx)?;
    if let Some(dir) = &args.out {
        let written = output::write_run(dir, exp, &cfg, &out)?;
        if !args.json {
            for p in written {
                eprintln!("wrote {}", p.display());
            }
        }
    }
    if args.json {
        print_line(&serde_json::to_string(&output::summary(exp, &cfg, &out))?);
    }
    Ok(())
}

/// Writes the data set as Parquet (columns x0.., then y or y0.., the targets marked).
#[cfg(feature = "parquet")]
fn write_parquet(
    path: &std::path::Path,
    data: &tapegrad_datasets::sklearn::Regression,
) -> anyhow::Result<()> {
    let mut columns: Vec<(String, ndarray::Array1<f64>)> = data
        .x
        .columns()
        .into_iter()
        .enumerate()
        .map(|(j, c)| (format!("x{j}"), c.to_owned()))
        .collect();
    let targets: Vec<String> = if data.y.ncols() == 1 {
        vec!["y".into()]
    } else {
        (0..data.y.ncols()).map(|j| format!("y{j}")).collect()
    };
    for (name, c) in targets.iter().zip(data.y.columns()) {
        columns.push((name.clone(), c.to_owned()));
    }
    let mut ds = tapegrad_datasets::Dataset::from_columns(columns)?;
    let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    ds.set_targets(&refs)?;
    tapegrad_datasets::io::write_parquet(path, &ds)?;
    Ok(())
}

/// Without the `parquet` feature a `.parquet` output is refused with the way to get it.
#[cfg(not(feature = "parquet"))]
fn write_parquet(
    path: &std::path::Path,
    _data: &tapegrad_datasets::sklearn::Regression,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "{}: writing Parquet needs the `parquet` feature (cargo run -p tapegrad-runner --features parquet -- data make-regression ...)",
        path.display()
    )
}

fn make_regression(a: MakeRegressionArgs) -> anyhow::Result<()> {
    use tapegrad_datasets::sklearn::MakeRegression;
    let params = MakeRegression {
        n_samples: a.n_samples,
        n_features: a.n_features,
        n_informative: a.n_informative,
        n_targets: a.n_targets,
        bias: a.bias,
        effective_rank: a.effective_rank,
        tail_strength: a.tail_strength,
        noise: a.noise,
        shuffle: a.shuffle,
        coef: a.coef.is_some(),
        random_state: a.random_state,
    };
    let data = params.generate()?;
    if a.out.extension().is_some_and(|e| e == "parquet") {
        return write_parquet(&a.out, &data);
    }
    let mut header: Vec<String> = (0..data.x.ncols()).map(|j| format!("x{j}")).collect();
    if data.y.ncols() == 1 {
        header.push("y".into());
    } else {
        header.extend((0..data.y.ncols()).map(|j| format!("y{j}")));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    for (xr, yr) in data.x.rows().into_iter().zip(data.y.rows()) {
        w.write_record(xr.iter().chain(yr.iter()).map(|v| format!("{v:?}")))?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    output::write_atomic(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    if let (Some(path), Some(coef)) = (&a.coef, &data.coef) {
        let mut w = csv::Writer::from_writer(Vec::new());
        let cols: Vec<String> = (0..coef.ncols())
            .map(|j| {
                if coef.ncols() == 1 {
                    "coef".into()
                } else {
                    format!("coef{j}")
                }
            })
            .collect();
        w.write_record(&cols)?;
        for r in coef.rows() {
            w.write_record(r.iter().map(|v| format!("{v:?}")))?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        output::write_atomic(path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
