// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace files: /proc/PID/ns/agent, setns(2), the nsfs ioctls,
 * listns(2) and who may create and enter sessions without privilege.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
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

/* The initial session's nsfs inode number and namespace id. */
#define AGENT_NS_INIT_ID	9ULL
#define AGENT_NS_INIT_LINK	"agent:[4026531830]"

/* A child's exit status that means "no user namespace to be had here". */
#define EXIT_NO_USERNS		42
/* More ids than a test system has namespaces of one type. */
#define MAX_IDS			4096

static ino_t path_inum(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

static ino_t fd_inum(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static int open_ns(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
	return open(path, O_RDONLY);
}

static int open_self_ns(void)
{
	return open("/proc/self/ns/agent", O_RDONLY);
}

/* The namespace id of @fd's namespace, or 0 when NS_GET_ID fails. */
static __u64 ns_id(int fd)
{
	__u64 id = 0;

	if (ioctl(fd, NS_GET_ID, &id))
		return 0;
	return id;
}

static __u64 self_ns_id(void)
{
	int fd = open_self_ns();
	__u64 id;

	if (fd < 0)
		return 0;
	id = ns_id(fd);
	close(fd);
	return id;
}

static int read_ns_link(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int read_pid_session(pid_t pid, char out[33])
{
	char who[16];

	snprintf(who, sizeof(who), "%d", pid);
	return read_session(who, out);
}

static bool in_initial_session(void)
{
	return path_inum("/proc/self/ns/agent") == AGENT_NS_INIT_INO;
}

/* A process that keeps a session alive until stop_holder(). */
struct holder {
	pid_t pid;
	int go;		/* a byte or EOF here lets the holder exit */
	__u64 id;	/* NS_GET_ID of the holder's session */
};

/* The deepest chain of sessions a holder creates. */
#define MAX_CHAIN		8

/*
 * Forks a holder that creates @depth sessions, each inside the one
 * before, and stays in the last one until stop_holder().  With @chain,
 * the NS_GET_ID of each session it created, top first, in @chain.
 */
static int start_holder_chain(struct holder *h, int depth, __u64 *chain)
{
	__u64 ids[MAX_CHAIN];
	int ready[2], go[2];
	ssize_t n;
	char c;

	if (depth < 1 || depth > MAX_CHAIN)
		return -1;
	if (pipe(ready))
		return -1;
	if (pipe(go)) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	h->pid = fork();
	if (h->pid == 0) {
		close(ready[0]);
		close(go[1]);
		for (int i = 0; i < depth; i++) {
			if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
				_exit(1);
			ids[i] = self_ns_id();
		}
		n = depth * sizeof(ids[0]);
		if (write(ready[1], ids, n) != n)
			_exit(2);
		n = read(go[0], &c, 1);
		_exit(n < 0 ? 3 : 0);
	}
	close(ready[1]);
	close(go[0]);
	h->go = go[1];
	n = h->pid < 0 ? -1 : read(ready[0], ids, depth * sizeof(ids[0]));
	close(ready[0]);
	if (n != (ssize_t)(depth * sizeof(ids[0]))) {
		close(h->go);
		if (h->pid > 0)
			waitpid(h->pid, NULL, 0);
		return -1;
	}
	h->id = ids[depth - 1];
	if (chain)
		memcpy(chain, ids, depth * sizeof(ids[0]));
	return 0;
}

static int start_holder(struct holder *h, int depth)
{
	return start_holder_chain(h, depth, NULL);
}

/* Lets the holder exit and reaps it: its exit status, 0 when all went well. */
static int stop_holder(struct holder *h)
{
	if (write(h->go, "x", 1) != 1)
		return -1;
	close(h->go);
	return wait_exit(h->pid);
}

/* Runs listns(2) on the namespaces of @type: how many ids, or -1. */
static long listns_ids(__u32 type, __u64 *ids, size_t nr)
{
	struct ns_id_req req = {
		.size = NS_ID_REQ_SIZE_VER0,
		.ns_type = type,
	};

	return syscall(__NR_listns, &req, ids, nr, 0);
}

/* 1 when listns(2) of @type lists @id, 0 when it does not, or -errno. */
static int listed(__u32 type, __u64 id)
{
	static __u64 ids[MAX_IDS];
	long n = listns_ids(type, ids, MAX_IDS);

	if (n < 0)
		return -errno;
	if (n >= MAX_IDS)
		return -E2BIG;
	for (long i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

FIXTURE(nsfs) {
};

FIXTURE_SETUP(nsfs)
{
	if (access("/proc/self/ns/agent", F_OK))
		SKIP(return, "kernel has no /proc/PID/ns/agent");
	if (geteuid() != 0)
		SKIP(return, "needs root");
}

FIXTURE_TEARDOWN(nsfs)
{
}

TEST_F(nsfs, link_names_the_namespace_inode)
{
	char paths[3][64], link[64], want[64];
	struct stat st;

	snprintf(paths[0], sizeof(paths[0]), "/proc/1/ns/agent");
	snprintf(paths[1], sizeof(paths[1]), "/proc/self/ns/agent");
	snprintf(paths[2], sizeof(paths[2]), "/proc/self/task/%d/ns/agent",
		 gettid());
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, stat(paths[i], &st));
		ASSERT_EQ(0, read_ns_link(paths[i], link, sizeof(link)));
		snprintf(want, sizeof(want), "agent:[%lu]",
			 (unsigned long)st.st_ino);
		EXPECT_STREQ(want, link);
	}
	ASSERT_EQ(0, read_ns_link("/proc/1/ns/agent", link, sizeof(link)));
	EXPECT_STREQ(AGENT_NS_INIT_LINK, link);
	EXPECT_EQ(AGENT_NS_INIT_INO, path_inum("/proc/1/ns/agent"));
}

TEST_F(nsfs, new_session_gets_a_new_link_that_children_share)
{
	char before[64], after[64], theirs[64] = "", viaproc[64], path[64];
	int linkpipe[2], gopipe[2];
	pid_t pid;

	ASSERT_EQ(0, read_ns_link("/proc/self/ns/agent", before, sizeof(before)));
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, read_ns_link("/proc/self/ns/agent", after, sizeof(after)));
	EXPECT_STRNE(before, after);
	EXPECT_STRNE(AGENT_NS_INIT_LINK, after);
	snprintf(path, sizeof(path), "agent:[%lu]",
		 (unsigned long)path_inum("/proc/self/ns/agent"));
	EXPECT_STREQ(path, after);

	ASSERT_EQ(0, pipe(linkpipe));
	ASSERT_EQ(0, pipe(gopipe));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char link[64] = "", c;

		read_ns_link("/proc/self/ns/agent", link, sizeof(link));
		if (write(linkpipe[1], link, sizeof(link)) != sizeof(link))
			_exit(1);
		/* Stay alive until the parent has read our link. */
		_exit(read(gopipe[0], &c, 1) == 1 ? 0 : 2);
	}
	ASSERT_EQ(sizeof(theirs), read(linkpipe[0], theirs, sizeof(theirs)));
	EXPECT_STREQ(after, theirs);
	snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
	ASSERT_EQ(0, read_ns_link(path, viaproc, sizeof(viaproc)));
	EXPECT_STREQ(after, viaproc);
	ASSERT_EQ(1, write(gopipe[1], "x", 1));
	EXPECT_EQ(0, wait_exit(pid));
}

TEST_F(nsfs, nstype_is_agent_ns_type)
{
	int fd;

	fd = open("/proc/1/ns/agent", O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(AGENT_NS_TYPE, ioctl(fd, NS_GET_NSTYPE));
	close(fd);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	fd = open_self_ns();
	ASSERT_GE(fd, 0);
	EXPECT_EQ(AGENT_NS_TYPE, ioctl(fd, NS_GET_NSTYPE));
	close(fd);
}

TEST_F(nsfs, userns_is_the_owning_user_namespace)
{
	ino_t user_ino = path_inum("/proc/self/ns/user");
	int fd, ufd;

	ASSERT_NE(0, user_ino);
	/* The initial session belongs to the initial user namespace. */
	fd = open("/proc/1/ns/agent", O_RDONLY);
	ASSERT_GE(fd, 0);
	ufd = ioctl(fd, NS_GET_USERNS);
	ASSERT_GE(ufd, 0);
	EXPECT_EQ(path_inum("/proc/1/ns/user"), fd_inum(ufd));
	EXPECT_EQ(CLONE_NEWUSER, ioctl(ufd, NS_GET_NSTYPE));
	close(ufd);
	close(fd);

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	fd = open_self_ns();
	ASSERT_GE(fd, 0);
	ufd = ioctl(fd, NS_GET_USERNS);
	ASSERT_GE(ufd, 0);
	EXPECT_EQ(user_ino, fd_inum(ufd));
	EXPECT_EQ(CLONE_NEWUSER, ioctl(ufd, NS_GET_NSTYPE));
	close(ufd);
	close(fd);
}

/*
 * The parent of a session is the session its creator was in: here the
 * test's own (a fresh one), which a child process creates a session in.
 * NS_GET_PARENT of the child's session gives the caller's own session.
 */
TEST_F(nsfs, parent_is_the_creators_session)
{
	struct holder h;
	int oldfd, fd, pfd;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	oldfd = open_self_ns();
	ASSERT_GE(oldfd, 0);
	ASSERT_EQ(0, start_holder(&h, 1));
	fd = open_ns(h.pid);
	ASSERT_GE(fd, 0);
	EXPECT_NE(fd_inum(oldfd), fd_inum(fd));
	pfd = ioctl(fd, NS_GET_PARENT);
	ASSERT_GE(pfd, 0) {
		TH_LOG("NS_GET_PARENT of a child session: %s", strerror(errno));
	}
	EXPECT_EQ(fd_inum(oldfd), fd_inum(pfd));
	EXPECT_EQ(ns_id(oldfd), ns_id(pfd));
	EXPECT_EQ(AGENT_NS_TYPE, ioctl(pfd, NS_GET_NSTYPE));
	close(pfd);
	close(fd);
	close(oldfd);
	EXPECT_EQ(0, stop_holder(&h));
}

#ifndef FD_NSFS_ROOT
#define FD_NSFS_ROOT		-10003
#endif

/* A file handle of the session @fd refers to, in @h (MAX_HANDLE_SZ). */
static int ns_handle(int fd, struct file_handle *h)
{
	int mount_id;

	h->handle_bytes = MAX_HANDLE_SZ;
	return name_to_handle_at(fd, "", h, &mount_id, AT_EMPTY_PATH);
}

/* A file handle with room for any nsfs handle. */
union ns_fh {
	struct file_handle h;
	char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
};

/*
 * The namespace id of the caller's session, with its file handle in @fh;
 * 0 with errno set if either is not available.
 */
static __u64 self_ns_handle(union ns_fh *fh)
{
	int fd = open_self_ns();
	__u64 id;

	if (fd < 0)
		return 0;
	id = ns_id(fd);
	if (id && ns_handle(fd, &fh->h))
		id = 0;
	close(fd);
	return id;
}

/* The namespace id of the session a handle opens, or 0 with errno set. */
static __u64 handle_ns_id(struct file_handle *h)
{
	int fd = open_by_handle_at(FD_NSFS_ROOT, h, O_RDONLY);
	__u64 id;

	if (fd < 0)
		return 0;
	id = ns_id(fd);
	close(fd);
	return id;
}

/*
 * nsfs file handles of a session reopen it.  A task opens its own
 * session's; another session's needs CAP_SYS_ADMIN in the initial user
 * and pid namespaces (may_see_all_namespaces()), else ESTALE.
 */
TEST_F(nsfs, file_handles_reopen_a_session)
{
	union ns_fh probe;
	int status, fd;
	pid_t pid;

	if (path_inum("/proc/self/ns/pid") != PID_NS_INIT_INO)
		SKIP(return, "needs the initial pid namespace");
	/* The session's file opens; its handle is optional. */
	fd = open_self_ns();
	ASSERT_GE(fd, 0);
	close(fd);
	/* Not there without CONFIG_FHANDLE (or on an older nsfs). */
	if (!self_ns_handle(&probe))
		SKIP(return, "no nsfs file handle: %s", strerror(errno));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		union ns_fh a, b;
		__u64 id_a, id_b;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(10);
		id_a = self_ns_handle(&a);
		if (!id_a)
			_exit(11);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(12);
		id_b = self_ns_handle(&b);
		if (!id_b)
			_exit(13);
		/* Root may open any session's handle. */
		if (handle_ns_id(&a.h) != id_a || handle_ns_id(&b.h) != id_b)
			_exit(14);
		if (drop_to_nobody())
			_exit(15);
		/*
		 * Its own session's, yes; its parent's, no: nsfs refuses
		 * (EPERM), which open_by_handle_at() reports as ESTALE, as
		 * for the other namespace types.
		 */
		if (handle_ns_id(&b.h) != id_b)
			_exit(16);
		if (handle_ns_id(&a.h) || errno != ESTALE)
			_exit(17);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(nsfs, initial_session_has_no_parent)
{
	int fd = open("/proc/1/ns/agent", O_RDONLY);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(AGENT_NS_INIT_INO, fd_inum(fd));
	EXPECT_EQ(-1, ioctl(fd, NS_GET_PARENT));
	EXPECT_EQ(EPERM, errno);
	close(fd);
}

/*
 * From the initial session every chain can be walked up: NS_GET_PARENT
 * from the bottom of a child process's 3-deep chain gives each session
 * above it in turn, then the initial session (pid 1's), whose parent is
 * EPERM.
 */
TEST_F(nsfs, parent_chain_ends_at_the_initial_session)
{
	__u64 chain[3];
	struct holder h;
	int fd, pfd;

	if (!in_initial_session())
		SKIP(return, "runner is not in the initial session");
	ASSERT_EQ(0, start_holder_chain(&h, 3, chain));
	fd = open_ns(h.pid);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(chain[2], ns_id(fd));
	for (int i = 1; i >= -1; i--) {
		pfd = ioctl(fd, NS_GET_PARENT);
		ASSERT_GE(pfd, 0) {
			TH_LOG("NS_GET_PARENT of depth %d: %s", i + 2,
			       strerror(errno));
		}
		close(fd);
		fd = pfd;
		if (i >= 0)
			EXPECT_EQ(chain[i], ns_id(fd));
	}
	EXPECT_EQ(AGENT_NS_INIT_INO, fd_inum(fd));
	EXPECT_EQ(path_inum("/proc/1/ns/agent"), fd_inum(fd));
	EXPECT_EQ(AGENT_NS_INIT_ID, ns_id(fd));
	EXPECT_EQ(-1, ioctl(fd, NS_GET_PARENT));
	EXPECT_EQ(EPERM, errno);
	close(fd);
	EXPECT_EQ(0, stop_holder(&h));
}

/*
 * Inside a session A, NS_GET_PARENT hands out A and the sessions below it
 * only, as for pid namespaces: of C, below B below A (a child process's
 * chain), B; of B, A (the caller's own session); of A, EPERM, its parent
 * is above the caller, through /proc/self/ns/agent or the descriptor the
 * walk gave.
 */
TEST_F(nsfs, parent_is_given_down_to_the_callers_session_only)
{
	int afd, bfd, cfd, pfd;
	__u64 chain[2];
	struct holder h;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	afd = open_self_ns();
	ASSERT_GE(afd, 0);
	ASSERT_EQ(0, start_holder_chain(&h, 2, chain));
	cfd = open_ns(h.pid);
	ASSERT_GE(cfd, 0);
	ASSERT_EQ(chain[1], ns_id(cfd));
	bfd = ioctl(cfd, NS_GET_PARENT);
	ASSERT_GE(bfd, 0) {
		TH_LOG("NS_GET_PARENT of C: %s", strerror(errno));
	}
	EXPECT_EQ(chain[0], ns_id(bfd));
	pfd = ioctl(bfd, NS_GET_PARENT);
	ASSERT_GE(pfd, 0) {
		TH_LOG("NS_GET_PARENT of B: %s", strerror(errno));
	}
	EXPECT_EQ(path_inum("/proc/self/ns/agent"), fd_inum(pfd));
	EXPECT_EQ(fd_inum(afd), fd_inum(pfd));
	EXPECT_EQ(ns_id(afd), ns_id(pfd));
	EXPECT_EQ(-1, ioctl(afd, NS_GET_PARENT));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(pfd, NS_GET_PARENT));
	EXPECT_EQ(EPERM, errno);
	close(pfd);
	close(bfd);
	close(cfd);
	close(afd);
	EXPECT_EQ(0, stop_holder(&h));
}

/*
 * Inside B, a child of A: NS_GET_PARENT of B, the caller's own session, is
 * EPERM (A is above it), and so is that of A, whose parent is higher
 * still.  The caller is root, which may setns(2) to A: the rule is about
 * where the caller is, not its privilege.
 */
TEST_F(nsfs, parent_of_the_callers_own_session_is_eperm)
{
	int afd, bfd;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	afd = open_self_ns();
	ASSERT_GE(afd, 0);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	bfd = open_self_ns();
	ASSERT_GE(bfd, 0);
	EXPECT_EQ(-1, ioctl(bfd, NS_GET_PARENT));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(afd, NS_GET_PARENT));
	EXPECT_EQ(EPERM, errno);
	/* It can still go back to A through a descriptor it kept. */
	ASSERT_EQ(0, setns(afd, 0));
	EXPECT_EQ(fd_inum(afd), path_inum("/proc/self/ns/agent"));
	close(bfd);
	close(afd);
}

TEST_F(nsfs, ids_are_unique_and_the_initial_id_is_nine)
{
	__u64 id = 0, before, first, second;
	int fd;

	fd = open("/proc/1/ns/agent", O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, NS_GET_ID, &id));
	EXPECT_EQ(AGENT_NS_INIT_ID, id);
	close(fd);

	before = self_ns_id();
	ASSERT_NE(0, before);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	fd = open_self_ns();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, NS_GET_ID, &first));
	close(fd);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	second = self_ns_id();
	EXPECT_NE(0, first);
	EXPECT_NE(0, second);
	EXPECT_NE(AGENT_NS_INIT_ID, first);
	EXPECT_NE(AGENT_NS_INIT_ID, second);
	EXPECT_NE(before, first);
	EXPECT_NE(before, second);
	EXPECT_NE(first, second);
}

