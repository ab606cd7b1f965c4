//! The `tapegrad` binary as other programs use it: `list`, `show`, `run --json`, bad input,
//! and `data make-regression` against the stored scikit-learn references.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn tapegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(args)
        .output()
        .expect("the tapegrad binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tapegrad-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn ids() -> Vec<String> {
    let o = tapegrad(&["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn list_is_tab_separated_id_document_title() {
    let o = tapegrad(&["list"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.lines().count() >= 1);
    for line in text.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        assert_eq!(parts.len(), 3, "{line:?}");
        assert!(
            ["000", "001", "002", "003", "004"].contains(&parts[1]),
            "{line:?}"
        );
    }
    assert!(text.starts_with("two-weights\t000\t"));
}

#[test]
fn show_lists_every_parameter() {
    for id in ids() {
        let o = tapegrad(&["show", &id]);
        assert!(o.status.success(), "{id}: {}", stderr(&o));
        assert!(stdout(&o).contains("parameters"), "{id}");
    }
}

/// Keys that make each experiment short enough for a debug-build test.
fn short(id: &str) -> Vec<&'static str> {
    match id {
        "two-weights" => vec!["--set", "steps=300"],
        "scratch-regression" => vec!["--set", "steps=100"],
        "tape-regression" => vec!["--set", "num_epochs=30"],
        _ => vec![],
    }
}

#[test]
fn run_json_for_every_experiment() {
    for id in ids() {
        let mut args = vec!["run", id.as_str(), "--json", "--quiet"];
        args.extend(short(&id));
        let o = tapegrad(&args);
        assert!(o.status.success(), "{id}: {}", stderr(&o));
        let text = stdout(&o);
        let last = text.lines().last().unwrap_or_default();
        let v: Value = serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("{id}: last line is not JSON ({e}): {last}"));
        assert_eq!(v["experiment"], id.as_str());
        for key in [
            "config",
            "steps",
            "stopped_by",
            "variables",
            "loss_history",
            "final_loss",
            "train_seconds",
        ] {
            assert!(v.get(key).is_some(), "{id}: no `{key}` in {last}");
        }
        assert!(
            ["steps", "criterion", "diverged"].contains(&v["stopped_by"].as_str().unwrap_or("")),
            "{id}"
        );
        assert!(v["config"].is_object());
    }
}

#[test]
fn two_weights_prints_the_document_line_and_json() {
    let o = tapegrad(&["run", "two-weights", "--json", "--quiet"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("Final result: y = a: 4.9825, b: 2.9952"),
        "{text}"
    );
    let v: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(v["steps"], 15000);
    assert_eq!(v["stopped_by"], "steps");
    assert_eq!(v["config"]["learning_rate"], 1e-4);
    assert_eq!(v["loss_history"].as_array().map(Vec::len), Some(1500));
    assert_eq!(
        v["variables"]["a"].as_f64().map(|a| a as f32),
        Some(4.982_508_f32)
    );
}

#[test]
fn a_diverging_run_reports_where_exits_zero_and_writes_its_files() {
    let dir = scratch("diverge");
    let out = dir.join("run");
    let o = tapegrad(&[
        "run",
        "two-weights",
        "--set",
        "loss=mse",
        "--json",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(v["stopped_by"], "diverged");
    assert!(v["diverged_at"].as_u64().is_some());
    assert!(out.join("summary.json").is_file());
    assert!(out.join("history.csv").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_problem() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["run", "no-such-experiment"],
            "unknown experiment `no-such-experiment`",
        ),
        (
            &["run", "two-weights", "--set", "nope=1"],
            "unknown key `nope`",
        ),
        (
            &["run", "two-weights", "--set", "learning_rate=fast"],
            "bad value `fast` for `learning_rate`",
        ),
        (
            &["run", "two-weights", "--set", "steps=-5"],
            "`steps`: expected an integer in",
        ),
        (
            &["run", "two-weights", "--set", "loss=hinge"],
            "expected one of abs, mse",
        ),
        (
            &["run", "two-weights", "--set", "steps"],
            "expected KEY=VALUE",
        ),
    ];
    for (args, needle) in cases {
        let o = tapegrad(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    let o = tapegrad(&[
        "data",
        "make-regression",
        "--n-samples",
        "0",
        "--out",
        "/tmp/never.csv",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("n_samples"), "{}", stderr(&o));
}

fn read_csv(path: &std::path::Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(|v| v.parse().unwrap()).collect())
        .collect();
    (header, rows)
}

#[test]
fn make_regression_matches_scikit_learn() {
    let text = include_str!("../../../data/datasets/make_regression.json");
    let data: Value = serde_json::from_str(text).unwrap();
    let dir = scratch("mkreg");
    let mut checked = 0;
    for case in data["cases"].as_array().unwrap() {
        let params: Value = match &case["params"] {
            Value::String(s) => serde_json::from_str(
                &s.replace('\'', "\"")
                    .replace("True", "true")
                    .replace("False", "false"),
            )
            .unwrap(),
            v => v.clone(),
        };
        if params.get("random_state").is_none() {
            continue;
        }
        let mut args: Vec<String> = vec!["data".into(), "make-regression".into()];
        for (k, v) in params.as_object().unwrap() {
            if k == "coef" {
                continue;
            }
            args.push(format!("--{}", k.replace('_', "-")));
            args.push(match v {
                Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            });
        }
        let out = dir.join(format!("case{checked}.csv"));
        let coef = dir.join(format!("coef{checked}.csv"));
        args.extend([
            "--out".into(),
            out.to_string_lossy().into_owned(),
            "--coef".into(),
            coef.to_string_lossy().into_owned(),
        ]);
        let o = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let (header, rows) = read_csv(&out);
        let nf = params["n_features"].as_u64().unwrap() as usize;
        assert_eq!(header[0], "x0");
        let flat = |v: &Value| -> Vec<f64> {
            let v = match v {
                Value::String(s) => serde_json::from_str::<Value>(s).unwrap(),
                v => v.clone(),
            };
            fn walk(v: &Value, out: &mut Vec<f64>) {
                match v {
                    Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                    other => out.push(other.as_f64().unwrap()),
                }
            }
            let mut out = Vec::new();
            walk(&v, &mut out);
            out
        };
        let (x, y) = (flat(&case["X"]), flat(&case["y"]));
        let nt = y.len() / rows.len();
        for (i, row) in rows.iter().enumerate() {
            for j in 0..nf {
                let (a, b) = (row[j], x[i * nf + j]);
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    "x[{i},{j}] {a} vs {b}"
                );
            }
            for t in 0..nt {
                let (a, b) = (row[nf + t], y[i * nt + t]);
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    "y[{i},{t}] {a} vs {b}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} cases checked");
}

#[test]
fn make_regression_with_two_to_the_40_targets_is_an_error_not_an_abort() {
    // was SIGABRT: "memory allocation of 17592186044416 bytes failed"
    let out = scratch("huge_targets").join("x.csv");
    let o = tapegrad(&[
        "data",
        "make-regression",
        "--n-targets",
        "1099511627776",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("more memory than the system gives"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}
