// SPDX-License-Identifier: GPL-2.0
/*
 * File provenance, the agentns LSM: every inode a task in a session
 * creates carries security.agent_session (the 16 bytes of the session id)
 * and, when the session has an intent tag, security.agent_intent (the
 * tag's bytes, no NUL); the initial session labels nothing; a task in a
 * session can neither set nor remove either name, whatever its
 * capabilities, and a task in the initial session needs CAP_SYS_ADMIN in
 * the initial user namespace.
 *
 * Every test works on a fresh tmpfs (security xattrs need
 * CONFIG_TMPFS_XATTR) mounted on a mkdtemp(3) directory.  A test is
 * skipped when the agentns LSM is not active (lsm_list_modules(2) or
 * securityfs says so): a missing label on a kernel that runs the LSM is a
 * failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

#define AGENTNS_IO_URING
#include "../kselftest_harness.h"
#include "agentns_util.h"

/* Names older exported headers may lack. */
#ifndef XATTR_NAME_AGENT_SESSION
#define XATTR_NAME_AGENT_SESSION	"security.agent_session"
#endif
#ifndef XATTR_NAME_AGENT_INTENT
#define XATTR_NAME_AGENT_INTENT		"security.agent_intent"
#endif
#ifndef LSM_ID_AGENTNS
#define LSM_ID_AGENTNS			199
#endif
#ifndef __NR_lsm_list_modules
#define __NR_lsm_list_modules		461
#endif
#ifndef O_TMPFILE
#define O_TMPFILE			(020000000 | O_DIRECTORY)
#endif

#define SESSION_XATTR		XATTR_NAME_AGENT_SESSION
#define INTENT_XATTR		XATTR_NAME_AGENT_INTENT
/* A security.* name no LSM claims: every LSM hook lets it through. */
#define OTHER_XATTR		"security.agentns_test_other"
#define SECURITYFS		"/sys/kernel/security"

/* A child's exit status that means "no user namespace to be had here". */
#define EXIT_NO_USERNS		42

#define ID_BYTES		AGENT_NS_ID_BYTES

/* Bytes no session id is: what forgery attempts try to write. */
static const unsigned char forged_id[ID_BYTES] = {
	0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

static const char forged_intent[] = "forged intent";

/* What a child tells the test: the ids of the sessions it was in. */
struct report {
	unsigned char id[ID_BYTES];	/* the session run_child() put it in */
	unsigned char inner[ID_BYTES];	/* a session it created inside that */
};

/*
 * In a child: if @ok is false, says where (@func, @line) and why (@cond,
 * errno): true then, and the child fails (its function returns 1).
 */
static bool chk_fails(bool ok, const char *func, int line, const char *cond)
{
	if (!ok)
		say("%s:%d: %s (errno %d: %s)", func, line,
		    cond, errno, strerror(errno));
	return !ok;
}

/* In a child: whether @cond is false; if it is, says where and why. */
#define CHK_FAILS(cond)		chk_fails((cond), __func__, __LINE__, #cond)

/*
 * In a child: if @r (what @expr returned, errno 0 before) is not a
 * failure with EPERM, says where and what: true then, and the child fails
 * (its function returns 1).
 */
static bool chk_not_eperm(long r, const char *func, int line, const char *expr)
{
	if (r != -1 || errno != EPERM) {
		say("%s:%d: %s returned %ld, errno %d (%s), not EPERM",
		    func, line, expr, r, errno, strerror(errno));
		return true;
	}
	return false;
}

/* In a child: whether @expr did not fail with EPERM; if so, says where and what. */
#define CHK_NOT_EPERM(expr)	chk_not_eperm((errno = 0, (expr)), __func__, __LINE__, #expr)

/* A few path buffers used in turn, so that one call can take several. */
static const char *at(const char *dir, const char *name)
{
	static char bufs[16][256];
	static unsigned int next;
	char *p = bufs[next++ % 16];

	snprintf(p, sizeof(bufs[0]), "%s/%s", dir, name);
	return p;
}

static void hex(const unsigned char *id, char out[2 * ID_BYTES + 1])
{
	for (int i = 0; i < ID_BYTES; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

/*
 * Whether the agentns LSM is active: 1 yes, 0 no, -1 no way to tell.
 * lsm_list_modules(2) first, else securityfs's lsm file, mounting
 * securityfs for the look if it is not mounted.
 */
static int lsm_in_list(const char *list)
{
	char buf[512], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save))
		if (!strcmp(tok, "agentns"))
			return 1;
	return 0;
}

static int read_securityfs_lsm(char *buf, size_t size)
{
	int fd = open(SECURITYFS "/lsm", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int agentns_lsm_active(void)
{
	__u64 ids[64];
	__u32 size = sizeof(ids);
	char list[512];
	long n;
	int ret = -1;

	n = syscall(__NR_lsm_list_modules, ids, &size, 0);
	if (n >= 0) {
		for (long i = 0; i < n; i++)
			if (ids[i] == LSM_ID_AGENTNS)
				return 1;
		return 0;
	}
	if (!read_securityfs_lsm(list, sizeof(list)))
		return lsm_in_list(list);
	if (mount("securityfs", SECURITYFS, "securityfs", 0, NULL))
		return -1;
	if (!read_securityfs_lsm(list, sizeof(list)))
		ret = lsm_in_list(list);
	umount2(SECURITYFS, MNT_DETACH);
	return ret;
}

typedef int (*child_fn)(const char *dir, void *arg);

/*
 * Runs @fn(@dir, @arg) in a child and returns its exit status (128 + the
 * signal that killed it).  With @session the child first enters a new
 * session (no_new_privs, PR_SET_AGENT_NS) and sets the intent tag @tag
 * unless it is NULL; either way its session id goes to @rep->id.
 */
static int run_child(struct report *rep, bool session, const char *tag,
		     child_fn fn, const char *dir, void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (session && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
				prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))) {
			say("entering a session: %s", strerror(errno));
			_exit(100);
		}
		if (tag && prctl(PR_SET_AGENT_INTENT_TAG, tag, 0, 0, 0)) {
			say("setting the intent tag: %s", strerror(errno));
			_exit(101);
		}
		if (prctl(PR_GET_AGENT_SESSION_ID, rep->id, 0, 0, 0))
			_exit(102);
		_exit(fn(dir, arg));
	}
	return wait_exit(pid);
}