TEST_F(nsfs, setns_enters_a_session_by_type_zero_and_agent_type)
{
	char want[33], now[33], viaprctl[33];
	struct holder a, b;
	int fda, fdb;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, start_holder(&a, 1));
	ASSERT_EQ(0, start_holder(&b, 1));
	fda = open_ns(a.pid);
	ASSERT_GE(fda, 0);
	fdb = open_ns(b.pid);
	ASSERT_GE(fdb, 0);

	ASSERT_EQ(0, read_pid_session(a.pid, want));
	ASSERT_EQ(0, setns(fda, 0));
	ASSERT_EQ(0, read_session("self", now));
	EXPECT_STREQ(want, now);
	ASSERT_EQ(0, prctl_session(viaprctl));
	EXPECT_STREQ(want, viaprctl);
	EXPECT_EQ(a.id, self_ns_id());

	/* From there into a sibling session, by the agent type. */
	ASSERT_EQ(0, read_pid_session(b.pid, want));
	ASSERT_EQ(0, setns(fdb, AGENT_NS_TYPE));
	ASSERT_EQ(0, read_session("self", now));
	EXPECT_STREQ(want, now);
	ASSERT_EQ(0, prctl_session(viaprctl));
	EXPECT_STREQ(want, viaprctl);
	EXPECT_EQ(b.id, self_ns_id());

	close(fda);
	close(fdb);
	EXPECT_EQ(0, stop_holder(&a));
	EXPECT_EQ(0, stop_holder(&b));
}

