//! Interior mutability for the global heap: the layer between the raw core and `GlobalAlloc`.
//!
//! - wasm32 without the `atomics` target feature has exactly one thread. [`HeapLock`] is then a
//!   plain cell with a busy flag and costs no atomic operation.
//! - Everywhere else (wasm32 with `atomics`, native targets) it is a `spin` mutex. The plain cell
//!   is not compiled there at all, so no build can take the single-thread shortcut where threads
//!   exist.

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod imp {
    use core::cell::{Cell, UnsafeCell};

    /// A cell for a single-threaded target.
    pub struct HeapLock<T> {
        value: UnsafeCell<T>,
        /// True while a `with` call holds `&mut T`.
        busy: Cell<bool>,
    }

    // SAFETY: this impl is compiled only for wasm32 without the atomics feature, where a module
    // cannot start a second thread, so the value is never reached from two threads at once.
    unsafe impl<T> Sync for HeapLock<T> {}

    impl<T> HeapLock<T> {
        pub const fn new(value: T) -> Self {
            HeapLock { value: UnsafeCell::new(value), busy: Cell::new(false) }
        }

        /// Run `f` on the value. `None` if called again while `f` runs (a re-entrant call, e.g.
        /// from a panic message being formatted inside the heap): that call gets no access
        /// rather than a second `&mut`.
        #[inline]
        pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
            if self.busy.replace(true) {
                return None;
            }
            // SAFETY: one thread only (see the Sync impl), and the busy flag was clear, so no
            // other `&mut T` exists; it is dropped before the flag is cleared again.
            let result = f(unsafe { &mut *self.value.get() });
            self.busy.set(false);
            Some(result)
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
mod imp {
    /// A spin lock, for targets that have threads.
    pub struct HeapLock<T>(spin::Mutex<T>);

    impl<T> HeapLock<T> {
        pub const fn new(value: T) -> Self {
            HeapLock(spin::Mutex::new(value))
        }

        /// Run `f` on the value under the lock. Always `Some`; a re-entrant call deadlocks, as
        /// with any non-recursive lock.
        #[inline]
        pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
            Some(f(&mut self.0.lock()))
        }
    }
}

pub(crate) use imp::HeapLock;
