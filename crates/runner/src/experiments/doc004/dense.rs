//! Document 004, In [19]-[28]: the document's `CustomDense` layer trained with hand-written SGD
//! (`assign_sub`) — one row a step, three rows a step, and two layers on `make_regression`.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tapegrad_autodiff::{reduce_mean, reshape, GradientTape, Tensor};
use tapegrad_datasets::recipes::doc004_regression;
use tapegrad_datasets::{Dataset, RandomState};
use tapegrad_nn::losses::mean_squared_error;
use tapegrad_nn::{GlorotUniform, Layer};
use tapegrad_tensor as tt;
use tapegrad_tensor::ndarray::{s, Array2};

use super::{mlp_initial_kernel, numpy_random_state, CustomDense, Recorded, DOCUMENT};
use crate::config::{Config, Param};
use crate::experiment::{Experiment, History, LossHistory, RunContext, RunOutput, StoppedBy};
use crate::format::np_f32;
use crate::json::{num, tensor_json};
use crate::step::{assign_sub_all, Step};

/// The kernel the document prints for `CustomDense(1)` built on `(3,)`: TF's GlorotUniform draw.
const PRINTED_KERNEL: [f32; 3] = [0.877_380_5, 0.398_356_9, -0.346_086_56];

/// In [20]: `x1, x2, x3 = np.random.normal(size = 100)` three times, then
/// `dataset['y'] = 3*dataset['x1'] + 2*dataset['x2'] - 7*dataset['x3'] + 5` (float64).
/// (`recipes::doc004_dataset` draws from the process-wide generator; the same draws from a
/// generator of our own keep concurrent runs from interleaving.)
fn normal_dataset(rs: &mut RandomState) -> anyhow::Result<Dataset> {
    let x1 = rs.normal(0.0, 1.0, 100)?;
    let x2 = rs.normal(0.0, 1.0, 100)?;
    let x3 = rs.normal(0.0, 1.0, 100)?;
    let y = tapegrad_tensor::ndarray::Zip::from(&x1)
        .and(&x2)
        .and(&x3)
        .map_collect(|&a, &b, &c| 3.0 * a + 2.0 * b - 7.0 * c + 5.0);
    let mut dataset = Dataset::from_columns(vec![("x1", x1), ("x2", x2), ("x3", x3)])?;
    dataset.insert("y", y)?;
    dataset.set_targets(&["y"])?;
    Ok(dataset)
}

/// A float64 matrix as a tensor (numpy's `.values`).
fn tensor_of(a: &Array2<f64>) -> anyhow::Result<Tensor> {
    Ok(Tensor::from_vec(
        a.iter().copied().collect(),
        &[a.nrows(), a.ncols()],
    )?)
}

/// The Dense cells' parameters.
fn dense_params(error_margin: f64, batch_size: Option<i64>) -> Vec<Param> {
    let mut params = vec![
        Param::float("learning_rate", 0.1, 0.0, 10.0, "SGD learning rate"),
        Param::float(
            "error_margin",
            error_margin,
            0.0,
            1e38,
            if batch_size.is_some() {
                "stop when |loss[-1] - loss[-2]| <= error_margin"
            } else {
                "stop when |loss[-1]| <= error_margin (the tf.abs(a, b) quirk)"
            },
        ),
        Param::int(
            "max_steps",
            1_000_000,
            1,
            100_000_000,
            "safety cap on the `while True` loop (not in the document)",
        ),
    ];
    if let Some(b) = batch_size {
        params.push(Param::int(
            "batch_size",
            b,
            1,
            100,
            "rows per step (dataset.sample(batch_size))",
        ));
    }
    params
}

