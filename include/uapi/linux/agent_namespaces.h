/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Agent namespaces: a session identity, counters and budgets per task.
 *
 * See Documentation/userspace-api/agent_namespaces.rst.
 */
#ifndef _UAPI_LINUX_AGENT_NAMESPACES_H
#define _UAPI_LINUX_AGENT_NAMESPACES_H

#include <linux/types.h>
#include <linux/nsfs.h>

/* Size of a session id in bytes; the initial session's id is all zeros. */
#define AGENT_NS_ID_BYTES	16
/* Longest intent tag, not counting the terminating NUL. */
#define AGENT_NS_INTENT_MAX	63

/*
 * The namespace type of agent namespaces: what NS_GET_NSTYPE returns and
 * what setns(2) and listns(2) take to mean "agent namespace".  There is no
 * CLONE_NEWAGENT: every bit of the 32-bit clone flag word is taken, so
 * the type is a bit of the CSIGNAL field (as CLONE_NEWTIME is), which
 * unshare(2) and setns(2) never read as a signal.  Sessions are created
 * with PR_SET_AGENT_NS, not with clone(2) or unshare(2).
 */
#define AGENT_NS_TYPE		0x00000040

/*
 * prctl(2) options.  The numbers are fixed ABI: binaries built against the
 * earlier wintermute header use them.  Unused arguments must be zero.
 */
#define PR_AGENT_BASE			0x41544E53	/* "ATNS" */
/* arg2: __u8 id[AGENT_NS_ID_BYTES] out */
#define PR_GET_AGENT_SESSION_ID		(PR_AGENT_BASE + 1)
/* arg2: const char *tag (NUL-terminated, printable ASCII) */
#define PR_SET_AGENT_INTENT_TAG		(PR_AGENT_BASE + 2)
/* arg2: char buf[AGENT_NS_INTENT_MAX + 1] out */
#define PR_GET_AGENT_INTENT_TAG		(PR_AGENT_BASE + 3)
/* arg2: const struct agent_ns_budget *, arg3: size (0 = version 0) */
#define PR_SET_AGENT_BUDGET_LIMITS	(PR_AGENT_BASE + 4)
/* arg2: struct agent_ns_counters * out, arg3: size (0 = version 0) */
#define PR_GET_AGENT_COUNTERS		(PR_AGENT_BASE + 5)
/* arg2: __u8 id[AGENT_NS_ID_BYTES] out: the parent session's id */
#define PR_GET_AGENT_PARENT_ID		(PR_AGENT_BASE + 6)
/* no arguments: create a child session of the caller's and enter it */
#define PR_SET_AGENT_NS			(PR_AGENT_BASE + 7)
/* arg2: struct agent_ns_budget * out, arg3: size (0 = version 0) */
#define PR_GET_AGENT_BUDGET_LIMITS	(PR_AGENT_BASE + 8)

/*
 * Counters of a session, summed over all cpus and over all descendant
 * sessions (see Documentation/admin-guide/agent-namespaces.rst for the
 * exact definition of each).  The first seven fields are version 0 and
 * never change; new counters are appended.  PR_GET_AGENT_COUNTERS takes
 * the size of the caller's structure, so old and new binaries both work.
 */
struct agent_ns_counters {
	__u64 total_syscalls;
	__u64 openat_count;
	__u64 write_bytes;
	__u64 connect_count;
	__u64 unlink_count;
	__u64 fork_count;
	__u64 elapsed_ns;
	/* version 1 */
	__u64 read_bytes;
	__u64 exec_count;
};

#define AGENT_NS_COUNTERS_SIZE_VER0	56	/* sizeof first published struct */
#define AGENT_NS_COUNTERS_SIZE_VER1	72	/* add read_bytes, exec_count */

/*
 * What happens when a budget is exceeded.  Under SIGTERM, SIGKILL and
 * DENY a transfer that would take a byte budget past its limit is cut
 * short to what is left of it.  DENY sends no signal: the operation that
 * would cross a count limit fails with EDQUOT before it has any effect,
 * and once a byte limit is reached, further transfers of that kind fail
 * with EDQUOT (see Documentation/admin-guide/agent-namespaces.rst).
 */
#define AGENT_NS_ACTION_LOG		0
#define AGENT_NS_ACTION_SIGTERM		1
#define AGENT_NS_ACTION_SIGKILL		2
#define AGENT_NS_ACTION_DENY		3

