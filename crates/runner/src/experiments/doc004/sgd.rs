//! Document 004, In [16]-[18]: single-row SGD of `SimpleModelTensorflow` on `x = y = 1..1999`,
//! first raw (the loss explodes to inf, then nan), then after min-max scaling.

use std::time::Instant;

use serde_json::json;
use tapegrad_autodiff::{reshape, GradientTape, Tensor, Variable};
use tapegrad_datasets::recipes::{doc004_range, minmax};
use tapegrad_datasets::RandomState;
use tapegrad_nn::losses::mean_squared_error;
use tapegrad_nn::Model;
use tapegrad_tensor::ndarray::Array1;

use super::manual::SimpleModelTensorflow;
use super::{numpy_random_state, tensor_repr, tf_row_indices, DOCUMENT};
use crate::config::{Config, Param};
use crate::experiment::{Experiment, History, RunContext, RunOutput, StoppedBy};
use crate::format::np_f32;
use crate::json::{num, nums};
use crate::step::{no_gradient, Step, StepFn};

/// Where `random_index = tf.random.uniform(shape=[], minval=0, maxval=len(y_true), dtype=tf.int32)`
/// comes from: TensorFlow's recorded draws, or our generator for `--seed n`.
///
/// A run longer than the recorded draws (a larger `iterations`, a learning rate that does not
/// converge in time) carries on with our generator seeded as the document seeds TensorFlow's
/// (`RandomState(42)`, the draws `--seed 42` would give at that point), and says so once
/// ([`RowSource::take_note`]).
enum RowSource {
    /// The indices TF 2.21 drew after `tf.random.set_seed(42)`, in order; `skip` draws of the
    /// run came before them.
    Recorded {
        indices: Vec<usize>,
        next: usize,
        skip: usize,
        ours: Option<Box<RandomState>>,
        note: Option<String>,
    },
    /// `RandomState(n).randint(0, maxval)`.
    Ours(Box<RandomState>),
}

/// The seed of the document's `tf.random.set_seed(42)`, which ours takes when the recorded
/// draws run out.
const DOCUMENT_SEED: u32 = 42;

impl RowSource {
    /// The document's source for `cell` (`exploding`, `normalized`), or ours seeded with `seed`.
    /// `skip` draws are taken first: the normalized cell is not re-seeded, its draws follow the
    /// exploding cell's.
    fn new(seed: Option<u64>, cell: &str, skip: usize, maxval: usize) -> anyhow::Result<Self> {
        match seed {
            None => Ok(RowSource::Recorded {
                indices: tf_row_indices(cell)?,
                next: 0,
                skip,
                ours: None,
                note: None,
            }),
            Some(_) => {
                let mut rs = numpy_random_state(seed, DOCUMENT_SEED)?;
                for _ in 0..skip {
                    rs.randint_one(0, maxval as i64)?;
                }
                Ok(RowSource::Ours(Box::new(rs)))
            }
        }
    }

    fn draw(&mut self, maxval: usize) -> anyhow::Result<usize> {
        match self {
            RowSource::Recorded {
                indices,
                next,
                skip,
                ours,
                note,
            } => {
                if let Some(&i) = indices.get(*next) {
                    *next += 1;
                    anyhow::ensure!(i < maxval, "recorded row index {i} is outside 0..{maxval}");
                    return Ok(i);
                }
                let rs = match ours {
                    Some(rs) => rs,
                    None => {
                        let mut rs = RandomState::new(DOCUMENT_SEED);
                        for _ in 0..*skip + indices.len() {
                            rs.randint_one(0, maxval as i64)?;
                        }
                        *note = Some(format!(
                            "note: the {} row indices recorded from TensorFlow are used up at step \
                             {}; the rows from there on are our generator's, \
                             RandomState({DOCUMENT_SEED}).randint(0, {maxval}) from its draw {} on \
                             (as --seed {DOCUMENT_SEED} draws them), not TensorFlow's",
                            indices.len(),
                            indices.len() + 1,
                            *skip + indices.len() + 1,
                        ));
                        ours.insert(Box::new(rs))
                    }
                };
                Ok(rs.randint_one(0, maxval as i64)? as usize)
            }
            RowSource::Ours(rs) => Ok(rs.randint_one(0, maxval as i64)? as usize),
        }
    }

    /// The note of the switch to our generator, once, at the draw that made it.
    fn take_note(&mut self) -> Option<String> {
        match self {
            RowSource::Recorded { note, .. } => note.take(),
            RowSource::Ours(_) => None,
        }
    }
}