/// In [21] and In [24]: one `CustomDense(1, 'linear')` trained on `dataset.sample(batch_size)`.
fn run_dense(
    cfg: &Config,
    ctx: &mut RunContext,
    batch_size: Option<usize>,
) -> anyhow::Result<RunOutput> {
    let learning_rate = cfg.f64("learning_rate");
    let error_margin = cfg.f64("error_margin");
    let max_steps = cfg.usize("max_steps");

    // np.random.seed(42), and the data of In [20] / In [23]
    let mut np_random = numpy_random_state(cfg.seed, 42)?;
    let dataset = normal_dataset(&mut np_random)?;
    ctx.println(dataset.head(5).to_string());
    ctx.println("");

    // custom_dense = CustomDense(1, activation = 'linear'); TF's GlorotUniform draw is the
    // printed kernel; --seed n draws tf-keras's GlorotUniform(seed=n), bit for bit
    let mut custom_dense = match cfg.seed {
        None => CustomDense::new(
            1,
            "linear",
            Recorded(tt::Array::from_vec(PRINTED_KERNEL.to_vec(), &[3, 1])?),
        )?,
        Some(n) => CustomDense::new(1, "linear", GlorotUniform::seeded(n))?,
    };
    custom_dense.build(&[3])?;
    let initial_weights = custom_dense.get_weights()[0].clone();
    let initial_bias = custom_dense.trainable_variables()[1].snapshot();

    // One step: the loss of the sampled rows on a tape, its gradients, assign_sub for kernel
    // and bias; its inputs the rows (x, y), its result the loss (traced with --traced).
    let trainable_variables = custom_dense.trainable_variables();
    let mut step = Step::new(ctx.traced(), |_: &mut (), rows: &[Tensor]| {
        let (random_x, random_y) = (&rows[0], &rows[1]);
        let t = GradientTape::new();
        for v in &trainable_variables {
            t.watch(v);
        }
        let current_loss = match batch_size {
            None => {
                // mean_squared_error(y_true=[random_y], y_pred=[custom_dense([random_x])]):
                // the prediction list has shape (1, 1, 1), the loss (1, 1)
                let y_pred = reshape(&custom_dense.call(random_x)?, &[1, 1, 1])?;
                mean_squared_error(random_y, &y_pred)?
            }
            Some(_) => {
                // y_true (3,) against y_pred (3, 1): Keras broadcasts to 3 x 3 pairs
                let y_pred = custom_dense.call(random_x)?;
                reduce_mean(mean_squared_error(random_y, &y_pred)?, None, false)?
            }
        };
        let gradient = t.gradient(&current_loss, &trainable_variables)?;
        assign_sub_all(&trainable_variables, &gradient, learning_rate)?;
        Ok(current_loss)
    });

    // The document keeps weight_list, bias_list and loss_list of every step and prints their
    // first and last entries; we keep the first and last losses, the previous loss the stop
    // test reads, and each step's numbers as plain floats in the history (a file past its
    // first rows), so a run of 10^8 steps stays flat. The weights are read, not kept: a
    // tensor of them held past the step would make the next update copy them.
    let mut first_loss: Option<Tensor> = None;
    let mut last_loss: Option<Tensor>;
    let mut previous: Option<f64> = None;
    let mut losses = LossHistory::default();
    let mut history = History::new(&["step", "loss", "w1", "w2", "w3", "b"]);
    let mut row: Vec<f64> = Vec::with_capacity(history.columns.len());
    let mut stopped_by = StoppedBy::Steps;
    let mut diverged_at = None;
    let started = Instant::now();
    loop {
        let rows = match batch_size {
            None => {
                // random_row = dataset.sample(1).values; random_x = random_row[0][:3]
                let random_row = dataset.sample_with(&mut np_random, 1)?;
                [
                    tensor_of(&random_row.slice(s![.., ..3]).to_owned())?,
                    Tensor::from_vec(vec![random_row[[0, 3]]], &[1])?,
                ]
            }
            Some(batch_size) => {
                // batch = dataset.sample(batch_size).values
                let batch = dataset.sample_with(&mut np_random, batch_size)?;
                [
                    tensor_of(&batch.slice(s![.., ..3]).to_owned())?,
                    Tensor::from_vec(batch.column(3).to_vec(), &[batch.nrows()])?,
                ]
            }
        };
        let current_loss = step.call(&mut (), &rows)?;

        // record the process
        let loss = current_loss.item()?;
        row.clear();
        row.extend([losses.len() as f64, loss]);
        for v in &trainable_variables {
            let value = v.snapshot();
            row.extend(value.value().view::<f32>()?.iter().map(|&x| f64::from(x)));
        }
        history.push(&row)?;
        losses.push(loss);
        if first_loss.is_none() {
            first_loss = Some(current_loss.clone());
        }
        last_loss = Some(current_loss);

        let n = losses.len();
        if !loss.is_finite() {
            diverged_at = Some(n - 1);
            break;
        }
        if let Some(previous) = previous.replace(loss) {
            let last = loss;
            let test = match batch_size {
                // tf.abs(loss_list[-1], loss_list[-2]): the second argument is `name`
                None => (last as f32).abs(),
                // tf.abs(loss_list[-1] - loss_list[-2]) in float32
                Some(_) => (last as f32 - previous as f32).abs(),
            };
            if test as f64 <= error_margin {
                stopped_by = StoppedBy::Criterion;
                break;
            }
        }
        if n >= max_steps {
            break;
        }
        ctx.progress(n as u64, max_steps as u64);
    }
    let train_seconds = started.elapsed().as_secs_f64();
    ctx.finish();

    let (Some(first_loss), Some(last_loss)) = (first_loss.as_ref(), last_loss.as_ref()) else {
        anyhow::bail!("the loop recorded no step");
    };
    // the weights after the last step
    let (final_weights, final_bias) = (
        &trainable_variables[0].snapshot(),
        &trainable_variables[1].snapshot(),
    );
    // loss_list holds (1, 1) arrays for one row a step, numpy float32 scalars for a batch
    let loss_text = |l: &Tensor| -> anyhow::Result<String> {
        Ok(match batch_size {
            None => l.value().to_string(),
            Some(_) => np_f32(l.item()? as f32),
        })
    };
    ctx.println("Results");
    ctx.println("--------------\n");
    ctx.println(format!("Initial Weights: {}", initial_weights.value()));
    ctx.println(format!("Final Weights: {}", final_weights.value()));
    ctx.println("");
    ctx.println(format!("Initial Bias: {}", initial_bias.value()));
    ctx.println(format!("Final Bias: {}", final_bias.value()));
    ctx.println("");
    ctx.println(format!("Initial Loss: {}", loss_text(first_loss)?));
    ctx.println("");
    ctx.println(format!("Final Loss: {}", loss_text(last_loss)?));
    if stopped_by == StoppedBy::Criterion && batch_size.is_none() {
        ctx.println(format!(
            "(stopped after {} steps because the last loss itself is <= error_margin = {}: \
             tf.abs(loss_list[-1], loss_list[-2]) takes loss_list[-2] as its `name`)",
            losses.len(),
            error_margin
        ));
    }

    let mut out = RunOutput {
        steps: losses.len(),
        stopped_by: Some(if diverged_at.is_some() {
            StoppedBy::Diverged
        } else {
            stopped_by
        }),
        diverged_at,
        train_seconds,
        history,
        ..Default::default()
    };
    step.report(&mut out);
    out.quantities.insert(
        "initial_weights".into(),
        json!(initial_weights.value().to_string()),
    );
    out.quantities.insert(
        "initial_bias".into(),
        json!(initial_bias.value().to_string()),
    );
    out.quantities
        .insert("final_weights".into(), tensor_json(final_weights));
    out.quantities
        .insert("final_bias".into(), tensor_json(final_bias));
    let loss_quantity = |l: &Tensor| -> anyhow::Result<serde_json::Value> {
        Ok(match batch_size {
            None => tensor_json(l),
            Some(_) => num(l.item()?),
        })
    };
    out.quantities
        .insert("initial_loss".into(), loss_quantity(first_loss)?);
    out.quantities
        .insert("final_loss".into(), loss_quantity(last_loss)?);
    out.variables
        .insert("weights".into(), tensor_json(final_weights));
    out.variables
        .insert("biases".into(), tensor_json(final_bias));
    losses.finish(&mut out);
    Ok(out)
}

