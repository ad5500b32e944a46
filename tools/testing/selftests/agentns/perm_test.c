// SPDX-License-Identifier: GPL-2.0
/*
 * The agent namespace permission matrix: who may create sessions, set
 * their intent and limits, read other tasks' counters, intent tags and
 * ids, get a descriptor of their session's parent, and move between
 * sessions with setns(2).  One test per cell of the table in
 * Documentation/admin-guide/agent-namespaces.rst, "Permission matrix",
 * named <row>__<column>.  The harness runs every test in a process of its
 * own, which takes the column's credentials itself, so that no cell sees
 * another's credentials or sessions.
 *
 * The columns, the caller:
 *
 *   unprivileged  uid 65534, no capabilities
 *   no_new_privs  uid 65534, no capabilities, no_new_privs set
 *   userns_root   uid 65534 after unshare(CLONE_NEWUSER) with uid and gid
 *                 0 mapped to 65534: uid 0 and every capability in its own
 *                 user namespace, none outside it
 *   root          uid 0 in the initial user namespace
 *   other_uid     uid 1001, no capabilities, no_new_privs set, acting on
 *                 tasks and sessions of uid 1000
 *
 * Every test but the create_session row starts by creating, as root, a
 * session of its own: the "supervisor's session" P, which the caller is in
 * when it takes its credentials.  Other tasks are "holders", processes
 * that take a uid, may create a session, and stay until the test ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>
#include <linux/nsfs.h>

#include "kselftest_harness.h"
#include "agentns_util.h"

/* The other_uid column: OTHER_UID acts on tasks and sessions of OWNER_UID. */
#define OWNER_UID	1000
#define OTHER_UID	1001
/* A holder that keeps its creator's credentials. */
#define KEEP_CREDS	((uid_t)-1)
#define ZERO_ID		"00000000000000000000000000000000"
#define TAG		"perm-matrix"
#define P_TAG		"supervisor"	/* the tag some tests give P */
#define MAX_HOLDERS	8

enum caller { UNPRIVILEGED, NO_NEW_PRIVS, USERNS_ROOT, ROOT, OTHER };

/* The limits a session under test starts with: never reached in a test. */
static const struct agent_ns_budget base_limits = {
	.max_syscalls		= 1ULL << 40,
	.max_write_bytes	= 1ULL << 40,
	.action			= AGENT_NS_ACTION_SIGTERM,
};

static int set_limits(const struct agent_ns_budget *b)
{
	return prctl(PR_SET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0) ? -errno : 0;
}

static int get_limits(struct agent_ns_budget *b)
{
	return prctl(PR_GET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0) ? -errno : 0;
}

static ino_t fd_inum(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static ino_t path_inum(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

/* The inode of the user namespace that owns the caller's session, or 0. */
static ino_t session_owner_inum(void)
{
	int fd = open("/proc/self/ns/agent", O_RDONLY), ufd;
	ino_t ino = 0;

	if (fd < 0)
		return 0;
	ufd = ioctl(fd, NS_GET_USERNS);
	if (ufd >= 0) {
		ino = fd_inum(ufd);
		close(ufd);
	}
	close(fd);
	return ino;
}

/*
 * Gives every uid and gid to @uid and, as an exec would, makes the task
 * dumpable again, so that tasks of that uid may look at it as at any
 * other process of theirs.  0 or -errno.
 */
static int drop_to(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) ? -errno : 0;
}

/* The credentials of column @c, short of userns_root's user namespace. */
static int drop_for(enum caller c)
{
	switch (c) {
	case UNPRIVILEGED:
	case USERNS_ROOT:
		return drop_to(NOBODY);
	case NO_NEW_PRIVS:
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			return -errno;
		return drop_to(NOBODY);
	case OTHER:
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			return -errno;
		return drop_to(OTHER_UID);
	case ROOT:
		return 0;
	}
	return -EINVAL;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* Maps uid and gid 0 of a new user namespace to the caller's: 0 or -errno. */
static int map_root(uid_t uid, gid_t gid)
{
	char map[32];
	int ret;

	ret = write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", uid);
	if (!ret)
		ret = write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", gid);
	if (!ret)
		ret = write_file("/proc/self/gid_map", map);
	if (!ret && (getuid() != 0 || geteuid() != 0 || getegid() != 0))
		ret = -EPROTO;
	return ret;
}

/* unshare(CLONE_NEWUSER) as root of it: false when the test is skipped. */
static bool enter_userns(struct __test_metadata *_metadata)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER))
		SKIP(return false, "no user namespace: %s", strerror(errno));
	ASSERT_EQ(0, map_root(uid, gid));
	return true;
}

/* Takes column @c's credentials: false when the test is skipped. */
static bool become(struct __test_metadata *_metadata, enum caller c)
{
	ASSERT_EQ(0, drop_for(c));
	return c == USERNS_ROOT ? enter_userns(_metadata) : true;
}

/* A process that stays in a session until the test ends. */
struct holder {
	pid_t pid;
	int go;			/* closing it lets the holder exit */
	int ready;		/* a LATE_USERNS holder's second report */
	char id[33];		/* its session id */
};

/* The holders' go descriptors, which later holders must not keep open. */
static int holder_gos[MAX_HOLDERS], nr_holders;

#define NEW_SESSION	0x1	/* the holder creates a session */
#define SET_LIMITS	0x2	/* and sets base_limits on it */
/* It first waits for holder_join_userns(), then joins its parent's user namespace. */
#define LATE_USERNS	0x4
#define SET_TAG		0x8	/* it sets the tag TAG on its session */
/* Let go, it exits with 19 unless its own agent_intent reads TAG. */
#define CHECK_TAG	0x10

/*
 * Reads an agent_intent file through @fd, which it closes: 0 when it reads
 * as @want and a newline, else -errno of read(2) (-EPROTO: something else).
 */
static int read_intent_fd(int fd, const char *want)
{
	char buf[AGENT_NS_INTENT_MAX + 2] = "", line[AGENT_NS_INTENT_MAX + 2];
	ssize_t n;

	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	snprintf(line, sizeof(line), "%s\n", want);
	return strcmp(buf, line) ? -EPROTO : 0;
}

/* The agent_intent file @path: as read_intent_fd(), or -errno of open(2). */
static int read_intent_file(const char *path, const char *want)
{
	int fd = open(path, O_RDONLY);

	return fd < 0 ? -errno : read_intent_fd(fd, want);
}

/*
 * Forks a holder that takes uid @uid (with no_new_privs, dumpable;
 * KEEP_CREDS keeps the caller's credentials), does what @flags say and
 * stays until the test ends.  0 or -errno (-EPROTO: the holder failed).
 */
