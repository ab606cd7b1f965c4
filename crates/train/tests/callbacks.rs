//! Each callback's behaviour, Keras's rules: driven directly with chosen logs (the epochs at
//! which EarlyStopping stops, the rates ReduceLROnPlateau sets), and inside `fit` (the order of
//! the hooks, the history, the CSV file, the checkpoints, the stop flag).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tapegrad_autodiff::Tensor;
use tapegrad_nn::initializers::Constant;
use tapegrad_nn::{Dense, Layer, Sequential};
use tapegrad_optim::{Optimizer, Sgd};
use tapegrad_train::{
    compile, CSVLogger, Callback, EarlyStopping, FitOptions, LearningRateScheduler, Logs, Mode,
    ModelCheckpoint, ReduceLROnPlateau, Result, TerminateOnNaN, TrainContext, NO_METRICS,
};

fn dense() -> Dense {
    let mut d = Dense::new(1).kernel_initializer(Constant(0.5));
    d.build(&[1, 2]).unwrap();
    d
}

fn context<'a>(
    model: &'a dyn Layer,
    optimizer: &'a mut dyn Optimizer,
    epochs: usize,
    steps: usize,
) -> TrainContext<'a> {
    TrainContext {
        model,
        optimizer,
        stop_training: false,
        epochs,
        steps: Some(steps),
    }
}

fn logs(key: &str, value: f64) -> Logs {
    let mut l = Logs::new();
    l.insert(key, value);
    l
}

/// Runs `cb` over epochs whose `key` takes `values`, as fit would (train begin, then one
/// epoch end each, stopping when asked); `before_epoch` runs first each epoch. Returns the
/// epochs run.
fn drive(
    cb: &mut dyn Callback,
    model: &dyn Layer,
    opt: &mut dyn Optimizer,
    key: &str,
    values: &[f64],
    mut before_epoch: impl FnMut(usize, &dyn Layer),
) -> usize {
    let mut ctx = context(model, opt, values.len(), 1);
    cb.on_train_begin(&mut ctx).unwrap();
    let mut run = 0;
    for (epoch, &v) in values.iter().enumerate() {
        before_epoch(epoch, ctx.model);
        cb.on_epoch_begin(epoch, &mut ctx).unwrap();
        cb.on_epoch_end(epoch, &mut logs(key, v), &mut ctx).unwrap();
        run += 1;
        if ctx.stop_training {
            break;
        }
    }
    cb.on_train_end(&Logs::new(), &mut ctx).unwrap();
    run
}

/// Runs `es` over epochs whose `key` takes `values`: (epochs run, `stopped_epoch`).
fn early(mut es: EarlyStopping, key: &str, values: &[f64]) -> (usize, usize) {
    let (model, mut opt) = (dense(), Sgd::new(0.1));
    let run = drive(&mut es, &model, &mut opt, key, values, |_, _| {});
    (run, es.stopped_epoch())
}

#[test]
fn early_stopping_waits_patience_epochs_after_the_best() {
    let (model, mut opt) = (dense(), Sgd::new(0.1));
    // best at epoch 1; epochs 2 and 3 do not improve: stop at 3 with patience 2
    let mut es = EarlyStopping::new("val_loss").patience(2);
    let run = drive(
        &mut es,
        &model,
        &mut opt,
        "val_loss",
        &[1.0, 0.9, 0.95, 0.93, 0.8],
        |_, _| {},
    );
    assert_eq!(
        (run, es.stopped_epoch(), es.best_epoch(), es.best()),
        (4, 3, 1, 0.9)
    );
    // patience 0 stops at the first epoch that does not improve, never at epoch 0
    assert_eq!(
        early(EarlyStopping::new("loss"), "loss", &[1.0, 1.0, 0.5]),
        (2, 1)
    );
}

