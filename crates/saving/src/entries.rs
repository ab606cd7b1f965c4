//! A model's variables as a weights file lists them, and the whole-or-nothing load: every
//! stored array is checked against its variable before any variable is assigned.

use std::collections::HashMap;
use std::path::Path;

use tapegrad_autodiff::{DType, Tensor, Variable};
use tapegrad_nn::Layer;

use crate::error::{model_err, Error, Result, VariableAt};

/// One variable of a model and its two names in files.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The layer that owns it.
    pub layer: String,
    /// The variable's own name, Keras's weight name (`dense/kernel`): the key in
    /// `.safetensors` and `.npz` files.
    pub name: String,
    /// Its dataset in Keras 3's `.weights.h5` (`layers/dense/vars/0`).
    pub h5: String,
    pub var: Variable,
}

/// One layer's `vars` group in Keras 3's layout (`layers/dense/vars`), with the layer's name
/// (Keras writes it as the group's `name` attribute).
#[derive(Debug, Clone)]
pub(crate) struct VarsGroup {
    pub group: String,
    pub layer: String,
    /// Keras 3's int64 `count` of an adapted `Normalization` at this index (`vars/2`, after
    /// `mean` and `variance`): kept in the file for Keras, not a variable of ours.
    pub count_at: Option<String>,
}

/// A stored array: a tensor of a dtype we have, an int64 array (an optimizer's iteration
/// count), or the dtype and shape of one we do not have.
#[derive(Debug, Clone)]
pub(crate) enum Stored {
    Tensor(Tensor),
    I64(Vec<usize>, Vec<i64>),
    Unsupported {
        dtype: String,
        shape: Option<Vec<usize>>,
    },
    /// A dataset left unread because its shape is not its variable's, or it is larger than
    /// anything the model or its optimizer holds (a file cannot make us allocate what its
    /// header claims): its dtype and shape, for the message.
    Unread {
        dtype: String,
        shape: Vec<usize>,
    },
}

/// A value to write.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    /// A float32 or float64 tensor.
    Tensor(Tensor),
    /// An int64 scalar (Keras's `iterations`).
    I64(i64),
}

/// The variables a layer holds itself: all of them for a leaf layer (whose `variables`
/// is what it owns), its own for a composite one.
fn own_variables(layer: &dyn Layer) -> Vec<Variable> {
    if layer.layers().is_empty() {
        layer.variables()
    } else {
        layer.own_variables()
    }
}

fn walk(layer: &dyn Layer, prefix: &str, entries: &mut Vec<Entry>, groups: &mut Vec<VarsGroup>) {
    let own = own_variables(layer);
    let count_at = (layer.class_name() == "Normalization" && own.len() == 2)
        .then(|| format!("{prefix}vars/2"));
    groups.push(VarsGroup {
        group: format!("{prefix}vars"),
        layer: layer.name().to_string(),
        count_at,
    });
    for (i, var) in own.into_iter().enumerate() {
        entries.push(Entry {
            layer: layer.name().to_string(),
            name: var.name().to_string(),
            h5: format!("{prefix}vars/{i}"),
            var,
        });
    }
    // Keras 3 keys a layer's sub-layers by class, not by name (names are not reproducible):
    // `dense`, `dense_1`, `dropout`, ... in order; the name is the `vars` group's attribute
    let mut used: HashMap<String, usize> = HashMap::new();
    for sub in layer.layers() {
        let base = snake_case(sub.class_name());
        let key = match used.get_mut(&base) {
            Some(n) => {
                *n += 1;
                format!("{base}_{n}")
            }
            None => {
                used.insert(base.clone(), 0);
                base
            }
        };
        walk(sub, &format!("{prefix}layers/{key}/"), entries, groups);
    }
}

/// Keras's `naming.to_snake_case`: non-word characters dropped, then `_` before each
/// capitalized word (`(.)([A-Z][a-z]+)`) and between a lower-case letter and a capital
/// (`([a-z])([A-Z])`), lower-cased: `BatchNormalization` → `batch_normalization`.
pub(crate) fn snake_case(name: &str) -> String {
    let c: Vec<char> = name
        .chars()
        .filter(|c| {
            c.is_ascii_alphanumeric() || *c == '_' || (!c.is_ascii() && c.is_alphanumeric())
        })
        .collect();
    let mut first = Vec::with_capacity(c.len() + 4);
    let mut i = 0;
    while i < c.len() {
        let starts =
            i + 2 < c.len() && c[i + 1].is_ascii_uppercase() && c[i + 2].is_ascii_lowercase();
        if starts {
            first.extend([c[i], '_', c[i + 1]]);
            i += 2;
            while i < c.len() && c[i].is_ascii_lowercase() {
                first.push(c[i]);
                i += 1;
            }
        } else {
            first.push(c[i]);
            i += 1;
        }
    }
    let mut out = String::with_capacity(first.len() + 4);
    let mut i = 0;
    while i < first.len() {
        if i + 1 < first.len() && first[i].is_ascii_lowercase() && first[i + 1].is_ascii_uppercase()
        {
            out.push(first[i]);
            out.push('_');
            out.push(first[i + 1]);
            i += 2;
        } else {
            out.push(first[i]);
            i += 1;
        }
    }
    out.to_lowercase()
}

