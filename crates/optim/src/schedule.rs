//! Learning-rate schedules (`tf.keras.optimizers.schedules`) and [`LearningRate`], what an
//! optimizer's `learning_rate` argument accepts.
//!
//! Every built-in schedule computes in float32, in the order tf-keras 2.21 writes its formula:
//! Keras converts the Python-float `initial_learning_rate` to a float32 tensor and does all the
//! arithmetic in its dtype.

use std::f32::consts::PI;
use std::fmt;
use std::sync::Arc;

use crate::check::{check, Allowed};
use crate::{Error, Result};

/// A learning rate that depends on the optimizer step (`LearningRateSchedule.__call__(step)`).
///
/// Optimizers evaluate it at their `iterations` counter at the start of every
/// `apply_gradients` and round the value to float32, as Keras's `current_learning_rate` variable.
///
/// ```
/// use tapegrad_optim::{LearningRateSchedule, Optimizer, OptimizerExt, Sgd};
/// #[derive(Debug)]
/// struct Halving;
/// impl LearningRateSchedule for Halving {
///     fn at(&self, step: u64) -> f64 {
///         0.5f64.powi(step as i32)
///     }
/// }
/// let opt = Sgd::new(Halving);
/// assert_eq!(opt.learning_rate(), 1.0);
/// ```
pub trait LearningRateSchedule: fmt::Debug + Send + Sync {
    /// The learning rate at `step` (the number of updates applied before this one).
    fn at(&self, step: u64) -> f64;

    /// Checks the settings given after `new` (builder methods such as `alpha` or `t_mul`),
    /// naming the first bad one, its range and its value. An optimizer calls it in
    /// [`check_settings`](crate::Optimizer::check_settings), before every step. Accepts by
    /// default.
    ///
    /// ```
    /// use tapegrad_optim::{CosineDecay, LearningRateSchedule};
    /// assert!(CosineDecay::new(0.1, 10)?.alpha(0.1).validate().is_ok());
    /// let err = CosineDecay::new(0.1, 10)?.alpha(f64::NAN).validate().unwrap_err();
    /// assert_eq!(err.to_string(), "CosineDecay: `alpha` must be between 0 and 1, got NaN");
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// The schedule itself when [`validate`](LearningRateSchedule::validate) accepts it: ends a
    /// chain of builder methods so that a bad setting is refused where the schedule is built.
    ///
    /// ```
    /// use tapegrad_optim::{CosineDecayRestarts, LearningRateSchedule};
    /// let s = CosineDecayRestarts::new(0.1, 4)?.t_mul(2.0).checked()?;
    /// assert_eq!(s.at(0) as f32, 0.1);
    /// let err = CosineDecayRestarts::new(0.1, 4)?.t_mul(-2.0).checked().unwrap_err();
    /// assert_eq!(err.to_string(), "CosineDecayRestarts: `t_mul` must be a finite number > 0, got -2");
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn checked(self) -> Result<Self>
    where
        Self: Sized,
    {
        self.validate()?;
        Ok(self)
    }
}

/// The learning rate of an optimizer: a constant or a schedule.
///
/// `f32` and `f64` convert into a constant (kept as float32, as Keras's `learning_rate`
/// variable), and each schedule converts into [`LearningRate::Schedule`].
///
/// ```
/// use tapegrad_optim::{ExponentialDecay, LearningRate};
/// let c: LearningRate = 0.1.into();
/// assert_eq!(c.at(7), 0.1f32);
/// let s: LearningRate = ExponentialDecay::new(0.1, 5, 0.5)?.into();
/// assert_eq!(s.at(5), 0.05f32);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub enum LearningRate {
    /// The same rate at every step (rounded to float32).
    Constant(f32),
    /// A rate evaluated at the optimizer's step.
    Schedule(Arc<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The rate at `step`, as the float32 an optimizer uses.
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRate::Constant(v) => *v,
            LearningRate::Schedule(s) => s.at(step) as f32,
        }
    }
}

