//! An optimizer's state in Keras 3's order (`optimizer.variables`): the iteration count
//! (int64), the learning rate when it is a constant (float32), then the slots, grouped as
//! Keras's `build` creates them.
//!
//! Keras makes the slots with one `add_optimizer_variables(var_list, names)` call per group:
//! the slots of one call interleave variable by variable, the calls follow one another. So
//! Adam's are `m, v` of the first variable, `m, v` of the second, ... (then every `vhat` with
//! AMSGrad); RMSprop's every `velocity`, then every `momentum`, then every `average_gradient`.
//! tapegrad keeps them variable by variable; [`keras_order`] maps one order to the other.
//! What an optimizer keeps beside its slots (Nadam's `u_product`) comes last, as Keras's
//! `build` makes it last.

use std::path::Path;

use tapegrad_autodiff::{DType, Tensor};
use tapegrad_optim::{Optimizer, OptimizerState};

use crate::entries::{Stored, Values};
use crate::error::{Error, Result};

/// Whether Keras creates slot `name` in the same call as the slot before it (`prev`).
fn same_call(prev: &str, name: &str) -> bool {
    matches!(
        (prev, name),
        ("m", "v") | ("m", "u") | ("accumulated_grad", "accumulated_delta_var")
    )
}

/// The positions of `slots` (tapegrad's order, `slot/variable` names) in Keras's order.
pub(crate) fn keras_order(slots: &[(String, Tensor)]) -> Vec<usize> {
    // each variable's slots, in tapegrad's order: runs of one variable name
    let mut per_var: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, (name, _)) in slots.iter().enumerate() {
        let var = name.split_once('/').map_or("", |(_, v)| v);
        match per_var.last_mut() {
            Some((v, idx)) if *v == var => idx.push(i),
            _ => per_var.push((var, vec![i])),
        }
    }
    let slot_name = |i: usize| slots[i].0.split_once('/').map_or("", |(s, _)| s);
    // the calls, as ranges of slot positions within a variable
    let mut calls: Vec<std::ops::Range<usize>> = Vec::new();
    if let Some((_, first)) = per_var.first() {
        for k in 0..first.len() {
            match calls.last_mut() {
                Some(r) if same_call(slot_name(first[k - 1]), slot_name(first[k])) => r.end = k + 1,
                _ => calls.push(k..k + 1),
            }
        }
    }
    let mut order = Vec::with_capacity(slots.len());
    for call in &calls {
        for (_, idx) in &per_var {
            order.extend(call.clone().filter_map(|k| idx.get(k).copied()));
        }
    }
    // variables with another slot count than the first (none in tapegrad's optimizers) last
    for i in 0..slots.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}

/// Keras's name of an optimizer (`adam`, `sgd`), the `name` of its `vars` group.
pub(crate) fn keras_name(optimizer: &dyn Optimizer) -> String {
    optimizer.name().to_lowercase()
}

fn opt_err(path: &Path, optimizer: &dyn Optimizer, message: String) -> Error {
    Error::Optimizer {
        path: path.to_path_buf(),
        optimizer: optimizer.name().to_string(),
        message,
    }
}

/// The optimizer's variables as Keras 3 saves them: `(index, values)` for `optimizer/vars/<index>`.
pub(crate) fn to_values(path: &Path, optimizer: &dyn Optimizer) -> Result<Vec<Values>> {
    let state = optimizer.state();
    let iterations = i64::try_from(state.iterations).map_err(|_| {
        opt_err(
            path,
            optimizer,
            "more iterations than an int64 holds".into(),
        )
    })?;
    let mut out = vec![Values::I64(iterations)];
    if let Some(lr) = state.learning_rate {
        out.push(Values::Tensor(Tensor::scalar(lr)));
    }
    for i in keras_order(&state.slots) {
        out.push(Values::Tensor(state.slots[i].1.clone()));
    }
    // what Keras's build adds after the slots (Nadam's u_product)
    out.extend(state.extra.iter().map(|(_, t)| Values::Tensor(t.clone())));
    Ok(out)
}

fn describe(r: &Stored) -> String {
    match r {
        Stored::Tensor(t) => format!(
            "{} {:?}",
            match t.dtype() {
                DType::F32 => "float32",
                DType::F64 => "float64",
            },
            t.shape()
        ),
        Stored::Unsupported { dtype, shape } => format!("{dtype} {shape:?}"),
        Stored::Unread { dtype, shape } => format!("{dtype} {shape:?}"),
        Stored::I64(shape, _) => format!("int64 {shape:?}"),
    }
}

