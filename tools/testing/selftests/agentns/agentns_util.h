/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the agentns selftests. */
#ifndef AGENTNS_UTIL_H
#define AGENTNS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/agent_namespaces.h>

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

#endif /* AGENTNS_UTIL_H */
