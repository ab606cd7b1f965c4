//! `cargo xtask bench-peers`: one training step of every documented workload in our crates, in
//! the hand-fused Rust floor, and in the Python peers (TensorFlow eager and `tf.function`,
//! PyTorch eager, JAX `jit`, numpy by hand) on the same data; prints a table of µs per step with
//! the ratios and writes it to `target/bench-peers/` (`table.md`, `results.json`).
//!
//! Ours and the floor come from `cargo run --release -p tapegrad-benches --example table --
//! --json`; the peers from `xtask/peers/peers.py`, run by every interpreter listed in
//! `$TAPEGRAD_PEERS_PYTHON` (separated by `:`; default `python3`), each peer taken from the
//! first interpreter that can import it. A peer no interpreter has is reported as missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The workloads, in table order.
const WORKLOADS: [&str; 7] = [
    "two-weights",
    "scratch-regression",
    "tape-regression",
    "custom-training",
    "depth-dense-sgd",
    "depth-dense-minibatch",
    "depth-mlp",
];

/// The Python peers: the name `peers.py` uses and the column title.
const PEERS: [(&str, &str); 5] = [
    ("tf", "TF eager"),
    ("tf.function", "tf.function"),
    ("torch", "PyTorch eager"),
    ("jax", "JAX jit"),
    ("numpy", "numpy by hand"),
];

/// One flat JSON object of strings and numbers, as `peers.py` and the `table` example print.
type Flat = BTreeMap<String, String>;

/// Parses `{"k": "v", "n": 1.5, ...}` (no nesting); `None` for anything else.
fn parse_flat(line: &str) -> Option<Flat> {
    let s = line.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Flat::new();
    let mut chars = s.chars().peekable();
    let string = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<String> {
        let mut v = String::new();
        loop {
            match chars.next()? {
                '"' => return Some(v),
                '\\' => match chars.next()? {
                    'n' => v.push('\n'),
                    't' => v.push('\t'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                        v.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('?'));
                    }
                    c => v.push(c),
                },
                c => v.push(c),
            }
        }
    };
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.next() {
            None => return Some(out),
            Some('"') => {}
            Some(_) => return None,
        }
        let key = string(&mut chars)?;
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ':') {
            chars.next();
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            string(&mut chars)?
        } else {
            let mut v = String::new();
            while chars.peek().is_some_and(|c| *c != ',') {
                v.extend(chars.next());
            }
            v.trim().to_string()
        };
        out.insert(key, value);
    }
}

/// What `cargo xtask bench-peers --help` prints.
const USAGE: &str = "\
usage: cargo xtask bench-peers [--only WORKLOAD]... [--batch-seconds S]

Times one training step of each documented workload in our crates, in the hand-fused Rust floor
and in the Python peers (TensorFlow, PyTorch, JAX, numpy; run by each interpreter in
$TAPEGRAD_PEERS_PYTHON, separated by `:`, default python3), and writes target/bench-peers/.

options:
  --only WORKLOAD     only the workloads starting with WORKLOAD (repeatable; default: all)
  --batch-seconds S   seconds per timed batch, in (0, 10] (default: 0.05)
  -h, --help          this message";

/// Options of the task.
struct Options {
    only: Vec<String>,
    batch_seconds: String,
}

fn parse_args(args: Vec<String>) -> Result<Options> {
    let mut opts = Options {
        only: Vec::new(),
        batch_seconds: "0.05".into(),
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => opts
                .only
                .push(it.next().context("--only needs a workload")?),
            "--batch-seconds" => {
                let v = it.next().context("--batch-seconds needs a value")?;
                let secs: f64 = v.parse().context("--batch-seconds: expected seconds")?;
                if !(secs > 0.0 && secs <= 10.0) {
                    bail!("--batch-seconds must be in (0, 10]");
                }
                opts.batch_seconds = v;
            }
            other => bail!(
                "unknown option `{other}` (known: --only WORKLOAD, --batch-seconds S, --help)"
            ),
        }
    }
    for o in &opts.only {
        if !WORKLOADS.iter().any(|w| w.starts_with(o.as_str())) {
            bail!(
                "--only {o}: no workload starts with it (known: {})",
                WORKLOADS.join(", ")
            );
        }
    }
    Ok(opts)
}

