// SPDX-License-Identifier: GPL-2.0
/*
 * What a supervisor reads through a session's namespace file with the
 * AGENT_NS_GET_INFO, AGENT_NS_GET_COUNTERS and AGENT_NS_GET_BUDGET ioctls:
 * the session's id, parent and depth, which of its limits fired and
 * whether a budget acted on it, its counters and its limits, also after
 * its last task has exited; and the size rules of the extensible ioctls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>
#include <linux/nsfs.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

/* The three commands with another structure size in them. */
#define INFO_CMD(size)		_IOC(_IOC_READ, NSIO, _IOC_NR(AGENT_NS_GET_INFO), (size))
#define COUNTERS_CMD(size)	_IOC(_IOC_READ, NSIO, _IOC_NR(AGENT_NS_GET_COUNTERS), (size))
#define BUDGET_CMD(size)	_IOC(_IOC_READ, NSIO, _IOC_NR(AGENT_NS_GET_BUDGET), (size))

/* Exit codes of the children, for the messages. */
#define EXIT_SETUP		10	/* PR_SET_PDEATHSIG, no_new_privs or PR_SET_AGENT_NS */
#define EXIT_BUDGET		11	/* PR_SET_AGENT_BUDGET_LIMITS */
#define EXIT_SYNC		12	/* a pipe to the test */
#define EXIT_SHORT_WRITE	13	/* a write(2) wrote less than asked */
#define EXIT_NOT_KILLED		14	/* a spinner ran to its end */
#define EXIT_REPORT		15	/* reading the session's ids or info */
#define EXIT_FORK		16

/* How many getppid(2) a spinner makes at most: far past every limit here. */
#define SPINS			100000

static const __u8 zero_id[AGENT_NS_ID_BYTES];

static bool in_initial_session(void)
{
	struct stat st;

	return !stat("/proc/self/ns/agent", &st) && st.st_ino == AGENT_NS_INIT_INO;
}

/* AGENT_NS_GET_INFO through @fd: 0 or -errno. */
static int get_info(int fd, struct agent_ns_info *info)
{
	memset(info, 0xff, sizeof(*info));
	return ioctl(fd, AGENT_NS_GET_INFO, info) ? -errno : 0;
}

/* AGENT_NS_GET_INFO of the caller's own session: 0 or -errno. */
static int self_info(struct agent_ns_info *info)
{
	int fd = open("/proc/self/ns/agent", O_RDONLY), ret;

	if (fd < 0)
		return -errno;
	ret = get_info(fd, info);
	close(fd);
	return ret;
}

static int open_ns(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
	return open(path, O_RDONLY);
}

/* @id as 32 hexadecimal digits, for the messages. */
static const char *hex(const __u8 id[AGENT_NS_ID_BYTES], char buf[33])
{
	for (int i = 0; i < AGENT_NS_ID_BYTES; i++)
		sprintf(buf + 2 * i, "%02x", id[i]);
	return buf;
}

/* Whether every byte of @buf from @from to @to (excluded) is @c. */
static bool all_bytes(const unsigned char *buf, size_t from, size_t to, unsigned char c)
{
	for (size_t i = from; i < to; i++)
		if (buf[i] != c)
			return false;
	return true;
}

/* A child in a session of its own, and the test's descriptor of that session. */
struct kid {
	pid_t pid;
	int ns;		/* its /proc/PID/ns/agent, opened while it ran */
};

/*
 * Forks a child that enters a new session and then makes exactly these
 * system calls, all counted in that session: PR_SET_AGENT_BUDGET_LIMITS
 * with @b if @b is not NULL, a write(2) of one byte to a pipe, a read(2)
 * of one byte from another (the test has opened the session's descriptor
 * by then) and whatever @body makes, which must not return.  The
 * PR_SET_AGENT_NS call itself was entered in the test's session and is
 * counted there.  The child dies with the test.
 *
 * Returns 0; or when the child failed before its session was opened, its
 * exit status (or 128 + the signal that killed it), or -1.
 */
