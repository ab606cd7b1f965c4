//! make_regression, make_low_rank_matrix, train_test_split and StandardScaler
//! against scikit-learn 1.9.1 (data/datasets/make_regression.json, preprocessing.json).

mod common;

use common::{assert_close, floats, ints, load, usize_of};
use ndarray::Array2;
use serde_json::Value;
use tapegrad_datasets::sklearn::{
    make_low_rank_matrix, train_test_split_indices, MakeRegression, SplitSize, StandardScaler,
    TrainTestSplit,
};
use tapegrad_datasets::{np_random, DatasetsError};

/// Relative tolerance asked of the reproduction; BLAS may sum in another order.
const RTOL: f64 = 1e-12;

fn params(p: &Value) -> MakeRegression {
    let d = MakeRegression::default();
    let u = |k: &str, def: usize| p.get(k).map_or(def, usize_of);
    let f = |k: &str, def: f64| p.get(k).map_or(def, |v| v.as_f64().unwrap());
    let b = |k: &str, def: bool| p.get(k).map_or(def, |v| v.as_bool().unwrap());
    MakeRegression {
        n_samples: u("n_samples", d.n_samples),
        n_features: u("n_features", d.n_features),
        n_informative: u("n_informative", d.n_informative),
        n_targets: u("n_targets", d.n_targets),
        bias: f("bias", d.bias),
        effective_rank: p.get("effective_rank").map(usize_of),
        tail_strength: f("tail_strength", d.tail_strength),
        noise: f("noise", d.noise),
        shuffle: b("shuffle", d.shuffle),
        coef: b("coef", d.coef),
        random_state: p.get("random_state").map(|v| v.as_u64().unwrap() as u32),
    }
}

/// Largest magnitude, for an absolute floor on the tolerance of entries near 0.
fn scale_of(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

#[test]
fn make_regression_matches_sklearn_over_a_grid() {
    let data = load("make_regression.json");
    let cases = data["cases"].as_array().unwrap();
    let mut low_rank_cases = 0;
    for case in cases {
        let p = &case["params"];
        if p.get("global_seed").is_some() {
            continue;
        }
        let mr = params(p);
        low_rank_cases += usize::from(mr.effective_rank.is_some());
        let out = mr.generate().unwrap();
        let what = format!("{p}");
        let xs = ints(&case["X_shape"]);
        assert_eq!(
            out.x.shape().iter().map(|&d| d as i64).collect::<Vec<_>>(),
            xs,
            "{what}"
        );
        let want_x = floats(&case["X"]);
        assert_close(
            &out.x.iter().copied().collect::<Vec<_>>(),
            &want_x,
            RTOL,
            scale_of(&want_x) * 1e-3,
            &what,
        );
        let want_y = floats(&case["y"]);
        assert_close(
            &out.y.iter().copied().collect::<Vec<_>>(),
            &want_y,
            RTOL,
            scale_of(&want_y) * 1e-3,
            &what,
        );
        if mr.coef {
            let c = out.coef.as_ref().unwrap();
            assert_close(
                &c.iter().copied().collect::<Vec<_>>(),
                &floats(&case["coef"]),
                RTOL,
                0.0,
                &what,
            );
        } else {
            assert!(out.coef.is_none());
        }
    }
    assert!(low_rank_cases >= 4);
}

#[test]
fn make_regression_without_effective_rank_is_bit_exact_where_no_sum_is_involved() {
    // X and coef involve no summation, so they match to the last bit.
    let data = load("make_regression.json");
    let case = &data["cases"][2];
    let out = params(&case["params"]).generate().unwrap();
    common::assert_bits(
        &out.x.iter().copied().collect::<Vec<_>>(),
        &floats(&case["X"]),
        "X",
    );
    common::assert_bits(
        &out.coef.unwrap().iter().copied().collect::<Vec<_>>(),
        &floats(&case["coef"]),
        "coef",
    );
}

#[test]
fn make_regression_with_random_state_none_draws_from_the_global_generator() {
    let data = load("make_regression.json");
    let case = data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["params"].get("global_seed").is_some())
        .unwrap();
    np_random::seed(9);
    let out = MakeRegression {
        n_samples: 5,
        n_features: 3,
        noise: 0.1,
        ..Default::default()
    }
    .generate()
    .unwrap();
    let next = np_random::random_sample_one();
    assert_close(
        &out.x.iter().copied().collect::<Vec<_>>(),
        &floats(&case["X"]),
        RTOL,
        1e-3,
        "X",
    );
    assert_close(
        &out.y.iter().copied().collect::<Vec<_>>(),
        &floats(&case["y"]),
        RTOL,
        1e-3,
        "y",
    );
    assert_eq!(next, case["global_next_random_sample"].as_f64().unwrap());
}