/* Creates a regular file @name in @dir with the content "x": 0 or -1. */
static int make_file(const char *dir, const char *name)
{
	int fd = open(at(dir, name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	if (write(fd, "x", 1) != 1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* A child function that creates the regular file named @arg. */
static int create_one(const char *dir, void *arg)
{
	if (CHK_FAILS(make_file(dir, arg) == 0))
		return 1;
	return 0;
}

/*
 * Checks the label of @path (the link itself for a symlink): the session
 * xattr is exactly the 16 bytes @id, or absent (ENODATA) when @id is
 * NULL; the intent xattr is exactly the bytes of @intent without the NUL,
 * or absent when @intent is NULL.
 */
static void check_label(struct __test_metadata *_metadata, const char *path,
			const unsigned char *id, const char *intent)
{
	unsigned char buf[256];
	char want[2 * ID_BYTES + 1], got[2 * ID_BYTES + 1];
	ssize_t n;
	int err;

	memset(buf, 0, sizeof(buf));
	errno = 0;
	n = lgetxattr(path, SESSION_XATTR, buf, sizeof(buf));
	err = errno;
	if (id) {
		EXPECT_EQ(ID_BYTES, n) {
			TH_LOG("%s: %s: %zd bytes (%s)", path, SESSION_XATTR, n,
			       n < 0 ? strerror(err) : "should be 16");
		}
		if (n == ID_BYTES) {
			hex(id, want);
			hex(buf, got);
			EXPECT_STREQ(want, got) {
				TH_LOG("%s: %s is not the creator's id", path, SESSION_XATTR);
			}
		}
		/* A size query gives the same 16. */
		EXPECT_EQ(ID_BYTES, lgetxattr(path, SESSION_XATTR, NULL, 0));
	} else {
		EXPECT_EQ(-1, n) {
			TH_LOG("%s: unexpected %s of %zd bytes", path, SESSION_XATTR, n);
		}
		EXPECT_EQ(ENODATA, err) {
			TH_LOG("%s: %s: %s", path, SESSION_XATTR, strerror(err));
		}
	}

	memset(buf, 0, sizeof(buf));
	errno = 0;
	n = lgetxattr(path, INTENT_XATTR, buf, sizeof(buf) - 1);
	err = errno;
	if (intent) {
		EXPECT_EQ((ssize_t)strlen(intent), n) {
			TH_LOG("%s: %s: %zd bytes (%s), want %zu", path, INTENT_XATTR,
			       n, n < 0 ? strerror(err) : "wrong length", strlen(intent));
		}
		if (n >= 0) {
			buf[n] = '\0';
			EXPECT_STREQ(intent, (char *)buf) {
				TH_LOG("%s: %s", path, INTENT_XATTR);
			}
		}
	} else {
		EXPECT_EQ(-1, n) {
			TH_LOG("%s: unexpected %s \"%.*s\"", path, INTENT_XATTR,
			       n > 0 ? (int)n : 0, (char *)buf);
		}
		EXPECT_EQ(ENODATA, err) {
			TH_LOG("%s: %s: %s", path, INTENT_XATTR, strerror(err));
		}
	}
}

/* In a child: the same as check_label(), as a pass (1) or fail (0). */
static int label_is(const char *path, const unsigned char *id, const char *intent)
{
	unsigned char buf[256];
	ssize_t n;

	n = lgetxattr(path, SESSION_XATTR, buf, sizeof(buf));
	if (id ? n != ID_BYTES || memcmp(buf, id, ID_BYTES) : n != -1 || errno != ENODATA) {
		say("%s: %s is not as expected (%zd)", path, SESSION_XATTR, n);
		return 0;
	}
	n = lgetxattr(path, INTENT_XATTR, buf, sizeof(buf));
	if (intent ? n != (ssize_t)strlen(intent) || memcmp(buf, intent, n) :
		     n != -1 || errno != ENODATA) {
		say("%s: %s is not as expected (%zd)", path, INTENT_XATTR, n);
		return 0;
	}
	return 1;
}

FIXTURE(fs) {
	char dir[64];		/* the tmpfs */
	bool mounted;
	struct report *rep;	/* shared with the children */
};

FIXTURE_SETUP(fs)
{
	static const unsigned char zero[ID_BYTES];
	unsigned char id[ID_BYTES];
	int fd, err;

	if (geteuid())
		SKIP(return, "needs root");
	if (read_long(ENABLED) == 0)
		SKIP(return, "kernel.agent_ns.enabled is 0");
	ASSERT_EQ(0, prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0));
	if (memcmp(id, zero, ID_BYTES))
		SKIP(return, "runner is not in the initial session");
	switch (agentns_lsm_active()) {
	case 0:
		SKIP(return, "the agentns LSM is not active (CONFIG_SECURITY_AGENT_NS, lsm=)");
	case -1:
		SKIP(return,
		     "no lsm_list_modules(2) and no securityfs: cannot tell whether the agentns LSM is active");
	}

	self->rep = mmap(NULL, sizeof(*self->rep), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->rep);
	snprintf(self->dir, sizeof(self->dir), "%s", "/tmp/agentns-pXXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	if (mount("tmpfs", self->dir, "tmpfs", 0, "")) {
		err = errno;
		rmdir(self->dir);
		ASSERT_EQ(0, err) TH_LOG("mount tmpfs on %s: %s", self->dir, strerror(err));
	}
	/* Does this tmpfs keep security xattrs at all? */
	fd = open(at(self->dir, ".probe"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	err = fd < 0 ? errno : fsetxattr(fd, OTHER_XATTR, "1", 1, 0) ? errno : 0;
	if (fd >= 0)
		close(fd);
	unlink(at(self->dir, ".probe"));
	if (err) {
		umount2(self->dir, MNT_DETACH);
		rmdir(self->dir);
		if (err == EOPNOTSUPP)
			SKIP(return, "tmpfs has no security xattrs (CONFIG_TMPFS_XATTR)");
		ASSERT_EQ(0, err) TH_LOG("security xattr on tmpfs: %s", strerror(err));
	}
	self->mounted = true;
}

/* In the parent, so that a test killed by its timeout leaves no mount. */
FIXTURE_TEARDOWN_PARENT(fs)
{
	if (self->mounted) {
		umount2(self->dir, MNT_DETACH);
		rmdir(self->dir);
	}
}

static const char creation_tag[] = "label every creation path";

/* Creates one inode by every path there is, in a session with an intent. */
static int create_every_way(const char *dir, void *arg)
{
	struct report *rep = arg;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	unsigned char buf[256];
	char fdpath[64];
	int fd;

	fd = open(at(dir, "open"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (CHK_FAILS(fd >= 0))
		return 1;
	close(fd);

	fd = creat(at(dir, "creat"), 0644);
	if (CHK_FAILS(fd >= 0))
		return 1;
	close(fd);

	/* O_TMPFILE: labelled when created, before it has a name. */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (CHK_FAILS(fd >= 0))
		return 1;
	if (CHK_FAILS(fgetxattr(fd, SESSION_XATTR, buf, sizeof(buf)) == ID_BYTES))
		return 1;
	if (CHK_FAILS(memcmp(buf, rep->id, ID_BYTES) == 0))
		return 1;
	if (CHK_FAILS(fgetxattr(fd, INTENT_XATTR, buf, sizeof(buf)) ==
		      (ssize_t)strlen(creation_tag)))
		return 1;
	if (CHK_FAILS(memcmp(buf, creation_tag, strlen(creation_tag)) == 0))
		return 1;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (CHK_FAILS(linkat(AT_FDCWD, fdpath, AT_FDCWD, at(dir, "tmpfile"),
			     AT_SYMLINK_FOLLOW) == 0))
		return 1;
	close(fd);

	if (CHK_FAILS(mkdir(at(dir, "dir"), 0755) == 0))
		return 1;
	if (CHK_FAILS(mknod(at(dir, "fifo"), S_IFIFO | 0644, 0) == 0))
		return 1;
	if (CHK_FAILS(mknod(at(dir, "chr"), S_IFCHR | 0644, makedev(1, 3)) == 0))
		return 1;
	if (CHK_FAILS(symlink("open", at(dir, "symlink")) == 0))
		return 1;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", at(dir, "sock"));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (CHK_FAILS(fd >= 0))
		return 1;
	if (CHK_FAILS(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0))
		return 1;
	close(fd);
	return 0;
}

/*
 * Every way to create an inode from a session with an intent labels it with
 * both: open(O_CREAT), creat(), O_TMPFILE then linkat(), mkdir(), mknod()
 * of a FIFO and of a character device, symlink() (the link itself) and
 * bind() of an AF_UNIX socket.
 */
TEST_F(fs, every_creation_path_labels_session_and_intent)
{
	static const char * const names[] = {
		"open", "creat", "tmpfile", "dir", "fifo", "chr", "symlink", "sock",
	};
	struct stat st;

	ASSERT_EQ(0, run_child(self->rep, true, creation_tag, create_every_way,
			       self->dir, self->rep));
	for (int i = 0; i < ARRAY_SIZE(names); i++)
		check_label(_metadata, at(self->dir, names[i]), self->rep->id, creation_tag);
	/* The kinds are what they should be: lgetxattr() read the link, not "open". */
	ASSERT_EQ(0, lstat(at(self->dir, "symlink"), &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	ASSERT_EQ(0, lstat(at(self->dir, "sock"), &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ(0, lstat(at(self->dir, "chr"), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
}

/* IORING_OP_OPENAT (O_CREAT), MKDIRAT and SYMLINKAT, run by io_uring's workers. */
static int create_by_io_uring(const char *dir, void *arg)
{
	const char *file = at(dir, "uring_open"), *sub = at(dir, "uring_dir");
	const char *link = at(dir, "uring_symlink");
	struct agentns_ring r;
	struct io_uring_sqe *sqe;
	int res[3] = { 1, 1, 1 };

	if (CHK_FAILS(ring_setup(&r, 8) == 0))
		return 1;
	sqe = ring_sqe(&r, IORING_OP_OPENAT, AT_FDCWD, 0);
	sqe->addr = (unsigned long)file;
	sqe->open_flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
	sqe->len = 0644;
	sqe = ring_sqe(&r, IORING_OP_MKDIRAT, AT_FDCWD, 1);
	sqe->addr = (unsigned long)sub;
	sqe->len = 0755;
	sqe = ring_sqe(&r, IORING_OP_SYMLINKAT, AT_FDCWD, 2);
	sqe->addr = (unsigned long)"uring_open";
	sqe->addr2 = (unsigned long)link;
	if (CHK_FAILS(ring_run(&r, res) == 0))
		return 1;
	if (res[0] < 0 || res[1] || res[2]) {
		say("io_uring results: openat %d, mkdirat %d, symlinkat %d",
		    res[0], res[1], res[2]);
		return 1;
	}
	close(res[0]);
	ring_close(&r);
	return 0;
}

TEST_F(fs, io_uring_creations_are_labelled)
{
	if (no_io_uring())
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, run_child(self->rep, true, creation_tag, create_by_io_uring,
			       self->dir, NULL));
	check_label(_metadata, at(self->dir, "uring_open"), self->rep->id, creation_tag);
	check_label(_metadata, at(self->dir, "uring_dir"), self->rep->id, creation_tag);
	check_label(_metadata, at(self->dir, "uring_symlink"), self->rep->id, creation_tag);
}

/* Creates "a", then "b" with the tag "later", then "c" with the tag cleared. */
static int create_as_the_tag_changes(const char *dir, void *arg)
{
	if (CHK_FAILS(make_file(dir, "a") == 0))
		return 1;
	if (CHK_FAILS(prctl(PR_SET_AGENT_INTENT_TAG, "later", 0, 0, 0) == 0))
		return 1;
	if (CHK_FAILS(make_file(dir, "b") == 0))
		return 1;
	if (CHK_FAILS(prctl(PR_SET_AGENT_INTENT_TAG, "", 0, 0, 0) == 0))
		return 1;
	if (CHK_FAILS(make_file(dir, "c") == 0))
		return 1;
	if (CHK_FAILS(mkdir(at(dir, "d"), 0755) == 0))
		return 1;
	return 0;
}

/*
 * A session without an intent labels with its id alone; the intent is the
 * tag at creation time: setting one later does not relabel.
 */
TEST_F(fs, session_without_intent_labels_only_the_session)
{
	ASSERT_EQ(0, run_child(self->rep, true, NULL, create_as_the_tag_changes,
			       self->dir, NULL));
	check_label(_metadata, at(self->dir, "a"), self->rep->id, NULL);
	check_label(_metadata, at(self->dir, "b"), self->rep->id, "later");
	check_label(_metadata, at(self->dir, "c"), self->rep->id, NULL);
	check_label(_metadata, at(self->dir, "d"), self->rep->id, NULL);
}

/* The longest tag, 63 bytes, is stored whole. */
TEST_F(fs, longest_intent_is_stored_whole)
{
	char tag[AGENT_NS_INTENT_MAX + 1];

	for (int i = 0; i < AGENT_NS_INTENT_MAX; i++)
		tag[i] = 'A' + i % 26;
	tag[AGENT_NS_INTENT_MAX] = '\0';
	ASSERT_EQ(0, run_child(self->rep, true, tag, create_one, self->dir, "long"));
	check_label(_metadata, at(self->dir, "long"), self->rep->id, tag);
}

/* A task in the initial session labels nothing, whatever it creates. */
TEST_F(fs, initial_session_creates_unlabelled)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	ASSERT_EQ(0, make_file(self->dir, "file"));
	ASSERT_EQ(0, mkdir(at(self->dir, "dir"), 0755));
	ASSERT_EQ(0, mknod(at(self->dir, "fifo"), S_IFIFO | 0644, 0));
	ASSERT_EQ(0, symlink("file", at(self->dir, "symlink")));
	fd = open(self->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, linkat(fd, "", AT_FDCWD, at(self->dir, "tmpfile"), AT_EMPTY_PATH));
	close(fd);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", at(self->dir, "sock"));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	close(fd);
	check_label(_metadata, at(self->dir, "file"), NULL, NULL);
	check_label(_metadata, at(self->dir, "dir"), NULL, NULL);
	check_label(_metadata, at(self->dir, "fifo"), NULL, NULL);
	check_label(_metadata, at(self->dir, "symlink"), NULL, NULL);
	check_label(_metadata, at(self->dir, "tmpfile"), NULL, NULL);
	check_label(_metadata, at(self->dir, "sock"), NULL, NULL);
}

/*
 * In a session with the tag "outer": creates "outer", then a session
 * inside it (id to rep->inner, no tag of its own) creates "inner_untagged",
 * and with the tag "inner", "inner".
 */
static int create_nested(const char *dir, void *arg)
{
	struct report *rep = arg;

	if (CHK_FAILS(make_file(dir, "outer") == 0))
		return 1;
	if (CHK_FAILS(prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) == 0))
		return 1;
	if (CHK_FAILS(prctl(PR_GET_AGENT_SESSION_ID, rep->inner, 0, 0, 0) == 0))
		return 1;
	if (CHK_FAILS(make_file(dir, "inner_untagged") == 0))
		return 1;
	if (CHK_FAILS(prctl(PR_SET_AGENT_INTENT_TAG, "inner", 0, 0, 0) == 0))
		return 1;
	if (CHK_FAILS(make_file(dir, "inner") == 0))
		return 1;
	return 0;
}

/* A session inside a session labels with its own id and tag, not the outer one's. */
TEST_F(fs, nested_session_labels_with_the_inner_id)
{
	ASSERT_EQ(0, run_child(self->rep, true, "outer", create_nested,
			       self->dir, self->rep));
	ASSERT_NE(0, memcmp(self->rep->id, self->rep->inner, ID_BYTES));
	check_label(_metadata, at(self->dir, "outer"), self->rep->id, "outer");
	check_label(_metadata, at(self->dir, "inner_untagged"), self->rep->inner, NULL);
	check_label(_metadata, at(self->dir, "inner"), self->rep->inner, "inner");
}

/*
 * From a second session: hard-links "plain", renames "mine" to "moved",
 * appends to "w" and opens it again with O_CREAT (it exists).
 */
static int link_rename_write(const char *dir, void *arg)
{
	int fd;

	if (CHK_FAILS(link(at(dir, "plain"), at(dir, "plain.link")) == 0))
		return 1;
	if (CHK_FAILS(rename(at(dir, "mine"), at(dir, "moved")) == 0))
		return 1;
	fd = open(at(dir, "w"), O_WRONLY | O_APPEND | O_CLOEXEC);
	if (CHK_FAILS(fd >= 0))
		return 1;
	if (CHK_FAILS(write(fd, "more", 4) == 4))
		return 1;
	close(fd);
	fd = open(at(dir, "w"), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (CHK_FAILS(fd >= 0))
		return 1;
	if (CHK_FAILS(write(fd, "more", 4) == 4))
		return 1;
	close(fd);
	return 0;
}

/*
 * Only creating an inode labels it: a hard link creates none, a rename
 * (by another session, then by the initial one) keeps the creator's label,
 * and writing an existing unlabelled file adds none.
 */
TEST_F(fs, link_rename_and_write_do_not_relabel)
{
	unsigned char creator[ID_BYTES];
	struct stat st1, st2;

	ASSERT_EQ(0, make_file(self->dir, "plain"));
	ASSERT_EQ(0, make_file(self->dir, "w"));
	ASSERT_EQ(0, run_child(self->rep, true, "creator", create_one, self->dir, "mine"));
	memcpy(creator, self->rep->id, ID_BYTES);
	ASSERT_EQ(0, run_child(self->rep, true, "mover", link_rename_write, self->dir, NULL));
	ASSERT_NE(0, memcmp(creator, self->rep->id, ID_BYTES));
	ASSERT_EQ(0, rename(at(self->dir, "moved"), at(self->dir, "moved2")));

	ASSERT_EQ(0, stat(at(self->dir, "plain"), &st1));
	ASSERT_EQ(0, stat(at(self->dir, "plain.link"), &st2));
	EXPECT_EQ(st1.st_ino, st2.st_ino);
	EXPECT_EQ(2, st1.st_nlink);
	check_label(_metadata, at(self->dir, "plain"), NULL, NULL);
	check_label(_metadata, at(self->dir, "plain.link"), NULL, NULL);
	check_label(_metadata, at(self->dir, "moved2"), creator, "creator");
	ASSERT_EQ(0, stat(at(self->dir, "w"), &st1));
	EXPECT_EQ(9, st1.st_size);
	check_label(_metadata, at(self->dir, "w"), NULL, NULL);
}

/* Every way to set or remove both names of @path must be refused. */
static int try_to_forge(const char *path)
{
	static const char * const names[] = { SESSION_XATTR, INTENT_XATTR };
	static const int flags[] = { 0, XATTR_CREATE, XATTR_REPLACE };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (CHK_FAILS(fd >= 0))
		return 1;
	for (int i = 0; i < ARRAY_SIZE(names); i++) {
		const void *v = i ? (const void *)forged_intent : (const void *)forged_id;
		size_t len = i ? strlen(forged_intent) : ID_BYTES;

		for (int f = 0; f < ARRAY_SIZE(flags); f++) {
			if (CHK_NOT_EPERM(setxattr(path, names[i], v, len, flags[f])))
				return 1;
			if (CHK_NOT_EPERM(lsetxattr(path, names[i], v, len, flags[f])))
				return 1;
			if (CHK_NOT_EPERM(fsetxattr(fd, names[i], v, len, flags[f])))
				return 1;
		}
		if (CHK_NOT_EPERM(removexattr(path, names[i])))
			return 1;
		if (CHK_NOT_EPERM(lremovexattr(path, names[i])))
			return 1;
		if (CHK_NOT_EPERM(fremovexattr(fd, names[i])))
			return 1;
	}
	close(fd);
	return 0;
}

/*
 * In the session "owner": creates "own" and tries to forge or remove the
 * labels of it, of "theirs" (another session's), "bare" (a session's
 * without intent) and "plain" (unlabelled); then sets two other names.
 */
static int forge(const char *dir, void *arg)
{
	struct report *rep = arg;
	static const char * const victims[] = { "own", "theirs", "bare", "plain" };

	if (CHK_FAILS(make_file(dir, "own") == 0))
		return 1;
	for (int i = 0; i < ARRAY_SIZE(victims); i++)
		if (try_to_forge(at(dir, victims[i])))
			return 1;
	if (CHK_FAILS(label_is(at(dir, "own"), rep->id, "owner")))
		return 1;
	/* Other names are not the LSM's business. */
	if (CHK_FAILS(setxattr(at(dir, "own"), "user.x", "1", 1, 0) == 0))
		return 1;
	if (CHK_FAILS(setxattr(at(dir, "own"), OTHER_XATTR, "v", 1, 0) == 0))
		return 1;
	if (CHK_FAILS(setxattr(at(dir, "theirs"), OTHER_XATTR, "w", 1, 0) == 0))
		return 1;
	if (CHK_FAILS(removexattr(at(dir, "theirs"), OTHER_XATTR) == 0))
		return 1;
	return 0;
}

/*
 * A task in a session (root, all capabilities) can neither set nor remove
 * security.agent_session or security.agent_intent: not on its own files,
 * not on another session's, not on an unlabelled one, by no call; the
 * labels stay as they were.  Other names work as ever.
 */
TEST_F(fs, session_cannot_set_or_remove_labels)
{
	unsigned char theirs[ID_BYTES], bare[ID_BYTES];
	char buf[8];

	ASSERT_EQ(0, run_child(self->rep, true, "other", create_one, self->dir, "theirs"));
	memcpy(theirs, self->rep->id, ID_BYTES);
	ASSERT_EQ(0, run_child(self->rep, true, NULL, create_one, self->dir, "bare"));
	memcpy(bare, self->rep->id, ID_BYTES);
	ASSERT_EQ(0, make_file(self->dir, "plain"));

	EXPECT_EQ(0, run_child(self->rep, true, "owner", forge, self->dir, self->rep));

	check_label(_metadata, at(self->dir, "own"), self->rep->id, "owner");
	check_label(_metadata, at(self->dir, "theirs"), theirs, "other");
	check_label(_metadata, at(self->dir, "bare"), bare, NULL);
	check_label(_metadata, at(self->dir, "plain"), NULL, NULL);
	EXPECT_EQ(1, getxattr(at(self->dir, "own"), "user.x", buf, sizeof(buf)));
	EXPECT_EQ('1', buf[0]);
	EXPECT_EQ(1, getxattr(at(self->dir, "own"), OTHER_XATTR, buf, sizeof(buf)));
	EXPECT_EQ('v', buf[0]);
	EXPECT_EQ(-1, getxattr(at(self->dir, "theirs"), OTHER_XATTR, buf, sizeof(buf)));
	EXPECT_EQ(ENODATA, errno);
}

static int write_proc(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

/*
 * Becomes root of a new user namespace with a mount namespace of its own
 * and mounts a tmpfs, which that user namespace owns, on @dir/@name:
 * 0, EXIT_NO_USERNS when there are no user namespaces here, or 1.
 */
static int own_userns_and_tmpfs(const char *dir, const char *name)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS)) {
		int err = errno;

		say("unshare(CLONE_NEWUSER | CLONE_NEWNS): %s", strerror(err));
		return err == EPERM || err == EINVAL || err == ENOSPC ||
		       err == EUSERS ? EXIT_NO_USERNS : 1;
	}
	if (CHK_FAILS(write_proc("/proc/self/setgroups", "deny") == 0))
		return 1;
	snprintf(map, sizeof(map), "0 %d 1", uid);
	if (CHK_FAILS(write_proc("/proc/self/uid_map", map) == 0))
		return 1;
	snprintf(map, sizeof(map), "0 %d 1", gid);
	if (CHK_FAILS(write_proc("/proc/self/gid_map", map) == 0))
		return 1;
	if (CHK_FAILS(mount("tmpfs", at(dir, name), "tmpfs", 0, "") == 0))
		return 1;
	return 0;
}

/*
 * In a session "userns": root of its own user namespace, on its own tmpfs
 * (CAP_SYS_ADMIN over the file system's user namespace, which security.*
 * needs, and which lets OTHER_XATTR through), its new file has its label
 * and it can change neither name.
 */
static int forge_as_userns_root(const char *dir, void *arg)
{
	struct report *rep = arg;
	const char *file = at(dir, "mnt/f");
	int ret = own_userns_and_tmpfs(dir, "mnt");

	if (ret)
		return ret;
	if (CHK_FAILS(make_file(dir, "mnt/f") == 0))
		return 1;
	if (CHK_FAILS(label_is(file, rep->id, "userns")))
		return 1;
	if (CHK_FAILS(setxattr(file, OTHER_XATTR, "v", 1, 0) == 0))
		return 1;
	if (try_to_forge(file))
		return 1;
	if (CHK_FAILS(label_is(file, rep->id, "userns")))
		return 1;
	return 0;
}

/* ... not even as root of a user namespace that owns the file system. */
TEST_F(fs, session_root_of_a_user_namespace_cannot_change_labels)
{
	int status;

	ASSERT_EQ(0, mkdir(at(self->dir, "mnt"), 0755));
	status = run_child(self->rep, true, "userns", forge_as_userns_root,
			   self->dir, self->rep);
	if (status == EXIT_NO_USERNS)
		SKIP(return, "no user namespaces here");
	EXPECT_EQ(0, status);
}

/*
 * In the initial session, root of its own user namespace on its own tmpfs:
 * it labels nothing, and it has CAP_SYS_ADMIN over the file system but not
 * in the initial user namespace, so it may set OTHER_XATTR but not a
 * label's names.
 */
static int set_label_as_userns_root(const char *dir, void *arg)
{
	const char *file = at(dir, "mnt/f");
	int ret = own_userns_and_tmpfs(dir, "mnt");

	if (ret)
		return ret;
	if (CHK_FAILS(make_file(dir, "mnt/f") == 0))
		return 1;
	if (CHK_FAILS(label_is(file, NULL, NULL)))
		return 1;
	if (CHK_FAILS(setxattr(file, OTHER_XATTR, "v", 1, 0) == 0))
		return 1;
	if (CHK_NOT_EPERM(setxattr(file, SESSION_XATTR, forged_id, ID_BYTES, 0)))
		return 1;
	if (CHK_NOT_EPERM(setxattr(file, INTENT_XATTR, forged_intent, strlen(forged_intent), 0)))
		return 1;
	if (CHK_NOT_EPERM(removexattr(file, SESSION_XATTR)))
		return 1;
	if (CHK_FAILS(label_is(file, NULL, NULL)))
		return 1;
	return 0;
}

TEST_F(fs, initial_session_root_of_a_user_namespace_cannot_set_labels)
{
	int status;

	ASSERT_EQ(0, mkdir(at(self->dir, "mnt"), 0755));
	status = run_child(self->rep, false, NULL, set_label_as_userns_root,
			   self->dir, NULL);
	if (status == EXIT_NO_USERNS)
		SKIP(return, "no user namespaces here");
	EXPECT_EQ(0, status);
}

/* Root of the initial session may set, replace and remove both names. */
TEST_F(fs, initial_session_root_may_set_and_remove_labels)
{
	static const char admin_intent[] = "set by the admin";
	const char *f = at(self->dir, "f"), *g = at(self->dir, "g");

	ASSERT_EQ(0, make_file(self->dir, "f"));
	ASSERT_EQ(0, setxattr(f, SESSION_XATTR, forged_id, ID_BYTES, XATTR_CREATE));
	ASSERT_EQ(0, setxattr(f, INTENT_XATTR, admin_intent, strlen(admin_intent), 0));
	check_label(_metadata, f, forged_id, admin_intent);
	ASSERT_EQ(0, removexattr(f, SESSION_XATTR));
	ASSERT_EQ(0, removexattr(f, INTENT_XATTR));
	check_label(_metadata, f, NULL, NULL);

	/* A session's label, replaced, then removed. */
	ASSERT_EQ(0, run_child(self->rep, true, "session", create_one, self->dir, "g"));
	check_label(_metadata, g, self->rep->id, "session");
	ASSERT_EQ(0, setxattr(g, SESSION_XATTR, forged_id, ID_BYTES, XATTR_REPLACE));
	check_label(_metadata, g, forged_id, "session");
	ASSERT_EQ(0, removexattr(g, INTENT_XATTR));
	check_label(_metadata, g, forged_id, NULL);
	ASSERT_EQ(0, removexattr(g, SESSION_XATTR));
	check_label(_metadata, g, NULL, NULL);
}

/* As nobody in the initial session: the label of the file it owns stays. */
static int set_label_as_nobody(const char *dir, void *arg)
{
	const char *file = at(dir, "n");
	static const unsigned char other_id[ID_BYTES] = { 1, 2, 3 };

	if (CHK_FAILS(drop_to_nobody() == 0))
		return 1;
	if (CHK_NOT_EPERM(setxattr(file, SESSION_XATTR, other_id, ID_BYTES, 0)))
		return 1;
	if (CHK_NOT_EPERM(setxattr(file, INTENT_XATTR, forged_intent, strlen(forged_intent), 0)))
		return 1;
	if (CHK_NOT_EPERM(removexattr(file, SESSION_XATTR)))
		return 1;
	/* Its owner may set a user.* name: what it lacks is the capability. */
	if (CHK_FAILS(setxattr(file, "user.x", "1", 1, 0) == 0))
		return 1;
	return 0;
}

/* A task in the initial session without CAP_SYS_ADMIN may not change a label. */
TEST_F(fs, initial_session_needs_cap_sys_admin)
{
	const char *n = at(self->dir, "n");

	ASSERT_EQ(0, make_file(self->dir, "n"));
	ASSERT_EQ(0, setxattr(n, SESSION_XATTR, forged_id, ID_BYTES, 0));
	ASSERT_EQ(0, chown(n, NOBODY, NOBODY));
	EXPECT_EQ(0, run_child(self->rep, false, NULL, set_label_as_nobody, self->dir, NULL));
	check_label(_metadata, n, forged_id, NULL);
}

/* Whether the NUL-separated @list of @len bytes has @name. */
static bool list_has(const char *list, ssize_t len, const char *name)
{
	for (ssize_t i = 0; i < len; i += strlen(list + i) + 1)
		if (!strcmp(list + i, name))
			return true;
	return false;
}

/* listxattr() of a labelled file lists both names; of an unlabelled one, neither. */
TEST_F(fs, listxattr_lists_both_names)
{
	char list[1024];
	ssize_t n;

	ASSERT_EQ(0, run_child(self->rep, true, "listed", create_one, self->dir, "f"));
	n = llistxattr(at(self->dir, "f"), list, sizeof(list));
	ASSERT_LT(0, n);
	EXPECT_TRUE(list_has(list, n, SESSION_XATTR));
	EXPECT_TRUE(list_has(list, n, INTENT_XATTR));

	ASSERT_EQ(0, make_file(self->dir, "plain"));
	n = llistxattr(at(self->dir, "plain"), list, sizeof(list));
	ASSERT_LE(0, n);
	EXPECT_FALSE(list_has(list, n, SESSION_XATTR));
	EXPECT_FALSE(list_has(list, n, INTENT_XATTR));
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
