/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Agent namespaces: in-kernel interface for nsproxy, prctl, procfs and LSMs.
 *
 * The objects are created and freed by the Rust implementation in
 * rust/kernel/agent_ns/; the layout is declared here so that nsproxy and
 * the hooks reach a task's session without a function call.
 */
#ifndef _LINUX_AGENT_NAMESPACES_H
#define _LINUX_AGENT_NAMESPACES_H

#include <linux/jump_label.h>
#include <linux/mutex.h>
#include <linux/ns_common.h>
#include <linux/nsproxy.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/thread_info.h>
#include <linux/types.h>
#include <uapi/linux/agent_namespaces.h>

struct cred;
struct iov_iter;
struct nsset;
struct pid;
struct pid_namespace;
struct seq_file;
struct task_struct;
struct user_namespace;

/* Deepest nesting below the initial session (as for pid namespaces). */
#define AGENT_NS_MAX_DEPTH	32

/*
 * Event counters, counted per cpu in the session of the task that causes
 * the event.  The definitions are in
 * Documentation/admin-guide/agent-namespaces.rst.
 */
enum agent_ns_counter {
	AGENT_NS_SYSCALLS,
	AGENT_NS_OPENAT,
	AGENT_NS_WRITE_BYTES,
	AGENT_NS_CONNECT,
	AGENT_NS_UNLINK,
	AGENT_NS_FORK,
	AGENT_NS_READ_BYTES,
	AGENT_NS_EXEC,
	AGENT_NS_NR_COUNTERS
};

#define AGENT_NS_COUNTERS_SIZE_LATEST	AGENT_NS_COUNTERS_SIZE_VER1
#define AGENT_NS_BUDGET_SIZE_LATEST	AGENT_NS_BUDGET_SIZE_VER1

struct agent_ns_pcpu {
	u64 count[AGENT_NS_NR_COUNTERS];
};

/**
 * struct agent_namespace - one agent session
 * @ns:      namespace core; @ns.__ns_ref is the session's only reference count,
 *           untouched for init_agent_ns, which is never freed
 * @parent:  enclosing session (holds a reference); NULL for init_agent_ns
 * @user_ns: owning user namespace (holds a reference)
 * @level:   nesting depth, 0 for init_agent_ns
 * @id:      session id; all zeros only for init_agent_ns
 * @pcpu:    the session's own event counters; for init_agent_ns, which
 *           counts nothing, a sink that is never read
 * @budget_mask: bit N set when this session or an ancestor limits counter
 *           N; the hooks then charge the budgets (written under the
 *           tree lock, read locklessly)
 * @ucounts: the owner's count of agent namespaces (max_agent_namespaces)
 * @expired: set by the reaper while the session has outlived
 *           kernel.agent_ns.max_lifetime (its tasks are killed)
 * @reaped:  set with @expired and never cleared: the reaper killed the
 *           session's tasks (AGENT_NS_INFO_REAPED)
 *
 * Every field but the reference count, @budget_mask and the two flags is
 * immutable after creation.  A session's Rust-only state follows this
 * structure in the same allocation.
 */
struct agent_namespace {
	struct ns_common ns;
	struct agent_namespace *parent;
	struct user_namespace *user_ns;
	unsigned int level;
	u8 id[AGENT_NS_ID_BYTES];
	struct agent_ns_pcpu __percpu *pcpu;
	unsigned long budget_mask;
	struct ucounts *ucounts;
	bool expired;
	bool reaped;
};

static inline struct agent_namespace *to_agent_ns(struct ns_common *ns)
{
	return container_of(ns, struct agent_namespace, ns);
}

/* The AGENT_NS_GET_* ioctl numbers, for Rust: bindgen cannot expand _IOR(). */
enum agent_ns_ioctl_nr {
	AGENT_NS_IOC_INFO	= _IOC_NR(AGENT_NS_GET_INFO),
	AGENT_NS_IOC_COUNTERS	= _IOC_NR(AGENT_NS_GET_COUNTERS),
	AGENT_NS_IOC_BUDGET	= _IOC_NR(AGENT_NS_GET_BUDGET),
};

/* Why a session ended, as the agent_session_end tracepoint reports it. */
enum agent_ns_end_reason {
	AGENT_NS_END_EXIT,	/* its last task exited */
	AGENT_NS_END_BUDGET,	/* a budget action signalled its tasks */
	AGENT_NS_END_REAPED,	/* it outlived kernel.agent_ns.max_lifetime */
};

#ifdef CONFIG_AGENT_NS

