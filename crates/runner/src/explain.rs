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

/// A tensor as `explain` prints it: its shape and dtype, and its values (abbreviated when long:
/// the first three and the last two), in numpy's shortest round-trip form.
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
    format!("{} {} {}", shape(t), t.dtype(), values(t))
}

/// A shape as numpy writes it: `()`, `(3,)`, `(3, 2)`.
fn shape(t: &Tensor) -> String {
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    }
}

/// A tensor's values, abbreviated, as numpy prints its dtype's numbers.
fn values(t: &Tensor) -> String {
    let f32s = t.dtype() == tapegrad_autodiff::DType::F32;
    tapegrad_autodiff::summarize(t, |v| match f32s {
        true => crate::format::np_f32(v as f32),
        false => crate::format::py_float(v),
    })
}

/// The explained step as a picture: the tape's graph ([`Explanation::graph`]) laid out left to
/// right by `layout-rs` (no Graphviz), each tensor a record of its name, shape and dtype, its
/// forward value (`data`) and the gradient that reached it (`grad`), each op a box, as
/// micrograd's `draw_dot` draws a graph. One standalone SVG document.
///
/// ```
/// use tapegrad_autodiff::{GradientTape, Variable};
/// let w = Variable::new(3.0f32).with_name("w");
/// let tape = GradientTape::new();
/// let y = tapegrad_autodiff::square(&w)?;
/// let svg = tapegrad_runner::explain::svg(&tape.explain(&y, &[&w])?);
/// assert!(svg.contains("<svg") && svg.contains("Square"));
/// assert!(svg.contains("grad 6.0")); // d(w²)/dw at 3
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn svg(e: &Explanation) -> String {
    use layout::backends::svg::SVGWriter;
    use layout::core::base::Orientation;
    use layout::core::color::Color;
    use layout::core::style::StyleAttr;
    use layout::std_shapes::render::get_shape_size;
    use layout::std_shapes::shapes::{Arrow, Element, RecordDef, ShapeKind};
    use layout::topo::layout::VisualGraph;
    use tapegrad_autodiff::{GraphNode, ValueKind};

    let graph = e.graph();
    if graph.nodes.is_empty() {
        return concat!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#,
            r#"<svg width="240" height="30" viewBox="0 0 240 30" xmlns="http://www.w3.org/2000/svg">"#,
            r#"<text x="5" y="20" font-family="monospace" font-size="13">no op was recorded</text></svg>"#
        )
        .to_string();
    }
    let dir = Orientation::LeftToRight;
    let mut vg = VisualGraph::new(dir);
    // layout-rs sizes a label at one font size a character, far wider than a character is: the
    // layout is reckoned at LAYOUT_PX and the text set in a monospace face whose characters are
    // about that wide (DejaVu Sans Mono's advance is 0.6 em)
    const LAYOUT_PX: usize = 9;
    const TEXT_PX: usize = 14;
    let look = |fill: &str| {
        StyleAttr::new(
            Color::fast("black"),
            1,
            Color::from_name(fill),
            0,
            LAYOUT_PX,
        )
    };
    let handles: Vec<_> = (graph.nodes.iter())
        .map(|node| {
            let (shape, style) = match node {
                GraphNode::Op { name, .. } => (ShapeKind::new_box(name), look("#fdebd0")),
                GraphNode::Value {
                    label,
                    kind,
                    value,
                    grad,
                } => {
                    let mut fields = vec![
                        RecordDef::new_text(&format!("{label} {} {}", shape(value), value.dtype())),
                        RecordDef::new_text(&format!("data {}", values(value))),
                    ];
                    if let Some(g) = grad {
                        fields.push(RecordDef::new_text(&format!("grad {}", values(g))));
                    }
                    let fill = match kind {
                        ValueKind::Variable => "#d6eaf8",
                        ValueKind::Leaf => "#eeeeee",
                        ValueKind::Computed => "white",
                    };
                    (ShapeKind::new_record(&RecordDef::Array(fields)), look(fill))
                }
            };
            // a record's fields stack across the graph's direction (graphviz's rule)
            let across = dir.flip();
            let size = get_shape_size(across, &shape, style.font_size, false);
            vg.add_node(Element::create(shape, style, across, size))
        })
        .collect();
    for &(from, to) in &graph.edges {
        vg.add_edge(Arrow::simple(""), handles[from], handles[to]);
    }
    let mut writer = SVGWriter::new();
    vg.do_it(false, false, false, &mut writer);
    // and each line, which layout-rs lowers by one em of its own size, by as much
    let em = LAYOUT_PX as f64 / TEXT_PX as f64;
    // (layout-rs writes its font classes in a hash map's order: one stylesheet, always the same)
    let svg =
        fit_to_boxes(&writer.finalize()).replace("dy=\"1.0em\"", &format!("dy=\"{em:.3}em\""));
    let style = format!(
        "<style>\n.a{LAYOUT_PX} {{ font-size: {TEXT_PX}px; font-family: 'DejaVu Sans Mono', monospace; }}\n\
         .a15 {{ font-size: 15px; font-family: 'DejaVu Sans', sans-serif; }}\n</style>"
    );
    match (svg.find("<style>"), svg.find("</style>")) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{style}{}", &svg[..a], &svg[b + "</style>".len()..])
        }
        _ => svg,
    }
}

/// The SVG with its root's size (and view box) cut to the boxes it draws plus a margin:
/// layout-rs grows the picture by ten pixels a character of every label, downwards too, which
/// leaves a tall empty band under a graph.
fn fit_to_boxes(svg: &str) -> String {
    const MARGIN: f64 = 30.0;
    let number = |tag: &str, name: &str| -> Option<f64> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        tag[at..].split('"').next()?.trim().parse().ok()
    };
    let (mut right, mut bottom) = (0.0f64, 0.0f64);
    for (at, _) in svg.match_indices("<rect ") {
        let tag = &svg[at..svg[at..].find('>').map_or(svg.len(), |e| at + e)];
        if let (Some(x), Some(y), Some(w), Some(h)) = (
            number(tag, "x"),
            number(tag, "y"),
            number(tag, "width"),
            number(tag, "height"),
        ) {
            right = right.max(x + w);
            bottom = bottom.max(y + h);
        }
    }
    let Some(start) = svg.find("<svg ") else {
        return svg.to_string();
    };
    let Some(end) = svg[start..].find('>').map(|e| start + e) else {
        return svg.to_string();
    };
    if right <= 0.0 || bottom <= 0.0 {
        return svg.to_string();
    }
    let (w, h) = ((right + MARGIN).ceil(), (bottom + MARGIN).ceil());
    format!(
        "{}<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">{}",
        &svg[..start],
        &svg[end + 1..]
    )
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
