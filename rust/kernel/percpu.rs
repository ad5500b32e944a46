// SPDX-License-Identifier: GPL-2.0

//! Per-CPU allocations.
//!
//! Dynamic per-CPU memory (`alloc_percpu()`): [`PerCpu<T>`] owns one `T` per possible CPU, hands
//! C code the `__percpu` pointer for `this_cpu_*()`, gives raw pointers to a given CPU's `T`,
//! and drops every CPU's `T` when it is dropped. For `[u64; N]` it also adds to the current
//! CPU's counter without disabling preemption and sums a counter over the possible CPUs (64-bit
//! machines only: a 32-bit machine tears the 64-bit loads of the sum).
//!
//! It has no static per-CPU variables (`DEFINE_PER_CPU()`) and no reference to the current
//! CPU's `T` under disabled preemption. Mitchell Levy's series "rust: Add Per-CPU Variable API"
//! (RFC v2 April 2025 to v5 April 2026, not in 7.3) has both: a `PerCpu<T>` trait with static
//! and dynamic implementations, a `CpuGuard` that disables preemption, and closure-based access
//! to the current CPU's value. Its dynamic allocation is shared through an `Arc` and leaves
//! dropping the CPUs' values to its user; this one has a single owner, needs `T: Zeroable` (so
//! that every CPU's value is valid from the start) and drops them itself. Were that series
//! merged, callers of this file would move to it.
//!
//! C header: [`include/linux/percpu.h`](srctree/include/linux/percpu.h)

use crate::{alloc::Flags, bindings, cpu::CpuId, prelude::*};
use core::{
    marker::PhantomData,
    mem::{align_of, needs_drop, size_of},
    ptr::NonNull,
};
use pin_init::Zeroable;

/// One zero-initialised `T` for every possible CPU.
///
/// The C side addresses the whole object with a `__percpu` pointer ([`PerCpu::as_ptr`]), which
/// the `this_cpu_*()` operations and `per_cpu_ptr()` turn into one CPU's instance. Dropping the
/// `PerCpu` drops every CPU's `T`, then frees the memory.
///
/// # Invariants
///
/// `ptr` was returned by `alloc_percpu_gfp()` for `size_of::<T>()` bytes aligned for `T`, is
/// freed only when the `PerCpu` is dropped, and every possible CPU's instance is a valid `T`
/// (the allocation is zero-filled and `T: Zeroable`).
pub struct PerCpu<T: Zeroable> {
    ptr: NonNull<T>,
    _t: PhantomData<T>,
}

// SAFETY: A `PerCpu<T>` owns its `T`s; sending it sends them.
unsafe impl<T: Zeroable + Send> Send for PerCpu<T> {}

// SAFETY: Shared access only hands out raw pointers or performs the per-CPU atomic operations
// below.
unsafe impl<T: Zeroable + Sync> Sync for PerCpu<T> {}

impl<T: Zeroable> PerCpu<T> {
    /// Allocates a zeroed `T` for every possible CPU.
    pub fn new(flags: Flags) -> Result<Self> {
        // SAFETY: Any size and a power-of-two alignment are valid arguments.
        let ptr =
            unsafe { bindings::alloc_percpu_gfp(size_of::<T>(), align_of::<T>(), flags.as_raw()) };
        // INVARIANT: `alloc_percpu_gfp()` returns zeroed memory or null.
        Ok(Self {
            ptr: NonNull::new(ptr.cast()).ok_or(ENOMEM)?,
            _t: PhantomData,
        })
    }

    /// Returns the `__percpu` pointer, for C code using `this_cpu_*()` or `per_cpu_ptr()`.
    pub fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// Returns a raw pointer to `cpu`'s instance.
    ///
    /// The instance is valid only for a possible CPU (see [`possible_cpus`]).
    pub fn cpu_ptr(&self, cpu: CpuId) -> *mut T {
        // SAFETY: `self.ptr` is a valid per-CPU pointer (type invariant); `per_cpu_ptr()` only
        // computes an address.
        unsafe { bindings::per_cpu_ptr(self.ptr.as_ptr().cast(), cpu.as_u32()).cast() }
    }
}

/// Iterates over the possible CPUs: every CPU a per-CPU allocation has an instance for.
pub fn possible_cpus() -> impl Iterator<Item = CpuId> {
    let mut next: i32 = -1;
    core::iter::from_fn(move || {
        // SAFETY: `cpumask_next_possible()` accepts any CPU number from -1 up.
        let cpu = unsafe { bindings::cpumask_next_possible(next) };
        next = cpu as i32;
        CpuId::from_u32(cpu)
    })
}

