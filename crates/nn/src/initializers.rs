//! Keras initializers (`tf.keras.initializers`): the variance-scaling family with Keras's fan
//! computation, random normal / uniform / truncated normal, and constants.
//!
//! **Seeded, TensorFlow's numbers.** A seeded initializer gives tf-keras 2.x's values bit for bit
//! (checked against tf-keras 2.21 in float32 and float64): tf-keras draws a seeded initializer
//! through TensorFlow's stateless ops with the seed pair `[seed, 0]`, and so do we, through
//! [`tapegrad_tensor::random`] (Philox4x32-10 and TensorFlow's CPU kernels). `GlorotUniform`
//! with seed 11 on (5, 8) is `tf.random.stateless_uniform((5, 8), seed=[11, 0], minval=-l,
//! maxval=l)`, `l = sqrt(6 / 13)`; the normals are `stateless_normal` / `stateless_truncated_normal`
//! with Keras's mean and stddev. Keras's parameters (limits, standard deviations) are computed in
//! float64, as its Python floats are, and rounded to the dtype by the op, as TensorFlow converts
//! them. Like tf-keras 2.x, a seeded initializer returns the same values on every call. The
//! float32 normals use the platform's `logf`/`sinf`/`cosf`, which on Linux with glibc are
//! TensorFlow's; elsewhere a normal may differ in its last bit.
//!
//! **Unseeded, our generator.** An unseeded initializer draws from this thread's generator
//! (rand's `StdRng`), which [`set_seed`] reseeds (`tf.random.set_seed`): the right distribution,
//! not TensorFlow's samples (TensorFlow's unseeded values are random anyway: tf-keras picks each
//! unseeded initializer a seed with Python's `random`, and that object then repeats its values on
//! every call, with a warning; ours draws anew on every call).
//!
//! ```
//! use tapegrad_autodiff::DType;
//! use tapegrad_nn::initializers::{compute_fans, GlorotUniform, Initializer};
//! assert_eq!(compute_fans(&[4, 5, 6]), (20.0, 24.0)); // receptive field 4
//! // tf.keras.initializers.GlorotUniform(seed=11)((5, 8)), tf-keras 2.21
//! let w = GlorotUniform::new().seed(11).init(&[5, 8], DType::F32)?;
//! assert_eq!(w.to_vec::<f32>()?[..4], [0.48104942, -0.36595246, 0.6102557, 0.6224412]);
//! assert!(w.equals(&GlorotUniform::seeded(11).init(&[5, 8], DType::F32)?));
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```

use std::cell::RefCell;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use ndarray_rand::rand_distr::{Distribution as _, StandardNormal};
use tapegrad_autodiff::{DType, Tensor};
use tapegrad_tensor as tt;

use crate::error::unknown;
use crate::{Error, Result};

/// `sqrt(scale) / TRUNCATED_NORMAL_STDDEV_FACTOR` is the stddev Keras gives the normal it
/// truncates at ±2σ, so that the truncated draw has standard deviation `sqrt(scale)`: the
/// standard deviation of a standard normal truncated to (−2, 2).
pub const TRUNCATED_NORMAL_STDDEV_FACTOR: f64 = 0.879_625_661_034_239_8;

/// The seed [`set_seed`] set last, and how many times it was set (0: never).
static GLOBAL_SEED: Mutex<(u64, u64)> = Mutex::new((0, 0));

thread_local! {
    /// This thread's generator, and the setting of [`GLOBAL_SEED`] it was seeded from.
    static GLOBAL_RNG: RefCell<(u64, StdRng)> = RefCell::new((0, StdRng::from_os_rng()));
}

/// Seeds the generator unseeded initializers draw from (`tf.random.set_seed`), on every thread:
/// after `set_seed(s)`, each thread's next unseeded initializations start from `s`, so the same
/// sequence of them gives the same values in `main` and in a worker thread. Before any
/// `set_seed`, each thread draws from an OS-seeded generator.
///
/// ```
/// use tapegrad_autodiff::DType;
/// use tapegrad_nn::initializers::{set_seed, GlorotUniform, Initializer};
/// set_seed(7);
/// let a = GlorotUniform::new().init(&[3, 2], DType::F32)?;
/// set_seed(7);
/// assert!(a.equals(&GlorotUniform::new().init(&[3, 2], DType::F32)?));
/// set_seed(7);
/// let b = std::thread::spawn(|| GlorotUniform::new().init(&[3, 2], DType::F32)).join().unwrap()?;
/// assert!(a.equals(&b));
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn set_seed(seed: u64) {
    let mut g = GLOBAL_SEED.lock().unwrap_or_else(PoisonError::into_inner);
    *g = (g.0 + 1, seed);
}

/// A tensor of `shape` and `dtype` whose elements `f` draws in float64, in row-major order, from
/// this thread's generator (unseeded initializers); a shape memory cannot hold is an error
/// naming `op` (the initializer) and the shape.
fn drawn(
    op: &'static str,
    shape: &[usize],
    dtype: DType,
    mut f: impl FnMut(&mut StdRng) -> f64,
) -> Result<Tensor> {
    // (drawn in float64: its bound is the stricter one)
    let n = tt::element_count(op, shape, DType::F64)?;
    let mut values = tt::reserve_elements::<f64>(op, shape)?;
    with_global_rng(|r| values.extend((0..n).map(|_| f(r))));
    tensor(values, shape, dtype)
}

