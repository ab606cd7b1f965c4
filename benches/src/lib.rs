//! Benchmark support: the workloads as users write them with tapegrad, and the floors — the
//! same steps as hand-fused Rust loops (gradient in one pass, no tape) — so that every figure
//! can be read as a ratio.

use tapegrad_autodiff::{abs, pow, reduce_mean, square, GradientTape, Result, Tensor, Variable};
use tapegrad_nn::{losses::mean_squared_error, Dense, Initializer, Layer};
use tapegrad_optim::{Optimizer, OptimizerExt, Sgd};
use tapegrad_tensor::DType;

/// Document 000's data: x = 0, 2, ..., 98 and y = 5x + 3 in float32.
pub fn two_weights_data() -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..50).map(|i| 2.0 * i as f32).collect();
    let y = x.iter().map(|&x| x * 5.0 + 3.0).collect();
    (x, y)
}

/// Document 000's step through the public crates, as a user writes it.
pub struct TwoWeights {
    x: Tensor,
    y: Tensor,
    /// The slope.
    pub a: Variable,
    /// The offset.
    pub b: Variable,
}

impl TwoWeights {
    /// a = b = 0 on document 000's data.
    pub fn new() -> Result<Self> {
        let (x, y) = two_weights_data();
        Ok(TwoWeights {
            x: Tensor::from_vec(x, &[50])?,
            y: Tensor::from_vec(y, &[50])?,
            a: Variable::new(0.0f32),
            b: Variable::new(0.0f32),
        })
    }

    /// One step: forward, gradient, two SGD updates with learning rate 1e-4.
    pub fn step(&self) -> Result<()> {
        self.step_loss().map(drop)
    }

    /// [`step`](Self::step), returning the loss (the closure a traced step is made of).
    pub fn step_loss(&self) -> Result<Tensor> {
        let tape = GradientTape::new();
        let y_test = ((&self.x * &self.a)? + &self.b)?;
        let loss = abs(&self.y - y_test)?;
        let grads = tape.gradient(&loss, &[&self.a, &self.b])?;
        for (v, g) in [&self.a, &self.b].into_iter().zip(grads) {
            if let Some(g) = g {
                v.assign_sub_scaled(1e-4, &g)?;
            }
        }
        Ok(loss)
    }
}

/// The floor for document 000's step: one fused pass computing both gradients of
/// `sum |y - (a x + b)|`, then the two updates.
pub fn two_weights_floor(x: &[f32], y: &[f32], a: &mut f32, b: &mut f32) {
    let (mut ga, mut gb) = (0.0f32, 0.0f32);
    for (&x, &y) in x.iter().zip(y) {
        let r = y - (x * *a + *b);
        let s = if r > 0.0 {
            -1.0
        } else if r < 0.0 {
            1.0
        } else {
            0.0
        };
        ga += s * x;
        gb += s;
    }
    *a -= ga * 1e-4;
    *b -= gb * 1e-4;
}

/// Deterministic inputs in `[-1, 1)` (a 32-bit LCG), so every workload sees the same data in
/// the crates, the floor and the Python peers.
pub fn uniform_data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12_345);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// A full-batch linear regression `w·x + b` with mean squared error, as documents 001 (`pow`),
/// 002 and 003 (`square`) write it: one feature, `n` points, two scalar variables, plain
/// `assign_sub(learning_rate * gradient)`.
pub struct LinearMse {
    x: Tensor,
    y: Tensor,
    /// The slope.
    pub w: Variable,
    /// The offset.
    pub b: Variable,
    learning_rate: f64,
    with_pow: bool,
}

/// `x` and `y = 3x + 2 + noise/4` of a [`LinearMse`] workload.
pub fn linear_data(n: usize) -> (Vec<f32>, Vec<f32>) {
    let x = uniform_data(n, 1);
    let noise = uniform_data(n, 2);
    let y = x
        .iter()
        .zip(&noise)
        .map(|(&x, &e)| 3.0 * x + 2.0 + 0.25 * e)
        .collect();
    (x, y)
}

