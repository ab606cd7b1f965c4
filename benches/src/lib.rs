//! Benchmark support: the workloads as users write them with tapegrad, and the floors — the
//! same steps as hand-fused Rust loops (gradient in one pass, no tape) — so that every figure
//! can be read as a ratio.

use tapegrad_autodiff::{abs, GradientTape, Result, Tensor, Variable};

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
        let tape = GradientTape::new();
        let y_test = ((&self.x * &self.a)? + &self.b)?;
        let loss = abs(&self.y - y_test)?;
        let grads = tape.gradient(&loss, &[&self.a, &self.b])?;
        for (v, g) in [&self.a, &self.b].into_iter().zip(grads) {
            if let Some(g) = g {
                v.assign_sub_scaled(1e-4, g.value())?;
            }
        }
        Ok(())
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
}
