//! Document 000, "Linear Regression With Two Trainable Weights": y = 5x + 3 on
//! x = 0, 2, ..., 98, `a` and `b` trained with Keras SGD on an `abs` loss for 15000 steps.

use std::time::Instant;

use serde_json::json;
use tapegrad_autodiff::{abs, square, GradientTape, Tensor, Variable};
use tapegrad_optim::{NonFinite, OptimizerExt, Sgd};
use tapegrad_tensor::DType;

use crate::config::{Config, Param};
use crate::experiment::{Experiment, History, RunContext, RunOutput, StoppedBy};
use crate::figures::{Figure, Mark, Series};
use crate::format::fixed;
use crate::json::num;
use crate::step::Step;

/// `two-weights`.
pub struct TwoWeights;

impl Experiment for TwoWeights {
    fn id(&self) -> &'static str {
        "two-weights"
    }
    fn document(&self) -> &'static str {
        "000"
    }
    fn title(&self) -> &'static str {
        "Linear regression with two trainable weights (abs loss, Keras SGD)"
    }
    fn description(&self) -> &'static str {
        "x = np.arange(stop=100, step=2) in float32, y = actual_gradient * x + actual_offset; a = b = 0; \
         each step records loss = |y - (x*a + b)| (a vector: the gradient is that of its sum) on a \
         GradientTape and applies SGD(learning_rate). Every 10 steps the mean loss joins loss_history. \
         loss=mse uses (y - (x*a + b))^2 instead, which diverges at this learning rate: the document's \
         question of why abs and not MSE, answered."
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param::float(
                "actual_gradient",
                5.0,
                -1e6,
                1e6,
                "slope of the training data",
            ),
            Param::float(
                "actual_offset",
                3.0,
                -1e6,
                1e6,
                "offset of the training data",
            ),
            Param::float("learning_rate", 1e-4, 0.0, 10.0, "SGD learning rate"),
            Param::int(
                "steps",
                15000,
                0,
                10_000_000,
                "training steps (the document's range(15000))",
            ),
            Param::choice(
                "loss",
                "abs",
                &["abs", "mse"],
                "per-point loss: |y - y_hat| or (y - y_hat)^2",
            ),
        ]
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let (actual_gradient, actual_offset) =
            (cfg.f64("actual_gradient"), cfg.f64("actual_offset"));
        let learning_rate = cfg.f64("learning_rate");
        let steps = cfg.usize("steps");
        let mse = cfg.word("loss") == "mse";

        let x_train = Tensor::arange(0.0, 100.0, 2.0, DType::F32)?;
        let y_train = ((&x_train * actual_gradient)? + actual_offset)?;
        let a = Variable::new(0.0f32).with_name("a");
        let b = Variable::new(0.0f32).with_name("b");

        // TensorFlow applies a non-finite gradient: a diverging run diverges as the document's
        let mut opt = Sgd::new(learning_rate).non_finite(NonFinite::Apply);
        let mut loss_history = Vec::new();
        let mut history = History::new(&["step", "mean_loss", "a", "b"]);
        let mut out = RunOutput::default();
        // One step: the loss on a tape, its gradients, the SGD update (traced with --traced).
        let mut step = Step::new(ctx.traced(), |opt: &mut Sgd, xy: &[Tensor]| {
            let (x_train, y_train) = (&xy[0], &xy[1]);
            let tape = GradientTape::new();
            let y_test = ((x_train * &a)? + &b)?;
            let residual = (y_train - y_test)?;
            let loss = if mse {
                square(residual)?
            } else {
                abs(residual)?
            };
            let gradients = tape.gradient(&loss, &[&a, &b])?;
            opt.apply_gradients(gradients.into_iter().zip([&a, &b]))?;
            Ok(loss)
        });
        let data = [x_train.clone(), y_train.clone()];
        let started = Instant::now();
        for i in 0..steps {
            let loss = step.call(&mut opt, &data)?;
            out.steps = i + 1;
            if i % 10 == 0 {
                let mean = loss.value().mean(None, false)?.item()?;
                loss_history.push(mean);
                history.push(&[i as f64, mean, a.item()?, b.item()?])?;
                if !mean.is_finite() || !a.item()?.is_finite() || !b.item()?.is_finite() {
                    out.stopped_by = Some(StoppedBy::Diverged);
                    out.diverged_at = Some(i);
                    break;
                }
                ctx.progress(i as u64, steps as u64);
            }
        }
        out.train_seconds = started.elapsed().as_secs_f64();
        step.report(&mut out);
        ctx.finish();
        let (a_val, b_val) = (a.item()?, b.item()?);
        if let Some(at) = out.diverged_at {
            ctx.println(format!(
                "Diverged at step {at}: the mean loss is no longer finite"
            ));
        }
        ctx.println(format!(
            "Final result: y = a: {}, b: {}",
            fixed(a_val, 4),
            fixed(b_val, 4)
        ));

        out.variables.insert("a".into(), num(a_val));
        out.variables.insert("b".into(), num(b_val));
        out.quantities
            .insert("final_a".into(), json!(fixed(a_val, 4)));
        out.quantities
            .insert("final_b".into(), json!(fixed(b_val, 4)));
        out.final_loss = loss_history.last().copied();
        let x: Vec<f64> = x_train.value().to_f64_vec();
        let y: Vec<f64> = y_train.value().to_f64_vec();
        out.figures = vec![
            Figure {
                name: "training_data".into(),
                title: format!(
                    "Training data: y = {}x + {}",
                    crate::format::py_float(actual_gradient),
                    crate::format::py_float(actual_offset)
                ),
                xlabel: String::new(),
                ylabel: String::new(),
                series: vec![Series {
                    label: String::new(),
                    mark: Mark::Points,
                    x,
                    y,
                    color: "C0".into(),
                }],
                document_image: Some("weights_and_bias_image_1.png".into()),
                figsize: None,
                panels: Vec::new(),
            },
            Figure {
                name: "loss_history".into(),
                title: format!("Loss: y = {}x + {}", fixed(a_val, 2), fixed(b_val, 2)),
                xlabel: String::new(),
                ylabel: String::new(),
                series: vec![Series {
                    label: String::new(),
                    mark: Mark::Line,
                    x: (0..loss_history.len()).map(|i| i as f64).collect(),
                    y: loss_history.clone(),
                    color: "C0".into(),
                }],
                document_image: Some("weights_and_bias_image_2.png".into()),
                figsize: None,
                panels: Vec::new(),
            },
        ];
        out.variables
            .insert("loss_history_len".into(), json!(loss_history.len()));
        out.loss_history = loss_history;
        out.history = history;
        Ok(out)
    }
}
