//! [`Adamax`] (`tf.keras.optimizers.Adamax`).

use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_tensor::Element;

use crate::check::{check, Allowed};
use crate::optimizer::slot_arrays;
use crate::{LearningRate, Optimizer, OptimizerBase, Result, Slot, StepContext};

/// Adamax, Adam with the infinity norm (`tf.keras.optimizers.Adamax`): learning rate 0.001,
/// `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7 by default.
///
/// `m += (g - m) * (1 - beta_1)`, `u = max(beta_2 * u, |g|)`,
/// `w -= lr * m / ((1 - beta_1^t) * (u + eps))`.
///
/// ```
/// use tapegrad_autodiff::{Tensor, Variable};
/// use tapegrad_optim::{Adamax, Optimizer, OptimizerExt};
/// let w = Variable::new(1.0f32);
/// let mut opt = Adamax::default();
/// opt.apply_gradients([(Some(Tensor::scalar(-2.0f32)), &w)])?;
/// assert!((w.item()? - 1.001).abs() < 1e-6);
/// assert_eq!(opt.slot(&w, "u").unwrap().item()?, 2.0);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Adamax {
    base: OptimizerBase,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
}

impl Adamax {
    /// Adamax with a learning rate (a number or a schedule) and the other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adamax {
            base: OptimizerBase::new("Adamax", learning_rate.into()),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }

    /// Exponential decay rate of the first-moment estimates (default 0.9), in `[0, 1)` (1
    /// divides by zero in `1 - beta_1^t`): anything else is refused by
    /// [`check_settings`](Optimizer::check_settings).
    pub fn beta_1(mut self, beta_1: f64) -> Self {
        self.beta_1 = beta_1;
        self
    }

    /// Exponential decay rate of the infinity norm (default 0.999), in `[0, 1)`.
    pub fn beta_2(mut self, beta_2: f64) -> Self {
        self.beta_2 = beta_2;
        self
    }

    /// The epsilon added to `u` (default 1e-7), finite and ≥ 0.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    fn step<T: Element>(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        let [m, u] = slot_arrays::<T, 2>(variable, slots)?;
        let g = gradient.value().view::<T>()?;
        let lr = T::from_f64(f64::from(step.learning_rate));
        let local_step = T::from_f64((step.iterations + 1) as f64);
        let beta_1_power = T::from_f64(self.beta_1).powf(local_step);
        let c1 = T::from_f64(1.0 - self.beta_1);
        let beta_2 = T::from_f64(self.beta_2);
        let epsilon = T::from_f64(self.epsilon);
        let one_minus_power = T::one() - beta_1_power;
        // slots and variable advanced in one pass (no delta array)
        Ok(variable.update_elements::<T>(|w| {
            for (((w, m), u), &g) in w
                .iter_mut()
                .zip(m.iter_mut())
                .zip(u.iter_mut())
                .zip(g.iter())
            {
                *m = *m + (g - *m) * c1;
                let decayed = beta_2 * *u;
                let abs = g.abs();
                *u = if decayed < abs { abs } else { decayed };
                *w = *w - lr * *m / (one_minus_power * (*u + epsilon));
            }
        })?)
    }
}

impl Default for Adamax {
    /// `Adamax()`: learning rate 0.001.
    fn default() -> Self {
        Adamax::new(0.001)
    }
}

common_options!(Adamax, "Adamax::new(0.1)");

impl Optimizer for Adamax {
    base_and_step!();

    /// `beta_1` and `beta_2` in `[0, 1)`, `epsilon` finite and ≥ 0.
    fn validate(&self) -> Result<()> {
        check("Adamax", "beta_1", self.beta_1, Allowed::UnitOpen, "")?;
        check("Adamax", "beta_2", self.beta_2, Allowed::UnitOpen, "")?;
        check("Adamax", "epsilon", self.epsilon, Allowed::NonNegative, "")
    }

    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
        let (dtype, shape) = (variable.dtype(), variable.shape());
        Ok(vec![
            Slot::full("m", dtype, shape, 0.0)?,
            Slot::full("u", dtype, shape, 0.0)?,
        ])
    }
}
