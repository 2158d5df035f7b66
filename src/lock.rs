//! Interior mutability for the global heap: the layer between the raw core and `GlobalAlloc`.
//!
//! - Single-threaded wasm has exactly one thread. [`HeapLock`] then guards the value with a
//!   plain busy flag and costs no atomic operation. That takes two conditions:
//!   `cfg(growheap_single_thread)`, which `build.rs` sets only for `wasm32-unknown-unknown`,
//!   `wasm32-wasip1`, `wasm32-wasip2`, `wasm32v1-none` and `wasm64-unknown-unknown` built without
//!   flags that could enable atomics; and no `cfg(target_feature = "atomics")`. The second alone
//!   would not do: stable rustc hides that unstable feature from `cfg`, even where it is on. It
//!   catches what the build script cannot see on nightly, which shows the feature: flags from
//!   `[profile] rustflags`, `cargo rustc --` or a `RUSTC_WRAPPER`.
//! - Everywhere else (`wasm32-wasip1-threads`, any build with atomics, native targets) a `spin`
//!   mutex guards it. The plain flag is not compiled there at all, so no build can take the
//!   single-thread shortcut where threads exist.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

/// A value behind the target's lock. See the [module docs](self).
pub struct HeapLock<T> {
    /// Reached only through a [`Locked`] (guarded) or `get_mut` (exclusive borrow).
    value: UnsafeCell<T>,
    guard: imp::Guard,
}

impl<T> HeapLock<T> {
    pub const fn new(value: T) -> Self {
        HeapLock { value: UnsafeCell::new(value), guard: imp::Guard::new() }
    }

    /// The value, through an exclusive borrow: no lock needed. Usable in `const` builders.
    pub const fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Take the guard: the value until the returned [`Locked`] drops. `None` when the guard is
    /// held by this same thread on single-threaded wasm (a re-entrant call, e.g. from a panic
    /// message being formatted inside the heap): that call gets no access rather than a second
    /// `&mut`.
    #[inline]
    pub fn lock(&self) -> Option<Locked<'_, T>> {
        self.guard.acquire().then_some(Locked { lock: self })
    }

    /// Run `f` on the value under the guard; `None` as for [`lock`](Self::lock).
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut locked = self.lock()?;
        Some(f(&mut locked))
    }
}

// SAFETY: every shared access to the value goes through the guard, which admits one holder at a
// time (see `imp::Guard`), so sharing a HeapLock only ever moves `T` between threads: T: Send
// suffices.
unsafe impl<T: Send> Sync for HeapLock<T> {}

/// The value of a [`HeapLock`] while its guard is held; dropping it releases the guard. One
/// pointer wide, so that a cold function can take it by value and release the guard itself.
pub struct Locked<'a, T> {
    lock: &'a HeapLock<T>,
}

impl<T> Deref for Locked<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this `Locked` holds the guard, so no other reference to the value exists but
        // the ones borrowed from it.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Locked<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the borrow of `self` is exclusive.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Locked<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this `Locked` was made with the guard acquired, and releases it once.
        unsafe { self.lock.guard.release() };
    }
}

#[cfg(all(growheap_single_thread, not(target_feature = "atomics")))]
mod imp {
    use core::cell::Cell;

    /// A busy flag: enough where only one thread exists.
    pub struct Guard {
        busy: Cell<bool>,
    }

    // SAFETY: compiled only for the single-threaded wasm targets that build.rs names, built
    // without atomics (neither in the flags build.rs sees nor in `cfg`), where a module cannot
    // start a second thread, so the flag is never reached from two threads.
    unsafe impl Sync for Guard {}

    impl Guard {
        pub const fn new() -> Self {
            Guard { busy: Cell::new(false) }
        }

        /// Whether the flag was free; it is set now.
        #[inline]
        pub fn acquire(&self) -> bool {
            !self.busy.replace(true)
        }

        /// # Safety
        /// The caller acquired the flag and has not released it since.
        #[inline]
        pub unsafe fn release(&self) {
            self.busy.set(false);
        }
    }
}

#[cfg(not(all(growheap_single_thread, not(target_feature = "atomics"))))]
mod imp {
    /// A spin lock, for targets that have threads.
    pub struct Guard(spin::Mutex<()>);

    impl Guard {
        pub const fn new() -> Self {
            Guard(spin::Mutex::new(()))
        }

        /// Always true: a re-entrant call deadlocks, as with any non-recursive lock.
        #[inline]
        pub fn acquire(&self) -> bool {
            // The lock stays taken until `release`.
            core::mem::forget(self.0.lock());
            true
        }

        /// # Safety
        /// The caller acquired the lock and has not released it since.
        #[inline]
        pub unsafe fn release(&self) {
            // SAFETY: the caller holds the lock, whose guard was forgotten in `acquire`.
            unsafe { self.0.force_unlock() };
        }
    }
}