impl From<f32> for LearningRate {
    fn from(v: f32) -> Self {
        LearningRate::Constant(v)
    }
}

impl From<f64> for LearningRate {
    fn from(v: f64) -> Self {
        LearningRate::Constant(v as f32)
    }
}

impl From<Arc<dyn LearningRateSchedule>> for LearningRate {
    fn from(s: Arc<dyn LearningRateSchedule>) -> Self {
        LearningRate::Schedule(s)
    }
}

/// Any schedule, built-in or user-defined, converts into a learning rate.
impl<S: LearningRateSchedule + 'static> From<S> for LearningRate {
    fn from(s: S) -> Self {
        LearningRate::Schedule(Arc::new(s))
    }
}

/// The checks every decay schedule makes where it is built: an initial rate finite and ≥ 0
/// (a learning rate's range) and a positive number of decay steps (a zero divides by zero at
/// the first step).
fn check_decay(
    owner: &str,
    initial_learning_rate: f64,
    steps_name: &'static str,
    steps: u64,
) -> Result<()> {
    check(
        owner,
        "initial_learning_rate",
        initial_learning_rate,
        Allowed::NonNegative,
        "",
    )?;
    if steps == 0 {
        return Err(Error::Config {
            owner: owner.into(),
            parameter: steps_name,
            message: "must be at least 1, got 0 (the schedule divides the step by it)".into(),
        });
    }
    Ok(())
}

/// A decay rate finite and ≥ 0: a negative one makes the rate negative (or NaN, raised to a
/// fractional power).
fn check_rate(owner: &str, decay_rate: f64) -> Result<()> {
    check(owner, "decay_rate", decay_rate, Allowed::NonNegative, "")
}

fn f32_of(step: u64) -> f32 {
    step as f32
}

/// `initial_learning_rate * decay_rate ^ (step / decay_steps)`, the division floored when
/// `staircase` (`ExponentialDecay`).
///
/// ```
/// use tapegrad_optim::{ExponentialDecay, LearningRateSchedule};
/// let s = ExponentialDecay::new(0.1, 5, 0.5)?;
/// assert_eq!(s.at(10) as f32, 0.025);
/// assert_eq!(ExponentialDecay::new(0.1, 5, 0.5)?.staircase(true).at(9) as f32, 0.05);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
}

impl ExponentialDecay {
    /// The schedule with `staircase = false`; refused when `decay_steps` is 0 or a rate is
    /// negative or not finite.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Result<Self> {
        check_decay(
            "ExponentialDecay",
            initial_learning_rate,
            "decay_steps",
            decay_steps,
        )?;
        check_rate("ExponentialDecay", decay_rate)?;
        Ok(ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        })
    }

    /// Decays at discrete intervals (`floor(step / decay_steps)`).
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn at(&self, step: u64) -> f64 {
        let init = self.initial_learning_rate as f32;
        let mut p = f32_of(step) / self.decay_steps as f32;
        if self.staircase {
            p = p.floor();
        }
        f64::from(init * (self.decay_rate as f32).powf(p))
    }
}

/// `initial_learning_rate / (1 + decay_rate * step / decay_steps)`, the division floored when
/// `staircase` (`InverseTimeDecay`).
///
/// ```
/// use tapegrad_optim::{InverseTimeDecay, LearningRateSchedule};
/// let s = InverseTimeDecay::new(0.1, 5, 0.5)?;
/// assert_eq!(s.at(10) as f32, 0.05);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct InverseTimeDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
}

impl InverseTimeDecay {
    /// The schedule with `staircase = false`; refused when `decay_steps` is 0 or a rate is
    /// negative or not finite.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Result<Self> {
        check_decay(
            "InverseTimeDecay",
            initial_learning_rate,
            "decay_steps",
            decay_steps,
        )?;
        check_rate("InverseTimeDecay", decay_rate)?;
        Ok(InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        })
    }

    /// Decays at discrete intervals (`floor(step / decay_steps)`).
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for InverseTimeDecay {
    fn at(&self, step: u64) -> f64 {
        let init = self.initial_learning_rate as f32;
        let mut p = f32_of(step) / self.decay_steps as f32;
        if self.staircase {
            p = p.floor();
        }
        let denom = 1.0f32 + (self.decay_rate as f32) * p;
        f64::from(init / denom)
    }
}