/// Runs `f` on this thread's generator, reseeded first if [`set_seed`] was called since.
fn with_global_rng<T>(f: impl FnOnce(&mut StdRng) -> T) -> T {
    let (setting, seed) = *GLOBAL_SEED.lock().unwrap_or_else(PoisonError::into_inner);
    GLOBAL_RNG.with(|r| {
        let mut r = r.borrow_mut();
        if r.0 != setting {
            *r = (setting, StdRng::seed_from_u64(seed));
        }
        f(&mut r.1)
    })
}

/// A seed from the generator unseeded initializers draw from (for a layer given no seed, so
/// that [`set_seed`] makes it repeatable too).
pub(crate) fn draw_seed() -> u64 {
    with_global_rng(|r| r.random::<u64>() >> 1)
}

/// The seed pair tf-keras gives TensorFlow's stateless ops for an initializer's seed:
/// `[seed, 0]` (`RandomGenerator.make_seed_for_stateless_op`). A seed of 2^63 or more, which
/// TensorFlow cannot take as an int64, is used with its bits as an int64.
fn seed_pair(seed: u64) -> [i64; 2] {
    [seed as i64, 0]
}

/// A distribution an initializer draws from (Keras's `RandomGenerator.random_uniform`,
/// `random_normal`, `truncated_normal`).
#[derive(Debug, Clone, Copy)]
enum Draw {
    /// Uniform on `[lo, hi)`.
    Uniform(f64, f64),
    /// Normal with this mean and standard deviation.
    Normal(f64, f64),
    /// Normal with this mean and standard deviation, redrawn outside two of them.
    Truncated(f64, f64),
}

/// `shape` values of `dist` in `dtype`: TensorFlow's stateless op of that distribution when
/// seeded (seed `[seed, 0]`, as tf-keras passes it), this thread's generator otherwise.
fn draw(
    op: &'static str,
    seed: Option<u64>,
    shape: &[usize],
    dtype: DType,
    dist: Draw,
) -> Result<Tensor> {
    use tt::random::{stateless_normal, stateless_truncated_normal, stateless_uniform};
    match (seed, dist) {
        (Some(s), Draw::Uniform(lo, hi)) => {
            stateless(op, stateless_uniform(shape, seed_pair(s), lo, hi, dtype))
        }
        (Some(s), Draw::Normal(m, sd)) => {
            stateless(op, stateless_normal(shape, seed_pair(s), m, sd, dtype))
        }
        (Some(s), Draw::Truncated(m, sd)) => stateless(
            op,
            stateless_truncated_normal(shape, seed_pair(s), m, sd, dtype),
        ),
        (None, Draw::Uniform(lo, hi)) => drawn(op, shape, dtype, |r| uniform(r, lo, hi)),
        (None, Draw::Normal(m, sd)) => drawn(op, shape, dtype, |r| normal(r, m, sd)),
        (None, Draw::Truncated(m, sd)) => drawn(op, shape, dtype, |r| truncated(r, m, sd)),
    }
}

/// A stateless draw as a tensor; its error (a shape memory cannot hold) named after the
/// initializer.
fn stateless(op: &'static str, drawn: tt::Result<tt::Array>) -> Result<Tensor> {
    Ok(Tensor::new(drawn.map_err(|e| e.in_op(op))?))
}

fn normal(rng: &mut StdRng, mean: f64, stddev: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    mean + stddev * z
}

/// A normal sample redrawn until it falls within two standard deviations of the mean.
fn truncated(rng: &mut StdRng, mean: f64, stddev: f64) -> f64 {
    loop {
        let z: f64 = StandardNormal.sample(rng);
        if z.abs() <= 2.0 {
            return mean + stddev * z;
        }
    }
}

fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

fn tensor(values: Vec<f64>, shape: &[usize], dtype: DType) -> Result<Tensor> {
    Ok(Tensor::new(tt::Array::from_vec(values, shape)?.cast(dtype)))
}

/// Keras's `_compute_fans`: `(fan_in, fan_out)` of a weight shape. Rank 0: (1, 1); rank 1:
/// (n, n); rank 2: (in, out); rank > 2 (convolution kernels): the receptive field
/// `prod(shape[..-2])` times `shape[-2]` and `shape[-1]`.
///
/// ```
/// assert_eq!(tapegrad_nn::initializers::compute_fans(&[3, 1]), (3.0, 1.0));
/// ```
pub fn compute_fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        2 => (shape[0] as f64, shape[1] as f64),
        n => {
            // in float64, as Keras's Python integers converted (exact below 2^53, and no
            // overflow for any shape)
            let rf: f64 = shape[..n - 2].iter().map(|&d| d as f64).product();
            (shape[n - 2] as f64 * rf, shape[n - 1] as f64 * rf)
        }
    }
}

