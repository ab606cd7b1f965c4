//! `Pipeline`: tf.data's shuffle, batch, map and repeat over a table or a CSV file streamed a
//! row at a time.

use ndarray::{array, Array2};
use tapegrad_datasets::io::{read_csv_with_targets, write_csv};
use tapegrad_datasets::pipeline::{Batch, Pipeline, Stream};
use tapegrad_datasets::{Dataset, Result};

/// Rows `i` with features `[i, 10 i]` and target `[-i]`.
fn table(n: usize) -> Pipeline {
    let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * [1, 10][j]) as f64);
    let y = Array2::from_shape_fn((n, 1), |(i, _)| -(i as f64));
    Pipeline::from_arrays(x, y).unwrap()
}

/// The row numbers a stream gives, in order (its features' first column).
fn order(p: &Pipeline) -> Vec<usize> {
    let mut out = Vec::new();
    for b in p.iter().unwrap() {
        let b = b.unwrap();
        assert_eq!(b.features.nrows(), b.targets.nrows());
        for r in 0..b.len() {
            let i = b.features[[r, 0]];
            assert_eq!(
                b.features[[r, 1]],
                10.0 * i,
                "a row's features stay together"
            );
            assert_eq!(b.targets[[r, 0]], -i, "a row keeps its target");
            out.push(i as usize);
        }
    }
    out
}

#[test]
fn batches_repeat_and_drop_the_remainder() {
    let sizes =
        |p: Pipeline| -> Vec<usize> { p.iter().unwrap().map(|b| b.unwrap().len()).collect() };
    assert_eq!(sizes(table(7).batch(3)), [3, 3, 1]);
    assert_eq!(sizes(table(7).batch(3).drop_remainder(true)), [3, 3]);
    assert_eq!(sizes(table(6).batch(3).repeat(2)), [3, 3, 3, 3]);
    assert_eq!(sizes(table(2)), [1, 1], "unbatched: one row an element");
    assert_eq!(
        order(&table(5).batch(2).repeat(3)),
        [0, 1, 2, 3, 4].repeat(3)
    );
    let forever: Vec<usize> = table(2)
        .repeat_forever()
        .iter()
        .unwrap()
        .take(5)
        .map(|b| b.unwrap().features[[0, 0]] as usize)
        .collect();
    assert_eq!(forever, [0, 1, 0, 1, 0]);
    // nothing repeated for ever is nothing, not a hang
    assert_eq!(table(0).repeat_forever().iter().unwrap().count(), 0);
    assert_eq!(
        table(3).repeat(0).iter().unwrap().count(),
        3,
        "repeat(0): the pass begun"
    );
}

#[test]
fn a_shuffle_is_a_seeded_permutation_new_on_each_pass() {
    let n = 50;
    let p = table(n).shuffle(n, 7).repeat(2);
    let o = order(&p);
    let (first, second) = o.split_at(n);
    for pass in [first, second] {
        let mut sorted = pass.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "every row once a pass");
    }
    assert_ne!(first, second, "each pass is shuffled afresh");
    assert_ne!(first, (0..n).collect::<Vec<_>>().as_slice());
    assert_eq!(o, order(&p), "the same seed, the same order");
    assert_ne!(
        o,
        order(&table(n).shuffle(n, 8).repeat(2)),
        "another seed, another order"
    );
    // a buffer of one keeps the order
    assert_eq!(order(&table(n).shuffle(1, 7)), (0..n).collect::<Vec<_>>());
}

#[test]
fn a_small_buffer_moves_rows_only_so_far_forward() {
    // with a buffer of b, the k-th row out is one of the first k + b rows in
    for seed in 0..20 {
        let b = 4;
        let o = order(&table(40).shuffle(b, seed));
        for (k, &i) in o.iter().enumerate() {
            assert!(i < k + b, "seed {seed}: row {i} came out at {k}");
        }
    }
}

#[test]
fn a_full_buffer_shuffles_uniformly() {
    // which row comes out first, over 2000 seeds: each of 5 about a fifth of the time
    let mut counts = [0usize; 5];
    for seed in 0..2000 {
        counts[order(&table(5).shuffle(5, seed))[0]] += 1;
    }
    for (i, &c) in counts.iter().enumerate() {
        assert!(
            (320..=480).contains(&c),
            "row {i} first {c} times of 2000: {counts:?}"
        );
    }
}

#[test]
fn map_runs_in_order_and_its_error_ends_the_pass() -> Result<()> {
    let p = table(4).batch(2).map(|b: Batch| {
        Ok(Batch {
            targets: b.targets * 2.0,
            ..b
        })
    });
    let b = p.iter()?.next().unwrap()?;
    assert_eq!(b.targets, array![[0.0], [-2.0]]);
    let failing = table(4).map(|b: Batch| {
        if b.features[[0, 0]] == 2.0 {
            Err(tapegrad_datasets::DatasetsError::InvalidParameter {
                name: "row",
                message: "row 2 refused".into(),
            })
        } else {
            Ok(b)
        }
    });
    let out: Vec<_> = failing.iter()?.collect();
    assert_eq!(out.len(), 3, "two rows, then the error, then nothing");
    assert!(out[2]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("row 2 refused"));
    Ok(())
}

