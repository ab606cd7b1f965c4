//! `fit` on a CSV file of gigabytes streamed through a pipeline: the resident set grows by the
//! pipeline's buffers and the model, not by the file.
//! `TAPEGRAD_BIG_CSV_MB=2048 cargo test -p tapegrad-train --release --test big_fit -- --ignored --nocapture`

use std::io::Write;

use tapegrad_datasets::pipeline::Pipeline;
use tapegrad_nn::{Dense, Sequential};
use tapegrad_optim::Sgd;
use tapegrad_train::{CompileExt, FitOptions};

/// The resident set's high-water mark, in kB (Linux).
fn peak_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
#[ignore = "writes a file of gigabytes"]
fn fit_on_a_file_larger_than_the_buffers_keeps_the_resident_set_bounded() {
    let mb: u64 = std::env::var("TAPEGRAD_BIG_CSV_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "x0,x1,x2,x3,x4,x5,x6,x7,y").unwrap();
    let (mut rows, mut written) = (0u64, 0u64);
    while written < mb << 20 {
        let v = (rows % 1000) as f64 / 1000.0;
        let line = format!(
            "{v},{},{},{},{},{},{},{},{}\n",
            1.0 - v,
            v * 0.5,
            v * 0.25,
            -v,
            v * v,
            0.5,
            (rows % 3) as f64,
            2.0 * v + 1.0
        );
        written += line.len() as u64;
        w.write_all(line.as_bytes()).unwrap();
        rows += 1;
    }
    w.flush().unwrap();
    drop(w);
    let model = Sequential::with_input_shape(&[8])
        .layer(Dense::new(8).activation("relu").unwrap())
        .and_then(|m| m.layer(Dense::new(1)))
        .unwrap();
    let mut model = model.compile(Sgd::new(0.01), "mse", ["mae"]).unwrap();
    let data = Pipeline::from_csv(&path, &["y"])
        .shuffle(10_000, 1)
        .batch(256);
    let before = peak_kb().unwrap_or(0);
    let started = std::time::Instant::now();
    let history = model
        .fit_pipeline(&data, FitOptions::new().epochs(1).verbose(0))
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let after = peak_kb().unwrap_or(0);
    let loss = history.get("loss").unwrap()[0];
    println!(
        "fit one epoch on {rows} rows ({} MB) in {secs:.1} s ({:.0} rows/s), loss {loss:.6}; peak resident set {} MB before, {} MB after",
        written >> 20,
        rows as f64 / secs,
        before >> 10,
        after >> 10
    );
    assert!(loss.is_finite());
    assert!(
        after.saturating_sub(before) < 256 << 10,
        "the resident set grew by {} MB fitting on a {} MB file",
        after.saturating_sub(before) >> 10,
        written >> 20
    );
}
