// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace fuzzer: a million prctl(2) calls with random and
 * boundary arguments at every PR_*AGENT* option and its neighbours, from
 * racing threads and forked children, while another thread reads every
 * /proc/PID/agent_* file and works the nsfs ioctls on /proc/PID/ns/agent.
 *
 * Every result is checked twice: against the errnos that
 * Documentation/userspace-api/agent_namespaces.rst documents for the
 * option, and against the one result the arguments call for (a model of
 * the documented rules in the order they apply: unused arguments, then
 * the size, then copying from or to the caller, then the contents, then
 * the session and the caller's privilege).  Successful reads are checked
 * for content too: the session and parent ids, the padding of the intent
 * tag, zeros past the kernel's structures, canary bytes past the caller's
 * size, limits read back as set, and counters that never go back.  A
 * failure prints the option, its arguments, where arg2 points (and how
 * many bytes there are readable, r, and writable, w), the result and the
 * results that were expected.
 *
 * Budgets with a SIGTERM or SIGKILL action are only set in forked children
 * that may die of them; the test process and children that must survive
 * set LOG budgets only.  Nesting ends at the documented depth of 32.
 *
 * AGENTNS_FUZZ_SEED sets the seed (printed), AGENTNS_FUZZ_CALLS the number
 * of calls (default 1000000) and AGENTNS_FUZZ_SECS the time bound (default
 * 60 s): the test stops at whichever comes first and prints how far it got.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/agent_namespaces.h>
#include <linux/nsfs.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

#ifndef NS_GET_MNTNS_ID
#define NS_GET_MNTNS_ID		_IOR(0xb7, 5, __u64)
#endif
/* struct mnt_ns_info, version 0 (16 bytes). */
struct fuzz_mnt_ns_info {
	__u32 size;
	__u32 nr_mounts;
	__u64 mnt_ns_id;
};

#define FUZZ_NS_MNT_GET_INFO	_IOR(0xb7, 10, struct fuzz_mnt_ns_info)
#define FUZZ_NS_UNKNOWN		_IO(0xb7, 0x3f)

#define AGENT_NS_INIT_ID	9ULL
#define MAX_DEPTH		32

#define CALLS_DEFAULT		1000000UL
#define SECS_DEFAULT		60
#define SECS_MAX		180	/* stays under the harness timeout */
#define HARNESS_TIMEOUT		(SECS_MAX + 60)
#define NR_THREADS		3	/* prctl fuzzing threads in the test process */
#define INIT_PHASE_CALLS	20000	/* single-threaded calls in the initial session */
#define MAX_REPORTS		40	/* failures printed in full */

/* Addresses that are never a valid user buffer. */
#define KERNEL_PTR		0xffff888000000000UL
#define NONCANON_PTR		0x0000800000000000UL
#define UNMAPPED_PTR		0x0000100000000000UL	/* checked with mincore() */
#define LOW_PTR			0x1000UL		/* checked with mincore() */

#define PAGE			4096UL
#define AREA			(2 * PAGE)	/* read-write, then a PROT_NONE page */

/* The results a call can have, as bits of a mask. */
enum {
	RES_OK, RES_EINVAL, RES_EFAULT, RES_E2BIG, RES_EPERM, RES_ENOSPC, RES_ENOMEM,
	RES_EOPNOTSUPP, RES_OTHER, NR_RES,
};

#define B(r)			(1u << (r))

static const char * const r_name[NR_RES] = {
	"0", "EINVAL", "EFAULT", "E2BIG", "EPERM", "ENOSPC", "ENOMEM",
	"EOPNOTSUPP", "other",
};

/* Option slots: PR_AGENT_BASE + 0 .. + 8, then "not ours" (neighbours, random). */
#define NR_OPT			10
#define OPT_OTHER		9

static const char * const opt_name[NR_OPT] = {
	"PR_AGENT_BASE+0", "PR_GET_AGENT_SESSION_ID", "PR_SET_AGENT_INTENT_TAG",
	"PR_GET_AGENT_INTENT_TAG", "PR_SET_AGENT_BUDGET_LIMITS",
	"PR_GET_AGENT_COUNTERS", "PR_GET_AGENT_PARENT_ID", "PR_SET_AGENT_NS",
	"PR_GET_AGENT_BUDGET_LIMITS", "other option",
};

/* What Documentation/userspace-api/agent_namespaces.rst allows per option. */
static const unsigned int documented[NR_OPT] = {
	[0] = B(RES_EINVAL),
	[1] = B(RES_OK) | B(RES_EFAULT) | B(RES_EINVAL),
	[2] = B(RES_OK) | B(RES_EINVAL) | B(RES_EFAULT),
	[3] = B(RES_OK) | B(RES_EFAULT) | B(RES_EINVAL),
	[4] = B(RES_OK) | B(RES_EINVAL) | B(RES_E2BIG) | B(RES_EPERM) | B(RES_EFAULT),
	[5] = B(RES_OK) | B(RES_EINVAL) | B(RES_E2BIG) | B(RES_EFAULT),
	[6] = B(RES_OK) | B(RES_EFAULT) | B(RES_EINVAL),
	[7] = B(RES_OK) | B(RES_EPERM) | B(RES_EINVAL) | B(RES_ENOSPC) |
	      B(RES_EOPNOTSUPP) | B(RES_ENOMEM),
	[8] = B(RES_OK) | B(RES_EINVAL) | B(RES_E2BIG) | B(RES_EFAULT),
	[OPT_OTHER] = B(RES_EINVAL),
};

/* State shared by the test process, its threads and its children. */
struct shared {
	unsigned long calls;			/* prctl calls, everyone's */
	unsigned long results[NR_OPT][NR_RES];
	unsigned long proc_ops;			/* /proc reads, readlinks, ioctls */
	unsigned long proc_esrch;		/* files of tasks that were gone */
	unsigned long children[4], child_kills, sessions, enospc;
	unsigned int failures;
	unsigned int reports;
	int stop;
	int child_armed;			/* the running child may die of a budget */
	int child_final;			/* ... and must, it set a kill budget */
};

static struct shared *sh;
static unsigned char *ro_page;			/* PROT_READ, then PROT_NONE */
static int enabled_at_start;

/* One fuzzing context: a thread of the test process or a child process. */
struct ctx {
	uint64_t rng;
	unsigned char *area;
	char who[32];
	bool initial;		/* the caller is in the initial session */
	bool threaded;		/* the caller has other threads */
	bool privileged;	/* CAP_SYS_ADMIN over the session's owner */
	bool nnp;		/* no_new_privs */
	bool allow_kill;	/* may set SIGTERM/SIGKILL budgets */
	bool no_create;		/* PR_SET_AGENT_NS only with bad arguments */
	bool sole;		/* the only task of its session: tag and limits known */
	int level;
	unsigned char id[AGENT_NS_ID_BYTES], parent[AGENT_NS_ID_BYTES];
	char tag[AGENT_NS_INTENT_MAX + 1];
	struct agent_ns_budget limits;
	uint64_t last_syscalls, last_elapsed;
	unsigned long calls;
	unsigned long results[NR_OPT][NR_RES];
};

static uint64_t rnd(struct ctx *c)
{
	/* xorshift64* */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545F4914F6CDD1DULL;
}

static unsigned int below(struct ctx *c, unsigned int n)
{
	return (rnd(c) >> 32) % n;
}

static bool chance(struct ctx *c, unsigned int percent)
{
	return below(c, 100) < percent;
}

static void fail(struct ctx *c, const char *fmt, ...)
{
	char buf[560];
	va_list ap;

	__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&sh->reports, 1, __ATOMIC_RELAXED) > MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("FAIL %s: %s", c->who, buf);
}