TEST_F(nsfs, setns_with_another_type_is_einval)
{
	char before[33], after[33];
	struct holder h;
	int fd, utsfd;

	ASSERT_EQ(0, start_holder(&h, 1));
	fd = open_ns(h.pid);
	ASSERT_GE(fd, 0);
	utsfd = open("/proc/self/ns/uts", O_RDONLY);
	ASSERT_GE(utsfd, 0);
	ASSERT_EQ(0, read_session("self", before));
	EXPECT_EQ(-1, setns(fd, CLONE_NEWUTS));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setns(utsfd, AGENT_NS_TYPE));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, read_session("self", after));
	EXPECT_STREQ(before, after);
	close(utsfd);
	close(fd);
	EXPECT_EQ(0, stop_holder(&h));
}

TEST_F(nsfs, unshare_of_the_agent_type_is_einval)
{
	char before[33], after[33];

	ASSERT_EQ(0, read_session("self", before));
	EXPECT_EQ(-1, unshare(AGENT_NS_TYPE));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, read_session("self", after));
	EXPECT_STREQ(before, after);
}

TEST_F(nsfs, setns_in_a_multithreaded_process_is_einval)
{
	char before[33], after[33];
	struct holder h;
	pthread_t t;
	int fd;

	ASSERT_EQ(0, start_holder(&h, 1));
	fd = open_ns(h.pid);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, read_session("self", before));
	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper, NULL));
	EXPECT_EQ(-1, setns(fd, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, read_session("self", after));
	EXPECT_STREQ(before, after);
	close(fd);
	EXPECT_EQ(0, stop_holder(&h));
}

