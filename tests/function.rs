//! `tapegrad::function`: a traced step replays the eager step bit for bit, retraces on a new
//! signature, refuses what it cannot replay, and verifies itself.

use std::cell::Cell;

use tapegrad::nn::GlorotUniform;
use tapegrad::prelude::*;

fn bits(t: &Tensor) -> Vec<u64> {
    t.cast(DType::F64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

fn var_bits(v: &Variable) -> Vec<u64> {
    bits(&v.snapshot())
}

fn line_data(n: usize) -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
    let y: Vec<f32> = x
        .iter()
        .map(|x| 2.5 * x - 1.0 + (x * 7.0).cos() * 0.1)
        .collect();
    (
        Tensor::from_vec(x, &[n]).unwrap(),
        Tensor::from_vec(y, &[n]).unwrap(),
    )
}

/// Document 002's step: `mean((w x + b - y)^2)`, two `assign_sub`s, no optimizer.
fn line_step<'a>(
    w: &'a Variable,
    b: &'a Variable,
    calls: &'a Cell<usize>,
) -> impl FnMut(&mut (), &[Tensor]) -> tapegrad::Result<Tensor> + 'a {
    move |_: &mut (), xy: &[Tensor]| {
        calls.set(calls.get() + 1);
        let tape = GradientTape::new();
        let loss = reduce_mean(square(&xy[0] * w + b - &xy[1])?, None, false)?;
        let g = tape.gradient(&loss, &[w, b])?;
        for (v, g) in [w, b].into_iter().zip(g) {
            v.assign_sub(g.expect("connected") * 0.01)?;
        }
        Ok(loss)
    }
}

#[test]
fn a_step_without_optimizer_replays_the_eager_bits() -> tapegrad::Result<()> {
    let (x, y) = line_data(1000);
    let (ew, eb, et) = (Variable::new(0.0f32), Variable::new(0.0f32), Cell::new(0));
    let (tw, tb, tt) = (Variable::new(0.0f32), Variable::new(0.0f32), Cell::new(0));
    let mut eager = line_step(&ew, &eb, &et);
    let mut traced = tapegrad::function(line_step(&tw, &tb, &tt));
    for i in 0..40 {
        let e = eager(&mut (), &[x.clone(), y.clone()])?;
        let t = traced.call(&mut (), &[x.clone(), y.clone()])?;
        assert_eq!(bits(&t), bits(&e), "loss of step {i}");
    }
    assert!(!traced.is_eager(), "{:?}", traced.notes());
    assert_eq!(tt.get(), 1, "the closure runs once, at the trace");
    assert_eq!(
        (var_bits(&tw), var_bits(&tb)),
        (var_bits(&ew), var_bits(&eb))
    );
    Ok(())
}

fn mlp(seed: u64) -> tapegrad::Result<Sequential> {
    let model = Sequential::with_input_shape(&[3])
        .layer(
            Dense::new(8)
                .activation("tanh")?
                .kernel_initializer(GlorotUniform::seeded(seed)),
        )?
        .layer(
            Dense::new(4)
                .activation("relu")?
                .kernel_initializer(GlorotUniform::seeded(seed + 1)),
        )?
        .layer(Dense::new(1).kernel_initializer(GlorotUniform::seeded(seed + 2)))?;
    Ok(model)
}

fn mlp_data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..96).map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0).collect();
    let y: Vec<f32> = (0..32).map(|i| (i as f32 * 0.2).cos()).collect();
    (
        Tensor::from_vec(x, &[32, 3]).unwrap(),
        Tensor::from_vec(y, &[32, 1]).unwrap(),
    )
}

fn mlp_step(
    model: &Sequential,
) -> impl FnMut(&mut Adam, &[Tensor]) -> tapegrad::Result<Tensor> + '_ {
    let vars = model.trainable_variables();
    let mse = MeanSquaredError::new();
    move |opt: &mut Adam, xy: &[Tensor]| {
        let tape = GradientTape::new();
        let loss = mse.call(&xy[1], &model.call(&xy[0])?)?;
        let refs: Vec<&Variable> = vars.iter().collect();
        opt.apply_gradients(&tape.gradients(&loss, &refs)?)?;
        Ok(loss)
    }
}