static bool stopping(void)
{
	return __atomic_load_n(&sh->stop, __ATOMIC_RELAXED);
}

static void flush(struct ctx *c)
{
	__atomic_add_fetch(&sh->calls, c->calls, __ATOMIC_RELAXED);
	c->calls = 0;
	for (int o = 0; o < NR_OPT; o++)
		for (int r = 0; r < NR_RES; r++)
			if (c->results[o][r]) {
				__atomic_add_fetch(&sh->results[o][r], c->results[o][r],
						   __ATOMIC_RELAXED);
				c->results[o][r] = 0;
			}
}

static unsigned int result_bit(long ret, int err)
{
	if (ret == 0)
		return RES_OK;
	if (ret != -1)
		return RES_OTHER;
	switch (err) {
	case EINVAL: return RES_EINVAL;
	case EFAULT: return RES_EFAULT;
	case E2BIG: return RES_E2BIG;
	case EPERM: return RES_EPERM;
	case ENOSPC: return RES_ENOSPC;
	case ENOMEM: return RES_ENOMEM;
	case EOPNOTSUPP: return RES_EOPNOTSUPP;
	}
	return RES_OTHER;
}

static void mask_str(unsigned int mask, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int r = 0; r < NR_RES; r++)
		if (mask & B(r))
			n += snprintf(buf + n, n < size ? size - n : 0, "%s%s",
				      n ? "|" : "", r_name[r]);
}

/* A user pointer and how many bytes from it can be read and written. */
struct uptr {
	unsigned long addr;
	size_t rd, wr;
	const char *kind;
};

/*
 * Picks arg2 for an option that takes a buffer of @need bytes: inside the
 * context's area (aligned, unaligned, or ending on the PROT_NONE page), on
 * the read-only page, or an address that is never a valid buffer.
 */
static struct uptr pick_ptr(struct ctx *c, size_t need)
{
	unsigned int k = below(c, 100);
	struct uptr p = { 0 };
	size_t off, span;

	if (need > AREA)
		need = AREA;
	if (k < 40) {
		span = AREA - need;
		off = span ? (below(c, span / 8 + 1) * 8) : 0;
		p.kind = "aligned";
	} else if (k < 50) {
		span = AREA - need;
		off = span ? below(c, span + 1) : 0;
		off |= 1 + below(c, 7);
		if (off > AREA - 1)
			off = AREA - 1;
		p.kind = "unaligned";
	} else if (k < 70) {
		/* The buffer's last bytes on the PROT_NONE page, or just not. */
		size_t left = need + 8 - below(c, need + 9 > 17 ? 17 : need + 9);

		if (chance(c, 30))
			left = 1 + below(c, need + 8);
		if (left < 1)
			left = 1;
		if (left > AREA)
			left = AREA;
		off = AREA - left;
		p.kind = "page-straddling";
	} else if (k < 80) {
		off = below(c, 3) == 0 ? 0 : below(c, PAGE);
		p.addr = (unsigned long)ro_page + off;
		p.rd = PAGE - off;
		p.wr = 0;
		p.kind = "read-only";
		return p;
	}
	if (k >= 80) {
		static const struct {
			unsigned long addr;
			const char *kind;
		} bad[] = {
			{ 0, "NULL" }, { -1UL, "-1" }, { -8UL, "-8" },
			{ KERNEL_PTR, "kernel" }, { NONCANON_PTR, "non-canonical" },
			{ UNMAPPED_PTR, "unmapped" }, { LOW_PTR, "low unmapped" },
			{ 1, "0x1" },
		};
		unsigned int i = below(c, ARRAY_SIZE(bad) + 1);

		if (i == ARRAY_SIZE(bad)) {
			p.addr = (unsigned long)c->area + AREA + below(c, PAGE);
			p.kind = "PROT_NONE";
		} else {
			p.addr = bad[i].addr;
			p.kind = bad[i].kind;
		}
		return p;
	}
	p.addr = (unsigned long)c->area + off;
	p.rd = AREA - off;
	p.wr = AREA - off;
	return p;
}

static unsigned long boundary(struct ctx *c)
{
	static const unsigned long v[] = {
		0, 1, 2, 7, 8, 55, 56, 57, 64, 72, 79, 80, 81, 4095, 4096, 4097,
		INT_MAX, (unsigned long)INT_MAX + 1, UINT_MAX, (unsigned long)INT_MIN,
		LONG_MAX, -1UL, -2UL, 1UL << 32, 1UL << 63,
	};

	return chance(c, 75) ? v[below(c, ARRAY_SIZE(v))] : rnd(c);
}

/* A size argument for a versioned structure. */
static unsigned long pick_size(struct ctx *c)
{
	static const unsigned long v[] = {
		0, 0, 0, 1, 7, 8, 16, 31, 32, 32, 33, 55, 56, 56, 57, 64, 72, 72,
		79, 80, 80, 81, 88, 100, 128, 200, 1000, 4095, 4096, 4097, 8192,
		1UL << 20, 1UL << 32, INT_MAX, -1UL, -4096UL,
	};

	return chance(c, 85) ? v[below(c, ARRAY_SIZE(v))] : rnd(c) >> below(c, 64);
}

/* Sets one of the arguments an option does not use in @a[from..3] to non-zero, sometimes. */
static void maybe_unused(struct ctx *c, unsigned long a[4], int from)
{
	if (from > 3 || !chance(c, 8))
		return;
	a[from + below(c, 4 - from)] = boundary(c) | 1;
}

static bool any_set(const unsigned long a[4], int from)
{
	for (int i = from; i < 4; i++)
		if (a[i])
			return true;
	return false;
}

/* struct size 0 means version 0; below version 0 EINVAL, above a page E2BIG. */
static unsigned int size_rule(unsigned long arg, size_t ver0, size_t *size)
{
	*size = arg ? arg : ver0;
	if (*size < ver0)
		return B(RES_EINVAL);
	if (*size > PAGE)
		return B(RES_E2BIG);
	return 0;
}

static void budget_from(const unsigned char *p, size_t n, struct agent_ns_budget *b)
{
	memset(b, 0, sizeof(*b));
	memcpy(b, p, n < sizeof(*b) ? n : sizeof(*b));
}

/* The kernel's order of the actions for loosening: log < deny < SIGTERM < SIGKILL. */
static int severity(__u32 action)
{
	switch (action) {
	case AGENT_NS_ACTION_LOG:
		return 0;
	case AGENT_NS_ACTION_DENY:
		return 1;
	case AGENT_NS_ACTION_SIGTERM:
		return 2;
	default:
		return 3;
	}
}

static bool loosens(const struct agent_ns_budget *o, const struct agent_ns_budget *n)
{
	const __u64 om[] = { o->max_syscalls, o->max_write_bytes, o->max_elapsed_ns,
			     o->max_openat, o->max_read_bytes, o->max_connect,
			     o->max_unlink, o->max_fork, o->max_exec };
	const __u64 nm[] = { n->max_syscalls, n->max_write_bytes, n->max_elapsed_ns,
			     n->max_openat, n->max_read_bytes, n->max_connect,
			     n->max_unlink, n->max_fork, n->max_exec };

	if (severity(n->action) < severity(o->action))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(om); i++)
		if (om[i] && (!nm[i] || nm[i] > om[i]))
			return true;
	return false;
}

