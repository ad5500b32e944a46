// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace stress: for AGENTNS_STRESS_SECS (default 30) seconds,
 * eight worker processes run scenarios in forked children, each in
 * sessions of its own: nested sessions with children that exit, setns(2)
 * into other workers' sessions and back out through /proc/PID/ns/agent,
 * limits set and tightened (and refused loosening without privilege),
 * budgets that must kill whole sessions (SIGKILL, SIGTERM, elapsed time,
 * fork count, bytes written through io_uring), deny budgets whose
 * refusals must leave the session running, threads reading counters and
 * listing sessions with
 * listns(2), and sessions left to the reaper, which runs every second
 * with a three-second max_lifetime for the test (both restored after).
 *
 * At the end every session the test created must have ended: listns(2)
 * of the agent type lists nothing that was not listed before the test,
 * and the user.max_agent_namespaces ucount of root and of nobody is back
 * at its starting value (measured by how many sessions fit under a low
 * limit).  Teardown is polled for, as it may finish after the last
 * waitpid(2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <linux/io_uring.h>
#include <linux/nsfs.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

#define SECS_DEFAULT		30
#define SECS_MAX		120
#define HARNESS_TIMEOUT		(SECS_MAX + 90)
#define NR_WORKERS		8
#define NR_SLOTS		64	/* published pids of sessions to enter */
#define MAX_IDS			4096
#define PROBE_MAX		30	/* sessions the ucount probe may create */
#define SETTLE_SECS		10	/* how long teardown may take */

enum scenario {
	S_NEST, S_SETNS, S_KILL, S_TERM, S_ELAPSED, S_FORKS, S_LOG, S_TIGHTEN,
	S_THREADS, S_UNPRIV, S_REAPED, S_URING, S_DENY, NR_S,
};

static const char * const s_name[NR_S] = {
	"nest", "setns", "kill-budget", "term-budget", "elapsed-budget",
	"fork-budget", "log-budget", "tighten", "threads", "unprivileged",
	"reaped", "io_uring-budget", "deny-budget",
};

/* Scenarios that must end by a signal: a budget or the reaper kills them. */
static const bool s_dies[NR_S] = {
	[S_KILL] = true, [S_TERM] = true, [S_ELAPSED] = true, [S_FORKS] = true,
	[S_REAPED] = true, [S_URING] = true,
};

/* How often each scenario runs, relative to the others. */
static const unsigned int s_weight[NR_S] = { 14, 16, 8, 5, 5, 5, 8, 10, 12, 10, 4, 6, 6 };

struct shared {
	pid_t slots[NR_SLOTS];
	unsigned long runs[NR_S], passed[NR_S], killed[NR_S], failed[NR_S];
	unsigned long sessions, setns_ok, listns_calls, strays, open_eacces;
	unsigned int failures;
};

static struct shared *sh;
static double deadline;

static __thread const char *scen_name = "?";

/* A scenario's failure: a message and a distinct exit status. */
static int bad(int code, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("FAIL %s (pid %d): %s", scen_name, getpid(), buf);
	return code;
}

static __thread uint64_t rng;

static unsigned int below(unsigned int n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((rng * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

static __u64 ns_id_of(int fd)
{
	__u64 id = 0;

	return ioctl(fd, NS_GET_ID, &id) ? 0 : id;
}

static __u64 self_ns_id(void)
{
	int fd = open("/proc/self/ns/agent", O_RDONLY);
	__u64 id;

	if (fd < 0)
		return 0;
	id = ns_id_of(fd);
	close(fd);
	return id;
}

static ino_t self_ns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/agent", &st) ? 0 : st.st_ino;
}

/* listns(2) of the agent type into @ids: how many, or -errno. */
static long list_sessions(__u64 *ids, size_t nr)
{
	struct ns_id_req req = {
		.size = NS_ID_REQ_SIZE_VER0,
		.ns_type = AGENT_NS_TYPE,
	};
	long n = syscall(__NR_listns, &req, ids, nr, 0);

	__atomic_add_fetch(&sh->listns_calls, 1, __ATOMIC_RELAXED);
	return n < 0 ? -errno : n;
}

static bool listed(__u64 id)
{
	static __thread __u64 ids[MAX_IDS];
	long n = list_sessions(ids, MAX_IDS);

	for (long i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static void publish(void);

/* A new session, published for other scenarios to setns(2) into. */
static int create(void)
{
	if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
		return -errno;
	__atomic_add_fetch(&sh->sessions, 1, __ATOMIC_RELAXED);
	publish();
	return 0;
}

static int get_counters(struct agent_ns_counters *c)
{
	return prctl(PR_GET_AGENT_COUNTERS, c, sizeof(*c), 0, 0);
}

static int set_budget(const struct agent_ns_budget *b)
{
	return prctl(PR_SET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0);
}

static void publish(void)
{
	pid_t me = getpid();

	__atomic_store_n(&sh->slots[below(NR_SLOTS)], me, __ATOMIC_RELAXED);
}

static void unpublish(void)
{
	pid_t me = getpid();

	for (int i = 0; i < NR_SLOTS; i++)
		__atomic_compare_exchange_n(&sh->slots[i], &me, 0, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Nested sessions, a child that exits at each level, ids and tags checked. */
static int scen_nest(void)
{
	int depth = 1 + below(8);
	unsigned char prev[AGENT_NS_ID_BYTES], id[AGENT_NS_ID_BYTES];
	unsigned char parent[AGENT_NS_ID_BYTES];
	char tag[32], got[80];
	int fd;
	ssize_t n;

	for (int level = 0; level < depth; level++) {
		struct agent_ns_counters c;
		pid_t pid;

		if (prctl(PR_GET_AGENT_SESSION_ID, prev, 0, 0, 0))
			return bad(10, "PR_GET_AGENT_SESSION_ID: %s", strerror(errno));
		if (create())
			return bad(11, "PR_SET_AGENT_NS at level %d: %s", level, strerror(errno));
		if (prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0) ||
		    prctl(PR_GET_AGENT_PARENT_ID, parent, 0, 0, 0))
			return bad(12, "reading ids: %s", strerror(errno));
		if (!memcmp(id, prev, sizeof(id)) || memcmp(parent, prev, sizeof(id)))
			return bad(13, "the new session's ids do not chain");
		snprintf(tag, sizeof(tag), "nest-%d-%d", getpid(), level);
		if (prctl(PR_SET_AGENT_INTENT_TAG, tag, 0, 0, 0))
			return bad(14, "PR_SET_AGENT_INTENT_TAG: %s", strerror(errno));
		fd = open("/proc/self/agent_intent", O_RDONLY);
		n = fd < 0 ? -1 : read(fd, got, sizeof(got) - 1);
		if (fd >= 0)
			close(fd);
		if (n != (ssize_t)strlen(tag) + 1 || strncmp(got, tag, strlen(tag)))
			return bad(15, "/proc/self/agent_intent does not read back \"%s\"", tag);
		pid = fork();
		if (pid < 0)
			return bad(16, "fork: %s", strerror(errno));
		if (pid == 0) {
			for (int i = 0; i < 20; i++)
				syscall(SYS_getppid);
			_exit(0);
		}
		if (wait_exit(pid) != 0)
			return bad(17, "a child at level %d failed", level);
		if (get_counters(&c) || c.fork_count < 1 || c.total_syscalls < 20)
			return bad(18, "the child's work is not in the counters (fork %llu)",
			    (unsigned long long)c.fork_count);
	}
	return 0;
}

/* Into other workers' sessions and back, by /proc/PID/ns/agent; with a thread: EINVAL. */
static void *wait_pipe(void *arg)
{
	char c;

	if (read(*(int *)arg, &c, 1) < 0)
		return NULL;
	return arg;
}

static int scen_setns(void)
{
	int own, initfd, fd, go[2];
	struct stat st;
	pthread_t t;
	char path[64];
	ino_t own_ino;

	if (create())
		return bad(20, "PR_SET_AGENT_NS: %s", strerror(errno));
	own = open("/proc/self/ns/agent", O_RDONLY);
	initfd = open("/proc/1/ns/agent", O_RDONLY);
	if (own < 0 || initfd < 0 || fstat(own, &st))
		return bad(21, "opening namespace files: %s", strerror(errno));
	own_ino = st.st_ino;
	for (int i = 0, entered = 0; i < NR_SLOTS && entered < 6; i++) {
		pid_t pid = __atomic_load_n(&sh->slots[(i * 7 + below(NR_SLOTS)) % NR_SLOTS],
					    __ATOMIC_RELAXED);

		if (!pid || pid == getpid())
			continue;
		entered++;
		snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			if (errno == ENOENT || errno == ESRCH)
				continue;
			/*
			 * EACCES too when the target was reaped between
			 * the lookup of /proc/PID and the link's
			 * resolution: proc_ns_get_link() answers so when
			 * get_proc_task() finds no task.  Counted.
			 */
			if (errno == EACCES) {
				__atomic_add_fetch(&sh->open_eacces, 1, __ATOMIC_RELAXED);
				continue;
			}
			return bad(22, "open %s: %s", path, strerror(errno));
		}
		if (fstat(fd, &st))
			return bad(23, "fstat: %s", strerror(errno));
		if (setns(fd, below(2) ? 0 : AGENT_NS_TYPE))
			return bad(24, "setns into %s: %s", path, strerror(errno));
		__atomic_add_fetch(&sh->setns_ok, 1, __ATOMIC_RELAXED);
		if (self_ns_ino() != st.st_ino)
			return bad(25, "setns into %s did not move us there", path);
		close(fd);
		for (int k = 0; k < 10; k++)
			syscall(SYS_getppid);
		if (setns(own, 0))
			return bad(26, "setns back: %s", strerror(errno));
		if (self_ns_ino() != own_ino)
			return bad(27, "setns back did not move us back");
	}
	if (setns(initfd, 0) || self_ns_ino() != AGENT_NS_INIT_INO)
		return bad(28, "setns into the initial session: %s", strerror(errno));
	if (setns(own, AGENT_NS_TYPE) || self_ns_ino() != own_ino)
		return bad(29, "setns from the initial session back: %s", strerror(errno));
	/* The second thread waits on a pipe: it is there for the whole call. */
	if (pipe(go) || pthread_create(&t, NULL, wait_pipe, &go[0]))
		return bad(30, "pthread_create");
	errno = 0;
	if (setns(initfd, 0) != -1 || errno != EINVAL)
		return bad(31, "setns with a second thread: not EINVAL (%s)", strerror(errno));
	if (write(go[1], "x", 1) != 1)
		return bad(32, "write: %s", strerror(errno));
	pthread_join(t, NULL);
	close(own);
	close(initfd);
	return 0;
}

static void *spin(void *arg)
{
	for (;;)
		syscall(SYS_getppid);
	return arg;
}

/* Processes and a thread spinning in the session, for a budget to kill. */
static int spinners(void)
{
	pthread_t t;

	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0)
			spin(NULL);
	}
	return pthread_create(&t, NULL, spin, NULL) ? -1 : 0;
}

/*
 * A budget with a kill action (or SIGTERM, or on elapsed time, or on
 * forks) on a session with two more processes and a thread: all of them
 * must die; the worker checks that this process did and reaps the rest.
 */
static int scen_budget(enum scenario s)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };
	struct agent_ns_counters c;
	double until;

	if (create())
		return bad(40, "PR_SET_AGENT_NS: %s", strerror(errno));
	if (s != S_FORKS && spinners())
		return bad(41, "starting spinners: %s", strerror(errno));
	if (get_counters(&c))
		return bad(42, "PR_GET_AGENT_COUNTERS: %s", strerror(errno));
	switch (s) {
	case S_TERM:
		b.action = AGENT_NS_ACTION_SIGTERM;
		b.max_syscalls = c.total_syscalls + 500;
		break;
	case S_ELAPSED:
		b.max_elapsed_ns = c.elapsed_ns + 50 * 1000 * 1000;
		break;
	case S_FORKS:
		b.max_fork = c.fork_count + 3;
		break;
	default:
		b.max_syscalls = c.total_syscalls + 500;
		break;
	}
	if (set_budget(&b))
		return bad(43, "PR_SET_AGENT_BUDGET_LIMITS: %s", strerror(errno));
	until = now_s() + 10;
	while (now_s() < until) {
		if (s == S_FORKS) {
			pid_t pid = fork();

			if (pid == 0)
				spin(NULL);
		} else if (s == S_ELAPSED) {
			usleep(10000);
		}
	}
	return bad(44, "alive 10 s after its %s budget was set", s_name[s]);
}

/*
 * io_uring traffic while a kill budget fires: two processes and a thread
 * submit batches of 16 one-page WRITEs to /dev/null; a SIGKILL budget on
 * write_bytes must end them all.  A kernel without io_uring: the budget
 * is crossed by write(2) instead.
 */
static void *uring_writer(void *arg)
{
	static char page[4096];
	struct io_uring_params p = { 0 };
	unsigned int *tail, *mask, *array, *chead, *ctail;
	struct io_uring_sqe *sqes;
	int fd = open("/dev/null", O_WRONLY), ring;
	char *sq, *cq;

	ring = syscall(__NR_io_uring_setup, 16, &p);
	if (ring < 0)
		for (;;)
			write(fd, page, sizeof(page));
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * 4, PROT_READ | PROT_WRITE,
		  MAP_SHARED, ring, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		for (;;)
			write(fd, page, sizeof(page));
	tail = (unsigned int *)(sq + p.sq_off.tail);
	mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	array = (unsigned int *)(sq + p.sq_off.array);
	chead = (unsigned int *)(cq + p.cq_off.head);
	ctail = (unsigned int *)(cq + p.cq_off.tail);
	for (;;) {
		unsigned int t = *tail;

		for (int i = 0; i < 16; i++, t++) {
			struct io_uring_sqe *sqe = &sqes[t & *mask];

			memset(sqe, 0, sizeof(*sqe));
			sqe->opcode = IORING_OP_WRITE;
			sqe->fd = fd;
			sqe->addr = (unsigned long)page;
			sqe->len = sizeof(page);
			array[t & *mask] = t & *mask;
		}
		__atomic_store_n(tail, t, __ATOMIC_RELEASE);
		syscall(__NR_io_uring_enter, ring, 16, 16, IORING_ENTER_GETEVENTS, NULL, 0);
		__atomic_store_n(chead, __atomic_load_n(ctail, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
	}
	return arg;
}

static int scen_uring(void)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };
	struct agent_ns_counters c;
	pthread_t t;

	if (create())
		return bad(130, "PR_SET_AGENT_NS: %s", strerror(errno));
	if (get_counters(&c))
		return bad(131, "PR_GET_AGENT_COUNTERS: %s", strerror(errno));
	b.max_write_bytes = c.write_bytes + (8 << 20);
	if (set_budget(&b))
		return bad(132, "PR_SET_AGENT_BUDGET_LIMITS: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return bad(133, "fork: %s", strerror(errno));
		if (pid == 0)
			uring_writer(NULL);
	}
	if (pthread_create(&t, NULL, uring_writer, NULL))
		return bad(134, "pthread_create failed");
	sleep(10);
	return bad(135, "alive 10 s after its write_bytes budget was set");
}

/*
 * A deny budget on opens: the crossing open fails with EDQUOT and so does
 * every later one, the counter stays at the limit, and the session lives on.
 */
static int scen_deny(void)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_DENY };
	struct agent_ns_counters c;

	if (create())
		return bad(140, "PR_SET_AGENT_NS: %s", strerror(errno));
	if (get_counters(&c))
		return bad(141, "PR_GET_AGENT_COUNTERS: %s", strerror(errno));
	b.max_openat = c.openat_count + 3;
	if (set_budget(&b))
		return bad(142, "PR_SET_AGENT_BUDGET_LIMITS: %s", strerror(errno));
	for (int i = 0; i < 20; i++) {
		int fd = open("/dev/null", O_RDONLY);

		if (i < 3 && fd < 0)
			return bad(143, "open %d within the budget: %s", i, strerror(errno));
		if (i >= 3 && (fd >= 0 || errno != EDQUOT))
			return bad(144, "open %d past a deny budget: %d (%s)", i, fd,
				   strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (get_counters(&c) || c.openat_count != b.max_openat)
		return bad(145, "openat %llu after the refusals, limit %llu",
			   (unsigned long long)c.openat_count,
			   (unsigned long long)b.max_openat);
	return 0;
}

/* A LOG budget is crossed and reported, and nothing is killed. */
static int scen_log(void)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_LOG };
	struct agent_ns_counters c;

	if (create())
		return bad(50, "PR_SET_AGENT_NS: %s", strerror(errno));
	if (get_counters(&c))
		return bad(51, "PR_GET_AGENT_COUNTERS: %s", strerror(errno));
	b.max_syscalls = c.total_syscalls + 50;
	b.max_openat = c.openat_count + 2;
	if (set_budget(&b))
		return bad(52, "PR_SET_AGENT_BUDGET_LIMITS: %s", strerror(errno));
	for (int i = 0; i < 200; i++)
		syscall(SYS_getppid);
	for (int i = 0; i < 5; i++)
		close(open("/dev/null", O_RDONLY));
	if (get_counters(&c) || c.total_syscalls <= b.max_syscalls ||
	    c.openat_count <= b.max_openat)
		return bad(53, "the LOG budget was not crossed");
	return 0;
}

