//! Models, optimizers and data cross threads: the types are `Send` (and `Sync` where shared
//! reading is safe), and two models trained on two threads end bit for bit where the same two
//! trained one after the other end.

use tapegrad::datasets::sklearn::MakeRegression;
use tapegrad::datasets::{Dataset, RandomState};
use tapegrad::nn::initializers::{GlorotUniform, Zeros};
use tapegrad::nn::losses::{Loss, MeanSquaredError};
use tapegrad::optim::{Adam, CosineDecay, ExponentialDecay, LearningRate, OptimizerExt, Sgd};
use tapegrad::prelude::*;

fn send<T: Send>() {}
fn sync<T: Sync>() {}

#[test]
fn the_types_that_train_are_send_and_sync() {
    send::<Tensor>();
    sync::<Tensor>();
    send::<Variable>();
    sync::<Variable>();
    send::<Dense>();
    sync::<Dense>();
    send::<Sequential>();
    sync::<Sequential>();
    send::<Box<dyn Layer>>();
    send::<Sgd>();
    send::<Adam>();
    send::<Box<dyn tapegrad::optim::Optimizer>>();
    send::<LearningRate>();
    sync::<LearningRate>();
    send::<ExponentialDecay>();
    send::<CosineDecay>();
    send::<MeanSquaredError>();
    send::<Box<dyn Loss>>();
    send::<Dataset>();
    sync::<Dataset>();
    send::<RandomState>();
    send::<Gradients>();
    send::<tapegrad::Error>();
    sync::<tapegrad::Error>();
}

/// A two-layer network on `make_regression`, built from `seed`, trained `steps` full-batch
/// steps; returns the model and its optimizer (both moved back out of the thread they ran on).
fn train(seed: u64, steps: usize) -> tapegrad::Result<(Sequential, Adam, Vec<f32>)> {
    let data = MakeRegression {
        n_samples: 64,
        n_features: 4,
        noise: 0.5,
        random_state: Some(seed as u32),
        ..MakeRegression::default()
    }
    .generate()?;
    let x = Tensor::from_array(data.x.mapv(|v| v as f32));
    let y = Tensor::from_array(data.y.mapv(|v| v as f32)).reshape(&[-1, 1])?;
    let mut model = Sequential::new();
    model.add(
        Dense::new(8)
            .activation("tanh")?
            .kernel_initializer(GlorotUniform::seeded(seed))
            .bias_initializer(Zeros),
    );
    model.add(Dense::new(1).kernel_initializer(GlorotUniform::seeded(seed + 1)));
    model.build(&[64, 4])?;
    let mut opt = Adam::new(ExponentialDecay::new(0.01, 10, 0.9)?);
    let loss_fn = MeanSquaredError::new();
    let mut losses = Vec::new();
    for _ in 0..steps {
        let tape = GradientTape::new();
        let loss = loss_fn.call(&y, &model.apply(&x)?)?;
        let vars = model.trainable_variables();
        let refs: Vec<&Variable> = vars.iter().collect();
        opt.apply_gradients(&tape.gradients(&loss, &refs)?)?;
        losses.push(loss.item()? as f32);
    }
    Ok((model, opt, losses))
}

fn bits(model: &Sequential) -> Vec<u32> {
    model
        .get_weights()
        .iter()
        .flat_map(|w| w.to_vec::<f32>().expect("float32"))
        .map(f32::to_bits)
        .collect()
}

#[test]
fn two_models_on_two_threads_train_as_they_do_one_after_the_other() -> tapegrad::Result<()> {
    let (m1, o1, l1) = train(1, 40)?;
    let (m2, o2, l2) = train(2, 40)?;
    let t1 = std::thread::spawn(|| train(1, 40));
    let t2 = std::thread::spawn(|| train(2, 40));
    let (n1, p1, k1) = t1.join().expect("no panic")?;
    let (n2, p2, k2) = t2.join().expect("no panic")?;
    assert_eq!(bits(&m1), bits(&n1));
    assert_eq!(bits(&m2), bits(&n2));
    assert_eq!((l1, l2), (k1, k2));
    assert_ne!(
        bits(&m1),
        bits(&m2),
        "different seeds train different models"
    );
    assert_eq!((o1.iterations(), o2.iterations()), (40, 40));
    assert_eq!((p1.iterations(), p2.iterations()), (40, 40));
    Ok(())
}

#[test]
fn a_model_and_its_optimizer_go_to_a_thread_train_there_and_come_back() -> tapegrad::Result<()> {
    let (model, opt, losses) = train(3, 10)?;
    let (mut model, mut opt) = std::thread::spawn(move || -> tapegrad::Result<_> {
        let (mut m, mut o) = (model, opt);
        let x = Tensor::ones(DType::F32, &[64, 4])?;
        for _ in 0..5 {
            let tape = GradientTape::new();
            let loss = reduce_mean(square(m.apply(&x)?)?, None, false)?;
            let vars = m.trainable_variables();
            let refs: Vec<&Variable> = vars.iter().collect();
            o.apply_gradients(&tape.gradients(&loss, &refs)?)?;
        }
        Ok((m, o))
    })
    .join()
    .expect("no panic")?;
    assert_eq!(opt.iterations(), 15);
    // it goes on training where it is
    let tape = GradientTape::new();
    let loss = reduce_mean(
        square(model.apply(&Tensor::ones(DType::F32, &[1, 4])?)?)?,
        None,
        false,
    )?;
    let vars = model.trainable_variables();
    let refs: Vec<&Variable> = vars.iter().collect();
    opt.apply_gradients(&tape.gradients(&loss, &refs)?)?;
    assert_eq!(opt.iterations(), 16);
    assert!(losses[9] < losses[0]);
    Ok(())
}

#[test]
fn a_variable_read_from_several_threads_at_once() {
    let v = Variable::new(Tensor::full(DType::F32, &[100], 1.0).unwrap());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    assert_eq!(v.snapshot().sum().unwrap().item().unwrap(), 100.0);
                }
            });
        }
    });
}
