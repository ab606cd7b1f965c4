//! [`Sgd`]: gradient descent with optional (Nesterov) momentum (`tf.keras.optimizers.SGD`).

use ndarray::Zip;
use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_tensor::Element;

use crate::check::{check, Allowed};
use crate::optimizer::slot_arrays;
use crate::{LearningRate, Optimizer, OptimizerBase, Result, Slot, StepContext};

/// Gradient descent (`tf.keras.optimizers.SGD`), learning rate 0.01 by default.
///
/// Without momentum: `w -= lr * g`, done in place by [`Variable::assign_sub_scaled`] (no
/// allocation, no slot). With momentum: `m = -g * lr + m * momentum`, then `w += m`, or with
/// `nesterov`, `w += -g * lr + m * momentum`.
///
/// ```
/// use tapegrad_autodiff::Variable;
/// use tapegrad_optim::{Optimizer, OptimizerExt, Sgd};
/// let var = Variable::new(1.0f32);
/// let mut opt = Sgd::new(0.1);
/// opt.minimize(|| (&var * &var)? / 2.0, &[&var])?; // gradient = var
/// assert_eq!(var.item()?, 0.9f32 as f64);
/// let opt = Sgd::new(0.01).momentum(0.9).nesterov(true);
/// assert_eq!((opt.learning_rate(), opt.get_momentum()), (0.01f32 as f64, 0.9));
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sgd {
    base: OptimizerBase,
    momentum: f64,
    nesterov: bool,
}

impl Sgd {
    /// Plain gradient descent with a learning rate (a number or a schedule).
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Sgd {
            base: OptimizerBase::new("SGD", learning_rate.into()),
            momentum: 0.0,
            nesterov: false,
        }
    }

    /// Momentum in `[0, 1]`, as Keras checks it: anything else (NaN too) is refused by
    /// [`check_settings`](Optimizer::check_settings), so by [`checked`](Optimizer::checked)
    /// and by the first `apply_gradients`.
    ///
    /// ```
    /// use tapegrad_optim::{Optimizer, Sgd};
    /// assert!(Sgd::new(0.1).momentum(0.9).checked().is_ok());
    /// let err = Sgd::new(0.1).momentum(5.0).checked().unwrap_err();
    /// assert_eq!(err.to_string(), "SGD: `momentum` must be between 0 and 1, got 5");
    /// ```
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Nesterov momentum.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// The momentum.
    pub fn get_momentum(&self) -> f64 {
        self.momentum
    }

    /// Whether the momentum is Nesterov's.
    pub fn is_nesterov(&self) -> bool {
        self.nesterov
    }

    fn step<T: Element>(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        let [m] = slot_arrays::<T, 1>(variable, slots)?;
        let g = gradient.value().view::<T>()?;
        let lr = T::from_f64(f64::from(step.learning_rate));
        let momentum = T::from_f64(self.momentum);
        Zip::from(&mut *m)
            .and(&g)
            .for_each(|m, &g| *m = -g * lr + *m * momentum);
        // `variable += m` (or the Nesterov step) in place (no delta array)
        let nesterov = self.nesterov;
        Ok(variable.update_elements::<T>(|w| {
            for ((w, &g), &m) in w.iter_mut().zip(g.iter()).zip(m.iter()) {
                *w = *w + if nesterov { -g * lr + m * momentum } else { m };
            }
        })?)
    }
}

impl Default for Sgd {
    /// `SGD()`: learning rate 0.01, no momentum.
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

common_options!(Sgd, "Sgd::new(0.1)");

impl Optimizer for Sgd {
    fn base(&self) -> &OptimizerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut OptimizerBase {
        &mut self.base
    }

    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
        if self.momentum == 0.0 {
            Ok(Vec::new())
        } else {
            Ok(vec![Slot::full(
                "m",
                variable.dtype(),
                variable.shape(),
                0.0,
            )?])
        }
    }

    fn validate(&self) -> Result<()> {
        check(
            self.base.name(),
            "momentum",
            self.momentum,
            Allowed::UnitClosed,
            "",
        )
    }

    fn update_step(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        if slots.is_empty() {
            // Momentum 0: Keras computes `w += -g * lr + 0 * m`, which is `w - g * lr` bit for
            // bit while everything is finite.
            return Ok(variable.assign_sub_scaled(f64::from(step.learning_rate), gradient)?);
        }
        by_dtype!(variable.dtype(), T => self.step::<T>(step, gradient, variable, slots))
    }
}