/// `values[0]` while `step <= boundaries[0]`, `values[i]` while
/// `boundaries[i-1] < step <= boundaries[i]`, and `values[last]` after the last boundary
/// (`PiecewiseConstantDecay`).
///
/// ```
/// use tapegrad_optim::{LearningRateSchedule, PiecewiseConstantDecay};
/// let s = PiecewiseConstantDecay::new(&[5, 10], &[0.1, 0.05, 0.01])?;
/// assert_eq!([s.at(5), s.at(6), s.at(11)].map(|v| v as f32), [0.1, 0.05, 0.01]);
/// assert!(PiecewiseConstantDecay::new(&[5], &[0.1]).is_err());
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PiecewiseConstantDecay {
    boundaries: Vec<u64>,
    values: Vec<f32>,
}

impl PiecewiseConstantDecay {
    /// The schedule; `values` needs one entry more than `boundaries`, the boundaries must
    /// increase strictly, and the values are learning rates (finite and ≥ 0).
    pub fn new(boundaries: &[u64], values: &[f64]) -> Result<Self> {
        let err = |parameter, message: String| Error::Config {
            owner: "PiecewiseConstantDecay".into(),
            parameter,
            message,
        };
        if boundaries.len() + 1 != values.len() {
            return Err(err(
                "values",
                format!(
                    "must have one more element than `boundaries`: got {} values for {} boundaries",
                    values.len(),
                    boundaries.len()
                ),
            ));
        }
        if boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(err(
                "boundaries",
                format!("must increase strictly, got {boundaries:?}"),
            ));
        }
        if let Some(&v) = values
            .iter()
            .find(|&&v| !(v.is_finite() && v >= 0.0 && (v as f32).is_finite()))
        {
            return Err(err(
                "values",
                format!(
                    "must be finite numbers ≥ 0 in float32 (learning rates), got {v} in {values:?}"
                ),
            ));
        }
        Ok(PiecewiseConstantDecay {
            boundaries: boundaries.to_vec(),
            values: values.iter().map(|&v| v as f32).collect(),
        })
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn at(&self, step: u64) -> f64 {
        let i = self.boundaries.iter().take_while(|&&b| step > b).count();
        f64::from(self.values[i.min(self.values.len() - 1)])
    }
}

/// `(initial - end) * (1 - step / decay_steps) ^ power + end`, with `step` capped at
/// `decay_steps`, or, when `cycle`, `decay_steps` raised to the first multiple above `step`
/// (`PolynomialDecay`).
///
/// ```
/// use tapegrad_optim::{LearningRateSchedule, PolynomialDecay};
/// let s = PolynomialDecay::new(0.1, 10)?.end_learning_rate(0.01).power(2.0);
/// assert_eq!(s.at(10) as f32, 0.01);
/// assert_eq!(s.at(50) as f32, 0.01);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PolynomialDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    end_learning_rate: f64,
    power: f64,
    cycle: bool,
}

impl PolynomialDecay {
    /// The schedule with Keras's defaults: `end_learning_rate = 0.0001`, `power = 1`, no cycle.
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Result<Self> {
        check_decay(
            "PolynomialDecay",
            initial_learning_rate,
            "decay_steps",
            decay_steps,
        )?;
        Ok(PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate: 0.0001,
            power: 1.0,
            cycle: false,
        })
    }

    /// The rate reached after `decay_steps`: finite and ≥ 0 (refused by
    /// [`validate`](LearningRateSchedule::validate) otherwise).
    pub fn end_learning_rate(mut self, end_learning_rate: f64) -> Self {
        self.end_learning_rate = end_learning_rate;
        self
    }

    /// The power of the polynomial: finite and ≥ 0 (a negative power is infinite at
    /// `decay_steps`).
    pub fn power(mut self, power: f64) -> Self {
        self.power = power;
        self
    }

    /// Whether to restart the decay after `decay_steps`.
    pub fn cycle(mut self, cycle: bool) -> Self {
        self.cycle = cycle;
        self
    }
}