static int start_kid(struct kid *k, const struct agent_ns_budget *b,
		     void (*body)(void *), void *arg)
{
	int ready[2], go[2], ret;
	char c;

	k->pid = -1;
	k->ns = -1;
	if (pipe(ready))
		return -1;
	if (pipe(go)) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	k->pid = fork();
	if (k->pid == 0) {
		close(ready[0]);
		close(go[1]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(EXIT_SETUP);
		/* From here every system call counts in the new session. */
		if (b && prctl(PR_SET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0))
			_exit(EXIT_BUDGET);
		if (write(ready[1], "r", 1) != 1)
			_exit(EXIT_SYNC);
		if (read(go[0], &c, 1) != 1)
			_exit(EXIT_SYNC);
		body(arg);
		_exit(EXIT_SYNC);
	}
	close(ready[1]);
	close(go[0]);
	if (k->pid > 0 && read(ready[0], &c, 1) == 1)
		k->ns = open_ns(k->pid);
	close(ready[0]);
	ret = k->ns >= 0 && write(go[1], "g", 1) == 1 ? 0 : -1;
	close(go[1]);
	if (ret) {
		if (k->ns >= 0)
			close(k->ns);
		k->ns = -1;
		if (k->pid < 0)
			return -1;
		/* A child that already exited keeps its own status. */
		kill(k->pid, SIGKILL);
		ret = wait_exit(k->pid);
		return ret ? ret : -1;
	}
	return 0;
}

/* Waits for @pid: its wait status, or -1. */
static int wait_status(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid ? status : -1;
}

/* A write(2) of @len bytes to @fd, then exit 0 if it wrote them all. */
struct write_arg {
	int fd;
	size_t len;
};

static void write_and_exit(void *arg)
{
	static const char buf[4096];
	const struct write_arg *w = arg;

	_exit(write(w->fd, buf, w->len) == (ssize_t)w->len ? 0 : EXIT_SHORT_WRITE);
}

static void just_exit(void *arg)
{
	_exit(0);
}

/* getppid(2) until a budget kills it. */
static void spin(void *arg)
{
	for (int i = 0; i < SPINS; i++)
		syscall(SYS_getppid);
	_exit(EXIT_NOT_KILLED);
}

FIXTURE(info) {
	struct agent_ns_info mine;	/* the test process's own session */
	bool initial;			/* and whether it is the initial one */
};

FIXTURE_SETUP(info)
{
	if (access("/proc/self/ns/agent", F_OK))
		SKIP(return, "kernel has no /proc/PID/ns/agent");
	ASSERT_EQ(0, self_info(&self->mine)) {
		TH_LOG("AGENT_NS_GET_INFO of /proc/self/ns/agent: %s", strerror(errno));
	}
	self->initial = in_initial_session();
}

FIXTURE_TEARDOWN(info)
{
}

/* The initial session: all-zero ids, depth 0, nothing acted or fired. */
TEST_F(info, info_of_the_initial_session)
{
	struct agent_ns_info info;
	int fd;

	if (!self->initial)
		SKIP(return, "the runner is not in the initial session");
	fd = open("/proc/self/ns/agent", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, get_info(fd, &info));
	EXPECT_EQ(0, memcmp(info.id, zero_id, sizeof(zero_id))) {
		TH_LOG("the initial session's id is not all zeros");
	}
	EXPECT_EQ(0, memcmp(info.parent_id, zero_id, sizeof(zero_id))) {
		TH_LOG("the initial session's parent id is not all zeros");
	}
	EXPECT_EQ(0, info.level);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(0, info.fired);
	EXPECT_EQ(0, info.reserved);
	close(fd);
}

/* What a child that created two nested sessions saw of each. */
struct nested_report {
	int err[2];			/* 0, or the errno of the step */
	__u8 id[2][AGENT_NS_ID_BYTES];	/* PR_GET_AGENT_SESSION_ID */
	__u8 parent[2][AGENT_NS_ID_BYTES];	/* PR_GET_AGENT_PARENT_ID */
	struct agent_ns_info info[2];	/* AGENT_NS_GET_INFO of /proc/self/ns/agent */
};

/*
 * A new session's info, through its own /proc/self/ns/agent, agrees with
 * the prctl(2)s: its id, its parent's id (zeros below the initial
 * session), one level below its parent, nothing acted or fired; and so
 * does a session nested in it, whose parent is the first.
 */
TEST_F(info, info_of_a_new_session)
{
	struct nested_report r;
	char a[33], b[33];
	int rep[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe(rep));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		memset(&r, 0, sizeof(r));
		close(rep[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			_exit(EXIT_SETUP);
		for (int i = 0; i < 2; i++) {
			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(EXIT_SETUP);
			if (prctl(PR_GET_AGENT_SESSION_ID, r.id[i], 0, 0, 0) ||
			    prctl(PR_GET_AGENT_PARENT_ID, r.parent[i], 0, 0, 0))
				_exit(EXIT_REPORT);
			r.err[i] = -self_info(&r.info[i]);
		}
		_exit(write(rep[1], &r, sizeof(r)) == sizeof(r) ? 0 : EXIT_SYNC);
	}
	close(rep[1]);
	ASSERT_EQ(sizeof(r), read(rep[0], &r, sizeof(r))) {
		TH_LOG("no report from the child: exit status %d", wait_exit(pid));
	}
	close(rep[0]);
	status = wait_status(pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, r.err[i]) {
			TH_LOG("session %d: AGENT_NS_GET_INFO: %s", i + 1, strerror(r.err[i]));
		}
		EXPECT_NE(0, memcmp(r.id[i], zero_id, sizeof(zero_id)));
		EXPECT_EQ(0, memcmp(r.info[i].id, r.id[i], sizeof(r.id[i]))) {
			TH_LOG("session %d: info id %s, PR_GET_AGENT_SESSION_ID %s", i + 1,
			       hex(r.info[i].id, a), hex(r.id[i], b));
		}
		EXPECT_EQ(0, memcmp(r.info[i].parent_id, r.parent[i], sizeof(r.parent[i]))) {
			TH_LOG("session %d: info parent %s, PR_GET_AGENT_PARENT_ID %s", i + 1,
			       hex(r.info[i].parent_id, a), hex(r.parent[i], b));
		}
		EXPECT_EQ(self->mine.level + 1 + i, r.info[i].level);
		EXPECT_EQ(0, r.info[i].flags);
		EXPECT_EQ(0, r.info[i].fired);
		EXPECT_EQ(0, r.info[i].reserved);
	}
	/* The first session's parent is the test's session. */
	EXPECT_EQ(0, memcmp(r.parent[0], self->mine.id, sizeof(self->mine.id))) {
		TH_LOG("parent %s, the test's session %s", hex(r.parent[0], a),
		       hex(self->mine.id, b));
	}
	if (self->initial) {
		EXPECT_EQ(1, r.info[0].level);
		EXPECT_EQ(0, memcmp(r.info[0].parent_id, zero_id, sizeof(zero_id)));
	}
	/* The nested one's is the first. */
	EXPECT_EQ(0, memcmp(r.info[1].parent_id, r.id[0], sizeof(r.id[0]))) {
		TH_LOG("nested session's parent %s, the first session %s",
		       hex(r.info[1].parent_id, a), hex(r.id[0], b));
	}
	if (self->initial)
		EXPECT_EQ(2, r.info[1].level);
	EXPECT_NE(0, memcmp(r.id[0], r.id[1], sizeof(r.id[0])));
}

/*
 * The test holds the descriptor of a child's session; the child, with
 * /dev/null opened before it entered the session and a log-only budget of
 * 5000 written bytes and 7 forks, writes a byte to the test, reads one
 * from it, writes 1000 bytes to /dev/null and exits.  Once it has been
 * reaped, the descriptor reads exactly that: every counter and every
 * limit, twice the same (but elapsed_ns, which is not asserted).
 */
TEST_F(info, counters_after_the_last_task_exited)
{
	const struct agent_ns_budget b = {
		.max_write_bytes = 5000,
		.max_fork = 7,
		.action = AGENT_NS_ACTION_LOG,
	};
	struct write_arg w = { .len = 1000 };
	struct agent_ns_counters c1, c2;
	struct agent_ns_info info;
	struct agent_ns_budget r;
	struct kid k;
	int status;

	w.fd = open("/dev/null", O_WRONLY);
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, start_kid(&k, &b, write_and_exit, &w));
	close(w.fd);
	status = wait_status(k.pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	memset(&c1, 0xff, sizeof(c1));
	ASSERT_EQ(0, ioctl(k.ns, AGENT_NS_GET_COUNTERS, &c1)) {
		TH_LOG("AGENT_NS_GET_COUNTERS: %s", strerror(errno));
	}
	/*
	 * Every system call entered in the session counts, at entry, in the
	 * session of the task that makes it (counters_test's
	 * setns_out_stops_counting_and_back_in_resumes_it: the setns(2)
	 * entered in the initial session that moved the caller back in is
	 * not counted).  So the PR_SET_AGENT_NS call, entered in the test's session,
	 * is not one of the new session's, and the child made exactly:
	 * PR_SET_AGENT_BUDGET_LIMITS, write(2), read(2), write(2) and
	 * exit_group(2) (counted too: budget_test's calibration run makes
	 * that one call in its session).
	 */
	EXPECT_EQ(5, c1.total_syscalls);
	EXPECT_EQ(0, c1.openat_count);
	EXPECT_EQ(1 + 1000, c1.write_bytes);
	EXPECT_EQ(0, c1.connect_count);
	EXPECT_EQ(0, c1.unlink_count);
	EXPECT_EQ(0, c1.fork_count);
	EXPECT_EQ(1, c1.read_bytes);
	EXPECT_EQ(0, c1.exec_count);

	memset(&c2, 0xff, sizeof(c2));
	ASSERT_EQ(0, ioctl(k.ns, AGENT_NS_GET_COUNTERS, &c2));
	c2.elapsed_ns = c1.elapsed_ns;
	EXPECT_EQ(0, memcmp(&c1, &c2, sizeof(c1))) {
		TH_LOG("the counters of a session without tasks changed between two reads");
	}

	memset(&r, 0xff, sizeof(r));
	ASSERT_EQ(0, ioctl(k.ns, AGENT_NS_GET_BUDGET, &r)) {
		TH_LOG("AGENT_NS_GET_BUDGET: %s", strerror(errno));
	}
	EXPECT_EQ(0, r.max_syscalls);
	EXPECT_EQ(5000, r.max_write_bytes);
	EXPECT_EQ(0, r.max_elapsed_ns);
	EXPECT_EQ(AGENT_NS_ACTION_LOG, r.action);
	EXPECT_EQ(0, r.reserved);
	EXPECT_EQ(0, r.max_openat);
	EXPECT_EQ(0, r.max_read_bytes);
	EXPECT_EQ(0, r.max_connect);
	EXPECT_EQ(0, r.max_unlink);
	EXPECT_EQ(7, r.max_fork);
	EXPECT_EQ(0, r.max_exec);

	/* No limit was crossed. */
	ASSERT_EQ(0, get_info(k.ns, &info));
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(0, info.fired);
	EXPECT_EQ(self->mine.level + 1, info.level);
	close(k.ns);
}

/*
 * A SIGKILL budget of 50 system calls kills the child that spins past it:
 * its session acted and its syscalls limit fired, nothing else; the
 * crossing call is the only one counted past the limit.
 */
TEST_F(info, kill_budget_sets_acted_and_the_fired_bit)
{
	const struct agent_ns_budget b = {
		.max_syscalls = 50,
		.action = AGENT_NS_ACTION_SIGKILL,
	};
	struct agent_ns_counters c;
	struct agent_ns_info info;
	struct kid k;
	int status;

	ASSERT_EQ(0, start_kid(&k, &b, spin, NULL));
	status = wait_status(k.pid);
	ASSERT_TRUE(WIFSIGNALED(status)) {
		TH_LOG("the child was not killed: wait status 0x%x", status);
	}
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	ASSERT_EQ(0, get_info(k.ns, &info));
	EXPECT_EQ(AGENT_NS_INFO_ACTED, info.flags);
	EXPECT_EQ(AGENT_NS_FIRED_SYSCALLS, info.fired);
	ASSERT_EQ(0, ioctl(k.ns, AGENT_NS_GET_COUNTERS, &c));
	EXPECT_EQ(51, c.total_syscalls);
	close(k.ns);
}

/*
 * A log-only budget of 100 written bytes fires at a 200-byte write(2),
 * which it neither cuts nor punishes: the child exits 0, the session did
 * not act, its write_bytes limit fired.
 */
TEST_F(info, log_budget_sets_fired_not_acted)
{
	const struct agent_ns_budget b = {
		.max_write_bytes = 100,
		.action = AGENT_NS_ACTION_LOG,
	};
	struct write_arg w = { .len = 200 };
	struct agent_ns_counters c;
	struct agent_ns_info info;
	struct kid k;
	int status;

	w.fd = open("/dev/null", O_WRONLY);
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, start_kid(&k, &b, write_and_exit, &w));
	close(w.fd);
	status = wait_status(k.pid);
	ASSERT_TRUE(WIFEXITED(status)) {
		TH_LOG("the child was killed by signal %d", WTERMSIG(status));
	}
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, get_info(k.ns, &info));
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(AGENT_NS_FIRED_WRITE_BYTES, info.fired);
	ASSERT_EQ(0, ioctl(k.ns, AGENT_NS_GET_COUNTERS, &c));
	/* The byte to the test's pipe and the 200. */
	EXPECT_EQ(1 + 200, c.write_bytes);
	close(k.ns);
}

