//! Layer configurations as Keras 3 writes them (`layer.get_config()`, the `config` of a layer in
//! a `.keras` archive's `config.json`), and layers made from them ([`layer_from_config`]).
//!
//! A configuration is a JSON object ([`serde_json::Value`]): Keras's keys, Keras's values.
//! Reading one is strict: a key Keras's layer does not have, or a setting tapegrad does not
//! have (a regularizer, a constraint, `rms_scaling = true`, `trainable = false`), is an error
//! naming the layer, the key and what is allowed, never a setting silently dropped.
//!
//! ```
//! use tapegrad_nn::{layer_from_config, Dense, Layer};
//! let dense = Dense::new(3).activation("relu")?.name("hidden");
//! let config = dense.get_config().expect("Dense has a config");
//! assert_eq!(config["units"], 3);
//! assert_eq!(config["activation"], "relu");
//! let back = layer_from_config("Dense", &config)?;
//! assert_eq!((back.name(), back.class_name()), ("hidden", "Dense"));
//!
//! let mut bad = config.clone();
//! bad["kernel_regularizer"] = serde_json::json!({"class_name": "L2"});
//! let err = layer_from_config("Dense", &bad).err().unwrap().to_string();
//! assert!(err.starts_with("layer `hidden`: config key `kernel_regularizer`"), "{err}");
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```

use serde_json::{json, Map, Value};
use tapegrad_autodiff::DType;

use crate::{Error, Layer, Result};

/// The layer classes [`layer_from_config`] makes.
pub const LAYER_CLASSES: [&str; 6] = [
    "Dense",
    "Dropout",
    "Flatten",
    "LayerNormalization",
    "BatchNormalization",
    "Normalization",
];

/// The layer a Keras 3 configuration describes (Keras's `keras.layers.deserialize` of
/// `{"class_name": class_name, "config": config}`), not built. A class tapegrad does not
/// have, a key the class does not have or a setting tapegrad cannot honour is an error naming
/// the layer and the key or the classes known.
///
/// ```
/// use tapegrad_nn::layer_from_config;
/// let config = serde_json::json!({"name": "drop", "rate": 0.25, "seed": 3, "noise_shape": null});
/// let layer = layer_from_config("Dropout", &config)?;
/// assert_eq!(layer.get_config().unwrap()["rate"], 0.25);
/// let err = layer_from_config("Conv2D", &serde_json::json!({"name": "conv"})).err().unwrap();
/// assert!(err.to_string().starts_with("layer `conv`: class `Conv2D` is not one of tapegrad's layers (Dense, Dropout"), "{err}");
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn layer_from_config(class_name: &str, config: &Value) -> Result<Box<dyn Layer>> {
    Ok(match class_name {
        "Dense" => Box::new(crate::Dense::from_config(config)?),
        "Dropout" => Box::new(crate::Dropout::from_config(config)?),
        "Flatten" => Box::new(crate::Flatten::from_config(config)?),
        "LayerNormalization" => Box::new(crate::LayerNormalization::from_config(config)?),
        "BatchNormalization" => Box::new(crate::BatchNormalization::from_config(config)?),
        "Normalization" => Box::new(crate::Normalization::from_config(config)?),
        other => {
            let name = config["name"].as_str().unwrap_or("?");
            return Err(Error::Layer {
                layer: name.to_string(),
                message: format!(
                    "class `{other}` is not one of tapegrad's layers ({})",
                    LAYER_CLASSES.join(", ")
                ),
            });
        }
    })
}

/// Keras 3's `DTypePolicy` object for a dtype.
pub(crate) fn dtype_policy(dtype: DType) -> Value {
    json!({
        "module": "keras", "class_name": "DTypePolicy",
        "config": {"name": dtype_name(dtype)}, "registered_name": null
    })
}

pub(crate) fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::F64 => "float64",
    }
}

/// The keys every Keras layer's config has, first: `name`, `trainable`, `dtype`.
pub(crate) fn base(name: &str, dtype: DType) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("trainable".into(), json!(true));
    m.insert("dtype".into(), dtype_policy(dtype));
    m
}

/// A config being read: each key taken once through the methods, the rest refused by
/// [`finish`](Reader::finish).
pub(crate) struct Reader<'a> {
    class: &'static str,
    name: String,
    map: &'a Map<String, Value>,
    known: Vec<&'static str>,
}

