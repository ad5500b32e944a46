// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace mediation: read_bytes and write_bytes count every byte a
 * session's tasks move, whatever the interface (sockets, sendfile(2),
 * splice(2), tee(2), vmsplice(2), copy_file_range(2), AIO, io_uring, shared
 * file mappings), and io_uring's SQEs count as the system calls, opens,
 * connects and removals they stand for.  Every test asserts the exact
 * delta: the bytes the calls returned, no more, no less.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/agent_namespaces.h>
#include <linux/aio_abi.h>

#include "../kselftest_harness.h"
#define AGENTNS_IO_URING
#include "agentns_util.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC		0x01021994
#endif

#define MIB			(1024 * 1024)
#define CHUNK			(64 * 1024)
#define MSG			4096

/* A single store the compiler may neither tear, fuse nor drop. */
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#endif

static int get_counters(struct agent_ns_counters *c)
{
	return prctl(PR_GET_AGENT_COUNTERS, c, sizeof(*c), 0, 0);
}

/* A page-aligned buffer of @size bytes, filled with 'a', or NULL. */
static char *buffer(size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 'a', size);
	return p;
}

/* An unlinked /tmp file holding @size bytes, its offset at 0, or -1. */
static int tmp_file(size_t size)
{
	char path[] = "/tmp/agentns-mXXXXXX";
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

/* A pipe that holds 1 MiB: 0, or -1. */
static int big_pipe(int p[2])
{
	if (pipe(p))
		return -1;
	if (fcntl(p[1], F_SETPIPE_SZ, MIB) < MIB) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	return 0;
}

/* Every test runs in its own fresh session. */
FIXTURE(session) {
	struct agent_ns_counters c0;
};

FIXTURE_SETUP(session)
{
	if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0)) {
		ASSERT_EQ(EINVAL, errno);
		SKIP(return, "kernel has no agent namespaces");
	}
}

FIXTURE_TEARDOWN(session)
{
}

/* send, sendto and sendmsg count write_bytes; recv, recvfrom and recvmsg read_bytes. */
TEST_F(session, send_family_counts_write_bytes_and_recv_family_read_bytes)
{
	static char out[MSG], in[MSG];
	struct agent_ns_counters c1;
	long long sent = 0, received = 0;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, get_counters(&self->c0));
	for (int i = 0; i < MIB / MSG; i++) {
		struct iovec iov = { out, MSG };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		switch (i % 3) {
		case 0:
			n = send(sv[0], out, MSG, 0);
			break;
		case 1:
			n = sendto(sv[0], out, MSG, 0, NULL, 0);
			break;
		default:
			n = sendmsg(sv[0], &mh, 0);
			break;
		}
		ASSERT_EQ(MSG, n);
		sent += n;
		for (int got = 0; got < MSG; got += n) {
			iov.iov_base = in + got;
			iov.iov_len = MSG - got;
			switch (i % 3) {
			case 0:
				n = recv(sv[1], in + got, MSG - got, 0);
				break;
			case 1:
				n = recvfrom(sv[1], in + got, MSG - got, 0, NULL, NULL);
				break;
			default:
				n = recvmsg(sv[1], &mh, 0);
				break;
			}
			ASSERT_GT(n, 0);
			received += n;
		}
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, sent);
	EXPECT_EQ(MIB, received);
	EXPECT_EQ(sent, c1.write_bytes - self->c0.write_bytes);
	EXPECT_EQ(received, c1.read_bytes - self->c0.read_bytes);
	close(sv[0]);
	close(sv[1]);
}

struct reader {
	int fd;
	long long got;
};

static void *read_all(void *arg)
{
	struct reader *rd = arg;
	static char in[CHUNK];
	ssize_t n;

	while (rd->got < MIB && (n = recv(rd->fd, in, sizeof(in), 0)) > 0)
		rd->got += n;
	return NULL;
}

