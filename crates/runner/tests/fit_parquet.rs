//! `tapegrad fit DATA.parquet`: the format from the extension. With the `parquet` feature a
//! table written as Parquet fits as the same table written as CSV, bit for bit, and a bad file
//! exits 2 naming it (and the column); without it, a `.parquet` file exits 2 saying how to
//! build a tapegrad that reads it.
//! `cargo test -p tapegrad-runner --features parquet --test fit_parquet`

use std::path::Path;
use std::process::{Command, Output};

fn tapegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(args)
        .output()
        .expect("run tapegrad")
}

fn text(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

const FIT: [&str; 18] = [
    "--target",
    "y",
    "--layers",
    "4:relu,1",
    "--seed",
    "11",
    "--optimizer",
    "adam",
    "--learning-rate",
    "0.01",
    "--epochs",
    "3",
    "--batch-size",
    "8",
    "--validation-split",
    "0.25",
    "--metrics",
    "mae",
];

fn fit(data: &Path) -> Output {
    let mut args = vec!["fit", text(data)];
    args.extend_from_slice(&FIT);
    args.extend_from_slice(&["--json", "--quiet"]);
    tapegrad(&args)
}

#[cfg(feature = "parquet")]
#[test]
fn fit_on_parquet_equals_fit_on_the_same_table_as_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, pq) = (dir.path().join("reg.csv"), dir.path().join("reg.parquet"));
    for out in [&csv, &pq] {
        let made = tapegrad(&[
            "data",
            "make-regression",
            "--n-samples",
            "70",
            "--n-features",
            "3",
            "--noise",
            "0.5",
            "--random-state",
            "5",
            "--out",
            text(out),
        ]);
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    assert_eq!(&std::fs::read(&pq).expect("parquet")[..4], b"PAR1");
    let (from_csv, from_parquet) = (fit(&csv), fit(&pq));
    for out in [&from_csv, &from_parquet] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json = |o: &Output| {
        let s = String::from_utf8(o.stdout.clone()).expect("utf-8");
        let last = s.lines().last().expect("a line").to_string();
        serde_json::from_str::<serde_json::Value>(&last).expect("json")
    };
    let (a, b) = (json(&from_csv), json(&from_parquet));
    assert_eq!(a["history"]["loss"].as_array().map(Vec::len), Some(3));
    assert_eq!(a, b, "the same history and weights from either file");
    // the extension in any case
    let upper = dir.path().join("REG.PARQUET");
    std::fs::copy(&pq, &upper).expect("copy");
    assert_eq!(json(&fit(&upper)), a);
}

#[cfg(feature = "parquet")]
#[test]
fn a_bad_parquet_file_exits_2_naming_the_file_and_column() {
    use tapegrad_datasets::polars::prelude::{Column, DataFrame, ParquetWriter};
    let dir = tempfile::tempdir().expect("tempdir");
    let not = dir.path().join("not.parquet");
    std::fs::write(&not, "a,y\n1,2\n").expect("write");
    let good = dir.path().join("good.parquet");
    let made = tapegrad(&[
        "data",
        "make-regression",
        "--n-samples",
        "20",
        "--n-features",
        "2",
        "--random-state",
        "1",
        "--out",
        text(&good),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let bytes = std::fs::read(&good).expect("read");
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let strings = dir.path().join("strings.parquet");
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new("x0".into(), [1.0, 2.0]),
            Column::new("city".into(), ["Oslo", "Lima"]),
            Column::new("y".into(), [1.0, 2.0]),
        ],
    )
    .expect("frame");
    ParquetWriter::new(std::fs::File::create(&strings).expect("create"))
        .finish(&mut df)
        .expect("parquet");
    for (path, expected) in [
        (&not, "cannot read as Parquet"),
        (&cut, "cannot read as Parquet"),
        (&strings, "column `city`"),
    ] {
        let out = fit(path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(text(path)) && stderr.contains(expected),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
}

#[cfg(not(feature = "parquet"))]
#[test]
fn a_parquet_file_without_the_feature_exits_2_saying_how_to_build_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pq = dir.path().join("reg.parquet");
    std::fs::write(&pq, b"PAR1").expect("write");
    let out = fit(&pq);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(text(&pq)), "{stderr}");
    assert!(stderr.contains("built without Parquet"), "{stderr}");
    assert!(stderr.contains("--features parquet"), "{stderr}");
    assert!(out.stdout.is_empty());
}
