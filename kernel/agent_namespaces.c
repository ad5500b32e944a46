// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespaces: the C side.
 *
 * The implementation is Rust (rust/kernel/agent_ns/).  This file holds
 * only what has to be C: the statically initialised initial session that
 * init_nsproxy points at before any initcall has run, the nsfs operations
 * table (a __randomize_layout structure), the static keys, the sysctls,
 * the task-list walk that sends the signals Rust chooses, the trace event
 * definitions, and accessors for fields of core structures whose layout
 * the Rust side must not assume.
 */

#include <linux/agent_namespaces.h>
#include <linux/audit.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/jump_label.h>
#include <linux/nsproxy.h>
#include <linux/nstree.h>
#include <linux/proc_ns.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <linux/stddef.h>
#include <linux/ptrace.h>
#include <linux/uio.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include <asm/syscall.h>

#define CREATE_TRACE_POINTS
#define CREATE_RUST_TRACE_POINTS
#include <trace/events/agent_ns.h>

/* Generated from <uapi/linux/sched.h> by gen_agent_ns_type_guard.sh. */
#include "agent_ns_type_guard.h"
static_assert(AGENT_NS_TYPE == AGENT_NS);

/* The top-level sessions, under the tree lock (rust/kernel/agent_ns/tree.rs). */
LIST_HEAD(agent_ns_roots);

/*
 * The counting hooks run while agent_ns_hooks is on: while at least one
 * session other than the initial one exists (agent_ns_live counts them)
 * and kernel.agent_ns.enabled is 1.  One key, so that a hook is a single
 * patched jump.  The key goes on before the first session's creator
 * returns, and off a second after the last session is freed (so that a
 * supervisor that creates short sessions in a loop does not patch the
 * kernel's text on every one); every change is made under
 * agent_ns_key_lock, from agent_ns_live and agent_ns_on as they are then.
 */
DEFINE_STATIC_KEY_FALSE(agent_ns_hooks);
static atomic_t agent_ns_live = ATOMIC_INIT(0);
static bool agent_ns_on = true;		/* kernel.agent_ns.enabled */
static DEFINE_MUTEX(agent_ns_key_lock);

/*
 * The enforcement hooks (agent_ns_may(), agent_ns_clamp()) run while
 * agent_ns_enforcing is on: while some session has a limit under an action
 * other than log (agent_ns_nr_enforcing counts them, under the session tree
 * lock).  The same rules: on before the setter returns, off a second after
 * the last such budget went.
 */
DEFINE_STATIC_KEY_FALSE(agent_ns_enforcing);
static atomic_t agent_ns_nr_enforcing = ATOMIC_INIT(0);

static void agent_ns_set_key(struct static_key_false *key, bool want)
{
	if (want == static_key_enabled(key))
		return;
	if (want)
		static_branch_enable(key);
	else
		static_branch_disable(key);
}

/* Switch both keys to what the state asks for now; may sleep. */
void agent_ns_update_keys(void)
{
	mutex_lock(&agent_ns_key_lock);
	agent_ns_set_key(&agent_ns_hooks,
			 agent_ns_on && atomic_read(&agent_ns_live));
	agent_ns_set_key(&agent_ns_enforcing,
			 atomic_read(&agent_ns_nr_enforcing) > 0);
	mutex_unlock(&agent_ns_key_lock);
}

static void agent_ns_keys_work(struct work_struct *work)
{
	agent_ns_update_keys();
}

static DECLARE_DELAYED_WORK(agent_ns_keys_later, agent_ns_keys_work);

/* Switch a key off a second from now, if it is still not needed then. */
void agent_ns_update_keys_later(void)
{
	mod_delayed_work(system_dfl_wq, &agent_ns_keys_later, HZ);
}

/* A session was created (process context, may sleep). */
void agent_ns_activate(void)
{
	atomic_inc(&agent_ns_live);
	agent_ns_update_keys();
}

/* A session was freed. */
void agent_ns_deactivate(void)
{
	if (atomic_dec_and_test(&agent_ns_live))
		agent_ns_update_keys_later();
}

