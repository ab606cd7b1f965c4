//! A replayed step keeps the resident set flat: a million calls of a traced step (issue 14)
//! end with the memory they started with. Read from `/proc/self/status` (Linux; elsewhere the
//! tests have nothing to read and pass without a check).

use tapegrad::optim::Sgd;
use tapegrad_autodiff::Tensor;
use tapegrad_benches::{DenseNet, TwoWeights};

/// The resident set of this process, in KiB (`VmRSS`), where the system says.
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `call` `warm` times, then `calls` more, and returns the resident set after each.
fn resident_over(warm: usize, calls: usize, mut call: impl FnMut()) -> Option<(u64, u64)> {
    for _ in 0..warm {
        call();
    }
    let early = resident_kib()?;
    for _ in 0..calls {
        call();
    }
    Some((early, resident_kib()?))
}

/// What the resident set may grow by over the calls: the allocator's own bookkeeping and the
/// pages the test harness touches meanwhile, far below one step's memory times the calls.
const SLACK_KIB: u64 = 512;

// One test, the workloads in turn: the resident set is the process's, and tests run side by
// side would measure each other.
#[test]
fn replayed_steps_keep_the_resident_set_flat() {
    a_million_replays_of_two_weights();
    replays_of_a_dense_step();
}

fn a_million_replays_of_two_weights() {
    let model = TwoWeights::new().expect("data");
    let mut step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(model.step_loss()?));
    let grown = resident_over(10_000, 990_000, || {
        drop(step.call(&mut (), &[]).expect("step"))
    });
    assert_eq!(step.traces(), 1);
    if let Some((early, late)) = grown {
        assert!(
            late <= early + SLACK_KIB,
            "resident set {early} KiB after 10^4 calls, {late} KiB after 10^6"
        );
    }
}

fn replays_of_a_dense_step() {
    // a Dense step's replay allocates (its matmuls, its optimizer): each allocation is freed
    let net = DenseNet::dense_sgd().expect("model");
    let mut sgd = Sgd::new(net.learning_rate());
    let mut step = tapegrad::function(|opt: &mut Sgd, _: &[Tensor]| {
        net.step_with(opt)
            .map_err(|e| tapegrad::Error::Function(e.to_string()))
    });
    let grown = resident_over(10_000, 190_000, || {
        drop(step.call(&mut sgd, &[]).expect("step"))
    });
    assert_eq!(step.traces(), 1);
    if let Some((early, late)) = grown {
        assert!(
            late <= early + SLACK_KIB,
            "resident set {early} KiB after 10^4 calls, {late} KiB after 2 * 10^5"
        );
    }
}
