# SPDX-License-Identifier: GPL-2.0
"""Typed values of the agent namespace ABI.

The names are the ones ``/proc/PID/agent_counters``, the tracepoints and
the ``agentns`` command's JSON use: a counter is ``syscalls``, ``openat``,
``write_bytes``, ... (not the structure's ``total_syscalls``,
``openat_count``, ...), a budget limit is named after its counter, and an
action is ``log``, ``deny``, ``term`` or ``kill``.
"""

from __future__ import annotations

import dataclasses
import enum
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

from . import abi


class Action(enum.IntEnum):
    """What a budget does when a limit is crossed (``AGENT_NS_ACTION_*``).

    The member names are the ``agentns`` command's (``--on-exceed`` and
    its JSON): ``str(Action.kill)`` is ``"kill"`` and ``Action["kill"]``
    looks one up by name; the values are the ABI's numbers.

    - ``log``: a tracepoint and a kernel log line only;
    - ``deny``: no signal; an operation that would pass a count limit fails
      with ``EDQUOT`` before it has any effect, a transfer is cut to what is
      left of a byte limit and later ones fail with ``EDQUOT``, and past
      the ``syscalls`` limit every system call but exit, exit_group,
      rt_sigreturn and restart_syscall fails with ``EDQUOT``;
    - ``term``, ``kill``: ``SIGTERM`` or ``SIGKILL`` to every process of
      the session and of the sessions below it.

    Under ``deny``, ``term`` and ``kill`` a byte limit cuts the transfer
    that would pass it to what is left (``log`` never cuts).  The values
    are the ABI's numbers.  :meth:`binds_as_much_as` is the kernel's rule
    for a change of action by an unprivileged task: from ``log`` to any,
    from any to ``kill``; ``deny`` and ``term`` do not replace each other.

    ``LOG``, ``DENY``, ``SIGTERM`` and ``SIGKILL`` are the names of
    earlier versions of this package, kept as aliases (deprecated).
    """

    log = abi.AGENT_NS_ACTION_LOG
    term = abi.AGENT_NS_ACTION_SIGTERM
    kill = abi.AGENT_NS_ACTION_SIGKILL
    deny = abi.AGENT_NS_ACTION_DENY
    # Deprecated aliases: the names of agentns 0.1.
    LOG = abi.AGENT_NS_ACTION_LOG
    SIGTERM = abi.AGENT_NS_ACTION_SIGTERM
    SIGKILL = abi.AGENT_NS_ACTION_SIGKILL
    DENY = abi.AGENT_NS_ACTION_DENY

    def __str__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:
        return format(self.name, spec)

    def binds_as_much_as(self, old: Action) -> bool:
        """Whether a task without ``CAP_SYS_ADMIN`` over the session's
        owner may change the action from *old* to this one: from ``log`` to
        any, from any to ``kill``.  ``deny`` and ``term`` do not replace
        each other: a task that ignores SIGTERM would go on past a deny
        limit, and a task under ``deny`` is never told to end."""
        return self == old or old == Action.log or self == Action.kill

    @property
    def uapi_name(self) -> str:
        """The header's name of the value, e.g. ``AGENT_NS_ACTION_SIGKILL``."""
        return _UAPI_NAMES[self]

    @classmethod
    def parse(cls, text: str) -> Action:
        """An action from its name (``"kill"``; ``"sigkill"`` and the other
        header names are accepted too, in any case)."""
        key = text.strip().lower()
        for a in cls:
            if key in (a.name, a.uapi_name.lower(), a.uapi_name[len("AGENT_NS_ACTION_"):].lower()):
                return a
        raise ValueError("unknown action %r (log, deny, term or kill)" % (text,))


_UAPI_NAMES = {
    Action.log: "AGENT_NS_ACTION_LOG",
    Action.deny: "AGENT_NS_ACTION_DENY",
    Action.term: "AGENT_NS_ACTION_SIGTERM",
    Action.kill: "AGENT_NS_ACTION_SIGKILL",
}


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

    @classmethod
    def initial(cls) -> SessionId:
        """The initial session's id (all zeros)."""
        return cls(bytes(abi.AGENT_NS_ID_BYTES))

    @property
    def hex(self) -> str:
        return self.raw.hex()

    @property
    def is_initial(self) -> bool:
        """True for the initial session (the all-zero id)."""
        return not any(self.raw)

    def __str__(self) -> str:
        return self.hex


