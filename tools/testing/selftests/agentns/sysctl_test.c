// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace sysctls: kernel.agent_ns.enabled, the lifetime reaper
 * (kernel.agent_ns.max_lifetime, reap_interval) and the
 * user.max_agent_namespaces ucount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

static struct agent_ns_counters counters(void)
{
	struct agent_ns_counters c = { 0 };

	prctl(PR_GET_AGENT_COUNTERS, &c, sizeof(c), 0, 0);
	return c;
}

FIXTURE(disabled) {
	char id[AGENT_NS_ID_BYTES];
};

FIXTURE_SETUP(disabled)
{
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl(PR_GET_AGENT_SESSION_ID, self->id, 0, 0, 0));
	ASSERT_EQ(0, write_long(ENABLED, 0));
}

FIXTURE_TEARDOWN(disabled)
{
	write_long(ENABLED, 1);
}

TEST_F(disabled, enabled_0_makes_hooks_inert_and_creation_fail)
{
	struct agent_ns_counters c0, c1;
	char id[AGENT_NS_ID_BYTES];

	EXPECT_EQ(0, read_long(ENABLED));
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* The session keeps its id. */
	ASSERT_EQ(0, prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0));
	EXPECT_EQ(0, memcmp(id, self->id, sizeof(id)));
	/* Nothing counts. */
	c0 = counters();
	for (int i = 0; i < 10; i++)
		close(open("/dev/null", O_RDONLY));
	c1 = counters();
	EXPECT_EQ(c0.openat_count, c1.openat_count);
	EXPECT_EQ(c0.total_syscalls, c1.total_syscalls);
	/* Back on, counting resumes. */
	ASSERT_EQ(0, write_long(ENABLED, 1));
	c0 = counters();
	for (int i = 0; i < 10; i++)
		close(open("/dev/null", O_RDONLY));
	c1 = counters();
	EXPECT_EQ(10, c1.openat_count - c0.openat_count);
	EXPECT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
}

TEST(enabled_accepts_only_0_and_1)
{
	EXPECT_EQ(1, read_long(ENABLED));
	EXPECT_NE(0, write_long(ENABLED, 2));
	EXPECT_EQ(1, read_long(ENABLED));
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static unsigned long long boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#define ZERO_ID		"00000000000000000000000000000000"
#define MS		1000000ULL

/* Whether the runner is in the initial session, which no lifetime ends. */
static bool in_initial_session(void)
{
	char id[33];

	return !read_session("self", id) && !strcmp(id, ZERO_ID);
}

/*
 * Waits, until CLOCK_BOOTTIME reads @until_ms, for @pid to end: the time
 * it was reaped (now_ms()) with its wait status in @status; or 0 if it
 * still runs at @until_ms (it is then killed and reaped) or is no child.
 */
static unsigned long long reaped_at(pid_t pid, int *status, unsigned long long until_ms)
{
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return now_ms();
		if (r < 0 || now_ms() > until_ms)
			break;
		usleep(2000);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return 0;
}

/*
 * /dev/kmsg, positioned after the last record, so that kmsg_read() sees
 * only what the kernel logs from now on: a descriptor, or -errno.
 */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Appends the records @fd has not read yet to @log (@size bytes, a string). */
static void kmsg_read(int fd, char *log, size_t size)
{
	size_t len = strlen(log);
	char rec[8192];
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec));
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten before we read them */
		if (n <= 0 || len + n >= size)
			break;
		memcpy(log + len, rec, n);
		len += n;
	}
	log[len] = '\0';
}

