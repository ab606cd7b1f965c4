//! [`ValueCell`]: the lock around a [`Variable`](crate::Variable)'s value.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A value behind a flag, for sections of a few instructions (a reference count, an in-place
/// update): taking it is one atomic exchange, giving it back one release store. `std`'s mutex
/// gives it back with a second atomic exchange (to wake sleepers), which a training step pays
/// for on every variable read and update. A taker that finds it held spins, then yields.
///
/// A panic while it is held gives it back (the guard's drop runs): the value is whatever the
/// interrupted update left, as with a `RefCell`.
pub(crate) struct ValueCell<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a `ValueGuard`, and at most one guard exists at a
// time (`lock` sets `held` with acquire ordering and the guard clears it with release), so the
// cell hands out exclusive access to one thread at a time, as a mutex does.
unsafe impl<T: Send> Sync for ValueCell<T> {}

impl<T> ValueCell<T> {
    pub(crate) fn new(value: T) -> Self {
        ValueCell {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Exclusive access until the guard drops.
    #[inline]
    pub(crate) fn lock(&self) -> ValueGuard<'_, T> {
        if self.held.swap(true, Ordering::Acquire) {
            self.wait();
        }
        ValueGuard { cell: self }
    }

    #[cold]
    fn wait(&self) {
        let mut spins = 0u32;
        loop {
            if !self.held.load(Ordering::Relaxed) && !self.held.swap(true, Ordering::Acquire) {
                return;
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Access to a [`ValueCell`]'s value; dropping it gives the cell back.
pub(crate) struct ValueGuard<'a, T> {
    cell: &'a ValueCell<T>,
}

impl<T> Deref for ValueGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (see `ValueCell`'s `Sync`).
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for ValueGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one, and `&mut self` borrows it exclusively.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for ValueGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.cell.held.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn threads_taking_turns_lose_no_update() {
        let cell = Arc::new(ValueCell::new(0u64));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let cell = Arc::clone(&cell);
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        *cell.lock() += 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("no panic");
        }
        assert_eq!(*cell.lock(), 80_000);
    }

    #[test]
    fn a_panic_while_held_gives_the_cell_back() {
        let cell = ValueCell::new(1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut g = cell.lock();
            *g = 2;
            panic!("inside");
        }));
        assert!(r.is_err());
        assert_eq!(*cell.lock(), 2);
    }
}