impl LinearMse {
    /// `scratch-regression` (document 001): 100 points, `pow(y_hat - y, 2)`, rate 0.05.
    pub fn scratch_regression() -> Result<Self> {
        Self::new(100, 0.05, true)
    }
    /// `tape-regression` (document 002): 8000 points, `square`, rate 0.001.
    pub fn tape_regression() -> Result<Self> {
        Self::new(8000, 0.001, false)
    }
    /// `custom-training` (document 003): 1000 points, `square`, rate 0.1.
    pub fn custom_training() -> Result<Self> {
        Self::new(1000, 0.1, false)
    }

    /// `n` points of [`linear_data`], `w = b = 0`.
    pub fn new(n: usize, learning_rate: f64, with_pow: bool) -> Result<Self> {
        let (x, y) = linear_data(n);
        Ok(LinearMse {
            x: Tensor::from_vec(x, &[n])?,
            y: Tensor::from_vec(y, &[n])?,
            w: Variable::new(0.0f32),
            b: Variable::new(0.0f32),
            learning_rate,
            with_pow,
        })
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// Whether the loss squares through `pow` (document 001) rather than `square`: then
    /// [`linear_mse_floor_exact`] does not give this step's bits.
    pub fn uses_pow(&self) -> bool {
        self.with_pow
    }

    /// One step: `loss = mean((w x + b - y)^2)` on a tape, its gradients, two `assign_sub`.
    pub fn step(&self) -> Result<()> {
        self.step_loss().map(drop)
    }

    /// [`step`](Self::step), returning the loss (the closure a traced step is made of).
    pub fn step_loss(&self) -> Result<Tensor> {
        let tape = GradientTape::new();
        let e = (((&self.w * &self.x)? + &self.b)? - &self.y)?;
        let sq = if self.with_pow {
            pow(e, 2.0)?
        } else {
            square(e)?
        };
        let loss = reduce_mean(sq, None, false)?;
        let grads = tape.gradient(&loss, &[&self.w, &self.b])?;
        for (v, g) in [&self.w, &self.b].into_iter().zip(grads) {
            if let Some(g) = g {
                v.assign_sub((g * self.learning_rate)?)?;
            }
        }
        Ok(loss)
    }
}

/// The floor of a [`LinearMse`] step: one pass computing both gradients of
/// `mean((w x + b - y)^2)`, then the two updates.
pub fn linear_mse_floor(x: &[f32], y: &[f32], w: &mut f32, b: &mut f32, learning_rate: f32) {
    let (mut gw, mut gb) = (0.0f32, 0.0f32);
    for (&x, &y) in x.iter().zip(y) {
        let e = *w * x + *b - y;
        gw += e * x;
        gb += e;
    }
    let scale = 2.0 / x.len() as f32;
    *w -= learning_rate * gw * scale;
    *b -= learning_rate * gb * scale;
}

/// The lanes of the eager sums folded in their order (`kernels::sum`: `(l0 + l4)`, then
/// `(l1 + l5)`, ... added to zero in turn).
fn fold_lanes(lanes: [f32; 8]) -> f32 {
    let mut s = 0.0f32;
    for k in 0..4 {
        s += lanes[k] + lanes[k + 4];
    }
    s
}

/// The floor of a [`LinearMse`] step written with `square` (documents 002 and 003) that gives
/// the crates' bits: one pass over the points computing the loss, both gradients and their
/// sums in the eager kernels' order (eight lanes, their fold, the remaining points), then the
/// two updates. Returns the loss. What a fused replay could reach at best.
pub fn linear_mse_floor_exact(
    x: &[f32],
    y: &[f32],
    w: &mut f32,
    b: &mut f32,
    learning_rate: f32,
) -> f32 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    // the mean's gradient, 1 / n in float32, spread over the points
    let g = 1.0f32 / n as f64 as f32;
    let (w0, b0) = (*w, *b);
    let whole = n - n % 8;
    let (sq, gb, gw) = exact_lanes(&x[..whole], &y[..whole], w0, b0, g);
    let (mut loss, mut grad_b, mut grad_w) = (fold_lanes(sq), fold_lanes(gb), fold_lanes(gw));
    for (&xi, &yi) in x[whole..].iter().zip(&y[whole..]) {
        let e = (w0 * xi + b0) - yi;
        let ge = g * (e * 2.0);
        loss += e * e;
        grad_b += ge;
        grad_w += xi * ge;
    }
    *w -= grad_w * learning_rate;
    *b -= grad_b * learning_rate;
    loss / n as f64 as f32
}

