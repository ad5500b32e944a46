// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace budgets: limits, who may change them, enforcement at the
 * crossing event (with the overshoot measured), nesting, the elapsed-time
 * timer and the ABI's bad-input rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

static int set_budget(const struct agent_ns_budget *b)
{
	return prctl(PR_SET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0);
}

static int get_budget(struct agent_ns_budget *b)
{
	return prctl(PR_GET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0);
}

static struct agent_ns_counters counters(void)
{
	struct agent_ns_counters c = { 0 };

	prctl(PR_GET_AGENT_COUNTERS, &c, sizeof(c), 0, 0);
	return c;
}

static unsigned long long boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void open_n(int n)
{
	for (int i = 0; i < n; i++)
		close(open("/dev/null", O_RDONLY));
}

/* Waits for @pid and returns its terminating signal, or -exit status. */
static int wait_signal(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1000;
	return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status);
}

FIXTURE(session) {
};

FIXTURE_SETUP(session)
{
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
}

FIXTURE_TEARDOWN(session)
{
}

TEST_F(session, limits_read_back_in_every_size)
{
	struct agent_ns_budget b = {
		.max_syscalls = 1000000, .max_write_bytes = 1 << 30,
		.max_elapsed_ns = 3600ULL * 1000000000, .action = AGENT_NS_ACTION_LOG,
		.max_openat = 5000, .max_exec = 100,
	}, r;
	unsigned char buf[128];

	ASSERT_EQ(0, set_budget(&b));
	memset(&r, 0xff, sizeof(r));
	ASSERT_EQ(0, get_budget(&r));
	EXPECT_EQ(0, memcmp(&b, &r, sizeof(b)));
	/* Version 0: 32 bytes, the rest untouched. */
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, prctl(PR_GET_AGENT_BUDGET_LIMITS, buf, 0, 0, 0));
	EXPECT_EQ(0, memcmp(buf, &b, AGENT_NS_BUDGET_SIZE_VER0));
	EXPECT_EQ(0xaa, buf[AGENT_NS_BUDGET_SIZE_VER0]);
	/*
	 * A version-0 set changes only the version-0 limits: an old binary
	 * cannot name the version-1 limits, so it neither removes them.
	 */
	b.max_syscalls = 900000;
	ASSERT_EQ(0, prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, AGENT_NS_BUDGET_SIZE_VER0, 0, 0));
	ASSERT_EQ(0, get_budget(&r));
	EXPECT_EQ(5000, r.max_openat);
	EXPECT_EQ(100, r.max_exec);
	EXPECT_EQ(900000, r.max_syscalls);
}

/*
 * ... nor is it refused for "loosening" them: an unprivileged old binary
 * may still tighten the limits it knows.
 */
TEST_F(session, unprivileged_version0_set_tightens_and_keeps_version1_limits)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct agent_ns_budget b = {
			.max_syscalls = 1000000, .max_openat = 5000,
		}, r;

		if (set_budget(&b) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    drop_to_nobody())
			_exit(1);
		b.max_syscalls = 500000;
		b.max_openat = 0;	/* not in a version-0 structure */
		if (prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, AGENT_NS_BUDGET_SIZE_VER0, 0, 0))
			_exit(2);
		if (get_budget(&r) || r.max_syscalls != 500000 || r.max_openat != 5000)
			_exit(3);
		/* Removing max_openat with the whole structure is loosening. */
		if (set_budget(&b) != -1 || errno != EPERM)
			_exit(4);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
}

TEST_F(session, bad_input_gets_documented_errnos)
{
	struct agent_ns_budget b = { .max_syscalls = 1000000 };
	unsigned char big[200] = { 0 };

	b.action = AGENT_NS_ACTION_DENY + 1;	/* the first unknown action */
	EXPECT_EQ(-1, set_budget(&b));
	EXPECT_EQ(EINVAL, errno);
	b.action = AGENT_NS_ACTION_LOG;
	b.reserved = 1;
	EXPECT_EQ(-1, set_budget(&b));
	EXPECT_EQ(EINVAL, errno);
	b.reserved = 0;
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, 16, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, 1 << 20, 0, 0));
	EXPECT_EQ(E2BIG, errno);
	memcpy(big, &b, sizeof(b));
	big[150] = 1;
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_BUDGET_LIMITS, big, sizeof(big), 0, 0));
	EXPECT_EQ(E2BIG, errno);
	big[150] = 0;
	EXPECT_EQ(0, prctl(PR_SET_AGENT_BUDGET_LIMITS, big, sizeof(big), 0, 0));
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_BUDGET_LIMITS, NULL, 0, 0, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_BUDGET_LIMITS, (void *)-1UL, 0, 0, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 1, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_BUDGET_LIMITS, NULL, 0, 0, 0));
	EXPECT_EQ(EFAULT, errno);
}