#[test]
fn early_stopping_min_delta_mode_and_baseline() {
    // 0.97 is not 0.05 below 1.0
    let es = EarlyStopping::new("loss").min_delta(-0.05).patience(1);
    assert_eq!(early(es, "loss", &[1.0, 0.97, 0.5]), (2, 1));
    // accuracy is maximized under Mode::Auto; min would stop at once
    let es = EarlyStopping::new("val_accuracy").patience(1);
    assert_eq!(early(es, "val_accuracy", &[0.5, 0.6, 0.7, 0.7]), (4, 3));
    let es = EarlyStopping::new("val_accuracy")
        .patience(1)
        .mode(Mode::Min);
    assert_eq!(early(es, "val_accuracy", &[0.5, 0.6, 0.7]), (2, 1));
    // improving epochs that do not beat the baseline do not stop training, but do not reset
    // the count either: the first epoch that does not improve then stops it
    let (falls, rises) = ([0.9, 0.8, 0.85, 0.7], [0.9, 0.7, 0.85, 0.8]);
    let es = EarlyStopping::new("loss").patience(2);
    assert_eq!(early(es.clone().baseline(0.5), "loss", &falls), (3, 2));
    assert_eq!(early(es.clone(), "loss", &falls), (4, 0));
    // beating the baseline at epoch 1 resets the count; 2 and 3 do not improve: stop at 3
    assert_eq!(early(es.baseline(0.75), "loss", &rises), (4, 3));
    // epochs before start_from_epoch are not compared
    let es = EarlyStopping::new("loss").start_from_epoch(2);
    assert_eq!(early(es, "loss", &[1.0, 2.0, 3.0, 4.0]), (4, 3));
    // a monitor that is not logged: a warning, no stop
    assert_eq!(
        early(EarlyStopping::new("val_loss"), "loss", &[1.0, 2.0, 3.0]),
        (3, 0)
    );
}

#[test]
fn early_stopping_restores_the_best_epochs_weights() -> Result<()> {
    let (model, mut opt) = (dense(), Sgd::new(0.1));
    let set = |epoch: usize, m: &dyn Layer| {
        let w = m.get_weights();
        let k = Tensor::full(w[0].dtype(), w[0].shape(), epoch as f64).unwrap();
        m.set_weights(&[k, w[1].clone()]).unwrap();
    };
    let mut es = EarlyStopping::new("loss")
        .patience(1)
        .restore_best_weights(true);
    assert_eq!(
        drive(
            &mut es,
            &model,
            &mut opt,
            "loss",
            &[3.0, 1.0, 2.0, 0.5],
            set
        ),
        3
    );
    // stopped at epoch 2 with the kernel of epoch 1 (the best) set back
    assert_eq!(model.get_weights()[0].to_vec::<f32>()?, vec![1.0, 1.0]);
    let mut es = EarlyStopping::new("loss").patience(1);
    drive(&mut es, &model, &mut opt, "loss", &[3.0, 1.0, 2.0], set);
    assert_eq!(model.get_weights()[0].to_vec::<f32>()?, vec![2.0, 2.0]);
    // training that runs to the end gets the best weights back too
    let mut es = EarlyStopping::new("loss")
        .patience(5)
        .restore_best_weights(true);
    assert_eq!(
        drive(&mut es, &model, &mut opt, "loss", &[3.0, 1.0, 2.0], set),
        3
    );
    assert_eq!((es.stopped_epoch(), es.best_epoch()), (0, 1));
    assert_eq!(model.get_weights()[0].to_vec::<f32>()?, vec![1.0, 1.0]);
    Ok(())
}

