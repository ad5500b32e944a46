// SPDX-License-Identifier: GPL-2.0

//! The agent namespace object and its lifecycle.
//!
//! C header: [`include/linux/agent_namespaces.h`](srctree/include/linux/agent_namespaces.h)

use super::{
    budget::Budget,
    counters::{self, Snapshot, NR_COUNTERS},
    id::SessionId,
    intent::IntentTag,
    trace::{self, EndReason},
    tree::TreeGuard,
};
use crate::{
    bindings,
    error::to_result,
    new_spinlock,
    percpu::PerCpu,
    prelude::*,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        atomic::{Atomic, Relaxed},
        Refcount, SpinLock,
    },
    task::Kuid,
    time::{hrtimer::HrTimer, BootTime, Instant},
    types::Opaque,
    workqueue::{new_work, Work},
};
use core::{
    cell::UnsafeCell,
    ptr::{self, NonNull},
};

/// Deepest nesting below the initial session; creating a session deeper fails with `ENOSPC`,
/// as for pid and user namespaces.
pub const MAX_DEPTH: u32 = bindings::AGENT_NS_MAX_DEPTH;

/// An agent namespace: one session.
///
/// Wraps the C `struct agent_namespace`, the part nsproxy and the C hooks use. Every session but
/// the initial one is the first field of a [`Session`], which holds the Rust-only state.
///
/// # Invariants
///
/// - `inner` is an initialised `struct agent_namespace`: either the static `init_agent_ns`
///   (level 0), or the `ns` field of a [`Session`] allocated by [`AgentNamespace::new_child`]
///   (level > 0).
/// - `ns.__ns_ref`, the namespace core's reference count, is the only reference count: the
///   session is freed by [`agent_ns_free`] when it drops to zero. `init_agent_ns` is never freed
///   and, as for every initial namespace, its count is never touched.
/// - `id`, `level`, `parent`, `user_ns` and `pcpu` never change after initialisation. `parent`
///   is null only for `init_agent_ns` and otherwise holds a reference on the parent session;
///   `user_ns` holds a reference on the owning user namespace; `pcpu` is the `__percpu`
///   address of the session's counters; for `init_agent_ns`, of a sink that is never read.
#[repr(transparent)]
#[pin_data]
pub struct AgentNamespace {
    #[pin]
    inner: Opaque<bindings::agent_namespace>,
}

// What the code assumes of the layouts, checked at compile time: the C part is the first field
// of a `Session`, `budget_mask` (an `unsigned long`) has the layout of `usize`, the budget struct
// is the ABI's latest size, and bindgen's view of `struct agent_namespace` is the C compiler's
// (on this toolchain bindgen's `struct task_struct` is not: see the design notes in the admin
// guide). The C compiler's sizes and offsets come from `<generated/agent-ns-offsets.h>`, which
// kbuild generates from `kernel/agent_ns_offsets.c` before anything is built.
const _: () = {
    use bindings::agent_namespace as C;
    use core::mem::offset_of;

    assert!(offset_of!(Session, ns) == 0);
    assert!(size_of::<core::ffi::c_ulong>() == size_of::<usize>());
    assert!(align_of::<core::ffi::c_ulong>() == align_of::<usize>());
    assert!(
        size_of::<bindings::agent_ns_budget>() == bindings::AGENT_NS_BUDGET_SIZE_LATEST as usize
    );
    assert!(size_of::<C>() == bindings::AGENT_NS_C_SIZE as usize);
    assert!(align_of::<C>() == bindings::AGENT_NS_C_ALIGN as usize);
    assert!(offset_of!(C, ns) == bindings::AGENT_NS_C_NS as usize);
    assert!(offset_of!(C, parent) == bindings::AGENT_NS_C_PARENT as usize);
    assert!(offset_of!(C, user_ns) == bindings::AGENT_NS_C_USER_NS as usize);
    assert!(offset_of!(C, level) == bindings::AGENT_NS_C_LEVEL as usize);
    assert!(offset_of!(C, id) == bindings::AGENT_NS_C_ID as usize);
    assert!(offset_of!(C, pcpu) == bindings::AGENT_NS_C_PCPU as usize);
    assert!(offset_of!(C, budget_mask) == bindings::AGENT_NS_C_BUDGET_MASK as usize);
    assert!(offset_of!(C, ucounts) == bindings::AGENT_NS_C_UCOUNTS as usize);
    assert!(offset_of!(C, expired) == bindings::AGENT_NS_C_EXPIRED as usize);
    assert!(offset_of!(C, reaped) == bindings::AGENT_NS_C_REAPED as usize);
};

