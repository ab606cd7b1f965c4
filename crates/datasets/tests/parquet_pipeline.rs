//! `Pipeline::from_parquet`: a Parquet file streamed a row group at a time gives the rows the
//! CSV source gives for the same table, bit for bit, through every stage; bad files are errors
//! naming the file, the column and the row group.
//! `cargo test -p tapegrad-datasets --features parquet --test parquet_pipeline`
#![cfg(feature = "parquet")]

use std::path::{Path, PathBuf};

use ndarray::Array1;
use tapegrad_datasets::io::{write_csv, write_parquet};
use tapegrad_datasets::pipeline::{Batch, Pipeline};
use tapegrad_datasets::polars::prelude::{Column, DataFrame, ParquetWriter};
use tapegrad_datasets::{Dataset, RandomState};

/// A table of `n` rows whose numbers need every bit of an f64 (normal draws, scaled far
/// apart, a negative zero, tiny and huge values), targets `y` and `t` among the features.
fn table(n: usize) -> Dataset {
    let mut rs = RandomState::new(7);
    let mut col = |scale: f64| -> Array1<f64> {
        let mut v = rs.normal(0.0, scale, n).unwrap();
        if n > 3 {
            v[1] = -0.0;
            v[2] = 1e-300 * scale;
            v[3] = 1.0 / 3.0 * 1e200;
        }
        v
    };
    let mut ds = Dataset::from_columns(vec![
        ("a", col(1.0)),
        ("y", col(100.0)),
        ("b", col(1e-8)),
        ("c", col(3.0)),
        ("t", col(0.5)),
    ])
    .unwrap();
    ds.set_targets(&["t", "y"]).unwrap();
    ds
}

/// `df` as a Parquet file of row groups of `group` rows.
fn parquet_with_groups(path: &Path, df: &mut DataFrame, group: usize) {
    let mut f = std::fs::File::create(path).unwrap();
    ParquetWriter::new(&mut f)
        .with_row_group_size(Some(group))
        .finish(df)
        .unwrap();
}

/// The table written as CSV and as Parquet (row groups of `group` rows) in `dir`.
fn both(dir: &Path, ds: &Dataset, group: usize) -> (PathBuf, PathBuf) {
    let csv = dir.join("t.csv");
    let pq = dir.join("t.parquet");
    write_csv(&csv, ds).unwrap();
    parquet_with_groups(&pq, &mut ds.to_polars(), group);
    (csv, pq)
}

fn run(p: &Pipeline) -> Vec<Batch> {
    p.iter().unwrap().map(|b| b.unwrap()).collect()
}

/// Equal bit for bit (`-0.0` is not `0.0` here).
fn same_bits(a: &[Batch], b: &[Batch], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: as many elements");
    let bits = |x: &Batch| {
        let features: Vec<u64> = x.features.iter().map(|v| v.to_bits()).collect();
        let targets: Vec<u64> = x.targets.iter().map(|v| v.to_bits()).collect();
        (features, targets, x.features.dim(), x.targets.dim())
    };
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(bits(x), bits(y), "{what}: element {i}");
    }
}

#[test]
fn parquet_gives_the_csv_sources_batches_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let ds = table(103);
    // row groups of 10 rows: 11 groups, the last short; and one group for the whole table
    for group in [10, 1000] {
        let (csv, pq) = both(dir.path(), &ds, group);
        let targets = ["t", "y"];
        type Stages = fn(Pipeline) -> Pipeline;
        let stages: Vec<(&str, Stages)> = vec![
            ("rows", |p| p),
            ("batch(8)", |p| p.batch(8)),
            ("batch(8).drop_remainder", |p| {
                p.batch(8).drop_remainder(true)
            }),
            ("shuffle(17, 3).batch(5).repeat(3)", |p| {
                p.shuffle(17, 3).batch(5).repeat(3)
            }),
            ("shuffle(1000, 9).batch(32)", |p| {
                p.shuffle(1000, 9).batch(32)
            }),
            ("batch(4).shuffle(6, 1).map", |p| {
                p.batch(4).shuffle(6, 1).map(|b| {
                    Ok(Batch {
                        features: b.features * 2.0,
                        ..b
                    })
                })
            }),
        ];
        for (what, stage) in stages {
            let from_csv = run(&stage(Pipeline::from_csv(&csv, &targets)));
            let from_parquet = run(&stage(Pipeline::from_parquet(&pq, &targets)));
            same_bits(
                &from_csv,
                &from_parquet,
                &format!("{what}, groups of {group}"),
            );
        }
        // and they are the table's rows, features in the file's order, targets as named
        let rows = run(&Pipeline::from_parquet(&pq, &targets).batch(1000));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].features, ds.features());
        assert_eq!(rows[0].targets, ds.targets());
        assert_eq!(rows[0].targets.column(0), ds.column("t").unwrap());
    }
    // a table of no rows is no elements, as for CSV
    let empty = Dataset::from_columns(vec![("x", Array1::zeros(0)), ("y", Array1::zeros(0))]);
    let (_, pq) = both(dir.path(), &empty.unwrap(), 10);
    assert_eq!(
        Pipeline::from_parquet(&pq, &["y"]).iter().unwrap().count(),
        0
    );
}

