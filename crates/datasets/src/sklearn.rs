//! scikit-learn's `make_regression`, `make_low_rank_matrix`,
//! `train_test_split` and `StandardScaler`, draw for draw.
//!
//! Checked against scikit-learn 1.9.1 (`sklearn/datasets/_samples_generator.py`,
//! `sklearn/model_selection/_split.py`): the same parameter checks, the same
//! defaults, the same order of draws from the `RandomState`.

use ndarray::{s, Array1, Array2, ArrayView, ArrayView2, Axis, RemoveAxis};

use crate::error::{invalid, DatasetsError, Result};
use crate::np_random;
use crate::random_state::RandomState;

/// Which generator a scikit-learn function draws from (`random_state=`).
fn with_random_state<T>(
    random_state: Option<u32>,
    f: impl FnOnce(&mut RandomState) -> Result<T>,
) -> Result<T> {
    match random_state {
        Some(seed) => f(&mut RandomState::new(seed)),
        // check_random_state(None) is numpy's global RandomState.
        None => np_random::with_global(f),
    }
}

fn int_range_error(param: &'static str, func: &str, low: usize, got: usize) -> DatasetsError {
    invalid(
        param,
        format!(
            "The '{param}' parameter of {func} must be an int in the range [{low}, inf). Got {got} instead."
        ),
    )
}

fn check_min(param: &'static str, func: &str, low: usize, got: usize) -> Result<()> {
    if got < low {
        Err(int_range_error(param, func, low, got))
    } else {
        Ok(())
    }
}

/// `tail_strength` must be a float in `[0, 1]`.
fn check_tail_strength(func: &str, t: f64) -> Result<()> {
    if (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(invalid(
            "tail_strength",
            format!("The 'tail_strength' parameter of {func} must be a float in the range [0.0, 1.0]. Got {t} instead."),
        ))
    }
}

/// Q of the economic QR decomposition of a tall matrix (`rows >= cols`),
/// computed as LAPACK computes it (`dgeqr2` then `dorg2r`): Householder
/// reflectors with `beta = -sign(alpha) * norm`, so the signs of Q's columns
/// are LAPACK's (and therefore numpy's and scipy's).
fn householder_q(mut a: Array2<f64>) -> Array2<f64> {
    let (m, n) = a.dim();
    let k = n.min(m);
    let mut tau = vec![0.0; k];
    // dgeqr2: reduce A to R, storing the reflectors below the diagonal.
    for i in 0..k {
        let alpha = a[[i, i]];
        let xnorm = a
            .slice(s![i + 1.., i])
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt();
        if m - i <= 1 || xnorm == 0.0 {
            tau[i] = 0.0;
        } else {
            let beta = -alpha.hypot(xnorm).copysign(alpha);
            tau[i] = (beta - alpha) / beta;
            let scale = 1.0 / (alpha - beta);
            a.slice_mut(s![i + 1.., i]).mapv_inplace(|v| v * scale);
            a[[i, i]] = beta;
        }
        if i + 1 < n && tau[i] != 0.0 {
            apply_reflector(&mut a, i, i + 1, tau[i]);
        }
    }
    // dorg2r: accumulate Q from the reflectors, last one first.
    for i in (0..k).rev() {
        if i + 1 < n {
            a[[i, i]] = 1.0;
            if tau[i] != 0.0 {
                apply_reflector(&mut a, i, i + 1, tau[i]);
            }
        }
        let t = tau[i];
        a.slice_mut(s![i + 1.., i]).mapv_inplace(|v| -t * v);
        a[[i, i]] = 1.0 - t;
        a.slice_mut(s![..i, i]).fill(0.0);
    }
    a
}

/// Applies `H = I - tau v v^T` from the left to `a[i.., j0..]`, where
/// `v = [1, a[i+1.., i]]` (LAPACK's `dlarf`).
fn apply_reflector(a: &mut Array2<f64>, i: usize, j0: usize, tau: f64) {
    let (m, n) = a.dim();
    let mut v = Vec::with_capacity(m - i);
    v.push(1.0);
    v.extend(a.slice(s![i + 1.., i]).iter().copied());
    for j in j0..n {
        let mut w = 0.0;
        for (r, vr) in v.iter().enumerate() {
            w += a[[i + r, j]] * vr;
        }
        let tw = tau * w;
        for (r, vr) in v.iter().enumerate() {
            a[[i + r, j]] -= tw * vr;
        }
    }
}

