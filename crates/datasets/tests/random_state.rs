//! RandomState against numpy's legacy RandomState (data/datasets/random_state.json).

mod common;

use common::{assert_bits, floats, ints, load, usize_of};
use serde_json::Value;
use tapegrad_datasets::{DatasetsError, RandomState};

fn make(seed: &Value) -> RandomState {
    match seed {
        Value::Array(keys) => {
            let keys: Vec<u32> = keys.iter().map(|k| k.as_u64().unwrap() as u32).collect();
            RandomState::from_seed_array(&keys).unwrap()
        }
        s => RandomState::new(s.as_u64().unwrap() as u32),
    }
}

fn check_state(rs: &RandomState, want: &Value, what: &str) {
    let s = rs.get_state();
    let key: Vec<i64> = s.key.iter().map(|&k| i64::from(k)).collect();
    assert_eq!(
        key[..4].to_vec(),
        ints(&want["key_head"]),
        "{what}: key head"
    );
    assert_eq!(
        key[620..].to_vec(),
        ints(&want["key_tail"]),
        "{what}: key tail"
    );
    let sum: u64 = s.key.iter().map(|&k| u64::from(k)).sum();
    assert_eq!(sum, want["key_sum"].as_u64().unwrap(), "{what}: key sum");
    assert_eq!(s.pos, usize_of(&want["pos"]), "{what}: pos");
    assert_eq!(
        s.has_gauss,
        want["has_gauss"].as_i64() == Some(1),
        "{what}: has_gauss"
    );
    assert_eq!(
        s.cached_gaussian.to_bits(),
        want["gauss"].as_f64().unwrap().to_bits(),
        "{what}: gauss"
    );
}

/// Replays one call; returns (floats, ints) produced.
fn replay(rs: &mut RandomState, call: &Value, what: &str) {
    let m = call["method"].as_str().unwrap();
    let a = &call["args"];
    let size = || usize_of(&a["size"]);
    let f = |k: &str| a[k].as_f64().unwrap();
    let out = &call["out"];
    match m {
        "get_state" => check_state(rs, out, what),
        "random_sample" => assert_bits(
            &rs.random_sample(size()).unwrap().to_vec(),
            &floats(out),
            what,
        ),
        "rand" => assert_bits(&rs.rand(size()).unwrap().to_vec(), &floats(out), what),
        "randn" => assert_bits(&rs.randn(size()).unwrap().to_vec(), &floats(out), what),
        "standard_normal" => assert_bits(&[rs.standard_normal_one()], &floats(out), what),
        "normal" => assert_bits(
            &rs.normal(f("loc"), f("scale"), size()).unwrap().to_vec(),
            &floats(out),
            what,
        ),
        "uniform" => assert_bits(
            &rs.uniform(f("low"), f("high"), size()).unwrap().to_vec(),
            &floats(out),
            what,
        ),
        "randint" => {
            let low = a["low"].as_i64().unwrap();
            let high = a["high"].as_i64().unwrap();
            assert_eq!(
                rs.randint(low, high, size()).unwrap().to_vec(),
                ints(out),
                "{what}"
            );
        }
        "shuffle" => {
            let mut v: Vec<i64> = (0..a["n"].as_i64().unwrap()).collect();
            rs.shuffle(&mut v);
            assert_eq!(v, ints(out), "{what}");
        }
        "permutation" => {
            let p: Vec<i64> = rs
                .permutation(usize_of(&a["n"]))
                .unwrap()
                .iter()
                .map(|&i| i as i64)
                .collect();
            assert_eq!(p, ints(out), "{what}");
        }
        "choice" => {
            let p = a.get("p").map(floats);
            let got = rs
                .choice(
                    usize_of(&a["a"]),
                    size(),
                    a["replace"].as_bool().unwrap(),
                    p.as_deref(),
                )
                .unwrap();
            let got: Vec<i64> = got.iter().map(|&i| i as i64).collect();
            assert_eq!(got, ints(out), "{what}");
        }
        other => panic!("unknown method {other}"),
    }
}

#[test]
fn every_method_matches_numpy_bit_for_bit() {
    let data = load("random_state.json");
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    let mut n_calls = 0;
    for case in cases {
        let mut rs = make(&case["seed"]);
        for (k, call) in case["calls"].as_array().unwrap().iter().enumerate() {
            let what = format!("seed {} call {k} ({})", case["seed"], call["method"]);
            replay(&mut rs, call, &what);
            n_calls += 1;
        }
    }
    assert!(n_calls > 100);
}

#[test]
fn set_state_replays_the_same_sequence_mid_stream() {
    let data = load("random_state.json");
    let case = &data["cases"][2];
    let calls = case["calls"].as_array().unwrap();
    let mut rs = make(&case["seed"]);
    // Play the first three calls, save (a gauss is cached after randn(7)),
    // copy the state into a fresh generator and replay the rest on it.
    for call in &calls[..3] {
        replay(&mut rs, call, "prefix");
    }
    let saved = rs.get_state();
    assert!(saved.has_gauss);
    let mut other = RandomState::new(999);
    other.set_state(&saved).unwrap();
    for (k, call) in calls[3..].iter().enumerate() {
        replay(&mut other, call, &format!("restored call {k}"));
    }
}

#[test]
fn bad_parameters_are_named_errors() {
    let mut rs = RandomState::new(0);
    let name = |e: DatasetsError| match e {
        DatasetsError::InvalidParameter { name, .. } => name,
        other => panic!("unexpected {other}"),
    };
    assert_eq!(name(rs.randint(5, 5, 1).unwrap_err()), "high");
    assert_eq!(name(rs.uniform(0.0, f64::INFINITY, 1).unwrap_err()), "high");
    assert_eq!(name(rs.normal(0.0, f64::NAN, 1).unwrap_err()), "scale");
    assert_eq!(name(rs.choice(0, 1, true, None).unwrap_err()), "a");
    assert_eq!(name(rs.choice(3, 4, false, None).unwrap_err()), "size");
    assert_eq!(name(rs.choice(2, 1, true, Some(&[0.5])).unwrap_err()), "p");
    assert_eq!(
        name(rs.choice(2, 1, true, Some(&[1.5, -0.5])).unwrap_err()),
        "p"
    );
    assert_eq!(
        name(rs.choice(2, 1, true, Some(&[f64::NAN, 0.5])).unwrap_err()),
        "p"
    );
    assert_eq!(
        name(rs.choice(3, 3, false, Some(&[0.5, 0.5, 0.0])).unwrap_err()),
        "p"
    );
    assert_eq!(name(rs.random_sample((usize::MAX, 2)).unwrap_err()), "size");
    assert_eq!(name(rs.randn([1usize << 40, 1 << 40]).unwrap_err()), "size");
    // Errors consume no draws: the stream continues as from a fresh seed.
    assert_eq!(
        rs.random_sample_one(),
        RandomState::new(0).random_sample_one()
    );
}

#[test]
fn probabilities_within_sqrt_eps_of_one_are_accepted() {
    let mut rs = RandomState::new(1);
    assert!(rs.choice(2, 3, true, Some(&[0.5, 0.5 + 1e-9])).is_ok());
    assert!(rs.choice(2, 3, true, Some(&[0.5, 0.5 + 1e-7])).is_err());
}

#[test]
fn size_zero_draws_nothing() {
    let mut rs = RandomState::new(3);
    assert_eq!(rs.randn(0).unwrap().len(), 0);
    assert_eq!(rs.choice(0, 0, false, None).unwrap().len(), 0);
    assert_eq!(rs.get_state().pos, 624);
}