/// The state `stored` (`optimizer/vars/<i>` in order, each with its name in the file) holds for an optimizer built on the
/// model's variables, every count, shape and dtype checked; nothing is assigned here.
pub(crate) fn from_values(
    path: &Path,
    optimizer: &dyn Optimizer,
    group: &str,
    stored: Vec<(String, Stored)>,
) -> Result<OptimizerState> {
    let ours = optimizer.state();
    let lead = 1 + usize::from(ours.learning_rate.is_some());
    let expected = lead + ours.slots.len() + ours.extra.len();
    if stored.len() != expected {
        return Err(opt_err(
            path,
            optimizer,
            format!(
                "{group} holds {} variables, the optimizer has {expected} (iteration, {}{} slots for the model's trainable variables{})",
                stored.len(),
                if ours.learning_rate.is_some() { "learning_rate, " } else { "" },
                ours.slots.len(),
                ours.extra.iter().map(|(n, _)| format!(", {n}")).collect::<String>()
            ),
        ));
    }
    let (labels, stored): (Vec<String>, Vec<Stored>) = stored.into_iter().unzip();
    let at = |i: usize| labels[i].clone();
    let iterations = match &stored[0] {
        Stored::I64(shape, v) if shape.is_empty() && v.len() == 1 && v[0] >= 0 => v[0] as u64,
        other => {
            return Err(opt_err(
                path,
                optimizer,
                format!(
                    "{} (iteration) must be an int64 scalar ≥ 0, is {}",
                    at(0),
                    describe(other)
                ),
            ))
        }
    };
    let learning_rate = match ours.learning_rate {
        None => None,
        Some(_) => match &stored[1] {
            Stored::Tensor(t) if t.shape().is_empty() && t.dtype() == DType::F32 => {
                Some(t.item().unwrap_or(0.0) as f32)
            }
            other => {
                return Err(opt_err(
                    path,
                    optimizer,
                    format!(
                        "{} (learning_rate) must be a float32 scalar, is {}",
                        at(1),
                        describe(other)
                    ),
                ))
            }
        },
    };
    // the slots in Keras's order, then the extra values: positions lead.. of the file
    let order = keras_order(&ours.slots);
    let wanted = order
        .iter()
        .map(|&i| (true, i, &ours.slots[i]))
        .chain(ours.extra.iter().enumerate().map(|(j, e)| (false, j, e)));
    let (mut slots, mut extra) = (ours.slots.clone(), ours.extra.clone());
    for (k, (is_slot, i, (name, mine))) in wanted.enumerate() {
        let k = lead + k;
        match &stored[k] {
            Stored::Tensor(t) if t.shape() == mine.shape() && t.dtype() == mine.dtype() => {
                let target = if is_slot {
                    &mut slots[i]
                } else {
                    &mut extra[i]
                };
                target.1 = t.clone();
            }
            other => {
                return Err(opt_err(
                    path,
                    optimizer,
                    format!(
                        "{} (`{name}`) is {} in the file, the optimizer's {}",
                        at(k),
                        describe(other),
                        describe(&Stored::Tensor(mine.clone()))
                    ),
                ))
            }
        }
    }
    Ok(OptimizerState {
        iterations,
        learning_rate,
        slots,
        extra,
    })
}

/// Where `.safetensors` and `.npz` files keep an optimizer's state: `optimizer/iteration`,
/// `optimizer/learning_rate`, `optimizer/<slot>/<variable>` (`optimizer/m/dense/kernel`).
pub(crate) const FLAT_PREFIX: &str = "optimizer/";

fn flat_names(state: &OptimizerState) -> Vec<String> {
    let mut names = vec![format!("{FLAT_PREFIX}iteration")];
    if state.learning_rate.is_some() {
        names.push(format!("{FLAT_PREFIX}learning_rate"));
    }
    names.extend(state.slots.iter().map(|(n, _)| format!("{FLAT_PREFIX}{n}")));
    names.extend(state.extra.iter().map(|(n, _)| format!("{FLAT_PREFIX}{n}")));
    names
}

/// The optimizer's state as named arrays of a flat file.
pub(crate) fn to_flat(path: &Path, optimizer: &dyn Optimizer) -> Result<Vec<(String, Values)>> {
    let values = to_values(path, optimizer)?;
    let state = optimizer.state();
    // to_values gives Keras's order; the names follow tapegrad's, so put the slots back
    let lead = 1 + usize::from(state.learning_rate.is_some());
    let order = keras_order(&state.slots);
    let mut ordered: Vec<Option<Values>> = vec![None; values.len()];
    for (j, v) in values.into_iter().enumerate() {
        let i = match j.checked_sub(lead) {
            Some(k) if k < order.len() => lead + order[k],
            _ => j,
        };
        ordered[i] = Some(v);
    }
    Ok(flat_names(&state)
        .into_iter()
        .zip(ordered.into_iter().flatten())
        .collect())
}

/// The optimizer's state from a flat file's `optimizer/...` arrays: each name the optimizer
/// needs must be there, and no other.
pub(crate) fn from_flat(
    path: &Path,
    optimizer: &dyn Optimizer,
    stored: Vec<(String, Stored)>,
) -> Result<OptimizerState> {
    let state = optimizer.state();
    let mut by_name: std::collections::HashMap<String, Stored> = stored.into_iter().collect();
    if by_name.is_empty() {
        return Err(opt_err(
            path,
            optimizer,
            format!("the file has no optimizer state (no `{FLAT_PREFIX}iteration`)"),
        ));
    }
    let names = flat_names(&state);
    let lead = 1 + usize::from(state.learning_rate.is_some());
    // from_values reads Keras's order
    let order = keras_order(&state.slots);
    let keras_names = names[..lead]
        .iter()
        .cloned()
        .chain(order.iter().map(|&i| names[lead + i].clone()))
        .chain(names[lead + order.len()..].iter().cloned());
    let mut positional = Vec::with_capacity(names.len());
    for name in keras_names {
        let value = by_name
            .remove(&name)
            .ok_or_else(|| opt_err(path, optimizer, format!("`{name}` is not in the file")))?;
        positional.push((name, value));
    }
    if let Some(extra) = by_name.keys().min() {
        return Err(opt_err(
            path,
            optimizer,
            format!("`{extra}` is in the file but the optimizer has no such variable"),
        ));
    }
    from_values(
        path,
        optimizer,
        FLAT_PREFIX.trim_end_matches('/'),
        positional,
    )
}