static __u64 pick_limit(struct ctx *c, bool kill)
{
	static const __u64 v[] = {
		1, 2, 100, 1000, 1 << 20, 1ULL << 40, -1ULL, -2ULL,
	};

	if (chance(c, 55))
		return 0;
	/* Under a kill action keep most limits out of reach: the child dies later. */
	if (kill && chance(c, 80))
		return 1ULL << (40 + below(c, 20));
	return chance(c, 70) ? v[below(c, ARRAY_SIZE(v))] : rnd(c);
}

/* Writes a random budget and tail at @p (only the @p.wr bytes that are ours). */
static void gen_budget(struct ctx *c, const struct uptr *p, size_t size)
{
	unsigned char buf[sizeof(struct agent_ns_budget)];
	struct agent_ns_budget b = { 0 };
	unsigned int k = below(c, 100);
	size_t n;
	bool kill;

	if (c->allow_kill)
		b.action = k < 55 ? AGENT_NS_ACTION_LOG : k < 65 ? AGENT_NS_ACTION_SIGTERM :
			   k < 80 ? AGENT_NS_ACTION_SIGKILL : k < 88 ? AGENT_NS_ACTION_DENY :
			   4 + below(c, 3);
	else
		b.action = k < 85 ? AGENT_NS_ACTION_LOG : k < 95 ? 4 : (rnd(c) | 4);
	if (chance(c, 3))
		b.action = UINT_MAX;
	kill = b.action == AGENT_NS_ACTION_SIGTERM || b.action == AGENT_NS_ACTION_SIGKILL ||
	       b.action == AGENT_NS_ACTION_DENY;
	b.max_syscalls = pick_limit(c, kill);
	b.max_write_bytes = pick_limit(c, kill);
	b.max_elapsed_ns = pick_limit(c, kill);
	b.max_openat = pick_limit(c, kill);
	b.max_read_bytes = pick_limit(c, kill);
	b.max_connect = pick_limit(c, kill);
	b.max_unlink = pick_limit(c, kill);
	b.max_fork = pick_limit(c, kill);
	b.max_exec = pick_limit(c, kill);
	/*
	 * A deny budget that is reached makes this child's own calls fail
	 * with EDQUOT (deny_test checks that): keep every limit out of reach.
	 */
	if (b.action == AGENT_NS_ACTION_DENY) {
		__u64 *m[] = { &b.max_syscalls, &b.max_write_bytes, &b.max_openat,
			       &b.max_read_bytes, &b.max_connect, &b.max_unlink,
			       &b.max_fork, &b.max_exec };

		for (size_t i = 0; i < ARRAY_SIZE(m); i++)
			if (*m[i] && *m[i] < 1ULL << 40)
				*m[i] = 1ULL << 40;
	}
	b.reserved = chance(c, 8) ? (unsigned int)rnd(c) | 1 : 0;
	memcpy(buf, &b, sizeof(b));
	if (!p->wr)
		return;
	n = p->wr < sizeof(buf) ? p->wr : sizeof(buf);
	memcpy((void *)p->addr, buf, n);
	if (size > sizeof(b) && p->wr > sizeof(b)) {
		size_t tail = (size < p->wr ? size : p->wr) - sizeof(b);
		unsigned char *t = (unsigned char *)p->addr + sizeof(b);

		if (chance(c, 60)) {
			memset(t, 0, tail);
			if (chance(c, 40))
				t[below(c, tail)] = 1 + below(c, 255);
		}
	}
}

/* Writes a random intent tag candidate at @p (only the bytes that are ours). */
static void gen_tag(struct ctx *c, const struct uptr *p)
{
	static const unsigned int lens[] = { 0, 1, 5, 13, 32, 62, 63, 63, 64, 65, 70, 100 };
	static const unsigned char badc[] = { 0x01, 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0xff };
	unsigned char buf[180];
	unsigned int len = chance(c, 70) ? lens[below(c, ARRAY_SIZE(lens))] : below(c, 90);
	uint64_t r = 0;
	size_t n;

	/* Printable filler, eight bytes from each random number. */
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (i % 8 == 0)
			r = rnd(c);
		buf[i] = 0x20 + (r >> (i % 8 * 8) & 0xff) % 0x5f;
	}
	if (chance(c, 12))
		buf[below(c, len + 1)] = badc[below(c, ARRAY_SIZE(badc))];
	if (chance(c, 88))
		buf[len] = '\0';
	n = p->wr < sizeof(buf) ? p->wr : sizeof(buf);
	memcpy((void *)p->addr, buf, n);
}

/*
 * The result PR_SET_AGENT_INTENT_TAG must give for the string at @p: the
 * kernel copies at most 65 bytes (a 63-byte tag, its NUL and one more).
 */
