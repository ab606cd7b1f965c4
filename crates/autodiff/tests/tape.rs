//! GradientTape semantics: higher order, persistence, jacobians, unwatched sources, errors.

use tapegrad_autodiff::gradcheck::numeric_jacobian;
use tapegrad_autodiff::{
    exp, mul, pow, reduce_sum, square, DType, Error, GradientTape, Result, TapeOptions, Tensor,
    UnconnectedGradients, Variable,
};

fn grad_of(tape: &GradientTape, y: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(tape.gradient(y, &[x])?.remove(0).expect("connected"))
}

#[test]
fn second_derivative_of_x_cubed_through_nested_tapes() -> Result<()> {
    let x = Tensor::scalar(2.0f32);
    let outer = GradientTape::new();
    outer.watch(&x);
    let inner = GradientTape::new();
    inner.watch(&x);
    let y = pow(&x, 3.0)?;
    let dy_dx = grad_of(&inner, &y, &x)?;
    assert_eq!(dy_dx.item()?, 12.0);
    let d2y_dx2 = grad_of(&outer, &dy_dx, &x)?;
    assert_eq!(d2y_dx2.item()?, 12.0);
    Ok(())
}

#[test]
fn third_derivative_through_three_tapes() -> Result<()> {
    let x = Tensor::scalar(0.5f64);
    let t3 = GradientTape::new();
    t3.watch(&x);
    let t2 = GradientTape::new();
    t2.watch(&x);
    let t1 = GradientTape::new();
    t1.watch(&x);
    let y = exp(mul(&x, 2.0)?)?;
    let d1 = grad_of(&t1, &y, &x)?;
    let d2 = grad_of(&t2, &d1, &x)?;
    let d3 = grad_of(&t3, &d2, &x)?;
    assert!((d3.item()? - 8.0 * 1f64.exp()).abs() < 1e-12);
    Ok(())
}

#[test]
fn persistent_tape_answers_twice_and_non_persistent_refuses() -> Result<()> {
    let x = Tensor::scalar(3.0f32);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = square(&x)?;
    let z = mul(&y, &y)?;
    assert_eq!(grad_of(&tape, &y, &x)?.item()?, 6.0);
    assert_eq!(grad_of(&tape, &z, &x)?.item()?, 108.0);

    let once = GradientTape::new();
    once.watch(&x);
    let y = square(&x)?;
    grad_of(&once, &y, &x)?;
    let err = once.gradient(&y, &[&x]).unwrap_err();
    assert_eq!(err, Error::TapeConsumed);
    assert!(err.to_string().contains("non-persistent GradientTape"));
    Ok(())
}

#[test]
fn jacobian_equals_the_numeric_one() -> Result<()> {
    let f = |x: &Tensor| -> Result<Tensor> {
        let m = Tensor::from_vec(vec![1.0f64, -2.0, 0.5, 3.0, 0.0, 1.5], &[2, 3])?;
        tapegrad_autodiff::tanh(tapegrad_autodiff::matmul(
            m,
            tapegrad_autodiff::reshape(square(x)?, &[3, 1])?,
        )?)
    };
    let x0 = tapegrad_tensor::Array::from_vec(vec![0.3, -0.8, 0.6], &[3])?;
    let x = Tensor::new(x0.clone());
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = f(&x)?;
    let j = tape.jacobian(&y, &x)?;
    let n = numeric_jacobian(&f, &x0, 1e-6)?;
    assert_eq!(j.shape(), &[2, 1, 3]);
    assert_eq!(n.shape(), j.shape());
    for (a, b) in j.to_vec::<f64>()?.iter().zip(n.to_vec::<f64>()?) {
        assert!((a - b).abs() < 1e-7, "{a} vs {b}");
    }
    Ok(())
}