/// `sklearn.datasets.make_low_rank_matrix`: a mostly low-rank matrix with
/// bell-shaped singular values plus a fat exponential tail.
///
/// Draws `standard_normal((n_samples, n))` then `standard_normal((n_features, n))`
/// with `n = min(n_samples, n_features)`, orthonormalises both by QR (LAPACK
/// signs) and returns `U diag(s) V^T`.
///
/// ```
/// use tapegrad_datasets::{sklearn, RandomState};
/// let mut rs = RandomState::new(4);
/// let x = sklearn::make_low_rank_matrix_with(&mut rs, 12, 7, 3, 0.5).unwrap();
/// assert_eq!(x.dim(), (12, 7));
/// assert!(sklearn::make_low_rank_matrix_with(&mut rs, 12, 7, 0, 0.5).is_err());
/// ```
pub fn make_low_rank_matrix_with(
    rs: &mut RandomState,
    n_samples: usize,
    n_features: usize,
    effective_rank: usize,
    tail_strength: f64,
) -> Result<Array2<f64>> {
    const F: &str = "make_low_rank_matrix";
    check_min("n_samples", F, 1, n_samples)?;
    check_min("n_features", F, 1, n_features)?;
    check_min("effective_rank", F, 1, effective_rank)?;
    check_tail_strength(F, tail_strength)?;
    let n = n_samples.min(n_features);
    let u = householder_q(rs.standard_normal((n_samples, n))?);
    let v = householder_q(rs.standard_normal((n_features, n))?);
    let rank = effective_rank as f64;
    let sv = Array1::from_iter((0..n).map(|i| {
        let i = i as f64;
        let low_rank = (1.0 - tail_strength) * (-((i / rank) * (i / rank))).exp();
        let tail = tail_strength * (-0.1 * i / rank).exp();
        low_rank + tail
    }));
    let us = &u * &sv.view().insert_axis(Axis(0));
    Ok(us.dot(&v.t()))
}

/// [`make_low_rank_matrix_with`] with `random_state` as scikit-learn takes
/// it: `Some(seed)` for `RandomState(seed)`, `None` for numpy's global one.
///
/// ```
/// use tapegrad_datasets::sklearn;
/// let x = sklearn::make_low_rank_matrix(5, 9, 1, 0.9, Some(6)).unwrap();
/// assert_eq!(x.dim(), (5, 9));
/// ```
pub fn make_low_rank_matrix(
    n_samples: usize,
    n_features: usize,
    effective_rank: usize,
    tail_strength: f64,
    random_state: Option<u32>,
) -> Result<Array2<f64>> {
    with_random_state(random_state, |rs| {
        make_low_rank_matrix_with(rs, n_samples, n_features, effective_rank, tail_strength)
    })
}

/// The parameters of `sklearn.datasets.make_regression`, with
/// scikit-learn's defaults from [`Default`].
///
/// ```
/// use tapegrad_datasets::sklearn::MakeRegression;
/// // x, y = make_regression(n_samples=10, n_features=10, n_targets=1, bias=1, random_state=42)
/// let data = MakeRegression {
///     n_samples: 10,
///     n_features: 10,
///     n_targets: 1,
///     bias: 1.0,
///     random_state: Some(42),
///     ..Default::default()
/// }
/// .generate()
/// .unwrap();
/// assert!((data.x[[0, 0]] - -0.299007).abs() < 1e-6);
/// assert!((data.y[[0, 0]] - -324.129377).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MakeRegression {
    /// Number of rows (default 100, at least 1).
    pub n_samples: usize,
    /// Number of columns of X (default 100, at least 1).
    pub n_features: usize,
    /// Number of features with a non-zero coefficient (default 10; capped at `n_features`).
    pub n_informative: usize,
    /// Number of regression targets (default 1, at least 1).
    pub n_targets: usize,
    /// Constant added to every target (default 0.0; must be finite).
    pub bias: f64,
    /// `None` (default) for a well-conditioned normal X, `Some(r)` (r >= 1)
    /// for a low-rank X from [`make_low_rank_matrix`].
    pub effective_rank: Option<usize>,
    /// Weight of the fat tail of the singular values, in `[0, 1]` (default 0.5).
    pub tail_strength: f64,
    /// Standard deviation of the Gaussian noise on y (default 0.0, at least 0).
    pub noise: f64,
    /// Shuffle rows and columns (default true).
    pub shuffle: bool,
    /// Return the coefficients (default false).
    pub coef: bool,
    /// `Some(seed)` for `random_state=seed`; `None` (default) draws from numpy's
    /// global RandomState ([`np_random`]).
    pub random_state: Option<u32>,
}

