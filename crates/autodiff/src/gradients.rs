//! [`Gradients`]: the gradients of one target, looked up by variable instead of by position.

use crate::{Tensor, Variable};

/// The gradients [`GradientTape::gradients`](crate::GradientTape::gradients) computed, one per
/// variable asked for, each found by its variable ([`Gradients::get`], as candle's
/// `GradStore::get`), never by a position that a missing gradient could shift.
///
/// `&Gradients` iterates as `(gradient, variable)` pairs, the order of
/// `zip(gradients, variables)` that every optimizer's `apply_gradients` takes, so
/// `opt.apply_gradients(&grads)` needs no zip; [`Gradients::iter`] gives `(variable, gradient)`.
///
/// ```
/// use tapegrad_autodiff::{GradientTape, Variable};
/// let (a, b, unused) = (Variable::new(3.0), Variable::new(2.0), Variable::new(0.0));
/// let tape = GradientTape::new();
/// let loss = (&a * &b)?;
/// let grads = tape.gradients(&loss, &[&a, &unused, &b])?;
/// assert_eq!(grads.get(&a).map(|g| g.item()).transpose()?, Some(2.0));
/// assert_eq!(grads.get(&b).map(|g| g.item()).transpose()?, Some(3.0));
/// assert!(grads.get(&unused).is_none());
/// let names: Vec<&str> = grads.iter().filter(|(_, g)| g.is_some()).map(|(v, _)| v.name()).collect();
/// assert_eq!(names.len(), 2);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    pairs: Vec<(Variable, Option<Tensor>)>,
}

impl Gradients {
    /// The gradients of `variables`, in their order (`None` where no gradient flows).
    pub fn new(pairs: Vec<(Variable, Option<Tensor>)>) -> Self {
        Gradients { pairs }
    }

    /// The gradient of `variable`: `None` when the target does not depend on it, or when it was
    /// not among the variables asked for.
    pub fn get(&self, variable: &Variable) -> Option<&Tensor> {
        self.pairs
            .iter()
            .find(|(v, _)| v.same_as(variable))
            .and_then(|(_, g)| g.as_ref())
    }

    /// `(variable, gradient)` for every variable asked for, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Variable, Option<&Tensor>)> {
        self.pairs.iter().map(|(v, g)| (v, g.as_ref()))
    }

    /// The variables that got no gradient.
    pub fn missing(&self) -> impl Iterator<Item = &Variable> {
        self.pairs
            .iter()
            .filter(|(_, g)| g.is_none())
            .map(|(v, _)| v)
    }

    /// How many variables were asked for.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when no variable was asked for.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The gradients in the order the variables were given (TensorFlow's list form).
    pub fn into_list(self) -> Vec<Option<Tensor>> {
        self.pairs.into_iter().map(|(_, g)| g).collect()
    }
}

/// `(gradient, variable)` pairs, as `zip(gradients, variables)`: what `apply_gradients` takes.
impl<'a> IntoIterator for &'a Gradients {
    type Item = (Option<Tensor>, &'a Variable);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Variable, Option<Tensor>)>,
        fn(&'a (Variable, Option<Tensor>)) -> (Option<Tensor>, &'a Variable),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.iter().map(|(v, g)| (g.clone(), v))
    }
}