def _deprecated_alias(old: str, new: str) -> property:
    def get(self: Any) -> Any:
        warnings.warn(
            "%s.%s is deprecated: use .%s (the name /proc and the agentns command use)"
            % (type(self).__name__, old, new),
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, new)

    get.__name__ = old
    get.__doc__ = "Deprecated alias of :attr:`%s`." % new
    return property(get)


# The counters of version 1 of the structures: None where a version-0
# kernel cannot say.
_V1_COUNTERS = tuple(n for n, f in abi.COUNTER_FIELDS if f in abi.COUNTERS_V1_FIELDS)
_V1_LIMITS = tuple(n for n, f in abi.BUDGET_LIMIT_FIELDS if f in abi.BUDGET_V1_FIELDS)
_U64 = 1 << 64

OptInt = Optional[int]


@dataclass(frozen=True)
class Counters:
    """A session's counters (``struct agent_ns_counters``), under the names
    of ``/proc/PID/agent_counters`` and of ``agentns`` JSON, in the
    structure's order.

    ``read_bytes`` and ``exec`` are version 1 of the structure: ``None``
    (unknown) when read from a kernel that has version 0 only.

    Subtracting two gives the deltas (modulo 2**64, as the kernel's
    counters wrap; ``None`` where either is unknown).
    """

    syscalls: int = 0
    openat: int = 0
    write_bytes: int = 0
    connect: int = 0
    unlink: int = 0
    fork: int = 0
    elapsed_ns: int = 0
    # version 1
    read_bytes: OptInt = 0
    exec: OptInt = 0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None and f.name in _V1_COUNTERS:
                continue
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < _U64:
                raise ValueError("%s must be an integer in [0, 2**64): %r" % (f.name, v))

    @classmethod
    def from_struct(cls, c: abi.agent_ns_counters, version: int = 1) -> Counters:
        """From the structure; ``version`` 0 leaves the version-1 counters
        unknown."""
        values: Dict[str, OptInt] = {}
        for name, field in abi.COUNTER_FIELDS:
            if version < 1 and field in abi.COUNTERS_V1_FIELDS:
                values[name] = None
            else:
                values[name] = int(getattr(c, field))
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_proc_dict(cls, values: Dict[str, int]) -> Counters:
        """From the ``name value`` pairs of ``/proc/PID/agent_counters``:
        every version-0 counter must be there; a version-1 counter a kernel
        does not show is unknown (``None``); names this package does not
        know are ignored."""
        missing = [n for n, f in abi.COUNTER_FIELDS
                   if f not in abi.COUNTERS_V1_FIELDS and n not in values]
        if missing:
            raise ValueError("agent_counters lacks %s" % ", ".join(missing))
        return cls(**{n: values.get(n) for n, _ in abi.COUNTER_FIELDS})  # type: ignore[arg-type]

    @property
    def version(self) -> int:
        """1 when every counter is known, 0 when the version-1 ones are not."""
        return 0 if any(getattr(self, n) is None for n in _V1_COUNTERS) else 1

    def get(self, name: str) -> OptInt:
        """One counter by its name (``syscalls``, ``openat``, ...)."""
        if name not in _COUNTER_NAMES:
            raise KeyError(name)
        return getattr(self, name)  # type: ignore[no-any-return]

    def as_dict(self) -> Dict[str, OptInt]:
        """``{name: value}`` in the structure's order: the ``counters``
        object of ``agentns run --report --json`` and ``agentns ls --json``
        (``None`` for an unknown counter)."""
        return {n: getattr(self, n) for n in _COUNTER_NAMES}

    def proc_items(self) -> Tuple[Tuple[str, OptInt], ...]:
        """``(name, value)`` in the order of ``/proc/PID/agent_counters``."""
        return tuple((n, getattr(self, n)) for n in abi.PROC_COUNTER_ORDER)

    def __sub__(self, other: Counters) -> Counters:
        if not isinstance(other, Counters):
            return NotImplemented
        out: Dict[str, OptInt] = {}
        for n in _COUNTER_NAMES:
            a, b = getattr(self, n), getattr(other, n)
            out[n] = None if a is None or b is None else (a - b) % _U64
        return Counters(**out)  # type: ignore[arg-type]


_COUNTER_NAMES = tuple(f.name for f in dataclasses.fields(Counters))