/// Makes the initial value of a weight (`initializer(shape, dtype)`).
pub trait Initializer: fmt::Debug + Send + Sync {
    /// A tensor of `shape` and `dtype`.
    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor>;

    /// Keras 3's serialized form of this initializer (`{"module": "keras.initializers",
    /// "class_name": ..., "config": {...}}`), which [`from_config`] reads back; `None` (the
    /// default) for an initializer Keras does not have.
    ///
    /// ```
    /// use tapegrad_nn::initializers::{from_config, GlorotUniform, Initializer};
    /// let config = GlorotUniform::seeded(11).get_config().unwrap();
    /// assert_eq!(config["class_name"], "GlorotUniform");
    /// assert_eq!(config["config"]["seed"], 11);
    /// let back = from_config(&config)?;
    /// let (a, b) = (back.init(&[2, 3], tapegrad_autodiff::DType::F32)?, GlorotUniform::seeded(11).init(&[2, 3], tapegrad_autodiff::DType::F32)?);
    /// assert!(a.equals(&b));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    fn get_config(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Keras's serialized initializer object.
fn keras_object(class: &str, config: serde_json::Value) -> Option<serde_json::Value> {
    Some(serde_json::json!({
        "module": "keras.initializers", "class_name": class,
        "config": config, "registered_name": null
    }))
}

fn mode_name(mode: FanMode) -> &'static str {
    match mode {
        FanMode::FanIn => "fan_in",
        FanMode::FanOut => "fan_out",
        FanMode::FanAvg => "fan_avg",
    }
}

fn distribution_name(d: ScalingDistribution) -> &'static str {
    match d {
        ScalingDistribution::TruncatedNormal => "truncated_normal",
        ScalingDistribution::UntruncatedNormal => "untruncated_normal",
        ScalingDistribution::Uniform => "uniform",
    }
}

/// The initializer of Keras 3's serialized form (see [`Initializer::get_config`]) or of a
/// name ([`get`]): GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
/// LecunNormal, VarianceScaling, RandomNormal, RandomUniform, TruncatedNormal, Orthogonal,
/// Zeros, Ones, Constant. Another class, or a key the class does not have, is an error
/// naming it.
///
/// ```
/// use tapegrad_nn::initializers::from_config;
/// let c = serde_json::json!({"class_name": "Constant", "config": {"value": 0.5}});
/// let t = from_config(&c)?.init(&[2], tapegrad_autodiff::DType::F32)?;
/// assert_eq!(t.to_vec::<f32>()?, vec![0.5, 0.5]);
/// assert!(from_config(&serde_json::json!("zeros")).is_ok());
/// let e = from_config(&serde_json::json!({"class_name": "Identity", "config": {}})).unwrap_err();
/// assert!(e.to_string().contains("`Identity`"), "{e}");
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn from_config(value: &serde_json::Value) -> Result<Box<dyn Initializer>> {
    if let Some(name) = value.as_str() {
        return get(name);
    }
    let class = value["class_name"].as_str().unwrap_or("?");
    let empty = serde_json::Map::new();
    let config = value["config"].as_object().unwrap_or(&empty);
    let invalid = |message: String| Error::Invalid {
        what: "initializer config",
        message,
    };
    let allowed: &[&str] = match class {
        "GlorotUniform" | "GlorotNormal" | "HeUniform" | "HeNormal" | "LecunUniform"
        | "LecunNormal" => &["seed", "input_axes", "output_axes"],
        "VarianceScaling" => &["scale", "mode", "distribution", "seed", "input_axes", "output_axes"],
        "RandomNormal" | "TruncatedNormal" => &["mean", "stddev", "seed"],
        "RandomUniform" => &["minval", "maxval", "seed"],
        "Orthogonal" => &["gain", "seed"],
        "Constant" => &["value"],
        "Zeros" | "Ones" => &[],
        other => {
            return Err(invalid(format!(
                "`{other}` is not one of tapegrad's initializers (GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, VarianceScaling, RandomNormal, RandomUniform, TruncatedNormal, Orthogonal, Zeros, Ones, Constant)"
            )))
        }
    };
    for (k, v) in config {
        if !allowed.contains(&k.as_str()) {
            return Err(invalid(format!(
                "`{class}` has no key `{k}` (its keys: {})",
                allowed.join(", ")
            )));
        }
        if (k == "input_axes" || k == "output_axes") && !v.is_null() {
            return Err(invalid(format!(
                "`{class}`: `{k}` = {v} is not supported (null)"
            )));
        }
    }
    let seed = match &config.get("seed") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            invalid(format!("`{class}`: seed {v} is not a non-negative integer"))
        })?),
    };
    let num = |k: &str, default: f64| -> Result<f64> {
        match config.get(k) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| invalid(format!("`{class}`: `{k}` = {v} is not a number"))),
        }
    };
    macro_rules! seeded {
        ($e:expr) => {{
            let i = $e;
            match seed {
                Some(s) => Box::new(i.seed(s)) as Box<dyn Initializer>,
                None => Box::new(i),
            }
        }};
    }
    Ok(match class {
        "GlorotUniform" => seeded!(GlorotUniform::new()),
        "GlorotNormal" => seeded!(GlorotNormal::new()),
        "HeUniform" => seeded!(HeUniform::new()),
        "HeNormal" => seeded!(HeNormal::new()),
        "LecunUniform" => seeded!(LecunUniform::new()),
        "LecunNormal" => seeded!(LecunNormal::new()),
        "VarianceScaling" => {
            let text = |k: &str, default: &'static str| -> Result<String> {
                match config.get(k) {
                    None => Ok(default.to_string()),
                    Some(v) => v.as_str().map(str::to_string).ok_or_else(|| {
                        invalid(format!("`VarianceScaling`: `{k}` = {v} is not a string"))
                    }),
                }
            };
            let mode = match text("mode", "fan_in")?.as_str() {
                "fan_in" => FanMode::FanIn,
                "fan_out" => FanMode::FanOut,
                "fan_avg" => FanMode::FanAvg,
                m => {
                    return Err(invalid(format!(
                        "`VarianceScaling`: mode `{m}` (fan_in, fan_out, fan_avg)"
                    )))
                }
            };
            let distribution = match text("distribution", "truncated_normal")?.as_str() {
                "truncated_normal" => ScalingDistribution::TruncatedNormal,
                "untruncated_normal" => ScalingDistribution::UntruncatedNormal,
                "uniform" => ScalingDistribution::Uniform,
                d => return Err(invalid(format!("`VarianceScaling`: distribution `{d}` (truncated_normal, untruncated_normal, uniform)"))),
            };
            seeded!(VarianceScaling::new(
                num("scale", 1.0)?,
                mode,
                distribution
            )?)
        }
        "RandomNormal" => seeded!(RandomNormal::with(num("mean", 0.0)?, num("stddev", 0.05)?)),
        "TruncatedNormal" => {
            seeded!(TruncatedNormal::with(
                num("mean", 0.0)?,
                num("stddev", 0.05)?
            ))
        }
        "RandomUniform" => {
            seeded!(RandomUniform::with(
                num("minval", -0.05)?,
                num("maxval", 0.05)?
            ))
        }
        "Orthogonal" => seeded!(Orthogonal::with_gain(num("gain", 1.0)?)),
        "Constant" => Box::new(Constant(num("value", 0.0)?)),
        "Zeros" => Box::new(Zeros),
        _ => Box::new(Ones),
    })
}

