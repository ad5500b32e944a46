// SPDX-License-Identifier: GPL-2.0
/*
 * Agent namespace intent tags: PR_SET/GET_AGENT_INTENT_TAG,
 * /proc/PID/agent_intent and their bad-input rules; and the agent_ns
 * session and intent tracepoints.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

/* What PR_GET_AGENT_INTENT_TAG writes: the tag, NUL-padded. */
#define TAG_BUF			(AGENT_NS_INTENT_MAX + 1)

static const char zero_id[] = "00000000000000000000000000000000";

static int set_tag(const char *tag)
{
	return prctl(PR_SET_AGENT_INTENT_TAG, tag, 0, 0, 0);
}

static int get_tag(char buf[TAG_BUF])
{
	return prctl(PR_GET_AGENT_INTENT_TAG, buf, 0, 0, 0);
}

/* @buf is @tag followed by NULs up to TAG_BUF bytes. */
static bool padded_tag_is(const char *buf, const char *tag)
{
	size_t len = strlen(tag);

	if (memcmp(buf, tag, len))
		return false;
	for (size_t i = len; i < TAG_BUF; i++)
		if (buf[i])
			return false;
	return true;
}

/*
 * Reads /proc/<who>/agent_intent into @buf, NUL-terminated; returns its
 * length or -errno.
 */
static ssize_t read_intent(const char *who, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/agent_intent", who);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Every test but one runs in its own fresh session. */
FIXTURE(session) {
};

FIXTURE_SETUP(session)
{
	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
}

FIXTURE_TEARDOWN(session)
{
}

TEST_F(session, tag_reads_back_nul_padded)
{
	static const char tag[] = "deploy the staging build";
	char buf[2 * TAG_BUF], line[128], pid[16];

	ASSERT_EQ(0, set_tag(tag));
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, tag));
	/* Exactly AGENT_NS_INTENT_MAX + 1 bytes written, no more. */
	for (int i = TAG_BUF; i < sizeof(buf); i++)
		ASSERT_EQ(0xaa, (unsigned char)buf[i]);
	EXPECT_EQ(strlen(tag) + 1, read_intent("self", line, sizeof(line)));
	EXPECT_STREQ("deploy the staging build\n", line);
	snprintf(pid, sizeof(pid), "%d", getpid());
	EXPECT_EQ(strlen(tag) + 1, read_intent(pid, line, sizeof(line)));
	EXPECT_STREQ("deploy the staging build\n", line);
}

TEST_F(session, empty_tag_clears)
{
	char buf[TAG_BUF], line[128];

	ASSERT_EQ(0, set_tag("something"));
	ASSERT_EQ(0, set_tag(""));
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, ""));
	EXPECT_EQ(1, read_intent("self", line, sizeof(line)));
	EXPECT_STREQ("\n", line);
}

TEST_F(session, every_printable_byte_is_accepted)
{
	char tag[TAG_BUF], buf[TAG_BUF];
	int c = 0x20;

	/* 0x20..0x5e, then 0x5f..0x7e: 63 and 32 bytes. */
	while (c <= 0x7e) {
		int len = 0;

		while (c <= 0x7e && len < AGENT_NS_INTENT_MAX)
			tag[len++] = c++;
		tag[len] = '\0';
		ASSERT_EQ(0, set_tag(tag));
		ASSERT_EQ(0, get_tag(buf));
		EXPECT_TRUE(padded_tag_is(buf, tag));
	}
}

/*
 * Any member sets the tag, so the file is private like /proc/PID/io: mode
 * 0400, readable by the owner, not by another user without capabilities.
 */
TEST_F(session, proc_file_is_private)
{
	struct stat st;
	char path[64];
	pid_t owner = getpid(), pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop privileges");
	snprintf(path, sizeof(path), "/proc/%d/agent_intent", owner);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0400, st.st_mode & 07777);
	ASSERT_EQ(0, set_tag("read me"));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char who[16], line[128];

		/* Another user, without any capability. */
		if (drop_to_nobody())
			_exit(10);
		snprintf(who, sizeof(who), "%d", owner);
		if (read_intent(who, line, sizeof(line)) != -EACCES)
			_exit(11);
		/*
		 * Its own process's file it reads (once dumpable again:
		 * the uid change made procfs files root's, as for io).
		 */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) ||
		    read_intent("self", line, sizeof(line)) != 8)
			_exit(12);
		_exit(strcmp(line, "read me\n") ? 13 : 0);
	}
	EXPECT_EQ(0, wait_exit(pid));
}

