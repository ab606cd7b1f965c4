//! [`Nadam`] (`tf.keras.optimizers.Nadam`).

use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_tensor::{DType, Element};

use crate::check::{check, Allowed};
use crate::optimizer::slot_arrays;
use crate::{Error, LearningRate, Optimizer, OptimizerBase, Result, Slot, StepContext};

/// Nadam, Adam with Nesterov momentum (`tf.keras.optimizers.Nadam`): learning rate 0.001,
/// `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7 by default.
///
/// With `u_t = beta_1 * (1 - 0.5 * 0.96^t)` and the running product `u_product` of the `u_t`
/// (one per optimizer, in the dtype of the first variable, as Keras keeps it):
/// `m += (g - m) * (1 - beta_1)`, `v += (g^2 - v) * (1 - beta_2)`,
/// `m_hat = u_{t+1} * m / (1 - u_product * u_{t+1}) + (1 - u_t) * g / (1 - u_product)`,
/// `v_hat = v / (1 - beta_2^t)`, `w -= m_hat * lr / (sqrt(v_hat) + eps)`.
///
/// ```
/// use tapegrad_autodiff::{Tensor, Variable};
/// use tapegrad_optim::{Nadam, Optimizer, OptimizerExt};
/// let w = Variable::new(1.0f32);
/// let mut opt = Nadam::default();
/// opt.apply_gradients([(Some(Tensor::scalar(0.5f32)), &w)])?;
/// // m_hat = 0.48528 * 0.05 / (1 - 0.468 * 0.48528) + 0.5, v_hat = 0.25
/// assert!((w.item()? - (1.0 - 0.531394 * 0.001 / 0.5)).abs() < 1e-6);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Nadam {
    base: OptimizerBase,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    /// The running product of `u_t` and its dtype, once a step has run.
    u_product: Option<(DType, f64)>,
    /// `u_product` before the current step (the value the current step multiplies).
    u_product_t: f64,
}

impl Nadam {
    /// Nadam with a learning rate (a number or a schedule) and the other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Nadam {
            base: OptimizerBase::new("Nadam", learning_rate.into()),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            u_product: None,
            u_product_t: 1.0,
        }
    }

    /// Exponential decay rate of the first-moment estimates (default 0.9), in `[0, 1)`:
    /// anything else is refused by [`check_settings`](Optimizer::check_settings).
    pub fn beta_1(mut self, beta_1: f64) -> Self {
        self.beta_1 = beta_1;
        self
    }

    /// Exponential decay rate of the second-moment estimates (default 0.999), in `[0, 1)` (1
    /// divides by zero in `v / (1 - beta_2^t)`).
    pub fn beta_2(mut self, beta_2: f64) -> Self {
        self.beta_2 = beta_2;
        self
    }

    /// The epsilon added to `sqrt(v_hat)` (default 1e-7), finite and ≥ 0.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// `beta_1 * (1 - 0.5 * 0.96^step)` in `T`.
    fn u<T: Element>(&self, step: u64) -> T {
        let decay = T::from_f64(0.96);
        T::from_f64(self.beta_1)
            * (T::one() - T::from_f64(0.5) * decay.powf(T::from_f64(step as f64)))
    }

    fn step<T: Element>(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        let [m, v] = slot_arrays::<T, 2>(variable, slots)?;
        let g = gradient.value().view::<T>()?;
        let one = T::one();
        let lr = T::from_f64(f64::from(step.learning_rate));
        let beta_1 = T::from_f64(self.beta_1);
        let beta_2 = T::from_f64(self.beta_2);
        let u_t: T = self.u(step.iterations + 1);
        let u_t_1: T = self.u(step.iterations + 2);
        let u_product_t = T::from_f64(self.u_product_t);
        let u_product_t_1 = u_product_t * u_t_1;
        let beta_2_power = beta_2.powf(T::from_f64((step.iterations + 1) as f64));
        let epsilon = T::from_f64(self.epsilon);
        // `beta_1` and `beta_2` are tensors here, so `1 - beta` is computed in `T`.
        let (c1, c2) = (one - beta_1, one - beta_2);
        // slots and variable advanced in one pass (no delta array)
        Ok(variable.update_elements::<T>(|w| {
            for (((w, m), v), &g) in w
                .iter_mut()
                .zip(m.iter_mut())
                .zip(v.iter_mut())
                .zip(g.iter())
            {
                *m = *m + (g - *m) * c1;
                *v = *v + (g * g - *v) * c2;
                let m_hat =
                    u_t_1 * *m / (one - u_product_t_1) + (one - u_t) * g / (one - u_product_t);
                let v_hat = *v / (one - beta_2_power);
                *w = *w - m_hat * lr / (v_hat.sqrt() + epsilon);
            }
        })?)
    }
}

