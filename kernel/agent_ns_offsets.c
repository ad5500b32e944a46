// SPDX-License-Identifier: GPL-2.0
/*
 * The C compiler's layout of struct agent_namespace, and of the fields of
 * struct nsproxy and struct nsset the Rust side reads, generated into
 * <generated/agent-ns-offsets.h> before anything is built.  The Rust side
 * reads these through bindgen and checks at build time that bindgen's view
 * of the structures is the same (rust/kernel/agent_ns/namespace.rs and
 * nsfs.rs).
 */
#define COMPILE_OFFSETS
#include <linux/kbuild.h>
#include <linux/agent_namespaces.h>

int main(void)
{
#ifdef CONFIG_AGENT_NS
	DEFINE(AGENT_NS_C_SIZE, sizeof(struct agent_namespace));
	DEFINE(AGENT_NS_C_ALIGN, __alignof__(struct agent_namespace));
	OFFSET(AGENT_NS_C_NS, agent_namespace, ns);
	OFFSET(AGENT_NS_C_PARENT, agent_namespace, parent);
	OFFSET(AGENT_NS_C_USER_NS, agent_namespace, user_ns);
	OFFSET(AGENT_NS_C_LEVEL, agent_namespace, level);
	OFFSET(AGENT_NS_C_ID, agent_namespace, id);
	OFFSET(AGENT_NS_C_PCPU, agent_namespace, pcpu);
	OFFSET(AGENT_NS_C_BUDGET_MASK, agent_namespace, budget_mask);
	OFFSET(AGENT_NS_C_UCOUNTS, agent_namespace, ucounts);
	OFFSET(AGENT_NS_C_EXPIRED, agent_namespace, expired);
	OFFSET(AGENT_NS_C_REAPED, agent_namespace, reaped);
	OFFSET(AGENT_NS_C_NSPROXY_AGENT_NS, nsproxy, agent_ns);
	OFFSET(AGENT_NS_C_NSSET_NSPROXY, nsset, nsproxy);
	OFFSET(AGENT_NS_C_NSSET_CRED, nsset, cred);
#endif
	return 0;
}