/* Limits tightened step by step; without privilege loosening is EPERM. */
static int scen_tighten(void)
{
	struct agent_ns_budget b = {
		.max_syscalls = 1000000000, .max_write_bytes = 1ULL << 40,
		.action = AGENT_NS_ACTION_LOG,
	}, r;
	int status;
	pid_t pid;

	if (create())
		return bad(60, "PR_SET_AGENT_NS: %s", strerror(errno));
	if (set_budget(&b))
		return bad(61, "setting limits: %s", strerror(errno));
	b.max_syscalls /= 2;
	b.max_openat = 1000000;
	b.action = AGENT_NS_ACTION_SIGTERM;
	if (set_budget(&b))
		return bad(62, "tightening: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return bad(63, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct agent_ns_budget l = b;

		scen_name = "tighten (nobody)";
		if (drop_to_nobody())
			_exit(70);
		l.max_syscalls = b.max_syscalls + 1;
		if (set_budget(&l) != -1 || errno != EPERM)
			_exit(71);
		l = b;
		l.max_openat = 0;
		if (set_budget(&l) != -1 || errno != EPERM)
			_exit(72);
		l = b;
		l.action = AGENT_NS_ACTION_LOG;
		if (set_budget(&l) != -1 || errno != EPERM)
			_exit(73);
		l = b;
		l.max_syscalls = b.max_syscalls - 1000;
		l.action = AGENT_NS_ACTION_SIGKILL;
		if (set_budget(&l))
			_exit(74);
		_exit(0);
	}
	status = wait_exit(pid);
	if (status)
		return bad(64, "the unprivileged child: exit %d", status);
	if (prctl(PR_GET_AGENT_BUDGET_LIMITS, &r, sizeof(r), 0, 0))
		return bad(65, "PR_GET_AGENT_BUDGET_LIMITS: %s", strerror(errno));
	if (r.max_syscalls != b.max_syscalls - 1000 || r.action != AGENT_NS_ACTION_SIGKILL ||
	    r.max_openat != b.max_openat)
		return bad(66, "the limits the child tightened are not the session's");
	return 0;
}

