//! Replays every optimizer trajectory and schedule recorded from tf-keras 2.21 in
//! `data/keras/optimizers.json` (written by `data/keras/gen_reference.py`).
//!
//! Each case feeds the optimizer the gradients Keras fed `apply_gradients` (unclipped) and
//! compares, step by step, the learning rate used, `iterations`, and the variables after the
//! step; at the end, every slot Keras had. Values must agree to 1e-6 relative (float32); the
//! number of bit-identical values is reported.

use serde_json::Value;
use tapegrad_autodiff::{matmul, reduce_mean, square, GradientTape, Tensor, Variable};
use tapegrad_optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, CosineDecay, CosineDecayRestarts, ExponentialDecay,
    InverseTimeDecay, LearningRate, Nadam, Optimizer, OptimizerExt, PiecewiseConstantDecay,
    PolynomialDecay, RMSprop, Sgd,
};

const JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/keras/optimizers.json"
));

fn data() -> Value {
    serde_json::from_str(JSON).expect("optimizers.json parses")
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("a float"),
        Value::String(s) => match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => panic!("not a number: {other}"),
        },
        other => panic!("not a number: {other}"),
    }
}

fn opt_num(v: &Value) -> Option<f64> {
    (!v.is_null()).then(|| num(v))
}

/// Flattens nested lists into float32 values and a shape.
fn flat(v: &Value) -> (Vec<f32>, Vec<usize>) {
    fn walk(v: &Value, depth: usize, out: &mut Vec<f32>, shape: &mut Vec<usize>) {
        match v {
            Value::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len());
                }
                for x in items {
                    walk(x, depth + 1, out, shape);
                }
            }
            x => out.push(num(x) as f32),
        }
    }
    let (mut out, mut shape) = (vec![], vec![]);
    walk(v, 0, &mut out, &mut shape);
    (out, shape)
}

fn tensor(v: &Value) -> Tensor {
    let (data, shape) = flat(v);
    Tensor::from_vec(data, &shape).expect("consistent nested lists")
}

