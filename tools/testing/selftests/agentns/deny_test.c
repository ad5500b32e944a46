// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace budgets that act on the crossing call itself: byte
 * budgets cut the crossing transfer short to what is left of them (under
 * SIGTERM, SIGKILL and DENY, not LOG), DENY fails the operation that would
 * cross a count limit with EDQUOT before it has any effect, max_syscalls
 * under DENY fails every call but exit, exit_group, rt_sigreturn and
 * restart_syscall, and SIGTERM and SIGKILL budgets act even when the
 * crossing call then blocks.  A limit is on the session subtree's total of
 * its counter, so each test sets it to the current total plus an
 * allowance.
 *
 * A test that exhausts its own session's write budget records what it saw
 * and lifts the budget (root may loosen) before it asserts: the harness
 * reports failures with write(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/agent_namespaces.h>
#include <linux/aio_abi.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#include "../kselftest_harness.h"
#define AGENTNS_IO_URING
#include "agentns_util.h"

#define MIB			(1024 * 1024)
#define CHUNK			(64 * 1024)
/* The slack the SIGKILL overshoot tests allow past a 1 MiB write budget. */
#define OVERSHOOT_MAX		(64 * 1024)

/* argv[1] of this program re-executed by the max_exec test. */
#define EXEC_AGAIN		"--agentns-exec-again"
#define EXEC_NEVER		"--agentns-exec-never"

/*
 * Single loads and stores the compiler may neither tear, fuse nor drop: for
 * the MAP_SHARED page another process writes and for the signal flag.
 */
#ifndef READ_ONCE
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#endif
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#endif

static int set_budget(const struct agent_ns_budget *b)
{
	return prctl(PR_SET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0);
}

static struct agent_ns_counters counters(void)
{
	struct agent_ns_counters c = { 0 };

	prctl(PR_GET_AGENT_COUNTERS, &c, sizeof(c), 0, 0);
	return c;
}

/* Removes every limit (root may loosen), so that a test can report. */
static int lift_budget(void)
{
	struct agent_ns_budget none = { 0 };

	return set_budget(&none);
}

enum limit { L_WRITE, L_READ, L_OPENAT, L_CONNECT, L_UNLINK, L_FORK, L_EXEC };

/*
 * Sets a budget of @action whose one limit, on @which, is the session's
 * current total plus @allowance (at least 1: a limit of 0 is none).  The
 * totals read go to *@c0.
 */
static int limit_to(enum limit which, __u64 allowance, __u32 action,
		    struct agent_ns_counters *c0)
{
	struct agent_ns_budget b = { .action = action };

	*c0 = counters();
	switch (which) {
	case L_WRITE:
		b.max_write_bytes = c0->write_bytes + allowance;
		break;
	case L_READ:
		b.max_read_bytes = c0->read_bytes + allowance;
		break;
	case L_OPENAT:
		b.max_openat = c0->openat_count + allowance;
		break;
	case L_CONNECT:
		b.max_connect = c0->connect_count + allowance;
		break;
	case L_UNLINK:
		b.max_unlink = c0->unlink_count + allowance;
		break;
	case L_FORK:
		b.max_fork = c0->fork_count + allowance;
		break;
	case L_EXEC:
		b.max_exec = c0->exec_count + allowance;
		break;
	}
	return set_budget(&b);
}

/* An unlinked /tmp file holding @size bytes, its offset at 0, or -1. */
static int tmp_file(size_t size)
{
	char path[] = "/tmp/agentns-dXXXXXX";
	static char chunk[CHUNK];
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	for (size_t done = 0; done < size; ) {
		size_t n = size - done < CHUNK ? size - done : CHUNK;
		ssize_t w = write(fd, chunk, n);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += w;
	}
	if (lseek(fd, 0, SEEK_SET)) {
		close(fd);
		return -1;
	}
	return fd;
}

static off_t fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

static off_t fd_offset(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

/* Bytes queued for reading on a pipe or socket, or -1. */
static int queued(int fd)
{
	int n;

	return ioctl(fd, FIONREAD, &n) ? -1 : n;
}

/* The value of @name in /proc/<pid>/agent_counters, or ~0ULL. */
static unsigned long long proc_value(pid_t pid, const char *name)
{
	unsigned long long v, found = ~0ULL;
	char path[64], key[32];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/agent_counters", pid);
	f = fopen(path, "r");
	if (!f)
		return found;
	while (fscanf(f, "%31s %llu", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

/*
 * Waits until @deadline (now_s()) for @pid, a child or (under
 * PR_SET_CHILD_SUBREAPER) an orphaned descendant: its wait status, -2 if
 * someone else reaped it (it is gone), or -1 if it is still alive.
 */
static int wait_until(pid_t pid, double deadline)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno == ECHILD && kill(pid, 0) && errno == ESRCH)
			return -2;
		if (now_s() >= deadline)
			return -1;
		usleep(1000);
	}
}

/*
 * What a child shares with the test through a MAP_SHARED page: every field
 * is accessed with READ_ONCE() and WRITE_ONCE().
 */
struct shared {
	int stage;
	pid_t grandchild;
	unsigned long long t;
	int run, res[2];
};

/* Every test runs in its own fresh session. */
FIXTURE(session) {
	struct agent_ns_counters c0;
	struct shared *sh;
	pid_t child;
};

FIXTURE_SETUP(session)
{
	if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0)) {
		ASSERT_EQ(EINVAL, errno);
		SKIP(return, "kernel has no agent namespaces");
	}
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	memset(self->sh, 0, sizeof(*self->sh));
}

/* Kills whatever a failed test left running: its child and grandchild. */
FIXTURE_TEARDOWN(session)
{
	pid_t g = 0;

	if (self->child > 0 && !kill(self->child, SIGKILL))
		waitpid(self->child, NULL, 0);
	if (self->sh && self->sh != MAP_FAILED)
		g = READ_ONCE(self->sh->grandchild);
	if (g > 0 && !kill(g, SIGKILL))
		waitpid(g, NULL, 0);
}

/* The signal a handler caught: a lock-free int, so async-signal-safe. */
static int got_signal;

static void note_signal(int sig)
{
	WRITE_ONCE(got_signal, sig);
}

/*
 * Under DENY the budget's action fires once: however many opens are
 * denied, the crossing is logged once.  The log is rate-limited (ten lines
 * in five seconds across all sessions), so the test first waits out any
 * burst that earlier tests left.
 */
TEST_F_TIMEOUT(session, denied_opens_log_the_budget_once, 60)
{
	struct timespec settle = { 5, 500 * 1000 * 1000 };
	char cmd[160], id[33] = "";
	int sync[2], lines = -1;
	FILE *f;

	ASSERT_EQ(0, pipe(sync));
	nanosleep(&settle, NULL);
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		struct agent_ns_counters c0;
		int denied = 0;

		close(sync[0]);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) || prctl_session(id))
			_exit(1);
		if (limit_to(L_OPENAT, 1, AGENT_NS_ACTION_DENY, &c0))
			_exit(2);
		close(open("/dev/null", O_RDONLY));
		for (int i = 0; i < 5; i++)
			if (open("/dev/null", O_RDONLY) == -1 && errno == EDQUOT)
				denied++;
		if (write(sync[1], id, 32) != 32)
			_exit(3);
		_exit(denied == 5 ? 0 : 4);
	}
	close(sync[1]);
	ASSERT_EQ(32, read(sync[0], id, 32));
	EXPECT_EQ(0, wait_exit(self->child));
	self->child = 0;
	snprintf(cmd, sizeof(cmd), "dmesg | grep -c 'session %s exceeded its openat budget'", id);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%d", &lines));
	pclose(f);
	EXPECT_EQ(1, lines);
}