struct reader {
	__u64 id;
	int bad;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	__u64 last = 0;

	for (int i = 0; i < 40 && !r->bad; i++) {
		struct agent_ns_counters c;
		char buf[512];
		int fd;

		if (get_counters(&c) || c.total_syscalls < last)
			r->bad = 1;
		last = c.total_syscalls;
		fd = open("/proc/self/agent_counters", O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
			r->bad = 2;
		if (fd >= 0)
			close(fd);
		if (!listed(r->id))
			r->bad = 3;
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) != -1 || errno != EINVAL)
			r->bad = 4;
	}
	return NULL;
}

/* Threads read counters and list sessions while the process forks children that exit. */
static int scen_threads(void)
{
	struct reader r[3] = { 0 };
	pthread_t t[3];

	if (create())
		return bad(80, "PR_SET_AGENT_NS: %s", strerror(errno));
	for (int i = 0; i < 3; i++) {
		r[i].id = self_ns_id();
		if (pthread_create(&t[i], NULL, read_loop, &r[i]))
			return bad(81, "pthread_create");
	}
	for (int i = 0; i < 5; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		if (r[i].bad)
			return bad(82 + r[i].bad, "reader thread %d: check %d failed", i, r[i].bad);
	}
	return 0;
}

/* Without privilege, under no_new_privs: nested sessions, no way out, own session listed. */
static int scen_unpriv(void)
{
	int parentfd = open("/proc/self/ns/agent", O_RDONLY);

	if (parentfd < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || drop_to_nobody())
		return bad(90, "dropping privileges: %s", strerror(errno));
	for (int i = 0; i < 1 + (int)below(3); i++)
		if (create())
			return bad(91, "PR_SET_AGENT_NS under no_new_privs: %s", strerror(errno));
	if (setns(parentfd, 0) != -1 || errno != EPERM)
		return bad(92, "setns out of the session: not EPERM (%s)", strerror(errno));
	if (prctl(PR_SET_AGENT_INTENT_TAG, "unprivileged", 0, 0, 0))
		return bad(93, "PR_SET_AGENT_INTENT_TAG: %s", strerror(errno));
	if (!listed(self_ns_id()))
		return bad(94, "listns(2) does not list the caller's own session");
	close(parentfd);
	return 0;
}