/*
 * A session's budget started (@delta 1) or stopped (-1) enforcing, under
 * the tree lock; the caller then calls agent_ns_update_keys() (start) or
 * agent_ns_update_keys_later() (stop) without it.
 */
void agent_ns_enforcing_add(int delta)
{
	atomic_add(delta, &agent_ns_nr_enforcing);
}

/*
 * kernel.agent_ns.enabled: 0 makes the feature inert: the counting hooks
 * are no-ops, no budget acts (elapsed-time deadlines that pass meanwhile
 * act when it is enabled again), the reaper does nothing, and
 * PR_SET_AGENT_NS fails with EOPNOTSUPP; existing sessions keep their ids
 * and limits.
 */
static int agent_ns_enabled_sysctl = 1;
static DEFINE_MUTEX(agent_ns_sysctl_lock);

bool agent_ns_enabled(void)
{
	return READ_ONCE(agent_ns_on);
}

static void agent_ns_set_enabled(bool on)
{
	bool was;

	mutex_lock(&agent_ns_key_lock);
	was = agent_ns_on;
	WRITE_ONCE(agent_ns_on, on);
	mutex_unlock(&agent_ns_key_lock);
	agent_ns_update_keys();
	if (on && !was)
		agent_ns_resume();
}

/*
 * agent_ns=off on the kernel command line: the feature is inert from boot,
 * as with kernel.agent_ns.enabled=0, and the sysctl cannot turn it on.
 */
static bool agent_ns_boot_off __ro_after_init;

static int __init agent_ns_setup(char *str)
{
	bool on;

	if (kstrtobool(str, &on))
		pr_warn("agent_ns: ignoring agent_ns=%s (expected on or off)\n", str);
	else
		agent_ns_boot_off = !on;
	return 1;
}
__setup("agent_ns=", agent_ns_setup);

static int agent_ns_enabled_handler(const struct ctl_table *table, int write,
				    void *buffer, size_t *lenp, loff_t *ppos)
{
	int ret, val;
	const struct ctl_table t = {
		.data	= &val,
		.maxlen	= sizeof(val),
		.extra1	= SYSCTL_ZERO,
		.extra2	= SYSCTL_ONE,
	};

	mutex_lock(&agent_ns_sysctl_lock);
	val = agent_ns_enabled_sysctl;
	ret = proc_dointvec_minmax(&t, write, buffer, lenp, ppos);
	if (ret || !write)
		goto out;
	if (val && agent_ns_boot_off) {
		ret = -EPERM;
		goto out;
	}
	agent_ns_enabled_sysctl = val;
	agent_ns_set_enabled(val);
out:
	mutex_unlock(&agent_ns_sysctl_lock);
	return ret;
}

/*
 * The reaper: every kernel.agent_ns.reap_interval seconds it kills the
 * tasks of every session older than kernel.agent_ns.max_lifetime seconds.
 * Off by default (0: no limit): a supervisor that wants its session to end
 * sets max_elapsed_ns, and a machine-wide lifetime is the administrator's
 * choice.  It does nothing while the feature is disabled.  Its work is
 * Rust's (rust/kernel/agent_ns/reaper.rs), which reads these two.
 */
unsigned int agent_ns_max_lifetime;
unsigned int agent_ns_reap_interval = 60;
static const unsigned int agent_ns_reap_interval_max = 3600;

/*
 * Send @sig to the process of every thread that @pick chooses.  @pick sees
 * the thread and its session (NULL once the thread has dropped its
 * namespaces) under rcu_read_lock() and task_lock(), and must not sleep.
 * The walk is C because 7.3 has no Rust abstraction of the task list; the
 * choice, and the authority it checks, are Rust's
 * (rust/kernel/agent_ns/signal.rs).
 */
void agent_ns_signal_picked(int sig,
			    bool (*pick)(struct task_struct *t,
					 struct agent_namespace *ns,
					 const void *arg),
			    const void *arg)
{
	struct task_struct *g, *t;

	rcu_read_lock();
	for_each_process_thread(g, t) {
		bool picked;

		task_lock(t);
		picked = pick(t, t->nsproxy ? t->nsproxy->agent_ns : NULL, arg);
		task_unlock(t);
		if (picked)
			do_send_sig_info(sig, SEND_SIG_PRIV, t, PIDTYPE_TGID);
	}
	rcu_read_unlock();
}

