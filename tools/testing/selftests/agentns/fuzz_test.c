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
 * The threads, the sibling and budget children and a deny child also
 * submit io_uring batches of NOP, WRITE, READ, OPENAT and CLOSE SQEs with
 * random sizes, descriptors and flags, valid and not, on a memfd, a pipe
 * and files of their own, each CQE checked against the one result (or the
 * few) the arguments call for.  Every SQE counts as a system call besides
 * io_uring_enter(2) itself, WRITE and READ count their res in write_bytes
 * and read_bytes, a successful OPENAT counts an open: the counters must
 * grow by at least that, and by exactly that in the deny child, whose
 * session is its own.  The deny child sets DENY budgets a few events or
 * bytes from its counters: a transfer is cut short to what is left, one
 * with nothing left, an OPENAT past max_openat and an SQE past
 * max_syscalls complete with -EDQUOT and do nothing (the memfd's size, the
 * pipe's content and the files are checked).  A budget on max_syscalls is
 * set in a grandchild's session of its own, which it cannot lift.  In the
 * budget child, whose SIGTERM and SIGKILL budgets may cut a transfer or
 * refuse an SQE, those results are allowed too.
 *
 * AGENTNS_FUZZ_SEED sets the seed (printed), AGENTNS_FUZZ_CALLS the number
 * of calls, an io_uring batch counting its SQEs and io_uring_enter(2)
 * (default 1000000) and AGENTNS_FUZZ_SECS the time bound (default
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
#define AGENTNS_IO_URING
#include "agentns_util.h"

#ifndef NS_GET_PID_FROM_PIDNS
#define NS_GET_PID_FROM_PIDNS	_IOR(0xb7, 6, int)
#endif
#ifndef IORING_NOP_INJECT_RESULT
#define IORING_NOP_INJECT_RESULT	0x1
#endif
#ifndef IORING_NOP_FILE
#define IORING_NOP_FILE		0x2
#endif
#ifndef RWF_APPEND
#define RWF_APPEND		0x00000010
#endif
#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND		0x00000020
#endif

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

/* The io_uring operations the fuzzer submits, and the errnos their CQEs are checked against. */
enum { UOP_NOP, UOP_WRITE, UOP_READ, UOP_OPENAT, UOP_CLOSE, NR_UOP };

static const char * const uop_name[NR_UOP] = { "NOP", "WRITE", "READ", "OPENAT", "CLOSE" };

enum {
	UE_EBADF, UE_EFAULT, UE_EINVAL, UE_EDQUOT, UE_EINTR, UE_EAGAIN, UE_ENOENT, UE_EEXIST,
	UE_ENOTDIR, UE_EISDIR, UE_EOPNOTSUPP, NR_UE,
};

static const int ue_errno[NR_UE] = {
	EBADF, EFAULT, EINVAL, EDQUOT, EINTR, EAGAIN, ENOENT, EEXIST, ENOTDIR, EISDIR, EOPNOTSUPP,
};

#define UE(e)			(1u << UE_##e)

/* The counters a DENY budget of the deny child limits, and "no limit". */
enum { UB_SYS, UB_WRITE, UB_READ, UB_OPEN, NR_UB };

#define UB_NONE			(~0ULL)

#define URING_ENTRIES		8
#define URING_MAX_SQES		4	/* per batch */
#define URING_ONE_IN		64	/* of a context's calls, one is an io_uring batch */
#define URING_FILES		4	/* file names per context in the scratch directory */
#define URING_FDS		8	/* descriptors from OPENAT a context keeps */
#define URING_PIPE_MAX		4096	/* bytes a context lets its pipe hold */
#define URING_SPAN		(64 * 1024)	/* file offsets of WRITE and READ */
#define URING_BAD_FD		900000	/* above any RLIMIT_NOFILE here: never open */
#define DENY_ROUNDS		24

/* A descriptor that OPENAT returned: its access mode (O_PATH for O_PATH), and a directory? */
struct ufd {
	int fd, acc;
	bool dir;
};

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
	unsigned long children[5], child_kills, sessions, enospc;
	/* io_uring: batches, SQEs, results per operation (0, error, EDQUOT), cut transfers */
	unsigned long uring_batches, uring_sqes, uring_res[NR_UOP][3], uring_cut;
	unsigned long deny_rounds, deny_sys_rounds, deny_sys_skipped;
	unsigned int uring_ctxs;		/* contexts that set up a ring */
	int uring_err;				/* io_uring_setup(2)'s errno, if it failed */
	unsigned int failures;
	unsigned int reports;
	int stop;
	int child_armed;			/* the running child may die of a budget */
	int child_final;			/* ... and must, it set a kill budget */
};

static struct shared *sh;
static unsigned char *ro_page;			/* PROT_READ, then PROT_NONE */
static int enabled_at_start;
static char scratch_dir[64];			/* io_uring's files; "" for none */
static ino_t test_ino;				/* the test's own session */
static pid_t test_pid;

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
	/* io_uring (uring_ready()): a ring, a memfd and a pipe of its own, files by name */
	bool use_uring;		/* submits io_uring batches */
	bool enforced;		/* a SIGTERM, SIGKILL or merged DENY budget may act on them */
	int uring;		/* 0: not set up yet, 1: ready, -1: none */
	struct agentns_ring ring;
	int memfd, pipe[2], nfds;
	struct ufd fds[URING_FDS];
	unsigned int utag, exists;	/* bit i: file name i exists */
	unsigned long long file_size, pipe_fill;
	unsigned long long left[NR_UB];	/* what an exact DENY budget has left, or UB_NONE */
	char paths[URING_MAX_SQES][96];	/* OPENAT paths of the batch */
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

/*
 * The kernel's rule for a change of action: any action binds more than
 * log, SIGKILL more than any other, and deny and SIGTERM do not replace
 * each other.
 */
static bool binds_as_much(__u32 new, __u32 old)
{
	return new == old || old == AGENT_NS_ACTION_LOG ||
	       new == AGENT_NS_ACTION_SIGKILL;
}

static bool loosens(const struct agent_ns_budget *o, const struct agent_ns_budget *n)
{
	const __u64 om[] = { o->max_syscalls, o->max_write_bytes, o->max_elapsed_ns,
			     o->max_openat, o->max_read_bytes, o->max_connect,
			     o->max_unlink, o->max_fork, o->max_exec };
	const __u64 nm[] = { n->max_syscalls, n->max_write_bytes, n->max_elapsed_ns,
			     n->max_openat, n->max_read_bytes, n->max_connect,
			     n->max_unlink, n->max_fork, n->max_exec };

	if (!binds_as_much(n->action, o->action))
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

/* What a CQE may say: a result in [lo, hi] (none if lo > hi), or minus one of the UE_* errs. */
struct uwant {
	int lo, hi;
	unsigned int errs;
};

static struct uwant uw(int lo, int hi, unsigned int errs)
{
	return (struct uwant){ .lo = lo, .hi = hi, .errs = errs };
}

/* One SQE of a batch: its arguments, the results it may complete with, and what it does. */
struct uop {
	int op, fd;
	unsigned long long addr, off;
	unsigned int len, flags, buf_index;	/* flags: rw_flags, open_flags or nop_flags */
	struct uwant w;
	bool budgeted;		/* got as far as the budget checks */
	bool cut;		/* a byte budget cuts it short */
	bool refused;		/* past max_syscalls: -EDQUOT, and nothing done */
	int target;		/* UT_*: where a WRITE or READ goes */
	int name, acc;		/* OPENAT: the file name or -1, the descriptor's access mode */
	bool creates, dir;	/* OPENAT: O_CREAT, a directory */
	int res;
};

enum { UT_NONE, UT_MEMFD, UT_PIPE, UT_FD };

/*
 * What the SQEs of a batch claim: at most one operation on the memfd and
 * one on the pipe, so that their order does not matter, one transfer each
 * way for a byte budget to cut, one OPENAT (max_openat is checked before
 * the open and counted after it), and each descriptor from OPENAT once.
 */
#define U_MEMFD			0x01
#define U_PIPE			0x02
#define U_WRITE			0x04
#define U_READ			0x08
#define U_OPEN			0x10
#define U_FD(i)			(1u << (8 + (i)))

struct ubatch {
	struct uop u[URING_MAX_SQES];
	int n;
	unsigned int claimed;
	bool opens;
};

static bool uop_ok(const struct uop *u, int res)
{
	if (res >= u->w.lo && res <= u->w.hi)
		return true;
	for (int e = 0; e < NR_UE; e++)
		if ((u->w.errs & (1u << e)) && res == -ue_errno[e])
			return true;
	return false;
}

static void file_name(const struct ctx *c, int i, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%u.%d", scratch_dir, c->utag, i);
}

/* Sets up the context's ring, memfd and pipe on first use: whether it has them. */
static bool uring_ready(struct ctx *c)
{
	int err;

	if (c->uring)
		return c->uring > 0;
	c->uring = -1;
	if (!scratch_dir[0])
		return false;
	err = ring_setup_flags(&c->ring, URING_ENTRIES, IORING_SETUP_SUBMIT_ALL);
	if (err) {
		__atomic_store_n(&sh->uring_err, -err, __ATOMIC_RELAXED);
		return false;
	}
	c->memfd = memfd_create("agentns-fuzz", MFD_CLOEXEC);
	if (c->memfd < 0 || pipe2(c->pipe, O_NONBLOCK | O_CLOEXEC)) {
		fail(c, "cannot set up io_uring's memfd and pipe: %s", strerror(errno));
		if (c->memfd >= 0)
			close(c->memfd);
		ring_close(&c->ring);
		return false;
	}
	c->utag = __atomic_add_fetch(&sh->uring_ctxs, 1, __ATOMIC_RELAXED);
	c->exists = 0;
	c->nfds = 0;
	c->file_size = 0;
	c->pipe_fill = 0;
	for (int i = 0; i < NR_UB; i++)
		c->left[i] = UB_NONE;
	c->uring = 1;
	return true;
}

static void uring_fini(struct ctx *c)
{
	if (c->uring <= 0)
		return;
	for (int i = 0; i < c->nfds; i++)
		close(c->fds[i].fd);
	c->nfds = 0;
	close(c->memfd);
	close(c->pipe[0]);
	close(c->pipe[1]);
	ring_close(&c->ring);
	c->uring = -1;
}

/* Closes the oldest descriptors from OPENAT until at most @keep are left. */
static void uring_trim(struct ctx *c, int keep)
{
	while (c->nfds > keep) {
		close(c->fds[0].fd);
		c->nfds--;
		memmove(&c->fds[0], &c->fds[1], c->nfds * sizeof(c->fds[0]));
	}
}

/* Claims a descriptor from OPENAT that no other SQE of the batch uses: its index, or -1. */
static int claim_fd(struct ctx *c, struct ubatch *b)
{
	int i;

	if (!c->nfds)
		return -1;
	i = below(c, c->nfds);
	if (b->claimed & U_FD(i))
		return -1;
	b->claimed |= U_FD(i);
	return i;
}

/*
 * The exact DENY budget on @ub (the deny child's): cuts @len to what is
 * left of it; false when nothing is left and @len is not 0.
 */
static bool budget_cut(const struct ctx *c, int ub, unsigned int *len)
{
	unsigned long long left = c->left[ub];

	if (left == UB_NONE)
		return true;
	if (*len && !left)
		return false;
	if (*len > left)
		*len = left;
	return true;
}

static void gen_nop(struct ctx *c, struct uop *u)
{
	static const unsigned int inject[] = {
		0, 1, 42, 4096, INT_MAX, (unsigned int)-EPERM, (unsigned int)-EINVAL,
	};
	unsigned int k = below(c, 100);

	u->op = IORING_OP_NOP;
	u->fd = -1;
	if (k < 60) {
		u->w = uw(0, 0, 0);
	} else if (k < 75) {
		u->flags = IORING_NOP_INJECT_RESULT;
		u->len = inject[below(c, ARRAY_SIZE(inject))];
		u->w = uw((int)u->len, (int)u->len, 0);
	} else if (k < 85) {
		u->flags = IORING_NOP_FILE;
		u->fd = c->memfd;
		u->w = uw(0, 0, 0);
	} else if (k < 93) {
		u->flags = IORING_NOP_FILE;
		u->fd = chance(c, 50) ? -1 : URING_BAD_FD;
		u->w = uw(1, 0, UE(EBADF));
	} else {
		u->flags = 1U << 31;
		u->w = uw(1, 0, UE(EINVAL));
	}
}

/*
 * What a WRITE or READ of @u (to or from @f if it is a descriptor from
 * OPENAT) completes with, in the kernel's order: the buffer (a kernel
 * address fails at prep), the descriptor and its mode, the rw_flags
 * (@bad_flags: which invalid ones), the byte budget, the offset, then the
 * transfer.  Sets u->budgeted and u->cut.
 */
static struct uwant rw_want(const struct ctx *c, struct uop *u, const struct ufd *f,
			    bool bad_fd, unsigned int bad_flags)
{
	bool write = u->op == IORING_OP_WRITE;
	unsigned int len = u->len, n = len;
	long long off = u->off;

	if (u->addr == KERNEL_PTR)
		return uw(1, 0, UE(EFAULT));
	if (bad_fd || (f && (f->acc == O_PATH || (write && (f->dir || f->acc == O_RDONLY)) ||
			     (!write && f->acc == O_WRONLY))))
		return uw(1, 0, UE(EBADF));
	if (bad_flags)
		return uw(1, 0, bad_flags == 1 ? UE(EOPNOTSUPP) : bad_flags == 2 ? UE(EINVAL) :
			  UE(EINVAL) | UE(EOPNOTSUPP));
	u->budgeted = true;
	if (!budget_cut(c, write ? UB_WRITE : UB_READ, &len))
		return uw(1, 0, UE(EDQUOT));
	u->cut = len < n;
	if (off < -1)
		return uw(1, 0, UE(EINVAL));
	n = len;
	if (u->target == UT_FD) {
		if (f->dir)
			return len ? uw(1, 0, UE(EISDIR) | UE(EINVAL)) : uw(0, 0, 0);
		/* A file of the scratch directory, whose size is not followed. */
		if (!u->addr && len)
			return uw(write ? 1 : 0, 0, UE(EFAULT));
		return uw(write ? len : 0, len, 0);
	}
	if (u->target == UT_MEMFD && !write && (unsigned long long)off + n > c->file_size)
		n = (unsigned long long)off < c->file_size ? c->file_size - off : 0;
	if (u->target == UT_PIPE && !write && n && !c->pipe_fill)
		return uw(1, 0, UE(EAGAIN));
	if (u->target == UT_PIPE && !write && n > c->pipe_fill)
		n = c->pipe_fill;
	if (!u->addr && n)
		return uw(1, 0, UE(EFAULT));
	return uw(n, n, 0);
}

/*
 * A WRITE or READ: on the memfd, the pipe (its right end or its wrong
 * one), a descriptor from OPENAT or one that is not open; from or to a
 * buffer in the context's area, NULL or a kernel address; with rw_flags
 * valid or not.  Pipe transfers are RWF_NOWAIT: io_uring would wait for
 * an empty pipe to fill.
 */
static void gen_rw(struct ctx *c, struct ubatch *b, struct uop *u, bool write)
{
	static const unsigned int lens[] = { 0, 1, 2, 7, 100, 511, 512, 4095, 4096, 4097, AREA };
	static const unsigned int badf[] = { 1U << 31, RWF_APPEND | RWF_NOAPPEND, RWF_HIPRI };
	unsigned int dir = write ? U_WRITE : U_READ, k = below(c, 100), len, max = AREA;
	unsigned int p = below(c, 100), bad_flags = 0;
	bool wrong_end = false, bad_fd = false;
	const struct ufd *f = NULL;
	long long off = 0;
	int slot = -1;

	if (b->claimed & dir) {
		gen_nop(c, u);
		return;
	}
	b->claimed |= dir;
	u->op = write ? IORING_OP_WRITE : IORING_OP_READ;
	if (k < 45 && !(b->claimed & U_MEMFD)) {
		u->target = UT_MEMFD;
		u->fd = c->memfd;
		b->claimed |= U_MEMFD;
		off = chance(c, 8) ? -2 : (long long)below(c, URING_SPAN);
	} else if (k < 75 && !(b->claimed & U_PIPE)) {
		u->target = UT_PIPE;
		wrong_end = chance(c, 12);
		u->fd = c->pipe[write != wrong_end];
		b->claimed |= U_PIPE;
		u->flags = RWF_NOWAIT;
		if (write)
			max = URING_PIPE_MAX - c->pipe_fill;
	} else {
		slot = k < 88 ? claim_fd(c, b) : -1;
		if (slot >= 0) {
			u->target = UT_FD;
			f = &c->fds[slot];
			u->fd = f->fd;
			off = chance(c, 8) ? -2 : chance(c, 20) ? -1 :
			      (long long)below(c, URING_SPAN);
		} else {
			bad_fd = true;
			u->fd = chance(c, 50) ? -1 : URING_BAD_FD;
		}
	}
	len = chance(c, 60) ? lens[below(c, ARRAY_SIZE(lens))] : below(c, AREA + 1);
	if (len > max)
		len = below(c, max + 1);
	/* Bad buffers are at least a byte long: access_ok() of 0 bytes is not the point. */
	if (p >= 82 && !len)
		len = max ? 1 : 0;
	if (p < 82 || !len)
		u->addr = (unsigned long)c->area + below(c, AREA - len + 1);
	else
		u->addr = p < 92 ? 0 : KERNEL_PTR;
	/*
	 * A write that copies nothing past the end of a memfd still moves its
	 * size to where it started (shmem_write_end()): keep NULL ones inside.
	 */
	if (write && !u->addr && u->target == UT_MEMFD && off > (long long)c->file_size)
		off = below(c, c->file_size + 1);
	u->len = len;
	u->off = off;
	if (chance(c, 8)) {
		bad_flags = 1 + below(c, ARRAY_SIZE(badf));
		u->flags |= badf[bad_flags - 1];
	}
	u->w = rw_want(c, u, f, bad_fd || wrong_end, bad_flags);
}

/*
 * An OPENAT: of one of the context's file names with flags that open it,
 * create it, refuse to (O_EXCL, O_DIRECTORY) or are invalid (O_TMPFILE
 * read-only, O_CREAT | O_DIRECTORY), of the scratch directory, of a
 * relative name from AT_FDCWD, a bad dirfd or one that is not a
 * directory, of "", NULL or a kernel address, or with a buf_index.  Bad
 * pointers and buf_index fail at prep, before max_openat; "" may too.
 */
static void gen_openat(struct ctx *c, struct ubatch *b, struct uop *u, int i)
{
	static const int extra[] = {
		O_CLOEXEC, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, O_LARGEFILE, 1 << 30,
	};
	unsigned int k = below(c, 100), exists;
	char *path = c->paths[i];
	unsigned int ok = 0, err = 0, early = 0;

	if (b->claimed & U_OPEN) {
		gen_nop(c, u);
		return;
	}
	b->claimed |= U_OPEN;
	b->opens = true;
	u->op = IORING_OP_OPENAT;
	u->fd = AT_FDCWD;
	u->addr = (unsigned long)path;
	u->name = -1;
	u->acc = O_RDONLY;
	u->len = 0600;
	if (k < 60) {
		u->name = below(c, URING_FILES);
		file_name(c, u->name, path, sizeof(c->paths[i]));
		exists = c->exists & (1u << u->name);
		switch (below(c, 9)) {
		case 0: case 1: case 2: {
			static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR };

			u->acc = acc[below(c, 3)];
			u->flags = u->acc;
			ok = exists;
			err = UE(ENOENT);
			break;
		}
		case 3:
			u->acc = O_WRONLY;
			u->flags = O_CREAT | O_WRONLY | (chance(c, 50) ? O_TRUNC : 0);
			u->creates = true;
			ok = 1;
			break;
		case 4:
			u->acc = O_RDWR;
			u->flags = O_CREAT | O_EXCL | O_RDWR;
			u->creates = true;
			ok = !exists;
			err = UE(EEXIST);
			break;
		case 5:
			u->flags = O_DIRECTORY;
			err = exists ? UE(ENOTDIR) : UE(ENOENT);
			break;
		case 6:
			u->acc = O_PATH;
			u->flags = O_PATH | (chance(c, 50) ? O_RDWR | O_CREAT : 0);
			ok = exists;
			err = UE(ENOENT);
			break;
		case 7:
			u->flags = O_TMPFILE & ~O_RDWR;
			err = UE(EINVAL);
			break;
		default:
			u->flags = O_CREAT | O_DIRECTORY | O_RDONLY;
			err = UE(EINVAL);
			break;
		}
	} else if (k < 68) {
		snprintf(path, sizeof(c->paths[i]), "%s", scratch_dir);
		u->flags = O_DIRECTORY | O_RDONLY;
		u->dir = true;
		ok = 1;
	} else if (k < 86) {
		snprintf(path, sizeof(c->paths[i]), "agentns-fuzz-none.%u", c->utag);
		u->flags = O_RDONLY;
		k = below(c, 3);
		u->fd = k == 0 ? AT_FDCWD : k == 1 ? (chance(c, 50) ? -5 : URING_BAD_FD) : c->memfd;
		err = k == 0 ? UE(ENOENT) : k == 1 ? UE(EBADF) : UE(ENOTDIR);
	} else if (k < 90) {
		path[0] = '\0';
		err = UE(ENOENT);
		early = UE(ENOENT);
	} else {
		u->addr = k < 95 ? 0 : KERNEL_PTR;
		early = UE(EFAULT);
	}
	if (chance(c, 30))
		u->flags |= extra[below(c, ARRAY_SIZE(extra))];
	if (chance(c, 4)) {
		u->buf_index = 1;
		early = UE(EINVAL);
		ok = 0;
	}
	u->budgeted = !(early & (UE(EFAULT) | UE(EINVAL)));
	if (!u->budgeted)
		u->w = uw(1, 0, early);
	else if (!c->left[UB_OPEN])
		u->w = uw(1, 0, UE(EDQUOT) | early);
	else if (ok)
		u->w = uw(0, INT_MAX, 0);
	else
		u->w = uw(1, 0, err);
}

/* A CLOSE: of a descriptor from OPENAT (with an invalid off, or not), one not open, the ring. */
static void gen_close(struct ctx *c, struct ubatch *b, struct uop *u)
{
	unsigned int k = below(c, 100);
	int slot = k < 78 ? claim_fd(c, b) : -1;

	u->op = IORING_OP_CLOSE;
	u->name = -1;
	if (slot >= 0 && k < 70) {
		u->fd = c->fds[slot].fd;
		u->w = uw(0, 0, 0);
	} else if (slot >= 0) {
		u->fd = c->fds[slot].fd;
		u->off = 1;
		u->w = uw(1, 0, UE(EINVAL));
	} else {
		u->fd = k < 90 ? (chance(c, 50) ? -1 : URING_BAD_FD) : c->ring.fd;
		u->w = uw(1, 0, UE(EBADF));
	}
}

/* A random batch of 1 to URING_MAX_SQES SQEs for the context's model. */
static void uring_gen(struct ctx *c, struct ubatch *b)
{
	memset(b, 0, sizeof(*b));
	b->n = 1 + below(c, URING_MAX_SQES);
	for (int i = 0; i < b->n; i++) {
		struct uop *u = &b->u[i];
		unsigned int k = below(c, 100);

		u->target = UT_NONE;
		if (k < 20)
			gen_nop(c, u);
		else if (k < 45)
			gen_rw(c, b, u, true);
		else if (k < 70)
			gen_rw(c, b, u, false);
		else if (k < 88)
			gen_openat(c, b, u, i);
		else
			gen_close(c, b, u);
		/* A SIGTERM, SIGKILL or merged DENY budget may cut or refuse; stragglers: EINTR. */
		if (c->enforced) {
			u->w.errs |= UE(EINTR);
			if (u->budgeted)
				u->w.errs |= UE(EDQUOT);
			if (u->budgeted && u->w.hi >= 1 && u->w.lo > 1)
				u->w.lo = 1;
		}
	}
}

/*
 * With @allowed events left of a DENY max_syscalls: io_uring_enter(2)
 * takes one, each SQE one more; an SQE with none left completes with
 * -EDQUOT.  Returns whether io_uring_enter(2) itself runs.
 */
static bool uring_sys_budget(struct ubatch *b, long long allowed)
{
	for (int i = 0; i < b->n; i++) {
		if (allowed >= i + 2)
			continue;
		b->u[i].refused = true;
		b->u[i].w = uw(1, 0, UE(EDQUOT));
	}
	return allowed >= 1;
}

static void uring_encode(struct agentns_ring *r, const struct ubatch *b)
{
	for (int i = 0; i < b->n; i++) {
		const struct uop *u = &b->u[i];
		struct io_uring_sqe *sqe = ring_sqe(r, u->op, u->fd, i);

		sqe->addr = u->addr;
		sqe->off = u->off;
		sqe->len = u->len;
		sqe->rw_flags = u->flags;
		sqe->buf_index = u->buf_index;
	}
}

/*
 * Submits the batch in one io_uring_enter(2) that waits for all its CQEs
 * (the ring is IORING_SETUP_SUBMIT_ALL: a failed SQE does not stop the
 * rest) and reaps them into u[].res.  Returns what io_uring_enter(2)
 * returned, -errno or the number of SQEs consumed; *@got: the CQEs.
 */
static int uring_submit(struct agentns_ring *r, struct ubatch *b, int *got)
{
	struct io_uring_cqe cqe;
	int ret;

	uring_encode(r, b);
	ring_flush(r);
	ret = ring_enter(r, b->n, b->n);
	*got = 0;
	for (int tries = 0; ret >= 0 && tries < 1000; tries++) {
		while (ring_reap(r, &cqe))
			if (cqe.user_data < (__u64)b->n) {
				b->u[cqe.user_data].res = cqe.res;
				(*got)++;
			}
		if (*got >= ret || ring_enter(r, 0, ret - *got) < 0)
			break;
	}
	return ret;
}

static int uop_index(int op)
{
	switch (op) {
	case IORING_OP_NOP: return UOP_NOP;
	case IORING_OP_WRITE: return UOP_WRITE;
	case IORING_OP_READ: return UOP_READ;
	case IORING_OP_OPENAT: return UOP_OPENAT;
	}
	return UOP_CLOSE;
}

static void uop_str(const struct uop *u, char *buf, size_t size)
{
	size_t n = snprintf(buf, size, "%s(fd %d, addr %#llx, len %u, off %lld, flags %#x%s) = %d;"
			    " expected", uop_name[uop_index(u->op)], u->fd, u->addr, u->len,
			    (long long)u->off, u->flags, u->buf_index ? ", buf_index 1" : "",
			    u->res);

	if (u->w.lo <= u->w.hi && n < size)
		n += snprintf(buf + n, size - n, " [%d, %d]", u->w.lo, u->w.hi);
	for (int e = 0; e < NR_UE && n < size; e++)
		if (u->w.errs & (1u << e))
			n += snprintf(buf + n, size - n, " -%s", strerrorname_np(ue_errno[e]));
}

/*
 * Checks each CQE of a batch that ran and applies what it did to the
 * model; descriptors from OPENAT are the context's only if @mine.  Adds
 * the bytes and opens to @sum (UB_* order).  False on a wrong result.
 */
static bool uring_check(struct ctx *c, struct ubatch *b, bool mine, unsigned long long sum[NR_UB])
{
	bool good = true;

	for (int i = 0; i < b->n; i++) {
		struct uop *u = &b->u[i];
		int op, res = u->res, kind;
		char what[320];

		op = uop_index(u->op);
		kind = res == -EDQUOT ? 2 : res < 0 ? 1 : 0;
		__atomic_add_fetch(&sh->uring_res[op][kind], 1, __ATOMIC_RELAXED);
		if (!uop_ok(u, res)) {
			uop_str(u, what, sizeof(what));
			fail(c, "io_uring %s%s", what, u->refused ? " (past max_syscalls)" : "");
			good = false;
			continue;
		}
		if (u->refused || res < 0)
			continue;
		switch (op) {
		case UOP_WRITE:
		case UOP_READ: {
			int ub = op == UOP_WRITE ? UB_WRITE : UB_READ;

			if (u->cut)
				__atomic_add_fetch(&sh->uring_cut, 1, __ATOMIC_RELAXED);
			sum[ub] += res;
			if (c->left[ub] != UB_NONE)
				c->left[ub] -= res;
			/* A write of 0 bytes does not move the size. */
			if (op == UOP_WRITE && u->target == UT_MEMFD && res &&
			    u->off + res > c->file_size)
				c->file_size = u->off + res;
			if (u->target == UT_PIPE && op == UOP_WRITE)
				c->pipe_fill += res;
			else if (u->target == UT_PIPE)
				c->pipe_fill -= res;
			break;
		}
		case UOP_OPENAT:
			sum[UB_OPEN]++;
			if (c->left[UB_OPEN] != UB_NONE)
				c->left[UB_OPEN]--;
			if (u->creates)
				c->exists |= 1u << u->name;
			if (!mine)
				break;
			if (c->nfds == URING_FDS) {
				close(res);
				break;
			}
			c->fds[c->nfds].fd = res;
			c->fds[c->nfds].acc = u->acc;
			c->fds[c->nfds].dir = u->dir;
			c->nfds++;
			break;
		case UOP_CLOSE:
			for (int j = 0; mine && j < c->nfds; j++)
				if (c->fds[j].fd == u->fd) {
					c->nfds--;
					memmove(&c->fds[j], &c->fds[j + 1],
						(c->nfds - j) * sizeof(c->fds[0]));
					break;
				}
			break;
		}
	}
	return good;
}

/*
 * Checks that the memfd's size, the pipe's content and which file names
 * exist are what the batches that ran made them (a refused SQE does
 * nothing); @names: check the names too.
 */
static bool uring_check_state(struct ctx *c, bool names)
{
	char path[128];
	struct stat st;
	int fill = -1;

	if (fstat(c->memfd, &st) || (unsigned long long)st.st_size != c->file_size) {
		fail(c, "io_uring: the memfd has %lld bytes, not %llu", (long long)st.st_size,
		     c->file_size);
		return false;
	}
	if (ioctl(c->pipe[0], FIONREAD, &fill) || (unsigned int)fill != c->pipe_fill) {
		fail(c, "io_uring: the pipe holds %d bytes, not %llu", fill, c->pipe_fill);
		return false;
	}
	for (int i = 0; names && i < URING_FILES; i++) {
		bool there;

		file_name(c, i, path, sizeof(path));
		there = !access(path, F_OK);
		if (there != !!(c->exists & (1u << i))) {
			fail(c, "io_uring: %s %s", path, there ? "exists, no OPENAT created it" :
			     "is not there");
			return false;
		}
	}
	return true;
}

static int get_counters(struct agent_ns_counters *k)
{
	return prctl(PR_GET_AGENT_COUNTERS, k, sizeof(*k), 0, 0) ? -errno : 0;
}

/* Counters that never go back, as PR_GET_AGENT_COUNTERS' check does. */
static bool counters_moved_on(struct ctx *c, const struct agent_ns_counters *k)
{
	if (k->total_syscalls < c->last_syscalls || k->elapsed_ns < c->last_elapsed) {
		fail(c, "io_uring: total_syscalls or elapsed_ns went back");
		return false;
	}
	c->last_syscalls = k->total_syscalls;
	c->last_elapsed = k->elapsed_ns;
	return true;
}

/*
 * The counters from @k0 to @k1 moved by at least (@exact: by exactly)
 * @sys system calls, @sum's bytes and opens.
 */
static bool check_deltas(struct ctx *c, const struct agent_ns_counters *k0,
			 const struct agent_ns_counters *k1, unsigned long long sys,
			 const unsigned long long sum[NR_UB], bool exact)
{
	const unsigned long long d[NR_UB] = {
		k1->total_syscalls - k0->total_syscalls, k1->write_bytes - k0->write_bytes,
		k1->read_bytes - k0->read_bytes, k1->openat_count - k0->openat_count,
	};
	static const char * const names[NR_UB] = { "syscalls", "write_bytes", "read_bytes",
						   "openat" };
	unsigned long long w[NR_UB] = { sys, sum[UB_WRITE], sum[UB_READ], sum[UB_OPEN] };

	for (int i = 0; i < NR_UB; i++)
		if (d[i] < w[i] || (exact && d[i] != w[i])) {
			fail(c, "io_uring: %s grew by %llu, %s %llu", names[i], d[i],
			     exact ? "not" : "less than", w[i]);
			return false;
		}
	return true;
}

/*
 * One io_uring batch in a context whose session others share (or whose
 * budgets may act): the CQEs, then counters that grew by at least the
 * io_uring_enter(2), the SQEs, the bytes and the opens, and the memfd,
 * the pipe and the file names as the model has them.
 */
static void uring_one(struct ctx *c)
{
	unsigned long long sum[NR_UB] = { 0 };
	struct agent_ns_counters k0, k1;
	unsigned long enters;
	struct ubatch b;
	int ret, got;

	if (!uring_ready(c))
		return;
	uring_trim(c, URING_FDS / 2);
	uring_gen(c, &b);
	ret = get_counters(&k0);
	if (ret)
		goto counters;
	if (!counters_moved_on(c, &k0))
		goto stop;
	enters = c->ring.enters;
	ret = uring_submit(&c->ring, &b, &got);
	/* The calls made: io_uring_enter(2) and each SQE, as the kernel counts them. */
	c->calls += 1 + b.n;
	__atomic_add_fetch(&sh->uring_batches, 1, __ATOMIC_RELAXED);
	if (ret != b.n || got != b.n) {
		fail(c, "io_uring_enter(%d SQEs) = %d (%s), %d CQEs", b.n, ret,
		     ret < 0 ? strerror(-ret) : "-", got);
		goto stop;
	}
	__atomic_add_fetch(&sh->uring_sqes, b.n, __ATOMIC_RELAXED);
	if (!uring_check(c, &b, true, sum))
		goto stop;
	ret = get_counters(&k1);
	if (ret)
		goto counters;
	if (!counters_moved_on(c, &k1) ||
	    !check_deltas(c, &k0, &k1, c->ring.enters - enters + b.n + 1, sum, false) ||
	    !uring_check_state(c, b.opens))
		goto stop;
	if (c->calls >= 256)
		flush(c);
	return;
counters:
	fail(c, "io_uring: PR_GET_AGENT_COUNTERS: %s", strerror(-ret));
stop:
	/* The model is off: no more io_uring in this context. */
	uring_fini(c);
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

/*
 * The depth of the caller's session, @initial or not: the NS_GET_PARENT
 * steps from it up to the initial session.  NS_GET_PARENT hands out a
 * parent only when it is the caller's own session or below it (the pid
 * namespaces' rule), so the walk is made from the initial session: by a
 * child that enters pid 1's session, when that is the initial one, with a
 * descriptor of the caller's.  Where it cannot, the child counts the
 * sessions it can still create below the caller's: the depth is
 * MAX_DEPTH less that.  Returns the depth, or -1.
 */
static int session_level(bool initial)
{
	int fd, status;
	pid_t pid;

	if (initial)
		return 0;
	fd = open("/proc/self/ns/agent", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int init = open("/proc/1/ns/agent", O_RDONLY), level = 0, pfd, n = 0;
		struct stat st;

		if (init >= 0 && !fstat(init, &st) && st.st_ino == AGENT_NS_INIT_INO &&
		    !setns(init, 0)) {
			while (level <= MAX_DEPTH && (pfd = ioctl(fd, NS_GET_PARENT)) >= 0) {
				close(fd);
				fd = pfd;
				level++;
			}
			_exit(errno == EPERM && !fstat(fd, &st) && st.st_ino == AGENT_NS_INIT_INO &&
			      level <= MAX_DEPTH ? level : 255);
		}
		while (n <= MAX_DEPTH && !prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			n++;
		_exit(errno == ENOSPC && n <= MAX_DEPTH ? MAX_DEPTH - n : 255);
	}
	close(fd);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) > MAX_DEPTH)
		return -1;
	return WEXITSTATUS(status);
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
	for (unsigned long i = 0; i < n && !(i % 64 == 0 && stopping()); i++) {
		if (c->use_uring && !below(c, URING_ONE_IN))
			uring_one(c);
		else
			fuzz_one(c, pick_opt(c, w));
	}
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
	/* No session is created after io_uring's io-wq workers make it threaded. */
	c->use_uring = true;
	c->enforced = true;
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
	c->use_uring = true;
	run_calls(c, 2000, w_sets);
}

/* What a grandchild of the deny child reports, through a MAP_SHARED page. */
struct deny_page {
	int stage, ret, got, k1_ret;
	int res[URING_MAX_SQES];
	struct agent_ns_counters k0, k1;
};

static int set_budget(const struct agent_ns_budget *b)
{
	return prctl(PR_SET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0) ? -errno : 0;
}

/* A limit @allow events past a count of @total (0: none); -1: one already passed. */
static __u64 deny_limit(__u64 total, long long allow)
{
	if (allow < 0)
		return total > 1 ? total - 1 : 0;
	return total + allow;
}

/* What is left of a limit @lim set at a count of @used, or UB_NONE. */
static unsigned long long deny_left(__u64 lim, __u64 used)
{
	if (!lim)
		return UB_NONE;
	return lim > used ? lim - used : 0;
}

/* Passed already, nothing left, a little left, or out of reach. */
static long long pick_allow(struct ctx *c, unsigned int little)
{
	unsigned int k = below(c, 100);

	if (k < 10)
		return -1;
	if (k < 25)
		return 0;
	if (k < 85)
		return 1 + below(c, little);
	return 1LL << 30;
}

static void uring_unlimited(struct ctx *c)
{
	for (int i = 0; i < NR_UB; i++)
		c->left[i] = UB_NONE;
}

/*
 * A DENY budget on write_bytes, read_bytes and opens a few bytes or opens
 * from the session's counts (sometimes one out of reach on max_syscalls,
 * which sends every SQE through the budget path), batches that run into
 * it, counters that grew by exactly the io_uring_enter(2) calls, the SQEs
 * and what the CQEs say, and never past a limit.  Then the budget is
 * lifted, which root may do.
 */
static void deny_round(struct ctx *c)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_DENY }, none = { 0 };
	unsigned long long sum[NR_UB] = { 0 }, sqes = 0;
	int batches = 1 + below(c, 4), ret, got;
	struct agent_ns_counters k0, k1;
	bool good = true, opens = false;
	unsigned long enters;
	struct ubatch ub;

	uring_trim(c, URING_FDS - 4);
	ret = get_counters(&k0);
	if (ret) {
		fail(c, "io_uring: PR_GET_AGENT_COUNTERS: %s", strerror(-ret));
		uring_fini(c);
		return;
	}
	if (chance(c, 60))
		b.max_write_bytes = deny_limit(k0.write_bytes, pick_allow(c, 6000));
	if (chance(c, 60))
		b.max_read_bytes = deny_limit(k0.read_bytes, pick_allow(c, 6000));
	if (chance(c, 60))
		b.max_openat = deny_limit(k0.openat_count, pick_allow(c, 3));
	if (chance(c, 30))
		b.max_syscalls = k0.total_syscalls + (1 << 20);
	c->left[UB_WRITE] = deny_left(b.max_write_bytes, k0.write_bytes);
	c->left[UB_READ] = deny_left(b.max_read_bytes, k0.read_bytes);
	c->left[UB_OPEN] = deny_left(b.max_openat, k0.openat_count);
	ret = set_budget(&b);
	if (ret) {
		fail(c, "io_uring: setting a DENY budget: %s", strerror(-ret));
		uring_unlimited(c);
		uring_fini(c);
		return;
	}
	enters = c->ring.enters;
	for (int i = 0; good && i < batches; i++) {
		uring_gen(c, &ub);
		ret = uring_submit(&c->ring, &ub, &got);
		c->calls += 1 + ub.n;
		__atomic_add_fetch(&sh->uring_batches, 1, __ATOMIC_RELAXED);
		if (ret != ub.n || got != ub.n) {
			fail(c, "io_uring_enter(%d SQEs) under a DENY budget = %d (%s), %d CQEs",
			     ub.n, ret, ret < 0 ? strerror(-ret) : "-", got);
			good = false;
			break;
		}
		__atomic_add_fetch(&sh->uring_sqes, ub.n, __ATOMIC_RELAXED);
		sqes += ub.n;
		opens |= ub.opens;
		good = uring_check(c, &ub, true, sum);
	}
	/* The budget's prctl(), the io_uring_enter(2) calls, the SQEs, this prctl(). */
	ret = good ? get_counters(&k1) : 0;
	if (ret) {
		fail(c, "io_uring: PR_GET_AGENT_COUNTERS under a DENY budget: %s", strerror(-ret));
		good = false;
	}
	if (good)
		good = check_deltas(c, &k0, &k1, 1 + (c->ring.enters - enters) + sqes + 1, sum,
				    true);
	if (good && ((b.max_write_bytes && k1.write_bytes > b.max_write_bytes &&
		      k1.write_bytes > k0.write_bytes) ||
		     (b.max_read_bytes && k1.read_bytes > b.max_read_bytes &&
		      k1.read_bytes > k0.read_bytes) ||
		     (b.max_openat && k1.openat_count > b.max_openat &&
		      k1.openat_count > k0.openat_count))) {
		fail(c, "io_uring: a count went past its DENY limit");
		good = false;
	}
	uring_unlimited(c);
	ret = set_budget(&none);
	if (ret) {
		fail(c, "io_uring: lifting a DENY budget: %s", strerror(-ret));
		good = false;
	}
	if (!good || !uring_check_state(c, true)) {
		uring_fini(c);
		return;
	}
	__atomic_add_fetch(&sh->deny_rounds, 1, __ATOMIC_RELAXED);
}

