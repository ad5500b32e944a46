/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Agent namespace events.  Defined here, fired from Rust
 * (rust/kernel/agent_ns/trace.rs) through the rust_do_trace_*() functions
 * that CREATE_RUST_TRACE_POINTS generates.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM agent_ns

#if !defined(_TRACE_AGENT_NS_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_AGENT_NS_H

#include <linux/agent_namespaces.h>
#include <linux/tracepoint.h>

/* Let userspace decode the enum constants the formats below use. */
TRACE_DEFINE_ENUM(AGENT_NS_SYSCALLS);
TRACE_DEFINE_ENUM(AGENT_NS_OPENAT);
TRACE_DEFINE_ENUM(AGENT_NS_WRITE_BYTES);
TRACE_DEFINE_ENUM(AGENT_NS_CONNECT);
TRACE_DEFINE_ENUM(AGENT_NS_UNLINK);
TRACE_DEFINE_ENUM(AGENT_NS_FORK);
TRACE_DEFINE_ENUM(AGENT_NS_READ_BYTES);
TRACE_DEFINE_ENUM(AGENT_NS_EXEC);
TRACE_DEFINE_ENUM(AGENT_NS_END_EXIT);
TRACE_DEFINE_ENUM(AGENT_NS_END_BUDGET);
TRACE_DEFINE_ENUM(AGENT_NS_END_REAPED);

TRACE_EVENT(agent_session_start,
	    TP_PROTO(const u8 *id, const u8 *parent_id, u32 depth, pid_t pid,
		     u32 uid),
	    TP_ARGS(id, parent_id, depth, pid, uid),
	    TP_STRUCT__entry(__array(u8, id, AGENT_NS_ID_BYTES)
			     __array(u8, parent_id, AGENT_NS_ID_BYTES)
			     __field(u32, depth)
			     __field(pid_t, pid)
			     __field(u32, uid)),
	    TP_fast_assign(memcpy(__entry->id, id, AGENT_NS_ID_BYTES);
			   memcpy(__entry->parent_id, parent_id, AGENT_NS_ID_BYTES);
			   __entry->depth = depth;
			   __entry->pid = pid;
			   __entry->uid = uid;),
	    TP_printk("id=%*phN parent=%*phN depth=%u pid=%d uid=%u",
		      AGENT_NS_ID_BYTES, __entry->id,
		      AGENT_NS_ID_BYTES, __entry->parent_id,
		      __entry->depth, __entry->pid, __entry->uid)
);

TRACE_EVENT(agent_session_end,
	    /* @counts: the subtree's totals, indexed by enum agent_ns_counter */
	    TP_PROTO(const u8 *id, const u64 *counts, u64 lifetime_ns, u32 reason),
	    TP_ARGS(id, counts, lifetime_ns, reason),
	    TP_STRUCT__entry(__array(u8, id, AGENT_NS_ID_BYTES)
			     __array(u64, counts, AGENT_NS_NR_COUNTERS)
			     __field(u64, lifetime_ns)
			     __field(u32, reason)),
	    TP_fast_assign(memcpy(__entry->id, id, AGENT_NS_ID_BYTES);
			   memcpy(__entry->counts, counts, sizeof(__entry->counts));
			   __entry->lifetime_ns = lifetime_ns;
			   __entry->reason = reason;),
	    TP_printk("id=%*phN syscalls=%llu openat=%llu write_bytes=%llu read_bytes=%llu connect=%llu unlink=%llu fork=%llu exec=%llu lifetime_ns=%llu reason=%s",
		      AGENT_NS_ID_BYTES, __entry->id,
		      __entry->counts[AGENT_NS_SYSCALLS],
		      __entry->counts[AGENT_NS_OPENAT],
		      __entry->counts[AGENT_NS_WRITE_BYTES],
		      __entry->counts[AGENT_NS_READ_BYTES],
		      __entry->counts[AGENT_NS_CONNECT],
		      __entry->counts[AGENT_NS_UNLINK],
		      __entry->counts[AGENT_NS_FORK],
		      __entry->counts[AGENT_NS_EXEC],
		      __entry->lifetime_ns,
		      __print_symbolic(__entry->reason,
				       { AGENT_NS_END_EXIT, "exit" },
				       { AGENT_NS_END_BUDGET, "budget" },
				       { AGENT_NS_END_REAPED, "reaped" }))
);

TRACE_EVENT(agent_intent_set,
	    TP_PROTO(const u8 *id, const char *old, const char *new),
	    TP_ARGS(id, old, new),
	    TP_STRUCT__entry(__array(u8, id, AGENT_NS_ID_BYTES)
			     __string(old, old)
			     __string(new, new)),
	    TP_fast_assign(memcpy(__entry->id, id, AGENT_NS_ID_BYTES);
			   __assign_str(old);
			   __assign_str(new);),
	    TP_printk("id=%*phN old=\"%s\" new=\"%s\"",
		      AGENT_NS_ID_BYTES, __entry->id, __get_str(old),
		      __get_str(new))
);

TRACE_EVENT(agent_budget_exceeded,
	    TP_PROTO(const u8 *id, const char *counter, u64 value, u64 limit,
		     u32 action),
	    TP_ARGS(id, counter, value, limit, action),
	    TP_STRUCT__entry(__array(u8, id, AGENT_NS_ID_BYTES)
			     __string(counter, counter)
			     __field(u64, value)
			     __field(u64, limit)
			     __field(u32, action)),
	    TP_fast_assign(memcpy(__entry->id, id, AGENT_NS_ID_BYTES);
			   __assign_str(counter);
			   __entry->value = value;
			   __entry->limit = limit;
			   __entry->action = action;),
	    TP_printk("id=%*phN counter=%s value=%llu limit=%llu action=%u",
		      AGENT_NS_ID_BYTES, __entry->id, __get_str(counter),
		      __entry->value, __entry->limit, __entry->action)
);

#endif /* _TRACE_AGENT_NS_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