static int holder_start(struct holder *h, uid_t uid, int flags)
{
	int ready[2], go[2];
	ssize_t n;
	char c;

	if (nr_holders == MAX_HOLDERS)
		return -ENOSPC;
	if (pipe(ready))
		return -errno;
	if (pipe(go)) {
		int err = -errno;

		close(ready[0]);
		close(ready[1]);
		return err;
	}
	h->pid = fork();
	if (h->pid < 0)
		return -errno;
	if (h->pid == 0) {
		char id[33], path[64];
		int fd;

		close(ready[0]);
		close(go[1]);
		for (int i = 0; i < nr_holders; i++)
			close(holder_gos[i]);
		if (uid != KEEP_CREDS &&
		    (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || drop_to(uid)))
			_exit(10);
		if (flags & LATE_USERNS) {
			if (read_session("self", id) ||
			    write(ready[1], id, sizeof(id)) != sizeof(id) ||
			    read(go[0], &c, 1) != 1)
				_exit(16);
			snprintf(path, sizeof(path), "/proc/%d/ns/user", getppid());
			fd = open(path, O_RDONLY);
			if (fd < 0 || setns(fd, CLONE_NEWUSER))
				_exit(17);
			close(fd);
		}
		if ((flags & NEW_SESSION) && prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(11);
		if ((flags & SET_LIMITS) && set_limits(&base_limits))
			_exit(12);
		if ((flags & SET_TAG) && prctl(PR_SET_AGENT_INTENT_TAG, TAG, 0, 0, 0))
			_exit(18);
		if (read_session("self", id))
			_exit(13);
		if (write(ready[1], id, sizeof(id)) != sizeof(id))
			_exit(14);
		n = read(go[0], &c, 1);
		if (n == 0 && (flags & CHECK_TAG) &&
		    read_intent_file("/proc/self/agent_intent", TAG))
			_exit(19);
		_exit(n == 0 ? 0 : 15);
	}
	close(ready[1]);
	close(go[0]);
	n = read(ready[0], h->id, sizeof(h->id));
	h->ready = -1;
	if (flags & LATE_USERNS)
		h->ready = ready[0];
	else
		close(ready[0]);
	if (n != sizeof(h->id)) {
		if (h->ready >= 0)
			close(h->ready);
		close(go[1]);
		fprintf(stderr, "# holder exited with status %d\n",
			wait_exit(h->pid));
		return -EPROTO;
	}
	h->go = go[1];
	holder_gos[nr_holders++] = go[1];
	return 0;
}

/*
 * Lets a LATE_USERNS holder join the user namespace of the test process,
 * which it owns (its euid created it), and then do what its flags say.
 * 0 or -EPROTO.
 */
static int holder_join_userns(struct holder *h)
{
	ssize_t n;

	if (h->ready < 0 || write(h->go, "j", 1) != 1)
		return -EPROTO;
	n = read(h->ready, h->id, sizeof(h->id));
	close(h->ready);
	h->ready = -1;
	return n == sizeof(h->id) ? 0 : -EPROTO;
}

/* Lets a holder exit and reaps it: its exit status, 0 if all went well. */
static int holder_stop(struct holder *h)
{
	for (int i = 0; i < nr_holders; i++)
		if (holder_gos[i] == h->go)
			holder_gos[i] = -1;
	close(h->go);
	return wait_exit(h->pid);
}

/* open(2) of /proc/@pid/ns/agent: a descriptor, or -errno. */
static int open_ns_of(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/agent", pid);
	fd = open(path, O_RDONLY);
	return fd < 0 ? -errno : fd;
}

/* open(2) of /proc/self/ns/agent: a descriptor, or -errno. */
static int self_ns_fd(void)
{
	int fd = open("/proc/self/ns/agent", O_RDONLY);

	return fd < 0 ? -errno : fd;
}

/* NS_GET_PARENT of the caller's session: a descriptor, or -errno. */
static int parent_ns_fd(void)
{
	int fd = open("/proc/self/ns/agent", O_RDONLY), pfd;

	if (fd < 0)
		return -errno;
	pfd = ioctl(fd, NS_GET_PARENT);
	if (pfd < 0)
		pfd = -errno;
	close(fd);
	return pfd;
}

/* setns(2) into the session of @pid: 0 or -errno (of the open or setns). */
static int enter_session_of(pid_t pid)
{
	int fd = open_ns_of(pid), ret;

	if (fd < 0)
		return fd;
	ret = setns(fd, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * Reads /proc/@pid/agent_counters: 0 when it lists the nine counters, else
 * -errno of open(2) or read(2) (-EPROTO: something else in it).
 */
static int read_counters_of(pid_t pid)
{
	char path[64], buf[1024];
	int fd, lines = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/agent_counters", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return strncmp(buf, "syscalls ", 9) || lines != 9 ? -EPROTO : 0;
}

static void hex_id(const unsigned char id[AGENT_NS_ID_BYTES], char out[33])
{
	for (int i = 0; i < AGENT_NS_ID_BYTES; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

/* As root: puts the test in a session of its own, the supervisor's. */
static void supervisor_session(struct __test_metadata *_metadata, bool limits)
{
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	if (limits)
		ASSERT_EQ(0, set_limits(&base_limits));
}

/* As root: moves the test to the initial session unless it is there. */
static void to_initial_session(struct __test_metadata *_metadata)
{
	char id[33];
	int fd;

	ASSERT_EQ(0, read_session("self", id));
	if (!strcmp(id, ZERO_ID))
		return;
	fd = open("/proc/1/ns/agent", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setns(fd, 0));
	close(fd);
	ASSERT_EQ(0, read_session("self", id));
	ASSERT_STREQ(ZERO_ID, id);
}

/*
 * The other_uid caller in a session of OWNER_UID: a holder of OWNER_UID
 * creates the session (with @flags), root enters it and takes the
 * other_uid credentials.
 */
static void other_uid_in_owner_session(struct __test_metadata *_metadata,
				       struct holder *owner, int flags)
{
	char id[33];

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(owner, OWNER_UID, NEW_SESSION | flags));
	ASSERT_EQ(0, enter_session_of(owner->pid));
	ASSERT_EQ(0, read_session("self", id));
	ASSERT_STREQ(owner->id, id);
	ASSERT_EQ(0, drop_for(OTHER));
}

/*
 * The expect_*() helpers check one operation against @err, the result the
 * design gives: 0 for allowed, else -errno.
 *
 * PR_SET_AGENT_NS: when allowed, the new session is a child of the
 * caller's previous one, owned by the caller's user namespace; a refused
 * call leaves the caller where it was.
 */
static void expect_create(struct __test_metadata *_metadata, int err)
{
	unsigned char parent[AGENT_NS_ID_BYTES];
	char before[33], after[33], parent_hex[33];
	int ret;

	ASSERT_EQ(0, read_session("self", before));
	ret = prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) ? -errno : 0;
	EXPECT_EQ(err, ret) {
		TH_LOG("PR_SET_AGENT_NS: %s", ret ? strerror(-ret) : "allowed");
	}
	ASSERT_EQ(0, read_session("self", after));
	if (ret) {
		EXPECT_STREQ(before, after);
		return;
	}
	EXPECT_STRNE(before, after);
	ASSERT_EQ(0, prctl(PR_GET_AGENT_PARENT_ID, parent, 0, 0, 0));
	hex_id(parent, parent_hex);
	EXPECT_STREQ(before, parent_hex);
	EXPECT_EQ(path_inum("/proc/self/ns/user"), session_owner_inum());
}

/* PR_SET_AGENT_INTENT_TAG of TAG: @err, or 0 for allowed and read back. */
static void expect_intent(struct __test_metadata *_metadata, int err)
{
	char before[AGENT_NS_INTENT_MAX + 1], after[AGENT_NS_INTENT_MAX + 1];
	int ret;

	ASSERT_EQ(0, prctl(PR_GET_AGENT_INTENT_TAG, before, 0, 0, 0));
	ret = prctl(PR_SET_AGENT_INTENT_TAG, TAG, 0, 0, 0) ? -errno : 0;
	EXPECT_EQ(err, ret) {
		TH_LOG("PR_SET_AGENT_INTENT_TAG: %s",
		       ret ? strerror(-ret) : "allowed");
	}
	ASSERT_EQ(0, prctl(PR_GET_AGENT_INTENT_TAG, after, 0, 0, 0));
	EXPECT_STREQ(ret ? before : TAG, after);
}

/*
 * Checks that the caller's session has base_limits, then tries three ways
 * of tightening them, each on top of the last one allowed: lower a limit,
 * add one, change the action to SIGKILL.  Each gives @err (0: allowed).
 */
static void expect_tighten(struct __test_metadata *_metadata, int err)
{
	struct agent_ns_budget now = base_limits, b, got;
	int ret;

	ASSERT_EQ(0, get_limits(&got));
	ASSERT_EQ(0, memcmp(&base_limits, &got, sizeof(got)));
	for (int step = 0; step < 3; step++) {
		b = now;
		if (step == 0)
			b.max_syscalls /= 2;
		else if (step == 1)
			b.max_openat = 1ULL << 40;
		else
			b.action = AGENT_NS_ACTION_SIGKILL;
		ret = set_limits(&b);
		EXPECT_EQ(err, ret) {
			TH_LOG("tightening step %d: %s", step,
			       ret ? strerror(-ret) : "allowed");
		}
		if (!ret)
			now = b;
		ASSERT_EQ(0, get_limits(&got));
		EXPECT_EQ(0, memcmp(&now, &got, sizeof(got)));
	}
}

/*
 * Checks that the caller's session has base_limits, then tries three ways
 * of loosening them: raise a limit, remove one, change the action
 * (SIGTERM) to log.  Each gives @err (0: allowed; base_limits is then put
 * back, a tightening).  A refused step leaves the limits as they were.
 */
static void expect_loosen(struct __test_metadata *_metadata, int err)
{
	struct agent_ns_budget b, got;
	int ret;

	ASSERT_EQ(0, get_limits(&got));
	ASSERT_EQ(0, memcmp(&base_limits, &got, sizeof(got)));
	for (int step = 0; step < 3; step++) {
		b = base_limits;
		if (step == 0)
			b.max_syscalls *= 2;
		else if (step == 1)
			b.max_write_bytes = 0;
		else
			b.action = AGENT_NS_ACTION_LOG;
		ret = set_limits(&b);
		EXPECT_EQ(err, ret) {
			TH_LOG("loosening step %d: %s", step,
			       ret ? strerror(-ret) : "allowed");
		}
		ASSERT_EQ(0, get_limits(&got));
		EXPECT_EQ(0, memcmp(ret ? &base_limits : &b, &got, sizeof(got)));
		if (!ret)
			ASSERT_EQ(0, set_limits(&base_limits));
	}
}

/* /proc/@pid/agent_counters: @err, or 0 for the counters. */
static void expect_counters(struct __test_metadata *_metadata, pid_t pid,
			    int err)
{
	int ret = read_counters_of(pid);

	EXPECT_EQ(err, ret) {
		TH_LOG("/proc/%d/agent_counters: %s", pid,
		       ret ? strerror(-ret) : "readable");
	}
}

/*
 * /proc/@pid/agent_intent and /proc/@pid/task/@pid/agent_intent: @err, or
 * 0 for @want and a newline.
 */
static void expect_intent_of(struct __test_metadata *_metadata, pid_t pid,
			     const char *want, int err)
{
	char path[2][80];
	int ret;

	snprintf(path[0], sizeof(path[0]), "/proc/%d/agent_intent", pid);
	snprintf(path[1], sizeof(path[1]), "/proc/%d/task/%d/agent_intent", pid, pid);
	for (int i = 0; i < 2; i++) {
		ret = read_intent_file(path[i], want);
		EXPECT_EQ(err, ret) {
			TH_LOG("%s: %s", path[i], ret ? strerror(-ret) : "readable");
		}
	}
}

/* /proc/@pid/agent_session: @err, or 0 for @want. */
static void expect_session_id(struct __test_metadata *_metadata, pid_t pid,
			      const char *want, int err)
{
	char who[16], id[33];
	int ret;

	snprintf(who, sizeof(who), "%d", pid);
	ret = read_session(who, id);
	EXPECT_EQ(err, ret) {
		TH_LOG("/proc/%d/agent_session: %s", pid,
		       ret ? strerror(-ret) : "readable");
	}
	if (!ret)
		EXPECT_STREQ(want, id);
}

/* open(2) of /proc/@pid/ns/agent: @err, or 0 and the descriptor. */
static int expect_open_ns(struct __test_metadata *_metadata, pid_t pid,
			  int err)
{
	int fd = open_ns_of(pid);

	EXPECT_EQ(err, fd < 0 ? fd : 0) {
		TH_LOG("open /proc/%d/ns/agent: %s", pid,
		       fd < 0 ? strerror(-fd) : "allowed");
	}
	if (fd >= 0 && err) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * setns(@fd, 0): @err, or 0 and the caller is then in session @want; a
 * refused setns leaves it where it was.  Closes @fd.
 */
static void expect_setns(struct __test_metadata *_metadata, int fd, int err,
			 const char *want)
{
	char before[33], after[33];
	int ret;

	ASSERT_LE(0, fd) {
		TH_LOG("no descriptor to try setns with: %s", strerror(-fd));
	}
	ASSERT_EQ(0, read_session("self", before));
	ret = setns(fd, 0) ? -errno : 0;
	close(fd);
	EXPECT_EQ(err, ret) {
		TH_LOG("setns: %s", ret ? strerror(-ret) : "allowed");
	}
	ASSERT_EQ(0, read_session("self", after));
	EXPECT_STREQ(ret ? before : want, after);
}

/*
 * Row create_session: PR_SET_AGENT_NS in the initial session.  Allowed with
 * CAP_SYS_ADMIN in the caller's user namespace or with no_new_privs.
 */
TEST(create_session__unprivileged)
{
	to_initial_session(_metadata);
	become(_metadata, UNPRIVILEGED);
	expect_create(_metadata, -EPERM);
}

TEST(create_session__no_new_privs)
{
	to_initial_session(_metadata);
	become(_metadata, NO_NEW_PRIVS);
	expect_create(_metadata, 0);
}

TEST(create_session__userns_root)
{
	ino_t init_userns = path_inum("/proc/self/ns/user");

	to_initial_session(_metadata);
	if (!become(_metadata, USERNS_ROOT))
		return;
	expect_create(_metadata, 0);
	/* Owned by the new user namespace, not the initial one. */
	EXPECT_NE(init_userns, session_owner_inum());
}

TEST(create_session__root)
{
	to_initial_session(_metadata);
	become(_metadata, ROOT);
	expect_create(_metadata, 0);
}

/* The initial session holds tasks of every uid; no other task is involved. */
TEST(create_session__other_uid)
{
	to_initial_session(_metadata);
	become(_metadata, OTHER);
	expect_create(_metadata, 0);
}

/* Row create_nested_session: PR_SET_AGENT_NS inside a session. */
TEST(create_nested_session__unprivileged)
{
	supervisor_session(_metadata, false);
	become(_metadata, UNPRIVILEGED);
	expect_create(_metadata, -EPERM);
}

/* Below the supervisor's session, then below its own. */
TEST(create_nested_session__no_new_privs)
{
	supervisor_session(_metadata, false);
	become(_metadata, NO_NEW_PRIVS);
	expect_create(_metadata, 0);
	expect_create(_metadata, 0);
}

/*
 * Below the supervisor's session, which the initial user namespace owns;
 * the new session is owned by its own user namespace.
 */
TEST(create_nested_session__userns_root)
{
	ino_t init_userns = path_inum("/proc/self/ns/user");

	supervisor_session(_metadata, false);
	if (!become(_metadata, USERNS_ROOT))
		return;
	expect_create(_metadata, 0);
	EXPECT_NE(init_userns, session_owner_inum());
}

TEST(create_nested_session__root)
{
	supervisor_session(_metadata, false);
	become(_metadata, ROOT);
	expect_create(_metadata, 0);
}

/* Below a session that uid 1000 created. */
TEST(create_nested_session__other_uid)
{
	struct holder owner;

	other_uid_in_owner_session(_metadata, &owner, 0);
	expect_create(_metadata, 0);
	EXPECT_EQ(0, holder_stop(&owner));
}

/* Row set_intent: any task of a session may set its tag. */
TEST(set_intent__unprivileged)
{
	supervisor_session(_metadata, false);
	become(_metadata, UNPRIVILEGED);
	expect_intent(_metadata, 0);
}

/* In a session it created itself. */
TEST(set_intent__no_new_privs)
{
	supervisor_session(_metadata, false);
	become(_metadata, NO_NEW_PRIVS);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_intent(_metadata, 0);
}

/* In the supervisor's session, owned by the initial user namespace. */
TEST(set_intent__userns_root)
{
	supervisor_session(_metadata, false);
	if (!become(_metadata, USERNS_ROOT))
		return;
	expect_intent(_metadata, 0);
}

TEST(set_intent__root)
{
	supervisor_session(_metadata, false);
	become(_metadata, ROOT);
	expect_intent(_metadata, 0);
}

/*
 * In uid 1000's session: uid 1000's task sees the new tag in its own
 * /proc/PID/agent_intent (CHECK_TAG).  uid 1001 reads the tag in its own
 * process's file, not in uid 1000's task's (row read_intent).
 */
TEST(set_intent__other_uid)
{
	struct holder owner;

	other_uid_in_owner_session(_metadata, &owner, CHECK_TAG);
	expect_intent(_metadata, 0);
	expect_intent_of(_metadata, getpid(), TAG, 0);
	expect_intent_of(_metadata, owner.pid, TAG, -EACCES);
	EXPECT_EQ(0, holder_stop(&owner));
}

/* Row tighten_limit: any task of a session may tighten its limits. */
TEST(tighten_limit__unprivileged)
{
	supervisor_session(_metadata, true);
	become(_metadata, UNPRIVILEGED);
	expect_tighten(_metadata, 0);
}

/* Limits on a session it created itself. */
TEST(tighten_limit__no_new_privs)
{
	supervisor_session(_metadata, false);
	become(_metadata, NO_NEW_PRIVS);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, set_limits(&base_limits));
	expect_tighten(_metadata, 0);
}

TEST(tighten_limit__userns_root)
{
	supervisor_session(_metadata, true);
	if (!become(_metadata, USERNS_ROOT))
		return;
	expect_tighten(_metadata, 0);
}

TEST(tighten_limit__root)
{
	supervisor_session(_metadata, true);
	become(_metadata, ROOT);
	expect_tighten(_metadata, 0);
}

/* The limits uid 1000 set on its session. */
TEST(tighten_limit__other_uid)
{
	struct holder owner;

	other_uid_in_owner_session(_metadata, &owner, SET_LIMITS);
	expect_tighten(_metadata, 0);
	EXPECT_EQ(0, holder_stop(&owner));
}

/*
 * Row loosen_limit: needs CAP_SYS_ADMIN over the session's owner, which is
 * the initial user namespace for every session here but the one that
 * userns_root creates itself.
 */
TEST(loosen_limit__unprivileged)
{
	supervisor_session(_metadata, true);
	become(_metadata, UNPRIVILEGED);
	expect_loosen(_metadata, -EPERM);
}

/* Not even the limits it set itself, on the session it created itself. */
TEST(loosen_limit__no_new_privs)
{
	supervisor_session(_metadata, false);
	become(_metadata, NO_NEW_PRIVS);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, set_limits(&base_limits));
	expect_loosen(_metadata, -EPERM);
}

/* Refused in the supervisor's session, allowed in one its namespace owns. */
TEST(loosen_limit__userns_root)
{
	supervisor_session(_metadata, true);
	if (!become(_metadata, USERNS_ROOT))
		return;
	expect_loosen(_metadata, -EPERM);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, set_limits(&base_limits));
	expect_loosen(_metadata, 0);
}

TEST(loosen_limit__root)
{
	supervisor_session(_metadata, true);
	become(_metadata, ROOT);
	expect_loosen(_metadata, 0);
}

TEST(loosen_limit__other_uid)
{
	struct holder owner;

	other_uid_in_owner_session(_metadata, &owner, SET_LIMITS);
	expect_loosen(_metadata, -EPERM);
	EXPECT_EQ(0, holder_stop(&owner));
}

/*
 * Row change_action, every pair of actions: a member may change the action
 * only to one that binds at least as much, log to any and any to SIGKILL.
 * Deny and SIGTERM do not replace each other: a task that ignores SIGTERM
 * would go on past a deny limit, and one under deny is never told to end.
 * Each pair in a session of its own, set up as root and changed as nobody;
 * a refused change leaves the action as it was.
 */
TEST(change_action__unprivileged)
{
	static const __u32 act[] = {
		AGENT_NS_ACTION_LOG, AGENT_NS_ACTION_DENY,
		AGENT_NS_ACTION_SIGTERM, AGENT_NS_ACTION_SIGKILL,
	};
	static const char * const name[] = { "log", "deny", "SIGTERM", "SIGKILL" };
	static const int want[4][4] = {
		/* to log,  deny,    SIGTERM, SIGKILL */
		{ 0,	    0,	     0,	      0 },	/* from log */
		{ -EPERM,   0,	     -EPERM,  0 },	/* from deny */
		{ -EPERM,   -EPERM,  0,	      0 },	/* from SIGTERM */
		{ -EPERM,   -EPERM,  -EPERM,  0 },	/* from SIGKILL */
	};

	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++) {
			int status;
			pid_t pid = fork();

			ASSERT_LE(0, pid);
			if (pid == 0) {
				struct agent_ns_budget b = base_limits, got;
				int ret;

				b.action = act[i];
				if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) ||
				    set_limits(&b) || drop_to(NOBODY))
					_exit(100);
				b.action = act[j];
				ret = set_limits(&b);
				if (get_limits(&got))
					_exit(101);
				if (got.action != (ret ? act[i] : act[j]))
					_exit(102);
				_exit(ret == -EPERM ? 1 : ret ? 103 : 0);
			}
			ASSERT_EQ(pid, waitpid(pid, &status, 0));
			ASSERT_TRUE(WIFEXITED(status));
			EXPECT_EQ(want[i][j] ? 1 : 0, WEXITSTATUS(status)) {
				TH_LOG("%s to %s: exit %d (1: EPERM; 100-103: setup, readback)",
				       name[i], name[j], WEXITSTATUS(status));
			}
		}
	}
}

