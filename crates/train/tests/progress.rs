//! The progress lines against what tf-keras 2.21 printed for a 3-step epoch with validation
//! (`verbose=2`) and a 4-step epoch (`verbose=1`), the times aside; and the bar, the value and
//! the time formats at their edges.

use std::time::Duration;

use tapegrad_train::progress::{
    bar, epoch_line, format_logs, format_time_per_unit, format_value, progress_line,
};
use tapegrad_train::Logs;

fn logs(pairs: &[(&str, f64)]) -> Logs {
    let mut l = Logs::new();
    for (k, v) in pairs {
        l.insert(k, *v);
    }
    l
}

#[test]
fn verbose_2_line_is_keras_line() {
    // tf-keras: `3/3 - 0s - loss: 0.6423 - mae: 0.6655 - val_loss: 0.8035 - val_mae: 0.7097 - 471ms/epoch - 157ms/step`
    let l = logs(&[
        ("loss", 0.64231),
        ("mae", 0.66549),
        ("val_loss", 0.80352),
        ("val_mae", 0.70968),
    ]);
    assert_eq!(
        epoch_line(3, Duration::from_millis(471), &l),
        "3/3 - 0s - loss: 0.6423 - mae: 0.6655 - val_loss: 0.8035 - val_mae: 0.7097 - 471ms/epoch - 157ms/step"
    );
}

#[test]
fn verbose_1_lines_are_keras_lines() {
    // tf-keras: `1/4 [======>.......................] - ETA: 0s - loss: 0.5857 - mae: 0.6308`
    let l = logs(&[("loss", 0.58571), ("mae", 0.63084)]);
    assert_eq!(
        progress_line(1, Some(4), Duration::from_millis(2), &l, false),
        "1/4 [======>.......................] - ETA: 0s - loss: 0.5857 - mae: 0.6308"
    );
    // tf-keras: `4/4 [==============================] - 0s 2ms/step - loss: 0.5446 - mae: 0.6041`
    let l = logs(&[("loss", 0.54458), ("mae", 0.60412)]);
    assert_eq!(
        progress_line(4, Some(4), Duration::from_millis(9), &l, true),
        "4/4 [==============================] - 0s 2ms/step - loss: 0.5446 - mae: 0.6041"
    );
}

#[test]
fn bar_eta_and_value_formats() {
    assert_eq!(bar(0, 10), " 0/10 [..............................]");
    assert_eq!(bar(1, 30), " 1/30 [>.............................]");
    assert_eq!(bar(29, 30), "29/30 [============================>.]");
    assert_eq!(bar(1000, 1000).len(), "1000/1000 [".len() + 31);
    let l = logs(&[("loss", 1.0)]);
    assert!(
        progress_line(1, Some(100), Duration::from_secs(2), &l, false).contains(" - ETA: 3:18 - ")
    );
    assert!(
        progress_line(1, Some(10_000), Duration::from_secs(2), &l, false)
            .contains(" - ETA: 5:33:18 - ")
    );
    assert!(progress_line(5, None, Duration::from_millis(50), &l, false)
        .starts_with("      5/Unknown - 0s 10ms/step"));
    assert_eq!(format_value(-2.5), "-2.5000");
    assert_eq!(format_value(0.001), "1.0000e-03");
    assert_eq!(format_value(0.0010001), "0.0010");
    assert_eq!(format_value(1.5e-12), "1.5000e-12");
    assert_eq!(format_value(-3e-5), "-3.0000e-05");
    assert_eq!(format_time_per_unit(Duration::ZERO, "step"), "0s/step");
    assert_eq!(
        format_time_per_unit(Duration::from_millis(999), "step"),
        "999ms/step"
    );
    assert_eq!(format_logs(&Logs::new()), "");
}