# agentns 0.1 named the counters after the structure's fields.
for _name, _field in abi.COUNTER_FIELDS:
    if _name != _field:
        setattr(Counters, _field, _deprecated_alias(_field, _name))


@dataclass(frozen=True)
class Budget:
    """A session's budget (``struct agent_ns_budget``): the action, and a
    limit per counter, named after the counter (``syscalls``,
    ``write_bytes``, ...) as ``agentns`` JSON names them.

    A limit of 0 means none.  The limits of version 1 of the structure
    (``openat``, ``read_bytes``, ``connect``, ``unlink``, ``fork``,
    ``exec``) are either all integers or all ``None``: ``None`` is a
    version-0 budget, read from a kernel that has version 0 only, or to be
    set as version 0, which leaves the session's version-1 limits as they
    are.
    """

    #: An :class:`Action`; any other u32 is passed to the kernel as it is.
    action: int = Action.log
    syscalls: int = 0
    write_bytes: int = 0
    elapsed_ns: int = 0
    # version 1
    openat: OptInt = 0
    read_bytes: OptInt = 0
    connect: OptInt = 0
    unlink: OptInt = 0
    fork: OptInt = 0
    exec: OptInt = 0

    def __post_init__(self) -> None:
        for name in _LIMIT_NAMES:
            v = getattr(self, name)
            if v is None and name in _V1_LIMITS:
                continue
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < _U64:
                raise ValueError("%s must be an integer in [0, 2**64): %r" % (name, v))
        unknown = [n for n in _V1_LIMITS if getattr(self, n) is None]
        if unknown and len(unknown) != len(_V1_LIMITS):
            raise ValueError(
                "the version-1 limits (%s) are all None (a version-0 budget) or none is"
                % ", ".join(_V1_LIMITS)
            )
        if (not isinstance(self.action, int) or isinstance(self.action, bool)
                or not 0 <= self.action < (1 << 32)):
            raise ValueError("action must be a u32: %r" % (self.action,))
        # Known actions become an Action; others go to the kernel as they
        # are (it answers EINVAL).
        try:
            object.__setattr__(self, "action", Action(self.action))
        except ValueError:
            pass

    @classmethod
    def from_struct(cls, b: abi.agent_ns_budget, version: int = 1) -> Budget:
        """From the structure; ``version`` 0 leaves the version-1 limits
        unknown."""
        values: Dict[str, Any] = {"action": int(b.action)}
        for name, field in abi.BUDGET_LIMIT_FIELDS:
            if version < 1 and field in abi.BUDGET_V1_FIELDS:
                values[name] = None
            else:
                values[name] = int(getattr(b, field))
        return cls(**values)

    def to_struct(self) -> abi.agent_ns_budget:
        """The structure (version 1; a version-0 budget has zeros past the
        version-0 fields, which :func:`agentns.set_budget` does not pass)."""
        b = abi.agent_ns_budget()
        b.action = int(self.action)
        for name, field in abi.BUDGET_LIMIT_FIELDS:
            setattr(b, field, int(getattr(self, name) or 0))
        return b

    @property
    def version(self) -> int:
        """0 for a version-0 budget (the version-1 limits ``None``), else 1."""
        return 0 if getattr(self, _V1_LIMITS[0]) is None else 1

    def limits(self) -> Dict[str, OptInt]:
        """``{counter: limit}`` in the structure's order (``None``: unknown)."""
        return {n: getattr(self, n) for n in _LIMIT_NAMES}

    def as_dict(self) -> Dict[str, Any]:
        """The ``budget`` object of ``agentns run --report --json``: the
        action's name (its number when it is not a known action), then
        every limit."""
        a = self.action
        d: Dict[str, Any] = {"action": a.name if isinstance(a, Action) else int(a)}
        d.update(self.limits())
        return d

    def replace(self, **changes: Any) -> Budget:
        """A copy with some fields changed: ``b.replace(openat=100)``."""
        return dataclasses.replace(self, **changes)

    @property
    def unlimited(self) -> bool:
        """True when no limit is set."""
        return not any(self.limits().values())

    is_empty = unlimited


_LIMIT_NAMES = tuple(f.name for f in dataclasses.fields(Budget) if f.name != "action")

# agentns 0.1 named the limits after the structure's fields.
for _name, _field in abi.BUDGET_LIMIT_FIELDS:
    setattr(Budget, _field, _deprecated_alias(_field, _name))
del _name, _field

# The union the functions take for an intent tag.
Intent = Union[str, bytes]