/// Which fan [`VarianceScaling`] divides its scale by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    /// `fan_in`.
    FanIn,
    /// `fan_out`.
    FanOut,
    /// `(fan_in + fan_out) / 2`.
    FanAvg,
}

/// The distribution [`VarianceScaling`] draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalingDistribution {
    /// Normal with stddev `sqrt(scale) / 0.8796…`, redrawn outside ±2 stddev.
    TruncatedNormal,
    /// Normal with stddev `sqrt(scale)`.
    UntruncatedNormal,
    /// Uniform on `±sqrt(3 · scale)`.
    Uniform,
}

/// `tf.keras.initializers.VarianceScaling(scale, mode, distribution, seed)`; the Glorot, He and
/// LeCun initializers are instances of it.
#[derive(Debug, Clone, PartialEq)]
pub struct VarianceScaling {
    /// The scale (1 for Glorot and LeCun, 2 for He).
    pub scale: f64,
    /// Which fan to divide by.
    pub mode: FanMode,
    /// The distribution.
    pub distribution: ScalingDistribution,
    /// The seed (tf-keras's values for it; None: this thread's generator).
    pub seed: Option<u64>,
}

impl VarianceScaling {
    /// A variance-scaling initializer; `scale` must be positive.
    pub fn new(scale: f64, mode: FanMode, distribution: ScalingDistribution) -> Result<Self> {
        if scale.is_nan() || scale <= 0.0 {
            return Err(Error::Invalid {
                what: "VarianceScaling",
                message: format!("`scale` must be positive, received scale={scale}"),
            });
        }
        Ok(VarianceScaling {
            scale,
            mode,
            distribution,
            seed: None,
        })
    }