/* One 1 MiB send(2), drained by a thread of the session: both sides exact. */
TEST_F(session, one_1mib_send_counts_exactly_what_it_returned)
{
	struct agent_ns_counters c1;
	struct reader rd = { 0 };
	char *out = buffer(MIB);
	long long sent = 0;
	pthread_t t;
	int sv[2];

	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	rd.fd = sv[1];
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(0, pthread_create(&t, NULL, read_all, &rd));
	while (sent < MIB) {
		ssize_t n = send(sv[0], out + sent, MIB - sent, 0);

		ASSERT_GT(n, 0);
		sent += n;
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, sent);
	EXPECT_EQ(MIB, rd.got);
	EXPECT_EQ(sent, c1.write_bytes - self->c0.write_bytes);
	EXPECT_EQ(rd.got, c1.read_bytes - self->c0.read_bytes);
	close(sv[0]);
	close(sv[1]);
}

/* sendmmsg counts the sum of msg_len in write_bytes, recvmmsg in read_bytes. */
TEST_F(session, sendmmsg_and_recvmmsg_count_the_sum_of_msg_len)
{
	enum { VLEN = 8 };
	static char out[VLEN][MSG], in[VLEN][MSG];
	struct mmsghdr msgs[VLEN];
	struct iovec iovs[VLEN];
	struct agent_ns_counters c1;
	long long sent = 0, received = 0;
	int sv[2], n;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_EQ(0, get_counters(&self->c0));
	for (int round = 0; round < MIB / (VLEN * MSG); round++) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < VLEN; i++) {
			iovs[i].iov_base = out[i];
			iovs[i].iov_len = MSG;
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(sv[0], msgs, VLEN, 0);
		ASSERT_EQ(VLEN, n);
		for (int i = 0; i < n; i++)
			sent += msgs[i].msg_len;

		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < VLEN; i++) {
			iovs[i].iov_base = in[i];
			iovs[i].iov_len = MSG;
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(sv[1], msgs, VLEN, 0, NULL);
		ASSERT_EQ(VLEN, n);
		for (int i = 0; i < n; i++)
			received += msgs[i].msg_len;
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, sent);
	EXPECT_EQ(MIB, received);
	EXPECT_EQ(sent, c1.write_bytes - self->c0.write_bytes);
	EXPECT_EQ(received, c1.read_bytes - self->c0.read_bytes);
	close(sv[0]);
	close(sv[1]);
}

/* sendfile(2) counts what it moved both as read_bytes and as write_bytes. */
TEST_F(session, sendfile_counts_read_and_write)
{
	struct agent_ns_counters c1;
	int in = tmp_file(MIB), out = tmp_file(0);
	long long moved = 0;
	off_t off = 0;

	ASSERT_GE(in, 0);
	ASSERT_GE(out, 0);
	ASSERT_EQ(0, get_counters(&self->c0));
	while (moved < MIB) {
		ssize_t n = sendfile(out, in, &off, MIB - moved);

		ASSERT_GT(n, 0);
		moved += n;
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, moved);
	EXPECT_EQ(moved, c1.read_bytes - self->c0.read_bytes);
	EXPECT_EQ(moved, c1.write_bytes - self->c0.write_bytes);
	close(in);
	close(out);
}

/* Each splice(2), file to pipe and pipe to file, counts its bytes both ways. */
TEST_F(session, splice_counts_read_and_write)
{
	struct agent_ns_counters c1;
	int in = tmp_file(MIB), out = tmp_file(0), p[2];
	long long into_pipe = 0, out_of_pipe = 0;
	loff_t off_in = 0, off_out = 0;

	ASSERT_GE(in, 0);
	ASSERT_GE(out, 0);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, get_counters(&self->c0));
	while (into_pipe < MIB) {
		ssize_t n = splice(in, &off_in, p[1], NULL, CHUNK, 0);

		ASSERT_GT(n, 0);
		into_pipe += n;
		while (n > 0) {
			ssize_t m = splice(p[0], NULL, out, &off_out, n, 0);

			ASSERT_GT(m, 0);
			out_of_pipe += m;
			n -= m;
		}
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, into_pipe);
	EXPECT_EQ(MIB, out_of_pipe);
	EXPECT_EQ(into_pipe + out_of_pipe, c1.read_bytes - self->c0.read_bytes);
	EXPECT_EQ(into_pipe + out_of_pipe, c1.write_bytes - self->c0.write_bytes);
	close(in);
	close(out);
	close(p[0]);
	close(p[1]);
}

