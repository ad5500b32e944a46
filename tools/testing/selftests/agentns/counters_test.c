// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace counters: the exact delta of every counter, the roll-up
 * of nested sessions, the PR_GET_AGENT_COUNTERS size rules,
 * /proc/PID/agent_counters, and exact, monotonic reads of a large subtree
 * while its sessions come and go.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

static int get_counters(struct agent_ns_counters *c)
{
	return prctl(PR_GET_AGENT_COUNTERS, c, sizeof(*c), 0, 0);
}

/* Every test runs in its own fresh session. */
FIXTURE(session) {
	struct agent_ns_counters c0;
};

FIXTURE_SETUP(session)
{
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
}

FIXTURE_TEARDOWN(session)
{
}

TEST_F(session, syscalls_count_every_entry)
{
	struct agent_ns_counters c1;

	ASSERT_EQ(0, get_counters(&self->c0));
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	ASSERT_EQ(0, get_counters(&c1));
	/* 1000 getppid() and the second prctl() itself. */
	EXPECT_EQ(1001, c1.total_syscalls - self->c0.total_syscalls);
}

TEST_F(session, openat_counts_successful_opens)
{
	struct agent_ns_counters c1;

	ASSERT_EQ(0, get_counters(&self->c0));
	for (int i = 0; i < 100; i++) {
		int fd = (i % 2) ? open("/dev/null", O_RDONLY) :
				   openat(AT_FDCWD, "/dev/null", O_WRONLY);

		ASSERT_GE(fd, 0);
		close(fd);
	}
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(-1, open("/nonexistent/agentns", O_RDONLY));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(100, c1.openat_count - self->c0.openat_count);
}

TEST_F(session, write_bytes_count_the_write_family)
{
	static char buf[4096];
	struct iovec iov[3] = {
		{ buf, 10 }, { buf, 20 }, { buf, 30 },
	};
	struct agent_ns_counters c1;
	char path[] = "/tmp/agentns-wXXXXXX";
	int fd = mkstemp(path), null = open("/dev/null", O_WRONLY);

	ASSERT_GE(fd, 0);
	ASSERT_GE(null, 0);
	unlink(path);
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(4096, write(null, buf, 4096));
	ASSERT_EQ(100, pwrite(fd, buf, 100, 1000));
	ASSERT_EQ(60, writev(fd, iov, 3));
	ASSERT_EQ(60, pwritev(fd, iov, 3, 5000));
	ASSERT_EQ(-1, write(-1, buf, 10));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(4096 + 100 + 60 + 60, c1.write_bytes - self->c0.write_bytes);
	close(fd);
	close(null);
}

TEST_F(session, read_bytes_count_the_read_family)
{
	static char buf[4096];
	struct iovec iov[2] = { { buf, 7 }, { buf, 9 } };
	struct agent_ns_counters c1;
	int zero = open("/dev/zero", O_RDONLY);

	ASSERT_GE(zero, 0);
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(1000, read(zero, buf, 1000));
	ASSERT_EQ(24, pread(zero, buf, 24, 0));
	ASSERT_EQ(16, readv(zero, iov, 2));
	ASSERT_EQ(16, preadv(zero, iov, 2, 0));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(1000 + 24 + 16 + 16, c1.read_bytes - self->c0.read_bytes);
	close(zero);
}

TEST_F(session, connect_counts_attempts)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct agent_ns_counters c1;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_GE(s, 0);
	strcpy(sun.sun_path, "/nonexistent/agentns.sock");
	ASSERT_EQ(0, get_counters(&self->c0));
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(-1, connect(s, (struct sockaddr *)&sun, sizeof(sun)));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(5, c1.connect_count - self->c0.connect_count);
	close(s);
}

TEST_F(session, unlink_counts_successful_removals)
{
	struct agent_ns_counters c1;
	char path[64];

	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/tmp/agentns-u%d", i);
		close(open(path, O_CREAT | O_WRONLY, 0600));
	}
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/tmp/agentns-d%d", i);
		ASSERT_EQ(0, mkdir(path, 0700));
	}
	ASSERT_EQ(0, get_counters(&self->c0));
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/tmp/agentns-u%d", i);
		ASSERT_EQ(0, (i % 2) ? unlink(path) : unlinkat(AT_FDCWD, path, 0));
	}
	ASSERT_EQ(0, rmdir("/tmp/agentns-d0"));
	ASSERT_EQ(0, unlinkat(AT_FDCWD, "/tmp/agentns-d1", AT_REMOVEDIR));
	ASSERT_EQ(0, rmdir("/tmp/agentns-d2"));
	ASSERT_EQ(-1, unlink("/tmp/agentns-u0"));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(13, c1.unlink_count - self->c0.unlink_count);
}