    /// The same initializer with a seed: tf-keras's values for it, the same on every call.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The same initializer with a seed (Keras's `seed=`; the same as [`with_seed`](Self::with_seed)).
    ///
    /// ```
    /// use tapegrad_autodiff::DType;
    /// use tapegrad_nn::initializers::{FanMode, Initializer, ScalingDistribution, VarianceScaling};
    /// let vs = VarianceScaling::new(2.5, FanMode::FanOut, ScalingDistribution::Uniform)?.seed(11);
    /// let w = vs.init(&[3, 4], DType::F32)?;
    /// assert!(w.equals(&vs.init(&[3, 4], DType::F32)?));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn seed(self, seed: u64) -> Self {
        self.with_seed(seed)
    }

    /// `scale / max(1, fan)` for this mode, as Keras computes it.
    pub fn scale_over_fan(&self, shape: &[usize]) -> f64 {
        let (fan_in, fan_out) = compute_fans(shape);
        let fan = match self.mode {
            FanMode::FanIn => fan_in,
            FanMode::FanOut => fan_out,
            FanMode::FanAvg => (fan_in + fan_out) / 2.0,
        };
        self.scale / fan.max(1.0)
    }

    /// The uniform limit `sqrt(3 · scale / fan)` or the normal's stddev for `shape`.
    ///
    /// ```
    /// use tapegrad_nn::initializers::GlorotNormal;
    /// // Keras: sqrt(1 / 2) / 0.87962566103423978 for a (3, 1) kernel
    /// assert!((GlorotNormal::new().0.spread(&[3, 1]) - 0.8038723885739654).abs() < 1e-15);
    /// ```
    pub fn spread(&self, shape: &[usize]) -> f64 {
        let s = self.scale_over_fan(shape);
        match self.distribution {
            ScalingDistribution::TruncatedNormal => s.sqrt() / TRUNCATED_NORMAL_STDDEV_FACTOR,
            ScalingDistribution::UntruncatedNormal => s.sqrt(),
            ScalingDistribution::Uniform => (3.0 * s).sqrt(),
        }
    }
}

impl Initializer for VarianceScaling {
    fn get_config(&self) -> Option<serde_json::Value> {
        keras_object(
            "VarianceScaling",
            serde_json::json!({"scale": self.scale, "mode": mode_name(self.mode), "distribution": distribution_name(self.distribution), "seed": self.seed, "input_axes": null, "output_axes": null}),
        )
    }

    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let spread = self.spread(shape);
        let (op, seed) = ("VarianceScaling", self.seed);
        match self.distribution {
            ScalingDistribution::TruncatedNormal => {
                draw(op, seed, shape, dtype, Draw::Truncated(0.0, spread))
            }
            ScalingDistribution::UntruncatedNormal => {
                draw(op, seed, shape, dtype, Draw::Normal(0.0, spread))
            }
            ScalingDistribution::Uniform => {
                draw(op, seed, shape, dtype, Draw::Uniform(-spread, spread))
            }
        }
    }
}