impl Default for MakeRegression {
    fn default() -> Self {
        MakeRegression {
            n_samples: 100,
            n_features: 100,
            n_informative: 10,
            n_targets: 1,
            bias: 0.0,
            effective_rank: None,
            tail_strength: 0.5,
            noise: 0.0,
            shuffle: true,
            coef: false,
            random_state: None,
        }
    }
}

/// The output of [`MakeRegression`]: `X`, `y` and (with `coef: true`) the
/// ground-truth coefficients.
///
/// scikit-learn squeezes `y` and `coef`; here they keep their 2-D shapes
/// `(n_samples, n_targets)` and `(n_features, n_targets)`; [`Regression::y_column`]
/// gives the 1-D `y` of a single target.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// Inputs, `(n_samples, n_features)`.
    pub x: Array2<f64>,
    /// Targets, `(n_samples, n_targets)`.
    pub y: Array2<f64>,
    /// Coefficients, `(n_features, n_targets)`, when `coef` was requested.
    pub coef: Option<Array2<f64>>,
}

impl Regression {
    /// The targets as a 1-D array when there is exactly one target (what
    /// scikit-learn's `np.squeeze(y)` returns for `n_targets=1`).
    ///
    /// ```
    /// use tapegrad_datasets::sklearn::MakeRegression;
    /// let r = MakeRegression { n_samples: 4, n_features: 2, random_state: Some(0), ..Default::default() }
    ///     .generate()
    ///     .unwrap();
    /// assert_eq!(r.y_column().unwrap().len(), 4);
    /// ```
    pub fn y_column(&self) -> Result<Array1<f64>> {
        if self.y.ncols() != 1 {
            return Err(DatasetsError::Shape {
                context: "Regression::y_column",
                message: format!("y has {} targets, expected 1", self.y.ncols()),
            });
        }
        Ok(self.y.column(0).to_owned())
    }
}

