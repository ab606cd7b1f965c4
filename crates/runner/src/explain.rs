//! `tapegrad explain ID`: one training step of an experiment as its tape recorded it, for the
//! people who learn how gradients are computed. The experiment runs as `tapegrad run` runs it;
//! its first gradient is captured ([`tapegrad_autodiff::capture_first_gradient`]) and printed:
//! each op in the order it was recorded, with its inputs' and output's shapes and values, then
//! the backward pass in the tape's order, each op with the gradient that reached it, the local
//! rule it applies and what it gave its inputs, and last the gradients themselves.

use std::fmt::Write;

use tapegrad_autodiff::{Explanation, Tensor};

use crate::{Config, Experiment, RunContext};

/// Runs `exp` with `cfg` and explains its first gradient; `None` when it computes none with a
/// tape (the document's manual loops write their gradients by hand).
pub fn explain(exp: &dyn Experiment, cfg: &Config) -> anyhow::Result<Option<Explanation>> {
    let (out, explanation) =
        tapegrad_autodiff::capture_first_gradient(|| exp.run(cfg, &mut RunContext::quiet()));
    out?;
    Ok(explanation)
}

/// At most this many values of a tensor are printed; a longer one shows its first three and
/// last two.
const SHOWN: usize = 6;

/// A tensor as `explain` prints it: its shape and dtype, and its values (abbreviated when long),
/// in numpy's shortest round-trip form.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_runner::explain::show;
/// assert_eq!(show(&Tensor::scalar(2.5f32)), "() float32 2.5");
/// let t = Tensor::arange(0.0, 10.0, 1.0, tapegrad_autodiff::DType::F32)?;
/// assert_eq!(show(&t), "(10,) float32 [0.0, 1.0, 2.0, …, 8.0, 9.0]");
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn show(t: &Tensor) -> String {
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let values = t.value().to_f64_vec();
    let f32s = t.dtype() == tapegrad_autodiff::DType::F32;
    let num = |v: f64| match f32s {
        true => crate::format::np_f32(v as f32),
        false => crate::format::py_float(v),
    };
    let text = if t.rank() == 0 {
        values.first().map_or(String::new(), |&v| num(v))
    } else if values.len() <= SHOWN {
        let items: Vec<String> = values.iter().map(|&v| num(v)).collect();
        format!("[{}]", items.join(", "))
    } else {
        let n = values.len();
        let head: Vec<String> = values[..3].iter().map(|&v| num(v)).collect();
        let tail: Vec<String> = values[n - 2..].iter().map(|&v| num(v)).collect();
        format!("[{}, …, {}]", head.join(", "), tail.join(", "))
    };
    format!("{shape} {} {text}", t.dtype())
}

/// The explanation as text: the forward pass, the backward pass, the gradients.
pub fn render(id: &str, e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{id}: the first training step as its tape recorded it\n"
    );
    let _ = writeln!(
        out,
        "forward pass ({} ops, in the order they ran)",
        e.ops.len()
    );
    for (i, op) in e.ops.iter().enumerate() {
        let _ = writeln!(out, "  [{i}] {}", op.name);
        for (k, input) in op.inputs.iter().enumerate() {
            let _ = writeln!(out, "        input {k}: {}", show(input));
        }
        let _ = writeln!(out, "        output:  {}", show(&op.output));
    }
    let _ = writeln!(
        out,
        "\nbackward pass (from the target, the last op first; g is the target's gradient with \
         respect to the op's output, summed over the target's elements)"
    );
    for &i in &e.backward {
        let op = &e.ops[i];
        let _ = writeln!(out, "  [{i}] {}", op.name);
        if let Some(g) = &op.grad {
            let _ = writeln!(out, "        g:       {}", show(g));
        }
        if !op.rule.is_empty() {
            let _ = writeln!(out, "        rule:    {}", op.rule);
        }
        for (k, g) in op.input_grads.iter().enumerate() {
            if let Some(g) = g {
                let _ = writeln!(out, "        to input {k}: {}", show(g));
            }
        }
    }
    let _ = writeln!(out, "\ngradients");
    for (k, g) in e.gradients.iter().enumerate() {
        let name = e
            .sources
            .get(k)
            .cloned()
            .unwrap_or_else(|| format!("source {k}"));
        match g {
            Some(g) => {
                let _ = writeln!(out, "  {name}: {}", show(g));
            }
            None => {
                let _ = writeln!(out, "  {name}: none (the target does not depend on it)");
            }
        }
    }
    out
}