/// A dense network, a loss object and Adam: traced and eager, 25 steps, the same bits.
#[test]
fn an_mlp_with_adam_replays_the_eager_bits() -> tapegrad::Result<()> {
    let (x, y) = mlp_data();
    let (eager_model, traced_model) = (mlp(3)?, mlp(3)?);
    let (mut eager_opt, mut traced_opt) = (Adam::new(0.01), Adam::new(0.01));
    let mut eager_step = mlp_step(&eager_model);
    let mut traced = tapegrad::function(mlp_step(&traced_model));
    for i in 0..25 {
        let e = eager_step(&mut eager_opt, &[x.clone(), y.clone()])?;
        let t = traced.call(&mut traced_opt, &[x.clone(), y.clone()])?;
        assert_eq!(bits(&t), bits(&e), "loss of step {i}");
    }
    assert_eq!(traced.traces(), 1);
    assert!(!traced.is_eager(), "{:?}", traced.notes());
    let trace = traced.trace_of(&[x.clone(), y.clone()]).expect("a trace");
    assert!(trace.names().contains(&"matmul"), "{:?}", trace.names());
    assert!(trace.names().contains(&"apply_gradients"));
    for (e, t) in eager_model
        .trainable_variables()
        .iter()
        .zip(traced_model.trainable_variables().iter())
    {
        assert_eq!(var_bits(t), var_bits(e), "{}", e.name());
    }
    assert_eq!(traced_opt.iterations(), eager_opt.iterations());
    Ok(())
}

#[test]
fn a_new_shape_traces_again_and_many_retraces_warn() -> tapegrad::Result<()> {
    let w = Variable::new(1.0f32);
    let mut f = tapegrad::function(|opt: &mut Sgd, x: &[Tensor]| {
        let tape = GradientTape::new();
        let loss = reduce_sum(square(&x[0] * &w)?, None, false)?;
        opt.apply_gradients(&tape.gradients(&loss, &[&w])?)?;
        Ok(loss)
    });
    let mut opt = Sgd::new(0.001);
    let ones = |n: usize| Tensor::ones(DType::F32, &[n]).unwrap();
    f.call(&mut opt, &[ones(3)])?;
    f.call(&mut opt, &[ones(3)])?;
    assert_eq!(f.traces(), 1);
    f.call(&mut opt, &[ones(4)])?;
    assert_eq!(f.traces(), 2);
    f.call(&mut opt, &[ones(3)])?;
    assert_eq!(f.traces(), 2, "a signature met before is not traced again");
    f.call(&mut opt, &[Tensor::ones(DType::F64, &[3])?])
        .unwrap_err();
    assert!(f.notes().is_empty());
    for n in 5..10 {
        f.call(&mut opt, &[ones(n)])?;
    }
    assert_eq!(f.traces(), 8);
    assert!(
        f.notes().iter().any(|n| n.contains("traced 6 times")),
        "{:?}",
        f.notes()
    );
    assert_eq!(
        opt.iterations(),
        9,
        "the float64 call failed: nothing applied"
    );
    Ok(())
}

/// Reading a traced value into Rust cannot be replayed: the function says so and runs the
/// step eagerly, giving the eager results.
#[test]
fn a_value_read_into_rust_makes_the_step_eager_with_a_note() -> tapegrad::Result<()> {
    let w = Variable::new(4.0f32);
    let mut f = tapegrad::function(|_: &mut (), x: &[Tensor]| {
        let tape = GradientTape::new();
        let loss = reduce_sum(square(&x[0] * &w)?, None, false)?;
        let g = tape.gradient(&loss, &[&w])?.remove(0).expect("connected");
        // a branch on the loss's value: a replay could not take it again
        let lr = if loss.item()? > 10.0 { 0.01 } else { 0.1 };
        w.assign_sub(g * lr)?;
        Ok(loss)
    });
    let x = Tensor::from_vec(vec![1.0f32, 1.0], &[2])?;
    for _ in 0..30 {
        f.call(&mut (), std::slice::from_ref(&x))?;
    }
    assert!(f.is_eager());
    let note = f.notes().join(" ");
    assert!(
        note.contains("`item`") && note.contains("reduce_sum") || note.contains("`item`"),
        "{note}"
    );
    // eager all along: 30 steps with the branch taken each time
    let mut v = 4.0f32;
    for _ in 0..30 {
        let loss = 2.0 * v * v;
        let g = 4.0 * v;
        v -= g * if loss > 10.0 { 0.01 } else { 0.1 };
    }
    assert!((w.item()? as f32 - v).abs() < 1e-5);
    Ok(())
}