/// What one SGD step of In [17]/[18] gives the loop: the loss and the gradient.
struct StepResult {
    loss: Tensor,
    gradient: Tensor,
}

/// One SGD step of In [17]/[18] as the closure the loop calls, eagerly or traced: its inputs
/// the sampled row `(x, y)` as scalars, its result the loss of the row; the tape's gradient,
/// which the loop prints, is left in `gradient`. `model` is built.
fn sgd_step<'a>(
    model: &'a SimpleModelTensorflow,
    learning_rate: f64,
    gradient: &'a Variable,
) -> impl FnMut(&mut (), &[Tensor]) -> tapegrad::Result<Tensor> + 'a {
    move |_: &mut (), row: &[Tensor]| {
        let (random_x, random_y) = (&row[0], &row[1]);
        let t = GradientTape::persistent();
        let trainable_variables = model.trainable_variables();
        for v in &trainable_variables {
            t.watch(v);
        }
        // tf.keras.metrics.mean_squared_error(y_true=[random_y], y_pred=[simple_tfmodel(random_x)])
        let current_loss = mean_squared_error(
            reshape(random_y, &[1])?,
            reshape(&model.call(random_x)?, &[1])?,
        )?;
        let gradients = t.gradient(&current_loss, &trainable_variables)?;
        let g = gradients[0]
            .as_ref()
            .ok_or_else(|| no_gradient("the model's weight"))?;
        // simple_tfmodel.trainable_variables[0].assign_sub(learning_rate*gradient[0])
        trainable_variables[0].assign_sub(learning_rate * g)?;
        gradient.assign(g)?;
        Ok(current_loss)
    }
}

/// Calls `step` on row `random_index` of `x` and `y_true`.
fn call_on_row<F: StepFn<()>>(
    step: &mut Step<F, ()>,
    gradient: &Variable,
    x: &Array1<f32>,
    y_true: &Array1<f32>,
    random_index: usize,
) -> anyhow::Result<StepResult> {
    let row = [
        Tensor::scalar(x[random_index]),
        Tensor::scalar(y_true[random_index]),
    ];
    let loss = step.call(&mut (), &row)?;
    Ok(StepResult {
        loss,
        gradient: gradient.snapshot(),
    })
}

/// `depth-sgd-exploding`.
pub struct SgdExploding;

