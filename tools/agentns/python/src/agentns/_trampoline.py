# SPDX-License-Identifier: GPL-2.0
"""The session setup of :func:`agentns.spawn`, run as a program of its own.

    python -I -S -B .../agentns/_trampoline.py CONFIG_FD STATUS_FD PROGRAM ARGV...

spawn() starts this with subprocess.Popen and no ``preexec_fn`` (which is
not safe in a process with threads).  It reads its settings (JSON: intent,
budget, no_new_privs, restore_signals) from CONFIG_FD, so that the intent
does not show in ``/proc/PID/cmdline``; sets ``no_new_privs`` if asked,
creates the session, sets the intent, reports the session id, sets the
budget last and executes PROGRAM with ARGV (ARGV[0] first).  What it
reports on STATUS_FD, which the exec closes, one line each:

``S HEX``
    the new session's id;
``E JSON``
    the setup failed: ``{"class", "errno", "message", "operation"}`` of
    the :class:`agentns.AgentNSError`; exit status 125;
``X JSON``
    PROGRAM could not be executed: ``{"errno", "note"}``; exit status 127
    when it was not found, else 126 (as the ``agentns`` command).

``-I`` keeps the caller's ``PYTHON*`` variables and ``sitecustomize`` out
of it (the command still gets the environment unchanged), ``-S`` leaves
out site-packages, so this finds the package next to itself.
"""

import errno
import json
import os
import signal
import sys
import traceback
from typing import Any, Callable, Dict, List, Optional

EXIT_SETUP = 125
EXIT_CANNOT_EXEC = 126
EXIT_NOT_FOUND = 127


def _report(fd: int, kind: str, payload: Any) -> None:
    line = "%s %s\n" % (kind, payload if isinstance(payload, str) else json.dumps(payload))
    data = line.encode("utf-8", "replace")
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass


def _read_config(fd: int) -> Dict[str, Any]:
    chunks: List[bytes] = []
    while True:
        b = os.read(fd, 4096)
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    config: Dict[str, Any] = json.loads(b"".join(chunks).decode("ascii"))
    return config


class _Kernel:
    """The calls, through the package next to this file."""

    def __init__(self) -> None:
        import agentns

        self.agentns = agentns

    def set_no_new_privs(self) -> None:
        self.agentns.set_no_new_privs()

    def create_session(self) -> Any:
        return self.agentns.create_session()

    def set_intent(self, tag: str) -> None:
        self.agentns.set_intent(tag)

    def set_budget(self, fields: Dict[str, Any]) -> None:
        self.agentns.set_budget(self.agentns.Budget(**fields))


def setup_and_exec(config: Dict[str, Any], status_fd: int, program: str, argv: List[str],
                   kernel: Any) -> int:
    """Sets the session up as ``config`` says and executes ``program``;
    returns an exit status only when it could not."""
    from agentns.errors import AgentNSError

    try:
        if config.get("no_new_privs"):
            kernel.set_no_new_privs()
        sid = kernel.create_session()
        if config.get("intent") is not None:
            kernel.set_intent(config["intent"])
        _report(status_fd, "S", str(sid))
        # Before the budget: what runs under it is the exec and little else.
        if config.get("restore_signals", True):
            # The interpreter ignores these; Popen's restore_signals would
            # have given the command the defaults.
            for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ"):
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
        os.set_inheritable(status_fd, False)
        if config.get("budget") is not None:
            kernel.set_budget(config["budget"])
    except AgentNSError as e:
        _report(status_fd, "E", {"class": type(e).__name__, "errno": e.errno or 0,
                                 "message": e.strerror or str(e),
                                 "operation": e.operation})
        return EXIT_SETUP
    except Exception as e:  # noqa: BLE001 - a bad setting: reported, not a traceback
        _report(status_fd, "E", {"class": "AgentNSError", "errno": errno.EINVAL,
                                 "message": "session setup failed: %s: %s"
                                 % (type(e).__name__, e),
                                 "operation": "spawn"})
        return EXIT_SETUP
    try:
        os.execvp(program, argv)
    except OSError as e:
        err = e.errno or errno.ENOEXEC
        note = ""
        if err == errno.EDQUOT:
            note = ("a deny budget refused the exec: the session's exec or "
                    "system call limit is used up")
        _report(status_fd, "X", {"errno": err, "note": note})
        return EXIT_NOT_FOUND if err == errno.ENOENT else EXIT_CANNOT_EXEC
    return EXIT_CANNOT_EXEC  # not reached


def main(args: List[str], kernel_factory: Optional[Callable[[], Any]] = None) -> int:
    """Runs the trampoline on ``args`` (CONFIG_FD STATUS_FD PROGRAM ARGV...);
    ``kernel_factory`` makes the object whose methods make the calls (the
    package's functions unless a test gives another)."""
    status_fd = -1
    try:
        config_fd, status_fd = int(args[0]), int(args[1])
        program, argv = args[2], args[3:]
        config = _read_config(config_fd)
        # -I -S: neither the script's directory nor site-packages is on
        # the path; the package is the directory this file is in.
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        kernel = (kernel_factory or _Kernel)()
    except BaseException:  # noqa: BLE001 - reported, whatever it is
        if status_fd >= 0:
            _report(status_fd, "E", {"class": "AgentNSError", "errno": errno.EINVAL,
                                     "message": "session setup failed: %s"
                                     % traceback.format_exc().strip().splitlines()[-1],
                                     "operation": "spawn"})
        return EXIT_SETUP
    return setup_and_exec(config, status_fd, program, argv, kernel)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