/*
 * Row read_counters: /proc/PID/agent_counters of a task in another session
 * (a holder's own, below the supervisor's), which needs
 * PTRACE_MODE_READ_FSCREDS access to the task.  The target runs as the
 * caller's own uid in the first three columns, as uid 1000 in the others.
 * There is no prctl(2) path: PR_GET_AGENT_COUNTERS reads the caller's own
 * session only.
 */
TEST(read_counters__unprivileged)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION));
	become(_metadata, UNPRIVILEGED);
	expect_counters(_metadata, t.pid, 0);
	/* A task of another uid: root's. */
	expect_counters(_metadata, getppid(), -EACCES);
	EXPECT_EQ(0, holder_stop(&t));
}

TEST(read_counters__no_new_privs)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION));
	become(_metadata, NO_NEW_PRIVS);
	expect_counters(_metadata, t.pid, 0);
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * Refused for a task of the same uid outside its user namespace (ptrace
 * access needs CAP_SYS_PTRACE in the target's user namespace), allowed for
 * one inside it.
 */
TEST(read_counters__userns_root)
{
	struct holder outside, inside;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&outside, NOBODY, NEW_SESSION));
	if (!become(_metadata, USERNS_ROOT))
		return;
	ASSERT_EQ(0, holder_start(&inside, KEEP_CREDS, NEW_SESSION));
	expect_counters(_metadata, outside.pid, -EACCES);
	expect_counters(_metadata, inside.pid, 0);
	EXPECT_EQ(0, holder_stop(&inside));
	EXPECT_EQ(0, holder_stop(&outside));
}