extern struct agent_namespace init_agent_ns;
/* The top-level sessions (children of init_agent_ns), under the tree lock. */
extern struct list_head agent_ns_roots;
/*
 * On while at least one session other than the initial one exists and
 * kernel.agent_ns.enabled is 1.
 */
extern struct static_key_false agent_ns_hooks;
/*
 * On while some session has a limit under an action other than log: only
 * then can agent_ns_may() refuse or agent_ns_clamp() cut anything.
 */
extern struct static_key_false agent_ns_enforcing;

/*
 * The label security/agentns puts on a file created in a session: the
 * session id and the first @intent_len bytes of @intent (no NUL).
 */
struct agent_ns_label {
	u8 id[AGENT_NS_ID_BYTES];
	char intent[AGENT_NS_INTENT_MAX];
	u8 intent_len;
};

/* Implemented in Rust (rust/kernel/agent_ns/). */
void agent_ns_free(struct agent_namespace *ns);
long agent_ns_prctl(int option, unsigned long arg2, unsigned long arg3,
		    unsigned long arg4, unsigned long arg5);
int proc_agent_session_show(struct seq_file *m, struct pid_namespace *ns,
			    struct pid *pid, struct task_struct *task);
int proc_agent_counters_show(struct seq_file *m, struct pid_namespace *ns,
			     struct pid *pid, struct task_struct *task);
int proc_agent_intent_show(struct seq_file *m, struct pid_namespace *ns,
			   struct pid *pid, struct task_struct *task);
int agent_ns_charge(struct agent_namespace *ns, enum agent_ns_counter c, u64 val);
int agent_ns_check(struct agent_namespace *ns, enum agent_ns_counter c);
int agent_ns_bytes_left(struct agent_namespace *ns, enum agent_ns_counter c,
			size_t *len);
int __agent_ns_clamp_iter(struct agent_namespace *ns, enum agent_ns_counter c,
			  struct iov_iter *iter);
int agent_ns_reaper_start(void);
void agent_ns_reaper_reschedule(void);
void agent_ns_tree_init(void);
void agent_ns_resume(void);
bool agent_ns_file_label(struct agent_ns_label *label);
bool agent_ns_is_label(const char *name);
int agent_ns_may_change_label(const char *name);
long agent_ns_ioctl(struct agent_namespace *ns, unsigned int nr,
		    void __user *arg, size_t size);
struct ns_common *agentns_get(struct task_struct *task);
void agentns_put(struct ns_common *ns);
int agentns_install(struct nsset *nsset, struct ns_common *ns);
struct user_namespace *agentns_owner(struct ns_common *ns);
struct ns_common *agentns_get_parent(struct ns_common *ns);

/*
 * What agent_ns_charge() asks of the caller besides its return of 0 or
 * -EDQUOT: the event is a system call entered past a SIGKILL budget that
 * has already fired, and the caller's process must not run it.
 */
#define AGENT_NS_STRAGGLER	1

/* kernel/agent_namespaces.c: the counting hooks' budget path. */
void __no_caller_saved_registers
agent_ns_charge_count(struct agent_namespace *ns, enum agent_ns_counter c,
		      u64 val);
int __no_caller_saved_registers
agent_ns_charge_syscall(struct agent_namespace *ns);
int agent_ns_charge_sqe(struct agent_namespace *ns);

/*
 * kernel/agent_namespaces.c: kernel.agent_ns.max_lifetime and reap_interval,
 * in seconds, read by the reaper's work.
 */
extern unsigned int agent_ns_max_lifetime;
extern unsigned int agent_ns_reap_interval;

/* kernel/nsproxy.c */
int switch_agent_namespace(struct agent_namespace *ns);

/* kernel/agent_namespaces.c: for the Rust side. */
void agent_ns_activate(void);
void agent_ns_deactivate(void);
void agent_ns_enforcing_add(int delta);
void agent_ns_update_keys(void);
void agent_ns_update_keys_later(void);
bool agent_ns_enabled(void);
void agent_ns_signal_current(int sig);
void agent_ns_signal_picked(int sig,
			    bool (*pick)(struct task_struct *t,
					 struct agent_namespace *ns,
					 const void *arg),
			    const void *arg);
const struct cred *agent_ns_current_cred(void);
void __noreturn agent_ns_exit_straggler(void);
void agent_ns_log_budget_exceeded(struct agent_namespace *ns,
				  const char *counter, u64 value, u64 limit,
				  u32 action);
void agent_ns_log_reaped(struct agent_namespace *ns);
int agent_ns_proc_lock(struct task_struct *task);
void agent_ns_proc_unlock(struct task_struct *task);