static void *nop_thread(void *arg)
{
	return arg;
}

TEST_F(session, fork_counts_processes_and_threads)
{
	struct agent_ns_counters c1;

	ASSERT_EQ(0, get_counters(&self->c0));
	for (int i = 0; i < 5; i++) {
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0)
			_exit(0);
		ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	}
	for (int i = 0; i < 2; i++) {
		pthread_t t;

		ASSERT_EQ(0, pthread_create(&t, NULL, nop_thread, NULL));
		ASSERT_EQ(0, pthread_join(t, NULL));
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(7, c1.fork_count - self->c0.fork_count);
}

TEST_F(session, exec_counts_successful_execs)
{
	struct agent_ns_counters c1;
	int status;
	pid_t pid;

	ASSERT_EQ(0, get_counters(&self->c0));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		static char * const argv[] = { "true", NULL };

		execv("/nonexistent/agentns", argv);	/* fails: not counted */
		execv("/bin/true", argv);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(1, c1.exec_count - self->c0.exec_count);
	EXPECT_EQ(1, c1.fork_count - self->c0.fork_count);
}

TEST_F(session, elapsed_ns_is_boottime_since_creation)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	struct agent_ns_counters c1;

	ASSERT_EQ(0, get_counters(&self->c0));
	EXPECT_LT(self->c0.elapsed_ns, 10ULL * 1000 * 1000 * 1000);
	nanosleep(&ts, NULL);
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_GE(c1.elapsed_ns - self->c0.elapsed_ns, 100ULL * 1000 * 1000);
}

static void open_n(int n)
{
	for (int i = 0; i < n; i++)
		close(open("/dev/null", O_RDONLY));
}

/*
 * A child session's work shows in its parent's and grandparent's counters,
 * while it runs and after it has exited.
 */
TEST_F(session, nested_sessions_roll_up_to_the_grandparent)
{
	struct agent_ns_counters live, after;
	int ready[2], go[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, get_counters(&self->c0));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		pid_t gpid;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		open_n(50);
		gpid = fork();
		if (gpid == 0) {
			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(1);
			open_n(30);
			if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(2);
			_exit(0);
		}
		waitpid(gpid, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 3);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, get_counters(&live));
	EXPECT_EQ(80, live.openat_count - self->c0.openat_count);
	EXPECT_EQ(2, live.fork_count - self->c0.fork_count);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, get_counters(&after));
	EXPECT_EQ(80, after.openat_count - self->c0.openat_count);
	EXPECT_EQ(2, after.fork_count - self->c0.fork_count);
}

TEST_F(session, a_new_child_session_starts_from_zero_but_the_parent_keeps_counting)
{
	struct agent_ns_counters child, parent;
	int status;
	pid_t pid;

	open_n(10);
	ASSERT_EQ(0, get_counters(&self->c0));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) || get_counters(&child))
			_exit(1);
		_exit(child.openat_count == 0 && child.fork_count == 0 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, get_counters(&parent));
	EXPECT_EQ(parent.openat_count, self->c0.openat_count);
	EXPECT_GE(parent.openat_count, 10);
}

TEST_F(session, size_rules_follow_copy_struct_to_user)
{
	unsigned char buf[128];

	/* 0 and the version-0 size write exactly 56 bytes. */
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, prctl(PR_GET_AGENT_COUNTERS, buf, 0, 0, 0));
	EXPECT_EQ(0xaa, buf[AGENT_NS_COUNTERS_SIZE_VER0]);
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, prctl(PR_GET_AGENT_COUNTERS, buf, AGENT_NS_COUNTERS_SIZE_VER0, 0, 0));
	EXPECT_EQ(0xaa, buf[AGENT_NS_COUNTERS_SIZE_VER0]);
	EXPECT_NE(0, ((struct agent_ns_counters *)buf)->total_syscalls);
	/* A larger structure gets zeros past the kernel's. */
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, prctl(PR_GET_AGENT_COUNTERS, buf, 100, 0, 0));
	for (int i = AGENT_NS_COUNTERS_SIZE_VER1; i < 100; i++)
		EXPECT_EQ(0, buf[i]);
	EXPECT_EQ(0xaa, buf[100]);
	/* Too small, too large, bad pointers, stray arguments. */
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_COUNTERS, buf, 40, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_COUNTERS, buf, 1 << 20, 0, 0));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_COUNTERS, NULL, 0, 0, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_COUNTERS, buf, 0, 1, 0));
	EXPECT_EQ(EINVAL, errno);
}