TEST(initial_session_has_no_budget)
{
	struct agent_ns_budget b = { .max_syscalls = 1 << 30 };
	unsigned char id[AGENT_NS_ID_BYTES], zero[AGENT_NS_ID_BYTES] = { 0 };

	ASSERT_EQ(0, prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0));
	if (memcmp(id, zero, sizeof(id)))
		SKIP(return, "runner is not in the initial session");
	EXPECT_EQ(-1, set_budget(&b));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(session, tighten_allowed_loosen_refused_without_privilege)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop privileges");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct agent_ns_budget b = { .max_syscalls = 1000000 };

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (set_budget(&b))				/* none -> 1e6 */
			_exit(11);
		b.max_syscalls = 2000000;			/* raise */
		if (set_budget(&b) != -1 || errno != EPERM)
			_exit(12);
		b.max_syscalls = 0;				/* remove */
		if (set_budget(&b) != -1 || errno != EPERM)
			_exit(13);
		b.max_syscalls = 500000;			/* lower */
		b.action = AGENT_NS_ACTION_SIGKILL;		/* more severe */
		if (set_budget(&b))
			_exit(14);
		b.action = AGENT_NS_ACTION_LOG;			/* less severe */
		if (set_budget(&b) != -1 || errno != EPERM)
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* With CAP_SYS_ADMIN over the session's owner, loosening works. */
	{
		struct agent_ns_budget b = { .max_syscalls = 1000 * 1000 };

		ASSERT_EQ(0, set_budget(&b));
		b.max_syscalls = 0;
		EXPECT_EQ(0, set_budget(&b));
	}
}

#define RACE_ROUNDS 2000

/*
 * One member of the race below: @rounds times, read the limits, lower
 * its own field by one and write the whole structure back, re-reading
 * on EPERM.  Writes the last value it set to @out; exits 0, or 20 + the
 * step that failed.
 */
static void tighten_loop(int field_is_openat, int out)
{
	unsigned long long last = 0;

	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		_exit(20);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		struct agent_ns_budget b;
		__u64 *f = field_is_openat ? &b.max_openat : &b.max_unlink;

		if (get_budget(&b))
			_exit(21);
		*f -= 1;
		if (set_budget(&b)) {
			if (errno != EPERM)
				_exit(22);
			i--;		/* a stale read: read again */
			continue;
		}
		last = *f;
	}
	if (write(out, &last, sizeof(last)) != sizeof(last))
		_exit(23);
	_exit(0);
}

/*
 * Two unprivileged members tighten different limits of one session at
 * once, each writing back the whole structure it read.  A write built
 * from a stale read would put the other's limit back up: that loosens,
 * and the check and the store are one step under the tree lock, so it is
 * refused (EPERM) and the writer reads again.  At the end each limit is
 * exactly the last value its member set: none was undone.
 */
TEST_F(session, concurrent_setters_cannot_undo_each_other)
{
	struct agent_ns_budget b = { .max_openat = 1000000, .max_unlink = 1000000 };
	unsigned long long last[2];
	int p[2][2];
	pid_t pid[2];

	if (geteuid() != 0)
		SKIP(return, "needs root to drop privileges");
	ASSERT_EQ(0, set_budget(&b));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, pipe(p[i]));
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0)
			tighten_loop(i == 0, p[i][1]);
		close(p[i][1]);
	}
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(0, wait_exit(pid[i]));
		ASSERT_EQ(sizeof(last[i]), read(p[i][0], &last[i], sizeof(last[i])));
		close(p[i][0]);
	}
	ASSERT_EQ(0, get_budget(&b));
	EXPECT_EQ(1000000 - RACE_ROUNDS, last[0]);
	EXPECT_EQ(1000000 - RACE_ROUNDS, last[1]);
	EXPECT_EQ(last[0], b.max_openat);
	EXPECT_EQ(last[1], b.max_unlink);
}

static void *spin(void *arg)
{
	for (;;)
		syscall(SYS_getppid);
	return arg;
}

/*
 * Runs a child process that enters a new session and, when @limit is not
 * 0, sets a SIGKILL budget of @limit system calls and spins in three
 * processes of two threads each until the budget kills them all; else it
 * exits at once.  Returns the caller's session's system call delta, or -1.
 */