TEST_F(nsfs, root_goes_back_from_a_child_session_to_its_parent)
{
	char parent[33], child[33], now[33];
	__u64 parent_id;
	int pfd;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, read_session("self", parent));
	pfd = open_self_ns();
	ASSERT_GE(pfd, 0);
	parent_id = ns_id(pfd);
	ASSERT_NE(0, parent_id);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, read_session("self", child));
	ASSERT_STRNE(parent, child);
	ASSERT_NE(parent_id, self_ns_id());

	ASSERT_EQ(0, setns(pfd, 0));
	EXPECT_EQ(parent_id, self_ns_id());
	ASSERT_EQ(0, read_session("self", now));
	EXPECT_STREQ(parent, now);
	close(pfd);
}

TEST_F(nsfs, unprivileged_create_without_no_new_privs_is_eperm)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char before[33], after[33];

		if (drop_to_nobody())
			_exit(10);
		if (read_session("self", before))
			_exit(11);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) != -1)
			_exit(12);
		if (errno != EPERM)
			_exit(13);
		if (read_session("self", after) || strcmp(before, after))
			_exit(14);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
}

TEST_F(nsfs, unprivileged_create_with_no_new_privs_is_owned_by_the_caller)
{
	/* Read as root: nobody may not look at pid 1's namespaces. */
	ino_t init_userns = path_inum("/proc/1/ns/user");
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char before[33], after[33];
		int fd, ufd;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || drop_to_nobody())
			_exit(10);
		if (read_session("self", before))
			_exit(11);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(12);
		if (read_session("self", after) || !strcmp(before, after))
			_exit(13);
		fd = open_self_ns();
		if (fd < 0)
			_exit(14);
		ufd = ioctl(fd, NS_GET_USERNS);
		if (ufd < 0)
			_exit(15);
		if (fd_inum(ufd) != path_inum("/proc/self/ns/user"))
			_exit(16);
		/* The caller's user namespace is the initial one here. */
		if (fd_inum(ufd) != init_userns)
			_exit(17);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
}

