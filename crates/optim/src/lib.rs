//! # tapegrad-optim
//!
//! The optimizers of tf-keras 2.21 (`tf.keras.optimizers`): [`Sgd`] (momentum, Nesterov),
//! [`Adam`] (AMSGrad), [`AdamW`], [`RMSprop`] (momentum, centered), [`Adagrad`], [`Adadelta`],
//! [`Nadam`] and [`Adamax`], with Keras's defaults, its gradient clipping (`clipnorm`,
//! `clipvalue`, `global_clipnorm`), weight decay, and the learning-rate schedules of
//! `tf.keras.optimizers.schedules`. Updates are computed in the variable's dtype, in the order
//! Keras writes them.
//!
//! Builder methods take any value; [`Optimizer::check_settings`] (run first by every
//! `apply_gradients`, and by [`Optimizer::checked`] at the end of a builder chain) refuses one
//! out of its range with [`Error::Config`], naming the optimizer, the parameter, the range and
//! the value: learning rates, clipping thresholds, weight decay, epsilons and Adagrad's
//! `initial_accumulator_value` finite and ≥ 0 (Adadelta's epsilon > 0), betas and `rho` in
//! `[0, 1)`, momenta in `[0, 1]`, none beyond float32's largest value. A schedule's `new`
//! checks its arguments, [`LearningRateSchedule::validate`] its builder settings.
//!
//! ```
//! use tapegrad_optim::{Adam, Optimizer};
//! let err = Adam::new(0.001).beta_1(5.0).checked().unwrap_err();
//! assert_eq!(err.to_string(), "Adam: `beta_1` must be ≥ 0 and < 1, got 5");
//! ```
//!
//! Document 000's training loop with an optimizer instead of `assign_sub`:
//!
//! ```
//! use tapegrad_autodiff::{abs, GradientTape, Tensor, Variable};
//! use tapegrad_optim::{Optimizer, OptimizerExt, Sgd};
//! let x = Tensor::from_vec((0..50).map(|i| 2.0 * i as f32).collect(), &[50])?;
//! let y = ((&x * 5.0)? + 3.0)?;
//! let (a, b) = (Variable::new(0.0f32), Variable::new(0.0f32));
//! let mut optimizer = Sgd::new(1e-4);
//! for _ in 0..100 {
//!     let tape = GradientTape::new();
//!     let loss = abs(&y - ((&x * &a)? + &b)?)?;
//!     let grads = tape.gradient(&loss, &[&a, &b])?;
//!     optimizer.apply_gradients(grads.into_iter().zip([&a, &b]))?;
//! }
//! assert_eq!(optimizer.iterations(), 100);
//! // a reaches 5 within ~20 steps and then hovers; b climbs by 0.005 or less a step.
//! assert!((a.item()? - 5.016).abs() < 1e-3 && (b.item()? - 0.152).abs() < 1e-3);
//! # Ok::<(), tapegrad_optim::Error>(())
//! ```
#![warn(missing_docs)]

/// Runs `$body` with `$t` bound to `f32` or `f64` according to a dtype.
macro_rules! by_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            tapegrad_tensor::DType::F32 => {
                type $t = f32;
                $body
            }
            tapegrad_tensor::DType::F64 => {
                type $t = f64;
                $body
            }
        }
    };
}

/// Inside `impl Optimizer for X`: the `base`/`base_mut` accessors of a `base` field and an
/// `update_step` that runs `self.step::<T>` for the variable's dtype.
macro_rules! base_and_step {
    () => {
        fn base(&self) -> &OptimizerBase {
            &self.base
        }

        fn base_mut(&mut self) -> &mut OptimizerBase {
            &mut self.base
        }

        fn update_step(
            &self,
            step: &StepContext,
            gradient: &Tensor,
            variable: &Variable,
            slots: &mut [Slot],
        ) -> Result<()> {
            by_dtype!(variable.dtype(), T => self.step::<T>(step, gradient, variable, slots))
        }
    };
}

