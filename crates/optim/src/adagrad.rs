//! [`Adagrad`] (`tf.keras.optimizers.Adagrad`).

use ndarray::Zip;
use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_tensor::Element;

use crate::check::{check, Allowed};
use crate::optimizer::slot_arrays;
use crate::{LearningRate, Optimizer, OptimizerBase, Result, Slot, StepContext};

/// Adagrad (`tf.keras.optimizers.Adagrad`): learning rate 0.001,
/// `initial_accumulator_value` 0.1, `epsilon` 1e-7 by default.
///
/// `accumulator += g^2`, `w -= lr * g / sqrt(accumulator + eps)`.
///
/// ```
/// use tapegrad_autodiff::{Tensor, Variable};
/// use tapegrad_optim::{Adagrad, Optimizer, OptimizerExt};
/// let w = Variable::new(1.0f32);
/// let mut opt = Adagrad::new(0.1).initial_accumulator_value(0.0).epsilon(0.0);
/// opt.apply_gradients([(Some(Tensor::scalar(2.0f32)), &w)])?;
/// assert_eq!(w.item()?, 0.9f32 as f64); // 0.1 * 2 / sqrt(4)
/// assert_eq!(opt.slot(&w, "accumulator").unwrap().item()?, 4.0);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Adagrad {
    base: OptimizerBase,
    initial_accumulator_value: f64,
    epsilon: f64,
}

impl Adagrad {
    /// Adagrad with a learning rate (a number or a schedule) and the other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adagrad {
            base: OptimizerBase::new("Adagrad", learning_rate.into()),
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
        }
    }

    /// The accumulators' starting value (default 0.1), finite and ≥ 0 (a negative one takes
    /// the square root of a negative number): anything else is refused by
    /// [`check_settings`](Optimizer::check_settings).
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        self.initial_accumulator_value = value;
        self
    }

    /// The epsilon added under the square root (default 1e-7), finite and ≥ 0.
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
        let [acc] = slot_arrays::<T, 1>(variable, slots)?;
        let g = gradient.value().view::<T>()?;
        let lr = T::from_f64(f64::from(step.learning_rate));
        let epsilon = T::from_f64(self.epsilon);
        Zip::from(&mut *acc)
            .and(&g)
            .for_each(|a, &g| *a = *a + g * g);
        // `variable -= lr * g / sqrt(acc + epsilon)` in place (no delta array)
        Ok(variable.update_elements::<T>(|w| {
            for ((w, &g), &a) in w.iter_mut().zip(g.iter()).zip(acc.iter()) {
                *w = *w - lr * g / (a + epsilon).sqrt();
            }
        })?)
    }
}

impl Default for Adagrad {
    /// `Adagrad()`: learning rate 0.001.
    fn default() -> Self {
        Adagrad::new(0.001)
    }
}

common_options!(Adagrad, "Adagrad::new(0.1)");

impl Optimizer for Adagrad {
    base_and_step!();

    /// `initial_accumulator_value` and `epsilon` finite and ≥ 0.
    fn validate(&self) -> Result<()> {
        let value = self.initial_accumulator_value;
        check(
            "Adagrad",
            "initial_accumulator_value",
            value,
            Allowed::NonNegative,
            "",
        )?;
        check("Adagrad", "epsilon", self.epsilon, Allowed::NonNegative, "")
    }

    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
        Ok(vec![Slot::full(
            "accumulator",
            variable.dtype(),
            variable.shape(),
            self.initial_accumulator_value,
        )?])
    }
}