TEST_F(session, longest_tag_is_63_bytes)
{
	char tag[TAG_BUF + 1], buf[TAG_BUF];

	memset(tag, 'x', AGENT_NS_INTENT_MAX);
	tag[AGENT_NS_INTENT_MAX] = '\0';
	ASSERT_EQ(0, set_tag(tag));
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, tag));
	EXPECT_EQ('\0', buf[AGENT_NS_INTENT_MAX]);

	memset(tag, 'y', TAG_BUF);
	tag[TAG_BUF] = '\0';
	EXPECT_EQ(-1, set_tag(tag));
	EXPECT_EQ(EINVAL, errno);
	/* The refused tag changed nothing. */
	tag[AGENT_NS_INTENT_MAX] = '\0';
	memset(tag, 'x', AGENT_NS_INTENT_MAX);
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, tag));
}

TEST_F(session, non_printable_bytes_are_einval)
{
	static const unsigned char bad[] = {
		0x01, 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0xc3, 0xff,
	};
	char tag[8], buf[TAG_BUF];

	ASSERT_EQ(0, set_tag("keep"));
	for (int i = 0; i < sizeof(bad); i++) {
		snprintf(tag, sizeof(tag), "ab%ccd", bad[i]);
		EXPECT_EQ(-1, set_tag(tag)) {
			TH_LOG("byte 0x%02x was accepted", bad[i]);
		}
		EXPECT_EQ(EINVAL, errno);
	}
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, "keep"));
}

/*
 * A tag with no NUL that runs up to an unmapped page: too long before the
 * hole is EINVAL, a fault before 64 bytes is EFAULT.
 */
TEST_F(session, unterminated_tag_before_a_hole)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map, *end, buf[TAG_BUF];

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	end = map + page;
	ASSERT_EQ(0, set_tag("keep"));

	memset(end - 100, 'a', 100);
	EXPECT_EQ(-1, set_tag(end - 100));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_tag(end - 10));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, "keep"));

	/* 63 bytes and their NUL, the NUL the last mapped byte: fine. */
	end[-1] = '\0';
	EXPECT_EQ(0, set_tag(end - TAG_BUF));
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, end - TAG_BUF));
	munmap(map, page);
}

TEST_F(session, bad_pointers_are_efault)
{
	char *ro, buf[TAG_BUF];

	ASSERT_EQ(0, set_tag("keep"));
	EXPECT_EQ(-1, set_tag(NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, set_tag((char *)-1UL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, get_tag(NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, get_tag((char *)-1UL));
	EXPECT_EQ(EFAULT, errno);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, get_tag(ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, "keep"));
}

TEST_F(session, nonzero_unused_args_are_einval)
{
	char buf[TAG_BUF];

	ASSERT_EQ(0, set_tag("keep"));
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_INTENT_TAG, "new", 1, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_INTENT_TAG, "new", 0, 1, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_SET_AGENT_INTENT_TAG, "new", 0, 0, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_INTENT_TAG, buf, 1, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_INTENT_TAG, buf, 0, 1, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_GET_AGENT_INTENT_TAG, buf, 0, 0, 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, "keep"));
}

TEST(initial_session_has_no_tag)
{
	char id[33], buf[TAG_BUF], line[128];

	ASSERT_EQ(0, prctl_session(id));
	if (strcmp(id, zero_id))
		SKIP(return, "runner is not in the initial session");
	EXPECT_EQ(-1, set_tag("not here"));
	EXPECT_EQ(EINVAL, errno);
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, ""));
	EXPECT_EQ(1, read_intent("self", line, sizeof(line)));
	EXPECT_STREQ("\n", line);
	EXPECT_EQ(1, read_intent("1", line, sizeof(line)));
	EXPECT_STREQ("\n", line);
}

TEST_F(session, tag_belongs_to_the_session)
{
	char buf[TAG_BUF], line[128];
	pid_t pid;

	ASSERT_EQ(0, set_tag("from the parent"));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (get_tag(buf) || !padded_tag_is(buf, "from the parent"))
			_exit(10);
		if (set_tag("from the child"))
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(0, wait_exit(pid));
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, "from the child"));
	EXPECT_EQ(15, read_intent("self", line, sizeof(line)));
	EXPECT_STREQ("from the child\n", line);
}

TEST_F(session, new_session_starts_without_a_tag)
{
	char buf[TAG_BUF];
	pid_t pid;

	ASSERT_EQ(0, set_tag("outer"));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char line[128];

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(10);
		memset(buf, 0xaa, sizeof(buf));
		if (get_tag(buf) || !padded_tag_is(buf, ""))
			_exit(11);
		if (read_intent("self", line, sizeof(line)) != 1 ||
		    strcmp(line, "\n"))
			_exit(12);
		/* Its own tag does not reach the parent session. */
		if (set_tag("inner"))
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(0, wait_exit(pid));
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(padded_tag_is(buf, "outer"));
}

