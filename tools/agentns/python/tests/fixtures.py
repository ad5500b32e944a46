# SPDX-License-Identifier: GPL-2.0
"""/proc fixtures: the exact text the kernel's show functions produce
(rust/kernel/agent_ns/proc.rs), written into a fake procfs tree."""

import os

# The initial session (pid 1): zero id, no intent, counts nothing.
INIT_SESSION = "00000000000000000000000000000000\n"
INIT_INTENT = "\n"
INIT_COUNTERS = (
    "syscalls 0\n"
    "openat 0\n"
    "write_bytes 0\n"
    "connect 0\n"
    "unlink 0\n"
    "fork 0\n"
    "read_bytes 0\n"
    "exec 0\n"
    "elapsed_ns 73120455612\n"
)
INIT_NS_LINK = "agent:[4026531830]"

# A task in a session; syscalls at the u64 maximum (counters wrap).
TASK_PID = 4242
TASK_SESSION = "9f3c2a61d07e4b58a1c6e2f05d8b7a34\n"
TASK_INTENT = "refactor-auth ticket #4711\n"
TASK_COUNTERS = (
    "syscalls 18446744073709551615\n"
    "openat 112\n"
    "write_bytes 4316\n"
    "connect 5\n"
    "unlink 13\n"
    "fork 7\n"
    "read_bytes 1056\n"
    "exec 1\n"
    "elapsed_ns 100482311\n"
)
TASK_NS_LINK = "agent:[4026532301]"

# What a kernel without agent namespaces has: a /proc without the files.
EXITED_PID = 777


def make_proc(root, with_agent_ns=True):
    """Writes the fixtures into ROOT/{1,4242,self} and returns ROOT."""
    files = {
        "1": (INIT_SESSION, INIT_INTENT, INIT_COUNTERS, INIT_NS_LINK),
        str(TASK_PID): (TASK_SESSION, TASK_INTENT, TASK_COUNTERS, TASK_NS_LINK),
    }
    for pid, (session, intent, counters, link) in files.items():
        d = os.path.join(root, pid)
        os.makedirs(os.path.join(d, "ns"))
        if not with_agent_ns:
            continue
        for name, text in (("agent_session", session), ("agent_intent", intent),
                           ("agent_counters", counters)):
            with open(os.path.join(d, name), "w", encoding="ascii") as f:
                f.write(text)
        os.symlink(link, os.path.join(d, "ns", "agent"))
    os.symlink(str(TASK_PID), os.path.join(root, "self"))
    return root