/* write(2) past a DENY write budget returns what was left, then EDQUOT. */
TEST_F(session, write_is_cut_short_to_the_write_budget_then_denied)
{
	static char buf[5000];
	struct agent_ns_counters c1;
	ssize_t first, second;
	off_t size1, size2;
	int fd = tmp_file(0), err;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	first = write(fd, buf, sizeof(buf));
	size1 = fd_size(fd);
	second = write(fd, buf, sizeof(buf));
	err = errno;
	size2 = fd_size(fd);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, first);
	EXPECT_EQ(1000, size1);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(1000, size2);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	close(fd);
}

/* read(2) past a DENY read budget returns what was left, then EDQUOT. */
TEST_F(session, read_is_cut_short_to_the_read_budget_then_denied)
{
	static char buf[5000];
	struct agent_ns_counters c1;
	int fd = tmp_file(sizeof(buf));

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, limit_to(L_READ, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	EXPECT_EQ(1000, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(1000, fd_offset(fd));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_EQ(1000, fd_offset(fd));
	c1 = counters();
	EXPECT_EQ(self->c0.read_bytes + 1000, c1.read_bytes);
	close(fd);
}

/* sendfile(2) past a DENY write budget moves what was left, then EDQUOT. */
TEST_F(session, sendfile_is_cut_short_to_the_write_budget_then_denied)
{
	struct agent_ns_counters c1;
	ssize_t first, second;
	off_t size1, size2, in_off;
	int in = tmp_file(5000), out = tmp_file(0), err;

	ASSERT_GE(in, 0);
	ASSERT_GE(out, 0);
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	first = sendfile(out, in, NULL, 5000);
	size1 = fd_size(out);
	second = sendfile(out, in, NULL, 5000);
	err = errno;
	size2 = fd_size(out);
	in_off = fd_offset(in);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, first);
	EXPECT_EQ(1000, size1);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(1000, size2);
	EXPECT_EQ(1000, in_off);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	EXPECT_EQ(self->c0.read_bytes + 1000, c1.read_bytes);
	close(in);
	close(out);
}

/* copy_file_range(2) past a DENY write budget copies what was left, then EDQUOT. */
TEST_F(session, copy_file_range_is_cut_short_to_the_write_budget_then_denied)
{
	struct agent_ns_counters c1;
	ssize_t first, second;
	off_t size1, size2, in_off;
	int in = tmp_file(5000), out = tmp_file(0), err;

	ASSERT_GE(in, 0);
	ASSERT_GE(out, 0);
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	first = copy_file_range(in, NULL, out, NULL, 5000, 0);
	size1 = fd_size(out);
	second = copy_file_range(in, NULL, out, NULL, 5000, 0);
	err = errno;
	size2 = fd_size(out);
	in_off = fd_offset(in);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, first);
	EXPECT_EQ(1000, size1);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(1000, size2);
	EXPECT_EQ(1000, in_off);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	close(in);
	close(out);
}

/* splice(2) from a file into a pipe past a DENY write budget: what was left, then EDQUOT. */
TEST_F(session, splice_is_cut_short_to_the_write_budget_then_denied)
{
	struct agent_ns_counters c1;
	ssize_t first, second;
	int in = tmp_file(5000), p[2], err, q1, q2;
	off_t in_off;

	ASSERT_GE(in, 0);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	first = splice(in, NULL, p[1], NULL, 5000, 0);
	q1 = queued(p[0]);
	second = splice(in, NULL, p[1], NULL, 5000, 0);
	err = errno;
	q2 = queued(p[0]);
	in_off = fd_offset(in);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, first);
	EXPECT_EQ(1000, q1);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(1000, q2);
	EXPECT_EQ(1000, in_off);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	close(in);
	close(p[0]);
	close(p[1]);
}

/* send(2) past a DENY write budget sends what was left, then EDQUOT. */
TEST_F(session, send_is_cut_short_to_the_write_budget_then_denied)
{
	static char buf[5000];
	struct agent_ns_counters c1;
	ssize_t first, second;
	int sv[2], err, q1, q2;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	first = send(sv[0], buf, sizeof(buf), 0);
	q1 = queued(sv[1]);
	second = send(sv[0], buf, sizeof(buf), 0);
	err = errno;
	q2 = queued(sv[1]);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, first);
	EXPECT_EQ(1000, q1);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(1000, q2);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	close(sv[0]);
	close(sv[1]);
}

/* IORING_OP_WRITE past a DENY write budget: res is what was left, then -EDQUOT. */
TEST_F(session, io_uring_write_is_cut_short_to_the_write_budget_then_denied)
{
	static char buf[5000];
	struct agent_ns_counters c1;
	struct io_uring_sqe *sqe;
	int fd = tmp_file(0), res[2] = { 1, 1 }, run1, run2;
	off_t size1, size2;
	struct agentns_ring r;

	ASSERT_GE(fd, 0);
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 8));
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	sqe = ring_sqe(&r, IORING_OP_WRITE, fd, 0);
	sqe->addr = (unsigned long)buf;
	sqe->len = sizeof(buf);
	sqe->off = 0;
	run1 = ring_run(&r, res);
	size1 = fd_size(fd);
	sqe = ring_sqe(&r, IORING_OP_WRITE, fd, 1);
	sqe->addr = (unsigned long)buf;
	sqe->len = sizeof(buf);
	sqe->off = 1000;
	run2 = ring_run(&r, res);
	size2 = fd_size(fd);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(0, run1);
	EXPECT_EQ(0, run2);
	EXPECT_EQ(1000, res[0]);
	EXPECT_EQ(1000, size1);
	EXPECT_EQ(-EDQUOT, res[1]);
	EXPECT_EQ(1000, size2);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	ring_close(&r);
	close(fd);
}

/*
 * IORING_OP_RECV past a DENY read budget: res is what was left, then
 * -EDQUOT, and what was not received stays queued on the socket.
 */
TEST_F(session, io_uring_recv_is_cut_short_to_the_read_budget_then_denied)
{
	static char buf[5000];
	struct agent_ns_counters c1;
	struct io_uring_sqe *sqe;
	int sv[2], res[2] = { 1, 1 }, run1, run2, q1, q2;
	struct agentns_ring r;

	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ((ssize_t)sizeof(buf), send(sv[0], buf, sizeof(buf), 0));
	ASSERT_EQ(0, ring_setup(&r, 8));
	ASSERT_EQ(0, limit_to(L_READ, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	sqe = ring_sqe(&r, IORING_OP_RECV, sv[1], 0);
	sqe->addr = (unsigned long)buf;
	sqe->len = sizeof(buf);
	run1 = ring_run(&r, res);
	q1 = queued(sv[1]);
	sqe = ring_sqe(&r, IORING_OP_RECV, sv[1], 1);
	sqe->addr = (unsigned long)buf;
	sqe->len = sizeof(buf);
	run2 = ring_run(&r, res);
	q2 = queued(sv[1]);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(0, run1);
	EXPECT_EQ(0, run2);
	EXPECT_EQ(1000, res[0]);
	EXPECT_EQ(4000, q1);
	EXPECT_EQ(-EDQUOT, res[1]);
	EXPECT_EQ(4000, q2);
	EXPECT_EQ(self->c0.read_bytes + 1000, c1.read_bytes);
	ring_close(&r);
	close(sv[0]);
	close(sv[1]);
}

/* tee(2) from a pipe past a DENY write budget duplicates what was left, then EDQUOT. */
TEST_F(session, tee_is_cut_short_to_the_write_budget_then_denied)
{
	static char buf[5000];
	struct agent_ns_counters c1;
	ssize_t first, second;
	int a[2], b[2], err, qa, qb1, qb2;

	ASSERT_EQ(0, pipe(a));
	ASSERT_EQ(0, pipe(b));
	ASSERT_EQ((ssize_t)sizeof(buf), write(a[1], buf, sizeof(buf)));
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	first = tee(a[0], b[1], sizeof(buf), 0);
	qb1 = queued(b[0]);
	second = tee(a[0], b[1], sizeof(buf), 0);
	err = errno;
	qb2 = queued(b[0]);
	qa = queued(a[0]);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, first);
	EXPECT_EQ(1000, qb1);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(1000, qb2);
	EXPECT_EQ(5000, qa);	/* tee(2) consumes nothing */
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	EXPECT_EQ(self->c0.read_bytes + 1000, c1.read_bytes);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
}

/* vmsplice(2) into a pipe past a DENY write budget moves what was left, then EDQUOT. */
TEST_F(session, vmsplice_is_cut_short_to_the_write_budget_then_denied)
{
	static char buf[5000];
	struct iovec iov = { buf, sizeof(buf) };
	struct agent_ns_counters c1;
	ssize_t first, second;
	int p[2], err, q1, q2;

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	first = vmsplice(p[1], &iov, 1, 0);
	q1 = queued(p[0]);
	second = vmsplice(p[1], &iov, 1, 0);
	err = errno;
	q2 = queued(p[0]);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, first);
	EXPECT_EQ(1000, q1);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(1000, q2);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	close(p[0]);
	close(p[1]);
}

