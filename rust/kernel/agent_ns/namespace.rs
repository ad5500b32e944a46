// SPDX-License-Identifier: GPL-2.0

//! The agent namespace object and its lifecycle.
//!
//! C header: [`include/linux/agent_namespaces.h`](srctree/include/linux/agent_namespaces.h)

use super::id::SessionId;
use crate::{
    bindings,
    error::to_result,
    prelude::*,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        Refcount,
    },
    types::Opaque,
};
use core::ptr::{self, NonNull};

/// Deepest nesting below the initial session; creating a session deeper fails with `ENOSPC`,
/// as for pid and user namespaces.
pub const MAX_DEPTH: u32 = bindings::AGENT_NS_MAX_DEPTH;

/// An agent namespace: one session.
///
/// Wraps the C `struct agent_namespace`, so that nsproxy and the C hooks reach it without a call.
///
/// # Invariants
///
/// - `inner` is an initialised `struct agent_namespace`: either the static `init_agent_ns`, or an
///   object allocated by [`AgentNamespace::new_child`] as a `KBox<AgentNamespace>`.
/// - `ns.__ns_ref`, the namespace core's reference count, is the only reference count: the object
///   is freed by [`agent_ns_free`] when it drops to zero, which never happens for `init_agent_ns`
///   because its initial reference is never put.
/// - `id`, `level`, `parent` and `user_ns` never change after initialisation. `parent` is null
///   only for `init_agent_ns` and otherwise holds a reference on the parent session; `user_ns`
///   holds a reference on the owning user namespace.
#[repr(transparent)]
#[pin_data]
pub struct AgentNamespace {
    #[pin]
    inner: Opaque<bindings::agent_namespace>,
}

// SAFETY: The fields of an `AgentNamespace` are immutable after initialisation or atomic, and the
// last reference may be dropped on any thread.
unsafe impl Send for AgentNamespace {}

// SAFETY: Shared references only read immutable fields or use atomic operations.
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

    /// Returns the parent session, `None` for the initial session.
    pub fn parent(&self) -> Option<&AgentNamespace> {
        // SAFETY: `parent` is immutable after initialisation (type invariant).
        let parent = unsafe { (*self.as_ptr()).parent };
        // SAFETY: `self` holds a reference on its parent, so the parent lives as long as `self`.
        (!parent.is_null()).then(|| unsafe { Self::from_ptr(parent) })
    }

    fn refcount(&self) -> &Refcount {
        // SAFETY: `Refcount` is a transparent wrapper of `refcount_t`, and the field lives as
        // long as `self`.
        unsafe { &*(&raw const (*self.as_ptr()).ns.__bindgen_anon_1.__ns_ref).cast::<Refcount>() }
    }

    /// Allocates a new session as a child of `self`, owned by the current task's user namespace.
    ///
    /// Fails with `ENOSPC` past [`MAX_DEPTH`] and with `ENOMEM` (or the inode allocator's error)
    /// when memory is short.
    pub fn new_child(&self) -> Result<ARef<Self>> {
        let level = self.level() + 1;
        if level > MAX_DEPTH {
            return Err(ENOSPC);
        }
        let ns = KBox::pin_init(
            try_pin_init!(Self {
                inner <- Opaque::try_ffi_init(|slot: *mut bindings::agent_namespace| {
                    // SAFETY: `slot` is valid for writes of a whole `agent_namespace`; all-zero is
                    // a valid starting state for every field, and `__ns_common_init()` then
                    // initialises the namespace core with one reference.
                    unsafe {
                        ptr::write_bytes(slot, 0, 1);
                        (*slot).level = level;
                        (*slot).id = SessionId::random().0;
                        to_result(bindings::__ns_common_init(
                            &raw mut (*slot).ns,
                            bindings::AGENT_NS_TYPE,
                            ptr::null(),
                            0,
                        ))
                    }
                }),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The object is not shared yet; it takes over a new reference on the parent and
        // on the current user namespace, as the type invariants require.
        unsafe {
            let raw = ns.as_ptr();
            (*raw).parent = ARef::into_raw(ARef::from(self)).as_ptr().cast();
            (*raw).user_ns = bindings::get_user_ns(bindings::current_user_ns());
        }
        // SAFETY: The session is never moved out of its allocation (it is freed in place by
        // `agent_ns_free`), so unpinning the box to hand its ownership to the refcount is sound.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(ns) });
        // SAFETY: `raw` is valid and `__ns_common_init()` set the reference count to 1, which the
        // returned `ARef` now owns.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(raw)) })
    }
}

// SAFETY: Sessions are always reference counted through `ns.__ns_ref` (type invariant).
unsafe impl AlwaysRefCounted for AgentNamespace {
    fn inc_ref(&self) {
        self.refcount().inc();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference, so the object is valid.
        let ns = unsafe { obj.as_ref() };
        if ns.refcount().dec_and_test() {
            // SAFETY: That was the last reference.
            unsafe { agent_ns_free(ns.as_ptr()) };
        }
    }
}

/// Frees a session whose last reference is gone; called by `put_agent_ns()`.
///
/// # Safety
///
/// `ns` must be a session created by [`AgentNamespace::new_child`] whose reference count has just
/// dropped to zero.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_free(ns: *mut bindings::agent_namespace) {
    // SAFETY: Nobody else references `ns` any more; it was allocated as a `KBox<AgentNamespace>`
    // and holds references on its parent and user namespace (type invariants).
    unsafe {
        let parent = (*ns).parent;
        bindings::__ns_common_free(&raw mut (*ns).ns);
        bindings::put_user_ns((*ns).user_ns);
        drop(KBox::from_raw(ns.cast::<AgentNamespace>()));
        AgentNamespace::dec_ref(NonNull::new_unchecked(parent.cast()));
    }
}

#[macros::kunit_tests(rust_agent_ns_namespace)]
mod tests {
    use super::AgentNamespace;
    use crate::{bindings, prelude::*};
    use core::mem::{offset_of, size_of};

    /// bindgen's view of `struct agent_namespace` is the C compiler's.
    #[test]
    fn layout_matches_c() {
        // SAFETY: `agent_ns_c_layout` is a constant array.
        let c = unsafe { bindings::agent_ns_c_layout };
        assert_eq!(c[0], size_of::<bindings::agent_namespace>());
        assert_eq!(c[1], offset_of!(bindings::agent_namespace, parent));
        assert_eq!(c[2], offset_of!(bindings::agent_namespace, user_ns));
        assert_eq!(c[3], offset_of!(bindings::agent_namespace, level));
        assert_eq!(c[4], offset_of!(bindings::agent_namespace, id));
        assert_eq!(c[5], size_of::<bindings::ns_common>());
    }

    #[test]
    fn init_session_is_the_root() {
        let init = AgentNamespace::init_ns();
        assert!(init.id().is_zero());
        assert_eq!(init.level(), 0);
        assert!(init.parent().is_none());
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
        assert_eq!(grandchild.parent().map(|p| p.as_ptr()), Some(child.as_ptr()));
        Ok(())
    }

    #[test]
    fn depth_is_capped() -> Result {
        let mut ns = AgentNamespace::init_ns().new_child()?;
        while ns.level() < super::MAX_DEPTH {
            ns = ns.new_child()?;
        }
        assert_eq!(ns.new_child().err(), Some(ENOSPC));
        Ok(())
    }
}