impl MakeRegression {
    fn validate(&self) -> Result<()> {
        const F: &str = "make_regression";
        check_min("n_samples", F, 1, self.n_samples)?;
        check_min("n_features", F, 1, self.n_features)?;
        check_min("n_targets", F, 1, self.n_targets)?;
        if let Some(r) = self.effective_rank {
            check_min("effective_rank", F, 1, r)?;
        }
        if !self.bias.is_finite() {
            return Err(invalid(
                "bias",
                format!("The 'bias' parameter of {F} must be a float in the range (-inf, inf). Got {} instead.", self.bias),
            ));
        }
        check_tail_strength(F, self.tail_strength)?;
        if self.noise.is_nan() || self.noise < 0.0 {
            return Err(invalid(
                "noise",
                format!("The 'noise' parameter of {F} must be a float in the range [0.0, inf). Got {} instead.", self.noise),
            ));
        }
        let x = crate::random_state::shape_len(&[self.n_samples, self.n_features])?;
        let y = crate::random_state::shape_len(&[self.n_samples, self.n_targets])?;
        let coef = crate::random_state::shape_len(&[self.n_features, self.n_targets])?;
        // The generation holds at most two copies of X (the shuffle's), two of the
        // coefficients and three of y (y, the noise, the shuffle's) at once: memory the system
        // will not give is refused here, by asking for it once, rather than by an abort later.
        let peak = [(x, 2), (coef, 2), (y, 3)]
            .iter()
            .try_fold(0usize, |acc, &(n, copies)| {
                n.checked_mul(copies * 8).and_then(|b| acc.checked_add(b))
            });
        let available = peak.is_some_and(|bytes| Vec::<u8>::new().try_reserve_exact(bytes).is_ok());
        if !available {
            return Err(invalid(
                "n_samples",
                format!(
                    "{F} with n_samples={}, n_features={}, n_targets={} needs more memory than the system gives (about {} bytes)",
                    self.n_samples,
                    self.n_features,
                    self.n_targets,
                    peak.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string())
                ),
            ));
        }
        Ok(())
    }

    /// Generates the data, drawing from `random_state` (seeded or global).
    ///
    /// ```
    /// use tapegrad_datasets::sklearn::MakeRegression;
    /// let bad = MakeRegression { n_samples: 0, ..Default::default() }.generate();
    /// assert_eq!(
    ///     bad.unwrap_err().to_string(),
    ///     "invalid parameter `n_samples`: The 'n_samples' parameter of make_regression \
    ///      must be an int in the range [1, inf). Got 0 instead."
    /// );
    /// ```
    pub fn generate(&self) -> Result<Regression> {
        self.validate()?;
        with_random_state(self.random_state, |rs| self.generate_with(rs))
    }

    /// Generates the data from the given generator (ignores `random_state`).
    ///
    /// ```
    /// use tapegrad_datasets::{sklearn::MakeRegression, RandomState};
    /// let p = MakeRegression { n_samples: 5, n_features: 3, ..Default::default() };
    /// let a = p.generate_with(&mut RandomState::new(1)).unwrap();
    /// let b = MakeRegression { random_state: Some(1), ..p.clone() }.generate().unwrap();
    /// assert_eq!(a, b);
    /// ```
    pub fn generate_with(&self, rs: &mut RandomState) -> Result<Regression> {
        self.validate()?;
        let n_informative = self.n_informative.min(self.n_features);
        let mut x = match self.effective_rank {
            None => rs.standard_normal((self.n_samples, self.n_features))?,
            Some(rank) => make_low_rank_matrix_with(
                rs,
                self.n_samples,
                self.n_features,
                rank,
                self.tail_strength,
            )?,
        };
        let mut ground_truth = Array2::<f64>::zeros((self.n_features, self.n_targets));
        let informative = rs.uniform(0.0, 1.0, (n_informative, self.n_targets))?;
        ground_truth
            .slice_mut(s![..n_informative, ..])
            .assign(&informative.mapv(|u| 100.0 * u));
        let mut y = x.dot(&ground_truth).mapv(|v| v + self.bias);
        if self.noise > 0.0 {
            let e = rs.normal(0.0, self.noise, y.dim())?;
            y += &e;
        }
        if self.shuffle {
            // sklearn.utils.shuffle(X, y): one permutation of the rows.
            let mut rows: Vec<usize> = (0..self.n_samples).collect();
            rs.shuffle(&mut rows);
            x = x.select(Axis(0), &rows);
            y = y.select(Axis(0), &rows);
            let mut cols: Vec<usize> = (0..self.n_features).collect();
            rs.shuffle(&mut cols);
            x = x.select(Axis(1), &cols);
            ground_truth = ground_truth.select(Axis(0), &cols);
        }
        Ok(Regression {
            x,
            y,
            coef: self.coef.then_some(ground_truth),
        })
    }
}

/// `make_regression(...)` as a function of the parameter struct.
///
/// ```
/// use tapegrad_datasets::sklearn::{make_regression, MakeRegression};
/// let r = make_regression(&MakeRegression { n_samples: 3, n_features: 2, random_state: Some(0), coef: true, ..Default::default() }).unwrap();
/// assert_eq!(r.coef.unwrap().dim(), (2, 1));
/// ```
pub fn make_regression(params: &MakeRegression) -> Result<Regression> {
    params.generate()
}

/// A train or test size as scikit-learn takes it: a fraction in `(0, 1)`
/// or an absolute count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitSize {
    /// A float in `(0, 1)`: `ceil(f * n)` for the test set, `floor(f * n)` for train.
    Fraction(f64),
    /// An int in `(0, n_samples)`.
    Count(usize),
}

