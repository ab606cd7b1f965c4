//! Document 004, In [1]-[15]: one weight `w = 2` fitted to `x = y_true = [1, 2]` five ways —
//! numpy with a hand-written gradient, the same with TensorFlow ops, with a GradientTape, with a
//! plain `SimpleModel` object and with a Keras-style `SimpleModelTensorflow`.

use std::time::Instant;

use serde_json::json;
use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor, Variable};
use tapegrad_nn::{Layer, Model};
use tapegrad_tensor::ndarray::{array, Array1};

use super::{py_pair, tensor_repr, DOCUMENT};
use crate::config::{Config, Param};
use crate::experiment::{Experiment, History, RunContext, RunOutput, StoppedBy};
use crate::format::{list, np_f32, py_float};
use crate::json::{num, nums};
use crate::step::{no_gradient, not_traceable, Step};

/// Why the numpy cells are not traced: their loop is ndarray arithmetic, not tapegrad's ops.
const NUMPY_LOOP: &str = "the document's loop is numpy arithmetic (ndarray here), not \
     tapegrad's ops: there is no step for tapegrad::function to trace; it ran as it runs eagerly";

/// The parameters all five share: `w`, `learning_rate`, `error_margin`, and a safety cap.
fn shared_params() -> Vec<Param> {
    vec![
        Param::float("w", 2.0, -1e6, 1e6, "the initial weight"),
        Param::float(
            "learning_rate",
            0.1,
            0.0,
            10.0,
            "gradient_update's learning rate",
        ),
        Param::float(
            "error_margin",
            0.1,
            0.0,
            1e6,
            "stop when |w_{t+1} - w_t| <= error_margin",
        ),
        Param::int(
            "max_steps",
            100_000,
            1,
            100_000_000,
            "safety cap on the `while True` loop (not in the document)",
        ),
    ]
}

/// `y_true = np.array([1,2]).astype('float32')`; `x` the same.
fn data() -> (Array1<f32>, Array1<f32>) {
    (array![1.0f32, 2.0], array![1.0f32, 2.0])
}

/// The RunOutput common to the five: lists, history, quantities `weight_list`, `loss_list`.
/// How one of these loops ended.
#[derive(Clone, Copy)]
struct Ending {
    stopped_by: StoppedBy,
    diverged_at: Option<usize>,
}

impl Ending {
    /// Still running: what a loop that runs out of steps reports.
    const STEPS: Ending = Ending {
        stopped_by: StoppedBy::Steps,
        diverged_at: None,
    };

    /// The document's stopping test on the weights so far — `len(weight_list) > 1 and
    /// |weight_list[-1] - weight_list[-2]| <= error_margin` — then divergence and our
    /// `max_steps` safety cap. `None` while the loop goes on.
    fn check(weight_list: &[f64], error_margin: f64, max_steps: usize) -> Option<Ending> {
        let n = weight_list.len();
        if n > 1 && (weight_list[n - 1] - weight_list[n - 2]).abs() <= error_margin {
            return Some(Ending {
                stopped_by: StoppedBy::Criterion,
                diverged_at: None,
            });
        }
        if weight_list.last().is_some_and(|w| !w.is_finite()) {
            return Some(Ending {
                stopped_by: StoppedBy::Diverged,
                diverged_at: Some(n - 1),
            });
        }
        (n > max_steps).then_some(Ending::STEPS)
    }
}

/// Prints the document's `weight_list, loss_list` tuple and builds the run's output.
fn finish(
    ctx: &mut RunContext,
    weight_list: &[f64],
    loss_list: &[f32],
    fmt_weight: impl Fn(f64) -> String,
    ending: Ending,
    train_seconds: f64,
) -> anyhow::Result<RunOutput> {
    for line in py_pair(&list(weight_list, &fmt_weight), &list(loss_list, np_f32)) {
        ctx.println(line);
    }
    let Ending {
        stopped_by,
        diverged_at,
    } = ending;
    let mut out = RunOutput {
        steps: weight_list.len().saturating_sub(1),
        stopped_by: Some(if diverged_at.is_some() {
            StoppedBy::Diverged
        } else {
            stopped_by
        }),
        diverged_at,
        train_seconds,
        ..Default::default()
    };
    let losses: Vec<f64> = loss_list.iter().map(|&l| l as f64).collect();
    let mut history = History::new(&["step", "w", "loss"]);
    for (i, &w) in weight_list.iter().enumerate() {
        history.push(&[i as f64, w, losses.get(i).copied().unwrap_or(f64::NAN)])?;
    }
    out.history = history;
    out.quantities
        .insert("weight_list".into(), json!(list(weight_list, &fmt_weight)));
    out.quantities
        .insert("loss_list".into(), json!(list(loss_list, np_f32)));
    if let Some(&w) = weight_list.last() {
        out.variables.insert("w".into(), num(w));
    }
    out.variables
        .insert("weight_list".into(), nums(weight_list));
    out.final_loss = losses.last().copied();
    out.loss_history = losses;
    Ok(out)
}

