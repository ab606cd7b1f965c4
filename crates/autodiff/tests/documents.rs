//! The documents' deterministic tape computations, reproduced exactly.

use tapegrad_autodiff::{abs, reduce_mean, square, DType, GradientTape, Result, Tensor, Variable};

/// Document 000: y = 5x + 3 on x = 0, 2, ..., 98 (float32), a = b = 0, loss |y - (x a + b)|
/// as a vector target, `v -= 1e-4 * grad`, 15000 steps. TensorFlow 2.21 gives a = 4.9825082,
/// b = 2.9951642; the gradients are sums of small integers, so every bit must agree.
#[test]
fn document_000_two_weights_fit_matches_tensorflow_bit_for_bit() -> Result<()> {
    let x_train = Tensor::new(tapegrad_tensor::Array::arange(0.0, 100.0, 2.0, DType::F32)?);
    let y_train = ((&x_train * 5.0)? + 3.0)?;
    let a = Variable::new(0.0f32);
    let b = Variable::new(0.0f32);
    for _ in 0..15000 {
        let tape = GradientTape::new();
        let y_test = ((&x_train * &a)? + &b)?;
        let loss = abs(&y_train - y_test)?;
        let grads = tape.gradient(&loss, &[&a, &b])?;
        for (v, g) in [&a, &b].into_iter().zip(grads) {
            let g = g.expect("a and b are connected to the loss");
            v.assign_sub_scaled(1e-4, &g)?;
        }
    }
    // TensorFlow's values, parsed to the nearest float32 and compared bit for bit.
    let (a32, b32) = (a.numpy::<f32>()?.sum(), b.numpy::<f32>()?.sum());
    let parse = |s: &str| s.parse::<f32>().map(f32::to_bits).ok();
    assert_eq!(Some(a32.to_bits()), parse("4.9825082"));
    assert_eq!(Some(b32.to_bits()), parse("2.9951642"));
    assert_eq!(
        format!("{:.4} {:.4}", a.item()?, b.item()?),
        "4.9825 2.9952"
    );
    Ok(())
}

fn mean_squared_error(y_true: &Tensor, x: &Tensor, w: &Tensor) -> Result<Tensor> {
    reduce_mean(square(y_true - (x * w)?)?, None, false)
}

fn data() -> Result<(Tensor, Tensor)> {
    Ok((
        Tensor::from_vec(vec![1.0f32, 2.0], &[2])?,
        Tensor::from_vec(vec![1.0f32, 2.0], &[2])?,
    ))
}

const WEIGHTS: [f32; 5] = [2.0, 1.5, 1.25, 1.125, 1.0625];
const LOSSES: [f32; 5] = [2.5, 0.625, 0.156_25, 0.039_062_5, 0.009_765_625];

/// Document 004, "Implementation with TensorFlow": hand-written gradient with tensor ops.
#[test]
fn document_004_manual_tf_loop() -> Result<()> {
    let (y_true, x) = data()?;
    let error_margin = 0.1f32;
    let mut w = Tensor::scalar(2.0f32);
    let (mut weights, mut losses) = (vec![], vec![]);
    loop {
        weights.push(w.item()? as f32);
        losses.push(mean_squared_error(&y_true, &x, &w)?.item()? as f32);
        let n = weights.len();
        if n > 1 && (weights[n - 1] - weights[n - 2]).abs() <= error_margin {
            break;
        }
        let gradient = (2.0 * reduce_mean((((&x * &w)? - &y_true)? * &x)?, None, false)?)?;
        w = (&w - (0.1 * &gradient)?)?;
    }
    assert_eq!(weights, WEIGHTS);
    assert_eq!(losses, LOSSES);
    Ok(())
}

/// Document 004, "Implementation with TensorFlow GradientTape": the tape version, which
/// records four losses (the loss is appended after the stopping test).
#[test]
fn document_004_tape_loop_four_losses() -> Result<()> {
    let (y_true, x) = data()?;
    let (learning_rate, error_margin) = (0.1, 0.1f32);
    let mut w_tf = Tensor::scalar(2.0f32);
    let (mut weights, mut losses) = (vec![], vec![]);
    loop {
        weights.push(w_tf.item()? as f32);
        let n = weights.len();
        if n > 1 && (weights[n - 1] - weights[n - 2]).abs() <= error_margin {
            break;
        }
        let t = GradientTape::new();
        t.watch(&w_tf);
        let current_loss = mean_squared_error(&y_true, &x, &w_tf)?;
        losses.push(current_loss.item()? as f32);
        let gradient = t.gradient(&current_loss, &[&w_tf])?;
        w_tf = (&w_tf - (learning_rate * gradient[0].as_ref().expect("connected"))?)?;
    }
    assert_eq!(weights, WEIGHTS);
    assert_eq!(losses, LOSSES[..4]);
    Ok(())
}

/// The same loop with a `Variable`, `assign_sub` and a tape per step: five weights and losses.
#[test]
fn document_004_loop_with_a_variable() -> Result<()> {
    let (y_true, x) = data()?;
    let w = Variable::new(2.0f32);
    let (mut weights, mut losses) = (vec![], vec![]);
    loop {
        weights.push(w.item()? as f32);
        let tape = GradientTape::new();
        let loss = mean_squared_error(&y_true, &x, &w.read_value())?;
        losses.push(loss.item()? as f32);
        let n = weights.len();
        if n > 1 && (weights[n - 1] - weights[n - 2]).abs() <= 0.1 {
            break;
        }
        let g = tape.gradient(&loss, &[&w])?.remove(0).expect("connected");
        w.assign_sub((0.1 * &g)?)?;
    }
    assert_eq!(weights, WEIGHTS);
    assert_eq!(losses, LOSSES);
    Ok(())
}
