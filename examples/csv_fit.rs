//! A fit read from a CSV file, as with pandas:
//!
//! ```python
//! df = pd.read_csv("houses.csv")
//! X = df[["area", "rooms"]].to_numpy(np.float32); y = df[["price"]].to_numpy(np.float32)
//! model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
//! ... a GradientTape loop over the whole file ...
//! ```
//!
//! `cargo run --example csv_fit` (it writes the file it reads to the temporary directory).

use tapegrad::datasets::io::{read_csv_with_targets, write_csv};
use tapegrad::datasets::Dataset;
use tapegrad::prelude::*;

pub fn main() -> tapegrad::Result<()> {
    // a file to read: price = 3·area + 10·rooms + 5 (+ noise)
    let mut rng = RandomState::new(1);
    let area = rng.uniform(0.5, 2.0, 50)?;
    let rooms = rng.randint(1, 5, 50)?.mapv(|r| r as f64);
    let price = &area * 3.0 + &rooms * 10.0 + 5.0 + rng.normal(0.0, 0.01, 50)?;
    let table = Dataset::from_columns(vec![("area", area), ("rooms", rooms), ("price", price)])?;
    let path = std::env::temp_dir().join(format!("tapegrad-csv-fit-{}.csv", std::process::id()));
    write_csv(&path, &table)?;

    let df = read_csv_with_targets(&path, &["price"])?;
    std::fs::remove_file(&path).ok();
    println!("{}", df.head(3));
    let x = Tensor::from_array(df.features()).cast(DType::F32)?;
    let y = Tensor::from_array(df.targets()).cast(DType::F32)?;
    let mut model = Sequential::new();
    model.add(Dense::new(1));
    model.build(&[df.nrows(), 2])?;
    let mut opt = Adam::new(0.5);
    let mse = MeanSquaredError::new();
    let mut loss = 0.0;
    for _ in 0..1500 {
        let tape = GradientTape::new();
        let l = mse.call(&y, &model.call(&x)?)?;
        let vars = model.trainable_variables();
        let vars: Vec<&Variable> = vars.iter().collect();
        opt.apply_gradients(&tape.gradients(&l, &vars)?)?;
        loss = l.item()?;
    }
    println!("loss {loss:.4}; kernel and bias {:?}", model.get_weights());
    assert!(loss < 0.05, "{loss}");
    Ok(())
}