/* A session that outlives max_lifetime: the reaper kills it, a child included. */
static int scen_reaped(void)
{
	pid_t pid;

	if (create())
		return bad(100, "PR_SET_AGENT_NS: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		sleep(15);
		_exit(0);
	}
	sleep(12);
	return bad(101, "not reaped 12 s into a 3 s max_lifetime");
}

static int run_scenario(enum scenario s)
{
	int ret;

	scen_name = s_name[s];
	switch (s) {
	case S_NEST:
		ret = scen_nest();
		break;
	case S_SETNS:
		ret = scen_setns();
		break;
	case S_LOG:
		ret = scen_log();
		break;
	case S_TIGHTEN:
		ret = scen_tighten();
		break;
	case S_THREADS:
		ret = scen_threads();
		break;
	case S_UNPRIV:
		ret = scen_unpriv();
		break;
	case S_REAPED:
		ret = scen_reaped();
		break;
	case S_URING:
		ret = scen_uring();
		break;
	case S_DENY:
		ret = scen_deny();
		break;
	default:
		ret = scen_budget(s);
		break;
	}
	unpublish();
	return ret;
}

static enum scenario pick(void)
{
	unsigned int total = 0, k;

	for (int s = 0; s < NR_S; s++)
		total += s_weight[s];
	k = below(total);
	for (int s = 0; s < NR_S; s++) {
		if (k < s_weight[s])
			return s;
		k -= s_weight[s];
	}
	return S_NEST;
}