/*
 * An AIO IOCB_CMD_PWRITE past a DENY write budget completes with what was
 * left; the next one is refused by io_submit(2) with EDQUOT and writes
 * nothing.
 */
TEST_F(session, aio_pwrite_is_cut_short_to_the_write_budget_then_denied)
{
	static char buf[5000];
	struct iocb cb = { 0 }, *list[1] = { &cb };
	struct agent_ns_counters c1;
	struct io_event ev = { 0 };
	long submit1, events1, submit2;
	int fd = tmp_file(0), err;
	aio_context_t ctx = 0;
	off_t size1, size2;

	ASSERT_GE(fd, 0);
	if (syscall(__NR_io_setup, 4, &ctx)) {
		ASSERT_NE(0, access("/proc/sys/fs/aio-max-nr", F_OK));
		SKIP(return, "kernel has no AIO: %s", strerror(errno));
	}
	cb.aio_lio_opcode = IOCB_CMD_PWRITE;
	cb.aio_fildes = fd;
	cb.aio_buf = (__u64)(unsigned long)buf;
	cb.aio_nbytes = sizeof(buf);
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	submit1 = syscall(__NR_io_submit, ctx, 1, list);
	events1 = syscall(__NR_io_getevents, ctx, 1, 1, &ev, NULL);
	size1 = fd_size(fd);
	cb.aio_offset = 1000;
	submit2 = syscall(__NR_io_submit, ctx, 1, list);
	err = errno;
	size2 = fd_size(fd);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1, submit1);
	EXPECT_EQ(1, events1);
	EXPECT_EQ(1000, (long long)ev.res);
	EXPECT_EQ(1000, size1);
	EXPECT_EQ(-1, submit2);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(1000, size2);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	syscall(__NR_io_destroy, ctx);
	close(fd);
}

/*
 * A SIGTERM budget cuts the crossing write short too; a session that
 * handles the SIGTERM sees the write return what was left.
 */
TEST_F(session, sigterm_budget_cuts_the_crossing_write_short_too)
{
	int fd = tmp_file(0);

	ASSERT_GE(fd, 0);
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		struct sigaction sa = { .sa_handler = note_signal };
		static char buf[5000];
		struct agent_ns_counters c0;
		double deadline;
		ssize_t n;

		if (sigaction(SIGTERM, &sa, NULL) || prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		if (limit_to(L_WRITE, 1000, AGENT_NS_ACTION_SIGTERM, &c0))
			_exit(2);
		n = write(fd, buf, sizeof(buf));
		deadline = now_s() + 1;
		while (!READ_ONCE(got_signal) && now_s() < deadline)
			sched_yield();
		if (n != 1000)
			_exit(10);
		_exit(READ_ONCE(got_signal) == SIGTERM ? 42 : 11);
	}
	EXPECT_EQ(42, wait_exit(self->child));
	self->child = 0;
	EXPECT_EQ(1000, fd_size(fd));
	close(fd);
}

/* A LOG budget only logs: the crossing write and the next are whole. */
TEST_F(session, log_budget_does_not_cut_writes_short)
{
	static char buf[5000];
	int fd = tmp_file(0);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_LOG, &self->c0));
	EXPECT_EQ(sizeof(buf), write(fd, buf, sizeof(buf)));
	EXPECT_EQ(sizeof(buf), write(fd, buf, sizeof(buf)));
	EXPECT_EQ(2 * sizeof(buf), fd_size(fd));
	close(fd);
}

enum mover { BY_WRITE, BY_COPY_FILE_RANGE, BY_SENDFILE };

/*
 * In a child session with a SIGKILL budget of 1 MiB of writes, moves 4 MiB
 * into an empty /tmp file with one call of @how.  Returns the child's
 * wait_exit() and puts the file's size in *@size.
 */
static int overshoot(struct __test_metadata *_metadata, pid_t *child,
		     enum mover how, off_t *size)
{
	int in = how == BY_WRITE ? -1 : tmp_file(4 * MIB), out = tmp_file(0), ret;
	char *buf = NULL;

	if (how == BY_WRITE) {
		buf = malloc(4 * MIB);
		if (buf)
			memset(buf, 'a', 4 * MIB);
	}
	if (out < 0 || (how == BY_WRITE ? !buf : in < 0))
		return -1;
	*child = fork();
	if (*child < 0)
		return -1;
	if (*child == 0) {
		struct agent_ns_counters c0;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		if (limit_to(L_WRITE, MIB, AGENT_NS_ACTION_SIGKILL, &c0))
			_exit(2);
		switch (how) {
		case BY_WRITE:
			if (write(out, buf, 4 * MIB) < 0)
				_exit(4);
			break;
		case BY_COPY_FILE_RANGE:
			if (copy_file_range(in, NULL, out, NULL, 4 * MIB, 0) < 0)
				_exit(4);
			break;
		case BY_SENDFILE:
			if (sendfile(out, in, NULL, 4 * MIB) < 0)
				_exit(4);
			break;
		}
		_exit(3);
	}
	ret = wait_exit(*child);
	*child = 0;
	*size = fd_size(out);
	TH_LOG("file holds %lld bytes: %lld past the 1 MiB budget",
	       (long long)*size, (long long)*size - MIB);
	free(buf);
	if (in >= 0)
		close(in);
	close(out);
	return ret;
}

/* One 4 MiB write(2) past a 1 MiB SIGKILL budget: killed, at most 1 MiB + 64 KiB written. */
TEST_F(session, sigkill_budget_bounds_a_4mib_write)
{
	off_t size = -1;

	EXPECT_EQ(128 + SIGKILL, overshoot(_metadata, &self->child, BY_WRITE, &size));
	EXPECT_LE(size, MIB + OVERSHOOT_MAX);
}

/* One 4 MiB copy_file_range(2) past a 1 MiB SIGKILL budget: killed, at most 1 MiB + 64 KiB. */
TEST_F(session, sigkill_budget_bounds_a_4mib_copy_file_range)
{
	off_t size = -1;

	EXPECT_EQ(128 + SIGKILL, overshoot(_metadata, &self->child, BY_COPY_FILE_RANGE, &size));
	EXPECT_LE(size, MIB + OVERSHOOT_MAX);
}

/* One 4 MiB sendfile(2) past a 1 MiB SIGKILL budget: killed, at most 1 MiB + 64 KiB. */
TEST_F(session, sigkill_budget_bounds_a_4mib_sendfile)
{
	off_t size = -1;

	EXPECT_EQ(128 + SIGKILL, overshoot(_metadata, &self->child, BY_SENDFILE, &size));
	EXPECT_LE(size, MIB + OVERSHOOT_MAX);
}

