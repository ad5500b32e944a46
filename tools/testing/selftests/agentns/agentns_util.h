/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the agentns selftests. */
#ifndef AGENTNS_UTIL_H
#define AGENTNS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/agent_namespaces.h>
#include <linux/nsfs.h>

/* nsfs and listns(2) names older exported headers may lack. */
#ifndef NS_GET_ID
#define NS_GET_ID		_IOR(0xb7, 13, __u64)
#endif
#ifndef __NR_listns
#define __NR_listns		470
#endif
#ifndef NS_ID_REQ_SIZE_VER0
struct ns_id_req {
	__u32 size;
	__u32 spare;
	__u64 ns_id;
	__u32 ns_type;
	__u32 spare2;
	__u64 user_ns_id;
};

#define NS_ID_REQ_SIZE_VER0	32
#endif

/* The initial session's nsfs inode number. */
#define AGENT_NS_INIT_INO	0xEFFFFFF6U

#define ENABLED			"/proc/sys/kernel/agent_ns/enabled"
#define MAX_LIFETIME		"/proc/sys/kernel/agent_ns/max_lifetime"
#define REAP_INTERVAL		"/proc/sys/kernel/agent_ns/reap_interval"
#define MAX_AGENT_NS		"/proc/sys/user/max_agent_namespaces"

#define NOBODY			65534
#define TRACEFS			"/sys/kernel/tracing/"

/* Drops every uid and gid to nobody, which clears all capabilities. */
static inline int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY))
		return -1;
	return setresuid(NOBODY, NOBODY, NOBODY);
}

/* Waits for @pid: its exit status, or 128 + the signal that killed it. */
static inline int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * Reads /proc/<who>/agent_session into @out; the file must be 32
 * lowercase hex digits and a newline.
 */
static inline int read_session(const char *who, char out[33])
{
	char path[96], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/agent_session", who);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != 33 || buf[32] != '\n')
		return -EPROTO;
	for (int i = 0; i < 32; i++)
		if (!strchr("0123456789abcdef", buf[i]))
			return -EPROTO;
	memcpy(out, buf, 32);
	out[32] = '\0';
	return 0;
}

/* The session id by PR_GET_AGENT_SESSION_ID, as 32 lowercase hex digits. */
static inline int prctl_session(char out[33])
{
	unsigned char id[AGENT_NS_ID_BYTES];

	if (prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0))
		return -errno;
	for (int i = 0; i < AGENT_NS_ID_BYTES; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	return 0;
}

/* Writes @val to the tracefs file @file: 0 or -errno. */
static inline int tracefs_write(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY | O_TRUNC), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* The number in the sysctl file @path, or -errno. */
static inline long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return strtol(buf, NULL, 10);
}

/* Writes @v to the sysctl file @path: 0 or -errno. */
static inline int write_long(const char *path, long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY), n;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld", v);
	n = write(fd, buf, n) == n ? 0 : -errno;
	close(fd);
	return n;
}

/* CLOCK_MONOTONIC in seconds. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Prints a "# " line on stderr with one write(2): safe in threads and children. */
static inline void say(const char *fmt, ...)
{
	char buf[640];
	va_list ap;
	int n;

	buf[0] = '#';
	buf[1] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap) + 2;
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0)
		return;
}

#ifdef AGENTNS_IO_URING
/*
 * A raw io_uring, for the tests that define AGENTNS_IO_URING before they
 * include this file: the rings mapped by hand (no liburing).  Every page
 * of the rings is touched at setup, so that budgets and counter deltas
 * see only the SQEs a test submits.
 */
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter	426
#endif

struct agentns_ring {
	int fd;
	unsigned int entries, queued;
	unsigned long enters;		/* io_uring_enter(2) calls made */
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
};

