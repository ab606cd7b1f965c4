//! The [`Optimizer`] trait and [`OptimizerBase`], what every optimizer shares with Keras's
//! `Optimizer` base class: learning rate, `iterations`, clipping, weight decay and slots.

use std::borrow::Borrow;
use std::collections::HashMap;

use smallvec::SmallVec;

use tapegrad_autodiff::{GradientTape, Gradients, Tensor, Variable};
use tapegrad_tensor::{self as tt, DType, Element};

use crate::check::{check, Allowed};
use crate::clip::{clip_by_global_norm_of, clip_by_norm_of};
use crate::{Error, LearningRate, Result, Slot};

/// What an update step needs besides the gradient: the learning rate of this step and the
/// number of steps applied before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepContext {
    /// The learning rate of this step, as Keras keeps it: a float32.
    pub learning_rate: f32,
    /// `iterations` before this step (Keras's `self.iterations` inside `update_step`).
    pub iterations: u64,
}

/// What `apply_gradients` does with a gradient that holds a NaN or an infinity.
///
/// ```
/// use tapegrad_autodiff::{Tensor, Variable};
/// use tapegrad_optim::{Error, NonFinite, Optimizer, OptimizerExt, Sgd};
/// let w = Variable::new(1.0).with_name("w");
/// let nan = || Some(Tensor::scalar(f32::NAN));
/// let err = Sgd::new(0.1).apply_gradients([(nan(), &w)]).unwrap_err();
/// assert!(matches!(err, Error::NonFiniteGradient { ref variable, .. } if variable == "w"));
/// let mut skipping = Sgd::new(0.1).non_finite(NonFinite::Skip);
/// skipping.apply_gradients([(nan(), &w)])?;
/// assert_eq!((w.item()?, skipping.iterations(), skipping.warnings().len()), (1.0, 0, 1));
/// Sgd::new(0.1).non_finite(NonFinite::Apply).apply_gradients([(nan(), &w)])?;
/// assert!(w.item()?.is_nan());
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinite {
    /// Refuse the step with [`Error::NonFiniteGradient`], naming the variable; nothing changes.
    #[default]
    Error,
    /// Skip the whole step with a warning: no variable changes and `iterations` stays, as
    /// Keras's `LossScaleOptimizer` does with an overflowed step.
    Skip,
    /// Apply it, as a plain Keras optimizer does (the weights become NaN).
    Apply,
}

#[derive(Debug, Clone)]
struct VarState {
    name: String,
    slots: Vec<Slot>,
}

/// The state every optimizer has: learning rate (constant or schedule), the `iterations`
/// counter, gradient clipping, weight decay, the slots of each variable (created on the first
/// `apply_gradients` that sees the variable, as Keras's `build`), and the warnings issued.
#[derive(Debug, Clone)]
pub struct OptimizerBase {
    name: String,
    learning_rate: LearningRate,
    current_learning_rate: f32,
    iterations: u64,
    clipnorm: Option<f64>,
    clipvalue: Option<f64>,
    global_clipnorm: Option<f64>,
    weight_decay: Option<f64>,
    non_finite: NonFinite,
    exclude_ids: Vec<u64>,
    exclude_names: Vec<String>,
    index: HashMap<u64, usize>,
    states: Vec<VarState>,
    /// The last list's variables (id, index into `states`), in its order: a training loop
    /// passes the same variables in the same order every step, and then finds their states by
    /// position instead of hashing each id.
    order: Vec<(u64, usize)>,
    warnings: Vec<String>,
}

impl OptimizerBase {
    /// A base named `name` (Keras's default names: `SGD`, `Adam`, ...) with a learning rate and
    /// no clipping or weight decay.
    pub fn new(name: &str, learning_rate: LearningRate) -> Self {
        let current_learning_rate = learning_rate.at(0);
        OptimizerBase {
            name: name.into(),
            learning_rate,
            current_learning_rate,
            iterations: 0,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
            weight_decay: None,
            non_finite: NonFinite::Error,
            exclude_ids: Vec::new(),
            exclude_names: Vec::new(),
            index: HashMap::new(),
            states: Vec::new(),
            order: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Clips each gradient to an L2 norm of at most `clipnorm` (`tf.clip_by_norm`).
    pub fn set_clipnorm(&mut self, clipnorm: Option<f64>) {
        self.clipnorm = clipnorm;
    }

    /// Clips each gradient elementwise to `[-clipvalue, clipvalue]`.
    pub fn set_clipvalue(&mut self, clipvalue: Option<f64>) {
        self.clipvalue = clipvalue;
    }

    /// Scales all gradients together to a global L2 norm of at most `global_clipnorm`
    /// (`tf.clip_by_global_norm`).
    pub fn set_global_clipnorm(&mut self, global_clipnorm: Option<f64>) {
        self.global_clipnorm = global_clipnorm;
    }

    /// What a NaN or infinite gradient does (refused by default).
    pub fn set_non_finite(&mut self, non_finite: NonFinite) {
        self.non_finite = non_finite;
    }

    /// Decoupled weight decay: `var -= var * weight_decay * lr` before each update.
    pub fn set_weight_decay(&mut self, weight_decay: Option<f64>) {
        self.weight_decay = weight_decay;
    }

    /// Variables (by identity) and name fragments exempt from weight decay.
    pub fn exclude_from_weight_decay(&mut self, var_list: &[&Variable], var_names: &[&str]) {
        self.exclude_ids = var_list.iter().map(|v| v.id()).collect();
        self.exclude_names = var_names.iter().map(|s| s.to_string()).collect();
    }

    /// The optimizer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configured learning rate (constant or schedule).
    pub fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }

    /// The clipping and weight-decay settings: `(clipnorm, clipvalue, global_clipnorm,
    /// weight_decay)`.
    pub fn regularization(&self) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>) {
        (
            self.clipnorm,
            self.clipvalue,
            self.global_clipnorm,
            self.weight_decay,
        )
    }