macro_rules! scaling {
    ($(#[$doc:meta])* $name:ident, $scale:expr, $mode:ident, $dist:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name(pub VarianceScaling);

        impl $name {
            /// Unseeded: draws from this thread's generator (see [`set_seed`]).
            pub fn new() -> Self {
                $name(VarianceScaling {
                    scale: $scale,
                    mode: FanMode::$mode,
                    distribution: ScalingDistribution::$dist,
                    seed: None,
                })
            }
            /// Seeded: tf-keras's values for this seed (TensorFlow's stateless random
            /// numbers with the seed pair `[seed, 0]`), the same on every call.
            pub fn seeded(seed: u64) -> Self {
                $name(Self::new().0.with_seed(seed))
            }
            /// The same initializer with a seed, Keras's `seed=` (`new().seed(11)` is
            /// [`seeded(11)`](Self::seeded)).
            pub fn seed(self, seed: u64) -> Self {
                $name(self.0.with_seed(seed))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl Initializer for $name {
            fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
                self.0.init(shape, dtype)
            }

            fn get_config(&self) -> Option<serde_json::Value> {
                let default = $name::new().0;
                if (self.0.scale, self.0.mode, self.0.distribution)
                    != (default.scale, default.mode, default.distribution)
                {
                    return self.0.get_config();
                }
                keras_object(
                    stringify!($name),
                    serde_json::json!({"seed": self.0.seed, "input_axes": null, "output_axes": null}),
                )
            }
        }
    };
}

scaling!(
    /// Uniform on `±sqrt(6 / (fan_in + fan_out))` (`GlorotUniform`, Keras's default kernel
    /// initializer).
    GlorotUniform, 1.0, FanAvg, Uniform
);
scaling!(
    /// Truncated normal with stddev `sqrt(2 / (fan_in + fan_out)) / 0.8796…` (`GlorotNormal`).
    GlorotNormal, 1.0, FanAvg, TruncatedNormal
);
scaling!(
    /// Uniform on `±sqrt(6 / fan_in)` (`HeUniform`).
    HeUniform, 2.0, FanIn, Uniform
);
scaling!(
    /// Truncated normal with stddev `sqrt(2 / fan_in) / 0.8796…` (`HeNormal`).
    HeNormal, 2.0, FanIn, TruncatedNormal
);
scaling!(
    /// Truncated normal with stddev `sqrt(1 / fan_in) / 0.8796…` (`LecunNormal`).
    LecunNormal, 1.0, FanIn, TruncatedNormal
);
scaling!(
    /// Uniform on `±sqrt(3 / fan_in)` (`LecunUniform`).
    LecunUniform, 1.0, FanIn, Uniform
);

/// Normal samples (`RandomNormal(mean=0.0, stddev=0.05)` by default).
#[derive(Debug, Clone, PartialEq)]
pub struct RandomNormal {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stddev: f64,
    /// Seed (tf-keras's values for it; None: this thread's generator).
    pub seed: Option<u64>,
}

impl RandomNormal {
    /// Keras's defaults: mean 0, stddev 0.05.
    pub fn new() -> Self {
        Self::with(0.0, 0.05)
    }
    /// Mean and stddev.
    pub fn with(mean: f64, stddev: f64) -> Self {
        RandomNormal {
            mean,
            stddev,
            seed: None,
        }
    }
    /// The same initializer with a seed: tf-keras's values for it (TensorFlow's stateless
    /// random numbers with the seed pair `[seed, 0]`), the same on every call.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

impl Default for RandomNormal {
    fn default() -> Self {
        Self::new()
    }
}

impl Initializer for RandomNormal {
    fn get_config(&self) -> Option<serde_json::Value> {
        keras_object(
            "RandomNormal",
            serde_json::json!({"mean": self.mean, "stddev": self.stddev, "seed": self.seed}),
        )
    }

    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        draw(
            "RandomNormal",
            self.seed,
            shape,
            dtype,
            Draw::Normal(self.mean, self.stddev),
        )
    }
}

/// Normal samples redrawn outside two standard deviations (`TruncatedNormal(mean=0.0,
/// stddev=0.05)` by default; `stddev` is that of the normal before truncation, as in Keras).
#[derive(Debug, Clone, PartialEq)]
pub struct TruncatedNormal {
    /// Mean.
    pub mean: f64,
    /// Standard deviation of the normal before truncation.
    pub stddev: f64,
    /// Seed (tf-keras's values for it; None: this thread's generator).
    pub seed: Option<u64>,
}

impl TruncatedNormal {
    /// Keras's defaults: mean 0, stddev 0.05.
    pub fn new() -> Self {
        Self::with(0.0, 0.05)
    }
    /// Mean and stddev.
    pub fn with(mean: f64, stddev: f64) -> Self {
        TruncatedNormal {
            mean,
            stddev,
            seed: None,
        }
    }
    /// The same initializer with a seed: tf-keras's values for it (TensorFlow's stateless
    /// random numbers with the seed pair `[seed, 0]`), the same on every call.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

impl Default for TruncatedNormal {
    fn default() -> Self {
        Self::new()
    }
}

impl Initializer for TruncatedNormal {
    fn get_config(&self) -> Option<serde_json::Value> {
        keras_object(
            "TruncatedNormal",
            serde_json::json!({"mean": self.mean, "stddev": self.stddev, "seed": self.seed}),
        )
    }

    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        draw(
            "TruncatedNormal",
            self.seed,
            shape,
            dtype,
            Draw::Truncated(self.mean, self.stddev),
        )
    }
}

/// Uniform samples on `[minval, maxval)` (`RandomUniform(minval=-0.05, maxval=0.05)` by default).
#[derive(Debug, Clone, PartialEq)]
pub struct RandomUniform {
    /// Lower bound.
    pub minval: f64,
    /// Upper bound.
    pub maxval: f64,
    /// Seed (tf-keras's values for it; None: this thread's generator).
    pub seed: Option<u64>,
}

impl RandomUniform {
    /// Keras's defaults: −0.05 to 0.05.
    pub fn new() -> Self {
        Self::with(-0.05, 0.05)
    }
    /// The bounds.
    pub fn with(minval: f64, maxval: f64) -> Self {
        RandomUniform {
            minval,
            maxval,
            seed: None,
        }
    }
    /// The same initializer with a seed: tf-keras's values for it (TensorFlow's stateless
    /// random numbers with the seed pair `[seed, 0]`), the same on every call.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

impl Default for RandomUniform {
    fn default() -> Self {
        Self::new()
    }
}

impl Initializer for RandomUniform {
    fn get_config(&self) -> Option<serde_json::Value> {
        keras_object(
            "RandomUniform",
            serde_json::json!({"minval": self.minval, "maxval": self.maxval, "seed": self.seed}),
        )
    }

    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let (lo, hi) = (self.minval, self.maxval);
        if lo > hi || lo.is_nan() || hi.is_nan() {
            return Err(Error::Invalid {
                what: "RandomUniform",
                message: format!("minval {lo} must not exceed maxval {hi}"),
            });
        }
        draw(
            "RandomUniform",
            self.seed,
            shape,
            dtype,
            Draw::Uniform(lo, hi),
        )
    }
}

/// An orthogonal matrix (`Orthogonal(gain=1.0)`): Keras's recipe — a standard normal matrix of
/// shape `(max(rows, cols), min(rows, cols))`, `rows` the product of all but the last dimension
/// and `cols` the last, factored as `Q R` (reduced QR), `Q`'s columns multiplied by the signs of
/// `R`'s diagonal (so `Q` is unique), transposed when `rows < cols`, reshaped to the weight's
/// shape and multiplied by `gain`. The shape must have rank 2 or more, as in Keras.
///
/// Seeded, the normal matrix is TensorFlow's (`stateless_normal` with `[seed, 0]`), bit for bit;
/// the factorization is ours (Householder, in float64), where TensorFlow's is Eigen's in the
/// dtype, so the values agree with tf-keras's to rounding (float32: a few ulps), not bit for bit.
///
/// ```
/// use tapegrad_autodiff::DType;
/// use tapegrad_nn::initializers::{Initializer, Orthogonal};
/// let q = Orthogonal::new().seed(11).init(&[3, 5], DType::F64)?.to_vec::<f64>()?;
/// // the rows are orthonormal
/// let dot = |i: usize, j: usize| (0..5).map(|k| q[i * 5 + k] * q[j * 5 + k]).sum::<f64>();
/// assert!((dot(0, 0) - 1.0).abs() < 1e-12 && dot(0, 2).abs() < 1e-12);
/// assert!(Orthogonal::new().init(&[4], DType::F32).is_err());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Orthogonal {
    /// The factor the orthogonal matrix is multiplied by.
    pub gain: f64,
    /// Seed (the normal matrix tf-keras draws for it; None: this thread's generator).
    pub seed: Option<u64>,
}

impl Orthogonal {
    /// Keras's default: gain 1.
    pub fn new() -> Self {
        Self::with_gain(1.0)
    }
    /// A gain.
    pub fn with_gain(gain: f64) -> Self {
        Orthogonal { gain, seed: None }
    }
    /// The same initializer with a seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

impl Default for Orthogonal {
    fn default() -> Self {
        Self::new()
    }
}

impl Initializer for Orthogonal {
    fn get_config(&self) -> Option<serde_json::Value> {
        keras_object(
            "Orthogonal",
            serde_json::json!({"gain": self.gain, "seed": self.seed}),
        )
    }

    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        const OP: &str = "Orthogonal";
        let Some((&cols, rest)) = shape.split_last().filter(|_| shape.len() >= 2) else {
            return Err(Error::Invalid {
                what: OP,
                message: format!(
                    "the tensor to initialize must be at least two-dimensional, received shape {shape:?}"
                ),
            });
        };
        tt::element_count(OP, shape, DType::F64)?;
        let rows: usize = rest.iter().product();
        let (m, n) = (rows.max(cols), rows.min(cols));
        let a = draw(OP, self.seed, &[m, n], dtype, Draw::Normal(0.0, 1.0))?.to_f64_vec();
        let q = orthonormal_columns(a, m, n);
        // q is (m, n) row-major; Keras transposes it when rows < cols
        let values: Vec<f64> = if rows < cols {
            (0..n)
                .flat_map(|i| (0..m).map(move |j| (i, j)))
                .map(|(i, j)| q[j * n + i])
                .collect()
        } else {
            q
        };
        let q = tensor(values, shape, dtype)?;
        // gain * q in the dtype, as TensorFlow multiplies a Python float by a tensor
        Ok(Tensor::new(
            q.value().mul(&tt::Array::scalar_of(dtype, self.gain))?,
        ))
    }
}

/// The `Q` of the reduced QR factorization of the row-major `m × n` matrix `a` (`m ≥ n`), its
/// column `k` multiplied by the sign of `R[k][k]` (0 when that is 0, as `tf.sign`): Householder
/// reflections in float64.
fn orthonormal_columns(mut a: Vec<f64>, m: usize, n: usize) -> Vec<f64> {
    let mut reflectors: Vec<Vec<f64>> = Vec::with_capacity(n);
    let mut signs = Vec::with_capacity(n);
    for k in 0..n {
        let norm = (k..m).map(|i| a[i * n + k].powi(2)).sum::<f64>().sqrt();
        let x0 = a[k * n + k];
        // R[k][k] = alpha, reflecting x onto alpha e_k with alpha of x0's opposite sign
        let alpha = if x0 >= 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..m).map(|i| a[i * n + k]).collect();
        v[0] -= alpha;
        let vnorm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if vnorm > 0.0 {
            v.iter_mut().for_each(|x| *x /= vnorm);
            for j in k..n {
                let dot: f64 = (k..m).map(|i| v[i - k] * a[i * n + j]).sum();
                (k..m).for_each(|i| a[i * n + j] -= 2.0 * v[i - k] * dot);
            }
        }
        signs.push(if alpha > 0.0 {
            1.0
        } else if alpha < 0.0 {
            -1.0
        } else {
            0.0
        });
        reflectors.push(v);
    }
    // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity
    let mut q = vec![0.0; m * n];
    (0..n).for_each(|i| q[i * n + i] = 1.0);
    for k in (0..n).rev() {
        let v = &reflectors[k];
        for j in 0..n {
            let dot: f64 = (k..m).map(|i| v[i - k] * q[i * n + j]).sum();
            (k..m).for_each(|i| q[i * n + j] -= 2.0 * v[i - k] * dot);
        }
    }
    for i in 0..m {
        for (j, s) in signs.iter().enumerate() {
            q[i * n + j] *= s;
        }
    }
    q
}