/* How many times @needle occurs in @log. */
static int occurrences(const char *log, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(log, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The kernel log line of the reaper's kill of session @id (its start). */
static void reaped_line(char *buf, size_t size, const char *id)
{
	snprintf(buf, size, "agent_ns: session %s outlived kernel.agent_ns.max_lifetime", id);
}

/*
 * Forks a child that creates a session of its own and stays there @secs
 * seconds, then exits 0; with @secs 0, until it is killed.  It dies with
 * the test process.  Its session id in @id; its pid, or -1 when it failed.
 */
static pid_t session_child(char id[33], unsigned int secs)
{
	int ready[2];
	char who[16], c;
	pid_t pid;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
		    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		if (secs) {
			sleep(secs);
			_exit(0);
		}
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	snprintf(who, sizeof(who), "%d", pid);
	if (pid > 0 && read_session(who, id)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	return pid;
}

/* Opens /proc/@pid/ns/agent: a descriptor, or -1. */
static int open_ns_of(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
	return open(path, O_RDONLY);
}

/* AGENT_NS_GET_INFO through @fd, into @info: 0 or -errno. */
static int ns_info(int fd, struct agent_ns_info *info)
{
	memset(info, 0xff, sizeof(*info));
	return ioctl(fd, AGENT_NS_GET_INFO, info) ? -errno : 0;
}

/*
 * Polls the session behind @fd until the reaper marks it (until @until_ms):
 * the time it saw the mark, or 0.
 */
static unsigned long long marked_at(int fd, unsigned long long until_ms)
{
	struct agent_ns_info info;

	while (now_ms() <= until_ms) {
		if (!ns_info(fd, &info) && (info.flags & AGENT_NS_INFO_REAPED))
			return now_ms();
		usleep(2000);
	}
	return 0;
}

/*
 * A session older than max_lifetime is killed by the next reaper tick, and
 * the kernel logs one line for it that names it: "agent_ns: session <id>
 * outlived kernel.agent_ns.max_lifetime".  The lifetime is off (0) by
 * default.
 */
TEST(reaper_kills_sessions_past_max_lifetime)
{
	long lifetime = read_long(MAX_LIFETIME), interval = read_long(REAP_INTERVAL);
	char old_id[33], young_id[33], line[128];
	static char log[1 << 16];
	unsigned long long t0, tm, t1;
	int status, kmsg, fd;
	pid_t old, young;

	if (!in_initial_session())
		SKIP(return, "the runner is in a session: a 3 s max_lifetime would kill it");
	ASSERT_EQ(0, lifetime);
	ASSERT_EQ(60, interval);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	old = session_child(old_id, 0);
	ASSERT_LT(0, old);
	fd = open_ns_of(old);
	if (fd < 0) {
		kill(old, SIGKILL);
		waitpid(old, NULL, 0);
	}
	ASSERT_LE(0, fd);
	sleep(3);
	young = session_child(young_id, 4);
	ASSERT_LT(0, young);
	t0 = now_ms();
	/*
	 * The old session is 3 s old: a 3 s lifetime takes it at the next
	 * tick, 1 s from now, and not the young one, which turns 3 s old
	 * only after the lifetime is off again (as soon as the old session
	 * is marked: a slow debug guest may take its time to kill it).
	 */
	EXPECT_EQ(0, write_long(MAX_LIFETIME, 3));
	EXPECT_EQ(0, write_long(REAP_INTERVAL, 1));
	tm = marked_at(fd, t0 + 10000);
	write_long(MAX_LIFETIME, lifetime);
	t1 = reaped_at(old, &status, t0 + 10000);
	write_long(REAP_INTERVAL, interval);
	close(fd);
	ASSERT_NE(0, tm) {
		TH_LOG("the old session was not marked 10 s after the lifetime was lowered");
	}
	ASSERT_NE(0, t1) {
		TH_LOG("the old session still ran 10 s after the lifetime was lowered");
	}
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	TH_LOG("marked %llu ms, reaped %llu ms after the lifetime was lowered",
	       tm - t0, t1 - t0);
	/* The next tick, one interval away: not the old interval's 60 s. */
	EXPECT_LE(tm - t0, 2900);
	ASSERT_EQ(young, waitpid(young, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* One line for the session the reaper killed, none for the other. */
	kmsg_read(kmsg, log, sizeof(log));
	close(kmsg);
	reaped_line(line, sizeof(line), old_id);
	EXPECT_EQ(1, occurrences(log, line));
	reaped_line(line, sizeof(line), young_id);
	EXPECT_EQ(0, occurrences(log, line));
}

/*
 * Forks a child that creates a session of its own and exits 0 once @go
 * is written to or closed; it dies with the test process.  The test's
 * descriptor of its session in @nsfd; its pid, or -1 when it failed.
 */
static pid_t exiting_session_child(int *nsfd, int *go)
{
	int ready[2], gop[2];
	char path[64], c;
	pid_t pid;

	*nsfd = -1;
	*go = -1;
	if (pipe(ready))
		return -1;
	if (pipe(gop)) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(gop[1]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
		    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		_exit(read(gop[0], &c, 1) < 0 ? 3 : 0);
	}
	close(ready[1]);
	close(gop[0]);
	if (pid > 0 && read(ready[0], &c, 1) == 1) {
		snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
		*nsfd = open(path, O_RDONLY);
	}
	close(ready[0]);
	if (pid > 0 && *nsfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	if (pid < 0)
		close(gop[1]);
	else
		*go = gop[1];
	return pid;
}

/*
 * The reaper's kill shows in the session's AGENT_NS_GET_INFO, read
 * through a descriptor held past its last task: AGENT_NS_INFO_REAPED and
 * nothing else (no budget acted, no limit fired).  The flag stays once
 * the lifetime is off again and a reaper tick has unmarked every session,
 * and a session created after that, which exits by itself, has none.
 */
TEST(reaper_sets_the_reaped_flag_for_good)
{
	long lifetime = read_long(MAX_LIFETIME), interval = read_long(REAP_INTERVAL);
	struct agent_ns_info before, reaped, later, young_info;
	int status, young_status = -1, fd, young_fd, go;
	int r0, r1, r2, r3 = -1;
	unsigned long long t0, t1;
	char id[33];
	pid_t old, young;

	if (!in_initial_session())
		SKIP(return, "the runner is in a session: a 1 s max_lifetime would kill it");
	ASSERT_EQ(0, lifetime);
	ASSERT_GT(interval, 0);
	old = session_child(id, 0);
	ASSERT_LT(0, old);
	fd = open_ns_of(old);
	if (fd < 0) {
		kill(old, SIGKILL);
		waitpid(old, NULL, 0);
	}
	ASSERT_LE(0, fd);
	r0 = ns_info(fd, &before);
	t0 = now_ms();
	EXPECT_EQ(0, write_long(MAX_LIFETIME, 1));
	EXPECT_EQ(0, write_long(REAP_INTERVAL, 1));
	t1 = reaped_at(old, &status, t0 + 10000);
	/* The lifetime off again; the reaper still ticks every second. */
	write_long(MAX_LIFETIME, lifetime);
	r1 = ns_info(fd, &reaped);
	/* A tick with no lifetime unmarks every session: wait for one. */
	if (t1)
		usleep(1500 * 1000);
	r2 = ns_info(fd, &later);
	/* Created with no lifetime, gone by itself. */
	young = exiting_session_child(&young_fd, &go);
	if (young > 0) {
		close(go);
		young_status = wait_exit(young);
		r3 = ns_info(young_fd, &young_info);
		close(young_fd);
	}
	write_long(REAP_INTERVAL, interval);

	ASSERT_EQ(0, r0);
	EXPECT_EQ(0, before.flags);
	ASSERT_NE(0, t1) {
		TH_LOG("the session still ran 10 s after the lifetime was lowered");
	}
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	ASSERT_EQ(0, r1) {
		TH_LOG("AGENT_NS_GET_INFO of the reaped session: %s", strerror(-r1));
	}
	EXPECT_EQ(AGENT_NS_INFO_REAPED, reaped.flags);
	EXPECT_EQ(0, reaped.fired);
	ASSERT_EQ(0, r2);
	EXPECT_EQ(AGENT_NS_INFO_REAPED, later.flags) {
		TH_LOG("the reaped flag did not stay once the lifetime was off");
	}
	EXPECT_EQ(0, later.fired);
	close(fd);
	ASSERT_LT(0, young);
	EXPECT_EQ(0, young_status);
	ASSERT_EQ(0, r3);
	EXPECT_EQ(0, young_info.flags);
	EXPECT_EQ(0, young_info.fired);
}

/* user.max_agent_namespaces bounds the live sessions of a user. */
TEST(max_agent_namespaces_bounds_sessions)
{
	long old = read_long(MAX_AGENT_NS);
	int status;
	pid_t pid;

	ASSERT_GT(old, 0);
	ASSERT_EQ(0, write_long(MAX_AGENT_NS, 3));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int n = 0;

		while (n < 10 && prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) == 0)
			n++;
		_exit(n == 3 && errno == ENOSPC ? 0 : 10 + n);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* The sessions are gone with the child: the count is back. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) ? 1 : 0);
	{
		int status2;

		ASSERT_EQ(pid, waitpid(pid, &status2, 0));
		write_long(MAX_AGENT_NS, old);
		EXPECT_TRUE(WIFEXITED(status2));
		EXPECT_EQ(0, WEXITSTATUS(status2));
	}
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * An elapsed-time deadline an hour away does not keep a session alive: the
 * session goes with its last task, and its user.max_agent_namespaces count
 * with it.  Under a maximum of 2, the third of six sessions in a row would
 * fail with ENOSPC if a pending deadline held its session.
 */
TEST(a_pending_elapsed_deadline_does_not_keep_its_session)
{
	long old = read_long(MAX_AGENT_NS);
	int exits[6];

	ASSERT_GT(old, 0);
	ASSERT_EQ(0, write_long(MAX_AGENT_NS, 2));
	for (int i = 0; i < 6; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			struct agent_ns_budget b = {
				.max_elapsed_ns = 3600ULL * 1000000000,
				.action = AGENT_NS_ACTION_SIGKILL,
			};

			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(errno == ENOSPC ? 2 : 1);
			if (prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0))
				_exit(3);
			_exit(0);
		}
		exits[i] = pid < 0 ? -1 : wait_exit(pid);
	}
	write_long(MAX_AGENT_NS, old);
	for (int i = 0; i < 6; i++) {
		EXPECT_EQ(0, exits[i]) {
			TH_LOG("session %d: exit %d (2: ENOSPC, a session still held)",
			       i, exits[i]);
		}
	}
}

/*
 * A session that its only task leaves with setns(2) goes at once, and its
 * user.max_agent_namespaces count with it: under a maximum of 2, the
 * third of six sessions in a row, each entered with PR_SET_AGENT_NS and
 * left for the starting session, would fail with ENOSPC if setns(2) kept a
 * reference on the session it left.
 */
TEST(a_session_left_through_setns_goes_with_it)
{
	long old = read_long(MAX_AGENT_NS);
	pid_t pid;
	int ret;

	ASSERT_GT(old, 0);
	ASSERT_EQ(0, write_long(MAX_AGENT_NS, 2));
	pid = fork();
	if (pid == 0) {
		int home = open("/proc/self/ns/agent", O_RDONLY);

		if (home < 0)
			_exit(1);
		for (int i = 0; i < 6; i++) {
			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(errno == ENOSPC ? 20 + i : 2);
			if (setns(home, 0))
				_exit(3);
		}
		_exit(0);
	}
	ret = pid < 0 ? -1 : wait_exit(pid);
	write_long(MAX_AGENT_NS, old);
	EXPECT_EQ(0, ret) {
		TH_LOG("exit %d (20 + i: the i-th PR_SET_AGENT_NS got ENOSPC)", ret);
	}
}

/* A value of a cgroup file, or of one key of memory.stat; -1 on error. */
static long long cg_read(const char *dir, const char *file, const char *key)
{
	char path[256], buf[8192], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!key)
		return atoll(buf);
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, key, strlen(key)) && p[strlen(key)] == ' ')
			return atoll(p + strlen(key) + 1);
	}
	return -1;
}

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * What the child of memcg_limit_stops_creation_with_enomem does, in the
 * memory cgroup @cg: 0, or the step that went wrong.
 */
