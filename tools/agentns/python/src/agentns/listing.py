# SPDX-License-Identifier: GPL-2.0
"""Every live session and how they nest (what ``agentns ls`` shows).

Sessions are found two ways: by scanning ``/proc/*/ns/agent`` (every
session that has a process the caller can see, with its id, intent and
counters from ``/proc/PID/agent_*``) and by listns(2), which also lists
sessions that have no process left but are kept alive by a descendant
session or an open namespace file.  Parents come from ``NS_GET_PARENT``,
which hands out a parent only when it is the caller's own session or
below it (``EPERM`` otherwise): from inside a session, the caller's own
session and every session outside its subtree have no visible parent and
are roots of the trees.  A session without a visible process has no
readable id, intent or counters: the kernel exposes those through its
tasks only.  The intent and the counters also need ptrace read access to
one of those processes (another user's are unreadable, ``None``); the id
does not.

:meth:`Snapshot.as_dict` is the JSON of ``agentns ls --json``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import _sys, errors, nsfs, proc
from .errors import AgentNSError
from .nsfs import AGENT_NS_INIT_INO, NsFile
from .types import Counters, SessionId

_LINK_RE = re.compile(r"agent:\[([0-9]+)\]")


def agent_link_inode(link: str) -> Optional[int]:
    """The nsfs inode number in an ``agent:[INUM]`` link or mount root."""
    m = _LINK_RE.fullmatch(link)
    return int(m.group(1)) if m else None


@dataclass
class SessionInfo:
    """One session."""

    #: The session id, when a process of the session is visible.
    id: Optional[SessionId] = None
    #: The nsfs inode number (``agent:[INUM]``); 0 when the caller may not
    #: open the namespace file of any of its processes.
    inode: int = 0
    #: The namespace id (``NS_GET_ID``), as listns(2) reports it.
    ns_id: Optional[int] = None
    #: Whether this is the initial session.
    initial: bool = False
    #: Nesting depth: 0 for the initial session; ``None`` when the chain up
    #: to the initial session is not visible.
    depth: Optional[int] = None
    #: The parent's inode number; ``None`` for the initial session, and for
    #: a session whose parent is not visible from the caller's session or
    #: whose namespace file the caller may not open.
    parent_inode: Optional[int] = None
    #: The intent tag, when a process of the session is visible and readable.
    intent: Optional[str] = None
    #: The processes in the session (not in its descendants).
    pids: List[int] = field(default_factory=list)
    #: The counters (subtree included), when a process of the session is
    #: visible and readable.
    counters: Optional[Counters] = None

    def as_dict(self) -> Dict[str, Any]:
        """The JSON object of ``agentns ls --json`` (without ``children``)."""
        return {
            "id": None if self.id is None else str(self.id),
            "inode": self.inode,
            "ns_id": self.ns_id,
            "initial": self.initial,
            "depth": self.depth,
            "parent_inode": self.parent_inode,
            "intent": self.intent,
            "pids": list(self.pids),
            "counters": None if self.counters is None else self.counters.as_dict(),
        }


@dataclass
class TreeNode:
    """A session and its children."""

    session: SessionInfo
    children: List[TreeNode] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        d = self.session.as_dict()
        d["children"] = [c.as_dict() for c in self.children]
        return d


@dataclass
class Sources:
    """How the sessions were found."""

    #: Whether listns(2) worked.
    listns: bool = False
    #: Why listns(2) did not work, if it did not.
    listns_error: Optional[str] = None
    #: Namespace ids listns(2) listed that could be neither opened by
    #: handle nor found through an open file or a bind mount the caller
    #: can see.
    unresolved_ns_ids: List[int] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"listns": self.listns}
        if self.listns_error is not None:
            d["listns_error"] = self.listns_error
        if self.unresolved_ns_ids:
            d["unresolved_ns_ids"] = list(self.unresolved_ns_ids)
        return d


def _new_info(ino: int) -> SessionInfo:
    return SessionInfo(inode=ino, initial=ino == AGENT_NS_INIT_INO)


@dataclass
class Snapshot:
    """Every session found, by inode number."""

    sessions: Dict[int, SessionInfo] = field(default_factory=dict)
    sources: Sources = field(default_factory=Sources)

    @classmethod
    def collect(cls, proc_root: str = "/proc") -> Snapshot:
        """Scans ``/proc`` and listns(2).  :class:`NotSupportedError` on a
        kernel without agent namespaces."""
        if not _sys.is_supported():
            raise errors.not_supported("listing sessions")
        groups: Dict[int, List[int]] = {}
        id_only: List[int] = []
        for pid in proc.pids(proc_root):
            try:
                ino = os.stat(proc.ns_path(pid, proc_root)).st_ino
            except OSError:
                # Another user's process: its namespace file needs ptrace
                # access, but its agent_session (mode 0444) is readable.
                id_only.append(pid)
                continue
            groups.setdefault(ino, []).append(pid)
        snap = cls()
        files: List[NsFile] = []
        try:
            for ino in sorted(groups):
                pids = groups[ino]
                info = _new_info(ino)
                info.pids = list(pids)
                # Any process of the session will do; processes exit under
                # us, so try them in turn.
                for pid in pids:
                    if info.id is None:
                        info.id = _maybe(proc.read_session, pid, proc_root)
                    if info.intent is None:
                        info.intent = _maybe(proc.read_intent, pid, proc_root)
                    if info.counters is None:
                        info.counters = _maybe(proc.read_counters, pid, proc_root)
                    if info.ns_id is None:
                        f = _maybe(NsFile.of_pid, pid, proc_root)
                        if f is not None:
                            if _maybe(f.inode) == ino:
                                info.ns_id = _maybe(f.ns_id)
                                files.append(f)
                            else:
                                f.close()
                    if None not in (info.id, info.intent, info.counters):
                        break
                snap.sessions[ino] = info
            snap._add_by_id(id_only, proc_root)
            for f in files:
                snap._add_with_ancestors(f)
            # Sessions without a process of their own: listns(2) names them,
            # open_by_handle_at(2) opens them where the kernel has
            # CONFIG_FHANDLE; else look for the open namespace files and
            # bind mounts that keep them alive.
            unresolved: List[int] = []
            listed: List[int] = []
            try:
                listed = nsfs.listns()
                snap.sources.listns = True
            except AgentNSError as e:
                snap.sources.listns_error = str(e)
            for ns_id in listed:
                if any(s.ns_id == ns_id for s in snap.sessions.values()):
                    continue
                f = _maybe(NsFile.by_ns_id, ns_id)
                if f is None:
                    unresolved.append(ns_id)
                else:
                    files.append(f)
                    snap._add_with_ancestors(f)
            if unresolved or not snap.sources.listns:
                for f in snap._held_files(proc_root):
                    files.append(f)
                    snap._add_with_ancestors(f)
                unresolved = [i for i in unresolved
                              if not any(s.ns_id == i for s in snap.sessions.values())]
            snap.sources.unresolved_ns_ids = unresolved
        finally:
            for f in files:
                f.close()
        snap.compute_depths()
        return snap

    def _add_by_id(self, pids: List[int], proc_root: str) -> None:
        """Adds processes whose namespace file the caller may not open, by
        their session id: to a session already found with that id, else as
        a session of its own whose inode (0) and parent are unknown, under a
        key above every inode number."""
        next_key = (1 << 64) - 1
        for pid in pids:
            sid = _maybe(proc.read_session, pid, proc_root)
            if sid is None:
                continue  # gone
            known = [s for s in self.sessions.values() if s.id == sid]
            if known:
                known[0].pids = sorted(known[0].pids + [pid])
                continue
            self.sessions[next_key] = SessionInfo(
                id=sid,
                inode=0,
                initial=sid.is_initial,
                depth=0 if sid.is_initial else None,
                intent=_maybe(proc.read_intent, pid, proc_root),
                pids=[pid],
                counters=_maybe(proc.read_counters, pid, proc_root),
            )
            next_key -= 1

    def _add_with_ancestors(self, f: NsFile) -> None:
        """Records ``f``'s session (if new) and its ancestors, with the
        parent links.  Closes the ancestors it opens, not ``f``."""
        cur = f
        opened: List[NsFile] = []
        try:
            while True:
                ino = _maybe(cur.inode)
                if ino is None:
                    return
                entry = self.sessions.setdefault(ino, _new_info(ino))
                if entry.ns_id is None:
                    entry.ns_id = _maybe(cur.ns_id)
                if entry.initial:
                    entry.id = SessionId.initial()
                    return
                if entry.parent_inode is not None:
                    return  # this chain is known from here up
                parent = _maybe(cur.parent)
                if parent is None:
                    return
                opened.append(parent)
                pino = _maybe(parent.inode)
                if pino is None:
                    return
                entry.parent_inode = pino
                cur = parent
        finally:
            for p in opened:
                p.close()

    def _held_files(self, proc_root: str) -> List[NsFile]:
        """Opens the sessions not yet known that open file descriptors
        (``/proc/*/fd/*``) and bind mounts (``/proc/self/mountinfo``) refer
        to."""
        seen = set(self.sessions)
        out: List[NsFile] = []

        def try_open(ino: int, path: str) -> None:
            if ino in seen:
                return
            f = _maybe(NsFile.open, path, proc_root)
            if f is None:
                return
            if _maybe(f.inode) == ino:
                seen.add(ino)
                out.append(f)
            else:
                f.close()

        for pid in proc.pids(proc_root):
            d = os.path.join(proc_root, str(pid), "fd")
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for name in names:
                try:
                    link = os.readlink(os.path.join(d, name))
                except OSError:
                    continue
                ino = agent_link_inode(link)
                if ino is not None:
                    try_open(ino, os.path.join(d, name))
        # mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTIONS
        try:
            with open(os.path.join(proc_root, "self", "mountinfo"), "rb") as fh:
                mountinfo = fh.read().decode("utf-8", "surrogateescape")
        except OSError:
            mountinfo = ""
        for line in mountinfo.splitlines():
            parts = line.split(" ")
            if len(parts) < 5 or " - nsfs " not in line:
                continue
            ino = agent_link_inode(parts[3])
            if ino is not None:
                mountpoint = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)),
                                    parts[4])
                try_open(ino, mountpoint)
        return out

    def compute_depths(self) -> None:
        """Sets every session's depth from the parent links."""
        for ino, s in self.sessions.items():
            d, cur = 0, ino
            depth: Optional[int] = None
            while True:
                c = self.sessions.get(cur)
                if c is None:
                    break
                if c.initial:
                    depth = d
                    break
                if c.parent_inode is None or d >= 64:
                    break
                d += 1
                cur = c.parent_inode
            s.depth = depth

    def of_pid(self, pid: int) -> Optional[SessionInfo]:
        """The session a process is in."""
        for s in self.sessions.values():
            if pid in s.pids:
                return s
        return None

    def children(self, inode: int) -> List[SessionInfo]:
        """A session's children, oldest first."""
        kids = [s for s in self.sessions.values()
                if s.parent_inode == inode and s.inode != inode]
        kids.sort(key=lambda s: (s.ns_id if s.ns_id is not None else 1 << 64, s.inode))
        return kids

    def trees(self) -> List[TreeNode]:
        """The sessions as trees: the initial session (and any session whose
        parent is not visible from the caller's session or could not be
        found) at the top."""

        def build(info: SessionInfo, depth: int) -> TreeNode:
            kids = [] if depth > 64 else [build(c, depth + 1) for c in self.children(info.inode)]
            return TreeNode(info, kids)

        roots = [s for s in self.sessions.values()
                 if s.parent_inode is None or s.parent_inode not in self.sessions]
        roots.sort(key=lambda s: (not s.initial,
                                  s.ns_id if s.ns_id is not None else 1 << 64, s.inode))
        return [build(r, 0) for r in roots]

    def as_dict(self) -> Dict[str, Any]:
        """The JSON of ``agentns ls --json``: ``sources`` and the trees."""
        return {"sources": self.sources.as_dict(),
                "sessions": [t.as_dict() for t in self.trees()]}


def collect(proc_root: str = "/proc") -> Snapshot:
    """Every live session the caller can find: :meth:`Snapshot.collect`."""
    return Snapshot.collect(proc_root)


def _maybe(fn: Any, *args: Any) -> Any:
    """``fn(*args)``, or ``None`` when it raises an OSError or a ValueError
    (a process that exited, an unreadable or malformed file)."""
    try:
        return fn(*args)
    except (OSError, ValueError):
        return None
