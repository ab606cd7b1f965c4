//! Document 004, "Deep Learning Basics: GradientTape, from manual gradients to layers": one weight
//! `w` fitted to `x = y = [1, 2]` by hand, with TensorFlow ops, with a tape, with two model
//! classes; single-row SGD on `1..1999` (exploding, then min-max scaled); a Dense layer on three
//! normal columns (one row and three rows a step); two Dense layers on `make_regression`.
//!
//! Shared here: the document's `CustomDense` layer (its `tf.matmul` is `tapegrad_autodiff::matmul`,
//! plain float32 for these small shapes, as the document's numbers were computed), the
//! TensorFlow row indices recorded for the SGD cells, and the printing helpers.

mod dense;
mod manual;
mod sgd;

pub use dense::{DenseMinibatch, DenseSgd, Mlp};
pub use manual::{KerasModel, ManualNumpy, ManualTf, SimpleModelExperiment, Tape};
pub use sgd::{SgdExploding, SgdNormalized};

use anyhow::Context;
use tapegrad_autodiff::{self as ad, Tensor, Variable};
use tapegrad_datasets::RandomState;
use tapegrad_nn::{Activation, Initializer, Layer};
use tapegrad_tensor::{self as tt, DType};

use crate::format::np_f32;

/// The document's file name.
pub(crate) const DOCUMENT: &str = "004";

/// `/work/shared/reference/tf_sgd_row_indices.json`, copied into the repository.
const TF_ROW_INDICES: &str = include_str!("../../../../../data/reference/tf_sgd_row_indices.json");

/// TensorFlow's GlorotUniform kernels of the MLP cell (never printed by the document), written by
/// `data/reference/doc004_mlp_initial_kernels.py`.
const MLP_INITIAL_KERNELS: &str =
    include_str!("../../../../../data/reference/doc004_mlp_initial_kernels.json");

