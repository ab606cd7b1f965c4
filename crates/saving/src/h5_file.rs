//! The part of HDF5 Keras 3's `.weights.h5` uses, through `hdf5-pure`: groups with a `name`
//! attribute, and contiguous datasets of float32, float64 and int64 (the optimizer's
//! iteration count), scalars included.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_pure::{AttrValue, DatasetBuilder, FileBuilder, FinishedGroup, GroupBuilder};
use tapegrad_autodiff::{DType, Tensor};

use crate::entries::{Stored, Values};
use crate::error::{format_err, Result};

/// One group of the file being written: its `name` attribute, subgroups, datasets.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    name_attr: Option<String>,
    groups: BTreeMap<String, Tree>,
    datasets: Vec<(String, Values)>,
}

impl Tree {
    fn group_mut(&mut self, path: &str) -> &mut Tree {
        path.split('/')
            .filter(|p| !p.is_empty())
            .fold(self, |node, part| {
                node.groups.entry(part.to_string()).or_default()
            })
    }

    /// Makes the group at `path` (and its parents), with Keras's `name` attribute.
    pub fn group(&mut self, path: &str, name: &str) {
        self.group_mut(path).name_attr = Some(name.to_string());
    }

    /// Adds a dataset at `path` (`layers/dense/vars/0`).
    pub fn dataset(&mut self, path: &str, values: Values) {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        self.group_mut(parent)
            .datasets
            .push((name.to_string(), values));
    }

    /// The file's bytes.
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let mut fb = FileBuilder::new();
        self.emit(&mut Root(&mut fb));
        fb.finish()
            .map_err(|e| format_err(path, format!("cannot write HDF5: {e}")))
    }

    fn emit(&self, sink: &mut dyn Sink) {
        if let Some(n) = &self.name_attr {
            sink.attr("name", AttrValue::String(n.clone()));
        }
        for (name, child) in &self.groups {
            let mut g = sink.group(name);
            child.emit(&mut Sub(&mut g));
            sink.add(g.finish());
        }
        for (name, values) in &self.datasets {
            let d = sink.dataset(name);
            match values {
                Values::Tensor(t) => {
                    match t.dtype() {
                        DType::F32 => d.with_f32_data(&t.to_vec::<f32>().unwrap_or_default()),
                        DType::F64 => d.with_f64_data(&t.to_vec::<f64>().unwrap_or_default()),
                    };
                    let shape: Vec<u64> = t.shape().iter().map(|&n| n as u64).collect();
                    d.with_shape(&shape);
                }
                Values::I64(v) => {
                    d.with_i64_data(&[*v]).with_shape(&[]);
                }
            }
        }
    }
}

/// The root and the other groups are built by two types of `hdf5-pure`.
trait Sink {
    fn group(&mut self, name: &str) -> GroupBuilder;
    fn add(&mut self, group: FinishedGroup);
    fn dataset(&mut self, name: &str) -> &mut DatasetBuilder;
    fn attr(&mut self, name: &str, value: AttrValue);
}

struct Root<'a>(&'a mut FileBuilder);
struct Sub<'a>(&'a mut GroupBuilder);

/// `Sink` for a builder type through the four methods both of them have.
macro_rules! sink {
    ($($wrapper:ident),*) => {$(
        impl Sink for $wrapper<'_> {
            fn group(&mut self, name: &str) -> GroupBuilder {
                self.0.create_group(name)
            }
            fn add(&mut self, group: FinishedGroup) {
                self.0.add_group(group)
            }
            fn dataset(&mut self, name: &str) -> &mut DatasetBuilder {
                self.0.create_dataset(name)
            }
            fn attr(&mut self, name: &str, value: AttrValue) {
                self.0.set_attr(name, value)
            }
        }
    )*};
}

sink!(Root, Sub);

/// Which datasets [`read`] reads: those at a path of `shapes` whose shape is the one given
/// (a model's variable), and others of at most `max_values` values (an optimizer's slots are
/// shaped as the variables); the rest are [`Stored::Unread`], their header's shape and dtype
/// only, so that a lying header (a dataset claiming terabytes) allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    pub shapes: std::collections::HashMap<String, Vec<usize>>,
    pub max_values: usize,
}

impl Budget {
    /// The model's variables at their datasets, and `max_values` for the rest.
    pub fn for_entries(entries: &[crate::entries::Entry], max_values: usize) -> Budget {
        Budget {
            shapes: entries
                .iter()
                .map(|e| (e.h5.clone(), e.var.shape().to_vec()))
                .collect(),
            max_values,
        }
    }

    /// The most values of any of the entries (at least 1: scalars).
    pub fn largest(entries: &[crate::entries::Entry]) -> usize {
        entries
            .iter()
            .map(|e| e.var.shape().iter().product::<usize>())
            .max()
            .unwrap_or(0)
            .max(1)
    }

