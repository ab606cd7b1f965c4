//! Document 001, "Linear regression from scratch with tf.GradientTape": the `x**2` gradient
//! demo, then `w0 * X + w1` fitted to `X = 2·rand(100, 1)`, `Y = 3X + 4 + 0.5·rand(100, 1)` by
//! plain gradient descent (`assign_sub`) on the mean squared error, logging every 100 steps.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tapegrad_autodiff::{pow, reduce_mean, GradientTape, Tensor, Variable};
use tapegrad_datasets::RandomState;
use tapegrad_tensor::ndarray::Array2;

use crate::config::{Config, Param};
use crate::experiment::{Experiment, History, RunContext, RunOutput, StoppedBy};
use crate::figures::{Figure, Mark, Series};
use crate::format::{fixed, np_f32, py_float};
use crate::json::{num, nums};
use crate::step::{no_gradient, Step};

/// `scratch-regression`.
pub struct ScratchRegression;

/// The numpy seed of a run of an unseeded document: `--seed N`, or 0 when none is given.
/// numpy's `RandomState(seed)` takes seeds below 2^32.
pub(super) fn numpy_seed(cfg: &Config) -> anyhow::Result<u32> {
    let seed = cfg.seed.unwrap_or(0);
    u32::try_from(seed).with_context(|| {
        format!("seed {seed} is too large: numpy's RandomState takes seeds below 2^32")
    })
}

/// A gradient the tape must have produced (the variable took part in the loss).
pub(super) fn required(g: Option<Tensor>, name: &str) -> anyhow::Result<Tensor> {
    g.with_context(|| format!("the tape gave no gradient for `{name}`"))
}

/// `loss_mse(X, Y, w0, w1)`: `tf.reduce_mean((w0 * X + w1 - Y)**2)`.
fn loss_mse(x: &Tensor, y: &Tensor, w0: &Variable, w1: &Variable) -> tapegrad::Result<Tensor> {
    let y_hat = ((w0 * x)? + w1)?;
    let errors = pow(y_hat - y, 2.0)?;
    Ok(reduce_mean(errors, None, false)?)
}

/// `compute_gradients(X, Y, w0, w1)`: the loss on a tape, then `tape.gradient(loss, [w0, w1])`;
/// the loss too (the step's result).
fn compute_gradients(
    x: &Tensor,
    y: &Tensor,
    w0: &Variable,
    w1: &Variable,
) -> tapegrad::Result<(Tensor, Tensor, Tensor)> {
    let tape = GradientTape::new();
    let loss = loss_mse(x, y, w0, w1)?;
    let mut grads = tape.gradient(&loss, &[w0, w1])?.into_iter();
    let dw0 = grads.next().flatten().ok_or_else(|| no_gradient("w0"))?;
    let dw1 = grads.next().flatten().ok_or_else(|| no_gradient("w1"))?;
    Ok((dw0, dw1, loss))
}

/// `update_weights(w0, w1, dw0, dw1, learning_rate)`: `w.assign_sub(dw * learning_rate)`
/// (the Python float `learning_rate` becomes a float32 scalar, as TensorFlow converts it).
fn update_weights(
    w0: &Variable,
    w1: &Variable,
    dw0: &Tensor,
    dw1: &Tensor,
    learning_rate: f64,
) -> tapegrad::Result<()> {
    w0.assign_sub(dw0 * learning_rate)?;
    w1.assign_sub(dw1 * learning_rate)?;
    Ok(())
}

/// The first cell: `x = tf.Variable(3.0)`, `y = x**2` on a tape, `tape.gradient(y, x)`, shown
/// as the notebook shows a tensor (without the session's `id=`).
fn gradient_demo() -> anyhow::Result<(f32, String)> {
    let x = Variable::new(3.0f32);
    let tape = GradientTape::new();
    let y = pow(&x, 2.0)?;
    let g = required(tape.gradient(&y, &[&x])?.into_iter().next().flatten(), "x")?;
    let value = g.item()? as f32;
    let repr = format!(
        "<tf.Tensor: shape=(), dtype={}, numpy={}>",
        g.dtype(),
        np_f32(value)
    );
    Ok((value, repr))
}