    fn config_error(&self, parameter: &'static str, message: String) -> Error {
        Error::Config {
            owner: self.name.clone(),
            parameter,
            message,
        }
    }

    /// Checks the settings every optimizer shares: the learning rate (a constant finite and
    /// ≥ 0, a schedule's own settings by [`LearningRateSchedule::validate`](crate::LearningRateSchedule::validate)); clipping
    /// thresholds and weight decay finite and ≥ 0 (a clipping threshold of 0 turns it off, as
    /// in Keras), none beyond float32's largest value (the float32 updates would use an
    /// infinity); not both `clipnorm` and `global_clipnorm`.
    ///
    /// ```
    /// use tapegrad_optim::{Optimizer, Sgd};
    /// let err = Sgd::new(0.1).weight_decay(f64::NAN).base().validate().unwrap_err();
    /// assert_eq!(err.to_string(), "SGD: `weight_decay` must be a finite number ≥ 0 (0: off), got NaN");
    /// ```
    pub fn validate(&self) -> Result<()> {
        match &self.learning_rate {
            // kept as float32: shown as such (`-0.1`, not `-0.10000000149011612`)
            LearningRate::Constant(lr) => {
                if !(lr.is_finite() && *lr >= 0.0) {
                    return Err(self.config_error(
                        "learning_rate",
                        format!("must be a finite number ≥ 0, got {lr}"),
                    ));
                }
            }
            LearningRate::Schedule(s) => s.validate()?,
        }
        for (parameter, value) in [
            ("clipnorm", self.clipnorm),
            ("clipvalue", self.clipvalue),
            ("global_clipnorm", self.global_clipnorm),
            ("weight_decay", self.weight_decay),
        ] {
            if let Some(v) = value {
                check(&self.name, parameter, v, Allowed::NonNegative, " (0: off)")?;
            }
        }
        if self.clipnorm.is_some() && self.global_clipnorm.is_some() {
            return Err(self.config_error(
                "clipnorm",
                format!(
                    "and `global_clipnorm` cannot both be set (got clipnorm={:?}, global_clipnorm={:?})",
                    self.clipnorm, self.global_clipnorm
                ),
            ));
        }
        Ok(())
    }

    /// Records a warning, printing it to stderr the first time (Keras logs one).
    fn warn(&mut self, message: String) {
        if !self.warnings.contains(&message) {
            eprintln!("WARNING: {message}");
            self.warnings.push(message);
        }
    }

    fn use_weight_decay(&self, variable: &Variable) -> bool {
        !self.exclude_ids.contains(&variable.id())
            && !self
                .exclude_names
                .iter()
                .any(|n| variable.name().contains(n.as_str()))
    }

    /// Whether `_clip_gradients` would change anything.
    fn clips(&self) -> bool {
        [self.clipnorm, self.global_clipnorm, self.clipvalue]
            .iter()
            .any(|c| c.is_some_and(|c| c > 0.0))
    }

    /// Keras's `_clip_gradients`: `clipnorm` if set and positive, else `global_clipnorm`, else
    /// `clipvalue`. `None` when no clipping applies.
    fn clip(&self, grads: &[&tt::Array]) -> Result<Option<Vec<Tensor>>> {
        Ok(self
            .clip_arrays(grads)?
            .map(|c| c.into_iter().map(Tensor::new).collect()))
    }

    fn clip_arrays(&self, grads: &[&tt::Array]) -> Result<Option<Vec<tt::Array>>> {
        if let Some(c) = self.clipnorm.filter(|&c| c > 0.0) {
            return grads
                .iter()
                .map(|g| by_dtype!(g.dtype(), T => clip_by_norm_of::<T>(g, c)))
                .collect::<Result<Vec<_>>>()
                .map(Some);
        }
        if let Some(c) = self.global_clipnorm.filter(|&c| c > 0.0) {
            let dtype = grads.first().map(|g| g.dtype()).unwrap_or_default();
            if let Some(g) = grads.iter().find(|g| g.dtype() != dtype) {
                return Err(self.config_error(
                    "global_clipnorm",
                    format!(
                        "needs gradients of one dtype, got {dtype} and {} (tf.clip_by_global_norm refuses mixed dtypes)",
                        g.dtype()
                    ),
                ));
            }
            return by_dtype!(dtype, T => clip_by_global_norm_of::<T>(grads, c))
                .map(|(g, _)| Some(g));
        }
        if let Some(c) = self.clipvalue.filter(|&c| c > 0.0) {
            return Ok(Some(grads.iter().map(|g| g.clip(-c, c)).collect()));
        }
        Ok(None)
    }