/* Reads /proc/<pid>/agent_counters into name/value pairs; returns lines. */
static int read_proc_counters(const char *who, char names[16][32], unsigned long long vals[16])
{
	char path[64];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%s/agent_counters", who);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (n < 16 && fscanf(f, "%31s %llu", names[n], &vals[n]) == 2)
		n++;
	fclose(f);
	return n;
}

static unsigned long long proc_value(const char *who, const char *name)
{
	char names[16][32];
	unsigned long long vals[16];
	int n = read_proc_counters(who, names, vals);

	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return vals[i];
	return ~0ULL;
}

TEST_F(session, proc_agent_counters_lists_every_counter)
{
	static const char * const expect[] = {
		"syscalls", "openat", "write_bytes", "connect", "unlink",
		"fork", "read_bytes", "exec", "elapsed_ns",
	};
	char names[16][32];
	unsigned long long vals[16], before;
	struct stat st;
	int n;

	n = read_proc_counters("self", names, vals);
	ASSERT_EQ(9, n);
	for (int i = 0; i < 9; i++)
		EXPECT_STREQ(expect[i], names[i]);
	before = proc_value("self", "openat");
	open_n(10);
	/* Reading the file opens it: 10 + 1. */
	EXPECT_EQ(before + 11, proc_value("self", "openat"));
	ASSERT_EQ(0, stat("/proc/self/agent_counters", &st));
	EXPECT_EQ(0400, st.st_mode & 07777);
}

