//! `tapegrad`: list, explain and run the documents' experiments; make data.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tapegrad_runner::output::{note, print_line, UsageError};
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
    /// Print the experiment's first training step as its tape recorded it: the ops with their
    /// values, the backward pass with each op's gradient and rule, the gradients.
    Explain(ExplainArgs),
    /// Keras's compile and fit of Dense layers on a table (all columns but the targets are
    /// features); the history and weights with --json.
    Fit(FitArgs),
    /// Make data sets.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct FitArgs {
    /// The table: CSV (Parquet with the `parquet` feature).
    data: PathBuf,
    /// A target column (repeatable, or comma-separated).
    #[arg(long = "target", required = true, value_delimiter = ',')]
    targets: Vec<String>,
    /// Dense layers: UNITS[:ACTIVATION], comma-separated (Keras's activation names).
    #[arg(long, value_parser = parse_layers_arg)]
    layers: LayersArg,
    /// Layer i's kernel is GlorotUniform(seed = S + i), every bias zeros; also the shuffle's
    /// seed.
    #[arg(long, value_parser = parse_seed_u32)]
    seed: Option<u32>,
    /// Keras's name: sgd, adam, rmsprop, adagrad, adadelta, nadam, adamax, adamw.
    #[arg(long, default_value = "rmsprop")]
    optimizer: String,
    /// The learning rate (default: the optimizer's Keras default).
    #[arg(long)]
    learning_rate: Option<f64>,
    /// SGD's (or RMSprop's) momentum.
    #[arg(long)]
    momentum: Option<f64>,
    /// Keras's name of the loss: mse, mae, huber, the cross-entropies.
    #[arg(long, default_value = "mse")]
    loss: String,
    /// Metrics (comma-separated Keras names: mae, mse, accuracy, ...).
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Keep the rows' order (Keras's shuffle=False).
    #[arg(long)]
    no_shuffle: bool,
    /// The last fraction of the rows kept for validation (before any shuffle).
    #[arg(long, default_value_t = 0.0)]
    validation_split: f64,
    /// Stop after this many epochs without improvement of val_loss (loss without validation).
    #[arg(long)]
    early_stopping_patience: Option<usize>,
    /// Start from these weights (.weights.h5, .keras, .safetensors, .npz) instead of the
    /// initializers.
    #[arg(long, value_name = "FILE")]
    initial_weights: Option<PathBuf>,
    /// Write the trained weights here (the format from the name: .weights.h5, .safetensors,
    /// .npz), atomically, once the fit has run its epochs (or stopped early). Not written when
    /// the fit is interrupted (Ctrl-C): as in Keras, an interrupt saves nothing; a note on
    /// stderr says so.
    #[arg(long, value_name = "FILE")]
    save_weights: Option<PathBuf>,
    /// Print {"history", "initial_weights", "weights"} as one JSON object, the last line.
    #[arg(long)]
    json: bool,
    /// No progress.
    #[arg(long)]
    quiet: bool,
}

/// `--layers`, parsed (a newtype: clap takes a `Vec` as repeated values).
#[derive(Clone)]
struct LayersArg(Vec<tapegrad_runner::fit::LayerSpec>);

