//! `tapegrad fit` against tf-keras 2.21: data/keras/cli/cli_fit.json holds, for each set of
//! flags, the history and weights tf-keras gives a model built as the command builds it
//! (data/keras/cli/gen_cli_fit.py), on data/keras/cli/regression.csv. The seeded initial
//! weights are equal bit for bit, the history and final weights within 1e-5 relative; bad
//! flags exit with status 2 and a line naming the flag.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tapegrad(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(args)
        .output()
        .expect("run tapegrad")
}

/// The `--json` object: the last line of `stdout`.
fn last_json(stdout: &[u8]) -> Value {
    let text = std::str::from_utf8(stdout).expect("utf-8");
    serde_json::from_str(text.lines().last().expect("a line")).expect("json line")
}

fn flat(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        Value::Number(n) => out.push(n.as_f64().expect("number")),
        other => panic!("not a number: {other}"),
    }
}

fn close(ours: &Value, theirs: &Value, what: &str, tolerance: f64) -> f64 {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flat(ours, &mut a);
    flat(theirs, &mut b);
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let mut worst = 0.0f64;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let rel = (x - y).abs() / y.abs().max(1e-6);
        assert!(
            rel <= tolerance,
            "{what}[{i}]: ours {x}, tf-keras {y} ({rel:e} relative)"
        );
        worst = worst.max(rel);
    }
    worst
}

#[test]
fn fit_prints_tf_keras_history_and_weights() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("data/keras/cli/cli_fit.json")).expect("fixture"),
    )
    .expect("json");
    let data = root().join("data/keras/cli/regression.csv");
    let cases = reference["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    let mut worst = 0.0f64;
    for case in cases {
        let mut args = vec!["fit".to_string(), data.display().to_string()];
        args.extend(
            case["args"]
                .as_array()
                .expect("args")
                .iter()
                .map(|a| a.as_str().expect("arg").to_string()),
        );
        args.extend(["--json".into(), "--quiet".into()]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tapegrad(&refs);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = last_json(&out.stdout);
        // seeded kernels and zero biases: tf-keras's to the bit
        close(
            &ours["initial_weights"],
            &case["initial_weights"],
            "initial",
            0.0,
        );
        let keys: Vec<&String> = case["history"]
            .as_object()
            .expect("history")
            .keys()
            .collect();
        let our_keys: Vec<&String> = ours["history"]
            .as_object()
            .expect("history")
            .keys()
            .collect();
        assert_eq!(our_keys.len(), keys.len(), "{our_keys:?} / {keys:?}");
        for k in keys {
            worst = worst.max(close(&ours["history"][k], &case["history"][k], k, 1e-5));
        }
        worst = worst.max(close(&ours["weights"], &case["weights"], "weights", 1e-5));
    }
    eprintln!("largest relative deviation from tf-keras: {worst:e}");
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let data = root().join("data/keras/cli/regression.csv");
    let data = data.to_str().expect("path");
    let cases: [(&[&str], &str); 6] = [
        (&["--target", "z", "--layers", "1"], "no column named `z`"),
        (&["--target", "y", "--layers", "8:relux"], "--layers"),
        (&["--target", "y", "--layers", "0"], "--layers"),
        (
            &["--target", "y", "--layers", "1", "--optimizer", "adamm"],
            "--optimizer",
        ),
        (
            &[
                "--target",
                "y",
                "--layers",
                "1",
                "--optimizer",
                "adam",
                "--momentum",
                "0.9",
            ],
            "--momentum",
        ),
        (
            &[
                "--target",
                "y",
                "--layers",
                "1",
                "--validation-split",
                "1.5",
            ],
            "--validation-split",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["fit", data];
        args.extend_from_slice(flags);
        let out = tapegrad(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
    let out = tapegrad(&["fit", "/nonexistent.csv", "--target", "y", "--layers", "1"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.csv"));
}

#[test]
fn saved_weights_start_the_next_fit_and_a_wrong_file_exits_2() {
    let data = root().join("data/keras/cli/regression.csv");
    let data = data.to_str().expect("path");
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["w.weights.h5", "w.safetensors", "w.npz"] {
        let saved = dir.path().join(name);
        let saved = saved.to_str().expect("path");
        let common = [
            "fit",
            data,
            "--target",
            "y",
            "--layers",
            "8:relu,1",
            "--epochs",
            "2",
            "--quiet",
            "--json",
            "--no-shuffle",
        ];
        let mut first = common.to_vec();
        first.extend(["--seed", "5", "--save-weights", saved]);
        let out = tapegrad(&first);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let first = last_json(&out.stdout);
        let mut second = common.to_vec();
        second.extend(["--initial-weights", saved]);
        let out = tapegrad(&second);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let second = last_json(&out.stdout);
        assert_eq!(second["initial_weights"], first["weights"], "{name}");
        // a model of another shape refuses the file, naming the layer and both shapes
        let out = tapegrad(&[
            "fit",
            data,
            "--target",
            "y",
            "--layers",
            "4,1",
            "--initial-weights",
            saved,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("dense/kernel") && stderr.contains("[3, 4]"),
            "{stderr}"
        );
    }
    let out = tapegrad(&[
        "fit",
        data,
        "--target",
        "y",
        "--layers",
        "1",
        "--save-weights",
        "/tmp/w.bin",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown weights format"));
    // a .keras archive holds a model, not weights: refused before training
    let out = tapegrad(&[
        "fit",
        data,
        "--target",
        "y",
        "--layers",
        "1",
        "--epochs",
        "100000",
        "--save-weights",
        "/tmp/w.keras",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--save-weights"));
}

/// The first Ctrl-C (SIGINT) ends `fit` after the current batch: status 0, a note on stderr,
/// and the `--json` line with the epochs completed; `--save-weights` is not written (as in
/// Keras, an interrupt saves nothing), which the note says.
#[test]
fn an_interrupt_stops_after_the_batch_and_prints_the_history_so_far() {
    use std::io::{BufRead, Read};
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("rows.csv");
    let csv = csv.to_str().expect("path");
    let made = tapegrad(&[
        "data",
        "make-regression",
        "--n-samples",
        "20000",
        "--n-features",
        "4",
        "--random-state",
        "3",
        "--out",
        csv,
    ]);
    assert!(made.status.success());
    let saved = dir.path().join("interrupted.weights.h5");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args([
            "fit",
            csv,
            "--target",
            "y",
            "--layers",
            "8:relu,1",
            "--epochs",
            "1000",
            "--batch-size",
            "8",
            "--json",
            "--save-weights",
            saved.to_str().expect("path"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "ended early: {lines:?}"
        );
        let second_epoch = line.starts_with("Epoch 2/");
        lines.push(line);
        if second_epoch {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read");
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "interrupted: --save-weights {} not written",
            saved.display()
        )),
        "{stderr}"
    );
    assert!(!saved.exists(), "an interrupted fit wrote --save-weights");
    let last = last_json(rest.as_bytes());
    let epochs = last["history"]["loss"].as_array().expect("loss").len();
    assert!((1..1000).contains(&epochs), "{epochs} epochs");
}