    /// `variable.assign_sub(variable * wd * lr)` for each variable not excluded.
    fn apply_weight_decay(&self, variables: &[&Variable]) -> Result<()> {
        let Some(wd) = self.weight_decay else {
            return Ok(());
        };
        let lr = f64::from(self.current_learning_rate);
        for v in variables.iter().filter(|v| self.use_weight_decay(v)) {
            let decay = by_dtype!(v.dtype(), T => {
                let value = v.snapshot();
                let (wd, lr) = (T::from_f64(wd), T::from_f64(lr));
                value.value().view::<T>().map(|a| tt::Array::from_array(a.mapv(|x| x * wd * lr)))
            })?;
            v.assign_sub(decay)?;
        }
        Ok(())
    }
}

/// An optimizer, as Keras's: [`apply_gradients`](Optimizer::apply_gradients) takes
/// `(gradient, variable)` pairs (a `None` gradient is skipped with a warning),
/// [`minimize`](Optimizer::minimize) computes the gradients with a tape and applies them.
///
/// Implementing an optimizer takes what Keras's subclasses override: the slots a variable needs
/// ([`build_slots`](Optimizer::build_slots), Keras's `build`) and the update of one variable
/// ([`update_step`](Optimizer::update_step)). The provided methods do the rest in Keras's order:
/// learning rate of the step, `None` filtering, clipping, weight decay, updates, `iterations += 1`.
///
/// ```
/// use tapegrad_autodiff::{GradientTape, Variable};
/// use tapegrad_optim::{Optimizer, OptimizerExt, Sgd};
/// let var = Variable::new(1.0f32);
/// let mut opt = Sgd::new(0.1);
/// let tape = GradientTape::new();
/// let loss = ((&var * &var)? / 2.0)?;                  // d loss / d var = var
/// let grads = tape.gradient(&loss, &[&var])?;
/// opt.apply_gradients(grads.into_iter().zip([&var]))?;
/// assert_eq!(var.item()?, 0.9f32 as f64);
/// assert_eq!(opt.iterations(), 1);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
pub trait Optimizer: Send {
    /// The shared state.
    fn base(&self) -> &OptimizerBase;

    /// The shared state, mutably.
    fn base_mut(&mut self) -> &mut OptimizerBase;

    /// The slots a variable needs, created the first time the optimizer sees it.
    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>>;

    /// Updates one variable from its (clipped) gradient; `slots` are the ones
    /// [`build_slots`](Optimizer::build_slots) made for it. The gradient has been checked to have
    /// the variable's shape and dtype.
    fn update_step(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()>;

    /// Called once per step before the updates, with the dtype of the first variable that has a
    /// gradient (Nadam keeps a running product here). Does nothing by default.
    fn begin_step(&mut self, _step: &StepContext, _dtype: DType) -> Result<()> {
        Ok(())
    }

    /// Checks this optimizer's own hyperparameters (momentum, betas, ...). Accepts by default.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Checks every setting, the shared ones ([`OptimizerBase::validate`]: learning rate,
    /// clipping, weight decay) and this optimizer's ([`Optimizer::validate`]), naming the first
    /// bad one and what it allows. Every `apply_gradients` calls it before changing anything;
    /// call it after building an optimizer to refuse a bad setting at once.
    ///
    /// ```
    /// use tapegrad_optim::{Optimizer, Sgd};
    /// assert!(Sgd::new(0.1).clipnorm(1.0).check_settings().is_ok());
    /// let err = Sgd::new(0.1).clipnorm(-1.0).check_settings().unwrap_err();
    /// assert_eq!(err.to_string(), "SGD: `clipnorm` must be a finite number ≥ 0 (0: off), got -1");
    /// ```
    fn check_settings(&self) -> Result<()> {
        self.base().validate()?;
        self.validate()
    }

    /// The optimizer itself when [`check_settings`](Optimizer::check_settings) accepts it: ends
    /// a chain of builder methods so that a bad setting is refused where the optimizer is
    /// built, before any training.
    ///
    /// ```
    /// use tapegrad_optim::{Adam, Error, Optimizer};
    /// let opt = Adam::new(0.01).beta_1(0.8).checked()?;
    /// assert_eq!(opt.learning_rate(), 0.01f32 as f64);
    /// let err = Adam::new(0.01).beta_1(5.0).checked().unwrap_err();
    /// assert!(matches!(err, Error::Config { parameter: "beta_1", .. }));
    /// assert_eq!(err.to_string(), "Adam: `beta_1` must be ≥ 0 and < 1, got 5");
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn checked(self) -> Result<Self>
    where
        Self: Sized,
    {
        self.check_settings()?;
        Ok(self)
    }

    /// The name (`SGD`, `Adam`, ...).
    fn name(&self) -> &str {
        self.base().name()
    }

    /// The number of steps applied (`optimizer.iterations`).
    fn iterations(&self) -> u64 {
        self.base().iterations
    }

    /// The learning rate of the last step (of the next one before any step), widened from the
    /// float32 Keras keeps (`optimizer.learning_rate`).
    fn learning_rate(&self) -> f64 {
        f64::from(self.base().current_learning_rate)
    }

    /// Replaces a constant learning rate (`optimizer.learning_rate = x`); an error when the
    /// optimizer was built with a schedule, as in Keras, and when the rate is not finite and
    /// ≥ 0 in float32 (the rate is then unchanged).
    ///
    /// ```
    /// use tapegrad_optim::{ExponentialDecay, Optimizer, OptimizerExt, Sgd};
    /// let mut opt = Sgd::new(0.1);
    /// opt.set_learning_rate(0.5)?;
    /// assert_eq!(opt.learning_rate(), 0.5);
    /// assert!(Sgd::new(ExponentialDecay::new(0.1, 5, 0.5)?).set_learning_rate(0.5).is_err());
    /// let err = opt.set_learning_rate(-1.0).unwrap_err();
    /// assert_eq!(err.to_string(), "SGD: `learning_rate` must be a finite number ≥ 0, got -1");
    /// assert_eq!(opt.learning_rate(), 0.5);
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        let base = self.base_mut();
        if let LearningRate::Schedule(s) = &base.learning_rate {
            return Err(base.config_error(
                "learning_rate",
                format!("is the schedule {s:?} and cannot be set to a constant"),
            ));
        }
        check(
            &base.name,
            "learning_rate",
            learning_rate,
            Allowed::NonNegative,
            "",
        )?;
        base.learning_rate = LearningRate::Constant(learning_rate as f32);
        base.current_learning_rate = learning_rate as f32;
        Ok(())
    }

