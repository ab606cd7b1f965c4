//! [`Variable`]: mutable, shared state that tapes watch (`tf.Variable`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tapegrad_tensor as tt;
use tt::{DType, Element};

use crate::tensor::next_id;
use crate::value_cell::{ValueCell, ValueGuard};
use crate::{tape, Error, IntoOperand, IntoTensor, Result, Tensor};

struct Inner {
    id: u64,
    name: String,
    trainable: bool,
    /// The value's dtype and shape, which no assignment changes: read without the lock.
    dtype: DType,
    shape: Box<[usize]>,
    /// A lock, not a `RefCell`, so that a variable (and the model holding it) can move to
    /// another thread and be read from several.
    value: ValueCell<tt::Array>,
    /// The [`thread_token`] of the thread running an [`Variable::update_elements`] closure on
    /// the value (the only user code that runs while the value is locked), 0 otherwise: that
    /// thread taking the lock again would wait for itself forever.
    updating: AtomicUsize,
    /// Set when that closure used the variable (only its own thread sets it).
    reentered: AtomicBool,
}

thread_local! {
    static TOKEN: u8 = const { 0 };
}

/// A number no other running thread has (the address of a thread-local), never 0.
#[inline]
fn thread_token() -> usize {
    // `try_with` fails only while the thread's locals are being destroyed
    TOKEN
        .try_with(|t| t as *const u8 as usize)
        .unwrap_or(usize::MAX)
}

/// Clears `Inner::updating` when the closure returns or unwinds.
struct Updating<'a>(&'a AtomicUsize);

impl Drop for Updating<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// A shared, mutable tensor (`tf.Variable`). Clones are handles to the same variable; it is
/// `Send` and `Sync`, so a model's variables can move to another thread and train there.
///
/// A Rust float becomes float32, as a Python float does in `tf.Variable(0.0)`; ask for float64
/// with [`Variable::with_dtype`] or an `f64` tensor.
///
/// Reading it ([`Variable::read_value`], or using it as an operand) while a tape records makes
/// the tape watch it when it is trainable. Its value changes only through `assign*`.
///
/// ```
/// use tapegrad_autodiff::Variable;
/// let a = Variable::new(0.0f32).with_name("a");
/// let same = a.clone();
/// a.assign_sub(0.5)?;
/// assert_eq!(same.numpy::<f32>()?.sum(), -0.5);
/// assert_eq!(a.name(), "a");
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
#[derive(Clone)]
pub struct Variable {
    inner: Arc<Inner>,
}