/*
 * A in a session with a SIGKILL budget of 200 system calls forks B, which
 * creates a session below A's and spins until A's budget kills both: B's
 * session says a budget above it acted and has no fired limit of its own;
 * A's acted and its syscalls limit fired.
 */
TEST_F(info, ancestor_action_sets_acted_above)
{
	struct agent_ns_info ia, ib;
	int ready[2], go[2], alive[2];
	int afd, bfd, status = 0;
	pid_t a, bpid = -1;
	char c;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(alive));
	a = fork();
	ASSERT_LE(0, a);
	if (a == 0) {
		const struct agent_ns_budget b = {
			.max_syscalls = 200,
			.action = AGENT_NS_ACTION_SIGKILL,
		};
		pid_t pid;

		close(ready[0]);
		close(go[1]);
		close(alive[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(EXIT_SETUP);
		if (prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0))
			_exit(EXIT_BUDGET);
		pid = fork();
		if (pid < 0)
			_exit(EXIT_FORK);
		if (pid == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
			    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(EXIT_SETUP);
			pid = getpid();
			if (write(ready[1], &pid, sizeof(pid)) != sizeof(pid) ||
			    read(go[0], &c, 1) != 1)
				_exit(EXIT_SYNC);
			spin(NULL);
		}
		close(ready[1]);
		close(go[0]);
		/* Killed with B, in this wait. */
		waitpid(pid, NULL, 0);
		_exit(EXIT_NOT_KILLED);
	}
	close(ready[1]);
	close(go[0]);
	close(alive[1]);
	afd = -1;
	bfd = -1;
	if (read(ready[0], &bpid, sizeof(bpid)) == sizeof(bpid)) {
		afd = open_ns(a);
		bfd = open_ns(bpid);
	}
	close(ready[0]);
	if (afd < 0 || bfd < 0) {
		kill(a, SIGKILL);
		status = wait_exit(a);
	}
	ASSERT_LE(0, afd) {
		TH_LOG("no descriptor of A's session (A's exit status %d)", status);
	}
	ASSERT_LE(0, bfd) {
		TH_LOG("no descriptor of B's session (A's exit status %d)", status);
	}
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	status = wait_status(a);
	/* EOF once A and B have both exited. */
	EXPECT_EQ(0, read(alive[0], &c, 1));
	close(alive[0]);
	ASSERT_TRUE(WIFSIGNALED(status)) {
		TH_LOG("A was not killed: wait status 0x%x", status);
	}
	EXPECT_EQ(SIGKILL, WTERMSIG(status));

	ASSERT_EQ(0, get_info(bfd, &ib));
	EXPECT_EQ(AGENT_NS_INFO_ACTED_ABOVE, ib.flags);
	EXPECT_EQ(0, ib.fired);
	EXPECT_EQ(self->mine.level + 2, ib.level);
	ASSERT_EQ(0, get_info(afd, &ia));
	EXPECT_EQ(AGENT_NS_INFO_ACTED, ia.flags);
	EXPECT_EQ(AGENT_NS_FIRED_SYSCALLS, ia.fired);
	EXPECT_EQ(self->mine.level + 1, ia.level);
	EXPECT_EQ(0, memcmp(ib.parent_id, ia.id, sizeof(ia.id)));
	close(afd);
	close(bfd);
}