static inline void ring_close(struct agentns_ring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* Sets up a ring of @entries SQEs with the IORING_SETUP_* @flags: 0, or -errno. */
static inline int ring_setup_flags(struct agentns_ring *r, unsigned int entries,
				   unsigned int flags)
{
	struct io_uring_params p;
	int err;

	memset(&p, 0, sizeof(p));
	memset(r, 0, sizeof(*r));
	p.flags = flags;
	r->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0)
		return -errno;
	r->entries = p.sq_entries;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_len > r->sq_len)
			r->sq_len = r->cq_len;
		r->cq_len = r->sq_len;
	}
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED)
		goto fail;
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		r->cq_map = r->sq_map;
	else
		r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	if (r->cq_map == MAP_FAILED)
		goto fail;
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		goto fail;
	r->sq_head = (unsigned int *)((char *)r->sq_map + p.sq_off.head);
	r->sq_tail = (unsigned int *)((char *)r->sq_map + p.sq_off.tail);
	r->sq_mask = (unsigned int *)((char *)r->sq_map + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)r->sq_map + p.sq_off.array);
	r->cq_head = (unsigned int *)((char *)r->cq_map + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)r->cq_map + p.cq_off.tail);
	r->cq_mask = (unsigned int *)((char *)r->cq_map + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq_map + p.cq_off.cqes);
	/* The SQ array maps slot i to SQE i for good; touch every page. */
	for (unsigned int i = 0; i < p.sq_entries; i++)
		r->sq_array[i] = i;
	memset(r->sqes, 0, r->sqes_len);
	__atomic_store_n(r->cq_head, *r->cq_head, __ATOMIC_RELEASE);
	return 0;
fail:
	err = -errno;
	ring_close(r);
	return err;
}

/* Sets up a ring of @entries SQEs: 0, or -errno. */
static inline int ring_setup(struct agentns_ring *r, unsigned int entries)
{
	return ring_setup_flags(r, entries, 0);
}

/*
 * The next free SQE, zeroed, with @op, @fd and @user_data filled in; at
 * most the ring's entries may be queued before ring_flush().
 */
static inline struct io_uring_sqe *ring_sqe(struct agentns_ring *r, __u8 op, int fd,
					    __u64 user_data)
{
	unsigned int tail = *r->sq_tail + r->queued;
	struct io_uring_sqe *sqe = &r->sqes[tail & *r->sq_mask];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->user_data = user_data;
	r->queued++;
	return sqe;
}

/* Hands the queued SQEs to the kernel's side of the ring: how many. */
static inline unsigned int ring_flush(struct agentns_ring *r)
{
	unsigned int n = r->queued;

	__atomic_store_n(r->sq_tail, *r->sq_tail + n, __ATOMIC_RELEASE);
	r->queued = 0;
	return n;
}

/*
 * One io_uring_enter(2): submits up to @submit flushed SQEs and, if @wait
 * is not 0, waits until @wait CQEs are there.  The number of SQEs it
 * consumed, or -errno.
 */
static inline int ring_enter(struct agentns_ring *r, unsigned int submit, unsigned int wait)
{
	long ret;

	r->enters++;
	ret = syscall(__NR_io_uring_enter, r->fd, submit, wait,
		      wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
	return ret < 0 ? -errno : (int)ret;
}

/* Takes the oldest CQE off the ring into @cqe: false if there is none. */
static inline bool ring_reap(struct agentns_ring *r, struct io_uring_cqe *cqe)
{
	unsigned int head = *r->cq_head;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return false;
	*cqe = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return true;
}

/*
 * Submits the queued SQEs and waits for as many CQEs, in one
 * io_uring_enter(2) unless a signal interrupts it, storing each CQE's res
 * at res[user_data].  Returns 0, or -errno of io_uring_enter(2).
 */
static inline int ring_run(struct agentns_ring *r, int *res)
{
	unsigned int n = ring_flush(r), submitted = 0, done = 0;
	struct io_uring_cqe cqe;
	int ret;

	while (done < n) {
		ret = ring_enter(r, n - submitted, n - done);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return ret;
		submitted += ret;
		while (ring_reap(r, &cqe)) {
			res[cqe.user_data] = cqe.res;
			done++;
		}
	}
	return 0;
}

/*
 * Whether io_uring_setup(2) fails here, for whatever reason (not built in,
 * disabled by sysctl, filtered): then errno says why.
 */
static inline bool no_io_uring(void)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 8, &p);
	if (fd < 0)
		return true;
	close(fd);
	return false;
}
#endif /* AGENTNS_IO_URING */

#endif /* AGENTNS_UTIL_H */
