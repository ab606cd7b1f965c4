//! Our number formatting against Python's `repr(float)` and numpy's `str(np.float32)`, from
//! data/reference/float_repr.json (written by gen_float_repr.py beside it).

use serde_json::Value;
use tapegrad_runner::format::{np_f32, py_float};

#[test]
fn python_repr_and_numpy_str_agree_with_ours() {
    let data: Value =
        serde_json::from_str(include_str!("../../../data/reference/float_repr.json")).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() > 500);
    let mut bad = Vec::new();
    for c in cases {
        let x = f64::from_bits(u64::from_str_radix(c["bits64"].as_str().unwrap(), 16).unwrap());
        let y = f32::from_bits(u32::from_str_radix(c["bits32"].as_str().unwrap(), 16).unwrap());
        if py_float(x) != c["py_repr"].as_str().unwrap() {
            bad.push(format!(
                "py_float({x:e}) = {} vs {}",
                py_float(x),
                c["py_repr"]
            ));
        }
        // numpy 2 prints float32 scalars from 1e6 up in scientific notation; numpy 1.x, which the
        // documents ran (`2017845800000.0`), switched only at 1e16. We follow the documents.
        if y.abs() < 1e6 && np_f32(y) != c["np_str"].as_str().unwrap() {
            bad.push(format!("np_f32({y:e}) = {} vs {}", np_f32(y), c["np_str"]));
        }
    }
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(np_f32(2017845837824.0), "2017845800000.0");
}
