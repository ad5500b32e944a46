// SPDX-License-Identifier: GPL-2.0
/*
 * Agent sessions in audit records: records about a task in a session carry
 * " agent_session=<32 hex digits>" (SYSCALL records, AUDIT_USER messages,
 * ANOM_ABEND), records about a task in the initial session carry none, and
 * a budget crossing emits an AUDIT_AGENT_NS (1390) record, only while audit
 * is enabled.
 *
 * The records are read from the audit multicast group (AUDIT_NLGRP_READLOG),
 * which gets every record whether or not an auditd is running.  Each
 * fixture enables audit and restores what it found; a test tolerates
 * unrelated records and picks its own by pid, session id or a unique text.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/agent_namespaces.h>

#include "../kselftest_harness.h"
#include "agentns_util.h"

#ifndef AUDIT_AGENT_NS
#define AUDIT_AGENT_NS		1390
#endif

/* audit_enabled when the configuration is locked (auditctl -e 2). */
#define AUDIT_LOCKED		2

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH		AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH		AUDIT_ARCH_AARCH64
#else
#define TEST_AUDIT_ARCH		0
#endif

/* How long a test waits for a record it expects, and for one it must not see. */
#define RECORD_WAIT_S		5.0
#define ABSENT_WAIT_S		1.0

/* The longest record the kernel sends (MAX_AUDIT_MESSAGE_LENGTH is libaudit's). */
#define RECORD_MAX		9000

/* What a child tells the test. */
struct shared {
	char id[2 * AGENT_NS_ID_BYTES + 1];	/* its session id, hex */
	unsigned long long limit;		/* the budget it set */
};

struct record {
	int type;
	char text[RECORD_MAX + 1];
};

/* Sockets one recv() can fill: a record, or an ack and a reply. */
union nlbuf {
	struct nlmsghdr h;
	char b[RECORD_MAX + 1024];
};

static __u32 nl_seq;

/* Sends a netlink message of @type with @data to the kernel; its sequence number to @seq. */
static int nl_send(int fd, __u16 type, __u16 flags, const void *data, size_t len, __u32 *seq)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	static union nlbuf buf;
	struct nlmsghdr *nlh = &buf.h;

	if (NLMSG_SPACE(len) > sizeof(buf))
		return -EMSGSIZE;
	memset(&buf, 0, NLMSG_SPACE(len));
	nlh->nlmsg_len = NLMSG_LENGTH(len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = *seq = ++nl_seq;
	memcpy(NLMSG_DATA(nlh), data, len);
	if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

/*
 * Receives one datagram into @buf before @deadline (now_s()): its length,
 * 0 at the deadline, or -errno.  An overrun (ENOBUFS: records were dropped
 * on this socket) is skipped.
 */
static ssize_t nl_recv(int fd, union nlbuf *buf, double deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = deadline - now_s();
		ssize_t n;
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = recv(fd, buf, sizeof(*buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOBUFS))
			continue;
		if (n < 0)
			return -errno;
		if (n >= NLMSG_HDRLEN)
			return n;
	}
}

/*
 * Sends a request with NLM_F_ACK and waits for its ack: 0, the -errno the
 * kernel answered, or -ETIMEDOUT.  If @reply, the message of type
 * @reply_type that answers it is copied there (@reply_len bytes at most),
 * which the request must then also wait for.
 */
static int nl_request(int fd, __u16 type, const void *data, size_t len,
		      __u16 reply_type, void *reply, size_t reply_len)
{
	double deadline = now_s() + 2;
	bool acked = false, replied = !reply;
	static union nlbuf buf;
	__u32 seq;
	int ret;

	ret = nl_send(fd, type, NLM_F_ACK, data, len, &seq);
	if (ret)
		return ret;
	while (!acked || !replied) {
		ssize_t n = nl_recv(fd, &buf, deadline);
		struct nlmsghdr *nlh;

		if (n < 0)
			return n;
		if (n == 0)
			return -ETIMEDOUT;
		for (nlh = &buf.h; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nlh);

				if (e->error)
					return e->error;
				acked = true;
			} else if (reply && nlh->nlmsg_type == reply_type) {
				size_t got = nlh->nlmsg_len - NLMSG_HDRLEN;

				memcpy(reply, NLMSG_DATA(nlh), got < reply_len ? got : reply_len);
				replied = true;
			}
		}
	}
	return 0;
}