/// A non-initial session: the C part and the Rust-only state.
///
/// # Invariants
///
/// - `ns` is the first field (`#[repr(C)]`), so a pointer to the C part is a pointer to the
///   `Session`.
/// - `sibling` is linked into the parent's `children` list when the parent is a `Session`, else
///   into `agent_ns_roots`, and unlinked (and the session's counts folded into the parent's
///   `dead`) under the tree lock before the session is freed; `children` lists the live child
///   sessions. The lists and `dead` are only accessed with the tree lock held.
/// - While the session exists it is in the namespace tree (`agent_ns_tree`, for `listns(2)`) and
///   holds an active reference on its parent, so that a session with live sub-sessions stays
///   listed.
/// - `elapsed_timer` is started only under the tree lock while the session is linked, and is
///   cancelled by the free after it is unlinked; `elapsed_work` owns a reference while it is
///   queued or running (`elapsed.rs`).
#[repr(C)]
#[pin_data]
pub(crate) struct Session {
    #[pin]
    ns: AgentNamespace,
    counters: PerCpu<[u64; NR_COUNTERS]>,
    start: Instant<BootTime>,
    #[pin]
    sibling: Opaque<bindings::list_head>,
    #[pin]
    children: Opaque<bindings::list_head>,
    dead: UnsafeCell<[u64; NR_COUNTERS]>,
    #[pin]
    pub(crate) budget: Budget,
    #[pin]
    intent: SpinLock<IntentTag>,
    #[pin]
    pub(crate) elapsed_timer: HrTimer<Session>,
    #[pin]
    pub(crate) elapsed_work: Work<Session>,
}

// SAFETY: As for `AgentNamespace`: the Rust-only fields are immutable after initialisation,
// atomic, per-CPU, or protected by a lock (`dead` and the lists by the tree lock). The last
// reference may be dropped on any thread that may sleep (the free takes the tree lock and
// cancels the timer); the one holder in atomic context, the timer's callback, never drops it.
unsafe impl Send for Session {}

// SAFETY: See `Send`.
unsafe impl Sync for Session {}

// SAFETY: The fields of a session are immutable after initialisation, atomic, per-CPU, or
// protected by the tree lock; the last reference may be dropped on any thread that may sleep.
unsafe impl Send for AgentNamespace {}

// SAFETY: See `Send`.
unsafe impl Sync for AgentNamespace {}

impl AgentNamespace {
    /// Returns the raw pointer to the C object.
    pub fn as_ptr(&self) -> *mut bindings::agent_namespace {
        self.inner.get()
    }

    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid agent namespace that stays valid for `'a`.
    pub unsafe fn from_ptr<'a>(ptr: *const bindings::agent_namespace) -> &'a Self {
        // SAFETY: The caller guarantees validity; `AgentNamespace` is transparent over the C type.
        unsafe { &*ptr.cast() }
    }

    /// Returns the `reaped` flag: written under the tree lock, read without it, with
    /// `READ_ONCE()` from C.
    pub(crate) fn reaped_flag(&self) -> &Atomic<bool> {
        // SAFETY: `reaped` is a field of the valid object `self`, which outlives the reference;
        // every access to it is atomic (this, or `READ_ONCE()`/`WRITE_ONCE()` in C).
        unsafe { Atomic::from_ptr(&raw mut (*self.as_ptr()).reaped) }
    }