fn schedule(class: &str, c: &Value) -> LearningRate {
    let f = |k: &str| num(&c[k]);
    let u = |k: &str| c[k].as_u64().expect("an integer");
    let b = |k: &str| c[k].as_bool().expect("a bool");
    match class {
        "ExponentialDecay" => ExponentialDecay::new(
            f("initial_learning_rate"),
            u("decay_steps"),
            f("decay_rate"),
        )
        .expect("valid schedule")
        .staircase(b("staircase"))
        .into(),
        "InverseTimeDecay" => InverseTimeDecay::new(
            f("initial_learning_rate"),
            u("decay_steps"),
            f("decay_rate"),
        )
        .expect("valid schedule")
        .staircase(b("staircase"))
        .into(),
        "PiecewiseConstantDecay" => {
            let bounds: Vec<u64> = c["boundaries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            let values: Vec<f64> = c["values"].as_array().unwrap().iter().map(num).collect();
            PiecewiseConstantDecay::new(&bounds, &values)
                .expect("valid schedule")
                .into()
        }
        "PolynomialDecay" => PolynomialDecay::new(f("initial_learning_rate"), u("decay_steps"))
            .expect("valid schedule")
            .end_learning_rate(f("end_learning_rate"))
            .power(f("power"))
            .cycle(b("cycle"))
            .into(),
        "CosineDecay" => {
            let s = CosineDecay::new(f("initial_learning_rate"), u("decay_steps"))
                .expect("valid schedule")
                .alpha(f("alpha"));
            match opt_num(&c["warmup_target"]) {
                Some(t) => s.warmup(t, u("warmup_steps")).into(),
                None => s.into(),
            }
        }
        "CosineDecayRestarts" => {
            CosineDecayRestarts::new(f("initial_learning_rate"), u("first_decay_steps"))
                .expect("valid schedule")
                .t_mul(f("t_mul"))
                .m_mul(f("m_mul"))
                .alpha(f("alpha"))
                .into()
        }
        other => panic!("unknown schedule {other}"),
    }
}

/// Applies the base-class options of a config to any optimizer type.
macro_rules! with_common {
    ($opt:expr, $cfg:expr) => {{
        let mut o = $opt;
        if let Some(v) = opt_num(&$cfg["clipnorm"]) {
            o = o.clipnorm(v);
        }
        if let Some(v) = opt_num(&$cfg["clipvalue"]) {
            o = o.clipvalue(v);
        }
        if let Some(v) = opt_num(&$cfg["global_clipnorm"]) {
            o = o.global_clipnorm(v);
        }
        if let Some(v) = opt_num(&$cfg["weight_decay"]) {
            o = o.weight_decay(v);
        }
        Box::new(o) as Box<dyn Optimizer>
    }};
}

fn build(class: &str, c: &Value) -> Box<dyn Optimizer> {
    let lr: LearningRate = match &c["learning_rate"] {
        Value::Object(s) => schedule(s["class_name"].as_str().unwrap(), &s["config"]),
        v => num(v).into(),
    };
    let f = |k: &str| num(&c[k]);
    let b = |k: &str| c[k].as_bool().expect("a bool");
    match class {
        "SGD" => with_common!(
            Sgd::new(lr).momentum(f("momentum")).nesterov(b("nesterov")),
            c
        ),
        "Adam" => with_common!(
            Adam::new(lr)
                .beta_1(f("beta_1"))
                .beta_2(f("beta_2"))
                .epsilon(f("epsilon"))
                .amsgrad(b("amsgrad")),
            c
        ),
        "AdamW" => with_common!(
            AdamW::new(lr)
                .beta_1(f("beta_1"))
                .beta_2(f("beta_2"))
                .epsilon(f("epsilon"))
                .amsgrad(b("amsgrad")),
            c
        ),
        "RMSprop" => with_common!(
            RMSprop::new(lr)
                .rho(f("rho"))
                .momentum(f("momentum"))
                .epsilon(f("epsilon"))
                .centered(b("centered")),
            c
        ),
        "Adagrad" => with_common!(
            Adagrad::new(lr)
                .initial_accumulator_value(f("initial_accumulator_value"))
                .epsilon(f("epsilon")),
            c
        ),
        "Adadelta" => with_common!(Adadelta::new(lr).rho(f("rho")).epsilon(f("epsilon")), c),
        "Nadam" => with_common!(
            Nadam::new(lr)
                .beta_1(f("beta_1"))
                .beta_2(f("beta_2"))
                .epsilon(f("epsilon")),
            c
        ),
        "Adamax" => with_common!(
            Adamax::new(lr)
                .beta_1(f("beta_1"))
                .beta_2(f("beta_2"))
                .epsilon(f("epsilon")),
            c
        ),
        other => panic!("unknown optimizer {other}"),
    }
}

#[derive(Default)]
struct Tally {
    values: usize,
    exact: usize,
    worst: f64,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, what: impl Fn() -> String, got: &[f32], want: &[f32]) {
        if got.len() != want.len() {
            self.failures.push(format!(
                "{}: {} values, expected {}",
                what(),
                got.len(),
                want.len()
            ));
            return;
        }
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            self.values += 1;
            if g.to_bits() == w.to_bits() {
                self.exact += 1;
                continue;
            }
            let rel = f64::from((g - w).abs()) / f64::from(w.abs()).max(1e-30);
            // Values that cancel to ~0 are compared against the scale of the problem.
            let err = rel.min(f64::from((g - w).abs()) / 1e-3);
            self.worst = self.worst.max(err);
            if err.is_nan() || err > 1e-6 {
                self.failures.push(format!(
                    "{}[{i}]: got {g:e}, Keras {w:e} (rel {rel:.2e})",
                    what()
                ));
            }
        }
    }
}