#[test]
fn reduce_lr_on_plateau_multiplies_waits_cools_down_and_floors() {
    let model = dense();
    let mut opt = Sgd::new(0.1);
    let mut r = ReduceLROnPlateau::new("val_loss")
        .factor(0.5)
        .unwrap()
        .patience(2)
        .cooldown(2)
        .min_lr(0.02);
    let mut ctx = context(&model, &mut opt, 9, 1);
    r.on_train_begin(&mut ctx).unwrap();
    let mut rates = Vec::new();
    let mut logged = Vec::new();
    for epoch in 0..9 {
        let mut l = logs("val_loss", 1.0);
        r.on_epoch_end(epoch, &mut l, &mut ctx).unwrap();
        logged.push(l.get("lr").unwrap() as f32);
        rates.push(ctx.optimizer.learning_rate() as f32);
    }
    // epoch 0 sets the best; 1, 2 wait and 2 halves; 3 cools down, and 4 (the cooldown over
    // after its decrement) waits again, as Keras's; 5 halves to 0.025; 6, 7 as 3, 4; 8 would
    // give 0.0125, floored at min_lr. `lr` is logged before the epoch's change.
    assert_eq!(
        rates,
        [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02]
    );
    assert_eq!(
        logged,
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025]
    );
    let mut r = ReduceLROnPlateau::new("loss")
        .factor(0.1)
        .unwrap()
        .patience(1)
        .min_lr(0.02);
    let mut ctx = context(&model, &mut opt, 9, 1);
    r.on_train_begin(&mut ctx).unwrap();
    for epoch in 0..4 {
        r.on_epoch_end(epoch, &mut logs("loss", 1.0), &mut ctx)
            .unwrap();
    }
    assert_eq!(ctx.optimizer.learning_rate() as f32, 0.02);
    assert!(ReduceLROnPlateau::new("loss").factor(1.5).is_err());
}

#[test]
fn terminate_on_nan_stops_at_a_non_finite_loss() {
    let (model, mut opt) = (dense(), Sgd::new(0.1));
    let mut t = TerminateOnNaN;
    let mut ctx = context(&model, &mut opt, 1, 3);
    t.on_batch_end(0, &logs("loss", 1.0), &mut ctx).unwrap();
    assert!(!ctx.stop_training);
    t.on_batch_end(1, &logs("loss", f64::INFINITY), &mut ctx)
        .unwrap();
    assert!(ctx.stop_training);
    ctx.stop_training = false;
    t.on_batch_end(2, &logs("loss", f64::NAN), &mut ctx)
        .unwrap();
    assert!(ctx.stop_training);
}

fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
    let y: Vec<f32> = (0..20)
        .map(|i| x[2 * i] - 0.5 * x[2 * i + 1] + 0.1)
        .collect();
    (
        Tensor::from_vec(x, &[20, 2]).unwrap(),
        Tensor::from_vec(y, &[20, 1]).unwrap(),
    )
}

fn model() -> Sequential {
    Sequential::with_input_shape(&[2])
        .layer(Dense::new(1).kernel_initializer(Constant(0.5)))
        .unwrap()
}

/// Records every hook as a line.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Recorder {
    /// `what`, its count and the logs' keys.
    fn with_keys(&mut self, what: &str, n: usize, logs: &Logs) -> Result<()> {
        let keys: Vec<&str> = logs.keys().collect();
        self.0.push(format!("{what} {n} {}", keys.join(",")));
        Ok(())
    }
}

impl Callback for Recorder {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.0.push("train_begin".into());
        Ok(())
    }
    fn on_train_end(&mut self, logs: &Logs, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.0.push(format!("train_end {}", logs.len()));
        Ok(())
    }
    fn on_epoch_begin(&mut self, epoch: usize, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.0.push(format!("epoch_begin {epoch}"));
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        self.with_keys("epoch_end", epoch, logs)
    }
    fn on_batch_begin(&mut self, batch: usize, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.0.push(format!("batch_begin {batch}"));
        Ok(())
    }
    fn on_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        _ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        self.with_keys("batch_end", batch, logs)
    }
}