/* For LSMs and audit: copy @task's session id to @id. */
int agent_ns_session_id(struct task_struct *task, u8 id[AGENT_NS_ID_BYTES]);

/*
 * Called by switch_task_namespaces() before it installs @new in @p (NULL
 * when the task exits).  SYSCALL_WORK_AGENT_NS marks the tasks whose agent
 * namespace is not the initial one: the hooks test it first, so that
 * tasks outside any session skip them.  @p is current (setns, unshare,
 * PR_SET_AGENT_NS, exec, exit), which counts no event while it switches,
 * or a child that fork() is abandoning and that never ran.
 */
static inline void agent_ns_switch_task(struct task_struct *p,
					struct nsproxy *new)
{
	if (new && new->agent_ns != &init_agent_ns)
		set_task_syscall_work(p, AGENT_NS);
	else
		clear_task_syscall_work(p, AGENT_NS);
}

/* Whether the counting hooks are on: a patched jump. */
static __always_inline bool agent_ns_hooks_on(void)
{
	return static_branch_unlikely(&agent_ns_hooks);
}

/* Whether the current task is in a session (meaningful while the hooks are on). */
static __always_inline bool agent_ns_in_session(void)
{
	return READ_ONCE(current_thread_info()->syscall_work) &
	       SYSCALL_WORK_AGENT_NS;
}

/* Whether the current task counts: the hooks are on and it is in a session. */
static __always_inline bool agent_ns_counting(void)
{
	return agent_ns_hooks_on() && agent_ns_in_session();
}

/*
 * The session of a task whose SYSCALL_WORK_AGENT_NS is set.  The flag
 * implies a session other than the initial one, and an nsproxy: an
 * exiting task clears it before it drops its nsproxy.
 */
static __always_inline struct agent_namespace *__agent_ns_current(void)
{
	return current->nsproxy->agent_ns;
}

/* Whether @ns or an ancestor limits @c. */
static __always_inline bool agent_ns_limited(struct agent_namespace *ns,
					     enum agent_ns_counter c)
{
	/*
	 * The mask changes under the tree lock (set_limits()); its readers
	 * need no ordering (an event that races a new budget is counted as
	 * it would have been a moment earlier), and a plain read of the one
	 * bit lets the compiler test it in memory: one instruction where
	 * READ_ONCE() makes two on the system call entry.
	 */
	return data_race(ns->budget_mask) & BIT(c);
}

/* The hooks' common part, for a task whose SYSCALL_WORK_AGENT_NS is set. */
static __always_inline void __agent_ns_count(enum agent_ns_counter c, u64 val)
{
	struct agent_namespace *ns = __agent_ns_current();

	if (unlikely(agent_ns_limited(ns, c)))
		agent_ns_charge_count(ns, c, val);
	else
		this_cpu_add(ns->pcpu->count[c], val);
}

/**
 * agent_ns_count - count an event in the current task's session
 * @c:   which counter
 * @val: how much
 *
 * With no session but the initial one in existence (or the feature
 * disabled) this is a patched-out jump.  While sessions exist, a task
 * outside all of them pays a load and a test of its syscall work flags,
 * and a task in a session one per-cpu add on its own session's counter,
 * at any nesting depth.  Only when the session or an ancestor has a
 * budget on @c does the event also charge the budgets, out of line and
 * before the add; a budget the event takes past its limit acts there and
 * then (see rust/kernel/agent_ns/budget.rs).  The out-of-line call also does the add, so that
 * the session pointer is not live across it, and on x86-64 it preserves
 * every register (__no_caller_saved_registers): a caller keeps no more
 * registers across the hook than it would without it.
 */
static __always_inline void agent_ns_count(enum agent_ns_counter c, u64 val)
{
	if (agent_ns_counting())
		__agent_ns_count(c, val);
}

/*
 * The system call entry of a task in a session that has no other system
 * call work: count the call.  Returns 1 to run it, 0 when a deny budget
 * refuses it (its return value then set to -EDQUOT), and -1 while the
 * hooks are off: the entry code then takes its general path, so that the
 * static key's jump does not land where every system call goes (where
 * IBT would put an ENDBR64 every system call runs).  Only the budget path
 * tests a result: the count is the straight line.
 */
static __always_inline int agent_ns_syscall_enter(void)
{
	struct agent_namespace *ns;

	if (!static_branch_likely(&agent_ns_hooks))
		return -1;
	ns = __agent_ns_current();
	if (unlikely(agent_ns_limited(ns, AGENT_NS_SYSCALLS)))
		return agent_ns_charge_syscall(ns) > 0;
	this_cpu_inc(ns->pcpu->count[AGENT_NS_SYSCALLS]);
	return 1;
}

