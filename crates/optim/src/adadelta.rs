//! [`Adadelta`] (`tf.keras.optimizers.Adadelta`).

use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_tensor::Element;

use crate::check::{check, Allowed};
use crate::optimizer::slot_arrays;
use crate::{LearningRate, Optimizer, OptimizerBase, Result, Slot, StepContext};

/// Adadelta (`tf.keras.optimizers.Adadelta`): learning rate 0.001, `rho` 0.95, `epsilon` 1e-7
/// by default (use 1.0 for the paper's form).
///
/// `accumulated_grad = rho * accumulated_grad + (1 - rho) * g^2`,
/// `delta = -sqrt(accumulated_delta_var + eps) * g / sqrt(accumulated_grad + eps)`,
/// `accumulated_delta_var = rho * accumulated_delta_var + (1 - rho) * delta^2`, `w += lr * delta`.
///
/// ```
/// use tapegrad_autodiff::{Tensor, Variable};
/// use tapegrad_optim::{Adadelta, Optimizer, OptimizerExt};
/// let w = Variable::new(1.0f32);
/// let mut opt = Adadelta::new(1.0);
/// opt.apply_gradients([(Some(Tensor::scalar(1.0f32)), &w)])?;
/// // delta = -sqrt(1e-7) / sqrt(0.05 + 1e-7): a tiny first step
/// assert!((w.item()? - (1.0 - (1e-7f64 / 0.0500001).sqrt())).abs() < 1e-6);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Adadelta {
    base: OptimizerBase,
    rho: f64,
    epsilon: f64,
}

impl Adadelta {
    /// Adadelta with a learning rate (a number or a schedule) and the other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adadelta {
            base: OptimizerBase::new("Adadelta", learning_rate.into()),
            rho: 0.95,
            epsilon: 1e-7,
        }
    }

    /// The decay rate (default 0.95), in `[0, 1)` (with 1 the accumulators never take a
    /// gradient in): anything else is refused by [`check_settings`](Optimizer::check_settings).
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }

    /// The epsilon under the square roots (default 1e-7), finite and > 0: with 0 every
    /// delta is `-sqrt(0) * g / ...`, so the variables never move (or become NaN where the
    /// gradient is 0).
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
        let [acc_grad, acc_delta] = slot_arrays::<T, 2>(variable, slots)?;
        let g = gradient.value().view::<T>()?;
        let lr = T::from_f64(f64::from(step.learning_rate));
        let rho = T::from_f64(self.rho);
        let one_minus_rho = T::from_f64(1.0 - self.rho);
        let epsilon = T::from_f64(self.epsilon);
        // slots and variable advanced in one pass (no delta array): var + lr * dv, as Keras's
        // `variable.assign_add(lr * delta_var)`
        Ok(variable.update_elements::<T>(|w| {
            for (((w, ag), ad), &g) in w
                .iter_mut()
                .zip(acc_grad.iter_mut())
                .zip(acc_delta.iter_mut())
                .zip(g.iter())
            {
                *ag = rho * *ag + one_minus_rho * g * g;
                let dv = -(*ad + epsilon).sqrt() * g / (*ag + epsilon).sqrt();
                *ad = rho * *ad + one_minus_rho * dv * dv;
                *w = *w + lr * dv;
            }
        })?)
    }
}

impl Default for Adadelta {
    /// `Adadelta()`: learning rate 0.001.
    fn default() -> Self {
        Adadelta::new(0.001)
    }
}

common_options!(Adadelta, "Adadelta::new(1.0)");

impl Optimizer for Adadelta {
    base_and_step!();

    /// `rho` in `[0, 1)`, `epsilon` finite and > 0.
    fn validate(&self) -> Result<()> {
        check("Adadelta", "rho", self.rho, Allowed::UnitOpen, "")?;
        check("Adadelta", "epsilon", self.epsilon, Allowed::Positive, "")
    }

    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
        let (dtype, shape) = (variable.dtype(), variable.shape());
        Ok(vec![
            Slot::full("accumulated_grad", dtype, shape, 0.0)?,
            Slot::full("accumulated_delta_var", dtype, shape, 0.0)?,
        ])
    }
}