/* The caller's credentials, for a budget to remember who set it. */
const struct cred *agent_ns_current_cred(void)
{
	return current_cred();
}

#ifdef CONFIG_AUDIT
void agent_ns_audit_session(struct audit_buffer *ab)
{
	/* NULL once current has dropped its namespaces on exit. */
	struct nsproxy *nsp = current->nsproxy;

	if (nsp && nsp->agent_ns != &init_agent_ns)
		audit_log_format(ab, " agent_session=%*phN", AGENT_NS_ID_BYTES,
				 nsp->agent_ns->id);
}
#endif

/*
 * Start an AUDIT_AGENT_NS record "op=@op agent_session=<id of @ns>"; the
 * caller adds its fields and ends it.  NULL when audit is disabled (as for
 * the kernel's other event records) or short of memory: the callers may
 * not sleep.
 */
static struct audit_buffer *agent_ns_audit_start(struct agent_namespace *ns,
						 const char *op)
{
	struct audit_buffer *ab;

	if (!audit_enabled)
		return NULL;
	ab = audit_log_start(audit_context(), GFP_ATOMIC, AUDIT_AGENT_NS);
	if (ab)
		audit_log_format(ab, "op=%s agent_session=%*phN", op,
				 AGENT_NS_ID_BYTES, ns->id);
	return ab;
}

/* The reaper is about to kill the tasks of @ns (rate-limited). */
void agent_ns_log_reaped(struct agent_namespace *ns)
{
	unsigned int lifetime = READ_ONCE(agent_ns_max_lifetime);
	struct audit_buffer *ab;

	pr_warn_ratelimited("agent_ns: session %*phN outlived kernel.agent_ns.max_lifetime (%u s): killing its tasks\n",
			    AGENT_NS_ID_BYTES, ns->id, lifetime);
	ab = agent_ns_audit_start(ns, "reaped");
	if (ab) {
		audit_log_format(ab, " max_lifetime=%u", lifetime);
		audit_log_end(ab);
	}
}

static int agent_ns_reap_interval_handler(const struct ctl_table *table,
					  int write, void *buffer,
					  size_t *lenp, loff_t *ppos)
{
	int ret = proc_douintvec_minmax(table, write, buffer, lenp, ppos);

	if (!ret && write && !agent_ns_boot_off)
		agent_ns_reaper_reschedule();
	return ret;
}

static const struct ctl_table agent_ns_sysctls[] = {
	{
		.procname	= "enabled",
		.data		= &agent_ns_enabled_sysctl,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= agent_ns_enabled_handler,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "max_lifetime",
		.data		= &agent_ns_max_lifetime,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec,
	},
	{
		.procname	= "reap_interval",
		.data		= &agent_ns_reap_interval,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= agent_ns_reap_interval_handler,
		.extra1		= SYSCTL_ONE,
		.extra2		= (void *)&agent_ns_reap_interval_max,
	},
};

static int __init agent_ns_init(void)
{
	agent_ns_tree_init();
	if (agent_ns_boot_off) {
		agent_ns_enabled_sysctl = 0;
		agent_ns_set_enabled(false);
		pr_info("agent_ns: off (agent_ns=off on the kernel command line)\n");
	}
	__ns_tree_add_raw(&init_agent_ns.ns, &agent_ns_tree);
	register_sysctl_init("kernel/agent_ns", agent_ns_sysctls);
	return agent_ns_boot_off ? 0 : agent_ns_reaper_start();
}
late_initcall(agent_ns_init);

/* The operations are Rust's (rust/kernel/agent_ns/nsfs.rs). */
const struct proc_ns_operations agentns_operations = {
	.name		= "agent",
	.get		= agentns_get,
	.put		= agentns_put,
	.install	= agentns_install,
	.owner		= agentns_owner,
	.get_parent	= agentns_get_parent,
};

/*
 * The session every task starts in: id all zeros, never freed, always
 * active (its fixed ns_id makes the namespace core leave its reference
 * counts alone).
 */
