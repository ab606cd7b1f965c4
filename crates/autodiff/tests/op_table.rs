//! One table of ops, one test (JAX's `LAX_GRAD_OPS`): every elementwise op declared in the
//! autodiff crate's table ([`UNARY_OPS`]), and every other op in [`op_table`] (arithmetic,
//! powers, products, reductions, running sums, shape ops, softmax), is checked for its gradient
//! at first and second order against central differences, and for its unrecorded backward (the
//! fused kernels the tape runs when nothing records) giving the same bits as its recorded one,
//! in float32 and float64.

use tapegrad_autodiff::gradcheck::{check_gradients, CheckOptions};
use tapegrad_autodiff::{
    op_table, DType, Domain, GradientTape, OpEntry, Result, Tensor, UnconnectedGradients, UNARY_OPS,
};

/// Inputs of an op's domain: a few values of each sign and size, away from kinks.
fn inputs(domain: Domain, dtype: DType) -> Tensor {
    let values: Vec<f64> = match domain {
        Domain::Any => vec![-1.7, -0.4, 0.3, 0.9, 2.2, -2.6],
        Domain::Positive => vec![0.4, 0.9, 1.6, 2.5, 3.1, 0.7],
        Domain::AwayFromZero => vec![-1.3, 0.7, 2.1, -0.4, 0.55, -2.2],
    };
    Tensor::from_vec(values, &[2, 3])
        .unwrap()
        .cast(dtype)
        .unwrap()
}

/// `d/dx sum(f(x))`, on a tape of its own (recorded by any tape outside it).
fn first_derivative(f: fn(&Tensor) -> Result<Tensor>, x: &Tensor) -> Result<Tensor> {
    let tape = GradientTape::new();
    tape.watch(x);
    let y = f(x)?;
    let g = tape.gradient_with(&y, &[x], None, UnconnectedGradients::Zero)?;
    Ok(g.into_iter()
        .next()
        .flatten()
        .expect("zeros when unconnected"))
}

#[test]
fn every_op_passes_the_gradient_checker_at_first_and_second_order() -> Result<()> {
    assert!(
        UNARY_OPS.len() >= 12,
        "the table lists every elementwise op"
    );
    let opts = CheckOptions {
        eps: 1e-5,
        atol: 1e-6,
        rtol: 1e-5,
    };
    for op in UNARY_OPS {
        let x = inputs(op.domain, DType::F64);
        let first = check_gradients(|v| (op.f)(&v[0]), std::slice::from_ref(&x), opts)?;
        assert!(first.passed, "{}: first order {first:?}", op.name);
        let f = op.f;
        let second = check_gradients(
            |v| first_derivative(f, &v[0]),
            std::slice::from_ref(&x),
            opts,
        )?;
        assert!(second.passed, "{}: second order {second:?}", op.name);
    }
    Ok(())
}

#[test]
fn every_unrecorded_backward_gives_the_recorded_bits() -> Result<()> {
    for dtype in [DType::F32, DType::F64] {
        for op in UNARY_OPS {
            let x = inputs(op.domain, dtype);
            // nothing records this backward: the op's plain form
            let plain = first_derivative(op.f, &x)?;
            // an outer tape records it: the differentiable form
            let outer = GradientTape::new();
            let recorded = first_derivative(op.f, &x)?;
            drop(outer);
            assert_eq!(plain.dtype(), dtype);
            assert_eq!(
                plain
                    .cast(DType::F64)?
                    .to_vec::<f64>()?
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                recorded
                    .cast(DType::F64)?
                    .to_vec::<f64>()?
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                "{} in {dtype}",
                op.name
            );
        }
    }
    Ok(())
}

#[test]
fn every_op_has_a_method_and_a_name_of_its_own() -> Result<()> {
    let mut names: Vec<&str> = UNARY_OPS.iter().map(|op| op.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), UNARY_OPS.len());
    let x = inputs(Domain::Positive, DType::F32);
    // the table's function and the method are one op
    assert!((UNARY_OPS.iter().find(|o| o.name == "sin").unwrap().f)(&x)?.equals(&x.sin()?));
    assert!((UNARY_OPS.iter().find(|o| o.name == "log").unwrap().f)(&x)?.equals(&x.log()?));
    Ok(())
}

/// The ops written in other ops (their gradients come from their parts, tinygrad's way): the
/// same checks at first and second order.
#[test]
fn composite_ops_pass_the_checker_at_first_and_second_order() -> Result<()> {
    use tapegrad_autodiff::{log_softmax, norm, reduce_min, reduce_std};
    type Composite = fn(&Tensor) -> Result<Tensor>;
    let composites: [(&str, Composite); 5] = [
        ("reduce_min", |x| reduce_min(x, Some(&[1]), false)),
        ("reduce_std", |x| reduce_std(x, Some(&[1]), false)),
        ("reduce_std_all", |x| reduce_std(x, None, false)),
        ("norm", |x| norm(x, None, false)),
        ("log_softmax", |x| log_softmax(x, -1)),
    ];
    let opts = CheckOptions {
        eps: 1e-5,
        atol: 1e-6,
        rtol: 1e-5,
    };
    for (name, f) in composites {
        let x = inputs(Domain::Any, DType::F64);
        let first = check_gradients(|v| f(&v[0]), std::slice::from_ref(&x), opts)?;
        assert!(first.passed, "{name}: first order {first:?}");
        let second = check_gradients(
            |v| first_derivative(f, &v[0]),
            std::slice::from_ref(&x),
            opts,
        )?;
        assert!(second.passed, "{name}: second order {second:?}");
    }
    Ok(())
}