static unsigned int predict_tag(struct ctx *c, const struct uptr *p, char *tag)
{
	const unsigned char *s = (const unsigned char *)p->addr;
	size_t lim = p->rd < AGENT_NS_INTENT_MAX + 2 ? p->rd : AGENT_NS_INTENT_MAX + 2;
	size_t z;

	for (z = 0; z < lim && s[z]; z++)
		;
	if (z == lim && lim < AGENT_NS_INTENT_MAX + 2)
		return B(RES_EFAULT);
	if (z > AGENT_NS_INTENT_MAX)
		return B(RES_EINVAL);
	for (size_t i = 0; i < z; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return B(RES_EINVAL);
	if (c->initial)
		return B(RES_EINVAL);
	memcpy(tag, s, z);
	tag[z] = '\0';
	return B(RES_OK);
}

static unsigned int predict_set_budget(struct ctx *c, const struct uptr *p, unsigned long arg,
				       struct agent_ns_budget *nb)
{
	const unsigned char *s = (const unsigned char *)p->addr;
	unsigned int r;
	size_t size, n;

	r = size_rule(arg, AGENT_NS_BUDGET_SIZE_VER0, &size);
	if (r)
		return r;
	n = size < sizeof(*nb) ? size : sizeof(*nb);
	if (p->rd < n)
		return B(RES_EFAULT);
	if (size > sizeof(*nb)) {
		size_t end = size < p->rd ? size : p->rd;

		for (size_t i = sizeof(*nb); i < end; i++)
			if (s[i])
				return B(RES_E2BIG);
		if (p->rd < size)
			return B(RES_EFAULT);
	}
	budget_from(s, n, nb);
	/*
	 * The limits a smaller (older) structure has no whole field for keep
	 * their values: an old binary can neither remove nor loosen them.
	 */
	if (n < sizeof(*nb)) {
		size_t whole = n - (n - AGENT_NS_BUDGET_SIZE_VER0) % sizeof(__u64);
		struct agent_ns_budget merged = c->limits;

		memcpy(&merged, s, whole);
		*nb = merged;
	}
	if (nb->action > AGENT_NS_ACTION_DENY || nb->reserved)
		return B(RES_EINVAL);
	if (c->initial)
		return B(RES_EINVAL);
	if (!c->privileged) {
		if (!c->sole)
			return B(RES_OK) | B(RES_EPERM);
		if (loosens(&c->limits, nb))
			return B(RES_EPERM);
	}
	return B(RES_OK);
}

static unsigned int predict_set_ns(struct ctx *c, const unsigned long a[4])
{
	if (any_set(a, 0) || c->threaded)
		return B(RES_EINVAL);
	if (!enabled_at_start)
		return B(RES_EOPNOTSUPP);
	if (!c->privileged && !c->nnp)
		return B(RES_EPERM);
	if (c->level >= MAX_DEPTH)
		return B(RES_ENOSPC);
	return B(RES_OK) | B(RES_ENOMEM);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

#define CANARY			0xa5
#define CANARY_LEN		16

/*
 * Fills the bytes an out-buffer call may write, a few past them and at
 * least the first 96 (checked after a refusal) with the canary.
 */
static void canary_fill(const struct uptr *p, size_t size)
{
	size_t n = (size > 96 ? size : 96) + CANARY_LEN;

	if (p->wr)
		memset((void *)p->addr, CANARY, n < p->wr ? n : p->wr);
}

/* Whether the bytes [from, to) of @p (clipped to what is ours) still hold the canary. */
static bool canary_intact(const struct uptr *p, size_t from, size_t to)
{
	const unsigned char *s = (const unsigned char *)p->addr;

	if (to > p->wr)
		to = p->wr;
	for (size_t i = from; i < to; i++)
		if (s[i] != CANARY)
			return false;
	return true;
}

static void hex(const unsigned char *id, char out[33])
{
	for (int i = 0; i < AGENT_NS_ID_BYTES; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

/* Checks what a successful out-buffer call wrote; returns a complaint or NULL. */
static const char *check_out(struct ctx *c, int opt, const struct uptr *p, size_t size)
{
	const unsigned char *s = (const unsigned char *)p->addr;

	if (!canary_intact(p, size, size + CANARY_LEN))
		return "wrote past the caller's size";
	switch (opt) {
	case 1:
		return memcmp(s, c->id, AGENT_NS_ID_BYTES) ? "wrong session id" : NULL;
	case 6:
		return memcmp(s, c->parent, AGENT_NS_ID_BYTES) ? "wrong parent id" : NULL;
	case 3: {
		size_t z;

		for (z = 0; z < AGENT_NS_INTENT_MAX + 1 && s[z]; z++)
			if (s[z] < 0x20 || s[z] > 0x7e)
				return "unprintable byte in the tag";
		if (z > AGENT_NS_INTENT_MAX)
			return "tag without a NUL";
		if (!all_zero(s + z, AGENT_NS_INTENT_MAX + 1 - z))
			return "tag not NUL-padded";
		if (c->initial && z)
			return "the initial session has a tag";
		if (c->sole && strcmp((const char *)s, c->tag))
			return "tag is not the one set";
		return NULL;
	}
	case 5: {
		struct agent_ns_counters k = { 0 };

		if (size > sizeof(k) && !all_zero(s + sizeof(k), size - sizeof(k)))
			return "non-zero bytes past struct agent_ns_counters";
		memcpy(&k, s, size < sizeof(k) ? size : sizeof(k));
		if (k.total_syscalls < c->last_syscalls)
			return "total_syscalls went back";
		if (k.elapsed_ns < c->last_elapsed)
			return "elapsed_ns went back";
		if (c->initial && k.total_syscalls)
			return "the initial session counted system calls";
		if (!c->initial && !k.total_syscalls)
			return "no system call counted, not even this one";
		c->last_syscalls = k.total_syscalls;
		c->last_elapsed = k.elapsed_ns;
		return NULL;
	}
	case 8: {
		struct agent_ns_budget b, want;
		size_t n = size < sizeof(b) ? size : sizeof(b);

		if (size > sizeof(b) && !all_zero(s + sizeof(b), size - sizeof(b)))
			return "non-zero bytes past struct agent_ns_budget";
		budget_from(s, n, &b);
		if (b.reserved)
			return "reserved is not zero";
		if (b.action > AGENT_NS_ACTION_DENY)
			return "unknown action read back";
		if (!c->allow_kill && b.action != AGENT_NS_ACTION_LOG)
			return "an action nobody set";
		if (c->initial && !all_zero(s, n))
			return "the initial session has a budget";
		if (c->sole) {
			budget_from((const unsigned char *)&c->limits, n, &want);
			if (memcmp(&b, &want, sizeof(b)))
				return "limits read back differ from those set";
		}
		return NULL;
	}
	}
	return NULL;
}

static bool learn_ids(struct ctx *c);

/* The caller is in a new session of its own now: what it must look like. */
static void new_session(struct ctx *c)
{
	unsigned char old[AGENT_NS_ID_BYTES], buf[128];
	char want[33], got[33];

	__atomic_add_fetch(&sh->sessions, 1, __ATOMIC_RELAXED);
	memcpy(old, c->id, sizeof(old));
	c->level++;
	if (!learn_ids(c)) {
		fail(c, "cannot read the new session's ids: %s", strerror(errno));
		return;
	}
	if (c->initial || !memcmp(old, c->id, sizeof(old)))
		fail(c, "a new session kept the old id");
	if (memcmp(old, c->parent, sizeof(old)))
		fail(c, "a new session's parent id is not its creator's session id");
	hex(c->id, want);
	if (read_session("self", got) || strcmp(want, got))
		fail(c, "/proc/self/agent_session %s is not the prctl id %s", got, want);
	memset(buf, 0xff, sizeof(buf));
	if (prctl(PR_GET_AGENT_INTENT_TAG, buf, 0, 0, 0) ||
	    !all_zero(buf, AGENT_NS_INTENT_MAX + 1))
		fail(c, "a new session does not start with an empty tag");
	memset(buf, 0xff, sizeof(buf));
	if (prctl(PR_GET_AGENT_BUDGET_LIMITS, buf, AGENT_NS_BUDGET_SIZE_VER1, 0, 0) ||
	    !all_zero(buf, AGENT_NS_BUDGET_SIZE_VER1))
		fail(c, "a new session does not start without limits");
	c->tag[0] = '\0';
	memset(&c->limits, 0, sizeof(c->limits));
	c->sole = true;
}

static void record(struct ctx *c, int opt, unsigned int res)
{
	c->calls++;
	c->results[opt][res]++;
	if (c->calls >= 256)
		flush(c);
}

/* Marks that this child may die of a budget it set; in the test process, never. */
static void arm(struct ctx *c, unsigned int expect, const struct agent_ns_budget *nb)
{
	if ((expect & B(RES_OK)) && nb->action != AGENT_NS_ACTION_LOG && c->allow_kill)
		__atomic_store_n(&sh->child_armed, 1, __ATOMIC_RELAXED);
}

/* Makes one call to @opt with generated arguments and checks the result. */
static void fuzz_one(struct ctx *c, int opt)
{
	unsigned long a[4] = { 0 };
	struct agent_ns_budget nb = { 0 };
	unsigned int expect = 0, res;
	struct uptr p = { .kind = "-" };
	char tag[AGENT_NS_INTENT_MAX + 1] = "";
	size_t size = 0;
	int option, err;
	long ret;

	option = PR_AGENT_BASE + opt;
	switch (opt) {
	case 1: case 6: case 3:
		size = opt == 3 ? AGENT_NS_INTENT_MAX + 1 : AGENT_NS_ID_BYTES;
		p = pick_ptr(c, size);
		a[0] = p.addr;
		maybe_unused(c, a, 1);
		canary_fill(&p, size);
		expect = any_set(a, 1) ? B(RES_EINVAL) : p.wr >= size ? B(RES_OK) : B(RES_EFAULT);
		break;
	case 2:
		p = pick_ptr(c, 1 + below(c, 80));
		if (p.wr)
			gen_tag(c, &p);
		a[0] = p.addr;
		maybe_unused(c, a, 1);
		expect = any_set(a, 1) ? B(RES_EINVAL) : predict_tag(c, &p, tag);
		break;
	case 4:
		a[1] = pick_size(c);
		p = pick_ptr(c, a[1] ? a[1] : AGENT_NS_BUDGET_SIZE_VER0);
		gen_budget(c, &p, a[1] ? a[1] : AGENT_NS_BUDGET_SIZE_VER0);
		a[0] = p.addr;
		maybe_unused(c, a, 2);
		expect = any_set(a, 2) ? B(RES_EINVAL) : predict_set_budget(c, &p, a[1], &nb);
		/*
		 * Random bytes (the read-only page's, say) can make a valid
		 * budget with a signal action: only where a death is expected.
		 */
		if ((expect & B(RES_OK)) && nb.action != AGENT_NS_ACTION_LOG && !c->allow_kill)
			return;
		if (!any_set(a, 2))
			arm(c, expect, &nb);
		break;
	case 5: case 8: {
		size_t ver0 = opt == 5 ? AGENT_NS_COUNTERS_SIZE_VER0 : AGENT_NS_BUDGET_SIZE_VER0;

		a[1] = pick_size(c);
		p = pick_ptr(c, a[1] ? a[1] : ver0);
		a[0] = p.addr;
		maybe_unused(c, a, 2);
		expect = size_rule(a[1], ver0, &size);
		canary_fill(&p, expect ? 0 : size);
		if (any_set(a, 2))
			expect = B(RES_EINVAL);
		else if (!expect)
			expect = p.wr >= size ? B(RES_OK) : B(RES_EFAULT);
		break;
	}
	case 7:
		if (c->no_create || chance(c, 30))
			a[below(c, 4)] = boundary(c) | 1;
		expect = predict_set_ns(c, a);
		break;
	default:
		if (opt == 0) {
			option = PR_AGENT_BASE;
		} else {
			static const int near[] = {
				PR_AGENT_BASE + 9, PR_AGENT_BASE + 10, PR_AGENT_BASE - 1,
				PR_AGENT_BASE + 0x100, INT_MIN, -1, INT_MAX,
			};

			option = near[below(c, ARRAY_SIZE(near))];
			if (chance(c, 40)) {
				/* A random option: none of the numbered ones, not ours. */
				do {
					option = (int)rnd(c);
				} while ((option >= 0 && option < 0x1000) ||
					 option == PR_SET_PTRACER || option == 0x53564d41 ||
					 option == 0x41555856 ||
					 (option >= PR_AGENT_BASE && option <= PR_AGENT_BASE + 8));
			}
		}
		for (int i = 0; i < 4; i++)
			a[i] = chance(c, 50) ? 0 : boundary(c);
		expect = B(RES_EINVAL);
		break;
	}

	errno = 0;
	ret = prctl(option, a[0], a[1], a[2], a[3]);
	err = errno;
	res = result_bit(ret, err);
	record(c, opt, res);

	if (!(B(res) & documented[opt]) || !(B(res) & expect)) {
		char want[80], doc[80], call[160];

		mask_str(expect, want, sizeof(want));
		mask_str(documented[opt], doc, sizeof(doc));
		snprintf(call, sizeof(call), "%s (%#x)(%#lx, %#lx, %#lx, %#lx)", opt_name[opt],
			 option, a[0], a[1], a[2], a[3]);
		fail(c, "%s [arg2 %s r%zu w%zu] = %ld errno %d (%s); %s {%s}, documented {%s}",
		     call, p.kind, p.rd, p.wr, ret, err, strerror(err),
		     B(res) & documented[opt] ? "expected" : "UNDOCUMENTED, expected",
		     want, doc);
		return;
	}
	if (res == RES_OK) {
		const char *why = NULL;

		switch (opt) {
		case 1: case 3: case 5: case 6: case 8:
			why = check_out(c, opt, &p, size);
			break;
		case 2:
			if (c->sole)
				strcpy(c->tag, tag);
			break;
		case 4:
			if (c->sole)
				c->limits = nb;
			break;
		case 7:
			new_session(c);
			break;
		}
		if (why)
			fail(c, "%s(%#lx, %#lx) [arg2 %s]: %s", opt_name[opt], a[0], a[1],
			     p.kind, why);
	} else if (res != RES_EFAULT &&
		   (opt == 1 || opt == 3 || opt == 5 || opt == 6 || opt == 8)) {
		/* Refused before copying: nothing written. */
		if (!canary_intact(&p, 0, 96))
			fail(c, "%s(%#lx, %#lx) = %s but wrote to the buffer", opt_name[opt],
			     a[0], a[1], r_name[res]);
	}
}

/* Picks an option: mostly ours, some neighbours; weights from @w. */
static int pick_opt(struct ctx *c, const unsigned int w[NR_OPT])
{
	unsigned int total = 0, k;

	for (int o = 0; o < NR_OPT; o++)
		total += w[o];
	k = below(c, total);
	for (int o = 0; o < NR_OPT; o++) {
		if (k < w[o])
			return o;
		k -= w[o];
	}
	return OPT_OTHER;
}

static const unsigned int w_even[NR_OPT] = { 2, 11, 12, 11, 14, 12, 11, 3, 12, 6 };
static const unsigned int w_sets[NR_OPT] = { 1, 8, 18, 8, 25, 8, 8, 0, 14, 4 };

static void ctx_init(struct ctx *c, uint64_t seed, const char *who)
{
	memset(c, 0, sizeof(*c));
	c->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 4; i++)
		rnd(c);
	snprintf(c->who, sizeof(c->who), "%s", who);
	c->area = mmap(NULL, AREA + PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->area == MAP_FAILED || mprotect(c->area + AREA, PAGE, PROT_NONE)) {
		say("%s: cannot map its buffers: %s", who, strerror(errno));
		abort();
	}
	c->privileged = true;
}

/* Reads the caller's session and parent ids into @c; false on failure. */
static bool learn_ids(struct ctx *c)
{
	if (prctl(PR_GET_AGENT_SESSION_ID, c->id, 0, 0, 0) ||
	    prctl(PR_GET_AGENT_PARENT_ID, c->parent, 0, 0, 0))
		return false;
	c->initial = all_zero(c->id, AGENT_NS_ID_BYTES);
	c->last_syscalls = 0;
	c->last_elapsed = 0;
	return true;
}

/* The caller's depth: the NS_GET_PARENT steps up to the initial session. */
static int session_level(void)
{
	int fd = open("/proc/self/ns/agent", O_RDONLY), level = 0, pfd;

	while (fd >= 0) {
		pfd = ioctl(fd, NS_GET_PARENT);
		close(fd);
		fd = pfd;
		if (fd >= 0)
			level++;
	}
	return level;
}

/* PR_SET_AGENT_NS in a single-threaded child, checked, and what a new session must look like. */
static int child_create(struct ctx *c)
{
	unsigned long a[4] = { 0 };
	unsigned int expect = predict_set_ns(c, a), res;
	char want[80];
	long ret;

	errno = 0;
	ret = prctl(PR_SET_AGENT_NS, 0, 0, 0, 0);
	res = result_bit(ret, errno);
	record(c, 7, res);
	if (!(B(res) & expect & documented[7])) {
		mask_str(expect, want, sizeof(want));
		fail(c, "PR_SET_AGENT_NS at depth %d = %ld, errno %d (%s); expected {%s}",
		     c->level, ret, errno, strerror(errno), want);
		return -1;
	}
	if (res == RES_ENOSPC)
		__atomic_add_fetch(&sh->enospc, 1, __ATOMIC_RELAXED);
	if (res != RES_OK)
		return res;
	new_session(c);
	return 0;
}

static void run_calls(struct ctx *c, unsigned long n, const unsigned int w[NR_OPT])
{
	for (unsigned long i = 0; i < n && !(i % 64 == 0 && stopping()); i++)
		fuzz_one(c, pick_opt(c, w));
}

/* Child: sessions inside sessions down to the depth limit, fuzzing at each level. */
static void child_nest(struct ctx *c)
{
	pid_t pid;

	while (!stopping()) {
		int r = child_create(c);

		if (r < 0)
			return;
		if (r == RES_ENOSPC) {
			if (c->level != MAX_DEPTH)
				fail(c, "ENOSPC at depth %d, not %d", c->level, MAX_DEPTH);
			break;
		}
		run_calls(c, 60 + below(c, 60), w_sets);
	}
	/* A child of the deepest session is as deep and gets ENOSPC too. */
	pid = fork();
	if (pid == 0) {
		snprintf(c->who, sizeof(c->who), "nest grandchild");
		c->sole = false;
		child_create(c);
		run_calls(c, 200, w_even);
		flush(c);
		_exit(0);
	}
	if (pid < 0 || wait_exit(pid) != 0)
		fail(c, "the grandchild failed");
}

/* Child: budgets with every action on a session of its own; may die of one. */
static void child_budget(struct ctx *c)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };
	struct agent_ns_counters k;

	if (child_create(c) != 0)
		return;
	c->allow_kill = true;
	run_calls(c, 1500, w_sets);
	if (stopping())
		return;
	/* Now a kill budget that must fire: the child must not get past it. */
	if (prctl(PR_GET_AGENT_COUNTERS, &k, sizeof(k), 0, 0)) {
		fail(c, "PR_GET_AGENT_COUNTERS: %s", strerror(errno));
		return;
	}
	b.max_syscalls = k.total_syscalls + 100;
	flush(c);
	__atomic_store_n(&sh->child_armed, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->child_final, 1, __ATOMIC_RELAXED);
	if (prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0)) {
		fail(c, "setting a kill budget: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < 100000; i++)
		syscall(SYS_getppid);
	fail(c, "survived 100000 system calls past a SIGKILL budget of %llu",
	     (unsigned long long)b.max_syscalls);
}

/* Child: without privilege, under no_new_privs: tightening only, no way out. */
static void child_unpriv(struct ctx *c)
{
	int parentfd = open("/proc/self/ns/agent", O_RDONLY);

	if (parentfd < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || drop_to_nobody()) {
		fail(c, "cannot set up an unprivileged child: %s", strerror(errno));
		return;
	}
	c->privileged = false;
	c->nnp = true;
	if (child_create(c) != 0)
		return;
	c->allow_kill = true;
	if (setns(parentfd, 0) != -1 || errno != EPERM)
		fail(c, "setns() out of its session without privilege: not EPERM (%s)",
		     strerror(errno));
	run_calls(c, 1500, w_sets);
	if (!stopping() && child_create(c) < 0)
		return;
	run_calls(c, 500, w_sets);
	close(parentfd);
}

/* Child: a second process in the test's session, racing its threads. */
static void child_sibling(struct ctx *c)
{
	c->no_create = true;
	c->sole = false;
	run_calls(c, 2000, w_sets);
}

struct thread_arg {
	struct ctx c;
	uint64_t seed;
	int index;
	pthread_t thread;
};

static void *fuzz_thread(void *p)
{
	struct thread_arg *t = p;

	while (!stopping())
		run_calls(&t->c, 1024, w_even);
	flush(&t->c);
	return NULL;
}

/* Forks the children one after another and judges how each ended. */
static void *forker_thread(void *p)
{
	struct thread_arg *t = p;
	const struct ctx *parent = &t->c;

	for (unsigned long n = 0; !stopping(); n++) {
		static const char * const names[] = { "nest", "budget", "unpriv", "sibling" };
		int type = n % 4, status;
		pid_t pid;

		if (type == 2 && geteuid() != 0)
			continue;
		__atomic_store_n(&sh->child_armed, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&sh->child_final, 0, __ATOMIC_RELAXED);
		pid = fork();
		if (pid < 0) {
			usleep(10000);
			continue;
		}
		if (pid == 0) {
			struct ctx c;
			char who[32];

			snprintf(who, sizeof(who), "%s child %lu", names[type], n);
			ctx_init(&c, t->seed ^ (0x51ed2701ULL * (n + 1)), who);
			memcpy(c.id, parent->id, sizeof(c.id));
			memcpy(c.parent, parent->parent, sizeof(c.parent));
			c.level = parent->level;
			c.initial = parent->initial;
			switch (type) {
			case 0:
				child_nest(&c);
				break;
			case 1:
				child_budget(&c);
				break;
			case 2:
				child_unpriv(&c);
				break;
			default:
				child_sibling(&c);
				break;
			}
			flush(&c);
			_exit(0);
		}
		__atomic_add_fetch(&sh->children[type], 1, __ATOMIC_RELAXED);
		if (waitpid(pid, &status, 0) != pid) {
			__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (WIFSIGNALED(status) &&
		    (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGTERM) &&
		    __atomic_load_n(&sh->child_armed, __ATOMIC_RELAXED)) {
			__atomic_add_fetch(&sh->child_kills, 1, __ATOMIC_RELAXED);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
			   (!__atomic_load_n(&sh->child_final, __ATOMIC_RELAXED) || stopping())) {
			/* A clean exit: not for a child that armed a final kill budget. */
		} else {
			__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
			say("FAIL %s child %lu: %s %d (armed %d, final %d)", names[type], n,
			    WIFSIGNALED(status) ? "killed by signal" : "exit status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			    sh->child_armed, sh->child_final);
		}
	}
	return NULL;
}

/* Reads a small /proc file in one read(2): the byte count, or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

static void proc_op(void)
{
	__atomic_add_fetch(&sh->proc_ops, 1, __ATOMIC_RELAXED);
}

/* Whether -@err is what a /proc file of a task that has gone may give. */
static bool gone(ssize_t err)
{
	if (err == -ENOENT || err == -ESRCH) {
		__atomic_add_fetch(&sh->proc_esrch, 1, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

static void check_proc_files(struct ctx *c, const char *dir)
{
	static const char * const names[] = {
		"syscalls", "openat", "write_bytes", "connect", "unlink", "fork",
		"read_bytes", "exec", "elapsed_ns",
	};
	char path[320], buf[512], *s;
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "%s/agent_session", dir);
	n = read_small(path, buf, sizeof(buf));
	proc_op();
	if (n >= 0) {
		for (i = 0; i < 32 && strchr("0123456789abcdef", buf[i]) && buf[i]; i++)
			;
		if (n != 33 || i != 32 || buf[32] != '\n')
			fail(c, "%s reads as %zd bytes \"%.40s\"", path, n, buf);
	} else if (!gone(n)) {
		fail(c, "%s: %s", path, strerror(-n));
	}

	snprintf(path, sizeof(path), "%s/agent_intent", dir);
	n = read_small(path, buf, sizeof(buf));
	proc_op();
	if (n >= 0) {
		for (i = 0; i < n && buf[i] >= 0x20 && buf[i] <= 0x7e; i++)
			;
		if (n < 1 || n > AGENT_NS_INTENT_MAX + 1 || i != n - 1 || buf[i] != '\n')
			fail(c, "%s reads as %zd bytes \"%.70s\"", path, n, buf);
	} else if (!gone(n)) {
		fail(c, "%s: %s", path, strerror(-n));
	}

	snprintf(path, sizeof(path), "%s/agent_counters", dir);
	n = read_small(path, buf, sizeof(buf));
	proc_op();
	if (n >= 0) {
		s = buf;
		for (i = 0; i < 9; i++) {
			size_t l = strlen(names[i]);
			char *end;

			if (strncmp(s, names[i], l) || s[l] != ' ' ||
			    !isdigit((unsigned char)s[l + 1]))
				break;
			strtoull(s + l + 1, &end, 10);
			if (*end != '\n')
				break;
			s = end + 1;
		}
		if (i != 9 || *s)
			fail(c, "%s: line %d of \"%.300s\" is not what the kernel documents",
			     path, i + 1, buf);
	} else if (n != -EACCES && !gone(n)) {
		fail(c, "%s: %s", path, strerror(-n));
	}
}

/* The nsfs side of a session's namespace file, with the results nsfs documents. */
static void check_ns_file(struct ctx *c, const char *dir)
{
	char path[320], link[64], want[64];
	struct fuzz_mnt_ns_info info;
	unsigned long inum;
	struct stat st;
	__u64 id = 0;
	int fd, rfd, r;
	ssize_t n;
	uid_t uid;

	snprintf(path, sizeof(path), "%s/ns/agent", dir);
	n = readlink(path, link, sizeof(link) - 1);
	proc_op();
	if (n < 0) {
		if (!gone(-errno))
			fail(c, "readlink %s: %s", path, strerror(errno));
		return;
	}
	link[n] = '\0';
	if (sscanf(link, "agent:[%lu]", &inum) != 1) {
		fail(c, "readlink %s = \"%s\"", path, link);
		return;
	}
	snprintf(want, sizeof(want), "agent:[%lu]", inum);
	if (strcmp(want, link))
		fail(c, "readlink %s = \"%s\"", path, link);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	proc_op();
	if (fd < 0) {
		if (!gone(-errno))
			fail(c, "open %s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st))
		fail(c, "fstat %s: %s", path, strerror(errno));
	if (st.st_ino != inum) {
		char again[64];

		/* Fine if the task moved to another session in between. */
		n = readlink(path, again, sizeof(again) - 1);
		if (n >= 0)
			again[n] = '\0';
		if (n >= 0 && !strcmp(again, link))
			fail(c, "%s: inode %lu, the link says %lu", path,
			     (unsigned long)st.st_ino, inum);
		inum = st.st_ino;
	}

	r = ioctl(fd, NS_GET_NSTYPE);
	if (r != AGENT_NS_TYPE)
		fail(c, "NS_GET_NSTYPE on %s = %d (%s)", path, r, strerror(errno));
	r = ioctl(fd, NS_GET_ID, &id);
	if (r || !id || (inum == AGENT_NS_INIT_INO ? id != AGENT_NS_INIT_ID :
			 id == AGENT_NS_INIT_ID))
		fail(c, "NS_GET_ID on %s = %d, id %llu", path, r, (unsigned long long)id);
	rfd = ioctl(fd, NS_GET_PARENT);
	if (inum == AGENT_NS_INIT_INO) {
		if (rfd != -1 || errno != EPERM)
			fail(c, "NS_GET_PARENT of the initial session = %d (%s)", rfd,
			     strerror(errno));
	} else if (rfd < 0 || ioctl(rfd, NS_GET_NSTYPE) != AGENT_NS_TYPE) {
		fail(c, "NS_GET_PARENT on %s = %d (%s)", path, rfd, strerror(errno));
	}
	if (rfd >= 0)
		close(rfd);
	rfd = ioctl(fd, NS_GET_USERNS);
	if (rfd < 0 || ioctl(rfd, NS_GET_NSTYPE) != CLONE_NEWUSER)
		fail(c, "NS_GET_USERNS on %s = %d (%s)", path, rfd, strerror(errno));
	if (rfd >= 0)
		close(rfd);
	/* The other types' ioctls: EINVAL; an unknown one: ENOTTY; a bad pointer: EFAULT. */
	if (ioctl(fd, NS_GET_OWNER_UID, &uid) != -1 || errno != EINVAL)
		fail(c, "NS_GET_OWNER_UID on %s: not EINVAL (%s)", path, strerror(errno));
	if (ioctl(fd, NS_GET_MNTNS_ID, &id) != -1 || errno != EINVAL)
		fail(c, "NS_GET_MNTNS_ID on %s: not EINVAL (%s)", path, strerror(errno));
	if (ioctl(fd, NS_GET_PID_FROM_PIDNS, 1) != -1 || errno != EINVAL)
		fail(c, "NS_GET_PID_FROM_PIDNS on %s: not EINVAL (%s)", path, strerror(errno));
	if (ioctl(fd, FUZZ_NS_MNT_GET_INFO, &info) != -1 || errno != EINVAL)
		fail(c, "NS_MNT_GET_INFO on %s: not EINVAL (%s)", path, strerror(errno));
	if (ioctl(fd, FUZZ_NS_UNKNOWN, 0) != -1 || errno != ENOTTY)
		fail(c, "an unknown nsfs ioctl on %s: not ENOTTY (%s)", path, strerror(errno));
	if (ioctl(fd, NS_GET_ID, NULL) != -1 || errno != EFAULT)
		fail(c, "NS_GET_ID(NULL) on %s: not EFAULT (%s)", path, strerror(errno));
	/* This process has threads: setns(2) into any session is EINVAL. */
	if (setns(fd, 0) != -1 || errno != EINVAL)
		fail(c, "setns(%s, 0) with threads: not EINVAL (%s)", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET) != -1 || errno != EINVAL)
		fail(c, "setns(%s, CLONE_NEWNET): not EINVAL (%s)", path, strerror(errno));
	close(fd);
	for (int i = 0; i < 14; i++)
		proc_op();
}

static void *proc_thread(void *p)
{
	struct thread_arg *t = p;
	struct dirent *de;
	char dir[300];
	DIR *d;

	while (!stopping()) {
		static const char * const top[] = { "/proc", "/proc/self/task" };

		for (int k = 0; k < 2 && !stopping(); k++) {
			d = opendir(top[k]);
			if (!d) {
				fail(&t->c, "opendir %s: %s", top[k], strerror(errno));
				return NULL;
			}
			while ((de = readdir(d)) && !stopping()) {
				if (!isdigit((unsigned char)de->d_name[0]))
					continue;
				snprintf(dir, sizeof(dir), "%s/%s", top[k], de->d_name);
				check_proc_files(&t->c, dir);
				check_ns_file(&t->c, dir);
			}
			closedir(d);
		}
	}
	return NULL;
}

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : def;
}

/* Whether [addr, addr + PAGE) is unmapped: mincore() says ENOMEM. */
static bool unmapped(unsigned long addr)
{
	unsigned char v;

	return mincore((void *)addr, PAGE, &v) == -1 && errno == ENOMEM;
}

static const struct agent_ns_budget ro_budget = {
	.max_syscalls = 1ULL << 40, .max_elapsed_ns = 1ULL << 50,
	.action = AGENT_NS_ACTION_LOG, .max_openat = 1 << 30,
};

/* A child creates a session below the test's and reads the parent id back. */
static int child_can_create(const unsigned char id[AGENT_NS_ID_BYTES])
{
	unsigned char mine[AGENT_NS_ID_BYTES], parent[AGENT_NS_ID_BYTES];
	pid_t pid = fork();

	if (pid == 0) {
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) ||
		    prctl(PR_GET_AGENT_SESSION_ID, mine, 0, 0, 0) ||
		    prctl(PR_GET_AGENT_PARENT_ID, parent, 0, 0, 0))
			_exit(1);
		_exit(memcmp(parent, id, AGENT_NS_ID_BYTES) ||
		      !memcmp(mine, id, AGENT_NS_ID_BYTES) ? 2 : 0);
	}
	return pid < 0 ? -1 : wait_exit(pid);
}

FIXTURE(fuzz) {
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, prctl_proc_and_nsfs, HARNESS_TIMEOUT)
{
	unsigned long target = env_ul("AGENTNS_FUZZ_CALLS", CALLS_DEFAULT);
	unsigned long secs = env_ul("AGENTNS_FUZZ_SECS", SECS_DEFAULT);
	uint64_t seed = env_ul("AGENTNS_FUZZ_SEED", 0x41544e53);
	struct thread_arg *t, forker, procr;
	unsigned char id[AGENT_NS_ID_BYTES];
	double t0, t1, elapsed;
	struct ctx main_ctx;
	unsigned long calls;
	char buf[64];
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	if (secs > SECS_MAX)
		secs = SECS_MAX;
	ksft_print_msg("seed %#llx (AGENTNS_FUZZ_SEED), %lu calls (AGENTNS_FUZZ_CALLS)",
		       (unsigned long long)seed, target);
	printf(" or %lu s (AGENTNS_FUZZ_SECS)\n", secs);
	ASSERT_TRUE(unmapped(UNMAPPED_PTR));
	ASSERT_TRUE(unmapped(LOW_PTR));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	fd = open("/proc/sys/kernel/agent_ns/enabled", O_RDONLY);
	enabled_at_start = 1;
	if (fd >= 0) {
		if (read(fd, buf, 1) == 1 && buf[0] == '0')
			enabled_at_start = 0;
		close(fd);
	}
	if (!enabled_at_start)
		SKIP(return, "kernel.agent_ns.enabled is 0");

	/* The read-only page: a budget, tags, a tail with a non-zero byte, no NUL at its end. */
	ro_page = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro_page);
	memcpy(ro_page, &ro_budget, sizeof(ro_budget));
	strcpy((char *)ro_page + 256, "read-only-tag");
	memset(ro_page + 512, 'x', AGENT_NS_INTENT_MAX);
	memset(ro_page + 1024, 'y', AGENT_NS_INTENT_MAX + 1);
	ro_page[3000] = 1;
	memset(ro_page + PAGE - 5, 'z', 5);
	ASSERT_EQ(0, mprotect(ro_page, PAGE, PROT_READ));
	ASSERT_EQ(0, mprotect(ro_page + PAGE, PAGE, PROT_NONE));

	t0 = now_s();
	ctx_init(&main_ctx, seed, "initial-session phase");
	ASSERT_TRUE(learn_ids(&main_ctx));
	main_ctx.level = session_level();
	main_ctx.sole = false;
	/* Single-threaded, in the initial session: sets are EINVAL, reads are zeros. */
	if (main_ctx.initial) {
		main_ctx.no_create = true;
		run_calls(&main_ctx, INIT_PHASE_CALLS, w_even);
		flush(&main_ctx);
	}
	/* Then in a session of the test's own, from racing threads. */
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_TRUE(learn_ids(&main_ctx));
	main_ctx.level++;
	ksft_print_msg("test process at depth %d; %lu calls in the initial session took %.2f s\n",
		       main_ctx.level, sh->calls, now_s() - t0);

	t = calloc(NR_THREADS, sizeof(*t));
	ASSERT_NE(NULL, t);
	for (int i = 0; i < NR_THREADS; i++) {
		char who[32];

		snprintf(who, sizeof(who), "thread %d", i);
		ctx_init(&t[i].c, seed ^ (0x100000001b3ULL * (i + 1)), who);
		memcpy(t[i].c.id, main_ctx.id, sizeof(id));
		memcpy(t[i].c.parent, main_ctx.parent, sizeof(id));
		t[i].c.level = main_ctx.level;
		t[i].c.threaded = true;
		t[i].seed = seed;
	}
	forker = t[0];
	ctx_init(&forker.c, seed ^ 0xf0f0, "forker");
	memcpy(forker.c.id, main_ctx.id, sizeof(id));
	memcpy(forker.c.parent, main_ctx.parent, sizeof(id));
	forker.c.level = main_ctx.level;
	ctx_init(&procr.c, seed ^ 0x0f0f, "proc reader");

	t1 = now_s();
	for (int i = 0; i < NR_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i].thread, NULL, fuzz_thread, &t[i]));
	ASSERT_EQ(0, pthread_create(&forker.thread, NULL, forker_thread, &forker));
	ASSERT_EQ(0, pthread_create(&procr.thread, NULL, proc_thread, &procr));

	for (;;) {
		usleep(100000);
		calls = __atomic_load_n(&sh->calls, __ATOMIC_RELAXED);
		elapsed = now_s() - t0;
		if (calls >= target || elapsed >= secs)
			break;
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(t[i].thread, NULL);
	pthread_join(forker.thread, NULL);
	pthread_join(procr.thread, NULL);
	elapsed = now_s() - t0;
	calls = sh->calls;

	ksft_print_msg("%lu prctl calls in %.1f s: %.0f calls/s", calls, elapsed, calls / elapsed);
	printf(" (%.0f/s with threads, after the initial-session phase)\n",
	       (calls - (main_ctx.initial ? INIT_PHASE_CALLS : 0)) / (now_s() - t1));
	for (int o = 0; o < NR_OPT; o++) {
		char line[256];
		size_t n = 0;

		for (int r = 0; r < NR_RES; r++)
			if (sh->results[o][r])
				n += snprintf(line + n, sizeof(line) - n, " %s:%lu", r_name[r],
					      sh->results[o][r]);
		ksft_print_msg("  %-28s%s\n", opt_name[o], line);
	}
	ksft_print_msg("%lu /proc and nsfs operations (%lu on tasks that had gone)\n",
		       sh->proc_ops, sh->proc_esrch);
	ksft_print_msg("children: %lu nest, %lu budget, %lu unpriv, %lu sibling; ",
		       sh->children[0], sh->children[1], sh->children[2], sh->children[3]);
	printf("%lu killed by their budgets; %lu sessions created, %lu ENOSPC at depth %d\n",
	       sh->child_kills, sh->sessions, sh->enospc, MAX_DEPTH);
	if (calls < target)
		ksft_print_msg("stopped at the %lu s bound after %lu of %lu calls\n",
			       secs, calls, target);
	EXPECT_EQ(0, sh->failures);
	EXPECT_GT(sh->proc_ops, 0);

	/* Still able to create sessions: single-threaded again, and in a child. */
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0));
	EXPECT_NE(0, memcmp(id, main_ctx.id, sizeof(id)));
	EXPECT_EQ(0, child_can_create(id));
}

/* On a kernel without agent namespaces every test is skipped (exit code 4). */
int main(int argc, char **argv)
{
	unsigned char id[AGENT_NS_ID_BYTES];

	if (prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespaces (CONFIG_AGENT_NS)\n");
	}
	return test_harness_run(argc, argv);
}