/* copy_file_range(2) counts what it copied both as read_bytes and as write_bytes. */
TEST_F(session, copy_file_range_counts_read_and_write)
{
	struct agent_ns_counters c1;
	int in = tmp_file(MIB), out = tmp_file(0);
	long long copied = 0;

	ASSERT_GE(in, 0);
	ASSERT_GE(out, 0);
	ASSERT_EQ(0, get_counters(&self->c0));
	while (copied < MIB) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, MIB - copied, 0);

		ASSERT_GT(n, 0);
		copied += n;
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, copied);
	EXPECT_EQ(copied, c1.read_bytes - self->c0.read_bytes);
	EXPECT_EQ(copied, c1.write_bytes - self->c0.write_bytes);
	close(in);
	close(out);
}

/* tee(2) counts what it duplicated both as read_bytes and as write_bytes. */
TEST_F(session, tee_counts_read_and_write)
{
	struct agent_ns_counters c1;
	char *buf = buffer(MIB);
	long long dup = 0;
	int a[2], b[2];

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, big_pipe(a));
	ASSERT_EQ(0, big_pipe(b));
	ASSERT_EQ(MIB, write(a[1], buf, MIB));
	ASSERT_EQ(0, get_counters(&self->c0));
	while (dup < MIB) {
		ssize_t n = tee(a[0], b[1], MIB - dup, 0);

		ASSERT_GT(n, 0);
		dup += n;
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, dup);
	EXPECT_EQ(dup, c1.read_bytes - self->c0.read_bytes);
	EXPECT_EQ(dup, c1.write_bytes - self->c0.write_bytes);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
}

/* vmsplice(2) of user memory into a pipe counts write_bytes only. */
TEST_F(session, vmsplice_into_a_pipe_counts_write_bytes)
{
	struct agent_ns_counters c1;
	char *buf = buffer(MIB);
	long long moved = 0;
	int p[2];

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, big_pipe(p));
	ASSERT_EQ(0, get_counters(&self->c0));
	while (moved < MIB) {
		struct iovec iov = { buf + moved, MIB - moved };
		ssize_t n = vmsplice(p[1], &iov, 1, 0);

		ASSERT_GT(n, 0);
		moved += n;
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, moved);
	EXPECT_EQ(moved, c1.write_bytes - self->c0.write_bytes);
	EXPECT_EQ(0, c1.read_bytes - self->c0.read_bytes);
}

/* vmsplice(2) from a pipe's read end into user memory counts read_bytes only. */
TEST_F(session, vmsplice_out_of_a_pipe_counts_read_bytes)
{
	struct agent_ns_counters c1;
	char *buf = buffer(MIB);
	long long moved = 0;
	int p[2];

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, big_pipe(p));
	ASSERT_EQ(MIB, write(p[1], buf, MIB));
	ASSERT_EQ(0, get_counters(&self->c0));
	while (moved < MIB) {
		struct iovec iov = { buf + moved, MIB - moved };
		ssize_t n = vmsplice(p[0], &iov, 1, 0);

		ASSERT_GT(n, 0);
		moved += n;
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, moved);
	EXPECT_EQ(moved, c1.read_bytes - self->c0.read_bytes);
	EXPECT_EQ(0, c1.write_bytes - self->c0.write_bytes);
}

/* Runs @nr AIO requests of @op on @fd over @buf; the sum of their res, or -1. */
static long long aio_run(aio_context_t ctx, int op, int fd, char *buf, int nr)
{
	struct iocb cbs[4], *list[4];
	struct io_event ev[4];
	long long sum = 0;
	size_t each = MIB / nr;

	for (int i = 0; i < nr; i++) {
		memset(&cbs[i], 0, sizeof(cbs[i]));
		cbs[i].aio_lio_opcode = op;
		cbs[i].aio_fildes = fd;
		cbs[i].aio_buf = (__u64)(unsigned long)(buf + i * each);
		cbs[i].aio_nbytes = each;
		cbs[i].aio_offset = i * each;
		cbs[i].aio_data = i;
		list[i] = &cbs[i];
	}
	if (syscall(__NR_io_submit, ctx, nr, list) != nr)
		return -1;
	if (syscall(__NR_io_getevents, ctx, nr, nr, ev, NULL) != nr)
		return -1;
	for (int i = 0; i < nr; i++)
		sum += (long long)ev[i].res;
	return sum;
}