static int audit_get_status(int fd, struct audit_status *s)
{
	memset(s, 0, sizeof(*s));
	return nl_request(fd, AUDIT_GET, NULL, 0, AUDIT_GET, s, sizeof(*s));
}

static int audit_set_enabled(int fd, __u32 enabled)
{
	struct audit_status s = { .mask = AUDIT_STATUS_ENABLED, .enabled = enabled };

	return nl_request(fd, AUDIT_SET, &s, sizeof(s), 0, NULL, 0);
}

/* The exit-filter rule "always, on getppid(2), for this arch". */
static void getppid_rule(struct audit_rule_data *r)
{
	memset(r, 0, sizeof(*r));
	r->flags = AUDIT_FILTER_EXIT;
	r->action = AUDIT_ALWAYS;
	r->mask[__NR_getppid / 32] |= 1U << (__NR_getppid % 32);
	r->field_count = 1;
	r->fields[0] = AUDIT_ARCH;
	r->fieldflags[0] = AUDIT_EQUAL;
	r->values[0] = TEST_AUDIT_ARCH;
}

static int audit_rule(int fd, __u16 op)
{
	struct audit_rule_data r;

	getppid_rule(&r);
	return nl_request(fd, op, &r, sizeof(r), 0, NULL, 0);
}

/*
 * Reads records from the reader @fd until one of type @type has every
 * string of @needles (NULL-terminated) in it: true and the record in @r,
 * or false after @timeout_s seconds.
 */
static bool wait_record(int fd, double timeout_s, int type,
			const char * const *needles, struct record *r)
{
	double deadline = now_s() + timeout_s;
	static union nlbuf buf;

	for (;;) {
		ssize_t n = nl_recv(fd, &buf, deadline);
		size_t len;
		bool all = true;

		if (n <= 0)
			return false;
		if (buf.h.nlmsg_type != type)
			continue;
		len = n - NLMSG_HDRLEN;
		if (len > RECORD_MAX)
			len = RECORD_MAX;
		memcpy(r->text, buf.b + NLMSG_HDRLEN, len);
		r->text[len] = '\0';
		r->type = type;
		for (int i = 0; needles[i]; i++)
			if (!strstr(r->text, needles[i]))
				all = false;
		if (all)
			return true;
	}
}

/*
 * The value of the field " agent_session=" in @text, if there is exactly
 * one such field and it is 32 lowercase hex digits ending the record or
 * followed by a space: a pointer into @text, else NULL.
 */
static const char *agent_session_field(const char *text)
{
	static const char key[] = " agent_session=";
	const char *p = strstr(text, key), *v;

	if (!p || strstr(p + 1, key))
		return NULL;
	v = p + strlen(key);
	for (int i = 0; i < 32; i++)
		if (!v[i] || !strchr("0123456789abcdef", v[i]))
			return NULL;
	if (v[32] && v[32] != ' ')
		return NULL;
	return v;
}

/* Whether the record @r names the session @id (32 hex digits), once. */
static bool names_session(const struct record *r, const char *id)
{
	const char *v = agent_session_field(r->text);

	return v && !strncmp(v, id, 32);
}

FIXTURE(audit) {
	int ctl;		/* requests: AUDIT_GET, AUDIT_SET, rules */
	int reader;		/* bound to AUDIT_NLGRP_READLOG */
	bool saved;		/* saved_enabled is to be restored */
	__u32 saved_enabled;
	bool rule_added;	/* the getppid rule is to be deleted */
	struct shared *sh;	/* shared with the children */
};