/// `depth-manual-numpy`.
pub struct ManualNumpy;

impl Experiment for ManualNumpy {
    fn id(&self) -> &'static str {
        "depth-manual-numpy"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "Manual gradient update in numpy (one weight, hand-written MSE gradient)"
    }
    fn description(&self) -> &'static str {
        "y_true = x = [1, 2] as float32 arrays, w = 2. a Python float. mean_squared_error = \
         np.mean(np.square(y_true - x*w)), gradient_mse = 2 * np.mean((x*w - y_true)*x), \
         w = w - learning_rate * gradient_mse. The loop appends w and its loss, stops when \
         |w[-1] - w[-2]| <= error_margin, else updates: 5 weights and 5 losses."
    }
    fn params(&self) -> Vec<Param> {
        shared_params()
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let (y_true, x) = data();
        let mut w = cfg.f64("w");
        let error_margin = cfg.f64("error_margin");
        let learning_rate = cfg.f64("learning_rate");
        let max_steps = cfg.usize("max_steps");

        // float32 array * Python float: numpy keeps float32
        let mean_squared_error = |w: f64| -> f32 {
            (&y_true - &(&x * w as f32))
                .mapv(|d| d * d)
                .mean()
                .unwrap_or(f32::NAN)
        };
        let gradient_mse = |w: f64| -> f32 {
            2.0 * ((&(&x * w as f32) - &y_true) * &x)
                .mean()
                .unwrap_or(f32::NAN)
        };
        // Python float - Python float * np.float32: a float64 (numpy 1.x, the document's)
        let gradient_update = |w: f64| w - learning_rate * gradient_mse(w) as f64;

        let started = Instant::now();
        let mut loss_list: Vec<f32> = Vec::new();
        let mut weight_list: Vec<f64> = Vec::new();
        let ending;
        loop {
            weight_list.push(w);
            loss_list.push(mean_squared_error(w));
            if let Some(end) = Ending::check(&weight_list, error_margin, max_steps) {
                ending = end;
                break;
            }
            w = gradient_update(w);
        }
        let seconds = started.elapsed().as_secs_f64();
        let mut out = finish(ctx, &weight_list, &loss_list, py_float, ending, seconds)?;
        not_traceable(&mut out, ctx.traced(), NUMPY_LOOP);
        Ok(out)
    }
}

/// `depth-manual-tf`.
pub struct ManualTf;