/* AIO IOCB_CMD_PWRITE counts write_bytes and IOCB_CMD_PREAD read_bytes, by res. */
TEST_F(session, aio_pwrite_and_pread_count_completed_bytes)
{
	struct agent_ns_counters c1, c2;
	aio_context_t ctx = 0;
	char *buf = buffer(MIB);
	int fd = tmp_file(0);
	long long wrote, got;

	ASSERT_NE(NULL, buf);
	ASSERT_GE(fd, 0);
	if (syscall(__NR_io_setup, 4, &ctx)) {
		int err = errno;

		/* fs.aio-max-nr exists exactly when the kernel has AIO. */
		ASSERT_NE(0, access("/proc/sys/fs/aio-max-nr", F_OK))
			TH_LOG("io_setup: %s", strerror(err));
		SKIP(return, "kernel has no AIO: %s", strerror(err));
	}
	ASSERT_EQ(0, get_counters(&self->c0));
	wrote = aio_run(ctx, IOCB_CMD_PWRITE, fd, buf, 4);
	ASSERT_EQ(0, get_counters(&c1));
	got = aio_run(ctx, IOCB_CMD_PREAD, fd, buf, 4);
	ASSERT_EQ(0, get_counters(&c2));
	EXPECT_EQ(MIB, wrote);
	EXPECT_EQ(MIB, got);
	EXPECT_EQ(wrote, c1.write_bytes - self->c0.write_bytes);
	EXPECT_EQ(0, c1.read_bytes - self->c0.read_bytes);
	EXPECT_EQ(got, c2.read_bytes - c1.read_bytes);
	EXPECT_EQ(0, c2.write_bytes - c1.write_bytes);
	syscall(__NR_io_destroy, ctx);
	close(fd);
}

/* Every SQE submitted counts as a system call, as does io_uring_enter itself. */
TEST_F(session, io_uring_nops_count_as_system_calls)
{
	struct agent_ns_counters c1;
	struct agentns_ring r;
	int res[8];

	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 32));
	for (int i = 0; i < 8; i++)
		ring_sqe(&r, IORING_OP_NOP, -1, i);
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(0, ring_run(&r, res));
	ASSERT_EQ(0, get_counters(&c1));
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(0, res[i]);
	/* 8 NOPs, the io_uring_enter() and the second prctl(). */
	EXPECT_EQ(8 + 1 + 1, c1.total_syscalls - self->c0.total_syscalls);
	ring_close(&r);
}

/*
 * A log budget on max_syscalls that a batch crosses: the batch counts as
 * it does without one, each entry once, every entry runs, and the budget
 * fires.
 */
TEST_F(session, io_uring_batch_crossing_a_log_budget_counts_each_entry_once)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_LOG };
	struct agent_ns_info info = { 0 };
	struct agent_ns_counters c1;
	struct agentns_ring r;
	int res[8], fd;

	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	fd = open("/proc/self/ns/agent", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ring_setup(&r, 32));
	for (int i = 0; i < 8; i++)
		ring_sqe(&r, IORING_OP_NOP, -1, i);
	ASSERT_EQ(0, get_counters(&self->c0));			/* call t */
	/* The prctl is t + 1, io_uring_enter() t + 2, the NOPs t + 3 on. */
	b.max_syscalls = self->c0.total_syscalls + 5;
	ASSERT_EQ(0, prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0));
	ASSERT_EQ(0, ring_run(&r, res));
	ASSERT_EQ(0, get_counters(&c1));
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(0, res[i]);
	/* The budget's prctl, io_uring_enter(), 8 NOPs and the second read. */
	EXPECT_EQ(1 + 1 + 8 + 1, c1.total_syscalls - self->c0.total_syscalls);
	ASSERT_EQ(0, ioctl(fd, AGENT_NS_GET_INFO, &info));
	EXPECT_EQ(AGENT_NS_FIRED_SYSCALLS, info.fired & AGENT_NS_FIRED_SYSCALLS);
	EXPECT_EQ(0, info.flags & AGENT_NS_INFO_ACTED);
	ring_close(&r);
	close(fd);
}

