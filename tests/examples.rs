//! The user programs of `examples/` run as tests: each is compiled into this file as a module
//! and its `main` called, so an example that stops working fails `cargo test`.

#[path = "../examples/csv_fit.rs"]
mod csv_fit;
#[path = "../examples/custom_layer.rs"]
mod custom_layer;
#[path = "../examples/keras_loop.rs"]
mod keras_loop;
#[path = "../examples/linear_fit.rs"]
mod linear_fit;
#[path = "../examples/nested_tapes.rs"]
mod nested_tapes;
#[path = "../examples/two_layer_network.rs"]
mod two_layer_network;
#[path = "../examples/two_threads.rs"]
mod two_threads;

#[test]
fn linear_fit() -> tapegrad::Result<()> {
    linear_fit::main()
}

#[test]
fn two_layer_network() -> tapegrad::Result<()> {
    two_layer_network::main()
}

#[test]
fn custom_layer() -> tapegrad::Result<()> {
    custom_layer::main()
}

#[test]
fn nested_tapes() -> tapegrad::Result<()> {
    nested_tapes::main()
}

#[test]
fn csv_fit() -> tapegrad::Result<()> {
    csv_fit::main()
}

#[test]
fn two_threads() -> tapegrad::Result<()> {
    two_threads::main()
}

#[test]
fn keras_loop() -> tapegrad::Result<()> {
    keras_loop::main()
}
