//! [`RMSprop`] (`tf.keras.optimizers.RMSprop`).

use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_tensor::Element;

use crate::check::{check, Allowed};
use crate::optimizer::slot_arrays;
use crate::{Error, LearningRate, Optimizer, OptimizerBase, Result, Slot, StepContext};

/// RMSprop (`tf.keras.optimizers.RMSprop`): learning rate 0.001, `rho` 0.9, no momentum,
/// `epsilon` 1e-7, not centered, by default.
///
/// `velocity = rho * velocity + (1 - rho) * g^2`; centered, also
/// `average_gradient = rho * average_gradient + (1 - rho) * g` and the denominator
/// `velocity - average_gradient^2 + eps` (else `velocity + eps`);
/// `increment = lr * g / sqrt(denominator)`; with momentum,
/// `momentum = momentum_coef * momentum + increment` and `w -= momentum`, else `w -= increment`.
///
/// ```
/// use tapegrad_autodiff::Variable;
/// use tapegrad_optim::{Optimizer, OptimizerExt, RMSprop};
/// let var = Variable::new(10.0f32);
/// let mut opt = RMSprop::new(0.1);
/// opt.minimize(|| (&var * &var)? / 2.0, &[&var])?;
/// assert!((var.item()? - 9.683772).abs() < 1e-5); // Keras's docstring value
/// let centered = RMSprop::default().rho(0.95).momentum(0.9).centered(true);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RMSprop {
    base: OptimizerBase,
    rho: f64,
    momentum: f64,
    epsilon: f64,
    centered: bool,
}

impl RMSprop {
    /// RMSprop with a learning rate (a number or a schedule) and the other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        RMSprop {
            base: OptimizerBase::new("RMSprop", learning_rate.into()),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
        }
    }

    /// Discounting factor of the old squared gradients (default 0.9), in `[0, 1)` (with 1 the
    /// averages never take a gradient in): anything else is refused by
    /// [`check_settings`](Optimizer::check_settings).
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }

    /// Momentum coefficient in `[0, 1]`, as Keras's SGD checks it; a `momentum` slot exists
    /// only when it is positive (default 0).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// The epsilon added to the denominator (default 1e-7), finite and ≥ 0.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Normalize by the estimated variance of the gradient instead of its second moment.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    fn step<T: Element>(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        let g = gradient.value().view::<T>()?;
        let lr = T::from_f64(f64::from(step.learning_rate));
        let rho = T::from_f64(self.rho);
        let one_minus_rho = T::from_f64(1.0 - self.rho);
        let epsilon = T::from_f64(self.epsilon);
        let coef = T::from_f64(self.momentum);
        let (velocity, rest) = slots.split_at_mut(1);
        let (momentum, average) = rest.split_at_mut(usize::from(self.momentum > 0.0));
        let [velocity] = slot_arrays::<T, 1>(variable, velocity)?;
        /// The elements of the one slot in `slots`, if any.
        fn elements<'s, T: Element>(
            variable: &Variable,
            slots: &'s mut [Slot],
        ) -> Result<Option<&'s mut [T]>> {
            let Some(name) = slots.first().map(|s| s.name().to_string()) else {
                return Ok(None);
            };
            let [a] = slot_arrays::<T, 1>(variable, slots)?;
            let elements = a.as_slice_mut().ok_or_else(|| Error::Slot {
                variable: variable.name().into(),
                slot: name,
                message: "is not a row-major array".into(),
            })?;
            Ok(Some(elements))
        }
        let mut momentum = elements::<T>(variable, momentum)?;
        let mut average = if self.centered {
            elements::<T>(variable, average)?
        } else {
            None
        };
        // slots and variable advanced in one pass (no increment array), each element in the
        // order of Keras's ops: velocity, average, increment = lr * g * rsqrt(denominator),
        // momentum, then `variable.assign_sub(increment)`
        Ok(variable.update_elements::<T>(|w| {
            for (i, ((w, v), &g)) in w
                .iter_mut()
                .zip(velocity.iter_mut())
                .zip(g.iter())
                .enumerate()
            {
                *v = rho * *v + one_minus_rho * (g * g);
                let mut increment = match average.as_mut() {
                    Some(avg) => {
                        let a = &mut avg[i];
                        *a = rho * *a + one_minus_rho * g;
                        lr * g * (T::one() / (*v - *a * *a + epsilon).sqrt())
                    }
                    None => lr * g * (T::one() / (*v + epsilon).sqrt()),
                };
                if let Some(mom) = momentum.as_mut() {
                    let m = &mut mom[i];
                    *m = coef * *m + increment;
                    increment = *m;
                }
                *w = *w - increment;
            }
        })?)
    }
}

impl Default for RMSprop {
    /// `RMSprop()`: learning rate 0.001.
    fn default() -> Self {
        RMSprop::new(0.001)
    }
}

common_options!(RMSprop, "RMSprop::new(0.1)");

impl Optimizer for RMSprop {
    base_and_step!();

    /// `rho` in `[0, 1)`, `momentum` in `[0, 1]`, `epsilon` finite and ≥ 0.
    fn validate(&self) -> Result<()> {
        check("RMSprop", "rho", self.rho, Allowed::UnitOpen, "")?;
        check(
            "RMSprop",
            "momentum",
            self.momentum,
            Allowed::UnitClosed,
            "",
        )?;
        check("RMSprop", "epsilon", self.epsilon, Allowed::NonNegative, "")
    }

    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
        let (dtype, shape) = (variable.dtype(), variable.shape());
        let mut slots = vec![Slot::full("velocity", dtype, shape, 0.0)?];
        if self.momentum > 0.0 {
            slots.push(Slot::full("momentum", dtype, shape, 0.0)?);
        }
        if self.centered {
            slots.push(Slot::full("average_gradient", dtype, shape, 0.0)?);
        }
        Ok(slots)
    }
}