#[test]
fn settings_are_checked_when_the_pipeline_runs() {
    let err = |p: Pipeline| p.iter().unwrap_err().to_string();
    assert!(err(table(3).batch(0)).contains("batch_size must be at least 1"));
    assert!(err(table(3).shuffle(0, 1)).contains("buffer_size must be at least 1"));
    assert!(err(table(3).batch(2).batch(2)).contains("2 batch stages"));
    let e = Pipeline::from_arrays(array![[1.0]], array![[1.0], [2.0]]).unwrap_err();
    assert!(e
        .to_string()
        .contains("1 rows of features and 2 of targets"));
}

#[test]
fn a_streamed_csv_gives_what_the_table_read_whole_gives() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv");
    let df = Dataset::from_columns(vec![
        ("a", array![1.5, 2.0, -3.0, 4.25, 5.0, 6.0, 7.0]),
        ("y", array![10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0]),
        ("b", array![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
    ])?;
    write_csv(&path, &df)?;
    let whole = read_csv_with_targets(&path, &["y"])?;
    let run = |p: Pipeline| -> Result<Vec<Batch>> { p.iter()?.collect() };
    let streamed = run(Pipeline::from_csv(&path, &["y"])
        .shuffle(3, 5)
        .batch(2)
        .repeat(2))?;
    let in_memory = run(Pipeline::from_dataset(&whole)
        .shuffle(3, 5)
        .batch(2)
        .repeat(2))?;
    assert_eq!(streamed, in_memory);
    assert_eq!(streamed.len(), 8);
    assert_eq!(streamed[0].features.ncols(), 2, "a and b; y is the target");
    Ok(())
}

#[test]
fn a_bad_csv_is_named_where_it_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "x,y\n1,2\n3,\n5,6\n").unwrap();
    let out: Vec<_> = Pipeline::from_csv(&path, &["y"]).iter().unwrap().collect();
    assert_eq!(out.len(), 2, "one row, then the error, then nothing");
    let e = out[1].as_ref().unwrap_err().to_string();
    assert!(
        e.contains("bad.csv:3:2:") && e.contains("missing value in column `y`"),
        "{e}"
    );

    let e = Pipeline::from_csv(&path, &["z"])
        .iter()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.csv:1:") && e.contains("no column named `z`"),
        "{e}"
    );
    let gone = dir.path().join("gone.csv");
    let e = Pipeline::from_csv(&gone, &["y"])
        .iter()
        .unwrap_err()
        .to_string();
    assert!(e.contains("gone.csv"), "{e}");
    std::fs::write(&path, "x,x\n1,2\n").unwrap();
    let e = Pipeline::from_csv(&path, &[])
        .iter()
        .unwrap_err()
        .to_string();
    assert!(e.contains("repeated"), "{e}");
    // a row of too many fields
    std::fs::write(&path, "x,y\n1,2,3\n").unwrap();
    let e = Pipeline::from_csv(&path, &["y"])
        .iter()
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(
        e.to_string().contains("row has 3 fields, the header has 2"),
        "{e}"
    );
}

#[test]
fn a_running_pipeline_crosses_threads() {
    fn send<T: Send>(_: &T) {}
    let s: Stream = table(4).shuffle(2, 1).batch(2).iter().unwrap();
    send(&s);
    let p = table(4).shuffle(4, 3);
    let here = order(&p);
    let there = std::thread::spawn(move || order(&p)).join().unwrap();
    assert_eq!(here, there);
}

/// The resident set's high-water mark, in kB (Linux).
fn peak_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A CSV of about `TAPEGRAD_BIG_CSV_MB` megabytes (default 2048) streamed through a shuffle of
/// 10 000 rows and batches of 256: the resident set grows by the buffers, not the file.
/// `cargo test -p tapegrad-datasets --release --test pipeline -- --ignored --nocapture`
#[test]
#[ignore = "writes a file of gigabytes"]
fn a_file_larger_than_the_buffers_streams_in_bounded_memory() {
    use std::io::Write;
    let mb: u64 = std::env::var("TAPEGRAD_BIG_CSV_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "x0,x1,x2,x3,x4,x5,x6,x7,y").unwrap();
    let mut rows = 0u64;
    let mut written = 0u64;
    while written < mb << 20 {
        let line = format!(
            "{0}.125,{0}.25,{0}.375,{0}.5,{0}.625,{0}.75,{0}.875,{0}.0625,{1}\n",
            rows % 100_000,
            rows % 7
        );
        written += line.len() as u64;
        w.write_all(line.as_bytes()).unwrap();
        rows += 1;
    }
    w.flush().unwrap();
    drop(w);
    let before = peak_kb().unwrap_or(0);
    let started = std::time::Instant::now();
    let mut seen = 0u64;
    let mut sum = 0.0;
    for b in Pipeline::from_csv(&path, &["y"])
        .shuffle(10_000, 1)
        .batch(256)
        .iter()
        .unwrap()
    {
        let b = b.unwrap();
        seen += b.len() as u64;
        sum += b.targets.sum();
    }
    let after = peak_kb().unwrap_or(0);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "streamed {rows} rows ({} MB) in {secs:.1} s ({:.0} MB/s); peak resident set {} MB before, {} MB after",
        written >> 20,
        (written >> 20) as f64 / secs,
        before >> 10,
        after >> 10
    );
    assert_eq!(seen, rows);
    assert_eq!(sum, (0..rows).map(|r| (r % 7) as f64).sum::<f64>());
    assert!(
        after.saturating_sub(before) < 256 << 10,
        "the resident set grew by {} MB streaming a {} MB file",
        after.saturating_sub(before) >> 10,
        written >> 20
    );
}
