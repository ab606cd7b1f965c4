//! Benchmarks of the autodiff core: document 000's training step and the per-op overhead.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tapegrad_autodiff::{add, GradientTape, Tensor};
use tapegrad_benches::{two_weights_data, two_weights_floor, TwoWeights};

fn two_weights_step(c: &mut Criterion) {
    let model = TwoWeights::new().expect("data");
    c.bench_function("two_weights_step", |b| {
        b.iter(|| model.step().expect("step"))
    });
    let (x, y) = two_weights_data();
    let (mut a, mut bb) = (0.0f32, 0.0f32);
    c.bench_function("two_weights_step_floor", |b| {
        b.iter(|| two_weights_floor(black_box(&x), black_box(&y), &mut a, &mut bb))
    });
}

fn op_overhead(c: &mut Criterion) {
    let x = Tensor::scalar(1.0f32);
    let y = Tensor::scalar(2.0f32);
    c.bench_function("op_overhead/add_not_recorded", |b| {
        b.iter(|| add(black_box(&x), black_box(&y)).expect("add"))
    });
    let tape = GradientTape::new();
    tape.watch(&x);
    let mut n = 0;
    c.bench_function("op_overhead/add_recorded", |b| {
        b.iter(|| {
            n += 1;
            if n % 10_000 == 0 {
                tape.reset();
                tape.watch(&x);
            }
            add(black_box(&x), black_box(&y)).expect("add")
        })
    });
}

criterion_group!(benches, two_weights_step, op_overhead);
criterion_main!(benches);
