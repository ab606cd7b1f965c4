//! [`RMSprop`] (`tf.keras.optimizers.RMSprop`).

use ndarray::Zip;
use tapegrad_autodiff::Variable;
use tapegrad_tensor::{self as tt, Element};

use crate::optimizer::{assign_sub, slot_arrays};
use crate::{LearningRate, Optimizer, OptimizerBase, Result, Slot, StepContext};

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
/// use tapegrad_optim::{Optimizer, RMSprop};
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

    /// Discounting factor of the old squared gradients (default 0.9).
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }

    /// Momentum coefficient; a `momentum` slot exists only when it is positive (default 0).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// The epsilon added to the denominator (default 1e-7).
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
        gradient: &tt::Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        let g = gradient.view::<T>()?;
        let lr = T::from_f64(f64::from(step.learning_rate));
        let rho = T::from_f64(self.rho);
        let one_minus_rho = T::from_f64(1.0 - self.rho);
        let epsilon = T::from_f64(self.epsilon);
        let (velocity, rest) = slots.split_at_mut(1);
        let [velocity] = slot_arrays::<T, 1>(variable, velocity)?;
        let (momentum, average) = rest.split_at_mut(usize::from(self.momentum > 0.0));
        Zip::from(&mut *velocity)
            .and(&g)
            .for_each(|v, &g| *v = rho * *v + one_minus_rho * (g * g));
        // increment = lr * g * rsqrt(denominator)
        let mut increment = if self.centered {
            let [avg] = slot_arrays::<T, 1>(variable, average)?;
            Zip::from(&mut *avg)
                .and(&g)
                .for_each(|a, &g| *a = rho * *a + one_minus_rho * g);
            Zip::from(&g)
                .and(&*velocity)
                .and(&*avg)
                .map_collect(|&g, &v, &a| lr * g * (T::one() / (v - a * a + epsilon).sqrt()))
        } else {
            Zip::from(&g)
                .and(&*velocity)
                .map_collect(|&g, &v| lr * g * (T::one() / (v + epsilon).sqrt()))
        };
        if self.momentum > 0.0 {
            let [mom] = slot_arrays::<T, 1>(variable, momentum)?;
            let coef = T::from_f64(self.momentum);
            Zip::from(&mut *mom).and(&mut increment).for_each(|m, inc| {
                *m = coef * *m + *inc;
                *inc = *m;
            });
        }
        assign_sub(variable, increment)
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

    fn build_slots(&self, variable: &Variable) -> Vec<Slot> {
        let (dtype, shape) = (variable.dtype(), variable.shape());
        let mut slots = vec![Slot::full("velocity", dtype, &shape, 0.0)];
        if self.momentum > 0.0 {
            slots.push(Slot::full("momentum", dtype, &shape, 0.0));
        }
        if self.centered {
            slots.push(Slot::full("average_gradient", dtype, &shape, 0.0));
        }
        slots
    }
}