/*
 * agent_ns_syscall_enter() for a task with other system call work too
 * (ptrace, seccomp, audit), which has found SYSCALL_WORK_AGENT_NS in the
 * flags it reads anyway.  Returns 1 when it counted, 0 while the hooks
 * are off, and -1 when a deny budget refuses the call: the entry code
 * must then skip it, its return value already set to -EDQUOT.
 */
static __always_inline int agent_ns_count_syscall(void)
{
	struct agent_namespace *ns;

	if (!static_branch_likely(&agent_ns_hooks))
		return 0;
	ns = __agent_ns_current();
	/*
	 * The budget path takes one argument: the entry code keeps the
	 * system call number in its argument register across the call.
	 */
	if (unlikely(agent_ns_limited(ns, AGENT_NS_SYSCALLS)))
		return agent_ns_charge_syscall(ns);
	this_cpu_inc(ns->pcpu->count[AGENT_NS_SYSCALLS]);
	return 1;
}

/*
 * One io_uring submission queue entry of a batch whose entries are charged
 * one by one (agent_ns_sqes_each()), as a system call: 0, or -EDQUOT when
 * a deny budget refuses it (or -EINTR for a process that a fired SIGKILL
 * budget is ending), which the request fails with.
 */
static __always_inline int agent_ns_count_sqe(void)
{
	struct agent_namespace *ns;

	if (!agent_ns_counting())
		return 0;
	ns = __agent_ns_current();
	if (unlikely(agent_ns_limited(ns, AGENT_NS_SYSCALLS)))
		return agent_ns_charge_sqe(ns);
	this_cpu_inc(ns->pcpu->count[AGENT_NS_SYSCALLS]);
	return 0;
}

/*
 * The end of a submission batch: count its @nr entries, unless @each says
 * that they were charged one by one (a budget on system calls set during
 * the batch is charged the batch at once).
 */
static __always_inline void agent_ns_count_sqes(unsigned int nr, bool each)
{
	if (agent_ns_counting() && !each)
		__agent_ns_count(AGENT_NS_SYSCALLS, nr);
}

/*
 * The session whose budgets limit @c for the current task, or NULL: the
 * common test of the checks made before an operation, for which only an
 * enforcing budget (agent_ns_enforcing) matters.
 */
static __always_inline struct agent_namespace *
agent_ns_enforced(enum agent_ns_counter c)
{
	struct agent_namespace *ns;

	if (!static_branch_unlikely(&agent_ns_enforcing) || !agent_ns_counting())
		return NULL;
	ns = __agent_ns_current();
	return likely(!agent_ns_limited(ns, c)) ? NULL : ns;
}

/*
 * io_uring: the entries of one submission batch count as system calls.
 * Returns whether each is charged on its own (agent_ns_count_sqe()), as
 * an enforcing budget on system calls needs (a deny budget refuses the
 * entries past its limit, a signal acts at the entry that crosses it):
 * while some session has an enforcing budget, under any budget on system
 * calls of the task's session or an ancestor.  Otherwise
 * agent_ns_count_sqes() adds them all at the end of the batch.
 */
static __always_inline bool agent_ns_sqes_each(void)
{
	return agent_ns_enforced(AGENT_NS_SYSCALLS);
}

/**
 * agent_ns_may - whether the current task may cause one more @c event
 * @c: a counted event (open, connect, unlink, fork, exec)
 *
 * Called before the operation.  Return: 0, or -EDQUOT when a deny budget
 * of the task's session or an ancestor would be taken past its limit; the
 * operation must then fail with it before it has any effect.
 */
static __always_inline int agent_ns_may(enum agent_ns_counter c)
{
	struct agent_namespace *ns = agent_ns_enforced(c);

	return ns ? agent_ns_check(ns, c) : 0;
}

/**
 * agent_ns_clamp - cut a transfer to what a byte budget lets through
 * @c:   AGENT_NS_READ_BYTES or AGENT_NS_WRITE_BYTES
 * @len: the bytes asked for; lowered to what is left of the budgets
 *
 * Called before the transfer.  Under an enforcing (SIGTERM, SIGKILL or
 * deny) budget on @c that @len bytes would take past its limit, @len is
 * cut to what is left and the budget acts.  Return: 0, or -EDQUOT when
 * nothing is left of such a budget and @len was not 0.
 */
static __always_inline int agent_ns_clamp(enum agent_ns_counter c, size_t *len)
{
	struct agent_namespace *ns = agent_ns_enforced(c);

	return ns ? agent_ns_bytes_left(ns, c, len) : 0;
}