/// `depth-dense-sgd`.
pub struct DenseSgd;

impl Experiment for DenseSgd {
    fn id(&self) -> &'static str {
        "depth-dense-sgd"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "A Dense layer (CustomDense(1)) trained by one-row SGD on y = 3x1 + 2x2 - 7x3 + 5"
    }
    fn description(&self) -> &'static str {
        "np.random.seed(42); x1, x2, x3 = np.random.normal(size = 100); y = 3x1 + 2x2 - 7x3 + 5 in \
         a DataFrame. CustomDense(1, 'linear') built on (3,): the document's printed GlorotUniform \
         kernel [[0.8773805], [0.3983569], [-0.34608656]] (TF's draw; --seed n draws tf-keras's \
         GlorotUniform(seed=n) and the data with np.random.seed(n)) and a zero bias. Each step takes \
         dataset.sample(1) (numpy's global RandomState: permutation(100)[0]), the loss \
         mean_squared_error([y], [layer([x])]) of shape (1, 1), its tape gradients and \
         assign_sub(learning_rate * gradient) for kernel and bias. The stop test \
         tf.abs(loss_list[-1], loss_list[-2]) <= 0.01 passes the previous loss as tf.abs's \
         `name`: the loop stops at the first one-row loss <= 0.01 (12 steps), far from the \
         true weights. The matmul is plain float32 (no fused multiply-add), as the document's \
         numbers were computed."
    }
    fn params(&self) -> Vec<Param> {
        dense_params(0.01, None)
    }
    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        run_dense(cfg, ctx, None)
    }
}