static long long syscalls_of_a_session(unsigned long long limit, int *sig)
{
	struct agent_ns_counters c0, c1;
	int alive[2];
	char c;
	pid_t pid;

	if (pipe(alive))
		return -1;
	c0 = counters();
	pid = fork();
	if (pid == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };
		pthread_t t;

		close(alive[0]);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		if (!limit)
			_exit(0);
		b.max_syscalls = limit;
		if (set_budget(&b))
			_exit(2);
		for (int i = 0; i < 2; i++) {
			if (fork() == 0) {
				pthread_create(&t, NULL, spin, NULL);
				spin(NULL);
			}
		}
		pthread_create(&t, NULL, spin, NULL);
		spin(NULL);
	}
	if (pid < 0)
		return -1;
	close(alive[1]);
	/* EOF once every process of the session has died. */
	if (read(alive[0], &c, 1) != 0)
		return -1;
	*sig = wait_signal(pid);
	c1 = counters();
	close(alive[0]);
	return c1.total_syscalls - c0.total_syscalls;
}

/*
 * A SIGKILL budget on system calls kills every process and thread of the
 * session.  The overshoot, the calls counted past the limit, is the run's
 * delta less a calibration run's (the same steps outside the new session,
 * which then makes one call: exit_group) less the limit.
 */
TEST_F(session, kill_budget_kills_the_whole_session_with_bounded_overshoot)
{
	const unsigned long long limit = 20000;
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long cal, run, overshoot;
	int sig;

	cal = syscalls_of_a_session(0, &sig);
	ASSERT_GT(cal, 0);
	ASSERT_EQ(0, sig);
	run = syscalls_of_a_session(limit, &sig);
	ASSERT_GT(run, 0);
	EXPECT_EQ(SIGKILL, sig);
	overshoot = run - (cal - 1) - limit;
	TH_LOG("overshoot: %lld system calls past the limit, %ld cpus", overshoot, ncpus);
	/*
	 * Only the crossing call is counted: a thread that enters a system
	 * call after it, before its SIGKILL lands, ends at the entry.
	 */
	EXPECT_EQ(1, overshoot);
}

/* A child session, however deep, cannot escape its ancestor's budget. */
TEST_F(session, nested_sessions_cannot_escape_the_parent_budget)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		pid_t grandchild;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		b.max_openat = counters().openat_count + 50;
		if (set_budget(&b))
			_exit(2);
		grandchild = fork();
		if (grandchild == 0) {
			struct agent_ns_budget loose = { .max_openat = 1000000 };

			/* A fresh child session with a looser limit of its own. */
			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) ||
			    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) || set_budget(&loose))
				_exit(3);
			open_n(100);
			_exit(4);
		}
		/* The whole subtree dies, this process included. */
		waitpid(grandchild, NULL, 0);
		pause();
		_exit(5);
	}
	EXPECT_EQ(SIGKILL, wait_signal(pid));
}

TEST_F(session, log_budget_logs_once_and_kills_nothing)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_LOG };
	char cmd[128], id[33];
	unsigned char raw[AGENT_NS_ID_BYTES];
	FILE *f;
	int lines = 0;

	ASSERT_EQ(0, prctl(PR_GET_AGENT_SESSION_ID, raw, 0, 0, 0));
	for (int i = 0; i < AGENT_NS_ID_BYTES; i++)
		sprintf(id + 2 * i, "%02x", raw[i]);
	b.max_openat = counters().openat_count + 5;
	ASSERT_EQ(0, set_budget(&b));
	open_n(20);
	snprintf(cmd, sizeof(cmd), "dmesg | grep -c 'session %s exceeded its openat budget'", id);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%d", &lines));
	pclose(f);
	EXPECT_EQ(1, lines);
}

TEST_F(session, sigterm_budget_terminates)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGTERM };

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		b.max_write_bytes = 4096;
		if (set_budget(&b))
			_exit(2);
		{
			static char buf[1024];
			int fd = open("/dev/null", O_WRONLY);

			for (int i = 0; i < 100; i++)
				write(fd, buf, sizeof(buf));
		}
		_exit(3);
	}
	EXPECT_EQ(SIGTERM, wait_signal(pid));
}

