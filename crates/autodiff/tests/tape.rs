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
    let x0 = tapegrad_tensor::Tensor::from_vec(vec![0.3, -0.8, 0.6], &[3])?;
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