TEST(read_counters__root)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION));
	become(_metadata, ROOT);
	expect_counters(_metadata, t.pid, 0);
	EXPECT_EQ(0, holder_stop(&t));
}

TEST(read_counters__other_uid)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION));
	become(_metadata, OTHER);
	expect_counters(_metadata, t.pid, -EACCES);
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * The modes of the per-task files, of the process and of its thread:
 * agent_counters and agent_intent are private (0400, plus the ptrace
 * check of the read rows), agent_session is for everyone (0444).
 */
TEST(proc_file_modes)
{
	static const char * const dirs[] = { "/proc/self", "/proc/self/task/%d", "/proc/1" };
	static const struct {
		const char *name;
		mode_t mode;
	} files[] = {
		{ "agent_counters", S_IFREG | 0400 },
		{ "agent_intent", S_IFREG | 0400 },
		{ "agent_session", S_IFREG | 0444 },
	};
	char dir[64], path[128];
	struct stat st;

	for (int d = 0; d < 3; d++) {
		snprintf(dir, sizeof(dir), dirs[d], gettid());
		for (int f = 0; f < 3; f++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[f].name);
			ASSERT_EQ(0, stat(path, &st)) {
				TH_LOG("stat %s: %s", path, strerror(errno));
			}
			EXPECT_EQ(files[f].mode, st.st_mode) {
				TH_LOG("%s: mode 0%o", path, st.st_mode);
			}
		}
	}
}

