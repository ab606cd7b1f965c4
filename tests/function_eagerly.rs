//! `tapegrad::run_functions_eagerly`, alone in its test binary: the switch is global.

use std::cell::Cell;

use tapegrad::prelude::*;

#[test]
fn run_functions_eagerly_runs_the_closure_each_call() -> tapegrad::Result<()> {
    let calls = Cell::new(0);
    let mut f = tapegrad::function(|_: &mut (), x: &[Tensor]| {
        calls.set(calls.get() + 1);
        Ok(exp(&x[0])?)
    });
    let x = Tensor::scalar(1.0f32);
    tapegrad::run_functions_eagerly(true);
    let eager = (
        f.call(&mut (), std::slice::from_ref(&x)),
        f.call(&mut (), std::slice::from_ref(&x)),
    );
    tapegrad::run_functions_eagerly(false);
    eager.0?;
    eager.1?;
    assert_eq!((calls.get(), f.traces()), (2, 0));
    f.call(&mut (), std::slice::from_ref(&x))?;
    let y = f.call(&mut (), &[Tensor::scalar(2.0f32)])?;
    assert_eq!((calls.get(), f.traces()), (3, 1));
    assert_eq!(y.item()?, f64::from(2.0f32.exp()));
    Ok(())
}