    /// Returns the `expired` flag, accessed like `reaped`.
    pub(crate) fn expired_flag(&self) -> &Atomic<bool> {
        // SAFETY: As in `reaped_flag`.
        unsafe { Atomic::from_ptr(&raw mut (*self.as_ptr()).expired) }
    }

    /// Returns `budget_mask`: written under the tree lock, read by the hooks with `READ_ONCE()`.
    pub(crate) fn budget_mask(&self) -> &Atomic<usize> {
        // SAFETY: As in `reaped_flag`; `budget_mask` is an `unsigned long`, which has the size
        // and alignment of `usize` (a const assertion above `Session` checks it).
        unsafe { Atomic::from_ptr((&raw mut (*self.as_ptr()).budget_mask).cast::<usize>()) }
    }

    /// Returns the initial session, the one every task starts in.
    pub fn init_ns() -> &'static Self {
        // SAFETY: `init_agent_ns` is a static object that is never freed.
        unsafe { Self::from_ptr(&raw const bindings::init_agent_ns) }
    }

    /// Returns the session of the current task.
    pub fn current() -> ARef<Self> {
        // SAFETY: Only the current task changes its own nsproxy, so the session it points to
        // stays valid while we take a reference.
        unsafe { ARef::from(Self::from_ptr(bindings::current_agent_ns())) }
    }

    /// Returns the session of `task`, or `None` if `task` has exited far enough to have dropped
    /// its namespaces.
    ///
    /// # Safety
    ///
    /// `task` must be a valid task for the duration of the call.
    pub unsafe fn of_task(task: *mut bindings::task_struct) -> Option<ARef<Self>> {
        // SAFETY: `task` is valid; `task_agent_ns_get()` returns a new reference or null.
        let ns = unsafe { bindings::task_agent_ns_get(task) };
        // SAFETY: A non-null result is a valid session whose reference we now own.
        NonNull::new(ns.cast::<Self>()).map(|ns| unsafe { ARef::from_raw(ns) })
    }

    /// Returns the session id.
    pub fn id(&self) -> SessionId {
        // SAFETY: `id` is immutable after initialisation (type invariant).
        SessionId(unsafe { (*self.as_ptr()).id })
    }

    /// Returns the nesting depth: 0 for the initial session.
    pub fn level(&self) -> u32 {
        // SAFETY: `level` is immutable after initialisation (type invariant).
        unsafe { (*self.as_ptr()).level }
    }

    /// Returns the owning user namespace.
    pub fn user_ns(&self) -> *mut bindings::user_namespace {
        // SAFETY: `user_ns` is immutable after initialisation (type invariant).
        unsafe { (*self.as_ptr()).user_ns }
    }

    /// Returns the intent tag; the initial session's is always empty.
    pub fn intent(&self) -> IntentTag {
        self.session().map_or(IntentTag::EMPTY, |s| s.intent())
    }

    /// Returns the parent session, `None` for the initial session.
    pub fn parent(&self) -> Option<&AgentNamespace> {
        // SAFETY: `parent` is immutable after initialisation (type invariant).
        let parent = unsafe { (*self.as_ptr()).parent };
        // SAFETY: `self` holds a reference on its parent, so the parent lives as long as `self`.
        (!parent.is_null()).then(|| unsafe { Self::from_ptr(parent) })
    }

    /// Returns the Rust part, `None` for the initial session.
    pub(crate) fn session(&self) -> Option<&Session> {
        // SAFETY: Every session of level > 0 is the first field of a `Session` (type invariant).
        (self.level() > 0).then(|| unsafe { &*ptr::from_ref(self).cast::<Session>() })
    }

    fn refcount(&self) -> &Refcount {
        // SAFETY: `Refcount` is a transparent wrapper of `refcount_t`, and the field lives as
        // long as `self`.
        unsafe { &*self.refcount_ptr().cast::<Refcount>() }
    }

    /// Returns the reference count, for the `refcount_t` operations `Refcount` does not wrap.
    pub(crate) fn refcount_ptr(&self) -> *mut bindings::refcount_t {
        // SAFETY: The field is in the valid object `self`; no reference is created.
        unsafe { &raw mut (*self.as_ptr()).ns.__bindgen_anon_1.__ns_ref }
    }

    /// Returns the session's counters, its descendants' included.
    ///
    /// The initial session counts nothing: its event counters read zero and its elapsed time is
    /// the time since boot.
    pub fn counters(&self) -> Snapshot {
        match self.session() {
            None => Snapshot {
                events: [0; NR_COUNTERS],
                elapsed_ns: Instant::<BootTime>::now().as_nanos() as u64,
            },
            Some(s) => {
                let tree = TreeGuard::lock();
                let mut events = [0; NR_COUNTERS];
                s.add_subtree(&tree, &mut events);
                drop(tree);
                Snapshot {
                    events,
                    elapsed_ns: s.elapsed_ns(),
                }
            }
        }
    }

    /// Allocates a new session as a child of `self`, owned by the current task's user namespace.
    ///
    /// Fails with `ENOSPC` past [`MAX_DEPTH`] or past the owner's `max_agent_namespaces`, and
    /// with `ENOMEM` (or the inode allocator's error) when memory is short.
    pub fn new_child(&self) -> Result<ARef<Self>> {
        let level = self.level() + 1;
        if level > MAX_DEPTH {
            return Err(ENOSPC);
        }
        // SAFETY: `current_user_ns()` is the current task's user namespace.
        let ucounts = unsafe {
            bindings::inc_ucount(
                bindings::current_user_ns(),
                Kuid::current_euid().into_raw(),
                bindings::ucount_type_UCOUNT_AGENT_NAMESPACES,
            )
        };
        if ucounts.is_null() {
            return Err(ENOSPC);
        }
        let ucounts = UcountGuard(ucounts);
        // Charged to the creator's memory cgroup, like every namespace's memory: an unprivileged
        // creator is bounded by its cgroup, not only by max_agent_namespaces.
        let counters = PerCpu::<[u64; NR_COUNTERS]>::new(GFP_KERNEL_ACCOUNT)?;
        let ucounts_raw = ucounts.0;
        let pcpu = counters.as_ptr().cast::<bindings::agent_ns_pcpu>();
        let session = KBox::pin_init(
            try_pin_init!(Session {
                ns <- try_pin_init!(AgentNamespace {
                    inner <- Opaque::try_ffi_init(|slot: *mut bindings::agent_namespace| {
                        // SAFETY: `slot` is valid for writes of a whole `agent_namespace`;
                        // all-zero is a valid starting state for every field, and
                        // `__ns_common_init()` then initialises the namespace core with one
                        // reference.
                        unsafe {
                            ptr::write_bytes(slot, 0, 1);
                            (*slot).level = level;
                            (*slot).id = SessionId::random().0;
                            (*slot).pcpu = pcpu;
                            (*slot).ucounts = ucounts_raw;
                            to_result(bindings::__ns_common_init(
                                &raw mut (*slot).ns,
                                bindings::AGENT_NS_TYPE,
                                &raw const bindings::agentns_operations,
                                0,
                            ))
                        }
                    }),
                }),
                counters,
                start: Instant::now(),
                // SAFETY: `INIT_LIST_HEAD` initialises an uninitialised list head.
                sibling <- Opaque::ffi_init(|p| unsafe { bindings::INIT_LIST_HEAD(p) }),
                // SAFETY: As above.
                children <- Opaque::ffi_init(|p| unsafe { bindings::INIT_LIST_HEAD(p) }),
                dead: UnsafeCell::new([0; NR_COUNTERS]),
                budget <- Budget::new(),
                intent <- new_spinlock!(IntentTag::EMPTY, "agent_ns_intent"),
                elapsed_timer <- HrTimer::new(),
                elapsed_work <- new_work!("agent_ns_elapsed"),
            }),
            GFP_KERNEL_ACCOUNT,
        )?;
        // The session owns the ucount now.
        core::mem::forget(ucounts);
        // SAFETY: The session is not shared yet; it takes over a new reference on the parent
        // and on the current user namespace, as the type invariants require.
        unsafe {
            let raw = session.ns.as_ptr();
            (*raw).parent = ARef::into_raw(ARef::from(self)).as_ptr().cast();
            (*raw).user_ns = bindings::get_user_ns(bindings::current_user_ns());
        }
        // SAFETY: The session is never moved out of its allocation (it is freed in place by
        // `agent_ns_free`), so unpinning the box to hand its ownership to the refcount is sound.
        let session = KBox::into_raw(unsafe { Pin::into_inner_unchecked(session) });
        {
            let tree = TreeGuard::lock();
            let head = match self.session() {
                Some(parent) => parent.children.get(),
                None => &raw mut bindings::agent_ns_roots,
            };
            // SAFETY: Both list heads are initialised and the tree lock is held; `session` is
            // valid and inherits the budgets above it.
            unsafe {
                bindings::list_add_tail((*session).sibling.get(), head);
                let (mask, above) = (*session).inherited();
                (*session).update_masks(&tree, mask, above);
            }
        }
        // SAFETY: `session` is fully initialised: the namespace core may list it, by a new
        // namespace id; the active reference on the parent is dropped by `agent_ns_free`. The C
        // hooks start counting for this session through `pcpu` now.
        unsafe {
            let ns = &raw mut (*(*session).ns.as_ptr()).ns;
            bindings::__ns_tree_gen_id(ns, 0);
            bindings::__ns_tree_add_raw(ns, &raw mut bindings::agent_ns_tree);
            bindings::__ns_ref_active_get(&raw mut (*self.as_ptr()).ns);
            bindings::agent_ns_activate();
        }
        // SAFETY: `session` is valid and `__ns_common_init()` set the reference count to 1,
        // which the returned `ARef` now owns.
        let child: ARef<Self> = unsafe { ARef::from_raw(NonNull::new_unchecked(session.cast())) };
        trace::session_start(&child, self);
        Ok(child)
    }

    /// Returns whether the reaper has killed this session's tasks, because it or an ancestor
    /// outlived `kernel.agent_ns.max_lifetime`.
    pub(crate) fn reaped(&self) -> bool {
        let mut cur = Some(self);
        while let Some(ns) = cur {
            if ns.reaped_flag().load(Relaxed) {
                return true;
            }
            cur = ns.parent();
        }
        false
    }

    /// Returns why the session is ending: the reaper or a budget action against it or an
    /// ancestor, else the exit of its last task.
    fn end_reason(&self) -> EndReason {
        if self.reaped() {
            return EndReason::Reaped;
        }
        let mut cur = Some(self);
        while let Some(ns) = cur {
            if ns.session().is_some_and(|s| s.budget.acted()) {
                return EndReason::Budget;
            }
            cur = ns.parent();
        }
        EndReason::Exit
    }
}