/* The hexadecimal value of line @key ("SigPnd:", ...) of /proc/@pid/status, or "?". */
static void status_field(int pid, const char *key, char *val, size_t size)
{
	char path[64], line[128];
	FILE *f;

	snprintf(val, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) &&
		    sscanf(line + strlen(key), "%31s", val) == 1)
			break;
	fclose(f);
}

/* The first @size - 1 bytes of /proc/@pid/@name on one line ('|' for newlines), or "?". */
static void proc_line(int pid, const char *name, char *val, size_t size)
{
	char path[64];
	ssize_t len = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		len = read(fd, val, size - 1);
		close(fd);
	}
	if (len <= 0) {
		snprintf(val, size, "?");
		return;
	}
	while (len > 0 && val[len - 1] == '\n')
		len--;
	val[len] = '\0';
	for (char *c = val; *c; c++)
		if (*c == '\n')
			*c = '|';
}

/*
 * Prints each live process of process group @pgrp: pid, state, whether it
 * is exiting (PF_EXITING in the flags of /proc/PID/stat), the CPU time it
 * has had (utime + stime, in clock ticks: whether it runs at all), its
 * minor page faults (a fault that is taken again and again shows as a
 * count that grows between two looks), its pending signals, session and
 * name, then where it is in the kernel.
 */