    fn reads(&self, name: &str, shape: &[usize], len: usize) -> bool {
        match self.shapes.get(name) {
            Some(want) => want.as_slice() == shape,
            None => len <= self.max_values,
        }
    }
}

/// Every dataset of an HDF5 file, by path (`layers/dense/vars/0`): those `budget` allows
/// read whole, the others described by their header (see [`Budget`]).
pub(crate) fn read(path: &Path, bytes: Vec<u8>, budget: &Budget) -> Result<Vec<(String, Stored)>> {
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(format_err(path, "not an HDF5 file (no HDF5 signature)"));
    }
    let bad = |e: hdf5_pure::Error| format_err(path, format!("not a whole HDF5 file: {e}"));
    // hdf5-pure reports malformed files as errors; the guard keeps a bug there from becoming
    // a panic of ours on a garbled file.
    let walked = std::panic::catch_unwind(|| -> Result<Vec<(String, Stored)>> {
        let file = hdf5_pure::File::from_bytes(bytes).map_err(bad)?;
        let mut out = Vec::new();
        walk(path, &file.root(), "", budget, &mut out)?;
        Ok(out)
    });
    walked.unwrap_or_else(|_| Err(format_err(path, "not a whole HDF5 file (unreadable)")))
}

fn walk(
    path: &Path,
    group: &hdf5_pure::Group,
    prefix: &str,
    budget: &Budget,
    out: &mut Vec<(String, Stored)>,
) -> Result<()> {
    let bad = |what: &str, e: hdf5_pure::Error| format_err(path, format!("`{what}`: {e}"));
    let here = if prefix.is_empty() { "/" } else { prefix };
    for name in group.datasets().map_err(|e| bad(here, e))? {
        let full = format!("{prefix}{name}");
        let ds = group.dataset(&name).map_err(|e| bad(&full, e))?;
        let shape: Vec<usize> = ds
            .shape()
            .map_err(|e| bad(&full, e))?
            .iter()
            .map(|&n| usize::try_from(n).unwrap_or(usize::MAX))
            .collect();
        let len = shape
            .iter()
            .try_fold(1usize, |a, &n| a.checked_mul(n))
            .ok_or_else(|| format_err(path, format!("`{full}`: shape {shape:?} is too large")))?;
        let short =
            |got: usize| format_err(path, format!("`{full}`: {got} values for shape {shape:?}"));
        let check = |got: usize| if got == len { Ok(()) } else { Err(short(got)) };
        let tensor = |t: std::result::Result<Tensor, _>| {
            t.map(Stored::Tensor)
                .map_err(|e: tapegrad_autodiff::Error| format_err(path, e.to_string()))
        };
        let dtype = ds.dtype().map_err(|e| bad(&full, e))?;
        if !budget.reads(&full, &shape, len) {
            out.push((
                full,
                Stored::Unread {
                    dtype: h5_dtype_name(&dtype),
                    shape,
                },
            ));
            continue;
        }
        let read = match dtype {
            hdf5_pure::DType::F32 => {
                let v = ds.read_f32().map_err(|e| bad(&full, e))?;
                check(v.len())?;
                tensor(Tensor::from_vec(v, &shape))?
            }
            hdf5_pure::DType::F64 => {
                let v = ds.read_f64().map_err(|e| bad(&full, e))?;
                check(v.len())?;
                tensor(Tensor::from_vec(v, &shape))?
            }
            hdf5_pure::DType::I64 => {
                let v = ds.read_i64().map_err(|e| bad(&full, e))?;
                check(v.len())?;
                Stored::I64(shape, v)
            }
            other => Stored::Unsupported {
                dtype: h5_dtype_name(&other),
                shape: Some(shape),
            },
        };
        out.push((full, read));
    }
    for name in group.groups().map_err(|e| bad(here, e))? {
        let full = format!("{prefix}{name}");
        let sub = group.group(&name).map_err(|e| bad(&full, e))?;
        walk(path, &sub, &format!("{full}/"), budget, out)?;
    }
    Ok(())
}

fn h5_dtype_name(dtype: &hdf5_pure::DType) -> String {
    use hdf5_pure::DType as D;
    match dtype {
        D::F32 => "float32".into(),
        D::F64 => "float64".into(),
        D::I64 => "int64".into(),
        D::I8 => "int8".into(),
        D::I16 => "int16".into(),
        D::I32 => "int32".into(),
        D::U8 => "uint8".into(),
        D::U16 => "uint16".into(),
        D::U32 => "uint32".into(),
        D::U64 => "uint64".into(),
        D::String | D::VariableLengthString => "string".into(),
        D::Other(dt) if dt.type_size() == 2 => "float16".into(),
        other => format!("{other:?}"),
    }
}