/// The eight lanes of the three sums of [`linear_mse_floor_exact`] over whole chunks of 8
/// points: AVX2 where the CPU has it (one register a lane set; the same arithmetic, no FMA:
/// Rust does not contract).
fn exact_lanes(x: &[f32], y: &[f32], w0: f32, b0: f32, g: f32) -> ([f32; 8], [f32; 8], [f32; 8]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above)
        return unsafe { exact_lanes_avx2(x, y, w0, b0, g) };
    }
    exact_lanes_portable(x, y, w0, b0, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn exact_lanes_avx2(
    x: &[f32],
    y: &[f32],
    w0: f32,
    b0: f32,
    g: f32,
) -> ([f32; 8], [f32; 8], [f32; 8]) {
    exact_lanes_portable(x, y, w0, b0, g)
}

#[inline(always)]
fn exact_lanes_portable(
    x: &[f32],
    y: &[f32],
    w0: f32,
    b0: f32,
    g: f32,
) -> ([f32; 8], [f32; 8], [f32; 8]) {
    let (mut sq, mut gb, mut gw) = ([0.0f32; 8], [0.0f32; 8], [0.0f32; 8]);
    let (xc, _) = x.as_chunks::<8>();
    let (yc, _) = y.as_chunks::<8>();
    for (xs, ys) in xc.iter().zip(yc) {
        for k in 0..8 {
            let e = (w0 * xs[k] + b0) - ys[k];
            let ge = g * (e * 2.0);
            sq[k] += e * e;
            gb[k] += ge;
            gw[k] += xs[k] * ge;
        }
    }
    (sq, gb, gw)
}

/// A two-layer perceptron `Dense(hidden, relu) -> Dense(1)` (or one `Dense(1)` when
/// `hidden == 0`) trained by Keras SGD on mean squared error, as a user writes it with
/// tapegrad-nn and tapegrad-optim: document 004's Dense cells and issue 3's
/// `dense_sgd_step` / `mlp_step`.
pub struct DenseNet {
    x: Tensor,
    y: Tensor,
    layers: Vec<Dense>,
    variables: Vec<Variable>,
    optimizer: Sgd,
}

/// Inputs `(batch, features)` and targets `(batch, 1)` of a [`DenseNet`] workload.
pub fn dense_data(batch: usize, features: usize) -> (Vec<f32>, Vec<f32>) {
    let x = uniform_data(batch * features, 3);
    let y = x
        .chunks(features)
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(j, &v)| v * (j % 5) as f32 - 1.0)
                .sum::<f32>()
                + 5.0
        })
        .collect();
    (x, y)
}

/// The initial kernels of a [`DenseNet`]: `uniform_data` scaled by `1/sqrt(fan_in)`.
pub fn dense_init(rows: usize, cols: usize, seed: u32) -> Vec<f32> {
    let scale = 1.0 / (rows as f32).sqrt();
    uniform_data(rows * cols, seed)
        .into_iter()
        .map(|v| v * scale)
        .collect()
}

impl DenseNet {
    /// `depth-dense-sgd`, issue 3's `dense_sgd_step`: one row of 3 features, `Dense(1)`.
    pub fn dense_sgd() -> Result<Self, Box<dyn std::error::Error>> {
        Self::new(1, 3, 0, 0.1)
    }
    /// `depth-dense-minibatch`: 3 rows of 3 features, `Dense(1)`.
    pub fn dense_minibatch() -> Result<Self, Box<dyn std::error::Error>> {
        Self::new(3, 3, 0, 0.1)
    }
    /// `depth-mlp`, issue 3's `mlp_step`: one row of 10 features, `Dense(10, relu) -> Dense(1)`.
    pub fn mlp() -> Result<Self, Box<dyn std::error::Error>> {
        Self::new(1, 10, 10, 0.01)
    }

