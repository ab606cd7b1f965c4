//! The documents' layer code, run through this crate: document 004's `CustomDense` (single-sample
//! SGD and the mini-batch loss) and its `SimpleModelTensorflow`, document 003's `Model`.

use tapegrad_autodiff::{reduce_mean, square, GradientTape, Result as AdResult, Tensor, Variable};
use tapegrad_nn::losses::mean_squared_error;
use tapegrad_nn::{Dense, Layer, Model, Result};
use tapegrad_tensor as tt;

/// Rows 77, 71 and 92 of document 004's seeded data (x1, x2, x3: np.random.normal(size=100)
/// three times after np.random.seed(42); see data/tf_runs/doc004.json, cell "In [20]").
const ROW_77: [f64; 3] = [
    -0.29900735046586746,
    1.4535340771573169,
    -0.6002168771587947,
];
const ROW_71: [f64; 3] = [1.5380365664659692, -0.8158102849654383, -1.4358621511794394];
const ROW_92: [f64; 3] = [
    -0.7020530938773524,
    0.21409374413020396,
    -0.5893647569442115,
];

/// `dataset['y'] = 3*dataset['x1'] + 2*dataset['x2'] - 7*dataset['x3'] + 5`, in float64.
fn y_of(r: [f64; 3]) -> f64 {
    3.0 * r[0] + 2.0 * r[1] - 7.0 * r[2] + 5.0
}

/// The document's `custom_dense = CustomDense(1, activation='linear'); custom_dense.build((3,))`
/// with the initial weights it printed (its GlorotUniform draw comes from TensorFlow's RNG).
fn custom_dense() -> Result<Dense> {
    let mut custom_dense = Dense::new(1).activation("linear")?;
    custom_dense.build(&[3])?;
    let initial = Tensor::from_vec(vec![0.8773805f32, 0.3983569, -0.34608656], &[3, 1])?;
    custom_dense.set_weights(&[initial, Tensor::zeros(tapegrad_autodiff::DType::F32, &[1])?])?;
    Ok(custom_dense)
}

/// Within 1e-6 relative of TensorFlow's float32 values (given widened to f64 exactly).
fn close(got: &[f32], want: &[f64]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| (f64::from(*g) - w).abs() <= 1e-6 * w.abs().max(1.0))
}

#[test]
fn document_004_custom_dense_first_sgd_step() -> Result<()> {
    let mut custom_dense = custom_dense()?;
    let learning_rate = 0.1;

    let t = GradientTape::new();
    // random_row = dataset.sample(1).values -> row 77; custom_dense([random_x])
    let random_x = Tensor::from_vec(ROW_77.to_vec(), &[1, 3])?; // float64, cast by the layer
    let random_y = Tensor::from_vec(vec![y_of(ROW_77)], &[1])?;
    let y_pred = tapegrad_autodiff::expand_dims(custom_dense.apply(&random_x)?, 0)?; // [..] -> (1, 1, 1)
    let current_loss = mean_squared_error(&random_y, &y_pred)?;
    let gradient = t.gradient(&current_loss, &custom_dense.trainable_variables())?;
    let vars = custom_dense.trainable_variables();
    vars[0].assign_sub_scaled(learning_rate, gradient[0].as_ref().unwrap())?;
    vars[1].assign_sub_scaled(learning_rate, gradient[1].as_ref().unwrap())?;

    // "Initial Loss: [[114.21528]]"
    assert_eq!(current_loss.shape(), &[1, 1]);
    assert_eq!(tt::format_scalar(current_loss.item()? as f32), "114.21528");
    assert_eq!(current_loss.item()?, 114.21527862548828); // bit-identical to TF's float32
                                                          // TensorFlow 2.21's tape gradients and weights after the step (data/tf_runs/doc004.json)
    let gw = gradient[0].as_ref().unwrap().to_vec::<f32>()?;
    let gb = gradient[1].as_ref().unwrap().to_vec::<f32>()?;
    assert!(
        close(
            &gw,
            &[6.391075611114502, -31.068288803100586, 12.82922077178955]
        ),
        "{gw:?}"
    );
    assert!(close(&gb, &[-21.374309539794922]), "{gb:?}");
    let w = custom_dense.get_weights()[0].to_vec::<f32>()?;
    assert!(
        close(
            &w,
            &[0.23827290534973145, 3.505185842514038, -1.6290087699890137]
        ),
        "{w:?}"
    );
    assert!(close(
        &custom_dense.get_weights()[1].to_vec::<f32>()?,
        &[2.137431]
    ));
    Ok(())
}

#[test]
fn document_004_minibatch_loss_broadcasts_three_targets_against_three_predictions() -> Result<()> {
    let mut custom_dense = custom_dense()?;
    let rows: Vec<f64> = [ROW_77, ROW_71, ROW_92].concat();
    let random_x = Tensor::from_vec(rows, &[3, 3])?;
    let random_y = Tensor::from_vec(vec![y_of(ROW_77), y_of(ROW_71), y_of(ROW_92)], &[3])?;
    let t = GradientTape::new();
    // tf.reduce_mean(tf.keras.metrics.mean_squared_error(y_true=random_y, y_pred=custom_dense(random_x)))
    let per_row = mean_squared_error(&random_y, custom_dense.apply(&random_x)?)?;
    assert_eq!(per_row.shape(), &[3]); // (3,) vs (3, 1): a 3×3 comparison
    let current_loss = reduce_mean(&per_row, None, false)?;
    let gradient = t.gradient(&current_loss, &custom_dense.trainable_variables())?;
    // "Initial Loss: 155.67267"
    assert_eq!(tt::format_scalar(current_loss.item()? as f32), "155.67267");
    let gw = gradient[0].as_ref().unwrap().to_vec::<f32>()?;
    assert!(
        close(
            &gw,
            &[-2.7701148986816406, -7.311570644378662, 19.869863510131836]
        ),
        "{gw:?}"
    );
    let gb = gradient[1].as_ref().unwrap().to_vec::<f32>()?;
    assert!(close(&gb, &[-23.315719604492188]), "{gb:?}");
    Ok(())
}