/* The open that would cross max_openat fails with EDQUOT and creates nothing. */
TEST_F(session, open_past_max_openat_fails_and_creates_nothing)
{
	char dir[] = "/tmp/agentns-dXXXXXX", path[3][64];
	struct agent_ns_counters c1;
	struct stat st;
	int fd[3];

	ASSERT_NE(NULL, mkdtemp(dir));
	for (int i = 0; i < 3; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%d", dir, i);
	ASSERT_EQ(0, limit_to(L_OPENAT, 2, AGENT_NS_ACTION_DENY, &self->c0));
	for (int i = 0; i < 3; i++)
		fd[i] = open(path[i], O_CREAT | O_WRONLY, 0600);
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_GE(fd[0], 0);
	EXPECT_GE(fd[1], 0);
	EXPECT_EQ(-1, fd[2]);
	/* stat(2) is not an open: allowed. */
	EXPECT_EQ(-1, stat(path[2], &st));
	EXPECT_EQ(ENOENT, errno);
	c1 = counters();
	EXPECT_EQ(self->c0.openat_count + 2, c1.openat_count);
	for (int i = 0; i < 3; i++) {
		if (fd[i] >= 0)
			close(fd[i]);
		unlink(path[i]);
	}
	rmdir(dir);
}

/* The unlink that would cross max_unlink fails with EDQUOT and the file stays. */
TEST_F(session, unlink_past_max_unlink_fails_and_keeps_the_file)
{
	char dir[] = "/tmp/agentns-dXXXXXX", path[2][64];
	struct agent_ns_counters c1;
	struct stat st;

	ASSERT_NE(NULL, mkdtemp(dir));
	for (int i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%d", dir, i);
		close(open(path[i], O_CREAT | O_WRONLY, 0600));
	}
	ASSERT_EQ(0, limit_to(L_UNLINK, 1, AGENT_NS_ACTION_DENY, &self->c0));
	EXPECT_EQ(0, unlink(path[0]));
	EXPECT_EQ(-1, unlink(path[1]));
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_EQ(0, stat(path[1], &st));
	c1 = counters();
	EXPECT_EQ(self->c0.unlink_count + 1, c1.unlink_count);
	ASSERT_EQ(0, lift_budget());
	unlink(path[1]);
	rmdir(dir);
}

/*
 * How many connections listener @l holds (accepting and closing them), or
 * -1 if accept4(2) fails with anything but EAGAIN.
 */
static int connections_queued(int l)
{
	int n = 0, acc;

	while ((acc = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		close(acc);
		n++;
	}
	return errno == EAGAIN ? n : -1;
}

/* The connect that would cross max_connect fails with EDQUOT and queues nothing. */
TEST_F(session, connect_past_max_connect_fails_and_queues_nothing)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct agent_ns_counters c1;
	socklen_t len;
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int a = socket(AF_UNIX, SOCK_STREAM, 0), b = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_GE(l, 0);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	/* An abstract name: nothing to clean up. */
	len = offsetof(struct sockaddr_un, sun_path) + 1 +
	      snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "agentns-d%d", getpid());
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&sun, len));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_EQ(0, limit_to(L_CONNECT, 1, AGENT_NS_ACTION_DENY, &self->c0));
	EXPECT_EQ(0, connect(a, (struct sockaddr *)&sun, len));
	EXPECT_EQ(-1, connect(b, (struct sockaddr *)&sun, len));
	EXPECT_EQ(EDQUOT, errno);
	c1 = counters();
	EXPECT_EQ(self->c0.connect_count + 1, c1.connect_count);
	/* The listener holds the first connection and nothing else. */
	EXPECT_EQ(1, connections_queued(l));
	close(l);
	close(a);
	close(b);
}

/* Brings the guest's loopback interface up: 0 or -errno. */
static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	close(s);
	return ret;
}

/* A TCP listener on 127.0.0.1 (address in *@sin), non-blocking, or -1. */
static int tcp_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int l;

	if (loopback_up())
		return -1;
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)sin, sizeof(*sin)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)sin, &len)) {
		if (l >= 0)
			close(l);
		return -1;
	}
	return l;
}

/* A TCP connection over loopback: *@a connected to *@c, 0 or -1. */
static int tcp_pair(int l, const struct sockaddr_in *sin, int *a, int *c)
{
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (*a < 0 || connect(*a, (const struct sockaddr *)sin, sizeof(*sin)))
		return -1;
	usleep(50 * 1000);
	*c = accept4(l, NULL, NULL, 0);
	return *c < 0 ? -1 : 0;
}

/*
 * sendto(2) with MSG_FASTOPEN connects an unconnected TCP socket: it
 * counts as a connect, and past a deny max_connect it fails with EDQUOT
 * before any SYN is sent: the listener holds the first connection only.
 */
TEST_F(session, tcp_fastopen_past_max_connect_fails_and_connects_nothing)
{
	struct agent_ns_counters c1;
	struct sockaddr_in sin;
	int l = tcp_listener(&sin), a, b, err;
	ssize_t first, second;

	ASSERT_GE(l, 0);
	a = socket(AF_INET, SOCK_STREAM, 0);
	b = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_EQ(0, limit_to(L_CONNECT, 1, AGENT_NS_ACTION_DENY, &self->c0));
	first = sendto(a, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&sin, sizeof(sin));
	err = errno;
	if (first < 0 && err == EOPNOTSUPP) {
		ASSERT_EQ(0, lift_budget());
		SKIP(return, "TCP Fast Open is off (net.ipv4.tcp_fastopen)");
	}
	second = sendto(b, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&sin, sizeof(sin));
	err = errno;
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1, first);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, err);
	EXPECT_EQ(self->c0.connect_count + 1, c1.connect_count);
	usleep(100 * 1000);
	EXPECT_EQ(1, connections_queued(l));
	close(l);
	close(a);
	close(b);
}

/* getsockopt(TCP_ZEROCOPY_RECEIVE) into a copy buffer only: 0 or -errno. */
static int zerocopy_copy(int fd, char *buf, struct tcp_zerocopy_receive *zc)
{
	socklen_t len = sizeof(*zc);

	memset(zc, 0, sizeof(*zc));
	zc->copybuf_address = (unsigned long)buf;
	zc->copybuf_len = 1 << 30;
	return getsockopt(fd, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, zc, &len) ? -errno : 0;
}

/*
 * getsockopt(TCP_ZEROCOPY_RECEIVE) receives as recv(2) does: what it
 * copies counts as read_bytes, a DENY read budget cuts its copy buffer
 * to what is left (too small for the queue, it copies nothing and says
 * how much to skip), and with nothing left it fails with EDQUOT.
 */