/* IORING_OP_WRITE and WRITEV count write_bytes by their res. */
TEST_F(session, io_uring_write_and_writev_count_write_bytes)
{
	struct iovec iov[8][2];
	struct agent_ns_counters c1;
	char *buf = buffer(MIB);
	long long wrote = 0;
	int fd = tmp_file(0), res[16];
	struct agentns_ring r;

	ASSERT_NE(NULL, buf);
	ASSERT_GE(fd, 0);
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 32));
	for (int i = 0; i < 16; i++) {
		struct io_uring_sqe *sqe;

		if (i < 8) {
			sqe = ring_sqe(&r, IORING_OP_WRITE, fd, i);
			sqe->addr = (unsigned long)(buf + i * CHUNK);
			sqe->len = CHUNK;
		} else {
			iov[i - 8][0].iov_base = buf + i * CHUNK;
			iov[i - 8][0].iov_len = CHUNK / 2;
			iov[i - 8][1].iov_base = buf + i * CHUNK + CHUNK / 2;
			iov[i - 8][1].iov_len = CHUNK / 2;
			sqe = ring_sqe(&r, IORING_OP_WRITEV, fd, i);
			sqe->addr = (unsigned long)iov[i - 8];
			sqe->len = 2;
		}
		sqe->off = i * CHUNK;
	}
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(0, ring_run(&r, res));
	ASSERT_EQ(0, get_counters(&c1));
	for (int i = 0; i < 16; i++) {
		EXPECT_EQ(CHUNK, res[i]);
		wrote += res[i] > 0 ? res[i] : 0;
	}
	EXPECT_EQ(MIB, wrote);
	EXPECT_EQ(wrote, c1.write_bytes - self->c0.write_bytes);
	EXPECT_EQ(0, c1.read_bytes - self->c0.read_bytes);
	ring_close(&r);
	close(fd);
}

/* IORING_OP_READ and READV count read_bytes by their res. */
TEST_F(session, io_uring_read_and_readv_count_read_bytes)
{
	struct iovec iov[8][2];
	struct agent_ns_counters c1;
	char *buf = buffer(MIB);
	long long got = 0;
	int fd = tmp_file(MIB), res[16];
	struct agentns_ring r;

	ASSERT_NE(NULL, buf);
	ASSERT_GE(fd, 0);
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 32));
	for (int i = 0; i < 16; i++) {
		struct io_uring_sqe *sqe;

		if (i < 8) {
			sqe = ring_sqe(&r, IORING_OP_READ, fd, i);
			sqe->addr = (unsigned long)(buf + i * CHUNK);
			sqe->len = CHUNK;
		} else {
			iov[i - 8][0].iov_base = buf + i * CHUNK;
			iov[i - 8][0].iov_len = CHUNK / 2;
			iov[i - 8][1].iov_base = buf + i * CHUNK + CHUNK / 2;
			iov[i - 8][1].iov_len = CHUNK / 2;
			sqe = ring_sqe(&r, IORING_OP_READV, fd, i);
			sqe->addr = (unsigned long)iov[i - 8];
			sqe->len = 2;
		}
		sqe->off = i * CHUNK;
	}
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(0, ring_run(&r, res));
	ASSERT_EQ(0, get_counters(&c1));
	for (int i = 0; i < 16; i++) {
		EXPECT_EQ(CHUNK, res[i]);
		got += res[i] > 0 ? res[i] : 0;
	}
	EXPECT_EQ(MIB, got);
	EXPECT_EQ(got, c1.read_bytes - self->c0.read_bytes);
	EXPECT_EQ(0, c1.write_bytes - self->c0.write_bytes);
	ring_close(&r);
	close(fd);
}