    /// A copy of the slot `name` of a variable (`None` before the optimizer has seen the
    /// variable, or when it has no such slot).
    fn slot(&self, variable: &Variable, name: &str) -> Option<Tensor> {
        let base = self.base();
        let i = *base.index.get(&variable.id())?;
        base.states[i]
            .slots
            .iter()
            .find(|s| s.name() == name)
            .map(Slot::to_tensor)
    }

    /// Every slot, named `slot/variable` as Keras names them (`m/w`, `v/w`, ...), in the order
    /// the variables were first seen.
    fn slot_variables(&self) -> Vec<(String, Tensor)> {
        self.base()
            .states
            .iter()
            .flat_map(|st| {
                st.slots
                    .iter()
                    .map(move |s| (format!("{}/{}", s.name(), st.name), s.to_tensor()))
            })
            .collect()
    }

    /// The warnings issued so far (each also printed once to stderr), e.g. for `None` gradients.
    fn warnings(&self) -> &[String] {
        &self.base().warnings
    }

    /// [`apply_gradients`](Optimizer::apply_gradients) for a list already collected; callable on
    /// `dyn Optimizer`. Returns `iterations` after the step.
    fn apply_gradient_list(
        &mut self,
        grads_and_vars: Vec<(Option<Tensor>, &Variable)>,
    ) -> Result<u64> {
        apply_pairs(self, &grads_and_vars)
    }

    /// [`apply_gradient_list`](Optimizer::apply_gradient_list) for pairs in a slice (no list
    /// to collect): what a replayed traced step calls.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tensor, Variable};
    /// use tapegrad_optim::{Optimizer, Sgd};
    /// let w = Variable::new(1.0f32);
    /// let mut sgd = Sgd::new(0.5);
    /// let opt: &mut dyn Optimizer = &mut sgd;
    /// opt.apply_gradient_slice(&[(Some(Tensor::scalar(2.0f32)), &w)])?;
    /// assert_eq!(w.item()?, 0.0);
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn apply_gradient_slice(
        &mut self,
        grads_and_vars: &[(Option<Tensor>, &Variable)],
    ) -> Result<u64> {
        apply_pairs(self, grads_and_vars)
    }

    /// Creates the slots of the variables not seen yet, in their order, as the first
    /// `apply_gradients` would (Keras's `optimizer.build(var_list)`): what a saved
    /// [`state`](Optimizer::state) is loaded into.
    ///
    /// ```
    /// use tapegrad_autodiff::Variable;
    /// use tapegrad_optim::{Adam, Optimizer};
    /// let (w, b) = (Variable::new(1.0f32).with_name("w"), Variable::new(2.0f32).with_name("b"));
    /// let mut opt = Adam::new(0.01);
    /// opt.build(&[&w, &b])?;
    /// let names: Vec<String> = opt.slot_variables().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["m/w", "v/w", "m/b", "v/b"]);
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn build(&mut self, variables: &[&Variable]) -> Result<()> {
        for v in variables {
            build_state(self, v)?;
        }
        Ok(())
    }