TEST_F(session, tcp_zerocopy_receive_counts_and_is_cut_to_the_read_budget)
{
	static char out[800], buf[4096];
	struct tcp_zerocopy_receive zc[3];
	struct agent_ns_counters c1, c2;
	struct sockaddr_in sin;
	int l = tcp_listener(&sin), a, c, ret[3];
	ssize_t got;

	ASSERT_GE(l, 0);
	ASSERT_EQ(0, tcp_pair(l, &sin, &a, &c));
	ASSERT_EQ(0, limit_to(L_READ, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	ASSERT_EQ(800, send(a, out, 800, 0));
	usleep(50 * 1000);
	ret[0] = zerocopy_copy(c, buf, &zc[0]);
	c1 = counters();
	ASSERT_EQ(400, send(a, out, 400, 0));
	usleep(50 * 1000);
	ret[1] = zerocopy_copy(c, buf, &zc[1]);
	got = recv(c, buf, 400, 0);
	ret[2] = zerocopy_copy(c, buf, &zc[2]);
	c2 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(0, ret[0]);
	EXPECT_EQ(800, zc[0].copybuf_len);
	EXPECT_EQ(self->c0.read_bytes + 800, c1.read_bytes);
	EXPECT_EQ(0, ret[1]);
	EXPECT_EQ(0, zc[1].copybuf_len);
	EXPECT_EQ(400, zc[1].recv_skip_hint);
	EXPECT_EQ(200, got);
	EXPECT_EQ(-EDQUOT, ret[2]);
	EXPECT_EQ(self->c0.read_bytes + 1000, c2.read_bytes);
	close(c);
	close(a);
	close(l);
}

/*
 * One SEND_ZC of 5000 bytes, with SQE @flags: its result (res of the CQE
 * that is not the notification, which follows when that one has
 * IORING_CQE_F_MORE).
 */
static int send_zc(struct agentns_ring *r, int fd, const char *buf, __u8 flags)
{
	struct io_uring_sqe *sqe = ring_sqe(r, IORING_OP_SEND_ZC, fd, 0);
	bool have_res = false, more = false, notif = false;
	struct io_uring_cqe cqe;
	int res = 0;

	sqe->flags = flags;
	sqe->addr = (unsigned long)buf;
	sqe->len = 5000;
	if (ring_enter(r, ring_flush(r), 1) < 0)
		return -1000;
	for (int i = 0; i < 100 && !(have_res && (!more || notif)); i++) {
		while (ring_reap(r, &cqe)) {
			if (cqe.flags & IORING_CQE_F_NOTIF) {
				notif = true;
			} else {
				have_res = true;
				res = cqe.res;
				more = cqe.flags & IORING_CQE_F_MORE;
			}
		}
		if (!(have_res && (!more || notif)))
			ring_enter(r, 0, 1);
	}
	return have_res ? res : -1001;
}

/*
 * IORING_OP_SEND_ZC past a DENY write budget, issued inline or (@flags
 * IOSQE_ASYNC) by an io-wq worker: cut to what was left, then -EDQUOT,
 * and the peer has received exactly what was left.
 */
static void send_zc_is_cut_then_denied(struct __test_metadata *_metadata,
				       struct agent_ns_counters *c0, __u8 flags)
{
	static char buf[5000];
	struct agent_ns_counters c1;
	struct sockaddr_in sin;
	struct agentns_ring r;
	int l = tcp_listener(&sin), a, c, first, second, q1, q2;

	ASSERT_GE(l, 0);
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, tcp_pair(l, &sin, &a, &c));
	ASSERT_EQ(0, ring_setup(&r, 8));
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, c0));
	first = send_zc(&r, a, buf, flags);
	usleep(100 * 1000);
	q1 = queued(c);
	second = send_zc(&r, a, buf, flags);
	usleep(100 * 1000);
	q2 = queued(c);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, first);
	EXPECT_EQ(1000, q1);
	EXPECT_EQ(-EDQUOT, second);
	EXPECT_EQ(1000, q2);
	EXPECT_EQ(c0->write_bytes + 1000, c1.write_bytes);
	ring_close(&r);
	close(c);
	close(a);
	close(l);
}

TEST_F(session, io_uring_send_zc_is_cut_short_to_the_write_budget_then_denied)
{
	send_zc_is_cut_then_denied(_metadata, &self->c0, 0);
}

TEST_F(session, io_uring_send_zc_in_an_io_wq_worker_is_cut_short_then_denied)
{
	send_zc_is_cut_then_denied(_metadata, &self->c0, IOSQE_ASYNC);
}

/*
 * IORING_OP_SENDMSG with MSG_FASTOPEN connects an unconnected TCP socket
 * as sendto(2) does, here through io-wq (IOSQE_ASYNC): it counts as a
 * connect, and past a deny max_connect it fails with -EDQUOT before any
 * SYN is sent: the listener holds the first connection only.  io_uring
 * issues a socket send without blocking, so the first send may end with
 * the connection in progress (-EINPROGRESS) instead of sending its byte.
 */
TEST_F(session, io_uring_sendmsg_fastopen_past_max_connect_fails_and_connects_nothing)
{
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	int l, s[2] = { -1, -1 }, res[2] = { 1, 1 };
	struct agent_ns_counters c1;
	struct io_uring_sqe *sqe;
	struct sockaddr_in sin;
	struct agentns_ring r;
	struct msghdr msg = {
		.msg_name = &sin,
		.msg_namelen = sizeof(sin),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};

	l = tcp_listener(&sin);
	ASSERT_GE(l, 0);
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 8));
	for (int i = 0; i < 2; i++) {
		s[i] = socket(AF_INET, SOCK_STREAM, 0);
		ASSERT_GE(s[i], 0);
	}
	ASSERT_EQ(0, limit_to(L_CONNECT, 1, AGENT_NS_ACTION_DENY, &self->c0));
	for (int i = 0; i < 2; i++) {
		sqe = ring_sqe(&r, IORING_OP_SENDMSG, s[i], i);
		sqe->addr = (unsigned long)&msg;
		sqe->msg_flags = MSG_FASTOPEN;
		sqe->flags = IOSQE_ASYNC;
		ASSERT_EQ(0, ring_run(&r, res));
	}
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	if (res[0] == -EOPNOTSUPP)
		SKIP(return, "TCP Fast Open is off (net.ipv4.tcp_fastopen)");
	EXPECT_TRUE(res[0] == 1 || res[0] == -EINPROGRESS) {
		TH_LOG("first send: %d", res[0]);
	}
	EXPECT_EQ(-EDQUOT, res[1]);
	EXPECT_EQ(self->c0.connect_count + 1, c1.connect_count);
	usleep(100 * 1000);
	EXPECT_EQ(1, connections_queued(l));
	ring_close(&r);
	close(s[0]);
	close(s[1]);
	close(l);
}

/*
 * IORING_OP_SEND from a provided buffer (IOSQE_BUFFER_SELECT) past a DENY
 * write budget: the selected buffer is cut to what was left, then the
 * next send fails with -EDQUOT.
 */
TEST_F(session, io_uring_send_from_a_provided_buffer_is_cut_short_then_denied)
{
	static char bufs[2][5000];
	struct agent_ns_counters c1;
	struct io_uring_sqe *sqe;
	struct agentns_ring r;
	int sv[2], res[2] = { 1, 1 }, q1, q2;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 8));
	sqe = ring_sqe(&r, IORING_OP_PROVIDE_BUFFERS, 2, 0);
	sqe->addr = (unsigned long)bufs;
	sqe->len = sizeof(bufs[0]);
	sqe->buf_group = 7;
	ASSERT_EQ(0, ring_run(&r, res));
	ASSERT_EQ(0, res[0]);
	ASSERT_EQ(0, limit_to(L_WRITE, 1000, AGENT_NS_ACTION_DENY, &self->c0));
	for (int i = 0; i < 2; i++) {
		sqe = ring_sqe(&r, IORING_OP_SEND, sv[0], i);
		sqe->flags = IOSQE_BUFFER_SELECT;
		sqe->buf_group = 7;
		ASSERT_EQ(0, ring_run(&r, res));
		if (i == 0)
			q1 = queued(sv[1]);
	}
	q2 = queued(sv[1]);
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(1000, res[0]);
	EXPECT_EQ(1000, q1);
	EXPECT_EQ(-EDQUOT, res[1]);
	EXPECT_EQ(1000, q2);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	ring_close(&r);
	close(sv[0]);
	close(sv[1]);
}

/* One IOPOLL read of @len bytes at @off into @buf: its res. */
static int iopoll_read(struct agentns_ring *r, int fd, char *buf, int len, off_t off)
{
	struct io_uring_sqe *sqe = ring_sqe(r, IORING_OP_READ, fd, 0);
	int res[1] = { -1000 };

	sqe->addr = (unsigned long)buf;
	sqe->len = len;
	sqe->off = off;
	return ring_run(r, res) ? -1001 : res[0];
}

/*
 * An IOPOLL ring's O_DIRECT reads of a block device complete when they are
 * reaped, not at their issue: they count then, exactly, and a DENY read
 * budget cuts them at issue and then refuses them.  Needs a disk at
 * /dev/vda with a poll queue (make check gives its =y guest a scratch one
 * and boots it with virtio_blk.poll_queues=1).
 */
