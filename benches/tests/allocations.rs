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

/// Allocations a replayed step makes: the seven documented workloads through
/// `tapegrad::function`, after the first (traced) call.
fn traced_allocations() -> Vec<(&'static str, (f64, f64))> {
    use tapegrad::optim::Sgd;
    use tapegrad_autodiff::Tensor;
    let mut out = Vec::new();
    let two = TwoWeights::new().expect("data");
    let mut step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(two.step_loss()?));
    out.push((
        "two-weights",
        allocations_per_step(20, 500, || drop(step.call(&mut (), &[]).expect("step"))),
    ));
    for (name, lin) in [
        ("scratch-regression", LinearMse::scratch_regression()),
        ("tape-regression", LinearMse::tape_regression()),
        ("custom-training", LinearMse::custom_training()),
    ] {
        let lin = lin.expect("data");
        let mut step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(lin.step_loss()?));
        out.push((
            name,
            allocations_per_step(20, 500, || drop(step.call(&mut (), &[]).expect("step"))),
        ));
    }
    for (name, net) in [
        ("depth-dense-sgd", DenseNet::dense_sgd()),
        ("depth-dense-minibatch", DenseNet::dense_minibatch()),
        ("depth-mlp", DenseNet::mlp()),
    ] {
        let net = net.expect("model");
        let mut sgd = Sgd::new(net.learning_rate());
        let mut step = tapegrad::function(|opt: &mut Sgd, _: &[Tensor]| {
            net.step_with(opt)
                .map_err(|e| tapegrad::Error::Function(e.to_string()))
        });
        out.push((
            name,
            allocations_per_step(20, 500, || drop(step.call(&mut sgd, &[]).expect("step"))),
        ));
    }
    out
}

#[test]
fn replayed_steps_allocate_the_same_every_step() {
    let first = traced_allocations();
    let again = traced_allocations();
    for ((name, a), (_, b)) in first.iter().zip(&again) {
        assert_eq!(a.0.fract(), 0.0, "{name}: {a:?}");
        assert_eq!(a, b, "{name}");
    }
    // the steps without an optimizer object (elementwise regions, variables' assignments)
    // allocate nothing once traced; the Dense steps' matmuls and optimizer still do
    for (name, a) in &first[..4] {
        assert_eq!(*a, (0.0, 0.0), "{name}");
    }
    eprintln!("allocations a replayed step: {first:?}");
}
