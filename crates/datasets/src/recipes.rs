//! The five documents' own data recipes, drawn in the documents' order.
//!
//! Each function reproduces a cell of a document in `shared/seeds/`; the
//! ones that draw random numbers use the global generator ([`np_random`]),
//! so call `np_random::seed(42)` first where the document seeds.

use ndarray::{Array1, Array2, ArrayView1, NdFloat};

use crate::dataset::Dataset;
use crate::error::{invalid, Result};
use crate::np_random;
use crate::sklearn::MakeRegression;

/// `np.arange(start, stop, step, dtype=np.float32)`: `ceil((stop - start) / step)`
/// values `start + i * step`, computed in float32 as numpy fills them.
/// Errors if `step` is zero or not finite.
///
/// ```
/// use tapegrad_datasets::recipes::arange_f32;
/// let x = arange_f32(0.0, 100.0, 2.0).unwrap();
/// assert_eq!((x.len(), x[1], x[49]), (50, 2.0, 98.0));
/// assert!(arange_f32(0.0, 1.0, 0.0).is_err());
/// ```
pub fn arange_f32(start: f64, stop: f64, step: f64) -> Result<Array1<f32>> {
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
        return Err(invalid(
            "step",
            format!("step must be finite and non-zero, got {step}"),
        ));
    }
    let len = ((stop - start) / step).ceil().max(0.0) as usize;
    crate::random_state::shape_len(&[len])?;
    // numpy computes the first two values in double, then fills
    // `first + i * delta` in the array's dtype.
    let first = start as f32;
    let delta = ((start + step) as f32) - first;
    Ok(Array1::from_iter(
        (0..len).map(|i| first + i as f32 * delta),
    ))
}

/// Document 000: `X_train = np.arange(stop=100, step=2, dtype=np.float32)`,
/// `Y_train = X_train * actual_gradient + actual_offset` (float32).
///
/// ```
/// use tapegrad_datasets::recipes::doc000_training_data;
/// let (x, y) = doc000_training_data(5.0, 3.0);
/// assert_eq!((x[3], y[3]), (6.0, 33.0));
/// ```
pub fn doc000_training_data(
    actual_gradient: f32,
    actual_offset: f32,
) -> (Array1<f32>, Array1<f32>) {
    let x = Array1::from_iter((0..50).map(|i| (2 * i) as f32));
    let y = x.mapv(|v| v * actual_gradient + actual_offset);
    (x, y)
}

/// Document 001's `linear_like_data_generator(n, w0, w1)`:
/// `X = 2 * np.random.rand(n, 1)`, `Y = w0 * X + w1 + 0.5 * np.random.rand(n, 1)`,
/// both `(n, 1)` float64, from the global generator.
///
/// ```
/// use tapegrad_datasets::{np_random, recipes::doc001_linear_like_data};
/// np_random::seed(42);
/// let (x, y) = doc001_linear_like_data(100, 3.0, 4.0).unwrap();
/// assert_eq!(x[[0, 0]], 2.0 * 0.3745401188473625);
/// assert!(y[[0, 0]] >= 3.0 * x[[0, 0]] + 4.0);
/// ```
pub fn doc001_linear_like_data(n: usize, w0: f64, w1: f64) -> Result<(Array2<f64>, Array2<f64>)> {
    let x = np_random::rand((n, 1))?.mapv(|v| 2.0 * v);
    let noise = np_random::rand((n, 1))?;
    let y = ndarray::Zip::from(&x)
        .and(&noise)
        .map_collect(|&xv, &r| w0 * xv + w1 + 0.5 * r);
    Ok((x, y))
}

/// Document 002's data, split as it splits: `x_train, y_train = x[:8000], y[:8000]`
/// and the rest for testing.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc002Data {
    /// `x[:8000]`.
    pub x_train: Array1<f64>,
    /// `y[:8000]`.
    pub y_train: Array1<f64>,
    /// `x[8000:]`.
    pub x_test: Array1<f64>,
    /// `y[8000:]`.
    pub y_test: Array1<f64>,
}

/// Document 002's `create_dataset(n_samples, m, c)` with its `mean = 0.0`,
/// `std = 1.0`: `x = normal(mean, std, n)`, `noise = normal(mean, std, n)`,
/// `y = m*x + c + noise`, split sequentially at 8000 (as the document's
/// `x[:8000]`, which takes everything when `n_samples <= 8000`).
///
/// ```
/// use tapegrad_datasets::{np_random, recipes::doc002_create_dataset};
/// np_random::seed(42);
/// let d = doc002_create_dataset(10000, 9.0, -2.0, 0.0, 1.0).unwrap();
/// assert_eq!((d.x_train.len(), d.x_test.len()), (8000, 2000));
/// assert_eq!(d.x_train[0], 0.4967141530112327);
/// ```
pub fn doc002_create_dataset(
    n_samples: usize,
    m: f64,
    c: f64,
    mean: f64,
    std: f64,
) -> Result<Doc002Data> {
    let x = np_random::normal(mean, std, n_samples)?;
    let noise = np_random::normal(mean, std, n_samples)?;
    let y = ndarray::Zip::from(&x)
        .and(&noise)
        .map_collect(|&xv, &e| m * xv + c + e);
    let (x_train, x_test) = sequential_split(x.view(), 8000);
    let (y_train, y_test) = sequential_split(y.view(), 8000);
    Ok(Doc002Data {
        x_train,
        y_train,
        x_test,
        y_test,
    })
}

