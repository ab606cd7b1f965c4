//! Document 000's fit through the optimizer API, and `minimize` agreeing with
//! `apply_gradients` bit for bit.

use tapegrad_autodiff::{abs, reduce_mean, square, DType, GradientTape, Tensor, Variable};
use tapegrad_optim::{Adam, Optimizer, OptimizerExt, Result, Sgd};

fn document_000_data() -> Result<(Tensor, Tensor)> {
    let x = Tensor::new(tapegrad_tensor::Array::arange(0.0, 100.0, 2.0, DType::F32)?);
    let y = ((&x * 5.0)? + 3.0)?;
    Ok((x, y))
}

fn bits(v: &Variable) -> Result<u32> {
    Ok(v.numpy::<f32>()?.sum().to_bits())
}

/// Document 000: y = 5x + 3 on x = 0, 2, ..., 98 (float32), loss |y - (x a + b)| as a vector
/// target, `Sgd::new(1e-4).apply_gradients`, 15000 steps. TensorFlow 2.21 prints
/// a = 4.9825082, b = 2.9951642; every bit must agree.
#[test]
fn document_000_fit_with_sgd_apply_gradients_matches_tensorflow_bit_for_bit() -> Result<()> {
    let (x_train, y_train) = document_000_data()?;
    let a = Variable::new(0.0f32).with_name("a");
    let b = Variable::new(0.0f32).with_name("b");
    let mut optimizer = Sgd::new(0.0001);
    for _ in 0..15000 {
        let tape = GradientTape::new();
        let y_test = ((&x_train * &a)? + &b)?;
        let loss = abs(&y_train - y_test)?;
        let grads = tape.gradient(&loss, &[&a, &b])?;
        optimizer.apply_gradients(grads.into_iter().zip([&a, &b]))?;
    }
    let parse = |s: &str| s.parse::<f32>().map(f32::to_bits).ok();
    assert_eq!(Some(bits(&a)?), parse("4.9825082"));
    assert_eq!(Some(bits(&b)?), parse("2.9951642"));
    assert_eq!(optimizer.iterations(), 15000);
    assert!(optimizer.warnings().is_empty());
    Ok(())
}

/// The same loop through `minimize`, which records its own tape: identical bits at every
/// step (document 000's author asks why apply_gradients and not minimize: they agree).
#[test]
fn minimize_and_apply_gradients_agree_bit_for_bit() -> Result<()> {
    let (x, y) = document_000_data()?;
    let (a1, b1) = (Variable::new(0.0f32), Variable::new(0.0f32));
    let (a2, b2) = (Variable::new(0.0f32), Variable::new(0.0f32));
    let mut by_apply = Sgd::new(1e-4).momentum(0.5);
    let mut by_minimize = Sgd::new(1e-4).momentum(0.5);
    for step in 0..300 {
        let tape = GradientTape::new();
        let loss = abs(&y - ((&x * &a1)? + &b1)?)?;
        let grads = tape.gradient(&loss, &[&a1, &b1])?;
        by_apply.apply_gradients(grads.into_iter().zip([&a1, &b1]))?;
        let loss2 = by_minimize.minimize(|| abs(&y - ((&x * &a2)? + &b2)?), &[&a2, &b2])?;
        assert!(loss.value().equals(loss2.value()), "step {step}");
        assert_eq!(
            (bits(&a1)?, bits(&b1)?),
            (bits(&a2)?, bits(&b2)?),
            "step {step}"
        );
    }
    assert_eq!(by_apply.iterations(), by_minimize.iterations());
    assert_eq!(
        by_apply.slot(&a1, "m").unwrap().to_vec::<f32>()?,
        by_minimize.slot(&a2, "m").unwrap().to_vec::<f32>()?
    );
    Ok(())
}

/// Document 004's quadratic loss with Adam through `minimize` converges to w = 1.
#[test]
fn adam_minimizes_document_004_loss() -> Result<()> {
    let y_true = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    let w = Variable::new(2.0f32);
    let mut opt = Adam::new(0.05);
    for _ in 0..400 {
        opt.minimize(
            || reduce_mean(square(&y_true - (&x * &w)?)?, None, false),
            &[&w],
        )?;
    }
    assert!((w.item()? - 1.0).abs() < 1e-3, "w = {}", w.item()?);
    Ok(())
}