TEST_F(session, io_uring_iopoll_reads_count_and_are_cut_to_the_read_budget)
{
	struct agent_ns_counters c0, c1, c2;
	struct agentns_ring r;
	int fd, res[3];
	char *buf;

	fd = open("/dev/vda", O_RDONLY | O_DIRECT);
	if (fd < 0)
		SKIP(return, "no disk at /dev/vda: %s", strerror(errno));
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, ring_setup_flags(&r, 8, IORING_SETUP_IOPOLL));
	c0 = counters();
	res[0] = iopoll_read(&r, fd, buf, 4096, 0);
	c1 = counters();
	if (res[0] == -EOPNOTSUPP) {
		ring_close(&r);
		SKIP(return, "/dev/vda has no poll queue (virtio_blk.poll_queues)");
	}
	ASSERT_EQ(0, limit_to(L_READ, 4096, AGENT_NS_ACTION_DENY, &self->c0));
	res[1] = iopoll_read(&r, fd, buf, 8192, 4096);
	res[2] = iopoll_read(&r, fd, buf, 4096, 8192);
	c2 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_EQ(4096, res[0]);
	EXPECT_EQ(c0.read_bytes + 4096, c1.read_bytes);
	EXPECT_EQ(4096, res[1]);
	EXPECT_EQ(-EDQUOT, res[2]);
	EXPECT_EQ(self->c0.read_bytes + 4096, c2.read_bytes);
	ring_close(&r);
	munmap(buf, 8192);
	close(fd);
}

/* The fork that would cross max_fork fails with EDQUOT and leaves no child. */
TEST_F(session, fork_past_max_fork_fails_and_leaves_no_child)
{
	struct agent_ns_counters c1;
	pid_t first, second;

	ASSERT_EQ(0, limit_to(L_FORK, 1, AGENT_NS_ACTION_DENY, &self->c0));
	first = fork();
	if (first == 0)
		_exit(0);
	ASSERT_GT(first, 0);
	ASSERT_EQ(first, waitpid(first, NULL, 0));
	second = fork();
	if (second == 0)
		_exit(0);
	EXPECT_EQ(-1, second);
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_EQ(-1, waitpid(-1, NULL, WNOHANG));
	EXPECT_EQ(ECHILD, errno);
	c1 = counters();
	EXPECT_EQ(self->c0.fork_count + 1, c1.fork_count);
}

static void *nop_thread(void *arg)
{
	return arg;
}

/* pthread_create() past max_fork fails with EDQUOT. */
TEST_F(session, pthread_create_past_max_fork_fails)
{
	struct agent_ns_counters c1;
	pthread_t t;

	ASSERT_EQ(0, limit_to(L_FORK, 1, AGENT_NS_ACTION_DENY, &self->c0));
	ASSERT_EQ(0, pthread_create(&t, NULL, nop_thread, NULL));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(EDQUOT, pthread_create(&t, NULL, nop_thread, NULL));
	c1 = counters();
	EXPECT_EQ(self->c0.fork_count + 1, c1.fork_count);
}

/*
 * Run by the max_exec test's child in the image its one allowed execve()
 * started: a second execve() crosses max_exec, must fail with EDQUOT and
 * leave this image running, which exits 42.  An image it did start exits
 * 43.
 */
static int exec_again(void)
{
	static char * const argv[] = { "deny_test", EXEC_NEVER, NULL };
	struct agent_ns_counters c0 = counters(), c1;

	execve("/proc/self/exe", argv, environ);
	if (errno != EDQUOT)
		return 10;
	c1 = counters();
	return c1.exec_count == c0.exec_count ? 42 : 11;
}

/* The execve() that would cross max_exec fails with EDQUOT; the caller runs on. */
TEST_F(session, execve_past_max_exec_fails_and_the_caller_continues)
{
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		static char * const argv[] = { "deny_test", EXEC_AGAIN, NULL };
		struct agent_ns_counters c0;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		if (limit_to(L_EXEC, 1, AGENT_NS_ACTION_DENY, &c0))
			_exit(2);
		execve("/proc/self/exe", argv, environ);
		_exit(3);
	}
	EXPECT_EQ(42, wait_exit(self->child));
	self->child = 0;
}

/* An IORING_OP_OPENAT past max_openat completes with -EDQUOT and creates nothing. */
TEST_F(session, io_uring_openat_past_max_openat_is_denied)
{
	char dir[] = "/tmp/agentns-dXXXXXX", path[2][64];
	struct agent_ns_counters c1;
	struct io_uring_sqe *sqe;
	int res[2] = { -1, 1 }, run[2];
	struct stat st;
	struct agentns_ring r;

	ASSERT_NE(NULL, mkdtemp(dir));
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 8));
	for (int i = 0; i < 2; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%d", dir, i);
	ASSERT_EQ(0, limit_to(L_OPENAT, 1, AGENT_NS_ACTION_DENY, &self->c0));
	/* One at a time: opens with O_CREAT run in io-wq, in any order. */
	for (int i = 0; i < 2; i++) {
		sqe = ring_sqe(&r, IORING_OP_OPENAT, AT_FDCWD, i);
		sqe->addr = (unsigned long)path[i];
		sqe->open_flags = O_CREAT | O_WRONLY;
		sqe->len = 0600;
		run[i] = ring_run(&r, res);
	}
	c1 = counters();
	EXPECT_EQ(0, run[0]);
	EXPECT_EQ(0, run[1]);
	EXPECT_GE(res[0], 0);
	EXPECT_EQ(-EDQUOT, res[1]);
	EXPECT_EQ(-1, stat(path[1], &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(self->c0.openat_count + 1, c1.openat_count);
	if (res[0] >= 0)
		close(res[0]);
	unlink(path[0]);
	unlink(path[1]);
	rmdir(dir);
	ring_close(&r);
}

/* An IORING_OP_UNLINKAT past max_unlink completes with -EDQUOT; the file stays. */
TEST_F(session, io_uring_unlinkat_past_max_unlink_is_denied)
{
	char dir[] = "/tmp/agentns-dXXXXXX", path[2][64];
	struct agent_ns_counters c1;
	struct io_uring_sqe *sqe;
	int res[2] = { 1, 1 }, run[2];
	struct stat st;
	struct agentns_ring r;

	ASSERT_NE(NULL, mkdtemp(dir));
	for (int i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%d", dir, i);
		close(open(path[i], O_CREAT | O_WRONLY, 0600));
	}
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 8));
	ASSERT_EQ(0, limit_to(L_UNLINK, 1, AGENT_NS_ACTION_DENY, &self->c0));
	for (int i = 0; i < 2; i++) {
		sqe = ring_sqe(&r, IORING_OP_UNLINKAT, AT_FDCWD, i);
		sqe->addr = (unsigned long)path[i];
		run[i] = ring_run(&r, res);
	}
	c1 = counters();
	EXPECT_EQ(0, run[0]);
	EXPECT_EQ(0, run[1]);
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(-EDQUOT, res[1]);
	EXPECT_EQ(0, stat(path[1], &st));
	EXPECT_EQ(self->c0.unlink_count + 1, c1.unlink_count);
	ASSERT_EQ(0, lift_budget());
	unlink(path[1]);
	rmdir(dir);
	ring_close(&r);
}

/*
 * Waits up to ten seconds for a child to reach @stage in the shared page,
 * without system calls on the child's side.
 */
static bool reached(struct shared *sh, int stage)
{
	double deadline = now_s() + 10;

	while (READ_ONCE(sh->stage) < stage && now_s() < deadline)
		usleep(1000);
	return READ_ONCE(sh->stage) >= stage;
}

/*
 * Under DENY, once max_syscalls is reached every system call fails with
 * EDQUOT without running: getppid() fails, and a write(2) to a pipe fails
 * and leaves it empty.  exit_group and rt_sigreturn still work: a handler
 * of the SIGUSR1 the test sends from outside the session returns, and the
 * child exits with its verdict (42 when every check held).
 */