    /// What a training resumed later needs: `iterations`, the constant learning rate (none
    /// under a schedule, which `iterations` gives) and every slot
    /// ([`slot_variables`](Optimizer::slot_variables)' names and order).
    ///
    /// ```
    /// use tapegrad_autodiff::{Tensor, Variable};
    /// use tapegrad_optim::{Optimizer, OptimizerExt, Sgd};
    /// let w = Variable::new(1.0f32).with_name("w");
    /// let mut opt = Sgd::new(0.1).momentum(0.9);
    /// opt.apply_gradients([(Some(Tensor::scalar(1.0f32)), &w)])?;
    /// let state = opt.state();
    /// assert_eq!((state.iterations, state.learning_rate), (1, Some(0.1)));
    /// assert_eq!(state.slots[0].0, "m/w");
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn state(&self) -> OptimizerState {
        let base = self.base();
        OptimizerState {
            iterations: base.iterations,
            learning_rate: match base.learning_rate {
                LearningRate::Constant(lr) => Some(lr),
                LearningRate::Schedule(_) => None,
            },
            slots: self.slot_variables(),
            extra: self.extra_state(),
        }
    }

    /// State an optimizer keeps beside its slots, in the order Keras 3 lists it after them
    /// (Nadam's running product `u_product`). None by default.
    fn extra_state(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// Restores [`extra_state`](Optimizer::extra_state) values, already checked by
    /// [`set_state`](Optimizer::set_state) to have its count, shapes and dtypes. Does nothing
    /// by default.
    fn set_extra_state(&mut self, _values: &[Tensor]) -> Result<()> {
        Ok(())
    }

    /// Restores a [`state`](Optimizer::state) into an optimizer with the same slots (built by
    /// [`build`](Optimizer::build) or by training on the same variables): every slot's count,
    /// shape and dtype is checked before anything changes. The slots are matched by position,
    /// their names not compared (a renamed model keeps its optimizer). A learning rate in the
    /// state replaces a constant one; with a schedule it is ignored.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tensor, Variable};
    /// use tapegrad_optim::{Adam, Optimizer, OptimizerExt};
    /// let w = Variable::new(1.0f32).with_name("w");
    /// let mut a = Adam::new(0.01);
    /// a.apply_gradients([(Some(Tensor::scalar(0.5f32)), &w)])?;
    /// let mut b = Adam::new(0.01);
    /// b.build(&[&w])?;
    /// b.set_state(&a.state())?;
    /// assert_eq!(b.iterations(), 1);
    /// assert!(b.slot(&w, "m").unwrap().equals(&a.slot(&w, "m").unwrap()));
    /// let err = Adam::new(0.01).set_state(&a.state()).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "Adam: `state` has 2 slots, the optimizer 0 (build it on the model's variables first)"
    /// );
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn set_state(&mut self, state: &OptimizerState) -> Result<()> {
        let mine = self.state();
        let base = self.base();
        let parts = [
            (
                "slots",
                &mine.slots,
                &state.slots,
                " (build it on the model's variables first)",
            ),
            ("values besides the slots", &mine.extra, &state.extra, ""),
        ];
        for (what, ours, theirs, hint) in parts {
            if ours.len() != theirs.len() {
                let (n, m) = (theirs.len(), ours.len());
                let message = format!("has {n} {what}, the optimizer {m}{hint}");
                return Err(base.config_error("state", message));
            }
            for ((name, a), (_, b)) in ours.iter().zip(theirs) {
                if a.shape() != b.shape() || a.dtype() != b.dtype() {
                    let message = format!(
                        "`{name}` is {} {:?} in the optimizer, {} {:?} in the state",
                        a.dtype(),
                        a.shape(),
                        b.dtype(),
                        b.shape()
                    );
                    return Err(base.config_error("state", message));
                }
            }
        }
        if let Some(lr) = state.learning_rate {
            check(
                self.name(),
                "learning_rate",
                f64::from(lr),
                Allowed::NonNegative,
                "",
            )?;
        }
        let base = self.base_mut();
        let values = state.slots.iter().map(|(_, v)| v);
        let slots = base.states.iter_mut().flat_map(|st| st.slots.iter_mut());
        for (slot, value) in slots.zip(values) {
            by_dtype!(value.dtype(), T => {
                if let (Some(a), Ok(v)) = (slot.array_mut::<T>(), value.value().view::<T>()) {
                    a.assign(&v);
                }
            });
        }
        base.iterations = state.iterations;
        if let (Some(lr), LearningRate::Constant(_)) = (state.learning_rate, &base.learning_rate) {
            base.learning_rate = LearningRate::Constant(lr);
            base.current_learning_rate = lr;
        }
        let extra: Vec<Tensor> = state.extra.iter().map(|(_, t)| t.clone()).collect();
        self.set_extra_state(&extra)
    }
}

/// What every optimizer can do with gradients, for concrete optimizers and `dyn Optimizer`
/// alike: [`apply_gradients`](OptimizerExt::apply_gradients) and
/// [`minimize`](OptimizerExt::minimize). Implemented for every [`Optimizer`]; import it beside
/// it (the crate's and the facade's preludes do).
///
/// ```
/// use tapegrad_autodiff::{GradientTape, Variable};
/// use tapegrad_optim::{Optimizer, OptimizerExt, Sgd};
/// let w = Variable::new(1.0);
/// let mut sgd = Sgd::new(0.5);
/// let opt: &mut dyn Optimizer = &mut sgd;
/// let tape = GradientTape::new();
/// let loss = (&w * 3.0)?;
/// opt.apply_gradients(&tape.gradients(&loss, &[&w])?)?;
/// assert_eq!(w.item()?, -0.5);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
pub trait OptimizerExt: Optimizer {
    /// Applies `(gradient, variable)` pairs, as `optimizer.apply_gradients(zip(grads, vars))`:
    /// computes this step's learning rate, skips `None` gradients with a warning (all `None` is
    /// an error), clips, applies weight decay, updates every variable, and increments
    /// `iterations`, which it returns. An empty list does nothing.
    ///
    /// Every setting is checked ([`check_settings`](Optimizer::check_settings)), every
    /// gradient too (shape, dtype, finite unless [`NonFinite`] says otherwise), and the
    /// learning rate of the step must be finite and ≥ 0, before any variable changes.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tensor, Variable};
    /// use tapegrad_optim::{Error, Optimizer, OptimizerExt, Sgd};
    /// let (a, b) = (Variable::new(1.0f32).with_name("a"), Variable::new(1.0f32).with_name("b"));
    /// let mut opt = Sgd::new(0.5);
    /// opt.apply_gradients([(Some(Tensor::scalar(1.0f32)), &a), (None, &b)])?;
    /// assert_eq!((a.item()?, b.item()?), (0.5, 1.0));
    /// assert_eq!(opt.warnings().len(), 1);
    /// let bad = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let err = opt.apply_gradients([(Some(bad), &a)]).unwrap_err();
    /// assert!(matches!(err, Error::GradientShape { ref variable, .. } if variable == "a"));
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn apply_gradients<'v, I>(&mut self, grads_and_vars: I) -> Result<u64>
    where
        I: IntoIterator<Item = (Option<Tensor>, &'v Variable)>,
    {
        // collected into the kept buffer (the variables held: a reference count each)
        // on the stack for up to 16 variables: no allocation and no reference count a step
        let pairs: SmallVec<[(Option<Tensor>, &Variable); 16]> =
            grads_and_vars.into_iter().collect();
        apply_pairs(self, &pairs)
    }

    /// Computes the gradients of `loss()` with respect to `var_list` on a new tape (which
    /// watches them) and applies them with [`apply_gradients`](Optimizer::apply_gradients)
    /// (`optimizer.minimize(loss, var_list)`). Returns the loss.
    ///
    /// ```
    /// use tapegrad_autodiff::Variable;
    /// use tapegrad_optim::{Optimizer, OptimizerExt, Sgd};
    /// let var = Variable::new(1.0f32);
    /// let mut opt = Sgd::new(0.1).momentum(0.9);
    /// opt.minimize(|| (&var * &var)? / 2.0, &[&var])?;
    /// opt.minimize(|| (&var * &var)? / 2.0, &[&var])?;
    /// assert!((var.item()? - 0.72).abs() < 1e-6); // steps of 0.1, then 0.18
    /// # Ok::<(), tapegrad_optim::Error>(())
    /// ```
    fn minimize<F>(&mut self, loss: F, var_list: &[&Variable]) -> Result<Tensor>
    where
        F: FnOnce() -> tapegrad_autodiff::Result<Tensor>,
    {
        let (loss, grads) = loss_and_gradients(loss, var_list)?;
        self.apply_gradients(&grads)?;
        Ok(loss)
    }
}

impl<O: Optimizer + ?Sized> OptimizerExt for O {}

/// `loss()` on a new tape watching `var_list`, and its gradients.
fn loss_and_gradients<F>(loss: F, var_list: &[&Variable]) -> Result<(Tensor, Gradients)>
where
    F: FnOnce() -> tapegrad_autodiff::Result<Tensor>,
{
    let tape = GradientTape::new();
    for v in var_list {
        tape.watch_variable(v);
    }
    let loss = loss()?;
    let grads = tape.gradients(&loss, var_list)?;
    Ok((loss, grads))
}

/// A boxed optimizer is an optimizer, so `Box<dyn Optimizer>` has `apply_gradients` and
/// `minimize` too.
///
/// ```
/// use tapegrad_autodiff::{Tensor, Variable};
/// use tapegrad_optim::{Adam, Optimizer, OptimizerExt, Sgd};
/// let v = Variable::new(1.0f32);
/// let mut opts: Vec<Box<dyn Optimizer>> = vec![Box::new(Sgd::default()), Box::new(Adam::default())];
/// for opt in &mut opts {
///     opt.apply_gradients([(Some(Tensor::scalar(1.0f32)), &v)])?;
/// }
/// assert!((v.item()? - (1.0 - 0.01 - 0.001)).abs() < 1e-6);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
impl Optimizer for Box<dyn Optimizer> {
    fn base(&self) -> &OptimizerBase {
        (**self).base()
    }
    fn base_mut(&mut self) -> &mut OptimizerBase {
        (**self).base_mut()
    }
    fn build_slots(&self, variable: &Variable) -> Result<Vec<Slot>> {
        (**self).build_slots(variable)
    }
    fn update_step(
        &self,
        step: &StepContext,
        gradient: &Tensor,
        variable: &Variable,
        slots: &mut [Slot],
    ) -> Result<()> {
        (**self).update_step(step, gradient, variable, slots)
    }
    fn begin_step(&mut self, step: &StepContext, dtype: DType) -> Result<()> {
        (**self).begin_step(step, dtype)
    }
    fn validate(&self) -> Result<()> {
        (**self).validate()
    }
    fn extra_state(&self) -> Vec<(String, Tensor)> {
        (**self).extra_state()
    }
    fn set_extra_state(&mut self, values: &[Tensor]) -> Result<()> {
        (**self).set_extra_state(values)
    }
}

/// Borrows the gradient and slot arrays of one variable for an update rule, with the errors a
/// wrong slot would give.
pub(crate) fn slot_arrays<'s, T: Element, const N: usize>(
    variable: &Variable,
    slots: &'s mut [Slot],
) -> Result<[&'s mut ndarray::ArrayD<T>; N]> {
    let shape = variable.shape();
    let found = slots.len();
    let mut out: Vec<&'s mut ndarray::ArrayD<T>> = Vec::with_capacity(N);
    for s in slots.iter_mut() {
        let (name, dtype) = (s.name(), s.dtype());
        let err = |message: String| Error::Slot {
            variable: variable.name().into(),
            slot: name.into(),
            message,
        };
        let a = s.array_mut::<T>().ok_or_else(|| {
            err(format!(
                "has dtype {dtype}, the variable {}",
                variable.dtype()
            ))
        })?;
        if a.shape() != shape {
            return Err(err(format!(
                "has shape {:?}, the variable {shape:?}",
                a.shape()
            )));
        }
        out.push(a);
    }
    out.try_into().map_err(|_| Error::Slot {
        variable: variable.name().into(),
        slot: String::new(),
        message: format!("{N} slots expected, found {found}"),
    })
}

/// What a trace records of an optimizer's `apply_gradients` (a host node): the caller of the
/// replay (`tapegrad::function`) applies the replayed gradients to these variables with the
/// optimizer it holds, whose address at trace time is `optimizer`.
#[derive(Debug, Clone)]
pub struct TracedApply {
    /// The address of the optimizer that applied the gradients at trace time (compared, never
    /// dereferenced).
    pub optimizer: usize,
    /// The variables, in the list's order, each with the position of its gradient among the
    /// node's operands (`None` for a `None` gradient).
    pub variables: Vec<(Variable, Option<usize>)>,
}

/// `apply_gradients` while a trace records: recorded as a [`TracedApply`] host node, then run
/// whole with the recording paused (the replay runs it again, with its own iteration count,
/// learning rate and slots).
fn apply_traced<O: Optimizer + ?Sized, V: Borrow<Variable>>(
    this: &mut O,
    grads_and_vars: &[(Option<Tensor>, V)],
) -> Result<u64> {
    let mut operands = Vec::new();
    let mut variables = Vec::new();
    for (g, v) in grads_and_vars {
        let position = g.as_ref().map(|g| {
            operands.push(g.value());
            operands.len() - 1
        });
        v.borrow().declare_state();
        variables.push((v.borrow().clone(), position));
    }
    let payload = TracedApply {
        optimizer: this as *const O as *const () as usize,
        variables,
    };
    tapegrad_tensor::trace::host("apply_gradients", &operands, Box::new(payload));
    let _whole = tapegrad_tensor::trace::pause();
    apply_pairs(this, grads_and_vars)
}

/// The work of [`Optimizer::apply_gradients`] and [`Optimizer::apply_gradient_list`]: their pairs,
/// each variable borrowed or held. Returns `iterations` after the step.
/// Creates `v`'s slots and its place in the optimizer's states if it has none yet (the first
/// `apply_gradients` on it, or [`Optimizer::build`]).
fn build_state<O: Optimizer + ?Sized>(this: &mut O, v: &Variable) -> Result<()> {
    if !this.base().index.contains_key(&v.id()) {
        let slots = this.build_slots(v)?;
        let base = this.base_mut();
        base.index.insert(v.id(), base.states.len());
        base.states.push(VarState {
            name: v.name().to_string(),
            slots,
        });
    }
    Ok(())
}

fn apply_pairs<O: Optimizer + ?Sized, V: Borrow<Variable>>(
    this: &mut O,
    grads_and_vars: &[(Option<Tensor>, V)],
) -> Result<u64> {
    if tapegrad_tensor::trace::recording() {
        return apply_traced(this, grads_and_vars);
    }
    this.check_settings()?;
    {
        let base = this.base_mut();
        base.current_learning_rate = base.learning_rate.at(base.iterations);
    }
    if grads_and_vars.is_empty() {
        return Ok(this.iterations());
    }
    let same_order = {
        let order = &this.base().order;
        order.len() == grads_and_vars.len()
            && order
                .iter()
                .zip(grads_and_vars)
                .all(|(&(id, _), (_, v))| id == v.borrow().id())
    };
    if !same_order {
        for (_, v) in grads_and_vars {
            build_state(this, v.borrow())?;
        }
        let base = this.base_mut();
        let mut order = std::mem::take(&mut base.order);
        order.clear();
        order.extend(
            grads_and_vars
                .iter()
                .map(|(_, v)| (v.borrow().id(), base.index[&v.borrow().id()])),
        );
        base.order = order;
    }
    let missing: Vec<String> = grads_and_vars
        .iter()
        .filter(|(g, _)| g.is_none())
        .map(|(_, v)| v.borrow().name().to_string())
        .collect();
    if missing.len() == grads_and_vars.len() {
        return Err(Error::NoGradients { variables: missing });
    }
    if !missing.is_empty() {
        this.base_mut().warn(format!(
            "Gradients do not exist for variables {missing:?} when minimizing the loss."
        ));
    }
    let lr = this.base().current_learning_rate;
    let iterations = this.iterations();
    for (g, v) in grads_and_vars {
        let Some(g) = g else { continue };
        if g.dtype() != v.borrow().dtype() {
            return Err(Error::GradientDType {
                variable: v.borrow().name().into(),
                gradient: g.dtype(),
                expected: v.borrow().dtype(),
            });
        }
        if !v.borrow().has_shape(g.shape()) {
            return Err(Error::GradientShape {
                variable: v.borrow().name().into(),
                gradient: g.shape().to_vec(),
                expected: v.borrow().shape().to_vec(),
            });
        }
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::LearningRate {
                variable: v.borrow().name().into(),
                value: f64::from(lr),
                iteration: iterations,
            });
        }
        if this.base().non_finite != NonFinite::Apply && !g.value().all_finite() {
            let variable = v.borrow().name().to_string();
            if this.base().non_finite == NonFinite::Skip {
                this.base_mut().warn(format!(
                    "the gradient of `{variable}` is not finite: step {iterations} skipped"
                ));
                return Ok(iterations);
            }
            return Err(Error::NonFiniteGradient {
                variable,
                iteration: iterations,
            });
        }
    }
    // The pairs that have a gradient; nothing below allocates unless clipping or weight
    // decay is configured (plain SGD only walks this iterator).
    let pairs = || {
        grads_and_vars
            .iter()
            .filter_map(|(g, v)| g.as_ref().map(|g| (g, v.borrow())))
    };
    let clipped = if this.base().clips() {
        let grads: Vec<&tt::Array> = pairs().map(|(g, _)| g.value()).collect();
        this.base().clip(&grads)?
    } else {
        None
    };
    if this.base().weight_decay.is_some() {
        let vars: Vec<&Variable> = pairs().map(|(_, v)| v).collect();
        this.base().apply_weight_decay(&vars)?;
    }
    let step = StepContext {
        learning_rate: lr,
        iterations,
    };
    if let Some((g, _)) = pairs().next() {
        this.begin_step(&step, g.dtype())?;
    }
    let mut states = std::mem::take(&mut this.base_mut().states);
    let mut result = Ok(());
    // `order` lists this list's variables (found or rebuilt above); `k` counts the pairs
    // with a gradient, the order of `clipped`
    let order = std::mem::take(&mut this.base_mut().order);
    let with_gradient = grads_and_vars
        .iter()
        .zip(&order)
        .filter_map(|((g, v), &(_, i))| g.as_ref().map(|g| (g, v.borrow(), i)));
    for (k, (g, v, i)) in with_gradient.enumerate() {
        let g = clipped.as_ref().map_or(g, |c| &c[k]);
        let Some(state) = states.get_mut(i) else {
            // only when an update rule applies gradients again from inside this update
            result = Err(Error::Config {
                owner: this.base().name.clone(),
                parameter: "apply_gradients",
                message: "was called again from inside an update step".into(),
            });
            break;
        };
        result = this.update_step(&step, g, v, &mut state.slots);
        if result.is_err() {
            break;
        }
    }
    this.base_mut().states = states;
    this.base_mut().order = order;
    result?;
    this.base_mut().iterations += 1;
    Ok(this.iterations())
}

/// An optimizer's state ([`Optimizer::state`]), what Keras 3 saves as `optimizer.variables`:
/// the step count, the learning rate when it is a constant, and the slots.
#[derive(Debug, Clone)]
pub struct OptimizerState {
    /// `iterations`: the steps applied.
    pub iterations: u64,
    /// The constant learning rate (a float32, as Keras keeps it); `None` under a schedule.
    pub learning_rate: Option<f32>,
    /// Every slot, `slot/variable` (`m/dense/kernel`), variable by variable in the order the
    /// optimizer first saw them, each variable's slots in the order it made them.
    pub slots: Vec<(String, Tensor)>,
    /// What the optimizer keeps beside its slots ([`Optimizer::extra_state`]).
    pub extra: Vec<(String, Tensor)>,
}
