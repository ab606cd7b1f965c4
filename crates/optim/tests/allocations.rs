//! The plain SGD step allocates nothing once the optimizer knows the variables: the update is
//! `Variable::assign_sub_scaled`, in place.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_optim::{Optimizer, OptimizerExt, Result, Sgd};

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce() -> Result<u64>) -> Result<usize> {
    let before = COUNT.with(Cell::get);
    f()?;
    Ok(COUNT.with(Cell::get) - before)
}

#[test]
fn plain_sgd_step_does_not_allocate() -> Result<()> {
    let w = Variable::new(tapegrad_tensor::Array::from_vec(
        vec![1.0f32; 1000],
        &[1000],
    )?);
    let b = Variable::new(0.5f32);
    let gw = Tensor::from_vec(vec![0.25f32; 1000], &[1000])?;
    let gb = Tensor::scalar(1.0f32);
    let mut opt = Sgd::new(0.1);
    // The first step records the variables (Keras's build).
    opt.apply_gradient_list(vec![(Some(gw.clone()), &w), (Some(gb.clone()), &b)])?;
    for _ in 0..3 {
        let pairs = vec![(Some(gw.clone()), &w), (Some(gb.clone()), &b)];
        assert_eq!(allocations_during(|| opt.apply_gradient_list(pairs))?, 0);
    }
    // `apply_gradients` (an iterator of pairs) collects them into a buffer it keeps (made by
    // its first call)
    opt.apply_gradients([(Some(gw.clone()), &w), (Some(gb.clone()), &b)])?;
    for _ in 0..3 {
        let grads = [Some(gw.clone()), Some(gb.clone())];
        let step = || opt.apply_gradients(grads.into_iter().zip([&w, &b]));
        assert_eq!(allocations_during(step)?, 0);
    }
    assert_eq!(opt.iterations(), 8);
    let want = (0..8).fold(1.0f32, |w, _| w - 0.25 * 0.1f32);
    assert_eq!(w.snapshot().to_vec::<f32>()?[0], want);
    Ok(())
}