#[test]
fn fit_calls_the_hooks_in_keras_order_from_initial_epoch() -> Result<()> {
    let (x, y) = data();
    let mut m = compile(model(), "sgd", "mse", ["mae"])?;
    let mut rec = Recorder::default();
    let opts = FitOptions::new()
        .epochs(3)
        .initial_epoch(1)
        .batch_size(8)
        .validation_split(0.25)
        .shuffle(false)
        .verbose(0);
    let h = m.fit(&x, &y, opts.callback(&mut rec))?;
    assert_eq!(h.epoch, [1, 2]);
    // 15 training rows in batches of 8: 2 batches an epoch
    let epoch = |e: usize| {
        vec![
            format!("epoch_begin {e}"),
            "batch_begin 0".into(),
            "batch_end 0 loss,mae".into(),
            "batch_begin 1".into(),
            "batch_end 1 loss,mae".into(),
            format!("epoch_end {e} loss,mae,val_loss,val_mae"),
        ]
    };
    let mut expected = vec!["train_begin".to_string()];
    expected.extend(epoch(1));
    expected.extend(epoch(2));
    expected.push("train_end 4".into());
    assert_eq!(rec.0, expected);
    Ok(())
}

#[test]
fn early_stopping_and_the_scheduler_inside_fit() -> Result<()> {
    let (x, y) = data();
    let mut m = compile(model(), Sgd::new(0.1), "mse", ["mae"])?;
    // nothing is an improvement of 1e6: stops after epoch 1
    let mut es = EarlyStopping::new("loss").min_delta(1e6);
    let h = m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(10)
            .batch_size(5)
            .shuffle(false)
            .verbose(0)
            .callback(&mut es),
    )?;
    assert_eq!((h.epoch.clone(), es.stopped_epoch()), (vec![0, 1], 1));
    let mut sched = LearningRateScheduler::new(|epoch, _lr| 0.1 / (epoch + 1) as f64);
    let h = m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(3)
            .batch_size(5)
            .shuffle(false)
            .verbose(0)
            .callback(&mut sched),
    )?;
    let lr: Vec<f32> = h.get("lr").unwrap().iter().map(|&v| v as f32).collect();
    assert_eq!(lr, [0.1, 0.05, 0.1 / 3.0]);
    assert_eq!(m.optimizer().learning_rate() as f32, 0.1 / 3.0);
    assert_eq!(h.keys().collect::<Vec<_>>(), ["loss", "mae", "lr"]);
    Ok(())
}

#[test]
fn csv_logger_writes_sorted_columns_and_appends() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("tapegrad-train-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("training.log");
    let (x, y) = data();
    let mut m = compile(model(), "sgd", "mse", ["mse", "mae"])?;
    let mut csv = CSVLogger::new(&path);
    let h = m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(2)
            .batch_size(8)
            .validation_split(0.2)
            .shuffle(false)
            .verbose(0)
            .callback(&mut csv),
    )?;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines.len(), 4, "{text:?}"); // header, 2 rows, and the empty rest
    assert_eq!(lines[0], "epoch,loss,mae,mse,val_loss,val_mae,val_mse");
    for (e, line) in lines[1..3].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], e.to_string());
        for (cell, key) in cells[1..]
            .iter()
            .zip(["loss", "mae", "mse", "val_loss", "val_mae", "val_mse"])
        {
            // Python's repr: the shortest digits that read back to the logged value
            assert_eq!(
                cell.parse::<f64>().unwrap(),
                h.get(key).unwrap()[e],
                "{key}"
            );
            assert!(cell.contains('.') && cell.len() <= 22, "{cell}");
        }
    }
    let mut csv = CSVLogger::new(&path).append(true).separator(';');
    m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(1)
            .batch_size(8)
            .shuffle(false)
            .verbose(0)
            .callback(&mut csv),
    )?;
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches("epoch").count(),
        1,
        "appending writes no second header"
    );
    // without validation the val_ columns are there, as NA
    let row = text.split("\r\n").nth(3).unwrap();
    assert!(row.starts_with("0;") && row.ends_with(";NA;NA;NA"), "{row}");
    let fresh = dir.join("fresh.log");
    let mut csv = CSVLogger::new(&fresh);
    m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(1)
            .batch_size(8)
            .verbose(0)
            .callback(&mut csv),
    )?;
    let text = std::fs::read_to_string(&fresh).unwrap();
    assert!(
        text.starts_with("epoch,loss,mae,mse,val_loss,val_mae,val_mse\r\n0,"),
        "{text}"
    );
    let mut bad = CSVLogger::new(dir.join("no/such/dir/log.csv"));
    let err = m
        .fit(&x, &y, FitOptions::new().verbose(0).callback(&mut bad))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no/such/dir/log.csv"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

