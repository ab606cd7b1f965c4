//! [`Sequential`]: a stack of layers, each fed the previous one's output
//! (`tf.keras.Sequential`), with Keras's `summary()` table.

use tapegrad_autodiff::{Tensor, Variable};

use crate::layer::{unique_name, Layer};
use crate::{Error, Result};

/// A linear stack of layers, itself a [`Layer`]. Built from the first input's shape (or by
/// [`Layer::build`] with a full input shape, batch dimension first), after which
/// [`Sequential::summary`] prints Keras's table.
///
/// ```
/// use tapegrad_nn::{Dense, Layer, Sequential};
/// let mut model = Sequential::new();
/// model.add(Dense::new(10).activation("relu")?);
/// model.add(Dense::new(1));
/// model.build(&[32, 10])?;
/// assert_eq!(model.count_params(), 110 + 11);
/// let s = model.summary()?;
/// assert!(s.contains("(None, 10)") && s.contains("Total params: 121 (484.00 Byte)"));
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub struct Sequential {
    name: String,
    layers: Vec<Box<dyn Layer>>,
    output_shapes: Option<Vec<Vec<usize>>>,
    /// The shape of one sample (`keras.Input(shape=...)`), when given.
    input_shape: Option<Vec<usize>>,
    /// The full input shape `build` last ran on (batch first).
    built_on: Option<Vec<usize>>,
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.layers.iter().map(|l| l.name()).collect();
        f.debug_struct("Sequential")
            .field("name", &self.name)
            .field("layers", &names)
            .finish()
    }
}

impl Sequential {
    /// An empty model named `sequential`, `sequential_1`, ... on this thread.
    pub fn new() -> Self {
        Sequential {
            name: unique_name("sequential"),
            layers: Vec::new(),
            output_shapes: None,
            input_shape: None,
            built_on: None,
        }
    }

