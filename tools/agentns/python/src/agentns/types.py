# SPDX-License-Identifier: GPL-2.0
"""Typed values of the agent namespace ABI."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Dict

from . import abi


class Action(enum.IntEnum):
    """What a budget does when a limit is crossed (``AGENT_NS_ACTION_*``).

    - ``LOG``: a tracepoint and a kernel log line only;
    - ``DENY``: no signal; an operation that would pass a count limit fails
      with ``EDQUOT`` before it has any effect, a transfer is cut to what is
      left of a byte limit and later ones fail with ``EDQUOT``, and past
      ``max_syscalls`` every system call but exit, exit_group, rt_sigreturn
      and restart_syscall fails with ``EDQUOT``;
    - ``SIGTERM``, ``SIGKILL``: the signal to every process of the session.

    Under ``DENY``, ``SIGTERM`` and ``SIGKILL`` a byte limit cuts the
    transfer that would pass it to what is left (``LOG`` never cuts).  The
    values are the ABI's numbers, not the severity: :attr:`severity` orders
    them as the kernel does (``LOG < DENY < SIGTERM < SIGKILL``; only a
    privileged task may lower it).
    """

    LOG = abi.AGENT_NS_ACTION_LOG
    SIGTERM = abi.AGENT_NS_ACTION_SIGTERM
    SIGKILL = abi.AGENT_NS_ACTION_SIGKILL
    DENY = abi.AGENT_NS_ACTION_DENY

    @property
    def severity(self) -> int:
        """The kernel's order for the tighten/loosen rule: 0 for ``LOG``, 1
        for ``DENY``, 2 for ``SIGTERM``, 3 for ``SIGKILL``."""
        return _SEVERITY[self]


_SEVERITY = {Action.LOG: 0, Action.DENY: 1, Action.SIGTERM: 2, Action.SIGKILL: 3}


@dataclass(frozen=True)
class SessionId:
    """A 128-bit session id.  The initial session's id is all zeros.

    ``str()`` gives the 32 lowercase hex digits of
    ``/proc/PID/agent_session``, most significant byte first.
    """

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != abi.AGENT_NS_ID_BYTES:
            raise ValueError(
                "a session id is %d bytes, not %r" % (abi.AGENT_NS_ID_BYTES, self.raw)
            )

    @classmethod
    def from_hex(cls, text: str) -> SessionId:
        """Parses 32 lowercase hex digits (as ``/proc/PID/agent_session``
        shows them, without the newline)."""
        if len(text) != 2 * abi.AGENT_NS_ID_BYTES or any(
            c not in "0123456789abcdef" for c in text
        ):
            raise ValueError("not a session id: %r" % (text,))
        return cls(bytes.fromhex(text))

    @property
    def hex(self) -> str:
        return self.raw.hex()

    @property
    def is_initial(self) -> bool:
        """True for the initial session (the all-zero id)."""
        return not any(self.raw)

    def __str__(self) -> str:
        return self.hex


@dataclass(frozen=True)
class Counters:
    """A session's counters (``struct agent_ns_counters`` version 1).

    Subtracting two gives the deltas (modulo 2**64, as the kernel's
    counters wrap); ``elapsed_ns`` subtracts too.
    """

    total_syscalls: int = 0
    openat_count: int = 0
    write_bytes: int = 0
    connect_count: int = 0
    unlink_count: int = 0
    fork_count: int = 0
    elapsed_ns: int = 0
    read_bytes: int = 0
    exec_count: int = 0

    @classmethod
    def from_struct(cls, c: abi.agent_ns_counters) -> Counters:
        return cls(**{f.name: getattr(c, f.name) for f in dataclasses.fields(cls)})

    @classmethod
    def from_proc_dict(cls, values: Dict[str, int]) -> Counters:
        """From the ``name value`` pairs of ``/proc/PID/agent_counters``;
        every name of the kernel's table must be there."""
        missing = [n for n, _ in abi.PROC_COUNTER_FIELDS if n not in values]
        if missing:
            raise ValueError("agent_counters lacks %s" % ", ".join(missing))
        return cls(**{f: values[n] for n, f in abi.PROC_COUNTER_FIELDS})

    def as_dict(self) -> Dict[str, int]:
        return dataclasses.asdict(self)

    def __sub__(self, other: Counters) -> Counters:
        if not isinstance(other, Counters):
            return NotImplemented
        return Counters(
            **{
                f.name: (getattr(self, f.name) - getattr(other, f.name)) % (1 << 64)
                for f in dataclasses.fields(self)
            }
        )


@dataclass(frozen=True)
class Budget:
    """A session's budget (``struct agent_ns_budget`` version 1).

    A limit of 0 means none.  ``action`` is what happens at the crossing.
    """

    max_syscalls: int = 0
    max_write_bytes: int = 0
    max_elapsed_ns: int = 0
    #: An :class:`Action`; any other u32 is passed to the kernel as it is.
    action: int = Action.LOG
    max_openat: int = 0
    max_read_bytes: int = 0
    max_connect: int = 0
    max_unlink: int = 0
    max_fork: int = 0
    max_exec: int = 0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "action":
                continue
            if not isinstance(v, int) or not 0 <= v < (1 << 64):
                raise ValueError("%s must be an integer in [0, 2**64): %r" % (f.name, v))
        if not isinstance(self.action, int) or not 0 <= self.action < (1 << 32):
            raise ValueError("action must be a u32: %r" % (self.action,))
        # Known actions become an Action; others go to the kernel as they
        # are (it answers EINVAL).
        try:
            object.__setattr__(self, "action", Action(self.action))
        except ValueError:
            pass

    @classmethod
    def from_struct(cls, b: abi.agent_ns_budget) -> Budget:
        return cls(**{f.name: getattr(b, f.name) for f in dataclasses.fields(cls)})

    def to_struct(self) -> abi.agent_ns_budget:
        b = abi.agent_ns_budget()
        for f in dataclasses.fields(self):
            setattr(b, f.name, int(getattr(self, f.name)))
        return b

    @property
    def unlimited(self) -> bool:
        """True when no limit is set."""
        return not any(
            getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "action"
        )