/*
 * Row read_intent: /proc/PID/agent_intent.  Any task of a session sets its
 * tag, so the file is as private as agent_counters (mode 0400 and
 * PTRACE_MODE_READ_FSCREDS access to the task): EACCES from open(2) or
 * read(2) otherwise.  The targets are as in read_counters, tagged TAG, and
 * in the first three columns also a root task in the caller's own session,
 * P, tagged P_TAG; the caller's own process is always readable.
 */
TEST(read_intent__unprivileged)
{
	struct holder t, mate;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_INTENT_TAG, P_TAG, 0, 0, 0));
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION | SET_TAG));
	ASSERT_EQ(0, holder_start(&mate, KEEP_CREDS, 0));
	become(_metadata, UNPRIVILEGED);
	expect_intent_of(_metadata, getpid(), P_TAG, 0);
	expect_intent_of(_metadata, t.pid, TAG, 0);
	expect_intent_of(_metadata, mate.pid, P_TAG, -EACCES);
	/* A task of another uid in another session: root's. */
	expect_intent_of(_metadata, getppid(), "", -EACCES);
	EXPECT_EQ(0, holder_stop(&mate));
	EXPECT_EQ(0, holder_stop(&t));
}

TEST(read_intent__no_new_privs)
{
	struct holder t, mate;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_INTENT_TAG, P_TAG, 0, 0, 0));
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION | SET_TAG));
	ASSERT_EQ(0, holder_start(&mate, KEEP_CREDS, 0));
	become(_metadata, NO_NEW_PRIVS);
	expect_intent_of(_metadata, getpid(), P_TAG, 0);
	expect_intent_of(_metadata, t.pid, TAG, 0);
	expect_intent_of(_metadata, mate.pid, P_TAG, -EACCES);
	EXPECT_EQ(0, holder_stop(&mate));
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * A task of the same uid outside its user namespace: the file opens (the
 * caller's uid owns it), the read is refused (ptrace access needs
 * CAP_SYS_PTRACE in the target's user namespace).  One inside it: read.
 */
TEST(read_intent__userns_root)
{
	struct holder outside, inside, mate;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_INTENT_TAG, P_TAG, 0, 0, 0));
	ASSERT_EQ(0, holder_start(&outside, NOBODY, NEW_SESSION | SET_TAG));
	ASSERT_EQ(0, holder_start(&mate, KEEP_CREDS, 0));
	if (!become(_metadata, USERNS_ROOT))
		return;
	ASSERT_EQ(0, holder_start(&inside, KEEP_CREDS, NEW_SESSION | SET_TAG));
	expect_intent_of(_metadata, getpid(), P_TAG, 0);
	expect_intent_of(_metadata, outside.pid, TAG, -EACCES);
	expect_intent_of(_metadata, inside.pid, TAG, 0);
	expect_intent_of(_metadata, mate.pid, P_TAG, -EACCES);
	EXPECT_EQ(0, holder_stop(&inside));
	EXPECT_EQ(0, holder_stop(&mate));
	EXPECT_EQ(0, holder_stop(&outside));
}

/* Every task's, pid 1's too (the initial session has no tag). */
TEST(read_intent__root)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION | SET_TAG));
	become(_metadata, ROOT);
	expect_intent_of(_metadata, t.pid, TAG, 0);
	expect_intent_of(_metadata, 1, "", 0);
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * uid 1000's task in another session and in the caller's own session
 * (uid 1000's, tagged TAG): both refused.  Its own process: read.
 */
TEST(read_intent__other_uid)
{
	struct holder t, owner;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION | SET_TAG));
	ASSERT_EQ(0, holder_start(&owner, OWNER_UID, NEW_SESSION | SET_TAG));
	ASSERT_EQ(0, enter_session_of(owner.pid));
	ASSERT_EQ(0, drop_for(OTHER));
	expect_intent_of(_metadata, getpid(), TAG, 0);
	expect_intent_of(_metadata, t.pid, TAG, -EACCES);
	expect_intent_of(_metadata, owner.pid, TAG, -EACCES);
	EXPECT_EQ(0, holder_stop(&owner));
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * The finding behind the rule: any member sets the tag, so a file every
 * user could read let a member publish text to all of them.  Root reads
 * every task's.  uid 1000 reads its own process's and that of its own
 * other task; not that of a root task in another session, nor in its own
 * session, nor pid 1's: open(2) is refused (mode 0400, root's file), and
 * so is read(2) through a descriptor root opened before (the ptrace
 * check).  agent_session stays readable by everyone.
 */
TEST(read_intent__uid_1000_and_root_tasks)
{
	struct holder mate, other, own;
	char path[64], p_id[33];
	int fd;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_INTENT_TAG, P_TAG, 0, 0, 0));
	ASSERT_EQ(0, read_session("self", p_id));
	ASSERT_EQ(0, holder_start(&mate, KEEP_CREDS, 0));
	ASSERT_EQ(0, holder_start(&other, KEEP_CREDS, NEW_SESSION | SET_TAG));
	ASSERT_EQ(0, holder_start(&own, OWNER_UID, NEW_SESSION | SET_TAG));
	expect_intent_of(_metadata, getpid(), P_TAG, 0);
	expect_intent_of(_metadata, mate.pid, P_TAG, 0);
	expect_intent_of(_metadata, other.pid, TAG, 0);
	expect_intent_of(_metadata, own.pid, TAG, 0);
	expect_intent_of(_metadata, 1, "", 0);
	snprintf(path, sizeof(path), "/proc/%d/agent_intent", mate.pid);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, drop_to(OWNER_UID));
	expect_intent_of(_metadata, getpid(), P_TAG, 0);
	expect_intent_of(_metadata, own.pid, TAG, 0);
	expect_intent_of(_metadata, mate.pid, P_TAG, -EACCES);
	expect_intent_of(_metadata, other.pid, TAG, -EACCES);
	expect_intent_of(_metadata, 1, "", -EACCES);
	EXPECT_EQ(-EACCES, read_intent_fd(fd, P_TAG));
	expect_session_id(_metadata, mate.pid, p_id, 0);
	expect_session_id(_metadata, other.pid, other.id, 0);
	EXPECT_EQ(0, holder_stop(&own));
	EXPECT_EQ(0, holder_stop(&other));
	EXPECT_EQ(0, holder_stop(&mate));
}

