//! The matrix product: a plain, deterministic kernel for small products, single rows and outer
//! products, and ndarray's gemm beyond.

use ndarray::{ArrayD, Ix2};

use super::fill::fill_tensor;
use super::layout::{output_elements, row_major};
use crate::tensor::{map_arrays2, Repr};
use crate::{kernels, pool, size};
use crate::{Array, Element, Result, TensorError};

impl Array {
    /// Matrix product of two rank-2 tensors, optionally transposing either (`tf.matmul`).
    ///
    /// **Rounding.** These products are computed in plain arithmetic of the dtype: those whose
    /// work `m · k · n` is at most [`PLAIN_MATMUL_MAX_WORK`] (every product of the documented
    /// experiments), and at any size a single row (`m = 1`) against an untransposed `b` and an
    /// outer product (`k = 1`). Each product `a[i,p] · b[p,j]` is rounded and each dot product
    /// is summed left to right over `p` starting from the first product (no fused multiply-add,
    /// no reassociation), so the result is the same on every CPU and equals what
    /// numpy/TensorFlow print when they do not fuse. Every other product goes through ndarray's
    /// `dot` (matrixmultiply's blocked gemm), much faster for batches of rows, but it uses FMA
    /// where the CPU has it and sums in blocks, so its last bits may differ between CPUs.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let a = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let b = Array::from_vec(vec![1.0f32, 0.0], &[2, 1])?;
    /// assert_eq!(a.matmul(&b, false, false)?.to_vec::<f32>()?, vec![1.0, 3.0]);
    /// assert_eq!(a.matmul(&b, true, false)?.to_vec::<f32>()?, vec![1.0, 2.0]);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn matmul(&self, other: &Array, transpose_a: bool, transpose_b: bool) -> Result<Array> {
        if crate::trace::recording() {
            return crate::trace::kernel("matmul", &[self, other], move |a| {
                a[0].matmul(a[1], transpose_a, transpose_b)
            });
        }
        let shape_err = |message: &str| TensorError::Shape {
            op: "matmul",
            message: message.to_string(),
            shapes: vec![self.shape().to_vec(), other.shape().to_vec()],
        };
        if self.rank() != 2 || other.rank() != 2 {
            return Err(shape_err("both operands must have rank 2"));
        }
        let (sa, sb) = (self.shape(), other.shape());
        let k_a = if transpose_a { sa[0] } else { sa[1] };
        let k_b = if transpose_b { sb[1] } else { sb[0] };
        if k_a != k_b {
            return Err(shape_err(&format!(
                "inner dimensions differ ({k_a} vs {k_b}; transpose_a={transpose_a}, transpose_b={transpose_b})"
            )));
        }
        let (m, n) = (
            if transpose_a { sa[1] } else { sa[0] },
            if transpose_b { sb[0] } else { sb[1] },
        );
        // One row of `a` against a row-major `op(b)` (a single sample through a layer) and an
        // outer product (`k = 1`: a layer's weight gradient for a single sample) run the plain
        // kernel at any size: it streams `b` once where gemm would pack all of `b` first, and
        // an outer product has no sum to order.
        // (an outer product or an empty inner dimension makes more elements than its operands)
        size::element_count("matmul", &[m, n], self.dtype())?;
        let plain = (m == 1 && !transpose_b) || k_a == 1;
        if plain || m.saturating_mul(k_a).saturating_mul(n) <= PLAIN_MATMUL_MAX_WORK {
            return match (self.repr(), other.repr()) {
                (Repr::F32(a), Repr::F32(b)) => {
                    plain_matmul(a, b, (m, k_a, n), transpose_a, transpose_b)
                }
                (Repr::F64(a), Repr::F64(b)) => {
                    plain_matmul(a, b, (m, k_a, n), transpose_a, transpose_b)
                }
                _ => Err(TensorError::DType {
                    op: "matmul",
                    lhs: self.dtype(),
                    rhs: other.dtype(),
                }),
            };
        }
        output_elements("matmul", &[m, n], self.dtype())?;
        map_arrays2!("matmul", self, other, (a, b) => {
            let a2 = a.view().into_dimensionality::<Ix2>().map_err(|_| shape_err("rank"))?;
            let b2 = b.view().into_dimensionality::<Ix2>().map_err(|_| shape_err("rank"))?;
            let a2 = if transpose_a { a2.reversed_axes() } else { a2 };
            let b2 = if transpose_b { b2.reversed_axes() } else { b2 };
            Ok::<_, TensorError>(a2.dot(&b2).into_dyn())
        })
    }
}