/// The other ops with a fused unrecorded backward (a product's gradient reduced in one kernel,
/// `pow` with one exponent, the sums and means): the same bits both ways, broadcasting included.
#[test]
fn fused_backwards_of_products_powers_and_reductions_give_the_recorded_bits() -> Result<()> {
    use tapegrad_autodiff::{mul, pow, reduce_mean, reduce_sum};
    type Case = fn(&Tensor) -> Result<Tensor>;
    let cases: [(&str, Case); 6] = [
        ("mul by a row", |x| mul(x, x.slice(&[0, 0], &[1, -1])?)),
        ("mul by a column", |x| mul(x.slice(&[0, 0], &[-1, 1])?, x)),
        ("pow 2", |x| pow(x, 2.0)),
        ("pow 0.5", |x| pow(tapegrad_autodiff::square(x)?, 0.5)),
        ("reduce_sum axis 0", |x| reduce_sum(x, Some(&[0]), false)),
        ("reduce_mean keepdims", |x| reduce_mean(x, Some(&[1]), true)),
    ];
    for dtype in [DType::F32, DType::F64] {
        for (name, f) in cases {
            let x = inputs(Domain::Positive, dtype);
            let plain = first_derivative(f, &x)?;
            let outer = GradientTape::new();
            let recorded = first_derivative(f, &x)?;
            drop(outer);
            let bits = |t: &Tensor| -> Vec<u64> {
                t.cast(DType::F64)
                    .unwrap()
                    .to_vec::<f64>()
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect()
            };
            assert_eq!(bits(&plain), bits(&recorded), "{name} in {dtype}");
        }
    }
    Ok(())
}

/// Operand `i` of an entry of [`op_table`]: values of the entry's domain, distinct within the
/// operand and from the other operands' at each position (no ties for `maximum` or
/// `reduce_max`), away from kinks (0, and ±1 for `clip_by_value(-1, 1)`).
fn operand(entry: &OpEntry, i: usize, dtype: DType) -> Tensor {
    const ANY: [f64; 12] = [
        -1.7, -0.4, 0.3, 0.9, 2.2, -2.6, 1.3, -0.8, 0.6, -1.1, 1.9, -0.2,
    ];
    const AWAY: [f64; 12] = [
        -1.3, 0.7, 2.1, -0.4, 0.55, -2.2, 1.6, -0.6, 0.35, -1.8, 2.4, -0.25,
    ];
    let shape = entry.shapes[i];
    let n: usize = shape.iter().product();
    let values: Vec<f64> = (0..n)
        .map(|k| {
            let j = (k + 5 * i) % 12;
            match entry.domain {
                Domain::Any => ANY[j] + 0.01 * k as f64,
                Domain::Positive => ANY[j].abs() + 0.3 + 0.01 * k as f64,
                Domain::AwayFromZero => AWAY[j],
            }
        })
        .collect();
    Tensor::from_vec(values, shape)
        .unwrap()
        .cast(dtype)
        .unwrap()
}

fn operands(entry: &OpEntry, dtype: DType) -> Vec<Tensor> {
    (0..entry.shapes.len())
        .map(|i| operand(entry, i, dtype))
        .collect()
}

/// `d/dx_i sum(f(x))`, on a tape of its own.
fn partial(f: fn(&[Tensor]) -> Result<Tensor>, xs: &[Tensor], i: usize) -> Result<Tensor> {
    let tape = GradientTape::new();
    for x in xs {
        tape.watch(x);
    }
    let y = f(xs)?;
    let refs: Vec<&Tensor> = xs.iter().collect();
    let g = tape.gradient_with(&y, &refs, None, UnconnectedGradients::Zero)?;
    Ok(g.into_iter()
        .nth(i)
        .flatten()
        .expect("zeros when unconnected"))
}

#[test]
fn every_op_of_the_table_passes_the_gradient_checker_at_first_and_second_order() -> Result<()> {
    let table = op_table();
    assert!(table.len() >= 35, "{} entries", table.len());
    let opts = CheckOptions {
        eps: 1e-5,
        atol: 1e-6,
        rtol: 1e-5,
    };
    for entry in &table {
        let xs = operands(entry, DType::F64);
        let first = check_gradients(|v| (entry.f)(v), &xs, opts)?;
        assert!(first.passed, "{}: first order {first:?}", entry.name);
        for i in 0..xs.len() {
            let f = entry.f;
            let second = check_gradients(|v| partial(f, v, i), &xs, opts)?;
            assert!(
                second.passed,
                "{}: second order, operand {i}: {second:?}",
                entry.name
            );
        }
    }
    Ok(())
}

#[test]
fn every_op_of_the_table_gives_the_recorded_bits_when_nothing_records_its_backward() -> Result<()> {
    let bits = |t: &Tensor| -> Vec<u64> {
        let v = t.cast(DType::F64).unwrap().to_vec::<f64>().unwrap();
        v.iter().map(|v| v.to_bits()).collect()
    };
    for dtype in [DType::F32, DType::F64] {
        for entry in op_table() {
            let xs = operands(&entry, dtype);
            for i in 0..xs.len() {
                let plain = partial(entry.f, &xs, i)?;
                let outer = GradientTape::new();
                let recorded = partial(entry.f, &xs, i)?;
                drop(outer);
                assert_eq!(
                    bits(&plain),
                    bits(&recorded),
                    "{} operand {i} in {dtype}",
                    entry.name
                );
            }
        }
    }
    Ok(())
}

#[test]
fn the_op_table_names_each_call_once() {
    let table = op_table();
    let mut names: Vec<&str> = table.iter().map(|e| e.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), table.len());
    for e in &table {
        assert!(!e.shapes.is_empty(), "{}", e.name);
    }
}
