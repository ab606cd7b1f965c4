//! One million steps of `two-weights` do not grow the resident set (issue 6's memory target).
//!
//! The resident set is read from `/proc/self/status` after 10 000 warm-up steps and again after
//! 1 000 000 more. Any leak grows it by at least 32 MB (the smallest heap block glibc hands
//! out is 32 bytes); the bound, 4 MiB, leaves room for the allocator's bookkeeping and for a
//! transparent huge page (2 MiB) that the kernel may map in meanwhile. This test is its own
//! binary so that no other test's threads allocate meanwhile. Linux only (elsewhere there is
//! no `/proc` to read): the test is not compiled there.

#![cfg(target_os = "linux")]

use tapegrad_benches::TwoWeights;

/// Resident set size in bytes: `VmRSS` of `/proc/self/status`, which the kernel gives in kB.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS line in /proc/self/status"));
    kb * 1024
}

#[test]
fn a_million_two_weights_steps_do_not_grow_the_resident_set() {
    let model = TwoWeights::new().expect("data");
    for _ in 0..10_000 {
        model.step().expect("step");
    }
    let before = resident_bytes();
    for _ in 0..1_000_000 {
        model.step().expect("step");
    }
    let after = resident_bytes();
    let growth = after.saturating_sub(before);
    println!("resident set: {before} bytes after 10 000 steps, {after} after 1 010 000");
    assert!(
        growth <= 4 << 20,
        "the resident set grew by {growth} bytes over 1 000 000 steps ({before} -> {after})"
    );
}
