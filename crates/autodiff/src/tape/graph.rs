//! [`TapeGraph`]: a tape's records as a graph of values and ops, for drawing — the forward
//! values on every tensor, and once a gradient is explained ([`Explanation::graph`]) the
//! gradient that reached each one, as micrograd's `draw_dot` shows a scalar graph.
//! [`GradientTape::to_dot`] and [`TapeGraph::to_dot`] write it as Graphviz DOT.

use std::fmt::Write;

use super::explain::{ExplainedOp, Explanation};
use super::records::IdMap;
use super::GradientTape;
use crate::Tensor;

/// What a value node of a [`TapeGraph`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A variable, as the tape read it.
    Variable,
    /// A tensor no recorded op made: a watched tensor or a constant an op was given.
    Leaf,
    /// The output of a recorded op.
    Computed,
}

/// A node of a [`TapeGraph`].
#[derive(Debug, Clone)]
pub enum GraphNode {
    /// A tensor.
    Value {
        /// A variable's name, else `t` and the tensor's id.
        label: String,
        /// Variable, leaf or computed.
        kind: ValueKind,
        /// Its value in the forward pass.
        value: Tensor,
        /// The explained target's gradient with respect to it (`None` on a tape's graph, and
        /// where the target does not depend on it).
        grad: Option<Tensor>,
    },
    /// A recorded op.
    Op {
        /// Its name as the tape records it (`Mul`, `ReadVariable(w)`).
        name: String,
        /// The local rule its backward applies ([`crate::Op::rule`]).
        rule: &'static str,
    },
}

/// A tape as a directed graph: each recorded op a node between its inputs' and its output's
/// value nodes, in the order recorded (a variable read draws the variable, then the read).
///
/// ```
/// use tapegrad_autodiff::{GradientTape, GraphNode, Tensor, Variable};
/// let w = Variable::new(3.0f32).with_name("w");
/// let x = Tensor::scalar(2.0f32);
/// let tape = GradientTape::new();
/// let y = (&w * &x)?;
/// let e = tape.explain(&y, &[&w])?;
/// let g = e.graph();
/// // w, ReadVariable(w), its output, x, Mul, y
/// assert_eq!(g.nodes.len(), 6);
/// assert_eq!(g.edges.len(), 5);
/// match &g.nodes[0] {
///     GraphNode::Value { label, grad, .. } => {
///         assert_eq!(label, "w");
///         assert_eq!(grad.as_ref().unwrap().item()?, 2.0);
///     }
///     GraphNode::Op { .. } => unreachable!(),
/// }
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TapeGraph {
    /// Value and op nodes, in the order first met.
    pub nodes: Vec<GraphNode>,
    /// Edges `(from, to)` as indices into `nodes`: value to the op it feeds, op to its output.
    pub edges: Vec<(usize, usize)>,
}

/// What [`TapeGraph::to_dot`] writes on each value node besides its shape and dtype.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DotOptions {
    /// The forward values (`data …`).
    pub values: bool,
    /// The gradients, where the graph has them (`grad …`).
    pub gradients: bool,
}

impl DotOptions {
    /// Values and gradients both.
    pub const ALL: DotOptions = DotOptions {
        values: true,
        gradients: true,
    };
}

/// At most this many numbers of a tensor are shown; a longer one shows its first three and
/// last two.
pub const SHOWN: usize = 6;

/// A tensor's numbers, each written by `number`, abbreviated when there are more than
/// [`SHOWN`]: a scalar as one number, else `[a, b, c, …, y, z]`.
///
/// ```
/// use tapegrad_autodiff::{summarize, DType, Tensor};
/// let t = Tensor::arange(0.0, 10.0, 1.0, DType::F32)?;
/// assert_eq!(summarize(&t, |v| format!("{v}")), "[0, 1, 2, …, 8, 9]");
/// assert_eq!(summarize(&Tensor::scalar(2.5f32), |v| format!("{v}")), "2.5");
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn summarize(t: &Tensor, number: impl Fn(f64) -> String) -> String {
    let values = t.to_f64_vec();
    let list = |vs: &[f64]| vs.iter().map(|&v| number(v)).collect::<Vec<_>>().join(", ");
    if t.rank() == 0 {
        values.first().map_or(String::new(), |&v| number(v))
    } else if values.len() <= SHOWN {
        format!("[{}]", list(&values))
    } else {
        let n = values.len();
        format!("[{}, …, {}]", list(&values[..3]), list(&values[n - 2..]))
    }
}

/// A number as Rust's shortest round-trip form of the tensor's dtype writes it.
fn rust_number(t: &Tensor) -> impl Fn(f64) -> String {
    let f32s = t.dtype() == crate::DType::F32;
    move |v| match f32s {
        true => format!("{:?}", v as f32),
        false => format!("{v:?}"),
    }
}

