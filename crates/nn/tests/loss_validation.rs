//! Issue 17, item 8: loss parameters out of their range are refused naming them, the range
//! and the value (Huber's `delta` > 0, binary crossentropy's `label_smoothing` in [0, 1]).

use tapegrad_autodiff::{DType, Tensor};
use tapegrad_nn::losses::{binary_crossentropy, huber, BinaryCrossentropy, Huber, Loss};
use tapegrad_nn::Error;

fn t(v: &[f32]) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

fn assert_invalid(err: Error, what: &str, message: &str) {
    assert!(
        matches!(err, Error::Invalid { what: w, .. } if w == what),
        "{err}"
    );
    assert_eq!(err.to_string(), message);
}

#[test]
fn huber_delta_of_minus_1_is_refused() {
    let (y, p) = (t(&[0.0, 0.0]), t(&[0.5, 3.0]));
    assert_invalid(
        huber(&y, &p, -1.0).unwrap_err(),
        "huber",
        "huber: `delta` must be a finite number > 0, got -1",
    );
    for bad in [0.0, -0.0, f64::NAN, f64::INFINITY] {
        let err = huber(&y, &p, bad).unwrap_err();
        assert!(
            err.to_string()
                .contains("`delta` must be a finite number > 0"),
            "{err}"
        );
    }
    // a delta that float32 rounds to 0 or to infinity is refused too, saying so
    assert_invalid(
        huber(&y, &p, 1e-50).unwrap_err(),
        "huber",
        "huber: `delta` must be a finite number > 0, got 1e-50 (0 in float32)",
    );
    assert_invalid(
        huber(&y, &p, 1e39).unwrap_err(),
        "huber",
        "huber: `delta` must be a finite number > 0, got 1e39 (inf in float32)",
    );
    // ... but not in float64
    let y64 = Tensor::from_vec(vec![0.0f64, 0.0], &[2]).unwrap();
    let p64 = Tensor::from_vec(vec![0.5f64, 3.0], &[2]).unwrap();
    assert_eq!(p64.dtype(), DType::F64);
    assert!(huber(&y64, &p64, 1e39).is_ok());
    // the loss object checks at construction and, its fields being public, at every call
    assert_invalid(
        Huber::with_delta(-1.0).unwrap_err(),
        "Huber",
        "Huber: `delta` must be a finite number > 0, got -1",
    );
    let mut object = Huber::with_delta(2.0).unwrap();
    assert!(object.call(&y, &p).is_ok());
    object.delta = -1.0;
    assert!(object.call(&y, &p).is_err());
    // valid deltas keep their numbers
    assert_eq!(
        huber(&y, &p, 1.0).unwrap().item().unwrap(),
        (0.125 + 2.5) / 2.0
    );
}

#[test]
fn binary_crossentropy_label_smoothing_outside_0_1_is_refused() {
    let (y, p) = (t(&[1.0, 0.0]), t(&[0.75, 0.25]));
    for from_logits in [false, true] {
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let err = binary_crossentropy(&y, &p, from_logits, bad).unwrap_err();
            assert_invalid(
                err,
                "binary_crossentropy",
                &format!(
                    "binary_crossentropy: `label_smoothing` must be between 0 and 1, got {bad}"
                ),
            );
        }
        for ok in [0.0, 0.2, 1.0] {
            assert!(binary_crossentropy(&y, &p, from_logits, ok).is_ok());
        }
    }
    assert_invalid(
        BinaryCrossentropy::with_label_smoothing(2.0).unwrap_err(),
        "BinaryCrossentropy",
        "BinaryCrossentropy: `label_smoothing` must be between 0 and 1, got 2",
    );
    let object = BinaryCrossentropy {
        label_smoothing: -1.0,
        ..BinaryCrossentropy::new()
    };
    assert!(object.call(&y, &p).is_err());
}
