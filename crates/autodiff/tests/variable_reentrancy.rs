//! Issue 17, item 10: a `Variable::update_elements` closure that uses the variable it updates
//! gets an error (or a NaN scalar from a read that cannot fail), and `update_elements` returns
//! an error naming the variable, instead of waiting for itself forever (or panicking, as the
//! `RefCell` it once was did). Each case runs on its own thread with a deadline, so that the
//! old deadlock fails the test instead of hanging it.

use std::sync::mpsc;
use std::time::Duration;

use tapegrad_autodiff::{Error, Tensor, Variable};

fn var(name: &str) -> Variable {
    Variable::new(Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap()).with_name(name)
}

fn values(v: &Variable) -> Vec<f32> {
    v.numpy::<f32>().unwrap().iter().copied().collect()
}

/// Runs `f` on another thread and fails if it does not finish within ten seconds.
fn within_deadline(f: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => handle.join().expect("the case's assertions hold"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            handle.join().expect("the case's assertions hold")
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("deadlock: the closure waits for itself"),
    }
}

fn assert_names(err: &Error, variable: &str) {
    assert!(
        matches!(err, Error::Variable { ref name, .. } if name == variable),
        "{err}"
    );
}

#[test]
fn update_elements_whose_closure_reads_the_variable_is_an_error_not_a_deadlock() {
    within_deadline(|| {
        let v = var("w");
        let mut inner = None;
        let err = v
            .update_elements::<f32>(|w| {
                inner = Some(v.item());
                w[0] = 10.0;
            })
            .unwrap_err();
        assert_names(&err, "w");
        assert!(
            err.to_string().starts_with(
                "variable `w`: update_elements: the closure used the variable it updates"
            ),
            "{err}"
        );
        let inner = inner.unwrap().unwrap_err();
        assert_names(&inner, "w");
        assert!(
            inner
                .to_string()
                .contains("item: called inside the closure of this variable's own update_elements"),
            "{inner}"
        );
        // the elements are what the closure left, and the variable works as before
        assert_eq!(values(&v), [10.0, 2.0]);
        v.update_elements::<f32>(|w| w[1] = 3.0).unwrap();
        assert_eq!(values(&v), [10.0, 3.0]);
    });
}

#[test]
fn update_elements_whose_closure_uses_the_variable_any_way_is_an_error() {
    within_deadline(|| {
        type Use = fn(&Variable) -> String;
        let uses: [(&str, Use); 8] = [
            ("numpy", |v| format!("{:?}", v.numpy::<f32>().map(|_| ()))),
            ("read_value", |v| format!("{:?}", v.read_value().item())),
            ("snapshot", |v| format!("{:?}", v.snapshot().item())),
            ("operand", |v| format!("{:?}", (v * 2.0).map(|t| t.item()))),
            ("display", |v| format!("{v}")),
            ("assign", |v| format!("{:?}", v.assign(0.0))),
            ("assign_add", |v| format!("{:?}", v.assign_add(1.0))),
            ("nested update", |v| {
                format!("{:?}", v.update_elements::<f32>(|_| {}))
            }),
        ];
        for (what, use_it) in uses {
            let v = var("kernel");
            let mut seen = String::new();
            let err = v.update_elements::<f32>(|_| seen = use_it(&v)).unwrap_err();
            assert_names(&err, "kernel");
            match what {
                // reads that cannot fail get a NaN scalar
                "read_value" | "snapshot" | "operand" => {
                    assert!(seen.contains("NaN"), "{what}: {seen}")
                }
                "display" => assert_eq!(
                    seen,
                    "<tf.Variable 'kernel:0' shape=(2,) dtype=float32, numpy=<being updated>>"
                ),
                _ => assert!(seen.starts_with("Err(Variable"), "{what}: {seen}"),
            }
            assert_eq!(values(&v), [1.0, 2.0], "{what}: nothing assigned");
            v.update_elements::<f32>(|w| w[0] = 5.0)
                .unwrap_or_else(|e| panic!("{what}: the next update fails: {e}"));
        }
    });
}

#[test]
fn update_elements_reading_another_variable_is_fine() {
    within_deadline(|| {
        let (v, u) = (var("v"), var("u"));
        v.update_elements::<f32>(|w| {
            let u_now = u.numpy::<f32>().unwrap();
            w[0] = u_now[0] + u_now[1];
            u.update_elements::<f32>(|x| x[0] = 7.0).unwrap();
        })
        .unwrap();
        assert_eq!((values(&v), values(&u)), (vec![3.0, 2.0], vec![7.0, 2.0]));
    });
}

#[test]
fn a_panicking_update_closure_leaves_the_variable_usable() {
    within_deadline(|| {
        let v = var("w");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = v.update_elements::<f32>(|w| {
                let _ = v.item(); // marks the update as re-entered
                w[0] = 4.0;
                panic!("inside the closure");
            });
        }));
        assert!(r.is_err());
        assert_eq!(values(&v), [4.0, 2.0]);
        // neither the marker of the running update nor the re-entry survives the panic
        v.update_elements::<f32>(|w| w[1] = 9.0).unwrap();
        assert_eq!(v.read_value().to_vec::<f32>().unwrap(), vec![4.0, 9.0]);
    });
}

#[test]
fn another_thread_reading_during_an_update_waits_for_it() {
    within_deadline(|| {
        let v = var("w");
        let (started, wait_started) = mpsc::channel();
        let reader = {
            let v = v.clone();
            std::thread::spawn(move || {
                wait_started.recv().unwrap();
                // the update holds the value: this waits for it, it is no re-entry
                v.numpy::<f32>()
                    .map(|a| a.iter().copied().collect::<Vec<_>>())
            })
        };
        v.update_elements::<f32>(|w| {
            started.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            w[0] = 8.0;
        })
        .unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), vec![8.0, 2.0]);
    });
}