#[test]
fn unwatched_and_unconnected_sources() -> Result<()> {
    let x = Tensor::scalar(1.0f32);
    let unwatched = Tensor::scalar(2.0f32);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = mul(&x, &unwatched)?;
    let g = tape.gradient(&y, &[&x, &unwatched])?;
    assert_eq!(g[0].as_ref().unwrap().item()?, 2.0);
    assert!(g[1].is_none());
    let other = Tensor::from_vec(vec![1.0f32, 1.0], &[2])?;
    tape.watch(&other);
    let g = tape.gradient_with(&y, &[&other], None, UnconnectedGradients::Zero)?;
    assert_eq!(g[0].as_ref().unwrap().to_vec::<f32>()?, vec![0.0, 0.0]);
    Ok(())
}

#[test]
fn variables_are_watched_when_read_unless_disabled_or_untrainable() -> Result<()> {
    let w = Variable::new(3.0f32);
    let frozen = Variable::with_options(4.0f32, "frozen", false);
    let tape = GradientTape::new();
    let y = mul(&w, &frozen)?;
    assert_eq!(tape.watched_variables().len(), 1);
    let g = tape.gradient(&y, &[&w, &frozen])?;
    assert_eq!(g[0].as_ref().unwrap().item()?, 4.0);
    assert!(g[1].is_none());

    let tape = GradientTape::with_options(TapeOptions {
        watch_accessed_variables: false,
        persistent: false,
    });
    tape.watch_variable(&frozen);
    let y = mul(&w, &frozen)?;
    let g = tape.gradient(&y, &[&w, &frozen])?;
    assert!(g[0].is_none());
    assert_eq!(g[1].as_ref().unwrap().item()?, 3.0);
    Ok(())
}

#[test]
fn non_scalar_target_gives_the_gradient_of_its_sum() -> Result<()> {
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = square(&x)?;
    let s = reduce_sum(&y, None, false)?;
    assert_eq!(
        grad_of(&tape, &y, &x)?.to_vec::<f32>()?,
        grad_of(&tape, &s, &x)?.to_vec::<f32>()?
    );
    let bad_seed = Tensor::scalar(1.0f32);
    assert!(tape
        .gradient_with(&y, &[&x], Some(&bad_seed), UnconnectedGradients::None)
        .is_err());
    Ok(())
}

#[test]
fn stop_recording_reset_and_drop() -> Result<()> {
    let x = Tensor::scalar(2.0f32);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = {
        let _paused = tape.stop_recording();
        square(&x)?
    };
    assert!(tape.gradient(&y, &[&x])?[0].is_none());
    let z = square(&x)?;
    assert_eq!(grad_of(&tape, &z, &x)?.item()?, 4.0);
    tape.reset();
    assert!(tape.is_empty());
    assert!(tape.gradient(&z, &[&x])?[0].is_none());
    tape.stop();
    let _ = square(&x)?;
    assert!(tape.is_empty());
    drop(tape);
    // with no tape active nothing records and ops still run
    assert_eq!(square(&x)?.item()?, 4.0);
    Ok(())
}

#[test]
fn gradient_dtype_follows_the_source() -> Result<()> {
    let x = Tensor::scalar(2.0f64);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = square(&x)?;
    assert_eq!(grad_of(&tape, &y, &x)?.dtype(), DType::F64);
    Ok(())
}

#[test]
fn graph_dump_names_ops_shapes_and_variables() -> Result<()> {
    let x = Tensor::from_vec(vec![0.0f32, 2.0, 4.0], &[3])?;
    let a = Variable::new(0.0f32).with_name("a");
    let tape = GradientTape::new();
    let y = tapegrad_autodiff::abs(((&x * &a)? - &x)?)?;
    let dot = tape.to_dot();
    for needle in [
        "ReadVariable(a)",
        "Mul",
        "Sub",
        "Abs",
        "[3] float32",
        "variable a",
    ] {
        assert!(dot.contains(needle), "{needle} missing from\n{dot}");
    }
    assert_eq!(tape.len(), 4);
    let _ = y;
    Ok(())
}

#[test]
fn a_variable_read_twice_sums_both_paths() -> Result<()> {
    let a = Variable::new(3.0f32);
    let x = Tensor::scalar(5.0f32);
    let tape = GradientTape::new();
    // two reads of `a`: y = a*a + a*x
    let y = tapegrad_autodiff::add(mul(&a, &a)?, mul(&a, &x)?)?;
    assert_eq!(tape.len(), 6, "three reads, two products, a sum");
    assert_eq!(tape.watched_variables().len(), 1);
    let g = tape.gradient(&y, &[&a, &a])?;
    assert_eq!(g[0].as_ref().unwrap().item()?, 11.0);
    assert_eq!(g[1].as_ref().unwrap().item()?, 11.0);
    Ok(())
}