FIXTURE_SETUP(audit)
{
	struct sockaddr_nl group = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1),
	};
	static const unsigned char zero[AGENT_NS_ID_BYTES];
	unsigned char id[AGENT_NS_ID_BYTES];
	struct audit_status st;
	int rcvbuf = 4 << 20;

	self->ctl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (self->ctl < 0 && errno == EPROTONOSUPPORT)
		SKIP(return, "kernel has no audit (CONFIG_AUDIT, or audit=0)");
	ASSERT_LE(0, self->ctl) TH_LOG("NETLINK_AUDIT socket: %s", strerror(errno));
	if (geteuid())
		SKIP(return, "needs root");
	if (read_long(ENABLED) == 0)
		SKIP(return, "kernel.agent_ns.enabled is 0");
	ASSERT_EQ(0, prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0));
	if (memcmp(id, zero, sizeof(id)))
		SKIP(return, "runner is not in the initial session");
	ASSERT_EQ(0, audit_get_status(self->ctl, &st));
	if (st.enabled == AUDIT_LOCKED)
		SKIP(return, "the audit configuration is locked");

	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	self->reader = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	ASSERT_LE(0, self->reader);
	if (setsockopt(self->reader, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(self->reader, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ASSERT_EQ(0, bind(self->reader, (struct sockaddr *)&group, sizeof(group)))
		TH_LOG("binding to AUDIT_NLGRP_READLOG: %s", strerror(errno));

	/* Last, so that a setup that fails changes nothing. */
	self->saved_enabled = st.enabled;
	self->saved = true;
	ASSERT_EQ(0, audit_set_enabled(self->ctl, 1));
}

/*
 * In the parent, so that it runs even when a test is killed by its
 * timeout; it has none of the test's sockets, so it opens its own.
 */
FIXTURE_TEARDOWN_PARENT(audit)
{
	int fd;

	if (!self->saved && !self->rule_added)
		return;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (fd < 0)
		return;
	if (self->rule_added)
		audit_rule(fd, AUDIT_DEL_RULE);
	if (self->saved)
		audit_set_enabled(fd, self->saved_enabled);
	close(fd);
}

/*
 * Forks a child that enters a new session if @session (no_new_privs,
 * PR_SET_AGENT_NS), writes its session id to @sh->id and returns @fn(@arg)
 * as its exit status.  Returns the child's pid.
 */
static pid_t spawn(struct shared *sh, bool session, int (*fn)(struct shared *, const void *),
		   const void *arg)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (session && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
			prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))) {
		say("entering a session: %s", strerror(errno));
		_exit(100);
	}
	if (prctl_session(sh->id))
		_exit(101);
	_exit(fn(sh, arg));
}

/* Sends the AUDIT_USER message @arg (a string) and waits for the kernel's ack. */
static int send_user_message(struct shared *sh, const void *arg)
{
	const char *text = arg;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT), ret;

	if (fd < 0) {
		say("NETLINK_AUDIT socket: %s", strerror(errno));
		return 1;
	}
	/* The kernel overwrites the last byte with a NUL: send the NUL. */
	ret = nl_request(fd, AUDIT_USER, text, strlen(text) + 1, 0, NULL, 0);
	close(fd);
	if (ret) {
		say("AUDIT_USER: %s", strerror(-ret));
		return 1;
	}
	return 0;
}

/* A text no other record has: "agentns-audit-test-<what>-<pid>-<ns>". */
static void unique_text(char *buf, size_t size, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, size, "agentns-audit-test-%s-%d-%ld%09ld", what, getpid(),
		 (long)ts.tv_sec, ts.tv_nsec);
}

/*
 * An AUDIT_USER message from a task in a session is logged with its
 * session's id; one from a task in the initial session with none.
 */
TEST_F(audit, user_message_from_a_session_carries_its_id)
{
	const char *needles[2] = { NULL, NULL };
	char text[128], msg[160];
	struct record r;
	pid_t pid;

	unique_text(text, sizeof(text), "session");
	pid = spawn(self->sh, true, send_user_message, text);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_exit(pid));
	snprintf(msg, sizeof(msg), " msg='%s'", text);
	needles[0] = msg;
	ASSERT_TRUE(wait_record(self->reader, RECORD_WAIT_S, AUDIT_USER, needles, &r))
		TH_LOG("no AUDIT_USER record with %s", msg);
	EXPECT_TRUE(names_session(&r, self->sh->id))
		TH_LOG("want agent_session=%s in: %s", self->sh->id, r.text);

	unique_text(text, sizeof(text), "initial");
	pid = spawn(self->sh, false, send_user_message, text);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_exit(pid));
	snprintf(msg, sizeof(msg), " msg='%s'", text);
	ASSERT_TRUE(wait_record(self->reader, RECORD_WAIT_S, AUDIT_USER, needles, &r))
		TH_LOG("no AUDIT_USER record with %s", msg);
	EXPECT_EQ(NULL, strstr(r.text, "agent_session="))
		TH_LOG("unexpected agent_session= in: %s", r.text);
}

