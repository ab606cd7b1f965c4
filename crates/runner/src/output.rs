//! Writing results: `summary.json`, `history.csv` and figures, each file whole or not at all.
//!
//! Where an output path leads decides how it is written ([`destination`]): `-` (and
//! `/dev/stdout`) is standard output, as Unix tools read it; a path that is not a regular file
//! (a device such as `/dev/null`, a FIFO) is opened and written in place; a regular file, or a
//! path that does not exist yet, is written to a temporary file beside it and renamed onto it,
//! so a reader sees the old file or the new one, never half of one. A symbolic link is followed:
//! its target is replaced, the link stays. Temporary files are removed when a write fails and,
//! once [`clean_up_on_signals`] has been called, when the process is stopped by `SIGINT`,
//! `SIGTERM` or `SIGHUP`.
//!
//! `tapegrad run --out DIR` writes its set of files through [`RunDir`]: the directory is checked
//! (and claimed) before training, the set is written into a staging directory inside it, moved
//! in at the end, and `manifest.json` is written last, listing the set; the files of an earlier
//! set that the new one does not have are removed.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use serde_json::Value;

use crate::experiment::{RunOutput, StoppedBy};
use crate::{figures, Config, Experiment};

/// A mistake in what the user asked for (an output path that cannot be one, two outputs on one
/// path), found before any work is done; `tapegrad` exits with status 2 on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Prints one line on stdout. `Ok(false)` when stdout is a closed pipe (a reader like `head`
/// went away), which ends the output quietly; any other failure (`> /dev/full`) is an error.
///
/// ```
/// assert!(tapegrad_runner::output::print_line("hello")?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn print_line(line: &str) -> std::io::Result<bool> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|_| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

/// Prints one line on stderr, ignoring failure: a message about the run must not become the
/// run's failure (`eprintln!` panics when stderr is closed).
pub fn note(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Where an output path leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-`, `/dev/stdout`, `/dev/fd/1` or `/proc/self/fd/1`: this process's standard output.
    Stdout,
    /// Something that is not a regular file (a device, a FIFO, a socket, a descriptor of
    /// `/proc`): opened and written in place, never replaced.
    Direct(PathBuf),
    /// A regular file, or a path where nothing is yet, symbolic links followed to the path they
    /// name: written beside it and renamed onto it.
    Replace(PathBuf),
}

/// Paths that name this process's standard output.
const STDOUT_NAMES: [&str; 4] = ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];

/// Works out where `path` leads (see [`Destination`]); an error names the path when it is a
/// directory, has no file name, or its symbolic links loop.
///
/// ```
/// use tapegrad_runner::output::{destination, Destination};
/// assert_eq!(destination("-".as_ref())?, Destination::Stdout);
/// assert_eq!(destination("/dev/null".as_ref())?, Destination::Direct("/dev/null".into()));
/// assert!(destination("/".as_ref()).is_err());
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn destination(path: &Path) -> anyhow::Result<Destination> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        if STDOUT_NAMES.iter().any(|s| p.as_os_str() == OsStr::new(s)) {
            return Ok(Destination::Stdout);
        }
        let meta = match fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if p.file_name().is_none() {
                    return Err(UsageError(format!("{}: not a file name", path.display())).into());
                }
                return Ok(Destination::Replace(p));
            }
            Err(e) => return Err(e).with_context(|| format!("examining {}", path.display())),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            // `/proc/self/fd/N` and its kind are links the kernel resolves itself (to pipes
            // and sockets that have no path): open them as they are.
            if p.starts_with("/proc") {
                return Ok(Destination::Direct(p));
            }
            let target =
                fs::read_link(&p).with_context(|| format!("reading link {}", p.display()))?;
            p = match p.parent() {
                Some(dir) if target.is_relative() => dir.join(target),
                _ => target,
            };
        } else if kind.is_dir() {
            return Err(UsageError(format!("{}: is a directory", path.display())).into());
        } else if kind.is_file() {
            return Ok(Destination::Replace(p));
        } else {
            return Ok(Destination::Direct(p));
        }
    }
    Err(UsageError(format!(
        "{}: too many levels of symbolic links",
        path.display()
    ))
    .into())
}

/// What a destination is, for telling whether two outputs would land on one file: the
/// canonical directory and name of a file to replace, the device and inode of one written in
/// place.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Stdout,
    Inode(u64, u64),
    Path(PathBuf),
}