TEST_F(session, syscalls_past_max_syscalls_fail_without_running)
{
	unsigned long long t = 0;
	int ready[2], data[2];
	char c;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(data));
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		struct sigaction sa = { .sa_handler = note_signal };
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_DENY };

		close(ready[0]);
		close(data[0]);
		if (sigaction(SIGUSR1, &sa, NULL) || prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		t = counters().total_syscalls;				/* call t */
		b.max_syscalls = t + 2;
		if (set_budget(&b))					/* t + 1 */
			_exit(2);
		if (write(ready[1], &t, sizeof(t)) != sizeof(t))	/* t + 2: the last */
			_exit(3);
		if (syscall(SYS_getppid) != -1 || errno != EDQUOT)
			_exit(4);
		if (write(data[1], "x", 1) != -1 || errno != EDQUOT)
			_exit(5);
		WRITE_ONCE(self->sh->stage, 1);
		while (!READ_ONCE(got_signal))
			;
		_exit(READ_ONCE(got_signal) == SIGUSR1 ? 42 : 6);
	}
	close(ready[1]);
	close(data[1]);
	ASSERT_EQ(sizeof(t), read(ready[0], &t, sizeof(t)));
	EXPECT_TRUE(reached(self->sh, 1));
	/*
	 * Refused calls count in syscalls (they were entered): t + 2 run,
	 * then the refused getppid and write.
	 */
	EXPECT_EQ(t + 4, proc_value(self->child, "syscalls"));
	ASSERT_EQ(0, kill(self->child, SIGUSR1));
	EXPECT_EQ(42, wait_exit(self->child));
	self->child = 0;
	/* EOF: the denied write put nothing in the pipe. */
	EXPECT_EQ(0, read(data[0], &c, 1));
}

/*
 * Under DENY, an SQE past max_syscalls completes with -EDQUOT and is not
 * executed: of two one-byte WRITEs to a pipe after the io_uring_enter()
 * that reaches the limit's last call but one, only the first writes.
 */
TEST_F(session, io_uring_sqes_past_max_syscalls_are_denied_unexecuted)
{
	char got[2];
	int data[2];

	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, pipe(data));
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		struct sigaction sa = { .sa_handler = note_signal };
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_DENY };
		struct io_uring_sqe *sqe;
		int res[2] = { 1, 1 };
		struct agentns_ring r;

		close(data[0]);
		if (sigaction(SIGUSR1, &sa, NULL) || prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		if (ring_setup(&r, 8))
			_exit(2);
		for (int i = 0; i < 2; i++) {
			sqe = ring_sqe(&r, IORING_OP_WRITE, data[1], i);
			sqe->addr = (unsigned long)(i ? "b" : "a");
			sqe->len = 1;
		}
		WRITE_ONCE(self->sh->t, counters().total_syscalls);	/* call t */
		b.max_syscalls = READ_ONCE(self->sh->t) + 3;
		if (set_budget(&b))					/* t + 1 */
			_exit(3);
		/* io_uring_enter() is t + 2, the first SQE t + 3: the last. */
		WRITE_ONCE(self->sh->run, ring_run(&r, res));
		WRITE_ONCE(self->sh->res[0], res[0]);
		WRITE_ONCE(self->sh->res[1], res[1]);
		WRITE_ONCE(self->sh->stage, 1);
		while (!READ_ONCE(got_signal))
			;
		_exit(42);
	}
	close(data[1]);
	EXPECT_TRUE(reached(self->sh, 1));
	/* Whether a refused SQE counts is not part of the contract: logged. */
	TH_LOG("syscalls: %llu, the limit %llu",
	       proc_value(self->child, "syscalls"), READ_ONCE(self->sh->t) + 3);
	ASSERT_EQ(0, kill(self->child, SIGUSR1));
	EXPECT_EQ(42, wait_exit(self->child));
	self->child = 0;
	EXPECT_EQ(0, READ_ONCE(self->sh->run));
	EXPECT_EQ(1, READ_ONCE(self->sh->res[0]));
	EXPECT_EQ(-EDQUOT, READ_ONCE(self->sh->res[1]));
	ASSERT_EQ(1, read(data[0], got, 2));
	EXPECT_EQ('a', got[0]);
	EXPECT_EQ(0, read(data[0], got, 2));
}

/*
 * Under SIGKILL too, a batch cannot run past max_syscalls: each entry is
 * charged on its own.  Of three one-byte WRITEs to a pipe after the
 * io_uring_enter() that is the limit's last call but one, the first is the
 * last the limit allows, the second crosses it (it may still run: its
 * task dies on the way back to user space), and the third does not run.
 */
TEST_F(session, io_uring_sqes_past_a_sigkill_max_syscalls_do_not_run)
{
	char got[4];
	int data[2], status;
	ssize_t n;

	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, pipe(data));
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };
		struct io_uring_sqe *sqe;
		struct agentns_ring r;
		int res[3];

		close(data[0]);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		if (ring_setup(&r, 8))
			_exit(2);
		for (int i = 0; i < 3; i++) {
			sqe = ring_sqe(&r, IORING_OP_WRITE, data[1], i);
			sqe->addr = (unsigned long)&"abc"[i];
			sqe->len = 1;
		}
		b.max_syscalls = counters().total_syscalls + 3;	/* call t */
		if (set_budget(&b))					/* t + 1 */
			_exit(3);
		/* io_uring_enter() is t + 2, the first SQE t + 3: the last. */
		ring_run(&r, res);
		_exit(42);
	}
	close(data[1]);
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = 0;
	ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("exit status %d", WEXITSTATUS(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	n = read(data[0], got, sizeof(got));
	ASSERT_GE(n, 1);
	EXPECT_LE(n, 2);
	EXPECT_EQ('a', got[0]);
	if (n == 2)
		EXPECT_EQ('b', got[1]);
	close(data[0]);
}

/*
 * Starts the test's child in a fresh session with a grandchild that spins
 * in user space (never enters the kernel again), and runs @body in the
 * child once the grandchild spins.  The test is the child subreaper.
 */
static void child_with_spinner(struct __test_metadata *_metadata,
			       struct _test_data_session *self,
			       void (*body)(struct shared *sh, int ready))
{
	int sync[2];
	char c;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	ASSERT_EQ(0, pipe(sync));
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		pid_t g;

		close(sync[0]);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		g = fork();
		if (g < 0)
			_exit(2);
		if (g == 0) {
			WRITE_ONCE(self->sh->stage, 1);
			for (;;)
				;
		}
		WRITE_ONCE(self->sh->grandchild, g);
		while (READ_ONCE(self->sh->stage) < 1)
			sched_yield();
		body(self->sh, sync[1]);
		_exit(3);
	}
	close(sync[1]);
	/* The child writes one byte just before its crossing call. */
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
}

/*
 * Waits up to a second for the child and its spinning grandchild, and
 * asserts that @sig ended both.
 */
static void both_end_by(struct __test_metadata *_metadata,
			struct _test_data_session *self, int sig)
{
	pid_t g = READ_ONCE(self->sh->grandchild);
	double start = now_s(), took, gtook;
	int status, gstatus;

	status = wait_until(self->child, start + 1);
	took = now_s() - start;
	if (status >= 0)
		self->child = 0;
	gstatus = wait_until(g, start + 1);
	gtook = now_s() - start;
	if (gstatus != -1)
		WRITE_ONCE(self->sh->grandchild, 0);
	TH_LOG("child %s after %.1f ms, grandchild %s after %.1f ms",
	       status >= 0 ? "died" : "still alive", took * 1e3,
	       gstatus != -1 ? "gone" : "still alive", gtook * 1e3);
	ASSERT_GE(status, 0);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(sig, WTERMSIG(status));
	ASSERT_NE(-1, gstatus);
	if (gstatus >= 0) {
		EXPECT_TRUE(WIFSIGNALED(gstatus));
		EXPECT_EQ(sig, WTERMSIG(gstatus));
	}
}

/*
 * A SIGTERM budget acts even when the crossing call then blocks: pause(),
 * the crossing call, is interrupted and the child (no handler) dies of
 * SIGTERM within a second of its last call within the budget.
 */