impl LearningRateSchedule for PolynomialDecay {
    /// `end_learning_rate` and `power` finite and ≥ 0.
    fn validate(&self) -> Result<()> {
        let owner = "PolynomialDecay";
        check(
            owner,
            "end_learning_rate",
            self.end_learning_rate,
            Allowed::NonNegative,
            "",
        )?;
        check(owner, "power", self.power, Allowed::NonNegative, "")
    }

    fn at(&self, step: u64) -> f64 {
        let init = self.initial_learning_rate as f32;
        let end = self.end_learning_rate as f32;
        let power = self.power as f32;
        let mut s = f32_of(step);
        let mut ds = self.decay_steps as f32;
        if self.cycle {
            let multiplier = if s == 0.0 { 1.0 } else { (s / ds).ceil() };
            ds *= multiplier;
        } else {
            s = s.min(ds);
        }
        let p = s / ds;
        f64::from((init - end) * (1.0 - p).powf(power) + end)
    }
}

/// Cosine decay from the initial rate (or from `warmup_target` after a linear warm-up) to
/// `alpha` times it over `decay_steps` (`CosineDecay`).
///
/// ```
/// use tapegrad_optim::{CosineDecay, LearningRateSchedule};
/// let s = CosineDecay::new(0.1, 10)?.alpha(0.1);
/// assert_eq!(s.at(0) as f32, 0.1);
/// assert_eq!(s.at(10) as f32, 0.1f32 * 0.1f32);
/// let w = CosineDecay::new(0.0, 10)?.warmup(0.2, 5);
/// assert_eq!(w.at(5) as f32, 0.2);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CosineDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    alpha: f64,
    warmup_target: Option<f64>,
    warmup_steps: u64,
}

impl CosineDecay {
    /// The schedule with `alpha = 0` and no warm-up.
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Result<Self> {
        check_decay(
            "CosineDecay",
            initial_learning_rate,
            "decay_steps",
            decay_steps,
        )?;
        Ok(CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0,
        })
    }

    /// The final rate as a fraction of the rate the decay starts from, in `[0, 1]` (refused by
    /// [`validate`](LearningRateSchedule::validate) otherwise).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// A linear warm-up from the initial rate to `warmup_target` over `warmup_steps` steps,
    /// before the decay (Keras's `warmup_target`, `warmup_steps`); `warmup_target` is a
    /// learning rate, finite and ≥ 0.
    pub fn warmup(mut self, warmup_target: f64, warmup_steps: u64) -> Self {
        self.warmup_target = Some(warmup_target);
        self.warmup_steps = warmup_steps;
        self
    }

    fn decay(&self, step: f32, decay_steps: f32, from: f32) -> f32 {
        let completed_fraction = step / decay_steps;
        let cosine_decayed = 0.5f32 * (1.0f32 + (PI * completed_fraction).cos());
        let decayed = ((1.0 - self.alpha) as f32) * cosine_decayed + self.alpha as f32;
        from * decayed
    }
}

impl LearningRateSchedule for CosineDecay {
    /// `alpha` in `[0, 1]`, `warmup_target` finite and ≥ 0.
    fn validate(&self) -> Result<()> {
        check("CosineDecay", "alpha", self.alpha, Allowed::UnitClosed, "")?;
        if let Some(target) = self.warmup_target {
            check(
                "CosineDecay",
                "warmup_target",
                target,
                Allowed::NonNegative,
                "",
            )?;
        }
        Ok(())
    }