/*
 * The initial session counts nothing: its tasks do not carry
 * SYSCALL_WORK_AGENT_NS, so the hooks never reach its counters.  They
 * still point at a per-cpu block, never read, so that a task whose flag
 * ever disagreed with its session would add to this sink rather than
 * through a NULL per-cpu pointer.
 */
static DEFINE_PER_CPU(struct agent_ns_pcpu, agent_ns_init_sink);

struct agent_namespace init_agent_ns = {
	.ns = {
		.__ns_ref			= REFCOUNT_INIT(1),
		.__ns_ref_active		= ATOMIC_INIT(1),
		.ns_type			= AGENT_NS_TYPE,
		.ns_id				= AGENT_NS_INIT_ID,
		.inum				= AGENT_NS_INIT_INO,
		.ops				= &agentns_operations,
		.ns_unified_node.ns_list_entry	=
			LIST_HEAD_INIT(init_agent_ns.ns.ns_unified_node.ns_list_entry),
		.ns_tree_node.ns_list_entry	=
			LIST_HEAD_INIT(init_agent_ns.ns.ns_tree_node.ns_list_entry),
		.ns_owner_node.ns_list_entry	=
			LIST_HEAD_INIT(init_agent_ns.ns.ns_owner_node.ns_list_entry),
		.ns_owner_root.ns_list_head	=
			LIST_HEAD_INIT(init_agent_ns.ns.ns_owner_root.ns_list_head),
	},
	.user_ns	= &init_user_ns,
	.pcpu		= &agent_ns_init_sink,
};

/**
 * agent_ns_session_id - the session id of a task
 * @task: the task
 * @id:   where to copy the id (all zeros for the initial session)
 *
 * For LSMs and audit; callable in atomic context, but not with
 * task_lock(@task) held.  No reference is taken (the nsproxy pins the
 * session and the id never changes), so the call can never be the one that
 * frees a session.  Return: 0, or -ESRCH if @task has exited far enough to
 * have dropped its namespaces.
 */
int agent_ns_session_id(struct task_struct *task, u8 id[AGENT_NS_ID_BYTES])
{
	int ret = 0;

	task_lock(task);
	if (task->nsproxy)
		memcpy(id, task->nsproxy->agent_ns->id, AGENT_NS_ID_BYTES);
	else
		ret = -ESRCH;
	task_unlock(task);
	return ret;
}
EXPORT_SYMBOL_GPL(agent_ns_session_id);

/*
 * /proc/PID/agent_counters and agent_intent follow /proc/PID/io: the
 * reader needs ptrace read access to @task with its own credentials,
 * checked under exec_update_lock so that a set-user-ID exec cannot start
 * between the check and the read.  Returns 0 with the lock held (dropped
 * by agent_ns_proc_unlock()), or -EACCES, or -EINTR for a fatal signal.
 */
int agent_ns_proc_lock(struct task_struct *task)
{
	int err = down_read_killable(&task->signal->exec_update_lock);

	if (err)
		return err;
	if (!ptrace_may_access(task, PTRACE_MODE_READ_FSCREDS)) {
		up_read(&task->signal->exec_update_lock);
		return -EACCES;
	}
	return 0;
}

void agent_ns_proc_unlock(struct task_struct *task)
{
	up_read(&task->signal->exec_update_lock);
}

/* Send @sig to the current process (a budget's straggler). */
void agent_ns_signal_current(int sig)
{
	do_send_sig_info(sig, SEND_SIG_PRIV, current, PIDTYPE_TGID);
}

/*
 * The counting hooks' out-of-line path, for an event on which the session
 * or an ancestor has a budget: charge the budgets (Rust), then count.  It
 * saves what it clobbers itself, so that the hot paths it is called from
 * keep nothing across the call.
 */
void __no_caller_saved_registers
agent_ns_charge_count(struct agent_namespace *ns, enum agent_ns_counter c,
		      u64 val)
{
	agent_ns_charge(ns, c, val);
	this_cpu_add(ns->pcpu->count[c], val);
}