#[test]
fn integer_and_float32_columns_are_cast_as_the_csv_source_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("types.parquet");
    let csv = dir.path().join("types.csv");
    let n = 9;
    let f32s: Vec<f32> = (0..n).map(|i| i as f32 / 3.0 - 1.0).collect();
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new(
                "i32".into(),
                (0..n as i32).map(|i| i * 7 - 20).collect::<Vec<_>>(),
            ),
            Column::new("f32".into(), f32s.clone()),
            Column::new("u32".into(), (0..n as u32).collect::<Vec<_>>()),
            Column::new(
                "i64".into(),
                (0..n as i64).map(|i| -(i << 40)).collect::<Vec<_>>(),
            ),
        ],
    )
    .unwrap();
    parquet_with_groups(&pq, &mut df, 4);
    // the same numbers as CSV text: a float32 is the f64 it widens to
    let mut text = String::from("i32,f32,u32,i64\n");
    for (i, &f) in f32s.iter().enumerate() {
        let f = f64::from(f);
        let (a, c) = (i as i64 * 7 - 20, -((i as i64) << 40));
        text.push_str(&format!("{a},{f},{i},{c}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let from_csv = run(&Pipeline::from_csv(&csv, &["u32"]).batch(3));
    let from_parquet = run(&Pipeline::from_parquet(&pq, &["u32"]).batch(3));
    same_bits(&from_csv, &from_parquet, "integers and float32");
    assert_eq!(
        from_parquet[1].features.row(0).to_vec(),
        [1.0, f64::from(f32s[3]), -(3i64 << 40) as f64]
    );
    assert_eq!(from_parquet[2].targets.column(0).to_vec(), [6.0, 7.0, 8.0]);
}

/// The error of the first element, or of `iter` itself.
fn first_error(path: &Path, targets: &[&str]) -> String {
    match Pipeline::from_parquet(path, targets).batch(4).iter() {
        Err(e) => e.to_string(),
        Ok(mut s) => loop {
            match s.next() {
                Some(Err(e)) => {
                    assert!(s.next().is_none(), "nothing after an error");
                    break e.to_string();
                }
                Some(Ok(_)) => continue,
                None => panic!("{} read without an error", path.display()),
            }
        },
    }
}

#[test]
fn bad_files_are_errors_naming_the_file_column_and_row_group() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    write_parquet(&good, &table(50)).unwrap();
    let shown = |p: &Path| p.display().to_string();

    let missing = dir.path().join("missing.parquet");
    let err = first_error(&missing, &["y"]);
    assert!(err.starts_with(&shown(&missing)), "{err}");

    let csv = dir.path().join("not.parquet");
    std::fs::write(&csv, "x,y\n1,2\n").unwrap();
    let err = first_error(&csv, &["y"]);
    assert!(
        err.starts_with(&format!("{}: cannot read as Parquet", shown(&csv))),
        "{err}"
    );

    let empty = dir.path().join("empty.parquet");
    std::fs::write(&empty, "").unwrap();
    let err = first_error(&empty, &["y"]);
    assert!(
        err.starts_with(&format!("{}: cannot read as Parquet", shown(&empty))),
        "{err}"
    );

    // truncated: the footer is lost, whatever the cut
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.parquet");
    for keep in [bytes.len() / 2, bytes.len() - 1, 12] {
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        let err = first_error(&cut, &["y"]);
        assert!(
            err.starts_with(&format!("{}: cannot read as Parquet", shown(&cut))),
            "{keep}: {err}"
        );
    }

    // a string column: refused when the pass starts, naming the column and its type
    let strings = dir.path().join("strings.parquet");
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new("x".into(), [1.0, 2.0]),
            Column::new("name".into(), ["a", "b"]),
            Column::new("y".into(), [1.0, 2.0]),
        ],
    )
    .unwrap();
    parquet_with_groups(&strings, &mut df, 10);
    let err = Pipeline::from_parquet(&strings, &["y"])
        .iter()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}: column `name` is of type str, not numbers: every column is a feature or a \
             target, and only integer and float columns can be",
            shown(&strings)
        )
    );

    // a null in the third row group (polars splits 10 rows in groups of 3 as 3, 3, 4), and a
    // NaN: at the element, naming the group, the column and the row
    let nulls = dir.path().join("nulls.parquet");
    let mut x: Vec<Option<f64>> = (0..10).map(|i| Some(i as f64)).collect();
    x[7] = None;
    let mut df = DataFrame::new(
        10,
        vec![
            Column::new("x".into(), x),
            Column::new("y".into(), (0..10).map(|i| i as f64).collect::<Vec<_>>()),
        ],
    )
    .unwrap();
    parquet_with_groups(&nulls, &mut df, 3);
    let err = first_error(&nulls, &["y"]);
    assert_eq!(
        err,
        format!(
            "{}: row group 2 (rows 6..10 of the file, 0-based): null in column `x` at row 7 \
             where a number is required",
            shown(&nulls)
        )
    );
    let nan = dir.path().join("nan.parquet");
    let mut df = DataFrame::new(
        3,
        vec![
            Column::new("x".into(), [1.0, 2.0, 3.0]),
            Column::new("y".into(), [1.0, f64::NAN, 3.0]),
        ],
    )
    .unwrap();
    parquet_with_groups(&nan, &mut df, 2);
    let err = first_error(&nan, &["y"]);
    assert!(
        err.ends_with("row group 0 (rows 0..3 of the file, 0-based): NaN in column `y` at row 1 where a number is required"),
        "{err}"
    );

    // targets: missing, named twice
    let err = first_error(&good, &["z"]);
    assert_eq!(
        err,
        format!(
            "{}: no column named `z` (the columns are a,y,b,c,t)",
            shown(&good)
        )
    );
    let err = first_error(&good, &["y", "y"]);
    assert_eq!(err, format!("{}: target `y` is named twice", shown(&good)));
}

