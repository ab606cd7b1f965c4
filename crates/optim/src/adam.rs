//! [`Adam`] (with AMSGrad) and [`AdamW`] (`tf.keras.optimizers.Adam`, `AdamW`).

use ndarray::Zip;
use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_tensor::Element;

use crate::check::{check, Allowed};
use crate::optimizer::slot_arrays;
use crate::{LearningRate, Optimizer, OptimizerBase, Result, Slot, StepContext};

/// The hyperparameters and update rule Adam and AdamW share.
#[derive(Debug, Clone, PartialEq)]
struct AdamRule {
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    amsgrad: bool,
}

impl Default for AdamRule {
    fn default() -> Self {
        AdamRule {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        }
    }
}

impl AdamRule {
    /// `beta_1` and `beta_2` in `[0, 1)` (a beta of 1 divides by zero in the bias correction
    /// `1 - beta^t`), `epsilon` finite and ≥ 0.
    fn validate(&self, owner: &str) -> Result<()> {
        check(owner, "beta_1", self.beta_1, Allowed::UnitOpen, "")?;
        check(owner, "beta_2", self.beta_2, Allowed::UnitOpen, "")?;
        check(owner, "epsilon", self.epsilon, Allowed::NonNegative, "")
    }

    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
        let (dtype, shape) = (variable.dtype(), variable.shape());
        let mut slots = vec![
            Slot::full("m", dtype, shape, 0.0)?,
            Slot::full("v", dtype, shape, 0.0)?,
        ];
        if self.amsgrad {
            slots.push(Slot::full("vhat", dtype, shape, 0.0)?);
        }
        Ok(slots)
    }

    /// Keras's dense `update_step`: `alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)`,
    /// `m += (g - m) * (1 - b1)`, `v += (g^2 - v) * (1 - b2)`, `vhat = max(vhat, v)` with
    /// AMSGrad, `w -= m * alpha / (sqrt(v) + eps)`.
    fn step<T: Element>(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        let g = gradient.value().view::<T>()?;
        let lr = T::from_f64(f64::from(step.learning_rate));
        let local_step = T::from_f64((step.iterations + 1) as f64);
        let beta_1_power = T::from_f64(self.beta_1).powf(local_step);
        let beta_2_power = T::from_f64(self.beta_2).powf(local_step);
        let one = T::one();
        let alpha = lr * (one - beta_2_power).sqrt() / (one - beta_1_power);
        // Python floats: `1 - beta` is computed in double precision, then meets the tensor.
        let c1 = T::from_f64(1.0 - self.beta_1);
        let c2 = T::from_f64(1.0 - self.beta_2);
        let epsilon = T::from_f64(self.epsilon);
        let update = |m: &mut ndarray::ArrayD<T>, v: &mut ndarray::ArrayD<T>| {
            Zip::from(&mut *m)
                .and(&mut *v)
                .and(&g)
                .for_each(|m, v, &g| {
                    *m = *m + (g - *m) * c1;
                    *v = *v + (g * g - *v) * c2;
                });
        };
        // `variable -= m * alpha / (sqrt(v) + epsilon)` in place: the same arithmetic as a delta
        // array then `assign_sub`, without the temporary.
        let apply = |m: &ndarray::ArrayD<T>, v: &ndarray::ArrayD<T>| {
            variable.update_elements::<T>(|w| {
                for ((w, &m), &v) in w.iter_mut().zip(m.iter()).zip(v.iter()) {
                    *w = *w - m * alpha / (v.sqrt() + epsilon);
                }
            })
        };
        if self.amsgrad {
            let [m, v, vhat] = slot_arrays::<T, 3>(variable, slots)?;
            update(m, v);
            Zip::from(&mut *vhat).and(&*v).for_each(|h, &v| {
                if *h < v {
                    *h = v
                }
            });
            apply(m, vhat)?;
        } else {
            let [m, v] = slot_arrays::<T, 2>(variable, slots)?;
            update(m, v);
            apply(m, v)?;
        }
        Ok(())
    }
}