/// One workload of our crates: µs a step eager and traced (`tapegrad::function`), the floor's,
/// allocations a step.
struct Ours {
    workload: String,
    eager: f64,
    traced: f64,
    floor: f64,
    allocs: f64,
}

/// Our crates and the floor, per workload.
fn run_rust(root: &Path, opts: &Options) -> Result<Vec<Ours>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "tapegrad-benches",
        "--example",
        "table",
        "--",
        "--json",
    ]);
    for o in &opts.only {
        cmd.args(["--only", o]);
    }
    let out = cmd
        .output()
        .context("running the `table` example of tapegrad-benches")?;
    if !out.status.success() {
        bail!(
            "the `table` example failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut rows = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(obj) = parse_flat(line) else {
            continue;
        };
        let num = |k: &str| obj.get(k).and_then(|v| v.parse::<f64>().ok());
        if let (Some(w), Some(eager), Some(floor)) =
            (obj.get("workload"), num("ours_us"), num("floor_us"))
        {
            rows.push(Ours {
                workload: w.clone(),
                eager,
                traced: num("traced_us").unwrap_or(f64::NAN),
                floor,
                allocs: num("allocs_per_step").unwrap_or(f64::NAN),
            });
        }
    }
    Ok(rows)
}

/// What the Python side gave: per peer, either measurements or why it is missing.
#[derive(Default)]
struct PeerResults {
    us: BTreeMap<(String, String), f64>,
    errors: BTreeMap<(String, String), String>,
    found_in: BTreeMap<String, String>,
    missing: BTreeMap<String, String>,
}

fn run_python(root: &Path, opts: &Options) -> PeerResults {
    let script = root.join("xtask").join("peers").join("peers.py");
    let interpreters = std::env::var("TAPEGRAD_PEERS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut res = PeerResults::default();
    let mut wanted: Vec<&str> = PEERS.iter().map(|p| p.0).collect();
    for python in interpreters.split(':').filter(|s| !s.is_empty()) {
        if wanted.is_empty() {
            break;
        }
        eprintln!("bench-peers: {python} for {}", wanted.join(", "));
        let mut cmd = Command::new(python);
        cmd.arg(&script)
            .args(["--peers", &wanted.join(",")])
            .args(["--batch-seconds", &opts.batch_seconds]);
        for o in &opts.only {
            cmd.args(["--only", o]);
        }
        let out = match cmd.output() {
            Ok(out) => out,
            Err(e) => {
                for p in &wanted {
                    res.missing.insert(p.to_string(), format!("{python}: {e}"));
                }
                continue;
            }
        };
        let mut answered = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(obj) = parse_flat(line) else {
                continue;
            };
            let Some(peer) = obj.get("peer") else {
                continue;
            };
            if let Some(why) = obj.get("missing") {
                res.missing.insert(peer.clone(), format!("{python}: {why}"));
                continue;
            }
            answered.push(peer.clone());
            res.found_in.insert(peer.clone(), python.to_string());
            res.missing.remove(peer);
            let Some(w) = obj.get("workload") else {
                continue;
            };
            if let Some(us) = obj.get("us").and_then(|v| v.parse::<f64>().ok()) {
                res.us.insert((peer.clone(), w.clone()), us);
            } else if let Some(e) = obj.get("error") {
                res.errors.insert((peer.clone(), w.clone()), e.clone());
            }
        }
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or("").to_string();
            for p in &wanted {
                if !answered.iter().any(|a| a == p) {
                    res.missing
                        .entry(p.to_string())
                        .or_insert_with(|| format!("{python} failed: {last}"));
                }
            }
        }
        wanted.retain(|p| !answered.iter().any(|a| a == p));
    }
    res
}

fn fmt_us(us: f64) -> String {
    if us >= 100.0 {
        format!("{us:.0}")
    } else if us >= 1.0 {
        format!("{us:.2}")
    } else {
        format!("{us:.3}")
    }
}