fn identity(dest: &Destination) -> anyhow::Result<Identity> {
    use std::os::unix::fs::MetadataExt;
    Ok(match dest {
        Destination::Stdout => Identity::Stdout,
        Destination::Direct(p) => {
            let m = fs::metadata(p).with_context(|| format!("examining {}", p.display()))?;
            Identity::Inode(m.dev(), m.ino())
        }
        Destination::Replace(p) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            // A directory that does not exist yet is compared as written: two outputs in one
            // new directory still meet.
            let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            Identity::Path(dir.join(p.file_name().unwrap_or_default()))
        }
    })
}

/// Refuses outputs that would land on one file (`--out same.csv --coef same.csv`, or one of
/// them a link to the other), naming both options; `outputs` pairs each option with its path.
///
/// ```
/// use tapegrad_runner::output::refuse_shared_outputs;
/// let err = refuse_shared_outputs(&[("--out", "a.csv".as_ref()), ("--coef", "./a.csv".as_ref())]);
/// assert_eq!(err.unwrap_err().to_string(), "--out and --coef are both ./a.csv: give them different paths");
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn refuse_shared_outputs(outputs: &[(&str, &Path)]) -> anyhow::Result<()> {
    let mut seen: Vec<(&str, Identity)> = Vec::new();
    for &(option, path) in outputs {
        let id = identity(&destination(path)?)?;
        if let Some((first, _)) = seen.iter().find(|(_, other)| *other == id) {
            return Err(UsageError(format!(
                "{first} and {option} are both {}: give them different paths",
                path.display()
            ))
            .into());
        }
        seen.push((option, id));
    }
    Ok(())
}

/// Temporary files and directories being written, removed by [`remove_pending`].
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A temporary path that is removed (file or directory, with what it holds) when the guard is
/// dropped, or by [`remove_pending`] when a signal stops the process, unless it was
/// [`kept`](Pending::keep) (renamed into place).
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
}

impl Pending {
    /// Registers `path` (which need not exist yet).
    pub fn new(path: PathBuf) -> Self {
        pending().push(path.clone());
        Pending { path }
    }

    /// The registered path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Forgets the path without removing it: it was renamed into place.
    pub fn keep(self) {
        pending().retain(|p| p != &self.path);
        std::mem::forget(self);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        remove_path(&self.path);
        pending().retain(|p| p != &self.path);
    }
}

fn remove_path(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Removes every temporary path still being written.
pub fn remove_pending() {
    for p in pending().drain(..) {
        remove_path(&p);
    }
}

/// Installs handlers for `SIGINT`, `SIGTERM` and `SIGHUP` that remove the temporary files being
/// written ([`remove_pending`]), then let the signal stop the process as it would have.
pub fn clean_up_on_signals() -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing signal handlers")?;
    std::thread::Builder::new()
        .name("tapegrad-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                // a fit asked for a graceful stop: the first Ctrl-C sets its flag, a second ends
                if signal == SIGINT {
                    if let Some(stop) = STOP.get() {
                        if !stop.swap(true, Ordering::SeqCst) {
                            continue;
                        }
                    }
                }
                remove_pending();
                // Default action again, and the signal raised: the process ends as killed by it.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}

static STOP: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
    std::sync::OnceLock::new();

/// A flag the first Ctrl-C sets instead of ending the process (after
/// [`clean_up_on_signals`]); a second Ctrl-C ends it as before. For `tapegrad fit`, which stops
/// after the current batch.
pub fn stop_on_interrupt() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    STOP.get_or_init(Default::default).clone()
}

/// A fresh temporary path beside `path`: `.NAME.tmpPID-N` (the extension kept last, for
/// writers that pick a format by it).
fn temporary_beside(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map_or(String::new(), |e| format!(".{e}"));
    path.with_file_name(format!(".{name}.tmp{}-{n}{ext}", std::process::id()))
}

/// Writes a file to `path` through `write`, as its [`destination`] asks: standard output, the
/// device or FIFO in place, or a temporary file renamed onto the regular file (its permissions
/// kept). Missing parent directories are created. Nothing is left half-written at a regular
/// file's path.
pub fn write_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match destination(path)? {
        Destination::Stdout => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            write(&mut out)?;
            out.flush().context("writing to stdout")?;
            Ok(())
        }
        Destination::Direct(p) => {
            let file = fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .with_context(|| format!("opening {}", p.display()))?;
            let mut out = BufWriter::new(file);
            write(&mut out).with_context(|| format!("writing {}", p.display()))?;
            out.flush()
                .with_context(|| format!("writing {}", p.display()))?;
            Ok(())
        }
        Destination::Replace(p) => replace_file(&p, |tmp| {
            let file =
                fs::File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?;
            let mut out = BufWriter::new(file);
            write(&mut out)?;
            let file = out
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("writing {}", tmp.display()))?;
            file.sync_all()
                .with_context(|| format!("flushing {}", tmp.display()))
        }),
    }
}

