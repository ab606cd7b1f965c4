//! polars interop (feature `polars`) and Parquet files (feature `parquet`).
#![cfg(feature = "polars")]

use ndarray::{array, Array1};
use tapegrad_datasets::polars::prelude::{Column, DataFrame, DataType};
use tapegrad_datasets::{np_random, recipes, Dataset, DatasetsError};

/// Every value of both tables, compared bit for bit (NaN and -0.0 included).
fn assert_same_bits(a: &Dataset, b: &Dataset) {
    assert_eq!(a.names(), b.names());
    assert_eq!(a.target_names(), b.target_names());
    assert_eq!(a.nrows(), b.nrows());
    for name in a.names() {
        let (x, y) = (a.column(name).unwrap(), b.column(name).unwrap());
        for (i, (u, v)) in x.iter().zip(y.iter()).enumerate() {
            assert_eq!(
                u.to_bits(),
                v.to_bits(),
                "column {name} row {i}: {u} vs {v}"
            );
        }
    }
}

/// Document 004's table (seed 42, 100 rows, target `y`). The global
/// generator is shared by the tests of this binary: seed and draws happen
/// under one lock.
fn doc004() -> Dataset {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    np_random::seed(42);
    recipes::doc004_dataset(100).unwrap()
}

/// Awkward floats: signed zero, subnormal, extremes, NaN, infinities.
fn awkward() -> Dataset {
    let mut ds = Dataset::from_columns(vec![
        (
            "x",
            array![-0.0, 5e-324, f64::MAX, f64::MIN_POSITIVE, 0.1, -1.5],
        ),
        (
            "y",
            array![
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1e300,
                -7.25,
                3.0
            ],
        ),
        ("w", array![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    ])
    .unwrap();
    ds.set_targets(&["y", "x"]).unwrap();
    ds
}

#[test]
fn document_004_table_round_trips_through_polars() {
    let ds = doc004();
    let names: Vec<String> = ds.names().to_vec();
    assert_eq!(ds.target_names(), vec!["y"]);

    let df = ds.to_polars();
    assert_eq!(df.shape(), (100, names.len()));
    let df_names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(df_names, names);
    for c in df.columns() {
        assert_eq!(c.dtype(), &DataType::Float64);
    }
    // The first value of the first column is the document's 0.496714 (x1 = normal(size=100)[0]).
    let first = df.columns()[0].f64().unwrap().get(0).unwrap();
    assert!((first - 0.496714).abs() < 5e-7, "{first}");

    let back = Dataset::from_polars_with_targets(&df, &ds.target_names()).unwrap();
    assert_eq!(back, ds);
    assert_eq!(back.head(5).to_string(), ds.head(5).to_string());
    assert_eq!(back.features(), ds.features());
    assert_eq!(back.targets(), ds.targets());
}

#[test]
fn awkward_floats_round_trip_bit_for_bit() {
    let ds = awkward();
    let back = Dataset::from_polars_with_targets(&ds.to_polars(), &ds.target_names()).unwrap();
    assert_same_bits(&ds, &back);
    assert_eq!(back.target_names(), vec!["y", "x"]);
    assert_eq!(back.features().dim(), (6, 1));
}

#[test]
fn without_targets_every_column_is_a_feature() {
    let ds = awkward();
    let back = Dataset::from_polars(&ds.to_polars()).unwrap();
    assert!(back.target_names().is_empty());
    assert_eq!(back.features().dim(), (6, 3));
}

#[test]
fn numeric_dtypes_convert_to_f64() {
    let df = DataFrame::new(
        3,
        vec![
            Column::new("i32".into(), [-3i32, 0, 7]),
            Column::new("i64".into(), [1i64 << 53, (1i64 << 53) + 1, -(1i64 << 62)]),
            Column::new("u32".into(), [0u32, 1, u32::MAX]),
            Column::new("u64".into(), [0u64, 1, u64::MAX]),
            Column::new("f32".into(), [0.1f32, -2.5, f32::MAX]),
        ],
    )
    .unwrap();
    let ds = Dataset::from_polars(&df).unwrap();
    assert_eq!(ds.column("i32").unwrap(), array![-3.0, 0.0, 7.0]);
    // 2^53 + 1 has no f64; it rounds to even, 2^53.
    assert_eq!(
        ds.column("i64").unwrap(),
        array![
            9007199254740992.0,
            9007199254740992.0,
            -4611686018427387904.0
        ]
    );
    assert_eq!(ds.column("u32").unwrap(), array![0.0, 1.0, 4294967295.0]);
    assert_eq!(ds.column("u64").unwrap()[2], 18446744073709551616.0);
    assert_eq!(ds.column("f32").unwrap()[0], 0.10000000149011612);
    assert_eq!(ds.column("f32").unwrap()[2], f32::MAX as f64);
}

#[test]
fn a_null_names_its_column_and_row() {
    let df = DataFrame::new(
        4,
        vec![
            Column::new("a".into(), [1.0, 2.0, 3.0, 4.0]),
            Column::new("b".into(), [Some(1i64), Some(2), None, None]),
        ],
    )
    .unwrap();
    let err = Dataset::from_polars(&df).unwrap_err();
    match &err {
        DatasetsError::Column {
            column,
            row,
            message,
        } => {
            assert_eq!(column, "b");
            assert_eq!(*row, Some(2));
            assert_eq!(message, "null where a number is required");
        }
        other => panic!("wrong error {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "column `b`, row 2: null where a number is required"
    );
}

#[test]
fn a_non_numeric_column_names_its_column_and_row() {
    let df = DataFrame::new(
        2,
        vec![
            Column::new("x".into(), [1.0, 2.0]),
            Column::new("name".into(), ["ab", "cd"]),
        ],
    )
    .unwrap();
    let err = Dataset::from_polars(&df).unwrap_err().to_string();
    assert_eq!(
        err,
        "column `name`, row 0: \"ab\" is not a number (dtype str; only numeric columns convert to f64)"
    );

    let df = DataFrame::new(1, vec![Column::new("flag".into(), [true])]).unwrap();
    let err = Dataset::from_polars(&df).unwrap_err();
    assert!(
        matches!(&err, DatasetsError::Column { column, row: Some(0), .. } if column == "flag"),
        "{err:?}"
    );

    // A string column whose first value is null: the null is reported.
    let df = DataFrame::new(2, vec![Column::new("s".into(), [None, Some("x")])]).unwrap();
    assert_eq!(
        Dataset::from_polars(&df).unwrap_err().to_string(),
        "column `s`, row 0: null where a number is required"
    );

    // No rows: the dtype alone is wrong.
    let df = DataFrame::new(0, vec![Column::new("s".into(), Vec::<String>::new())]).unwrap();
    let err = Dataset::from_polars(&df).unwrap_err();
    assert!(
        matches!(err, DatasetsError::Column { row: None, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "column `s`: dtype str is not numeric");
}

#[test]
fn a_missing_target_is_an_error() {
    let ds = Dataset::from_columns(vec![("x", array![1.0])]).unwrap();
    let err = Dataset::from_polars_with_targets(&ds.to_polars(), &["y"]).unwrap_err();
    assert_eq!(err.to_string(), "no column named `y` (columns: x)");
}

#[test]
fn empty_tables_round_trip() {
    let empty = Dataset::new();
    let df = empty.to_polars();
    assert_eq!(df.shape(), (0, 0));
    assert_eq!(Dataset::from_polars(&df).unwrap(), empty);

    let no_rows = Dataset::from_columns(vec![("a", Array1::<f64>::zeros(0))]).unwrap();
    let df = no_rows.to_polars();
    assert_eq!(df.shape(), (0, 1));
    assert_eq!(Dataset::from_polars(&df).unwrap(), no_rows);
}

#[cfg(feature = "parquet")]
mod parquet {
    use super::*;
    use std::path::PathBuf;
    use tapegrad_datasets::io::{read_parquet, write_parquet, PARQUET_TARGETS_KEY};
    use tapegrad_datasets::polars::prelude::{KeyValueMetadata, ParquetWriter};

    fn dir(test: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "tapegrad_datasets_parquet_{test}_{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Writes `df` with polars directly (no tapegrad metadata unless given).
    fn polars_write(path: &std::path::Path, df: &DataFrame, targets: Option<&str>) {
        let mut df = df.clone();
        let mut w = ParquetWriter::new(std::fs::File::create(path).unwrap());
        if let Some(t) = targets {
            w = w.with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
                PARQUET_TARGETS_KEY.to_string(),
                t.to_string(),
            )])));
        }
        w.finish(&mut df).unwrap();
    }

    #[test]
    fn round_trip_keeps_values_names_and_targets() {
        let d = dir("round_trip");
        let path = d.join("awkward.parquet");
        let ds = awkward();
        write_parquet(&path, &ds).unwrap();
        let back = read_parquet(&path).unwrap();
        assert_same_bits(&ds, &back);
        assert_eq!(back.target_names(), vec!["y", "x"]);

        // Overwriting goes through a temp file and leaves only the target.
        let doc = doc004();
        write_parquet(&path, &doc).unwrap();
        assert_eq!(read_parquet(&path).unwrap(), doc);
        let files: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, vec![std::ffi::OsString::from("awkward.parquet")]);
    }

    #[test]
    fn a_file_from_polars_reads_with_no_targets() {
        let d = dir("foreign");
        let path = d.join("ints.parquet");
        let df = DataFrame::new(
            2,
            vec![
                Column::new("n".into(), [3i64, -4]),
                Column::new("v".into(), [0.25f32, 8.0]),
            ],
        )
        .unwrap();
        polars_write(&path, &df, None);
        let ds = read_parquet(&path).unwrap();
        assert!(ds.target_names().is_empty());
        assert_eq!(ds.values(), array![[3.0, 0.25], [-4.0, 8.0]]);
    }

    #[test]
    fn errors_name_the_file() {
        let d = dir("errors");

        let missing = d.join("missing.parquet");
        let err = read_parquet(&missing).unwrap_err();
        assert!(matches!(err, DatasetsError::Io { .. }), "{err:?}");
        assert!(err.to_string().starts_with(&missing.display().to_string()));

        let text = d.join("text.parquet");
        std::fs::write(&text, "x,y\n1,2\n").unwrap();
        let err = read_parquet(&text).unwrap_err();
        assert!(matches!(err, DatasetsError::Format { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&text.display().to_string()),
            "{err}"
        );

        let nulls = d.join("nulls.parquet");
        let df = DataFrame::new(
            2,
            vec![
                Column::new("x".into(), [1.0, 2.0]),
                Column::new("label".into(), [Some(1.0), None]),
            ],
        )
        .unwrap();
        polars_write(&nulls, &df, None);
        assert_eq!(
            read_parquet(&nulls).unwrap_err().to_string(),
            format!(
                "{}: column `label`, row 1: null where a number is required",
                nulls.display()
            )
        );

        let bad_meta = d.join("bad_meta.parquet");
        let df = DataFrame::new(1, vec![Column::new("x".into(), [1.0])]).unwrap();
        polars_write(&bad_meta, &df, Some("0,7"));
        let err = read_parquet(&bad_meta).unwrap_err().to_string();
        assert!(err.starts_with(&bad_meta.display().to_string()), "{err}");
        assert!(
            err.contains("`7` is not a column index (the file has 1 columns)"),
            "{err}"
        );

        let nowhere = d.join("no_such_dir").join("out.parquet");
        let err = write_parquet(&nowhere, &awkward()).unwrap_err();
        assert!(matches!(err, DatasetsError::Io { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&nowhere.display().to_string()),
            "{err}"
        );
    }
}