/*
 * A session that ran and ended, for the size tests: it set a log-only
 * budget with version-0 and version-1 limits, and made 4 system calls.
 */
static int dead_session(void)
{
	const struct agent_ns_budget b = {
		.max_syscalls = 1000,
		.max_write_bytes = 12345,
		.action = AGENT_NS_ACTION_LOG,
		.max_fork = 3,
		.max_exec = 9,
	};
	struct kid k;

	if (start_kid(&k, &b, just_exit, NULL))
		return -1;
	if (wait_exit(k.pid)) {
		close(k.ns);
		return -1;
	}
	return k.ns;
}

/* The three ioctls on another namespace type's file are EINVAL. */
TEST_F(info, another_namespace_type_is_einval)
{
	struct agent_ns_counters c;
	struct agent_ns_info info;
	struct agent_ns_budget b;
	int fd = open("/proc/self/ns/uts", O_RDONLY);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, AGENT_NS_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, AGENT_NS_GET_COUNTERS, &c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, AGENT_NS_GET_BUDGET, &b));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/*
 * A command whose size is below version 0, or whose direction is not
 * read, is not one of these ioctls: ENOTTY, and the buffer is untouched.
 */
TEST_F(info, sizes_below_version_0_are_enotty)
{
	unsigned char buf[128];
	int fd = dead_session();

	ASSERT_LE(0, fd);
	memset(buf, 0xaa, sizeof(buf));
	EXPECT_EQ(-1, ioctl(fd, _IOR(NSIO, 0x40, char[40]), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, INFO_CMD(0), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, INFO_CMD(AGENT_NS_INFO_SIZE_VER0 - 1), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, COUNTERS_CMD(AGENT_NS_COUNTERS_SIZE_VER0 - 8), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, BUDGET_CMD(AGENT_NS_BUDGET_SIZE_VER0 - 8), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, _IOW(NSIO, 0x40, struct agent_ns_info), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_TRUE(all_bytes(buf, 0, sizeof(buf), 0xaa));
	close(fd);
}

/*
 * Larger structures than the kernel's get zeros past it, and nothing is
 * written past the size in the command.
 */
TEST_F(info, larger_structures_are_zero_filled)
{
	struct agent_ns_counters c;
	struct agent_ns_info info;
	struct agent_ns_budget b;
	unsigned char buf[128];
	int fd = dead_session();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, get_info(fd, &info));
	memset(buf, 0xff, sizeof(buf));
	ASSERT_EQ(0, ioctl(fd, INFO_CMD(64), buf)) {
		TH_LOG("a 64-byte AGENT_NS_GET_INFO: %s", strerror(errno));
	}
	EXPECT_EQ(0, memcmp(buf, &info, AGENT_NS_INFO_SIZE_VER0));
	EXPECT_TRUE(all_bytes(buf, AGENT_NS_INFO_SIZE_VER0, 64, 0));
	EXPECT_TRUE(all_bytes(buf, 64, sizeof(buf), 0xff));

	/* The session has no task: its counters stay (but elapsed_ns). */
	ASSERT_EQ(0, ioctl(fd, AGENT_NS_GET_COUNTERS, &c));
	EXPECT_EQ(4, c.total_syscalls);
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, ioctl(fd, COUNTERS_CMD(100), buf));
	EXPECT_EQ(0, memcmp(buf, &c, offsetof(struct agent_ns_counters, elapsed_ns)));
	EXPECT_EQ(0, memcmp(buf + offsetof(struct agent_ns_counters, read_bytes), &c.read_bytes,
			    AGENT_NS_COUNTERS_SIZE_VER1 -
			    offsetof(struct agent_ns_counters, read_bytes)));
	EXPECT_TRUE(all_bytes(buf, AGENT_NS_COUNTERS_SIZE_VER1, 100, 0));
	EXPECT_TRUE(all_bytes(buf, 100, sizeof(buf), 0xaa));

	ASSERT_EQ(0, ioctl(fd, AGENT_NS_GET_BUDGET, &b));
	EXPECT_EQ(12345, b.max_write_bytes);
	EXPECT_EQ(9, b.max_exec);
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, ioctl(fd, BUDGET_CMD(96), buf));
	EXPECT_EQ(0, memcmp(buf, &b, AGENT_NS_BUDGET_SIZE_VER1));
	EXPECT_TRUE(all_bytes(buf, AGENT_NS_BUDGET_SIZE_VER1, 96, 0));
	EXPECT_TRUE(all_bytes(buf, 96, sizeof(buf), 0xaa));
	close(fd);
}

