// SPDX-License-Identifier: GPL-2.0
/*
 * Run a command in a new agent session:
 *
 *	agentns-run [-i INTENT] [-s MAX_SYSCALLS] [-k | -d] -- CMD [ARGS...]
 *
 * creates a child session of the caller's (PR_SET_AGENT_NS), optionally
 * tags it with INTENT and limits its system calls to MAX_SYSCALLS, then
 * execs CMD.  When the limit is crossed the budget only logs; with -k it
 * kills the session (SIGKILL), with -d it denies: no signal, and every
 * later system call but exit, exit_group, rt_sigreturn and restart_syscall
 * fails with EDQUOT.  The limit counts from just before the exec, which it
 * includes.  Exit status: CMD's; 125 when the session cannot be set up,
 * 126 when CMD cannot be run (also when -d refuses the exec itself), 127
 * when it is not found.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

#define EXIT_SETUP	125

static void die_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-i INTENT] [-s MAX_SYSCALLS] [-k | -d] -- CMD [ARGS...]\n"
		"  -i INTENT        the session's intent tag (at most %d printable ASCII bytes)\n"
		"  -s MAX_SYSCALLS  a budget of that many system calls (0: none)\n"
		"  -k               the budget kills the session (SIGKILL) instead of logging\n"
		"  -d               the budget denies (EDQUOT) instead of logging: no signal,\n"
		"                   system calls past the limit fail with EDQUOT\n",
		prog, AGENT_NS_INTENT_MAX);
	exit(EXIT_SETUP);
}

/*
 * Reports a failed prctl: EINVAL from a kernel without agent namespaces,
 * which PR_GET_AGENT_SESSION_ID tells apart, gets its own message.
 */
static void fail(const char *what)
{
	unsigned char id[AGENT_NS_ID_BYTES];
	int err = errno;

	if (err == EINVAL && prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0) &&
	    errno == EINVAL)
		fprintf(stderr,
			"agentns-run: this kernel has no agent namespace support; boot a linux-wintermute kernel\n");
	else if (err == EOPNOTSUPP)
		fprintf(stderr,
			"agentns-run: %s: agent namespaces are disabled (kernel.agent_ns.enabled=0 or agent_ns=off)\n",
			what);
	else
		fprintf(stderr, "agentns-run: %s: %s\n", what, strerror(err));
	exit(EXIT_SETUP);
}

int main(int argc, char **argv)
{
	struct agent_ns_budget budget = { .action = AGENT_NS_ACTION_LOG };
	const char *intent = NULL;
	unsigned long long max;
	__u32 action;
	char *end;
	int opt;

	while ((opt = getopt(argc, argv, "+i:s:kd")) != -1) {
		switch (opt) {
		case 'i':
			intent = optarg;
			break;
		case 's':
			errno = 0;
			max = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr, "agentns-run: bad MAX_SYSCALLS: %s\n", optarg);
				die_usage(argv[0]);
			}
			budget.max_syscalls = max;
			break;
		case 'k':
		case 'd':
			action = opt == 'k' ? AGENT_NS_ACTION_SIGKILL :
					      AGENT_NS_ACTION_DENY;
			if (budget.action != AGENT_NS_ACTION_LOG &&
			    budget.action != action) {
				fprintf(stderr, "agentns-run: -k and -d exclude each other\n");
				die_usage(argv[0]);
			}
			budget.action = action;
			break;
		default:
			die_usage(argv[0]);
		}
	}
	if (optind >= argc)
		die_usage(argv[0]);
	if (budget.action != AGENT_NS_ACTION_LOG && !budget.max_syscalls) {
		fprintf(stderr, "agentns-run: -%c needs a budget (-s)\n",
			budget.action == AGENT_NS_ACTION_DENY ? 'd' : 'k');
		die_usage(argv[0]);
	}

	if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0))
		fail("prctl(PR_SET_AGENT_NS)");
	if (intent && prctl(PR_SET_AGENT_INTENT_TAG, intent, 0, 0, 0))
		fail("prctl(PR_SET_AGENT_INTENT_TAG)");
	if (budget.max_syscalls &&
	    prctl(PR_SET_AGENT_BUDGET_LIMITS, &budget, sizeof(budget), 0, 0))
		fail("prctl(PR_SET_AGENT_BUDGET_LIMITS)");

	execvp(argv[optind], argv + optind);
	fprintf(stderr, "agentns-run: %s: %s\n", argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
