//! Property tests over random shapes: broadcasting agrees with ndarray, gradients have their
//! source's shape and pass the checker, mismatches are errors and never panics.

use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use tapegrad_autodiff::gradcheck::{check_gradients, CheckOptions};
use tapegrad_autodiff::{add, div, mul, sub, GradientTape, Result, Tensor};

/// A shape of rank 0..=3 with axes 1..=3.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=3, 0..=3)
}

/// Two shapes that broadcast: the second is the first with some axes set to 1 and some
/// leading axes dropped (or the roles swapped).
fn broadcastable() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        shape(),
        prop::collection::vec(any::<bool>(), 3),
        0usize..=3,
        any::<bool>(),
    )
        .prop_map(|(s, ones, drop, swap)| {
            let mut t: Vec<usize> = s
                .iter()
                .zip(&ones)
                .map(|(&d, &one)| if one { 1 } else { d })
                .collect();
            let drop = drop.min(t.len());
            t.drain(..drop);
            if swap {
                (t, s)
            } else {
                (s, t)
            }
        })
}

fn values(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let mut s = seed | 1;
    let data = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2000) as f64 / 1000.0 - 1.0 + 0.0005
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).unwrap()
}

fn ndarray_broadcast(
    a: &ArrayD<f64>,
    b: &ArrayD<f64>,
    f: fn(f64, f64) -> f64,
) -> Option<ArrayD<f64>> {
    let shape = tapegrad_tensor::broadcast_shape("test", a.shape(), b.shape()).ok()?;
    let (av, bv) = (a.broadcast(IxDyn(&shape))?, b.broadcast(IxDyn(&shape))?);
    Some(
        ndarray::Zip::from(&av)
            .and(&bv)
            .map_collect(|&x, &y| f(x, y)),
    )
}

type Op = fn(Tensor, Tensor) -> Result<Tensor>;
type Reference = fn(f64, f64) -> f64;

const OPS: [(Op, Reference); 4] = [
    (|a, b| add(a, b), |x, y| x + y),
    (|a, b| sub(a, b), |x, y| x - y),
    (|a, b| mul(a, b), |x, y| x * y),
    (|a, b| div(a, b), |x, y| x / y),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn broadcasting_results_equal_ndarray((sa, sb) in broadcastable(), seed in any::<u64>()) {
        let (a, b) = (values(&sa, seed), values(&sb, seed.rotate_left(17)));
        for (op, f) in OPS {
            let ours = op(Tensor::new(tapegrad_tensor::Array::from_array(a.clone())), Tensor::new(tapegrad_tensor::Array::from_array(b.clone())))
                .expect("broadcastable shapes");
            let expected = ndarray_broadcast(&a, &b, f).expect("broadcastable shapes");
            prop_assert_eq!(ours.numpy::<f64>().unwrap(), expected);
        }
    }

    #[test]
    fn gradients_have_the_source_shape_and_pass_the_checker((sa, sb) in broadcastable(), seed in any::<u64>()) {
        let inputs = [
            tapegrad_tensor::Array::from_array(values(&sa, seed)),
            tapegrad_tensor::Array::from_array(values(&sb, seed ^ 0x5555)),
        ];
        for (op, _) in OPS {
            let x = Tensor::new(inputs[0].clone());
            let y = Tensor::new(inputs[1].clone());
            let tape = GradientTape::new();
            tape.watch(&x);
            tape.watch(&y);
            let z = op(x.clone(), y.clone()).unwrap();
            let g = tape.gradient(&z, &[&x, &y]).unwrap();
            prop_assert_eq!(g[0].as_ref().unwrap().shape(), x.shape());
            prop_assert_eq!(g[1].as_ref().unwrap().shape(), y.shape());
            let opts = CheckOptions { eps: 1e-6, atol: 1e-5, rtol: 1e-4 };
            let inputs = [x.clone(), y.clone()];
            let report = check_gradients(|v| op(v[0].clone(), v[1].clone()), &inputs, opts).unwrap();
            prop_assert!(report.passed, "{:?}", report);
        }
    }

    #[test]
    fn mismatched_shapes_are_errors_not_panics(sa in shape(), sb in shape()) {
        let a = Tensor::new(tapegrad_tensor::Array::from_array(values(&sa, 1)));
        let b = Tensor::new(tapegrad_tensor::Array::from_array(values(&sb, 2)));
        let compatible = tapegrad_tensor::broadcast_shape("t", &sa, &sb).is_ok();
        for (op, _) in OPS {
            let r = op(a.clone(), b.clone());
            prop_assert_eq!(r.is_ok(), compatible);
            if let Err(e) = r {
                let msg = e.to_string();
                prop_assert!(msg.contains(&format!("{sa:?}")) && msg.contains(&format!("{sb:?}")), "{}", msg);
            }
        }
        // matmul of arbitrary ranks: an error or a value, never a panic
        let _ = tapegrad_autodiff::matmul(&a, &b);
        let _ = tapegrad_autodiff::reshape(&a, &[-1, 2]);
        let _ = tapegrad_autodiff::reduce_sum(&a, Some(&[3]), false);
    }
}