impl Variable {
    /// A trainable variable named `Variable` holding `initial_value`: a scalar (float32 for a
    /// Rust float, as for a Python float), an ndarray array (its dtype), or a tensor.
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor, Variable};
    /// assert_eq!(Variable::new(0.0).dtype(), DType::F32);          // tf.Variable(0.0)
    /// assert_eq!(Variable::new(Tensor::scalar(0.0f64)).dtype(), DType::F64);
    /// assert_eq!(Variable::with_dtype(0.0, DType::F64).dtype(), DType::F64);
    /// ```
    pub fn new(initial_value: impl IntoTensor) -> Self {
        Self::build(
            initial_value.into_tensor().into_value(),
            "Variable".into(),
            true,
        )
    }

    /// A variable of `dtype` (`tf.Variable(v, dtype=...)`): the value is cast to it.
    pub fn with_dtype(initial_value: impl IntoTensor, dtype: DType) -> Self {
        let value = initial_value.into_tensor().into_value().cast(dtype);
        Self::build(value, "Variable".into(), true)
    }

    /// A variable with a name and a `trainable` flag (`tf.Variable(v, name=..., trainable=...)`).
    pub fn with_options(initial_value: impl IntoTensor, name: &str, trainable: bool) -> Self {
        Self::build(
            initial_value.into_tensor().into_value(),
            name.into(),
            trainable,
        )
    }

    fn build(value: tt::Array, name: String, trainable: bool) -> Self {
        Variable {
            inner: Arc::new(Inner {
                id: next_id(),
                name,
                trainable,
                dtype: value.dtype(),
                shape: value.shape().into(),
                value: ValueCell::new(value),
                updating: AtomicUsize::new(0),
                reentered: AtomicBool::new(false),
            }),
        }
    }

    /// The value, locked (held for a clone or one update: never across a user's code but the
    /// closure of [`Variable::update_elements`]). An error, instead of waiting forever, when
    /// this thread is running that closure on this variable.
    #[inline]
    fn lock(&self, op: &'static str) -> Result<ValueGuard<'_, tt::Array>> {
        let updating = self.inner.updating.load(Ordering::Relaxed);
        if updating != 0 && updating == thread_token() {
            self.inner.reentered.store(true, Ordering::Relaxed);
            return Err(self.error(
                op,
                "called inside the closure of this variable's own update_elements, which holds \
                 its value (read the variable before the update)"
                    .into(),
            ));
        }
        Ok(self.inner.value.lock())
    }

    /// What a read that cannot fail gets inside the closure of this variable's own
    /// [`Variable::update_elements`]: a NaN scalar of its dtype (the update then fails).
    fn unreadable(&self) -> tt::Array {
        tt::Array::scalar_of(self.inner.dtype, f64::NAN)
    }

    /// The same value under a new name (a new variable: use it when creating one).
    pub fn with_name(self, name: &str) -> Self {
        Self::build(self.value_array(), name.into(), self.trainable())
    }

    /// The identity tapes know the variable by.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether tapes watch it automatically and optimizers train it.
    pub fn trainable(&self) -> bool {
        self.inner.trainable
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.inner.dtype
    }

    /// The shape (fixed when the variable is made: every assignment keeps it).
    pub fn shape(&self) -> &[usize] {
        &self.inner.shape
    }

    /// True when the shape is `shape` (no copy of the shape, as [`Variable::shape`] makes).
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor, Variable};
    /// let v = Variable::new(Tensor::zeros(DType::F32, &[2, 3])?);
    /// assert!(v.has_shape(&[2, 3]) && !v.has_shape(&[6]));
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn has_shape(&self, shape: &[usize]) -> bool {
        *self.inner.shape == *shape
    }

    /// True when both handles name the same variable.
    pub fn same_as(&self, other: &Variable) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The current value as a tensor, recorded on tapes that watch the variable
    /// (`read_value()`).
    ///
    /// Inside the closure of this variable's own [`Variable::update_elements`] (which holds the
    /// value) it is a NaN scalar no tape records, and that update returns an error.
    pub fn read_value(&self) -> Tensor {
        match self.try_value_array("read_value") {
            Ok(v) => {
                let t = Tensor::new(v);
                tape::record_read(self, &t);
                t
            }
            Err(_) => Tensor::new(self.unreadable()),
        }
    }

    /// Same as [`Variable::read_value`] (`variable.value()`).
    pub fn value(&self) -> Tensor {
        self.read_value()
    }

    /// The current value as a tensor no tape sees (a constant: `tf.constant(v.numpy())`). The
    /// values are shared until the variable next changes. Inside the closure of this
    /// variable's own [`Variable::update_elements`], a NaN scalar (and that update fails).
    ///
    /// ```
    /// let v = tapegrad_autodiff::Variable::new(1.0);
    /// let before = v.snapshot();
    /// v.assign_add(1.0)?;
    /// assert_eq!((before.item()?, v.item()?), (1.0, 2.0));
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn snapshot(&self) -> Tensor {
        Tensor::new(self.value_array())
    }

    /// The current plain value (shared until the variable changes); a NaN scalar inside the
    /// closure of this variable's own [`Variable::update_elements`].
    pub(crate) fn value_array(&self) -> tt::Array {
        self.try_value_array("snapshot")
            .unwrap_or_else(|_| self.unreadable())
    }

    fn try_value_array(&self, op: &'static str) -> Result<tt::Array> {
        let value = self.lock(op)?.clone();
        if tt::trace::recording() {
            // a trace reads the variable anew at each replay, at this place
            self.declare_state();
            let variable = self.clone();
            tt::trace::source("read_variable", &value, move || {
                Ok(variable.lock("read_value")?.clone())
            });
        }
        Ok(value)
    }

    /// The value as an ndarray array (`.numpy()`); the dtype must be `T`.
    pub fn numpy<T: Element>(&self) -> Result<tt::ndarray::ArrayD<T>> {
        tt::trace::untraceable("Variable::numpy");
        Ok(self.lock("numpy")?.to_ndarray()?)
    }

    /// The value of a one-element variable, widened to `f64`.
    pub fn item(&self) -> Result<f64> {
        tt::trace::untraceable("Variable::item");
        Ok(self.lock("item")?.item()?)
    }

    /// Replaces the value (`assign`); shape and dtype must stay the same. Scalars take the
    /// variable's dtype and broadcast to its shape.
    pub fn assign(&self, value: impl IntoOperand) -> Result<()> {
        let v = self.operand("assign", value)?;
        self.assign_with(Assign::Set, &v)
    }

    /// `self += delta` (`assign_add`).
    pub fn assign_add(&self, delta: impl IntoOperand) -> Result<()> {
        let v = self.operand("assign_add", delta)?;
        self.assign_with(Assign::Add, &v)
    }

    /// `self -= delta` (`assign_sub`).
    ///
    /// ```
    /// use tapegrad_autodiff::{Tensor, Variable};
    /// let w = Variable::new(Tensor::from_vec(vec![1.0f32, 2.0], &[2])?);
    /// w.assign_sub(&Tensor::from_vec(vec![0.5f32, 0.5], &[2])?)?;
    /// assert_eq!(w.snapshot().to_vec::<f32>()?, vec![0.5, 1.5]);
    /// assert!(w.assign_sub(&Tensor::from_vec(vec![1.0f32; 3], &[3])?).is_err());
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn assign_sub(&self, delta: impl IntoOperand) -> Result<()> {
        let v = self.operand("assign_sub", delta)?;
        self.assign_with(Assign::Sub, &v)
    }

    /// `self -= alpha * grad` in place, the plain SGD step (`alpha` rounded to the dtype first,
    /// the product rounded, then the difference: the same arithmetic as TensorFlow's
    /// `ResourceApplyGradientDescent`).
    pub fn assign_sub_scaled(&self, alpha: f64, grad: &Tensor) -> Result<()> {
        self.assign_with(Assign::SubScaled(alpha), grad.value())
    }

    /// Updates the value's elements in place, in row-major order, when the dtype is `T` (an
    /// error otherwise): the optimizers' update without a temporary delta. The buffer is copied
    /// first only if a tensor read earlier still shares it. No tape records this.
    ///
    /// `f` must not use this variable: its value is locked while `f` runs. If it does, the use
    /// does not wait (or panic): a read that returns a `Result` ([`Variable::item`],
    /// [`Variable::numpy`], an `assign*`, a nested `update_elements`) is an error naming the
    /// variable, one that cannot fail ([`Variable::read_value`], [`Variable::snapshot`], the
    /// variable as an operand) gets a NaN scalar, and `update_elements` then returns an error
    /// naming the variable; the elements are what `f` left. Read the variable before the
    /// update instead.
    ///
    /// ```
    /// use tapegrad_autodiff::{Error, Variable};
    /// let v = Variable::new(tapegrad_autodiff::Tensor::from_vec(vec![1.0f32, 2.0], &[2])?).with_name("w");
    /// v.update_elements::<f32>(|w| w.iter_mut().for_each(|w| *w *= 2.0))?;
    /// assert_eq!(v.numpy::<f32>()?.iter().copied().collect::<Vec<_>>(), vec![2.0, 4.0]);
    /// assert!(v.update_elements::<f64>(|_| {}).is_err());
    /// // the closure reads the variable it updates: an error, not a deadlock
    /// let err = v.update_elements::<f32>(|w| w[0] = v.numpy::<f32>().map_or(-1.0, |a| a[0])).unwrap_err();
    /// assert!(matches!(err, Error::Variable { ref name, .. } if name == "w"));
    /// assert_eq!(v.numpy::<f32>()?[0], -1.0); // what the closure wrote
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn update_elements<T: Element>(&self, f: impl FnOnce(&mut [T])) -> Result<()> {
        let op = "update_elements";
        tt::trace::untraceable("Variable::update_elements");
        let mut cur = self.lock(op)?;
        let elements = cur
            .elements_mut::<T>()
            .map_err(|e| self.error(op, e.to_string()))?;
        let inner = &*self.inner;
        inner.reentered.store(false, Ordering::Relaxed);
        inner.updating.store(thread_token(), Ordering::Relaxed);
        let updating = Updating(&inner.updating);
        f(elements);
        drop(updating);
        drop(cur);
        // a load, not a swap: no read-modify-write on the optimizers' path (the flag is
        // cleared before the next closure runs)
        if inner.reentered.load(Ordering::Relaxed) {
            return Err(self.error(
                op,
                "the closure used the variable it updates, whose value it holds (a read got a \
                 NaN scalar or an error); the elements are what the closure left: read the \
                 variable before the update"
                    .into(),
            ));
        }
        Ok(())
    }

    fn operand(&self, op: &'static str, value: impl IntoOperand) -> Result<tt::Array> {
        let (dtype, shape) = (self.inner.dtype, &*self.inner.shape);
        let t = match value.into_operand()? {
            crate::Operand::Scalar(x) => return Ok(tt::Array::full(dtype, shape, x)?),
            other => other.into_tensor(dtype).into_value(),
        };
        if t.dtype() != dtype {
            return Err(self.error(
                op,
                format!("value has dtype {}, the variable {}", t.dtype(), dtype),
            ));
        }
        if t.shape() != shape {
            return Err(self.error(
                op,
                format!("value has shape {:?}, the variable {:?}", t.shape(), shape),
            ));
        }
        Ok(t)
    }

    /// Tells the trace this thread records, if any (`tapegrad::function`), that the traced
    /// step reads or changes this variable, so that a verifying run can save and restore it.
    /// Reads and assignments declare it themselves; code that changes a variable inside a
    /// paused section (an optimizer's update) calls this.
    ///
    /// ```
    /// use tapegrad_autodiff::Variable;
    /// Variable::new(1.0f32).declare_state(); // nothing is traced: does nothing
    /// ```
    pub fn declare_state(&self) {
        if !tt::trace::recording() {
            return;
        }
        let (read, write) = (self.clone(), self.clone());
        tt::trace::state(
            self.id(),
            move || Ok(read.lock("read_value")?.clone()),
            move |a| Ok(write.update("assign", |cur| cur.assign(a[0]))?),
        );
    }

    /// An assignment; when a trace records, it is recorded as an effect the replay repeats
    /// with the operand's new value.
    fn assign_with(&self, kind: Assign, operand: &tt::Array) -> Result<()> {
        if tt::trace::recording() {
            self.declare_state();
            let variable = self.clone();
            tt::trace::effect(kind.name(), &[operand], move |a| {
                Ok(variable.assign_with(kind, a[0])?)
            });
            let _whole = tt::trace::pause();
            return self.assign_with(kind, operand);
        }
        let op = kind.name();
        self.update(op, |cur| match kind {
            Assign::Set => cur.assign(operand),
            Assign::Add => cur.assign_add(operand),
            Assign::Sub => cur.assign_sub(operand),
            Assign::SubScaled(alpha) => cur.assign_sub_scaled(alpha, operand),
        })
    }

    fn update(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut tt::Array) -> tt::Result<()>,
    ) -> Result<()> {
        let mut cur = self.lock(op)?;
        f(&mut cur).map_err(|e| self.error(op, e.to_string()))
    }

    fn error(&self, op: &str, message: String) -> Error {
        Error::Variable {
            name: self.inner.name.clone(),
            message: format!("{op}: {message}"),
        }
    }
}

/// The assignments a trace records as effects.
#[derive(Clone, Copy)]
enum Assign {
    Set,
    Add,
    Sub,
    SubScaled(f64),
}

impl Assign {
    fn name(self) -> &'static str {
        match self {
            Assign::Set => "assign",
            Assign::Add => "assign_add",
            Assign::Sub | Assign::SubScaled(_) => "assign_sub",
        }
    }
}

impl std::fmt::Display for Variable {
    /// TensorFlow's `<tf.Variable 'name:0' shape=() dtype=float32, numpy=...>`.
    /// Inside the closure of the variable's own [`Variable::update_elements`], `numpy=` shows
    /// `<being updated>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.shape().iter().map(|d| d.to_string()).collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        write!(
            f,
            "<tf.Variable '{}:0' shape={shape} dtype={}, numpy=",
            self.name(),
            self.dtype()
        )?;
        match self.try_value_array("Display") {
            Ok(v) => write!(f, "{v}>"),
            Err(_) => write!(f, "<being updated>>"),
        }
    }
}

impl std::fmt::Debug for Variable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