static int call_getppid(struct shared *sh, const void *arg)
{
	return syscall(__NR_getppid) > 0 ? 0 : 1;
}

/*
 * The SYSCALL record of a task in a session (an exit-filter rule makes
 * getppid(2) audited) names its session; a task in the initial session's
 * names none.
 */
TEST_F(audit, syscall_record_carries_the_id)
{
	char sysnr[32], pidf[32];
	const char * const needles[] = { sysnr, pidf, NULL };
	struct record r;
	pid_t pid;
	int ret;

	if (!TEST_AUDIT_ARCH)
		SKIP(return, "no AUDIT_ARCH_* for this architecture in the test");
	ret = audit_rule(self->ctl, AUDIT_ADD_RULE);
	ASSERT_TRUE(ret == 0 || ret == -EEXIST) TH_LOG("AUDIT_ADD_RULE: %s", strerror(-ret));
	self->rule_added = true;
	snprintf(sysnr, sizeof(sysnr), " syscall=%d ", __NR_getppid);

	pid = spawn(self->sh, true, call_getppid, NULL);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_exit(pid));
	snprintf(pidf, sizeof(pidf), " pid=%d ", pid);
	ASSERT_TRUE(wait_record(self->reader, RECORD_WAIT_S, AUDIT_SYSCALL, needles, &r))
		TH_LOG("no SYSCALL record with%s and%s", sysnr, pidf);
	EXPECT_TRUE(names_session(&r, self->sh->id))
		TH_LOG("want agent_session=%s in: %s", self->sh->id, r.text);

	pid = spawn(self->sh, false, call_getppid, NULL);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_exit(pid));
	snprintf(pidf, sizeof(pidf), " pid=%d ", pid);
	ASSERT_TRUE(wait_record(self->reader, RECORD_WAIT_S, AUDIT_SYSCALL, needles, &r))
		TH_LOG("no SYSCALL record with%s and%s", sysnr, pidf);
	EXPECT_EQ(NULL, strstr(r.text, "agent_session="))
		TH_LOG("unexpected agent_session= in: %s", r.text);

	EXPECT_EQ(0, audit_rule(self->ctl, AUDIT_DEL_RULE));
	self->rule_added = false;
}

/*
 * Sets a LOG budget of max_syscalls = what the session has made + 5 (to
 * @sh->limit), then makes 20 more system calls.
 */
static int cross_syscall_budget(struct shared *sh, const void *arg)
{
	struct agent_ns_counters c = { 0 };
	struct agent_ns_budget b = { .action = AGENT_NS_ACTION_LOG };

	if (prctl(PR_GET_AGENT_COUNTERS, &c, sizeof(c), 0, 0))
		return 1;
	b.max_syscalls = c.total_syscalls + 5;
	sh->limit = b.max_syscalls;
	if (prctl(PR_SET_AGENT_BUDGET_LIMITS, &b, sizeof(b), 0, 0)) {
		say("PR_SET_AGENT_BUDGET_LIMITS: %s", strerror(errno));
		return 2;
	}
	for (int i = 0; i < 20; i++)
		syscall(__NR_getppid);
	return 0;
}

/*
 * Runs a child that crosses its syscall budget and waits @timeout_s for its
 * AUDIT_AGENT_NS record: true with the record in @r if it came.
 */
static bool budget_record(struct __test_metadata *_metadata, struct _test_data_audit *self,
			  double timeout_s, struct record *r)
{
	char head[128];
	const char * const needles[] = { head, NULL };
	pid_t pid = spawn(self->sh, true, cross_syscall_budget, NULL);

	EXPECT_LT(0, pid);
	if (pid <= 0)
		return false;
	EXPECT_EQ(0, wait_exit(pid));
	snprintf(head, sizeof(head), "op=budget agent_session=%s counter=syscalls value=",
		 self->sh->id);
	return wait_record(self->reader, timeout_s, AUDIT_AGENT_NS, needles, r);
}

/*
 * A budget crossing emits "op=budget agent_session=<id> counter=syscalls
 * value=N limit=<the limit> action=log", with N past the limit.
 */