/// The largest `m · k · n` for which [`Array::matmul`] uses the plain, deterministic kernel
/// (each product rounded, each dot product summed left to right) whatever the shape; beyond it,
/// only single rows against an untransposed `b` and outer products (`k = 1`) stay plain.
/// Measured on the development machine (docs/PERFORMANCE.md): the plain kernel is faster than
/// matrixmultiply's gemm for every shape up to this much work (1.4x at 100x3x1, 1.6x at
/// 1x10x10) and slower beyond it for batches of rows (0.65x at 32x10x10); for a single row it
/// stays faster at any size (gemm packs all of `b` first).
pub const PLAIN_MATMUL_MAX_WORK: usize = 2048;

/// `op(a) · op(b)` of shape `(m, n)` where `op` transposes when asked, in plain arithmetic:
/// `out[i, j] = ((a[i,0] b[0,j] + a[i,1] b[1,j]) + a[i,2] b[2,j]) + ...`, each product rounded.
fn plain_matmul<T: Element>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    (m, k, n): (usize, usize, usize),
    transpose_a: bool,
    transpose_b: bool,
) -> Result<Array> {
    let a_std;
    let av: &[T] = match row_major(a) {
        Some(s) => s,
        None => {
            a_std = a.iter().copied().collect::<Vec<T>>();
            &a_std
        }
    };
    let b_std;
    let bv: &[T] = match row_major(b) {
        Some(s) => s,
        None => {
            b_std = b.iter().copied().collect::<Vec<T>>();
            &b_std
        }
    };
    // element (i, p) of op(a) and (p, j) of op(b), as (row stride, column stride)
    let (ai, ap) = if transpose_a { (1, m) } else { (k, 1) };
    let (bp, bj) = if transpose_b { (1, k) } else { (n, 1) };
    if k == 0 {
        return fill_tensor("matmul", &[m, n], T::zero());
    }
    if k == 1 && m * n >= pool::MIN_ELEMENTS {
        // a large outer product: each element one product `a[i,0] · b[0,j]`, written once
        // into a pooled buffer, row by row
        // (`bv` holds the `k · n = n` elements of `b`, so `map1` writes each of the `n`
        // elements of every one of the `m` rows: every element, as `build_large` asks)
        return pool::try_build_large("matmul", &[m, n], m * n, |out| {
            for (i, row) in out.chunks_exact_mut(n).enumerate() {
                let x = av[i * ai];
                kernels::map1(row, bv, |y| x * y);
            }
        });
    }
    // Each out[i, j] is one chain `s = a[i,0] b[0,j]; s = s + a[i,p] b[p,j]` for p = 1, 2, ...;
    // the tiles below only run several independent chains side by side (registers, SIMD lanes)
    // and write every element once (the output may be a reused tensor holding stale values).
    Ok(pool::build_small(&[m, n], |out| {
        Kernel {
            av,
            bv,
            a_strides: (ai, ap),
            b_strides: (bp, bj),
            k,
            n,
            out,
        }
        .run_dispatched(m)
    }))
}

/// The operands of [`plain_matmul`] and its output.
struct Kernel<'a, T> {
    av: &'a [T],
    bv: &'a [T],
    a_strides: (usize, usize),
    b_strides: (usize, usize),
    k: usize,
    n: usize,
    out: &'a mut [T],
}