impl Session {
    /// Returns the C part.
    pub(crate) fn ns(&self) -> &AgentNamespace {
        &self.ns
    }

    /// Returns the parent's `budget_mask`: the counters limited above this session.
    pub(crate) fn parent_mask(&self) -> usize {
        self.ns
            .parent()
            .map_or(0, |p| p.budget_mask().load(Relaxed))
    }

    /// Returns the intent tag.
    pub(crate) fn intent(&self) -> IntentTag {
        *self.intent.lock()
    }

    /// Replaces the intent tag and reports the change on `agent_ns:agent_intent_set`, in the
    /// order the changes happen.
    pub(crate) fn set_intent(&self, new: IntentTag) {
        let mut tag = self.intent.lock();
        let old = core::mem::replace(&mut *tag, new);
        trace::intent_set(&self.ns, old.as_cstr(), new.as_cstr());
    }

    /// Returns the `CLOCK_BOOTTIME` nanoseconds at which the session was created.
    pub(crate) fn start_ns(&self) -> u64 {
        self.start.as_nanos() as u64
    }

    /// Returns the nanoseconds of `CLOCK_BOOTTIME` since the session was created.
    pub(crate) fn elapsed_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Adds the counts of this session's subtree to `acc`.
    pub(crate) fn add_subtree(&self, tree: &TreeGuard, acc: &mut [u64; NR_COUNTERS]) {
        counters::accumulate(acc, &self.counters.sum_all());
        // SAFETY: `dead` is protected by the tree lock, which `tree` proves held.
        counters::accumulate(acc, unsafe { &*self.dead.get() });
        self.for_each_child(tree, |child| child.add_subtree(tree, acc));
    }

