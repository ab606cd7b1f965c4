//! The file readers' hardening cases (issue 17), one test per case, each
//! named after it: bad input is refused with an error naming what was wrong
//! (file, line and column, column name and positions, member, limit), never
//! a panic, a silent loss or a runaway allocation.

use std::path::PathBuf;

use ndarray::{array, Array1};
use tapegrad_datasets::{io, Dataset, DatasetsError};

mod common;

fn scratch(name: &str) -> PathBuf {
    common::scratch("hardening", name)
}

/// Writes `text` to a scratch file and returns the `Parse` error's line,
/// column and message.
fn csv_parse_error(name: &str, text: &str) -> (u64, u64, String) {
    common::csv_parse_error(scratch(name), text)
}

#[test]
fn csv_repeated_column_name_is_refused_naming_it_and_its_positions() {
    let (l, c, m) = csv_parse_error("repeated.csv", "x,y,x\n1,2,3\n");
    assert_eq!((l, c), (1, 3));
    assert_eq!(
        m,
        "column name `x` is repeated in the header, at columns 1 and 3"
    );
    let (l, c, m) = csv_parse_error("repeated3.csv", "a,x,b,x,x\n1,2,3,4,5\n");
    assert_eq!((l, c), (1, 4));
    assert!(m.contains("`x`") && m.contains("columns 2, 4 and 5"), "{m}");
    // Names are trimmed as they are read, so ` x` repeats `x`.
    let (_, _, m) = csv_parse_error("repeated_space.csv", "x, x\n1,2\n");
    assert!(m.contains("columns 1 and 2"), "{m}");
}