/*
 * The version-0 sizes, those of the first published structures, get the
 * version-0 fields and nothing after them: an old binary's buffer.
 */
TEST_F(info, version_0_sizes_write_version_0_only)
{
	struct agent_ns_counters c;
	struct agent_ns_budget b;
	unsigned char buf[128];
	int fd = dead_session();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, AGENT_NS_GET_COUNTERS, &c));
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, ioctl(fd, COUNTERS_CMD(AGENT_NS_COUNTERS_SIZE_VER0), buf)) {
		TH_LOG("a 56-byte AGENT_NS_GET_COUNTERS: %s", strerror(errno));
	}
	/* The first six fields; elapsed_ns, the seventh, moves. */
	EXPECT_EQ(0, memcmp(buf, &c, offsetof(struct agent_ns_counters, elapsed_ns)));
	EXPECT_TRUE(all_bytes(buf, AGENT_NS_COUNTERS_SIZE_VER0, sizeof(buf), 0xaa));

	ASSERT_EQ(0, ioctl(fd, AGENT_NS_GET_BUDGET, &b));
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, ioctl(fd, BUDGET_CMD(AGENT_NS_BUDGET_SIZE_VER0), buf)) {
		TH_LOG("a 32-byte AGENT_NS_GET_BUDGET: %s", strerror(errno));
	}
	EXPECT_EQ(0, memcmp(buf, &b, AGENT_NS_BUDGET_SIZE_VER0));
	EXPECT_TRUE(all_bytes(buf, AGENT_NS_BUDGET_SIZE_VER0, sizeof(buf), 0xaa));
	close(fd);
}

