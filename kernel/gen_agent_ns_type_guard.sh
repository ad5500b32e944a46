#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Emit C static assertions that AGENT_NS_TYPE is a single bit of the 32-bit
# ns_common.ns_type and shares no bit with any CLONE_* flag that the given
# <uapi/linux/sched.h> defines.  The flags are read from the header, not
# listed by hand, so a flag added by a later kernel is checked without
# anyone remembering to add it here.
#
#   gen_agent_ns_type_guard.sh include/uapi/linux/sched.h

set -e

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
	echo "usage: $0 <uapi/linux/sched.h>" >&2
	exit 1
fi

# CLONE_ARGS_SIZE_VER* are sizes of struct clone_args, not flags.
re='^#[[:space:]]*define[[:space:]]\{1,\}\(CLONE_[A-Z0-9_]*\)[[:space:]].*'
flags=$(sed -n "s/$re/\\1/p" "$1" | grep -v '^CLONE_ARGS_SIZE_' || true)
if [ -z "$flags" ]; then
	echo "$0: no CLONE_* flags in $1" >&2
	exit 1
fi

echo "/* Generated from $(basename "$1") by $(basename "$0"); do not edit. */"
echo "_Static_assert(AGENT_NS_TYPE != 0 && (AGENT_NS_TYPE & (AGENT_NS_TYPE - 1)) == 0 &&"
echo "	       AGENT_NS_TYPE <= 0xffffffffULL,"
echo "	       \"AGENT_NS_TYPE must be one bit of a u32\");"
for f in $flags; do
	echo "_Static_assert(((unsigned long long)AGENT_NS_TYPE & (unsigned long long)($f)) == 0,"
	echo "	       \"AGENT_NS_TYPE collides with $f\");"
done
