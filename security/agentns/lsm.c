// SPDX-License-Identifier: GPL-2.0-only
/*
 * agentns: which agent session created a file, in its security xattrs.
 *
 * This is the LSM hook table and the xattr slots, which have no Rust
 * abstraction in 7.3; what a label holds and who may change one is decided
 * in rust/kernel/agent_ns/provenance.rs.
 */

#include <linux/agent_namespaces.h>
#include <linux/lsm_hooks.h>
#include <linux/slab.h>
#include <linux/xattr.h>
#include <uapi/linux/lsm.h>

static struct lsm_blob_sizes agentns_blob_sizes __ro_after_init = {
	.lbs_xattr_count = 2,	/* agent_session, agent_intent */
};

static int agentns_add_xattr(struct xattr *xattrs, int *xattr_count,
			     const char *name, const void *value, size_t len)
{
	struct xattr *x = lsm_get_xattr_slot(xattrs, xattr_count);

	if (!x)
		return 0;
	x->value = kmemdup(value, len, GFP_NOFS);
	if (!x->value)
		return -ENOMEM;
	x->value_len = len;
	x->name = name;
	return 0;
}

static int agentns_inode_init_security(struct inode *inode, struct inode *dir,
				       const struct qstr *qstr,
				       struct xattr *xattrs, int *xattr_count)
{
	struct agent_ns_label label;
	int ret;

	if (!agent_ns_file_label(&label))
		return -EOPNOTSUPP;
	ret = agentns_add_xattr(xattrs, xattr_count, XATTR_AGENT_SESSION_SUFFIX,
				label.id, sizeof(label.id));
	if (ret || !label.intent_len)
		return ret;
	return agentns_add_xattr(xattrs, xattr_count, XATTR_AGENT_INTENT_SUFFIX,
				 label.intent, label.intent_len);
}

static int agentns_inode_setxattr(struct mnt_idmap *idmap,
				  struct dentry *dentry, const char *name,
				  const void *value, size_t size, int flags)
{
	return agent_ns_may_change_label(name);
}

static int agentns_inode_removexattr(struct mnt_idmap *idmap,
				     struct dentry *dentry, const char *name)
{
	return agent_ns_may_change_label(name);
}

static int agentns_inode_copy_up_xattr(struct dentry *src, const char *name)
{
	/*
	 * An overlayfs copy-up creates the upper inode, which gets the label
	 * of whoever caused the copy-up; the lower file's is not copied over
	 * it (setting it would be refused to a task in a session anyway).
	 */
	if (agent_ns_is_label(name))
		return -ECANCELED;
	return -EOPNOTSUPP;
}

static const struct lsm_id agentns_lsmid = {
	.name = "agentns",
	.id = LSM_ID_AGENTNS,
};

static struct security_hook_list agentns_hooks[] __ro_after_init = {
	LSM_HOOK_INIT(inode_init_security, agentns_inode_init_security),
	LSM_HOOK_INIT(inode_setxattr, agentns_inode_setxattr),
	LSM_HOOK_INIT(inode_removexattr, agentns_inode_removexattr),
	LSM_HOOK_INIT(inode_copy_up_xattr, agentns_inode_copy_up_xattr),
};

static int __init agentns_lsm_init(void)
{
	security_add_hooks(agentns_hooks, ARRAY_SIZE(agentns_hooks),
			   &agentns_lsmid);
	return 0;
}

DEFINE_LSM(agentns) = {
	.id = &agentns_lsmid,
	.blobs = &agentns_blob_sizes,
	.init = agentns_lsm_init,
};