impl Experiment for ManualTf {
    fn id(&self) -> &'static str {
        "depth-manual-tf"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "Manual gradient update with TensorFlow ops (one weight, hand-written MSE gradient)"
    }
    fn description(&self) -> &'static str {
        "The numpy cell again with tf.reduce_mean / tf.square on float32 tensors: w = 2. becomes a \
         float32 tensor, each update is taken back with .numpy(). Same stopping rule \
         (tf.abs(weight_list[-1] - weight_list[-2]) <= error_margin): 5 weights, 5 losses."
    }
    fn params(&self) -> Vec<Param> {
        shared_params()
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let (y, xs) = data();
        let y_true = Tensor::from_vec(y.to_vec(), &[2])?;
        let x = Tensor::from_vec(xs.to_vec(), &[2])?;
        // w = 2. (TF converts the Python float to float32 in x*w)
        let mut w = Tensor::scalar(cfg.f64("w") as f32);
        let error_margin = cfg.f64("error_margin");
        let learning_rate = cfg.f64("learning_rate");
        let max_steps = cfg.usize("max_steps");

        let mean_squared_error =
            |w: &Tensor| reduce_mean(square(&y_true - (&x * w)?)?, None, false);
        let gradient_mse = |w: &Tensor| -> tapegrad::Result<Tensor> {
            Ok((2.0 * reduce_mean(((&x * w)? - &y_true)? * &x, None, false)?)?)
        };
        // w = gradient_update(w): the step, its input the weight, its result the new one
        // (traced with --traced)
        let mut gradient_update = Step::new(ctx.traced(), |_: &mut (), w: &[Tensor]| {
            Ok((&w[0] - learning_rate * gradient_mse(&w[0])?)?)
        });

        let started = Instant::now();
        let mut loss_list: Vec<f32> = Vec::new();
        let mut weight_list: Vec<f64> = Vec::new();
        let ending;
        loop {
            weight_list.push(w.item()?);
            loss_list.push(mean_squared_error(&w)?.item()? as f32);
            if let Some(end) = Ending::check(&weight_list, error_margin, max_steps) {
                ending = end;
                break;
            }
            w = gradient_update.call(&mut (), &[w])?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let fmt = |w: f64| np_f32(w as f32);
        let mut out = finish(ctx, &weight_list, &loss_list, fmt, ending, seconds)?;
        gradient_update.report(&mut out);
        Ok(out)
    }
}

/// `depth-tape`.
pub struct Tape;

impl Experiment for Tape {
    fn id(&self) -> &'static str {
        "depth-tape"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "The same update with tf.GradientTape (gradient taken by the tape)"
    }
    fn description(&self) -> &'static str {
        "w_tf = tf.Variable(2.); each pass appends w_tf, stops when |w[-1] - w[-2]| <= \
         error_margin, then records mean_squared_error under a GradientTape, takes its gradient \
         and rebinds w_tf = w_tf - learning_rate * gradient[0] (a Tensor from then on). The stop \
         test runs before the loss, so 5 weights and 4 losses."
    }
    fn params(&self) -> Vec<Param> {
        shared_params()
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let (y, xs) = data();
        let y_true = Tensor::from_vec(y.to_vec(), &[2])?;
        let x = Tensor::from_vec(xs.to_vec(), &[2])?;
        let learning_rate = cfg.f64("learning_rate");
        let error_margin = cfg.f64("error_margin");
        let max_steps = cfg.usize("max_steps");
        let mean_squared_error =
            |w: &Tensor| reduce_mean(square(&y_true - (&x * w)?)?, None, false);

        let mut weight_list: Vec<f64> = Vec::new();
        let mut loss_list: Vec<f32> = Vec::new();
        // w_tf = tf.Variable(w, dtype=tf.float32); after the first update it is a plain Tensor,
        // so we hold its value as a watched Tensor throughout (the same numbers)
        let w_var = Variable::new(cfg.f64("w") as f32).with_name("Variable");
        let mut w_tf: Tensor = w_var.read_value();

        // One pass's tape, loss, gradient and rebinding: the step takes w_tf, returns the loss
        // and leaves the new w_tf in `next` (traced with --traced)
        let next = Variable::new(0.0f32).with_name("w_tf");
        let mut step = Step::new(ctx.traced(), |_: &mut (), w: &[Tensor]| {
            let w_tf = &w[0];
            let t = GradientTape::new();
            t.watch(w_tf);
            let current_loss = mean_squared_error(w_tf)?;
            let gradient = t.gradient(&current_loss, &[w_tf])?;
            let g = gradient[0].as_ref().ok_or_else(|| no_gradient("w_tf"))?;
            next.assign((w_tf - learning_rate * g)?)?;
            Ok(current_loss)
        });

        let started = Instant::now();
        let ending;
        loop {
            weight_list.push(w_tf.item()?);
            if let Some(end) = Ending::check(&weight_list, error_margin, max_steps) {
                ending = end;
                break;
            }
            let current_loss = step.call(&mut (), &[w_tf])?;
            loss_list.push(current_loss.item()? as f32);
            w_tf = next.snapshot();
        }
        let seconds = started.elapsed().as_secs_f64();
        let fmt = |w: f64| np_f32(w as f32);
        let mut out = finish(ctx, &weight_list, &loss_list, fmt, ending, seconds)?;
        step.report(&mut out);
        Ok(out)
    }
}

