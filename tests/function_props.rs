//! Random programs, traced and eager, give the same bits: after a prefix that uses every
//! variable, a chain of elementwise functions,
//! broadcast binary ops against variables of several shapes, reductions over random axes and
//! a matmul, its mean the loss, SGD or Adam on every variable; one copy of the variables run
//! eagerly, another through `tapegrad::function`, for three steps, every variable and the
//! loss compared bit for bit after each.

use proptest::prelude::*;
use tapegrad::prelude::*;

/// One op of a program, applied to the running value `h` of shape `(rows, cols)` or reduced.
#[derive(Debug, Clone)]
enum Step {
    Unary(usize),
    /// `h ⊙ v` with `v` the variable of the given kind: 0 a scalar, 1 a row `(cols,)`,
    /// 2 a column `(rows, 1)`, 3 the full shape.
    Binary(usize, usize),
    /// `h @ k` with `k` `(cols, cols)`, keeping the shape.
    Matmul,
    /// A reduction over axis 0 or 1 with keepdims (the shape broadcasts back in later ops).
    Reduce(usize, usize),
}

fn unary(i: usize, h: &Tensor) -> Result<Tensor> {
    Ok(match i % 6 {
        0 => square(h)?,
        1 => tanh(h)?,
        2 => sigmoid(h)?,
        3 => relu(h)?,
        4 => abs(h)?,
        _ => softplus(h)?,
    })
}

fn binary(i: usize, h: &Tensor, v: &Variable) -> Result<Tensor> {
    Ok(match i % 4 {
        0 => (h + v)?,
        1 => (h - v)?,
        2 => (h * v)?,
        _ => maximum(h, v)?,
    })
}

#[derive(Debug, Clone)]
struct Program {
    rows: usize,
    cols: usize,
    steps: Vec<Step>,
    values: Vec<Vec<f32>>,
}

impl Program {
    /// The variables: scalar, row, column, full, and the matmul's kernel.
    fn variables(&self) -> Vec<Variable> {
        let (r, c) = (self.rows, self.cols);
        let shapes: [&[usize]; 5] = [&[], &[c], &[r, 1], &[r, c], &[c, c]];
        shapes
            .iter()
            .zip(&self.values)
            .map(|(shape, v)| {
                let n: usize = shape.iter().product();
                Variable::new(Tensor::from_vec(v[..n].to_vec(), shape).expect("shape"))
            })
            .collect()
    }

    fn loss(&self, x: &Tensor, vars: &[Variable]) -> Result<Tensor> {
        // every variable takes part: `((x ⊙ full + row) @ kernel) ⊙ column + scalar`
        let mut h = ((matmul(((x * &vars[3])? + &vars[1])?, &vars[4])? * &vars[2])? + &vars[0])?;
        for step in &self.steps {
            h = match *step {
                Step::Unary(i) => unary(i, &h)?,
                Step::Binary(i, kind) => binary(i, &h, &vars[kind])?,
                Step::Matmul => matmul(&h, &vars[4])?,
                Step::Reduce(op, axis) => {
                    let axes = [axis as isize];
                    let reduced = if op % 2 == 0 {
                        reduce_sum(&h, Some(&axes), true)?
                    } else {
                        reduce_mean(&h, Some(&axes), true)?
                    };
                    // back to (rows, cols), so that every later op applies
                    (&h - reduced)?
                }
            };
        }
        Ok(reduce_mean(&h, None, false)?)
    }
}

fn program() -> impl Strategy<Value = Program> {
    (1usize..5, 1usize..6).prop_flat_map(|(rows, cols)| {
        let step = prop_oneof![
            (0usize..6).prop_map(Step::Unary),
            (0usize..4, 0usize..4).prop_map(|(i, k)| Step::Binary(i, k)),
            Just(Step::Matmul),
            (0usize..2, 0usize..2).prop_map(|(o, a)| Step::Reduce(o, a)),
        ];
        let n = rows.max(cols) * cols.max(rows);
        (
            proptest::collection::vec(step, 1..10),
            proptest::collection::vec(proptest::collection::vec(-1.5f32..1.5, n), 5),
        )
            .prop_map(move |(steps, values)| Program {
                rows,
                cols,
                steps,
                values,
            })
    })
}

fn bits(vars: &[Variable]) -> Vec<Vec<u32>> {
    vars.iter()
        .map(|v| {
            v.numpy::<f32>()
                .expect("f32")
                .iter()
                .map(|x| x.to_bits())
                .collect()
        })
        .collect()
}

fn run<O: tapegrad::StepOptimizer + Optimizer>(
    p: &Program,
    x: &Tensor,
    mut eager_opt: O,
    mut traced_opt: O,
) -> std::result::Result<(), TestCaseError> {
    let (eager, traced) = (p.variables(), p.variables());
    let mut step = tapegrad::function(|opt: &mut O, inputs: &[Tensor]| {
        let tape = GradientTape::new();
        let loss = p.loss(&inputs[0], &traced)?;
        let refs: Vec<&Variable> = traced.iter().collect();
        let grads = tape.gradient(&loss, &refs)?;
        opt.apply_gradients(grads.into_iter().zip(&traced))?;
        Ok(loss)
    });
    for i in 0..3 {
        let mut eager_step = || -> Result<Tensor> {
            let tape = GradientTape::new();
            let loss = p.loss(x, &eager)?;
            let refs: Vec<&Variable> = eager.iter().collect();
            let grads = tape.gradient(&loss, &refs)?;
            eager_opt.apply_gradients(grads.into_iter().zip(&eager))?;
            Ok(loss)
        };
        let eager_loss = eager_step();
        let traced_loss = step.call(&mut traced_opt, std::slice::from_ref(x));
        let (eager_loss, traced_loss) = match (eager_loss, traced_loss) {
            (Ok(e), Ok(t)) => (e, t),
            // a gradient that overflowed: the optimizer refuses it both ways (the replay's
            // error names the node too)
            (Err(e), Err(t)) => {
                prop_assert!(t.to_string().ends_with(&e.to_string()), "{} / {}", e, t);
                return Ok(());
            }
            (e, t) => {
                return Err(TestCaseError::fail(format!(
                    "step {i}: eager {:?}, traced {:?}",
                    e.map(|_| ()),
                    t.map(|_| ())
                )))
            }
        };
        prop_assert_eq!(
            eager_loss.item().expect("loss").to_bits(),
            traced_loss.item().expect("loss").to_bits(),
            "loss at step {}",
            i
        );
        prop_assert_eq!(bits(&eager), bits(&traced), "variables after step {}", i);
    }
    prop_assert_eq!(step.traces(), 1);
    prop_assert!(!step.is_eager(), "{:?}", step.notes());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_programs_replay_bit_for_bit_with_sgd(p in program(), seed in 0u32..1000) {
        let n = p.rows * p.cols;
        let x: Vec<f32> = (0..n).map(|i| ((i as u32 * 7919 + seed) % 200) as f32 / 100.0 - 1.0).collect();
        let x = Tensor::from_vec(x, &[p.rows, p.cols]).expect("shape");
        run(&p, &x, Sgd::new(0.05), Sgd::new(0.05))?;
    }

    #[test]
    fn random_programs_replay_bit_for_bit_with_adam(p in program()) {
        let n = p.rows * p.cols;
        let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let x = Tensor::from_vec(x, &[p.rows, p.cols]).expect("shape");
        run(&p, &x, Adam::new(0.01), Adam::new(0.01))?;
    }
}
