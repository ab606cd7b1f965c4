//! Gradients of gradients with nested tapes, and a jacobian:
//!
//! ```python
//! x = tf.Variable(2.0)
//! with tf.GradientTape() as outer:
//!     with tf.GradientTape() as inner:
//!         y = x ** 3
//!     dy_dx = inner.gradient(y, x)        # 3x² = 12
//! d2y_dx2 = outer.gradient(dy_dx, x)      # 6x = 12
//!
//! v = tf.constant([1., 2., 3.])
//! with tf.GradientTape() as tape:
//!     tape.watch(v)
//!     s = tf.nn.softmax(v)
//! j = tape.jacobian(s, v)                 # (3, 3)
//! ```
//!
//! `cargo run --example nested_tapes`

use tapegrad::prelude::*;

pub fn main() -> tapegrad::Result<()> {
    let x = Variable::new(2.0).with_name("x");
    let outer = GradientTape::new();
    let inner = GradientTape::new();
    let y = (&x * &x * &x)?;
    let dy_dx = inner.gradients(&y, &[&x])?;
    let dy_dx = dy_dx.get(&x).expect("y depends on x").clone();
    let d2y_dx2 = outer.gradients(&dy_dx, &[&x])?;
    println!(
        "dy/dx = {dy_dx}, d2y/dx2 = {}",
        d2y_dx2.get(&x).expect("second order")
    );
    assert_eq!(dy_dx.item()?, 12.0);
    assert_eq!(d2y_dx2.get(&x).expect("second order").item()?, 12.0);

    let v = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    let tape = GradientTape::new();
    tape.watch(&v);
    let s = v.softmax(-1)?;
    let j = tape.jacobian(&s, &v)?;
    println!("softmax jacobian:\n{j}");
    assert_eq!(j.shape(), &[3, 3]);
    // each row of a softmax jacobian sums to zero
    for row in j.reduce_sum(&[1])?.to_vec::<f32>()? {
        assert!(row.abs() < 1e-6);
    }
    Ok(())
}