    /// `batch` rows of `features` columns; `hidden` relu units (none: one linear layer).
    pub fn new(
        batch: usize,
        features: usize,
        hidden: usize,
        learning_rate: f64,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let (x, y) = dense_data(batch, features);
        let x = Tensor::from_vec(x, &[batch, features])?;
        let y = Tensor::from_vec(y, &[batch, 1])?;
        let mut layers = Vec::new();
        let mut fan_in = features;
        if hidden > 0 {
            let k = tapegrad_tensor::Array::from_vec(
                dense_init(features, hidden, 4),
                &[features, hidden],
            )?;
            layers.push(
                Dense::new(hidden)
                    .activation("relu")?
                    .kernel_initializer(Constant(k)),
            );
            fan_in = hidden;
        }
        let k = tapegrad_tensor::Array::from_vec(dense_init(fan_in, 1, 5), &[fan_in, 1])?;
        layers.push(Dense::new(1).kernel_initializer(Constant(k)));
        let mut shape = vec![batch, features];
        for layer in &mut layers {
            layer.build(&shape)?;
            shape = vec![batch, layer.units()];
        }
        let variables = layers
            .iter()
            .flat_map(|l| l.trainable_variables())
            .collect();
        Ok(DenseNet {
            x,
            y,
            layers,
            variables,
            optimizer: Sgd::new(learning_rate),
        })
    }

    /// The trainable variables (kernel and bias of each layer, in order).
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// One step: forward, `mean_squared_error`, tape gradients, `apply_gradients`.
    pub fn step(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        dense_step(
            &self.x,
            &self.y,
            &self.layers,
            &self.variables,
            &mut self.optimizer,
        )
        .map(drop)
    }

    /// [`step`](Self::step) with the optimizer given, returning the loss (the closure a
    /// traced step is made of: the optimizer is the function's argument).
    pub fn step_with(&self, optimizer: &mut Sgd) -> Result<Tensor, Box<dyn std::error::Error>> {
        dense_step(&self.x, &self.y, &self.layers, &self.variables, optimizer)
    }

    /// The learning rate of its SGD (for a traced step's own optimizer).
    pub fn learning_rate(&self) -> f64 {
        self.optimizer.learning_rate()
    }
}

/// A [`DenseNet`] step on its parts (so that [`DenseNet::step`] borrows its own optimizer).
fn dense_step(
    x: &Tensor,
    y: &Tensor,
    layers: &[Dense],
    variables: &[Variable],
    optimizer: &mut Sgd,
) -> Result<Tensor, Box<dyn std::error::Error>> {
    let tape = GradientTape::new();
    let mut h = x.clone();
    for layer in layers {
        h = layer.call(&h)?;
    }
    let loss = reduce_mean(mean_squared_error(y, &h)?, None, false)?;
    let refs: Vec<&Variable> = variables.iter().collect();
    let grads = tape.gradient(&loss, &refs)?;
    optimizer.apply_gradients(grads.into_iter().zip(variables))?;
    Ok(loss)
}

/// A kernel initializer returning a fixed tensor.
#[derive(Debug, Clone)]
struct Constant(tapegrad_tensor::Array);

impl Initializer for Constant {
    fn init(
        &self,
        _shape: &[usize],
        dtype: DType,
    ) -> tapegrad_nn::Result<tapegrad_autodiff::Tensor> {
        Ok(self.0.cast(dtype).into())
    }
}

/// Issue 6's scaling grid, samples: full-batch linear regression over
/// `SCALING_SAMPLES × SCALING_FEATURES` (one feature: the scalar `w·x + b` of [`LinearMse`];
/// more: a `Dense(1)` of [`DenseNet`]).
pub const SCALING_SAMPLES: [usize; 4] = [1, 1_000, 10_000, 1_000_000];
/// Issue 6's scaling grid, features of the linear regression.
pub const SCALING_FEATURES: [usize; 3] = [1, 16, 256];
/// Issue 6's scaling grid, MLP widths: `Dense(width, relu) → Dense(1)` on `width` features.
pub const SCALING_WIDTHS: [usize; 3] = [10, 100, 1000];
/// Issue 6's scaling grid, MLP batches.
pub const SCALING_BATCHES: [usize; 3] = [1, 32, 1024];