    /// Calls `f` on each live child session.
    pub(crate) fn for_each_child(&self, tree: &TreeGuard, f: impl FnMut(&Session)) {
        Self::for_each_in(tree, self.children.get(), f)
    }

    /// Calls `f` on each top-level session (each child of the initial session).
    pub(crate) fn for_each_root(tree: &TreeGuard, f: impl FnMut(&Session)) {
        Self::for_each_in(tree, &raw mut bindings::agent_ns_roots, f)
    }

    /// Calls `f` on each session of the list at `head`, a `children` list or the roots.
    fn for_each_in(_tree: &TreeGuard, head: *mut bindings::list_head, mut f: impl FnMut(&Session)) {
        // SAFETY: `head` is a valid list of live `Session::sibling`s under the tree lock.
        let mut pos = unsafe { (*head).next };
        while pos != head {
            // SAFETY: `pos` is the `sibling` field of a live `Session` (type invariant), which
            // cannot be freed while we hold the tree lock.
            let child = unsafe {
                &*pos
                    .cast::<u8>()
                    .sub(core::mem::offset_of!(Session, sibling))
                    .cast::<Session>()
            };
            f(child);
            // A walk over many sessions lets others run: the tree lock is a mutex, and the
            // list stays as it is while it is held.
            // SAFETY: No requirements; the caller holds no spinlock (it holds the tree lock).
            unsafe { bindings::agent_ns_cond_resched() };
            // SAFETY: `pos` is a valid list entry under the tree lock.
            pos = unsafe { (*pos).next };
        }
    }
}