#[test]
fn from_columns_repeated_name_is_refused_naming_it_and_its_positions() {
    let err = Dataset::from_columns(vec![
        ("x", array![1.0]),
        ("y", array![2.0]),
        ("x", array![3.0]),
    ])
    .unwrap_err();
    assert!(
        matches!(
            &err,
            DatasetsError::InvalidParameter {
                name: "columns",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "invalid parameter `columns`: column name `x` is repeated, at indices 0 and 2 of 3 columns"
    );
    // from_array goes through from_columns.
    let err = Dataset::from_array(array![[1.0, 2.0]].view(), &["a", "a"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`a` is repeated, at indices 0 and 1"), "{err}");
    // Unequal lengths still name the column.
    let err = Dataset::from_columns(vec![("a", array![1.0]), ("b", array![1.0, 2.0])])
        .unwrap_err()
        .to_string();
    assert!(err.contains("column `b` has 2 rows"), "{err}");
}

#[test]
fn csv_of_200k_columns_reads_in_linear_time() {
    // Was ~62 s: Dataset::from_columns looked each name up in the names
    // before it (quadratic). Not a timed test: it must simply finish quickly.
    let n = 200_000;
    let mut text = String::with_capacity(n * 16);
    let names: Vec<String> = (0..n).map(|j| format!("c{j}")).collect();
    text.push_str(&names.join(","));
    text.push('\n');
    for row in 0..2 {
        let values: Vec<String> = (0..n).map(|j| (j + row).to_string()).collect();
        text.push_str(&values.join(","));
        text.push('\n');
    }
    let path = scratch("wide.csv");
    std::fs::write(&path, &text).unwrap();
    let ds = io::read_csv(&path).unwrap();
    assert_eq!((ds.nrows(), ds.ncols()), (2, n));
    assert_eq!(ds.column("c199999").unwrap()[1], 200_000.0);
    // A bad row of a wide file gives a short message, not 200k names.
    std::fs::write(&path, format!("{}\n1,2\n", names.join(","))).unwrap();
    let err = io::read_csv(&path).unwrap_err().to_string();
    assert!(err.contains("the header has 200000"), "{err}");
    assert!(err.len() < 300, "{} bytes", err.len());
    let columns: Vec<(String, Array1<f64>)> = names
        .into_iter()
        .map(|name| (name, Array1::zeros(1)))
        .collect();
    assert_eq!(Dataset::from_columns(columns).unwrap().ncols(), n);
}

#[test]
fn csv_unterminated_quote_names_the_line_where_it_starts() {
    // Was "row has 1 fields, the header has 2": the open quote swallowed
    // the rest of the file into one field.
    let (l, c, m) = csv_parse_error("quote.csv", "x,y\n1,2\n3,\"4\n5,6\n");
    assert_eq!((l, c), (3, 2));
    assert_eq!(
        m,
        "unterminated quoted field starting at line 3: no closing `\"` before the end of the file"
    );
    // In the header, after an escaped quote, after a CRLF line and at the very end.
    let (l, c, m) = csv_parse_error("quote_header.csv", "x,\"y\n1,2\n");
    assert_eq!((l, c), (1, 2), "{m}");
    let (l, c, _) = csv_parse_error("quote_escaped.csv", "x\r\n1\r\n\"a\"\"b\r\n");
    assert_eq!((l, c), (3, 1));
    let (l, c, _) = csv_parse_error("quote_last.csv", "x,y\n1,\"");
    assert_eq!((l, c), (2, 2));
    // Closed quotes are fine, and a quote inside an unquoted field is literal.
    let path = scratch("quote_ok.csv");
    std::fs::write(&path, "\"x\",\"y,z\"\n\"1\",2\n").unwrap();
    let ds = io::read_csv(&path).unwrap();
    assert_eq!(ds.names(), &["x".to_string(), "y,z".to_string()]);
    let (l, c, m) = csv_parse_error("quote_inner.csv", "x\n1\"\n");
    assert_eq!((l, c), (2, 1));
    assert!(m.contains("`1\"` is not a number"), "{m}");
}

#[test]
fn write_csv_nan_is_refused_naming_column_and_row_and_writes_nothing() {
    // read_csv refuses NaN (a field must be a number, tests/io.rs), so
    // write_csv must not write one: they agree on what a CSV table is.
    let path = scratch("nan.csv");
    let _ = std::fs::remove_file(&path);
    let ds = Dataset::from_columns(vec![
        ("a", array![1.0, 2.0, 3.0]),
        ("b", array![0.5, 1.5, f64::NAN]),
    ])
    .unwrap();
    let err = io::write_csv(&path, &ds).unwrap_err();
    assert!(
        matches!(&err, DatasetsError::Format { path: p, .. } if *p == path),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("NaN in column `b` at row 2 (0-based; line 4 of the file)"),
        "{err}"
    );
    assert!(!path.exists());
    // What read_csv cannot read back is refused too.
    for (name, what) in [("", "``"), (" a", "` a`")] {
        let ds = Dataset::from_columns(vec![(name, array![1.0])]).unwrap();
        let err = io::write_csv(&path, &ds).unwrap_err().to_string();
        assert!(err.contains(what), "{err}");
    }
    assert!(io::write_csv(&path, &Dataset::new()).is_err());
    assert!(!path.exists());
}

#[test]
fn write_csv_and_read_csv_round_trip_infinities() {
    let path = scratch("inf.csv");
    let ds = Dataset::from_columns(vec![
        ("a", array![f64::INFINITY, -1.5, f64::NEG_INFINITY]),
        ("b", array![f64::MAX, f64::MIN_POSITIVE, -0.0]),
    ])
    .unwrap();
    io::write_csv(&path, &ds).unwrap();
    let back = io::read_csv(&path).unwrap();
    assert_eq!(back, ds);
    assert!(back.column("b").unwrap()[2].is_sign_negative());
    // pandas writes inf as `inf`; it and `-inf` read back as infinities.
    std::fs::write(&path, "x\ninf\n-inf\nInfinity\n").unwrap();
    let x = io::read_csv(&path).unwrap().column("x").unwrap().to_vec();
    assert_eq!(x, vec![f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY]);
}

/// A zip archive of `members` (name, bytes), deflated or stored, built
/// with the zip crate directly so that names and sizes [`io::NpzWriter`]
/// would refuse can be written.
fn raw_zip(members: &[(&str, &[u8])], deflated: bool) -> Vec<u8> {
    use std::io::Write;
    let method = if deflated {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        zw.start_file(*name, options).unwrap();
        zw.write_all(bytes).unwrap();
    }
    zw.finish().unwrap().into_inner()
}

/// The preamble and header of a `.npy` file of `'<f8'` with `shape_text`
/// (format 1.0, padded to 64 bytes as numpy pads it).
fn npy_header_bytes(shape_text: &str) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// Overwrites the uncompressed size that the local and central headers of
/// the archive's only member record.
fn patch_recorded_size(zip: &mut [u8], size: u32) {
    let find = |sig: &[u8]| zip.windows(4).position(|w| w == sig).unwrap();
    let local = find(b"PK\x03\x04");
    let central = find(b"PK\x01\x02");
    zip[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
    zip[central + 24..central + 28].copy_from_slice(&size.to_le_bytes());
}

fn npz_error(name: &str, archive: &[u8], member: &str) -> String {
    let path = scratch(name);
    std::fs::write(&path, archive).unwrap();
    let err = io::NpzReader::open(&path)
        .and_then(|mut r| r.by_name::<f64>(member))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&path.display().to_string()),
        "the error names the archive: {text}"
    );
    text
}

#[test]
fn npz_header_promising_1_gib_in_a_small_entry_is_refused_before_reading() {
    // The header promises 2^27 f64 (1 GiB); the zip entry records (and
    // holds) 16 bytes of data. Refused from the sizes alone.
    let mut npy = npy_header_bytes("(134217728,)");
    npy.extend_from_slice(&[0u8; 16]);
    for deflated in [false, true] {
        let zip = raw_zip(&[("big.npy", &npy)], deflated);
        let err = npz_error("promise.npz", &zip, "big");
        assert!(err.contains("big.npy"), "{err}");
        assert!(
            err.contains(
                "the zip entry records 144 bytes, its header (shape (134217728,) of '<f8') \
                 promises 1073741952"
            ),
            "{err}"
        );
    }
}

#[test]
fn npz_entry_recording_more_than_it_holds_is_truncated_data() {
    // Entry and header agree on 1 GiB, but the member holds 16 bytes.
    let mut npy = npy_header_bytes("(134217728,)");
    npy.extend_from_slice(&[0u8; 16]);
    let mut zip = raw_zip(&[("big.npy", &npy)], true);
    patch_recorded_size(&mut zip, 128 + (1 << 30));
    let err = npz_error("lying_entry.npz", &zip, "big");
    assert!(err.contains("big.npy"), "{err}");
    assert!(
        err.contains("truncated data: its header (shape (134217728,) of '<f8') promises 1073741824 bytes of data, the member has 16 after the header"),
        "{err}"
    );
}

#[test]
fn npz_member_longer_than_its_header_is_refused_without_reading_it() {
    // The header promises 2 f64 and the entry records that much, but the
    // deflated member goes on for 1 MiB more.
    let mut npy = npy_header_bytes("(2,)");
    npy.extend_from_slice(&[0u8; 16]);
    npy.extend(std::iter::repeat_n(7u8, 1 << 20));
    let mut zip = raw_zip(&[("x.npy", &npy)], true);
    patch_recorded_size(&mut zip, 128 + 16);
    let err = npz_error("longer.npz", &zip, "x");
    assert!(err.contains("x.npy"), "{err}");
    // The honest version of the same entry: recorded 1 MiB more than promised.
    let zip = raw_zip(&[("x.npy", &npy)], true);
    let err = npz_error("longer_honest.npz", &zip, "x");
    assert!(
        err.contains(
            "the zip entry records 1048720 bytes, its header (shape (2,) of '<f8') promises only 144"
        ),
        "{err}"
    );
}

#[test]
fn npz_bomb_is_refused_over_max_bytes() {
    // 64 MiB of zeros deflates to ~64 KiB: an honest header, an honest entry.
    let n = 1usize << 23;
    let path = scratch("bomb.npz");
    let mut w = io::NpzWriter::new(true);
    w.add("zeros", &Array1::<f64>::zeros(n)).unwrap();
    w.write(&path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let err = io::NpzReader::open(&path)
        .unwrap()
        .max_bytes(1 << 20)
        .by_name::<f64>("zeros")
        .unwrap_err()
        .to_string();
    assert!(err.contains("zeros.npy"), "{err}");
    assert!(
        err.contains(
            "67108992 bytes, over the limit of 1048576 bytes set with NpzReader::max_bytes"
        ),
        "{err}"
    );
    // Within the limit, or without one, it reads.
    let mut r = io::NpzReader::open(&path).unwrap().max_bytes(67_108_992);
    assert_eq!(r.by_name::<f64>("zeros").unwrap().len(), n);
    let mut r = io::NpzReader::open(&path).unwrap();
    assert_eq!(r.by_name::<f64>("zeros").unwrap().len(), n);
}

#[test]
fn npz_unsafe_member_names_are_refused_writing_and_reading() {
    let a = array![1.0f64];
    let mut w = io::NpzWriter::new(false);
    for name in ["../evil", "/x", "a/../../b", "..", "a\\b", "C:x"] {
        let err = w.add(name, &a).unwrap_err();
        assert!(
            matches!(&err, DatasetsError::InvalidParameter { name: "name", .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("`{name}` is not a safe .npz member name")),
            "{err}"
        );
    }
    assert!(w.is_empty());
    // Names with a folder that stays inside are fine, as numpy writes them.
    w.add("a/b", &a).unwrap();
    let npy = io::to_npy_bytes(&a);
    for member in ["../evil.npy", "/x.npy", "a/../../b.npy", "a\\b.npy"] {
        let zip = raw_zip(&[("ok.npy", &npy), (member, &npy)], false);
        let path = scratch("evil.npz");
        std::fs::write(&path, &zip).unwrap();
        let err = io::NpzReader::open(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("member `{member}` has an unsafe name")),
            "{err}"
        );
    }
    // by_name refuses such a name before looking it up.
    let path = scratch("safe.npz");
    std::fs::write(&path, raw_zip(&[("ok.npy", &npy)], false)).unwrap();
    let mut r = io::NpzReader::open(&path).unwrap();
    let err = r.by_name::<f64>("../ok").unwrap_err().to_string();
    assert!(
        err.contains("`../ok` is not a safe .npz member name"),
        "{err}"
    );
    assert_eq!(r.by_name::<f64>("ok").unwrap()[[0]], 1.0);
}

#[test]
fn npy_truncated_anywhere_says_truncated_not_bad_magic() {
    let bytes = io::to_npy_bytes(&array![[1.0f64, 2.0], [3.0, 4.0]]);
    let p = std::path::Path::new("cut.npy");
    for cut in 0..bytes.len() {
        let err = io::from_npy_bytes::<f64>(&bytes[..cut], p)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("bad magic"), "cut at {cut}: {err}");
        let want = match cut {
            0 => "it is empty",
            1..=5 => "cut inside the 6-byte magic string",
            6..=7 => "cut before the format version",
            8..=9 => "cut inside the 10-byte preamble of format 1.0",
            10..=127 => "truncated header: the preamble says 118 header bytes",
            _ => "truncated data: shape (2, 2) of '<f8' needs 32 bytes",
        };
        assert!(err.contains(want), "cut at {cut}: {err}");
    }
    // Format 2.0 has a 12-byte preamble (was "unsupported version 2").
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&50u32.to_le_bytes());
    for cut in 8..12 {
        let err = io::from_npy_bytes::<f64>(&v2[..cut], p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cut inside the 12-byte preamble of format 2.0"),
            "cut at {cut}: {err}"
        );
    }
    let err = io::from_npy_bytes::<f64>(&v2, p).unwrap_err().to_string();
    assert!(
        err.contains("the preamble says 50 header bytes, the file has 0 after it"),
        "{err}"
    );
    // Not numpy at all is still a bad magic string.
    let err = io::from_npy_bytes::<f64>(b"PK\x03\x04 a zip", p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad magic string"), "{err}");
}

#[test]
fn npz_member_truncated_anywhere_says_truncated() {
    // A member cut short, with an entry that records the cut length.
    let bytes = io::to_npy_bytes(&array![1.0f64, 2.0]);
    for cut in [0, 3, 7, 9, 60, 127, 128, 140] {
        let zip = raw_zip(&[("x.npy", &bytes[..cut])], true);
        let err = npz_error("cut.npz", &zip, "x");
        assert!(!err.contains("bad magic"), "cut at {cut}: {err}");
        assert!(
            err.contains("truncated") || err.contains("it is empty"),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn npy_shape_overflowing_the_address_space_is_an_error() {
    let mut npy = npy_header_bytes("(4611686018427387904, 4)");
    npy.extend_from_slice(&[0u8; 8]);
    let err = io::from_npy_bytes::<f64>(&npy, "huge.npy".as_ref())
        .unwrap_err()
        .to_string();
    assert!(err.contains("too large"), "{err}");
    let zip = raw_zip(&[("huge.npy", &npy)], false);
    let err = npz_error("huge.npz", &zip, "huge");
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn concurrent_writes_of_one_path_leave_one_whole_file() {
    // The temp file was named by process id only, so two threads writing
    // the same path shared it: interleaved bytes or a failed rename.
    let path = scratch("concurrent").join("same.npy");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let arrays: Vec<Array1<f64>> = (0..8)
        .map(|t| Array1::from_elem(1 << 16, t as f64))
        .collect();
    std::thread::scope(|s| {
        for a in &arrays {
            let path = &path;
            s.spawn(move || {
                for _ in 0..10 {
                    io::write_npy(path, a).unwrap();
                }
            });
        }
    });
    let back = io::read_npy::<f64>(&path).unwrap();
    let first = back[[0]];
    assert!(back.iter().all(|&v| v == first), "a mixed file");
    assert_eq!(back.len(), 1 << 16);
    let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(leftovers, 1, "temporary files left behind");
}