/// Runs `write` on a fresh temporary path beside the regular file `path`, then renames it onto
/// `path` with the old file's permissions; on failure (or a signal) the temporary file is gone.
pub(crate) fn replace_file(
    path: &Path,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    let tmp = Pending::new(temporary_beside(path));
    write(tmp.path()).with_context(|| format!("writing {}", path.display()))?;
    if let Ok(old) = fs::metadata(path) {
        let _ = fs::set_permissions(tmp.path(), old.permissions());
    }
    fs::rename(tmp.path(), path)
        .with_context(|| format!("renaming {} to {}", tmp.path().display(), path.display()))?;
    tmp.keep();
    Ok(())
}

/// Writes `bytes` to `path` whole or not at all (see [`write_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with(path, |w| Ok(w.write_all(bytes)?))
}

/// The JSON object `tapegrad run --json` prints and `summary.json` holds.
pub fn summary(exp: &dyn Experiment, cfg: &Config, out: &RunOutput) -> Value {
    let loss_history: Vec<Value> = out
        .loss_history
        .iter()
        .map(|&x| crate::json::num(x))
        .collect();
    serde_json::json!({
        "experiment": exp.id(),
        "document": exp.document(),
        "config": cfg.to_json(),
        "steps": out.steps,
        "stopped_by": out.stopped_by.unwrap_or(StoppedBy::Steps),
        "diverged_at": out.diverged_at,
        "variables": out.variables,
        "loss_history": loss_history,
        "final_loss": out.final_loss.map(crate::json::num),
        "train_seconds": out.train_seconds,
        "traced": out.traced,
        "traces": out.traces,
        "notes": out.notes,
    })
}

/// Writes `history.csv`, the per-step table, to `out` row by row.
pub fn write_history_csv(out: &RunOutput, to: &mut dyn Write) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(to);
    w.write_record(&out.history.columns)?;
    out.history.for_each_row(|row| {
        w.write_record(row.iter().map(|x| crate::format::py_float(*x)))?;
        Ok(())
    })?;
    w.flush()?;
    Ok(())
}

/// `history.csv` in memory (for a short run; [`RunDir::write`] streams it).
pub fn history_csv(out: &RunOutput) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_history_csv(out, &mut bytes)?;
    Ok(bytes)
}

/// The file `tapegrad run --out` writes last, listing the set it completes.
pub const MANIFEST: &str = "manifest.json";

/// The prefix of the staging directory a run writes its set into.
const STAGE_PREFIX: &str = ".tapegrad-stage-";

/// The output directory of `tapegrad run --out DIR`, claimed before training.
#[derive(Debug)]
pub struct RunDir {
    dir: PathBuf,
    stage: Pending,
}

impl RunDir {
    /// Checks `dir` before any training: it must be a directory or a path where one can be
    /// made, and writable (the staging directory is made in it now). Our own leftovers of runs
    /// that were killed (staging directories and temporary files of processes that no longer
    /// exist) are removed.
    pub fn prepare(dir: &Path) -> anyhow::Result<RunDir> {
        match fs::metadata(dir) {
            Ok(m) if !m.is_dir() => {
                return Err(UsageError(format!(
                    "--out {}: exists and is not a directory",
                    dir.display()
                ))
                .into())
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(|e| {
                    UsageError(format!("--out {}: cannot create it: {e}", dir.display()))
                })?;
            }
            Err(e) => {
                return Err(UsageError(format!("--out {}: {e}", dir.display())).into());
            }
        }
        remove_stale(dir);
        let stage = Pending::new(dir.join(format!("{STAGE_PREFIX}{}", std::process::id())));
        fs::create_dir(stage.path())
            .map_err(|e| UsageError(format!("--out {}: cannot write in it: {e}", dir.display())))?;
        Ok(RunDir {
            dir: dir.to_path_buf(),
            stage,
        })
    }

