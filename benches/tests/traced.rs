//! The traced steps the table times give the same bits as the eager steps: each documented
//! workload run both ways for 30 steps from the same start, every variable compared bit for
//! bit after each step, and the trace made once.

use tapegrad::optim::Sgd;
use tapegrad::prelude::{Tensor, Variable};
use tapegrad::Error;
use tapegrad_benches::{DenseNet, LinearMse, TwoWeights};

fn bits(variables: &[&Variable]) -> Vec<Vec<u32>> {
    variables
        .iter()
        .map(|v| {
            v.numpy::<f32>()
                .expect("f32 variable")
                .iter()
                .map(|x| x.to_bits())
                .collect()
        })
        .collect()
}

#[test]
fn two_weights_traced_is_eager_bit_for_bit() -> Result<(), Error> {
    let (eager, traced) = (TwoWeights::new()?, TwoWeights::new()?);
    let mut step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(traced.step_loss()?));
    for i in 0..30 {
        eager.step()?;
        step.call(&mut (), &[])?;
        assert_eq!(
            bits(&[&eager.a, &eager.b]),
            bits(&[&traced.a, &traced.b]),
            "step {i}"
        );
    }
    assert_eq!(step.traces(), 1);
    assert!(!step.is_eager(), "{:?}", step.notes());
    Ok(())
}

#[test]
fn linear_workloads_traced_are_eager_bit_for_bit() -> Result<(), Error> {
    type Make = fn() -> tapegrad::autodiff::Result<LinearMse>;
    let makes: [Make; 3] = [
        LinearMse::scratch_regression,
        LinearMse::tape_regression,
        LinearMse::custom_training,
    ];
    for make in makes {
        let (eager, traced) = (make()?, make()?);
        let mut step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(traced.step_loss()?));
        for i in 0..30 {
            eager.step()?;
            step.call(&mut (), &[])?;
            assert_eq!(
                bits(&[&eager.w, &eager.b]),
                bits(&[&traced.w, &traced.b]),
                "step {i}"
            );
        }
        assert_eq!(step.traces(), 1);
        assert!(!step.is_eager(), "{:?}", step.notes());
    }
    Ok(())
}

#[test]
fn dense_workloads_traced_are_eager_bit_for_bit() -> Result<(), Box<dyn std::error::Error>> {
    type Make = fn() -> Result<DenseNet, Box<dyn std::error::Error>>;
    let makes: [Make; 3] = [
        DenseNet::dense_sgd,
        DenseNet::dense_minibatch,
        DenseNet::mlp,
    ];
    for make in makes {
        let (mut eager, traced) = (make()?, make()?);
        let mut sgd = Sgd::new(traced.learning_rate());
        let mut step = tapegrad::function(|opt: &mut Sgd, _: &[Tensor]| {
            traced
                .step_with(opt)
                .map_err(|e| Error::Function(e.to_string()))
        });
        for i in 0..30 {
            eager.step()?;
            step.call(&mut sgd, &[])?;
            let e: Vec<&Variable> = eager.variables().iter().collect();
            let t: Vec<&Variable> = traced.variables().iter().collect();
            assert_eq!(bits(&e), bits(&t), "step {i}");
        }
        assert_eq!(step.traces(), 1);
        assert!(!step.is_eager(), "{:?}", step.notes());
    }
    Ok(())
}