/*
 * Row read_session_id: /proc/PID/agent_session (mode 0444) of a task in
 * another session, the targets as in read_counters; pid 1 too.
 */
TEST(read_session_id__unprivileged)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION));
	become(_metadata, UNPRIVILEGED);
	expect_session_id(_metadata, t.pid, t.id, 0);
	expect_session_id(_metadata, 1, ZERO_ID, 0);
	EXPECT_EQ(0, holder_stop(&t));
}

TEST(read_session_id__no_new_privs)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION));
	become(_metadata, NO_NEW_PRIVS);
	expect_session_id(_metadata, t.pid, t.id, 0);
	expect_session_id(_metadata, 1, ZERO_ID, 0);
	EXPECT_EQ(0, holder_stop(&t));
}

TEST(read_session_id__userns_root)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION));
	if (!become(_metadata, USERNS_ROOT))
		return;
	expect_session_id(_metadata, t.pid, t.id, 0);
	expect_session_id(_metadata, 1, ZERO_ID, 0);
	EXPECT_EQ(0, holder_stop(&t));
}

TEST(read_session_id__root)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION));
	become(_metadata, ROOT);
	expect_session_id(_metadata, t.pid, t.id, 0);
	EXPECT_EQ(0, holder_stop(&t));
}

TEST(read_session_id__other_uid)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION));
	become(_metadata, OTHER);
	expect_session_id(_metadata, t.pid, t.id, 0);
	expect_session_id(_metadata, 1, ZERO_ID, 0);
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * Row setns_into_session: setns(2) through /proc/PID/ns/agent into a child
 * of the caller's session, which a holder created: nothing is left, so
 * only the entering check applies, CAP_SYS_ADMIN over the target's owner
 * and in the caller's user namespace.
 */
TEST(setns_into_session__unprivileged)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION));
	become(_metadata, UNPRIVILEGED);
	expect_setns(_metadata, expect_open_ns(_metadata, t.pid, 0), -EPERM,
		     t.id);
	EXPECT_EQ(0, holder_stop(&t));
}

/* A child of the session it created itself, made by its own child. */
TEST(setns_into_session__no_new_privs)
{
	struct holder t;

	supervisor_session(_metadata, false);
	become(_metadata, NO_NEW_PRIVS);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, holder_start(&t, KEEP_CREDS, NEW_SESSION));
	expect_setns(_metadata, expect_open_ns(_metadata, t.pid, 0), -EPERM,
		     t.id);
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * A child session owned by the initial user namespace: the namespace file
 * is out of reach from inside the user namespace (EACCES), and setns
 * through a descriptor opened before is refused.  A child session owned by
 * its own user namespace: allowed.
 */
TEST(setns_into_session__userns_root)
{
	struct holder outside, inside;
	int fd;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&outside, NOBODY, NEW_SESSION));
	ASSERT_EQ(0, drop_for(USERNS_ROOT));
	fd = open_ns_of(outside.pid);
	if (!enter_userns(_metadata))
		return;
	ASSERT_EQ(0, holder_start(&inside, KEEP_CREDS, NEW_SESSION));
	expect_open_ns(_metadata, outside.pid, -EACCES);
	expect_setns(_metadata, fd, -EPERM, outside.id);
	expect_setns(_metadata, expect_open_ns(_metadata, inside.pid, 0), 0,
		     inside.id);
	EXPECT_EQ(0, holder_stop(&inside));
	EXPECT_EQ(0, holder_stop(&outside));
}

TEST(setns_into_session__root)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION));
	become(_metadata, ROOT);
	expect_setns(_metadata, expect_open_ns(_metadata, t.pid, 0), 0, t.id);
	EXPECT_EQ(0, holder_stop(&t));
}

/* uid 1000's session: its namespace file is EACCES, a descriptor EPERM. */
TEST(setns_into_session__other_uid)
{
	struct holder t;
	int fd;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION));
	fd = open_ns_of(t.pid);
	become(_metadata, OTHER);
	expect_open_ns(_metadata, t.pid, -EACCES);
	expect_setns(_metadata, fd, -EPERM, t.id);
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * Row get_parent_of_own_session: NS_GET_PARENT on the caller's own
 * session's file.  As for pid namespaces, no descriptor of a session above
 * the caller's own is handed out, whatever its privilege: EPERM.  The
 * callers are where the setns_to_parent row has them.
 */
static void expect_no_parent(struct __test_metadata *_metadata)
{
	int fd = parent_ns_fd();

	EXPECT_EQ(-EPERM, fd) {
		TH_LOG("NS_GET_PARENT of its own session: %s",
		       fd < 0 ? strerror(-fd) : "a descriptor");
	}
	if (fd >= 0)
		close(fd);
}

/* In a child of the supervisor's session that root created and put it in. */
TEST(get_parent_of_own_session__unprivileged)
{
	supervisor_session(_metadata, false);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	become(_metadata, UNPRIVILEGED);
	expect_no_parent(_metadata);
}

/* In the supervisor's session, then in the session it created itself. */
TEST(get_parent_of_own_session__no_new_privs)
{
	supervisor_session(_metadata, false);
	become(_metadata, NO_NEW_PRIVS);
	expect_no_parent(_metadata);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_no_parent(_metadata);
}

/* In a session its user namespace owns, then in one below that. */
TEST(get_parent_of_own_session__userns_root)
{
	supervisor_session(_metadata, false);
	if (!become(_metadata, USERNS_ROOT))
		return;
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_no_parent(_metadata);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_no_parent(_metadata);
}

/* Even root, which may setns(2) to the parent (row setns_to_parent). */
TEST(get_parent_of_own_session__root)
{
	supervisor_session(_metadata, false);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	become(_metadata, ROOT);
	expect_no_parent(_metadata);
}

/* In uid 1000's session, then in the session it created below it. */
TEST(get_parent_of_own_session__other_uid)
{
	struct holder owner;

	other_uid_in_owner_session(_metadata, &owner, 0);
	expect_no_parent(_metadata);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_no_parent(_metadata);
	EXPECT_EQ(0, holder_stop(&owner));
}

/*
 * Row setns_to_parent: from a child session back to its parent, through a
 * descriptor of the parent that the caller opened (/proc/self/ns/agent)
 * before it created or was put in the child: NS_GET_PARENT gives none
 * (row get_parent_of_own_session).  Leaving needs CAP_SYS_ADMIN over the
 * owner of the session left, entering over the parent's.
 */
TEST(setns_to_parent__unprivileged)
{
	char parent[33];
	int pfd;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, read_session("self", parent));
	pfd = self_ns_fd();
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	become(_metadata, UNPRIVILEGED);
	expect_setns(_metadata, pfd, -EPERM, parent);
}

/* From the session it created itself. */
TEST(setns_to_parent__no_new_privs)
{
	char parent[33];
	int pfd;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, read_session("self", parent));
	become(_metadata, NO_NEW_PRIVS);
	pfd = self_ns_fd();
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_setns(_metadata, pfd, -EPERM, parent);
}

/*
 * From a session its user namespace owns to the supervisor's: refused.
 * Between two sessions its user namespace owns: allowed.
 */