TEST_F(session, proc_agent_counters_needs_ptrace_access)
{
	char who[16];
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop privileges");
	snprintf(who, sizeof(who), "%d", getpid());
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char names[16][32];
		unsigned long long vals[16];

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		_exit(read_proc_counters(who, names, vals) == -EACCES ? 0 : 11);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * A task that leaves for the initial session stops counting at once, and
 * counts again as soon as it is back: the hooks test a per-task flag that
 * setns() keeps in step with the task's session.
 */
TEST_F(session, setns_out_stops_counting_and_back_in_resumes_it)
{
	struct agent_ns_counters c1, c2;
	int init_fd, sess_fd, fd;

	if (geteuid())
		SKIP(return, "leaving for the initial session needs root");
	init_fd = open("/proc/1/ns/agent", O_RDONLY);
	ASSERT_GE(init_fd, 0);
	sess_fd = open("/proc/self/ns/agent", O_RDONLY);
	ASSERT_GE(sess_fd, 0);

	ASSERT_EQ(0, get_counters(&self->c0));
	/* Entered in the session: counted. */
	if (setns(init_fd, 0)) {
		ASSERT_EQ(EPERM, errno);
		SKIP(return, "leaving for the initial session needs CAP_SYS_ADMIN");
	}
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	fd = open("/dev/null", O_WRONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, write(fd, "x", 1));
	close(fd);
	/* Entered in the initial session: not counted. */
	ASSERT_EQ(0, setns(sess_fd, 0));
	ASSERT_EQ(0, get_counters(&c1));
	/* The first setns() and the prctl() that read c1. */
	EXPECT_EQ(2, c1.total_syscalls - self->c0.total_syscalls);
	EXPECT_EQ(0, c1.openat_count - self->c0.openat_count);
	EXPECT_EQ(0, c1.write_bytes - self->c0.write_bytes);

	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	ASSERT_EQ(0, get_counters(&c2));
	EXPECT_EQ(1001, c2.total_syscalls - c1.total_syscalls);
	close(init_fd);
	close(sess_fd);
}

TEST(init_session_counts_nothing)
{
	EXPECT_EQ(0, proc_value("1", "syscalls"));
	EXPECT_EQ(0, proc_value("1", "openat"));
	EXPECT_NE(0, proc_value("1", "elapsed_ns"));
}

/*
 * A large subtree, read while it changes.  C, a child of the test, enters
 * a session S and creates SUBTREE_SESSIONS sessions below it: each is made
 * by a grandchild that calls PR_SET_AGENT_NS and is killed once C holds
 * its namespace file, which keeps the session alive and in S's subtree.
 * C then closes those files, every other one first, so that the sessions
 * are freed and hand their totals to S.  All the while SUBTREE_READERS
 * threads of C read S's counters: no count may go backwards, fork may
 * neither pass the forks C began nor fall behind those that returned, and
 * while the files are closed nothing but syscalls and elapsed_ns may move.
 * At the end every count C can know is exact.
 */
#define SUBTREE_SESSIONS	2000	/* sub-sessions below S: tune for slow guests */
#define SUBTREE_READERS		2	/* threads reading S's counters */
#define SUBTREE_PAUSE_NS	50000	/* a reader's pause between two reads */
#define SUBTREE_TIMEOUT		300
/* Building stops at this many seconds (a debug kernel forks slowly). */
#define SUBTREE_BUILD_S		60
#define SUBTREE_FDS		(SUBTREE_SESSIONS + 64)	/* RLIMIT_NOFILE needed */
#define NR_COUNTERS		(sizeof(struct agent_ns_counters) / sizeof(__u64))
#define IDX_SYSCALLS		0
#define IDX_FORK		5
#define IDX_ELAPSED		6

/* The fields of struct agent_ns_counters, in order. */
static const char * const counter_names[] = {
	"syscalls", "openat", "write_bytes", "connect", "unlink", "fork",
	"elapsed_ns", "read_bytes", "exec",
};

/* What C exits with: the first failure, whoever saw it. */
enum {
	ST_SET_NS = 10,		/* C's setup or PR_SET_AGENT_NS failed */
	ST_BASE,		/* C's baseline PR_GET_AGENT_COUNTERS failed */
	ST_THREAD,		/* pthread_create() of a reader failed */
	ST_FORK,		/* fork() of a grandchild failed */
	ST_READY,		/* a grandchild could not enter its session */
	ST_OPEN,		/* open() of /proc/GRANDCHILD/ns/agent failed */
	ST_REAP,		/* kill() or waitpid() of a grandchild failed */
	ST_CLOSE,		/* close() of a namespace fd failed */
	ST_READ = 20,		/* a reader's PR_GET_AGENT_COUNTERS failed */
	ST_BACKWARDS,		/* a count went backwards between two reads */
	ST_FORK_OVER,		/* fork above the forks begun plus the readers */
	ST_FORK_UNDER,		/* fork below the forks that had returned */
	ST_CHANGED,		/* while closing, a count other than syscalls moved */
	ST_STUCK,		/* syscalls did not grow between two reads */
	ST_FINAL = 30,		/* C's later PR_GET_AGENT_COUNTERS failed */
	ST_FORK_EXACT,		/* at the end, fork is not forks + readers */
	ST_SYSCALLS,		/* at the end, syscalls below what C knows it made */
	ST_OTHERS,		/* at the end, openat, bytes, connect, unlink or exec wrong */
	ST_MID_EXACT,		/* built, before the closes: a count is not exact */
	ST_PARENT = 40,		/* sending the final counters to the test failed */
};

static const struct {
	int code;
	const char *why;
} subtree_codes[] = {
	{ ST_SET_NS, "C's setup (pipe, PR_SET_PDEATHSIG) or PR_SET_AGENT_NS failed" },
	{ ST_BASE, "C's baseline PR_GET_AGENT_COUNTERS failed" },
	{ ST_THREAD, "C could not start a reader thread" },
	{ ST_FORK, "C's fork() of a grandchild failed" },
	{ ST_READY, "a grandchild's PR_SET_AGENT_NS failed (user.max_agent_namespaces?)" },
	{ ST_OPEN, "C could not open /proc/GRANDCHILD/ns/agent" },
	{ ST_REAP, "C could not kill or reap a grandchild" },
	{ ST_CLOSE, "C's close() of a namespace fd failed" },
	{ ST_READ, "a reader's PR_GET_AGENT_COUNTERS failed" },
	{ ST_BACKWARDS, "a count of S went backwards between two reads of a reader" },
	{ ST_FORK_OVER, "S's fork passed the forks C had begun plus the readers" },
	{ ST_FORK_UNDER, "S's fork fell behind the forks that had returned in C" },
	{ ST_CHANGED, "while sub-sessions were freed, a count other than syscalls moved" },
	{ ST_STUCK, "S's syscalls did not grow over a reader's own PR_GET_AGENT_COUNTERS" },
	{ ST_FINAL, "C's PR_GET_AGENT_COUNTERS after the build or at the end failed" },
	{ ST_FORK_EXACT, "at the end, S's fork delta is not the forks C made plus its readers" },
	{ ST_SYSCALLS, "at the end, S's syscall delta is below what C knows was made" },
	{ ST_OTHERS, "at the end, S's openat, read/write bytes, connect, unlink or exec is wrong" },
	{ ST_MID_EXACT, "with every sub-session alive, S's counts were not exact" },
	{ ST_PARENT, "C could not send its final counters to the test" },
};

static const char *subtree_why(int code)
{
	for (size_t i = 0; i < ARRAY_SIZE(subtree_codes); i++)
		if (subtree_codes[i].code == code)
			return subtree_codes[i].why;
	return code >= 128 ? "C was killed by a signal" : "unknown exit code";
}

enum { SUBTREE_BUILD, SUBTREE_CLOSE, SUBTREE_STOP };

struct subtree;

struct subtree_reader {
	struct subtree *t;
	pthread_t thread;
	unsigned long reads;	/* reads checked, read by C while it runs */
	unsigned long syscalls;	/* system calls this reader made */
};

/* State shared by C's main thread and its readers. */
struct subtree {
	struct agent_ns_counters base;	/* S right after C entered it */
	struct agent_ns_counters mid;	/* S built, before the closes */
	long started;			/* forks C has begun */
	long done;			/* forks that have returned in C */
	long built;			/* sub-sessions made (at most SUBTREE_SESSIONS) */
	int phase;			/* SUBTREE_BUILD, _CLOSE or _STOP */
	int fail;			/* the first failure, or 0 */
	struct subtree_reader readers[SUBTREE_READERS];
};

/* What C sends the test once it has read S for the last time. */
struct subtree_result {
	struct agent_ns_counters fin;
	unsigned long reads;
	long built;
	double build_s, close_s;
};

static void subtree_fail(struct subtree *t, int code)
{
	int none = 0;

	__atomic_compare_exchange_n(&t->fail, &none, code, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

static bool subtree_failed(struct subtree *t)
{
	return __atomic_load_n(&t->fail, __ATOMIC_ACQUIRE) != 0;
}

/*
 * A reader's checks of @cur against its previous read @prev: 0 or a
 * failure code.  @done was loaded before @cur was read, @started after.
 */
static int subtree_check(struct subtree *t, int phase, const struct agent_ns_counters *prev,
			 const struct agent_ns_counters *cur, long done, long started)
{
	__u64 p[NR_COUNTERS], c[NR_COUNTERS], m[NR_COUNTERS];
	__u64 forks = cur->fork_count - t->base.fork_count;

	memcpy(p, prev, sizeof(p));
	memcpy(c, cur, sizeof(c));
	for (size_t i = 0; i < NR_COUNTERS; i++) {
		if (c[i] < p[i]) {
			say("%s went backwards: %llu, then %llu", counter_names[i],
			    (unsigned long long)p[i], (unsigned long long)c[i]);
			return ST_BACKWARDS;
		}
	}
	/* This reader's own PR_GET_AGENT_COUNTERS counts at entry. */
	if (c[IDX_SYSCALLS] == p[IDX_SYSCALLS]) {
		say("syscalls stuck at %llu", (unsigned long long)c[IDX_SYSCALLS]);
		return ST_STUCK;
	}
	if (forks > (__u64)started + SUBTREE_READERS) {
		say("fork delta %llu, %ld forks begun", (unsigned long long)forks, started);
		return ST_FORK_OVER;
	}
	if (forks < (__u64)done) {
		say("fork delta %llu, %ld forks returned", (unsigned long long)forks, done);
		return ST_FORK_UNDER;
	}
	if (phase != SUBTREE_CLOSE)
		return 0;
	/* Written before the phase was, and not since. */
	memcpy(m, &t->mid, sizeof(m));
	for (size_t i = 0; i < NR_COUNTERS; i++) {
		if (i == IDX_SYSCALLS || i == IDX_ELAPSED || c[i] == m[i])
			continue;
		say("%s moved while closing: %llu, then %llu", counter_names[i],
		    (unsigned long long)m[i], (unsigned long long)c[i]);
		return ST_CHANGED;
	}
	return 0;
}

static void *subtree_reader(void *arg)
{
	struct timespec gap = { 0, SUBTREE_PAUSE_NS };
	struct subtree_reader *r = arg;
	struct subtree *t = r->t;
	struct agent_ns_counters prev = t->base, cur;
	long done, started;
	int phase, code;

	while ((phase = __atomic_load_n(&t->phase, __ATOMIC_ACQUIRE)) != SUBTREE_STOP) {
		done = __atomic_load_n(&t->done, __ATOMIC_ACQUIRE);
		r->syscalls++;
		if (get_counters(&cur)) {
			subtree_fail(t, ST_READ);
			break;
		}
		started = __atomic_load_n(&t->started, __ATOMIC_ACQUIRE);
		code = subtree_check(t, phase, &prev, &cur, done, started);
		if (code) {
			subtree_fail(t, code);
			break;
		}
		prev = cur;
		__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELEASE);
		if (SUBTREE_PAUSE_NS) {
			r->syscalls++;
			nanosleep(&gap, NULL);
		}
	}
	return NULL;
}

/*
 * A grandchild: enter a new session below S, say so, and wait to be
 * killed.  Always writes one byte, so that C never waits for nothing.
 */
static void subtree_grandchild(int ready, pid_t c_pid)
{
	char c = 'e';

	if (!prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) && getppid() == c_pid &&
	    !prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
		c = 'r';
	if (write(ready, &c, 1) != 1 || c != 'r')
		_exit(1);
	for (;;)
		pause();
}

/*
 * Adds one sub-session below S, held by *@fd: 0 or a failure code.
 * Adds to @known the system calls it knows were made in S's subtree.
 */
static int subtree_add(struct subtree *t, const int ready[2], pid_t c_pid, int *fd,
		       unsigned long *known)
{
	char path[64], c = 0;
	int code = 0;
	pid_t pid;

	__atomic_add_fetch(&t->started, 1, __ATOMIC_RELEASE);
	pid = fork();
	(*known)++;
	if (pid < 0)
		return ST_FORK;
	if (pid == 0)
		subtree_grandchild(ready[1], c_pid);
	__atomic_add_fetch(&t->done, 1, __ATOMIC_RELEASE);
	(*known)++;	/* the read */
	if (read(ready[0], &c, 1) != 1 || c != 'r') {
		code = ST_READY;
	} else {
		/* PR_SET_PDEATHSIG, getppid, PR_SET_AGENT_NS and write. */
		*known += 4;
		snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		(*known)++;
		if (*fd < 0)
			code = ST_OPEN;
	}
	*known += 2;
	if ((kill(pid, SIGKILL) || waitpid(pid, NULL, 0) != pid) && !code)
		code = ST_REAP;
	return code;
}

/* Waits until every reader has checked two more reads, or for 10 s. */
static void subtree_settle(struct subtree *t)
{
	struct timespec ms = { 0, 1000 * 1000 };
	unsigned long mark[SUBTREE_READERS];
	double end = now_s() + 10;
	bool behind = true;

	for (int i = 0; i < SUBTREE_READERS; i++)
		mark[i] = __atomic_load_n(&t->readers[i].reads, __ATOMIC_ACQUIRE);
	while (behind && !subtree_failed(t) && now_s() < end) {
		behind = false;
		for (int i = 0; i < SUBTREE_READERS; i++)
			if (__atomic_load_n(&t->readers[i].reads, __ATOMIC_ACQUIRE) < mark[i] + 2)
				behind = true;
		if (behind)
			nanosleep(&ms, NULL);
	}
}

/*
 * The counts of S other than syscalls and elapsed_ns, @c less the
 * baseline, against what C made: 0 if every one is exact.
 */
static int subtree_exact(const struct subtree *t, const struct agent_ns_counters *c)
{
	const struct agent_ns_counters *b = &t->base;
	__u64 n = t->built;

	if (c->fork_count - b->fork_count != n + SUBTREE_READERS) {
		say("fork delta %llu, not %llu",
		    (unsigned long long)(c->fork_count - b->fork_count),
		    (unsigned long long)(n + SUBTREE_READERS));
		return ST_FORK_EXACT;
	}
	/* An open and a byte read by C, a byte written by each grandchild. */
	if (c->openat_count - b->openat_count != n || c->read_bytes - b->read_bytes != n ||
	    c->write_bytes - b->write_bytes != n || c->connect_count != b->connect_count ||
	    c->unlink_count != b->unlink_count || c->exec_count != b->exec_count) {
		say("deltas: openat %llu read %llu write %llu connect %llu unlink %llu exec %llu",
		    (unsigned long long)(c->openat_count - b->openat_count),
		    (unsigned long long)(c->read_bytes - b->read_bytes),
		    (unsigned long long)(c->write_bytes - b->write_bytes),
		    (unsigned long long)(c->connect_count - b->connect_count),
		    (unsigned long long)(c->unlink_count - b->unlink_count),
		    (unsigned long long)(c->exec_count - b->exec_count));
		return ST_OTHERS;
	}
	return 0;
}

/* Stops the readers and waits for them. */
static void subtree_stop(struct subtree *t, int started)
{
	__atomic_store_n(&t->phase, SUBTREE_STOP, __ATOMIC_RELEASE);
	for (int i = 0; i < started; i++)
		pthread_join(t->readers[i].thread, NULL);
}

/* After a failure: stops the readers, closes the fds, returns the first failure. */
static int subtree_abort(struct subtree *t, int started, const int *fds, int nfds, int code)
{
	subtree_stop(t, started);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return t->fail ? t->fail : code;
}

/* C: builds and tears down the subtree; returns its exit status. */
static int subtree_creator(int res_fd, int go_fd)
{
	static int fds[SUBTREE_SESSIONS];
	static struct subtree t;
	struct subtree_result res = { 0 };
	unsigned long known = 0;
	int ready[2], nfds = 0, nthreads = 0, code = 0;
	pid_t c_pid = getpid();
	double t0;
	char c;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || pipe(ready))
		return ST_SET_NS;
	if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
		return ST_SET_NS;
	/* Counted in the baseline: it counts itself at entry. */
	if (get_counters(&t.base))
		return ST_BASE;
	t0 = now_s();
	for (; nthreads < SUBTREE_READERS; nthreads++) {
		t.readers[nthreads].t = &t;
		if (pthread_create(&t.readers[nthreads].thread, NULL, subtree_reader,
				   &t.readers[nthreads])) {
			code = ST_THREAD;
			break;
		}
	}
	while (!code && nfds < SUBTREE_SESSIONS && now_s() - t0 < SUBTREE_BUILD_S &&
	       !subtree_failed(&t)) {
		code = subtree_add(&t, ready, c_pid, &fds[nfds], &known);
		if (!code)
			nfds++;
	}
	t.built = nfds;
	res.built = nfds;
	if (!code && !subtree_failed(&t)) {
		known++;
		if (get_counters(&t.mid))
			code = ST_FINAL;
		else if (subtree_exact(&t, &t.mid))
			code = ST_MID_EXACT;
	}
	if (code || subtree_failed(&t))
		return subtree_abort(&t, nthreads, fds, nfds, code);
	res.build_s = now_s() - t0;
	t0 = now_s();
	/* t.mid is published with the phase: the readers hold S to it. */
	__atomic_store_n(&t.phase, SUBTREE_CLOSE, __ATOMIC_RELEASE);
	for (int i = 0; i < nfds; i += 2) {
		known++;
		if (close(fds[i]) && !code)
			code = ST_CLOSE;
	}
	for (int i = 1; i < nfds; i += 2) {
		known++;
		if (close(fds[i]) && !code)
			code = ST_CLOSE;
	}
	if (!code)
		subtree_settle(&t);
	res.close_s = now_s() - t0;
	subtree_stop(&t, nthreads);
	if (t.fail || code)
		return t.fail ? t.fail : code;
	if (get_counters(&res.fin))
		return ST_FINAL;
	known++;
	for (int i = 0; i < SUBTREE_READERS; i++) {
		known += t.readers[i].syscalls;
		res.reads += t.readers[i].reads;
	}
	code = subtree_exact(&t, &res.fin);
	if (!code && res.fin.total_syscalls - t.base.total_syscalls < known) {
		say("syscall delta %llu, %lu known",
		    (unsigned long long)(res.fin.total_syscalls - t.base.total_syscalls), known);
		code = ST_SYSCALLS;
	}
	/* The test reads /proc/C/agent_counters, then closes its end. */
	if (write(res_fd, &res, sizeof(res)) != sizeof(res) || read(go_fd, &c, 1) < 0)
		return code ? code : ST_PARENT;
	return code;
}

/* user.max_agent_namespaces and RLIMIT_NOFILE raised for the subtree. */
FIXTURE(subtree) {
	long max_ns;		/* the value to put back, or 0 */
};

FIXTURE_SETUP(subtree)
{
	long old = read_long(MAX_AGENT_NS);
	struct rlimit rl;

	if (geteuid())
		SKIP(return, "needs root to raise the session and fd limits");
	if (read_long(ENABLED) == 0)
		SKIP(return, "kernel.agent_ns.enabled is 0");
	if (old <= 0)
		SKIP(return, "no %s", MAX_AGENT_NS);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_cur < SUBTREE_FDS) {
		rl.rlim_cur = SUBTREE_FDS;
		if (rl.rlim_max < SUBTREE_FDS)
			rl.rlim_max = SUBTREE_FDS;
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	}
	/* Last: the teardown does not run when the setup fails. */
	if (old <= INT_MAX - SUBTREE_FDS) {
		ASSERT_EQ(0, write_long(MAX_AGENT_NS, old + SUBTREE_FDS));
		self->max_ns = old;
	}
}