impl<T: Element> Kernel<'_, T> {
    /// Every output element, `m` rows: [`Kernel::run`] compiled with AVX2 (no FMA: the same
    /// bits) where the CPU has it and the product is big enough to fill its registers.
    fn run_dispatched(&mut self, m: usize) {
        if m == 1 && self.b_strides.1 == 1 && self.k * self.n > PLAIN_MATMUL_MAX_WORK {
            // its loops dispatch to AVX2 themselves
            return self.one_row();
        }
        #[cfg(target_arch = "x86_64")]
        {
            /// [`Kernel::run`] with AVX2.
            #[target_feature(enable = "avx2")]
            fn run_avx2<T: Element>(kernel: &mut Kernel<'_, T>, m: usize) {
                kernel.run(m)
            }
            if self.n >= 8 && self.b_strides.1 == 1 && crate::kernels::has_avx2() {
                // SAFETY: the AVX2 copy runs only on a CPU that has AVX2 (checked just above).
                return unsafe { run_avx2(self, m) };
            }
        }
        self.run(m)
    }

    /// The single output row of a product larger than [`PLAIN_MATMUL_MAX_WORK`] whose `op(b)`
    /// is row-major: `out = a[0] · b[0, :]`, then `out = out + a[p] · b[p, :]` for p = 1, 2, …
    /// Each element is the chain [`Kernel::tile`] computes, in the same order; only the loops
    /// are turned around, so that `b` is read once, front to back, and the output row (kept in
    /// the L1 cache) takes the additions in vector registers.
    fn one_row(&mut self) {
        let (n, ap, bp) = (self.n, self.a_strides.1, self.b_strides.0);
        let (av, bv) = (self.av, self.bv);
        let first = av[0];
        kernels::update(self.out, &bv[..n], |_, y| first * y);
        for p in 1..self.k {
            let x = av[p * ap];
            kernels::update(self.out, &bv[p * bp..p * bp + n], |s, y| s + x * y);
        }
    }

    /// Every output element, `m` rows, in tiles: blocks of 8 contiguous columns (4 rows at a
    /// time), then the remaining columns one at a time (8 rows at a time).
    #[inline(always)]
    fn run(&mut self, m: usize) {
        let (n, bj) = (self.n, self.b_strides.1);
        let mut j = 0;
        if bj == 1 {
            while j + 8 <= n {
                self.columns::<8>(m, j);
                j += 8;
            }
        }
        while j < n {
            self.columns::<1>(m, j);
            j += 1;
        }
    }

    /// Columns `j0..j0 + C` of every row, `C` being 8 (contiguous) or 1.
    #[inline(always)]
    fn columns<const C: usize>(&mut self, m: usize, j0: usize) {
        let mut i = 0;
        if C == 8 {
            while i + 4 <= m {
                self.tile::<4, 8, true>(i, j0);
                i += 4;
            }
            while i < m {
                self.tile::<1, 8, true>(i, j0);
                i += 1;
            }
        } else {
            while i + 8 <= m {
                self.tile::<8, 1, false>(i, j0);
                i += 8;
            }
            while i < m {
                self.tile::<1, 1, false>(i, j0);
                i += 1;
            }
        }
    }

    /// Rows `i0..i0 + R` and columns `j0..j0 + C` of the output; `CONTIGUOUS` when op(b) has
    /// column stride 1 (so the compiler can vectorise over the columns).
    #[inline(always)]
    fn tile<const R: usize, const C: usize, const CONTIGUOUS: bool>(
        &mut self,
        i0: usize,
        j0: usize,
    ) {
        let (ai, ap) = self.a_strides;
        let (bp, bj) = self.b_strides;
        let bj = if CONTIGUOUS { 1 } else { bj };
        let (av, bv) = (self.av, self.bv);
        let mut acc = [[T::zero(); C]; R];
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = av[(i0 + r) * ai];
            for (c, s) in acc.iter_mut().enumerate() {
                *s = x * bv[(j0 + c) * bj];
            }
        }
        for p in 1..self.k {
            if CONTIGUOUS {
                let brow: &[T; C] = bv[p * bp + j0..p * bp + j0 + C]
                    .try_into()
                    .expect("C columns");
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = av[(i0 + r) * ai + p * ap];
                    for (s, &y) in acc.iter_mut().zip(brow) {
                        *s = *s + x * y;
                    }
                }
            } else {
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = av[(i0 + r) * ai + p * ap];
                    for (c, s) in acc.iter_mut().enumerate() {
                        *s = *s + x * bv[p * bp + (j0 + c) * bj];
                    }
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let row = (i0 + r) * self.n + j0;
            self.out[row..row + C].copy_from_slice(acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::values;

    #[test]
    fn small_matmul_rounds_each_product_without_fma() -> Result<()> {
        // (1 + 2^-12)^2 - 1: plain float32 gives 2^-11, a fused multiply-add 2^-11 + 2^-24
        let e = 1.0f32 + 2f32.powi(-12);
        let a = Array::from_vec(vec![-1.0f32, e], &[1, 2])?;
        let b = Array::from_vec(vec![1.0f32, e], &[2, 1])?;
        assert_eq!(
            a.matmul(&b, false, false)?.to_vec::<f32>()?,
            vec![2f32.powi(-11)]
        );
        // the same product through every transpose
        let at = Array::from_vec(vec![-1.0f32, e], &[2, 1])?;
        let bt = Array::from_vec(vec![1.0f32, e], &[1, 2])?;
        assert_eq!(
            at.matmul(&b, true, false)?.to_vec::<f32>()?,
            vec![2f32.powi(-11)]
        );
        assert_eq!(
            a.matmul(&bt, false, true)?.to_vec::<f32>()?,
            vec![2f32.powi(-11)]
        );
        assert_eq!(
            at.matmul(&bt, true, true)?.to_vec::<f32>()?,
            vec![2f32.powi(-11)]
        );
        Ok(())
    }

    #[test]
    fn small_matmul_sums_left_to_right_for_every_transpose() -> Result<()> {
        // every tile shape: 8-column blocks (AVX2 where the CPU has it) with 4-row and single
        // rows, single columns with 8-row and single rows
        for (m, k, n) in [(5, 7, 3), (1, 10, 10), (10, 1, 10), (9, 4, 17), (13, 3, 16)] {
            matmul_left_to_right(m, k, n)?;
        }
        // a large product goes through gemm and agrees to rounding
        let big = Array::ones(crate::DType::F32, &[64, 64]).unwrap();
        const { assert!(64 * 64 * 64 > PLAIN_MATMUL_MAX_WORK) };
        assert_eq!(
            big.matmul(&big, false, false)?.to_vec::<f32>()?,
            vec![64.0; 64 * 64]
        );
        Ok(())
    }

    #[test]
    fn one_row_matmul_of_any_size_sums_left_to_right() -> Result<()> {
        // beyond PLAIN_MATMUL_MAX_WORK, one row by a row-major op(b) is still plain; a
        // transposed b still goes through gemm (checked to rounding only)
        for (k, n) in [(300, 40), (64, 1000), (1000, 33), (2049, 1)] {
            assert!(k * n > PLAIN_MATMUL_MAX_WORK);
            let av = values(k);
            let bv: Vec<f32> = values(k * n + 5)[5..].to_vec();
            let expect: Vec<f32> = (0..n)
                .map(|j| (1..k).fold(av[0] * bv[j], |s, p| s + av[p] * bv[p * n + j]))
                .collect();
            let b = Array::from_vec(bv, &[k, n])?;
            let a = Array::from_vec(av.clone(), &[1, k])?;
            let at = Array::from_vec(av, &[k, 1])?;
            assert_eq!(
                a.matmul(&b, false, false)?.to_vec::<f32>()?,
                expect,
                "{k}x{n}"
            );
            assert_eq!(
                at.matmul(&b, true, false)?.to_vec::<f32>()?,
                expect,
                "{k}x{n}"
            );
            let gemm = a
                .matmul(&b.transpose(None)?, false, true)?
                .to_vec::<f32>()?;
            for (g, e) in gemm.iter().zip(&expect) {
                assert!((g - e).abs() <= 1e-3 * e.abs().max(1.0), "{g} vs {e}");
            }
            // an outer product of any size: each element one product, every transpose
            let x = Array::from_vec(values(k), &[k, 1])?;
            let outer: Vec<f32> = values(k)
                .iter()
                .flat_map(|&p| (0..n).map(move |j| p * (j as f32 - 0.5)))
                .collect();
            let y = Array::from_vec((0..n).map(|j| j as f32 - 0.5).collect(), &[1, n])?;
            assert_eq!(x.matmul(&y, false, false)?.to_vec::<f32>()?, outer);
            assert_eq!(
                x.transpose(None)?
                    .matmul(&y.transpose(None)?, true, true)?
                    .to_vec::<f32>()?,
                outer
            );
        }
        Ok(())
    }

    fn matmul_left_to_right(m: usize, k: usize, n: usize) -> Result<()> {
        let av = values(m * k);
        let bv: Vec<f32> = values(k * n + 11)[11..].to_vec();
        let expect: Vec<f32> = (0..m * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                let mut s = av[i * k] * bv[j];
                for p in 1..k {
                    s += av[i * k + p] * bv[p * n + j];
                }
                s
            })
            .collect();
        let a = Array::from_vec(av, &[m, k])?;
        let b = Array::from_vec(bv, &[k, n])?;
        let (at, bt) = (a.transpose(None)?, b.transpose(None)?);
        for (x, y, ta, tb) in [
            (&a, &b, false, false),
            (&at, &b, true, false),
            (&a, &bt, false, true),
            (&at, &bt, true, true),
        ] {
            let got = x.matmul(y, ta, tb)?;
            assert_eq!(got.shape(), &[m, n]);
            assert_eq!(
                got.to_vec::<f32>()?,
                expect,
                "transpose_a={ta} transpose_b={tb}"
            );
        }
        Ok(())
    }
}
