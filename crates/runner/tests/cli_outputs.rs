//! Issue 17, items 3, 4, 5, 7 and 10: where `tapegrad`'s outputs go, what happens to them when
//! a run fails or is stopped, and what the command says and exits with. Each test is named
//! after the case it checks.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tapegrad"))
}

fn tapegrad(args: &[&str]) -> Output {
    bin().args(args).output().expect("the tapegrad binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tapegrad-outputs-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("temp dir");
    d
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `make-regression` of a small table into `out` (and `coef`), with the given extra arguments.
fn make_regression(out: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "data",
        "make-regression",
        "--n-samples",
        "5",
        "--n-features",
        "3",
        "--n-informative",
        "2",
        "--random-state",
        "0",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    tapegrad(&args)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("listing")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A process id no process has now.
fn dead_pid() -> u32 {
    (2..32768u32)
        .rev()
        .find(|p| !Path::new(&format!("/proc/{p}")).exists())
        .expect("a free pid")
}

#[test]
fn out_dash_writes_the_csv_to_stdout_not_a_file_named_dash() {
    let dir = scratch("dash");
    let o = bin()
        .args([
            "data",
            "make-regression",
            "--n-samples",
            "4",
            "--n-features",
            "2",
        ])
        .args(["--n-informative", "1", "--random-state", "0", "--out", "-"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().next(), Some("x0,x1,y"));
    assert_eq!(text.lines().count(), 5);
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
}

#[test]
fn out_symlink_replaces_the_target_and_keeps_the_link() {
    let dir = scratch("symlink");
    let real = dir.join("real.csv");
    fs::write(&real, "old\n").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.join("link.csv");
    std::os::unix::fs::symlink("real.csv", &link).unwrap();
    let o = make_regression(s(&link), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let text = fs::read_to_string(&real).unwrap();
    assert!(text.starts_with("x0,x1,x2,y\n"), "{text}");
    assert_eq!(
        fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640,
        "the replaced file keeps its permissions"
    );
    // a link to a file that does not exist yet makes the file
    let dangling = dir.join("dangling.csv");
    std::os::unix::fs::symlink("made.csv", &dangling).unwrap();
    let o = make_regression(s(&dangling), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read_to_string(dir.join("made.csv"))
        .unwrap()
        .starts_with("x0"));
    assert_eq!(
        names(&dir),
        ["dangling.csv", "link.csv", "made.csv", "real.csv"]
    );
}

#[test]
fn out_fifo_is_written_in_place_not_replaced_by_a_file() {
    let dir = scratch("fifo");
    let fifo = dir.join("pipe.csv");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo here: case not checkable");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            fs::File::open(&fifo)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        })
    };
    let o = make_regression(s(&fifo), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = reader.join().unwrap();
    assert!(text.starts_with("x0,x1,x2,y\n"), "{text}");
    assert_eq!(text.lines().count(), 6);
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names(&dir), ["pipe.csv"]);
}

#[test]
fn out_dev_full_is_an_error_and_the_device_stays_a_device() {
    if !fs::metadata("/dev/full").is_ok_and(|m| m.file_type().is_char_device()) {
        eprintln!("no /dev/full here: case not checkable");
        return;
    }
    let o = make_regression("/dev/full", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("No space left on device"),
        "{}",
        stderr(&o)
    );
    assert!(fs::metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
    // /dev/null takes the table and stays what it is
    let o = make_regression("/dev/null", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn out_and_coef_on_the_same_path_are_refused_before_anything_is_written() {
    let dir = scratch("same");
    let same = dir.join("same.csv");
    let o = make_regression(s(&same), &["--coef", s(&same)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--out and --coef are both"),
        "{}",
        stderr(&o)
    );
    assert!(!same.exists());
    // the same file through a link, or spelled another way
    fs::write(&same, "keep\n").unwrap();
    let link = dir.join("link.csv");
    std::os::unix::fs::symlink(&same, &link).unwrap();
    let other = format!("{}/./same.csv", s(&dir));
    for coef in [s(&link), other.as_str()] {
        let o = make_regression(s(&same), &["--coef", coef]);
        assert_eq!(o.status.code(), Some(2), "{coef}: {}", stderr(&o));
        assert_eq!(fs::read_to_string(&same).unwrap(), "keep\n");
    }
    // and both on stdout
    let o = make_regression("-", &["--coef", "/dev/stdout"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // two different paths are fine
    let o = make_regression(s(&dir.join("x.csv")), &["--coef", s(&dir.join("c.csv"))]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn out_a_directory_is_a_usage_error() {
    let dir = scratch("isdir");
    let o = make_regression(s(&dir), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
}

#[test]
fn run_out_dev_null_is_refused_before_training() {
    let started = Instant::now();
    let o = tapegrad(&[
        "run",
        "two-weights",
        "--set",
        "steps=10000000",
        "--out",
        "/dev/null",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--out /dev/null: exists and is not a directory"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty(), "no training log: nothing ran");
    // ten million steps take minutes; a refusal takes no time
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_second_experiment_into_the_same_out_leaves_none_of_the_first_ones_files() {
    let dir = scratch("reuse");
    let o = tapegrad(&["run", "custom-training", "--quiet", "--out", s(&dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(names(&dir).contains(&"weights_per_epoch.svg".to_string()));
    fs::write(dir.join("mine.txt"), "the user's own file").unwrap();
    let o = tapegrad(&["run", "depth-tape", "--quiet", "--out", s(&dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        names(&dir),
        ["history.csv", "manifest.json", "mine.txt", "summary.json"]
    );
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["experiment"], "depth-tape");
    assert_eq!(
        manifest["files"],
        serde_json::json!(["history.csv", "summary.json"])
    );
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["experiment"], "depth-tape");
}

#[test]
fn temporary_files_of_killed_runs_are_cleared_from_a_reused_out() {
    let dir = scratch("stale");
    let pid = dead_pid();
    fs::write(dir.join(format!(".history.csv.tmp{pid}")), vec![0u8; 4096]).unwrap();
    fs::create_dir(dir.join(format!(".tapegrad-stage-{pid}"))).unwrap();
    fs::write(dir.join(format!(".tapegrad-stage-{pid}/summary.json")), "{").unwrap();
    fs::write(dir.join(".notes.tmpl"), "not ours: no process id").unwrap();
    let o = tapegrad(&["run", "depth-tape", "--quiet", "--out", s(&dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        names(&dir),
        [
            ".notes.tmpl",
            "history.csv",
            "manifest.json",
            "summary.json"
        ]
    );
}

#[test]
fn sigterm_during_a_run_leaves_no_temporary_files_in_out() {
    let dir = scratch("sigterm");
    let mut child = bin()
        .args(["run", "two-weights", "--set", "steps=10000000", "--quiet"])
        .args(["--out", s(&dir)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // the staging directory is claimed before training starts
    let stage = dir.join(format!(".tapegrad-stage-{}", child.id()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stage.exists() {
        assert!(Instant::now() < deadline, "no staging directory");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "ended by SIGTERM: {status:?}");
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
}

#[test]
fn stdout_on_dev_full_is_an_error_for_run_list_and_show() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("no /dev/full here: case not checkable");
        return;
    };
    for args in [
        &["run", "depth-tape", "--json", "--quiet"][..],
        &["run", "depth-tape", "--quiet"][..],
        &["list"][..],
        &["show", "two-weights"][..],
    ] {
        let o = bin()
            .args(args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("writing"), "{args:?}: {err}");
        assert!(err.contains("stdout"), "{args:?}: {err}");
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
    }
}

#[test]
fn stdout_closed_by_its_reader_ends_quietly_with_status_0() {
    for args in [
        &["list"][..],
        &["run", "depth-sgd-exploding"][..],
        &["run", "depth-tape", "--json", "--quiet"][..],
    ] {
        let mut child = bin()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away before the first line
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {:?} {}",
            o.status,
            stderr(&o)
        );
        assert!(o.stderr.is_empty(), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn seed_minus_one_and_seeds_past_u32_are_refused_at_once_naming_the_range() {
    for seed in ["-1", "18446744073709551615", "4294967296", "seven"] {
        let o = tapegrad(&["run", "depth-dense-sgd", "--seed", seed]);
        assert_eq!(o.status.code(), Some(2), "{seed}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("a seed is an integer from 0 to 4294967295"),
            "{seed}: {err}"
        );
        assert!(!err.contains("-- -1"), "no tip about `--`: {err}");
        assert!(o.stdout.is_empty(), "{seed}: nothing ran");
    }
    let o = tapegrad(&["run", "depth-dense-sgd", "--seed", "4294967295", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn depth_sgd_normalized_with_learning_rate_10_runs_on_and_says_where_its_rows_came_from() {
    let o = tapegrad(&[
        "run",
        "depth-sgd-normalized",
        "--set",
        "learning_rate=10",
        "--json",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let v: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert!(v["steps"].as_u64().unwrap() > 32);
    let note = v["notes"][0].as_str().unwrap();
    assert!(
        note.contains("recorded from TensorFlow are used up at step 33"),
        "{note}"
    );
    assert!(text.lines().any(|l| l == note), "the note is in the log");
}