static int memcg_child(const char *cg)
{
	char val[32];
	long long slab0, slab1, cur;
	int i;

	/* No OOM victim here: a charge past memory.max then fails. */
	if (write_long("/proc/self/oom_score_adj", -1000))
		return 10;
	/* Nothing left to fault in once the limit is set. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		return 11;
	snprintf(val, sizeof(val), "%d", getpid());
	if (cg_write(cg, "cgroup.procs", val))
		return 12;
	/*
	 * A session's memory is charged to its creator's cgroup: ten sessions
	 * add at least 512 bytes of slab each (a session is over 1 KiB; the
	 * nsproxy each copies, also charged, under 100 bytes).  memory.stat
	 * folds small updates in every 2 s: read it after that.  (Its per-cpu
	 * counters are charged too, except in the per-cpu allocator's first
	 * chunk, which is all a small guest uses: the percpu line is no
	 * measure here.)
	 */
	sleep(3);
	slab0 = cg_read(cg, "memory.stat", "slab");
	for (i = 0; i < 10; i++)
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			return 13;
	sleep(3);
	slab1 = cg_read(cg, "memory.stat", "slab");
	if (slab0 < 0 || slab1 - slab0 < 10 * 512) {
		printf("# slab %lld -> %lld\n", slab0, slab1);
		return 14;
	}
	/*
	 * A limit below what the cgroup holds drains its precharged stock;
	 * then a limit at what it holds leaves no room for the next charge,
	 * which fails (no task here may be OOM-killed) with ENOMEM.
	 */
	cur = cg_read(cg, "memory.current", NULL);
	if (cur <= 0)
		return 15;
	snprintf(val, sizeof(val), "%lld", cur - 4096 > 0 ? cur - 4096 : 0);
	if (cg_write(cg, "memory.max", val))
		return 16;
	cur = cg_read(cg, "memory.current", NULL);
	snprintf(val, sizeof(val), "%lld", cur);
	if (cur <= 0 || cg_write(cg, "memory.max", val))
		return 16;
	for (i = 0; i < 18; i++) {	/* within the depth limit, 32 */
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			return errno == ENOMEM ? 0 : 17;
	}
	return 18;
}