TEST(setns_to_parent__userns_root)
{
	char parent[33], own[33];
	int pfd, ofd;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, read_session("self", parent));
	if (!become(_metadata, USERNS_ROOT))
		return;
	pfd = self_ns_fd();
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, read_session("self", own));
	expect_setns(_metadata, pfd, -EPERM, parent);
	ofd = self_ns_fd();
	ASSERT_LE(0, ofd);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_setns(_metadata, ofd, 0, own);
}

TEST(setns_to_parent__root)
{
	char parent[33];
	int pfd;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, read_session("self", parent));
	pfd = self_ns_fd();
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	become(_metadata, ROOT);
	expect_setns(_metadata, pfd, 0, parent);
}

/*
 * From its own session back to uid 1000's, its parent: the namespace file
 * of uid 1000's task is EACCES, the descriptor it opened of that session
 * while it was in it EPERM.
 */
TEST(setns_to_parent__other_uid)
{
	struct holder owner;
	int pfd;

	other_uid_in_owner_session(_metadata, &owner, 0);
	pfd = self_ns_fd();
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_open_ns(_metadata, owner.pid, -EACCES);
	expect_setns(_metadata, pfd, -EPERM, owner.id);
	EXPECT_EQ(0, holder_stop(&owner));
}

/*
 * Row setns_to_sibling: from a child of the supervisor's session to
 * another child of it, which a holder created.  Leaves the caller's
 * session, enters the sibling.
 */
TEST(setns_to_sibling__unprivileged)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION));
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	become(_metadata, UNPRIVILEGED);
	expect_setns(_metadata, expect_open_ns(_metadata, t.pid, 0), -EPERM,
		     t.id);
	EXPECT_EQ(0, holder_stop(&t));
}

/* From the session it created itself. */
TEST(setns_to_sibling__no_new_privs)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, NOBODY, NEW_SESSION));
	become(_metadata, NO_NEW_PRIVS);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_setns(_metadata, expect_open_ns(_metadata, t.pid, 0), -EPERM,
		     t.id);
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * To a sibling owned by the initial user namespace: EACCES on its
 * namespace file, EPERM through a descriptor opened before.  To a sibling
 * its own user namespace owns, from one it owns: allowed.  And the escape
 * that the leaving rule exists for: a session that its user namespace owns
 * but that is not below the supervisor's (a process of uid 65534 outside
 * it joined the user namespace, which its uid owns, and created the
 * session there): EPERM, it would leave the supervisor's session.
 */
TEST(setns_to_sibling__userns_root)
{
	struct holder outside, inside, escape;
	int fd;

	to_initial_session(_metadata);
	ASSERT_EQ(0, holder_start(&escape, NOBODY, LATE_USERNS | NEW_SESSION));
	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&outside, NOBODY, NEW_SESSION));
	ASSERT_EQ(0, drop_for(USERNS_ROOT));
	fd = open_ns_of(outside.pid);
	if (!enter_userns(_metadata))
		return;
	ASSERT_EQ(0, holder_start(&inside, KEEP_CREDS, NEW_SESSION));
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_open_ns(_metadata, outside.pid, -EACCES);
	expect_setns(_metadata, fd, -EPERM, outside.id);
	ASSERT_EQ(0, holder_join_userns(&escape));
	expect_setns(_metadata, expect_open_ns(_metadata, escape.pid, 0), -EPERM,
		     escape.id);
	expect_setns(_metadata, expect_open_ns(_metadata, inside.pid, 0), 0,
		     inside.id);
	EXPECT_EQ(0, holder_stop(&inside));
	EXPECT_EQ(0, holder_stop(&outside));
	EXPECT_EQ(0, holder_stop(&escape));
}

TEST(setns_to_sibling__root)
{
	struct holder t;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION));
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	become(_metadata, ROOT);
	expect_setns(_metadata, expect_open_ns(_metadata, t.pid, 0), 0, t.id);
	EXPECT_EQ(0, holder_stop(&t));
}

/* To uid 1000's sibling session from its own. */
TEST(setns_to_sibling__other_uid)
{
	struct holder t;
	int fd;

	supervisor_session(_metadata, false);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, NEW_SESSION));
	fd = open_ns_of(t.pid);
	become(_metadata, OTHER);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_open_ns(_metadata, t.pid, -EACCES);
	expect_setns(_metadata, fd, -EPERM, t.id);
	EXPECT_EQ(0, holder_stop(&t));
}

/*
 * Row setns_to_init: from a session to the initial one, owned by the
 * initial user namespace.  /proc/1/ns/agent is root's (EACCES to the
 * others); the descriptor they try is one root opened before.
 */
TEST(setns_to_init__unprivileged)
{
	int fd;

	supervisor_session(_metadata, false);
	fd = open_ns_of(1);
	become(_metadata, UNPRIVILEGED);
	expect_open_ns(_metadata, 1, -EACCES);
	expect_setns(_metadata, fd, -EPERM, ZERO_ID);
}

/* From the session it created itself. */
TEST(setns_to_init__no_new_privs)
{
	int fd;

	supervisor_session(_metadata, false);
	fd = open_ns_of(1);
	become(_metadata, NO_NEW_PRIVS);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_open_ns(_metadata, 1, -EACCES);
	expect_setns(_metadata, fd, -EPERM, ZERO_ID);
}

/* From a session its user namespace owns. */
TEST(setns_to_init__userns_root)
{
	int fd;

	supervisor_session(_metadata, false);
	fd = open_ns_of(1);
	if (!become(_metadata, USERNS_ROOT))
		return;
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_open_ns(_metadata, 1, -EACCES);
	expect_setns(_metadata, fd, -EPERM, ZERO_ID);
}

TEST(setns_to_init__root)
{
	supervisor_session(_metadata, false);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	become(_metadata, ROOT);
	expect_setns(_metadata, expect_open_ns(_metadata, 1, 0), 0, ZERO_ID);
}

/* Through a task of uid 1000 in the initial session. */
TEST(setns_to_init__other_uid)
{
	struct holder t;
	int fd;

	to_initial_session(_metadata);
	ASSERT_EQ(0, holder_start(&t, OWNER_UID, 0));
	ASSERT_STREQ(ZERO_ID, t.id);
	fd = open_ns_of(t.pid);
	supervisor_session(_metadata, false);
	become(_metadata, OTHER);
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	expect_open_ns(_metadata, t.pid, -EACCES);
	expect_setns(_metadata, fd, -EPERM, ZERO_ID);
	EXPECT_EQ(0, holder_stop(&t));
}

/* Whether kernel.agent_ns.enabled reads 0. */
static bool agent_ns_disabled(void)
{
	char c = '1';
	int fd = open("/proc/sys/kernel/agent_ns/enabled", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '1';
		close(fd);
	}
	return c == '0';
}

/*
 * Without agent namespaces, with them switched off, or without root to
 * take the columns' credentials, skip every test.
 */
/*
 * Who a budget's signal reaches: only the tasks that both the task that set
 * the crossed limit and the task that set the action could signal with
 * kill(2).  Each test runs a supervisor S (root) in a fresh session with a
 * root bystander R and an agent A that runs as nobody; 0 from S means every
 * expectation held, 10 + N names the one that did not.
 */

/* The caller's total_syscalls. */
static __u64 syscalls_now(void)
{
	struct agent_ns_counters c = { 0 };

	prctl(PR_GET_AGENT_COUNTERS, &c, sizeof(c), 0, 0);
	return c.total_syscalls;
}

static void spin_syscalls(int n)
{
	for (int i = 0; i < n; i++)
		getppid();
}

/* R: a root process of the session that only waits. */
static pid_t start_bystander(void)
{
	pid_t r = fork();

	if (r == 0)
		for (;;)
			pause();
	return r;
}