/* IORING_OP_SEND counts write_bytes and IORING_OP_RECV read_bytes, by res. */
TEST_F(session, io_uring_send_and_recv_count_bytes)
{
	struct agent_ns_counters c1;
	char *out = buffer(CHUNK), *in = buffer(CHUNK);
	long long sent = 0, received = 0;
	struct agentns_ring r;
	int sv[2], res[1];

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 32));
	ASSERT_EQ(0, get_counters(&self->c0));
	while (sent < MIB) {
		long long round = sent;

		while (sent - round < CHUNK) {
			struct io_uring_sqe *sqe = ring_sqe(&r, IORING_OP_SEND, sv[0], 0);

			sqe->addr = (unsigned long)(out + (sent - round));
			sqe->len = CHUNK - (sent - round);
			ASSERT_EQ(0, ring_run(&r, res));
			ASSERT_GT(res[0], 0);
			sent += res[0];
		}
		while (received < sent) {
			struct io_uring_sqe *sqe = ring_sqe(&r, IORING_OP_RECV, sv[1], 0);

			sqe->addr = (unsigned long)in;
			sqe->len = sent - received;
			ASSERT_EQ(0, ring_run(&r, res));
			ASSERT_GT(res[0], 0);
			received += res[0];
		}
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, sent);
	EXPECT_EQ(MIB, received);
	EXPECT_EQ(sent, c1.write_bytes - self->c0.write_bytes);
	EXPECT_EQ(received, c1.read_bytes - self->c0.read_bytes);
	ring_close(&r);
	close(sv[0]);
	close(sv[1]);
}

/* IORING_OP_SPLICE and IORING_OP_TEE count their bytes both ways. */
TEST_F(session, io_uring_splice_and_tee_count_read_and_write)
{
	struct agent_ns_counters c1;
	long long spliced = 0, teed = 0;
	int in = tmp_file(MIB), a[2], b[2], res[1];
	struct agentns_ring r;

	ASSERT_GE(in, 0);
	ASSERT_EQ(0, big_pipe(a));
	ASSERT_EQ(0, big_pipe(b));
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 32));
	ASSERT_EQ(0, get_counters(&self->c0));
	while (spliced < MIB) {
		struct io_uring_sqe *sqe = ring_sqe(&r, IORING_OP_SPLICE, a[1], 0);

		sqe->splice_fd_in = in;
		sqe->splice_off_in = spliced;
		sqe->off = -1ULL;
		sqe->len = CHUNK;
		ASSERT_EQ(0, ring_run(&r, res));
		ASSERT_GT(res[0], 0);
		spliced += res[0];
	}
	while (teed < MIB) {
		struct io_uring_sqe *sqe = ring_sqe(&r, IORING_OP_TEE, b[1], 0);

		sqe->splice_fd_in = a[0];
		sqe->len = MIB - teed;
		ASSERT_EQ(0, ring_run(&r, res));
		ASSERT_GT(res[0], 0);
		teed += res[0];
	}
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(MIB, spliced);
	EXPECT_EQ(MIB, teed);
	EXPECT_EQ(spliced + teed, c1.read_bytes - self->c0.read_bytes);
	EXPECT_EQ(spliced + teed, c1.write_bytes - self->c0.write_bytes);
	ring_close(&r);
	close(in);
}

/* A successful IORING_OP_OPENAT counts an open, and its SQE a system call. */
TEST_F(session, io_uring_openat_counts_successful_opens)
{
	struct agent_ns_counters c1;
	char dir[] = "/tmp/agentns-oXXXXXX", path[64];
	struct io_uring_sqe *sqe;
	struct agentns_ring r;
	int res[2];

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 32));
	sqe = ring_sqe(&r, IORING_OP_OPENAT, AT_FDCWD, 0);
	sqe->addr = (unsigned long)path;
	sqe->open_flags = O_CREAT | O_WRONLY;
	sqe->len = 0600;
	sqe = ring_sqe(&r, IORING_OP_OPENAT, AT_FDCWD, 1);
	sqe->addr = (unsigned long)"/nonexistent/agentns";
	sqe->open_flags = O_RDONLY;
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(0, ring_run(&r, res));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_GE(res[0], 0);
	EXPECT_EQ(-ENOENT, res[1]);
	EXPECT_EQ(1, c1.openat_count - self->c0.openat_count);
	/* Two SQEs, the io_uring_enter() and the second prctl(). */
	EXPECT_EQ(2 + 1 + 1, c1.total_syscalls - self->c0.total_syscalls);
	if (res[0] >= 0)
		close(res[0]);
	unlink(path);
	rmdir(dir);
	ring_close(&r);
}