#[test]
fn model_checkpoint_names_files_saves_the_best_and_writes_atomically() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("tapegrad-train-ckpt-{}", std::process::id()));
    let (model, mut opt) = (dense(), Sgd::new(0.1));
    let written = Arc::new(Mutex::new(Vec::new()));
    let w = written.clone();
    let template = format!("{}/w.{{epoch:02d}}-{{val_loss:.2f}}.txt", dir.display());
    let mut ckpt = ModelCheckpoint::new(&template, move |m: &dyn Layer, path: &Path| {
        // a writer sees a temporary name that keeps the extension
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".tmp-"));
        assert!(path.extension().is_some_and(|e| e == "txt"));
        w.lock().unwrap().push(path.to_path_buf());
        std::fs::write(
            path,
            format!("{:?}", m.get_weights()[0].to_vec::<f32>().unwrap()),
        )
        .unwrap();
        Ok(())
    })
    .save_best_only(true);
    drive(
        &mut ckpt,
        &model,
        &mut opt,
        "val_loss",
        &[1.0, 1.2, 0.8, 0.8],
        |_, _| {},
    );
    let names: Vec<String> = (ckpt.saved().iter())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["w.01-1.00.txt", "w.03-0.80.txt"]);
    assert_eq!(written.lock().unwrap().len(), 2);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, names, "no temporary file is left");
    assert_eq!(
        std::fs::read_to_string(dir.join("w.03-0.80.txt")).unwrap(),
        "[0.5, 0.5]"
    );
    // every epoch, and a writer that fails leaves neither the file nor a temporary one
    let mut every = ModelCheckpoint::new(
        &format!("{}/all-{{epoch}}.txt", dir.display()),
        |_m: &dyn Layer, p: &Path| {
            std::fs::write(p, "half").unwrap();
            Err(tapegrad_train::Error::Invalid {
                what: "writer",
                message: "disk full".into(),
            })
        },
    );
    let mut ctx = context(&model, &mut opt, 1, 1);
    every.on_train_begin(&mut ctx)?;
    let err = every
        .on_epoch_end(0, &mut logs("loss", 1.0), &mut ctx)
        .unwrap_err();
    assert_eq!(err.to_string(), "writer: disk full");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    // a field that is neither the epoch nor a log
    let bad = ModelCheckpoint::new("w-{val_acc:.2f}.h5", |_m: &dyn Layer, _p: &Path| Ok(()));
    assert!(bad
        .file_name(0, &logs("loss", 1.0))
        .unwrap_err()
        .to_string()
        .contains("{val_acc:.2f}"));
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

/// Sets a flag after a given batch of a given epoch, as a Ctrl-C handler would.
struct Interrupt {
    flag: Arc<AtomicBool>,
    at: (usize, usize),
    epoch: usize,
}

