// SPDX-License-Identifier: GPL-2.0

#include <linux/list.h>
#include <linux/sched/signal.h>
#include <linux/user_namespace.h>

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