/// Document 004's `SimpleModelTensorflow(tf.keras.Model)`: one weight, built on first call.
struct SimpleModelTensorflow {
    weight: Option<Variable>,
}

impl Model for SimpleModelTensorflow {
    fn name(&self) -> &str {
        "simple_model_tensorflow"
    }
    fn built(&self) -> bool {
        self.weight.is_some()
    }
    fn build(&mut self, _input_shape: &[usize]) -> Result<()> {
        self.weight = Some(Variable::with_options(2.0f32, "weight", true));
        Ok(())
    }
    fn call(&self, x: &Tensor) -> Result<Tensor> {
        match &self.weight {
            Some(w) => Ok((x * w)?),
            None => Err(tapegrad_nn::Error::Layer {
                layer: self.name().into(),
                message: "not built".into(),
            }),
        }
    }
    fn variables(&self) -> Vec<Variable> {
        self.weight.iter().cloned().collect()
    }
}

#[test]
fn document_004_simple_model_get_and_set_weights_loop() -> Result<()> {
    let mut tensorflow_model = SimpleModelTensorflow { weight: None };
    assert_eq!(
        tensorflow_model.apply(&Tensor::scalar(3.0f32))?.item()?,
        6.0
    );
    let y_true = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    let (learning_rate, error_margin) = (0.1, 0.1);
    let (mut weight_list, mut loss_list) = (vec![], vec![]);
    loop {
        weight_list.push(tensorflow_model.get_weights()[0].item()?);
        let n = weight_list.len();
        if n > 1 && (weight_list[n - 1] - weight_list[n - 2]).abs() <= error_margin {
            break;
        }
        let t = GradientTape::new();
        let current_loss = reduce_mean(
            square((&y_true - tensorflow_model.apply(&x)?)?)?,
            None,
            false,
        )?;
        loss_list.push(current_loss.item()?);
        let gradient = t.gradient(&current_loss, &tensorflow_model.trainable_variables())?;
        let step = gradient[0].as_ref().unwrap().value().scale(learning_rate);
        let new_weight = Tensor::new(tensorflow_model.get_weights()[0].value().sub(&step)?);
        tensorflow_model.set_weights(&[new_weight])?;
    }
    assert_eq!(weight_list, vec![2.0, 1.5, 1.25, 1.125, 1.0625]);
    assert_eq!(loss_list, vec![2.5, 0.625, 0.15625, 0.0390625]);
    Ok(())
}

/// Document 003's `Model`: `w = tf.Variable(1.0)`, `b = tf.Variable(4.0)`, `w * x + b`.
struct Model003 {
    w: Variable,
    b: Variable,
}

impl Model003 {
    fn new() -> Self {
        Model003 {
            w: Variable::new(1.0f32),
            b: Variable::new(4.0f32),
        }
    }
    fn call(&self, x: &Tensor) -> AdResult<Tensor> {
        &self.w * x + &self.b
    }
}

fn loss(predicted_y: &Tensor, target_y: &Tensor) -> AdResult<Tensor> {
    reduce_mean(square(predicted_y - target_y)?, None, false)
}

fn train(
    model: &Model003,
    inputs: &Tensor,
    outputs: &Tensor,
    learning_rate: f64,
) -> AdResult<Tensor> {
    let t = GradientTape::new();
    let current_loss = loss(&model.call(inputs)?, outputs)?;
    let grads = t.gradient(&current_loss, &[&model.w, &model.b])?;
    let (dw, db) = (grads[0].clone().unwrap(), grads[1].clone().unwrap());
    model.w.assign_sub(learning_rate * &dw)?;
    model.b.assign_sub(learning_rate * &db)?;
    Ok(current_loss)
}

#[test]
fn document_003_model_training_loop() -> AdResult<()> {
    // xs = [-1, 1] (the document's are tf.random.normal, unseeded): with TRUE_w = 3, TRUE_b = 2
    // the errors shrink by 0.8 per epoch, w_k = 3 − 2·0.8ᵏ, b_k = 2 + 2·0.8ᵏ, loss_k = 8·0.64ᵏ.
    let xs = Tensor::from_vec(vec![-1.0f32, 1.0], &[2])?;
    let ys = ((3.0 * &xs)? + 2.0)?;
    let model = Model003::new();
    let mut lines = vec![];
    for epoch in 0..15 {
        let (w, b) = (model.w.item()?, model.b.item()?);
        let current_loss = train(&model, &xs, &ys, 0.1)?.item()?;
        let decay = 0.8f64.powi(epoch);
        assert!(
            (w - (3.0 - 2.0 * decay)).abs() < 1e-5,
            "epoch {epoch}: w {w}"
        );
        assert!(
            (b - (2.0 + 2.0 * decay)).abs() < 1e-5,
            "epoch {epoch}: b {b}"
        );
        assert!(
            (current_loss - 8.0 * decay * decay).abs() < 1e-5,
            "epoch {epoch}: {current_loss}"
        );
        lines.push(format!(
            "Epoch {epoch:2}: w={w:1.2} b={b:1.2}, loss={current_loss:2.5}"
        ));
    }
    assert_eq!(lines[0], "Epoch  0: w=1.00 b=4.00, loss=8.00000");
    assert_eq!(lines[1], "Epoch  1: w=1.40 b=3.60, loss=5.12000");
    Ok(())
}