/// `a[:n_train], a[n_train:]` (clamped like Python slicing).
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::recipes::sequential_split;
/// let (a, b) = sequential_split(array![1.0, 2.0, 3.0].view(), 2);
/// assert_eq!((a.len(), b[0]), (2, 3.0));
/// ```
pub fn sequential_split<T: Clone>(a: ArrayView1<'_, T>, n_train: usize) -> (Array1<T>, Array1<T>) {
    let k = n_train.min(a.len());
    (
        a.slice(ndarray::s![..k]).to_owned(),
        a.slice(ndarray::s![k..]).to_owned(),
    )
}

/// Document 003's synthetic line `ys = TRUE_w * xs + TRUE_b` on
/// `xs = normal(size=num_examples)` drawn from the global numpy generator and
/// cast to float32 (the document draws with `tf.random.normal`, whose
/// values TensorFlow's own generator decides; this gives the same recipe
/// with numpy's draws).
///
/// ```
/// use tapegrad_datasets::{np_random, recipes::doc003_synthesize};
/// np_random::seed(42);
/// let (xs, ys) = doc003_synthesize(1000, 3.0, 2.0).unwrap();
/// assert_eq!(xs[0], 0.4967141530112327f64 as f32);
/// assert_eq!(ys[0], 3.0 * xs[0] + 2.0);
/// ```
pub fn doc003_synthesize(
    num_examples: usize,
    true_w: f32,
    true_b: f32,
) -> Result<(Array1<f32>, Array1<f32>)> {
    let xs = np_random::normal(0.0, 1.0, num_examples)?.mapv(|v| v as f32);
    let ys = xs.mapv(|v| true_w * v + true_b);
    Ok((xs, ys))
}

/// Document 004's `np.array([*range(1, 2000)]).astype('float32')`, used for
/// both `x` and `y_true`.
///
/// ```
/// use tapegrad_datasets::recipes::doc004_range;
/// let x = doc004_range();
/// assert_eq!((x.len(), x[0], x[1998]), (1999, 1.0, 1999.0));
/// ```
pub fn doc004_range() -> Array1<f32> {
    Array1::from_iter((1..2000).map(|i| i as f32))
}

/// Document 004's `minmax(array)`: `(array - min) / (max - min)` computed
/// in the array's own dtype. Errors on an empty array, a NaN, or `max == min`
/// (where the document would divide by zero).
///
/// ```
/// use tapegrad_datasets::recipes::{doc004_range, minmax};
/// let x = minmax(doc004_range().view()).unwrap();
/// assert_eq!((x[0], x[1998]), (0.0f32, 1.0f32));
/// assert!(minmax(ndarray::array![1.0f64, 1.0].view()).is_err());
/// ```
pub fn minmax<T: NdFloat>(array: ArrayView1<'_, T>) -> Result<Array1<T>> {
    if array.is_empty() {
        return Err(invalid("array", "minmax of an empty array"));
    }
    if let Some(i) = array.iter().position(|v| v.is_nan()) {
        return Err(invalid(
            "array",
            format!("NaN at position {i}; minmax needs numbers"),
        ));
    }
    let first = array[0];
    let (mut max_val, mut min_val) = (first, first);
    for &v in array.iter() {
        if v > max_val {
            max_val = v;
        }
        if v < min_val {
            min_val = v;
        }
    }
    if max_val == min_val {
        return Err(invalid(
            "array",
            format!("max == min == {max_val}; minmax would divide by zero"),
        ));
    }
    Ok(array.mapv(|v| (v - min_val) / (max_val - min_val)))
}

/// Document 004's table: `x1, x2, x3 = normal(size=100)` three times from
/// the global generator, then `y = 3*x1 + 2*x2 - 7*x3 + 5`; `y` is marked as
/// the target. Call `np_random::seed(42)` first, as the document does.
///
/// ```
/// use tapegrad_datasets::{np_random, recipes::doc004_dataset};
/// np_random::seed(42);
/// let df = doc004_dataset(100).unwrap();
/// assert!(df.head(5).to_string().starts_with(
///     "         x1        x2        x3          y\n0  0.496714 -1.415371  0.357787   1.154889"
/// ));
/// ```
pub fn doc004_dataset(n: usize) -> Result<Dataset> {
    let x1 = np_random::normal(0.0, 1.0, n)?;
    let x2 = np_random::normal(0.0, 1.0, n)?;
    let x3 = np_random::normal(0.0, 1.0, n)?;
    let y = ndarray::Zip::from(&x1)
        .and(&x2)
        .and(&x3)
        .map_collect(|&a, &b, &c| 3.0 * a + 2.0 * b - 7.0 * c + 5.0);
    let mut df = Dataset::from_columns(vec![("x1", x1), ("x2", x2), ("x3", x3)])?;
    df.insert("y", y)?;
    df.set_targets(&["y"])?;
    Ok(df)
}

/// Document 004's last table: `make_regression(n_samples=10, n_features=10,
/// n_targets=1, bias=1, random_state=42)` as columns `"0"`..`"9"` and the
/// target `"y"` (pandas shows it as a second `0`).
///
/// ```
/// use tapegrad_datasets::recipes::doc004_regression;
/// let df = doc004_regression().unwrap();
/// assert_eq!((df.nrows(), df.ncols()), (10, 11));
/// assert!((df.column("y").unwrap()[0] - -324.129377).abs() < 1e-6);
/// ```
pub fn doc004_regression() -> Result<Dataset> {
    let r = MakeRegression {
        n_samples: 10,
        n_features: 10,
        n_targets: 1,
        bias: 1.0,
        random_state: Some(42),
        ..Default::default()
    }
    .generate()?;
    let names: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut df = Dataset::from_array(r.x.view(), &refs)?;
    df.insert("y", r.y_column()?)?;
    df.set_targets(&["y"])?;
    Ok(df)
}
