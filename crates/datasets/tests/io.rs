//! CSV, .npy and .npz: files written by numpy/pandas read back exactly,
//! our files round-trip, and bad files give located errors.

use std::path::PathBuf;

use ndarray::{array, Array2, Ix2};
use tapegrad_datasets::io::{read_csv, read_npy, write_csv, write_npy, NpzReader, NpzWriter};
use tapegrad_datasets::{Dataset, DatasetsError};

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/datasets")).join(name)
}

mod common;

fn scratch(name: &str) -> PathBuf {
    common::scratch("io", name)
}

fn expected() -> Array2<f64> {
    array![[-1.0, -0.5, 0.0], [0.5, 1.0, 1.5]]
}

#[test]
fn reads_npy_written_by_numpy() {
    let a = read_npy::<f64>(data("sample_f8.npy"))
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap();
    assert_eq!(a, expected());
    let f = read_npy::<f32>(data("sample_f4_fortran.npy")).unwrap();
    assert_eq!(
        f.into_dimensionality::<Ix2>().unwrap(),
        expected().mapv(|v| v as f32)
    );
    let i = read_npy::<i64>(data("sample_i8.npy")).unwrap();
    assert_eq!(i.into_raw_vec_and_offset().0, vec![3, -1, 1i64 << 40]);
}

#[test]
fn our_npy_bytes_equal_numpys() {
    let path = scratch("ours.npy");
    write_npy(&path, &expected()).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(data("sample_f8.npy")).unwrap()
    );
}

#[test]
fn npy_errors_name_the_file() {
    let path = scratch("truncated.npy");
    let mut bytes = std::fs::read(data("sample_f8.npy")).unwrap();
    bytes.truncate(bytes.len() - 8);
    std::fs::write(&path, &bytes).unwrap();
    let err = read_npy::<f64>(&path).unwrap_err();
    assert!(
        matches!(&err, DatasetsError::Format { path: p, .. } if *p == path),
        "{err}"
    );
    assert!(err.to_string().contains("truncated data"), "{err}");
    let err = read_npy::<i64>(data("sample_f8.npy"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'<f8'") && err.contains("sample_f8.npy"),
        "{err}"
    );
    let missing = read_npy::<f64>(scratch("nope.npy")).unwrap_err();
    assert!(matches!(missing, DatasetsError::Io { .. }));
}

#[test]
fn reads_npz_written_by_numpy_stored_and_compressed() {
    for name in ["sample.npz", "sample_compressed.npz"] {
        let mut r = NpzReader::open(data(name)).unwrap();
        assert_eq!(r.names(), vec!["x".to_string(), "y".to_string()]);
        assert_eq!(
            r.by_name::<f64>("x")
                .unwrap()
                .into_dimensionality::<Ix2>()
                .unwrap(),
            expected()
        );
        assert_eq!(
            r.by_name::<f64>("y").unwrap().into_raw_vec_and_offset().0,
            vec![1.5, 2.5]
        );
        let err = r.by_name::<f64>("z").unwrap_err().to_string();
        assert!(err.contains("no array named `z` (arrays: x, y)"), "{err}");
    }
}

#[test]
fn npz_round_trip() {
    for compressed in [false, true] {
        let path = scratch(&format!("rt_{compressed}.npz"));
        let mut w = NpzWriter::new(compressed);
        w.add("x", &expected()).unwrap();
        w.add("i", &array![1i32, -2]).unwrap();
        w.write(&path).unwrap();
        let mut r = NpzReader::open(&path).unwrap();
        assert_eq!(
            r.by_name::<f64>("x")
                .unwrap()
                .into_dimensionality::<Ix2>()
                .unwrap(),
            expected()
        );
        assert_eq!(
            r.by_name::<i32>("i").unwrap().into_raw_vec_and_offset().0,
            vec![1, -2]
        );
    }
}

#[test]
fn reads_csv_written_by_pandas_and_round_trips() {
    let df = read_csv(data("sample.csv")).unwrap();
    assert_eq!(df.names(), &["x1".to_string(), "y".to_string()]);
    assert_eq!(df.values(), array![[0.5, 3.0], [-1.25, 1e-3]]);
    let path = scratch("rt.csv");
    let third = Dataset::from_columns(vec![("a", array![1.0 / 3.0, -2e-300])]).unwrap();
    write_csv(&path, &third).unwrap();
    assert_eq!(read_csv(&path).unwrap(), third);
}

fn csv_error(text: &str) -> (u64, u64, String) {
    common::csv_parse_error(scratch("bad.csv"), text)
}

#[test]
fn csv_errors_name_line_and_column() {
    let (l, c, m) = csv_error("x,y\n1,2\n3,4,5\n");
    assert_eq!((l, c), (3, 0));
    assert!(m.contains("row has 3 fields, the header has 2"), "{m}");
    let (l, c, m) = csv_error("x,y\n1,2\n3,4\n5,six\n");
    assert_eq!((l, c), (4, 2));
    assert!(m.contains("`six` is not a number (column `y`)"), "{m}");
    let (l, c, m) = csv_error("x,y\n1,NaN\n");
    assert_eq!((l, c), (2, 2));
    assert!(m.contains("NaN"), "{m}");
    let (l, c, m) = csv_error("x,y\n,2\n");
    assert_eq!((l, c), (2, 1));
    assert!(m.contains("missing value in column `x`"), "{m}");
    let (l, c, m) = csv_error("");
    assert_eq!((l, c), (1, 0));
    assert!(m.contains("empty file"), "{m}");
    let full = {
        let path = scratch("bad2.csv");
        std::fs::write(&path, "x\n1\nzz\n").unwrap();
        read_csv(&path).unwrap_err().to_string()
    };
    assert!(
        full.ends_with("bad2.csv:3:1: `zz` is not a number (column `x`)"),
        "{full}"
    );
}

#[test]
fn failed_write_leaves_the_old_file_untouched() {
    // The target is a directory, so the final rename fails; the temp file
    // must be gone and nothing half-written left behind.
    // Its own folder: other tests write temp files into scratch() meanwhile.
    let dir = scratch("atomic").join("a_directory.npy");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep"), b"x").unwrap();
    assert!(write_npy(&dir, &expected()).is_err());
    assert!(dir.join("keep").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}