/// Inherent builder methods every optimizer shares (Keras's base-class keyword arguments).
macro_rules! common_options {
    ($ty:ident, $ctor:literal) => {
        impl $ty {
            #[doc = concat!("Clips each gradient to an L2 norm of at most `clipnorm` (`tf.clip_by_norm`); ",
                "cannot be combined with `global_clipnorm`.\n\n```\n",
                "use tapegrad_optim::", stringify!($ty), ";\n",
                "let opt = ", $ctor, ".clipnorm(1.0);\n",
                "```")]
            pub fn clipnorm(mut self, clipnorm: f64) -> Self {
                self.base.set_clipnorm(Some(clipnorm));
                self
            }

            #[doc = concat!("Clips each gradient elementwise to `[-clipvalue, clipvalue]`.\n\n```\n",
                "use tapegrad_optim::", stringify!($ty), ";\n",
                "let opt = ", $ctor, ".clipvalue(0.5);\n",
                "```")]
            pub fn clipvalue(mut self, clipvalue: f64) -> Self {
                self.base.set_clipvalue(Some(clipvalue));
                self
            }

            #[doc = concat!("Scales all gradients together so that their global L2 norm is at most ",
                "`global_clipnorm` (`tf.clip_by_global_norm`).\n\n```\n",
                "use tapegrad_optim::", stringify!($ty), ";\n",
                "let opt = ", $ctor, ".global_clipnorm(1.0);\n",
                "```")]
            pub fn global_clipnorm(mut self, global_clipnorm: f64) -> Self {
                self.base.set_global_clipnorm(Some(global_clipnorm));
                self
            }

            #[doc = concat!("What a NaN or infinite gradient does: refused (the default), the step ",
                "skipped, or applied as Keras does.\n\n```\n",
                "use tapegrad_optim::{NonFinite, ", stringify!($ty), "};\n",
                "let opt = ", $ctor, ".non_finite(NonFinite::Skip);\n",
                "```")]
            pub fn non_finite(mut self, non_finite: crate::NonFinite) -> Self {
                self.base.set_non_finite(non_finite);
                self
            }

            #[doc = concat!("Decoupled weight decay: before each update, `var -= var * weight_decay * lr`.\n\n```\n",
                "use tapegrad_autodiff::{Tensor, Variable};\n",
                "use tapegrad_optim::{Optimizer, OptimizerExt, ", stringify!($ty), "};\n",
                "let v = Variable::new(2.0f32);\n",
                "let mut opt = ", $ctor, ".weight_decay(0.5);\n",
                "opt.apply_gradients([(Some(Tensor::scalar(0.0f32)), &v)])?;\n",
                "assert!(v.item()? < 2.0);\n",
                "# Ok::<(), tapegrad_optim::Error>(())\n```")]
            pub fn weight_decay(mut self, weight_decay: f64) -> Self {
                self.base.set_weight_decay(Some(weight_decay));
                self
            }

            #[doc = concat!("Exempts variables from weight decay: those in `var_list`, and those whose name ",
                "contains one of `var_names` (a substring test where Keras uses `re.search`).\n\n```\n",
                "use tapegrad_autodiff::{Tensor, Variable};\n",
                "use tapegrad_optim::{Optimizer, OptimizerExt, ", stringify!($ty), "};\n",
                "let (w, bias) = (Variable::new(2.0f32).with_name(\"w\"), Variable::new(2.0f32).with_name(\"bias\"));\n",
                "let mut opt = ", $ctor, ".weight_decay(0.5).exclude_from_weight_decay(&[], &[\"bias\"]);\n",
                "let zero = || Some(Tensor::scalar(0.0f32));\n",
                "opt.apply_gradients([(zero(), &w), (zero(), &bias)])?;\n",
                "assert!(w.item()? < 2.0);\n",
                "assert_eq!(bias.item()?, 2.0);\n",
                "# Ok::<(), tapegrad_optim::Error>(())\n```")]
            pub fn exclude_from_weight_decay(
                mut self,
                var_list: &[&tapegrad_autodiff::Variable],
                var_names: &[&str],
            ) -> Self {
                self.base.exclude_from_weight_decay(var_list, var_names);
                self
            }
        }
    };
}

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod check;
mod clip;
mod error;
mod nadam;
mod optimizer;
mod rmsprop;
mod schedule;
mod sgd;
mod slot;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use adamax::Adamax;
pub use clip::{clip_by_global_norm, clip_by_norm};
pub use error::{Error, Result};
pub use nadam::Nadam;
pub use optimizer::{
    NonFinite, Optimizer, OptimizerBase, OptimizerExt, OptimizerState, StepContext, TracedApply,
};
pub use rmsprop::RMSprop;
pub use schedule::{
    CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay, LearningRate,
    LearningRateSchedule, PiecewiseConstantDecay, PolynomialDecay,
};
pub use sgd::Sgd;
pub use slot::Slot;

/// Runs the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
