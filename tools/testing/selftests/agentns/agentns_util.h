/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the agentns selftests. */
#ifndef AGENTNS_UTIL_H
#define AGENTNS_UTIL_H

#include <grp.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#define NOBODY			65534

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

#endif /* AGENTNS_UTIL_H */