/* IORING_OP_CONNECT counts every attempt, as connect(2) does. */
TEST_F(session, io_uring_connect_counts_attempts)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX }, none = { .sun_family = AF_UNIX };
	struct agent_ns_counters c1;
	struct io_uring_sqe *sqe;
	socklen_t len;
	int l = socket(AF_UNIX, SOCK_STREAM, 0), s = socket(AF_UNIX, SOCK_STREAM, 0);
	int t = socket(AF_UNIX, SOCK_STREAM, 0), res[2];
	struct agentns_ring r;

	ASSERT_GE(l, 0);
	ASSERT_GE(s, 0);
	ASSERT_GE(t, 0);
	/* An abstract name: nothing to clean up. */
	len = offsetof(struct sockaddr_un, sun_path) + 1 +
	      snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "agentns-c%d", getpid());
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&sun, len));
	ASSERT_EQ(0, listen(l, 4));
	snprintf(none.sun_path, sizeof(none.sun_path), "/nonexistent/agentns.sock");
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 32));
	sqe = ring_sqe(&r, IORING_OP_CONNECT, s, 0);
	sqe->addr = (unsigned long)&sun;
	sqe->off = len;
	sqe = ring_sqe(&r, IORING_OP_CONNECT, t, 1);
	sqe->addr = (unsigned long)&none;
	sqe->off = sizeof(none);
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(0, ring_run(&r, res));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(-ENOENT, res[1]);
	EXPECT_EQ(2, c1.connect_count - self->c0.connect_count);
	ring_close(&r);
	close(l);
	close(s);
	close(t);
}

/* A successful IORING_OP_UNLINKAT counts a removal; a failed one does not. */
TEST_F(session, io_uring_unlinkat_counts_successful_removals)
{
	struct agent_ns_counters c1;
	char dir[] = "/tmp/agentns-uXXXXXX", path[64], gone[64];
	struct io_uring_sqe *sqe;
	struct agentns_ring r;
	int res[2];

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(gone, sizeof(gone), "%s/never", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_setup(&r, 32));
	sqe = ring_sqe(&r, IORING_OP_UNLINKAT, AT_FDCWD, 0);
	sqe->addr = (unsigned long)path;
	sqe = ring_sqe(&r, IORING_OP_UNLINKAT, AT_FDCWD, 1);
	sqe->addr = (unsigned long)gone;
	ASSERT_EQ(0, get_counters(&self->c0));
	ASSERT_EQ(0, ring_run(&r, res));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(-ENOENT, res[1]);
	EXPECT_EQ(1, c1.unlink_count - self->c0.unlink_count);
	rmdir(dir);
	ring_close(&r);
}

/*
 * A 16-page file in a directory on tmpfs: a private tmpfs mount on a
 * mkdtemp() directory when the caller may mount, else /dev/shm, else /tmp.
 * Returns the open, unlinked file, or -1; @dir (of @size bytes) holds the
 * directory's path and *@mounted tells whether it is a mount point to take
 * down.
 */
static int sixteen_page_file(char *dir, size_t size, bool *mounted)
{
	char path[80];
	long ps = sysconf(_SC_PAGESIZE);
	struct statfs sfs;
	int fd;

	*mounted = false;
	snprintf(dir, size, "/tmp/agentns-mmXXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* huge=never: one fault per page, whatever the THP defaults. */
	if (!unshare(CLONE_NEWNS) &&
	    !mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) &&
	    (!mount("agentns", dir, "tmpfs", 0, "size=1m,huge=never") ||
	     !mount("agentns", dir, "tmpfs", 0, "size=1m")))
		*mounted = true;
	else if (!statfs("/dev/shm", &sfs) && sfs.f_type == TMPFS_MAGIC) {
		rmdir(dir);
		snprintf(dir, size, "/dev/shm/agentns-mmXXXXXX");
		if (!mkdtemp(dir))
			return -1;
	}
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, 16 * ps)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void remove_dir(const char *dir, bool mounted)
{
	if (mounted)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
}