#define SETTERS			4
#define SETS_PER_SETTER		10000

/* Tags of different lengths and letters: a torn read matches none. */
static char race_tags[SETTERS][TAG_BUF];
static int setters_done;

static void *setter(void *arg)
{
	const char *tag = arg;
	long failed = 0;

	for (int i = 0; i < SETS_PER_SETTER; i++)
		if (set_tag(tag))
			failed++;
	__atomic_add_fetch(&setters_done, 1, __ATOMIC_RELEASE);
	return (void *)failed;
}

static bool is_race_tag(const char buf[TAG_BUF])
{
	for (int i = 0; i < SETTERS; i++)
		if (!memcmp(buf, race_tags[i], TAG_BUF))
			return true;
	return false;
}

static bool is_race_line(const char *line, ssize_t n)
{
	for (int i = 0; i < SETTERS; i++) {
		size_t len = strlen(race_tags[i]);

		if (n > 0 && n == len + 1 && !memcmp(line, race_tags[i], len) &&
		    line[len] == '\n')
			return true;
	}
	return false;
}

TEST_F_TIMEOUT(session, concurrent_sets_never_tear, 120)
{
	static const int lens[SETTERS] = { 63, 1, 20, 40 };
	long reads = 0, bad_get = 0, bad_proc = 0, failed = 0;
	char buf[TAG_BUF], line[128], first_bad[192] = "";
	pthread_t threads[SETTERS];
	void *ret;
	ssize_t n;

	for (int i = 0; i < SETTERS; i++) {
		memset(race_tags[i], 0, TAG_BUF);
		memset(race_tags[i], 'a' + i, lens[i]);
	}
	ASSERT_EQ(0, set_tag(race_tags[0]));
	for (int i = 0; i < SETTERS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, setter,
					    race_tags[i]));
	do {
		memset(buf, 0x55, sizeof(buf));
		if (get_tag(buf) || !is_race_tag(buf)) {
			if (!bad_get++)
				snprintf(first_bad, sizeof(first_bad),
					 "GET: %.*s", TAG_BUF, buf);
		}
		n = read_intent("self", line, sizeof(line));
		if (!is_race_line(line, n)) {
			if (!bad_proc++ && !bad_get)
				snprintf(first_bad, sizeof(first_bad),
					 "proc: %s", n < 0 ? strerror(-n) : line);
		}
		reads++;
	} while (__atomic_load_n(&setters_done, __ATOMIC_ACQUIRE) < SETTERS);
	for (int i = 0; i < SETTERS; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], &ret));
		failed += (long)ret;
	}
	TH_LOG("%ld reads during %d sets", reads, SETTERS * SETS_PER_SETTER);
	EXPECT_EQ(0, failed);
	EXPECT_EQ(0, bad_get) {
		TH_LOG("first bad read: %s", first_bad);
	}
	EXPECT_EQ(0, bad_proc) {
		TH_LOG("first bad read: %s", first_bad);
	}
	ASSERT_EQ(0, get_tag(buf));
	EXPECT_TRUE(is_race_tag(buf));
}

#define EVENTS			TRACEFS "events/agent_ns/"
#define TRACE_LINE		512

static const char * const trace_events[] = {
	"agent_session_start", "agent_session_end", "agent_intent_set",
};

static int event_enable(const char *event, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), EVENTS "%s/enable", event);
	return tracefs_write(path, val);
}

/*
 * Collects into @lines (up to @max) the payloads, what follows
 * "<event>: ", of the trace buffer's @event lines whose payload starts
 * with @prefix; returns how many there were, or -errno.
 */
static int trace_lines(const char *event, const char *prefix,
		       char lines[][TRACE_LINE], int max)
{
	char line[TRACE_LINE + 128], tag[64], *p;
	FILE *f = fopen(TRACEFS "trace", "r");
	int n = 0;

	if (!f)
		return -errno;
	snprintf(tag, sizeof(tag), ": %s: ", event);
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, tag);
		if (!p)
			continue;
		p += strlen(tag);
		if (strncmp(p, prefix, strlen(prefix)))
			continue;
		p[strcspn(p, "\n")] = '\0';
		if (n < max)
			snprintf(lines[n], TRACE_LINE, "%s", p);
		n++;
	}
	fclose(f);
	return n;
}