/// All zeros (`Zeros`, Keras's default bias initializer).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Zeros;

impl Initializer for Zeros {
    fn get_config(&self) -> Option<serde_json::Value> {
        keras_object("Zeros", serde_json::json!({}))
    }

    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        Ok(Tensor::zeros(dtype, shape)?)
    }
}

/// All ones (`Ones`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ones;

impl Initializer for Ones {
    fn get_config(&self) -> Option<serde_json::Value> {
        keras_object("Ones", serde_json::json!({}))
    }

    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        Ok(Tensor::ones(dtype, shape)?)
    }
}

/// Every element `value` (`Constant(value)`).
///
/// ```
/// use tapegrad_nn::initializers::{Constant, Initializer};
/// let t = Constant(2.5).init(&[2], tapegrad_autodiff::DType::F64)?;
/// assert_eq!(t.to_vec::<f64>()?, vec![2.5, 2.5]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Constant(pub f64);

impl Initializer for Constant {
    fn get_config(&self) -> Option<serde_json::Value> {
        keras_object("Constant", serde_json::json!({"value": self.0}))
    }

    fn init(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        Ok(Tensor::full(dtype, shape, self.0)?)
    }
}

/// The names [`get`] knows.
pub const NAMES: [&str; 12] = [
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "lecun_uniform",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "orthogonal",
    "zeros",
    "ones",
];

