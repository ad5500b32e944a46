/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM agent_ns

#if !defined(_TRACE_AGENT_NS_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_AGENT_NS_H

#include <linux/tracepoint.h>
#include <uapi/linux/agent_namespaces.h>

TRACE_EVENT(agent_budget_exceeded,

	TP_PROTO(const u8 *id, const char *counter, u64 value, u64 limit,
		 u32 action),

	TP_ARGS(id, counter, value, limit, action),

	TP_STRUCT__entry(
		__array(u8, id, AGENT_NS_ID_BYTES)
		__string(counter, counter)
		__field(u64, value)
		__field(u64, limit)
		__field(u32, action)
	),

	TP_fast_assign(
		memcpy(__entry->id, id, AGENT_NS_ID_BYTES);
		__assign_str(counter);
		__entry->value = value;
		__entry->limit = limit;
		__entry->action = action;
	),

	TP_printk("id=%*phN counter=%s value=%llu limit=%llu action=%u",
		  AGENT_NS_ID_BYTES, __entry->id, __get_str(counter),
		  __entry->value, __entry->limit, __entry->action)
);

#endif /* _TRACE_AGENT_NS_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