/*
 * A session's memory (the session and its per-cpu counters) is charged to
 * the memory cgroup of the task that creates it, as the other namespaces'
 * is: it shows in the cgroup's memory.stat, and a cgroup at its
 * memory.max cannot create one (ENOMEM).
 */
TEST(memcg_limit_stops_creation_with_enomem)
{
	char root[] = "/tmp/agentns-cgXXXXXX", cg[64];
	int ret;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	ASSERT_NE(NULL, mkdtemp(root));
	if (mount("cgroup2", root, "cgroup2", 0, NULL)) {
		rmdir(root);
		SKIP(return, "no cgroup2: %s", strerror(errno));
	}
	snprintf(cg, sizeof(cg), "%s/agentns-memcg", root);
	if (cg_read(root, "cgroup.controllers", NULL) < 0 ||
	    cg_write(root, "cgroup.subtree_control", "+memory")) {
		umount(root);
		rmdir(root);
		SKIP(return, "no memory controller");
	}
	ASSERT_EQ(0, mkdir(cg, 0755));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(memcg_child(cg));
	ret = wait_exit(pid);
	rmdir(cg);
	umount(root);
	rmdir(root);
	EXPECT_EQ(0, ret) {
		TH_LOG("step %d (see memcg_child())", ret);
	}
}