/* A huge elapsed-time limit means "not in this lifetime", not "now". */
TEST_F(session, huge_elapsed_limit_never_fires)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct agent_ns_budget b = {
			.action = AGENT_NS_ACTION_SIGKILL, .max_elapsed_ns = ~0ULL,
		};

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) || set_budget(&b))
			_exit(1);
		usleep(200 * 1000);
		_exit(0);
	}
	EXPECT_EQ(0, wait_signal(pid));
}

TEST_F(session, setting_a_limit_below_usage_fires_at_once)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		open_n(10);
		b.max_openat = 5;
		set_budget(&b);
		_exit(2);
	}
	EXPECT_EQ(SIGKILL, wait_signal(pid));
}

/*
 * A new action starts the limits again: a log limit already exceeded,
 * raised to SIGTERM by the session's own (unprivileged) task with the same
 * value, sends the SIGTERM at once, and a logged elapsed-time limit raised
 * to SIGKILL kills.  Before, the limit stayed fired and nothing was sent.
 */
TEST_F(session, raising_the_action_of_an_exceeded_limit_acts)
{
	for (int elapsed = 0; elapsed < 2; elapsed++) {
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0) {
			struct agent_ns_budget b = { .action = AGENT_NS_ACTION_LOG };

			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) ||
			    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
			    setresuid(65534, 65534, 65534))
				_exit(1);
			if (elapsed)
				b.max_elapsed_ns = 1000 * 1000;
			else
				b.max_openat = counters().openat_count + 2;
			if (set_budget(&b))
				_exit(2);
			open_n(5);
			usleep(20 * 1000);
			b.action = elapsed ? AGENT_NS_ACTION_SIGKILL : AGENT_NS_ACTION_SIGTERM;
			if (set_budget(&b))
				_exit(3);
			/* The signal is pending when the call returns, or comes within 2 s. */
			usleep(2000 * 1000);
			_exit(4);
		}
		EXPECT_EQ(elapsed ? SIGKILL : SIGTERM, wait_signal(pid)) {
			TH_LOG("%s limit", elapsed ? "elapsed-time" : "openat");
		}
	}
}

static int fired_fd;

/* Reports when the budget's SIGTERM arrived, on the guest's boottime clock. */
static void on_sigterm(int sig)
{
	unsigned long long t = boottime_ns();

	write(fired_fd, &t, sizeof(t));
	_exit(0);
}

/* The boottime of the last agent_budget_exceeded event on @counter, or 0. */
static unsigned long long traced_budget_event(const char *counter)
{
	unsigned long long ns = 0;
	char line[512], *p, *ts;
	FILE *f = fopen(TRACEFS "trace", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, counter))
			continue;
		p = strstr(line, ": agent_budget_exceeded:");
		if (!p)
			continue;
		*p = 0;
		ts = strrchr(line, ' ');
		if (ts)
			ns = (unsigned long long)(atof(ts + 1) * 1e9);
	}
	fclose(f);
	return ns;
}

/*
 * The elapsed-time budget fires within 10 ms of its deadline: the
 * agent_ns:agent_budget_exceeded event, stamped with the boottime trace
 * clock, tells when; the session's SIGTERM handler tells when the signal
 * arrived.  Under TCG the guest's vCPU threads are descheduled whenever the
 * host is busy (15 ms was seen once next to a kernel build), so the bound
 * must hold in one of three tries; every try is logged.
 */
/* How many agent_budget_exceeded events in the trace name @id and @counter. */
static int traced_budget_events(const char *id, const char *counter)
{
	char line[512], want_id[40], want_counter[40];
	FILE *f = fopen(TRACEFS "trace", "r");
	int n = 0;

	if (!f)
		return -1;
	snprintf(want_id, sizeof(want_id), "id=%s ", id);
	snprintf(want_counter, sizeof(want_counter), "counter=%s ", counter);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, ": agent_budget_exceeded:") && strstr(line, want_id) &&
		     strstr(line, want_counter);
	fclose(f);
	return n;
}

/*
 * The same limits submitted again with the same action keep their state:
 * an exceeded limit does not fire again (one agent_budget_exceeded event;
 * the kernel log line is rate-limited, the trace event is not).
 */
