//! Two models trained at once on two threads, each moved there with its optimizer and back:
//!
//! ```python
//! # TensorFlow runs ops from several Python threads; each thread has its own tape:
//! def train(seed):
//!     tf.keras.utils.set_random_seed(seed)
//!     model = tf.keras.Sequential([tf.keras.layers.Dense(8, activation="tanh"), tf.keras.layers.Dense(1)])
//!     ...
//! threads = [threading.Thread(target=train, args=(s,)) for s in (1, 2)]
//! ```
//!
//! `cargo run --example two_threads`

use tapegrad::prelude::*;

fn model(seed: u64) -> tapegrad::Result<Sequential> {
    let mut m = Sequential::new();
    m.add(
        Dense::new(8)
            .activation("tanh")?
            .kernel_initializer(GlorotUniform::seeded(seed)),
    );
    m.add(Dense::new(1).kernel_initializer(GlorotUniform::seeded(seed + 100)));
    m.build(&[32, 2])?;
    Ok(m)
}

/// Fits `y = sin(x0) + x1` for `steps` steps; returns the model, its optimizer and the loss.
fn train(m: Sequential, mut opt: Adam, steps: usize) -> tapegrad::Result<(Sequential, Adam, f64)> {
    let x = Tensor::linspace(-1.0, 1.0, 64, DType::F32)?.reshape(&[32, 2])?;
    let x0 = x.slice(&[0, 0], &[-1, 1])?;
    let x1 = x.slice(&[0, 1], &[-1, 1])?;
    let y = (x0.sigmoid()? + x1)?;
    let mse = MeanSquaredError::new();
    let mut loss = f64::NAN;
    for _ in 0..steps {
        let tape = GradientTape::new();
        let l = mse.call(&y, &m.call(&x)?)?;
        let vars = m.trainable_variables();
        let vars: Vec<&Variable> = vars.iter().collect();
        opt.apply_gradients(&tape.gradients(&l, &vars)?)?;
        loss = l.item()?;
    }
    Ok((m, opt, loss))
}

pub fn main() -> tapegrad::Result<()> {
    let handles: Vec<_> = [1u64, 2]
        .into_iter()
        .map(|seed| {
            let (m, opt) = (model(seed), Adam::new(0.02));
            std::thread::spawn(move || train(m?, opt, 200))
        })
        .collect();
    let mut trained = Vec::new();
    for h in handles {
        trained.push(h.join().expect("the training thread panicked")?);
    }
    // the same two, one after the other on this thread: the same bits
    for (seed, (m, opt, loss)) in [1u64, 2].into_iter().zip(&trained) {
        let (again, _, loss_again) = train(model(seed)?, Adam::new(0.02), 200)?;
        let bits = |m: &Sequential| -> Vec<u32> {
            m.get_weights()
                .iter()
                .flat_map(|w| w.to_vec::<f32>().unwrap_or_default())
                .map(f32::to_bits)
                .collect()
        };
        assert_eq!(bits(m), bits(&again));
        assert_eq!(loss.to_bits(), loss_again.to_bits());
        println!(
            "seed {seed}: loss {loss:.5} after {} steps, on its thread and on this one",
            opt.iterations()
        );
    }
    Ok(())
}