/// Runs the task.
pub fn bench_peers(root: &Path, args: Vec<String>) -> Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let opts = parse_args(args)?;
    eprintln!("bench-peers: our crates and the floor (cargo run --release -p tapegrad-benches --example table)");
    let rust = run_rust(root, &opts)?;
    let py = run_python(root, &opts);

    let mut md = String::new();
    md.push_str("| workload | ");
    for (_, title) in PEERS {
        md.push_str(title);
        md.push_str(" | ");
    }
    md.push_str(
        "tapegrad | tapegrad traced | hand-fused Rust | traced / floor | fastest peer / traced |\n|---|",
    );
    md.push_str(&"---:|".repeat(PEERS.len() + 5));
    md.push('\n');
    let mut json = String::from("{\"rows\": [");
    let mut first = true;
    for w in WORKLOADS {
        let Some(row) = rust.iter().find(|r| r.workload == w) else {
            continue;
        };
        let (ours, traced, floor, allocs) = (row.eager, row.traced, row.floor, row.allocs);
        md.push_str(&format!("| `{w}` | "));
        let mut fastest: Option<f64> = None;
        let mut peer_json = Vec::new();
        for (peer, _) in PEERS {
            let key = (peer.to_string(), w.to_string());
            let cell = match py.us.get(&key) {
                Some(&us) => {
                    fastest = Some(fastest.map_or(us, |f: f64| f.min(us)));
                    peer_json.push(format!("\"{peer}\": {us:.4}"));
                    fmt_us(us)
                }
                None if py.errors.contains_key(&key) => "error".into(),
                None => "missing".into(),
            };
            md.push_str(&cell);
            md.push_str(" | ");
        }
        let versus = fastest.map_or("—".into(), |f| format!("{:.1}×", f / traced));
        md.push_str(&format!(
            "{} | {} | {} | {:.1}× | {versus} |\n",
            fmt_us(ours),
            fmt_us(traced),
            fmt_us(floor),
            traced / floor
        ));
        if !first {
            json.push(',');
        }
        first = false;
        json.push_str(&format!(
            "\n  {{\"workload\": \"{w}\", \"tapegrad_us\": {ours:.4}, \"traced_us\": {traced:.4}, \"floor_us\": {floor:.4}, \"allocs_per_step\": {allocs:.1}, \"peers_us\": {{{}}}}}",
            peer_json.join(", ")
        ));
    }
    json.push_str("\n], \"missing\": {");
    let missing: Vec<String> = py
        .missing
        .iter()
        .map(|(p, why)| {
            format!(
                "\"{p}\": \"{}\"",
                why.replace('\\', "\\\\").replace('"', "'")
            )
        })
        .collect();
    json.push_str(&missing.join(", "));
    json.push_str("}}\n");

    let mut notes = String::new();
    notes.push_str("\nµs per step (medians). tapegrad: the eager step; tapegrad traced: the same step through `tapegrad::function` (traced once, replayed fused, the same bits). traced / floor: how far the traced step is from the hand-fused loop; fastest peer / traced: how many times faster than the fastest peer the traced step is (the issue's goal: 10×).\n");
    for (p, python) in &py.found_in {
        notes.push_str(&format!("- {p}: {python}\n"));
    }
    for (p, why) in &py.missing {
        notes.push_str(&format!("- {p}: missing ({why})\n"));
    }
    for ((p, w), e) in &py.errors {
        notes.push_str(&format!("- {p} on {w}: error {e}\n"));
    }
    print!("{md}{notes}");
    let dir: PathBuf = root.join("target").join("bench-peers");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("table.md"), format!("{md}{notes}"))
        .with_context(|| format!("writing {}", dir.join("table.md").display()))?;
    std::fs::write(dir.join("results.json"), json)
        .with_context(|| format!("writing {}", dir.join("results.json").display()))?;
    println!("\nwritten to {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_json_lines_are_parsed() {
        let o = parse_flat(r#"{"peer": "tf", "workload": "two-weights", "us": 1510.25}"#)
            .expect("object");
        assert_eq!(o["peer"], "tf");
        assert_eq!(o["us"], "1510.25");
        let m =
            parse_flat(r#"{"peer": "jax", "missing": "No module named \"jax\""}"#).expect("object");
        assert_eq!(m["missing"], "No module named \"jax\"");
        assert!(parse_flat("WARNING: something").is_none());
    }

    #[test]
    fn unknown_workloads_are_rejected() {
        assert!(parse_args(vec!["--only".into(), "nothing".into()]).is_err());
        assert!(parse_args(vec!["--only".into(), "depth".into()]).is_ok());
        assert!(parse_args(vec!["--batch-seconds".into(), "-1".into()]).is_err());
    }
}