    /// A model whose samples have `shape` (no batch dimension: `keras.Input(shape=(10,))`):
    /// each layer given to [`Sequential::layer`] is built as it is added, as Keras builds the
    /// layers after an `Input`, so a layer that does not fit is refused there.
    ///
    /// ```
    /// use tapegrad_nn::{Dense, Layer, Sequential};
    /// let model = Sequential::with_input_shape(&[10])
    ///     .layer(Dense::new(5).activation("relu")?)?
    ///     .layer(Dense::new(1))?;
    /// assert!(model.built());
    /// assert_eq!(model.count_params(), 55 + 6);
    /// assert!(model.summary()?.contains("(None, 5)"));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn with_input_shape(shape: &[usize]) -> Self {
        let mut s = Self::new();
        s.input_shape = Some(shape.to_vec());
        s
    }

    /// Appends a layer and returns the model, built again when its input shape is known
    /// ([`Sequential::with_input_shape`]); a layer that does not fit is an error naming it.
    pub fn layer(mut self, layer: impl Layer + 'static) -> Result<Self> {
        self.add(layer);
        if let Some(shape) = &self.input_shape {
            let full: Vec<usize> = std::iter::once(1).chain(shape.iter().copied()).collect();
            self.build(&full)?;
        }
        Ok(self)
    }

    /// A model of these layers.
    pub fn from_layers(layers: Vec<Box<dyn Layer>>) -> Self {
        let mut s = Self::new();
        s.layers = layers;
        s
    }

    /// A name instead of the generated one.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Appends a layer (`model.add(layer)`); a built model must be built again.
    pub fn add(&mut self, layer: impl Layer + 'static) {
        self.layers.push(Box::new(layer));
        self.output_shapes = None;
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// Mutable access to the layers.
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }

    fn forward(&mut self, inputs: &Tensor) -> Result<(Tensor, Vec<Vec<usize>>)> {
        let mut x = inputs.clone();
        let mut shapes = Vec::with_capacity(self.layers.len());
        for layer in &mut self.layers {
            x = layer.apply(&x)?;
            shapes.push(x.shape().to_vec());
        }
        Ok((x, shapes))
    }

    /// Keras's `model.summary()` table as a string: each layer's name and class, output shape
    /// (batch dimension shown as `None`) and parameter count, then the totals with their memory
    /// size. An unbuilt model is an error, as in Keras.
    pub fn summary(&self) -> Result<String> {
        let shapes = self.output_shapes.as_ref().ok_or_else(|| Error::Layer {
            layer: self.name.clone(),
            message: "this model has not yet been built; build it first by calling `build()` or by calling the model on a batch of data".into(),
        })?;
        let line_length = 65usize;
        let positions = [29usize, 55, 65];
        let mut lines = vec![format!("Model: \"{}\"", self.name), "_".repeat(line_length)];
        lines.extend(summary_row(
            &[
                "Layer (type)".into(),
                "Output Shape".into(),
                "Param #".into(),
            ],
            &positions,
        ));
        lines.push("=".repeat(line_length));
        for (layer, shape) in self.layers.iter().zip(shapes) {
            let fields = [
                format!("{} ({})", layer.name(), layer.class_name()),
                shape_string(shape),
                layer.count_params().to_string(),
            ];
            lines.extend(summary_row(&fields, &positions));
            lines.push(" ".repeat(line_length));
        }
        lines.push("=".repeat(line_length));
        let vars = self.variables();
        let count = |vs: &[&Variable]| -> (usize, usize) {
            vs.iter().fold((0, 0), |(n, bytes), v| {
                let k: usize = v.shape().iter().product();
                (n + k, bytes + k * bytes_per_element(v.dtype()))
            })
        };
        let trainable: Vec<&Variable> = vars.iter().filter(|v| v.trainable()).collect();
        let frozen: Vec<&Variable> = vars.iter().filter(|v| !v.trainable()).collect();
        let (tn, tb) = count(&trainable);
        let (fnn, fb) = count(&frozen);
        lines.push(format!(
            "Total params: {} ({})",
            tn + fnn,
            readable_memory_size(tb + fb)
        ));
        lines.push(format!(
            "Trainable params: {tn} ({})",
            readable_memory_size(tb)
        ));
        lines.push(format!(
            "Non-trainable params: {fnn} ({})",
            readable_memory_size(fb)
        ));
        lines.push("_".repeat(line_length));
        let mut out = lines.join("\n");
        out.push('\n');
        Ok(out)
    }

    /// Prints [`Sequential::summary`] to standard output.
    pub fn print_summary(&self) -> Result<()> {
        print!("{}", self.summary()?);
        Ok(())
    }
}

impl Layer for Sequential {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &str {
        "Sequential"
    }

    fn built(&self) -> bool {
        self.output_shapes.is_some()
    }

    /// Builds every layer by running a batch of one zero sample of `input_shape` (batch
    /// dimension first) through the stack, recording each output shape.
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if input_shape.is_empty() {
            return Err(Error::Layer {
                layer: self.name.clone(),
                message:
                    "build needs the full input shape, batch dimension first (e.g. [None→any, 3])"
                        .into(),
            });
        }
        let mut shape = input_shape.to_vec();
        shape[0] = 1;
        let probe = Tensor::zeros(tapegrad_autodiff::DType::F32, &shape)?;
        let (_, shapes) = self.forward(&probe)?;
        self.output_shapes = Some(shapes);
        self.built_on = Some(input_shape.to_vec());
        Ok(())
    }

    fn get_build_config(&self) -> Option<serde_json::Value> {
        self.built_on
            .as_ref()
            .filter(|_| self.built())
            .map(|shape| crate::layer::build_config(shape))
    }

    fn call(&self, inputs: &Tensor) -> Result<Tensor> {
        self.call_training(inputs, false)
    }

    /// Each layer in turn, each given the same `training` flag.
    fn call_training(&self, inputs: &Tensor, training: bool) -> Result<Tensor> {
        if !self.built() {
            return Err(Error::Layer {
                layer: self.name.clone(),
                message: "is not built: call `apply` (which builds it from the input's shape) or `build` first".into(),
            });
        }
        let mut x = inputs.clone();
        for layer in &self.layers {
            x = layer.call_training(&x, training)?;
        }
        Ok(x)
    }

    fn layers(&self) -> Vec<&dyn Layer> {
        self.layers.iter().map(|l| l.as_ref()).collect()
    }
}

