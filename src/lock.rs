//! Interior mutability for the global heap: the layer between the raw core and `GlobalAlloc`.
//!
//! - Single-threaded wasm (`cfg(growheap_single_thread)`, set by `build.rs` only for
//!   `wasm32-unknown-unknown`, `wasm32-wasip1`, `wasm32-wasip2`, `wasm32v1-none` and
//!   `wasm64-unknown-unknown` built without flags that could enable atomics) has exactly one
//!   thread. [`HeapLock`] then guards the value with a plain busy flag and costs no atomic
//!   operation.
//! - Everywhere else (`wasm32-wasip1-threads`, any build with atomics, native targets) a `spin`
//!   mutex guards it. The plain flag is not compiled there at all, so no build can take the
//!   single-thread shortcut where threads exist. `cfg(target_feature = "atomics")` is not used
//!   for this: stable rustc hides that unstable feature from `cfg`, even where it is on.

use core::cell::UnsafeCell;

/// A value behind the target's lock. See the [module docs](self).
pub struct HeapLock<T> {
    /// Reached only through `with` (guarded) or `get_mut` (exclusive borrow).
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

    /// Run `f` on the value under the guard. `None` when the guard is held by this same thread
    /// on single-threaded wasm (a re-entrant call, e.g. from a panic message being formatted
    /// inside the heap): that call gets no access rather than a second `&mut`.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let _held = self.guard.acquire()?;
        // SAFETY: the guard is held until `_held` drops after `f` returns, and every access to
        // `value` through a shared `HeapLock` goes through the guard, so this is the only
        // reference to the value.
        Some(f(unsafe { &mut *self.value.get() }))
    }
}

// SAFETY: every shared access to the value goes through the guard, which admits one holder at a
// time (see `imp::Guard`), so sharing a HeapLock only ever moves `T` between threads: T: Send
// suffices.
unsafe impl<T: Send> Sync for HeapLock<T> {}

#[cfg(growheap_single_thread)]
mod imp {
    use core::cell::Cell;

    /// A busy flag: enough where only one thread exists.
    pub struct Guard {
        busy: Cell<bool>,
    }

    // SAFETY: compiled only for the single-threaded wasm targets that build.rs names, built
    // without atomics, where a module cannot start a second thread, so the flag is never reached
    // from two threads.
    unsafe impl Sync for Guard {}

    pub struct Held<'a>(&'a Cell<bool>);

    impl Drop for Held<'_> {
        fn drop(&mut self) {
            self.0.set(false);
        }
    }

    impl Guard {
        pub const fn new() -> Self {
            Guard { busy: Cell::new(false) }
        }

        #[inline]
        pub fn acquire(&self) -> Option<Held<'_>> {
            if self.busy.replace(true) { None } else { Some(Held(&self.busy)) }
        }
    }
}

#[cfg(not(growheap_single_thread))]
mod imp {
    /// A spin lock, for targets that have threads.
    pub struct Guard(spin::Mutex<()>);

    impl Guard {
        pub const fn new() -> Self {
            Guard(spin::Mutex::new(()))
        }

        /// Always `Some`: a re-entrant call deadlocks, as with any non-recursive lock.
        #[inline]
        pub fn acquire(&self) -> Option<spin::MutexGuard<'_, ()>> {
            Some(self.0.lock())
        }
    }
}