/// The options of `train_test_split` (defaults: `test_size=None` which
/// means 0.25, `train_size=None`, `shuffle=True`, `random_state=None`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTestSplit {
    /// `test_size=`.
    pub test_size: Option<SplitSize>,
    /// `train_size=`.
    pub train_size: Option<SplitSize>,
    /// `shuffle=`: false takes the first `n_train` rows for training and the next `n_test` for testing.
    pub shuffle: bool,
    /// `random_state=`: `Some(seed)` or `None` for numpy's global RandomState.
    pub random_state: Option<u32>,
}

impl Default for TrainTestSplit {
    fn default() -> Self {
        TrainTestSplit {
            test_size: None,
            train_size: None,
            shuffle: true,
            random_state: None,
        }
    }
}

fn describe(s: Option<SplitSize>) -> String {
    match s {
        None => "None".into(),
        Some(SplitSize::Fraction(f)) => format!("{f}"),
        Some(SplitSize::Count(c)) => format!("{c}"),
    }
}

/// scikit-learn's `_validate_shuffle_split`: `(n_train, n_test)`.
fn validate_shuffle_split(
    n_samples: usize,
    test_size: Option<SplitSize>,
    train_size: Option<SplitSize>,
) -> Result<(usize, usize)> {
    let test_size = match (test_size, train_size) {
        (None, None) => Some(SplitSize::Fraction(0.25)),
        (t, _) => t,
    };
    let bad = |name: &'static str, v: Option<SplitSize>| {
        invalid(
            name,
            format!(
                "{name}={} should be either positive and smaller than the number of samples {n_samples} or a float in the (0, 1) range",
                describe(v)
            ),
        )
    };
    for (name, v) in [("test_size", test_size), ("train_size", train_size)] {
        match v {
            Some(SplitSize::Count(c)) if c == 0 || c >= n_samples => return Err(bad(name, v)),
            Some(SplitSize::Fraction(f)) if !(f > 0.0 && f < 1.0) => return Err(bad(name, v)),
            _ => {}
        }
    }
    if let (Some(SplitSize::Fraction(a)), Some(SplitSize::Fraction(b))) = (train_size, test_size) {
        if a + b > 1.0 {
            return Err(invalid(
                "test_size",
                format!("The sum of test_size and train_size = {}, should be in the (0, 1) range. Reduce test_size and/or train_size.", a + b),
            ));
        }
    }
    let n = n_samples as f64;
    let n_test = match test_size {
        Some(SplitSize::Fraction(f)) => Some((f * n).ceil() as usize),
        Some(SplitSize::Count(c)) => Some(c),
        None => None,
    };
    let n_train = match train_size {
        Some(SplitSize::Fraction(f)) => Some((f * n).floor() as usize),
        Some(SplitSize::Count(c)) => Some(c),
        None => None,
    };
    let (n_train, n_test) = match (n_train, n_test) {
        (None, Some(t)) => (n_samples.saturating_sub(t), t),
        (Some(r), None) => (r, n_samples.saturating_sub(r)),
        (Some(r), Some(t)) => (r, t),
        (None, None) => (n_samples, 0),
    };
    if n_train + n_test > n_samples {
        return Err(invalid(
            "train_size",
            format!("The sum of train_size and test_size = {}, should be smaller than the number of samples {n_samples}. Reduce test_size and/or train_size.", n_train + n_test),
        ));
    }
    if n_train == 0 {
        return Err(invalid(
            "test_size",
            format!(
                "With n_samples={n_samples}, test_size={} and train_size={}, the resulting train set will be empty. Adjust any of the aforementioned parameters.",
                describe(test_size),
                describe(train_size)
            ),
        ));
    }
    Ok((n_train, n_test))
}