/*
 * trace_lines(), waiting up to two seconds for @want lines: a session
 * ends when its last reference goes, which may be just after the reap.
 */
static int wait_trace_lines(const char *event, const char *prefix,
			    char lines[][TRACE_LINE], int max, int want)
{
	int n = 0;

	for (int i = 0; i < 200; i++) {
		n = trace_lines(event, prefix, lines, max);
		if (n < 0 || n >= want)
			break;
		usleep(10 * 1000);
	}
	return n;
}

/* Shared with a child, which writes its session ids there. */
static char (*shared_ids(void))[33]
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

FIXTURE(trace) {
};

FIXTURE_SETUP(trace)
{
	if (access(TRACEFS "trace", F_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		SKIP(return, "tracefs is not available");
	if (access(EVENTS, F_OK))
		SKIP(return, "kernel has no agent_ns trace events");
	ASSERT_EQ(0, tracefs_write(TRACEFS "trace", ""));
}

FIXTURE_TEARDOWN(trace)
{
	for (int i = 0; i < ARRAY_SIZE(trace_events); i++)
		event_enable(trace_events[i], "0");
}

TEST_F(trace, session_start_names_id_parent_depth_pid_uid)
{
	char lines[2][TRACE_LINE], prefix[64], want[TRACE_LINE];
	char (*ids)[33], parent[33];
	pid_t pid;

	ASSERT_EQ(0, prctl_session(parent));
	if (strcmp(parent, zero_id))
		SKIP(return, "runner is not in the initial session");
	ids = shared_ids();
	ASSERT_NE(NULL, ids);
	ASSERT_EQ(0, event_enable("agent_session_start", "1"));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) || prctl_session(ids[0]))
			_exit(10);
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) || prctl_session(ids[1]))
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(0, wait_exit(pid));

	snprintf(prefix, sizeof(prefix), "id=%s ", ids[0]);
	ASSERT_EQ(1, wait_trace_lines("agent_session_start", prefix, lines, 2, 1));
	snprintf(want, sizeof(want), "id=%s parent=%s depth=1 pid=%d uid=0",
		 ids[0], zero_id, pid);
	EXPECT_STREQ(want, lines[0]);

	snprintf(prefix, sizeof(prefix), "id=%s ", ids[1]);
	ASSERT_EQ(1, wait_trace_lines("agent_session_start", prefix, lines, 2, 1));
	snprintf(want, sizeof(want), "id=%s parent=%s depth=2 pid=%d uid=0",
		 ids[1], ids[0], pid);
	EXPECT_STREQ(want, lines[0]);
}

struct session_end {
	char id[33];
	unsigned long long syscalls, openat, write_bytes, read_bytes;
	unsigned long long connect, unlink, fork, exec, lifetime_ns;
	char reason[16];
};

/* The counters of an agent_session_end payload, in their order. */
#define END_FIELD(name) { #name, offsetof(struct session_end, name) }
static const struct {
	const char *name;
	size_t offset;
} end_fields[] = {
	END_FIELD(syscalls), END_FIELD(openat), END_FIELD(write_bytes),
	END_FIELD(read_bytes), END_FIELD(connect), END_FIELD(unlink),
	END_FIELD(fork), END_FIELD(exec), END_FIELD(lifetime_ns),
};

/*
 * Parses an agent_session_end payload, "id=<32 hex> syscalls=<u> ...
 * lifetime_ns=<u> reason=<word>"; 0 when all of it matched.
 */
static int parse_session_end(const char *s, struct session_end *e)
{
	unsigned long long *val;
	size_t len;
	char *end;

	if (strncmp(s, "id=", 3) || strspn(s + 3, "0123456789abcdef") != 32)
		return -1;
	snprintf(e->id, sizeof(e->id), "%.32s", s + 3);
	s += 3 + 32;
	for (int i = 0; i < ARRAY_SIZE(end_fields); i++) {
		len = strlen(end_fields[i].name);
		if (s[0] != ' ' || strncmp(s + 1, end_fields[i].name, len) ||
		    s[1 + len] != '=' || !isdigit((unsigned char)s[2 + len]))
			return -1;
		val = (void *)((char *)e + end_fields[i].offset);
		*val = strtoull(s + 2 + len, &end, 10);
		s = end;
	}
	if (strncmp(s, " reason=", 8))
		return -1;
	s += 8;
	len = strspn(s, "abcdefghijklmnopqrstuvwxyz");
	if (!len || s[len] || len >= sizeof(e->reason))
		return -1;
	snprintf(e->reason, sizeof(e->reason), "%s", s);
	return 0;
}