/// The row indices `tf.random.uniform(shape=[], minval=0, maxval=1999, dtype=tf.int32)` drew in
/// TensorFlow 2.21 for the cell `key` (`exploding` or `normalized`). The file writes the recorded
/// losses with bare `NaN`/`Infinity` tokens, which JSON does not allow; they are read as `null`.
pub(crate) fn tf_row_indices(key: &str) -> anyhow::Result<Vec<usize>> {
    let cleaned: String = TF_ROW_INDICES
        .lines()
        .map(|line| {
            let token = line.trim().trim_end_matches(',');
            if matches!(token, "NaN" | "Infinity" | "-Infinity") {
                line.replace(token, "null")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let json: serde_json::Value =
        serde_json::from_str(&cleaned).context("parsing data/reference/tf_sgd_row_indices.json")?;
    let indices = json[key]["indices"]
        .as_array()
        .with_context(|| format!("tf_sgd_row_indices.json has no `{key}.indices` list"))?;
    indices
        .iter()
        .map(|v| {
            v.as_u64()
                .map(|i| i as usize)
                .with_context(|| format!("tf_sgd_row_indices.json: `{key}` index {v} is not a row"))
        })
        .collect()
}

/// One of the MLP's recorded initial kernels (`custom_dense1_kernel`, `custom_dense2_kernel`).
pub(crate) fn mlp_initial_kernel(key: &str) -> anyhow::Result<tt::Array> {
    let json: serde_json::Value = serde_json::from_str(MLP_INITIAL_KERNELS)
        .context("parsing data/reference/doc004_mlp_initial_kernels.json")?;
    let entry = &json[key];
    let shape: Vec<usize> = entry["shape"]
        .as_array()
        .with_context(|| format!("doc004_mlp_initial_kernels.json: no `{key}.shape`"))?
        .iter()
        .filter_map(|d| d.as_u64().map(|d| d as usize))
        .collect();
    let values: Vec<f32> = entry["value"]
        .as_array()
        .with_context(|| format!("doc004_mlp_initial_kernels.json: no `{key}.value`"))?
        .iter()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|v| v.as_f64().map(|x| x as f32))
        .collect::<Option<_>>()
        .with_context(|| format!("doc004_mlp_initial_kernels.json: `{key}` holds a non-number"))?;
    tt::Array::from_vec(values, &shape)
        .with_context(|| format!("doc004_mlp_initial_kernels.json: `{key}` shape {shape:?}"))
}

/// numpy's generator for a run: `np.random.seed(42)` by default, `RandomState(n)` for `--seed n`.
pub(crate) fn numpy_random_state(
    seed: Option<u64>,
    document_seed: u32,
) -> anyhow::Result<RandomState> {
    match seed {
        None => Ok(RandomState::new(document_seed)),
        Some(n) => {
            let n = u32::try_from(n).map_err(|_| {
                anyhow::anyhow!("seed {n} is too large: numpy seeds are below 2**32")
            })?;
            Ok(RandomState::new(n))
        }
    }
}

/// `repr` of a `tf.Tensor` scalar inside a list: `<tf.Tensor: shape=(), dtype=float32, numpy=834632.0>`.
pub(crate) fn tensor_repr(t: &Tensor) -> anyhow::Result<String> {
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let numpy = if t.shape().is_empty() {
        np_f32(t.item()? as f32)
    } else {
        t.value().to_string()
    };
    Ok(format!(
        "<tf.Tensor: shape={shape}, dtype={}, numpy={numpy}>",
        t.dtype()
    ))
}

/// Python's display of a 2-tuple of lists, wrapped as `pprint` wraps it at 80 columns.
pub(crate) fn py_pair(a: &str, b: &str) -> Vec<String> {
    let one = format!("({a}, {b})");
    if one.chars().count() < 80 {
        vec![one]
    } else {
        vec![format!("({a},"), format!(" {b})")]
    }
}

/// The initial value TensorFlow drew for a kernel, replayed (`GlorotUniform()` in the document,
/// whose draw we cannot redo: recorded from TF 2.21 or printed by the document).
#[derive(Debug, Clone)]
pub(crate) struct Recorded(pub tt::Array);

impl Initializer for Recorded {
    fn init(
        &self,
        shape: &[usize],
        dtype: DType,
    ) -> tapegrad_nn::Result<tapegrad_autodiff::Tensor> {
        if self.0.shape() != shape {
            return Err(tapegrad_nn::Error::Layer {
                layer: "CustomDense".into(),
                message: format!(
                    "the recorded initial kernel has shape {:?}, the layer asks for {shape:?}",
                    self.0.shape()
                ),
            });
        }
        Ok(self.0.cast(dtype).into())
    }
}

/// The document's `CustomDense(tf.keras.layers.Layer)`: `activation(tf.matmul(inputs, wgt) + bs)`
/// with a `(input_shape[-1], units)` kernel from `weight_initializer` and a zero bias, variables
/// named `weights` and `biases`. Inputs are cast to float32 first, as Keras autocasts float64
/// numpy data.
#[derive(Debug)]
pub(crate) struct CustomDense {
    units: usize,
    activation: Activation,
    weight_initializer: Box<dyn Initializer>,
    wgt: Option<Variable>,
    bs: Option<Variable>,
}

impl CustomDense {
    /// `CustomDense(units, activation)` whose `build` draws the kernel from `weight_initializer`.
    pub(crate) fn new(
        units: usize,
        activation: &str,
        weight_initializer: impl Initializer + 'static,
    ) -> anyhow::Result<Self> {
        Ok(CustomDense {
            units,
            // self.activation = tf.keras.activations.get(activation)
            activation: Activation::get(activation)?,
            weight_initializer: Box::new(weight_initializer),
            wgt: None,
            bs: None,
        })
    }
}

impl Layer for CustomDense {
    fn name(&self) -> &str {
        "custom_dense"
    }
    fn class_name(&self) -> &str {
        "CustomDense"
    }
    fn built(&self) -> bool {
        self.wgt.is_some()
    }
    fn build(&mut self, input_shape: &[usize]) -> tapegrad_nn::Result<()> {
        let input_dim = input_shape.last().copied().unwrap_or(0);
        // initial_weights = weight_initializer(shape = (input_shape[-1], self.units))
        let initial_weights = self
            .weight_initializer
            .init(&[input_dim, self.units], DType::F32)?;
        // initial_biases = bias_initializer(shape = (self.units,))
        let initial_biases = tapegrad_nn::Zeros.init(&[self.units], DType::F32)?;
        self.wgt = Some(Variable::with_options(initial_weights, "weights", true));
        self.bs = Some(Variable::with_options(initial_biases, "biases", true));
        Ok(())
    }
    fn call(&self, inputs: &Tensor) -> tapegrad_nn::Result<Tensor> {
        let (Some(wgt), Some(bs)) = (&self.wgt, &self.bs) else {
            return Err(tapegrad_nn::Error::Layer {
                layer: "CustomDense".into(),
                message: "called before build".into(),
            });
        };
        let inputs = if inputs.dtype() == DType::F32 {
            inputs.clone()
        } else {
            ad::cast(inputs, DType::F32)?
        };
        // return self.activation(tf.matmul(inputs, self.wgt) + self.bs)
        let z = (ad::matmul(&inputs, wgt)? + bs)?;
        self.activation.apply(z)
    }
    fn variables(&self) -> Vec<Variable> {
        self.wgt.iter().chain(self.bs.iter()).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_indices_are_read() -> anyhow::Result<()> {
        let e = tf_row_indices("exploding")?;
        assert_eq!((e.len(), e[0], e[6]), (30, 645, 488));
        assert_eq!(tf_row_indices("normalized")?.len(), 32);
        assert!(tf_row_indices("nothing").is_err());
        Ok(())
    }
}
