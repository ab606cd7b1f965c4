//! Issue 17's "what it must show": every experiment's every parameter given at its bounds, past
//! them and as garbage, and the other arguments mistyped, through the `tapegrad` binary. A value
//! the experiment refuses exits 2 with one line naming the key; one it takes runs to the end
//! (status 0, a JSON object as the last line) or fails with status 1 and a message. Never a
//! signal, a panic or an abort. The test prints its table of cases (`--nocapture`).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};
use std::sync::Mutex;

use tapegrad_runner::config::Kind;

/// What a case expects.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Expect {
    /// Refused before any work: status 2, one line on stderr.
    Refused,
    /// Taken: status 0 with a JSON summary, or 1 with a message (a run that cannot finish).
    Taken,
}

struct Case {
    category: &'static str,
    args: Vec<String>,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let run = |id: &str, set: Option<String>, extra: &[&str]| {
        let mut a = vec![
            "run".to_string(),
            id.to_string(),
            "--quiet".into(),
            "--json".into(),
        ];
        if let Some(s) = set {
            a.push("--set".into());
            a.push(s);
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    for exp in tapegrad_runner::all() {
        let id = exp.id();
        for p in exp.params() {
            let key = p.key;
            let mut refused: Vec<String> = vec![
                String::new(),
                "abc".into(),
                "1e999".into(),
                "0x10".into(),
                " ".into(),
                "1,5".into(),
            ];
            let mut taken: Vec<String> = Vec::new();
            match p.kind {
                Kind::Float { min, max } => {
                    refused.extend(["nan", "inf", "-inf", "NaN"].map(String::from));
                    refused.push(format!("{:?}", max * 2.0 + 1.0));
                    if min > f64::MIN {
                        refused.push(format!("{:?}", min - 1.0 - min.abs()));
                    }
                    taken.push(format!("{max:?}"));
                }
                Kind::Int { min, max } => {
                    refused.push((min - 1).to_string());
                    refused.push((max as i128 + 1).to_string());
                    refused.push("1.5".into());
                    refused.push("18446744073709551616".into());
                    taken.push(min.to_string());
                }
                Kind::Choice(words) => {
                    refused.push(format!("{}x", words[0]));
                    refused.push(words[0].to_uppercase());
                    taken.extend(words.iter().map(|w| w.to_string()));
                }
            }
            for v in refused {
                cases.push(Case {
                    category: "--set KEY=VALUE out of range or not a value",
                    args: run(id, Some(format!("{key}={v}")), &[]),
                    expect: Expect::Refused,
                });
            }
            for v in taken {
                cases.push(Case {
                    category: "--set KEY=VALUE at its bound",
                    args: run(id, Some(format!("{key}={v}")), &[]),
                    expect: Expect::Taken,
                });
            }
        }
        for bad in [
            format!("nokey={}", 1),
            "=1".into(),
            "novalue".into(),
            "".into(),
        ] {
            cases.push(Case {
                category: "--set without a known KEY=VALUE",
                args: run(id, Some(bad), &[]),
                expect: Expect::Refused,
            });
        }
        for seed in ["-1", "4294967296", "18446744073709551615", "1e3", "", "--"] {
            cases.push(Case {
                category: "--seed outside 0..2^32",
                args: run(id, None, &["--seed", seed]),
                expect: Expect::Refused,
            });
        }
        for out in ["/dev/null", "/proc/self/status", "/proc/self/no/such/dir"] {
            cases.push(Case {
                category: "--out that cannot be a directory",
                args: run(id, None, &["--out", out]),
                expect: Expect::Refused,
            });
        }
    }
    for id in [
        "",
        "two_weights",
        "TWO-WEIGHTS",
        "../two-weights",
        "two-weights\n",
    ] {
        for cmd in ["run", "show"] {
            cases.push(Case {
                category: "unknown experiment",
                args: vec![cmd.into(), id.into()],
                expect: Expect::Refused,
            });
        }
    }
    let mr = |extra: &[&str]| {
        let mut a: Vec<String> = ["data", "make-regression", "--out", "/dev/null"]
            .map(String::from)
            .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    for (flag, values) in [
        (
            "--n-samples",
            &["0", "-1", "abc", "18446744073709551616", "1e3"][..],
        ),
        ("--n-features", &["-1", "x", "18446744073709551615"][..]),
        ("--n-informative", &["-1", "1.5"][..]),
        (
            "--n-targets",
            &["0", "1099511627776", "18446744073709551615"][..],
        ),
        ("--noise", &["nan", "-1", "-inf"][..]),
        ("--tail-strength", &["nan", "-0.5", "2"][..]),
        ("--bias", &["nan", "inf"][..]),
        ("--effective-rank", &["0", "-1", "18446744073709551616"][..]),
        ("--random-state", &["-1", "4294967296", "x"][..]),
        ("--shuffle", &["maybe", ""][..]),
    ] {
        for v in values {
            cases.push(Case {
                category: "make-regression parameter out of range",
                args: mr(&[flag, v]),
                expect: Expect::Refused,
            });
        }
    }
    // extremes scikit-learn takes: n_informative is clipped to n_features, effective_rank is
    // any integer >= 1, noise any number >= 0 (inf makes every target inf)
    for (flag, v) in [
        ("--n-informative", "18446744073709551615"),
        ("--effective-rank", "18446744073709551615"),
        ("--noise", "inf"),
        ("--bias", "-1e308"),
    ] {
        cases.push(Case {
            category: "make-regression parameter at an extreme scikit-learn takes",
            args: mr(&[flag, v]),
            expect: Expect::Taken,
        });
    }
    cases
}

#[derive(Default)]
struct Tally {
    cases: usize,
    as_expected: usize,
    signals: usize,
    panics: usize,
}

#[test]
fn every_parameter_at_and_past_its_bounds_exits_cleanly_never_by_a_signal_or_panic() {
    let cases = cases();
    let table: Mutex<BTreeMap<&'static str, Tally>> = Mutex::new(BTreeMap::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let o: Output = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
                    .args(&case.args)
                    .output()
                    .expect("the binary runs");
                let err = String::from_utf8_lossy(&o.stderr);
                let signal = o.status.signal();
                let panicked = err.contains("panicked") || o.status.code() == Some(101);
                let fine = match (case.expect, o.status.code()) {
                    (_, None) => false,
                    // ours is one line; clap's adds the allowed values and a pointer to --help
                    (Expect::Refused, Some(2)) => {
                        err.starts_with("error: ") && err.trim_end().lines().count() <= 5
                    }
                    (Expect::Taken, Some(0)) if case.args[0] == "data" => true,
                    (Expect::Taken, Some(0)) => String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .last()
                        .is_some_and(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
                    (Expect::Taken, Some(1)) => err.starts_with("error: "),
                    _ => false,
                };
                let mut t = table.lock().unwrap();
                let row = t.entry(case.category).or_default();
                row.cases += 1;
                row.as_expected += usize::from(fine && !panicked);
                row.signals += usize::from(signal.is_some());
                row.panics += usize::from(panicked);
                if !fine || panicked {
                    failures.lock().unwrap().push(format!(
                        "{:?}: expected {:?}, got {:?}: {}",
                        case.args,
                        case.expect,
                        o.status,
                        err.trim_end()
                    ));
                }
            });
        }
    });
    eprintln!("| category | cases | as expected | signals | panics |\n|---|---:|---:|---:|---:|");
    for (category, t) in table.lock().unwrap().iter() {
        eprintln!(
            "| {category} | {} | {} | {} | {} |",
            t.cases, t.as_expected, t.signals, t.panics
        );
    }
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 400, "{} cases", cases.len());
}