fn parse_layers_arg(text: &str) -> Result<LayersArg, String> {
    tapegrad_runner::fit::parse_layers(text)
        .map(LayersArg)
        .map_err(|e| e.0)
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct RunArgs {
    /// Experiment id (see `tapegrad list`).
    id: String,
    /// Override a parameter: KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Draw the run's random numbers from our generator with this seed (numpy's RandomState:
    /// 0 to 4294967295).
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
    /// Write history.csv, summary.json and the figures here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print one JSON object with the results as the last line.
    #[arg(long)]
    json: bool,
    /// Run the training step through `tapegrad::function`: traced at the first step, replayed
    /// after (the same numbers, bit for bit).
    #[arg(long)]
    traced: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
#[command(allow_negative_numbers = true)]
struct ExplainArgs {
    /// Experiment id (see `tapegrad list`).
    id: String,
    /// Override a parameter: KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Draw the run's random numbers from our generator with this seed (numpy's RandomState:
    /// 0 to 4294967295).
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
    /// Also draw the step as a graph, written to FILE as SVG (`-` for stdout): each tensor with
    /// its value and gradient, each op a box.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
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
    /// Seed (numpy's RandomState: 0 to 4294967295); omit to draw from the global generator.
    #[arg(long, value_parser = parse_seed_u32)]
    random_state: Option<u32>,
    /// Also write the coefficients to this CSV file (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    coef: Option<PathBuf>,
    /// Output CSV file (`-`: stdout; `.parquet`: Parquet).
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
}

/// A seed as numpy's `RandomState` takes it, whatever the way it was mistyped.
fn parse_seed_u32(text: &str) -> Result<u32, String> {
    text.trim().parse::<u32>().map_err(|_| {
        format!(
            "a seed is an integer from 0 to {} (numpy's RandomState), got {text:?}",
            u32::MAX
        )
    })
}

/// `--seed`: every run that draws random numbers draws them from numpy's `RandomState`, whose
/// seeds are below 2^32, so a larger one is refused here, before any work.
fn parse_seed(text: &str) -> Result<u64, String> {
    parse_seed_u32(text).map(u64::from)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = output::clean_up_on_signals() {
        note(&format!(
            "warning: {e:#}; temporary files may be left behind if interrupted"
        ));
    }
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A reader that went away (`tapegrad list | head -1`) ends the output quietly.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let usage = e
                .downcast_ref::<ConfigError>()
                .map(ToString::to_string)
                .or_else(|| {
                    e.downcast_ref::<tapegrad_datasets::DatasetsError>()
                        .map(ToString::to_string)
                });
            let usage = usage.or_else(|| e.downcast_ref::<UsageError>().map(ToString::to_string));
            // a weights file that cannot be read or written is the input's fault
            let usage = usage.or_else(|| {
                e.downcast_ref::<tapegrad_saving::Error>()
                    .map(ToString::to_string)
            });
            if let Some(message) = usage {
                note(&format!("error: {message}"));
                return ExitCode::from(2);
            }
            note(&format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Prints `line` on stdout; a closed pipe stops the caller quietly, any other failure is the
/// command's error.
fn say(line: &str) -> anyhow::Result<bool> {
    print_line(line).context("writing to stdout")
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => {
            for e in tapegrad_runner::all() {
                if !say(&format!("{}\t{}\t{}", e.id(), e.document(), e.title()))? {
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
            say(&text)?;
            Ok(())
        }
        Command::Run(args) => run(args),
        Command::Explain(args) => explain(args),
        Command::Fit(args) => fit(args),
        Command::Data(DataCommand::MakeRegression(a)) => make_regression(a),
    }
}

fn fit(args: FitArgs) -> anyhow::Result<()> {
    let verbose = if args.quiet {
        0
    } else if std::io::stdout().is_terminal() {
        1
    } else {
        2
    };
    let spec = tapegrad_runner::fit::FitSpec {
        data: args.data,
        targets: args.targets,
        layers: args.layers.0,
        seed: args.seed,
        optimizer: args.optimizer,
        learning_rate: args.learning_rate,
        momentum: args.momentum,
        loss: args.loss,
        metrics: args.metrics,
        epochs: args.epochs,
        batch_size: args.batch_size,
        shuffle: !args.no_shuffle,
        validation_split: args.validation_split,
        early_stopping_patience: args.early_stopping_patience,
        verbose,
        initial_weights: args.initial_weights,
        save_weights: args.save_weights,
    };
    // Ctrl-C stops after the current batch; the history so far is printed
    let stop = output::stop_on_interrupt();
    let outcome = tapegrad_runner::fit::fit(&spec, Some(stop))?;
    if outcome.history.interrupted {
        note(&format!(
            "interrupted: stopped after the current batch; the history holds the {} epoch(s) completed",
            outcome.history.len()
        ));
    }
    if args.json {
        say(&serde_json::to_string(
            &tapegrad_runner::fit::outcome_json(&outcome),
        )?)?;
    }
    Ok(())
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let exp = find(&args.id)?;
    let params = exp.params();
    let mut cfg = Config::with_settings(&params, exp.id(), &args.set)?;
    cfg.seed = args.seed;
    // The output directory is checked, and claimed, before any training.
    let out_dir = args
        .out
        .as_deref()
        .map(output::RunDir::prepare)
        .transpose()?;
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let mut ctx = RunContext::new(true, progress).with_traced(args.traced);
    let out = exp.run(&cfg, &mut ctx)?;
    if let Some(dir) = out_dir {
        let written = dir.write(exp, &cfg, &out)?;
        if !args.json {
            for p in written {
                note(&format!("wrote {}", p.display()));
            }
        }
    }
    if let Some(e) = ctx.take_stdout_error() {
        return Err(e).context("writing the log to stdout");
    }
    if args.json {
        say(&serde_json::to_string(&output::summary(exp, &cfg, &out))?)?;
    }
    Ok(())
}

fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let exp = find(&args.id)?;
    let params = exp.params();
    let mut cfg = Config::with_settings(&params, exp.id(), &args.set)?;
    cfg.seed = args.seed;
    // the file is checked before the run (a directory, a name that is none)
    let svg_to_stdout = match &args.svg {
        Some(path) => output::destination(path)? == output::Destination::Stdout,
        None => false,
    };
    match tapegrad_runner::explain::explain(exp, &cfg)? {
        Some(e) => {
            let text = tapegrad_runner::explain::render(exp.id(), &e);
            if let Some(path) = &args.svg {
                output::write_atomic(path, tapegrad_runner::explain::svg(&e).as_bytes())?;
            }
            match (&args.svg, svg_to_stdout) {
                // the picture takes stdout: the text goes to stderr
                (Some(_), true) => note(text.trim_end()),
                (Some(path), false) => {
                    say(text.trim_end())?;
                    note(&format!("wrote {}", path.display()));
                }
                (None, _) => {
                    say(text.trim_end())?;
                }
            }
        }
        None => {
            say(&format!(
                "{}: its training loop computes its gradients by hand, without a tape: there is \
                 no recorded step to explain (see `tapegrad show {}`)",
                exp.id(),
                exp.id()
            ))?;
        }
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
    // Where the files go is settled before the data is made: a directory, or two outputs on
    // one file, is refused at once.
    let mut outputs = vec![("--out", a.out.as_path())];
    if let Some(coef) = &a.coef {
        outputs.push(("--coef", coef.as_path()));
    }
    output::refuse_shared_outputs(&outputs)?;
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
    // The rows are formatted as they are written: the file is never held in memory.
    output::write_with(&a.out, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(&header)?;
        for (xr, yr) in data.x.rows().into_iter().zip(data.y.rows()) {
            w.write_record(xr.iter().chain(yr.iter()).map(|v| format!("{v:?}")))?;
        }
        w.flush()?;
        Ok(())
    })
    .with_context(|| format!("writing {}", a.out.display()))?;
    if let (Some(path), Some(coef)) = (&a.coef, &data.coef) {
        let cols: Vec<String> = (0..coef.ncols())
            .map(|j| {
                if coef.ncols() == 1 {
                    "coef".into()
                } else {
                    format!("coef{j}")
                }
            })
            .collect();
        output::write_with(path, |out| {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&cols)?;
            for r in coef.rows() {
                w.write_record(r.iter().map(|v| format!("{v:?}")))?;
            }
            w.flush()?;
            Ok(())
        })
        .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
