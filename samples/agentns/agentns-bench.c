// SPDX-License-Identifier: GPL-2.0
/*
 * What a system call costs with agent namespaces, in guest instructions:
 * run under QEMU with -icount shift=0,sleep=off, where CLOCK_MONOTONIC
 * advances one nanosecond per executed instruction.
 *
 *   agentns-bench [N]   prints instructions per getppid() in four states
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

static double per_call(long n)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	struct agent_ns_budget budget = {
		.max_syscalls = 1ULL << 62, .action = AGENT_NS_ACTION_LOG,
	};
	int pipefd[2];
	pid_t pid, top;
	char c;

	per_call(n / 10);	/* warm up */
	printf("%-44s %8.2f\n", "no session exists (static key off):", per_call(n));

	/* A session exists, held by a sleeping child; we stay outside it. */
	if (pipe(pipefd))
		return 1;
	pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
			_exit(1);
		read(pipefd[0], &c, 1);
		_exit(0);
	}
	usleep(100000);
	printf("%-44s %8.2f\n", "a session exists, caller outside it:", per_call(n));

	/* A budget only at the top: charges skip the 7 sessions between. */
	top = fork();
	if (top == 0) {
		if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0) ||
		    prctl(PR_SET_AGENT_BUDGET_LIMITS, &budget, sizeof(budget), 0, 0))
			_exit(1);
		for (int i = 0; i < 7; i++)
			prctl(PR_SET_AGENT_NS, 0, 0, 0, 0);
		printf("%-44s %8.2f\n", "inside, 8 deep, syscall budget 7 levels up:", per_call(n));
		fflush(stdout);
		_exit(0);
	}
	waitpid(top, NULL, 0);

	if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0)) {
		perror("PR_SET_AGENT_NS");
		return 1;
	}
	printf("%-44s %8.2f\n", "caller inside a session:", per_call(n));
	for (int i = 0; i < 7; i++)
		prctl(PR_SET_AGENT_NS, 0, 0, 0, 0);
	printf("%-44s %8.2f\n", "caller inside a session 8 deep:", per_call(n));
	if (prctl(PR_SET_AGENT_BUDGET_LIMITS, &budget, sizeof(budget), 0, 0)) {
		perror("PR_SET_AGENT_BUDGET_LIMITS");
		return 1;
	}
	printf("%-44s %8.2f\n", "inside, 8 deep, syscall budget on itself:", per_call(n));

	write(pipefd[1], "x", 1);
	waitpid(pid, NULL, 0);
	return 0;
}