/* A pointer the kernel cannot write to is EFAULT. */
TEST_F(info, null_pointer_is_efault)
{
	int fd = dead_session();

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, AGENT_NS_GET_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, AGENT_NS_GET_COUNTERS, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, AGENT_NS_GET_BUDGET, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

/* What A and B of descriptor_outlives_the_sessions_tasks tell the test. */
struct pair_report {
	pid_t b;
	__u8 a_id[AGENT_NS_ID_BYTES];		/* A's session */
	__u8 b_id[AGENT_NS_ID_BYTES];		/* B's, below A's */
	__u8 b_parent[AGENT_NS_ID_BYTES];	/* PR_GET_AGENT_PARENT_ID in B */
};

/*
 * A creates session S1 and forks B, which creates S2 below it; the test
 * holds a descriptor of S2 only.  Once both have exited (S1 had no task
 * left either), S2's descriptor still reads S2, at depth 2, and walks up
 * to S1, which S2 keeps alive, whose counters hold what A and B did.
 */
TEST_F(info, descriptor_outlives_the_sessions_tasks)
{
	struct agent_ns_info info, pinfo;
	struct agent_ns_counters c;
	struct pair_report r;
	int ready[2], go[2];
	int fd = -1, pfd, status = 0, err;
	char x[33], y[33];
	pid_t a;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	a = fork();
	ASSERT_LE(0, a);
	if (a == 0) {
		pid_t pid;
		char ch;

		memset(&r, 0, sizeof(r));
		close(ready[0]);
		close(go[1]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(EXIT_SETUP);
		if (prctl(PR_GET_AGENT_SESSION_ID, r.a_id, 0, 0, 0))
			_exit(EXIT_REPORT);
		pid = fork();
		if (pid < 0)
			_exit(EXIT_FORK);
		if (pid == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
			    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(EXIT_SETUP);
			if (prctl(PR_GET_AGENT_SESSION_ID, r.b_id, 0, 0, 0) ||
			    prctl(PR_GET_AGENT_PARENT_ID, r.b_parent, 0, 0, 0))
				_exit(EXIT_REPORT);
			r.b = getpid();
			if (write(ready[1], &r, sizeof(r)) != sizeof(r) ||
			    read(go[0], &ch, 1) != 1)
				_exit(EXIT_SYNC);
			_exit(0);
		}
		close(ready[1]);
		close(go[0]);
		_exit(wait_exit(pid));
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &r, sizeof(r)) == sizeof(r))
		fd = open_ns(r.b);
	close(ready[0]);
	if (fd < 0) {
		kill(a, SIGKILL);
		status = wait_exit(a);
	}
	ASSERT_LE(0, fd) {
		TH_LOG("no descriptor of B's session (A's exit status %d)", status);
	}
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	/* A exits once B has. */
	status = wait_status(a);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	err = get_info(fd, &info);
	ASSERT_EQ(0, err) {
		TH_LOG("AGENT_NS_GET_INFO after both exited: %s", strerror(-err));
	}
	EXPECT_EQ(0, memcmp(info.id, r.b_id, sizeof(r.b_id))) {
		TH_LOG("info id %s, B's session %s", hex(info.id, x), hex(r.b_id, y));
	}
	EXPECT_EQ(0, memcmp(info.parent_id, r.a_id, sizeof(r.a_id))) {
		TH_LOG("info parent %s, A's session %s", hex(info.parent_id, x), hex(r.a_id, y));
	}
	EXPECT_EQ(0, memcmp(r.b_parent, r.a_id, sizeof(r.a_id)));
	EXPECT_EQ(self->mine.level + 2, info.level);
	if (self->initial)
		EXPECT_EQ(2, info.level);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(0, info.fired);
	/* B wrote its report and read one byte; it forked nothing. */
	ASSERT_EQ(0, ioctl(fd, AGENT_NS_GET_COUNTERS, &c));
	EXPECT_EQ(sizeof(r), c.write_bytes);
	EXPECT_EQ(1, c.read_bytes);
	EXPECT_EQ(0, c.fork_count);

	/* S1, kept by S2: A's fork of B and, rolled up, what B did. */
	pfd = ioctl(fd, NS_GET_PARENT);
	ASSERT_LE(0, pfd) {
		TH_LOG("NS_GET_PARENT of S2: %s", strerror(errno));
	}
	ASSERT_EQ(0, get_info(pfd, &pinfo));
	EXPECT_EQ(0, memcmp(pinfo.id, r.a_id, sizeof(r.a_id))) {
		TH_LOG("parent's info id %s, A's session %s", hex(pinfo.id, x), hex(r.a_id, y));
	}
	EXPECT_EQ(0, memcmp(pinfo.parent_id, self->mine.id, sizeof(self->mine.id)));
	EXPECT_EQ(self->mine.level + 1, pinfo.level);
	ASSERT_EQ(0, ioctl(pfd, AGENT_NS_GET_COUNTERS, &c));
	EXPECT_EQ(1, c.fork_count);
	EXPECT_EQ(sizeof(r), c.write_bytes);
	EXPECT_EQ(1, c.read_bytes);
	close(pfd);
	close(fd);
}

/* On a kernel without agent namespaces every test is skipped (exit code 4). */
int main(int argc, char **argv)
{
	if (access("/proc/self/agent_session", F_OK)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespaces (CONFIG_AGENT_NS)\n");
	}
	/* A child that died early must fail its test, not kill it. */
	signal(SIGPIPE, SIG_IGN);
	return test_harness_run(argc, argv);
}