#[test]
fn every_optimizer_case_matches_tf_keras() {
    let d = data();
    let problem = &d["problem"];
    let cases = d["cases"].as_array().expect("cases");
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut tally = Tally::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut opt = build(case["class"].as_str().unwrap(), &case["config"]);
        let w = Variable::new(tensor(&problem["w0"]).into_value()).with_name("w");
        let b = Variable::new(tensor(&problem["b0"]).into_value()).with_name("b");
        for (k, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let grads = step["grads"].as_array().unwrap();
            let after = opt
                .apply_gradients([(Some(tensor(&grads[0])), &w), (Some(tensor(&grads[1])), &b)])
                .unwrap_or_else(|e| panic!("{name} step {k}: {e}"));
            assert_eq!(after, step["iterations_after"].as_u64().unwrap(), "{name}");
            let lr = num(&step["learning_rate"]) as f32;
            tally.check(
                || format!("{name} step {k} learning_rate"),
                &[opt.learning_rate() as f32],
                &[lr],
            );
            let values = step["values"].as_array().unwrap();
            for (v, want) in [&w, &b].into_iter().zip(values) {
                let got = v.snapshot().to_vec::<f32>().unwrap();
                tally.check(
                    || format!("{name} step {k} {}", v.name()),
                    &got,
                    &flat(want).0,
                );
            }
        }
        let slots = opt.slot_variables();
        for var in case["final_optimizer_variables"].as_array().unwrap() {
            let keras_name = var["name"].as_str().unwrap();
            // `Adam/m/w:0` -> `m/w`; skip the iteration counter (checked above).
            let Some(rest) = keras_name
                .strip_suffix(":0")
                .and_then(|n| n.split_once('/'))
            else {
                continue;
            };
            let ours = slots.iter().find(|(n, _)| n == rest.1);
            match ours {
                Some((_, t)) => tally.check(
                    || format!("{name} slot {}", rest.1),
                    &t.to_vec::<f32>().unwrap(),
                    &flat(&var["value"]).0,
                ),
                // Keras's SGD keeps an `m` slot even without momentum; ours has none.
                None if case["class"] == "SGD" && num(&case["config"]["momentum"]) == 0.0 => {}
                None => tally.failures.push(format!("{name}: no slot {}", rest.1)),
            }
        }
    }
    eprintln!(
        "{} values compared, {} bit-identical, worst relative difference {:.2e}",
        tally.values, tally.exact, tally.worst
    );
    assert!(
        tally.failures.is_empty(),
        "{} mismatches:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
}

#[test]
fn every_schedule_matches_tf_keras_bit_for_bit() {
    let d = data();
    let mut mismatches = vec![];
    for s in d["schedules"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert_eq!(s["lr_dtype"], "float32");
        let lr = schedule(s["class"].as_str().unwrap(), &s["config"]);
        let LearningRate::Schedule(sched) = lr else {
            panic!("{name} is a schedule")
        };
        for (step, want) in s["lr"].as_array().unwrap().iter().enumerate() {
            let got = sched.at(step as u64) as f32;
            let want = num(want) as f32;
            if got.to_bits() != want.to_bits() {
                mismatches.push(format!("{name} step {step}: {got:e} vs Keras {want:e}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The gradients Keras recorded are the ones our tape computes for the same loss and values
/// (the first step of the SGD case, where the variables are still the initial ones).
#[test]
fn recorded_gradients_are_what_our_tape_computes() -> tapegrad_autodiff::Result<()> {
    let d = data();
    let p = &d["problem"];
    let (x, y) = (tensor(&p["x"]), tensor(&p["y"]));
    let w = Variable::new(tensor(&p["w0"]).into_value());
    let b = Variable::new(tensor(&p["b0"]).into_value());
    let tape = GradientTape::new();
    let loss = reduce_mean(square(((matmul(&x, &w)? + &b)? - &y)?)?, None, false)?;
    let grads = tape.gradient(&loss, &[&w, &b])?;
    let step0 = &d["cases"][0]["steps"][0];
    // Summation order may differ from TensorFlow's by an ulp.
    let want_loss = num(&step0["loss"]);
    assert!((loss.item()? - want_loss).abs() <= 1e-6 * want_loss);
    for (g, want) in grads.iter().zip(step0["grads"].as_array().unwrap()) {
        let got = g.as_ref().unwrap().to_vec::<f32>()?;
        for (a, b) in got.iter().zip(flat(want).0) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
    Ok(())
}