/// Implements the Adam-style builders and the `Optimizer` trait for `$ty` (which has `base`
/// and `rule: AdamRule`).
macro_rules! adam_like {
    ($ty:ident, $ctor:literal) => {
        impl $ty {
            /// Exponential decay rate of the first-moment estimates (default 0.9), in `[0, 1)`:
            /// anything else is refused by [`check_settings`](Optimizer::check_settings) (and
            /// so by [`checked`](Optimizer::checked) and by the first `apply_gradients`).
            pub fn beta_1(mut self, beta_1: f64) -> Self {
                self.rule.beta_1 = beta_1;
                self
            }

            /// Exponential decay rate of the second-moment estimates (default 0.999), in
            /// `[0, 1)`.
            pub fn beta_2(mut self, beta_2: f64) -> Self {
                self.rule.beta_2 = beta_2;
                self
            }

            /// The epsilon added to `sqrt(v)` (Kingma and Ba's "epsilon hat"; default 1e-7),
            /// finite and ≥ 0.
            pub fn epsilon(mut self, epsilon: f64) -> Self {
                self.rule.epsilon = epsilon;
                self
            }

            /// Whether to use AMSGrad (`vhat = max(vhat, v)`; default false).
            pub fn amsgrad(mut self, amsgrad: bool) -> Self {
                self.rule.amsgrad = amsgrad;
                self
            }
        }

        common_options!($ty, $ctor);

        impl Optimizer for $ty {
            fn base(&self) -> &OptimizerBase {
                &self.base
            }

            fn base_mut(&mut self) -> &mut OptimizerBase {
                &mut self.base
            }

            fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
                self.rule.build_slots(variable)
            }

            fn validate(&self) -> Result<()> {
                self.rule.validate(self.base.name())
            }

            fn update_step(
                &self,
                step: &StepContext,
                gradient: &Tensor,
                variable: &Variable,
                slots: &mut [Slot],
            ) -> Result<()> {
                by_dtype!(variable.dtype(), T => self.rule.step::<T>(step, gradient, variable, slots))
            }
        }
    };
}

/// Adam (`tf.keras.optimizers.Adam`): learning rate 0.001, `beta_1` 0.9, `beta_2` 0.999,
/// `epsilon` 1e-7, no AMSGrad, by default.
///
/// ```
/// use tapegrad_autodiff::{Tensor, Variable};
/// use tapegrad_optim::{Adam, Optimizer, OptimizerExt};
/// let w = Variable::new(1.0f32);
/// let mut opt = Adam::default();
/// opt.apply_gradients([(Some(Tensor::scalar(0.5f32)), &w)])?;
/// // The first step moves by about lr, whatever the gradient's scale.
/// assert!((w.item()? - (1.0 - 0.001)).abs() < 1e-6);
/// assert_eq!(opt.slot(&w, "m").unwrap().item()?, 0.05f32 as f64);
/// let custom = Adam::new(0.05).beta_1(0.8).beta_2(0.95).epsilon(1e-3).amsgrad(true);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Adam {
    base: OptimizerBase,
    rule: AdamRule,
}

impl Adam {
    /// Adam with a learning rate (a number or a schedule) and the other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adam {
            base: OptimizerBase::new("Adam", learning_rate.into()),
            rule: AdamRule::default(),
        }
    }
}

impl Default for Adam {
    /// `Adam()`: learning rate 0.001.
    fn default() -> Self {
        Adam::new(0.001)
    }
}

adam_like!(Adam, "Adam::new(0.1)");

/// AdamW (`tf.keras.optimizers.AdamW`): Adam plus decoupled weight decay
/// `var -= var * weight_decay * lr` before each update; `weight_decay` 0.004 by default.
///
/// ```
/// use tapegrad_autodiff::{Tensor, Variable};
/// use tapegrad_optim::{AdamW, Optimizer, OptimizerExt};
/// let w = Variable::new(1.0f32);
/// let mut opt = AdamW::new(0.1).weight_decay(0.5);
/// opt.apply_gradients([(Some(Tensor::scalar(0.0f32)), &w)])?;
/// assert_eq!(w.item()?, (1.0f32 - 1.0f32 * 0.5 * 0.1) as f64); // decay only: m = 0
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AdamW {
    base: OptimizerBase,
    rule: AdamRule,
}

impl AdamW {
    /// AdamW with a learning rate (a number or a schedule) and the other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        let mut base = OptimizerBase::new("AdamW", learning_rate.into());
        base.set_weight_decay(Some(0.004));
        AdamW {
            base,
            rule: AdamRule::default(),
        }
    }
}

impl Default for AdamW {
    /// `AdamW()`: learning rate 0.001, weight decay 0.004.
    fn default() -> Self {
        AdamW::new(0.001)
    }
}

adam_like!(AdamW, "AdamW::new(0.1)");
