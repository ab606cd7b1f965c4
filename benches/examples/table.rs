//! The issue-6 table: µs per step of every documented workload through the crates and as a
//! hand-fused floor, their ratio, samples per second, and allocations and bytes per step
//! (counting allocator). In-process timing: the median of 15 batches, each about 20 ms.
//!
//! ```sh
//! cargo run --release -p tapegrad-benches --example table            # every workload
//! cargo run --release -p tapegrad-benches --example table -- --json  # one JSON object a line
//! cargo run --release -p tapegrad-benches --example table -- --only two-weights
//! ```

use std::time::Instant;

use tapegrad::{optim::Sgd, prelude::Tensor};

use tapegrad_benches::{
    allocations_per_step, linear_data, linear_mse_floor, linear_mse_floor_exact, scaling_is_large,
    two_weights_data, two_weights_floor, CountingAllocator, DenseFloor, DenseNet, LinearMse,
    TwoWeights, SCALING_BATCHES, SCALING_FEATURES, SCALING_SAMPLES, SCALING_WIDTHS,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Median seconds per call of `f`: of 15 batches of about 20 ms, or of 5 single calls when one
/// call takes more than 0.2 s (the large scaling points).
fn median_time(mut f: impl FnMut()) -> f64 {
    // calibrate to batches of ~20 ms
    let mut reps = 1usize;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        if t.elapsed().as_secs_f64() > 0.02 || reps > 1 << 26 {
            break;
        }
        reps *= 2;
    }
    let t = Instant::now();
    f();
    let batches = if reps == 1 && t.elapsed().as_secs_f64() > 0.2 {
        5
    } else {
        15
    };
    let mut times: Vec<f64> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// A constructor of a documented linear workload.
type MakeLinear = fn() -> tapegrad_autodiff::Result<LinearMse>;

struct Row {
    workload: String,
    samples: usize,
    ours: f64,
    traced: f64,
    floor: f64,
    allocs: f64,
    bytes: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let only: Vec<&String> = args
        .windows(2)
        .filter(|w| w[0] == "--only")
        .map(|w| &w[1])
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| name.starts_with(o.as_str()));
    let mut rows = Vec::new();
    let mut push = |row: Row| {
        if json {
            println!(
                "{{\"workload\":\"{}\",\"samples\":{},\"ours_us\":{:.4},\"traced_us\":{:.4},\"floor_us\":{:.4},\"allocs_per_step\":{:.1},\"bytes_per_step\":{:.0}}}",
                row.workload, row.samples, row.ours * 1e6, row.traced * 1e6, row.floor * 1e6, row.allocs, row.bytes
            );
        }
        rows.push(row);
    };

    if wanted("two-weights") {
        let model = TwoWeights::new().expect("data");
        let (x, y) = two_weights_data();
        let (mut a, mut b) = (0.0f32, 0.0f32);
        let ours = median_time(|| model.step().expect("step"));
        let floor = median_time(|| {
            two_weights_floor(
                std::hint::black_box(&x),
                std::hint::black_box(&y),
                &mut a,
                &mut b,
            )
        });
        let (allocs, bytes) = allocations_per_step(10, 1000, || model.step().expect("step"));
        let mut traced_step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(model.step_loss()?));
        let traced = median_time(|| drop(traced_step.call(&mut (), &[]).expect("traced step")));
        push(Row {
            workload: "two-weights".into(),
            samples: 50,
            ours,
            traced,
            floor,
            allocs,
            bytes,
        });
    }
    let linear: [(&str, MakeLinear, usize); 3] = [
        ("scratch-regression", LinearMse::scratch_regression, 100),
        ("tape-regression", LinearMse::tape_regression, 8000),
        ("custom-training", LinearMse::custom_training, 1000),
    ];
    let mut linear_rows: Vec<(String, LinearMse, usize)> = linear
        .iter()
        .filter(|(name, _, _)| wanted(name))
        .map(|(name, make, n)| (name.to_string(), make().expect("data"), *n))
        .collect();
    for n in SCALING_SAMPLES {
        let name = format!("scaling/linear/n{n}");
        if !only.is_empty() && wanted(&name) {
            linear_rows.push((name, LinearMse::new(n, 0.01, false).expect("data"), n));
        }
    }
    for (name, model, n) in linear_rows {
        let (x, y) = linear_data(n);
        let lr = model.learning_rate() as f32;
        let (mut w, mut b) = (0.0f32, 0.0f32);
        let ours = median_time(|| model.step().expect("step"));
        // the floor in the eager order (one pass, the crates' bits) where there is one; the
        // plain one-pass floor for document 001's `pow`
        let floor = if model.uses_pow() {
            median_time(|| {
                linear_mse_floor(
                    std::hint::black_box(&x),
                    std::hint::black_box(&y),
                    &mut w,
                    &mut b,
                    lr,
                )
            })
        } else {
            median_time(|| {
                std::hint::black_box(linear_mse_floor_exact(
                    std::hint::black_box(&x),
                    std::hint::black_box(&y),
                    &mut w,
                    &mut b,
                    lr,
                ));
            })
        };
        let (allocs, bytes) = allocations_per_step(3, 100, || model.step().expect("step"));
        let mut traced_step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(model.step_loss()?));
        let traced = median_time(|| drop(traced_step.call(&mut (), &[]).expect("traced step")));
        push(Row {
            workload: name,
            samples: n,
            ours,
            traced,
            floor,
            allocs,
            bytes,
        });
    }
    let mut dense: Vec<(String, usize, usize, usize, f64)> = vec![
        ("depth-dense-sgd".into(), 1, 3, 0, 0.1),
        ("depth-dense-minibatch".into(), 3, 3, 0, 0.1),
        ("depth-mlp".into(), 1, 10, 10, 0.01),
    ];
    if !only.is_empty() {
        for n in SCALING_SAMPLES {
            for f in SCALING_FEATURES.into_iter().filter(|&f| f > 1) {
                dense.push((format!("scaling/linear/n{n}xf{f}"), n, f, 0, 0.01));
            }
        }
        for w in SCALING_WIDTHS {
            for b in SCALING_BATCHES {
                dense.push((format!("scaling/mlp/w{w}_b{b}"), b, w, w, 0.001));
            }
        }
    }
    for (name, batch, features, hidden, lr) in dense {
        if !wanted(&name) {
            continue;
        }
        let mut model = DenseNet::new(batch, features, hidden, lr).expect("model");
        let ours = median_time(|| model.step().expect("step"));
        let (warm_up, steps) = if scaling_is_large(batch, features, hidden) {
            (1, 2)
        } else {
            (3, 100)
        };
        let (allocs, bytes) = allocations_per_step(warm_up, steps, || model.step().expect("step"));
        let mut sgd = Sgd::new(lr);
        let mut traced_step = tapegrad::function(|opt: &mut Sgd, _: &[Tensor]| {
            model
                .step_with(opt)
                .map_err(|e| tapegrad::Error::Function(e.to_string()))
        });
        let traced = median_time(|| drop(traced_step.call(&mut sgd, &[]).expect("traced step")));
        drop(traced_step);
        drop(model);
        let mut floor_model = DenseFloor::new(batch, features, hidden, lr as f32);
        let floor = median_time(|| floor_model.step());
        push(Row {
            workload: name,
            samples: batch,
            ours,
            traced,
            floor,
            allocs,
            bytes,
        });
    }

    if !json {
        println!(
            "{:<28} {:>12} {:>12} {:>12} {:>8} {:>14} {:>10} {:>12}",
            "workload",
            "ours µs",
            "traced µs",
            "floor µs",
            "ratio",
            "samples/s",
            "allocs",
            "bytes/step"
        );
        for r in &rows {
            println!(
                "{:<28} {:>12.3} {:>12.3} {:>12.3} {:>8.1} {:>14.3e} {:>10.1} {:>12.0}",
                r.workload,
                r.ours * 1e6,
                r.traced * 1e6,
                r.floor * 1e6,
                r.ours / r.floor,
                r.samples as f64 / r.ours,
                r.allocs,
                r.bytes
            );
        }
    }
}