impl Experiment for ScratchRegression {
    fn id(&self) -> &'static str {
        "scratch-regression"
    }
    fn document(&self) -> &'static str {
        "001"
    }
    fn title(&self) -> &'static str {
        "Linear regression from scratch with tf.GradientTape (MSE, assign_sub)"
    }
    fn description(&self) -> &'static str {
        "First the syntax demo: d(x**2)/dx at x = 3 on a GradientTape. Then \
         X = 2 * np.random.rand(n, 1), Y = w0_true * X + w1_true + 0.5 * np.random.rand(n, 1) \
         (float64, numpy's legacy RandomState seeded with --seed, 0 by default: the document is \
         unseeded); w0 = w1 = tf.Variable(0.0). TensorFlow converts X and Y to float32 when they \
         meet the float32 variables, so the loop runs in float32: for step in range(steps + 1), \
         the gradients of tf.reduce_mean((w0 * X + w1 - Y)**2) from a tape, then \
         w.assign_sub(dw * learning_rate); every 100 steps the loss after that step's update is \
         logged. With --seed 0 the log is the one TensorFlow 2.21 prints after np.random.seed(0)."
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param::int("n", 100, 1, 10_000_000, "number of generated points"),
            Param::float(
                "w0_true",
                3.0,
                -1e6,
                1e6,
                "slope of the generated data (the generator's w0)",
            ),
            Param::float(
                "w1_true",
                4.0,
                -1e6,
                1e6,
                "intercept of the generated data (the generator's w1)",
            ),
            Param::int(
                "steps",
                1000,
                0,
                10_000_000,
                "the loop runs range(steps + 1)",
            ),
            Param::float(
                "learning_rate",
                0.02,
                0.0,
                10.0,
                "gradient descent step size",
            ),
            Param::float("w0", 0.0, -1e6, 1e6, "initial slope tf.Variable"),
            Param::float("w1", 0.0, -1e6, 1e6, "initial intercept tf.Variable"),
        ]
    }
    fn unseeded(&self) -> bool {
        true
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let mut out = RunOutput::default();

        // x = tf.Variable(3.0); with tf.GradientTape() as tape: y = x**2; tape.gradient(y, x)
        let (demo, demo_repr) = gradient_demo()?;
        ctx.println(demo_repr);
        out.quantities
            .insert("demo_gradient_x_squared_at_3".into(), json!(np_f32(demo)));

        // X, Y = linear_like_data_generator(100, 3, 4)
        let n = cfg.usize("n");
        let mut rng = RandomState::new(numpy_seed(cfg)?);
        let x_np = rng.rand((n, 1))?.mapv(|v| 2.0 * v);
        let noise = rng.rand((n, 1))?;
        let (w0_true, w1_true) = (cfg.f64("w0_true"), cfg.f64("w1_true"));
        let y_np = tapegrad_tensor::ndarray::Zip::from(&x_np)
            .and(&noise)
            .map_collect(|&x, &r| w0_true * x + w1_true + 0.5 * r);
        // `w0 * X` with a float32 variable converts the float64 array to float32 first. The
        // single column of the (n, 1) arrays is kept as a vector: the loss and the gradients are
        // the same elementwise terms and means (TensorFlow's seeded runs print the same weights),
        // and our reductions run several times faster over one axis than over (n, 1).
        let column = |a: &Array2<f64>| Tensor::new(a.column(0).mapv(|v| v as f32));
        let (x, y) = (column(&x_np), column(&y_np));

        let steps = cfg.usize("steps");
        let learning_rate = cfg.f64("learning_rate");
        let w0 = Variable::new(cfg.f64("w0") as f32).with_name("w0");
        let w1 = Variable::new(cfg.f64("w1") as f32).with_name("w1");

        let mut history = History::new(&["step", "loss", "w0", "w1"]);
        // One step: the gradients from a tape, the two updates (traced with --traced).
        let mut train_step = Step::new(ctx.traced(), |_: &mut (), xy: &[Tensor]| {
            let (dw0, dw1, loss) = compute_gradients(&xy[0], &xy[1], &w0, &w1)?;
            update_weights(&w0, &w1, &dw0, &dw1, learning_rate)?;
            Ok(loss)
        });
        let data = [x.clone(), y.clone()];
        let started = Instant::now();
        for step in 0..=steps {
            train_step.call(&mut (), &data)?;
            out.steps = step + 1;

            // Compute loss and log stats every 100 steps
            if step % 100 == 0 {
                let loss = loss_mse(&x, &y, &w0, &w1)?.item()?;
                let (a, b) = (w0.item()?, w1.item()?);
                ctx.println(format!(
                    "STEP: {step} - loss: {}, w0: {}, w1: {}",
                    py_float(loss),
                    fixed(a, 4),
                    fixed(b, 4)
                ));
                out.quantities
                    .insert(format!("loss[step={step}]"), num(loss));
                out.quantities.insert(format!("w0[step={step}]"), num(a));
                out.quantities.insert(format!("w1[step={step}]"), num(b));
                out.loss_history.push(loss);
                history.push(&[step as f64, loss, a, b])?;
                if !(loss.is_finite() && a.is_finite() && b.is_finite()) {
                    out.stopped_by = Some(StoppedBy::Diverged);
                    out.diverged_at = Some(step);
                    break;
                }
                ctx.progress(step as u64, steps as u64);
            }
        }
        out.train_seconds = started.elapsed().as_secs_f64();
        train_step.report(&mut out);
        ctx.finish();
        if let Some(at) = out.diverged_at {
            ctx.println(format!(
                "Diverged at step {at}: the loss is no longer finite"
            ));
        }

        let (a, b) = (w0.item()?, w1.item()?);
        out.variables.insert("w0".into(), num(a));
        out.variables.insert("w1".into(), num(b));
        out.variables
            .insert("demo_gradient".into(), num(f64::from(demo)));
        out.final_loss = out.loss_history.last().copied();
        out.history = history;
        out.variables.insert(
            "logged_steps".into(),
            nums(&out.history.rows()?.iter().map(|r| r[0]).collect::<Vec<_>>()),
        );
        // plt.scatter(X, Y)
        out.figures = vec![Figure {
            name: "linear_like_data".into(),
            title: String::new(),
            xlabel: String::new(),
            ylabel: String::new(),
            series: vec![Series {
                label: String::new(),
                mark: Mark::Points,
                x: x_np.iter().copied().collect(),
                y: y_np.iter().copied().collect(),
                color: "C0".into(),
            }],
            document_image: Some("output_6_1.png".into()),
            figsize: None,
            panels: Vec::new(),
        }];
        Ok(out)
    }
}