impl Callback for Interrupt {
    fn on_epoch_begin(&mut self, epoch: usize, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.epoch = epoch;
        Ok(())
    }
    fn on_batch_end(
        &mut self,
        batch: usize,
        _logs: &Logs,
        _ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        if (self.epoch, batch) == self.at {
            self.flag.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[test]
fn the_stop_flag_ends_fit_after_the_current_batch_with_the_history_so_far() -> Result<()> {
    let (x, y) = data();
    let mut m = compile(model(), "sgd", "mse", ["mae"])?;
    let flag = Arc::new(AtomicBool::new(false));
    let mut int = Interrupt {
        flag: flag.clone(),
        at: (1, 1),
        epoch: 0,
    };
    let mut rec = Recorder::default();
    let h = m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(5)
            .batch_size(4)
            .verbose(0)
            .stop_flag(flag.clone())
            .callback(&mut int)
            .callback(&mut rec),
    )?;
    assert_eq!(h.epoch, [0]);
    assert!(h.interrupted);
    let tail: Vec<&str> = rec.0.iter().rev().take(2).map(String::as_str).collect();
    assert_eq!(tail, ["train_end 2", "batch_end 1 loss,mae"]);
    // the optimizer took 5 steps in epoch 0 and 2 in epoch 1
    assert_eq!(m.optimizer().iterations(), 7);
    Ok(())
}

#[test]
fn a_stop_flag_leaves_the_checkpoints_of_finished_epochs_whole() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("tapegrad-train-stop-{}", std::process::id()));
    let (x, y) = data();
    let mut m = compile(model(), "sgd", "mse", NO_METRICS)?;
    let flag = Arc::new(AtomicBool::new(false));
    let mut int = Interrupt {
        flag: flag.clone(),
        at: (2, 0),
        epoch: 0,
    };
    let template = format!("{}/w-{{epoch}}.txt", dir.display());
    let mut ckpt = ModelCheckpoint::new(&template, |m: &dyn Layer, p: &Path| {
        let w = m.get_weights()[0].to_vec::<f32>().unwrap();
        std::fs::write(p, format!("{w:?}")).unwrap();
        Ok(())
    });
    let opts = FitOptions::new()
        .epochs(10)
        .batch_size(4)
        .shuffle(false)
        .verbose(0);
    let h = m.fit(
        &x,
        &y,
        opts.stop_flag(flag).callback(&mut int).callback(&mut ckpt),
    )?;
    assert_eq!((h.epoch.clone(), h.interrupted), (vec![0, 1], true));
    let mut files: Vec<String> = (std::fs::read_dir(&dir).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["w-1.txt", "w-2.txt"],
        "the interrupted epoch writes nothing"
    );
    let last = std::fs::read_to_string(dir.join("w-2.txt")).unwrap();
    assert!(last.starts_with('[') && last.ends_with(']'), "{last}");
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

/// ModelCheckpoint's `{epoch:…d}` fields as Python formats them: `02d` pads with zeros, `2d`
/// with spaces, `0d` and `d` not at all.
#[test]
fn checkpoint_file_names_format_integers_as_python() {
    let ckpt = tapegrad_train::ModelCheckpoint::new(
        "w{epoch:02d}-{epoch:2d}-{epoch:0d}-{epoch:d}-{epoch}.npz",
        |_model, _path| Ok(()),
    );
    let logs = tapegrad_train::Logs::new();
    assert_eq!(ckpt.file_name(2, &logs).unwrap(), "w03- 3-3-3-3.npz");
    assert_eq!(ckpt.file_name(11, &logs).unwrap(), "w12-12-12-12-12.npz");
}

/// `ModelCheckpoint::weights` checks its file name's format when training begins, not at the
/// first save after an epoch of training.
#[test]
fn checkpoint_weights_refuses_a_format_at_train_begin() {
    let model = dense();
    let mut opt = Sgd::new(0.1);
    for (name, tail) in [
        ("ckpt/epoch{epoch:02d}.txt", "unknown weights format"),
        ("ckpt/epoch{epoch:02d}.keras", "use save_model"),
    ] {
        let mut ckpt = ModelCheckpoint::weights(name);
        let mut ctx = context(&model, &mut opt, 1, 1);
        let err = ckpt.on_train_begin(&mut ctx).unwrap_err().to_string();
        assert!(err.contains(tail) && err.contains(name), "{name}: {err}");
    }
    let mut ok = ModelCheckpoint::weights("ckpt/epoch{epoch:02d}.weights.h5");
    ok.on_train_begin(&mut context(&model, &mut opt, 1, 1))
        .unwrap();
}
