// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace sysctls: kernel.agent_ns.enabled, the lifetime reaper
 * (kernel.agent_ns.max_lifetime, reap_interval) and the
 * user.max_agent_namespaces ucount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* A session older than max_lifetime is killed by the next reaper tick. */
TEST(reaper_kills_sessions_past_max_lifetime)
{
	long lifetime = read_long(MAX_LIFETIME), interval = read_long(REAP_INTERVAL);
	unsigned long long t0, t1;
	int status;
	pid_t old, young;

	ASSERT_EQ(86400, lifetime);
	ASSERT_EQ(60, interval);
	old = fork();
	ASSERT_GE(old, 0);
	if (old == 0) {
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		for (;;)
			pause();
	}
	sleep(2);
	young = fork();
	ASSERT_GE(young, 0);
	if (young == 0) {
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		sleep(3);
		_exit(0);
	}
	t0 = now_ms();
	/* The old session is 2 s old: a 2 s lifetime takes it, not the young one. */
	ASSERT_EQ(0, write_long(MAX_LIFETIME, 2));
	ASSERT_EQ(0, write_long(REAP_INTERVAL, 1));
	ASSERT_EQ(old, waitpid(old, &status, 0));
	t1 = now_ms();
	write_long(MAX_LIFETIME, lifetime);
	write_long(REAP_INTERVAL, interval);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	TH_LOG("reaped %llu ms after the lifetime was lowered", t1 - t0);
	EXPECT_LE(t1 - t0, 2500);
	ASSERT_EQ(young, waitpid(young, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
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

int main(int argc, char **argv)
{
	if (access(ENABLED, F_OK) || geteuid() != 0) {
		ksft_print_header();
		ksft_exit_skip("needs root and a kernel with agent namespace sysctls\n");
	}
	return test_harness_run(argc, argv);
}
