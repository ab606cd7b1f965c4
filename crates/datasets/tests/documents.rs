//! The documents' data recipes, pandas sampling and head() printing
//! (data/datasets/recipes.json, pandas_sample.json).
//!
//! Every test here uses the global generator, so they take a lock to keep
//! the test harness's threads from interleaving their draws.

mod common;

use std::sync::Mutex;

use common::{assert_bits, floats, ints, load};
use tapegrad_datasets::{np_random, pandas, recipes};

static GLOBAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn doc004_head_and_first_sample_row() {
    let _g = lock();
    let want = load("pandas_sample.json");
    np_random::seed(42);
    let df = recipes::doc004_dataset(100).unwrap();
    // Bit-exact head against pandas.
    let values = df.values();
    for (i, row) in want["head"].as_array().unwrap().iter().enumerate() {
        assert_bits(
            &values.row(i).to_vec(),
            &floats(row),
            &format!("head row {i}"),
        );
    }
    // The printed head of the document.
    let printed = "         x1        x2        x3          y\n\
                   0  0.496714 -1.415371  0.357787   1.154889\n\
                   1 -0.138264 -0.420645  0.560785  -0.181575\n\
                   2  0.647689 -0.342715  1.083051  -1.323722\n\
                   3  1.523030 -0.802277  1.053802   0.587921\n\
                   4 -0.234153 -0.161286 -1.377669  13.618654";
    assert_eq!(df.head(5).to_string(), printed);

    // dataset.sample(1).values, five times, as pandas picks them.
    let mut firsts = Vec::new();
    let mut first_row = None;
    for _ in 0..5 {
        let row = df.sample(1).unwrap();
        let y = row[[0, 3]];
        let idx = (0..100).find(|&i| df.column("y").unwrap()[i] == y).unwrap();
        firsts.push(idx as i64);
        first_row.get_or_insert(row);
    }
    assert_eq!(firsts, ints(&want["sample1_indices"]));
    let row = first_row.unwrap();
    assert_bits(
        &row.row(0).to_vec(),
        &floats(&want["first_row"]),
        "first sampled row",
    );

    // The document's first loss: (y - x . w0)^2 in float32 with the printed
    // initial GlorotUniform weights and zero bias -> [[114.21528]].
    let w = [0.877_380_5f32, 0.398_356_9, -0.346_086_56];
    let pred: f32 = (0..3).map(|j| row[[0, j]] as f32 * w[j]).sum();
    let loss = (row[[0, 3]] as f32 - pred).powi(2);
    assert!((loss - 114.21528).abs() < 1e-3, "loss {loss}");
}

#[test]
fn doc004_minibatch_indices() {
    let _g = lock();
    let want = load("pandas_sample.json");
    np_random::seed(42);
    np_random::normal(0.0, 1.0, 300).unwrap();
    for _ in 0..5 {
        pandas::sample_indices(100, 1).unwrap();
    }
    for batch in want["sample3_indices"].as_array().unwrap() {
        let got: Vec<i64> = pandas::sample_indices(100, 3)
            .unwrap()
            .iter()
            .map(|&i| i as i64)
            .collect();
        assert_eq!(got, ints(batch));
    }
}

#[test]
fn doc001_linear_like_data_matches_numpy() {
    let _g = lock();
    let want = &load("recipes.json")["doc001"];
    np_random::seed(42);
    let (x, y) = recipes::doc001_linear_like_data(100, 3.0, 4.0).unwrap();
    assert_eq!(x.dim(), (100, 1));
    assert_bits(
        &x.iter().copied().collect::<Vec<_>>(),
        &floats(&want["X"]),
        "X",
    );
    assert_bits(
        &y.iter().copied().collect::<Vec<_>>(),
        &floats(&want["Y"]),
        "Y",
    );
}

#[test]
fn doc002_create_dataset_matches_numpy() {
    let _g = lock();
    let want = &load("recipes.json")["doc002"];
    np_random::seed(42);
    let d = recipes::doc002_create_dataset(10000, 9.0, -2.0, 0.0, 1.0).unwrap();
    assert_bits(
        &d.x_train.slice(ndarray::s![..5]).to_vec(),
        &floats(&want["x_head"]),
        "x",
    );
    assert_bits(
        &d.y_train.slice(ndarray::s![..5]).to_vec(),
        &floats(&want["y_head"]),
        "y",
    );
    assert_bits(
        &d.x_test.slice(ndarray::s![..5]).to_vec(),
        &floats(&want["x_test_head"]),
        "x_test",
    );
    assert_bits(
        &d.y_test.slice(ndarray::s![-3..]).to_vec(),
        &floats(&want["y_test_tail"]),
        "y_test",
    );
    let x_sum: f64 = d.x_train.sum() + d.x_test.sum();
    assert!((x_sum - want["x_sum"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn doc003_synthesize_matches_numpy_draws() {
    let _g = lock();
    let want = &load("recipes.json")["doc003"];
    np_random::seed(42);
    let (xs, ys) = recipes::doc003_synthesize(1000, 3.0, 2.0).unwrap();
    let xs64: Vec<f64> = floats(&want["xs_head"]);
    for i in 0..5 {
        assert_eq!(xs[i], xs64[i] as f32);
        assert_eq!(ys[i], 3.0 * (xs64[i] as f32) + 2.0);
    }
    assert_eq!(xs.len(), 1000);
}

#[test]
fn doc000_and_doc004_grids_match_numpy_float32() {
    let want = load("recipes.json");
    let (x, y) = recipes::doc000_training_data(5.0, 3.0);
    let to64 = |a: &ndarray::Array1<f32>| a.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
    assert_bits(&to64(&x), &floats(&want["doc000"]["X"]), "X_train");
    assert_bits(&to64(&y), &floats(&want["doc000"]["Y"]), "Y_train");
    assert_eq!(recipes::arange_f32(0.0, 100.0, 2.0).unwrap(), x);

    let mm = &want["doc004_minmax"];
    let xn = recipes::minmax(recipes::doc004_range().view()).unwrap();
    assert_bits(
        &to64(&xn.slice(ndarray::s![..5]).to_owned()),
        &floats(&mm["head"]),
        "minmax head",
    );
    assert_bits(
        &to64(&xn.slice(ndarray::s![-3..]).to_owned()),
        &floats(&mm["tail"]),
        "minmax tail",
    );
    for (k, v) in mm["picks"].as_object().unwrap() {
        let i: usize = k.parse().unwrap();
        assert_eq!(f64::from(xn[i]), v.as_f64().unwrap(), "minmax[{i}]");
    }
}

#[test]
fn doc004_regression_table_prints_the_document_rows() {
    let df = recipes::doc004_regression().unwrap();
    let head = df.head(5).to_string();
    let first = head.lines().nth(1).unwrap();
    assert!(first.contains("-0.299007 -0.035826 -1.987569"), "{first}");
    assert!(first.ends_with("-324.129377"), "{first}");
    assert!(head.lines().nth(4).unwrap().ends_with("187.396417"));
    let batches: Vec<_> = df.batches(3).unwrap().collect();
    assert_eq!(batches.len(), 4);
    assert_eq!(batches[3].0.dim(), (1, 10));
    assert_eq!(batches[0].1[[0, 0]], df.column("y").unwrap()[0]);
}