    fn at(&self, step: u64) -> f64 {
        let init = self.initial_learning_rate as f32;
        let ds = self.decay_steps as f32;
        let s = f32_of(step);
        let Some(target) = self.warmup_target else {
            return f64::from(self.decay(s.min(ds), ds, init));
        };
        let target = target as f32;
        let ws = self.warmup_steps as f32;
        let s = s.min(ds + ws);
        f64::from(if s < ws {
            let completed_fraction = s / ws;
            (target - init) * completed_fraction + init
        } else {
            self.decay(s - ws, ds, target)
        })
    }
}

/// Cosine decay with warm restarts (SGDR, `CosineDecayRestarts`): periods of
/// `first_decay_steps * t_mul^i` steps, each starting from `m_mul^i` times the initial rate.
///
/// ```
/// use tapegrad_optim::{CosineDecayRestarts, LearningRateSchedule};
/// let s = CosineDecayRestarts::new(0.1, 4)?.t_mul(2.0).m_mul(0.5).alpha(0.1);
/// assert_eq!(s.at(0) as f32, 0.1);
/// assert_eq!(s.at(4) as f32, 0.055000003); // restart at half the rate
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CosineDecayRestarts {
    initial_learning_rate: f64,
    first_decay_steps: u64,
    t_mul: f64,
    m_mul: f64,
    alpha: f64,
}

impl CosineDecayRestarts {
    /// The schedule with Keras's defaults `t_mul = 2`, `m_mul = 1`, `alpha = 0`.
    pub fn new(initial_learning_rate: f64, first_decay_steps: u64) -> Result<Self> {
        check_decay(
            "CosineDecayRestarts",
            initial_learning_rate,
            "first_decay_steps",
            first_decay_steps,
        )?;
        Ok(CosineDecayRestarts {
            initial_learning_rate,
            first_decay_steps,
            t_mul: 2.0,
            m_mul: 1.0,
            alpha: 0.0,
        })
    }

    /// How much longer each period is than the one before: finite and > 0 (its logarithm
    /// counts the periods).
    pub fn t_mul(mut self, t_mul: f64) -> Self {
        self.t_mul = t_mul;
        self
    }

    /// How much lower each period starts than the one before: finite and ≥ 0.
    pub fn m_mul(mut self, m_mul: f64) -> Self {
        self.m_mul = m_mul;
        self
    }

    /// The final rate of each period, as a fraction of its starting rate, in `[0, 1]`.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
}

impl LearningRateSchedule for CosineDecayRestarts {
    /// `t_mul` finite and > 0, `m_mul` finite and ≥ 0, `alpha` in `[0, 1]`.
    fn validate(&self) -> Result<()> {
        let owner = "CosineDecayRestarts";
        check(owner, "t_mul", self.t_mul, Allowed::Positive, "")?;
        check(owner, "m_mul", self.m_mul, Allowed::NonNegative, "")?;
        check(owner, "alpha", self.alpha, Allowed::UnitClosed, "")
    }

    fn at(&self, step: u64) -> f64 {
        let init = self.initial_learning_rate as f32;
        let fds = self.first_decay_steps as f32;
        let alpha = self.alpha as f32;
        let t_mul = self.t_mul as f32;
        let m_mul = self.m_mul as f32;
        let mut completed_fraction = f32_of(step) / fds;
        let i_restart = if t_mul == 1.0 {
            let i = completed_fraction.floor();
            completed_fraction -= i;
            i
        } else {
            let i = ((1.0f32 - completed_fraction * (1.0f32 - t_mul)).ln() / t_mul.ln()).floor();
            let sum_r = (1.0f32 - t_mul.powf(i)) / (1.0f32 - t_mul);
            completed_fraction = (completed_fraction - sum_r) / t_mul.powf(i);
            i
        };
        let m_fac = m_mul.powf(i_restart);
        let cosine_decayed = 0.5f32 * m_fac * (1.0f32 + (PI * completed_fraction).cos());
        let decayed = (1.0f32 - alpha) * cosine_decayed + alpha;
        f64::from(init * decayed)
    }
}