/*
 * agent_ns_clamp() for the bytes of an iov_iter, which it truncates.  The
 * work is out of line: a caller outside an enforced budget does not keep
 * the length in memory for it.
 */
static __always_inline int agent_ns_clamp_iter(enum agent_ns_counter c,
					       struct iov_iter *iter)
{
	struct agent_namespace *ns = agent_ns_enforced(c);

	return ns ? __agent_ns_clamp_iter(ns, c, iter) : 0;
}

/*
 * agent_ns_clamp() for a transfer from one descriptor to another, which
 * counts as read and as written.
 */
static __always_inline int agent_ns_clamp_transfer(size_t *len)
{
	int err = agent_ns_clamp(AGENT_NS_READ_BYTES, len);

	return err ?: agent_ns_clamp(AGENT_NS_WRITE_BYTES, len);
}

/* Count a transfer's @ret bytes as read and written; returns @ret. */
static __always_inline ssize_t agent_ns_count_transfer(ssize_t ret)
{
	if (agent_ns_counting() && ret > 0) {
		__agent_ns_count(AGENT_NS_READ_BYTES, ret);
		__agent_ns_count(AGENT_NS_WRITE_BYTES, ret);
	}
	return ret;
}

/*
 * Count one event if @err is 0; returns @err.  The static key comes
 * first: with no session, the test of @err is not made either.
 */
static __always_inline int agent_ns_count_ok(enum agent_ns_counter c, int err)
{
	if (agent_ns_counting() && !err)
		__agent_ns_count(c, 1);
	return err;
}

/* Count @ret bytes if it is a positive byte count; returns @ret. */
static __always_inline ssize_t agent_ns_count_bytes(enum agent_ns_counter c,
						    ssize_t ret)
{
	if (agent_ns_counting() && ret > 0)
		__agent_ns_count(c, ret);
	return ret;
}

static inline struct agent_namespace *get_agent_ns(struct agent_namespace *ns)
{
	__ns_ref_inc(&ns->ns);
	return ns;
}

static inline void put_agent_ns(struct agent_namespace *ns)
{
	if (ns && __ns_ref_put(&ns->ns))
		agent_ns_free(ns);
}

#else /* !CONFIG_AGENT_NS */

static inline void agent_ns_switch_task(struct task_struct *p,
					struct nsproxy *new)
{
}

static inline bool agent_ns_counting(void)
{
	return false;
}

static inline int agent_ns_syscall_enter(void)
{
	return -1;
}

static inline int agent_ns_count_syscall(void)
{
	return 0;
}

static inline int agent_ns_count_sqe(void)
{
	return 0;
}

static inline bool agent_ns_sqes_each(void)
{
	return false;
}

static inline void agent_ns_count_sqes(unsigned int nr, bool each)
{
}

static inline int agent_ns_may(enum agent_ns_counter c)
{
	return 0;
}

static inline int agent_ns_clamp(enum agent_ns_counter c, size_t *len)
{
	return 0;
}

static inline int agent_ns_clamp_iter(enum agent_ns_counter c,
				      struct iov_iter *iter)
{
	return 0;
}

static inline int agent_ns_clamp_transfer(size_t *len)
{
	return 0;
}

static inline ssize_t agent_ns_count_transfer(ssize_t ret)
{
	return ret;
}

static inline void agent_ns_count(enum agent_ns_counter c, u64 val)
{
}

static inline int agent_ns_count_ok(enum agent_ns_counter c, int err)
{
	return err;
}

static inline ssize_t agent_ns_count_bytes(enum agent_ns_counter c, ssize_t ret)
{
	return ret;
}

static inline struct agent_namespace *get_agent_ns(struct agent_namespace *ns)
{
	return ns;
}

static inline void put_agent_ns(struct agent_namespace *ns)
{
}

static inline int agent_ns_session_id(struct task_struct *task,
				      u8 id[AGENT_NS_ID_BYTES])
{
	memset(id, 0, AGENT_NS_ID_BYTES);
	return 0;
}

static inline long agent_ns_prctl(int option, unsigned long arg2,
				  unsigned long arg3, unsigned long arg4,
				  unsigned long arg5)
{
	return -EINVAL;
}

#endif /* CONFIG_AGENT_NS */

struct audit_buffer;
#if defined(CONFIG_AGENT_NS) && defined(CONFIG_AUDIT)
/* The " agent_session=" field of a record about current, in a session. */
void agent_ns_audit_session(struct audit_buffer *ab);
#else
static inline void agent_ns_audit_session(struct audit_buffer *ab)
{
}
#endif

#endif /* _LINUX_AGENT_NAMESPACES_H */