impl Experiment for SgdExploding {
    fn id(&self) -> &'static str {
        "depth-sgd-exploding"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "Single-row SGD on x = y = 1..1999: the loss explodes to inf, then nan"
    }
    fn description(&self) -> &'static str {
        "SimpleModelTensorflow (w = 2) on x = y_true = np.array([*range(1,2000)]) in float32; each \
         of 30 iterations takes one row random_index = tf.random.uniform(0, 1999) (by default the \
         indices TF 2.21 drew after tf.random.set_seed(42), continued by our generator's \
         RandomState(42) past the 30 recorded, with a note; --seed n draws them all from our \
         generator), the loss mean_squared_error([y], [model(x)]), its tape gradient and \
         assign_sub(learning_rate * gradient), printing loss, gradient and weight. The stop test \
         tf.abs(loss[-1], loss[-2]) <= error_margin passes the previous loss as tf.abs's `name`, \
         so it tests |loss[-1]| <= 0.1 and never fires: all 30 iterations run. The loss overflows \
         float32 to inf at iteration 6 and becomes nan at 13; diverged_at reports the first."
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param::float("w", 2.0, -1e6, 1e6, "the model's initial weight"),
            Param::float("learning_rate", 0.001, 0.0, 10.0, "SGD learning rate"),
            Param::int("iterations", 30, 0, 1_000_000, "for i in range(30)"),
            Param::float(
                "error_margin",
                0.1,
                0.0,
                1e38,
                "stop when |loss[-1]| <= error_margin (the tf.abs(a, b) quirk)",
            ),
        ]
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let error_margin = cfg.f64("error_margin");
        let learning_rate = cfg.f64("learning_rate");
        let iterations = cfg.usize("iterations");
        let mut simple_loss_list: Vec<f32> = Vec::new();
        let mut simple_weight_list: Vec<f32> = Vec::new();

        let mut simple_tfmodel = SimpleModelTensorflow::new(cfg.f64("w"));
        simple_tfmodel.apply(&Tensor::scalar(3.0f32))?; // build the model

        let y_true = doc004_range();
        let x = doc004_range();
        let mut rows = RowSource::new(cfg.seed, "exploding", 0, y_true.len())?;

        let gradient = Variable::new(0.0f32).with_name("gradient");
        let mut sgd = Step::new(
            ctx.traced(),
            sgd_step(&simple_tfmodel, learning_rate, &gradient),
        );
        let mut out = RunOutput::default();
        let mut history = History::new(&["iteration", "row", "loss", "gradient", "weight"]);
        let mut gradients: Vec<f32> = Vec::new();
        let mut stopped_by = StoppedBy::Steps;
        let started = Instant::now();
        for i in 0..iterations {
            let random_index = rows.draw(y_true.len())?;
            if let Some(note) = rows.take_note() {
                ctx.println(note.clone());
                out.notes.push(note);
            }
            let step = call_on_row(&mut sgd, &gradient, &x, &y_true, random_index)?;
            let weight = simple_tfmodel.get_weights()[0].item()? as f32;
            let loss = step.loss.item()? as f32;
            simple_weight_list.push(weight);
            simple_loss_list.push(loss);
            gradients.push(step.gradient.item()? as f32);
            out.steps = i + 1;
            history.push(&[
                i as f64,
                random_index as f64,
                loss as f64,
                step.gradient.item()?,
                weight as f64,
            ])?;
            if !loss.is_finite() && out.diverged_at.is_none() {
                out.diverged_at = Some(i);
            }

            ctx.println(format!("CurrentLoss: {}", step.loss));
            ctx.println(format!("Gradient: [{}]", tensor_repr(&step.gradient)?));
            ctx.println(format!("Weights: {}", np_f32(weight)));
            ctx.println("");

            // tf.abs(simple_loss_list[-1], simple_loss_list[-2]): the second argument is `name`
            if simple_loss_list.len() > 1 && loss.abs() as f64 <= error_margin {
                stopped_by = StoppedBy::Criterion;
                break;
            }
        }
        out.train_seconds = started.elapsed().as_secs_f64();
        sgd.report(&mut out);
        if let Some(at) = out.diverged_at {
            ctx.println(format!(
                "The loss overflowed float32 at iteration {at} (inf); the loop ran on: the stop \
                 test tf.abs(loss[-1], loss[-2]) <= {error_margin} only tests |loss[-1]|."
            ));
        }
        out.stopped_by = Some(stopped_by);

        for (i, ((l, g), w)) in simple_loss_list
            .iter()
            .zip(&gradients)
            .zip(&simple_weight_list)
            .enumerate()
        {
            out.quantities
                .insert(format!("loss[{i}]"), json!(np_f32(*l)));
            out.quantities
                .insert(format!("gradient[{i}]"), json!(np_f32(*g)));
            out.quantities
                .insert(format!("weight[{i}]"), json!(np_f32(*w)));
        }
        let losses: Vec<f64> = simple_loss_list.iter().map(|&l| l as f64).collect();
        let weights: Vec<f64> = simple_weight_list.iter().map(|&w| w as f64).collect();
        if let Some(&w) = weights.last() {
            out.variables.insert("weight".into(), num(w));
        }
        out.variables
            .insert("simple_weight_list".into(), nums(&weights));
        out.final_loss = losses.last().copied();
        out.loss_history = losses;
        out.history = history;
        Ok(out)
    }
}

/// `depth-sgd-normalized`.
pub struct SgdNormalized;