/// Returns a `max_agent_namespaces` count on drop unless forgotten.
struct UcountGuard(*mut bindings::ucounts);

impl Drop for UcountGuard {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from a successful `inc_ucount()` that nobody else returns.
        unsafe { bindings::dec_ucount(self.0, bindings::ucount_type_UCOUNT_AGENT_NAMESPACES) };
    }
}

// SAFETY: Sessions are always reference counted through `ns.__ns_ref` (type invariant).
unsafe impl AlwaysRefCounted for AgentNamespace {
    fn inc_ref(&self) {
        // The initial session's count is never touched, as `get_agent_ns()` does.
        if self.level() > 0 {
            self.refcount().inc();
        }
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference, so the object is valid.
        let ns = unsafe { obj.as_ref() };
        if ns.level() > 0 && ns.refcount().dec_and_test() {
            // SAFETY: That was the last reference.
            unsafe { agent_ns_free(ns.as_ptr()) };
        }
    }
}

// SAFETY: A session's first field is its `AgentNamespace`, whose reference count is the
// session's (type invariants).
unsafe impl AlwaysRefCounted for Session {
    fn inc_ref(&self) {
        self.ns.inc_ref();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: `ns` is the first field of a `#[repr(C)]` `Session`, and the caller owns a
        // reference.
        unsafe { AgentNamespace::dec_ref(obj.cast()) };
    }
}