/*
 * The grandchild of a max_syscalls round: a session of its own, a ring
 * of its own, a DENY budget @a events from its system call count (and
 * budgets of @ab bytes written, read and opens from its counts where @ab
 * is positive), the batch in one io_uring_enter(2), then one more
 * system call.  It cannot lift the budget: it reports through @pg, and
 * exits (exit_group(2) is exempt).  It does not return.
 */
static void deny_grandchild(struct ubatch *ub, struct deny_page *pg, long long a,
			    const long long ab[NR_UB])
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_DENY };
	struct io_uring_cqe cqe;
	struct agentns_ring r;
	int err;

	if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0)) {
		pg->stage = -errno;
		_exit(0);
	}
	err = ring_setup_flags(&r, URING_ENTRIES, IORING_SETUP_SUBMIT_ALL);
	if (!err)
		err = get_counters(&pg->k0);
	if (err) {
		pg->stage = err;
		_exit(0);
	}
	uring_encode(&r, ub);
	/* The prctl() that sets it is the count's next system call. */
	b.max_syscalls = deny_limit(pg->k0.total_syscalls + 1, a);
	b.max_write_bytes = ab[UB_WRITE] > 0 ? pg->k0.write_bytes + ab[UB_WRITE] : 0;
	b.max_read_bytes = ab[UB_READ] > 0 ? pg->k0.read_bytes + ab[UB_READ] : 0;
	b.max_openat = ab[UB_OPEN] > 0 ? pg->k0.openat_count + ab[UB_OPEN] : 0;
	err = set_budget(&b);
	if (err) {
		pg->stage = err;
		_exit(0);
	}
	ring_flush(&r);
	pg->ret = ring_enter(&r, ub->n, ub->n);
	while (ring_reap(&r, &cqe))
		if (cqe.user_data < (__u64)ub->n) {
			pg->res[cqe.user_data] = cqe.res;
			pg->got++;
		}
	pg->k1_ret = get_counters(&pg->k1);
	pg->stage = 1;
	_exit(0);
}