/// Row indices `(train, test)` of `train_test_split` on `n_samples` rows.
///
/// Shuffled (scikit-learn's `ShuffleSplit`): `p = permutation(n_samples)`
/// from the `RandomState`, test = `p[..n_test]`, train = `p[n_test..n_test + n_train]`.
/// Not shuffled: train = `0..n_train`, test = `n_train..n_train + n_test`.
///
/// ```
/// use tapegrad_datasets::sklearn::{train_test_split_indices, TrainTestSplit};
/// let opts = TrainTestSplit { random_state: Some(42), ..Default::default() };
/// let (train, test) = train_test_split_indices(10, &opts).unwrap();
/// assert_eq!((train.len(), test.len()), (7, 3));
/// assert_eq!(test, vec![8, 1, 5]);
/// ```
pub fn train_test_split_indices(
    n_samples: usize,
    opts: &TrainTestSplit,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let (n_train, n_test) = validate_shuffle_split(n_samples, opts.test_size, opts.train_size)?;
    if !opts.shuffle {
        return Ok((
            (0..n_train).collect(),
            (n_train..n_train + n_test).collect(),
        ));
    }
    let perm = with_random_state(opts.random_state, |rs| rs.permutation(n_samples))?;
    let perm = perm.to_vec();
    Ok((
        perm[n_test..n_test + n_train].to_vec(),
        perm[..n_test].to_vec(),
    ))
}

/// The four arrays of `X_train, X_test, y_train, y_test = train_test_split(X, y, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Split<A, B> {
    /// Training rows of X.
    pub x_train: A,
    /// Test rows of X.
    pub x_test: A,
    /// Training rows of y.
    pub y_train: B,
    /// Test rows of y.
    pub y_test: B,
}

/// `train_test_split(X, y, ...)` for arrays of any dimension (rows along axis 0).
///
/// ```
/// use ndarray::{array, Array1};
/// use tapegrad_datasets::sklearn::{train_test_split, SplitSize, TrainTestSplit};
/// let x = Array1::from_iter((0..10).map(f64::from));
/// let y = x.mapv(|v| 2.0 * v);
/// let opts = TrainTestSplit { test_size: Some(SplitSize::Fraction(0.2)), shuffle: false, ..Default::default() };
/// let s = train_test_split(x.view(), y.view(), &opts).unwrap();
/// assert_eq!(s.x_test, array![8.0, 9.0]);
/// assert_eq!(s.y_train[7], 14.0);
/// ```
#[allow(clippy::type_complexity)]
pub fn train_test_split<A: Clone, D: RemoveAxis, E: RemoveAxis>(
    x: ArrayView<'_, A, D>,
    y: ArrayView<'_, A, E>,
    opts: &TrainTestSplit,
) -> Result<Split<ndarray::Array<A, D>, ndarray::Array<A, E>>> {
    if x.ndim() == 0 || y.ndim() == 0 || x.len_of(Axis(0)) != y.len_of(Axis(0)) {
        return Err(DatasetsError::Shape {
            context: "train_test_split",
            message: format!(
                "Found input variables with inconsistent numbers of samples: {:?} and {:?}",
                x.shape(),
                y.shape()
            ),
        });
    }
    let (train, test) = train_test_split_indices(x.len_of(Axis(0)), opts)?;
    Ok(Split {
        x_train: x.select(Axis(0), &train),
        x_test: x.select(Axis(0), &test),
        y_train: y.select(Axis(0), &train),
        y_test: y.select(Axis(0), &test),
    })
}

/// `sklearn.preprocessing.StandardScaler` fitted on the rows of a matrix:
/// per-column mean and population standard deviation (`ddof=0`); constant
/// columns get scale 1 as in scikit-learn.
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::sklearn::StandardScaler;
/// let x = array![[1.0, 5.0], [3.0, 5.0]];
/// let sc = StandardScaler::fit(x.view()).unwrap();
/// assert_eq!(sc.mean.to_vec(), vec![2.0, 5.0]);
/// assert_eq!(sc.scale.to_vec(), vec![1.0, 1.0]);
/// assert_eq!(sc.transform(x.view()).unwrap(), array![[-1.0, 0.0], [1.0, 0.0]]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StandardScaler {
    /// `mean_`.
    pub mean: Array1<f64>,
    /// `var_` (population variance).
    pub var: Array1<f64>,
    /// `scale_`: `sqrt(var)`, or 1 for constant columns.
    pub scale: Array1<f64>,
}