#[test]
fn make_low_rank_matrix_matches_sklearn() {
    let data = load("make_regression.json");
    for case in data["low_rank"].as_array().unwrap() {
        let p = &case["params"];
        let x = make_low_rank_matrix(
            usize_of(&p["n_samples"]),
            usize_of(&p["n_features"]),
            usize_of(&p["effective_rank"]),
            p.get("tail_strength").map_or(0.5, |v| v.as_f64().unwrap()),
            Some(p["random_state"].as_u64().unwrap() as u32),
        )
        .unwrap();
        let want = floats(&case["X"]);
        assert_close(
            &x.iter().copied().collect::<Vec<_>>(),
            &want,
            RTOL,
            scale_of(&want) * 1e-3,
            &format!("{p}"),
        );
    }
}

#[test]
fn document_004_make_regression_head() {
    // make_regression(n_samples=10, n_features=10, n_targets=1, bias=1, random_state=42)
    let r = MakeRegression {
        n_samples: 10,
        n_features: 10,
        n_targets: 1,
        bias: 1.0,
        random_state: Some(42),
        ..Default::default()
    }
    .generate()
    .unwrap();
    let head: [[f64; 11]; 5] = [
        [
            -0.299007,
            -0.035826,
            -1.987569,
            0.087047,
            -2.619745,
            0.821903,
            1.564644,
            0.091761,
            1.538037,
            0.361396,
            -324.129377,
        ],
        [
            0.328751, 1.477894, 0.513267, 0.915402, -0.808494, -0.501757, -0.51827, -0.52976,
            0.357113, -0.219672, 8.745854,
        ],
        [
            0.261055, -0.702053, -0.234587, 0.29612, -0.392108, -1.463515, -0.327662, 0.005113,
            0.968645, 0.097078, -66.080255,
        ],
        [
            -0.309212, -0.676922, 0.975545, -0.839218, 1.031, 0.93128, 0.611676, 0.331263,
            -0.385082, 0.324084, 187.396417,
        ],
        [
            1.057122,
            -0.115648,
            -1.76304,
            -0.460639,
            -1.478522,
            -0.719844,
            -0.301104,
            0.343618,
            0.171368,
            0.738467,
            -247.012074,
        ],
    ];
    for (i, row) in head.iter().enumerate() {
        for (j, &want) in row.iter().enumerate() {
            let got = if j < 10 { r.x[[i, j]] } else { r.y[[i, 0]] };
            assert!(
                (got - want).abs() <= 5e-7,
                "row {i} col {j}: {got} vs {want}"
            );
        }
    }
    // The real values the document's sample loop prints.
    let y = r.y_column().unwrap();
    for printed in [
        -136.84556017,
        187.39641651,
        -121.36189259,
        219.73358496,
        60.94917984,
    ] {
        assert!(y.iter().any(|&v| (v - printed).abs() < 5e-9), "{printed}");
    }
}

#[test]
fn make_regression_parameter_errors_name_the_parameter() {
    let name = |p: MakeRegression| match p.generate().unwrap_err() {
        DatasetsError::InvalidParameter { name, .. } => name,
        e => panic!("{e}"),
    };
    let d = || MakeRegression {
        random_state: Some(0),
        n_samples: 5,
        n_features: 3,
        ..Default::default()
    };
    assert_eq!(
        name(MakeRegression {
            n_samples: 0,
            ..d()
        }),
        "n_samples"
    );
    assert_eq!(
        name(MakeRegression {
            n_features: 0,
            ..d()
        }),
        "n_features"
    );
    assert_eq!(
        name(MakeRegression {
            n_targets: 0,
            ..d()
        }),
        "n_targets"
    );
    assert_eq!(name(MakeRegression { noise: -1.0, ..d() }), "noise");
    assert_eq!(
        name(MakeRegression {
            noise: f64::NAN,
            ..d()
        }),
        "noise"
    );
    assert_eq!(
        name(MakeRegression {
            tail_strength: 1.5,
            ..d()
        }),
        "tail_strength"
    );
    assert_eq!(
        name(MakeRegression {
            effective_rank: Some(0),
            ..d()
        }),
        "effective_rank"
    );
    assert_eq!(
        name(MakeRegression {
            bias: f64::INFINITY,
            ..d()
        }),
        "bias"
    );
    assert_eq!(
        name(MakeRegression {
            n_samples: usize::MAX,
            ..d()
        }),
        "size"
    );
}

