//! Property tests over random shapes — zero, one, small and huge axes, products that wrap — for
//! the constructors and shape ops: each either builds a tensor of exactly the shape's element
//! count or refuses with an error; none panics, none reads past its buffer.

use proptest::prelude::*;
use tapegrad_tensor::{element_count, Array, DType, TensorError};

/// Axis lengths worth trying: empty, unit, small, and the sizes whose products wrap or pass
/// `isize::MAX`.
fn axis() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..4,
        1 => Just(1usize << 31),
        1 => Just(1usize << 32),
        1 => Just(0x6DB6_DB6D_B6DB_6DB7usize),
        1 => Just(isize::MAX as usize),
        1 => Just(usize::MAX),
    ]
}

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(axis(), 0..5)
}

/// The element count by exact arithmetic, when ndarray's invariant holds: the product of the
/// non-zero axes within `isize::MAX` (even for an empty array), and the bytes of float32 too.
fn expected(shape: &[usize]) -> Option<u128> {
    let nonzero = shape
        .iter()
        .try_fold(1u128, |n, &d| n.checked_mul(d.max(1) as u128))?;
    let n: u128 = shape.iter().map(|&d| d as u128).product();
    (nonzero <= isize::MAX as u128 && n * 4 <= isize::MAX as u128).then_some(n)
}

/// Small enough to allocate in a test.
const SMALL: u128 = 1 << 12;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn element_count_is_the_exact_product_or_an_error(shape in shape()) {
        match (element_count("t", &shape, DType::F32), expected(&shape)) {
            (Ok(n), Some(e)) => prop_assert_eq!(n as u128, e),
            (Err(TensorError::TooLarge { .. }), None) => {}
            (got, want) => prop_assert!(false, "{shape:?}: {got:?} vs {want:?}"),
        }
    }

    #[test]
    fn zeros_builds_the_exact_count_or_refuses(shape in shape()) {
        match expected(&shape) {
            Some(n) if n <= SMALL => {
                let t = Array::zeros(DType::F32, &shape).unwrap();
                prop_assert_eq!(t.len() as u128, n);
                prop_assert_eq!(t.shape(), &shape[..]);
                prop_assert_eq!(t.sum(None, false).unwrap().item().unwrap(), 0.0);
            }
            // addressable but large: not allocated here
            Some(_) => {}
            None => {
                let refused = matches!(Array::zeros(DType::F32, &shape), Err(TensorError::TooLarge { .. }));
                prop_assert!(refused);
            }
        }
    }

    #[test]
    fn reshape_of_a_small_tensor_keeps_its_count_or_refuses(len in 0usize..8, shape in shape()) {
        let t = Array::from_vec(vec![1.0f32; len], &[len]).unwrap();
        let dims: Vec<isize> = shape.iter().map(|&d| d.min(isize::MAX as usize) as isize).collect();
        match t.reshape(&dims) {
            Ok(r) => {
                prop_assert_eq!(r.len(), len);
                prop_assert_eq!(r.to_vec::<f32>().unwrap(), vec![1.0; len]);
            }
            Err(_) => {
                let want: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
                prop_assert_ne!(expected(&want), Some(len as u128));
            }
        }
        match t.reshape_exact(&shape) {
            Ok(r) => prop_assert_eq!(r.len(), len),
            Err(_) => prop_assert_ne!(expected(&shape), Some(len as u128)),
        }
    }

    #[test]
    fn from_vec_accepts_exactly_the_shapes_its_values_fill(len in 0usize..8, shape in shape()) {
        let ok = Array::from_vec(vec![2.0f64; len], &shape).is_ok();
        prop_assert_eq!(ok, expected(&shape) == Some(len as u128));
    }

    #[test]
    fn broadcast_to_and_slice_never_read_past_the_buffer(shape in shape()) {
        // (an addressable but large shape would be allocated and filled: not here)
        prop_assume!(expected(&shape).is_none_or(|n| n <= SMALL));
        let t = Array::scalar(7.0f32);
        match (t.broadcast_to(&shape), expected(&shape)) {
            (Ok(b), Some(n)) => {
                prop_assert_eq!(b.len() as u128, n);
                // a one-element block of every axis that has an element
                if n > 0 {
                    let begin = vec![0; shape.len()];
                    let size = vec![1; shape.len()];
                    let s = b.slice(&begin, &size).unwrap();
                    prop_assert_eq!(s.to_vec::<f32>().unwrap(), vec![7.0]);
                }
            }
            (Ok(b), None) => prop_assert!(false, "{shape:?} accepted with {} elements", b.len()),
            (Err(_), _) => {}
        }
    }

    #[test]
    fn broadcasting_two_operands_gives_the_exact_count_or_refuses(a in shape(), b in shape()) {
        let small = |s: &[usize]| expected(s).is_some_and(|n| n <= SMALL);
        if small(&a) && small(&b) {
            let x = Array::zeros(DType::F32, &a).unwrap();
            let y = Array::zeros(DType::F32, &b).unwrap();
            if let Ok(z) = x.add(&y) {
                let n = expected(z.shape());
                prop_assert_eq!(n, Some(z.len() as u128));
            }
        }
    }
}