impl StandardScaler {
    /// `StandardScaler().fit(X)`. Errors on an empty matrix or a NaN.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tapegrad_datasets::sklearn::StandardScaler;
    /// assert!(StandardScaler::fit(Array2::<f64>::zeros((0, 2)).view()).is_err());
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>) -> Result<Self> {
        let n = x.nrows();
        if n == 0 || x.ncols() == 0 {
            return Err(invalid(
                "X",
                format!("Found array with shape {:?}; StandardScaler needs at least one sample and one feature", x.dim()),
            ));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(invalid("X", "Input X contains NaN or infinity."));
        }
        let nf = n as f64;
        // Row by row, as numpy reduces a C-ordered array along axis 0.
        let mut sum = Array1::<f64>::zeros(x.ncols());
        for row in x.rows() {
            sum += &row;
        }
        let mean = sum / nf;
        let mut correction = Array1::<f64>::zeros(x.ncols());
        let mut sq = Array1::<f64>::zeros(x.ncols());
        for row in x.rows() {
            let t = &row - &mean;
            correction += &t;
            sq += &t.mapv(|v| v * v);
        }
        let var = (sq - correction.mapv(|c| c * c / nf)) / nf;
        let eps = f64::EPSILON;
        let scale = Array1::from_iter(var.iter().zip(mean.iter()).map(|(&v, &m)| {
            let upper = nf * eps * v + (nf * m * eps).powi(2);
            if v <= upper {
                1.0
            } else {
                v.sqrt()
            }
        }));
        Ok(StandardScaler { mean, var, scale })
    }

    /// `transform(X)`: `(X - mean) / scale`. Errors on a column-count mismatch.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::sklearn::StandardScaler;
    /// let sc = StandardScaler::fit(array![[0.0], [2.0]].view()).unwrap();
    /// assert_eq!(sc.transform(array![[4.0]].view()).unwrap()[[0, 0]], 3.0);
    /// assert!(sc.transform(array![[4.0, 1.0]].view()).is_err());
    /// ```
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        if x.ncols() != self.mean.len() {
            return Err(DatasetsError::Shape {
                context: "StandardScaler::transform",
                message: format!(
                    "X has {} features, but StandardScaler is expecting {} features as input",
                    x.ncols(),
                    self.mean.len()
                ),
            });
        }
        Ok((&x - &self.mean.view().insert_axis(Axis(0))) / self.scale.view().insert_axis(Axis(0)))
    }

    /// `inverse_transform(X)`: `X * scale + mean`.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::sklearn::StandardScaler;
    /// let x = array![[1.0], [5.0]];
    /// let sc = StandardScaler::fit(x.view()).unwrap();
    /// let back = sc.inverse_transform(sc.transform(x.view()).unwrap().view()).unwrap();
    /// assert_eq!(back, x);
    /// ```
    pub fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        if x.ncols() != self.mean.len() {
            return Err(DatasetsError::Shape {
                context: "StandardScaler::inverse_transform",
                message: format!("X has {} features, expected {}", x.ncols(), self.mean.len()),
            });
        }
        Ok(&x * &self.scale.view().insert_axis(Axis(0)) + self.mean.view().insert_axis(Axis(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn householder_q_is_orthonormal_with_lapack_signs() {
        let a = RandomState::new(0).standard_normal((6, 3)).unwrap();
        let q = householder_q(a.clone());
        let qtq = q.t().dot(&q);
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((qtq[[i, j]] - want).abs() < 1e-14);
            }
        }
        // R = Q^T A is upper triangular, and LAPACK makes R[0,0] = -sign(a00) * |a col 0|.
        let r = q.t().dot(&a);
        assert!(r[[1, 0]].abs() < 1e-14 && r[[2, 0]].abs() < 1e-14 && r[[2, 1]].abs() < 1e-14);
        let norm0 = a.column(0).mapv(|v| v * v).sum().sqrt();
        assert!((r[[0, 0]] + a[[0, 0]].signum() * norm0).abs() < 1e-12);
    }

    #[test]
    fn square_qr_matches_numpy_signs() {
        // np.linalg.qr([[2, 1], [1, 3]])[0] = [[-2, -1], [-1, 2]] / sqrt(5):
        // the last reflector of a square matrix is the identity (tau = 0).
        let q = householder_q(ndarray::array![[2.0, 1.0], [1.0, 3.0]]);
        let r5 = 5f64.sqrt();
        let want = [[-2.0 / r5, -1.0 / r5], [-1.0 / r5, 2.0 / r5]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((q[[i, j]] - want[i][j]).abs() < 1e-15, "{i},{j}");
            }
        }
    }
}