/// `depth-dense-minibatch`.
pub struct DenseMinibatch;

impl Experiment for DenseMinibatch {
    fn id(&self) -> &'static str {
        "depth-dense-minibatch"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "The same Dense layer trained by mini-batch SGD, three rows a step"
    }
    fn description(&self) -> &'static str {
        "In [22]-[24]: re-seeded with 42, the same data and printed kernel; each step takes \
         dataset.sample(3) and the loss tf.reduce_mean(mean_squared_error(y_true=random_y (3,), \
         y_pred=custom_dense(random_x) (3, 1))). Keras broadcasts (3,) against (3, 1) to a 3 x 3 \
         matrix of (pred_i - y_j)^2, so the loss averages 9 pairs and pulls every prediction \
         toward the batch mean. Here the stop test is the intended |loss[-1] - loss[-2]| <= 0.1: \
         1209 steps."
    }
    fn params(&self) -> Vec<Param> {
        dense_params(0.1, Some(3))
    }
    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        run_dense(cfg, ctx, Some(cfg.usize("batch_size")))
    }
}

/// `depth-mlp`.
pub struct Mlp;

impl Experiment for Mlp {
    fn id(&self) -> &'static str {
        "depth-mlp"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "Two Dense layers (10 relu units, then 1) by one-row SGD on make_regression"
    }
    fn description(&self) -> &'static str {
        "x, y = make_regression(n_samples=10, n_features=10, n_targets=1, bias=1, \
         random_state=42); CustomDense(10, 'relu') then CustomDense(1, 'linear'). Their \
         GlorotUniform kernels are not printed: by default they are TF 2.21's draws after \
         random.seed(42) (data/reference/doc004_mlp_initial_kernels.json, checked there against \
         the recorded weights after the first step); --seed n draws them (and the rows) from our \
         generators. Each step: dataset.sample(1) from np.random.seed(42)'s stream, the loss \
         tf.reduce_mean(mean_squared_error(y, y_pred)) on a persistent tape, gradients of both \
         layers, assign_sub(learning_rate * gradient). It stops when |loss[-1] - loss[-2]| <= 0.1 \
         (403 steps) or after max_iterations; then 10 more dataset.sample(1) rows are predicted \
         and printed beside their real values."
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param::float("learning_rate", 0.0001, 0.0, 10.0, "SGD learning rate"),
            Param::float(
                "error_margin",
                0.1,
                0.0,
                1e38,
                "stop when |loss[-1] - loss[-2]| <= error_margin",
            ),
            Param::int(
                "max_iterations",
                1000,
                0,
                100_000_000,
                "stop after max_iterations + 1 steps",
            ),
            Param::int(
                "samples",
                10,
                0,
                10_000,
                "rows predicted after training (In [28])",
            ),
        ]
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let learning_rate = cfg.f64("learning_rate");
        let error_margin = cfg.f64("error_margin");
        let max_iterations = cfg.usize("max_iterations");

        // np.random.seed(42) in In [25]; make_regression uses its own RandomState(42)
        let mut np_random = numpy_random_state(cfg.seed, 42)?;
        let dataset = doc004_regression()?;
        ctx.println(dataset.head(5).to_string());
        ctx.println("");

        let (mut custom_dense1, mut custom_dense2) = match cfg.seed {
            None => (
                CustomDense::new(
                    10,
                    "relu",
                    Recorded(mlp_initial_kernel("custom_dense1_kernel")?),
                )?,
                CustomDense::new(
                    1,
                    "linear",
                    Recorded(mlp_initial_kernel("custom_dense2_kernel")?),
                )?,
            ),
            Some(n) => (
                CustomDense::new(10, "relu", GlorotUniform::seeded(n))?,
                CustomDense::new(1, "linear", GlorotUniform::seeded(n.wrapping_add(1)))?,
            ),
        };
        custom_dense1.build(&[10])?;
        custom_dense2.build(&[10])?; // output shape of the previous layer is input shape for this one

        let ncols = dataset.ncols();
        let mut losses = LossHistory::default();
        let mut previous: Option<f32> = None;
        let mut history = History::new(&["step", "row_target", "loss"]);
        let mut iterations = 0usize;
        let mut stopped_by = StoppedBy::Steps;
        let mut diverged_at = None;
        // One step: both layers on the sampled row, the loss on a persistent tape, each
        // layer's gradients, assign_sub; its inputs the row (x, y), its result the loss
        // (traced with --traced).
        let (vars1, vars2) = (
            custom_dense1.trainable_variables(),
            custom_dense2.trainable_variables(),
        );
        let mut step = Step::new(ctx.traced(), |_: &mut (), row: &[Tensor]| {
            let (random_x, random_y) = (&row[0], &row[1]);
            let t = GradientTape::persistent();
            for v in vars1.iter().chain(&vars2) {
                t.watch(v);
            }
            let h = custom_dense1.call(random_x)?;
            let y_pred = custom_dense2.call(&h)?;
            let current_loss = reduce_mean(mean_squared_error(random_y, &y_pred)?, None, false)?;

            let gradient2 = t.gradient(&current_loss, &vars2)?;
            let gradient1 = t.gradient(&current_loss, &vars1)?;
            assign_sub_all(&vars2, &gradient2, learning_rate)?;
            assign_sub_all(&vars1, &gradient1, learning_rate)?;
            Ok(current_loss)
        });
        let started = Instant::now();
        loop {
            let random_row = dataset.sample_with(&mut np_random, 1)?;
            let random_x = tensor_of(&random_row.slice(s![.., ..ncols - 1]).to_owned())?;
            let random_y = Tensor::from_vec(vec![random_row[[0, ncols - 1]]], &[1])?;
            let current_loss = step.call(&mut (), &[random_x, random_y])?;

            let loss = current_loss.item()? as f32;
            history.push(&[losses.len() as f64, random_row[[0, ncols - 1]], loss as f64])?;
            losses.push(loss as f64);
            let n = losses.len();
            if !loss.is_finite() {
                diverged_at = Some(n - 1);
                break;
            }
            // Check for convergence or max iterations
            if previous
                .replace(loss)
                .is_some_and(|previous| (loss - previous).abs() as f64 <= error_margin)
            {
                stopped_by = StoppedBy::Criterion;
                break;
            }
            if iterations == max_iterations {
                break;
            }
            iterations += 1;
            ctx.progress(n as u64, max_iterations as u64 + 1);
        }
        let train_seconds = started.elapsed().as_secs_f64();
        ctx.finish();

        // In [28]
        let mut out = RunOutput::default();
        step.report(&mut out);
        drop(step);
        ctx.println("Sample Results:");
        ctx.println("--------------");
        for i in 0..cfg.usize("samples") {
            let sample = dataset.sample_with(&mut np_random, 1)?;
            let sample_x = tensor_of(&sample.slice(s![.., ..ncols - 1]).to_owned())?;
            let sample_y = tt::Array::from_vec(vec![sample[[0, ncols - 1]]], &[1])?;
            let prediction = custom_dense2.apply(&custom_dense1.apply(&sample_x)?)?;
            ctx.println(format!("\nPrediction: {}", prediction.value()));
            ctx.println(format!("Real value: {sample_y}"));
            out.quantities
                .insert(format!("prediction[{i}]"), tensor_json(&prediction));
            out.quantities
                .insert(format!("real_value[{i}]"), json!(sample_y.to_string()));
        }

        out.steps = losses.len();
        out.stopped_by = Some(if diverged_at.is_some() {
            StoppedBy::Diverged
        } else {
            stopped_by
        });
        out.diverged_at = diverged_at;
        out.train_seconds = train_seconds;
        out.history = history;
        for (name, layer) in [
            ("custom_dense1", &custom_dense1),
            ("custom_dense2", &custom_dense2),
        ] {
            let w = layer.get_weights();
            let (kernel, bias) = (
                w.first().context("layer has no kernel")?,
                w.get(1).context("layer has no bias")?,
            );
            out.variables
                .insert(format!("{name}/weights"), tensor_json(kernel));
            out.variables
                .insert(format!("{name}/biases"), tensor_json(bias));
        }
        losses.finish(&mut out);
        Ok(out)
    }
}