TEST_F(nsfs, create_in_a_new_user_namespace_is_owned_by_it)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		ino_t userns;
		int fd, ufd;

		/* Without no_new_privs: CAP_SYS_ADMIN in the new userns does. */
		if (drop_to_nobody())
			_exit(10);
		if (unshare(CLONE_NEWUSER))
			_exit(EXIT_NO_USERNS);
		userns = path_inum("/proc/self/ns/user");
		if (!userns || userns == path_inum("/proc/1/ns/user"))
			_exit(11);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(12);
		fd = open_self_ns();
		if (fd < 0)
			_exit(13);
		ufd = ioctl(fd, NS_GET_USERNS);
		if (ufd < 0)
			_exit(14);
		_exit(fd_inum(ufd) == userns ? 0 : 15);
	}
	status = wait_exit(pid);
	if (status == EXIT_NO_USERNS)
		SKIP(return, "unprivileged user namespaces are not available");
	EXPECT_EQ(0, status);
}

TEST_F(nsfs, unprivileged_cannot_leave_for_the_parent_or_a_sibling)
{
	struct holder sibling;
	int sibfd;
	pid_t pid;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, start_holder(&sibling, 1));
	sibfd = open_ns(sibling.pid);
	ASSERT_GE(sibfd, 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char before[33], after[33];
		int parentfd = open_self_ns();

		if (parentfd < 0)
			_exit(10);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || drop_to_nobody())
			_exit(11);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(12);
		if (read_session("self", before))
			_exit(13);
		if (setns(parentfd, 0) != -1 || errno != EPERM)
			_exit(14);
		if (setns(sibfd, 0) != -1 || errno != EPERM)
			_exit(15);
		if (read_session("self", after) || strcmp(before, after))
			_exit(16);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
	close(sibfd);
	EXPECT_EQ(0, stop_holder(&sibling));
}

