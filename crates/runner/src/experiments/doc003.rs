//! Document 003, "Custom Training Basics" (the TensorFlow custom-training lab): a `Model` with
//! `w = 1.0`, `b = 4.0` fitted to `ys = 3·xs + 2` on 1000 standard normal `xs` by gradient
//! descent (`assign_sub`) on the mean squared error, 15 epochs at learning rate 0.1.

use std::time::Instant;

use serde_json::json;
use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor, Variable};
use tapegrad_datasets::RandomState;

use super::doc001::numpy_seed;
use crate::config::{Config, Param};
use crate::experiment::{Experiment, History, RunContext, RunOutput, StoppedBy};
use crate::figures::{Figure, Mark, Series};
use crate::format::fixed;
use crate::json::{num, nums};
use crate::step::{no_gradient, Step};

/// `custom-training`.
pub struct CustomTraining;

/// `class Model(object)`: `w * x + b` with two float32 variables.
struct Model {
    w: Variable,
    b: Variable,
}

impl Model {
    /// `Model()`: `self.w = tf.Variable(1.0)`, `self.b = tf.Variable(4.0)` (the defaults; the
    /// code comment's "`2.0` and `1.0`" is not what the code does).
    fn new(w: f64, b: f64) -> Self {
        Model {
            w: Variable::new(w as f32).with_name("w"),
            b: Variable::new(b as f32).with_name("b"),
        }
    }

    /// `model(x)`: `self.w * x + self.b`.
    fn call(&self, x: &Tensor) -> tapegrad::Result<Tensor> {
        Ok(((&self.w * x)? + &self.b)?)
    }
}

/// `loss(predicted_y, target_y)`: `tf.reduce_mean(tf.square(predicted_y - target_y))`.
fn loss(predicted_y: &Tensor, target_y: &Tensor) -> tapegrad::Result<Tensor> {
    Ok(reduce_mean(square(predicted_y - target_y)?, None, false)?)
}

/// `train(model, inputs, outputs, learning_rate)`: one gradient step, returning the loss before it.
fn train(
    model: &Model,
    inputs: &Tensor,
    outputs: &Tensor,
    learning_rate: f64,
) -> tapegrad::Result<Tensor> {
    let t = GradientTape::new();
    let current_loss = loss(&model.call(inputs)?, outputs)?;
    let mut grads = t
        .gradient(&current_loss, &[&model.w, &model.b])?
        .into_iter();
    let dw = grads.next().flatten().ok_or_else(|| no_gradient("w"))?;
    let db = grads.next().flatten().ok_or_else(|| no_gradient("b"))?;
    model.w.assign_sub(learning_rate * &dw)?;
    model.b.assign_sub(learning_rate * &db)?;
    Ok(current_loss)
}

/// `tf.random.normal(shape=[n])`, drawn here from numpy's legacy generator and rounded to
/// float32 (TensorFlow's own generator is not reproduced).
fn random_normal(rng: &mut RandomState, n: usize) -> anyhow::Result<Tensor> {
    Ok(Tensor::new(rng.normal(0.0, 1.0, n)?.mapv(|v| v as f32)))
}

/// `plot_data(inputs, outputs, predicted_outputs)`: real data as blue dots, predictions as red
/// crosses, with the legend `('Real Data', 'Predicted Data')`.
fn plot_data(
    name: &str,
    image: &str,
    inputs: &Tensor,
    outputs: &Tensor,
    predicted_outputs: &Tensor,
) -> Figure {
    let x = inputs.value().to_f64_vec();
    Figure {
        name: name.into(),
        title: String::new(),
        xlabel: String::new(),
        ylabel: String::new(),
        series: vec![
            Series {
                label: "Real Data".into(),
                mark: Mark::Points,
                x: x.clone(),
                y: outputs.value().to_f64_vec(),
                // plt.scatter(inputs, outputs, c='b', marker='.')
                color: "b.".into(),
            },
            Series {
                label: "Predicted Data".into(),
                mark: Mark::Points,
                x,
                y: predicted_outputs.value().to_f64_vec(),
                // plt.scatter(inputs, predicted_outputs, c='r', marker='+')
                color: "r+".into(),
            },
        ],
        document_image: Some(image.into()),
        figsize: None,
        panels: Vec::new(),
    }
}