/// Frees a session whose last reference is gone; called by `put_agent_ns()`.
///
/// Its counts move into its parent's, so that a parent's counters keep what its exited
/// sub-sessions did, and `agent_ns:agent_session_end` reports them. The memory is freed after an
/// RCU grace period, for `listns(2)`, which walks the namespace tree under RCU.
///
/// A parent whose last reference was its child's is freed next, in the same loop, so that
/// freeing a chain of 32 sessions does not recurse 32 frames deep.
///
/// # Safety
///
/// `ns` must be a session created by [`AgentNamespace::new_child`] whose reference count has just
/// dropped to zero.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_free(ns: *mut bindings::agent_namespace) {
    let mut ns = ns;
    // SAFETY: `ns` is a session whose last reference is gone (caller guarantee); `free_one`
    // returns its parent, on which the freed session held a reference that we now own.
    while let Some(parent) = unsafe { free_one(ns) } {
        // SAFETY: See above: the parent is valid until that reference is dropped.
        let parent = unsafe { AgentNamespace::from_ptr(parent) };
        if parent.level() == 0 || !parent.refcount().dec_and_test() {
            return;
        }
        ns = parent.as_ptr();
    }
}

/// Frees one session and returns its parent, whose reference the caller now owns; `None` for
/// the initial session.
///
/// # Safety
///
/// As for [`agent_ns_free`].
unsafe fn free_one(ns: *mut bindings::agent_namespace) -> Option<*mut bindings::agent_namespace> {
    // SAFETY: `ns` is a valid session (caller guarantee).
    let session = (unsafe { AgentNamespace::from_ptr(ns) }).session()?;
    // SAFETY: `parent` of a non-initial session is a valid session we hold a reference on.
    let parent = unsafe { AgentNamespace::from_ptr((*ns).parent) };
    let reason = session.ns().end_reason();
    let mut mine = [0; NR_COUNTERS];
    let tree = TreeGuard::lock();
    counters::accumulate(&mut mine, &session.counters.sum_all());
    // SAFETY: `dead` fields are protected by the tree lock, which is held; our children are all
    // gone (each held a reference on us).
    unsafe { counters::accumulate(&mut mine, &*session.dead.get()) };
    if let Some(p) = parent.session() {
        // SAFETY: As above.
        unsafe { counters::accumulate(&mut *p.dead.get(), &mine) };
    }
    // SAFETY: `sibling` is linked (into the parent's children or the roots) under the lock.
    unsafe { bindings::list_del(session.sibling.get()) };
    let enforcing = session.budget.enforcing();
    if enforcing {
        // SAFETY: No requirements; under the tree lock, as `set_limits()` counts it.
        unsafe { bindings::agent_ns_enforcing_add(-1) };
    }
    drop(tree);
    // Unlinked, with no reference left: nothing arms the timer any more (see `elapsed.rs`).
    session.stop_elapsed();
    if enforcing {
        // SAFETY: No requirements; no lock is held.
        unsafe { bindings::agent_ns_update_keys_later() };
    }
    trace::session_end(session.ns(), &mine, session.elapsed_ns(), reason);
    // SAFETY: Nobody references the session any more; it was allocated as a `KBox<Session>`, is
    // in the namespace tree, and holds an active reference and a reference on its parent and a
    // reference on its user namespace (type invariants). RCU walkers of the namespace tree may
    // still read its `ns_common`, which has no destructor: only the memory must wait for them.
    unsafe {
        bindings::__ns_tree_remove(&raw mut (*ns).ns, &raw mut bindings::agent_ns_tree);
        bindings::__ns_ref_active_put(&raw mut (*parent.as_ptr()).ns);
        bindings::__ns_common_free(&raw mut (*ns).ns);
        bindings::dec_ucount((*ns).ucounts, bindings::ucount_type_UCOUNT_AGENT_NAMESPACES);
        bindings::put_user_ns((*ns).user_ns);
        ptr::drop_in_place(ns.cast::<Session>());
        bindings::agent_ns_free_rcu(ns);
        bindings::agent_ns_deactivate();
    }
    Some(parent.as_ptr())
}

