//! Benchmark support (the hand-fused floors live here).