/*
 * A new user namespace gives CAP_SYS_ADMIN in it, not over a session that
 * the initial user namespace owns: leaving that session stays refused.
 */
TEST_F(nsfs, user_namespace_root_cannot_leave_its_session)
{
	struct holder sibling;
	int sibfd, status;
	pid_t pid;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, start_holder(&sibling, 1));
	sibfd = open_ns(sibling.pid);
	ASSERT_GE(sibfd, 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char before[33], after[33];
		int parentfd = open_self_ns();
		int initfd = open("/proc/1/ns/agent", O_RDONLY);

		if (parentfd < 0 || initfd < 0)
			_exit(10);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(11);
		if (read_session("self", before))
			_exit(12);
		if (drop_to_nobody())
			_exit(13);
		if (unshare(CLONE_NEWUSER))
			_exit(EXIT_NO_USERNS);
		if (setns(parentfd, 0) != -1 || errno != EPERM)
			_exit(14);
		if (setns(initfd, 0) != -1 || errno != EPERM)
			_exit(15);
		if (setns(sibfd, 0) != -1 || errno != EPERM)
			_exit(16);
		if (read_session("self", after) || strcmp(before, after))
			_exit(17);
		_exit(0);
	}
	status = wait_exit(pid);
	close(sibfd);
	EXPECT_EQ(0, stop_holder(&sibling));
	if (status == EXIT_NO_USERNS)
		SKIP(return, "unprivileged user namespaces are not available");
	EXPECT_EQ(0, status);
}