#[test]
fn train_test_split_matches_sklearn() {
    let data = load("preprocessing.json");
    let size = |v: &Value| match v {
        Value::Null => None,
        v if v.is_u64() => Some(SplitSize::Count(usize_of(v))),
        v => Some(SplitSize::Fraction(v.as_f64().unwrap())),
    };
    for case in data["train_test_split"].as_array().unwrap() {
        let opts = TrainTestSplit {
            test_size: size(&case["test_size"]),
            train_size: size(&case["train_size"]),
            shuffle: true,
            random_state: Some(case["seed"].as_u64().unwrap() as u32),
        };
        let (train, test) = train_test_split_indices(usize_of(&case["n"]), &opts).unwrap();
        let as_i = |v: Vec<usize>| v.into_iter().map(|i| i as i64).collect::<Vec<_>>();
        assert_eq!(as_i(train), ints(&case["train"]), "{case}");
        assert_eq!(as_i(test), ints(&case["test"]), "{case}");
    }
    for case in data["sequential_split"].as_array().unwrap() {
        let opts = TrainTestSplit {
            test_size: Some(SplitSize::Fraction(case["test_size"].as_f64().unwrap())),
            shuffle: false,
            ..Default::default()
        };
        let (train, test) = train_test_split_indices(usize_of(&case["n"]), &opts).unwrap();
        assert_eq!(train.len(), usize_of(&case["train_len"]));
        assert_eq!(test[0], usize_of(&case["test_first"]));
    }
}

#[test]
fn train_test_split_errors() {
    let bad = |t: Option<SplitSize>, r: Option<SplitSize>| {
        let o = TrainTestSplit {
            test_size: t,
            train_size: r,
            random_state: Some(0),
            ..Default::default()
        };
        match train_test_split_indices(10, &o).unwrap_err() {
            DatasetsError::InvalidParameter { name, .. } => name,
            e => panic!("{e}"),
        }
    };
    assert_eq!(bad(Some(SplitSize::Fraction(1.0)), None), "test_size");
    assert_eq!(bad(Some(SplitSize::Count(10)), None), "test_size");
    assert_eq!(bad(None, Some(SplitSize::Count(0))), "train_size");
    assert_eq!(
        bad(
            Some(SplitSize::Fraction(0.6)),
            Some(SplitSize::Fraction(0.6))
        ),
        "test_size"
    );
    assert_eq!(
        bad(Some(SplitSize::Count(6)), Some(SplitSize::Count(6))),
        "train_size"
    );
}

#[test]
fn standard_scaler_matches_sklearn() {
    let data = load("preprocessing.json");
    let sc = &data["scaler"];
    let shape = ints(&sc["shape"]);
    let x =
        Array2::from_shape_vec((shape[0] as usize, shape[1] as usize), floats(&sc["X"])).unwrap();
    let fitted = StandardScaler::fit(x.view()).unwrap();
    assert_close(
        &fitted.mean.to_vec(),
        &floats(&sc["mean"]),
        1e-14,
        0.0,
        "mean",
    );
    assert_close(
        &fitted.scale.to_vec(),
        &floats(&sc["scale"]),
        1e-14,
        0.0,
        "scale",
    );
    assert_eq!(fitted.scale[3], 1.0, "constant column");
    let t = fitted.transform(x.view()).unwrap();
    assert_close(
        &t.iter().copied().collect::<Vec<_>>(),
        &floats(&sc["transformed"]),
        1e-13,
        1.0,
        "transform",
    );
}