/* In the parent, so that the limit comes back even if the test dies. */
FIXTURE_TEARDOWN_PARENT(subtree)
{
	if (self->max_ns > 0)
		write_long(MAX_AGENT_NS, self->max_ns);
}

TEST_F_TIMEOUT(subtree, reads_stay_exact_and_monotonic_while_it_changes, SUBTREE_TIMEOUT)
{
	unsigned long long proc_fork = ~0ULL, proc_syscalls = 0, proc_openat = ~0ULL;
	struct subtree_result res;
	int res_pipe[2], go_pipe[2], code;
	double t0 = now_s();
	char names[16][32];
	unsigned long long vals[16];
	char who[16];
	ssize_t got;
	pid_t pid;
	int n;

	ASSERT_EQ(0, pipe(res_pipe));
	ASSERT_EQ(0, pipe(go_pipe));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(res_pipe[0]);
		close(go_pipe[1]);
		_exit(subtree_creator(res_pipe[1], go_pipe[0]));
	}
	close(res_pipe[1]);
	close(go_pipe[0]);
	got = read(res_pipe[0], &res, sizeof(res));
	if (got == sizeof(res)) {
		/* C waits in S, every sub-session freed: its fork is final. */
		snprintf(who, sizeof(who), "%d", pid);
		n = read_proc_counters(who, names, vals);
		for (int i = 0; i < n; i++) {
			if (!strcmp(names[i], "fork"))
				proc_fork = vals[i];
			else if (!strcmp(names[i], "syscalls"))
				proc_syscalls = vals[i];
			else if (!strcmp(names[i], "openat"))
				proc_openat = vals[i];
		}
	}
	close(go_pipe[1]);
	code = wait_exit(pid);
	close(res_pipe[0]);
	if (got == sizeof(res))
		TH_LOG("%ld sessions, %d readers: built %.1f s, closed %.1f s, %lu reads, %.1f s",
		       res.built, SUBTREE_READERS, res.build_s, res.close_s, res.reads,
		       now_s() - t0);
	else
		TH_LOG("C sent no final counters; %.1f s in all", now_s() - t0);
	if (code)
		TH_LOG("C exited with %d: %s", code, subtree_why(code));
	ASSERT_EQ(0, code);
	ASSERT_EQ((ssize_t)sizeof(res), got);
	/* Enough of a subtree to mean something, even on a debug kernel. */
	EXPECT_GE(res.built, 100);
	EXPECT_EQ(res.fin.fork_count, proc_fork)
		TH_LOG("/proc/%d/agent_counters fork differs from C's last PR_GET_AGENT_COUNTERS",
		       pid);
	EXPECT_EQ(res.fin.openat_count, proc_openat);
	EXPECT_GE(proc_syscalls, res.fin.total_syscalls);
}

int main(int argc, char **argv)
{
	if (access("/proc/self/agent_counters", F_OK)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespace counters\n");
	}
	return test_harness_run(argc, argv);
}
