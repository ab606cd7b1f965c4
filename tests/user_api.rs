//! The user's surface, item by item of the user-API issue: one `Tensor` and one print format,
//! TensorFlow's dtype rules with errors naming both operands, gradients by variable, optimizers
//! behind `dyn`, one error type, operators with numbers on either side, layers called through
//! `&self`, loss objects that refuse a cross-broadcast.

use tapegrad::nn::losses::mean_squared_error;
use tapegrad::prelude::*;

#[test]
fn one_tensor_prints_as_tensorflow_prints_it_and_debug_shows_no_identity() -> Result<()> {
    let x = Tensor::from_vec(vec![1.0f32, 2.5], &[2])?;
    assert_eq!(
        x.to_string(),
        "tf.Tensor([1.  2.5], shape=(2,), dtype=float32)"
    );
    assert_eq!(format!("{x:?}"), x.to_string());
    let y = Tensor::from_vec(vec![1.0f32, 2.5], &[2])?;
    assert_eq!(
        format!("{x:?}"),
        format!("{y:?}"),
        "two tensors of one value print alike"
    );
    assert_eq!(
        Tensor::scalar(3.0f64).to_string(),
        "tf.Tensor(3.0, shape=(), dtype=float64)"
    );
    // the constructors a TensorFlow user reaches for
    assert_eq!(
        Tensor::arange(0.0, 6.0, 2.0, DType::F32)?.to_vec::<f32>()?,
        [0.0, 2.0, 4.0]
    );
    assert_eq!(
        Tensor::linspace(0.0, 1.0, 3, DType::F32)?.to_vec::<f32>()?,
        [0.0, 0.5, 1.0]
    );
    assert_eq!(
        Tensor::full(DType::F64, &[2], 7.0)?.to_vec::<f64>()?,
        [7.0, 7.0]
    );
    assert_eq!(Tensor::eye(2, DType::F32)?.shape(), &[2, 2]);
    let a = ndarray::array![[1.0f32, 2.0], [3.0, 4.0]];
    assert_eq!(Tensor::from_array(a).sum()?.item()?, 10.0);
    Ok(())
}

#[test]
fn a_method_for_the_ops() -> Result<()> {
    let x = Tensor::from_vec(vec![0.0f32, 1.0, 2.0, 3.0], &[2, 2])?;
    let w = Tensor::from_vec(vec![1.0f32, 1.0], &[2, 1])?;
    assert_eq!(x.exp()?.to_vec::<f32>()?[0], 1.0);
    assert_eq!(x.matmul(&w)?.to_vec::<f32>()?, [1.0, 5.0]);
    assert_eq!(x.reduce_mean(&[0])?.to_vec::<f32>()?, [1.0, 2.0]);
    assert_eq!(x.cast(DType::F64)?.dtype(), DType::F64);
    assert_eq!(x.square()?.sum()?.item()?, 14.0);
    assert_eq!(x.reshape(&[-1])?.shape(), &[4]);
    assert_eq!(x.transpose(None)?.to_vec::<f32>()?, [0.0, 2.0, 1.0, 3.0]);
    assert_eq!(x.mul(2)?.add(1.0)?.max()?.item()?, 7.0);
    Ok(())
}

#[test]
fn dtypes_follow_tensorflow() -> Result<()> {
    // a Rust float is a Python float: float32
    assert_eq!(Variable::new(0.0).dtype(), DType::F32);
    assert_eq!(Variable::with_dtype(0.0, DType::F64).dtype(), DType::F64);
    assert_eq!(Variable::new(Tensor::scalar(0.0f64)).dtype(), DType::F64);
    // a value that is not yet a tensor takes the dtype of the tensor it meets
    let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    let column = ndarray::array![10.0f64, 20.0]; // a dataset's column: f64
    let y = (&x * column)?;
    assert_eq!(
        (y.dtype(), y.to_vec::<f32>()?),
        (DType::F32, vec![10.0, 40.0])
    );
    assert_eq!((&x * 0.5)?.dtype(), DType::F32);
    assert_eq!((Tensor::scalar(2.0f64) * 3)?.dtype(), DType::F64);
    Ok(())
}