#[macros::kunit_tests(rust_agent_ns_namespace)]
mod tests {
    use super::{AgentNamespace, MAX_DEPTH};
    use crate::{bindings, prelude::*, task::Task};

    #[test]
    fn init_session_is_the_root() {
        let init = AgentNamespace::init_ns();
        assert!(init.id().is_zero());
        assert_eq!(init.level(), 0);
        assert!(init.parent().is_none());
        assert!(init.session().is_none());
        assert_eq!(init.counters().events, [0; super::NR_COUNTERS]);
    }

    #[test]
    fn child_links_to_parent() -> Result {
        let init = AgentNamespace::init_ns();
        let child = init.new_child()?;
        assert!(!child.id().is_zero());
        assert_eq!(child.level(), 1);
        assert_eq!(child.parent().map(|p| p.as_ptr()), Some(init.as_ptr()));
        let grandchild = child.new_child()?;
        assert_eq!(grandchild.level(), 2);
        assert_ne!(grandchild.id(), child.id());
        assert_eq!(
            grandchild.parent().map(|p| p.as_ptr()),
            Some(child.as_ptr())
        );
        Ok(())
    }

    /// A child's counts show in its parent's, live and after the child is freed.
    #[test]
    fn counts_roll_up_and_survive_the_child() -> Result {
        use crate::agent_ns::counters::Counter;
        let parent = AgentNamespace::init_ns().new_child()?;
        let child = parent.new_child()?;
        let p = parent.session().ok_or(EINVAL)?;
        let c = child.session().ok_or(EINVAL)?;
        p.counters.add(Counter::Openat as usize, 2);
        c.counters.add(Counter::Openat as usize, 5);
        c.counters.add(Counter::WriteBytes as usize, 4096);
        assert_eq!(parent.counters().get(Counter::Openat), 7);
        assert_eq!(child.counters().get(Counter::Openat), 5);
        drop(child);
        assert_eq!(parent.counters().get(Counter::Openat), 7);
        assert_eq!(parent.counters().get(Counter::WriteBytes), 4096);
        Ok(())
    }

    /// The exported `agent_ns_session_id()` reads what Rust reads, and a new session's namespace
    /// core is set up for nsfs: its own id and inode, the agent type, and a reason to end.
    #[test]
    fn in_kernel_api_and_nsfs_fields() -> Result {
        let mut id = [0xffu8; crate::agent_ns::id::ID_BYTES];
        // SAFETY: `current` is valid and `id` has room for a session id.
        let ret = unsafe { bindings::agent_ns_session_id(Task::current_raw(), id.as_mut_ptr()) };
        assert_eq!(ret, 0);
        assert_eq!(id, AgentNamespace::current().id().0);
        let init = AgentNamespace::init_ns();
        let child = init.new_child()?;
        // SAFETY: Both sessions are valid; their namespace cores are initialised.
        let (c, i) = unsafe { (&(*child.as_ptr()).ns, &(*init.as_ptr()).ns) };
        assert_eq!(c.ns_type, bindings::AGENT_NS_TYPE);
        assert_eq!(i.ns_type, bindings::AGENT_NS_TYPE);
        assert_ne!(c.inum, i.inum);
        assert_eq!(
            i.inum,
            bindings::init_ns_ino_AGENT_NS_INIT_INO as crate::ffi::c_uint
        );
        assert_eq!(child.user_ns(), init.user_ns());
        assert_eq!(child.end_reason(), super::EndReason::Exit);
        Ok(())
    }

    #[test]
    fn depth_is_capped() -> Result {
        let mut ns = AgentNamespace::init_ns().new_child()?;
        while ns.level() < MAX_DEPTH {
            ns = ns.new_child()?;
        }
        assert_eq!(ns.new_child().err(), Some(ENOSPC));
        Ok(())
    }
}