/*
 * kernel.agent_ns.enabled=0 makes the feature inert: besides counting
 * nothing (the disabled fixture), no budget acts and the reaper kills
 * nothing; what came due meanwhile acts once it is 1 again.  The tests
 * create their sessions first (PR_SET_AGENT_NS is EOPNOTSUPP while
 * disabled).  They switch the whole feature off and lower the lifetime,
 * so they run from the initial session only, and the parent puts every
 * sysctl back whatever became of the test.
 */
FIXTURE(inert) {
	long lifetime, interval;
	bool set;
};

FIXTURE_SETUP(inert)
{
	if (read_long(ENABLED) != 1)
		SKIP(return, "kernel.agent_ns.enabled is not 1");
	if (!in_initial_session())
		SKIP(return, "the runner is in a session: the tests lower max_lifetime to 1 s");
	self->lifetime = read_long(MAX_LIFETIME);
	self->interval = read_long(REAP_INTERVAL);
	ASSERT_GE(self->lifetime, 0);
	ASSERT_GT(self->interval, 0);
	self->set = true;
}

FIXTURE_TEARDOWN_PARENT(inert)
{
	if (!self->set)
		return;
	write_long(ENABLED, 1);
	write_long(MAX_LIFETIME, self->lifetime);
	write_long(REAP_INTERVAL, self->interval);
}

/*
 * A child in a session of its own that sets one elapsed-time limit, with
 * the SIGKILL action, when told to, and then only waits.  It dies with
 * the test process.
 */
struct agent {
	pid_t pid;
	int cmd;			/* the limit to set, in ns */
	int rep;			/* its answers */
	unsigned long long created;	/* CLOCK_BOOTTIME of its session's creation, ns */
};

/* Closes @a's pipes and, if it still runs, kills and reaps it. */
static void agent_end(struct agent *a)
{
	close(a->cmd);
	close(a->rep);
	if (a->pid > 0 && waitpid(a->pid, NULL, WNOHANG) == 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, NULL, 0);
	}
}