impl Default for Nadam {
    /// `Nadam()`: learning rate 0.001.
    fn default() -> Self {
        Nadam::new(0.001)
    }
}

common_options!(Nadam, "Nadam::new(0.1)");

impl Optimizer for Nadam {
    fn base(&self) -> &OptimizerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut OptimizerBase {
        &mut self.base
    }

    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
        let (dtype, shape) = (variable.dtype(), variable.shape());
        Ok(vec![
            Slot::full("m", dtype, shape, 0.0)?,
            Slot::full("v", dtype, shape, 0.0)?,
        ])
    }

    /// `beta_1` and `beta_2` in `[0, 1)`, `epsilon` finite and ≥ 0.
    fn validate(&self) -> Result<()> {
        check("Nadam", "beta_1", self.beta_1, Allowed::UnitOpen, "")?;
        check("Nadam", "beta_2", self.beta_2, Allowed::UnitOpen, "")?;
        check("Nadam", "epsilon", self.epsilon, Allowed::NonNegative, "")
    }

    /// Multiplies the running product by this step's `u_t`, once per step.
    fn begin_step(&mut self, step: &StepContext, dtype: DType) -> Result<()> {
        let (dtype, product) = self.u_product.unwrap_or((dtype, 1.0));
        let next = by_dtype!(dtype, T => {
            let u_t: T = self.u(step.iterations + 1);
            (T::from_f64(product) * u_t).to_f64()
        });
        self.u_product = Some((dtype, next));
        self.u_product_t = next;
        Ok(())
    }

    /// `u_product`, the running product of the `u_t` (Keras 3's `_u_product`), 1 before any
    /// step, in the dtype of the variables.
    fn extra_state(&self) -> Vec<(String, Tensor)> {
        let dtype = self
            .u_product
            .map(|(d, _)| d)
            .or_else(|| self.slot_variables().first().map(|(_, t)| t.dtype()))
            .unwrap_or(DType::F32);
        let value = self.u_product.map_or(1.0, |(_, p)| p);
        vec![(
            "u_product".into(),
            Tensor::new(
                tapegrad_tensor::Array::full(dtype, &[], value)
                    .unwrap_or_else(|_| tapegrad_tensor::Array::scalar(1.0f32)),
            ),
        )]
    }

    /// Restores `u_product` (a scalar, as [`set_state`](Optimizer::set_state) checked).
    fn set_extra_state(&mut self, values: &[Tensor]) -> Result<()> {
        if let Some(t) = values.first() {
            let p = t.item()?;
            self.u_product = Some((t.dtype(), p));
            self.u_product_t = p;
        }
        Ok(())
    }

    fn update_step(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        if let Some((dtype, _)) = self.u_product {
            if dtype != variable.dtype() {
                return Err(Error::Slot {
                    variable: variable.name().into(),
                    slot: "u_product".into(),
                    message: format!(
                        "is {dtype} (the dtype of the first variable Nadam updated), the variable is {}; Keras refuses to mix them too",
                        variable.dtype()
                    ),
                });
            }
        }
        by_dtype!(variable.dtype(), T => self.step::<T>(step, gradient, variable, slots))
    }
}