fn bytes_per_element(dtype: tapegrad_autodiff::DType) -> usize {
    match dtype {
        tapegrad_autodiff::DType::F32 => 4,
        tapegrad_autodiff::DType::F64 => 8,
    }
}

/// `(None, 10)`: a shape with the batch dimension shown as `None`, as Python prints the tuple.
fn shape_string(shape: &[usize]) -> String {
    let mut dims = vec!["None".to_string()];
    dims.extend(shape.iter().skip(1).map(|d| d.to_string()));
    if dims.len() == 1 {
        "(None,)".into()
    } else {
        format!("({})", dims.join(", "))
    }
}

/// Keras's `readable_memory_size`: bytes in the largest unit below 1024, two decimals.
fn readable_memory_size(bytes: usize) -> String {
    let units = ["Byte", "KB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    for unit in units {
        if size / 1024.0 < 1.0 {
            return format!("{size:.2} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.2} PB")
}

/// Keras's `print_row`: each field in its column, cut to fit and continued on further lines.
fn summary_row(fields: &[String], positions: &[usize]) -> Vec<String> {
    let mut left: Vec<Vec<char>> = fields.iter().map(|f| f.chars().collect()).collect();
    let mut lines = Vec::new();
    let last = positions.len() - 1;
    while left.iter().any(|f| !f.is_empty()) {
        let mut line = String::new();
        for col in 0..left.len() {
            let start = if col > 0 { positions[col - 1] } else { 0 };
            let end = positions[col];
            let space = if col != last { 2 } else { 0 };
            let mut cutoff = end - start - space;
            if col != last {
                cutoff -= 1;
            }
            let field = &left[col];
            let fit: String = field.iter().take(cutoff).collect();
            let breaks = ["),", "},", "],", "',"];
            let candidate = breaks
                .iter()
                .filter_map(|b| fit.find(b).map(|i| fit[..i].chars().count() + b.len()))
                .min();
            let (fit, cut) = match candidate {
                Some(c) => (fit.chars().take(c).collect::<String>(), c),
                None => (fit, cutoff.min(field.len())),
            };
            if col == 0 {
                line.push(' ');
            }
            line.push_str(&fit);
            line.push_str(&" ".repeat(space));
            left[col] = field[cut.min(field.len())..].to_vec();
            let width = line.chars().count();
            if positions[col] > width {
                line.push_str(&" ".repeat(positions[col] - width));
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dense;

    #[test]
    fn summary_matches_keras_layout_character_for_character() -> Result<()> {
        let mut model = Sequential::new().with_name("sequential");
        model.add(Dense::new(10).activation("relu")?.name("dense"));
        model.add(Dense::new(1).name("dense_1"));
        let x = Tensor::zeros(tapegrad_autodiff::DType::F32, &[4, 3]).unwrap();
        assert!(model.summary().is_err());
        assert_eq!(model.apply(&x)?.shape(), &[4, 1]);
        let expected = [
            "Model: \"sequential\"",
            "_________________________________________________________________",
            " Layer (type)                Output Shape              Param #   ",
            "=================================================================",
            " dense (Dense)               (None, 10)                40        ",
            "                                                                 ",
            " dense_1 (Dense)             (None, 1)                 11        ",
            "                                                                 ",
            "=================================================================",
            "Total params: 51 (204.00 Byte)",
            "Trainable params: 51 (204.00 Byte)",
            "Non-trainable params: 0 (0.00 Byte)",
            "_________________________________________________________________",
        ]
        .join("\n")
            + "\n";
        assert_eq!(model.summary()?, expected);
        assert_eq!(model.trainable_variables().len(), 4);
        Ok(())
    }

    #[test]
    fn long_names_wrap_and_memory_sizes_scale() {
        let rows = summary_row(
            &[
                "a_very_long_layer_name_indeed (Dense)".into(),
                "(None, 5)".into(),
                "6".into(),
            ],
            &[29, 55, 65],
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][..27], " a_very_long_layer_name_ind");
        assert!(rows[1].starts_with(" eed (Dense)"));
        assert_eq!(readable_memory_size(4 * 300_000), "1.14 MB");
        assert_eq!(readable_memory_size(2048), "2.00 KB");
    }
}