static void show_group(pid_t pgrp)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;

	while (proc && (de = readdir(proc))) {
		char path[64], stat[512], ns[64] = "?", comm[32], state;
		char pnd[32], shd[32], wchan[64], syscall[64], stack[1024], *save;
		unsigned long utime = 0, stime = 0, minflt = 0;
		unsigned int flags = 0;
		int pid = atoi(de->d_name), gid;
		ssize_t len;
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(stat, sizeof(stat), f) ||
		    sscanf(stat, "%*d (%31[^)]) %c %*d %d %*d %*d %*d %u %lu %*u %*u %*u %lu %lu",
			   comm, &state, &gid, &flags, &minflt, &utime, &stime) != 7)
			gid = 0;
		fclose(f);
		if (gid != pgrp)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
		len = readlink(path, ns, sizeof(ns) - 1);
		ns[len > 0 ? len : 1] = '\0';
		status_field(pid, "SigPnd:", pnd, sizeof(pnd));
		status_field(pid, "ShdPnd:", shd, sizeof(shd));
		proc_line(pid, "wchan", wchan, sizeof(wchan));
		proc_line(pid, "syscall", syscall, sizeof(syscall));
		proc_line(pid, "stack", stack, sizeof(stack));
		say("  left: pid %d state %c%s cpu %lu ticks minflt %lu SigPnd %s ShdPnd %s %s %s",
		    pid, state, flags & 0x4 ? " exiting" : "", utime + stime, minflt, pnd, shd,
		    ns, comm);
		say("    wchan %s syscall %s, stack:", wchan, syscall);
		for (char *f = strtok_r(stack, "|", &save); f; f = strtok_r(NULL, "|", &save))
			say("      %s", f);
	}
	if (proc)
		closedir(proc);
}