/* Whether @r is still running after the budget acted; then ends it. */
static bool bystander_survived(pid_t r)
{
	bool alive;

	usleep(200 * 1000);
	alive = waitpid(r, NULL, WNOHANG) == 0;
	kill(r, SIGKILL);
	waitpid(r, NULL, 0);
	return alive;
}

/*
 * The agent of the signal_reach tests: drops to nobody, sets a SIGKILL
 * budget 20 system calls away and crosses it.  Exits 2-4 if it survives
 * or cannot get there.
 */
static void agent_crosses_kill_budget(void)
{
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };

	if (drop_to_nobody())
		_exit(2);
	b.max_syscalls = syscalls_now() + 20;
	if (set_limits(&b))
		_exit(3);
	spin_syscalls(1000);
	_exit(4);
}

/* An agent (nobody) tightens a SIGKILL budget and crosses it. */
TEST(signal_reach__member_kill_spares_root)
{
	pid_t s = fork();

	ASSERT_GE(s, 0);
	if (s == 0) {
		pid_t r, a;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		r = start_bystander();
		a = fork();
		if (a == 0)
			agent_crosses_kill_budget();
		if (wait_exit(a) != 128 + SIGKILL)
			_exit(11);	/* the agent itself must die */
		if (!bystander_survived(r))
			_exit(12);	/* root's process must not */
		_exit(0);		/* ... nor the supervisor */
	}
	EXPECT_EQ(0, wait_exit(s));
}

/*
 * An agent (nobody) in a pid namespace of its own, below its session's
 * supervisor, tightens a SIGKILL budget and crosses it: a nobody process of
 * the session outside that namespace, which the agent's kill(2) could not
 * name, survives; the agent dies.
 */
TEST(signal_reach__member_kill_spares_what_its_pid_namespace_cannot_see)
{
	pid_t s = fork();

	ASSERT_GE(s, 0);
	if (s == 0) {
		pid_t b, p;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		b = fork();
		if (b == 0) {
			if (drop_to_nobody())
				_exit(2);
			for (;;)
				pause();
		}
		p = fork();
		if (p == 0) {
			pid_t init;

			if (unshare(CLONE_NEWPID))
				_exit(5);
			init = fork();
			if (init == 0) {
				/* pid 1 there; the agent is pid 2. */
				pid_t a = fork();

				if (a == 0)
					agent_crosses_kill_budget();
				_exit(wait_exit(a) == 128 + SIGKILL ? 0 : 6);
			}
			_exit(wait_exit(init));
		}
		if (wait_exit(p) != 0)
			_exit(11);	/* the agent itself must die */
		if (!bystander_survived(b))
			_exit(12);	/* what it cannot see must not */
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(s));
}

/* Root's budget reaches every uid of the session. */
TEST(signal_reach__root_kill_reaches_other_uids)
{
	int fds[2];
	pid_t s, n = 0;

	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	s = fork();
	ASSERT_GE(s, 0);
	if (s == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		n = fork();
		if (n == 0) {
			if (drop_to_nobody())
				_exit(2);
			for (;;)
				pause();
		}
		if (write(fds[1], &n, sizeof(n)) != sizeof(n))
			_exit(3);
		usleep(50 * 1000);	/* n has dropped to nobody */
		b.max_syscalls = syscalls_now() + 20;
		if (set_limits(&b))
			_exit(4);
		spin_syscalls(1000);
		_exit(5);
	}
	ASSERT_EQ(sizeof(n), read(fds[0], &n, sizeof(n)));
	EXPECT_EQ(128 + SIGKILL, wait_exit(s));
	/* nobody's process, reparented to this subreaper, died of it too. */
	EXPECT_EQ(128 + SIGKILL, wait_exit(n));
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

/*
 * Root set the limit with the log action; the agent raises the action to
 * SIGKILL (tightening, which any member may do) and crosses root's limit:
 * the kill acts with the agent's authority, not root's.
 */
TEST(signal_reach__member_raised_action_spares_root)
{
	pid_t s = fork();

	ASSERT_GE(s, 0);
	if (s == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_LOG };
		pid_t r, a;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		b.max_syscalls = syscalls_now() + 5000;
		if (set_limits(&b))
			_exit(2);
		r = start_bystander();
		a = fork();
		if (a == 0) {
			if (drop_to_nobody())
				_exit(3);
			b.action = AGENT_NS_ACTION_SIGKILL;	/* the limit unchanged */
			if (set_limits(&b))
				_exit(4);
			spin_syscalls(100000);
			_exit(5);
		}
		if (wait_exit(a) != 128 + SIGKILL)
			_exit(11);
		if (!bystander_survived(r))
			_exit(12);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(s));
}

/*
 * A pid namespace init of the session, made by root and running as
 * nobody: its pid.  Returns once it runs as nobody.
 */
static pid_t start_pidns_init(void)
{
	int ready[2];
	pid_t i;
	char c;

	if (pipe(ready) || unshare(CLONE_NEWPID))
		return -1;
	i = fork();
	if (i == 0) {
		if (drop_to_nobody() || write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (i < 0 || read(ready[0], &c, 1) != 1)
		i = -1;
	close(ready[0]);
	return i;
}

/*
 * A pid namespace's init ignores the signals of its own namespace; only
 * a task with CAP_KILL over the namespace's owner can kill it from
 * outside.  An agent (nobody) that crosses its own SIGKILL budget ends
 * itself but not the init of a pid namespace root made, though that init
 * runs as nobody too.
 */
TEST(signal_reach__member_kill_spares_a_pid_namespace_init)
{
	pid_t s = fork();

	ASSERT_GE(s, 0);
	if (s == 0) {
		pid_t i, a;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		i = start_pidns_init();
		if (i < 0)
			_exit(2);
		a = fork();		/* pid 2 of the new namespace */
		if (a == 0)
			agent_crosses_kill_budget();
		if (wait_exit(a) != 128 + SIGKILL)
			_exit(11);	/* the agent itself must die */
		if (!bystander_survived(i))
			_exit(12);	/* the init must not */
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(s));
}

/* Root's budget (CAP_KILL over the namespace's owner) reaches that init. */
TEST(signal_reach__root_kill_reaches_a_pid_namespace_init)
{
	int fds[2];
	pid_t s, i = 0;

	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	s = fork();
	ASSERT_GE(s, 0);
	if (s == 0) {
		struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		i = start_pidns_init();
		if (i < 0)
			_exit(2);
		if (write(fds[1], &i, sizeof(i)) != sizeof(i))
			_exit(3);
		b.max_syscalls = syscalls_now() + 20;
		if (set_limits(&b))
			_exit(4);
		spin_syscalls(1000);
		_exit(5);
	}
	ASSERT_EQ(sizeof(i), read(fds[0], &i, sizeof(i)));
	EXPECT_EQ(128 + SIGKILL, wait_exit(s));
	/* The init, reparented to this subreaper, died of it too. */
	EXPECT_EQ(128 + SIGKILL, wait_exit(i));
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	unsigned char id[AGENT_NS_ID_BYTES];

	if (prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespaces (CONFIG_AGENT_NS)\n");
	}
	if (access("/proc/self/ns/agent", F_OK)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no /proc/PID/ns/agent\n");
	}
	if (geteuid() != 0) {
		ksft_print_header();
		ksft_exit_skip("needs root to take each column's credentials\n");
	}
	if (agent_ns_disabled()) {
		ksft_print_header();
		ksft_exit_skip("kernel.agent_ns.enabled is 0: no session can be created\n");
	}
	/* A holder that died early must fail its test, not kill it. */
	signal(SIGPIPE, SIG_IGN);
	return test_harness_run(argc, argv);
}
