# SPDX-License-Identifier: GPL-2.0
"""File provenance: the session that created a file.

The kernel's ``agentns`` LSM sets two security extended attributes on every
file a task in a session creates: ``security.agent_session`` (the 16 bytes of
the session id) and ``security.agent_intent`` (the session's intent tag then;
absent when it had none).  This module reads them, as ``agentns provenance``
does.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from typing import Optional, Union

from . import abi
from .types import SessionId

__all__ = ["Label", "label"]


@dataclasses.dataclass(frozen=True)
class Label:
    """A file's label: the creating session and its intent tag then."""

    session: SessionId
    intent: Optional[str]

    def as_dict(self) -> dict:
        """The ``label`` object of ``agentns provenance --json``."""
        return {"session": str(self.session), "intent": self.intent}


def _get(path: Union[str, bytes, os.PathLike], name: str) -> Optional[bytes]:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as e:
        # Not set, or a file system without (security) xattrs.
        if e.errno in (errno.ENODATA, errno.EOPNOTSUPP):
            return None
        raise


def label(path: Union[str, bytes, os.PathLike]) -> Optional[Label]:
    """The label of ``path`` (of a symlink itself, not its target), or None
    for a file no task in a session created, or one on a file system without
    security xattrs.  Raises OSError when the file cannot be read (ENOENT,
    EACCES) and ValueError when the attribute is not a session id."""
    raw = _get(path, abi.XATTR_NAME_AGENT_SESSION)
    if raw is None:
        return None
    if len(raw) != abi.AGENT_NS_ID_BYTES:
        raise ValueError(
            "%s of %r is %d bytes, not %d"
            % (abi.XATTR_NAME_AGENT_SESSION, path, len(raw), abi.AGENT_NS_ID_BYTES)
        )
    intent = _get(path, abi.XATTR_NAME_AGENT_INTENT)
    return Label(
        SessionId(bytes(raw)),
        None if intent is None else intent.decode("utf-8", "replace"),
    )