/* Reaps every descendant left over (the worker is their subreaper); how many there were. */
static int reap_all(pid_t pgrp, enum scenario s, bool must_be_dead)
{
	double start = now_s(), until = start + 30;
	int shown = 0;
	int n = 0, status;

	if (must_be_dead) {
		/*
		 * A budget kill covers the whole session: they go by
		 * themselves.  A killed process may take seconds to finish
		 * exiting on the debug kernel under TCG, among the other
		 * workers' spinners: what is left after 10 and 20 s is shown, and
		 * fails the test if it is still there after 30 s.
		 */
		while (now_s() < until) {
			pid_t pid = waitpid(-1, &status, WNOHANG);

			if (pid < 0)
				return n;
			if (pid > 0) {
				n++;
				continue;
			}
			if (shown < 2 && now_s() > start + 10 * (shown + 1)) {
				say("worker %d: processes of a killed %s session, %d s on:",
				    getpid(), s_name[s], 10 * (shown + 1));
				show_group(pgrp);
				shown++;
			}
			usleep(10000);
		}
		say("FAIL worker %d: processes of a killed %s session live on after 30 s",
		    getpid(), s_name[s]);
		show_group(pgrp);
		__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
	}
	kill(-pgrp, SIGKILL);
	while (waitpid(-1, &status, 0) > 0)
		n++;
	return n;
}

