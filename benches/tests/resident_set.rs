//! One million steps of `two-weights` do not grow the resident set (issue 6's memory target).
//!
//! The resident set is read from `/proc/self/statm` after 10 000 warm-up steps and again after
//! 1 000 000 more. Any leak grows it by at least 32 MB (the smallest heap block glibc hands
//! out is 32 bytes); the bound, 4 MiB, leaves room for the allocator's bookkeeping and for a
//! transparent huge page (2 MiB) that the kernel may map in meanwhile. This test is its own
//! binary so that no other test's threads allocate meanwhile. Linux on 64-bit targets only
//! (elsewhere there is no `/proc` to read, and `/proc/self/auxv` has other word sizes): the
//! test is not compiled there.

#![cfg(all(target_os = "linux", target_pointer_width = "64"))]

use tapegrad_benches::TwoWeights;

/// Resident set size in bytes (`/proc/self/statm`, second field, in pages).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| panic!("no resident field in /proc/self/statm: {statm:?}"));
    pages * page_size()
}

/// The page size, from the auxiliary vector's `AT_PAGESZ` (6); 4 KiB if it cannot be read.
fn page_size() -> u64 {
    let Ok(auxv) = std::fs::read("/proc/self/auxv") else {
        return 4096;
    };
    auxv.chunks_exact(16)
        .map(|kv| {
            let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().expect("8 bytes"));
            (word(&kv[..8]), word(&kv[8..]))
        })
        .find(|&(key, _)| key == 6)
        .map_or(4096, |(_, value)| value)
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