/// 64-bit counters, for 64-bit machines only: [`PerCpu::sum`] reads each CPU's counter with one
/// 64-bit load, which a 32-bit machine splits in two (a concurrent add between the halves would
/// be seen torn). A 32-bit user would need `u64_stats_sync` or a local64_t.
#[cfg(CONFIG_64BIT)]
impl<const N: usize> PerCpu<[u64; N]> {
    /// Adds `val` to counter `i` of the current CPU, without disabling preemption: one
    /// `this_cpu_add()`, atomic with respect to migration and interrupts on this CPU.
    ///
    /// # Panics
    ///
    /// Panics if `i >= N`.
    #[inline]
    pub fn add(&self, i: usize, val: u64) {
        assert!(i < N);
        // SAFETY: Per-CPU pointers are offsets; `i < N` keeps the address inside the object.
        unsafe { bindings::this_cpu_add_u64(self.ptr.as_ptr().cast::<u64>().wrapping_add(i), val) }
    }

    /// Returns counter `i` summed over the possible CPUs (wrapping).
    ///
    /// Adds running concurrently on other CPUs may or may not be included; the result never
    /// sees a torn value.
    pub fn sum(&self, i: usize) -> u64 {
        assert!(i < N);
        possible_cpus().fold(0u64, |acc, cpu| {
            // SAFETY: `cpu_ptr()` points to a valid `[u64; N]` (type invariant) and `i < N`; a
            // volatile, aligned 64-bit read is not torn and tolerates concurrent `this_cpu_add()`
            // on the owning CPU, like `READ_ONCE()`.
            let v = unsafe { core::ptr::read_volatile(self.cpu_ptr(cpu).cast::<u64>().add(i)) };
            acc.wrapping_add(v)
        })
    }

    /// Returns every counter summed over the possible CPUs.
    pub fn sum_all(&self) -> [u64; N] {
        core::array::from_fn(|i| self.sum(i))
    }
}

impl<T: Zeroable> Drop for PerCpu<T> {
    fn drop(&mut self) {
        if needs_drop::<T>() {
            for cpu in possible_cpus() {
                // SAFETY: Every possible CPU's instance is a valid `T` (type invariant), and
                // nothing uses it after this.
                unsafe { core::ptr::drop_in_place(self.cpu_ptr(cpu)) };
            }
        }
        // SAFETY: `self.ptr` came from `alloc_percpu_gfp()` and is not used after this.
        unsafe { bindings::free_percpu(self.ptr.as_ptr().cast()) }
    }
}

#[macros::kunit_tests(rust_kernel_percpu)]
mod tests {
    use super::*;

    #[test]
    fn starts_zeroed_and_sums_adds() -> Result {
        let c = PerCpu::<[u64; 3]>::new(GFP_KERNEL)?;
        assert_eq!(c.sum_all(), [0, 0, 0]);
        for _ in 0..1000 {
            c.add(1, 3);
        }
        c.add(2, u64::MAX);
        c.add(2, 2);
        assert_eq!(c.sum_all(), [0, 3000, 1]);
        Ok(())
    }

    #[test]
    fn possible_cpus_are_increasing_and_bounded() {
        let mut last = None;
        let mut n = 0;
        for cpu in possible_cpus() {
            assert!(cpu.as_u32() < crate::cpu::nr_cpu_ids());
            if let Some(l) = last {
                assert!(cpu.as_u32() > l);
            }
            last = Some(cpu.as_u32());
            n += 1;
        }
        assert!(n >= 1);
    }

    /// Counts its drops in a shared atomic; all-zero is a valid value (no counter yet).
    struct Tracked(Option<&'static crate::sync::atomic::Atomic<u32>>);

    // SAFETY: `Option<&T>` is all-zero when `None`.
    unsafe impl Zeroable for Tracked {}

    impl Drop for Tracked {
        fn drop(&mut self) {
            if let Some(n) = self.0 {
                n.fetch_add(1, crate::sync::atomic::Relaxed);
            }
        }
    }

    #[test]
    fn dropping_drops_every_cpus_value() -> Result {
        use crate::sync::atomic::{Atomic, Relaxed};
        static DROPS: Atomic<u32> = Atomic::new(0);
        let p = PerCpu::<Tracked>::new(GFP_KERNEL)?;
        let mut cpus = 0;
        for cpu in possible_cpus() {
            // SAFETY: `cpu` is possible and nothing else accesses `p`'s instances.
            unsafe { (*p.cpu_ptr(cpu)).0 = Some(&DROPS) };
            cpus += 1;
        }
        drop(p);
        assert_eq!(DROPS.load(Relaxed), cpus);
        Ok(())
    }
}