static void worker(int index, uint64_t seed)
{
	rng = seed ^ (0x9e3779b97f4a7c15ULL * (index + 1));
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	while (now_s() < deadline) {
		enum scenario s = pick();
		int status, strays;
		pid_t pid;

		pid = fork();
		if (pid < 0) {
			usleep(10000);
			continue;
		}
		if (pid == 0) {
			setpgid(0, 0);
			rng ^= (uint64_t)getpid() << 32;
			_exit(run_scenario(s));
		}
		__atomic_add_fetch(&sh->runs[s], 1, __ATOMIC_RELAXED);
		if (waitpid(pid, &status, 0) != pid) {
			__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (WIFSIGNALED(status) &&
		    (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGTERM)) {
			/* Budgets kill; the reaper kills whatever lives past 3 s. */
			__atomic_add_fetch(s_dies[s] ? &sh->passed[s] : &sh->killed[s], 1,
					   __ATOMIC_RELAXED);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !s_dies[s]) {
			__atomic_add_fetch(&sh->passed[s], 1, __ATOMIC_RELAXED);
		} else {
			__atomic_add_fetch(&sh->failed[s], 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
			say("FAIL runner %d: %s scenario: %s %d", index, s_name[s],
			    WIFSIGNALED(status) ? "signal" : "exit status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		}
		strays = reap_all(pid, s, s_dies[s] && WIFSIGNALED(status));
		__atomic_add_fetch(&sh->strays, strays, __ATOMIC_RELAXED);
	}
	_exit(0);
}

/*
 * How many sessions the current user owns: the number that no longer fit
 * under a user.max_agent_namespaces of PROBE_MAX.  As nobody when
 * @nobody (no_new_privs lets it create sessions).  -1 when unknown.
 */
static long ucount_used(bool nobody)
{
	int pipefd[2];
	long n = -1;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid == 0) {
		long made = 0;

		close(pipefd[0]);
		if (nobody && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || drop_to_nobody()))
			_exit(1);
		while (made <= PROBE_MAX && prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) == 0)
			made++;
		if (errno != ENOSPC)
			made = -1;
		if (write(pipefd[1], &made, sizeof(made)) != sizeof(made))
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	if (pid > 0 && read(pipefd[0], &n, sizeof(n)) != sizeof(n))
		n = -1;
	close(pipefd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return n < 0 || n > PROBE_MAX ? -1 : PROBE_MAX - n;
}

/* Both users' counts, the limit lowered for the probe only. */
static int probe_ucounts(long used[2])
{
	long old = read_long(MAX_AGENT_NS);

	if (old <= 0 || write_long(MAX_AGENT_NS, PROBE_MAX))
		return -1;
	used[0] = ucount_used(false);
	used[1] = ucount_used(true);
	write_long(MAX_AGENT_NS, old);
	return used[0] < 0 || used[1] < 0 ? -1 : 0;
}

static bool in(__u64 id, const __u64 *ids, long n)
{
	for (long i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

FIXTURE(stress) {
	long lifetime, interval;
	bool set;
};

FIXTURE_SETUP(stress)
{
	struct stat st;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	if (access(MAX_LIFETIME, W_OK) || access(MAX_AGENT_NS, W_OK))
		SKIP(return, "no agent namespace sysctls");
	if (read_long(ENABLED) != 1)
		SKIP(return, "kernel.agent_ns.enabled is 0");
	if (self_ns_ino() != AGENT_NS_INIT_INO)
		SKIP(return, "the runner is in a session: a 3 s max_lifetime would kill it");
	if (stat("/proc/self/ns/pid", &st) || st.st_ino != PID_NS_INIT_INO)
		SKIP(return, "listns(2) needs the initial pid namespace to see every session");
	self->lifetime = read_long(MAX_LIFETIME);
	self->interval = read_long(REAP_INTERVAL);
	ASSERT_GE(self->lifetime, 0);
	ASSERT_GT(self->interval, 0);
	self->set = true;
}

/* In the parent, so that the reaper settings come back even if the test dies. */
FIXTURE_TEARDOWN_PARENT(stress)
{
	if (!self->set)
		return;
	write_long(MAX_LIFETIME, self->lifetime);
	write_long(REAP_INTERVAL, self->interval);
}

TEST_F_TIMEOUT(stress, sessions_all_end, HARNESS_TIMEOUT)
{
	const char *env = getenv("AGENTNS_STRESS_SECS");
	unsigned long secs = env && *env ? strtoul(env, NULL, 0) : SECS_DEFAULT;
	static __u64 before[MAX_IDS], after[MAX_IDS];
	long nbefore, nafter, used0[2], used1[2];
	pid_t workers[NR_WORKERS];
	double t0, t1, t2;
	unsigned long runs = 0;
	int left;

	if (secs > SECS_MAX)
		secs = SECS_MAX;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	nbefore = list_sessions(before, MAX_IDS);
	ASSERT_GE(nbefore, 1);
	ASSERT_LT(nbefore, MAX_IDS);
	ASSERT_EQ(0, probe_ucounts(used0));
	ksft_print_msg("before: %ld sessions listed, root owns %ld, nobody %ld\n", nbefore,
		       used0[0], used0[1]);

	ASSERT_EQ(0, write_long(REAP_INTERVAL, 1));
	ASSERT_EQ(0, write_long(MAX_LIFETIME, 3));
	t0 = now_s();
	deadline = t0 + secs;
	for (int i = 0; i < NR_WORKERS; i++) {
		workers[i] = fork();
		ASSERT_GE(workers[i], 0);
		if (workers[i] == 0)
			worker(i, 0x41544e53ULL + secs);
	}
	for (int i = 0; i < NR_WORKERS; i++)
		EXPECT_EQ(0, wait_exit(workers[i]));
	t1 = now_s();
	/* Back to the defaults before anything else: nothing of ours needs the reaper now. */
	EXPECT_EQ(0, write_long(MAX_LIFETIME, self->lifetime));
	EXPECT_EQ(0, write_long(REAP_INTERVAL, self->interval));

	/* Every session of the test must go; teardown may lag the last waitpid(). */
	for (;;) {
		nafter = list_sessions(after, MAX_IDS);
		ASSERT_GE(nafter, 1);
		left = 0;
		for (long i = 0; i < nafter; i++)
			left += !in(after[i], before, nbefore);
		t2 = now_s();
		if (!left || t2 - t1 > SETTLE_SECS)
			break;
		usleep(50000);
	}
	ASSERT_EQ(0, probe_ucounts(used1));

	for (int s = 0; s < NR_S; s++) {
		runs += sh->runs[s];
		ksft_print_msg("  %-15s runs %4lu, as expected %4lu, ", s_name[s], sh->runs[s],
			       sh->passed[s]);
		printf("killed by a budget or the reaper %3lu, failed %lu\n", sh->killed[s],
		       sh->failed[s]);
	}
	ksft_print_msg("%lu scenarios in %.1f s by %d workers: %lu sessions created, ",
		       runs, t1 - t0, NR_WORKERS, sh->sessions);
	printf("%lu setns(2) into other sessions, %lu listns(2) calls, ", sh->setns_ok,
	       sh->listns_calls);
	printf("%lu leftover processes reaped, %lu opens of another's ns file refused (EACCES)\n",
	       sh->strays, sh->open_eacces);
	ksft_print_msg("after: %ld sessions listed (%d not listed before) %.2f s after ",
		       nafter, left, t2 - t1);
	printf("the last worker; root owns %ld, nobody %ld\n", used1[0], used1[1]);
	EXPECT_EQ(0, sh->failures);
	EXPECT_EQ(0, left);
	/* Those listed before are still there: only the test's own sessions went. */
	for (long i = 0; i < nbefore; i++)
		EXPECT_TRUE(in(before[i], after, nafter));
	EXPECT_EQ(used0[0], used1[0]);
	EXPECT_EQ(used0[1], used1[1]);
	EXPECT_GT(sh->sessions, 0);
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
