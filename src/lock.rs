//! Interior mutability for the global heap: the layer between the raw core and `GlobalAlloc`.
//!
//! - Single-threaded wasm has exactly one thread. [`HeapLock`] then guards the value with a
//!   plain busy flag ([`BusyFlag`]) and costs no atomic operation. That takes two conditions:
//!   `cfg(growheap_single_thread)`, which `build.rs` sets only for `wasm32-unknown-unknown`,
//!   `wasm32-wasip1`, `wasm32-wasip2`, `wasm32v1-none` and `wasm64-unknown-unknown` built without
//!   flags that could enable atomics; and no `cfg(target_feature = "atomics")`. The second alone
//!   would not do: stable rustc hides that unstable feature from `cfg`, even where it is on. It
//!   catches what the build script cannot see on nightly, which shows the feature: flags from
//!   `[profile] rustflags`, `cargo rustc --` or a `RUSTC_WRAPPER`.
//! - Everywhere else (`wasm32-wasip1-threads`, any build with atomics, native targets) a `spin`
//!   mutex guards it. The flag is `Sync` only under the two conditions above, so no build can
//!   share it between threads; elsewhere it exists for the tests of this module alone.

use core::cell::{Cell, UnsafeCell};
use core::ops::{Deref, DerefMut};

/// What admits one holder at a time to a [`HeapLock`].
///
/// # Safety
/// Once [`acquire`](Self::acquire) has returned true, it returns false (or waits) for every
/// caller, on every thread that can reach the guard, until [`release`](Self::release) is called;
/// a call that returns false changes nothing.
pub unsafe trait Guard {
    /// Take the guard: true if this caller now holds it.
    fn acquire(&self) -> bool;

    /// Give the guard back.
    ///
    /// # Safety
    /// The caller acquired the guard and has not released it since.
    unsafe fn release(&self);
}

/// The guard of this target. See the [module docs](self).
#[cfg(all(growheap_single_thread, not(target_feature = "atomics")))]
type TargetGuard = BusyFlag;
/// The guard of this target. See the [module docs](self).
#[cfg(not(all(growheap_single_thread, not(target_feature = "atomics"))))]
type TargetGuard = SpinGuard;

/// A value behind a guard: the target's ([module docs](self)) unless a test picks another.
pub struct HeapLock<T, G: Guard = TargetGuard> {
    /// Reached only through a [`Locked`] (guarded) or `get_mut` (exclusive borrow).
    value: UnsafeCell<T>,
    guard: G,
}

impl<T> HeapLock<T> {
    pub const fn new(value: T) -> Self {
        Self::with_guard(value, TargetGuard::new())
    }
}

impl<T, G: Guard> HeapLock<T, G> {
    const fn with_guard(value: T, guard: G) -> Self {
        HeapLock { value: UnsafeCell::new(value), guard }
    }

    /// The value, through an exclusive borrow: no lock needed. Usable in `const` builders.
    pub const fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Take the guard: the value until [`Locked::unlock`]. `None` when the guard is held by this
    /// same thread on single-threaded wasm (a re-entrant call, e.g. from a page source that
    /// allocates, or a panic message being formatted inside the heap): that call gets no access
    /// rather than a second `&mut`, and the holder keeps the guard.
    #[inline]
    pub fn lock(&self) -> Option<Locked<'_, T, G>> {
        // Not `bool::then_some`: it would build the `Locked` first, and dropping the unused one
        // would release the holder's guard.
        if self.guard.acquire() { Some(Locked { lock: self }) } else { None }
    }

    /// Run `f` on the value under the guard; `None` as for [`lock`](Self::lock).
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut locked = self.lock()?;
        let result = f(&mut locked);
        locked.unlock();
        Some(result)
    }
}

// SAFETY: every shared access to the value goes through the guard, which admits one holder at a
// time among the threads that can reach it (the `Guard` contract), and `G: Sync` says which
// threads those are. Sharing a HeapLock thus only ever moves `T` between threads: T: Send
// suffices.
unsafe impl<T: Send, G: Guard + Sync> Sync for HeapLock<T, G> {}

/// The value of a [`HeapLock`] while its guard is held, until [`unlock`](Self::unlock). One
/// pointer wide, so that a cold function can take it by value and release the guard itself.
///
/// Dropped any other way, which only a panic unwinding through the holder does, it panics again,
/// and a panic during unwinding aborts the program. A global allocator may not unwind (the docs of
/// `GlobalAlloc`), and the value may be half updated: it is never handed to anyone again. Where
/// panics abort anyway (wasm's default) no path reaches the drop, and it costs nothing.
#[must_use = "a Locked must end in `unlock`"]
pub struct Locked<'a, T, G: Guard = TargetGuard> {
    lock: &'a HeapLock<T, G>,
}

