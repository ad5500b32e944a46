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
	char path[80], buf[64];
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

#endif /* AGENTNS_UTIL_H */
