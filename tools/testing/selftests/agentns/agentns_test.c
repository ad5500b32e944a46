// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace selftests: session creation, ids, inheritance and the
 * prctl argument rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

static const char zero_id[] = "00000000000000000000000000000000";

static void hex_id(const unsigned char id[AGENT_NS_ID_BYTES], char out[33])
{
	for (int i = 0; i < AGENT_NS_ID_BYTES; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

static int prctl_id(char out[33])
{
	unsigned char id[AGENT_NS_ID_BYTES];

	if (prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0))
		return -errno;
	hex_id(id, out);
	return 0;
}

TEST(init_task_has_zero_id)
{
	char id[33];

	ASSERT_EQ(0, read_session("1", id));
	EXPECT_STREQ(zero_id, id);
}

TEST(create_gives_nonzero_id_matching_proc)
{
	char before[33], proc_id[33], prctl_hex[33];

	ASSERT_EQ(0, read_session("self", before));
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, read_session("self", proc_id));
	ASSERT_EQ(0, prctl_id(prctl_hex));
	EXPECT_STRNE(zero_id, proc_id);
	EXPECT_STRNE(before, proc_id);
	EXPECT_STREQ(proc_id, prctl_hex);
	/* The thread view agrees with the process view. */
	{
		char tid_path[64], tid_id[33];

		snprintf(tid_path, sizeof(tid_path), "self/task/%d", gettid());
		ASSERT_EQ(0, read_session(tid_path, tid_id));
		EXPECT_STREQ(proc_id, tid_id);
	}
}

TEST(child_inherits_session)
{
	char mine[33], theirs[33] = "", viaproc[33], pidstr[16];
	int idpipe[2], gopipe[2], status;
	pid_t pid;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl_id(mine));
	ASSERT_EQ(0, pipe(idpipe));
	ASSERT_EQ(0, pipe(gopipe));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char id[33] = "", c;

		prctl_id(id);
		if (write(idpipe[1], id, 32) != 32)
			_exit(1);
		/* Stay alive until the parent has read our /proc file. */
		_exit(read(gopipe[0], &c, 1) == 1 ? 0 : 2);
	}
	ASSERT_EQ(32, read(idpipe[0], theirs, 32));
	EXPECT_STREQ(mine, theirs);
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	ASSERT_EQ(0, read_session(pidstr, viaproc));
	EXPECT_STREQ(mine, viaproc);
	ASSERT_EQ(1, write(gopipe[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(second_create_gives_new_id_and_parent)
{
	unsigned char parent[AGENT_NS_ID_BYTES];
	char first[33], second[33], parent_hex[33];

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl_id(first));
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl_id(second));
	EXPECT_STRNE(first, second);
	EXPECT_STRNE(zero_id, second);
	ASSERT_EQ(0, prctl(PR_GET_AGENT_PARENT_ID, parent, 0, 0, 0));
	hex_id(parent, parent_hex);
	EXPECT_STREQ(first, parent_hex);
}

TEST(init_session_parent_id_is_zeros)
{
	unsigned char parent[AGENT_NS_ID_BYTES];
	char id[33];

	ASSERT_EQ(0, prctl_id(id));
	if (strcmp(id, zero_id))
		SKIP(return, "runner is not in the initial session");
	memset(parent, 0xff, sizeof(parent));
	ASSERT_EQ(0, prctl(PR_GET_AGENT_PARENT_ID, parent, 0, 0, 0));
	hex_id(parent, id);
	EXPECT_STREQ(zero_id, id);
}

/*
 * 0x100 is what an earlier design called CLONE_NEWAGENT; it is CLONE_VM.
 * On 7.3 unshare(CLONE_VM) is a no-op in a single-threaded caller and
 * EINVAL with threads; neither creates a session.
 */
static void *sleeper(void *arg)
{
	pause();
	return arg;
}

TEST(unshare_0x100_never_creates_a_session)
{
	char before[33], after[33];
	pthread_t t;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl_id(before));
	EXPECT_EQ(0, unshare(0x100));
	ASSERT_EQ(0, prctl_id(after));
	EXPECT_STREQ(before, after);

	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper, NULL));
	EXPECT_EQ(-1, unshare(0x100));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, prctl_id(after));
	EXPECT_STREQ(before, after);
}

TEST(create_in_multithreaded_process_is_einval)
{
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper, NULL));
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST(unprivileged_create_is_eperm)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop privileges");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char before[33], after[33];

		/* Dropping every uid to non-zero clears all capabilities. */
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		prctl_id(before);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) != -1)
			_exit(11);
		if (errno != EPERM)
			_exit(12);
		prctl_id(after);
		_exit(strcmp(before, after) ? 13 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(nonzero_unused_args_are_einval)
{
	unsigned char id[AGENT_NS_ID_BYTES];
	char before[33], after[33];

	ASSERT_EQ(0, prctl_id(before));
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_NS, 1, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_NS, 0, 0, 0, 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, prctl_id(after));
	EXPECT_STREQ(before, after);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_SESSION_ID, id, 1, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_PARENT_ID, id, 0, 1, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST(bad_pointer_is_efault)
{
	void *ro;

	EXPECT_EQ(-1, prctl(PR_GET_AGENT_SESSION_ID, NULL, 0, 0, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_SESSION_ID, (void *)-1UL, 0, 0, 0));
	EXPECT_EQ(EFAULT, errno);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_SESSION_ID, ro, 0, 0, 0));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

/* The options around the PR_*AGENT* range are not ours: plain EINVAL. */
TEST(neighbours_of_the_option_range_are_einval)
{
	EXPECT_EQ(-1, prctl(PR_AGENT_BASE, 0, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_BUDGET_LIMITS + 1, 0, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
}

/* On a kernel without the feature every test is skipped (exit code 4). */
int main(int argc, char **argv)
{
	if (access("/proc/self/agent_session", F_OK)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespaces (CONFIG_AGENT_NS)\n");
	}
	return test_harness_run(argc, argv);
}