/// True for a grid point whose step is long (more than ten million multiply-adds in its
/// forward pass): the benches take fewer samples of it.
pub fn scaling_is_large(samples: usize, features: usize, hidden: usize) -> bool {
    samples * features * hidden.max(1) > 10_000_000
}

/// The floor of a [`DenseNet`] step: hand-written forward and backward loops over plain
/// slices, no tape, no temporaries beyond two activation buffers.
pub struct DenseFloor {
    x: Vec<f32>,
    y: Vec<f32>,
    batch: usize,
    features: usize,
    hidden: usize,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: f32,
    h: Vec<f32>,
    dh: Vec<f32>,
    gw1: Vec<f32>,
    learning_rate: f32,
}

impl DenseFloor {
    /// The same data and initial weights as [`DenseNet::new`].
    pub fn new(batch: usize, features: usize, hidden: usize, learning_rate: f32) -> Self {
        let (x, y) = dense_data(batch, features);
        let fan_in = if hidden > 0 { hidden } else { features };
        DenseFloor {
            x,
            y,
            batch,
            features,
            hidden,
            w1: if hidden > 0 {
                dense_init(features, hidden, 4)
            } else {
                Vec::new()
            },
            b1: vec![0.0; hidden],
            w2: dense_init(fan_in, 1, 5),
            b2: 0.0,
            h: vec![0.0; batch * hidden.max(features)],
            dh: vec![0.0; batch * hidden],
            gw1: vec![0.0; features * hidden],
            learning_rate,
        }
    }

    /// The output layer's kernel.
    pub fn w2(&self) -> &[f32] {
        &self.w2
    }

    /// One fused step.
    pub fn step(&mut self) {
        let (bsz, f, hd) = (self.batch, self.features, self.hidden);
        let lr = self.learning_rate;
        let width = if hd > 0 { hd } else { f };
        if hd > 0 {
            for i in 0..bsz {
                let h = &mut self.h[i * hd..(i + 1) * hd];
                h.copy_from_slice(&self.b1);
                for p in 0..f {
                    let xv = self.x[i * f + p];
                    for (h, &w) in h.iter_mut().zip(&self.w1[p * hd..(p + 1) * hd]) {
                        *h += xv * w;
                    }
                }
                for h in h.iter_mut() {
                    *h = h.max(0.0);
                }
            }
        } else {
            self.h[..bsz * f].copy_from_slice(&self.x);
        }
        let mut gw2 = vec![0.0f32; width];
        let mut gb2 = 0.0f32;
        let scale = 2.0 / bsz as f32;
        for i in 0..bsz {
            let h = &self.h[i * width..(i + 1) * width];
            let out: f32 = h.iter().zip(&self.w2).map(|(a, b)| a * b).sum::<f32>() + self.b2;
            let dy = (out - self.y[i]) * scale;
            gb2 += dy;
            for (g, &hv) in gw2.iter_mut().zip(h) {
                *g += dy * hv;
            }
            if hd > 0 {
                for ((d, &w), &hv) in self.dh[i * hd..(i + 1) * hd]
                    .iter_mut()
                    .zip(&self.w2)
                    .zip(h)
                {
                    *d = if hv > 0.0 { dy * w } else { 0.0 };
                }
            }
        }
        if hd > 0 {
            self.gw1.iter_mut().for_each(|g| *g = 0.0);
            let mut gb1 = vec![0.0f32; hd];
            for i in 0..bsz {
                let dh = &self.dh[i * hd..(i + 1) * hd];
                for (g, &d) in gb1.iter_mut().zip(dh) {
                    *g += d;
                }
                for p in 0..f {
                    let xv = self.x[i * f + p];
                    for (g, &d) in self.gw1[p * hd..(p + 1) * hd].iter_mut().zip(dh) {
                        *g += xv * d;
                    }
                }
            }
            for (w, g) in self.w1.iter_mut().zip(&self.gw1) {
                *w -= lr * g;
            }
            for (b, g) in self.b1.iter_mut().zip(&gb1) {
                *b -= lr * g;
            }
        }
        for (w, g) in self.w2.iter_mut().zip(&gw2) {
            *w -= lr * g;
        }
        self.b2 -= lr * gb2;
    }
}

