//! The range checks of hyperparameters, shared by the optimizers and the schedules, so that
//! every refusal names the owner, the parameter, the range allowed and the value given in the
//! same words.

use crate::{Error, Result};

/// The range a hyperparameter must lie in. Every range also requires the value to be finite
/// in float32 (Keras keeps hyperparameters as float32 tensors, and the float32 updates use
/// them rounded to float32: a larger value would be an infinity there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allowed {
    /// `[0, ∞)`.
    NonNegative,
    /// `(0, ∞)`.
    Positive,
    /// `[0, 1)`: a decay rate (`beta_1`, `beta_2`, `rho`), for which 1 divides by zero or
    /// never lets a gradient in.
    UnitOpen,
    /// `[0, 1]`: a momentum, as Keras's SGD checks it.
    UnitClosed,
}

impl Allowed {
    fn contains(self, v: f64) -> bool {
        // NaN fails every comparison, so it is refused by each arm
        let in_range = match self {
            Allowed::NonNegative => v >= 0.0,
            Allowed::Positive => v > 0.0,
            Allowed::UnitOpen => (0.0..1.0).contains(&v),
            Allowed::UnitClosed => (0.0..=1.0).contains(&v),
        };
        in_range && (v as f32).is_finite()
    }

    fn describe(self) -> &'static str {
        match self {
            Allowed::NonNegative => "must be a finite number ≥ 0",
            Allowed::Positive => "must be a finite number > 0",
            Allowed::UnitOpen => "must be ≥ 0 and < 1",
            Allowed::UnitClosed => "must be between 0 and 1",
        }
    }
}

/// `Ok` when `value` is in `allowed`; else [`Error::Config`] naming `owner`, `parameter`, the
/// range and the value (and saying so when only float32 overflows). `note` is appended to the
/// range, e.g. Keras's `(0: off)`.
pub(crate) fn check(
    owner: &str,
    parameter: &'static str,
    value: f64,
    allowed: Allowed,
    note: &str,
) -> Result<()> {
    if allowed.contains(value) {
        return Ok(());
    }
    let overflow = if value.is_finite() && !(value as f32).is_finite() {
        " (beyond float32's largest value, 3.4028235e38)"
    } else {
        ""
    };
    Err(Error::Config {
        owner: owner.into(),
        parameter,
        message: format!(
            "{}{note}, got {}{overflow}",
            allowed.describe(),
            show(value)
        ),
    })
}

/// A value as a message shows it: as Rust prints it (`-1`, `0.5`, `NaN`), in exponent form
/// when that would print more than 16 digits (`1e39`).
pub(crate) fn show(value: f64) -> String {
    if value.is_finite() && value != 0.0 && !(1e-5..1e16).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_range_refuses_nan_infinity_and_values_outside_it() {
        for allowed in [
            Allowed::NonNegative,
            Allowed::Positive,
            Allowed::UnitOpen,
            Allowed::UnitClosed,
        ] {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1e-9, 1e39] {
                assert!(
                    check("X", "p", bad, allowed, "").is_err(),
                    "{allowed:?} {bad}"
                );
            }
            assert!(check("X", "p", 0.5, allowed, "").is_ok(), "{allowed:?}");
        }
        assert!(check("X", "p", 0.0, Allowed::Positive, "").is_err());
        assert!(check("X", "p", 1.0, Allowed::UnitOpen, "").is_err());
        assert!(check("X", "p", 1.0, Allowed::UnitClosed, "").is_ok());
        assert!(check("X", "p", 0.0, Allowed::UnitOpen, "").is_ok());
        let err = check("Adam", "beta_1", 5.0, Allowed::UnitOpen, "").unwrap_err();
        assert_eq!(err.to_string(), "Adam: `beta_1` must be ≥ 0 and < 1, got 5");
        let err = check("SGD", "clipnorm", 1e39, Allowed::NonNegative, " (0: off)").unwrap_err();
        assert_eq!(
            err.to_string(),
            "SGD: `clipnorm` must be a finite number ≥ 0 (0: off), got 1e39 (beyond float32's largest value, 3.4028235e38)"
        );
    }
}