impl<T, G: Guard> Locked<'_, T, G> {
    /// Release the guard.
    #[inline]
    pub fn unlock(self) {
        let lock = self.lock;
        core::mem::forget(self);
        // SAFETY: a `Locked` is made only after the guard was acquired, and is consumed here
        // without running its drop, so the guard is released once.
        unsafe { lock.guard.release() };
    }
}

impl<T, G: Guard> Deref for Locked<'_, T, G> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this `Locked` holds the guard, so no other reference to the value exists but
        // the ones borrowed from it.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T, G: Guard> DerefMut for Locked<'_, T, G> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the borrow of `self` is exclusive.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T, G: Guard> Drop for Locked<'_, T, G> {
    /// See [`Locked`]: reached only while a panic unwinds through the holder.
    #[cold]
    fn drop(&mut self) {
        panic!("growheap: a panic may not unwind out of the allocator");
    }
}

/// A busy flag: enough where only one thread exists.
// Unused outside this module's tests where threads exist.
#[cfg_attr(not(all(growheap_single_thread, not(target_feature = "atomics"))), allow(dead_code))]
pub struct BusyFlag {
    busy: Cell<bool>,
}

#[cfg_attr(not(all(growheap_single_thread, not(target_feature = "atomics"))), allow(dead_code))]
impl BusyFlag {
    pub const fn new() -> Self {
        BusyFlag { busy: Cell::new(false) }
    }
}

// SAFETY: `replace(true)` returns false to one caller only, until `release` clears the flag, and
// a refused caller (whose `replace` found true) wrote back the true that was there. One thread
// reaches the flag: a `Cell` is not `Sync`, except below, where there is one thread in all.
unsafe impl Guard for BusyFlag {
    #[inline]
    fn acquire(&self) -> bool {
        !self.busy.replace(true)
    }

    #[inline]
    unsafe fn release(&self) {
        self.busy.set(false);
    }
}

// SAFETY: compiled only for the single-threaded wasm targets that build.rs names, built without
// atomics (neither in the flags build.rs sees nor in `cfg`), where a module cannot start a second
// thread, so the flag is never reached from two threads.
#[cfg(all(growheap_single_thread, not(target_feature = "atomics")))]
unsafe impl Sync for BusyFlag {}

/// A spin lock, for targets that have threads.
#[cfg(not(all(growheap_single_thread, not(target_feature = "atomics"))))]
pub struct SpinGuard(spin::Mutex<()>);

#[cfg(not(all(growheap_single_thread, not(target_feature = "atomics"))))]
impl SpinGuard {
    pub const fn new() -> Self {
        SpinGuard(spin::Mutex::new(()))
    }
}

// SAFETY: the mutex admits one holder at a time on every thread; `acquire` never returns false.
#[cfg(not(all(growheap_single_thread, not(target_feature = "atomics"))))]
unsafe impl Guard for SpinGuard {
    /// Always true: a re-entrant call deadlocks, as with any non-recursive lock.
    #[inline]
    fn acquire(&self) -> bool {
        // The lock stays taken until `release`.
        core::mem::forget(self.0.lock());
        true
    }

    #[inline]
    unsafe fn release(&self) {
        // SAFETY: the caller holds the lock, whose guard was forgotten in `acquire`.
        unsafe { self.0.force_unlock() };
    }
}

#[cfg(test)]
mod tests {
    use super::{BusyFlag, HeapLock};

    #[test]
    fn a_refused_lock_leaves_the_holder_holding() {
        let lock = HeapLock::with_guard(5_u32, BusyFlag::new());
        let mut held = lock.lock().expect("nobody holds the guard yet");
        // A call from inside the holder, as from a page source that allocates: refused, twice.
        assert!(lock.lock().is_none());
        assert!(lock.lock().is_none(), "the first refusal released the holder's guard");
        assert_eq!(lock.with(|value| *value), None);
        *held += 1;
        held.unlock();
        assert_eq!(lock.with(|value| *value), Some(6), "unlocking released the guard");
        assert!(lock.lock().is_some_and(|again| {
            again.unlock();
            true
        }));
    }

    /// A `Locked` dropped without `unlock` panics. While a panic unwinds, that second panic
    /// aborts the program, which `tests/inside_the_heap.rs` shows in a child process.
    #[test]
    #[should_panic(expected = "may not unwind out of the allocator")]
    fn a_guard_that_is_not_unlocked_panics() {
        let lock = HeapLock::with_guard(5_u32, BusyFlag::new());
        let held = lock.lock().expect("nobody holds the guard yet");
        drop(held);
    }
}