/// One panel of `plot_loss_for_weights`: the losses against one weight's values, a red line
/// and blue dots.
fn loss_against(name: &str, weight: &str, values: &[f64], losses: &[f64]) -> Figure {
    let series = |mark, color: &str| Series {
        label: String::new(),
        mark,
        x: values.to_vec(),
        y: losses.to_vec(),
        color: color.into(),
    };
    Figure {
        name: name.into(),
        title: String::new(),
        xlabel: weight.into(),
        ylabel: "Loss".into(),
        // plt.plot(values, losses, 'r'); plt.plot(values, losses, 'bo')
        series: vec![series(Mark::Line, "r"), series(Mark::Line, "bo")],
        document_image: Some("output_21_0.png".into()),
        figsize: None,
        panels: Vec::new(),
    }
}

impl Experiment for CustomTraining {
    fn id(&self) -> &'static str {
        "custom-training"
    }
    fn document(&self) -> &'static str {
        "003"
    }
    fn title(&self) -> &'static str {
        "Custom training basics: w*x + b by gradient descent on a tape"
    }
    fn description(&self) -> &'static str {
        "xs = tf.random.normal(shape=[NUM_EXAMPLES]), ys = TRUE_w * xs + TRUE_b (no noise), in \
         float32. The document draws xs from TensorFlow's unseeded generator; we draw them with \
         numpy's legacy RandomState.normal (seeded with --seed, 0 by default) and round them to \
         float32, so the runs place the printed numbers in a distribution rather than repeat \
         them. Model(): w = tf.Variable(1.0), b = tf.Variable(4.0). The current loss is printed, \
         then for each of 15 epochs w and b are recorded, train() takes one step \
         w.assign_sub(learning_rate * dw) on tf.reduce_mean(tf.square(model(xs) - ys)) and the \
         loss before the step is printed. The test inputs are the next NUM_EXAMPLES draws."
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param::float(
                "true_w",
                3.0,
                -1e6,
                1e6,
                "slope of the synthetic line (TRUE_w)",
            ),
            Param::float(
                "true_b",
                2.0,
                -1e6,
                1e6,
                "intercept of the synthetic line (TRUE_b)",
            ),
            Param::int(
                "num_examples",
                1000,
                1,
                10_000_000,
                "number of training (and test) inputs (NUM_EXAMPLES)",
            ),
            Param::float("w", 1.0, -1e6, 1e6, "the Model's initial w"),
            Param::float("b", 4.0, -1e6, 1e6, "the Model's initial b"),
            Param::float("learning_rate", 0.1, 0.0, 10.0, "train()'s learning rate"),
            Param::int("epochs", 15, 0, 10_000_000, "training epochs (range(15))"),
        ]
    }
    fn unseeded(&self) -> bool {
        true
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let mut out = RunOutput::default();
        let (true_w, true_b) = (cfg.f64("true_w"), cfg.f64("true_b"));
        let num_examples = cfg.usize("num_examples");
        let (w0, b0) = (cfg.f64("w"), cfg.f64("b"));
        let learning_rate = cfg.f64("learning_rate");
        let epochs = cfg.usize("epochs");
        let mut rng = RandomState::new(numpy_seed(cfg)?);

        // xs = tf.random.normal(shape=[NUM_EXAMPLES]); ys = (TRUE_w * xs) + TRUE_b
        let xs = random_normal(&mut rng, num_examples)?;
        let ys = ((true_w * &xs)? + true_b)?;

        // plot_data(xs, ys, model(xs)); print('Current loss: %1.6f' % loss(model(xs), ys).numpy())
        let model = Model::new(w0, b0);
        let predicted = model.call(&xs)?;
        let mut figures = vec![plot_data(
            "data_before_training",
            "output_11_0.png",
            &xs,
            &ys,
            &predicted,
        )];
        let current = loss(&predicted, &ys)?.item()?;
        ctx.println(format!("Current loss: {}", fixed(current, 6)));
        out.quantities
            .insert("current_loss_before_training".into(), num(current));

        // model = Model(); for epoch in epochs: ...
        let model = Model::new(w0, b0);
        let (mut list_w, mut list_b, mut losses) = (Vec::new(), Vec::new(), Vec::new());
        let mut history = History::new(&["epoch", "w", "b", "loss"]);
        // train(model, xs, ys, learning_rate=0.1), traced with --traced
        let mut step = Step::new(ctx.traced(), |_: &mut (), xy: &[Tensor]| {
            train(&model, &xy[0], &xy[1], learning_rate)
        });
        let data = [xs.clone(), ys.clone()];
        let started = Instant::now();
        for epoch in 0..epochs {
            list_w.push(model.w.item()?);
            list_b.push(model.b.item()?);
            let current_loss = step.call(&mut (), &data)?.item()?;
            losses.push(current_loss);
            out.steps = epoch + 1;
            let (w, b) = (list_w[epoch], list_b[epoch]);
            ctx.println(format!(
                "Epoch {epoch:2}: w={} b={}, loss={}",
                fixed(w, 2),
                fixed(b, 2),
                fixed(current_loss, 5)
            ));
            if epoch == 0 {
                // The document's epoch 0 is the initial model, printed as '%1.2f'.
                out.quantities
                    .insert("w[epoch=0]".into(), json!(fixed(w, 2)));
                out.quantities
                    .insert("b[epoch=0]".into(), json!(fixed(b, 2)));
            } else {
                out.quantities.insert(format!("w[epoch={epoch}]"), num(w));
                out.quantities.insert(format!("b[epoch={epoch}]"), num(b));
            }
            out.quantities
                .insert(format!("loss[epoch={epoch}]"), num(current_loss));
            history.push(&[epoch as f64, w, b, current_loss])?;
            if !current_loss.is_finite() {
                out.stopped_by = Some(StoppedBy::Diverged);
                out.diverged_at = Some(epoch);
                break;
            }
        }
        out.train_seconds = started.elapsed().as_secs_f64();
        step.report(&mut out);
        drop(step);
        if let Some(at) = out.diverged_at {
            ctx.println(format!(
                "Diverged at epoch {at}: the loss is no longer finite"
            ));
        }

        // plt.plot(epochs, list_w, 'r', epochs, list_b, 'b'); the true values as 'r--', 'b--'
        let epoch_axis: Vec<f64> = (0..list_w.len()).map(|e| e as f64).collect();
        let line = |label: &str, mark, y: Vec<f64>, color: &str| Series {
            label: label.into(),
            mark,
            x: epoch_axis.clone(),
            y,
            color: color.into(),
        };
        figures.push(Figure {
            name: "weights_per_epoch".into(),
            title: String::new(),
            xlabel: String::new(),
            ylabel: String::new(),
            series: vec![
                line("w", Mark::Line, list_w.clone(), "r"),
                line("b", Mark::Line, list_b.clone(), "b"),
                line("True w", Mark::HLine, vec![true_w], "r--"),
                line("True b", Mark::HLine, vec![true_b], "b--"),
            ],
            document_image: Some("output_17_0.png".into()),
            figsize: None,
            panels: Vec::new(),
        });

        // test_inputs = tf.random.normal(shape=[NUM_EXAMPLES]); test_outputs = test_inputs * TRUE_w + TRUE_b
        let test_inputs = random_normal(&mut rng, num_examples)?;
        let test_outputs = ((&test_inputs * true_w)? + true_b)?;
        let predicted_test_outputs = model.call(&test_inputs)?;
        figures.push(plot_data(
            "test_predictions",
            "output_19_0.png",
            &test_inputs,
            &test_outputs,
            &predicted_test_outputs,
        ));
        // plot_loss_for_weights(weights_list, losses): one figure, subplots 121 (w) and 122 (b)
        let mut loss_against_weights = loss_against("loss_against_weights", "w", &list_w, &losses);
        loss_against_weights.panels = vec![loss_against("", "b", &list_b, &losses)];
        figures.push(loss_against_weights);

        let (w, b) = (model.w.item()?, model.b.item()?);
        out.variables.insert("w".into(), num(w));
        out.variables.insert("b".into(), num(b));
        out.variables.insert("list_w".into(), nums(&list_w));
        out.variables.insert("list_b".into(), nums(&list_b));
        out.final_loss = losses.last().copied();
        out.loss_history = losses;
        out.history = history;
        out.figures = figures;
        Ok(out)
    }
}