/// A global allocator that counts allocations and bytes (per thread) around the system
/// allocator. Register it in a bench or test binary with `#[global_allocator]`; read it with
/// [`allocations`].
pub struct CountingAllocator;

thread_local! {
    static COUNTS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

fn count(bytes: usize) {
    // `try_with`: the thread-local may be gone while a thread is being torn down
    let _ = COUNTS.try_with(|c| {
        let (n, b) = c.get();
        c.set((n + 1, b + bytes as u64));
    });
}

/// `(allocations, bytes)` made so far on this thread through [`CountingAllocator`] (zeros when
/// it is not the global allocator). Reallocations count as one allocation of the new size.
pub fn allocations() -> (u64, u64) {
    COUNTS.try_with(|c| c.get()).unwrap_or((0, 0))
}

// SAFETY: every method forwards to the system allocator with the caller's arguments.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and bytes per call of `step`, averaged over `steps` calls after `warmup` calls.
pub fn allocations_per_step(warmup: usize, steps: usize, mut step: impl FnMut()) -> (f64, f64) {
    for _ in 0..warmup {
        step();
    }
    let (n0, b0) = allocations();
    for _ in 0..steps {
        step();
    }
    let (n1, b1) = allocations();
    (
        (n1 - n0) as f64 / steps as f64,
        (b1 - b0) as f64 / steps as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_and_crates_agree_on_document_000() -> Result<()> {
        let model = TwoWeights::new()?;
        let (x, y) = two_weights_data();
        let (mut a, mut b) = (0.0f32, 0.0f32);
        for _ in 0..200 {
            model.step()?;
            two_weights_floor(&x, &y, &mut a, &mut b);
        }
        assert_eq!(model.a.item()? as f32, a);
        assert_eq!(model.b.item()? as f32, b);
        Ok(())
    }

    #[test]
    fn linear_floor_follows_the_crates() -> Result<()> {
        let model = LinearMse::custom_training()?;
        let (x, y) = linear_data(1000);
        let (mut w, mut b) = (0.0f32, 0.0f32);
        for _ in 0..30 {
            model.step()?;
            linear_mse_floor(&x, &y, &mut w, &mut b, 0.1);
        }
        // the same gradients up to summation order
        assert!((model.w.item()? as f32 - w).abs() < 1e-4, "{w}");
        assert!((model.b.item()? as f32 - b).abs() < 1e-4, "{b}");
        assert!((w - 3.0).abs() < 0.5 && (b - 2.0).abs() < 0.1, "{w} {b}");
        Ok(())
    }

    #[test]
    fn the_exact_linear_floor_gives_the_crates_bits() -> Result<()> {
        for model in [LinearMse::tape_regression()?, LinearMse::custom_training()?] {
            let n = model.x.len();
            let (x, y) = linear_data(n);
            let lr = model.learning_rate() as f32;
            let (mut w, mut b) = (0.0f32, 0.0f32);
            for step in 0..30 {
                let loss = model.step_loss()?.item()? as f32;
                let floor = linear_mse_floor_exact(&x, &y, &mut w, &mut b, lr);
                assert_eq!(loss.to_bits(), floor.to_bits(), "n = {n}, step {step}");
                assert_eq!((model.w.item()? as f32).to_bits(), w.to_bits(), "n = {n}");
                assert_eq!((model.b.item()? as f32).to_bits(), b.to_bits(), "n = {n}");
            }
        }
        Ok(())
    }

    #[test]
    fn dense_floor_follows_the_crates() -> std::result::Result<(), Box<dyn std::error::Error>> {
        for (batch, features, hidden) in [(1, 3, 0), (3, 3, 0), (1, 10, 10), (32, 10, 10)] {
            let mut model = DenseNet::new(batch, features, hidden, 0.01)?;
            let mut floor = DenseFloor::new(batch, features, hidden, 0.01);
            for _ in 0..20 {
                model.step()?;
                floor.step();
            }
            let last = model.variables().len() - 2;
            let got = model.variables()[last].value().to_vec::<f32>()?;
            for (g, f) in got.iter().zip(floor.w2()) {
                assert!(
                    (g - f).abs() < 1e-4,
                    "{batch}x{features}x{hidden}: {g} vs {f}"
                );
            }
        }
        Ok(())
    }
}
