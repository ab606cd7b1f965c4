//! Document 002, "Linear Regression using TensorFlow GradientTape": `y = 9x - 2 + noise` on
//! 10000 standard normal points (8000 train, 2000 test), `W` and `B` from
//! `np.random.randn()`, 3000 full-batch gradient descent epochs at learning rate 0.001 on the
//! mean squared error, then the test loss.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor, Variable};
use tapegrad_datasets::recipes::sequential_split;
use tapegrad_datasets::RandomState;

use super::doc001::numpy_seed;
use crate::config::{Config, Param};
use crate::experiment::{Experiment, History, RunContext, RunOutput, StoppedBy};
use crate::figures::{Figure, Mark, Series};
use crate::format::{fixed, py_float};
use crate::json::num;
use crate::step::{no_gradient, Step};

/// `tape-regression`.
pub struct TapeRegression;

/// The document's split: `x[:8000]` for training, `x[8000:]` for testing.
const TRAIN_ROWS: usize = 8000;

/// `pred(x, W, B)`: `W*x + B`.
fn pred(x: &Tensor, w: &Variable, b: &Variable) -> tapegrad::Result<Tensor> {
    Ok(((w * x)? + b)?)
}

/// `loss(x, y, W, B)`: `tf.reduce_mean(tf.square(pred(x, W, B) - y))`.
fn loss(x: &Tensor, y: &Tensor, w: &Variable, b: &Variable) -> tapegrad::Result<Tensor> {
    let prediction = pred(x, w, b)?;
    let squared_error = square(prediction - y)?;
    Ok(reduce_mean(squared_error, None, false)?)
}

/// `calculate_gradient(x, y, W, B)`: the loss on a tape, then `tape.gradient(loss_value, [W, B])`;
/// the loss too (the step's result).
fn calculate_gradient(
    x: &Tensor,
    y: &Tensor,
    w: &Variable,
    b: &Variable,
) -> tapegrad::Result<(Tensor, Tensor, Tensor)> {
    let tape = GradientTape::new();
    let loss_value = loss(x, y, w, b)?;
    let mut grads = tape.gradient(&loss_value, &[w, b])?.into_iter();
    let w_grad = grads.next().flatten().ok_or_else(|| no_gradient("W"))?;
    let b_grad = grads.next().flatten().ok_or_else(|| no_gradient("B"))?;
    Ok((w_grad, b_grad, loss_value))
}

/// A scatter of `(x, y)` with the document's axis labels and title.
fn scatter(name: &str, title: &str, xlabel: &str, ylabel: &str, x: &[f64], y: &[f64]) -> Figure {
    Figure {
        name: name.into(),
        title: title.into(),
        xlabel: xlabel.into(),
        ylabel: ylabel.into(),
        series: vec![Series {
            label: String::new(),
            mark: Mark::Points,
            x: x.to_vec(),
            y: y.to_vec(),
            color: "C0".into(),
        }],
        document_image: Some(format!("{name}.jpg")),
        // plt.figure(figsize=(12, 9))
        figsize: Some((12.0, 9.0)),
        panels: Vec::new(),
    }
}