/*
 * Storing into each of 16 never-touched pages of a shared writable file
 * mapping counts 16 pages of write_bytes, at the write fault that first
 * dirties each page.
 */
TEST_F(session, mmap_first_store_to_each_page_counts_a_page)
{
	long ps = sysconf(_SC_PAGESIZE);
	struct agent_ns_counters c1;
	char *p;
	struct statfs sfs;
	char dir[64];
	bool mounted;
	int fd = sixteen_page_file(dir, sizeof(dir), &mounted);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fstatfs(fd, &sfs));
	TH_LOG("file in %s%s", dir, sfs.f_type == TMPFS_MAGIC ? " (tmpfs)" : " (not tmpfs)");
	p = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, get_counters(&self->c0));
	for (int i = 0; i < 16; i++)
		WRITE_ONCE(p[i * ps], 1);
	ASSERT_EQ(0, msync(p, 16 * ps, MS_SYNC));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(16 * ps, c1.write_bytes - self->c0.write_bytes);
	EXPECT_EQ(0, c1.read_bytes - self->c0.read_bytes);
	munmap(p, 16 * ps);
	close(fd);
	remove_dir(dir, mounted);
}

/*
 * Storing again into pages already dirtied through the mapping counts
 * nothing.  On tmpfs only: writeback (msync) cleans a disk file's pages,
 * and a page written after that is dirtied, and counted, again.
 */
TEST_F(session, mmap_second_store_to_a_dirtied_page_counts_nothing)
{
	long ps = sysconf(_SC_PAGESIZE);
	struct agent_ns_counters c1;
	char *p;
	struct statfs sfs;
	char dir[64];
	bool mounted;
	int fd = sixteen_page_file(dir, sizeof(dir), &mounted);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fstatfs(fd, &sfs));
	if (sfs.f_type != TMPFS_MAGIC) {
		close(fd);
		remove_dir(dir, mounted);
		SKIP(return, "no tmpfs to map a file of");
	}
	p = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (int i = 0; i < 16; i++)
		WRITE_ONCE(p[i * ps], 1);
	ASSERT_EQ(0, msync(p, 16 * ps, MS_SYNC));
	ASSERT_EQ(0, get_counters(&self->c0));
	for (int i = 0; i < 16; i++)
		WRITE_ONCE(p[i * ps], 2);
	ASSERT_EQ(0, msync(p, 16 * ps, MS_SYNC));
	ASSERT_EQ(0, get_counters(&c1));
	EXPECT_EQ(0, c1.write_bytes - self->c0.write_bytes);
	munmap(p, 16 * ps);
	close(fd);
	remove_dir(dir, mounted);
}

/* open_by_handle_at(2) counts as an open. */
TEST_F(session, open_by_handle_at_counts_as_an_open)
{
	struct {
		struct file_handle fh;
		unsigned char space[MAX_HANDLE_SZ];
	} h;
	struct agent_ns_counters c1;
	char path[] = "/tmp/agentns-hXXXXXX";
	int fd = mkstemp(path), mfd, mount_id, hfd, err;

	ASSERT_GE(fd, 0);
	close(fd);
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0)) {
		unlink(path);
		ASSERT_EQ(EOPNOTSUPP, errno);
		SKIP(return, "/tmp has no file handles");
	}
	mfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(0, get_counters(&self->c0));
	hfd = open_by_handle_at(mfd, &h.fh, O_RDONLY);
	err = errno;
	ASSERT_EQ(0, get_counters(&c1));
	unlink(path);
	if (hfd < 0 && err == EPERM) {
		close(mfd);
		SKIP(return, "open_by_handle_at needs CAP_DAC_READ_SEARCH");
	}
	ASSERT_GE(hfd, 0);
	EXPECT_EQ(1, c1.openat_count - self->c0.openat_count);
	close(hfd);
	close(mfd);
}

int main(int argc, char **argv)
{
	if (access("/proc/self/agent_counters", F_OK)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespace counters\n");
	}
	return test_harness_run(argc, argv);
}