/// `tf.keras.initializers.get(name)` (unseeded, Keras's default arguments); an unknown name is
/// an error listing the known ones.
///
/// ```
/// let init = tapegrad_nn::initializers::get("he_normal")?;
/// assert!(tapegrad_nn::initializers::get("he").is_err());
/// # let _ = init;
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn get(name: &str) -> Result<Box<dyn Initializer>> {
    Ok(match name {
        "glorot_uniform" => Box::new(GlorotUniform::new()),
        "glorot_normal" => Box::new(GlorotNormal::new()),
        "he_uniform" => Box::new(HeUniform::new()),
        "he_normal" => Box::new(HeNormal::new()),
        "lecun_normal" => Box::new(LecunNormal::new()),
        "lecun_uniform" => Box::new(LecunUniform::new()),
        "random_normal" => Box::new(RandomNormal::new()),
        "random_uniform" => Box::new(RandomUniform::new()),
        "truncated_normal" => Box::new(TruncatedNormal::new()),
        "orthogonal" => Box::new(Orthogonal::new()),
        "zeros" => Box::new(Zeros),
        "ones" => Box::new(Ones),
        _ => return Err(unknown("initializer", name, &NAMES)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(t: &Tensor) -> (f64, f64, f64) {
        let v = t.to_f64_vec();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let max_abs = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        (mean, std, max_abs)
    }

    #[test]
    fn glorot_normal_is_truncated_at_two_stddevs_with_the_target_std() -> Result<()> {
        let t = GlorotNormal::seeded(1).init(&[200, 300], DType::F32)?;
        let (mean, std, max_abs) = stats(&t);
        let target = (2.0f64 / 500.0).sqrt();
        assert!(mean.abs() < 0.002, "{mean}");
        assert!((std / target - 1.0).abs() < 0.01, "{std} vs {target}");
        assert!(max_abs <= 2.0 * target / TRUNCATED_NORMAL_STDDEV_FACTOR + 1e-6);
        assert!(max_abs > 1.9 * target / TRUNCATED_NORMAL_STDDEV_FACTOR);
        Ok(())
    }

    #[test]
    fn uniform_family_fills_its_limit() -> Result<()> {
        let t = HeUniform::seeded(3).init(&[200, 300], DType::F64)?;
        let (_, std, max_abs) = stats(&t);
        let limit = (6.0f64 / 200.0).sqrt();
        assert!(max_abs <= limit && max_abs > 0.999 * limit);
        assert!((std / (limit / 3f64.sqrt()) - 1.0).abs() < 0.01);
        Ok(())
    }

    #[test]
    fn seeds_reproduce_and_differ() -> Result<()> {
        let a = RandomNormal::with(1.0, 2.0)
            .seed(5)
            .init(&[50], DType::F32)?;
        let b = RandomNormal::with(1.0, 2.0)
            .seed(5)
            .init(&[50], DType::F32)?;
        let c = RandomNormal::with(1.0, 2.0)
            .seed(6)
            .init(&[50], DType::F32)?;
        assert!(a.equals(&b) && !a.equals(&c));
        set_seed(11);
        let d = TruncatedNormal::new().init(&[4], DType::F32)?;
        let e = TruncatedNormal::new().init(&[4], DType::F32)?;
        assert!(!d.equals(&e), "the thread generator advances");
        assert!(RandomUniform::with(1.0, 0.0)
            .init(&[1], DType::F32)
            .is_err());
        assert!(VarianceScaling::new(0.0, FanMode::FanIn, ScalingDistribution::Uniform).is_err());
        Ok(())
    }

    #[test]
    fn a_seeded_draw_too_large_names_the_initializer_and_the_shape() {
        let huge = [1usize << 40, 1 << 40];
        for (init, name) in [
            (
                Box::new(GlorotNormal::seeded(1)) as Box<dyn Initializer>,
                "VarianceScaling",
            ),
            (Box::new(RandomUniform::new().seed(1)), "RandomUniform"),
            (Box::new(TruncatedNormal::new().seed(1)), "TruncatedNormal"),
            (Box::new(Orthogonal::new().seed(1)), "Orthogonal"),
        ] {
            let e = init.init(&huge, DType::F32).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains("1099511627776"), "{e}");
        }
    }
}
