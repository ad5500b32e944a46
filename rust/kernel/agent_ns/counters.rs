// SPDX-License-Identifier: GPL-2.0

//! Session counters.
//!
//! Every session counts its own tasks' events in per-CPU counters: the C hooks do one
//! `this_cpu_add()` on the session of `current`, so counting costs the same at any nesting depth
//! and on any number of CPUs. Sessions nest, and a session's counters include its descendants'
//! (a sub-agent's work is its parent's work): reading them sums the per-CPU counters of the
//! session's subtree, plus what exited descendants left behind when they were freed. Reads are
//! rare; they pay O(sessions in the subtree * CPUs).

use crate::bindings;

/// Number of per-CPU event counters (`AGENT_NS_NR_COUNTERS`).
pub const NR_COUNTERS: usize = bindings::agent_ns_counter_AGENT_NS_NR_COUNTERS as usize;

/// The event counters, in the order of `enum agent_ns_counter`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Counter {
    /// System calls entered.
    Syscalls = bindings::agent_ns_counter_AGENT_NS_SYSCALLS,
    /// Successful open(2), openat(2), openat2(2) and creat(2).
    Openat = bindings::agent_ns_counter_AGENT_NS_OPENAT,
    /// Bytes returned by write(2), pwrite64(2), writev(2), pwritev(2) and pwritev2(2).
    WriteBytes = bindings::agent_ns_counter_AGENT_NS_WRITE_BYTES,
    /// connect(2) calls.
    Connect = bindings::agent_ns_counter_AGENT_NS_CONNECT,
    /// Successful unlink(2), unlinkat(2) and rmdir(2).
    Unlink = bindings::agent_ns_counter_AGENT_NS_UNLINK,
    /// Tasks created, threads included.
    Fork = bindings::agent_ns_counter_AGENT_NS_FORK,
    /// Bytes returned by read(2), pread64(2), readv(2), preadv(2) and preadv2(2).
    ReadBytes = bindings::agent_ns_counter_AGENT_NS_READ_BYTES,
    /// Successful execve(2) and execveat(2).
    Exec = bindings::agent_ns_counter_AGENT_NS_EXEC,
}

impl Counter {
    /// All event counters, in index order.
    pub const ALL: [Counter; NR_COUNTERS] = [
        Counter::Syscalls,
        Counter::Openat,
        Counter::WriteBytes,
        Counter::Connect,
        Counter::Unlink,
        Counter::Fork,
        Counter::ReadBytes,
        Counter::Exec,
    ];

    /// The name as a C string, for log lines and tracepoints.
    pub fn c_name(self) -> &'static crate::str::CStr {
        match self {
            Counter::Syscalls => c"syscalls",
            Counter::Openat => c"openat",
            Counter::WriteBytes => c"write_bytes",
            Counter::Connect => c"connect",
            Counter::Unlink => c"unlink",
            Counter::Fork => c"fork",
            Counter::ReadBytes => c"read_bytes",
            Counter::Exec => c"exec",
        }
    }

    /// The name in `/proc/PID/agent_counters`.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("?")
    }
}

/// A snapshot of a session's counters, subtree included.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Snapshot {
    /// The event counters, indexed by [`Counter`].
    pub events: [u64; NR_COUNTERS],
    /// Nanoseconds of boottime since the session was created.
    pub elapsed_ns: u64,
}

impl Snapshot {
    /// Returns one event counter.
    pub fn get(&self, c: Counter) -> u64 {
        self.events[c as usize]
    }

    /// The `struct agent_ns_counters` layout: version 0 first, appended fields after.
    pub fn to_uapi(&self) -> bindings::agent_ns_counters {
        bindings::agent_ns_counters {
            total_syscalls: self.get(Counter::Syscalls),
            openat_count: self.get(Counter::Openat),
            write_bytes: self.get(Counter::WriteBytes),
            connect_count: self.get(Counter::Connect),
            unlink_count: self.get(Counter::Unlink),
            fork_count: self.get(Counter::Fork),
            elapsed_ns: self.elapsed_ns,
            read_bytes: self.get(Counter::ReadBytes),
            exec_count: self.get(Counter::Exec),
        }
    }
}

/// Adds `b` into `a`, counter by counter (wrapping, like the per-CPU counters).
pub fn accumulate(a: &mut [u64; NR_COUNTERS], b: &[u64; NR_COUNTERS]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = x.wrapping_add(*y);
    }
}

#[macros::kunit_tests(rust_agent_ns_counters)]
mod tests {
    use super::*;

    #[test]
    fn counter_indices_match_c() {
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }

    #[test]
    fn uapi_version0_prefix_is_fixed() {
        assert_eq!(bindings::AGENT_NS_COUNTERS_SIZE_VER0, 56);
        assert_eq!(
            core::mem::offset_of!(bindings::agent_ns_counters, elapsed_ns),
            48
        );
        assert_eq!(
            core::mem::size_of::<bindings::agent_ns_counters>(),
            bindings::AGENT_NS_COUNTERS_SIZE_LATEST as usize
        );
        let s = Snapshot {
            events: [1, 2, 3, 4, 5, 6, 7, 8],
            elapsed_ns: 9,
        };
        let u = s.to_uapi();
        assert_eq!(
            [
                u.total_syscalls,
                u.openat_count,
                u.write_bytes,
                u.connect_count,
                u.unlink_count,
                u.fork_count,
                u.elapsed_ns,
                u.read_bytes,
                u.exec_count
            ],
            [1, 2, 3, 4, 5, 6, 9, 7, 8]
        );
    }

    #[test]
    fn accumulate_wraps() {
        let mut a = [u64::MAX, 1, 0, 0, 0, 0, 0, 0];
        accumulate(&mut a, &[2, 2, 0, 0, 0, 0, 0, 7]);
        assert_eq!(a, [1, 3, 0, 0, 0, 0, 0, 7]);
    }
}
