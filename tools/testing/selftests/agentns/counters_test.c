// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace counters: the exact delta of every counter, the roll-up
 * of nested sessions, the PR_GET_AGENT_COUNTERS size rules and
 * /proc/PID/agent_counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

#include "../kselftest_harness.h"

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

int main(int argc, char **argv)
{
	if (access("/proc/self/agent_counters", F_OK)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespace counters\n");
	}
	return test_harness_run(argc, argv);
}
