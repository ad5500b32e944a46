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

#include <linux/ns_common.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <uapi/linux/agent_namespaces.h>

struct pid;
struct pid_namespace;
struct seq_file;
struct task_struct;
struct user_namespace;

/* Deepest nesting below the initial session (as for pid namespaces). */
#define AGENT_NS_MAX_DEPTH	32

/*
 * ns_common.ns_type of agent namespaces.  Provisional: every bit of the
 * 32-bit clone flag word is taken, so the final tag (and the build-time
 * guard against the CLONE_* flags) comes with the nsfs integration.
 */
#define AGENT_NS_TYPE		0U

/**
 * struct agent_namespace - one agent session
 * @ns:      namespace core; @ns.__ns_ref is the session's only reference count
 * @parent:  enclosing session (holds a reference); NULL for init_agent_ns
 * @user_ns: owning user namespace (holds a reference)
 * @level:   nesting depth, 0 for init_agent_ns
 * @id:      session id; all zeros only for init_agent_ns
 *
 * Every field but the reference count is immutable after creation.
 */
struct agent_namespace {
	struct ns_common ns;
	struct agent_namespace *parent;
	struct user_namespace *user_ns;
	unsigned int level;
	u8 id[AGENT_NS_ID_BYTES];
};

#ifdef CONFIG_AGENT_NS

extern struct agent_namespace init_agent_ns;

/* Implemented in Rust (rust/kernel/agent_ns/). */
void agent_ns_free(struct agent_namespace *ns);
long agent_ns_prctl(int option, unsigned long arg2, unsigned long arg3,
		    unsigned long arg4, unsigned long arg5);
int proc_agent_session_show(struct seq_file *m, struct pid_namespace *ns,
			    struct pid *pid, struct task_struct *task);

/* kernel/nsproxy.c */
int switch_agent_namespace(struct agent_namespace *ns);

/*
 * kernel/agent_namespaces.c: task accessors for the Rust side, which must
 * not depend on bindgen's view of struct task_struct's layout.
 */
struct agent_namespace *current_agent_ns(void);
struct agent_namespace *task_agent_ns_get(struct task_struct *task);
extern const size_t agent_ns_c_layout[6];

static inline struct agent_namespace *get_agent_ns(struct agent_namespace *ns)
{
	refcount_inc(&ns->ns.__ns_ref);
	return ns;
}

static inline void put_agent_ns(struct agent_namespace *ns)
{
	if (ns && refcount_dec_and_test(&ns->ns.__ns_ref))
		agent_ns_free(ns);
}

#else /* !CONFIG_AGENT_NS */

static inline struct agent_namespace *get_agent_ns(struct agent_namespace *ns)
{
	return ns;
}

static inline void put_agent_ns(struct agent_namespace *ns)
{
}

static inline long agent_ns_prctl(int option, unsigned long arg2,
				  unsigned long arg3, unsigned long arg4,
				  unsigned long arg5)
{
	return -EINVAL;
}

#endif /* CONFIG_AGENT_NS */

#endif /* _LINUX_AGENT_NAMESPACES_H */
