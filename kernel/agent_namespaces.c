// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespaces: the C side.
 *
 * The implementation is Rust (rust/kernel/agent_ns/).  This file holds
 * only what has to be C: the statically initialised initial session that
 * init_nsproxy points at before any initcall has run, and accessors for
 * fields of core structures whose layout the Rust side must not assume.
 */

#include <linux/agent_namespaces.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/stddef.h>
#include <linux/user_namespace.h>

/* The session every task starts in: id all zeros, never freed. */
struct agent_namespace init_agent_ns = {
	.ns.__ns_ref	= REFCOUNT_INIT(1),
	.ns.ns_type	= AGENT_NS_TYPE,
	.user_ns	= &init_user_ns,
};

/*
 * The calling task's session.  No reference is taken: only current
 * changes its nsproxy, so the session stays valid while current runs.
 */
struct agent_namespace *current_agent_ns(void)
{
	return current->nsproxy->agent_ns;
}

/* @task's session with a reference, or NULL once @task has dropped it. */
struct agent_namespace *task_agent_ns_get(struct task_struct *task)
{
	struct agent_namespace *ns = NULL;

	task_lock(task);
	if (task->nsproxy)
		ns = get_agent_ns(task->nsproxy->agent_ns);
	task_unlock(task);
	return ns;
}

/* The C compiler's layout, checked against bindgen's by a KUnit test. */
const size_t agent_ns_c_layout[6] = {
	sizeof(struct agent_namespace),
	offsetof(struct agent_namespace, parent),
	offsetof(struct agent_namespace, user_ns),
	offsetof(struct agent_namespace, level),
	offsetof(struct agent_namespace, id),
	sizeof(struct ns_common),
};