impl<'a> Reader<'a> {
    /// A reader of `config` for `class`; `name`, `trainable` (true) and `dtype` are read here.
    pub fn new(class: &'static str, config: &'a Value) -> Result<(Self, DType)> {
        let Some(map) = config.as_object() else {
            return Err(Error::Layer {
                layer: "?".into(),
                message: format!("the `{class}` config is not a JSON object: {config}"),
            });
        };
        let name = map
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| crate::unique_name(&snake(class)));
        let mut r = Reader {
            class,
            name,
            map,
            known: vec!["name"],
        };
        r.fixed("trainable", &[json!(true)])?;
        let dtype = match r.get("dtype") {
            None => DType::F32,
            Some(v) => {
                // Keras 3: a DTypePolicy object; older files and users: a string
                let policy = v["config"]["name"].as_str().or_else(|| v.as_str());
                match policy {
                    Some("float32") => DType::F32,
                    Some("float64") => DType::F64,
                    _ => {
                        return Err(
                            r.err("dtype", format!("{v} (tapegrad has float32 and float64)"))
                        )
                    }
                }
            }
        };
        Ok((r, dtype))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn err(&self, key: &str, message: String) -> Error {
        Error::Layer {
            layer: self.name.clone(),
            message: format!("config key `{key}` of `{}`: {message}", self.class),
        }
    }

    /// The value at `key`, `None` when absent or null.
    pub fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A key whose value must be one of `allowed` (or absent, or null when null is allowed).
    pub fn fixed(&mut self, key: &'static str, allowed: &[Value]) -> Result<()> {
        self.known.push(key);
        match self.map.get(key) {
            None => Ok(()),
            Some(v) if allowed.contains(v) => Ok(()),
            Some(v) => {
                let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
                Err(self.err(
                    key,
                    format!(
                        "{v} is not supported (tapegrad reads {})",
                        allowed.join(" or ")
                    ),
                ))
            }
        }
    }

    /// Keys that must be null or absent (regularizers, constraints).
    pub fn nulls(&mut self, keys: &[&'static str]) -> Result<()> {
        for key in keys {
            self.fixed(key, &[Value::Null])?;
        }
        Ok(())
    }

    /// Keys tapegrad reads but whose value does not change what it computes.
    pub fn ignore(&mut self, keys: &[&'static str]) {
        self.known.extend_from_slice(keys);
    }

    pub fn f64(&mut self, key: &'static str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| self.err(key, format!("{v} is not a number"))),
        }
    }

    pub fn bool(&mut self, key: &'static str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.err(key, format!("{v} is not true or false"))),
        }
    }

    pub fn usize(&mut self, key: &'static str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.err(key, format!("{v} is not a non-negative integer"))),
        }
    }

    /// An axis list: an integer, a list of integers, or (`none_is_empty`) null for none.
    pub fn axes(&mut self, key: &'static str, default: &[isize]) -> Result<Vec<isize>> {
        let Some(v) = self.get(key) else {
            return Ok(if self.map.get(key).is_some() {
                Vec::new()
            } else {
                default.to_vec()
            });
        };
        let one = |v: &Value| v.as_i64().and_then(|a| isize::try_from(a).ok());
        let out = match v {
            Value::Array(items) => items.iter().map(one).collect::<Option<Vec<_>>>(),
            v => one(v).map(|a| vec![a]),
        };
        out.ok_or_else(|| self.err(key, format!("{v} is not an axis or a list of axes")))
    }

    /// An initializer: Keras's serialized object or its name.
    pub fn initializer(
        &mut self,
        key: &'static str,
        default: Box<dyn crate::Initializer>,
    ) -> Result<Box<dyn crate::Initializer>> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => {
                crate::initializers::from_config(v).map_err(|e| self.err(key, e.to_string()))
            }
        }
    }

    /// Every key read? Else the first unknown one, with the class's keys.
    pub fn finish(self) -> Result<()> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.known.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(k) => Err(self.err(
                k,
                format!("unknown (`{}` has {})", self.class, self.known.join(", ")),
            )),
        }
    }
}

/// `LayerNormalization` → `layer_normalization`, as Keras names layers.
fn snake(class: &str) -> String {
    let mut out = String::new();
    for (i, c) in class.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Keras's config of an initializer, or its default when the initializer has none.
pub(crate) fn initializer_or(init: &dyn crate::Initializer, default: Value) -> Value {
    init.get_config().unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_classes_are_named() {
        let c = json!({"name": "d", "units": 2, "frobnicate": 1});
        let e = layer_from_config("Dense", &c).err().unwrap().to_string();
        assert!(
            e.starts_with("layer `d`: config key `frobnicate` of `Dense`: unknown (`Dense` has name, trainable, dtype, units"),
            "{e}"
        );
        let e = layer_from_config(
            "Dense",
            &json!({"name": "d", "units": 2, "trainable": false}),
        )
        .err()
        .unwrap()
        .to_string();
        assert_eq!(
            e,
            "layer `d`: config key `trainable` of `Dense`: false is not supported (tapegrad reads true)"
        );
        let e = layer_from_config(
            "Dense",
            &json!({"name": "d", "units": 2, "dtype": "float16"}),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("`dtype`") && e.contains("float16"), "{e}");
        assert_eq!(snake("LayerNormalization"), "layer_normalization");
    }
}
