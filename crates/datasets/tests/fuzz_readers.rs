//! A fuzz target for the file readers, as property tests: random bytes and
//! mutated valid files (bit flips, truncations, inserted and overwritten
//! bytes) fed to `from_npy_bytes`, `NpzReader` and `read_csv`.
//!
//! The property: a reader never panics; it returns `Ok` or `Err`, and an
//! `Ok` is consistent (an array's shape product is its length; a table has
//! distinct, trimmed, non-empty names, equal columns and no NaN).
//!
//! 256 cases per property by default (a few seconds in debug); set
//! `PROPTEST_CASES` for a longer run, e.g.
//! `PROPTEST_CASES=200000 cargo test --release -p tapegrad-datasets --test fuzz_readers`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{array, ArrayD, Ix1};
use proptest::prelude::*;
use proptest::sample::Index;
use tapegrad_datasets::io::{self, NpyElement, NpzReader, NpzWriter};
use tapegrad_datasets::Dataset;

/// A file path under the temp dir that no other case or process uses; the
/// file is removed when the guard drops.
struct TempFile(PathBuf);

impl TempFile {
    fn with(bytes: &[u8], ext: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tapegrad_fuzz_{}_{n}.{ext}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn npy_seeds() -> Vec<Vec<u8>> {
    vec![
        io::to_npy_bytes(&array![[-1.0f64, -0.5, 0.0], [0.5, 1.0, 1.5]]),
        io::to_npy_bytes(&array![[1.0f32, 2.0], [3.0, 4.0]].reversed_axes()),
        io::to_npy_bytes(&array![3i64, -1, 1 << 40]),
        io::to_npy_bytes(&array![[7i32], [8]]),
        io::to_npy_bytes(&array![1u8, 2, 255]),
        io::to_npy_bytes(&ndarray::arr0(2.5f64)),
        io::to_npy_bytes(&ndarray::Array2::<f64>::zeros((0, 3))),
    ]
}

fn npz_seeds() -> Vec<Vec<u8>> {
    [false, true]
        .into_iter()
        .map(|compressed| {
            let mut w = NpzWriter::new(compressed);
            w.add("x", &array![[1.0f64, 2.0], [3.0, 4.0]]).unwrap();
            w.add("i", &array![1i32, -2, 3]).unwrap();
            w.add("b", &array![9u8]).unwrap();
            let file = TempFile::with(b"", "npz");
            w.write(&file.0).unwrap();
            std::fs::read(&file.0).unwrap()
        })
        .collect()
}

fn csv_seeds() -> Vec<Vec<u8>> {
    [
        "x,y\n1,2\n3,4\n",
        "x1,y\n0.5,3\n-1.25,0.001\n",
        "\"a\",\"b,c\"\r\n1,inf\r\n-inf,2e-300\r\n",
        "a\n1\n",
        "p, q ,r\n 1 ,2,3\n4,5,6",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// One edit of a file's bytes; positions are drawn as proportions of the
/// length at the time of the edit.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Overwrite(Index, u8),
    /// Sets a byte to one that numbers, headers and zips care about.
    Interesting(Index, Index),
}

const INTERESTING: &[u8] = b"\x00\x01\x7f\x80\xff,\"\n\r()'0123456789-+.eE:{} \\/";

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, b)| Mutation::Interesting(i, b)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = bytes.len();
        match m {
            Mutation::FlipBit(i, bit) if n > 0 => bytes[i.index(n)] ^= 1 << bit,
            Mutation::Truncate(i) => bytes.truncate(i.index(n + 1)),
            Mutation::Insert(i, b) => {
                let at = i.index(n + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Mutation::Overwrite(i, b) if n > 0 => bytes[i.index(n)] = *b,
            Mutation::Interesting(i, b) if n > 0 => {
                bytes[i.index(n)] = INTERESTING[b.index(INTERESTING.len())]
            }
            _ => {}
        }
    }
    bytes
}

/// Random bytes, or one of `seeds` with up to 8 mutations.
fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        4 => (
            prop::sample::select(seeds),
            prop::collection::vec(mutation(), 1..8)
        )
            .prop_map(|(seed, ms)| mutate(seed, &ms)),
    ]
}

fn check_array<A: NpyElement>(result: tapegrad_datasets::Result<ArrayD<A>>) {
    if let Ok(a) = result {
        assert_eq!(a.shape().iter().product::<usize>(), a.len());
        assert_eq!(a.iter().count(), a.len());
    }
}

fn check_npy(bytes: &[u8]) {
    let p = Path::new("fuzz.npy");
    check_array(io::from_npy_bytes::<f64>(bytes, p));
    check_array(io::from_npy_bytes::<f32>(bytes, p));
    check_array(io::from_npy_bytes::<i64>(bytes, p));
    check_array(io::from_npy_bytes::<i32>(bytes, p));
    check_array(io::from_npy_bytes::<u8>(bytes, p));
}