/// The document's `SimpleModel(object)`: `input * self.weights`, weights a Python float.
struct SimpleModel {
    weights: f64,
}

impl SimpleModel {
    /// `simple_model(input)` on a float32 array (numpy keeps float32).
    fn call(&self, input: &Array1<f32>) -> Array1<f32> {
        input * self.weights as f32
    }
}

/// `depth-simple-model`.
pub struct SimpleModelExperiment;

impl Experiment for SimpleModelExperiment {
    fn id(&self) -> &'static str {
        "depth-simple-model"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "SimpleModel (a plain Python object) with a hand-written gradient"
    }
    fn description(&self) -> &'static str {
        "SimpleModel(weights = 2.) returns input * weights (simple_model(3.) = 6.0). \
         multiple_gradient_update starts the lists with [w0] and [loss(w0)], then per pass: \
         update (gradient_update's default learning_rate 0.1: the function does not pass its own \
         argument on), append the weight, stop when |w[-1] - w[-2]| <= 0.1 (hard-coded), else \
         append the loss: 5 weights, 4 losses."
    }
    fn params(&self) -> Vec<Param> {
        shared_params()
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let (y_true, x) = data();
        let learning_rate = cfg.f64("learning_rate");
        let error_margin = cfg.f64("error_margin");
        let max_steps = cfg.usize("max_steps");

        // simple_model = SimpleModel(weights = 2.); simple_model(3.)
        let mut simple_model = SimpleModel {
            weights: cfg.f64("w"),
        };
        let demo = 3.0 * simple_model.weights;
        ctx.println(py_float(demo));

        let mean_squared_error = |model: &SimpleModel| -> f32 {
            (&y_true - &model.call(&x))
                .mapv(|d| d * d)
                .mean()
                .unwrap_or(f32::NAN)
        };
        let gradient_mse = |model: &SimpleModel| -> f32 {
            2.0 * ((&model.call(&x) - &y_true) * &x)
                .mean()
                .unwrap_or(f32::NAN)
        };
        let gradient_update =
            |model: &SimpleModel| model.weights - learning_rate * gradient_mse(model) as f64;

        // multiple_gradient_update(y_true, x, simple_model)
        let started = Instant::now();
        let mut weight_list = vec![simple_model.weights];
        let mut loss_list = vec![mean_squared_error(&simple_model)];
        let ending;
        loop {
            let w_new = gradient_update(&simple_model);
            weight_list.push(w_new);
            simple_model.weights = w_new;
            if let Some(end) = Ending::check(&weight_list, error_margin, max_steps) {
                ending = end;
                break;
            }
            loss_list.push(mean_squared_error(&simple_model));
        }
        let seconds = started.elapsed().as_secs_f64();
        let mut out = finish(ctx, &weight_list, &loss_list, py_float, ending, seconds)?;
        not_traceable(&mut out, ctx.traced(), NUMPY_LOOP);
        out.quantities
            .insert("demo_call_3".into(), json!(py_float(demo)));
        Ok(out)
    }
}

/// The document's `SimpleModelTensorflow(tf.keras.Model)`: one float32 weight created in
/// `build` (`tf.Variable(initial_value = 2, dtype = tf.float32)`), `call(x) = x * self.weight`.
pub(crate) struct SimpleModelTensorflow {
    /// `self.units` (kept, as the document keeps it, though `call` never reads it).
    pub(crate) units: usize,
    initial_value: f64,
    weight: Option<Variable>,
}

impl SimpleModelTensorflow {
    /// `SimpleModelTensorflow()`, whose `build` will create the weight with `initial_value`.
    pub(crate) fn new(initial_value: f64) -> Self {
        SimpleModelTensorflow {
            units: 1,
            initial_value,
            weight: None,
        }
    }
}

