//! `fit_pipeline` on a Parquet file streamed a row group at a time trains as on the same table
//! written as CSV, bit for bit; and (ignored) on a Parquet file of gigabytes the resident set
//! grows by the pipeline's buffers, a row group and the model, not by the file.
//! `cargo test -p tapegrad-train --features parquet --test parquet_fit`;
//! `TAPEGRAD_BIG_PARQUET_MB=2048 cargo test -p tapegrad-train --features parquet --test
//! parquet_fit -- --ignored --nocapture` (the dev profile builds polars optimized already).
#![cfg(feature = "parquet")]

use ndarray::Array1;
use tapegrad_datasets::io::{write_csv, write_parquet};
use tapegrad_datasets::pipeline::Pipeline;
use tapegrad_datasets::polars::prelude::{Column, DataFrame, ParquetWriter};
use tapegrad_datasets::{Dataset, RandomState};
use tapegrad_nn::{Dense, GlorotUniform, Layer, Sequential};
use tapegrad_optim::Adam;
use tapegrad_train::{CompileExt, Compiled, FitOptions};

fn model(seed: u64) -> Compiled<Sequential> {
    Sequential::with_input_shape(&[3])
        .layer(
            Dense::new(4)
                .activation("relu")
                .unwrap()
                .kernel_initializer(GlorotUniform::new().seed(seed)),
        )
        .and_then(|m| {
            m.layer(Dense::new(1).kernel_initializer(GlorotUniform::new().seed(seed + 1)))
        })
        .unwrap()
        .compile(Adam::new(0.01), "mse", ["mae"])
        .unwrap()
}

#[test]
fn fit_on_parquet_equals_fit_on_the_same_table_as_csv() {
    let n = 157;
    let mut rs = RandomState::new(3);
    let mut col = |s: f64| -> Array1<f64> { rs.normal(0.0, s, n).unwrap() };
    let (a, b, c) = (col(1.0), col(2.0), col(0.1));
    let y = &a * 0.5 - &b * 0.25 + &c * 3.0 + 1.0;
    // the target between the features: the split is by name, not place
    let mut ds = Dataset::from_columns(vec![("a", a), ("y", y), ("b", b), ("c", c)]).unwrap();
    ds.set_targets(&["y"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (csv, pq) = (dir.path().join("t.csv"), dir.path().join("t.parquet"));
    write_csv(&csv, &ds).unwrap();
    // row groups of 40 rows, so a pass crosses several
    let mut f = std::fs::File::create(&pq).unwrap();
    ParquetWriter::new(&mut f)
        .with_row_group_size(Some(40))
        .finish(&mut ds.to_polars())
        .unwrap();
    let whole = dir.path().join("whole.parquet");
    write_parquet(&whole, &ds).unwrap();

    let fit = |path: &std::path::Path, csv: bool| {
        let source = if csv {
            Pipeline::from_csv(path, &["y"])
        } else {
            Pipeline::from_parquet(path, &["y"])
        };
        let data = source.shuffle(64, 5).batch(16).drop_remainder(true);
        let mut m = model(11);
        let h = m
            .fit_pipeline(&data, FitOptions::new().epochs(3).verbose(0))
            .unwrap();
        let eval = m.evaluate_pipeline(&data).unwrap();
        (h, eval, m.model().get_weights())
    };
    let (h_csv, e_csv, w_csv) = fit(&csv, true);
    for path in [&pq, &whole] {
        let (h, e, w) = fit(path, false);
        assert_eq!(h, h_csv, "{}", path.display());
        assert_eq!(e, e_csv);
        assert_eq!(h.epoch, [0, 1, 2]);
        assert!(h.get("loss").unwrap().iter().all(|l| l.is_finite()));
        for (u, v) in w.iter().zip(&w_csv) {
            assert!(u.value().equals(v.value()), "the weights, bit for bit");
        }
    }
    // a string column is refused when fit starts, naming the file and the column
    let bad = dir.path().join("bad.parquet");
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new("a".into(), [1.0, 2.0]),
            Column::new("b".into(), [1.0, 2.0]),
            Column::new("c".into(), ["x", "y"]),
            Column::new("y".into(), [1.0, 2.0]),
        ],
    )
    .unwrap();
    let mut f = std::fs::File::create(&bad).unwrap();
    ParquetWriter::new(&mut f).finish(&mut df).unwrap();
    let err = model(1)
        .fit_pipeline(
            &Pipeline::from_parquet(&bad, &["y"]).batch(2),
            FitOptions::new().verbose(0),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&bad.display().to_string()) && err.contains("column `c` is of type str"),
        "{err}"
    );
}