/*
 * A DENY budget on max_syscalls, in a grandchild's session: its
 * io_uring_enter(2) is refused with EDQUOT if the budget allows no event,
 * else SQE i completes with -EDQUOT and does nothing unless the budget
 * allows i + 2 events, and the system call after the batch is refused
 * unless it allows one more.  The memfd, the pipe and the files are the
 * deny child's: the model follows what the grandchild did to them.
 */
static void deny_sys_round(struct ctx *c, struct deny_page *pg)
{
	long long a = (long long)below(c, URING_MAX_SQES + 4) - 1, ab[NR_UB] = { 0 };
	unsigned long long sum[NR_UB] = { 0 };
	bool runs, good = true;
	struct ubatch ub;
	int status;
	pid_t pid;

	ab[UB_WRITE] = chance(c, 50) ? 1 + below(c, 6000) : 0;
	ab[UB_READ] = chance(c, 50) ? 1 + below(c, 6000) : 0;
	ab[UB_OPEN] = chance(c, 50) ? 1 : 0;
	for (int i = UB_WRITE; i < NR_UB; i++)
		c->left[i] = ab[i] > 0 ? (unsigned long long)ab[i] : UB_NONE;
	uring_gen(c, &ub);
	runs = uring_sys_budget(&ub, a);
	memset(pg, 0, sizeof(*pg));
	pid = fork();
	if (pid == 0)
		deny_grandchild(&ub, pg, a, ab);
	status = pid < 0 ? -1 : wait_exit(pid);
	c->calls += 1 + ub.n;
	if (status || pg->stage != 1) {
		uring_unlimited(c);
		if (!status && pg->stage == -ENOSPC) {
			__atomic_add_fetch(&sh->deny_sys_skipped, 1, __ATOMIC_RELAXED);
			return;
		}
		fail(c, "io_uring: the max_syscalls grandchild: exit %d, stage %d (%s)", status,
		     pg->stage, pg->stage < 0 ? strerror(-pg->stage) : "-");
		uring_fini(c);
		return;
	}
	__atomic_add_fetch(&sh->uring_batches, 1, __ATOMIC_RELAXED);
	if (pg->ret != (runs ? ub.n : -EDQUOT) || (runs && pg->got != ub.n)) {
		fail(c, "io_uring_enter(%d SQEs) with %lld of max_syscalls left = %d (%s), %d CQEs",
		     ub.n, a, pg->ret, pg->ret < 0 ? strerror(-pg->ret) : "-", pg->got);
		good = false;
	} else if (runs) {
		__atomic_add_fetch(&sh->uring_sqes, ub.n, __ATOMIC_RELAXED);
		for (int i = 0; i < ub.n; i++)
			ub.u[i].res = pg->res[i];
		good = uring_check(c, &ub, false, sum);
	}
	/* Its budget's prctl(), io_uring_enter(2), the SQEs, the prctl() after them. */
	if (good && a >= ub.n + 2) {
		good = !pg->k1_ret;
		if (!good)
			fail(c, "io_uring: a system call within max_syscalls: %s",
			     strerror(-pg->k1_ret));
		else
			good = check_deltas(c, &pg->k0, &pg->k1, 1 + 1 + ub.n + 1, sum, true);
	} else if (good && pg->k1_ret != -EDQUOT) {
		fail(c, "io_uring: a system call past max_syscalls = %d, not -EDQUOT", pg->k1_ret);
		good = false;
	}
	uring_unlimited(c);
	if (!good || !uring_check_state(c, true)) {
		uring_fini(c);
		return;
	}
	__atomic_add_fetch(&sh->deny_sys_rounds, 1, __ATOMIC_RELAXED);
}