TEST_F(session, sigterm_budget_interrupts_a_crossing_pause)
{
	double start, took;
	int sync[2], status;
	char c;

	ASSERT_EQ(0, pipe(sync));
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGTERM };

		close(sync[0]);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		b.max_syscalls = counters().total_syscalls + 3;	/* call t */
		if (set_budget(&b))				/* t + 1 */
			_exit(2);
		if (write(sync[1], "r", 1) != 1)		/* t + 2 */
			_exit(3);
		syscall(SYS_getppid);				/* t + 3 */
		pause();					/* t + 4: crosses */
		_exit(4);
	}
	close(sync[1]);
	ASSERT_EQ(1, read(sync[0], &c, 1));
	start = now_s();
	status = wait_until(self->child, start + 1);
	took = now_s() - start;
	if (status == -1)
		TH_LOG("child still alive %.0f ms after its last call within the budget",
		       took * 1e3);
	else
		TH_LOG("child died %.1f ms after its last call within the budget", took * 1e3);
	ASSERT_GE(status, 0);
	self->child = 0;
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGTERM, WTERMSIG(status));
}

static void wait_for_the_spinner(struct shared *sh, int ready)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };

	b.max_syscalls = counters().total_syscalls + 3;	/* call t */
	if (set_budget(&b))				/* t + 1 */
		_exit(4);
	if (write(ready, "r", 1) != 1)			/* t + 2 */
		_exit(5);
	syscall(SYS_getppid);				/* t + 3 */
	waitpid(READ_ONCE(sh->grandchild), NULL, 0);	/* t + 4: crosses */
	_exit(6);
}

/*
 * A SIGKILL budget acts on the whole session even when the crossing call
 * blocks: the child crosses with wait4() on its grandchild, which spins in
 * user space without system calls; both die within a second.
 */
TEST_F(session, sigkill_budget_kills_a_spinner_and_a_child_blocked_in_wait4)
{
	child_with_spinner(_metadata, self, wait_for_the_spinner);
	both_end_by(_metadata, self, SIGKILL);
}

/* A pipe filled to its capacity, its write end blocking again: the capacity, or -1. */
static int full_pipe(int p[2])
{
	static char chunk[4096];
	int n = 0;
	ssize_t w;

	if (pipe2(p, O_NONBLOCK))
		return -1;
	while ((w = write(p[1], chunk, sizeof(chunk))) > 0)
		n += w;
	if (errno != EAGAIN || fcntl(p[1], F_SETFL, 0))
		return -1;
	return n;
}

static int blocked_pipe[2];

static void write_to_the_full_pipe(struct shared *sh, int ready)
{
	static char buf[4096];
	struct agent_ns_counters c0;

	if (limit_to(L_WRITE, 10, AGENT_NS_ACTION_SIGKILL, &c0))
		_exit(4);
	if (write(ready, "r", 1) != 1)
		_exit(5);
	write(blocked_pipe[1], buf, sizeof(buf));	/* crosses, then waits for room */
	_exit(6);
}

/*
 * A write budget crossed by a write(2) that then blocks (on a full pipe
 * nobody reads) still acts: SIGKILL ends the writer in its wait and the
 * session's spinner, and not a byte more reaches the pipe.
 */
TEST_F(session, sigkill_budget_ends_a_crossing_write_that_blocks)
{
	int cap = full_pipe(blocked_pipe);

	ASSERT_GT(cap, 0);
	child_with_spinner(_metadata, self, write_to_the_full_pipe);
	both_end_by(_metadata, self, SIGKILL);
	EXPECT_EQ(cap, queued(blocked_pipe[0]));
	close(blocked_pipe[0]);
	close(blocked_pipe[1]);
}

static void read_from_the_empty_pipe(struct shared *sh, int ready)
{
	static char buf[4096];
	struct agent_ns_counters c0;

	if (limit_to(L_READ, 10, AGENT_NS_ACTION_SIGTERM, &c0))
		_exit(4);
	if (write(ready, "r", 1) != 1)
		_exit(5);
	read(blocked_pipe[0], buf, sizeof(buf));	/* crosses, then waits for data */
	_exit(6);
}

/*
 * A read budget crossed by a read(2) that then blocks (on an empty pipe)
 * still acts: SIGTERM (no handler) ends the reader in its wait and the
 * session's spinner.
 */
TEST_F(session, sigterm_budget_ends_a_crossing_read_that_blocks)
{
	ASSERT_EQ(0, pipe(blocked_pipe));
	child_with_spinner(_metadata, self, read_from_the_empty_pipe);
	both_end_by(_metadata, self, SIGTERM);
	close(blocked_pipe[0]);
	close(blocked_pipe[1]);
}

static void uring_worker_crosses(struct shared *sh, int ready)
{
	static char buf[4096];
	struct agent_ns_counters c0;
	struct io_uring_sqe *sqe;
	struct agentns_ring r;
	int fd = open("/dev/null", O_WRONLY);

	if (fd < 0 || ring_setup(&r, 4))
		_exit(4);
	if (limit_to(L_WRITE, 10, AGENT_NS_ACTION_SIGKILL, &c0))
		_exit(5);
	sqe = ring_sqe(&r, IORING_OP_WRITE, fd, 0);
	sqe->addr = (unsigned long)buf;
	sqe->len = sizeof(buf);
	sqe->flags = IOSQE_ASYNC;	/* issued by an io-wq worker, not inline */
	ring_flush(&r);
	if (write(ready, "r", 1) != 1)
		_exit(6);
	/* Waits for two completions; the second never comes. */
	ring_enter(&r, 1, 2);
	ring_enter(&r, 0, 2);
	_exit(7);
}

/*
 * A write budget crossed by an io_uring WRITE that an io-wq worker issues,
 * while the submitter waits in io_uring_enter(2) for completions: SIGKILL
 * ends the submitter in its wait and the session's spinner.
 */
TEST_F(session, sigkill_budget_crossed_in_an_io_wq_worker_ends_the_waiting_submitter)
{
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	child_with_spinner(_metadata, self, uring_worker_crosses);
	both_end_by(_metadata, self, SIGKILL);
}

/*
 * A DENY budget the session's root creator set binds a member running as
 * another user just the same: its open past max_openat fails with EDQUOT
 * and creates nothing, its write past max_write_bytes is cut short.
 */
TEST_F(session, deny_budget_binds_a_member_of_another_uid)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_DENY };
	char dir[] = "/tmp/agentns-uXXXXXX", path[64];
	struct agent_ns_counters c1;
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root to run a member as another user");
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, chmod(dir, 0777));
	snprintf(path, sizeof(path), "%s/second", dir);
	fd = tmp_file(0);
	ASSERT_GE(fd, 0);
	self->c0 = counters();
	b.max_openat = self->c0.openat_count + 1;
	b.max_write_bytes = self->c0.write_bytes + 1000;
	ASSERT_EQ(0, set_budget(&b));
	self->child = fork();
	ASSERT_GE(self->child, 0);
	if (self->child == 0) {
		static char buf[5000];
		int first, second;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		first = open("/dev/null", O_RDONLY);	/* the last open the budget allows */
		second = open(path, O_WRONLY | O_CREAT, 0600);
		if (first < 0)
			_exit(2);
		if (second != -1 || errno != EDQUOT)
			_exit(3);
		if (write(fd, buf, sizeof(buf)) != 1000)
			_exit(4);
		if (write(fd, buf, sizeof(buf)) != -1 || errno != EDQUOT)
			_exit(5);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(self->child));
	self->child = 0;
	c1 = counters();
	ASSERT_EQ(0, lift_budget());
	EXPECT_NE(0, access(path, F_OK));	/* the refused open created nothing */
	EXPECT_EQ(1000, fd_size(fd));
	EXPECT_EQ(self->c0.openat_count + 1, c1.openat_count);
	EXPECT_EQ(self->c0.write_bytes + 1000, c1.write_bytes);
	close(fd);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	struct agent_ns_budget b;

	if (argc == 2 && !strcmp(argv[1], EXEC_AGAIN))
		return exec_again();
	if (argc == 2 && !strcmp(argv[1], EXEC_NEVER))
		return 43;
	if (prctl(PR_GET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespace budgets\n");
	}
	return test_harness_run(argc, argv);
}