#[test]
fn the_same_tensor_twice_in_one_op() -> Result<()> {
    let x = Tensor::scalar(3.0f32);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = mul(&x, &x)?;
    assert_eq!(grad_of(&tape, &y, &x)?.item()?, 6.0);
    Ok(())
}

#[test]
fn intermediate_tensors_as_sources() -> Result<()> {
    let x = Tensor::scalar(2.0f32);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = square(&x)?; // 4
    let z = mul(&y, 3.0)?; // 12
    let w = mul(&z, &y)?; // 3 y^2
                          // dw/dz = y, dw/dy = 6y (both paths), dw/dx = 6y * 2x: the intermediate sources keep
                          // passing their gradient on
    let g = tape.gradient(&w, &[&z, &y, &x])?;
    assert_eq!(g[0].as_ref().unwrap().item()?, 4.0);
    assert_eq!(g[1].as_ref().unwrap().item()?, 24.0);
    assert_eq!(g[2].as_ref().unwrap().item()?, 96.0);
    // the target itself, and a source watched after it was recorded
    assert_eq!(grad_of(&tape, &z, &z)?.item()?, 1.0);
    tape.watch(&y);
    assert_eq!(grad_of(&tape, &w, &y)?.item()?, 24.0);
    Ok(())
}

#[test]
fn the_target_as_a_source_even_when_unwatched() -> Result<()> {
    let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    let c = Tensor::scalar(5.0f32);
    let tape = GradientTape::persistent();
    assert_eq!(grad_of(&tape, &x, &x)?.to_vec::<f32>()?, vec![1.0, 1.0]);
    let seed = Tensor::from_vec(vec![3.0f32, 4.0], &[2])?;
    let g = tape.gradient_with(&x, &[&x, &c], Some(&seed), UnconnectedGradients::None)?;
    assert_eq!(g[0].as_ref().unwrap().to_vec::<f32>()?, vec![3.0, 4.0]);
    assert!(g[1].is_none());
    // watched, and consumed by a recorded op
    tape.watch(&x);
    let _y = square(&x)?;
    assert_eq!(grad_of(&tape, &x, &x)?.to_vec::<f32>()?, vec![1.0, 1.0]);
    Ok(())
}

#[test]
fn a_tensor_watched_after_an_op_used_it_gets_that_ops_gradient() -> Result<()> {
    let x = Tensor::scalar(3.0f32);
    let c = Tensor::scalar(7.0f32);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = mul(&x, &c)?; // c unwatched when recorded
    let v = Variable::new(1.0f32); // a leaf added between the record and the watch
    let z = mul(&y, &v)?;
    tape.watch(&c);
    let g = tape.gradient(&z, &[&c, &x])?;
    assert_eq!(g[0].as_ref().unwrap().item()?, 3.0);
    assert_eq!(g[1].as_ref().unwrap().item()?, 7.0);
    Ok(())
}

#[test]
fn many_sources_and_many_inputs() -> Result<()> {
    let xs: Vec<Tensor> = (0..12)
        .map(|i| Tensor::from_vec(vec![i as f32], &[1]))
        .collect::<Result<_>>()?;
    let tape = GradientTape::new();
    // every other one watched; one watched after the concat was recorded
    for x in xs.iter().step_by(2) {
        tape.watch(x);
    }
    let s = tapegrad_autodiff::concat(&xs, 0)?;
    tape.watch(&xs[1]);
    let weights = Tensor::from_vec((1..=12).map(|i| i as f32).collect(), &[12])?;
    let y = reduce_sum(mul(&s, &weights)?, None, false)?;
    let g = tape.gradient(&y, &xs)?;
    for (i, g) in g.iter().enumerate() {
        match g {
            Some(g) => {
                assert!(i % 2 == 0 || i == 1, "{i}");
                assert_eq!(g.to_vec::<f32>()?, vec![(i + 1) as f32]);
            }
            None => assert!(i % 2 == 1 && i != 1, "{i}"),
        }
    }
    Ok(())
}

