//! [`GradientTape::to_dot`]: a tape's records as a Graphviz graph.

use super::records::{IdMap, IdSet, Inputs};
use super::thread::ReadVariable;
use super::GradientTape;
use super::OpRef;
use crate::Tensor;

impl GradientTape {
    /// The recorded graph as Graphviz DOT: one box per op, one ellipse per tensor, labelled
    /// with shapes and dtypes.
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
        use std::fmt::Write;
        let st = self.shared.state.borrow();
        let mut out =
            String::from("digraph tape {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
        let mut seen = IdSet::default();
        let var_names: IdMap<String> = st
            .variables
            .iter()
            .map(|v| (v.id(), v.name().to_string()))
            .collect();
        let mut node = |out: &mut String, t: &Tensor| {
            if seen.insert(t.id()) {
                let label = match var_names.get(&t.id()) {
                    Some(n) => format!("variable {n}\\n{:?} {}", t.shape(), t.dtype()),
                    None => format!("t{}\\n{:?} {}", t.id(), t.shape(), t.dtype()),
                };
                let _ = writeln!(out, "  t{} [shape=ellipse, label=\"{label}\"];", t.id());
            }
        };
        for (i, r) in st.recorded.records.iter().enumerate() {
            // a variable read's input: the variable, with the value read
            let read;
            let inputs = match (&r.op, &r.inputs) {
                (OpRef::Read(ReadVariable(id)), Inputs::Read) => {
                    read = [r.output.with_id(*id)];
                    &read[..]
                }
                (_, inputs) => inputs.as_slice(),
            };
            for t in inputs {
                node(&mut out, t);
            }
            node(&mut out, &r.output);
            let _ = writeln!(
                out,
                "  op{i} [shape=box, label=\"{}\"];",
                st.op_name(&r.op).replace('"', "'")
            );
            for t in inputs {
                let _ = writeln!(out, "  t{} -> op{i};", t.id());
            }
            let _ = writeln!(out, "  op{i} -> t{};", r.output.id());
        }
        out.push_str("}\n");
        out
    }
}