impl Experiment for SgdNormalized {
    fn id(&self) -> &'static str {
        "depth-sgd-normalized"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "Single-row SGD after min-max scaling x and y to [0, 1]"
    }
    fn description(&self) -> &'static str {
        "x and y_true = 1..1999 in float32, each scaled by the document's minmax ((array - min) / \
         (max - min), in float32); a fresh SimpleModelTensorflow (w = 2), learning_rate 0.1, one \
         row a step. The cell is not re-seeded: by default its rows are TF's draws following the \
         exploding cell's 30 (recorded: 32 of them, continued by our generator's RandomState(42), \
         with a note, when a run needs more); --seed n skips 30 draws of our generator the same \
         way. \
         The stop test tf.abs(loss[-1], loss[-2]) <= 1e-4 passes the previous loss as tf.abs's \
         `name`, so the loop stops when the last loss itself is <= 1e-4, not when the loss \
         stops changing: 32 steps."
    }
    fn params(&self) -> Vec<Param> {
        vec![
            Param::float("w", 2.0, -1e6, 1e6, "the model's initial weight"),
            Param::float("learning_rate", 0.1, 0.0, 10.0, "SGD learning rate"),
            Param::float(
                "error_margin",
                0.0001,
                0.0,
                1e38,
                "stop when |loss[-1]| <= error_margin (the tf.abs(a, b) quirk)",
            ),
            Param::int(
                "max_steps",
                1_000_000,
                1,
                100_000_000,
                "safety cap on the `while True` loop (not in the document)",
            ),
        ]
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let error_margin = cfg.f64("error_margin");
        let learning_rate = cfg.f64("learning_rate");
        let max_steps = cfg.usize("max_steps");
        let mut simple_loss_list: Vec<f32> = Vec::new();
        let mut simple_weight_list: Vec<f32> = Vec::new();

        let mut simple_tfmodel = SimpleModelTensorflow::new(cfg.f64("w"));
        simple_tfmodel.apply(&Tensor::scalar(3.0f32))?; // build the model
        let initial_weights = simple_tfmodel.get_weights()[0].item()? as f32;

        let y_true = doc004_range();
        let x = doc004_range();
        let x_normalized = minmax(x.view())?;
        let y_normalized = minmax(y_true.view())?;
        // the exploding cell drew `iterations` = 30 rows before this one
        let mut rows = RowSource::new(cfg.seed, "normalized", 30, y_true.len())?;

        let gradient = Variable::new(0.0f32).with_name("gradient");
        let mut sgd = Step::new(
            ctx.traced(),
            sgd_step(&simple_tfmodel, learning_rate, &gradient),
        );
        let mut out = RunOutput::default();
        let mut history = History::new(&["step", "row", "loss", "weight"]);
        let mut stopped_by = StoppedBy::Steps;
        let started = Instant::now();
        loop {
            let random_index = rows.draw(y_true.len())?;
            if let Some(note) = rows.take_note() {
                ctx.println(note.clone());
                out.notes.push(note);
            }
            let step = call_on_row(
                &mut sgd,
                &gradient,
                &x_normalized,
                &y_normalized,
                random_index,
            )?;
            let weight = simple_tfmodel.get_weights()[0].item()? as f32;
            let loss = step.loss.item()? as f32;
            simple_weight_list.push(weight);
            simple_loss_list.push(loss);
            let n = simple_loss_list.len();
            out.steps = n;
            history.push(&[
                (n - 1) as f64,
                random_index as f64,
                loss as f64,
                weight as f64,
            ])?;
            if !loss.is_finite() {
                stopped_by = StoppedBy::Diverged;
                out.diverged_at = Some(n - 1);
                break;
            }
            // tf.abs(simple_loss_list[-1], simple_loss_list[-2]): the second argument is `name`
            if n > 1 && loss.abs() as f64 <= error_margin {
                stopped_by = StoppedBy::Criterion;
                break;
            }
            if n >= max_steps {
                break;
            }
            ctx.progress(n as u64, max_steps as u64);
        }
        out.train_seconds = started.elapsed().as_secs_f64();
        sgd.report(&mut out);
        ctx.finish();
        out.stopped_by = Some(stopped_by);

        let (first_loss, last_loss, last_weight) = match (
            simple_loss_list.first(),
            simple_loss_list.last(),
            simple_weight_list.last(),
        ) {
            (Some(&a), Some(&b), Some(&w)) => (a, b, w),
            _ => anyhow::bail!("the loop recorded no step"),
        };
        ctx.println("Results");
        ctx.println("--------------\n");
        ctx.println(format!("Initial Weight: {}", np_f32(initial_weights)));
        ctx.println(format!("Final Weight: {}", np_f32(last_weight)));
        ctx.println("");
        ctx.println(format!("Initial Loss: {}", np_f32(first_loss)));
        ctx.println(format!("Final Loss: {}", np_f32(last_loss)));
        if stopped_by == StoppedBy::Criterion {
            ctx.println(format!(
                "(stopped after {} steps because the last loss {} <= error_margin = {}: \
                 tf.abs(loss[-1], loss[-2]) takes loss[-2] as its `name`)",
                out.steps,
                np_f32(last_loss),
                error_margin
            ));
        }

        out.quantities
            .insert("initial_weight".into(), json!(np_f32(initial_weights)));
        out.quantities
            .insert("final_weight".into(), json!(np_f32(last_weight)));
        out.quantities
            .insert("initial_loss".into(), json!(np_f32(first_loss)));
        out.quantities
            .insert("final_loss".into(), json!(np_f32(last_loss)));
        let losses: Vec<f64> = simple_loss_list.iter().map(|&l| l as f64).collect();
        let weights: Vec<f64> = simple_weight_list.iter().map(|&w| w as f64).collect();
        out.variables
            .insert("weight".into(), num(last_weight as f64));
        out.variables
            .insert("simple_weight_list".into(), nums(&weights));
        out.final_loss = Some(last_loss as f64);
        out.loss_history = losses;
        out.history = history;
        Ok(out)
    }
}