TEST_F(nsfs, root_enters_a_descendant_session)
{
	char want[33], now[33];
	struct holder h;
	ino_t s1;
	int fd, pfd;

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	s1 = path_inum("/proc/self/ns/agent");
	ASSERT_EQ(0, start_holder(&h, 1));
	fd = open_ns(h.pid);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, read_pid_session(h.pid, want));
	/* From S1, the parent of the descendant is S1. */
	pfd = ioctl(fd, NS_GET_PARENT);
	ASSERT_GE(pfd, 0);
	EXPECT_EQ(s1, fd_inum(pfd));
	close(pfd);

	ASSERT_EQ(0, setns(fd, 0));
	ASSERT_EQ(0, read_session("self", now));
	EXPECT_STREQ(want, now);
	EXPECT_EQ(h.id, self_ns_id());
	EXPECT_EQ(fd_inum(fd), path_inum("/proc/self/ns/agent"));
	/* Entered, S1 is above the caller: no descriptor of it. */
	EXPECT_EQ(-1, ioctl(fd, NS_GET_PARENT));
	EXPECT_EQ(EPERM, errno);
	close(fd);
	EXPECT_EQ(0, stop_holder(&h));
}

TEST_F(nsfs, listns_lists_live_sessions_only)
{
	struct holder h;

	if (path_inum("/proc/self/ns/pid") != PID_NS_INIT_INO)
		SKIP(return, "needs the initial pid namespace");
	ASSERT_EQ(0, start_holder(&h, 1));
	ASSERT_NE(0, h.id);
	EXPECT_EQ(1, listed(AGENT_NS_TYPE, AGENT_NS_INIT_ID));
	EXPECT_EQ(1, listed(AGENT_NS_TYPE, h.id));
	EXPECT_EQ(1, listed(AGENT_NS_TYPE, self_ns_id()));

	/* Its only task gone and reaped, with no fd open, it is gone. */
	ASSERT_EQ(0, stop_holder(&h));
	EXPECT_EQ(0, listed(AGENT_NS_TYPE, h.id));
	EXPECT_EQ(1, listed(AGENT_NS_TYPE, AGENT_NS_INIT_ID));
}

TEST_F(nsfs, listns_filters_by_type)
{
	__u64 id;

	if (path_inum("/proc/self/ns/pid") != PID_NS_INIT_INO)
		SKIP(return, "needs the initial pid namespace");
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	id = self_ns_id();
	ASSERT_NE(0, id);
	EXPECT_EQ(1, listed(AGENT_NS_TYPE, id));
	EXPECT_EQ(0, listed(AGENT_NS_TYPE, UTS_NS_INIT_ID));
	EXPECT_EQ(1, listed(CLONE_NEWUTS, UTS_NS_INIT_ID));
	EXPECT_EQ(0, listed(CLONE_NEWUTS, AGENT_NS_INIT_ID));
	EXPECT_EQ(0, listed(CLONE_NEWUTS, id));
	/* No namespace type is bit 0. */
	EXPECT_EQ(-EOPNOTSUPP, listed(0x1, id));
}

/* On a kernel without agent namespaces every test is skipped (exit code 4). */
int main(int argc, char **argv)
{
	unsigned char id[AGENT_NS_ID_BYTES];

	if (prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespaces (CONFIG_AGENT_NS)\n");
	}
	/* A holder that died early must fail its test, not kill it. */
	signal(SIGPIPE, SIG_IGN);
	return test_harness_run(argc, argv);
}
