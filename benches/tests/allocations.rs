//! Many steps of `two-weights` (and of the other documented workloads) do not grow memory:
//! the allocations and bytes per step are the same late in a run as early in it, and every
//! allocation of a step is freed by the next one.

use tapegrad_benches::{allocations_per_step, CountingAllocator, DenseNet, LinearMse, TwoWeights};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn two_weights_allocations_per_step_do_not_grow() {
    let model = TwoWeights::new().expect("data");
    let early = allocations_per_step(10, 1_000, || model.step().expect("step"));
    // 100 000 more steps, then measure again
    let _ = allocations_per_step(0, 100_000, || model.step().expect("step"));
    let late = allocations_per_step(0, 1_000, || model.step().expect("step"));
    assert!(early.0 > 0.0, "the counting allocator is registered");
    assert_eq!(early, late, "allocations and bytes per step, early vs late");
    // whole numbers: every step allocates exactly the same
    assert_eq!(early.0.fract(), 0.0, "{early:?}");
}

#[test]
fn documented_steps_allocate_the_same_every_step() {
    // a few warm-up steps fill the thread's pools of tensor shells and buffers
    let lin = LinearMse::tape_regression().expect("data");
    let a = allocations_per_step(20, 200, || lin.step().expect("step"));
    let b = allocations_per_step(0, 200, || lin.step().expect("step"));
    assert_eq!(a, b);
    let mut mlp = DenseNet::mlp().expect("model");
    let a = allocations_per_step(20, 200, || mlp.step().expect("step"));
    let b = allocations_per_step(0, 200, || mlp.step().expect("step"));
    assert_eq!(a, b);
}