/// The resident set now and its high-water mark, in kB (Linux).
fn rss_kb() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |key: &str| -> u64 {
        (s.lines().find(|l| l.starts_with(key)))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

#[test]
#[ignore = "writes a file of gigabytes"]
fn fit_on_a_parquet_file_of_gigabytes_keeps_the_resident_set_bounded() {
    let mb: u64 = std::env::var("TAPEGRAD_BIG_PARQUET_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.parquet");
    // row groups of 2^18 rows (polars's default size), written one at a time: random features
    // that zstd cannot shrink much, so the file is as large as its numbers
    let group = 1usize << 18;
    let names = ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "y"];
    let mut rs = RandomState::new(1);
    let file = std::fs::File::create(&path).unwrap();
    let started = std::time::Instant::now();
    let mut writer = None;
    let mut rows = 0u64;
    loop {
        let size = std::fs::metadata(&path).unwrap().len();
        if size >= mb << 20 {
            break;
        }
        let x: Vec<Vec<f64>> = (0..8)
            .map(|_| rs.random_sample(group).unwrap().to_vec())
            .collect();
        let y: Vec<f64> = (0..group)
            .map(|i| (0..8).map(|j| x[j][i] * (j as f64 - 3.5)).sum::<f64>() + 1.0)
            .collect();
        let columns: Vec<Column> = x
            .into_iter()
            .chain([y])
            .zip(names)
            .map(|(v, name)| Column::new(name.into(), v))
            .collect();
        let df = DataFrame::new(group, columns).unwrap();
        let w = writer.get_or_insert_with(|| {
            ParquetWriter::new(file.try_clone().unwrap())
                .batched(df.schema())
                .unwrap()
        });
        w.write_batch(&df).unwrap();
        rows += group as u64;
    }
    if let Some(w) = writer {
        w.finish().unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "wrote {rows} rows, {} row groups, {} MB of Parquet in {:.1} s",
        rows / group as u64,
        size >> 20,
        started.elapsed().as_secs_f64()
    );
    let net = Sequential::with_input_shape(&[8])
        .layer(Dense::new(8).activation("relu").unwrap())
        .and_then(|m| m.layer(Dense::new(1)))
        .unwrap();
    let mut model = net
        .compile(tapegrad_optim::Sgd::new(0.01), "mse", ["mae"])
        .unwrap();
    let data = Pipeline::from_parquet(&path, &["y"])
        .shuffle(10_000, 1)
        .batch(256);
    // the peak from here on (Linux: "5" resets VmHWM to the present resident set), so that
    // writing the file does not hide what fitting takes
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let (rss_before, hwm_before) = rss_kb();
    let started = std::time::Instant::now();
    let history = model
        .fit_pipeline(&data, FitOptions::new().epochs(1).verbose(0))
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let (rss_after, hwm_after) = rss_kb();
    let loss = history.get("loss").unwrap()[0];
    println!(
        "fit one epoch on {rows} rows ({} MB of Parquet) in {secs:.1} s ({:.0} rows/s), loss \
         {loss:.6}; resident set {} MB -> {} MB, peak {} MB -> {} MB",
        size >> 20,
        rows as f64 / secs,
        rss_before >> 10,
        rss_after >> 10,
        hwm_before >> 10,
        hwm_after >> 10
    );
    assert!(loss.is_finite());
    assert!(
        hwm_after.saturating_sub(hwm_before) < 256 << 10,
        "the resident set's peak grew by {} MB fitting on a {} MB file",
        hwm_after.saturating_sub(hwm_before) >> 10,
        size >> 20
    );
}
