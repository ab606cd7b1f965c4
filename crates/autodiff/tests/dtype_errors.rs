//! Issue 13, item 2: two operands of two dtypes are an error naming the op, both operands (a
//! variable by its name, whether or not a tape records its read), both dtypes and the fix.

use tapegrad_autodiff::{
    add, div, matmul, maximum, mul, pow, sub, DType, GradientTape, Tensor, Variable,
};

const FIX: &str = "TensorFlow does not convert between them: cast the float64 one with \
                   `.cast(DType::F32)` (or build it as float32; a Rust float scalar already takes \
                   the other operand's dtype)";

fn message(op: &str, lhs: &str, rhs: &str) -> String {
    format!("{op}: the operands have different dtypes, {lhs} and {rhs}; {FIX}")
}

fn x64() -> Tensor {
    Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap()
}

/// Each case with no tape, with a tape recording (which watches the variable it reads), and
/// with a tape whose recording is paused.
fn under_each_tape(case: impl Fn()) {
    case();
    let tape = GradientTape::new();
    case();
    {
        let _paused = tape.stop_recording();
        case();
    }
    drop(tape);
}

#[test]
fn a_variable_is_named_in_either_order_with_or_without_a_tape() {
    let v = Variable::new(1.0).with_name("v");
    let x = x64();
    let var = "the variable `v` (float32)";
    let tensor = "a tensor of shape [2] (float64)";
    under_each_tape(|| {
        let err = (&v * &x).unwrap_err().to_string();
        assert_eq!(err, message("mul", var, tensor));
        let err = (&x * &v).unwrap_err().to_string();
        assert_eq!(err, message("mul", tensor, var));
        // the variable moved in, not borrowed
        let err = (v.clone() + &x).unwrap_err().to_string();
        assert_eq!(err, message("add", var, tensor));
        let err = (&x - v.clone()).unwrap_err().to_string();
        assert_eq!(err, message("sub", tensor, var));
    });
}

#[test]
fn an_unnamed_variable_is_named_by_its_default_name() {
    // tf.Variable's default name, which Keras's weights replace with their own
    let v = Variable::new(Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap());
    assert_eq!(v.name(), "Variable");
    let x = x64();
    let var = "the variable `Variable` (float32)";
    let tensor = "a tensor of shape [2] (float64)";
    under_each_tape(|| {
        assert_eq!(
            div(&v, &x).unwrap_err().to_string(),
            message("div", var, tensor)
        );
        assert_eq!(
            div(&x, &v).unwrap_err().to_string(),
            message("div", tensor, var)
        );
    });
}

#[test]
fn every_binary_op_names_the_variable_and_two_variables_are_both_named() {
    let a = Variable::new(1.0).with_name("a");
    let b = Variable::with_dtype(2.0, DType::F64).with_name("b");
    let x = x64();
    under_each_tape(|| {
        for (op, err) in [
            ("add", add(&x, &a).unwrap_err()),
            ("sub", sub(&a, &x).unwrap_err()),
            ("mul", mul(&x, &a).unwrap_err()),
            ("maximum", maximum(&a, &x).unwrap_err()),
            ("pow", pow(&x, &a).unwrap_err()),
            (
                "matmul",
                matmul(x.reshape(&[1, 2]).unwrap(), &a).unwrap_err(),
            ),
        ] {
            let e = err.to_string();
            assert!(e.starts_with(&format!("{op}: ")), "{e}");
            assert!(
                e.contains("the variable `a` (float32)") && e.contains("(float64)"),
                "{e}"
            );
            assert!(e.ends_with(FIX), "{e}");
        }
        assert_eq!(
            (&a * &b).unwrap_err().to_string(),
            message(
                "mul",
                "the variable `a` (float32)",
                "the variable `b` (float64)"
            )
        );
    });
}

#[test]
fn a_read_value_is_named_only_where_a_tape_recorded_the_read() {
    // a tensor read before keeps no link to its variable, but the tape that recorded the read
    let v = Variable::new(1.0).with_name("v");
    let x = x64();
    let r = v.read_value();
    assert_eq!(
        (&r * &x).unwrap_err().to_string(),
        message(
            "mul",
            "a scalar tensor (float32)",
            "a tensor of shape [2] (float64)"
        )
    );
    let tape = GradientTape::new();
    let r = v.read_value();
    assert_eq!(
        (&r * &x).unwrap_err().to_string(),
        message(
            "mul",
            "the variable `v` (float32)",
            "a tensor of shape [2] (float64)"
        )
    );
    drop(tape);
}

#[test]
fn operands_of_one_dtype_still_work_and_record() {
    let v = Variable::new(3.0).with_name("v");
    let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    let tape = GradientTape::new();
    let y = tapegrad_autodiff::reduce_sum(&v * &x, None, false).unwrap();
    assert_eq!(y.item().unwrap(), 9.0);
    let g = tape.gradient(&y, &[&v]).unwrap();
    assert_eq!(g[0].as_ref().unwrap().item().unwrap(), 3.0);
}