TEST_F(session, the_same_limits_again_do_not_fire_again)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_LOG, .max_unlink = 1 };
	unsigned char raw[AGENT_NS_ID_BYTES];
	char id[33];
	int events;

	ASSERT_EQ(0, prctl(PR_GET_AGENT_SESSION_ID, raw, 0, 0, 0));
	for (int i = 0; i < AGENT_NS_ID_BYTES; i++)
		sprintf(id + 2 * i, "%02x", raw[i]);
	if (tracefs_write(TRACEFS "events/agent_ns/agent_budget_exceeded/enable", "1"))
		SKIP(return, "no tracefs with the agent_ns events");
	ASSERT_EQ(0, set_budget(&b));
	for (int i = 0; i < 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/tmp/agentns-budget-%d-%d", getpid(), i);
		close(open(path, O_CREAT | O_WRONLY, 0600));
		ASSERT_EQ(0, unlink(path));
		ASSERT_EQ(0, set_budget(&b));
	}
	events = traced_budget_events(id, "unlink");
	tracefs_write(TRACEFS "events/agent_ns/agent_budget_exceeded/enable", "0");
	EXPECT_EQ(1, events);
	EXPECT_EQ(3, counters().unlink_count);
}

TEST_F(session, elapsed_budget_fires_on_time)
{
	const unsigned long long budget = 300ULL * 1000 * 1000;
	const long long bound = 10LL * 1000 * 1000;
	unsigned long long deadline = 0, delivered = 0, fired = 0;
	int sync[2], attempt;
	pid_t pid;

	if (tracefs_write(TRACEFS "trace_clock", "boot") ||
	    tracefs_write(TRACEFS "events/agent_ns/agent_budget_exceeded/enable", "1"))
		SKIP(return, "needs tracefs and the agent_ns events");
	for (attempt = 1; attempt <= 3; attempt++) {
		ASSERT_EQ(0, tracefs_write(TRACEFS "trace", ""));
		ASSERT_EQ(0, pipe(sync));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGTERM };
			unsigned long long start;

			close(sync[0]);
			fired_fd = sync[1];
			signal(SIGTERM, on_sigterm);
			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(1);
			start = boottime_ns() - counters().elapsed_ns;
			b.max_elapsed_ns = budget;
			if (set_budget(&b))
				_exit(2);
			deadline = start + budget;
			if (write(sync[1], &deadline, sizeof(deadline)) != sizeof(deadline))
				_exit(3);
			for (;;)
				pause();
		}
		close(sync[1]);
		ASSERT_EQ(sizeof(deadline), read(sync[0], &deadline, sizeof(deadline)));
		ASSERT_EQ(sizeof(delivered), read(sync[0], &delivered, sizeof(delivered)));
		close(sync[0]);
		EXPECT_EQ(0, wait_signal(pid));
		fired = traced_budget_event("counter=elapsed_ns");
		ASSERT_NE(0, fired);
		TH_LOG("try %d: fired %lld us after the deadline, signal handled %lld us after it",
		       attempt, ((long long)fired - (long long)deadline) / 1000,
		       ((long long)delivered - (long long)deadline) / 1000);
		EXPECT_GE((long long)fired - (long long)deadline, 0);
		if ((long long)fired - (long long)deadline <= bound)
			break;
	}
	tracefs_write(TRACEFS "events/agent_ns/agent_budget_exceeded/enable", "0");
	tracefs_write(TRACEFS "trace_clock", "local");
	EXPECT_LE((long long)fired - (long long)deadline, bound);
}

static void *flip_elapsed(void *arg)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_LOG };
	long first = (long)arg;

	for (int i = 0; i < 50; i++) {
		/* 1 ms and 2 ms: the timer fires at one deadline, the work finds the other. */
		b.max_elapsed_ns = ((i + first) % 2 + 1) * 1000000ULL;
		set_budget(&b);
		usleep(100);
	}
	return NULL;
}

/*
 * Two members change the elapsed-time limit while the session's last task
 * exits: the timer and its work must be stopped for good before the
 * session is freed (the debug guest's KASAN reports a use after free).
 * The last test of the fixture: its budgets fire and their log lines use
 * up the kernel log's rate limit, which log_budget_logs_once_and_kills_nothing
 * needs.
 */
TEST_F(session, elapsed_timer_races_with_the_session_end)
{
	for (int i = 0; i < 100; i++) {
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0) {
			pthread_t t[2];

			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(1);
			for (long k = 0; k < 2; k++)
				pthread_create(&t[k], NULL, flip_elapsed, (void *)k);
			usleep(1000 + (i % 5) * 500);
			_exit(0);	/* with the threads still setting limits */
		}
		ASSERT_EQ(0, wait_exit(pid));
	}
}

int main(int argc, char **argv)
{
	struct agent_ns_budget b;

	if (prctl(PR_GET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespace budgets\n");
	}
	return test_harness_run(argc, argv);
}