#[test]
fn two_tensors_of_two_dtypes_are_an_error_naming_the_op_both_operands_and_the_fix() {
    let x64 = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
    let a = Variable::new(1.0).with_name("a");
    let tape = GradientTape::new();
    let err = (&x64 * &a).unwrap_err().to_string();
    assert!(err.starts_with("mul: "), "{err}");
    assert!(err.contains("a tensor of shape [2] (float64)"), "{err}");
    assert!(err.contains("the variable `a` (float32)"), "{err}");
    assert!(err.contains(".cast(DType::F32)"), "{err}");
    drop(tape);
    // without a tape, the variable is named all the same
    let err = (&a + &x64).unwrap_err().to_string();
    assert!(
        err.starts_with("add: ") && err.contains("the variable `a` (float32)"),
        "{err}"
    );
    for err in [
        tapegrad::autodiff::sub(&x64, &a).unwrap_err(),
        tapegrad::autodiff::div(&x64, &a).unwrap_err(),
        tapegrad::autodiff::maximum(&x64, &a).unwrap_err(),
        tapegrad::autodiff::pow(&x64, &a).unwrap_err(),
        tapegrad::autodiff::matmul(x64.reshape(&[1, 2]).unwrap(), &a).unwrap_err(),
    ] {
        let e = err.to_string();
        assert!(
            e.contains("float64") && e.contains("float32") && e.contains("cast"),
            "{e}"
        );
    }
}

#[test]
fn gradients_by_variable_go_to_any_optimizer_without_a_zip() -> Result<()> {
    let (a, b, unused) = (Variable::new(1.0), Variable::new(2.0), Variable::new(3.0));
    let tape = GradientTape::new();
    let loss = (&a * &b)?;
    let grads = tape.gradients(&loss, &[&unused, &a, &b])?;
    assert_eq!(grads.get(&a).unwrap().item()?, 2.0);
    assert_eq!(grads.get(&b).unwrap().item()?, 1.0);
    assert!(grads.get(&unused).is_none());
    assert_eq!(grads.missing().count(), 1);
    let mut opts: Vec<Box<dyn Optimizer>> = vec![Box::new(Sgd::new(0.1)), Box::new(Adam::new(0.1))];
    for opt in &mut opts {
        let opt: &mut dyn Optimizer = opt.as_mut();
        opt.apply_gradients(&grads)?;
    }
    // the `None` did not shift anything: a and b moved by their own gradients
    assert!((a.item()? - (1.0 - 0.2 - 0.1)).abs() < 1e-6);
    assert!((b.item()? - (2.0 - 0.1 - 0.1)).abs() < 1e-6);
    assert_eq!(unused.item()?, 3.0);
    Ok(())
}

#[test]
fn one_error_type_for_every_crate_send_sync_and_one_line() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<tapegrad::Error>();
    assert_error::<tapegrad::tensor::TensorError>();
    assert_error::<tapegrad::autodiff::Error>();
    assert_error::<tapegrad::nn::Error>();
    assert_error::<tapegrad::optim::Error>();
    assert_error::<tapegrad::datasets::DatasetsError>();
    fn helper() -> tapegrad::Result<()> {
        Dense::new(0).build(&[3])?; // nn
        Ok(())
    }
    let errors: Vec<tapegrad::Error> = vec![
        helper().unwrap_err(),
        Sgd::new(-1.0).check_settings().unwrap_err().into(),
        RandomState::new(0).normal(0.0, -1.0, 1).unwrap_err().into(),
        Tensor::from_vec(vec![1.0f32], &[2]).unwrap_err().into(),
    ];
    for e in errors {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
    }
}

#[test]
fn a_built_layer_is_called_through_a_shared_reference() -> Result<()> {
    let mut model = Sequential::new();
    model.add(Dense::new(4).activation("relu")?);
    model.add(Dense::new(1));
    let x = Tensor::ones(DType::F32, &[2, 3])?;
    let err = model.call(&x).unwrap_err().to_string();
    assert!(err.contains("not built") && err.contains("apply"), "{err}");
    model.build(&[2, 3])?;
    let predict = |m: &Sequential| m.call(&x); // no `&mut` to predict
    assert_eq!(predict(&model)?.shape(), &[2, 1]);
    let dense = Dense::new(2);
    assert!(dense.call(&x).is_err());
    Ok(())
}

#[test]
fn the_loss_object_refuses_what_the_function_broadcasts() -> Result<()> {
    let y = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3])?;
    let pred = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1])?;
    // Keras's function: a 3 × 3 comparison, kept
    assert_eq!(mean_squared_error(&y, &pred)?.shape(), &[3]);
    let err = MeanSquaredError::new()
        .call(&y, &pred)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[1, 3]") && err.contains("[3, 1]") && err.contains("reshape"),
        "{err}"
    );
    // a (n,) target against an (n, 1) prediction is squeezed and accepted, as in Keras
    let flat = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    assert_eq!(MeanSquaredError::new().call(&flat, &pred)?.item()?, 0.0);
    Ok(())
}