TEST_F(trace, session_end_reports_counters_and_exit)
{
	char lines[2][TRACE_LINE], prefix[64], (*ids)[33];
	struct session_end e;
	pid_t pid;

	ids = shared_ids();
	ASSERT_NE(NULL, ids);
	ASSERT_EQ(0, event_enable("agent_session_end", "1"));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		static char page[4096];
		int fd;

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) || prctl_session(ids[0]))
			_exit(10);
		fd = open("/dev/null", O_WRONLY);
		if (fd < 0)
			_exit(11);
		_exit(write(fd, page, sizeof(page)) == sizeof(page) ? 0 : 12);
	}
	ASSERT_EQ(0, wait_exit(pid));

	snprintf(prefix, sizeof(prefix), "id=%s ", ids[0]);
	ASSERT_EQ(1, wait_trace_lines("agent_session_end", prefix, lines, 2, 1));
	ASSERT_EQ(0, parse_session_end(lines[0], &e)) {
		TH_LOG("unexpected agent_session_end: %s", lines[0]);
	}
	EXPECT_STREQ(ids[0], e.id);
	EXPECT_EQ(4096, e.write_bytes);
	EXPECT_STREQ("exit", e.reason);
	/* What the child did after entering the session, and no more. */
	EXPECT_EQ(1, e.openat);
	EXPECT_EQ(0, e.read_bytes);
	EXPECT_EQ(0, e.connect);
	EXPECT_EQ(0, e.unlink);
	EXPECT_EQ(0, e.fork);
	EXPECT_EQ(0, e.exec);
	EXPECT_GE(e.syscalls, 3);
	EXPECT_GT(e.lifetime_ns, 0);
}

TEST_F(trace, session_end_after_a_budget_kill_says_budget)
{
	const unsigned long long limit = 100;
	char lines[2][TRACE_LINE], prefix[64], (*ids)[33];
	struct session_end e;
	pid_t pid;

	ids = shared_ids();
	ASSERT_NE(NULL, ids);
	ASSERT_EQ(0, event_enable("agent_session_end", "1"));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct agent_ns_budget b = {
			.max_syscalls = limit,
			.action = AGENT_NS_ACTION_SIGKILL,
		};

		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) || prctl_session(ids[0]))
			_exit(10);
		if (prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0))
			_exit(11);
		for (;;)
			syscall(SYS_getppid);
	}
	ASSERT_EQ(128 + SIGKILL, wait_exit(pid));

	snprintf(prefix, sizeof(prefix), "id=%s ", ids[0]);
	ASSERT_EQ(1, wait_trace_lines("agent_session_end", prefix, lines, 2, 1));
	ASSERT_EQ(0, parse_session_end(lines[0], &e)) {
		TH_LOG("unexpected agent_session_end: %s", lines[0]);
	}
	EXPECT_STREQ(ids[0], e.id);
	EXPECT_STREQ("budget", e.reason);
	EXPECT_GT(e.syscalls, limit);
}

TEST_F(trace, intent_set_reports_old_and_new)
{
	char lines[3][TRACE_LINE], prefix[64], want[TRACE_LINE], id[33];

	ASSERT_EQ(0, prctl(PR_SET_AGENT_NS, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl_session(id));
	ASSERT_EQ(0, event_enable("agent_intent_set", "1"));
	ASSERT_EQ(0, set_tag("alpha"));
	ASSERT_EQ(0, set_tag("beta"));

	snprintf(prefix, sizeof(prefix), "id=%s ", id);
	ASSERT_EQ(2, wait_trace_lines("agent_intent_set", prefix, lines, 3, 2));
	snprintf(want, sizeof(want), "id=%s old=\"\" new=\"alpha\"", id);
	EXPECT_STREQ(want, lines[0]);
	snprintf(want, sizeof(want), "id=%s old=\"alpha\" new=\"beta\"", id);
	EXPECT_STREQ(want, lines[1]);
}

/* On a kernel without the feature every test is skipped (exit code 4). */
int main(int argc, char **argv)
{
	unsigned char id[AGENT_NS_ID_BYTES];
	char tag[TAG_BUF];

	if (prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent namespaces (CONFIG_AGENT_NS)\n");
	}
	if (prctl(PR_GET_AGENT_INTENT_TAG, tag, 0, 0, 0) &&
	    (errno == EOPNOTSUPP || errno == EINVAL)) {
		ksft_print_header();
		ksft_exit_skip("kernel has no agent intent tags\n");
	}
	return test_harness_run(argc, argv);
}