#[test]
fn many_watched_tensors() -> Result<()> {
    // more leaves than a short scan covers
    let xs: Vec<Tensor> = (0..100).map(|i| Tensor::scalar(i as f32)).collect();
    let tape = GradientTape::persistent();
    for x in &xs {
        tape.watch(x);
    }
    let mut acc = mul(&xs[0], &xs[99])?;
    for x in &xs[1..99] {
        acc = tapegrad_autodiff::add(acc, mul(x, x)?)?;
    }
    let late = Tensor::scalar(0.5f32);
    let acc = mul(&acc, &late)?;
    tape.watch(&late);
    let g = tape.gradient(&acc, &[&xs[0], &xs[50], &xs[99], &late])?;
    assert_eq!(g[0].as_ref().unwrap().item()?, 49.5);
    assert_eq!(g[1].as_ref().unwrap().item()?, 50.0);
    assert_eq!(g[2].as_ref().unwrap().item()?, 0.0);
    let sum: f64 = (1..99).map(|i| f64::from(i * i)).sum();
    assert_eq!(g[3].as_ref().unwrap().item()?, sum);
    Ok(())
}

#[test]
fn second_derivative_of_a_variable_and_what_the_outer_tape_records() -> Result<()> {
    let a = Variable::new(2.0f32);
    let x = Tensor::scalar(3.0f32);
    let outer = GradientTape::new();
    let inner = GradientTape::new();
    let y = mul(mul(&a, &a)?, &x)?; // x a^2
    let dy_da = inner.gradient(&y, &[&a])?.remove(0).unwrap();
    assert_eq!(dy_da.item()?, 12.0);
    // the outer tape holds the forward ops and the inner backward's ops: the same list as
    // before the tape kept positions instead of ids (two reads, two products, then the
    // backward's two products and their sum)
    assert_eq!(outer.len(), 7);
    let d2 = outer.gradient(&dy_da, &[&a, &a])?;
    assert_eq!(d2[0].as_ref().unwrap().item()?, 6.0);
    assert_eq!(d2[1].as_ref().unwrap().item()?, 6.0);
    Ok(())
}

#[test]
fn tapes_dropped_out_of_order_and_reused_after_reset() -> Result<()> {
    let x = Tensor::scalar(2.0f32);
    let outer = GradientTape::persistent();
    outer.watch(&x);
    let inner = GradientTape::new();
    inner.watch(&x);
    drop(outer);
    let y = square(&x)?;
    assert_eq!(grad_of(&inner, &y, &x)?.item()?, 4.0);
    // a non-persistent tape after gradient holds nothing
    assert!(inner.is_empty());
    assert_eq!(inner.to_dot().lines().count(), 4);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = square(&x)?;
    assert_eq!(grad_of(&tape, &y, &x)?.item()?, 4.0);
    tape.reset();
    assert!(
        tape.gradient(&y, &[&x])?[0].is_none(),
        "nothing recorded since the reset"
    );
    tape.watch(&x);
    let z = mul(&x, 5.0)?;
    assert_eq!(grad_of(&tape, &z, &x)?.item()?, 5.0);
    Ok(())
}

#[test]
fn a_variable_watched_with_watch_is_listed_and_gets_its_gradient() -> Result<()> {
    // as TensorFlow's `tape.watch(v)`: `watched_variables()` lists it
    let v = Variable::new(2.0f32);
    let tape = GradientTape::with_options(TapeOptions {
        watch_accessed_variables: false,
        persistent: false,
    });
    tape.watch(&v);
    let y = mul(&v, &v)?;
    let watched = tape.watched_variables();
    assert!(watched.len() == 1 && watched[0].same_as(&v));
    assert!(tape.to_dot().contains("ReadVariable(Variable)"));
    assert_eq!(tape.gradient(&y, &[&v])?[0].as_ref().unwrap().item()?, 4.0);
    Ok(())
}