/*
 * Budget limits of a session; 0 means no limit.  A limit covers the
 * session and all its descendants.  Version 0 is the first five fields;
 * version 1 gives every counter a limit.
 */
struct agent_ns_budget {
	__u64 max_syscalls;
	__u64 max_write_bytes;
	__u64 max_elapsed_ns;
	__u32 action;		/* AGENT_NS_ACTION_* */
	__u32 reserved;		/* must be 0 */
	/* version 1 */
	__u64 max_openat;
	__u64 max_read_bytes;
	__u64 max_connect;
	__u64 max_unlink;
	__u64 max_fork;
	__u64 max_exec;
};

#define AGENT_NS_BUDGET_SIZE_VER0	32	/* sizeof first published struct */
#define AGENT_NS_BUDGET_SIZE_VER1	80	/* a limit for every counter */

/*
 * What AGENT_NS_GET_INFO reads about a session.  @fired has a bit per
 * limit of the session's own budget whose action fired since the limit was
 * last set; bit N is the limit of the N-th field of struct
 * agent_ns_counters (AGENT_NS_FIRED_*).  Version 0 is 48 bytes.
 */
struct agent_ns_info {
	__u8  id[AGENT_NS_ID_BYTES];
	__u8  parent_id[AGENT_NS_ID_BYTES];	/* zeros for the initial session */
	__u32 level;		/* depth: 0 for the initial session */
	__u32 flags;		/* AGENT_NS_INFO_* */
	__u32 fired;		/* AGENT_NS_FIRED_* */
	__u32 reserved;		/* 0 */
};

#define AGENT_NS_INFO_SIZE_VER0		48

/* A SIGTERM or SIGKILL action of the session's own budget has fired. */
#define AGENT_NS_INFO_ACTED		(1U << 0)
/* ... of the budget of a session above it. */
#define AGENT_NS_INFO_ACTED_ABOVE	(1U << 1)
/*
 * The session, or one above it, outlived kernel.agent_ns.max_lifetime and
 * the reaper killed its tasks.
 */
#define AGENT_NS_INFO_REAPED		(1U << 2)

#define AGENT_NS_FIRED_SYSCALLS		(1U << 0)
#define AGENT_NS_FIRED_OPENAT		(1U << 1)
#define AGENT_NS_FIRED_WRITE_BYTES	(1U << 2)
#define AGENT_NS_FIRED_CONNECT		(1U << 3)
#define AGENT_NS_FIRED_UNLINK		(1U << 4)
#define AGENT_NS_FIRED_FORK		(1U << 5)
#define AGENT_NS_FIRED_ELAPSED		(1U << 6)
#define AGENT_NS_FIRED_READ_BYTES	(1U << 7)
#define AGENT_NS_FIRED_EXEC		(1U << 8)

/*
 * ioctls on a session's namespace file (/proc/PID/ns/agent, or one from
 * NS_GET_PARENT or open_by_handle_at(2)).  The descriptor is the
 * permission, as for the other nsfs ioctls: whoever could open it may read
 * the session through it, also after its last task has exited.  The
 * structures are extensible the way NS_MNT_GET_INFO's is: the size in the
 * command is the caller's, at least version 0; a larger one is zero-filled
 * past the kernel's.  On another namespace type they fail with EINVAL.
 * The numbers sit far above nsfs's own (NSIO 1-13) to leave those free.
 */
#define AGENT_NS_GET_INFO	_IOR(NSIO, 0x40, struct agent_ns_info)
#define AGENT_NS_GET_COUNTERS	_IOR(NSIO, 0x41, struct agent_ns_counters)
#define AGENT_NS_GET_BUDGET	_IOR(NSIO, 0x42, struct agent_ns_budget)

/*
 * The extended attributes the agentns LSM (CONFIG_SECURITY_AGENT_NS) sets
 * on every file a task in a session creates: the session id (16 bytes) and
 * the session's intent tag then (its bytes, no NUL; absent when empty).
 */
#define XATTR_AGENT_SESSION_SUFFIX	"agent_session"
#define XATTR_NAME_AGENT_SESSION	"security.agent_session"
#define XATTR_AGENT_INTENT_SUFFIX	"agent_intent"
#define XATTR_NAME_AGENT_INTENT		"security.agent_intent"

#endif /* _UAPI_LINUX_AGENT_NAMESPACES_H */