TEST_F(audit, budget_crossing_emits_an_agent_ns_record)
{
	unsigned long long value = 0, limit = 0;
	char action[16] = "";
	struct record r;
	const char *p;
	int fields;

	ASSERT_TRUE(budget_record(_metadata, self, RECORD_WAIT_S, &r))
		TH_LOG("no AUDIT_AGENT_NS record for session %s", self->sh->id);
	EXPECT_TRUE(names_session(&r, self->sh->id))
		TH_LOG("want agent_session=%s in: %s", self->sh->id, r.text);
	p = strstr(r.text, " value=");
	ASSERT_NE(NULL, p);
	fields = sscanf(p, " value=%llu limit=%llu action=%15s", &value, &limit, action);
	ASSERT_EQ(3, fields)
		TH_LOG("record: %s", r.text);
	EXPECT_EQ(self->sh->limit, limit);
	EXPECT_LT(limit, value);
	EXPECT_STREQ("log", action);
	/* action= ends the record. */
	p = strstr(r.text, " action=log");
	EXPECT_NE(NULL, p) TH_LOG("record: %s", r.text);
	if (p)
		EXPECT_EQ('\0', p[strlen(" action=log")]) TH_LOG("record: %s", r.text);
}

/*
 * With audit disabled a crossing emits no AUDIT_AGENT_NS record; enabled
 * again, the next crossing does (so the reader was listening).
 */
TEST_F(audit, no_agent_ns_record_while_audit_is_disabled)
{
	struct audit_status st;
	struct record r;

	ASSERT_EQ(0, audit_set_enabled(self->ctl, 0));
	ASSERT_EQ(0, audit_get_status(self->ctl, &st));
	ASSERT_EQ(0, st.enabled);
	EXPECT_FALSE(budget_record(_metadata, self, ABSENT_WAIT_S, &r))
		TH_LOG("record while audit is disabled: %s", r.text);

	ASSERT_EQ(0, audit_set_enabled(self->ctl, 1));
	EXPECT_TRUE(budget_record(_metadata, self, RECORD_WAIT_S, &r))
		TH_LOG("no AUDIT_AGENT_NS record once audit is enabled again");
}

/* Dies of SIGSEGV without dumping core. */
static int die_of_sigsegv(struct shared *sh, const void *arg)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	return 1;
}

/*
 * The ANOM_ABEND record (audit_log_task()) of a task in a session that
 * dies of a core-dumping signal names its session; in the initial session
 * it names none.
 */
TEST_F(audit, abend_record_carries_the_id)
{
	char pidf[32];
	const char * const needles[] = { pidf, " sig=11 ", NULL };
	struct record r;
	pid_t pid;

	/* ANOM_ABEND comes from the core dump code (CONFIG_COREDUMP). */
	if (access("/proc/sys/kernel/core_pattern", F_OK))
		SKIP(return, "kernel without core dumps: no ANOM_ABEND records");
	pid = spawn(self->sh, true, die_of_sigsegv, NULL);
	ASSERT_LT(0, pid);
	ASSERT_EQ(128 + SIGSEGV, wait_exit(pid));
	snprintf(pidf, sizeof(pidf), " pid=%d ", pid);
	ASSERT_TRUE(wait_record(self->reader, RECORD_WAIT_S, AUDIT_ANOM_ABEND, needles, &r))
		TH_LOG("no ANOM_ABEND record with%s", pidf);
	EXPECT_TRUE(names_session(&r, self->sh->id))
		TH_LOG("want agent_session=%s in: %s", self->sh->id, r.text);

	pid = spawn(self->sh, false, die_of_sigsegv, NULL);
	ASSERT_LT(0, pid);
	ASSERT_EQ(128 + SIGSEGV, wait_exit(pid));
	snprintf(pidf, sizeof(pidf), " pid=%d ", pid);
	ASSERT_TRUE(wait_record(self->reader, RECORD_WAIT_S, AUDIT_ANOM_ABEND, needles, &r))
		TH_LOG("no ANOM_ABEND record with%s", pidf);
	EXPECT_EQ(NULL, strstr(r.text, "agent_session="))
		TH_LOG("unexpected agent_session= in: %s", r.text);
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