/// The model's variables in Keras's order (the model's own, then each layer's, depth first),
/// each with its names, and the `vars` groups; an error naming `path` when the model is not
/// built or two variables share a name.
pub(crate) fn model_entries(
    model: &dyn Layer,
    path: &Path,
) -> Result<(Vec<Entry>, Vec<VarsGroup>)> {
    if !model.built() {
        return Err(model_err(
            path,
            format!(
                "model `{}` is not built: build it (or call it once) so that its variables exist",
                model.name()
            ),
        ));
    }
    let (mut entries, mut groups) = (Vec::new(), Vec::new());
    walk(model, "", &mut entries, &mut groups);
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for e in &entries {
        if let Some(other) = seen.insert(&e.name, &e.layer) {
            return Err(model_err(
                path,
                format!(
                    "two variables are named `{}` (in layers `{other}` and `{}`): names key the weights in the file",
                    e.name, e.layer
                ),
            ));
        }
    }
    let mut seen_groups: HashMap<&str, ()> = HashMap::new();
    for g in &groups {
        if seen_groups.insert(&g.group, ()).is_some() {
            return Err(model_err(
                path,
                format!("two layers are named `{}` at one level", g.layer),
            ));
        }
    }
    Ok((entries, groups))
}

fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::F64 => "float64",
    }
}

/// Checks each entry against the array stored under `key(entry)`, and that every stored array
/// belongs to an entry; returns the values in the entries' order. The first mismatch is the
/// error.
pub(crate) fn check_all(
    path: &Path,
    entries: &[Entry],
    stored: Vec<(String, Stored)>,
    key: impl Fn(&Entry) -> &str,
) -> Result<Vec<Tensor>> {
    let mut by_key: HashMap<String, Stored> = stored.into_iter().collect();
    let mut values = Vec::with_capacity(entries.len());
    for e in entries {
        let k = key(e);
        let at = || {
            Box::new(VariableAt {
                layer: e.layer.clone(),
                variable: e.name.clone(),
                key: k.to_string(),
            })
        };
        let Some(s) = by_key.remove(k) else {
            return Err(Error::Missing {
                path: path.to_path_buf(),
                at: at(),
            });
        };
        let expected = dtype_name(e.var.dtype()).to_string();
        let t = match s {
            Stored::Unsupported { dtype, shape } => {
                return Err(Error::UnsupportedDType {
                    path: path.to_path_buf(),
                    at: at(),
                    expected,
                    found: match shape {
                        Some(shape) => format!("{dtype} {shape:?}"),
                        None => dtype,
                    },
                })
            }
            Stored::I64(shape, _) => {
                return Err(Error::UnsupportedDType {
                    path: path.to_path_buf(),
                    at: at(),
                    expected,
                    found: format!("int64 {shape:?}"),
                })
            }
            Stored::Unread { dtype, shape } => {
                if shape != e.var.shape() {
                    return Err(Error::Shape {
                        path: path.to_path_buf(),
                        at: at(),
                        expected: e.var.shape().to_vec(),
                        found: shape,
                    });
                }
                return Err(Error::UnsupportedDType {
                    path: path.to_path_buf(),
                    at: at(),
                    expected,
                    found: format!("{dtype} {shape:?}"),
                });
            }
            Stored::Tensor(t) => t,
        };
        if t.shape() != e.var.shape() {
            return Err(Error::Shape {
                path: path.to_path_buf(),
                at: at(),
                expected: e.var.shape().to_vec(),
                found: t.shape().to_vec(),
            });
        }
        if t.dtype() != e.var.dtype() {
            return Err(Error::DType {
                path: path.to_path_buf(),
                at: at(),
                expected,
                found: dtype_name(t.dtype()).to_string(),
            });
        }
        values.push(t);
    }
    if let Some(k) = by_key.keys().min() {
        return Err(Error::Unexpected {
            path: path.to_path_buf(),
            key: k.clone(),
        });
    }
    Ok(values)
}

/// The stored arrays without Keras 3's `Normalization` counts (an int64 scalar at each
/// group's `count_at`), which no variable of ours holds; a count of another dtype or shape is
/// left for [`check_all`] to refuse.
pub(crate) fn without_counts(
    groups: &[VarsGroup],
    stored: Vec<(String, Stored)>,
) -> Vec<(String, Stored)> {
    stored
        .into_iter()
        .filter(|(k, s)| {
            let is_count = groups
                .iter()
                .any(|g| g.count_at.as_deref() == Some(k.as_str()));
            !(is_count && matches!(s, Stored::I64(shape, _) if shape.is_empty()))
        })
        .collect()
}

/// Assigns values [`check_all`] accepted.
pub(crate) fn assign_checked(path: &Path, entries: &[Entry], values: Vec<Tensor>) -> Result<()> {
    for (e, t) in entries.iter().zip(values) {
        // shape and dtype checked above: assign cannot refuse
        e.var.assign(t).map_err(|err| {
            model_err(
                path,
                format!("layer `{}`: variable `{}`: {err}", e.layer, e.name),
            )
        })?;
    }
    Ok(())
}

/// [`check_all`], then, when everything fits, [`assign_checked`].
pub(crate) fn assign_all(
    path: &Path,
    entries: &[Entry],
    stored: Vec<(String, Stored)>,
    key: impl Fn(&Entry) -> &str,
) -> Result<()> {
    let values = check_all(path, entries, stored, key)?;
    assign_checked(path, entries, values)
}

#[cfg(test)]
mod tests {
    #[test]
    fn snake_case_is_kerass() {
        // Keras 3.15.1's naming.to_snake_case of each
        for (class, want) in [
            ("Dense", "dense"),
            ("LayerNormalization", "layer_normalization"),
            ("BatchNormalization", "batch_normalization"),
            ("Conv2D", "conv2d"),
            ("ABCDef", "abc_def"),
            ("MyLayer", "my_layer"),
            ("HTTPServerX", "http_server_x"),
        ] {
            assert_eq!(super::snake_case(class), want, "{class}");
        }
    }
}