    /// Writes `history.csv`, `summary.json` and the figures into the staging directory, moves
    /// them into the output directory, removes the files of the earlier set that this one
    /// does not have, and writes `manifest.json` last. Returns the paths written.
    pub fn write(
        self,
        exp: &dyn Experiment,
        cfg: &Config,
        out: &RunOutput,
    ) -> anyhow::Result<Vec<PathBuf>> {
        let stage = self.stage.path();
        write_with(&stage.join("history.csv"), |w| write_history_csv(out, w))?;
        let mut text = serde_json::to_string_pretty(&summary(exp, cfg, out))?;
        text.push('\n');
        write_atomic(&stage.join("summary.json"), text.as_bytes())?;
        for fig in &out.figures {
            figures::render(fig, stage).with_context(|| format!("figure {}", fig.name))?;
        }
        let mut names: Vec<String> = Vec::new();
        for entry in fs::read_dir(stage).with_context(|| format!("listing {}", stage.display()))? {
            let entry = entry?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        let manifest = serde_json::to_string_pretty(&serde_json::json!({
            "experiment": exp.id(),
            "files": names,
        }))? + "\n";
        write_atomic(&stage.join(MANIFEST), manifest.as_bytes())?;

        let old = read_manifest(&self.dir);
        let _ = fs::remove_file(self.dir.join(MANIFEST));
        let mut written = Vec::with_capacity(names.len());
        for name in &names {
            let to = self.dir.join(name);
            fs::rename(stage.join(name), &to)
                .with_context(|| format!("moving {name} into {}", self.dir.display()))?;
            written.push(to);
        }
        for name in old.iter().filter(|n| !names.contains(n)) {
            let _ = fs::remove_file(self.dir.join(name));
        }
        fs::rename(stage.join(MANIFEST), self.dir.join(MANIFEST))
            .with_context(|| format!("moving {MANIFEST} into {}", self.dir.display()))?;
        written.push(self.dir.join(MANIFEST));
        Ok(written)
    }
}

/// Writes a run's set into `dir` at once ([`RunDir::prepare`] then [`RunDir::write`]), for
/// callers that have nothing to check before the run.
pub fn write_run(
    dir: &Path,
    exp: &dyn Experiment,
    cfg: &Config,
    out: &RunOutput,
) -> anyhow::Result<Vec<PathBuf>> {
    RunDir::prepare(dir)?.write(exp, cfg, out)
}

/// The file names an earlier run's manifest lists (plain names only: a name with a separator,
/// or a hidden one, is not ours to remove).
fn read_manifest(dir: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(dir.join(MANIFEST)) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<Value>(&text) else {
        return Vec::new();
    };
    json["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|n| !n.is_empty() && !n.starts_with('.') && !n.contains('/') && *n != MANIFEST)
        .map(str::to_string)
        .collect()
}

/// The process id in one of our temporary names: `.tapegrad-stage-PID`, `.NAME.tmpPID-N.EXT`
/// or the older `.NAME.tmpPID`.
fn temporary_owner(name: &str) -> Option<u32> {
    if let Some(pid) = name.strip_prefix(STAGE_PREFIX) {
        return pid.parse().ok();
    }
    let rest = name.strip_prefix('.')?;
    let (_, tail) = rest.rsplit_once(".tmp")?;
    let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Removes our temporary files and staging directories in `dir` whose process is gone.
fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temporary_owner) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            remove_path(&entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_give_their_process() {
        assert_eq!(temporary_owner(".tapegrad-stage-123"), Some(123));
        assert_eq!(temporary_owner(".history.csv.tmp4567"), Some(4567));
        assert_eq!(temporary_owner(".loss.png.tmp89-3.png"), Some(89));
        assert_eq!(temporary_owner("history.csv"), None);
        assert_eq!(temporary_owner(".hidden"), None);
        let t = temporary_beside(Path::new("d/loss.png"));
        assert_eq!(
            temporary_owner(t.file_name().unwrap().to_str().unwrap()),
            Some(std::process::id())
        );
        assert_eq!(t.extension().unwrap(), "png");
    }

    #[test]
    fn a_manifest_cannot_name_files_outside_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(MANIFEST),
            r#"{"files": ["a.svg", "../x", "/etc/passwd", ".hidden", "", "manifest.json", "b.png"]}"#,
        )
        .unwrap();
        assert_eq!(read_manifest(dir.path()), ["a.svg", "b.png"]);
    }
}