impl Model for SimpleModelTensorflow {
    fn name(&self) -> &str {
        "simple_model_tensorflow"
    }
    fn built(&self) -> bool {
        self.weight.is_some()
    }
    fn build(&mut self, _input_shape: &[usize]) -> tapegrad_nn::Result<()> {
        self.weight = Some(Variable::with_options(
            self.initial_value as f32,
            "Variable",
            true,
        ));
        Ok(())
    }
    fn call(&self, x: &Tensor) -> tapegrad_nn::Result<Tensor> {
        let weight = self
            .weight
            .as_ref()
            .ok_or_else(|| tapegrad_nn::Error::Layer {
                layer: "simple_model_tensorflow".into(),
                message: "called before build".into(),
            })?;
        Ok((x * weight)?)
    }
    fn variables(&self) -> Vec<Variable> {
        self.weight.iter().cloned().collect()
    }
}

/// `depth-keras-model`.
pub struct KerasModel;

impl Experiment for KerasModel {
    fn id(&self) -> &'static str {
        "depth-keras-model"
    }
    fn document(&self) -> &'static str {
        DOCUMENT
    }
    fn title(&self) -> &'static str {
        "SimpleModelTensorflow (a Keras model) trained with a tape and set_weights"
    }
    fn description(&self) -> &'static str {
        "A tf.keras.Model subclass whose build creates tf.Variable(2, float32); \
         tensorflow_model(3.) builds it and returns 6.0. Each pass appends get_weights()[0], stops \
         when |w[-1] - w[-2]| <= error_margin (the global 0.1), else records the loss under a \
         GradientTape, takes the gradient for trainable_variables and calls \
         set_weights([get_weights()[0] - learning_rate * gradient[0]]): 5 weights, 4 losses."
    }
    fn params(&self) -> Vec<Param> {
        shared_params()
    }

    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput> {
        let (y, xs) = data();
        let y_true = Tensor::from_vec(y.to_vec(), &[2])?;
        let x = Tensor::from_vec(xs.to_vec(), &[2])?;
        let learning_rate = cfg.f64("learning_rate");
        let error_margin = cfg.f64("error_margin");
        let max_steps = cfg.usize("max_steps");

        // tensorflow_model = SimpleModelTensorflow(); tensorflow_model(3.)
        let mut tensorflow_model = SimpleModelTensorflow::new(cfg.f64("w"));
        let demo = tensorflow_model.apply(&Tensor::scalar(3.0f32))?;
        ctx.println(tensor_repr(&demo)?);

        // the model is built (by the call above): `model(x)` is its `call`
        let mean_squared_error_tf = |model: &SimpleModelTensorflow| -> tapegrad::Result<Tensor> {
            Ok(reduce_mean(
                square(&y_true - model.call(&x)?)?,
                None,
                false,
            )?)
        };

        // One pass's tape, loss, gradient and set_weights: the step (traced with --traced)
        let mut step = Step::new(ctx.traced(), |_: &mut (), _: &[Tensor]| {
            let t = GradientTape::new();
            let trainable_variables = tensorflow_model.trainable_variables();
            for v in &trainable_variables {
                t.watch(v);
            }
            let current_loss = mean_squared_error_tf(&tensorflow_model)?;
            let gradient = t.gradient(&current_loss, &trainable_variables)?;
            let g = gradient[0]
                .as_ref()
                .ok_or_else(|| no_gradient("the model's weight"))?;
            let new_weight =
                (Tensor::new(tensorflow_model.get_weights()[0].clone()) - learning_rate * g)?;
            tensorflow_model.set_weights(&[new_weight])?;
            Ok(current_loss)
        });

        // multiple_gradient_update_with_tf(y_true, x, tensorflow_model, learning_rate = 0.1)
        let started = Instant::now();
        let (mut weight_list, mut loss_list): (Vec<f64>, Vec<f32>) = (Vec::new(), Vec::new());
        let ending;
        loop {
            weight_list.push(tensorflow_model.get_weights()[0].item()?);
            if let Some(end) = Ending::check(&weight_list, error_margin, max_steps) {
                ending = end;
                break;
            }
            let current_loss = step.call(&mut (), &[])?;
            loss_list.push(current_loss.item()? as f32);
        }
        let seconds = started.elapsed().as_secs_f64();
        let fmt = |w: f64| np_f32(w as f32);
        let mut out = finish(ctx, &weight_list, &loss_list, fmt, ending, seconds)?;
        step.report(&mut out);
        out.quantities
            .insert("demo_call_3".into(), json!(np_f32(demo.item()? as f32)));
        out.variables
            .insert("units".into(), json!(tensorflow_model.units));
        Ok(out)
    }
}
