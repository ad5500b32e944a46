// SPDX-License-Identifier: GPL-2.0

#include <linux/agent_namespaces.h>
#include <linux/cred.h>
#include <linux/list.h>
#include <linux/nsproxy.h>
#include <linux/pid_namespace.h>
#include <linux/security.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#ifdef CONFIG_AGENT_NS
/*
 * The calling task's session, read in C: bindgen's view of struct
 * task_struct is not the C compiler's on this toolchain.  No reference is
 * taken: only current changes its nsproxy.
 */
__rust_helper struct agent_namespace *rust_helper_current_agent_ns(void)
{
	return current->nsproxy->agent_ns;
}

/*
 * @task's session with a reference, or NULL once @task has dropped its
 * namespaces (read in C for the same reason).
 */
__rust_helper struct agent_namespace *rust_helper_task_agent_ns_get(struct task_struct *task)
{
	struct agent_namespace *ns = NULL;

	task_lock(task);
	if (task->nsproxy)
		ns = get_agent_ns(task->nsproxy->agent_ns);
	task_unlock(task);
	return ns;
}

/* Frees a session's memory once RCU walkers of the namespace tree are done. */
__rust_helper void rust_helper_agent_ns_free_rcu(struct agent_namespace *ns)
{
	kfree_rcu(ns, ns.ns_rcu);
}

/* For the long walks under the tree lock (cond_resched() is a macro). */
__rust_helper void rust_helper_agent_ns_cond_resched(void)
{
	cond_resched();
}

/* @t's objective credentials; the caller holds rcu_read_lock(). */
__rust_helper const struct cred *rust_helper_agent_ns_task_cred(struct task_struct *t)
{
	return __task_cred(t);
}

/*
 * For a pid namespace's init (SIGNAL_UNKILLABLE), the owner of its pid
 * namespace, whose CAP_KILL alone may signal it; NULL for another task.
 * The caller holds rcu_read_lock().
 */
__rust_helper struct user_namespace *rust_helper_agent_ns_unkillable_owner(struct task_struct *t)
{
	if (unlikely(t->signal->flags & SIGNAL_UNKILLABLE))
		return task_active_pid_ns(t)->user_ns;
	return NULL;
}

/* Whether @cred has CAP_KILL over @ns, without an audit record. */
__rust_helper bool rust_helper_agent_ns_capable_kill(const struct cred *cred,
						     struct user_namespace *ns)
{
	return !security_capable(cred, ns, CAP_KILL, CAP_OPT_NOAUDIT);
}

/*
 * Whether the LSMs let a task with @cred send @sig to @t, as
 * check_kill_permission() asks them for kill(2).  The caller holds
 * rcu_read_lock().
 */
__rust_helper bool rust_helper_agent_ns_lsm_may_kill(struct task_struct *t, int sig,
						     const struct cred *cred)
{
	struct kernel_siginfo info;

	clear_siginfo(&info);
	info.si_signo = sig;
	info.si_code = SI_KERNEL;
	return !security_task_kill(t, &info, sig, cred);
}
#endif

__rust_helper bool rust_helper_refcount_inc_not_zero(refcount_t *r)
{
	return refcount_inc_not_zero(r);
}

__rust_helper struct user_namespace *rust_helper_get_user_ns(struct user_namespace *ns)
{
	return get_user_ns(ns);
}

__rust_helper void rust_helper_put_user_ns(struct user_namespace *ns)
{
	put_user_ns(ns);
}

__rust_helper bool rust_helper_thread_group_empty(struct task_struct *p)
{
	return thread_group_empty(p);
}

__rust_helper void rust_helper_list_del(struct list_head *entry)
{
	list_del(entry);
}

__rust_helper bool rust_helper_task_no_new_privs(struct task_struct *p)
{
	return task_no_new_privs(p);
}