fn check_npz(bytes: &[u8], limit: Option<u64>) {
    let file = TempFile::with(bytes, "npz");
    let Ok(reader) = NpzReader::open(&file.0) else {
        return;
    };
    let mut reader = match limit {
        Some(l) => reader.max_bytes(l),
        None => reader,
    };
    for name in reader.names() {
        check_array(reader.by_name::<f64>(&name));
        check_array(reader.by_name::<i32>(&name));
        check_array(reader.by_name::<u8>(&name));
    }
    assert!(reader.by_name::<f64>("../x").is_err());
}

fn check_csv(bytes: &[u8]) {
    let file = TempFile::with(bytes, "csv");
    if let Ok(ds) = io::read_csv(&file.0) {
        let names = ds.names();
        assert!(ds.ncols() >= 1);
        assert_eq!(names.len(), ds.ncols());
        assert_eq!(names.iter().collect::<HashSet<_>>().len(), names.len());
        assert!(names.iter().all(|n| !n.is_empty() && n.trim() == n));
        let values = ds.values();
        assert_eq!(values.dim(), (ds.nrows(), ds.ncols()));
        assert!(values.iter().all(|v| !v.is_nan()));
        // What read_csv reads, write_csv writes and read_csv reads back.
        let out = TempFile::with(b"", "csv");
        io::write_csv(&out.0, &ds).unwrap();
        assert_eq!(io::read_csv(&out.0).unwrap(), ds);
    }
}

proptest! {
    #[test]
    fn npy_reader_never_panics(bytes in input(npy_seeds())) {
        check_npy(&bytes);
    }

    #[test]
    fn npz_reader_never_panics(bytes in input(npz_seeds()), limit in any::<bool>()) {
        check_npz(&bytes, limit.then_some(1 << 24));
    }

    #[test]
    fn npz_member_reader_never_panics(member in input(npy_seeds()), compressed in any::<bool>()) {
        // A mutated .npy inside a well-formed archive reaches by_name's own
        // parsing (a mutated archive mostly fails the zip crate's checks).
        let archive = raw_npz(&member, compressed);
        check_npz(&archive, None);
    }

    #[test]
    fn csv_reader_never_panics(bytes in input(csv_seeds())) {
        check_csv(&bytes);
    }

    #[test]
    fn csv_round_trips_finite_tables(
        names in prop::collection::hash_set("[a-z][a-z0-9_ ]{0,6}[a-z0-9]", 1..5),
        rows in 0usize..4,
        seed in prop::collection::vec(
            prop_oneof![any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
                        Just(f64::INFINITY), Just(-0.0)],
            20,
        ),
    ) {
        let columns: Vec<(String, ndarray::Array1<f64>)> = names
            .into_iter()
            .enumerate()
            .map(|(j, n)| (n, (0..rows).map(|i| seed[(i * 5 + j) % 20]).collect()))
            .collect();
        let ds = Dataset::from_columns(columns).unwrap();
        let file = TempFile::with(b"", "csv");
        io::write_csv(&file.0, &ds).unwrap();
        prop_assert_eq!(io::read_csv(&file.0).unwrap(), ds);
    }
}

/// A stored or deflated zip holding `member` as `m.npy`.
fn raw_npz(member: &[u8], compressed: bool) -> Vec<u8> {
    use std::io::Write;
    let method = if compressed {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zw.start_file("m.npy", options).unwrap();
    zw.write_all(member).unwrap();
    zw.finish().unwrap().into_inner()
}

#[test]
fn seeds_are_valid_files() {
    for bytes in npy_seeds() {
        let ok = [
            io::from_npy_bytes::<f64>(&bytes, "s.npy".as_ref()).is_ok(),
            io::from_npy_bytes::<f32>(&bytes, "s.npy".as_ref()).is_ok(),
            io::from_npy_bytes::<i64>(&bytes, "s.npy".as_ref()).is_ok(),
            io::from_npy_bytes::<i32>(&bytes, "s.npy".as_ref()).is_ok(),
            io::from_npy_bytes::<u8>(&bytes, "s.npy".as_ref()).is_ok(),
        ];
        assert_eq!(ok.iter().filter(|&&b| b).count(), 1);
    }
    for bytes in npz_seeds() {
        let file = TempFile::with(&bytes, "npz");
        let mut r = NpzReader::open(&file.0).unwrap();
        let i = r.by_name::<i32>("i").unwrap();
        assert_eq!(i.into_dimensionality::<Ix1>().unwrap(), array![1, -2, 3]);
    }
    for bytes in csv_seeds() {
        let file = TempFile::with(&bytes, "csv");
        io::read_csv(&file.0).unwrap();
    }
}