#[test]
fn a_corrupted_row_group_is_an_error_naming_it_after_the_rows_before_it() {
    use tapegrad_datasets::polars::prelude::{ParquetReader, SerReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.parquet");
    let ds = table(2000);
    parquet_with_groups(&path, &mut ds.to_polars(), 500);
    let mut bytes = std::fs::read(&path).unwrap();
    // the second row group's first bytes (its first page's header) overwritten
    let start = {
        let mut reader = ParquetReader::new(std::io::Cursor::new(bytes.clone()));
        let md = reader.get_metadata().unwrap();
        assert_eq!(md.row_groups.len(), 4);
        md.row_groups[1].full_byte_range().start as usize
    };
    for b in &mut bytes[start..start + 32] {
        *b = 0xAB;
    }
    std::fs::write(&path, &bytes).unwrap();
    let elements: Vec<_> = Pipeline::from_parquet(&path, &["y"])
        .batch(100)
        .iter()
        .unwrap()
        .collect();
    assert_eq!(
        elements.len(),
        6,
        "five batches of the first group, then the error"
    );
    assert!(elements[..5].iter().all(|e| e.is_ok()));
    let err = elements[5].as_ref().unwrap_err().to_string();
    let at = format!(
        "{}: row group 1 (rows 500..1000 of the file, 0-based): cannot read: ",
        path.display()
    );
    assert!(err.starts_with(&at), "{err}");
}