/* agent_ns_clamp_iter() under an enforced budget on @c. */
int __agent_ns_clamp_iter(struct agent_namespace *ns, enum agent_ns_counter c,
			  struct iov_iter *iter)
{
	size_t len = iov_iter_count(iter);
	int err = agent_ns_bytes_left(ns, c, &len);

	if (!err)
		iov_iter_truncate(iter, len);
	return err;
}

/*
 * The system calls a task past a deny budget on max_syscalls may still
 * make, so that it can return from a signal handler and exit.
 */
static bool agent_ns_native_exempt(long nr)
{
	switch (nr) {
	case __NR_restart_syscall:
	case __NR_exit:
	case __NR_exit_group:
#ifdef __NR_rt_sigreturn
	case __NR_rt_sigreturn:
#endif
		return true;
	}
	return false;
}

/*
 * The same for the ABI of the current call.  The 32-bit numbers are the
 * i386 ABI's (fixed): 0 restart_syscall, 1 exit, 119 sigreturn, 173
 * rt_sigreturn, 252 exit_group.  x32 calls carry __X32_SYSCALL_BIT on the
 * 64-bit numbers, but for rt_sigreturn (513).
 */
static bool agent_ns_syscall_exempt(struct pt_regs *regs)
{
	long nr = syscall_get_nr(current, regs);

#ifdef __X32_SYSCALL_BIT
	if (in_x32_syscall())
		return nr == (__X32_SYSCALL_BIT | 513) ||
		       agent_ns_native_exempt(nr & ~__X32_SYSCALL_BIT);
#endif
	if (in_compat_syscall())
		return nr == 0 || nr == 1 || nr == 119 || nr == 173 || nr == 252;
	return agent_ns_native_exempt(nr);
}

/*
 * The same for one system call, from the entry code: 1 to run it, -1 to
 * skip it with -EDQUOT as its return value (a deny budget).
 */
int __no_caller_saved_registers
agent_ns_charge_syscall(struct agent_namespace *ns)
{
	int ret = agent_ns_charge(ns, AGENT_NS_SYSCALLS, 1);
	struct pt_regs *regs = current_pt_regs();

	/* A straggler's call is neither counted nor run. */
	if (unlikely(ret == AGENT_NS_STRAGGLER))
		agent_ns_exit_straggler();
	this_cpu_inc(ns->pcpu->count[AGENT_NS_SYSCALLS]);
	if (likely(!ret) || agent_ns_syscall_exempt(regs))
		return 1;
	syscall_set_return_value(current, regs, -EDQUOT, 0);
	return -1;
}

/* The same for an io_uring submission queue entry. */
int agent_ns_charge_sqe(struct agent_namespace *ns)
{
	int ret = agent_ns_charge(ns, AGENT_NS_SYSCALLS, 1);

	if (ret == AGENT_NS_STRAGGLER) {
		agent_ns_signal_current(SIGKILL);
		return -EINTR;
	}
	this_cpu_inc(ns->pcpu->count[AGENT_NS_SYSCALLS]);
	return ret;
}

/*
 * A system call entered past a SIGKILL budget that has already fired, by a
 * thread whose SIGKILL has not landed yet: end the process here, at system
 * call entry, before the call runs (as seccomp's kill actions do).
 */
void __noreturn agent_ns_exit_straggler(void)
{
	do_group_exit(SIGKILL);
}

/* Log a budget crossing (rate-limited); the tracepoint is Rust's. */
void agent_ns_log_budget_exceeded(struct agent_namespace *ns,
				  const char *counter, u64 value, u64 limit,
				  u32 action)
{
	static const char * const actions[] = { "log", "SIGTERM", "SIGKILL", "deny" };
	const char *name = action < ARRAY_SIZE(actions) ? actions[action] : "?";
	struct audit_buffer *ab;

	pr_warn_ratelimited("agent_ns: session %*phN exceeded its %s budget (%llu > %llu): %s\n",
			    AGENT_NS_ID_BYTES, ns->id, counter, value, limit, name);
	ab = agent_ns_audit_start(ns, "budget");
	if (ab) {
		audit_log_format(ab, " counter=%s value=%llu limit=%llu action=%s",
				 counter, value, limit, name);
		audit_log_end(ab);
	}
}