/* Starts @a; returns once its session exists: 0, or -1 if it failed. */
static int agent_start(struct agent *a)
{
	int cmd[2], rep[2];

	if (pipe(cmd))
		return -1;
	if (pipe(rep)) {
		close(cmd[0]);
		close(cmd[1]);
		return -1;
	}
	a->pid = fork();
	if (a->pid == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };
		unsigned long long t;
		int err;

		close(cmd[1]);
		close(rep[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
		    prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		/* elapsed_ns counts from the session's creation. */
		t = boottime_ns() - counters().elapsed_ns;
		if (write(rep[1], &t, sizeof(t)) != sizeof(t))
			_exit(2);
		if (read(cmd[0], &b.max_elapsed_ns, sizeof(b.max_elapsed_ns)) !=
		    sizeof(b.max_elapsed_ns))
			_exit(3);
		err = prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0) ? errno : 0;
		if (write(rep[1], &err, sizeof(err)) != sizeof(err))
			_exit(4);
		for (;;)
			pause();
	}
	close(cmd[0]);
	close(rep[1]);
	a->cmd = cmd[1];
	a->rep = rep[0];
	if (a->pid < 0 || read(a->rep, &a->created, sizeof(a->created)) != sizeof(a->created)) {
		agent_end(a);
		return -1;
	}
	return 0;
}

/*
 * Has @a set an elapsed-time limit of @ns on its session: 0, or the errno
 * of its prctl(2), or -1 with no answer.
 */
static int agent_set_elapsed(struct agent *a, unsigned long long ns)
{
	int err;

	if (write(a->cmd, &ns, sizeof(ns)) != sizeof(ns) ||
	    read(a->rep, &err, sizeof(err)) != sizeof(err))
		return -1;
	return err;
}

/* Sleeps until CLOCK_BOOTTIME reads @t (ns). */
static void sleep_until(unsigned long long t)
{
	unsigned long long now = boottime_ns();

	if (t > now)
		usleep((t - now) / 1000);
}

/*
 * Disabled, the reaper kills nothing and logs nothing: a session past a
 * 1 s max_lifetime lives through three 1 s ticks.  Enabled again, the
 * reaper SIGKILLs it within 2.5 s and logs it once.
 */
TEST_F(inert, reaper_kills_nothing_while_disabled)
{
	unsigned long long t0, t1;
	static char log[1 << 16];
	char id[33], line[128];
	int status, kmsg;
	pid_t pid;

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	pid = session_child(id, 0);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, write_long(ENABLED, 0));
	ASSERT_EQ(0, write_long(MAX_LIFETIME, 1));
	ASSERT_EQ(0, write_long(REAP_INTERVAL, 1));
	sleep(3);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG)) {
		TH_LOG("the session's process ended while the feature was disabled");
	}
	reaped_line(line, sizeof(line), id);
	kmsg_read(kmsg, log, sizeof(log));
	EXPECT_EQ(0, occurrences(log, line));
	t0 = now_ms();
	ASSERT_EQ(0, write_long(ENABLED, 1));
	t1 = reaped_at(pid, &status, t0 + 10000);
	ASSERT_NE(0, t1) {
		TH_LOG("the session still ran 10 s after enabled=1");
	}
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	TH_LOG("reaped %llu ms after enabled=1", t1 - t0);
	EXPECT_LE(t1 - t0, 2500);
	/* Another tick with the lifetime still 1 s: still one line. */
	usleep(1500 * 1000);
	kmsg_read(kmsg, log, sizeof(log));
	close(kmsg);
	EXPECT_EQ(1, occurrences(log, line));
}

/*
 * How soon an overdue budget must act once enabled=1 is written: 200 ms,
 * plus twice what that write took.  The write switches static keys, which
 * patches kernel text on every cpu; when it alone takes tens of
 * milliseconds (the debug kernel under TCG: 77 ms seen), the work that
 * kills runs as slowly.
 */
static unsigned long long prompt_ms(unsigned long long write_ms)
{
	return 200 + 2 * write_ms;
}