impl TapeGraph {
    /// The graph of recorded ops, with what `explain` knows of each (gradients when known).
    pub(crate) fn from_ops(ops: &[ExplainedOp]) -> TapeGraph {
        let mut g = TapeGraph::default();
        // the node of each tensor id met so far
        let mut node_of: IdMap<usize> = IdMap::default();
        // gradients given to leaves, summed over the ops they feed
        let mut leaf_grads: Vec<(usize, Tensor)> = Vec::new();
        for op in ops {
            let mut inputs = Vec::with_capacity(op.inputs.len());
            for (k, t) in op.inputs.iter().enumerate() {
                let index = *node_of.entry(t.id()).or_insert_with(|| {
                    let (label, kind) = match &op.variable {
                        Some(name) => (name.clone(), ValueKind::Variable),
                        None => (format!("t{}", t.id()), ValueKind::Leaf),
                    };
                    g.nodes.push(GraphNode::Value {
                        label,
                        kind,
                        value: t.clone(),
                        grad: None,
                    });
                    g.nodes.len() - 1
                });
                if let (Some(Some(dx)), Some(GraphNode::Value { kind, .. })) =
                    (op.input_grads.get(k), g.nodes.get(index))
                {
                    if *kind != ValueKind::Computed {
                        leaf_grads.push((index, dx.clone()));
                    }
                }
                inputs.push(index);
            }
            g.nodes.push(GraphNode::Op {
                name: op.name.clone(),
                rule: op.rule,
            });
            let op_node = g.nodes.len() - 1;
            g.edges.extend(inputs.iter().map(|&i| (i, op_node)));
            g.nodes.push(GraphNode::Value {
                label: format!("t{}", op.output.id()),
                kind: ValueKind::Computed,
                value: op.output.clone(),
                grad: op.grad.clone(),
            });
            let out = g.nodes.len() - 1;
            node_of.insert(op.output.id(), out);
            g.edges.push((op_node, out));
        }
        for (index, dx) in leaf_grads {
            if let Some(GraphNode::Value { grad, .. }) = g.nodes.get_mut(index) {
                *grad = match grad.take() {
                    None => Some(dx),
                    // a leaf fed to several ops gets the sum, as the backward pass gives it
                    Some(sum) => Some((&sum + &dx).unwrap_or(sum)),
                };
            }
        }
        g
    }

    /// The graph as Graphviz DOT: one box per op, one ellipse per value, labelled with its
    /// name, shape and dtype, and as `options` asks its forward value and gradient.
    ///
    /// ```
    /// use tapegrad_autodiff::{DotOptions, GradientTape, Variable};
    /// let w = Variable::new(3.0f32).with_name("w");
    /// let tape = GradientTape::new();
    /// let y = tapegrad_autodiff::square(&w)?;
    /// let dot = tape.explain(&y, &[&w])?.graph().to_dot(DotOptions::ALL);
    /// assert!(dot.contains("variable w\\n[] float32\\ndata 3.0\\ngrad 6.0"), "{dot}");
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn to_dot(&self, options: DotOptions) -> String {
        let mut out =
            String::from("digraph tape {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
        for (i, node) in self.nodes.iter().enumerate() {
            let _ = match node {
                GraphNode::Op { name, .. } => writeln!(
                    out,
                    "  n{i} [shape=box, label=\"{}\"];",
                    name.replace('"', "'")
                ),
                GraphNode::Value {
                    label,
                    kind,
                    value,
                    grad,
                } => {
                    let mut text = match kind {
                        ValueKind::Variable => format!("variable {label}"),
                        _ => label.clone(),
                    };
                    let _ = write!(text, "\\n{:?} {}", value.shape(), value.dtype());
                    if options.values {
                        let _ = write!(text, "\\ndata {}", summarize(value, rust_number(value)));
                    }
                    if let (true, Some(g)) = (options.gradients, grad) {
                        let _ = write!(text, "\\ngrad {}", summarize(g, rust_number(g)));
                    }
                    writeln!(
                        out,
                        "  n{i} [shape=ellipse, label=\"{}\"];",
                        text.replace('"', "'")
                    )
                }
            };
        }
        for (from, to) in &self.edges {
            let _ = writeln!(out, "  n{from} -> n{to};");
        }
        out.push_str("}\n");
        out
    }
}

impl Explanation {
    /// The explained tape as a graph, with the forward values and the gradients.
    pub fn graph(&self) -> TapeGraph {
        TapeGraph::from_ops(&self.ops)
    }
}

impl GradientTape {
    /// The recorded ops as a graph, with their forward values (no gradients: a gradient is
    /// computed from a target; [`GradientTape::explain`] gives them).
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Variable};
    /// let w = Variable::new(3.0f32).with_name("w");
    /// let tape = GradientTape::new();
    /// let _y = tapegrad_autodiff::square(&w)?;
    /// assert_eq!(tape.graph().nodes.len(), 5); // w, the read, its output, Square, its output
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn graph(&self) -> TapeGraph {
        TapeGraph::from_ops(&self.explained_ops())
    }

    /// The recorded graph as Graphviz DOT: one box per op, one ellipse per tensor, labelled
    /// with shapes and dtypes ([`GradientTape::to_dot_with`] adds the values).
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Variable};
    /// let a = Variable::new(2.0f32).with_name("a");
    /// let tape = GradientTape::new();
    /// let y = tapegrad_autodiff::square(&a)?;
    /// let dot = tape.to_dot();
    /// assert!(dot.starts_with("digraph tape {"));
    /// assert!(dot.contains("Square") && dot.contains("ReadVariable(a)"));
    /// # let _ = y;
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn to_dot(&self) -> String {
        self.to_dot_with(DotOptions::default())
    }

    /// [`GradientTape::to_dot`] with what `options` asks for on each tensor: its forward
    /// value; and the gradients, which a tape has only once explained — for those, write
    /// `tape.explain(&target, &sources)?.graph().to_dot(DotOptions::ALL)`.
    ///
    /// ```
    /// use tapegrad_autodiff::{DotOptions, GradientTape, Variable};
    /// let a = Variable::new(2.0f32).with_name("a");
    /// let tape = GradientTape::new();
    /// let _y = tapegrad_autodiff::square(&a)?;
    /// let dot = tape.to_dot_with(DotOptions { values: true, gradients: false });
    /// assert!(dot.contains("data 4.0"), "{dot}");
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn to_dot_with(&self, options: DotOptions) -> String {
        self.graph().to_dot(options)
    }
}