/// A Rust value the closure computes from its own state is a constant of the trace; verify
/// finds the difference and names the node.
#[test]
fn verify_names_the_first_difference() -> tapegrad::Result<()> {
    let w = Variable::new(1.0f32);
    let k = Cell::new(1.0f32);
    let mut f = tapegrad::function(|_: &mut (), x: &[Tensor]| {
        k.set(k.get() + 1.0); // host state: traced as the constant of the first call
        let y = ((&x[0] * &w)? * k.get())?;
        w.assign_add(reduce_sum(&y, None, false)?)?;
        Ok(y)
    });
    let x = Tensor::from_vec(vec![0.5f32], &[1])?;
    f.call(&mut (), std::slice::from_ref(&x))?;
    f.verify(3);
    for _ in 0..3 {
        f.call_verified(&mut (), std::slice::from_ref(&x))?;
    }
    let v = f.verification();
    assert_eq!(v.calls, 3);
    let diff = v.first_difference.as_deref().expect("a difference");
    assert!(diff.starts_with("call 0: node"), "{diff}");
    assert!(diff.contains("mul"), "{diff}");
    Ok(())
}

#[test]
fn verify_finds_no_difference_in_a_true_step() -> tapegrad::Result<()> {
    let (x, y) = mlp_data();
    let model = mlp(9)?;
    let vars = model.trainable_variables();
    let mse = MeanSquaredError::new();
    let mut f = tapegrad::function(|opt: &mut Sgd, xy: &[Tensor]| {
        let tape = GradientTape::new();
        let loss = mse.call(&xy[1], &model.call(&xy[0])?)?;
        let refs: Vec<&Variable> = vars.iter().collect();
        opt.apply_gradients(&tape.gradients(&loss, &refs)?)?;
        Ok(loss)
    });
    let mut opt = Sgd::new(0.05).momentum(0.9);
    f.verify(5);
    for _ in 0..8 {
        f.call_verified(&mut opt, &[x.clone(), y.clone()])?;
    }
    assert_eq!(f.verification().calls, 5);
    assert_eq!(f.verification().first_difference, None);
    assert_eq!(opt.iterations(), 8);
    Ok(())
}

#[test]
fn a_step_applying_another_optimizer_runs_eagerly_with_a_note() -> tapegrad::Result<()> {
    let w = Variable::new(1.0f32);
    let mut other = Sgd::new(0.1);
    let mut f = tapegrad::function(|_: &mut Sgd, x: &[Tensor]| {
        let tape = GradientTape::new();
        let loss = reduce_sum(&x[0] * &w, None, false)?;
        other.apply_gradients(&tape.gradients(&loss, &[&w])?)?;
        Ok(loss)
    });
    let mut given = Sgd::new(0.1);
    let x = Tensor::ones(DType::F32, &[2])?;
    f.call(&mut given, std::slice::from_ref(&x))?;
    f.call(&mut given, std::slice::from_ref(&x))?;
    assert!(f.is_eager());
    assert!(
        f.notes()[0].contains("other than the one given"),
        "{:?}",
        f.notes()
    );
    drop(f);
    assert_eq!((other.iterations(), given.iterations()), (2, 0));
    assert!((w.item()? - 0.6).abs() < 1e-6); // two steps of 0.1 × 2
    Ok(())
}

#[test]
fn a_traced_function_moves_to_a_thread() -> tapegrad::Result<()> {
    let w = Variable::new(1.0f32);
    let w2 = w.clone();
    let mut f = tapegrad::function(move |opt: &mut Adam, x: &[Tensor]| {
        let tape = GradientTape::new();
        let loss = reduce_sum(square(&x[0] * &w2)?, None, false)?;
        opt.apply_gradients(&tape.gradients(&loss, &[&w2])?)?;
        Ok(loss)
    });
    let mut opt = Adam::new(0.1);
    let x = Tensor::ones(DType::F32, &[3])?;
    f.call(&mut opt, std::slice::from_ref(&x))?;
    let (f, opt) = std::thread::spawn(move || -> tapegrad::Result<_> {
        for _ in 0..9 {
            f.call(&mut opt, std::slice::from_ref(&x))?;
        }
        Ok((f, opt))
    })
    .join()
    .expect("the thread")?;
    assert_eq!((f.traces(), opt.iterations()), (1, 10));
    assert!(w.item()? < 0.5);
    Ok(())
}