/*
 * A 300 ms SIGKILL elapsed-time budget, armed while enabled: disabled
 * before its deadline, it does not act (the agent is alive 1 s after the
 * deadline); enabled again, the overdue budget acts at once
 * (prompt_ms()).  The disabling write must land before the
 * deadline: a try where it did not (a slow guest) is logged and redone,
 * three tries at most.
 */
TEST_F(inert, elapsed_budget_waits_while_disabled)
{
	unsigned long long deadline = 0, off = 0, t0, t1, w0;
	struct agent a;
	int status;

	for (int attempt = 1; attempt <= 3; attempt++) {
		ASSERT_EQ(0, agent_start(&a));
		ASSERT_EQ(0, agent_set_elapsed(&a, 300 * MS));
		deadline = a.created + 300 * MS;
		ASSERT_EQ(0, write_long(ENABLED, 0));
		off = boottime_ns();
		if (off < deadline)
			break;
		TH_LOG("try %d: disabled %llu us after the deadline", attempt,
		       (off - deadline) / 1000);
		ASSERT_EQ(0, write_long(ENABLED, 1));
		agent_end(&a);
	}
	ASSERT_LT(off, deadline);
	sleep_until(deadline + 1000 * MS);
	ASSERT_EQ(0, waitpid(a.pid, &status, WNOHANG)) {
		TH_LOG("the budget acted while the feature was disabled");
	}
	w0 = now_ms();
	ASSERT_EQ(0, write_long(ENABLED, 1));
	t0 = now_ms();
	t1 = reaped_at(a.pid, &status, t0 + 5000);
	agent_end(&a);
	ASSERT_NE(0, t1) {
		TH_LOG("the agent still ran 5 s after enabled=1");
	}
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	TH_LOG("killed %llu ms after enabled=1 (the write took %llu ms)", t1 - t0, t0 - w0);
	EXPECT_LE(t1 - t0, prompt_ms(t0 - w0));
}

/*
 * Budgets set while disabled do not act either: one whose deadline comes
 * 300 ms after it is set, and one the session had already passed when it
 * was set (which would act at once).  1 s after the later deadline both
 * agents are alive; enabled again, both overdue budgets act promptly
 * (prompt_ms()).
 */
TEST_F(inert, elapsed_budget_set_while_disabled_waits)
{
	unsigned long long deadline, t0, t1[2], w0;
	struct agent a[2];
	int status[2];

	ASSERT_EQ(0, agent_start(&a[0]));
	ASSERT_EQ(0, agent_start(&a[1]));
	ASSERT_EQ(0, write_long(ENABLED, 0));
	/* Setting limits works while disabled. */
	deadline = boottime_ns() + 300 * MS;
	ASSERT_EQ(0, agent_set_elapsed(&a[0], deadline - a[0].created));
	ASSERT_LT(a[1].created + 1 * MS, boottime_ns());
	ASSERT_EQ(0, agent_set_elapsed(&a[1], 1 * MS));
	sleep_until(deadline + 1000 * MS);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, waitpid(a[i].pid, &status[i], WNOHANG)) {
			TH_LOG("agent %d: its budget acted while the feature was disabled", i);
		}
	}
	w0 = now_ms();
	ASSERT_EQ(0, write_long(ENABLED, 1));
	t0 = now_ms();
	for (int i = 0; i < 2; i++)
		t1[i] = reaped_at(a[i].pid, &status[i], t0 + 5000);
	for (int i = 0; i < 2; i++) {
		agent_end(&a[i]);
		ASSERT_NE(0, t1[i]) {
			TH_LOG("agent %d still ran 5 s after enabled=1", i);
		}
		EXPECT_TRUE(WIFSIGNALED(status[i]));
		EXPECT_EQ(SIGKILL, WTERMSIG(status[i]));
		TH_LOG("agent %d killed %llu ms after enabled=1 (the write took %llu ms)",
		       i, t1[i] - t0, t0 - w0);
		EXPECT_LE(t1[i] - t0, prompt_ms(t0 - w0));
	}
}

int main(int argc, char **argv)
{
	if (access(ENABLED, F_OK) || geteuid() != 0) {
		ksft_print_header();
		ksft_exit_skip("needs root and a kernel with agent namespace sysctls\n");
	}
	/* An agent that died early must fail its test, not kill it. */
	signal(SIGPIPE, SIG_IGN);
	return test_harness_run(argc, argv);
}