/*
 * Child: io_uring batches under DENY budgets, in a session of its own and
 * in its grandchildren's, with every result and count predicted exactly.
 */
static void child_deny(struct ctx *c)
{
	struct deny_page *pg;

	if (child_create(c) != 0)
		return;
	c->use_uring = true;
	if (!uring_ready(c))
		return;
	pg = mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pg == MAP_FAILED) {
		fail(c, "cannot map the grandchildren's page: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < DENY_ROUNDS && c->uring > 0 && !stopping(); i++) {
		if (i % 4 == 3)
			deny_sys_round(c, pg);
		else
			deny_round(c);
	}
	munmap(pg, sizeof(*pg));
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
	uring_fini(&t->c);
	return NULL;
}

/* Forks the children one after another and judges how each ended. */
static void *forker_thread(void *p)
{
	struct thread_arg *t = p;
	const struct ctx *parent = &t->c;

	for (unsigned long n = 0; !stopping(); n++) {
		static const char * const names[] = {
			"nest", "budget", "unpriv", "sibling", "deny",
		};
		int type = n % 5, status;
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
			case 3:
				child_sibling(&c);
				break;
			default:
				child_deny(&c);
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

/*
 * Whether the session of @fd is the test's own or below it: the walk up
 * from it with NS_GET_PARENT reaches the test's session.
 */
static bool at_or_below_test(int fd)
{
	int cur = fd, up;
	struct stat st;
	bool found = false;

	for (int i = 0; i <= MAX_DEPTH && cur >= 0; i++) {
		if (fstat(cur, &st))
			break;
		if (st.st_ino == test_ino) {
			found = true;
			break;
		}
		up = ioctl(cur, NS_GET_PARENT);
		if (cur != fd)
			close(cur);
		cur = up;
	}
	if (cur >= 0 && cur != fd)
		close(cur);
	return found;
}

/*
 * Whether the process of @dir (/proc/PID) descends from the test
 * process, which puts it in the test's session or below it.
 */
static bool descends_from_test(const char *dir)
{
	char path[64], buf[512], *p;
	long pid;

	if (sscanf(dir, "/proc/%ld", &pid) != 1)
		return false;
	for (int i = 0; i < 8 && pid > 1; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if (read_small(path, buf, sizeof(buf)) <= 0)
			return false;
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %*c %ld", &pid) != 1)
			return false;
		if (pid == test_pid)
			return true;
	}
	return false;
}

/* The nsfs side of a session's namespace file, with the results nsfs documents. */
static void check_ns_file(struct ctx *c, const char *dir)
{
	char path[320], link[64], want[64];
	struct fuzz_mnt_ns_info info;
	unsigned long inum;
	struct stat st;
	__u64 id = 0;
	int fd, rfd, r, err;
	ssize_t n;
	uid_t uid;

	/*
	 * procfs answers EACCES for a namespace link whose task has exited
	 * since the lookup (proc_ns_readlink() and proc_ns_get_link() start
	 * from -EACCES): the reader is root, so it is never a refused ptrace
	 * check, and it counts as gone.
	 */
	snprintf(path, sizeof(path), "%s/ns/agent", dir);
	n = readlink(path, link, sizeof(link) - 1);
	proc_op();
	if (n < 0) {
		if (errno != EACCES && !gone(-errno))
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
		if (errno != EACCES && !gone(-errno))
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
	/*
	 * The parent is handed out only when it is this thread's session (the
	 * test's) or below it: EPERM for the initial session, which has none,
	 * for the test's, whose parent is above it, and for sessions outside
	 * the test's subtree; a descendant process of the test is inside it.
	 */
	rfd = ioctl(fd, NS_GET_PARENT);
	err = errno;
	if (inum == AGENT_NS_INIT_INO || inum == test_ino) {
		if (rfd != -1 || err != EPERM)
			fail(c, "NS_GET_PARENT of %s session = %d (%s), not EPERM",
			     inum == test_ino ? "the test's own" : "the initial", rfd,
			     strerror(err));
	} else if (rfd >= 0) {
		if (ioctl(rfd, NS_GET_NSTYPE) != AGENT_NS_TYPE || !at_or_below_test(rfd))
			fail(c, "NS_GET_PARENT on %s: a session not at or below the test's", path);
	} else if (err != EPERM || descends_from_test(dir)) {
		fail(c, "NS_GET_PARENT on %s (a descendant's) = %d (%s)", path, rfd,
		     strerror(err));
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

/* Waits up to five seconds for the test process to be its only thread: whether it is. */
static bool single_threaded(void)
{
	double deadline = now_s() + 5;
	struct dirent *de;
	int n;
	DIR *d;

	do {
		d = opendir("/proc/self/task");
		if (!d)
			return false;
		for (n = 0; (de = readdir(d));)
			n += isdigit((unsigned char)de->d_name[0]) != 0;
		closedir(d);
		if (n == 1)
			return true;
		usleep(10000);
	} while (now_s() < deadline);
	return false;
}

/* Removes the scratch directory of io_uring's files. */
static void remove_scratch(void)
{
	char path[sizeof(scratch_dir) + 256];
	struct dirent *de;
	DIR *d;

	if (!scratch_dir[0])
		return;
	d = opendir(scratch_dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", scratch_dir, de->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(scratch_dir);
}

static void print_uring(void)
{
	char line[200];
	size_t n = 0;

	if (!sh->uring_ctxs) {
		ksft_print_msg("no io_uring batches: %s\n", sh->uring_err ?
			       strerror(sh->uring_err) : "no scratch directory");
		return;
	}
	ksft_print_msg("io_uring: %lu batches, %lu SQEs in %u contexts, %lu cut by a budget;",
		       sh->uring_batches, sh->uring_sqes, sh->uring_ctxs, sh->uring_cut);
	printf(" deny child: %lu rounds, %lu past max_syscalls (%lu skipped)\n",
	       sh->deny_rounds, sh->deny_sys_rounds, sh->deny_sys_skipped);
	for (int o = 0; o < NR_UOP && n < sizeof(line); o++)
		n += snprintf(line + n, sizeof(line) - n, " %s %lu/%lu/%lu", uop_name[o],
			      sh->uring_res[o][0], sh->uring_res[o][1], sh->uring_res[o][2]);
	ksft_print_msg("  results (ok/error/EDQUOT):%s\n", line);
}

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
	struct stat st;
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
	main_ctx.level = session_level(main_ctx.initial);
	ASSERT_LE(0, main_ctx.level);
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
	ASSERT_EQ(0, stat("/proc/self/ns/agent", &st));
	test_ino = st.st_ino;
	test_pid = getpid();
	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/agentns-fuzz-XXXXXX");
	if (!mkdtemp(scratch_dir)) {
		ksft_print_msg("no io_uring batches: mkdtemp: %s\n", strerror(errno));
		scratch_dir[0] = '\0';
	}
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
		t[i].c.use_uring = true;
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

	ksft_print_msg("%lu calls (prctl, io_uring SQEs and enters) in %.1f s: %.0f calls/s", calls,
		       elapsed, calls / elapsed);
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
	ksft_print_msg("children: %lu nest, %lu budget, %lu unpriv, %lu sibling, %lu deny; ",
		       sh->children[0], sh->children[1], sh->children[2], sh->children[3],
		       sh->children[4]);
	printf("%lu killed by their budgets; %lu sessions created, %lu ENOSPC at depth %d\n",
	       sh->child_kills, sh->sessions, sh->enospc, MAX_DEPTH);
	print_uring();
	if (calls < target)
		ksft_print_msg("stopped at the %lu s bound after %lu of %lu calls\n",
			       secs, calls, target);
	EXPECT_EQ(0, sh->failures);
	EXPECT_GT(sh->proc_ops, 0);
	remove_scratch();

	/*
	 * Still able to create sessions: single-threaded again (once the io-wq
	 * workers of the threads' rings are gone), and in a child.
	 */
	EXPECT_TRUE(single_threaded());
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
