// SPDX-License-Identifier: GPL-2.0
/*
 * Create an agent session and show it: what `make run` runs in the guest.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>

static int show(const char *label, const char *path)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, sizeof(buf), f)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	fclose(f);
	printf("%-38s %s", label, buf);
	return 0;
}

int main(void)
{
	unsigned char parent[AGENT_NS_ID_BYTES];
	char link[64] = "";
	int ret = 0;

	if (access("/proc/1/agent_session", F_OK)) {
		printf("this kernel has no agent namespaces (CONFIG_AGENT_NS is off)\n");
		return 0;
	}
	ret |= show("init task  (/proc/1/agent_session):", "/proc/1/agent_session");
	ret |= show("this task  (/proc/self/agent_session):", "/proc/self/agent_session");
	if (prctl(PR_SET_AGENT_NS, 0, 0, 0, 0)) {
		perror("prctl(PR_SET_AGENT_NS)");
		return 1;
	}
	printf("prctl(PR_SET_AGENT_NS) = 0: entered a new session\n");
	ret |= show("this task  (/proc/self/agent_session):", "/proc/self/agent_session");
	if (prctl(PR_GET_AGENT_PARENT_ID, parent, 0, 0, 0) == 0) {
		printf("%-38s ", "its parent (PR_GET_AGENT_PARENT_ID):");
		for (int i = 0; i < AGENT_NS_ID_BYTES; i++)
			printf("%02x", parent[i]);
		printf("\n");
	}
	if (prctl(PR_SET_AGENT_INTENT_TAG, "make-run-demo", 0, 0, 0)) {
		perror("prctl(PR_SET_AGENT_INTENT_TAG)");
		return 1;
	}
	ret |= show("its intent (/proc/self/agent_intent):", "/proc/self/agent_intent");
	if (readlink("/proc/self/ns/agent", link, sizeof(link) - 1) > 0)
		printf("%-38s %s\n", "namespace  (/proc/self/ns/agent):", link);
	else
		perror("readlink(/proc/self/ns/agent)");
	return ret;
}