impl Experiment for TapeRegression {
    fn id(&self) -> &'static str {
        "tape-regression"
    }
    fn document(&self) -> &'static str {
        "002"
    }
    fn title(&self) -> &'static str {
        "Linear regression with GradientTape (full-batch MSE, 3000 epochs)"
    }
    fn description(&self) -> &'static str {
        "create_dataset: x = np.random.normal(mean, std, n_samples), random_noise likewise, \
         y = m*x + c + random_noise (float64), x[:8000] / y[:8000] for training and the rest \
         for testing. W = tf.Variable(np.random.randn()), B = tf.Variable(np.random.randn()) \
         (float32), drawn after the data from the same generator. The document is unseeded: \
         numpy's legacy RandomState is seeded with --seed (0 by default). Its printed \
         W = 1.4115247, B = -0.7143893 cannot start its printed loss curve (51.641 at epoch 0; \
         those W, B give ~60.4), so by default W and B are drawn as the code draws them; \
         --set w0=1.4115247 --set b0=-0.7143893 starts from the printed values instead (the \
         draws still happen, so the data stay the same). TensorFlow converts the float64 data \
         to float32 when they meet the float32 variables, so training runs in float32: each \
         epoch takes the tape gradients of tf.reduce_mean(tf.square(W*x + B - y)) over all 8000 \
         rows, subtracts learning_rate times them, and every 10 epochs logs the loss after the \
         update. Then the learned W, B and the loss on the 2000 test rows."
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param::int(
                "n_samples",
                10000,
                1,
                10_000_000,
                "points to create (the first 8000 train, the rest test)",
            ),
            Param::float("m", 9.0, -1e6, 1e6, "slope of the data"),
            Param::float("c", -2.0, -1e6, 1e6, "intercept of the data"),
            Param::float("mean", 0.0, -1e6, 1e6, "mean of x and of the noise"),
            Param::float(
                "std",
                1.0,
                0.0,
                1e6,
                "standard deviation of x and of the noise",
            ),
            Param::int("num_epochs", 3000, 0, 10_000_000, "training epochs"),
            Param::float("learning_rate", 0.001, 0.0, 10.0, "gradient descent step size"),
            Param::float(
                "w0",
                f64::NAN,
                -1e6,
                1e6,
                "initial W; unset (NaN): np.random.randn() as the code draws it; the document printed 1.4115247",
            ),
            Param::float(
                "b0",
                f64::NAN,
                -1e6,
                1e6,
                "initial B; unset (NaN): np.random.randn() as the code draws it; the document printed -0.7143893",
            ),
        ]
    }
    fn unseeded(&self) -> bool {
        true
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let mut out = RunOutput::default();
        let n_samples = cfg.usize("n_samples");
        let (m, c) = (cfg.f64("m"), cfg.f64("c"));
        let (mean, std) = (cfg.f64("mean"), cfg.f64("std"));
        let num_epochs = cfg.usize("num_epochs");
        let learning_rate = cfg.f64("learning_rate");
        let mut rng = RandomState::new(numpy_seed(cfg)?);

        // x_train, y_train, x_test, y_test = create_dataset(n_samples, m, c)
        let x = rng.normal(mean, std, n_samples)?;
        let random_noise = rng.normal(mean, std, n_samples)?;
        let y = tapegrad_tensor::ndarray::Zip::from(&x)
            .and(&random_noise)
            .map_collect(|&x, &e| m * x + c + e);
        let (x_train, x_test) = sequential_split(x.view(), TRAIN_ROWS);
        let (y_train, y_test) = sequential_split(y.view(), TRAIN_ROWS);
        ctx.println(format!("Training samples: {}", x_train.len()));
        ctx.println(format!("Test samples: {}", x_test.len()));
        out.quantities
            .insert("training_samples".into(), json!(x_train.len().to_string()));
        out.quantities
            .insert("test_samples".into(), json!(x_test.len().to_string()));

        // W = tf.Variable(np.random.randn()); B = tf.Variable(np.random.randn()); print(W); print(B)
        let drawn_w = rng.standard_normal_one();
        let drawn_b = rng.standard_normal_one();
        let given = |key: &str, drawn: f64| {
            let v = cfg.f64(key);
            if v.is_nan() {
                drawn
            } else {
                v
            }
        };
        let w = Variable::new(given("w0", drawn_w) as f32);
        let b = Variable::new(given("b0", drawn_b) as f32);
        ctx.println(w.to_string());
        ctx.println(b.to_string());
        let (initial_w, initial_b) = (w.item()?, b.item()?);
        out.quantities.insert("initial_W".into(), num(initial_w));
        out.quantities.insert("initial_B".into(), num(initial_b));

        // `W*x` with a float32 variable converts the float64 arrays to float32 first.
        let to_f32 = |a: &tapegrad_tensor::ndarray::Array1<f64>| Tensor::new(a.mapv(|v| v as f32));
        let (x_train_t, y_train_t) = (to_f32(&x_train), to_f32(&y_train));
        let (x_test_t, y_test_t) = (to_f32(&x_test), to_f32(&y_test));

        let mut history = History::new(&["epoch", "loss", "W", "B"]);
        // One epoch: the gradients from a tape, the two updates (traced with --traced).
        let mut step = Step::new(ctx.traced(), |_: &mut (), xy: &[Tensor]| {
            let (w_grad, b_grad, loss_value) = calculate_gradient(&xy[0], &xy[1], &w, &b)?;
            let (dw, db) = ((&w_grad * learning_rate)?, (&b_grad * learning_rate)?);
            w.assign_sub(&dw)?;
            b.assign_sub(&db)?;
            Ok(loss_value)
        });
        let data = [x_train_t.clone(), y_train_t.clone()];
        let started = Instant::now();
        for epoch in 0..num_epochs {
            step.call(&mut (), &data)?;
            out.steps = epoch + 1;
            if epoch % 10 == 0 {
                let l = loss(&x_train_t, &y_train_t, &w, &b)?.item()?;
                ctx.println(format!("Epoch: {epoch}, loss {}", fixed(l, 3)));
                if epoch <= 100 {
                    // The document shows the log up to epoch 100, then "...", then the last three.
                    out.quantities
                        .insert(format!("loss[epoch={epoch}]"), num(l));
                }
                out.loss_history.push(l);
                let (wv, bv) = (w.item()?, b.item()?);
                history.push(&[epoch as f64, l, wv, bv])?;
                if !(l.is_finite() && wv.is_finite() && bv.is_finite()) {
                    out.stopped_by = Some(StoppedBy::Diverged);
                    out.diverged_at = Some(epoch);
                    break;
                }
                if epoch % 100 == 0 {
                    ctx.progress(epoch as u64, num_epochs as u64);
                }
            }
        }
        out.train_seconds = started.elapsed().as_secs_f64();
        step.report(&mut out);
        ctx.finish();
        if let Some(at) = out.diverged_at {
            ctx.println(format!(
                "Diverged at epoch {at}: the loss is no longer finite"
            ));
        }

        for i in (0..history.len()).rev().take(3) {
            let row = history.row(i)?;
            out.quantities
                .insert(format!("loss[epoch={}]", row[0] as usize), num(row[1]));
        }

        // print(f"Learned W: {W.numpy()}, learned B: {B.numpy()}")
        let (learned_w, learned_b) = (w.item()?, b.item()?);
        ctx.println(format!(
            "Learned W: {}, learned B: {}",
            py_float(learned_w),
            py_float(learned_b)
        ));
        out.quantities.insert("learned_W".into(), num(learned_w));
        out.quantities.insert("learned_B".into(), num(learned_b));

        // test_loss = loss(x_test, y_test, W, B); print(f"Test loss: {test_loss:.3f}")
        let test_loss = loss(&x_test_t, &y_test_t, &w, &b)
            .context("the test loss")?
            .item()?;
        ctx.println(format!("Test loss: {}", fixed(test_loss, 3)));
        out.quantities.insert("test_loss".into(), num(test_loss));

        out.variables.insert("W".into(), num(learned_w));
        out.variables.insert("B".into(), num(learned_b));
        out.variables.insert("initial_W".into(), num(initial_w));
        out.variables.insert("initial_B".into(), num(initial_b));
        out.variables.insert("test_loss".into(), num(test_loss));
        out.final_loss = out.loss_history.last().copied();
        out.history = history;

        // y_test_predicted = W.numpy()*x_test + B.numpy() (numpy: float32 scalar times float64)
        let (w32, b32) = (learned_w as f32, learned_b as f32);
        let y_test_predicted: Vec<f64> = x_test
            .iter()
            .map(|&v| f64::from(w32) * v + f64::from(b32))
            .collect();
        let (xtr, ytr) = (x_train.to_vec(), y_train.to_vec());
        let (xte, yte) = (x_test.to_vec(), y_test.to_vec());
        let mut with_line = scatter(
            "test_data_with_predicted_y_values",
            "Test data distribution and predicted y plot",
            "x_test",
            "y_test",
            &xte,
            &yte,
        );
        // plt.plot(x_test, y_test_predicted, c='red') is drawn first, the scatter over it.
        with_line.series.insert(
            0,
            Series {
                label: String::new(),
                mark: Mark::Line,
                x: xte.clone(),
                y: y_test_predicted,
                color: "red".into(),
            },
        );
        out.figures = vec![
            scatter(
                "training_data",
                "Training data distribution",
                "x_train",
                "y_train",
                &xtr,
                &ytr,
            ),
            scatter(
                "test_data",
                "Test data distribution",
                "x_test",
                "y_test",
                &xte,
                &yte,
            ),
            with_line,
        ];
        Ok(out)
    }
}
